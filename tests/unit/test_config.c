/*
 * test_config.c — settings parsing: defaults, flags in both spellings,
 * environment variables, the flag winning over the variable, size suffixes,
 * and a clear sentence for every kind of bad value.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* Every variable config.c reads, cleared before each test. */
static const char *const ENV_NAMES[] = {
    "SCRATCHNET_PORT",         "SCRATCHNET_BIND",         "SCRATCHNET_DB",
    "SCRATCHNET_WORKERS",      "SCRATCHNET_THREADS",      "SCRATCHNET_API_KEY",
    "SCRATCHNET_CORS_ORIGINS", "SCRATCHNET_MAX_BODY",     "SCRATCHNET_MAX_DATASET",
    "SCRATCHNET_HTTP_THREADS", "SCRATCHNET_QUEUE",        "SCRATCHNET_TIMEOUT",
    "SCRATCHNET_MAX_CONNECTIONS", "SCRATCHNET_MAX_PARAMS",  "SCRATCHNET_MAX_WORK",
};

static void env_clear(void)
{
    for (size_t i = 0; i < sizeof ENV_NAMES / sizeof ENV_NAMES[0]; i++) unsetenv(ENV_NAMES[i]);
}

/* Parses a NULL-terminated argument list (argv[0] added). */
static const char *parse(config *cfg, const char *const *args)
{
    char *argv[32] = {"scratchnet"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++) argv[argc] = (char *)args[argc - 1];
    return config_parse(cfg, argc, argv);
}

/* Asserts that parsing fails with a sentence containing `part`. */
static void expect_error(const char *const *args, const char *part)
{
    config cfg;
    const char *err = parse(&cfg, args);
    ck_assert_msg(err != NULL, "expected an error mentioning '%s'", part);
    ck_assert_msg(strstr(err, part) != NULL, "error '%s' does not mention '%s'", err, part);
}

START_TEST(defaults)
{
    config cfg;
    ck_assert_ptr_null(parse(&cfg, NULL));
    ck_assert_uint_eq(cfg.port, 8080);
    ck_assert_str_eq(cfg.bind, "0.0.0.0");
    ck_assert_str_eq(cfg.db, "scratchnet.db");
    ck_assert_uint_eq(cfg.workers, 1);
    ck_assert_uint_ge(cfg.threads, 1);
    ck_assert_str_eq(cfg.api_key, "");
    ck_assert_str_eq(cfg.cors_origins, "*");
    ck_assert_uint_eq(cfg.max_body, 16u << 20);
    ck_assert_uint_eq(cfg.max_dataset, 1u << 30);
    ck_assert_uint_eq(cfg.max_params, 32u << 20);
    ck_assert_uint_eq(cfg.max_work, 1u << 30);
    ck_assert_uint_eq(cfg.http_threads, 4);
    ck_assert_uint_eq(cfg.queue, 64);
    ck_assert_uint_eq(cfg.timeout, 60);
    ck_assert_uint_eq(cfg.max_connections, 256);
    ck_assert(!cfg.help);
}
END_TEST

START_TEST(flags_both_spellings)
{
    config cfg;
    const char *args[] = {"--port", "0",          "--bind=127.0.0.1", "--db",
                          "/tmp/x.db", "--workers=3", "--threads", "2",
                          "--api-key", "s3cret",   "--cors-origins", "https://a.example, http://b:8000",
                          "--max-body=1K", "--max-dataset", "2G", "--http-threads=8",
                          "--queue", "5", "--timeout=7", "--max-connections", "9",
                          "--max-params", "1000", "--max-work=4M", NULL};
    const char *err = parse(&cfg, args);
    ck_assert_msg(err == NULL, "%s", err);
    ck_assert_uint_eq(cfg.port, 0);
    ck_assert_str_eq(cfg.bind, "127.0.0.1");
    ck_assert_str_eq(cfg.db, "/tmp/x.db");
    ck_assert_uint_eq(cfg.workers, 3);
    ck_assert_uint_eq(cfg.threads, 2);
    ck_assert_str_eq(cfg.api_key, "s3cret");
    ck_assert_str_eq(cfg.cors_origins, "https://a.example, http://b:8000");
    ck_assert_uint_eq(cfg.max_body, 1024);
    ck_assert_uint_eq(cfg.max_dataset, 2ull << 30);
    ck_assert_uint_eq(cfg.http_threads, 8);
    ck_assert_uint_eq(cfg.queue, 5);
    ck_assert_uint_eq(cfg.timeout, 7);
    ck_assert_uint_eq(cfg.max_connections, 9);
    ck_assert_uint_eq(cfg.max_params, 1000);
    ck_assert_uint_eq(cfg.max_work, 4u << 20);
}
END_TEST

