/*
 * harness.c — starts and stops the real scratchnet binary for integration
 * suites, and a small libcurl client. See harness.h for the contract.
 */
#include "harness.h"

#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Waits for the listening line and for a stop: 10 s, times Check's
 * CK_TIMEOUT_MULTIPLIER when set (make valgrind runs the server under
 * valgrind, many times slower). */
#define START_TIMEOUT_MS (10000 * timeout_scale())
#define STOP_TIMEOUT_MS (10000 * timeout_scale())

static long timeout_scale(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    long k = m ? strtol(m, NULL, 10) : 1;
    return k >= 1 && k <= 100 ? k : 1;
}

static const char *binary_path(void)
{
    const char *bin = getenv("SCRATCHNET_BIN");
    return bin && *bin ? bin : "./build/scratchnet";
}

long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Waits for pid up to timeout_ms; true with *status when it ended. */
static bool wait_for(pid_t pid, long timeout_ms, int *status)
{
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return true;
        if (r < 0 && errno != EINTR) return true; /* not our child any more */
        if (now_ms() >= deadline) return false;
        usleep(10000);
    }
}

/* Forks and execs the binary with argv (argv[0] included). The child's
 * stdout goes to out_fd (or /dev/null when < 0), stderr to err_fd (or
 * inherited when < 0). The child gets SIGTERM if this process dies. */
