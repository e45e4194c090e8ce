/*
 * codec_train.c — the /train request: architecture, optimizer, schedule,
 * seed, data (inline rows, class indices or labels, or a dataset), all
 * validated field by field; and the settings ("spec") stored with a job and
 * its version.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"
#include "text.h"

#define HIDDEN_CHOICES "sigmoid, tanh, relu, leaky_relu, linear"
#define OUTPUT_CHOICES "sigmoid, softmax, linear, tanh, relu, leaky_relu"
#define LOSS_CHOICES "mse, binary_crossentropy, crossentropy"
#define MAX_EPOCHS 1000000
#define SEED_EXACT_MAX 9007199254740992.0 /* 2^53: larger JSON numbers lose digits */

#define GET(obj, name) cJSON_GetObjectItemCaseSensitive(obj, name)

static int hidden_from_name(const char *name)
{
    int a = sn_activation_from_name(name);
    return a == SN_ACT_SOFTMAX ? -1 : a;
}

bool codec_architecture(const cJSON *obj, sn_arch *arch, api_error *e)
{
    const cJSON *layers = GET(obj, "layers"), *act = GET(obj, "activation");
    const cJSON *out_act = GET(obj, "output_activation"), *loss = GET(obj, "loss");
    memset(arch, 0, sizeof *arch);
    if (!layers)
        return api_fail(e, 400, "layers", "layers is required: sizes from inputs to outputs, e.g. [2, 2, 1]");
    if (!cJSON_IsArray(layers))
        return api_fail(e, 400, "layers", "layers must be an array of positive integers");
    int n = cJSON_GetArraySize(layers);
    if (n < 2 || n > SN_MAX_LAYERS)
        return api_fail(e, 400, "layers", "layers must have 2 to %d entries (inputs … outputs), got %d",
                        SN_MAX_LAYERS, n);
    arch->n_layers = n;
    int i = 0;
    for (const cJSON *s = layers->child; s; s = s->next, i++) {
        char field[32];
        int64_t v;
        snprintf(field, sizeof field, "layers[%d]", i);
        if (!cJSON_IsNumber(s) || s->valuedouble != floor(s->valuedouble) || s->valuedouble < 1)
            return api_fail(e, 400, field, "%s must be a positive integer", field);
        if (!codec_integer(s, field, 1, SN_MAX_WIDTH, &v, e))
            return false;
        arch->sizes[i] = (int)v;
    }
    arch->loss = SN_LOSS_MSE;
    if (loss && (int)(arch->loss = (sn_loss)codec_enum(loss, "loss", sn_loss_from_name, LOSS_CHOICES, e)) < 0)
        return false;
    int last = n - 2;
    sn_activation hidden = SN_ACT_SIGMOID;
    bool out_from_list = false;
    if (cJSON_IsArray(act)) {
        if (cJSON_GetArraySize(act) != n - 1)
            return api_fail(e, 400, "activation",
                            "activation as a list needs one entry per non-input layer (%d), got %d",
                            n - 1, cJSON_GetArraySize(act));
        i = 0;
        for (const cJSON *a = act->child; a; a = a->next, i++) {
            char field[32];
            snprintf(field, sizeof field, "activation[%d]", i);
            int v = i == last ? codec_enum(a, field, sn_activation_from_name, OUTPUT_CHOICES, e)
                              : codec_enum(a, field, hidden_from_name, HIDDEN_CHOICES, e);
            if (v < 0)
                return false;
            arch->act[i] = (sn_activation)v;
        }
        out_from_list = true;
    } else {
        if (act && (int)(hidden = (sn_activation)codec_enum(act, "activation", hidden_from_name,
                                                            HIDDEN_CHOICES, e)) < 0)
            return false;
        for (i = 0; i < last; i++)
            arch->act[i] = hidden;
    }
    if (out_act) {
        int v = codec_enum(out_act, "output_activation", sn_activation_from_name, OUTPUT_CHOICES, e);
        if (v < 0)
            return false;
        if (out_from_list && arch->act[last] != (sn_activation)v)
            return api_fail(e, 400, "output_activation",
                            "output_activation is %s but the last entry of activation is %s; give one or make them equal",
                            sn_activation_name((sn_activation)v), sn_activation_name(arch->act[last]));
        arch->act[last] = (sn_activation)v;
    } else if (!out_from_list) {
        arch->act[last] = arch->loss == SN_LOSS_CROSSENTROPY ? SN_ACT_SOFTMAX : SN_ACT_SIGMOID;
    }
    sn_error err;
    if (sn_arch_check(arch, &err) != SN_OK) {
        const char *field = strstr(err.message, "layers[") ? "layers"
                            : strstr(err.message, "parameters") ? "layers"
                            : arch->loss != SN_LOSS_MSE ? "loss" : "output_activation";
        return api_fail(e, 400, field, "%s", err.message);
    }
    return true;
}

