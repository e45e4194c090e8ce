/*
 * metrics.h — the server's counters, rendered in Prometheus' text format for
 * GET /metrics: requests by route and status, a latency histogram per route,
 * rows predicted. Gauges owned by other modules (jobs, the model cache, the
 * database size) are passed in when rendering.
 * Counting is lock-free (atomics) and safe from any thread.
 */
#ifndef SCRATCHNET_METRICS_H
#define SCRATCHNET_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"

typedef struct metrics metrics;

/* Counters for the routes of this table (kept, not copied). NULL on OOM. */
metrics *metrics_create(const http_route *routes, size_t n_routes);
void metrics_free(metrics *m);

/* One answered request: its route (NULL when none matched), status and time. */
void metrics_observe(metrics *m, const http_route *route, unsigned status, double seconds);
void metrics_add_predicted(metrics *m, uint64_t rows);

/* What other modules report at render time. */
typedef struct {
    unsigned jobs_queued, jobs_running;
    uint64_t jobs_succeeded, jobs_failed, jobs_cancelled; /* ended since start */
    uint64_t cache_hits, cache_misses;
    int64_t database_bytes;                                /* < 0: unknown */
} metrics_gauges;

/* The exposition text (NUL-terminated, malloc'd; free()), or NULL on OOM. */
char *metrics_render(metrics *m, const metrics_gauges *g);

#endif
