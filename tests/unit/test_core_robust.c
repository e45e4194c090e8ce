/*
 * test_core_robust.c — the core under bad input and the promises that make
 * it safe to serve: bit-reproducible training, lossless serialisation, a
 * loader that refuses every truncated, damaged or garbage blob, NaN/Inf and
 * divergence reported as SN_ERR_NONFINITE with the parameters untouched,
 * and the validators (architecture, optimizer, names) refusing what the
 * header rules out.
 */
#include <limits.h>
#include <pthread.h>

#include "testutil.h"

/* ---- a trained network to save ---- */

enum { ROWS = 24 };

static void data(float *X, float *Y, uint64_t seed)
{
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    tu_fill_uniform(&rng, X, ROWS * 3, -5, 5);
    for (size_t r = 0; r < ROWS; r++) {
        int k = X[3 * r] + X[3 * r + 1] > 0;
        Y[2 * r] = (float)k;
        Y[2 * r + 1] = (float)!k;
    }
}

/* [3,6,4,2] tanh/relu/softmax, standardised inputs, trained a few epochs
 * with shuffled mini-batches: every part of the state is non-trivial. */
static sn_net *trained(uint64_t init_seed, uint64_t shuffle_seed, int threads)
{
    static const int sizes[4] = {3, 6, 4, 2};
    static const sn_activation act[3] = {SN_ACT_TANH, SN_ACT_RELU, SN_ACT_SOFTMAX};
    sn_arch a = tu_arch(4, sizes, act, SN_LOSS_CROSSENTROPY);
    sn_net *net = tu_net(&a, SN_INIT_AUTO, init_seed);
    float X[ROWS * 3], Y[ROWS * 2];
    data(X, Y, 1);
    sn_error err = {0};
    TU_OK(sn_net_fit_norm(net, SN_NORM_STANDARD, X, ROWS, &err), err);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.optimizer.learning_rate = 0.01f;
    cfg.epochs = 15;
    cfg.batch_size = 5;
    cfg.seed = shuffle_seed;
    cfg.threads = threads;
    TU_OK(sn_train(net, &cfg, X, Y, ROWS, NULL, NULL, NULL, &err), err);
    return net;
}

static uint8_t *save(const sn_net *net, size_t *len)
{
    uint8_t *buf = NULL;
    sn_error err = {0};
    TU_OK(sn_net_save(net, &buf, len, &err), err);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_gt(*len, 0);
    return buf;
}

static int same_bytes(const sn_net *a, const sn_net *b)
{
    size_t la = 0, lb = 0;
    uint8_t *ba = save(a, &la), *bb = save(b, &lb);
    int same = la == lb && memcmp(ba, bb, la) == 0;
    free(ba);
    free(bb);
    return same;
}

/* ---- determinism ---- */

START_TEST(test_same_seed_same_bytes)
{
    sn_net *a = trained(5, 9, 1), *b = trained(5, 9, 1);
    ck_assert_msg(same_bytes(a, b), "two runs with the same seeds differ");
    sn_net_free(a);
    sn_net_free(b);
}
END_TEST

START_TEST(test_different_seed_different_bytes)
{
    sn_net *a = trained(5, 9, 1), *b = trained(6, 9, 1), *c = trained(5, 10, 1);
    ck_assert_msg(!same_bytes(a, b), "a different init seed gave the same network");
    ck_assert_msg(!same_bytes(a, c), "a different shuffle seed gave the same network");
    sn_net_free(a);
    sn_net_free(b);
    sn_net_free(c);
}
END_TEST

START_TEST(test_threads_do_not_change_the_result)
{
    /* The seed alone fixes the weights (API: "the same request with the same
     * seed gives bit-identical weights"), whatever the thread count. */
    sn_net *a = trained(5, 9, 1), *b = trained(5, 9, 2), *c = trained(5, 9, 0);
    ck_assert_msg(same_bytes(a, b), "threads = 2 changed the trained bytes");
    ck_assert_msg(same_bytes(a, c), "threads = 0 (meaning 1) changed the trained bytes");
    sn_net_free(a);
    sn_net_free(b);
    sn_net_free(c);
}
END_TEST

/* The header: "a network that is not being modified may be used by
 * sn_predict from many threads at once". Four threads predict the same
 * rows 50 times each; every answer must equal the single-threaded one. */
typedef struct {
    const sn_net *net;
    const float *X;
    const float *want;
    int mismatches;
} predictor;

