/*
 * handlers_common.c — what every resource's handlers share: store failures
 * turned into problems, names taken from the path, version references
 * resolved through the cache, and api_error answers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

#define STORE_FULL_RETRY_AFTER "10" /* seconds: space rarely returns at once */

void answer_store_error(http_response *res, store_status rc, const char *err)
{
    switch (rc) {
    case STORE_NOT_FOUND: http_problem(res, 404, NULL, "%s", err); return;
    case STORE_CONFLICT: http_problem(res, 409, NULL, "%s", err); return;
    case STORE_INVALID: http_problem(res, 400, NULL, "%s", err); return;
    case STORE_BUSY:
        http_header_add(res, "Retry-After", "1");
        http_problem(res, 503, NULL, "the database is busy: %s", err);
        return;
    case STORE_FULL:
        http_header_add(res, "Retry-After", STORE_FULL_RETRY_AFTER);
        http_problem(res, 503, NULL,
                     "the database cannot be written (disk full or read-only); nothing was "
                     "changed, try again later: %s",
                     err);
        return;
    case STORE_NOMEM: http_problem(res, 503, NULL, "out of memory: %s", err); return;
    case STORE_OK:
    case STORE_IO: break;
    }
    http_problem(res, 500, NULL, "database error: %s", err);
}

void answer_api_error(http_response *res, const api_error *e)
{
    http_problem(res, (unsigned)e->status, e->field[0] ? e->field : NULL, "%s", e->detail);
}

const char *path_name(http_request *req, http_response *res, const char *capture)
{
    const char *name = http_capture(req, capture);
    if (name && store_name_valid(name))
        return name;
    http_problem(res, 400, NULL,
                 "the %s in the path must be 1 to 64 letters, digits, '_', '.' or '-', starting "
                 "with a letter or digit",
                 strcmp(capture, "name") == 0 ? "model name" : capture);
    return NULL;
}

bool resolve_version(http_request *req, http_response *res, const char *model, const char *ref,
                     int64_t *version)
{
    app *a = http_app(req);
    char err[256];
    if (ref && ref[0] && strcmp(ref, "latest") != 0 && !store_name_valid(ref)) {
        http_problem(res, 400, "version", "version must be a number, an alias or \"latest\"");
        return false;
    }
    store_status rc = cache_resolve(a->cache, a->store, model, ref, version, err, sizeof err);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    return rc == STORE_OK;
}

bool load_model(http_request *req, http_response *res, const char *model, const char *ref,
                cached_model **out)
{
    app *a = http_app(req);
    int64_t version;
    char err[256];
    if (!resolve_version(req, res, model, ref, &version))
        return false;
    store_status rc = cache_get(a->cache, a->store, model, version, out, err, sizeof err);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    return rc == STORE_OK;
}

void answer_location(http_response *res, unsigned status, cJSON *body, const char *fmt, ...)
{
    char where[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(where, sizeof where, fmt, ap);
    va_end(ap);
    http_header_add(res, "Location", where);
    http_json(res, status, body);
}
