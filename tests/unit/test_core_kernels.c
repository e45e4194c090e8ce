/*
 * test_core_kernels.c — every kernel path this CPU runs (portable, avx2,
 * avx512) against a double-precision reference, for the three products of a
 * dense layer in the shapes the training engine uses them (the general
 * kernel, and the first layer's forward from the inputs' rows by gemm_nt),
 * on awkward sizes (1, 3, 7, 17, 63, 255, 257, 784) and batch sizes (1, 5,
 * 64, 100); the fused epilogue (bias, relu, accumulate); gemm_nt's elements
 * the same bits wherever they lie in C; Adam against the portable loop;
 * the transposes, exactly;
 * and the public wrappers sn_gemm_nt/nn/tn_acc on inference's path (AVX2
 * where the process's is AVX-512), bit for bit; gemm_nt8 (inference's large
 * batches on AVX-512) the avx2 path's gemm_nt bit for bit, so that a row's
 * products are the same alone and in a batch.
 *
 * Tolerance: |c − ref| ≤ 1e-5 · Σ_p |a_p·b_p| + 1e-30 for every element (float
 * sums of up to 784 products; the bound is about 20 float epsilons of the
 * absolute sum, far above rounding and far below any indexing mistake).
 * A path the CPU lacks is skipped and says so.
 */
#include "internal.h"
#include "testutil.h"

static const char *const PATHS[] = {"portable", "avx2", "avx512"};
static const size_t SIZES[] = {1, 3, 7, 17, 63, 255, 257, 784};
static const size_t BATCHES[] = {1, 5, 64, 100};
#define TOL 1e-5

static float *random_floats(sn_rng *rng, size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof(float));
    ck_assert_ptr_nonnull(x);
    tu_fill_uniform(rng, x, n, -1.0, 1.0);
    return x;
}

/* Reference of the kernels in double, with the error bound of each element:
 * B(p, j) = B[p·ldb + j] for gemm, B[j·ldb + p] for gemm_nt. */
static void reference(int nt, size_t m, size_t n, size_t k, const float *A, size_t ars, size_t acs,
                      const float *B, size_t ldb, const float *C0, size_t ldc, const float *bias,
                      int flags, double *ref, double *bound)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = flags & SN_GEMM_ACC ? C0[i * ldc + j] : 0.0, mag = fabs(s);
            if (bias)
                s += bias[i], mag += fabs(bias[i]);
            for (size_t p = 0; p < k; p++) {
                double t = (double)A[i * ars + p * acs] * (nt ? B[j * ldb + p] : B[p * ldb + j]);
                s += t;
                mag += fabs(t);
            }
            if ((flags & SN_GEMM_RELU) && s < 0)
                s = 0;
            ref[i * n + j] = s;
            bound[i * n + j] = TOL * mag + 1e-30;
        }
}

/* Runs one product on path k (gemm, or gemm_nt when nt; then acs is 1) and
 * checks it; returns the largest error/bound. */
static double check_product(const sn_kernels *kern, int nt, const char *what, size_t m, size_t n,
                            size_t k, const float *A, size_t ars, size_t acs, const float *B,
                            size_t ldb, const float *bias, int flags, sn_rng *rng)
{
    size_t ldc = n + 3; /* a row stride wider than the row, as the engine's buffers have */
    float *C = random_floats(rng, m * ldc), *C0 = malloc(m * ldc * sizeof(float) + 1);
    double *ref = malloc(m * n * sizeof(double) + 1), *bound = malloc(m * n * sizeof(double) + 1);
    ck_assert(C0 && ref && bound);
    memcpy(C0, C, m * ldc * sizeof(float));
    reference(nt, m, n, k, A, ars, acs, B, ldb, C0, ldc, bias, flags, ref, bound);
    if (nt)
        kern->gemm_nt(m, n, k, A, ars, B, ldb, C, ldc, bias, flags);
    else
        kern->gemm(m, n, k, A, ars, acs, B, ldb, C, ldc, bias, flags);
    double worst = 0;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double err = fabs(C[i * ldc + j] - ref[i * n + j]);
            if (!(err <= bound[i * n + j])) /* (Check logs every passing assertion: test first) */
                ck_abort_msg("%s %s m=%zu n=%zu k=%zu flags=%d: C[%zu][%zu] = %.9g, reference %.9g",
                          kern->name, what, m, n, k, flags, i, j, C[i * ldc + j], ref[i * n + j]);
            worst = fmax(worst, err / bound[i * n + j]);
        }
        for (size_t j = n; j < ldc; j++) /* the padding of each row is untouched */
            if (C[i * ldc + j] != C0[i * ldc + j])
                ck_abort_msg("%s %s wrote past a row", kern->name, what);
    }
    free(C), free(C0), free(ref), free(bound);
    return worst;
}

