/*
 * kernels_avx2.c — the general kernel of kernels.c, the product with Bᵀ from
 * B's rows (gemm_nt) and Adam for AVX2 + FMA.
 * Compiled for any x86-64 (the ISA is enabled per function by target
 * attributes) and called only when the CPU has it (see kernels.c).
 *
 * Register tile: MR = 6 rows of C × 2 vectors of 8 columns (12 ymm
 * accumulators, 2 for B, 1 broadcast); the last vector of a row is masked.
 * The depth is cut into blocks of KC so the KC × 16 panel of B stays in L1.
 */
#if defined(__x86_64__)
#include <immintrin.h>

#include "internal.h"

#define TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NV 2
#define KC 256

static const int mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

TARGET static inline __m256i tail_mask(size_t cols) /* first `cols` lanes (1..8) on */
{
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - cols));
}

TARGET static inline __attribute__((always_inline)) void
tile(const int mr, const int nv, const int masked, size_t k, const float *A, size_t ars,
     size_t acs, const float *B, size_t ldb, float *C, size_t ldc, __m256i last,
     const float *bias, int flags)
{
    __m256 acc[MR][NV];
#define LOADV(v, ptr) (masked && (v) == nv - 1 ? _mm256_maskload_ps(ptr, last) : _mm256_loadu_ps(ptr))
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
        __m256 init = bias ? _mm256_set1_ps(bias[r]) : _mm256_setzero_ps();
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            acc[r][v] = flags & SN_GEMM_ACC ? _mm256_add_ps(LOADV(v, C + r * ldc + 8 * v), init)
                                            : init;
    }
    const float *a[MR];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
        a[r] = A + r * ars;
    for (size_t p = 0; p < k; p++) {
        __m256 b[NV];
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++)
            b[v] = LOADV(v, B + 8 * v);
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            __m256 ar = _mm256_broadcast_ss(a[r]);
            a[r] += acs;
#pragma GCC unroll 2
            for (int v = 0; v < nv; v++)
                acc[r][v] = _mm256_fmadd_ps(ar, b[v], acc[r][v]);
        }
        B += ldb;
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 2
        for (int v = 0; v < nv; v++) {
            __m256 x = acc[r][v];
            if (flags & SN_GEMM_RELU)
                x = _mm256_max_ps(x, _mm256_setzero_ps());
            if (masked && v == nv - 1)
                _mm256_maskstore_ps(C + r * ldc + 8 * v, last, x);
            else
                _mm256_storeu_ps(C + r * ldc + 8 * v, x);
        }
#undef LOADV
}

#define TILE_CASE(MR_, NV_)                                                                   \
    case (MR_) * 8 + (NV_):                                                                   \
        tile(MR_, NV_, 1, k, A, ars, acs, B, ldb, C, ldc, last, bias, flags);                \
        break;
#define TILE_ROW(MR_) TILE_CASE(MR_, 1) TILE_CASE(MR_, 2)

TARGET static void tile_any(int mr, int nv, size_t k, const float *A, size_t ars, size_t acs,
                            const float *B, size_t ldb, float *C, size_t ldc, __m256i last,
                            const float *bias, int flags)
{
    switch (mr * 8 + nv) {
        TILE_ROW(1) TILE_ROW(2) TILE_ROW(3) TILE_ROW(4) TILE_ROW(5) TILE_ROW(6)
    default:
        break;
    }
}

TARGET static void gemm_avx2(size_t m, size_t n, size_t k, const float *A, size_t ars, size_t acs,
                             const float *B, size_t ldb, float *C, size_t ldc, const float *bias,
                             int flags)
{
    size_t p0 = 0;
    do {
        size_t kc = k - p0 < KC ? k - p0 : KC;
        int first = p0 == 0, final = p0 + kc == k;
        int fl = (first ? flags & SN_GEMM_ACC : SN_GEMM_ACC) | (final ? flags & SN_GEMM_RELU : 0);
        for (size_t j0 = 0; j0 < n; j0 += 8 * NV) {
            size_t nc = n - j0 < 8 * NV ? n - j0 : 8 * NV;
            int nv = (int)((nc + 7) / 8);
            __m256i last = tail_mask(nc - 8 * (size_t)(nv - 1));
            const float *Bp = B + p0 * ldb + j0;
            size_t i0 = 0;
            for (; i0 + MR <= m; i0 += MR) {
                const float *Ap = A + i0 * ars + p0 * acs;
                const float *bi = first && bias ? bias + i0 : NULL;
                float *Cp = C + i0 * ldc + j0;
                if (nc == 8 * NV)
                    tile(MR, NV, 0, kc, Ap, ars, acs, Bp, ldb, Cp, ldc, last, bi, fl);
                else
                    tile_any(MR, nv, kc, Ap, ars, acs, Bp, ldb, Cp, ldc, last, bi, fl);
            }
            if (i0 < m)
                tile_any((int)(m - i0), nv, kc, A + i0 * ars + p0 * acs, ars, acs, Bp, ldb,
                         C + i0 * ldc + j0, ldc, last, first && bias ? bias + i0 : NULL, fl);
        }
        p0 += kc;
    } while (p0 < k);
}

