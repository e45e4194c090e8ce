/*
 * fuzz_train.c — codec_train_request (POST /train bodies). On success the
 * architecture passes sn_arch_check, inline data has rows × inputs inputs and
 * rows × outputs targets (all finite), and the stored spec can be written.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    train_request r;
    api_error e = {0};
    if (codec_train_request(body, size, 42, &r, &e)) {
        FUZZ_CHECK(sn_arch_check(&r.arch, NULL) == SN_OK);
        FUZZ_CHECK(r.train.epochs >= 1 && r.train.batch_size >= 1);
        FUZZ_CHECK(sn_optimizer_check(&r.train.optimizer, NULL) == SN_OK);
        FUZZ_CHECK(memchr(r.model, '\0', sizeof r.model) && memchr(r.dataset, '\0', sizeof r.dataset));
        if (r.dataset[0] == '\0') {
            size_t in = (size_t)r.arch.sizes[0], out = (size_t)r.arch.sizes[r.arch.n_layers - 1];
            FUZZ_CHECK(r.rows >= 1 && r.inputs && r.targets);
            fuzz_touch(r.inputs, r.rows * in);
            fuzz_touch(r.targets, r.rows * out);
            for (size_t i = 0; i < r.rows * in; i++)
                FUZZ_CHECK(isfinite(r.inputs[i]));
            for (size_t i = 0; i < r.rows * out; i++)
                FUZZ_CHECK(isfinite(r.targets[i]));
        } else {
            FUZZ_CHECK(!r.inputs && !r.targets);
        }
        for (size_t i = 0; i < r.labels.count; i++)
            FUZZ_CHECK(r.labels.names[i] != NULL);
        char *spec = codec_spec_text(&r, r.rows);
        FUZZ_CHECK(spec != NULL);
        label_set back = {0};
        FUZZ_CHECK(codec_spec_labels(spec, &back));
        FUZZ_CHECK(back.count == r.labels.count);
        for (size_t i = 0; i < back.count; i++)
            FUZZ_CHECK(strcmp(back.names[i], r.labels.names[i]) == 0);
        label_set_free(&back);
        free(spec);
        train_request_free(&r);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