bool codec_train_limits(const train_request *r, uint64_t rows, const train_limits *lim,
                        api_error *e)
{
    uint64_t params = sn_arch_param_count(&r->arch);
    if (lim->max_params && params > lim->max_params)
        return api_fail(e, 422, "layers",
                        "layers describe a network of %llu parameters, more than this server "
                        "trains (--max-params %llu): use fewer or narrower layers",
                        (unsigned long long)params, (unsigned long long)lim->max_params);
    uint64_t epochs = (uint64_t)r->train.epochs, work;
    if (lim->max_work && (__builtin_mul_overflow(epochs, rows, &work) || work > lim->max_work))
        return api_fail(e, 422, "epochs",
                        "%llu epochs of %llu rows is more work than one job may do here "
                        "(--max-work %llu epochs x rows): train fewer epochs or on fewer rows",
                        (unsigned long long)epochs, (unsigned long long)rows,
                        (unsigned long long)lim->max_work);
    return true;
}

void codec_add_architecture(cJSON *obj, const sn_arch *arch)
{
    cJSON *layers = cJSON_AddArrayToObject(obj, "layers");
    for (int i = 0; i < arch->n_layers; i++)
        cJSON_AddItemToArray(layers, cJSON_CreateNumber(arch->sizes[i]));
    cJSON *act = cJSON_AddArrayToObject(obj, "activation");
    for (int i = 0; i + 1 < arch->n_layers; i++)
        cJSON_AddItemToArray(act, cJSON_CreateString(sn_activation_name(arch->act[i])));
    cJSON_AddStringToObject(obj, "output_activation", sn_activation_name(arch->act[arch->n_layers - 2]));
    cJSON_AddStringToObject(obj, "loss", sn_loss_name(arch->loss));
}

#define LEARNING_RATE_MAX 1e6

/* The number at path into *dst, within [lo, hi) (or (lo, hi) when lo_open).
 * The bounds hold for the float32 the core gets: 1e-46 is 0 there, and
 * 0.999999999 is 1. */
static bool read_bounded(const cJSON *f, const char *path, double lo, double hi, bool lo_open,
                         float *dst, api_error *e)
{
    double d;
    if (!codec_number(f, path, &d, e))
        return false;
    float v = (float)d;
    if (lo_open ? v > lo && v < hi : v >= lo && v < hi) {
        *dst = v;
        return true;
    }
    if (lo_open && lo == 0)
        return api_fail(e, 400, path, "%s must be a positive number below %g as a 32-bit float, got %.10g",
                        path, hi, d);
    return api_fail(e, 400, path, "%s must be %s %g and below %g as a 32-bit float, got %.10g", path,
                    lo_open ? "above" : "at least", lo, hi, d);
}

