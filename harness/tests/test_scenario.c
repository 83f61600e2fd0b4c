/* Tests for the scenario loader: every field, every error message, the shipped scenarios. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "scenario.h"

#ifndef CELLBENCH_SOURCE_DIR
#define CELLBENCH_SOURCE_DIR "."
#endif
#define DATA CELLBENCH_SOURCE_DIR "/harness/tests/data"
#ifndef CELLBENCH_BUILD_DIR
#define CELLBENCH_BUILD_DIR CELLBENCH_SOURCE_DIR "/build"
#endif
#define SCENARIO_PROGRAM CELLBENCH_BUILD_DIR "/bin/cellbench-scenario"

/* A small valid scenario (aws) that the error tests patch. */
static const char base_text[] =
    "{\"name\":\"t\",\"description\":\"d\",\"profile\":\"aws\",\"stack\":\"aws-modem-tls\","
    "\"devices\":[{\"id\":\"bus-1\",\"registration\":\"AA\",\"route_number\":42},"
    "{\"id\":\"depot-a\",\"role\":\"depot\",\"position\":{\"lat\":50.47,\"lon\":30.53},\"radius_m\":100}],"
    "\"route\":{\"waypoints\":[{\"lat\":50.44,\"lon\":30.50,\"speed_kmh\":36},{\"lat\":50.45,\"lon\":30.50}]},"
    "\"timeline\":[]}";

/*
 * Load the base with its top-level keys replaced by those of patch (a JSON
 * object; a null value deletes the key). Returns scenario_load_text's result.
 */
static int load_patched(const char *patch_text, struct scenario *s, struct scenario_error *err)
{
    json_error_t jerr;
    json_t *base = json_loads(base_text, 0, &jerr);
    json_t *patch = json_loads(patch_text, 0, &jerr);
    if (patch == NULL) {
        fail_msg("bad patch in the test: %s: %s", patch_text, jerr.text);
    }
    const char *key;
    json_t *value;
    json_object_foreach(patch, key, value) {
        if (json_is_null(value)) {
            json_object_del(base, key);
        } else {
            json_object_set(base, key, value);
        }
    }
    char *text = json_dumps(base, JSON_COMPACT);
    int rc = scenario_load_text(text, strlen(text), "t.json", CELLBENCH_SOURCE_DIR "/scenarios", s, err);
    free(text);
    json_decref(base);
    json_decref(patch);
    return rc;
}

/* The patched base must be refused with exactly this message. */
static void assert_refused(const char *patch, const char *message)
{
    struct scenario s;
    struct scenario_error err;
    if (load_patched(patch, &s, &err) == 0) {
        scenario_free(&s);
        fail_msg("accepted: %s", patch);
    }
    assert_string_equal(err.message, message);
    assert_null(s.root);
    assert_null(s.actions);
}

/* Shorthand: a timeline of one entry. */
static void assert_entry_refused(const char *entry, const char *message)
{
    char patch[2048];
    snprintf(patch, sizeof(patch), "{\"timeline\":[%s]}", entry);
    assert_refused(patch, message);
}

static void assert_entry_accepted(const char *entry, struct scenario *s)
{
    char patch[2048];
    struct scenario_error err;
    snprintf(patch, sizeof(patch), "{\"timeline\":[%s]}", entry);
    if (load_patched(patch, s, &err) != 0) {
        fail_msg("refused: %s: %s", entry, err.message);
    }
}

static void test_base_is_valid(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    assert_int_equal(load_patched("{}", &s, &err), 0);
    assert_string_equal(s.name, "t");
    assert_int_equal(s.profile, SCENARIO_PROFILE_AWS);
    assert_true(s.rate == 1.0);
    assert_int_equal(s.route.source, SCENARIO_ROUTE_WAYPOINTS);
    assert_int_equal(s.route.route.count, 112); /* 1111.95 m at 10 m/s */
    assert_true(s.duration_s == 111.0);
    assert_true(s.start_epoch_s == 0);
    assert_int_equal(s.action_count, 0);
    assert_string_equal(s.devices[0].route_number, "42");
    assert_int_equal(s.devices[0].role, SCENARIO_ROLE_BUS);
    assert_int_equal(s.devices[1].stack, SCENARIO_STACK_AWS_MODEM_TLS);
    scenario_free(&s);
    assert_null(s.root);
    scenario_free(NULL);
}

