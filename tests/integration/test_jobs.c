/*
 * test_jobs.c — training jobs as a client drives them: submit without
 * waiting and poll, list (newest first, by status, limited), follow the
 * Server-Sent Events of a job live and after the fact, cancel queued and
 * running jobs, and a crossentropy classifier trained on class labels.
 *
 * Long jobs: the server runs one job at a time (--workers 1), so a long
 * "blocker" job keeps the next one queued for as long as a test needs; every
 * blocker is cancelled, never waited for, so the suite stays fast (also
 * under the sanitizers, where training is several times slower).
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SEED_DATA                                                                          \
    "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]"
/* About ten seconds of training unsanitized (a minute with ASan): only ever cancelled. */
#define BLOCKER "{\"model\":\"blocker\",\"layers\":[2,32,32,1],\"epochs\":1000000,\"seed\":1," SEED_DATA "}"
#define POLL_LIMIT_MS 60000 /* a bound on every wait, never reached when all is well */

static server *srv;

static void start_one_worker(void) { srv = server_start((const char *[]){"--workers", "1", NULL}); }
static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}

/* ------------------------------------------------------------ helpers */


static cJSON *get_job(const server *s, int id)
{
    char path[64];
    snprintf(path, sizeof path, "/train/%d", id);
    http_reply r = http_get(s, path, NULL);
    return http_reply_take_json(&r, 200);
}

/* Submits a job without waiting: 202, Location /train/{id}; returns the id. */
static int submit(const server *s, const char *json)
{
    http_reply r = http_post(s, "/train", json, NULL);
    ck_assert_msg(r.status == 202, "submit: %ld %s", r.status, r.body);
    const char *where = http_reply_header(&r, "Location");
    ck_assert_ptr_nonnull(where);
    ck_assert_ptr_nonnull(http_reply_header(&r, "Retry-After"));
    char loc[64], want[64];
    snprintf(loc, sizeof loc, "%s", where);
    cJSON *job = http_reply_take_json(&r, 202); /* frees r */
    int id = (int)json_num(job, "id");
    snprintf(want, sizeof want, "/train/%d", id);
    ck_assert_str_eq(loc, want);
    const char *status = json_str(job, "status");
    ck_assert_msg(strcmp(status, "queued") == 0 || strcmp(status, "running") == 0, "status %s", status);
    ck_assert(cJSON_IsNull(json_item(job, "version")));
    ck_assert(cJSON_IsNull(json_item(job, "finished_at")));
    cJSON_Delete(job);
    return id;
}

static bool ended(const char *status)
{
    return strcmp(status, "succeeded") == 0 || strcmp(status, "failed") == 0 ||
           strcmp(status, "cancelled") == 0;
}

/* Polls the job until it has ended (status NULL) or has that status and at
 * least min_epoch epochs; fails after POLL_LIMIT_MS. Returns the job. */
static cJSON *poll_job(const server *s, int id, const char *status, int min_epoch)
{
    long deadline = now_ms() + POLL_LIMIT_MS;
    double last_epoch = 0;
    for (;;) {
        cJSON *job = get_job(s, id);
        const char *now = json_str(job, "status");
        double epoch = json_num(job, "epoch");
        ck_assert_msg(epoch >= last_epoch, "job %d went back from epoch %g to %g", id, last_epoch, epoch);
        last_epoch = epoch;
        if (status ? strcmp(now, status) == 0 && epoch >= min_epoch : ended(now)) return job;
        ck_assert_msg(!ended(now), "job %d ended %s while waiting for %s", id, now, status);
        ck_assert_msg(now_ms() < deadline, "job %d still %s after %d ms", id, now, POLL_LIMIT_MS);
        cJSON_Delete(job);
        usleep(5000);
    }
}

