/*
 * test_migrations.c — the database schema as the real binary leaves it: a
 * fresh database records every migration; a database left at an older
 * schema is upgraded in place on start, its data intact; a database from a
 * newer build (or not a database at all) makes the server refuse to start
 * with a clear message and a nonzero exit, leaving the file as it was.
 *
 * The database file is read and altered with SQLite's C API while no
 * server runs on it (server_terminate first; the harness keeps the file).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define SEED_TRAIN                                                                          \
    "{\"model\":\"gender\",\"layers\":[2,2,1],\"init\":\"normal\",\"seed\":42,"              \
    "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]}"
#define EMILY_FRANK "{\"model\":\"gender\",\"inputs\":[[-7,-3],[20,2]]}"

/* The tables each migration creates (migrations/NNNN_*.sql). */
static const char *const tables_0001[] = {"models", "versions", "loss_history", "aliases", NULL};
static const char *const tables_0002[] = {"jobs", "datasets", NULL};

/* ------------------------------------------------------------ helpers */

static sqlite3 *open_db(const char *path, bool writable)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, NULL);
    ck_assert_msg(rc == SQLITE_OK, "open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    return db;
}

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
}

/* One integer from a query (which must give one row). */
static long long query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
    ck_assert_msg(sqlite3_step(q) == SQLITE_ROW, "%s: no row", sql);
    long long v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static bool has_table(sqlite3 *db, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'", name);
    return query_int(db, sql) == 1;
}

/* Asserts schema_migrations holds 1..n, each named and dated; returns n. */
static long long check_migrations(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    ck_assert(sqlite3_prepare_v2(db, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version",
                                 -1, &q, NULL) == SQLITE_OK);
    long long n = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        n++;
        ck_assert_int_eq(sqlite3_column_int64(q, 0), n);
        const char *name = (const char *)sqlite3_column_text(q, 1);
        const char *when = (const char *)sqlite3_column_text(q, 2);
        ck_assert_msg(name && *name, "migration %lld has no name", n);
        ck_assert_msg(when && strlen(when) >= 19, "migration %lld applied_at '%s'", n, when ? when : "");
        if (n == 1) ck_assert_str_eq(name, "init");
        if (n == 2) ck_assert_str_eq(name, "jobs_datasets");
    }
    sqlite3_finalize(q);
    ck_assert_int_ge(n, 2);
    return n;
}

static void check_tables(sqlite3 *db)
{
    for (const char *const *t = tables_0001; *t; t++) ck_assert_msg(has_table(db, *t), "no table %s", *t);
    for (const char *const *t = tables_0002; *t; t++) ck_assert_msg(has_table(db, *t), "no table %s", *t);
}

static char *predict(const server *s)
{
    http_reply r = http_post(s, "/predict", EMILY_FRANK, NULL);
    ck_assert_msg(r.status == 200, "predict: %ld %s", r.status, r.body);
    char *body = strdup(r.body);
    http_reply_free(&r);
    return body;
}

static void ready(const server *s)
{
    http_reply r = http_get(s, "/readyz", NULL);
    ck_assert_msg(r.status == 200, "readyz: %ld %s", r.status, r.body);
    http_reply_free(&r);
}

/* Runs the binary on db until it exits (it must refuse to start); returns
 * its output, to free. */
static char *refused(const char *db)
{
    char *out = NULL;
    int status = server_run_once((const char *[]){"--port", "0", "--bind", "127.0.0.1", "--db", db, NULL}, &out);
    ck_assert_msg(status > 0, "the server did not refuse to start (exit %d): %s", status, out);
    ck_assert_msg(!strstr(out, "listening on"), "it listened: %s", out);
    return out;
}

/* ------------------------------------------------------------- tests */

START_TEST(fresh_database_records_migrations)
{
    server *s = server_start(NULL);
    ready(s);
    ck_assert_int_eq(server_terminate(s), 0);
    sqlite3 *db = open_db(s->db, false);
    check_migrations(db);
    check_tables(db);
    /* Foreign keys hold: the registry's tables reference each other. */
    ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM pragma_foreign_key_list('versions')"), 1);
    sqlite3_close(db);
    /* Starting again applies nothing twice. */
    server_restart(s);
    ready(s);
    ck_assert_int_eq(server_terminate(s), 0);
    db = open_db(s->db, false);
    long long n = check_migrations(db);
    ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM schema_migrations"), n);
    sqlite3_close(db);
    server_stop(s);
}
END_TEST

