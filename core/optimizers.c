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

sn_adam_coef sn_opt_adam_coef(const sn_opt_state *s, long step)
{
    const sn_optimizer *o = &s->opt;
    return (sn_adam_coef){
        .beta1 = o->beta1,
        .beta2 = o->beta2,
        .epsilon = o->epsilon,
        .step_size = (float)(o->learning_rate / (1.0 - pow(o->beta1, (double)step))),
        .inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow(o->beta2, (double)step))),
    };
}

void sn_opt_apply(const sn_opt_state *s, const sn_kernels *k, const sn_adam_coef *coef,
                  float *restrict params, const float *restrict g, size_t from, size_t len)
{
    const float lr = s->opt.learning_rate;
    float *restrict p = params + from, *restrict m = s->m ? s->m + from : NULL;
    switch (s->opt.type) {
    case SN_OPT_SGD:
        for (size_t i = 0; i < len; i++)
            p[i] -= lr * g[i];
        break;
    case SN_OPT_MOMENTUM:
        for (size_t i = 0; i < len; i++) {
            m[i] = s->opt.momentum * m[i] + g[i];
            p[i] -= lr * m[i];
        }
        break;
    case SN_OPT_ADAM:
        sn_adam(k, p, g, m, s->v + from, len, coef);
        break;
    case SN_OPT_COUNT:
        break;
    }
}

void sn_opt_step(sn_opt_state *s, float *params, const float *grad)
{
    s->step++;
    sn_adam_coef coef = sn_opt_adam_coef(s, s->step);
    sn_opt_apply(s, NULL, &coef, params, grad, 0, s->n);
}
