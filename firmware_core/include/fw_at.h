/*
 * fw_at.h - AT client engine: sends one command at a time to the modem and
 * parses everything the modem says, byte by byte, whatever the chunking.
 *
 * What it understands:
 *   - final result codes OK, ERROR, +CME ERROR: <n|text>, +CMS ERROR: <n>;
 *   - information lines (handed to the request's line callback);
 *   - two-phase commands: a request may name a line ("+CMQTTSTART: ") that
 *     must arrive besides OK, in either order, before the command is done;
 *   - the data prompt `>` after which the request's raw bytes are sent;
 *   - length-counted raw reads: a line handler calls fw_at_read_raw() and the
 *     next n bytes bypass line parsing (+CMQTTRXPAYLOAD, +CIPRXGET: 2, ...);
 *   - unsolicited result codes dispatched by prefix to a const table, also
 *     between a command's echo and its OK, including multi-part blocks;
 *   - echo of the command line (dropped), blank lines, overlong lines and
 *     noise (dropped and counted, never fatal);
 *   - timeouts measured on the port's wrapping millisecond clock.
 * The engine never allocates: all buffers come from struct fw_at_config.
 */
#ifndef FW_AT_H
#define FW_AT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_config_defaults.h"
#include "fw_port.h"

/* Status of the engine and of the current command. */
enum fw_at_status {
    FW_AT_OK = 0,          /* command finished with OK (and its awaited line) */
    FW_AT_IN_PROGRESS,     /* command being sent or awaiting its answer */
    FW_AT_IDLE,            /* no command has been sent yet */
    FW_AT_ERROR,           /* command finished with ERROR */
    FW_AT_CME_ERROR,       /* command finished with +CME ERROR (code in result) */
    FW_AT_CMS_ERROR,       /* command finished with +CMS ERROR (code in result) */
    FW_AT_TIMEOUT,         /* no final answer within the request's timeout */
    FW_AT_NO_PROMPT,       /* a final code came where the `>` prompt was due */
    FW_AT_BUSY,            /* another command is still in progress */
    FW_AT_TOO_LONG,        /* the command does not fit the transmit buffer */
    FW_AT_BAD_ARG,         /* invalid argument (NULL, zero-sized buffer, ...) */
    FW_AT_PORT_ERROR       /* the port's UART reported a dead link */
};

struct fw_at;

/* Handler of an unsolicited line whose start matched its prefix. line is
 * NUL-terminated, len excludes the terminator. Returns true when the line
 * was consumed; false lets it fall through to the command in progress. May
 * call fw_at_read_raw(). */
typedef bool (*fw_at_urc_fn)(void *ctx, struct fw_at *at, const char *line, size_t len);

/* Callback for an information line of the command in progress (including the
 * awaited two-phase line). May call fw_at_read_raw(). */
typedef void (*fw_at_line_fn)(void *ctx, struct fw_at *at, const char *line, size_t len);

/* Receiver of raw bytes requested with fw_at_read_raw(); called once per
 * contiguous piece, so a payload may arrive in several calls. */
typedef void (*fw_at_raw_fn)(void *ctx, const uint8_t *data, size_t len);

/* One entry of the unsolicited result code table. */
struct fw_at_urc {
    const char *prefix;   /* line start to match, e.g. "+CMQTTRX" */
    fw_at_urc_fn handle;  /* called with the whole line */
};

/* Everything the engine needs, fixed at fw_at_init(). */
struct fw_at_config {
    const struct fw_port *port;  /* uart_read, uart_write, now_ms required */
    char *line_buf;              /* one received line; longer lines are dropped */
    size_t line_cap;             /* capacity including the NUL, at least 8 */
    char *tx_buf;                /* the command text plus its CR */
    size_t tx_cap;               /* capacity, at least 4 */
    const struct fw_at_urc *urcs;/* unsolicited codes, first match wins; may be NULL */
    size_t n_urcs;               /* entries in urcs */
    void *urc_ctx;               /* passed to every URC handler */
};

/* One command. Pointers must stay valid until the command has finished. */
struct fw_at_request {
    const char *cmd;             /* command text without the CR, e.g. "AT+CSQ" */
    const uint8_t *data;         /* bytes to send after the `>` prompt, or NULL */
    size_t data_len;             /* length of data */
    const char *await_line;      /* two-phase line prefix besides OK, or NULL */
    fw_at_line_fn on_line;       /* information lines, or NULL */
    void *ctx;                   /* passed to on_line */
    uint32_t timeout_ms;         /* whole command; 0 means FW_AT_DEFAULT_TIMEOUT_MS */
};

/* Outcome of the last finished command. */
struct fw_at_result {
    enum fw_at_status status;    /* as fw_at_poll() reports it */
    int32_t error_code;          /* +CME/+CMS number; -1 when absent or textual */
    int32_t await_value;         /* last integer of the awaited line, -1 if none */
};

