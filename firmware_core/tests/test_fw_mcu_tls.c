/*
 * test_fw_mcu_tls.c - the MCU-TLS glue (fw_mcu_tls) against a scripted
 * SIM7600 socket and a real OpenSSL server: the fake modem answers
 * AT+CIPRXGET/NETOPEN/CIPOPEN/CIPSEND/CIPRXGET=2 like the module, passing the
 * CIPSEND bytes to an in-process OpenSSL server (memory BIOs) and handing
 * the server's records back through +CIPRXGET: 2. The client TLS is the
 * Linux port's (fw_port_linux_tls). Checked byte-exact: the MQTT packets the
 * server decrypts (CONNECT, SUBSCRIBE, PUBLISH) and the callbacks for what
 * it sends (CONNACK, SUBACK, PUBLISH, PUBACK); failures: an untrusted
 * server, a missing client key, a refused subscription, the socket closed by the peer (each
 * ending with AT+CIPCLOSE before FAILED), a port
 * without TLS hooks, and a build selecting an MCU-TLS stack without
 * FW_HAVE_TLS stopping at the #error. The main flow runs at UART read sizes
 * 1, 7, 64 and whole.
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
#include "fw_mcu_tls.h"
#include "fw_port_linux_tls.h"
#include "tls_mqtt_server.h"

/* An OpenSSL server whose network side is two memory BIOs. */
struct server {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *in, *out;
    uint8_t plain[8192];
    size_t plain_len;
};

struct rig {
    struct fake_port fake;        /* first: the hooks get it as ctx */
    struct fw_linux_tls tls;
    struct server srv;
    struct fw_sim7600 modem;
    struct fw_mcu_tls mcu;
    char line_buf[256];
    char tx_buf[128];
    char topic_buf[16];
    uint8_t payload_buf[16];
    uint8_t mqtt_tx[1024], mqtt_rx[1024];
    struct fw_mqtt_inflight inflight[4];
    /* the fake modem */
    size_t send_pending;          /* CIPSEND bytes still expected */
    bool closed;                  /* socket closed by the peer */
    unsigned closes;              /* AT+CIPCLOSE=0 seen */
    /* what the callbacks saw */
    char message[128];
    unsigned messages;
    uint16_t acked;
};