static void test_full_file(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    if (scenario_load(DATA "/full.json", &s, &err) != 0) {
        fail_msg("%s", err.message);
    }
    assert_string_equal(s.path, DATA "/full.json");
    assert_string_equal(s.name, "full");
    assert_string_equal(s.description, "every field of the format");
    assert_int_equal(s.profile, SCENARIO_PROFILE_GCP);
    assert_int_equal(s.stack, SCENARIO_STACK_GCP_MODEM_TLS);
    assert_true(s.rate == 250.5);
    assert_true(s.start_epoch_s == 1772434800);
    assert_true(s.duration_s == 70.0);

    assert_int_equal(s.device_count, 3);
    assert_string_equal(s.devices[0].id, "bus-1");
    assert_string_equal(s.devices[0].registration, "AA 1234 BC");
    assert_string_equal(s.devices[0].route_number, "42");
    assert_int_equal(s.devices[0].stack, SCENARIO_STACK_GCP_MODEM_TLS);
    assert_string_equal(s.devices[1].route_number, "42A");
    assert_int_equal(s.devices[1].role, SCENARIO_ROLE_BUS);
    assert_int_equal(s.devices[1].stack, SCENARIO_STACK_GCP_MCU_TLS);
    assert_int_equal(s.devices[2].role, SCENARIO_ROLE_DEPOT);
    assert_null(s.devices[2].registration);
    assert_true(s.devices[2].lat == 51.5048 && s.devices[2].lon == -0.1223 && s.devices[2].radius_m == 75.5);
    assert_int_equal(scenario_find_device(&s, "depot-north"), 2);
    assert_int_equal(scenario_find_device(&s, "bus-9"), -1);

    assert_int_equal(s.route.source, SCENARIO_ROUTE_NMEA);
    assert_string_equal(s.route.file, DATA "/../../../scenarios/traces/sample.nmea");
    assert_int_equal(s.route.route.count, 79);

    assert_int_equal(s.action_count, 20);
    const struct scenario_action *a = s.actions;
    assert_int_equal(a[0].kind, SCENARIO_ACTION_CONFIG);
    assert_true(json_integer_value(json_object_get(a[0].u.config.payload, "speed_threshold_kmh")) == 60);
    assert_int_equal(a[0].device, 0);
    assert_int_equal(a[1].kind, SCENARIO_ACTION_COMMAND);
    assert_true(a[1].at_s == 5.0);
    assert_int_equal(a[1].device, 1);
    assert_string_equal(a[1].u.command.name, "query_location");
    assert_null(a[1].u.command.args);
    assert_true(a[2].at_s == 6.5);
    assert_string_equal(a[2].u.command.name, "query_picture");
    assert_true(json_integer_value(json_object_get(a[2].u.command.args, "quality")) == 3);
    assert_string_equal(a[3].u.command.name, "publish");
    assert_int_equal(a[4].kind, SCENARIO_ACTION_READ_STATE);
    assert_int_equal(a[4].u.read_state.match.count, 1);
    assert_int_equal(a[5].kind, SCENARIO_ACTION_DRIVER);
    assert_int_equal(a[5].u.driver.behaviour, SCENARIO_BEHAVIOUR_DROWSY);
    assert_string_equal(a[5].u.driver.picture, DATA "/../../../scenarios/pictures/driver.pgm");
    assert_int_equal(a[6].u.driver.behaviour, SCENARIO_BEHAVIOUR_DRINKING);
    assert_null(a[6].u.driver.picture);
    assert_int_equal(a[6].u.driver.picture_size, 30000);
    assert_int_equal(a[7].kind, SCENARIO_ACTION_FAULT);
    assert_int_equal(a[7].u.fault.target, SCENARIO_FAULT_SIM);
    assert_string_equal(a[7].u.fault.line, "uart-loss 0.01 rx");
    assert_int_equal(a[8].u.fault.target, SCENARIO_FAULT_CLOCK);
    assert_true(a[8].u.fault.jump_s == 86400.0);
    assert_string_equal(a[8].u.fault.line, "clock jump 86400");
    assert_int_equal(a[8].device, -1);
    assert_int_equal(a[9].u.fault.target, SCENARIO_FAULT_BROKER);
    assert_string_equal(a[9].u.fault.line, "broker restart");

    assert_int_equal(a[10].kind, SCENARIO_ACTION_EXPECT_MESSAGE);
    assert_string_equal(a[10].note, "speed");
    assert_string_equal(a[10].u.message.topic, "/devices/+/events/#");
    assert_null(a[10].u.message.pubsub);
    assert_string_equal(a[10].u.message.id, "first");
    assert_true(a[10].u.message.within_s == 30.0);
    assert_int_equal(a[10].u.message.count.at_least, 2);
    assert_int_equal(a[10].u.message.count.at_most, 5);
    assert_int_equal(a[10].u.message.match.count, 2);
    assert_int_equal(a[10].device, -1);
    assert_string_equal(a[11].u.message.pubsub, "depot-arrivals");
    assert_int_equal(a[11].device, 0);
    assert_int_equal(a[11].u.message.count.at_least, 3);
    assert_int_equal(a[11].u.message.count.at_most, 3);
    assert_int_equal(a[11].u.message.match.count, 0);
    assert_int_equal(a[12].u.message.count.at_least, 0);
    assert_int_equal(a[12].u.message.count.at_most, 0);

    assert_int_equal(a[13].kind, SCENARIO_ACTION_EXPECT_ORDER);
    assert_int_equal(a[13].u.order.count, 2);
    assert_string_equal(a[13].u.order.ids[1], "second");
    assert_int_equal(a[14].kind, SCENARIO_ACTION_EXPECT_NO_LOSS);
    assert_string_equal(a[14].u.no_loss.key, "meta.seq");
    assert_int_equal(a[14].u.no_loss.match.count, 1);
    assert_int_equal(a[15].kind, SCENARIO_ACTION_EXPECT_CONNECTION);
    assert_false(a[15].u.connection.connected);
    assert_true(a[15].u.connection.within_s == 30.0);
    assert_true(a[16].u.connection.connected);
    assert_true(a[16].u.connection.within_s == 0.0);
    assert_int_equal(a[17].kind, SCENARIO_ACTION_EXPECT_ACK);
    assert_int_equal(a[17].u.ack.what, SCENARIO_ACK_CONFIG);
    assert_int_equal(a[17].u.ack.version, 3);
    assert_int_equal(a[18].u.ack.what, SCENARIO_ACK_STATE);
    assert_int_equal(a[18].u.ack.version, 0);
    assert_int_equal(a[19].kind, SCENARIO_ACTION_EXPECT_UART);
    assert_int_equal(a[19].u.uart.contains_count, 2);
    assert_string_equal(a[19].u.uart.contains[1], "/devices/bus-1/events");
    assert_int_equal(a[19].u.uart.absent_count, 1);
    assert_int_equal(a[19].index, 19);
    scenario_free(&s);
}

static void test_file_and_syntax_errors(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    assert_int_equal(scenario_load(DATA "/syntax.json", &s, &err), -1);
    assert_string_equal(err.message, DATA "/syntax.json:4:1: string or '}' expected near '}'");
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 1);
    assert_string_equal(err.path, "");
    assert_int_equal(scenario_load(DATA "/missing.json", &s, &err), -1);
    assert_string_equal(err.message, DATA "/missing.json: unable to open " DATA "/missing.json: No such file or directory");
    assert_int_equal(err.line, 0);
    const char dup[] = "{\"name\":\"a\",\n\"name\":\"b\"}";
    assert_int_equal(scenario_load_text(dup, strlen(dup), "d.json", ".", &s, &err), -1);
    assert_string_equal(err.message, "d.json:2:6: duplicate object key near '\"name\"'");
    assert_int_equal(scenario_load_text("[]", 2, "a.json", ".", &s, &err), -1);
    assert_string_equal(err.message, "a.json:1: $: must be an object");
}

static void test_error_lines(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    assert_int_equal(scenario_load(DATA "/bad-at.json", &s, &err), -1);
    assert_string_equal(err.message, DATA "/bad-at.json:12: $.timeline[1].expect_message.match.speed_kmh.minimum: "
                                          "unknown condition 'minimum' (use equals, not_equals, min, max, present, "
                                          "one_of or contains)");
    assert_int_equal(err.line, 12);
    assert_string_equal(err.path, "$.timeline[1].expect_message.match.speed_kmh.minimum");
    assert_int_equal(scenario_load(DATA "/bad-key.json", &s, &err), -1);
    assert_string_equal(err.message, DATA "/bad-key.json:8: $.devices[1].radius: unknown key (allowed here: id, role, "
                                          "registration, route_number, stack, position, radius_m, note)");
    /* The value's own line, also for a value on a line after its key, escaped keys and nested arrays. */
    static const char *const elements[] = { "[]", "\"\"", "\"c\"" };
    static const char *const messages[] = {
        "m.json:4: $.timeline[0].expect_uart.absent[1]: must be a non-empty string",
        "m.json:4: $.timeline[0].expect_uart.absent[1]: must be a non-empty string",
        "m.json:6: $.timeline[1].at: 00:02:00 is after the end of the trip (00:01:40, the duration)",
    };
    for (size_t i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "{\"name\":\"x\",\"profile\":\"aws\",\"stack\":\"aws-modem-tls\",\"duration\":100,\n"
                 "\"devices\":[{\"id\":\"bus-1\"}],\"route\":{\"waypoints\":[{\"lat\":1,\"lon\":1,\"speed_kmh\":9},"
                 "{\"lat\":1,\"lon\":1.01}]},\"timeline\":[{\"at\":1,\"expect_uart\":{\"absent\":\n"
                 "[\"a\\\"b\",\n"
                 "%s]}},\n"
                 "{\"at\":\n"
                 "  \"00:02:00\", \"fault\":\"reset\"}]}",
                 elements[i]);
        assert_int_equal(scenario_load_text(text, strlen(text), "m.json", ".", &s, &err), -1);
        assert_string_equal(err.message, messages[i]);
    }
}

