/*
 * test_core_train.c — the training loop does what the header promises.
 *
 * Small fixed-seed runs that must learn (XOR, three Gaussian blobs), exact
 * checks of mini-batching and of the optimizers' first two steps against
 * sn_gradient, validation history, early stopping, the progress callback,
 * input normalisation, and refusal of bad configurations.
 */
#include "testutil.h"

/* ---- learning ---- */

static const float xor_x[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const float xor_y[4] = {0, 1, 1, 0};

START_TEST(test_xor_learns)
{
    static const int sizes[3] = {2, 4, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 7);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.optimizer.learning_rate = 0.05f;
    cfg.epochs = 1000;
    cfg.batch_size = 4;
    cfg.seed = 7;
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, xor_x, xor_y, 4, NULL, NULL, &res, &err), err);
    float out[4];
    TU_OK(sn_predict(net, xor_x, 4, out, &err), err);
    for (int i = 0; i < 4; i++)
        ck_assert_msg((out[i] > 0.5f) == (xor_y[i] > 0.5f), "XOR(%g,%g) = %g", xor_x[2 * i], xor_x[2 * i + 1], out[i]);
    /* Every output within 0.2 of its target leaves the mean below 0.04. */
    ck_assert_msg(res.loss < 0.04, "XOR loss %g", res.loss);
    sn_net_free(net);
}
END_TEST

/* n points per class around three centres, sd 0.7, drawn with sn_rng. */
static void blobs(sn_rng *rng, size_t n, float *X, float *Y, int *cls)
{
    static const double cx[3] = {0, 3, -3}, cy[3] = {3, -2, -2};
    for (size_t i = 0; i < 3 * n; i++) {
        int k = (int)(i % 3);
        X[2 * i] = (float)(cx[k] + 0.7 * sn_rng_normal(rng));
        X[2 * i + 1] = (float)(cy[k] + 0.7 * sn_rng_normal(rng));
        for (int o = 0; o < 3; o++) Y[3 * i + (size_t)o] = o == k ? 1.0f : 0.0f;
        cls[i] = k;
    }
}

START_TEST(test_softmax_separates_three_blobs)
{
    enum { PER = 60, N = 3 * PER };
    static float X[2 * N], Y[3 * N], TX[2 * N], TY[3 * N], P[3 * N];
    static int cls[N], tcls[N];
    sn_rng rng;
    sn_rng_seed(&rng, 2024);
    blobs(&rng, PER, X, Y, cls);
    blobs(&rng, PER, TX, TY, tcls); /* held-out points, never trained on */
    static const int sizes[3] = {2, 8, 3};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_RELU, SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY);
    sn_net *net = tu_net(&a, SN_INIT_AUTO, 3);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.optimizer.learning_rate = 0.01f;
    cfg.epochs = 60;
    cfg.batch_size = 16;
    cfg.seed = 3;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, X, Y, N, NULL, NULL, NULL, &err), err);
    TU_OK(sn_predict(net, TX, N, P, &err), err);
    int right = 0;
    for (int i = 0; i < N; i++) {
        const float *p = P + 3 * i;
        int best = 0;
        for (int o = 1; o < 3; o++) if (p[o] > p[best]) best = o;
        right += best == tcls[i];
        /* Softmax rows are distributions (float32 sum of 3: a few ulps). */
        ck_assert_msg(fabsf(p[0] + p[1] + p[2] - 1.0f) < 1e-5f, "row %d sums to %g", i, p[0] + p[1] + p[2]);
    }
    double acc = (double)right / N;
    printf("blobs: held-out accuracy %.3f\n", acc);
    /* The centres are ≥ 5 apart at sd 0.7: the Bayes error is ~0.01%. */
    ck_assert_msg(acc > 0.95, "held-out accuracy %.3f", acc);
    sn_net_free(net);
}
END_TEST

