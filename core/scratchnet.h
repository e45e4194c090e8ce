/*
 * scratchnet.h — the training core: dense neural networks from scratch.
 *
 * What it is: fully connected networks of any depth, the usual activations,
 * losses and optimizers, exact gradients by backpropagation, bit-reproducible
 * training from a 64-bit seed, and a versioned byte serialisation.
 * What it is not: it does no I/O, knows nothing of HTTP, JSON or SQL, keeps no
 * globals, and never prints, exits or aborts. Every failure is returned as an
 * sn_status, with a sentence in an optional sn_error.
 *
 * Conventions
 *  - Matrices are row-major float32. A batch X is rows × inputs.
 *  - Layer l (0-based, l < n_layers-1) maps sizes[l] inputs to sizes[l+1]
 *    outputs: z = a_prev · Wᵀ + b, a = act(z), with W of shape
 *    sizes[l+1] × sizes[l] (PyTorch's nn.Linear.weight layout) and b of
 *    sizes[l+1]. For the seed's [2,2,1] net: W1 = [[w1,w2],[w3,w4]],
 *    b1 = [b1,b2], W2 = [[w5,w6]], b2 = [b3].
 *  - All parameters live in one block: for each layer, W then b.
 *  - Targets Y are always rows × outputs floats (one-hot rows for
 *    crossentropy; the caller turns class indices into one-hot rows).
 *  - Ownership: pointers returned by *_create / *_load / *_explain are owned
 *    by the caller and freed with the matching *_free. Views returned by
 *    accessors (sn_net_params, sn_net_layer) belong to the network.
 *
 * Thread-safety: distinct networks are independent. A network that is not
 * being modified may be used by sn_predict from many threads at once.
 */
#ifndef SCRATCHNET_H
#define SCRATCHNET_H

#include <stddef.h>
#include <stdint.h>

#define SN_MAX_LAYERS 32      /* most sizes in a network (inputs..outputs) */
#define SN_MAX_WIDTH 65536    /* widest layer accepted */
#define SN_MAX_PARAMS (1u << 28) /* most parameters in a network (1 GiB) */

typedef enum {
    SN_OK = 0,
    SN_ERR_INVALID,   /* an argument or configuration is out of range */
    SN_ERR_NOMEM,     /* an allocation failed; nothing was changed */
    SN_ERR_NONFINITE, /* NaN or Inf in inputs, loss or parameters */
    SN_ERR_CORRUPT,   /* a serialised blob is truncated or damaged */
    SN_ERR_STOPPED    /* the progress callback asked the run to stop */
} sn_status;

/* A failure's sentence, written by any function that takes one (may be NULL). */
typedef struct {
    sn_status code;
    char message[256];
} sn_error;

const char *sn_status_name(sn_status status); /* static string, never NULL */

typedef enum {
    SN_ACT_SIGMOID = 0,
    SN_ACT_TANH,
    SN_ACT_RELU,
    SN_ACT_LEAKY_RELU, /* slope 0.01 below zero */
    SN_ACT_LINEAR,
    SN_ACT_SOFTMAX,    /* row-wise; fused with SN_LOSS_CROSSENTROPY */
    SN_ACT_COUNT
} sn_activation;

typedef enum {
    SN_LOSS_MSE = 0,     /* mean over rows × outputs of (y - ŷ)² */
    SN_LOSS_BCE,         /* mean over rows × outputs of -(y log ŷ + (1-y) log(1-ŷ)) */
    SN_LOSS_CROSSENTROPY,/* softmax output + categorical CE, mean over rows */
    SN_LOSS_COUNT
} sn_loss;

typedef enum { SN_OPT_SGD = 0, SN_OPT_MOMENTUM, SN_OPT_ADAM, SN_OPT_COUNT } sn_optimizer_type;
typedef enum { SN_INIT_AUTO = 0, SN_INIT_NORMAL, SN_INIT_XAVIER, SN_INIT_HE, SN_INIT_COUNT } sn_init;
typedef enum { SN_NORM_NONE = 0, SN_NORM_STANDARD, SN_NORM_MINMAX, SN_NORM_COUNT } sn_norm;

