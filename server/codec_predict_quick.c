/*
 * codec_predict_quick.c — /predict's request read straight from the text,
 * without a cJSON tree, for the bodies clients send nearly always:
 *
 *   {"model": "name", "version": 3 | "alias", "inputs": [[1, 2.5], …]}
 *
 * ("instances" in place of "inputs", a flat row [1, 2.5] for one row, any
 * order, JSON's whitespace). cJSON spends a node, a key copy and a malloc on
 * every value, and its tree was the largest part of /predict's own time.
 *
 * The reader takes only a strict part of JSON: strings without escapes or
 * control characters, numbers in JSON's grammar (at most 63 characters), the
 * fields above once each, and values that pass the full reader's checks. A
 * value it takes is the one cJSON gives: strtod's double for the same
 * characters (json_number_value), then the same conversion to float.
 * Anything else, every error included, is declined (false, nothing kept),
 * and the full reader (codec_predict_tree) reads the body and says what is
 * wrong. tests/unit/test_predict_quick.c and the predict fuzzer check that
 * the two agree on every body this one takes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_number.h"
#include "text.h"

typedef struct {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skips whitespace, then takes ch if it is next. */
static bool take(cursor *c, char ch)
{
    skip_space(c);
    if (c->p == c->end || *c->p != ch)
        return false;
    c->p++;
    return true;
}

static bool is_digit(const cursor *c, const char *q)
{
    return q < c->end && *q >= '0' && *q <= '9';
}

/* A string without escapes or control characters, copied into out (cap
 * bytes with its NUL). */
static bool plain_string(cursor *c, char *out, size_t cap)
{
    if (!take(c, '"'))
        return false;
    const char *start = c->p;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20)
            return false;
        c->p++;
    }
    size_t n = (size_t)(c->p - start);
    if (c->p == c->end || n >= cap)
        return false;
    memcpy(out, start, n);
    out[n] = '\0';
    c->p++;
    return true;
}

/* The characters of a number in JSON's grammar, NUL-ended in buf. cJSON
 * copies at most 63 characters before its strtod: longer ones are declined. */
static bool number_text(cursor *c, char buf[64])
{
    skip_space(c);
    const char *s = c->p, *q = s;
    if (q < c->end && *q == '-')
        q++;
    if (!is_digit(c, q))
        return false;
    if (*q++ != '0')
        while (is_digit(c, q))
            q++;
    if (q < c->end && *q == '.') {
        if (!is_digit(c, ++q))
            return false;
        while (is_digit(c, q))
            q++;
    }
    if (q < c->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < c->end && (*q == '+' || *q == '-'))
            q++;
        if (!is_digit(c, q))
            return false;
        while (is_digit(c, q))
            q++;
    }
    size_t n = (size_t)(q - s);
    if (n > 63)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    c->p = q;
    return true;
}

/* An input value: finite and within float32's range, as codec_read_matrix
 * demands. */
static bool input_value(cursor *c, float *out)
{
    char buf[64];
    if (!number_text(c, buf))
        return false;
    double d = json_number_value(buf);
    if (!(fabs(d) <= 3.4e38))
        return false;
    *out = (float)d;
    return true;
}

/* "version": digits from 1 to INT32_MAX (as written: no leading zero), an
 * alias, or "latest". */
static bool version_ref(cursor *c, char out[STORE_NAME_MAX + 1])
{
    skip_space(c);
    if (c->p < c->end && *c->p == '"')
        return plain_string(c, out, STORE_NAME_MAX + 1) &&
               (strcmp(out, "latest") == 0 || store_name_valid(out));
    const char *s = c->p, *q = s;
    while (is_digit(c, q) && q - s <= 10)
        q++;
    size_t n = (size_t)(q - s);
    if (n == 0 || n > 10 || *s == '0' || (q < c->end && (*q == '.' || *q == 'e' || *q == 'E')))
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    c->p = q;
    return strtoll(out, NULL, 10) <= INT32_MAX;
}

/* Rows of numbers ([[…], …]) or one flat row ([…]), all of one width. */
static bool matrix(cursor *c, predict_request *out)
{
    if (!take(c, '['))
        return false;
    skip_space(c);
    out->single = c->p < c->end && *c->p != '[';
    size_t n = 0, cap = 16, width = 0;
    float *x = malloc(cap * sizeof *x);
    if (!x)
        return false;
    do {
        if (!out->single && !take(c, '['))
            goto declined;
        size_t count = 0;
        do {
            if (n == cap) {
                float *bigger = realloc(x, 2 * cap * sizeof *x);
                if (!bigger)
                    goto declined;
                x = bigger;
                cap *= 2;
            }
            if (!input_value(c, &x[n++]))
                goto declined;
            count++;
        } while (take(c, ','));
        if (!take(c, ']') || (out->rows > 0 && count != width))
            goto declined;
        width = count;
        out->rows++;
    } while (!out->single && take(c, ','));
    if (!out->single && !take(c, ']'))
        goto declined;
    out->inputs = x;
    out->width = width;
    return true;
declined:
    free(x);
    return false;
}

bool codec_predict_quick(const char *body, size_t len, const char *model_from_path,
                         predict_request *out)
{
    memset(out, 0, sizeof *out);
    cursor c = {body, body + len};
    bool model = false, version = false, rows = false;
    if (!take(&c, '{'))
        return false;
    do {
        char key[16];
        if (!plain_string(&c, key, sizeof key) || !take(&c, ':'))
            goto declined;
        if (strcmp(key, "model") == 0 && !model && !model_from_path) {
            model = plain_string(&c, out->model, sizeof out->model) && store_name_valid(out->model);
            if (!model)
                goto declined;
        } else if (strcmp(key, "version") == 0 && !version) {
            version = version_ref(&c, out->version);
            if (!version)
                goto declined;
        } else if ((strcmp(key, "inputs") == 0 || strcmp(key, "instances") == 0) && !rows) {
            out->tf_style = strcmp(key, "instances") == 0;
            rows = matrix(&c, out);
            if (!rows)
                goto declined;
        } else {
            goto declined;
        }
    } while (take(&c, ','));
    if (!take(&c, '}'))
        goto declined;
    skip_space(&c);
    if (c.p != c.end || !rows || !(model || model_from_path))
        goto declined;
    if (model_from_path)
        text_copy(out->model, sizeof out->model, model_from_path);
    return true;
declined:
    predict_request_free(out);
    return false;
}
