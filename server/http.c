/*
 * http.c — the daemon, routing, request bodies, CORS, the API key and the
 * request log. Answers are built in http_response.c.
 *
 * A request's life in libmicrohttpd's access callback (on_request):
 *  1. first call (headers only): allocate the request, route it, run every
 *     check that needs no body (request_admit). When a body follows, an
 *     early answer is queued at once: libmicrohttpd sends it without reading
 *     the body and closes the connection (a client that sent "Expect:
 *     100-continue" never sends the body). Without a body the answer waits
 *     for the last call, so the connection stays open for the next request.
 *  2. calls with body bytes: body_read appends them (buffered routes) or
 *     passes them on (streamed routes). A failure is remembered and the rest
 *     of the body is discarded, so the answer goes out cleanly at the end.
 *  3. the last call (no bytes): the outcome goes through the one switch in
 *     on_request: 413, 503, the stream's own answer, or the handler.
 * on_completed logs the request and frees it, whatever happened.
 */
#include "http_internal.h"
#include "text.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct http_request {
    http_server *srv;
    struct MHD_Connection *conn;
    const char *method;           /* libmicrohttpd's, valid for the request */
    const char *path;             /* decoded, without the query */
    const http_route *route;      /* NULL until routed */
    const char *cap_name[HTTP_MAX_CAPTURES];
    size_t cap_name_len[HTTP_MAX_CAPTURES];
    const char *cap_value[HTTP_MAX_CAPTURES]; /* NUL-terminated, in capbuf */
    size_t n_caps;
    bool admitted;                /* the first call is done */
    http_read failure;            /* HTTP_READ_CONTINUE while none */
    http_buffer body;             /* buffered routes */
    uint64_t declared;            /* Content-Length (0 when absent) */
    uint64_t received;            /* body bytes seen */
    void *stream_state;           /* streamed routes: begin's result */
    http_stream *stream;          /* a queued streamed answer (for the log) */
    unsigned status;              /* the status sent, for the log */
    uint64_t bytes;               /* body bytes sent, for the log */
    struct timespec start;
    http_response res;
    char capbuf[];                /* capture values, NUL-terminated */
};

/* ------------------------------------------------------------- routing */

bool http_route_match(const char *pattern, const char *path, http_captures *out)
{
    const char *p = pattern, *s = path;
    out->n = 0;
    while (*p) {
        if (*p != '{') {
            if (*p++ != *s++) return false;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!close || out->n == HTTP_MAX_CAPTURES) return false; /* a bad pattern never matches */
        /* A capture never spans '/' or ':' so "{name}:predict" splits there. */
        size_t n = strcspn(s, "/:");
        if (n == 0) return false;
        out->cap[out->n++] = (http_capture_span){
            .name = p + 1, .name_len = (size_t)(close - p - 1), .value = s, .len = n};
        s += n;
        p = close + 1;
    }
    return *s == '\0';
}

/* Method-matching: HEAD is served by GET routes. */
static bool method_is(const char *route_method, const char *method)
{
    return strcmp(route_method, method) == 0 ||
           (strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0);
}

