/*
 * test_fw_bus.c - the bus application's data: +CGPSINFO fixes (the real
 * examples, no fix, malformed), configuration and commands (valid, invalid,
 * oversized; the previous configuration survives a rejected one), depot
 * distance and arrival, the exact JSON of every event, and a picture split
 * into chunks under the modem's 10240-byte payload and put back together.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fw_bus.h"

#define LINE(s) s, sizeof(s) - 1

static void test_cgpsinfo(void **state)
{
    struct fw_bus_fix fix;
    assert_int_equal(fw_bus_parse_cgpsinfo(LINE("+CGPSINFO: 3113.343286,N,12121.234064,E,131025,"
                                                "041754.0,11.8,0.0,"), &fix), FW_BUS_OK);
    assert_int_equal(fix.lat_e6, 31222388);
    assert_int_equal(fix.lon_e6, 121353901);
    assert_int_equal(fix.speed_kmh_e1, 0);
    assert_true(fix.unix_time == 1760329074u);
    assert_int_equal(fw_bus_parse_cgpsinfo(LINE("+CGPSINFO: 2650.89602,S,06512.044857,W,271119,"
                                                "160019.0,420.2,10.0,183.1"), &fix), FW_BUS_OK);
    assert_int_equal(fix.lat_e6, -26848267);
    assert_int_equal(fix.lon_e6, -65200748);
    assert_int_equal(fix.speed_kmh_e1, 185); /* 10 kn = 18.52 km/h */
    assert_true(fix.unix_time == 1574870419u);
    assert_int_equal(fw_bus_parse_cgpsinfo(LINE("+CGPSINFO: ,,,,,,,,"), &fix), FW_BUS_NO_FIX);
}

static void test_cgpsinfo_rejects(void **state)
{
    static const char *bad[] = {
        "+CGPSINFO: 3160.000000,N,12121.234064,E,131025,041754.0,11.8,0.0,",  /* 60 minutes */
        "+CGPSINFO: 3113.343286,X,12121.234064,E,131025,041754.0,11.8,0.0,",  /* hemisphere */
        "+CGPSINFO: 9113.343286,N,12121.234064,E,131025,041754.0,11.8,0.0,",  /* 91 degrees */
        "+CGPSINFO: 3113.343286,N,12121.234064,E,131325,041754.0,11.8,0.0,",  /* month 13 */
        "+CGPSINFO: 3113.343286,N,12121.234064,E,131025,041754.0,11.8,fast,", /* speed */
        "+CGPSINFO: 3113.343286,N,12121.234064",                              /* cut short */
        "+CGPSINFO: 111111111111191,N,12121.234064,E,131025,041754.0,1,0.0,", /* found by fuzzing */
        "+CGPSINF0: 3113.343286,N,12121.234064,E,131025,041754.0,11.8,0.0,",  /* other line */
    };
    struct fw_bus_fix fix;
    size_t i;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (fw_bus_parse_cgpsinfo(bad[i], strlen(bad[i]), &fix) != FW_BUS_INVALID)
            fail_msg("accepted: %s", bad[i]);
    }
}

static const char config_json[] =
    "{\"route\":\"42\",\"speed_threshold_kmh\":50.5,\"report_interval_s\":15,\"future\":[1,2],"
    "\"depot\":{\"name\":\"central\",\"lat\":37.0,\"lon\":-122.0,\"radius_m\":100}}";

