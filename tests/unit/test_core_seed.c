/*
 * test_core_seed.c — the seed document, literally.
 *
 * The seed's [2,2,1] sigmoid network with MSE loss and per-sample SGD: its
 * forward pass and its nine partial derivatives are written out here by hand,
 * in double, exactly as the seed writes them, and compared with sn_predict,
 * sn_gradient, one sn_train step and sn_explain_step. Then the seed's own
 * data set (Alice, Bob, Charlie, Diana) is trained with the defaults and must
 * tell Emily from Frank.
 */
#include "testutil.h"

/* Hand-set parameters: moderate (|w| <= 1), none of the sums near zero or
 * saturating, so every factor of every derivative is well away from 0. */
static const double w1 = 0.15, w2 = -0.4, w3 = 0.8, w4 = 0.35, w5 = -0.6, w6 = 0.9;
static const double b1 = 0.1, b2 = -0.25, b3 = 0.5;
static const float alice_x[2] = {-2.0f, -1.0f};
static const float alice_y[1] = {1.0f};

/* Float32 carries ~7 significant digits (ulp 1.2e-7). A derivative here is a
 * product of about eight float32 factors (sigmoids through expf, their
 * derivatives, sums of three terms), each with a relative error of a few
 * ulps; products add relative errors, so ~8 × 1.2e-7 ≈ 1e-6 bounds the
 * core's error. The reference is exact double arithmetic on the same
 * float-stored parameters, so nothing else contributes. */
#define SEED_REL_TOL 1e-6

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double deriv_sigmoid(double x) { double s = sigmoid(x); return s * (1.0 - s); }

/* The seed network with the parameters above (stored as float32). */
static sn_net *seed_net(void)
{
    static const int sizes[3] = {2, 2, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_SIGMOID, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 0);
    float *W = NULL, *b = NULL;
    sn_net_layer(net, 0, &W, &b);
    W[0] = (float)w1; W[1] = (float)w2; W[2] = (float)w3; W[3] = (float)w4;
    b[0] = (float)b1; b[1] = (float)b2;
    sn_net_layer(net, 1, &W, &b);
    W[0] = (float)w5; W[1] = (float)w6;
    b[0] = (float)b3;
    return net;
}

/* The parameters as the network stores them, in the block's order
 * (w1 w2 w3 w4 b1 b2 w5 w6 b3), widened to double. */
static void stored(const sn_net *net, double th[9])
{
    size_t n = 0;
    const float *p = sn_net_params_const(net, &n);
    ck_assert_uint_eq(n, 9);
    for (int i = 0; i < 9; i++) th[i] = p[i];
}

/* The seed's nine derivatives of L = (y_true - y_pred)² for one sample,
 * literally, in the parameter block's order. Also the forward values. */
typedef struct { double h1, h2, o1, loss, grad[9]; } seed_ref;

static seed_ref seed_formulas(const double th[9], double x1, double x2, double y_true)
{
    double W1 = th[0], W2 = th[1], W3 = th[2], W4 = th[3], B1 = th[4], B2 = th[5];
    double W5 = th[6], W6 = th[7], B3 = th[8];
    seed_ref r;
    double sum_h1 = W1 * x1 + W2 * x2 + B1;
    double h1 = sigmoid(sum_h1);
    double sum_h2 = W3 * x1 + W4 * x2 + B2;
    double h2 = sigmoid(sum_h2);
    double sum_o1 = W5 * h1 + W6 * h2 + B3;
    double o1 = sigmoid(sum_o1);
    double y_pred = o1;

    double d_L_d_ypred = -2 * (y_true - y_pred);
    /* Neuron o1 */
    double d_ypred_d_w5 = h1 * deriv_sigmoid(sum_o1);
    double d_ypred_d_w6 = h2 * deriv_sigmoid(sum_o1);
    double d_ypred_d_b3 = deriv_sigmoid(sum_o1);
    double d_ypred_d_h1 = W5 * deriv_sigmoid(sum_o1);
    double d_ypred_d_h2 = W6 * deriv_sigmoid(sum_o1);
    /* Neuron h1 */
    double d_h1_d_w1 = x1 * deriv_sigmoid(sum_h1);
    double d_h1_d_w2 = x2 * deriv_sigmoid(sum_h1);
    double d_h1_d_b1 = deriv_sigmoid(sum_h1);
    /* Neuron h2 */
    double d_h2_d_w3 = x1 * deriv_sigmoid(sum_h2);
    double d_h2_d_w4 = x2 * deriv_sigmoid(sum_h2);
    double d_h2_d_b2 = deriv_sigmoid(sum_h2);

    r.h1 = h1;
    r.h2 = h2;
    r.o1 = o1;
    r.loss = (y_true - y_pred) * (y_true - y_pred);
    r.grad[0] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w1; /* dL/dw1 */
    r.grad[1] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_w2; /* dL/dw2 */
    r.grad[2] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w3; /* dL/dw3 */
    r.grad[3] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_w4; /* dL/dw4 */
    r.grad[4] = d_L_d_ypred * d_ypred_d_h1 * d_h1_d_b1; /* dL/db1 */
    r.grad[5] = d_L_d_ypred * d_ypred_d_h2 * d_h2_d_b2; /* dL/db2 */
    r.grad[6] = d_L_d_ypred * d_ypred_d_w5;             /* dL/dw5 */
    r.grad[7] = d_L_d_ypred * d_ypred_d_w6;             /* dL/dw6 */
    r.grad[8] = d_L_d_ypred * d_ypred_d_b3;             /* dL/db3 */
    return r;
}