static void *predict_many(void *arg)
{
    predictor *p = arg;
    float out[ROWS * 2];
    for (int k = 0; k < 50; k++) {
        if (sn_predict(p->net, p->X, ROWS, out, NULL) != SN_OK || memcmp(out, p->want, sizeof out) != 0)
            p->mismatches++;
    }
    return NULL;
}

START_TEST(test_concurrent_predict_agrees)
{
    sn_net *net = trained(5, 9, 1);
    float X[ROWS * 3], Y[ROWS * 2], want[ROWS * 2];
    data(X, Y, 6);
    sn_error err = {0};
    TU_OK(sn_predict(net, X, ROWS, want, &err), err);
    pthread_t th[4];
    predictor pr[4];
    for (int i = 0; i < 4; i++) {
        pr[i] = (predictor){.net = net, .X = X, .want = want};
        ck_assert_int_eq(pthread_create(&th[i], NULL, predict_many, &pr[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(pr[i].mismatches == 0, "thread %d: %d answers differ", i, pr[i].mismatches);
    }
    sn_net_free(net);
}
END_TEST

/* ---- serialisation ---- */

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320u : c >> 1;
    }
    return ~c;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(test_blob_ends_in_crc32)
{
    sn_net *net = trained(5, 9, 1);
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    ck_assert_uint_gt(len, 4);
    ck_assert_msg(le32(buf + len - 4) == crc32_ref(buf, len - 4), "the last 4 bytes are not the CRC-32 (IEEE, LE)");
    free(buf);
    sn_net_free(net);
}
END_TEST

START_TEST(test_round_trip_is_exact)
{
    sn_net *net = trained(5, 9, 1), *back = NULL;
    size_t len = 0, len2 = 0;
    uint8_t *buf = save(net, &len);
    sn_error err = {0};
    TU_OK(sn_net_load(buf, len, &back, &err), err);
    ck_assert_ptr_nonnull(back);
    const sn_arch *a = sn_net_arch(net), *b = sn_net_arch(back);
    ck_assert_int_eq(a->n_layers, b->n_layers);
    ck_assert_int_eq(a->loss, b->loss);
    for (int l = 0; l < a->n_layers; l++) ck_assert_int_eq(a->sizes[l], b->sizes[l]);
    for (int l = 0; l < a->n_layers - 1; l++) ck_assert_int_eq(a->act[l], b->act[l]);
    size_t n1 = 0, n2 = 0;
    const float *p1 = sn_net_params_const(net, &n1), *p2 = sn_net_params_const(back, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(p1, p2, n1 * sizeof(float)) == 0);
    const float *s1, *c1, *s2, *c2;
    ck_assert_int_eq(sn_net_norm(net, &s1, &c1), SN_NORM_STANDARD);
    ck_assert_int_eq(sn_net_norm(back, &s2, &c2), SN_NORM_STANDARD);
    ck_assert(memcmp(s1, s2, 3 * sizeof(float)) == 0 && memcmp(c1, c2, 3 * sizeof(float)) == 0);
    /* Identical predictions, bit for bit. */
    float X[ROWS * 3], Y[ROWS * 2], o1[ROWS * 2], o2[ROWS * 2];
    data(X, Y, 2);
    TU_OK(sn_predict(net, X, ROWS, o1, &err), err);
    TU_OK(sn_predict(back, X, ROWS, o2, &err), err);
    ck_assert(memcmp(o1, o2, sizeof o1) == 0);
    /* And identical bytes when saved again. */
    uint8_t *buf2 = save(back, &len2);
    ck_assert_uint_eq(len, len2);
    ck_assert(memcmp(buf, buf2, len) == 0);
    free(buf);
    free(buf2);
    sn_net_free(back);
    sn_net_free(net);
}
END_TEST

START_TEST(test_round_trip_without_normalisation)
{
    static const int sizes[2] = {2, 1};
    sn_arch a = tu_arch_hidden(2, sizes, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 3), *back = NULL;
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    sn_error err = {0};
    TU_OK(sn_net_load(buf, len, &back, &err), err);
    ck_assert_int_eq(sn_net_norm(back, NULL, NULL), SN_NORM_NONE);
    ck_assert(same_bytes(net, back));
    free(buf);
    sn_net_free(back);
    sn_net_free(net);
}
END_TEST

START_TEST(test_every_truncation_is_corrupt)
{
    sn_net *net = trained(5, 9, 1);
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    for (size_t n = 0; n < len; n++) {
        /* A fresh copy of exactly n bytes, so ASan sees any read past it. */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        sn_net *out = (sn_net *)buf; /* must be set to NULL */
        sn_error err = {0};
        sn_status st = sn_net_load(cut, n, &out, &err);
        ck_assert_msg(st == SN_ERR_CORRUPT, "%zu of %zu bytes: %s", n, len, sn_status_name(st));
        ck_assert_ptr_null(out);
        ck_assert_int_eq(err.code, SN_ERR_CORRUPT);
        free(cut);
    }
    free(buf);
    sn_net_free(net);
}
END_TEST

START_TEST(test_every_bit_flip_is_corrupt)
{
    /* A CRC-32 catches every error burst of 32 bits or fewer. */
    sn_net *net = trained(5, 9, 1);
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    for (size_t i = 0; i < len; i++) {
        for (int b = 0; b < 8; b++) {
            buf[i] ^= (uint8_t)(1u << b);
            sn_net *out = NULL;
            sn_status st = sn_net_load(buf, len, &out, NULL);
            ck_assert_msg(st == SN_ERR_CORRUPT, "bit %d of byte %zu flipped: %s", b, i, sn_status_name(st));
            ck_assert_ptr_null(out);
            buf[i] ^= (uint8_t)(1u << b);
        }
        buf[i] ^= 0xFF; /* the whole byte */
        ck_assert_int_eq(sn_net_load(buf, len, &(sn_net *){NULL}, NULL), SN_ERR_CORRUPT);
        buf[i] ^= 0xFF;
    }
    free(buf);
    sn_net_free(net);
}
END_TEST

START_TEST(test_trailing_bytes_are_corrupt)
{
    sn_net *net = trained(5, 9, 1);
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    uint8_t *longer = malloc(len + 8);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 8);
    for (size_t extra = 1; extra <= 8; extra++)
        ck_assert_int_eq(sn_net_load(longer, len + extra, &(sn_net *){NULL}, NULL), SN_ERR_CORRUPT);
    free(longer);
    free(buf);
    sn_net_free(net);
}
END_TEST

START_TEST(test_damage_behind_a_valid_crc_is_safe)
{
    /* A blob whose bytes were changed and whose CRC was then recomputed gets
     * past the checksum: the loader must still either refuse it or build a
     * valid network — never read out of bounds (ASan watches), never accept
     * an impossible architecture or a non-finite parameter. */
    sn_net *net = trained(5, 9, 1);
    size_t len = 0;
    uint8_t *buf = save(net, &len);
    uint8_t *m = malloc(len);
    static const uint8_t values[] = {0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF};
    int refused = 0, accepted = 0;
    for (size_t i = 0; i + 4 < len; i++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(m, buf, len);
            if (m[i] == values[v]) continue;
            m[i] = values[v];
            put_le32(m + len - 4, crc32_ref(m, len - 4));
            sn_net *out = NULL;
            sn_status st = sn_net_load(m, len, &out, NULL);
            ck_assert_msg(st == SN_OK || st == SN_ERR_CORRUPT, "byte %zu = 0x%02x: %s", i, values[v], sn_status_name(st));
            if (st != SN_OK) {
                ck_assert_ptr_null(out);
                refused++;
                continue;
            }
            accepted++;
            ck_assert_int_eq(sn_arch_check(sn_net_arch(out), NULL), SN_OK);
            size_t n = 0;
            const float *p = sn_net_params_const(out, &n);
            ck_assert_uint_eq(n, sn_arch_param_count(sn_net_arch(out)));
            for (size_t k = 0; k < n; k++) ck_assert_msg(isfinite(p[k]), "byte %zu: accepted a non-finite parameter", i);
            const float *shift, *scale;
            if (sn_net_norm(out, &shift, &scale) != SN_NORM_NONE)
                for (int k = 0; k < sn_net_arch(out)->sizes[0]; k++)
                    ck_assert_msg(isfinite(shift[k]) && isfinite(scale[k]), "byte %zu: non-finite normalisation", i);
            sn_net_free(out);
        }
    }
    printf("damage behind a valid CRC: %d refused, %d accepted as valid networks\n", refused, accepted);
    /* The header fields are checked: at least the magic's bytes are refused. */
    ck_assert_int_gt(refused, 0);
    free(m);
    free(buf);
    sn_net_free(net);
}
END_TEST

