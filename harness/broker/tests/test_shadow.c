/* Unit tests of the classic Device Shadow document logic (harness/broker/shadow.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shadow.h"

#define NOW 1800000000

/* Run an update of text on *doc; keep the new stored document in *doc. */
static void update(json_t **doc, const char *text, struct shadow_reply *r)
{
    shadow_update(*doc, text, strlen(text), NOW, r);
    if (r->stored) {
        json_decref(*doc);
        *doc = json_incref(r->stored);
    }
}

static void assert_json(const json_t *value, const char *expected)
{
    json_t *want = json_loads(expected, 0, NULL);
    assert_non_null(want);
    if (!json_equal((json_t *)value, want)) {
        char *got = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got %s, want %s", got ? got : "NULL", expected);
    }
    json_decref(want);
}

static int64_t code_of(const struct shadow_reply *r)
{
    assert_non_null(r->rejected);
    return json_integer_value(json_object_get(r->rejected, "code"));
}

static void test_update_creates_and_echoes(void **state)
{
    json_t *doc = NULL;
    struct shadow_reply r;
    update(&doc, "{\"state\":{\"reported\":{\"speed\":10}},\"clientToken\":\"t1\"}", &r);
    assert_null(r.rejected);
    assert_json(r.accepted, "{\"state\":{\"reported\":{\"speed\":10}},\"metadata\":{\"reported\":{\"speed\":"
                            "{\"timestamp\":1800000000}}},\"version\":1,\"timestamp\":1800000000,\"clientToken\":\"t1\"}");
    assert_null(r.delta); /* no desired */
    assert_non_null(json_object_get(r.documents, "current"));
    assert_null(json_object_get(r.documents, "previous"));
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"reported\":{\"door\":\"open\"}}}", &r);
    assert_json(json_object_get(json_object_get(r.documents, "previous"), "state"), "{\"reported\":{\"speed\":10}}");
    assert_json(json_object_get(doc, "state"), "{\"reported\":{\"speed\":10,\"door\":\"open\"}}");
    assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
    shadow_reply_clear(&r);
    json_decref(doc);
}

static void test_delta_has_only_differing_desired_keys(void **state)
{
    json_t *doc = NULL;
    struct shadow_reply r;
    update(&doc, "{\"state\":{\"reported\":{\"a\":1,\"only_reported\":2,\"n\":{\"x\":1,\"y\":2}}}}", &r);
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"desired\":{\"a\":1,\"b\":[1,2],\"n\":{\"x\":1,\"y\":3}}}}", &r);
    assert_json(json_object_get(r.delta, "state"), "{\"b\":[1,2],\"n\":{\"y\":3}}");
    assert_json(json_object_get(r.delta, "metadata"),
                "{\"b\":{\"timestamp\":1800000000},\"n\":{\"y\":{\"timestamp\":1800000000}}}");
    shadow_reply_clear(&r);
    /* a reported-only update sends no delta */
    update(&doc, "{\"state\":{\"reported\":{\"b\":[1,2]}}}", &r);
    assert_null(r.delta);
    shadow_reply_clear(&r);
    shadow_get(doc, "bus-1", "", 0, NOW, &r);
    assert_json(json_object_get(json_object_get(r.accepted, "state"), "delta"), "{\"n\":{\"y\":3}}");
    shadow_reply_clear(&r);
    json_decref(doc);
}

static void test_null_deletes_keys_and_sections(void **state)
{
    json_t *doc = NULL;
    struct shadow_reply r;
    update(&doc, "{\"state\":{\"desired\":{\"a\":1,\"b\":2},\"reported\":{\"a\":1}}}", &r);
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"desired\":{\"b\":null}}}", &r);
    assert_json(json_object_get(doc, "state"), "{\"desired\":{\"a\":1},\"reported\":{\"a\":1}}");
    assert_json(json_object_get(doc, "metadata"),
                "{\"desired\":{\"a\":{\"timestamp\":1800000000}},\"reported\":{\"a\":{\"timestamp\":1800000000}}}");
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"desired\":null}}", &r);
    assert_json(json_object_get(doc, "state"), "{\"reported\":{\"a\":1}}");
    shadow_reply_clear(&r);
    json_decref(doc);
}

