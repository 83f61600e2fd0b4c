/*
 * report — the HTML page of one run (`cellbench run --report DIR`).
 *
 * One self-contained file DIR/<scenario>.html (inline CSS and SVG, no
 * scripts, fonts or network): the route drawn as an SVG polyline with a
 * marker for every event a device reported (coloured by its "type"), a
 * timeline of the AT traffic of every UART capture, the MQTT messages the
 * cloud saw and the cloud actions of the scenario side by side, the
 * expectations with their verdicts and reasons, message and byte counts per
 * device, topic and direction with the units each cloud would bill
 * (billing.h), and links to the logs of the run copied into
 * DIR/<scenario>-files/. Everything taken from logs is HTML-escaped.
 *
 * Inputs are the run directory as `cellbench run` leaves it: cloud.log
 * (`TRIP_S TOPIC PAYLOAD` lines), <device>-uart.log (sim7600 --log format)
 * and the *.log files of every process.
 */
#ifndef CELLBENCH_REPORT_H
#define CELLBENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "billing.h"
#include "scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most AT traffic rows shown per device; the capture file has the rest. */
#define REPORT_MAX_AT_ROWS 3000

/** One verdict line of the run. */
struct report_verdict {
    const char *label;   /* e.g. "00:01:40 $.timeline[3] expect_message" */
    const char *verdict; /* "PASS", "FAIL" or "NOT RUN" */
    const char *reason;  /* "" when none */
};

/** What one page is made of. */
struct report_input {
    const struct scenario *sc;
    const char *run_dir;      /* where cloud.log, the captures and the logs are; NULL: the bench never started */
    const char *out_dir;      /* DIR of --report (made when missing) */
    int64_t trip_start_ns;    /* virtual Unix time (ns) of trip time 0, to place UART lines */
    const struct report_verdict *verdicts;
    size_t verdict_count;
    const struct billing_meter *meters;
    size_t meter_count;
};

/** Write text (len bytes, or up to NUL when len is SIZE_MAX) HTML-escaped: & < > " ' and control bytes. */
void report_html_escape(FILE *out, const char *text, size_t len);

/**
 * Write the page of one run. path (may be NULL) gets the page's path.
 * Returns 0, or -1 with a message on stderr.
 */
int report_write(const struct report_input *in, char *path, size_t path_cap);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_REPORT_H */
