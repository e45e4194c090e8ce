/*
 * jobs.c — the queue, the workers and the life of a job:
 *   submit → queued (store row) → a worker starts it → epochs (progress in
 *   memory; the store about once a second) → succeeded (version committed
 *   with the job's end in one transaction) | failed | cancelled.
 * One mutex guards the queue and every live job; the worker holds it only
 * to record an epoch, never while training or writing to the store.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jobs.h"
#include "text.h"

#define STORE_PROGRESS_MS 1000 /* how often running progress reaches the store */
#define WAKE_MS 50             /* event-stream listeners are woken ~20 times a second */
#define STOPPED_REASON "interrupted: the server stopped"

typedef struct listener {
    void (*wake)(void *ctx);
    void *ctx;
    struct listener *next;
} listener;

struct job_live {
    int64_t id;
    int refs;                    /* the jobs table's, plus each jobs_find */
    train_request req;           /* settings and inline data */
    store_job_status status;
    bool ended;                  /* its end is in the store */
    bool cancel;                 /* asked to stop: cancel */
    int64_t epoch;
    double loss, val_loss;
    double *history, *val_history; /* one per epoch run so far */
    pthread_cond_t ended_cond;
    listener *listeners;
    int64_t woken_epoch;         /* the epoch listeners were last woken for */
    uint64_t last_store_ms;
    struct job_live *next;       /* in the table of live jobs */
    struct job_live *next_queued;
};

struct jobs {
    jobs_options opt;
    pthread_mutex_t lock;
    pthread_cond_t work;         /* a job was queued, or stopping */
    job_live *live;              /* every queued or running job */
    job_live *queue_head, *queue_tail;
    unsigned queued, running;
    uint64_t ended[STORE_JOB_STATUS_COUNT]; /* jobs ended since start, by status */
    bool stopping;               /* take no new jobs, start no queued ones */
    bool interrupting;           /* running jobs stop at their next epoch */
    pthread_t *threads;          /* the workers */
    unsigned n_threads;
    pthread_t ticker;            /* wakes listeners of jobs with new epochs */
    pthread_cond_t tick;         /* stops the ticker early */
    bool ticking, ticker_started;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the table of live jobs (lock held) ---- */

static void live_release_locked(job_live *l)
{
    if (--l->refs > 0)
        return;
    train_request_free(&l->req);
    free(l->history);
    pthread_cond_destroy(&l->ended_cond);
    while (l->listeners) {
        listener *n = l->listeners->next;
        free(l->listeners);
        l->listeners = n;
    }
    free(l);
}

static void wake_listeners_locked(job_live *l)
{
    for (listener *n = l->listeners; n; n = n->next)
        n->wake(n->ctx);
    l->woken_epoch = l->epoch;
}

/* Marks l ended (its end is already in the store) and drops it from the table. */
static void live_end_locked(jobs *j, job_live *l, store_job_status status)
{
    l->status = status;
    l->ended = true;
    j->ended[status]++;
    pthread_cond_broadcast(&l->ended_cond);
    wake_listeners_locked(l);
    for (job_live **link = &j->live; *link; link = &(*link)->next)
        if (*link == l) {
            *link = l->next;
            live_release_locked(l);
            break;
        }
}

job_live *jobs_find(jobs *j, int64_t id)
{
    pthread_mutex_lock(&j->lock);
    job_live *l = j->live;
    while (l && l->id != id)
        l = l->next;
    if (l)
        l->refs++;
    pthread_mutex_unlock(&j->lock);
    return l;
}

void jobs_put(jobs *j, job_live *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&j->lock);
    live_release_locked(l);
    pthread_mutex_unlock(&j->lock);
}

bool jobs_wait(jobs *j, job_live *l, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms >= 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec++, until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&j->lock);
    int rc = 0;
    while (!l->ended && rc == 0)
        rc = timeout_ms < 0 ? pthread_cond_wait(&l->ended_cond, &j->lock)
                            : pthread_cond_timedwait(&l->ended_cond, &j->lock, &until);
    bool ended = l->ended;
    pthread_mutex_unlock(&j->lock);
    return ended;
}

