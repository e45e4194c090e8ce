/*
 * serialize.c — a trained network as a versioned little-endian byte buffer:
 *
 *   "SNET"  u32 format (1)  u32 n_layers  u32 sizes[n_layers]
 *   u8 act[n_layers-1]  u8 loss  u8 norm  u8 reserved (0)
 *   u64 n_params  f32 params[n_params]
 *   if norm != none: f32 shift[inputs]  f32 scale[inputs]
 *   u32 CRC-32 (IEEE) of every byte before it
 *
 * The loader trusts nothing: lengths, enums, the architecture, the CRC and
 * every float are checked before a network is built.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MAGIC "SNET"
#define FORMAT_VERSION 1u

uint32_t sn_crc32(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

/* ---- writing ---- */
typedef struct {
    uint8_t *p;
} writer;

static void put_u8(writer *w, uint8_t v) { *w->p++ = v; }
static void put_u32(writer *w, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *w->p++ = (uint8_t)(v >> (8 * i));
}
static void put_u64(writer *w, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        *w->p++ = (uint8_t)(v >> (8 * i));
}
static void put_f32s(writer *w, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &x[i], 4);
        put_u32(w, bits);
    }
}

static size_t saved_size(const sn_arch *arch, size_t n_params, sn_norm norm)
{
    size_t n = (size_t)arch->n_layers;
    return 4 + 4 + 4 + 4 * n + (n - 1) + 3 + 8 + 4 * n_params +
           (norm != SN_NORM_NONE ? 8 * (size_t)arch->sizes[0] : 0) + 4;
}

sn_status sn_net_save(const sn_net *net, uint8_t **buf, size_t *len, sn_error *err)
{
    const sn_arch *arch = &net->arch;
    size_t size = saved_size(arch, net->n_params, net->norm);
    *buf = malloc(size);
    if (!*buf)
        return sn_fail(err, SN_ERR_NOMEM, "out of memory for a %zu-byte model", size);
    writer w = {*buf};
    memcpy(w.p, MAGIC, 4), w.p += 4;
    put_u32(&w, FORMAT_VERSION);
    put_u32(&w, (uint32_t)arch->n_layers);
    for (int i = 0; i < arch->n_layers; i++)
        put_u32(&w, (uint32_t)arch->sizes[i]);
    for (int i = 0; i + 1 < arch->n_layers; i++)
        put_u8(&w, (uint8_t)arch->act[i]);
    put_u8(&w, (uint8_t)arch->loss);
    put_u8(&w, (uint8_t)net->norm);
    put_u8(&w, 0);
    put_u64(&w, net->n_params);
    put_f32s(&w, net->params, net->n_params);
    if (net->norm != SN_NORM_NONE) {
        put_f32s(&w, net->norm_shift, (size_t)arch->sizes[0]);
        put_f32s(&w, net->norm_scale, (size_t)arch->sizes[0]);
    }
    put_u32(&w, sn_crc32(*buf, size - 4));
    *len = size;
    return SN_OK;
}

/* ---- reading ---- */
typedef struct {
    const uint8_t *p, *end;
} reader;

static int have(const reader *r, size_t n) { return (size_t)(r->end - r->p) >= n; }
static uint8_t get_u8(reader *r) { return *r->p++; }
static uint32_t get_u32(reader *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)*r->p++ << (8 * i);
    return v;
}
static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)*r->p++ << (8 * i);
    return v;
}
static void get_f32s(reader *r, float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get_u32(r);
        memcpy(&x[i], &bits, 4);
    }
}

#define CORRUPT(...) sn_fail(err, SN_ERR_CORRUPT, "model data is corrupt: " __VA_ARGS__)

sn_status sn_net_load(const uint8_t *buf, size_t len, sn_net **out, sn_error *err)
{
    *out = NULL;
    reader r = {buf, buf + len};
    if (!buf || !have(&r, 12) || memcmp(buf, MAGIC, 4) != 0)
        return CORRUPT("not a scratchnet model");
    r.p += 4;
    uint32_t version = get_u32(&r);
    if (version != FORMAT_VERSION)
        return CORRUPT("format version %u is not supported (this build reads %u)", version,
                       FORMAT_VERSION);
    uint32_t n_layers = get_u32(&r);
    if (n_layers < 2 || n_layers > SN_MAX_LAYERS)
        return CORRUPT("%u layers", n_layers);
    if (!have(&r, 4 * (size_t)n_layers + n_layers - 1 + 3 + 8))
        return CORRUPT("truncated header");
    sn_arch arch = {.n_layers = (int)n_layers};
    for (uint32_t i = 0; i < n_layers; i++) {
        uint32_t size = get_u32(&r);
        if (size < 1 || size > SN_MAX_WIDTH)
            return CORRUPT("layer size %u", size);
        arch.sizes[i] = (int)size;
    }
    for (uint32_t i = 0; i + 1 < n_layers; i++)
        arch.act[i] = (sn_activation)get_u8(&r);
    arch.loss = (sn_loss)get_u8(&r);
    sn_norm norm = (sn_norm)get_u8(&r);
    if (get_u8(&r) != 0 || norm >= SN_NORM_COUNT)
        return CORRUPT("bad header flags");
    sn_error why;
    if (sn_arch_check(&arch, &why) != SN_OK)
        return CORRUPT("%s", why.message);
    uint64_t n_params = get_u64(&r);
    if (n_params != sn_arch_param_count(&arch))
        return CORRUPT("parameter count does not match the layers");
    size_t expect = saved_size(&arch, (size_t)n_params, norm);
    if (len != expect)
        return CORRUPT("%zu bytes where %zu were expected", len, expect);
    uint32_t crc = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
                   (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
    if (crc != sn_crc32(buf, len - 4))
        return CORRUPT("checksum mismatch");
    sn_net *net;
    sn_status st = sn_net_create(&arch, &net, err);
    if (st != SN_OK)
        return st;
    get_f32s(&r, net->params, net->n_params);
    net->norm = norm;
    if (norm != SN_NORM_NONE) {
        get_f32s(&r, net->norm_shift, (size_t)arch.sizes[0]);
        get_f32s(&r, net->norm_scale, (size_t)arch.sizes[0]);
    }
    if (!sn_all_finite(net->params, net->n_params) ||
        !sn_all_finite(net->norm_shift, 2 * (size_t)arch.sizes[0])) {
        sn_net_free(net);
        return CORRUPT("a parameter is NaN or infinite");
    }
    *out = net;
    return SN_OK;
}
