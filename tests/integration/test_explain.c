/*
 * test_explain.c — POST /explain against the real binary. With the seed's
 * hand-set weights every named value must equal the seed's formulas computed
 * here in double precision, and each dL/dθ the product of its chain-rule
 * factors; for deeper networks the analytic gradients must agree with the
 * numerical ones and the update must be one step of the optimizer.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static server *srv;
static void up(void) { srv = server_start(NULL); }
static void down(void)
{
    server_stop(srv);
    srv = NULL;
}

/* The seed's weights and one person, Alice (-2, -1) → 1. */
static const double W[6] = {0.15, -0.4, 0.8, 0.35, -0.6, 0.9}, B[3] = {0.1, -0.25, 0.5};
static const double X1 = -2, X2 = -1, Y = 1;

static double sig(double x) { return 1 / (1 + exp(-x)); }
static double dsig(double x) { return sig(x) * (1 - sig(x)); }

static void import_seed(const char *model)
{
    char body[512], path[128];
    snprintf(body, sizeof body,
             "{\"layers\":[2,2,1],\"activation\":[\"sigmoid\",\"sigmoid\"],\"loss\":\"mse\","
             "\"parameters\":[{\"W\":[[%g,%g],[%g,%g]],\"b\":[%g,%g]},{\"W\":[[%g,%g]],\"b\":[%g]}]}",
             W[0], W[1], W[2], W[3], B[0], B[1], W[4], W[5], B[2]);
    snprintf(path, sizeof path, "/model/%s/versions", model);
    http_reply r = http_post(srv, path, body, NULL);
    ck_assert_msg(r.status == 201, "import: %ld %s", r.status, r.body);
    http_reply_free(&r);
}

static double get(const cJSON *o, const char *group, const char *name)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, group);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, name);
    ck_assert_msg(cJSON_IsNumber(v), "%s.%s missing", group, name);
    return v->valuedouble;
}

/* The server computes in float32: 1e-6 relative (plus a hair absolute for
 * values near zero) is a few ulps of accumulated rounding. */
static void near(double got, double want, const char *what)
{
    ck_assert_msg(fabs(got - want) <= 1e-6 * fabs(want) + 1e-9, "%s: got %.9g, want %.9g", what, got, want);
}

