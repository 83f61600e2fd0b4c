/* Tests for expect: predicate parsing (and its errors) and evaluation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "expect.h"

static const char *const message =
    "{\"type\":\"location\",\"bus\":\"bus-1\",\"speed_kmh\":42.5,\"count\":3,"
    "\"position\":{\"lat\":50.4501,\"lon\":30.5234},\"tags\":[\"a\",\"b\"],"
    "\"chunks\":[{\"index\":0,\"of\":2},{\"index\":1,\"of\":2}],\"note\":null,\"ok\":true,"
    "\"a.b\":7,\"cfg\":{\"x\":1,\"y\":[1,2]}}";

/* Parse spec_text, evaluate against the message, return the verdict and why. */
static bool check(const char *spec_text, char *why, size_t cap)
{
    json_error_t jerr;
    json_t *spec = json_loads(spec_text, 0, &jerr);
    assert_non_null(spec);
    json_t *msg = json_loads(message, 0, &jerr);
    assert_non_null(msg);
    struct expect_match m;
    struct expect_error err;
    assert_int_equal(expect_match_parse(spec, &m, &err), 0);
    bool ok = expect_match_eval(&m, msg, why, cap);
    expect_match_free(&m);
    json_decref(spec);
    json_decref(msg);
    return ok;
}

static void assert_holds(const char *spec)
{
    char why[256];
    if (!check(spec, why, sizeof(why))) {
        fail_msg("%s should hold, but: %s", spec, why);
    }
    assert_string_equal(why, "");
}

static void assert_fails(const char *spec, const char *reason)
{
    char why[256];
    assert_false(check(spec, why, sizeof(why)));
    assert_string_equal(why, reason);
}

/* Parse a spec expected to be refused and compare path and reason. */
static void assert_refused(const char *spec_text, const char *path, const char *reason)
{
    json_error_t jerr;
    json_t *spec = json_loads(spec_text, JSON_DECODE_ANY, &jerr);
    assert_non_null(spec);
    struct expect_match m;
    struct expect_error err;
    assert_int_equal(expect_match_parse(spec, &m, &err), -1);
    assert_int_equal(m.count, 0);
    assert_null(m.preds);
    assert_string_equal(err.path, path);
    assert_string_equal(err.reason, reason);
    json_decref(spec);
}

static void test_equals_scalars(void **state)
{
    (void)state;
    assert_holds("{\"type\":\"location\",\"count\":3,\"ok\":true,\"note\":null}");
    assert_holds("{\"count\":3.0,\"speed_kmh\":42.5}");
    assert_fails("{\"type\":\"speed\"}", "type: \"location\" is not \"speed\"");
    assert_fails("{\"count\":4}", "count: 3 is not 4");
    assert_fails("{\"ok\":false}", "ok: true is not false");
    assert_fails("{\"count\":\"3\"}", "count: 3 is not \"3\"");
}

static void test_equals_nested_and_arrays(void **state)
{
    (void)state;
    assert_holds("{\"position.lat\":50.4501,\"chunks[1].index\":1,\"tags[0]\":\"a\",\"tags\":[\"a\",\"b\"]}");
    assert_holds("{\"cfg\":{\"equals\":{\"y\":[1.0,2],\"x\":1}}}");
    assert_fails("{\"cfg\":{\"equals\":{\"x\":1}}}", "cfg: {\"x\":1,\"y\":[1,2]} is not {\"x\":1}");
    assert_fails("{\"tags\":[\"b\",\"a\"]}", "tags: [\"a\",\"b\"] is not [\"b\",\"a\"]");
    assert_fails("{\"chunks[2].index\":2}", "chunks[2].index: missing");
    assert_fails("{\"position.alt\":1}", "position.alt: missing");
    assert_fails("{\"type.x\":1}", "type.x: missing");
}