static void test_config(void **state)
{
    struct fw_bus_config cfg, before;
    char reason[80];
    static const struct {
        const char *json;
        const char *reason;
    } bad[] = {
        {"{\"depot\":{\"name\":\"c\",\"lat\":1,\"lon\":1}}", "missing or invalid: speed_threshold_kmh"},
        {"{\"speed_threshold_kmh\":-1,\"depot\":{\"name\":\"c\",\"lat\":1,\"lon\":1}}",
         "missing or invalid: speed_threshold_kmh"},
        {"{\"speed_threshold_kmh\":50,\"depot\":\"north\"}", "missing or invalid: depot"},
        {"{\"speed_threshold_kmh\":50,\"depot\":{\"name\":\"a/b\",\"lat\":1,\"lon\":1}}",
         "missing or invalid: depot.name"},
        {"{\"speed_threshold_kmh\":50,\"depot\":{\"name\":\"c\",\"lat\":91,\"lon\":1}}",
         "missing or invalid: depot.lat"},
        {"{\"speed_threshold_kmh\":50,\"depot\":{\"name\":\"c\",\"lat\":1,\"lon\":1,\"radius_m\":5}}",
         "missing or invalid: depot.radius_m"},
        {"{\"speed_threshold_kmh\":50,\"route\":7,\"depot\":{\"name\":\"c\",\"lat\":1,\"lon\":1}}",
         "missing or invalid: route"},
        {"{\"speed_threshold_kmh\":50,", "invalid JSON: syntax error"},
        {"[1]", "invalid JSON: not an object"},
        {"{\"speed_threshold_kmh\":50,\"x\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,"
         "21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46]}",
         "invalid JSON: no space"},
    };
    size_t i;
    assert_int_equal(fw_bus_parse_config(LINE(config_json), &cfg, reason, sizeof(reason)), FW_BUS_OK);
    assert_string_equal(cfg.route, "42");
    assert_int_equal(cfg.speed_threshold_kmh_e1, 505);
    assert_int_equal(cfg.report_interval_s, 15);
    assert_string_equal(cfg.depot, "central");
    assert_int_equal(cfg.depot_lat_e6, 37000000);
    assert_int_equal(cfg.depot_lon_e6, -122000000);
    assert_int_equal(cfg.depot_radius_m, 100);
    assert_int_equal(fw_bus_parse_config(LINE("{\"speed_threshold_kmh\":60}"), &before, reason,
                                         sizeof(reason)), FW_BUS_OK);
    assert_string_equal(before.depot, ""); /* no depot: no arrival detection */
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        before = cfg;
        assert_int_equal(fw_bus_parse_config(bad[i].json, strlen(bad[i].json), &cfg, reason,
                                             sizeof(reason)), FW_BUS_INVALID);
        assert_string_equal(reason, bad[i].reason);
        assert_memory_equal(&cfg, &before, sizeof(cfg)); /* the previous one is kept */
    }
}

static void test_commands(void **state)
{
    struct fw_bus_command cmd;
    char reason[64];
    assert_int_equal(fw_bus_parse_command(LINE("{\"cmd\":\"location\",\"id\":\"q-17\"}"), &cmd,
                                          reason, sizeof(reason)), FW_BUS_OK);
    assert_int_equal(cmd.kind, FW_BUS_CMD_LOCATION);
    assert_string_equal(cmd.id, "q-17");
    assert_int_equal(fw_bus_parse_command(LINE("{\"cmd\":\"picture\"}"), &cmd, reason,
                                          sizeof(reason)), FW_BUS_OK);
    assert_int_equal(cmd.kind, FW_BUS_CMD_PICTURE);
    assert_string_equal(cmd.id, "");
    assert_int_equal(fw_bus_parse_command(LINE("{\"cmd\":\"reboot\"}"), &cmd, reason,
                                          sizeof(reason)), FW_BUS_INVALID);
    assert_string_equal(reason, "unknown command: reboot");
    assert_int_equal(fw_bus_parse_command(LINE("{\"id\":\"x\"}"), &cmd, reason, sizeof(reason)),
                     FW_BUS_INVALID);
    assert_string_equal(reason, "missing or invalid: cmd");
    assert_int_equal(fw_bus_parse_command(LINE("{\"cmd\":\"location\",\"id\":\"a/b\"}"), &cmd,
                                          reason, sizeof(reason)), FW_BUS_INVALID);
}

static void test_depot_and_speed(void **state)
{
    struct fw_bus_config cfg;
    struct fw_bus_fix fix = {37000000, -122000000, 0, 0};
    fw_bus_parse_config(LINE(config_json), &cfg, NULL, 0);
    assert_int_equal(fw_bus_depot_distance_m(&cfg, &fix), 0);
    fix.lat_e6 = 37001000; /* 0.001 degree north: 111 m */
    assert_int_equal(fw_bus_depot_distance_m(&cfg, &fix), 111);
    assert_false(fw_bus_at_depot(&cfg, &fix));
    fix.lat_e6 = 37000000;
    fix.lon_e6 = -121999000; /* 0.001 degree east at 37 N: 88.8 m */
    assert_int_equal(fw_bus_depot_distance_m(&cfg, &fix), 88);
    assert_true(fw_bus_at_depot(&cfg, &fix));
    fix.lat_e6 = 38000000; /* one degree: 111.2 km */
    fix.lon_e6 = -122000000;
    assert_int_equal(fw_bus_depot_distance_m(&cfg, &fix) / 100, 1111);
    fix.speed_kmh_e1 = 505;
    assert_false(fw_bus_speed_reportable(&cfg, &fix)); /* strictly above */
    fix.speed_kmh_e1 = 506;
    assert_true(fw_bus_speed_reportable(&cfg, &fix));
}

