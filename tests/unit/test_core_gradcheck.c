/*
 * test_core_gradcheck.c — backpropagation against finite differences.
 *
 * For every hidden activation × every valid (output activation, loss) pair,
 * on random 3- and 4-layer networks and 5-row batches, sn_gradient must agree
 * with sn_numeric_gradient; the numeric gradient and the loss are in turn
 * checked against this file's own double-precision forward pass, so neither
 * side of the comparison is trusted blindly. Then sn_explain_step: its
 * gradient, intermediates, error figure and one step of each optimizer.
 * Runs without forking so that the largest error over the suite can be printed.
 */
#include "testutil.h"

/* Step of the central differences. In double the truncation error is
 * ~h²·f''' ≈ 1e-12 and the rounding error ~1e-16·|L|/h ≈ 1e-10: the numeric
 * gradient is good to ~1e-9, three orders below the float32 analytic error. */
#define FD_H 1e-6

/* The analytic gradient is float32: activations and deltas of O(1) carry
 * relative errors of a few ulps (1.2e-7), and a gradient entry sums batch ×
 * fan-in such products, so its absolute error is ~1e-7..1e-6 where terms
 * cancel (GRAD_ATOL), and its relative error a few 1e-6 where they do not;
 * GRAD_RTOL = 1e-4 leaves a factor ~30 of room for depth, exp and log, yet
 * any wrong derivative, missing 1/n or wrong slope is off by > 1e-2. */
#define GRAD_RTOL 1e-4
#define GRAD_ATOL 2e-6

/* A relu/leaky_relu unit closer than this to its kink would let a central
 * difference straddle the corner; a parameter step of h moves any z by at
 * most ~h·|input|·(fan-in) ≈ 1e-5, so 1e-3 is a wide margin. */
#define KINK_MARGIN 1e-3

#define ROWS 5

static double worst_rel = 0, worst_abs = 0;
static char worst_where[160] = "none", worst_abs_where[160] = "none";

typedef struct { sn_activation out; sn_loss loss; } head;

/* Every output/loss pair the header allows, then two it rules out ("softmax
 * output requires crossentropy and back") but which an implementation may
 * accept; those are checked only if sn_arch_check accepts them — whatever
 * the core accepts must have a correct gradient. */
static const head heads[] = {
    {SN_ACT_SIGMOID, SN_LOSS_MSE},
    {SN_ACT_LINEAR, SN_LOSS_MSE},
    {SN_ACT_TANH, SN_LOSS_MSE},
    {SN_ACT_SIGMOID, SN_LOSS_BCE},
    {SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY},
    {SN_ACT_SOFTMAX, SN_LOSS_MSE},
    {SN_ACT_SOFTMAX, SN_LOSS_BCE},
};
#define N_REQUIRED_HEADS 5

static const int shape_a[4] = {4, 5, 3, 2};
static const int shape_b[3] = {3, 6, 4};

/* Targets valid for the loss: one-hot rows for crossentropy, (0,1) for bce
 * and sigmoid outputs, (-1,1) otherwise. */
static void fill_targets(sn_rng *rng, const head *h, float *Y, size_t rows, int outs)
{
    for (size_t r = 0; r < rows; r++) {
        float *y = Y + r * (size_t)outs;
        if (h->loss == SN_LOSS_CROSSENTROPY) {
            int k = (int)sn_rng_below(rng, (uint64_t)outs);
            for (int o = 0; o < outs; o++) y[o] = o == k ? 1.0f : 0.0f;
        } else if (h->out == SN_ACT_SIGMOID || h->loss == SN_LOSS_BCE) {
            tu_fill_uniform(rng, y, (size_t)outs, 0.05, 0.95);
        } else {
            tu_fill_uniform(rng, y, (size_t)outs, -1, 1);
        }
    }
}

/* The core keeps bce's log() finite by clamping ŷ to [1e-7, 1-1e-7], as
 * Keras does: beyond the clamp the loss is flat (so the numeric gradient is
 * 0) while backprop keeps the unclamped slope. Near the clamp float32 also
 * resolves 1-ŷ poorly (ulp 6e-8 against 1-ŷ), and bce's slope 1/(ŷ(1-ŷ))
 * amplifies that. Batches with an output within 1e-3 of 0 or 1 are redrawn:
 * there the clamp never acts and 1-ŷ keeps four digits more than needed. */
