/* A plain MQTT client for tests (see mqtt_peer.h). */
#include "mqtt_peer.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Real-time guard against hangs; never a timing assertion. */
#define PEER_GUARD_MS 5000

static int64_t peer_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void peer_on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt_peer *p = obj;
    pthread_mutex_lock(&p->lock);
    p->connected = rc == 0;
    pthread_mutex_unlock(&p->lock);
}

static void peer_on_subscribe(struct mosquitto *mosq, void *obj, int mid, int count, const int *granted)
{
    (void)mosq;
    (void)count;
    (void)granted;
    struct mqtt_peer *p = obj;
    pthread_mutex_lock(&p->lock);
    if (mid == p->sub_mid) {
        p->subscribed = true;
    }
    pthread_mutex_unlock(&p->lock);
}

static void peer_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt_peer *p = obj;
    pthread_mutex_lock(&p->lock);
    if (p->count < MQTT_PEER_MAX_MSGS) {
        struct mqtt_peer_msg *m = &p->msgs[p->count];
        snprintf(m->topic, sizeof(m->topic), "%s", msg->topic);
        m->len = (size_t)msg->payloadlen;
        m->payload = malloc(m->len + 1);
        if (m->payload != NULL) {
            memcpy(m->payload, msg->payload, m->len);
            m->payload[m->len] = 0;
            m->qos = msg->qos;
            m->retain = msg->retain;
            p->count++;
        }
    }
    pthread_mutex_unlock(&p->lock);
}

/* Wait for a flag or count under the lock, pumping the modem meanwhile. */
static bool peer_wait(struct mqtt_peer *p, struct simtest_driver *d, bool *flag, size_t want)
{
    int64_t give_up = peer_ms() + PEER_GUARD_MS;
    while (peer_ms() < give_up) {
        pthread_mutex_lock(&p->lock);
        bool done = flag != NULL ? *flag : p->count >= want;
        pthread_mutex_unlock(&p->lock);
        if (done) {
            return true;
        }
        if (d != NULL) {
            simtest_pump(d, 5);
        } else {
            struct timespec ts = { 0, 5 * 1000000L };
            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "mqtt peer: wait timed out (%zu messages)\n", p->count);
    return false;
}

int mqtt_peer_start(struct mqtt_peer *p, const char *id, const char *host, int port)
{
    memset(p, 0, sizeof(*p));
    mosquitto_lib_init();
    pthread_mutex_init(&p->lock, NULL);
    p->mosq = mosquitto_new(id, true, p);
    if (p->mosq == NULL) {
        return -1;
    }
    mosquitto_connect_callback_set(p->mosq, peer_on_connect);
    mosquitto_subscribe_callback_set(p->mosq, peer_on_subscribe);
    mosquitto_message_callback_set(p->mosq, peer_on_message);
    if (mosquitto_connect(p->mosq, host, port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(p->mosq) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(p->mosq);
        p->mosq = NULL;
        return -1;
    }
    return peer_wait(p, NULL, &p->connected, 0) ? 0 : -1;
}

void mqtt_peer_stop(struct mqtt_peer *p)
{
    if (p->mosq == NULL) {
        return;
    }
    mosquitto_disconnect(p->mosq);
    mosquitto_loop_stop(p->mosq, false);
    mosquitto_destroy(p->mosq);
    p->mosq = NULL;
    for (size_t i = 0; i < p->count; i++) {
        free(p->msgs[i].payload);
    }
    p->count = 0;
    pthread_mutex_destroy(&p->lock);
}

bool mqtt_peer_subscribe(struct mqtt_peer *p, const char *topic, int qos, struct simtest_driver *d)
{
    pthread_mutex_lock(&p->lock);
    p->subscribed = false;
    int rc = mosquitto_subscribe(p->mosq, &p->sub_mid, topic, qos);
    pthread_mutex_unlock(&p->lock);
    return rc == MOSQ_ERR_SUCCESS && peer_wait(p, d, &p->subscribed, 0);
}

bool mqtt_peer_publish(struct mqtt_peer *p, const char *topic, const void *data, size_t len, int qos)
{
    return mosquitto_publish(p->mosq, NULL, topic, (int)len, data, qos, false) == MOSQ_ERR_SUCCESS;
}

bool mqtt_peer_wait(struct mqtt_peer *p, size_t n, struct simtest_driver *d)
{
    return peer_wait(p, d, NULL, n);
}

size_t mqtt_peer_count(struct mqtt_peer *p)
{
    pthread_mutex_lock(&p->lock);
    size_t n = p->count;
    pthread_mutex_unlock(&p->lock);
    return n;
}

const struct mqtt_peer_msg *mqtt_peer_msg(struct mqtt_peer *p, size_t i)
{
    pthread_mutex_lock(&p->lock);
    const struct mqtt_peer_msg *m = i < p->count ? &p->msgs[i] : NULL;
    pthread_mutex_unlock(&p->lock);
    return m;
}
