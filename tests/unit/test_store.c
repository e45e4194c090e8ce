/*
 * test_store.c — Check suite of the store (server/store.h) on real temporary
 * SQLite files: migrations and upgrades, version numbering and atomicity,
 * references and aliases, cascading deletes, the job lifecycle, datasets,
 * failure statuses and calls from several threads.
 *
 * Tests go through store.h only; a few peek at the file with sqlite3 itself
 * to count rows the API cannot show (loss rows of a deleted version) or to
 * plant a schema from the future.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedded.h"
#include "store.h"

static char err[256];
static char dir[64];
static char path[128];

#define OK(call)                                                                            \
    do {                                                                                    \
        err[0] = '\0';                                                                      \
        store_status st_ = (call);                                                          \
        ck_assert_msg(st_ == STORE_OK, "%s: %s: %s", #call, store_status_name(st_), err);  \
    } while (0)

#define IS(want, call)                                                                      \
    do {                                                                                    \
        err[0] = '\0';                                                                      \
        store_status st_ = (call);                                                          \
        ck_assert_msg(st_ == (want), "%s: %s, expected %s (%s)", #call,                     \
                      store_status_name(st_), store_status_name(want), err);                \
        ck_assert_msg((want) == STORE_OK || err[0], "%s gave no message", #call);           \
    } while (0)

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/s.db", dir);
}

static void teardown(void)
{
    char p[160];
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

static store *open_store(void)
{
    store *st = NULL;
    OK(store_open_sqlite(path, &st, err, sizeof err));
    ck_assert_ptr_nonnull(st);
    return st;
}

/* Number of migrations this build carries (the newest schema version). */
static int64_t migrations_count(void)
{
    int64_t n = 0;
    for (size_t i = 0; i < embedded_count; i++)
        if (strncmp(embedded_files[i].path, "migrations/", 11) == 0)
            n++;
    return n;
}

/* The first integer column of sql run on the file with a connection of our own. */
static int64_t raw_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *sql)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
}

static const unsigned char params[] = {'S', 'N', 0, 1, 2, 3, 0xff, 0};

/* A version with epochs loss-history rows (epochs 1..n, loss 1/epoch). */
static store_version_new version_new(const store_loss_point *history, size_t n)
{
    return (store_version_new){
        .spec_json = "{\"layers\":[2,2,1],\"seed\":42}",
        .params = params,
        .params_len = sizeof params,
        .epochs_run = (int64_t)n,
        .duration_ms = 12,
        .rows = 4,
        .loss = n ? history[n - 1].loss : NAN,
        .val_loss = NAN,
        .history = history,
        .history_len = n,
    };
}

static store_loss_point history10[10];

static int64_t put_version(store *st, const char *model)
{
    for (int i = 0; i < 10; i++)
        history10[i] = (store_loss_point){.epoch = i + 1, .loss = 1.0 / (i + 1), .val_loss = NAN};
    store_version_new v = version_new(history10, 10);
    int64_t number = 0;
    OK(store_version_create(st, model, &v, &number, err, sizeof err));
    return number;
}

/* ---- migrations ---- */

START_TEST(test_fresh_database_migrates)
{
    store *st = open_store();
    OK(store_ready(st, err, sizeof err));
    int64_t bytes = 0;
    OK(store_size_bytes(st, &bytes, err, sizeof err));
    ck_assert_int_gt(bytes, 0);
    store_close(st);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations"), migrations_count());
    ck_assert_int_eq(raw_int("SELECT MAX(version) FROM schema_migrations"), migrations_count());
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations WHERE applied_at "
                             "GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*.[0-9][0-9][0-9]Z'"),
                     migrations_count());
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations WHERE version = 1 "
                             "AND name = 'init'"), 1);
    /* WAL is a property of the file: a new connection sees it. */
    ck_assert_int_eq(raw_int("SELECT journal_mode = 'wal' FROM pragma_journal_mode()"), 1);
}
END_TEST

