/*
 * sim7600 — serve one simulated SIM7600E on a PTY or a serial device.
 * Thin: the modem is the library of sim/include/sim7600.h; the program adds
 * the UART, the control socket, the capture and the pacing (sim/prog_*.c).
 * See README.md "The simulator" for the options.
 */
#include "prog.h"
#include "vclock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Everything one run holds, released in reverse order by close_all(). */
struct run {
    struct vclock *clock;
    struct sim_modem *modem;
    struct prog_uart uart;
    struct prog_control ctl;
    struct prog_capture capture;
};

static void close_all(struct run *r)
{
    prog_control_close(&r->ctl);
    prog_uart_close(&r->uart);
    sim_modem_free(r->modem);
    prog_capture_close(&r->capture);
    vclock_close(r->clock);
}

static int open_uart(struct run *r, const struct prog_options *opts)
{
    if (opts->link_path != NULL) {
        if (prog_uart_open_pty(&r->uart, opts->link_path) != 0) {
            return -1;
        }
        printf("%s\n", r->uart.slave);
        fflush(stdout);
        return 0;
    }
    return prog_uart_open_serial(&r->uart, opts->serial_dev, opts->baud != 0 ? opts->baud : 115200);
}

/* Open everything the options ask for. Returns 0 or -1 (message on stderr). */
static int open_all(struct run *r, struct prog_options *opts)
{
    if (opts->clock_path != NULL) {
        r->clock = vclock_open(opts->clock_path);
        if (r->clock == NULL) {
            fprintf(stderr, "sim7600: cannot open clock %s: %s\n", opts->clock_path, strerror(errno));
            return -1;
        }
        opts->cfg.clock = r->clock;
    }
    if (opts->log_path != NULL && prog_capture_open(&r->capture, opts->log_path, r->clock) != 0) {
        return -1;
    }
    r->modem = sim_modem_new(&opts->cfg);
    if (r->modem == NULL) {
        fprintf(stderr, "sim7600: cannot create the modem (out of memory)\n");
        return -1;
    }
    if (r->capture.file != NULL) {
        sim_modem_set_tap(r->modem, prog_capture_tap, &r->capture);
    }
    if (opts->control_path != NULL && prog_control_open(&r->ctl, opts->control_path) != 0) {
        return -1;
    }
    return open_uart(r, opts);
}

int main(int argc, char **argv)
{
    struct prog_options opts;
    if (prog_parse_options(argc, argv, &opts) != 0) {
        return PROG_EXIT_USAGE;
    }
    if (opts.help) {
        prog_usage(stdout);
        return 0;
    }
    if (opts.list_commands) {
        prog_print_commands(stdout);
        return 0;
    }
    struct run r;
    memset(&r, 0, sizeof(r));
    r.uart.fd = -1;
    r.uart.slave_fd = -1;
    prog_control_init(&r.ctl);
    int status = 1;
    prog_stop_signals_init();
    if (open_all(&r, &opts) == 0) {
        status = prog_serve(r.modem, &r.uart, &r.ctl, opts.pace_baud);
    }
    close_all(&r);
    return status;
}
