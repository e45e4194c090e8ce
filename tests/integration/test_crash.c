/*
 * test_crash.c — kill -9 at random moments, many times.
 *
 * Each round starts three kinds of traffic against the real server —
 * training jobs (?wait=false, some long enough to be caught running), CSV
 * dataset uploads streamed in small pieces over a raw socket, and version
 * imports — then SIGKILLs the server after a random delay, restarts it on
 * the same database and checks:
 *  - PRAGMA integrity_check is "ok" (the file opened with the sqlite3 C API);
 *  - every version acknowledged (201) before the kill reads back byte for
 *    byte as the 201 showed it;
 *  - no job is left queued or running: a job cut short is failed with the
 *    reason "interrupted…", and a succeeded job's version exists;
 *  - no half dataset: every stored dataset's blobs have the size its rows
 *    and columns say, and every dataset holds all the rows that were sent;
 *  - every version listed can be fetched and predicts.
 * At the end every version acknowledged in any round is checked again.
 *
 * Seeded: CRASH_SEED (default 20261204) picks every delay and size, and is
 * printed; CRASH_ROUNDS (default 32) sets the number of kills. Rounds take a
 * few hundred milliseconds each, so the suite stays well under a minute,
 * also under the sanitizers. Under valgrind (CK_TIMEOUT_MULTIPLIER set) the
 * delays before each kill stretch by that factor, so that work still gets
 * done between kills.
 */
#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "import_json.h"

#define DEFAULT_SEED 20261204u
#define DEFAULT_ROUNDS 32
#define CSV_ROWS 1500
#define MAX_RECORDS 8192

static server *srv;

/* ---------------------------------------------------------------- rng */

static uint64_t rng_state;
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static unsigned rng_range(uint64_t *s, unsigned lo, unsigned hi) /* [lo, hi] */
{
    return lo + (unsigned)(rng_next(s) % (hi - lo + 1));
}

/* ------------------------------------------------------ what was acked */

typedef struct {
    char model[32];
    long version;
    char *body; /* the 201's body: the version as GET must show it */
} acked_version;

typedef struct {
    pthread_mutex_t lock;
    acked_version versions[MAX_RECORDS];
    size_t n_versions, round_versions; /* index where this round's start */
    long jobs[MAX_RECORDS];
    size_t n_jobs;                     /* this round's */
    char datasets[MAX_RECORDS][32];    /* every name an upload was tried for */
    size_t n_datasets;
    size_t acked_datasets;
    atomic_bool stop;
} records;

static records rec = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Totals over every round, for the summary line. */
static size_t total_acked_versions, total_jobs, total_interrupted, total_succeeded,
    total_uploads_acked, total_uploads_cut;

/* ----------------------------------------------------------- traffic */

typedef struct {
    int round;
    uint64_t seed;
} worker_arg;

