/* Tests for route: geometry, 1 Hz resampling, waypoints, GPX and NMEA import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

#ifndef CELLBENCH_SOURCE_DIR
#define CELLBENCH_SOURCE_DIR "."
#endif

/* Metres per degree of latitude on the sphere of ROUTE_EARTH_RADIUS_M. */
#define M_PER_DEG (ROUTE_EARTH_RADIUS_M * M_PI / 180.0)

static void test_distance_and_bearing(void **state)
{
    (void)state;
    assert_true(fabs(route_distance_m(0, 0, 1, 0) - M_PER_DEG) < 1e-6);
    assert_true(fabs(route_distance_m(0, 0, 0, 1) - M_PER_DEG) < 1e-6);
    assert_true(fabs(route_distance_m(60, 0, 60, 1) - M_PER_DEG / 2) < 1.0);
    assert_true(route_distance_m(50.45, 30.52, 50.45, 30.52) == 0.0);
    /* Paris to London, about 343.5 km. */
    double d = route_distance_m(48.8566, 2.3522, 51.5074, -0.1278);
    assert_true(d > 343000 && d < 344500);
    assert_true(fabs(route_bearing_deg(0, 0, 1, 0) - 0.0) < 1e-9);
    assert_true(fabs(route_bearing_deg(0, 0, 0, 1) - 90.0) < 1e-9);
    assert_true(fabs(route_bearing_deg(0, 0, -1, 0) - 180.0) < 1e-9);
    assert_true(fabs(route_bearing_deg(0, 0, 0, -1) - 270.0) < 1e-9);
    assert_true(route_within(50.0, 30.0, 50.0, 30.001, 72.0));
    assert_false(route_within(50.0, 30.0, 50.0, 30.001, 71.0));
}

static void test_samples_resampled_at_1hz(void **state)
{
    (void)state;
    struct route_sample s[] = { { 100.0, 0.0, 0.0, 10.0 }, { 110.0, 0.0, 0.001, 20.0 } };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_samples(s, 2, &r, &err), 0);
    assert_int_equal(r.count, 11);
    assert_true(route_duration_s(&r) == 10.0);
    assert_true(fabs(r.points[5].lon - 0.0005) < 1e-9);
    assert_true(fabs(r.points[5].lat) < 1e-9);
    assert_true(fabs(r.points[5].alt_m - 15.0) < 1e-9);
    assert_true(fabs(r.points[0].speed_kmh - M_PER_DEG * 0.001 / 10.0 * 3.6) < 1e-6);
    assert_true(fabs(r.points[3].course_deg - 90.0) < 1e-6);
    assert_true(r.points[10].speed_kmh == 0.0);
    assert_true(fabs(r.points[10].course_deg - 90.0) < 1e-6);
    assert_true(fabs(r.length_m - M_PER_DEG * 0.001) < 1e-3);
    assert_true(r.start_epoch_s == 0);
    route_free(&r);
    assert_null(r.points);
}

static void test_great_circle_interpolation(void **state)
{
    (void)state;
    /* Along a parallel at 60 N the great circle bulges north of the parallel. */
    struct route_sample s[] = { { 0, 60.0, -10.0, 0 }, { 2, 60.0, 10.0, 0 } };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_samples(s, 2, &r, &err), 0);
    assert_int_equal(r.count, 3);
    assert_true(fabs(r.points[1].lon) < 1e-9);
    assert_true(fabs(r.points[1].lat - atan(tan(60.0 * M_PI / 180) / cos(10.0 * M_PI / 180)) * 180 / M_PI) < 1e-9);
    assert_true(r.points[0].course_deg < 90.0); /* heads north-east first */
    route_free(&r);
}

static void test_fractional_times_and_segments(void **state)
{
    (void)state;
    /* Three fixes, uneven spacing; 1 Hz points count from the first fix. */
    struct route_sample s[] = { { 0.5, 0, 0, 0 }, { 2.5, 0, 0.0002, 0 }, { 4.0, 0.0003, 0.0002, 0 } };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_samples(s, 3, &r, &err), 0);
    assert_int_equal(r.count, 4);
    assert_true(fabs(r.points[1].lon - 0.0001) < 1e-12);
    assert_true(fabs(r.points[2].lon - 0.0002) < 1e-12);
    assert_true(fabs(r.points[3].lat - 0.0002) < 1e-12); /* 1.0 of 1.5 s into the last segment */
    assert_true(fabs(r.points[2].course_deg - 0.0) < 1e-6);
    route_free(&r);
}

