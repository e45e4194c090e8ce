/*
 * codec_explain.c — /explain's request (one sample and its target) and its
 * answer: the whole forward and backward pass of one step, and for the seed's
 * [2, 2, 1] network every quantity under the seed document's own names.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"

#define GET(obj, name) cJSON_GetObjectItemCaseSensitive(obj, name)

void explain_request_free(explain_request *r)
{
    free(r->inputs);
    free(r->targets);
    free(r->target_label);
    r->inputs = r->targets = NULL;
    r->target_label = NULL;
}

bool codec_explain_request(const char *body, size_t len, explain_request *out, api_error *e)
{
    memset(out, 0, sizeof *out);
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    static const char *const known[] = {"model", "version", "inputs", "targets", NULL};
    const cJSON *model = GET(root, "model"), *version = GET(root, "version");
    const cJSON *inputs = GET(root, "inputs"), *targets = GET(root, "targets");
    bool ok = codec_known_fields(root, "", known, e);
    if (ok && !model)
        ok = api_fail(e, 400, "model", "model is required");
    ok = ok && codec_name(model, "model", out->model, e);
    ok = ok && codec_version_ref(version, out->version, e);
    size_t rows;
    bool single;
    if (ok && !inputs)
        ok = api_fail(e, 400, "inputs", "inputs is required: one sample, e.g. [-2, -1]");
    if (ok && (ok = codec_read_matrix(inputs, "inputs", &out->inputs, &rows, &out->width, &single, e)) && rows != 1)
        ok = api_fail(e, 400, "inputs", "inputs must be one sample (one row); explain shows one step for one sample");
    if (ok && !targets)
        ok = api_fail(e, 400, "targets", "targets is required: the sample's true output");
    if (ok && cJSON_IsNumber(targets)) {
        ok = codec_number(targets, "targets", &out->target_number, e);
        out->target_is_number = true;
    } else if (ok && cJSON_IsString(targets)) {
        if (!targets->valuestring[0] || !(out->target_label = strdup(targets->valuestring)))
            ok = api_fail(e, 400, "targets", "targets must be a number, a row of numbers or a class label");
    } else if (ok) {
        ok = codec_read_matrix(targets, "targets", &out->targets, &rows, &out->n_targets, &single, e);
        if (ok && rows != 1)
            ok = api_fail(e, 400, "targets", "targets must be one row, for the one sample");
    }
    cJSON_Delete(root);
    if (!ok)
        explain_request_free(out);
    return ok;
}

/* {"name": value, …} from parallel arrays. */
static cJSON *named_numbers(const char *const *names, const double *values, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < n; i++)
        cJSON_AddItemToObject(o, names[i], codec_float((float)values[i]));
    return o;
}

/* The seed's names for a [2, 2, 1] network. */
static cJSON *seed_names(const sn_net *net, const float *p, const float *y, const sn_explain *ex)
{
    const sn_arch *arch = sn_net_arch(net);
    size_t w1 = sn_net_weight_offset(net, 0), b1 = sn_net_bias_offset(net, 0);
    size_t w5 = sn_net_weight_offset(net, 1), b3 = sn_net_bias_offset(net, 1);
    /* parameter block indices of w1…w6, b1…b3 */
    const size_t at[9] = {w1, w1 + 1, w1 + 2, w1 + 3, w5, w5 + 1, b1, b1 + 1, b3};
    static const char *const pnames[9] = {"w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3"};
    static const char *const gnames[9] = {"dL/dw1", "dL/dw2", "dL/dw3", "dL/dw4", "dL/dw5",
                                          "dL/dw6", "dL/db1", "dL/db2", "dL/db3"};
    double params[9], grads[9], updated[9];
    for (int i = 0; i < 9; i++) {
        params[i] = p[at[i]];
        grads[i] = ex->grad[at[i]];
        updated[i] = ex->updated[at[i]];
    }
    double x1 = ex->a[0][0], x2 = ex->a[0][1], h1 = ex->a[1][0], h2 = ex->a[1][1], o1 = ex->a[2][0];
    const double values[11] = {x1, x2, ex->z[0][0], h1, ex->z[0][1], h2, ex->z[1][0], o1, o1, y[0], ex->loss};
    static const char *const vnames[11] = {"x1", "x2", "sum_h1", "h1", "sum_h2", "h2",
                                           "sum_o1", "o1", "y_pred", "y_true", "loss"};
    double fo = sn_activation_slope(arch->act[1], o1);  /* f'(sum_o1) */
    double fh1 = sn_activation_slope(arch->act[0], h1), fh2 = sn_activation_slope(arch->act[0], h2);
    const double partials[12] = {ex->dloss_dy[0], h1 * fo, h2 * fo, fo, params[4] * fo, params[5] * fo,
                                 x1 * fh1, x2 * fh1, fh1, x1 * fh2, x2 * fh2, fh2};
    static const char *const dnames[12] = {"dL/dypred", "dypred/dw5", "dypred/dw6", "dypred/db3",
                                           "dypred/dh1", "dypred/dh2", "dh1/dw1", "dh1/dw2",
                                           "dh1/db1", "dh2/dw3", "dh2/dw4", "dh2/db2"};
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "values", named_numbers(vnames, values, 11));
    cJSON_AddItemToObject(o, "parameters", named_numbers(pnames, params, 9));
    cJSON_AddItemToObject(o, "partials", named_numbers(dnames, partials, 12));
    cJSON_AddItemToObject(o, "gradients", named_numbers(gnames, grads, 9));
    cJSON_AddItemToObject(o, "updated", named_numbers(pnames, updated, 9));
    return o;
}

