/*
 * fuzz_dataset_json.c — codec_dataset_upload (POST /dataset with a JSON
 * body). On success: a name, rows × n_inputs finite inputs, rows × n_targets
 * targets, a name for every column, and with labels, sorted distinct labels
 * and every target a class index below their count.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    char name[STORE_NAME_MAX + 1];
    csv_dataset d;
    api_error e = {0};
    if (codec_dataset_upload(body, size, name, &d, &e)) {
        FUZZ_CHECK(name[0] != '\0' && memchr(name, '\0', sizeof name));
        FUZZ_CHECK(d.rows >= 1 && d.n_inputs >= 1 && d.n_targets >= 1);
        fuzz_touch(d.inputs, d.rows * d.n_inputs);
        fuzz_touch(d.targets, d.rows * d.n_targets);
        for (size_t i = 0; i < d.rows * d.n_inputs; i++)
            FUZZ_CHECK(isfinite(d.inputs[i]));
        for (size_t i = 0; i < d.rows * d.n_targets; i++)
            FUZZ_CHECK(isfinite(d.targets[i]));
        for (size_t i = 0; i < d.n_inputs; i++)
            FUZZ_CHECK(d.input_names[i] != NULL);
        for (size_t i = 0; i < d.n_targets; i++)
            FUZZ_CHECK(d.target_names[i] != NULL);
        if (d.labels) {
            FUZZ_CHECK(d.n_targets == 1 && d.n_labels >= 1);
            for (size_t i = 0; i < d.n_labels; i++)
                FUZZ_CHECK(d.labels[i] != NULL);
            for (size_t i = 1; i < d.n_labels; i++)
                FUZZ_CHECK(strcmp(d.labels[i - 1], d.labels[i]) != 0);
            for (size_t r = 0; r < d.rows; r++)
                FUZZ_CHECK(d.targets[r] >= 0 && d.targets[r] < (float)d.n_labels &&
                           d.targets[r] == floorf(d.targets[r]));
        }
        char *text = codec_names_text(d.input_names, d.n_inputs);
        FUZZ_CHECK(text != NULL);
        free(text);
        csv_dataset_free(&d);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
