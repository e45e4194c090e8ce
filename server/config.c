/*
 * config.c — settings from flags and environment variables, driven by one
 * table (options[] below) so that parsing, --help and the start-up summary
 * cannot disagree.
 *
 * Failure: config_parse stops at the first bad value and returns a sentence
 * naming where it came from (the flag or the variable) and what is accepted.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef enum {
    OPT_PORT,    /* unsigned 0..65535 */
    OPT_COUNT,   /* unsigned min..max */
    OPT_SIZE,    /* byte count with optional K/M/G/T suffix */
    OPT_AMOUNT,  /* a 64-bit count with the same optional suffixes (1M = 2^20) */
    OPT_TEXT,    /* free text; empty allowed only when empty_ok */
    OPT_ADDR,    /* numeric IPv4 or IPv6 address */
    OPT_ORIGINS, /* "*" or a comma-separated list of origins */
} option_kind;

typedef struct {
    const char *flag;   /* "--port" */
    const char *env;    /* "SCRATCHNET_PORT", or NULL for flag-only settings */
    option_kind kind;
    size_t offset;      /* where in struct config */
    size_t size;        /* OPT_TEXT/ADDR/ORIGINS: buffer size */
    unsigned min, max;  /* OPT_COUNT: accepted range */
    bool empty_ok;      /* OPT_TEXT: "" is a meaningful value */
    const char *shown;  /* the default as --help shows it */
    const char *help;   /* one line for --help */
} option_def;

#define FIELD(f) .offset = offsetof(config, f)
#define TEXT(f) FIELD(f), .size = sizeof(((config *)0)->f)

static const option_def options[] = {
    {.flag = "--port", .env = "SCRATCHNET_PORT", .kind = OPT_PORT, FIELD(port),
     .shown = "8080", .help = "TCP port (0 = pick a free one and print it)"},
    {.flag = "--bind", .env = "SCRATCHNET_BIND", .kind = OPT_ADDR, TEXT(bind),
     .shown = "0.0.0.0", .help = "address to listen on (IPv4 or IPv6)"},
    {.flag = "--db", .env = "SCRATCHNET_DB", .kind = OPT_TEXT, TEXT(db),
     .shown = "scratchnet.db", .help = "SQLite database file"},
    {.flag = "--workers", .env = "SCRATCHNET_WORKERS", .kind = OPT_COUNT, FIELD(workers),
     .min = 1, .max = 1024, .shown = "1", .help = "training jobs run at once"},
    {.flag = "--threads", .env = "SCRATCHNET_THREADS", .kind = OPT_COUNT, FIELD(threads),
     .min = 1, .max = 1024, .shown = "all cores", .help = "compute threads per training job"},
    {.flag = "--api-key", .env = "SCRATCHNET_API_KEY", .kind = OPT_TEXT, TEXT(api_key),
     .empty_ok = true, .shown = "none", .help = "key required for changes (none: open)"},
    {.flag = "--cors-origins", .env = "SCRATCHNET_CORS_ORIGINS", .kind = OPT_ORIGINS,
     TEXT(cors_origins), .shown = "*", .help = "allowed origins, comma-separated, or *"},
    {.flag = "--max-body", .env = "SCRATCHNET_MAX_BODY", .kind = OPT_SIZE, FIELD(max_body),
     .shown = "16M", .help = "largest JSON body (bytes; K, M, G suffixes)"},
    {.flag = "--max-dataset", .env = "SCRATCHNET_MAX_DATASET", .kind = OPT_SIZE,
     FIELD(max_dataset), .shown = "1G", .help = "largest dataset upload (bytes; K, M, G suffixes)"},
    {.flag = "--max-params", .env = "SCRATCHNET_MAX_PARAMS", .kind = OPT_AMOUNT,
     FIELD(max_params), .shown = "32M",
     .help = "most parameters of a network to train (K, M, G suffixes)"},
    {.flag = "--max-work", .env = "SCRATCHNET_MAX_WORK", .kind = OPT_AMOUNT, FIELD(max_work),
     .shown = "1G", .help = "most epochs x training rows of one job (K, M, G suffixes)"},
    {.flag = "--http-threads", .env = "SCRATCHNET_HTTP_THREADS", .kind = OPT_COUNT,
     FIELD(http_threads), .min = 1, .max = 1024, .shown = "4", .help = "HTTP threads"},
    {.flag = "--queue", .env = "SCRATCHNET_QUEUE", .kind = OPT_COUNT, FIELD(queue), .min = 1,
     .max = 1000000, .shown = "64", .help = "training jobs queued at most"},
    {.flag = "--timeout", .env = "SCRATCHNET_TIMEOUT", .kind = OPT_COUNT, FIELD(timeout),
     .min = 1, .max = 86400, .shown = "60", .help = "seconds an idle connection is kept"},
    {.flag = "--max-connections", .env = "SCRATCHNET_MAX_CONNECTIONS", .kind = OPT_COUNT,
     FIELD(max_connections), .min = 1, .max = 1000000, .shown = "256",
     .help = "simultaneous connections at most"},
    {.flag = "--grace", .env = "SCRATCHNET_GRACE", .kind = OPT_COUNT, FIELD(grace), .min = 0,
     .max = 86400, .shown = "0",
     .help = "seconds running jobs may go on after SIGTERM before they are interrupted"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static const char *fail(config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->error, sizeof cfg->error, fmt, ap);
    va_end(ap);
    return cfg->error;
}

bool config_parse_size(const char *text, uint64_t *out)
{
    if (!text || !isdigit((unsigned char)text[0])) return false;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (errno) return false;
    unsigned shift = 0;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return false;
    }
    if (shift) {
        end++;
        /* "16M", "16MB", "16MiB" all mean 16 MiB. */
        if (strcasecmp(end, "") != 0 && strcasecmp(end, "B") != 0 && strcasecmp(end, "iB") != 0)
            return false;
    }
    if (n == 0 || n > (UINT64_MAX >> shift)) return false;
    *out = (uint64_t)n << shift;
    return true;
}

