/*
 * handlers_evaluate.c — POST /evaluate: a version scored on an uploaded
 * dataset or on inline rows. The network comes from the model cache; the
 * loss is the core's (sn_evaluate_loss, as training reports it), and the
 * other scores are computed here from sn_predict's outputs: accuracy and a
 * confusion matrix for classifiers (crossentropy by argmax,
 * binary_crossentropy by the 0.5 threshold), rmse and mae otherwise.
 * Every failure answers a problem and frees what was loaded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"

/* The rows to score: raw inputs and targets as the network's outputs. */
typedef struct {
    const float *x;
    float *y;            /* owned unless it is the dataset's */
    size_t rows;
    store_dataset *set;  /* a loaded dataset, or NULL */
} eval_data;

static void eval_data_free(eval_data *d)
{
    if (!d->set || d->y != d->set->targets)
        free(d->y);
    store_dataset_free(d->set);
}

/* Class indices (one per row, in targets) as one-hot rows. */
static bool classes_one_hot(const float *idx, size_t rows, int outputs, float **y, const char *name,
                            api_error *e)
{
    int64_t *k = malloc((rows ? rows : 1) * sizeof *k);
    if (!k)
        return api_fail(e, 503, NULL, "out of memory");
    bool ok = true;
    for (size_t r = 0; ok && r < rows; r++) {
        k[r] = (int64_t)idx[r];
        if (idx[r] != floorf(idx[r]) || k[r] < 0 || k[r] >= outputs)
            ok = api_fail(e, 400, "dataset", "dataset %s row %zu has class %g but the model has %d outputs",
                          name, r + 1, (double)idx[r], outputs);
    }
    if (ok && !codec_one_hot(k, rows, outputs, y))
        ok = api_fail(e, 503, NULL, "out of memory");
    free(k);
    return ok;
}

/* Loads the named dataset and shapes its targets for m's network. */
static bool dataset_data(app *a, const evaluate_request *r, const cached_model *m, eval_data *d,
                         api_error *e)
{
    const sn_arch *arch = sn_net_arch(m->net);
    int in = arch->sizes[0], outs = arch->sizes[arch->n_layers - 1];
    char err[256];
    store_status rc = store_dataset_get(a->store, r->dataset, true, &d->set, err, sizeof err);
    if (rc == STORE_NOT_FOUND)
        return api_fail(e, 404, "dataset", "dataset %s does not exist", r->dataset);
    if (rc != STORE_OK)
        return api_fail(e, rc == STORE_INVALID ? 400 : 503, NULL, "%s", err);
    store_dataset *s = d->set;
    if (!codec_dataset_pick_targets(s, r->target, e))
        return false;
    if (s->n_inputs != in)
        return api_fail(e, 400, "dataset", "dataset %s has %lld input columns but the model takes %d inputs",
                        s->name, (long long)s->n_inputs, in);
    d->x = s->inputs;
    d->rows = (size_t)s->rows;
    bool classes = s->labels_json != NULL ||
                   (arch->loss == SN_LOSS_CROSSENTROPY && s->n_targets == 1 && outs > 1);
    if (!classes) {
        if (s->n_targets != outs)
            return api_fail(e, 400, "dataset", "dataset %s has %lld target columns but the model has %d outputs",
                            s->name, (long long)s->n_targets, outs);
        d->y = s->targets;
        return true;
    }
    if (arch->loss != SN_LOSS_CROSSENTROPY)
        return api_fail(e, 400, "dataset", "dataset %s has class labels but the model's loss is %s, not crossentropy",
                        s->name, sn_loss_name(arch->loss));
    return codec_dataset_renumber(s, &m->labels, e) &&
           classes_one_hot(s->targets, d->rows, outs, &d->y, s->name, e);
}