static double check_one(const sn_kernels *kern, const char *what, size_t m, size_t n, size_t k,
                        const float *A, size_t ars, size_t acs, const float *B, size_t ldb,
                        const float *bias, int flags, sn_rng *rng)
{
    return check_product(kern, 0, what, m, n, k, A, ars, acs, B, ldb, bias, flags, rng);
}

/* The engine's three products for a layer of `in` inputs, `out` outputs and a
 * batch of `rows`, with A and B as the engine lays them out. */
static double check_layer(const sn_kernels *kern, size_t in, size_t out, size_t rows, sn_rng *rng)
{
    float *W = random_floats(rng, out * in), *b = random_floats(rng, out);
    float *At = random_floats(rng, in * rows), *A = random_floats(rng, rows * in);
    float *Dt = random_floats(rng, out * rows);
    double worst = 0;
    /* forward Zᵀ = W·Aᵀ + b, relu */
    worst = fmax(worst, check_one(kern, "forward", out, rows, in, W, in, 1, At, rows, b,
                                  SN_GEMM_RELU, rng));
    /* the first layer's forward from the inputs' rows: Zᵀ = W·Aᵀ + b, relu */
    worst = fmax(worst, check_product(kern, 1, "forward (rows)", out, rows, in, W, in, 1, A, in, b,
                                      SN_GEMM_RELU, rng));
    /* backward dAᵀ = Wᵀ·δᵀ */
    worst = fmax(worst, check_one(kern, "backward dA", in, rows, out, W, 1, in, Dt, rows, NULL, 0, rng));
    /* dW (+)= δᵀ·A */
    worst = fmax(worst, check_one(kern, "backward dW", out, in, rows, Dt, rows, 1, A, in, NULL,
                                  SN_GEMM_ACC, rng));
    free(W), free(b), free(At), free(A), free(Dt);
    return worst;
}

START_TEST(test_paths_against_reference)
{
    const char *name = PATHS[_i];
    const sn_kernels *kern = sn_kernels_find(name);
    if (!kern) {
        printf("kernels: %s is not supported by this CPU, skipped\n", name);
        return;
    }
    sn_rng rng;
    sn_rng_seed(&rng, 3 + (uint64_t)_i);
    double worst = 0;
    size_t ns = sizeof SIZES / sizeof *SIZES, nb = sizeof BATCHES / sizeof *BATCHES;
    for (size_t a = 0; a < ns; a++)
        for (size_t c = 0; c < ns; c++)
            for (size_t r = 0; r < nb; r++) {
                size_t in = SIZES[a], out = SIZES[c], rows = BATCHES[r];
                /* every shape up to 500k multiply-adds, and MNIST's first layer at batch 64 */
                if (in * out * rows > 500000 && !(rows == 64 && in == 784 && out == 257))
                    continue;
                worst = fmax(worst, check_layer(kern, in, out, rows, &rng));
            }
    printf("kernels: %s within %.3f of the bound at worst\n", name, worst);
}
END_TEST

START_TEST(test_epilogue_flags_and_empty_depth)
{
    sn_rng rng;
    sn_rng_seed(&rng, 11);
    for (size_t p = 0; p < 3; p++) {
        const sn_kernels *kern = sn_kernels_find(PATHS[p]);
        if (!kern)
            continue;
        /* The general kernel (every flag) and gemm_nt (bias and relu: it never
         * accumulates), at depths 0 (C is (C or 0) + bias only), 1, 2 and 17
         * (a vector and a tail of 1); without bias, the general kernel reads Aᵀ. */
        for (int nt = 0; nt < 2; nt++)
            for (int flags = 0; flags < 4; flags++)
                for (size_t k = 0; k < 18; k += k < 2 ? 1 : 15) {
                    if (nt && flags & SN_GEMM_ACC)
                        continue;
                    float *A = random_floats(&rng, 13 * 17), *B = random_floats(&rng, 37 * 17);
                    float *bias = random_floats(&rng, 13);
                    size_t ldb = nt ? 17 : 37;
                    check_product(kern, nt, "flags", 13, 37, k, A, 17, 1, B, ldb, bias, flags, &rng);
                    check_product(kern, nt, "flags, no bias", 13, 37, k, A, nt ? 17 : 1, nt ? 1 : 13, B,
                                  ldb, NULL, flags, &rng);
                    free(A), free(B), free(bias);
                }
    }
}
END_TEST

