/*
 * test_shutdown.c — stopping the real server with SIGTERM while it trains:
 * by default a running job is interrupted and recorded as failed with that
 * reason; with --grace it may finish and its version is kept. Either way
 * the server exits 0 and everything committed is there after a restart.
 * Under load (clients importing versions and training while SIGTERM comes)
 * every version whose creation was acknowledged (201) survives, byte for
 * byte, and no client ever sees a 5xx other than 503.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "import_json.h"

static server *srv;
static void down(void)
{
    server_stop(srv);
    srv = NULL;
}

/* A job long enough to be caught running (seconds, more under sanitizers). */
static const char *LONG_JOB =
    "{\"model\":\"slow\",\"layers\":[2,64,64,1],\"epochs\":20000,\"seed\":1,"
    "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]}";
static const char *SHORT_JOB =
    "{\"model\":\"quick\",\"layers\":[2,2,1],\"epochs\":10,\"seed\":1,"
    "\"inputs\":[[-2,-1],[25,6]],\"targets\":[[1],[0]]}";

static cJSON *job(long id)
{
    char path[64];
    snprintf(path, sizeof path, "/train/%ld", id);
    http_reply r = http_get(srv, path, NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    cJSON *j = http_reply_json(&r);
    http_reply_free(&r);
    return j;
}

static const char *status_of(const cJSON *j) { return cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")); }

/* Submits the long job and waits until it has run an epoch or more. */
static long start_long_job(void)
{
    http_reply r = http_post(srv, "/train", LONG_JOB, NULL);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    cJSON *j = http_reply_json(&r);
    long id = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id"));
    cJSON_Delete(j);
    http_reply_free(&r);
    for (int i = 0; i < 400; i++) {
        j = job(id);
        bool running = strcmp(status_of(j), "running") == 0 &&
                       cJSON_GetNumberValue(cJSON_GetObjectItem(j, "epoch")) >= 1;
        ck_assert_msg(strcmp(status_of(j), "succeeded") != 0, "the job ended before the test could stop the server");
        cJSON_Delete(j);
        if (running)
            return id;
        usleep(10000);
    }
    ck_abort_msg("job %ld never started", id);
    return 0;
}

START_TEST(sigterm_interrupts_running_jobs_and_keeps_committed_ones)
{
    srv = server_start(NULL);
    http_reply r = http_post(srv, "/train?wait=true", SHORT_JOB, NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    long id = start_long_job();
    ck_assert_int_eq(server_terminate(srv), 0);
    server_restart(srv);
    cJSON *j = job(id);
    ck_assert_str_eq(status_of(j), "failed");
    const char *why = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));
    ck_assert_msg(why && strstr(why, "interrupted"), "error: %s", why ? why : "(none)");
    cJSON_Delete(j);
    r = http_get(srv, "/model/slow", NULL); /* the interrupted job stored no version */
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"quick\",\"inputs\":[[-7,-3]]}", NULL);
    ck_assert_msg(r.status == 200, "the committed model is gone: %ld %s", r.status, r.body);
    http_reply_free(&r);
}
END_TEST

/* SIGTERM and wait for the exit as long as a graceful stop may take (the
 * harness's own stop gives up after a few seconds). Returns the exit code. */
static int terminate_patiently(int seconds)
{
    kill(srv->pid, SIGTERM);
    for (int i = 0; i < seconds * 100; i++) {
        int status;
        if (waitpid(srv->pid, &status, WNOHANG) == srv->pid) {
            srv->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        usleep(10000);
    }
    ck_abort_msg("the server did not stop within %d s", seconds);
    return -1;
}

START_TEST(grace_lets_running_jobs_finish)
{
    srv = server_start((const char *[]){"--grace", "120", NULL});
    long id = start_long_job();
    ck_assert_int_eq(terminate_patiently(130), 0);
    server_restart(srv);
    cJSON *j = job(id);
    ck_assert_msg(strcmp(status_of(j), "succeeded") == 0, "status %s: %s", status_of(j),
                  cJSON_GetStringValue(cJSON_GetObjectItem(j, "error")));
    cJSON_Delete(j);
    http_reply r = http_get(srv, "/model/slow/versions/1/loss?limit=1&offset=19999", NULL);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"epoch\":[20000]"), "%ld %s", r.status, r.body);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------ under load */

#define LOAD_CLIENTS 4
#define LOAD_MAX 4096

typedef struct {
    char model[32];
    long version;
    char *body; /* what the 201 showed; NULL for a trained version */
} acked;

