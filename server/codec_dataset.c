/*
 * codec_dataset.c — the JSON side of datasets and /evaluate: JSON dataset
 * uploads read into the same csv_dataset the CSV reader fills, datasets and
 * evaluations written out, a stored dataset's target columns chosen by name
 * and its classes renumbered to a model's labels, and the /evaluate request
 * with its targets read once the model is known.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"
#include "text.h"

#define GET(obj, name) cJSON_GetObjectItemCaseSensitive(obj, name)

/* ================================================================ uploads */

/* "x1", "x2", … as owned names. */
static char **numbered_names(const char *prefix, size_t n)
{
    char **names = calloc(n, sizeof *names);
    for (size_t i = 0; names && i < n; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s%zu", prefix, i + 1);
        if (!(names[i] = strdup(buf))) {
            for (size_t k = 0; k < i; k++)
                free(names[k]);
            free(names);
            return NULL;
        }
    }
    return names;
}

/* The shortest text that reads back to d ("3", "0.5"): a number as a label. */
static void number_text(double d, char buf[32])
{
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

/* Targets that are class labels (strings, or numbers with target_type
 * label): interned, sorted like the CSV reader's, one class index per row. */
static bool read_label_column(const cJSON *t, csv_dataset *out, api_error *e)
{
    csv_labels *table = csv_labels_create();
    uint32_t *first = malloc(out->rows * sizeof *first);
    bool ok = table && first && (out->targets = malloc(out->rows * sizeof(float)));
    if (!ok)
        api_fail(e, 503, "targets", "out of memory");
    size_t i = 0;
    for (const cJSON *v = t->child; ok && v; v = v->next, i++) {
        char field[48], num[32];
        snprintf(field, sizeof field, "targets[%zu]", i);
        const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
            number_text(v->valuedouble, num), s = num;
        if (!s || !s[0]) {
            ok = api_fail(e, 400, field, "%s must be a class label (a non-empty string) like targets[0]", field);
            break;
        }
        int64_t k = csv_labels_intern(table, s, strlen(s));
        if (k == -2)
            ok = api_fail(e, 400, field, "targets name more than %d classes", CSV_MAX_CLASSES);
        else if (k < 0)
            ok = api_fail(e, 503, "targets", "out of memory");
        else
            first[i] = (uint32_t)k;
    }
    uint32_t *remap = NULL;
    if (ok && !csv_labels_sort(table, &out->labels, &out->n_labels, &remap))
        ok = api_fail(e, 503, "targets", "out of memory");
    for (i = 0; ok && i < out->rows; i++)
        out->targets[i] = (float)remap[first[i]];
    out->n_targets = 1;
    free(remap);
    free(first);
    csv_labels_free(table);
    return ok;
}

bool codec_dataset_upload(const char *body, size_t len, char name[STORE_NAME_MAX + 1],
                          csv_dataset *out, api_error *e)
{
    static const char *const known[] = {"name", "inputs", "targets", "target_type", NULL};
    memset(out, 0, sizeof *out);
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    const cJSON *n = GET(root, "name"), *x = GET(root, "inputs"), *t = GET(root, "targets");
    const cJSON *type = GET(root, "target_type");
    bool ok = codec_known_fields(root, "", known, e);
    int kind = CSV_TARGET_AUTO;
    if (ok && !n)
        ok = api_fail(e, 400, "name", "name is required: the dataset's name");
    ok = ok && codec_name(n, "name", name, e);
    if (ok && type && (!cJSON_IsString(type) || (kind = csv_target_type_from_name(type->valuestring)) < 0))
        ok = api_fail(e, 400, "target_type", "target_type must be one of auto, numeric, label");
    if (ok && !x)
        ok = api_fail(e, 400, "inputs", "inputs is required: an array of rows of numbers");
    if (ok && !t)
        ok = api_fail(e, 400, "targets", "targets is required: one row, number or label per input row");
    bool single = false;
    if (ok)
        ok = codec_read_matrix(x, "inputs", &out->inputs, &out->rows, &out->n_inputs, &single, e);
    if (ok && single)
        ok = api_fail(e, 400, "inputs", "inputs must be an array of rows, e.g. [[-2, -1], [25, 6]]");
    if (ok && (!cJSON_IsArray(t) || (size_t)cJSON_GetArraySize(t) != out->rows))
        ok = api_fail(e, 400, "targets", "targets must be an array with one entry per row of inputs (%zu)", out->rows);
    if (ok) {
        const cJSON *t0 = t->child;
        bool labels = cJSON_IsString(t0) || (kind == CSV_TARGET_LABEL && cJSON_IsNumber(t0));
        if (labels && kind == CSV_TARGET_NUMERIC)
            ok = api_fail(e, 400, "targets[0]", "targets[0] must be a number (target_type numeric)");
        else if (labels)
            ok = read_label_column(t, out, e);
        else if (cJSON_IsArray(t0) && kind == CSV_TARGET_LABEL)
            ok = api_fail(e, 400, "target_type", "class labels need one label per row, not rows of numbers");
        else if (cJSON_IsArray(t0)) {
            size_t rows;
            ok = codec_read_matrix(t, "targets", &out->targets, &rows, &out->n_targets, &single, e);
        } else {
            size_t rows; /* a flat list of numbers: one numeric target column */
            ok = codec_read_matrix(t, "targets", &out->targets, &rows, &out->n_targets, &single, e);
            out->n_targets = 1;
        }
    }
    if (ok && (!(out->input_names = numbered_names("x", out->n_inputs)) ||
               !(out->target_names = numbered_names("y", out->n_targets))))
        ok = api_fail(e, 503, NULL, "out of memory");
    cJSON_Delete(root);
    if (!ok)
        csv_dataset_free(out);
    return ok;
}

char *codec_names_text(char *const *names, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        if (!cJSON_AddItemToArray(a, cJSON_CreateString(names[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

/* =============================================================== encoders */

/* A stored JSON array of strings, parsed back; null when absent or damaged. */
static cJSON *stored_array(const char *text)
{
    cJSON *a = text ? cJSON_Parse(text) : NULL;
    if (cJSON_IsArray(a))
        return a;
    cJSON_Delete(a);
    return cJSON_CreateNull();
}

cJSON *codec_dataset(const store_dataset *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", d->name);
    cJSON_AddNumberToObject(o, "rows", (double)d->rows);
    cJSON_AddNumberToObject(o, "inputs", (double)d->n_inputs);
    cJSON_AddNumberToObject(o, "targets", (double)d->n_targets);
    cJSON_AddItemToObject(o, "input_columns", stored_array(d->columns_json));
    cJSON_AddItemToObject(o, "target_columns", stored_array(d->targets_json));
    cJSON_AddItemToObject(o, "labels", stored_array(d->labels_json));
    cJSON_AddStringToObject(o, "created_at", d->created_at);
    return o;
}

cJSON *codec_dataset_list(const store_dataset *d, size_t n)
{
    cJSON *o = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(o, "datasets");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(list, codec_dataset(&d[i]));
    return o;
}

cJSON *codec_evaluation(const evaluation *ev)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", ev->model);
    cJSON_AddNumberToObject(o, "version", (double)ev->version);
    cJSON_AddNumberToObject(o, "rows", (double)ev->rows);
    cJSON_AddItemToObject(o, "loss", codec_loss(ev->loss));
    if (ev->classifier) {
        cJSON_AddItemToObject(o, "accuracy", codec_loss(ev->accuracy));
        cJSON *m = cJSON_AddArrayToObject(o, "confusion_matrix");
        for (size_t i = 0; i < ev->classes; i++) {
            cJSON *row = cJSON_CreateArray();
            for (size_t j = 0; j < ev->classes; j++)
                cJSON_AddItemToArray(row, cJSON_CreateNumber((double)ev->confusion[i * ev->classes + j]));
            cJSON_AddItemToArray(m, row);
        }
        codec_add_labels(o, ev->labels);
    } else {
        cJSON_AddItemToObject(o, "rmse", codec_loss(ev->rmse));
        cJSON_AddItemToObject(o, "mae", codec_loss(ev->mae));
    }
    return o;
}

/* ======================================================= stored datasets */

bool codec_dataset_pick_targets(store_dataset *d, const char *target, api_error *e)
{
    if (!target || !target[0])
        return true;
    label_set have = {0}; /* the stored target names */
    if (!codec_labels_text(d->targets_json, &have))
        return api_fail(e, 503, "target", "out of memory");
    size_t n = 0, *cols = malloc((have.count + 1) * sizeof *cols);
    char *list = strdup(target);
    bool ok = cols && list;
    if (!ok)
        api_fail(e, 503, "target", "out of memory");
    for (char *name = list, *next; ok && name; name = next) {
        if ((next = strchr(name, ',')))
            *next++ = '\0';
        while (*name == ' ')
            name++;
        for (size_t len = strlen(name); len && name[len - 1] == ' ';)
            name[--len] = '\0';
        size_t c = 0;
        while (c < have.count && strcmp(have.names[c], name) != 0)
            c++;
        label_set inputs = {0};
        bool is_input = false;
        if (c == have.count && codec_labels_text(d->columns_json, &inputs))
            for (size_t i = 0; i < inputs.count && !is_input; i++)
                is_input = strcmp(inputs.names[i], name) == 0;
        label_set_free(&inputs);
        char names[256] = "";
        for (size_t i = 0; i < have.count && strlen(names) + 40 < sizeof names; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", have.names[i]);
        if (c == have.count && is_input)
            ok = api_fail(e, 400, "target",
                          "\"%s\" is an input column of dataset %s; its target columns (%s) were chosen at upload (?target=)",
                          name, d->name, names);
        else if (c == have.count)
            ok = api_fail(e, 400, "target", "dataset %s has no target column \"%s\" (its targets: %s)",
                          d->name, name, names);
        else {
            for (size_t k = 0; k < n && ok; k++)
                if (cols[k] == c)
                    ok = api_fail(e, 400, "target", "target names column \"%s\" twice", name);
            if (ok)
                cols[n++] = c;
        }
    }
    free(list);
    label_set_free(&have);
    if (ok && d->targets) { /* keep only the chosen columns, in the order named */
        size_t old = (size_t)d->n_targets;
        float *y = malloc((size_t)d->rows * n * sizeof *y);
        if (!y) {
            free(cols);
            return api_fail(e, 503, "target", "out of memory");
        }
        for (size_t r = 0; r < (size_t)d->rows; r++)
            for (size_t k = 0; k < n; k++)
                y[r * n + k] = d->targets[r * old + cols[k]];
        free(d->targets);
        d->targets = y;
    }
    if (ok)
        d->n_targets = (int64_t)n;
    free(cols);
    return ok;
}

bool codec_dataset_renumber(store_dataset *d, const label_set *want, api_error *e)
{
    if (!d->labels_json || !want || want->count == 0)
        return true;
    label_set have = {0};
    csv_labels *table = csv_labels_create();
    int64_t *map = NULL;
    bool ok = table && codec_labels_text(d->labels_json, &have) &&
              (map = malloc((have.count + 1) * sizeof *map));
    if (!ok)
        api_fail(e, 503, NULL, "out of memory");
    for (size_t i = 0; ok && i < want->count; i++)
        ok = csv_labels_intern(table, want->names[i], strlen(want->names[i])) >= 0 ||
             api_fail(e, 503, NULL, "out of memory");
    for (size_t i = 0; ok && i < have.count; i++) {
        map[i] = csv_labels_intern(table, have.names[i], strlen(have.names[i]));
        if (map[i] < 0)
            ok = api_fail(e, 503, NULL, "out of memory");
        else if ((size_t)map[i] >= want->count)
            ok = api_fail(e, 400, "dataset", "dataset %s has class \"%s\", which the model was not trained on",
                          d->name, have.names[i]);
    }
    for (size_t r = 0; ok && d->targets && r < (size_t)d->rows; r++) {
        size_t k = (size_t)d->targets[r];
        if (k >= have.count)
            ok = api_fail(e, 400, "dataset", "dataset %s row %zu has class %zu but only %zu labels",
                          d->name, r + 1, k, have.count);
        else
            d->targets[r] = (float)map[k];
    }
    free(map);
    label_set_free(&have);
    csv_labels_free(table);
    return ok;
}

/* ============================================================== /evaluate */

void evaluate_request_free(evaluate_request *r)
{
    free(r->inputs);
    cJSON_Delete(r->root);
    memset(r, 0, sizeof *r);
}

bool codec_evaluate_request(const char *body, size_t len, evaluate_request *out, api_error *e)
{
    static const char *const known[] = {"model", "version", "dataset", "target", "inputs", "targets", NULL};
    memset(out, 0, sizeof *out);
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    out->root = root;
    const cJSON *m = GET(root, "model"), *ds = GET(root, "dataset"), *tg = GET(root, "target");
    const cJSON *x = GET(root, "inputs"), *y = GET(root, "targets");
    bool ok = codec_known_fields(root, "", known, e);
    if (ok && !m)
        ok = api_fail(e, 400, "model", "model is required");
    ok = ok && codec_name(m, "model", out->model, e) && codec_version_ref(GET(root, "version"), out->version, e);
    if (ok && ds && (x || y))
        ok = api_fail(e, 400, "dataset", "give either dataset or inputs and targets, not both");
    else if (ok && ds) {
        ok = codec_name(ds, "dataset", out->dataset, e);
        if (ok && tg && (!cJSON_IsString(tg) || !tg->valuestring[0] || strlen(tg->valuestring) >= sizeof out->target))
            ok = api_fail(e, 400, "target", "target must name the dataset's target column(s)");
        else if (ok && tg)
            text_copy(out->target, sizeof out->target, tg->valuestring);
    } else if (ok && tg) {
        ok = api_fail(e, 400, "target", "target goes with dataset");
    } else if (ok && !x) {
        ok = api_fail(e, 400, "inputs", "inputs is required (rows of numbers), or name a dataset");
    } else if (ok && !y) {
        ok = api_fail(e, 400, "targets", "targets is required: one row, class or label per input row");
    } else if (ok) {
        bool single;
        ok = codec_read_matrix(x, "inputs", &out->inputs, &out->rows, &out->width, &single, e);
        if (ok && single)
            ok = api_fail(e, 400, "inputs", "inputs must be an array of rows, e.g. [[-2, -1], [25, 6]]");
        if (ok && (!cJSON_IsArray(y) || (size_t)cJSON_GetArraySize(y) != out->rows))
            ok = api_fail(e, 400, "targets", "targets must have one entry per row of inputs (%zu)", out->rows);
    }
    if (!ok)
        evaluate_request_free(out);
    return ok;
}

bool codec_evaluate_targets(const evaluate_request *r, const sn_arch *arch, const label_set *labels,
                            float **y, api_error *e)
{
    const cJSON *t = GET(r->root, "targets");
    int outputs = arch->sizes[arch->n_layers - 1];
    bool ce = arch->loss == SN_LOSS_CROSSENTROPY;
    *y = NULL;
    if (cJSON_IsArray(t->child) || (cJSON_IsNumber(t->child) && !ce)) {
        float *m;
        size_t rows, width;
        bool single;
        if (!codec_read_matrix(t, "targets", &m, &rows, &width, &single, e))
            return false;
        if (single)
            width = 1; /* one number per row */
        if (width != (size_t)outputs) {
            free(m);
            return api_fail(e, 400, "targets[0]", "targets rows have %zu values but the model has %d outputs",
                            width, outputs);
        }
        *y = m;
        return true;
    }
    if (!ce)
        return api_fail(e, 400, "targets", "class indices or labels as targets need a crossentropy model; give rows of numbers");
    int64_t *idx = malloc(r->rows * sizeof *idx);
    if (!idx)
        return api_fail(e, 503, "targets", "out of memory");
    bool ok = true;
    size_t i = 0;
    for (const cJSON *v = t->child; ok && v; v = v->next, i++) {
        char field[48];
        snprintf(field, sizeof field, "targets[%zu]", i);
        if (cJSON_IsString(v)) {
            size_t k = 0;
            while (k < labels->count && strcmp(labels->names[k], v->valuestring) != 0)
                k++;
            if (k == labels->count)
                ok = api_fail(e, 400, field, "%s \"%.60s\" is not a class label of the model%s", field,
                              v->valuestring, labels->count ? "" : " (it was trained without labels)");
            else if (k >= (size_t)outputs) /* labels that outnumber the outputs: never index past a row */
                ok = api_fail(e, 400, field, "%s \"%.60s\" is class %zu but the model has %d outputs", field,
                              v->valuestring, k, outputs);
            idx[i] = (int64_t)k;
        } else {
            ok = codec_integer(v, field, 0, outputs - 1, &idx[i], e);
        }
    }
    if (ok && !codec_one_hot(idx, r->rows, outputs, y))
        ok = api_fail(e, 503, "targets", "out of memory");
    free(idx);
    return ok;
}
