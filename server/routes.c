/*
 * routes.c — every route of the service, in one table, matched in order.
 * Patterns and flags are described in http.h; handlers live in
 * handlers_<resource>.c and are declared in handlers.h.
 */
#include "handlers.h"

const http_route routes[] = {
    /* training */
    {.method = "POST", .pattern = "/train", .handler = train_post, .flags = HTTP_JSON},
    {.method = "GET", .pattern = "/train", .handler = train_list},
    {.method = "GET", .pattern = "/train/{id}", .handler = train_get},
    {.method = "DELETE", .pattern = "/train/{id}", .handler = train_cancel},
    {.method = "GET", .pattern = "/train/{id}/events", .handler = train_events},
    /* prediction */
    {.method = "POST", .pattern = "/predict", .handler = predict_post, .flags = HTTP_OPEN | HTTP_JSON},
    {.method = "POST", .pattern = "/explain", .handler = explain_post, .flags = HTTP_OPEN | HTTP_JSON},
    {.method = "POST", .pattern = "/evaluate", .handler = evaluate_post, .flags = HTTP_OPEN | HTTP_JSON},
    /* datasets: uploads are streamed (CSV parsed as it arrives; Content-Type checked by the stream) */
    {.method = "POST", .pattern = "/dataset", .stream = &dataset_upload},
    {.method = "GET", .pattern = "/dataset", .handler = dataset_list},
    {.method = "GET", .pattern = "/dataset/{dataset}", .handler = dataset_get},
    {.method = "DELETE", .pattern = "/dataset/{dataset}", .handler = dataset_delete},
    /* the registry */
    {.method = "GET", .pattern = "/model", .handler = model_list},
    {.method = "GET", .pattern = "/model/{name}", .handler = model_get},
    {.method = "DELETE", .pattern = "/model/{name}", .handler = model_delete},
    {.method = "POST", .pattern = "/model/{name}/versions", .handler = version_post, .flags = HTTP_JSON},
    {.method = "GET", .pattern = "/model/{name}/versions/{v}", .handler = version_get},
    {.method = "DELETE", .pattern = "/model/{name}/versions/{v}", .handler = version_delete},
    {.method = "GET", .pattern = "/model/{name}/versions/{v}/loss", .handler = version_loss},
    {.method = "GET", .pattern = "/model/{name}/aliases", .handler = alias_list},
    {.method = "GET", .pattern = "/model/{name}/aliases/{alias}", .handler = alias_get},
    {.method = "PUT", .pattern = "/model/{name}/aliases/{alias}", .handler = alias_put, .flags = HTTP_JSON},
    {.method = "DELETE", .pattern = "/model/{name}/aliases/{alias}", .handler = alias_delete},
    /* TensorFlow Serving's REST API */
    {.method = "GET", .pattern = "/v1/models/{name}", .handler = tf_status},
    {.method = "POST", .pattern = "/v1/models/{name}:predict", .handler = tf_predict, .flags = HTTP_OPEN | HTTP_JSON},
    {.method = "POST", .pattern = "/v1/models/{name}/versions/{v}:predict", .handler = tf_predict, .flags = HTTP_OPEN | HTTP_JSON},
    {.method = "POST", .pattern = "/v1/models/{name}/labels/{alias}:predict", .handler = tf_predict, .flags = HTTP_OPEN | HTTP_JSON},
    /* operations */
    {.method = "GET", .pattern = "/healthz", .handler = ops_healthz},
    {.method = "GET", .pattern = "/readyz", .handler = ops_readyz},
    {.method = "GET", .pattern = "/metrics", .handler = ops_metrics},
    {.method = "GET", .pattern = "/openapi.yaml", .handler = ops_openapi},
    {.method = "GET", .pattern = "/", .handler = ops_index},
};
const size_t routes_count = sizeof routes / sizeof routes[0];
