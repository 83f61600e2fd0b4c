/*
 * tls_mqtt_server.c - the Linux port's TLS behind a fake port, and an
 * in-process OpenSSL server with a small MQTT broker behind a scripted
 * SIM7600's raw socket (see tls_mqtt_server.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>

#include "tls_mqtt_server.h"

/* ---- the Linux port's TLS behind the fake port's hooks --------------------- */

static struct fw_linux_tls *tls_of(void *ctx)
{
    return ((struct fake_port *)ctx)->linux_tls;
}

static int32_t hook_open(void *ctx, const char *name, uint32_t ca, uint32_t cert, uint32_t key)
{
    return fw_linux_tls_open(tls_of(ctx), name, ca, cert, key);
}
static int32_t hook_feed(void *ctx, const uint8_t *in, size_t len)
{
    return fw_linux_tls_feed(tls_of(ctx), in, len);
}
static int32_t hook_take(void *ctx, uint8_t *out, size_t cap)
{
    return fw_linux_tls_take(tls_of(ctx), out, cap);
}
static int32_t hook_write(void *ctx, const uint8_t *buf, size_t len)
{
    return fw_linux_tls_write(tls_of(ctx), buf, len);
}
static int32_t hook_read(void *ctx, uint8_t *buf, size_t cap)
{
    return fw_linux_tls_read(tls_of(ctx), buf, cap);
}
static void hook_close(void *ctx)
{
    fw_linux_tls_close(tls_of(ctx));
}

void fake_port_use_linux_tls(struct fake_port *f, struct fw_linux_tls *tls)
{
    f->linux_tls = tls;
    f->port.tls_open = hook_open;
    f->port.tls_feed_ciphertext = hook_feed;
    f->port.tls_take_ciphertext = hook_take;
    f->port.tls_write_plain = hook_write;
    f->port.tls_read_plain = hook_read;
    f->port.tls_close = hook_close;
}

/* ---- OpenSSL servers on memory BIOs ---------------------------------------- */

SSL_CTX *tls_server_ctx_new(const char *chain, const char *key, int verify_mode)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, chain), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, "certs/out/ca.pem", NULL), 1);
    SSL_CTX_set_verify(ctx, verify_mode, NULL);
    return ctx;
}

SSL *tls_mem_server_new(SSL_CTX *ctx, BIO **in, BIO **out)
{
    SSL *ssl = SSL_new(ctx);
    assert_non_null(ssl);
    *in = BIO_new(BIO_s_mem());
    *out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(*in, -1);
    SSL_set_bio(ssl, *in, *out);
    SSL_set_accept_state(ssl);
    return ssl;
}

size_t test_read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

bool tls_certs_ready(const char *path)
{
    if (access(path, R_OK) == 0)
        return true;
    fprintf(stderr, "certs/out missing: run bash certs/gen.sh (make test does)\n");
    return false;
}

/* ---- the server: TLS over memory BIOs, a small MQTT broker inside --------- */

void tls_mqtt_server_init(struct tls_mqtt_server *s, struct fake_port *fake)
{
    memset(s, 0, sizeof(*s));
    s->fake = fake;
}

void tls_mqtt_server_drop(struct tls_mqtt_server *s)
{
    if (s->ssl != NULL)
        SSL_free(s->ssl);
    s->ssl = NULL;
    ERR_clear_error();
}

