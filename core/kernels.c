/*
 * kernels.c — the matrix products of a dense layer and the optimizer's flat
 * loop, in portable C, and the run-time choice among the SIMD paths
 * (kernels_avx2.c, kernels_avx512.c).
 *
 * Every product is one general kernel (sn_kernels.gemm):
 *   C[i][j] = (ACC ? C[i][j] : 0) + bias[i] + Σ_p A(i,p) · B[p][j],  then relu if asked,
 * with A(i,p) = A[i·ars + p·acs], so one kernel serves A and Aᵀ. B and C are
 * row-major; the SIMD paths vectorise along j and broadcast A(i,p).
 * Each element of C is summed over p in order, whatever its place in a tile,
 * so a result does not depend on how callers split C among threads.
 * The product with Bᵀ (sn_kernels.gemm_nt) reads B's rows instead, as dot
 * products in lanes of partial sums: no transposed copy of B is needed.
 *
 * Dispatch: the table is chosen once per process, at the first call of
 * sn_kernels_get(), under pthread_once: the best path this CPU supports
 * (__builtin_cpu_supports), or the one SCRATCHNET_KERNELS names
 * (portable|avx2|avx512; a path the CPU lacks falls back to the best it has).
 * That table pointer is the core's only global state, written once.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- portable path ---- */

static void gemm_portable(size_t m, size_t n, size_t k, const float *A, size_t ars, size_t acs,
                          const float *restrict B, size_t ldb, float *restrict C, size_t ldc,
                          const float *bias, int flags)
{
    for (size_t i = 0; i < m; i++) {
        float *restrict c = C + i * ldc;
        const float *a = A + i * ars;
        if (n < 8) {
            /* Narrow C (tiny networks): one register sum per element, no
             * store-to-load chain through c[j]; the same additions in the same order. */
            for (size_t j = 0; j < n; j++) {
                float s = flags & SN_GEMM_ACC ? c[j] : 0.0f;
                if (bias)
                    s += bias[i];
                for (size_t p = 0; p < k; p++)
                    s += a[p * acs] * B[p * ldb + j];
                c[j] = flags & SN_GEMM_RELU && !(s > 0.0f) ? 0.0f : s;
            }
            continue;
        }
        if (!(flags & SN_GEMM_ACC))
            for (size_t j = 0; j < n; j++)
                c[j] = 0.0f;
        if (bias)
            for (size_t j = 0; j < n; j++)
                c[j] += bias[i];
        for (size_t p = 0; p < k; p++) {
            float ap = a[p * acs];
            const float *restrict b = B + p * ldb;
            size_t j = 0;
            /* Blocks of 16 with a constant trip count: GCC vectorises them at
             * -O2 (baseline SSE2, or NEON) without a remainder loop of its own. */
            for (; j + 16 <= n; j += 16)
                for (size_t q = j; q < j + 16; q++)
                    c[q] += ap * b[q];
            for (; j < n; j++)
                c[j] += ap * b[j];
        }
        if (flags & SN_GEMM_RELU)
            for (size_t j = 0; j < n; j++)
                c[j] = c[j] > 0.0f ? c[j] : 0.0f;
    }
}

/* C = A·Bᵀ as dot products: 16 lanes of partial sums along the depth (GCC
 * vectorises the fixed-length inner loop at -O2), then a fixed tree. A depth
 * under 16 is summed in order, in one register. */
static void gemm_nt_portable(size_t m, size_t n, size_t k, const float *A, size_t lda,
                             const float *B, size_t ldb, float *C, size_t ldc,
                             const float *bias, int flags)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            const float *restrict a = A + i * lda, *restrict b = B + j * ldb;
            float s = 0.0f;
            if (k < 16) {
                for (size_t p = 0; p < k; p++)
                    s += a[p] * b[p];
            } else {
                float lane[16] = {0};
                size_t p = 0;
                for (; p + 16 <= k; p += 16)
                    for (size_t q = 0; q < 16; q++)
                        lane[q] += a[p + q] * b[p + q];
                for (size_t q = 0; p + q < k; q++)
                    lane[q] += a[p + q] * b[p + q];
                for (size_t w = 8; w; w /= 2)
                    for (size_t q = 0; q < w; q++)
                        lane[q] += lane[q + w];
                s = lane[0];
            }
            if (bias)
                s += bias[i];
            C[i * ldc + j] = flags & SN_GEMM_RELU && !(s > 0.0f) ? 0.0f : s;
        }
}

static void adam_portable(float *restrict p, const float *restrict g, float *restrict m,
                          float *restrict v, size_t n, const sn_adam_coef *c)
{
    const float b1 = c->beta1, b2 = c->beta2, ob1 = 1.0f - b1, ob2 = 1.0f - b2;
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + ob1 * g[i];
        v[i] = b2 * v[i] + ob2 * g[i] * g[i];
        p[i] -= c->step_size * m[i] / (sqrtf(v[i]) * c->inv_sqrt_bc2 + c->epsilon);
    }
}