static void test_sample_errors(void **state)
{
    (void)state;
    struct route r;
    struct route_error err;
    struct route_sample one[] = { { 0, 1, 1, 0 } };
    assert_int_equal(route_from_samples(one, 1, &r, &err), -1);
    assert_string_equal(err.reason, "a route needs at least two fixes (found 1)");
    struct route_sample back[] = { { 0, 1, 1, 0 }, { 5, 1, 1.1, 0 }, { 5, 1, 1.2, 0 } };
    assert_int_equal(route_from_samples(back, 3, &r, &err), -1);
    assert_string_equal(err.reason, "fix 2: time does not increase (5.000 s after 5.000 s)");
    struct route_sample far[] = { { 0, 91, 1, 0 }, { 5, 1, 1.1, 0 } };
    assert_int_equal(route_from_samples(far, 2, &r, &err), -1);
    assert_string_equal(err.reason, "fix 0: position 91,1 out of range");
    assert_null(r.points);
}

static void test_position_at(void **state)
{
    (void)state;
    struct route_sample s[] = { { 0, 0, 0, 0 }, { 10, 0, 0.001, 0 } };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_samples(s, 2, &r, &err), 0);
    struct route_point p;
    route_position_at(&r, 2.5, &p);
    assert_true(fabs(p.lon - 0.00025) < 1e-12);
    assert_true(p.t_s == 2.5);
    assert_true(p.speed_kmh > 40.0 && p.speed_kmh < 40.1);
    route_position_at(&r, -3, &p);
    assert_true(p.lon == 0.0);
    route_position_at(&r, 99, &p);
    assert_true(fabs(p.lon - 0.001) < 1e-12);
    assert_true(p.speed_kmh == 0.0);
    assert_true(fabs(p.course_deg - 90.0) < 1e-6);
    double t = -1;
    assert_true(route_first_arrival(&r, 0, 0.001, 25.0, 0, &t));
    assert_true(t == 8.0); /* 22.2 m away at 8 s, 33.4 m at 7 s */
    assert_true(route_first_arrival(&r, 0, 0, 5.0, 0, &t));
    assert_true(t == 0.0);
    assert_false(route_first_arrival(&r, 0, 0, 5.0, 0.5, &t));
    assert_false(route_first_arrival(&r, 1, 1, 1000.0, 0, &t));
    route_free(&r);
}

static void test_waypoints(void **state)
{
    (void)state;
    /* 100 m east at 36 km/h (10 s), stand 5 s, 100 m north at 72 km/h (5 s). */
    double dlon = 100.0 / M_PER_DEG;
    struct route_waypoint w[] = {
        { 0, 0, 0, 36, 0 },
        { 0, dlon, 0, 72, 5 },
        { dlon, dlon, 0, 0, 0 },
    };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_waypoints(w, 3, &r, &err), 0);
    assert_int_equal(r.count, 21);
    assert_true(fabs(r.points[4].speed_kmh - 36.0) < 1e-6);
    assert_true(fabs(r.points[4].course_deg - 90.0) < 1e-6);
    assert_true(fabs(r.points[10].lon - dlon) < 1e-12);
    assert_true(r.points[12].speed_kmh < 1e-9);
    assert_true(fabs(r.points[12].course_deg - 90.0) < 1e-6); /* kept while standing */
    assert_true(fabs(r.points[17].speed_kmh - 72.0) < 1e-3);
    assert_true(fabs(remainder(r.points[17].course_deg, 360.0)) < 1e-6);
    assert_true(fabs(r.length_m - 200.0) < 1e-3);
    route_free(&r);

    struct route_waypoint slow[] = { { 0, 0, 0, 0, 0 }, { 0, dlon, 0, 10, 0 } };
    assert_int_equal(route_from_waypoints(slow, 2, &r, &err), -1);
    assert_string_equal(err.reason, "waypoint 0: speed_kmh must be above 0 to reach the next waypoint");
    struct route_waypoint same[] = { { 0, 0, 0, 30, 0 }, { 0, 0, 0, 10, 0 } };
    assert_int_equal(route_from_waypoints(same, 2, &r, &err), -1);
    assert_string_equal(err.reason, "waypoint 0: the next waypoint is at the same position (use dwell_s to stand)");
    assert_int_equal(route_from_waypoints(same, 1, &r, &err), -1);
    assert_string_equal(err.reason, "a route needs at least two waypoints (found 1)");
}

