/*
 * sim7600 — a SIMCom SIM7600E modem simulator as a library.
 *
 * One struct sim_modem per simulated modem; nothing is global, so one process
 * can hold many modems. The library is byte-fed: the caller hands it the bytes
 * the host (firmware) wrote to the UART with sim_modem_input() and drains what
 * the modem sends back with sim_modem_output(). Behind the AT commands the
 * modem opens real TCP, TLS (OpenSSL) and MQTT (libmosquitto) connections;
 * those are driven by the caller's poll loop through sim_modem_prepare() and
 * sim_modem_dispatch().
 *
 * Time comes from a shared virtual clock (harness/vclock.h); a NULL clock is
 * real time.
 */
#ifndef SIM7600_H
#define SIM7600_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vclock;
struct sim_modem;

/** Order of the final OK and the `+CMD: <err>` line of two-phase commands. */
enum sim_result_order {
    SIM_ORDER_OK_FIRST,   /**< `OK` then `+CMQTTSTART: 0` (manual) */
    SIM_ORDER_INFO_FIRST, /**< `+CMQTTSTART: 0` then `OK` (seen on SIM7600E logs) */
};

/** When unsolicited result codes may be sent. */
enum sim_urc_hold {
    SIM_URC_UNTIL_FINAL,   /**< held until the command in progress has its final result code */
    SIM_URC_BETWEEN_LINES, /**< may come between a command's echo/info lines and its final code */
};

/** Per-command latency profile. */
enum sim_latency {
    SIM_LATENCY_INSTANT,   /**< answer as fast as possible (CI) */
    SIM_LATENCY_REALISTIC, /**< answer after the delays a real module shows (virtual time) */
};

/** Direction of UART bytes, for faults and the capture tap. */
enum sim_dir {
    SIM_DIR_RX = 1, /**< host -> modem */
    SIM_DIR_TX = 2, /**< modem -> host */
};

/** Called with every byte that crosses the UART (before faults on RX, after faults on TX). */
typedef void (*sim_tap_fn)(void *ctx, enum sim_dir dir, const uint8_t *data, size_t len);

/** Settings of one simulated modem; fill with sim_config_defaults() first. */
struct sim_config {
    const char *manufacturer;      /**< AT+CGMI, default "SIMCOM INCORPORATED" */
    const char *model;             /**< AT+CGMM, default "SIMCOM_SIM7600E" */
    const char *revision;          /**< ATI Revision, default "SIM7600M21-A_V1.1" */
    const char *cgmr;              /**< AT+CGMR value, default "LE20B03SIM7600M22" */
    const char *imei;              /**< 15 digits */
    const char *iccid;             /**< 20 digits */
    const char *operator_name;     /**< AT+COPS? name */
    struct vclock *clock;          /**< shared virtual clock, NULL for real time */
    enum sim_result_order order;   /**< two-phase result order */
    enum sim_urc_hold urc_hold;    /**< URC release policy */
    enum sim_latency latency;      /**< latency profile */
    int cmee_default;              /**< AT+CMEE after power-up (0, 1, 2) */
    bool prompt_space;             /**< send "> " (with a space) instead of ">" as the data prompt */
    bool echo_prompt_data;         /**< echo raw bytes after '>' while ATE1 (SIM7670-like) */
    size_t max_line;               /**< longest command line accepted, bytes */
    uint32_t boot_ms;              /**< virtual ms from AT+CRESET to RDY */
    uint64_t seed;                 /**< seed of the fault injector's random source */
};

/** Fill cfg with the defaults documented on each field. */
void sim_config_defaults(struct sim_config *cfg);

/** Create a powered-up modem (echo on, SIM ready, registered). NULL on out of memory. */
struct sim_modem *sim_modem_new(const struct sim_config *cfg);

/** Close every connection and free the modem. NULL is ignored. */
void sim_modem_free(struct sim_modem *modem);

/** Feed bytes the host wrote to the modem's UART. */
void sim_modem_input(struct sim_modem *modem, const uint8_t *data, size_t len);

/** Move up to cap bytes the modem sends to the host into buf; returns the count. */
size_t sim_modem_output(struct sim_modem *modem, uint8_t *buf, size_t cap);

/** Bytes waiting in the modem's transmit buffer. */
size_t sim_modem_output_pending(const struct sim_modem *modem);

/** Install a tap that sees every UART byte (for the capture log). */
void sim_modem_set_tap(struct sim_modem *modem, sim_tap_fn tap, void *ctx);

/** Most file descriptors one prepare/dispatch round can carry. */
#define SIM_POLLSET_MAX 256

/** File descriptors and a timeout for one round of poll(). */
struct sim_pollset {
    struct pollfd fds[SIM_POLLSET_MAX]; /**< the caller's own fds may come first */
    int count;                          /**< fds in use */
    int timeout_ms;                     /**< -1 = none; prepare only ever lowers it */
};

/** Empty a pollset before a round (timeout -1). */
void sim_pollset_reset(struct sim_pollset *ps);

/** Add fd with events; returns its index or -1 when full. */
int sim_pollset_add(struct sim_pollset *ps, int fd, short events);

/** Add the modem's sockets and lower ps->timeout_ms to its next deadline. */
void sim_modem_prepare(struct sim_modem *modem, struct sim_pollset *ps);

/** After poll(): serve the modem's sockets and timers (call even on timeout). */
void sim_modem_dispatch(struct sim_modem *modem, const struct sim_pollset *ps);

/**
 * Run one line of the control protocol (README "Control protocol"), e.g.
 * "net down", "gnss fix 48.85 2.35 35 12.5 90" or "stats". Writes one reply
 * line (without newline) starting with "ok" or "error: " into reply.
 * Returns 0 when the command succeeded, -1 otherwise.
 */
int sim_modem_control(struct sim_modem *modem, const char *line, char *reply, size_t cap);

/** A row of the implemented-command table (for `sim7600 --commands` and the README). */
struct sim_command_info {
    const char *name;    /**< e.g. "+CMQTTCONNECT" or "E" */
    const char *group;   /**< e.g. "mqtt" */
    const char *forms;   /**< accepted forms, e.g. "=,?,=?" */
    const char *summary; /**< one line */
};

/** Call fn for every implemented AT command, in table order. */
void sim_commands_foreach(void (*fn)(void *ctx, const struct sim_command_info *info), void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* SIM7600_H */
