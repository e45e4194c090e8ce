/*
 * csv.c — the streaming CSV reader (see csv.h): a byte-at-a-time state
 * machine over whatever chunks arrive, writing each field straight into the
 * growing float arrays, and the class-label table it shares with JSON
 * uploads. Every failure is reported once, with the row, line and column,
 * and leaves the parser refusing further input.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "text.h"

#define FIRST_ROWS 64      /* capacity of the row arrays at first; then doubling */
#define VALUE_SHOWN 40     /* bytes of a bad value quoted in a message */

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

/* ================================================================ numbers */

/* A whole field as a float: optional blanks around a decimal number (sign,
 * digits, point, exponent). No hex, nan or inf. False otherwise. */
static bool parse_float(const char *s, size_t len, float *out)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len > 64)
        return false;
    /* Fast path: a small integer, the common case (pixels, class numbers). */
    size_t i = (*s == '-' || *s == '+') ? 1 : 0;
    if (len - i >= 1 && len - i <= 7) {
        int32_t v = 0;
        size_t k = i;
        while (k < len && s[k] >= '0' && s[k] <= '9')
            v = v * 10 + (s[k++] - '0');
        if (k == len) {
            *out = (float)(*s == '-' ? -v : v);
            return true;
        }
    }
    char buf[65];
    for (size_t k = 0; k < len; k++) {
        char c = s[k];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return false;
        buf[k] = c;
    }
    buf[len] = '\0';
    char *end;
    errno = 0;
    float f = strtof(buf, &end);
    if (end != buf + len || !isfinite(f))
        return false;
    *out = f;
    return true;
}

/* ================================================================= labels */

struct csv_labels {
    char **names;       /* in order of first appearance */
    size_t n, cap;
    int32_t *slots;     /* open addressing: index into names, -1 empty */
    size_t n_slots;     /* a power of two */
};

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

csv_labels *csv_labels_create(void)
{
    return calloc(1, sizeof(csv_labels));
}

size_t csv_labels_count(const csv_labels *l)
{
    return l->n;
}

void csv_labels_free(csv_labels *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->slots);
    free(l);
}

/* Doubles the slot table; false when out of memory (the old one stays). */
static bool labels_grow(csv_labels *l)
{
    size_t n_slots = l->n_slots ? l->n_slots * 2 : 64;
    int32_t *slots = malloc(n_slots * sizeof *slots);
    if (!slots)
        return false;
    memset(slots, 0xff, n_slots * sizeof *slots);
    for (size_t i = 0; i < l->n; i++) {
        size_t at = hash_bytes(l->names[i], strlen(l->names[i])) & (n_slots - 1);
        while (slots[at] >= 0)
            at = (at + 1) & (n_slots - 1);
        slots[at] = (int32_t)i;
    }
    free(l->slots);
    l->slots = slots;
    l->n_slots = n_slots;
    return true;
}

int64_t csv_labels_intern(csv_labels *l, const char *s, size_t len)
{
    if ((l->n + 1) * 2 > l->n_slots && !labels_grow(l))
        return -1;
    size_t at = hash_bytes(s, len) & (l->n_slots - 1);
    for (; l->slots[at] >= 0; at = (at + 1) & (l->n_slots - 1)) {
        const char *name = l->names[l->slots[at]];
        if (strncmp(name, s, len) == 0 && name[len] == '\0') /* stops at name's end */
            return l->slots[at];
    }
    if (l->n == CSV_MAX_CLASSES)
        return -2;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **names = realloc(l->names, cap * sizeof *names);
        if (!names)
            return -1;
        l->names = names;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    l->names[l->n] = copy;
    l->slots[at] = (int32_t)l->n;
    return (int64_t)l->n++;
}

typedef struct {
    char *name;
    float value;
    uint32_t first;  /* index in order of first appearance */
} label_key;

static int compare_by_value(const void *a, const void *b)
{
    const label_key *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return strcmp(x->name, y->name); /* "1" and "1.0": still a fixed order */
}

static int compare_by_bytes(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->name, ((const label_key *)b)->name);
}