START_TEST(test_reopen_keeps_data_and_is_a_no_op)
{
    store *st = open_store();
    ck_assert_int_eq(put_version(st, "keep"), 1);
    store_close(st);
    int64_t applied = raw_int("SELECT COUNT(*) FROM schema_migrations");
    raw_exec("UPDATE schema_migrations SET applied_at = 'marker'");

    st = open_store();
    OK(store_ready(st, err, sizeof err));
    store_version *v = NULL;
    OK(store_version_get(st, "keep", 1, &v, err, sizeof err));
    ck_assert_str_eq(v->spec_json, "{\"layers\":[2,2,1],\"seed\":42}");
    store_version_free(v);
    ck_assert_int_eq(put_version(st, "keep"), 2);
    store_close(st);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations"), applied);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations WHERE applied_at = 'marker'"),
                     applied);
}
END_TEST

/* A database left at each older schema version upgrades in place, keeping
 * what it holds; covers every migration added later without change. */
START_TEST(test_upgrade_from_each_older_schema)
{
    int64_t newest = migrations_count();
    ck_assert_int_ge(newest, 1);
    for (int64_t from = 1; from <= newest; from++) {
        teardown();
        setup();
        store *st = NULL;
        OK(store_open_sqlite_upto(path, from, &st, err, sizeof err));
        if (from < newest)
            IS(STORE_INVALID, store_ready(st, err, sizeof err));
        ck_assert_int_eq(put_version(st, "old"), 1); /* 0001 holds the registry */
        store_close(st);
        ck_assert_int_eq(raw_int("SELECT MAX(version) FROM schema_migrations"), from);

        st = open_store();
        OK(store_ready(st, err, sizeof err));
        store_model *m = NULL;
        OK(store_model_get(st, "old", &m, err, sizeof err));
        ck_assert_int_eq(m->n_versions, 1);
        store_model_free(m);
        int64_t job;
        OK(store_job_create(st, "old", "{}", 5, &job, err, sizeof err));
        store_close(st);
        ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM schema_migrations"), newest);
    }
}
END_TEST

START_TEST(test_future_schema_is_refused)
{
    store_close(open_store());
    raw_exec("INSERT INTO schema_migrations (version, name, applied_at) "
             "VALUES (9999, 'from_the_future', '2030-01-01T00:00:00.000Z')");
    store *st = (store *)&st; /* must be reset to NULL */
    IS(STORE_INVALID, store_open_sqlite(path, &st, err, sizeof err));
    ck_assert_ptr_null(st);
    char want[128];
    snprintf(want, sizeof want,
             "database schema version 9999 is newer than this build supports (%lld)",
             (long long)migrations_count());
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_unopenable_path)
{
    store *st = NULL;
    IS(STORE_IO, store_open_sqlite("/nonexistent-dir/x/s.db", &st, err, sizeof err));
    ck_assert_ptr_null(st);
}
END_TEST

/* ---- versions ---- */