/* Name ⇄ enum, for codecs ("sigmoid", "leaky_relu", "crossentropy", "adam",
 * "xavier", "minmax", …). *_from_name returns -1 for an unknown name. */
const char *sn_activation_name(sn_activation a);
const char *sn_loss_name(sn_loss l);
const char *sn_optimizer_name(sn_optimizer_type o);
const char *sn_init_name(sn_init i);
const char *sn_norm_name(sn_norm n);
int sn_activation_from_name(const char *name);
int sn_loss_from_name(const char *name);
int sn_optimizer_from_name(const char *name);
int sn_init_from_name(const char *name);
int sn_norm_from_name(const char *name);

/* The derivative of an element-wise activation, written in terms of its
 * output a = act(z) as backpropagation uses it: sigmoid a(1-a), tanh 1-a²,
 * relu [a>0], leaky_relu 1 or 0.01, linear 1; softmax's diagonal a(1-a). */
double sn_activation_slope(sn_activation act, double a);

/* The shape of a network. */
typedef struct {
    int n_layers;                          /* number of sizes, 2..SN_MAX_LAYERS */
    int sizes[SN_MAX_LAYERS];              /* sizes[0] inputs … sizes[n_layers-1] outputs */
    sn_activation act[SN_MAX_LAYERS - 1];  /* act[l] of layer l, n_layers-1 entries */
    sn_loss loss;                          /* crossentropy needs a softmax output; softmax is
                                              allowed only as the output activation */
} sn_arch;

/* Checks an architecture; SN_ERR_INVALID with a sentence naming the fault. */
sn_status sn_arch_check(const sn_arch *arch, sn_error *err);

/* Number of parameters (all W and b) of a valid architecture. */
size_t sn_arch_param_count(const sn_arch *arch);

typedef struct {
    sn_optimizer_type type;
    float learning_rate; /* > 0 */
    float momentum;      /* momentum: v = momentum·v + g; θ -= lr·v (PyTorch) */
    float beta1, beta2;  /* adam */
    float epsilon;       /* adam */
} sn_optimizer;

/* The defaults of each optimizer: sgd lr 0.1; momentum lr 0.1, 0.9;
 * adam lr 0.001, 0.9, 0.999, 1e-8. */
sn_optimizer sn_optimizer_default(sn_optimizer_type type);
sn_status sn_optimizer_check(const sn_optimizer *opt, sn_error *err);

/* ---- deterministic random numbers (xoshiro256**, seeded by splitmix64) ---- */
typedef struct { uint64_t s[4]; } sn_rng;
void sn_rng_seed(sn_rng *rng, uint64_t seed);
uint64_t sn_rng_next(sn_rng *rng);
double sn_rng_uniform(sn_rng *rng);            /* [0, 1) */
double sn_rng_normal(sn_rng *rng);             /* N(0, 1) */
uint64_t sn_rng_below(sn_rng *rng, uint64_t n);/* uniform in [0, n), n > 0 */
/* Fisher–Yates shuffle of idx[0..n). */
void sn_rng_shuffle(sn_rng *rng, size_t *idx, size_t n);

/* ---- networks ---- */
typedef struct sn_net sn_net;

/* Creates a network with all parameters zero and no normalisation.
 * On failure *out is NULL. */
sn_status sn_net_create(const sn_arch *arch, sn_net **out, sn_error *err);
void sn_net_free(sn_net *net);
/* A deep copy; on failure *out is NULL. */
sn_status sn_net_copy(const sn_net *net, sn_net **out, sn_error *err);

const sn_arch *sn_net_arch(const sn_net *net);
/* The parameter block (W1, b1, W2, b2, …) and its length. */
float *sn_net_params(sn_net *net, size_t *count);
const float *sn_net_params_const(const sn_net *net, size_t *count);
/* Views of layer l's W (sizes[l+1] × sizes[l]) and b (sizes[l+1]). */
void sn_net_layer(sn_net *net, int layer, float **W, float **b);
/* Offset of layer l's W (and of its b) inside the parameter block. */
size_t sn_net_weight_offset(const sn_net *net, int layer);
size_t sn_net_bias_offset(const sn_net *net, int layer);

