/*
 * handlers_train.c — /train: submit a job (202, or 201/422 with ?wait=true),
 * list and show jobs with live progress, cancel, and stream a job's epochs
 * as Server-Sent Events.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "handlers.h"

#define LIST_LIMIT_DEFAULT 100
#define LIST_LIMIT_MAX 1000
#define SSE_BATCH 64 /* epochs copied per reader call */

/* A seed for requests that give none: 53 random bits, so it prints exactly. */
static uint64_t draw_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
    }
    return s & ((1ull << 53) - 1);
}

static bool parse_job_id(http_request *req, http_response *res, int64_t *id)
{
    const char *text = http_capture(req, "id");
    char *end;
    errno = 0;
    long long v = text ? strtoll(text, &end, 10) : 0;
    if (!text || !*text || *end || errno || v < 1) {
        http_problem(res, 404, NULL, "no job has the id %s", text ? text : "");
        return false;
    }
    *id = v;
    return true;
}

/* The job as stored, with live progress laid over it. NULL after answering. */
static store_job *job_now(http_request *req, http_response *res, int64_t id)
{
    app *a = http_app(req);
    store_job *row;
    char err[256];
    store_status rc = store_job_get(a->store, id, &row, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return NULL;
    }
    job_live *l = jobs_find(a->jobs, id);
    if (l) {
        jobs_overlay(a->jobs, l, row);
        jobs_put(a->jobs, l);
    }
    return row;
}

static void answer_job(http_response *res, unsigned status, store_job *row)
{
    if (row->status == STORE_JOB_QUEUED || row->status == STORE_JOB_RUNNING)
        http_header_add(res, "Retry-After", "1");
    char where[64];
    snprintf(where, sizeof where, "/train/%lld", (long long)row->id);
    if (status == 201 || status == 202)
        http_header_add(res, "Location", where);
    http_json(res, status, codec_job(row));
    store_job_free(row);
}

