/*
 * fuzz_csv.c — the streaming CSV reader (csv.h), with chunk boundaries
 * fuzzed too.
 *
 * Input: 4 bytes of settings, then the CSV text.
 *   byte 0  bits 0-1 the target type (auto, numeric, label, auto);
 *           bits 2-3 the targets option (none, "y", "y1,y2", "x");
 *   bytes 1-3  chunk sizes, used in turn (each byte + 1).
 * The text is parsed twice: in chunks of those sizes, and in one piece.
 * Invariants: both give the same outcome (the same dataset bit for bit, or
 * the same error); a dataset has rows ≥ 1, a name per column, finite inputs,
 * and with labels, distinct labels and targets that are class indices.
 */
#include <math.h>

#include "csv.h"
#include "fuzz.h"

typedef struct {
    bool ok;
    csv_dataset d;
    csv_error err;
} outcome;

static void parse(const uint8_t *text, size_t len, const csv_options *opt, const uint8_t sizes[3],
                  outcome *o)
{
    memset(o, 0, sizeof *o);
    csv_parser *p = csv_parser_create(opt);
    FUZZ_CHECK(p != NULL);
    size_t at = 0, k = 0;
    o->ok = true;
    while (o->ok && at < len) {
        size_t n = sizes ? (size_t)sizes[k++ % 3] + 1 : len;
        if (n > len - at)
            n = len - at;
        char *chunk = fuzz_copy(text + at, n); /* exact size: reads past it are caught */
        o->ok = csv_parser_feed(p, chunk, n, &o->err);
        free(chunk);
        at += n;
    }
    if (o->ok)
        o->ok = csv_parser_finish(p, &o->d, &o->err);
    else /* the parser refuses everything after a failure */
        FUZZ_CHECK(!csv_parser_feed(p, "1", 1, &(csv_error){0}));
    csv_parser_free(p);
}

static bool same_strings(char **a, char **b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static void check_dataset(const csv_dataset *d)
{
    FUZZ_CHECK(d->rows >= 1 && d->n_inputs + d->n_targets >= 1 && d->n_targets >= 1);
    fuzz_touch(d->inputs, d->rows * d->n_inputs);
    fuzz_touch(d->targets, d->rows * d->n_targets);
    for (size_t i = 0; i < d->rows * d->n_inputs; i++)
        FUZZ_CHECK(isfinite(d->inputs[i]));
    for (size_t i = 0; i < d->rows * d->n_targets; i++)
        FUZZ_CHECK(isfinite(d->targets[i]));
    for (size_t i = 0; i < d->n_inputs; i++)
        FUZZ_CHECK(d->input_names[i] != NULL);
    for (size_t i = 0; i < d->n_targets; i++)
        FUZZ_CHECK(d->target_names[i] != NULL);
    if (d->labels) {
        FUZZ_CHECK(d->n_targets == 1 && d->n_labels >= 1 && d->n_labels <= CSV_MAX_CLASSES);
        for (size_t i = 1; i < d->n_labels; i++) /* sorted, so duplicates would be neighbours */
            FUZZ_CHECK(strcmp(d->labels[i - 1], d->labels[i]) != 0);
        for (size_t r = 0; r < d->rows; r++)
            FUZZ_CHECK(d->targets[r] >= 0 && d->targets[r] < (float)d->n_labels &&
                       d->targets[r] == floorf(d->targets[r]));
    } else {
        FUZZ_CHECK(d->n_labels == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > 1 << 16)
        return 0;
    static const char *const targets[] = {NULL, "y", "y1,y2", "x"};
    static const csv_target_type types[] = {CSV_TARGET_AUTO, CSV_TARGET_NUMERIC, CSV_TARGET_LABEL,
                                            CSV_TARGET_AUTO};
    csv_options opt = {.targets = targets[(data[0] >> 2) & 3], .type = types[data[0] & 3]};
    outcome chunked, whole;
    parse(data + 4, size - 4, &opt, data + 1, &chunked);
    parse(data + 4, size - 4, &opt, NULL, &whole);
    FUZZ_CHECK(chunked.ok == whole.ok);
    if (chunked.ok) {
        const csv_dataset *a = &chunked.d, *b = &whole.d;
        check_dataset(a);
        FUZZ_CHECK(a->rows == b->rows && a->n_inputs == b->n_inputs && a->n_targets == b->n_targets &&
                   a->n_labels == b->n_labels);
        FUZZ_CHECK(memcmp(a->inputs, b->inputs, a->rows * a->n_inputs * sizeof(float)) == 0);
        FUZZ_CHECK(memcmp(a->targets, b->targets, a->rows * a->n_targets * sizeof(float)) == 0);
        FUZZ_CHECK(same_strings(a->input_names, b->input_names, a->n_inputs));
        FUZZ_CHECK(same_strings(a->target_names, b->target_names, a->n_targets));
        FUZZ_CHECK(same_strings(a->labels, b->labels, a->n_labels));
        csv_dataset_free(&chunked.d);
        csv_dataset_free(&whole.d);
    } else {
        FUZZ_CHECK(chunked.err.status == whole.err.status);
        FUZZ_CHECK(chunked.err.status == CSV_INVALID || chunked.err.status == CSV_NOMEM);
        FUZZ_CHECK(chunked.err.row == whole.err.row && chunked.err.line == whole.err.line);
        FUZZ_CHECK(strcmp(chunked.err.message, whole.err.message) == 0);
        FUZZ_CHECK(strcmp(chunked.err.field, whole.err.field) == 0);
        FUZZ_CHECK(chunked.err.message[0] != '\0');
    }
    return 0;
}
