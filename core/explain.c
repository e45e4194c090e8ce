/*
 * explain.c — one backpropagation step laid open: every layer's z, a and
 * delta, dL/dŷ, the gradient, the parameters after one optimizer step, and
 * a numerical gradient by central differences on an independent
 * double-precision forward pass, to check the analytic one against.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Past this many parameters the numerical gradient is taken for an evenly
 * strided sample of them (the rest are NaN): each costs two forward passes. */
#define NUMERIC_MAX_PARAMS 4096
/* …and a bound on the multiply-adds all those forward passes may take
 * (~0.1 s), since /explain is open to anyone: a wide network gets fewer
 * sampled parameters, never fewer than NUMERIC_MIN_PARAMS. */
#define NUMERIC_MAX_MACS 50000000.0
#define NUMERIC_MIN_PARAMS 16
#define NUMERIC_STEP 1e-6

sn_status sn_gradient(const sn_net *net, const float *X, const float *Y, size_t rows, float *grad,
                      double *loss, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t in = (size_t)arch->sizes[0], out = (size_t)arch->sizes[arch->n_layers - 1];
    if (rows == 0)
        return sn_fail(err, SN_ERR_INVALID, "no rows");
    if (!sn_all_finite(X, rows * in) || !sn_all_finite(Y, rows * out))
        return sn_fail(err, SN_ERR_NONFINITE, "inputs or targets contain NaN or Infinity");
    sn_work w;
    sn_status st = sn_work_init(&w, arch, rows, err);
    if (st != SN_OK)
        return st;
    sn_gather(net, &w, X, Y, NULL, 0, rows);
    sn_forward(net, &w, rows, NULL);
    if (loss)
        *loss = sn_batch_loss(net, &w, rows);
    memset(grad, 0, net->n_params * sizeof(float));
    sn_backward(net, &w, rows, grad, NULL);
    sn_work_free(&w);
    return SN_OK;
}

/* Mean loss of rows under parameters p (double), normalised inputs in x. */
static double loss_double(const sn_net *net, const double *p, const float *x, const float *Y,
                          size_t rows, double *buf)
{
    const sn_arch *arch = &net->arch;
    int last = arch->n_layers - 2;
    size_t width = (size_t)sn_arch_max_width(arch), outs = (size_t)arch->sizes[last + 1];
    double total = 0, *cur = buf, *next = buf + width;
    for (size_t r = 0; r < rows; r++) {
        for (int j = 0; j < arch->sizes[0]; j++)
            cur[j] = x[r * (size_t)arch->sizes[0] + (size_t)j];
        for (int l = 0; l <= last; l++) {
            size_t nin = (size_t)arch->sizes[l], nout = (size_t)arch->sizes[l + 1];
            const double *W = p + net->w_off[l], *b = p + net->b_off[l];
            for (size_t o = 0; o < nout; o++) {
                double z = b[o];
                for (size_t i = 0; i < nin; i++)
                    z += W[o * nin + i] * cur[i];
                next[o] = l == last ? z : sn_act_double(arch->act[l], z);
            }
            double *t = cur;
            cur = next;
            next = t;
        }
        total += sn_loss_row_double(arch->loss, arch->act[last], cur, Y + r * outs, outs);
    }
    return total / (double)(arch->loss == SN_LOSS_CROSSENTROPY ? rows : rows * outs);
}

sn_status sn_numeric_gradient(const sn_net *net, const float *X, const float *Y, size_t rows,
                              double h, double *grad, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t in = (size_t)arch->sizes[0], n = net->n_params;
    if (rows == 0 || !(h > 0))
        return sn_fail(err, SN_ERR_INVALID, "numeric gradient needs rows and a positive step");
    double *p = malloc(n * sizeof(double));
    double *buf = malloc(2 * (size_t)sn_arch_max_width(arch) * sizeof(double));
    float *x = malloc(rows * in * sizeof(float));
    if (!p || !buf || !x) {
        free(p), free(buf), free(x);
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for the numeric gradient");
    }
    for (size_t i = 0; i < n; i++)
        p[i] = net->params[i];
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < in; j++) {
            float v = X[r * in + j];
            x[r * in + j] = net->norm == SN_NORM_NONE ? v : (v - net->norm_shift[j]) * net->norm_scale[j];
        }
    double macs = 0; /* of one forward pass over the rows */
    for (int l = 0; l + 1 < arch->n_layers; l++)
        macs += (double)arch->sizes[l] * arch->sizes[l + 1] * (double)rows;
    double affordable = NUMERIC_MAX_MACS / (2 * macs);
    size_t samples = affordable < NUMERIC_MIN_PARAMS ? NUMERIC_MIN_PARAMS
                     : affordable > NUMERIC_MAX_PARAMS ? NUMERIC_MAX_PARAMS
                                                       : (size_t)affordable;
    size_t stride = n > samples ? (n + samples - 1) / samples : 1;
    for (size_t i = 0; i < n; i++) {
        if (i % stride) {
            grad[i] = NAN;
            continue;
        }
        double saved = p[i];
        p[i] = saved + h;
        double up = loss_double(net, p, x, Y, rows, buf);
        p[i] = saved - h;
        double down = loss_double(net, p, x, Y, rows, buf);
        p[i] = saved;
        grad[i] = (up - down) / (2 * h);
    }
    free(p), free(buf), free(x);
    return SN_OK;
}