/* A smooth regression target for the optimizer runs. */
static void regression_data(float *X, float *Y, size_t rows, uint64_t seed)
{
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    tu_fill_uniform(&rng, X, rows * 3, -1, 1);
    for (size_t r = 0; r < rows; r++)
        Y[r] = (float)(0.5 + 0.35 * tanh(2 * X[3 * r] - X[3 * r + 1] * X[3 * r + 2]));
}

static void check_optimizer_reduces_loss(sn_optimizer_type type, float lr, int batch)
{
    enum { ROWS = 64, EPOCHS = 40 };
    float X[ROWS * 3], Y[ROWS];
    regression_data(X, Y, ROWS, 11);
    static const int sizes[3] = {3, 8, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 11);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(type);
    cfg.optimizer.learning_rate = lr;
    cfg.epochs = EPOCHS;
    cfg.batch_size = batch;
    cfg.seed = 11;
    double before = 0, after = 0, hist[EPOCHS];
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_evaluate_loss(net, X, Y, ROWS, &before, &err), err);
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, NULL, &res, &err), err);
    TU_OK(sn_evaluate_loss(net, X, Y, ROWS, &after, &err), err);
    ck_assert_int_eq(res.epochs_run, EPOCHS);
    ck_assert(res.loss == hist[EPOCHS - 1]);
    ck_assert_msg(isnan(res.val_loss), "val_loss without validation rows is %g", res.val_loss);
    /* Halving is a clear, robust margin for 40 epochs of a learnable target. */
    ck_assert_msg(after < 0.5 * before, "%s batch %d: loss %g -> %g", sn_optimizer_name(type), batch, before, after);
    ck_assert_msg(hist[EPOCHS - 1] < hist[0], "%s: history %g -> %g", sn_optimizer_name(type), hist[0],
                  hist[EPOCHS - 1]);
    sn_net_free(net);
}

START_TEST(test_sgd_minibatch_reduces_loss) { check_optimizer_reduces_loss(SN_OPT_SGD, 0.5f, 8); }
END_TEST
START_TEST(test_momentum_minibatch_reduces_loss) { check_optimizer_reduces_loss(SN_OPT_MOMENTUM, 0.1f, 8); }
END_TEST
START_TEST(test_adam_minibatch_reduces_loss) { check_optimizer_reduces_loss(SN_OPT_ADAM, 0.01f, 10); }
END_TEST

/* ---- batching and optimizer state, step by step ---- */

/* A [3,4,1] net and 4 rows; shuffle off so batches are rows in order. */
static sn_net *small_net(float *X, float *Y)
{
    regression_data(X, Y, 4, 21);
    static const int sizes[3] = {3, 4, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    return tu_net(&a, SN_INIT_NORMAL, 21);
}

/* Float32 steps against the same steps done here in double from
 * sn_gradient: each parameter differs by a few ulps of itself and of its
 * step; 1e-5 relative of the step and 2.4e-7 of θ cover two steps. */
static void assert_params_close(const sn_net *net, const double *want, size_t n, const double *step, const char *what)
{
    const float *p = sn_net_params_const(net, NULL);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(p[i] - want[i]) <= 1e-5 * step[i] + 2.4e-7 * fabs(want[i]) + 1e-9,
                      "%s: param %zu is %.9g, want %.9g", what, i, p[i], want[i]);
}

START_TEST(test_batches_are_means_over_rows_in_order)
{
    /* batch 2 of 4 rows, one epoch, no shuffle: θ -= lr·g(rows 0-1), then
     * θ -= lr·g(rows 2-3) at the new θ — mean, not sum, over each batch. */
    float X[12], Y[4], g[21];
    sn_net *net = small_net(X, Y);
    sn_net *ref = NULL;
    sn_error err = {0};
    TU_OK(sn_net_copy(net, &ref, &err), err);
    size_t n = 0;
    float *rp = sn_net_params(ref, &n);
    ck_assert_uint_eq(n, 21);
    double want[21], step[21] = {0}, lr = 0.5f, loss;
    for (int b = 0; b < 2; b++) {
        TU_OK(sn_gradient(ref, X + 6 * b, Y + 2 * b, 2, g, &loss, &err), err);
        for (size_t i = 0; i < n; i++) {
            want[i] = (b == 0 ? (double)rp[i] : want[i]) - lr * g[i];
            step[i] += fabs(lr * g[i]);
            rp[i] = (float)want[i];
        }
    }
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer.learning_rate = 0.5f;
    cfg.epochs = 1;
    cfg.batch_size = 2;
    cfg.shuffle = 0;
    TU_OK(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, &err), err);
    assert_params_close(net, want, n, step, "batch 2");
    sn_net_free(ref);
    sn_net_free(net);
}
END_TEST

