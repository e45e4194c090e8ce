/*
 * codec_model.c — models, versions (their full JSON, and importing that
 * same JSON back), aliases and jobs as the API shows them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "codec_util.h"

#define GET(obj, name) cJSON_GetObjectItemCaseSensitive(obj, name)

static cJSON *time_or_null(const char *t) { return t && t[0] ? cJSON_CreateString(t) : cJSON_CreateNull(); }

cJSON *codec_version_summary(const store_version_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "version", (double)s->number);
    cJSON_AddItemToObject(o, "created_at", time_or_null(s->created_at));
    cJSON_AddNumberToObject(o, "epochs_run", (double)s->epochs_run);
    cJSON_AddItemToObject(o, "loss", codec_loss(s->loss));
    cJSON_AddItemToObject(o, "val_loss", codec_loss(s->val_loss));
    cJSON_AddNumberToObject(o, "duration_ms", (double)s->duration_ms);
    cJSON_AddNumberToObject(o, "rows", (double)s->rows);
    return o;
}

cJSON *codec_version(const store_version *v, const sn_net *net)
{
    cJSON *o = cJSON_Parse(v->spec_json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        o = cJSON_CreateObject();
    }
    /* Identity first, as a reader expects; then the stored spec. */
    cJSON *head = cJSON_CreateObject();
    cJSON_AddStringToObject(head, "model", v->model);
    cJSON_AddNumberToObject(head, "version", (double)v->summary.number);
    cJSON_AddItemToObject(head, "created_at", time_or_null(v->summary.created_at));
    while (o->child) {
        cJSON *item = cJSON_DetachItemViaPointer(o, o->child);
        if (!GET(head, item->string))
            cJSON_AddItemToObject(head, item->string, item);
        else
            cJSON_Delete(item);
    }
    cJSON_Delete(o);
    o = head;
    const sn_arch *arch = sn_net_arch(net);
    const float *shift, *scale;
    sn_norm norm = sn_net_norm(net, &shift, &scale);
    if (norm == SN_NORM_NONE) {
        cJSON_AddNullToObject(o, "normalization");
    } else {
        cJSON *n = cJSON_AddObjectToObject(o, "normalization");
        cJSON_AddStringToObject(n, "method", sn_norm_name(norm));
        cJSON_AddItemToObject(n, "shift", codec_floats(shift, (size_t)arch->sizes[0]));
        cJSON_AddItemToObject(n, "scale", codec_floats(scale, (size_t)arch->sizes[0]));
    }
    cJSON *t = cJSON_AddObjectToObject(o, "training");
    cJSON_AddNumberToObject(t, "epochs_run", (double)v->summary.epochs_run);
    cJSON_AddItemToObject(t, "loss", codec_loss(v->summary.loss));
    cJSON_AddItemToObject(t, "val_loss", codec_loss(v->summary.val_loss));
    cJSON_AddNumberToObject(t, "duration_ms", (double)v->summary.duration_ms);
    cJSON_AddNumberToObject(t, "rows", (double)v->summary.rows);
    cJSON_AddItemToObject(o, "parameters", codec_parameters(net, sn_net_params_const(net, NULL)));
    return o;
}

cJSON *codec_parameters(const sn_net *net, const float *block)
{
    const sn_arch *arch = sn_net_arch(net);
    cJSON *params = cJSON_CreateArray();
    for (int l = 0; params && l + 1 < arch->n_layers; l++) {
        size_t in = (size_t)arch->sizes[l], out = (size_t)arch->sizes[l + 1];
        cJSON *layer = cJSON_CreateObject();
        cJSON_AddItemToObject(layer, "W", codec_matrix(block + sn_net_weight_offset(net, l), out, in));
        cJSON_AddItemToObject(layer, "b", codec_floats(block + sn_net_bias_offset(net, l), out));
        cJSON_AddItemToArray(params, layer);
    }
    return params;
}

/* Reads n finite numbers of an array at field into x. */
static bool read_floats(const cJSON *a, const char *field, float *x, size_t n, api_error *e)
{
    if (!cJSON_IsArray(a) || (size_t)cJSON_GetArraySize(a) != n)
        return api_fail(e, 400, field, "%s must be an array of %zu numbers", field, n);
    size_t i = 0;
    for (const cJSON *v = a->child; v; v = v->next, i++) {
        char path[API_FIELD_MAX];
        double d;
        snprintf(path, sizeof path, "%s[%zu]", field, i);
        if (!codec_number(v, path, &d, e))
            return false;
        if (fabs(d) > 3.4e38)
            return api_fail(e, 400, path, "%s is too large for a 32-bit float", path);
        x[i] = (float)d;
    }
    return true;
}