static const char *const names[9] = {"w1", "w2", "w3", "w4", "b1", "b2", "w5", "w6", "b3"};

START_TEST(test_layout_matches_seed_names)
{
    /* sn_net_layer's views are the block's w1..w6, b1..b3 in the header's order. */
    sn_net *net = seed_net();
    double th[9];
    stored(net, th);
    const double want[9] = {w1, w2, w3, w4, b1, b2, w5, w6, b3};
    for (int i = 0; i < 9; i++)
        ck_assert_msg(th[i] == (double)(float)want[i], "%s is %g, set %g", names[i], th[i], want[i]);
    ck_assert_uint_eq(sn_net_weight_offset(net, 0), 0);
    ck_assert_uint_eq(sn_net_bias_offset(net, 0), 4);
    ck_assert_uint_eq(sn_net_weight_offset(net, 1), 6);
    ck_assert_uint_eq(sn_net_bias_offset(net, 1), 8);
    sn_net_free(net);
}
END_TEST

START_TEST(test_predict_equals_hand_forward)
{
    sn_net *net = seed_net();
    double th[9];
    stored(net, th);
    seed_ref r = seed_formulas(th, alice_x[0], alice_x[1], alice_y[0]);
    float y = 0;
    sn_error err = {0};
    TU_OK(sn_predict(net, alice_x, 1, &y, &err), err);
    /* A forward pass is ~4 float32 operations deep: a few ulps. */
    ck_assert_msg(tu_rel(y, r.o1) < SEED_REL_TOL, "o1 = %.9g, hand %.12g", y, r.o1);
    sn_net_free(net);
}
END_TEST

START_TEST(test_gradient_equals_seed_formulas)
{
    sn_net *net = seed_net();
    double th[9];
    stored(net, th);
    seed_ref r = seed_formulas(th, alice_x[0], alice_x[1], alice_y[0]);
    float g[9];
    double loss = -1;
    sn_error err = {0};
    TU_OK(sn_gradient(net, alice_x, alice_y, 1, g, &loss, &err), err);
    printf("seed gradients for Alice (-2,-1) -> 1, loss %.9f (hand %.9f):\n", loss, r.loss);
    for (int i = 0; i < 9; i++)
        printf("  dL/d%s  core %+.9f  formula %+.9f  rel.err %.2e\n", names[i], g[i], r.grad[i],
               tu_rel(g[i], r.grad[i]));
    fflush(stdout);
    ck_assert_msg(tu_rel(loss, r.loss) < SEED_REL_TOL, "loss %.9g, hand %.12g", loss, r.loss);
    for (int i = 0; i < 9; i++) {
        /* Guard: a formula this test relies on must not be degenerate. */
        ck_assert_msg(fabs(r.grad[i]) > 1e-3, "dL/d%s is too small to test", names[i]);
        ck_assert_msg(tu_rel(g[i], r.grad[i]) < SEED_REL_TOL, "dL/d%s = %.9g, formula %.12g",
                      names[i], g[i], r.grad[i]);
    }
    sn_net_free(net);
}
END_TEST

