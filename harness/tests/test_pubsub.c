/* Tests for pubsub: base64 decoding and Pub/Sub envelopes whose data becomes matchable JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "pubsub.h"

/* Decode text and compare with want (want_len bytes); want NULL means invalid. */
static void check_decode(const char *text, const char *want, size_t want_len)
{
    size_t len = 12345;
    unsigned char *got = pubsub_base64_decode(text, strlen(text), &len);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(len, want_len);
    assert_memory_equal(got, want, want_len);
    assert_int_equal(got[len], '\0');
    free(got);
}

static void test_base64_rfc4648_vectors(void **state)
{
    (void)state;
    check_decode("", "", 0);
    check_decode("Zg==", "f", 1);
    check_decode("Zm8=", "fo", 2);
    check_decode("Zm9v", "foo", 3);
    check_decode("Zm9vYg==", "foob", 4);
    check_decode("Zm9vYmE=", "fooba", 5);
    check_decode("Zm9vYmFy", "foobar", 6);
    check_decode("AP8+/w==", "\x00\xff\x3e\xff", 4);
}

static void test_base64_rejects_bad_text(void **state)
{
    (void)state;
    check_decode("Zg", NULL, 0);         /* length not a multiple of 4 */
    check_decode("Zg=a", NULL, 0);       /* '=' then data */
    check_decode("Z===", NULL, 0);       /* too much padding */
    check_decode("Zg==Zm9v", NULL, 0);   /* padding before the end */
    check_decode("Zm9*", NULL, 0);       /* outside the alphabet */
    check_decode("Zm9 ", NULL, 0);       /* white space */
    check_decode("Zm9v-_==", NULL, 0);   /* base64url is not accepted */
}

/* The envelope the broker publishes for {"type":"depot_arrival","depot":"depot-north"}. */
static json_t *arrival_envelope(void)
{
    const char *text = "{\"data\":\"eyJ0eXBlIjoiZGVwb3RfYXJyaXZhbCIsImRlcG90IjoiZGVwb3Qtbm9ydGgifQ==\","
                       "\"attributes\":{\"deviceId\":\"bus-1\",\"subFolder\":\"depot-arrived\"},"
                       "\"publishTimeMs\":1}";
    json_t *env = json_loads(text, 0, NULL);
    assert_non_null(env);
    return env;
}

static void test_envelope_json_data_is_parsed(void **state)
{
    (void)state;
    json_t *env = arrival_envelope();
    assert_int_equal(pubsub_decode_envelope(env), 0);
    json_t *data = json_object_get(env, "data");
    assert_true(json_is_object(data));
    assert_string_equal(json_string_value(json_object_get(data, "type")), "depot_arrival");
    assert_string_equal(json_string_value(json_object_get(data, "depot")), "depot-north");
    assert_string_equal(json_string_value(json_object_get(env, "data_base64")),
                        "eyJ0eXBlIjoiZGVwb3RfYXJyaXZhbCIsImRlcG90IjoiZGVwb3Qtbm9ydGgifQ==");
    assert_string_equal(json_string_value(json_object_get(json_object_get(env, "attributes"), "deviceId")), "bus-1");
    json_decref(env);
}

static void test_decoded_envelope_matches_scenario_predicates(void **state)
{
    (void)state;
    json_t *env = arrival_envelope();
    json_t *match = json_loads("{\"attributes.deviceId\":\"bus-1\",\"attributes.subFolder\":\"depot-arrived\","
                               "\"data.type\":\"depot_arrival\",\"data.depot\":\"depot-north\"}", 0, NULL);
    assert_non_null(match);
    struct expect_match m;
    struct expect_error err;
    assert_int_equal(expect_match_parse(match, &m, &err), 0);
    char why[256];
    assert_false(expect_match_eval(&m, env, why, sizeof why));
    assert_int_equal(pubsub_decode_envelope(env), 0);
    assert_true(expect_match_eval(&m, env, why, sizeof why));
    expect_match_free(&m);
    json_decref(match);
    json_decref(env);
}

static void test_envelope_text_and_scalar_data(void **state)
{
    (void)state;
    json_t *env = json_pack("{s:s}", "data", "aGVsbG8gYnVz"); /* "hello bus": not JSON, stays text */
    assert_int_equal(pubsub_decode_envelope(env), 0);
    assert_string_equal(json_string_value(json_object_get(env, "data")), "hello bus");
    json_decref(env);
    env = json_pack("{s:s}", "data", "NDI="); /* "42": a JSON number */
    assert_int_equal(pubsub_decode_envelope(env), 0);
    assert_int_equal(json_integer_value(json_object_get(env, "data")), 42);
    json_decref(env);
}

static void test_envelope_left_alone_when_undecodable(void **state)
{
    (void)state;
    json_t *env = json_pack("{s:s}", "data", "not base64!");
    assert_int_equal(pubsub_decode_envelope(env), -1);
    assert_string_equal(json_string_value(json_object_get(env, "data")), "not base64!");
    assert_null(json_object_get(env, "data_base64"));
    json_decref(env);
    env = json_pack("{s:s}", "data", "gP8="); /* bytes 0x80 0xff: neither JSON nor UTF-8 */
    assert_int_equal(pubsub_decode_envelope(env), -1);
    assert_string_equal(json_string_value(json_object_get(env, "data")), "gP8=");
    json_decref(env);
    env = json_pack("{s:i}", "data", 7);
    assert_int_equal(pubsub_decode_envelope(env), -1);
    json_decref(env);
    assert_int_equal(pubsub_decode_envelope(NULL), -1);
    json_t *array = json_array();
    assert_int_equal(pubsub_decode_envelope(array), -1);
    json_decref(array);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_rfc4648_vectors),
        cmocka_unit_test(test_base64_rejects_bad_text),
        cmocka_unit_test(test_envelope_json_data_is_parsed),
        cmocka_unit_test(test_decoded_envelope_matches_scenario_predicates),
        cmocka_unit_test(test_envelope_text_and_scalar_data),
        cmocka_unit_test(test_envelope_left_alone_when_undecodable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
