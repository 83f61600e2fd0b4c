/*
 * Tests for report: the HTML page made from a synthetic run directory (route
 * polyline, event markers, escaping of log content, verdict rows, links to
 * copied logs, billed units), and one `cellbench run --report` end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "billing.h"
#include "report.h"
#include "scenario.h"

#ifndef CELLBENCH_SOURCE_DIR
#define CELLBENCH_SOURCE_DIR "."
#endif
#ifndef CELLBENCH_BUILD_DIR
#define CELLBENCH_BUILD_DIR CELLBENCH_SOURCE_DIR "/build"
#endif

/* A bus and a depot on a short route; a command and a fault for the cloud-action column. */
static const char scenario_text[] =
    "{ \"name\": \"rep<&>\", \"description\": \"a <b>bold</b> trip\", \"profile\": \"aws\",\n"
    "  \"stack\": \"aws-modem-tls\", \"duration\": 60,\n"
    "  \"devices\": [ { \"id\": \"bus-1\" },\n"
    "               { \"id\": \"depot-1\", \"role\": \"depot\", \"position\": { \"lat\": 50.451, \"lon\": 30.521 }, \"radius_m\": 50 } ],\n"
    "  \"route\": { \"waypoints\": [ { \"lat\": 50.45, \"lon\": 30.52, \"speed_kmh\": 30 },\n"
    "                               { \"lat\": 50.452, \"lon\": 30.52 } ] },\n"
    "  \"timeline\": [ { \"at\": 5, \"command\": \"query_location\" },\n"
    "                { \"at\": 20, \"fault\": \"net down\" } ] }\n";

/* Trip time 0 is this virtual time: 2030-01-01T00:00:00Z. */
#define START_NS (1893456000LL * 1000000000LL)