START_TEST(old_database_upgraded_in_place)
{
    server *s = server_start(NULL);
    http_reply r = http_post(s, "/train?wait=true", SEED_TRAIN, NULL);
    ck_assert_msg(r.status == 201, "train: %ld %s", r.status, r.body);
    http_reply_free(&r);
    r = http_put(s, "/model/gender/aliases/production", "{\"version\":1}", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    char *before = predict(s);
    ck_assert_int_eq(server_terminate(s), 0);

    /* Back to schema 1, as a build that had only 0001_init.sql left it:
     * the later migrations' records and tables go; the registry stays. */
    sqlite3 *db = open_db(s->db, true);
    long long newest = check_migrations(db);
    ck_assert_msg(newest == 2, "this test knows migrations 1 and 2; %lld now: teach it the new one", newest);
    exec(db, "BEGIN; DELETE FROM schema_migrations WHERE version >= 2; DROP TABLE jobs; DROP TABLE datasets;"
             " DELETE FROM sqlite_sequence WHERE name = 'jobs'; COMMIT");
    ck_assert(!has_table(db, "jobs"));
    ck_assert_int_eq(query_int(db, "SELECT MAX(version) FROM schema_migrations"), 1);
    sqlite3_close(db);

    /* Start: upgraded in place, the model and its alias as they were. */
    server_restart(s);
    ready(s);
    char *after = predict(s);
    ck_assert_str_eq(after, before);
    free(after);
    r = http_post(s, "/predict", "{\"model\":\"gender\",\"version\":\"production\",\"inputs\":[[-7,-3]]}", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    r = http_get(s, "/model/gender/versions/1/loss?limit=1", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    /* The new tables work: a job is recorded, and the model gets version 2. */
    r = http_post(s, "/train?wait=true", SEED_TRAIN, NULL);
    ck_assert_msg(r.status == 201, "train after the upgrade: %ld %s", r.status, r.body);
    cJSON *job = http_reply_json(&r);
    ck_assert_int_eq((int)cJSON_GetNumberValue(cJSON_GetObjectItem(job, "version")), 2);
    cJSON_Delete(job);
    http_reply_free(&r);
    r = http_get(s, "/train", NULL);
    job = http_reply_json(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(job, "jobs")), 1);
    cJSON_Delete(job);
    http_reply_free(&r);
    ck_assert_int_eq(server_terminate(s), 0);

    db = open_db(s->db, false);
    ck_assert_int_eq(check_migrations(db), newest);
    check_tables(db);
    ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM versions"), 2);
    sqlite3_close(db);
    free(before);
    server_stop(s);
}
END_TEST

START_TEST(future_schema_refused)
{
    server *s = server_start(NULL);
    ck_assert_int_eq(server_terminate(s), 0);
    sqlite3 *db = open_db(s->db, true);
    exec(db, "INSERT INTO schema_migrations (version, name, applied_at) "
             "VALUES (9999, 'from_the_future', '2099-01-01T00:00:00.000Z')");
    long long tables = query_int(db, "SELECT COUNT(*) FROM sqlite_master");
    sqlite3_close(db);

    char *out = refused(s->db);
    ck_assert_msg(strstr(out, "9999"), "the message does not say which version: %s", out);
    ck_assert_msg(strstr(out, "newer"), "the message does not say it is newer: %s", out);
    ck_assert_msg(strstr(out, s->db), "the message does not name the database: %s", out);
    free(out);

    /* The file is as it was. */
    db = open_db(s->db, false);
    ck_assert_int_eq(query_int(db, "SELECT MAX(version) FROM schema_migrations"), 9999);
    ck_assert_int_eq(query_int(db, "SELECT COUNT(*) FROM sqlite_master"), tables);
    sqlite3_close(db);
    server_stop(s);
}
END_TEST

START_TEST(not_a_database_refused)
{
    server *s = server_start(NULL);
    ck_assert_int_eq(server_terminate(s), 0);
    FILE *f = fopen(s->db, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 512; i++) fputs("this is not a database\n", f);
    fclose(f);
    char *out = refused(s->db);
    ck_assert_msg(strstr(out, s->db), "the message does not name the database: %s", out);
    free(out);
    server_stop(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("migrations");
    TCase *tc = tcase_create("schema");
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    suite_add_tcase(s, tc);
    tcase_add_test(tc, fresh_database_records_migrations);
    tcase_add_test(tc, old_database_upgraded_in_place);
    tcase_add_test(tc, future_schema_refused);
    tcase_add_test(tc, not_a_database_refused);

    return run_suite(s);
}