static int saturated(const double *P, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (P[i] < 1e-3 || P[i] > 1 - 1e-3) return 1;
    return 0;
}

/* One network, one batch: analytic vs numeric gradient, and both the loss
 * and the numeric gradient's forward vs this file's reference. */
static void check_case(sn_activation hidden, const head *h, int n_layers, const int *sizes, uint64_t seed)
{
    sn_arch a = tu_arch_hidden(n_layers, sizes, hidden, h->out, h->loss);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 0);
    int ins = sizes[0], outs = sizes[n_layers - 1];
    float X[ROWS * 8], Y[ROWS * 8];
    double P[ROWS * 8];
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    double kink = 0;
    int tries = 0;
    do { /* redraw until no relu unit sits on its kink and bce is unclamped */
        tu_fill_params(net, &rng, 0.8);
        tu_fill_uniform(&rng, X, (size_t)ROWS * (size_t)ins, -2, 2);
        tu_ref_forward(net, X, ROWS, P, &kink);
        ck_assert_msg(++tries < 100, "no batch away from the relu kinks and the bce clamp");
    } while (kink < KINK_MARGIN || (h->loss == SN_LOSS_BCE && saturated(P, (size_t)ROWS * (size_t)outs)));
    fill_targets(&rng, h, Y, ROWS, outs);

    char where[160];
    snprintf(where, sizeof where, "%s hidden, %s output, %s loss, %d layers",
             sn_activation_name(hidden), sn_activation_name(h->out), sn_loss_name(h->loss), n_layers);

    size_t n = 0;
    sn_net_params(net, &n);
    ck_assert_uint_eq(n, sn_arch_param_count(&a));
    float *g = malloc(sizeof(float) * n);
    double *num = malloc(sizeof(double) * n);
    ck_assert(g && num);
    double loss = NAN;
    sn_error err = {0};
    TU_OK(sn_gradient(net, X, Y, ROWS, g, &loss, &err), err);
    TU_OK(sn_numeric_gradient(net, X, Y, ROWS, FD_H, num, &err), err);

    /* The loss: the core's ŷ is float32, a few ulps (4·2⁻²⁴ relative) off
     * the double ŷ, and each term of the loss amplifies that by its slope
     * |∂ℓ/∂ŷ|·|ŷ| — large for bce when a sigmoid nears 1, where 1-ŷ keeps
     * few digits in float32. Plus 1e-5 relative for the sums. */
    double ref_loss = tu_ref_loss(h->loss, P, Y, ROWS, outs), slack = 0;
    for (size_t i = 0; i < (size_t)ROWS * (size_t)outs; i++) {
        double p = P[i], y = Y[i], slope;
        switch (h->loss) {
        case SN_LOSS_MSE: slope = 2 * fabs(p - y); break;
        case SN_LOSS_BCE: slope = fabs(p - y) / (p * (1 - p)); break;
        default: slope = y / p; break;
        }
        slack += slope * fabs(p) * 4 * 0x1p-24;
    }
    slack /= h->loss == SN_LOSS_CROSSENTROPY ? ROWS : ROWS * outs;
    ck_assert_msg(fabs(loss - ref_loss) <= 1e-5 * fabs(ref_loss) + slack + 1e-7,
                  "%s: loss %.9g, reference %.12g (allowed %.3g)", where, loss, ref_loss, slack);

    for (size_t i = 0; i < n; i++) {
        double d = fabs(g[i] - num[i]), m = fmax(fabs(g[i]), fabs(num[i]));
        ck_assert_msg(d <= GRAD_RTOL * m + GRAD_ATOL, "%s: param %zu analytic %.9g numeric %.9g",
                      where, i, g[i], num[i]);
        if (d > worst_abs) {
            worst_abs = d;
            snprintf(worst_abs_where, sizeof worst_abs_where, "%.100s, param %zu (%.6g vs %.6g)", where, i,
                     (double)g[i], num[i]);
        }
        if (m >= 1e-3 && d / m > worst_rel) {
            worst_rel = d / m;
            snprintf(worst_where, sizeof worst_where, "%.100s, param %zu (%.6g vs %.6g)", where, i, (double)g[i], num[i]);
        }
    }
    free(g);
    free(num);
    sn_net_free(net);
}

