/*
 * optimizers.c — sgd, momentum and adam as flat loops over the whole
 * parameter block, with PyTorch's update rules:
 *   sgd       θ -= lr·g
 *   momentum  v = μ·v + g;  θ -= lr·v
 *   adam      m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;
 *             θ -= lr · (m / (1-β1ᵗ)) / (sqrt(v / (1-β2ᵗ)) + ε)
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"

sn_status sn_opt_state_init(sn_opt_state *s, const sn_optimizer *opt, size_t n, sn_error *err)
{
    *s = (sn_opt_state){.opt = *opt, .n = n};
    size_t moments = opt->type == SN_OPT_ADAM ? 2 : opt->type == SN_OPT_MOMENTUM ? 1 : 0;
    if (moments) {
        s->m = calloc(moments * n, sizeof(float));
        if (!s->m)
            return sn_fail(err, SN_ERR_NOMEM, "out of memory for optimizer state");
        s->v = moments == 2 ? s->m + n : NULL;
    }
    return SN_OK;
}

void sn_opt_state_free(sn_opt_state *s)
{
    free(s->m);
    s->m = s->v = NULL;
}

void sn_opt_step(sn_opt_state *s, float *restrict params, const float *restrict grad)
{
    const float lr = s->opt.learning_rate;
    float *restrict m = s->m, *restrict v = s->v;
    s->step++;
    switch (s->opt.type) {
    case SN_OPT_SGD:
        for (size_t i = 0; i < s->n; i++)
            params[i] -= lr * grad[i];
        break;
    case SN_OPT_MOMENTUM:
        for (size_t i = 0; i < s->n; i++) {
            m[i] = s->opt.momentum * m[i] + grad[i];
            params[i] -= lr * m[i];
        }
        break;
    case SN_OPT_ADAM: {
        const float b1 = s->opt.beta1, b2 = s->opt.beta2, eps = s->opt.epsilon;
        const float step_size = (float)(lr / (1.0 - pow(b1, (double)s->step)));
        const float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(b2, (double)s->step)));
        for (size_t i = 0; i < s->n; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * grad[i];
            v[i] = b2 * v[i] + (1.0f - b2) * grad[i] * grad[i];
            params[i] -= step_size * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
        }
        break;
    }
    case SN_OPT_COUNT:
        break;
    }
}
