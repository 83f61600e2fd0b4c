/*
 * test_fw_json.c - the JSON writer (exact output, escaping, misuse, buffer
 * limits) and the strict reader (valid, invalid and oversized documents,
 * look-ups, number and string conversions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fw_json.h"

/* ---- writer -------------------------------------------------------------- */

static void test_writer_event(void **state)
{
    char buf[256];
    struct fw_json_writer w;
    size_t len;
    fw_json_writer_init(&w, buf, sizeof(buf));
    fw_json_object_begin(&w);
    fw_json_key(&w, "type");
    fw_json_string(&w, "speed", 5);
    fw_json_key(&w, "bus");
    fw_json_string(&w, "bus-1", 5);
    fw_json_key(&w, "ts");
    fw_json_int(&w, 1700000000);
    fw_json_key(&w, "speed_kmh");
    fw_json_fixed(&w, 725, 1);
    fw_json_key(&w, "lat");
    fw_json_fixed(&w, 37123456, 6);
    fw_json_key(&w, "lon");
    fw_json_fixed(&w, -122000001, 6);
    fw_json_key(&w, "ok");
    fw_json_bool(&w, true);
    fw_json_key(&w, "n");
    fw_json_null(&w);
    fw_json_key(&w, "list");
    fw_json_array_begin(&w);
    fw_json_int(&w, 1);
    fw_json_int(&w, -2);
    fw_json_string(&w, "x", 1);
    fw_json_object_begin(&w);
    fw_json_object_end(&w);
    fw_json_array_end(&w);
    fw_json_object_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_OK);
    assert_string_equal(buf, "{\"type\":\"speed\",\"bus\":\"bus-1\",\"ts\":1700000000,"
                             "\"speed_kmh\":72.5,\"lat\":37.123456,\"lon\":-122.000001,"
                             "\"ok\":true,\"n\":null,\"list\":[1,-2,\"x\",{}]}");
    assert_int_equal(len, strlen(buf));
}

static void test_writer_escapes_and_numbers(void **state)
{
    static const char raw[] = "a\"b\\c\nd\x01\t\xc3\xa9";
    char buf[128];
    struct fw_json_writer w;
    size_t len;
    fw_json_writer_init(&w, buf, sizeof(buf));
    fw_json_array_begin(&w);
    fw_json_string(&w, raw, sizeof(raw) - 1);
    fw_json_fixed(&w, -5, 2);
    fw_json_fixed(&w, -5, 1);
    fw_json_fixed(&w, 0, 3);
    fw_json_fixed(&w, 42, 0);
    fw_json_int(&w, INT64_MIN);
    fw_json_int(&w, INT64_MAX);
    fw_json_array_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_OK);
    assert_string_equal(buf, "[\"a\\\"b\\\\c\\nd\\u0001\\t\xc3\xa9\",-0.05,-0.5,0.000,42,"
                             "-9223372036854775808,9223372036854775807]");
}

static void test_writer_no_space(void **state)
{
    char buf[16];
    struct fw_json_writer w;
    size_t len;
    memset(buf, 'Z', sizeof(buf));
    fw_json_writer_init(&w, buf, sizeof(buf));
    fw_json_object_begin(&w);
    fw_json_key(&w, "long-key");
    fw_json_string(&w, "a long value", 12);
    fw_json_object_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_NO_SPACE);
    assert_non_null(memchr(buf, '\0', sizeof(buf)));
    /* what is there is a prefix of the full text */
    assert_int_equal(strncmp(buf, "{\"long-key\":\"a long value\"}", strlen(buf)), 0);
    assert_int_equal(strlen(buf), sizeof(buf) - 1);
}

static void test_writer_misuse(void **state)
{
    char buf[64];
    struct fw_json_writer w;
    size_t len;
    int i;

    fw_json_writer_init(&w, buf, sizeof(buf)); /* value without a key */
    fw_json_object_begin(&w);
    fw_json_int(&w, 1);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* key inside an array */
    fw_json_array_begin(&w);
    fw_json_key(&w, "k");
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* unclosed */
    fw_json_array_begin(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* closed with the wrong bracket */
    fw_json_array_begin(&w);
    fw_json_object_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* key without a value */
    fw_json_object_begin(&w);
    fw_json_key(&w, "k");
    fw_json_object_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* two roots */
    fw_json_int(&w, 1);
    fw_json_int(&w, 2);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf)); /* nothing */
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);

    fw_json_writer_init(&w, buf, sizeof(buf));
    for (i = 0; i < (int)FW_JSON_MAX_DEPTH + 1; i++)
        fw_json_array_begin(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_TOO_DEEP);

    fw_json_writer_init(&w, buf, sizeof(buf));
    fw_json_fixed(&w, 1, 10);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_BAD_ARG);
}

