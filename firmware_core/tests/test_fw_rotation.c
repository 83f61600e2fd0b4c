/*
 * test_fw_rotation.c - endpoint and CA rotation (fw_rotation) with the
 * modem-TLS lifecycle (fw_device) against a fake SIM7600 that keeps a
 * certificate store, an SSL context and a "broker" accepting one (server,
 * CA) pair: a new pair re-provisions the store (AT+CCERTDELE of the old CA,
 * AT+CCERTDOWN of the new one, AT+CSSLCFG cacert) and connects to the new
 * endpoint; a pair that fails falls back to the previous one and is tried
 * again when that one stops working too; the pairs survive a reboot through
 * persistent storage; bad or oversized offers are refused, the pairs kept,
 * and the bus application answers them with an error event. Read sizes 1,
 * 7 and whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_bus_app.h"
#include "fw_device.h"
#include "fw_rotation.h"

#define PEM_A "-----BEGIN CERTIFICATE-----\n" \
              "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n" \
              "QUFBQQ==\n-----END CERTIFICATE-----\n"
#define PEM_B "-----BEGIN CERTIFICATE-----\r\n" \
              "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC\r\n" \
              "QkJCQg==\r\n-----END CERTIFICATE-----\r\n"

enum { DATA_NONE, DATA_CERT, DATA_SUB };

/* The fake modem: its store, SSL context and the broker it reaches. */
struct modem {
    char files[4][32];
    char data[4][3000];
    size_t len[4];
    char cacert[32];
    char broker_server[64];            /* the one server that answers */
    const char *broker_ca;             /* the CA its certificate verifies with */
    int data_kind;
    size_t data_left, data_got;
    char data_name[32];
    char data_buf[3000];
    char log[20000];                   /* every command, one per line */
    size_t log_len;
    unsigned connects, accepted, unknown;
    bool refuse_delete;                /* AT+CCERTDELE answers ERROR */
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_device dev;
    struct fw_rotation rot;
    struct fw_queue queue;
    struct modem m;
    uint8_t queue_buf[2048];
    char line_buf[256];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[64];
    uint8_t payload_buf[64];
};

static const char *const subs[] = {"/bus/bus-1/configuration"};

/* ---- the fake modem ------------------------------------------------------ */

static int modem_file(const struct modem *m, const char *name)
{
    int i;
    for (i = 0; i < 4; i++) {
        if (m->files[i][0] != '\0' && strcmp(m->files[i], name) == 0)
            return i;
    }
    return -1;
}

static void reply(struct rig *r, const char *text)
{
    fake_port_push_str(&r->fake, text);
}

/* The first quoted argument of line into out. */
static void quoted(const char *line, char *out, size_t cap)
{
    const char *a = strchr(line, '"'), *b = a != NULL ? strchr(a + 1, '"') : NULL;
    size_t n = b != NULL ? (size_t)(b - a - 1) : 0;
    assert_true(b != NULL && n < cap);
    memcpy(out, a + 1, n);
    out[n] = '\0';
}

static void modem_connect(struct rig *r, const char *line)
{
    char server[64];
    int f = modem_file(&r->m, r->m.cacert);
    bool ok;
    quoted(line, server, sizeof(server));
    ok = strcmp(server, r->m.broker_server) == 0 && f >= 0 &&
         r->m.len[f] == strlen(r->m.broker_ca) && memcmp(r->m.data[f], r->m.broker_ca, r->m.len[f]) == 0;
    r->m.connects++;
    r->m.accepted += ok;
    reply(r, ok ? "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n" : "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,32\r\n");
}

static void modem_list(struct rig *r)
{
    char line[64];
    int i;
    for (i = 0; i < 4; i++) {
        if (r->m.files[i][0] != '\0') {
            snprintf(line, sizeof(line), "\r\n+CCERTLIST: \"%s\"\r\n", r->m.files[i]);
            reply(r, line);
        }
    }
    reply(r, "\r\nOK\r\n");
}

static void modem_delete(struct rig *r, const char *line)
{
    char name[32];
    int f;
    quoted(line, name, sizeof(name));
    f = r->m.refuse_delete ? -1 : modem_file(&r->m, name);
    if (f >= 0)
        r->m.files[f][0] = '\0';
    reply(r, f >= 0 ? "\r\nOK\r\n" : "\r\nERROR\r\n");
}

static void modem_prompt(struct rig *r, int kind, size_t len)
{
    r->m.data_kind = kind;
    r->m.data_left = len;
    r->m.data_got = 0;
    reply(r, "\r\n>");
}

