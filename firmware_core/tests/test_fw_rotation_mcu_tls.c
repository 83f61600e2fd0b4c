/*
 * test_fw_rotation_mcu_tls.c - server endpoint and CA rotation (fw_rotation)
 * on the MCU-TLS transport. A scripted SIM7600 carries the raw TCP socket
 * (AT+NETOPEN, CIPOPEN to any host and port, CIPSEND, CIPRXGET, CIPCLOSE,
 * +IPCLOSE) to in-process OpenSSL servers (memory BIOs) with a small MQTT
 * broker behind them: localhost:8883 serves the first CA's server
 * certificate (or, after the broker's "rotation", the new CA's),
 * localhost:9883 the new CA's; any other port refuses the connection. The
 * client TLS is the Linux port's, whose CA slot has no file: every CA it
 * trusts comes through the port hook tls_set_ca from fw_rotation.
 *
 * Checked: the factory pair connects; a configuration with a new endpoint
 * and CA makes the device end its session cleanly and reconnect to the new
 * endpoint with the new CA, which then becomes the trusted pair (no
 * certificate-store command on the modem: an unexpected command fails the
 * test); a new pair that fails (wrong CA, refused port, a CA the port
 * cannot parse) is given up after 3 failed connects for the previous pair;
 * the pending pair is tried again when the trusted one fails too (the
 * broker's certificate rotated under it) and then confirmed; the pairs
 * survive a reboot (stored in the port's persistent storage), also a
 * pending one. A transport config with a CA but a port without tls_set_ca
 * is refused; with such a port the factory CA (the platform's own slot)
 * still connects and a new CA is given up for it. Main flow at UART read sizes 1 and whole.
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
#include "fw_device.h"
#include "fw_port_linux_tls.h"
#include "fw_rotation.h"

#define MAX_PUBLISHED 16
#define FIRST_PORT 8883
#define NEW_PORT 9883

/* The MQTT side of the server: what it received. */
struct broker {
    uint8_t in[8192];             /* decrypted bytes not yet parsed */
    size_t in_len;
    unsigned connects, disconnects;
    char published[MAX_PUBLISHED][200]; /* "port topic payload" */
    unsigned n_published;
};

