/*
 * test_core_threads.c — the training engine (core/engine.c) on every kernel
 * path and thread count:
 *  - training on 2, 3 or 4 threads gives bit-identical parameters and losses
 *    to 1 thread (the engine splits work by parameter rows and never reduces
 *    across threads), and two runs with the same thread count are identical;
 *  - one SGD step of the engine (lr 1, one batch) moves every parameter by
 *    the gradient sn_gradient computes, for every activation and loss, batch
 *    sizes 1, 5, 64 and 100, within 1e-4 of the gradient's scale;
 *  - divergence on threads restores the starting parameters;
 *  - the finite-difference suite (test_core_gradcheck) passes with
 *    SCRATCHNET_KERNELS forced to each path this CPU runs.
 * No test looks at a clock.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"

static const char *const PATHS[] = {"portable", "avx2", "avx512"};
static char gradcheck_bin[4096];

typedef struct {
    float *x, *y;
    size_t rows;
} data;

/* rows of inputs in [-1, 1) and targets fitting the loss (one-hot for
 * crossentropy, {0,1} for bce, anything for mse). */
static data make_data(const sn_arch *a, size_t rows, uint64_t seed)
{
    size_t in = (size_t)a->sizes[0], out = (size_t)a->sizes[a->n_layers - 1];
    data d = {malloc(rows * in * sizeof(float)), calloc(rows * out, sizeof(float)), rows};
    ck_assert(d.x && d.y);
    sn_rng rng;
    sn_rng_seed(&rng, seed);
    tu_fill_uniform(&rng, d.x, rows * in, -1, 1);
    for (size_t r = 0; r < rows; r++) {
        if (a->loss == SN_LOSS_CROSSENTROPY)
            d.y[r * out + sn_rng_below(&rng, out)] = 1.0f;
        else
            for (size_t j = 0; j < out; j++)
                d.y[r * out + j] = a->loss == SN_LOSS_BCE ? (float)sn_rng_below(&rng, 2)
                                                          : (float)sn_rng_uniform(&rng);
    }
    return d;
}

static void free_data(data *d) { free(d->x), free(d->y); }

static sn_arch big_arch(void)
{
    static const int sizes[] = {100, 128, 64, 5};
    return tu_arch_hidden(4, sizes, SN_ACT_RELU, SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY);
}

/* Trains a copy of net on path kern with `threads`; returns the copy. */
static sn_net *train_copy(const sn_kernels *kern, const sn_net *net, const data *d, int threads,
                          sn_optimizer opt, int epochs, int batch, double *history)
{
    sn_net *copy;
    sn_error err = {0};
    TU_OK(sn_net_copy(net, &copy, &err), err);
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = opt;
    cfg.epochs = epochs;
    cfg.batch_size = batch;
    cfg.seed = 7;
    cfg.threads = threads;
    TU_OK(sn_train_on(kern, copy, &cfg, d->x, d->y, d->rows, history, NULL, NULL, &err), err);
    return copy;
}

START_TEST(test_engine_uses_threads_for_big_batches_only)
{
    sn_arch a = big_arch();
    sn_net *net = tu_net(&a, SN_INIT_AUTO, 1);
    static const int seed_sizes[] = {2, 2, 1};
    sn_arch s = tu_arch_hidden(3, seed_sizes, SN_ACT_SIGMOID, SN_ACT_SIGMOID, SN_LOSS_MSE);
    sn_net *small = tu_net(&s, SN_INIT_AUTO, 1);
    sn_opt_state opt;
    sn_optimizer o = sn_optimizer_default(SN_OPT_ADAM);
    sn_error err = {0};
    TU_OK(sn_opt_state_init(&opt, &o, 100000, &err), err);
    sn_engine *e;
    TU_OK(sn_engine_create(&e, net, &opt, sn_kernels_get(), 64, 2, &err), err);
    ck_assert_int_eq(sn_engine_threads(e), 2);
    sn_engine_free(e);
    TU_OK(sn_engine_create(&e, net, &opt, sn_kernels_get(), 64, 0, &err), err);
    ck_assert_int_eq(sn_engine_threads(e), 1); /* ≤ 0 means 1 */
    sn_engine_free(e);
    TU_OK(sn_engine_create(&e, small, &opt, sn_kernels_get(), 1, 8, &err), err);
    ck_assert_int_eq(sn_engine_threads(e), 1); /* the seed's net: no pool */
    sn_engine_free(e);
    sn_opt_state_free(&opt);
    sn_net_free(net);
    sn_net_free(small);
}
END_TEST

