/*
 * test_http.c — the HTTP layer as a client sees it, against the real binary:
 * operations routes, problem+json for unknown routes and wrong methods,
 * CORS (preflight, "*", an allow-list), body limits, the API key, the
 * command line (--help, bad flags) and stopping on SIGTERM.
 *
 * Body-limit and API-key checks need a POST route; they use POST /train
 * (the first state-changing route of the API) and say "skipped" while the
 * build has none. tests/unit/test_http.c covers the same paths in-process
 * with routes of its own.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* One server per test case, owned by Check's runner process (unchecked
 * fixtures), so it is stopped even when a test fails. Check's fixture API
 * takes no argument, hence a file-level pointer. */
static server *srv;

static void start_default(void) { srv = server_start(NULL); }
static void start_allow_list(void)
{
    srv = server_start((const char *[]){"--cors-origins", "https://a.example, https://b.example",
                                        NULL});
}
static void start_locked(void)
{
    srv = server_start((const char *[]){"--api-key", "topsecret", "--max-body", "1K", NULL});
}
static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}

/* Asserts an RFC 9457 body with this status; returns the parsed problem. */
static cJSON *problem_body(const http_reply *r, long status)
{
    ck_assert_msg(r->status == status, "status %ld, expected %ld: %s", r->status, status, r->body);
    const char *ct = http_reply_header(r, "Content-Type");
    ck_assert_msg(ct && strcmp(ct, "application/problem+json") == 0, "Content-Type %s",
                  ct ? ct : "(none)");
    cJSON *p = http_reply_json(r);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "type")), "about:blank");
    ck_assert_ptr_nonnull(cJSON_GetStringValue(cJSON_GetObjectItem(p, "title")));
    ck_assert_int_eq((long)cJSON_GetNumberValue(cJSON_GetObjectItem(p, "status")), status);
    const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail"));
    ck_assert_msg(detail && *detail, "no detail");
    return p;
}

/* True (and a note on stderr) when the build has no POST /train yet. */
static bool no_train_route(const http_reply *r)
{
    if (r->status != 404) return false;
    fprintf(stderr, "test_http: skipped, the build has no POST /train route yet\n");
    return true;
}

/* ------------------------------------------------------ default server */

START_TEST(healthz)
{
    http_reply r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(http_reply_header(&r, "Content-Type"), "application/json");
    cJSON *j = http_reply_json(&r);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "ok");
    cJSON_Delete(j);
    http_reply_free(&r);
}
END_TEST

START_TEST(readyz)
{
    http_reply r = http_get(srv, "/readyz", NULL);
    ck_assert_msg(r.status == 200, "status %ld: %s", r.status, r.body);
    cJSON *j = http_reply_json(&r);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "status")), "ready");
    cJSON_Delete(j);
    http_reply_free(&r);
}
END_TEST

START_TEST(openapi_served_as_yaml)
{
    http_reply r = http_get(srv, "/openapi.yaml", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(http_reply_header(&r, "Content-Type"), "application/yaml");
    ck_assert_msg(strncmp(r.body, "openapi: 3.1", 12) == 0, "starts with: %.40s", r.body);
    http_reply_free(&r);
}
END_TEST

START_TEST(index_is_html)
{
    http_reply r = http_get(srv, "/", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Content-Type"), "text/html"));
    ck_assert_ptr_nonnull(strcasestr(r.body, "<html"));
    http_reply_free(&r);
}
END_TEST

START_TEST(head_is_get_without_body)
{
    http_reply r = http_request(srv, "HEAD", "/healthz", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.len, 0);
    http_reply_free(&r);
}
END_TEST

START_TEST(unknown_route_404)
{
    http_reply r = http_get(srv, "/no/such/thing", NULL);
    cJSON *p = problem_body(&r, 404);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(p, "title")), "Not Found");
    ck_assert_ptr_null(cJSON_GetObjectItem(p, "field"));
    cJSON_Delete(p);
    http_reply_free(&r);
    /* A trailing slash is another path. */
    r = http_get(srv, "/healthz/", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
}
END_TEST

START_TEST(wrong_method_405_with_allow)
{
    http_reply r = http_delete(srv, "/healthz", NULL);
    cJSON *p = problem_body(&r, 405);
    const char *allow = http_reply_header(&r, "Allow");
    ck_assert_ptr_nonnull(allow);
    ck_assert_ptr_nonnull(strstr(allow, "GET"));
    ck_assert_ptr_nonnull(strstr(allow, "OPTIONS"));
    ck_assert_ptr_null(strstr(allow, "DELETE"));
    cJSON_Delete(p);
    http_reply_free(&r);

    /* A body sent to the wrong method is not read, and the server goes on. */
    r = http_post(srv, "/healthz", "{\"x\":1}", NULL);
    ck_assert_int_eq(r.status, 405);
    http_reply_free(&r);
    r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
}
END_TEST

START_TEST(preflight_204)
{
    const char *h[] = {"Origin: https://page.example", "Access-Control-Request-Method: GET",
                       "Access-Control-Request-Headers: content-type, authorization", NULL};
    http_reply r = http_request(srv, "OPTIONS", "/healthz", NULL, 0, h);
    ck_assert_int_eq(r.status, 204);
    ck_assert_int_eq(r.len, 0);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "*");
    const char *methods = http_reply_header(&r, "Access-Control-Allow-Methods");
    ck_assert_ptr_nonnull(methods);
    ck_assert_ptr_nonnull(strstr(methods, "GET"));
    const char *headers = http_reply_header(&r, "Access-Control-Allow-Headers");
    ck_assert_ptr_nonnull(headers);
    ck_assert_ptr_nonnull(strcasestr(headers, "Content-Type"));
    ck_assert_ptr_nonnull(strcasestr(headers, "Authorization"));
    ck_assert_ptr_nonnull(http_reply_header(&r, "Access-Control-Max-Age"));
    ck_assert_ptr_null(http_reply_header(&r, "Access-Control-Allow-Credentials"));
    http_reply_free(&r);

    /* Preflight of a path that does not exist is a 404. */
    r = http_request(srv, "OPTIONS", "/nowhere", NULL, 0, h);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);
}
END_TEST

