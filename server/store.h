/*
 * store.h — the model registry, job table and dataset store behind one
 * interface.
 *
 * A store is a table of functions (store_ops) behind an opaque handle, as
 * redis does with rio: store_open_sqlite() gives the embedded SQLite backend,
 * and a PostgreSQL backend can later fill the same table so that several
 * replicas share one registry and one job queue. Nothing outside the backend
 * may assume SQLite; callers use only the store_* functions below.
 *
 * Conventions shared by every function
 *  - Each returns a store_status. On failure it writes one sentence into
 *    err (errlen bytes, may be NULL/0) and leaves the store as it was: every
 *    change is one transaction, undone whole on failure. On success err is
 *    not touched, and only then are the out parameters written.
 *  - Names of models, datasets and aliases follow store_name_valid(); an
 *    invalid name is STORE_INVALID.
 *  - Times are ISO-8601 UTC text with milliseconds, "2026-12-04T15:40:00.123Z",
 *    in fixed char[STORE_TIME_SIZE] fields; "" when the moment has not come.
 *  - A loss that is absent (no validation set, not yet known) is NaN.
 *  - Returned structs and arrays are allocated by the store and owned by the
 *    caller, who frees them with the matching store_*_free (NULL is fine).
 *    Input pointers are only read during the call.
 *  - Every function may be called from any thread at the same time.
 *
 * Versions are numbered 1, 2, 3… per model and never reused, even after a
 * delete; deleting a whole model forgets its numbering with it.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_NAME_MAX 64   /* longest model, dataset or alias name */
#define STORE_TIME_SIZE 25  /* "2026-12-04T15:40:00.123Z" and its NUL */

typedef enum {
    STORE_OK = 0,
    STORE_NOT_FOUND, /* the model, version, alias, job or dataset does not exist */
    STORE_CONFLICT,  /* a name is taken, or a job is not in a state allowing this */
    STORE_INVALID,   /* an argument is out of range, or the database is unusable
                        by this build (e.g. a newer schema) */
    STORE_BUSY,      /* the database stayed locked past the busy timeout: retry */
    STORE_FULL,      /* disk full or database read-only: answer 503 */
    STORE_NOMEM,     /* out of memory */
    STORE_IO         /* any other failure: I/O error, corruption, a bug */
} store_status;

/* Static string such as "not found"; never NULL. */
const char *store_status_name(store_status status);

/* True when name matches ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$. */
bool store_name_valid(const char *name);

/* ---- models and versions ------------------------------------------------ */

/* The training summary kept in columns beside each version. */
typedef struct {
    int64_t number;                  /* 1, 2, 3… */
    char created_at[STORE_TIME_SIZE];
    int64_t epochs_run;
    double loss, val_loss;           /* final losses; NaN when absent */
    int64_t duration_ms;
    int64_t rows;                    /* training rows */
} store_version_summary;

/* One epoch of a loss history. */
typedef struct {
    int64_t epoch;
    double loss, val_loss;           /* NaN when absent */
} store_loss_point;

/* What store_version_create() writes. */
typedef struct {
    const char *spec_json;           /* architecture, hyperparameters, seed,
                                        normalisation, labels…: opaque text */
    const void *params;              /* the core's serialised network */
    size_t params_len;               /* bytes at params, > 0 */
    int64_t epochs_run, duration_ms, rows; /* >= 0 */
    double loss, val_loss;           /* NaN when absent */
    const store_loss_point *history; /* one per epoch, distinct epochs >= 0 */
    size_t history_len;
    int64_t job_id;                  /* > 0: this running job is marked
                                        succeeded in the same transaction */
} store_version_new;

/* A whole version, from store_version_get(). */
typedef struct {
    char model[STORE_NAME_MAX + 1];
    store_version_summary summary;
    char *spec_json;                 /* NUL-terminated */
    unsigned char *params;
    size_t params_len;
} store_version;

/* A model as listed. */
typedef struct {
    char name[STORE_NAME_MAX + 1];
    int64_t latest_version;          /* 0 when every version was deleted */
    int64_t version_count;
    char created_at[STORE_TIME_SIZE];
    char updated_at[STORE_TIME_SIZE]; /* last version or alias change */
} store_model_info;