static void test_header_errors(void **state)
{
    (void)state;
    assert_refused("{\"nmae\":\"x\"}",
                   "t.json:1: $.nmae: unknown key (allowed here: name, description, profile, stack, rate, start, "
                   "duration, devices, route, timeline, note)");
    assert_refused("{\"name\":null}", "t.json:1: $: missing required key 'name'");
    assert_refused("{\"name\":7}", "t.json:1: $.name: must be a string");
    assert_refused("{\"name\":\"\"}", "t.json:1: $.name: must be a non-empty string without NUL characters");
    assert_refused("{\"profile\":\"azure\"}", "t.json:1: $.profile: 'azure' is not one of aws, gcp");
    assert_refused("{\"stack\":null}", "t.json:1: $: missing required key 'stack'");
    assert_refused("{\"stack\":\"aws-tls\"}",
                   "t.json:1: $.stack: 'aws-tls' is not one of aws-modem-tls, aws-mcu-tls, gcp-modem-tls, gcp-mcu-tls");
    assert_refused("{\"stack\":\"gcp-mcu-tls\"}", "t.json:1: $.stack: stack 'gcp-mcu-tls' does not belong to profile 'aws'");
    assert_refused("{\"rate\":0}", "t.json:1: $.rate: 0 is out of range (0.001 to 1e+06)");
    assert_refused("{\"rate\":\"fast\"}", "t.json:1: $.rate: must be a number");
    assert_refused("{\"start\":\"2026-03-02 07:00\"}",
                   "t.json:1: $.start: must be a UTC time \"YYYY-MM-DDTHH:MM:SSZ\" (year 2000 or later)");
    assert_refused("{\"duration\":\"1:2\"}",
                   "t.json:1: $.duration: must be seconds (a number >= 0) or \"HH:MM:SS\", at most 7 days");
    assert_refused("{\"duration\":-5}",
                   "t.json:1: $.duration: must be seconds (a number >= 0) or \"HH:MM:SS\", at most 7 days");
}

static void test_device_errors(void **state)
{
    (void)state;
    assert_refused("{\"devices\":null}", "t.json:1: $: missing required key 'devices'");
    assert_refused("{\"devices\":[]}", "t.json:1: $.devices: must be a non-empty array of devices");
    assert_refused("{\"devices\":[\"bus-1\"]}", "t.json:1: $.devices[0]: must be an object");
    assert_refused("{\"devices\":[{\"role\":\"bus\"}]}", "t.json:1: $.devices[0]: missing required key 'id'");
    assert_refused("{\"devices\":[{\"id\":\"bus 1\"}]}",
                   "t.json:1: $.devices[0].id: 'bus 1' is not a device id (a letter, then letters, digits, '-' or "
                   "'_'; at most 64)");
    assert_refused("{\"devices\":[{\"id\":\"b\"},{\"id\":\"b\"}]}",
                   "t.json:1: $.devices[1].id: duplicate device id 'b' (also $.devices[0])");
    assert_refused("{\"devices\":[{\"id\":\"b\",\"role\":\"car\"}]}", "t.json:1: $.devices[0].role: 'car' is not one of bus, depot");
    assert_refused("{\"devices\":[{\"id\":\"b\",\"regsitration\":\"x\"}]}",
                   "t.json:1: $.devices[0].regsitration: unknown key (allowed here: id, role, registration, "
                   "route_number, stack, position, radius_m, note)");
    assert_refused("{\"devices\":[{\"id\":\"b\",\"route_number\":-1}]}",
                   "t.json:1: $.devices[0].route_number: must be a string or a non-negative integer");
    assert_refused("{\"devices\":[{\"id\":\"b\",\"stack\":\"gcp-modem-tls\"}]}",
                   "t.json:1: $.devices[0].stack: stack 'gcp-modem-tls' does not belong to profile 'aws'");
    assert_refused("{\"devices\":[{\"id\":\"b\",\"radius_m\":5}]}",
                   "t.json:1: $.devices[0]: position and radius_m apply to depots only (a bus follows the route)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"radius_m\":5}]}",
                   "t.json:1: $.devices[0]: missing required key 'position' (a depot needs one)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"position\":{\"lat\":1,\"lon\":2}}]}",
                   "t.json:1: $.devices[0]: missing required key 'radius_m' (a depot needs one)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"position\":{\"lat\":91,\"lon\":2},\"radius_m\":5}]}",
                   "t.json:1: $.devices[0].position.lat: 91 is out of range (-90 to 90)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"position\":{\"lat\":1,\"lng\":2},\"radius_m\":5}]}",
                   "t.json:1: $.devices[0].position.lng: unknown key (allowed here: lat, lon)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"position\":{\"lat\":1,\"lon\":2},\"radius_m\":0}]}",
                   "t.json:1: $.devices[0].radius_m: 0 is out of range (1 to 100000)");
    assert_refused("{\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"registration\":\"x\",\"position\":{\"lat\":1,\"lon\":2},"
                   "\"radius_m\":5}]}",
                   "t.json:1: $.devices[0]: registration and route_number apply to buses only");
}

