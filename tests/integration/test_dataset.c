/*
 * test_dataset.c — datasets through the real binary: a CSV of three Gaussian
 * blobs named like iris species (made here, seeded) uploads, trains to more
 * than 95% (checked with /evaluate) and /predict answers labels; the same
 * rows with quoted fields, CRLF, a byte-order mark and no final newline read
 * the same; JSON uploads; target columns chosen at upload and re-chosen by
 * /train; every upload error answers 4xx with its spot in `detail` and
 * stores nothing; a body over --max-dataset answers 413; an upload cut off
 * mid-stream (a raw socket that promises more than it sends) stores nothing
 * and the server goes on serving.
 */
#include <arpa/inet.h>
#include <check.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

static server *srv;

static void start_default(void) { srv = server_start(NULL); }
static void start_small(void)
{
    srv = server_start((const char *[]){"--max-dataset", "2K", "--max-body", "1K", NULL});
}
static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}

static const char *const CSV[] = {"Content-Type: text/csv", NULL};

/* ------------------------------------------------------------- helpers */

/* A growing string. */
typedef struct {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        ck_assert_ptr_nonnull(t->s);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A small seeded generator (splitmix64), so the blobs are the same every run. */
static uint64_t rng_state;
static double uniform(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}
static double normal(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

static const char *const SPECIES[3] = {"versicolor", "setosa", "virginica"};
static const double CENTRE[3][4] = {{6.0, 2.8, 4.3, 1.3}, {5.0, 3.4, 1.5, 0.2}, {6.6, 3.0, 5.6, 2.0}};

/* rows of blobs, 4 features then the species. style: 0 plain LF with a
 * final newline; 1 CRLF, a byte-order mark, every field quoted, a species
 * with a comma in quotes, no final newline. */
static char *blobs_csv(size_t rows, int style)
{
    text t = {0};
    const char *eol = style ? "\r\n" : "\n";
    rng_state = 42;
    if (style)
        text_add(&t, "\xEF\xBB\xBF\"sepal_length\",\"sepal_width\",\"petal_length\",\"petal width\",\"species\"%s", eol);
    else
        text_add(&t, "sepal_length,sepal_width,petal_length,petal width,species%s", eol);
    for (size_t r = 0; r < rows; r++) {
        int k = (int)(r % 3);
        double f[4];
        for (int j = 0; j < 4; j++)
            f[j] = CENTRE[k][j] + 0.25 * normal();
        const char *end = style && r + 1 == rows ? "" : eol;
        if (style)
            text_add(&t, "\"%.3f\",\"%.3f\",\"%.3f\",\"%.3f\",\"%s\"%s", f[0], f[1], f[2], f[3], SPECIES[k], end);
        else
            text_add(&t, "%.3f,%.3f,%.3f,%.3f,%s%s", f[0], f[1], f[2], f[3], SPECIES[k], end);
    }
    return t.s;
}

static cJSON *expect_status(const http_reply *r, long status)
{
    ck_assert_msg(r->status == status, "status %ld, expected %ld: %s", r->status, status, r->body);
    return r->len ? http_reply_json(r) : NULL;
}


static void expect_absent(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "/dataset/%s", name);
    http_reply r = http_get(srv, path, NULL);
    ck_assert_msg(r.status == 404, "GET %s: %ld %s", path, r.status, r.body);
    http_reply_free(&r);
}

/* Uploads text as CSV to /dataset?query; returns the reply. */
static http_reply upload_csv(const char *query, const char *csv)
{
    char path[512];
    snprintf(path, sizeof path, "/dataset?%s", query);
    return http_request(srv, "POST", path, csv, strlen(csv), CSV);
}

/* Trains with this JSON (wait=true) and asserts it succeeded. */
static void train_ok(const char *json)
{
    http_reply r = http_post(srv, "/train?wait=true", json, NULL);
    cJSON *j = expect_status(&r, 201);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "succeeded");
    cJSON_Delete(j);
    http_reply_free(&r);
}

/* ------------------------------------------------------------- classes */