bool csv_labels_sort(csv_labels *l, char ***names, size_t *n, uint32_t **remap)
{
    size_t count = l->n;
    label_key *keys = malloc((count ? count : 1) * sizeof *keys);
    char **sorted = malloc((count ? count : 1) * sizeof *sorted);
    uint32_t *map = malloc((count ? count : 1) * sizeof *map);
    if (!keys || !sorted || !map) {
        free(keys), free(sorted), free(map);
        return false;
    }
    bool numeric = true;
    for (size_t i = 0; i < count; i++) {
        keys[i] = (label_key){.name = l->names[i], .first = (uint32_t)i};
        numeric = numeric && parse_float(l->names[i], strlen(l->names[i]), &keys[i].value);
    }
    qsort(keys, count, sizeof *keys, numeric ? compare_by_value : compare_by_bytes);
    for (size_t i = 0; i < count; i++) {
        sorted[i] = keys[i].name;
        map[keys[i].first] = (uint32_t)i;
    }
    free(keys);
    free(l->names);
    free(l->slots);
    *l = (csv_labels){0};
    *names = sorted;
    *n = count;
    *remap = map;
    return true;
}

/* ================================================================= parser */

typedef enum {
    ST_FIELD_START, /* before the first byte of a field */
    ST_UNQUOTED,    /* inside a field that did not start with a quote */
    ST_QUOTED,      /* inside quotes */
    ST_QUOTE_END,   /* a quote inside quotes: closing, or the first of "" */
    ST_AFTER_CR,    /* a record ended with CR: swallow an LF that follows */
} parse_state;

struct csv_parser {
    csv_target_type type;
    char *targets;             /* the option, copied; NULL for the last column */
    bool failed;
    size_t bom_seen;           /* bytes of a byte-order mark matched at the start */
    bool started;              /* past the byte-order mark */
    parse_state st;
    char *field;               /* the field being read, NUL-terminated */
    size_t flen, fcap;
    bool fquoted;              /* it was quoted (so "" is a value, not a blank line) */
    size_t col;                /* its index in the record */
    int64_t line;              /* the line being read (1-based) */
    int64_t rec_line;          /* the line the record started on */
    bool header_done;
    char **names;              /* header names, n_cols of them */
    size_t n_cols, names_cap;
    int32_t *role;             /* per column: input index, or -1 - target index */
    size_t n_in, n_tg;
    size_t rows, cap_rows;
    float *in, *tg;            /* cap_rows × n_in, cap_rows × n_tg */
    bool labels_on;            /* the single target column is being interned */
    bool numeric_ok;           /* every target so far was a number (auto, numeric) */
    csv_labels *labels;
    uint32_t *lab;             /* each row's label, in order of first appearance */
};

static bool failf(csv_parser *p, csv_error *err, csv_status st, const char *field, bool in_row,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Records a failure in err; returns false. in_row: the record being read is
 * the spot (its row and line go into err). */
static bool failf(csv_parser *p, csv_error *err, csv_status st, const char *field, bool in_row,
                  const char *fmt, ...)
{
    p->failed = true;
    err->status = st;
    err->row = in_row ? (int64_t)p->rows + 1 : 0;
    err->line = in_row ? p->rec_line : 0;
    text_copy(err->field, sizeof err->field, field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return false;
}

static bool nomem(csv_parser *p, csv_error *err)
{
    return failf(p, err, CSV_NOMEM, NULL, false, "out of memory reading the CSV (%zu rows so far)",
                 p->rows);
}

/* A value for a message: quoted, cut at VALUE_SHOWN bytes. */
static const char *shown(const char *s, char buf[VALUE_SHOWN + 8])
{
    size_t n = strlen(s);
    snprintf(buf, VALUE_SHOWN + 8, "\"%.*s%s\"", VALUE_SHOWN, s, n > VALUE_SHOWN ? "…" : "");
    return buf;
}

int csv_target_type_from_name(const char *name)
{
    if (!name || strcmp(name, "auto") == 0)
        return CSV_TARGET_AUTO;
    if (strcmp(name, "numeric") == 0)
        return CSV_TARGET_NUMERIC;
    if (strcmp(name, "label") == 0 || strcmp(name, "class") == 0)
        return CSV_TARGET_LABEL;
    return -1;
}

csv_parser *csv_parser_create(const csv_options *opt)
{
    csv_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->type = opt->type;
    p->line = p->rec_line = 1;
    p->fcap = 256;
    p->field = malloc(p->fcap);
    if (opt->targets && opt->targets[0] && !(p->targets = strdup(opt->targets))) {
        free(p->field);
        p->field = NULL;
    }
    if (!p->field) {
        free(p);
        return NULL;
    }
    p->field[0] = '\0';
    return p;
}

void csv_parser_free(csv_parser *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_cols; i++)
        free(p->names[i]);
    free(p->names);
    free(p->targets);
    free(p->field);
    free(p->role);
    free(p->in);
    free(p->tg);
    free(p->lab);
    csv_labels_free(p->labels);
    free(p);
}

void csv_dataset_free(csv_dataset *d)
{
    if (!d)
        return;
    for (size_t i = 0; d->input_names && i < d->n_inputs; i++)
        free(d->input_names[i]);
    for (size_t i = 0; d->target_names && i < d->n_targets; i++)
        free(d->target_names[i]);
    for (size_t i = 0; d->labels && i < d->n_labels; i++)
        free(d->labels[i]);
    free(d->input_names);
    free(d->target_names);
    free(d->labels);
    free(d->inputs);
    free(d->targets);
    memset(d, 0, sizeof *d);
}

/* ---- the header ---- */

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    while (s[a] == ' ' || s[a] == '\t')
        a++;
    memmove(s, s + a, n - a + 1);
}

