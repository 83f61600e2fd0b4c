/*
 * fw_mqtt.h - MQTT 3.1.1 packet codec for the stacks where the MCU speaks
 * MQTT itself over the modem's raw TCP link (AT+CIPSEND / AT+CIPRXGET).
 *
 * Encoders write one complete packet into a caller buffer. Incoming bytes go
 * through struct fw_mqtt_rx, which frames packets whatever the chunking, and
 * fw_mqtt_decode() checks one framed packet against the specification
 * (fixed-header flags, lengths, packet identifiers, return codes). Nothing
 * is allocated; decoded strings point into the caller's buffer.
 * QoS 0 and 1 only on the sending side (the clouds this serves have no QoS 2).
 */
#ifndef FW_MQTT_H
#define FW_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest remaining length MQTT 3.1.1 can encode (four bytes). */
#define FW_MQTT_MAX_REMAINING 268435455u

/* Status of every codec function. */
enum fw_mqtt_status {
    FW_MQTT_OK = 0,        /* done; results in the out-parameters */
    FW_MQTT_NEED_MORE,     /* framing: the packet is not complete yet */
    FW_MQTT_NO_SPACE,      /* the output buffer is too small */
    FW_MQTT_BAD_ARG,       /* invalid argument (NULL, QoS, empty topic, ...) */
    FW_MQTT_MALFORMED,     /* bytes that break the MQTT 3.1.1 rules */
    FW_MQTT_UNEXPECTED,    /* a well-formed packet a server never sends a client */
    FW_MQTT_TOO_LARGE      /* framing: packet larger than the receive buffer (skipped) */
};

/* Control packet types (fixed header, high nibble). */
enum fw_mqtt_type {
    FW_MQTT_CONNECT = 1, FW_MQTT_CONNACK = 2, FW_MQTT_PUBLISH = 3, FW_MQTT_PUBACK = 4,
    FW_MQTT_PUBREC = 5, FW_MQTT_PUBREL = 6, FW_MQTT_PUBCOMP = 7, FW_MQTT_SUBSCRIBE = 8,
    FW_MQTT_SUBACK = 9, FW_MQTT_UNSUBSCRIBE = 10, FW_MQTT_UNSUBACK = 11,
    FW_MQTT_PINGREQ = 12, FW_MQTT_PINGRESP = 13, FW_MQTT_DISCONNECT = 14
};

/* CONNECT parameters. Strings are NUL-terminated; NULL means absent. */
struct fw_mqtt_connect {
    const char *client_id;       /* may be "" only with clean_session */
    uint16_t keep_alive_s;
    bool clean_session;
    const char *username;        /* NULL: no user name (then no password either) */
    const uint8_t *password;     /* NULL: no password; binary allowed */
    size_t password_len;
    const char *will_topic;      /* NULL: no will */
    const uint8_t *will_payload;
    size_t will_payload_len;
    uint8_t will_qos;            /* 0 or 1 */
    bool will_retain;
};

/* A PUBLISH, to encode or as decoded (topic and payload then point into the
 * receive buffer; topic is not NUL-terminated). */
struct fw_mqtt_publish {
    const char *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t qos;                 /* 0 or 1 when encoding; 0-2 when decoded */
    bool retain;
    bool dup;
    uint16_t packet_id;          /* non-zero when qos > 0 */
};

/* One SUBSCRIBE topic filter. */
struct fw_mqtt_subscription {
    const char *filter;          /* NUL-terminated, non-empty */
    uint8_t qos;                 /* requested maximum QoS, 0 or 1 */
};

/* A decoded packet from the server. */
struct fw_mqtt_packet {
    enum fw_mqtt_type type;
    uint8_t flags;               /* low nibble of the fixed header */
    uint16_t packet_id;          /* PUBLISH (qos>0), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK */
    bool session_present;        /* CONNACK */
    uint8_t return_code;         /* CONNACK: 0 accepted, 1-5 refused */
    const uint8_t *suback_codes; /* SUBACK: granted QoS 0-2 or 0x80 failure, one per filter */
    size_t suback_count;
    struct fw_mqtt_publish publish; /* PUBLISH */
};

