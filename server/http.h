/*
 * http.h — the HTTP layer: a libmicrohttpd daemon, a static route table,
 * bounded request bodies, CORS, the API key, problem+json errors and a
 * one-line log per request. Handlers see only this header: a request to read
 * and a response to fill; they never touch libmicrohttpd.
 *
 * Routes. A table of http_route rows, matched in order:
 *     {.method = "GET",  .pattern = "/model/{name}/versions/{v}", .handler = model_version_get},
 *     {.method = "POST", .pattern = "/v1/models/{name}:predict", .handler = tf_predict,
 *      .flags = HTTP_OPEN | HTTP_JSON},
 * A "{capture}" matches one or more characters other than '/' and ':', so a
 * capture can end at ':' as in TF Serving's "/v1/models/{name}:predict".
 * An unknown path answers 404; a known path with another method answers 405
 * with Allow; OPTIONS on a known path is a CORS preflight (204). HEAD is
 * served by the GET route (libmicrohttpd drops the body).
 *
 * Order of checks for each request, all before any body byte is read:
 * route (404/405) → OPTIONS preflight → API key (401) → Content-Type of
 * HTTP_JSON routes (415) → a declared Content-Length over the limit (413).
 * Then the body is read (buffered routes: up to --max-body; streamed routes:
 * up to --max-dataset) and the handler runs.
 *
 * Threads. Handlers run on any of the daemon's threads, many at once; the
 * request and response belong to the calling thread for the handler's
 * duration. Shared state lives behind http_app(req), the pointer given to
 * http_start (see handlers.h).
 *
 * Ownership. Strings returned by the request functions belong to the request
 * and live until the handler (or body-stream callback) returns. Response
 * functions copy what they are given, except http_json, which takes the tree.
 */
#ifndef SCRATCHNET_HTTP_H
#define SCRATCHNET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

typedef struct http_request http_request;   /* one request, read-only for handlers */
typedef struct http_response http_response; /* the answer a handler fills in */
typedef struct http_server http_server;     /* a running daemon */
typedef struct http_stream http_stream;     /* a streamed (e.g. SSE) response */

/* ---------------------------------------------------------------- routes */

/* A buffered handler: the whole body has arrived (http_body). It must give
 * an answer through one of the response functions; if it gives none, the
 * client gets a 500 naming the bug. */
typedef void (*http_handler)(http_request *req, http_response *res);

/* A streamed request body, for uploads too large to hold (CSV datasets).
 * The http layer counts bytes against --max-dataset and answers 413 itself.
 *  begin   after routing, auth and Content-Type checks, before any byte:
 *          returns the parser state, or NULL after answering in res (e.g.
 *          400 for a missing ?name=; the body is then never read).
 *  chunk   each piece as it arrives (len > 0, not NUL-terminated): returns
 *          true to go on, false after answering in res (the rest of the
 *          body is read and discarded, then that answer is sent).
 *  end     the body is complete and every chunk returned true: answer.
 *  release always called exactly once for a state begin returned, last,
 *          whatever happened (413, a refusal, the client going away). */
typedef struct {
    void *(*begin)(http_request *req, http_response *res);
    bool (*chunk)(void *state, http_request *req, const char *data, size_t len,
                  http_response *res);
    void (*end)(void *state, http_request *req, http_response *res);
    void (*release)(void *state);
} http_body_stream;

enum {
    HTTP_OPEN = 1u << 0, /* no API key needed even for POST/PUT/DELETE (predict, explain…) */
    HTTP_JSON = 1u << 1, /* a body must be JSON: another Content-Type answers 415 */
};

typedef struct {
    const char *method;             /* "GET", "POST", "PUT" or "DELETE" */
    const char *pattern;            /* "/model/{name}", "/v1/models/{name}:predict" */
    http_handler handler;           /* a buffered route, or… */
    const http_body_stream *stream; /* …a streamed one (handler NULL) */
    unsigned flags;                 /* HTTP_OPEN | HTTP_JSON */
} http_route;

#define HTTP_MAX_CAPTURES 4