START_TEST(test_versions_are_numbered_and_never_reused)
{
    store *st = open_store();
    ck_assert_int_eq(put_version(st, "m"), 1);
    ck_assert_int_eq(put_version(st, "m"), 2);
    ck_assert_int_eq(put_version(st, "m"), 3);
    ck_assert_int_eq(put_version(st, "other"), 1);
    OK(store_version_delete(st, "m", 3, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_delete(st, "m", 3, err, sizeof err));
    ck_assert_int_eq(put_version(st, "m"), 4);
    OK(store_version_delete(st, "m", 2, err, sizeof err));
    OK(store_version_delete(st, "m", 4, err, sizeof err));
    ck_assert_int_eq(put_version(st, "m"), 5);
    store_close(st);

    st = open_store(); /* the counter survives a restart */
    ck_assert_int_eq(put_version(st, "m"), 6);
    store_model *m = NULL;
    OK(store_model_get(st, "m", &m, err, sizeof err));
    ck_assert_str_eq(m->info.name, "m");
    ck_assert_int_eq(m->info.latest_version, 6);
    ck_assert_int_eq(m->info.version_count, 3);
    ck_assert_int_eq(m->n_versions, 3);
    ck_assert_int_eq(m->versions[0].number, 1);
    ck_assert_int_eq(m->versions[1].number, 5);
    ck_assert_int_eq(m->versions[2].number, 6);
    ck_assert_int_eq(m->versions[2].epochs_run, 10);
    ck_assert_int_eq(strlen(m->versions[2].created_at), STORE_TIME_SIZE - 1);
    store_model_free(m);

    store_model_info *list = NULL;
    size_t n = 0;
    OK(store_model_list(st, &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0].name, "m");
    ck_assert_int_eq(list[0].latest_version, 6);
    ck_assert_str_eq(list[1].name, "other");
    ck_assert_int_eq(list[1].version_count, 1);
    store_model_infos_free(list, n);
    store_close(st);
}
END_TEST

START_TEST(test_version_round_trip)
{
    store *st = open_store();
    store_loss_point h[3] = {{.epoch = 1, .loss = 0.5, .val_loss = 0.6},
                             {.epoch = 2, .loss = 0.25, .val_loss = NAN},
                             {.epoch = 3, .loss = 0.125, .val_loss = 0.2}};
    store_version_new nv = version_new(h, 3);
    nv.val_loss = 0.2;
    int64_t number = 0;
    OK(store_version_create(st, "rt", &nv, &number, err, sizeof err));
    ck_assert_int_eq(number, 1);

    store_version *v = NULL;
    OK(store_version_get(st, "rt", 1, &v, err, sizeof err));
    ck_assert_str_eq(v->model, "rt");
    ck_assert_str_eq(v->spec_json, nv.spec_json);
    ck_assert_uint_eq(v->params_len, sizeof params);
    ck_assert_mem_eq(v->params, params, sizeof params);
    ck_assert_int_eq(v->summary.number, 1);
    ck_assert_int_eq(v->summary.epochs_run, 3);
    ck_assert_double_eq(v->summary.loss, 0.125);
    ck_assert_double_eq(v->summary.val_loss, 0.2);
    ck_assert_int_eq(v->summary.duration_ms, 12);
    ck_assert_int_eq(v->summary.rows, 4);
    ck_assert_int_eq(v->summary.created_at[10], 'T');
    ck_assert_int_eq(v->summary.created_at[23], 'Z');
    store_version_free(v);

    store_loss_point *p = NULL;
    size_t n = 0;
    int64_t total = 0;
    OK(store_loss_history(st, "rt", 1, 0, -1, &p, &n, &total, err, sizeof err));
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(total, 3);
    ck_assert_int_eq(p[1].epoch, 2);
    ck_assert_double_eq(p[1].loss, 0.25);
    ck_assert(isnan(p[1].val_loss));
    ck_assert_double_eq(p[2].val_loss, 0.2);
    store_loss_free(p);

    IS(STORE_NOT_FOUND, store_version_get(st, "rt", 2, &v, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_get(st, "nope", 1, &v, err, sizeof err));
    IS(STORE_INVALID, store_version_get(st, "bad name", 1, &v, err, sizeof err));
    store_close(st);
}
END_TEST

START_TEST(test_loss_history_pages)
{
    store *st = open_store();
    put_version(st, "p");
    store_loss_point *p = NULL;
    size_t n = 0;
    int64_t total = 0;
    OK(store_loss_history(st, "p", 1, 3, 4, &p, &n, &total, err, sizeof err));
    ck_assert_int_eq(total, 10);
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(p[0].epoch, 4);
    ck_assert_int_eq(p[3].epoch, 7);
    store_loss_free(p);
    OK(store_loss_history(st, "p", 1, 8, 100, &p, &n, &total, err, sizeof err));
    ck_assert_int_eq(n, 2);
    store_loss_free(p);
    OK(store_loss_history(st, "p", 1, 50, -1, &p, &n, &total, err, sizeof err));
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(total, 10);
    store_loss_free(p);
    IS(STORE_INVALID, store_loss_history(st, "p", 1, -1, 5, &p, &n, &total, err, sizeof err));
    IS(STORE_NOT_FOUND, store_loss_history(st, "p", 2, 0, 5, &p, &n, &total, err, sizeof err));
    store_close(st);
}
END_TEST

/* A loss-history row that the database refuses (a repeated epoch) undoes
 * the whole version: no model, no number taken, no rows. */
START_TEST(test_version_create_is_atomic)
{
    store *st = open_store();
    store_loss_point dup[3] = {{.epoch = 1, .loss = 0.5, .val_loss = NAN},
                               {.epoch = 2, .loss = 0.4, .val_loss = NAN},
                               {.epoch = 2, .loss = 0.3, .val_loss = NAN}};
    store_version_new bad = version_new(dup, 3);
    int64_t number = -1;

    IS(STORE_INVALID, store_version_create(st, "fresh", &bad, &number, err, sizeof err));
    ck_assert_int_eq(number, -1);
    ck_assert_ptr_nonnull(strstr(err, "epoch 2"));
    store_model_info *list = NULL;
    size_t n = 9;
    OK(store_model_list(st, &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 0);
    store_model_infos_free(list, n);
    IS(STORE_NOT_FOUND, store_version_resolve(st, "fresh", NULL, &number, err, sizeof err));

    ck_assert_int_eq(put_version(st, "old"), 1);
    IS(STORE_INVALID, store_version_create(st, "old", &bad, &number, err, sizeof err));
    ck_assert_int_eq(put_version(st, "old"), 2); /* number 2 was not used up */
    store_close(st);

    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM versions"), 2);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM loss_history"), 20);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM models"), 1);
}
END_TEST

START_TEST(test_version_create_refuses_bad_input)
{
    store *st = open_store();
    store_version_new v = version_new(NULL, 0);
    int64_t number;
    IS(STORE_INVALID, store_version_create(st, "-leading-dash", &v, &number, err, sizeof err));
    char longname[STORE_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    IS(STORE_INVALID, store_version_create(st, longname, &v, &number, err, sizeof err));
    longname[STORE_NAME_MAX] = '\0';
    OK(store_version_create(st, longname, &v, &number, err, sizeof err)); /* 64 is fine */
    v.params_len = 0;
    IS(STORE_INVALID, store_version_create(st, "m", &v, &number, err, sizeof err));
    v = version_new(NULL, 0);
    v.history_len = 2;
    IS(STORE_INVALID, store_version_create(st, "m", &v, &number, err, sizeof err));
    store_loss_point neg = {.epoch = -1, .loss = 1, .val_loss = NAN};
    v = version_new(&neg, 1);
    IS(STORE_INVALID, store_version_create(st, "m", &v, &number, err, sizeof err));
    store_close(st);
}
END_TEST

/* ---- references and aliases ---- */

START_TEST(test_resolve_references)
{
    store *st = open_store();
    put_version(st, "r");
    put_version(st, "r");
    put_version(st, "r");
    int64_t v = 0;
    OK(store_version_resolve(st, "r", "2", &v, err, sizeof err));
    ck_assert_int_eq(v, 2);
    OK(store_version_resolve(st, "r", NULL, &v, err, sizeof err));
    ck_assert_int_eq(v, 3);
    OK(store_version_resolve(st, "r", "latest", &v, err, sizeof err));
    ck_assert_int_eq(v, 3);
    OK(store_alias_set(st, "r", "production", 1, err, sizeof err));
    OK(store_version_resolve(st, "r", "production", &v, err, sizeof err));
    ck_assert_int_eq(v, 1);

    IS(STORE_NOT_FOUND, store_version_resolve(st, "r", "4", &v, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_resolve(st, "r", "0", &v, err, sizeof err));
    IS(STORE_NOT_FOUND,
       store_version_resolve(st, "r", "99999999999999999999999", &v, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_resolve(st, "r", "staging", &v, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_resolve(st, "nope", NULL, &v, err, sizeof err));
    ck_assert_str_eq(err, "model \"nope\" not found");

    OK(store_version_delete(st, "r", 3, err, sizeof err));
    OK(store_version_resolve(st, "r", "latest", &v, err, sizeof err));
    ck_assert_int_eq(v, 2);
    OK(store_version_delete(st, "r", 2, err, sizeof err));
    OK(store_version_delete(st, "r", 1, err, sizeof err));
    IS(STORE_NOT_FOUND, store_version_resolve(st, "r", NULL, &v, err, sizeof err));
    ck_assert_str_eq(err, "model \"r\" has no versions");
    store_close(st);
}
END_TEST

START_TEST(test_aliases)
{
    store *st = open_store();
    put_version(st, "a");
    put_version(st, "a");
    OK(store_alias_set(st, "a", "production", 1, err, sizeof err));
    OK(store_alias_set(st, "a", "canary", 2, err, sizeof err));
    OK(store_alias_set(st, "a", "production", 2, err, sizeof err)); /* moves */

    store_alias one;
    OK(store_alias_get(st, "a", "production", &one, err, sizeof err));
    ck_assert_str_eq(one.alias, "production");
    ck_assert_int_eq(one.version, 2);
    ck_assert_int_eq(strlen(one.updated_at), STORE_TIME_SIZE - 1);

    store_alias *list = NULL;
    size_t n = 0;
    OK(store_alias_list(st, "a", &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0].alias, "canary");
    ck_assert_str_eq(list[1].alias, "production");
    store_aliases_free(list, n);

    IS(STORE_NOT_FOUND, store_alias_set(st, "a", "x", 3, err, sizeof err));
    IS(STORE_NOT_FOUND, store_alias_set(st, "nope", "x", 1, err, sizeof err));
    IS(STORE_INVALID, store_alias_set(st, "a", "latest", 1, err, sizeof err));
    IS(STORE_INVALID, store_alias_set(st, "a", "2024", 1, err, sizeof err));
    IS(STORE_INVALID, store_alias_set(st, "a", "no spaces", 1, err, sizeof err));
    IS(STORE_NOT_FOUND, store_alias_get(st, "a", "x", &one, err, sizeof err));

    OK(store_alias_delete(st, "a", "canary", err, sizeof err));
    IS(STORE_NOT_FOUND, store_alias_delete(st, "a", "canary", err, sizeof err));
    OK(store_alias_list(st, "a", &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 1);
    store_aliases_free(list, n);

    /* An alias goes with the version it names. */
    OK(store_version_delete(st, "a", 2, err, sizeof err));
    OK(store_alias_list(st, "a", &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 0);
    store_aliases_free(list, n);
    int64_t v;
    IS(STORE_NOT_FOUND, store_version_resolve(st, "a", "production", &v, err, sizeof err));
    store_close(st);
}
END_TEST

START_TEST(test_cascade_deletes)
{
    store *st = open_store();
    put_version(st, "c");
    put_version(st, "c");
    put_version(st, "keep");
    OK(store_alias_set(st, "c", "prod", 2, err, sizeof err));
    OK(store_version_delete(st, "c", 1, err, sizeof err));
    store_close(st);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM loss_history"), 20);

    st = open_store();
    OK(store_model_delete(st, "c", err, sizeof err));
    IS(STORE_NOT_FOUND, store_model_delete(st, "c", err, sizeof err));
    IS(STORE_NOT_FOUND, store_model_get(st, "c", &(store_model *){NULL}, err, sizeof err));
    store_close(st);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM versions"), 1);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM loss_history"), 10);
    ck_assert_int_eq(raw_int("SELECT COUNT(*) FROM aliases"), 0);

    /* A recreated model starts its numbering afresh. */
    st = open_store();
    ck_assert_int_eq(put_version(st, "c"), 1);
    store_close(st);
}
END_TEST

/* ---- jobs ---- */

START_TEST(test_job_lifecycle)
{
    store *st = open_store();
    int64_t id = 0;
    OK(store_job_create(st, "j", "{\"model\":\"j\"}", 100, &id, err, sizeof err));
    ck_assert_int_eq(id, 1);
    store_job *job = NULL;
    OK(store_job_get(st, id, &job, err, sizeof err));
    ck_assert_int_eq(job->status, STORE_JOB_QUEUED);
    ck_assert_str_eq(job->model, "j");
    ck_assert_str_eq(job->request_json, "{\"model\":\"j\"}");
    ck_assert_int_eq(job->epochs, 100);
    ck_assert_str_eq(job->started_at, "");
    ck_assert_ptr_null(job->error);
    ck_assert(isnan(job->loss));
    ck_assert_int_eq(job->duration_ms, -1);
    store_job_free(job);

    IS(STORE_CONFLICT, store_job_progress(st, id, 1, 0.5, NAN, err, sizeof err));
    OK(store_job_start(st, id, err, sizeof err));
    IS(STORE_CONFLICT, store_job_start(st, id, err, sizeof err));
    OK(store_job_progress(st, id, 7, 0.25, 0.3, err, sizeof err));
    OK(store_job_get(st, id, &job, err, sizeof err));
    ck_assert_int_eq(job->status, STORE_JOB_RUNNING);
    ck_assert_int_eq(job->epoch, 7);
    ck_assert_double_eq(job->loss, 0.25);
    ck_assert_double_eq(job->val_loss, 0.3);
    ck_assert_int_eq(strlen(job->started_at), STORE_TIME_SIZE - 1);
    store_job_free(job);

    IS(STORE_INVALID, store_job_finish(st, id, STORE_JOB_RUNNING, 0, NULL, err, sizeof err));
    IS(STORE_INVALID, store_job_finish(st, id, STORE_JOB_FAILED, 3, "x", err, sizeof err));
    OK(store_job_finish(st, id, STORE_JOB_FAILED, 0, "the loss became NaN at epoch 8", err,
                        sizeof err));
    IS(STORE_CONFLICT, store_job_finish(st, id, STORE_JOB_CANCELLED, 0, NULL, err, sizeof err));
    OK(store_job_get(st, id, &job, err, sizeof err));
    ck_assert_int_eq(job->status, STORE_JOB_FAILED);
    ck_assert_str_eq(job->error, "the loss became NaN at epoch 8");
    ck_assert_int_eq(strlen(job->finished_at), STORE_TIME_SIZE - 1);
    ck_assert_int_ge(job->duration_ms, 0);
    ck_assert_int_eq(job->version, 0);
    store_job_free(job);

    /* Cancelled while queued: it can no longer start. */
    int64_t id2;
    OK(store_job_create(st, "j", "{}", 10, &id2, err, sizeof err));
    OK(store_job_finish(st, id2, STORE_JOB_CANCELLED, 0, NULL, err, sizeof err));
    IS(STORE_CONFLICT, store_job_start(st, id2, err, sizeof err));

    IS(STORE_NOT_FOUND, store_job_get(st, 999, &job, err, sizeof err));
    IS(STORE_NOT_FOUND, store_job_start(st, 999, err, sizeof err));
    IS(STORE_INVALID, store_job_create(st, "bad/name", "{}", 1, &id, err, sizeof err));
    store_close(st);
}
END_TEST

/* A version made by a running job marks it succeeded in the same
 * transaction; a job cancelled meanwhile keeps the version out. */
START_TEST(test_version_commit_finishes_job)
{
    store *st = open_store();
    int64_t id, number = 0;
    OK(store_job_create(st, "jv", "{}", 10, &id, err, sizeof err));
    OK(store_job_start(st, id, err, sizeof err));
    store_loss_point h[1] = {{.epoch = 1, .loss = 0.1, .val_loss = NAN}};
    store_version_new v = version_new(h, 1);
    v.job_id = id;
    OK(store_version_create(st, "jv", &v, &number, err, sizeof err));
    store_job *job = NULL;
    OK(store_job_get(st, id, &job, err, sizeof err));
    ck_assert_int_eq(job->status, STORE_JOB_SUCCEEDED);
    ck_assert_int_eq(job->version, number);
    ck_assert_int_eq(job->epoch, 1);
    store_job_free(job);

    OK(store_job_create(st, "jv", "{}", 10, &id, err, sizeof err));
    OK(store_job_start(st, id, err, sizeof err));
    OK(store_job_finish(st, id, STORE_JOB_CANCELLED, 0, NULL, err, sizeof err));
    v.job_id = id;
    IS(STORE_CONFLICT, store_version_create(st, "jv", &v, &number, err, sizeof err));
    OK(store_version_resolve(st, "jv", NULL, &number, err, sizeof err));
    ck_assert_int_eq(number, 1);
    ck_assert_int_eq(put_version(st, "jv"), 2);
    store_close(st);
}
END_TEST

START_TEST(test_job_list_and_interrupted_jobs)
{
    store *st = open_store();
    int64_t ids[4];
    for (int i = 0; i < 4; i++)
        OK(store_job_create(st, "l", "{}", 5, &ids[i], err, sizeof err));
    OK(store_job_start(st, ids[1], err, sizeof err));
    OK(store_job_start(st, ids[2], err, sizeof err));
    OK(store_job_finish(st, ids[2], STORE_JOB_SUCCEEDED, 0, NULL, err, sizeof err));

    store_job *jobs = NULL;
    size_t n = 0;
    OK(store_job_list(st, -1, -1, &jobs, &n, err, sizeof err));
    ck_assert_int_eq(n, 4);
    ck_assert_int_eq(jobs[0].id, ids[3]); /* newest first */
    ck_assert_int_eq(jobs[3].id, ids[0]);
    store_jobs_free(jobs, n);
    OK(store_job_list(st, STORE_JOB_QUEUED, 1, &jobs, &n, err, sizeof err));
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(jobs[0].id, ids[3]);
    store_jobs_free(jobs, n);
    IS(STORE_INVALID, store_job_list(st, 42, -1, &jobs, &n, err, sizeof err));
    store_close(st); /* as if the server stopped here */

    st = open_store();
    int64_t count = 0;
    OK(store_jobs_interrupt(st, "interrupted by a server restart", &count, err, sizeof err));
    ck_assert_int_eq(count, 3);
    OK(store_job_list(st, STORE_JOB_FAILED, -1, &jobs, &n, err, sizeof err));
    ck_assert_int_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(jobs[i].error, "interrupted by a server restart");
        ck_assert_int_eq(strlen(jobs[i].finished_at), STORE_TIME_SIZE - 1);
    }
    store_jobs_free(jobs, n);
    OK(store_job_list(st, STORE_JOB_SUCCEEDED, -1, &jobs, &n, err, sizeof err));
    ck_assert_int_eq(n, 1);
    store_jobs_free(jobs, n);
    OK(store_jobs_interrupt(st, "again", &count, err, sizeof err));
    ck_assert_int_eq(count, 0);
    store_close(st);
}
END_TEST

/* ---- datasets ---- */

START_TEST(test_datasets)
{
    store *st = open_store();
    const float inputs[6] = {-2, -1, 25, 6, 17, 4}, targets[3] = {1, 0, 0};
    store_dataset_new d = {
        .name = "gender",
        .rows = 3,
        .n_inputs = 2,
        .n_targets = 1,
        .columns_json = "[\"weight\",\"height\"]",
        .targets_json = "[\"gender\"]",
        .labels_json = "[\"F\",\"M\"]",
        .inputs = inputs,
        .targets = targets,
    };
    char created[STORE_TIME_SIZE] = "";
    OK(store_dataset_create(st, &d, created, err, sizeof err));
    ck_assert_int_eq(strlen(created), STORE_TIME_SIZE - 1);
    IS(STORE_CONFLICT, store_dataset_create(st, &d, NULL, err, sizeof err));
    d.name = "plain", d.labels_json = NULL;
    OK(store_dataset_create(st, &d, NULL, err, sizeof err));
    d.name = "empty", d.rows = 0;
    IS(STORE_INVALID, store_dataset_create(st, &d, NULL, err, sizeof err));
    d.rows = INT64_MAX / 2;
    IS(STORE_INVALID, store_dataset_create(st, &d, NULL, err, sizeof err));

    store_dataset *got = NULL;
    OK(store_dataset_get(st, "gender", false, &got, err, sizeof err));
    ck_assert_int_eq(got->rows, 3);
    ck_assert_int_eq(got->n_inputs, 2);
    ck_assert_str_eq(got->columns_json, "[\"weight\",\"height\"]");
    ck_assert_str_eq(got->targets_json, "[\"gender\"]");
    ck_assert_str_eq(got->labels_json, "[\"F\",\"M\"]");
    ck_assert_str_eq(got->created_at, created);
    ck_assert_ptr_null(got->inputs);
    store_dataset_free(got);
    OK(store_dataset_get(st, "gender", true, &got, err, sizeof err));
    ck_assert_mem_eq(got->inputs, inputs, sizeof inputs);
    ck_assert_mem_eq(got->targets, targets, sizeof targets);
    store_dataset_free(got);

    store_dataset *list = NULL;
    size_t n = 0;
    OK(store_dataset_list(st, &list, &n, err, sizeof err));
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(list[0].name, "gender");
    ck_assert_str_eq(list[1].name, "plain");
    ck_assert_ptr_null(list[1].labels_json);
    store_datasets_free(list, n);

    OK(store_dataset_delete(st, "gender", err, sizeof err));
    IS(STORE_NOT_FOUND, store_dataset_delete(st, "gender", err, sizeof err));
    IS(STORE_NOT_FOUND, store_dataset_get(st, "gender", true, &got, err, sizeof err));
    IS(STORE_INVALID, store_dataset_get(st, "", false, &got, err, sizeof err));
    store_close(st);
}
END_TEST

/* ---- failures and threads ---- */

/* A database the store cannot write answers STORE_FULL (the server's 503),
 * not a generic failure; reads still work. */
START_TEST(test_read_only_database_is_full)
{
    store *st = open_store();
    put_version(st, "ro");
    store_close(st);
    char uri[200];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", path);
    st = NULL;
    OK(store_open_sqlite(uri, &st, err, sizeof err));
    int64_t v = 0;
    OK(store_version_resolve(st, "ro", NULL, &v, err, sizeof err));
    ck_assert_int_eq(v, 1);
    store_version_new nv = version_new(NULL, 0);
    IS(STORE_FULL, store_version_create(st, "ro", &nv, &v, err, sizeof err));
    IS(STORE_FULL, store_job_create(st, "ro", "{}", 1, &v, err, sizeof err));
    store_close(st);
}
END_TEST

enum { THREADS = 4, PER_THREAD = 15 };

static void *worker(void *arg)
{
    store *st = arg;
    char e[256];
    store_version_new v = version_new(history10, 10);
    for (int i = 0; i < PER_THREAD; i++) {
        int64_t number, id;
        store_job *job = NULL;
        if (store_version_create(st, "shared", &v, &number, e, sizeof e) ||
            store_job_create(st, "shared", "{}", 1, &id, e, sizeof e) ||
            store_job_start(st, id, e, sizeof e) ||
            store_job_progress(st, id, 1, 0.5, NAN, e, sizeof e) ||
            store_job_get(st, id, &job, e, sizeof e))
            return strdup(e);
        store_job_free(job);
    }
    return NULL;
}

START_TEST(test_threads_share_one_store)
{
    store *st = open_store();
    put_version(st, "seed"); /* fills history10 */
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, worker, st), 0);
    for (int i = 0; i < THREADS; i++) {
        void *msg;
        pthread_join(t[i], &msg);
        ck_assert_msg(msg == NULL, "thread %d: %s", i, (char *)msg);
    }
    store_model *m = NULL;
    OK(store_model_get(st, "shared", &m, err, sizeof err));
    ck_assert_int_eq(m->n_versions, THREADS * PER_THREAD);
    for (size_t i = 0; i < m->n_versions; i++)
        ck_assert_int_eq(m->versions[i].number, (int64_t)i + 1);
    store_model_free(m);
    store_close(st);
}
END_TEST

START_TEST(test_names_and_statuses)
{
    ck_assert(store_name_valid("a"));
    ck_assert(store_name_valid("Model_1.2-b"));
    ck_assert(!store_name_valid(""));
    ck_assert(!store_name_valid(NULL));
    ck_assert(!store_name_valid(".hidden"));
    ck_assert(!store_name_valid("a/b"));
    ck_assert_str_eq(store_status_name(STORE_FULL), "disk full or read-only");
    ck_assert_str_eq(store_status_name((store_status)99), "unknown");
    for (int i = 0; i < STORE_JOB_STATUS_COUNT; i++)
        ck_assert_int_eq(store_job_status_from_name(store_job_status_name(i)), i);
    ck_assert_int_eq(store_job_status_from_name("done"), -1);
    store_close(NULL);
    store_version_free(NULL);
    store_jobs_free(NULL, 0);
    store_datasets_free(NULL, 0);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("sqlite");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fresh_database_migrates);
    tcase_add_test(tc, test_reopen_keeps_data_and_is_a_no_op);
    tcase_add_test(tc, test_upgrade_from_each_older_schema);
    tcase_add_test(tc, test_future_schema_is_refused);
    tcase_add_test(tc, test_unopenable_path);
    tcase_add_test(tc, test_versions_are_numbered_and_never_reused);
    tcase_add_test(tc, test_version_round_trip);
    tcase_add_test(tc, test_loss_history_pages);
    tcase_add_test(tc, test_version_create_is_atomic);
    tcase_add_test(tc, test_version_create_refuses_bad_input);
    tcase_add_test(tc, test_resolve_references);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_cascade_deletes);
    tcase_add_test(tc, test_job_lifecycle);
    tcase_add_test(tc, test_version_commit_finishes_job);
    tcase_add_test(tc, test_job_list_and_interrupted_jobs);
    tcase_add_test(tc, test_datasets);
    tcase_add_test(tc, test_read_only_database_is_full);
    tcase_add_test(tc, test_threads_share_one_store);
    tcase_add_test(tc, test_names_and_statuses);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(store_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
