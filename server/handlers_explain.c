/*
 * handlers_explain.c — POST /explain: one backpropagation step for one
 * sample, laid open. JSON by default; with ?format=text (or Accept:
 * text/plain) the same calculation written out line by line as the seed
 * document writes it, numbers substituted, for reading after a curl.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* ---- the text walk-through ---- */

/* A value of the named object (the JSON answer is the single source). */
static double num(const cJSON *named, const char *group, const char *name)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(named, group);
    const cJSON *v = g ? cJSON_GetObjectItemCaseSensitive(g, name) : NULL;
    return v && v->valuestring ? strtod(v->valuestring, NULL) : cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *loss_formula(sn_loss loss)
{
    switch (loss) {
    case SN_LOSS_MSE: return "(y_true - y_pred)^2";
    case SN_LOSS_BCE: return "-(y_true ln y_pred + (1 - y_true) ln(1 - y_pred))";
    default: return "-y_true ln y_pred";
    }
}

/* The seed document's calculation, for a [2, 2, 1] network. */
static void seed_text(http_buffer *t, const cJSON *named, const sn_arch *arch, const sn_optimizer *opt)
{
#define V(name) num(named, "values", name)
#define P(name) num(named, "parameters", name)
#define D(name) num(named, "partials", name)
#define G(name) num(named, "gradients", name)
#define U(name) num(named, "updated", name)
    const char *fh = sn_activation_name(arch->act[0]), *fo = sn_activation_name(arch->act[1]);
    http_buffer_printf(t, "feed forward (x1 = %.6g, x2 = %.6g)\n", V("x1"), V("x2"));
    for (int h = 1; h <= 2; h++) {
        const char *wa = h == 1 ? "w1" : "w3", *wb = h == 1 ? "w2" : "w4", *b = h == 1 ? "b1" : "b2";
        char sum[8], out[4];
        snprintf(sum, sizeof sum, "sum_h%d", h);
        snprintf(out, sizeof out, "h%d", h);
        http_buffer_printf(t, "  %s = %s*x1 + %s*x2 + %s = %.6g*%.6g + %.6g*%.6g + %.6g = %.6g\n", sum, wa, wb, b,
            P(wa), V("x1"), P(wb), V("x2"), P(b), V(sum));
        http_buffer_printf(t, "  %s = %s(%s) = %.6g\n", out, fh, sum, V(out));
    }
    http_buffer_printf(t, "  sum_o1 = w5*h1 + w6*h2 + b3 = %.6g*%.6g + %.6g*%.6g + %.6g = %.6g\n", P("w5"), V("h1"),
        P("w6"), V("h2"), P("b3"), V("sum_o1"));
    http_buffer_printf(t, "  y_pred = o1 = %s(sum_o1) = %.6g\n", fo, V("o1"));
    http_buffer_printf(t, "loss\n  L = %s = %.6g   (y_true = %.6g)\n", loss_formula(arch->loss), V("loss"), V("y_true"));
    http_buffer_printf(t, "partial derivatives%s\n", arch->act[0] == SN_ACT_SIGMOID ? " (sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x)))" : "");
    http_buffer_printf(t, "  dL/dypred  = %.6g\n", D("dL/dypred"));
    http_buffer_printf(t, "  dypred/dw5 = h1 * %s'(sum_o1) = %.6g\n", fo, D("dypred/dw5"));
    http_buffer_printf(t, "  dypred/dw6 = h2 * %s'(sum_o1) = %.6g\n", fo, D("dypred/dw6"));
    http_buffer_printf(t, "  dypred/db3 = %s'(sum_o1) = %.6g\n", fo, D("dypred/db3"));
    http_buffer_printf(t, "  dypred/dh1 = w5 * %s'(sum_o1) = %.6g\n", fo, D("dypred/dh1"));
    http_buffer_printf(t, "  dypred/dh2 = w6 * %s'(sum_o1) = %.6g\n", fo, D("dypred/dh2"));
    http_buffer_printf(t, "  dh1/dw1 = x1 * %s'(sum_h1) = %.6g\n", fh, D("dh1/dw1"));
    http_buffer_printf(t, "  dh1/dw2 = x2 * %s'(sum_h1) = %.6g\n", fh, D("dh1/dw2"));
    http_buffer_printf(t, "  dh1/db1 = %s'(sum_h1) = %.6g\n", fh, D("dh1/db1"));
    http_buffer_printf(t, "  dh2/dw3 = x1 * %s'(sum_h2) = %.6g\n", fh, D("dh2/dw3"));
    http_buffer_printf(t, "  dh2/dw4 = x2 * %s'(sum_h2) = %.6g\n", fh, D("dh2/dw4"));
    http_buffer_printf(t, "  dh2/db2 = %s'(sum_h2) = %.6g\n", fh, D("dh2/db2"));
    http_buffer_printf(t, "chain rule\n");
    static const struct { const char *theta, *via, *local; } chain[9] = {
        {"w1", "dypred/dh1", "dh1/dw1"}, {"w2", "dypred/dh1", "dh1/dw2"}, {"b1", "dypred/dh1", "dh1/db1"},
        {"w3", "dypred/dh2", "dh2/dw3"}, {"w4", "dypred/dh2", "dh2/dw4"}, {"b2", "dypred/dh2", "dh2/db2"},
        {"w5", NULL, "dypred/dw5"},      {"w6", NULL, "dypred/dw6"},      {"b3", NULL, "dypred/db3"},
    };
    for (int i = 0; i < 9; i++) {
        char g[8];
        snprintf(g, sizeof g, "dL/d%s", chain[i].theta);
        if (chain[i].via)
            http_buffer_printf(t, "  %s = dL/dypred * %s * %s = %.6g * %.6g * %.6g = %.6g\n", g, chain[i].via, chain[i].local,
                D("dL/dypred"), D(chain[i].via), D(chain[i].local), G(g));
        else
            http_buffer_printf(t, "  %s = dL/dypred * %s = %.6g * %.6g = %.6g\n", g, chain[i].local, D("dL/dypred"),
                D(chain[i].local), G(g));
    }
    if (opt->type == SN_OPT_SGD) {
        http_buffer_printf(t, "update (sgd, learning rate eta = %g): theta <- theta - eta * dL/dtheta\n", (double)opt->learning_rate);
        for (int i = 0; i < 9; i++) {
            char g[8];
            snprintf(g, sizeof g, "dL/d%s", chain[i].theta);
            http_buffer_printf(t, "  %s <- %.6g - %g * %.6g = %.6g\n", chain[i].theta, P(chain[i].theta),
                (double)opt->learning_rate, G(g), U(chain[i].theta));
        }
    } else {
        http_buffer_printf(t, "update (%s, first step from fresh state, learning rate %g)\n", sn_optimizer_name(opt->type),
            (double)opt->learning_rate);
        for (int i = 0; i < 9; i++)
            http_buffer_printf(t, "  %s: %.6g -> %.6g\n", chain[i].theta, P(chain[i].theta), U(chain[i].theta));
    }
#undef V
#undef P
#undef D
#undef G
#undef U
}

