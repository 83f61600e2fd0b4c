/*
 * test_fw_device_mcu_tls.c - the device lifecycle (fw_device) and the bus
 * application (fw_bus_app) on the MCU-TLS transport. A scripted SIM7600
 * answers setup, the raw TCP socket (AT+NETOPEN, CIPOPEN, CIPSEND,
 * CIPRXGET, CIPCLOSE, +CIPRXGET: 1 and +IPCLOSE URCs) and GNSS; its socket
 * leads to an in-process OpenSSL server (memory BIOs) with a small MQTT
 * broker behind it that answers CONNECT, SUBSCRIBE, PUBLISH (PUBACK, or
 * withheld) and PINGREQ (PINGRESP, or withheld) and records what it got.
 * The client TLS is the Linux port's (fw_port_linux_tls).
 *
 * Checked: an event leaves the queue only on its PUBACK; one not
 * acknowledged before the socket closes, and those queued meanwhile, are
 * published again in order after the back-off, a new modem setup and a new
 * TLS session; an overdue PUBACK, an unanswered PINGREQ, a damaged TLS
 * record and a modem restart are losses;
 * failures in a row back off longer each time (with jitter, up to the cap);
 * GCP's JWT is renewed before expiry by a clean DISCONNECT and a new
 * connection with a fresh token (no loss counted); the bus application's
 * identification and location events reach the broker, its configuration
 * (an empty one, as GCP sends while none is set, ignored without an error
 * event) and commands arrive through the modem's message callback, and its
 * AT+CGPSINFO runs only between TCP operations and goes on during back-off
 * pauses (the location events of that time arrive later); the UART never carries
 * MQTT in plain text. Main flows at UART read sizes 1, 7, 64 and whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "fake_port.h"
#include "fw_bus_app.h"
#include "fw_device.h"
#include "fw_port_linux_tls.h"

#define MAX_PUBLISHED 64

/* The MQTT side of the server: what it received, how it answers. */
struct broker {
    uint8_t in[16384];            /* decrypted bytes not yet parsed */
    size_t in_len;
    bool withhold_puback;
    bool withhold_pingresp;
    bool close_on_disconnect;     /* close the socket right after DISCONNECT */
    unsigned connects, subscribes, filters, pings, disconnects;
    char client_id[128];
    char username[64];
    char password[1024];
    char published[MAX_PUBLISHED][600]; /* "topic payload" */
    unsigned n_published;
    uint16_t next_id;             /* for server-to-device publishes */
};

struct rig {
    struct fake_port fake;        /* first: the TLS hooks get it as ctx */
    struct fw_linux_tls tls;
    SSL_CTX *sctx;
    SSL *ssl;                     /* the server end of the current socket; NULL if none */
    BIO *sin, *sout;
    bool client_cert;             /* the client presented a certificate */
    struct broker b;
    struct fw_sim7600 modem;
    struct fw_queue queue;
    struct fw_device dev;
    struct fw_mcu_tls mcu;
    struct fw_bus_app app;
    bool with_app;
    char line_buf[256];
    char tx_buf[128];
    char topic_buf[64];
    uint8_t payload_buf[16];
    uint8_t queue_buf[8192];
    uint8_t mqtt_tx[4096], mqtt_rx[2048];
    struct fw_mqtt_inflight inflight[4];
    char jwt[1024];
    /* the fake modem */
    size_t send_pending;          /* CIPSEND bytes still expected */
    bool closed;                  /* the socket was closed by the peer */
    bool net_open;
    bool rx_notified;             /* +CIPRXGET: 1,0 sent, not yet drained */
    bool refuse_open;             /* AT+CIPOPEN fails */
    bool corrupt_rx;              /* flip a bit in the next bytes received */
    bool close_pending;           /* the broker closes the socket */
    unsigned opens, closes, setups, cgpsinfo;
    unsigned transport_failures;  /* "mcutls failed" warnings logged */
    /* what the modem's message callback got */
    char message[160];
    unsigned messages;
};

static int32_t hook_open(void *ctx, const char *name, uint32_t ca, uint32_t cert, uint32_t key)
{
    return fw_linux_tls_open(&((struct rig *)ctx)->tls, name, ca, cert, key);
}
static int32_t hook_feed(void *ctx, const uint8_t *in, size_t len)
{
    return fw_linux_tls_feed(&((struct rig *)ctx)->tls, in, len);
}
static int32_t hook_take(void *ctx, uint8_t *out, size_t cap)
{
    return fw_linux_tls_take(&((struct rig *)ctx)->tls, out, cap);
}
static int32_t hook_write(void *ctx, const uint8_t *buf, size_t len)
{
    return fw_linux_tls_write(&((struct rig *)ctx)->tls, buf, len);
}
static int32_t hook_read(void *ctx, uint8_t *buf, size_t cap)
{
    return fw_linux_tls_read(&((struct rig *)ctx)->tls, buf, cap);
}
static void hook_close(void *ctx)
{
    fw_linux_tls_close(&((struct rig *)ctx)->tls);
}

/* ---- the server: TLS over memory BIOs, a small MQTT broker inside --------- */

static void server_drop(struct rig *r)
{
    if (r->ssl != NULL)
        SSL_free(r->ssl);
    r->ssl = NULL;
    ERR_clear_error();
}