/* The engine splits gemm_nt's C among threads by rows and by columns: each
 * element must come out the same bits whatever block it was computed in. */
START_TEST(test_nt_elements_independent_of_blocks)
{
    sn_rng rng;
    sn_rng_seed(&rng, 17);
    const size_t m = 23, n = 29, k = 100;
    for (size_t p = 0; p < 3; p++) {
        const sn_kernels *kern = sn_kernels_find(PATHS[p]);
        if (!kern)
            continue;
        float *A = random_floats(&rng, m * k), *B = random_floats(&rng, n * k);
        float *bias = random_floats(&rng, m), *whole = malloc(m * n * 4), *part = malloc(m * n * 4);
        ck_assert(whole && part);
        kern->gemm_nt(m, n, k, A, k, B, k, whole, n, bias, SN_GEMM_RELU);
        for (size_t i0 = 0; i0 < m; i0 += 5)
            for (size_t j0 = 0; j0 < n; j0 += 7) {
                size_t mi = m - i0 < 5 ? m - i0 : 5, nj = n - j0 < 7 ? n - j0 : 7;
                kern->gemm_nt(mi, nj, k, A + i0 * k, k, B + j0 * k, k, part + i0 * n + j0, n,
                              bias + i0, SN_GEMM_RELU);
            }
        if (memcmp(whole, part, m * n * 4) != 0)
            ck_abort_msg("%s gemm_nt: a block of C differs from the whole", kern->name);
        free(A), free(B), free(bias), free(whole), free(part);
    }
}
END_TEST

/* gemm_nt8 (AVX-512, inference's large batches) gives the avx2 path's
 * gemm_nt bit for bit, on every awkward shape, with bias and relu, and with
 * the larger lda and ldc of a sub-block. */
START_TEST(test_nt8_is_avx2_bit_for_bit)
{
    const sn_kernels *wide = sn_kernels_find("avx512"), *avx2 = sn_kernels_find("avx2");
    if (!wide || !avx2) {
        printf("kernels: gemm_nt8 skipped, this CPU lacks avx512\n");
        return;
    }
    ck_assert_ptr_nonnull(wide->gemm_nt8);
    ck_assert_ptr_null(avx2->gemm_nt8);
    sn_rng rng;
    sn_rng_seed(&rng, 29);
    static const size_t ROWS[] = {1, 2, 3, 5, 6, 7, 13, 16, 64, 100};
    for (size_t ri = 0; ri < sizeof ROWS / sizeof ROWS[0]; ri++)
        for (size_t ni = 0; ni < sizeof SIZES / sizeof SIZES[0]; ni++)
            for (size_t ki = 0; ki < sizeof SIZES / sizeof SIZES[0]; ki++) {
                size_t m = ROWS[ri], n = SIZES[ni], k = SIZES[ki], lda = k + 3, ldc = n + 5;
                float *A = random_floats(&rng, m * lda), *B = random_floats(&rng, n * k);
                float *bias = random_floats(&rng, m), *want = calloc(m * ldc, 4), *got = calloc(m * ldc, 4);
                ck_assert(want && got);
                int flags = (int)(ri + ni + ki) % 2 ? SN_GEMM_RELU : 0;
                const float *b = ki % 2 ? bias : NULL;
                avx2->gemm_nt(m, n, k, A, lda, B, k, want, ldc, b, flags);
                wide->gemm_nt8(m, n, k, A, lda, B, k, got, ldc, b, flags);
                if (memcmp(want, got, m * ldc * 4) != 0)
                    ck_abort_msg("gemm_nt8 differs from avx2's gemm_nt at m %zu n %zu k %zu", m, n, k);
                free(A), free(B), free(bias), free(want), free(got);
            }
}
END_TEST

