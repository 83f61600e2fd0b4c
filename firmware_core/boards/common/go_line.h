/*
 * go_line.h - how a board driven over its modem link starts: after reset it
 * reads lines on the modem UART until one is
 *     go aws|gcp DEVICE HOST:PORT CERTDIR EVENTS [OPTION=VALUE...]
 * (bus_args.h), answers "cellbench-bus start\r\n" and returns the parsed
 * command line; a bad go line is answered "cellbench-bus usage: ..." and the
 * next one awaited. The host (cellbench run --target hil, harness/cli/hil.c)
 * sends it once the serial port is open again after flashing, so nothing the
 * firmware says afterwards is lost. Used by the nRF52840 image and by the
 * mps2-an386 image's "hil" mode, which stands in for a board in the tests.
 */
#ifndef GO_LINE_H
#define GO_LINE_H

#include <stdint.h>

#include "bus_args.h"
#include "bus_run.h"

#define GO_LINE_LEN 512u
#define GO_LINE_ARGS 12
#define GO_LINE_START "cellbench-bus start"

/* The line and its words (they point into line); allocated by the caller. */
struct go_line {
    char line[GO_LINE_LEN];
    const char *argv[GO_LINE_ARGS];
};

/* Wait for a valid go line and answer it; *args (guard_ms 0), the clock rate
 * x 1000 and the boot epoch as bus_args_parse() gives them. */
void go_line_wait(struct go_line *g, struct bus_run_args *args, uint32_t *rate_milli, uint64_t *epoch);

#endif /* GO_LINE_H */
