/*
 * test_storage.c — the database's disk fills up, or a file-size limit is
 * reached, while the server runs: writes answer 503 with Retry-After and a
 * detail saying the database cannot be written, reads go on, nothing half
 * written is left, and once space returns the very next write succeeds (no
 * transaction left open, no statement left broken). After a restart the
 * database passes PRAGMA integrity_check and every version acknowledged
 * before, during and after the fault reads back byte for byte.
 *
 * Two ways to run out of space:
 *  - a 2 MiB tmpfs holding the database, filled by a file (ENOSPC →
 *    SQLITE_FULL); needs mount(2), so root: skipped with a note otherwise;
 *  - RLIMIT_FSIZE lowered on the running server with prlimit(2) (EFBIG →
 *    SQLITE_IOERR_WRITE; the server ignores SIGXFSZ), which needs no
 *    privilege and runs everywhere.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "import_json.h"

static server *srv;

/* Versions acknowledged (201) and their bodies, to compare after restart. */
#define MAX_KEPT 64
static char *kept_body[MAX_KEPT];
static long kept_version[MAX_KEPT];
static int n_kept;

static void forget_kept(void)
{
    for (int i = 0; i < n_kept; i++)
        free(kept_body[i]);
    n_kept = 0;
}

static long version_of(const http_reply *r)
{
    cJSON *j = http_reply_json(r);
    long v = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "version"));
    cJSON_Delete(j);
    return v;
}

/* POST a version of model m; keeps it when acknowledged. Returns the status. */
static long import(const int *sizes, int n, uint64_t seed, http_reply *out)
{
    char *body = import_json(sizes, n, seed);
    ck_assert_ptr_nonnull(body);
    http_reply r = http_post(srv, "/model/m/versions", body, NULL);
    free(body);
    long status = r.status;
    if (status == 201) {
        ck_assert_int_lt(n_kept, MAX_KEPT);
        kept_version[n_kept] = version_of(&r);
        kept_body[n_kept++] = strdup(r.body);
    }
    if (out)
        *out = r;
    else
        http_reply_free(&r);
    return status;
}

static const int SMALL[] = {2, 4, 1};
static const int LARGE[] = {64, 256, 64}; /* 33,088 parameters: a 130 KB blob */

static void expect_unwritable(http_reply *r, const char *what)
{
    ck_assert_msg(r->status == 503, "%s: expected 503, got %ld: %s", what, r->status, r->body);
    ck_assert_msg(http_reply_header(r, "Retry-After") != NULL, "%s: 503 without Retry-After", what);
    ck_assert_msg(strstr(r->body, "cannot be written"), "%s: detail %s", what, r->body);
}

/* Imports large versions until one is refused (the disk may still have
 * room SQLite can reuse at first); that refusal must be the 503. */
static void import_until_unwritable(const char *what)
{
    long status = 0;
    http_reply r = {0};
    for (int i = 0; i < 40 && status != 503; i++) {
        http_reply_free(&r);
        status = import(LARGE, 3, 100 + (uint64_t)i, &r);
        ck_assert_msg(status == 201 || status == 503, "%ld %s", status, r.body);
    }
    expect_unwritable(&r, what);
    http_reply_free(&r);
}

