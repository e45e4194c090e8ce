/*
 * kernels.c — the three matrix products of a dense layer, portable C.
 *   forward   Z  = X · Wᵀ        (sn_gemm_nt)
 *   backward  dX = δ · W         (sn_gemm_nn)
 *             dW += δᵀ · X       (sn_gemm_tn_acc)
 * Loops are ordered so the innermost one runs along contiguous memory.
 */
#include "internal.h"

void sn_gemm_nt(size_t m, size_t n, size_t k, const float *restrict A, const float *restrict B,
                float *restrict C)
{
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * k;
        for (size_t j = 0; j < n; j++) {
            const float *b = B + j * k;
            float s = 0.0f;
            for (size_t p = 0; p < k; p++)
                s += a[p] * b[p];
            C[i * n + j] = s;
        }
    }
}

void sn_gemm_nn(size_t m, size_t n, size_t k, const float *restrict A, const float *restrict B,
                float *restrict C)
{
    for (size_t i = 0; i < m; i++) {
        float *c = C + i * n;
        for (size_t j = 0; j < n; j++)
            c[j] = 0.0f;
        for (size_t p = 0; p < k; p++) {
            float a = A[i * k + p];
            const float *b = B + p * n;
            for (size_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}

void sn_gemm_tn_acc(size_t m, size_t n, size_t k, const float *restrict A, const float *restrict B,
                    float *restrict C)
{
    for (size_t p = 0; p < k; p++) {
        const float *b = B + p * n;
        for (size_t i = 0; i < m; i++) {
            float a = A[p * m + i];
            float *c = C + i * n;
            for (size_t j = 0; j < n; j++)
                c[j] += a * b[j];
        }
    }
}
