/*
 * gen_city_loop — writes the GPS traces the shipped scenarios use:
 *
 *   city-loop.gpx   a 25-minute bus loop (timed GPX, one point every 2 s):
 *                   leaves the central depot, stops at bus stops, runs a
 *                   70 km/h stretch on the ring road (above the usual speed
 *                   threshold), waits at the north depot, and returns.
 *   sample.gpx      a short timed GPX track, as a GPS logger exports it.
 *   sample.nmea     a short NMEA 0183 log ($GPRMC + $GPGGA at 1 Hz, with a
 *                   $GPGSV sentence now and then, as a receiver emits them).
 *
 * Usage: gen-city-loop DIR   (the files are committed; run it to remake them).
 * The positions are those of the route module's waypoint interpolation, so
 * the traces and the scenarios' expectations agree.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../harness/route.h"

/* 2026-03-02T07:00:00Z: a Monday morning. */
#define TRIP_START 1772434800

/* Centre of the loop: the central depot. */
#define DEPOT_LAT 50.4400
#define DEPOT_LON 30.5000

static const struct route_waypoint city_loop[] = {
    { DEPOT_LAT, DEPOT_LON, 160, 15, 30 },  /* central depot: leave after 30 s */
    { 50.4400, 30.5040, 165, 35, 0 },       /* out of the yard */
    { 50.4402, 30.5150, 168, 40, 20 },      /* stop: Market */
    { 50.4405, 30.5280, 170, 45, 0 },
    { 50.4470, 30.5300, 172, 70, 0 },       /* ring road: 70 km/h */
    { 50.4620, 30.5310, 176, 70, 0 },
    { 50.4700, 30.5300, 178, 30, 60 },      /* north depot: 60 s layover */
    { 50.4705, 30.5200, 178, 40, 20 },      /* stop: University */
    { 50.4700, 30.5050, 175, 40, 0 },
    { 50.4600, 30.4990, 170, 45, 20 },      /* stop: Park */
    { 50.4500, 30.4980, 166, 40, 0 },
    { 50.4420, 30.4995, 162, 15, 0 },
    { DEPOT_LAT, DEPOT_LON, 160, 0, 0 },    /* back at the central depot */
};

static const struct route_waypoint gpx_sample[] = {
    { 48.85837, 2.29448, 35, 30, 0 },
    { 48.86010, 2.29200, 36, 35, 15 },
    { 48.86200, 2.29620, 38, 25, 0 },
    { 48.86140, 2.30010, 37, 0, 0 },
};

static const struct route_waypoint nmea_sample[] = {
    { 51.50070, -0.12460, 12, 30, 0 },
    { 51.50140, -0.12320, 13, 20, 10 },
    { 51.50310, -0.12370, 15, 40, 0 },
    { 51.50480, -0.12230, 16, 0, 0 },
};

static void iso_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int write_gpx(const char *path, const char *name, const struct route *r, int64_t start, int every_s)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<gpx version=\"1.1\" creator=\"cellbench gen-city-loop\" xmlns=\"http://www.topografix.com/GPX/1/1\">\n"
               " <trk>\n  <name>%s</name>\n  <trkseg>\n",
            name);
    for (size_t i = 0; i < r->count; i++) {
        if (i % (size_t)every_s != 0 && i + 1 != r->count) {
            continue;
        }
        char when[32];
        iso_time(start + (int64_t)r->points[i].t_s, when, sizeof(when));
        fprintf(f, "   <trkpt lat=\"%.7f\" lon=\"%.7f\"><ele>%.1f</ele><time>%s</time></trkpt>\n", r->points[i].lat,
                r->points[i].lon, r->points[i].alt_m, when);
    }
    fprintf(f, "  </trkseg>\n </trk>\n</gpx>\n");
    return fclose(f);
}