/* A model and a summary of each of its versions, oldest first. */
typedef struct {
    store_model_info info;
    store_version_summary *versions;
    size_t n_versions;
} store_model;

/* ---- aliases ------------------------------------------------------------- */

typedef struct {
    char alias[STORE_NAME_MAX + 1];
    int64_t version;
    char created_at[STORE_TIME_SIZE];
    char updated_at[STORE_TIME_SIZE];
} store_alias;

/* ---- jobs ---------------------------------------------------------------- */

typedef enum {
    STORE_JOB_QUEUED = 0,
    STORE_JOB_RUNNING,
    STORE_JOB_SUCCEEDED,
    STORE_JOB_FAILED,
    STORE_JOB_CANCELLED,
    STORE_JOB_STATUS_COUNT
} store_job_status;

/* "queued", "running", …; "unknown" out of range. */
const char *store_job_status_name(store_job_status status);
/* The status named, or -1 for an unknown name. */
int store_job_status_from_name(const char *name);

typedef struct {
    int64_t id;                      /* 1, 2, 3…, never reused */
    char model[STORE_NAME_MAX + 1];
    store_job_status status;
    char *request_json;              /* as given to store_job_create */
    int64_t epoch, epochs;           /* progress: epoch of epochs */
    double loss, val_loss;           /* latest reported; NaN when none */
    int64_t version;                 /* once succeeded; else 0 */
    char *error;                     /* why it failed; NULL otherwise */
    char created_at[STORE_TIME_SIZE];
    char started_at[STORE_TIME_SIZE];  /* "" while queued */
    char finished_at[STORE_TIME_SIZE]; /* "" until it ends */
    int64_t duration_ms;             /* started → finished; -1 until both */
} store_job;

/* ---- datasets ------------------------------------------------------------ */

/* What store_dataset_create() writes. Floats are row-major, host order. */
typedef struct {
    const char *name;
    int64_t rows;                    /* >= 1 */
    int64_t n_inputs, n_targets;     /* >= 1, >= 1 */
    const char *columns_json;        /* JSON array of the input column names */
    const char *targets_json;        /* JSON array of the target names */
    const char *labels_json;         /* JSON array of class labels, or NULL */
    const float *inputs;             /* rows × n_inputs */
    const float *targets;            /* rows × n_targets */
} store_dataset_new;

/* A dataset: metadata always, data only from store_dataset_load(). */
typedef struct {
    char name[STORE_NAME_MAX + 1];
    int64_t rows, n_inputs, n_targets;
    char *columns_json, *targets_json;
    char *labels_json;               /* NULL when the dataset has no labels */
    char created_at[STORE_TIME_SIZE];
    float *inputs;                   /* rows × n_inputs, or NULL */
    float *targets;                  /* rows × n_targets, or NULL */
} store_dataset;

/* ---- the interface ------------------------------------------------------- */

typedef struct store store;