START_TEST(blobs_train_to_95_percent_and_predict_labels)
{
    char *csv = blobs_csv(300, 0);
    http_reply r = upload_csv("name=iris&target=species", csv);
    free(csv);
    cJSON *d = expect_status(&r, 201);
    ck_assert_str_eq(http_reply_header(&r, "Location"), "/dataset/iris");
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "rows")), 300);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "inputs")), 4);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "targets")), 1);
    cJSON *labels = cJSON_GetObjectItem(d, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(labels), 3);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(labels, 0)), "setosa");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(labels, 1)), "versicolor");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(labels, 2)), "virginica");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "input_columns"), 3)),
                     "petal width");
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(d, "created_at")));
    cJSON_Delete(d);
    http_reply_free(&r);

    train_ok("{\"model\":\"iris\",\"dataset\":\"iris\",\"target\":\"species\",\"layers\":[4,16,3],"
             "\"activation\":\"relu\",\"loss\":\"crossentropy\",\"optimizer\":\"adam\",\"learning_rate\":0.01,"
             "\"batch_size\":16,\"epochs\":60,\"normalize\":\"standard\",\"validation_split\":0.2,\"seed\":7}");

    r = http_post(srv, "/evaluate", "{\"model\":\"iris\",\"version\":\"latest\",\"dataset\":\"iris\"}", NULL);
    cJSON *ev = expect_status(&r, 200);
    double acc = cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "accuracy"));
    ck_assert_msg(acc > 0.95, "accuracy %g", acc);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "rows")), 300);
    ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "loss")) < 0.3);
    cJSON *cm = cJSON_GetObjectItem(ev, "confusion_matrix");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 3);
    double total = 0, diagonal = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double v = cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, i), j));
            total += v;
            diagonal += i == j ? v : 0;
        }
    ck_assert(total == 300 && fabs(diagonal / 300 - acc) < 1e-6);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "labels"), 2)), "virginica");
    ck_assert_ptr_null(cJSON_GetObjectItem(ev, "rmse"));
    cJSON_Delete(ev);
    http_reply_free(&r);

    /* Inline rows with labels as targets, and with class indices. */
    r = http_post(srv, "/evaluate",
                  "{\"model\":\"iris\",\"inputs\":[[5.0,3.4,1.5,0.2],[6.6,3.0,5.6,2.0]],"
                  "\"targets\":[\"setosa\",\"virginica\"]}", NULL);
    ev = expect_status(&r, 200);
    ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "accuracy")) == 1.0);
    cJSON_Delete(ev);
    http_reply_free(&r);
    r = http_post(srv, "/evaluate", "{\"model\":\"iris\",\"inputs\":[[5.0,3.4,1.5,0.2]],\"targets\":[0]}", NULL);
    ev = expect_status(&r, 200);
    ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "accuracy")) == 1.0);
    cJSON_Delete(ev);
    http_reply_free(&r);
    r = http_post(srv, "/evaluate", "{\"model\":\"iris\",\"inputs\":[[5.0,3.4,1.5,0.2]],\"targets\":[\"rose\"]}", NULL);
    expect_problem(&r, 400, "targets[0]", (const char *[]){"\"rose\"", NULL});
    http_reply_free(&r);

    r = http_post(srv, "/predict",
                  "{\"model\":\"iris\",\"inputs\":[[5.0,3.4,1.5,0.2],[6.0,2.8,4.3,1.3],[6.6,3.0,5.6,2.0]]}", NULL);
    cJSON *p = expect_status(&r, 200);
    cJSON *pl = cJSON_GetObjectItem(p, "labels");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(pl, 0)), "setosa");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(pl, 1)), "versicolor");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(pl, 2)), "virginica");
    cJSON_Delete(p);
    http_reply_free(&r);

    /* The version keeps the labels. */
    r = http_get(srv, "/model/iris/versions/1", NULL);
    cJSON *v = expect_status(&r, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(v, "labels")), 3);
    cJSON_Delete(v);
    http_reply_free(&r);
}
END_TEST