START_TEST(test_uneven_last_batch_and_oversized_batch)
{
    /* batch 3 of 4 rows: a batch of 3 then a batch of 1. A batch larger
     * than the data is one full batch. */
    float X[12], Y[4], g[21];
    sn_net *net = small_net(X, Y);
    sn_net *ref = NULL, *big = NULL;
    sn_error err = {0};
    TU_OK(sn_net_copy(net, &ref, &err), err);
    TU_OK(sn_net_copy(net, &big, &err), err);
    size_t n = 0;
    float *rp = sn_net_params(ref, &n);
    double want[21], step[21] = {0}, lr = 0.5f, loss;
    static const size_t start[2] = {0, 3}, len[2] = {3, 1};
    for (int b = 0; b < 2; b++) {
        TU_OK(sn_gradient(ref, X + 3 * start[b], Y + start[b], len[b], g, &loss, &err), err);
        for (size_t i = 0; i < n; i++) {
            want[i] = (b == 0 ? (double)rp[i] : want[i]) - lr * g[i];
            step[i] += fabs(lr * g[i]);
            rp[i] = (float)want[i];
        }
    }
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer.learning_rate = 0.5f;
    cfg.epochs = 1;
    cfg.batch_size = 3;
    cfg.shuffle = 0;
    TU_OK(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, &err), err);
    assert_params_close(net, want, n, step, "batch 3 of 4");

    const float *bp = sn_net_params_const(big, NULL);
    TU_OK(sn_gradient(big, X, Y, 4, g, &loss, &err), err);
    for (size_t i = 0; i < n; i++) {
        want[i] = bp[i] - lr * g[i];
        step[i] = fabs(lr * g[i]);
    }
    cfg.batch_size = 100;
    TU_OK(sn_train(big, &cfg, X, Y, 4, NULL, NULL, NULL, &err), err);
    assert_params_close(big, want, n, step, "batch 100 of 4");
    sn_net_free(big);
    sn_net_free(ref);
    sn_net_free(net);
}
END_TEST

/* Two full-batch epochs (two steps) of `opt`, by hand from sn_gradient. */
static void check_two_steps(const sn_optimizer *opt)
{
    float X[12], Y[4], g[21];
    sn_net *net = small_net(X, Y);
    sn_net *ref = NULL;
    sn_error err = {0};
    TU_OK(sn_net_copy(net, &ref, &err), err);
    size_t n = 0;
    float *rp = sn_net_params(ref, &n);
    double want[21], step[21] = {0}, m[21] = {0}, v[21] = {0}, loss;
    double lr = opt->learning_rate, mu = opt->momentum, b1 = opt->beta1, b2 = opt->beta2, eps = opt->epsilon;
    for (int t = 1; t <= 2; t++) {
        TU_OK(sn_gradient(ref, X, Y, 4, g, &loss, &err), err);
        for (size_t i = 0; i < n; i++) {
            double d;
            if (opt->type == SN_OPT_MOMENTUM) { /* PyTorch: v = μv + g; θ -= lr·v */
                m[i] = mu * m[i] + g[i];
                d = lr * m[i];
            } else { /* Adam with bias correction at step t */
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * (double)g[i] * g[i];
                d = lr * (m[i] / (1 - pow(b1, t))) / (sqrt(v[i] / (1 - pow(b2, t))) + eps);
            }
            want[i] = (t == 1 ? (double)rp[i] : want[i]) - d;
            step[i] += fabs(d);
            rp[i] = (float)want[i];
        }
    }
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = *opt;
    cfg.epochs = 2;
    cfg.batch_size = 4;
    cfg.shuffle = 0;
    TU_OK(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, &err), err);
    assert_params_close(net, want, n, step, sn_optimizer_name(opt->type));
    sn_net_free(ref);
    sn_net_free(net);
}