struct rig {
    struct fake_port fake;        /* first: the TLS hooks get it as ctx */
    struct fw_linux_tls tls;
    SSL_CTX *first_ctx;           /* the first CA's server certificate */
    SSL_CTX *rotated_ctx;         /* the new CA's */
    bool first_port_rotated;      /* 8883 serves the new CA's certificate */
    SSL *ssl;                     /* the server end of the current socket; NULL if none */
    BIO *sin, *sout;
    unsigned server_port;         /* the port of the current socket */
    struct broker b;
    struct fw_sim7600 modem;
    struct fw_queue queue;
    struct fw_rotation rot;
    struct fw_device dev;
    struct fw_mcu_tls mcu;
    char line_buf[256];
    char tx_buf[128];
    char topic_buf[64];
    uint8_t payload_buf[16];
    uint8_t queue_buf[4096];
    uint8_t mqtt_tx[4096], mqtt_rx[2048];
    struct fw_mqtt_inflight inflight[4];
    uint8_t first_ca[4096], new_ca[4096];
    size_t first_ca_len, new_ca_len;
    /* the fake modem */
    size_t send_pending;          /* CIPSEND bytes still expected */
    bool closed;                  /* the socket was closed by the peer */
    bool net_open;
    bool rx_notified;             /* +CIPRXGET: 1,0 sent, not yet drained */
    unsigned opens[2];            /* AT+CIPOPEN to FIRST_PORT, NEW_PORT */
    unsigned refused_opens;       /* to other ports */
    unsigned set_cas;             /* tls_set_ca calls */
    unsigned tls_failures;        /* "mcutls failed" warnings logged */
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
static int32_t hook_set_ca(void *ctx, uint32_t ca_id, const uint8_t *pem, size_t len)
{
    struct rig *r = ctx;
    r->set_cas++;
    return fw_linux_tls_set_ca(&r->tls, ca_id, pem, len);
}

/* ---- the servers: TLS over memory BIOs, a small MQTT broker inside -------- */

static void server_drop(struct rig *r)
{
    if (r->ssl != NULL)
        SSL_free(r->ssl);
    r->ssl = NULL;
    ERR_clear_error();
}

/* A new TCP connection to port: a fresh TLS server and MQTT parser. */
static void server_accept(struct rig *r, unsigned port)
{
    SSL_CTX *ctx = port == NEW_PORT || r->first_port_rotated ? r->rotated_ctx : r->first_ctx;
    server_drop(r);
    r->ssl = SSL_new(ctx);
    r->sin = BIO_new(BIO_s_mem());
    r->sout = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(r->sin, -1);
    SSL_set_bio(r->ssl, r->sin, r->sout);
    SSL_set_accept_state(r->ssl);
    r->server_port = port;
    r->b.in_len = 0;
    r->rx_notified = false;
}

static void server_send(struct rig *r, const void *data, size_t len)
{
    assert_non_null(r->ssl);
    assert_int_equal(SSL_write(r->ssl, data, (int)len), (int)len);
}

static void broker_publish(struct rig *r, uint8_t type, const uint8_t *v, size_t len)
{
    size_t tl = (size_t)v[0] << 8 | v[1], off = 2 + tl;
    uint16_t id = 0;
    if (((type >> 1) & 3u) > 0) {
        id = (uint16_t)(v[off] << 8 | v[off + 1]);
        off += 2;
        server_send(r, (uint8_t[]){0x40, 2, (uint8_t)(id >> 8), (uint8_t)id}, 4);
    }
    assert_true(r->b.n_published < MAX_PUBLISHED);
    snprintf(r->b.published[r->b.n_published++], sizeof(r->b.published[0]), "%u %.*s %.*s",
             r->server_port, (int)tl, (const char *)v + 2, (int)(len - off),
             (const char *)v + off);
}

/* Parse every whole packet the server has decrypted. */
static void broker_step(struct rig *r)
{
    for (;;) {
        size_t len = 0, hdr = 1, shift = 0;
        const uint8_t *p = r->b.in;
        uint8_t suback[8] = {0x90, 2, 0, 0};
        while (hdr < r->b.in_len && hdr < 5) {
            len |= (size_t)(p[hdr] & 0x7fu) << shift;
            shift += 7;
            if (!(p[hdr++] & 0x80u))
                break;
        }
        if (r->b.in_len < 2 || hdr + len > r->b.in_len || (p[hdr - 1] & 0x80u))
            return;
        switch (p[0] & 0xf0u) {
        case 0x10:
            r->b.connects++;
            server_send(r, "\x20\x02\x00\x00", 4);
            break;
        case 0x80: { /* SUBACK granting QoS 1 to each filter */
            size_t off = 2, n = 0;
            suback[2] = p[hdr];
            suback[3] = p[hdr + 1];
            while (off < len && n < 4) {
                off += 2 + ((size_t)p[hdr + off] << 8 | p[hdr + off + 1]) + 1;
                suback[4 + n++] = 1;
            }
            suback[1] = (uint8_t)(2 + n);
            server_send(r, suback, 4 + n);
            break;
        }
        case 0x30: broker_publish(r, p[0], p + hdr, len); break;
        case 0xc0: server_send(r, "\xd0\x00", 2); break;
        case 0xe0: r->b.disconnects++; break;
        default: break;
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

/* ---- the fake SIM7600 ------------------------------------------------------ */

static const char *const plain_answers[][2] = {
    {"AT", "\r\nOK\r\n"},
    {"ATE0", "\r\nOK\r\n"},
    {"AT+CMEE=2", "\r\nOK\r\n"},
    {"AT+CPIN?", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
    {"AT+CGREG?", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
    {"AT+CIPRXGET=1", "\r\nOK\r\n"},
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
    waiting = BIO_ctrl_pending(r->sout);
    if (waiting == 0)
        r->rx_notified = false;
    snprintf(reply, sizeof(reply), "\r\n+CIPRXGET: 2,0,%d,%zu\r\n", n, waiting);
    fake_port_push_str(&r->fake, reply);
    fake_port_push(&r->fake, data, (size_t)n);
    fake_port_push_str(&r->fake, "\r\nOK\r\n");
}

static void answer_open(struct rig *r, const char *host, unsigned port)
{
    assert_string_equal(host, "localhost");
    if (port != FIRST_PORT && port != NEW_PORT) {
        r->refused_opens++;
        fake_port_push_str(&r->fake, "\r\nOK\r\n\r\n+CIPOPEN: 0,1\r\n");
        return;
    }
    r->opens[port == NEW_PORT]++;
    server_accept(r, port);
    r->closed = false;
    fake_port_push_str(&r->fake, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");
}

/* Any command not answered here (a certificate-store command, say) fails. */
static void answer_line(struct rig *r, const char *line)
{
    struct fake_port *f = &r->fake;
    char host[64];
    unsigned port = 0;
    size_t cap = 0;
    if (answer_plain(r, line))
        return;
    if (strcmp(line, "AT+NETOPEN") == 0) {
        fake_port_push_str(f, r->net_open ? "\r\n+IP ERROR: Network is already opened\r\n\r\nERROR\r\n"
                                          : "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
        r->net_open = true;
    } else if (sscanf(line, "AT+CIPOPEN=0,\"TCP\",\"%63[^\"]\",%u", host, &port) == 2) {
        answer_open(r, host, port);
    } else if (strcmp(line, "AT+CIPCLOSE=0") == 0) {
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
    } else {
        fail_msg("unexpected command %s", line);
    }
}

/* Answer every whole command the core has written. */
static void modem_step(struct rig *r)
{
    struct fake_port *f = &r->fake;
    char line[96];
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
    if (f->tx_checked == f->tx_len)
        f->tx_len = f->tx_checked = 0;
}

/* The socket dies under the device (the broker dropped it). */
static void modem_drop(struct rig *r)
{
    r->closed = true;
    server_drop(r);
    fake_port_push_str(&r->fake, "\r\n+IPCLOSE: 0,1\r\n");
}

/* ---- the rig ---------------------------------------------------------------- */

static void count_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                      const char *detail, size_t detail_len)
{
    struct rig *r = ctx;
    if (strcmp(module, "mcutls") == 0 && strcmp(event, "failed") == 0)
        r->tls_failures++;
}

static const char *const subs[] = {"/bus/bus-1/commands", "/bus/bus-1/configuration"};

static SSL_CTX *server_ctx(const char *chain, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    assert_non_null(ctx);
    assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, chain), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM), 1);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, "certs/out/ca.pem", NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL); /* the device certificate */
    return ctx;
}

static size_t read_file(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, cap, f);
    fclose(f);
    assert_true(n > 0 && n < cap);
    return n;
}

/* The device config (AWS, mutual TLS); host, port and CA come from prepare. */
static void rig_device_config(struct rig *r, struct fw_device_config *cfg)
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
    cfg->backoff_max_ms = 4000;
    cfg->transport = FW_DEVICE_MCU_TLS;
    cfg->mcu_tls = &r->mcu;
    c->host = "unused.invalid"; /* replaced by the active pair's */
    c->tcp_port = 1;
    c->server_name = "unused.invalid";
    c->ca_id = FW_LINUX_TLS_CA;
    c->cert_id = FW_LINUX_TLS_CERT;
    c->key_id = FW_LINUX_TLS_KEY;
    c->session.port = &r->fake.port;
    c->session.tx_buf = r->mqtt_tx;
    c->session.tx_cap = sizeof(r->mqtt_tx);
    c->session.rx_buf = r->mqtt_rx;
    c->session.rx_cap = sizeof(r->mqtt_rx);
    c->session.inflight = r->inflight;
    c->session.inflight_cap = 4;
    c->session.ack_timeout_ms = 3000;
    c->connect.client_id = "bus-1";
    c->connect.keep_alive_s = 60;
    c->connect.clean_session = true;
    c->rx_poll_ms = 200;
    cfg->hooks = fw_rotation_device_hooks(&r->rot);
}

/* Power on: the core's state starts from nothing but the port's persistent
 * storage; the modem and the servers start afresh too. */
static void rig_boot(struct rig *r)
{
    struct fw_sim7600_config mcfg;
    struct fw_rotation_config rc;
    struct fw_device_config cfg;
    fw_mcu_tls_stop(&r->mcu);
    server_drop(r);
    r->fake.rx_len = r->fake.rx_off = 0;
    r->fake.tx_len = r->fake.tx_checked = 0;
    r->send_pending = 0;
    r->closed = r->net_open = r->rx_notified = false;
    memset(&r->modem, 0, sizeof(r->modem));
    memset(&r->rot, 0, sizeof(r->rot));
    memset(&r->dev, 0, sizeof(r->dev));
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
    assert_int_equal(fw_sim7600_init(&r->modem, &mcfg), FW_AT_IDLE);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    memset(&rc, 0, sizeof(rc));
    rc.port = &r->fake.port;
    rc.endpoint = "localhost:8883";
    rc.ca_name = "ca.pem";
    rc.ca = r->first_ca;
    rc.ca_len = r->first_ca_len;
    assert_true(fw_rotation_init(&r->rot, &rc));
    rig_device_config(r, &cfg);
    assert_true(fw_device_start(&r->dev, &cfg));
}

static void rig_init(struct rig *r, size_t chunk)
{
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    r->fake.port.log = count_log;
    r->fake.port.tls_open = hook_open;
    r->fake.port.tls_feed_ciphertext = hook_feed;
    r->fake.port.tls_take_ciphertext = hook_take;
    r->fake.port.tls_write_plain = hook_write;
    r->fake.port.tls_read_plain = hook_read;
    r->fake.port.tls_close = hook_close;
    r->fake.port.tls_set_ca = hook_set_ca;
    /* no CA file: the slot holds only what tls_set_ca gives */
    r->tls.files[FW_LINUX_TLS_CERT] = "certs/out/devices/bus-1/cert.pem";
    r->tls.files[FW_LINUX_TLS_KEY] = "certs/out/devices/bus-1/key.pem";
    r->first_ctx = server_ctx("certs/out/server-chain.pem", "certs/out/server.key");
    r->rotated_ctx = server_ctx("certs/out/rotated/server-chain.pem", "certs/out/rotated/server.key");
    r->first_ca_len = read_file("certs/out/ca.pem", r->first_ca, sizeof(r->first_ca));
    r->new_ca_len = read_file("certs/out/rotated/ca.pem", r->new_ca, sizeof(r->new_ca));
    rig_boot(r);
}

static void rig_free(struct rig *r)
{
    fw_mcu_tls_stop(&r->mcu);
    server_drop(r);
    SSL_CTX_free(r->first_ctx);
    SSL_CTX_free(r->rotated_ctx);
}

/* One round: modem, server, 5 ms, the device. */
static enum fw_device_state run_once(struct rig *r)
{
    modem_step(r);
    server_step(r);
    fake_port_advance(&r->fake, 5);
    return fw_device_poll(&r->dev);
}

/* Run until cond holds (checked after every round); fails after max rounds. */
#define RUN_UNTIL(r, cond, max)                                                               \
    do {                                                                                      \
        unsigned spins_;                                                                      \
        for (spins_ = 0; spins_ < (max) && !(cond); spins_++)                                 \
            run_once(r);                                                                      \
        if (!(cond))                                                                          \
            fail_msg("timed out waiting for %s: device %s, transport %s (%s)", #cond,         \
                     fw_device_state_str((r)->dev.state), fw_mcu_tls_state_str((r)->mcu.state), \
                     fw_mcu_tls_failure_str((r)->mcu.failure));                               \
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

/* A configuration as the cloud sends it: endpoint and/or CA (JSON-escaped). */
static bool offer(struct rig *r, const char *endpoint, const uint8_t *ca, size_t ca_len)
{
    static char json[8192];
    char reason[128] = "";
    size_t n = 0, i;
    n += (size_t)snprintf(json + n, sizeof(json) - n, "{\"speed_threshold_kmh\":60");
    if (endpoint != NULL)
        n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"endpoint\":\"%s\"", endpoint);
    if (ca != NULL) {
        n += (size_t)snprintf(json + n, sizeof(json) - n, ",\"ca_cert\":\"");
        for (i = 0; i < ca_len && n + 4 < sizeof(json); i++) {
            if (ca[i] == '\n') {
                json[n++] = '\\';
                json[n++] = 'n';
            } else {
                json[n++] = (char)ca[i];
            }
        }
        json[n++] = '"';
    }
    json[n++] = '}';
    json[n] = '\0';
    return fw_rotation_config_hook(&r->rot, json, n, reason, sizeof(reason));
}

static const char *last_published(const struct rig *r)
{
    assert_true(r->b.n_published > 0);
    return r->b.published[r->b.n_published - 1];
}

/* ---- tests ------------------------------------------------------------------ */

/* the factory pair connects; a new endpoint and CA: a clean disconnect, the
 * new endpoint with the new CA, confirmed as the trusted pair */
static void test_new_pair_reconnects_to_new_endpoint_with_new_ca(void **state)
{
    static const size_t chunks[] = {1, 0};
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        rig_init(&r, chunks[c]);
        push_event(&r, "e1");
        RUN_UNTIL(&r, online_and_drained(&r), 60000u);
        assert_int_equal(r.opens[0], 1);
        assert_int_equal(r.opens[1], 0);
        assert_string_equal(last_published(&r), "8883 /bus/events e1");
        assert_true(r.set_cas >= 1); /* the factory CA, from memory */
        assert_true(offer(&r, "mqtts://localhost:9883", r.new_ca, r.new_ca_len));
        assert_true(fw_rotation_has_pending(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:9883");
        /* the same configuration again (retained, on every connect): no change */
        assert_true(offer(&r, "localhost:9883", r.new_ca, r.new_ca_len));
        assert_int_equal(fw_rotation_stats(&r.rot)->offers, 1);
        RUN_UNTIL(&r, r.opens[1] == 1 && r.dev.state == FW_DEVICE_ONLINE, 60000u);
        assert_int_equal(r.b.disconnects, 1); /* the old session ended cleanly */
        assert_int_equal(fw_device_stats(&r.dev)->losses, 0);
        assert_int_equal(r.opens[0], 1);
        assert_false(fw_rotation_has_pending(&r.rot));
        assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
        assert_null(fw_rotation_previous(&r.rot));
        assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.new_ca_len);
        assert_memory_equal(r.tls.ca_pem, r.new_ca, r.new_ca_len);
        push_event(&r, "e2");
        RUN_UNTIL(&r, online_and_drained(&r), 60000u);
        assert_string_equal(last_published(&r), "9883 /bus/events e2");
        assert_int_equal(r.tls_failures, 0);
        rig_free(&r);
    }
}

/* a new pair that cannot connect (the old server with the new CA; a port
 * that refuses; a CA the port's TLS cannot parse) is given up after 3
 * failed connects: the previous pair connects again */
static void test_failed_new_pair_falls_back(void **state)
{
    static const uint8_t unparsable[] =
        "-----BEGIN CERTIFICATE-----\nQUFBQUFBQUFB\n-----END CERTIFICATE-----\n";
    unsigned kase;
    (void)state;
    for (kase = 0; kase < 3; kase++) {
        static struct rig r;
        unsigned opens, set_cas;
        rig_init(&r, 64);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
        opens = r.opens[0];
        set_cas = r.set_cas;
        if (kase == 0)
            assert_true(offer(&r, NULL, r.new_ca, r.new_ca_len)); /* same endpoint */
        else if (kase == 1)
            assert_true(offer(&r, "localhost:9993", NULL, 0)); /* same CA */
        else
            assert_true(offer(&r, NULL, unparsable, sizeof(unparsable) - 1));
        RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
        RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 3); /* the 3 failed attempts */
        if (kase == 0) {
            assert_int_equal(r.opens[0], opens + 4); /* 3 with the new CA, 1 with the old */
            assert_int_equal(r.tls_failures, 3);
        } else if (kase == 1) {
            assert_int_equal(r.refused_opens, 3);
            assert_int_equal(r.opens[0], opens + 1);
        } else {
            assert_int_equal(r.opens[0], opens + 1); /* the transport refused to start */
            assert_int_equal(r.set_cas, set_cas + 4);
        }
        /* the trusted pair is active again, the new one waits as pending */
        assert_true(fw_rotation_has_pending(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:8883");
        assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
        assert_memory_equal(r.tls.ca_pem, r.first_ca, r.first_ca_len);
        assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 0);
        rig_free(&r);
    }
}

/* the scenario of a rotated broker: the new CA arrives before the broker's
 * certificate changes (fall back), then the broker's certificate changes
 * (the trusted pair fails): the pending pair is tried again and confirmed */
static void test_pending_retried_when_trusted_fails(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_true(offer(&r, "localhost:8883", r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_true(fw_rotation_has_pending(&r.rot));
    /* the broker now serves the new CA's certificate and drops everyone */
    r.first_port_rotated = true;
    modem_drop(&r);
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 2, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.new_ca_len);
    /* 3 with the new CA, the broker's drop, then 3 with the old CA */
    assert_int_equal(r.tls_failures, 7);
    push_event(&r, "after");
    RUN_UNTIL(&r, online_and_drained(&r), 60000u);
    assert_string_equal(last_published(&r), "8883 /bus/events after");
    rig_free(&r);
}

/* the pairs are in persistent storage: after a reboot the device goes
 * straight to the confirmed new pair, or first to a pending active one */
static void test_pairs_survive_a_reboot(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_true(offer(&r, "localhost:9883", r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, r.opens[1] == 1 && r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
    /* reboot: the confirmed pair at once, the factory one never */
    rig_boot(&r);
    memset(r.tls.ca_copy, 0, sizeof(r.tls.ca_copy));
    r.tls.ca_pem = NULL;
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 1);
    assert_int_equal(r.opens[1], 2);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_memory_equal(r.tls.ca_pem, r.new_ca, r.new_ca_len);
    /* a pending pair offered, the device reboots before connecting with it:
     * after the reboot it is still pending and active */
    assert_true(offer(&r, "localhost:8883", r.first_ca, r.first_ca_len));
    rig_boot(&r);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "localhost:8883");
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 2);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
    assert_int_equal(r.tls_failures, 0);
    rig_free(&r);
}

/* a CA for the port's TLS needs the port hook tls_set_ca */
static void test_ca_without_port_hook_refused(void **state)
{
    static struct rig r;
    struct fw_device_config cfg;
    (void)state;
    rig_init(&r, 0);
    rig_device_config(&r, &cfg);
    cfg.mcu.host = "localhost";
    cfg.mcu.tcp_port = FIRST_PORT;
    cfg.mcu.server_name = "localhost";
    cfg.mcu.modem = &r.modem;
    cfg.mcu.port = &r.fake.port;
    cfg.mcu.ca_pem = r.first_ca;
    cfg.mcu.ca_len = r.first_ca_len;
    r.fake.port.tls_set_ca = NULL;
    assert_false(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    r.fake.port.tls_set_ca = hook_set_ca;
    cfg.mcu.ca_len = 10; /* no whole certificate: the port refuses */
    assert_false(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    cfg.mcu.ca_len = r.first_ca_len;
    fw_at_cancel(fw_sim7600_at(&r.modem)); /* the device's setup had the AT engine */
    assert_true(fw_mcu_tls_start(&r.mcu, &cfg.mcu));
    assert_memory_equal(r.tls.ca_pem, r.first_ca, r.first_ca_len);
    rig_free(&r);
}

/* a port without tls_set_ca: the factory CA is the platform's own slot
 * (connects); a new CA cannot reach the port, so the transport refuses to
 * start with it and the device falls back */
static void test_port_without_set_ca_keeps_factory_ca(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64);
    r.fake.port.tls_set_ca = NULL;
    r.tls.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem";
    rig_boot(&r);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 60000u);
    assert_int_equal(r.opens[0], 1);
    assert_int_equal(r.set_cas, 0);
    assert_true(offer(&r, NULL, r.new_ca, r.new_ca_len));
    RUN_UNTIL(&r, fw_rotation_stats(&r.rot)->switches == 1, 200000u);
    RUN_UNTIL(&r, r.dev.state == FW_DEVICE_ONLINE, 200000u);
    assert_int_equal(r.opens[0], 2); /* none with the new CA */
    assert_int_equal(fw_device_stats(&r.dev)->losses, 3);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_int_equal(fw_rotation_active(&r.rot)->ca_len, r.first_ca_len);
    rig_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_pair_reconnects_to_new_endpoint_with_new_ca),
        cmocka_unit_test(test_failed_new_pair_falls_back),
        cmocka_unit_test(test_pending_retried_when_trusted_fails),
        cmocka_unit_test(test_pairs_survive_a_reboot),
        cmocka_unit_test(test_ca_without_port_hook_refused),
        cmocka_unit_test(test_port_without_set_ca_keeps_factory_ca),
    };
    if (access("certs/out/rotated/ca.pem", R_OK) != 0) {
        fprintf(stderr, "certs/out missing: run bash certs/gen.sh (make test does)\n");
        return 1;
    }
    return cmocka_run_group_tests_name("fw_rotation_mcu_tls", tests, NULL, NULL);
}