/* A new TCP connection: a fresh TLS server and MQTT parser. */
static void server_accept(struct rig *r)
{
    server_drop(r);
    r->ssl = SSL_new(r->sctx);
    r->sin = BIO_new(BIO_s_mem());
    r->sout = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r->sin, -1);
    SSL_set_bio(r->ssl, r->sin, r->sout);
    SSL_set_accept_state(r->ssl);
    r->b.in_len = 0;
    r->rx_notified = false;
}

static void server_send(struct rig *r, const void *data, size_t len)
{
    assert_non_null(r->ssl);
    assert_int_equal(SSL_write(r->ssl, data, (int)len), (int)len);
}

/* A string field (2-byte length) at p into out; returns the bytes used. */
static size_t take_string(const uint8_t *p, char *out, size_t cap)
{
    size_t n = (size_t)p[0] << 8 | p[1];
    snprintf(out, cap, "%.*s", (int)n, (const char *)p + 2);
    return 2 + n;
}

static void broker_connect(struct rig *r, const uint8_t *v)
{
    uint8_t flags = v[7];
    size_t off = 10;
    r->b.connects++;
    off += take_string(v + off, r->b.client_id, sizeof(r->b.client_id));
    r->b.username[0] = r->b.password[0] = '\0';
    if (flags & 0x80)
        off += take_string(v + off, r->b.username, sizeof(r->b.username));
    if (flags & 0x40)
        take_string(v + off, r->b.password, sizeof(r->b.password));
    r->client_cert = SSL_get0_peer_certificate(r->ssl) != NULL;
    server_send(r, "\x20\x02\x00\x00", 4);
}

static void broker_subscribe(struct rig *r, const uint8_t *v, size_t len)
{
    uint8_t suback[16] = {0x90, 2, v[0], v[1]};
    size_t off = 2, n = 0;
    while (off < len) {
        off += 2 + ((size_t)v[off] << 8 | v[off + 1]) + 1;
        suback[4 + n++] = 1;
    }
    suback[1] = (uint8_t)(2 + n);
    r->b.subscribes++;
    r->b.filters += (unsigned)n;
    server_send(r, suback, 4 + n);
}

static void broker_publish(struct rig *r, uint8_t type, const uint8_t *v, size_t len)
{
    char topic[300];
    size_t off = take_string(v, topic, sizeof(topic));
    uint8_t qos = (type >> 1) & 3u;
    uint16_t id = 0;
    if (qos > 0) {
        id = (uint16_t)(v[off] << 8 | v[off + 1]);
        off += 2;
    }
    assert_true(r->b.n_published < MAX_PUBLISHED);
    snprintf(r->b.published[r->b.n_published++], sizeof(r->b.published[0]), "%s %.*s", topic,
             (int)(len - off), (const char *)v + off);
    if (qos == 1 && !r->b.withhold_puback) {
        uint8_t ack[4] = {0x40, 2, (uint8_t)(id >> 8), (uint8_t)id};
        server_send(r, ack, 4);
    }
}

/* Parse every whole packet the server has decrypted. */
static void broker_step(struct rig *r)
{
    for (;;) {
        size_t len = 0, hdr = 1, shift = 0;
        const uint8_t *p = r->b.in;
        while (hdr < r->b.in_len && hdr < 5) {
            len |= (size_t)(p[hdr] & 0x7fu) << shift;
            shift += 7;
            if (!(p[hdr++] & 0x80u))
                break;
        }
        if (r->b.in_len < 2 || hdr + len > r->b.in_len || (p[hdr - 1] & 0x80u))
            return;
        switch (p[0] & 0xf0u) {
        case 0x10: broker_connect(r, p + hdr); break;
        case 0x80: broker_subscribe(r, p + hdr, len); break;
        case 0x30: broker_publish(r, p[0], p + hdr, len); break;
        case 0xc0:
            r->b.pings++;
            if (!r->b.withhold_pingresp)
                server_send(r, "\xd0\x00", 2);
            break;
        case 0xe0:
            r->b.disconnects++;
            if (r->b.close_on_disconnect)
                r->close_pending = true;
            break;
        default: break; /* PUBACK for the broker's own publishes */
        }
        memmove(r->b.in, r->b.in + hdr + len, r->b.in_len - hdr - len);
        r->b.in_len -= hdr + len;
    }
}

/* Let the server run: handshake, decrypt, answer; tell the modem's side
 * that data waits (+CIPRXGET: 1,0) once. */
static void server_step(struct rig *r)
{
    int n;
    if (r->ssl == NULL || r->closed)
        return;
    if (!SSL_is_init_finished(r->ssl) && SSL_do_handshake(r->ssl) != 1) {
        ERR_clear_error();
    } else {
        while ((n = SSL_read(r->ssl, r->b.in + r->b.in_len,
                             (int)(sizeof(r->b.in) - r->b.in_len))) > 0)
            r->b.in_len += (size_t)n;
        ERR_clear_error();
        broker_step(r);
    }
    if (BIO_ctrl_pending(r->sout) > 0 && !r->rx_notified && r->send_pending == 0) {
        fake_port_push_str(&r->fake, "\r\n+CIPRXGET: 1,0\r\n");
        r->rx_notified = true;
    }
}