START_TEST(test_momentum_two_steps_keep_velocity)
{
    sn_optimizer o = sn_optimizer_default(SN_OPT_MOMENTUM);
    o.learning_rate = 0.2f;
    o.momentum = 0.8f;
    check_two_steps(&o);
}
END_TEST

START_TEST(test_adam_two_steps_bias_corrected)
{
    sn_optimizer o = sn_optimizer_default(SN_OPT_ADAM);
    o.learning_rate = 0.05f;
    check_two_steps(&o);
}
END_TEST

/* ---- validation, early stopping, progress ---- */

START_TEST(test_validation_rows_give_val_history)
{
    enum { ROWS = 48, VAL = 16, EPOCHS = 10 };
    float X[ROWS * 3], Y[ROWS], VX[VAL * 3], VY[VAL];
    regression_data(X, Y, ROWS, 31);
    regression_data(VX, VY, VAL, 32);
    static const int sizes[3] = {3, 6, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 31);
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = EPOCHS;
    cfg.batch_size = 8;
    cfg.val_x = VX;
    cfg.val_y = VY;
    cfg.val_rows = VAL;
    double hist[EPOCHS], val[EPOCHS], final_val = 0;
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, val, &res, &err), err);
    for (int e = 0; e < EPOCHS; e++) ck_assert_msg(isfinite(val[e]) && val[e] > 0, "val[%d] = %g", e, val[e]);
    ck_assert(res.val_loss == val[EPOCHS - 1]);
    ck_assert(!res.stopped_early);
    /* The last entry is the loss of the final parameters on the validation
     * rows; the same float32 forward, summed perhaps in another order. */
    TU_OK(sn_evaluate_loss(net, VX, VY, VAL, &final_val, &err), err);
    ck_assert_msg(tu_rel(final_val, val[EPOCHS - 1]) < 1e-6, "evaluate %.9g, history %.9g", final_val, val[EPOCHS - 1]);

    /* Without validation rows val_history is NaN. */
    cfg.val_x = NULL;
    cfg.val_y = NULL;
    cfg.val_rows = 0;
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, val, &res, &err), err);
    for (int e = 0; e < EPOCHS; e++) ck_assert_msg(isnan(val[e]), "val[%d] = %g without validation", e, val[e]);
    ck_assert(isnan(res.val_loss));
    sn_net_free(net);
}
END_TEST

/* Training targets y = x₁-ish, validation targets their mirror image: the
 * better the fit, the worse the validation loss, so stopping is certain. */
