/*
 * fw_port_linux.h - the firmware core's port for Linux: the modem UART is a
 * tty (the simulator's PTY, or a USB-serial adapter) in raw mode, time comes
 * from the bench's shared virtual clock (harness/vclock.h) or the host's
 * clocks, signing uses OpenSSL with a PEM private key, persistent storage
 * is one file per key under a state directory (replaced atomically), and
 * the log is one line per event on stderr.
 */
#ifndef FW_PORT_LINUX_H
#define FW_PORT_LINUX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fw_port.h"

struct vclock;
struct evp_pkey_st;
struct fw_linux_tls;
struct fw_linux_inputs;

/* The Linux platform. Fill with fw_linux_port_open(); pass &p->port to the core. */
struct fw_linux_port {
    struct fw_port port;
    int fd;                       /* the UART */
    struct vclock *clock;         /* NULL: host clocks */
    struct evp_pkey_st *key;      /* signing key, NULL if none */
    char state_dir[512];          /* "" when nothing persists */
    const char *name;             /* prefix of every log line */
    FILE *log;                    /* stderr unless changed */
    int verbose;                  /* log FW_LOG_DEBUG events too */
    struct fw_linux_tls *tls;     /* MCU-side TLS (fw_port_linux_tls.h), NULL if none */
    const char *reset_control;    /* the modem's reset line: the simulator's
                                   * control socket, NULL if none
                                   * (fw_linux_port_use_reset_line) */
    struct fw_linux_inputs *inputs; /* driver and camera inputs, NULL if none
                                     * (fw_linux_port_use_inputs) */
};

/* Open the tty at uart_path (raw, non-blocking, 115200 8N1), the clock file
 * at clock_path (NULL: host clocks), the PEM private key at key_path (NULL:
 * no signing) and the state directory (NULL: nothing persists; created if
 * missing). Returns 0, or -1 with a message on stderr. */
int fw_linux_port_open(struct fw_linux_port *p, const char *name, const char *uart_path,
                       const char *clock_path, const char *key_path, const char *state_dir);

/* Release everything fw_linux_port_open() acquired. */
void fw_linux_port_close(struct fw_linux_port *p);

/* Wait until the UART has input or timeout_ms of real time passed (the main
 * loop's idle wait; the core itself never waits). */
void fw_linux_port_wait(struct fw_linux_port *p, int timeout_ms);

/* Like fw_linux_port_wait(), but when has_deadline is set also return once
 * the port clock reaches deadline_ms (the core's next deadline, e.g. from
 * fw_bus_app_next_deadline_ms()). On the virtual clock the deadline is
 * converted to real time at the clock's current rate, so the core wakes in
 * time at any rate; while the clock is frozen the wait is at most 1 ms so a
 * thaw is noticed soon. Never longer than max_ms of real time. */
void fw_linux_port_wait_until(struct fw_linux_port *p, bool has_deadline, uint32_t deadline_ms,
                              int max_ms);

#endif /* FW_PORT_LINUX_H */
