/*
 * fw_device.h - the device lifecycle, the same for all four stacks: set the
 * modem up, connect (with a fresh JWT as password on GCP), subscribe, then
 * stay online: publish what waits in the offline queue in order, renew the
 * JWT before it expires, and on any loss back off exponentially with jitter
 * from the port's random source and start over. Every event goes through
 * the persistent offline queue and leaves it only once delivered, so
 * nothing is lost across a connection loss or a reboot.
 * Optional hooks (struct fw_device_hooks, used by fw_rotation) may change
 * the server and certificates between attempts (modem TLS: mqtt.server and
 * setup; MCU TLS: mcu.host, tcp_port, server_name, ca_pem), ask for a
 * fresh start while online (a clean disconnect first) and learn each
 * connect's outcome, on both transports.
 *
 * Two transports (fw_device_config.transport):
 * - modem TLS (aws-modem-tls, gcp-modem-tls): the modem's own MQTT client
 *   and TLS (AT+CMQTT*); losses are +CMQTTCONNLOST, +CMQTTNONET, a modem
 *   reboot, a failed publish. Incoming messages arrive through the
 *   fw_sim7600 message callback.
 * - MCU TLS (aws-mcu-tls, gcp-mcu-tls): fw_mcu_tls, MQTT inside the port's
 *   TLS over the modem's raw TCP socket (the modem set up without SSL).
 *   An event leaves the queue only on its PUBACK (QoS 1), one at a time, so
 *   one not acknowledged before a loss is published again after
 *   reconnecting (a duplicate, as QoS 1 allows). Losses: the socket or the
 *   network closed, a TLS error, a modem restart, an overdue PUBACK or
 *   PINGRESP; after any loss the modem is set up again. On GCP the session
 *   is ended cleanly (DISCONNECT, socket closed) jwt_margin_s before the
 *   token expires and opened again with a fresh token. Incoming messages
 *   are handed to the same fw_sim7600 message callback (client 0, the
 *   topic copied NUL-terminated into the modem's topic buffer), so the
 *   application sees no difference.
 *
 * The application may run one AT command of its own when fw_device_idle()
 * says so (between the transport's AT commands).
 */
#ifndef FW_DEVICE_H
#define FW_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_jwt.h"
#include "fw_mcu_tls.h"
#include "fw_queue.h"
#include "fw_sim7600_mqtt.h"
#include "fw_sim7600_setup.h"

/* Most subscriptions the MCU-TLS transport takes. */
#ifndef FW_DEVICE_SUBS_MAX
#define FW_DEVICE_SUBS_MAX 4u
#endif

/* How the device reaches the cloud. */
enum fw_device_transport {
    FW_DEVICE_MODEM_TLS = 0,    /* the modem's MQTT client and TLS (AT+CMQTT*) */
    FW_DEVICE_MCU_TLS           /* fw_mcu_tls: the MCU's MQTT and TLS over the modem's TCP socket */
};

/* Where the lifecycle stands. */
enum fw_device_state {
    FW_DEVICE_SETUP = 0,        /* bringing the modem up */
    FW_DEVICE_CONNECTING,       /* AT+CMQTT connect sequence; MCU TLS: socket, TLS, CONNECT */
    FW_DEVICE_SUBSCRIBING,
    FW_DEVICE_ONLINE,           /* publishing the queue, keeping the session */
    FW_DEVICE_BACKOFF           /* waiting before starting over */
};

struct fw_device_config;

/* Optional hooks for a server endpoint and CA that change in the field
 * (fw_rotation); any function pointer may be NULL. */
struct fw_device_hooks {
    void *ctx;
    /* Before the first setup and before each later attempt: may replace
     * cfg->mqtt.server and cfg->setup, or on MCU TLS cfg->mcu's host,
     * tcp_port, server_name and ca_pem/ca_len (pointers must stay valid);
     * returns true when they changed, so the modem is set up again first. */
    bool (*prepare)(void *ctx, struct fw_device_config *cfg);
    /* Polled while online and idle: true drops the session (a clean
     * disconnect) and starts over at once, through prepare. */
    bool (*restart_due)(void *ctx);
    /* The outcome of each connection attempt: true when the broker
     * accepted it, false when the connect step failed (MCU TLS: the
     * transport refused to start, or the socket, TLS handshake or CONNACK
     * failed). */
    void (*connect_result)(void *ctx, bool accepted);
};

