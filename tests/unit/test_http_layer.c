/*
 * test_http.c — the HTTP layer in-process, with routes of its own that the
 * real server does not have: the pattern matcher (captures, TF Serving's
 * "{name}:predict"), buffered bodies and their limit (declared and chunked),
 * 415, the API key and open routes, a streamed upload (begin/chunk/end/
 * release), a handler that forgets to answer, a Server-Sent-Events answer
 * woken from another thread, and stopping while a stream is suspended.
 */
#include <check.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* ------------------------------------------------------------ matcher */

static const char *cap(const http_captures *c, size_t i, char *buf, size_t n)
{
    snprintf(buf, n, "%.*s=%.*s", (int)c->cap[i].name_len, c->cap[i].name, (int)c->cap[i].len,
             c->cap[i].value);
    return buf;
}

START_TEST(match_patterns)
{
    http_captures c;
    char b[64];
    ck_assert(http_route_match("/healthz", "/healthz", &c) && c.n == 0);
    ck_assert(!http_route_match("/healthz", "/healthz/", &c));
    ck_assert(!http_route_match("/healthz", "/health", &c));
    ck_assert(http_route_match("/", "/", &c));
    ck_assert(!http_route_match("/", "/x", &c));

    ck_assert(http_route_match("/model/{name}/versions/{v}", "/model/gender/versions/3", &c));
    ck_assert_uint_eq(c.n, 2);
    ck_assert_str_eq(cap(&c, 0, b, sizeof b), "name=gender");
    ck_assert_str_eq(cap(&c, 1, b, sizeof b), "v=3");
    ck_assert(!http_route_match("/model/{name}", "/model/", &c));      /* empty capture */
    ck_assert(!http_route_match("/model/{name}", "/model/a/b", &c));   /* never spans '/' */

    ck_assert(http_route_match("/v1/models/{name}:predict", "/v1/models/m.1:predict", &c));
    ck_assert_str_eq(cap(&c, 0, b, sizeof b), "name=m.1");
    ck_assert(http_route_match("/v1/models/{name}/versions/{v}:predict",
                               "/v1/models/m/versions/12:predict", &c));
    ck_assert_str_eq(cap(&c, 1, b, sizeof b), "v=12");
    ck_assert(!http_route_match("/v1/models/{name}", "/v1/models/m:predict", &c));
    ck_assert(!http_route_match("/v1/models/{name}:predict", "/v1/models/m:classify", &c));
    ck_assert(!http_route_match("/v1/models/{name}:predict", "/v1/models/:predict", &c));
}
END_TEST

START_TEST(buffer_doubles_under_limit)
{
    http_buffer b = {.limit = 10000};
    char piece[3000];
    memset(piece, 'x', sizeof piece);
    ck_assert_int_eq(http_buffer_append(&b, piece, 3000), HTTP_READ_CONTINUE);
    ck_assert_uint_eq(b.cap, 4096);
    ck_assert_int_eq(http_buffer_append(&b, piece, 3000), HTTP_READ_CONTINUE);
    ck_assert_uint_eq(b.cap, 8192);
    ck_assert_int_eq(http_buffer_append(&b, piece, 3000), HTTP_READ_CONTINUE);
    ck_assert_int_eq(http_buffer_append(&b, piece, 1001), HTTP_READ_TOO_LARGE);
    ck_assert_uint_eq(b.len, 9000); /* nothing appended */
    ck_assert_int_eq(http_buffer_append(&b, piece, 1000), HTTP_READ_CONTINUE);
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_int_eq(b.data[b.len], '\0');
    free(b.data);
}
END_TEST

START_TEST(buffer_printf_fails_once_for_all)
{
    http_buffer b = {.limit = 16};
    ck_assert_int_eq(http_buffer_printf(&b, "%s,%d\n", "epoch", 7), HTTP_READ_CONTINUE);
    ck_assert_str_eq(b.data, "epoch,7\n");
    /* over the limit: the buffer is emptied and every later append fails */
    ck_assert_int_eq(http_buffer_printf(&b, "%s", "0123456789"), HTTP_READ_TOO_LARGE);
    ck_assert_ptr_null(b.data);
    ck_assert_int_eq(http_buffer_printf(&b, "x"), HTTP_READ_TOO_LARGE);
    ck_assert_ptr_null(b.data);
}
END_TEST