START_TEST(seed_names_equal_the_seed_formulas)
{
    import_seed("seed");
    http_reply r = http_post(srv, "/explain", "{\"model\":\"seed\",\"inputs\":[-2,-1],\"targets\":[1]}", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    cJSON *j = http_reply_json(&r);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "named");
    ck_assert_ptr_nonnull(n);

    double sum_h1 = W[0] * X1 + W[1] * X2 + B[0], h1 = sig(sum_h1);
    double sum_h2 = W[2] * X1 + W[3] * X2 + B[1], h2 = sig(sum_h2);
    double sum_o1 = W[4] * h1 + W[5] * h2 + B[2], o1 = sig(sum_o1);
    near(get(n, "values", "sum_h1"), sum_h1, "sum_h1");
    near(get(n, "values", "h1"), h1, "h1");
    near(get(n, "values", "sum_h2"), sum_h2, "sum_h2");
    near(get(n, "values", "h2"), h2, "h2");
    near(get(n, "values", "o1"), o1, "o1");
    near(get(n, "values", "loss"), (Y - o1) * (Y - o1), "loss");

    double dL = -2 * (Y - o1);
    struct { const char *name; double want; } partials[] = {
        {"dL/dypred", dL},
        {"dypred/dw5", h1 * dsig(sum_o1)}, {"dypred/dw6", h2 * dsig(sum_o1)},
        {"dypred/db3", dsig(sum_o1)},      {"dypred/dh1", W[4] * dsig(sum_o1)},
        {"dypred/dh2", W[5] * dsig(sum_o1)},
        {"dh1/dw1", X1 * dsig(sum_h1)}, {"dh1/dw2", X2 * dsig(sum_h1)}, {"dh1/db1", dsig(sum_h1)},
        {"dh2/dw3", X1 * dsig(sum_h2)}, {"dh2/dw4", X2 * dsig(sum_h2)}, {"dh2/db2", dsig(sum_h2)},
    };
    for (size_t i = 0; i < sizeof partials / sizeof partials[0]; i++)
        near(get(n, "partials", partials[i].name), partials[i].want, partials[i].name);

    /* each gradient is the product of its listed factors, as the server reports them */
    struct { const char *g, *via, *local; } chain[] = {
        {"dL/dw1", "dypred/dh1", "dh1/dw1"}, {"dL/dw2", "dypred/dh1", "dh1/dw2"},
        {"dL/db1", "dypred/dh1", "dh1/db1"}, {"dL/dw3", "dypred/dh2", "dh2/dw3"},
        {"dL/dw4", "dypred/dh2", "dh2/dw4"}, {"dL/db2", "dypred/dh2", "dh2/db2"},
        {"dL/dw5", NULL, "dypred/dw5"},      {"dL/dw6", NULL, "dypred/dw6"},
        {"dL/db3", NULL, "dypred/db3"},
    };
    static const char *const theta[] = {"w1", "w2", "b1", "w3", "w4", "b2", "w5", "w6", "b3"};
    for (size_t i = 0; i < 9; i++) {
        double product = get(n, "partials", "dL/dypred") * get(n, "partials", chain[i].local) *
                         (chain[i].via ? get(n, "partials", chain[i].via) : 1);
        near(get(n, "gradients", chain[i].g), product, chain[i].g);
        /* and one SGD step at the version's learning rate, 0.1 */
        near(get(n, "updated", theta[i]), get(n, "parameters", theta[i]) - 0.1 * get(n, "gradients", chain[i].g),
             theta[i]);
    }
    near(get(n, "gradients", "dL/dw1"), dL * W[4] * dsig(sum_o1) * X1 * dsig(sum_h1), "dL/dw1 by hand");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "max_relative_error");
    ck_assert_msg(cJSON_IsNumber(err) && err->valuedouble < 1e-4, "max_relative_error %g", err->valuedouble);
    cJSON_Delete(j);
    http_reply_free(&r);

    /* the stored version is not changed by explaining it */
    r = http_get(srv, "/model/seed/versions/1", NULL);
    ck_assert_ptr_nonnull(strstr(r.body, "\"W\":[[0.15,-0.4],[0.8,0.35]]"));
    http_reply_free(&r);
}
END_TEST

START_TEST(text_format_writes_the_calculation_out)
{
    import_seed("seedtext");
    http_reply r = http_post(srv, "/explain?format=text",
                             "{\"model\":\"seedtext\",\"inputs\":[-2,-1],\"targets\":1}", NULL);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Content-Type"), "text/plain"));
    const char *lines[] = {"sum_h1 = w1*x1 + w2*x2 + b1", "h1 = sigmoid(sum_h1) = 0.549834",
                           "dL/dw1 = dL/dypred * dypred/dh1 * dh1/dw1", "w1 <- 0.15 - 0.1 *",
                           "largest relative error"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_msg(strstr(r.body, lines[i]), "missing \"%s\" in:\n%s", lines[i], r.body);
    http_reply_free(&r);
    const char *accept[] = {"Accept: text/plain", NULL};
    r = http_post(srv, "/explain", "{\"model\":\"seedtext\",\"inputs\":[-2,-1],\"targets\":[1]}", accept);
    ck_assert_ptr_nonnull(strstr(r.body, "chain rule"));
    http_reply_free(&r);
}
END_TEST

/* The largest relative difference between two parameter-shaped arrays. */
static void compare_params(const cJSON *a, const cJSON *n, double *worst)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(n)) {
        double d = fabs(a->valuedouble - n->valuedouble) / fmax(fabs(a->valuedouble) + fabs(n->valuedouble), 1e-3);
        *worst = fmax(*worst, d);
        return;
    }
    for (const cJSON *x = a ? a->child : NULL, *y = n ? n->child : NULL; x && y; x = x->next, y = y->next)
        compare_params(x, y, worst);
}

