/*
 * handlers_model.c — the registry: models, their versions (full JSON, import,
 * delete), loss histories (JSON or CSV, paged) and aliases. Every change
 * tells the model cache what to forget.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "float_text.h"

#define ERR_LEN 256

void model_list(http_request *req, http_response *res)
{
    app *a = http_app(req);
    store_model_info *models;
    size_t n;
    char err[ERR_LEN];
    store_status rc = store_model_list(a->store, &models, &n, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "models");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, codec_model_info(&models[i]));
    store_model_infos_free(models, n);
    http_json(res, 200, out);
}

void model_get(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    if (!name)
        return;
    store_model *m = NULL;
    store_alias *aliases = NULL;
    size_t n_aliases = 0;
    char err[ERR_LEN];
    store_status rc = store_model_get(a->store, name, &m, err, sizeof err);
    if (rc == STORE_OK)
        rc = store_alias_list(a->store, name, &aliases, &n_aliases, err, sizeof err);
    if (rc != STORE_OK) {
        if (rc == STORE_NOT_FOUND)
            http_problem(res, 404, NULL, "model %s does not exist", name);
        else
            answer_store_error(res, rc, err);
        store_model_free(m);
        return;
    }
    http_json(res, 200, codec_model(m, aliases, n_aliases));
    store_model_free(m);
    store_aliases_free(aliases, n_aliases);
}

void model_delete(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    char err[ERR_LEN];
    if (!name)
        return;
    store_status rc = store_model_delete(a->store, name, err, sizeof err);
    cache_forget(a->cache, name, 0);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_empty(res, 204);
}

void version_get(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    int64_t number;
    if (!name || !resolve_version(req, res, name, http_capture(req, "v"), &number))
        return;
    store_version *v;
    char err[ERR_LEN];
    store_status rc = store_version_get(a->store, name, number, &v, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    sn_net *net;
    sn_error serr;
    if (sn_net_load(v->params, v->params_len, &net, &serr) != SN_OK) {
        http_problem(res, 500, NULL, "version %lld of %s cannot be read: %s", (long long)number, name, serr.message);
    } else {
        http_json(res, 200, codec_version(v, net));
        sn_net_free(net);
    }
    store_version_free(v);
}

void version_delete(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    int64_t number;
    char err[ERR_LEN];
    if (!name || !resolve_version(req, res, name, http_capture(req, "v"), &number))
        return;
    store_status rc = store_version_delete(a->store, name, number, err, sizeof err);
    cache_forget(a->cache, name, number);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_empty(res, 204);
}

void version_post(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    if (!name)
        return;
    size_t len;
    const char *body = http_body(req, &len);
    version_import imp;
    api_error e;
    if (!codec_version_import(body, len, &imp, &e)) {
        answer_api_error(res, &e);
        return;
    }
    uint8_t *blob = NULL;
    size_t blob_len;
    sn_error serr;
    char err[ERR_LEN];
    int64_t number;
    if (sn_net_save(imp.net, &blob, &blob_len, &serr) != SN_OK) {
        http_problem(res, 503, NULL, "%s", serr.message);
    } else {
        store_version_new v = {
            .spec_json = imp.spec_text, .params = blob, .params_len = blob_len,
            .epochs_run = imp.epochs_run, .duration_ms = imp.duration_ms, .rows = imp.rows,
            .loss = imp.loss, .val_loss = imp.val_loss,
        };
        store_status rc = store_version_create(a->store, name, &v, &number, err, sizeof err);
        if (rc != STORE_OK) {
            answer_store_error(res, rc, err);
        } else {
            cache_forget_refs(a->cache, name);
            store_version *stored; /* answer with the version as GET shows it */
            rc = store_version_get(a->store, name, number, &stored, err, sizeof err);
            if (rc != STORE_OK) {
                answer_store_error(res, rc, err);
            } else {
                answer_location(res, 201, codec_version(stored, imp.net), "/model/%s/versions/%lld", name,
                                (long long)number);
                store_version_free(stored);
            }
        }
    }
    free(blob);
    version_import_free(&imp);
}

/* A non-negative integer query argument, or def when absent; false after answering. */
static bool query_count(http_request *req, http_response *res, const char *name, int64_t def, int64_t *out)
{
    const char *text = http_query(req, name);
    *out = def;
    if (!text)
        return true;
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno || v < 0) {
        http_problem(res, 400, name, "%s must be a non-negative integer", name);
        return false;
    }
    *out = v;
    return true;
}

