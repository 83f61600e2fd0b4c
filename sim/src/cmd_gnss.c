/*
 * §5 GNSS and cell location: AT+CGPS (receiver on/off and mode), AT+CGPSINFO
 * and AT+CGNSSINFO (one-shot and periodic URCs on the virtual clock),
 * AT+CGPSCOLD/WARM/HOT, AT+CGNSSMODE and AT+CLBS.
 *
 * The position comes from the control protocol (`gnss fix LAT LON [ALT
 * [SPEED_KMH [COURSE]]]`, `gnss nofix`); the GNSS date and time are the
 * virtual clock's UTC (sim_now_ms), not the module clock of AT+CCLK.
 */
#include "sim_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KMH_PER_KNOT 1.852
#define INFO_PERIOD_MAX 255
#define CLBS_ACCURACY_M 550

/* One periodic report (AT+CGPSINFO=<s> or AT+CGNSSINFO=<s>). */
struct gnss_report {
    int period_s;      /**< 0 = off */
    int64_t next_ms;   /**< virtual time of the next URC */
};

/** State of the GNSS group. */
struct sim_gnss {
    bool on;                 /**< AT+CGPS=1 */
    int mode;                /**< 1 standalone, 2 UE-based, 3 UE-assisted */
    bool fix;                /**< the receiver has a fix (control `gnss fix`) */
    bool known_position;     /**< a position was ever given (cell location uses it) */
    double lat, lon;         /**< decimal degrees */
    double alt_m, speed_kmh; /**< metres above MSL, km/h */
    double course;           /**< degrees; < 0 when not given */
    int gnss_mode, dpo;      /**< AT+CGNSSMODE */
    struct gnss_report cgpsinfo, cgnssinfo;
    uint64_t urcs;           /**< periodic URCs sent */
};

/* ------------------------------------------------------------ formats */

/* "ddmm.mmmmmm" (deg_digits 2) or "dddmm.mmmmmm" (3) from decimal degrees, rounded to 1e-6 minute. */
static void format_ddmm(double degrees, int deg_digits, char *out, size_t cap)
{
    long long micro_min = (long long)(fabs(degrees) * 60.0 * 1e6 + 0.5);
    long long deg = micro_min / 60000000LL;
    long long rest = micro_min % 60000000LL;
    snprintf(out, cap, "%0*lld%02lld.%06lld", deg_digits, deg, rest / 1000000LL, rest % 1000000LL);
}

/* "ddmmyy" and "hhmmss.s" of the virtual clock's UTC. */
static void format_utc(const struct sim_modem *m, char *date, size_t date_cap, char *time_of_day, size_t time_cap)
{
    int64_t now = sim_now_ms(m);
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(date, date_cap, "%02d%02d%02d", tm.tm_mday, tm.tm_mon + 1, tm.tm_year % 100);
    snprintf(time_of_day, time_cap, "%02d%02d%02d.%d", tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000 / 100));
}

/* The common position fields: lat,N/S,lon,E/W,date,UTC,alt,speed(knots),course. */
static void format_position(const struct sim_modem *m, char *out, size_t cap)
{
    const struct sim_gnss *g = m->gnss;
    char lat[48], lon[48], date[40], utc[48], course[32] = "";
    format_ddmm(g->lat, 2, lat, sizeof(lat));
    format_ddmm(g->lon, 3, lon, sizeof(lon));
    format_utc(m, date, sizeof(date), utc, sizeof(utc));
    if (g->course >= 0) {
        snprintf(course, sizeof(course), "%.1f", g->course);
    }
    snprintf(out, cap, "%s,%c,%s,%c,%s,%s,%.1f,%.1f,%s", lat, g->lat < 0 ? 'S' : 'N', lon, g->lon < 0 ? 'W' : 'E', date,
             utc, g->alt_m, g->speed_kmh / KMH_PER_KNOT, course);
}

static bool has_fix(const struct sim_modem *m)
{
    return m->gnss->on && m->gnss->fix;
}