/* The broker publishes to the device at QoS 1. */
static void server_publish(struct rig *r, const char *topic, const char *payload)
{
    uint8_t pkt[600];
    size_t tl = strlen(topic), pl = strlen(payload), rem = 2 + tl + 2 + pl, off = 0;
    assert_true(rem < 16384 && rem + 3 < sizeof(pkt));
    pkt[off++] = 0x32;
    if (rem >= 128) {
        pkt[off++] = (uint8_t)(rem & 0x7fu) | 0x80u;
        pkt[off++] = (uint8_t)(rem >> 7);
    } else {
        pkt[off++] = (uint8_t)rem;
    }
    pkt[off++] = (uint8_t)(tl >> 8);
    pkt[off++] = (uint8_t)tl;
    memcpy(pkt + off, topic, tl);
    off += tl;
    r->b.next_id++;
    pkt[off++] = (uint8_t)(r->b.next_id >> 8);
    pkt[off++] = (uint8_t)r->b.next_id;
    memcpy(pkt + off, payload, pl);
    server_send(r, pkt, off + pl);
}

/* ---- the fake SIM7600 ------------------------------------------------------ */

#define FIX_LINE "\r\n+CGPSINFO: 3113.343286,N,12121.234064,E,131025,041754.0,11.8,40.0,\r\n\r\nOK\r\n"