/* Cancels a job that may be queued or running, and waits for its end. */
static cJSON *cancel(const server *s, int id)
{
    char path[64];
    snprintf(path, sizeof path, "/train/%d", id);
    http_reply r = http_delete(s, path, NULL);
    ck_assert_msg(r.status == 200 || r.status == 202, "cancel %d: %ld %s", id, r.status, r.body);
    cJSON *job = http_reply_json(&r);
    /* 202 while a running job winds down to the end of its epoch; 200 once cancelled. */
    ck_assert_str_eq(json_str(job, "status"), r.status == 202 ? "running" : "cancelled");
    http_reply_free(&r);
    cJSON_Delete(job);
    job = poll_job(s, id, NULL, 0);
    ck_assert_str_eq(json_str(job, "status"), "cancelled");
    return job;
}

/* ---------------------------------------------------------- async jobs */

START_TEST(submit_then_poll)
{
    int id = submit(srv, "{\"model\":\"async\",\"layers\":[2,2,1],\"epochs\":3000,\"seed\":3," SEED_DATA "}");
    cJSON *job = poll_job(srv, id, NULL, 0);
    ck_assert_str_eq(json_str(job, "status"), "succeeded");
    ck_assert_str_eq(json_str(job, "model"), "async");
    ck_assert_int_eq((int)json_num(job, "version"), 1);
    ck_assert_int_eq((int)json_num(job, "epoch"), 3000);
    ck_assert_int_eq((int)json_num(job, "epochs"), 3000);
    ck_assert(json_num(job, "loss") >= 0);
    ck_assert(json_num(job, "duration_ms") >= 0);
    ck_assert(cJSON_IsString(json_item(job, "created_at")));
    ck_assert(cJSON_IsString(json_item(job, "started_at")));
    ck_assert(cJSON_IsString(json_item(job, "finished_at")));
    ck_assert(strcmp(json_str(job, "started_at"), json_str(job, "finished_at")) <= 0); /* ISO-8601 sorts */
    ck_assert(cJSON_IsNull(json_item(job, "error")));
    cJSON_Delete(job);

    /* An ended job is not to be polled again. */
    char path[64];
    snprintf(path, sizeof path, "/train/%d", id);
    http_reply r = http_get(srv, path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(http_reply_header(&r, "Retry-After"));
    http_reply_free(&r);

    /* Its version serves predictions. */
    r = http_post(srv, "/predict", "{\"model\":\"async\",\"inputs\":[[-7,-3]]}", NULL);
    cJSON *p = http_reply_take_json(&r, 200);
    ck_assert_int_eq((int)json_num(p, "version"), 1);
    cJSON_Delete(p);
}
END_TEST

START_TEST(list_newest_first_by_status)
{
    int ids[3];
    const char *models[] = {"list-a", "list-b"};
    for (int i = 0; i < 2; i++) {
        http_reply r = http_postf(srv, "/train?wait=true",
                            "{\"model\":\"%s\",\"layers\":[2,2,1],\"epochs\":50,\"seed\":1," SEED_DATA "}",
                            models[i]);
        cJSON *job = http_reply_take_json(&r, 201);
        ids[i] = (int)json_num(job, "id");
        cJSON_Delete(job);
    }
    /* A failure: the loss overflows (see test_errors.c). */
    http_reply r = http_post(srv, "/train?wait=true",
                             "{\"model\":\"list-c\",\"layers\":[2,2,1],\"activation\":\"linear\","
                             "\"output_activation\":\"linear\",\"learning_rate\":1e5,\"epochs\":50,"
                             "\"seed\":1," SEED_DATA "}",
                             NULL);
    ck_assert_int_eq(r.status, 422);
    ids[2] = atoi(http_reply_header(&r, "Location") + strlen("/train/"));
    http_reply_free(&r);
    ck_assert(ids[0] < ids[1] && ids[1] < ids[2]);

    r = http_get(srv, "/train", NULL);
    cJSON *all = http_reply_take_json(&r, 200);
    const cJSON *jobs = json_item(all, "jobs");
    int n = cJSON_GetArraySize(jobs);
    ck_assert_int_ge(n, 3);
    for (int i = 0; i + 1 < n; i++)
        ck_assert(json_num(cJSON_GetArrayItem(jobs, i), "id") > json_num(cJSON_GetArrayItem(jobs, i + 1), "id"));
    for (int i = 0; i < 3; i++) /* the newest three are ours */
        ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(jobs, i), "id"), ids[2 - i]);
    ck_assert_str_eq(json_str(cJSON_GetArrayItem(jobs, 0), "status"), "failed");
    cJSON_Delete(all);

    r = http_get(srv, "/train?limit=2", NULL);
    all = http_reply_take_json(&r, 200);
    jobs = json_item(all, "jobs");
    ck_assert_int_eq(cJSON_GetArraySize(jobs), 2);
    ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(jobs, 0), "id"), ids[2]);
    ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(jobs, 1), "id"), ids[1]);
    cJSON_Delete(all);

    const char *statuses[] = {"failed", "succeeded"};
    for (int k = 0; k < 2; k++) {
        char path[64];
        snprintf(path, sizeof path, "/train?status=%s", statuses[k]);
        r = http_get(srv, path, NULL);
        all = http_reply_take_json(&r, 200);
        jobs = json_item(all, "jobs");
        bool seen[3] = {false};
        const cJSON *j;
        cJSON_ArrayForEach(j, jobs) {
            ck_assert_str_eq(json_str(j, "status"), statuses[k]);
            for (int i = 0; i < 3; i++) seen[i] |= (int)json_num(j, "id") == ids[i];
        }
        ck_assert(seen[0] == (k == 1) && seen[1] == (k == 1) && seen[2] == (k == 0));
        cJSON_Delete(all);
    }
    r = http_get(srv, "/train?status=succeeded&limit=1", NULL);
    all = http_reply_take_json(&r, 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(all, "jobs")), 1);
    ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(json_item(all, "jobs"), 0), "id"), ids[1]);
    cJSON_Delete(all);

    const char *bad[][2] = {{"/train?status=done", "status"}, {"/train?limit=0", "limit"},
                            {"/train?limit=abc", "limit"}, {"/train?limit=-1", "limit"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = http_get(srv, bad[i][0], NULL);
        ck_assert_msg(r.status == 400, "%s: %ld", bad[i][0], r.status);
        ck_assert_str_eq(http_reply_header(&r, "Content-Type"), "application/problem+json");
        cJSON *p = http_reply_json(&r);
        ck_assert_str_eq(json_str(p, "field"), bad[i][1]);
        cJSON_Delete(p);
        http_reply_free(&r);
    }
}
END_TEST

