/*
 * Internal interfaces of the simulator library: the modem context, the AT
 * framework (parsing, results, prompts, URCs) and the command groups.
 *
 * Each command group lives in its own file (cmd_<group>.c) with its own state
 * struct, hung off the modem by a typed pointer, and a const struct sim_group
 * that lists its commands and hooks. The framework (modem.c, at_parser.c,
 * control.c) knows the groups only through those structs.
 */
#ifndef SIM_INTERNAL_H
#define SIM_INTERNAL_H

#include "sim7600.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- buffers */

/** A growable byte buffer with a read position. */
struct sim_buf {
    uint8_t *data;
    size_t head; /**< first unread byte */
    size_t len;  /**< end of data */
    size_t cap;
};

/** Append len bytes. */
void sim_buf_put(struct sim_buf *b, const void *data, size_t len);
/** Append a printf-formatted string. */
void sim_buf_printf(struct sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append a printf-formatted string (va_list form). */
void sim_buf_vprintf(struct sim_buf *b, const char *fmt, va_list ap);
/** Unread byte count. */
size_t sim_buf_used(const struct sim_buf *b);
/** Move up to cap unread bytes out; returns the count. */
size_t sim_buf_take(struct sim_buf *b, void *out, size_t cap);
/** Drop every byte. */
void sim_buf_clear(struct sim_buf *b);
/** Release the memory. */
void sim_buf_free(struct sim_buf *b);

/* ------------------------------------------------------------- AT parsing */

/** Which form of a command the host sent. */
enum sim_at_kind {
    SIM_AT_EXEC, /**< AT+CMD  (and basic commands like ATE0) */
    SIM_AT_READ, /**< AT+CMD? */
    SIM_AT_TEST, /**< AT+CMD=? */
    SIM_AT_SET,  /**< AT+CMD=<args> */
};

/** Most arguments one command may carry. */
#define SIM_AT_MAX_ARGS 16

/** One comma-separated argument as sent (quotes removed from text). */
struct sim_at_arg {
    char *text;  /**< NUL-terminated, quotes stripped */
    bool quoted; /**< it was a "quoted string" */
    bool empty;  /**< nothing between the commas */
};

/** A parsed command handed to a handler. */
struct sim_at_cmd {
    enum sim_at_kind kind;
    const char *name;       /**< upper-cased, e.g. "+CMQTTACCQ", "E", "&V" */
    int basic_value;        /**< digits after a basic command (ATE1 -> 1), -1 if none */
    int argc;               /**< arguments of a SET */
    struct sim_at_arg argv[SIM_AT_MAX_ARGS];
    char name_storage[40];  /**< where name points */
};

/** Parse argument i as an integer within [min, max]. Returns true on success. */
bool sim_arg_int(const struct sim_at_cmd *cmd, int i, long min, long max, long *out);
/** Like sim_arg_int, but a missing or empty argument yields def. */
bool sim_arg_int_opt(const struct sim_at_cmd *cmd, int i, long min, long max, long def, long *out);
/** Argument i as a string of length [min_len, max_len]; quoted must match when require_quotes. */
bool sim_arg_str(const struct sim_at_cmd *cmd, int i, size_t min_len, size_t max_len, bool require_quotes,
                 const char **out);

/* ------------------------------------------------------------- results */

/** What a command handler returns. */
enum sim_at_status {
    SIM_AT_OK,      /**< final "OK" */
    SIM_AT_ERROR,   /**< final plain "ERROR" (application commands, whatever CMEE says) */
    SIM_AT_CME,     /**< final "+CME ERROR: <n>" per AT+CMEE; code set by sim_cme() */
    SIM_AT_PROMPT,  /**< a data prompt was opened with sim_prompt*(); the final code comes later */
    SIM_AT_PENDING, /**< the final code comes later through sim_at_finish() */
};

/** Some +CME ERROR codes (reference §0). */
enum sim_cme_code {
    SIM_CME_PHONE_FAILURE = 0,
    SIM_CME_NOT_ALLOWED = 3,
    SIM_CME_NOT_SUPPORTED = 4,
    SIM_CME_SIM_NOT_INSERTED = 10,
    SIM_CME_SIM_PIN_REQUIRED = 11,
    SIM_CME_SIM_FAILURE = 13,
    SIM_CME_SIM_BUSY = 14,
    SIM_CME_INCORRECT_PASSWORD = 16,
    SIM_CME_NO_NETWORK = 30,
    SIM_CME_NETWORK_TIMEOUT = 31,
    SIM_CME_INVALID_CHARS = 25,
    SIM_CME_UNKNOWN = 100,
    SIM_CME_GPRS_NOT_ALLOWED = 107,
};

/** Record a +CME ERROR code for the command in progress; returns SIM_AT_CME. */
enum sim_at_status sim_cme(struct sim_modem *m, int code);

/**
 * Answer a two-phase command whose result is known now: `OK` plus the
 * formatted `+CMD: ...` line, in the order the modem is configured for.
 * Returns the status the handler must return.
 */
enum sim_at_status sim_two_phase(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * A line that follows the final OK of the line in progress, whatever the
 * two-phase order and URC policy (e.g. AT+HTTPREAD's `+HTTPREAD: DATA,<n>`
 * frames, which the module sends after its OK). Use only on the OK path.
 */
void sim_after_final_line(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Raw bytes that follow the final OK (after sim_after_final_line). */
void sim_after_final_raw(struct sim_modem *m, const void *data, size_t len);

/** Finish a command that returned SIM_AT_PENDING (or a prompt's data handler that did). */
void sim_at_finish(struct sim_modem *m, enum sim_at_status status);

/** An information line of the response in progress: "\r\n<text>\r\n" framing. */
void sim_info(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Raw bytes inside the response in progress (e.g. after +CIPRXGET: 2,...). */
void sim_info_raw(struct sim_modem *m, const void *data, size_t len);

/** Queue a one-line unsolicited result code ("\r\n<text>\r\n"). */
void sim_urc(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Build a multi-part URC that must reach the host unbroken (e.g. the
 * +CMQTTRXSTART ... +CMQTTRXEND block): begin, any number of lines and raw
 * parts, end.
 */
void sim_urc_begin(struct sim_modem *m);
/** A line of the URC block being built. */
void sim_urc_line(struct sim_modem *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Raw bytes of the URC block being built. */
void sim_urc_raw(struct sim_modem *m, const void *data, size_t len);
/** Queue the URC block being built. */
void sim_urc_end(struct sim_modem *m);

/** Called with the data of a prompt; returns the command's final status. */
typedef enum sim_at_status (*sim_prompt_fn)(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len);

/** Open a `>` prompt for exactly len raw bytes; returns SIM_AT_PROMPT. */
enum sim_at_status sim_prompt(struct sim_modem *m, size_t len, sim_prompt_fn fn, void *ctx);

/**
 * Open a `>` prompt ended by Ctrl-Z (0x1A) and cancelled by ESC (0x1B), with
 * 0x03 escaping the next byte, for at most max bytes (AT+CIPSEND=<link>).
 * On ESC the final code is OK and fn is not called.
 */
enum sim_at_status sim_prompt_ctrlz(struct sim_modem *m, size_t max, sim_prompt_fn fn, void *ctx);

/* ------------------------------------------------------------- groups */

/** A command handler. */
typedef enum sim_at_status (*sim_cmd_fn)(struct sim_modem *m, const struct sim_at_cmd *cmd);

/** Forms a command accepts (bit set). */
#define SIM_FORM_EXEC (1u << SIM_AT_EXEC)
#define SIM_FORM_READ (1u << SIM_AT_READ)
#define SIM_FORM_TEST (1u << SIM_AT_TEST)
#define SIM_FORM_SET  (1u << SIM_AT_SET)
#define SIM_FORM_ALL  (SIM_FORM_EXEC | SIM_FORM_READ | SIM_FORM_TEST | SIM_FORM_SET)

/** One row of a group's command table. */
struct sim_cmd {
    const char *name;     /**< upper case: "+CMQTTSTART", basic ones without AT: "E", "I", "&V" */
    unsigned forms;       /**< SIM_FORM_* the command accepts; others answer ERROR */
    sim_cmd_fn fn;        /**< handler */
    uint32_t latency_ms;  /**< answer delay under SIM_LATENCY_REALISTIC (virtual ms) */
    const char *summary;  /**< one line for the README table */
};

/** Why a group must drop its connections. */
enum sim_teardown {
    SIM_DOWN_RESET,   /**< AT+CRESET or a reset fault: everything goes, URCs first */
    SIM_DOWN_NETWORK, /**< the data network was lost (fault, deregistration, AT+CFUN=0/4) */
};

/** A command group: its table and its hooks (any hook may be NULL). */
struct sim_group {
    const char *name;
    const struct sim_cmd *cmds;
    size_t cmd_count;
    /** Allocate the group's state; return 0 or -1. */
    int (*init)(struct sim_modem *m);
    /** Free the group's state (connections closed without URCs). */
    void (*fini)(struct sim_modem *m);
    /** Add sockets to ps and lower its timeout to the group's next deadline. */
    void (*prepare)(struct sim_modem *m, struct sim_pollset *ps);
    /** Serve the sockets added by prepare and due deadlines. */
    void (*dispatch)(struct sim_modem *m, const struct sim_pollset *ps);
    /** Drop connections and emit the URCs a real module emits for why. */
    void (*teardown)(struct sim_modem *m, enum sim_teardown why);
    /**
     * A control-protocol command for this group (argv[0] is the verb).
     * Return 1 if handled (reply written, *ok set), 0 if not this group's.
     */
    int (*control)(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool *ok);
    /** Append this group's statistics as `"key":value` pairs (comma-led) to b. */
    void (*stats)(struct sim_modem *m, struct sim_buf *b);
};

extern const struct sim_group sim_group_basic;
extern const struct sim_group sim_group_tcpip;
extern const struct sim_group sim_group_ssl;
extern const struct sim_group sim_group_cch;
extern const struct sim_group sim_group_mqtt;
extern const struct sim_group sim_group_gnss;
extern const struct sim_group sim_group_http;

/** Every group, in table order (at_commands.c). */
extern const struct sim_group *const sim_groups[];
/** Number of entries in sim_groups. */
extern const size_t sim_group_count;

/* ------------------------------------------------------------- modem state */

struct sim_basic;
struct sim_tcpip;
struct sim_ssl;
struct sim_cch;
struct sim_mqtt;
struct sim_gnss;
struct sim_http;

/** Input state of the AT framer. */
enum sim_rx_state {
    SIM_RX_LINE,         /**< collecting a command line */
    SIM_RX_PROMPT_FIXED, /**< collecting exactly prompt_len raw bytes */
    SIM_RX_PROMPT_CTRLZ, /**< collecting raw bytes until Ctrl-Z */
};

/** A host-name override used by every connect (DNS of the simulated network). */
struct sim_host_alias {
    char *name;
    char *address;
};

/** Counters reported by the control command "stats". */
struct sim_counters {
    uint64_t rx_bytes, tx_bytes;
    uint64_t commands, errors, urcs;
    uint64_t rx_dropped, rx_corrupted, tx_dropped, tx_corrupted;
    uint64_t resets;
};

/** The whole state of one simulated modem. */
struct sim_modem {
    struct sim_config cfg;

    /* UART */
    struct sim_buf tx;              /**< bytes waiting to go to the host */
    struct sim_buf rx_backlog;      /**< input received while a command was in progress */
    bool draining;                  /**< drain_backlog() is running (no nesting) */
    uint64_t backlog_generation;    /**< bumped whenever rx_backlog is thrown away */
    sim_tap_fn tap;
    void *tap_ctx;

    /* AT framer and executor */
    enum sim_rx_state rx_state;
    char *line;                     /**< command line being collected (max_line + 1) */
    size_t line_len;
    bool line_overflow;
    bool saw_a;                     /**< previous byte was 'A'/'a' outside a line (for A/) */
    char *exec_line;                /**< the line being executed (owned copy) */
    size_t exec_pos;                /**< where the next chained command starts */
    bool busy;                      /**< a command line is executing */
    bool any_info;                  /**< the response in progress has info lines */
    struct sim_buf response;        /**< response of the line in progress (held for latency) */
    struct sim_buf after_final;     /**< lines that follow the final code (OK-first two-phase) */
    int cme_code;
    uint32_t line_latency_ms;       /**< accumulated latency of the commands in the line */
    int64_t release_at_ms;          /**< response held until this virtual time; 0 = none */

    /* prompt */
    size_t prompt_len, prompt_got, prompt_max;
    bool prompt_escape;             /**< previous byte was 0x03 in Ctrl-Z mode */
    bool prompt_skip_lf;            /**< a LF right after the command's CR ends the line, not data */
    struct sim_buf prompt_data;
    sim_prompt_fn prompt_fn;
    void *prompt_ctx;

    /* URCs */
    struct sim_buf urc_queue;       /**< complete URCs waiting for release */
    struct sim_buf urc_build;       /**< block being built by sim_urc_begin/end */

    /* basic settings */
    bool echo;
    int cmee;
    int creg_n, cgreg_n, cereg_n;
    int cfun;
    long ipr;
    int64_t cclk_offset_ms;         /**< AT+CCLK= minus virtual time */
    int cclk_tz;                    /**< time zone of AT+CCLK, quarter hours */

    /* radio (changed by faults through the control socket) */
    bool sim_present;
    bool network_up;                /**< the data network is reachable */
    int reg_stat;                   /**< 27.007 <stat> while network_up */
    int rssi, ber;

    /* power */
    bool booting;                   /**< between CRESET and RDY: input ignored */
    bool reset_requested;           /**< reset once the response in progress is sent */
    int64_t boot_start_ms;          /**< virtual time the reset began */
    size_t boot_next;               /**< next boot URC to send; all sent when past the end */

    /* faults */
    int64_t stall_until_ms;         /**< no input served, no output sent until then */
    double rx_loss, rx_corrupt, tx_loss, tx_corrupt;
    uint64_t rng;

    struct sim_host_alias *aliases;
    size_t alias_count;

    struct sim_counters counters;

    const struct sim_cmd **cmd_index; /**< every command of every group, sorted by name */
    size_t cmd_index_count;

    /* groups */
    struct sim_basic *basic;
    struct sim_tcpip *tcpip;
    struct sim_ssl *ssl;
    struct sim_cch *cch;
    struct sim_mqtt *mqtt;
    struct sim_gnss *gnss;
    struct sim_http *http;
};

/** Virtual time in milliseconds since the Unix epoch. */
int64_t sim_now_ms(const struct sim_modem *m);

/** The module's own clock (AT+CCLK): virtual time plus what AT+CCLK= set, ms since the epoch (UTC). */
int64_t sim_local_time_ms(const struct sim_modem *m);

/** Lower ps->timeout_ms so that poll() returns by the virtual deadline (ms). */
void sim_pollset_deadline(const struct sim_modem *m, struct sim_pollset *ps, int64_t deadline_ms);

/** True when the modem is registered and the data network is reachable. */
bool sim_network_ready(const struct sim_modem *m);

/** Look up a host alias: returns the address to connect to for name. */
const char *sim_resolve_alias(const struct sim_modem *m, const char *name);

/**
 * Emit the +CREG/+CGREG/+CEREG URCs the host enabled (AT+CREG=1/2 ...) for
 * the current registration state (cmd_basic.c). Call after reg_stat changed.
 */
void sim_basic_reg_urcs(struct sim_modem *m);

/** Tear down every group for why (and emit its URCs). */
void sim_teardown_all(struct sim_modem *m, enum sim_teardown why);

/** Start a module reset now (a reset fault). Never call it from a command handler. */
void sim_modem_reset(struct sim_modem *m);

/**
 * Reset the module once the response of the command in progress has been
 * sent (AT+CRESET, AT+CFUN=1,1): the rest of a chained line is dropped.
 */
void sim_modem_request_reset(struct sim_modem *m);

/** Next pseudo-random 64-bit value of the modem's seeded source. */
uint64_t sim_random(struct sim_modem *m);

/** Parse a whole decimal word (control verbs) within [min, max]; false when it is not one. */
bool sim_parse_long(const char *text, long min, long max, long *out);

/** Parse a whole floating-point word (control verbs) within [min, max]; false when it is not one. */
bool sim_parse_double(const char *text, double min, double max, double *out);

/** Text of a CME error code for AT+CMEE=2. */
const char *sim_cme_text(int code);

/** Execute the chained commands of m->exec_line from m->exec_pos on (at_parser.c). */
void sim_at_run_line(struct sim_modem *m);

/** Give the line in progress its final result code (modem.c). */
void sim_at_line_done(struct sim_modem *m, enum sim_at_status status);

/** Build m's sorted command index (at_commands.c); 0, or -1 when out of memory. */
int sim_cmd_index_build(struct sim_modem *m);

/** Find a command by its upper-cased name (binary search of m's index); NULL when not implemented. */
const struct sim_cmd *sim_find_cmd(const struct sim_modem *m, const char *name);

#endif /* SIM_INTERNAL_H */