static void test_route_errors(void **state)
{
    (void)state;
    assert_refused("{\"route\":null}", "t.json:1: $: missing required key 'route' (the buses need one)");
    assert_refused("{\"route\":{}}", "t.json:1: $.route: give exactly one of gpx, nmea or waypoints");
    assert_refused("{\"route\":{\"gpx\":\"a.gpx\",\"nmea\":\"b.nmea\"}}",
                   "t.json:1: $.route: give exactly one of gpx, nmea or waypoints");
    assert_refused("{\"route\":{\"kml\":\"a.kml\"}}",
                   "t.json:1: $.route.kml: unknown key (allowed here: gpx, nmea, waypoints, speed_kmh, laps, note)");
    assert_refused("{\"route\":{\"gpx\":\"traces/none.gpx\"}}",
                   "t.json:1: $.route.gpx: traces/none.gpx: cannot open: No such file or directory");
    assert_refused("{\"route\":{\"nmea\":\"../harness/tests/data/truncated.nmea\"}}",
                   "t.json:1: $.route.nmea: ../harness/tests/data/truncated.nmea:4: no checksum '*HH' at the end "
                   "(truncated sentence?)");
    assert_refused("{\"route\":{\"gpx\":\"traces/sample.nmea\"}}",
                   "t.json:1: $.route.gpx: traces/sample.nmea: not a GPX file (no <gpx> element)");
    assert_refused("{\"route\":{\"waypoints\":[{\"lat\":1,\"lon\":1}]}}",
                   "t.json:1: $.route.waypoints: must be an array of at least two waypoints");
    assert_refused("{\"route\":{\"waypoints\":[{\"lat\":1,\"lon\":1,\"speed\":3},{\"lat\":1,\"lon\":2}]}}",
                   "t.json:1: $.route.waypoints[0].speed: unknown key (allowed here: lat, lon, alt_m, speed_kmh, "
                   "dwell_s, note)");
    assert_refused("{\"route\":{\"waypoints\":[{\"lat\":1,\"lon\":1},{\"lat\":1,\"lon\":2}]}}",
                   "t.json:1: $.route.waypoints: waypoint 0: speed_kmh must be above 0 to reach the next waypoint");
    assert_refused("{\"route\":{\"waypoints\":[{\"lat\":1,\"lon\":1,\"speed_kmh\":400},{\"lat\":1,\"lon\":2}]}}",
                   "t.json:1: $.route.waypoints[0].speed_kmh: 400 is out of range (0 to 300)");

    assert_refused("{\"route\":{\"gpx\":\"traces/sample.gpx\",\"laps\":2}}",
                   "t.json:1: $.route.laps: laps need a closed route: its end is 530 m from its start (at most 200 m)");
    assert_refused("{\"route\":{\"gpx\":\"traces/city-loop.gpx\",\"laps\":1.5}}",
                   "t.json:1: $.route.laps: must be a whole number");
    assert_refused("{\"route\":{\"gpx\":\"traces/city-loop.gpx\",\"laps\":0}}",
                   "t.json:1: $.route.laps: 0 is out of range (1 to 1000)");

    struct scenario s;
    struct scenario_error err;
    assert_int_equal(load_patched("{\"route\":{\"gpx\":\"traces/city-loop.gpx\",\"laps\":3}}", &s, &err), 0);
    assert_int_equal(s.route.laps, 3);
    assert_true(s.duration_s == 3 * 1083.0);
    scenario_free(&s);
    assert_int_equal(load_patched("{\"route\":{\"gpx\":\"traces/sample.gpx\",\"speed_kmh\":20}}", &s, &err), 0);
    assert_int_equal(s.route.laps, 1);
    assert_int_equal(s.route.source, SCENARIO_ROUTE_GPX);
    assert_true(s.route.speed_kmh == 20.0);
    assert_true(s.route.route.start_epoch_s > 0); /* the trace is dated ... */
    assert_true(s.start_epoch_s == 0);           /* ... but only "start" sets the trip's date */
    scenario_free(&s);
}

static void test_timeline_entry_errors(void **state)
{
    (void)state;
    assert_refused("{\"timeline\":{}}", "t.json:1: $.timeline: must be an array of entries");
    assert_refused("{\"timeline\":null}", "t.json:1: $: missing required key 'timeline'");
    assert_entry_refused("{\"config\":{}}", "t.json:1: $.timeline[0]: missing required key 'at'");
    assert_entry_refused("{\"at\":\"7:00\",\"config\":{}}",
                         "t.json:1: $.timeline[0].at: must be seconds (a number >= 0) or \"HH:MM:SS\", at most 7 days");
    assert_entry_refused("{\"at\":\"00:61:00\",\"config\":{}}",
                         "t.json:1: $.timeline[0].at: must be seconds (a number >= 0) or \"HH:MM:SS\", at most 7 days");
    assert_entry_refused("{\"at\":200,\"config\":{}}",
                         "t.json:1: $.timeline[0].at: 00:03:20 is after the end of the trip (00:01:51, the end of the "
                         "route)");
    assert_entry_refused("{\"at\":1}", "t.json:1: $.timeline[0]: no action: give one of config, command, read_state, "
                                       "driver, fault, expect_message, expect_order, expect_no_loss, "
                                       "expect_connection, expect_ack, expect_uart");
    assert_entry_refused("{\"at\":1,\"config\":{},\"fault\":\"reset\"}",
                         "t.json:1: $.timeline[0]: one action per entry: both 'config' and 'fault' given");
    assert_entry_refused("{\"at\":1,\"confgi\":{}}",
                         "t.json:1: $.timeline[0].confgi: unknown key (allowed here: at, device, note, config, "
                         "command, read_state, driver, fault, expect_message, expect_order, expect_no_loss, "
                         "expect_connection, expect_ack, expect_uart)");
    assert_entry_refused("{\"at\":1,\"device\":\"bus-9\",\"config\":{}}",
                         "t.json:1: $.timeline[0].device: no device 'bus-9' in $.devices");
    assert_refused("{\"devices\":[{\"id\":\"a\"},{\"id\":\"b\"}],\"timeline\":[{\"at\":1,\"config\":{}}]}",
                   "t.json:1: $.timeline[0]: missing required key 'device' (the scenario has more than one bus)");
    assert_entry_refused("{\"at\":1,\"device\":\"bus-1\",\"fault\":\"broker restart\"}",
                         "t.json:1: $.timeline[0].device: broker restart applies to the whole run, not to one device");
    assert_entry_refused("{\"at\":1,\"device\":\"bus-1\",\"expect_order\":[\"a\",\"b\"]}",
                         "t.json:1: $.timeline[0].device: expect_order applies to the whole run, not to one device");
    assert_refused("{\"duration\":50,\"timeline\":[{\"at\":60,\"config\":{}}]}",
                   "t.json:1: $.timeline[0].at: 00:01:00 is after the end of the trip (00:00:50, the duration)");
    assert_refused("{\"route\":null,\"devices\":[{\"id\":\"d\",\"role\":\"depot\",\"position\":{\"lat\":1,\"lon\":2},"
                   "\"radius_m\":5}],\"timeline\":[]}",
                   "t.json:1: $: the trip has no length: give duration (there is no route)");
}

