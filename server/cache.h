/*
 * cache.h — trained networks ready for /predict, /evaluate and /explain,
 * keyed by (model, version), and the answers to "which number is latest /
 * this alias", so the prediction path does no database query once warm.
 *
 * Versions are immutable, so a cached network is never stale; the caller
 * invalidates a model's references whenever a version is created or deleted
 * or an alias moves, and its networks when versions are deleted.
 * Entries are reference-counted: a network handed out stays valid until
 * cache_release, even if it is evicted or invalidated meanwhile.
 * Every function is thread-safe.
 */
#ifndef SCRATCHNET_CACHE_H
#define SCRATCHNET_CACHE_H

#include <stdint.h>

#include "codec.h"
#include "scratchnet.h"
#include "store.h"

typedef struct model_cache model_cache;

typedef struct {
    char model[STORE_NAME_MAX + 1];
    int64_t version;
    sn_net *net;            /* read-only for users: many threads predict at once */
    label_set labels;       /* class labels of the version, if any */
    sn_optimizer optimizer; /* the version's optimizer (for /explain) */
} cached_model;

/* A cache holding at most capacity networks (least recently used go first).
 * NULL when out of memory. */
model_cache *cache_create(size_t capacity);
/* Frees the cache; every entry must have been released. */
void cache_free(model_cache *c);

/* The number a reference (NULL/""/"latest", digits, or an alias) stands for. */
store_status cache_resolve(model_cache *c, store *st, const char *model, const char *ref,
                           int64_t *version, char *err, size_t errlen);
/* The network of model/version, loaded from the store on a miss. On success
 * *out stays valid until cache_release(c, *out). STORE_INVALID when the
 * stored blob cannot be loaded. */
store_status cache_get(model_cache *c, store *st, const char *model, int64_t version,
                       cached_model **out, char *err, size_t errlen);
void cache_release(model_cache *c, cached_model *m);

/* Forgets model's resolved references (after a new version, a delete, an
 * alias change). */
void cache_forget_refs(model_cache *c, const char *model);
/* Forgets model's networks: one version, or all of them (version 0), and
 * its references. */
void cache_forget(model_cache *c, const char *model, int64_t version);

/* Counters for /metrics. */
void cache_stats(model_cache *c, uint64_t *hits, uint64_t *misses);

#endif
