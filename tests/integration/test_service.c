/*
 * test_service.c — the service end to end, as a user of the API meets it:
 * the seed document's network trained, predicted with, its loss history
 * read (JSON, CSV, pages), trained again, pinned with aliases, listed, and
 * found intact after a restart; bit-identical training for one seed;
 * hand-set weights imported and checked against the seed's formulas
 * computed here; TensorFlow Serving's routes; CORS on the API routes.
 *
 * Jobs (async, SSE, cancel, classifiers) are in test_jobs.c, problems in
 * test_errors.c, the database schema in test_migrations.c.
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* The seed document's data: height and weight offsets, 1 = female. */
#define SEED_DATA                                                                          \
    "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]"
#define SEED_TRAIN "{\"model\":\"gender\",\"layers\":[2,2,1],\"init\":\"normal\",\"seed\":%d," SEED_DATA "}"

static server *srv;

static void start_default(void) { srv = server_start(NULL); }
static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}

/* ------------------------------------------------------------ helpers */

static cJSON *get_json(const server *s, const char *path, long status)
{
    http_reply r = http_get(s, path, NULL);
    return http_reply_take_json(&r, status);
}

/* outputs[row][col] of a /predict answer. */
static double output(const cJSON *answer, int row, int col)
{
    const cJSON *outs = json_item(answer, "outputs");
    const cJSON *r = cJSON_GetArrayItem(outs, row), *v = cJSON_GetArrayItem(r, col);
    ck_assert_msg(cJSON_IsNumber(v), "no outputs[%d][%d]", row, col);
    return v->valuedouble;
}

/* The "parameters" of a version, printed (the server prints float32 values
 * so they read back exactly, so equal text is equal weights). Free it. */
static char *parameters_text(const server *s, const char *model, int version)
{
    char path[128];
    snprintf(path, sizeof path, "/model/%s/versions/%d", model, version);
    cJSON *v = get_json(s, path, 200);
    char *text = cJSON_PrintUnformatted(json_item(v, "parameters"));
    cJSON_Delete(v);
    return text;
}

/* The raw body of a 200 /predict answer. Free it. */
static char *predict_body(const server *s, const char *json)
{
    http_reply r = http_post(s, "/predict", json, NULL);
    ck_assert_msg(r.status == 200, "predict %s: %ld %s", json, r.status, r.body);
    char *body = strdup(r.body);
    http_reply_free(&r);
    return body;
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

/* --------------------------------------------------- the seed, end to end */

/* Trains the seed's network with ?wait=true and checks the finished job. */
static void train_seed(const server *s, int seed, int expect_version)
{
    http_reply r = http_postf(s, "/train?wait=true", SEED_TRAIN, seed);
    ck_assert_msg(r.status == 201, "train: %ld %s", r.status, r.body);
    const char *where = http_reply_header(&r, "Location");
    ck_assert_ptr_nonnull(where);
    char loc[64], want[64];
    snprintf(loc, sizeof loc, "%s", where);
    cJSON *job = http_reply_take_json(&r, 201); /* frees r */
    snprintf(want, sizeof want, "/train/%d", (int)json_num(job, "id"));
    ck_assert_str_eq(loc, want);
    ck_assert_str_eq(json_str(job, "status"), "succeeded");
    ck_assert_str_eq(json_str(job, "model"), "gender");
    ck_assert_int_eq((int)json_num(job, "version"), expect_version);
    ck_assert_int_eq((int)json_num(job, "epoch"), 1000); /* the seed's default */
    ck_assert_int_eq((int)json_num(job, "epochs"), 1000);
    ck_assert(json_num(job, "loss") >= 0 && json_num(job, "loss") < 0.05);
    ck_assert(cJSON_IsNull(json_item(job, "error")));
    ck_assert(cJSON_IsString(json_item(job, "finished_at")));
    cJSON_Delete(job);
}

/* Emily [-7, -3] is predicted female (> 0.5), Frank [20, 2] male (< 0.5). */
static void check_emily_frank(const server *s, const char *version_json, int expect_version)
{
    http_reply r = http_postf(s, "/predict", "{\"model\":\"gender\",%s\"inputs\":[[-7,-3],[20,2]]}",
                        version_json);
    cJSON *p = http_reply_take_json(&r, 200);
    ck_assert_str_eq(json_str(p, "model"), "gender");
    ck_assert_int_eq((int)json_num(p, "version"), expect_version);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(p, "outputs")), 2);
    double emily = output(p, 0, 0), frank = output(p, 1, 0);
    ck_assert_msg(emily > 0.5 && frank < 0.5, "Emily %g, Frank %g", emily, frank);
    ck_assert_ptr_null(cJSON_GetObjectItem(p, "labels")); /* a regressor: no labels */
    cJSON_Delete(p);
}

