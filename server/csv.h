/*
 * csv.h — a streaming RFC 4180 reader that turns a CSV dataset into float32
 * rows as its bytes arrive, chunk by chunk, without ever holding the text:
 * only the field being read, the header's names, the rows parsed so far
 * (arrays that grow by doubling) and the distinct class labels are kept.
 *
 * The text: a header row of column names first; fields separated by commas,
 * optionally quoted ("" for a quote inside; commas and line breaks allowed
 * inside quotes); CRLF, LF or lone CR line ends; a UTF-8 byte-order mark at
 * the start is skipped; blank lines are skipped; the last line needs no line
 * end. Every non-target column is an input and must be numeric.
 *
 * Targets. By default the last column; or the columns named in
 * csv_options.targets ("y" or "y1,y2"). A single target column that is not
 * numeric (or csv_options.type == CSV_TARGET_LABEL) holds class labels:
 * the distinct values, sorted, become classes 0, 1, 2… and each row's target
 * is its class index as a float. Labels sort by numeric value when every
 * label is a number ("2" before "10"), otherwise by bytes.
 *
 * Failures name the spot: the data row (1-based, the header not counted),
 * the line of the file it starts on, the column's name and the value. After
 * a failure the parser takes nothing more; free it.
 *
 * Not thread-safe per parser; distinct parsers are independent.
 */
#ifndef SCRATCHNET_CSV_H
#define SCRATCHNET_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CSV_MAX_COLUMNS 65536   /* columns in the header, at most */
#define CSV_MAX_FIELD 65536     /* bytes in one field, at most */
#define CSV_MAX_CLASSES 65536   /* distinct class labels (the widest layer) */

/* How the target column is read (the query's target_type). */
typedef enum {
    CSV_TARGET_AUTO = 0, /* numeric, unless a value is not a number: then labels */
    CSV_TARGET_NUMERIC,  /* numbers only; anything else is an error */
    CSV_TARGET_LABEL,    /* class labels even if numeric (digits 0-9) */
} csv_target_type;

/* "auto", "numeric", "label" (and "class", the same as "label") → the type;
 * -1 for anything else. */
int csv_target_type_from_name(const char *name);

typedef struct {
    const char *targets;  /* comma-separated target column names; NULL or "": the last column */
    csv_target_type type;
} csv_options;

typedef enum {
    CSV_OK = 0,
    CSV_INVALID, /* the text or the options cannot make a dataset (message says where) */
    CSV_NOMEM,   /* an allocation failed */
} csv_status;

/* Why reading failed. field names the option at fault ("target", "targets",
 * "target_type") when an option, not the text, is wrong; else "". */
typedef struct {
    csv_status status;
    int64_t row;          /* data row (1-based), 0 when the fault is in no row */
    int64_t line;         /* line of the file where that row starts, 0 if none */
    char field[16];
    char message[512];
} csv_error;

/* A parsed dataset; JSON uploads (codec_dataset.c) fill the same struct.
 * Everything is owned by the struct and freed by csv_dataset_free. */
typedef struct {
    size_t rows, n_inputs, n_targets;
    float *inputs;        /* rows × n_inputs, row-major */
    float *targets;       /* rows × n_targets; class indices when labels */
    char **input_names;   /* n_inputs column names */
    char **target_names;  /* n_targets column names */
    char **labels;        /* n_labels sorted class labels, or NULL (numeric targets) */
    size_t n_labels;
} csv_dataset;

void csv_dataset_free(csv_dataset *d);

typedef struct csv_parser csv_parser;

/* A parser for one upload; opt is copied. NULL when out of memory. Options
 * are checked once the header is known (an unknown target is reported by the
 * feed that completes the header). */
csv_parser *csv_parser_create(const csv_options *opt);

/* Takes the next len bytes. False on failure, with err filled; the parser
 * then refuses every later call. */
bool csv_parser_feed(csv_parser *p, const char *data, size_t len, csv_error *err);

/* The end of the text: completes a last line without a line end, checks
 * that there were rows, sorts the labels and moves the dataset into *out
 * (which the caller frees with csv_dataset_free). False with err filled on
 * failure; *out is then zeroed. */
bool csv_parser_finish(csv_parser *p, csv_dataset *out, csv_error *err);

/* Frees the parser and whatever it still holds; NULL is fine. */
void csv_parser_free(csv_parser *p);

/* ---- class labels: distinct strings, interned, sorted at the end ----
 * Shared by the CSV reader and JSON uploads, so that both sort alike. */
typedef struct csv_labels csv_labels;

/* NULL when out of memory. */
csv_labels *csv_labels_create(void);
/* The index of s (len bytes) in order of first appearance, adding it if
 * new; -1 when out of memory, -2 when it would be label CSV_MAX_CLASSES + 1. */
int64_t csv_labels_intern(csv_labels *l, const char *s, size_t len);
size_t csv_labels_count(const csv_labels *l);
/* Sorts the labels (numerically when all are numbers, else by bytes): moves
 * them into *names (n of them; the caller frees each and the array) and
 * gives remap[first-appearance index] = sorted index (caller frees). The
 * table is left empty. False when out of memory (nothing is moved). */
bool csv_labels_sort(csv_labels *l, char ***names, size_t *n, uint32_t **remap);
void csv_labels_free(csv_labels *l);

#endif