static void test_events(void **state)
{
    const struct fw_bus_identity id = {"bus-1", "42", 0};
    const struct fw_bus_fix fix = {37123456, -122000001, 725, 0};
    struct fw_bus_config cfg;
    char buf[512];
    size_t len;
    fw_bus_parse_config(LINE(config_json), &cfg, NULL, 0);
    assert_int_equal(fw_bus_event_speed(&id, &fix, 1700000000, buf, sizeof(buf), &len), FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"speed\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000000,"
                             "\"position\":{\"lat\":37.123456,\"lon\":-122.000001},\"speed_kmh\":72.5}");
    assert_int_equal(len, strlen(buf));
    assert_int_equal(fw_bus_event_location(&id, &fix, "q-17", 1700000001, buf, sizeof(buf), &len),
                     FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"location\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000001,"
                             "\"position\":{\"lat\":37.123456,\"lon\":-122.000001},\"speed_kmh\":72.5,"
                             "\"request\":\"q-17\"}");
    assert_int_equal(fw_bus_event_arrival(&id, &cfg, &fix, 1700000002, buf, sizeof(buf), &len),
                     FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"depot_arrival\",\"bus\":\"bus-1\",\"route\":\"42\","
                             "\"ts\":1700000002,\"depot\":\"central\",\"position\":{\"lat\":37.123456,"
                             "\"lon\":-122.000001},\"speed_kmh\":72.5}");
    assert_int_equal(fw_bus_event_error(&id, "config rejected", "missing or invalid: depot",
                                        1700000003, buf, sizeof(buf), &len), FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"error\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000003,"
                             "\"error\":\"config rejected\",\"detail\":\"missing or invalid: depot\"}");
    assert_int_equal(fw_bus_event_speed(&id, &fix, 1, buf, 40, &len), FW_BUS_NO_SPACE);
    assert_int_equal(fw_bus_event_identification(&id, "AA 1234 BC", 6, buf, sizeof(buf), &len),
                     FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"identification\",\"bus\":\"bus-1\",\"route\":\"42\","
                             "\"ts\":6,\"registration\":\"AA 1234 BC\"}");
    assert_int_equal(fw_bus_event_identification(&id, NULL, 6, buf, sizeof(buf), &len),
                     FW_BUS_INVALID);
    {
        const struct fw_bus_identity numbered = {"bus-1", "42", 17};
        assert_int_equal(fw_bus_event_speed(&numbered, &fix, 5, buf, sizeof(buf), &len), FW_BUS_OK);
        assert_string_equal(buf, "{\"type\":\"speed\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":5,"
                                 "\"seq\":17,\"position\":{\"lat\":37.123456,\"lon\":-122.000001},"
                                 "\"speed_kmh\":72.5}");
    }
    assert_int_equal(fw_bus_event_picture_chunk(&id, 7, FW_BUS_PIC_QUERY, "p1", 1, 3,
                                                (const uint8_t *)"\xfb\xff", 2, 1700000004, buf,
                                                sizeof(buf), &len), FW_BUS_OK);
    assert_string_equal(buf, "{\"type\":\"picture\",\"bus\":\"bus-1\",\"route\":\"42\","
                             "\"ts\":1700000004,\"picture\":7,\"trigger\":\"query\",\"request\":\"p1\","
                             "\"chunk\":{\"index\":1,\"count\":3,\"bytes\":2},\"data\":\"-_8\"}");
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* the cloud side: decode the "data" member of a chunk event and append */
static size_t take_chunk(const char *event, uint8_t *out)
{
    const char *p = strstr(event, "\"data\":\"") + 8;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *p != '"'; p++) {
        int v = b64url_value(*p);
        assert_true(v >= 0);
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

static void test_picture_in_chunks(void **state)
{
    const struct fw_bus_identity id = {"projects-long-bus-identifier-for-the-worst-case-000000001",
                                       "route-with-a-rather-long-name-1", 4000000000u};
    static uint8_t picture[20000], back[20000];
    static char event[10240];
    size_t chunk = fw_bus_picture_chunk_size(10240), got = 0, len, i;
    uint32_t chunks, c;
    for (i = 0; i < sizeof(picture); i++)
        picture[i] = (uint8_t)(i * 7u + (i >> 8));
    assert_int_equal(chunk, 7425);
    chunks = (uint32_t)((sizeof(picture) + chunk - 1) / chunk);
    assert_int_equal(chunks, 3);
    for (c = 0; c < chunks; c++) {
        size_t off = c * chunk, n = sizeof(picture) - off < chunk ? sizeof(picture) - off : chunk;
        assert_int_equal(fw_bus_event_picture_chunk(&id, 4242, FW_BUS_PIC_DROWSY,
                                                    "request-id-of-forty-seven-characters-000000000",
                                                    c, chunks, picture + off, n, 1700000000u,
                                                    event, sizeof(event), &len), FW_BUS_OK);
        assert_true(len <= 10240);
        assert_non_null(strstr(event, "\"trigger\":\"drowsy\""));
        got += take_chunk(event, back + got);
    }
    assert_int_equal(got, sizeof(picture));
    assert_memory_equal(back, picture, sizeof(picture));
    assert_int_equal(fw_bus_picture_chunk_size(300), 0);
    assert_int_equal(fw_bus_event_picture_chunk(&id, 1, FW_BUS_PIC_QUERY, NULL, 3, 3, picture, 1, 0,
                                                event, sizeof(event), &len), FW_BUS_INVALID);
    {
        int s;
        for (s = FW_BUS_OK; s <= FW_BUS_NO_SPACE; s++)
            assert_string_not_equal(fw_bus_status_str((enum fw_bus_status)s), "unknown status");
    }
}

/* the application encodes a chunk in place: the raw bytes sit at the tail
 * of the event buffer; the event equals the one written from a separate
 * copy, and a header too long to leave room fails instead of corrupting */
static void test_picture_chunk_in_place(void **state)
{
    static char long_bus[200];
    struct fw_bus_identity id = {"bus-1", "42", 9};
    static uint8_t raw[2817];
    static char separate[4096], in_place[4096];
    size_t len_a, len_b, i;
    (void)state;
    for (i = 0; i < sizeof(raw); i++)
        raw[i] = (uint8_t)(i * 31u + 7u);
    assert_int_equal(fw_bus_event_picture_chunk(&id, 3, FW_BUS_PIC_PHONE, "request-id-of-forty-seven-characters-000000000",
                                                0, 2, raw, sizeof(raw), 1700000000u, separate,
                                                sizeof(separate), &len_a), FW_BUS_OK);
    memcpy(in_place + sizeof(in_place) - sizeof(raw), raw, sizeof(raw));
    assert_int_equal(fw_bus_event_picture_chunk(&id, 3, FW_BUS_PIC_PHONE, "request-id-of-forty-seven-characters-000000000",
                                                0, 2, (const uint8_t *)in_place + sizeof(in_place) - sizeof(raw),
                                                sizeof(raw), 1700000000u, in_place, sizeof(in_place),
                                                &len_b), FW_BUS_OK);
    assert_int_equal(len_a, len_b);
    assert_memory_equal(separate, in_place, len_a);
    memset(long_bus, 'b', sizeof(long_bus) - 1);
    id.bus = long_bus; /* a header of over 400 bytes */
    id.route = long_bus;
    memcpy(in_place + sizeof(in_place) - sizeof(raw), raw, sizeof(raw));
    assert_int_equal(fw_bus_event_picture_chunk(&id, 3, FW_BUS_PIC_PHONE, "request-id-of-forty-seven-characters-000000000",
                                                0, 2, (const uint8_t *)in_place + sizeof(in_place) - sizeof(raw),
                                                sizeof(raw), 1700000000u, in_place, sizeof(in_place),
                                                &len_b), FW_BUS_NO_SPACE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cgpsinfo),
        cmocka_unit_test(test_cgpsinfo_rejects),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_commands),
        cmocka_unit_test(test_depot_and_speed),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_picture_in_chunks),
        cmocka_unit_test(test_picture_chunk_in_place),
    };
    return cmocka_run_group_tests_name("fw_bus", tests, NULL, NULL);
}
