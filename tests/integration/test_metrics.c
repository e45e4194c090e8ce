/*
 * test_metrics.c — GET /metrics against the real binary: the counters move
 * with the traffic that the test sends, and the exposition passes
 * Prometheus' own checker (promtool, from Debian's prometheus package).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static server *srv;
static void up(void) { srv = server_start(NULL); }
static void down(void)
{
    server_stop(srv);
    srv = NULL;
}

/* The value of the sample whose name and labels are exactly `series`, or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
    return -1;
}

START_TEST(counters_follow_the_traffic)
{
    http_reply r = http_post(srv, "/train?wait=true",
                             "{\"model\":\"m\",\"layers\":[2,2,1],\"epochs\":3,\"inputs\":[[1,2],[3,4]],\"targets\":[[1],[0]]}",
                             NULL);
    ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
    http_reply_free(&r);
    for (int i = 0; i < 3; i++) {
        r = http_post(srv, "/predict", "{\"model\":\"m\",\"inputs\":[[1,2],[3,4]]}", NULL);
        ck_assert_int_eq(r.status, 200);
        http_reply_free(&r);
    }
    r = http_get(srv, "/no/such/route", NULL);
    ck_assert_int_eq(r.status, 404);
    http_reply_free(&r);

    /* A request is counted as its answer is queued, so a scrape that follows
     * an answer always counts it. */
    r = http_get(srv, "/metrics", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(http_reply_header(&r, "Content-Type"), "text/plain"));
    const char *m = r.body;
    ck_assert_double_eq(sample(m, "scratchnet_http_requests_total{route=\"/predict\",method=\"POST\",status=\"200\"}"), 3);
    ck_assert_double_eq(sample(m, "scratchnet_http_requests_total{route=\"/train\",method=\"POST\",status=\"201\"}"), 1);
    ck_assert_double_eq(sample(m, "scratchnet_http_requests_total{route=\"unmatched\",method=\"any\",status=\"404\"}"), 1);
    ck_assert_double_eq(sample(m, "scratchnet_http_request_duration_seconds_count{route=\"/predict\",method=\"POST\"}"), 3);
    ck_assert_double_eq(sample(m, "scratchnet_http_request_duration_seconds_bucket{route=\"/predict\",method=\"POST\",le=\"+Inf\"}"), 3);
    ck_assert_double_eq(sample(m, "scratchnet_predicted_rows_total"), 6);
    ck_assert_double_eq(sample(m, "scratchnet_jobs_finished_total{status=\"succeeded\"}"), 1);
    ck_assert_double_eq(sample(m, "scratchnet_jobs{status=\"running\"}"), 0);
    /* the first predict loads the network; the next two find it ready */
    ck_assert_double_eq(sample(m, "scratchnet_model_cache_misses_total"), 1);
    ck_assert_double_eq(sample(m, "scratchnet_model_cache_hits_total"), 2);
    ck_assert_msg(sample(m, "scratchnet_database_size_bytes") > 0, "no database size");

    /* Prometheus' checker accepts the exposition as it is */
    char path[] = "/tmp/scratchnet-metrics-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, r.body, r.len), (ssize_t)r.len);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "promtool check metrics < %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    char out[4096] = "";
    size_t got = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[got] = 0;
    int rc = p ? pclose(p) : -1;
    unlink(path);
    ck_assert_msg(rc == 0, "promtool check metrics failed (install Debian's prometheus package): %s", out);
    http_reply_free(&r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("metrics");
    tcase_add_unchecked_fixture(tc, up, down);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, counters_follow_the_traffic);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
