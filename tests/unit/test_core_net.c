/*
 * test_core_net.c — a network's life outside training: creation (all zero,
 * no normalisation), the parameter block's layout and the per-layer views,
 * deep copies, and each initialisation scheme's distribution, seeded.
 */
#include "testutil.h"

START_TEST(test_create_is_zero_with_header_layout)
{
    static const int sizes[4] = {5, 4, 3, 2};
    sn_arch a = tu_arch_hidden(4, sizes, SN_ACT_RELU, SN_ACT_SIGMOID, SN_LOSS_BCE);
    sn_net *net = tu_net(&a, SN_INIT_AUTO, 0);
    size_t n = 0;
    float *p = sn_net_params(net, &n);
    ck_assert_uint_eq(n, 5 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2);
    ck_assert_uint_eq(n, sn_arch_param_count(&a));
    ck_assert_ptr_eq(p, sn_net_params_const(net, NULL));
    for (size_t i = 0; i < n; i++) ck_assert(p[i] == 0.0f);
    ck_assert_int_eq(sn_net_norm(net, NULL, NULL), SN_NORM_NONE);
    /* The architecture is kept as given (a copy, not the caller's pointer). */
    const sn_arch *b = sn_net_arch(net);
    ck_assert_ptr_ne(b, &a);
    ck_assert_int_eq(b->n_layers, 4);
    ck_assert_int_eq(b->loss, SN_LOSS_BCE);
    for (int l = 0; l < 4; l++) ck_assert_int_eq(b->sizes[l], sizes[l]);
    for (int l = 0; l < 3; l++) ck_assert_int_eq(b->act[l], l < 2 ? SN_ACT_RELU : SN_ACT_SIGMOID);
    /* For each layer, W (out × in) then b (out), back to back. */
    size_t off = 0;
    for (int l = 0; l < 3; l++) {
        float *W = NULL, *bias = NULL;
        sn_net_layer(net, l, &W, &bias);
        ck_assert_uint_eq(sn_net_weight_offset(net, l), off);
        ck_assert_ptr_eq(W, p + off);
        off += (size_t)sizes[l] * (size_t)sizes[l + 1];
        ck_assert_uint_eq(sn_net_bias_offset(net, l), off);
        ck_assert_ptr_eq(bias, p + off);
        off += (size_t)sizes[l + 1];
    }
    ck_assert_uint_eq(off, n);
    sn_net_free(net);
}
END_TEST

START_TEST(test_weight_layout_is_out_by_in)
{
    /* W[o][i] multiplies input i into output o (PyTorch's nn.Linear.weight). */
    static const int sizes[2] = {3, 2};
    sn_arch a = tu_arch_hidden(2, sizes, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_AUTO, 0);
    float *W = NULL, *b = NULL;
    sn_net_layer(net, 0, &W, &b);
    W[0 * 3 + 2] = 1.0f; /* output 0 = input 2 */
    W[1 * 3 + 0] = 2.0f; /* output 1 = 2·input 0 + 0.5 */
    b[1] = 0.5f;
    const float x[3] = {10, 20, 30};
    float y[2];
    sn_error err = {0};
    TU_OK(sn_predict(net, x, 1, y, &err), err);
    ck_assert(y[0] == 30.0f && y[1] == 20.5f);
    sn_net_free(net);
}
END_TEST