START_TEST(environment_and_precedence)
{
    setenv("SCRATCHNET_PORT", "9000", 1);
    setenv("SCRATCHNET_DB", "env.db", 1);
    setenv("SCRATCHNET_API_KEY", "from-env", 1);
    setenv("SCRATCHNET_MAX_BODY", "2M", 1);
    setenv("SCRATCHNET_WORKERS", "", 1); /* empty counts as unset */
    config cfg;
    ck_assert_ptr_null(parse(&cfg, NULL));
    ck_assert_uint_eq(cfg.port, 9000);
    ck_assert_str_eq(cfg.db, "env.db");
    ck_assert_str_eq(cfg.api_key, "from-env");
    ck_assert_uint_eq(cfg.max_body, 2u << 20);
    ck_assert_uint_eq(cfg.workers, 1);

    const char *args[] = {"--port", "9001", "--db=flag.db", NULL};
    ck_assert_ptr_null(parse(&cfg, args));
    ck_assert_uint_eq(cfg.port, 9001);       /* the flag wins */
    ck_assert_str_eq(cfg.db, "flag.db");
    ck_assert_str_eq(cfg.api_key, "from-env"); /* untouched by flags: the variable stays */

    /* A bad variable is named as the variable. */
    setenv("SCRATCHNET_TIMEOUT", "soon", 1);
    expect_error(NULL, "SCRATCHNET_TIMEOUT");
}
END_TEST

START_TEST(sizes)
{
    uint64_t v = 0;
    ck_assert(config_parse_size("1048576", &v) && v == 1048576);
    ck_assert(config_parse_size("512K", &v) && v == 512u << 10);
    ck_assert(config_parse_size("16m", &v) && v == 16u << 20);
    ck_assert(config_parse_size("16MiB", &v) && v == 16u << 20);
    ck_assert(config_parse_size("1GB", &v) && v == 1u << 30);
    ck_assert(config_parse_size("2T", &v) && v == 2ull << 40);
    v = 7;
    ck_assert(!config_parse_size("", &v));
    ck_assert(!config_parse_size("0", &v));
    ck_assert(!config_parse_size("-1", &v));
    ck_assert(!config_parse_size("16X", &v));
    ck_assert(!config_parse_size("16MX", &v));
    ck_assert(!config_parse_size("M", &v));
    ck_assert(!config_parse_size("99999999999999999999", &v));
    ck_assert(!config_parse_size("17179869184G", &v)); /* 2^34 GiB overflows 64 bits */
    ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(bad_values)
{
    expect_error((const char *[]){"--port", "65536", NULL}, "--port");
    expect_error((const char *[]){"--port", "http", NULL}, "not a port number");
    expect_error((const char *[]){"--port", "-1", NULL}, "--port");
    expect_error((const char *[]){"--bind", "localhost", NULL}, "IPv4 or IPv6");
    expect_error((const char *[]){"--workers", "0", NULL}, "from 1 to");
    expect_error((const char *[]){"--threads", "2x", NULL}, "--threads");
    expect_error((const char *[]){"--max-body", "lots", NULL}, "size in bytes");
    expect_error((const char *[]){"--max-params", "0", NULL}, "--max-params");
    expect_error((const char *[]){"--max-work", "many", NULL}, "positive whole number");
    expect_error((const char *[]){"--cors-origins", "example.com", NULL}, "origins");
    expect_error((const char *[]){"--cors-origins", "https://a,,https://b", NULL}, "origins");
    expect_error((const char *[]){"--cors-origins", "*,https://a", NULL}, "origins");
    expect_error((const char *[]){"--db", "", NULL}, "must not be empty");
    expect_error((const char *[]){"--frobnicate", NULL}, "unknown argument '--frobnicate'");
    expect_error((const char *[]){"serve", NULL}, "unknown argument 'serve'");
    expect_error((const char *[]){"--port", NULL}, "--port needs a value");
}
END_TEST

START_TEST(help_flag)
{
    config cfg;
    ck_assert_ptr_null(parse(&cfg, (const char *[]){"--port", "1", "--help", NULL}));
    ck_assert(cfg.help);
    ck_assert_ptr_null(parse(&cfg, (const char *[]){"-h", NULL}));
    ck_assert(cfg.help);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_usage(f, "scratchnet");
    fclose(f);
    const char *expected[] = {"--port", "SCRATCHNET_PORT", "8080", "--max-body", "16M",
                              "--cors-origins", "--http-threads", "--queue", "--timeout",
                              "--max-connections", "SCRATCHNET_API_KEY", "--max-params",
                              "SCRATCHNET_MAX_WORK", "--help"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        ck_assert_msg(strstr(text, expected[i]), "--help lacks %s", expected[i]);
    free(text);
}
END_TEST

START_TEST(describe_hides_key)
{
    config cfg;
    ck_assert_ptr_null(parse(&cfg, (const char *[]){"--api-key", "topsecret", NULL}));
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    config_describe(&cfg, f);
    fclose(f);
    ck_assert_ptr_null(strstr(text, "topsecret"));
    ck_assert_ptr_nonnull(strstr(text, "api-key=set"));
    free(text);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("parse");
    tcase_add_checked_fixture(tc, env_clear, env_clear);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, flags_both_spellings);
    tcase_add_test(tc, environment_and_precedence);
    tcase_add_test(tc, sizes);
    tcase_add_test(tc, bad_values);
    tcase_add_test(tc, help_flag);
    tcase_add_test(tc, describe_hides_key);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
