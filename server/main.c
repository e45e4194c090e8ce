/*
 * main.c — the scratchnet server: settings, the store, the HTTP daemon, and
 * an orderly stop on SIGTERM or SIGINT.
 *
 * Exit codes: 0 after a signal-driven stop (or --help), 1 when the store or
 * the daemon cannot start, 2 for a bad setting.
 *
 * Signals: SIGTERM and SIGINT are blocked before any thread starts, so every
 * thread inherits the mask and only sigtimedwait() below ever receives them; no
 * handler and no global is needed. SIGPIPE is ignored (a client that hangs
 * up must not kill the server), and so is SIGXFSZ (a file-size limit makes
 * writes fail instead).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "handlers.h"
#include "http.h"
#include "store.h"

#define MODEL_CACHE_SIZE 64 /* trained networks kept ready for /predict */
#define LOG_FLUSH_NS 100000000L /* the request log reaches stderr within 0.1 s */

int main(int argc, char **argv)
{
    /* The request log is buffered like nginx's buffered access_log: one
     * write per 64 KiB or per LOG_FLUSH_NS, not one per request (which cost
     * /predict a tenth of its throughput). The main loop below flushes it. */
    setvbuf(stderr, NULL, _IOFBF, 1 << 16);
    config cfg;
    const char *bad = config_parse(&cfg, argc, argv);
    if (bad) {
        fprintf(stderr, "scratchnet: %s\n", bad);
        return 2;
    }
    if (cfg.help) {
        config_usage(stdout, "scratchnet");
        return 0;
    }

    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Past a file-size limit (ulimit -f) a write must fail with EFBIG, which
     * the store answers as 503 "cannot be written", not kill the server. */
    signal(SIGXFSZ, SIG_IGN);

    config_describe(&cfg, stderr);

    char err[512];
    app a = {.cfg = &cfg};
    if (store_open_sqlite(cfg.db, &a.store, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "scratchnet: cannot open the database %s: %s\n", cfg.db, err);
        return 1;
    }

    int64_t interrupted = 0;
    if (store_jobs_interrupt(a.store, "interrupted: the server stopped or crashed while it ran",
                             &interrupted, err, sizeof err) != STORE_OK)
        fprintf(stderr, "scratchnet: cannot mark interrupted jobs: %s\n", err);
    else if (interrupted)
        fprintf(stderr, "scratchnet: %lld interrupted job(s) marked failed\n", (long long)interrupted);
    a.cache = cache_create(MODEL_CACHE_SIZE);
    a.metrics = metrics_create(routes, routes_count);
    jobs_options jo = {.store = a.store, .cache = a.cache, .workers = cfg.workers,
                       .queue = cfg.queue, .threads = cfg.threads,
                       .limits = {.max_params = cfg.max_params, .max_work = cfg.max_work}};
    a.jobs = a.cache && a.metrics ? jobs_start(&jo, err, sizeof err) : NULL;
    if (!a.jobs) {
        fprintf(stderr, "scratchnet: cannot start training workers: %s\n", a.cache && a.metrics ? err : "out of memory");
        metrics_free(a.metrics);
        cache_free(a.cache);
        store_close(a.store);
        return 1;
    }

    http_options opt = {
        .bind = cfg.bind,
        .port = cfg.port,
        .threads = cfg.http_threads,
        .timeout = cfg.timeout,
        .max_connections = cfg.max_connections,
        .max_body = cfg.max_body,
        .max_stream = cfg.max_dataset,
        .api_key = cfg.api_key,
        .cors_origins = cfg.cors_origins,
        .routes = routes,
        .n_routes = routes_count,
        .app = &a,
        .observe = ops_observe,
    };
    http_server *srv = http_start(&opt, err, sizeof err);
    if (!srv) {
        fprintf(stderr, "scratchnet: %s\n", err);
        jobs_stop(a.jobs, 0);
        jobs_free(a.jobs);
        metrics_free(a.metrics);
        cache_free(a.cache);
        store_close(a.store);
        return 1;
    }
    bool v6 = strchr(cfg.bind, ':') != NULL;
    printf("scratchnet listening on http://%s%s%s:%u (db %s)\n", v6 ? "[" : "", cfg.bind,
           v6 ? "]" : "", http_port(srv), cfg.db);
    fflush(stdout);

    int sig;
    const struct timespec flush_every = {.tv_nsec = LOG_FLUSH_NS};
    while ((sig = sigtimedwait(&stop_signals, NULL, &flush_every)) < 0)
        fflush(stderr);
    fprintf(stderr, "scratchnet: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stderr); /* the log so far, now: a stop that hangs must not hide it */

    /* No new connections; then requests in progress finish or are cut when
     * the daemon stops (streamed answers are ended first). */
    http_quiesce(srv);
    /* Workers stop first: running jobs finish within --grace or end
     * (failed, "interrupted"), which
     * also releases handlers waiting on them (?wait=true) so the daemon can
     * stop; new submissions meanwhile get 503. Streams end with the daemon. */
    jobs_stop(a.jobs, cfg.grace * 1000u);
    http_stop(srv);
    jobs_free(a.jobs);
    metrics_free(a.metrics);
    cache_free(a.cache);

    store_close(a.store);
    fprintf(stderr, "scratchnet: stopped\n");
    return 0;
}