START_TEST(quoted_crlf_bom_no_final_newline_read_the_same)
{
    char *plain = blobs_csv(60, 0), *fancy = blobs_csv(60, 1);
    http_reply a = upload_csv("name=plain", plain), b = upload_csv("name=fancy&target=species", fancy);
    free(plain);
    free(fancy);
    cJSON *x = expect_status(&a, 201), *y = expect_status(&b, 201);
    const char *keys[] = {"rows", "inputs", "targets", "input_columns", "target_columns", "labels"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(cJSON_Compare(cJSON_GetObjectItem(x, keys[i]), cJSON_GetObjectItem(y, keys[i]), 1),
                      "%s differs", keys[i]);
    cJSON_Delete(x);
    cJSON_Delete(y);
    http_reply_free(&a);
    http_reply_free(&b);
    /* Same rows: a model trained on one scores the same on the other. */
    train_ok("{\"model\":\"same\",\"dataset\":\"plain\",\"layers\":[4,3],\"loss\":\"crossentropy\","
             "\"epochs\":5,\"seed\":1}");
    double loss[2];
    const char *names[2] = {"plain", "fancy"};
    for (int i = 0; i < 2; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"model\":\"same\",\"dataset\":\"%s\"}", names[i]);
        http_reply r = http_post(srv, "/evaluate", body, NULL);
        cJSON *ev = expect_status(&r, 200);
        loss[i] = cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "loss"));
        cJSON_Delete(ev);
        http_reply_free(&r);
    }
    ck_assert(loss[0] == loss[1]);
    /* A quoted species with a comma and a line break is one label. */
    http_reply r = upload_csv("name=odd", "x,kind\n1,\"a, b\"\n2,\"two\r\nlines\"\n3,\"a, b\"");
    cJSON *d = expect_status(&r, 201);
    cJSON *l = cJSON_GetObjectItem(d, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(l), 2);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(l, 0)), "a, b");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(l, 1)), "two\r\nlines");
    cJSON_Delete(d);
    http_reply_free(&r);
}
END_TEST

START_TEST(classes_matched_by_name_across_datasets)
{
    /* The training set has three species; a held-out set only two, so its
     * own label list differs ("virginica" is its class 1, the model's 2). */
    char *csv = blobs_csv(300, 0);
    http_reply r = upload_csv("name=iris3", csv);
    free(csv);
    cJSON_Delete(expect_status(&r, 201));
    http_reply_free(&r);
    text t = {0};
    text_add(&t, "sepal_length,sepal_width,petal_length,petal width,species\n");
    rng_state = 99;
    for (int i = 0; i < 40; i++) {
        int k = i % 2 ? 2 : 1; /* virginica, setosa */
        text_add(&t, "%.3f,%.3f,%.3f,%.3f,%s\n", CENTRE[k][0] + 0.25 * normal(), CENTRE[k][1] + 0.25 * normal(),
                 CENTRE[k][2] + 0.25 * normal(), CENTRE[k][3] + 0.25 * normal(), SPECIES[k]);
    }
    r = upload_csv("name=iris-two", t.s);
    free(t.s);
    cJSON *d = expect_status(&r, 201);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "labels"), 1)), "virginica");
    cJSON_Delete(d);
    http_reply_free(&r);

    r = http_post(srv, "/train?wait=true",
                  "{\"model\":\"iris3\",\"dataset\":\"iris3\",\"validation_dataset\":\"iris-two\",\"layers\":[4,16,3],"
                  "\"activation\":\"relu\",\"loss\":\"crossentropy\",\"optimizer\":\"adam\",\"learning_rate\":0.01,"
                  "\"batch_size\":16,\"epochs\":60,\"normalize\":\"standard\",\"seed\":7}", NULL);
    cJSON *job = expect_status(&r, 201);
    double val = cJSON_GetNumberValue(cJSON_GetObjectItem(job, "val_loss"));
    ck_assert_msg(val < 0.3, "val_loss %g: the held-out classes were not matched by name", val);
    cJSON_Delete(job);
    http_reply_free(&r);
    r = http_post(srv, "/evaluate", "{\"model\":\"iris3\",\"dataset\":\"iris-two\"}", NULL);
    cJSON *ev = expect_status(&r, 200);
    ck_assert_msg(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "accuracy")) > 0.95, "%s", r.body);
    cJSON *cm = cJSON_GetObjectItem(ev, "confusion_matrix");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 3); /* the model's classes, not the dataset's */
    ck_assert(cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 1), 1)) == 0); /* no versicolor rows */
    cJSON_Delete(ev);
    http_reply_free(&r);
}
END_TEST