/* The text after "+CGPSINFO: ". */
static void cgpsinfo_text(const struct sim_modem *m, char *out, size_t cap)
{
    if (!has_fix(m)) {
        snprintf(out, cap, ",,,,,,,,");
        return;
    }
    format_position(m, out, cap);
}

/* The text after "+CGNSSINFO: " (fix mode 3, fixed satellite counts and DOPs). */
static void cgnssinfo_text(const struct sim_modem *m, char *out, size_t cap)
{
    if (!has_fix(m)) {
        snprintf(out, cap, ",,,,,,,,,,,,,,,");
        return;
    }
    char position[200];
    format_position(m, position, sizeof(position));
    snprintf(out, cap, "3,09,05,04,%s,1.2,0.9,0.8", position);
}

/* ------------------------------------------------------------ periodic reports */

static void report_schedule(struct sim_modem *m, struct gnss_report *r)
{
    r->next_ms = sim_now_ms(m) + (int64_t)r->period_s * 1000;
}

static void report_emit(struct sim_modem *m, const struct gnss_report *r)
{
    char text[256];
    if (r == &m->gnss->cgpsinfo) {
        cgpsinfo_text(m, text, sizeof(text));
        sim_urc(m, "+CGPSINFO: %s", text);
    } else {
        cgnssinfo_text(m, text, sizeof(text));
        sim_urc(m, "+CGNSSINFO: %s", text);
    }
    m->gnss->urcs++;
}

/* One URC when due; after a clock jump the missed periods are skipped, not replayed. */
static void report_service(struct sim_modem *m, struct gnss_report *r, int64_t now)
{
    if (!m->gnss->on || r->period_s == 0 || now < r->next_ms) {
        return;
    }
    report_emit(m, r);
    int64_t period = (int64_t)r->period_s * 1000;
    r->next_ms += period * ((now - r->next_ms) / period + 1);
}

static void gnss_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    const struct sim_gnss *g = m->gnss;
    if (!g->on) {
        return;
    }
    if (g->cgpsinfo.period_s > 0) {
        sim_pollset_deadline(m, ps, g->cgpsinfo.next_ms);
    }
    if (g->cgnssinfo.period_s > 0) {
        sim_pollset_deadline(m, ps, g->cgnssinfo.next_ms);
    }
}

static void gnss_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    (void)ps;
    int64_t now = sim_now_ms(m);
    report_service(m, &m->gnss->cgpsinfo, now);
    report_service(m, &m->gnss->cgnssinfo, now);
}

/* ------------------------------------------------------------ commands */

static void receiver_on(struct sim_modem *m, int mode)
{
    struct sim_gnss *g = m->gnss;
    g->on = true;
    g->mode = mode;
    report_schedule(m, &g->cgpsinfo);
    report_schedule(m, &g->cgnssinfo);
}

/* AT+CGPS=<on>[,<mode>]: receiver on (1) or off (0); switching to the state it is in answers ERROR. */
static enum sim_at_status cmd_cgps(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_gnss *g = m->gnss;
    long on, mode;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CGPS: %d,%d", g->on ? 1 : 0, g->mode);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGPS: (0,1),(1-3)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        break;
    default:
        return SIM_AT_ERROR;
    }
    if (cmd->argc > 2 || !sim_arg_int(cmd, 0, 0, 1, &on) || !sim_arg_int_opt(cmd, 1, 1, 3, 1, &mode) ||
        (on == 0 && cmd->argc > 1)) {
        return SIM_AT_ERROR;
    }
    if ((on == 1) == g->on) {
        return SIM_AT_ERROR;
    }
    if (on == 1) {
        receiver_on(m, (int)mode);
    } else {
        g->on = false;
    }
    return SIM_AT_OK;
}

