/*
 * test_errors.c — every way a request can be wrong, and the answer each
 * gets: a 4xx RFC 9457 problem (application/problem+json, "status" equal to
 * the HTTP status, a "detail" that names the problem, and "field" naming
 * the field at fault when one is — absent otherwise), after which the
 * server still serves. Also: unknown routes (404), wrong methods (405 with
 * Allow), wrong content types (415), bodies over --max-body (413), and a
 * job whose loss diverges (422, no version stored).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

#define SEED_DATA                                                                          \
    "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]"
#define TRAIN(fields) "{\"model\":\"m\",\"layers\":[2,2,1]," fields "," SEED_DATA "}"
#define TRAIN_DATA(data) "{\"model\":\"m\",\"layers\":[2,2,1]," data "}"
#define HAND_IMPORT                                                                           \
    "{\"layers\":[2,2,1],\"activation\":[\"sigmoid\",\"sigmoid\"],\"loss\":\"mse\","          \
    "\"parameters\":[{\"W\":[[0.5,-0.25],[1.0,0.75]],\"b\":[0.0,0.1]},"                      \
    "{\"W\":[[1.5,-1.25]],\"b\":[0.2]}]}"
#define NAME_200                                                                             \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaa"

static server *srv;

static void start_default(void) { srv = server_start(NULL); }
static void start_small_body(void) { srv = server_start((const char *[]){"--max-body", "1K", NULL}); }
static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}

/* ------------------------------------------------------------ helpers */

typedef struct {
    const char *method, *path, *body;
    long status;
    const char *field;  /* the field named, or NULL: none may be named */
    const char *detail; /* a word the detail must contain (case-insensitive) */
} bad_request;

static void still_serving(const server *s, const char *after)
{
    http_reply r = http_get(s, "/healthz", NULL);
    ck_assert_msg(r.status == 200, "not serving after %s: %ld", after, r.status);
    http_reply_free(&r);
}

/* Asserts r is the problem c describes. */
static void expect_case_problem(const http_reply *r, const bad_request *c)
{
    char what[160];
    snprintf(what, sizeof what, "%s %s %.60s", c->method, c->path, c->body ? c->body : "");
    ck_assert_msg(r->status == c->status, "%s: status %ld, expected %ld: %s", what, r->status,
                  c->status, r->body);
    const char *ct = http_reply_header(r, "Content-Type");
    ck_assert_msg(ct && strcmp(ct, "application/problem+json") == 0, "%s: Content-Type %s", what,
                  ct ? ct : "(none)");
    cJSON *p = cJSON_Parse(r->body);
    ck_assert_msg(cJSON_IsObject(p), "%s: not a JSON object: %s", what, r->body);
    const cJSON *status = cJSON_GetObjectItem(p, "status"), *type = cJSON_GetObjectItem(p, "type");
    const cJSON *title = cJSON_GetObjectItem(p, "title"), *detail = cJSON_GetObjectItem(p, "detail");
    const cJSON *field = cJSON_GetObjectItem(p, "field");
    ck_assert_msg(cJSON_IsNumber(status) && (long)status->valuedouble == c->status, "%s: %s", what, r->body);
    ck_assert_msg(cJSON_IsString(type) && strcmp(type->valuestring, "about:blank") == 0, "%s: type", what);
    ck_assert_msg(cJSON_IsString(title) && *title->valuestring, "%s: no title", what);
    ck_assert_msg(cJSON_IsString(detail) && *detail->valuestring, "%s: no detail", what);
    if (c->detail)
        ck_assert_msg(strcasestr(detail->valuestring, c->detail), "%s: detail \"%s\" does not mention %s",
                      what, detail->valuestring, c->detail);
    if (c->field)
        ck_assert_msg(cJSON_IsString(field) && strcmp(field->valuestring, c->field) == 0,
                      "%s: field %s, expected %s", what, cJSON_IsString(field) ? field->valuestring : "(none)",
                      c->field);
    else
        ck_assert_msg(!field, "%s: names field %s", what, cJSON_IsString(field) ? field->valuestring : "?");
    cJSON_Delete(p);
}