/* ------------------------------------------------------- test routes */

typedef struct {
    atomic_int released; /* upload states released */
    atomic_int streams_freed;
} test_app;

static void echo(http_request *req, http_response *res)
{
    size_t len;
    const char *body = http_body(req, &len);
    http_body_set(res, 200, "application/json", body, len);
}

static void item(http_request *req, http_response *res)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", http_capture(req, "name"));
    cJSON_AddStringToObject(j, "v", http_capture(req, "v"));
    const char *q = http_query(req, "q");
    cJSON_AddStringToObject(j, "q", q ? q : "(none)");
    cJSON_AddBoolToObject(j, "wait", http_query(req, "wait") != NULL);
    cJSON_AddStringToObject(j, "method", http_method(req));
    http_header_add(res, "Location", "/items/elsewhere");
    http_json(res, 201, j);
}

static void silent(http_request *req, http_response *res) { (void)req, (void)res; }

/* A streamed upload that counts bytes and chunks. */
typedef struct {
    test_app *app;
    size_t bytes, chunks;
} upload;

static void *upload_begin(http_request *req, http_response *res)
{
    if (http_query(req, "refuse")) {
        http_problem(res, 400, "name", "refused before the body");
        return NULL;
    }
    upload *u = calloc(1, sizeof *u);
    u->app = http_app(req);
    return u;
}

static bool upload_chunk(void *state, http_request *req, const char *data, size_t len,
                         http_response *res)
{
    (void)req;
    upload *u = state;
    if (memmem(data, len, "BAD", 3)) {
        http_problem(res, 422, NULL, "bad data after %zu bytes", u->bytes);
        return false;
    }
    u->bytes += len;
    u->chunks++;
    return true;
}

static void upload_end(void *state, http_request *req, http_response *res)
{
    (void)req;
    upload *u = state;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "bytes", (double)u->bytes);
    http_json(res, 201, j);
}

static void upload_release(void *state)
{
    upload *u = state;
    atomic_fetch_add(&u->app->released, 1);
    free(u);
}

static const http_body_stream upload_stream = {
    .begin = upload_begin, .chunk = upload_chunk, .end = upload_end, .release = upload_release};

/* Server-Sent Events fed by a producer thread (as a training job would). */
typedef struct {
    pthread_mutex_t mu;
    char buf[256];
    size_t len;
    int events;     /* to send; 0 = forever silent */
    bool done, gone;
    http_stream *stream;
    pthread_t thread;
    test_app *app;
} events;