/* Writes "GET, HEAD, POST, OPTIONS" — every method the path answers. */
static void route_methods(const http_server *srv, const char *path, char *out, size_t n)
{
    static const char *const order[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    size_t used = 0;
    out[0] = '\0';
    for (size_t m = 0; m < sizeof order / sizeof order[0]; m++) {
        for (size_t i = 0; i < srv->opt.n_routes; i++) {
            http_captures caps;
            const http_route *r = &srv->opt.routes[i];
            if (method_is(r->method, order[m]) && http_route_match(r->pattern, path, &caps)) {
                used += (size_t)snprintf(out + used, used < n ? n - used : 0, "%s, ", order[m]);
                break;
            }
        }
    }
    snprintf(out + (used < n ? used : n), used < n ? n - used : 0, "OPTIONS");
}

/* Finds the route for the request and copies its captures. Returns false
 * when no route has this path (404); *path_known tells 405 from 404. */
static bool request_route(http_request *req, bool *path_known)
{
    *path_known = false;
    for (size_t i = 0; i < req->srv->opt.n_routes; i++) {
        const http_route *r = &req->srv->opt.routes[i];
        http_captures caps;
        if (!http_route_match(r->pattern, req->path, &caps)) continue;
        *path_known = true;
        if (!method_is(r->method, req->method)) continue;
        req->route = r;
        char *dst = req->capbuf;
        for (size_t c = 0; c < caps.n; c++) {
            req->cap_name[c] = caps.cap[c].name;
            req->cap_name_len[c] = caps.cap[c].name_len;
            memcpy(dst, caps.cap[c].value, caps.cap[c].len);
            dst[caps.cap[c].len] = '\0';
            req->cap_value[c] = dst;
            dst += caps.cap[c].len + 1;
        }
        req->n_caps = caps.n;
        return true;
    }
    return false;
}

/* ------------------------------------------------------ request access */

void *http_app(const http_request *req) { return req->srv->opt.app; }
const char *http_method(const http_request *req) { return req->method; }
const char *http_path(const http_request *req) { return req->path; }

const char *http_capture(const http_request *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->n_caps; i++)
        if (req->cap_name_len[i] == n && memcmp(req->cap_name[i], name, n) == 0)
            return req->cap_value[i];
    return NULL;
}

const char *http_query(const http_request *req, const char *name)
{
    const char *v = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
    /* "?wait" without '=' has a NULL value but is present. */
    if (!v && MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND, name, strlen(name),
                                            NULL, NULL) == MHD_YES)
        return "";
    return v;
}

const char *http_header(const http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const http_request *req, size_t *len)
{
    if (len) *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

/* True for "application/json", "application/json; charset=utf-8",
 * "application/problem+json"… */
static bool content_type_is_json(const char *ct)
{
    while (*ct == ' ') ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ') n--;
    static const char app[] = "application/", json[] = "json", plus[] = "+json";
    if (n < sizeof app - 1 || strncasecmp(ct, app, sizeof app - 1) != 0) return false;
    const char *sub = ct + sizeof app - 1;
    size_t sn = n - (sizeof app - 1);
    return (sn == sizeof json - 1 && strncasecmp(sub, json, sn) == 0) ||
           (sn > sizeof plus - 1 && strncasecmp(sub + sn - (sizeof plus - 1), plus,
                                                sizeof plus - 1) == 0);
}

bool http_require_json(const http_request *req, http_response *res)
{
    const char *ct = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || content_type_is_json(ct)) return true;
    http_problem(res, 415, NULL,
                 "this route takes a JSON body: send Content-Type: application/json (got '%s')",
                 ct);
    return false;
}

/* -------------------------------------------------------------- bodies */

http_read http_buffer_append(http_buffer *buf, const char *data, size_t len)
{
    if (len > buf->limit - buf->len) return HTTP_READ_TOO_LARGE;
    if (buf->len + len + 1 > buf->cap) {
        /* Small first: a request of 1 KiB or more makes glibc's malloc
         * consolidate its free lists, which then slows every small
         * allocation after it (measured on /predict). */
        size_t cap = buf->cap ? buf->cap : 64;
        while (cap < buf->len + len + 1) cap *= 2;
        char *p = realloc(buf->data, cap);
        if (!p) return HTTP_READ_NOMEM;
        buf->data = p;
        buf->cap = cap;
    }
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
    return HTTP_READ_CONTINUE;
}

http_read http_buffer_printf(http_buffer *buf, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    http_read rc = n < 0 ? HTTP_READ_NOMEM : http_buffer_append(buf, text, (size_t)n);
    free(n < 0 ? NULL : text);
    if (rc != HTTP_READ_CONTINUE) {
        free(buf->data);
        *buf = (http_buffer){.limit = 0};
    }
    return rc;
}

static uint64_t body_limit(const http_request *req)
{
    return req->route->stream ? req->srv->opt.max_stream : req->srv->opt.max_body;
}

/* Takes one call's body bytes. Failures are remembered and reported on the
 * last call (size 0), after the rest of the body has been discarded. */