static void run_cases(const server *s, const bad_request *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const bad_request *c = &cases[i];
        const char *body = c->body;
        http_reply r = http_request(s, c->method, c->path, body, body ? strlen(body) : 0, NULL);
        expect_case_problem(&r, c);
        http_reply_free(&r);
        still_serving(s, c->path);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- /train */

static const bad_request train_cases[] = {
    /* Not JSON, or not an object. */
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2,1]", 400, NULL, "JSON"},
    {"POST", "/train", "{\"model\":\"m", 400, NULL, "JSON"},
    {"POST", "/train", "{\"model\":\"m\",", 400, NULL, "JSON"},
    {"POST", "/train", "not json", 400, NULL, "JSON"},
    {"POST", "/train", "{\"model\":\"m\"} {}", 400, NULL, "after"},
    {"POST", "/train", "", 400, NULL, "empty"},
    {"POST", "/train", "[1,2]", 400, NULL, "object"},
    {"POST", "/train", "[" TRAIN("\"epochs\":5") "]", 400, NULL, "object"},
    {"POST", "/train", "\"train\"", 400, NULL, "object"},
    {"POST", "/train", "null", 400, NULL, "object"},
    /* NaN is not JSON; 1e999 is JSON but infinite. */
    {"POST", "/train", TRAIN("\"learning_rate\":NaN"), 400, NULL, "JSON"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[NaN,1]],\"targets\":[[1]]"), 400, NULL, "JSON"},
    {"POST", "/train", TRAIN("\"learning_rate\":1e999"), 400, "learning_rate", "finite"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1e999,1],[2,3]],\"targets\":[[1],[0]]"), 400, "inputs[0][0]", "finite"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1e39,1],[2,3]],\"targets\":[[1],[0]]"), 400, "inputs[0][0]", "float"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,1],[2,3]],\"targets\":[[-1e999],[0]]"), 400, "targets[0][0]", "finite"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,1e999,1]," SEED_DATA "}", 400, "layers[1]", "layers[1]"},
    /* The model's name. */
    {"POST", "/train", "{\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":7,\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "string"},
    {"POST", "/train", "{\"model\":\"\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":\"a/b\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":\"..\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":\"../etc\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":\"a b\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "model"},
    {"POST", "/train", "{\"model\":\"" NAME_200 "\",\"layers\":[2,2,1]," SEED_DATA "}", 400, "model", "64"},
    /* layers */
    {"POST", "/train", "{\"model\":\"m\"," SEED_DATA "}", 400, "layers", "layers"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":\"2,2,1\"," SEED_DATA "}", 400, "layers", "array"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,\"2\",1]," SEED_DATA "}", 400, "layers[1]", "layers[1]"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,0,1]," SEED_DATA "}", 400, "layers[1]", "positive"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,-3,1]," SEED_DATA "}", 400, "layers[1]", "positive"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2,0]," SEED_DATA "}", 400, "layers[2]", "positive"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2.5,1]," SEED_DATA "}", 400, "layers[1]", "integer"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,1e9,1]," SEED_DATA "}", 400, "layers[1]", "layers[1]"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,60000,60000,1]," SEED_DATA "}", 400, "layers", "parameters"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2]," SEED_DATA "}", 400, "layers", "layers"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[]," SEED_DATA "}", 400, "layers", "layers"},
    /* Data. */
    {"POST", "/train", TRAIN_DATA("\"targets\":[[1]]"), 400, "inputs", "inputs"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2]]"), 400, "targets", "targets"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3]],\"targets\":[[1],[0]]"), 400, "inputs[1]", "inputs[1]"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3,4,5]],\"targets\":[[1],[0]]"), 400, "inputs[1]", "inputs[1]"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2,3],[3,4,5]],\"targets\":[[1],[0]]"), 400, "inputs[0]", "layers[0]"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1],[3]],\"targets\":[[1],[0]]"), 400, "inputs[0]", "layers[0]"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,\"x\"]],\"targets\":[[1]]"), 400, "inputs[0][1]", "number"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3,4]],\"targets\":[[1,1],[0,0]]"), 400, "targets[0]", "output"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3,4]],\"targets\":[[1],[0,1]]"), 400, "targets[1]", "targets[1]"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3,4]],\"targets\":[[1]]"), 400, "targets", "rows"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2]],\"targets\":[[1],[0]]"), 400, "targets", "rows"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[],\"targets\":[]"), 400, "inputs", "empty"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[]],\"targets\":[[1]]"), 400, "inputs[0]", "empty"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2]],\"targets\":[]"), 400, "targets", "targets"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[1,2],\"targets\":[[1]]"), 400, "inputs", "rows"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":{\"a\":1},\"targets\":[[1]]"), 400, "inputs", "array"},
    {"POST", "/train", TRAIN_DATA("\"inputs\":[[1,2],[3,4]],\"targets\":[\"a\",\"b\"]"), 400, "targets", "crossentropy"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2,2],\"loss\":\"crossentropy\",\"inputs\":[[1,2],[3,4],[5,6]],"
                       "\"targets\":[\"a\",\"b\",\"c\"]}", 400, "targets", "classes"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2,3],\"loss\":\"crossentropy\",\"inputs\":[[1,2],[3,4]],"
                       "\"targets\":[0,5]}", 400, "targets[1]", "targets[1]"},
    {"POST", "/train", "{\"model\":\"m\",\"layers\":[2,2,3],\"loss\":\"crossentropy\",\"inputs\":[[1,2],[3,4]],"
                       "\"targets\":[\"a\",2]}", 400, "targets[1]", "label"},
    {"POST", "/train", TRAIN("\"dataset\":\"d\""), 400, "dataset", "dataset"},
    /* Choices. */
    {"POST", "/train", TRAIN("\"activation\":\"swish\""), 400, "activation", "sigmoid"},
    {"POST", "/train", TRAIN("\"activation\":7"), 400, "activation", "activation"},
    {"POST", "/train", TRAIN("\"activation\":[\"relu\"]"), 400, "activation", "activation"},
    {"POST", "/train", TRAIN("\"activation\":[\"relu\",\"swish\"]"), 400, "activation[1]", "activation[1]"},
    {"POST", "/train", TRAIN("\"activation\":\"softmax\""), 400, "activation", "activation"},
    {"POST", "/train", TRAIN("\"output_activation\":\"swish\""), 400, "output_activation", "softmax"},
    {"POST", "/train", TRAIN("\"activation\":[\"relu\",\"sigmoid\"],\"output_activation\":\"linear\""), 400,
     "output_activation", "last entry"},
    {"POST", "/train", TRAIN("\"loss\":\"hinge\""), 400, "loss", "mse"},
    {"POST", "/train", TRAIN("\"optimizer\":\"rmsprop\""), 400, "optimizer", "adam"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"rmsprop\"}"), 400, "optimizer.type", "adam"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"adam\",\"beta9\":1}"), 400, "optimizer.beta9", "known"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"adam\",\"beta1\":1.5}"), 400, "optimizer.beta1", "beta1"},
    {"POST", "/train", TRAIN("\"optimizer\":3"), 400, "optimizer", "optimizer"},
    {"POST", "/train", TRAIN("\"init\":\"zeros\""), 400, "init", "xavier"},
    {"POST", "/train", TRAIN("\"normalize\":\"robust\""), 400, "normalize", "minmax"},
    /* Numbers out of range. */
    {"POST", "/train", TRAIN("\"epochs\":\"10\""), 400, "epochs", "integer"},
    {"POST", "/train", TRAIN("\"epochs\":-5"), 400, "epochs", "epochs"},
    {"POST", "/train", TRAIN("\"epochs\":0"), 400, "epochs", "epochs"},
    {"POST", "/train", TRAIN("\"epochs\":2.5"), 400, "epochs", "integer"},
    {"POST", "/train", TRAIN("\"epochs\":1e9"), 400, "epochs", "epochs"},
    {"POST", "/train", TRAIN("\"batch_size\":0"), 400, "batch_size", "batch_size"},
    {"POST", "/train", TRAIN("\"learning_rate\":0"), 400, "learning_rate", "positive"},
    {"POST", "/train", TRAIN("\"learning_rate\":-0.1"), 400, "learning_rate", "positive"},
    {"POST", "/train", TRAIN("\"learning_rate\":\"fast\""), 400, "learning_rate", "number"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"sgd\",\"learning_rate\":0}"), 400, "optimizer.learning_rate", "learning_rate"},
    /* Positive or below 1 as a double, but 0 or 1 as the float32 the core trains with. */
    {"POST", "/train", TRAIN("\"learning_rate\":1e-46"), 400, "learning_rate", "32-bit"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"adam\",\"learning_rate\":1.8e-46}"), 400, "optimizer.learning_rate", "32-bit"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"adam\",\"beta2\":0.99999999999}"), 400, "optimizer.beta2", "32-bit"},
    {"POST", "/train", TRAIN("\"optimizer\":{\"type\":\"adam\",\"epsilon\":1e-50}"), 400, "optimizer.epsilon", "32-bit"},
    {"POST", "/train", TRAIN("\"seed\":-1"), 400, "seed", "seed"},
    {"POST", "/train", TRAIN("\"seed\":1.5"), 400, "seed", "seed"},
    {"POST", "/train", TRAIN("\"seed\":\"abc\""), 400, "seed", "seed"},
    {"POST", "/train", TRAIN("\"seed\":\"18446744073709551616\""), 400, "seed", "seed"},
    {"POST", "/train", TRAIN("\"shuffle\":\"yes\""), 400, "shuffle", "true"},
    {"POST", "/train", TRAIN("\"validation_split\":1.5"), 400, "validation_split", "validation_split"},
    {"POST", "/train", TRAIN("\"early_stopping\":{\"patience\":5}"), 400, "early_stopping", "validation"},
    {"POST", "/train", TRAIN("\"early_stopping\":{\"patience\":0},\"validation_split\":0.25"), 400, "early_stopping.patience", "patience"},
    /* Unknown fields are refused, not ignored. */
    {"POST", "/train", TRAIN("\"colour\":\"red\""), 400, "colour", "colour"},
    {"POST", "/train", TRAIN("\"Epochs\":5"), 400, "Epochs", "Epochs"},
};

