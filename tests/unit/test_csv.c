/*
 * test_csv.c — the streaming CSV reader (server/csv.c): RFC 4180 quoting,
 * line ends, the byte-order mark, blank lines, class labels and their
 * order, several targets, every error with the spot it names; and every
 * input fed whole, in every split into two and three chunks, and one byte
 * at a time, which must all give the same dataset or the same error.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

/* The outcome of reading a text: the dataset, or the error. */
typedef struct {
    bool ok;
    csv_dataset d;
    csv_error err;
} outcome;

/* Reads text cut at the given offsets (sorted, n_cuts of them). */
static outcome read_cut(const char *text, size_t len, const csv_options *opt, const size_t *cuts,
                        size_t n_cuts)
{
    outcome o;
    memset(&o, 0, sizeof o);
    csv_parser *p = csv_parser_create(opt);
    ck_assert_ptr_nonnull(p);
    size_t at = 0;
    o.ok = true;
    for (size_t i = 0; o.ok && i <= n_cuts; i++) {
        size_t end = i < n_cuts ? cuts[i] : len;
        if (end > at)
            o.ok = csv_parser_feed(p, text + at, end - at, &o.err);
        at = end;
    }
    o.ok = o.ok && csv_parser_finish(p, &o.d, &o.err);
    csv_parser_free(p);
    return o;
}

static outcome read_whole(const char *text, const csv_options *opt)
{
    return read_cut(text, strlen(text), opt, NULL, 0);
}

static void outcome_free(outcome *o)
{
    csv_dataset_free(&o->d);
}

static void assert_same(const outcome *a, const outcome *b, const char *how)
{
    ck_assert_msg(a->ok == b->ok, "%s: ok %d vs %d (%s)", how, a->ok, b->ok,
                  a->ok ? b->err.message : a->err.message);
    if (!a->ok) {
        ck_assert_msg(strcmp(a->err.message, b->err.message) == 0, "%s: \"%s\" vs \"%s\"", how,
                      a->err.message, b->err.message);
        ck_assert_int_eq(a->err.row, b->err.row);
        ck_assert_int_eq(a->err.line, b->err.line);
        return;
    }
    const csv_dataset *x = &a->d, *y = &b->d;
    ck_assert_msg(x->rows == y->rows, "%s: %zu rows vs %zu", how, x->rows, y->rows);
    ck_assert_uint_eq(x->n_inputs, y->n_inputs);
    ck_assert_uint_eq(x->n_targets, y->n_targets);
    ck_assert_uint_eq(x->n_labels, y->n_labels);
    ck_assert(memcmp(x->inputs, y->inputs, x->rows * x->n_inputs * sizeof(float)) == 0);
    ck_assert(memcmp(x->targets, y->targets, x->rows * x->n_targets * sizeof(float)) == 0);
    for (size_t i = 0; i < x->n_inputs; i++)
        ck_assert_str_eq(x->input_names[i], y->input_names[i]);
    for (size_t i = 0; i < x->n_targets; i++)
        ck_assert_str_eq(x->target_names[i], y->target_names[i]);
    for (size_t i = 0; i < x->n_labels; i++)
        ck_assert_str_eq(x->labels[i], y->labels[i]);
}

/* Reads text whole, then in every split into two pieces, every split into
 * three (for short texts), and one byte at a time: all must agree. Returns
 * the whole reading. */
static outcome read_every_way(const char *text, const csv_options *opt)
{
    size_t len = strlen(text);
    outcome whole = read_whole(text, opt);
    char how[64];
    for (size_t a = 1; a < len; a++) {
        outcome o = read_cut(text, len, opt, (size_t[]){a}, 1);
        snprintf(how, sizeof how, "split at %zu", a);
        assert_same(&whole, &o, how);
        outcome_free(&o);
        for (size_t b = a + 1; len <= 160 && b < len; b++) {
            o = read_cut(text, len, opt, (size_t[]){a, b}, 2);
            snprintf(how, sizeof how, "split at %zu and %zu", a, b);
            assert_same(&whole, &o, how);
            outcome_free(&o);
        }
    }
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    outcome bytes = read_cut(text, len, opt, cuts, len ? len - 1 : 0);
    free(cuts);
    assert_same(&whole, &bytes, "one byte at a time");
    outcome_free(&bytes);
    return whole;
}