static bool read_parameters(const cJSON *params, sn_net *net, api_error *e)
{
    const sn_arch *arch = sn_net_arch(net);
    if (!cJSON_IsArray(params) || cJSON_GetArraySize(params) != arch->n_layers - 1)
        return api_fail(e, 400, "parameters", "parameters must be an array of %d layers, each {\"W\": [[...]], \"b\": [...]}",
                        arch->n_layers - 1);
    int l = 0;
    for (const cJSON *layer = params->child; layer; layer = layer->next, l++) {
        char field[64];
        float *W, *b;
        size_t in = (size_t)arch->sizes[l], out = (size_t)arch->sizes[l + 1];
        sn_net_layer(net, l, &W, &b);
        snprintf(field, sizeof field, "parameters[%d].W", l);
        const cJSON *w = cJSON_IsObject(layer) ? GET(layer, "W") : NULL;
        if (!cJSON_IsArray(w) || (size_t)cJSON_GetArraySize(w) != out)
            return api_fail(e, 400, field, "%s must be %zu rows (outputs) of %zu numbers (inputs)", field, out, in);
        size_t r = 0;
        for (const cJSON *row = w->child; row; row = row->next, r++) {
            char rf[80];
            snprintf(rf, sizeof rf, "%s[%zu]", field, r);
            if (!read_floats(row, rf, W + r * in, in, e))
                return false;
        }
        snprintf(field, sizeof field, "parameters[%d].b", l);
        if (!read_floats(cJSON_IsObject(layer) ? GET(layer, "b") : NULL, field, b, out, e))
            return false;
    }
    return true;
}

static bool read_normalization(const cJSON *n, sn_net *net, api_error *e)
{
    if (!n || cJSON_IsNull(n))
        return true;
    size_t in = (size_t)sn_net_arch(net)->sizes[0];
    int kind = cJSON_IsObject(n) ? codec_enum(GET(n, "method"), "normalization.method", sn_norm_from_name,
                                              "none, standard, minmax", e)
                                 : (api_fail(e, 400, "normalization", "normalization must be an object {\"method\", \"shift\", \"scale\"} or null"), -1);
    if (kind < 0)
        return false;
    if (kind == SN_NORM_NONE)
        return true;
    float *shift = malloc(2 * in * sizeof(float));
    if (!shift)
        return api_fail(e, 503, NULL, "out of memory");
    bool ok = read_floats(GET(n, "shift"), "normalization.shift", shift, in, e) &&
              read_floats(GET(n, "scale"), "normalization.scale", shift + in, in, e);
    sn_error err;
    if (ok && sn_net_set_norm(net, (sn_norm)kind, shift, shift + in, &err) != SN_OK)
        ok = api_fail(e, 400, "normalization", "%s", err.message);
    free(shift);
    return ok;
}

static void read_training(const cJSON *t, version_import *out)
{
    out->loss = out->val_loss = NAN;
    if (!cJSON_IsObject(t))
        return;
    const cJSON *v;
    if (cJSON_IsNumber(v = GET(t, "epochs_run")) && v->valuedouble >= 0 && v->valuedouble < 1e9)
        out->epochs_run = (int64_t)v->valuedouble;
    if (cJSON_IsNumber(v = GET(t, "rows")) && v->valuedouble >= 0 && v->valuedouble < 1e15)
        out->rows = (int64_t)v->valuedouble;
    if (cJSON_IsNumber(v = GET(t, "duration_ms")) && v->valuedouble >= 0 && v->valuedouble < 1e15)
        out->duration_ms = (int64_t)v->valuedouble;
    if (cJSON_IsNumber(v = GET(t, "loss")) && isfinite(v->valuedouble))
        out->loss = v->valuedouble;
    if (cJSON_IsNumber(v = GET(t, "val_loss")) && isfinite(v->valuedouble))
        out->val_loss = v->valuedouble;
}

bool codec_version_import(const char *body, size_t len, version_import *out, api_error *e)
{
    memset(out, 0, sizeof *out);
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    sn_arch arch;
    sn_optimizer opt;
    label_set labels = {0};
    sn_error err;
    bool ok = codec_architecture(root, &arch, e) && codec_read_optimizer(root, &opt, e);
    if (ok && !GET(root, "parameters"))
        ok = api_fail(e, 400, "parameters", "parameters is required: one {\"W\", \"b\"} per layer");
    if (ok && sn_net_create(&arch, &out->net, &err) != SN_OK)
        ok = api_fail(e, err.code == SN_ERR_NOMEM ? 503 : 400, "layers", "%s", err.message);
    ok = ok && read_parameters(GET(root, "parameters"), out->net, e) &&
         read_normalization(GET(root, "normalization"), out->net, e);
    const cJSON *l = GET(root, "labels");
    if (ok && l && !cJSON_IsNull(l)) {
        if (!cJSON_IsArray(l) || cJSON_GetArraySize(l) > arch.sizes[arch.n_layers - 1])
            ok = api_fail(e, 400, "labels", "labels must be an array of at most %d strings (one per output unit)",
                          arch.sizes[arch.n_layers - 1]);
        for (const cJSON *s = ok ? l->child : NULL; s && ok; s = s->next)
            if (!cJSON_IsString(s))
                ok = api_fail(e, 400, "labels", "labels must be strings");
        if (ok && !codec_read_labels(l, &labels))
            ok = api_fail(e, 503, NULL, "out of memory");
    }
    if (ok) {
        read_training(GET(root, "training"), out);
        cJSON *spec = cJSON_CreateObject();
        codec_add_architecture(spec, &arch);
        codec_add_optimizer(spec, &opt);
        sn_norm norm = sn_net_norm(out->net, NULL, NULL);
        cJSON_AddStringToObject(spec, "normalize", sn_norm_name(norm));
        cJSON_AddStringToObject(spec, "source", "import");
        codec_add_labels(spec, &labels);
        out->spec_text = cJSON_PrintUnformatted(spec);
        cJSON_Delete(spec);
        if (!out->spec_text)
            ok = api_fail(e, 503, NULL, "out of memory");
    }
    label_set_free(&labels);
    cJSON_Delete(root);
    if (!ok)
        version_import_free(out);
    return ok;
}

