/*
 * net.c — a network's life: architecture checks, creation with its one
 * parameter block, copies, views, seeded initialisation and input
 * normalisation statistics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

sn_status sn_arch_check(const sn_arch *arch, sn_error *err)
{
    if (!arch)
        return sn_fail(err, SN_ERR_INVALID, "no architecture given");
    if (arch->n_layers < 2 || arch->n_layers > SN_MAX_LAYERS)
        return sn_fail(err, SN_ERR_INVALID, "layers must have 2 to %d entries, got %d",
                       SN_MAX_LAYERS, arch->n_layers);
    for (int i = 0; i < arch->n_layers; i++)
        if (arch->sizes[i] < 1 || arch->sizes[i] > SN_MAX_WIDTH)
            return sn_fail(err, SN_ERR_INVALID, "layers[%d] must be from 1 to %d, got %d", i,
                           SN_MAX_WIDTH, arch->sizes[i]);
    int last = arch->n_layers - 2;
    for (int l = 0; l <= last; l++) {
        if ((int)arch->act[l] < 0 || arch->act[l] >= SN_ACT_COUNT)
            return sn_fail(err, SN_ERR_INVALID, "activation of layer %d is unknown", l + 1);
        if (arch->act[l] == SN_ACT_SOFTMAX && l != last)
            return sn_fail(err, SN_ERR_INVALID,
                           "softmax is only allowed as the output activation (layer %d)", l + 1);
    }
    sn_activation out = arch->act[last];
    switch (arch->loss) {
    case SN_LOSS_MSE:
        break;
    case SN_LOSS_BCE:
        if (out != SN_ACT_SIGMOID && out != SN_ACT_SOFTMAX)
            return sn_fail(err, SN_ERR_INVALID,
                           "binary_crossentropy needs a sigmoid or softmax output, not %s",
                           sn_activation_name(out));
        break;
    case SN_LOSS_CROSSENTROPY:
        if (out != SN_ACT_SOFTMAX)
            return sn_fail(err, SN_ERR_INVALID, "crossentropy needs a softmax output, not %s",
                           sn_activation_name(out));
        break;
    default:
        return sn_fail(err, SN_ERR_INVALID, "loss is unknown");
    }
    if (sn_arch_param_count(arch) > SN_MAX_PARAMS)
        return sn_fail(err, SN_ERR_INVALID, "the network has %zu parameters, more than %u",
                       sn_arch_param_count(arch), SN_MAX_PARAMS);
    return SN_OK;
}

/* Sizes are at most 65536 and layers at most 32, so this cannot overflow 64 bits. */
size_t sn_arch_param_count(const sn_arch *arch)
{
    size_t n = 0;
    for (int l = 0; l + 1 < arch->n_layers; l++)
        n += (size_t)arch->sizes[l + 1] * ((size_t)arch->sizes[l] + 1);
    return n;
}

int sn_arch_max_width(const sn_arch *arch)
{
    int w = 0;
    for (int i = 0; i < arch->n_layers; i++)
        w = arch->sizes[i] > w ? arch->sizes[i] : w;
    return w;
}

int sn_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

sn_status sn_net_create(const sn_arch *arch, sn_net **out, sn_error *err)
{
    *out = NULL;
    sn_status st = sn_arch_check(arch, err);
    if (st != SN_OK)
        return st;
    sn_net *net = calloc(1, sizeof *net);
    if (!net)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for the network");
    net->arch = *arch;
    net->n_params = sn_arch_param_count(arch);
    size_t off = 0;
    for (int l = 0; l + 1 < arch->n_layers; l++) {
        net->w_off[l] = off;
        off += (size_t)arch->sizes[l + 1] * (size_t)arch->sizes[l];
        net->b_off[l] = off;
        off += (size_t)arch->sizes[l + 1];
    }
    net->params = calloc(net->n_params, sizeof(float));
    net->norm_shift = calloc(2 * (size_t)arch->sizes[0], sizeof(float));
    if (!net->params || !net->norm_shift) {
        sn_net_free(net);
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for %zu parameters", sn_arch_param_count(arch));
    }
    net->norm_scale = net->norm_shift + arch->sizes[0];
    net->norm = SN_NORM_NONE;
    *out = net;
    return SN_OK;
}

void sn_net_free(sn_net *net)
{
    if (!net)
        return;
    free(net->params);
    free(net->norm_shift);
    free(net);
}

sn_status sn_net_copy(const sn_net *net, sn_net **out, sn_error *err)
{
    sn_status st = sn_net_create(&net->arch, out, err);
    if (st != SN_OK)
        return st;
    memcpy((*out)->params, net->params, net->n_params * sizeof(float));
    memcpy((*out)->norm_shift, net->norm_shift, 2 * (size_t)net->arch.sizes[0] * sizeof(float));
    (*out)->norm = net->norm;
    return SN_OK;
}

const sn_arch *sn_net_arch(const sn_net *net) { return &net->arch; }

float *sn_net_params(sn_net *net, size_t *count)
{
    if (count)
        *count = net->n_params;
    return net->params;
}

const float *sn_net_params_const(const sn_net *net, size_t *count)
{
    if (count)
        *count = net->n_params;
    return net->params;
}

void sn_net_layer(sn_net *net, int layer, float **W, float **b)
{
    if (W)
        *W = net->params + net->w_off[layer];
    if (b)
        *b = net->params + net->b_off[layer];
}

size_t sn_net_weight_offset(const sn_net *net, int layer) { return net->w_off[layer]; }
size_t sn_net_bias_offset(const sn_net *net, int layer) { return net->b_off[layer]; }