/* A loss as CSV: the digits JSON gets, empty when absent. */
static void csv_number(http_buffer *b, double v, char sep)
{
    char num[FLOAT_TEXT_MAX] = "";
    if (isfinite(v))
        float_text((float)v, num);
    http_buffer_printf(b, "%s%c", num, sep);
}

void version_loss(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name"), *format = http_query(req, "format");
    int64_t number, offset, limit;
    if (!name || !resolve_version(req, res, name, http_capture(req, "v"), &number) ||
        !query_count(req, res, "offset", 0, &offset) || !query_count(req, res, "limit", -1, &limit))
        return;
    bool csv = format && strcmp(format, "csv") == 0;
    if (format && !csv && strcmp(format, "json") != 0) {
        http_problem(res, 400, "format", "format must be json or csv");
        return;
    }
    store_loss_point *p;
    size_t n;
    int64_t total;
    char err[ERR_LEN];
    store_status rc = store_loss_history(a->store, name, number, offset, limit, &p, &n, &total, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    if (csv) {
        http_buffer b = {.limit = UINT64_MAX};
        http_buffer_printf(&b, "epoch,loss,val_loss\n");
        for (size_t i = 0; i < n; i++) {
            http_buffer_printf(&b, "%lld,", (long long)p[i].epoch);
            csv_number(&b, p[i].loss, ',');
            csv_number(&b, p[i].val_loss, '\n');
        }
        http_body_take(res, 200, "text/csv; charset=utf-8", b.data, b.len);
    } else {
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "model", name);
        cJSON_AddNumberToObject(out, "version", (double)number);
        cJSON_AddNumberToObject(out, "offset", (double)offset);
        cJSON_AddNumberToObject(out, "total", (double)total);
        cJSON *ep = cJSON_AddArrayToObject(out, "epoch"), *lo = cJSON_AddArrayToObject(out, "loss");
        cJSON *va = cJSON_AddArrayToObject(out, "val_loss");
        for (size_t i = 0; i < n; i++) {
            cJSON_AddItemToArray(ep, cJSON_CreateNumber((double)p[i].epoch));
            cJSON_AddItemToArray(lo, codec_loss(p[i].loss));
            cJSON_AddItemToArray(va, codec_loss(p[i].val_loss));
        }
        http_json(res, 200, out);
    }
    store_loss_free(p);
}

void alias_list(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name");
    if (!name)
        return;
    store_alias *aliases;
    size_t n;
    char err[ERR_LEN];
    store_status rc = store_alias_list(a->store, name, &aliases, &n, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "aliases");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, codec_alias(&aliases[i]));
    store_aliases_free(aliases, n);
    http_json(res, 200, out);
}

void alias_get(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name"), *alias = name ? path_name(req, res, "alias") : NULL;
    if (!alias)
        return;
    store_alias out;
    char err[ERR_LEN];
    store_status rc = store_alias_get(a->store, name, alias, &out, err, sizeof err);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_json(res, 200, codec_alias(&out));
}

void alias_put(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name"), *alias = name ? path_name(req, res, "alias") : NULL;
    if (!alias)
        return;
    if (strcmp(alias, "latest") == 0 || strspn(alias, "0123456789") == strlen(alias)) {
        http_problem(res, 400, NULL, "an alias cannot be \"latest\" or all digits: those already name versions");
        return;
    }
    size_t len;
    const char *body = http_body(req, &len);
    char ref[STORE_NAME_MAX + 1];
    api_error e;
    if (!codec_alias_request(body, len, ref, &e)) {
        answer_api_error(res, &e);
        return;
    }
    int64_t number;
    if (!resolve_version(req, res, name, ref, &number))
        return;
    char err[ERR_LEN];
    store_alias out;
    store_status rc = store_alias_set(a->store, name, alias, number, err, sizeof err);
    if (rc == STORE_OK)
        rc = store_alias_get(a->store, name, alias, &out, err, sizeof err);
    cache_forget_refs(a->cache, name);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_json(res, 200, codec_alias(&out));
}

void alias_delete(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "name"), *alias = name ? path_name(req, res, "alias") : NULL;
    if (!alias)
        return;
    char err[ERR_LEN];
    store_status rc = store_alias_delete(a->store, name, alias, err, sizeof err);
    cache_forget_refs(a->cache, name);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_empty(res, 204);
}
