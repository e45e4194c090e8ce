/*
 * codec_util.h — the codec's own field readers, shared by its files and by
 * no one else. Each returns false (or -1) after filling e with a 400 that
 * names the field.
 */
#ifndef SCRATCHNET_CODEC_UTIL_H
#define SCRATCHNET_CODEC_UTIL_H

#include "codec.h"

bool codec_number(const cJSON *item, const char *field, double *out, api_error *e);
bool codec_integer(const cJSON *item, const char *field, int64_t lo, int64_t hi, int64_t *out,
                   api_error *e);
bool codec_bool(const cJSON *item, const char *field, bool *out, api_error *e);
bool codec_name(const cJSON *item, const char *field, char out[STORE_NAME_MAX + 1], api_error *e);
/* The enum value named by a string item, or -1 ("field must be one of choices"). */
int codec_enum(const cJSON *item, const char *field, int (*from_name)(const char *),
               const char *choices, api_error *e);
/* The body parsed as one JSON object (NULL with e filled otherwise). */
cJSON *codec_parse_object(const char *body, size_t len, api_error *e);
/* Fails on the first member of obj whose name is not in known (NULL-ended). */
bool codec_known_fields(const cJSON *obj, const char *prefix, const char *const *known,
                        api_error *e);
/* Reads layers, activation, output_activation and loss from obj into arch. */
bool codec_architecture(const cJSON *obj, sn_arch *arch, api_error *e);
/* Writes arch's layers, activation list, output_activation and loss into obj. */
void codec_add_architecture(cJSON *obj, const sn_arch *arch);

/* The optimizer (string or object) and learning_rate shorthand of obj. */
bool codec_read_optimizer(const cJSON *obj, sn_optimizer *opt, api_error *e);
void codec_add_optimizer(cJSON *obj, const sn_optimizer *o);
/* A JSON array of label strings (anything else: no labels); false on OOM. */
bool codec_read_labels(const cJSON *labels, label_set *out);
/* "labels": [...] or null. */
void codec_add_labels(cJSON *obj, const label_set *labels);

#endif