static const char gpx_timed[] =
    "<?xml version=\"1.0\"?>\n"
    "<gpx version=\"1.1\" creator=\"x\">\n"
    " <trk><name>t</name><trkseg>\n"
    "  <trkpt lat=\"50.0\" lon=\"30.0\"><ele>100</ele><time>2026-03-02T07:00:00Z</time></trkpt>\n"
    "  <trkpt lon='30.001' lat='50.0'>\n"
    "   <ele> 110.0 </ele>\n"
    "   <time>2026-03-02T07:00:10.000Z</time>\n"
    "  </trkpt>\n"
    " </trkseg></trk>\n"
    "</gpx>\n";

static void test_repeat(void **state)
{
    (void)state;
    /* Out 100 m east at 36 km/h, back at 72 km/h: a closed 15 s loop. */
    double dlon = 100.0 / M_PER_DEG;
    struct route_waypoint w[] = { { 0, 0, 0, 36, 0 }, { 0, dlon, 0, 72, 0 }, { 0, 0, 0, 0, 0 } };
    struct route r;
    struct route_error err;
    assert_int_equal(route_from_waypoints(w, 3, &r, &err), 0);
    assert_int_equal(r.count, 16);
    assert_int_equal(route_repeat(&r, 3, 1.0, &err), 0);
    assert_int_equal(r.count, 46);
    assert_true(route_duration_s(&r) == 45.0);
    assert_true(fabs(r.points[20].lon - r.points[5].lon) < 1e-12);
    assert_true(fabs(r.points[35].lon - r.points[5].lon) < 1e-12);
    assert_true(fabs(r.points[14].speed_kmh - 72.0) < 1e-3); /* the lap's last second leads into the next lap */
    assert_true(fabs(r.points[15].speed_kmh - 36.0) < 1e-3);
    assert_true(fabs(r.length_m - 600.0) < 1e-3);
    assert_true(r.points[45].speed_kmh == 0.0);
    assert_int_equal(route_repeat(&r, 1, 1.0, &err), 0);
    assert_int_equal(r.count, 46);
    assert_int_equal(route_repeat(&r, 0, 1.0, &err), -1);
    assert_string_equal(err.reason, "laps must be at least 1 on a route of two points or more");
    assert_int_equal(route_repeat(&r, 20000, 1.0, &err), -1);
    assert_string_equal(err.reason, "20000 laps of 45 s last more than 7 days");
    route_free(&r);

    struct route_waypoint open_route[] = { { 0, 0, 0, 36, 0 }, { 0, dlon, 0, 0, 0 } };
    assert_int_equal(route_from_waypoints(open_route, 2, &r, &err), 0);
    assert_int_equal(route_repeat(&r, 2, 50.0, &err), -1);
    assert_string_equal(err.reason, "laps need a closed route: its end is 100 m from its start (at most 50 m)");
    assert_int_equal(r.count, 11); /* unchanged */
    route_free(&r);
}

static void test_gpx_timed(void **state)
{
    (void)state;
    struct route r;
    struct route_error err;
    assert_int_equal(route_parse_gpx(gpx_timed, strlen(gpx_timed), 0, &r, &err), 0);
    assert_int_equal(r.count, 11);
    assert_true(r.start_epoch_s == 1772434800); /* 2026-03-02T07:00:00Z */
    assert_true(fabs(r.points[10].lon - 30.001) < 1e-9);
    assert_true(fabs(r.points[5].alt_m - 105.0) < 1e-9);
    route_free(&r);
}