/* One capture of a match: both point into their strings, not NUL-terminated. */
typedef struct {
    const char *name;  /* in the pattern */
    size_t name_len;
    const char *value; /* in the path */
    size_t len;
} http_capture_span;

/* The captures of one match. */
typedef struct {
    size_t n;
    http_capture_span cap[HTTP_MAX_CAPTURES];
} http_captures;

/* True when path matches pattern (fills *out; exposed for tests). */
bool http_route_match(const char *pattern, const char *path, http_captures *out);

/* ---------------------------------------------------------------- daemon */

typedef struct {
    const char *bind;          /* numeric IPv4/IPv6 address */
    unsigned port;             /* 0: the kernel picks one (see http_port) */
    unsigned threads;          /* thread-pool size */
    unsigned timeout;          /* idle seconds per connection */
    unsigned max_connections;
    uint64_t max_body;         /* buffered routes: largest body */
    uint64_t max_stream;       /* streamed routes: largest body */
    const char *api_key;       /* NULL or "": no key */
    const char *cors_origins;  /* "*" or "https://a,https://b" */
    const http_route *routes;  /* the table, kept (not copied) for the daemon's life */
    size_t n_routes;
    void *app;                 /* handed to handlers by http_app */
    bool quiet;                /* no per-request log lines (unit tests) */
    /* Called once per answered request (any thread), as its answer is
     * queued and before the client can read it, with its route (NULL when
     * none matched), status and time taken so far; may be NULL. */
    void (*observe)(void *app, const http_route *route, unsigned status, double seconds);
} http_options;

/* Starts listening and serving. Returns NULL with a sentence in err on
 * failure (bad address, port in use, out of memory); nothing is left running.
 * The option strings must outlive the server. */
http_server *http_start(const http_options *opt, char *err, size_t errlen);

/* The port actually bound (the chosen one when opt->port was 0). */
unsigned http_port(const http_server *srv);

/* Stops accepting new connections; requests in progress go on. */
void http_quiesce(http_server *srv);

/* Ends open streamed responses, stops the threads, closes every connection
 * and frees srv. Handlers have all returned when it returns. */
void http_stop(http_server *srv);

/* --------------------------------------------------------------- request */

void *http_app(const http_request *req);            /* http_options.app */
const char *http_method(const http_request *req);   /* "GET", … */
const char *http_path(const http_request *req);     /* decoded, without the query */
/* A capture of the route's pattern by name ("name" for {name}); NULL if none. */
const char *http_capture(const http_request *req, const char *name);
/* A query argument, decoded; NULL if absent ("" for "?wait"). */
const char *http_query(const http_request *req, const char *name);
/* A request header, case-insensitive name; NULL if absent. */
const char *http_header(const http_request *req, const char *name);
/* The body of a buffered route, NUL-terminated ("" if none); *len its size
 * (len may be NULL). */
const char *http_body(const http_request *req, size_t *len);

/* True when the request has a JSON body type (application/json with any
 * parameters, or application/…+json) or no Content-Type at all. Otherwise
 * answers 415 in res and returns false. */
bool http_require_json(const http_request *req, http_response *res);

/* -------------------------------------------------------------- response */
/* Each function below sets the whole answer; a later call replaces an
 * earlier one (and headers added before are kept). On out-of-memory they
 * answer 503 instead, so a handler never needs to check. */

/* JSON from a tree, printed compactly; takes ownership of tree (NULL, as a
 * failed cJSON allocation gives, answers 503). */
void http_json(http_response *res, unsigned status, cJSON *tree);
/* JSON from text the caller already printed. */
void http_json_text(http_response *res, unsigned status, const char *json);
/* Any body with its Content-Type ("text/csv", "application/yaml", …). */
void http_body_set(http_response *res, unsigned status, const char *content_type,
                   const void *data, size_t len);
/* The same, taking data (malloc'd) as it is; NULL (a failed allocation)
 * answers 503. */
void http_body_take(http_response *res, unsigned status, const char *content_type, char *data,
                    size_t len);
/* A NUL-terminated text body. */
void http_text(http_response *res, unsigned status, const char *content_type, const char *text);
/* No body (204, 202 without content…). */
void http_empty(http_response *res, unsigned status);

