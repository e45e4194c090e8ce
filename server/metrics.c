/*
 * metrics.c — counters in fixed arrays of atomics: one row per route (plus
 * one for requests that matched none), one column per status code seen in
 * this API, and a latency histogram per route. Rendering reads them without
 * stopping anyone, so a scrape is a consistent-enough snapshot.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* The statuses this API answers; anything else counts as "other". */
static const unsigned STATUSES[] = {200, 201, 202, 204, 400, 401, 404, 405, 409,
                                    413, 415, 422, 429, 500, 503};
#define N_STATUS (sizeof STATUSES / sizeof STATUSES[0] + 1)
/* Latency bucket bounds in seconds (Prometheus' `le`), +Inf implied. */
static const double BOUNDS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,    10};
#define N_BUCKET (sizeof BOUNDS / sizeof BOUNDS[0] + 1)

typedef struct {
    _Atomic uint64_t by_status[N_STATUS];
    _Atomic uint64_t buckets[N_BUCKET];
    _Atomic uint64_t sum_us; /* microseconds: atomics on integers only */
} route_counters;

struct metrics {
    const http_route *routes;
    size_t n_routes;
    _Atomic uint64_t predicted_rows;
    route_counters rows[]; /* n_routes + 1: the last is "unmatched" */
};

metrics *metrics_create(const http_route *routes, size_t n_routes)
{
    metrics *m = calloc(1, sizeof *m + (n_routes + 1) * sizeof(route_counters));
    if (m) {
        m->routes = routes;
        m->n_routes = n_routes;
    }
    return m;
}

void metrics_free(metrics *m) { free(m); }

void metrics_observe(metrics *m, const http_route *route, unsigned status, double seconds)
{
    size_t r = route && route >= m->routes && route < m->routes + m->n_routes
                   ? (size_t)(route - m->routes)
                   : m->n_routes;
    size_t s = 0;
    while (s < N_STATUS - 1 && STATUSES[s] != status)
        s++;
    size_t b = 0;
    while (b < N_BUCKET - 1 && seconds > BOUNDS[b])
        b++;
    route_counters *c = &m->rows[r];
    atomic_fetch_add_explicit(&c->by_status[s], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->sum_us, (uint64_t)(seconds * 1e6), memory_order_relaxed);
}

void metrics_add_predicted(metrics *m, uint64_t rows)
{
    atomic_fetch_add_explicit(&m->predicted_rows, rows, memory_order_relaxed);
}

/* ---- rendering ---- */

static const char *route_label(const metrics *m, size_t r)
{
    return r < m->n_routes ? m->routes[r].pattern : "unmatched";
}

static const char *method_label(const metrics *m, size_t r)
{
    return r < m->n_routes ? m->routes[r].method : "any";
}

char *metrics_render(metrics *m, const metrics_gauges *g)
{
    http_buffer o = {.limit = UINT64_MAX};
    http_buffer_printf(&o, "# HELP scratchnet_http_requests_total HTTP requests answered, by route, method and status.\n"
             "# TYPE scratchnet_http_requests_total counter\n");
    for (size_t r = 0; r <= m->n_routes; r++)
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t n = atomic_load_explicit(&m->rows[r].by_status[s], memory_order_relaxed);
            if (!n)
                continue;
            char status[8];
            snprintf(status, sizeof status, s < N_STATUS - 1 ? "%u" : "other", s < N_STATUS - 1 ? STATUSES[s] : 0);
            http_buffer_printf(&o, "scratchnet_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %llu\n",
                 route_label(m, r), method_label(m, r), status, (unsigned long long)n);
        }
    http_buffer_printf(&o, "# HELP scratchnet_http_request_duration_seconds Time from a request's arrival to its answer.\n"
             "# TYPE scratchnet_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= m->n_routes; r++) {
        uint64_t total = 0, counts[N_BUCKET];
        for (size_t b = 0; b < N_BUCKET; b++)
            total += counts[b] = atomic_load_explicit(&m->rows[r].buckets[b], memory_order_relaxed);
        if (!total)
            continue;
        const char *route = route_label(m, r), *method = method_label(m, r);
        uint64_t cumulative = 0;
        for (size_t b = 0; b < N_BUCKET; b++) {
            cumulative += counts[b];
            if (b < N_BUCKET - 1)
                http_buffer_printf(&o, "scratchnet_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
                     route, method, BOUNDS[b], (unsigned long long)cumulative);
            else
                http_buffer_printf(&o, "scratchnet_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
                     route, method, (unsigned long long)cumulative);
        }
        double sum = (double)atomic_load_explicit(&m->rows[r].sum_us, memory_order_relaxed) / 1e6;
        http_buffer_printf(&o, "scratchnet_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", route, method, sum);
        http_buffer_printf(&o, "scratchnet_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n", route, method,
             (unsigned long long)cumulative);
    }
    http_buffer_printf(&o, "# HELP scratchnet_jobs Training jobs of this process queued or running now.\n"
             "# TYPE scratchnet_jobs gauge\n"
             "scratchnet_jobs{status=\"queued\"} %u\nscratchnet_jobs{status=\"running\"} %u\n",
         g->jobs_queued, g->jobs_running);
    http_buffer_printf(&o, "# HELP scratchnet_jobs_finished_total Training jobs ended since the server started, by status.\n"
             "# TYPE scratchnet_jobs_finished_total counter\n"
             "scratchnet_jobs_finished_total{status=\"succeeded\"} %llu\n"
             "scratchnet_jobs_finished_total{status=\"failed\"} %llu\n"
             "scratchnet_jobs_finished_total{status=\"cancelled\"} %llu\n",
         (unsigned long long)g->jobs_succeeded, (unsigned long long)g->jobs_failed,
         (unsigned long long)g->jobs_cancelled);
    http_buffer_printf(&o, "# HELP scratchnet_predicted_rows_total Rows predicted.\n"
             "# TYPE scratchnet_predicted_rows_total counter\n"
             "scratchnet_predicted_rows_total %llu\n",
         (unsigned long long)atomic_load_explicit(&m->predicted_rows, memory_order_relaxed));
    http_buffer_printf(&o, "# HELP scratchnet_model_cache_hits_total Trained networks found ready in the model cache.\n"
             "# TYPE scratchnet_model_cache_hits_total counter\n"
             "scratchnet_model_cache_hits_total %llu\n"
             "# HELP scratchnet_model_cache_misses_total Trained networks loaded from the database.\n"
             "# TYPE scratchnet_model_cache_misses_total counter\n"
             "scratchnet_model_cache_misses_total %llu\n",
         (unsigned long long)g->cache_hits, (unsigned long long)g->cache_misses);
    if (g->database_bytes >= 0)
        http_buffer_printf(&o, "# HELP scratchnet_database_size_bytes Size of the SQLite database file.\n"
                 "# TYPE scratchnet_database_size_bytes gauge\n"
                 "scratchnet_database_size_bytes %lld\n",
             (long long)g->database_bytes);
    return o.data;
}