static void modem_data_done(struct rig *r)
{
    struct modem *m = &r->m;
    int f, i;
    if (m->data_kind == DATA_SUB) {
        reply(r, "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n");
    } else {
        f = modem_file(m, m->data_name);
        for (i = 0; f < 0 && i < 4; i++) {
            if (m->files[i][0] == '\0')
                f = i;
        }
        assert_true(f >= 0);
        snprintf(m->files[f], sizeof(m->files[f]), "%s", m->data_name);
        memcpy(m->data[f], m->data_buf, m->data_got);
        m->len[f] = m->data_got;
        reply(r, "\r\nOK\r\n");
    }
    m->data_kind = DATA_NONE;
}

static bool starts(const char *line, const char *prefix)
{
    return strncmp(line, prefix, strlen(prefix)) == 0;
}

static void modem_line(struct rig *r, const char *line)
{
    struct modem *m = &r->m;
    size_t n = strlen(line);
    assert_true(m->log_len + n + 2 < sizeof(m->log));
    memcpy(m->log + m->log_len, line, n);
    m->log_len += n;
    m->log[m->log_len++] = '\n';
    m->log[m->log_len] = '\0';
    if (strcmp(line, "AT") == 0 || strcmp(line, "ATE0") == 0 || starts(line, "AT+CMEE=") ||
        starts(line, "AT+CSSLCFG=\"sslversion\"") || starts(line, "AT+CSSLCFG=\"authmode\"") ||
        starts(line, "AT+CSSLCFG=\"enableSNI\"") || starts(line, "AT+CMQTTACCQ=") ||
        starts(line, "AT+CMQTTSSLCFG=") || starts(line, "AT+CMQTTREL="))
        reply(r, "\r\nOK\r\n");
    else if (strcmp(line, "AT+CPIN?") == 0)
        reply(r, "\r\n+CPIN: READY\r\n\r\nOK\r\n");
    else if (strcmp(line, "AT+CGREG?") == 0)
        reply(r, "\r\n+CGREG: 0,1\r\n\r\nOK\r\n");
    else if (strcmp(line, "AT+CCERTLIST") == 0)
        modem_list(r);
    else if (starts(line, "AT+CCERTDELE="))
        modem_delete(r, line);
    else if (starts(line, "AT+CCERTDOWN=")) {
        quoted(line, m->data_name, sizeof(m->data_name));
        modem_prompt(r, DATA_CERT, (size_t)atoi(strrchr(line, ',') + 1));
    } else if (starts(line, "AT+CSSLCFG=\"cacert\",0,")) {
        quoted(line + strlen("AT+CSSLCFG=\"cacert\""), m->cacert, sizeof(m->cacert));
        reply(r, "\r\nOK\r\n");
    } else if (strcmp(line, "AT+CMQTTSTART") == 0)
        reply(r, "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n");
    else if (starts(line, "AT+CMQTTCONNECT="))
        modem_connect(r, line);
    else if (starts(line, "AT+CMQTTSUB=0,"))
        modem_prompt(r, DATA_SUB, (size_t)atoi(line + strlen("AT+CMQTTSUB=0,")));
    else if (starts(line, "AT+CMQTTDISC="))
        reply(r, "\r\nOK\r\n\r\n+CMQTTDISC: 0,0\r\n");
    else if (strcmp(line, "AT+CMQTTSTOP") == 0)
        reply(r, "\r\nOK\r\n\r\n+CMQTTSTOP: 0\r\n");
    else {
        m->unknown++;
        reply(r, "\r\nERROR\r\n");
    }
}

/* Answer everything the device wrote so far. */
static void modem_serve(struct rig *r)
{
    struct fake_port *f = &r->fake;
    while (f->tx_checked < f->tx_len) {
        const uint8_t *p = f->tx + f->tx_checked;
        size_t avail = f->tx_len - f->tx_checked;
        if (r->m.data_kind != DATA_NONE) {
            size_t n = avail < r->m.data_left ? avail : r->m.data_left;
            if (r->m.data_kind == DATA_CERT)
                memcpy(r->m.data_buf + r->m.data_got, p, n);
            r->m.data_got += n;
            r->m.data_left -= n;
            f->tx_checked += n;
            if (r->m.data_left == 0)
                modem_data_done(r);
            continue;
        }
        char line[1024];
        if (!fake_port_take_line(f, line, sizeof(line)))
            return;
        modem_line(r, line);
    }
}

