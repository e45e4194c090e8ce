/*
 * handlers_predict.c — /predict, and TensorFlow Serving's REST predict and
 * status routes, so existing TF Serving and KServe V1 clients work as they are.
 * The hot path: resolve the version and fetch the network from the cache (no
 * database query once warm), run the core's forward pass, answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "text.h"

/* Runs the prediction and answers; shared by /predict and the TF routes.
 * tf_inputs: a TF route given "inputs" (answered as "outputs"). */
static void predict_and_answer(http_request *req, http_response *res, predict_request *p, bool tf_route)
{
    app *a = http_app(req);
    cached_model *m;
    if (!load_model(req, res, p->model, p->version, &m))
        return;
    const sn_arch *arch = sn_net_arch(m->net);
    size_t in = (size_t)arch->sizes[0], outs = (size_t)arch->sizes[arch->n_layers - 1];
    const char *field = p->tf_style ? "instances" : "inputs";
    if (p->width != in) {
        http_problem(res, 400, field, "%s rows have %zu values but model %s version %lld takes %zu inputs",
                     field, p->width, p->model, (long long)m->version, in);
        cache_release(a->cache, m);
        return;
    }
    float *y = malloc(p->rows * outs * sizeof(float));
    sn_error err;
    if (!y) {
        http_problem(res, 503, NULL, "out of memory for %zu rows", p->rows);
    } else if (sn_predict(m->net, p->inputs, p->rows, y, &err) != SN_OK) {
        /* the codec let only finite inputs through: NaN/Inf here is an overflow */
        http_problem(res, err.code == SN_ERR_NONFINITE ? 422 : 503, field, "model %s version %lld: %s",
                     p->model, (long long)m->version, err.message);
    } else {
        predict_answer answer = {
            .model = tf_route || p->tf_style ? NULL : p->model, .version = m->version, .y = y, .rows = p->rows,
            .outs = outs, .single = p->single, .tf_style = p->tf_style, .labels = &m->labels,
            .classes = !tf_route && !p->tf_style &&
                       (m->labels.count > 0 || arch->loss == SN_LOSS_CROSSENTROPY)};
        size_t len = 0;
        char *text = codec_predict_answer(&answer, &len);
        http_body_take(res, 200, "application/json", text, len);
        metrics_add_predicted(a->metrics, p->rows);
    }
    free(y);
    cache_release(a->cache, m);
}

void predict_post(http_request *req, http_response *res)
{
    size_t len;
    const char *body = http_body(req, &len);
    predict_request p;
    api_error e;
    if (!codec_predict_request(body, len, NULL, &p, &e)) {
        answer_api_error(res, &e);
        return;
    }
    predict_and_answer(req, res, &p, false);
    predict_request_free(&p);
}

void tf_predict(http_request *req, http_response *res)
{
    const char *model = path_name(req, res, "name");
    if (!model)
        return;
    const char *v = http_capture(req, "v"), *alias = http_capture(req, "alias");
    size_t len;
    const char *body = http_body(req, &len);
    predict_request p;
    api_error e;
    if (!codec_predict_request(body, len, model, &p, &e)) {
        answer_api_error(res, &e);
        return;
    }
    if (v || alias) { /* the path names the version: digits or an alias */
        const char *ref = v ? v : alias;
        if (v && strspn(v, "0123456789") != strlen(v)) {
            http_problem(res, 404, NULL, "version %s is not a number", v);
            predict_request_free(&p);
            return;
        }
        text_copy(p.version, sizeof p.version, ref);
    }
    predict_and_answer(req, res, &p, true);
    predict_request_free(&p);
}

void tf_status(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *model = path_name(req, res, "name");
    if (!model)
        return;
    store_model *m;
    char err[256];
    store_status rc = store_model_get(a->store, model, &m, err, sizeof err);
    if (rc != STORE_OK) {
        answer_store_error(res, rc, err);
        return;
    }
    cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "model_version_status");
    for (size_t i = m->n_versions; i-- > 0;) {
        char num[24];
        snprintf(num, sizeof num, "%lld", (long long)m->versions[i].number);
        cJSON *s = cJSON_CreateObject(), *status = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "version", num);
        cJSON_AddStringToObject(s, "state", "AVAILABLE");
        cJSON_AddStringToObject(status, "error_code", "OK");
        cJSON_AddStringToObject(status, "error_message", "");
        cJSON_AddItemToObject(s, "status", status);
        cJSON_AddItemToArray(list, s);
    }
    store_model_free(m);
    http_json(res, 200, out);
}