bool codec_read_optimizer(const cJSON *root, sn_optimizer *opt, api_error *e)
{
    const cJSON *o = GET(root, "optimizer"), *lr = GET(root, "learning_rate");
    const cJSON *type = cJSON_IsObject(o) ? GET(o, "type") : o;
    int t = SN_OPT_SGD;
    if (o && !cJSON_IsString(o) && !cJSON_IsObject(o))
        return api_fail(e, 400, "optimizer", "optimizer must be \"sgd\", \"momentum\", \"adam\" or an object with a type");
    if (type && (t = codec_enum(type, cJSON_IsObject(o) ? "optimizer.type" : "optimizer",
                                sn_optimizer_from_name, "sgd, momentum, adam", e)) < 0)
        return false;
    *opt = sn_optimizer_default((sn_optimizer_type)t);
    if (cJSON_IsObject(o)) {
        static const char *const known[] = {"type", "learning_rate", "momentum", "beta1", "beta2", "epsilon", NULL};
        if (!codec_known_fields(o, "optimizer.", known, e))
            return false;
        struct { const char *name; float *dst; double lo, hi; bool lo_open; } fields[] = {
            {"learning_rate", &opt->learning_rate, 0, LEARNING_RATE_MAX, true},
            {"momentum", &opt->momentum, 0, 1, false},
            {"beta1", &opt->beta1, 0, 1, false},
            {"beta2", &opt->beta2, 0, 1, false},
            {"epsilon", &opt->epsilon, 0, 1, true},
        };
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const cJSON *f = GET(o, fields[i].name);
            char path[64];
            snprintf(path, sizeof path, "optimizer.%s", fields[i].name);
            if (f && !read_bounded(f, path, fields[i].lo, fields[i].hi, fields[i].lo_open, fields[i].dst, e))
                return false;
        }
    }
    return !lr || read_bounded(lr, "learning_rate", 0, LEARNING_RATE_MAX, true, &opt->learning_rate, e);
}

static bool read_seed(const cJSON *s, uint64_t *seed, api_error *e)
{
    if (cJSON_IsNumber(s)) {
        double d = s->valuedouble;
        if (!isfinite(d) || d < 0 || d != floor(d) || d > SEED_EXACT_MAX)
            return api_fail(e, 400, "seed", "seed must be an integer from 0 to 2^53 (or a decimal string up to 2^64-1)");
        *seed = (uint64_t)d;
        return true;
    }
    if (cJSON_IsString(s) && s->valuestring[0] && strspn(s->valuestring, "0123456789") == strlen(s->valuestring) &&
        strlen(s->valuestring) <= 20) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s->valuestring, &end, 10);
        if (*end == 0 && errno == 0) {
            *seed = v;
            return true;
        }
    }
    return api_fail(e, 400, "seed", "seed must be an integer from 0 to 2^53 (or a decimal string up to 2^64-1)");
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Targets as class labels: distinct strings, sorted, become classes 0..k-1. */
static bool read_label_targets(const cJSON *t, train_request *r, int64_t *idx, api_error *e)
{
    size_t n = r->rows;
    const char **all = malloc(n * sizeof *all);
    if (!all)
        return api_fail(e, 503, "targets", "out of memory");
    size_t i = 0;
    for (const cJSON *v = t->child; v; v = v->next, i++) {
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            char field[48];
            snprintf(field, sizeof field, "targets[%zu]", i);
            free(all);
            return api_fail(e, 400, field, "%s must be a class label (a non-empty string) like the other targets", field);
        }
        all[i] = v->valuestring;
    }
    const char **sorted = malloc(n * sizeof *sorted);
    if (!sorted) {
        free(all);
        return api_fail(e, 503, "targets", "out of memory");
    }
    memcpy(sorted, all, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_strings);
    size_t k = 0;
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(sorted[i], sorted[k - 1]) != 0)
            sorted[k++] = sorted[i];
    int outputs = r->arch.sizes[r->arch.n_layers - 1];
    bool ok = true;
    if (k > (size_t)outputs)
        ok = api_fail(e, 400, "targets", "targets name %zu classes but the output layer has %d units", k, outputs);
    r->labels.names = ok ? calloc(k, sizeof(char *)) : NULL;
    if (ok && !r->labels.names)
        ok = api_fail(e, 503, "targets", "out of memory");
    for (i = 0; ok && i < k; i++) {
        if (!(r->labels.names[i] = strdup(sorted[i])))
            ok = api_fail(e, 503, "targets", "out of memory");
        r->labels.count = i + 1;
    }
    for (i = 0; ok && i < n; i++) {
        const char **hit = bsearch(&all[i], sorted, k, sizeof *sorted, compare_strings);
        idx[i] = hit - sorted;
    }
    free(all);
    free(sorted);
    return ok;
}