void jobs_overlay(jobs *j, job_live *l, store_job *row)
{
    pthread_mutex_lock(&j->lock);
    if (!l->ended) {
        row->status = l->status;
        row->epoch = l->epoch;
        row->loss = l->loss;
        row->val_loss = l->val_loss;
    }
    pthread_mutex_unlock(&j->lock);
}

size_t jobs_history(jobs *j, job_live *l, size_t from, store_loss_point *out, size_t max,
                    bool *ended)
{
    size_t n = 0;
    pthread_mutex_lock(&j->lock);
    for (size_t e = from; e < (size_t)l->epoch && n < max; e++, n++)
        out[n] = (store_loss_point){.epoch = (int64_t)e + 1, .loss = l->history[e],
                                    .val_loss = l->val_history[e]};
    *ended = l->ended && from + n >= (size_t)l->epoch;
    pthread_mutex_unlock(&j->lock);
    return n;
}

bool jobs_use_dataset(jobs *j, const char *name)
{
    bool used = false;
    pthread_mutex_lock(&j->lock);
    for (job_live *l = j->live; l && !used; l = l->next)
        used = !l->ended && (strcmp(l->req.dataset, name) == 0 || strcmp(l->req.validation_dataset, name) == 0);
    pthread_mutex_unlock(&j->lock);
    return used;
}

size_t jobs_epochs(jobs *j, job_live *l, bool *ended)
{
    pthread_mutex_lock(&j->lock);
    size_t n = (size_t)l->epoch;
    *ended = l->ended;
    pthread_mutex_unlock(&j->lock);
    return n;
}

bool jobs_listen(jobs *j, job_live *l, void (*wake)(void *ctx), void *ctx)
{
    listener *n = malloc(sizeof *n);
    if (!n)
        return false;
    *n = (listener){.wake = wake, .ctx = ctx};
    pthread_mutex_lock(&j->lock);
    n->next = l->listeners;
    l->listeners = n;
    pthread_mutex_unlock(&j->lock);
    return true;
}

void jobs_unlisten(jobs *j, job_live *l, void *ctx)
{
    pthread_mutex_lock(&j->lock);
    for (listener **link = &l->listeners; *link; link = &(*link)->next)
        if ((*link)->ctx == ctx) {
            listener *dead = *link;
            *link = dead->next;
            free(dead);
            break;
        }
    pthread_mutex_unlock(&j->lock);
}

void jobs_stats_get(jobs *j, jobs_stats *out)
{
    pthread_mutex_lock(&j->lock);
    out->queued = j->queued;
    out->running = j->running;
    memcpy(out->ended, j->ended, sizeof out->ended);
    pthread_mutex_unlock(&j->lock);
}

/* ---- submitting and cancelling ---- */

static bool fail_store(api_error *e, store_status rc, const char *err)
{
    return api_fail(e, rc == STORE_NOT_FOUND ? 404 : rc == STORE_INVALID ? 400 : 503, NULL, "%s", err);
}

/* Checks a named dataset exists and fits the layers, before queueing;
 * *rows gets the training rows (the inline ones, or the dataset's). */
static bool check_datasets(jobs *j, const train_request *r, uint64_t *rows, api_error *e)
{
    *rows = r->rows;
    const char *names[2] = {r->dataset, r->validation_dataset};
    const char *fields[2] = {"dataset", "validation_dataset"};
    for (int i = 0; i < 2; i++) {
        if (!names[i][0])
            continue;
        store_dataset *d;
        char err[256];
        store_status rc = store_dataset_get(j->opt.store, names[i], false, &d, err, sizeof err);
        if (rc == STORE_NOT_FOUND)
            return api_fail(e, 404, fields[i], "dataset %s does not exist", names[i]);
        if (rc != STORE_OK)
            return fail_store(e, rc, err);
        int in = r->arch.sizes[0], out = r->arch.sizes[r->arch.n_layers - 1];
        bool classes = d->labels_json != NULL;
        label_set labels = {0};
        bool ok = codec_dataset_pick_targets(d, r->target, e); /* `target` picks stored columns */
        if (ok && classes && !codec_labels_text(d->labels_json, &labels))
            ok = api_fail(e, 503, NULL, "out of memory");
        if (ok && d->n_inputs != in)
            ok = api_fail(e, 400, "layers[0]", "dataset %s has %lld input columns but layers[0] is %d",
                          names[i], (long long)d->n_inputs, in);
        else if (ok && !classes && d->n_targets != out)
            ok = api_fail(e, 400, "layers", "dataset %s has %lld target columns but the output layer has %d units",
                          names[i], (long long)d->n_targets, out);
        else if (ok && classes && r->arch.loss != SN_LOSS_CROSSENTROPY)
            ok = api_fail(e, 400, "loss", "dataset %s has class labels: train it with loss crossentropy", names[i]);
        else if (ok && classes && labels.count > (size_t)out)
            ok = api_fail(e, 400, "layers", "dataset %s has %zu classes but the output layer has %d units",
                          names[i], labels.count, out);
        if (i == 0)
            *rows = (uint64_t)d->rows;
        label_set_free(&labels);
        store_dataset_free(d);
        if (!ok)
            return false;
    }
    return true;
}