/* ---- the rig ------------------------------------------------------------- */

static void broker_serves(struct rig *r, const char *server, const char *ca)
{
    snprintf(r->m.broker_server, sizeof(r->m.broker_server), "%s", server);
    r->m.broker_ca = ca;
}

static void rotation_config(struct rig *r, struct fw_rotation_config *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->port = &r->fake.port;
    rc->endpoint = "broker.example";
    rc->ca_name = "ca.pem";
    rc->ca = (const uint8_t *)PEM_A;
    rc->ca_len = strlen(PEM_A);
    rc->setup.ssl_ctx = 0;
    rc->setup.cacert = "unused.pem";
    rc->setup.sni = true;
}

/* A fresh device; with keep_store the persistent storage of the last run
 * survives (a reboot). */
static void rig_init(struct rig *r, size_t chunk, bool keep_store)
{
    struct fw_device_config cfg;
    struct fw_rotation_config rc;
    static uint8_t store[4][8192];
    static size_t store_len[4];
    if (keep_store) {
        memcpy(store, r->fake.store, sizeof(store));
        memcpy(store_len, r->fake.store_len, sizeof(store_len));
    }
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    if (keep_store) {
        memcpy(r->fake.store, store, sizeof(store));
        memcpy(r->fake.store_len, store_len, sizeof(store_len));
    }
    broker_serves(r, "tcp://broker.example:8883", PEM_A);
    FAKE_SIM7600_INIT(r, NULL, NULL);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    rotation_config(r, &rc);
    assert_true(fw_rotation_init(&r->rot, &rc));
    memset(&cfg, 0, sizeof(cfg));
    cfg.modem = &r->modem;
    cfg.mqtt.client = 0;
    cfg.mqtt.client_id = "bus-1";
    cfg.mqtt.server = "tcp://replaced-by-prepare:1";
    cfg.mqtt.keepalive_s = 60;
    cfg.mqtt.clean_session = true;
    cfg.mqtt.ssl_ctx = 0;
    cfg.subscriptions = subs;
    cfg.n_subscriptions = 1;
    cfg.queue = &r->queue;
    cfg.publish_qos = 1;
    cfg.backoff_min_ms = 1000;
    cfg.backoff_max_ms = 4000;
    cfg.hooks = fw_rotation_device_hooks(&r->rot);
    assert_true(fw_device_start(&r->dev, &cfg));
}

/* Poll (10 ms steps, the modem answering) until the device has been online
 * for a moment with `accepted` connections in all, or fail. */
static void run_until_online(struct rig *r, unsigned accepted)
{
    unsigned i, online = 0;
    for (i = 0; i < 200000u && online < 20; i++) {
        modem_serve(r);
        fake_port_advance(&r->fake, 10);
        if (fw_device_poll(&r->dev) == FW_DEVICE_ONLINE && r->m.accepted == accepted)
            online++;
        else
            online = 0;
    }
    assert_int_equal(r->m.unknown, 0);
    assert_int_equal(r->m.accepted, accepted);
    assert_int_equal(r->dev.state, FW_DEVICE_ONLINE);
}

/* A configuration carrying endpoint and PEM (newlines escaped). */
static void config_json(char *buf, size_t cap, const char *endpoint, const char *pem)
{
    size_t n = (size_t)snprintf(buf, cap, "{\"speed_threshold_kmh\":60,\"endpoint\":\"%s\",\"ca_cert\":\"",
                                endpoint);
    for (; *pem != '\0' && n + 4 < cap; pem++) {
        if (*pem == '\n' || *pem == '\r') {
            buf[n++] = '\\';
            buf[n++] = *pem == '\n' ? 'n' : 'r';
        } else {
            buf[n++] = *pem;
        }
    }
    assert_true(n + 3 < cap);
    memcpy(buf + n, "\"}", 3);
}

static enum fw_rotation_status offer(struct rig *r, const char *endpoint, const char *pem)
{
    char json[4096];
    config_json(json, sizeof(json), endpoint, pem);
    return fw_rotation_offer_config(&r->rot, json, strlen(json));
}

/* Index of the first occurrence of needle in the command log after from. */
static size_t log_find(const struct rig *r, size_t from, const char *needle)
{
    const char *hit = strstr(r->m.log + from, needle);
    assert_non_null(hit);
    return (size_t)(hit - r->m.log);
}

/* ---- tests ---------------------------------------------------------------- */

/* A new pair: the session is dropped, the old CA deleted, the new one
 * downloaded and set, the new endpoint connected; it becomes the trusted
 * pair and is kept in persistent storage. */