static pid_t spawn(char *const argv[], int out_fd, int err_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127); /* the parent died before prctl */
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, STDIN_FILENO);
    dup2(out_fd >= 0 ? out_fd : devnull, STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    execv(argv[0], argv);
    fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void log_dump(const server *s)
{
    char path[320];
    snprintf(path, sizeof path, "%s/server.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    fprintf(stderr, "---- %s\n", path);
    char line[1024];
    while (fgets(line, sizeof line, f)) fputs(line, stderr);
    fclose(f);
}

/* Runs the server process for s and reads its listening line. */
static void server_launch(server *s)
{
    char *argv[HARNESS_MAX_ARGS + 8];
    size_t n = 0;
    argv[n++] = (char *)binary_path();
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--db";
    argv[n++] = s->db;
    for (size_t i = 0; i < s->n_args; i++) argv[n++] = s->args[i];
    argv[n] = NULL;

    int pipefd[2];
    ck_assert_msg(pipe2(pipefd, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    char logpath[320];
    snprintf(logpath, sizeof logpath, "%s/server.log", s->dir);
    int logfd = getenv("HARNESS_VERBOSE") ? -1
                                           : open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    s->pid = spawn(argv, pipefd[1], logfd);
    close(pipefd[1]);
    if (logfd >= 0) close(logfd);
    ck_assert_msg(s->pid > 0, "fork: %s", strerror(errno));

    /* Read until the first newline or the deadline. */
    char line[512];
    size_t len = 0;
    long deadline = now_ms() + START_TIMEOUT_MS;
    while (len < sizeof line - 1 && !memchr(line, '\n', len)) {
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        ssize_t got = read(pipefd[0], line + len, sizeof line - 1 - len);
        if (got <= 0) break;
        len += (size_t)got;
    }
    close(pipefd[0]);
    line[len] = '\0';
    const char *url = strstr(line, "scratchnet listening on http://");
    const char *db = url ? strstr(url, " (db ") : NULL;
    const char *colon = NULL;
    for (const char *p = url; p && p < db; p++)
        if (*p == ':' && p[1] != '/') colon = p;
    unsigned port = 0;
    if (!colon || sscanf(colon + 1, "%u", &port) != 1 || port == 0) {
        int status;
        kill(s->pid, SIGKILL);
        wait_for(s->pid, STOP_TIMEOUT_MS, &status);
        s->pid = 0;
        log_dump(s);
        ck_abort_msg("%s did not say where it listens within %ld ms; its stdout: '%s'",
                     binary_path(), START_TIMEOUT_MS, line);
    }
    s->port = port;
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%u", port);
}

server *server_start(const char *const extra_args[])
{
    server *s = calloc(1, sizeof *s);
    ck_assert_ptr_nonnull(s);
    snprintf(s->dir, sizeof s->dir, "%s/scratchnet-test-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(s->dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(s->db, sizeof s->db, "%s/test.db", s->dir);
    for (; extra_args && extra_args[s->n_args]; s->n_args++) {
        ck_assert_msg(s->n_args < HARNESS_MAX_ARGS, "too many server arguments");
        s->args[s->n_args] = strdup(extra_args[s->n_args]);
    }
    server_launch(s);
    return s;
}

/* Appends a line to the server's log, which log_dump shows. */
static void log_note(const server *s, const char *fmt, ...)
{
    char path[320];
    snprintf(path, sizeof path, "%s/server.log", s->dir);
    FILE *f = fopen(path, "a");
    if (!f) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
}

int server_terminate(server *s)
{
    if (!s->pid) return -1;
    int status = 0;
    kill(s->pid, SIGTERM);
    bool ended = wait_for(s->pid, STOP_TIMEOUT_MS, &status);
    if (!ended) {
        /* Where it is stuck, for the log (gdb when the machine has it). */
        log_note(s, "---- harness: no exit within %ld ms of SIGTERM; its threads:\n", STOP_TIMEOUT_MS);
        char cmd[512];
        snprintf(cmd, sizeof cmd,
                 "command -v gdb >/dev/null && timeout 60 gdb -p %d -batch -ex 'thread apply all bt' "
                 ">>'%s/server.log' 2>&1",
                 (int)s->pid, s->dir);
        if (system(cmd) != 0) log_note(s, "(no backtrace: gdb is missing or failed)\n");
        kill(s->pid, SIGKILL);
        wait_for(s->pid, STOP_TIMEOUT_MS, &status);
    } else if (WIFSIGNALED(status)) {
        log_note(s, "---- harness: the server died of signal %d after SIGTERM\n", WTERMSIG(status));
    }
    s->pid = 0;
    int code = ended && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code != 0 || getenv("HARNESS_VERBOSE")) log_dump(s); /* what it said before it ended */
    return code;
}

void server_restart(server *s)
{
    if (s->pid) { /* still running: stop it first (a test may have stopped it itself) */
        int status = server_terminate(s);
        ck_assert_msg(status == 0, "the server exited with %d when stopped for a restart", status);
    }
    server_launch(s);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void server_stop(server *s)
{
    if (!s) return;
    server_terminate(s);
    nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    for (size_t i = 0; i < s->n_args; i++) free(s->args[i]);
    free(s);
}

int server_run_once(const char *const args[], char **output)
{
    char *argv[HARNESS_MAX_ARGS + 2];
    size_t n = 0;
    argv[n++] = (char *)binary_path();
    for (; args && args[n - 1] && n <= HARNESS_MAX_ARGS; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    int pipefd[2];
    ck_assert_msg(pipe2(pipefd, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
    pid_t pid = spawn(argv, pipefd[1], pipefd[1]);
    close(pipefd[1]);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    char chunk[4096];
    ssize_t got;
    long deadline = now_ms() + STOP_TIMEOUT_MS;
    for (;;) {
        struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
        long left = deadline - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0) break;
        if ((got = read(pipefd[0], chunk, sizeof chunk)) <= 0) break;
        fwrite(chunk, 1, (size_t)got, out);
    }
    close(pipefd[0]);
    fclose(out);
    int status = 0;
    if (!wait_for(pid, STOP_TIMEOUT_MS, &status)) {
        kill(pid, SIGKILL);
        wait_for(pid, STOP_TIMEOUT_MS, &status);
        status = -1;
    } else {
        status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    if (output) *output = buf;
    else free(buf);
    return status;
}

/* ------------------------------------------------------------ client */

typedef struct {
    char *data;
    size_t len;
} growing;

static void grow_append(growing *g, const void *data, size_t len)
{
    char *p = realloc(g->data, g->len + len + 1);
    ck_assert_ptr_nonnull(p);
    memcpy(p + g->len, data, len);
    g->data = p;
    g->len += len;
    g->data[g->len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t n, void *cls)
{
    grow_append(cls, data, size * n);
    return size * n;
}

/* Keeps the last response's headers as "name\0value\0" pairs: a status
 * line (e.g. after "100 Continue") starts over. */
static size_t on_header(char *line, size_t size, size_t n, void *cls)
{
    growing *g = cls;
    size_t len = size * n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        g->len = 0;
        return len;
    }
    const char *colon = memchr(line, ':', len);
    if (!colon) return len;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    grow_append(g, line, name_len);
    grow_append(g, "", 1);
    grow_append(g, v, (size_t)(end - v));
    grow_append(g, "", 1);
    return len;
}

http_reply http_request(const server *s, const char *method, const char *path,
                        const void *body, size_t len, const char *const headers[])
{
    CURL *c = curl_easy_init();
    ck_assert_ptr_nonnull(c);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    growing out = {0}, hdr = {0};
    struct curl_slist *list = NULL;
    bool has_type = false;
    for (size_t i = 0; headers && headers[i]; i++) {
        list = curl_slist_append(list, headers[i]);
        if (strncasecmp(headers[i], "Content-Type:", 13) == 0) has_type = true;
    }
    if (body && !has_type) list = curl_slist_append(list, "Content-Type: application/json");
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    CURLcode rc = curl_easy_perform(c);
    http_reply r = {0};
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    } else {
        out.len = 0;
        char msg[CURL_ERROR_SIZE + 64];
        snprintf(msg, sizeof msg, "curl: %s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        grow_append(&out, msg, strlen(msg));
    }
    if (!out.data) grow_append(&out, "", 0);
    r.body = out.data;
    r.len = out.len;
    r.headers = hdr.data;
    r.headers_len = hdr.len;
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    return r;
}

http_reply http_get(const server *s, const char *path, const char *const headers[])
{
    return http_request(s, "GET", path, NULL, 0, headers);
}

http_reply http_post(const server *s, const char *path, const char *json,
                     const char *const headers[])
{
    return http_request(s, "POST", path, json ? json : "", json ? strlen(json) : 0, headers);
}

http_reply http_put(const server *s, const char *path, const char *json,
                    const char *const headers[])
{
    return http_request(s, "PUT", path, json ? json : "", json ? strlen(json) : 0, headers);
}

http_reply http_delete(const server *s, const char *path, const char *const headers[])
{
    return http_request(s, "DELETE", path, NULL, 0, headers);
}

const char *http_reply_header(const http_reply *r, const char *name)
{
    for (size_t i = 0; i < r->headers_len;) {
        const char *n = r->headers + i;
        const char *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0) return v;
        i = (size_t)(v - r->headers) + strlen(v) + 1;
    }
    return NULL;
}

cJSON *http_reply_json(const http_reply *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    ck_assert_msg(j != NULL, "not JSON (status %ld): %s", r->status, r->body);
    return j;
}

void http_reply_free(http_reply *r)
{
    free(r->body);
    free(r->headers);
    *r = (http_reply){0};
}

/* ------------------------------------------------- helpers for suites */

http_reply http_postf(const server *s, const char *path, const char *fmt, ...)
{
    char *body;
    va_list ap;
    va_start(ap, fmt);
    ck_assert_int_ge(vasprintf(&body, fmt, ap), 0);
    va_end(ap);
    http_reply r = http_post(s, path, body, NULL);
    free(body);
    return r;
}

cJSON *http_reply_take_json(http_reply *r, long status)
{
    ck_assert_msg(r->status == status, "status %ld, expected %ld: %s", r->status, status, r->body);
    cJSON *j = http_reply_json(r);
    http_reply_free(r);
    return j;
}

const cJSON *json_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(v != NULL, "no \"%s\" in %s", key, cJSON_PrintUnformatted(o)); /* printed on failure only */
    return v;
}

double json_num(const cJSON *o, const char *key)
{
    const cJSON *v = json_item(o, key);
    ck_assert_msg(cJSON_IsNumber(v), "\"%s\" is not a number", key);
    return v->valuedouble;
}

const char *json_str(const cJSON *o, const char *key)
{
    const cJSON *v = json_item(o, key);
    ck_assert_msg(cJSON_IsString(v), "\"%s\" is not a string", key);
    return v->valuestring;
}

void expect_problem(const http_reply *r, long status, const char *field, const char *const *frags)
{
    ck_assert_msg(r->status == status, "status %ld, expected %ld: %s", r->status, status, r->body);
    const char *ct = http_reply_header(r, "Content-Type");
    ck_assert_msg(ct && strcmp(ct, "application/problem+json") == 0, "Content-Type %s", ct ? ct : "none");
    cJSON *p = http_reply_json(r);
    const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(p, "detail"));
    ck_assert_ptr_nonnull(detail);
    for (const char *const *f = frags; f && *f; f++)
        ck_assert_msg(strstr(detail, *f), "detail \"%s\" does not say \"%s\"", detail, *f);
    if (field) {
        const char *got = cJSON_GetStringValue(cJSON_GetObjectItem(p, "field"));
        ck_assert_msg(got && strcmp(got, field) == 0, "field %s, expected %s", got ? got : "(none)", field);
    }
    cJSON_Delete(p);
}

int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
