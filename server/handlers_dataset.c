/*
 * handlers_dataset.c — /dataset: uploads (CSV parsed as it streams in, or a
 * JSON body), the list, one dataset's description, and delete.
 *
 * An upload is a streamed route. begin checks the Content-Type and the
 * query, and refuses a taken name before any byte is read; each chunk goes
 * straight into the CSV reader (or, for JSON, a buffer bounded by
 * --max-body); end stores the dataset in one store transaction. A refused,
 * failed, too large or cut-off upload never reaches the store, so nothing
 * is left behind; release frees whatever the upload held, whatever happened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "text.h"

typedef struct {
    app *a;
    char name[STORE_NAME_MAX + 1];
    const char *target_param; /* "target" or "targets": the query parameter given */
    csv_parser *csv;          /* text/csv; else JSON in body */
    http_buffer body;
} upload;

/* True when the Content-Type (without parameters) is `type`. */
static bool content_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    return ct && strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Answers a CSV reader failure: 400 naming the spot, or 503. */
static void answer_csv_error(http_response *res, const upload *u, const csv_error *err)
{
    if (err->status == CSV_NOMEM) {
        http_problem(res, 503, NULL, "%s", err->message);
        return;
    }
    const char *field = err->field[0] ? err->field : NULL;
    if (field && (strcmp(field, "target") == 0 || strcmp(field, "targets") == 0))
        field = u->target_param; /* the parameter the client actually sent */
    http_problem(res, 400, field, "%s", err->message);
}

/* 409 when the name is taken (checked again, atomically, when storing). */
static bool name_free(app *a, http_response *res, const char *name)
{
    store_dataset *d = NULL;
    char err[256];
    store_status rc = store_dataset_get(a->store, name, false, &d, err, sizeof err);
    store_dataset_free(d);
    if (rc == STORE_OK)
        http_problem(res, 409, "name", "dataset %s already exists; delete it first or choose another name", name);
    else if (rc != STORE_NOT_FOUND)
        answer_store_error(res, rc, err);
    return rc == STORE_NOT_FOUND;
}

static void json_too_large(http_response *res, uint64_t limit)
{
    http_problem(res, 413, NULL,
                 "a JSON dataset is read whole and may be at most %llu bytes (--max-body); "
                 "send larger datasets as text/csv",
                 (unsigned long long)limit);
}

static void *upload_begin(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *ct = http_header(req, "Content-Type");
    bool csv = content_type_is(ct, "text/csv") || content_type_is(ct, "application/csv");
    bool json = !csv && ct && http_require_json(req, res);
    if (!csv && !json) {
        http_problem(res, 415, NULL,
                     "a dataset is sent as Content-Type: text/csv (a header row, then rows) or "
                     "application/json; got %s", ct ? ct : "none");
        return NULL;
    }
    upload *u = calloc(1, sizeof *u);
    if (!u) {
        http_problem(res, 503, NULL, "out of memory for an upload");
        return NULL;
    }
    u->a = a;
    if (json) {
        u->body.limit = a->cfg->max_body; /* read whole: bounded like any JSON body */
        const char *cl = http_header(req, "Content-Length");
        if (!cl || strtoull(cl, NULL, 10) <= u->body.limit)
            return u;
        json_too_large(res, u->body.limit); /* said so up front: the body is never read */
        free(u);
        return NULL;
    }
    const char *name = http_query(req, "name"), *target = http_query(req, "target");
    const char *targets = http_query(req, "targets"), *type = http_query(req, "target_type");
    int kind = csv_target_type_from_name(type);
    u->target_param = targets ? "targets" : "target";
    if (!name)
        http_problem(res, 400, "name", "name is required in the query: POST /dataset?name=NAME&target=COLUMN");
    else if (!store_name_valid(name))
        http_problem(res, 400, "name", "name must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit");
    else if (target && targets)
        http_problem(res, 400, "targets", "give target or targets, not both");
    else if ((target && !target[0]) || (targets && !targets[0]))
        http_problem(res, 400, u->target_param, "%s must name a column of the header", u->target_param);
    else if (kind < 0)
        http_problem(res, 400, "target_type", "target_type must be one of auto, numeric, label");
    else if (name_free(a, res, name)) {
        text_copy(u->name, sizeof u->name, name);
        u->csv = csv_parser_create(&(csv_options){.targets = targets ? targets : target,
                                                  .type = (csv_target_type)kind});
        if (u->csv)
            return u;
        http_problem(res, 503, NULL, "out of memory for an upload");
    }
    free(u);
    return NULL;
}