/* Answers that need no state. */
static const char *const plain_answers[][2] = {
    {"AT", "\r\nOK\r\n"},
    {"ATE0", "\r\nOK\r\n"},
    {"AT+CMEE=2", "\r\nOK\r\n"},
    {"AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
    {"AT+CGREG?", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
    {"AT+CIPRXGET=1", "\r\nOK\r\n"},
    {"AT+CGPS=1", "\r\nOK\r\n"},
};

static bool answer_plain(struct rig *r, const char *line)
{
    size_t i;
    for (i = 0; i < sizeof(plain_answers) / sizeof(plain_answers[0]); i++) {
        if (strcmp(line, plain_answers[i][0]) == 0) {
            fake_port_push_str(&r->fake, plain_answers[i][1]);
            return true;
        }
    }
    return false;
}

static void answer_receive(struct rig *r, size_t cap)
{
    uint8_t data[1500];
    char reply[64];
    size_t waiting = r->ssl != NULL ? BIO_ctrl_pending(r->sout) : 0;
    int n;
    if (r->closed || r->ssl == NULL) {
        fake_port_push_str(&r->fake, "\r\nERROR\r\n");
        return;
    }
    n = waiting == 0 ? 0 : BIO_read(r->sout, data, (int)(cap < waiting ? cap : waiting));
    if (n <= 0) {
        r->rx_notified = false;
        fake_port_push_str(&r->fake, "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n");
        return;
    }
    if (r->corrupt_rx) { /* a TLS record damaged on its way: its MAC fails */
        data[n - 1] ^= 0x01;
        r->corrupt_rx = false;
    }
    waiting = BIO_ctrl_pending(r->sout);
    if (waiting == 0)
        r->rx_notified = false;
    snprintf(reply, sizeof(reply), "\r\n+CIPRXGET: 2,0,%d,%zu\r\n", n, waiting);
    fake_port_push_str(&r->fake, reply);
    fake_port_push(&r->fake, data, (size_t)n);
    fake_port_push_str(&r->fake, "\r\nOK\r\n");
}

static void answer_line(struct rig *r, const char *line)
{
    struct fake_port *f = &r->fake;
    size_t cap = 0;
    if (strcmp(line, "AT") == 0)
        r->setups++;
    if (answer_plain(r, line))
        return;
    if (strcmp(line, "AT+NETOPEN") == 0) {
        fake_port_push_str(f, r->net_open ? "\r\n+IP ERROR: Network is already opened\r\n\r\nERROR\r\n"
                                          : "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
        r->net_open = true;
    } else if (strcmp(line, "AT+CIPOPEN=0,\"TCP\",\"localhost\",8883") == 0) {
        r->opens++;
        if (r->refuse_open) {
            fake_port_push_str(f, "\r\nOK\r\n\r\n+CIPOPEN: 0,1\r\n");
            return;
        }
        server_accept(r);
        r->closed = false;
        fake_port_push_str(f, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");
    } else if (strcmp(line, "AT+CIPCLOSE=0") == 0) {
        r->closes++;
        fake_port_push_str(f, r->closed || r->ssl == NULL ? "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n"
                                                          : "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n");
        server_drop(r);
    } else if (sscanf(line, "AT+CIPSEND=0,%zu", &r->send_pending) == 1) {
        if (r->closed || r->ssl == NULL) {
            r->send_pending = 0;
            fake_port_push_str(f, "\r\nERROR\r\n");
        } else {
            fake_port_push_str(f, "\r\n>");
        }
    } else if (sscanf(line, "AT+CIPRXGET=2,0,%zu", &cap) == 1) {
        answer_receive(r, cap);
    } else if (strcmp(line, "AT+CGPSINFO") == 0) {
        r->cgpsinfo++;
        fake_port_push_str(f, FIX_LINE);
    } else {
        fail_msg("unexpected command %s", line);
    }
}

/* Answer every whole command the core has written; forget what was read
 * (after checking it holds no MQTT plain text). */
static void modem_step(struct rig *r)
{
    struct fake_port *f = &r->fake;
    char line[64];
    for (;;) {
        size_t avail = f->tx_len - f->tx_checked;
        const uint8_t *p = f->tx + f->tx_checked;
        const uint8_t *cr;
        if (r->send_pending > 0) {
            if (avail < r->send_pending)
                return;
            if (r->ssl != NULL)
                BIO_write(r->sin, p, (int)r->send_pending);
            snprintf(line, sizeof(line), "\r\nOK\r\n\r\n+CIPSEND: 0,%zu,%zu\r\n", r->send_pending,
                     r->send_pending);
            f->tx_checked += r->send_pending;
            r->send_pending = 0;
            fake_port_push_str(f, line);
            continue;
        }
        cr = memchr(p, '\r', avail);
        if (cr == NULL)
            break;
        assert_true((size_t)(cr - p) < sizeof(line));
        memcpy(line, p, (size_t)(cr - p));
        line[cr - p] = '\0';
        f->tx_checked += (size_t)(cr - p) + 1;
        answer_line(r, line);
    }
    if (f->tx_checked == f->tx_len) {
        /* needles long enough not to turn up in ciphertext by chance */
        assert_null(memmem(f->tx, f->tx_len, "/bus/", 5));
        assert_null(memmem(f->tx, f->tx_len, "\0\4MQTT\4", 7));
        assert_null(memmem(f->tx, f->tx_len, "eyJhbGci", 8)); /* a JWT's header */
        f->tx_len = f->tx_checked = 0;
    }
}

/* The socket dies under the device (the network or the broker dropped it). */
static void modem_drop(struct rig *r)
{
    r->closed = true;
    server_drop(r);
    fake_port_push_str(&r->fake, "\r\n+IPCLOSE: 0,1\r\n");
}

/* ---- the rig ---------------------------------------------------------------- */

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    struct rig *r = ctx;
    assert_int_equal(client, 0);
    assert_int_equal(strlen(topic), topic_len); /* NUL-terminated like a +CMQTTRX topic */
    snprintf(r->message, sizeof(r->message), "%s=%.*s", topic, (int)payload_len,
             (const char *)payload);
    r->messages++;
    if (r->with_app)
        fw_bus_app_on_message(&r->app, topic, topic_len, payload, payload_len);
}

static void count_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                      const char *detail, size_t detail_len)
{
    struct rig *r = ctx;
    if (strcmp(module, "mcutls") == 0 && strcmp(event, "failed") == 0)
        r->transport_failures++;
}

static int32_t fixed_signer(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                            uint8_t *sig, size_t cap, size_t *sig_len)
{
    memset(sig, 0x5a, 64);
    *sig_len = 64;
    return 0;
}

static const char *const subs[] = {"/bus/bus-1/commands", "/bus/bus-1/configuration"};

static struct fw_jwt_params gcp_jwt = {FW_SIGN_ES256, "bench-project", 0, 3600, 0};

static void rig_server_ctx(struct rig *r)
{
    r->sctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(r->sctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(r->sctx, "certs/out/server-chain.pem"), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(r->sctx, "certs/out/server.key", SSL_FILETYPE_PEM),
                     1);
    assert_int_equal(SSL_CTX_load_verify_locations(r->sctx, "certs/out/ca.pem", NULL), 1);
    SSL_CTX_set_verify(r->sctx, SSL_VERIFY_PEER, NULL); /* a client certificate is optional */
}

/* The device config: AWS (device certificate) or GCP (server-only TLS, JWT). */
static void rig_device_config(struct rig *r, bool gcp, struct fw_device_config *cfg)
{
    struct fw_mcu_tls_config *c = &cfg->mcu;
    memset(cfg, 0, sizeof(*cfg));
    cfg->modem = &r->modem;
    cfg->setup.ssl_ctx = -1;
    cfg->subscriptions = subs;
    cfg->n_subscriptions = 2;
    cfg->queue = &r->queue;
    cfg->publish_qos = 1;
    cfg->backoff_min_ms = 1000;
    cfg->backoff_max_ms = 8000;
    cfg->jwt = gcp ? &gcp_jwt : NULL;
    cfg->jwt_buf = r->jwt;
    cfg->jwt_cap = sizeof(r->jwt);
    cfg->jwt_margin_s = 300;
    cfg->transport = FW_DEVICE_MCU_TLS;
    cfg->mcu_tls = &r->mcu;
    c->host = "localhost";
    c->tcp_port = 8883;
    c->server_name = "localhost";
    c->ca_id = FW_LINUX_TLS_CA;
    c->cert_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_CERT;
    c->key_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_KEY;
    c->session.port = &r->fake.port;
    c->session.tx_buf = r->mqtt_tx;
    c->session.tx_cap = sizeof(r->mqtt_tx);
    c->session.rx_buf = r->mqtt_rx;
    c->session.rx_cap = sizeof(r->mqtt_rx);
    c->session.inflight = r->inflight;
    c->session.inflight_cap = 4;
    c->session.ack_timeout_ms = 3000;
    c->connect.client_id = gcp ? "projects/bench-project/locations/europe-west1/registries/"
                                 "buses/devices/bus-1"
                               : "bus-1";
    c->connect.username = gcp ? "unused" : NULL;
    c->connect.keep_alive_s = 60;
    c->connect.clean_session = true;
    c->rx_poll_ms = 200;
}

static void rig_init(struct rig *r, size_t chunk, bool gcp, const char *first_event)
{
    struct fw_sim7600_config mcfg;
    struct fw_device_config cfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    r->fake.signer = fixed_signer;
    r->fake.port.log = count_log;
    r->fake.port.tls_open = hook_open;
    r->fake.port.tls_feed_ciphertext = hook_feed;
    r->fake.port.tls_take_ciphertext = hook_take;
    r->fake.port.tls_write_plain = hook_write;
    r->fake.port.tls_read_plain = hook_read;
    r->fake.port.tls_close = hook_close;
    r->tls.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem";
    r->tls.files[FW_LINUX_TLS_CERT] = "certs/out/devices/bus-1/cert.pem";
    r->tls.files[FW_LINUX_TLS_KEY] = "certs/out/devices/bus-1/key.pem";
    rig_server_ctx(r);
    memset(&mcfg, 0, sizeof(mcfg));
    mcfg.port = &r->fake.port;
    mcfg.line_buf = r->line_buf;
    mcfg.line_cap = sizeof(r->line_buf);
    mcfg.tx_buf = r->tx_buf;
    mcfg.tx_cap = sizeof(r->tx_buf);
    mcfg.topic_buf = r->topic_buf;
    mcfg.topic_cap = sizeof(r->topic_buf);
    mcfg.payload_buf = r->payload_buf;
    mcfg.payload_cap = sizeof(r->payload_buf);
    mcfg.on_message = on_message;
    mcfg.ctx = r;
    assert_int_equal(fw_sim7600_init(&r->modem, &mcfg), FW_AT_IDLE);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    if (first_event != NULL)
        fw_queue_push(&r->queue, FW_QUEUE_HIGH, "/bus/events", 11, (const uint8_t *)first_event,
                      strlen(first_event));
    rig_device_config(r, gcp, &cfg);
    assert_true(fw_device_start(&r->dev, &cfg));
}

static void rig_free(struct rig *r)
{
    fw_mcu_tls_stop(&r->mcu);
    server_drop(r);
    SSL_CTX_free(r->sctx);
}

/* One round: modem, server, 5 ms, the device (or the application on it). */
static enum fw_device_state run_once(struct rig *r)
{
    modem_step(r);
    server_step(r);
    if (r->close_pending) {
        r->close_pending = false;
        modem_drop(r);
    }
    fake_port_advance(&r->fake, 5);
    return r->with_app ? fw_bus_app_poll(&r->app) : fw_device_poll(&r->dev);
}

/* Run until cond holds (checked after every round); fails after max rounds. */
#define RUN_UNTIL(r, cond, max)                                                               \
    do {                                                                                      \
        unsigned spins_;                                                                      \
        for (spins_ = 0; spins_ < (max) && !(cond); spins_++)                                 \
            run_once(r);                                                                      \
        if (!(cond))                                                                          \
            fail_msg("timed out waiting for %s: device %s, transport %s (%s), %u published",  \
                     #cond, fw_device_state_str((r)->dev.state),                              \
                     fw_mcu_tls_state_str((r)->mcu.state),                                    \
                     fw_mcu_tls_failure_str((r)->mcu.failure), (r)->b.n_published);           \
    } while (0)

static void push_event(struct rig *r, const char *payload)
{
    assert_int_equal(fw_queue_push(&r->queue, FW_QUEUE_HIGH, "/bus/events", 11,
                                   (const uint8_t *)payload, strlen(payload)),
                     FW_QUEUE_OK);
}

static bool online_and_drained(const struct rig *r)
{
    return r->dev.state == FW_DEVICE_ONLINE && fw_queue_count(&r->queue) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

static const size_t chunks[] = {1, 7, 64, 0};

/* an event leaves the queue only on its PUBACK; one not acknowledged before
 * a loss and one queued meanwhile arrive after reconnecting, in order */
static void test_queue_kept_until_puback_and_republished(void **state)
{
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        uint32_t lost_at, pause;
        size_t quiet;
        unsigned i;
        rig_init(&r, chunks[c], false, "e1");
        RUN_UNTIL(&r, online_and_drained(&r), 40000u);
        assert_int_equal(r.b.connects, 1);
        assert_string_equal(r.b.client_id, "bus-1");
        assert_true(r.client_cert); /* AWS: mutual TLS with the device certificate */
        assert_int_equal(r.b.subscribes, 1);
        assert_int_equal(r.b.filters, 2);
        assert_int_equal(r.b.n_published, 1);
        assert_string_equal(r.b.published[0], "/bus/events e1");
        assert_int_equal(fw_device_stats(&r.dev)->published, 1);
        /* the broker receives e2 but its PUBACK never comes: e2 stays queued */
        r.b.withhold_puback = true;
        push_event(&r, "e2");
        RUN_UNTIL(&r, r.b.n_published == 2, 40000u);
        assert_string_equal(r.b.published[1], "/bus/events e2");
        for (i = 0; i < 200u; i++) /* one second */
            run_once(&r);
        assert_int_equal(fw_queue_count(&r.queue), 1);
        assert_int_equal(fw_device_stats(&r.dev)->published, 1);
        push_event(&r, "e3"); /* waits behind e2 */
        for (i = 0; i < 200u; i++)
            run_once(&r);
        assert_int_equal(r.b.n_published, 2); /* one event in flight at a time */
        /* the socket dies: back off, e2 and e3 still queued */
        modem_drop(&r);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
        lost_at = r.fake.now;
        pause = fw_device_last_backoff(&r.dev);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 1);
        assert_true(pause >= 500 && pause <= 1000);
        assert_int_equal(fw_queue_count(&r.queue), 2);
        assert_true(fw_device_idle(&r.dev)); /* the application may read GNSS meanwhile */
        /* silent while backing off */
        modem_step(&r);
        quiet = r.fake.tx_len;
        fake_port_advance(&r.fake, pause - 100);
        assert_int_equal(fw_device_poll(&r.dev), FW_DEVICE_BACKOFF);
        assert_int_equal(r.fake.tx_len, quiet);
        /* back: setup again, a new TLS session, e2 again and then e3 */
        r.b.withhold_puback = false;
        RUN_UNTIL(&r, online_and_drained(&r), 80000u);
        assert_true(r.fake.now - lost_at >= pause);
        assert_int_equal(r.setups, 2);
        assert_int_equal(r.b.connects, 2);
        assert_int_equal(r.b.n_published, 4);
        assert_string_equal(r.b.published[2], "/bus/events e2");
        assert_string_equal(r.b.published[3], "/bus/events e3");
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(fw_device_stats(&r.dev)->published, 3);
        assert_int_equal(r.fake.store_len[1], FW_QUEUE_HEADER); /* the stored queue is empty */
        rig_free(&r);
    }
}

/* an overdue PUBACK and an unanswered PINGREQ are losses; the event comes again */
static void test_overdue_puback_and_ping_are_losses(void **state)
{
    static struct rig r;
    uint32_t before;
    (void)state;
    rig_init(&r, 64, false, NULL);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 40000u);
    r.b.withhold_puback = true;
    before = r.fake.now;
    push_event(&r, "late");
    RUN_UNTIL(&r, r.b.n_published == 1, 40000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_true(r.fake.now - before >= 3000); /* the session's ack_timeout_ms */
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_MQTT);
    assert_true(r.closes >= 1); /* the socket closed before backing off */
    r.b.withhold_puback = false;
    RUN_UNTIL(&r, online_and_drained(&r) && fw_device_stats(&r.dev)->published == 1, 80000u);
    assert_int_equal(r.b.n_published, 2);
    assert_string_equal(r.b.published[1], "/bus/events late");
    /* keep-alive: idle for 60 s gives a PINGREQ; no PINGRESP is a loss */
    r.b.withhold_pingresp = true;
    before = r.fake.now;
    RUN_UNTIL(&r, r.b.pings == 1, 20000u);
    assert_true(r.fake.now - before >= 55000);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 2000u);
    assert_int_equal(fw_device_stats(&r.dev)->losses, 2);
    r.b.withhold_pingresp = false;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 80000u);
    rig_free(&r);
}