/* Sets every parameter from the seed: weights drawn by `init` (normal: N(0,1);
 * xavier: N(0, 2/(in+out)); he: N(0, 2/in); auto: he for relu/leaky_relu
 * layers, xavier otherwise), biases zero for xavier/he/auto and N(0,1) for
 * normal (the seed draws every parameter from N(0,1)). */
sn_status sn_net_init(sn_net *net, sn_init init, uint64_t seed, sn_error *err);

/* ---- input normalisation: x' = (x - shift) · scale, per input column ---- */
/* Fits shift/scale from rows × inputs training rows (standard: mean and 1/std;
 * minmax: min and 1/(max-min)); a constant column gets scale 1.
 * SN_NORM_NONE removes normalisation. */
sn_status sn_net_fit_norm(sn_net *net, sn_norm kind, const float *X, size_t rows, sn_error *err);
/* Sets explicit statistics (both arrays of `inputs` floats; ignored for NONE). */
sn_status sn_net_set_norm(sn_net *net, sn_norm kind, const float *shift, const float *scale, sn_error *err);
/* The kind and, unless NONE, views of shift and scale (else NULL). */
sn_norm sn_net_norm(const sn_net *net, const float **shift, const float **scale);

/* ---- inference ---- */
/* Y (rows × outputs) = the network applied to X (rows × inputs, raw: the
 * network's normalisation is applied here). Thread-safe on a network no one
 * modifies; allocates its own scratch. SN_ERR_NONFINITE if an input is NaN/Inf
 * or an output overflows (Y's contents are then unspecified). */
sn_status sn_predict(const sn_net *net, const float *X, size_t rows, float *Y, sn_error *err);

/* Loss of the network on rows (raw X, targets Y), as training reports it. */
sn_status sn_evaluate_loss(const sn_net *net, const float *X, const float *Y, size_t rows,
                           double *loss, sn_error *err);

/* ---- training ---- */
/* Called after every epoch with the epoch number (1-based), the epoch's mean
 * training loss and the validation loss (NaN without validation rows).
 * Return nonzero to stop the run (sn_train then returns SN_ERR_STOPPED). */
typedef int (*sn_progress_fn)(void *ctx, int epoch, double loss, double val_loss);

typedef struct {
    sn_optimizer optimizer;
    int epochs;             /* ≥ 1 */
    int batch_size;         /* ≥ 1; 1 is the seed's per-sample SGD */
    int shuffle;            /* nonzero: reshuffle rows every epoch from the seed */
    uint64_t seed;          /* drives shuffling */
    int threads;            /* compute threads, a pool kept for the call; ≤ 0 means 1.
                               Batches too small to split run on fewer (one for
                               tiny networks). The parameters after training do
                               not depend on the thread count, bit for bit. */
    const float *val_x;     /* optional validation rows (raw), val_rows × inputs */
    const float *val_y;     /* val_rows × outputs */
    size_t val_rows;
    int patience;           /* early stopping on val loss; 0 = off */
    double min_delta;       /* an improvement must exceed this */
    sn_progress_fn progress;/* optional */
    void *progress_ctx;
} sn_train_config;

/* A config with the seed's defaults: sgd lr 0.1, 1000 epochs, batch 1, shuffle. */
sn_train_config sn_train_config_default(void);

typedef struct {
    int epochs_run;         /* epochs completed */
    double loss;            /* last epoch's training loss */
    double val_loss;        /* last epoch's validation loss, NaN without */
    int best_epoch;         /* with early stopping: the epoch whose weights are kept */
    int stopped_early;      /* nonzero if early stopping ended the run */
} sn_train_result;