static bool header_add(csv_parser *p, csv_error *err)
{
    if (p->n_cols == CSV_MAX_COLUMNS)
        return failf(p, err, CSV_INVALID, NULL, false, "the header has more than %d columns",
                     CSV_MAX_COLUMNS);
    if (p->n_cols == p->names_cap) {
        size_t cap = p->names_cap ? p->names_cap * 2 : 16;
        char **names = realloc(p->names, cap * sizeof *names);
        if (!names)
            return nomem(p, err);
        p->names = names;
        p->names_cap = cap;
    }
    char *name = strdup(p->field);
    if (!name)
        return nomem(p, err);
    trim(name);
    p->names[p->n_cols++] = name;
    return true;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static long find_column(const csv_parser *p, const char *name)
{
    for (size_t c = 0; c < p->n_cols; c++)
        if (strcmp(p->names[c], name) == 0)
            return (long)c;
    return -1;
}

/* The header's names as "a, b, c" for a message (cut when long). */
static void list_columns(const csv_parser *p, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t c = 0; c < p->n_cols && at + 8 < len; c++) {
        int n = snprintf(buf + at, len - at, "%s%s", c ? ", " : "", p->names[c]);
        at += n > 0 ? (size_t)n : 0;
    }
    if (at >= len - 1)
        snprintf(buf + len - 5, 5, " …");
}

/* The header is complete: checks the names and chooses the columns' roles. */
static bool header_finish(csv_parser *p, csv_error *err)
{
    for (size_t c = 0; c < p->n_cols; c++)
        if (!p->names[c][0])
            return failf(p, err, CSV_INVALID, NULL, false,
                         "column %zu of the header has no name; every column needs one", c + 1);
    char **sorted = malloc(p->n_cols * sizeof *sorted);
    if (!sorted)
        return nomem(p, err);
    memcpy(sorted, p->names, p->n_cols * sizeof *sorted);
    qsort(sorted, p->n_cols, sizeof *sorted, compare_names);
    for (size_t c = 1; c < p->n_cols; c++)
        if (strcmp(sorted[c - 1], sorted[c]) == 0) {
            long first = find_column(p, sorted[c]), second = -1;
            for (size_t k = (size_t)first + 1; second < 0; k++)
                if (strcmp(p->names[k], sorted[c]) == 0)
                    second = (long)k;
            char name[VALUE_SHOWN + 8];
            shown(sorted[c], name);
            free(sorted);
            return failf(p, err, CSV_INVALID, NULL, false,
                         "the header names column %s twice (columns %ld and %ld); names must be unique",
                         name, first + 1, second + 1);
        }
    free(sorted);
    if (p->n_cols < 2)
        return failf(p, err, CSV_INVALID, NULL, false,
                     "the header has one column; a dataset needs input columns and a target column");
    p->role = malloc(p->n_cols * sizeof *p->role);
    if (!p->role)
        return nomem(p, err);
    for (size_t c = 0; c < p->n_cols; c++)
        p->role[c] = 0;
    char cols[400];
    if (!p->targets) {
        p->role[p->n_cols - 1] = -1;
        p->n_tg = 1;
    }
    for (char *name = p->targets, *next; name; name = next) {
        next = strchr(name, ',');
        if (next)
            *next++ = '\0';
        trim(name);
        long c = find_column(p, name);
        char shown_name[VALUE_SHOWN + 8];
        shown(name, shown_name);
        list_columns(p, cols, sizeof cols);
        const char *field = p->n_tg || next ? "targets" : "target";
        if (c < 0)
            return failf(p, err, CSV_INVALID, field, false,
                         "target column %s is not in the header (columns: %s)", shown_name, cols);
        if (p->role[c] < 0)
            return failf(p, err, CSV_INVALID, field, false, "target column %s is named twice",
                         shown_name);
        p->role[c] = -1 - (int32_t)p->n_tg++;
    }
    if (p->n_tg >= p->n_cols)
        return failf(p, err, CSV_INVALID, "targets", false,
                     "every column is a target; a dataset needs at least one input column");
    if (p->n_tg > 1 && p->type == CSV_TARGET_LABEL)
        return failf(p, err, CSV_INVALID, "target_type", false,
                     "class labels need a single target column, but %zu are named", p->n_tg);
    for (size_t c = 0; c < p->n_cols; c++)
        if (p->role[c] >= 0)
            p->role[c] = (int32_t)p->n_in++;
    p->labels_on = p->n_tg == 1 && p->type != CSV_TARGET_NUMERIC;
    p->numeric_ok = p->type != CSV_TARGET_LABEL;
    if (p->labels_on && !(p->labels = csv_labels_create()))
        return nomem(p, err);
    p->header_done = true;
    return true;
}

