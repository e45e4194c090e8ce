/*
 * bench_train.c — scratchnet's side of `make bench`: trains the
 * 784-256-128-10 relu/relu/softmax MLP with crossentropy and Adam (lr 0.001)
 * at batch 64 on Fashion-MNIST, read from Debian's gzipped IDX files, inputs
 * scaled to [0, 1] by /255, he initialisation (SN_INIT_AUTO), and prints one
 * line of key=value pairs: samples/s, GFLOP/s, test accuracy, kernel path.
 *
 *   bench_train THREADS [EPOCHS]     (EPOCHS default: $SN_BENCH_EPOCHS or 3)
 *   bench_train seed                 the seed's 2-2-1 network: 1000 epochs over
 *                                    its four people (the defaults: SGD 0.1,
 *                                    batch 1), median time of 101 runs
 *
 * With two or more epochs the first is a warm-up and only the others are
 * timed (from the end of epoch 1 to the end of the last, by the progress
 * callback); with one, the whole sn_train call is. FLOP per sample are those
 * of the training step by convention, 6·Σ in·out (forward, and both backward
 * products of every layer, although the first layer's dL/dx is never needed).
 * Reads $SN_BENCH_DATA (default /usr/share/datasets/fashion-mnist). Never
 * fails on speed; exits 1 only when it cannot run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "internal.h"
#include "scratchnet.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Reads a gzipped IDX file: its dimensions into dims (up to 3) and the bytes. */
static uint8_t *read_idx(const char *dir, const char *name, int *ndims, uint32_t dims[3], size_t *count)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    gzFile f = gzopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_train: cannot open %s\n", path);
        return NULL;
    }
    uint8_t head[16];
    uint8_t *data = NULL;
    if (gzread(f, head, 4) != 4 || head[0] || head[1] || head[2] != 8 || head[3] < 1 || head[3] > 3)
        goto bad;
    *ndims = head[3];
    if (gzread(f, head + 4, 4u * (unsigned)*ndims) != 4 * *ndims)
        goto bad;
    *count = 1;
    for (int i = 0; i < *ndims; i++) {
        const uint8_t *d = head + 4 + 4 * i;
        dims[i] = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
        *count *= dims[i];
    }
    data = malloc(*count);
    if (!data || gzread(f, data, (unsigned)*count) != (int)*count)
        goto bad;
    gzclose(f);
    return data;
bad:
    fprintf(stderr, "bench_train: %s is not a readable IDX file\n", path);
    free(data);
    gzclose(f);
    return NULL;
}

typedef struct {
    float *x, *y; /* rows × 784 in [0,1], rows × 10 one-hot */
    uint8_t *label;
    size_t rows;
} dataset;

static int load(const char *dir, const char *images, const char *labels, dataset *d)
{
    int ni, nl;
    uint32_t di[3], dl[3];
    size_t ci, cl;
    uint8_t *img = read_idx(dir, images, &ni, di, &ci);
    d->label = read_idx(dir, labels, &nl, dl, &cl);
    if (!img || !d->label || ni != 3 || nl != 1 || di[0] != dl[0] || di[1] * di[2] != 784) {
        free(img);
        return -1;
    }
    d->rows = di[0];
    d->x = malloc(ci * sizeof(float));
    d->y = calloc(d->rows * 10, sizeof(float));
    if (!d->x || !d->y)
        return -1;
    for (size_t i = 0; i < ci; i++)
        d->x[i] = (float)img[i] / 255.0f;
    for (size_t r = 0; r < d->rows; r++)
        d->y[r * 10 + (d->label[r] < 10 ? d->label[r] : 0)] = 1.0f;
    free(img);
    return 0;
}

typedef struct {
    double t_epoch1, t_last;
} timing;

static int on_epoch(void *ctx, int epoch, double loss, double val)
{
    timing *t = ctx;
    (void)loss, (void)val;
    t->t_last = now();
    if (epoch == 1)
        t->t_epoch1 = t->t_last;
    return 0;
}

/* The seed's network, sigmoid and mean squared error, trained with the
 * defaults (its own settings) on its four people; one line: the median. */