static bool read_targets(const cJSON *t, train_request *r, api_error *e)
{
    int outputs = r->arch.sizes[r->arch.n_layers - 1];
    if (!cJSON_IsArray(t) || cJSON_GetArraySize(t) == 0)
        return api_fail(e, 400, "targets", "targets must be a non-empty array: one row (or class) per input row");
    if ((size_t)cJSON_GetArraySize(t) != r->rows)
        return api_fail(e, 400, "targets", "targets has %d rows but inputs has %zu", cJSON_GetArraySize(t), r->rows);
    bool ce = r->arch.loss == SN_LOSS_CROSSENTROPY;
    if (cJSON_IsArray(t->child)) {
        float *y;
        size_t rows, width;
        bool single;
        if (!codec_read_matrix(t, "targets", &y, &rows, &width, &single, e))
            return false;
        r->targets = y;
        if (width != (size_t)outputs)
            return api_fail(e, 400, "targets[0]", "targets rows have %zu values but the output layer has %d units", width, outputs);
        return true;
    }
    if (cJSON_IsNumber(t->child) && !ce) {
        if (outputs != 1)
            return api_fail(e, 400, "targets", "targets must be rows of %d values (one per output unit)", outputs);
        float *y;
        size_t rows, width;
        bool single;
        if (!codec_read_matrix(t, "targets", &y, &rows, &width, &single, e))
            return false;
        r->targets = y; /* one flat row of n values is n rows of one value */
        return true;
    }
    if (!ce)
        return api_fail(e, 400, "targets", "class indices or labels as targets need loss crossentropy; give rows of numbers otherwise");
    int64_t *idx = malloc(r->rows * sizeof *idx);
    if (!idx)
        return api_fail(e, 503, "targets", "out of memory");
    bool ok = true;
    r->class_targets = true;
    if (cJSON_IsString(t->child)) {
        ok = read_label_targets(t, r, idx, e);
    } else {
        size_t i = 0;
        for (const cJSON *v = t->child; ok && v; v = v->next, i++) {
            char field[48];
            snprintf(field, sizeof field, "targets[%zu]", i);
            ok = codec_integer(v, field, 0, outputs - 1, &idx[i], e);
        }
    }
    if (ok && !codec_one_hot(idx, r->rows, outputs, &r->targets))
        ok = api_fail(e, 503, "targets", "out of memory");
    free(idx);
    return ok;
}

static bool read_data(const cJSON *root, train_request *r, api_error *e)
{
    const cJSON *inputs = GET(root, "inputs"), *targets = GET(root, "targets");
    const cJSON *dataset = GET(root, "dataset"), *target = GET(root, "target");
    const cJSON *vds = GET(root, "validation_dataset");
    if (dataset && (inputs || targets))
        return api_fail(e, 400, "dataset", "give either dataset or inputs and targets, not both");
    if (dataset) {
        if (!codec_name(dataset, "dataset", r->dataset, e))
            return false;
        if (target) {
            if (!cJSON_IsString(target) || !target->valuestring[0] || strlen(target->valuestring) >= sizeof r->target)
                return api_fail(e, 400, "target", "target must name the dataset's target column(s)");
            text_copy(r->target, sizeof r->target, target->valuestring);
        }
    } else {
        if (target)
            return api_fail(e, 400, "target", "target goes with dataset");
        if (!inputs)
            return api_fail(e, 400, "inputs", "inputs is required (rows of numbers), or name a dataset");
        if (!targets)
            return api_fail(e, 400, "targets", "targets is required: one row (or class) per input row");
        size_t width;
        bool single;
        if (!codec_read_matrix(inputs, "inputs", &r->inputs, &r->rows, &width, &single, e))
            return false;
        if (single) { /* [1, 2, 3] as inputs is ambiguous for training: ask for rows */
            return api_fail(e, 400, "inputs", "inputs must be an array of rows, e.g. [[-2, -1], [25, 6]]");
        }
        if (width != (size_t)r->arch.sizes[0])
            return api_fail(e, 400, "inputs[0]", "inputs rows have %zu values but layers[0] is %d", width, r->arch.sizes[0]);
        if (!read_targets(targets, r, e))
            return false;
    }
    if (vds && !codec_name(vds, "validation_dataset", r->validation_dataset, e))
        return false;
    return true;
}

