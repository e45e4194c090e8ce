/*
 * codec.h — JSON ⇄ core structs: the one module that reads and writes the
 * API's JSON bodies (with cJSON). Every decoder validates every field and, on
 * a bad one, fills an api_error naming it by its JSON path ("layers[1]",
 * "optimizer.learning_rate", "inputs[3][0]") with a sentence a person can
 * act on. Encoders return cJSON trees owned by the caller (cJSON_Delete).
 *
 * Floats are written with the fewest digits that read back to the same
 * float32 (codec_float).
 */
#ifndef SCRATCHNET_CODEC_H
#define SCRATCHNET_CODEC_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scratchnet.h"
#include "store.h"

#define API_FIELD_MAX 128

/* A problem for a 4xx answer: HTTP status, the field at fault ("" if none). */
typedef struct {
    int status;
    char field[API_FIELD_MAX];
    char detail[512];
} api_error;

/* Fills e (status, field or NULL, sentence) and returns false, so decoders
 * can `return api_fail(...)`. */
bool api_fail(api_error *e, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- numbers ---- */
/* A cJSON number holding f with the fewest digits that read back to f. */
cJSON *codec_float(float f);
/* The same for doubles that are float32 values at heart (losses): NaN → null. */
cJSON *codec_loss(double d);
/* n floats as an array. */
cJSON *codec_floats(const float *x, size_t n);
/* A rows × cols float matrix as an array of arrays. */
cJSON *codec_matrix(const float *x, size_t rows, size_t cols);

/* ---- class labels ---- */
typedef struct {
    char **names; /* sorted, distinct; owned */
    size_t count;
} label_set;
void label_set_free(label_set *l);

/* ---- the training request (POST /train) ---- */
typedef struct {
    char model[STORE_NAME_MAX + 1];
    sn_arch arch;
    sn_train_config train;  /* optimizer, epochs, batch size, shuffle, seed, early stopping */
    sn_init init;
    sn_norm normalize;
    uint64_t seed;
    double validation_split;            /* 0 = none */
    char dataset[STORE_NAME_MAX + 1];   /* "" = inline data */
    char target[1024];                  /* target column(s) of the dataset, comma-separated */
    char validation_dataset[STORE_NAME_MAX + 1];
    /* Inline data, owned (NULL when a dataset is named). */
    float *inputs, *targets;            /* rows × inputs, rows × outputs */
    size_t rows;
    label_set labels;                   /* from string class targets */
    bool class_targets;                 /* targets were class indices or labels */
} train_request;

/* Parses and validates a /train body into *out (zeroed first; on failure
 * nothing is left to free). seed_default is used when no seed is given. */
bool codec_train_request(const char *body, size_t len, uint64_t seed_default, train_request *out,
                         api_error *e);
void train_request_free(train_request *r);

/* The settings of a request as stored with the job and the version (no
 * data): layers, activation list, output_activation, loss, optimizer,
 * epochs, batch_size, shuffle, seed, init, normalize, validation, early
 * stopping, data source, labels. Caller frees the text with free(). */
char *codec_spec_text(const train_request *r, size_t rows);

/* Builds one-hot targets for class indices (idx[r] < outputs). */
bool codec_one_hot(const int64_t *idx, size_t rows, int outputs, float **out);

/* ---- versions ---- */
/* GET /model/{name}/versions/{v}: the stored spec, summary, normalisation,
 * and parameters read from net. */
cJSON *codec_version(const store_version *v, const sn_net *net);
/* A parameter-shaped block (net's layout) as [{"W": [[…]], "b": […]}, …]. */
cJSON *codec_parameters(const sn_net *net, const float *block);
/* A version's summary as listed under a model. */
cJSON *codec_version_summary(const store_version_summary *s);

/* POST /model/{name}/versions: the same JSON GET gives, as an import. */
typedef struct {
    sn_net *net;        /* owned */
    char *spec_text;    /* owned: the spec to store */
    int64_t epochs_run, rows, duration_ms;
    double loss, val_loss;
} version_import;
bool codec_version_import(const char *body, size_t len, version_import *out, api_error *e);
void version_import_free(version_import *v);

/* Labels kept in a spec (NULL-safe; empty when none). */
bool codec_spec_labels(const char *spec_text, label_set *out);
/* Labels from a JSON array of strings (a dataset's). */
bool codec_labels_text(const char *json_array, label_set *out);
/* The optimizer kept in a spec (the seed's sgd 0.1 when absent). */
sn_optimizer codec_spec_optimizer(const char *spec_text);

/* ---- models, aliases, jobs ---- */
cJSON *codec_model_info(const store_model_info *m);
cJSON *codec_model(const store_model *m, const store_alias *aliases, size_t n_aliases);
cJSON *codec_alias(const store_alias *a);
/* A job; live values (epoch, loss) override the stored ones when given. */
cJSON *codec_job(const store_job *j);
/* One SSE epoch event's data. */
char *codec_epoch_event(int64_t epoch, double loss, double val_loss);

/* ---- prediction ---- */
typedef struct {
    char model[STORE_NAME_MAX + 1];
    char version[STORE_NAME_MAX + 1];  /* "" = latest; digits or an alias */
    float *inputs;                     /* owned, rows × width */
    size_t rows, width;
    bool single;                       /* one row given as a flat array */
    bool tf_style;                     /* {"instances": …} → {"predictions": …} */
} predict_request;

/* Parses a /predict body. model_from_path (may be NULL) supplies the model
 * for TF-Serving routes, where the body has none. */
bool codec_predict_request(const char *body, size_t len, const char *model_from_path,
                           predict_request *out, api_error *e);
void predict_request_free(predict_request *r);
/* Parses a rows × width matrix (or one flat row) at `field`. */
bool codec_read_matrix(const cJSON *item, const char *field, float **out, size_t *rows,
                       size_t *width, bool *single, api_error *e);

/* ---- the calculation of one step (/explain) ---- */
typedef struct {
    char model[STORE_NAME_MAX + 1];
    char version[STORE_NAME_MAX + 1]; /* "" = latest */
    float *inputs;                    /* owned, one row */
    size_t width;
    float *targets;                   /* owned: a row of numbers, or NULL */
    size_t n_targets;
    bool target_is_number;            /* a single number: a value or a class index */
    double target_number;
    char *target_label;               /* owned: a class label, or NULL */
} explain_request;

bool codec_explain_request(const char *body, size_t len, explain_request *out, api_error *e);
void explain_request_free(explain_request *r);
/* The whole calculation; y is the target row used, raw_x the sample as sent. */
cJSON *codec_explanation(const char *model, int64_t version, const sn_net *net,
                         const sn_optimizer *opt, const float *raw_x, const float *y,
                         const sn_explain *ex);

#endif
