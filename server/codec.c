/*
 * codec.c — what every JSON decoder and encoder shares: problems with field
 * paths, float32 numbers written to read back exactly, matrices of rows,
 * class labels and one-hot targets.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"
#include "float_text.h"
#include "text.h"

bool api_fail(api_error *e, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->status = status;
    text_copy(e->field, sizeof e->field, field ? field : "");
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return false;
}

cJSON *codec_float(float f)
{
    if (!isfinite(f))
        return cJSON_CreateNull();
    char buf[FLOAT_TEXT_MAX];
    float_text(f, buf);
    return cJSON_CreateRaw(buf);
}

cJSON *codec_loss(double d)
{
    return isfinite(d) ? codec_float((float)d) : cJSON_CreateNull();
}

cJSON *codec_floats(const float *x, size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, codec_float(x[i]));
    return a;
}

cJSON *codec_matrix(const float *x, size_t rows, size_t cols)
{
    cJSON *m = cJSON_CreateArray();
    for (size_t r = 0; m && r < rows; r++) {
        cJSON_AddItemToArray(m, codec_floats(x + r * cols, cols));
    }
    return m;
}

void label_set_free(label_set *l)
{
    for (size_t i = 0; l->names && i < l->count; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->count = 0;
}

bool codec_one_hot(const int64_t *idx, size_t rows, int outputs, float **out)
{
    *out = calloc(rows * (size_t)outputs, sizeof(float));
    if (!*out)
        return false;
    for (size_t r = 0; r < rows; r++)
        (*out)[r * (size_t)outputs + (size_t)idx[r]] = 1.0f;
    return true;
}

bool codec_number(const cJSON *item, const char *field, double *out, api_error *e)
{
    if (!cJSON_IsNumber(item))
        return api_fail(e, 400, field, "%s must be a number", field);
    if (!isfinite(item->valuedouble))
        return api_fail(e, 400, field, "%s must be a finite number", field);
    *out = item->valuedouble;
    return true;
}

bool codec_integer(const cJSON *item, const char *field, int64_t lo, int64_t hi, int64_t *out,
                   api_error *e)
{
    double d;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
        item->valuedouble != floor(item->valuedouble))
        return api_fail(e, 400, field, "%s must be an integer", field);
    d = item->valuedouble;
    if (d < (double)lo || d > (double)hi)
        return api_fail(e, 400, field, "%s must be from %lld to %lld, got %.17g", field,
                        (long long)lo, (long long)hi, d);
    *out = (int64_t)d;
    return true;
}

bool codec_bool(const cJSON *item, const char *field, bool *out, api_error *e)
{
    if (!cJSON_IsBool(item))
        return api_fail(e, 400, field, "%s must be true or false", field);
    *out = cJSON_IsTrue(item);
    return true;
}

bool codec_name(const cJSON *item, const char *field, char out[STORE_NAME_MAX + 1], api_error *e)
{
    if (!cJSON_IsString(item))
        return api_fail(e, 400, field, "%s must be a string", field);
    if (!store_name_valid(item->valuestring))
        return api_fail(e, 400, field,
                        "%s must be 1 to 64 letters, digits, '_', '.' or '-', starting with a "
                        "letter or digit",
                        field);
    text_copy(out, STORE_NAME_MAX + 1, item->valuestring);
    return true;
}

int codec_enum(const cJSON *item, const char *field, int (*from_name)(const char *),
               const char *choices, api_error *e)
{
    int v = cJSON_IsString(item) ? from_name(item->valuestring) : -1;
    if (v < 0)
        api_fail(e, 400, field, "%s must be one of %s", field, choices);
    return v;
}

cJSON *codec_parse_object(const char *body, size_t len, api_error *e)
{
    if (len == 0) {
        api_fail(e, 400, NULL, "the request body is empty; send a JSON object");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        api_fail(e, 400, NULL, "the body is not valid JSON (error near byte %zu)", at);
        return NULL;
    }
    while (end && (size_t)(end - body) < len && strchr(" \t\r\n", *end))
        end++;
    if (end && (size_t)(end - body) < len && *end) {
        api_fail(e, 400, NULL, "the body has text after the JSON value (byte %zu)",
                 (size_t)(end - body));
        cJSON_Delete(root);
        return NULL;
    }
    if (!cJSON_IsObject(root)) {
        api_fail(e, 400, NULL, "the body must be a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

bool codec_known_fields(const cJSON *obj, const char *prefix, const char *const *known,
                        api_error *e)
{
    for (const cJSON *f = obj->child; f; f = f->next) {
        bool ok = false;
        for (const char *const *k = known; *k && !ok; k++)
            ok = strcmp(f->string, *k) == 0;
        if (!ok) {
            char field[API_FIELD_MAX];
            snprintf(field, sizeof field, "%s%s", prefix, f->string);
            return api_fail(e, 400, field, "%s is not a known field", field);
        }
    }
    return true;
}

bool codec_read_matrix(const cJSON *item, const char *field, float **out, size_t *rows,
                       size_t *width, bool *single, api_error *e)
{
    *out = NULL;
    *rows = *width = 0;
    *single = false;
    if (!cJSON_IsArray(item))
        return api_fail(e, 400, field, "%s must be an array of rows (arrays of numbers)", field);
    size_t n = (size_t)cJSON_GetArraySize(item);
    if (n == 0)
        return api_fail(e, 400, field, "%s is empty; give at least one row", field);
    *single = cJSON_IsNumber(item->child);
    size_t w = *single ? n : (size_t)cJSON_GetArraySize(item->child);
    size_t r_count = *single ? 1 : n;
    if (w == 0) {
        char first[API_FIELD_MAX];
        snprintf(first, sizeof first, "%s[0]", field);
        return api_fail(e, 400, first, "%s is empty; give rows of numbers", first);
    }
    float *x = malloc(r_count * w * sizeof(float));
    if (!x)
        return api_fail(e, 503, field, "out of memory for %zu rows", r_count);
    /* Field paths ("inputs[3][7]") are written only for an error: this is
     * /predict's hot path. */
    char path[API_FIELD_MAX], vpath[API_FIELD_MAX];
    size_t r = 0;
    for (const cJSON *row = *single ? item : item->child; row && r < r_count;
         row = row->next, r++) {
        bool row_ok = cJSON_IsArray(row) && (size_t)cJSON_GetArraySize(row) == w;
        if (!row_ok) {
            free(x);
            snprintf(path, sizeof path, "%s[%zu]", field, r);
            if (!cJSON_IsArray(row))
                return api_fail(e, 400, path, "%s must be an array of numbers", path);
            return api_fail(e, 400, path, "%s has %d values, but row 0 has %zu", path,
                            cJSON_GetArraySize(row), w);
        }
        size_t c = 0;
        for (const cJSON *v = row->child; v; v = v->next, c++) {
            if (cJSON_IsNumber(v) && fabs(v->valuedouble) <= 3.4e38) { /* NaN fails too */
                x[r * w + c] = (float)v->valuedouble;
                continue;
            }
            free(x);
            if (*single)
                snprintf(vpath, sizeof vpath, "%s[%zu]", field, c);
            else
                snprintf(vpath, sizeof vpath, "%s[%zu][%zu]", field, r, c);
            double d;
            if (!codec_number(v, vpath, &d, e))
                return false;
            return api_fail(e, 400, vpath, "%s is too large for a 32-bit float", vpath);
        }
    }
    *out = x;
    *rows = r_count;
    *width = w;
    return true;
}

bool codec_version_ref(const cJSON *version, char out[STORE_NAME_MAX + 1], api_error *e)
{
    out[0] = '\0';
    if (!version || cJSON_IsNull(version))
        return true;
    if (cJSON_IsNumber(version)) {
        int64_t v;
        if (!codec_integer(version, "version", 1, INT32_MAX, &v, e))
            return false;
        snprintf(out, STORE_NAME_MAX + 1, "%lld", (long long)v);
        return true;
    }
    if (cJSON_IsString(version) &&
        (strcmp(version->valuestring, "latest") == 0 || store_name_valid(version->valuestring))) {
        text_copy(out, STORE_NAME_MAX + 1, version->valuestring);
        return true;
    }
    return api_fail(e, 400, "version", "version must be a number, an alias or \"latest\"");
}