START_TEST(test_garbage_is_corrupt)
{
    sn_rng rng;
    sn_rng_seed(&rng, 404);
    uint8_t junk[600];
    for (size_t len = 0; len <= sizeof junk; len += 7) {
        for (size_t i = 0; i < len; i++) junk[i] = (uint8_t)sn_rng_next(&rng);
        ck_assert_msg(sn_net_load(junk, len, &(sn_net *){NULL}, NULL) == SN_ERR_CORRUPT, "random %zu bytes", len);
        memset(junk, 0, len);
        ck_assert_msg(sn_net_load(junk, len, &(sn_net *){NULL}, NULL) == SN_ERR_CORRUPT, "%zu zero bytes", len);
        memset(junk, 0xFF, len);
        ck_assert_msg(sn_net_load(junk, len, &(sn_net *){NULL}, NULL) == SN_ERR_CORRUPT, "%zu 0xFF bytes", len);
    }
    /* Text that someone might store by mistake. */
    const char *text = "{\"layers\": [2, 2, 1]}";
    ck_assert_int_eq(sn_net_load((const uint8_t *)text, strlen(text), &(sn_net *){NULL}, NULL), SN_ERR_CORRUPT);
}
END_TEST

/* ---- NaN, Inf and divergence ---- */

static sn_net *regression_net(void)
{
    static const int sizes[3] = {3, 5, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_TANH, SN_ACT_LINEAR, SN_LOSS_MSE);
    return tu_net(&a, SN_INIT_XAVIER, 8);
}

