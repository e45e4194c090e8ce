/*
 * engine.c — the training step, fast: forward, loss, backward and the
 * optimizer update of one mini-batch, over a pool of threads created once per
 * sn_train call.
 *
 * Layout. Activations are kept feature-major (Aᵀ: features × batch, row
 * stride cap), so every product runs along the batch in SIMD registers
 * without packing the weights:
 *   forward   Zᵀ_l  = W_l · Aᵀ_l + b_l (bias and relu in the kernel's epilogue;
 *             for the first layer, as dot products of W_0's rows with the
 *             inputs' rows, so the inputs need no feature-major copy)
 *   backward  dAᵀ_l = W_lᵀ · δᵀ_l,  δᵀ_{l-1} = dAᵀ_l ⊙ act'(Aᵀ_l)
 *             dW_l  = δᵀ_l · A_l   (A_l batch-major: a transposed copy of Aᵀ_l)
 * The output layer's activation, loss and δ run batch-major with the
 * functions of activations.c and losses.c, as sn_forward/sn_backward do.
 *
 * Threads. Thread t owns a fixed slice of every layer's output features
 * (rows of W_l and b_l): it computes those rows of dW_l and db_l and applies
 * the optimizer to exactly those parameters, so no gradient is ever reduced
 * across threads. The forward of the hidden layers and the backward δ chain
 * are split by features too: a thread computes, for the whole batch, the rows
 * of A_{l+1} and of δᵀ_l that belong to the rows of W_l it updates, so those
 * stay in its core's cache, and the kernel's tiles stay as wide as the batch
 * (a split by batch columns cuts a batch of 64 into narrow tiles that run at
 * half speed). Only the output layer (narrow, as a rule) runs by batch
 * columns: its forward, the loss and δ, each thread its share of the samples.
 * Every thread gathers its share of the next batch's rows into A_0 during
 * this batch's δ chain; its first-layer forward starts as soon as its
 * updates of the batch before are done (it touches only its own rows of W_0
 * and buffers nobody else writes then). Inputs, targets and A_l come in two
 * sets of buffers, for alternate batches. A batch takes a barrier after each
 * hidden layer's forward (the first also ends the batch before's updates),
 * one after the output layer, one after each δ of the chain, and one before
 * the updates (nobody reads W any more; the next inputs are in); an epoch
 * adds one at its start and one at its end. They spin, then sleep on a futex.
 *
 * Every number is computed by the same operations in the same order whatever
 * the thread count (see sn_kernels.gemm), so parameters after training are
 * bit-identical for 1, 2 or more threads; the loss is summed row by row in
 * batch order, also independent of the thread count.
 *
 * Small work does not pay for threads: a batch below ENGINE_MACS_PER_THREAD
 * multiply-adds per extra thread runs on fewer threads (one for the seed's
 * 2-2-1 network), with no pool at all; and below TINY_MACS it runs on the
 * portable kernels, whose plain loops cost less than setting up SIMD tiles.
 */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "internal.h"

#define ENGINE_MAX_THREADS 64
#define ENGINE_MACS_PER_THREAD (1u << 20) /* multiply-adds of a batch per thread, at least */
#define UPDATE_ROWS 24 /* rows of dW computed, then updated, while they are in cache (4 tiles) */
#define SPIN_NS 200000 /* a barrier spins this long before sleeping */
#define TINY_MACS 4096 /* below this per batch, the portable kernels (no SIMD set-up) */

