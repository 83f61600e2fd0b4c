/*
 * MQTT 3.1.1 packets for tests, built byte for byte the way PubSubClient
 * v2.8 builds them (clean session, no will, no credentials), and a parser
 * that splits one packet off the front of a byte stream.
 */
#ifndef MQTT_PACKETS_H
#define MQTT_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** MQTT control packet types (high nibble of the first byte). */
enum mqtt_packet_type {
    MQTT_CONNECT = 1,
    MQTT_CONNACK = 2,
    MQTT_PUBLISH = 3,
    MQTT_SUBSCRIBE = 8,
    MQTT_SUBACK = 9,
    MQTT_PINGREQ = 12,
    MQTT_PINGRESP = 13,
    MQTT_DISCONNECT = 14,
};

/** CONNECT with a client id, clean session and keepalive seconds; returns the length or 0 when cap is too small. */
size_t mqtt_build_connect(uint8_t *out, size_t cap, const char *client_id, uint16_t keepalive_s);

/** SUBSCRIBE of one topic at qos with packet id mid; returns the length or 0. */
size_t mqtt_build_subscribe(uint8_t *out, size_t cap, uint16_t mid, const char *topic, uint8_t qos);

/** PUBLISH at QoS 0 (no packet id); returns the length or 0. */
size_t mqtt_build_publish(uint8_t *out, size_t cap, const char *topic, const void *payload, size_t len);

/** A two-byte packet with no body (PINGREQ, DISCONNECT); returns 2 or 0. */
size_t mqtt_build_empty(uint8_t *out, size_t cap, enum mqtt_packet_type type);

/** One packet split off a byte stream; the pointers point into that stream. */
struct mqtt_packet {
    uint8_t type;          /**< enum mqtt_packet_type */
    uint8_t flags;         /**< low nibble of the first byte */
    const uint8_t *body;   /**< variable header and payload */
    size_t body_len;
    size_t total_len;      /**< fixed header included */
};

/**
 * Parse the packet at the start of data. Returns 1 with *p filled, 0 when
 * more bytes are needed, -1 when the remaining length is malformed.
 */
int mqtt_parse(const uint8_t *data, size_t len, struct mqtt_packet *p);

/** The topic and payload of a parsed QoS 0 PUBLISH; false when malformed. */
bool mqtt_publish_fields(const struct mqtt_packet *p, const uint8_t **topic, size_t *topic_len,
                         const uint8_t **payload, size_t *payload_len);

#endif /* MQTT_PACKETS_H */
