/*
 * fuzz_evaluate.c — codec_evaluate_request (POST /evaluate) and, for inline
 * rows, codec_evaluate_targets against a model chosen by the first byte (1–4
 * outputs; mse, binary_crossentropy or crossentropy; with or without the
 * labels "a", "b", "c"). On success the targets are rows × outputs finite
 * floats, and one-hot rows for class targets.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    char *body = fuzz_copy(data + 1, size - 1);
    if (!body)
        return 0;
    evaluate_request r;
    api_error e = {0};
    if (codec_evaluate_request(body, size - 1, &r, &e)) {
        FUZZ_CHECK(r.model[0] != '\0');
        if (r.dataset[0]) {
            FUZZ_CHECK(!r.inputs && r.rows == 0);
        } else {
            FUZZ_CHECK(r.rows >= 1 && r.width >= 1 && r.inputs);
            fuzz_touch(r.inputs, r.rows * r.width);
            int outputs = 1 + (mode & 3);
            sn_arch arch = {.n_layers = 2, .sizes = {(int)(r.width < 65536 ? r.width : 1), outputs}};
            switch ((mode >> 2) % 3) {
            case 0: arch.act[0] = SN_ACT_LINEAR, arch.loss = SN_LOSS_MSE; break;
            case 1: arch.act[0] = SN_ACT_SIGMOID, arch.loss = SN_LOSS_BCE; break;
            default: arch.act[0] = SN_ACT_SOFTMAX, arch.loss = SN_LOSS_CROSSENTROPY; break;
            }
            char a[] = "a", b[] = "b", c[] = "c";
            char *names[] = {a, b, c};
            label_set labels = {.names = (mode & 0x20) ? names : NULL, .count = (mode & 0x20) ? 3 : 0};
            float *y;
            api_error e2 = {0};
            if (codec_evaluate_targets(&r, &arch, &labels, &y, &e2)) {
                FUZZ_CHECK(y != NULL);
                fuzz_touch(y, r.rows * (size_t)outputs);
                for (size_t i = 0; i < r.rows * (size_t)outputs; i++)
                    FUZZ_CHECK(isfinite(y[i]));
                free(y);
            } else {
                FUZZ_CHECK_PROBLEM(e2);
            }
        }
        evaluate_request_free(&r);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