static sn_net *diverging_val(float *X, float *Y, float *VX, float *VY, size_t rows)
{
    regression_data(X, Y, rows, 41);
    memcpy(VX, X, sizeof(float) * rows * 3);
    for (size_t r = 0; r < rows; r++) VY[r] = 1.0f - Y[r];
    static const int sizes[3] = {3, 6, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    return tu_net(&a, SN_INIT_XAVIER, 41);
}

START_TEST(test_early_stopping_keeps_best_epoch)
{
    enum { ROWS = 32, EPOCHS = 200, PATIENCE = 3 };
    float X[ROWS * 3], Y[ROWS], VX[ROWS * 3], VY[ROWS];
    sn_net *net = diverging_val(X, Y, VX, VY, ROWS);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.optimizer.learning_rate = 0.02f;
    cfg.epochs = EPOCHS;
    cfg.batch_size = 8;
    cfg.val_x = VX;
    cfg.val_y = VY;
    cfg.val_rows = ROWS;
    cfg.patience = PATIENCE;
    double hist[EPOCHS], val[EPOCHS], kept = 0;
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, val, &res, &err), err);
    printf("early stopping: %d epochs run, best %d\n", res.epochs_run, res.best_epoch);
    ck_assert(res.stopped_early);
    ck_assert_int_lt(res.epochs_run, EPOCHS);
    ck_assert_int_ge(res.best_epoch, 1);
    /* It stops exactly when `patience` epochs have passed without improving. */
    ck_assert_int_eq(res.epochs_run, res.best_epoch + PATIENCE);
    for (int e = res.best_epoch; e < res.epochs_run; e++)
        ck_assert_msg(val[e] >= val[res.best_epoch - 1], "epoch %d improved on the best", e + 1);
    /* The best epoch's parameters are kept. */
    TU_OK(sn_evaluate_loss(net, VX, VY, ROWS, &kept, &err), err);
    ck_assert_msg(tu_rel(kept, val[res.best_epoch - 1]) < 1e-6, "kept params score %.9g, best epoch %.9g", kept,
                  val[res.best_epoch - 1]);
    sn_net_free(net);
}
END_TEST

START_TEST(test_min_delta_demands_real_improvement)
{
    /* With min_delta larger than any loss, nothing after epoch 1 counts. */
    enum { ROWS = 32, EPOCHS = 50, PATIENCE = 4 };
    float X[ROWS * 3], Y[ROWS], VX[ROWS * 3], VY[ROWS];
    regression_data(X, Y, ROWS, 42);
    regression_data(VX, VY, ROWS, 43);
    static const int sizes[3] = {3, 6, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 42);
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = EPOCHS;
    cfg.batch_size = 4;
    cfg.val_x = VX;
    cfg.val_y = VY;
    cfg.val_rows = ROWS;
    cfg.patience = PATIENCE;
    cfg.min_delta = 10.0;
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, NULL, NULL, &res, &err), err);
    ck_assert(res.stopped_early);
    ck_assert_int_eq(res.best_epoch, 1);
    ck_assert_int_eq(res.epochs_run, 1 + PATIENCE);
    sn_net_free(net);
}
END_TEST

typedef struct {
    int calls, last_epoch, stop_at, in_order;
    double losses[64], vals[64];
} progress_log;

static int on_progress(void *ctx, int epoch, double loss, double val_loss)
{
    progress_log *p = ctx;
    if (epoch != p->last_epoch + 1) p->in_order = 0;
    p->last_epoch = epoch;
    if (p->calls < 64) {
        p->losses[p->calls] = loss;
        p->vals[p->calls] = val_loss;
    }
    p->calls++;
    return p->stop_at && epoch == p->stop_at;
}

START_TEST(test_progress_called_once_per_epoch)
{
    enum { ROWS = 16, EPOCHS = 12 };
    float X[ROWS * 3], Y[ROWS];
    regression_data(X, Y, ROWS, 51);
    static const int sizes[3] = {3, 4, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 51);
    progress_log log = {.in_order = 1};
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = EPOCHS;
    cfg.batch_size = 4;
    cfg.progress = on_progress;
    cfg.progress_ctx = &log;
    double hist[EPOCHS];
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, NULL, NULL, &err), err);
    ck_assert_int_eq(log.calls, EPOCHS);
    ck_assert(log.in_order);
    ck_assert_int_eq(log.last_epoch, EPOCHS);
    for (int e = 0; e < EPOCHS; e++) {
        ck_assert_msg(log.losses[e] == hist[e], "epoch %d: callback loss %g, history %g", e + 1, log.losses[e], hist[e]);
        ck_assert(isnan(log.vals[e]));
    }
    sn_net_free(net);
}
END_TEST