/* ---- rows ---- */

/* Room for one more row in every array (doubling). */
static bool rows_reserve(csv_parser *p, csv_error *err)
{
    if (p->rows < p->cap_rows)
        return true;
    size_t cap = p->cap_rows ? p->cap_rows * 2 : FIRST_ROWS;
    if (cap > SIZE_MAX / sizeof(float) / (p->n_in + p->n_tg))
        return nomem(p, err);
    float *in = realloc(p->in, cap * p->n_in * sizeof(float));
    if (!in)
        return nomem(p, err);
    p->in = in;
    float *tg = realloc(p->tg, cap * p->n_tg * sizeof(float));
    if (!tg)
        return nomem(p, err);
    p->tg = tg;
    if (p->labels_on) {
        uint32_t *lab = realloc(p->lab, cap * sizeof *lab);
        if (!lab)
            return nomem(p, err);
        p->lab = lab;
    }
    p->cap_rows = cap;
    return true;
}

/* Stops interning an all-numeric target column (auto): too many values to be classes. */
static void labels_off(csv_parser *p)
{
    csv_labels_free(p->labels);
    p->labels = NULL;
    free(p->lab);
    p->lab = NULL;
    p->labels_on = false;
}

static bool target_value(csv_parser *p, size_t k, csv_error *err)
{
    const char *name = p->names[p->col];
    char v[VALUE_SHOWN + 8];
    float f = 0;
    bool number = p->numeric_ok && parse_float(p->field, p->flen, &f);
    if (p->labels_on) {
        if (p->flen == 0)
            return failf(p, err, CSV_INVALID, NULL, true,
                         "row %zu (line %lld): the target column \"%s\" is empty", p->rows + 1,
                         (long long)p->rec_line, name);
        int64_t idx = csv_labels_intern(p->labels, p->field, p->flen);
        if (idx == -1)
            return nomem(p, err);
        if (idx == -2 && number) {
            labels_off(p); /* numbers only so far, and too many to be classes */
        } else if (idx == -2) {
            return failf(p, err, CSV_INVALID, NULL, true,
                         "row %zu (line %lld): the target column \"%s\" has more than %d distinct "
                         "values, too many to be class labels",
                         p->rows + 1, (long long)p->rec_line, name, CSV_MAX_CLASSES);
        } else {
            p->lab[p->rows] = (uint32_t)idx;
        }
        if (!number && p->numeric_ok)
            p->numeric_ok = false; /* auto: this column holds labels */
    }
    if (!p->labels_on && !number)
        return failf(p, err, CSV_INVALID, NULL, true,
                     "row %zu (line %lld), target column \"%s\": %s is not a number%s", p->rows + 1,
                     (long long)p->rec_line, name, shown(p->field, v),
                     p->n_tg > 1 ? " (several target columns must all be numeric)"
                     : p->type == CSV_TARGET_NUMERIC ? " (target_type=numeric)"
                                                     : " (the column has too many values to be labels)");
    p->tg[p->rows * p->n_tg + k] = f;
    return true;
}

