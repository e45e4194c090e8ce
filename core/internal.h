/*
 * internal.h — what the core's files share and the public header hides:
 * the network struct, the forward/backward workspace, kernels, activations,
 * losses and optimizers as plain functions on float arrays.
 */
#ifndef SN_INTERNAL_H
#define SN_INTERNAL_H

#include "scratchnet.h"

struct sn_net {
    sn_arch arch;
    size_t n_params;
    size_t w_off[SN_MAX_LAYERS - 1]; /* offset of layer l's W in params */
    size_t b_off[SN_MAX_LAYERS - 1]; /* offset of layer l's b in params */
    float *params;                   /* one block: W0 b0 W1 b1 … */
    sn_norm norm;
    float *norm_shift;               /* inputs floats; one block with norm_scale */
    float *norm_scale;
};

/* Writes a formatted sentence into err (if not NULL) and returns code. */
sn_status sn_fail(sn_error *err, sn_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Widest layer of an architecture. */
int sn_arch_max_width(const sn_arch *arch);
/* Nonzero if every one of n floats is finite. */
int sn_all_finite(const float *x, size_t n);

/* ---- workspace for forward and backward over up to cap_rows rows ---- */
typedef struct {
    size_t cap_rows;
    float *a[SN_MAX_LAYERS];  /* a[0] normalised inputs, a[l+1] activations of layer l */
    float *z_out;             /* pre-activation of the output layer (for log-sum-exp) */
    float *d[2];              /* deltas, ping-pong, cap_rows × widest */
    float *y;                 /* targets of the current batch, cap_rows × outputs */
    float *block;             /* the one allocation behind all of the above */
} sn_work;

sn_status sn_work_init(sn_work *w, const sn_arch *arch, size_t cap_rows, sn_error *err);
void sn_work_free(sn_work *w);

/* Copies rows of X (chosen by idx, or the first `rows` if idx is NULL,
 * starting at `first`) into w->a[0], normalising them, and the same rows of
 * Y (if not NULL) into w->y. */
void sn_gather(const sn_net *net, sn_work *w, const float *X, const float *Y, const size_t *idx,
               size_t first, size_t rows);

/* Forward over rows already in w->a[0]; z[l] (if z is not NULL and z[l] not
 * NULL) receives layer l's pre-activation. */
void sn_forward(const sn_net *net, sn_work *w, size_t rows, float *const *z);
/* Mean loss of the batch in w (after sn_forward), against w->y. */
double sn_batch_loss(const sn_net *net, const sn_work *w, size_t rows);
/* Backward after sn_forward: adds dL/dθ of the batch's mean loss into grad.
 * deltas (if not NULL) receives a copy of each layer's dL/dz. */
void sn_backward(const sn_net *net, sn_work *w, size_t rows, float *grad, float *const *deltas);

/* ---- matrix kernels (kernels.c): row-major, C is m × n ---- */
void sn_gemm_nt(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C = A·Bᵀ, A m×k, B n×k */
void sn_gemm_nn(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C = A·B, A m×k, B k×n */
void sn_gemm_tn_acc(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C += Aᵀ·B, A k×m, B k×n */

/* ---- activations (activations.c) ---- */
/* In place over rows × n: x = act(x). */
void sn_act_forward(sn_activation act, float *x, size_t rows, size_t n);
/* In place: d = d ⊙ act'(z), with act' computed from the activation a. */
void sn_act_backward(sn_activation act, const float *a, float *d, size_t rows, size_t n);
double sn_act_double(sn_activation act, double z); /* element-wise, not softmax */

/* ---- losses (losses.c); yhat = activations of the output layer ---- */
/* Mean loss; z is the output pre-activation (used by crossentropy). */
double sn_loss_value(sn_loss loss, const float *z, const float *yhat, const float *y, size_t rows,
                     size_t n);
/* dL/dŷ of the mean loss, unfused. */
void sn_loss_dy(sn_loss loss, const float *yhat, const float *y, size_t rows, size_t n, float *dy);
/* dL/dz of the output layer, fused where the pairing allows it. */
void sn_loss_delta(sn_loss loss, sn_activation out_act, const float *yhat, const float *y,
                   size_t rows, size_t n, float *delta);
/* Loss of one row in double precision from the output pre-activation z,
 * summed over outputs (the caller divides as sn_loss_value does). */
double sn_loss_row_double(sn_loss loss, sn_activation out_act, const double *z, const float *y,
                          size_t n);

/* ---- optimizers (optimizers.c) ---- */
typedef struct {
    sn_optimizer opt;
    size_t n;
    long step;
    float *m; /* momentum velocity or adam first moment */
    float *v; /* adam second moment */
} sn_opt_state;

sn_status sn_opt_state_init(sn_opt_state *s, const sn_optimizer *opt, size_t n, sn_error *err);
void sn_opt_state_free(sn_opt_state *s);
/* One step over the flat parameter block. */
void sn_opt_step(sn_opt_state *s, float *params, const float *grad);

#endif