START_TEST(binary_crossentropy_scores_at_one_half)
{
    train_ok("{\"model\":\"bce\",\"layers\":[1,1],\"loss\":\"binary_crossentropy\",\"learning_rate\":1,"
             "\"epochs\":300,\"seed\":1,\"inputs\":[[-2],[-1],[1],[2]],\"targets\":[[0],[0],[1],[1]]}");
    http_reply r = http_post(srv, "/evaluate",
                             "{\"model\":\"bce\",\"inputs\":[[-3],[-1.5],[1.5],[3],[0.5]],\"targets\":[[0],[0],[1],[1],[0]]}",
                             NULL);
    cJSON *ev = expect_status(&r, 200);
    ck_assert(fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "accuracy")) - 0.8) < 1e-6);
    cJSON *cm = cJSON_GetObjectItem(ev, "confusion_matrix");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 2);
    ck_assert(cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 0), 0)) == 2);
    ck_assert(cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 0), 1)) == 1);
    ck_assert(cJSON_GetNumberValue(cJSON_GetArrayItem(cJSON_GetArrayItem(cm, 1), 1)) == 2);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(ev, "labels")));
    cJSON_Delete(ev);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------ numeric targets */

START_TEST(several_targets_and_target_selection)
{
    text t = {0};
    text_add(&t, "y1,a,b,y2\n");
    for (int i = 0; i < 40; i++) {
        double a = i / 40.0, b = (i % 7) / 7.0;
        text_add(&t, "%g,%g,%g,%g\n", 0.3 * a + 0.2, a, b, 0.5 * b + 0.1);
    }
    http_reply r = upload_csv("name=reg&targets=y1,y2", t.s);
    free(t.s);
    cJSON *d = expect_status(&r, 201);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "targets")), 2);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(d, "labels")));
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "target_columns"), 1)), "y2");
    cJSON_Delete(d);
    http_reply_free(&r);

    /* Both targets, then only y2. */
    train_ok("{\"model\":\"reg2\",\"dataset\":\"reg\",\"layers\":[2,2],\"output_activation\":\"linear\","
             "\"optimizer\":\"adam\",\"learning_rate\":0.05,\"epochs\":200,\"batch_size\":8,\"seed\":3}");
    train_ok("{\"model\":\"reg1\",\"dataset\":\"reg\",\"target\":\"y2\",\"layers\":[2,1],"
             "\"output_activation\":\"linear\",\"optimizer\":\"adam\",\"learning_rate\":0.05,\"epochs\":200,"
             "\"batch_size\":8,\"seed\":3}");
    r = http_post(srv, "/evaluate", "{\"model\":\"reg1\",\"dataset\":\"reg\",\"target\":\"y2\"}", NULL);
    cJSON *ev = expect_status(&r, 200);
    ck_assert_msg(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "rmse")) < 0.05, "%s", r.body);
    ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "mae")) < 0.05);
    ck_assert_ptr_null(cJSON_GetObjectItem(ev, "accuracy"));
    cJSON_Delete(ev);
    http_reply_free(&r);
    r = http_post(srv, "/evaluate", "{\"model\":\"reg2\",\"inputs\":[[0.5,0.5]],\"targets\":[[0.35,0.35]]}", NULL);
    ev = expect_status(&r, 200);
    ck_assert(cJSON_GetNumberValue(cJSON_GetObjectItem(ev, "rmse")) < 0.1);
    cJSON_Delete(ev);
    http_reply_free(&r);

    /* A column that is not a stored target, and an input column. */
    r = http_post(srv, "/train", "{\"model\":\"bad\",\"dataset\":\"reg\",\"target\":\"zz\",\"layers\":[2,1]}", NULL);
    expect_problem(&r, 400, "target", (const char *[]){"\"zz\"", "y1, y2", NULL});
    http_reply_free(&r);
    r = http_post(srv, "/train", "{\"model\":\"bad\",\"dataset\":\"reg\",\"target\":\"a\",\"layers\":[2,1]}", NULL);
    expect_problem(&r, 400, "target", (const char *[]){"input column", NULL});
    http_reply_free(&r);
    r = http_post(srv, "/evaluate", "{\"model\":\"reg1\",\"dataset\":\"reg\"}", NULL);
    expect_problem(&r, 400, "dataset", (const char *[]){"2 target columns", NULL});
    http_reply_free(&r);
}
END_TEST