static void *importer(void *p)
{
    worker_arg *a = p;
    uint64_t s = a->seed;
    char model[32], path[64];
    snprintf(model, sizeof model, "imp%d", a->round);
    snprintf(path, sizeof path, "/model/%s/versions", model);
    while (!atomic_load(&rec.stop)) {
        int sizes[3] = {(int)rng_range(&s, 2, 16), (int)rng_range(&s, 4, 64), (int)rng_range(&s, 1, 4)};
        char *body = import_json(sizes, 3, rng_next(&s));
        if (!body)
            break;
        http_reply r = http_post(srv, path, body, NULL);
        free(body);
        if (r.status == 201) {
            cJSON *j = cJSON_Parse(r.body);
            long v = j ? (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")) : 0;
            cJSON_Delete(j);
            pthread_mutex_lock(&rec.lock);
            if (rec.n_versions < MAX_RECORDS) {
                acked_version *av = &rec.versions[rec.n_versions++];
                snprintf(av->model, sizeof av->model, "%s", model);
                av->version = v;
                av->body = r.body;
                r.body = NULL;
            }
            pthread_mutex_unlock(&rec.lock);
        }
        long status = r.status;
        http_reply_free(&r);
        if (status == 0)
            break; /* the server is gone */
        usleep(rng_range(&s, 0, 4) * 1000);
    }
    return NULL;
}

static void *trainer(void *p)
{
    worker_arg *a = p;
    uint64_t s = a->seed;
    for (int k = 0; !atomic_load(&rec.stop) && k < 6; k++) {
        char body[512];
        /* From a few milliseconds to seconds: some end, some are caught. */
        snprintf(body, sizeof body,
                 "{\"model\":\"job%d\",\"layers\":[2,32,32,1],\"epochs\":%u,\"seed\":%u,"
                 "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]}",
                 a->round, rng_range(&s, 20, 6000), k);
        http_reply r = http_post(srv, "/train", body, NULL);
        long status = r.status;
        if (status == 202) {
            cJSON *j = cJSON_Parse(r.body);
            long id = j ? (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id")) : 0;
            cJSON_Delete(j);
            pthread_mutex_lock(&rec.lock);
            if (rec.n_jobs < MAX_RECORDS)
                rec.jobs[rec.n_jobs++] = id;
            pthread_mutex_unlock(&rec.lock);
        }
        http_reply_free(&r);
        if (status == 0)
            break;
        usleep(rng_range(&s, 5, 60) * 1000);
    }
    return NULL;
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        data += n, len -= (size_t)n;
    }
    return true;
}

/* One CSV upload of CSV_ROWS rows, streamed in pieces with pauses so a
 * kill lands in the middle; true when the server acknowledged it. */
static bool upload_one(const char *name, uint64_t *s)
{
    static const char header[] = "x1,x2,x3,x4,y\n";
    char *csv = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&csv, &len);
    fputs(header, f);
    for (int i = 0; i < CSV_ROWS; i++)
        fprintf(f, "%d,%d.5,%d,-%d,%d\n", i, i % 97, i * 7, i % 13, i % 2);
    fclose(f);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    char head[256];
    snprintf(head, sizeof head,
             "POST /dataset?name=%s&target=y HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: text/csv\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
             name, len);
    ok = ok && send_all(fd, head, strlen(head));
    for (size_t at = 0; ok && at < len;) {
        size_t piece = rng_range(s, 512, 8192);
        if (piece > len - at)
            piece = len - at;
        ok = send_all(fd, csv + at, piece);
        at += piece;
        usleep(rng_range(s, 0, 3) * 1000);
    }
    char answer[64] = "";
    ssize_t got = ok ? recv(fd, answer, sizeof answer - 1, 0) : -1;
    if (got > 0)
        answer[got] = '\0';
    if (fd >= 0)
        close(fd);
    free(csv);
    return got > 0 && strncmp(answer, "HTTP/1.1 201", 12) == 0;
}

static void *uploader(void *p)
{
    worker_arg *a = p;
    uint64_t s = a->seed;
    for (int k = 0; !atomic_load(&rec.stop); k++) {
        char name[32];
        snprintf(name, sizeof name, "ds%d_%d", a->round, k);
        pthread_mutex_lock(&rec.lock);
        if (rec.n_datasets < MAX_RECORDS)
            snprintf(rec.datasets[rec.n_datasets++], sizeof rec.datasets[0], "%s", name);
        pthread_mutex_unlock(&rec.lock);
        if (!upload_one(name, &s))
            break;
        pthread_mutex_lock(&rec.lock);
        rec.acked_datasets++;
        pthread_mutex_unlock(&rec.lock);
    }
    return NULL;
}

/* ------------------------------------------------------------ checks */