/* Everything the lifecycle needs; pointers stay valid while it runs. */
struct fw_device_config {
    struct fw_sim7600 *modem;
    struct fw_sim7600_setup_params setup;
    struct fw_sim7600_mqtt_params mqtt;  /* password is replaced by the JWT when jwt is set */
    const char *const *subscriptions;    /* topic filters, subscribed at QoS 1 */
    size_t n_subscriptions;
    struct fw_queue *queue;              /* events to publish, oldest first */
    uint8_t publish_qos;                 /* 0 or 1 */
    uint32_t backoff_min_ms;             /* first pause; 0 = 1000 */
    uint32_t backoff_max_ms;             /* cap; 0 = 300000 */
    const struct fw_jwt_params *jwt;     /* GCP: token parameters; NULL for AWS */
    char *jwt_buf;                       /* token storage (at least 257 bytes) */
    size_t jwt_cap;
    uint32_t jwt_margin_s;               /* renew this long before expiry; 0 = 300 */
    enum fw_device_transport transport;  /* 0: modem TLS */
    /* MCU TLS only: the transport's state (caller storage) and its
     * configuration: host, tcp_port, server_name, credential slots, session
     * buffers, connect (client id, keep-alive, user name). The device fills
     * in modem, port, the subscriptions (from subscriptions, QoS 1), the
     * session callbacks and, with jwt set, the password. setup should
     * leave the modem's SSL alone (ssl_ctx -1, no certificates); mqtt is
     * not used. */
    struct fw_mcu_tls *mcu_tls;
    struct fw_mcu_tls_config mcu;
    const struct fw_device_hooks *hooks; /* NULL: fixed server and certificates */
};

/* Counters. */
struct fw_device_stats {
    uint32_t connects;                   /* sessions established */
    uint32_t losses;                     /* times the lifecycle started over */
    uint32_t published;                  /* events delivered from the queue */
    uint32_t jwt_renewals;
};

/* Lifecycle state. Allocated by the caller; fields are private. */
struct fw_device {
    struct fw_device_config cfg;
    enum fw_device_state state;
    struct fw_sim7600_setup setup;
    struct fw_sim7600_mqtt mqtt;
    bool need_setup;
    bool publishing;
    bool disconnecting;
    bool restarting;                     /* disconnecting for hooks->restart_due */
    size_t sub_index;
    unsigned attempt;
    uint32_t resume_ms;
    uint32_t last_backoff_ms;
    uint64_t jwt_exp;
    struct fw_device_stats stats;
    /* MCU TLS */
    struct fw_mqtt_subscription mcu_subs[FW_DEVICE_SUBS_MAX];
    uint16_t inflight_id;                /* packet id of the event awaiting PUBACK */
    uint32_t inflight_dropped;           /* queue drops when it was published */
    enum fw_queue_priority inflight_prio;
};

/* Start the lifecycle (from modem setup). Returns false for an invalid
 * configuration (MCU TLS: also no transport storage, a port without TLS
 * hooks, more than FW_DEVICE_SUBS_MAX subscriptions). */
bool fw_device_start(struct fw_device *d, const struct fw_device_config *cfg);

/* Advance the lifecycle; returns its state. */
enum fw_device_state fw_device_poll(struct fw_device *d);

/* Whether the device runs no AT command of its own now: online and between
 * its operations (MCU TLS: between two TCP operations; a publish awaiting
 * its PUBACK does not count), or pausing in a back-off. The application
 * may then use the AT engine for one command (so GNSS keeps being read
 * while offline) and must not poll the device until that command has
 * finished. */
bool fw_device_idle(const struct fw_device *d);

/* Earliest port-clock time (ms) at which fw_device_poll() has timed work
 * (the end of a back-off pause, a setup retry, an AT command's timeout),
 * into *deadline_ms, so the caller may sleep until then or until modem
 * input. Returns false when nothing is timed. The JWT renewal is not
 * included: it is checked on every poll, minutes before expiry, so a
 * caller's bounded idle wait reaches it. */
bool fw_device_next_deadline_ms(const struct fw_device *d, uint32_t *deadline_ms);

/* The application's own AT commands got no answer (FW_DEVICE_SILENT_LIMIT
 * timeouts in a row): the modem may be hung while the session looks
 * alive. Starts over from the modem setup, whose sync pulses the modem's
 * reset line (port modem_reset) when the modem answers nothing. */
void fw_device_modem_silent(struct fw_device *d);

/* Timeouts in a row of an application's AT commands that mean the modem is
 * hung (see fw_device_modem_silent()). */
#define FW_DEVICE_SILENT_LIMIT 3u

/* Length of the last back-off pause, in ms (for logs and tests). */
uint32_t fw_device_last_backoff(const struct fw_device *d);

/* Counters. */
const struct fw_device_stats *fw_device_stats(const struct fw_device *d);

/* Human-readable name of a state; never NULL. */
const char *fw_device_state_str(enum fw_device_state state);

#endif /* FW_DEVICE_H */
