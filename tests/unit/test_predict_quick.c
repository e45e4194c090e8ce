/*
 * test_predict_quick.c — /predict's quick reader (server/codec_predict_quick.c)
 * against the full cJSON reader it stands in front of. Wherever the quick one
 * takes a body, both must give the same request, every float bit for bit; the
 * usual shapes must be taken (or the quick path is dead code), and everything
 * outside its strict part of JSON must be declined and left to the full
 * reader. Numbers get their own loops: random decimal texts of every length
 * and exponent, read both ways, and json_number_value's double against
 * strtod's, bit for bit.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "json_number.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SAMPLES (RUNNING_ON_VALGRIND ? 3000 : 300000)
#else
#define SAMPLES 300000
#endif

/* Reads body both ways; returns whether the quick reader took it, after
 * checking that the full reader then gives the very same request. */
static bool quick_agrees(const char *body, const char *model_from_path)
{
    predict_request q, t;
    if (!codec_predict_quick(body, strlen(body), model_from_path, &q)) {
        ck_assert_ptr_null(q.inputs);
        return false;
    }
    api_error e = {0};
    ck_assert_msg(codec_predict_tree(body, strlen(body), model_from_path, &t, &e),
                  "quick took %s, the full reader refused it: %s", body, e.detail);
    ck_assert_str_eq(q.model, t.model);
    ck_assert_str_eq(q.version, t.version);
    ck_assert_uint_eq(q.rows, t.rows);
    ck_assert_uint_eq(q.width, t.width);
    ck_assert_int_eq(q.single, t.single);
    ck_assert_int_eq(q.tf_style, t.tf_style);
    ck_assert_msg(memcmp(q.inputs, t.inputs, q.rows * q.width * sizeof(float)) == 0,
                  "%s: the two readers give different floats", body);
    predict_request_free(&q);
    predict_request_free(&t);
    return true;
}

START_TEST(usual_bodies_are_taken)
{
    static const char *const taken[] = {
        "{\"model\":\"gender\",\"inputs\":[[-7,-3]]}",
        "{\"model\":\"gender\",\"inputs\":[[-7,-3],[20,2],[0.5,1e-3]]}",
        "{\"model\":\"gender\",\"inputs\":[-7,-3]}",
        " {\r\n \"inputs\" : [ [ 1 , 2 ] , [ 3 , 4 ] ] ,\t\"model\" : \"m.v-2_x\" } \n",
        "{\"model\":\"m\",\"version\":3,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":2147483647,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":\"prod\",\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":\"latest\",\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"instances\":[[1,2]]}",
        "{\"model\":\"m\",\"inputs\":[[-0,0,-0.0,0e5,1E+2,2.5e-3,123456789012345,1234567890123456789]]}",
        "{\"model\":\"m\",\"inputs\":[[3.4e38,-3.4e38,1e-46,0.30000000000000004,9007199254740993]]}",
    };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        ck_assert_msg(quick_agrees(taken[i], NULL), "quick declined %s", taken[i]);
    ck_assert(quick_agrees("{\"instances\":[[1,2]]}", "gender"));
    ck_assert(quick_agrees("{\"inputs\":[1,2],\"version\":7}", "gender"));
}
END_TEST