bool jobs_submit(jobs *j, train_request *req, int64_t *id, api_error *e)
{
    train_request r = *req;
    memset(req, 0, sizeof *req);
    uint64_t rows = 0;
    bool ok = check_datasets(j, &r, &rows, e) && codec_train_limits(&r, rows, &j->opt.limits, e);
    pthread_mutex_lock(&j->lock);
    if (ok && j->stopping)
        ok = api_fail(e, 503, NULL, "the server is stopping; submit the job again after it restarts");
    else if (ok && j->queued >= j->opt.queue)
        ok = api_fail(e, 429, NULL, "the training queue is full (%u jobs waiting, --queue %u); try again later",
                      j->queued, j->opt.queue);
    pthread_mutex_unlock(&j->lock);
    job_live *l = ok ? calloc(1, sizeof *l) : NULL;
    if (ok && !l)
        ok = api_fail(e, 503, NULL, "out of memory for a new job");
    if (ok) {
        l->history = malloc(2 * (size_t)r.train.epochs * sizeof(double));
        if (!l->history)
            ok = api_fail(e, 503, NULL, "out of memory for a %d-epoch loss history", r.train.epochs);
        l->val_history = l->history ? l->history + r.train.epochs : NULL;
    }
    char *spec = ok ? codec_spec_text(&r, r.rows) : NULL;
    char err[256];
    store_status rc = STORE_OK;
    if (ok && !spec)
        ok = api_fail(e, 503, NULL, "out of memory");
    if (ok && (rc = store_job_create(j->opt.store, r.model, spec, r.train.epochs, id, err, sizeof err)) != STORE_OK)
        ok = fail_store(e, rc, err);
    free(spec);
    if (!ok) {
        if (l)
            free(l->history);
        free(l);
        train_request_free(&r);
        return false;
    }
    l->id = *id;
    l->req = r;
    l->refs = 1;
    l->status = STORE_JOB_QUEUED;
    l->loss = l->val_loss = NAN;
    pthread_cond_init(&l->ended_cond, NULL);
    pthread_mutex_lock(&j->lock);
    if (j->stopping) {
        /* jobs_stop began while the job was being recorded and has drained
         * the queue already: nothing would ever run it (and a ?wait=true
         * handler would hold the daemon's stop forever). End it as jobs_stop
         * ends queued jobs. */
        pthread_mutex_unlock(&j->lock);
        store_job_finish(j->opt.store, l->id, STORE_JOB_FAILED, 0, STOPPED_REASON " before the job started",
                         err, sizeof err);
        live_release_locked(l); /* nobody else has seen it: no lock needed */
        return api_fail(e, 503, NULL, "the server is stopping; submit the job again after it restarts");
    }
    l->next = j->live;
    j->live = l;
    if (j->queue_tail)
        j->queue_tail->next_queued = l;
    else
        j->queue_head = l;
    j->queue_tail = l;
    j->queued++;
    pthread_cond_signal(&j->work);
    pthread_mutex_unlock(&j->lock);
    return true;
}

/* Takes l out of the queue if it is there (lock held); true if it was. */
static bool unqueue_locked(jobs *j, job_live *l)
{
    job_live *prev = NULL;
    for (job_live *q = j->queue_head; q; prev = q, q = q->next_queued)
        if (q == l) {
            if (prev)
                prev->next_queued = q->next_queued;
            else
                j->queue_head = q->next_queued;
            if (j->queue_tail == q)
                j->queue_tail = prev;
            j->queued--;
            return true;
        }
    return false;
}