START_TEST(test_progress_stop_keeps_last_full_epoch)
{
    enum { ROWS = 16, EPOCHS = 20, STOP = 3 };
    float X[ROWS * 3], Y[ROWS];
    regression_data(X, Y, ROWS, 52);
    static const int sizes[3] = {3, 4, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 52);
    sn_net *ref = tu_net(&a, SN_INIT_XAVIER, 52);
    progress_log log = {.in_order = 1, .stop_at = STOP};
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = EPOCHS;
    cfg.batch_size = 4;
    cfg.seed = 99;
    cfg.progress = on_progress;
    cfg.progress_ctx = &log;
    double hist[EPOCHS];
    sn_train_result res;
    sn_error err = {0};
    TU_STATUS(sn_train(net, &cfg, X, Y, ROWS, hist, NULL, &res, &err), SN_ERR_STOPPED);
    ck_assert_int_eq(err.code, SN_ERR_STOPPED);
    ck_assert_int_eq(log.calls, STOP);
    ck_assert_int_eq(res.epochs_run, STOP);
    ck_assert(res.loss == hist[STOP - 1]);
    /* The parameters are those after epoch 3: a 3-epoch run from the same
     * start and seed gives the same bytes. */
    cfg.epochs = STOP;
    cfg.progress = NULL;
    TU_OK(sn_train(ref, &cfg, X, Y, ROWS, NULL, NULL, NULL, &err), err);
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    ck_assert_msg(memcmp(p, sn_net_params_const(ref, NULL), n * sizeof(float)) == 0,
                  "stopped run's parameters differ from a 3-epoch run's");
    sn_net_free(ref);
    sn_net_free(net);
}
END_TEST

/* ---- normalisation ---- */

/* Column 0: 1,2,3,4 (mean 2.5, population sd √1.25, min 1, max 4);
 * column 1: -10,0,10,20 (mean 5, sd √125, min -10, max 20); column 2: constant 7. */
static const float norm_x[12] = {1, -10, 7, 2, 0, 7, 3, 10, 7, 4, 20, 7};

START_TEST(test_fit_standard_statistics)
{
    static const int sizes[3] = {3, 2, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 1);
    const float *shift = NULL, *scale = NULL;
    ck_assert_int_eq(sn_net_norm(net, &shift, &scale), SN_NORM_NONE);
    ck_assert_ptr_null(shift);
    ck_assert_ptr_null(scale);
    sn_error err = {0};
    TU_OK(sn_net_fit_norm(net, SN_NORM_STANDARD, norm_x, 4, &err), err);
    ck_assert_int_eq(sn_net_norm(net, &shift, &scale), SN_NORM_STANDARD);
    /* Population standard deviation (divide by n, as scikit-learn's
     * StandardScaler); float32 storage: 1e-6 relative. */
    const double want_shift[3] = {2.5, 5, 7}, want_scale[3] = {1 / sqrt(1.25), 1 / sqrt(125.0), 1};
    for (int j = 0; j < 3; j++) {
        ck_assert_msg(tu_rel(shift[j], want_shift[j]) < 1e-6, "shift[%d] %.9g, want %.9g", j, shift[j], want_shift[j]);
        ck_assert_msg(tu_rel(scale[j], want_scale[j]) < 1e-6, "scale[%d] %.9g, want %.9g", j, scale[j], want_scale[j]);
    }
    sn_net_free(net);
}
END_TEST

