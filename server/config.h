/*
 * config.h — the server's settings, from command-line flags and environment
 * variables (a flag wins over its variable, a variable over the default).
 *
 * One table in config.c lists every setting once: its flag, its variable, its
 * default and its help line; parsing, --help and the start-up summary are all
 * driven by it. config_parse never prints and never exits: it returns a
 * sentence and main decides (exit code 2).
 */
#ifndef SCRATCHNET_CONFIG_H
#define SCRATCHNET_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_TEXT_MAX 4096 /* longest text setting (db path, origin list), NUL included */

typedef struct config {
    unsigned port;                     /* TCP port; 0 = let the kernel pick one */
    char bind[64];                     /* numeric IPv4 or IPv6 address to listen on */
    char db[CONFIG_TEXT_MAX];          /* SQLite database file */
    unsigned workers;                  /* training jobs run at once (>= 1) */
    unsigned threads;                  /* compute threads per training job (>= 1) */
    char api_key[256];                 /* "" = no key: every route is open */
    char cors_origins[CONFIG_TEXT_MAX];/* "*" or a comma-separated list of origins */
    uint64_t max_body;                 /* largest buffered (JSON) request body, bytes */
    uint64_t max_dataset;              /* largest streamed dataset upload, bytes */
    uint64_t max_params;               /* most parameters (W and b) of a network to train */
    uint64_t max_work;                 /* most epochs × training rows of one job */
    unsigned http_threads;             /* libmicrohttpd thread-pool size (>= 1) */
    unsigned queue;                    /* training jobs queued at most (>= 1) */
    unsigned timeout;                  /* idle seconds before a connection is closed (>= 1) */
    unsigned max_connections;          /* simultaneous connections at most (>= 1) */
    unsigned grace;                    /* seconds running jobs may finish on SIGTERM */
    bool help;                         /* --help was given: print config_usage, exit 0 */
    char error[CONFIG_TEXT_MAX + 128]; /* the sentence config_parse returns on failure */
} config;

/* Fills *cfg with the defaults, then the environment (getenv), then argv
 * (argv[0] is the program name; "--flag value" and "--flag=value" are both
 * accepted). Returns NULL on success, or a sentence naming the bad setting
 * and its value (pointing into cfg->error; *cfg is then only partly filled
 * and must not be used). Sets cfg->help and stops early on --help / -h. */
const char *config_parse(config *cfg, int argc, char *const argv[]);

/* Writes the --help text: every flag with its variable and default. */
void config_usage(FILE *out, const char *program);

/* Writes the settings in force on one line, saying only whether an API key
 * is set, never the key. */
void config_describe(const config *cfg, FILE *out);

/* Parses a byte count: a plain number or one with a binary suffix K, M, G or
 * T (optionally followed by "iB" or "B", any case): "16M" = 16 MiB.
 * Returns false (leaving *out alone) for anything else, zero, or overflow. */
bool config_parse_size(const char *text, uint64_t *out);

#endif