static void test_gpx_untimed_route_points(void **state)
{
    (void)state;
    char text[512];
    snprintf(text, sizeof(text),
             "<gpx><rte><rtept lat=\"0\" lon=\"0\"/><rtept lat=\"0\" lon=\"%.9f\"/></rte></gpx>", 200.0 / M_PER_DEG);
    struct route r;
    struct route_error err;
    assert_int_equal(route_parse_gpx(text, strlen(text), 0, &r, &err), -1);
    assert_string_equal(err.reason, "the points have no <time>: give a speed (speed_kmh) to time them");
    assert_int_equal(route_parse_gpx(text, strlen(text), 36.0, &r, &err), 0);
    assert_int_equal(r.count, 21);
    assert_true(r.start_epoch_s == 0);
    route_free(&r);
}

/* Expect the GPX text to be refused at line with reason. */
static void assert_gpx_error(const char *text, int line, const char *reason)
{
    struct route r;
    struct route_error err;
    assert_int_equal(route_parse_gpx(text, strlen(text), 30.0, &r, &err), -1);
    assert_string_equal(err.reason, reason);
    assert_int_equal(err.line, line);
    assert_null(r.points);
}

static void test_gpx_errors(void **state)
{
    (void)state;
    assert_gpx_error("<kml></kml>", 0, "not a GPX file (no <gpx> element)");
    assert_gpx_error("<gpx>\n</gpx>", 0, "no <trkpt> or <rtept> points");
    assert_gpx_error("<gpx>\n<trkpt lon=\"1\"></trkpt></gpx>", 2, "point without a valid lat attribute");
    assert_gpx_error("<gpx>\n<trkpt lat=\"1\" lon=\"x\"></trkpt></gpx>", 2, "point without a valid lon attribute");
    assert_gpx_error("<gpx>\n\n<trkpt lat=\"95\" lon=\"1\"></trkpt></gpx>", 3, "position 95,1 out of range");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"><ele>high</ele></trkpt></gpx>", 1, "bad <ele> 'high'");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"><time>yesterday</time></trkpt></gpx>", 1,
                     "bad <time> 'yesterday' (want YYYY-MM-DDTHH:MM:SSZ)");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"><time>2026-01-01T00:00:00Z</time></trkpt>\n"
                     "<trkpt lat=\"1\" lon=\"2\"></trkpt></gpx>",
                     2, "some points have a <time> and others not");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"></trkpt>\n<trkpt lat=\"1\" lon=\"1.001\">\n<ele>3", 2,
                     "<trkpt> is not closed (truncated file?)");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"></trkpt>\n<trkpt lat=\"1\" lon=\"1.0", 2,
                     "<trkpt> is not closed (truncated file?)");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"></trkpt>\n<trkpt lat=\"1\" lon=\"1.001\"></trkpt>\n", 3,
                     "no closing </gpx> (truncated file?)");
    assert_gpx_error("<gpx><trkpt lat=\"1\" lon=\"1\"></trkpt></gpx>", 0, "a route needs at least two fixes (found 1)");
}

/* Append one NMEA sentence (body without '$' and checksum) with a correct checksum. */
static void nmea_append(char *buf, size_t cap, const char *body)
{
    unsigned sum = 0;
    for (const char *p = body; *p != '\0'; p++) {
        sum ^= (unsigned char)*p;
    }
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "$%s*%02X\r\n", body, sum);
}