static void *events_produce(void *arg)
{
    events *e = arg;
    for (int i = 0; i < e->events; i++) {
        usleep(30000);
        pthread_mutex_lock(&e->mu);
        if (!e->gone) {
            e->len += (size_t)snprintf(e->buf + e->len, sizeof e->buf - e->len,
                                       "event: tick\ndata: %d\n\n", i);
            http_stream_wake(e->stream); /* under mu: see events_free */
        }
        pthread_mutex_unlock(&e->mu);
    }
    pthread_mutex_lock(&e->mu);
    e->done = e->events > 0;
    if (!e->gone) http_stream_wake(e->stream);
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

static ssize_t events_read(void *ctx, char *buf, size_t max)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    ssize_t n = 0;
    if (e->len) {
        size_t k = e->len < max ? e->len : max;
        memcpy(buf, e->buf, k);
        memmove(e->buf, e->buf + k, e->len - k);
        e->len -= k;
        n = (ssize_t)k;
    } else if (e->done) {
        n = HTTP_STREAM_END;
    }
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void events_free(void *ctx)
{
    events *e = ctx;
    pthread_mutex_lock(&e->mu);
    e->gone = true; /* no wake after this: the producer checks under mu */
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    atomic_fetch_add(&e->app->streams_freed, 1);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

static void events_route(http_request *req, http_response *res, int count)
{
    events *e = calloc(1, sizeof *e);
    pthread_mutex_init(&e->mu, NULL);
    e->events = count;
    e->app = http_app(req);
    e->stream = http_respond_stream(res, 200, "text/event-stream", events_read, events_free, e);
    ck_assert_ptr_nonnull(e->stream);
    http_header_add(res, "Cache-Control", "no-cache");
    pthread_create(&e->thread, NULL, events_produce, e);
}

static void events_three(http_request *req, http_response *res) { events_route(req, res, 3); }
static void events_never(http_request *req, http_response *res) { events_route(req, res, 0); }

static const http_route test_routes[] = {
    {.method = "POST", .pattern = "/echo", .handler = echo, .flags = HTTP_JSON},
    {.method = "GET", .pattern = "/items/{name}/versions/{v}", .handler = item},
    {.method = "PUT", .pattern = "/items/{name}/versions/{v}", .handler = item},
    {.method = "POST", .pattern = "/v1/models/{name}:predict", .handler = item,
     .flags = HTTP_OPEN | HTTP_JSON},
    {.method = "POST", .pattern = "/upload", .stream = &upload_stream},
    {.method = "GET", .pattern = "/silent", .handler = silent},
    {.method = "GET", .pattern = "/events", .handler = events_three},
    {.method = "GET", .pattern = "/never", .handler = events_never},
};

static test_app app;

static http_server *start(const char *api_key)
{
    atomic_store(&app.released, 0);
    atomic_store(&app.streams_freed, 0);
    char err[256];
    http_options opt = {
        .bind = "127.0.0.1",
        .threads = 2,
        .timeout = 10,
        .max_connections = 16,
        .max_body = 1024,
        .max_stream = 4096,
        .api_key = api_key,
        .cors_origins = "*",
        .routes = test_routes,
        .n_routes = sizeof test_routes / sizeof test_routes[0],
        .app = &app,
        .quiet = true,
    };
    http_server *srv = http_start(&opt, err, sizeof err);
    ck_assert_msg(srv != NULL, "http_start: %s", err);
    ck_assert_uint_gt(http_port(srv), 0);
    return srv;
}

/* ------------------------------------------------------------ client */

typedef struct {
    long status;
    char body[8192];
    size_t len;
    char location[128];
    char allow[128];
    char auth[64];
} reply;

typedef struct {
    const char *data;
    size_t len, pos, piece;
} source;

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
    reply *r = cls;
    size_t k = size * n, room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, p, k < room ? k : room);
    r->len += k < room ? k : room;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *cls)
{
    reply *r = cls;
    size_t k = size * n;
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)k, p);
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Location: ", 10) == 0) snprintf(r->location, sizeof r->location, "%s", line + 10);
    if (strncasecmp(line, "Allow: ", 7) == 0) snprintf(r->allow, sizeof r->allow, "%s", line + 7);
    if (strncasecmp(line, "WWW-Authenticate: ", 18) == 0) snprintf(r->auth, sizeof r->auth, "%s", line + 18);
    return k;
}

/* Sends the body in pieces of src->piece bytes (chunked encoding). */
static size_t on_read(char *buf, size_t size, size_t n, void *cls)
{
    source *s = cls;
    size_t k = s->len - s->pos;
    if (k > s->piece) k = s->piece;
    if (k > size * n) k = size * n;
    memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    return k;
}

/* One request. chunked: send body with Transfer-Encoding: chunked in
 * 700-byte pieces instead of a Content-Length. */