static http_read body_read(http_request *req, const char *data, size_t *size)
{
    size_t n = *size;
    if (n == 0) return req->failure != HTTP_READ_CONTINUE ? req->failure : HTTP_READ_OK;
    *size = 0;
    if (req->failure != HTTP_READ_CONTINUE) return HTTP_READ_CONTINUE;
    if (req->route->stream) {
        if (n > body_limit(req) - req->received) req->failure = HTTP_READ_TOO_LARGE;
        else if (!req->route->stream->chunk(req->stream_state, req, data, n, &req->res))
            req->failure = HTTP_READ_REFUSED;
    } else {
        http_read r = http_buffer_append(&req->body, data, n);
        if (r != HTTP_READ_CONTINUE) req->failure = r;
    }
    req->received += n;
    return HTTP_READ_CONTINUE;
}

/* ------------------------------------------------------- CORS and auth */

/* The Origin to allow for this request: "*", the request's own Origin when
 * listed, or NULL (no CORS headers: the browser refuses). */
static const char *cors_origin(const http_request *req)
{
    const char *list = req->srv->opt.cors_origins;
    if (!list || strcmp(list, "*") == 0) return "*";
    const char *origin = http_header(req, "Origin");
    if (!origin) return NULL;
    size_t olen = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ') t--;
        if (t == olen && strncasecmp(p, origin, t) == 0) return origin;
        p += n;
    }
    return NULL;
}

static void cors_headers(const http_request *req, struct MHD_Response *r)
{
    const char *allow = cors_origin(req);
    bool star = req->srv->opt.cors_origins == NULL || strcmp(req->srv->opt.cors_origins, "*") == 0;
    /* With an allow-list the answer depends on Origin: caches must know. */
    if (!star) MHD_add_response_header(r, "Vary", "Origin");
    if (!allow) return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", allow);
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "Location, Retry-After");
    /* Credentials are never allowed: an API key travels in Authorization,
     * which a page sends explicitly, and "*" forbids credentials anyway. */
}

/* Compares in time that depends only on the key's length. */
static bool secret_equal(const char *given, const char *key)
{
    size_t glen = strlen(given), klen = strlen(key);
    unsigned char diff = glen != klen;
    for (size_t i = 0; i < klen; i++)
        diff |= (unsigned char)key[i] ^ (unsigned char)(i < glen ? given[i] : 0);
    return diff == 0;
}

static bool request_authorized(const http_request *req)
{
    const char *key = req->srv->opt.api_key;
    if (!key || !*key || (req->route->flags & HTTP_OPEN)) return true;
    const char *m = req->method;
    if (strcmp(m, "POST") != 0 && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0 &&
        strcmp(m, "PATCH") != 0)
        return true;
    const char *auth = http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    static const char bearer[] = "Bearer ";
    if (!auth || strncasecmp(auth, bearer, sizeof bearer - 1) != 0) return false;
    auth += sizeof bearer - 1;
    while (*auth == ' ') auth++;
    return secret_equal(auth, key);
}

/* -------------------------------------------------------- the request */

/* Every check that needs no body, in the order http.h documents. Returns
 * HTTP_READ_CONTINUE to go on reading, or the outcome for the one switch. */
static http_read request_admit(http_request *req)
{
    http_response *res = &req->res;
    bool path_known;
    bool routed = request_route(req, &path_known);
    bool preflight = strcmp(req->method, "OPTIONS") == 0;
    if (!path_known) {
        http_problem(res, 404, NULL, "there is no route %s (see /openapi.yaml)", req->path);
        return HTTP_READ_REFUSED;
    }
    if (preflight || !routed) {
        char allow[128];
        route_methods(req->srv, req->path, allow, sizeof allow);
        if (preflight) {
            http_empty(res, 204);
            http_header_add(res, "Access-Control-Allow-Methods", allow);
            http_header_add(res, "Access-Control-Allow-Headers", "Content-Type, Authorization");
            http_header_add(res, "Access-Control-Max-Age", "86400");
        } else {
            http_problem(res, 405, NULL, "%s does not answer %s; it answers %s", req->path,
                         req->method, allow);
        }
        http_header_add(res, "Allow", allow);
        return HTTP_READ_REFUSED;
    }
    if (!request_authorized(req)) {
        http_problem(res, 401, NULL,
                     "this server needs an API key for changes: send Authorization: Bearer <key>");
        http_header_add(res, "WWW-Authenticate", "Bearer");
        return HTTP_READ_REFUSED;
    }
    if ((req->route->flags & HTTP_JSON) && !http_require_json(req, res)) return HTTP_READ_REFUSED;
    if (req->declared > body_limit(req)) return HTTP_READ_TOO_LARGE;
    if (req->route->stream) {
        req->stream_state = req->route->stream->begin(req, res);
        if (!req->stream_state) return HTTP_READ_REFUSED;
    } else {
        req->body.limit = body_limit(req);
    }
    return HTTP_READ_CONTINUE;
}