/* A backend's functions; each is documented at its store_* wrapper below. */
typedef struct {
    void (*close)(store *st);
    store_status (*ready)(store *st, char *err, size_t errlen);
    store_status (*size_bytes)(store *st, int64_t *bytes, char *err, size_t errlen);

    store_status (*version_create)(store *st, const char *model, const store_version_new *v,
                                   int64_t *number, char *err, size_t errlen);
    store_status (*version_get)(store *st, const char *model, int64_t number,
                                store_version **out, char *err, size_t errlen);
    store_status (*version_resolve)(store *st, const char *model, const char *ref,
                                    int64_t *number, char *err, size_t errlen);
    store_status (*version_delete)(store *st, const char *model, int64_t number,
                                   char *err, size_t errlen);
    store_status (*loss_history)(store *st, const char *model, int64_t number, int64_t offset,
                                 int64_t limit, store_loss_point **points, size_t *n,
                                 int64_t *total, char *err, size_t errlen);
    store_status (*model_list)(store *st, store_model_info **models, size_t *n,
                               char *err, size_t errlen);
    store_status (*model_get)(store *st, const char *model, store_model **out,
                              char *err, size_t errlen);
    store_status (*model_delete)(store *st, const char *model, char *err, size_t errlen);

    store_status (*alias_set)(store *st, const char *model, const char *alias,
                              int64_t version, char *err, size_t errlen);
    store_status (*alias_get)(store *st, const char *model, const char *alias,
                              store_alias *out, char *err, size_t errlen);
    store_status (*alias_list)(store *st, const char *model, store_alias **aliases,
                               size_t *n, char *err, size_t errlen);
    store_status (*alias_delete)(store *st, const char *model, const char *alias,
                                 char *err, size_t errlen);

    store_status (*job_create)(store *st, const char *model, const char *request_json,
                               int64_t epochs, int64_t *id, char *err, size_t errlen);
    store_status (*job_start)(store *st, int64_t id, char *err, size_t errlen);
    store_status (*job_progress)(store *st, int64_t id, int64_t epoch, double loss,
                                 double val_loss, char *err, size_t errlen);
    store_status (*job_finish)(store *st, int64_t id, store_job_status status,
                               int64_t version, const char *error, char *err, size_t errlen);
    store_status (*job_get)(store *st, int64_t id, store_job **out, char *err, size_t errlen);
    store_status (*job_list)(store *st, int status, int64_t limit, store_job **jobs,
                             size_t *n, char *err, size_t errlen);
    store_status (*jobs_interrupt)(store *st, const char *reason, int64_t *count,
                                   char *err, size_t errlen);

    store_status (*dataset_create)(store *st, const store_dataset_new *d,
                                   char created_at[STORE_TIME_SIZE], char *err, size_t errlen);
    store_status (*dataset_get)(store *st, const char *name, bool with_data,
                                store_dataset **out, char *err, size_t errlen);
    store_status (*dataset_list)(store *st, store_dataset **datasets, size_t *n,
                                 char *err, size_t errlen);
    store_status (*dataset_delete)(store *st, const char *name, char *err, size_t errlen);
} store_ops;

/* The handle: a backend embeds this as its first member. */
struct store {
    const store_ops *ops;
};

/* Opens (creating if needed) the SQLite database at path: WAL journal,
 * foreign keys on, a busy timeout, then every migration this build knows
 * that the file lacks, each in its own transaction. A database whose schema
 * is newer than this build is refused (STORE_INVALID, "database schema
 * version N is newer than this build supports (M)"). On failure *out is
 * NULL, nothing stays open, and a migration that failed left no trace. */
store_status store_open_sqlite(const char *path, store **out, char *err, size_t errlen);

/* As store_open_sqlite, but applies migrations only up to schema version
 * upto: for upgrade tests and tools. store_ready() then fails until the
 * database is reopened with every migration. */
store_status store_open_sqlite_upto(const char *path, int64_t upto, store **out,
                                    char *err, size_t errlen);

/* Closes the store and frees the handle; NULL is fine. Call it only after
 * every other thread's store call has returned. */
static inline void store_close(store *st)
{
    if (st)
        st->ops->close(st);
}

/* STORE_OK when the database answers and every migration is applied. */
static inline store_status store_ready(store *st, char *err, size_t errlen)
{
    return st->ops->ready(st, err, errlen);
}

/* Size of the database in bytes (its pages, without a pending WAL). */
static inline store_status store_size_bytes(store *st, int64_t *bytes, char *err, size_t errlen)
{
    return st->ops->size_bytes(st, bytes, err, errlen);
}

/* ---- models and versions ---- */

/* Stores a new version of model (created if new) in one transaction: takes
 * the model's next number, writes the version, its parameters and every
 * loss-history row, and with v->job_id > 0 marks that job succeeded with the
 * new number. *number gets the number. STORE_INVALID for a bad name or
 * field, or a duplicate epoch; STORE_CONFLICT when v->job_id is not running
 * (e.g. cancelled meanwhile). On any failure nothing at all is stored. */
static inline store_status store_version_create(store *st, const char *model,
                                                const store_version_new *v, int64_t *number,
                                                char *err, size_t errlen)
{
    return st->ops->version_create(st, model, v, number, err, errlen);
}

/* The whole version model/number into *out (free with store_version_free).
 * STORE_NOT_FOUND when the model or version does not exist. */