/* A field is complete; end_record: it was the record's last. */
static bool field_end(csv_parser *p, bool end_record, csv_error *err)
{
    bool blank = end_record && p->col == 0 && p->flen == 0 && !p->fquoted;
    bool data_row = p->header_done; /* else this field belongs to the header */
    bool ok = true;
    if (blank) {
        /* a blank line: skipped */
    } else if (!data_row) {
        ok = header_add(p, err) && (!end_record || header_finish(p, err));
    } else if (p->col < p->n_cols) {
        if (p->col == 0)
            ok = rows_reserve(p, err);
        int32_t role = p->role[p->col];
        char v[VALUE_SHOWN + 8];
        if (ok && role >= 0 && !parse_float(p->field, p->flen, &p->in[p->rows * p->n_in + (size_t)role]))
            ok = failf(p, err, CSV_INVALID, NULL, true,
                       "row %zu (line %lld), column \"%s\": %s is not a number; every column but "
                       "the target must be numeric",
                       p->rows + 1, (long long)p->rec_line, p->names[p->col], shown(p->field, v));
        else if (ok && role < 0)
            ok = target_value(p, (size_t)(-1 - role), err);
    }
    p->col++;
    p->flen = 0;
    p->field[0] = '\0';
    p->fquoted = false;
    if (ok && end_record) {
        if (data_row && !blank && p->col != p->n_cols)
            ok = failf(p, err, CSV_INVALID, NULL, true,
                       "row %zu (line %lld) has %zu fields but the header has %zu columns",
                       p->rows + 1, (long long)p->rec_line, p->col, p->n_cols);
        else if (data_row && !blank)
            p->rows++;
        p->col = 0;
    }
    return ok;
}

static bool field_add(csv_parser *p, const char *s, size_t n, csv_error *err)
{
    if (p->flen + n >= p->fcap) {
        if (p->flen + n >= CSV_MAX_FIELD)
            return p->header_done
                       ? failf(p, err, CSV_INVALID, NULL, true,
                               "row %zu (line %lld) has a field longer than %d bytes", p->rows + 1,
                               (long long)p->rec_line, CSV_MAX_FIELD)
                       : failf(p, err, CSV_INVALID, NULL, false,
                               "the header has a field longer than %d bytes", CSV_MAX_FIELD);
        size_t cap = p->fcap;
        while (cap <= p->flen + n)
            cap *= 2;
        char *f = realloc(p->field, cap);
        if (!f)
            return nomem(p, err);
        p->field = f;
        p->fcap = cap;
    }
    memcpy(p->field + p->flen, s, n);
    p->flen += n;
    p->field[p->flen] = '\0';
    return true;
}

/* A record ended by a line break: the next one starts on the next line. */
static bool record_end(csv_parser *p, csv_error *err)
{
    bool ok = field_end(p, true, err);
    p->line++;
    p->rec_line = p->line;
    return ok;
}

static bool parse(csv_parser *p, const char *data, size_t len, csv_error *err)
{
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\0')
            return failf(p, err, CSV_INVALID, NULL, p->header_done,
                         "line %lld has a NUL byte; a CSV is text", (long long)p->line);
        switch (p->st) {
        case ST_AFTER_CR:
            p->st = ST_FIELD_START;
            if (c == '\n')
                break;
            __attribute__((fallthrough)); /* a lone CR ended the line */
        case ST_FIELD_START:
            if (c == '"') {
                p->st = ST_QUOTED;
                p->fquoted = true;
                break;
            }
            p->st = ST_UNQUOTED;
            __attribute__((fallthrough));
        case ST_UNQUOTED:
            if (c == ',') {
                if (!field_end(p, false, err))
                    return false;
                p->st = ST_FIELD_START;
            } else if (c == '\n' || c == '\r') {
                if (!record_end(p, err))
                    return false;
                p->st = c == '\r' ? ST_AFTER_CR : ST_FIELD_START;
            } else {
                /* the run of ordinary bytes up to the next special one, at once */
                size_t j = i + 1;
                while (j < len && data[j] != ',' && data[j] != '\n' && data[j] != '\r' && data[j])
                    j++;
                if (!field_add(p, data + i, j - i, err))
                    return false;
                i = j - 1;
            }
            break;
        case ST_QUOTED:
            if (c == '"') {
                p->st = ST_QUOTE_END;
            } else {
                size_t j = i + 1;
                while (j < len && data[j] != '"' && data[j])
                    j++;
                for (size_t k = i; k < j; k++)
                    p->line += data[k] == '\n';
                if (!field_add(p, data + i, j - i, err))
                    return false;
                i = j - 1;
            }
            break;
        case ST_QUOTE_END:
            if (c == '"') {
                p->st = ST_QUOTED;
                if (!field_add(p, "\"", 1, err))
                    return false;
            } else if (c == ',') {
                if (!field_end(p, false, err))
                    return false;
                p->st = ST_FIELD_START;
            } else if (c == '\n' || c == '\r') {
                if (!record_end(p, err))
                    return false;
                p->st = c == '\r' ? ST_AFTER_CR : ST_FIELD_START;
            } else {
                return failf(p, err, CSV_INVALID, NULL, p->header_done,
                             "line %lld: text after the closing quote of a field; a quote inside "
                             "a quoted field is written twice (\"\")",
                             (long long)p->line);
            }
            break;
        }
    }
    return true;
}