bool codec_train_request(const char *body, size_t len, uint64_t seed_default, train_request *out,
                         api_error *e)
{
    static const char *const known[] = {
        "model", "layers", "activation", "output_activation", "loss", "optimizer", "learning_rate",
        "epochs", "batch_size", "shuffle", "seed", "init", "normalize", "inputs", "targets",
        "dataset", "target", "validation_split", "validation_dataset", "early_stopping", NULL};
    memset(out, 0, sizeof *out);
    out->train = sn_train_config_default();
    out->seed = seed_default;
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    bool ok = codec_known_fields(root, "", known, e);
    const cJSON *v;
    int64_t n;
    if (ok && !(v = GET(root, "model")))
        ok = api_fail(e, 400, "model", "model is required: the name to train under");
    else if (ok)
        ok = codec_name(v, "model", out->model, e);
    ok = ok && codec_architecture(root, &out->arch, e);
    ok = ok && codec_read_optimizer(root, &out->train.optimizer, e);
    if (ok && (v = GET(root, "epochs")) && (ok = codec_integer(v, "epochs", 1, MAX_EPOCHS, &n, e)))
        out->train.epochs = (int)n;
    if (ok && (v = GET(root, "batch_size")) && (ok = codec_integer(v, "batch_size", 1, 1 << 20, &n, e)))
        out->train.batch_size = (int)n;
    bool shuffle = true;
    if (ok && (v = GET(root, "shuffle")))
        ok = codec_bool(v, "shuffle", &shuffle, e);
    out->train.shuffle = shuffle;
    if (ok && (v = GET(root, "seed")))
        ok = read_seed(v, &out->seed, e);
    out->train.seed = out->seed;
    int k;
    if (ok && (v = GET(root, "init")) &&
        (ok = (k = codec_enum(v, "init", sn_init_from_name, "normal, xavier, he, auto", e)) >= 0))
        out->init = (sn_init)k;
    if (ok && (v = GET(root, "normalize")) &&
        (ok = (k = codec_enum(v, "normalize", sn_norm_from_name, "none, standard, minmax", e)) >= 0))
        out->normalize = (sn_norm)k;
    if (ok && (v = GET(root, "validation_split"))) {
        ok = codec_number(v, "validation_split", &out->validation_split, e);
        if (ok && !(out->validation_split >= 0 && out->validation_split < 1))
            ok = api_fail(e, 400, "validation_split", "validation_split must be at least 0 and below 1");
    }
    if (ok && (v = GET(root, "early_stopping"))) {
        static const char *const es_known[] = {"patience", "min_delta", NULL};
        const cJSON *p = cJSON_IsObject(v) ? GET(v, "patience") : NULL, *d = cJSON_IsObject(v) ? GET(v, "min_delta") : NULL;
        if (!cJSON_IsObject(v))
            ok = api_fail(e, 400, "early_stopping", "early_stopping must be an object {\"patience\": n, \"min_delta\": x}");
        ok = ok && codec_known_fields(v, "early_stopping.", es_known, e);
        if (ok && !p)
            ok = api_fail(e, 400, "early_stopping.patience", "early_stopping.patience is required");
        if (ok && (ok = codec_integer(p, "early_stopping.patience", 1, MAX_EPOCHS, &n, e)))
            out->train.patience = (int)n;
        if (ok && d && (ok = codec_number(d, "early_stopping.min_delta", &out->train.min_delta, e)) &&
            out->train.min_delta < 0)
            ok = api_fail(e, 400, "early_stopping.min_delta", "early_stopping.min_delta must not be negative");
    }
    ok = ok && read_data(root, out, e);
    if (ok && out->train.patience && out->validation_split == 0 && !out->validation_dataset[0])
        ok = api_fail(e, 400, "early_stopping", "early_stopping needs validation_split or validation_dataset");
    if (ok && out->validation_split > 0 && out->validation_dataset[0])
        ok = api_fail(e, 400, "validation_split", "give validation_split or validation_dataset, not both");
    cJSON_Delete(root);
    if (!ok)
        train_request_free(out);
    return ok;
}

void train_request_free(train_request *r)
{
    free(r->inputs);
    free(r->targets);
    r->inputs = r->targets = NULL;
    label_set_free(&r->labels);
}