static inline store_status store_version_get(store *st, const char *model, int64_t number,
                                             store_version **out, char *err, size_t errlen)
{
    return st->ops->version_get(st, model, number, out, err, errlen);
}

/* Turns a version reference into an existing number: ref is decimal digits
 * (a number), NULL or "latest" (the newest), or else an alias name.
 * STORE_NOT_FOUND when the model, version or alias does not exist, or the
 * model has no version left. */
static inline store_status store_version_resolve(store *st, const char *model, const char *ref,
                                                 int64_t *number, char *err, size_t errlen)
{
    return st->ops->version_resolve(st, model, ref, number, err, errlen);
}

/* Deletes one version with its loss history and the aliases pointing at it.
 * Its number is never given again. STORE_NOT_FOUND when absent. */
static inline store_status store_version_delete(store *st, const char *model, int64_t number,
                                                char *err, size_t errlen)
{
    return st->ops->version_delete(st, model, number, err, errlen);
}

/* Epochs of a version's loss history in order, skipping offset (>= 0) and
 * returning at most limit (< 0: all) into *points (n of them; free with
 * store_loss_free); *total gets the whole history's length.
 * STORE_NOT_FOUND when the version does not exist. */
static inline store_status store_loss_history(store *st, const char *model, int64_t number,
                                              int64_t offset, int64_t limit,
                                              store_loss_point **points, size_t *n,
                                              int64_t *total, char *err, size_t errlen)
{
    return st->ops->loss_history(st, model, number, offset, limit, points, n, total, err, errlen);
}

/* Every model, by name, into *models (n of them; free with
 * store_model_infos_free). */
static inline store_status store_model_list(store *st, store_model_info **models, size_t *n,
                                            char *err, size_t errlen)
{
    return st->ops->model_list(st, models, n, err, errlen);
}

/* One model with a summary of each version (free with store_model_free).
 * STORE_NOT_FOUND when absent. */
static inline store_status store_model_get(store *st, const char *model, store_model **out,
                                           char *err, size_t errlen)
{
    return st->ops->model_get(st, model, out, err, errlen);
}

/* Deletes a model with every version, loss history and alias.
 * STORE_NOT_FOUND when absent. */
static inline store_status store_model_delete(store *st, const char *model, char *err,
                                              size_t errlen)
{
    return st->ops->model_delete(st, model, err, errlen);
}

/* ---- aliases ---- */

/* Points alias of model at version, creating or moving it. "latest" and
 * all-digit names are refused (STORE_INVALID): they would read as
 * references. STORE_NOT_FOUND when the model or version does not exist. */
static inline store_status store_alias_set(store *st, const char *model, const char *alias,
                                           int64_t version, char *err, size_t errlen)
{
    return st->ops->alias_set(st, model, alias, version, err, errlen);
}

/* One alias into *out (caller's struct, nothing to free).
 * STORE_NOT_FOUND when the model or alias does not exist. */
static inline store_status store_alias_get(store *st, const char *model, const char *alias,
                                           store_alias *out, char *err, size_t errlen)
{
    return st->ops->alias_get(st, model, alias, out, err, errlen);
}

/* The model's aliases by name into *aliases (n; free with store_aliases_free).
 * STORE_NOT_FOUND when the model does not exist. */
static inline store_status store_alias_list(store *st, const char *model, store_alias **aliases,
                                            size_t *n, char *err, size_t errlen)
{
    return st->ops->alias_list(st, model, aliases, n, err, errlen);
}

/* Removes an alias. STORE_NOT_FOUND when the model or alias does not exist. */
static inline store_status store_alias_delete(store *st, const char *model, const char *alias,
                                              char *err, size_t errlen)
{
    return st->ops->alias_delete(st, model, alias, err, errlen);
}

/* ---- jobs ---- */

/* Records a queued job for model (which need not exist yet) with the
 * request's JSON text and its epoch count; *id gets the new id. */
static inline store_status store_job_create(store *st, const char *model,
                                            const char *request_json, int64_t epochs,
                                            int64_t *id, char *err, size_t errlen)
{
    return st->ops->job_create(st, model, request_json, epochs, id, err, errlen);
}