/* The scores beside the loss, from predictions p against targets y. */
static bool score(const sn_arch *arch, const float *p, const float *y, size_t rows,
                  evaluation *ev, int64_t **confusion)
{
    size_t outs = (size_t)arch->sizes[arch->n_layers - 1];
    ev->classifier = arch->loss == SN_LOSS_CROSSENTROPY || arch->loss == SN_LOSS_BCE;
    if (!ev->classifier) {
        double se = 0, ae = 0;
        for (size_t i = 0; i < rows * outs; i++) {
            double diff = (double)p[i] - (double)y[i];
            se += diff * diff;
            ae += fabs(diff);
        }
        ev->rmse = sqrt(se / (double)(rows * outs));
        ev->mae = ae / (double)(rows * outs);
        return true;
    }
    bool ce = arch->loss == SN_LOSS_CROSSENTROPY;
    ev->classes = ce ? outs : 2;
    *confusion = calloc(ev->classes * ev->classes, sizeof **confusion);
    if (!*confusion)
        return false;
    size_t right = 0, total = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *pr = p + r * outs, *yr = y + r * outs;
        if (ce) {
            size_t t = row_argmax(yr, outs), k = row_argmax(pr, outs);
            (*confusion)[t * outs + k]++;
            right += t == k;
            total++;
            continue;
        }
        for (size_t j = 0; j < outs; j++) { /* binary: every output against 0.5 */
            size_t t = yr[j] >= 0.5f, k = pr[j] >= 0.5f;
            (*confusion)[t * 2 + k]++;
            right += t == k;
            total++;
        }
    }
    ev->accuracy = (double)right / (double)total;
    ev->confusion = *confusion;
    return true;
}

void evaluate_post(http_request *req, http_response *res)
{
    app *a = http_app(req);
    size_t len;
    const char *body = http_body(req, &len);
    evaluate_request r;
    api_error e;
    if (!codec_evaluate_request(body, len, &r, &e)) {
        answer_api_error(res, &e);
        return;
    }
    cached_model *m;
    if (!load_model(req, res, r.model, r.version, &m)) {
        evaluate_request_free(&r);
        return;
    }
    const sn_arch *arch = sn_net_arch(m->net);
    size_t in = (size_t)arch->sizes[0], outs = (size_t)arch->sizes[arch->n_layers - 1];
    eval_data d = {0};
    bool ok;
    if (r.dataset[0]) {
        ok = dataset_data(a, &r, m, &d, &e);
    } else if (r.width != in) {
        ok = api_fail(&e, 400, "inputs", "inputs rows have %zu values but model %s version %lld takes %zu inputs",
                      r.width, r.model, (long long)m->version, in);
    } else {
        d.x = r.inputs;
        d.rows = r.rows;
        ok = codec_evaluate_targets(&r, arch, &m->labels, &d.y, &e);
    }
    float *p = ok ? malloc(d.rows * outs * sizeof *p) : NULL;
    int64_t *confusion = NULL;
    evaluation ev = {.model = r.model, .version = m->version, .rows = d.rows, .labels = &m->labels};
    sn_error serr;
    if (ok && !p)
        ok = api_fail(&e, 503, NULL, "out of memory for %zu rows", d.rows);
    if (ok && (sn_evaluate_loss(m->net, d.x, d.y, d.rows, &ev.loss, &serr) != SN_OK ||
               sn_predict(m->net, d.x, d.rows, p, &serr) != SN_OK))
        ok = api_fail(&e, serr.code == SN_ERR_NONFINITE ? 422 : serr.code == SN_ERR_NOMEM ? 503 : 400,
                      r.dataset[0] ? "dataset" : "inputs", "%s", serr.message);
    if (ok && !score(arch, p, d.y, d.rows, &ev, &confusion))
        ok = api_fail(&e, 503, NULL, "out of memory");
    if (ok)
        http_json(res, 200, codec_evaluation(&ev));
    else
        answer_api_error(res, &e);
    free(confusion);
    free(p);
    eval_data_free(&d);
    cache_release(a->cache, m);
    evaluate_request_free(&r);
}