/* ------------------------------------------------------ Server-Sent Events */

typedef struct {
    char *event; /* "epoch", "done" */
    char *data;  /* the JSON text */
} sse_event;

/* Parses a text/event-stream body; comment lines (":") are skipped. */
static size_t sse_parse(const char *body, sse_event **out)
{
    size_t n = 0, cap = 1024;
    sse_event *ev = malloc(cap * sizeof *ev);
    char *copy = strdup(body);
    char *event = NULL, *data = NULL;
    /* Line by line; an empty line ends an event. */
    for (char *line = copy, *next; line && *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        if (*line == '\0') {
            if (event || data) {
                ck_assert_msg(event && data, "an event without a name or data");
                if (n == cap) ev = realloc(ev, (cap *= 2) * sizeof *ev);
                ev[n++] = (sse_event){.event = strdup(event), .data = strdup(data)};
            }
            event = data = NULL;
        } else if (strncmp(line, "event: ", 7) == 0) {
            event = line + 7;
        } else if (strncmp(line, "data: ", 6) == 0) {
            ck_assert_msg(!data, "two data lines in one event");
            data = line + 6;
        } else {
            ck_assert_msg(line[0] == ':', "unexpected line in the stream: %s", line);
        }
    }
    ck_assert_msg(!event && !data, "the stream ends inside an event");
    free(copy);
    *out = ev;
    return n;
}

