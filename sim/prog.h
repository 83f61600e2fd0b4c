/*
 * The sim7600 program: a thin server around the simulator library. It puts
 * one modem on a PTY (--link) or a real serial device (--serial), offers the
 * control protocol on a Unix socket (--control), writes the UART capture
 * (--log) and paces the UART like a real baud rate (--pace-baud).
 *
 * These declarations are shared by the program's own files (sim/main.c and
 * sim/prog_*.c) only; the library's interface is sim/include/sim7600.h.
 */
#ifndef SIM_PROG_H
#define SIM_PROG_H

#include "sim7600.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/** Exit status for bad command-line arguments. */
#define PROG_EXIT_USAGE 2

/** Everything the command line chooses. */
struct prog_options {
    const char *link_path;    /**< --link: symlink to the PTY slave */
    const char *serial_dev;   /**< --serial: a real serial device */
    long baud;                /**< --baud for --serial (default 115200) */
    const char *control_path; /**< --control: Unix socket of the control protocol */
    const char *log_path;     /**< --log: UART capture file */
    const char *clock_path;   /**< --clock: shared virtual clock file */
    long pace_baud;           /**< --pace-baud: 0 = unpaced */
    bool list_commands;       /**< --commands */
    bool help;                /**< --help */
    struct sim_config cfg;    /**< modem settings (clock filled in by main) */
};

/**
 * Parse argv into opts. Returns 0 on success; on a bad argument prints the
 * reason and the usage to stderr and returns -1.
 */
int prog_parse_options(int argc, char **argv, struct prog_options *opts);

/** Print the usage text to out. */
void prog_usage(FILE *out);

/** Print the implemented-command table as Markdown (sim_commands_foreach). */
void prog_print_commands(FILE *out);

/* ------------------------------------------------------------ UART */

/** The host side of the simulated UART. */
struct prog_uart {
    int fd;            /**< PTY master or serial device, non-blocking */
    int slave_fd;      /**< PTY only: our own slave fd (keeps EIO away), else -1 */
    char slave[128];   /**< PTY only: slave device path */
    const char *link;  /**< PTY only: the symlink we made (removed at close) */
    bool is_pty;
};

/** Open a raw PTY and make link_path a symlink to its slave. Returns 0 or -1 (message on stderr). */
int prog_uart_open_pty(struct prog_uart *u, const char *link_path);

/** Open a serial device raw at baud. Returns 0, or -1 (message on stderr). */
int prog_uart_open_serial(struct prog_uart *u, const char *dev, long baud);

/** True when baud is a rate prog_uart_open_serial can set. */
bool prog_baud_supported(long baud);

/** Close the UART and remove the symlink. */
void prog_uart_close(struct prog_uart *u);

/* ------------------------------------------------------------ capture */

/** The UART capture (--log). */
struct prog_capture {
    FILE *file;
    const struct vclock *clock;
};

/** Open the capture file and write its header. Returns 0 or -1 (message on stderr). */
int prog_capture_open(struct prog_capture *cap, const char *path, const struct vclock *clock);

/** The sim_tap_fn writing one line per chunk: `<virtual> <real> RX|TX "escaped"`. */
void prog_capture_tap(void *ctx, enum sim_dir dir, const uint8_t *data, size_t len);

/** Escape data into out (NUL-terminated, truncated to cap) as in the capture format. */
void prog_capture_escape(const uint8_t *data, size_t len, char *out, size_t cap);

/** Close the capture file. */
void prog_capture_close(struct prog_capture *cap);

/* ------------------------------------------------------------ control */

/** Most control clients served at once. */
#define PROG_CONTROL_MAX_CLIENTS 16

/** Longest control line accepted (without newline). */
#define PROG_CONTROL_LINE_MAX 1024

/** One connected control client. */
struct prog_control_client {
    int fd;                               /**< -1 when the slot is free */
    char in[PROG_CONTROL_LINE_MAX + 1];   /**< partial line */
    size_t in_len;
    bool discarding;                      /**< skipping the rest of an overlong line */
    char *out;                            /**< replies not yet written */
    size_t out_len, out_off;
};

/** The control socket and its clients. */
struct prog_control {
    int listen_fd;                        /**< -1 when --control was not given */
    const char *path;
    struct prog_control_client clients[PROG_CONTROL_MAX_CLIENTS];
};

/** Listen on a Unix stream socket at path (a stale socket is replaced). Returns 0 or -1. */
int prog_control_open(struct prog_control *ctl, const char *path);

/** Initialise ctl as closed (no socket). */
void prog_control_init(struct prog_control *ctl);

/** Add the listening socket and clients to ps. */
void prog_control_prepare(struct prog_control *ctl, struct sim_pollset *ps);

/** Accept clients, run complete lines through sim_modem_control, write replies. */
void prog_control_dispatch(struct prog_control *ctl, struct sim_modem *modem, const struct sim_pollset *ps);

/** Close every client and the socket, and remove the socket file. */
void prog_control_close(struct prog_control *ctl);

/* ------------------------------------------------------------ serving */

/**
 * Block SIGINT, SIGTERM and SIGHUP and install their handlers; call before anything
 * needs cleaning up. prog_serve() then takes them only inside ppoll().
 */
void prog_stop_signals_init(void);

/** Serve the modem on the UART until SIGINT/SIGTERM/SIGHUP; returns the exit status. */
int prog_serve(struct sim_modem *modem, struct prog_uart *uart, struct prog_control *ctl, long pace_baud);

#endif /* SIM_PROG_H */