bool jobs_cancel(jobs *j, int64_t id, api_error *e)
{
    char err[256];
    job_live *l = jobs_find(j, id);
    if (!l) {
        store_job *row;
        store_status rc = store_job_get(j->opt.store, id, &row, err, sizeof err);
        if (rc == STORE_NOT_FOUND)
            return api_fail(e, 404, NULL, "job %lld does not exist", (long long)id);
        if (rc != STORE_OK)
            return fail_store(e, rc, err);
        bool ended = row->status >= STORE_JOB_SUCCEEDED;
        store_job_free(row);
        return ended ? api_fail(e, 409, NULL, "job %lld has already ended", (long long)id)
                     : api_fail(e, 409, NULL, "job %lld belongs to no running server", (long long)id);
    }
    pthread_mutex_lock(&j->lock);
    bool was_queued = unqueue_locked(j, l);
    bool ended = l->ended;
    if (!was_queued && !ended)
        l->cancel = true; /* the worker stops at the end of the epoch */
    pthread_mutex_unlock(&j->lock);
    bool ok = true;
    if (was_queued) {
        store_status rc = store_job_finish(j->opt.store, id, STORE_JOB_CANCELLED, 0, "cancelled before it started", err, sizeof err);
        pthread_mutex_lock(&j->lock);
        live_end_locked(j, l, STORE_JOB_CANCELLED);
        pthread_mutex_unlock(&j->lock);
        if (rc != STORE_OK)
            ok = fail_store(e, rc, err);
    } else if (ended) {
        ok = api_fail(e, 409, NULL, "job %lld has already ended", (long long)id);
    } else {
        jobs_wait(j, l, 10000); /* usually one epoch; the answer shows the state either way */
    }
    jobs_put(j, l);
    return ok;
}

/* ---- running a job ---- */

/* The progress callback: records an epoch, wakes listeners, reports to the
 * store now and then, and asks the core to stop on cancel or shutdown. */
typedef struct {
    jobs *j;
    job_live *l;
} progress_ctx;

static int on_epoch(void *ctx, int epoch, double loss, double val_loss)
{
    progress_ctx *p = ctx;
    job_live *l = p->l;
    uint64_t now = now_ms();
    pthread_mutex_lock(&p->j->lock);
    l->history[epoch - 1] = loss;
    l->val_history[epoch - 1] = val_loss;
    l->epoch = epoch;
    l->loss = loss;
    l->val_loss = val_loss;
    bool report = now - l->last_store_ms >= STORE_PROGRESS_MS;
    if (report)
        l->last_store_ms = now;
    int stop = l->cancel || p->j->interrupting;
    pthread_mutex_unlock(&p->j->lock);
    if (report) {
        char err[256];
        store_job_progress(p->j->opt.store, l->id, epoch, loss, val_loss, err, sizeof err);
    }
    return stop;
}

/* Training data of a job: inline rows, or a dataset loaded now. */
typedef struct {
    float *x, *y;        /* rows × inputs, rows × outputs (owned when `owned`) */
    size_t rows;
    float *vx, *vy;      /* validation rows */
    size_t vrows;
    store_dataset *train_set, *val_set;
    float *split_x;      /* a validation split's reordered copy */
    label_set labels;
} job_data;

static void job_data_free(job_data *d)
{
    store_dataset_free(d->train_set);
    store_dataset_free(d->val_set);
    free(d->split_x);
    label_set_free(&d->labels);
}

/* A dataset's rows as the network wants them: the target columns r names,
 * class indices renumbered to want's labels (a validation set's classes by
 * name) and made one-hot. */