void version_import_free(version_import *v)
{
    sn_net_free(v->net);
    free(v->spec_text);
    v->net = NULL;
    v->spec_text = NULL;
}

cJSON *codec_model_info(const store_model_info *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->name);
    if (m->latest_version)
        cJSON_AddNumberToObject(o, "latest_version", (double)m->latest_version);
    else
        cJSON_AddNullToObject(o, "latest_version");
    cJSON_AddNumberToObject(o, "version_count", (double)m->version_count);
    cJSON_AddItemToObject(o, "created_at", time_or_null(m->created_at));
    cJSON_AddItemToObject(o, "updated_at", time_or_null(m->updated_at));
    return o;
}

cJSON *codec_alias(const store_alias *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "alias", a->alias);
    cJSON_AddNumberToObject(o, "version", (double)a->version);
    cJSON_AddItemToObject(o, "created_at", time_or_null(a->created_at));
    cJSON_AddItemToObject(o, "updated_at", time_or_null(a->updated_at));
    return o;
}

cJSON *codec_model(const store_model *m, const store_alias *aliases, size_t n_aliases)
{
    cJSON *o = codec_model_info(&m->info);
    cJSON *vs = cJSON_AddArrayToObject(o, "versions");
    for (size_t i = m->n_versions; i-- > 0;) /* newest first */
        cJSON_AddItemToArray(vs, codec_version_summary(&m->versions[i]));
    cJSON *as = cJSON_AddObjectToObject(o, "aliases");
    for (size_t i = 0; i < n_aliases; i++)
        cJSON_AddNumberToObject(as, aliases[i].alias, (double)aliases[i].version);
    return o;
}

cJSON *codec_job(const store_job *j)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)j->id);
    cJSON_AddStringToObject(o, "model", j->model);
    cJSON_AddStringToObject(o, "status", store_job_status_name(j->status));
    cJSON_AddNumberToObject(o, "epoch", (double)j->epoch);
    cJSON_AddNumberToObject(o, "epochs", (double)j->epochs);
    cJSON_AddItemToObject(o, "loss", codec_loss(j->loss));
    cJSON_AddItemToObject(o, "val_loss", codec_loss(j->val_loss));
    if (j->version)
        cJSON_AddNumberToObject(o, "version", (double)j->version);
    else
        cJSON_AddNullToObject(o, "version");
    cJSON_AddItemToObject(o, "created_at", time_or_null(j->created_at));
    cJSON_AddItemToObject(o, "started_at", time_or_null(j->started_at));
    cJSON_AddItemToObject(o, "finished_at", time_or_null(j->finished_at));
    if (j->duration_ms >= 0)
        cJSON_AddNumberToObject(o, "duration_ms", (double)j->duration_ms);
    else
        cJSON_AddNullToObject(o, "duration_ms");
    if (j->error)
        cJSON_AddStringToObject(o, "error", j->error);
    else
        cJSON_AddNullToObject(o, "error");
    return o;
}

char *codec_epoch_event(int64_t epoch, double loss, double val_loss)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", (double)epoch);
    cJSON_AddItemToObject(o, "loss", codec_loss(loss));
    cJSON_AddItemToObject(o, "val_loss", codec_loss(val_loss));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

bool codec_alias_request(const char *body, size_t len, char ref[STORE_NAME_MAX + 1], api_error *e)
{
    cJSON *root = codec_parse_object(body, len, e);
    if (!root)
        return false;
    bool ok = codec_version_ref(cJSON_GetObjectItemCaseSensitive(root, "version"), ref, e);
    if (ok && !ref[0])
        ok = api_fail(e, 400, "version",
                      "version is required: a version number (or another alias, or \"latest\")");
    cJSON_Delete(root);
    return ok;
}
