/*
 * kernels_avx512.c — the general kernel of kernels.c, the product with Bᵀ
 * from B's rows (gemm_nt), Adam and the transpose for AVX-512F/DQ.
 * Compiled for any x86-64 (the ISA is enabled per function by target
 * attributes) and called only when the CPU has it (see kernels.c).
 *
 * Register tile: MR = 6 rows of C × 4 vectors of 16 columns (24 zmm
 * accumulators, 4 for B, 1 broadcast). The last vector of a row is masked,
 * so any n works. The depth is cut into blocks of KC so the KC × 64 panel of
 * B stays in L1 while every row block of A passes over it.
 */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal.h"

#define TARGET __attribute__((target("avx512f,avx512dq,fma,avx2")))
#define MR 6
#define NV 4
#define KC 128

TARGET static inline __attribute__((always_inline)) void
tile(const int mr, const int nv, size_t k, const float *A, size_t ars, size_t acs, const float *B,
     size_t ldb, float *C, size_t ldc, __mmask16 last, const float *bias, int flags)
{
    __m512 acc[MR][NV];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        __m512 init = bias ? _mm512_set1_ps(bias[r]) : _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __mmask16 mk = v == nv - 1 ? last : 0xFFFF;
            acc[r][v] = flags & SN_GEMM_ACC
                            ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk, C + r * ldc + 16 * v), init)
                            : init;
        }
    }
    const float *a[MR];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
        a[r] = A + r * ars;
    for (size_t p = 0; p < k; p++) {
        __m512 b[NV];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++)
            b[v] = _mm512_maskz_loadu_ps(v == nv - 1 ? last : 0xFFFF, B + 16 * v);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m512 ar = _mm512_set1_ps(*a[r]);
            a[r] += acs;
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++)
                acc[r][v] = _mm512_fmadd_ps(ar, b[v], acc[r][v]);
        }
        B += ldb;
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) {
            __m512 x = acc[r][v];
            if (flags & SN_GEMM_RELU)
                x = _mm512_max_ps(x, _mm512_setzero_ps());
            _mm512_mask_storeu_ps(C + r * ldc + 16 * v, v == nv - 1 ? last : 0xFFFF, x);
        }
}

/* One call per (mr, nv) pair, so each tile is compiled with constant sizes. */
#define TILE_CASE(MR_, NV_)                                                                   \
    case (MR_) * 8 + (NV_):                                                                   \
        tile(MR_, NV_, k, A, ars, acs, B, ldb, C, ldc, last, bias, flags);                   \
        break;
#define TILE_ROW(MR_) TILE_CASE(MR_, 1) TILE_CASE(MR_, 2) TILE_CASE(MR_, 3) TILE_CASE(MR_, 4)

TARGET static void tile_any(int mr, int nv, size_t k, const float *A, size_t ars, size_t acs,
                            const float *B, size_t ldb, float *C, size_t ldc, __mmask16 last,
                            const float *bias, int flags)
{
    switch (mr * 8 + nv) {
        TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
    default:
        break;
    }
}

TARGET static void gemm_avx512(size_t m, size_t n, size_t k, const float *A, size_t ars,
                               size_t acs, const float *B, size_t ldb, float *C, size_t ldc,
                               const float *bias, int flags)
{
    if (k == 0) {
        /* C = (ACC ? C : 0) + bias, then relu: the tile does it with an empty sum. */
        for (size_t j0 = 0; j0 < n; j0 += 16 * NV) {
            size_t nc = n - j0 < 16 * NV ? n - j0 : 16 * NV;
            int nv = (int)((nc + 15) / 16);
            __mmask16 last = (__mmask16)(nc % 16 ? (1u << (nc % 16)) - 1 : 0xFFFF);
            for (size_t i0 = 0; i0 < m; i0 += MR)
                tile_any(m - i0 < MR ? (int)(m - i0) : MR, nv, 0, A, ars, acs, B, ldb,
                         C + i0 * ldc + j0, ldc, last, bias ? bias + i0 : NULL, flags);
        }
        return;
    }
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        size_t kc = k - p0 < KC ? k - p0 : KC;
        int first = p0 == 0, final = p0 + kc == k;
        int fl = (first ? flags & SN_GEMM_ACC : SN_GEMM_ACC) | (final ? flags & SN_GEMM_RELU : 0);
        for (size_t j0 = 0; j0 < n; j0 += 16 * NV) {
            size_t nc = n - j0 < 16 * NV ? n - j0 : 16 * NV;
            int nv = (int)((nc + 15) / 16);
            __mmask16 last = (__mmask16)(nc % 16 ? (1u << (nc % 16)) - 1 : 0xFFFF);
            const float *Bp = B + p0 * ldb + j0;
            size_t i0 = 0;
            for (; i0 + MR <= m; i0 += MR) {
                const float *Ap = A + i0 * ars + p0 * acs;
                const float *bi = first && bias ? bias + i0 : NULL;
                float *Cp = C + i0 * ldc + j0;
                if (nv == NV && last == 0xFFFF)
                    tile(MR, NV, kc, Ap, ars, acs, Bp, ldb, Cp, ldc, 0xFFFF, bi, fl);
                else
                    tile_any(MR, nv, kc, Ap, ars, acs, Bp, ldb, Cp, ldc, last, bi, fl);
            }
            if (i0 < m)
                tile_any((int)(m - i0), nv, kc, A + i0 * ars + p0 * acs, ars, acs, Bp, ldb,
                         C + i0 * ldc + j0, ldc, last, first && bias ? bias + i0 : NULL, fl);
        }
    }
}