static struct {
    pthread_mutex_t lock;
    acked list[LOAD_MAX];
    size_t n;
    long bad_status; /* a 5xx other than 503, or 0 */
    char bad_body[512];
} load = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void load_record(const char *model, long version, char *body)
{
    pthread_mutex_lock(&load.lock);
    if (load.n < LOAD_MAX) {
        acked *a = &load.list[load.n++];
        snprintf(a->model, sizeof a->model, "%s", model);
        a->version = version;
        a->body = body;
    } else {
        free(body);
    }
    pthread_mutex_unlock(&load.lock);
}

/* True while the client should go on: the server answers, and not 503. */
static bool load_answered(const http_reply *r)
{
    if (r->status >= 500 && r->status != 503) {
        pthread_mutex_lock(&load.lock);
        load.bad_status = r->status;
        snprintf(load.bad_body, sizeof load.bad_body, "%s", r->body);
        pthread_mutex_unlock(&load.lock);
    }
    return r->status != 0 && r->status != 503;
}

static void *load_importer(void *arg)
{
    int k = (int)(intptr_t)arg;
    char model[32], path[64];
    snprintf(model, sizeof model, "load%d", k);
    snprintf(path, sizeof path, "/model/%s/versions", model);
    for (uint64_t i = 0;; i++) {
        int sizes[] = {4, 16 + (int)(i % 32), 2};
        char *body = import_json(sizes, 3, i * 16 + (uint64_t)k);
        http_reply r = http_post(srv, path, body, NULL);
        free(body);
        if (r.status == 201) {
            cJSON *j = http_reply_json(&r);
            load_record(model, (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")), r.body);
            cJSON_Delete(j);
            r.body = NULL;
        }
        bool go_on = load_answered(&r);
        http_reply_free(&r);
        if (!go_on)
            return NULL;
    }
}

static void *load_trainer(void *arg)
{
    (void)arg;
    for (;;) {
        http_reply r = http_post(srv, "/train?wait=true", SHORT_JOB, NULL);
        if (r.status == 201) {
            cJSON *j = http_reply_json(&r);
            load_record("quick", (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")), NULL);
            cJSON_Delete(j);
        }
        bool go_on = load_answered(&r);
        http_reply_free(&r);
        if (!go_on)
            return NULL;
    }
}

START_TEST(sigterm_under_load_keeps_every_acknowledged_version)
{
    srv = server_start((const char *[]){"--workers", "2", "--threads", "1", NULL});
    long long_job = start_long_job(); /* interrupted by the stop */
    pthread_t t[LOAD_CLIENTS + 1];
    for (int i = 0; i < LOAD_CLIENTS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, load_importer, (void *)(intptr_t)i), 0);
    ck_assert_int_eq(pthread_create(&t[LOAD_CLIENTS], NULL, load_trainer, NULL), 0);
    for (int i = 0; i < 200 && load.n < 20; i++) /* some versions in, then stop mid-stream */
        usleep(10000);
    usleep(100000);
    ck_assert_int_eq(terminate_patiently(60), 0);
    for (int i = 0; i <= LOAD_CLIENTS; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(load.bad_status == 0, "a client got %ld during the stop: %s", load.bad_status, load.bad_body);
    ck_assert_msg(load.n > 0, "no version was acknowledged before the stop");

    server_restart(srv);
    size_t trained = 0;
    for (size_t i = 0; i < load.n; i++) {
        acked *a = &load.list[i];
        char path[96];
        snprintf(path, sizeof path, "/model/%s/versions/%ld", a->model, a->version);
        http_reply r = http_get(srv, path, NULL);
        ck_assert_msg(r.status == 200, "acknowledged %s is gone: %ld %s", path, r.status, r.body);
        ck_assert_msg(!a->body || strcmp(a->body, r.body) == 0, "acknowledged %s changed", path);
        trained += a->body == NULL;
        http_reply_free(&r);
        free(a->body);
    }
    fprintf(stderr, "test_shutdown: %zu versions acknowledged under load (%zu trained), all kept\n",
            load.n, trained);
    cJSON *j = job(long_job);
    ck_assert_str_eq(status_of(j), "failed");
    cJSON_Delete(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("shutdown");
    TCase *tc = tcase_create("shutdown");
    tcase_add_checked_fixture(tc, NULL, down);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sigterm_interrupts_running_jobs_and_keeps_committed_ones);
    tcase_add_test(tc, grace_lets_running_jobs_finish);
    tcase_add_test(tc, sigterm_under_load_keeps_every_acknowledged_version);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
