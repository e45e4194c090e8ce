/*
 * jobs.h — training jobs: a bounded queue and worker threads apart from the
 * HTTP threads. A job is recorded in the store when submitted; a worker runs
 * it with the core, keeps its per-epoch progress in memory (for pollers,
 * waiters and event-stream listeners), writes progress to the store about
 * once a second, and on success commits the version, its parameters,
 * settings and loss history in one store transaction. A failed or cancelled
 * job commits no version.
 *
 * Every function is thread-safe.
 */
#ifndef SCRATCHNET_JOBS_H
#define SCRATCHNET_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "codec.h"
#include "store.h"

typedef struct jobs jobs;
typedef struct job_live job_live; /* a job of this process, queued or running */

typedef struct {
    store *store;
    model_cache *cache;  /* told about new versions */
    unsigned workers;    /* jobs trained at once */
    unsigned queue;      /* jobs waiting at most */
    unsigned threads;    /* compute threads per job */
    train_limits limits; /* what one job may cost (--max-params, --max-work) */
} jobs_options;

/* Starts the workers. NULL with a sentence in err on failure. */
jobs *jobs_start(const jobs_options *opt, char *err, size_t errlen);
/* Stops taking jobs (submit answers 503) and marks queued jobs failed; lets
 * running jobs go on for up to grace_ms, then interrupts those left (marked
 * failed: "interrupted: the server stopped"); wakes every waiter and
 * listener, and joins the workers. */
void jobs_stop(jobs *j, unsigned grace_ms);
/* Frees everything; after jobs_stop and after every listener has gone. */
void jobs_free(jobs *j);

/* Queues a validated request; takes *req's data in every case (req is
 * emptied). On success *id is the job's id. Fails with 404 (an unknown
 * dataset), 400 (a dataset that does not fit the layers), 422 (over opt.limits),
 * 429 (queue full), 503 (stopping, or the store unavailable). */
bool jobs_submit(jobs *j, train_request *req, int64_t *id, api_error *e);

/* Cancels a queued or running job. 404 unknown, 409 already ended. */
bool jobs_cancel(jobs *j, int64_t id, api_error *e);

/* The job of this process with that id, held until jobs_put; NULL when it
 * is not queued or running here. */
job_live *jobs_find(jobs *j, int64_t id);
void jobs_put(jobs *j, job_live *l);

/* Blocks until the job has ended (and its end is in the store), or until
 * timeout_ms passes (< 0: no limit). True if it ended. */
bool jobs_wait(jobs *j, job_live *l, int timeout_ms);

/* Overwrites a stored job's status and progress with the live values. */
void jobs_overlay(jobs *j, job_live *l, store_job *row);

/* Copies up to max epochs of history from `from` on into out; *ended says
 * whether the job has ended (no epochs will follow). Returns how many. */
size_t jobs_history(jobs *j, job_live *l, size_t from, store_loss_point *out, size_t max,
                    bool *ended);

/* True while a queued or running job of this process trains on (or
 * validates with) the dataset of that name. */
bool jobs_use_dataset(jobs *j, const char *name);

/* Epochs the job has run so far; *ended says whether it has ended. */
size_t jobs_epochs(jobs *j, job_live *l, bool *ended);

/* Calls wake(ctx) (from a jobs thread, with the jobs lock held: ctx must
 * not call back into jobs) at most ~20 times a second while new epochs come,
 * and once at the end, while registered. unlisten must come before ctx dies;
 * it is safe against a concurrent wake. */
bool jobs_listen(jobs *j, job_live *l, void (*wake)(void *ctx), void *ctx);
void jobs_unlisten(jobs *j, job_live *l, void *ctx);

/* This process's jobs, for /metrics. */
typedef struct {
    unsigned queued, running;
    uint64_t ended[STORE_JOB_STATUS_COUNT]; /* by final status, since start */
} jobs_stats;
void jobs_stats_get(jobs *j, jobs_stats *out);

#endif