START_TEST(numeric_classes_with_target_type)
{
    http_reply r = upload_csv("name=digits&target=d&target_type=class", "x,d\n0.1,10\n0.5,2\n0.9,0\n0.4,2\n");
    cJSON *d = expect_status(&r, 201);
    cJSON *l = cJSON_GetObjectItem(d, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(l), 3);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(l, 0)), "0");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(l, 2)), "10");
    cJSON_Delete(d);
    http_reply_free(&r);
    r = upload_csv("name=digits2&target_type=sometimes", "x,d\n1,2\n");
    expect_problem(&r, 400, "target_type", NULL);
    http_reply_free(&r);
    expect_absent("digits2");
}
END_TEST

START_TEST(json_uploads)
{
    http_reply r = http_post(srv, "/dataset",
                             "{\"name\":\"gender\",\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],"
                             "\"targets\":[\"F\",\"M\",\"M\",\"F\"]}", NULL);
    cJSON *d = expect_status(&r, 201);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "labels"), 1)), "M");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "input_columns"), 1)), "x2");
    cJSON_Delete(d);
    http_reply_free(&r);
    r = http_post(srv, "/dataset", "{\"name\":\"gender\",\"inputs\":[[1,2]],\"targets\":[[1]]}", NULL);
    expect_problem(&r, 409, NULL, NULL);
    http_reply_free(&r);
    r = http_post(srv, "/dataset", "{\"name\":\"rows\",\"inputs\":[[1,2],[3,4]],\"targets\":[[1,0],[0,1]]}", NULL);
    d = expect_status(&r, 201);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "targets")), 2);
    cJSON_Delete(d);
    http_reply_free(&r);
    r = http_post(srv, "/dataset", "{\"name\":\"short\",\"inputs\":[[1,2],[3,4]],\"targets\":[1]}", NULL);
    expect_problem(&r, 400, "targets", NULL);
    http_reply_free(&r);
    expect_absent("short");
    train_ok("{\"model\":\"gender\",\"dataset\":\"gender\",\"layers\":[2,3,2],\"loss\":\"crossentropy\","
             "\"normalize\":\"standard\",\"epochs\":300,\"seed\":5}");
    r = http_post(srv, "/predict", "{\"model\":\"gender\",\"inputs\":[-7,-3]}", NULL);
    cJSON *p = expect_status(&r, 200);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "labels")), "F");
    cJSON_Delete(p);
    http_reply_free(&r);
}
END_TEST

/* /predict writes its answer by hand: labels with quotes, backslashes,
 * control characters and UTF-8 must come back as they went in. */