static void test_nmea_rmc_gga(void **state)
{
    (void)state;
    char text[2048] = "";
    nmea_append(text, sizeof(text), "GPGGA,235958.00,5000.0000,N,03000.0000,E,1,08,0.9,120.5,M,46.9,M,,");
    nmea_append(text, sizeof(text), "GPRMC,235958.00,A,5000.0000,N,03000.0000,E,0.0,0.0,010326,,,A");
    nmea_append(text, sizeof(text), "GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00");
    nmea_append(text, sizeof(text), "GPRMC,235959.00,V,,,,,,,010326,,,N");
    nmea_append(text, sizeof(text), "GNRMC,000002.00,A,5000.0000,N,03000.1200,E,10.0,90.0,020326,,,A");
    nmea_append(text, sizeof(text), "GNGGA,000002.00,5000.0000,N,03000.1200,E,1,08,0.9,130.5,M,46.9,M,,");
    nmea_append(text, sizeof(text), "GPGGA,000003.00,5000.0000,S,03000.1200,W,0,00,,,M,,M,,");
    nmea_append(text, sizeof(text), "GPGGA,000004.00,5000.0600,N,03000.1200,E,1,08,0.9,140.5,M,46.9,M,,");
    struct route r;
    struct route_error err;
    int rc = route_parse_nmea(text, strlen(text), &r, &err);
    if (rc != 0) {
        fail_msg("line %d: %s", err.line, err.reason);
    }
    assert_int_equal(r.count, 7); /* 23:59:58 .. 00:00:04 across midnight */
    assert_true(r.start_epoch_s == 1772409600 - 2); /* 2026-03-02T00:00:00Z - 2 s */
    assert_true(fabs(r.points[0].alt_m - 120.5) < 1e-9);
    assert_true(fabs(r.points[4].lon - 30.002) < 1e-9);
    assert_true(fabs(r.points[4].alt_m - 130.5) < 1e-9);
    assert_true(fabs(r.points[6].lat - 50.001) < 1e-9);
    assert_true(fabs(r.points[6].alt_m - 140.5) < 1e-9);
    assert_true(fabs(r.points[0].course_deg - 90.0) < 0.01);
    assert_true(fabs(remainder(r.points[4].course_deg, 360.0)) < 0.01);
    route_free(&r);
}

/* Expect the NMEA text to be refused at line with reason. */
static void assert_nmea_error(const char *text, int line, const char *reason)
{
    struct route r;
    struct route_error err;
    assert_int_equal(route_parse_nmea(text, strlen(text), &r, &err), -1);
    assert_string_equal(err.reason, reason);
    assert_int_equal(err.line, line);
    assert_null(r.points);
}

static void test_nmea_errors(void **state)
{
    (void)state;
    char ok2[512] = "";
    nmea_append(ok2, sizeof(ok2), "GPRMC,070000,A,5000.0000,N,03000.0000,E,0.0,0.0,020326,,,A");
    nmea_append(ok2, sizeof(ok2), "GPRMC,070001,A,5000.0010,N,03000.0000,E,0.0,0.0,020326,,,A");
    char text[1024];

    snprintf(text, sizeof(text), "%s$GPRMC,070002,A,5000.0020,N,03000.0000,E,0.0,0.0,020326,,,A*00\r\n", ok2);
    assert_nmea_error(text, 3, "checksum mismatch (computed 74, sentence says 00)");
    snprintf(text, sizeof(text), "%s$GPRMC,070002,A,5000.0020,N,03000.0000,E,0.0,0.0,020326,,,A*7G\r\n", ok2);
    assert_nmea_error(text, 3, "bad checksum digits '7G'");
    snprintf(text, sizeof(text), "%s$GPRMC,070002,A,5000.00", ok2);
    assert_nmea_error(text, 3, "no checksum '*HH' at the end (truncated sentence?)");
    snprintf(text, sizeof(text), "%s$GPRMC,070002,A,5000.0020,N,03000.0000,E,0.0,0.0,020326,,,A*7", ok2);
    assert_nmea_error(text, 3, "no checksum '*HH' at the end (truncated sentence?)");
    snprintf(text, sizeof(text), "%s\r\nGPRMC,1*00\r\n", ok2);
    assert_nmea_error(text, 4, "not an NMEA sentence (must start with '$')");

    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5000.0000,N,03000.0000,E,0.0,0.0,020326,,,A");
    nmea_append(text, sizeof(text), "GPRMC,0700,A,5000.0000,N,03000.0000,E,0.0,0.0,020326,,,A");
    assert_nmea_error(text, 2, "bad time '0700'");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5070.0000,N,03000.0000,E,0.0,0.0,020326,,,A");
    assert_nmea_error(text, 1, "bad position '5070.0000,N,03000.0000,E'");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5000.0000,X,03000.0000,E,0.0,0.0,020326,,,A");
    assert_nmea_error(text, 1, "bad position '5000.0000,X,03000.0000,E'");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5000.0000,N,03000.0000,E,0.0,0.0,320326,,,A");
    assert_nmea_error(text, 1, "bad date '320326' (want ddmmyy)");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5000.0000,N");
    assert_nmea_error(text, 1, "RMC sentence with 5 fields (want at least 10)");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPGGA,070000,5000.0000,N,03000.0000,E,1,08,0.9,,M,,M,,");
    assert_nmea_error(text, 1, "bad altitude ''");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPGGA,070010,5000.0000,N,03000.0000,E,1,08,0.9,1,M,,M,,");
    nmea_append(text, sizeof(text), "GPGGA,070005,5000.0000,N,03000.0000,E,1,08,0.9,1,M,,M,,");
    assert_nmea_error(text, 2, "time goes backwards");
    text[0] = '\0';
    nmea_append(text, sizeof(text), "GPRMC,070000,A,5000.0000,N,03000.0000,E,0.0,0.0,020326,,,A");
    nmea_append(text, sizeof(text), "GPRMC,070001,V,,,,,,,020326,,,N");
    assert_nmea_error(text, 0, "a route needs at least two fixes (found 1)");
    assert_nmea_error("", 0, "a route needs at least two fixes (found 0)");
}