void codec_add_optimizer(cJSON *obj, const sn_optimizer *o)
{
    cJSON *opt = cJSON_AddObjectToObject(obj, "optimizer");
    cJSON_AddStringToObject(opt, "type", sn_optimizer_name(o->type));
    cJSON_AddItemToObject(opt, "learning_rate", codec_float(o->learning_rate));
    if (o->type == SN_OPT_MOMENTUM)
        cJSON_AddItemToObject(opt, "momentum", codec_float(o->momentum));
    if (o->type == SN_OPT_ADAM) {
        cJSON_AddItemToObject(opt, "beta1", codec_float(o->beta1));
        cJSON_AddItemToObject(opt, "beta2", codec_float(o->beta2));
        cJSON_AddItemToObject(opt, "epsilon", codec_float(o->epsilon));
    }
}

void codec_add_labels(cJSON *obj, const label_set *labels)
{
    if (!labels->count) {
        cJSON_AddNullToObject(obj, "labels");
        return;
    }
    cJSON *arr = cJSON_AddArrayToObject(obj, "labels");
    for (size_t i = 0; i < labels->count; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(labels->names[i]));
}

char *codec_spec_text(const train_request *r, size_t rows)
{
    cJSON *s = cJSON_CreateObject();
    codec_add_architecture(s, &r->arch);
    codec_add_optimizer(s, &r->train.optimizer);
    cJSON_AddNumberToObject(s, "epochs", r->train.epochs);
    cJSON_AddNumberToObject(s, "batch_size", r->train.batch_size);
    cJSON_AddBoolToObject(s, "shuffle", r->train.shuffle);
    if ((double)r->seed <= SEED_EXACT_MAX) {
        cJSON_AddNumberToObject(s, "seed", (double)r->seed);
    } else {
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->seed);
        cJSON_AddStringToObject(s, "seed", buf);
    }
    cJSON_AddStringToObject(s, "init", sn_init_name(r->init));
    cJSON_AddStringToObject(s, "normalize", sn_norm_name(r->normalize));
    if (r->validation_split > 0)
        cJSON_AddNumberToObject(s, "validation_split", r->validation_split);
    if (r->validation_dataset[0])
        cJSON_AddStringToObject(s, "validation_dataset", r->validation_dataset);
    if (r->train.patience) {
        cJSON *es = cJSON_AddObjectToObject(s, "early_stopping");
        cJSON_AddNumberToObject(es, "patience", r->train.patience);
        cJSON_AddNumberToObject(es, "min_delta", r->train.min_delta);
    }
    if (r->dataset[0]) {
        cJSON_AddStringToObject(s, "dataset", r->dataset);
        if (r->target[0])
            cJSON_AddStringToObject(s, "target", r->target);
    }
    cJSON_AddNumberToObject(s, "rows", (double)rows);
    codec_add_labels(s, &r->labels);
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return text;
}

bool codec_read_labels(const cJSON *labels, label_set *out)
{
    memset(out, 0, sizeof *out);
    bool ok = true;
    if (cJSON_IsArray(labels) && cJSON_GetArraySize(labels) > 0) {
        out->names = calloc((size_t)cJSON_GetArraySize(labels), sizeof(char *));
        ok = out->names != NULL;
        for (const cJSON *l = labels->child; ok && l; l = l->next) {
            ok = cJSON_IsString(l) && (out->names[out->count] = strdup(l->valuestring)) != NULL;
            out->count += ok;
        }
    }
    if (!ok)
        label_set_free(out);
    return ok;
}

bool codec_spec_labels(const char *spec_text, label_set *out)
{
    cJSON *s = spec_text ? cJSON_Parse(spec_text) : NULL;
    bool ok = codec_read_labels(s ? GET(s, "labels") : NULL, out);
    cJSON_Delete(s);
    return ok;
}

bool codec_labels_text(const char *json_array, label_set *out)
{
    cJSON *a = json_array ? cJSON_Parse(json_array) : NULL;
    bool ok = codec_read_labels(a, out);
    cJSON_Delete(a);
    return ok;
}

sn_optimizer codec_spec_optimizer(const char *spec_text)
{
    cJSON *s = spec_text ? cJSON_Parse(spec_text) : NULL;
    sn_optimizer o = sn_optimizer_default(SN_OPT_SGD);
    api_error ignored;
    if (s && GET(s, "optimizer"))
        codec_read_optimizer(s, &o, &ignored); /* a spec we wrote: valid, or left at the seed's */
    cJSON_Delete(s);
    return o;
}