START_TEST(labels_with_json_specials_come_back_whole)
{
    static const char *const want[3] = {"say \"hi\"", "back\\slash\nnew line\ttab", "caf\xc3\xa9 \xe2\x9c\x93"};
    train_ok("{\"model\":\"odd\",\"layers\":[1,8,3],\"loss\":\"crossentropy\",\"optimizer\":\"adam\","
             "\"learning_rate\":0.05,\"epochs\":400,\"seed\":3,"
             "\"inputs\":[[0],[5],[10],[0.5],[5.5],[10.5]],"
             "\"targets\":[\"say \\\"hi\\\"\",\"back\\\\slash\\nnew line\\ttab\",\"caf\\u00e9 \u2713\","
             "\"say \\\"hi\\\"\",\"back\\\\slash\\nnew line\\ttab\",\"caf\\u00e9 \u2713\"]}");
    http_reply r = http_post(srv, "/predict", "{\"model\":\"odd\",\"inputs\":[[0],[5],[10]]}", NULL);
    cJSON *p = expect_status(&r, 200);
    cJSON *labels = cJSON_GetObjectItem(p, "labels");
    ck_assert_int_eq(cJSON_GetArraySize(labels), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetArrayItem(labels, i)), want[i]);
    cJSON_Delete(p);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"odd\",\"inputs\":[10]}", NULL);
    p = expect_status(&r, 200);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "labels")), want[2]);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(p, "outputs")), 3);
    cJSON_Delete(p);
    http_reply_free(&r);
}
END_TEST

START_TEST(list_show_delete)
{
    http_reply r = upload_csv("name=tmp1", "a,y\n1,2\n");
    http_reply_free(&r);
    r = http_get(srv, "/dataset", NULL);
    cJSON *l = expect_status(&r, 200);
    cJSON *list = cJSON_GetObjectItem(l, "datasets");
    bool found = false;
    for (cJSON *d = list ? list->child : NULL; d; d = d->next)
        found = found || strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(d, "name")), "tmp1") == 0;
    ck_assert(found);
    cJSON_Delete(l);
    http_reply_free(&r);
    r = http_get(srv, "/dataset/tmp1", NULL);
    cJSON *d = expect_status(&r, 200);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "rows")), 1);
    cJSON_Delete(d);
    http_reply_free(&r);
    r = http_delete(srv, "/dataset/tmp1", NULL);
    ck_assert_int_eq(r.status, 204);
    http_reply_free(&r);
    expect_absent("tmp1");
    r = http_delete(srv, "/dataset/tmp1", NULL);
    expect_problem(&r, 404, NULL, NULL);
    http_reply_free(&r);
    r = http_get(srv, "/dataset/bad%20name", NULL);
    expect_problem(&r, 400, NULL, NULL);
    http_reply_free(&r);
}
END_TEST

START_TEST(delete_refused_while_a_job_uses_it)
{
    http_reply r = upload_csv("name=busy", "a,b,y\n1,2,1\n3,4,0\n5,6,1\n");
    ck_assert_int_eq(r.status, 201);
    http_reply_free(&r);
    r = http_post(srv, "/train", "{\"model\":\"busy-model\",\"layers\":[2,16,1],\"epochs\":1000000,"
                                 "\"dataset\":\"busy\",\"target\":\"y\"}", NULL);
    cJSON *job = expect_status(&r, 202);
    char path[64];
    snprintf(path, sizeof path, "/train/%d", (int)cJSON_GetNumberValue(cJSON_GetObjectItem(job, "id")));
    cJSON_Delete(job);
    http_reply_free(&r);
    r = http_delete(srv, "/dataset/busy", NULL);
    expect_problem(&r, 409, NULL, (const char *[]){"busy", NULL});
    http_reply_free(&r);
    r = http_delete(srv, path, NULL); /* cancel: the dataset is free again */
    ck_assert_msg(r.status == 200 || r.status == 202, "cancel: %ld %s", r.status, r.body);
    http_reply_free(&r);
    for (int i = 0; i < 500; i++) {
        r = http_delete(srv, "/dataset/busy", NULL);
        long status = r.status;
        http_reply_free(&r);
        if (status == 204)
            return;
        ck_assert_int_eq(status, 409);
        usleep(10000);
    }
    ck_abort_msg("the dataset stayed busy after its job was cancelled");
}
END_TEST

/* --------------------------------------------------------------- errors */

/* Uploads csv as name with query extra; asserts a 400 naming the spot, and
 * that nothing was stored. */