/* ---- C = A·Bᵀ from B's rows (gemm_nt) ----
 * Tile: DR rows of A × DC rows of B, 24 zmm accumulators, each holding 16
 * lanes of partial sums along the depth (the tail masked). The DC rows of B
 * (DC × k floats: 25 KB for k = 784) stay in L1 while every row block of A
 * passes over them. A tile with fewer than DC rows of B repeats its last row,
 * so every element goes through the same operations in the same order. */
#define DR 3
#define DC 8

/* The sums of the 16 lanes of a[0..7], in lanes 0..7 (8..15 unused), by one tree for all:
 * ((l + l+8) + (l+4 + l+12)) for l < 4, then ((0 + 2) + (1 + 3)). */
TARGET static inline __attribute__((always_inline)) __m512 sum8(const __m512 a[DC])
{
    __m512 x[4], y[2];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) /* blocks [a0+a2, a1+a3] of a[2i] and a[2i+1] */
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], 0xEE));
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) /* block q: 4 lanes of a[4i + q] */
        y[i] = _mm512_add_ps(_mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0x88),
                             _mm512_shuffle_f32x4(x[2 * i], x[2 * i + 1], 0xDD));
    __m512 u = _mm512_add_ps(_mm512_unpacklo_ps(y[0], y[1]), _mm512_unpackhi_ps(y[0], y[1]));
    __m512 v = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4E)); /* block q: a[q], a[q+4] in lanes 0, 1 */
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
    return _mm512_permutexvar_ps(order, v);
}

TARGET static inline __attribute__((always_inline)) void
dot_tile(const int mr, size_t nb, size_t k, const float *A, size_t lda, const float *B,
         size_t ldb, float *C, size_t ldc, const float *bias, int flags)
{
    __m512 acc[DR][DC];
    const float *b[DC];
#pragma GCC unroll 8
    for (int c = 0; c < DC; c++)
        b[c] = B + ((size_t)c < nb ? (size_t)c : nb - 1) * ldb;
#pragma GCC unroll 3
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 8
        for (int c = 0; c < DC; c++)
            acc[r][c] = _mm512_setzero_ps();
    /* Whole vectors, then the masked tail (a masked load costs an extra uop). */
    size_t p = 0;
    for (; p + 16 <= k; p += 16) {
        __m512 a[DR];
#pragma GCC unroll 3
        for (int r = 0; r < mr; r++)
            a[r] = _mm512_loadu_ps(A + r * lda + p);
#pragma GCC unroll 8
        for (int c = 0; c < DC; c++) {
            __m512 bc = _mm512_loadu_ps(b[c] + p);
            __asm__("" : "+v"(bc)); /* loaded once, not folded into each of the mr FMAs */
#pragma GCC unroll 3
            for (int r = 0; r < mr; r++)
                acc[r][c] = _mm512_fmadd_ps(a[r], bc, acc[r][c]);
        }
    }
    if (p < k) {
        __mmask16 mk = (__mmask16)((1u << (k - p)) - 1);
        __m512 a[DR];
#pragma GCC unroll 3
        for (int r = 0; r < mr; r++)
            a[r] = _mm512_maskz_loadu_ps(mk, A + r * lda + p);
#pragma GCC unroll 8
        for (int c = 0; c < DC; c++) {
            __m512 bc = _mm512_maskz_loadu_ps(mk, b[c] + p);
#pragma GCC unroll 3
            for (int r = 0; r < mr; r++)
                acc[r][c] = _mm512_fmadd_ps(a[r], bc, acc[r][c]);
        }
    }
    __mmask16 store = (__mmask16)((1u << nb) - 1);
#pragma GCC unroll 3
    for (int r = 0; r < mr; r++) {
        __m512 s = sum8(acc[r]);
        if (bias)
            s = _mm512_add_ps(s, _mm512_set1_ps(bias[r]));
        if (flags & SN_GEMM_RELU)
            s = _mm512_max_ps(s, _mm512_setzero_ps());
        _mm512_mask_storeu_ps(C + r * ldc, store, s);
    }
}