static const csv_options AUTO = {0};

static void assert_floats(const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "value %zu: %g, expected %g", i, got[i], want[i]);
}

/* The error of reading text every way; its message must contain each of
 * the NULL-terminated fragments. */
static csv_error expect_error(const char *text, const csv_options *opt, const char *const *frags)
{
    outcome o = read_every_way(text, opt);
    ck_assert_msg(!o.ok, "read \"%s\" without an error", text);
    ck_assert_int_eq(o.err.status, CSV_INVALID);
    for (const char *const *f = frags; *f; f++)
        ck_assert_msg(strstr(o.err.message, *f), "\"%s\" does not say \"%s\"", o.err.message, *f);
    return o.err;
}

/* ------------------------------------------------------------ datasets */

START_TEST(numeric_last_column_is_the_target)
{
    outcome o = read_every_way("a,b,y\n1,2,3\n-4.5,5e2,0.25\n", &AUTO);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_uint_eq(o.d.rows, 2);
    ck_assert_uint_eq(o.d.n_inputs, 2);
    ck_assert_uint_eq(o.d.n_targets, 1);
    assert_floats(o.d.inputs, (float[]){1, 2, -4.5f, 500}, 4);
    assert_floats(o.d.targets, (float[]){3, 0.25f}, 2);
    ck_assert_str_eq(o.d.input_names[0], "a");
    ck_assert_str_eq(o.d.input_names[1], "b");
    ck_assert_str_eq(o.d.target_names[0], "y");
    ck_assert_ptr_null(o.d.labels);
    outcome_free(&o);
}
END_TEST

START_TEST(string_target_becomes_sorted_labels)
{
    outcome o = read_every_way("x,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n", &AUTO);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_uint_eq(o.d.n_labels, 3);
    ck_assert_str_eq(o.d.labels[0], "setosa");
    ck_assert_str_eq(o.d.labels[1], "versicolor");
    ck_assert_str_eq(o.d.labels[2], "virginica");
    assert_floats(o.d.targets, (float[]){2, 0, 1, 0}, 4);
    outcome_free(&o);
}
END_TEST

START_TEST(label_type_makes_numbers_classes_in_numeric_order)
{
    csv_options opt = {.type = CSV_TARGET_LABEL};
    outcome o = read_every_way("x,digit\n1,10\n2,2\n3,0\n4,2\n", &opt);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_uint_eq(o.d.n_labels, 3);
    ck_assert_str_eq(o.d.labels[0], "0");
    ck_assert_str_eq(o.d.labels[1], "2");
    ck_assert_str_eq(o.d.labels[2], "10");
    assert_floats(o.d.targets, (float[]){2, 1, 0, 1}, 4);
    outcome_free(&o);
    ck_assert_int_eq(csv_target_type_from_name("class"), CSV_TARGET_LABEL);
    ck_assert_int_eq(csv_target_type_from_name("label"), CSV_TARGET_LABEL);
    ck_assert_int_eq(csv_target_type_from_name("numeric"), CSV_TARGET_NUMERIC);
    ck_assert_int_eq(csv_target_type_from_name("auto"), CSV_TARGET_AUTO);
    ck_assert_int_eq(csv_target_type_from_name("bogus"), -1);
}
END_TEST

START_TEST(numeric_column_with_a_word_becomes_labels_in_byte_order)
{
    outcome o = read_every_way("x,y\n1,2\n2,10\n3,b\n", &AUTO);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_uint_eq(o.d.n_labels, 3);
    ck_assert_str_eq(o.d.labels[0], "10");
    ck_assert_str_eq(o.d.labels[1], "2");
    ck_assert_str_eq(o.d.labels[2], "b");
    outcome_free(&o);
}
END_TEST