static void bad_upload(const char *name, const char *extra, const char *csv, const char *field,
                       const char *const *frags)
{
    char query[256];
    snprintf(query, sizeof query, "name=%s%s", name, extra);
    http_reply r = upload_csv(query, csv);
    expect_problem(&r, 400, field, frags);
    http_reply_free(&r);
    expect_absent(name);
}

START_TEST(upload_errors_name_the_spot)
{
    bad_upload("ragged", "", "a,b,y\n1,2,x\n3,4,y\n5,6\n", NULL,
               (const char *[]){"row 3", "line 4", "2 fields", "3 columns", NULL});
    bad_upload("notnum", "", "width,height,y\n1,2,a\n3,tall,b\n", NULL,
               (const char *[]){"row 2", "line 3", "\"height\"", "\"tall\"", NULL});
    bad_upload("target", "&target=colour", "a,b,y\n1,2,3\n", "target",
               (const char *[]){"\"colour\"", "a, b, y", NULL});
    bad_upload("targets", "&targets=y,colour", "a,b,y\n1,2,3\n", "targets", (const char *[]){"\"colour\"", NULL});
    bad_upload("empty", "", "", NULL, (const char *[]){"empty", NULL});
    bad_upload("header", "", "a,b,y\n", NULL, (const char *[]){"no data rows", NULL});
    bad_upload("dup", "", "a,b,a,y\n1,2,3,4\n", NULL, (const char *[]){"\"a\"", "twice", "columns 1 and 3", NULL});
    bad_upload("quote", "", "a,y\n1,\"never closed\n2,3\n", NULL, (const char *[]){"line 2", "not closed", NULL});
    bad_upload("both", "&target=y&targets=y", "a,y\n1,2\n", "targets", NULL);

    /* a late error (row 2001) after many good rows still stores nothing */
    text t = {0};
    text_add(&t, "a,b,y\n");
    for (int i = 0; i < 2000; i++)
        text_add(&t, "%d,%d,c%d\n", i, i, i % 3);
    text_add(&t, "1,2,3,4\n");
    bad_upload("late", "", t.s, NULL, (const char *[]){"row 2001", "line 2002", "4 fields", NULL});
    free(t.s);

    http_reply r = http_request(srv, "POST", "/dataset", "a,y\n1,2\n", 8, CSV);
    expect_problem(&r, 400, "name", NULL);
    http_reply_free(&r);
    r = http_request(srv, "POST", "/dataset?name=plain", "a,y\n1,2\n", 8,
                     (const char *[]){"Content-Type: application/x-www-form-urlencoded", NULL});
    expect_problem(&r, 415, NULL, (const char *[]){"text/csv", NULL});
    http_reply_free(&r);

    /* a duplicate name: 409, and the first dataset is untouched */
    r = upload_csv("name=twice", "a,y\n1,2\n");
    cJSON_Delete(expect_status(&r, 201));
    http_reply_free(&r);
    r = upload_csv("name=twice", "a,b,y\n1,2,3\n4,5,6\n");
    expect_problem(&r, 409, "name", (const char *[]){"twice", NULL});
    http_reply_free(&r);
    r = http_get(srv, "/dataset/twice", NULL);
    cJSON *d = expect_status(&r, 200);
    ck_assert_int_eq(cJSON_GetNumberValue(cJSON_GetObjectItem(d, "rows")), 1);
    cJSON_Delete(d);
    http_reply_free(&r);

    /* training and evaluation name the dataset at fault */
    r = http_post(srv, "/train", "{\"model\":\"m\",\"dataset\":\"nope\",\"layers\":[1,1]}", NULL);
    expect_problem(&r, 404, "dataset", NULL);
    http_reply_free(&r);
    r = http_post(srv, "/train", "{\"model\":\"m\",\"dataset\":\"twice\",\"layers\":[3,1]}", NULL);
    expect_problem(&r, 400, "layers[0]", (const char *[]){"1 input columns", NULL});
    http_reply_free(&r);
}
END_TEST

