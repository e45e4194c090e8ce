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

#include "csv.h"
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

/* The server's limits on what one job may cost (--max-params, --max-work);
 * 0 leaves that one unlimited. */
typedef struct {
    uint64_t max_params; /* parameters (every W and b) of the network */
    uint64_t max_work;   /* epochs × training rows (a validation split counted in) */
} train_limits;

/* Checks a decoded request against lim, with rows the training rows (the
 * request's own, or its dataset's). Fails with 422 naming the limit's flag:
 * field "layers" for the parameter count, "epochs" for the work. */
bool codec_train_limits(const train_request *r, uint64_t rows, const train_limits *lim,
                        api_error *e);

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
/* PUT /model/{name}/aliases/{alias}: {"version": 3} (or an alias, or
 * "latest") into ref. */
bool codec_alias_request(const char *body, size_t len, char ref[STORE_NAME_MAX + 1], api_error *e);
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
 * for TF-Serving routes, where the body has none. The quick reader first,
 * then, for whatever it declines, the full one. */
bool codec_predict_request(const char *body, size_t len, const char *model_from_path,
                           predict_request *out, api_error *e);
/* The quick reader (codec_predict_quick.c): the usual shapes of body read
 * without a cJSON tree; false, with nothing kept, for anything else. */
bool codec_predict_quick(const char *body, size_t len, const char *model_from_path,
                         predict_request *out);
/* The full reader, through cJSON: every body, every error named. */
bool codec_predict_tree(const char *body, size_t len, const char *model_from_path,
                        predict_request *out, api_error *e);
void predict_request_free(predict_request *r);

/* The index of a row's largest value (the first of equals): its class. */
size_t row_argmax(const float *row, size_t n);

/* What /predict answers. */
typedef struct {
    const char *model;       /* NULL: no "model" and "version" (TF Serving routes) */
    int64_t version;
    const float *y;          /* rows × outs */
    size_t rows, outs;
    bool single;             /* one row asked as a flat array: answered flat too */
    bool tf_style;           /* "predictions" instead of "outputs" */
    bool classes;            /* "labels": each row's most likely class */
    const label_set *labels; /* the classes' names (else their indices); may be NULL */
} predict_answer;
/* The answer as compact JSON text (malloc'd, length in *len); NULL when
 * memory ran out. */
char *codec_predict_answer(const predict_answer *a, size_t *len);
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

/* A version reference ("version": 3, "production", "latest", null/absent
 * → "") into out; false with e filled otherwise. */
bool codec_version_ref(const cJSON *version, char out[STORE_NAME_MAX + 1], api_error *e);

/* ---- datasets (codec_dataset.c) ---- */
/* POST /dataset with JSON {"name", "inputs", "targets", "target_type"}:
 * inputs as rows; targets as rows of numbers, one number per row, or one
 * label per row (strings; numbers too with target_type "label"), labels
 * sorted as the CSV reader sorts them. Fills name and *out (free with
 * csv_dataset_free; nothing to free on failure). */
bool codec_dataset_upload(const char *body, size_t len, char name[STORE_NAME_MAX + 1],
                          csv_dataset *out, api_error *e);
/* names as a JSON array's text (caller frees); NULL when out of memory. */
char *codec_names_text(char *const *names, size_t n);
/* A dataset's description: name, rows, inputs, targets, input_columns,
 * target_columns, labels (or null), created_at. */
cJSON *codec_dataset(const store_dataset *d);
/* {"datasets": [...]} */
cJSON *codec_dataset_list(const store_dataset *d, size_t n);
/* Keeps the target columns named in target ("a" or "a,b"; NULL or "": all)
 * in that order: n_targets, and targets when loaded, change in place. A
 * name that is not a target column is a 400 on field "target" (targets are
 * chosen at upload). On failure d is unchanged. */
bool codec_dataset_pick_targets(store_dataset *d, const char *target, api_error *e);
/* A labelled dataset's class indices (targets, loaded) renumbered to want's
 * labels by name, so that a dataset with fewer or other classes scores
 * against a model's. No-op without labels on either side. A class the model
 * lacks is a 400 on field "dataset". On failure targets may be half done. */
bool codec_dataset_renumber(store_dataset *d, const label_set *want, api_error *e);

/* ---- evaluation (POST /evaluate) ---- */
typedef struct {
    char model[STORE_NAME_MAX + 1];
    char version[STORE_NAME_MAX + 1];  /* "" = latest */
    char dataset[STORE_NAME_MAX + 1];  /* "" = inline rows */
    char target[1024];                 /* the dataset's target column(s), or "" */
    float *inputs;                     /* inline rows × width, owned */
    size_t rows, width;
    cJSON *root;                       /* owned: targets are read once the model is known */
} evaluate_request;
/* Parses a /evaluate body (targets are only counted here). */
bool codec_evaluate_request(const char *body, size_t len, evaluate_request *out, api_error *e);
/* The inline targets as rows × outputs floats (*y, caller frees): rows of
 * numbers; a number per row for one output; for crossentropy a class index
 * or one of labels' names per row (one-hot). */
bool codec_evaluate_targets(const evaluate_request *r, const sn_arch *arch, const label_set *labels,
                            float **y, api_error *e);
void evaluate_request_free(evaluate_request *r);

/* The scores /evaluate answers. */
typedef struct {
    const char *model;
    int64_t version;
    size_t rows;
    double loss;
    bool classifier;          /* accuracy, confusion and labels; else rmse and mae */
    double accuracy;
    const int64_t *confusion; /* classes × classes: [true][predicted] */
    size_t classes;
    const label_set *labels;  /* may be empty */
    double rmse, mae;
} evaluation;
cJSON *codec_evaluation(const evaluation *ev);

#endif