static bool dataset_rows(jobs *j, const char *name, const train_request *r, const label_set *want,
                         store_dataset **set, float **x, float **y, size_t *rows, label_set *labels,
                         char *err, size_t errlen)
{
    if (store_dataset_get(j->opt.store, name, true, set, err, errlen) != STORE_OK)
        return false;
    store_dataset *d = *set;
    api_error e;
    if (!codec_dataset_pick_targets(d, r->target, &e) || !codec_dataset_renumber(d, want, &e)) {
        text_copy(err, errlen, e.detail);
        return false;
    }
    int outputs = r->arch.sizes[r->arch.n_layers - 1];
    *x = d->inputs;
    *rows = (size_t)d->rows;
    if (!d->labels_json) {
        *y = d->targets;
        return true;
    }
    int64_t *idx = malloc((size_t)d->rows * sizeof *idx);
    bool ok = idx != NULL;
    for (int64_t i = 0; ok && i < d->rows; i++) {
        idx[i] = (int64_t)d->targets[i];
        if (idx[i] < 0 || idx[i] >= outputs) {
            snprintf(err, errlen, "dataset %s has class %lld but the output layer has %d units", name, (long long)idx[i], outputs);
            ok = false;
        }
    }
    float *hot = NULL;
    if (ok && !codec_one_hot(idx, (size_t)d->rows, outputs, &hot)) {
        snprintf(err, errlen, "out of memory");
        ok = false;
    }
    free(idx);
    if (ok) {
        free(d->targets);
        d->targets = hot;
        *y = hot;
        if (labels && !labels->count && !codec_labels_text(d->labels_json, labels)) {
            snprintf(err, errlen, "dataset %s has unreadable labels", name);
            ok = false;
        }
    }
    return ok;
}

/* Splits off the last part of a seeded shuffle as validation rows. */
static bool split_validation(job_data *d, const train_request *r, char *err, size_t errlen)
{
    size_t val = (size_t)llround(r->validation_split * (double)d->rows);
    if (val == 0 || val >= d->rows) {
        snprintf(err, errlen, "validation_split %g of %zu rows leaves no %s rows", r->validation_split, d->rows,
                 val == 0 ? "validation" : "training");
        return false;
    }
    size_t in = (size_t)r->arch.sizes[0], out = (size_t)r->arch.sizes[r->arch.n_layers - 1];
    size_t *idx = malloc(d->rows * sizeof *idx);
    float *copy = malloc(d->rows * (in + out) * sizeof(float));
    if (!idx || !copy) {
        free(idx), free(copy);
        snprintf(err, errlen, "out of memory for the validation split");
        return false;
    }
    sn_rng rng;
    sn_rng_seed(&rng, r->seed ^ 0x56414C4944ull); /* "VALID": apart from init and shuffle */
    for (size_t i = 0; i < d->rows; i++)
        idx[i] = i;
    sn_rng_shuffle(&rng, idx, d->rows);
    float *cx = copy, *cy = copy + d->rows * in;
    for (size_t i = 0; i < d->rows; i++) {
        memcpy(cx + i * in, d->x + idx[i] * in, in * sizeof(float));
        memcpy(cy + i * out, d->y + idx[i] * out, out * sizeof(float));
    }
    free(idx);
    d->split_x = copy;
    d->rows -= val;
    d->x = cx;
    d->y = cy;
    d->vx = cx + d->rows * in;
    d->vy = cy + d->rows * out;
    d->vrows = val;
    return true;
}

static bool job_data_load(jobs *j, train_request *r, job_data *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (r->dataset[0]) {
        if (!dataset_rows(j, r->dataset, r, NULL, &d->train_set, &d->x, &d->y, &d->rows, &r->labels, err, errlen))
            return false;
    } else {
        d->x = r->inputs;
        d->y = r->targets;
        d->rows = r->rows;
    }
    if (r->validation_dataset[0]) {
        label_set ignored = {0};
        bool ok = dataset_rows(j, r->validation_dataset, r, &r->labels, &d->val_set, &d->vx, &d->vy, &d->vrows,
                               &ignored, err, errlen);
        label_set_free(&ignored);
        return ok;
    }
    return r->validation_split > 0 ? split_validation(d, r, err, errlen) : true;
}

