/*
 * store_common.c — the parts of the store that every backend shares: names
 * of statuses, the name rule, and freeing what the store returns. Backends
 * allocate returned memory with malloc so that these functions fit them all.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

const char *store_status_name(store_status status)
{
    static const char *const names[] = {
        [STORE_OK] = "ok",
        [STORE_NOT_FOUND] = "not found",
        [STORE_CONFLICT] = "conflict",
        [STORE_INVALID] = "invalid",
        [STORE_BUSY] = "busy",
        [STORE_FULL] = "disk full or read-only",
        [STORE_NOMEM] = "out of memory",
        [STORE_IO] = "i/o error",
    };
    if ((unsigned)status < sizeof names / sizeof names[0] && names[status])
        return names[status];
    return "unknown";
}

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* A loop, not strspn: strspn builds a table of its set at every call, and
 * /predict checks a name or two on every request. */
bool store_name_valid(const char *name)
{
    if (!name || !is_alnum(name[0]))
        return false;
    size_t len = 1;
    while (len <= STORE_NAME_MAX && (is_alnum(name[len]) || name[len] == '_' || name[len] == '.' ||
                                     name[len] == '-'))
        len++;
    return name[len] == '\0' && len <= STORE_NAME_MAX;
}

static const char *const job_status_names[STORE_JOB_STATUS_COUNT] = {
    [STORE_JOB_QUEUED] = "queued",
    [STORE_JOB_RUNNING] = "running",
    [STORE_JOB_SUCCEEDED] = "succeeded",
    [STORE_JOB_FAILED] = "failed",
    [STORE_JOB_CANCELLED] = "cancelled",
};

const char *store_job_status_name(store_job_status status)
{
    return (unsigned)status < STORE_JOB_STATUS_COUNT ? job_status_names[status] : "unknown";
}

int store_job_status_from_name(const char *name)
{
    for (int i = 0; name && i < STORE_JOB_STATUS_COUNT; i++)
        if (strcmp(name, job_status_names[i]) == 0)
            return i;
    return -1;
}

/* ---- freeing ---- */

void store_version_free(store_version *v)
{
    if (!v)
        return;
    free(v->spec_json);
    free(v->params);
    free(v);
}

void store_model_free(store_model *m)
{
    if (!m)
        return;
    free(m->versions);
    free(m);
}

void store_model_infos_free(store_model_info *models, size_t n)
{
    (void)n; /* flat records: one block */
    free(models);
}

void store_aliases_free(store_alias *aliases, size_t n)
{
    (void)n;
    free(aliases);
}

void store_loss_free(store_loss_point *points)
{
    free(points);
}

static void store_job_clear(store_job *job)
{
    free(job->request_json);
    free(job->error);
}

void store_job_free(store_job *job)
{
    if (!job)
        return;
    store_job_clear(job);
    free(job);
}

void store_jobs_free(store_job *jobs, size_t n)
{
    for (size_t i = 0; jobs && i < n; i++)
        store_job_clear(&jobs[i]);
    free(jobs);
}

static void store_dataset_clear(store_dataset *d)
{
    free(d->columns_json);
    free(d->targets_json);
    free(d->labels_json);
    free(d->inputs);
    free(d->targets);
}

void store_dataset_free(store_dataset *d)
{
    if (!d)
        return;
    store_dataset_clear(d);
    free(d);
}

void store_datasets_free(store_dataset *datasets, size_t n)
{
    for (size_t i = 0; datasets && i < n; i++)
        store_dataset_clear(&datasets[i]);
    free(datasets);
}
