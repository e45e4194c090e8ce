/*
 * handlers_ops.c — operations routes: liveness (/healthz), readiness
 * (/readyz: the store answers and its migrations are applied), the OpenAPI
 * document and the web page, both compiled into the binary (embedded.h).
 */
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "handlers.h"

/* Shown at / when the build carries no web/index.html. */
static const char FALLBACK_INDEX[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>scratchnet</title></head>\n<body><h1>scratchnet</h1>"
    "<p>Trains neural networks and serves predictions over HTTP.</p>"
    "<p>The API is described in <a href=\"/openapi.yaml\">/openapi.yaml</a>.</p>"
    "</body></html>\n";

/* The embedded file at path ("docs/openapi.yaml"), or NULL. */
static const embedded_file *embedded_find(const char *path)
{
    for (size_t i = 0; i < embedded_count; i++)
        if (strcmp(embedded_files[i].path, path) == 0) return &embedded_files[i];
    return NULL;
}

void ops_healthz(http_request *req, http_response *res)
{
    (void)req;
    http_json_text(res, 200, "{\"status\":\"ok\"}");
}

void ops_readyz(http_request *req, http_response *res)
{
    app *a = http_app(req);
    char err[256] = "the store is not open";
    if (a->store && store_ready(a->store, err, sizeof err) == STORE_OK)
        http_json_text(res, 200, "{\"status\":\"ready\"}");
    else
        http_problem(res, 503, NULL, "not ready: %s", err);
}

void ops_openapi(http_request *req, http_response *res)
{
    (void)req;
    const embedded_file *f = embedded_find("docs/openapi.yaml");
    if (!f) {
        http_problem(res, 404, NULL, "this build carries no OpenAPI document");
        return;
    }
    http_body_set(res, 200, "application/yaml", f->data, f->len);
}

void ops_index(http_request *req, http_response *res)
{
    (void)req;
    const embedded_file *f = embedded_find("web/index.html");
    if (f) http_body_set(res, 200, "text/html; charset=utf-8", f->data, f->len);
    else http_text(res, 200, "text/html; charset=utf-8", FALLBACK_INDEX);
}

void ops_observe(void *app_ptr, const http_route *route, unsigned status, double seconds)
{
    app *a = app_ptr;
    if (a->metrics)
        metrics_observe(a->metrics, route, status, seconds);
}

void ops_metrics(http_request *req, http_response *res)
{
    app *a = http_app(req);
    metrics_gauges g = {.database_bytes = -1};
    jobs_stats js;
    jobs_stats_get(a->jobs, &js);
    g.jobs_queued = js.queued;
    g.jobs_running = js.running;
    g.jobs_succeeded = js.ended[STORE_JOB_SUCCEEDED];
    g.jobs_failed = js.ended[STORE_JOB_FAILED];
    g.jobs_cancelled = js.ended[STORE_JOB_CANCELLED];
    cache_stats(a->cache, &g.cache_hits, &g.cache_misses);
    char err[256];
    if (store_size_bytes(a->store, &g.database_bytes, err, sizeof err) != STORE_OK)
        g.database_bytes = -1;
    char *text = metrics_render(a->metrics, &g);
    if (!text) {
        http_problem(res, 503, NULL, "out of memory rendering the metrics");
        return;
    }
    http_text(res, 200, "text/plain; version=0.0.4; charset=utf-8", text);
    free(text);
}
