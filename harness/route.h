/*
 * route — a bus trip's GPS trace: GPX and NMEA import, inline waypoints,
 * resampling at 1 Hz, position at any trip time, and geofence helpers.
 *
 * Every source becomes a list of timed samples (seconds from the first fix),
 * which is resampled at 1 Hz along great circles. Speed and course of a 1 Hz
 * point are those of the segment that leaves it (distance / time, initial
 * bearing), derived from the geometry rather than from any speed field in the
 * source, so all three sources behave alike.
 */
#ifndef CELLBENCH_ROUTE_H
#define CELLBENCH_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Mean Earth radius used for great-circle distances, in metres. */
#define ROUTE_EARTH_RADIUS_M 6371008.8

/** One timed fix read from a source (time in seconds, any origin). */
struct route_sample {
    double t_s;
    double lat, lon; /* decimal degrees */
    double alt_m;    /* 0 when the source has none */
};

/** One point of a resampled route: points[i].t_s == i. */
struct route_point {
    double t_s;
    double lat, lon, alt_m;
    double speed_kmh;  /* over the segment that leaves this point; 0 at the end */
    double course_deg; /* 0..360, initial bearing of that segment (kept while standing) */
};

/** A route resampled at 1 Hz. */
struct route {
    struct route_point *points;
    size_t count;
    double length_m;       /* along the resampled points */
    int64_t start_epoch_s; /* Unix time of the first fix, 0 when the source has no date */
};

/** An inline waypoint: the bus leaves it at speed_kmh after standing dwell_s there. */
struct route_waypoint {
    double lat, lon, alt_m;
    double speed_kmh; /* towards the next waypoint (ignored on the last one) */
    double dwell_s;   /* standing time at this waypoint before leaving (>= 0) */
};

/** Why a trace was refused: line is 0 when the error is not tied to a line. */
struct route_error {
    int line;
    char reason[256];
};

/** Source formats for route_load_file. */
enum route_format { ROUTE_FORMAT_GPX, ROUTE_FORMAT_NMEA };

/**
 * Build a 1 Hz route from samples whose times strictly increase (at least two).
 * Returns 0, or -1 with err filled.
 */
int route_from_samples(const struct route_sample *samples, size_t count, struct route *out, struct route_error *err);

/**
 * Parse GPX text (<trkpt>, else <rtept>, with lat/lon attributes, optional
 * <ele> and <time>). When the points carry no <time>, the bus moves at
 * default_speed_kmh (which must then be > 0). Returns 0 or -1 with err.
 */
int route_parse_gpx(const char *text, size_t len, double default_speed_kmh, struct route *out,
                    struct route_error *err);

/**
 * Parse NMEA 0183 text: $--RMC (status A) and $--GGA (quality > 0) sentences,
 * every sentence's *HH checksum verified; other sentences are skipped. An RMC
 * and a GGA with the same time make one fix. Returns 0 or -1 with err (line set).
 */
int route_parse_nmea(const char *text, size_t len, struct route *out, struct route_error *err);

/** Build a route through inline waypoints (at least two). Returns 0 or -1 with err. */
int route_from_waypoints(const struct route_waypoint *waypoints, size_t count, struct route *out,
                         struct route_error *err);

/** Read a GPX or NMEA file and parse it as above. Returns 0 or -1 with err. */
int route_load_file(const char *path, enum route_format format, double default_speed_kmh, struct route *out,
                    struct route_error *err);

/**
 * Drive a closed route laps times in a row (laps >= 1): each lap starts where
 * the first did, so the route's end must lie within max_gap_m of its start.
 * Returns 0, or -1 with err (the route is unchanged then).
 */
int route_repeat(struct route *route, unsigned laps, double max_gap_m, struct route_error *err);

/** Release a route's points (the struct is left empty). NULL is ignored. */
void route_free(struct route *route);

/** Trip length in seconds (time of the last point). */
double route_duration_s(const struct route *route);

/**
 * Position at trip time t_s (linear between the 1 Hz points; before the start
 * the first point, after the end the last point with speed 0).
 */
void route_position_at(const struct route *route, double t_s, struct route_point *out);

/** Great-circle (haversine) distance between two positions, in metres. */
double route_distance_m(double lat1, double lon1, double lat2, double lon2);

/** Initial bearing from the first position to the second, 0..360 degrees. */
double route_bearing_deg(double lat1, double lon1, double lat2, double lon2);

/** Whether a position lies within radius_m of a centre (a depot's geofence). */
bool route_within(double lat, double lon, double centre_lat, double centre_lon, double radius_m);

/**
 * First trip second at or after from_s at which the route is within radius_m
 * of the centre. Returns true and sets *t_s, or false when it never arrives.
 */
bool route_first_arrival(const struct route *route, double centre_lat, double centre_lon, double radius_m,
                         double from_s, double *t_s);

/**
 * Write the simulator control line that sets the GNSS receiver to a point:
 * "gnss fix LAT LON ALT SPEED_KMH COURSE" (6 decimals for the position, the
 * course in [0, 360) with 2 decimals). Returns the length, or -1 when cap is
 * too small.
 */
int route_gnss_line(const struct route_point *point, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_ROUTE_H */