START_TEST(acao_star_on_every_answer)
{
    const char *h[] = {"Origin: https://page.example", NULL};
    const char *paths[] = {"/healthz", "/openapi.yaml", "/missing"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        http_reply r = http_get(srv, paths[i], h);
        const char *acao = http_reply_header(&r, "Access-Control-Allow-Origin");
        ck_assert_msg(acao && strcmp(acao, "*") == 0, "%s: ACAO %s", paths[i], acao);
        ck_assert_ptr_null(http_reply_header(&r, "Vary"));
        http_reply_free(&r);
    }
}
END_TEST

START_TEST(json_content_type_415_or_later)
{
    /* Only a route taking a body checks its type; /train is the first. */
    const char *h[] = {"Content-Type: text/plain", NULL};
    http_reply r = http_post(srv, "/train", "{}", h);
    if (!no_train_route(&r)) {
        cJSON_Delete(problem_body(&r, 415));
    }
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------------------ allow-list */

START_TEST(allow_list_echoes_listed_origin)
{
    const char *h[] = {"Origin: https://b.example", NULL};
    http_reply r = http_get(srv, "/healthz", h);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "https://b.example");
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Vary"), "Origin"));
    http_reply_free(&r);

    const char *pre[] = {"Origin: https://a.example", "Access-Control-Request-Method: GET", NULL};
    r = http_request(srv, "OPTIONS", "/readyz", NULL, 0, pre);
    ck_assert_int_eq(r.status, 204);
    ck_assert_str_eq(http_reply_header(&r, "Access-Control-Allow-Origin"), "https://a.example");
    http_reply_free(&r);
}
END_TEST