START_TEST(several_targets_in_the_order_named)
{
    csv_options opt = {.targets = "y2, y1"};
    outcome o = read_every_way("y1,a,y2,b\n1,2,3,4\n5,6,7,8\n", &opt);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_uint_eq(o.d.n_inputs, 2);
    ck_assert_uint_eq(o.d.n_targets, 2);
    assert_floats(o.d.inputs, (float[]){2, 4, 6, 8}, 4);
    assert_floats(o.d.targets, (float[]){3, 1, 7, 5}, 4);
    ck_assert_str_eq(o.d.target_names[0], "y2");
    ck_assert_str_eq(o.d.target_names[1], "y1");
    ck_assert_str_eq(o.d.input_names[0], "a");
    ck_assert_str_eq(o.d.input_names[1], "b");
    outcome_free(&o);
}
END_TEST

START_TEST(target_in_the_middle)
{
    csv_options opt = {.targets = "label"};
    outcome o = read_every_way("a,label,b\n1,cat,2\n3,dog,4\n", &opt);
    ck_assert_msg(o.ok, "%s", o.err.message);
    assert_floats(o.d.inputs, (float[]){1, 2, 3, 4}, 4);
    assert_floats(o.d.targets, (float[]){0, 1}, 2);
    outcome_free(&o);
}
END_TEST

START_TEST(quoted_fields)
{
    /* Quoted names and numbers, "" escapes, commas and a line break in quotes. */
    const char *text = "\"a\",\"b,c\",\"the \"\"class\"\"\"\n"
                       "\"1\",\" 2 \",\"x \"\"y\"\", z\"\n"
                       "3,4,\"two\nlines\"\n"
                       "5,6,\"\"\"\"\n";
    outcome o = read_every_way(text, &AUTO);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_str_eq(o.d.input_names[1], "b,c");
    ck_assert_str_eq(o.d.target_names[0], "the \"class\"");
    assert_floats(o.d.inputs, (float[]){1, 2, 3, 4, 5, 6}, 6);
    ck_assert_uint_eq(o.d.n_labels, 3);
    ck_assert_str_eq(o.d.labels[0], "\"");
    ck_assert_str_eq(o.d.labels[1], "two\nlines");
    ck_assert_str_eq(o.d.labels[2], "x \"y\", z");
    assert_floats(o.d.targets, (float[]){2, 1, 0}, 3);
    outcome_free(&o);
}
END_TEST

START_TEST(line_ends_bom_and_blank_lines)
{
    const char *want = "a,b,y\n1,2,p\n3,4,q\n";
    outcome ref = read_whole(want, &AUTO);
    ck_assert(ref.ok);
    const char *variants[] = {
        "a,b,y\r\n1,2,p\r\n3,4,q\r\n",          /* CRLF */
        "\xEF\xBB\xBF" "a,b,y\n1,2,p\n3,4,q\n", /* a byte-order mark */
        "a,b,y\n1,2,p\n3,4,q",                  /* no final line end */
        "a,b,y\r\n1,2,p\r\n3,4,q",              /* CRLF, none at the end */
        "a,b,y\n1,2,p\n3,4,q\n\n",              /* a blank trailing line */
        "a,b,y\r\n1,2,p\r\n3,4,q\r\n\r\n",      /* the same with CRLF */
        "\n\na,b,y\n1,2,p\n\n3,4,q\n",          /* blank lines anywhere */
        "a,b,y\r1,2,p\r3,4,q\r",                /* lone CRs */
        "\xEF\xBB\xBF" "a,b,y\r\n1,2,\"p\"\r\n3,4,q", /* everything at once */
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        outcome o = read_every_way(variants[i], &AUTO);
        char how[32];
        snprintf(how, sizeof how, "variant %zu", i);
        assert_same(&ref, &o, how);
        outcome_free(&o);
    }
    outcome_free(&ref);
}
END_TEST

START_TEST(not_a_bom_is_text)
{
    /* Bytes that start like a byte-order mark but are not one stay in the name. */
    outcome o = read_every_way("\xEF\xBBz,y\n1,2\n", &AUTO);
    ck_assert_msg(o.ok, "%s", o.err.message);
    ck_assert_str_eq(o.d.input_names[0], "\xEF\xBBz");
    outcome_free(&o);
}
END_TEST

