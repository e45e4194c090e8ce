/*
 * testutil.h — helpers shared by the core's unit suites (tests/unit/test_core_*.c).
 *
 * An independent double-precision forward pass and loss written from the
 * header's conventions (so the suites do not trust the core to check itself),
 * status assertions that print the core's sentence, and a runner that returns
 * a process exit code. Everything is static inline: each suite is its own program.
 */
#ifndef SCRATCHNET_TESTUTIL_H
#define SCRATCHNET_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scratchnet.h"

/* Asserts that a core call returned SN_OK; on failure names the call, the
 * status and the core's sentence (err must be the sn_error passed to it). */
#define TU_OK(call, err)                                                              \
    do {                                                                              \
        sn_status tu_st_ = (call);                                                    \
        ck_assert_msg(tu_st_ == SN_OK, "%s returned %s: %s", #call,                   \
                      sn_status_name(tu_st_), (err).message);                         \
    } while (0)

/* Asserts that a core call returned exactly `want`. */
#define TU_STATUS(call, want)                                                         \
    do {                                                                              \
        sn_status tu_st_ = (call);                                                    \
        ck_assert_msg(tu_st_ == (want), "%s returned %s, expected %s", #call,         \
                      sn_status_name(tu_st_), sn_status_name(want));                  \
    } while (0)

/* An architecture from a size list and one activation per layer. */
static inline sn_arch tu_arch(int n_layers, const int *sizes, const sn_activation *act,
                              sn_loss loss)
{
    sn_arch a;
    memset(&a, 0, sizeof a);
    a.n_layers = n_layers;
    for (int i = 0; i < n_layers; i++) a.sizes[i] = sizes[i];
    for (int i = 0; i < n_layers - 1; i++) a.act[i] = act[i];
    a.loss = loss;
    return a;
}

/* An architecture whose hidden layers share one activation. */
static inline sn_arch tu_arch_hidden(int n_layers, const int *sizes, sn_activation hidden,
                                     sn_activation output, sn_loss loss)
{
    sn_activation act[SN_MAX_LAYERS - 1];
    for (int i = 0; i < n_layers - 2; i++) act[i] = hidden;
    act[n_layers - 2] = output;
    return tu_arch(n_layers, sizes, act, loss);
}

/* Creates a network (failing the test if the core refuses) and, unless
 * seed is 0, initialises it with `init` from `seed`. */
static inline sn_net *tu_net(const sn_arch *arch, sn_init init, uint64_t seed)
{
    sn_error err = {0};
    sn_net *net = NULL;
    TU_OK(sn_net_create(arch, &net, &err), err);
    ck_assert_ptr_nonnull(net);
    if (seed != 0) TU_OK(sn_net_init(net, init, seed, &err), err);
    return net;
}

/* Fills n floats uniformly in [lo, hi). */
static inline void tu_fill_uniform(sn_rng *rng, float *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * sn_rng_uniform(rng));
}

/* Every parameter ~ N(0, sd²), drawn from rng (weights and biases alike). */
static inline void tu_fill_params(sn_net *net, sn_rng *rng, double sd)
{
    size_t n = 0;
    float *p = sn_net_params(net, &n);
    for (size_t i = 0; i < n; i++) p[i] = (float)(sd * sn_rng_normal(rng));
}

/* ---- a reference forward pass in double, from the header's conventions ---- */

static inline double tu_act(sn_activation a, double z)
{
    switch (a) {
    case SN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SN_ACT_TANH: return tanh(z);
    case SN_ACT_RELU: return z > 0 ? z : 0.0;
    case SN_ACT_LEAKY_RELU: return z > 0 ? z : 0.01 * z;
    case SN_ACT_LINEAR: return z;
    default: return NAN; /* softmax is row-wise, handled by the caller */
    }
}

/* Y (rows × outputs, double) = the network's architecture and normalisation
 * with parameters `theta` (double, the block's layout) applied to raw X.
 * If min_abs_z is not NULL it receives the smallest |z| of any relu or
 * leaky_relu unit over all rows (HUGE_VAL if there is none): how close the
 * batch comes to a kink. */