/* Framing state for incoming bytes. Fields are private. */
struct fw_mqtt_rx {
    uint8_t *buf;
    size_t cap;
    size_t have;                 /* bytes of the current packet stored */
    size_t header_len;           /* fixed header length once known, else 0 */
    size_t total;                /* whole packet length once known */
    size_t skip_left;            /* bytes of an oversized packet still to drop */
    bool broken;                 /* a malformed length was seen: stream unusable */
};

/* Bytes needed to encode remaining length n (1-4), or 0 when n is too big. */
size_t fw_mqtt_remaining_length_size(uint32_t n);

/* Encode CONNECT (protocol level 4). Returns FW_MQTT_OK and the length in
 * *out_len, FW_MQTT_NO_SPACE or FW_MQTT_BAD_ARG. */
enum fw_mqtt_status fw_mqtt_encode_connect(const struct fw_mqtt_connect *c, uint8_t *buf,
                                           size_t cap, size_t *out_len);

/* Encode a whole PUBLISH (header, topic, packet id, payload). */
enum fw_mqtt_status fw_mqtt_encode_publish(const struct fw_mqtt_publish *p, uint8_t *buf,
                                           size_t cap, size_t *out_len);

/* Encode only the part of a PUBLISH before its payload, so a large payload
 * can be sent straight from where it lies; the remaining length still
 * counts p->payload_len (p->payload is not read). */
enum fw_mqtt_status fw_mqtt_encode_publish_header(const struct fw_mqtt_publish *p, uint8_t *buf,
                                                  size_t cap, size_t *out_len);

/* Encode SUBSCRIBE with n (>= 1) filters and a non-zero packet id. */
enum fw_mqtt_status fw_mqtt_encode_subscribe(uint16_t packet_id,
                                             const struct fw_mqtt_subscription *subs, size_t n,
                                             uint8_t *buf, size_t cap, size_t *out_len);

/* Encode UNSUBSCRIBE with n (>= 1) filters and a non-zero packet id. */
enum fw_mqtt_status fw_mqtt_encode_unsubscribe(uint16_t packet_id, const char *const *filters,
                                               size_t n, uint8_t *buf, size_t cap,
                                               size_t *out_len);

/* Encode PUBACK for an incoming QoS 1 PUBLISH. */
enum fw_mqtt_status fw_mqtt_encode_puback(uint16_t packet_id, uint8_t *buf, size_t cap,
                                          size_t *out_len);

/* Encode PINGREQ (2 bytes). */
enum fw_mqtt_status fw_mqtt_encode_pingreq(uint8_t *buf, size_t cap, size_t *out_len);

/* Encode DISCONNECT (2 bytes). */
enum fw_mqtt_status fw_mqtt_encode_disconnect(uint8_t *buf, size_t cap, size_t *out_len);

/* Prepare rx to frame packets into buf (capacity cap, at least 2). */
enum fw_mqtt_status fw_mqtt_rx_init(struct fw_mqtt_rx *rx, uint8_t *buf, size_t cap);

/* Take bytes from data until one packet is complete. *consumed says how many
 * were used; feed the rest again afterwards. Returns FW_MQTT_OK when a packet
 * lies in the buffer (see fw_mqtt_rx_packet(); the next feed starts a new
 * one), FW_MQTT_NEED_MORE when all bytes were used without completing one,
 * FW_MQTT_TOO_LARGE once per packet that does not fit (it is skipped), or
 * FW_MQTT_MALFORMED for an impossible remaining length (the connection must
 * be closed; every later feed returns it again). */
enum fw_mqtt_status fw_mqtt_rx_feed(struct fw_mqtt_rx *rx, const uint8_t *data, size_t len,
                                    size_t *consumed);

/* The packet completed by the last FW_MQTT_OK of fw_mqtt_rx_feed(). */
const uint8_t *fw_mqtt_rx_packet(const struct fw_mqtt_rx *rx, size_t *len);

/* Decode exactly one complete packet buf[0..len) received from a server.
 * Returns FW_MQTT_OK, FW_MQTT_MALFORMED, FW_MQTT_UNEXPECTED or
 * FW_MQTT_NEED_MORE (len shorter than the packet claims). */
enum fw_mqtt_status fw_mqtt_decode(const uint8_t *buf, size_t len, struct fw_mqtt_packet *out);

/* Human-readable name of a status; never NULL. */
const char *fw_mqtt_status_str(enum fw_mqtt_status status);

#endif /* FW_MQTT_H */