START_TEST(test_adam_paths_match_portable)
{
    const sn_kernels *ref = sn_kernels_find("portable");
    sn_adam_coef c = {.beta1 = 0.9f, .beta2 = 0.999f, .epsilon = 1e-8f, .step_size = 0.0031f,
                      .inv_sqrt_bc2 = 12.5f};
    for (size_t p = 1; p < 3; p++) {
        const sn_kernels *kern = sn_kernels_find(PATHS[p]);
        if (!kern)
            continue;
        for (size_t n = 0; n < 70; n += 7) {
            sn_rng rng;
            sn_rng_seed(&rng, n);
            float *v0 = random_floats(&rng, 4 * n), *v1 = malloc(4 * n * sizeof(float) + 1);
            for (size_t i = 3 * n; i < 4 * n; i++) /* the second moment is never negative */
                v0[i] = fabsf(v0[i]);
            memcpy(v1, v0, 4 * n * sizeof(float));
            float *before = malloc(n * sizeof(float) + 1);
            ck_assert_ptr_nonnull(before);
            memcpy(before, v0, n * sizeof(float));
            ref->adam(v0, v0 + n, v0 + 2 * n, v0 + 3 * n, n, &c);
            kern->adam(v1, v1 + n, v1 + 2 * n, v1 + 3 * n, n, &c);
            /* The moments are computed identically; the update may use
             * estimates refined by Newton steps: within 1e-5 of the step's
             * size, plus one rounding of the parameter. */
            for (size_t i = 2 * n; i < 4 * n; i++)
                if (v0[i] != v1[i])
                    ck_abort_msg("%s adam n=%zu: moment %zu differs", kern->name, n, i);
            for (size_t i = 0; i < n; i++)
                if (!(fabsf(v0[i] - v1[i]) <= 1e-5f * fabsf(before[i] - v0[i]) +
                                                   1.2e-7f * fabsf(v0[i]) + 1e-30f))
                    ck_abort_msg("%s adam n=%zu, element %zu: %.9g vs portable %.9g", kern->name,
                                 n, i, v1[i], v0[i]);
            free(before);
            free(v0), free(v1);
        }
    }
}
END_TEST

START_TEST(test_transpose_paths_exact)
{
    static const size_t dims[] = {1, 3, 16, 17, 33, 64, 100, 784};
    sn_rng rng;
    sn_rng_seed(&rng, 21);
    for (size_t p = 0; p < 3; p++) {
        const sn_kernels *kern = sn_kernels_find(PATHS[p]);
        if (!kern)
            continue;
        for (size_t a = 0; a < 8; a++)
            for (size_t b = 0; b < 8; b++) {
                size_t rows = dims[a], cols = dims[b], lds = cols + 5, ldd = rows + 3;
                float *src = random_floats(&rng, rows * lds), *dst = random_floats(&rng, cols * ldd);
                float *keep = malloc(cols * ldd * sizeof(float));
                ck_assert_ptr_nonnull(keep);
                memcpy(keep, dst, cols * ldd * sizeof(float));
                kern->transpose(src, rows, cols, lds, dst, ldd);
                for (size_t c = 0; c < cols; c++)
                    for (size_t r = 0; r < ldd; r++)
                        if (dst[c * ldd + r] != (r < rows ? src[r * lds + c] : keep[c * ldd + r]))
                            ck_abort_msg("%s transpose %zu×%zu: [%zu][%zu]", kern->name, rows, cols, c, r);
                free(src), free(dst), free(keep);
            }
    }
}
END_TEST

