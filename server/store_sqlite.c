/*
 * store_sqlite.c — the SQLite backend of store.h: the only file that speaks SQL.
 *
 * Thread-safety: one connection, one mutex. Every store_* call holds the
 * mutex from its first statement to its last, so a call's statements and
 * transaction never interleave with another thread's; the connection is also
 * opened SQLITE_OPEN_FULLMUTEX as a second guard. Calls are short (training
 * runs outside the store, and every row is prepared in memory before the
 * call), so one connection serves a few HTTP threads and workers well; a
 * pool of read-only connections could later sit behind the same ops table.
 * WAL lets other processes (a backup, the sqlite3 shell) read meanwhile, and
 * the busy timeout makes a brief lock held by one of them a wait, not an
 * error. synchronous=FULL: a committed version survives a power cut; writes
 * are rare (versions, jobs, datasets, throttled progress), so it costs little.
 *
 * Statements: fixed SQL text in one table (sql_text), prepared on first use,
 * cached for the life of the connection and reset before the mutex is
 * released. Values are always bound, never spliced into SQL.
 *
 * Migrations: migrations/NNNN_name.sql, embedded in the binary in name order,
 * applied at open, each with its record in schema_migrations inside one
 * BEGIN IMMEDIATE transaction; a file that fails leaves nothing behind. A
 * migration that must rebuild a table will need foreign keys off around it.
 */
#include "store.h"
#include "embedded.h"
#include "text.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Dataset blobs are float32 in host order; every platform we ship on is
 * little-endian, so the bytes on disk are portable between them. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "dataset blobs assume little-endian");

#define STORE_SQLITE_BUSY_MS 5000
#define MIGRATION_PREFIX "migrations/"

/* The current time in the store's format, evaluated by SQLite. */
#define NOW "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"

/* ---- statements --------------------------------------------------------- */

enum query {
    Q_BEGIN_READ, Q_BEGIN_WRITE, Q_COMMIT, Q_ROLLBACK,
    Q_PRAGMA_FOREIGN_KEYS, Q_PRAGMA_WAL, Q_PRAGMA_SYNC,
    Q_SCHEMA_TABLE, Q_SCHEMA_MAX, Q_SCHEMA_HAS, Q_SCHEMA_RECORD, Q_SIZE,
    Q_MODEL_ID, Q_MODEL_INSERT, Q_MODEL_TAKE_NUMBER, Q_MODEL_TOUCH,
    Q_MODEL_LIST, Q_MODEL_INFO, Q_MODEL_DELETE,
    Q_VERSION_INSERT, Q_VERSION_GET, Q_VERSION_SUMMARIES, Q_VERSION_EXISTS,
    Q_VERSION_LATEST, Q_VERSION_DELETE,
    Q_LOSS_INSERT, Q_LOSS_COUNT, Q_LOSS_PAGE,
    Q_ALIAS_UPSERT, Q_ALIAS_GET, Q_ALIAS_LIST, Q_ALIAS_DELETE,
    Q_JOB_INSERT, Q_JOB_START, Q_JOB_PROGRESS, Q_JOB_FINISH, Q_JOB_SUCCEED,
    Q_JOB_STATUS, Q_JOB_GET, Q_JOB_LIST, Q_JOB_INTERRUPT,
    Q_DATASET_INSERT, Q_DATASET_META, Q_DATASET_LOAD, Q_DATASET_LIST, Q_DATASET_DELETE,
    Q_COUNT
};

#define SUMMARY_COLS "number, created_at, epochs_run, loss, val_loss, duration_ms, row_count"
#define MODEL_INFO_SELECT                                                                  \
    "SELECT m.name, COALESCE(MAX(v.number), 0), COUNT(v.id), m.created_at, m.updated_at " \
    "FROM models m LEFT JOIN versions v ON v.model_id = m.id "
#define ALIAS_COLS "alias, version, created_at, updated_at"
#define JOB_COLS                                                                          \
    "id, model, status, request, epoch, epochs, loss, val_loss, COALESCE(version, 0), "   \
    "error, created_at, started_at, finished_at, "                                        \
    "CASE WHEN started_at IS NULL OR finished_at IS NULL THEN -1 ELSE "                   \
    "CAST(round((julianday(finished_at) - julianday(started_at)) * 86400000.0) AS INTEGER) END"
#define DATASET_COLS \
    "name, row_count, n_inputs, n_targets, columns, target_names, labels, created_at"

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN_READ] = "BEGIN",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_PRAGMA_FOREIGN_KEYS] = "PRAGMA foreign_keys = ON",
    [Q_PRAGMA_WAL] = "PRAGMA journal_mode = WAL",
    [Q_PRAGMA_SYNC] = "PRAGMA synchronous = FULL",
    [Q_SCHEMA_TABLE] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    [Q_SCHEMA_MAX] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
    [Q_SCHEMA_HAS] = "SELECT 1 FROM schema_migrations WHERE version = ?1",
    [Q_SCHEMA_RECORD] = "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (?1, ?2, " NOW ")",
    [Q_SIZE] = "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",

    [Q_MODEL_ID] = "SELECT id FROM models WHERE name = ?1",
    [Q_MODEL_INSERT] = "INSERT INTO models (name, created_at, updated_at) "
                       "VALUES (?1, " NOW ", " NOW ") ON CONFLICT (name) DO NOTHING",
    [Q_MODEL_TAKE_NUMBER] = "UPDATE models SET next_version = next_version + 1, updated_at = " NOW
                            " WHERE id = ?1 RETURNING next_version - 1",
    [Q_MODEL_TOUCH] = "UPDATE models SET updated_at = " NOW " WHERE id = ?1",
    [Q_MODEL_LIST] = MODEL_INFO_SELECT "GROUP BY m.id ORDER BY m.name",
    [Q_MODEL_INFO] = MODEL_INFO_SELECT "WHERE m.id = ?1 GROUP BY m.id",
    [Q_MODEL_DELETE] = "DELETE FROM models WHERE name = ?1",

    [Q_VERSION_INSERT] = "INSERT INTO versions (model_id, number, created_at, epochs_run, loss, "
                         "val_loss, duration_ms, row_count, spec, params) "
                         "VALUES (?1, ?2, " NOW ", ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_VERSION_GET] = "SELECT " SUMMARY_COLS ", spec, params FROM versions "
                      "WHERE model_id = ?1 AND number = ?2",
    [Q_VERSION_SUMMARIES] = "SELECT " SUMMARY_COLS " FROM versions WHERE model_id = ?1 "
                            "ORDER BY number",
    [Q_VERSION_EXISTS] = "SELECT 1 FROM versions WHERE model_id = ?1 AND number = ?2",
    [Q_VERSION_LATEST] = "SELECT MAX(number) FROM versions WHERE model_id = ?1",
    [Q_VERSION_DELETE] = "DELETE FROM versions WHERE model_id = ?1 AND number = ?2",

    [Q_LOSS_INSERT] = "INSERT INTO loss_history (model_id, version, epoch, loss, val_loss) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_LOSS_COUNT] = "SELECT COUNT(*) FROM loss_history WHERE model_id = ?1 AND version = ?2",
    [Q_LOSS_PAGE] = "SELECT epoch, loss, val_loss FROM loss_history "
                    "WHERE model_id = ?1 AND version = ?2 ORDER BY epoch LIMIT ?4 OFFSET ?3",

    [Q_ALIAS_UPSERT] = "INSERT INTO aliases (model_id, alias, version, created_at, updated_at) "
                       "VALUES (?1, ?2, ?3, " NOW ", " NOW ") ON CONFLICT (model_id, alias) "
                       "DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at",
    [Q_ALIAS_GET] = "SELECT " ALIAS_COLS " FROM aliases WHERE model_id = ?1 AND alias = ?2",
    [Q_ALIAS_LIST] = "SELECT " ALIAS_COLS " FROM aliases WHERE model_id = ?1 ORDER BY alias",
    [Q_ALIAS_DELETE] = "DELETE FROM aliases WHERE model_id = ?1 AND alias = ?2",

    [Q_JOB_INSERT] = "INSERT INTO jobs (model, status, request, epochs, created_at) "
                     "VALUES (?1, 'queued', ?2, ?3, " NOW ") RETURNING id",
    [Q_JOB_START] = "UPDATE jobs SET status = 'running', started_at = " NOW
                    " WHERE id = ?1 AND status = 'queued'",
    [Q_JOB_PROGRESS] = "UPDATE jobs SET epoch = ?2, loss = ?3, val_loss = ?4 "
                       "WHERE id = ?1 AND status = 'running'",
    [Q_JOB_FINISH] = "UPDATE jobs SET status = ?2, version = ?3, error = ?4, finished_at = " NOW
                     " WHERE id = ?1 AND status IN ('queued', 'running')",
    [Q_JOB_SUCCEED] = "UPDATE jobs SET status = 'succeeded', version = ?2, epoch = ?3, loss = ?4, "
                      "val_loss = ?5, error = NULL, finished_at = " NOW
                      " WHERE id = ?1 AND status = 'running'",
    [Q_JOB_STATUS] = "SELECT status FROM jobs WHERE id = ?1",
    [Q_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    [Q_JOB_LIST] = "SELECT " JOB_COLS " FROM jobs WHERE ?1 IS NULL OR status = ?1 "
                   "ORDER BY id DESC LIMIT ?2",
    [Q_JOB_INTERRUPT] = "UPDATE jobs SET status = 'failed', error = ?1, finished_at = " NOW
                        " WHERE status IN ('queued', 'running')",

    [Q_DATASET_INSERT] = "INSERT INTO datasets (name, row_count, n_inputs, n_targets, columns, "
                         "target_names, labels, created_at, inputs, targets) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " NOW ", ?8, ?9) "
                         "RETURNING created_at",
    [Q_DATASET_META] = "SELECT " DATASET_COLS " FROM datasets WHERE name = ?1",
    [Q_DATASET_LOAD] = "SELECT " DATASET_COLS ", inputs, targets FROM datasets WHERE name = ?1",
    [Q_DATASET_LIST] = "SELECT " DATASET_COLS " FROM datasets ORDER BY name",
    [Q_DATASET_DELETE] = "DELETE FROM datasets WHERE name = ?1",
};