static void vector_text(http_buffer *t, const char *name, const float *x, size_t n)
{
    http_buffer_printf(t, "  %s = [", name);
    for (size_t i = 0; i < n; i++)
        http_buffer_printf(t, "%s%.6g", i ? ", " : "", (double)x[i]);
    http_buffer_printf(t, "]\n");
}

/* Any other network: the same steps, layer by layer, as vectors. */
static void layers_text(http_buffer *t, const sn_net *net, const sn_explain *ex)
{
    const sn_arch *arch = sn_net_arch(net);
    int last = arch->n_layers - 2;
    http_buffer_printf(t, "feed forward\n");
    vector_text(t, "a0 (inputs)", ex->a[0], (size_t)arch->sizes[0]);
    for (int l = 0; l <= last; l++) {
        char name[48];
        snprintf(name, sizeof name, "z%d = W%d a%d + b%d", l + 1, l + 1, l, l + 1);
        vector_text(t, name, ex->z[l], (size_t)arch->sizes[l + 1]);
        snprintf(name, sizeof name, "a%d = %s(z%d)", l + 1, sn_activation_name(arch->act[l]), l + 1);
        vector_text(t, name, ex->a[l + 1], (size_t)arch->sizes[l + 1]);
    }
    http_buffer_printf(t, "loss\n  L = %.6g (%s)\n", ex->loss, sn_loss_name(arch->loss));
    http_buffer_printf(t, "backward\n");
    vector_text(t, "dL/dy_pred", ex->dloss_dy, (size_t)arch->sizes[last + 1]);
    for (int l = last; l >= 0; l--) {
        char name[64];
        snprintf(name, sizeof name, "delta%d = dL/dz%d", l + 1, l + 1);
        vector_text(t, name, ex->delta[l], (size_t)arch->sizes[l + 1]);
        snprintf(name, sizeof name, "dL/db%d = delta%d; dL/dW%d = delta%d a%d^T (first row)", l + 1, l + 1, l + 1, l + 1, l);
        vector_text(t, name, ex->grad + sn_net_weight_offset(net, l), (size_t)arch->sizes[l]);
    }
}