TARGET static void gemm_nt_avx512(size_t m, size_t n, size_t k, const float *A, size_t lda,
                                  const float *B, size_t ldb, float *C, size_t ldc,
                                  const float *bias, int flags)
{
    for (size_t j0 = 0; j0 < n; j0 += DC) {
        size_t nb = n - j0 < DC ? n - j0 : DC, i0 = 0;
        const float *Bj = B + j0 * ldb;
        for (; i0 + DR <= m; i0 += DR)
            dot_tile(DR, nb, k, A + i0 * lda, lda, Bj, ldb, C + i0 * ldc + j0, ldc,
                     bias ? bias + i0 : NULL, flags);
        if (m - i0 == 2)
            dot_tile(2, nb, k, A + i0 * lda, lda, Bj, ldb, C + i0 * ldc + j0, ldc,
                     bias ? bias + i0 : NULL, flags);
        else if (m - i0 == 1)
            dot_tile(1, nb, k, A + i0 * lda, lda, Bj, ldb, C + i0 * ldc + j0, ldc,
                     bias ? bias + i0 : NULL, flags);
    }
}

/* ---- gemm_nt in the AVX2 path's order, at 512 bits (inference) ----
 * Inference runs on AVX2 (kernels.c), whose gemm_nt sums each element in 8
 * lanes and then the tree ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)).
 * This kernel does exactly those operations, two rows of A at a time: a zmm
 * holds 8 depth lanes of row r in its low half and of row r + 1 in its high
 * half, and each row of B's 8 floats are broadcast to both halves. So it gives
 * the AVX2 kernel's bits at twice the width, for large batches, where the
 * wide FMAs pay for their clock (a row's outputs still do not depend on its
 * batch). Tile: 3 pairs of A rows × 8 rows of B = 24 accumulators. */
#define TARGET_VL __attribute__((target("avx512f,avx512dq,avx512vl,fma,avx2")))
#define PR 3 /* pairs of rows of A */
#define PC 8 /* rows of B */

/* AVX2's _mm256_hadd_ps in each 256-bit half (IEEE addition commutes, so
 * the even + odd order does not matter). */
TARGET_VL static inline __attribute__((always_inline)) __m512 hadd2(__m512 a, __m512 b)
{
    return _mm512_add_ps(_mm512_shuffle_ps(a, b, 0x88), _mm512_shuffle_ps(a, b, 0xDD));
}

/* Four sums of a row of C: bias, relu, then the store (mask: the columns that exist). */
TARGET_VL static inline __attribute__((always_inline)) void
finish4(__m128 s, float *c, __mmask8 mask, const float *bias, int flags)
{
    if (bias)
        s = _mm_add_ps(s, _mm_set1_ps(*bias));
    if (flags & SN_GEMM_RELU)
        s = _mm_max_ps(s, _mm_setzero_ps());
    _mm_mask_storeu_ps(c, mask, s);
}

