/*
 * handlers.h — the application context every handler reaches through
 * http_app(req), the handler functions, and the route table (routes.c).
 *
 * Adding a route: write the handler in the resource's file
 * (handlers_<resource>.c), declare it below, and add one row to routes[] in
 * routes.c. Nothing else changes.
 */
#ifndef SCRATCHNET_HANDLERS_H
#define SCRATCHNET_HANDLERS_H

#include "cache.h"
#include "codec.h"
#include "config.h"
#include "http.h"
#include "jobs.h"
#include "metrics.h"
#include "store.h"

/* Shared by every handler on every thread; set up by main before the daemon
 * starts and torn down after it stops. Fields are pointers to objects that
 * are themselves thread-safe (the store is; see store.h). */
typedef struct app {
    const config *cfg; /* settings in force; read-only */
    store *store;      /* the registry, jobs table and datasets */
    jobs *jobs;        /* the training queue and workers */
    model_cache *cache;/* networks ready for predict, and resolved versions */
    metrics *metrics;  /* request counters for GET /metrics */
} app;

/* The route table, in match order. */
extern const http_route routes[];
extern const size_t routes_count;

/* handlers_common.c — shared by the resource handlers. */
/* Answers a store failure: 404, 409, 400, 503 (busy, full, no memory) or 500. */
void answer_store_error(http_response *res, store_status rc, const char *err);
/* Answers an api_error as problem+json. */
void answer_api_error(http_response *res, const api_error *e);
/* The path capture as a valid name, or NULL after answering 400. */
const char *path_name(http_request *req, http_response *res, const char *capture);
/* A version reference (number, alias, "latest", NULL) → number; false after answering. */
bool resolve_version(http_request *req, http_response *res, const char *model, const char *ref,
                     int64_t *version);
/* The cached network of model at ref; false after answering. Release with cache_release. */
bool load_model(http_request *req, http_response *res, const char *model, const char *ref,
                cached_model **out);
/* Answers JSON with a Location header built from fmt. */
void answer_location(http_response *res, unsigned status, cJSON *body, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* handlers_train.c — training jobs. */
void train_post(http_request *req, http_response *res);        /* POST /train */
void train_list(http_request *req, http_response *res);        /* GET /train */
void train_get(http_request *req, http_response *res);         /* GET /train/{id} */
void train_cancel(http_request *req, http_response *res);      /* DELETE /train/{id} */
void train_events(http_request *req, http_response *res);      /* GET /train/{id}/events */

/* handlers_predict.c — predictions, and TF Serving's REST API. */
void predict_post(http_request *req, http_response *res);      /* POST /predict */
void tf_predict(http_request *req, http_response *res);        /* POST /v1/models/{name}[...]:predict */
void tf_status(http_request *req, http_response *res);         /* GET /v1/models/{name} */

/* handlers_explain.c — one backpropagation step laid open. */
void explain_post(http_request *req, http_response *res);      /* POST /explain */

/* handlers_dataset.c — uploaded datasets. */
extern const http_body_stream dataset_upload;                  /* POST /dataset (CSV or JSON) */
void dataset_list(http_request *req, http_response *res);      /* GET /dataset */
void dataset_get(http_request *req, http_response *res);       /* GET /dataset/{dataset} */
void dataset_delete(http_request *req, http_response *res);    /* DELETE /dataset/{dataset} */

/* handlers_evaluate.c — scores of a version on a dataset or inline rows. */
void evaluate_post(http_request *req, http_response *res);     /* POST /evaluate */

/* handlers_model.c — the registry: models, versions, loss, aliases. */
void model_list(http_request *req, http_response *res);        /* GET /model */
void model_get(http_request *req, http_response *res);         /* GET /model/{name} */
void model_delete(http_request *req, http_response *res);      /* DELETE /model/{name} */
void version_get(http_request *req, http_response *res);       /* GET /model/{name}/versions/{v} */
void version_delete(http_request *req, http_response *res);    /* DELETE …/versions/{v} */
void version_post(http_request *req, http_response *res);      /* POST /model/{name}/versions */
void version_loss(http_request *req, http_response *res);      /* GET …/versions/{v}/loss */
void alias_list(http_request *req, http_response *res);        /* GET /model/{name}/aliases */
void alias_get(http_request *req, http_response *res);         /* GET …/aliases/{alias} */
void alias_put(http_request *req, http_response *res);         /* PUT …/aliases/{alias} */
void alias_delete(http_request *req, http_response *res);      /* DELETE …/aliases/{alias} */

/* handlers_ops.c — liveness, readiness, the OpenAPI document, the web page. */
void ops_healthz(http_request *req, http_response *res);  /* GET /healthz */
void ops_readyz(http_request *req, http_response *res);   /* GET /readyz */
void ops_openapi(http_request *req, http_response *res);  /* GET /openapi.yaml */
void ops_index(http_request *req, http_response *res);    /* GET / */
void ops_metrics(http_request *req, http_response *res);  /* GET /metrics */
/* http_options.observe: counts a finished request in app->metrics. */
void ops_observe(void *app, const http_route *route, unsigned status, double seconds);

#endif