START_TEST(test_one_sgd_step_moves_each_param_by_formula)
{
    /* One epoch, batch 1, no shuffle, lr 0.1, one sample: exactly one step. */
    sn_net *net = seed_net();
    double th[9], after[9];
    stored(net, th);
    seed_ref r = seed_formulas(th, alice_x[0], alice_x[1], alice_y[0]);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_SGD);
    cfg.optimizer.learning_rate = 0.1f;
    cfg.epochs = 1;
    cfg.batch_size = 1;
    cfg.shuffle = 0;
    double hist[1] = {NAN};
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, alice_x, alice_y, 1, hist, NULL, &res, &err), err);
    ck_assert_int_eq(res.epochs_run, 1);
    /* The epoch's loss is the loss before the (only) step. */
    ck_assert_msg(tu_rel(hist[0], r.loss) < SEED_REL_TOL, "epoch loss %.9g, hand %.12g", hist[0], r.loss);
    stored(net, after);
    double lr = (double)0.1f;
    for (int i = 0; i < 9; i++) {
        double want = th[i] - lr * r.grad[i];
        /* The gradient's 1e-6 relative error scaled by the step, plus one
         * float32 rounding of the stored result (half an ulp, 6e-8·|θ|). */
        double tol = SEED_REL_TOL * fabs(lr * r.grad[i]) + 1.2e-7 * fabs(want);
        ck_assert_msg(fabs(after[i] - want) <= tol, "%s: %.9g after the step, want %.12g - 0.1*%.9g = %.12g",
                      names[i], after[i], th[i], r.grad[i], want);
        ck_assert_msg(after[i] != th[i], "%s did not move", names[i]);
    }
    sn_net_free(net);
}
END_TEST

START_TEST(test_explain_step_shows_seed_quantities)
{
    /* sn_explain_step on the seed: its forward values, dL/dŷ, output delta,
     * gradient and SGD update are the seed's, and the net is left unchanged. */
    sn_net *net = seed_net();
    double th[9];
    stored(net, th);
    seed_ref r = seed_formulas(th, alice_x[0], alice_x[1], alice_y[0]);
    sn_optimizer opt = sn_optimizer_default(SN_OPT_SGD);
    sn_explain *ex = NULL;
    sn_error err = {0};
    TU_OK(sn_explain_step(net, &opt, alice_x, alice_y, 1, &ex, &err), err);
    ck_assert_ptr_nonnull(ex);
    ck_assert_uint_eq(ex->rows, 1);
    ck_assert_int_eq(ex->n_layers, 3);
    ck_assert_uint_eq(ex->param_count, 9);
    ck_assert(ex->a[0][0] == alice_x[0] && ex->a[0][1] == alice_x[1]);
    ck_assert_msg(tu_rel(ex->a[1][0], r.h1) < SEED_REL_TOL, "h1 %.9g, hand %.12g", ex->a[1][0], r.h1);
    ck_assert_msg(tu_rel(ex->a[1][1], r.h2) < SEED_REL_TOL, "h2 %.9g, hand %.12g", ex->a[1][1], r.h2);
    ck_assert_msg(tu_rel(ex->a[2][0], r.o1) < SEED_REL_TOL, "o1 %.9g, hand %.12g", ex->a[2][0], r.o1);
    ck_assert_msg(tu_rel(ex->z[0][0], w1 * -2 + w2 * -1 + b1) < SEED_REL_TOL, "z of h1 %.9g", ex->z[0][0]);
    ck_assert_msg(tu_rel(ex->loss, r.loss) < SEED_REL_TOL, "loss %.9g, hand %.12g", ex->loss, r.loss);
    double dldy = -2 * (alice_y[0] - r.o1);
    ck_assert_msg(tu_rel(ex->dloss_dy[0], dldy) < SEED_REL_TOL, "dL/dy_pred %.9g, hand %.12g",
                  ex->dloss_dy[0], dldy);
    /* The output delta dL/d(o-sum) is dL/db3 for one sample. */
    ck_assert_msg(tu_rel(ex->delta[1][0], r.grad[8]) < SEED_REL_TOL, "output delta %.9g, hand %.12g",
                  ex->delta[1][0], r.grad[8]);
    for (int i = 0; i < 9; i++) {
        ck_assert_msg(tu_rel(ex->grad[i], r.grad[i]) < SEED_REL_TOL, "explained dL/d%s %.9g, formula %.12g",
                      names[i], ex->grad[i], r.grad[i]);
        /* Central differences in double agree with the formulas far better
         * than float32; 1e-6 leaves room for the O(h²) truncation. */
        ck_assert_msg(tu_rel(ex->numeric_grad[i], r.grad[i]) < 1e-6, "numeric dL/d%s %.12g, formula %.12g",
                      names[i], ex->numeric_grad[i], r.grad[i]);
        double want = th[i] - (double)opt.learning_rate * r.grad[i];
        ck_assert_msg(fabs(ex->updated[i] - want) <= 1e-6 * fabs(0.1 * r.grad[i]) + 1.2e-7 * fabs(want),
                      "updated %s %.9g, want %.12g", names[i], ex->updated[i], want);
    }
    /* Every gradient is > 1e-3 (checked above against the formulas), so the
     * float32 error of 1e-6 relative gives a max_rel_error far below 1e-4. */
    ck_assert_msg(ex->max_rel_error < 1e-4, "max_rel_error %g", ex->max_rel_error);
    double now[9];
    stored(net, now);
    ck_assert_msg(memcmp(now, th, sizeof th) == 0, "sn_explain_step changed the network");
    sn_explain_free(ex);
    sn_net_free(net);
}
END_TEST