static void check_loss_history(const server *s)
{
    cJSON *h = get_json(s, "/model/gender/versions/1/loss", 200);
    const cJSON *ep = json_item(h, "epoch"), *loss = json_item(h, "loss"), *val = json_item(h, "val_loss");
    ck_assert_int_eq(cJSON_GetArraySize(ep), 1000);
    ck_assert_int_eq(cJSON_GetArraySize(loss), 1000);
    ck_assert_int_eq(cJSON_GetArraySize(val), 1000);
    ck_assert_int_eq((int)json_num(h, "total"), 1000);
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq((int)cJSON_GetArrayItem(ep, i)->valuedouble, i + 1);
        ck_assert(cJSON_IsNumber(cJSON_GetArrayItem(loss, i)));
        ck_assert(cJSON_IsNull(cJSON_GetArrayItem(val, i))); /* no validation rows */
    }
    double first = cJSON_GetArrayItem(loss, 0)->valuedouble;
    double last = cJSON_GetArrayItem(loss, 999)->valuedouble;
    ck_assert_msg(last < first / 10, "the loss did not fall: %g → %g", first, last);

    /* The version's training summary ends where the history ends. */
    cJSON *v = get_json(s, "/model/gender/versions/1", 200);
    const cJSON *t = json_item(v, "training");
    ck_assert_int_eq((int)json_num(t, "epochs_run"), 1000);
    ck_assert(json_num(t, "loss") == last);
    ck_assert_int_eq((int)json_num(t, "rows"), 4);
    ck_assert_int_eq((int)json_num(v, "seed"), 42);
    ck_assert_str_eq(json_str(v, "init"), "normal");
    ck_assert_str_eq(json_str(v, "loss"), "mse");
    ck_assert_str_eq(json_str(json_item(v, "optimizer"), "type"), "sgd");
    ck_assert(fabs(json_num(json_item(v, "optimizer"), "learning_rate") - 0.1) < 1e-7);
    ck_assert_int_eq((int)json_num(v, "batch_size"), 1);
    cJSON_Delete(v);

    /* CSV: a header and one row per epoch, the same numbers. */
    http_reply r = http_get(s, "/model/gender/versions/1/loss?format=csv", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Content-Type"), "text/csv"));
    ck_assert_msg(strncmp(r.body, "epoch,loss,val_loss\n", 20) == 0, "header: %.40s", r.body);
    int rows = 0;
    for (const char *line = r.body + 20; *line; rows++) {
        const char *nl = strchr(line, '\n');
        ck_assert_msg(nl, "row %d has no newline", rows + 1);
        int epoch;
        double value;
        ck_assert_msg(sscanf(line, "%d,%lf,", &epoch, &value) == 2, "row: %.40s", line);
        ck_assert_int_eq(epoch, rows + 1);
        ck_assert(value == cJSON_GetArrayItem(loss, rows)->valuedouble);
        line = nl + 1;
    }
    ck_assert_int_eq(rows, 1000);
    http_reply_free(&r);

    /* Pages: offset and limit cut the same history. */
    cJSON *page = get_json(s, "/model/gender/versions/1/loss?offset=10&limit=5", 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(page, "epoch")), 5);
    ck_assert_int_eq((int)json_num(page, "total"), 1000);
    ck_assert_int_eq((int)json_num(page, "offset"), 10);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq((int)cJSON_GetArrayItem(json_item(page, "epoch"), i)->valuedouble, 11 + i);
        ck_assert(cJSON_GetArrayItem(json_item(page, "loss"), i)->valuedouble ==
                  cJSON_GetArrayItem(loss, 10 + i)->valuedouble);
    }
    cJSON_Delete(page);
    page = get_json(s, "/model/gender/versions/1/loss?offset=998&limit=10", 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(page, "epoch")), 2);
    ck_assert_int_eq((int)cJSON_GetArrayItem(json_item(page, "epoch"), 1)->valuedouble, 1000);
    cJSON_Delete(page);
    page = get_json(s, "/model/gender/versions/1/loss?offset=1000", 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(page, "epoch")), 0);
    cJSON_Delete(page);
    r = http_get(s, "/model/gender/versions/1/loss?format=csv&offset=999&limit=5", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strncmp(r.body, "epoch,loss,val_loss\n1000,", 25) == 0 && !strchr(r.body + 25, '\n')[1],
                  "csv page: %s", r.body);
    http_reply_free(&r);
    cJSON_Delete(h);
}

