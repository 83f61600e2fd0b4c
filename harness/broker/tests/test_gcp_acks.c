/*
 * Unit tests of gcp_acks: reading Mosquitto's debug log lines about config
 * messages and PUBACKs, and following a log file as it grows (lines only
 * when complete, nothing from before the first look).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "brokertest.h"
#include "gcp_acks.h"

#define CLIENT "projects/p/locations/r/registries/g/devices/bus-1"

static void test_send_line(void **state)
{
    struct gcp_ack_line l;
    assert_int_equal(gcp_acks_parse_line("1795758795: Sending PUBLISH to " CLIENT
                                         " (d0, q1, r0, m17, '/devices/bus-1/config', ... (20 bytes))", &l),
                     GCP_ACK_LINE_SEND);
    assert_string_equal(l.client, CLIENT);
    assert_int_equal(l.mid, 17);
    assert_int_equal(l.qos, 1);
    assert_false(l.dup);
    assert_string_equal(l.topic, "/devices/bus-1/config");
    assert_int_equal(gcp_acks_parse_line("1: Sending PUBLISH to c (d1, q1, r0, m3, 'a b', ... (0 bytes))", &l),
                     GCP_ACK_LINE_SEND);
    assert_true(l.dup);
    assert_string_equal(l.topic, "a b");
}

static void test_puback_line(void **state)
{
    struct gcp_ack_line l;
    assert_int_equal(gcp_acks_parse_line("1795758795: Received PUBACK from " CLIENT " (Mid: 17, RC:0)", &l),
                     GCP_ACK_LINE_PUBACK);
    assert_string_equal(l.client, CLIENT);
    assert_int_equal(l.mid, 17);
}

static void test_other_and_broken_lines(void **state)
{
    struct gcp_ack_line l;
    static const char *const others[] = {
        "",
        "1795758795: Received PUBLISH from c (d0, q1, r0, m1, 'a/b', ... (2 bytes))",
        "1795758795: Sending PUBACK to c (m1, rc0)",
        "1795758795: Sending PUBLISH to c (d0, q1, r0, m1, '/devices/bus-1/config",
        "1795758795: Sending PUBLISH to  (d0, q1, r0, m1, 'x', ... (2 bytes))",
        "1795758795: Sending PUBLISH to c (dX, q1, r0, m1, 'x', ... (2 bytes))",
        "1795758795: Received PUBACK from c (Mid: x, RC:0)",
        "1795758795: Received PUBACK from c",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        assert_int_equal(gcp_acks_parse_line(others[i], &l), GCP_ACK_LINE_OTHER);
        assert_int_equal(l.mid, 0);
    }
    char longer[1200];
    memset(longer, 'c', sizeof longer);
    memcpy(longer, "1: Received PUBACK from ", 24);
    snprintf(longer + 1000, 200, " (Mid: 1, RC:0)");
    assert_int_equal(gcp_acks_parse_line(longer, &l), GCP_ACK_LINE_OTHER); /* client id too long */
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_follow_grows(void **state)
{
    char dir[256], path[300];
    assert_int_equal(bt_temp_dir(dir, sizeof dir, "cellbench-acks"), 0);
    snprintf(path, sizeof path, "%s/mosquitto.log", dir);
    struct gcp_log_follow lf;
    assert_int_equal(gcp_log_follow_init(&lf, path), 0);
    assert_null(gcp_log_follow_next(&lf)); /* no file yet */
    append(path, "old line\n");
    assert_null(gcp_log_follow_next(&lf)); /* opened now: what was there is skipped */
    append(path, "first\nsec");
    assert_string_equal(gcp_log_follow_next(&lf), "first");
    assert_null(gcp_log_follow_next(&lf)); /* "sec" is not complete */
    append(path, "ond\n");
    assert_string_equal(gcp_log_follow_next(&lf), "second");
    char big[3000];
    memset(big, 'x', sizeof big - 2);
    big[sizeof big - 2] = '\n';
    big[sizeof big - 1] = '\0';
    append(path, big);
    append(path, "after\n");
    assert_string_equal(gcp_log_follow_next(&lf), "after"); /* the over-long line is dropped */
    assert_null(gcp_log_follow_next(&lf));
    gcp_log_follow_close(&lf);
    bt_remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_line),
        cmocka_unit_test(test_puback_line),
        cmocka_unit_test(test_other_and_broken_lines),
        cmocka_unit_test(test_follow_grows),
    };
    return cmocka_run_group_tests_name("gcp_acks", tests, NULL, NULL);
}
