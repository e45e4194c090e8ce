/*
 * codec_predict.c — /predict's request and answer. The answer is written
 * straight to text rather than through a cJSON tree: this is the service's
 * hot path, and a batch of rows would otherwise be a node per number.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"
#include "float_text.h"
#include "text.h"

void predict_request_free(predict_request *r)
{
    free(r->inputs);
    r->inputs = NULL;
}

bool codec_predict_request(const char *body, size_t len, const char *model_from_path,
                           predict_request *out, api_error *e)
{
    return codec_predict_quick(body, len, model_from_path, out) ||
           codec_predict_tree(body, len, model_from_path, out, e);
}

bool codec_predict_tree(const char *body, size_t len, const char *model_from_path,
                        predict_request *out, api_error *e)
{
    memset(out, 0, sizeof *out);
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    static const char *const known[] = {"model", "version", "inputs", "instances",
                                        "signature_name", NULL};
    bool ok = codec_known_fields(root, "", known, e);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(root, "version");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "inputs");
    const cJSON *instances = cJSON_GetObjectItemCaseSensitive(root, "instances");
    if (ok && model_from_path)
        text_copy(out->model, sizeof out->model, model_from_path);
    else if (ok && !model)
        ok = api_fail(e, 400, "model", "model is required");
    else if (ok)
        ok = codec_name(model, "model", out->model, e);
    ok = ok && codec_version_ref(version, out->version, e);
    if (ok && inputs && instances)
        ok = api_fail(e, 400, "instances", "give inputs or instances, not both");
    else if (ok && !inputs && !instances)
        ok = api_fail(e, 400, "inputs", "inputs is required: an array of rows of numbers");
    if (ok) {
        out->tf_style = instances != NULL;
        ok = codec_read_matrix(instances ? instances : inputs, instances ? "instances" : "inputs",
                               &out->inputs, &out->rows, &out->width, &out->single, e);
    }
    cJSON_Delete(root);
    return ok;
}

/* ---- the answer ---- */

/* Room for s as a JSON string: every byte escaped as \u00XX, and quotes. */
static size_t string_room(const char *s)
{
    return 6 * strlen(s) + 2;
}

/* s as a JSON string: quotes, backslashes and control characters escaped;
 * other bytes (UTF-8) as they are. */
static char *put_string(char *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c;
        } else if (*c < 0x20) {
            o = text_put(o, "\\u00");
            *o++ = hex[*c >> 4];
            *o++ = hex[*c & 15];
        } else {
            *o++ = (char)*c;
        }
    }
    *o++ = '"';
    return o;
}

static char *put_float(char *o, float f)
{
    if (!isfinite(f))
        return text_put(o, "null");
    char buf[FLOAT_TEXT_MAX];
    size_t n = float_text(f, buf);
    memcpy(o, buf, n);
    return o + n;
}

/* n floats as a JSON array. */
/* n floats as a JSON array. */
static char *put_row(char *o, const float *x, size_t n)
{
    *o++ = '[';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *o++ = ',';
        o = put_float(o, x[i]);
    }
    *o++ = ']';
    return o;
}

size_t row_argmax(const float *row, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (row[i] > row[best])
            best = i;
    return best;
}

/* The most likely class of a row: its label, or its index. */
static char *put_class(char *o, const predict_answer *a, const float *row)
{
    size_t k = row_argmax(row, a->outs);
    if (a->labels && k < a->labels->count)
        return put_string(o, a->labels->names[k]);
    return text_put_u64(o, k);
}

char *codec_predict_answer(const predict_answer *a, size_t *len)
{
    size_t label_room = TEXT_U64_MAX;
    for (size_t i = 0; a->labels && i < a->labels->count; i++)
        if (string_room(a->labels->names[i]) > label_room)
            label_room = string_room(a->labels->names[i]);
    size_t row_room = a->outs * (FLOAT_TEXT_MAX + 1) + 2;
    size_t room = 64 + (a->model ? string_room(a->model) + TEXT_U64_MAX : 0) +
                  a->rows * (row_room + 1 + (a->classes ? label_room + 1 : 0));
    char *text = malloc(room), *o = text;
    if (!text)
        return NULL;
    *o++ = '{';
    if (a->model) {
        o = text_put(o, "\"model\":");
        o = put_string(o, a->model);
        o = text_put(o, ",\"version\":");
        o = text_put_u64(o, (uint64_t)a->version);
        *o++ = ',';
    }
    o = text_put(o, a->tf_style ? "\"predictions\":" : "\"outputs\":");
    if (a->single) {
        o = put_row(o, a->y, a->outs);
    } else {
        *o++ = '[';
        for (size_t r = 0; r < a->rows; r++) {
            if (r)
                *o++ = ',';
            o = put_row(o, a->y + r * a->outs, a->outs);
        }
        *o++ = ']';
    }
    if (a->classes) {
        o = text_put(o, ",\"labels\":");
        if (a->single) {
            o = put_class(o, a, a->y);
        } else {
            *o++ = '[';
            for (size_t r = 0; r < a->rows; r++) {
                if (r)
                    *o++ = ',';
                o = put_class(o, a, a->y + r * a->outs);
            }
            *o++ = ']';
        }
    }
    *o++ = '}';
    *o = '\0';
    *len = (size_t)(o - text);
    return text;
}