static const sn_kernels portable = {.name = "portable",
                                    .gemm = gemm_portable,
                                    .gemm_nt = gemm_nt_portable,
                                    .adam = adam_portable,
                                    .transpose = sn_transpose};

/* ---- dispatch ---- */

static const sn_kernels *chosen;
static pthread_once_t chosen_once = PTHREAD_ONCE_INIT;

const sn_kernels *sn_kernels_find(const char *name)
{
    if (!name || !strcmp(name, "portable"))
        return &portable;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                   ? &sn_kernels_avx512
                   : NULL;
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &sn_kernels_avx2
                                                                               : NULL;
#endif
    return NULL;
}

static void choose(void)
{
    static const char *const order[] = {"avx512", "avx2", "portable"};
    const char *want = getenv("SCRATCHNET_KERNELS");
    int start = 0;
    for (int i = 0; want && i < 3; i++)
        if (!strcmp(want, order[i]))
            start = i;
    for (int i = start; i < 3 && !chosen; i++)
        chosen = sn_kernels_find(order[i]);
}

const sn_kernels *sn_kernels_get(void)
{
    pthread_once(&chosen_once, choose);
    return chosen;
}

const char *sn_kernel_path(void) { return sn_kernels_get()->name; }

/* Inference's path: AVX-512 runs its 512-bit FMAs at a lower clock, and the
 * core stays slower for a while after them, everything on it included. A
 * server answering /predict runs a few of them per request between its
 * network work: measured on this project's Xeon (Sapphire Rapids class),
 * the AVX-512 path cost the whole server 10% of its requests per second
 * against AVX2 (or the portable path), though the products themselves were
 * a tiny part of each request. Training keeps AVX-512: long runs of wide
 * FMAs pay for the clock. One path for every batch size, so that a row's
 * outputs never depend on the rows predicted with it. */
static const sn_kernels *inference;
/* The wide path's gemm_nt with inference's bits (gemm_nt8), for large
 * batches; NULL when inference runs on the process's own path. */
static const sn_kernels *inference_wide;
static pthread_once_t inference_once = PTHREAD_ONCE_INIT;

static void choose_inference(void)
{
    inference = sn_kernels_get();
#if defined(__x86_64__)
    if (inference == &sn_kernels_avx512 && sn_kernels_find("avx2")) {
        inference_wide = inference;
        inference = sn_kernels_find("avx2");
    }
#endif
}

const sn_kernels *sn_kernels_inference(void)
{
    pthread_once(&inference_once, choose_inference);
    return inference;
}

/* ---- the three products of a dense layer (backprop.c: inference) ---- */

void sn_gemm_nn(size_t m, size_t n, size_t k, const float *A, const float *B, float *C)
{
    sn_kernels_inference()->gemm(m, n, k, A, k, 1, B, n, C, n, NULL, 0);
}

void sn_gemm_tn_acc(size_t m, size_t n, size_t k, const float *A, const float *B, float *C)
{
    sn_kernels_inference()->gemm(m, n, k, A, 1, m, B, n, C, n, NULL, SN_GEMM_ACC);
}

/* Batches from this many rows take the process path's gemm_nt8 where it has
 * one: the inference path's bits at 512 bits, where wide FMAs pay for their
 * clock (a single /predict row does not). */
#define WIDE_ROWS 16

void sn_gemm_nt(size_t m, size_t n, size_t k, const float *A, const float *B, float *C)
{
    const sn_kernels *path = sn_kernels_inference();
    if (m >= WIDE_ROWS && inference_wide)
        inference_wide->gemm_nt8(m, n, k, A, k, B, k, C, n, NULL, 0);
    else
        path->gemm_nt(m, n, k, A, k, B, k, C, n, NULL, 0);
}

/* ---- the optimizer's flat loops ---- */

void sn_adam(const sn_kernels *k, float *p, const float *g, float *m, float *v, size_t n,
             const sn_adam_coef *c)
{
    (k ? k : sn_kernels_get())->adam(p, g, m, v, n, c);
}

/* Out-of-place transpose: dst (cols × rows, row stride ldd) = srcᵀ, src rows × cols
 * with row stride lds; in 8×8 blocks so both sides stay in cache. */
void sn_transpose(const float *restrict src, size_t rows, size_t cols, size_t lds,
                  float *restrict dst, size_t ldd)
{
    if (rows == 1 || cols == 1) { /* a strided copy (batches of one row, single outputs) */
        size_t n = rows * cols, si = rows == 1 ? 1 : lds, di = rows == 1 ? ldd : 1;
        for (size_t i = 0; i < n; i++)
            dst[i * di] = src[i * si];
        return;
    }
    for (size_t r0 = 0; r0 < rows; r0 += 8)
        for (size_t c0 = 0; c0 < cols; c0 += 8) {
            size_t r1 = r0 + 8 < rows ? r0 + 8 : rows, c1 = c0 + 8 < cols ? c0 + 8 : cols;
            for (size_t r = r0; r < r1; r++)
                for (size_t c = c0; c < c1; c++)
                    dst[c * ldd + r] = src[r * lds + c];
        }
}