/* True when text is "*" or a list of origins like "https://a.example,http://b:8000". */
static bool origins_valid(const char *text)
{
    if (strcmp(text, "*") == 0) return true;
    const char *p = text;
    for (;;) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, ",");
        size_t trimmed = n;
        while (trimmed > 0 && p[trimmed - 1] == ' ') trimmed--;
        if (trimmed == 0) return false;
        bool scheme = false;
        for (size_t i = 0; i < trimmed; i++) {
            if (p[i] == '*' || isspace((unsigned char)p[i])) return false;
            if (i + 3 <= trimmed && memcmp(p + i, "://", 3) == 0) scheme = true;
        }
        if (!scheme) return false;
        if (p[n] == '\0') return true;
        p += n + 1;
    }
}

/* Parses an unsigned decimal in [min, max]; false for anything else. */
static bool parse_unsigned(const char *text, unsigned min, unsigned max, unsigned *out)
{
    if (!isdigit((unsigned char)text[0])) return false;
    errno = 0;
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = (unsigned)v;
    return true;
}

/* Stores one value; `source` names where it came from for the error sentence. */
static const char *option_set(config *cfg, const option_def *o, const char *source,
                              const char *value)
{
    char *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case OPT_PORT:
        if (!parse_unsigned(value, 0, 65535, (unsigned *)field))
            return fail(cfg, "%s: '%s' is not a port number (0 to 65535; 0 picks a free port)",
                        source, value);
        return NULL;
    case OPT_COUNT:
        if (!parse_unsigned(value, o->min, o->max, (unsigned *)field))
            return fail(cfg, "%s: '%s' is not a whole number from %u to %u", source, value,
                        o->min, o->max);
        return NULL;
    case OPT_SIZE:
        if (!config_parse_size(value, (uint64_t *)field))
            return fail(cfg, "%s: '%s' is not a size in bytes (e.g. 1048576, 512K, 16M, 1G)",
                        source, value);
        return NULL;
    case OPT_AMOUNT:
        if (!config_parse_size(value, (uint64_t *)field))
            return fail(cfg, "%s: '%s' is not a positive whole number (e.g. 1000000, 512K, 32M)",
                        source, value);
        return NULL;
    case OPT_ADDR: {
        unsigned char buf[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, value, buf) != 1 && inet_pton(AF_INET6, value, buf) != 1)
            return fail(cfg, "%s: '%s' is not a numeric IPv4 or IPv6 address", source, value);
        break;
    }
    case OPT_ORIGINS:
        if (!origins_valid(value))
            return fail(cfg,
                        "%s: '%s' is neither * nor a comma-separated list of origins "
                        "such as https://app.example.com",
                        source, value);
        break;
    case OPT_TEXT:
        if (!o->empty_ok && value[0] == '\0') return fail(cfg, "%s: must not be empty", source);
        break;
    }
    if (strlen(value) >= o->size)
        return fail(cfg, "%s: the value is too long (at most %zu characters)", source,
                    o->size - 1);
    memcpy(field, value, strlen(value) + 1);
    return NULL;
}