typedef struct {
    store base;                 /* first: the handle callers hold */
    sqlite3 *db;
    pthread_mutex_t lock;       /* held for the whole of every call */
    int64_t schema_known;       /* newest migration this build carries */
    sqlite3_stmt *stmts[Q_COUNT];
} sqlite_store;

/* ---- errors ---- */

static store_status fail(store_status status, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static store_status fail(store_status status, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* Failures of writing: the disk is full, a file-size limit was reached
 * (EFBIG), or the file system went read-only. These are STORE_FULL (503,
 * try again later), not a bug; a failed read stays STORE_IO. */
static bool sq_write_failure(int rc)
{
    switch (rc) {
    case SQLITE_IOERR_WRITE:
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC:
    case SQLITE_IOERR_TRUNCATE:
    case SQLITE_IOERR_SHMSIZE:
    case SQLITE_IOERR_SHMOPEN:
    case SQLITE_IOERR_SHMMAP:
    case SQLITE_IOERR_DELETE:
        return true;
    default:
        return false;
    }
}

static store_status sq_status(int rc)
{
    if (sq_write_failure(rc))
        return STORE_FULL;
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return STORE_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return STORE_BUSY;
    case SQLITE_FULL:
    case SQLITE_READONLY:
        return STORE_FULL;
    case SQLITE_NOMEM:
        return STORE_NOMEM;
    case SQLITE_CONSTRAINT:
        return STORE_CONFLICT;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return STORE_INVALID;
    default:
        return STORE_IO;
    }
}

/* A failed SQLite call rc while doing what, with the connection's message. */
static store_status sq_fail(sqlite3 *db, int rc, char *err, size_t errlen, const char *what)
{
    return fail(sq_status(rc), err, errlen, "%s: %s", what,
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

/* ---- statements, locking, transactions ---- */

static store_status sq_stmt(sqlite_store *s, enum query id, sqlite3_stmt **out, char *err,
                            size_t errlen)
{
    if (!s->stmts[id]) {
        int rc = sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmts[id], NULL);
        if (rc != SQLITE_OK)
            return sq_fail(s->db, rc, err, errlen, "preparing a statement");
    }
    *out = s->stmts[id];
    return STORE_OK;
}

static sqlite_store *sq_lock(store *st)
{
    sqlite_store *s = (sqlite_store *)st;
    pthread_mutex_lock(&s->lock);
    return s;
}

/* Resets every statement (none keeps a lock or a caller's pointer past the
 * call), releases the mutex and passes status through. */
static store_status sq_unlock(sqlite_store *s, store_status status)
{
    for (int i = 0; i < Q_COUNT; i++)
        if (s->stmts[i]) {
            sqlite3_reset(s->stmts[i]);
            sqlite3_clear_bindings(s->stmts[i]);
        }
    pthread_mutex_unlock(&s->lock);
    return status;
}

/* Steps statement id (already bound) to its end and resets it; *changes
 * (may be NULL) gets the rows it changed. */
static store_status sq_run(sqlite_store *s, enum query id, int64_t *changes, char *err,
                           size_t errlen, const char *what)
{
    sqlite3_stmt *q = s->stmts[id];
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW)
        ;
    store_status st = rc == SQLITE_DONE ? STORE_OK : sq_fail(s->db, rc, err, errlen, what);
    sqlite3_reset(q);
    if (st == STORE_OK && changes)
        *changes = sqlite3_changes64(s->db);
    return st;
}

/* Steps statement id to its first row, whose first column (an integer) goes
 * to *value; STORE_NOT_FOUND when there is no row or the column is NULL. */
static store_status sq_int(sqlite_store *s, enum query id, int64_t *value, char *err,
                           size_t errlen, const char *what)
{
    sqlite3_stmt *q = s->stmts[id];
    int rc = sqlite3_step(q);
    store_status st = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
        *value = sqlite3_column_int64(q, 0);
        st = STORE_OK;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        st = sq_fail(s->db, rc, err, errlen, what);
    }
    sqlite3_reset(q);
    return st;
}

static store_status sq_simple(sqlite_store *s, enum query id, char *err, size_t errlen,
                              const char *what)
{
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, id, &q, err, errlen);
    return st ? st : sq_run(s, id, NULL, err, errlen, what);
}

static store_status sq_begin(sqlite_store *s, bool write, char *err, size_t errlen)
{
    return sq_simple(s, write ? Q_BEGIN_WRITE : Q_BEGIN_READ, err, errlen,
                     "starting a transaction");
}

/* Commits when status is STORE_OK, else rolls back; returns the outcome. */
static store_status sq_end(sqlite_store *s, store_status status, char *err, size_t errlen)
{
    if (status == STORE_OK) {
        status = sq_simple(s, Q_COMMIT, err, errlen, "committing");
        if (status == STORE_OK)
            return STORE_OK;
    }
    if (!sqlite3_get_autocommit(s->db))
        sq_simple(s, Q_ROLLBACK, NULL, 0, "rolling back");
    return status;
}

