/*
 * http_response.c — answers: JSON, text, problem+json, extra headers, and
 * streamed bodies that suspend their connection while they wait for data.
 *
 * Every setter replaces the previous answer. An allocation failure never
 * reaches the handler: the answer becomes a 503 problem whose text is static.
 */
#include "http_internal.h"
#include "text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when even the problem cannot be allocated; served from static memory. */
static const char OOM_PROBLEM[] =
    "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,"
    "\"detail\":\"the server ran out of memory; try again later\"}";
static const char PROBLEM_TYPE[] = "application/problem+json";

void http_response_clear(http_response *res, bool keep_headers)
{
    free(res->body);
    res->body = NULL;
    res->len = 0;
    res->status = 0;
    res->content_type[0] = '\0';
    if (res->stream) {
        /* Never queued: nobody else holds it, so end it here. */
        http_stream *s = res->stream;
        res->stream = NULL;
        s->free_cb(s->ctx);
        s->ctx_freed = true;
        http_stream_unref(s);
    }
    if (!keep_headers) {
        free(res->headers);
        res->headers = NULL;
        res->headers_len = 0;
    }
}

/* Sets a body that res takes ownership of (NULL data with len 0: none). */
static void response_take(http_response *res, unsigned status, const char *content_type,
                          char *data, size_t len)
{
    http_response_clear(res, true);
    res->status = status;
    text_copy(res->content_type, sizeof res->content_type, content_type ? content_type : "");
    res->body = data;
    res->len = len;
}

static void response_oom(http_response *res)
{
    http_response_clear(res, true);
    res->status = 503;
    text_copy(res->content_type, sizeof res->content_type, PROBLEM_TYPE);
    /* body stays NULL: http_response_build serves OOM_PROBLEM for it. */
}

void http_body_set(http_response *res, unsigned status, const char *content_type,
                   const void *data, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        response_oom(res);
        return;
    }
    if (len) memcpy(copy, data, len);
    copy[len] = '\0';
    response_take(res, status, content_type, copy, len);
}

void http_body_take(http_response *res, unsigned status, const char *content_type, char *data,
                    size_t len)
{
    if (data) response_take(res, status, content_type, data, len);
    else response_oom(res);
}

void http_text(http_response *res, unsigned status, const char *content_type, const char *text)
{
    http_body_set(res, status, content_type, text, strlen(text));
}

void http_json_text(http_response *res, unsigned status, const char *json)
{
    http_text(res, status, "application/json", json);
}

void http_empty(http_response *res, unsigned status)
{
    response_take(res, status, NULL, NULL, 0);
}

void http_json(http_response *res, unsigned status, cJSON *tree)
{
    char *text = tree ? cJSON_PrintUnformatted(tree) : NULL;
    cJSON_Delete(tree);
    if (!text) {
        response_oom(res);
        return;
    }
    /* cJSON allocates with malloc (its default hooks), so free() owns it. */
    response_take(res, status, "application/json", text, strlen(text));
}

static void problem_v(http_response *res, unsigned status, const char *field, const char *instance,
                      const char *fmt, va_list ap)
{
    char detail[1024];
    vsnprintf(detail, sizeof detail, fmt, ap);
    cJSON *p = cJSON_CreateObject();
    if (p && cJSON_AddStringToObject(p, "type", "about:blank") &&
        cJSON_AddStringToObject(p, "title", MHD_get_reason_phrase_for(status)) &&
        cJSON_AddNumberToObject(p, "status", status) &&
        cJSON_AddStringToObject(p, "detail", detail) &&
        (!field || cJSON_AddStringToObject(p, "field", field)) &&
        (!instance || cJSON_AddStringToObject(p, "instance", instance))) {
        char *text = cJSON_PrintUnformatted(p);
        cJSON_Delete(p);
        if (text) {
            response_take(res, status, PROBLEM_TYPE, text, strlen(text));
            return;
        }
    } else {
        cJSON_Delete(p);
    }
    response_oom(res);
}

void http_problem(http_response *res, unsigned status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(res, status, field, NULL, fmt, ap);
    va_end(ap);
}

void http_problem_instance(http_response *res, unsigned status, const char *instance,
                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    problem_v(res, status, NULL, instance, fmt, ap);
    va_end(ap);
}

bool http_header_add(http_response *res, const char *name, const char *value)
{
    size_t n = strlen(name) + 1, v = strlen(value) + 1;
    char *grown = realloc(res->headers, res->headers_len + n + v);
    if (!grown) return false;
    memcpy(grown + res->headers_len, name, n);
    memcpy(grown + res->headers_len + n, value, v);
    res->headers = grown;
    res->headers_len += n + v;
    return true;
}

/* ------------------------------------------------------------ streams */