static inline void tu_ref_forward_theta(const sn_net *net, const double *theta, const float *X,
                                        size_t rows, double *Y, double *min_abs_z)
{
    const sn_arch *a = sn_net_arch(net);
    const float *shift = NULL, *scale = NULL;
    sn_norm norm = sn_net_norm(net, &shift, &scale);
    int widest = 0;
    for (int l = 0; l < a->n_layers; l++)
        if (a->sizes[l] > widest) widest = a->sizes[l];
    double *cur = malloc(sizeof(double) * (size_t)widest);
    double *nxt = malloc(sizeof(double) * (size_t)widest);
    ck_assert_ptr_nonnull(cur);
    ck_assert_ptr_nonnull(nxt);
    double kink = HUGE_VAL;
    for (size_t r = 0; r < rows; r++) {
        for (int i = 0; i < a->sizes[0]; i++) {
            double x = X[r * (size_t)a->sizes[0] + (size_t)i];
            if (norm != SN_NORM_NONE) x = (x - shift[i]) * scale[i];
            cur[i] = x;
        }
        for (int l = 0; l < a->n_layers - 1; l++) {
            int in = a->sizes[l], out = a->sizes[l + 1];
            const double *W = theta + sn_net_weight_offset(net, l);
            const double *b = theta + sn_net_bias_offset(net, l);
            for (int o = 0; o < out; o++) {
                double z = b[o];
                for (int i = 0; i < in; i++) z += W[(size_t)o * (size_t)in + (size_t)i] * cur[i];
                if ((a->act[l] == SN_ACT_RELU || a->act[l] == SN_ACT_LEAKY_RELU) && fabs(z) < kink)
                    kink = fabs(z);
                nxt[o] = a->act[l] == SN_ACT_SOFTMAX ? z : tu_act(a->act[l], z);
            }
            if (a->act[l] == SN_ACT_SOFTMAX) {
                double m = nxt[0], s = 0;
                for (int o = 1; o < out; o++) if (nxt[o] > m) m = nxt[o];
                for (int o = 0; o < out; o++) s += (nxt[o] = exp(nxt[o] - m));
                for (int o = 0; o < out; o++) nxt[o] /= s;
            }
            double *t = cur; cur = nxt; nxt = t;
        }
        int outs = a->sizes[a->n_layers - 1];
        for (int o = 0; o < outs; o++) Y[r * (size_t)outs + (size_t)o] = cur[o];
    }
    if (min_abs_z) *min_abs_z = kink;
    free(cur);
    free(nxt);
}

/* The network's own (float32) parameters widened to a malloc'd double block. */
static inline double *tu_theta(const sn_net *net, size_t *count)
{
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    double *t = malloc(sizeof(double) * (n ? n : 1));
    ck_assert_ptr_nonnull(t);
    for (size_t i = 0; i < n; i++) t[i] = p[i];
    if (count) *count = n;
    return t;
}

/* tu_ref_forward_theta with the network's own parameters. */
static inline void tu_ref_forward(const sn_net *net, const float *X, size_t rows, double *Y,
                                  double *min_abs_z)
{
    double *t = tu_theta(net, NULL);
    tu_ref_forward_theta(net, t, X, rows, Y, min_abs_z);
    free(t);
}

/* The loss of predictions P (double) against targets Y, as the header defines it. */
static inline double tu_ref_loss(sn_loss loss, const double *P, const float *Y, size_t rows,
                                 int outputs)
{
    double s = 0;
    size_t n = rows * (size_t)outputs;
    for (size_t i = 0; i < n; i++) {
        double y = Y[i], p = P[i];
        switch (loss) {
        case SN_LOSS_MSE: s += (y - p) * (y - p); break;
        case SN_LOSS_BCE: s += -(y * log(p) + (1 - y) * log(1 - p)); break;
        case SN_LOSS_CROSSENTROPY: if (y != 0) s += -y * log(p); break;
        default: return NAN;
        }
    }
    return loss == SN_LOSS_CROSSENTROPY ? s / (double)rows : s / (double)n;
}

/* |a - b| / max(|a|, |b|), 0 when both are 0. */
static inline double tu_rel(double a, double b)
{
    double m = fmax(fabs(a), fabs(b));
    return m == 0 ? 0 : fabs(a - b) / m;
}

/* Runs a suite (forking per test unless `nofork`), prints Check's summary,
 * returns the process exit status. */
static inline int tu_run(Suite *s, int nofork)
{
    SRunner *sr = srunner_create(s);
    if (nofork) srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