static void test_gnss_line(void **state)
{
    (void)state;
    char buf[96];
    struct route_point p = { 12.0, 50.4501234567, -30.52, 171.26, 70.04, 359.999 };
    assert_int_equal(route_gnss_line(&p, buf, sizeof(buf)), 45);
    assert_string_equal(buf, "gnss fix 50.450123 -30.520000 171.3 70.0 0.00");
    p.course_deg = 90.126;
    route_gnss_line(&p, buf, sizeof(buf));
    assert_string_equal(buf, "gnss fix 50.450123 -30.520000 171.3 70.0 90.13");
    assert_int_equal(route_gnss_line(&p, buf, 20), -1);
}

static void test_files(void **state)
{
    (void)state;
    struct route r;
    struct route_error err;
    assert_int_equal(route_load_file(CELLBENCH_SOURCE_DIR "/harness/tests/data/none.gpx", ROUTE_FORMAT_GPX, 0, &r,
                                     &err),
                     -1);
    assert_string_equal(err.reason, "cannot open: No such file or directory");
    assert_int_equal(route_load_file(CELLBENCH_SOURCE_DIR "/scenarios/traces/sample.gpx", ROUTE_FORMAT_GPX, 0, &r, &err),
                     0);
    assert_true(r.count > 60);
    assert_true(r.start_epoch_s > 0);
    route_free(&r);
    assert_int_equal(route_load_file(CELLBENCH_SOURCE_DIR "/scenarios/traces/sample.nmea", ROUTE_FORMAT_NMEA, 0, &r,
                                     &err),
                     0);
    assert_true(r.count > 60);
    route_free(&r);
    assert_int_equal(route_load_file(CELLBENCH_SOURCE_DIR "/harness/tests/data/truncated.nmea", ROUTE_FORMAT_NMEA, 0,
                                     &r, &err),
                     -1);
    assert_int_equal(err.line, 4);
    assert_string_equal(err.reason, "no checksum '*HH' at the end (truncated sentence?)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_and_bearing),
        cmocka_unit_test(test_samples_resampled_at_1hz),
        cmocka_unit_test(test_great_circle_interpolation),
        cmocka_unit_test(test_fractional_times_and_segments),
        cmocka_unit_test(test_sample_errors),
        cmocka_unit_test(test_position_at),
        cmocka_unit_test(test_waypoints),
        cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_gpx_timed),
        cmocka_unit_test(test_gpx_untimed_route_points),
        cmocka_unit_test(test_gpx_errors),
        cmocka_unit_test(test_nmea_rmc_gga),
        cmocka_unit_test(test_nmea_errors),
        cmocka_unit_test(test_gnss_line),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