/* ---- the seed's data set ---- */

static const float people_x[8] = {-2, -1, 25, 6, 17, 4, -15, -6}; /* Alice Bob Charlie Diana */
static const float people_y[4] = {1, 0, 0, 1};

START_TEST(test_defaults_are_the_seeds)
{
    sn_train_config cfg = sn_train_config_default();
    ck_assert_int_eq(cfg.optimizer.type, SN_OPT_SGD);
    ck_assert(cfg.optimizer.learning_rate == 0.1f);
    ck_assert_int_eq(cfg.epochs, 1000);
    ck_assert_int_eq(cfg.batch_size, 1);
    ck_assert(cfg.shuffle != 0);
    ck_assert_ptr_null(cfg.val_x);
    ck_assert_uint_eq(cfg.val_rows, 0);
    ck_assert_int_eq(cfg.patience, 0);
    ck_assert_ptr_null(cfg.progress);
}
END_TEST

START_TEST(test_seed_training_tells_emily_from_frank)
{
    static const int sizes[3] = {2, 2, 1};
    sn_arch a = tu_arch_hidden(3, sizes, SN_ACT_SIGMOID, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 12345);
    sn_train_config cfg = sn_train_config_default();
    cfg.seed = 12345;
    double *hist = malloc(sizeof(double) * (size_t)cfg.epochs);
    ck_assert_ptr_nonnull(hist);
    sn_train_result res;
    sn_error err = {0};
    TU_OK(sn_train(net, &cfg, people_x, people_y, 4, hist, NULL, &res, &err), err);
    ck_assert_int_eq(res.epochs_run, 1000);
    ck_assert(!res.stopped_early);
    ck_assert_msg(res.loss == hist[999], "result loss %.9g, history ends %.9g", res.loss, hist[999]);
    ck_assert(isnan(res.val_loss));
    printf("seed data: loss epoch 1 %.6f, epoch 1000 %.6f\n", hist[0], hist[999]);
    ck_assert_msg(hist[999] < hist[0], "loss rose: %g -> %g", hist[0], hist[999]);
    /* The seed's run ends near 0.002; 0.02 still means every point is fit
     * (a wrong label alone costs 0.25/4 of the mean). */
    ck_assert_msg(hist[999] < 0.02, "final loss %g", hist[999]);
    const float people[4] = {-7, -3, 20, 2}; /* Emily, Frank */
    float out[2];
    TU_OK(sn_predict(net, people, 2, out, &err), err);
    printf("seed data: Emily %.3f, Frank %.3f\n", out[0], out[1]);
    ck_assert_msg(out[0] > 0.5f && out[1] < 0.5f, "Emily %g, Frank %g", out[0], out[1]);
    free(hist);
    sn_net_free(net);
}
END_TEST

static Suite *seed_suite(void)
{
    Suite *s = suite_create("core_seed");
    TCase *tc = tcase_create("formulas");
    tcase_add_test(tc, test_layout_matches_seed_names);
    tcase_add_test(tc, test_predict_equals_hand_forward);
    tcase_add_test(tc, test_gradient_equals_seed_formulas);
    tcase_add_test(tc, test_one_sgd_step_moves_each_param_by_formula);
    tcase_add_test(tc, test_explain_step_shows_seed_quantities);
    suite_add_tcase(s, tc);
    tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_defaults_are_the_seeds);
    tcase_add_test(tc, test_seed_training_tells_emily_from_frank);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(seed_suite(), 0);
}
