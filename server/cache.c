/*
 * cache.c — a small LRU of loaded networks and a table of resolved version
 * references, each behind one mutex. Both are scanned linearly: they hold
 * tens of entries, where a scan beats hashing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "text.h"

#define REF_SLOTS 256

typedef struct entry {
    cached_model m;
    int refs;           /* users holding it, plus 1 while it is in the cache */
    uint64_t last_used;
    struct entry *next;
} entry;

typedef struct {
    char model[STORE_NAME_MAX + 1];
    char ref[STORE_NAME_MAX + 1];
    int64_t version;    /* 0 = empty slot */
} ref_slot;

struct model_cache {
    pthread_mutex_t lock;
    entry *entries;
    size_t count, capacity;
    uint64_t clock, hits, misses;
    ref_slot refs[REF_SLOTS];
    size_t next_ref;    /* round-robin replacement */
    uint64_t generation;/* bumped by every forget: a resolve that raced one is not kept */
};

model_cache *cache_create(size_t capacity)
{
    model_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity ? capacity : 1;
    return c;
}

static void entry_free(entry *e)
{
    sn_net_free(e->m.net);
    label_set_free(&e->m.labels);
    free(e);
}

/* Drops the cache's own reference; frees when no user holds it. Lock held. */
static void entry_unlink(model_cache *c, entry **link)
{
    entry *e = *link;
    *link = e->next;
    c->count--;
    if (--e->refs == 0)
        entry_free(e);
}

void cache_free(model_cache *c)
{
    if (!c)
        return;
    while (c->entries)
        entry_unlink(c, &c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

store_status cache_resolve(model_cache *c, store *st, const char *model, const char *ref,
                           int64_t *version, char *err, size_t errlen)
{
    if (!ref || !ref[0])
        ref = "latest";
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < REF_SLOTS; i++) {
        ref_slot *s = &c->refs[i];
        if (s->version && strcmp(s->model, model) == 0 && strcmp(s->ref, ref) == 0) {
            *version = s->version;
            pthread_mutex_unlock(&c->lock);
            return STORE_OK;
        }
    }
    uint64_t generation = c->generation;
    pthread_mutex_unlock(&c->lock);
    int64_t v;
    store_status rc = store_version_resolve(st, model, ref, &v, err, errlen);
    if (rc != STORE_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    if (generation == c->generation && strlen(model) <= STORE_NAME_MAX && strlen(ref) <= STORE_NAME_MAX) {
        ref_slot *s = &c->refs[c->next_ref++ % REF_SLOTS];
        text_copy(s->model, sizeof s->model, model);
        text_copy(s->ref, sizeof s->ref, ref);
        s->version = v;
    }
    pthread_mutex_unlock(&c->lock);
    *version = v;
    return STORE_OK;
}

/* Loads a version's network and what predict needs from its spec. */
static store_status load_entry(store *st, const char *model, int64_t version, entry **out,
                               char *err, size_t errlen)
{
    store_version *v;
    store_status rc = store_version_get(st, model, version, &v, err, errlen);
    if (rc != STORE_OK)
        return rc;
    entry *e = calloc(1, sizeof *e);
    sn_error why;
    if (!e) {
        store_version_free(v);
        snprintf(err, errlen, "out of memory loading %s version %lld", model, (long long)version);
        return STORE_NOMEM;
    }
    if (sn_net_load(v->params, v->params_len, &e->m.net, &why) != SN_OK ||
        !codec_spec_labels(v->spec_json, &e->m.labels)) {
        snprintf(err, errlen, "%s version %lld cannot be loaded: %s", model, (long long)version,
                 e->m.net ? "its labels are unreadable" : why.message);
        store_version_free(v);
        entry_free(e);
        return STORE_IO;
    }
    e->m.optimizer = codec_spec_optimizer(v->spec_json);
    text_copy(e->m.model, sizeof e->m.model, model);
    e->m.version = version;
    store_version_free(v);
    *out = e;
    return STORE_OK;
}

store_status cache_get(model_cache *c, store *st, const char *model, int64_t version,
                       cached_model **out, char *err, size_t errlen)
{
    pthread_mutex_lock(&c->lock);
    for (entry *e = c->entries; e; e = e->next)
        if (e->m.version == version && strcmp(e->m.model, model) == 0) {
            e->refs++;
            e->last_used = ++c->clock;
            c->hits++;
            *out = &e->m;
            pthread_mutex_unlock(&c->lock);
            return STORE_OK;
        }
    c->misses++;
    pthread_mutex_unlock(&c->lock);

    entry *fresh;
    store_status rc = load_entry(st, model, version, &fresh, err, errlen);
    if (rc != STORE_OK)
        return rc;
    pthread_mutex_lock(&c->lock);
    for (entry *e = c->entries; e; e = e->next)
        if (e->m.version == version && strcmp(e->m.model, model) == 0) {
            e->refs++; /* another thread loaded it meanwhile: use that one */
            *out = &e->m;
            pthread_mutex_unlock(&c->lock);
            entry_free(fresh);
            return STORE_OK;
        }
    if (c->count >= c->capacity) { /* evict the least recently used */
        entry **oldest = &c->entries;
        for (entry **link = &c->entries; *link; link = &(*link)->next)
            if ((*link)->last_used < (*oldest)->last_used)
                oldest = link;
        entry_unlink(c, oldest);
    }
    fresh->refs = 2; /* the cache's and the caller's */
    fresh->last_used = ++c->clock;
    fresh->next = c->entries;
    c->entries = fresh;
    c->count++;
    *out = &fresh->m;
    pthread_mutex_unlock(&c->lock);
    return STORE_OK;
}

void cache_release(model_cache *c, cached_model *m)
{
    if (!m)
        return;
    entry *e = (entry *)m; /* m is the first member of its entry */
    pthread_mutex_lock(&c->lock);
    int left = --e->refs;
    pthread_mutex_unlock(&c->lock);
    if (left == 0)
        entry_free(e);
}

static void forget_refs_locked(model_cache *c, const char *model)
{
    c->generation++;
    for (size_t i = 0; i < REF_SLOTS; i++)
        if (c->refs[i].version && strcmp(c->refs[i].model, model) == 0)
            c->refs[i].version = 0;
}

void cache_forget_refs(model_cache *c, const char *model)
{
    pthread_mutex_lock(&c->lock);
    forget_refs_locked(c, model);
    pthread_mutex_unlock(&c->lock);
}

void cache_forget(model_cache *c, const char *model, int64_t version)
{
    pthread_mutex_lock(&c->lock);
    forget_refs_locked(c, model);
    for (entry **link = &c->entries; *link;) {
        if (strcmp((*link)->m.model, model) == 0 && (version == 0 || (*link)->m.version == version))
            entry_unlink(c, link);
        else
            link = &(*link)->next;
    }
    pthread_mutex_unlock(&c->lock);
}

void cache_stats(model_cache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}