/* ---- reader -------------------------------------------------------------- */

static const char config_text[] =
    " {\"speed_threshold_kmh\": 50.5, \"depot\": \"Depot \\\"North\\\"\", \"route\": \"42\",\n"
    "  \"report_interval_s\": 30, \"enabled\": true, \"quiet\": false,\n"
    "  \"stops\": [{\"lat\": 1.5}, {\"lat\": -2, \"x\": [[], {}]}, 3e2],\n"
    "  \"name\": \"\\u00e9\\ud83d\\ude00\\/\\n\", \"k\\u0065y\": null } ";

static void parse_config(struct fw_json_doc *doc, struct fw_json_token *tokens, size_t cap)
{
    size_t off;
    assert_int_equal(fw_json_parse(config_text, sizeof(config_text) - 1, tokens, cap, doc, &off),
                     FW_JSON_OK);
}

static void test_reader_lookups(void **state)
{
    struct fw_json_token tokens[64];
    struct fw_json_doc doc;
    size_t v, stops, s1, lat, len;
    int64_t i;
    bool b;
    char text[32];

    parse_config(&doc, tokens, 64);
    assert_int_equal(tokens[0].type, FW_JSON_OBJECT);
    assert_int_equal(tokens[0].size, 9);
    assert_int_equal(fw_json_object_get(&doc, 0, "speed_threshold_kmh", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_fixed(&doc, v, 1, &i), FW_JSON_OK);
    assert_int_equal(i, 505);
    assert_int_equal(fw_json_get_fixed(&doc, v, 3, &i), FW_JSON_OK);
    assert_int_equal(i, 50500);
    assert_int_equal(fw_json_get_fixed(&doc, v, 0, &i), FW_JSON_RANGE);
    assert_int_equal(fw_json_get_int(&doc, v, 0, 1000, &i), FW_JSON_WRONG_TYPE);
    assert_int_equal(fw_json_object_get(&doc, 0, "depot", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_string(&doc, v, text, sizeof(text), &len), FW_JSON_OK);
    assert_string_equal(text, "Depot \"North\"");
    assert_int_equal(len, 13);
    assert_int_equal(fw_json_get_string(&doc, v, text, 13, &len), FW_JSON_NO_SPACE);
    assert_int_equal(fw_json_object_get(&doc, 0, "report_interval_s", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_int(&doc, v, 1, 3600, &i), FW_JSON_OK);
    assert_int_equal(i, 30);
    assert_int_equal(fw_json_get_int(&doc, v, 60, 3600, &i), FW_JSON_RANGE);
    assert_int_equal(fw_json_get_string(&doc, v, text, sizeof(text), &len), FW_JSON_WRONG_TYPE);
    assert_int_equal(fw_json_object_get(&doc, 0, "enabled", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_bool(&doc, v, &b), FW_JSON_OK);
    assert_true(b);
    assert_int_equal(fw_json_object_get(&doc, 0, "quiet", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_bool(&doc, v, &b), FW_JSON_OK);
    assert_false(b);
    /* nested: skipping over sub-trees */
    assert_int_equal(fw_json_object_get(&doc, 0, "stops", &stops), FW_JSON_OK);
    assert_int_equal(tokens[stops].size, 3);
    assert_int_equal(fw_json_array_get(&doc, stops, 1, &s1), FW_JSON_OK);
    assert_int_equal(fw_json_object_get(&doc, s1, "lat", &lat), FW_JSON_OK);
    assert_int_equal(fw_json_get_int(&doc, lat, -10, 10, &i), FW_JSON_OK);
    assert_int_equal(i, -2);
    assert_int_equal(fw_json_array_get(&doc, stops, 2, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_fixed(&doc, v, 2, &i), FW_JSON_RANGE); /* exponent */
    assert_int_equal(fw_json_array_get(&doc, stops, 3, &v), FW_JSON_NOT_FOUND);
    assert_int_equal(fw_json_array_get(&doc, 0, 0, &v), FW_JSON_WRONG_TYPE);
    /* escapes, surrogate pairs; keys compared after unescaping */
    assert_int_equal(fw_json_object_get(&doc, 0, "name", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_string(&doc, v, text, sizeof(text), &len), FW_JSON_OK);
    assert_string_equal(text, "\xc3\xa9\xf0\x9f\x98\x80/\n");
    assert_int_equal(fw_json_object_get(&doc, 0, "key", &v), FW_JSON_OK);
    assert_int_equal(tokens[v].type, FW_JSON_NULL);
    assert_int_equal(fw_json_object_get(&doc, 0, "missing", &v), FW_JSON_NOT_FOUND);
    assert_int_equal(fw_json_object_get(&doc, 0, "ke", &v), FW_JSON_NOT_FOUND);
    assert_int_equal(fw_json_object_get(&doc, stops, "x", &v), FW_JSON_WRONG_TYPE);
    assert_int_equal(fw_json_object_get(&doc, 999, "x", &v), FW_JSON_BAD_ARG);
}

static void test_reader_numbers(void **state)
{
    static const char text[] = "[0,-0,9223372036854775807,-9223372036854775808,"
                               "9223372036854775808,1.250,-0.001,12.3456]";
    struct fw_json_token tokens[16];
    struct fw_json_doc doc;
    size_t v;
    int64_t i;
    assert_int_equal(fw_json_parse(text, sizeof(text) - 1, tokens, 16, &doc, NULL), FW_JSON_OK);
    assert_int_equal(fw_json_array_get(&doc, 0, 2, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_int(&doc, v, INT64_MIN, INT64_MAX, &i), FW_JSON_OK);
    assert_true(i == INT64_MAX);
    assert_int_equal(fw_json_array_get(&doc, 0, 3, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_int(&doc, v, INT64_MIN, INT64_MAX, &i), FW_JSON_OK);
    assert_true(i == INT64_MIN);
    assert_int_equal(fw_json_array_get(&doc, 0, 4, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_int(&doc, v, INT64_MIN, INT64_MAX, &i), FW_JSON_RANGE);
    assert_int_equal(fw_json_array_get(&doc, 0, 5, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_fixed(&doc, v, 2, &i), FW_JSON_OK); /* trailing zero ok */
    assert_int_equal(i, 125);
    assert_int_equal(fw_json_array_get(&doc, 0, 6, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_fixed(&doc, v, 3, &i), FW_JSON_OK);
    assert_int_equal(i, -1);
    assert_int_equal(fw_json_array_get(&doc, 0, 7, &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_fixed(&doc, v, 3, &i), FW_JSON_RANGE);
    assert_int_equal(fw_json_get_fixed(&doc, v, 6, &i), FW_JSON_OK);
    assert_int_equal(i, 12345600);
}

struct bad_case {
    const char *text;
    size_t len;
    enum fw_json_status want;
    size_t offset;
};

#define BAD(lit, status, off) {lit, sizeof(lit) - 1, status, off}

static void test_reader_rejects_invalid(void **state)
{
    static const struct bad_case cases[] = {
        BAD("", FW_JSON_SYNTAX, 0),
        BAD("   ", FW_JSON_SYNTAX, 3),
        BAD("{", FW_JSON_SYNTAX, 1),
        BAD("{\"a\":1,}", FW_JSON_SYNTAX, 7),
        BAD("[1,]", FW_JSON_SYNTAX, 3),
        BAD("[01]", FW_JSON_SYNTAX, 2),
        BAD("[1.]", FW_JSON_SYNTAX, 3),
        BAD("[-]", FW_JSON_SYNTAX, 2),
        BAD("[.5]", FW_JSON_SYNTAX, 1),
        BAD("[+1]", FW_JSON_SYNTAX, 1),
        BAD("[1e]", FW_JSON_SYNTAX, 3),
        BAD("\"\\x\"", FW_JSON_SYNTAX, 2),
        BAD("\"a\x01\"", FW_JSON_SYNTAX, 2),
        BAD("\"\\u12G4\"", FW_JSON_SYNTAX, 2),
        BAD("\"\\ud800\"", FW_JSON_SYNTAX, 7),
        BAD("\"\\ud800\\u0041\"", FW_JSON_SYNTAX, 7),
        BAD("\"\\udc00\"", FW_JSON_SYNTAX, 7),
        BAD("\"\xc3\x28\"", FW_JSON_SYNTAX, 1),
        BAD("\"\xc0\xaf\"", FW_JSON_SYNTAX, 1),
        BAD("\"\xed\xa0\x80\"", FW_JSON_SYNTAX, 1),
        BAD("\"\xf4\x90\x80\x80\"", FW_JSON_SYNTAX, 1),
        BAD("\"\xe2\x82\"", FW_JSON_SYNTAX, 1),
        BAD("\"abc", FW_JSON_SYNTAX, 4),
        BAD("[1] x", FW_JSON_SYNTAX, 4),
        BAD("{\"a\" 1}", FW_JSON_SYNTAX, 5),
        BAD("{1:2}", FW_JSON_SYNTAX, 1),
        BAD("tru", FW_JSON_SYNTAX, 0),
        BAD("nul", FW_JSON_SYNTAX, 0),
        BAD("[true false]", FW_JSON_SYNTAX, 6),
        BAD("[1,\x00]", FW_JSON_SYNTAX, 3),
        BAD("[[[[[[[[[1]]]]]]]]]", FW_JSON_TOO_DEEP, 8),
    };
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fw_json_token tokens[32];
        struct fw_json_doc doc;
        size_t off = 999;
        enum fw_json_status st = fw_json_parse(cases[i].text, cases[i].len, tokens, 32, &doc, &off);
        if (st != cases[i].want || off != cases[i].offset)
            fail_msg("case %zu: got %s at %zu, want %s at %zu", i, fw_json_status_str(st), off,
                     fw_json_status_str(cases[i].want), cases[i].offset);
    }
}

/* more values than tokens: the document is rejected, nothing overruns */
static void test_reader_oversized(void **state)
{
    struct fw_json_token tokens[9];
    struct fw_json_doc doc;
    size_t off;
    static const char text[] = "[1,2,3,4,5,6,7,8]";
    memset(tokens, 0xAB, sizeof(tokens));
    assert_int_equal(fw_json_parse(text, sizeof(text) - 1, tokens, 8, &doc, &off), FW_JSON_NO_SPACE);
    assert_int_equal(off, 15);
    assert_int_equal(fw_json_parse(text, sizeof(text) - 2, tokens, 8, &doc, &off), FW_JSON_NO_SPACE);
    assert_int_equal(fw_json_parse(text, sizeof(text) - 2, tokens, 9, &doc, &off), FW_JSON_SYNTAX);
    assert_int_equal(fw_json_parse(text, sizeof(text) - 1, tokens, 9, &doc, &off), FW_JSON_OK);
    assert_int_equal(doc.count, 9);
    assert_int_equal(fw_json_parse(NULL, 0, tokens, 8, &doc, &off), FW_JSON_BAD_ARG);
}

static void test_round_trip(void **state)
{
    char buf[128], out[64];
    struct fw_json_writer w;
    struct fw_json_token tokens[16];
    struct fw_json_doc doc;
    size_t len, v;
    static const char tricky[] = "q\"\\\x1f\xe2\x82\xac";
    fw_json_writer_init(&w, buf, sizeof(buf));
    fw_json_object_begin(&w);
    fw_json_key(&w, "we\"ird");
    fw_json_string(&w, tricky, sizeof(tricky) - 1);
    fw_json_object_end(&w);
    assert_int_equal(fw_json_writer_finish(&w, &len), FW_JSON_OK);
    assert_int_equal(fw_json_parse(buf, len, tokens, 16, &doc, NULL), FW_JSON_OK);
    assert_int_equal(fw_json_object_get(&doc, 0, "we\"ird", &v), FW_JSON_OK);
    assert_int_equal(fw_json_get_string(&doc, v, out, sizeof(out), &len), FW_JSON_OK);
    assert_int_equal(len, sizeof(tricky) - 1);
    assert_memory_equal(out, tricky, len);
}

static void test_status_strings(void **state)
{
    int s;
    for (s = FW_JSON_OK; s <= FW_JSON_RANGE; s++)
        assert_string_not_equal(fw_json_status_str((enum fw_json_status)s), "unknown status");
    assert_string_equal(fw_json_status_str((enum fw_json_status)77), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_event),
        cmocka_unit_test(test_writer_escapes_and_numbers),
        cmocka_unit_test(test_writer_no_space),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_reader_lookups),
        cmocka_unit_test(test_reader_numbers),
        cmocka_unit_test(test_reader_rejects_invalid),
        cmocka_unit_test(test_reader_oversized),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests_name("fw_json", tests, NULL, NULL);
}
