/*
 * fuzz_import.c — codec_version_import (POST /model/{name}/versions). On
 * success the network is valid and finite, it saves and loads back, and the
 * spec is JSON.
 */
#include <math.h>

#include "codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = fuzz_copy(data, size);
    if (!body)
        return 0;
    version_import v;
    api_error e = {0};
    if (codec_version_import(body, size, &v, &e)) {
        FUZZ_CHECK(v.net && v.spec_text);
        FUZZ_CHECK(sn_arch_check(sn_net_arch(v.net), NULL) == SN_OK);
        size_t n;
        const float *p = sn_net_params_const(v.net, &n);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isfinite(p[i]));
        uint8_t *blob;
        size_t len;
        FUZZ_CHECK(sn_net_save(v.net, &blob, &len, NULL) == SN_OK);
        sn_net *back;
        FUZZ_CHECK(sn_net_load(blob, len, &back, NULL) == SN_OK);
        sn_net_free(back);
        free(blob);
        cJSON *spec = cJSON_Parse(v.spec_text);
        FUZZ_CHECK(spec != NULL);
        cJSON_Delete(spec);
        FUZZ_CHECK(v.epochs_run >= 0 && v.rows >= 0 && v.duration_ms >= 0);
        version_import_free(&v);
    } else {
        FUZZ_CHECK_PROBLEM(e);
    }
    free(body);
    return 0;
}