START_TEST(train_requests)
{
    run_cases(srv, train_cases, N(train_cases));
    /* None of them made a job or a model. */
    http_reply r = http_get(srv, "/model", NULL);
    cJSON *j = http_reply_json(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "models")), 0);
    cJSON_Delete(j);
    http_reply_free(&r);
    r = http_get(srv, "/train", NULL);
    j = http_reply_json(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "jobs")), 0);
    cJSON_Delete(j);
    http_reply_free(&r);
}
END_TEST

/* ---------------------------------------------- /predict and the registry */

static void import_known(const server *s)
{
    http_reply r = http_post(s, "/model/known/versions", HAND_IMPORT, NULL);
    ck_assert_msg(r.status == 201, "import: %ld %s", r.status, r.body);
    http_reply_free(&r);
}

static const bad_request predict_cases[] = {
    {"POST", "/predict", "{\"model\":\"nosuch\",\"inputs\":[[1,2]]}", 404, NULL, "nosuch"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":99,\"inputs\":[[1,2]]}", 404, NULL, "99"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":\"nosuch\",\"inputs\":[[1,2]]}", 404, NULL, "nosuch"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,2,3]]}", 400, "inputs", "inputs"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[1]}", 400, "inputs", "inputs"},
    {"POST", "/predict", "{\"model\":\"known\",\"instances\":[[1,2,3]]}", 400, "instances", "instances"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,2],[3]]}", 400, "inputs[1]", "inputs[1]"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,\"2\"]]}", 400, "inputs[0][1]", "number"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,1e999]]}", 400, "inputs[0][1]", "finite"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[]}", 400, "inputs", "empty"},
    {"POST", "/predict", "{\"model\":\"known\"}", 400, "inputs", "inputs"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,2]],\"instances\":[[1,2]]}", 400, "instances", "not both"},
    {"POST", "/predict", "{\"inputs\":[[1,2]]}", 400, "model", "model"},
    {"POST", "/predict", "{\"model\":\"a/b\",\"inputs\":[[1,2]]}", 400, "model", "model"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":0,\"inputs\":[[1,2]]}", 400, "version", "version"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":1.5,\"inputs\":[[1,2]]}", 400, "version", "version"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":\"a b\",\"inputs\":[[1,2]]}", 400, "version", "version"},
    {"POST", "/predict", "{\"model\":\"known\",\"version\":true,\"inputs\":[[1,2]]}", 400, "version", "version"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,2]],\"verbose\":true}", 400, "verbose", "verbose"},
    {"POST", "/predict", "{\"model\":\"known\",\"inputs\":[[1,2]]", 400, NULL, "JSON"},
    {"POST", "/predict", "[{\"model\":\"known\",\"inputs\":[[1,2]]}]", 400, NULL, "object"},
    {"POST", "/v1/models/known:predict", "{\"instances\":[[1,2,3]]}", 400, "instances", "instances"},
    {"POST", "/v1/models/nosuch:predict", "{\"instances\":[[1,2]]}", 404, NULL, "nosuch"},
    {"POST", "/v1/models/known/versions/99:predict", "{\"instances\":[[1,2]]}", 404, NULL, "99"},
    {"POST", "/v1/models/known/labels/nosuch:predict", "{\"instances\":[[1,2]]}", 404, NULL, "nosuch"},
    /* The registry. */
    {"GET", "/model/nosuch", NULL, 404, NULL, "nosuch"},
    {"GET", "/model/known/versions/99", NULL, 404, NULL, "99"},
    {"GET", "/model/known/versions/nosuch", NULL, 404, NULL, "nosuch"},
    {"GET", "/model/nosuch/versions/1", NULL, 404, NULL, "nosuch"},
    {"GET", "/model/known/versions/99/loss", NULL, 404, NULL, "99"},
    {"GET", "/model/known/versions/1/loss?format=xml", NULL, 400, "format", "csv"},
    {"GET", "/model/known/versions/1/loss?offset=-1", NULL, 400, "offset", "offset"},
    {"GET", "/model/known/versions/1/loss?limit=ten", NULL, 400, "limit", "limit"},
    {"DELETE", "/model/nosuch", NULL, 404, NULL, "nosuch"},
    {"DELETE", "/model/known/versions/99", NULL, 404, NULL, "99"},
    {"GET", "/v1/models/nosuch", NULL, 404, NULL, "nosuch"},
    /* Names in the path: spaces, "..", too long; "/" splits the path. */
    {"GET", "/model/a%20b", NULL, 400, NULL, "name"},
    {"GET", "/model/%2E%2E", NULL, 400, NULL, "name"},
    {"GET", "/model/" NAME_200, NULL, 400, NULL, "64"},
    {"POST", "/model/a%20b/versions", HAND_IMPORT, 400, NULL, "name"},
    {"POST", "/model/" NAME_200 "/versions", HAND_IMPORT, 400, NULL, "64"},
    {"GET", "/model/a%2Fb", NULL, 404, NULL, NULL},
    /* Aliases. */
    {"GET", "/model/known/aliases/nosuch", NULL, 404, NULL, "nosuch"},
    {"DELETE", "/model/known/aliases/nosuch", NULL, 404, NULL, "nosuch"},
    {"GET", "/model/nosuch/aliases", NULL, 404, NULL, "nosuch"},
    {"PUT", "/model/known/aliases/prod", "{\"version\":99}", 404, NULL, "99"},
    {"PUT", "/model/nosuch/aliases/prod", "{\"version\":1}", 404, NULL, "nosuch"},
    {"PUT", "/model/known/aliases/prod", "{}", 400, "version", "version"},
    {"PUT", "/model/known/aliases/prod", "{\"version\":0}", 400, "version", "version"},
    {"PUT", "/model/known/aliases/prod", "[1]", 400, NULL, "object"},
    {"PUT", "/model/known/aliases/prod", "{\"version\":", 400, NULL, "JSON"},
    {"PUT", "/model/known/aliases/latest", "{\"version\":1}", 400, NULL, "latest"},
    {"PUT", "/model/known/aliases/123", "{\"version\":1}", 400, NULL, "digits"},
    {"PUT", "/model/known/aliases/a%20b", "{\"version\":1}", 400, NULL, "alias"},
};