static void check_database(void)
{
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(srv->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_msg(strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0, "integrity_check: %s",
                  sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    /* No half dataset: blobs match their rows, and every one has all rows sent. */
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT name, row_count, length(inputs), length(targets), "
                                           "n_inputs, n_targets FROM datasets", -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        sqlite3_int64 rows = sqlite3_column_int64(q, 1);
        ck_assert_msg(sqlite3_column_int64(q, 2) == rows * sqlite3_column_int64(q, 4) * 4 &&
                          sqlite3_column_int64(q, 3) == rows * sqlite3_column_int64(q, 5) * 4,
                      "dataset %s: blobs do not match its %lld rows", name, (long long)rows);
        ck_assert_msg(rows == CSV_ROWS, "dataset %s has %lld of %d rows", name, (long long)rows, CSV_ROWS);
    }
    sqlite3_finalize(q);
    sqlite3_close(h);
}

static cJSON *get_json(const char *path, long want)
{
    http_reply r = http_get(srv, path, NULL);
    ck_assert_msg(r.status == want, "GET %s: %ld %s", path, r.status, r.body);
    cJSON *j = want == 200 ? http_reply_json(&r) : NULL;
    http_reply_free(&r);
    return j;
}

/* The version fetches and predicts one row of zeros. */
static void check_version_works(const char *model, long version)
{
    char path[128];
    snprintf(path, sizeof path, "/model/%s/versions/%ld", model, version);
    cJSON *v = get_json(path, 200);
    int width = (int)cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetObjectItem(v, "layers"), 0));
    cJSON_Delete(v);
    ck_assert_int_gt(width, 0);
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"model\":\"%s\",\"version\":%ld,\"inputs\":[", model, version);
    for (int i = 0; i < width; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s0.5", i ? "," : "");
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    http_reply r = http_post(srv, "/predict", body, NULL);
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"outputs\""), "%s does not predict: %ld %s", path,
                  r.status, r.body);
    http_reply_free(&r);
}

/* Every version of every model whose name starts with one of prefixes
 * (NULL: all models) fetches and predicts. */
static void check_listed_versions(const char *suffix)
{
    cJSON *models = get_json("/model", 200);
    cJSON *list = cJSON_IsArray(models) ? models : cJSON_GetObjectItem(models, "models");
    cJSON *m;
    cJSON_ArrayForEach(m, list)
    {
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(m, "name"));
        size_t nl = strlen(name), sl = suffix ? strlen(suffix) : 0;
        if (suffix && (nl < sl || strcmp(name + nl - sl, suffix) != 0))
            continue;
        char path[128];
        snprintf(path, sizeof path, "/model/%s", name);
        cJSON *one = get_json(path, 200);
        cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItem(one, "versions"))
        {
            cJSON *num = cJSON_IsNumber(v) ? v : cJSON_GetObjectItem(v, "version");
            check_version_works(name, (long)cJSON_GetNumberValue(num));
        }
        cJSON_Delete(one);
    }
    cJSON_Delete(models);
}

static void check_acked_versions(size_t from)
{
    for (size_t i = from; i < rec.n_versions; i++) {
        acked_version *av = &rec.versions[i];
        char path[128];
        snprintf(path, sizeof path, "/model/%s/versions/%ld", av->model, av->version);
        http_reply r = http_get(srv, path, NULL);
        ck_assert_msg(r.status == 200, "acknowledged %s is gone: %ld %s", path, r.status, r.body);
        ck_assert_msg(strcmp(r.body, av->body) == 0, "acknowledged %s changed:\nwas %s\nnow %s", path,
                      av->body, r.body);
        http_reply_free(&r);
    }
}

static void check_jobs(void)
{
    for (size_t i = 0; i < rec.n_jobs; i++) {
        char path[64];
        snprintf(path, sizeof path, "/train/%ld", rec.jobs[i]);
        cJSON *j = get_json(path, 200);
        const char *status = cJSON_GetStringValue(cJSON_GetObjectItem(j, "status"));
        const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(j, "error"));
        if (strcmp(status, "failed") == 0) {
            ck_assert_msg(error && strstr(error, "interrupted"), "job %ld failed: %s", rec.jobs[i],
                          error ? error : "(no reason)");
            total_interrupted++;
        } else {
            ck_assert_msg(strcmp(status, "succeeded") == 0, "job %ld is %s after a restart", rec.jobs[i], status);
            total_succeeded++;
            check_version_works(cJSON_GetStringValue(cJSON_GetObjectItem(j, "model")),
                                (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version")));
        }
        cJSON_Delete(j);
    }
}

static void check_datasets_acked(size_t first, size_t acked)
{
    /* Uploads run one after another: the first `acked` of this round's names
     * were acknowledged and must exist whole; the one cut off may or may
     * not exist (checked whole by check_database when it does). */
    for (size_t i = first; i < first + acked; i++) {
        char path[64];
        snprintf(path, sizeof path, "/dataset/%s", rec.datasets[i]);
        cJSON *d = get_json(path, 200);
        ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(d, "rows")), CSV_ROWS);
        cJSON_Delete(d);
    }
}

