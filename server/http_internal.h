/*
 * http_internal.h — what http.c (daemon, routing, requests) and
 * http_response.c (answers, problem+json, streamed bodies) share.
 * Nothing outside those two files includes it.
 */
#ifndef SCRATCHNET_HTTP_INTERNAL_H
#define SCRATCHNET_HTTP_INTERNAL_H

#include <pthread.h>
#include <time.h>

#include <microhttpd.h>

#include "http.h"

/* A streamed response. Two owners hold a reference each once it is queued:
 * the libmicrohttpd response (dropped in its free callback) and the request
 * (dropped when the request completes, after logging the bytes). The flags
 * are guarded by srv->streams_mu. */
struct http_stream {
    http_server *srv;
    struct MHD_Connection *conn;  /* set when queued */
    http_stream_reader reader;
    void (*free_cb)(void *ctx);
    void *ctx;
    unsigned refs;
    bool suspended;  /* the connection waits for http_stream_wake */
    bool woken;      /* a wake came while the reader ran */
    bool ctx_freed;  /* free_cb has run */
    uint64_t bytes;  /* sent so far, for the log */
    http_stream *prev, *next; /* srv->streams */
};

struct http_response {
    http_server *srv;
    unsigned status;            /* 0: no answer yet */
    char content_type[96];
    char *body;                 /* malloc'd, or NULL */
    size_t len;
    http_stream *stream;        /* instead of body */
    char *headers;              /* extra headers: "name\0value\0"…, malloc'd, or NULL */
    size_t headers_len;
};

struct http_server {
    struct MHD_Daemon *daemon;
    http_options opt;           /* copied; its strings belong to the caller */
    unsigned port;
    int quiesced_fd;            /* listen socket returned by quiesce, or -1 */
    pthread_mutex_t streams_mu;
    http_stream *streams;       /* every live streamed response */
    bool closing;               /* http_stop began: streams end */
};

/* Frees what res holds (a stream not yet queued gets its free_cb) and
 * leaves it empty, keeping added headers when keep_headers. */
void http_response_clear(http_response *res, bool keep_headers);

/* Builds the libmicrohttpd response for res (body or stream). Returns NULL
 * on out-of-memory (res unchanged). A stream becomes owned by the returned
 * response, and *stream gets a second reference for the caller (the request,
 * to log its bytes), which it drops with http_stream_unref; else NULL. */
struct MHD_Response *http_response_build(http_response *res, struct MHD_Connection *conn,
                                         http_stream **stream);

/* Drops one reference to a stream; frees it at zero. */
void http_stream_unref(http_stream *stream);

/* Wakes and ends every suspended stream (http_stop). */
void http_streams_close(http_server *srv);

#endif