static bool upload_chunk(void *state, http_request *req, const char *data, size_t len,
                         http_response *res)
{
    (void)req;
    upload *u = state;
    if (u->csv) {
        csv_error err;
        if (csv_parser_feed(u->csv, data, len, &err))
            return true;
        answer_csv_error(res, u, &err);
        return false;
    }
    switch (http_buffer_append(&u->body, data, len)) {
    case HTTP_READ_TOO_LARGE:
        json_too_large(res, u->body.limit);
        return false;
    case HTTP_READ_NOMEM:
        http_problem(res, 503, NULL, "the server ran out of memory reading the body");
        return false;
    default:
        return true;
    }
}

/* Stores d as name in one transaction and answers 201 with its description. */
static void dataset_store(app *a, http_response *res, const char *name, const csv_dataset *d)
{
    char *columns = codec_names_text(d->input_names, d->n_inputs);
    char *targets = codec_names_text(d->target_names, d->n_targets);
    char *labels = d->labels ? codec_names_text(d->labels, d->n_labels) : NULL;
    if (!columns || !targets || (d->labels && !labels)) {
        http_problem(res, 503, NULL, "out of memory");
    } else {
        store_dataset_new nd = {
            .name = name, .rows = (int64_t)d->rows,
            .n_inputs = (int64_t)d->n_inputs, .n_targets = (int64_t)d->n_targets,
            .columns_json = columns, .targets_json = targets, .labels_json = labels,
            .inputs = d->inputs, .targets = d->targets,
        };
        char created[STORE_TIME_SIZE], err[256];
        store_status rc = store_dataset_create(a->store, &nd, created, err, sizeof err);
        if (rc != STORE_OK) {
            answer_store_error(res, rc, err);
        } else {
            store_dataset shown = {
                .rows = nd.rows, .n_inputs = nd.n_inputs, .n_targets = nd.n_targets,
                .columns_json = columns, .targets_json = targets, .labels_json = labels,
            };
            text_copy(shown.name, sizeof shown.name, name);
            text_copy(shown.created_at, sizeof shown.created_at, created);
            answer_location(res, 201, codec_dataset(&shown), "/dataset/%s", name);
        }
    }
    free(columns);
    free(targets);
    free(labels);
}

static void upload_end(void *state, http_request *req, http_response *res)
{
    (void)req;
    upload *u = state;
    csv_dataset d;
    if (u->csv) {
        csv_error err;
        if (!csv_parser_finish(u->csv, &d, &err)) {
            answer_csv_error(res, u, &err);
            return;
        }
        csv_parser_free(u->csv); /* its memory back before the store copies the rows */
        u->csv = NULL;
    } else {
        api_error e;
        if (!codec_dataset_upload(u->body.data ? u->body.data : "", u->body.len, u->name, &d, &e)) {
            answer_api_error(res, &e);
            return;
        }
        free(u->body.data); /* the text is no longer needed */
        u->body = (http_buffer){0};
    }
    dataset_store(u->a, res, u->name, &d);
    csv_dataset_free(&d);
}

static void upload_release(void *state)
{
    upload *u = state;
    csv_parser_free(u->csv);
    free(u->body.data);
    free(u);
}

const http_body_stream dataset_upload = {
    .begin = upload_begin,
    .chunk = upload_chunk,
    .end = upload_end,
    .release = upload_release,
};

void dataset_list(http_request *req, http_response *res)
{
    app *a = http_app(req);
    store_dataset *list;
    size_t n;
    char err[256];
    store_status rc = store_dataset_list(a->store, &list, &n, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    http_json(res, 200, codec_dataset_list(list, n));
    store_datasets_free(list, n);
}

void dataset_get(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "dataset");
    if (!name)
        return;
    store_dataset *d;
    char err[256];
    store_status rc = store_dataset_get(a->store, name, false, &d, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    http_json(res, 200, codec_dataset(d));
    store_dataset_free(d);
}

void dataset_delete(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *name = path_name(req, res, "dataset");
    if (!name)
        return;
    if (jobs_use_dataset(a->jobs, name)) {
        http_problem(res, 409, NULL, "dataset %s is in use by a queued or running training job; "
                                     "delete it when the job has ended (or cancel the job)", name);
        return;
    }
    char err[256];
    store_status rc = store_dataset_delete(a->store, name, err, sizeof err);
    if (rc != STORE_OK)
        answer_store_error(res, rc, err);
    else
        http_empty(res, 204);
}