static void test_cloud_and_driver_errors(void **state)
{
    (void)state;
    assert_entry_refused("{\"at\":1,\"config\":[1]}", "t.json:1: $.timeline[0].config: must be the configuration (a JSON object)");
    assert_entry_refused("{\"at\":1,\"command\":\"reboot\"}",
                         "t.json:1: $.timeline[0].command: unknown command 'reboot' (query_location, query_picture or "
                         "publish)");
    assert_entry_refused("{\"at\":1,\"command\":{\"name\":\"query_pic\"}}",
                         "t.json:1: $.timeline[0].command.name: unknown command 'query_pic' (query_location, "
                         "query_picture or publish)");
    assert_entry_refused("{\"at\":1,\"command\":{\"name\":\"query_picture\",\"args\":3}}",
                         "t.json:1: $.timeline[0].command.args: must be an object");
    assert_entry_refused("{\"at\":1,\"command\":{\"name\":\"query_picture\",\"arg\":{}}}",
                         "t.json:1: $.timeline[0].command.arg: unknown key (allowed here: name, args)");
    assert_entry_refused("{\"at\":1,\"command\":5}",
                         "t.json:1: $.timeline[0].command: must be a command name or {\"name\": ..., \"args\": {...}}");
    assert_entry_refused("{\"at\":1,\"command\":{\"name\":\"publish\"}}",
                         "t.json:1: $.timeline[0].command: the publish command needs args {\"topic\": ..., \"payload\": ...}");
    assert_entry_refused("{\"at\":1,\"command\":{\"name\":\"publish\",\"args\":{\"topic\":\"/x\"}}}",
                         "t.json:1: $.timeline[0].command.args: missing required key 'payload'");
    assert_entry_refused("{\"at\":1,\"read_state\":{\"match\":{\"v\":{\"least\":1}}}}",
                         "t.json:1: $.timeline[0].read_state.match.v.least: unknown condition 'least' (use equals, "
                         "not_equals, min, max, present, one_of or contains)");
    assert_entry_refused("{\"at\":1,\"read_state\":true}", "t.json:1: $.timeline[0].read_state: must be an object");
    assert_entry_refused("{\"at\":1,\"driver\":{\"behaviour\":\"texting\",\"picture_bytes\":10}}",
                         "t.json:1: $.timeline[0].driver.behaviour: 'texting' is not one of phone, drinking, drowsy");
    assert_entry_refused("{\"at\":1,\"driver\":{\"behaviour\":\"phone\"}}",
                         "t.json:1: $.timeline[0].driver: give exactly one of picture (a file) or picture_bytes (a "
                         "synthetic picture's size)");
    assert_entry_refused("{\"at\":1,\"driver\":{\"behaviour\":\"phone\",\"picture_bytes\":1.5}}",
                         "t.json:1: $.timeline[0].driver.picture_bytes: must be a whole number of bytes");
    assert_entry_refused("{\"at\":1,\"driver\":{\"behaviour\":\"phone\",\"picture_bytes\":0}}",
                         "t.json:1: $.timeline[0].driver.picture_bytes: 0 is out of range (1 to 4.1943e+06)");
    assert_entry_refused("{\"at\":1,\"driver\":{\"behaviour\":\"phone\",\"picture\":\"pictures/none.jpg\"}}",
                         "t.json:1: $.timeline[0].driver.picture: cannot read 'pictures/none.jpg': No such file or "
                         "directory");
    assert_entry_refused("{\"at\":1,\"device\":\"depot-a\",\"driver\":{\"behaviour\":\"phone\",\"picture_bytes\":10}}",
                         "t.json:1: $.timeline[0].device: driver inputs go to a bus, and 'depot-a' is a depot");
}