static void check_hidden(sn_activation hidden)
{
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++) {
        sn_arch probe = tu_arch_hidden(3, shape_b, hidden, heads[k].out, heads[k].loss);
        if (k >= N_REQUIRED_HEADS && sn_arch_check(&probe, NULL) != SN_OK) continue;
        for (uint64_t s = 1; s <= 2; s++) {
            check_case(hidden, &heads[k], 4, shape_a, 1000 * (uint64_t)hidden + 10 * k + s);
            check_case(hidden, &heads[k], 3, shape_b, 5000 + 1000 * (uint64_t)hidden + 10 * k + s);
        }
    }
}

START_TEST(test_gradcheck_sigmoid_hidden) { check_hidden(SN_ACT_SIGMOID); }
END_TEST
START_TEST(test_gradcheck_tanh_hidden) { check_hidden(SN_ACT_TANH); }
END_TEST
START_TEST(test_gradcheck_relu_hidden) { check_hidden(SN_ACT_RELU); }
END_TEST
START_TEST(test_gradcheck_leaky_relu_hidden) { check_hidden(SN_ACT_LEAKY_RELU); }
END_TEST
START_TEST(test_gradcheck_linear_hidden) { check_hidden(SN_ACT_LINEAR); }
END_TEST

START_TEST(test_gradcheck_mixed_activations_deep)
{
    /* Six layers, a different activation in each, per-layer act[] honoured. */
    static const int sizes[6] = {3, 5, 4, 6, 3, 3};
    static const sn_activation act[5] = {SN_ACT_TANH, SN_ACT_LEAKY_RELU, SN_ACT_SIGMOID,
                                         SN_ACT_LINEAR, SN_ACT_SOFTMAX};
    sn_arch a = tu_arch(6, sizes, act, SN_LOSS_CROSSENTROPY);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 0);
    sn_rng rng;
    sn_rng_seed(&rng, 77);
    float X[ROWS * 3], Y[ROWS * 3];
    double P[ROWS * 3], kink = 0;
    do {
        tu_fill_params(net, &rng, 0.8);
        tu_fill_uniform(&rng, X, sizeof X / sizeof X[0], -2, 2);
        tu_ref_forward(net, X, ROWS, P, &kink);
    } while (kink < KINK_MARGIN);
    head h = {SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY};
    fill_targets(&rng, &h, Y, ROWS, 3);
    size_t n = sn_arch_param_count(&a);
    float *g = malloc(sizeof(float) * n);
    double *num = malloc(sizeof(double) * n), loss = 0;
    sn_error err = {0};
    TU_OK(sn_gradient(net, X, Y, ROWS, g, &loss, &err), err);
    TU_OK(sn_numeric_gradient(net, X, Y, ROWS, FD_H, num, &err), err);
    for (size_t i = 0; i < n; i++) {
        double d = fabs(g[i] - num[i]), m = fmax(fabs(g[i]), fabs(num[i]));
        ck_assert_msg(d <= GRAD_RTOL * m + GRAD_ATOL, "param %zu analytic %.9g numeric %.9g", i, g[i], num[i]);
        if (d > worst_abs) worst_abs = d;
        if (m >= 1e-3 && d / m > worst_rel) {
            worst_rel = d / m;
            snprintf(worst_where, sizeof worst_where, "mixed 6-layer net, param %zu", i);
        }
    }
    free(g);
    free(num);
    sn_net_free(net);
}
END_TEST