static void sse_free(sse_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) free(ev[i].event), free(ev[i].data);
    free(ev);
}

/* Reads /train/{id}/events?every=true to its end and checks it: epochs 1..epochs in
 * order, no gaps, then one done event with the job as it ended, whose
 * status is returned through *done (free it). Returns the events. */
static size_t read_events(const server *s, int id, int epochs, sse_event **out, cJSON **done)
{
    char path[64];
    snprintf(path, sizeof path, "/train/%d/events?every=true", id);
    http_reply r = http_get(s, path, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Content-Type"), "text/event-stream"));
    size_t n = sse_parse(r.body, out);
    http_reply_free(&r);
    sse_event *ev = *out;
    ck_assert_msg(n == (size_t)epochs + 1, "%zu events for %d epochs", n, epochs);
    for (int i = 0; i < epochs; i++) {
        ck_assert_str_eq(ev[i].event, "epoch");
        cJSON *d = cJSON_Parse(ev[i].data);
        ck_assert_msg(d, "epoch data is not JSON: %s", ev[i].data);
        ck_assert_msg((int)json_num(d, "epoch") == i + 1, "event %d is epoch %g", i, json_num(d, "epoch"));
        ck_assert(isfinite(json_num(d, "loss")));
        ck_assert(cJSON_IsNull(json_item(d, "val_loss")));
        cJSON_Delete(d);
    }
    ck_assert_str_eq(ev[epochs].event, "done");
    *done = cJSON_Parse(ev[epochs].data);
    ck_assert_msg(*done, "done data is not JSON: %s", ev[epochs].data);
    ck_assert_int_eq((int)json_num(*done, "id"), id);
    return n;
}

typedef struct {
    const server *s;
    int id;
    long delay_ms;
} delayed_cancel;

static void *cancel_later(void *arg)
{
    delayed_cancel *c = arg;
    usleep((useconds_t)c->delay_ms * 1000);
    char path[64];
    snprintf(path, sizeof path, "/train/%d", c->id);
    http_reply r = http_delete(c->s, path, NULL);
    http_reply_free(&r);
    return NULL;
}

START_TEST(events_live_then_replayed)
{
    enum { EPOCHS = 3000 };
    /* The stream is opened while the job waits behind a blocker, so it
     * follows the job from its first epoch to its end as it happens. */
    int blocker = submit(srv, BLOCKER);
    cJSON_Delete(poll_job(srv, blocker, "running", 1));
    int id = submit(srv, "{\"model\":\"sse\",\"layers\":[2,2,1],\"epochs\":3000,\"seed\":9," SEED_DATA "}");
    cJSON *job = get_job(srv, id);
    ck_assert_str_eq(json_str(job, "status"), "queued");
    cJSON_Delete(job);
    pthread_t t;
    delayed_cancel dc = {.s = srv, .id = blocker, .delay_ms = 300};
    ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, &dc), 0);
    sse_event *live;
    cJSON *done;
    size_t n = read_events(srv, id, EPOCHS, &live, &done);
    pthread_join(t, NULL);
    ck_assert_str_eq(json_str(done, "status"), "succeeded");
    ck_assert_int_eq((int)json_num(done, "version"), 1);
    ck_assert_int_eq((int)json_num(done, "epoch"), EPOCHS);
    ck_assert(cJSON_IsString(json_item(done, "finished_at")));
    cJSON_Delete(done);
    job = poll_job(srv, blocker, NULL, 0);
    ck_assert_str_eq(json_str(job, "status"), "cancelled");
    cJSON_Delete(job);

    /* The events carry the history the version keeps. */
    http_reply r = http_get(srv, "/model/sse/versions/1/loss", NULL);
    cJSON *h = http_reply_take_json(&r, 200);
    for (int i = 0; i < EPOCHS; i++) {
        cJSON *d = cJSON_Parse(live[i].data);
        ck_assert(json_num(d, "loss") == cJSON_GetArrayItem(json_item(h, "loss"), i)->valuedouble);
        cJSON_Delete(d);
    }
    cJSON_Delete(h);

    /* After the end, the same stream replays every epoch, then done. */
    sse_event *again;
    size_t m = read_events(srv, id, EPOCHS, &again, &done);
    ck_assert_int_eq(m, n);
    for (size_t i = 0; i < n; i++) ck_assert_str_eq(again[i].data, live[i].data);
    ck_assert_str_eq(json_str(done, "status"), "succeeded");
    cJSON_Delete(done);
    sse_free(live, n);
    sse_free(again, m);
}
END_TEST