void sn_explain_free(sn_explain *ex)
{
    if (!ex)
        return;
    for (int l = 0; l < ex->n_layers; l++)
        free(ex->a[l]);
    for (int l = 0; l + 1 < ex->n_layers; l++)
        free(ex->z[l]), free(ex->delta[l]);
    free(ex->dloss_dy);
    free(ex->grad);
    free(ex->updated);
    free(ex->numeric_grad);
    free(ex);
}

static sn_status explain_alloc(sn_explain *ex, const sn_net *net, size_t rows)
{
    const sn_arch *arch = &net->arch;
    int ok = 1;
    for (int l = 0; l < arch->n_layers; l++)
        ok &= (ex->a[l] = malloc(rows * (size_t)arch->sizes[l] * sizeof(float))) != NULL;
    for (int l = 0; l + 1 < arch->n_layers; l++) {
        ok &= (ex->z[l] = malloc(rows * (size_t)arch->sizes[l + 1] * sizeof(float))) != NULL;
        ok &= (ex->delta[l] = malloc(rows * (size_t)arch->sizes[l + 1] * sizeof(float))) != NULL;
    }
    ok &= (ex->dloss_dy = malloc(rows * (size_t)arch->sizes[arch->n_layers - 1] * sizeof(float))) != NULL;
    ok &= (ex->grad = calloc(net->n_params, sizeof(float))) != NULL;
    ok &= (ex->updated = malloc(net->n_params * sizeof(float))) != NULL;
    ok &= (ex->numeric_grad = malloc(net->n_params * sizeof(double))) != NULL;
    return ok ? SN_OK : SN_ERR_NOMEM;
}

sn_status sn_explain_step(const sn_net *net, const sn_optimizer *optimizer, const float *X,
                          const float *Y, size_t rows, sn_explain **out, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t in = (size_t)arch->sizes[0], outs = (size_t)arch->sizes[arch->n_layers - 1];
    *out = NULL;
    sn_status st = sn_optimizer_check(optimizer, err);
    if (st != SN_OK)
        return st;
    if (rows == 0)
        return sn_fail(err, SN_ERR_INVALID, "no rows to explain");
    if (!sn_all_finite(X, rows * in) || !sn_all_finite(Y, rows * outs))
        return sn_fail(err, SN_ERR_NONFINITE, "inputs or targets contain NaN or Infinity");
    sn_explain *ex = calloc(1, sizeof *ex);
    if (!ex)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for the explanation");
    *ex = (sn_explain){.rows = rows, .n_layers = arch->n_layers, .param_count = net->n_params};
    sn_work w = {0};
    sn_opt_state opt = {0};
    st = explain_alloc(ex, net, rows);
    if (st == SN_OK)
        st = sn_work_init(&w, arch, rows, err);
    if (st == SN_OK)
        st = sn_opt_state_init(&opt, optimizer, net->n_params, err);
    if (st == SN_OK)
        st = sn_numeric_gradient(net, X, Y, rows, NUMERIC_STEP, ex->numeric_grad, err);
    if (st != SN_OK) {
        sn_work_free(&w);
        sn_opt_state_free(&opt);
        sn_explain_free(ex);
        return st == SN_ERR_NOMEM ? sn_fail(err, st, "out of memory for the explanation") : st;
    }
    sn_gather(net, &w, X, Y, NULL, 0, rows);
    sn_forward(net, &w, rows, ex->z);
    for (int l = 0; l < arch->n_layers; l++)
        memcpy(ex->a[l], w.a[l], rows * (size_t)arch->sizes[l] * sizeof(float));
    ex->loss = sn_batch_loss(net, &w, rows);
    sn_loss_dy(arch->loss, w.a[arch->n_layers - 1], w.y, rows, outs, rows, ex->dloss_dy);
    sn_backward(net, &w, rows, ex->grad, ex->delta);
    memcpy(ex->updated, net->params, net->n_params * sizeof(float));
    sn_opt_step(&opt, ex->updated, ex->grad);
    for (size_t i = 0; i < net->n_params; i++) {
        double a = ex->grad[i], n = ex->numeric_grad[i];
        if (isnan(n))
            continue;
        double rel = fabs(a - n) / fmax(fabs(a) + fabs(n), 1e-8);
        ex->max_rel_error = rel > ex->max_rel_error ? rel : ex->max_rel_error;
    }
    sn_work_free(&w);
    sn_opt_state_free(&opt);
    *out = ex;
    return SN_OK;
}