START_TEST(test_public_products_on_inference_path)
{
    sn_rng rng;
    sn_rng_seed(&rng, 5);
    const size_t m = 5, n = 257, k = 63;
    float *A = random_floats(&rng, m * k), *B = random_floats(&rng, n * k), *C = malloc(m * n * 4);
    float *Bn = random_floats(&rng, k * n), *At = random_floats(&rng, k * m);
    float *Ct = random_floats(&rng, m * n), *Ct0 = malloc(m * n * 4);
    ck_assert(C && Ct0);
    memcpy(Ct0, Ct, m * n * 4);
    sn_gemm_nt(m, n, k, A, B, C); /* C = A·Bᵀ */
    float *C2 = malloc(m * n * 4);
    ck_assert_ptr_nonnull(C2);
    sn_kernels_inference()->gemm_nt(m, n, k, A, k, B, k, C2, n, NULL, 0);
    ck_assert_msg(memcmp(C, C2, m * n * 4) == 0, "sn_gemm_nt is not on inference's path (%s)",
                  sn_kernels_inference()->name);
    free(C2);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (size_t p = 0; p < k; p++)
                s += (double)A[i * k + p] * B[j * k + p], mag += fabs((double)A[i * k + p] * B[j * k + p]);
            if (!(fabs(C[i * n + j] - s) <= TOL * mag))
                ck_abort_msg("C[%zu][%zu] = %.9g, reference %.9g", i, j, C[i * n + j], s);
        }
    sn_gemm_nn(m, n, k, A, Bn, C); /* C = A·B */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0, mag = 0;
            for (size_t p = 0; p < k; p++)
                s += (double)A[i * k + p] * Bn[p * n + j], mag += fabs((double)A[i * k + p] * Bn[p * n + j]);
            if (!(fabs(C[i * n + j] - s) <= TOL * mag))
                ck_abort_msg("C[%zu][%zu] = %.9g, reference %.9g", i, j, C[i * n + j], s);
        }
    sn_gemm_tn_acc(m, n, k, At, Bn, Ct); /* Ct += Atᵀ·B */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = Ct0[i * n + j], mag = fabs(s);
            for (size_t p = 0; p < k; p++)
                s += (double)At[p * m + i] * Bn[p * n + j], mag += fabs((double)At[p * m + i] * Bn[p * n + j]);
            if (!(fabs(Ct[i * n + j] - s) <= TOL * mag))
                ck_abort_msg("Ct[%zu][%zu] = %.9g, reference %.9g", i, j, Ct[i * n + j], s);
        }
    free(A), free(B), free(C), free(Bn), free(At), free(Ct), free(Ct0);
}
END_TEST

/* A row's products do not depend on its batch: sn_gemm_nt over 40 rows (the
 * wide kernel where there is one) gives each row the bits it gets alone. */
START_TEST(test_nt_rows_independent_of_batch)
{
    sn_rng rng;
    sn_rng_seed(&rng, 31);
    const size_t m = 40, n = 33, k = 784;
    float *A = random_floats(&rng, m * k), *B = random_floats(&rng, n * k);
    float *batch = malloc(m * n * 4), *alone = malloc(n * 4);
    ck_assert(batch && alone);
    sn_gemm_nt(m, n, k, A, B, batch);
    for (size_t i = 0; i < m; i++) {
        sn_gemm_nt(1, n, k, A + i * k, B, alone);
        ck_assert_msg(memcmp(alone, batch + i * n, n * 4) == 0, "row %zu differs alone and in a batch", i);
    }
    free(A), free(B), free(batch), free(alone);
}
END_TEST

START_TEST(test_dispatch_is_stable_and_known)
{
    const sn_kernels *k = sn_kernels_get();
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_eq(k, sn_kernels_get());
    ck_assert(!strcmp(k->name, "portable") || !strcmp(k->name, "avx2") || !strcmp(k->name, "avx512"));
    ck_assert_str_eq(sn_kernel_path(), k->name);
    /* inference: the process's path, AVX2 in place of AVX-512 */
    const sn_kernels *inference = sn_kernels_inference();
    ck_assert_ptr_eq(inference, sn_kernels_inference());
    if (!strcmp(k->name, "avx512"))
        ck_assert_str_eq(inference->name, "avx2");
    else
        ck_assert_ptr_eq(inference, k);
    ck_assert_ptr_nonnull(sn_kernels_find("portable"));
    ck_assert_ptr_null(sn_kernels_find("sse9"));
    printf("kernels: this process trains on %s, infers on %s\n", k->name, inference->name);
}
END_TEST

static Suite *kernels_suite(void)
{
    Suite *s = suite_create("core_kernels");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 120); /* the portable path under sanitizers is slow */
    tcase_add_loop_test(tc, test_paths_against_reference, 0, 3);
    tcase_add_test(tc, test_epilogue_flags_and_empty_depth);
    tcase_add_test(tc, test_nt_elements_independent_of_blocks);
    tcase_add_test(tc, test_nt8_is_avx2_bit_for_bit);
    tcase_add_test(tc, test_adam_paths_match_portable);
    tcase_add_test(tc, test_transpose_paths_exact);
    tcase_add_test(tc, test_public_products_on_inference_path);
    tcase_add_test(tc, test_nt_rows_independent_of_batch);
    tcase_add_test(tc, test_dispatch_is_stable_and_known);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(kernels_suite(), 0);
}