void tls_mqtt_server_open(struct tls_mqtt_server *s, SSL_CTX *ctx, unsigned port)
{
    tls_mqtt_server_drop(s);
    s->ssl = tls_mem_server_new(ctx, &s->sin, &s->sout);
    s->port = port;
    s->b.in_len = 0;
    s->rx_notified = false;
    s->closed = false;
    fake_port_push_str(s->fake, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");
}

void tls_mqtt_server_send(struct tls_mqtt_server *s, const void *data, size_t len)
{
    assert_non_null(s->ssl);
    assert_int_equal(SSL_write(s->ssl, data, (int)len), (int)len);
}

/* A string field (2-byte length) at p into out; returns the bytes used. */
static size_t take_string(const uint8_t *p, char *out, size_t cap)
{
    size_t n = (size_t)p[0] << 8 | p[1];
    snprintf(out, cap, "%.*s", (int)n, (const char *)p + 2);
    return 2 + n;
}

static void broker_connect(struct tls_mqtt_server *s, const uint8_t *v)
{
    struct tls_mqtt_broker *b = &s->b;
    uint8_t flags = v[7];
    size_t off = 10;
    b->connects++;
    off += take_string(v + off, b->client_id, sizeof(b->client_id));
    b->username[0] = b->password[0] = '\0';
    if (flags & 0x80)
        off += take_string(v + off, b->username, sizeof(b->username));
    if (flags & 0x40)
        take_string(v + off, b->password, sizeof(b->password));
    b->client_cert = SSL_get0_peer_certificate(s->ssl) != NULL;
    tls_mqtt_server_send(s, "\x20\x02\x00\x00", 4);
}

/* SUBACK granting QoS 1 to each filter. */
static void broker_subscribe(struct tls_mqtt_server *s, const uint8_t *v, size_t len)
{
    uint8_t suback[16] = {0x90, 2, v[0], v[1]};
    size_t off = 2, n = 0;
    while (off < len) {
        assert_true(n < sizeof(suback) - 4);
        off += 2 + ((size_t)v[off] << 8 | v[off + 1]) + 1;
        suback[4 + n++] = 1;
    }
    suback[1] = (uint8_t)(2 + n);
    s->b.subscribes++;
    s->b.filters += (unsigned)n;
    tls_mqtt_server_send(s, suback, 4 + n);
}

static void broker_publish(struct tls_mqtt_server *s, uint8_t type, const uint8_t *v, size_t len)
{
    struct tls_mqtt_broker *b = &s->b;
    char topic[300];
    size_t off = take_string(v, topic, sizeof(topic));
    uint8_t qos = (type >> 1) & 3u;
    uint16_t id = 0;
    if (qos > 0) {
        id = (uint16_t)(v[off] << 8 | v[off + 1]);
        off += 2;
    }
    assert_true(b->n_published < TLS_MQTT_MAX_PUBLISHED);
    b->published_port[b->n_published] = s->port;
    snprintf(b->published[b->n_published++], sizeof(b->published[0]), "%s %.*s", topic,
             (int)(len - off), (const char *)v + off);
    if (qos == 1 && !b->withhold_puback) {
        uint8_t ack[4] = {0x40, 2, (uint8_t)(id >> 8), (uint8_t)id};
        tls_mqtt_server_send(s, ack, 4);
    }
}

/* Parse every whole packet the server has decrypted. */
static void broker_step(struct tls_mqtt_server *s)
{
    struct tls_mqtt_broker *b = &s->b;
    for (;;) {
        size_t len = 0, hdr = 1, shift = 0;
        const uint8_t *p = b->in;
        while (hdr < b->in_len && hdr < 5) {
            len |= (size_t)(p[hdr] & 0x7fu) << shift;
            shift += 7;
            if (!(p[hdr++] & 0x80u))
                break;
        }
        if (b->in_len < 2 || hdr + len > b->in_len || (p[hdr - 1] & 0x80u))
            return;
        switch (p[0] & 0xf0u) {
        case 0x10: broker_connect(s, p + hdr); break;
        case 0x80: broker_subscribe(s, p + hdr, len); break;
        case 0x30: broker_publish(s, p[0], p + hdr, len); break;
        case 0xc0:
            b->pings++;
            if (!b->withhold_pingresp)
                tls_mqtt_server_send(s, "\xd0\x00", 2);
            break;
        case 0xe0:
            b->disconnects++;
            if (b->close_on_disconnect)
                s->close_pending = true;
            break;
        default: break; /* PUBACK for the broker's own publishes */
        }
        memmove(b->in, b->in + hdr + len, b->in_len - hdr - len);
        b->in_len -= hdr + len;
    }
}

void tls_mqtt_server_step(struct tls_mqtt_server *s)
{
    int n;
    if (s->ssl == NULL || s->closed)
        return;
    if (!SSL_is_init_finished(s->ssl) && SSL_do_handshake(s->ssl) != 1) {
        ERR_clear_error();
    } else {
        while ((n = SSL_read(s->ssl, s->b.in + s->b.in_len,
                             (int)(sizeof(s->b.in) - s->b.in_len))) > 0)
            s->b.in_len += (size_t)n;
        ERR_clear_error();
        broker_step(s);
    }
    if (BIO_ctrl_pending(s->sout) > 0 && !s->rx_notified && s->send_pending == 0) {
        fake_port_push_str(s->fake, "\r\n+CIPRXGET: 1,0\r\n");
        s->rx_notified = true;
    }
}

void tls_mqtt_server_publish(struct tls_mqtt_server *s, const char *topic, const char *payload)
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
    s->b.next_id++;
    pkt[off++] = (uint8_t)(s->b.next_id >> 8);
    pkt[off++] = (uint8_t)s->b.next_id;
    memcpy(pkt + off, payload, pl);
    tls_mqtt_server_send(s, pkt, off + pl);
}