START_TEST(test_copy_is_deep)
{
    static const int sizes[3] = {3, 4, 2};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 17), *cp = NULL;
    const float shift[3] = {1, 2, 3}, scale[3] = {4, 5, 6};
    sn_error err = {0};
    TU_OK(sn_net_set_norm(net, SN_NORM_MINMAX, shift, scale, &err), err);
    TU_OK(sn_net_copy(net, &cp, &err), err);
    size_t n = 0;
    float *p = sn_net_params(net, &n), *q = sn_net_params(cp, NULL);
    ck_assert_ptr_ne(p, q);
    ck_assert(memcmp(p, q, n * sizeof(float)) == 0);
    const float *s2 = NULL, *c2 = NULL;
    ck_assert_int_eq(sn_net_norm(cp, &s2, &c2), SN_NORM_MINMAX);
    ck_assert(memcmp(s2, shift, sizeof shift) == 0 && memcmp(c2, scale, sizeof scale) == 0);
    q[0] += 1.0f;
    ck_assert(p[0] != q[0]);
    TU_OK(sn_net_set_norm(cp, SN_NORM_NONE, NULL, NULL, &err), err);
    ck_assert_int_eq(sn_net_norm(net, NULL, NULL), SN_NORM_MINMAX);
    sn_net_free(net); /* the copy outlives its source */
    float y[2];
    const float x[3] = {1, 1, 1};
    TU_OK(sn_predict(cp, x, 1, y, &err), err);
    sn_net_free(cp);
}
END_TEST

/* Mean and variance of n floats. */
static void moments(const float *x, size_t n, double *mean, double *var)
{
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) q += (x[i] - *mean) * (x[i] - *mean);
    *var = q / (double)n;
}

/* Checks layer l's weights ~ N(0, want_var) over its in·out draws: the
 * sample variance has relative standard error √(2/n) (≤ 1% here: n ≥ 20000), so
 * 5% is ≥ 5σ; the mean's standard error is √(want_var/n). */
static void check_layer(sn_net *net, int l, double want_var, int biases_zero, const char *what)
{
    const sn_arch *a = sn_net_arch(net);
    size_t n = (size_t)a->sizes[l] * (size_t)a->sizes[l + 1];
    float *W = NULL, *b = NULL;
    sn_net_layer(net, l, &W, &b);
    double mean, var;
    moments(W, n, &mean, &var);
    ck_assert_msg(fabs(var / want_var - 1) < 0.05, "%s layer %d: weight variance %g, want %g", what, l, var, want_var);
    ck_assert_msg(fabs(mean) < 7 * sqrt(want_var / (double)n), "%s layer %d: weight mean %g", what, l, mean);
    int zeros = 0;
    for (int o = 0; o < a->sizes[l + 1]; o++) zeros += b[o] == 0.0f;
    if (biases_zero)
        ck_assert_msg(zeros == a->sizes[l + 1], "%s layer %d: %d of %d biases zero", what, l, zeros, a->sizes[l + 1]);
    else
        ck_assert_msg(zeros == 0, "%s layer %d: biases should be N(0,1), %d are zero", what, l, zeros);
}

static const int wide[4] = {400, 200, 100, 3};

START_TEST(test_init_normal_is_standard_normal_everywhere)
{
    sn_arch a = tu_arch_hidden(4, wide, SN_ACT_SIGMOID, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 1);
    check_layer(net, 0, 1.0, 0, "normal");
    check_layer(net, 1, 1.0, 0, "normal");
    /* The biases, all 303 together: variance within 30% (> 3.5σ at n=303
     * is 0.29; the stream is fixed, so this cannot flake). */
    size_t nb = 0;
    float bs[303];
    for (int l = 0; l < 3; l++) {
        float *W = NULL, *b = NULL;
        sn_net_layer(net, l, &W, &b);
        for (int o = 0; o < wide[l + 1]; o++) bs[nb++] = b[o];
    }
    double mean, var;
    moments(bs, nb, &mean, &var);
    ck_assert_msg(fabs(var - 1) < 0.3 && fabs(mean) < 0.3, "bias mean %g variance %g", mean, var);
    sn_net_free(net);
}
END_TEST

START_TEST(test_init_xavier_and_he_variances)
{
    sn_arch a = tu_arch_hidden(4, wide, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_XAVIER, 2);
    check_layer(net, 0, 2.0 / (400 + 200), 1, "xavier");
    check_layer(net, 1, 2.0 / (200 + 100), 1, "xavier");
    sn_net_free(net);
    net = tu_net(&a, SN_INIT_HE, 3);
    check_layer(net, 0, 2.0 / 400, 1, "he");
    check_layer(net, 1, 2.0 / 200, 1, "he");
    sn_net_free(net);
}
END_TEST