/* ---- C = A·Bᵀ from B's rows (gemm_nt) ----
 * Tile: DR rows of A × DC rows of B, 8 ymm accumulators of 8 lanes of partial
 * sums along the depth (the tail masked). A tile with fewer than DC rows of B
 * repeats its last row, so every element is summed the same way. */
#define DR 2
#define DC 4

/* The sums of the 8 lanes of a[0..3], in lanes 0..3, by one tree for all:
 * ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). */
TARGET static inline __attribute__((always_inline)) __m128 sum4(const __m256 a[DC])
{
    __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

TARGET static inline __attribute__((always_inline)) void
dot_tile(const int mr, size_t nb, size_t k, const float *A, size_t lda, const float *B,
         size_t ldb, float *C, size_t ldc, const float *bias, int flags)
{
    __m256 acc[DR][DC];
    const float *b[DC];
#pragma GCC unroll 4
    for (int c = 0; c < DC; c++)
        b[c] = B + ((size_t)c < nb ? (size_t)c : nb - 1) * ldb;
#pragma GCC unroll 2
    for (int r = 0; r < mr; r++)
#pragma GCC unroll 4
        for (int c = 0; c < DC; c++)
            acc[r][c] = _mm256_setzero_ps();
    for (size_t p = 0; p < k; p += 8) {
        int full = k - p >= 8;
        __m256i mk = tail_mask(full ? 8 : k - p);
        __m256 a[DR];
#pragma GCC unroll 2
        for (int r = 0; r < mr; r++)
            a[r] = full ? _mm256_loadu_ps(A + r * lda + p) : _mm256_maskload_ps(A + r * lda + p, mk);
#pragma GCC unroll 4
        for (int c = 0; c < DC; c++) {
            __m256 bc = full ? _mm256_loadu_ps(b[c] + p) : _mm256_maskload_ps(b[c] + p, mk);
            __asm__("" : "+x"(bc)); /* loaded once, not folded into each of the mr FMAs */
#pragma GCC unroll 2
            for (int r = 0; r < mr; r++)
                acc[r][c] = _mm256_fmadd_ps(a[r], bc, acc[r][c]);
        }
    }
    __m128i store = _mm256_castsi256_si128(tail_mask(nb));
#pragma GCC unroll 2
    for (int r = 0; r < mr; r++) {
        __m128 s = sum4(acc[r]);
        if (bias)
            s = _mm_add_ps(s, _mm_set1_ps(bias[r]));
        if (flags & SN_GEMM_RELU)
            s = _mm_max_ps(s, _mm_setzero_ps());
        _mm_maskstore_ps(C + r * ldc, store, s);
    }
}

TARGET static void gemm_nt_avx2(size_t m, size_t n, size_t k, const float *A, size_t lda,
                                const float *B, size_t ldb, float *C, size_t ldc,
                                const float *bias, int flags)
{
    for (size_t j0 = 0; j0 < n; j0 += DC) {
        size_t nb = n - j0 < DC ? n - j0 : DC, i0 = 0;
        const float *Bj = B + j0 * ldb;
        for (; i0 + DR <= m; i0 += DR)
            dot_tile(DR, nb, k, A + i0 * lda, lda, Bj, ldb, C + i0 * ldc + j0, ldc,
                     bias ? bias + i0 : NULL, flags);
        if (i0 < m)
            dot_tile(1, nb, k, A + i0 * lda, lda, Bj, ldb, C + i0 * ldc + j0, ldc,
                     bias ? bias + i0 : NULL, flags);
    }
}

/* The same operations in the same order as adam_portable (no fused
 * multiply-add), so both paths give the same bits. */
TARGET static void adam_avx2(float *p, const float *g, float *m, float *v, size_t n,
                             const sn_adam_coef *c)
{
    const __m256 b1 = _mm256_set1_ps(c->beta1), b2 = _mm256_set1_ps(c->beta2);
    const __m256 ob1 = _mm256_set1_ps(1.0f - c->beta1), ob2 = _mm256_set1_ps(1.0f - c->beta2);
    const __m256 ss = _mm256_set1_ps(c->step_size), ib = _mm256_set1_ps(c->inv_sqrt_bc2);
    const __m256 eps = _mm256_set1_ps(c->epsilon);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(ob1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                                  _mm256_mul_ps(_mm256_mul_ps(ob2, gi), gi));
        __m256 den = _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), ib), eps);
        __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_div_ps(_mm256_mul_ps(ss, mi), den));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    if (i < n)
        sn_kernels_find("portable")->adam(p + i, g + i, m + i, v + i, n - i, c);
}

const sn_kernels sn_kernels_avx2 = {
    .name = "avx2",
    .gemm = gemm_avx2,
    .gemm_nt = gemm_nt_avx2,
    .adam = adam_avx2,
    .transpose = sn_transpose};
#endif
