/*
 * backprop.c — the forward pass, the batch loss and the backward pass over a
 * workspace, and prediction. Backward is forward in reverse:
 *   δ_last = dL/dz_last (fused with the loss where possible)
 *   dW_l += δ_lᵀ · a_l,  db_l += Σ_rows δ_l,  δ_{l-1} = (δ_l · W_l) ⊙ act'(a_l)
 * Shapes: a[l] is rows × sizes[l]; W_l is sizes[l+1] × sizes[l].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Rows predicted per chunk: bounds sn_predict's scratch memory. */
#define PREDICT_CHUNK 256

sn_status sn_work_init(sn_work *w, const sn_arch *arch, size_t cap_rows, sn_error *err)
{
    *w = (sn_work){.cap_rows = cap_rows};
    size_t width = (size_t)sn_arch_max_width(arch), outs = (size_t)arch->sizes[arch->n_layers - 1];
    size_t total = 0;
    for (int l = 0; l < arch->n_layers; l++)
        total += (size_t)arch->sizes[l];
    total += 2 * width + 2 * outs; /* deltas, z_out, y */
    if (cap_rows == 0 || total > SIZE_MAX / sizeof(float) / cap_rows)
        return sn_fail(err, SN_ERR_INVALID, "a batch of %zu rows is too large", cap_rows);
    w->block = malloc(total * cap_rows * sizeof(float));
    if (!w->block)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for a batch of %zu rows", cap_rows);
    float *p = w->block;
    for (int l = 0; l < arch->n_layers; l++) {
        w->a[l] = p;
        p += (size_t)arch->sizes[l] * cap_rows;
    }
    w->d[0] = p, p += width * cap_rows;
    w->d[1] = p, p += width * cap_rows;
    w->z_out = p, p += outs * cap_rows;
    w->y = p;
    return SN_OK;
}

void sn_work_free(sn_work *w)
{
    free(w->block);
    w->block = NULL;
}

void sn_gather(const sn_net *net, sn_work *w, const float *X, const float *Y, const size_t *idx,
               size_t first, size_t rows)
{
    size_t in = (size_t)net->arch.sizes[0], out = (size_t)net->arch.sizes[net->arch.n_layers - 1];
    for (size_t r = 0; r < rows; r++) {
        size_t src = idx ? idx[first + r] : first + r;
        float *dst = w->a[0] + r * in;
        memcpy(dst, X + src * in, in * sizeof(float));
        if (net->norm != SN_NORM_NONE)
            for (size_t j = 0; j < in; j++)
                dst[j] = (dst[j] - net->norm_shift[j]) * net->norm_scale[j];
        if (Y)
            memcpy(w->y + r * out, Y + src * out, out * sizeof(float));
    }
}

void sn_forward(const sn_net *net, sn_work *w, size_t rows, float *const *z)
{
    const sn_arch *arch = &net->arch;
    int last = arch->n_layers - 2;
    for (int l = 0; l <= last; l++) {
        size_t in = (size_t)arch->sizes[l], out = (size_t)arch->sizes[l + 1];
        const float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        float *dst = w->a[l + 1];
        sn_gemm_nt(rows, out, in, w->a[l], W, dst);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < out; j++)
                dst[r * out + j] += b[j];
        if (z && z[l])
            memcpy(z[l], dst, rows * out * sizeof(float));
        if (l == last)
            memcpy(w->z_out, dst, rows * out * sizeof(float));
        sn_act_forward(arch->act[l], dst, rows, out);
    }
}

double sn_batch_loss(const sn_net *net, const sn_work *w, size_t rows)
{
    const sn_arch *arch = &net->arch;
    size_t out = (size_t)arch->sizes[arch->n_layers - 1];
    return sn_loss_value(arch->loss, w->z_out, w->a[arch->n_layers - 1], w->y, rows, out);
}

void sn_backward(const sn_net *net, sn_work *w, size_t rows, float *grad, float *const *deltas)
{
    const sn_arch *arch = &net->arch;
    int last = arch->n_layers - 2, cur = 0;
    size_t outs = (size_t)arch->sizes[last + 1];
    sn_loss_delta(arch->loss, arch->act[last], w->a[last + 1], w->y, rows, outs, rows, w->d[cur]);
    for (int l = last; l >= 0; l--) {
        size_t in = (size_t)arch->sizes[l], out = (size_t)arch->sizes[l + 1];
        const float *delta = w->d[cur];
        if (deltas && deltas[l])
            memcpy(deltas[l], delta, rows * out * sizeof(float));
        sn_gemm_tn_acc(out, in, rows, delta, w->a[l], grad + net->w_off[l]);
        float *db = grad + net->b_off[l];
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < out; j++)
                db[j] += delta[r * out + j];
        if (l == 0)
            break; /* no one needs dL/dx */
        sn_gemm_nn(rows, in, out, delta, net->params + net->w_off[l], w->d[1 - cur]);
        cur = 1 - cur;
        sn_act_backward(arch->act[l - 1], w->a[l], w->d[cur], rows, in);
    }
}

sn_status sn_predict(const sn_net *net, const float *X, size_t rows, float *Y, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t in = (size_t)arch->sizes[0], out = (size_t)arch->sizes[arch->n_layers - 1];
    if (!sn_all_finite(X, rows * in))
        return sn_fail(err, SN_ERR_NONFINITE, "inputs contain NaN or Infinity");
    sn_work w;
    sn_status st = sn_work_init(&w, arch, rows < PREDICT_CHUNK ? (rows ? rows : 1) : PREDICT_CHUNK, err);
    if (st != SN_OK)
        return st;
    for (size_t first = 0; first < rows; first += w.cap_rows) {
        size_t n = rows - first < w.cap_rows ? rows - first : w.cap_rows;
        sn_gather(net, &w, X, NULL, NULL, first, n);
        sn_forward(net, &w, n, NULL);
        memcpy(Y + first * out, w.a[arch->n_layers - 1], n * out * sizeof(float));
    }
    sn_work_free(&w);
    if (!sn_all_finite(Y, rows * out)) /* never hand back poisoned numbers */
        return sn_fail(err, SN_ERR_NONFINITE,
                       "the outputs are too large for 32-bit floats (the weights or the inputs "
                       "overflow); check the inputs' scale or the parameters");
    return SN_OK;
}

sn_status sn_evaluate_loss(const sn_net *net, const float *X, const float *Y, size_t rows,
                           double *loss, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t in = (size_t)arch->sizes[0], out = (size_t)arch->sizes[arch->n_layers - 1];
    if (rows == 0)
        return sn_fail(err, SN_ERR_INVALID, "no rows to evaluate");
    if (!sn_all_finite(X, rows * in) || !sn_all_finite(Y, rows * out))
        return sn_fail(err, SN_ERR_NONFINITE, "inputs or targets contain NaN or Infinity");
    sn_work w;
    sn_status st = sn_work_init(&w, arch, rows < PREDICT_CHUNK ? rows : PREDICT_CHUNK, err);
    if (st != SN_OK)
        return st;
    double total = 0;
    for (size_t first = 0; first < rows; first += w.cap_rows) {
        size_t n = rows - first < w.cap_rows ? rows - first : w.cap_rows;
        sn_gather(net, &w, X, Y, NULL, first, n);
        sn_forward(net, &w, n, NULL);
        total += sn_batch_loss(net, &w, n) * (double)n; /* every loss is a mean over rows */
    }
    sn_work_free(&w);
    *loss = total / (double)rows;
    return SN_OK;
}