/* a damaged TLS record is a loss: the socket is closed, the device backs
 * off and comes back with a new TLS session */
static void test_tls_error_is_a_loss(void **state)
{
    static struct rig r;
    unsigned closes;
    (void)state;
    rig_init(&r, 64, false, "e1");
    RUN_UNTIL(&r, online_and_drained(&r), 40000u);
    closes = r.closes;
    r.corrupt_rx = true;
    server_send(&r, "\xd0\x00", 2); /* a PINGRESP, damaged */
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_TLS);
    assert_int_equal(r.closes, closes + 1);
    assert_int_equal(r.transport_failures, 1);
    assert_true(fw_device_last_backoff(&r.dev) >= 500 && fw_device_last_backoff(&r.dev) <= 1000);
    push_event(&r, "e2");
    RUN_UNTIL(&r, online_and_drained(&r), 80000u);
    assert_int_equal(r.b.connects, 2);
    assert_string_equal(r.b.published[r.b.n_published - 1], "/bus/events e2");
    rig_free(&r);
}

/* failed attempts back off longer each time up to the cap, each starting
 * with a modem setup; a success resets the pause */
static void test_backoff_grows_then_resets(void **state)
{
    static struct rig r;
    uint32_t cap = 1000, deadline = 0;
    unsigned round;
    (void)state;
    rig_init(&r, 7, false, NULL);
    r.refuse_open = true;
    for (round = 0; round < 5; round++) {
        unsigned losses = fw_device_stats(&r.dev)->losses;
        RUN_UNTIL(&r, fw_device_stats(&r.dev)->losses == losses + 1, 80000u);
        assert_int_equal(r.dev.state, FW_DEVICE_BACKOFF);
        assert_int_equal(r.setups, round + 1);
        assert_int_equal(r.opens, round + 1);
        /* pause in [cap/2, cap], cap = 1000 * 2^round up to 8000 */
        assert_true(fw_device_last_backoff(&r.dev) >= cap / 2 &&
                    fw_device_last_backoff(&r.dev) <= cap);
        assert_true(fw_device_next_deadline_ms(&r.dev, &deadline));
        assert_int_equal(deadline - r.fake.now, fw_device_last_backoff(&r.dev));
        cap = cap * 2 > 8000 ? 8000 : cap * 2;
    }
    r.refuse_open = false;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 80000u);
    modem_drop(&r);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    assert_true(fw_device_last_backoff(&r.dev) >= 500 && fw_device_last_backoff(&r.dev) <= 1000);
    rig_free(&r);
}