/* Counters for diagnostics and tests. */
struct fw_at_stats {
    uint32_t lines;              /* complete lines parsed */
    uint32_t urcs;               /* lines consumed by URC handlers */
    uint32_t unhandled;          /* lines nobody wanted (noise, unknown URCs) */
    uint32_t overflows;          /* lines longer than line_cap, dropped */
    uint32_t raw_aborts;         /* raw reads abandoned after an idle gap */
    uint32_t timeouts;           /* commands that timed out */
};

enum fw_at_rx_state { FW_AT_RX_LINE, FW_AT_RX_SKIP, FW_AT_RX_RAW };
enum fw_at_phase {
    FW_AT_PH_IDLE, FW_AT_PH_SEND_CMD, FW_AT_PH_PROMPT, FW_AT_PH_SEND_DATA,
    FW_AT_PH_FINAL, FW_AT_PH_DONE
};

/* Engine state. Allocated by the caller; fields are private. */
struct fw_at {
    struct fw_at_config cfg;
    /* receive side */
    enum fw_at_rx_state rx;
    size_t line_len;
    bool swallow_lf;             /* the last line ended in CR: drop one LF */
    size_t raw_left;
    fw_at_raw_fn raw_sink;
    void *raw_ctx;
    uint32_t last_rx_ms;
    /* command side */
    enum fw_at_phase phase;
    struct fw_at_request req;
    size_t tx_len;
    size_t tx_off;
    size_t data_off;
    uint32_t started_ms;
    bool got_ok;
    bool got_await;
    struct fw_at_result result;
    struct fw_at_stats stats;
};

/* Initialise at with cfg. Returns FW_AT_IDLE, or FW_AT_BAD_ARG when a
 * required pointer is missing or a buffer is too small. */
enum fw_at_status fw_at_init(struct fw_at *at, const struct fw_at_config *cfg);

/* Start a command (copied into the transmit buffer; the CR is added). Returns
 * FW_AT_IN_PROGRESS, FW_AT_BUSY while another command runs, FW_AT_TOO_LONG or
 * FW_AT_BAD_ARG. Sending begins at once and continues in fw_at_poll(). */
enum fw_at_status fw_at_send(struct fw_at *at, const struct fw_at_request *req);

/* Do all work possible now: write pending bytes, read and parse what the
 * modem sent, check the timeout. Returns the current command's status
 * (FW_AT_IN_PROGRESS, a final status, FW_AT_IDLE) or FW_AT_PORT_ERROR. */
enum fw_at_status fw_at_poll(struct fw_at *at);

/* Parse bytes received from the modem (what fw_at_poll() does with the UART;
 * for ports that receive in an interrupt, and for tests and fuzzing). */
void fw_at_feed(struct fw_at *at, const uint8_t *data, size_t len);

/* From a line or URC handler: the next n bytes are raw data for sink, not
 * lines (one LF right after the header's CR is skipped first). n == 0 is a
 * no-op. */
void fw_at_read_raw(struct fw_at *at, size_t n, fw_at_raw_fn sink, void *ctx);

/* Abandon the command in progress (its status becomes FW_AT_TIMEOUT). */
void fw_at_cancel(struct fw_at *at);

/* Earliest port-clock time (ms) at which fw_at_poll() has timed work to do
 * (the running command's timeout, an abandoned raw read), into *deadline_ms.
 * Returns false when nothing is timed (only modem input can move it on). */
bool fw_at_next_deadline_ms(const struct fw_at *at, uint32_t *deadline_ms);

/* Keep the earlier of *deadline_ms (valid when *has is true) and candidate,
 * on the wrapping port clock; sets *has. For the next-deadline queries. */
void fw_deadline_keep_earliest(bool *has, uint32_t *deadline_ms, uint32_t candidate);

/* Outcome of the last finished command (status FW_AT_IN_PROGRESS/IDLE if none). */
const struct fw_at_result *fw_at_result(const struct fw_at *at);

/* Diagnostic counters. */
const struct fw_at_stats *fw_at_stats(const struct fw_at *at);

/* Human-readable name of a status; never NULL. */
const char *fw_at_status_str(enum fw_at_status status);

/* Number of arguments of a response line "+CMD: a,b,..." (text after the
 * first ':' split at commas outside double quotes; "+CMD: " alone has one,
 * empty, argument). */
unsigned fw_at_arg_count(const char *line, size_t len);

/* Argument n (0-based) of a response line "+CMD: a,b,...": the text after
 * the first ':' split at commas outside double quotes. Stores the decimal
 * integer in *out. Returns false when absent, empty or not an integer. */
bool fw_at_arg_int(const char *line, size_t len, unsigned n, int32_t *out);

/* Like fw_at_arg_int() for a string argument: copies it without its quotes
 * into buf (NUL-terminated, capacity cap) and its length into *out_len (may
 * be NULL). Returns false when absent or too long for buf. */
bool fw_at_arg_str(const char *line, size_t len, unsigned n, char *buf, size_t cap,
                   size_t *out_len);

#endif /* FW_AT_H */
