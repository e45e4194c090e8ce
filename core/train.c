/*
 * train.c — the training loop: epochs of shuffled mini-batches, one
 * optimizer step per batch, validation each epoch, early stopping, a
 * progress callback that can stop the run, and NaN/Inf detection that
 * restores the parameters the run started from.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Shuffling draws from a stream apart from the one sn_net_init uses, so the
 * same seed may serve both. */
#define SHUFFLE_STREAM 0x53485546464C45ull /* "SHUFFLE" */

sn_train_config sn_train_config_default(void)
{
    return (sn_train_config){
        .optimizer = sn_optimizer_default(SN_OPT_SGD),
        .epochs = 1000,
        .batch_size = 1,
        .shuffle = 1,
        .threads = 1,
    };
}

static sn_status check_config(const sn_net *net, const sn_train_config *cfg, const float *X,
                              const float *Y, size_t rows, sn_error *err)
{
    size_t in = (size_t)net->arch.sizes[0], out = (size_t)net->arch.sizes[net->arch.n_layers - 1];
    sn_status st = sn_optimizer_check(&cfg->optimizer, err);
    if (st != SN_OK)
        return st;
    if (cfg->epochs < 1)
        return sn_fail(err, SN_ERR_INVALID, "epochs must be at least 1");
    if (cfg->batch_size < 1)
        return sn_fail(err, SN_ERR_INVALID, "batch_size must be at least 1");
    if (cfg->patience < 0 || !(cfg->min_delta >= 0))
        return sn_fail(err, SN_ERR_INVALID, "early stopping needs patience ≥ 0 and min_delta ≥ 0");
    if (rows == 0 || !X || !Y)
        return sn_fail(err, SN_ERR_INVALID, "no training rows");
    if (cfg->val_rows && (!cfg->val_x || !cfg->val_y))
        return sn_fail(err, SN_ERR_INVALID, "validation rows are missing");
    if (!sn_all_finite(X, rows * in) || !sn_all_finite(Y, rows * out))
        return sn_fail(err, SN_ERR_NONFINITE, "training inputs or targets contain NaN or Infinity");
    if (cfg->val_rows && (!sn_all_finite(cfg->val_x, cfg->val_rows * in) ||
                          !sn_all_finite(cfg->val_y, cfg->val_rows * out)))
        return sn_fail(err, SN_ERR_NONFINITE, "validation inputs or targets contain NaN or Infinity");
    return SN_OK;
}

/* Everything a run allocates, in one place so one function frees it. */
typedef struct {
    sn_engine *engine;
    sn_opt_state opt;
    float *start;  /* parameters at the start, restored on failure */
    float *best;   /* parameters of the best validation epoch */
    size_t *idx;
} run_state;

static void run_free(run_state *s)
{
    sn_engine_free(s->engine);
    sn_opt_state_free(&s->opt);
    free(s->start);
    free(s->best);
    free(s->idx);
}

static sn_status run_init(run_state *s, sn_net *net, const sn_train_config *cfg, size_t rows,
                          const sn_kernels *kern, sn_error *err)
{
    memset(s, 0, sizeof *s);
    size_t batch = (size_t)cfg->batch_size < rows ? (size_t)cfg->batch_size : rows;
    sn_status st = sn_opt_state_init(&s->opt, &cfg->optimizer, net->n_params, err);
    if (st == SN_OK)
        st = sn_engine_create(&s->engine, net, &s->opt, kern, batch, cfg->threads, err);
    if (st != SN_OK)
        return st;
    s->start = malloc(net->n_params * sizeof(float));
    s->best = cfg->patience ? malloc(net->n_params * sizeof(float)) : NULL;
    s->idx = malloc(rows * sizeof(size_t));
    if (!s->start || (cfg->patience && !s->best) || !s->idx)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for training state");
    memcpy(s->start, net->params, net->n_params * sizeof(float));
    for (size_t i = 0; i < rows; i++)
        s->idx[i] = i;
    return SN_OK;
}

/* One pass over the rows; returns the epoch's mean loss (NaN/Inf on divergence). */
static double run_epoch(run_state *s, const sn_train_config *cfg, const float *X, const float *Y,
                        size_t rows, sn_rng *rng)
{
    if (cfg->shuffle)
        sn_rng_shuffle(rng, s->idx, rows);
    return sn_engine_epoch(s->engine, X, Y, s->idx, rows);
}

sn_status sn_train(sn_net *net, const sn_train_config *cfg, const float *X, const float *Y,
                   size_t rows, double *loss_history, double *val_history,
                   sn_train_result *result, sn_error *err)
{
    return sn_train_on(sn_kernels_get(), net, cfg, X, Y, rows, loss_history, val_history, result,
                       err);
}

sn_status sn_train_on(const sn_kernels *kern, sn_net *net, const sn_train_config *cfg,
                      const float *X, const float *Y, size_t rows, double *loss_history,
                      double *val_history, sn_train_result *result, sn_error *err)
{
    sn_train_result res = {.loss = NAN, .val_loss = NAN};
    run_state s;
    sn_status st = check_config(net, cfg, X, Y, rows, err);
    if (st == SN_OK)
        st = run_init(&s, net, cfg, rows, kern, err);
    else
        memset(&s, 0, sizeof s);
    sn_rng rng;
    sn_rng_seed(&rng, cfg->seed ^ SHUFFLE_STREAM);
    double best_val = INFINITY;
    int since_best = 0;
    for (int epoch = 1; st == SN_OK && epoch <= cfg->epochs; epoch++) {
        double loss = run_epoch(&s, cfg, X, Y, rows, &rng), val = NAN;
        if (isfinite(loss) && cfg->val_rows)
            st = sn_evaluate_loss(net, cfg->val_x, cfg->val_y, cfg->val_rows, &val, err);
        if (st != SN_OK)
            break;
        if (!isfinite(loss) || (cfg->val_rows && !isfinite(val)) ||
            !sn_all_finite(net->params, net->n_params)) {
            st = sn_fail(err, SN_ERR_NONFINITE,
                         "training diverged at epoch %d: the loss or a weight became NaN or "
                         "infinite; try a smaller learning_rate or normalize the inputs",
                         epoch);
            break;
        }
        res.epochs_run = epoch;
        res.loss = loss;
        res.val_loss = val;
        if (loss_history)
            loss_history[epoch - 1] = loss;
        if (val_history)
            val_history[epoch - 1] = val;
        if (cfg->patience && cfg->val_rows) {
            if (val < best_val - cfg->min_delta) {
                best_val = val;
                since_best = 0;
                res.best_epoch = epoch;
                memcpy(s.best, net->params, net->n_params * sizeof(float));
            } else if (++since_best >= cfg->patience) {
                res.stopped_early = 1;
                memcpy(net->params, s.best, net->n_params * sizeof(float));
                break;
            }
        }
        if (cfg->progress && cfg->progress(cfg->progress_ctx, epoch, loss, val))
            st = sn_fail(err, SN_ERR_STOPPED, "stopped at epoch %d", epoch);
    }
    if (st != SN_OK && st != SN_ERR_STOPPED && s.start)
        memcpy(net->params, s.start, net->n_params * sizeof(float));
    run_free(&s);
    if (result)
        *result = res;
    return st;
}
