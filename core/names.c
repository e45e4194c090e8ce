/*
 * names.c — status names, error sentences, and the names of every enum as
 * the API spells them ("leaky_relu", "crossentropy", …).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

sn_status sn_fail(sn_error *err, sn_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *sn_status_name(sn_status status)
{
    switch (status) {
    case SN_OK: return "ok";
    case SN_ERR_INVALID: return "invalid argument";
    case SN_ERR_NOMEM: return "out of memory";
    case SN_ERR_NONFINITE: return "non-finite value";
    case SN_ERR_CORRUPT: return "corrupt data";
    case SN_ERR_STOPPED: return "stopped";
    }
    return "unknown status";
}

static const char *const activation_names[SN_ACT_COUNT] = {
    [SN_ACT_SIGMOID] = "sigmoid", [SN_ACT_TANH] = "tanh",     [SN_ACT_RELU] = "relu",
    [SN_ACT_LEAKY_RELU] = "leaky_relu", [SN_ACT_LINEAR] = "linear", [SN_ACT_SOFTMAX] = "softmax",
};
static const char *const loss_names[SN_LOSS_COUNT] = {
    [SN_LOSS_MSE] = "mse", [SN_LOSS_BCE] = "binary_crossentropy",
    [SN_LOSS_CROSSENTROPY] = "crossentropy",
};
static const char *const optimizer_names[SN_OPT_COUNT] = {
    [SN_OPT_SGD] = "sgd", [SN_OPT_MOMENTUM] = "momentum", [SN_OPT_ADAM] = "adam",
};
static const char *const init_names[SN_INIT_COUNT] = {
    [SN_INIT_AUTO] = "auto", [SN_INIT_NORMAL] = "normal", [SN_INIT_XAVIER] = "xavier",
    [SN_INIT_HE] = "he",
};
static const char *const norm_names[SN_NORM_COUNT] = {
    [SN_NORM_NONE] = "none", [SN_NORM_STANDARD] = "standard", [SN_NORM_MINMAX] = "minmax",
};

static const char *name_of(const char *const *names, int count, int value)
{
    return value >= 0 && value < count ? names[value] : "unknown";
}

static int value_of(const char *const *names, int count, const char *name)
{
    for (int i = 0; name && i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *sn_activation_name(sn_activation a) { return name_of(activation_names, SN_ACT_COUNT, (int)a); }
const char *sn_loss_name(sn_loss l) { return name_of(loss_names, SN_LOSS_COUNT, (int)l); }
const char *sn_optimizer_name(sn_optimizer_type o) { return name_of(optimizer_names, SN_OPT_COUNT, (int)o); }
const char *sn_init_name(sn_init i) { return name_of(init_names, SN_INIT_COUNT, (int)i); }
const char *sn_norm_name(sn_norm n) { return name_of(norm_names, SN_NORM_COUNT, (int)n); }
int sn_activation_from_name(const char *name) { return value_of(activation_names, SN_ACT_COUNT, name); }
int sn_loss_from_name(const char *name) { return value_of(loss_names, SN_LOSS_COUNT, name); }
int sn_optimizer_from_name(const char *name) { return value_of(optimizer_names, SN_OPT_COUNT, name); }
int sn_init_from_name(const char *name) { return value_of(init_names, SN_INIT_COUNT, name); }
int sn_norm_from_name(const char *name) { return value_of(norm_names, SN_NORM_COUNT, name); }
