/*
 * fuzz_predict.c — codec_predict_request (POST /predict and TF Serving's
 * :predict). The first byte chooses whether the model comes from the path
 * (as on /v1/models/{name}:predict); the rest is the body. On success the
 * inputs are rows × width finite floats and a single row is one row.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *from_path = (data[0] & 1) ? "gender" : NULL;
    char *body = fuzz_copy(data + 1, size - 1);
    if (!body)
        return 0;
    predict_request r;
    api_error e = {0};
    if (codec_predict_request(body, size - 1, from_path, &r, &e)) {
        FUZZ_CHECK(r.model[0] != '\0' && memchr(r.model, '\0', sizeof r.model));
        FUZZ_CHECK(memchr(r.version, '\0', sizeof r.version));
        FUZZ_CHECK(r.rows >= 1 && r.width >= 1 && r.inputs);
        FUZZ_CHECK(!r.single || r.rows == 1);
        fuzz_touch(r.inputs, r.rows * r.width);
        for (size_t i = 0; i < r.rows * r.width; i++)
            FUZZ_CHECK(isfinite(r.inputs[i]));
        if (from_path)
            FUZZ_CHECK(strcmp(r.model, "gender") == 0);
        predict_request_free(&r);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