static void test_new_pair_reprovisions_and_connects(void **state)
{
    static const size_t chunks[] = {1, 7, 0};
    size_t c;
    (void)state;
    for (c = 0; c < 3; c++) {
        struct rig r;
        size_t at, before;
        rig_init(&r, chunks[c], false);
        run_until_online(&r, 1);
        at = log_find(&r, 0, "AT+CCERTDOWN=\"ca.pem\",");
        log_find(&r, at, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"");
        log_find(&r, at, "AT+CMQTTCONNECT=0,\"tcp://broker.example:8883\",60,1");
        /* the broker has moved and has a certificate from a new CA */
        broker_serves(&r, "tcp://new.example:9883", PEM_B);
        before = r.m.log_len;
        assert_int_equal(offer(&r, "new.example:9883", PEM_B), FW_ROTATION_OK);
        assert_true(fw_rotation_has_pending(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "new.example:9883");
        assert_string_equal(fw_rotation_previous(&r.rot)->endpoint, "broker.example:8883");
        run_until_online(&r, 2);
        at = log_find(&r, before, "AT+CMQTTDISC=0,120");
        at = log_find(&r, at, "AT+CCERTLIST");
        at = log_find(&r, at, "AT+CCERTDELE=\"ca.pem\"");
        at = log_find(&r, at, "AT+CCERTDOWN=\"rot-");
        at = log_find(&r, at, "AT+CSSLCFG=\"cacert\",0,\"rot-");
        log_find(&r, at, "AT+CMQTTCONNECT=0,\"tcp://new.example:9883\",60,1");
        assert_int_equal(modem_file(&r.m, "ca.pem"), -1);
        assert_false(fw_rotation_has_pending(&r.rot));
        assert_null(fw_rotation_previous(&r.rot));
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "new.example:9883");
        assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
        assert_int_equal(r.fake.store_len[FW_ROTATION_PERSIST_KEY], sizeof(struct fw_rotation_record));
        /* the same configuration again (a retained one on every connect): nothing */
        before = r.m.log_len;
        assert_int_equal(offer(&r, "new.example:9883", PEM_B), FW_ROTATION_UNCHANGED);
        run_until_online(&r, 2);
        assert_int_equal(r.m.log_len, before);
        /* a reboot starts with the stored pair */
        rig_init(&r, chunks[c], true);
        broker_serves(&r, "tcp://new.example:9883", PEM_B);
        assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "new.example:9883");
        run_until_online(&r, 1);
        log_find(&r, 0, "AT+CMQTTCONNECT=0,\"tcp://new.example:9883\",60,1");
    }
}

/* The new CA does not work yet (the broker still has its old certificate):
 * after FW_ROTATION_MAX_FAILURES failed attempts the device falls back to
 * the previous pair; when the broker's certificate is replaced and the old
 * pair stops working too, the pending pair is tried again and wins. */
static void test_fallback_then_pending_retried(void **state)
{
    struct rig r;
    size_t before, at;
    (void)state;
    rig_init(&r, 7, false);
    run_until_online(&r, 1);
    before = r.m.log_len;
    assert_int_equal(offer(&r, "broker.example:8883", PEM_B), FW_ROTATION_OK);
    run_until_online(&r, 2);
    assert_int_equal(r.m.connects, 2 + FW_ROTATION_MAX_FAILURES);
    assert_int_equal(fw_rotation_stats(&r.rot)->switches, 1);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->ca_name, "ca.pem");
    /* the fall-back re-provisioned the old CA */
    at = log_find(&r, before, "AT+CCERTDOWN=\"rot-");
    at = log_find(&r, at, "AT+CCERTDELE=\"rot-");
    at = log_find(&r, at, "AT+CCERTDOWN=\"ca.pem\",");
    log_find(&r, at, "AT+CSSLCFG=\"cacert\",0,\"ca.pem\"");
    /* the retained configuration comes again on connect: no new attempt */
    assert_int_equal(offer(&r, "broker.example:8883", PEM_B), FW_ROTATION_UNCHANGED);
    /* a reboot keeps the pending pair and which one is active */
    rig_init(&r, 7, true);
    assert_true(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->ca_name, "ca.pem");
    run_until_online(&r, 1);
    /* the broker's certificate is replaced: the connection drops */
    broker_serves(&r, "tcp://broker.example:8883", PEM_B);
    before = r.m.log_len;
    fake_port_push_str(&r.fake, "\r\n+CMQTTCONNLOST: 0,1\r\n");
    run_until_online(&r, 2);
    assert_int_equal(fw_rotation_stats(&r.rot)->switches, 1);
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_null(fw_rotation_previous(&r.rot));
    at = log_find(&r, before, "AT+CCERTDELE=\"ca.pem\"");
    log_find(&r, at, "AT+CCERTDOWN=\"rot-");
    assert_int_equal(modem_file(&r.m, "ca.pem"), -1);
}