static void server_init(struct server *s, const char *chain, const char *key)
{
    memset(s, 0, sizeof(*s));
    s->ctx = tls_server_ctx_new(chain, key, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    s->ssl = tls_mem_server_new(s->ctx, &s->in, &s->out);
}

static void server_free(struct server *s)
{
    SSL_free(s->ssl);
    SSL_CTX_free(s->ctx);
    ERR_clear_error();
}

/* Let the server run: handshake, then collect decrypted bytes. */
static void server_step(struct server *s)
{
    int n;
    if (!SSL_is_init_finished(s->ssl) && SSL_do_handshake(s->ssl) != 1)
        return;
    while ((n = SSL_read(s->ssl, s->plain + s->plain_len, (int)(sizeof(s->plain) - s->plain_len))) > 0)
        s->plain_len += (size_t)n;
}

static void server_send(struct server *s, const void *data, size_t len)
{
    assert_int_equal(SSL_write(s->ssl, data, (int)len), (int)len);
}

/* The fake SIM7600: answer every whole command the core has written. */
static void modem_step(struct rig *r)
{
    struct fake_port *f = &r->fake;
    char line[64], reply[128];
    for (;;) {
        size_t avail = f->tx_len - f->tx_checked;
        const uint8_t *p = f->tx + f->tx_checked;
        size_t cap = 0;
        if (r->send_pending > 0) {
            if (avail < r->send_pending)
                return;
            BIO_write(r->srv.in, p, (int)r->send_pending);
            snprintf(reply, sizeof(reply), "\r\nOK\r\n\r\n+CIPSEND: 0,%zu,%zu\r\n",
                     r->send_pending, r->send_pending);
            f->tx_checked += r->send_pending;
            r->send_pending = 0;
            fake_port_push_str(f, reply);
            continue;
        }
        if (!fake_port_take_line(f, line, sizeof(line)))
            return;
        if (strcmp(line, "AT+CIPRXGET=1") == 0) {
            fake_port_push_str(f, "\r\nOK\r\n");
        } else if (strcmp(line, "AT+NETOPEN") == 0) {
            fake_port_push_str(f, "\r\nOK\r\n\r\n+NETOPEN: 0\r\n");
        } else if (strcmp(line, "AT+CIPOPEN=0,\"TCP\",\"localhost\",8883") == 0) {
            fake_port_push_str(f, "\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n");
        } else if (strcmp(line, "AT+CIPCLOSE=0") == 0) {
            r->closes++;
            fake_port_push_str(f, r->closed ? "\r\n+CIPCLOSE: 0,4\r\n\r\nERROR\r\n"
                                            : "\r\nOK\r\n\r\n+CIPCLOSE: 0,0\r\n");
        } else if (sscanf(line, "AT+CIPSEND=0,%zu", &r->send_pending) == 1) {
            assert_false(r->closed);
            fake_port_push_str(f, "\r\n>");
        } else if (sscanf(line, "AT+CIPRXGET=2,0,%zu", &cap) == 1) {
            uint8_t data[1500];
            size_t waiting = BIO_ctrl_pending(r->srv.out);
            int n = waiting == 0 ? 0 : BIO_read(r->srv.out, data, (int)(cap < waiting ? cap : waiting));
            if (n <= 0) {
                fake_port_push_str(f, "\r\n+IP ERROR: No data\r\n\r\nERROR\r\n");
                continue;
            }
            snprintf(reply, sizeof(reply), "\r\n+CIPRXGET: 2,0,%d,%zu\r\n", n,
                     BIO_ctrl_pending(r->srv.out));
            fake_port_push_str(f, reply);
            fake_port_push(f, data, (size_t)n);
            fake_port_push_str(f, "\r\nOK\r\n");
        } else {
            fail_msg("unexpected command %s", line);
        }
    }
}

static void on_message(void *ctx, const struct fw_mqtt_publish *msg)
{
    struct rig *r = ctx;
    snprintf(r->message, sizeof(r->message), "%.*s=%.*s", (int)msg->topic_len, msg->topic,
             (int)msg->payload_len, (const char *)msg->payload);
    r->messages++;
}

static void on_puback(void *ctx, uint16_t id)
{
    ((struct rig *)ctx)->acked = id;
}

static const struct fw_mqtt_subscription subs[] = {{"/bus/bus-1/commands", 1}};

static void rig_init(struct rig *r, size_t chunk, const char *server_chain, const char *server_key)
{
    struct fw_mcu_tls_config c;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 0);
    fake_port_use_linux_tls(&r->fake, &r->tls);
    r->tls.files[FW_LINUX_TLS_CA] = "certs/out/ca.pem";
    r->tls.files[FW_LINUX_TLS_CERT] = "certs/out/devices/bus-1/cert.pem";
    r->tls.files[FW_LINUX_TLS_KEY] = "certs/out/devices/bus-1/key.pem";
    server_init(&r->srv, server_chain, server_key);
    FAKE_SIM7600_INIT(r, NULL, NULL);
    memset(&c, 0, sizeof(c));
    c.modem = &r->modem;
    c.port = &r->fake.port;
    c.host = "localhost";
    c.tcp_port = 8883;
    c.server_name = "localhost";
    c.ca_id = FW_LINUX_TLS_CA;
    c.cert_id = FW_LINUX_TLS_CERT;
    c.key_id = FW_LINUX_TLS_KEY;
    c.session.port = &r->fake.port;
    c.session.tx_buf = r->mqtt_tx;
    c.session.tx_cap = sizeof(r->mqtt_tx);
    c.session.rx_buf = r->mqtt_rx;
    c.session.rx_cap = sizeof(r->mqtt_rx);
    c.session.inflight = r->inflight;
    c.session.inflight_cap = 4;
    c.session.on_message = on_message;
    c.session.on_puback = on_puback;
    c.session.ctx = r;
    c.connect.client_id = "bus-1";
    c.connect.keep_alive_s = 60;
    c.connect.clean_session = true;
    c.subs = subs;
    c.n_subs = 1;
    assert_true(fw_mcu_tls_start(&r->mcu, &c));
}

static void rig_free(struct rig *r)
{
    fw_mcu_tls_stop(&r->mcu);
    server_free(&r->srv);
}

/* One round: modem, server, 5 ms, the glue. */
static enum fw_mcu_tls_state run_once(struct rig *r)
{
    modem_step(r);
    server_step(&r->srv);
    fake_port_advance(&r->fake, 5);
    return fw_mcu_tls_poll(&r->mcu);
}

/* Run until the server holds want plaintext bytes or the state is until. */
static enum fw_mcu_tls_state run(struct rig *r, size_t want, enum fw_mcu_tls_state until)
{
    enum fw_mcu_tls_state st = FW_MCU_TLS_IDLE;
    unsigned i;
    for (i = 0; i < 20000u; i++) {
        st = run_once(r);
        if (st == until || st == FW_MCU_TLS_FAILED || (want > 0 && r->srv.plain_len >= want))
            break;
    }
    return st;
}