struct sn_engine {
    sn_net *net;
    sn_opt_state *opt;
    const sn_kernels *kern;
    int L;        /* layers with weights: n_layers - 1 */
    size_t cap;   /* rows per batch at most; row stride of feature-major buffers */
    int threads;  /* threads that run a batch, the caller included */
    float *at[SN_MAX_LAYERS];    /* Aᵀ_l, sizes[l] × cap, l ≥ 1; at[L] holds Zᵀ of the output */
    float *an[2][SN_MAX_LAYERS]; /* A_l batch-major, cap × sizes[l], 1 ≤ l < L, two batches */
    float *in_n[2];              /* A_0 (the inputs) likewise */
    float *dt[SN_MAX_LAYERS];    /* δᵀ_l, sizes[l+1] × cap */
    float *z, *yhat, *dout;      /* output layer batch-major, cap × outputs */
    float *y[2];                 /* targets of this batch and the next, alternately */
    double *row_loss;            /* loss of each row of the batch */
    float *gscratch[ENGINE_MAX_THREADS]; /* each thread's gradient rows, UPDATE_ROWS × widest */
    float *block;
    /* the epoch being run */
    const float *X, *Y;
    const size_t *idx;
    size_t rows;
    double loss_sum;             /* Σ over batches of mean loss · rows (thread 0) */
    int diverged;
    /* the pool */
    pthread_t tid[ENGINE_MAX_THREADS];
    int started;                 /* worker threads running */
    int have_pool;               /* mu and cv initialised */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned gen;                /* bumped to start an epoch */
    int quit;
    _Alignas(64) atomic_uint bar_count;
    _Alignas(64) atomic_uint bar_gen;
    atomic_uint bar_sleepers;
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Sleeping until *word changes from `seen` (Linux futex; elsewhere a yield). */
static void wait_change(atomic_uint *word, unsigned seen)
{
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    (void)word, (void)seen;
    sched_yield();
#endif
}

static void wake_all(atomic_uint *word)
{
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Barrier for the threads of a batch: the last to arrive bumps bar_gen. The
 * others spin for up to SPIN_NS, then sleep on a futex, so that a machine
 * with more runnable threads than cores does not lose whole time slices to
 * spinning. Waits are usually tens of microseconds (the threads' phases
 * differ by that much), and waking a sleeper costs as much again (more in a
 * virtual machine, where the wake-up is an interrupt through the host): the
 * spin is timed, not counted, because a pause lasts from 10 to 140 cycles
 * depending on the CPU. sleepers tells the last one whether to wake anyone. */
static void barrier(sn_engine *e)
{
    if (e->threads == 1)
        return;
    unsigned g = atomic_load_explicit(&e->bar_gen, memory_order_acquire);
    if (atomic_fetch_add_explicit(&e->bar_count, 1, memory_order_acq_rel) == (unsigned)e->threads - 1) {
        atomic_store_explicit(&e->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add(&e->bar_gen, 1); /* seq_cst: ordered against sleepers below */
        if (atomic_load(&e->bar_sleepers))
            wake_all(&e->bar_gen);
        return;
    }
    uint64_t until = now_ns() + SPIN_NS;
    for (unsigned spins = 1; atomic_load_explicit(&e->bar_gen, memory_order_acquire) == g; spins++) {
        /* The clock only now and then: reading it costs tens of pauses. */
        if (spins % 256 != 0 || now_ns() < until) {
            cpu_relax();
            continue;
        }
        atomic_fetch_add(&e->bar_sleepers, 1);
        if (atomic_load(&e->bar_gen) == g)
            wait_change(&e->bar_gen, g);
        atomic_fetch_sub(&e->bar_sleepers, 1);
    }
}

/* Thread t's share [*lo, *hi) of n items, in chunks of `align`. */
static void share(size_t n, int threads, int t, size_t align, size_t *lo, size_t *hi)
{
    if (threads == 1) {
        *lo = 0, *hi = n;
        return;
    }
    size_t per = (n + (size_t)threads - 1) / (size_t)threads;
    per = (per + align - 1) / align * align;
    *lo = per * (size_t)t < n ? per * (size_t)t : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Copies (and normalises) rows [lo, hi) of the batch starting at `first`
 * into input buffer b (A_0), and their targets into y. Each thread gathers its share of the rows, while the batch before
 * is still being updated (from the other buffer): gathering every row on
 * every thread would be work that does not shrink with more threads. */
static void gather(sn_engine *e, int b, size_t first, size_t lo, size_t hi)
{
    const sn_net *net = e->net;
    size_t in = (size_t)net->arch.sizes[0], out = (size_t)net->arch.sizes[e->L];
    if (hi <= lo)
        return;
    for (size_t r = lo; r < hi; r++) {
        size_t src = e->idx ? e->idx[first + r] : first + r;
        float *dst = e->in_n[b] + r * in;
        memcpy(dst, e->X + src * in, in * sizeof(float));
        if (net->norm != SN_NORM_NONE)
            for (size_t j = 0; j < in; j++)
                dst[j] = (dst[j] - net->norm_shift[j]) * net->norm_scale[j];
        memcpy(e->y[b] + r * out, e->Y + src * out, out * sizeof(float));
    }
}

/* A_l batch-major: the inputs in buffer b for l = 0. */
static const float *act_n(const sn_engine *e, int l, int b) { return l ? e->an[b][l] : e->in_n[b]; }

/* Rows [lo, hi) of Zᵀ_l for batch columns [m0, m1) of buffer b: W_l·Aᵀ_l + b_l,
 * then relu if asked; the first layer from the inputs' rows, by dot products. */
static void layer_product(sn_engine *e, int b, int l, size_t lo, size_t hi, size_t m0, size_t m1,
                          int flags)
{
    const sn_net *net = e->net;
    size_t in = (size_t)net->arch.sizes[l];
    const float *W = net->params + net->w_off[l] + lo * in, *bias = net->params + net->b_off[l] + lo;
    float *zt = e->at[l + 1] + lo * e->cap + m0;
    if (l == 0)
        e->kern->gemm_nt(hi - lo, m1 - m0, in, W, in, e->in_n[b] + m0 * in, in, zt, e->cap, bias, flags);
    else
        e->kern->gemm(hi - lo, m1 - m0, in, W, in, 1, e->at[l] + m0, e->cap, zt, e->cap, bias, flags);
}

/* Asks for rows [lo, hi) of the batch starting at `first` to be brought into
 * L2: shuffled rows come from all over X, and a gather that waits for each
 * of them in turn costs several times the copy itself. */
static void prefetch_rows(const sn_engine *e, size_t first, size_t lo, size_t hi)
{
    size_t in = (size_t)e->net->arch.sizes[0] * sizeof(float);
    for (size_t r = lo; r < hi; r++) {
        size_t src = e->idx ? e->idx[first + r] : first + r;
        const char *row = (const char *)(e->X + src * (size_t)e->net->arch.sizes[0]);
        for (size_t off = 0; off < in; off += 64)
            __builtin_prefetch(row + off, 0, 1);
    }
}

/* Layer l, output features [lo, hi): Zᵀ = W·Aᵀ + b, then the activation
 * (except on the output layer, which output() finishes). */
static void forward(sn_engine *e, int buf, int l, size_t n, size_t lo, size_t hi)
{
    const sn_net *net = e->net;
    size_t out = (size_t)net->arch.sizes[l + 1];
    sn_activation act = net->arch.act[l];
    int hidden = l + 1 < e->L;
    float *zt = e->at[l + 1];
    if (hi <= lo)
        return;
    layer_product(e, buf, l, lo, hi, 0, n, hidden && act == SN_ACT_RELU ? SN_GEMM_RELU : 0);
    if (!hidden)
        return;
    if (act != SN_ACT_RELU) {
        if (n == e->cap) /* a full batch: the rows are contiguous */
            sn_act_forward(act, zt + lo * n, 1, (hi - lo) * n);
        else
            for (size_t j = lo; j < hi; j++)
                sn_act_forward(act, zt + j * e->cap, 1, n);
    }
    e->kern->transpose(zt + lo * e->cap, hi - lo, n, e->cap, e->an[buf][l + 1] + lo, out);
}

/* Batch rows [lo, hi) of the output layer: activation, loss of each row and δ. */
static void output(sn_engine *e, int b, size_t n, size_t lo, size_t hi)
{
    const sn_arch *arch = &e->net->arch;
    size_t outs = (size_t)arch->sizes[e->L], m = hi - lo;
    if (hi <= lo)
        return;
    float *z = e->z + lo * outs, *yhat = e->yhat + lo * outs, *y = e->y[b] + lo * outs;
    e->kern->transpose(e->at[e->L] + lo, outs, m, e->cap, z, outs);
    memcpy(yhat, z, m * outs * sizeof(float));
    sn_act_forward(arch->act[e->L - 1], yhat, m, outs);
    for (size_t r = 0; r < m; r++)
        e->row_loss[lo + r] = sn_loss_value(arch->loss, z + r * outs, yhat + r * outs,
                                            y + r * outs, 1, outs);
    sn_loss_delta(arch->loss, arch->act[e->L - 1], yhat, y, m, outs, n, e->dout + lo * outs);
    e->kern->transpose(e->dout + lo * outs, m, outs, outs, e->dt[e->L - 1] + lo, e->cap);
}

/* Gradient and optimizer step of layer l's output features [lo, hi):
 * dW rows = δᵀ rows · A_l, db = row sums of δᵀ, a few rows at a time. */
static void update(sn_engine *e, int t, int b, int l, size_t n, size_t lo, size_t hi,
                   const sn_adam_coef *coef, int backwards, size_t pf_first, size_t pf_lo,
                   size_t pf_hi)
{
    sn_net *net = e->net;
    size_t in = (size_t)net->arch.sizes[l];
    const float *d = e->dt[l];
    float *g = e->gscratch[t];
    if (hi <= lo)
        return;
    /* Chunks in alternating order from batch to batch: the last ones touched
     * (weights and moments) are still in cache when the next pass starts. */
    size_t chunks = (hi - lo + UPDATE_ROWS - 1) / UPDATE_ROWS;
    for (size_t c = 0; c < chunks; c++) {
        size_t r0 = lo + (backwards ? chunks - 1 - c : c) * UPDATE_ROWS;
        size_t r1 = r0 + UPDATE_ROWS < hi ? r0 + UPDATE_ROWS : hi;
        e->kern->gemm(r1 - r0, in, n, d + r0 * e->cap, e->cap, 1, act_n(e, l, b), in, g, in, NULL, 0);
        sn_opt_apply(e->opt, e->kern, coef, net->params, g, net->w_off[l] + r0 * in, (r1 - r0) * in);
        /* A slice of the next batch's input rows after each chunk: spread out,
         * they are requested while there is work to hide the latency behind,
         * and late enough not to be evicted by the updates before use. */
        prefetch_rows(e, pf_first, pf_lo + (pf_hi - pf_lo) * c / chunks,
                      pf_lo + (pf_hi - pf_lo) * (c + 1) / chunks);
    }
    for (size_t j = lo; j < hi; j++) {
        float s = 0.0f;
        for (size_t r = 0; r < n; r++)
            s += d[j * e->cap + r];
        g[j - lo] = s;
    }
    sn_opt_apply(e->opt, e->kern, coef, net->params, g, net->b_off[l] + lo, hi - lo);
}

/* Layer l for batch columns [m0, m1): Zᵀ[:, m0:m1] = W·Aᵀ[:, m0:m1] + b, the
 * activation and, for hidden layers, the batch-major copy of those rows. */
static void forward_cols(sn_engine *e, int b, int l, size_t m0, size_t m1)
{
    const sn_net *net = e->net;
    size_t out = (size_t)net->arch.sizes[l + 1], m = m1 - m0;
    sn_activation act = net->arch.act[l];
    int hidden = l + 1 < e->L;
    float *zt = e->at[l + 1] + m0;
    if (m1 <= m0)
        return;
    layer_product(e, b, l, 0, out, m0, m1, hidden && act == SN_ACT_RELU ? SN_GEMM_RELU : 0);
    if (!hidden)
        return;
    if (act != SN_ACT_RELU)
        for (size_t j = 0; j < out; j++)
            sn_act_forward(act, zt + j * e->cap, 1, m);
    e->kern->transpose(zt, out, m, e->cap, e->an[b][l + 1] + m0 * out, out);
}

/* Rows [lo, hi) of δᵀ_{l-1} = (W_lᵀ·δᵀ_l) ⊙ act', for the whole batch of n. */
static void backward_rows(sn_engine *e, int l, size_t n, size_t lo, size_t hi)
{
    const sn_net *net = e->net;
    size_t in = (size_t)net->arch.sizes[l], out = (size_t)net->arch.sizes[l + 1];
    if (hi <= lo)
        return;
    float *d = e->dt[l - 1] + lo * e->cap;
    e->kern->gemm(hi - lo, n, out, net->params + net->w_off[l] + lo, 1, in, e->dt[l], e->cap, d,
                  e->cap, NULL, 0);
    if (n == e->cap) /* a full batch: the rows are contiguous */
        sn_act_backward(net->arch.act[l - 1], e->at[l] + lo * e->cap, d, 1, (hi - lo) * n);
    else
        for (size_t j = lo; j < hi; j++)
            sn_act_backward(net->arch.act[l - 1], e->at[l] + j * e->cap, e->dt[l - 1] + j * e->cap, 1, n);
}

/* Thread t's part of one epoch: every batch, in lockstep with the others. */
static void run_epoch_part(sn_engine *e, int t)
{
    const sn_arch *arch = &e->net->arch;
    int T = e->threads;
    long step = e->opt->step;
    int cur = 0; /* buffers of this batch; the next batch's are the others */
    if (e->rows) {
        size_t n = e->rows < e->cap ? e->rows : e->cap, g0, g1;
        size_t n2 = e->rows - n < e->cap ? e->rows - n : e->cap; /* the second batch */
        share(n, T, t, 16, &g0, &g1);
        gather(e, cur, 0, g0, g1);
        share(n2, T, t, 16, &g0, &g1);
        prefetch_rows(e, n, g0, g1); /* gathered during the first batch */
        barrier(e);
    }
    for (size_t first = 0; first < e->rows; first += e->cap, cur ^= 1) {
        size_t n = e->rows - first < e->cap ? e->rows - first : e->cap, lo, hi, m0, m1;
        /* Batch columns of this thread (whole vectors of 16 where possible). */
        share(n, T, t, 16, &m0, &m1);
        /* Hidden layers by output features: each thread computes its rows for
         * the whole batch, so the kernel's tiles stay full width (a column
         * split would cut a batch of 64 into narrow tiles that run at half
         * speed). The first layer's forward follows the updates of the batch
         * before without a barrier: it touches only this thread's rows of W_0
         * and this batch's buffers (inputs, A_1), not those the other
         * threads' updates read. */
        for (int l = 0; l < e->L - 1; l++) {
            share((size_t)arch->sizes[l + 1], T, t, 8, &lo, &hi);
            forward(e, cur, l, n, lo, hi);
            barrier(e); /* every row of A_{l+1}; the first: every update of the batch before */
        }
        if (e->L == 1)
            barrier(e); /* every update of the batch before */
        /* The output layer (narrow, as a rule) by batch columns: its forward,
         * the loss and δ. */
        forward_cols(e, cur, e->L - 1, m0, m1);
        output(e, cur, n, m0, m1);
        /* The δ chain by rows, each layer once the one above is whole: the
         * rows of δᵀ_{l-1} a thread computes are those of A_l it computed in
         * the forward and those of dW_{l-1} it updates, so they stay in its
         * core's cache. */
        for (int l = e->L - 1; l > 0; l--) {
            barrier(e);
            share((size_t)arch->sizes[l], T, t, 8, &lo, &hi);
            backward_rows(e, l, n, lo, hi);
        }
        /* This thread's rows of the next batch, into the other buffers (last
         * read by the updates of the batch before, which the barrier above
         * waited for); prefetched during the first layer's updates. */
        size_t rest = e->rows - first - n, next = rest < e->cap ? rest : e->cap, p0, p1;
        share(next, T, t, 16, &p0, &p1);
        gather(e, cur ^ 1, first + n, p0, p1);
        barrier(e); /* every δ, row loss and next input is complete; nobody reads W any more */
        double loss = 0;
        for (size_t r = 0; r < n; r++)
            loss += e->row_loss[r];
        loss /= (double)n;
        if (!isfinite(loss)) {
            if (t == 0)
                e->diverged = 1, e->loss_sum = loss;
            return; /* every thread sees the same loss and leaves here */
        }
        if (t == 0)
            e->loss_sum += loss * (double)n;
        sn_adam_coef coef = {0};
        ++step;
        if (e->opt->opt.type == SN_OPT_ADAM)
            coef = sn_opt_adam_coef(e->opt, step);
        /* The rows of the batch after next that this thread will gather. */
        size_t after = rest - next < e->cap ? rest - next : e->cap, q0, q1;
        share(after, T, t, 16, &q0, &q1);
        for (int l = e->L - 1; l >= 0; l--) {
            /* The output layer's rows evenly (nothing else is split by them);
             * the others as the forward split them. */
            share((size_t)arch->sizes[l + 1], T, t, l == e->L - 1 ? 1 : 8, &lo, &hi);
            update(e, t, cur, l, n, lo, hi, &coef, (int)(step & 1), first + n + next, l ? 0 : q0,
                   l ? 0 : q1);
        }
    }
    barrier(e); /* the epoch's last updates are complete */
}

/* Workers receive their index through this small table, one entry per thread. */
typedef struct {
    sn_engine *e;
    int t;
} worker_arg;

static void *worker_main(void *arg)
{
    worker_arg *w = arg;
    sn_engine *e = w->e;
    int t = w->t;
    unsigned seen = 0;
    for (;;) {
        pthread_mutex_lock(&e->mu);
        while (e->gen == seen && !e->quit)
            pthread_cond_wait(&e->cv, &e->mu);
        seen = e->gen;
        int quit = e->quit;
        pthread_mutex_unlock(&e->mu);
        if (quit)
            return NULL;
        run_epoch_part(e, t);
    }
}

static worker_arg *worker_args(sn_engine *e)
{
    return (worker_arg *)(e + 1);
}

int sn_engine_threads(const sn_engine *e) { return e->threads; }

sn_status sn_engine_create(sn_engine **out, sn_net *net, sn_opt_state *opt,
                           const sn_kernels *kern, size_t cap, int threads, sn_error *err)
{
    *out = NULL;
    const sn_arch *arch = &net->arch;
    int L = arch->n_layers - 1;
    size_t outs = (size_t)arch->sizes[L], macs = 0, total = 0;
    for (int l = 0; l < L; l++)
        macs += (size_t)arch->sizes[l] * (size_t)arch->sizes[l + 1];
    macs *= cap;
    if (threads < 1)
        threads = 1;
    if (threads > ENGINE_MAX_THREADS)
        threads = ENGINE_MAX_THREADS;
    if ((size_t)threads > 1 + macs / ENGINE_MACS_PER_THREAD)
        threads = (int)(1 + macs / ENGINE_MACS_PER_THREAD);
    /* Buffers: two of inputs, Aᵀ and A of the layers after the first, δᵀ, four
     * output blocks; then a gradient scratch per thread. */
    total = 2 * (size_t)arch->sizes[0];
    for (int l = 1; l <= L; l++)
        total += (size_t)arch->sizes[l] * (l < L ? 3 : 1);
    for (int l = 0; l < L; l++)
        total += (size_t)arch->sizes[l + 1];
    total += 5 * outs;
    if (total > SIZE_MAX / sizeof(float) / cap / 2)
        return sn_fail(err, SN_ERR_INVALID, "a batch of %zu rows is too large", cap);
    size_t width = (size_t)sn_arch_max_width(arch), scratch = UPDATE_ROWS * width;
    total = total * cap + (size_t)threads * scratch;
    /* The struct holds 64-byte aligned barrier words: allocate it so aligned. */
    size_t bytes = (sizeof(sn_engine) + (size_t)threads * sizeof(worker_arg) + 63) / 64 * 64;
    sn_engine *e = aligned_alloc(64, bytes);
    if (e)
        memset(e, 0, bytes);
    if (!e)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for training state");
    if (macs < TINY_MACS)
        kern = sn_kernels_find("portable");
    *e = (sn_engine){.net = net, .opt = opt, .kern = kern, .L = L, .cap = cap, .threads = threads};
    /* Aligned, as are the inputs' rows when their width is a multiple of 16. */
    e->block = aligned_alloc(64, (total * sizeof(float) + 63) / 64 * 64);
    e->row_loss = malloc(cap * sizeof(double));
    if (!e->block || !e->row_loss) {
        free(e->block);
        free(e->row_loss);
        free(e);
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for training state");
    }
    float *p = e->block;
    for (int b = 0; b < 2; b++)
        e->in_n[b] = p, p += (size_t)arch->sizes[0] * cap;
    for (int l = 1; l <= L; l++) {
        e->at[l] = p, p += (size_t)arch->sizes[l] * cap;
        if (l < L)
            for (int b = 0; b < 2; b++)
                e->an[b][l] = p, p += (size_t)arch->sizes[l] * cap;
    }
    for (int l = 0; l < L; l++)
        e->dt[l] = p, p += (size_t)arch->sizes[l + 1] * cap;
    e->z = p, p += outs * cap;
    e->yhat = p, p += outs * cap;
    e->dout = p, p += outs * cap;
    e->y[0] = p, p += outs * cap;
    e->y[1] = p, p += outs * cap;
    for (int t = 0; t < threads; t++)
        e->gscratch[t] = p, p += scratch;
    atomic_init(&e->bar_count, 0);
    atomic_init(&e->bar_gen, 0);
    atomic_init(&e->bar_sleepers, 0);
    if (threads > 1) {
        pthread_mutex_init(&e->mu, NULL);
        pthread_cond_init(&e->cv, NULL);
        e->have_pool = 1;
        for (int t = 1; t < threads; t++) {
            worker_args(e)[t] = (worker_arg){.e = e, .t = t};
            if (pthread_create(&e->tid[t], NULL, worker_main, &worker_args(e)[t]) != 0)
                break;
            e->started++;
        }
        /* Fewer threads than asked: results are the same, only slower. */
        e->threads = 1 + e->started;
    }
    *out = e;
    return SN_OK;
}

void sn_engine_free(sn_engine *e)
{
    if (!e)
        return;
    if (e->started) {
        pthread_mutex_lock(&e->mu);
        e->quit = 1;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
        for (int t = 1; t <= e->started; t++)
            pthread_join(e->tid[t], NULL);
    }
    if (e->have_pool) {
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->cv);
    }
    free(e->block);
    free(e->row_loss);
    free(e);
}

double sn_engine_epoch(sn_engine *e, const float *X, const float *Y, const size_t *idx,
                       size_t rows)
{
    e->X = X, e->Y = Y, e->idx = idx, e->rows = rows;
    e->loss_sum = 0;
    e->diverged = 0;
    if (e->started) {
        pthread_mutex_lock(&e->mu);
        e->gen++;
        pthread_cond_broadcast(&e->cv);
        pthread_mutex_unlock(&e->mu);
    }
    run_epoch_part(e, 0);
    /* Every thread has passed the epoch's last barrier (or left on divergence,
     * touching nothing shared after it), so the state below is final. */
    size_t batches = (rows + e->cap - 1) / e->cap;
    if (e->diverged)
        return e->loss_sum;
    e->opt->step += (long)batches;
    return e->loss_sum / (double)rows;
}