START_TEST(test_threads_bit_identical)
{
    const sn_kernels *kern = sn_kernels_find(PATHS[_i]);
    if (!kern) {
        printf("threads: %s is not supported by this CPU, skipped\n", PATHS[_i]);
        return;
    }
    /* Two hidden layers; none (the output layer alone, by batch columns);
     * four, of odd widths (slices that are not multiples of the tiles). */
    static const int wide[] = {300, 200}, deep[] = {200, 130, 70, 50, 7};
    const sn_arch archs[] = {
        big_arch(),
        tu_arch_hidden(2, wide, SN_ACT_SOFTMAX, SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY),
        tu_arch_hidden(5, deep, SN_ACT_TANH, SN_ACT_SIGMOID, SN_LOSS_BCE),
    };
    for (size_t k = 0; k < sizeof archs / sizeof archs[0]; k++) {
        const sn_arch *a = &archs[k];
        sn_net *net = tu_net(a, SN_INIT_AUTO, 2);
        data d = make_data(a, 300, 3); /* 4 full batches of 64 and one of 44 */
        sn_optimizer adam = sn_optimizer_default(SN_OPT_ADAM);
        double h1[3], hn[3];
        sn_net *one = train_copy(kern, net, &d, 1, adam, 3, 64, h1);
        size_t n;
        const float *p1 = sn_net_params_const(one, &n);
        for (int threads = 2; threads <= 4; threads++)
            for (int rep = 0; rep < 2; rep++) {
                sn_net *many = train_copy(kern, net, &d, threads, adam, 3, 64, hn);
                ck_assert_msg(!memcmp(p1, sn_net_params_const(many, NULL), n * sizeof(float)),
                              "%s, net %zu: %d threads (run %d) changed the parameters", kern->name, k,
                              threads, rep);
                ck_assert_msg(!memcmp(h1, hn, sizeof h1), "%s, net %zu: %d threads changed the loss",
                              kern->name, k, threads);
                sn_net_free(many);
            }
        ck_assert_msg(h1[2] < h1[0], "net %zu does not learn", k);
        sn_net_free(one);
        sn_net_free(net);
        free_data(&d);
    }
}
END_TEST

/* One engine step of SGD with lr 1 over one batch = the gradient. */
static void check_step_gradient(const sn_kernels *kern, const sn_arch *a, size_t rows, int threads,
                                uint64_t seed)
{
    sn_net *net = tu_net(a, SN_INIT_XAVIER, seed);
    data d = make_data(a, rows, seed + 1);
    size_t n;
    const float *p0 = sn_net_params_const(net, &n);
    float *grad = malloc(n * sizeof(float));
    double loss;
    sn_error err = {0};
    ck_assert_ptr_nonnull(grad);
    TU_OK(sn_gradient(net, d.x, d.y, rows, grad, &loss, &err), err);
    sn_optimizer sgd = sn_optimizer_default(SN_OPT_SGD);
    sgd.learning_rate = 1.0f;
    double history[1];
    sn_net *stepped = train_copy(kern, net, &d, threads, sgd, 1, (int)rows, history);
    const float *p1 = sn_net_params_const(stepped, NULL);
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(grad[i]));
    for (size_t i = 0; i < n; i++) {
        double g = (double)p0[i] - p1[i];
        double tol = 1e-4 * scale + 1e-4 * fabs(grad[i]) + 4e-7 * (fabs(p0[i]) + fabs(grad[i]));
        if (!(fabs(g - grad[i]) <= tol)) /* (Check logs every passing assertion: test first) */
            ck_abort_msg("%s %s/%s/%s rows %zu threads %d: param %zu moved %.9g, gradient %.9g",
                      kern->name, sn_activation_name(a->act[0]),
                      sn_activation_name(a->act[a->n_layers - 2]), sn_loss_name(a->loss), rows,
                      threads, i, g, grad[i]);
    }
    ck_assert_msg(fabs(history[0] - loss) <= 1e-5 * fmax(1, fabs(loss)), "%s: loss %.9g vs %.9g",
                  kern->name, history[0], loss);
    free(grad);
    sn_net_free(stepped);
    sn_net_free(net);
    free_data(&d);
}