struct fixture {
    char dir[128];     /* the run directory */
    char out[160];     /* the --report DIR */
    struct scenario sc;
    char *html;
};

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (buf)
        buf[got] = '\0';
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void make_run_dir(const char *dir)
{
    write_text(dir, "cloud.log",
               "0.400 $aws/events/presence/connected/bus-1 {\"clientId\":\"bus-1\",\"eventType\":\"connected\"}\n"
               "1.000 /bus/events {\"type\":\"location\",\"bus\":\"bus-1\",\"lat\":50.4501,\"lon\":30.52}\n"
               "5.100 /bus/bus-1/commands {\"cmd\":\"location\",\"id\":\"timeline-0\"}\n"
               "6.000 /bus/events {\"type\":\"alert\",\"bus\":\"bus-1\",\"note\":\"<script>alert(1)</script>\"}\n"
               "7.000 /bus/events {\"type\":\"picture\",\"bus\":\"bus-1\",\"data\":\"abcd\"}\n"
               "7.200 pubsub/bus-events {\"attributes\":{\"deviceId\":\"bus-1\"},\"data\":\"e30=\"}\n"
               "7.500 /bus/raw line one\n"
               "line two\n");
    write_text(dir, "bus-1-uart.log",
               "# sim7600 UART capture: <virtual time> <real time> RX|TX \"bytes\" (RX = host to modem)\n"
               "2030-01-01T00:00:00.250Z 2026-11-27T03:05:41.405Z RX \"AT+CMQTTPAYLOAD=0,9\\r\"\n"
               "2030-01-01T00:00:00.260Z 2026-11-27T03:05:41.405Z TX \"\\r\\n><i>x</i>\"\n");
    write_text(dir, "fw-bus-1.log", "firmware up\n");
    write_text(dir, "broker.log", "ready & <waiting>\n");
    write_text(dir, "pids", "123\n"); /* not a log: not copied */
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct scenario_error err;
    snprintf(f->dir, sizeof f->dir, "/tmp/test_report.XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->out, sizeof f->out, "%s/out/nested", f->dir);
    if (scenario_load_text(scenario_text, strlen(scenario_text), "rep.json", ".", &f->sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    scenario_free(&f->sc);
    free(f->html);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Write the page of the synthetic run with two verdicts; f->html gets its text. */
static void write_page(struct fixture *f)
{
    make_run_dir(f->dir);
    struct report_verdict verdicts[] = {
        { "00:00:00 $.timeline[0] expect_connection bus-1", "PASS", "" },
        { "00:01:00 $.timeline[1] expect_message", "FAIL", "no message on <topic> & none late" },
    };
    struct billing_meter meters[BILLING_MAX_METERS];
    size_t nm = billing_default_meters(meters);
    struct report_input in = { .sc = &f->sc, .run_dir = f->dir, .out_dir = f->out, .trip_start_ns = START_NS,
                               .verdicts = verdicts, .verdict_count = 2, .meters = meters, .meter_count = nm };
    char page[PATH_MAX];
    assert_int_equal(report_write(&in, page, sizeof page), 0);
    char want[400];
    snprintf(want, sizeof want, "%s/rep___.html", f->out);
    assert_string_equal(page, want);
    f->html = slurp(page);
    assert_non_null(f->html);
}

static void test_polyline_has_every_route_point(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    const char *poly = strstr(f->html, "<polyline class=\"route\"");
    assert_non_null(poly);
    const char *pts = strstr(poly, "points=\"");
    assert_non_null(pts);
    pts += strlen("points=\"");
    size_t len = strcspn(pts, "\""), pairs = 0;
    for (size_t i = 0; i < len; i++)
        pairs += pts[i] == ',';
    assert_true(f->sc.route.route.count > 10);
    assert_int_equal(pairs, f->sc.route.route.count);
    assert_null(strstr(f->html, "<script")); /* no scripts at all */
    /* nothing fetched from a network: the only URL is the SVG namespace */
    assert_int_equal(count(f->html, "http"), count(f->html, "xmlns=\"http://www.w3.org/2000/svg\""));
    assert_null(strstr(f->html, "<link"));
}

static void test_markers_for_reported_events(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    /* location, alert and picture from the bus; the presence event and the command are not reported events */
    assert_int_equal(count(f->html, "<circle class=\"event\""), 3);
    assert_int_equal(count(f->html, "<rect class=\"depot\""), 1);
    const char *loc = strstr(f->html, "location on /bus/events</title>");
    const char *alert = strstr(f->html, "alert on /bus/events</title>");
    assert_non_null(loc);
    assert_non_null(alert);
    /* types get different colours from the palette: the legend lists each once */
    assert_int_equal(count(f->html, "</svg> location</span>"), 1);
    assert_int_equal(count(f->html, "</svg> alert</span>"), 1);
}

static void test_log_content_is_escaped(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    assert_null(strstr(f->html, "<script>alert(1)"));
    assert_non_null(strstr(f->html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_null(strstr(f->html, "<i>x</i>"));
    assert_non_null(strstr(f->html, "&gt;&lt;i&gt;x&lt;/i&gt;"));
    assert_non_null(strstr(f->html, "<h1>rep&lt;&amp;&gt;</h1>"));
    assert_non_null(strstr(f->html, "a &lt;b&gt;bold&lt;/b&gt; trip"));
    assert_non_null(strstr(f->html, "/bus/raw: line one\nline two"));
    /* the AT line sits at its trip time, in the AT column */
    assert_non_null(strstr(f->html, "<tr><td>0.250</td><td><span class=\"rx\">&rarr; bus-1: AT+CMQTTPAYLOAD=0,9\\r"));
    assert_non_null(strstr(f->html, "<tr><td>5.000</td><td></td><td></td><td>command: query_location</td></tr>"));
    assert_non_null(strstr(f->html, "<td>fault: net down</td>"));
}

static void test_verdict_rows(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    assert_non_null(strstr(f->html, "<tr class=\"PASS\"><td class=\"v\">PASS</td><td>00:00:00 $.timeline[0] "
                                    "expect_connection bus-1</td><td></td></tr>"));
    assert_non_null(strstr(f->html, "<tr class=\"FAIL\"><td class=\"v\">FAIL</td><td>00:01:00 $.timeline[1] "
                                    "expect_message</td><td>no message on &lt;topic&gt; &amp; none late</td></tr>"));
    assert_non_null(strstr(f->html, "1 passed, 1 failed, 0 not run"));
}

static void test_links_point_at_copied_logs(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    size_t links = 0;
    for (const char *p = strstr(f->html, "<a href=\""); p; p = strstr(p + 1, "<a href=\"")) {
        const char *href = p + strlen("<a href=\"");
        char path[400];
        snprintf(path, sizeof path, "%s/%.*s", f->out, (int)strcspn(href, "\""), href);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        links++;
    }
    assert_int_equal(links, 4); /* broker, bus-1-uart, cloud, fw-bus-1; not pids */
    assert_non_null(strstr(f->html, "href=\"rep___-files/bus-1-uart.log\""));
    char copied[400];
    snprintf(copied, sizeof copied, "%s/rep___-files/broker.log", f->out);
    char *text = slurp(copied);
    assert_non_null(text);
    assert_string_equal(text, "ready & <waiting>\n"); /* copied as is */
    free(text);
}

static void test_traffic_and_billed_units(void **state)
{
    struct fixture *f = *state;
    write_page(f);
    /* three events up; their payload bytes as in cloud.log */
    const char *row = strstr(f->html, "<tr><td>bus-1</td><td>/bus/events</td><td>up</td>");
    assert_non_null(row);
    char want[300];
    snprintf(want, sizeof want, "<td class=\"num\">3</td><td class=\"num\">%d</td><td class=\"num\">3</td>"
             "<td class=\"num\">3072</td></tr>", 59 + 65 + 46); /* the three JSON documents above */
    assert_non_null(strstr(row, want));
    assert_non_null(strstr(f->html, "<tr><td>bus-1</td><td>/bus/bus-1/commands</td><td>down</td>"));
    /* a payload holding a newline spans two lines of cloud.log: one message of 17 bytes */
    assert_non_null(strstr(f->html, "<tr><td></td><td>/bus/raw</td><td>up</td><td class=\"num\">1</td>"
                                    "<td class=\"num\">17</td><td class=\"num\">1</td><td class=\"num\">1024</td>"));
    /* service traffic: the presence event and the Pub/Sub copy (its device from the attributes), not billed */
    assert_non_null(strstr(f->html, "<tr><td>bus-1</td><td>pubsub/bus-events</td><td>service</td><td class=\"num\">1</td>"
                                    "<td class=\"num\">49</td><td class=\"num\">0</td><td class=\"num\">0</td>"));
    assert_non_null(strstr(f->html, "<tr class=\"total\"><th colspan=\"2\">total</th><th>service</th>"
                                    "<td class=\"num\">2</td>"));
}

static void test_missing_run_files_still_make_a_page(void **state)
{
    struct fixture *f = *state;
    struct report_input in = { .sc = &f->sc, .run_dir = f->dir, .out_dir = f->out, .trip_start_ns = START_NS };
    assert_int_equal(report_write(&in, NULL, 0), 0); /* empty run directory: route, no events, no links */
    char page[300];
    snprintf(page, sizeof page, "%s/rep___.html", f->out);
    char *html = slurp(page);
    assert_non_null(html);
    assert_non_null(strstr(html, "No reported events."));
    assert_int_equal(count(html, "<a href="), 0);
    free(html);
    in.run_dir = NULL; /* a scenario refused before its bench started */
    struct report_verdict not_run = { "rep<&>", "NOT RUN", "stack missing" };
    in.verdicts = &not_run;
    in.verdict_count = 1;
    assert_int_equal(report_write(&in, NULL, 0), 0);
    html = slurp(page);
    assert_non_null(html);
    assert_non_null(strstr(html, "<tr class=\"NOT_RUN\"><td class=\"v\">NOT RUN</td><td>rep&lt;&amp;&gt;</td>"));
    assert_non_null(strstr(html, "The bench was not started: no logs."));
    assert_non_null(strstr(html, "<polyline class=\"route\""));
    free(html);
    in.out_dir = "/proc/no/such/dir";
    assert_int_equal(report_write(&in, NULL, 0), -1);
}

/* `cellbench run --report DIR scenarios/smoke-aws.json` writes the page (hang guard: timeout 300 s). */
static void test_run_writes_report(void **state)
{
    struct fixture *f = *state;
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && TMPDIR='%s' timeout 300 '%s/bin/cellbench' run --report '%s' scenarios/smoke-aws.json "
             ">'%s/run.out' 2>&1",
             CELLBENCH_SOURCE_DIR, f->dir, CELLBENCH_BUILD_DIR, f->out, f->dir);
    int rc = system(cmd);
    char path[400];
    snprintf(path, sizeof path, "%s/run.out", f->dir);
    char *out = slurp(path);
    if (rc != 0)
        fprintf(stderr, "%s\n", out ? out : "");
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "report: "));
    free(out);
    snprintf(path, sizeof path, "%s/smoke-aws.html", f->out);
    char *html = slurp(path);
    assert_non_null(html);
    assert_non_null(strstr(html, "<polyline class=\"route\""));
    assert_non_null(strstr(html, "<tr class=\"PASS\">"));
    assert_null(strstr(html, "<tr class=\"FAIL\">"));
    assert_non_null(strstr(html, "AT+CMQTTCONNECT"));
    assert_non_null(strstr(html, "$aws/events/presence/connected/bus-1"));
    assert_non_null(strstr(html, "href=\"smoke-aws-files/bus-1-uart.log\""));
    free(html);
    snprintf(path, sizeof path, "%s/smoke-aws-files/bus-1-uart.log", f->out);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_polyline_has_every_route_point, setup, teardown),
        cmocka_unit_test_setup_teardown(test_markers_for_reported_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_content_is_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verdict_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_links_point_at_copied_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_traffic_and_billed_units, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_run_files_still_make_a_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_writes_report, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