static void test_fault_lines(void **state)
{
    (void)state;
    static const char *const good[] = {
        "net down", "net up", "reg denied", "reg roaming", "signal 31", "signal 99 7", "reset", "stall 2.5", "stall 0",
        "uart-loss 0.5", "uart-corrupt 1 tx", "seed 42", "sim absent", "latency instant", "order info-first",
        "urc between-lines", "host a.example 127.0.0.1", "gnss nofix", "gnss fix 50.1 30.2", "gnss fix 50 30 120 40 270",
        "drop tcp", "drop tcp 9", "drop mqtt 1", "drop cch", "broker rotate-cert", "clock jump 90", "clock jump 15m",
        "clock jump 2d",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char entry[256];
        struct scenario s;
        snprintf(entry, sizeof(entry), "{\"at\":1,\"fault\":\"%s\"}", good[i]);
        assert_entry_accepted(entry, &s);
        assert_string_equal(s.actions[0].u.fault.line,
                            strncmp(good[i], "clock", 5) == 0 ? s.actions[0].u.fault.line : good[i]);
        scenario_free(&s);
    }
    static const char *const bad[][2] = {
        { "net sideways", "usage: net up|down" },
        { "reg", "usage: reg none|home|searching|denied|unknown|roaming" },
        { "signal 32", "usage: signal RSSI(0-31|99) [BER(0-7|99)]" },
        { "signal 20 8", "usage: signal RSSI(0-31|99) [BER(0-7|99)]" },
        { "reset now", "usage: reset" },
        { "stall -1", "usage: stall SECONDS(0-86400)" },
        { "uart-loss 2", "usage: uart-loss RATE(0..1) [rx|tx|both]" },
        { "uart-corrupt 0.1 up", "usage: uart-corrupt RATE(0..1) [rx|tx|both]" },
        { "seed 0", "usage: seed N(>0)" },
        { "sim gone", "usage: sim ready|absent" },
        { "latency slow", "usage: latency instant|realistic" },
        { "order any", "usage: order ok-first|info-first" },
        { "urc never", "usage: urc until-final|between-lines" },
        { "host a", "usage: host NAME ADDRESS" },
        { "gnss fix 95 30", "usage: gnss fix LAT LON [ALT [SPEED_KMH [COURSE]]] | gnss nofix" },
        { "drop udp", "usage: drop tcp [LINK(0-9)] | drop mqtt [IDX(0-1)] | drop cch [SESSION(0-1)]" },
        { "drop mqtt 2", "usage: drop tcp [LINK(0-9)] | drop mqtt [IDX(0-1)] | drop cch [SESSION(0-1)]" },
        { "broker stop", "usage: broker restart | broker rotate-cert" },
        { "clock jump", "usage: clock jump DURATION (e.g. 90, 90s, 15m, 24h, 2d)" },
        { "clock jump 3w", "usage: clock jump DURATION (e.g. 90, 90s, 15m, 24h, 2d)" },
        { "clock jump -5", "usage: clock jump DURATION (e.g. 90, 90s, 15m, 24h, 2d)" },
        { "explode", "unknown fault 'explode' (net, reg, signal, reset, stall, uart-loss, uart-corrupt, seed, sim, "
                     "latency, order, urc, host, gnss, drop, broker, clock)" },
        { "  ", "must be a fault line such as \"net down\" (at most 255 characters)" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char entry[256];
        char message[512];
        snprintf(entry, sizeof(entry), "{\"at\":1,\"fault\":\"%s\"}", bad[i][0]);
        snprintf(message, sizeof(message), "t.json:1: $.timeline[0].fault: %s", bad[i][1]);
        assert_entry_refused(entry, message);
    }
    assert_entry_refused("{\"at\":1,\"fault\":[\"net\",\"down\"]}",
                         "t.json:1: $.timeline[0].fault: must be a fault line such as \"net down\" (at most 255 "
                         "characters)");
}

static void test_expectation_errors(void **state)
{
    (void)state;
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/bus/events\"}}",
                         "t.json:1: $.timeline[0].expect_message: missing required key 'within'");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"within\":5}}",
                         "t.json:1: $.timeline[0].expect_message: give exactly one of topic (MQTT) or pubsub (a gcp "
                         "Pub/Sub topic)");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/bus/#/x\",\"within\":5}}",
                         "t.json:1: $.timeline[0].expect_message.topic: '/bus/#/x' is not an MQTT topic filter ('+' "
                         "must be a whole level, '#' the last one)");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/bus+/x\",\"within\":5}}",
                         "t.json:1: $.timeline[0].expect_message.topic: '/bus+/x' is not an MQTT topic filter ('+' "
                         "must be a whole level, '#' the last one)");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"pubsub\":\"bus-events\",\"within\":5}}",
                         "t.json:1: $.timeline[0].expect_message.pubsub: Pub/Sub topics exist only with profile gcp");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":0}}",
                         "t.json:1: $.timeline[0].expect_message.within: must be above zero");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":-1}}",
                         "t.json:1: $.timeline[0].expect_message.count: must be a whole number >= 0");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":{\"atleast\":1}}}",
                         "t.json:1: $.timeline[0].expect_message.count.atleast: unknown key (allowed here: exactly, "
                         "at_least, at_most)");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":{\"exactly\":1,\"at_most\":2}}}",
                         "t.json:1: $.timeline[0].expect_message.count: exactly cannot be combined with at_least or at_most");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":{\"at_least\":3,\"at_most\":2}}}",
                         "t.json:1: $.timeline[0].expect_message.count: at_most 2 is below at_least 3");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":{\"at_most\":1.5}}}",
                         "t.json:1: $.timeline[0].expect_message.count.at_most: must be a whole number >= 0");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"count\":\"many\"}}",
                         "t.json:1: $.timeline[0].expect_message.count: must be a number (exactly) or "
                         "{\"exactly\"|\"at_least\"|\"at_most\": N}");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"match\":{\"speed\":{\"min\":\"x\"}}}}",
                         "t.json:1: $.timeline[0].expect_message.match.speed.min: min must be a number");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"match\":[]}}",
                         "t.json:1: $.timeline[0].expect_message.match: must be an object of field paths and conditions");
    assert_entry_refused("{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"qos\":1}}",
                         "t.json:1: $.timeline[0].expect_message.qos: unknown key (allowed here: topic, pubsub, match, "
                         "within, count, id)");
    assert_refused("{\"timeline\":[{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"id\":\"x\"}},"
                   "{\"at\":2,\"expect_message\":{\"topic\":\"/b\",\"within\":5,\"id\":\"x\"}}]}",
                   "t.json:1: $.timeline[1].expect_message.id: id 'x' is already used by $.timeline[0]");
    assert_refused("{\"timeline\":[{\"at\":1,\"expect_message\":{\"topic\":\"/a\",\"within\":5,\"id\":\"x\"}},"
                   "{\"at\":2,\"expect_order\":[\"x\",\"y\"]}]}",
                   "t.json:1: $.timeline[1].expect_order[1]: no expect_message has id 'y'");
    assert_entry_refused("{\"at\":1,\"expect_order\":[\"x\"]}",
                         "t.json:1: $.timeline[0].expect_order: must be an array of at least two expect_message ids");
    assert_entry_refused("{\"at\":1,\"expect_order\":[\"x\",3]}",
                         "t.json:1: $.timeline[0].expect_order[1]: must be an expect_message id");
    assert_entry_refused("{\"at\":1,\"expect_no_loss\":{\"key\":\"seq\"}}",
                         "t.json:1: $.timeline[0].expect_no_loss: missing required key 'topic'");
    assert_entry_refused("{\"at\":1,\"expect_no_loss\":{\"topic\":\"/a\",\"key\":\"a..b\"}}",
                         "t.json:1: $.timeline[0].expect_no_loss.key: malformed field path 'a..b'");
    assert_entry_refused("{\"at\":1,\"expect_connection\":{\"state\":\"online\"}}",
                         "t.json:1: $.timeline[0].expect_connection.state: 'online' is not one of disconnected, connected");
    assert_entry_refused("{\"at\":1,\"expect_connection\":{}}",
                         "t.json:1: $.timeline[0].expect_connection: missing required key 'state'");
    assert_entry_refused("{\"at\":1,\"expect_ack\":{\"what\":\"config\",\"within\":5,\"version\":0}}",
                         "t.json:1: $.timeline[0].expect_ack.version: must be a version number (> 0) or \"latest\"");
    assert_entry_refused("{\"at\":1,\"expect_ack\":{\"what\":\"state\",\"within\":5}}",
                         "t.json:1: $.timeline[0].expect_ack.what: device state exists only with profile gcp (use "
                         "shadow)");
    assert_entry_refused("{\"at\":1,\"expect_ack\":{\"what\":\"config\"}}",
                         "t.json:1: $.timeline[0].expect_ack: missing required key 'within'");
    assert_entry_refused("{\"at\":1,\"expect_uart\":{}}",
                         "t.json:1: $.timeline[0].expect_uart: give contains and/or absent (arrays of strings)");
    assert_entry_refused("{\"at\":1,\"expect_uart\":{\"contains\":[]}}",
                         "t.json:1: $.timeline[0].expect_uart.contains: must be a non-empty array of strings");
    assert_entry_refused("{\"at\":1,\"expect_uart\":{\"absent\":[\"a\",\"\"]}}",
                         "t.json:1: $.timeline[0].expect_uart.absent[1]: must be a non-empty string");
    assert_entry_refused("{\"at\":1,\"expect_uart\":{\"contain\":[\"a\"]}}",
                         "t.json:1: $.timeline[0].expect_uart.contain: unknown key (allowed here: contains, absent)");
}

static void test_gcp_only_shadow_refused(void **state)
{
    (void)state;
    assert_refused("{\"profile\":\"gcp\",\"stack\":\"gcp-mcu-tls\",\"timeline\":[{\"at\":1,\"expect_ack\":"
                   "{\"what\":\"shadow\",\"within\":5}}]}",
                   "t.json:1: $.timeline[0].expect_ack.what: a shadow exists only with profile aws");
}