START_TEST(test_step_is_the_gradient)
{
    const sn_kernels *kern = sn_kernels_find(PATHS[_i]);
    if (!kern) {
        printf("threads: %s is not supported by this CPU, skipped\n", PATHS[_i]);
        return;
    }
    static const int s1[] = {7, 17, 3}, s2[] = {5, 9, 4}, s3[] = {6, 8, 8, 2}, s4[] = {4, 6, 3},
                     s5[] = {3, 7, 3};
    const sn_arch archs[] = {
        tu_arch_hidden(3, s1, SN_ACT_SIGMOID, SN_ACT_SIGMOID, SN_LOSS_BCE),
        tu_arch_hidden(3, s2, SN_ACT_TANH, SN_ACT_SOFTMAX, SN_LOSS_CROSSENTROPY),
        tu_arch_hidden(4, s3, SN_ACT_LEAKY_RELU, SN_ACT_LINEAR, SN_LOSS_MSE),
        tu_arch_hidden(3, s4, SN_ACT_LINEAR, SN_ACT_SOFTMAX, SN_LOSS_MSE),
        tu_arch_hidden(3, s5, SN_ACT_RELU, SN_ACT_SIGMOID, SN_LOSS_BCE),
        tu_arch_hidden(3, s5, SN_ACT_RELU, SN_ACT_TANH, SN_LOSS_MSE),
        big_arch(),
    };
    static const size_t batches[] = {1, 5, 64, 100};
    for (size_t a = 0; a < sizeof archs / sizeof *archs; a++)
        for (size_t b = 0; b < 4; b++)
            for (int threads = 1; threads <= 2; threads++)
                check_step_gradient(kern, &archs[a], batches[b], threads, 10 + a);
}
END_TEST

START_TEST(test_divergence_on_threads_restores_parameters)
{
    sn_arch a = big_arch();
    a.act[2] = SN_ACT_LINEAR;
    a.loss = SN_LOSS_MSE;
    sn_net *net = tu_net(&a, SN_INIT_NORMAL, 4);
    data d = make_data(&a, 256, 5);
    for (size_t i = 0; i < 256 * 100; i++)
        d.x[i] *= 1e3f;
    size_t n = sn_arch_param_count(&a);
    float *before = malloc(n * sizeof(float)), *p = sn_net_params(net, NULL);
    ck_assert_ptr_nonnull(before);
    memcpy(before, p, n * sizeof(float));
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer.learning_rate = 10.0f;
    cfg.epochs = 50;
    cfg.batch_size = 64;
    cfg.threads = 2;
    sn_error err = {0};
    TU_STATUS(sn_train(net, &cfg, d.x, d.y, d.rows, NULL, NULL, NULL, &err), SN_ERR_NONFINITE);
    ck_assert(!memcmp(before, p, n * sizeof(float)));
    free(before);
    sn_net_free(net);
    free_data(&d);
}
END_TEST

START_TEST(test_gradcheck_suite_on_every_path)
{
    if (access(gradcheck_bin, X_OK) != 0) {
        printf("threads: %s not built, skipped\n", gradcheck_bin);
        return;
    }
    for (size_t p = 0; p < 3; p++) {
        if (!sn_kernels_find(PATHS[p]))
            continue;
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            setenv("SCRATCHNET_KERNELS", PATHS[p], 1);
            setenv("CK_VERBOSITY", "silent", 1);
            execl(gradcheck_bin, gradcheck_bin, (char *)NULL);
            _exit(127);
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "test_core_gradcheck fails with SCRATCHNET_KERNELS=%s", PATHS[p]);
        printf("threads: test_core_gradcheck passes with SCRATCHNET_KERNELS=%s\n", PATHS[p]);
    }
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("core_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300); /* sanitizers and the portable path are slow */
    tcase_add_test(tc, test_engine_uses_threads_for_big_batches_only);
    tcase_add_loop_test(tc, test_threads_bit_identical, 0, 3);
    tcase_add_loop_test(tc, test_step_is_the_gradient, 0, 3);
    tcase_add_test(tc, test_divergence_on_threads_restores_parameters);
    tcase_add_test(tc, test_gradcheck_suite_on_every_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(int argc, char **argv)
{
    /* The gradient-check suite is built beside this one. */
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    snprintf(gradcheck_bin, sizeof gradcheck_bin, "%.*stest_core_gradcheck",
             slash ? (int)(slash - argv[0] + 1) : 0, slash ? argv[0] : "");
    return tu_run(threads_suite(), 0);
}
