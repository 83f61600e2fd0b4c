/*
 * tls_mqtt_server.h - test support for the MCU-TLS rigs: the Linux port's
 * TLS behind a fake port's hooks, and an in-process OpenSSL server (memory
 * BIOs) with a small MQTT broker behind the raw socket of a scripted
 * SIM7600 (AT+NETOPEN, CIPOPEN, CIPSEND, CIPRXGET, CIPCLOSE, +CIPRXGET: 1
 * and +IPCLOSE URCs), plus the device settings the MCU-TLS device rigs
 * share. Failed checks fail the running CMocka test.
 */
#ifndef TLS_MQTT_SERVER_H
#define TLS_MQTT_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "fake_port.h"
#include "fw_device.h"
#include "fw_port_linux_tls.h"

#define TLS_MQTT_MAX_PUBLISHED 64

/* Point f's TLS hooks (open, feed, take, write, read, close) at tls. */
void fake_port_use_linux_tls(struct fake_port *f, struct fw_linux_tls *tls);

/* A TLS server context with chain and key, trusting certs/out/ca.pem for
 * client certificates, verify_mode as SSL_CTX_set_verify takes it. */
SSL_CTX *tls_server_ctx_new(const char *chain, const char *key, int verify_mode);

/* A server-side SSL on ctx whose network side is two memory BIOs: *in takes
 * the client's bytes, *out holds the server's. */
SSL *tls_mem_server_new(SSL_CTX *ctx, BIO **in, BIO **out);

/* Read the file at path into buf; fails the test if it is missing, empty
 * or does not fit. Returns its length. */
size_t test_read_file(const char *path, uint8_t *buf, size_t cap);

/* True if the certificate file at path (from certs/gen.sh) is readable;
 * otherwise says on stderr how to make certs/out and returns false. */
bool tls_certs_ready(const char *path);

/* The MQTT side of the server: what it received, how it answers. */
struct tls_mqtt_broker {
    uint8_t in[16384];            /* decrypted bytes not yet parsed */
    size_t in_len;
    bool withhold_puback;
    bool withhold_pingresp;
    bool close_on_disconnect;     /* close the socket right after DISCONNECT */
    unsigned connects, subscribes, filters, pings, disconnects;
    bool client_cert;             /* the client presented a certificate */
    char client_id[128];
    char username[64];
    char password[1024];
    char published[TLS_MQTT_MAX_PUBLISHED][600]; /* "topic payload" */
    unsigned published_port[TLS_MQTT_MAX_PUBLISHED]; /* the socket's port for each */
    unsigned n_published;
    uint16_t next_id;             /* for server-to-device publishes */
};

/* The server end of the modem's socket 0 and the modem's socket state. */
struct tls_mqtt_server {
    struct fake_port *fake;       /* where the modem's answers go */
    SSL *ssl;                     /* the server end of the current socket; NULL if none */
    BIO *sin, *sout;
    unsigned port;                /* the port of the current socket */
    struct tls_mqtt_broker b;
    size_t send_pending;          /* CIPSEND bytes still expected */
    bool closed;                  /* the socket was closed by the peer */
    bool net_open;
    bool rx_notified;             /* +CIPRXGET: 1,0 sent, not yet drained */
    bool corrupt_rx;              /* flip a bit in the next bytes received */
    bool close_pending;           /* the broker closes the socket */
};

/* Answers every whole command line of the modem's UART (NUL-terminated). */
typedef void (*tls_mqtt_line_fn)(void *ctx, const char *line);

/* Reset s; the modem's answers go to fake. */
void tls_mqtt_server_init(struct tls_mqtt_server *s, struct fake_port *fake);

/* Free the current socket's server end, if any. */
void tls_mqtt_server_drop(struct tls_mqtt_server *s);

/* A new TCP connection to port served with ctx: a fresh TLS server and
 * MQTT parser; the modem answers AT+CIPOPEN with success. */
void tls_mqtt_server_open(struct tls_mqtt_server *s, SSL_CTX *ctx, unsigned port);

/* The server encrypts and sends len bytes of data to the device. */
void tls_mqtt_server_send(struct tls_mqtt_server *s, const void *data, size_t len);

/* Let the server run: handshake, decrypt, answer; tell the modem's side
 * that data waits (+CIPRXGET: 1,0) once. */
void tls_mqtt_server_step(struct tls_mqtt_server *s);

/* The broker publishes payload on topic to the device at QoS 1. */
void tls_mqtt_server_publish(struct tls_mqtt_server *s, const char *topic, const char *payload);

/* The socket dies under the device (the network or the broker dropped it). */
void tls_mqtt_server_hang_up(struct tls_mqtt_server *s);

/* Answer line if it is a setup or socket command both rigs share (AT, ATE0,
 * AT+CMEE=2, AT+CPIN?, AT+CGREG?, AT+CIPRXGET=1, AT+NETOPEN,
 * AT+CIPCLOSE=0, AT+CIPSEND=0,n, AT+CIPRXGET=2,0,n); false if it is not. */
bool tls_mqtt_modem_answer(struct tls_mqtt_server *s, const char *line);

/* Answer every whole command the core has written to s->fake, the CIPSEND
 * bytes going to the server, other lines (at most line_cap - 1 bytes) to
 * answer(ctx, line). Returns true when all written bytes were consumed
 * (the caller may check and then clear the transmit buffer). */
bool tls_mqtt_modem_step(struct tls_mqtt_server *s, size_t line_cap, tls_mqtt_line_fn answer,
                         void *ctx);

/* A device config on the MCU-TLS transport, cleared first: modem, queue,
 * subscriptions to /bus/bus-1/commands and /bus/bus-1/configuration,
 * QoS 1 publishes, no modem SSL context, back-off from 1 s up to
 * backoff_max_ms, the transport state mcu. */
void mcu_tls_device_config(struct fw_device_config *cfg, struct fw_sim7600 *modem,
                           struct fw_queue *queue, struct fw_mcu_tls *mcu,
                           uint32_t backoff_max_ms);

/* The MQTT session of an MCU-TLS config on the fake port f: the given
 * buffers and in-flight slots, a 3 s answer timeout, 60 s keep-alive, a
 * clean session, the socket polled every 200 ms. */
void mcu_tls_session_config(struct fw_mcu_tls_config *c, struct fake_port *f, uint8_t *tx,
                            size_t tx_cap, uint8_t *rx, size_t rx_cap,
                            struct fw_mqtt_inflight *inflight, size_t inflight_cap);

/* Queue payload on /bus/events at high priority; fails the test if the
 * queue refuses it. */
void device_push_event(struct fw_queue *q, const char *payload);

/* The device is online and its queue is empty. */
bool device_online_and_drained(const struct fw_device *dev, const struct fw_queue *q);

#endif