/* Queued → running, stamping started_at. STORE_CONFLICT when the job is not
 * queued (e.g. cancelled meanwhile), STORE_NOT_FOUND when absent. */
static inline store_status store_job_start(store *st, int64_t id, char *err, size_t errlen)
{
    return st->ops->job_start(st, id, err, errlen);
}

/* Records a running job's progress. Each call is a durable write: report a
 * few times a second at most. STORE_CONFLICT when the job is not running. */
static inline store_status store_job_progress(store *st, int64_t id, int64_t epoch, double loss,
                                              double val_loss, char *err, size_t errlen)
{
    return st->ops->job_progress(st, id, epoch, loss, val_loss, err, errlen);
}

/* Ends a queued or running job with status (succeeded, failed or cancelled;
 * else STORE_INVALID), the version it made (succeeded only, else 0) and an
 * error sentence (or NULL), stamping finished_at. STORE_CONFLICT when it has
 * already ended, STORE_NOT_FOUND when absent. */
static inline store_status store_job_finish(store *st, int64_t id, store_job_status status,
                                            int64_t version, const char *error, char *err,
                                            size_t errlen)
{
    return st->ops->job_finish(st, id, status, version, error, err, errlen);
}

/* One job into *out (free with store_job_free). STORE_NOT_FOUND when absent. */
static inline store_status store_job_get(store *st, int64_t id, store_job **out, char *err,
                                         size_t errlen)
{
    return st->ops->job_get(st, id, out, err, errlen);
}

/* Jobs newest first, only those with status (a store_job_status, or -1 for
 * all), at most limit (< 0: all), into *jobs (n; free with store_jobs_free). */
static inline store_status store_job_list(store *st, int status, int64_t limit,
                                          store_job **jobs, size_t *n, char *err, size_t errlen)
{
    return st->ops->job_list(st, status, limit, jobs, n, err, errlen);
}

/* At start: marks every queued or running job failed with reason as its
 * error (they were cut short by a stop or crash); *count gets how many. */
static inline store_status store_jobs_interrupt(store *st, const char *reason, int64_t *count,
                                                char *err, size_t errlen)
{
    return st->ops->jobs_interrupt(st, reason, count, err, errlen);
}

/* ---- datasets ---- */

/* Stores a dataset in one transaction; created_at (may be NULL) gets its
 * time. STORE_CONFLICT when the name is taken, STORE_INVALID for a bad
 * field or data too large for the backend. */
static inline store_status store_dataset_create(store *st, const store_dataset_new *d,
                                                char created_at[STORE_TIME_SIZE], char *err,
                                                size_t errlen)
{
    return st->ops->dataset_create(st, d, created_at, err, errlen);
}

/* A dataset's metadata, and with with_data its inputs and targets too, into
 * *out (free with store_dataset_free). STORE_NOT_FOUND when absent. */
static inline store_status store_dataset_get(store *st, const char *name, bool with_data,
                                             store_dataset **out, char *err, size_t errlen)
{
    return st->ops->dataset_get(st, name, with_data, out, err, errlen);
}

/* Every dataset's metadata, by name, into *datasets (n; no data; free with
 * store_datasets_free). */
static inline store_status store_dataset_list(store *st, store_dataset **datasets, size_t *n,
                                              char *err, size_t errlen)
{
    return st->ops->dataset_list(st, datasets, n, err, errlen);
}

/* Deletes a dataset. STORE_NOT_FOUND when absent. */
static inline store_status store_dataset_delete(store *st, const char *name, char *err,
                                                size_t errlen)
{
    return st->ops->dataset_delete(st, name, err, errlen);
}

/* ---- freeing what the store returned (each accepts NULL) ---- */

void store_version_free(store_version *v);
void store_model_free(store_model *m);
void store_model_infos_free(store_model_info *models, size_t n);
void store_aliases_free(store_alias *aliases, size_t n);
void store_loss_free(store_loss_point *points);
void store_job_free(store_job *job);
void store_jobs_free(store_job *jobs, size_t n);
void store_dataset_free(store_dataset *d);
void store_datasets_free(store_dataset *datasets, size_t n);

#endif