/* Print "$body*HH\r\n". */
static void nmea_sentence(FILE *f, const char *body)
{
    unsigned sum = 0;
    for (const char *p = body; *p != '\0'; p++) {
        sum ^= (unsigned char)*p;
    }
    fprintf(f, "$%s*%02X\r\n", body, sum);
}

static void nmea_coord(double v, int deg_digits, char *buf, size_t cap, char *hemi, char pos, char neg)
{
    double a = fabs(v);
    int deg = (int)floor(a);
    double min = (a - deg) * 60.0;
    if (snprintf(buf, cap, "%0*d%07.4f", deg_digits, deg, min) >= (int)cap) {
        buf[0] = '\0'; /* cannot happen for valid coordinates */
    }
    *hemi = v < 0 ? neg : pos;
}

static void nmea_point(FILE *f, const struct route_point *p, int64_t t, size_t i)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char lat[40], lon[40], body[160];
    char ns, ew;
    nmea_coord(p->lat, 2, lat, sizeof(lat), &ns, 'N', 'S');
    nmea_coord(p->lon, 3, lon, sizeof(lon), &ew, 'E', 'W');
    snprintf(body, sizeof(body), "GPRMC,%02d%02d%02d.00,A,%s,%c,%s,%c,%.1f,%.1f,%02d%02d%02d,,,A", tm.tm_hour, tm.tm_min,
             tm.tm_sec, lat, ns, lon, ew, p->speed_kmh / 1.852, p->course_deg, tm.tm_mday, tm.tm_mon + 1,
             tm.tm_year % 100);
    nmea_sentence(f, body);
    snprintf(body, sizeof(body), "GPGGA,%02d%02d%02d.00,%s,%c,%s,%c,1,09,0.9,%.1f,M,47.0,M,,", tm.tm_hour, tm.tm_min,
             tm.tm_sec, lat, ns, lon, ew, p->alt_m);
    nmea_sentence(f, body);
    if (i % 10 == 0) {
        nmea_sentence(f, "GPGSV,3,1,09,02,45,120,38,05,61,300,41,12,22,045,33,15,10,210,29");
    }
}

static int write_nmea(const char *path, const struct route *r, int64_t start)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        return -1;
    }
    for (size_t i = 0; i < r->count; i++) {
        nmea_point(f, &r->points[i], start + (int64_t)r->points[i].t_s, i);
    }
    return fclose(f);
}

static int make(const char *dir, const char *file, const struct route_waypoint *w, size_t n, int kind)
{
    char path[4096];
    struct route r;
    struct route_error err;
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (route_from_waypoints(w, n, &r, &err) != 0) {
        fprintf(stderr, "gen-city-loop: %s: %s\n", file, err.reason);
        return -1;
    }
    int rc = kind == 0   ? write_gpx(path, "City loop (central depot - ring road - north depot)", &r, TRIP_START, 2)
             : kind == 1 ? write_gpx(path, "Sample GPX track", &r, TRIP_START + 3 * 3600, 5)
                         : write_nmea(path, &r, TRIP_START + 4 * 3600);
    if (rc != 0) {
        fprintf(stderr, "gen-city-loop: %s: %s\n", path, strerror(errno));
    } else {
        printf("%s: %zu s, %.0f m\n", path, r.count - 1, r.length_m);
    }
    route_free(&r);
    return rc;
}

static const char usage[] = "usage: gen-city-loop DIR\n"
                            "  writes city-loop.gpx, sample.gpx and sample.nmea into DIR\n";

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fputs(usage, stderr);
        return 2;
    }
    if (make(argv[1], "city-loop.gpx", city_loop, sizeof(city_loop) / sizeof(city_loop[0]), 0) != 0 ||
        make(argv[1], "sample.gpx", gpx_sample, sizeof(gpx_sample) / sizeof(gpx_sample[0]), 1) != 0 ||
        make(argv[1], "sample.nmea", nmea_sample, sizeof(nmea_sample) / sizeof(nmea_sample[0]), 2) != 0) {
        return 1;
    }
    return 0;
}