START_TEST(allow_list_refuses_other_origins)
{
    const char *h[] = {"Origin: https://evil.example", NULL};
    http_reply r = http_get(srv, "/healthz", h);
    ck_assert_int_eq(r.status, 200); /* served; the browser withholds it */
    ck_assert_ptr_null(http_reply_header(&r, "Access-Control-Allow-Origin"));
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Vary"), "Origin"));
    http_reply_free(&r);

    r = http_get(srv, "/healthz", NULL);
    ck_assert_ptr_null(http_reply_header(&r, "Access-Control-Allow-Origin"));
    http_reply_free(&r);

    /* A prefix of a listed origin is not that origin. */
    const char *near[] = {"Origin: https://a.example.evil", NULL};
    r = http_get(srv, "/healthz", near);
    ck_assert_ptr_null(http_reply_header(&r, "Access-Control-Allow-Origin"));
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------------------ API key, 1 KiB bodies */

START_TEST(key_needed_for_changes)
{
    http_reply r = http_post(srv, "/train", "{}", NULL);
    if (!no_train_route(&r)) {
        cJSON_Delete(problem_body(&r, 401));
        ck_assert_str_eq(http_reply_header(&r, "WWW-Authenticate"), "Bearer");
        http_reply_free(&r);
        const char *wrong[] = {"Authorization: Bearer topsecreT", NULL};
        r = http_post(srv, "/train", "{}", wrong);
        cJSON_Delete(problem_body(&r, 401));
        http_reply_free(&r);
        /* With the key the request gets past the gate (whatever /train says). */
        const char *right[] = {"Authorization: Bearer topsecret", NULL};
        r = http_post(srv, "/train", "{}", right);
        ck_assert_msg(r.status != 401, "the right key was refused: %s", r.body);
    }
    http_reply_free(&r);

    /* Reading needs no key; a wrong method is still 405 (routing first). */
    r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    r = http_delete(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 405);
    http_reply_free(&r);
}
END_TEST

START_TEST(body_over_limit_413)
{
    size_t n = 4096; /* over --max-body 1K */
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    memcpy(big, "{\"pad\":\"", 8);
    big[n - 2] = '"', big[n - 1] = '}', big[n] = '\0';
    const char *key[] = {"Authorization: Bearer topsecret", NULL};
    http_reply r = http_post(srv, "/train", big, key);
    if (!no_train_route(&r)) {
        cJSON *p = problem_body(&r, 413);
        ck_assert_ptr_nonnull(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail")), "1024"));
        cJSON_Delete(p);
    }
    http_reply_free(&r);
    free(big);
    /* Still serving. */
    r = http_get(srv, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
}
END_TEST

START_TEST(log_never_shows_the_key)
{
    const char *key[] = {"Authorization: Bearer topsecret", NULL};
    http_reply r = http_get(srv, "/healthz", key);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    char path[320];
    snprintf(path, sizeof path, "%s/server.log", srv->dir);
    /* The log is buffered and flushed every 0.1 s: give it a few seconds. */
    bool logged = false;
    for (int tries = 0; tries < 100 && !logged; tries++) {
        FILE *f = fopen(path, "r");
        if (!f) return; /* HARNESS_VERBOSE: the log went to the terminal */
        char line[1024];
        while (fgets(line, sizeof line, f)) {
            ck_assert_msg(!strstr(line, "topsecret"), "the key leaked into the log: %s", line);
            if (strstr(line, "GET /healthz 200")) logged = true;
        }
        fclose(f);
        if (!logged) usleep(50000);
    }
    ck_assert_msg(logged, "no log line for GET /healthz");
}
END_TEST

/* --------------------------------------------------------- the process */

START_TEST(help_exits_0)
{
    char *out = NULL;
    int status = server_run_once((const char *[]){"--help", NULL}, &out);
    ck_assert_int_eq(status, 0);
    const char *flags[] = {"--port", "--bind", "--db", "--workers", "--threads", "--api-key",
                           "--cors-origins", "--max-body", "--max-dataset", "--http-threads",
                           "--queue", "--timeout", "--max-connections", "SCRATCHNET_PORT"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        ck_assert_msg(strstr(out, flags[i]), "--help lacks %s:\n%s", flags[i], out);
    free(out);
}
END_TEST

START_TEST(bad_flag_exits_2)
{
    char *out = NULL;
    int status = server_run_once((const char *[]){"--port", "eighty", NULL}, &out);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(out, "--port") && strstr(out, "eighty"), "message: %s", out);
    free(out);
    status = server_run_once((const char *[]){"--no-such-flag", NULL}, &out);
    ck_assert_int_eq(status, 2);
    ck_assert_msg(strstr(out, "--no-such-flag"), "message: %s", out);
    free(out);
}
END_TEST

START_TEST(sigterm_stops_promptly)
{
    server *s = server_start(NULL);
    http_reply r = http_get(s, "/healthz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int status = server_terminate(s);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    ck_assert_int_eq(status, 0);
    ck_assert_msg(secs < 3.0, "stopping took %.1f s", secs);
    server_stop(s);
}
END_TEST

START_TEST(restart_on_same_db)
{
    server *s = server_start(NULL);
    server_restart(s);
    http_reply r = http_get(s, "/readyz", NULL);
    ck_assert_int_eq(r.status, 200);
    http_reply_free(&r);
    server_stop(s);
}
END_TEST

static TCase *tcase(Suite *s, const char *name, void (*up)(void))
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 60);
    if (up) tcase_add_unchecked_fixture(tc, up, stop);
    suite_add_tcase(s, tc);
    return tc;
}

int main(void)
{
    Suite *s = suite_create("http");
    TCase *tc = tcase(s, "routes", start_default);
    tcase_add_test(tc, healthz);
    tcase_add_test(tc, readyz);
    tcase_add_test(tc, openapi_served_as_yaml);
    tcase_add_test(tc, index_is_html);
    tcase_add_test(tc, head_is_get_without_body);
    tcase_add_test(tc, unknown_route_404);
    tcase_add_test(tc, wrong_method_405_with_allow);
    tcase_add_test(tc, preflight_204);
    tcase_add_test(tc, acao_star_on_every_answer);
    tcase_add_test(tc, json_content_type_415_or_later);

    tc = tcase(s, "cors allow-list", start_allow_list);
    tcase_add_test(tc, allow_list_echoes_listed_origin);
    tcase_add_test(tc, allow_list_refuses_other_origins);

    tc = tcase(s, "api key and limits", start_locked);
    tcase_add_test(tc, key_needed_for_changes);
    tcase_add_test(tc, body_over_limit_413);
    tcase_add_test(tc, log_never_shows_the_key);

    tc = tcase(s, "process", NULL);
    tcase_add_test(tc, help_exits_0);
    tcase_add_test(tc, bad_flag_exits_2);
    tcase_add_test(tc, sigterm_stops_promptly);
    tcase_add_test(tc, restart_on_same_db);

    return run_suite(s);
}