/* A modem that refuses to delete the old CA file: the new one is
 * downloaded and used all the same. */
static void test_refused_delete_not_fatal(void **state)
{
    struct rig r;
    size_t at;
    (void)state;
    rig_init(&r, 0, false);
    run_until_online(&r, 1);
    r.m.refuse_delete = true;
    broker_serves(&r, "tcp://broker.example:8883", PEM_B);
    assert_int_equal(offer(&r, "broker.example:8883", PEM_B), FW_ROTATION_OK);
    run_until_online(&r, 2);
    at = log_find(&r, 0, "AT+CCERTDELE=\"ca.pem\"");
    log_find(&r, at, "AT+CCERTDOWN=\"rot-");
    assert_true(modem_file(&r.m, "ca.pem") >= 0); /* still there */
    assert_int_equal(fw_rotation_stats(&r.rot)->promotions, 1);
}

/* Endpoint only: the CA stays (no store change), host without port gets
 * 8883; a pending pair withdrawn by offering the trusted one again. */
static void test_endpoint_only_and_withdrawal(void **state)
{
    struct rig r;
    uint16_t port = 0;
    char host[64];
    const char *json = "{\"speed_threshold_kmh\":50,\"endpoint\":\"other.example\"}";
    (void)state;
    rig_init(&r, 0, false);
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_OK);
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "other.example:8883");
    assert_string_equal(fw_rotation_active(&r.rot)->ca_name, "ca.pem");
    assert_true(fw_rotation_host_port(fw_rotation_active(&r.rot), host, sizeof(host), &port));
    assert_string_equal(host, "other.example");
    assert_int_equal(port, 8883);
    json = "{\"endpoint\":\"mqtts://other.example:8883\"}"; /* the same, as a URL */
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_UNCHANGED);
    json = "{\"endpoint\":\"tcp://other.example:8883\"}"; /* not a TLS scheme */
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_BAD_ENDPOINT);
    json = "{\"speed_threshold_kmh\":50}";
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_ABSENT);
    json = "{\"endpoint\":\"broker.example:8883\"}"; /* back to the trusted pair */
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_OK);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "broker.example:8883");
    run_until_online(&r, 1);
    assert_null(strstr(r.m.log, "AT+CCERTDELE"));
}

/* Bad and oversized offers are refused, nothing changes or is saved; the
 * bus application rejects such a configuration with an error event. */