START_TEST(test_fit_minmax_statistics_and_none_removes)
{
    static const int sizes[3] = {3, 2, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 1);
    const float *shift = NULL, *scale = NULL;
    sn_error err = {0};
    TU_OK(sn_net_fit_norm(net, SN_NORM_MINMAX, norm_x, 4, &err), err);
    ck_assert_int_eq(sn_net_norm(net, &shift, &scale), SN_NORM_MINMAX);
    const double want_shift[3] = {1, -10, 7}, want_scale[3] = {1 / 3.0, 1 / 30.0, 1};
    for (int j = 0; j < 3; j++) {
        ck_assert_msg(tu_rel(shift[j], want_shift[j]) < 1e-6, "shift[%d] %.9g, want %.9g", j, shift[j], want_shift[j]);
        ck_assert_msg(tu_rel(scale[j], want_scale[j]) < 1e-6, "scale[%d] %.9g, want %.9g", j, scale[j], want_scale[j]);
    }
    TU_OK(sn_net_fit_norm(net, SN_NORM_NONE, norm_x, 4, &err), err);
    ck_assert_int_eq(sn_net_norm(net, &shift, &scale), SN_NORM_NONE);
    ck_assert_ptr_null(shift);
    TU_STATUS(sn_net_fit_norm(net, SN_NORM_STANDARD, norm_x, 0, NULL), SN_ERR_INVALID);
    float bad[12];
    memcpy(bad, norm_x, sizeof bad);
    bad[4] = NAN;
    TU_STATUS(sn_net_fit_norm(net, SN_NORM_STANDARD, bad, 4, NULL), SN_ERR_NONFINITE);
    sn_net_free(net);
}
END_TEST

START_TEST(test_predict_and_training_apply_normalisation)
{
    static const int sizes[3] = {3, 5, 2};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_LINEAR, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 61);
    sn_net *plain = NULL;
    sn_error err = {0};
    TU_OK(sn_net_copy(net, &plain, &err), err);
    const float shift[3] = {1.5f, -2.0f, 10.0f}, scale[3] = {0.5f, 2.0f, 0.125f};
    TU_OK(sn_net_set_norm(net, SN_NORM_STANDARD, shift, scale, &err), err);
    /* The copy made before has none: a deep copy, not shared state. */
    ck_assert_int_eq(sn_net_norm(plain, NULL, NULL), SN_NORM_NONE);
    float xn[12], yn[8], yp[8];
    for (int i = 0; i < 12; i++) xn[i] = (norm_x[i] - shift[i % 3]) * scale[i % 3];
    TU_OK(sn_predict(net, norm_x, 4, yn, &err), err);
    TU_OK(sn_predict(plain, xn, 4, yp, &err), err);
    /* Same float32 arithmetic on inputs normalised the same way: a few ulps. */
    for (int i = 0; i < 8; i++) ck_assert_msg(fabsf(yn[i] - yp[i]) <= 1e-6f * (1 + fabsf(yp[i])), "out %d: %g vs %g", i, yn[i], yp[i]);

    /* Training sees the normalised inputs: explain's a[0] shows them. */
    float Y[8] = {0};
    sn_optimizer opt = sn_optimizer_default(SN_OPT_SGD);
    sn_explain *ex = NULL;
    TU_OK(sn_explain_step(net, &opt, norm_x, Y, 4, &ex, &err), err);
    for (int i = 0; i < 12; i++) ck_assert_msg(fabsf(ex->a[0][i] - xn[i]) <= 1e-6f * (1 + fabsf(xn[i])), "a[0][%d]", i);
    sn_explain_free(ex);
    /* Loss evaluation applies it too. */
    double l1 = 0, l2 = 0;
    TU_OK(sn_evaluate_loss(net, norm_x, Y, 4, &l1, &err), err);
    TU_OK(sn_evaluate_loss(plain, xn, Y, 4, &l2, &err), err);
    ck_assert_msg(tu_rel(l1, l2) < 1e-6, "loss %g vs %g", l1, l2);
    sn_net_free(plain);
    sn_net_free(net);
}
END_TEST