/* True when a body follows the headers (declared, or chunked). */
static bool request_has_body(const http_request *req)
{
    return req->declared > 0 || http_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Runs the handler (or ends the stream) once the whole body is in. */
static void request_dispatch(http_request *req)
{
    if (req->route->stream) req->route->stream->end(req->stream_state, req, &req->res);
    else req->route->handler(req, &req->res);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Queues req->res with the CORS headers. */
static enum MHD_Result request_answer(http_request *req)
{
    http_response *res = &req->res;
    if (res->status == 0)
        http_problem(res, 500, NULL, "the handler for %s %s gave no answer (a bug)", req->method,
                     req->path);
    struct MHD_Response *r = http_response_build(res, req->conn, &req->stream);
    if (!r) return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
    cors_headers(req, r);
    req->status = res->status;
    req->bytes = res->len;
    if (req->srv->opt.observe) /* before the client can see the answer, so a scrape right after counts it */
        req->srv->opt.observe(req->srv->opt.app, req->route, req->status, seconds_since(&req->start));
    enum MHD_Result ok = MHD_queue_response(req->conn, res->status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    http_server *srv = cls;
    http_request *req = *con_cls;
    if (!req) {
        /* Room for every capture value: at most the path plus NULs. (malloc:
         * glibc's calloc skips its per-thread cache.) */
        req = malloc(sizeof *req + strlen(url) + HTTP_MAX_CAPTURES + 1);
        if (!req) return MHD_NO;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        *req = (http_request){.srv = srv, .conn = conn, .method = method, .path = url,
                              .failure = HTTP_READ_CONTINUE, .res.srv = srv,
                              .declared = cl ? strtoull(cl, NULL, 10) : 0};
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        *con_cls = req;
    }
    http_read outcome;
    if (!req->admitted) {
        req->admitted = true;
        outcome = request_admit(req);
        /* An answer queued now makes libmicrohttpd close the connection
         * afterwards (it skips the body). Without a body there is nothing
         * to skip: keep the answer for the last call and the connection
         * alive. */
        if (outcome != HTTP_READ_CONTINUE && !request_has_body(req)) {
            req->failure = outcome;
            outcome = HTTP_READ_CONTINUE;
        }
    } else {
        outcome = body_read(req, upload_data, upload_data_size);
    }
    /* The one place where reading outcomes become answers. */
    switch (outcome) {
    case HTTP_READ_CONTINUE:
        return MHD_YES;
    case HTTP_READ_TOO_LARGE:
        http_problem(&req->res, 413, NULL,
                     "the request body is larger than this server accepts: at most %" PRIu64
                     " bytes (%s)",
                     body_limit(req), req->route->stream ? "--max-dataset" : "--max-body");
        break;
    case HTTP_READ_NOMEM:
        http_problem(&req->res, 503, NULL, "the server ran out of memory reading the body");
        break;
    case HTTP_READ_REFUSED:
        break; /* the answer is in req->res already */
    case HTTP_READ_OK:
        request_dispatch(req);
        break;
    }
    return request_answer(req);
}

/* The request's log line: "http: POST /predict 200 52B 0.1ms", one write
 * (stdio locks the stream, so lines never interleave). The Authorization
 * header is never logged. Built by hand: printf's formatting cost as much as
 * the rest of /predict's own work. Durations in tenths of a millisecond. */
static void log_request(const http_request *req, bool completed)
{
    uint64_t tenths = (uint64_t)(seconds_since(&req->start) * 1e4 + 0.5);
    const char *end = completed ? "ms\n" : "ms (connection ended early)\n";
    char line[512];
    if (strlen(req->method) + strlen(req->path) + 4 * TEXT_U64_MAX + 40 > sizeof line) { /* a very long path */
        fprintf(stderr, "http: %s %s %u %" PRIu64 "B %" PRIu64 ".%" PRIu64 "%s", req->method, req->path,
                req->status, req->bytes, tenths / 10, tenths % 10, end);
        return;
    }
    char *o = text_put(line, "http: ");
    o = text_put(o, req->method);
    *o++ = ' ';
    o = text_put(o, req->path);
    *o++ = ' ';
    o = text_put_u64(o, req->status);
    *o++ = ' ';
    o = text_put_u64(o, req->bytes);
    o = text_put(o, "B ");
    o = text_put_u64(o, tenths / 10);
    *o++ = '.';
    o = text_put_u64(o, tenths % 10);
    o = text_put(o, end);
    fwrite(line, 1, (size_t)(o - line), stderr);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    (void)conn;
    http_server *srv = cls;
    http_request *req = *con_cls;
    if (!req) return;
    *con_cls = NULL;
    if (req->stream) {
        req->bytes = req->stream->bytes;
        http_stream_unref(req->stream);
    }
    if (!srv->opt.quiet) log_request(req, why == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    if (req->stream_state) req->route->stream->release(req->stream_state);
    http_response_clear(&req->res, false);
    free(req->body.data);
    free(req);
}

/* ------------------------------------------------------------- daemon */

/* libmicrohttpd's fatal errors abort the process: the reason must reach the
 * log first (stderr is buffered, and an abort does not flush it). */
static void on_mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    fprintf(stderr, "http: libmicrohttpd failed at %s:%u: %s\n", file ? file : "?", line,
            reason ? reason : "(no reason given)");
    fflush(stderr);
    abort();
}

http_server *http_start(const http_options *opt, char *err, size_t errlen)
{
    MHD_set_panic_func(on_mhd_panic, NULL);
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } addr = {0};
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (inet_pton(AF_INET, opt->bind, &addr.v4.sin_addr) == 1) {
        addr.v4.sin_family = AF_INET;
        addr.v4.sin_port = htons((uint16_t)opt->port);
    } else if (inet_pton(AF_INET6, opt->bind, &addr.v6.sin6_addr) == 1) {
        addr.v6.sin6_family = AF_INET6;
        addr.v6.sin6_port = htons((uint16_t)opt->port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "'%s' is not a numeric IPv4 or IPv6 address", opt->bind);
        return NULL;
    }
    /* epoll where libmicrohttpd was built with it, else poll, else select. */
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) flags |= MHD_USE_EPOLL;
    else if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES) flags |= MHD_USE_POLL;

    http_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    srv->opt = *opt;
    srv->quiesced_fd = -1;
    pthread_mutex_init(&srv->streams_mu, NULL);
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)opt->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, &addr.sa,
        /* 0: no pool, one thread (libmicrohttpd warns about a pool of 1) */
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opt->threads > 1 ? opt->threads : 0),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)opt->max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)opt->timeout, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_END);
    if (!srv->daemon) {
        /* libmicrohttpd has logged its reason; errno usually holds it too. */
        snprintf(err, errlen, "cannot listen on %s port %u: %s", opt->bind, opt->port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        pthread_mutex_destroy(&srv->streams_mu);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opt->port;
    return srv;
}

unsigned http_port(const http_server *srv) { return srv->port; }

void http_quiesce(http_server *srv)
{
    if (srv->quiesced_fd < 0) srv->quiesced_fd = (int)MHD_quiesce_daemon(srv->daemon);
}

void http_stop(http_server *srv)
{
    if (!srv) return;
    /* libmicrohttpd refuses to stop with suspended connections: wake them;
     * their readers see `closing` and end the stream. */
    http_streams_close(srv);
    MHD_stop_daemon(srv->daemon);
    if (srv->quiesced_fd >= 0) close(srv->quiesced_fd);
    pthread_mutex_destroy(&srv->streams_mu);
    free(srv);
}