START_TEST(many_rows_grow_the_arrays)
{
    size_t n = 5000;
    char *text = malloc(n * 32 + 32);
    size_t at = (size_t)sprintf(text, "x1,x2,class\n");
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(text + at, "%zu,%zu.5,c%zu\n", i, i * 2, i % 7);
    size_t cuts[] = {1, 7, 100, 4096, 4097, 20000, 20001, at - 1};
    outcome whole = read_whole(text, &AUTO), cut = read_cut(text, at, &AUTO, cuts, 8);
    ck_assert_msg(whole.ok, "%s", whole.err.message);
    assert_same(&whole, &cut, "cut");
    ck_assert_uint_eq(whole.d.rows, n);
    ck_assert_uint_eq(whole.d.n_labels, 7);
    ck_assert(whole.d.inputs[2 * 4999] == 4999.0f && whole.d.inputs[2 * 4999 + 1] == 9998.5f);
    ck_assert(whole.d.targets[4999] == (float)(4999 % 7));
    outcome_free(&whole);
    outcome_free(&cut);
    free(text);
}
END_TEST

/* --------------------------------------------------------------- errors */

START_TEST(ragged_row)
{
    csv_error e = expect_error("a,b,y\n1,2,3\n\n4,5\n", &AUTO,
                               (const char *[]){"row 2", "line 4", "2 fields", "3 columns", NULL});
    ck_assert_int_eq(e.row, 2);
    ck_assert_int_eq(e.line, 4);
    expect_error("a,b,y\n1,2,3,4\n", &AUTO, (const char *[]){"row 1", "line 2", "4 fields", NULL});
}
END_TEST

START_TEST(non_numeric_feature)
{
    csv_error e = expect_error("width,height,y\n1,2,a\n3,\"tall\",b\n", &AUTO,
                               (const char *[]){"row 2", "line 3", "\"height\"", "\"tall\"", NULL});
    ck_assert_int_eq(e.row, 2);
    expect_error("a,y\n,1\n", &AUTO, (const char *[]){"row 1", "column \"a\"", "\"\"", NULL});
    expect_error("a,y\nnan,1\n", &AUTO, (const char *[]){"\"nan\"", "not a number", NULL});
    expect_error("a,y\n1e999,1\n", &AUTO, (const char *[]){"\"1e999\"", NULL});
    /* after a quoted line break, the line is still the record's first */
    expect_error("a,y\n1,\"x\ny\"\nq,z\n", &AUTO, (const char *[]){"row 2", "line 4", NULL});
}
END_TEST

START_TEST(unknown_target)
{
    csv_options opt = {.targets = "colour"};
    csv_error e = expect_error("a,b,y\n1,2,3\n", &opt,
                               (const char *[]){"\"colour\"", "not in the header", "a, b, y", NULL});
    ck_assert_str_eq(e.field, "target");
    csv_options two = {.targets = "y,z"};
    e = expect_error("a,b,y\n1,2,3\n", &two, (const char *[]){"\"z\"", NULL});
    ck_assert_str_eq(e.field, "targets");
}
END_TEST

START_TEST(empty_and_header_only)
{
    expect_error("", &AUTO, (const char *[]){"empty", NULL});
    expect_error("\n\n", &AUTO, (const char *[]){"empty", NULL});
    expect_error("\xEF\xBB\xBF", &AUTO, (const char *[]){"empty", NULL});
    expect_error("a,b,y\n", &AUTO, (const char *[]){"no data rows", NULL});
    expect_error("a,b,y", &AUTO, (const char *[]){"no data rows", NULL});
    expect_error("a,b,y\r\n\r\n", &AUTO, (const char *[]){"no data rows", NULL});
}
END_TEST

START_TEST(duplicate_column)
{
    expect_error("a,b,a,y\n1,2,3,4\n", &AUTO,
                 (const char *[]){"\"a\"", "twice", "columns 1 and 3", NULL});
}
END_TEST

