/*
 * fuzz_predict.c — codec_predict_request (POST /predict and TF Serving's
 * :predict). The first byte chooses whether the model comes from the path
 * (as on /v1/models/{name}:predict); the rest is the body. On success the
 * inputs are rows × width finite floats and a single row is one row; then
 * codec_predict_answer writes them back as if they were the outputs (with
 * labels that need escaping when the second bit is set), and the text must
 * be JSON of the promised shape. Wherever the quick reader takes a body, the
 * full cJSON reader must take it too and give the same request, bit for bit.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

static void check_answer(const predict_request *r, bool classes)
{
    static char *names[] = {"a \"quoted\" \\ label", "tab\tnew\nline\x01", "caf\xc3\xa9"};
    label_set labels = {.names = names, .count = 3};
    predict_answer a = {.model = r->tf_style ? NULL : r->model, .version = 7, .y = r->inputs,
                        .rows = r->rows, .outs = r->width, .single = r->single,
                        .tf_style = r->tf_style, .classes = classes && !r->tf_style, .labels = &labels};
    size_t len = 0;
    char *text = codec_predict_answer(&a, &len);
    if (!text)
        return;
    FUZZ_CHECK(strlen(text) == len);
    cJSON *j = cJSON_ParseWithLength(text, len);
    FUZZ_CHECK(j != NULL);
    cJSON *out = cJSON_GetObjectItem(j, r->tf_style ? "predictions" : "outputs");
    FUZZ_CHECK(cJSON_GetArraySize(out) == (int)(r->single ? r->width : r->rows));
    cJSON *l = cJSON_GetObjectItem(j, "labels");
    FUZZ_CHECK((l != NULL) == a.classes);
    if (l && !r->single)
        FUZZ_CHECK(cJSON_GetArraySize(l) == (int)r->rows);
    cJSON_Delete(j);
    free(text);
}

static void check_quick_agrees(const char *body, size_t len, const char *from_path)
{
    predict_request q, t;
    if (!codec_predict_quick(body, len, from_path, &q))
        return;
    api_error e = {0};
    FUZZ_CHECK(codec_predict_tree(body, len, from_path, &t, &e));
    FUZZ_CHECK(strcmp(q.model, t.model) == 0 && strcmp(q.version, t.version) == 0);
    FUZZ_CHECK(q.rows == t.rows && q.width == t.width && q.single == t.single && q.tf_style == t.tf_style);
    FUZZ_CHECK(memcmp(q.inputs, t.inputs, q.rows * q.width * sizeof(float)) == 0);
    predict_request_free(&q);
    predict_request_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *from_path = (data[0] & 1) ? "gender" : NULL;
    char *body = fuzz_copy(data + 1, size - 1);
    if (!body)
        return 0;
    check_quick_agrees(body, size - 1, from_path);
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
        check_answer(&r, (data[0] & 2) != 0);
        predict_request_free(&r);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