/* Trains and expects SN_ERR_NONFINITE with the parameters bitwise as before. */
static void expect_nonfinite(sn_net *net, const sn_train_config *cfg, const float *X, const float *Y, size_t rows,
                             const char *what)
{
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    float *before = malloc(n * sizeof(float));
    memcpy(before, p, n * sizeof(float));
    sn_train_result res;
    memset(&res, 0xAB, sizeof res);
    sn_error err = {0};
    sn_status st = sn_train(net, cfg, X, Y, rows, NULL, NULL, &res, &err);
    ck_assert_msg(st == SN_ERR_NONFINITE, "%s: %s", what, sn_status_name(st));
    ck_assert_int_eq(err.code, SN_ERR_NONFINITE);
    ck_assert(err.message[0] != '\0');
    ck_assert_msg(memcmp(before, sn_net_params_const(net, NULL), n * sizeof(float)) == 0,
                  "%s: parameters changed", what);
    /* result is filled in every case */
    ck_assert_msg(res.epochs_run >= 0 && res.epochs_run <= cfg->epochs, "%s: epochs_run %d", what, res.epochs_run);
    free(before);
}

START_TEST(test_nan_and_inf_in_training_data)
{
    sn_net *net = regression_net();
    float X[ROWS * 3], Y[ROWS * 2];
    data(X, Y, 3);
    float Y1[ROWS];
    for (int r = 0; r < ROWS; r++) Y1[r] = Y[2 * r];
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = 3;
    X[7 * 3 + 1] = NAN;
    expect_nonfinite(net, &cfg, X, Y1, ROWS, "NaN in X");
    X[7 * 3 + 1] = INFINITY;
    expect_nonfinite(net, &cfg, X, Y1, ROWS, "Inf in X");
    X[7 * 3 + 1] = 0.5f;
    Y1[ROWS - 1] = NAN;
    expect_nonfinite(net, &cfg, X, Y1, ROWS, "NaN in Y");
    Y1[ROWS - 1] = 0.5f;
    float VX[3] = {0, -INFINITY, 1}, VY[1] = {0};
    cfg.val_x = VX;
    cfg.val_y = VY;
    cfg.val_rows = 1;
    expect_nonfinite(net, &cfg, X, Y1, ROWS, "Inf in validation X");
    sn_net_free(net);
}
END_TEST

START_TEST(test_nan_in_parameters_refused)
{
    sn_net *net = regression_net();
    float X[ROWS * 3], Y[ROWS * 2], Y1[ROWS];
    data(X, Y, 3);
    for (int r = 0; r < ROWS; r++) Y1[r] = Y[2 * r];
    sn_net_params(net, NULL)[4] = NAN;
    sn_train_config cfg = sn_train_config_default();
    cfg.epochs = 2;
    size_t n = 0;
    float before[26];
    memcpy(before, sn_net_params_const(net, &n), sizeof before);
    ck_assert_uint_eq(n, 26);
    TU_STATUS(sn_train(net, &cfg, X, Y1, ROWS, NULL, NULL, NULL, NULL), SN_ERR_NONFINITE);
    ck_assert(memcmp(before, sn_net_params_const(net, NULL), sizeof before) == 0);
    sn_net_free(net);
}
END_TEST

