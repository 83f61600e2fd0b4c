/*
 * A firmware-like host for the sim7600 program: it starts build/bin/sim7600
 * with --link, --control and --clock (a frozen virtual clock file it owns, so
 * virtual time moves only when the test jumps it), opens the PTY as a
 * firmware's UART driver would, writes commands, reads the answers with
 * real-time hang guards, and talks to the control socket.
 *
 * No function here asserts: each returns a status the test checks, and the
 * expect functions print what arrived instead when they fail.
 */
#ifndef PTYHOST_H
#define PTYHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Real-ms hang guard of the waiting functions (a limit, never a timing assertion). */
#define PTYHOST_GUARD_MS 5000

/** Bytes of modem output the host keeps unconsumed. */
#define PTYHOST_SEEN_MAX 65536

/** Virtual time the clock starts at: 2030-01-01T00:00:00Z in ns. */
#define PTYHOST_EPOCH_NS (1893456000LL * 1000000000LL)

struct vclock;

/** One running sim7600 and the host end of its PTY; treat the fields as read-only. */
struct ptyhost {
    pid_t pid;                   /**< the sim7600 process, 0 when stopped */
    char dir[64];                /**< temporary directory holding link, socket and clock */
    char link[128];              /**< --link path */
    char ctl[128];               /**< --control socket path */
    char clock_path[128];        /**< --clock file */
    struct vclock *clock;        /**< the clock, owned by the host (frozen at start) */
    int fd;                      /**< host end of the UART, -1 while closed */
    uint8_t seen[PTYHOST_SEEN_MAX + 1]; /**< received, not yet consumed (NUL-terminated) */
    size_t seen_len;
    uint64_t received_total;     /**< every byte received since ptyhost_open */
};

/** Path of build/bin/sim7600, found next to the running test binary. */
const char *ptyhost_binary(void);

/**
 * Start sim7600 with a fresh frozen clock at PTYHOST_EPOCH_NS plus the
 * NULL-terminated extra_args (may be NULL), wait for its link and open it.
 * Returns 0, or -1 (with a message on stderr, nothing left running) on failure.
 */
int ptyhost_start(struct ptyhost *h, const char *const *extra_args);

/** SIGTERM the program, wait for it, remove the directory. Returns its exit status, or -1. */
int ptyhost_stop(struct ptyhost *h);

/** Open the UART (again): a host that reboots closes and reopens it. Returns 0 or -1. */
int ptyhost_open(struct ptyhost *h);

/** Close the UART and forget unconsumed output. */
void ptyhost_close(struct ptyhost *h);

/** Write len raw bytes to the modem. Returns true when all were written before the guard. */
bool ptyhost_send_raw(struct ptyhost *h, const void *data, size_t len);

/** Write a NUL-terminated string to the modem. */
bool ptyhost_send(struct ptyhost *h, const char *text);

/** Read what arrives within wait_ms (real) into the unconsumed buffer. */
void ptyhost_receive(struct ptyhost *h, int wait_ms);

/**
 * Wait until the unconsumed output contains needle and consume through it.
 * Returns false (printing the unconsumed output) when the guard expires.
 */
bool ptyhost_expect(struct ptyhost *h, const char *needle);

/**
 * Like ptyhost_expect, and also copies what came before needle (not needle
 * itself) into out (up to cap bytes); *out_len gets the copied length.
 */
bool ptyhost_expect_capture(struct ptyhost *h, const char *needle, uint8_t *out, size_t cap, size_t *out_len);

/**
 * Wait until the unconsumed output starts with exactly these bytes and
 * consume them. Returns false (printing both) on a mismatch or at the guard.
 */
bool ptyhost_expect_exact(struct ptyhost *h, const char *bytes);

/** True when nothing at all arrives for quiet_ms (real); use only where nothing may arrive. */
bool ptyhost_quiet(struct ptyhost *h, int quiet_ms);

/** Consume and forget everything received so far. */
void ptyhost_discard(struct ptyhost *h);

/**
 * One control command on a fresh connection to the control socket; the reply
 * line (without newline) goes into reply. Returns 0 for an `ok` reply, 1 for
 * any other reply, -1 when the socket failed.
 */
int ptyhost_control(struct ptyhost *h, const char *line, char *reply, size_t cap);

/** True when the control command's reply is exactly want (prints the reply otherwise). */
bool ptyhost_control_is(struct ptyhost *h, const char *line, const char *want);

/** A numeric key of the `stats` JSON object, or -1 when missing. */
long long ptyhost_stat(struct ptyhost *h, const char *key);

/** Move the virtual clock on by ms (the clock stays frozen). Returns 0 or -1. */
int ptyhost_jump_ms(struct ptyhost *h, int64_t ms);

#endif /* PTYHOST_H */