START_TEST(everything_else_is_declined)
{
    static const char *const declined[] = {
        "", "{}", "[]", "{\"model\":\"m\"}", "{\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"inputs\":[[1]]} x", "{\"model\":\"m\",\"inputs\":[[1]]}}",
        "{\"model\":\"m\",\"inputs\":[[1]],}", "{\"model\":\"m\",\"inputs\":[[1],]}",
        "{\"model\":\"m\",\"inputs\":[[1,]]}", "{\"model\":\"m\",\"inputs\":[[1]]",
        "{\"model\":\"m\" \"inputs\":[[1]]}", "{\"model\":\"m\",\"inputs\":[[1] [2]]}",
        "\xef\xbb\xbf{\"model\":\"m\",\"inputs\":[[1]]}", "\v{\"model\":\"m\",\"inputs\":[[1]]}",
        /* strings: escapes, control characters, names the store refuses */
        "{\"model\":\"m\\u0031\",\"inputs\":[[1]]}", "{\"mod\\u0065l\":\"m\",\"inputs\":[[1]]}",
        "{\"model\":\"a\tb\",\"inputs\":[[1]]}", "{\"model\":\"a b\",\"inputs\":[[1]]}",
        "{\"model\":\"../x\",\"inputs\":[[1]]}", "{\"model\":\"\",\"inputs\":[[1]]}",
        "{\"model\":\"_m\",\"inputs\":[[1]]}", "{\"model\":7,\"inputs\":[[1]]}",
        "{\"model\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"inputs\":[[1]]}",
        /* fields: repeated, unknown, both kinds of rows */
        "{\"model\":\"m\",\"model\":\"m\",\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"inputs\":[[1]],\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"inputs\":[[1]],\"instances\":[[1]]}",
        "{\"model\":\"m\",\"inputs\":[[1]],\"signature_name\":\"x\"}",
        "{\"model\":\"m\",\"inputs\":[[1]],\"extra\":1}",
        /* versions */
        "{\"model\":\"m\",\"version\":0,\"inputs\":[[1]]}", "{\"model\":\"m\",\"version\":-1,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":2147483648,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":1.0,\"inputs\":[[1]]}", "{\"model\":\"m\",\"version\":1e0,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":03,\"inputs\":[[1]]}", "{\"model\":\"m\",\"version\":null,\"inputs\":[[1]]}",
        "{\"model\":\"m\",\"version\":\"..\",\"inputs\":[[1]]}",
        /* rows */
        "{\"model\":\"m\",\"inputs\":[]}", "{\"model\":\"m\",\"inputs\":[[]]}",
        "{\"model\":\"m\",\"inputs\":[[1,2],[3]]}", "{\"model\":\"m\",\"inputs\":[[1],2]}",
        "{\"model\":\"m\",\"inputs\":[1,[2]]}", "{\"model\":\"m\",\"inputs\":[[[1]]]}",
        "{\"model\":\"m\",\"inputs\":\"1\"}", "{\"model\":\"m\",\"inputs\":[[\"1\"]]}",
        "{\"model\":\"m\",\"inputs\":[[true]]}", "{\"model\":\"m\",\"inputs\":[[null]]}",
        /* numbers outside JSON's grammar, or outside float32 */
        "{\"model\":\"m\",\"inputs\":[[+1]]}", "{\"model\":\"m\",\"inputs\":[[.5]]}",
        "{\"model\":\"m\",\"inputs\":[[1.]]}", "{\"model\":\"m\",\"inputs\":[[01]]}",
        "{\"model\":\"m\",\"inputs\":[[-]]}", "{\"model\":\"m\",\"inputs\":[[1e]]}",
        "{\"model\":\"m\",\"inputs\":[[1e+]]}", "{\"model\":\"m\",\"inputs\":[[1-2]]}",
        "{\"model\":\"m\",\"inputs\":[[0x10]]}", "{\"model\":\"m\",\"inputs\":[[NaN]]}",
        "{\"model\":\"m\",\"inputs\":[[Infinity]]}", "{\"model\":\"m\",\"inputs\":[[1e39]]}",
        "{\"model\":\"m\",\"inputs\":[[-3.5e38]]}", "{\"model\":\"m\",\"inputs\":[[1e400]]}",
        "{\"model\":\"m\",\"inputs\":[[1.000000000000000000000000000000000000000000000000000000000000001]]}",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++)
        ck_assert_msg(!quick_agrees(declined[i], NULL), "quick took %s", declined[i]);
    /* With the model in the path, a "model" in the body is the full reader's. */
    ck_assert(!quick_agrees("{\"model\":\"x\",\"instances\":[[1]]}", "gender"));
    /* A NUL inside the body. */
    predict_request q;
    static const char nul[] = "{\"model\":\"m\0\",\"inputs\":[[1]]}";
    ck_assert(!codec_predict_quick(nul, sizeof nul - 1, NULL, &q));
}
END_TEST

/* A random number in JSON's grammar: 1 to 25 digits, perhaps a fraction,
 * perhaps an exponent (mostly near the fast path's edges: ±22). */
static unsigned next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(*s >> 33);
}

static void random_number(uint64_t *s, char *out)
{
    char *o = out;
    if (next(s) % 2)
        *o++ = '-';
    int whole = 1 + (int)(next(s) % 17);
    *o++ = next(s) % 8 ? (char)('1' + next(s) % 9) : '0';
    if (o[-1] != '0')
        for (int i = 1; i < whole; i++)
            *o++ = (char)('0' + next(s) % 10);
    if (next(s) % 2) {
        *o++ = '.';
        for (int i = 0, n = 1 + (int)(next(s) % 12); i < n; i++)
            *o++ = (char)('0' + next(s) % 10);
    }
    if (next(s) % 2) {
        char e = next(s) % 2 ? 'e' : 'E';
        o += sprintf(o, "%c%d", e, (int)(next(s) % 61) - 30);
    }
    *o = '\0';
}

START_TEST(numbers_read_as_cjson_reads_them)
{
    uint64_t seed = 20261205u + (uint64_t)_i;
    int taken = 0;
    for (int i = 0; i < SAMPLES; i++) {
        char number[48], body[96];
        random_number(&seed, number);
        snprintf(body, sizeof body, "{\"model\":\"m\",\"inputs\":[[%s]]}", number);
        taken += quick_agrees(body, NULL);
    }
    /* Only values beyond float32's range are declined. */
    ck_assert_int_gt(taken, SAMPLES * 3 / 4);
}
END_TEST

START_TEST(json_number_value_is_strtod)
{
    static const char *const chosen[] = {
        "0", "-0", "0.0", "-0e0", "1", "-1", "0.1", "0.3", "1e22", "1e23", "-1e-22", "1e-23",
        "123456789012345", "1234567890123456", "999999999999999e22", "999999999999999e-22",
        "9007199254740992", "9007199254740993", "4.9e-324", "2.2250738585072014e-308",
        "1.7976931348623157e308", "1e309", "1e-400", "0.000000000000000000000000001",
        "100000000000000000000000", "1E+2", "2.5e-3", "3.4028235e38", "1e0999", "1e1000"};
    for (size_t i = 0; i < sizeof chosen / sizeof chosen[0]; i++) {
        double got = json_number_value(chosen[i]), want = strtod(chosen[i], NULL);
        ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "%s: %a, strtod %a", chosen[i], got, want);
    }
    uint64_t seed = 7 + (uint64_t)_i;
    for (int i = 0; i < SAMPLES; i++) {
        char number[48];
        random_number(&seed, number);
        double got = json_number_value(number), want = strtod(number, NULL);
        ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "%s: %a, strtod %a", number, got, want);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("predict_quick");
    TCase *tc = tcase_create("predict_quick");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, usual_bodies_are_taken);
    tcase_add_test(tc, everything_else_is_declined);
    tcase_add_loop_test(tc, numbers_read_as_cjson_reads_them, 0, 2);
    tcase_add_loop_test(tc, json_number_value_is_strtod, 0, 2);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