/* A yes/no query parameter: "?name", "?name=true" or "?name=1" say yes. */
static bool query_flag(const http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && (!*v || strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

void train_post(http_request *req, http_response *res)
{
    app *a = http_app(req);
    size_t len;
    const char *body = http_body(req, &len);
    train_request r;
    api_error e;
    int64_t id;
    if (!codec_train_request(body, len, draw_seed(), &r, &e) || !jobs_submit(a->jobs, &r, &id, &e)) {
        if (e.status == 429 || e.status == 503)
            http_header_add(res, "Retry-After", "5");
        answer_api_error(res, &e);
        return;
    }
    bool waiting = query_flag(req, "wait");
    if (waiting) {
        job_live *l = jobs_find(a->jobs, id);
        if (l) {
            jobs_wait(a->jobs, l, -1);
            jobs_put(a->jobs, l);
        }
    }
    store_job *row = job_now(req, res, id);
    if (!row)
        return;
    if (!waiting || row->status == STORE_JOB_SUCCEEDED) {
        answer_job(res, waiting ? 201 : 202, row);
        return;
    }
    char instance[64];
    snprintf(instance, sizeof instance, "/train/%lld", (long long)id);
    http_header_add(res, "Location", instance);
    if (row->status == STORE_JOB_CANCELLED)
        http_problem_instance(res, 409, instance, "job %lld was cancelled: %s", (long long)id,
                              row->error ? row->error : "");
    else
        http_problem_instance(res, 422, instance, "job %lld failed: %s", (long long)id,
                              row->error ? row->error : "unknown error");
    store_job_free(row);
}

void train_list(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *status = http_query(req, "status"), *limit = http_query(req, "limit");
    int filter = -1;
    long long n = LIST_LIMIT_DEFAULT;
    if (status && (filter = store_job_status_from_name(status)) < 0) {
        http_problem(res, 400, "status", "status must be queued, running, succeeded, failed or cancelled");
        return;
    }
    if (limit) {
        char *end;
        n = strtoll(limit, &end, 10);
        if (!*limit || *end || n < 1 || n > LIST_LIMIT_MAX) {
            http_problem(res, 400, "limit", "limit must be an integer from 1 to %d", LIST_LIMIT_MAX);
            return;
        }
    }
    store_job *rows;
    size_t count;
    char err[256];
    store_status rc = store_job_list(a->store, filter, n, &rows, &count, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "jobs");
    for (size_t i = 0; i < count; i++) {
        job_live *l = jobs_find(a->jobs, rows[i].id);
        if (l) {
            jobs_overlay(a->jobs, l, &rows[i]);
            jobs_put(a->jobs, l);
        }
        cJSON_AddItemToArray(list, codec_job(&rows[i]));
    }
    store_jobs_free(rows, count);
    http_json(res, 200, out);
}

void train_get(http_request *req, http_response *res)
{
    int64_t id;
    store_job *row;
    if (parse_job_id(req, res, &id) && (row = job_now(req, res, id)))
        answer_job(res, 200, row);
}

void train_cancel(http_request *req, http_response *res)
{
    app *a = http_app(req);
    int64_t id;
    api_error e;
    if (!parse_job_id(req, res, &id))
        return;
    if (!jobs_cancel(a->jobs, id, &e)) {
        answer_api_error(res, &e);
        return;
    }
    store_job *row = job_now(req, res, id);
    if (row) /* 202 while a running job winds down to the end of its epoch */
        answer_job(res, row->status == STORE_JOB_RUNNING ? 202 : 200, row);
}

/* ---- Server-Sent Events ---- */

/* A live stream. By default it sends the newest epoch at each wake (the
 * jobs module wakes ~20 times a second while epochs come), so a fast job
 * does not flood a browser; with ?every=true it sends every epoch. */
typedef struct {
    jobs *jobs;
    store *store;
    job_live *live;
    int64_t id;
    bool every;          /* every epoch, not the newest at each wake */
    atomic_bool woken;   /* a wake came since the last epoch event */
    size_t next_epoch;   /* epochs covered so far */
    bool done_sent;
    http_stream *stream;
} sse_ctx;

static void sse_wake(void *ctx)
{
    sse_ctx *s = ctx;
    atomic_store(&s->woken, true);
    if (s->stream)
        http_stream_wake(s->stream);
}

static int format_epoch(char *buf, size_t max, const store_loss_point *p)
{
    char *data = codec_epoch_event(p->epoch, p->loss, p->val_loss);
    int n = data ? snprintf(buf, max, "event: epoch\ndata: %s\n\n", data) : -1;
    free(data);
    return n;
}

/* The closing event: the job as it ended. */
static int format_job_done(char *buf, size_t max, const store_job *row)
{
    cJSON *j = codec_job(row);
    char *data = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    int n = data ? snprintf(buf, max, "event: done\ndata: %s\n\n", data) : -1;
    free(data);
    return n;
}

static int format_done(sse_ctx *s, char *buf, size_t max)
{
    store_job *row;
    char err[256];
    if (store_job_get(s->store, s->id, &row, err, sizeof err) != STORE_OK)
        return snprintf(buf, max, "event: done\ndata: {\"id\":%lld}\n\n", (long long)s->id);
    int n = format_job_done(buf, max, row);
    store_job_free(row);
    return n;
}

static ssize_t sse_read(void *ctx, char *buf, size_t max)
{
    sse_ctx *s = ctx;
    if (s->done_sent)
        return HTTP_STREAM_END;
    store_loss_point points[SSE_BATCH];
    bool ended;
    size_t n, used = 0;
    if (s->every) {
        n = jobs_history(s->jobs, s->live, s->next_epoch, points, SSE_BATCH, &ended);
    } else { /* the newest epoch, once per wake (and the last one at the end) */
        size_t total = jobs_epochs(s->jobs, s->live, &ended);
        bool due = atomic_exchange(&s->woken, false) || ended;
        n = due && total > s->next_epoch ? jobs_history(s->jobs, s->live, total - 1, points, 1, &ended) : 0;
        if (n)
            s->next_epoch = total - 1; /* the loop below counts the one sent */
    }
    for (size_t i = 0; i < n; i++) {
        int w = format_epoch(buf + used, max - used, &points[i]);
        if (w < 0 || (size_t)w >= max - used)
            break; /* no room: the rest next call */
        used += (size_t)w;
        s->next_epoch++;
    }
    if (used)
        return (ssize_t)used;
    if (!ended)
        return 0; /* nothing new: suspended until the job wakes us */
    int w = format_done(s, buf, max);
    if (w < 0 || (size_t)w >= max)
        return HTTP_STREAM_ERROR;
    s->done_sent = true;
    return w;
}

static void sse_free(void *ctx)
{
    sse_ctx *s = ctx;
    jobs_unlisten(s->jobs, s->live, s);
    jobs_put(s->jobs, s->live);
    free(s);
}

/* A job that has ended (or belongs to no live worker): its whole story at once. */
static void sse_replay(http_request *req, http_response *res, int64_t id)
{
    app *a = http_app(req);
    store_job *row = job_now(req, res, id);
    if (!row)
        return;
    http_buffer text = {.limit = UINT64_MAX};
    store_loss_point *points = NULL;
    size_t n = 0;
    int64_t total;
    char err[256], ev[1024];
    if (row->status == STORE_JOB_SUCCEEDED && row->version)
        store_loss_history(a->store, row->model, row->version, 0, -1, &points, &n, &total, err, sizeof err);
    for (size_t i = 0; i <= n; i++) {
        int w = i < n ? format_epoch(ev, sizeof ev, &points[i]) : format_job_done(ev, sizeof ev, row);
        if (w >= 0 && (size_t)w < sizeof ev)
            http_buffer_printf(&text, "%s", ev); /* a failure empties text */
    }
    store_loss_free(points);
    store_job_free(row);
    http_header_add(res, "Cache-Control", "no-cache");
    http_body_take(res, 200, "text/event-stream", text.data, text.len);
}

void train_events(http_request *req, http_response *res)
{
    app *a = http_app(req);
    int64_t id;
    if (!parse_job_id(req, res, &id))
        return;
    job_live *l = jobs_find(a->jobs, id);
    if (!l) {
        sse_replay(req, res, id);
        return;
    }
    sse_ctx *s = calloc(1, sizeof *s);
    if (!s) {
        jobs_put(a->jobs, l);
        http_problem(res, 503, NULL, "out of memory");
        return;
    }
    *s = (sse_ctx){.jobs = a->jobs, .store = a->store, .live = l, .id = id,
                   .every = query_flag(req, "every")};
    http_header_add(res, "Cache-Control", "no-cache");
    s->stream = http_respond_stream(res, 200, "text/event-stream", sse_read, sse_free, s);
    if (!s->stream) {
        jobs_put(a->jobs, l);
        free(s);
        return;
    }
    if (!jobs_listen(a->jobs, l, sse_wake, s))
        http_stream_wake(s->stream); /* no wakes will come: the reader polls on each call */
}