START_TEST(bad_quotes_and_options)
{
    expect_error("a,y\n1,\"open\n", &AUTO, (const char *[]){"line 2", "not closed", NULL});
    expect_error("a,y\n1,\"x\"z\n", &AUTO, (const char *[]){"line 2", "closing quote", NULL});
    expect_error("y\n1\n", &AUTO, (const char *[]){"one column", NULL});
    expect_error("a,,y\n1,2,3\n", &AUTO, (const char *[]){"column 2", "no name", NULL});
    csv_options numeric = {.type = CSV_TARGET_NUMERIC};
    expect_error("a,y\n1,2\n3,cat\n", &numeric,
                 (const char *[]){"row 2", "target column \"y\"", "\"cat\"", NULL});
    csv_options two_labels = {.targets = "a,b", .type = CSV_TARGET_LABEL};
    csv_error e = expect_error("a,b,c\n1,2,3\n", &two_labels, (const char *[]){"single", NULL});
    ck_assert_str_eq(e.field, "target_type");
    csv_options two = {.targets = "a,y"};
    expect_error("a,b,y\n1,2,3\n4,5,z\n", &two,
                 (const char *[]){"row 2", "\"z\"", "several target columns", NULL});
    csv_options all = {.targets = "a,y"};
    expect_error("a,y\n1,2\n", &all, (const char *[]){"input column", NULL});
    expect_error("a,y\n1,\n", &AUTO, (const char *[]){"row 1", "empty", NULL});
}
END_TEST

START_TEST(labels_table)
{
    csv_labels *l = csv_labels_create();
    ck_assert_int_eq(csv_labels_intern(l, "b", 1), 0);
    ck_assert_int_eq(csv_labels_intern(l, "a", 1), 1);
    ck_assert_int_eq(csv_labels_intern(l, "bb", 1), 0); /* only len bytes count */
    ck_assert_int_eq(csv_labels_intern(l, "bb", 2), 2);
    for (int i = 0; i < 1000; i++) {
        char s[16];
        int n = snprintf(s, sizeof s, "k%d", i);
        ck_assert_int_eq(csv_labels_intern(l, s, (size_t)n), 3 + i);
        ck_assert_int_eq(csv_labels_intern(l, s, (size_t)n), 3 + i);
    }
    ck_assert_uint_eq(csv_labels_count(l), 1003);
    char **names;
    size_t n;
    uint32_t *remap;
    ck_assert(csv_labels_sort(l, &names, &n, &remap));
    ck_assert_uint_eq(n, 1003);
    ck_assert_str_eq(names[0], "a");
    ck_assert_str_eq(names[1], "b");
    ck_assert_str_eq(names[2], "bb");
    ck_assert_uint_eq(remap[0], 1);
    ck_assert_uint_eq(remap[1], 0);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(remap);
    ck_assert_uint_eq(csv_labels_count(l), 0);
    csv_labels_free(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("csv");
    TCase *ok = tcase_create("datasets");
    tcase_set_timeout(ok, 60);
    tcase_add_test(ok, numeric_last_column_is_the_target);
    tcase_add_test(ok, string_target_becomes_sorted_labels);
    tcase_add_test(ok, label_type_makes_numbers_classes_in_numeric_order);
    tcase_add_test(ok, numeric_column_with_a_word_becomes_labels_in_byte_order);
    tcase_add_test(ok, several_targets_in_the_order_named);
    tcase_add_test(ok, target_in_the_middle);
    tcase_add_test(ok, quoted_fields);
    tcase_add_test(ok, line_ends_bom_and_blank_lines);
    tcase_add_test(ok, not_a_bom_is_text);
    tcase_add_test(ok, many_rows_grow_the_arrays);
    tcase_add_test(ok, labels_table);
    suite_add_tcase(s, ok);
    TCase *bad = tcase_create("errors");
    tcase_set_timeout(bad, 60);
    tcase_add_test(bad, ragged_row);
    tcase_add_test(bad, non_numeric_feature);
    tcase_add_test(bad, unknown_target);
    tcase_add_test(bad, empty_and_header_only);
    tcase_add_test(bad, duplicate_column);
    tcase_add_test(bad, bad_quotes_and_options);
    suite_add_tcase(s, bad);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