START_TEST(test_numeric_gradient_matches_own_differences)
{
    /* sn_numeric_gradient against central differences of this file's own
     * forward pass at the same h: both are double, so they differ only by
     * rounding, ~1e-16·|L|/h ≈ 1e-10; 1e-7 is far above that and far below
     * any real disagreement. */
    for (size_t k = 0; k < N_REQUIRED_HEADS; k++) {
        sn_arch a = tu_arch_hidden(4, shape_a, SN_ACT_TANH, heads[k].out, heads[k].loss);
        sn_net *net = tu_net(&a, SN_INIT_NORMAL, 0);
        sn_rng rng;
        sn_rng_seed(&rng, 300 + k);
        tu_fill_params(net, &rng, 0.8);
        float X[ROWS * 4], Y[ROWS * 2];
        double P[ROWS * 2];
        tu_fill_uniform(&rng, X, sizeof X / sizeof X[0], -2, 2);
        fill_targets(&rng, &heads[k], Y, ROWS, 2);
        size_t n = 0;
        double *theta = tu_theta(net, &n);
        double *num = malloc(sizeof(double) * n);
        sn_error err = {0};
        TU_OK(sn_numeric_gradient(net, X, Y, ROWS, FD_H, num, &err), err);
        for (size_t i = 0; i < n; i++) {
            double keep = theta[i];
            theta[i] = keep + FD_H;
            tu_ref_forward_theta(net, theta, X, ROWS, P, NULL);
            double up = tu_ref_loss(heads[k].loss, P, Y, ROWS, 2);
            theta[i] = keep - FD_H;
            tu_ref_forward_theta(net, theta, X, ROWS, P, NULL);
            double down = tu_ref_loss(heads[k].loss, P, Y, ROWS, 2);
            theta[i] = keep;
            double own = (up - down) / (2 * FD_H);
            ck_assert_msg(fabs(own - num[i]) <= 1e-7 + 1e-6 * fabs(own), "%s: param %zu core %.12g own %.12g",
                          sn_loss_name(heads[k].loss), i, num[i], own);
        }
        free(theta);
        free(num);
        sn_net_free(net);
    }
}
END_TEST

START_TEST(test_gradient_rejects_bad_arguments)
{
    static const int sizes[3] = {2, 3, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 5);
    float X[2] = {0.5f, NAN}, Y[1] = {1}, g[13];
    double num[13], loss;
    TU_STATUS(sn_gradient(net, X, Y, 1, g, &loss, NULL), SN_ERR_NONFINITE);
    X[1] = 0.25f;
    TU_STATUS(sn_gradient(net, X, Y, 0, g, &loss, NULL), SN_ERR_INVALID);
    TU_STATUS(sn_numeric_gradient(net, X, Y, 1, 0.0, num, NULL), SN_ERR_INVALID);
    TU_STATUS(sn_numeric_gradient(net, X, Y, 1, -1e-6, num, NULL), SN_ERR_INVALID);
    sn_net_free(net);
}
END_TEST

/* ---- sn_explain_step ---- */

/* A [4,5,3,2] tanh/sigmoid network with MSE, which has no dead units and no
 * kinks, on a random batch. */
static sn_net *explain_net(sn_activation out, sn_loss loss, uint64_t seed, float *X, float *Y)
{
    sn_arch a = tu_arch_hidden(4, shape_a, SN_ACT_TANH, out, loss);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 0);
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    tu_fill_params(net, &rng, 0.8);
    tu_fill_uniform(&rng, X, ROWS * 4, -2, 2);
    head h = {out, loss};
    fill_targets(&rng, &h, Y, ROWS, 2);
    return net;
}