static void test_ranges(void **state)
{
    (void)state;
    assert_holds("{\"speed_kmh\":{\"min\":42.5,\"max\":42.5}}");
    assert_holds("{\"position.lat\":{\"min\":50,\"max\":51},\"count\":{\"max\":3}}");
    assert_fails("{\"speed_kmh\":{\"min\":50}}", "speed_kmh: 42.5 is below min 50");
    assert_fails("{\"count\":{\"max\":2}}", "count: 3 is above max 2");
    assert_fails("{\"type\":{\"min\":0}}", "type: \"location\" is not a number");
    assert_fails("{\"gone\":{\"min\":0}}", "gone: missing");
}

static void test_present_absent(void **state)
{
    (void)state;
    assert_holds("{\"bus\":\"present\",\"picture\":\"absent\",\"note\":{\"present\":true},\"x\":{\"present\":false}}");
    assert_fails("{\"picture\":\"present\"}", "picture: missing");
    assert_fails("{\"bus\":\"absent\"}", "bus: present (\"bus-1\") but must be absent");
    assert_fails("{\"position\":{\"present\":false}}", "position: present ({\"lat\":50.4501,\"lon\":30.5234}) but must be absent");
}

static void test_other_operators(void **state)
{
    (void)state;
    assert_holds("{\"type\":{\"one_of\":[\"speed\",\"location\"]},\"bus\":{\"contains\":\"-1\",\"not_equals\":\"bus-2\"}}");
    assert_fails("{\"type\":{\"one_of\":[\"speed\",\"picture\"]}}", "type: \"location\" is not one of [\"speed\",\"picture\"]");
    assert_fails("{\"bus\":{\"contains\":\"depot\"}}", "bus: \"bus-1\" does not contain \"depot\"");
    assert_fails("{\"count\":{\"contains\":\"3\"}}", "count: 3 does not contain \"3\"");
    assert_fails("{\"bus\":{\"not_equals\":\"bus-1\"}}", "bus: \"bus-1\" must differ from it");
}

static void test_quoted_key_path(void **state)
{
    (void)state;
    /* A key holding a dot cannot be addressed; the path walks into "a" instead. */
    assert_fails("{\"a.b\":7}", "a.b: missing");
}

static void test_parse_errors(void **state)
{
    (void)state;
    assert_refused("[1]", "", "must be an object of field paths and conditions");
    assert_refused("{\"speed\":{\"minimum\":3}}", ".speed.minimum",
                   "unknown condition 'minimum' (use equals, not_equals, min, max, present, one_of or contains)");
    assert_refused("{\"speed\":{}}", ".speed",
                   "empty condition: use equals, not_equals, min, max, present, one_of or contains");
    assert_refused("{\"speed\":{\"min\":\"3\"}}", ".speed.min", "min must be a number");
    assert_refused("{\"speed\":{\"max\":null}}", ".speed.max", "max must be a number");
    assert_refused("{\"speed\":{\"min\":5,\"max\":1}}", ".speed", "min 5 is above max 1");
    assert_refused("{\"speed\":{\"present\":\"yes\"}}", ".speed.present", "present must be true or false");
    assert_refused("{\"speed\":{\"one_of\":[]}}", ".speed.one_of", "one_of must be a non-empty array");
    assert_refused("{\"speed\":{\"contains\":3}}", ".speed.contains", "contains must be a string");
    assert_refused("{\"speed\":{\"present\":false,\"min\":1}}", ".speed",
                   "a field required to be absent can have no other condition");
    assert_refused("{\"ok\":1,\"a..b\":1}", "[\"a..b\"]",
                   "malformed field path 'a..b' (use keys separated by '.' and [N] indexes)");
    assert_refused("{\"x[\":1}", "[\"x[\"]", "malformed field path 'x[' (use keys separated by '.' and [N] indexes)");
    assert_refused("{\"x[a]\":1}", "[\"x[a]\"]", "malformed field path 'x[a]' (use keys separated by '.' and [N] indexes)");
    assert_refused("{\"x.\":1}", "[\"x.\"]", "malformed field path 'x.' (use keys separated by '.' and [N] indexes)");
}

