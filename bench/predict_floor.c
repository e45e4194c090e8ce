/*
 * predict_floor.c — the floor of the HTTP stack for the /predict benchmark:
 * a bare libmicrohttpd server, configured as scratchnet's daemon is (internal
 * epoll thread pool), that reads each POST body and answers fixed bytes (the
 * real server's /predict answer: its body and its headers). No routing, no
 * JSON, no model: whatever scratchnet adds on top shows as the gap between
 * the two.
 *
 *   predict_floor PORT THREADS 'RESPONSE BODY' ['Name: value' …]
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char **headers; /* "Name: value", the answer's headers besides Content-Length and Date */
static int n_headers;

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *data, size_t *size, void **state)
{
    (void)url, (void)method, (void)version, (void)data;
    static int marker;
    if (*state == NULL) { /* first call: headers only */
        *state = &marker;
        return MHD_YES;
    }
    if (*size) { /* a piece of the body: drop it */
        *size = 0;
        return MHD_YES;
    }
    const char *body = cls;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    for (int i = 0; i < n_headers; i++) {
        char name[128];
        size_t n = strcspn(headers[i], ":");
        snprintf(name, sizeof name, "%.*s", (int)n, headers[i]);
        MHD_add_response_header(r, name, headers[i] + n + 1 + strspn(headers[i] + n + 1, " "));
    }
    enum MHD_Result ok = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: predict_floor PORT THREADS BODY ['Name: value' ...]\n");
        return 2;
    }
    headers = argv + 4;
    n_headers = argc - 4;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)atoi(argv[1]), NULL, NULL, answer, argv[3],
        MHD_OPTION_THREAD_POOL_SIZE, atoi(argv[2]) > 1 ? (unsigned)atoi(argv[2]) : 0u, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "predict_floor: cannot listen on %s\n", argv[1]);
        return 1;
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