static const bad_request import_cases[] = {
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"activation\":[\"sigmoid\",\"sigmoid\"],\"loss\":\"mse\"}",
     400, "parameters", "parameters"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,2],[3,4]],\"b\":[0,0]}]}",
     400, "parameters", "2 layers"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,2],[3,4]],\"b\":[0,0]},"
     "{\"W\":[[1,2],[3,4]],\"b\":[0]}]}", 400, "parameters[1].W", "parameters[1].W"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,2],[3]],\"b\":[0,0]},"
     "{\"W\":[[1,2]],\"b\":[0]}]}", 400, "parameters[0].W[1]", "parameters[0].W[1]"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,2],[3,4]],\"b\":[0]},"
     "{\"W\":[[1,2]],\"b\":[0]}]}", 400, "parameters[0].b", "parameters[0].b"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,\"x\"],[3,4]],\"b\":[0,0]},"
     "{\"W\":[[1,2]],\"b\":[0]}]}", 400, "parameters[0].W[0][1]", "number"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"parameters\":[{\"W\":[[1,1e39],[3,4]],\"b\":[0,0]},"
     "{\"W\":[[1,2]],\"b\":[0]}]}", 400, "parameters[0].W[0][1]", "float"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,0,1],\"parameters\":[]}", 400, "layers[1]", "positive"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"activation\":\"swish\",\"parameters\":[]}", 400, "activation", "activation"},
    {"POST", "/model/imp/versions", "{\"layers\":[2,2,1],\"loss\":\"hinge\",\"parameters\":[]}", 400, "loss", "loss"},
    {"POST", "/model/imp/versions", "[]", 400, NULL, "object"},
    {"POST", "/model/imp/versions", "{", 400, NULL, "JSON"},
};