TARGET_VL static inline __attribute__((always_inline)) void
pair_tile(const int pr, size_t rows, size_t nb, size_t k, const float *A, size_t lda,
          const float *B, size_t ldb, float *C, size_t ldc, const float *bias, int flags)
{
    __m512 acc[PR][PC];
    const float *a[2 * PR], *b[PC];
#pragma GCC unroll 6
    for (int r = 0; r < 2 * PR; r++) /* missing rows repeat the last */
        a[r] = A + ((size_t)r < rows ? (size_t)r : rows - 1) * lda;
#pragma GCC unroll 8
    for (int c = 0; c < PC; c++)
        b[c] = B + ((size_t)c < nb ? (size_t)c : nb - 1) * ldb;
#pragma GCC unroll 3
    for (int q = 0; q < PR; q++)
#pragma GCC unroll 8
        for (int c = 0; c < PC; c++)
            acc[q][c] = _mm512_setzero_ps();
    for (size_t p = 0; p < k; p += 8) {
        __mmask8 mk = k - p >= 8 ? 0xFF : (__mmask8)((1u << (k - p)) - 1);
        __m512 x[PR];
#pragma GCC unroll 3
        for (int q = 0; q < pr; q++)
            x[q] = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_maskz_loadu_ps(mk, a[2 * q] + p)),
                                      _mm256_maskz_loadu_ps(mk, a[2 * q + 1] + p), 1);
#pragma GCC unroll 8
        for (int c = 0; c < PC; c++) {
            __m512 y = _mm512_broadcast_f32x8(_mm256_maskz_loadu_ps(mk, b[c] + p));
#pragma GCC unroll 3
            for (int q = 0; q < pr; q++)
                acc[q][c] = _mm512_fmadd_ps(x[q], y, acc[q][c]);
        }
    }
    __mmask8 store = (__mmask8)((1u << nb) - 1);
#pragma GCC unroll 3
    for (int q = 0; q < pr; q++)
#pragma GCC unroll 2
        for (int g = 0; g < PC / 4; g++) { /* B rows 4g..4g+3, as AVX2's sum4 */
            __m512 h = hadd2(hadd2(acc[q][4 * g], acc[q][4 * g + 1]),
                             hadd2(acc[q][4 * g + 2], acc[q][4 * g + 3]));
            __mmask8 m4 = (__mmask8)((store >> (4 * g)) & 0xF);
            size_t r = 2 * (size_t)q;
            finish4(_mm_add_ps(_mm512_extractf32x4_ps(h, 0), _mm512_extractf32x4_ps(h, 1)),
                    C + r * ldc + 4 * g, m4, bias ? bias + r : NULL, flags);
            if (r + 1 < rows)
                finish4(_mm_add_ps(_mm512_extractf32x4_ps(h, 2), _mm512_extractf32x4_ps(h, 3)),
                        C + (r + 1) * ldc + 4 * g, m4, bias ? bias + r + 1 : NULL, flags);
        }
}

TARGET_VL static void gemm_nt8_avx512(size_t m, size_t n, size_t k, const float *A, size_t lda,
                                      const float *B, size_t ldb, float *C, size_t ldc,
                                      const float *bias, int flags)
{
    for (size_t j0 = 0; j0 < n; j0 += PC) {
        size_t nb = n - j0 < PC ? n - j0 : PC;
        for (size_t i0 = 0; i0 < m; i0 += 2 * PR) {
            size_t rows = m - i0 < 2 * PR ? m - i0 : 2 * PR;
            const float *bi = bias ? bias + i0 : NULL;
            if (rows == 2 * PR)
                pair_tile(PR, rows, nb, k, A + i0 * lda, lda, B + j0 * ldb, ldb, C + i0 * ldc + j0, ldc, bi, flags);
            else
                pair_tile((int)(rows + 1) / 2, rows, nb, k, A + i0 * lda, lda, B + j0 * ldb, ldb,
                          C + i0 * ldc + j0, ldc, bi, flags);
        }
    }
}

/* Adam with the moments computed exactly as adam_portable does (no fused
 * multiply-add), and the update's square root and division replaced by
 * rsqrt14/rcp14 estimates with one Newton step each (about 2 ulp instead of
 * 0.5; division and square root of 16 floats cost ~20 cycles, the estimates
 * a few). sqrt(v) = v·rsqrt(v), with v floored at FLT_MIN inside the rsqrt
 * so that v = 0 gives 0. */
TARGET static inline __m512 recip_nr(__m512 x)
{
    __m512 r = _mm512_rcp14_ps(x);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(x, r, _mm512_set1_ps(2.0f)));
}