/* ---- binding and reading values ---- */

static void bind_text(sqlite3_stmt *q, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(q, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, i);
}

/* NaN is stored as NULL. */
static void bind_real(sqlite3_stmt *q, int i, double x)
{
    if (isnan(x))
        sqlite3_bind_null(q, i);
    else
        sqlite3_bind_double(q, i, x);
}

static double column_real(sqlite3_stmt *q, int col)
{
    return sqlite3_column_type(q, col) == SQLITE_NULL ? NAN : sqlite3_column_double(q, col);
}

/* Copies a text column into a fixed buffer; "" for NULL. */
static void column_fixed(sqlite3_stmt *q, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    text_copy(dst, size, t ? (const char *)t : "");
}

/* A malloc'd copy of a text column into *out (NULL for NULL); false on OOM. */
static bool column_dup(sqlite3_stmt *q, int col, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(q, col) == SQLITE_NULL)
        return true;
    const unsigned char *t = sqlite3_column_text(q, col);
    return t && (*out = strdup((const char *)t)) != NULL;
}

/* A malloc'd copy of a blob column of exactly want bytes into *out. */
static store_status column_blob(sqlite3_stmt *q, int col, size_t want, void **out)
{
    const void *data = sqlite3_column_blob(q, col);
    size_t len = (size_t)sqlite3_column_bytes(q, col);
    if (len != want || (!data && len))
        return STORE_IO;
    if (!(*out = malloc(len ? len : 1)))
        return STORE_NOMEM;
    memcpy(*out, data, len);
    return STORE_OK;
}

/* ---- reading rows into arrays ---- */

/* How to read one row of a query into a caller-visible struct. read fills a
 * zeroed element and on failure frees what it allocated; release frees an
 * array of n elements (NULL: plain free). */
typedef struct {
    size_t size;
    store_status (*read)(sqlite3_stmt *q, void *elem);
    void (*release)(void *array, size_t n);
    const char *what;
} row_reader;

/* Every row of statement id (already bound) into a malloc'd array *out of
 * *n elements (NULL when none). On failure nothing is returned. */
static store_status sq_rows(sqlite_store *s, enum query id, const row_reader *r, void **out,
                            size_t *n, char *err, size_t errlen)
{
    sqlite3_stmt *q = s->stmts[id];
    char *array = NULL;
    size_t count = 0, cap = 0;
    store_status st = STORE_OK;
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char *grown = realloc(array, ncap * r->size);
            if (!grown) {
                st = fail(STORE_NOMEM, err, errlen, "%s: out of memory", r->what);
                break;
            }
            array = grown, cap = ncap;
        }
        void *elem = array + count * r->size;
        memset(elem, 0, r->size);
        if ((st = r->read(q, elem)) != STORE_OK) {
            fail(st, err, errlen, "%s: %s", r->what,
                 st == STORE_NOMEM ? "out of memory" : "stored data is damaged");
            break;
        }
        count++;
    }
    if (st == STORE_OK && rc != SQLITE_DONE)
        st = sq_fail(s->db, rc, err, errlen, r->what);
    sqlite3_reset(q);
    if (st != STORE_OK) {
        if (r->release)
            r->release(array, count);
        else
            free(array);
        return st;
    }
    *out = array;
    *n = count;
    return STORE_OK;
}

static void read_summary(sqlite3_stmt *q, int col, store_version_summary *v)
{
    *v = (store_version_summary){
        .number = sqlite3_column_int64(q, col),
        .epochs_run = sqlite3_column_int64(q, col + 2),
        .loss = column_real(q, col + 3),
        .val_loss = column_real(q, col + 4),
        .duration_ms = sqlite3_column_int64(q, col + 5),
        .rows = sqlite3_column_int64(q, col + 6),
    };
    column_fixed(q, col + 1, v->created_at, sizeof v->created_at);
}

static store_status read_summary_row(sqlite3_stmt *q, void *elem)
{
    read_summary(q, 0, elem);
    return STORE_OK;
}

static store_status read_version(sqlite3_stmt *q, void *elem)
{
    store_version *v = elem;
    read_summary(q, 0, &v->summary);
    v->params_len = (size_t)sqlite3_column_bytes(q, 8);
    store_status st = column_dup(q, 7, &v->spec_json) ? STORE_OK : STORE_NOMEM;
    if (st == STORE_OK)
        st = column_blob(q, 8, v->params_len, (void **)&v->params);
    if (st != STORE_OK)
        free(v->spec_json);
    return st;
}

static void release_versions(void *array, size_t n)
{
    store_version *v = array;
    for (size_t i = 0; i < n; i++) {
        free(v[i].spec_json);
        free(v[i].params);
    }
    free(array);
}

static store_status read_model_info(sqlite3_stmt *q, void *elem)
{
    store_model_info *m = elem;
    column_fixed(q, 0, m->name, sizeof m->name);
    m->latest_version = sqlite3_column_int64(q, 1);
    m->version_count = sqlite3_column_int64(q, 2);
    column_fixed(q, 3, m->created_at, sizeof m->created_at);
    column_fixed(q, 4, m->updated_at, sizeof m->updated_at);
    return STORE_OK;
}

static store_status read_loss_point(sqlite3_stmt *q, void *elem)
{
    *(store_loss_point *)elem = (store_loss_point){
        .epoch = sqlite3_column_int64(q, 0),
        .loss = column_real(q, 1),
        .val_loss = column_real(q, 2),
    };
    return STORE_OK;
}

static store_status read_alias(sqlite3_stmt *q, void *elem)
{
    store_alias *a = elem;
    column_fixed(q, 0, a->alias, sizeof a->alias);
    a->version = sqlite3_column_int64(q, 1);
    column_fixed(q, 2, a->created_at, sizeof a->created_at);
    column_fixed(q, 3, a->updated_at, sizeof a->updated_at);
    return STORE_OK;
}

static store_status read_job(sqlite3_stmt *q, void *elem)
{
    store_job *j = elem;
    int status = store_job_status_from_name((const char *)sqlite3_column_text(q, 2));
    if (status < 0)
        return STORE_IO;
    *j = (store_job){
        .id = sqlite3_column_int64(q, 0),
        .status = (store_job_status)status,
        .epoch = sqlite3_column_int64(q, 4),
        .epochs = sqlite3_column_int64(q, 5),
        .loss = column_real(q, 6),
        .val_loss = column_real(q, 7),
        .version = sqlite3_column_int64(q, 8),
        .duration_ms = sqlite3_column_int64(q, 13),
    };
    column_fixed(q, 1, j->model, sizeof j->model);
    column_fixed(q, 10, j->created_at, sizeof j->created_at);
    column_fixed(q, 11, j->started_at, sizeof j->started_at);
    column_fixed(q, 12, j->finished_at, sizeof j->finished_at);
    if (column_dup(q, 3, &j->request_json) && column_dup(q, 9, &j->error))
        return STORE_OK;
    free(j->request_json);
    return STORE_NOMEM;
}

static void release_jobs(void *array, size_t n)
{
    store_jobs_free(array, n);
}

