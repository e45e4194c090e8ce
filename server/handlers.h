/*
 * handlers.h — the application context every handler reaches through
 * http_app(req), the handler functions, and the route table (routes.c).
 *
 * Adding a route: write the handler in the resource's file
 * (handlers_<resource>.c), declare it below, and add one row to routes[] in
 * routes.c. Nothing else changes.
 */
#ifndef SCRATCHNET_HANDLERS_H
#define SCRATCHNET_HANDLERS_H

#include "config.h"
#include "http.h"
#include "store.h"

/* Shared by every handler on every thread; set up by main before the daemon
 * starts and torn down after it stops. Fields are pointers to objects that
 * are themselves thread-safe (the store is; see store.h). */
typedef struct app {
    const config *cfg; /* settings in force; read-only */
    store *store;      /* the registry, jobs table and datasets */
    /* The jobs module (queue + workers), the model cache and metrics add
     * their handles here. */
} app;

/* The route table, in match order. */
extern const http_route routes[];
extern const size_t routes_count;

/* handlers_ops.c — liveness, readiness, the OpenAPI document, the web page. */
void ops_healthz(http_request *req, http_response *res);  /* GET /healthz */
void ops_readyz(http_request *req, http_response *res);   /* GET /readyz */
void ops_openapi(http_request *req, http_response *res);  /* GET /openapi.yaml */
void ops_index(http_request *req, http_response *res);    /* GET / */

#endif