static void test_versions_and_conflicts(void **state)
{
    json_t *doc = NULL;
    struct shadow_reply r;
    update(&doc, "{\"state\":{\"reported\":{\"a\":1}}}", &r);
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"reported\":{\"a\":2}},\"version\":5,\"clientToken\":\"c\"}", &r);
    assert_int_equal(code_of(&r), 409);
    assert_string_equal(json_string_value(json_object_get(r.rejected, "message")), "Version conflict");
    assert_string_equal(json_string_value(json_object_get(r.rejected, "clientToken")), "c");
    assert_null(r.stored);
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"reported\":{\"a\":2}},\"version\":1}", &r);
    assert_null(r.rejected);
    assert_int_equal(json_integer_value(json_object_get(r.accepted, "version")), 2);
    shadow_reply_clear(&r);
    json_decref(doc);
}

static void expect_rejected(const char *text, int code)
{
    struct shadow_reply r;
    shadow_update(NULL, text, strlen(text), NOW, &r);
    assert_int_equal(code_of(&r), code);
    assert_null(r.accepted);
    shadow_reply_clear(&r);
}

static void test_bad_requests_are_rejected(void **state)
{
    expect_rejected("not json", 400);
    expect_rejected("{}", 400);
    expect_rejected("{\"state\":1}", 400);
    expect_rejected("{\"state\":{\"other\":{}}}", 400);
    expect_rejected("{\"state\":{\"desired\":5}}", 400);
    expect_rejected("{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":1}}}}}}}}}", 400);
    expect_rejected("{\"state\":{\"desired\":{}},\"clientToken\":"
                    "\"01234567890123456789012345678901234567890123456789012345678901234\"}", 400);
    expect_rejected("{\"state\":{\"desired\":{}},\"version\":\"x\"}", 400);
    char big[9000];
    snprintf(big, sizeof big, "{\"state\":{\"desired\":{\"k\":\"%08190d\"}}}", 0);
    expect_rejected(big, 413);
    /* six levels are fine */
    struct shadow_reply r;
    const char *six = "{\"state\":{\"desired\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":1}}}}}}}}";
    shadow_update(NULL, six, strlen(six), NOW, &r);
    assert_null(r.rejected);
    shadow_reply_clear(&r);
}

static void test_get_and_delete(void **state)
{
    json_t *doc = NULL;
    struct shadow_reply r;
    shadow_get(NULL, "bus-1", "", 0, NOW, &r);
    assert_int_equal(code_of(&r), 404);
    assert_string_equal(json_string_value(json_object_get(r.rejected, "message")), "No shadow exists with name: 'bus-1'");
    shadow_reply_clear(&r);
    update(&doc, "{\"state\":{\"reported\":{\"a\":1}}}", &r);
    shadow_reply_clear(&r);
    shadow_delete(doc, "bus-1", "{\"clientToken\":\"d\"}", 19, NOW, &r);
    assert_json(r.accepted, "{\"version\":1,\"timestamp\":1800000000,\"clientToken\":\"d\"}");
    json_decref(doc);
    doc = json_incref(r.stored);
    shadow_reply_clear(&r);
    shadow_get(doc, "bus-1", "", 0, NOW, &r);
    assert_int_equal(code_of(&r), 404);
    shadow_reply_clear(&r);
    shadow_delete(doc, "bus-1", "", 0, NOW, &r);
    assert_int_equal(code_of(&r), 404);
    shadow_reply_clear(&r);
    /* the version carries on after a delete */
    update(&doc, "{\"state\":{\"reported\":{\"a\":1}}}", &r);
    assert_int_equal(json_integer_value(json_object_get(r.accepted, "version")), 2);
    assert_null(json_object_get(r.documents, "previous"));
    shadow_reply_clear(&r);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_update_creates_and_echoes),
        cmocka_unit_test(test_delta_has_only_differing_desired_keys),
        cmocka_unit_test(test_null_deletes_keys_and_sections),
        cmocka_unit_test(test_versions_and_conflicts),
        cmocka_unit_test(test_bad_requests_are_rejected),
        cmocka_unit_test(test_get_and_delete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