static void test_bad_offers_refused(void **state)
{
    static char big_pem[FW_ROTATION_CA_MAX + 200];
    static const struct {
        const char *json;
        enum fw_rotation_status want;
    } cases[] = {
        {"{\"endpoint\":\"bad host:80\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\"host:0\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\"host:65536\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\":8883\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\"host:\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\"-host\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":5}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"endpoint\":\"a\\u0000b:1\"}", FW_ROTATION_BAD_ENDPOINT},
        {"{\"ca_cert\":\"not a certificate\"}", FW_ROTATION_BAD_CA},
        {"{\"ca_cert\":\"-----BEGIN CERTIFICATE-----\\nQUFB\\n\"}", FW_ROTATION_BAD_CA},
        {"{\"ca_cert\":\"-----BEGIN CERTIFICATE-----\\n-----END CERTIFICATE-----\\n\"}",
         FW_ROTATION_BAD_CA},
        {"{\"ca_cert\":\"-----BEGIN CERTIFICATE-----\\nQU*B\\n-----END CERTIFICATE-----\\n\"}",
         FW_ROTATION_BAD_CA},
        {"{\"ca_cert\":\"\"}", FW_ROTATION_BAD_CA},
        {"{\"ca_cert\":[1]}", FW_ROTATION_BAD_CA},
        {"{\"endpoint\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example:1\"}",
         FW_ROTATION_TOO_LARGE},
        {"[1]", FW_ROTATION_BAD_ARG},
    };
    struct rig r;
    unsigned saves, i;
    size_t n = 0;
    char json[FW_ROTATION_CA_MAX + 400], reason[96];
    struct fw_bus_app app;
    struct fw_bus_app_config bcfg;
    struct fw_queue_item item;
    (void)state;
    rig_init(&r, 0, false);
    saves = r.fake.saves;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(fw_rotation_offer_config(&r.rot, cases[i].json, strlen(cases[i].json)),
                         cases[i].want);
    }
    /* a PEM over FW_ROTATION_CA_MAX bytes, valid in form */
    n = (size_t)snprintf(big_pem, sizeof(big_pem), "-----BEGIN CERTIFICATE-----\n");
    while (n + 70 < FW_ROTATION_CA_MAX + 100)
        n += (size_t)snprintf(big_pem + n, sizeof(big_pem) - n, "%s\n",
                              "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
    snprintf(big_pem + n, sizeof(big_pem) - n, "-----END CERTIFICATE-----\n");
    config_json(json, sizeof(json), "new.example:1", big_pem);
    assert_int_equal(fw_rotation_offer_config(&r.rot, json, strlen(json)), FW_ROTATION_TOO_LARGE);
    assert_int_equal(fw_rotation_offer(&r.rot, NULL, 0, (const uint8_t *)big_pem, strlen(big_pem)),
                     FW_ROTATION_TOO_LARGE);
    assert_int_equal(fw_rotation_stats(&r.rot)->refused, sizeof(cases) / sizeof(cases[0]) + 1);
    assert_int_equal(r.fake.saves, saves);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "broker.example:8883");
    assert_string_equal(fw_rotation_active(&r.rot)->ca_name, "ca.pem");
    /* the hook gives the reason */
    assert_false(fw_rotation_config_hook(&r.rot, cases[0].json, strlen(cases[0].json), reason,
                                         sizeof(reason)));
    assert_string_equal(reason, "endpoint or ca_cert: invalid endpoint");
    /* through the bus application: an error event, the configuration not taken */
    memset(&bcfg, 0, sizeof(bcfg));
    bcfg.device = &r.dev;
    bcfg.bus_id = "bus-1";
    bcfg.events_topic = "/bus/events";
    bcfg.config_topic = "/bus/bus-1/configuration";
    bcfg.config_hook = fw_rotation_config_hook;
    bcfg.config_hook_ctx = &r.rot;
    assert_true(fw_bus_app_init(&app, &bcfg));
    config_json(json, sizeof(json), "new.example:1", "garbage");
    fw_bus_app_on_message(&app, bcfg.config_topic, strlen(bcfg.config_topic),
                          (const uint8_t *)json, strlen(json));
    assert_null(fw_bus_app_config(&app));
    assert_int_equal(fw_queue_peek(&r.queue, &item), FW_QUEUE_OK);
    assert_non_null(memmem(item.payload, item.payload_len, "configuration rejected", 22));
    assert_non_null(memmem(item.payload, item.payload_len, "invalid CA certificate", 22));
    /* a valid one is taken by both */
    config_json(json, sizeof(json), "new.example:1", PEM_B);
    fw_bus_app_on_message(&app, bcfg.config_topic, strlen(bcfg.config_topic),
                          (const uint8_t *)json, strlen(json));
    assert_non_null(fw_bus_app_config(&app));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "new.example:1");
}

/* A stored record that is damaged or from another build is ignored. */
static void test_damaged_record_ignored(void **state)
{
    struct rig r;
    (void)state;
    rig_init(&r, 0, false);
    assert_int_equal(offer(&r, "new.example:9883", PEM_B), FW_ROTATION_OK);
    r.fake.store[FW_ROTATION_PERSIST_KEY][100] ^= 1;
    rig_init(&r, 0, true);
    assert_false(fw_rotation_has_pending(&r.rot));
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "broker.example:8883");
    r.fake.store_len[FW_ROTATION_PERSIST_KEY] = 10;
    rig_init(&r, 0, true);
    assert_string_equal(fw_rotation_active(&r.rot)->endpoint, "broker.example:8883");
    assert_string_equal(fw_rotation_status_str(FW_ROTATION_TOO_LARGE), "too large");
    assert_string_equal(fw_rotation_status_str((enum fw_rotation_status)99), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_pair_reprovisions_and_connects),
        cmocka_unit_test(test_fallback_then_pending_retried),
        cmocka_unit_test(test_refused_delete_not_fatal),
        cmocka_unit_test(test_endpoint_only_and_withdrawal),
        cmocka_unit_test(test_bad_offers_refused),
        cmocka_unit_test(test_damaged_record_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
