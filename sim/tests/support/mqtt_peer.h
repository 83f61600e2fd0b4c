/*
 * A plain MQTT client for tests: the other end of the simulated modem's MQTT
 * sessions (subscriber and publisher), on libmosquitto's threaded loop, that
 * records every message it receives.
 */
#ifndef MQTT_PEER_H
#define MQTT_PEER_H

#include "simtest.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most messages a peer records. */
#define MQTT_PEER_MAX_MSGS 64

/** One received message. */
struct mqtt_peer_msg {
    char topic[256];
    uint8_t *payload; /**< len bytes plus a NUL */
    size_t len;
    int qos;
    bool retain;
};

/** A peer client; zero it or let mqtt_peer_start() fill it. */
struct mqtt_peer {
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    struct mqtt_peer_msg msgs[MQTT_PEER_MAX_MSGS];
    size_t count;
    int sub_mid;
    bool subscribed;
    bool connected;
};

/** Connect client id to host:port (plain TCP) and start its loop thread. Returns 0 or -1. */
int mqtt_peer_start(struct mqtt_peer *p, const char *id, const char *host, int port);

/** Disconnect, stop the thread and free the messages. Safe to call twice. */
void mqtt_peer_stop(struct mqtt_peer *p);

/** Subscribe and wait for the SUBACK, pumping d (may be NULL) meanwhile. */
bool mqtt_peer_subscribe(struct mqtt_peer *p, const char *topic, int qos, struct simtest_driver *d);

/** Publish a message; true when libmosquitto accepted it. */
bool mqtt_peer_publish(struct mqtt_peer *p, const char *topic, const void *data, size_t len, int qos);

/** Wait until at least n messages were received, pumping d (may be NULL). */
bool mqtt_peer_wait(struct mqtt_peer *p, size_t n, struct simtest_driver *d);

/** Messages received so far. */
size_t mqtt_peer_count(struct mqtt_peer *p);

/** Message i (NULL when not received). */
const struct mqtt_peer_msg *mqtt_peer_msg(struct mqtt_peer *p, size_t i);

#endif /* MQTT_PEER_H */
