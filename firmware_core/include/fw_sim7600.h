/*
 * fw_sim7600.h - the SIM7600 layer over fw_at: the modem's unsolicited
 * result codes turned into events, and incoming MQTT messages
 * (+CMQTTRXSTART / +CMQTTRXTOPIC / +CMQTTRXPAYLOAD / +CMQTTRXEND, topic and
 * payload read by length, possibly in several parts) reassembled into
 * caller buffers and handed to a callback.
 *
 * Still to come in this layer (not implemented yet): bring-up, PDP,
 * certificate provisioning, SSL context and the AT+CMQTT* / AT+CIP*
 * transports as fw_chat scripts.
 */
#ifndef FW_SIM7600_H
#define FW_SIM7600_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_at.h"

/* Event bits collected from URCs until fw_sim7600_take_events(). */
enum fw_sim7600_event {
    FW_SIM7600_EV_BOOT = 1u << 0,           /* RDY: the modem (re)started */
    FW_SIM7600_EV_MQTT_CONN_LOST = 1u << 1, /* +CMQTTCONNLOST: <client>,<cause> */
    FW_SIM7600_EV_MQTT_NO_NET = 1u << 2,    /* +CMQTTNONET: MQTT service must restart */
    FW_SIM7600_EV_MQTT_PING_FAIL = 1u << 3, /* +CMQTTPING: <client>,<err> */
    FW_SIM7600_EV_NET_CLOSED = 1u << 4,     /* +CIPEVENT: NETWORK CLOSED UNEXPECTEDLY */
    FW_SIM7600_EV_TCP_DATA = 1u << 5,       /* +CIPRXGET: 1,<link>: data to fetch */
    FW_SIM7600_EV_TCP_CLOSED = 1u << 6,     /* +IPCLOSE: <link>,<reason> */
    FW_SIM7600_EV_REG_CHANGED = 1u << 7,    /* +CREG: / +CGREG: / +CEREG: <stat> */
    FW_SIM7600_EV_MSG_DROPPED = 1u << 8     /* an incoming message did not fit or was broken */
};

/* Receiver of a complete incoming MQTT message. topic is NUL-terminated. */
typedef void (*fw_sim7600_message_fn)(void *ctx, int client, const char *topic, size_t topic_len,
                                      const uint8_t *payload, size_t payload_len);

/* Buffers and callbacks, fixed at fw_sim7600_init(). */
struct fw_sim7600_config {
    const struct fw_port *port;  /* as for fw_at */
    char *line_buf;              /* AT line buffer (fw_at_config.line_buf) */
    size_t line_cap;
    char *tx_buf;                /* AT command buffer (fw_at_config.tx_buf) */
    size_t tx_cap;
    char *topic_buf;             /* incoming topic, capacity includes the NUL */
    size_t topic_cap;
    uint8_t *payload_buf;        /* incoming payload */
    size_t payload_cap;
    fw_sim7600_message_fn on_message; /* may be NULL */
    void *ctx;                   /* passed to on_message */
};

/* Counters of the URC layer. */
struct fw_sim7600_stats {
    uint32_t messages;           /* messages delivered */
    uint32_t dropped;            /* messages dropped (too large, inconsistent, cut off) */
};

/* Driver state. Allocated by the caller; fields are private. */
struct fw_sim7600 {
    struct fw_at at;
    struct fw_sim7600_config cfg;
    uint32_t events;
    int32_t conn_lost_cause;     /* cause of the last +CMQTTCONNLOST */
    int32_t tcp_link;            /* link of the last +CIPRXGET: 1 / +IPCLOSE */
    int32_t reg_stat;            /* last registration status reported */
    /* the MQTT message being received */
    bool rx_active;
    bool rx_broken;
    int32_t rx_client;
    size_t rx_topic_total, rx_payload_total;
    size_t rx_topic_len, rx_payload_len;
    struct fw_sim7600_stats stats;
};

/* Initialise d and its AT engine. Returns FW_AT_IDLE or FW_AT_BAD_ARG. */
enum fw_at_status fw_sim7600_init(struct fw_sim7600 *d, const struct fw_sim7600_config *cfg);

/* The AT engine to send commands with (fw_at_send, fw_chat_start). */
struct fw_at *fw_sim7600_at(struct fw_sim7600 *d);

/* Return the event bits collected since the last call and clear them. */
uint32_t fw_sim7600_take_events(struct fw_sim7600 *d);

/* Cause of the last +CMQTTCONNLOST (1 closed by peer, 2 reset, 3 network
 * closed), -1 if none. */
int32_t fw_sim7600_conn_lost_cause(const struct fw_sim7600 *d);

/* Last registration status from a URC (1 home, 5 roaming, ...), -1 if none. */
int32_t fw_sim7600_reg_stat(const struct fw_sim7600 *d);

/* Counters. */
const struct fw_sim7600_stats *fw_sim7600_stats(const struct fw_sim7600 *d);

#endif /* FW_SIM7600_H */