cJSON *codec_explanation(const char *model, int64_t version, const sn_net *net,
                         const sn_optimizer *opt, const float *raw_x, const float *y,
                         const sn_explain *ex)
{
    const sn_arch *arch = sn_net_arch(net);
    size_t in = (size_t)arch->sizes[0], outs = (size_t)arch->sizes[arch->n_layers - 1];
    const float *p = sn_net_params_const(net, NULL);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddNumberToObject(o, "version", (double)version);
    cJSON_AddItemToObject(o, "inputs", codec_floats(raw_x, in));
    cJSON_AddItemToObject(o, "normalized_inputs", codec_floats(ex->a[0], in));
    cJSON_AddItemToObject(o, "targets", codec_floats(y, outs));
    cJSON *layers = cJSON_AddArrayToObject(o, "layers");
    for (int l = 0; l + 1 < arch->n_layers; l++) {
        size_t n = (size_t)arch->sizes[l + 1];
        cJSON *layer = cJSON_CreateObject();
        cJSON_AddStringToObject(layer, "activation", sn_activation_name(arch->act[l]));
        cJSON_AddItemToObject(layer, "z", codec_floats(ex->z[l], n));
        cJSON_AddItemToObject(layer, "a", codec_floats(ex->a[l + 1], n));
        cJSON_AddItemToObject(layer, "delta", codec_floats(ex->delta[l], n));
        cJSON_AddItemToArray(layers, layer);
    }
    cJSON_AddItemToObject(o, "y_pred", codec_floats(ex->a[arch->n_layers - 1], outs));
    cJSON_AddItemToObject(o, "loss", codec_loss(ex->loss));
    cJSON_AddItemToObject(o, "dL_dy_pred", codec_floats(ex->dloss_dy, outs));
    cJSON_AddItemToObject(o, "parameters", codec_parameters(net, p));
    cJSON_AddItemToObject(o, "gradients", codec_parameters(net, ex->grad));
    float *numeric = malloc(ex->param_count * sizeof(float));
    for (size_t i = 0; numeric && i < ex->param_count; i++)
        numeric[i] = (float)ex->numeric_grad[i]; /* NaN (not sampled) prints as null */
    cJSON_AddItemToObject(o, "numeric_gradients", numeric ? codec_parameters(net, numeric) : NULL);
    free(numeric);
    cJSON_AddNumberToObject(o, "max_relative_error", ex->max_rel_error);
    codec_add_optimizer(o, opt);
    cJSON_AddItemToObject(o, "updated_parameters", codec_parameters(net, ex->updated));
    if (arch->n_layers == 3 && arch->sizes[0] == 2 && arch->sizes[1] == 2 && arch->sizes[2] == 1)
        cJSON_AddItemToObject(o, "named", seed_names(net, p, y, ex));
    return o;
}