/* -------------------------------------------------------------- rounds */

static unsigned env_number(const char *name, unsigned def)
{
    const char *v = getenv(name);
    return v && *v ? (unsigned)strtoul(v, NULL, 10) : def;
}

START_TEST(sigkill_at_random_moments)
{
    unsigned seed = env_number("CRASH_SEED", DEFAULT_SEED);
    unsigned rounds = env_number("CRASH_ROUNDS", DEFAULT_ROUNDS);
    unsigned slow = env_number("CK_TIMEOUT_MULTIPLIER", 1);
    slow = slow ? slow : 1;
    fprintf(stderr, "test_crash: seed %u, %u rounds (CRASH_SEED, CRASH_ROUNDS)\n", seed, rounds);
    rng_state = seed;
    srv = server_start((const char *[]){"--workers", "2", "--threads", "1", NULL});
    for (unsigned round = 0; round < rounds; round++) {
        rec.round_versions = rec.n_versions;
        rec.n_jobs = 0;
        size_t first_dataset = rec.n_datasets;
        rec.acked_datasets = 0;
        atomic_store(&rec.stop, false);
        worker_arg args[3];
        pthread_t t[3];
        void *(*fn[3])(void *) = {importer, trainer, uploader};
        for (int i = 0; i < 3; i++) {
            args[i] = (worker_arg){.round = (int)round, .seed = rng_next(&rng_state)};
            ck_assert_int_eq(pthread_create(&t[i], NULL, fn[i], &args[i]), 0);
        }
        /* Mostly within the first few hundred ms; now and then at once. */
        unsigned delay = rng_range(&rng_state, 0, 9) == 0 ? rng_range(&rng_state, 1, 20)
                                                           : rng_range(&rng_state, 30, 400);
        usleep(delay * 1000 * slow);
        kill(srv->pid, SIGKILL);
        int status;
        waitpid(srv->pid, &status, 0);
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "round %u: the server ended before the kill (status %d)", round, status);
        srv->pid = 0;
        atomic_store(&rec.stop, true);
        for (int i = 0; i < 3; i++)
            pthread_join(t[i], NULL);

        server_restart(srv);
        check_database();
        check_acked_versions(rec.round_versions);
        check_jobs();
        check_datasets_acked(first_dataset, rec.acked_datasets);
        char suffix[16];
        snprintf(suffix, sizeof suffix, "%u", round); /* this round's models */
        check_listed_versions(suffix);
        total_acked_versions += rec.n_versions - rec.round_versions;
        total_jobs += rec.n_jobs;
        total_uploads_acked += rec.acked_datasets;
        total_uploads_cut += rec.n_datasets - first_dataset - rec.acked_datasets;
    }
    /* Everything acknowledged in any round is still there, and every version
     * of every model works. */
    check_acked_versions(0);
    check_listed_versions(NULL);
    fprintf(stderr,
            "test_crash: %u kills; %zu versions acknowledged, all intact; %zu jobs (%zu succeeded, "
            "%zu interrupted and failed); %zu uploads acknowledged, %zu cut off\n",
            rounds, total_acked_versions, total_jobs, total_succeeded, total_interrupted,
            total_uploads_acked, total_uploads_cut);
    ck_assert_msg(total_acked_versions > 0 && total_interrupted > 0 && total_uploads_acked > 0 &&
                      total_uploads_cut > 0,
                  "the kills never caught some kind of work in flight: widen the delays");
    for (size_t i = 0; i < rec.n_versions; i++)
        free(rec.versions[i].body);
    server_stop(srv);
    srv = NULL;
}
END_TEST

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 240); /* ~20 s natively, more under the sanitizers */
    tcase_add_test(tc, sigkill_at_random_moments);
    suite_add_tcase(s, tc);
    int status = run_suite(s);
    curl_global_cleanup();
    return status;
}
