/*
 * test_limits.c — every configured limit against the real binary: the
 * parameter count of a network (--max-params) and the work of a job
 * (--max-work, epochs × rows, inline or from a dataset) answer 422 naming
 * the limit; a full job queue (--queue) answers 429 with Retry-After;
 * --max-connections holds extra connections off until a slot frees; and
 * --timeout closes a connection whose client sent half a request, while
 * the server answers others meanwhile. After each, the server still serves.
 * (--max-body and --max-dataset have their 413s in test_errors, test_http
 * and test_dataset.)
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static server *srv;

static void stop(void)
{
    server_stop(srv);
    srv = NULL;
}


/* Slower builds (valgrind sets CK_TIMEOUT_MULTIPLIER) get longer bounds. */
static long slowness(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    long v = m ? strtol(m, NULL, 10) : 1;
    return v > 1 ? v : 1;
}

static void still_serving(const char *after)
{
    http_reply r = http_get(srv, "/healthz", NULL);
    ck_assert_msg(r.status == 200, "not serving after %s: %ld %s", after, r.status, r.body);
    http_reply_free(&r);
}


static long job_id(http_reply *r)
{
    cJSON *j = http_reply_json(r);
    long id = (long)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id"));
    cJSON_Delete(j);
    return id;
}

/* ------------------------------------------------ --max-params, --max-work */

static void start_small_jobs(void)
{
    srv = server_start((const char *[]){"--max-params", "1000", "--max-work", "1000", NULL});
}

#define ROWS4 "\"inputs\":[[-2,-1],[25,6],[17,4],[-15,-6]],\"targets\":[[1],[0],[0],[1]]"