START_TEST(test_training_learns_unscaled_inputs_after_standardising)
{
    /* Inputs in the thousands saturate tanh; standardised they train. */
    enum { ROWS = 64, EPOCHS = 60 };
    float X[ROWS * 3], Y[ROWS];
    regression_data(X, Y, ROWS, 71);
    for (int i = 0; i < ROWS * 3; i++) X[i] = X[i] * 1000.0f + 5000.0f;
    static const int sizes[3] = {3, 8, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 71);
    sn_error err = {0};
    TU_OK(sn_net_fit_norm(net, SN_NORM_STANDARD, X, ROWS, &err), err);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.optimizer.learning_rate = 0.02f;
    cfg.epochs = EPOCHS;
    cfg.batch_size = 8;
    double hist[EPOCHS];
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, hist, NULL, NULL, &err), err);
    ck_assert_msg(hist[EPOCHS - 1] < 0.5 * hist[0], "loss %g -> %g", hist[0], hist[EPOCHS - 1]);
    ck_assert_int_eq(sn_net_norm(net, NULL, NULL), SN_NORM_STANDARD); /* kept */
    sn_net_free(net);
}
END_TEST

/* ---- refusal ---- */

START_TEST(test_bad_config_is_invalid_and_changes_nothing)
{
    float X[12], Y[4];
    sn_net *net = small_net(X, Y);
    size_t n = 0;
    float before[21];
    memcpy(before, sn_net_params_const(net, &n), sizeof before);
    sn_train_config good = sn_train_config_default(), cfg;
    good.epochs = 2;
    sn_train_result res;
    cfg = good; cfg.epochs = 0;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, &res, NULL), SN_ERR_INVALID);
    ck_assert_int_eq(res.epochs_run, 0);
    cfg = good; cfg.batch_size = 0;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    cfg = good; cfg.optimizer.learning_rate = 0;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    cfg = good; cfg.optimizer.type = SN_OPT_COUNT;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    cfg = good; cfg.patience = -1;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    cfg = good; cfg.val_rows = 4; /* rows promised, none given */
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    cfg = good;
    TU_STATUS(sn_train(net, &cfg, X, Y, 0, NULL, NULL, NULL, NULL), SN_ERR_INVALID);
    sn_error err = {0};
    cfg = good; cfg.epochs = -5;
    TU_STATUS(sn_train(net, &cfg, X, Y, 4, NULL, NULL, NULL, &err), SN_ERR_INVALID);
    ck_assert_int_eq(err.code, SN_ERR_INVALID);
    ck_assert_msg(strstr(err.message, "epochs") != NULL, "the sentence does not name epochs: %s", err.message);
    ck_assert(memcmp(before, sn_net_params_const(net, NULL), sizeof before) == 0);
    sn_net_free(net);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("core_train");
    TCase *tc = tcase_create("learning");
    tcase_set_timeout(tc, 60); /* a second or less each; room for sanitizers */
    tcase_add_test(tc, test_xor_learns);
    tcase_add_test(tc, test_softmax_separates_three_blobs);
    tcase_add_test(tc, test_sgd_minibatch_reduces_loss);
    tcase_add_test(tc, test_momentum_minibatch_reduces_loss);
    tcase_add_test(tc, test_adam_minibatch_reduces_loss);
    suite_add_tcase(s, tc);
    tc = tcase_create("steps");
    tcase_add_test(tc, test_batches_are_means_over_rows_in_order);
    tcase_add_test(tc, test_uneven_last_batch_and_oversized_batch);
    tcase_add_test(tc, test_momentum_two_steps_keep_velocity);
    tcase_add_test(tc, test_adam_two_steps_bias_corrected);
    suite_add_tcase(s, tc);
    tc = tcase_create("loop");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_validation_rows_give_val_history);
    tcase_add_test(tc, test_early_stopping_keeps_best_epoch);
    tcase_add_test(tc, test_min_delta_demands_real_improvement);
    tcase_add_test(tc, test_progress_called_once_per_epoch);
    tcase_add_test(tc, test_progress_stop_keeps_last_full_epoch);
    tcase_add_test(tc, test_bad_config_is_invalid_and_changes_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("normalisation");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fit_standard_statistics);
    tcase_add_test(tc, test_fit_minmax_statistics_and_none_removes);
    tcase_add_test(tc, test_predict_and_training_apply_normalisation);
    tcase_add_test(tc, test_training_learns_unscaled_inputs_after_standardising);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(train_suite(), 0);
}