void tls_mqtt_server_hang_up(struct tls_mqtt_server *s)
{
    s->closed = true;
    tls_mqtt_server_drop(s);
    fake_port_push_str(s->fake, "\r\n+IPCLOSE: 0,1\r\n");
}

/* ---- the fake SIM7600's socket --------------------------------------------- */

/* Answers that need no state. */
static const char *const plain_answers[][2] = {
    {"AT", "\r\nOK\r\n"},
    {"ATE0", "\r\nOK\r\n"},
    {"AT+CMEE=2", "\r\nOK\r\n"},
    {"AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
    {"AT+CGREG?", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
    {"AT+CIPRXGET=1", "\r\nOK\r\n"},
};

static bool answer_plain(struct tls_mqtt_server *s, const char *line)
{
    size_t i;
    for (i = 0; i < sizeof(plain_answers) / sizeof(plain_answers[0]); i++) {
        if (strcmp(line, plain_answers[i][0]) == 0) {
            fake_port_push_str(s->fake, plain_answers[i][1]);
            return true;
        }
    }
    return false;
}

static void answer_receive(struct tls_mqtt_server *s, size_t cap)
{
    uint8_t data[1500];
    char reply[64];
    size_t waiting = s->ssl != NULL ? BIO_ctrl_pending(s->sout) : 0;
    int n;
    if (s->closed || s->ssl == NULL) {
        fake_port_push_str(s->fake, "\r\nERROR\r\n");
        return;
    }
    n = waiting == 0 ? 0 : BIO_read(s->sout, data, (int)(cap < waiting ? cap : waiting));
    if (n <= 0) {
        s->rx_notified = false;
        fake_port_push_str(s->fake, "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n");
        return;
    }
    if (s->corrupt_rx) { /* a TLS record damaged on its way: its MAC fails */
        data[n - 1] ^= 0x01;
        s->corrupt_rx = false;
    }
    waiting = BIO_ctrl_pending(s->sout);
    if (waiting == 0)
        s->rx_notified = false;
    snprintf(reply, sizeof(reply), "\r\n+CIPRXGET: 2,0,%d,%zu\r\n", n, waiting);
    fake_port_push_str(s->fake, reply);
    fake_port_push(s->fake, data, (size_t)n);
    fake_port_push_str(s->fake, "\r\nOK\r\n");
}

bool tls_mqtt_modem_answer(struct tls_mqtt_server *s, const char *line)
{
    struct fake_port *f = s->fake;
    size_t cap = 0;
    if (answer_plain(s, line))
        return true;
    if (strcmp(line, "AT+NETOPEN") == 0) {
        fake_port_push_str(f, s->net_open
                                  ? "\r\n+IP ERROR: Network is already opened\r\n\r\nERROR\r\n"
                                  : "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
        s->net_open = true;
    } else if (strcmp(line, "AT+CIPCLOSE=0") == 0) {
        fake_port_push_str(f, s->closed || s->ssl == NULL ? "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n"
                                                          : "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n");
        tls_mqtt_server_drop(s);
    } else if (sscanf(line, "AT+CIPSEND=0,%zu", &s->send_pending) == 1) {
        if (s->closed || s->ssl == NULL) {
            s->send_pending = 0;
            fake_port_push_str(f, "\r\nERROR\r\n");
        } else {
            fake_port_push_str(f, "\r\n>");
        }
    } else if (sscanf(line, "AT+CIPRXGET=2,0,%zu", &cap) == 1) {
        answer_receive(s, cap);
    } else {
        return false;
    }
    return true;
}

/* The CIPSEND bytes, once all have been written, go to the server. */
static bool take_send(struct tls_mqtt_server *s, const uint8_t *p, size_t avail)
{
    char reply[64];
    if (avail < s->send_pending)
        return false;
    if (s->ssl != NULL)
        BIO_write(s->sin, p, (int)s->send_pending);
    snprintf(reply, sizeof(reply), "\r\nOK\r\n\r\n+CIPSEND: 0,%zu,%zu\r\n", s->send_pending,
             s->send_pending);
    s->fake->tx_checked += s->send_pending;
    s->send_pending = 0;
    fake_port_push_str(s->fake, reply);
    return true;
}

bool tls_mqtt_modem_step(struct tls_mqtt_server *s, size_t line_cap, tls_mqtt_line_fn answer,
                         void *ctx)
{
    struct fake_port *f = s->fake;
    char line[256];
    assert_true(line_cap <= sizeof(line));
    for (;;) {
        if (s->send_pending > 0) {
            if (!take_send(s, f->tx + f->tx_checked, f->tx_len - f->tx_checked))
                return false;
            continue;
        }
        if (!fake_port_take_line(f, line, line_cap))
            break;
        answer(ctx, line);
    }
    return f->tx_checked == f->tx_len;
}

/* ---- the device rigs on the MCU-TLS transport ------------------------------ */

static const char *const bus_subscriptions[] = {"/bus/bus-1/commands",
                                                "/bus/bus-1/configuration"};

void mcu_tls_device_config(struct fw_device_config *cfg, struct fw_sim7600 *modem,
                           struct fw_queue *queue, struct fw_mcu_tls *mcu,
                           uint32_t backoff_max_ms)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->modem = modem;
    cfg->setup.ssl_ctx = -1;
    cfg->subscriptions = bus_subscriptions;
    cfg->n_subscriptions = 2;
    cfg->queue = queue;
    cfg->publish_qos = 1;
    cfg->backoff_min_ms = 1000;
    cfg->backoff_max_ms = backoff_max_ms;
    cfg->transport = FW_DEVICE_MCU_TLS;
    cfg->mcu_tls = mcu;
}

void mcu_tls_session_config(struct fw_mcu_tls_config *c, struct fake_port *f, uint8_t *tx,
                            size_t tx_cap, uint8_t *rx, size_t rx_cap,
                            struct fw_mqtt_inflight *inflight, size_t inflight_cap)
{
    c->session.port = &f->port;
    c->session.tx_buf = tx;
    c->session.tx_cap = tx_cap;
    c->session.rx_buf = rx;
    c->session.rx_cap = rx_cap;
    c->session.inflight = inflight;
    c->session.inflight_cap = inflight_cap;
    c->session.ack_timeout_ms = 3000;
    c->connect.keep_alive_s = 60;
    c->connect.clean_session = true;
    c->rx_poll_ms = 200;
}

void device_push_event(struct fw_queue *q, const char *payload)
{
    assert_int_equal(fw_queue_push(q, FW_QUEUE_HIGH, "/bus/events", 11, (const uint8_t *)payload,
                                   strlen(payload)),
                     FW_QUEUE_OK);
}

bool device_online_and_drained(const struct fw_device *dev, const struct fw_queue *q)
{
    return dev->state == FW_DEVICE_ONLINE && fw_queue_count(q) == 0;
}
