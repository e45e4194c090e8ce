/*
 * harness.h — what integration suites need to test the real server binary:
 * start it on a free port with a fresh database, talk HTTP to it through
 * libcurl, restart it on the same database, and always stop it.
 *
 *   static server *srv;
 *   static void up(void) { srv = server_start(NULL); }   // or (const char *[]){"--api-key", "k", NULL}
 *   static void down(void) { server_stop(srv); }
 *   ...
 *   tcase_add_unchecked_fixture(tc, up, down);  // one server for the test case
 *   ...
 *   http_reply r = http_post(srv, "/predict", "{\"model\":\"m\",\"inputs\":[1,2]}", NULL);
 *   ck_assert_int_eq(r.status, 200);
 *   cJSON *j = http_reply_json(&r);
 *   ...
 *   cJSON_Delete(j);
 *   http_reply_free(&r);
 *
 * The binary is $SCRATCHNET_BIN (default ./build/scratchnet). It runs with
 * --port 0 --bind 127.0.0.1 --db <tmpdir>/test.db plus the extra arguments;
 * its stderr (the request log) goes to <tmpdir>/server.log, which is printed
 * if it fails to start, or always when HARNESS_VERBOSE is set.
 *
 * Always stopped: server_stop from a fixture's teardown; and should a test
 * process die first (a failed ck_assert exits a forked test at once), the
 * kernel sends the server SIGTERM (PR_SET_PDEATHSIG). With an unchecked
 * fixture the server belongs to Check's runner process, so teardown runs
 * even when tests fail.
 *
 * Failures to start or stop fail the current test (ck_abort_msg).
 */
#ifndef SCRATCHNET_HARNESS_H
#define SCRATCHNET_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <check.h>
#include <cjson/cJSON.h>

#define HARNESS_MAX_ARGS 32

typedef struct server {
    pid_t pid;                     /* the running server, or 0 */
    unsigned port;                 /* where it listens */
    char base[64];                 /* "http://127.0.0.1:PORT" */
    char dir[256];                 /* the temporary directory */
    char db[300];                  /* dir + "/test.db" */
    char *args[HARNESS_MAX_ARGS];  /* the extra arguments, copied */
    size_t n_args;
} server;

/* Starts the binary with the extra arguments (NULL-terminated list, or NULL)
 * in a new temporary directory and waits (10 s at most) for its listening
 * line. Returns the server, to be given to server_stop. */
server *server_start(const char *const extra_args[]);

/* Sends SIGTERM and waits for the process (10 s, then SIGKILL). Returns its
 * exit status (0..255), or -1 when it died of a signal or had to be killed.
 * The temporary directory is kept: server_restart can follow. */
int server_terminate(server *s);

/* Stops the server (if still running; it must exit 0) and starts it again with the same
 * arguments on the same database; the port may change (s->base follows). */
void server_restart(server *s);

/* Stops the server if running, removes the temporary directory and frees s.
 * NULL is fine. */
void server_stop(server *s);

/* Runs the binary with exactly these arguments to completion (10 s at
 * most) and returns its exit status; *output (may be NULL) gets stdout and
 * stderr together, NUL-terminated, to free(). */
int server_run_once(const char *const args[], char **output);

/* ------------------------------------------------------------ client */

typedef struct {
    long status;    /* HTTP status; 0 when the request failed (body says why) */
    char *body;     /* NUL-terminated, owned */
    size_t len;     /* body bytes */
    char *headers;  /* the final response's headers: "name\0value\0"… */
    size_t headers_len;
} http_reply;

/* headers: NULL-terminated list of "Name: value" lines, or NULL. A body is
 * sent as application/json unless headers give another Content-Type. */
http_reply http_get(const server *s, const char *path, const char *const headers[]);
http_reply http_post(const server *s, const char *path, const char *json,
                     const char *const headers[]);
http_reply http_put(const server *s, const char *path, const char *json,
                    const char *const headers[]);
http_reply http_delete(const server *s, const char *path, const char *const headers[]);

/* Any method ("OPTIONS", "HEAD"…) with any body (body may be NULL; len bytes). */
http_reply http_request(const server *s, const char *method, const char *path,
                        const void *body, size_t len, const char *const headers[]);

/* A response header's value by case-insensitive name (the first if
 * repeated), or NULL. Points into r. */
const char *http_reply_header(const http_reply *r, const char *name);

/* The body parsed as JSON; fails the test (showing the body) if it is not.
 * Free with cJSON_Delete. */
cJSON *http_reply_json(const http_reply *r);

/* POSTs a JSON body built from fmt (printf-style). */
http_reply http_postf(const server *s, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Asserts r's status and a JSON body; returns it parsed (cJSON_Delete) and
 * frees r. */
cJSON *http_reply_take_json(http_reply *r, long status);

/* A member of o that must be there (else the test fails); json_num and
 * json_str also check its type. */
const cJSON *json_item(const cJSON *o, const char *key);
double json_num(const cJSON *o, const char *key);
const char *json_str(const cJSON *o, const char *key);

/* Frees what r holds; r can be reused. */
void http_reply_free(http_reply *r);

/* Asserts an RFC 9457 problem (application/problem+json) with this status
 * whose detail holds every fragment (NULL-ended list, or NULL); and whose
 * field is `field`, when not NULL. */
void expect_problem(const http_reply *r, long status, const char *field, const char *const *frags);

/* Milliseconds of CLOCK_MONOTONIC. */
long now_ms(void);

/* Runs every test of s and frees it; the process's exit status. */
int run_suite(Suite *s);

#endif