static void test_paths(void **state)
{
    (void)state;
    assert_true(expect_path_valid("a"));
    assert_true(expect_path_valid("a.b[0].c"));
    assert_true(expect_path_valid("a[0][1]"));
    assert_true(expect_path_valid("[0].x"));
    assert_false(expect_path_valid(""));
    assert_false(expect_path_valid(".a"));
    assert_false(expect_path_valid("a[1]b"));
    assert_false(expect_path_valid("a[-1]"));
    assert_false(expect_path_valid("a.[0]"));
    char p[64] = "$";
    expect_path_append_key(p, sizeof(p), "timeline");
    expect_path_append_key(p, sizeof(p), "a\"b.c");
    assert_string_equal(p, "$.timeline[\"a\\\"b.c\"]");
    char small[8] = "$";
    expect_path_append_key(small, sizeof(small), "abcdefghijkl");
    assert_string_equal(small, "$.abcde");
}

static void test_payload(void **state)
{
    (void)state;
    json_t *spec = json_loads("{\"type\":\"speed\"}", 0, NULL);
    struct expect_match m;
    struct expect_error err;
    assert_int_equal(expect_match_parse(spec, &m, &err), 0);
    char why[256];
    assert_true(expect_match_eval_payload(&m, "{\"type\":\"speed\"}", 16, why, sizeof(why)));
    assert_false(expect_match_eval_payload(&m, "{\"type\":\"speed\"", 15, why, sizeof(why)));
    assert_string_equal(why, "payload is not JSON ('}' expected near end of file at offset 15)");
    assert_false(expect_match_eval_payload(&m, "\x89PNG", 4, why, sizeof(why)));
    expect_match_free(&m);
    json_decref(spec);
    /* No predicates: any payload, even binary, matches. */
    assert_int_equal(expect_match_parse(NULL, &m, &err), 0);
    assert_true(expect_match_eval_payload(&m, "\x89PNG", 4, why, sizeof(why)));
    expect_match_free(&m);
}

static void test_topic_match(void **state)
{
    (void)state;
    assert_true(expect_topic_match("/bus/events", "/bus/events"));
    assert_false(expect_topic_match("/bus/events", "/bus/events/x"));
    assert_false(expect_topic_match("/bus/events", "/bus/event"));
    assert_false(expect_topic_match("/bus/event", "/bus/events"));
    assert_true(expect_topic_match("/bus/+/commands", "/bus/bus-1/commands"));
    assert_false(expect_topic_match("/bus/+/commands", "/bus/bus-1/x/commands"));
    assert_true(expect_topic_match("/bus/+", "/bus/"));
    assert_false(expect_topic_match("/bus/+", "/bus"));
    assert_true(expect_topic_match("/devices/bus-1/events/#", "/devices/bus-1/events"));
    assert_true(expect_topic_match("/devices/bus-1/events/#", "/devices/bus-1/events/depot-arrived"));
    assert_true(expect_topic_match("/devices/bus-1/events/#", "/devices/bus-1/events/a/b"));
    assert_false(expect_topic_match("/devices/bus-1/events/#", "/devices/bus-1/eventsx"));
    assert_true(expect_topic_match("#", "/bus/events"));
    assert_true(expect_topic_match("+/bus/events", "/bus/events"));
    assert_false(expect_topic_match("#", "$aws/things/bus-1/shadow/update"));
    assert_false(expect_topic_match("+/things/#", "$aws/things/bus-1"));
    assert_true(expect_topic_match("$aws/things/+/shadow/#", "$aws/things/bus-1/shadow/update/accepted"));
    assert_true(expect_topic_match("+/+", "a/b"));
    assert_false(expect_topic_match("+/+", "a/b/c"));
    assert_false(expect_topic_match("a/b", "a"));
}