http_stream *http_respond_stream(http_response *res, unsigned status, const char *content_type,
                                 http_stream_reader reader, void (*free_cb)(void *ctx),
                                 void *ctx)
{
    http_stream *s = calloc(1, sizeof *s);
    if (!s) {
        response_oom(res);
        return NULL;
    }
    http_response_clear(res, true);
    http_server *srv = res->srv;
    *s = (http_stream){.srv = srv, .reader = reader, .free_cb = free_cb, .ctx = ctx, .refs = 1};
    pthread_mutex_lock(&srv->streams_mu);
    s->next = srv->streams;
    if (srv->streams) srv->streams->prev = s;
    srv->streams = s;
    pthread_mutex_unlock(&srv->streams_mu);
    res->status = status;
    text_copy(res->content_type, sizeof res->content_type, content_type);
    res->stream = s;
    return s;
}

void http_stream_unref(http_stream *s)
{
    http_server *srv = s->srv;
    pthread_mutex_lock(&srv->streams_mu);
    bool last = --s->refs == 0;
    if (last) {
        if (s->prev) s->prev->next = s->next;
        else srv->streams = s->next;
        if (s->next) s->next->prev = s->prev;
    }
    pthread_mutex_unlock(&srv->streams_mu);
    if (last) free(s);
}

/* Resumes a suspended stream's connection; call with streams_mu held.
 * Lock order everywhere: (MHD's response lock →) producer's lock →
 * streams_mu → MHD's internal locks, so this cannot deadlock. */
static void stream_resume_locked(http_stream *s)
{
    if (s->suspended) {
        s->suspended = false;
        MHD_resume_connection(s->conn);
    }
}

void http_stream_wake(http_stream *s)
{
    pthread_mutex_lock(&s->srv->streams_mu);
    s->woken = true;
    stream_resume_locked(s);
    pthread_mutex_unlock(&s->srv->streams_mu);
}

void http_streams_close(http_server *srv)
{
    pthread_mutex_lock(&srv->streams_mu);
    srv->closing = true;
    for (http_stream *s = srv->streams; s; s = s->next) stream_resume_locked(s);
    pthread_mutex_unlock(&srv->streams_mu);
}

/* libmicrohttpd's reader: asks the handler's reader, and when it has
 * nothing, suspends the connection unless a wake arrived meanwhile (then it
 * returns 0 once more and libmicrohttpd calls again at once). */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream *s = cls;
    http_server *srv = s->srv;
    pthread_mutex_lock(&srv->streams_mu);
    bool closing = srv->closing;
    s->woken = false;
    pthread_mutex_unlock(&srv->streams_mu);
    if (closing) return MHD_CONTENT_READER_END_OF_STREAM;

    ssize_t n = s->reader(s->ctx, buf, max);
    if (n > 0) {
        s->bytes += (uint64_t)n; /* only this connection's thread touches bytes */
        return n;
    }
    if (n == HTTP_STREAM_END) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n != 0) return MHD_CONTENT_READER_END_WITH_ERROR;

    pthread_mutex_lock(&srv->streams_mu);
    if (srv->closing) n = MHD_CONTENT_READER_END_OF_STREAM;
    else if (!s->woken) {
        s->suspended = true;
        MHD_suspend_connection(s->conn);
    }
    pthread_mutex_unlock(&srv->streams_mu);
    return n;
}

static void stream_free(void *cls)
{
    http_stream *s = cls;
    s->free_cb(s->ctx);
    s->ctx_freed = true;
    http_stream_unref(s);
}

struct MHD_Response *http_response_build(http_response *res, struct MHD_Connection *conn,
                                         http_stream **stream)
{
    struct MHD_Response *r;
    *stream = NULL;
    if (res->stream) {
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read,
                                              res->stream, stream_free);
        if (!r) return NULL;
        /* From here on the MHD response owns the handle (stream_free). */
        http_stream *s = res->stream;
        pthread_mutex_lock(&s->srv->streams_mu);
        s->conn = conn;
        s->refs++;
        pthread_mutex_unlock(&s->srv->streams_mu);
        *stream = s;
        res->stream = NULL;
    } else if (res->body) {
        r = MHD_create_response_from_buffer(res->len, res->body, MHD_RESPMEM_MUST_FREE);
        if (!r) return NULL;
        res->body = NULL;
    } else if (res->status == 503 && strcmp(res->content_type, PROBLEM_TYPE) == 0) {
        r = MHD_create_response_from_buffer(sizeof OOM_PROBLEM - 1, (void *)OOM_PROBLEM,
                                            MHD_RESPMEM_PERSISTENT);
        res->len = sizeof OOM_PROBLEM - 1;
    } else {
        r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    }
    if (!r) return NULL;
    if (res->content_type[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    for (size_t at = 0; at < res->headers_len;) {
        const char *name = res->headers + at, *value = name + strlen(name) + 1;
        MHD_add_response_header(r, name, value);
        at = (size_t)(value + strlen(value) + 1 - res->headers);
    }
    return r;
}