/* An RFC 9457 problem, application/problem+json:
 * {"type":"about:blank","title":<reason phrase>,"status":N,"detail":…,"field":…}
 * field (a JSON path into the request, e.g. "layers[1]") is left out when NULL. */
void http_problem(http_response *res, unsigned status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The same about one resource, named by "instance" (e.g. "/train/7" for a
 * failed job), with no field. */
void http_problem_instance(http_response *res, unsigned status, const char *instance,
                           const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Adds a header (Location, Retry-After, …), copied. False when memory ran
 * out: the header is dropped. */
bool http_header_add(http_response *res, const char *name, const char *value);

/* ---------------------------------------------------- streamed responses
 *
 * For Server-Sent Events and other answers produced over time. The handler
 * calls http_respond_stream with a reader and its context, keeps the returned
 * handle, and returns. The daemon then calls reader(ctx, buf, max) whenever
 * the client can take more:
 *   > 0             bytes written to buf (at most max)
 *   0               nothing yet: the connection is suspended (it costs no
 *                   thread and no CPU) until someone calls http_stream_wake
 *   HTTP_STREAM_END the answer is complete
 *   HTTP_STREAM_ERROR abort the connection
 * The producer (e.g. a training job) calls http_stream_wake(handle) from any
 * thread after making data available; a wake that races with the reader is
 * never lost (the reader is simply called again).
 *
 * free_cb(ctx) is called exactly once, when the daemon is done with the
 * answer (finished, client gone, or server stopping). The handle is freed
 * right after free_cb returns, so the producer must stop calling wake before
 * free_cb returns: unregister the listener inside free_cb under the same lock
 * the producer holds while it calls http_stream_wake.
 *
 * Why suspend/resume and not a callback that waits: with a thread pool,
 * each thread serves many connections, and a reader blocking on a condition
 * variable would stall all of them; returning 0 without suspending would
 * spin. libmicrohttpd allows suspending from inside the reader
 * (MHD_ALLOW_SUSPEND_RESUME). On http_stop every suspended stream is woken
 * and ended. */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*http_stream_reader)(void *ctx, char *buf, size_t max);

/* Answers with a streamed body (chunked). Returns the handle to wake, or
 * NULL on out-of-memory: res then answers 503, free_cb is not called and ctx
 * stays the caller's. Add headers such as "Cache-Control: no-cache" with
 * http_header_add. A later response call on res drops the stream (free_cb
 * is then called at once). */
http_stream *http_respond_stream(http_response *res, unsigned status, const char *content_type,
                                 http_stream_reader reader, void (*free_cb)(void *ctx),
                                 void *ctx);

/* Asks the daemon to call the reader again soon; any thread, any time
 * until free_cb has returned. */
void http_stream_wake(http_stream *stream);

/* -------------------------------------------------------- growable buffer */

/* A byte buffer that grows by doubling up to a limit; for bodies, and for
 * stream handlers that accumulate (e.g. a JSON dataset upload). */
typedef struct {
    char *data;     /* NUL-terminated when not NULL; free() it */
    size_t len;
    size_t cap;
    uint64_t limit; /* most bytes it will hold */
} http_buffer;

/* What reading a body gives; the http layer turns it into answers in one place. */
typedef enum {
    HTTP_READ_CONTINUE, /* taken; more may come */
    HTTP_READ_TOO_LARGE,/* over the limit: 413 */
    HTTP_READ_NOMEM,    /* an allocation failed: 503 */
    HTTP_READ_REFUSED,  /* a stream callback answered already */
    HTTP_READ_OK,       /* the body is complete */
} http_read;

/* Appends; returns HTTP_READ_CONTINUE, HTTP_READ_TOO_LARGE (nothing appended)
 * or HTTP_READ_NOMEM (nothing appended, buffer intact). */
http_read http_buffer_append(http_buffer *buf, const char *data, size_t len);

/* Appends printf-style text; for answers built piece by piece (CSV, text,
 * metrics). On failure the buffer is freed and its limit set to 0, so every
 * later append fails too and the caller checks once, at the end, that data
 * is not NULL. */
http_read http_buffer_printf(http_buffer *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