START_TEST(test_nan_and_inf_in_predict_and_evaluate)
{
    sn_net *net = regression_net();
    float X[6] = {0.1f, 0.2f, 0.3f, 0.4f, NAN, 0.6f}, Y[2] = {0, 1}, out[2];
    sn_error err = {0};
    TU_STATUS(sn_predict(net, X, 2, out, &err), SN_ERR_NONFINITE);
    ck_assert_int_eq(err.code, SN_ERR_NONFINITE);
    X[4] = -INFINITY;
    TU_STATUS(sn_predict(net, X, 2, out, NULL), SN_ERR_NONFINITE);
    double loss = 0;
    TU_STATUS(sn_evaluate_loss(net, X, Y, 2, &loss, NULL), SN_ERR_NONFINITE);
    X[4] = 0.5f;
    TU_OK(sn_predict(net, X, 2, out, &err), err);
    ck_assert(isfinite(out[0]) && isfinite(out[1]));
    sn_net_free(net);
}
END_TEST

START_TEST(test_predict_refuses_overflowing_outputs)
{
    /* Finite weights near float32's limit overflow on large finite inputs:
     * sn_predict says so rather than handing back Inf. */
    sn_arch a = {.n_layers = 2, .sizes = {2, 1}, .act = {SN_ACT_LINEAR}, .loss = SN_LOSS_MSE};
    sn_net *net;
    sn_error err = {0};
    TU_OK(sn_net_create(&a, &net, &err), err);
    float *W;
    sn_net_layer(net, 0, &W, NULL);
    W[0] = W[1] = 3e38f;
    float big[2] = {10, 10}, small[2] = {1e-3f, 0}, out[1];
    TU_STATUS(sn_predict(net, big, 1, out, &err), SN_ERR_NONFINITE);
    ck_assert_ptr_nonnull(strstr(err.message, "too large"));
    TU_OK(sn_predict(net, small, 1, out, &err), err);
    ck_assert(isfinite(out[0]));
    sn_net_free(net);
}
END_TEST

START_TEST(test_exploding_learning_rate_is_nonfinite)
{
    /* Linear output, MSE, inputs in the thousands, sgd lr 1e6: each step
     * multiplies the error by ~1e12, so float32 overflows within a few. */
    sn_net *net = regression_net();
    float X[ROWS * 3], Y[ROWS * 2], Y1[ROWS];
    data(X, Y, 4);
    for (int i = 0; i < ROWS * 3; i++) X[i] *= 1000.0f;
    for (int r = 0; r < ROWS; r++) Y1[r] = Y[2 * r] * 100.0f;
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer.learning_rate = 1e6f;
    cfg.epochs = 50;
    expect_nonfinite(net, &cfg, X, Y1, ROWS, "lr 1e6");
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    for (size_t i = 0; i < n; i++) ck_assert(isfinite(p[i]));
    float out[ROWS];
    sn_error err = {0};
    TU_OK(sn_predict(net, X, ROWS, out, &err), err); /* still usable */
    sn_net_free(net);
}
END_TEST

/* ---- architecture ---- */

static sn_arch valid_arch(void)
{
    static const int sizes[3] = {4, 3, 2};
    return tu_arch_hidden(3, sizes, SN_ACT_RELU, SN_ACT_SIGMOID, SN_LOSS_MSE);
}

static void expect_invalid(const sn_arch *a, const char *what)
{
    sn_error err = {0};
    sn_status st = sn_arch_check(a, &err);
    ck_assert_msg(st == SN_ERR_INVALID, "%s: sn_arch_check gave %s", what, sn_status_name(st));
    ck_assert_int_eq(err.code, SN_ERR_INVALID);
    ck_assert_msg(err.message[0] != '\0', "%s: no sentence", what);
    sn_net *net = (sn_net *)&err; /* must be set to NULL */
    st = sn_net_create(a, &net, NULL);
    ck_assert_msg(st == SN_ERR_INVALID, "%s: sn_net_create gave %s", what, sn_status_name(st));
    ck_assert_ptr_null(net);
}