static reply call(http_server *srv, const char *method, const char *path, const char *type,
                  const char *body, size_t len, bool chunked, const char *auth)
{
    reply r = {0};
    CURL *c = curl_easy_init();
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", http_port(srv), path);
    struct curl_slist *h = NULL;
    char line[128];
    if (type) snprintf(line, sizeof line, "Content-Type: %s", type), h = curl_slist_append(h, line);
    if (auth) snprintf(line, sizeof line, "Authorization: %s", auth), h = curl_slist_append(h, line);
    source src = {.data = body, .len = len, .piece = 700};
    if (body && chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &src);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (strcmp(method, body ? "POST" : "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r;
}

static reply get(http_server *srv, const char *path)
{
    return call(srv, "GET", path, NULL, NULL, 0, false, NULL);
}

static char *filled(size_t n)
{
    char *b = malloc(n + 1);
    memset(b, 'a', n);
    b[n] = '\0';
    return b;
}

/* --------------------------------------------------------------- tests */

START_TEST(captures_query_headers)
{
    http_server *srv = start(NULL);
    reply r = get(srv, "/items/m%2Ex/versions/7?q=a%20b&wait");
    ck_assert_int_eq(r.status, 201);
    ck_assert_str_eq(r.location, "/items/elsewhere");
    cJSON *j = cJSON_Parse(r.body);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "name")), "m.x");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "v")), "7");
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "q")), "a b");
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "wait")));
    cJSON_Delete(j);

    r = call(srv, "POST", "/v1/models/gender:predict", "application/json", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 201);
    ck_assert_ptr_nonnull(strstr(r.body, "\"name\":\"gender\""));

    r = call(srv, "DELETE", "/items/a/versions/1", NULL, NULL, 0, false, NULL);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET, HEAD, PUT, OPTIONS");
    http_stop(srv);
}
END_TEST

START_TEST(buffered_body_and_limit)
{
    http_server *srv = start(NULL);
    char *body = filled(1024);
    body[0] = '"', body[1023] = '"';
    reply r = call(srv, "POST", "/echo", "application/json; charset=utf-8", body, 1024, false, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 1024); /* exactly at the limit is fine */
    ck_assert_int_eq(memcmp(r.body, body, 1024), 0);
    r = call(srv, "POST", "/echo", "application/json", body, 1024, true, NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 1024);
    free(body);

    /* One byte over: declared (answered before the body) and chunked (after it). */
    body = filled(1025);
    for (int chunked = 0; chunked < 2; chunked++) {
        r = call(srv, "POST", "/echo", "application/json", body, 1025, chunked, NULL);
        ck_assert_msg(r.status == 413, "chunked=%d: %ld %s", chunked, r.status, r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "\"status\":413"));
        ck_assert_ptr_nonnull(strstr(r.body, "1024 bytes (--max-body)"));
    }
    free(body);

    /* Wrong type: 415 before the body. */
    r = call(srv, "POST", "/echo", "text/csv", "a,b\n", 4, false, NULL);
    ck_assert_int_eq(r.status, 415);
    ck_assert_ptr_nonnull(strstr(r.body, "Unsupported Media Type"));
    r = call(srv, "POST", "/echo", "application/vnd.api+json", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 200);
    r = call(srv, "POST", "/echo", "application/jsonx", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 415);

    r = get(srv, "/silent");
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_nonnull(strstr(r.body, "gave no answer"));
    http_stop(srv);
}
END_TEST

START_TEST(api_key_and_open_routes)
{
    http_server *srv = start("k3y");
    reply r = call(srv, "POST", "/echo", "application/json", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 401);
    ck_assert_str_eq(r.auth, "Bearer");
    r = call(srv, "POST", "/echo", "application/json", "{}", 2, false, "Bearer k3");
    ck_assert_int_eq(r.status, 401);
    r = call(srv, "POST", "/echo", "application/json", "{}", 2, false, "Basic k3y");
    ck_assert_int_eq(r.status, 401);
    r = call(srv, "POST", "/echo", "application/json", "{}", 2, false, "Bearer k3y");
    ck_assert_int_eq(r.status, 200);
    r = call(srv, "PUT", "/items/a/versions/1", "application/json", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 401);
    /* Reads and open routes need no key. */
    r = get(srv, "/items/a/versions/1");
    ck_assert_int_eq(r.status, 201);
    r = call(srv, "POST", "/v1/models/m:predict", "application/json", "{}", 2, false, NULL);
    ck_assert_int_eq(r.status, 201);
    /* The key check comes before the body limit: no key, big body → 401. */
    char *big = filled(5000);
    r = call(srv, "POST", "/echo", "application/json", big, 5000, false, NULL);
    ck_assert_int_eq(r.status, 401);
    free(big);
    http_stop(srv);
}
END_TEST