/* a modem restart (RDY) while online: a loss, then setup and a new session */
static void test_modem_restart_is_a_loss(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 0, false, "e1");
    RUN_UNTIL(&r, online_and_drained(&r), 40000u);
    r.closed = true;
    r.net_open = false;
    server_drop(&r);
    fake_port_push_str(&r.fake, "\r\nRDY\r\n");
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_BACKOFF, 40000u);
    push_event(&r, "e2");
    RUN_UNTIL(&r, online_and_drained(&r), 80000u);
    assert_int_equal(r.setups, 2);
    assert_string_equal(r.b.published[r.b.n_published - 1], "/bus/events e2");
    rig_free(&r);
}

/* GCP: server-only TLS, the JWT as password; jwt_margin_s before expiry the
 * session ends with DISCONNECT and comes back with a fresh token; an event
 * awaiting its PUBACK then is published again */
static void test_gcp_jwt_renewed_before_expiry(void **state)
{
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c += 2) {
        static struct rig r;
        char token1[1024], token2[1024];
        size_t len;
        uint64_t exp = 0;
        unsigned i;
        rig_init(&r, chunks[c], true, "e1");
        r.b.close_on_disconnect = c == 0; /* as GCP does; else the device closes */
        assert_int_equal(fw_jwt_build(&r.fake.port, &gcp_jwt, token1, sizeof(token1), &len, &exp),
                         FW_JWT_OK);
        RUN_UNTIL(&r, online_and_drained(&r), 40000u);
        assert_false(r.client_cert);
        assert_string_equal(r.b.client_id,
                            "projects/bench-project/locations/europe-west1/registries/buses/"
                            "devices/bus-1");
        assert_string_equal(r.b.username, "unused");
        assert_string_equal(r.b.password, token1);
        /* an event waits for its PUBACK when the renewal comes */
        r.b.withhold_puback = true;
        push_event(&r, "e2");
        RUN_UNTIL(&r, r.b.n_published == 2, 40000u);
        /* one second before the margin: nothing happens */
        r.fake.unix_time = exp - 300 - 1;
        for (i = 0; i < 100u; i++)
            run_once(&r);
        assert_int_equal(r.b.disconnects, 0);
        r.fake.unix_time = exp - 300;
        assert_int_equal(fw_jwt_build(&r.fake.port, &gcp_jwt, token2, sizeof(token2), &len, NULL),
                         FW_JWT_OK);
        assert_string_not_equal(token1, token2);
        r.b.withhold_puback = false;
        RUN_UNTIL(&r, r.b.connects == 2 && online_and_drained(&r), 80000u);
        assert_int_equal(r.b.disconnects, 1);
        assert_true(r.closes >= 1);
        assert_string_equal(r.b.password, token2);
        assert_string_equal(r.b.published[r.b.n_published - 1], "/bus/events e2");
        assert_int_equal(fw_device_stats(&r.dev)->jwt_renewals, 2);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 0);
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(r.setups, 1); /* a renewal needs no modem setup */
        assert_int_equal(r.transport_failures, 0); /* a clean end, not a failure */
        rig_free(&r);
    }
}