START_TEST(test_arch_layer_count)
{
    sn_arch a = valid_arch();
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    a.n_layers = 1;
    expect_invalid(&a, "1 layer");
    a.n_layers = 0;
    expect_invalid(&a, "0 layers");
    a.n_layers = -2;
    expect_invalid(&a, "-2 layers");
    /* SN_MAX_LAYERS sizes is the most; one more is refused. */
    sn_arch deep;
    memset(&deep, 0, sizeof deep);
    deep.n_layers = SN_MAX_LAYERS;
    for (int l = 0; l < SN_MAX_LAYERS; l++) deep.sizes[l] = 2;
    for (int l = 0; l < SN_MAX_LAYERS - 1; l++) deep.act[l] = SN_ACT_TANH;
    deep.loss = SN_LOSS_MSE;
    ck_assert_int_eq(sn_arch_check(&deep, NULL), SN_OK);
    ck_assert_uint_eq(sn_arch_param_count(&deep), (size_t)(SN_MAX_LAYERS - 1) * 6);
    deep.n_layers = SN_MAX_LAYERS + 1;
    expect_invalid(&deep, "SN_MAX_LAYERS + 1 layers");
}
END_TEST

START_TEST(test_arch_sizes)
{
    static const int bad[] = {0, -1, -65536, SN_MAX_WIDTH + 1, INT_MAX, INT_MIN};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        for (int pos = 0; pos < 3; pos++) {
            sn_arch a = valid_arch();
            a.sizes[pos] = bad[k];
            char what[64];
            snprintf(what, sizeof what, "size %d at %d", bad[k], pos);
            expect_invalid(&a, what);
        }
    }
    static const int widest[2] = {SN_MAX_WIDTH, 1};
    sn_arch a = tu_arch_hidden(2, widest, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    ck_assert_uint_eq(sn_arch_param_count(&a), (size_t)SN_MAX_WIDTH + 1);
}
END_TEST

START_TEST(test_arch_param_count_limit)
{
    /* [16383, 16384]: 16384·16383 + 16384 = 2²⁸ exactly, the most allowed;
     * [16384, 16384] is 16384 over. Checked only, never created. */
    static const int at[2] = {16383, 16384}, over[2] = {16384, 16384};
    sn_arch a = tu_arch_hidden(2, at, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    ck_assert_uint_eq(sn_arch_param_count(&a), (size_t)SN_MAX_PARAMS);
    a = tu_arch_hidden(2, over, SN_ACT_LINEAR, SN_ACT_LINEAR, SN_LOSS_MSE);
    expect_invalid(&a, "2^28 + 16384 parameters");
    /* Products that overflow 32 bits: 65536² per layer, many layers. */
    sn_arch huge;
    memset(&huge, 0, sizeof huge);
    huge.n_layers = SN_MAX_LAYERS;
    for (int l = 0; l < SN_MAX_LAYERS; l++) huge.sizes[l] = SN_MAX_WIDTH;
    for (int l = 0; l < SN_MAX_LAYERS - 1; l++) huge.act[l] = SN_ACT_LINEAR;
    huge.loss = SN_LOSS_MSE;
    expect_invalid(&huge, "32 layers of 65536");
}
END_TEST

START_TEST(test_arch_activation_and_loss_rules)
{
    sn_arch a = valid_arch();
    a.act[0] = SN_ACT_COUNT;
    expect_invalid(&a, "unknown hidden activation");
    a = valid_arch();
    a.act[1] = (sn_activation)-1;
    expect_invalid(&a, "negative output activation");
    a = valid_arch();
    a.loss = SN_LOSS_COUNT;
    expect_invalid(&a, "unknown loss");
    /* Softmax is only an output activation... */
    a = valid_arch();
    a.act[0] = SN_ACT_SOFTMAX;
    a.act[1] = SN_ACT_SOFTMAX;
    a.loss = SN_LOSS_CROSSENTROPY;
    expect_invalid(&a, "softmax hidden layer");
    /* ...and crossentropy needs a softmax output. */
    a = valid_arch();
    a.act[1] = SN_ACT_SOFTMAX;
    a.loss = SN_LOSS_CROSSENTROPY;
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    static const sn_activation others[] = {SN_ACT_SIGMOID, SN_ACT_TANH, SN_ACT_RELU, SN_ACT_LEAKY_RELU, SN_ACT_LINEAR};
    for (size_t k = 0; k < sizeof others / sizeof others[0]; k++) {
        a.act[1] = others[k];
        a.loss = SN_LOSS_CROSSENTROPY;
        expect_invalid(&a, "crossentropy without softmax");
        a.loss = SN_LOSS_MSE;
        ck_assert_msg(sn_arch_check(&a, NULL) == SN_OK, "%s output with mse refused", sn_activation_name(others[k]));
    }
    a.act[1] = SN_ACT_SIGMOID;
    a.loss = SN_LOSS_BCE;
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
}
END_TEST

START_TEST(test_arch_softmax_only_as_output)
{
    /* The header, on sn_arch.loss: crossentropy needs a softmax output, and
     * softmax is allowed only as the output activation (with any loss). */
    sn_arch a = valid_arch();
    a.act[1] = SN_ACT_SOFTMAX;
    a.loss = SN_LOSS_MSE;
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    a.loss = SN_LOSS_BCE;
    ck_assert_int_eq(sn_arch_check(&a, NULL), SN_OK);
    a.act[0] = SN_ACT_SOFTMAX;
    expect_invalid(&a, "softmax in a hidden layer");
}
END_TEST

/* ---- optimizer ---- */

START_TEST(test_optimizer_defaults)
{
    sn_optimizer s = sn_optimizer_default(SN_OPT_SGD), m = sn_optimizer_default(SN_OPT_MOMENTUM),
                 a = sn_optimizer_default(SN_OPT_ADAM);
    ck_assert(s.type == SN_OPT_SGD && s.learning_rate == 0.1f);
    ck_assert(m.type == SN_OPT_MOMENTUM && m.learning_rate == 0.1f && m.momentum == 0.9f);
    ck_assert(a.type == SN_OPT_ADAM && a.learning_rate == 0.001f && a.beta1 == 0.9f && a.beta2 == 0.999f &&
              a.epsilon == 1e-8f);
    ck_assert_int_eq(sn_optimizer_check(&s, NULL), SN_OK);
    ck_assert_int_eq(sn_optimizer_check(&m, NULL), SN_OK);
    ck_assert_int_eq(sn_optimizer_check(&a, NULL), SN_OK);
}
END_TEST

START_TEST(test_optimizer_rejects_bad_learning_rate)
{
    static const float bad[] = {0.0f, -0.0f, -0.1f, -INFINITY, NAN, INFINITY};
    for (int t = 0; t < SN_OPT_COUNT; t++) {
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            sn_optimizer o = sn_optimizer_default((sn_optimizer_type)t);
            o.learning_rate = bad[k];
            sn_error err = {0};
            ck_assert_msg(sn_optimizer_check(&o, &err) == SN_ERR_INVALID, "%s lr %g accepted",
                          sn_optimizer_name((sn_optimizer_type)t), bad[k]);
            ck_assert(err.code == SN_ERR_INVALID && err.message[0]);
        }
    }
    sn_optimizer o = sn_optimizer_default(SN_OPT_SGD);
    o.type = SN_OPT_COUNT;
    ck_assert_int_eq(sn_optimizer_check(&o, NULL), SN_ERR_INVALID);
}
END_TEST