START_TEST(events_thinned_by_default)
{
    /* Without ?every a fast job's stream carries the newest epoch ~20 times
     * a second: far fewer events than epochs, in order, ending with the last
     * epoch and done. */
    enum { EPOCHS = 30000 };
    int blocker = submit(srv, BLOCKER);
    cJSON_Delete(poll_job(srv, blocker, "running", 1));
    int id = submit(srv, "{\"model\":\"sse-thin\",\"layers\":[2,2,1],\"epochs\":30000,\"seed\":9," SEED_DATA "}");
    pthread_t t;
    delayed_cancel dc = {.s = srv, .id = blocker, .delay_ms = 300};
    ck_assert_int_eq(pthread_create(&t, NULL, cancel_later, &dc), 0);
    char path[64];
    snprintf(path, sizeof path, "/train/%d/events", id);
    http_reply r = http_get(srv, path, NULL);
    pthread_join(t, NULL);
    ck_assert_int_eq(r.status, 200);
    sse_event *ev;
    size_t n = sse_parse(r.body, &ev);
    http_reply_free(&r);
    ck_assert_msg(n >= 2 && n < EPOCHS / 10, "%zu events for %d epochs", n, EPOCHS);
    double last = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        ck_assert_str_eq(ev[i].event, "epoch");
        cJSON *d = cJSON_Parse(ev[i].data);
        ck_assert_msg(json_num(d, "epoch") > last, "epoch %g after %g", json_num(d, "epoch"), last);
        last = json_num(d, "epoch");
        cJSON_Delete(d);
    }
    ck_assert_msg(last == EPOCHS, "the last epoch event is %g", last);
    ck_assert_str_eq(ev[n - 1].event, "done");
    sse_free(ev, n);
}
END_TEST

START_TEST(events_joined_mid_run)
{
    /* Joining a running job's stream late still starts at epoch 1. (Should
     * the job end before the stream opens, the replay must say the same.) */
    enum { EPOCHS = 4000 };
    int id = submit(srv, "{\"model\":\"sse-late\",\"layers\":[2,32,32,1],\"epochs\":4000,\"seed\":4," SEED_DATA "}");
    /* Wait until it runs; under valgrind (one thread at a time) it may even
     * end first, and then the replay must tell the same story. */
    for (long deadline = now_ms() + POLL_LIMIT_MS;;) {
        cJSON *job = get_job(srv, id);
        bool started = ended(json_str(job, "status")) || json_num(job, "epoch") >= 1;
        cJSON_Delete(job);
        if (started)
            break;
        ck_assert_msg(now_ms() < deadline, "job %d never started", id);
        usleep(5000);
    }
    sse_event *ev;
    cJSON *done;
    size_t n = read_events(srv, id, EPOCHS, &ev, &done);
    ck_assert_str_eq(json_str(done, "status"), "succeeded");
    cJSON_Delete(done);
    sse_free(ev, n);
}
END_TEST