START_TEST(test_explain_matches_gradient_and_leaves_net)
{
    float X[ROWS * 4], Y[ROWS * 2];
    sn_net *net = explain_net(SN_ACT_SIGMOID, SN_LOSS_MSE, 41, X, Y);
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    float *before = malloc(sizeof(float) * n), *g = malloc(sizeof(float) * n);
    double *num = malloc(sizeof(double) * n), loss = 0;
    memcpy(before, p, sizeof(float) * n);
    sn_error err = {0};
    TU_OK(sn_gradient(net, X, Y, ROWS, g, &loss, &err), err);
    TU_OK(sn_numeric_gradient(net, X, Y, ROWS, FD_H, num, &err), err);
    sn_optimizer opt = sn_optimizer_default(SN_OPT_SGD);
    sn_explain *ex = NULL;
    TU_OK(sn_explain_step(net, &opt, X, Y, ROWS, &ex, &err), err);
    ck_assert_ptr_nonnull(ex);
    ck_assert_uint_eq(ex->param_count, n);
    ck_assert_uint_eq(ex->rows, ROWS);
    ck_assert_int_eq(ex->n_layers, 4);
    /* Same float32 computation: at most a different summation order, a few ulps. */
    ck_assert_msg(tu_rel(ex->loss, loss) < 1e-6, "explained loss %.9g, sn_gradient %.9g", ex->loss, loss);
    double recomputed = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(fabs(ex->grad[i] - g[i]) <= 1e-6 * fabs(g[i]) + 1e-8, "grad %zu: %.9g vs sn_gradient %.9g",
                      i, ex->grad[i], g[i]);
        /* Both are double central differences; they differ only by rounding. */
        ck_assert_msg(fabs(ex->numeric_grad[i] - num[i]) <= 1e-7 + 1e-6 * fabs(num[i]),
                      "numeric %zu: %.12g vs sn_numeric_gradient %.12g", i, ex->numeric_grad[i], num[i]);
        double r = fabs((double)ex->grad[i] - ex->numeric_grad[i]) /
                   fmax(fabs((double)ex->grad[i]) + fabs(ex->numeric_grad[i]), 1e-8);
        if (r > recomputed) recomputed = r;
    }
    /* max_rel_error is what the header defines, over the arrays it returns. */
    ck_assert_msg(fabs(ex->max_rel_error - recomputed) <= 1e-9 + 1e-6 * recomputed,
                  "max_rel_error %.12g, recomputed from grad and numeric_grad %.12g", ex->max_rel_error, recomputed);
    /* Small: float32 against double on a smooth net. The denominator is
     * |a|+|n|, so a wrong derivative shows as 0.1..1. */
    ck_assert_msg(ex->max_rel_error < 1e-3, "max_rel_error %g", ex->max_rel_error);
    ck_assert_msg(memcmp(sn_net_params_const(net, NULL), before, sizeof(float) * n) == 0,
                  "sn_explain_step changed the network");
    sn_explain_free(ex);
    free(before);
    free(g);
    free(num);
    sn_net_free(net);
}
END_TEST

/* For one explained step: z = a_prev·Wᵀ + b, a = act(z), grad_b = Σ_rows δ,
 * grad_W = δᵀ·a_prev, and the output delta from dL/dŷ. */