START_TEST(test_optimizer_rejects_bad_moments)
{
    /* Values that would divide by zero or never decay. */
    sn_optimizer o = sn_optimizer_default(SN_OPT_ADAM);
    o.beta1 = 1.0f;
    ck_assert_int_eq(sn_optimizer_check(&o, NULL), SN_ERR_INVALID);
    o = sn_optimizer_default(SN_OPT_ADAM);
    o.beta2 = NAN;
    ck_assert_int_eq(sn_optimizer_check(&o, NULL), SN_ERR_INVALID);
    o = sn_optimizer_default(SN_OPT_ADAM);
    o.epsilon = 0;
    ck_assert_int_eq(sn_optimizer_check(&o, NULL), SN_ERR_INVALID);
    o = sn_optimizer_default(SN_OPT_MOMENTUM);
    o.momentum = -0.5f;
    ck_assert_int_eq(sn_optimizer_check(&o, NULL), SN_ERR_INVALID);
}
END_TEST

/* ---- names ---- */

typedef struct {
    const char *kind;
    int count;
    const char *const *names;
    const char *(*to_name)(int);
    int (*from_name)(const char *);
} name_table;

static const char *act_name(int v) { return sn_activation_name((sn_activation)v); }
static const char *loss_name(int v) { return sn_loss_name((sn_loss)v); }
static const char *opt_name(int v) { return sn_optimizer_name((sn_optimizer_type)v); }
static const char *init_name(int v) { return sn_init_name((sn_init)v); }
static const char *norm_name(int v) { return sn_norm_name((sn_norm)v); }