TARGET static inline __m512 sqrt_nr(__m512 v)
{
    __m512 r = _mm512_rsqrt14_ps(_mm512_max_ps(v, _mm512_set1_ps(1.17549435e-38f)));
    /* r' = r·(1.5 - 0.5·v·r²), then sqrt(v) = v·r' */
    __m512 hv = _mm512_mul_ps(v, _mm512_set1_ps(0.5f));
    r = _mm512_mul_ps(r, _mm512_fnmadd_ps(_mm512_mul_ps(hv, r), r, _mm512_set1_ps(1.5f)));
    return _mm512_mul_ps(v, r);
}

TARGET static void adam_avx512(float *p, const float *g, float *m, float *v, size_t n,
                               const sn_adam_coef *c)
{
    const __m512 b1 = _mm512_set1_ps(c->beta1), b2 = _mm512_set1_ps(c->beta2);
    const __m512 ob1 = _mm512_set1_ps(1.0f - c->beta1), ob2 = _mm512_set1_ps(1.0f - c->beta2);
    const __m512 ss = _mm512_set1_ps(c->step_size), ib = _mm512_set1_ps(c->inv_sqrt_bc2);
    const __m512 eps = _mm512_set1_ps(c->epsilon);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 mk = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(mk, g + i);
        __m512 mi = _mm512_add_ps(_mm512_mul_ps(b1, _mm512_maskz_loadu_ps(mk, m + i)),
                                  _mm512_mul_ps(ob1, gi));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(b2, _mm512_maskz_loadu_ps(mk, v + i)),
                                  _mm512_mul_ps(_mm512_mul_ps(ob2, gi), gi));
        __m512 den = _mm512_fmadd_ps(sqrt_nr(vi), ib, eps);
        __m512 pi = _mm512_fnmadd_ps(_mm512_mul_ps(ss, mi), recip_nr(den),
                                     _mm512_maskz_loadu_ps(mk, p + i));
        _mm512_mask_storeu_ps(m + i, mk, mi);
        _mm512_mask_storeu_ps(v + i, mk, vi);
        _mm512_mask_storeu_ps(p + i, mk, pi);
    }
}

/* dst = srcᵀ in 16×16 blocks transposed in registers (unpack, shuffle, then
 * two rounds of 128-bit lane shuffles); the ragged edges element by element. */
TARGET static void transpose_avx512(const float *src, size_t rows, size_t cols, size_t lds,
                                    float *dst, size_t ldd)
{
    size_t r0 = 0, c0;
    for (; r0 + 16 <= rows; r0 += 16) {
        for (c0 = 0; c0 + 16 <= cols; c0 += 16) {
            __m512 r[16], t[16], u[16];
            for (int i = 0; i < 16; i++)
                r[i] = _mm512_loadu_ps(src + (r0 + (size_t)i) * lds + c0);
            for (int i = 0; i < 8; i++) {
                t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
            for (int i = 0; i < 4; i++) {
                u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
                u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xEE);
                u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
                u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
            }
            /* u[4g + j], lane L: column 4L + j of rows 4g..4g+3 */
            for (int j = 0; j < 4; j++) {
                __m512 x0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
                __m512 x1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
                __m512 y0 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
                __m512 y1 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
                float *d = dst + (c0 + (size_t)j) * ldd + r0;
                _mm512_storeu_ps(d + 0 * ldd, _mm512_shuffle_f32x4(x0, y0, 0x88));
                _mm512_storeu_ps(d + 4 * ldd, _mm512_shuffle_f32x4(x1, y1, 0x88));
                _mm512_storeu_ps(d + 8 * ldd, _mm512_shuffle_f32x4(x0, y0, 0xDD));
                _mm512_storeu_ps(d + 12 * ldd, _mm512_shuffle_f32x4(x1, y1, 0xDD));
            }
        }
        if (c0 < cols)
            sn_transpose(src + r0 * lds + c0, 16, cols - c0, lds, dst + c0 * ldd + r0, ldd);
    }
    if (r0 < rows)
        sn_transpose(src + r0 * lds, rows - r0, cols, lds, dst + r0, ldd);
}

const sn_kernels sn_kernels_avx512 = {
    .name = "avx512",
    .gemm = gemm_avx512,
    .gemm_nt = gemm_nt_avx512,
    .gemm_nt8 = gemm_nt8_avx512,
    .adam = adam_avx512,
    .transpose = transpose_avx512};
#endif