/* Dataset metadata; with data (columns 8 and 9) the float arrays too. */
static store_status read_dataset_common(sqlite3_stmt *q, store_dataset *d, bool data)
{
    column_fixed(q, 0, d->name, sizeof d->name);
    d->rows = sqlite3_column_int64(q, 1);
    d->n_inputs = sqlite3_column_int64(q, 2);
    d->n_targets = sqlite3_column_int64(q, 3);
    column_fixed(q, 7, d->created_at, sizeof d->created_at);
    store_status st = STORE_NOMEM;
    if (column_dup(q, 4, &d->columns_json) && column_dup(q, 5, &d->targets_json) &&
        column_dup(q, 6, &d->labels_json))
        st = STORE_OK;
    if (st == STORE_OK && data) {
        st = column_blob(q, 8, (size_t)(d->rows * d->n_inputs) * sizeof(float),
                         (void **)&d->inputs);
        if (st == STORE_OK)
            st = column_blob(q, 9, (size_t)(d->rows * d->n_targets) * sizeof(float),
                             (void **)&d->targets);
    }
    if (st != STORE_OK) {
        free(d->columns_json), free(d->targets_json), free(d->labels_json);
        free(d->inputs), free(d->targets);
    }
    return st;
}

static store_status read_dataset_meta(sqlite3_stmt *q, void *elem)
{
    return read_dataset_common(q, elem, false);
}

static store_status read_dataset_data(sqlite3_stmt *q, void *elem)
{
    return read_dataset_common(q, elem, true);
}

static void release_datasets(void *array, size_t n)
{
    store_datasets_free(array, n);
}

static const row_reader summary_reader = {
    .size = sizeof(store_version_summary), .read = read_summary_row, .what = "reading versions"};
static const row_reader version_reader = {
    .size = sizeof(store_version), .read = read_version, .release = release_versions,
    .what = "reading a version"};
static const row_reader model_reader = {
    .size = sizeof(store_model_info), .read = read_model_info, .what = "reading models"};
static const row_reader loss_reader = {
    .size = sizeof(store_loss_point), .read = read_loss_point, .what = "reading loss history"};
static const row_reader alias_reader = {
    .size = sizeof(store_alias), .read = read_alias, .what = "reading aliases"};
static const row_reader job_reader = {
    .size = sizeof(store_job), .read = read_job, .release = release_jobs, .what = "reading jobs"};
static const row_reader dataset_meta_reader = {
    .size = sizeof(store_dataset), .read = read_dataset_meta, .release = release_datasets,
    .what = "reading datasets"};
static const row_reader dataset_data_reader = {
    .size = sizeof(store_dataset), .read = read_dataset_data, .release = release_datasets,
    .what = "reading a dataset"};

/* ---- shared lookups ---- */

static store_status check_name(const char *kind, const char *name, char *err, size_t errlen)
{
    if (store_name_valid(name))
        return STORE_OK;
    return fail(STORE_INVALID, err, errlen,
                "%s name \"%.80s\" must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", kind,
                name ? name : "(null)");
}

static bool all_digits(const char *s)
{
    return s[0] && s[strspn(s, "0123456789")] == '\0';
}

static store_status check_alias(const char *alias, char *err, size_t errlen)
{
    store_status st = check_name("alias", alias, err, errlen);
    if (st == STORE_OK && (strcmp(alias, "latest") == 0 || all_digits(alias)))
        st = fail(STORE_INVALID, err, errlen,
                  "alias \"%s\" is reserved: \"latest\" and numbers already name versions", alias);
    return st;
}

/* The id of model name; STORE_NOT_FOUND when absent. */
static store_status model_id(sqlite_store *s, const char *name, int64_t *id, char *err,
                             size_t errlen)
{
    sqlite3_stmt *q = NULL;
    store_status st = check_name("model", name, err, errlen);
    if (st || (st = sq_stmt(s, Q_MODEL_ID, &q, err, errlen)))
        return st;
    bind_text(q, 1, name);
    st = sq_int(s, Q_MODEL_ID, id, err, errlen, "looking up a model");
    return st == STORE_NOT_FOUND ? fail(st, err, errlen, "model \"%s\" not found", name) : st;
}

/* STORE_OK when version number of model id exists, else STORE_NOT_FOUND. */
static store_status version_exists(sqlite_store *s, const char *model, int64_t id, int64_t number,
                                   char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int64_t one = 0;
    store_status st = sq_stmt(s, Q_VERSION_EXISTS, &q, err, errlen);
    if (st)
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, number);
    st = sq_int(s, Q_VERSION_EXISTS, &one, err, errlen, "looking up a version");
    return st == STORE_NOT_FOUND
               ? fail(st, err, errlen, "version %lld of model \"%s\" not found", (long long)number,
                      model)
               : st;
}

/* After an UPDATE of job id guarded by its status changed nothing: says
 * whether the job is missing or in another state than expected. */
static store_status job_state_error(sqlite_store *s, int64_t id, const char *expected, char *err,
                                    size_t errlen)
{
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_STATUS, &q, err, errlen);
    if (st)
        return st;
    sqlite3_bind_int64(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        st = fail(STORE_CONFLICT, err, errlen, "job %lld is %s, not %s", (long long)id,
                  (const char *)sqlite3_column_text(q, 0), expected);
    else if (rc == SQLITE_DONE)
        st = fail(STORE_NOT_FOUND, err, errlen, "job %lld not found", (long long)id);
    else
        st = sq_fail(s->db, rc, err, errlen, "looking up a job");
    sqlite3_reset(q);
    return st;
}

/* ---- models and versions ------------------------------------------------ */

static store_status check_version_new(const char *model, const store_version_new *v, char *err,
                                      size_t errlen)
{
    store_status st = check_name("model", model, err, errlen);
    if (st)
        return st;
    if (!v || !v->spec_json)
        return fail(STORE_INVALID, err, errlen, "a version needs its spec JSON");
    if (!v->params || v->params_len == 0)
        return fail(STORE_INVALID, err, errlen, "a version needs its parameters");
    if (v->epochs_run < 0 || v->duration_ms < 0 || v->rows < 0)
        return fail(STORE_INVALID, err, errlen,
                    "epochs_run, duration_ms and rows must not be negative");
    if (v->history_len && !v->history)
        return fail(STORE_INVALID, err, errlen, "history_len is %zu but history is NULL",
                    v->history_len);
    if (v->job_id < 0)
        return fail(STORE_INVALID, err, errlen, "job_id must not be negative");
    return STORE_OK;
}

/* The body of version_create, inside its transaction. */
static store_status version_insert(sqlite_store *s, const char *model, const store_version_new *v,
                                   int64_t *number, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int64_t id = 0, num = 0;
    store_status st = sq_stmt(s, Q_MODEL_INSERT, &q, err, errlen);
    if (st)
        return st;
    bind_text(q, 1, model);
    if ((st = sq_run(s, Q_MODEL_INSERT, NULL, err, errlen, "creating the model")) ||
        (st = model_id(s, model, &id, err, errlen)) ||
        (st = sq_stmt(s, Q_MODEL_TAKE_NUMBER, &q, err, errlen)))
        return st;
    sqlite3_bind_int64(q, 1, id);
    if ((st = sq_int(s, Q_MODEL_TAKE_NUMBER, &num, err, errlen, "numbering the version")) ||
        (st = sq_stmt(s, Q_VERSION_INSERT, &q, err, errlen)))
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, num);
    sqlite3_bind_int64(q, 3, v->epochs_run);
    bind_real(q, 4, v->loss);
    bind_real(q, 5, v->val_loss);
    sqlite3_bind_int64(q, 6, v->duration_ms);
    sqlite3_bind_int64(q, 7, v->rows);
    bind_text(q, 8, v->spec_json);
    sqlite3_bind_blob64(q, 9, v->params, v->params_len, SQLITE_STATIC);
    if ((st = sq_run(s, Q_VERSION_INSERT, NULL, err, errlen, "storing the version")) ||
        (st = sq_stmt(s, Q_LOSS_INSERT, &q, err, errlen)))
        return st;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, num);
    for (size_t i = 0; i < v->history_len; i++) {
        const store_loss_point *p = &v->history[i];
        sqlite3_bind_int64(q, 3, p->epoch);
        bind_real(q, 4, p->loss);
        bind_real(q, 5, p->val_loss);
        st = sq_run(s, Q_LOSS_INSERT, NULL, err, errlen, "storing the loss history");
        if (st == STORE_CONFLICT)
            return fail(STORE_INVALID, err, errlen,
                        "loss history: epoch %lld is negative or appears twice",
                        (long long)p->epoch);
        if (st)
            return st;
    }
    if (v->job_id > 0) {
        if ((st = sq_stmt(s, Q_JOB_SUCCEED, &q, err, errlen)))
            return st;
        sqlite3_bind_int64(q, 1, v->job_id);
        sqlite3_bind_int64(q, 2, num);
        sqlite3_bind_int64(q, 3, v->epochs_run);
        bind_real(q, 4, v->loss);
        bind_real(q, 5, v->val_loss);
        int64_t changed = 0;
        if ((st = sq_run(s, Q_JOB_SUCCEED, &changed, err, errlen, "finishing the job")))
            return st;
        if (changed == 0)
            return job_state_error(s, v->job_id, "running", err, errlen);
    }
    *number = num;
    return STORE_OK;
}