START_TEST(events_unknown_job_404)
{
    http_reply r = http_get(srv, "/train/987654/events", NULL);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(http_reply_header(&r, "Content-Type"), "application/problem+json");
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------- cancelling */

START_TEST(cancel_running_job)
{
    int id = submit(srv, "{\"model\":\"doomed\",\"layers\":[2,32,32,1],\"epochs\":1000000,\"seed\":1," SEED_DATA "}");
    cJSON *job = poll_job(srv, id, "running", 50); /* well past its first epoch */
    ck_assert(cJSON_IsString(json_item(job, "started_at")));
    double seen = json_num(job, "epoch");
    cJSON_Delete(job);
    usleep(100000);
    job = cancel(srv, id);
    ck_assert(cJSON_IsNull(json_item(job, "version")));
    ck_assert(cJSON_IsString(json_item(job, "finished_at")));
    ck_assert_msg(*json_str(job, "error"), "no reason given");
    /* The job says how far it got: at least as far as it was seen running
     * (a stale epoch here means the last progress was not recorded). */
    ck_assert_msg(json_num(job, "epoch") >= seen, "cancelled job reports epoch %g, was seen at %g",
                  json_num(job, "epoch"), seen);
    ck_assert(json_num(job, "epoch") < 1000000);
    cJSON_Delete(job);

    /* No version was stored: the model does not exist. */
    http_reply r = http_get(srv, "/model/doomed", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"doomed\",\"inputs\":[[1,2]]}", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);

    /* Cancelling again: it has ended. */
    char path[64];
    snprintf(path, sizeof path, "/train/%d", id);
    r = http_delete(srv, path, NULL);
    ck_assert_int_eq(r.status, 409);
    ck_assert_str_eq(http_reply_header(&r, "Content-Type"), "application/problem+json");
    http_reply_free(&r);

    /* Its stream ends at once with the cancelled job. */
    snprintf(path, sizeof path, "/train/%d/events", id);
    r = http_get(srv, path, NULL);
    ck_assert_int_eq(r.status, 200);
    sse_event *ev;
    size_t n = sse_parse(r.body, &ev);
    http_reply_free(&r);
    ck_assert_int_ge(n, 1);
    ck_assert_str_eq(ev[n - 1].event, "done");
    cJSON *done = cJSON_Parse(ev[n - 1].data);
    ck_assert_str_eq(json_str(done, "status"), "cancelled");
    cJSON_Delete(done);
    sse_free(ev, n);

    /* Listed among the cancelled. */
    r = http_get(srv, "/train?status=cancelled", NULL);
    cJSON *list = http_reply_take_json(&r, 200);
    bool found = false;
    const cJSON *j;
    cJSON_ArrayForEach(j, json_item(list, "jobs")) found |= (int)json_num(j, "id") == id;
    ck_assert(found);
    cJSON_Delete(list);
}
END_TEST

START_TEST(cancel_queued_job)
{
    int blocker = submit(srv, BLOCKER);
    cJSON_Delete(poll_job(srv, blocker, "running", 1));
    int id = submit(srv, "{\"model\":\"never\",\"layers\":[2,2,1],\"epochs\":10,\"seed\":1," SEED_DATA "}");
    char path[64];
    snprintf(path, sizeof path, "/train/%d", id);
    http_reply r = http_delete(srv, path, NULL);
    cJSON *job = http_reply_take_json(&r, 200); /* a queued job is cancelled at once */
    ck_assert_str_eq(json_str(job, "status"), "cancelled");
    cJSON_Delete(job);
    cJSON_Delete(cancel(srv, blocker));
    job = get_job(srv, id);
    ck_assert_str_eq(json_str(job, "status"), "cancelled");
    ck_assert(cJSON_IsNull(json_item(job, "started_at"))); /* it never ran */
    ck_assert(cJSON_IsNull(json_item(job, "version")));
    ck_assert_int_eq((int)json_num(job, "epoch"), 0);
    cJSON_Delete(job);
    r = http_get(srv, "/model/never", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_get(srv, "/model/blocker", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
}
END_TEST

START_TEST(cancel_ended_or_unknown)
{
    http_reply r = http_post(srv, "/train?wait=true",
                             "{\"model\":\"done\",\"layers\":[2,2,1],\"epochs\":10,\"seed\":1," SEED_DATA "}", NULL);
    cJSON *job = http_reply_take_json(&r, 201);
    char path[64];
    snprintf(path, sizeof path, "/train/%d", (int)json_num(job, "id"));
    cJSON_Delete(job);
    r = http_delete(srv, path, NULL);
    ck_assert_int_eq(r.status, 409);
    cJSON *p = http_reply_json(&r);
    ck_assert_int_eq((int)json_num(p, "status"), 409);
    ck_assert(*json_str(p, "detail"));
    cJSON_Delete(p);
    http_reply_free(&r);
    /* The job and its version are untouched. */
    job = get_job(srv, atoi(path + strlen("/train/")));
    ck_assert_str_eq(json_str(job, "status"), "succeeded");
    cJSON_Delete(job);
    r = http_get(srv, "/model/done/versions/1", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);

    const char *unknown[] = {"/train/987654", "/train/0", "/train/abc"};
    for (size_t i = 0; i < 3; i++) {
        r = http_delete(srv, unknown[i], NULL);
        ck_assert_msg(r.status == 404, "DELETE %s: %ld", unknown[i], r.status);
        http_reply_free(&r);
        r = http_get(srv, unknown[i], NULL);
        ck_assert_msg(r.status == 404, "GET %s: %ld", unknown[i], r.status);
        http_reply_free(&r);
    }
}
END_TEST

/* --------------------------------------------- a classifier with labels */

/* xorshift64* and Box-Muller: the test's own reproducible Gaussian blobs. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double uniform(void)
{
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ull) >> 11) * (1.0 / 9007199254740992.0);
}
static double gaussian(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static const char *const species[] = {"setosa", "versicolor", "virginica"};
static const double centres[3][2] = {{0, 4}, {-4, -2}, {4, -2}};
#define PER_CLASS 30

START_TEST(classifier_with_string_labels)
{
    /* 90 rows, classes interleaved; spread 0.7 around centres 6 apart. */
    char *inputs = NULL, *targets = NULL;
    size_t ilen, tlen;
    FILE *fi = open_memstream(&inputs, &ilen), *ft = open_memstream(&targets, &tlen);
    double x[3 * PER_CLASS][2];
    int cls[3 * PER_CLASS];
    for (int i = 0; i < 3 * PER_CLASS; i++) {
        int k = i % 3;
        x[i][0] = centres[k][0] + 0.7 * gaussian();
        x[i][1] = centres[k][1] + 0.7 * gaussian();
        cls[i] = k;
        fprintf(fi, "%s[%.6f,%.6f]", i ? "," : "", x[i][0], x[i][1]);
        fprintf(ft, "%s\"%s\"", i ? "," : "", species[k]);
    }
    fclose(fi);
    fclose(ft);
    http_reply r = http_postf(srv, "/train?wait=true",
                        "{\"model\":\"blobs\",\"layers\":[2,8,3],\"activation\":\"tanh\","
                        "\"loss\":\"crossentropy\",\"epochs\":100,\"seed\":5,"
                        "\"inputs\":[%s],\"targets\":[%s]}",
                        inputs, targets);
    cJSON *job = http_reply_take_json(&r, 201);
    ck_assert_str_eq(json_str(job, "status"), "succeeded");
    cJSON_Delete(job);

    /* The version knows its classes (sorted) and its softmax head. */
    r = http_get(srv, "/model/blobs/versions/1", NULL);
    cJSON *v = http_reply_take_json(&r, 200);
    const cJSON *labels = json_item(v, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(labels), 3);
    for (int k = 0; k < 3; k++) ck_assert_str_eq(cJSON_GetArrayItem(labels, k)->valuestring, species[k]);
    ck_assert_str_eq(json_str(v, "output_activation"), "softmax");
    ck_assert_str_eq(json_str(v, "loss"), "crossentropy");
    cJSON_Delete(v);

    /* The centres, out of order, are named right; outputs are probabilities. */
    r = http_post(srv, "/predict", "{\"model\":\"blobs\",\"inputs\":[[4,-2],[0,4],[-4,-2]]}", NULL);
    cJSON *p = http_reply_take_json(&r, 200);
    const char *want[] = {"virginica", "setosa", "versicolor"};
    const cJSON *got = json_item(p, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(got), 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(cJSON_GetArrayItem(got, i)->valuestring, want[i]);
        const cJSON *row = cJSON_GetArrayItem(json_item(p, "outputs"), i);
        ck_assert_int_eq(cJSON_GetArraySize(row), 3);
        double sum = 0;
        const cJSON *o;
        cJSON_ArrayForEach(o, row) {
            ck_assert(o->valuedouble >= 0 && o->valuedouble <= 1);
            sum += o->valuedouble;
        }
        ck_assert_msg(fabs(sum - 1) < 1e-5, "row %d sums to %.9g", i, sum);
    }
    cJSON_Delete(p);

    /* A single row gets a single label. */
    r = http_post(srv, "/predict", "{\"model\":\"blobs\",\"inputs\":[0.2,3.5]}", NULL);
    p = http_reply_take_json(&r, 200);
    ck_assert_str_eq(json_str(p, "labels"), "setosa");
    cJSON_Delete(p);

    /* The training rows: nearly all named right. */
    r = http_postf(srv, "/predict", "{\"model\":\"blobs\",\"inputs\":[%s]}", inputs);
    p = http_reply_take_json(&r, 200);
    int right = 0;
    for (int i = 0; i < 3 * PER_CLASS; i++)
        right += strcmp(cJSON_GetArrayItem(json_item(p, "labels"), i)->valuestring, species[cls[i]]) == 0;
    ck_assert_msg(right >= 3 * PER_CLASS * 95 / 100, "%d of %d right", right, 3 * PER_CLASS);
    cJSON_Delete(p);

    /* Class indices as targets: the answer names classes by index. */
    free(targets);
    ft = open_memstream(&targets, &tlen);
    for (int i = 0; i < 3 * PER_CLASS; i++) fprintf(ft, "%s%d", i ? "," : "", cls[i]);
    fclose(ft);
    r = http_postf(srv, "/train?wait=true",
             "{\"model\":\"blobs-idx\",\"layers\":[2,8,3],\"activation\":\"tanh\","
             "\"loss\":\"crossentropy\",\"epochs\":100,\"seed\":5,\"inputs\":[%s],\"targets\":[%s]}",
             inputs, targets);
    cJSON_Delete(http_reply_take_json(&r, 201));
    r = http_post(srv, "/predict", "{\"model\":\"blobs-idx\",\"inputs\":[[4,-2],[0,4]]}", NULL);
    p = http_reply_take_json(&r, 200);
    ck_assert_int_eq((int)cJSON_GetArrayItem(json_item(p, "labels"), 0)->valuedouble, 2);
    ck_assert_int_eq((int)cJSON_GetArrayItem(json_item(p, "labels"), 1)->valuedouble, 0);
    cJSON_Delete(p);
    free(inputs);
    free(targets);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jobs");
    TCase *tc = tcase_create("jobs");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    tcase_add_unchecked_fixture(tc, start_one_worker, stop); /* stopped even when a test fails */
    suite_add_tcase(s, tc);
    tcase_add_test(tc, submit_then_poll);
    tcase_add_test(tc, list_newest_first_by_status);
    tcase_add_test(tc, events_live_then_replayed);
    tcase_add_test(tc, events_joined_mid_run);
    tcase_add_test(tc, events_thinned_by_default);
    tcase_add_test(tc, events_unknown_job_404);
    tcase_add_test(tc, cancel_running_job);
    tcase_add_test(tc, cancel_queued_job);
    tcase_add_test(tc, cancel_ended_or_unknown);
    tcase_add_test(tc, classifier_with_string_labels);

    return run_suite(s);
}