static void config_defaults(config *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *cfg = (config){
        .port = 8080,
        .bind = "0.0.0.0",
        .db = "scratchnet.db",
        .workers = 1,
        .threads = cores > 0 ? (unsigned)(cores < 1024 ? cores : 1024) : 1,
        .api_key = "",
        .cors_origins = "*",
        .max_body = 16u << 20,
        .max_dataset = 1u << 30,
        .max_params = 32u << 20,
        .max_work = 1u << 30,
        .http_threads = 4,
        .queue = 64,
        .timeout = 60,
        .max_connections = 256,
    };
}

static const option_def *option_find(const char *flag, size_t len)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strlen(options[i].flag) == len && strncmp(options[i].flag, flag, len) == 0)
            return &options[i];
    return NULL;
}

const char *config_parse(config *cfg, int argc, char *const argv[])
{
    config_defaults(cfg);
    const char *err;
    /* The environment first; an empty variable counts as unset. */
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const char *v = options[i].env ? getenv(options[i].env) : NULL;
        if (v && *v && (err = option_set(cfg, &options[i], options[i].env, v))) return err;
    }
    /* Then the flags, which win. */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cfg->help = true;
            return NULL;
        }
        const char *eq = strchr(arg, '=');
        size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
        const option_def *o = strncmp(arg, "--", 2) == 0 ? option_find(arg, len) : NULL;
        if (!o) return fail(cfg, "unknown argument '%s' (see --help)", arg);
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) return fail(cfg, "%s needs a value (see --help)", o->flag);
            value = argv[++i];
        }
        if ((err = option_set(cfg, o, o->flag, value))) return err;
    }
    return NULL;
}

void config_usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [options]\n"
            "Trains neural networks and serves predictions over HTTP.\n\n"
            "Every option can also be set by its environment variable; the flag wins.\n\n",
            program);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const option_def *o = &options[i];
        fprintf(out, "  %-18s %-27s %s (default: %s)\n", o->flag, o->env ? o->env : "",
                o->help, o->shown);
    }
    fprintf(out, "  %-18s %-27s %s\n", "--help", "", "print this help and exit");
}

void config_describe(const config *cfg, FILE *out)
{
    fprintf(out,
            "scratchnet config: port=%u bind=%s db=%s workers=%u threads=%u api-key=%s "
            "cors-origins=%s max-body=%" PRIu64 " max-dataset=%" PRIu64 " max-params=%" PRIu64
            " max-work=%" PRIu64 " http-threads=%u queue=%u timeout=%us max-connections=%u\n",
            cfg->port, cfg->bind, cfg->db, cfg->workers, cfg->threads,
            cfg->api_key[0] ? "set" : "none", cfg->cors_origins, cfg->max_body,
            cfg->max_dataset, cfg->max_params, cfg->max_work, cfg->http_threads, cfg->queue, cfg->timeout,
            cfg->max_connections);
}
