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

/* ---- matrix kernels (kernels.c, kernels_avx2.c, kernels_avx512.c) ---- */
#define SN_GEMM_ACC 1  /* add into C instead of overwriting it */
#define SN_GEMM_RELU 2 /* C = max(C, 0) after the sum (and bias) */

/* Adam's per-step constants (see optimizers.c). */
typedef struct {
    float beta1, beta2, epsilon;
    float step_size;    /* lr / (1 - beta1^t) */
    float inv_sqrt_bc2; /* 1 / sqrt(1 - beta2^t) */
} sn_adam_coef;

/* One kernel path. gemm computes, for i < m, j < n:
 *   C[i·ldc + j] = (flags & ACC ? C[i·ldc + j] : 0) + (bias ? bias[i] : 0)
 *                  + Σ_{p<k} A[i·ars + p·acs] · B[p·ldb + j]
 * then max(·, 0) with SN_GEMM_RELU. (ars, acs) = (lda, 1) reads A, (1, lda)
 * reads Aᵀ. C must not overlap A or B. Every element is summed over p in
 * order wherever it lies in C, so splitting C among callers changes no bit.
 * gemm_nt computes the product with Bᵀ from B's rows, as dot products:
 *   C[i·ldc + j] = (bias ? bias[i] : 0) + Σ_{p<k} A[i·lda + p] · B[j·ldb + p]
 * then max(·, 0) with SN_GEMM_RELU (no ACC). Each element is summed in one
 * fixed order (lanes of partial sums, then a fixed tree), the same wherever
 * it lies in C, so it too can be split among callers.
 * adam does one Adam step over n parameters p with gradient g and moments m, v. */
typedef struct {
    const char *name; /* "portable", "avx2" or "avx512" */
    void (*gemm)(size_t m, size_t n, size_t k, const float *A, size_t ars, size_t acs,
                 const float *B, size_t ldb, float *C, size_t ldc, const float *bias, int flags);
    void (*gemm_nt)(size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
                    size_t ldb, float *C, size_t ldc, const float *bias, int flags);
    /* gemm_nt in the avx2 path's order, the same bits as its gemm_nt, on a
     * wider path (avx512); NULL elsewhere. */
    void (*gemm_nt8)(size_t m, size_t n, size_t k, const float *A, size_t lda, const float *B,
                     size_t ldb, float *C, size_t ldc, const float *bias, int flags);
    void (*adam)(float *p, const float *g, float *m, float *v, size_t n, const sn_adam_coef *c);
    /* dst (cols × rows, row stride ldd) = srcᵀ, as sn_transpose */
    void (*transpose)(const float *src, size_t rows, size_t cols, size_t lds, float *dst, size_t ldd);
} sn_kernels;

/* The process's path, chosen once (thread-safe) from the CPU and SCRATCHNET_KERNELS. */
const sn_kernels *sn_kernels_get(void);
/* The path of inference and of backprop.c's products (predict, evaluate,
 * explain): the process's path, with AVX2 in place of AVX-512 (kernels.c says why). */
const sn_kernels *sn_kernels_inference(void);
/* A path by name if this CPU can run it, else NULL ("portable" always works). */
const sn_kernels *sn_kernels_find(const char *name);
#if defined(__x86_64__)
extern const sn_kernels sn_kernels_avx2, sn_kernels_avx512; /* use only through the above */
#endif

/* The three products of a dense layer, row-major, C is m × n, on inference's path. */
void sn_gemm_nt(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C = A·Bᵀ, A m×k, B n×k */
void sn_gemm_nn(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C = A·B, A m×k, B k×n */
void sn_gemm_tn_acc(size_t m, size_t n, size_t k, const float *A, const float *B, float *C); /* C += Aᵀ·B, A k×m, B k×n */
/* dst (cols × rows, row stride ldd) = srcᵀ for src rows × cols with row stride lds. */
void sn_transpose(const float *src, size_t rows, size_t cols, size_t lds, float *dst, size_t ldd);

/* CRC-32 (IEEE 802.3, as zlib's) of a model blob's bytes (serialize.c). */
uint32_t sn_crc32(const uint8_t *p, size_t n);
/* One Adam step on path k (NULL: the process's path). */
void sn_adam(const sn_kernels *k, float *p, const float *g, float *m, float *v, size_t n,
             const sn_adam_coef *c);

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
/* dL/dŷ of the mean loss, unfused, for `rows` rows of a batch of mean_rows
 * (the rows the mean divides by: rows itself, or the whole batch when a
 * thread does its share). */
void sn_loss_dy(sn_loss loss, const float *yhat, const float *y, size_t rows, size_t n,
                size_t mean_rows, float *dy);
/* dL/dz of the output layer, fused where the pairing allows it; mean_rows as above. */
void sn_loss_delta(sn_loss loss, sn_activation out_act, const float *yhat, const float *y,
                   size_t rows, size_t n, size_t mean_rows, float *delta);
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
/* The pieces of a step, for callers that split the block among threads:
 * Adam's constants for step number `step` (1-based), and the update of
 * params[from, from+len) by the gradient g[0, len) on kernel path k (NULL:
 * the process's). */
sn_adam_coef sn_opt_adam_coef(const sn_opt_state *s, long step);
void sn_opt_apply(const sn_opt_state *s, const sn_kernels *k, const sn_adam_coef *coef,
                  float *params, const float *g, size_t from, size_t len);

/* ---- the training step over a thread pool (engine.c) ---- */
typedef struct sn_engine sn_engine;
/* Buffers for batches of up to cap rows and a pool of up to `threads`
 * threads (fewer for small work; ≤ 0 means 1), running on kernel path kern
 * and updating net's parameters with opt. *out is NULL on failure. */
sn_status sn_engine_create(sn_engine **out, sn_net *net, sn_opt_state *opt,
                           const sn_kernels *kern, size_t cap, int threads, sn_error *err);
void sn_engine_free(sn_engine *e); /* stops and joins the pool; NULL is fine */
/* Threads a batch runs on (the caller's included). */
int sn_engine_threads(const sn_engine *e);
/* One epoch over rows of X/Y in the order idx (NULL: in order), one optimizer
 * step per batch; the mean loss, or the first non-finite batch loss (the
 * parameters are then those before that batch). */
double sn_engine_epoch(sn_engine *e, const float *X, const float *Y, const size_t *idx,
                       size_t rows);
/* sn_train on a given kernel path (tests run every path through it). */
sn_status sn_train_on(const sn_kernels *kern, sn_net *net, const sn_train_config *cfg,
                      const float *X, const float *Y, size_t rows, double *loss_history,
                      double *val_history, sn_train_result *result, sn_error *err);

#endif