START_TEST(test_names_round_trip)
{
    /* The codec's spellings (API.md's request fields), in enum order. */
    static const char *const acts[] = {"sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"};
    static const char *const losses[] = {"mse", "binary_crossentropy", "crossentropy"};
    static const char *const opts[] = {"sgd", "momentum", "adam"};
    static const char *const inits[] = {"auto", "normal", "xavier", "he"};
    static const char *const norms[] = {"none", "standard", "minmax"};
    const name_table tables[] = {
        {"activation", SN_ACT_COUNT, acts, act_name, sn_activation_from_name},
        {"loss", SN_LOSS_COUNT, losses, loss_name, sn_loss_from_name},
        {"optimizer", SN_OPT_COUNT, opts, opt_name, sn_optimizer_from_name},
        {"init", SN_INIT_COUNT, inits, init_name, sn_init_from_name},
        {"norm", SN_NORM_COUNT, norms, norm_name, sn_norm_from_name},
    };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        const name_table *tb = &tables[t];
        for (int v = 0; v < tb->count; v++) {
            const char *name = tb->to_name(v);
            ck_assert_msg(name != NULL && name[0], "%s %d has no name", tb->kind, v);
            ck_assert_msg(tb->from_name(name) == v, "%s \"%s\" does not map back to %d", tb->kind, name, v);
            ck_assert_str_eq(name, tb->names[v]);
            for (int w = 0; w < v; w++) ck_assert_str_ne(name, tb->to_name(w));
        }
        ck_assert_int_eq(tb->from_name("bogus"), -1);
        ck_assert_int_eq(tb->from_name(""), -1);
    }
    ck_assert_int_eq(sn_activation_from_name("sigmoid "), -1);
    ck_assert_int_eq(sn_activation_from_name("sigmoi"), -1);
}
END_TEST

START_TEST(test_status_names_never_null)
{
    for (int s = 0; s <= SN_ERR_STOPPED + 3; s++) {
        const char *n = sn_status_name((sn_status)s);
        ck_assert_ptr_nonnull(n);
        if (s <= SN_ERR_STOPPED) {
            ck_assert(n[0] != '\0');
            for (int t = 0; t < s; t++) ck_assert_str_ne(n, sn_status_name((sn_status)t));
        }
    }
    ck_assert_ptr_nonnull(sn_status_name((sn_status)-1));
}
END_TEST

static Suite *robust_suite(void)
{
    Suite *s = suite_create("core_robust");
    TCase *tc = tcase_create("determinism");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_same_seed_same_bytes);
    tcase_add_test(tc, test_different_seed_different_bytes);
    tcase_add_test(tc, test_threads_do_not_change_the_result);
    tcase_add_test(tc, test_concurrent_predict_agrees);
    suite_add_tcase(s, tc);
    tc = tcase_create("serialisation");
    tcase_set_timeout(tc, 60); /* thousands of loads; fast, but ASan is slower */
    tcase_add_test(tc, test_blob_ends_in_crc32);
    tcase_add_test(tc, test_round_trip_is_exact);
    tcase_add_test(tc, test_round_trip_without_normalisation);
    tcase_add_test(tc, test_every_truncation_is_corrupt);
    tcase_add_test(tc, test_every_bit_flip_is_corrupt);
    tcase_add_test(tc, test_trailing_bytes_are_corrupt);
    tcase_add_test(tc, test_damage_behind_a_valid_crc_is_safe);
    tcase_add_test(tc, test_garbage_is_corrupt);
    suite_add_tcase(s, tc);
    tc = tcase_create("nonfinite");
    tcase_add_test(tc, test_nan_and_inf_in_training_data);
    tcase_add_test(tc, test_nan_in_parameters_refused);
    tcase_add_test(tc, test_nan_and_inf_in_predict_and_evaluate);
    tcase_add_test(tc, test_predict_refuses_overflowing_outputs);
    tcase_add_test(tc, test_exploding_learning_rate_is_nonfinite);
    suite_add_tcase(s, tc);
    tc = tcase_create("validation");
    tcase_add_test(tc, test_arch_layer_count);
    tcase_add_test(tc, test_arch_sizes);
    tcase_add_test(tc, test_arch_param_count_limit);
    tcase_add_test(tc, test_arch_activation_and_loss_rules);
    tcase_add_test(tc, test_arch_softmax_only_as_output);
    tcase_add_test(tc, test_optimizer_defaults);
    tcase_add_test(tc, test_optimizer_rejects_bad_learning_rate);
    tcase_add_test(tc, test_optimizer_rejects_bad_moments);
    tcase_add_test(tc, test_names_round_trip);
    tcase_add_test(tc, test_status_names_never_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(robust_suite(), 0);
}