static void check_intermediates(sn_activation out, sn_loss loss, uint64_t seed)
{
    float X[ROWS * 4], Y[ROWS * 2];
    sn_net *net = explain_net(out, loss, seed, X, Y);
    const sn_arch *a = sn_net_arch(net);
    const float *p = sn_net_params_const(net, NULL);
    sn_optimizer opt = sn_optimizer_default(SN_OPT_SGD);
    sn_explain *ex = NULL;
    sn_error err = {0};
    TU_OK(sn_explain_step(net, &opt, X, Y, ROWS, &ex, &err), err);
    for (size_t i = 0; i < ROWS * 4; i++) ck_assert(ex->a[0][i] == X[i]); /* no normalisation */
    /* Tolerances: float32 sums of a few O(1) products, a few ulps → 1e-5 abs. */
    for (int l = 0; l < a->n_layers - 1; l++) {
        int in = a->sizes[l], o_n = a->sizes[l + 1];
        const float *W = p + sn_net_weight_offset(net, l), *b = p + sn_net_bias_offset(net, l);
        const float *gW = ex->grad + sn_net_weight_offset(net, l), *gb = ex->grad + sn_net_bias_offset(net, l);
        for (int o = 0; o < o_n; o++) {
            double sb = 0;
            for (size_t r = 0; r < ROWS; r++) {
                double z = b[o];
                for (int i = 0; i < in; i++) z += (double)W[o * in + i] * ex->a[l][r * (size_t)in + (size_t)i];
                float zc = ex->z[l][r * (size_t)o_n + (size_t)o];
                ck_assert_msg(fabs(zc - z) < 1e-5, "layer %d z[%zu][%d] %.9g, want %.9g", l, r, o, zc, z);
                if (a->act[l] != SN_ACT_SOFTMAX) {
                    double act = tu_act(a->act[l], zc);
                    float ac = ex->a[l + 1][r * (size_t)o_n + (size_t)o];
                    ck_assert_msg(fabs(ac - act) < 1e-5, "layer %d a[%zu][%d] %.9g, want %.9g", l, r, o, ac, act);
                }
                sb += ex->delta[l][r * (size_t)o_n + (size_t)o];
            }
            ck_assert_msg(fabs(gb[o] - sb) < 1e-5, "layer %d grad b[%d] %.9g, Σδ %.9g", l, o, gb[o], sb);
            for (int i = 0; i < in; i++) {
                double sw = 0;
                for (size_t r = 0; r < ROWS; r++)
                    sw += (double)ex->delta[l][r * (size_t)o_n + (size_t)o] * ex->a[l][r * (size_t)in + (size_t)i];
                ck_assert_msg(fabs(gW[o * in + i] - sw) < 1e-5, "layer %d grad W[%d][%d] %.9g, δᵀa %.9g", l, o, i,
                              gW[o * in + i], sw);
            }
        }
    }
    /* dL/dŷ of the mean loss, from the header's loss definitions. */
    int L = a->n_layers - 2;
    for (size_t k = 0; k < ROWS * 2; k++) {
        double y = Y[k], yh = ex->a[L + 1][k], z = ex->z[L][k], want, dz;
        switch (loss) {
        case SN_LOSS_MSE: want = -2 * (y - yh) / (ROWS * 2); break;
        case SN_LOSS_BCE: want = (-(y / yh) + (1 - y) / (1 - yh)) / (ROWS * 2); break;
        default: want = -y / yh / ROWS; break;
        }
        ck_assert_msg(fabs(ex->dloss_dy[k] - want) <= 1e-5 * fabs(want) + 1e-6, "dL/dŷ[%zu] %.9g, want %.9g", k,
                      ex->dloss_dy[k], want);
        if (out == SN_ACT_SOFTMAX)
            dz = (yh - y) / ROWS; /* fused softmax + crossentropy */
        else
            dz = want * (out == SN_ACT_SIGMOID ? yh * (1 - yh) : out == SN_ACT_TANH ? 1 - yh * yh : 1.0);
        (void)z;
        ck_assert_msg(fabs(ex->delta[L][k] - dz) <= 1e-5 * fabs(dz) + 1e-6, "output δ[%zu] %.9g, want %.9g", k,
                      ex->delta[L][k], dz);
    }
    sn_explain_free(ex);
    sn_net_free(net);
}

START_TEST(test_explain_intermediates_mse) { check_intermediates(SN_ACT_SIGMOID, SN_LOSS_MSE, 51); }
END_TEST
START_TEST(test_explain_intermediates_bce) { check_intermediates(SN_ACT_SIGMOID, SN_LOSS_BCE, 52); }
END_TEST
START_TEST(test_explain_intermediates_crossentropy)
{
    check_intermediates(SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY, 53);
}
END_TEST

/* One step from fresh optimizer state, by hand, in double, from the
 * explained gradient; compared with `updated`. The core's step is float32:
 * a few ulps of the step itself (1e-5 relative is generous) plus one
 * rounding of θ (1.2e-7·|θ|). */
static void check_first_step(const sn_optimizer *opt)
{
    float X[ROWS * 4], Y[ROWS * 2];
    sn_net *net = explain_net(SN_ACT_SIGMOID, SN_LOSS_MSE, 61, X, Y);
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    sn_explain *ex = NULL;
    sn_error err = {0};
    TU_OK(sn_explain_step(net, opt, X, Y, ROWS, &ex, &err), err);
    double lr = opt->learning_rate;
    for (size_t i = 0; i < n; i++) {
        double g = ex->grad[i], step;
        if (opt->type == SN_OPT_ADAM) {
            double b1 = opt->beta1, b2 = opt->beta2, eps = opt->epsilon;
            double m = (1 - b1) * g, v = (1 - b2) * g * g;
            double mhat = m / (1 - b1), vhat = v / (1 - b2);
            step = lr * mhat / (sqrt(vhat) + eps);
        } else {
            /* sgd: θ -= lr·g; momentum's first step: v = 0·momentum + g = g. */
            step = lr * g;
        }
        double want = p[i] - step;
        ck_assert_msg(fabs(ex->updated[i] - want) <= 1e-5 * fabs(step) + 1.2e-7 * fabs(want),
                      "%s param %zu: θ %.9g g %.9g updated %.9g, want %.9g", sn_optimizer_name(opt->type), i, p[i],
                      g, ex->updated[i], want);
        if (g != 0) ck_assert(ex->updated[i] != p[i]);
    }
    sn_explain_free(ex);
    sn_net_free(net);
}