/* Trains net on rows of raw X (rows × inputs) against Y (rows × outputs).
 * loss_history and val_history, if not NULL, receive one value per epoch run
 * (room for cfg->epochs each; val_history gets NaN without validation rows).
 * With early stopping the best epoch's parameters are kept.
 * On SN_ERR_NONFINITE (NaN/Inf in data, loss or parameters) and on any other
 * failure except SN_ERR_STOPPED the parameters are restored to what they were
 * before the call; on SN_ERR_STOPPED they are those of the last full epoch.
 * result (may be NULL) is filled in every case. */
sn_status sn_train(sn_net *net, const sn_train_config *cfg, const float *X, const float *Y,
                   size_t rows, double *loss_history, double *val_history,
                   sn_train_result *result, sn_error *err);

/* ---- one step explained ---- */
typedef struct {
    size_t rows;
    int n_layers;                      /* as the architecture's */
    double loss;
    float *a[SN_MAX_LAYERS];           /* a[0] = normalised inputs; a[l+1] = activation of layer l */
    float *z[SN_MAX_LAYERS - 1];       /* z[l] pre-activation of layer l, rows × sizes[l+1] */
    float *delta[SN_MAX_LAYERS - 1];   /* dL/dz[l], rows × sizes[l+1] */
    float *dloss_dy;                   /* dL/dŷ, rows × outputs (unfused, also for crossentropy) */
    float *grad;                       /* dL/dθ, the parameter block's layout */
    float *updated;                    /* parameters after one step of `optimizer` from fresh state */
    double *numeric_grad;              /* central differences in double precision; NaN for
                                          parameters left out of a large network's sample */
    double max_rel_error;              /* largest |analytic-numeric| / max(|a|+|n|, 1e-8) */
    size_t param_count;
} sn_explain;

/* Runs forward, loss and backward for rows (raw X, targets Y) and one
 * optimizer step on a copy, leaving net unchanged. *out is NULL on failure. */
sn_status sn_explain_step(const sn_net *net, const sn_optimizer *optimizer, const float *X,
                          const float *Y, size_t rows, sn_explain **out, sn_error *err);
void sn_explain_free(sn_explain *ex);

/* Accumulates nothing: writes dL/dθ of the mean loss over rows into grad
 * (param_count floats) by backpropagation. For tests and tools. */
sn_status sn_gradient(const sn_net *net, const float *X, const float *Y, size_t rows,
                      float *grad, double *loss, sn_error *err);
/* The same by central differences on a double-precision forward pass with
 * step h (e.g. 1e-6). A large network gets an evenly strided sample of its
 * parameters (at most 4096, and fewer when its forward passes would exceed
 * ~5e7 multiply-adds); the others are NaN. */
sn_status sn_numeric_gradient(const sn_net *net, const float *X, const float *Y, size_t rows,
                              double h, double *grad, sn_error *err);

/* ---- kernel paths ---- */
/* The matrix kernels this process runs: "avx512", "avx2" or "portable"
 * (static string). Chosen once, at the first use of the core, from the CPU
 * (one binary runs on any x86-64; other CPUs use "portable"), unless the
 * environment variable SCRATCHNET_KERNELS names a path (portable|avx2|avx512);
 * a path the CPU lacks falls back to the best one it has. Thread-safe.
 * Training runs on it; inference (sn_predict, sn_evaluate_loss, sn_explain_step)
 * runs on AVX2 where it is AVX-512, whose clock penalty outweighs its width
 * on small batches between network work (kernels.c has the figures). */
const char *sn_kernel_path(void);

/* ---- serialisation ---- */
/* Writes the network (architecture, parameters, normalisation) as a
 * little-endian, versioned byte buffer ending in a CRC-32. *buf is malloc'd
 * and owned by the caller (free()). */
sn_status sn_net_save(const sn_net *net, uint8_t **buf, size_t *len, sn_error *err);
/* Reads a buffer written by sn_net_save; rejects truncated, damaged or
 * unknown input with SN_ERR_CORRUPT. On failure *out is NULL. */
sn_status sn_net_load(const uint8_t *buf, size_t len, sn_net **out, sn_error *err);

#endif