START_TEST(params_over_limit_422)
{
    /* [2,30,30,1]: 90 + 930 + 31 = 1051 parameters, over 1000. */
    http_reply r = http_post(srv, "/train", "{\"model\":\"big\",\"layers\":[2,30,30,1],\"epochs\":1," ROWS4 "}", NULL);
    expect_problem(&r, 422, "layers", (const char *[]){"1051", "--max-params", "1000", NULL});
    http_reply_free(&r);
    r = http_get(srv, "/train", NULL); /* no job was recorded */
    ck_assert_msg(r.status == 200 && strstr(r.body, "\"big\"") == NULL, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    /* [2,30,28,1]: 90 + 868 + 29 = 987: trained. */
    r = http_post(srv, "/train?wait=true", "{\"model\":\"fits\",\"layers\":[2,30,28,1],\"epochs\":2," ROWS4 "}", NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    still_serving("--max-params");
}
END_TEST

START_TEST(work_over_limit_422)
{
    /* 4 rows × 251 epochs = 1004 > 1000; 4 × 250 = 1000 is allowed. */
    http_reply r = http_post(srv, "/train", "{\"model\":\"long\",\"layers\":[2,2,1],\"epochs\":251," ROWS4 "}", NULL);
    expect_problem(&r, 422, "epochs", (const char *[]){"251", "--max-work", "1000", NULL});
    http_reply_free(&r);
    r = http_post(srv, "/train?wait=true", "{\"model\":\"long\",\"layers\":[2,2,1],\"epochs\":250," ROWS4 "}", NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);

    /* A dataset's rows count: 100 rows × 11 epochs = 1100. */
    char csv[2048] = "x1,x2,y\n";
    for (int i = 0; i < 100; i++)
        snprintf(csv + strlen(csv), sizeof csv - strlen(csv), "%d,%d,%d\n", i, -i, i % 2);
    r = http_request(srv, "POST", "/dataset?name=rows100&target=y", csv, strlen(csv),
                     (const char *[]){"Content-Type: text/csv", NULL});
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    r = http_post(srv, "/train", "{\"model\":\"ds\",\"layers\":[2,2,1],\"epochs\":11,\"dataset\":\"rows100\",\"target\":\"y\"}", NULL);
    expect_problem(&r, 422, "epochs", (const char *[]){"100 rows", "--max-work", NULL});
    http_reply_free(&r);
    r = http_post(srv, "/train?wait=true", "{\"model\":\"ds\",\"layers\":[2,2,1],\"epochs\":10,\"dataset\":\"rows100\",\"target\":\"y\"}", NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    still_serving("--max-work");
}
END_TEST

/* ------------------------------------------------------------- --queue */

static void start_one_slot(void)
{
    srv = server_start((const char *[]){"--queue", "1", "--workers", "1", "--threads", "1", NULL});
}

START_TEST(queue_full_429_with_retry_after)
{
    /* A blocker runs (seconds), one job waits, the next finds the queue full. */
    static const char *blocker =
        "{\"model\":\"slow\",\"layers\":[2,64,64,1],\"epochs\":100000,\"seed\":1," ROWS4 "}";
    http_reply r = http_post(srv, "/train", blocker, NULL);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    long running = job_id(&r);
    http_reply_free(&r);
    char path[64];
    snprintf(path, sizeof path, "/train/%ld", running);
    for (int i = 0; i < 500; i++) { /* wait until the worker took it off the queue */
        r = http_get(srv, path, NULL);
        bool started = strstr(r.body, "\"running\"") != NULL;
        http_reply_free(&r);
        if (started)
            break;
        usleep(10000);
    }
    r = http_post(srv, "/train", blocker, NULL);
    ck_assert_msg(r.status == 202, "%ld %s", r.status, r.body);
    long queued = job_id(&r);
    http_reply_free(&r);
    r = http_post(srv, "/train", blocker, NULL);
    ck_assert_ptr_nonnull(http_reply_header(&r, "Retry-After"));
    expect_problem(&r, 429, NULL, (const char *[]){"queue is full", "--queue 1", NULL});
    http_reply_free(&r);
    still_serving("a full queue");
    long ids[] = {queued, running};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "/train/%ld", ids[i]);
        r = http_delete(srv, path, NULL);
        ck_assert_msg(r.status == 200, "cancel %s: %ld %s", path, r.status, r.body);
        http_reply_free(&r);
    }
    /* Room again. */
    r = http_post(srv, "/train?wait=true", "{\"model\":\"after\",\"layers\":[2,2,1],\"epochs\":5," ROWS4 "}", NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
}
END_TEST

/* ------------------------------------ raw sockets: connections, timeouts */

static int connect_raw(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    return fd;
}

static void send_all(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = send(fd, text, len, MSG_NOSIGNAL);
        ck_assert_msg(n > 0, "send: %s", strerror(errno));
        text += n, len -= (size_t)n;
    }
}

/* Waits up to timeout_ms for the server to close fd (EOF or reset), reading
 * and discarding whatever it sends. Returns when it closed, in ms from now,
 * or -1 if it stayed open. */
static long wait_closed(int fd, long timeout_ms)
{
    long start = now_ms();
    for (;;) {
        long left = start + timeout_ms - now_ms();
        if (left <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return now_ms() - start;
    }
}

static void start_one_thread_short_timeout(void)
{
    srv = server_start((const char *[]){"--http-threads", "1", "--timeout", "2", "--max-connections", "4", NULL});
}

START_TEST(half_a_request_is_closed_after_the_timeout)
{
    /* Half the headers on one connection, half a body on another. */
    int heads = connect_raw(), body = connect_raw();
    send_all(heads, "GET /healthz HTTP/1.1\r\nHost: x\r\nUser-Ag");
    send_all(body, "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   "Content-Length: 200\r\n\r\n{\"model\":\"m\",");
    long start = now_ms();
    /* The one HTTP thread answers others meanwhile. */
    for (int i = 0; i < 5; i++)
        still_serving("half a request");
    ck_assert_msg(now_ms() - start < 1500 * slowness(), "others waited %ld ms behind a slow client",
                  now_ms() - start);
    long closed_heads = wait_closed(heads, 10000 * slowness());
    long closed_body = wait_closed(body, 10000 * slowness());
    long total = now_ms() - start;
    ck_assert_msg(closed_heads >= 0 && closed_body >= 0,
                  "a connection with half a request was still open 10 s later (--timeout 2)");
    ck_assert_msg(total >= 1500 && total <= 6000 * slowness(), "closed after %ld ms, --timeout is 2 s", total);
    close(heads);
    close(body);
    still_serving("the timeouts");
}
END_TEST

START_TEST(connections_over_the_limit_wait_for_a_slot)
{
    /* --max-connections 4: four idle connections take every slot. */
    int held[4];
    for (int i = 0; i < 4; i++)
        held[i] = connect_raw();
    usleep(200000); /* let the server accept them */
    int extra = connect_raw();
    send_all(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    struct pollfd p = {.fd = extra, .events = POLLIN};
    char buf[512];
    ssize_t n = 0;
    if (poll(&p, 1, 700) == 1)
        n = recv(extra, buf, sizeof buf - 1, 0);
    /* Over the limit the server does not serve it: it waits, or is dropped. */
    ck_assert_msg(n <= 0 || strncmp(buf, "HTTP/1.1 200", 12) != 0,
                  "a fifth connection was served with --max-connections 4");
    close(extra);
    for (int i = 0; i < 4; i++)
        close(held[i]);
    /* Slots free again: served at once. */
    long start = now_ms();
    for (;;) {
        http_reply r = http_get(srv, "/healthz", NULL);
        bool ok = r.status == 200;
        http_reply_free(&r);
        if (ok)
            break;
        ck_assert_msg(now_ms() - start < 3000 * slowness(), "not serving after the held connections closed");
        usleep(50000);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("jobs");
    tcase_add_unchecked_fixture(tc, start_small_jobs, stop);
    tcase_set_timeout(tc, 120); /* generous for sanitizer builds */
    tcase_add_test(tc, params_over_limit_422);
    tcase_add_test(tc, work_over_limit_422);
    suite_add_tcase(s, tc);

    tc = tcase_create("queue");
    tcase_add_checked_fixture(tc, start_one_slot, stop);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, queue_full_429_with_retry_after);
    suite_add_tcase(s, tc);

    tc = tcase_create("connections");
    tcase_add_checked_fixture(tc, start_one_thread_short_timeout, stop);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, half_a_request_is_closed_after_the_timeout);
    tcase_add_test(tc, connections_over_the_limit_wait_for_a_slot);
    suite_add_tcase(s, tc);

    return run_suite(s);
}