/* ---- the handler ---- */

/* The target row of the request for this network; false after answering. */
static bool target_row(http_response *res, const explain_request *r, const cached_model *m, float *y)
{
    const sn_arch *arch = sn_net_arch(m->net);
    size_t outs = (size_t)arch->sizes[arch->n_layers - 1];
    bool classes = arch->loss == SN_LOSS_CROSSENTROPY;
    memset(y, 0, outs * sizeof(float));
    if (r->targets) {
        if (r->n_targets != outs) {
            http_problem(res, 400, "targets", "targets has %zu values but the model has %zu outputs", r->n_targets, outs);
            return false;
        }
        memcpy(y, r->targets, outs * sizeof(float));
        return true;
    }
    if (r->target_label) {
        for (size_t k = 0; k < m->labels.count && k < outs; k++)
            if (strcmp(m->labels.names[k], r->target_label) == 0) {
                y[k] = 1;
                return true;
            }
        http_problem(res, 400, "targets", "%s is not one of the model's class labels", r->target_label);
        return false;
    }
    double v = r->target_number;
    if (classes) {
        if (v != (double)(long long)v || v < 0 || v >= (double)outs) {
            http_problem(res, 400, "targets", "a class index must be an integer from 0 to %zu", outs - 1);
            return false;
        }
        y[(size_t)v] = 1;
        return true;
    }
    if (outs != 1) {
        http_problem(res, 400, "targets", "targets must be a row of %zu numbers", outs);
        return false;
    }
    y[0] = (float)v;
    return true;
}

static bool wants_text(http_request *req)
{
    const char *format = http_query(req, "format"), *accept = http_header(req, "Accept");
    if (format)
        return strcmp(format, "text") == 0;
    return accept && strstr(accept, "text/plain") && !strstr(accept, "application/json");
}

void explain_post(http_request *req, http_response *res)
{
    app *a = http_app(req);
    const char *format = http_query(req, "format");
    if (format && strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
        http_problem(res, 400, "format", "format must be json or text");
        return;
    }
    size_t len;
    const char *body = http_body(req, &len);
    explain_request r;
    api_error e;
    if (!codec_explain_request(body, len, &r, &e)) {
        answer_api_error(res, &e);
        return;
    }
    cached_model *m;
    if (!load_model(req, res, r.model, r.version, &m)) {
        explain_request_free(&r);
        return;
    }
    const sn_arch *arch = sn_net_arch(m->net);
    size_t in = (size_t)arch->sizes[0], outs = (size_t)arch->sizes[arch->n_layers - 1];
    float *y = malloc(outs * sizeof(float));
    sn_explain *ex = NULL;
    sn_error err;
    if (!y) {
        http_problem(res, 503, NULL, "out of memory");
    } else if (r.width != in) {
        http_problem(res, 400, "inputs", "inputs has %zu values but model %s takes %zu", r.width, r.model, in);
    } else if (target_row(res, &r, m, y)) {
        sn_status st = sn_explain_step(m->net, &m->optimizer, r.inputs, y, 1, &ex, &err);
        if (st != SN_OK) {
            http_problem(res, st == SN_ERR_NOMEM ? 503 : 400, st == SN_ERR_NONFINITE ? "inputs" : NULL, "%s", err.message);
        } else {
            cJSON *o = codec_explanation(r.model, m->version, m->net, &m->optimizer, r.inputs, y, ex);
            if (wants_text(req)) {
                http_buffer t = {.limit = UINT64_MAX};
                http_buffer_printf(&t, "model %s version %lld: one step of backpropagation\n", r.model, (long long)m->version);
                const cJSON *named = cJSON_GetObjectItemCaseSensitive(o, "named");
                if (named)
                    seed_text(&t, named, arch, &m->optimizer);
                else
                    layers_text(&t, m->net, ex);
                http_buffer_printf(&t, "check: numerical (central differences) vs analytic gradient, largest relative error %.3g\n",
                    ex->max_rel_error);
                http_body_take(res, 200, "text/plain; charset=utf-8", t.data, t.len);
                cJSON_Delete(o);
            } else {
                http_json(res, 200, o);
            }
        }
    }
    sn_explain_free(ex);
    free(y);
    cache_release(a->cache, m);
    explain_request_free(&r);
}