START_TEST(streamed_upload)
{
    http_server *srv = start(NULL);
    char *data = filled(4096);
    reply r = call(srv, "POST", "/upload", "text/csv", data, 4096, true, NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    ck_assert_ptr_nonnull(strstr(r.body, "\"bytes\":4096"));
    r = call(srv, "POST", "/upload", "text/csv", data, 4096, false, NULL);
    ck_assert_int_eq(r.status, 201);
    free(data);

    data = filled(5000);
    r = call(srv, "POST", "/upload", "text/csv", data, 5000, true, NULL);
    ck_assert_int_eq(r.status, 413);
    ck_assert_ptr_nonnull(strstr(r.body, "--max-dataset"));
    r = call(srv, "POST", "/upload", "text/csv", data, 5000, false, NULL); /* declared: early */
    ck_assert_int_eq(r.status, 413);

    memcpy(data + 1500, "BAD", 3);
    r = call(srv, "POST", "/upload", "text/csv", data, 3000, true, NULL);
    ck_assert_int_eq(r.status, 422);
    ck_assert_ptr_nonnull(strstr(r.body, "bad data after 1400 bytes"));
    free(data);

    r = call(srv, "POST", "/upload?refuse", "text/csv", "x", 1, false, NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "\"field\":\"name\""));

    http_stop(srv);
    /* Every state begin made was released: 2 ok, 1 too large (chunked), 1 refused. */
    ck_assert_int_eq(atomic_load(&app.released), 4);
}
END_TEST

START_TEST(server_sent_events)
{
    http_server *srv = start(NULL);
    reply r = get(srv, "/events");
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "event: tick\ndata: 0\n\nevent: tick\ndata: 1\n\n"
                             "event: tick\ndata: 2\n\n");
    /* The daemon still serves others while streams wait. */
    r = get(srv, "/events");
    ck_assert_int_eq(r.status, 200);
    http_stop(srv);
    ck_assert_int_eq(atomic_load(&app.streams_freed), 2);
}
END_TEST

static void *wait_forever(void *arg)
{
    reply *r = arg;
    *r = get(*(http_server **)r->body, "/never");
    return NULL;
}

START_TEST(stop_ends_suspended_streams)
{
    http_server *srv = start(NULL);
    reply *r = calloc(1, sizeof *r);
    memcpy(r->body, &srv, sizeof srv);
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, r);
    for (int i = 0; i < 100 && atomic_load(&app.streams_freed) == 0; i++) usleep(20000);
    usleep(200000); /* the reader has found nothing and suspended */
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    http_stop(srv);
    clock_gettime(CLOCK_MONOTONIC, &b);
    pthread_join(t, NULL);
    ck_assert_int_lt(b.tv_sec - a.tv_sec, 3);
    ck_assert_int_eq(atomic_load(&app.streams_freed), 1);
    free(r);
}
END_TEST

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    Suite *s = suite_create("http");
    TCase *tc = tcase_create("pieces");
    tcase_add_test(tc, match_patterns);
    tcase_add_test(tc, buffer_doubles_under_limit);
    tcase_add_test(tc, buffer_printf_fails_once_for_all);
    suite_add_tcase(s, tc);
    tc = tcase_create("daemon");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, captures_query_headers);
    tcase_add_test(tc, buffered_body_and_limit);
    tcase_add_test(tc, api_key_and_open_routes);
    tcase_add_test(tc, streamed_upload);
    tcase_add_test(tc, server_sent_events);
    tcase_add_test(tc, stop_ends_suspended_streams);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