static int bench_seed(void)
{
    static const float x[] = {-2, -1, 25, 6, 17, 4, -15, -6}, y[] = {1, 0, 0, 1};
    sn_arch arch = {.n_layers = 3, .sizes = {2, 2, 1}, .act = {SN_ACT_SIGMOID, SN_ACT_SIGMOID},
                    .loss = SN_LOSS_MSE};
    enum { RUNS = 101 };
    double ms[RUNS], loss = 0;
    sn_error err;
    for (int r = 0; r < RUNS; r++) {
        sn_net *net;
        sn_train_result res;
        sn_train_config cfg = sn_train_config_default();
        cfg.seed = 42;
        if (sn_net_create(&arch, &net, &err) || sn_net_init(net, SN_INIT_NORMAL, 42, &err)) {
            fprintf(stderr, "bench_train: %s\n", err.message);
            return 1;
        }
        double t0 = now();
        sn_status st = sn_train(net, &cfg, x, y, 4, NULL, NULL, &res, &err);
        ms[r] = (now() - t0) * 1e3;
        sn_net_free(net);
        if (st != SN_OK) {
            fprintf(stderr, "bench_train: %s\n", err.message);
            return 1;
        }
        loss = res.loss;
    }
    for (int i = 1; i < RUNS; i++) /* insertion sort, for the median */
        for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
            double t = ms[j];
            ms[j] = ms[j - 1], ms[j - 1] = t;
        }
    printf("impl=scratchnet net=seed-2-2-1 epochs=1000 rows=4 ms_median=%.3f ms_min=%.3f loss=%.4f "
           "kernels=%s\n", ms[RUNS / 2], ms[0], loss, sn_kernels_get()->name);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "seed"))
        return bench_seed();
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    const char *env_epochs = getenv("SN_BENCH_EPOCHS");
    int epochs = argc > 2 ? atoi(argv[2]) : env_epochs ? atoi(env_epochs) : 3;
    const char *dir = getenv("SN_BENCH_DATA") ? getenv("SN_BENCH_DATA") : "/usr/share/datasets/fashion-mnist";
    if (epochs < 1 || threads < 1) {
        fprintf(stderr, "usage: bench_train THREADS [EPOCHS]\n");
        return 1;
    }
    dataset train, test;
    if (load(dir, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", &train) ||
        load(dir, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", &test))
        return 1;

    sn_arch arch = {.n_layers = 4, .sizes = {784, 256, 128, 10},
                    .act = {SN_ACT_RELU, SN_ACT_RELU, SN_ACT_SOFTMAX}, .loss = SN_LOSS_CROSSENTROPY};
    sn_net *net;
    sn_error err;
    if (sn_net_create(&arch, &net, &err) || sn_net_init(net, SN_INIT_AUTO, 1, &err)) {
        fprintf(stderr, "bench_train: %s\n", err.message);
        return 1;
    }
    timing tm = {0};
    sn_train_config cfg = sn_train_config_default();
    cfg.optimizer = sn_optimizer_default(SN_OPT_ADAM);
    cfg.epochs = epochs;
    cfg.batch_size = 64;
    cfg.seed = 1;
    cfg.threads = threads;
    cfg.progress = on_epoch;
    cfg.progress_ctx = &tm;
    sn_train_result res;
    double t0 = now();
    if (sn_train(net, &cfg, train.x, train.y, train.rows, NULL, NULL, &res, &err) != SN_OK) {
        fprintf(stderr, "bench_train: %s\n", err.message);
        return 1;
    }
    double seconds = epochs > 1 ? tm.t_last - tm.t_epoch1 : tm.t_last - t0;
    double samples = (double)train.rows * (epochs > 1 ? epochs - 1 : 1);

    float *out = malloc(test.rows * 10 * sizeof(float));
    size_t right = 0;
    if (!out || sn_predict(net, test.x, test.rows, out, &err) != SN_OK) {
        fprintf(stderr, "bench_train: predict failed\n");
        return 1;
    }
    for (size_t r = 0; r < test.rows; r++) {
        int best = 0;
        for (int j = 1; j < 10; j++)
            best = out[r * 10 + j] > out[r * 10 + best] ? j : best;
        right += best == test.label[r];
    }
    double flop = 0;
    for (int l = 0; l + 1 < arch.n_layers; l++)
        flop += 6.0 * arch.sizes[l] * arch.sizes[l + 1];
    double sps = samples / seconds;
    printf("impl=scratchnet threads=%d epochs=%d samples_per_s=%.0f gflops=%.1f "
           "test_accuracy=%.4f loss=%.4f kernels=%s\n",
           threads, epochs, sps, sps * flop / 1e9, (double)right / (double)test.rows, res.loss,
           sn_kernels_get()->name);
    free(out);
    sn_net_free(net);
    free(train.x), free(train.y), free(train.label);
    free(test.x), free(test.y), free(test.label);
    return 0;
}
