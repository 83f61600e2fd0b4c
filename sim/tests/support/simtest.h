/*
 * Test support for the simulator: exact-transcript replay at any chunk size,
 * an in-process driver that runs the modem's poll loop while waiting for
 * output, and helpers that start real servers (Mosquitto, echo and HTTP
 * servers) on free loopback ports.
 */
#ifndef SIMTEST_H
#define SIMTEST_H

#include "sim_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Chunk sizes every transcript is replayed at; 0 means "whole step at once". */
#define SIMTEST_CHUNK_SIZES { 1, 2, 7, 64, 0 }

/** One exchange of a transcript: bytes the host sends, bytes the modem must answer. */
struct simtest_step {
    const char *send;   /**< host -> modem (may be NULL) */
    size_t send_len;    /**< 0: strlen(send) */
    const char *expect; /**< modem -> host, exactly */
    size_t expect_len;  /**< 0: strlen(expect) */
    const char *control; /**< optional control-protocol line run before send */
};

/** A config for unit tests: instant latency, fixed identity. */
void simtest_config(struct sim_config *cfg);

/**
 * Replay steps against a fresh modem made from cfg (NULL: simtest_config),
 * feeding each step's bytes in pieces of chunk bytes (0 = whole) and
 * checking the answer byte for byte. Fails the CMocka test with a readable
 * diff on mismatch.
 */
void simtest_replay(const struct sim_config *cfg, const struct simtest_step *steps, size_t count, size_t chunk);

/** Replay at every size of SIMTEST_CHUNK_SIZES. */
void simtest_replay_all(const struct sim_config *cfg, const struct simtest_step *steps, size_t count);

/** An in-process host talking to one modem and running its poll loop. */
struct simtest_driver {
    struct sim_modem *modem;
    struct sim_buf seen; /**< output received and not yet consumed by an expect */
};

/** Start a driver with cfg (NULL: simtest_config). */
void simtest_driver_init(struct simtest_driver *d, const struct sim_config *cfg);
/** Free the driver and its modem. */
void simtest_driver_fini(struct simtest_driver *d);
/** Send a string to the modem. */
void simtest_send(struct simtest_driver *d, const char *text);
/** Send raw bytes to the modem. */
void simtest_send_raw(struct simtest_driver *d, const void *data, size_t len);
/** Run one round of the modem's poll loop (waits at most max_wait_ms real ms). */
void simtest_pump(struct simtest_driver *d, int max_wait_ms);
/**
 * Pump until the output contains needle (a safety limit of timeout_ms real
 * ms guards against hangs, it is not a timing assertion). Consumes the output
 * up to and including needle. Returns true when found; on false the unread
 * output is printed.
 */
bool simtest_expect(struct simtest_driver *d, const char *needle, int timeout_ms);
/** Like simtest_expect but also copies everything before and including needle into out (NUL-terminated). */
bool simtest_expect_capture(struct simtest_driver *d, const char *needle, int timeout_ms, char *out, size_t cap);
/** Run a control line; returns the reply in a static-per-driver buffer. */
const char *simtest_control(struct simtest_driver *d, const char *line);

/** A free TCP port on 127.0.0.1. */
int simtest_free_port(void);

/** Directory with the certs/gen.sh output (env CELLBENCH_CERTS or certs/out). */
const char *simtest_certs_dir(void);

/** Path of a file under the certs directory (static buffer rotated 8 deep). */
const char *simtest_cert(const char *relative);

/**
 * Read a whole file into a NUL-terminated heap buffer (free() it); fails the
 * test when the file cannot be read. len may be NULL.
 */
char *simtest_read_file(const char *path, size_t *len);

/**
 * Put a certs/out file (e.g. "devices/bus-1/cert.pem") into the modem's
 * certificate store as store_name through AT+CCERTDOWN, checking the
 * prompt and the OK (echo must be off).
 */
void simtest_download_cert(struct simtest_driver *d, const char *store_name, const char *cert_path);

/** Send a command line and expect its "\r\n"OK"\r\n" (30 s hang guard). */
void simtest_at_ok(struct simtest_driver *d, const char *line);

/** Pump until len bytes of output wait, then move exactly len of them into out (30 s hang guard). */
void simtest_take_bytes(struct simtest_driver *d, size_t len, char *out);

/** A running server process started by a helper below. */
struct simtest_server {
    pid_t pid;
    int port;
    char dir[128]; /**< temporary directory (config, logs) */
};

/**
 * Start mosquitto on a free port with `listener PORT 127.0.0.1` followed by
 * extra_config lines (may be NULL). Waits until the port accepts. Returns 0.
 */
int simtest_mosquitto_start(struct simtest_server *srv, const char *extra_config);

/** Stop a server started by a helper and remove its directory. */
void simtest_server_stop(struct simtest_server *srv);

/** Wait until 127.0.0.1:port accepts connections (up to timeout_ms). Returns 0 or -1. */
int simtest_wait_port(int port, int timeout_ms);

#endif /* SIMTEST_H */