START_TEST(predict_and_registry_requests)
{
    import_known(srv);
    run_cases(srv, predict_cases, N(predict_cases));
    run_cases(srv, import_cases, N(import_cases));
    /* Nothing was imported by the bad imports, and "known" is intact. */
    http_reply r = http_get(srv, "/model/imp", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"known\",\"inputs\":[[1,2]]}", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------ routes and methods */

static const bad_request route_cases[] = {
    {"GET", "/nope", NULL, 404, NULL, "/nope"},
    {"GET", "/model/known/versions/1/loss/extra", NULL, 404, NULL, NULL},
    {"GET", "/train/1/whatever", NULL, 404, NULL, NULL},
    {"POST", "/v1/models/known:explode", "{}", 404, NULL, NULL},
    {"POST", "/predict/", "{}", 404, NULL, NULL},
    {"GET", "/train/987654", NULL, 404, NULL, "987654"},
};

START_TEST(unknown_routes_404)
{
    run_cases(srv, route_cases, N(route_cases));
}
END_TEST

START_TEST(wrong_methods_405)
{
    static const struct {
        const char *method, *path, *allowed, *refused;
    } cases[] = {
        {"PUT", "/train", "POST", "PUT"},
        {"GET", "/predict", "POST", "GET"},
        {"DELETE", "/predict", "POST", "DELETE"},
        {"POST", "/model", "GET", "POST"},
        {"PUT", "/model/known", "DELETE", "PUT"},
        {"POST", "/train/1", "DELETE", "POST"},
        {"PATCH", "/model/known/aliases/prod", "PUT", "PATCH"},
        {"PUT", "/model/known/versions", "POST", "PUT"},
        {"GET", "/v1/models/known:predict", "POST", "GET"},
        {"DELETE", "/model/known/versions/1/loss", "GET", "DELETE"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        const char *body = strcmp(cases[i].method, "GET") && strcmp(cases[i].method, "DELETE") ? "{}" : NULL;
        http_reply r = http_request(srv, cases[i].method, cases[i].path, body, body ? 2 : 0, NULL);
        bad_request c = {cases[i].method, cases[i].path, body, 405, NULL, cases[i].method};
        expect_case_problem(&r, &c);
        const char *allow = http_reply_header(&r, "Allow");
        ck_assert_msg(allow && strstr(allow, cases[i].allowed) && !strstr(allow, cases[i].refused),
                      "%s %s: Allow %s", cases[i].method, cases[i].path, allow ? allow : "(none)");
        http_reply_free(&r);
        still_serving(srv, cases[i].path);
    }
}
END_TEST

START_TEST(wrong_content_type_415)
{
    static const struct {
        const char *method, *path, *type;
    } cases[] = {
        {"POST", "/train", "text/plain"},
        {"POST", "/predict", "text/plain"},
        {"POST", "/predict", "application/x-www-form-urlencoded"},
        {"POST", "/v1/models/known:predict", "text/plain"},
        {"POST", "/model/known/versions", "text/csv"},
        {"PUT", "/model/known/aliases/prod", "text/plain"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char header[128];
        snprintf(header, sizeof header, "Content-Type: %s", cases[i].type);
        const char *h[] = {header, NULL};
        const char *body = "{\"model\":\"known\",\"inputs\":[[1,2]]}";
        http_reply r = http_request(srv, cases[i].method, cases[i].path, body, strlen(body), h);
        bad_request c = {cases[i].method, cases[i].path, body, 415, NULL, "application/json"};
        expect_case_problem(&r, &c);
        http_reply_free(&r);
        still_serving(srv, cases[i].path);
    }
}
END_TEST

/* --------------------------------------------- outputs beyond float32 */

START_TEST(overflowing_outputs_422)
{
    /* Weights near float32's limit overflow for large inputs: the answer is a
     * problem, never null or infinite outputs; small inputs still answer. */
    http_reply r = http_post(srv, "/model/huge/versions",
                             "{\"layers\":[2,1],\"activation\":[\"linear\"],"
                             "\"parameters\":[{\"W\":[[3e38,3e38]],\"b\":[0]}]}", NULL);
    ck_assert_msg(r.status == 201, "import: %ld %s", r.status, r.body);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"huge\",\"inputs\":[[10,10]]}", NULL);
    bad_request c = {"POST", "/predict", "", 422, "inputs", "too large"};
    expect_case_problem(&r, &c);
    http_reply_free(&r);
    r = http_post(srv, "/predict", "{\"model\":\"huge\",\"inputs\":[[0.001,0]]}", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------- a diverging job */

START_TEST(divergence_422_no_version)
{
    /* Two reliable ways to overflow: a linear net with a huge step, and
     * targets so large that the squared error is beyond float32. A model
     * that already has a version keeps just that one. */
    import_known(srv);
    http_reply r = http_get(srv, "/model/known", NULL);
    cJSON *m = http_reply_json(&r);
    int versions_before = cJSON_GetArraySize(cJSON_GetObjectItem(m, "versions"));
    cJSON_Delete(m);
    http_reply_free(&r);

    const char *bodies[] = {
        "{\"model\":\"boom\",\"layers\":[2,2,1],\"activation\":\"linear\",\"output_activation\":\"linear\","
        "\"learning_rate\":1e5,\"epochs\":50,\"seed\":1," SEED_DATA "}",
        "{\"model\":\"boom\",\"layers\":[2,2,1],\"output_activation\":\"linear\",\"epochs\":50,\"seed\":1,"
        "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1e30],[0],[0],[-1e30]]}",
        "{\"model\":\"known\",\"layers\":[2,2,1],\"activation\":\"linear\",\"output_activation\":\"linear\","
        "\"learning_rate\":1e5,\"epochs\":50,\"seed\":1," SEED_DATA "}",
    };
    for (size_t i = 0; i < N(bodies); i++) {
        r = http_post(srv, "/train?wait=true", bodies[i], NULL);
        bad_request c = {"POST", "/train?wait=true", bodies[i], 422, NULL, NULL};
        expect_case_problem(&r, &c);
        cJSON *p = http_reply_json(&r);
        const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail"));
        ck_assert_msg(strcasestr(detail, "NaN") || strcasestr(detail, "infinite") || strcasestr(detail, "diverge"),
                      "detail: %s", detail);
        cJSON_Delete(p);
        const char *loc = http_reply_header(&r, "Location");
        ck_assert_msg(loc && strncmp(loc, "/train/", 7) == 0, "Location %s", loc ? loc : "(none)");
        p = http_reply_json(&r); /* RFC 9457's instance names the failed job too */
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "instance")), loc);
        cJSON_Delete(p);
        char job_path[64];
        snprintf(job_path, sizeof job_path, "%s", loc);
        http_reply_free(&r);

        /* The job failed, with the reason, and made no version. */
        r = http_get(srv, job_path, NULL);
        ck_assert_int_eq(r.status, 200);
        cJSON *job = http_reply_json(&r);
        ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(job, "status")), "failed");
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(job, "version")));
        const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(job, "error"));
        ck_assert_msg(error && *error, "no error on the failed job");
        cJSON_Delete(job);
        http_reply_free(&r);
        still_serving(srv, "a diverging job");
    }
    r = http_get(srv, "/model/boom", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_get(srv, "/model/known", NULL);
    m = http_reply_json(&r);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(m, "versions")), versions_before);
    cJSON_Delete(m);
    http_reply_free(&r);
}
END_TEST