START_TEST(test_explain_sgd_step)
{
    sn_optimizer o = sn_optimizer_default(SN_OPT_SGD);
    o.learning_rate = 0.3f;
    check_first_step(&o);
}
END_TEST

START_TEST(test_explain_momentum_first_step_is_sgd)
{
    sn_optimizer o = sn_optimizer_default(SN_OPT_MOMENTUM);
    o.learning_rate = 0.05f;
    o.momentum = 0.9f;
    check_first_step(&o);
}
END_TEST

START_TEST(test_explain_adam_first_step)
{
    sn_optimizer o = sn_optimizer_default(SN_OPT_ADAM);
    o.learning_rate = 0.01f;
    check_first_step(&o);
    /* Non-default betas and epsilon are used, not the defaults. */
    o.beta1 = 0.5f;
    o.beta2 = 0.75f;
    o.epsilon = 0.05f; /* large enough to change the step visibly */
    check_first_step(&o);
}
END_TEST

START_TEST(test_explain_rejects_bad_optimizer)
{
    float X[ROWS * 4], Y[ROWS * 2];
    sn_net *net = explain_net(SN_ACT_SIGMOID, SN_LOSS_MSE, 71, X, Y);
    sn_optimizer o = sn_optimizer_default(SN_OPT_SGD);
    o.learning_rate = -1;
    sn_explain *ex = (sn_explain *)&o; /* must be set to NULL */
    sn_error err = {0};
    TU_STATUS(sn_explain_step(net, &o, X, Y, ROWS, &ex, &err), SN_ERR_INVALID);
    ck_assert_ptr_null(ex);
    ck_assert_int_eq(err.code, SN_ERR_INVALID);
    ck_assert(err.message[0] != '\0');
    sn_net_free(net);
}
END_TEST

static Suite *gradcheck_suite(void)
{
    Suite *s = suite_create("core_gradcheck");
    TCase *tc = tcase_create("finite_differences");
    tcase_add_test(tc, test_gradcheck_sigmoid_hidden);
    tcase_add_test(tc, test_gradcheck_tanh_hidden);
    tcase_add_test(tc, test_gradcheck_relu_hidden);
    tcase_add_test(tc, test_gradcheck_leaky_relu_hidden);
    tcase_add_test(tc, test_gradcheck_linear_hidden);
    tcase_add_test(tc, test_gradcheck_mixed_activations_deep);
    tcase_add_test(tc, test_numeric_gradient_matches_own_differences);
    tcase_add_test(tc, test_gradient_rejects_bad_arguments);
    suite_add_tcase(s, tc);
    tc = tcase_create("explain");
    tcase_add_test(tc, test_explain_matches_gradient_and_leaves_net);
    tcase_add_test(tc, test_explain_intermediates_mse);
    tcase_add_test(tc, test_explain_intermediates_bce);
    tcase_add_test(tc, test_explain_intermediates_crossentropy);
    tcase_add_test(tc, test_explain_sgd_step);
    tcase_add_test(tc, test_explain_momentum_first_step_is_sgd);
    tcase_add_test(tc, test_explain_adam_first_step);
    tcase_add_test(tc, test_explain_rejects_bad_optimizer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* No fork: the worst error is gathered across tests in this process. */
    int rc = tu_run(gradcheck_suite(), 1);
    printf("largest finite-difference error over the suite:\n"
           "  relative %.3e (entries with |grad| >= 1e-3) at %s\n  absolute %.3e at %s\n",
           worst_rel, worst_where, worst_abs, worst_abs_where);
    return rc;
}