/* AT+CGPSINFO / AT+CGNSSINFO: one report now, or =<secs> for periodic URCs (0 stops). */
static enum sim_at_status info_command(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name,
                                       struct gnss_report *r)
{
    long period;
    char text[256];
    switch (cmd->kind) {
    case SIM_AT_EXEC:
        if (r == &m->gnss->cgpsinfo) {
            cgpsinfo_text(m, text, sizeof(text));
        } else {
            cgnssinfo_text(m, text, sizeof(text));
        }
        sim_info(m, "%s: %s", name, text);
        return SIM_AT_OK;
    case SIM_AT_READ:
        sim_info(m, "%s: %d", name, r->period_s);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "%s: (0-%d)", name, INFO_PERIOD_MAX);
        return SIM_AT_OK;
    default:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, INFO_PERIOD_MAX, &period)) {
            return SIM_AT_ERROR;
        }
        r->period_s = (int)period;
        report_schedule(m, r);
        return SIM_AT_OK;
    }
}

static enum sim_at_status cmd_cgpsinfo(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return info_command(m, cmd, "+CGPSINFO", &m->gnss->cgpsinfo);
}

static enum sim_at_status cmd_cgnssinfo(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return info_command(m, cmd, "+CGNSSINFO", &m->gnss->cgnssinfo);
}

/* AT+CGPSCOLD/WARM/HOT: start the receiver (standalone); it must be off first. */
static enum sim_at_status cmd_cgps_start(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    if (m->gnss->on) {
        return SIM_AT_ERROR;
    }
    receiver_on(m, 1);
    return SIM_AT_OK;
}

/*
 * AT+CGNSSMODE=<gnss_mode>[,<dpo_mode>]: constellation selection (kept and
 * reported; the simulated fix does not depend on it). The power-up value
 * 15,1 (all constellations, DPO on) is an assumption.
 */
static enum sim_at_status cmd_cgnssmode(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_gnss *g = m->gnss;
    long mode, dpo;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CGNSSMODE: %d,%d", g->gnss_mode, g->dpo);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGNSSMODE: (0-15),(0-1)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc > 2 || !sim_arg_int(cmd, 0, 0, 15, &mode) || !sim_arg_int_opt(cmd, 1, 0, 1, g->dpo, &dpo)) {
            return SIM_AT_ERROR;
        }
        if (g->on) {
            return SIM_AT_ERROR; /* the mode changes only while the receiver is off */
        }
        g->gnss_mode = (int)mode;
        g->dpo = (int)dpo;
        return SIM_AT_OK;
    default:
        return SIM_AT_ERROR;
    }
}

/*
 * AT+CLBS=<type>,<cid>: cell-based location. The simulated cell is where the
 * last `gnss fix` put the device (accuracy 550 m). Types 1 (lat,lon,acc) and
 * 4 (plus UTC date and time); others answer ERROR. Location code 3
 * (location failed) without a network or a known position.
 */