/* the bus application on MCU TLS: identification and location events reach
 * the broker; a configuration and a location command reach the application
 * through the modem's message callback */
static void test_bus_app_events_over_mcu_tls(void **state)
{
    static const char config[] = "{\"route\":\"42\",\"speed_threshold_kmh\":90,"
                                 "\"report_interval_s\":60}";
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        struct fw_bus_app_config acfg;
        unsigned before;
        rig_init(&r, chunks[c], false, NULL);
        memset(&acfg, 0, sizeof(acfg));
        acfg.device = &r.dev;
        acfg.bus_id = "bus-1";
        acfg.events_topic = "/bus/events";
        acfg.config_topic = "/bus/bus-1/configuration";
        acfg.registration = "AA 1234 BC";
        acfg.route = "7";
        assert_true(fw_bus_app_init(&r.app, &acfg));
        r.with_app = true;
        RUN_UNTIL(&r, r.b.n_published >= 2, 80000u);
        assert_non_null(strstr(r.b.published[0], "/bus/events {\"type\":\"identification\""));
        assert_non_null(strstr(r.b.published[0], "\"registration\":\"AA 1234 BC\""));
        assert_non_null(strstr(r.b.published[1], "/bus/events {\"type\":\"location\""));
        assert_non_null(strstr(r.b.published[1], "\"lat\":31.222388"));
        assert_true(r.cgpsinfo >= 1);
        /* an empty configuration (GCP's while none is set) is no error */
        before = r.b.n_published;
        server_publish(&r, "/bus/bus-1/configuration", "");
        RUN_UNTIL(&r, r.messages == 1, 40000u);
        assert_null(fw_bus_app_config(&r.app));
        assert_int_equal(fw_bus_app_stats(&r.app)->errors, 0);
        /* the cloud configures the bus, then asks where it is */
        server_publish(&r, "/bus/bus-1/configuration", config);
        RUN_UNTIL(&r, fw_bus_app_config(&r.app) != NULL, 40000u);
        assert_string_equal(fw_bus_app_config(&r.app)->route, "42");
        assert_int_equal(r.messages, 2);
        assert_int_equal(r.b.n_published, before); /* neither gave an event */
        before = r.b.n_published;
        server_publish(&r, "/bus/bus-1/commands", "{\"cmd\":\"location\",\"id\":\"q1\"}");
        RUN_UNTIL(&r, r.b.n_published > before && online_and_drained(&r), 40000u);
        assert_non_null(strstr(r.b.published[r.b.n_published - 1], "\"request\":\"q1\""));
        assert_non_null(strstr(r.b.published[r.b.n_published - 1], "\"route\":\"42\""));
        rig_free(&r);
    }
}