static const uint8_t connect_pkt[] = {0x10, 0x11, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60,
                                      0, 5, 'b', 'u', 's', '-', '1'};
static const uint8_t subscribe_pkt[] = {0x82, 0x18, 0, 1, 0, 19, '/', 'b', 'u', 's', '/', 'b',
                                        'u', 's', '-', '1', '/', 'c', 'o', 'm', 'm', 'a', 'n',
                                        'd', 's', 1};

/* Handshake, CONNECT/CONNACK, SUBSCRIBE/SUBACK with the given granted code. */
static enum fw_mcu_tls_state connect_and_subscribe(struct rig *r, uint8_t granted)
{
    const uint8_t suback[] = {0x90, 0x03, 0, 1, granted};
    assert_int_equal(run(r, sizeof(connect_pkt), FW_MCU_TLS_FAILED), FW_MCU_TLS_HANDSHAKE);
    assert_int_equal(r->srv.plain_len, sizeof(connect_pkt));
    assert_memory_equal(r->srv.plain, connect_pkt, sizeof(connect_pkt));
    r->srv.plain_len = 0;
    server_send(&r->srv, "\x20\x02\x00\x00", 4);
    assert_int_equal(run(r, sizeof(subscribe_pkt), FW_MCU_TLS_FAILED), FW_MCU_TLS_SUBSCRIBING);
    assert_memory_equal(r->srv.plain, subscribe_pkt, sizeof(subscribe_pkt));
    r->srv.plain_len = 0;
    server_send(&r->srv, suback, sizeof(suback));
    return run(r, 0, FW_MCU_TLS_ONLINE);
}

static const size_t chunks[] = {1, 7, 64, 0};

static void test_connect_subscribe_publish_receive(void **state)
{
    static const uint8_t publish_pkt[] = {0x32, 0x11, 0, 11, '/', 'b', 'u', 's', '/', 'e', 'v',
                                          'e', 'n', 't', 's', 0, 2, 'h', 'i'};
    static const uint8_t incoming[] = {0x30, 0x17, 0, 19, '/', 'b', 'u', 's', '/', 'b', 'u', 's',
                                       '-', '1', '/', 'c', 'o', 'm', 'm', 'a', 'n', 'd', 's',
                                       '{', '}'};
    size_t c;
    (void)state;
    for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
        static struct rig r;
        uint16_t id = 0;
        unsigned i;
        rig_init(&r, chunks[c], "certs/out/server-chain.pem", "certs/out/server.key");
        assert_int_equal(connect_and_subscribe(&r, 1), FW_MCU_TLS_ONLINE);
        /* the cloud sends a command */
        server_send(&r.srv, incoming, sizeof(incoming));
        for (i = 0; i < 5000u && r.messages == 0; i++)
            run_once(&r);
        if (r.messages != 1)
            fail_msg("state %s failure %s, tls %s, rx %zu bytes", fw_mcu_tls_state_str(r.mcu.state),
                     fw_mcu_tls_failure_str(r.mcu.failure), r.tls.error, r.fake.rx_len);
        assert_string_equal(r.message, "/bus/bus-1/commands={}");
        /* the device publishes QoS 1: exact bytes at the server, then PUBACK */
        assert_int_equal(fw_mqtt_session_publish(fw_mcu_tls_session(&r.mcu), "/bus/events", 11,
                                                 (const uint8_t *)"hi", 2, 1, &id),
                         FW_MQTT_SESSION_OK);
        assert_int_equal(id, 2);
        assert_int_equal(run(&r, sizeof(publish_pkt), FW_MCU_TLS_FAILED), FW_MCU_TLS_ONLINE);
        assert_memory_equal(r.srv.plain, publish_pkt, sizeof(publish_pkt));
        server_send(&r.srv, "\x40\x02\x00\x02", 4);
        for (i = 0; i < 5000u && r.acked == 0; i++)
            run_once(&r);
        assert_int_equal(r.acked, 2);
        assert_int_equal(fw_mqtt_session_inflight(fw_mcu_tls_session(&r.mcu)), 0);
        /* nothing in the UART traffic is MQTT plaintext */
        assert_null(memmem(r.fake.tx, r.fake.tx_len, "/bus/events", 11));
        assert_null(memmem(r.fake.tx, r.fake.tx_len, "\0\4MQTT\4", 7));
        rig_free(&r);
    }
}

