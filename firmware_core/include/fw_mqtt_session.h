/*
 * fw_mqtt_session.h - an MQTT 3.1.1 client session over fw_mqtt, for the
 * stacks where the MCU speaks MQTT itself (through its own TLS over the
 * modem's TCP link). It is transport-free: outgoing packets collect in a
 * caller buffer that the transport drains (fw_mqtt_session_pending() /
 * fw_mqtt_session_sent()), incoming bytes are handed to
 * fw_mqtt_session_input() in any chunking, and fw_mqtt_session_poll() runs
 * the timers on the port's clock: CONNACK, SUBACK and PUBACK deadlines,
 * keep-alive PINGREQ and its PINGRESP deadline.
 *
 * QoS 1 publishes wait in a caller-sized in-flight table until their
 * PUBACK. Nothing is retransmitted on the same connection (MQTT 3.1.1 only
 * redelivers on reconnect): an overdue PUBACK ends the session with
 * FW_MQTT_SESSION_TIMEOUT, and the caller republishes what was not acked.
 */
#ifndef FW_MQTT_SESSION_H
#define FW_MQTT_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_mqtt.h"
#include "fw_port.h"

/* Where the session stands. */
enum fw_mqtt_session_state {
    FW_MQTT_SESSION_DISCONNECTED = 0,
    FW_MQTT_SESSION_CONNECTING,   /* CONNECT queued, waiting for CONNACK */
    FW_MQTT_SESSION_CONNECTED
};

/* Status of every session function. Anything but OK, NO_SPACE and BAD_ARG
 * also ends the session (state DISCONNECTED). */
enum fw_mqtt_session_status {
    FW_MQTT_SESSION_OK = 0,
    FW_MQTT_SESSION_NO_SPACE,     /* transmit buffer or in-flight table full: try later */
    FW_MQTT_SESSION_BAD_ARG,      /* invalid argument, or not connected */
    FW_MQTT_SESSION_REFUSED,      /* CONNACK refused (code in fw_mqtt_session_connack()) */
    FW_MQTT_SESSION_TIMEOUT,      /* CONNACK, SUBACK, PUBACK or PINGRESP overdue */
    FW_MQTT_SESSION_PROTOCOL      /* the server broke the protocol (malformed, unexpected) */
};

/* One QoS 1 publish waiting for its PUBACK. */
struct fw_mqtt_inflight {
    uint16_t packet_id;           /* 0: free slot */
    uint32_t sent_ms;
};

/* Callbacks and buffers, fixed at init. */
struct fw_mqtt_session_config {
    const struct fw_port *port;   /* now_ms required; log optional */
    uint8_t *tx_buf;              /* outgoing packets not yet taken by the transport */
    size_t tx_cap;
    uint8_t *rx_buf;              /* one incoming packet; larger ones are skipped */
    size_t rx_cap;
    struct fw_mqtt_inflight *inflight; /* QoS 1 publishes awaiting PUBACK */
    size_t inflight_cap;
    uint32_t ack_timeout_ms;      /* CONNACK/SUBACK/PUBACK/PINGRESP deadline; 0 = 20000 */
    /* an incoming PUBLISH (topic and payload point into rx_buf) */
    void (*on_message)(void *ctx, const struct fw_mqtt_publish *msg);
    /* a QoS 1 publish was acknowledged */
    void (*on_puback)(void *ctx, uint16_t packet_id);
    /* SUBACK: one granted QoS (0-2) or 0x80 (refused) per filter */
    void (*on_suback)(void *ctx, uint16_t packet_id, const uint8_t *codes, size_t n);
    void *ctx;
};

/* Session state. Allocated by the caller; fields are private. */
struct fw_mqtt_session {
    struct fw_mqtt_session_config cfg;
    enum fw_mqtt_session_state state;
    struct fw_mqtt_rx rx;
    size_t tx_len;
    uint16_t next_id;
    uint32_t keepalive_ms;
    uint32_t last_tx_ms;
    uint32_t connect_ms;
    bool ping_outstanding;
    uint32_t ping_ms;
    uint16_t sub_id;              /* SUBSCRIBE awaiting SUBACK, 0 if none */
    uint32_t sub_ms;
    uint8_t connack_code;
    uint32_t oversized;           /* incoming packets skipped as too large */
};

/* Initialise with cfg. Returns OK or BAD_ARG (missing buffer or clock). */
enum fw_mqtt_session_status fw_mqtt_session_init(struct fw_mqtt_session *s,
                                                 const struct fw_mqtt_session_config *cfg);

/* Queue CONNECT (any previous session state is dropped). */
enum fw_mqtt_session_status fw_mqtt_session_connect(struct fw_mqtt_session *s,
                                                    const struct fw_mqtt_connect *c);

/* Queue a PUBLISH; for QoS 1 a packet id is assigned (written to *packet_id,
 * may be NULL) and the publish enters the in-flight table. */
enum fw_mqtt_session_status fw_mqtt_session_publish(struct fw_mqtt_session *s,
                                                    const char *topic, size_t topic_len,
                                                    const uint8_t *payload, size_t payload_len,
                                                    uint8_t qos, uint16_t *packet_id);

/* Queue a SUBSCRIBE (one at a time may await its SUBACK). */
enum fw_mqtt_session_status fw_mqtt_session_subscribe(struct fw_mqtt_session *s,
                                                      const struct fw_mqtt_subscription *subs,
                                                      size_t n, uint16_t *packet_id);

/* Queue DISCONNECT and end the session. */
enum fw_mqtt_session_status fw_mqtt_session_disconnect(struct fw_mqtt_session *s);

/* Hand over bytes received from the server. */
enum fw_mqtt_session_status fw_mqtt_session_input(struct fw_mqtt_session *s, const uint8_t *data,
                                                  size_t len);

/* Run the timers (keep-alive, deadlines). */
enum fw_mqtt_session_status fw_mqtt_session_poll(struct fw_mqtt_session *s);

/* Bytes waiting for the transport: pointer and *len. */
const uint8_t *fw_mqtt_session_pending(const struct fw_mqtt_session *s, size_t *len);

/* The transport took n of the pending bytes. */
void fw_mqtt_session_sent(struct fw_mqtt_session *s, size_t n);

/* Current state. */
enum fw_mqtt_session_state fw_mqtt_session_state(const struct fw_mqtt_session *s);

/* Return code of the last CONNACK (0 accepted, 1-5 refused). */
uint8_t fw_mqtt_session_connack(const struct fw_mqtt_session *s);

/* Number of QoS 1 publishes awaiting PUBACK. */
size_t fw_mqtt_session_inflight(const struct fw_mqtt_session *s);

/* Human-readable name of a status; never NULL. */
const char *fw_mqtt_session_status_str(enum fw_mqtt_session_status status);

#endif /* FW_MQTT_SESSION_H */