/* Sends a request that promises more body than it sends, then closes. */
static void send_cut_off(const char *name)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
    text t = {0};
    text_add(&t, "a,b,y\n");
    for (int i = 0; i < 500; i++)
        text_add(&t, "%d,%d,k%d\n", i, i * 2, i % 4);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /dataset?name=%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/csv\r\n"
                     "Content-Length: %zu\r\n\r\n", name, t.len * 10);
    ck_assert_int_eq(write(fd, head, (size_t)n), n);
    ck_assert_int_eq(write(fd, t.s, t.len), (ssize_t)t.len);
    free(t.s);
    usleep(200 * 1000); /* let the server parse what came */
    close(fd);
    usleep(200 * 1000);
}

START_TEST(cut_off_upload_stores_nothing)
{
    send_cut_off("cut");
    expect_absent("cut");
    http_reply r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    /* the name is free: a whole upload now succeeds */
    r = upload_csv("name=cut", "a,b,y\n1,2,k\n");
    cJSON_Delete(expect_status(&r, 201));
    http_reply_free(&r);
}
END_TEST

START_TEST(over_max_dataset_is_413)
{
    text t = {0};
    text_add(&t, "a,b,y\n");
    while (t.len < 4096)
        text_add(&t, "1,2,3\n");
    http_reply r = upload_csv("name=big", t.s);
    expect_problem(&r, 413, NULL, (const char *[]){"--max-dataset", NULL});
    http_reply_free(&r);
    /* Chunked, so no Content-Length warns the server: counted as it streams. */
    r = http_request(srv, "POST", "/dataset?name=big", t.s, t.len,
                     (const char *[]){"Content-Type: text/csv", "Transfer-Encoding: chunked", NULL});
    expect_problem(&r, 413, NULL, NULL);
    http_reply_free(&r);
    free(t.s);
    expect_absent("big");
    r = upload_csv("name=small", "a,y\n1,2\n");
    cJSON_Delete(expect_status(&r, 201));
    http_reply_free(&r);
    /* JSON is read whole: bounded by --max-body (1K here), said before reading. */
    text j = {0};
    text_add(&j, "{\"name\":\"bigjson\",\"inputs\":[");
    for (int i = 0; i < 200; i++)
        text_add(&j, "%s[%d]", i ? "," : "", i);
    text_add(&j, "],\"targets\":[");
    for (int i = 0; i < 200; i++)
        text_add(&j, "%s%d", i ? "," : "", i % 2);
    text_add(&j, "]}");
    r = http_post(srv, "/dataset", j.s, NULL);
    free(j.s);
    expect_problem(&r, 413, NULL, (const char *[]){"--max-body", NULL});
    http_reply_free(&r);
    expect_absent("bigjson");
    r = http_post(srv, "/dataset", "{\"name\":\"smalljson\",\"inputs\":[[1]],\"targets\":[2]}", NULL);
    cJSON_Delete(expect_status(&r, 201));
    http_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("datasets");
    tcase_add_unchecked_fixture(tc, start_default, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, blobs_train_to_95_percent_and_predict_labels);
    tcase_add_test(tc, quoted_crlf_bom_no_final_newline_read_the_same);
    tcase_add_test(tc, classes_matched_by_name_across_datasets);
    tcase_add_test(tc, binary_crossentropy_scores_at_one_half);
    tcase_add_test(tc, several_targets_and_target_selection);
    tcase_add_test(tc, numeric_classes_with_target_type);
    tcase_add_test(tc, json_uploads);
    tcase_add_test(tc, labels_with_json_specials_come_back_whole);
    tcase_add_test(tc, list_show_delete);
    tcase_add_test(tc, delete_refused_while_a_job_uses_it);
    tcase_add_test(tc, upload_errors_name_the_spot);
    tcase_add_test(tc, cut_off_upload_stores_nothing);
    suite_add_tcase(s, tc);
    TCase *small = tcase_create("limits");
    tcase_add_unchecked_fixture(small, start_small, stop);
    tcase_set_timeout(small, 60);
    tcase_add_test(small, over_max_dataset_is_413);
    suite_add_tcase(s, small);
    return run_suite(s);
}