static enum sim_at_status cmd_clbs(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    const struct sim_gnss *g = m->gnss;
    long type, cid;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CLBS: (1,4),(1-24)");
        return SIM_AT_OK;
    }
    if (cmd->kind != SIM_AT_SET || cmd->argc != 2 || !sim_arg_int(cmd, 0, 1, 4, &type) || (type != 1 && type != 4) ||
        !sim_arg_int(cmd, 1, 1, 24, &cid)) {
        return SIM_AT_ERROR;
    }
    if (!sim_network_ready(m) || !g->known_position) {
        sim_info(m, "+CLBS: 3");
        return SIM_AT_OK;
    }
    if (type == 1) {
        sim_info(m, "+CLBS: 0,%.6f,%.6f,%d", g->lat, g->lon, CLBS_ACCURACY_M);
        return SIM_AT_OK;
    }
    time_t secs = (time_t)(sim_now_ms(m) / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    sim_info(m, "+CLBS: 0,%.6f,%.6f,%d,%04d/%02d/%02d,%02d:%02d:%02d", g->lat, g->lon, CLBS_ACCURACY_M,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------ control */

/* `gnss fix LAT LON [ALT [SPEED_KMH [COURSE]]]` and `gnss nofix`. */
static int gnss_control(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool *ok)
{
    struct sim_gnss *g = m->gnss;
    if (strcmp(argv[0], "gnss") != 0) {
        return 0;
    }
    *ok = false;
    if (argc == 2 && strcmp(argv[1], "nofix") == 0) {
        g->fix = false;
        snprintf(reply, cap, "ok gnss nofix");
        *ok = true;
        return 1;
    }
    double lat, lon, alt = 0.0, speed = 0.0, course = -1.0;
    if (argc < 4 || argc > 7 || strcmp(argv[1], "fix") != 0 || !sim_parse_double(argv[2], -90.0, 90.0, &lat) ||
        !sim_parse_double(argv[3], -180.0, 180.0, &lon) || (argc > 4 && !sim_parse_double(argv[4], -1000.0, 100000.0, &alt)) ||
        (argc > 5 && !sim_parse_double(argv[5], 0.0, 3000.0, &speed)) ||
        (argc > 6 && !sim_parse_double(argv[6], 0.0, 359.999, &course))) {
        snprintf(reply, cap, "error: usage: gnss fix LAT LON [ALT [SPEED_KMH [COURSE]]] | gnss nofix");
        return 1;
    }
    g->fix = true;
    g->known_position = true;
    g->lat = lat;
    g->lon = lon;
    g->alt_m = alt;
    g->speed_kmh = speed;
    g->course = course;
    snprintf(reply, cap, "ok gnss fix %.6f %.6f", lat, lon);
    *ok = true;
    return 1;
}

/* ------------------------------------------------------------ group */

static int gnss_init(struct sim_modem *m)
{
    m->gnss = calloc(1, sizeof(*m->gnss));
    if (m->gnss == NULL) {
        return -1;
    }
    m->gnss->mode = 1;
    m->gnss->course = -1.0;
    m->gnss->gnss_mode = 15;
    m->gnss->dpo = 1;
    return 0;
}

static void gnss_fini(struct sim_modem *m)
{
    free(m->gnss);
    m->gnss = NULL;
}

/* A reset powers the receiver down and stops the periodic reports; the fix (the world) stays. */
static void gnss_teardown(struct sim_modem *m, enum sim_teardown why)
{
    struct sim_gnss *g = m->gnss;
    if (why != SIM_DOWN_RESET) {
        return;
    }
    g->on = false;
    g->mode = 1;
    g->cgpsinfo.period_s = 0;
    g->cgnssinfo.period_s = 0;
}

static void gnss_stats(struct sim_modem *m, struct sim_buf *b)
{
    const struct sim_gnss *g = m->gnss;
    sim_buf_printf(b, ",\"gnss_on\":%s,\"gnss_fix\":%s,\"gnss_urcs\":%llu", g->on ? "true" : "false",
                   g->fix ? "true" : "false", (unsigned long long)g->urcs);
}

static const struct sim_cmd gnss_cmds[] = {
    { "+CGPS", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgps, 0, "GNSS receiver on/off and mode" },
    { "+CGPSINFO", SIM_FORM_ALL, cmd_cgpsinfo, 0, "GNSS position (empty fields without fix); =<s> periodic URCs" },
    { "+CGNSSINFO", SIM_FORM_ALL, cmd_cgnssinfo, 0, "GNSS position with satellites and DOPs; =<s> periodic URCs" },
    { "+CGPSCOLD", SIM_FORM_EXEC, cmd_cgps_start, 0, "Start the receiver (cold)" },
    { "+CGPSWARM", SIM_FORM_EXEC, cmd_cgps_start, 0, "Start the receiver (warm)" },
    { "+CGPSHOT", SIM_FORM_EXEC, cmd_cgps_start, 0, "Start the receiver (hot)" },
    { "+CGNSSMODE", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgnssmode, 0, "GNSS constellation mode" },
    { "+CLBS", SIM_FORM_SET | SIM_FORM_TEST, cmd_clbs, 2000, "Cell-based location (types 1 and 4)" },
};

const struct sim_group sim_group_gnss = {
    .name = "gnss",
    .cmds = gnss_cmds,
    .cmd_count = sizeof(gnss_cmds) / sizeof(gnss_cmds[0]),
    .init = gnss_init,
    .fini = gnss_fini,
    .prepare = gnss_prepare,
    .dispatch = gnss_dispatch,
    .teardown = gnss_teardown,
    .control = gnss_control,
    .stats = gnss_stats,
};