/* ---------------------------------------------------- --max-body 1K */

static char *padded_body(size_t n, const char *head)
{
    /* head + "\"pad\":\"   …\"}" of exactly n bytes */
    char *b = malloc(n + 1);
    size_t h = strlen(head);
    memcpy(b, head, h);
    memcpy(b + h, "\"pad\":\"", 7);
    memset(b + h + 7, ' ', n - h - 9);
    b[n - 2] = '"', b[n - 1] = '}', b[n] = '\0';
    return b;
}

START_TEST(body_over_max_413)
{
    import_known(srv);
    const char *paths[] = {"/train", "/predict", "/model/big/versions", "/v1/models/known:predict"};
    for (size_t i = 0; i < N(paths); i++) {
        char *big = padded_body(4096, "{");
        http_reply r = http_post(srv, paths[i], big, NULL);
        bad_request c = {"POST", paths[i], "(4 KiB)", 413, NULL, "1024"};
        expect_case_problem(&r, &c);
        http_reply_free(&r);
        free(big);
        still_serving(srv, paths[i]);
    }
    /* Just under the limit is read (and refused for what it says, not its size). */
    char *fits = padded_body(1000, "{\"model\":\"known\",\"inputs\":[[1,2]],");
    http_reply r = http_post(srv, "/predict", fits, NULL);
    bad_request c = {"POST", "/predict", "(1000 bytes)", 400, "pad", "pad"};
    expect_case_problem(&r, &c);
    http_reply_free(&r);
    free(fits);
    r = http_post(srv, "/predict", "{\"model\":\"known\",\"inputs\":[[1,2]]}", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*up)(void))
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    tcase_add_unchecked_fixture(tc, up, stop); /* stopped even when a test fails */
    suite_add_tcase(s, tc);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase(s, "train", start_default);
    tcase_add_test(tc, train_requests);
    tc = tcase(s, "requests", start_default);
    tcase_add_test(tc, predict_and_registry_requests);
    tcase_add_test(tc, unknown_routes_404);
    tcase_add_test(tc, wrong_methods_405);
    tcase_add_test(tc, wrong_content_type_415);
    tcase_add_test(tc, divergence_422_no_version);
    tcase_add_test(tc, overflowing_outputs_422);
    tc = tcase(s, "max-body 1K", start_small_body);
    tcase_add_test(tc, body_over_max_413);

    return run_suite(s);
}