START_TEST(seed_end_to_end)
{
    server *s = server_start(NULL);
    train_seed(s, 42, 1);
    check_emily_frank(s, "", 1);
    check_loss_history(s);

    /* A second training of the same model is version 2, and the newest. */
    train_seed(s, 42, 2);
    check_emily_frank(s, "", 2);
    check_emily_frank(s, "\"version\":\"latest\",", 2);
    check_emily_frank(s, "\"version\":null,", 2);
    check_emily_frank(s, "\"version\":1,", 1);
    check_emily_frank(s, "\"version\":2,", 2);

    /* The same request with the same seed: bit-identical weights. */
    char *p1 = parameters_text(s, "gender", 1), *p2 = parameters_text(s, "gender", 2);
    ck_assert_str_eq(p1, p2);
    free(p2);

    /* Aliases pin a version; "latest" moves, "production" does not. */
    http_reply r = http_put(s, "/model/gender/aliases/production", "{\"version\":1}", NULL);
    cJSON *a = http_reply_take_json(&r, 200);
    ck_assert_str_eq(json_str(a, "alias"), "production");
    ck_assert_int_eq((int)json_num(a, "version"), 1);
    cJSON_Delete(a);
    check_emily_frank(s, "\"version\":\"production\",", 1);
    a = get_json(s, "/model/gender/aliases/production", 200);
    ck_assert_int_eq((int)json_num(a, "version"), 1);
    cJSON_Delete(a);
    r = http_put(s, "/model/gender/aliases/staging", "{\"version\":2}", NULL);
    cJSON_Delete(http_reply_take_json(&r, 200));
    a = get_json(s, "/model/gender/aliases", 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(a, "aliases")), 2);
    cJSON_Delete(a);

    /* Moving an alias. */
    r = http_put(s, "/model/gender/aliases/staging", "{\"version\":1}", NULL);
    cJSON_Delete(http_reply_take_json(&r, 200));
    check_emily_frank(s, "\"version\":\"staging\",", 1);
    r = http_put(s, "/model/gender/aliases/staging", "{\"version\":2}", NULL);
    cJSON_Delete(http_reply_take_json(&r, 200));
    check_emily_frank(s, "\"version\":\"staging\",", 2);

    /* A third version from another seed: different weights, the new latest,
     * and the aliases stay where they were. */
    train_seed(s, 7, 3);
    char *p3 = parameters_text(s, "gender", 3);
    ck_assert_str_ne(p1, p3);
    free(p3);
    check_emily_frank(s, "", 3);
    check_emily_frank(s, "\"version\":\"production\",", 1);
    check_emily_frank(s, "\"version\":\"staging\",", 2);

    /* Deleting an alias: gone, and its version stays. */
    r = http_delete(s, "/model/gender/aliases/staging", NULL);
    ck_assert_int_eq(r.status, 204);
    http_reply_free(&r);
    r = http_get(s, "/model/gender/aliases/staging", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_post(s, "/predict", "{\"model\":\"gender\",\"version\":\"staging\",\"inputs\":[1,2]}", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    check_emily_frank(s, "\"version\":2,", 2);

    /* The registry lists the model, its versions (newest first) and aliases. */
    cJSON *list = get_json(s, "/model", 200);
    const cJSON *models = json_item(list, "models");
    ck_assert_int_eq(cJSON_GetArraySize(models), 1);
    const cJSON *m0 = cJSON_GetArrayItem(models, 0);
    ck_assert_str_eq(json_str(m0, "name"), "gender");
    ck_assert_int_eq((int)json_num(m0, "latest_version"), 3);
    ck_assert_int_eq((int)json_num(m0, "version_count"), 3);
    cJSON_Delete(list);
    cJSON *model = get_json(s, "/model/gender", 200);
    const cJSON *versions = json_item(model, "versions");
    ck_assert_int_eq(cJSON_GetArraySize(versions), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(versions, i), "version"), 3 - i);
    ck_assert_int_eq((int)json_num(cJSON_GetArrayItem(versions, 0), "epochs_run"), 1000);
    const cJSON *aliases = json_item(model, "aliases");
    ck_assert_int_eq(cJSON_GetArraySize(aliases), 1);
    ck_assert_int_eq((int)json_num(aliases, "production"), 1);
    char *model_before = cJSON_PrintUnformatted(model);
    cJSON_Delete(model);

    /* A restart on the same database: everything is still there, and the
     * predictions are the same bytes. */
    const char *asks[] = {
        "{\"model\":\"gender\",\"inputs\":[[-7,-3],[20,2],[0.5,-0.25]]}",
        "{\"model\":\"gender\",\"version\":1,\"inputs\":[[-7,-3],[20,2],[0.5,-0.25]]}",
        "{\"model\":\"gender\",\"version\":\"production\",\"inputs\":[[-7,-3]]}",
    };
    char *before[3];
    for (int i = 0; i < 3; i++) before[i] = predict_body(s, asks[i]);
    http_reply hist = http_get(s, "/model/gender/versions/2/loss?format=csv", NULL);
    ck_assert_int_eq(hist.status, 200);
    server_restart(s);
    for (int i = 0; i < 3; i++) {
        char *after = predict_body(s, asks[i]);
        ck_assert_str_eq(after, before[i]);
        free(after);
        free(before[i]);
    }
    model = get_json(s, "/model/gender", 200);
    char *model_after = cJSON_PrintUnformatted(model);
    ck_assert_str_eq(model_after, model_before);
    free(model_after);
    free(model_before);
    cJSON_Delete(model);
    r = http_get(s, "/model/gender/versions/2/loss?format=csv", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, hist.body);
    http_reply_free(&r);
    http_reply_free(&hist);
    char *p1_after = parameters_text(s, "gender", 1);
    ck_assert_str_eq(p1_after, p1);
    free(p1_after);
    free(p1);
    cJSON *job = get_json(s, "/train/1", 200);
    ck_assert_str_eq(json_str(job, "status"), "succeeded");
    ck_assert_int_eq((int)json_num(job, "version"), 1);
    cJSON_Delete(job);

    /* Training goes on after the restart: version 4, never a reused number. */
    train_seed(s, 42, 4);
    server_stop(s);
}
END_TEST