START_TEST(test_init_auto_picks_per_layer)
{
    /* relu and leaky_relu layers get he, the others xavier. */
    static const sn_activation act[3] = {SN_ACT_RELU, SN_ACT_TANH, SN_ACT_SIGMOID};
    sn_arch a = tu_arch(4, wide, act, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_AUTO, 4);
    check_layer(net, 0, 2.0 / 400, 1, "auto relu");
    check_layer(net, 1, 2.0 / (200 + 100), 1, "auto tanh");
    sn_net_free(net);
    static const sn_activation act2[3] = {SN_ACT_LINEAR, SN_ACT_LEAKY_RELU, SN_ACT_SIGMOID};
    a = tu_arch(4, wide, act2, SN_LOSS_MSE);
    net = tu_net(&a, SN_INIT_AUTO, 5);
    check_layer(net, 0, 2.0 / (400 + 200), 1, "auto linear");
    check_layer(net, 1, 2.0 / 200, 1, "auto leaky_relu");
    sn_net_free(net);
}
END_TEST

START_TEST(test_init_is_seeded)
{
    static const int sizes[3] = {6, 5, 2};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *x = tu_net(&a, SN_INIT_NORMAL, 99), *y = tu_net(&a, SN_INIT_AUTO, 0), *z = tu_net(&a, SN_INIT_NORMAL, 100);
    sn_error err = {0};
    /* Whatever was there before, the same seed gives the same parameters. */
    tu_fill_params(y, &(sn_rng){{1, 2, 3, 4}}, 5.0);
    TU_OK(sn_net_init(y, SN_INIT_NORMAL, 99, &err), err);
    size_t n = 0;
    const float *px = sn_net_params_const(x, &n);
    ck_assert(memcmp(px, sn_net_params_const(y, NULL), n * sizeof(float)) == 0);
    ck_assert(memcmp(px, sn_net_params_const(z, NULL), n * sizeof(float)) != 0);
    TU_STATUS(sn_net_init(y, SN_INIT_COUNT, 1, NULL), SN_ERR_INVALID);
    sn_net_free(x);
    sn_net_free(y);
    sn_net_free(z);
}
END_TEST

START_TEST(test_set_norm_refuses_bad_statistics)
{
    static const int sizes[2] = {2, 1};
    sn_arch a = tu_arch_hidden(2, sizes, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 1);
    const float shift[2] = {0, NAN}, scale[2] = {1, 1}, ok[2] = {0, 0};
    TU_STATUS(sn_net_set_norm(net, SN_NORM_STANDARD, shift, scale, NULL), SN_ERR_NONFINITE);
    TU_STATUS(sn_net_set_norm(net, SN_NORM_COUNT, ok, scale, NULL), SN_ERR_INVALID);
    ck_assert_int_eq(sn_net_norm(net, NULL, NULL), SN_NORM_NONE); /* unchanged */
    sn_net_free(net);
}
END_TEST

static Suite *net_suite(void)
{
    Suite *s = suite_create("core_net");
    TCase *tc = tcase_create("net");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_create_is_zero_with_header_layout);
    tcase_add_test(tc, test_weight_layout_is_out_by_in);
    tcase_add_test(tc, test_copy_is_deep);
    tcase_add_test(tc, test_init_normal_is_standard_normal_everywhere);
    tcase_add_test(tc, test_init_xavier_and_he_variances);
    tcase_add_test(tc, test_init_auto_picks_per_layer);
    tcase_add_test(tc, test_init_is_seeded);
    tcase_add_test(tc, test_set_norm_refuses_bad_statistics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(net_suite(), 0);
}