/* Trains l; returns the store status to end it with and fills why. */
static store_job_status run_job(jobs *j, job_live *l, int64_t *version, char *why, size_t whylen)
{
    train_request *r = &l->req;
    job_data d;
    sn_net *net = NULL;
    sn_error serr = {0};
    store_job_status result = STORE_JOB_FAILED;
    uint64_t started = now_ms();
    if (!job_data_load(j, r, &d, why, whylen))
        goto done;
    if (sn_net_create(&r->arch, &net, &serr) != SN_OK || sn_net_init(net, r->init, r->seed, &serr) != SN_OK ||
        sn_net_fit_norm(net, r->normalize, d.x, d.rows, &serr) != SN_OK) {
        text_copy(why, whylen, serr.message);
        goto done;
    }
    progress_ctx pc = {.j = j, .l = l};
    sn_train_config cfg = r->train;
    cfg.threads = (int)j->opt.threads;
    cfg.val_x = d.vx;
    cfg.val_y = d.vy;
    cfg.val_rows = d.vrows;
    cfg.progress = on_epoch;
    cfg.progress_ctx = &pc;
    sn_train_result res;
    sn_status st = sn_train(net, &cfg, d.x, d.y, d.rows, NULL, NULL, &res, &serr);
    if (st == SN_ERR_STOPPED) {
        pthread_mutex_lock(&j->lock);
        bool cancelled = l->cancel;
        pthread_mutex_unlock(&j->lock);
        text_copy(why, whylen, cancelled ? "cancelled while running" : STOPPED_REASON);
        result = cancelled ? STORE_JOB_CANCELLED : STORE_JOB_FAILED;
        goto done;
    }
    if (st != SN_OK) {
        text_copy(why, whylen, serr.message);
        goto done;
    }
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char *spec = codec_spec_text(r, d.rows);
    store_loss_point *points = malloc((size_t)res.epochs_run * sizeof *points);
    if (!spec || !points || sn_net_save(net, &blob, &blob_len, &serr) != SN_OK) {
        snprintf(why, whylen, "out of memory saving the trained network");
    } else {
        for (int e = 0; e < res.epochs_run; e++) /* history arrays are only written by this thread */
            points[e] = (store_loss_point){.epoch = e + 1, .loss = l->history[e], .val_loss = l->val_history[e]};
        store_version_new v = {
            .spec_json = spec, .params = blob, .params_len = blob_len,
            .epochs_run = res.epochs_run, .duration_ms = (int64_t)(now_ms() - started),
            .rows = (int64_t)d.rows, .loss = res.loss, .val_loss = res.val_loss,
            .history = points, .history_len = (size_t)res.epochs_run, .job_id = l->id,
        };
        store_status rc = store_version_create(j->opt.store, r->model, &v, version, why, whylen);
        if (rc == STORE_OK) {
            cache_forget_refs(j->opt.cache, r->model);
            result = STORE_JOB_SUCCEEDED;
        } else if (rc == STORE_CONFLICT) {
            result = STORE_JOB_CANCELLED; /* cancelled meanwhile: the store kept its end */
        }
    }
    free(blob);
    free(spec);
    free(points);
done:
    sn_net_free(net);
    job_data_free(&d);
    return result;
}

static void *worker_main(void *arg)
{
    jobs *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        while (!j->queue_head && !j->stopping)
            pthread_cond_wait(&j->work, &j->lock);
        if (j->stopping) {
            pthread_mutex_unlock(&j->lock);
            return NULL;
        }
        job_live *l = j->queue_head;
        unqueue_locked(j, l);
        l->refs++;
        j->running++;
        pthread_mutex_unlock(&j->lock);

        char why[512] = "";
        int64_t version = 0;
        store_job_status end = STORE_JOB_FAILED;
        char err[256];
        bool started = store_job_start(j->opt.store, l->id, err, sizeof err) == STORE_OK;
        if (started) { /* running for pollers only once the store says so (started_at is set) */
            pthread_mutex_lock(&j->lock);
            l->status = STORE_JOB_RUNNING;
            pthread_mutex_unlock(&j->lock);
            end = run_job(j, l, &version, why, sizeof why);
        }
        /* A success was ended inside the version's transaction; anything else ends here,
         * after its last epoch (the store's progress may be up to STORE_PROGRESS_MS behind). */
        if (started && end != STORE_JOB_SUCCEEDED) {
            pthread_mutex_lock(&j->lock);
            int64_t epoch = l->epoch;
            double loss = l->loss, val_loss = l->val_loss;
            pthread_mutex_unlock(&j->lock);
            if (epoch > 0) /* best effort: the end below matters more */
                store_job_progress(j->opt.store, l->id, epoch, loss, val_loss, err, sizeof err);
            if (store_job_finish(j->opt.store, l->id, end, 0, why, err, sizeof err) != STORE_OK)
                fprintf(stderr, "scratchnet: job %lld: cannot record its end: %s\n", (long long)l->id, err);
        }
        pthread_mutex_lock(&j->lock);
        j->running--;
        pthread_cond_broadcast(&j->work); /* jobs_stop may be waiting for running jobs */
        live_end_locked(j, l, end);
        live_release_locked(l);
        pthread_mutex_unlock(&j->lock);
    }
}