static store_status sqlite_version_create(store *st_, const char *model, const store_version_new *v,
                                          int64_t *number, char *err, size_t errlen)
{
    store_status st = check_version_new(model, v, err, errlen);
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    int64_t num = 0;
    st = sq_begin(s, true, err, errlen);
    if (st == STORE_OK)
        st = sq_end(s, version_insert(s, model, v, &num, err, errlen), err, errlen);
    if (st == STORE_OK)
        *number = num;
    return sq_unlock(s, st);
}

static store_status sqlite_version_get(store *st_, const char *model, int64_t number,
                                       store_version **out, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    void *rows = NULL;
    size_t n = 0;
    store_status st = model_id(s, model, &id, err, errlen);
    if (st == STORE_OK && (st = sq_stmt(s, Q_VERSION_GET, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, number);
        st = sq_rows(s, Q_VERSION_GET, &version_reader, &rows, &n, err, errlen);
    }
    if (st == STORE_OK && n == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "version %lld of model \"%s\" not found",
                  (long long)number, model);
    if (st == STORE_OK) {
        store_version *v = rows;
        text_copy(v->model, sizeof v->model, model);
        *out = v;
    }
    return sq_unlock(s, st);
}

static store_status sqlite_version_resolve(store *st_, const char *model, const char *ref,
                                           int64_t *number, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0, num = 0;
    store_status st = model_id(s, model, &id, err, errlen);
    if (st)
        return sq_unlock(s, st);
    if (!ref || strcmp(ref, "latest") == 0) {
        if ((st = sq_stmt(s, Q_VERSION_LATEST, &q, err, errlen)) == STORE_OK) {
            sqlite3_bind_int64(q, 1, id);
            st = sq_int(s, Q_VERSION_LATEST, &num, err, errlen, "finding the latest version");
            if (st == STORE_NOT_FOUND)
                fail(st, err, errlen, "model \"%s\" has no versions", model);
        }
    } else if (all_digits(ref)) {
        errno = 0;
        num = strtoll(ref, NULL, 10);
        st = errno ? fail(STORE_NOT_FOUND, err, errlen, "version %s of model \"%s\" not found",
                          ref, model)
                   : version_exists(s, model, id, num, err, errlen);
    } else if ((st = sq_stmt(s, Q_ALIAS_GET, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        bind_text(q, 2, ref);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            num = sqlite3_column_int64(q, 1);
        else if (rc == SQLITE_DONE)
            st = fail(STORE_NOT_FOUND, err, errlen, "model \"%s\" has no alias \"%.80s\"", model,
                      ref);
        else
            st = sq_fail(s->db, rc, err, errlen, "looking up an alias");
    }
    if (st == STORE_OK)
        *number = num;
    return sq_unlock(s, st);
}

static store_status sqlite_version_delete(store *st_, const char *model, int64_t number, char *err,
                                          size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0, changed = 0;
    store_status st = sq_begin(s, true, err, errlen);
    if (st)
        return sq_unlock(s, st);
    if ((st = model_id(s, model, &id, err, errlen)) == STORE_OK &&
        (st = sq_stmt(s, Q_VERSION_DELETE, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, number);
        st = sq_run(s, Q_VERSION_DELETE, &changed, err, errlen, "deleting a version");
        if (st == STORE_OK && changed == 0)
            st = fail(STORE_NOT_FOUND, err, errlen, "version %lld of model \"%s\" not found",
                      (long long)number, model);
        if (st == STORE_OK && (st = sq_stmt(s, Q_MODEL_TOUCH, &q, err, errlen)) == STORE_OK) {
            sqlite3_bind_int64(q, 1, id);
            st = sq_run(s, Q_MODEL_TOUCH, NULL, err, errlen, "updating the model");
        }
    }
    return sq_unlock(s, sq_end(s, st, err, errlen));
}

static store_status sqlite_loss_history(store *st_, const char *model, int64_t number,
                                        int64_t offset, int64_t limit, store_loss_point **points,
                                        size_t *n, int64_t *total, char *err, size_t errlen)
{
    if (offset < 0)
        return fail(STORE_INVALID, err, errlen, "offset must not be negative");
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0, count = 0;
    void *rows = NULL;
    size_t got = 0;
    store_status st = sq_begin(s, false, err, errlen);
    if (st)
        return sq_unlock(s, st);
    if ((st = model_id(s, model, &id, err, errlen)) == STORE_OK &&
        (st = version_exists(s, model, id, number, err, errlen)) == STORE_OK &&
        (st = sq_stmt(s, Q_LOSS_COUNT, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, number);
        st = sq_int(s, Q_LOSS_COUNT, &count, err, errlen, "counting loss history");
    }
    if (st == STORE_OK && (st = sq_stmt(s, Q_LOSS_PAGE, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        sqlite3_bind_int64(q, 2, number);
        sqlite3_bind_int64(q, 3, offset);
        sqlite3_bind_int64(q, 4, limit < 0 ? -1 : limit);
        st = sq_rows(s, Q_LOSS_PAGE, &loss_reader, &rows, &got, err, errlen);
    }
    st = sq_end(s, st, err, errlen);
    if (st == STORE_OK) {
        *points = rows, *n = got, *total = count;
    } else {
        free(rows);
    }
    return sq_unlock(s, st);
}

static store_status sqlite_model_list(store *st_, store_model_info **models, size_t *n, char *err,
                                      size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_MODEL_LIST, &q, err, errlen);
    if (st == STORE_OK)
        st = sq_rows(s, Q_MODEL_LIST, &model_reader, (void **)models, n, err, errlen);
    return sq_unlock(s, st);
}

static store_status sqlite_model_get(store *st_, const char *model, store_model **out, char *err,
                                     size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    void *info = NULL, *versions = NULL;
    size_t n_info = 0, n_versions = 0;
    store_status st = sq_begin(s, false, err, errlen);
    if (st)
        return sq_unlock(s, st);
    if ((st = model_id(s, model, &id, err, errlen)) == STORE_OK &&
        (st = sq_stmt(s, Q_MODEL_INFO, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        st = sq_rows(s, Q_MODEL_INFO, &model_reader, &info, &n_info, err, errlen);
    }
    if (st == STORE_OK && (st = sq_stmt(s, Q_VERSION_SUMMARIES, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        st = sq_rows(s, Q_VERSION_SUMMARIES, &summary_reader, &versions, &n_versions, err,
                     errlen);
    }
    st = sq_end(s, st, err, errlen);
    store_model *m = NULL;
    if (st == STORE_OK && n_info == 1 && !(m = malloc(sizeof *m)))
        st = fail(STORE_NOMEM, err, errlen, "reading a model: out of memory");
    else if (st == STORE_OK && n_info != 1)
        st = fail(STORE_NOT_FOUND, err, errlen, "model \"%s\" not found", model);
    if (st == STORE_OK) {
        *m = (store_model){
            .info = *(store_model_info *)info, .versions = versions, .n_versions = n_versions};
        *out = m;
    } else {
        free(versions);
    }
    free(info);
    return sq_unlock(s, st);
}

static store_status sqlite_model_delete(store *st_, const char *model, char *err, size_t errlen)
{
    store_status st = check_name("model", model, err, errlen);
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t changed = 0;
    if ((st = sq_stmt(s, Q_MODEL_DELETE, &q, err, errlen)) == STORE_OK) {
        bind_text(q, 1, model);
        st = sq_run(s, Q_MODEL_DELETE, &changed, err, errlen, "deleting a model");
    }
    if (st == STORE_OK && changed == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "model \"%s\" not found", model);
    return sq_unlock(s, st);
}

/* ---- aliases ------------------------------------------------------------- */

/* Runs a one-statement change of model's alias (upsert or delete) with the
 * model's updated_at in one transaction. version > 0 must exist first. */
static store_status alias_change(store *st_, enum query id_q, const char *model, const char *alias,
                                 int64_t version, char *err, size_t errlen)
{
    store_status st = check_alias(alias, err, errlen);
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t id = 0, changed = 0;
    if ((st = sq_begin(s, true, err, errlen)))
        return sq_unlock(s, st);
    if ((st = model_id(s, model, &id, err, errlen)) == STORE_OK && version > 0)
        st = version_exists(s, model, id, version, err, errlen);
    if (st == STORE_OK && (st = sq_stmt(s, id_q, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        bind_text(q, 2, alias);
        if (version > 0)
            sqlite3_bind_int64(q, 3, version);
        st = sq_run(s, id_q, &changed, err, errlen, "changing an alias");
    }
    if (st == STORE_OK && changed == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "model \"%s\" has no alias \"%s\"", model, alias);
    if (st == STORE_OK && (st = sq_stmt(s, Q_MODEL_TOUCH, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        st = sq_run(s, Q_MODEL_TOUCH, NULL, err, errlen, "updating the model");
    }
    return sq_unlock(s, sq_end(s, st, err, errlen));
}

static store_status sqlite_alias_set(store *st, const char *model, const char *alias,
                                     int64_t version, char *err, size_t errlen)
{
    if (version < 1)
        return fail(STORE_NOT_FOUND, err, errlen, "version %lld of model \"%s\" not found",
                    (long long)version, model ? model : "(null)");
    return alias_change(st, Q_ALIAS_UPSERT, model, alias, version, err, errlen);
}

static store_status sqlite_alias_delete(store *st, const char *model, const char *alias, char *err,
                                        size_t errlen)
{
    return alias_change(st, Q_ALIAS_DELETE, model, alias, 0, err, errlen);
}

/* Aliases of model, all (alias NULL) or one, into a malloc'd array. */
static store_status alias_rows(store *st_, const char *model, const char *alias,
                               store_alias **out, size_t *n, char *err, size_t errlen)
{
    store_status st = alias ? check_alias(alias, err, errlen) : STORE_OK;
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    enum query id_q = alias ? Q_ALIAS_GET : Q_ALIAS_LIST;
    sqlite3_stmt *q = NULL;
    int64_t id = 0;
    if ((st = model_id(s, model, &id, err, errlen)) == STORE_OK &&
        (st = sq_stmt(s, id_q, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        if (alias)
            bind_text(q, 2, alias);
        st = sq_rows(s, id_q, &alias_reader, (void **)out, n, err, errlen);
    }
    return sq_unlock(s, st);
}

static store_status sqlite_alias_list(store *st, const char *model, store_alias **aliases,
                                      size_t *n, char *err, size_t errlen)
{
    return alias_rows(st, model, NULL, aliases, n, err, errlen);
}

static store_status sqlite_alias_get(store *st_, const char *model, const char *alias,
                                     store_alias *out, char *err, size_t errlen)
{
    store_alias *found = NULL;
    size_t n = 0;
    store_status st = alias_rows(st_, model, alias, &found, &n, err, errlen);
    if (st == STORE_OK && n == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "model \"%s\" has no alias \"%s\"", model, alias);
    if (st == STORE_OK)
        *out = found[0];
    free(found);
    return st;
}

/* ---- jobs ---------------------------------------------------------------- */

static store_status sqlite_job_create(store *st_, const char *model, const char *request_json,
                                      int64_t epochs, int64_t *id, char *err, size_t errlen)
{
    store_status st = check_name("model", model, err, errlen);
    if (st)
        return st;
    if (!request_json || epochs < 0)
        return fail(STORE_INVALID, err, errlen, "a job needs its request and epochs >= 0");
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    if ((st = sq_stmt(s, Q_JOB_INSERT, &q, err, errlen)) == STORE_OK) {
        bind_text(q, 1, model);
        bind_text(q, 2, request_json);
        sqlite3_bind_int64(q, 3, epochs);
        st = sq_int(s, Q_JOB_INSERT, id, err, errlen, "queueing a job");
    }
    return sq_unlock(s, st);
}

/* Runs statement id_q on job id (bound as ?1, the rest bound by the
 * caller); when it changes no row, says why. */
static store_status job_update(sqlite_store *s, enum query id_q, int64_t id, const char *expected,
                               char *err, size_t errlen)
{
    int64_t changed = 0;
    sqlite3_bind_int64(s->stmts[id_q], 1, id);
    store_status st = sq_run(s, id_q, &changed, err, errlen, "updating a job");
    if (st == STORE_OK && changed == 0)
        st = job_state_error(s, id, expected, err, errlen);
    return st;
}

static store_status sqlite_job_start(store *st_, int64_t id, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_START, &q, err, errlen);
    if (st == STORE_OK)
        st = job_update(s, Q_JOB_START, id, "queued", err, errlen);
    return sq_unlock(s, st);
}

static store_status sqlite_job_progress(store *st_, int64_t id, int64_t epoch, double loss,
                                        double val_loss, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_PROGRESS, &q, err, errlen);
    if (st == STORE_OK) {
        sqlite3_bind_int64(q, 2, epoch);
        bind_real(q, 3, loss);
        bind_real(q, 4, val_loss);
        st = job_update(s, Q_JOB_PROGRESS, id, "running", err, errlen);
    }
    return sq_unlock(s, st);
}

static store_status sqlite_job_finish(store *st_, int64_t id, store_job_status status,
                                      int64_t version, const char *error, char *err, size_t errlen)
{
    if (status != STORE_JOB_SUCCEEDED && status != STORE_JOB_FAILED &&
        status != STORE_JOB_CANCELLED)
        return fail(STORE_INVALID, err, errlen, "a job ends succeeded, failed or cancelled, not %s",
                    store_job_status_name(status));
    if (version < 0 || (version > 0 && status != STORE_JOB_SUCCEEDED))
        return fail(STORE_INVALID, err, errlen, "only a succeeded job has a version");
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_FINISH, &q, err, errlen);
    if (st == STORE_OK) {
        bind_text(q, 2, store_job_status_name(status));
        if (version > 0)
            sqlite3_bind_int64(q, 3, version);
        bind_text(q, 4, error);
        st = job_update(s, Q_JOB_FINISH, id, "queued or running", err, errlen);
    }
    return sq_unlock(s, st);
}

static store_status sqlite_job_get(store *st_, int64_t id, store_job **out, char *err,
                                   size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    void *rows = NULL;
    size_t n = 0;
    store_status st = sq_stmt(s, Q_JOB_GET, &q, err, errlen);
    if (st == STORE_OK) {
        sqlite3_bind_int64(q, 1, id);
        st = sq_rows(s, Q_JOB_GET, &job_reader, &rows, &n, err, errlen);
    }
    if (st == STORE_OK && n == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "job %lld not found", (long long)id);
    if (st == STORE_OK)
        *out = rows; /* an array of one is one store_job */
    return sq_unlock(s, st);
}

static store_status sqlite_job_list(store *st_, int status, int64_t limit, store_job **jobs,
                                    size_t *n, char *err, size_t errlen)
{
    if (status < -1 || status >= STORE_JOB_STATUS_COUNT)
        return fail(STORE_INVALID, err, errlen, "unknown job status %d", status);
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_LIST, &q, err, errlen);
    if (st == STORE_OK) {
        bind_text(q, 1, status < 0 ? NULL : store_job_status_name((store_job_status)status));
        sqlite3_bind_int64(q, 2, limit < 0 ? -1 : limit);
        st = sq_rows(s, Q_JOB_LIST, &job_reader, (void **)jobs, n, err, errlen);
    }
    return sq_unlock(s, st);
}

static store_status sqlite_jobs_interrupt(store *st_, const char *reason, int64_t *count,
                                          char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_JOB_INTERRUPT, &q, err, errlen);
    if (st == STORE_OK) {
        bind_text(q, 1, reason ? reason : "interrupted");
        st = sq_run(s, Q_JOB_INTERRUPT, count, err, errlen, "failing interrupted jobs");
    }
    return sq_unlock(s, st);
}

/* ---- datasets ------------------------------------------------------------ */

/* Bytes of rows × cols float32 into *bytes; false on overflow. */
static bool float_bytes(int64_t rows, int64_t cols, size_t *bytes)
{
    size_t cells;
    return !__builtin_mul_overflow((size_t)rows, (size_t)cols, &cells) &&
           !__builtin_mul_overflow(cells, sizeof(float), bytes);
}

static store_status sqlite_dataset_create(store *st_, const store_dataset_new *d,
                                          char created_at[STORE_TIME_SIZE], char *err,
                                          size_t errlen)
{
    size_t in_bytes, tg_bytes;
    store_status st = check_name("dataset", d ? d->name : NULL, err, errlen);
    if (st)
        return st;
    if (d->rows < 1 || d->n_inputs < 1 || d->n_targets < 1)
        return fail(STORE_INVALID, err, errlen, "a dataset needs rows, inputs and targets");
    if (!d->columns_json || !d->targets_json || !d->inputs || !d->targets)
        return fail(STORE_INVALID, err, errlen, "a dataset needs its column names and data");
    if (!float_bytes(d->rows, d->n_inputs, &in_bytes) ||
        !float_bytes(d->rows, d->n_targets, &tg_bytes))
        return fail(STORE_INVALID, err, errlen, "dataset \"%s\" is too large", d->name);
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    if ((st = sq_stmt(s, Q_DATASET_INSERT, &q, err, errlen)) == STORE_OK) {
        bind_text(q, 1, d->name);
        sqlite3_bind_int64(q, 2, d->rows);
        sqlite3_bind_int64(q, 3, d->n_inputs);
        sqlite3_bind_int64(q, 4, d->n_targets);
        bind_text(q, 5, d->columns_json);
        bind_text(q, 6, d->targets_json);
        bind_text(q, 7, d->labels_json);
        sqlite3_bind_blob64(q, 8, d->inputs, in_bytes, SQLITE_STATIC);
        sqlite3_bind_blob64(q, 9, d->targets, tg_bytes, SQLITE_STATIC);
        /* One statement in autocommit: its own transaction. */
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            if (created_at)
                column_fixed(q, 0, created_at, STORE_TIME_SIZE);
            rc = sqlite3_step(q);
        }
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
            st = fail(STORE_CONFLICT, err, errlen, "dataset \"%s\" already exists", d->name);
        else if (rc == SQLITE_TOOBIG)
            st = fail(STORE_INVALID, err, errlen, "dataset \"%s\" is too large to store", d->name);
        else if (rc != SQLITE_DONE)
            st = sq_fail(s->db, rc, err, errlen, "storing a dataset");
    }
    return sq_unlock(s, st);
}

static store_status sqlite_dataset_get(store *st_, const char *name, bool with_data,
                                       store_dataset **out, char *err, size_t errlen)
{
    store_status st = check_name("dataset", name, err, errlen);
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    enum query id_q = with_data ? Q_DATASET_LOAD : Q_DATASET_META;
    sqlite3_stmt *q = NULL;
    void *rows = NULL;
    size_t n = 0;
    if ((st = sq_stmt(s, id_q, &q, err, errlen)) == STORE_OK) {
        bind_text(q, 1, name);
        st = sq_rows(s, id_q, with_data ? &dataset_data_reader : &dataset_meta_reader, &rows, &n,
                     err, errlen);
    }
    if (st == STORE_OK && n == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "dataset \"%s\" not found", name);
    if (st == STORE_OK)
        *out = rows;
    return sq_unlock(s, st);
}

static store_status sqlite_dataset_list(store *st_, store_dataset **datasets, size_t *n,
                                        char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_DATASET_LIST, &q, err, errlen);
    if (st == STORE_OK)
        st = sq_rows(s, Q_DATASET_LIST, &dataset_meta_reader, (void **)datasets, n, err, errlen);
    return sq_unlock(s, st);
}

static store_status sqlite_dataset_delete(store *st_, const char *name, char *err, size_t errlen)
{
    store_status st = check_name("dataset", name, err, errlen);
    if (st)
        return st;
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    int64_t changed = 0;
    if ((st = sq_stmt(s, Q_DATASET_DELETE, &q, err, errlen)) == STORE_OK) {
        bind_text(q, 1, name);
        st = sq_run(s, Q_DATASET_DELETE, &changed, err, errlen, "deleting a dataset");
    }
    if (st == STORE_OK && changed == 0)
        st = fail(STORE_NOT_FOUND, err, errlen, "dataset \"%s\" not found", name);
    return sq_unlock(s, st);
}

/* ---- readiness, size, close ---------------------------------------------- */

static store_status schema_version(sqlite_store *s, int64_t *version, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_SCHEMA_MAX, &q, err, errlen);
    return st ? st : sq_int(s, Q_SCHEMA_MAX, version, err, errlen, "reading the schema version");
}

static store_status sqlite_ready(store *st_, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    int64_t version = 0;
    store_status st = schema_version(s, &version, err, errlen);
    if (st == STORE_OK && version != s->schema_known)
        st = fail(STORE_INVALID, err, errlen, "database schema is at version %lld, not %lld",
                  (long long)version, (long long)s->schema_known);
    return sq_unlock(s, st);
}

static store_status sqlite_size_bytes(store *st_, int64_t *bytes, char *err, size_t errlen)
{
    sqlite_store *s = sq_lock(st_);
    sqlite3_stmt *q = NULL;
    store_status st = sq_stmt(s, Q_SIZE, &q, err, errlen);
    if (st == STORE_OK)
        st = sq_int(s, Q_SIZE, bytes, err, errlen, "measuring the database");
    return sq_unlock(s, st);
}

static void sqlite_close(store *st_)
{
    sqlite_store *s = (sqlite_store *)st_;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const store_ops sqlite_ops = {
    .close = sqlite_close,
    .ready = sqlite_ready,
    .size_bytes = sqlite_size_bytes,
    .version_create = sqlite_version_create,
    .version_get = sqlite_version_get,
    .version_resolve = sqlite_version_resolve,
    .version_delete = sqlite_version_delete,
    .loss_history = sqlite_loss_history,
    .model_list = sqlite_model_list,
    .model_get = sqlite_model_get,
    .model_delete = sqlite_model_delete,
    .alias_set = sqlite_alias_set,
    .alias_get = sqlite_alias_get,
    .alias_list = sqlite_alias_list,
    .alias_delete = sqlite_alias_delete,
    .job_create = sqlite_job_create,
    .job_start = sqlite_job_start,
    .job_progress = sqlite_job_progress,
    .job_finish = sqlite_job_finish,
    .job_get = sqlite_job_get,
    .job_list = sqlite_job_list,
    .jobs_interrupt = sqlite_jobs_interrupt,
    .dataset_create = sqlite_dataset_create,
    .dataset_get = sqlite_dataset_get,
    .dataset_list = sqlite_dataset_list,
    .dataset_delete = sqlite_dataset_delete,
};

/* ---- opening and migrating ----------------------------------------------- */

typedef struct {
    int64_t version;    /* NNNN of migrations/NNNN_name.sql */
    const char *name;   /* name, not NUL-terminated */
    int name_len;
    const char *sql;
    const char *path;
} migration;

/* Reads embedded file f as a migration; false when it is not one. */
static bool migration_parse(const embedded_file *f, migration *m)
{
    size_t plen = strlen(MIGRATION_PREFIX), len = strlen(f->path);
    if (strncmp(f->path, MIGRATION_PREFIX, plen) != 0 || len < plen + 4 ||
        strcmp(f->path + len - 4, ".sql") != 0)
        return false;
    const char *base = f->path + plen;
    size_t digits = strspn(base, "0123456789");
    if (digits == 0 || base[digits] != '_')
        return false;
    *m = (migration){
        .version = strtoll(base, NULL, 10),
        .name = base + digits + 1,
        .name_len = (int)(len - 4 - (size_t)(base + digits + 1 - f->path)),
        .sql = (const char *)f->data,
        .path = f->path,
    };
    return true;
}

/* The newest migration carried by this build, checking that file names
 * give strictly increasing versions. */
static store_status migrations_known(int64_t *newest, char *err, size_t errlen)
{
    migration m;
    *newest = 0;
    for (size_t i = 0; i < embedded_count; i++) {
        if (!migration_parse(&embedded_files[i], &m))
            continue;
        if (m.version <= *newest)
            return fail(STORE_INVALID, err, errlen, "migration %s repeats or goes back a version",
                        m.path);
        *newest = m.version;
    }
    return STORE_OK;
}

/* Applies migration m unless recorded, with its record, in one transaction. */
static store_status migration_apply(sqlite_store *s, const migration *m, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    int64_t one = 0;
    store_status st = sq_begin(s, true, err, errlen);
    if (st)
        return st;
    if ((st = sq_stmt(s, Q_SCHEMA_HAS, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, m->version);
        st = sq_int(s, Q_SCHEMA_HAS, &one, err, errlen, "reading schema_migrations");
        if (st == STORE_OK) /* another process applied it meanwhile */
            return sq_end(s, STORE_OK, err, errlen);
    }
    if (st == STORE_NOT_FOUND) {
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &msg);
        st = rc == SQLITE_OK ? STORE_OK
                             : fail(sq_status(rc) == STORE_CONFLICT ? STORE_IO : sq_status(rc),
                                    err, errlen, "migration %s failed: %s", m->path,
                                    msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
    }
    if (st == STORE_OK && (st = sq_stmt(s, Q_SCHEMA_RECORD, &q, err, errlen)) == STORE_OK) {
        sqlite3_bind_int64(q, 1, m->version);
        sqlite3_bind_text(q, 2, m->name, m->name_len, SQLITE_STATIC);
        st = sq_run(s, Q_SCHEMA_RECORD, NULL, err, errlen, "recording a migration");
    }
    return sq_end(s, st, err, errlen);
}

/* Brings the schema up to version upto (at most what this build knows). */
static store_status migrate(sqlite_store *s, int64_t upto, char *err, size_t errlen)
{
    int64_t current = 0;
    store_status st = sq_simple(s, Q_SCHEMA_TABLE, err, errlen, "creating schema_migrations");
    if (st || (st = schema_version(s, &current, err, errlen)))
        return st;
    if (current > s->schema_known)
        return fail(STORE_INVALID, err, errlen,
                    "database schema version %lld is newer than this build supports (%lld)",
                    (long long)current, (long long)s->schema_known);
    migration m;
    for (size_t i = 0; i < embedded_count && st == STORE_OK; i++)
        if (migration_parse(&embedded_files[i], &m) && m.version <= upto)
            st = migration_apply(s, &m, err, errlen);
    return st;
}

/* Connection settings; journal_mode answers the mode it got. */
static store_status configure(sqlite_store *s, char *err, size_t errlen)
{
    sqlite3_stmt *q = NULL;
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, STORE_SQLITE_BUSY_MS);
    store_status st = sq_simple(s, Q_PRAGMA_FOREIGN_KEYS, err, errlen, "enabling foreign keys");
    if (st || (st = sq_stmt(s, Q_PRAGMA_WAL, &q, err, errlen)))
        return st;
    int rc = sqlite3_step(q);
    const char *mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    if (rc != SQLITE_ROW)
        st = sq_fail(s->db, rc, err, errlen, "enabling WAL");
    else if (!mode || (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0))
        st = fail(STORE_IO, err, errlen, "the database refused WAL mode (got %s)",
                  mode ? mode : "nothing");
    sqlite3_reset(q);
    return st ? st : sq_simple(s, Q_PRAGMA_SYNC, err, errlen, "setting synchronous");
}

store_status store_open_sqlite_upto(const char *path, int64_t upto, store **out, char *err,
                                    size_t errlen)
{
    *out = NULL;
    if (!path || !*path)
        return fail(STORE_INVALID, err, errlen, "no database path given");
    sqlite_store *s = calloc(1, sizeof *s);
    if (!s)
        return fail(STORE_NOMEM, err, errlen, "opening %s: out of memory", path);
    s->base.ops = &sqlite_ops;
    pthread_mutex_init(&s->lock, NULL);
    store_status st = migrations_known(&s->schema_known, err, errlen);
    if (st == STORE_OK) {
        int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                    SQLITE_OPEN_URI; /* "file:x.db?mode=ro" works too */
        int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
        if (rc != SQLITE_OK) {
            st = fail(sq_status(rc), err, errlen, "opening %s: %s", path,
                      s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        }
    }
    if (st == STORE_OK)
        st = configure(s, err, errlen);
    if (st == STORE_OK)
        st = migrate(s, upto < s->schema_known ? upto : s->schema_known, err, errlen);
    if (st != STORE_OK) {
        sqlite_close(&s->base);
        return st;
    }
    *out = &s->base;
    return STORE_OK;
}

store_status store_open_sqlite(const char *path, store **out, char *err, size_t errlen)
{
    return store_open_sqlite_upto(path, INT64_MAX, out, err, errlen);
}