START_TEST(deleted_version_numbers_not_reused)
{
    train_seed(srv, 1, 1);
    train_seed(srv, 2, 2);
    http_reply r = http_delete(srv, "/model/gender/versions/2", NULL);
    ck_assert_int_eq(r.status, 204);
    http_reply_free(&r);
    r = http_get(srv, "/model/gender/versions/2", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    check_emily_frank(srv, "", 1); /* latest falls back to 1 */
    train_seed(srv, 3, 3);          /* not 2 again */
    r = http_delete(srv, "/model/gender", NULL);
    ck_assert_int_eq(r.status, 204);
    http_reply_free(&r);
    r = http_get(srv, "/model/gender", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"gender\",\"inputs\":[1,2]}", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
}
END_TEST

/* -------------------------------------------- hand-set weights, imported */

/* The seed's [2, 2, 1] network with hand-picked weights:
 * W1 = [[w1, w2], [w3, w4]], b1 = [b1, b2], W2 = [[w5, w6]], b2 = [b3]. */
static const double w1 = 0.5, w2 = -0.25, w3 = 1.0, w4 = 0.75, w5 = 1.5, w6 = -1.25;
static const double b1 = 0.0, b2 = 0.1, b3 = 0.2;
#define HAND_IMPORT                                                                           \
    "{\"layers\":[2,2,1],\"activation\":[\"sigmoid\",\"sigmoid\"],\"loss\":\"mse\","          \
    "\"parameters\":[{\"W\":[[0.5,-0.25],[1.0,0.75]],\"b\":[0.0,0.1]},"                      \
    "{\"W\":[[1.5,-1.25]],\"b\":[0.2]}]}"

static const double probes[][2] = {{-7, -3}, {20, 2}, {0, 0}, {0.3, -1.7}, {-2, 4.5}};
#define N_PROBES (sizeof probes / sizeof probes[0])
#define PROBE_INPUTS "[[-7,-3],[20,2],[0,0],[0.3,-1.7],[-2,4.5]]"

/* The seed's formulas, literally. */
static double hand_o1(double x1, double x2)
{
    double h1 = sigmoid(w1 * x1 + w2 * x2 + b1);
    double h2 = sigmoid(w3 * x1 + w4 * x2 + b2);
    return sigmoid(w5 * h1 + w6 * h2 + b3);
}

static void import_hand(const server *s, const char *name, int expect_version)
{
    char path[128], want[128];
    snprintf(path, sizeof path, "/model/%s/versions", name);
    http_reply r = http_post(s, path, HAND_IMPORT, NULL);
    ck_assert_msg(r.status == 201, "import: %ld %s", r.status, r.body);
    snprintf(want, sizeof want, "/model/%s/versions/%d", name, expect_version);
    ck_assert_str_eq(http_reply_header(&r, "Location"), want);
    cJSON *v = http_reply_take_json(&r, 201);
    ck_assert_int_eq((int)json_num(v, "version"), expect_version);
    ck_assert_str_eq(json_str(v, "model"), name);
    /* the answer is the version as GET shows it, parameters included */
    ck_assert_int_eq(cJSON_GetArraySize(json_item(v, "parameters")), 2);
    ck_assert_str_eq(json_str(v, "source"), "import");
    cJSON_Delete(v);
}

START_TEST(import_matches_hand_computation)
{
    import_hand(srv, "hand", 1);
    http_reply r = http_post(srv, "/predict", "{\"model\":\"hand\",\"inputs\":" PROBE_INPUTS "}", NULL);
    cJSON *p = http_reply_take_json(&r, 200);
    ck_assert_int_eq(cJSON_GetArraySize(json_item(p, "outputs")), (int)N_PROBES);
    for (size_t i = 0; i < N_PROBES; i++) {
        double want = hand_o1(probes[i][0], probes[i][1]), got = output(p, (int)i, 0);
        ck_assert_msg(fabs(got - want) < 1e-6, "row %zu: server %.9g, by hand %.9g", i, got, want);
    }
    cJSON_Delete(p);

    /* A single row in, a single row out. */
    r = http_post(srv, "/predict", "{\"model\":\"hand\",\"inputs\":[0.3,-1.7]}", NULL);
    p = http_reply_take_json(&r, 200);
    const cJSON *outs = json_item(p, "outputs");
    ck_assert_int_eq(cJSON_GetArraySize(outs), 1);
    ck_assert(cJSON_IsNumber(cJSON_GetArrayItem(outs, 0)));
    ck_assert(fabs(cJSON_GetArrayItem(outs, 0)->valuedouble - hand_o1(0.3, -1.7)) < 1e-6);
    cJSON_Delete(p);

    /* The version reads back with the same weights, in the contract's layout. */
    cJSON *v = get_json(srv, "/model/hand/versions/1", 200);
    char *params = cJSON_PrintUnformatted(json_item(v, "parameters"));
    ck_assert_str_eq(params, "[{\"W\":[[0.5,-0.25],[1,0.75]],\"b\":[0,0.1]},{\"W\":[[1.5,-1.25]],\"b\":[0.2]}]");
    free(params);
    char *layers = cJSON_PrintUnformatted(json_item(v, "layers"));
    ck_assert_str_eq(layers, "[2,2,1]");
    free(layers);
    ck_assert_str_eq(json_str(v, "loss"), "mse");
    ck_assert_str_eq(json_str(v, "output_activation"), "sigmoid");

    /* Re-importing what GET gave: a new version with identical predictions. */
    char *copy = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    r = http_post(srv, "/model/hand-copy/versions", copy, NULL);
    free(copy);
    cJSON *created = http_reply_take_json(&r, 201);
    ck_assert_int_eq((int)json_num(created, "version"), 1);
    cJSON_Delete(created);
    char *a = predict_body(srv, "{\"model\":\"hand\",\"inputs\":" PROBE_INPUTS "}");
    char *b = predict_body(srv, "{\"model\":\"hand-copy\",\"inputs\":" PROBE_INPUTS "}");
    ck_assert_str_eq(strstr(a, "\"outputs\""), strstr(b, "\"outputs\""));
    free(b);
    /* …and into the same model, as its version 2. */
    import_hand(srv, "hand", 2);
    b = predict_body(srv, "{\"model\":\"hand\",\"version\":2,\"inputs\":" PROBE_INPUTS "}");
    ck_assert_str_eq(strstr(a, "\"outputs\""), strstr(b, "\"outputs\""));
    free(a);
    free(b);
}
END_TEST

START_TEST(import_other_activations)
{
    /* tanh hidden, linear output: o1 = w5*tanh(…) + w6*tanh(…) + b3. */
    http_reply r = http_post(srv, "/model/hand-tanh/versions",
                             "{\"layers\":[2,2,1],\"activation\":[\"tanh\",\"linear\"],\"loss\":\"mse\","
                             "\"parameters\":[{\"W\":[[0.5,-0.25],[1.0,0.75]],\"b\":[0.0,0.1]},"
                             "{\"W\":[[1.5,-1.25]],\"b\":[0.2]}]}",
                             NULL);
    cJSON_Delete(http_reply_take_json(&r, 201));
    r = http_post(srv, "/predict", "{\"model\":\"hand-tanh\",\"inputs\":" PROBE_INPUTS "}", NULL);
    cJSON *p = http_reply_take_json(&r, 200);
    for (size_t i = 0; i < N_PROBES; i++) {
        double x1 = probes[i][0], x2 = probes[i][1];
        double want = w5 * tanh(w1 * x1 + w2 * x2 + b1) + w6 * tanh(w3 * x1 + w4 * x2 + b2) + b3;
        ck_assert_msg(fabs(output(p, (int)i, 0) - want) < 1e-5, "row %zu: %.9g vs %.9g", i,
                      output(p, (int)i, 0), want);
    }
    cJSON_Delete(p);
}
END_TEST

/* ------------------------------------------------ TensorFlow Serving's API */

START_TEST(tf_serving_routes)
{
    import_hand(srv, "tf", 1);
    import_hand(srv, "tf", 2);
    http_reply r = http_put(srv, "/model/tf/aliases/stable", "{\"version\":1}", NULL);
    cJSON_Delete(http_reply_take_json(&r, 200));

    const char *paths[] = {"/v1/models/tf:predict", "/v1/models/tf/versions/1:predict",
                           "/v1/models/tf/versions/2:predict", "/v1/models/tf/labels/stable:predict"};
    for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
        r = http_post(srv, paths[k], "{\"instances\":" PROBE_INPUTS "}", NULL);
        cJSON *p = http_reply_take_json(&r, 200);
        const cJSON *pred = json_item(p, "predictions");
        ck_assert_msg(cJSON_GetArraySize(pred) == (int)N_PROBES, "%s", paths[k]);
        ck_assert_ptr_null(cJSON_GetObjectItem(p, "outputs"));
        for (size_t i = 0; i < N_PROBES; i++) {
            const cJSON *row = cJSON_GetArrayItem(pred, (int)i);
            ck_assert_int_eq(cJSON_GetArraySize(row), 1);
            double got = cJSON_GetArrayItem(row, 0)->valuedouble;
            ck_assert(fabs(got - hand_o1(probes[i][0], probes[i][1])) < 1e-6);
        }
        cJSON_Delete(p);
    }

    /* The columnar form: "inputs" in, "outputs" out. */
    r = http_post(srv, "/v1/models/tf:predict", "{\"inputs\":[[-7,-3]]}", NULL);
    cJSON *p = http_reply_take_json(&r, 200);
    ck_assert(fabs(output(p, 0, 0) - hand_o1(-7, -3)) < 1e-6);
    ck_assert_ptr_null(cJSON_GetObjectItem(p, "predictions"));
    cJSON_Delete(p);
    /* /predict takes "instances" too. */
    r = http_post(srv, "/predict", "{\"model\":\"tf\",\"instances\":[[-7,-3]]}", NULL);
    p = http_reply_take_json(&r, 200);
    ck_assert(fabs(cJSON_GetArrayItem(cJSON_GetArrayItem(json_item(p, "predictions"), 0), 0)->valuedouble -
                   hand_o1(-7, -3)) < 1e-6);
    cJSON_Delete(p);

    /* Unknown model, version, alias: 404. */
    const char *missing[] = {"/v1/models/nope:predict", "/v1/models/tf/versions/9:predict",
                             "/v1/models/tf/labels/nope:predict"};
    for (size_t k = 0; k < sizeof missing / sizeof missing[0]; k++) {
        r = http_post(srv, missing[k], "{\"instances\":[[1,2]]}", NULL);
        ck_assert_msg(r.status == 404, "%s: %ld %s", missing[k], r.status, r.body);
        http_reply_free(&r);
    }

    /* Status: every version, newest first, AVAILABLE. */
    cJSON *st = get_json(srv, "/v1/models/tf", 200);
    const cJSON *list = json_item(st, "model_version_status");
    ck_assert_int_eq(cJSON_GetArraySize(list), 2);
    for (int i = 0; i < 2; i++) {
        const cJSON *e = cJSON_GetArrayItem(list, i);
        char want[4];
        snprintf(want, sizeof want, "%d", 2 - i);
        ck_assert_str_eq(json_str(e, "version"), want);
        ck_assert_str_eq(json_str(e, "state"), "AVAILABLE");
        ck_assert_str_eq(json_str(json_item(e, "status"), "error_code"), "OK");
    }
    cJSON_Delete(st);
    r = http_get(srv, "/v1/models/nope", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ CORS */

START_TEST(cors_on_api_routes)
{
    import_hand(srv, "cors", 1);
    const char *pre[] = {"Origin: https://page.example", "Access-Control-Request-Method: POST",
                         "Access-Control-Request-Headers: content-type", NULL};
    const char *paths[] = {"/predict", "/train", "/v1/models/cors:predict", "/model/cors/versions"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_reply r = http_request(srv, "OPTIONS", paths[i], NULL, 0, pre);
        ck_assert_msg(r.status == 204, "OPTIONS %s: %ld", paths[i], r.status);
        const char *acao = http_reply_header(&r, "Access-Control-Allow-Origin");
        ck_assert_msg(acao && strcmp(acao, "*") == 0, "%s: ACAO %s", paths[i], acao);
        const char *methods = http_reply_header(&r, "Access-Control-Allow-Methods");
        ck_assert_msg(methods && strstr(methods, "POST"), "%s: methods %s", paths[i], methods);
        const char *headers = http_reply_header(&r, "Access-Control-Allow-Headers");
        ck_assert_ptr_nonnull(headers);
        ck_assert_ptr_nonnull(strcasestr(headers, "Content-Type"));
        http_reply_free(&r);
    }
    const char *origin[] = {"Origin: https://page.example", "Content-Type: application/json", NULL};
    http_reply r = http_post(srv, "/predict", "{\"model\":\"cors\",\"inputs\":[[1,2]]}", origin);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "*");
    http_reply_free(&r);
    /* Problems carry it too, so a page can read why. */
    r = http_post(srv, "/predict", "{\"model\":\"nope\",\"inputs\":[[1,2]]}", origin);
    ck_assert_int_eq(r.status, 404);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "*");
    http_reply_free(&r);
}
END_TEST

static void start_cors_list(void)
{
    srv = server_start((const char *[]){"--cors-origins", "https://app.example", NULL});
}

START_TEST(cors_allow_list_on_predict)
{
    import_hand(srv, "cors", 1);
    const char *pre[] = {"Origin: https://app.example", "Access-Control-Request-Method: POST", NULL};
    http_reply r = http_request(srv, "OPTIONS", "/predict", NULL, 0, pre);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "https://app.example");
    http_reply_free(&r);
    const char *other[] = {"Origin: https://other.example", "Content-Type: application/json", NULL};
    r = http_post(srv, "/predict", "{\"model\":\"cors\",\"inputs\":[[1,2]]}", other);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_null(http_reply_header(&r, "Access-Control-Allow-Origin"));
    http_reply_free(&r);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*up)(void))
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    if (up) tcase_add_unchecked_fixture(tc, up, stop); /* stopped even when a test fails */
    suite_add_tcase(s, tc);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("service");
    TCase *tc = tcase(s, "seed", NULL);
    tcase_add_test(tc, seed_end_to_end);

    tc = tcase(s, "registry", start_default);
    tcase_add_test(tc, deleted_version_numbers_not_reused);
    tcase_add_test(tc, import_matches_hand_computation);
    tcase_add_test(tc, import_other_activations);
    tcase_add_test(tc, tf_serving_routes);
    tcase_add_test(tc, cors_on_api_routes);

    tc = tcase(s, "cors allow-list", start_cors_list);
    tcase_add_test(tc, cors_allow_list_on_predict);

    return run_suite(s);
}