/* Listeners are woken on a steady beat rather than by every epoch, so a
 * fast job (thousands of epochs a second) costs them ~20 wakes a second and
 * a slow one is seen within WAKE_MS of each epoch. */
static void *ticker_main(void *arg)
{
    jobs *j = arg;
    pthread_mutex_lock(&j->lock);
    while (j->ticking) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += WAKE_MS * 1000000L;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec++, until.tv_nsec -= 1000000000;
        pthread_cond_timedwait(&j->tick, &j->lock, &until);
        for (job_live *l = j->live; l; l = l->next)
            if (l->listeners && l->epoch != l->woken_epoch)
                wake_listeners_locked(l);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---- start and stop ---- */

jobs *jobs_start(const jobs_options *opt, char *err, size_t errlen)
{
    jobs *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    j->opt = *opt;
    j->opt.workers = opt->workers ? opt->workers : 1;
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->work, NULL);
    pthread_cond_init(&j->tick, NULL);
    j->ticking = true;
    j->ticker_started = pthread_create(&j->ticker, NULL, ticker_main, j) == 0;
    j->threads = j->ticker_started ? calloc(j->opt.workers, sizeof(pthread_t)) : NULL;
    if (!j->threads) {
        jobs_stop(j, 0);
        jobs_free(j);
        snprintf(err, errlen, "cannot start the jobs' threads");
        return NULL;
    }
    for (unsigned i = 0; i < j->opt.workers; i++) {
        if (pthread_create(&j->threads[i], NULL, worker_main, j) != 0) {
            snprintf(err, errlen, "cannot start training worker %u", i + 1);
            jobs_stop(j, 0);
            jobs_free(j);
            return NULL;
        }
        j->n_threads++;
    }
    return j;
}

void jobs_stop(jobs *j, unsigned grace_ms)
{
    char err[256];
    pthread_mutex_lock(&j->lock);
    j->stopping = true; /* no new jobs; workers take nothing more from the queue */
    while (j->queue_head) {
        job_live *l = j->queue_head;
        unqueue_locked(j, l);
        pthread_mutex_unlock(&j->lock);
        store_job_finish(j->opt.store, l->id, STORE_JOB_FAILED, 0, STOPPED_REASON " before the job started", err, sizeof err);
        pthread_mutex_lock(&j->lock);
        live_end_locked(j, l, STORE_JOB_FAILED);
    }
    /* Running jobs may finish within the grace period (their workers signal
     * `work` when they end); then the progress callback stops the rest. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_ms / 1000;
    until.tv_nsec += (long)(grace_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000)
        until.tv_sec++, until.tv_nsec -= 1000000000;
    while (j->running && grace_ms && pthread_cond_timedwait(&j->work, &j->lock, &until) == 0)
        ;
    j->interrupting = true;
    pthread_cond_broadcast(&j->work);
    pthread_mutex_unlock(&j->lock);
    for (unsigned i = 0; i < j->n_threads; i++)
        pthread_join(j->threads[i], NULL);
    j->n_threads = 0;
    pthread_mutex_lock(&j->lock); /* every job has ended, and woken its listeners */
    j->ticking = false;
    pthread_cond_signal(&j->tick);
    pthread_mutex_unlock(&j->lock);
    if (j->ticker_started)
        pthread_join(j->ticker, NULL);
    j->ticker_started = false;
}

void jobs_free(jobs *j)
{
    if (!j)
        return;
    while (j->live) { /* none are left after jobs_stop, unless held by a listener */
        job_live *l = j->live;
        j->live = l->next;
        live_release_locked(l);
    }
    free(j->threads);
    pthread_cond_destroy(&j->tick);
    pthread_cond_destroy(&j->work);
    pthread_mutex_destroy(&j->lock);
    free(j);
}
