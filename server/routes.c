/*
 * routes.c — every route of the service, in one table, matched in order.
 * Patterns and flags are described in http.h; handlers live in
 * handlers_<resource>.c and are declared in handlers.h.
 */
#include "handlers.h"

const http_route routes[] = {
    /* operations */
    {.method = "GET", .pattern = "/healthz", .handler = ops_healthz},
    {.method = "GET", .pattern = "/readyz", .handler = ops_readyz},
    {.method = "GET", .pattern = "/openapi.yaml", .handler = ops_openapi},
    {.method = "GET", .pattern = "/", .handler = ops_index},
};
const size_t routes_count = sizeof routes / sizeof routes[0];