static void upload(const char *name, long want)
{
    char path[128], csv[4096] = "a,b,y\n";
    for (int i = 0; i < 200; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%d,%d\n", i, i * 3, i % 2);
    snprintf(path, sizeof path, "/dataset?name=%s&target=y", name);
    http_reply r = http_request(srv, "POST", path, csv, strlen(csv), (const char *[]){"Content-Type: text/csv", NULL});
    if (want == 503)
        expect_unwritable(&r, "a dataset upload");
    else
        ck_assert_msg(r.status == want, "upload %s: %ld %s", name, r.status, r.body);
    http_reply_free(&r);
}

/* Reads go on while writes fail. */
static void reads_still_work(void)
{
    http_reply r = http_get(srv, "/model/m/versions/1", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"m\",\"version\":1,\"inputs\":[[1,2]]}", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    http_reply_free(&r);
}

static void integrity_ok(const char *db)
{
    sqlite3 *h = NULL;
    ck_assert_int_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    /* No half dataset: every blob has the size its rows and columns say. */
    ck_assert_int_eq(sqlite3_prepare_v2(h, "SELECT count(*) FROM datasets WHERE length(inputs) != "
                                           "row_count * n_inputs * 4 OR length(targets) != row_count * n_targets * 4",
                                        -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    ck_assert_int_eq(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    sqlite3_close(h);
}

/* Restarts and checks every acknowledged version byte for byte. */
static void restart_and_verify(const char *db)
{
    server_restart(srv);
    integrity_ok(db);
    for (int i = 0; i < n_kept; i++) {
        char path[64];
        snprintf(path, sizeof path, "/model/m/versions/%ld", kept_version[i]);
        http_reply r = http_get(srv, path, NULL);
        ck_assert_msg(r.status == 200 && strcmp(r.body, kept_body[i]) == 0,
                      "version %ld changed: %ld %s", kept_version[i], r.status, r.body);
        http_reply_free(&r);
    }
    http_reply r = http_get(srv, "/model/m", NULL); /* and nothing else was stored */
    cJSON *j = http_reply_json(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "versions")), n_kept);
    cJSON_Delete(j);
    http_reply_free(&r);
}

/* --------------------------------------------------------------- tmpfs */

/* The mount point, made before the test's fork so that the runner's own
 * teardown unmounts it even when the test fails. */
static char dir[] = "/tmp/scratchnet-tmpfs-XXXXXX";

static void make_mount_point(void) { ck_assert_ptr_nonnull(mkdtemp(dir)); }
static void unmount(void)
{
    umount2(dir, MNT_DETACH); /* fails harmlessly when nothing is mounted */
    rmdir(dir);
}

START_TEST(full_tmpfs_answers_503_and_recovers)
{
    if (mount("tmpfs", dir, "tmpfs", 0, "size=2m") != 0) {
        fprintf(stderr, "test_storage: cannot mount a tmpfs (%s): the tmpfs case is skipped, "
                        "the file-size-limit case still runs\n", strerror(errno));
        return;
    }
    char db[128], filler[128];
    snprintf(db, sizeof db, "%s/full.db", dir);
    snprintf(filler, sizeof filler, "%s/filler", dir);
    srv = server_start((const char *[]){"--db", db, NULL});
    ck_assert_int_eq(import(SMALL, 3, 1, NULL), 201);
    upload("before", 201);

    /* Fill the file system to the last block. */
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    static char block[4096];
    while (write(fd, block, sizeof block) > 0)
        ;
    while (write(fd, block, 1) > 0)
        ;
    ck_assert_int_eq(errno, ENOSPC);
    close(fd);

    /* The WAL may still have room it can reuse: write until it has none. */
    import_until_unwritable("an import on a full disk");
    upload("during", 503);
    reads_still_work();
    http_reply r = http_get(srv, "/readyz", NULL);
    http_reply_free(&r);

    /* Space returns: the next write succeeds. */
    ck_assert_int_eq(unlink(filler), 0);
    ck_assert_int_eq(import(LARGE, 3, 999, NULL), 201);
    upload("during", 201); /* the failed upload left nothing behind */
    ck_assert_int_eq(import(SMALL, 3, 2, NULL), 201);

    restart_and_verify(db);
    server_stop(srv);
    srv = NULL;
    forget_kept();
    ck_assert_msg(umount2(dir, MNT_DETACH) == 0, "umount: %s", strerror(errno));
}
END_TEST

/* ------------------------------------------------------- RLIMIT_FSIZE */

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

START_TEST(file_size_limit_answers_503_and_recovers)
{
    srv = server_start(NULL);
    ck_assert_int_eq(import(SMALL, 3, 1, NULL), 201);
    upload("before", 201);
    char wal[340];
    snprintf(wal, sizeof wal, "%s-wal", srv->db);
    off_t biggest = file_size(srv->db);
    if (file_size(wal) > biggest)
        biggest = file_size(wal);

    /* No file of the server may grow past its size now (+ one page). */
    struct rlimit old, lim;
    ck_assert_int_eq(prlimit(srv->pid, RLIMIT_FSIZE, NULL, &old), 0);
    lim = (struct rlimit){.rlim_cur = (rlim_t)biggest + 4096, .rlim_max = old.rlim_max};
    ck_assert_msg(prlimit(srv->pid, RLIMIT_FSIZE, &lim, NULL) == 0, "prlimit: %s", strerror(errno));

    import_until_unwritable("an import past the file-size limit");
    /* Several failures in a row leave nothing stuck. */
    http_reply r = {0};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(import(LARGE, 3, 200 + (uint64_t)i, &r), 503);
        http_reply_free(&r);
    }
    reads_still_work();

    ck_assert_int_eq(prlimit(srv->pid, RLIMIT_FSIZE, &old, NULL), 0);
    ck_assert_int_eq(import(LARGE, 3, 999, NULL), 201);
    upload("after", 201);
    ck_assert_int_eq(import(SMALL, 3, 2, NULL), 201);

    char db[300];
    snprintf(db, sizeof db, "%s", srv->db);
    restart_and_verify(db);
    server_stop(srv);
    srv = NULL;
    forget_kept();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("storage");
    TCase *tc = tcase_create("tmpfs");
    tcase_add_unchecked_fixture(tc, make_mount_point, unmount);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    tcase_add_test(tc, full_tmpfs_answers_503_and_recovers);
    suite_add_tcase(s, tc);
    tc = tcase_create("file size limit");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, file_size_limit_answers_503_and_recovers);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
