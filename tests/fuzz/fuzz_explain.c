/*
 * fuzz_explain.c — codec_explain_request (POST /explain). On success there is
 * one finite input row, and exactly one kind of target (a row, a number or a
 * label) or none.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    explain_request r;
    api_error e = {0};
    if (codec_explain_request(body, size, &r, &e)) {
        FUZZ_CHECK(r.model[0] != '\0' && memchr(r.model, '\0', sizeof r.model));
        FUZZ_CHECK(memchr(r.version, '\0', sizeof r.version));
        FUZZ_CHECK(r.width >= 1 && r.inputs);
        fuzz_touch(r.inputs, r.width);
        for (size_t i = 0; i < r.width; i++)
            FUZZ_CHECK(isfinite(r.inputs[i]));
        int kinds = (r.targets != NULL) + r.target_is_number + (r.target_label != NULL);
        FUZZ_CHECK(kinds <= 1);
        if (r.targets) {
            fuzz_touch(r.targets, r.n_targets);
            for (size_t i = 0; i < r.n_targets; i++)
                FUZZ_CHECK(isfinite(r.targets[i]));
        }
        if (r.target_is_number)
            FUZZ_CHECK(isfinite(r.target_number));
        explain_request_free(&r);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