static void test_counts(void **state)
{
    (void)state;
    char why[128];
    assert_true(expect_count_ok(1, 1, -1, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_true(expect_count_ok(40, 1, -1, why, sizeof(why)));
    assert_true(expect_count_ok(0, 0, 0, why, sizeof(why)));
    assert_false(expect_count_ok(1, 0, 0, why, sizeof(why)));
    assert_string_equal(why, "1 message, want exactly 0");
    assert_false(expect_count_ok(0, 1, -1, why, sizeof(why)));
    assert_string_equal(why, "0 messages, want at least 1");
    assert_false(expect_count_ok(6, 2, 5, why, sizeof(why)));
    assert_string_equal(why, "6 messages, want at most 5");
    assert_false(expect_count_ok(1, 2, 5, why, sizeof(why)));
    assert_string_equal(why, "1 message, want at least 2");
    assert_true(expect_count_ok(5, 2, 5, NULL, 0));
}

static void test_sequences(void **state)
{
    (void)state;
    char why[128];
    const long in_order[] = { 7, 8, 9, 10 };
    const long shuffled[] = { 3, 1, 2, 0 };
    const long duplicate[] = { 1, 2, 2, 3 };
    const long one_lost[] = { 1, 2, 4 };
    const long many_lost[] = { 10, 1, 2, 3 };
    assert_true(expect_sequence_ok(in_order, 4, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_true(expect_sequence_ok(shuffled, 4, why, sizeof(why)));
    assert_true(expect_sequence_ok(NULL, 0, why, sizeof(why)));
    assert_true(expect_sequence_ok(in_order, 1, why, sizeof(why)));
    assert_false(expect_sequence_ok(duplicate, 4, why, sizeof(why)));
    assert_string_equal(why, "sequence number 2 received more than once");
    assert_false(expect_sequence_ok(one_lost, 3, why, sizeof(why)));
    assert_string_equal(why, "sequence number 3 lost");
    assert_false(expect_sequence_ok(many_lost, 4, why, sizeof(why)));
    assert_string_equal(why, "sequence numbers 4 to 9 lost");
}

/* A small log: three events from bus-1, one from bus-2, a Pub/Sub message and a binary one. */
struct test_log {
    json_t *msgs[6];
    struct expect_record rec[6];
};

static void log_init(struct test_log *l)
{
    static const char *const texts[] = {
        "{\"type\":\"location\",\"seq\":1}", "{\"type\":\"speed\",\"seq\":2,\"speed_kmh\":70}",
        "{\"type\":\"speed\",\"seq\":4.0,\"speed_kmh\":65}", "{\"type\":\"speed\",\"seq\":1}",
        "{\"data\":{\"type\":\"depot_arrival\"},\"attributes\":{\"deviceId\":\"bus-1\"}}", NULL,
    };
    static const struct expect_record shape[] = {
        { 10, "/bus/events", NULL, "bus-1", NULL }, { 20, "/bus/events", NULL, "bus-1", NULL },
        { 30.5, "/bus/events", NULL, "bus-1", NULL }, { 25, "/bus/events", NULL, "bus-2", NULL },
        { 40, NULL, "depot-arrivals", NULL, NULL }, { 50, "/bus/events", NULL, "bus-1", NULL },
    };
    for (size_t i = 0; i < 6; i++) {
        l->msgs[i] = texts[i] != NULL ? json_loads(texts[i], 0, NULL) : NULL;
        l->rec[i] = shape[i];
        l->rec[i].msg = l->msgs[i];
    }
}

static void log_free(struct test_log *l)
{
    for (size_t i = 0; i < 6; i++) {
        json_decref(l->msgs[i]);
    }
}

static void test_log_queries(void **state)
{
    (void)state;
    struct test_log l;
    log_init(&l);
    struct expect_match speed;
    json_t *spec = json_loads("{\"type\":\"speed\",\"speed_kmh\":{\"min\":60}}", 0, NULL);
    assert_int_equal(expect_match_parse(spec, &speed, NULL), 0);
    double first = 0;
    struct expect_query q = { "/bus/events", NULL, NULL, NULL, 0, 100 };
    assert_int_equal(expect_log_count(l.rec, 6, &q, &first), 5);
    assert_true(first == 10.0);
    q.match = &speed;
    assert_int_equal(expect_log_count(l.rec, 6, &q, &first), 2);
    assert_true(first == 20.0);
    q.from_s = 21;
    assert_int_equal(expect_log_count(l.rec, 6, &q, &first), 1);
    assert_true(first == 30.5);
    q.to_s = 30;
    assert_int_equal(expect_log_count(l.rec, 6, &q, &first), 0);
    assert_true(first == -1.0);
    struct expect_query by_sender = { "/bus/+", NULL, "bus-2", NULL, 0, 100 };
    assert_int_equal(expect_log_count(l.rec, 6, &by_sender, &first), 1);
    assert_true(first == 25.0);
    struct expect_query pubsub = { NULL, "depot-arrivals", NULL, NULL, 40, 40 };
    assert_int_equal(expect_log_count(l.rec, 6, &pubsub, NULL), 1);
    pubsub.pubsub = "bus-events";
    assert_int_equal(expect_log_count(l.rec, 6, &pubsub, NULL), 0);
    struct expect_query other = { "/depot/#", NULL, NULL, NULL, 0, 100 };
    assert_int_equal(expect_log_count(l.rec, 6, &other, NULL), 0);
    expect_match_free(&speed);
    json_decref(spec);
    log_free(&l);
}

static void test_log_sequence(void **state)
{
    (void)state;
    struct test_log l;
    log_init(&l);
    char why[128];
    long *seq = NULL;
    size_t count = 0;
    struct expect_query bus1 = { "/bus/events", NULL, "bus-1", NULL, 0, 45 };
    assert_true(expect_log_sequence(l.rec, 6, &bus1, "seq", &seq, &count, why, sizeof(why)));
    assert_int_equal(count, 3);
    assert_int_equal(seq[0], 1);
    assert_int_equal(seq[2], 4);
    assert_false(expect_sequence_ok(seq, count, why, sizeof(why)));
    assert_string_equal(why, "sequence number 3 lost");
    free(seq);
    bus1.to_s = 60; /* takes in the binary message */
    assert_false(expect_log_sequence(l.rec, 6, &bus1, "seq", &seq, &count, why, sizeof(why)));
    assert_string_equal(why, "message at 00:00:50 on /bus/events has no integer seq");
    assert_null(seq);
    assert_int_equal(count, 0);
    struct expect_query none = { "/nothing", NULL, NULL, NULL, 0, 60 };
    assert_true(expect_log_sequence(l.rec, 6, &none, "seq", &seq, &count, why, sizeof(why)));
    assert_null(seq);
    struct expect_query pubsub = { NULL, "depot-arrivals", NULL, NULL, 0, 60 };
    assert_false(expect_log_sequence(l.rec, 6, &pubsub, "data.seq", &seq, &count, why, sizeof(why)));
    assert_string_equal(why, "message at 00:00:40 on depot-arrivals has no integer data.seq");
    log_free(&l);
}

static void test_order(void **state)
{
    (void)state;
    char why[128];
    const char *const ids[] = { "hello", "where", "arrived" };
    const double in_order[] = { 5, 5, 3600 };
    const double swapped[] = { 5, 125, 61 };
    const double missing[] = { 5, -1, 61 };
    assert_true(expect_order_ok(ids, in_order, 3, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_false(expect_order_ok(ids, swapped, 3, why, sizeof(why)));
    assert_string_equal(why, "'arrived' (00:01:01) arrived before 'where' (00:02:05)");
    assert_false(expect_order_ok(ids, missing, 3, why, sizeof(why)));
    assert_string_equal(why, "'where' never arrived");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equals_scalars),  cmocka_unit_test(test_equals_nested_and_arrays),
        cmocka_unit_test(test_ranges),          cmocka_unit_test(test_present_absent),
        cmocka_unit_test(test_other_operators), cmocka_unit_test(test_quoted_key_path),
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_paths),
        cmocka_unit_test(test_payload),         cmocka_unit_test(test_topic_match),
        cmocka_unit_test(test_counts),          cmocka_unit_test(test_sequences),
        cmocka_unit_test(test_log_queries),     cmocka_unit_test(test_log_sequence),
        cmocka_unit_test(test_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