static void test_times(void **state)
{
    (void)state;
    double t = -1;
    json_t *v = json_string("01:02:03.5");
    assert_int_equal(scenario_parse_time(v, &t), 0);
    assert_true(t == 3723.5);
    json_decref(v);
    v = json_string("100:00:00");
    assert_int_equal(scenario_parse_time(v, &t), 0);
    assert_true(t == 360000.0);
    json_decref(v);
    static const char *const bad[] = { "1:2:3", "01:02", "01:02:03x", "aa:bb:cc", "01:60:00", "01:00:60", "-1:00:00",
                                       "200:00:00", "01:02:" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = json_string(bad[i]);
        if (scenario_parse_time(v, &t) == 0) {
            fail_msg("accepted %s", bad[i]);
        }
        json_decref(v);
    }
    v = json_real(12.25);
    assert_int_equal(scenario_parse_time(v, &t), 0);
    assert_true(t == 12.25);
    json_decref(v);
    v = json_true();
    assert_int_equal(scenario_parse_time(v, &t), -1);

    assert_int_equal(scenario_parse_duration("90", &t), 0);
    assert_true(t == 90.0);
    assert_int_equal(scenario_parse_duration("1.5h", &t), 0);
    assert_true(t == 5400.0);
    assert_int_equal(scenario_parse_duration("2d", &t), 0);
    assert_true(t == 172800.0);
    assert_int_equal(scenario_parse_duration("0", &t), -1);
    assert_int_equal(scenario_parse_duration("h", &t), -1);
    assert_int_equal(scenario_parse_duration("5 m", &t), -1);
    assert_int_equal(scenario_parse_duration("400d", &t), -1);

    char buf[16];
    scenario_format_time(3723.9, buf, sizeof(buf));
    assert_string_equal(buf, "01:02:03");
    scenario_format_time(-3, buf, sizeof(buf));
    assert_string_equal(buf, "00:00:00");
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(scenario_profile_str(SCENARIO_PROFILE_GCP), "gcp");
    assert_string_equal(scenario_stack_str(SCENARIO_STACK_AWS_MCU_TLS), "aws-mcu-tls");
    assert_int_equal(scenario_stack_profile(SCENARIO_STACK_GCP_MCU_TLS), SCENARIO_PROFILE_GCP);
    assert_true(scenario_stack_mcu_tls(SCENARIO_STACK_GCP_MCU_TLS));
    assert_false(scenario_stack_mcu_tls(SCENARIO_STACK_AWS_MODEM_TLS));
    assert_string_equal(scenario_role_str(SCENARIO_ROLE_DEPOT), "depot");
    assert_string_equal(scenario_action_str(SCENARIO_ACTION_EXPECT_UART), "expect_uart");
    assert_string_equal(scenario_action_str((enum scenario_action_kind)99), "?");
    assert_string_equal(scenario_behaviour_str(SCENARIO_BEHAVIOUR_DROWSY), "drowsy");
    assert_string_equal(scenario_ack_str(SCENARIO_ACK_SHADOW), "shadow");
}

static void test_shipped_scenarios_load(void **state)
{
    (void)state;
    const char *dir = CELLBENCH_SOURCE_DIR "/scenarios";
    DIR *d = opendir(dir);
    assert_non_null(d);
    int loaded = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0) {
            continue;
        }
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct scenario s;
        struct scenario_error err;
        if (scenario_load(path, &s, &err) != 0) {
            fail_msg("%s", err.message);
        }
        assert_true(s.action_count > 0);
        scenario_free(&s);
        loaded++;
    }
    closedir(d);
    assert_true(loaded >= 16);
}

static void test_verdicts(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    const char *patch =
        "{\"devices\":[{\"id\":\"bus-1\"},{\"id\":\"bus-2\"}],\"timeline\":["
        "{\"at\":10,\"expect_message\":{\"topic\":\"/bus/events\",\"id\":\"loc\",\"within\":20,"
        "\"match\":{\"type\":\"location\"}}},"
        "{\"at\":0,\"expect_message\":{\"topic\":\"/bus/events\",\"id\":\"fast\",\"within\":100,"
        "\"count\":{\"at_least\":2},\"match\":{\"type\":\"speed\"}}},"
        "{\"at\":0,\"device\":\"bus-2\",\"expect_message\":{\"topic\":\"/bus/#\",\"within\":100,\"count\":0}},"
        "{\"at\":100,\"expect_order\":[\"loc\",\"fast\"]},"
        "{\"at\":40,\"device\":\"bus-1\",\"expect_no_loss\":{\"topic\":\"/bus/events\"}},"
        "{\"at\":100,\"device\":\"bus-1\",\"expect_no_loss\":{\"topic\":\"/bus/events\"}},"
        "{\"at\":100,\"device\":\"bus-1\",\"expect_uart\":{\"contains\":[\"AT+CMQTTTOPIC\"],\"absent\":[\"BEGIN\"]}}]}";
    if (load_patched(patch, &s, &err) != 0) {
        fail_msg("%s", err.message);
    }
    const char *texts[] = { "{\"type\":\"location\",\"seq\":1}", "{\"type\":\"speed\",\"seq\":2}",
                            "{\"type\":\"speed\",\"seq\":4}", "{\"type\":\"speed\",\"seq\":3}" };
    const double times[] = { 12, 30, 50, 60 };
    json_t *msgs[4];
    struct expect_record log[4];
    for (size_t i = 0; i < 4; i++) {
        msgs[i] = json_loads(texts[i], 0, NULL);
        log[i] = (struct expect_record){ times[i], "/bus/events", NULL, "bus-1", msgs[i] };
    }
    char why[256];
    const struct scenario_action *a = s.actions;
    struct expect_query q;
    assert_int_equal(scenario_message_query(&s, &a[0], &q), 0);
    assert_true(q.from_s == 10.0 && q.to_s == 30.0);
    assert_null(q.sender);
    assert_int_equal(scenario_message_query(&s, &a[3], &q), -1);
    assert_true(scenario_check_message(&s, &a[0], log, 4, why, sizeof(why)));
    assert_string_equal(why, "");
    assert_true(scenario_check_message(&s, &a[1], log, 4, why, sizeof(why)));
    assert_false(scenario_check_message(&s, &a[1], log, 2, why, sizeof(why)));
    assert_string_equal(why, "1 message, want at least 2 on /bus/events matching between 00:00:00 and 00:01:40");
    assert_true(scenario_check_message(&s, &a[2], log, 4, why, sizeof(why)));
    log[3].sender = "bus-2";
    assert_false(scenario_check_message(&s, &a[2], log, 4, why, sizeof(why)));
    assert_string_equal(why, "1 message, want exactly 0 on /bus/# matching between 00:00:00 and 00:01:40");
    log[3].sender = "bus-1";
    assert_false(scenario_check_message(&s, &a[3], log, 4, why, sizeof(why)));
    assert_string_equal(why, "not an expect_message");

    assert_true(scenario_check_order(&s, &a[3], log, 4, why, sizeof(why)));
    log[0].t_s = 35; /* the location now arrives after the first speed event, and outside its window */
    assert_false(scenario_check_order(&s, &a[3], log, 4, why, sizeof(why)));
    assert_string_equal(why, "'loc' never arrived");
    log[0].t_s = 29;
    log[1].t_s = 28;
    assert_false(scenario_check_order(&s, &a[3], log, 4, why, sizeof(why)));
    assert_string_equal(why, "'fast' (00:00:28) arrived before 'loc' (00:00:29)");
    log[0].t_s = 12;
    log[1].t_s = 30;

    assert_true(scenario_check_no_loss(&s, &a[4], log, 4, why, sizeof(why)));  /* 1, 2 by 00:00:40 */
    assert_false(scenario_check_no_loss(&s, &a[5], log, 3, why, sizeof(why))); /* 1, 2, 4 */
    assert_string_equal(why, "sequence number 3 lost");
    assert_true(scenario_check_no_loss(&s, &a[5], log, 4, why, sizeof(why)));  /* 1, 2, 4, 3 */
    assert_false(scenario_check_no_loss(&s, &a[5], log, 0, why, sizeof(why)));
    assert_string_equal(why, "no message on /bus/events to check");

    const char capture[] = "> AT+CMQTTTOPIC=0,11\r\n< \r\n>\r\n> /bus/events";
    assert_true(scenario_check_uart(&a[6], capture, sizeof(capture) - 1, why, sizeof(why)));
    assert_false(scenario_check_uart(&a[6], capture, 10, why, sizeof(why)));
    assert_string_equal(why, "the UART capture does not contain \"AT+CMQTTTOPIC\"");
    const char leaky[] = "AT+CMQTTTOPIC -----BEGIN CERTIFICATE-----";
    assert_false(scenario_check_uart(&a[6], leaky, sizeof(leaky) - 1, why, sizeof(why)));
    assert_string_equal(why, "the UART capture contains \"BEGIN\" (at byte 19)");
    assert_false(scenario_check_uart(&a[0], leaky, sizeof(leaky) - 1, why, sizeof(why)));

    for (size_t i = 0; i < 4; i++) {
        json_decref(msgs[i]);
    }
    scenario_free(&s);
}

