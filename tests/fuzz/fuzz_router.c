/*
 * fuzz_router.c — http_route_match against every pattern of the route table
 * (server/routes.c).
 *
 * Two checks per input:
 *  1. The input as a path, against every pattern. A match has one capture
 *     per "{…}" of the pattern, each non-empty, inside the path, free of '/'
 *     and ':', named as in the pattern; and the pattern with its captures
 *     substituted gives the path back exactly.
 *  2. The input cut at NUL bytes into capture values, with '/' and ':'
 *     dropped; for every pattern, the path built from them must match and
 *     give back exactly those values.
 */
#include "fuzz.h"
#include "handlers.h"
#include "http.h"

static size_t count_captures(const char *pattern)
{
    size_t n = 0;
    for (const char *p = pattern; *p; p++)
        n += *p == '{';
    return n;
}

/* The pattern with each {…} replaced by the capture's value, into out. */
static bool substitute(const char *pattern, const http_captures *c, char *out, size_t cap)
{
    size_t used = 0, k = 0;
    for (const char *p = pattern; *p;) {
        const char *piece = p;
        size_t n = 1;
        if (*p == '{') {
            FUZZ_CHECK(k < c->n);
            piece = c->cap[k].value, n = c->cap[k].len, k++;
            p = strchr(p, '}') + 1;
        } else {
            p++;
        }
        if (used + n >= cap)
            return false;
        memcpy(out + used, piece, n);
        used += n;
    }
    out[used] = '\0';
    FUZZ_CHECK(k == c->n);
    return true;
}

static void check_match(const http_route *r, const char *path, size_t path_len, const http_captures *c)
{
    FUZZ_CHECK(c->n == count_captures(r->pattern) && c->n <= HTTP_MAX_CAPTURES);
    for (size_t i = 0; i < c->n; i++) {
        const http_capture_span *s = &c->cap[i];
        FUZZ_CHECK(s->len >= 1 && s->value >= path && s->value + s->len <= path + path_len);
        FUZZ_CHECK(!memchr(s->value, '/', s->len) && !memchr(s->value, ':', s->len));
        FUZZ_CHECK(s->name >= r->pattern && s->name[-1] == '{' && s->name[s->name_len] == '}');
    }
    char *back = malloc(path_len + 1);
    FUZZ_CHECK(back && substitute(r->pattern, c, back, path_len + 1));
    FUZZ_CHECK(strcmp(back, path) == 0);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    /* 1. the input as a path (up to its first NUL, as the server sees it) */
    char *path = malloc(size + 1);
    FUZZ_CHECK(path != NULL);
    memcpy(path, data, size);
    path[size] = '\0';
    size_t path_len = strlen(path);
    for (size_t i = 0; i < routes_count; i++) {
        http_captures c;
        if (http_route_match(routes[i].pattern, path, &c))
            check_match(&routes[i], path, path_len, &c);
    }
    free(path);

    /* 2. capture values from the input, put into every pattern */
    char values[HTTP_MAX_CAPTURES][64];
    size_t n_values = 0, at = 0;
    for (size_t k = 0; k < HTTP_MAX_CAPTURES; k++) {
        size_t len = 0;
        while (at < size && data[at] != '\0') {
            if (data[at] != '/' && data[at] != ':' && len < sizeof values[k] - 1)
                values[k][len++] = (char)data[at];
            at++;
        }
        at++;
        values[k][len] = '\0';
        if (len == 0)
            break;
        n_values++;
    }
    for (size_t i = 0; i < routes_count; i++) {
        const char *pattern = routes[i].pattern;
        if (count_captures(pattern) > n_values)
            continue;
        http_captures want = {.n = count_captures(pattern)};
        for (size_t k = 0; k < want.n; k++)
            want.cap[k].value = values[k], want.cap[k].len = strlen(values[k]);
        char built[512];
        FUZZ_CHECK(substitute(pattern, &want, built, sizeof built));
        http_captures got;
        FUZZ_CHECK(http_route_match(pattern, built, &got));
        check_match(&routes[i], built, strlen(built), &got);
        for (size_t k = 0; k < want.n; k++)
            FUZZ_CHECK(got.cap[k].len == want.cap[k].len &&
                       memcmp(got.cap[k].value, want.cap[k].value, got.cap[k].len) == 0);
    }
    return 0;
}