START_TEST(deeper_networks_agree_with_numeric_gradients)
{
    static const char *const cases[][3] = {
        {"tanh", "mse", "linear"}, {"relu", "crossentropy", "softmax"}, {"leaky_relu", "binary_crossentropy", "sigmoid"},
        {"sigmoid", "mse", "sigmoid"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char model[32], body[1024];
        snprintf(model, sizeof model, "deep%zu", c);
        bool ce = strcmp(cases[c][1], "crossentropy") == 0;
        snprintf(body, sizeof body,
                 "{\"model\":\"%s\",\"layers\":[3,5,4,%d],\"activation\":\"%s\",\"loss\":\"%s\","
                 "\"output_activation\":\"%s\",\"epochs\":3,\"seed\":%zu,\"optimizer\":{\"type\":\"adam\",\"learning_rate\":0.01},"
                 "\"inputs\":[[0.5,-1.2,2.0],[1.5,0.3,-0.7],[-0.4,0.9,0.1]],\"targets\":%s}",
                 model, ce ? 3 : 2, cases[c][0], cases[c][1], cases[c][2], c + 7,
                 ce ? "[0,2,1]" : "[[0.2,0.9],[0.7,0.1],[0.5,0.5]]");
        http_reply r = http_post(srv, "/train?wait=true", body, NULL);
        ck_assert_msg(r.status == 201, "%s: %ld %s", model, r.status, r.body);
        http_reply_free(&r);
        snprintf(body, sizeof body, "{\"model\":\"%s\",\"inputs\":[0.3,-0.8,1.1],\"targets\":%s}", model,
                 ce ? "2" : "[0.25,0.75]");
        r = http_post(srv, "/explain", body, NULL);
        ck_assert_msg(r.status == 200, "%s: %ld %s", model, r.status, r.body);
        cJSON *j = http_reply_json(&r);
        ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "named"));
        double worst = 0;
        compare_params(cJSON_GetObjectItemCaseSensitive(j, "gradients"),
                       cJSON_GetObjectItemCaseSensitive(j, "numeric_gradients"), &worst);
        /* float32 backprop against double central differences: 1e-3 relative */
        ck_assert_msg(worst < 1e-3, "%s: worst relative difference %g", model, worst);
        ck_assert_msg(cJSON_GetObjectItemCaseSensitive(j, "max_relative_error")->valuedouble < 1e-3, "%s", model);
        /* Adam's first step moves every parameter with a nonzero gradient by about lr */
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "parameters")->child;
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "gradients")->child;
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "updated_parameters")->child;
        double pb = cJSON_GetArrayItem(cJSON_GetObjectItem(p, "b"), 0)->valuedouble;
        double gb = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "b"), 0)->valuedouble;
        double ub = cJSON_GetArrayItem(cJSON_GetObjectItem(u, "b"), 0)->valuedouble;
        if (fabs(gb) > 1e-6)
            ck_assert_msg(fabs((pb - ub) - 0.01 * (gb > 0 ? 1 : -1)) < 1e-4, "%s: adam step %g", model, pb - ub);
        cJSON_Delete(j);
        http_reply_free(&r);
    }
}
END_TEST

static void expect_400(const char *body, const char *field)
{
    http_reply r = http_post(srv, "/explain", body, NULL);
    ck_assert_msg(r.status == 400 || r.status == 404, "%s: %ld %s", body, r.status, r.body);
    if (field)
        ck_assert_msg(strstr(r.body, field), "%s: expected field %s in %s", body, field, r.body);
    http_reply_free(&r);
}

START_TEST(bad_requests_are_4xx)
{
    import_seed("seedbad");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[-2,-1,3],\"targets\":[1]}", "\"inputs\"");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[-2,-1]}", "\"targets\"");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[-2,-1],\"targets\":[1,0]}", "\"targets\"");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[[-2,-1],[1,2]],\"targets\":[1]}", "\"inputs\"");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[-2,\"x\"],\"targets\":[1]}", "inputs[1]");
    expect_400("{\"model\":\"seedbad\",\"inputs\":[-2,-1],\"targets\":\"cat\"}", "\"targets\"");
    http_reply r = http_post(srv, "/explain", "{\"model\":\"nosuch\",\"inputs\":[-2,-1],\"targets\":[1]}", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
    r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("explain");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, seed_names_equal_the_seed_formulas);
    tcase_add_test(tc, text_format_writes_the_calculation_out);
    tcase_add_test(tc, deeper_networks_agree_with_numeric_gradients);
    tcase_add_test(tc, bad_requests_are_4xx);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