static void test_refused_subscription_fails(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64, "certs/out/server-chain.pem", "certs/out/server.key");
    assert_int_equal(connect_and_subscribe(&r, 0x80), FW_MCU_TLS_FAILED);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_SUBSCRIBE);
    assert_int_equal(r.closes, 1); /* the socket is closed before FAILED */
    rig_free(&r);
}

/* a server whose certificate does not chain to the device's CA */
static void test_untrusted_server_fails_in_tls(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64, "certs/out/bad/untrusted-ca/cert.pem", "certs/out/bad/untrusted-ca/key.pem");
    assert_int_equal(run(&r, 1, FW_MCU_TLS_FAILED), FW_MCU_TLS_FAILED);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_TLS);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.srv.plain_len, 0);
    assert_non_null(strstr(r.tls.error, "certificate"));
    rig_free(&r);
}

/* the device's own credentials are unusable: tls_open fails after the socket opened */
static void test_missing_credentials_fail_in_tls(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 64, "certs/out/server-chain.pem", "certs/out/server.key");
    r.tls.files[FW_LINUX_TLS_KEY] = "certs/out/no-such-key.pem";
    assert_int_equal(run(&r, 1, FW_MCU_TLS_FAILED), FW_MCU_TLS_FAILED);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_TLS);
    assert_non_null(strstr(r.tls.error, "credentials"));
    assert_int_equal(r.closes, 1);
    rig_free(&r);
}

static void test_peer_close_fails(void **state)
{
    static struct rig r;
    (void)state;
    rig_init(&r, 7, "certs/out/server-chain.pem", "certs/out/server.key");
    assert_int_equal(connect_and_subscribe(&r, 1), FW_MCU_TLS_ONLINE);
    r.closed = true;
    fake_port_push_str(&r.fake, "\r\n+IPCLOSE: 0,1\r\n");
    assert_int_equal(run(&r, 0, FW_MCU_TLS_FAILED), FW_MCU_TLS_FAILED);
    assert_int_equal(fw_mcu_tls_failure(&r.mcu), FW_MCU_TLS_FAIL_CLOSED);
    assert_int_equal(r.closes, 1); /* already gone: +CIPCLOSE: 0,4 counts as closed */
    rig_free(&r);
}

static void test_port_without_tls_is_refused(void **state)
{
    static struct rig r;
    struct fw_mcu_tls_config c;
    (void)state;
    rig_init(&r, 0, "certs/out/server-chain.pem", "certs/out/server.key");
    c = r.mcu.cfg;
    rig_free(&r);
    r.fake.port.tls_read_plain = NULL;
    assert_false(fw_mcu_tls_start(&r.mcu, &c));
    fake_port_use_linux_tls(&r.fake, &r.tls);
    c.link = 10;
    assert_false(fw_mcu_tls_start(&r.mcu, &c));
    assert_string_equal(fw_mcu_tls_state_str(FW_MCU_TLS_ONLINE), "online");
    assert_string_equal(fw_mcu_tls_failure_str(FW_MCU_TLS_FAIL_TLS), "tls");
}

/* Compile fw_mcu_tls.c with extra flags; the compiler's output goes to out. */
static int compile(const char *flags, char *out, size_t cap)
{
    char cmd[512];
    FILE *p;
    size_t n;
    snprintf(cmd, sizeof(cmd), "cc -std=c99 -fsyntax-only -Ifirmware_core/include %s "
             "firmware_core/src/fw_mcu_tls.c 2>&1", flags);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* a target selecting an MCU-TLS stack without a TLS port does not build */
static void test_stack_without_tls_port_does_not_build(void **state)
{
    char out[4096];
    (void)state;
    assert_int_not_equal(compile("-DFW_STACK_MCU_TLS=1", out, sizeof(out)), 0);
    assert_non_null(strstr(out, "#error"));
    assert_non_null(strstr(out, "FW_HAVE_TLS"));
    assert_int_equal(compile("-DFW_STACK_MCU_TLS=1 -DFW_HAVE_TLS=1", out, sizeof(out)), 0);
    assert_int_equal(compile("", out, sizeof(out)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_subscribe_publish_receive),
        cmocka_unit_test(test_refused_subscription_fails),
        cmocka_unit_test(test_untrusted_server_fails_in_tls),
        cmocka_unit_test(test_missing_credentials_fail_in_tls),
        cmocka_unit_test(test_peer_close_fails),
        cmocka_unit_test(test_port_without_tls_is_refused),
        cmocka_unit_test(test_stack_without_tls_port_does_not_build),
    };
    if (!tls_certs_ready("certs/out/ca.pem"))
        return 1;
    return cmocka_run_group_tests_name("fw_mcu_tls", tests, NULL, NULL);
}