static void test_connection_and_ack_verdicts(void **state)
{
    (void)state;
    struct scenario s;
    struct scenario_error err;
    const char *patch =
        "{\"profile\":\"gcp\",\"stack\":\"gcp-modem-tls\",\"devices\":[{\"id\":\"bus-1\"},{\"id\":\"bus-2\"}],"
        "\"timeline\":["
        "{\"at\":10,\"device\":\"bus-1\",\"expect_connection\":{\"state\":\"connected\"}},"
        "{\"at\":50,\"device\":\"bus-1\",\"expect_connection\":{\"state\":\"disconnected\",\"within\":30}},"
        "{\"at\":0,\"device\":\"bus-2\",\"expect_connection\":{\"state\":\"connected\",\"within\":5}},"
        "{\"at\":0,\"device\":\"bus-1\",\"expect_ack\":{\"what\":\"config\",\"version\":2,\"within\":60}},"
        "{\"at\":0,\"device\":\"bus-1\",\"expect_ack\":{\"what\":\"config\",\"within\":60}}]}";
    if (load_patched(patch, &s, &err) != 0) {
        fail_msg("%s", err.message);
    }
    const struct scenario_conn_event conn[] = {
        { 3, "bus-1", true }, { 4, "bus-2", true }, { 4.5, "bus-2", false }, { 70, "bus-1", false }, { 75, "bus-1", true },
    };
    const struct scenario_ack_event acks[] = {
        { 5, "bus-1", SCENARIO_ACK_CONFIG, 1 }, { 40, "bus-2", SCENARIO_ACK_CONFIG, 2 },
        { 45, "bus-1", SCENARIO_ACK_STATE, 2 }, { 61, "bus-1", SCENARIO_ACK_CONFIG, 2 },
    };
    char why[256];
    const struct scenario_action *a = s.actions;
    assert_true(scenario_check_connection(&s, &a[0], conn, 5, why, sizeof(why)));
    assert_false(scenario_check_connection(&s, &a[0], conn, 0, why, sizeof(why)));
    assert_string_equal(why, "bus-1 was not connected at 00:00:10");
    assert_true(scenario_check_connection(&s, &a[1], conn, 5, why, sizeof(why)));
    assert_false(scenario_check_connection(&s, &a[1], conn, 3, why, sizeof(why)));
    assert_string_equal(why, "bus-1 was not disconnected between 00:00:50 and 00:01:20");
    assert_true(scenario_check_connection(&s, &a[2], conn, 5, why, sizeof(why))); /* connected at 4 s, within 5 */
    assert_false(scenario_check_connection(&s, &a[3], conn, 5, why, sizeof(why)));
    assert_string_equal(why, "not an expect_connection");

    assert_false(scenario_check_ack(&s, &a[3], acks, 4, 2, why, sizeof(why)));
    assert_string_equal(why, "bus-1 did not acknowledge config version 2 between 00:00:00 and 00:01:00");
    const struct scenario_ack_event in_time[] = { { 60, "bus-1", SCENARIO_ACK_CONFIG, 2 } };
    assert_true(scenario_check_ack(&s, &a[3], in_time, 1, 9, why, sizeof(why)));
    assert_true(scenario_check_ack(&s, &a[4], acks, 4, 1, why, sizeof(why)));   /* latest = 1 */
    assert_false(scenario_check_ack(&s, &a[4], acks, 4, 3, why, sizeof(why)));  /* latest = 3 */
    assert_string_equal(why, "bus-1 did not acknowledge config version 3 between 00:00:00 and 00:01:00");
    assert_false(scenario_check_ack(&s, &a[0], acks, 4, 1, why, sizeof(why)));
    assert_string_equal(why, "not an expect_ack");
    scenario_free(&s);
}

/* Run the program with arguments (stderr folded into stdout); returns its exit status. */
static int run_program(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", SCENARIO_PROGRAM, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_program_validate_and_list(void **state)
{
    (void)state;
    char out[8192];
    assert_int_equal(run_program("validate '" DATA "/full.json'", out, sizeof(out)), 0);
    assert_string_equal(out, DATA "/full.json: ok: full (gcp-modem-tls, 2 buses, 1 depot, 20 timeline entries, 00:01:10)\n");
    assert_int_equal(run_program("validate '" DATA "/full.json' '" DATA "/syntax.json'", out, sizeof(out)), 1);
    assert_non_null(strstr(out, DATA "/syntax.json:4:1: string or '}' expected near '}'\n"));
    assert_int_equal(run_program("validate", out, sizeof(out)), 2);
    assert_non_null(strstr(out, "usage: cellbench-scenario validate FILE..."));
    assert_int_equal(run_program("frobnicate x", out, sizeof(out)), 2);
    assert_int_equal(run_program("--help", out, sizeof(out)), 0);
    assert_int_equal(run_program("list '" CELLBENCH_SOURCE_DIR "/scenarios'", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "city-gcp-mcu-tls "));
    assert_non_null(strstr(out, "sample-nmea "));
    assert_int_equal(run_program("list '" DATA "'", out, sizeof(out)), 1);
    assert_non_null(strstr(out, "full "));
    assert_int_equal(run_program("list /nonexistent-dir", out, sizeof(out)), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_is_valid),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_file_and_syntax_errors),
        cmocka_unit_test(test_error_lines),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_device_errors),
        cmocka_unit_test(test_route_errors),
        cmocka_unit_test(test_timeline_entry_errors),
        cmocka_unit_test(test_cloud_and_driver_errors),
        cmocka_unit_test(test_fault_lines),
        cmocka_unit_test(test_expectation_errors),
        cmocka_unit_test(test_gcp_only_shadow_refused),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_shipped_scenarios_load),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_connection_and_ack_verdicts),
        cmocka_unit_test(test_program_validate_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