sn_status sn_net_init(sn_net *net, sn_init init, uint64_t seed, sn_error *err)
{
    if ((int)init < 0 || init >= SN_INIT_COUNT)
        return sn_fail(err, SN_ERR_INVALID, "init is unknown");
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    for (int l = 0; l + 1 < net->arch.n_layers; l++) {
        size_t in = (size_t)net->arch.sizes[l], out = (size_t)net->arch.sizes[l + 1];
        sn_init kind = init;
        if (kind == SN_INIT_AUTO)
            kind = net->arch.act[l] == SN_ACT_RELU || net->arch.act[l] == SN_ACT_LEAKY_RELU
                       ? SN_INIT_HE
                       : SN_INIT_XAVIER;
        double sd = kind == SN_INIT_NORMAL ? 1.0
                    : kind == SN_INIT_HE   ? sqrt(2.0 / (double)in)
                                           : sqrt(2.0 / (double)(in + out));
        float *W = net->params + net->w_off[l], *b = net->params + net->b_off[l];
        for (size_t i = 0; i < in * out; i++)
            W[i] = (float)(sd * sn_rng_normal(&rng));
        for (size_t i = 0; i < out; i++)
            b[i] = kind == SN_INIT_NORMAL ? (float)sn_rng_normal(&rng) : 0.0f;
    }
    return SN_OK;
}

sn_status sn_net_fit_norm(sn_net *net, sn_norm kind, const float *X, size_t rows, sn_error *err)
{
    size_t n = (size_t)net->arch.sizes[0];
    if ((int)kind < 0 || kind >= SN_NORM_COUNT)
        return sn_fail(err, SN_ERR_INVALID, "normalize is unknown");
    if (kind == SN_NORM_NONE) {
        net->norm = SN_NORM_NONE;
        return SN_OK;
    }
    if (rows == 0)
        return sn_fail(err, SN_ERR_INVALID, "normalisation needs at least one row");
    if (!sn_all_finite(X, rows * n))
        return sn_fail(err, SN_ERR_NONFINITE, "inputs contain NaN or Infinity");
    for (size_t j = 0; j < n; j++) {
        double shift, range;
        if (kind == SN_NORM_STANDARD) {
            double sum = 0, sq = 0;
            for (size_t r = 0; r < rows; r++)
                sum += X[r * n + j];
            shift = sum / (double)rows;
            for (size_t r = 0; r < rows; r++)
                sq += (X[r * n + j] - shift) * (X[r * n + j] - shift);
            range = sqrt(sq / (double)rows);
        } else {
            double lo = X[j], hi = X[j];
            for (size_t r = 1; r < rows; r++) {
                lo = fmin(lo, X[r * n + j]);
                hi = fmax(hi, X[r * n + j]);
            }
            shift = lo;
            range = hi - lo;
        }
        net->norm_shift[j] = (float)shift;
        net->norm_scale[j] = range > 1e-12 ? (float)(1.0 / range) : 1.0f;
    }
    net->norm = kind;
    return SN_OK;
}

sn_status sn_net_set_norm(sn_net *net, sn_norm kind, const float *shift, const float *scale,
                          sn_error *err)
{
    size_t n = (size_t)net->arch.sizes[0];
    if ((int)kind < 0 || kind >= SN_NORM_COUNT)
        return sn_fail(err, SN_ERR_INVALID, "normalize is unknown");
    if (kind != SN_NORM_NONE) {
        if (!shift || !scale || !sn_all_finite(shift, n) || !sn_all_finite(scale, n))
            return sn_fail(err, SN_ERR_NONFINITE, "normalisation statistics must be finite numbers");
        memcpy(net->norm_shift, shift, n * sizeof(float));
        memcpy(net->norm_scale, scale, n * sizeof(float));
    }
    net->norm = kind;
    return SN_OK;
}

sn_norm sn_net_norm(const sn_net *net, const float **shift, const float **scale)
{
    int on = net->norm != SN_NORM_NONE;
    if (shift)
        *shift = on ? net->norm_shift : NULL;
    if (scale)
        *scale = on ? net->norm_scale : NULL;
    return net->norm;
}

sn_optimizer sn_optimizer_default(sn_optimizer_type type)
{
    sn_optimizer o = {.type = type, .learning_rate = 0.1f, .momentum = 0.9f, .beta1 = 0.9f,
                      .beta2 = 0.999f, .epsilon = 1e-8f};
    if (type == SN_OPT_ADAM)
        o.learning_rate = 0.001f;
    return o;
}

sn_status sn_optimizer_check(const sn_optimizer *o, sn_error *err)
{
    if ((int)o->type < 0 || o->type >= SN_OPT_COUNT)
        return sn_fail(err, SN_ERR_INVALID, "optimizer type is unknown");
    if (!(o->learning_rate > 0) || !isfinite(o->learning_rate))
        return sn_fail(err, SN_ERR_INVALID, "learning_rate must be a positive number");
    if (!(o->momentum >= 0 && o->momentum < 1))
        return sn_fail(err, SN_ERR_INVALID, "momentum must be in [0, 1)");
    if (!(o->beta1 >= 0 && o->beta1 < 1))
        return sn_fail(err, SN_ERR_INVALID, "beta1 must be in [0, 1)");
    if (!(o->beta2 >= 0 && o->beta2 < 1))
        return sn_fail(err, SN_ERR_INVALID, "beta2 must be in [0, 1)");
    if (!(o->epsilon > 0) || !isfinite(o->epsilon))
        return sn_fail(err, SN_ERR_INVALID, "epsilon must be a positive number");
    return SN_OK;
}