bool csv_parser_feed(csv_parser *p, const char *data, size_t len, csv_error *err)
{
    if (p->failed)
        return failf(p, err, CSV_INVALID, NULL, false, "the CSV reader already failed");
    if (!p->started) {
        /* A byte-order mark, possibly split across chunks. */
        size_t i = 0;
        while (i < len && p->bom_seen < 3 && (unsigned char)data[i] == BOM[p->bom_seen])
            i++, p->bom_seen++;
        if (p->bom_seen < 3 && i == len)
            return true; /* all of it may still be a mark */
        p->started = true;
        if (p->bom_seen < 3) {
            /* Not a mark after all: the bytes matched in earlier chunks are
             * text, and so is this whole chunk. */
            size_t earlier = p->bom_seen - i;
            return parse(p, (const char *)BOM, earlier, err) && parse(p, data, len, err);
        }
        data += i;
        len -= i;
    }
    return parse(p, data, len, err);
}

bool csv_parser_finish(csv_parser *p, csv_dataset *out, csv_error *err)
{
    memset(out, 0, sizeof *out);
    if (p->failed)
        return failf(p, err, CSV_INVALID, NULL, false, "the CSV reader already failed");
    if (!p->started && p->bom_seen < 3 && !parse(p, (const char *)BOM, p->bom_seen, err))
        return false;
    if (p->st == ST_QUOTED)
        return failf(p, err, CSV_INVALID, NULL, p->header_done,
                     "the quoted field that starts on line %lld is not closed before the end",
                     (long long)p->rec_line);
    if ((p->st != ST_FIELD_START && p->st != ST_AFTER_CR) || p->col > 0)
        if (!field_end(p, true, err))
            return false;
    if (!p->header_done)
        return failf(p, err, CSV_INVALID, NULL, false,
                     "the CSV is empty; send a header row of column names, then the data rows");
    if (p->rows == 0)
        return failf(p, err, CSV_INVALID, NULL, false, "the CSV has a header but no data rows");
    if (p->labels_on && !p->numeric_ok) {
        uint32_t *remap;
        if (!csv_labels_sort(p->labels, &out->labels, &out->n_labels, &remap))
            return nomem(p, err);
        for (size_t r = 0; r < p->rows; r++)
            p->tg[r] = (float)remap[p->lab[r]];
        free(remap);
    }
    /* Give back the doubling's slack. */
    float *in = realloc(p->in, p->rows * p->n_in * sizeof(float));
    float *tg = realloc(p->tg, p->rows * p->n_tg * sizeof(float));
    out->inputs = in ? in : p->in;
    out->targets = tg ? tg : p->tg;
    p->in = p->tg = NULL;
    out->rows = p->rows;
    out->n_inputs = p->n_in;
    out->n_targets = p->n_tg;
    out->input_names = calloc(p->n_in, sizeof(char *));
    out->target_names = calloc(p->n_tg, sizeof(char *));
    if (!out->input_names || !out->target_names) {
        csv_dataset_free(out);
        return nomem(p, err);
    }
    for (size_t c = 0; c < p->n_cols; c++) {
        int32_t role = p->role[c];
        if (role >= 0)
            out->input_names[role] = p->names[c];
        else
            out->target_names[-1 - role] = p->names[c];
        p->names[c] = NULL;
    }
    return true;
}