/* offline, GNSS keeps being read during the back-off pauses: the location
 * events of that time are queued and arrive after reconnecting, in order */
static void test_bus_app_reads_gnss_while_offline(void **state)
{
    static struct rig r;
    struct fw_bus_app_config acfg;
    unsigned polls, i, located, seq;
    (void)state;
    rig_init(&r, 7, false, NULL);
    memset(&acfg, 0, sizeof(acfg));
    acfg.device = &r.dev;
    acfg.bus_id = "bus-1";
    acfg.events_topic = "/bus/events";
    acfg.config_topic = "/bus/bus-1/configuration";
    acfg.default_report_s = 5;
    assert_true(fw_bus_app_init(&r.app, &acfg));
    r.with_app = true;
    RUN_UNTIL(&r, r.b.n_published >= 1, 80000u);
    /* the socket dies and the broker stays out of reach */
    r.refuse_open = true;
    modem_drop(&r);
    RUN_UNTIL(&r, fw_device_stats(&r.dev)->losses == 1, 40000u);
    polls = r.cgpsinfo;
    located = fw_bus_app_stats(&r.app)->locations;
    for (i = 0; i < 4000u; i++) /* 20 s offline */
        run_once(&r);
    assert_true(r.dev.state != FW_DEVICE_ONLINE);
    assert_true(r.cgpsinfo > polls + 5);
    assert_true(fw_bus_app_stats(&r.app)->locations >= located + 2);
    assert_true(fw_queue_count(&r.queue) >= 2);
    /* back: everything queued offline arrives */
    located = fw_bus_app_stats(&r.app)->locations;
    r.refuse_open = false;
    RUN_UNTIL(&r, online_and_drained(&r), 80000u);
    assert_true(r.b.n_published >= located);
    /* every sequence number once, in order (a repeat only as QoS 1 allows) */
    for (i = 0, seq = 0; i < r.b.n_published; i++) {
        const char *at = strstr(r.b.published[i], "\"seq\":");
        unsigned n;
        assert_non_null(strstr(r.b.published[i], "\"type\":\"location\""));
        assert_non_null(at);
        n = (unsigned)strtoul(at + 6, NULL, 10);
        if (n != seq && n != seq + 1)
            fail_msg("event %u has seq %u after %u", i, n, seq);
        seq = n;
    }
    assert_int_equal(seq, fw_bus_app_stats(&r.app)->locations);
    rig_free(&r);
}

/* a topic longer than the modem's topic buffer is dropped and counted */
static void test_oversized_topic_dropped(void **state)
{
    static struct rig r;
    char topic[100];
    (void)state;
    rig_init(&r, 0, false, NULL);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 40000u);
    memset(topic, 'x', sizeof(topic) - 1);
    topic[sizeof(topic) - 1] = '\0';
    topic[0] = '/';
    server_publish(&r, topic, "{}");
    RUN_UNTIL(&r, fw_sim7600_stats(&r.modem)->dropped == 1, 40000u);
    assert_int_equal(r.messages, 0);
    server_publish(&r, "/bus/bus-1/commands", "{}");
    RUN_UNTIL(&r, r.messages == 1, 40000u);
    assert_string_equal(r.message, "/bus/bus-1/commands={}");
    assert_int_equal(r.dev.state, FW_DEVICE_ONLINE);
    rig_free(&r);
}

/* bad MCU-TLS configurations are refused at start */
static void test_bad_mcu_config_refused(void **state)
{
    static struct rig r;
    struct fw_device_config cfg;
    static const char *const many[] = {"a", "b", "c", "d", "e"};
    (void)state;
    rig_init(&r, 0, false, NULL);
    rig_device_config(&r, false, &cfg);
    cfg.mcu_tls = NULL;
    assert_false(fw_device_start(&r.dev, &cfg));
    rig_device_config(&r, false, &cfg);
    cfg.subscriptions = many;
    cfg.n_subscriptions = 5;
    assert_false(fw_device_start(&r.dev, &cfg));
    rig_device_config(&r, false, &cfg);
    r.fake.port.tls_close = NULL;
    assert_false(fw_device_start(&r.dev, &cfg));
    r.fake.port.tls_close = hook_close;
    assert_true(fw_device_start(&r.dev, &cfg));
    assert_string_equal(fw_mcu_tls_state_str(FW_MCU_TLS_DISCONNECTING), "disconnecting");
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_kept_until_puback_and_republished),
        cmocka_unit_test(test_overdue_puback_and_ping_are_losses),
        cmocka_unit_test(test_tls_error_is_a_loss),
        cmocka_unit_test(test_backoff_grows_then_resets),
        cmocka_unit_test(test_modem_restart_is_a_loss),
        cmocka_unit_test(test_gcp_jwt_renewed_before_expiry),
        cmocka_unit_test(test_bus_app_events_over_mcu_tls),
        cmocka_unit_test(test_bus_app_reads_gnss_while_offline),
        cmocka_unit_test(test_oversized_topic_dropped),
        cmocka_unit_test(test_bad_mcu_config_refused),
    };
    if (access("certs/out/ca.pem", R_OK) != 0) {
        fprintf(stderr, "certs/out missing: run bash certs/gen.sh (make test does)\n");
        return 1;
    }
    return cmocka_run_group_tests_name("fw_device_mcu_tls", tests, NULL, NULL);
}
