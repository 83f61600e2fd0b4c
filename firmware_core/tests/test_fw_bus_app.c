/*
 * test_fw_bus_app.c - the bus application's loop against a scripted modem:
 * once online it switches the GNSS receiver on, polls AT+CGPSINFO on the
 * port clock and publishes a location event every report interval; a
 * "location" command is answered after the next poll; speed events only
 * above the configured threshold (on crossing, then per report interval);
 * invalid or oversized configurations and commands give error events and
 * the previous configuration stays; a failed poll switches the receiver on
 * again. Transcripts replayed at read sizes 1,
 * 2, 7, 64 and whole, writes capped at 8 bytes, on a clock crossing the wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_bus_app.h"

struct exchange {
    const char *tx;
    const char *rx;
};

struct rig {
    struct fake_port fake;
    struct fw_sim7600 modem;
    struct fw_device dev;
    struct fw_bus_app app;
    struct fw_queue queue;
    uint8_t queue_buf[6144];
    char line_buf[128];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[64];
    uint8_t payload_buf[256];
    /* publish exchanges built for events */
    char pub_cmd[8][40];
    char pub_topic[8][40];
    char expected[4][FW_BUS_APP_PICTURE_EVENT_MAX];
    /* the driver camera */
    int behaviour;                   /* a report waiting, -1 none */
    uint8_t frame[6000];
    uint32_t frame_len;
    unsigned reads;
};

static const char *const subs[] = {"/bus/bus-1/commands"};

#define FIX_LINE(knots)                                                                     \
    "\r\n+CGPSINFO: 3113.343286,N,12121.234064,E,131025,041754.0,11.8," knots ",\r\n\r\nOK\r\n"

static const struct exchange online_ex[] = {
    {"AT\r", "\r\nOK\r\n"},
    {"ATE0\r", "\r\nOK\r\n"},
    {"AT+CMEE=2\r", "\r\nOK\r\n"},
    {"AT+CPIN?\r", "\r\n+CPIN: READY\r\n\r\nOK\r\n"},
    {"AT+CGREG?\r", "\r\n+CGREG: 0,1\r\n\r\nOK\r\n"},
    {"AT+CMQTTSTART\r", "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n"},
    {"AT+CMQTTACCQ=0,\"bus-1\"\r", "\r\nOK\r\n"},
    {"AT+CMQTTCONNECT=0,\"tcp://broker:1883\",60,1\r", "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n"},
    {"AT+CMQTTSUB=0,19,1\r", "\r\n>"},
    {"/bus/bus-1/commands", "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"},
};

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    fw_bus_app_on_message(ctx, topic, topic_len, payload, payload_len);
}

static void rig_init(struct rig *r, size_t chunk)
{
    struct fw_device_config cfg;
    struct fw_bus_app_config acfg;
    memset(r, 0, sizeof(*r));
    fake_port_init(&r->fake, chunk, 8);
    FAKE_SIM7600_INIT(r, on_message, &r->app);
    assert_int_equal(fw_queue_init(&r->queue, &r->fake.port, 1, r->queue_buf, sizeof(r->queue_buf)),
                     FW_QUEUE_OK);
    memset(&cfg, 0, sizeof(cfg));
    cfg.modem = &r->modem;
    cfg.setup.ssl_ctx = -1;
    cfg.mqtt.client_id = "bus-1";
    cfg.mqtt.server = "tcp://broker:1883";
    cfg.mqtt.keepalive_s = 60;
    cfg.mqtt.clean_session = true;
    cfg.mqtt.ssl_ctx = -1;
    cfg.subscriptions = subs;
    cfg.n_subscriptions = 1;
    cfg.queue = &r->queue;
    cfg.publish_qos = 1;
    assert_true(fw_device_start(&r->dev, &cfg));
    memset(&acfg, 0, sizeof(acfg));
    acfg.device = &r->dev;
    acfg.bus_id = "bus-1";
    acfg.events_topic = "/bus/events";
    acfg.config_topic = "/bus/bus-1/configuration";
    acfg.gnss_poll_ms = 1000;
    acfg.default_report_s = 2;
    assert_true(fw_bus_app_init(&r->app, &acfg));
}

/* Append the exchanges that publish payload on topic. */
static size_t add_publish_to(struct rig *r, struct exchange *ex, size_t n, const char *topic,
                             const char *payload)
{
    static unsigned slot;
    char *cmd = r->pub_cmd[slot % 8], *top = r->pub_topic[slot % 8];
    slot++;
    snprintf(cmd, 40, "AT+CMQTTPAYLOAD=0,%zu\r", strlen(payload));
    snprintf(top, 40, "AT+CMQTTTOPIC=0,%zu\r", strlen(topic));
    ex[n++] = (struct exchange){top, "\r\n>"};
    ex[n++] = (struct exchange){topic, "\r\nOK\r\n"};
    ex[n++] = (struct exchange){cmd, "\r\n>"};
    ex[n++] = (struct exchange){payload, "\r\nOK\r\n"};
    ex[n++] = (struct exchange){"AT+CMQTTPUB=0,1,60\r", "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n"};
    return n;
}

/* Append the exchanges that publish payload on /bus/events. */
static size_t add_publish(struct rig *r, struct exchange *ex, size_t n, const char *payload)
{
    return add_publish_to(r, ex, n, "/bus/events", payload);
}

/* Answer the expected commands in order, 10 ms per poll, until all are used,
 * nothing waits in the queue and the application has no command running. */
static void drive(struct rig *r, const struct exchange *ex, size_t n)
{
    size_t next = 0;
    unsigned i;
    for (i = 0; i < 300000u; i++) {
        struct fake_port *f = &r->fake;
        if (next < n && f->tx_len - f->tx_checked >= strlen(ex[next].tx)) {
            if (!fake_port_expect_tx(f, ex[next].tx, strlen(ex[next].tx)))
                fail_msg("step %zu: expected %s, got %.*s", next, ex[next].tx,
                         (int)(f->tx_len - f->tx_checked), (const char *)f->tx + f->tx_checked);
            fake_port_push_str(f, ex[next].rx);
            fake_port_deliver(f, fw_sim7600_at(&r->modem));
            next++;
        }
        fake_port_advance(f, 10);
        if (fw_bus_app_poll(&r->app) == FW_DEVICE_ONLINE && next == n &&
            fw_queue_count(&r->queue) == 0 && fw_device_idle(&r->dev) && !r->app.at_busy)
            break;
    }
    assert_int_equal(next, n);
    assert_int_equal(r->fake.tx_len, r->fake.tx_checked);
}

static size_t add_online(struct exchange *ex)
{
    memcpy(ex, online_ex, sizeof(online_ex));
    return sizeof(online_ex) / sizeof(online_ex[0]);
}

#define LOCATION(seq, req) \
    "{\"type\":\"location\",\"bus\":\"bus-1\",\"route\":\"\",\"ts\":1700000000,\"seq\":" #seq "," \
    "\"position\":{\"lat\":31.222388,\"lon\":121.353901},\"speed_kmh\":0.0" req "}"

/* GNSS on, then a location event at once and every report interval (2 s
 * here) while AT+CGPSINFO runs every second */
static void test_location_every_interval(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct exchange ex[40];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(1, ""));
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(2, ""));
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->polls, 3);
        assert_int_equal(fw_bus_app_stats(&r.app)->locations, 2);
        assert_int_equal(fw_bus_app_stats(&r.app)->speeds, 0);
    }
}

#define CONFIG "{\"route\":\"42\",\"speed_threshold_kmh\":50,\"report_interval_s\":60," \
               "\"depot\":{\"name\":\"central\",\"lat\":37.1,\"lon\":-122.0}}"
#define SPEED(seq) "{\"type\":\"speed\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000000,\"seq\":" #seq "," \
              "\"position\":{\"lat\":31.222388,\"lon\":121.353901},\"speed_kmh\":74.1}"
#define QUERIED(seq) "{\"type\":\"location\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000000,\"seq\":" #seq "," \
                "\"position\":{\"lat\":31.222388,\"lon\":121.353901},\"speed_kmh\":74.1,\"request\":\"q1\"}"

/* configuration and a location query arrive as MQTT messages; speed 40 kn
 * (74.1 km/h) is above 50 km/h: a speed event, the query's answer; staying
 * above gives nothing new, dropping below and rising again a new speed event */
static void test_query_and_speed_threshold(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct exchange ex[48];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        n = add_online(ex);
        /* both messages arrive right after the subscription */
        ex[n - 1].rx = "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n"
                       "\r\n+CMQTTRXSTART: 0,24,113\r\n+CMQTTRXTOPIC: 0,24\r\n"
                       "/bus/bus-1/configuration\r\n+CMQTTRXPAYLOAD: 0,113\r\n" CONFIG
                       "\r\n+CMQTTRXEND: 0\r\n"
                       "\r\n+CMQTTRXSTART: 0,19,28\r\n+CMQTTRXTOPIC: 0,19\r\n"
                       "/bus/bus-1/commands\r\n+CMQTTRXPAYLOAD: 0,28\r\n"
                       "{\"cmd\":\"location\",\"id\":\"q1\"}\r\n+CMQTTRXEND: 0\r\n";
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nERROR\r\n"}; /* already on */
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("40.0")};
        n = add_publish(&r, ex, n, SPEED(1));
        n = add_publish(&r, ex, n, QUERIED(2));
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("40.0")};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("10.0")};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("40.0")};
        n = add_publish(&r, ex, n, SPEED(3));
        drive(&r, ex, n);
        assert_non_null(fw_bus_app_config(&r.app));
        assert_string_equal(fw_bus_app_config(&r.app)->route, "42");
        assert_int_equal(fw_bus_app_stats(&r.app)->speeds, 2);
        assert_int_equal(fw_bus_app_stats(&r.app)->locations, 1);
    }
}

/* Take the oldest queued event; it must contain needle. */
static void expect_event(struct rig *r, const char *needle)
{
    struct fw_queue_item item;
    char text[600];
    assert_int_equal(fw_queue_peek(&r->queue, &item), FW_QUEUE_OK);
    assert_true(item.payload_len < sizeof(text));
    memcpy(text, item.payload, item.payload_len);
    text[item.payload_len] = '\0';
    if (strstr(text, needle) == NULL || strstr(text, "\"ts\":1700000000") == NULL)
        fail_msg("event %s lacks %s or its timestamp", text, needle);
    fw_queue_pop(&r->queue);
}

static void message(struct rig *r, const char *topic, const char *json, size_t len)
{
    fw_bus_app_on_message(&r->app, topic, strlen(topic), (const uint8_t *)json, len);
}

/* bad documents: an error event each, the previous configuration kept */
static void test_bad_documents(void **state)
{
    static char big[FW_BUS_APP_JSON_MAX + 2];
    struct rig r;
    const char *cfg_topic = "/bus/bus-1/configuration", *cmd_topic = "/bus/bus-1/commands";
    rig_init(&r, 0);
    message(&r, cfg_topic, CONFIG, strlen(CONFIG));
    assert_string_equal(fw_bus_app_config(&r.app)->route, "42");
    message(&r, cfg_topic, "{\"route\":\"7\",", 13);
    expect_event(&r, "configuration rejected");
    message(&r, cfg_topic, "{\"route\":\"7\",\"speed_threshold_kmh\":-5}", 38);
    expect_event(&r, "configuration rejected");
    memset(big, ' ', sizeof(big));
    memcpy(big, CONFIG, strlen(CONFIG));
    message(&r, cfg_topic, big, sizeof(big));
    expect_event(&r, "too large");
    assert_string_equal(fw_bus_app_config(&r.app)->route, "42");
    assert_int_equal(fw_bus_app_stats(&r.app)->configs, 1);
    message(&r, cmd_topic, "{\"cmd\":\"dance\"}", 15);
    expect_event(&r, "command rejected");
    message(&r, cfg_topic, "", 0); /* gcp: the empty version 1 of a device never configured */
    assert_int_equal(fw_queue_count(&r.queue), 0);
    message(&r, cmd_topic, big, sizeof(big));
    expect_event(&r, "too large");
    message(&r, cmd_topic, "{\"cmd\":\"picture\",\"id\":\"p\"}", 26);
    expect_event(&r, "\"picture unavailable\""); /* this port has no camera */
    assert_int_equal(fw_queue_count(&r.queue), 0);
    assert_int_equal(fw_bus_app_stats(&r.app)->errors, 6);
    /* a reboot goes on counting from the saved sequence number */
    {
        struct fw_bus_app_config again = r.app.cfg;
        assert_true(fw_bus_app_init(&r.app, &again));
    }
    message(&r, cmd_topic, "{\"cmd\":\"dance\"}", 15);
    expect_event(&r, "\"seq\":7,");
}

/* The head of the queue is payload on topic; it is removed. */
static void expect_queued(struct rig *r, const char *topic, const char *payload)
{
    struct fw_queue_item item;
    assert_int_equal(fw_queue_peek(&r->queue, &item), FW_QUEUE_OK);
    assert_int_equal(item.topic_len, strlen(topic));
    assert_memory_equal(item.topic, topic, item.topic_len);
    assert_int_equal(item.payload_len, strlen(payload));
    assert_memory_equal(item.payload, payload, item.payload_len);
    fw_queue_pop(&r->queue);
}

/* the "publish" test hook: refused unless enabled; enabled, it queues the
 * payload (an object as written, a string as its text) on the given topic,
 * and a connection loss while it heads the queue drops it, not other events */
static void test_publish_hook(void **state)
{
    struct rig r;
    const char *cmd_topic = "/bus/bus-1/commands";
    const char *foreign = "{\"cmd\":\"publish\",\"topic\":\"/bus/bus-2/commands\","
                          "\"payload\":{\"cmd\": \"location\"}}";
    const char *text = "{\"cmd\":\"publish\",\"topic\":\"/x\",\"payload\":\"hi \\\"there\\\"\"}";
    const char *no_topic = "{\"cmd\":\"publish\",\"payload\":1}";
    const char *no_payload = "{\"cmd\":\"publish\",\"topic\":\"/x\"}";
    (void)state;
    rig_init(&r, 0);
    message(&r, cmd_topic, foreign, strlen(foreign));
    expect_event(&r, "the publish test hook is not enabled");
    assert_int_equal(fw_queue_count(&r.queue), 0);

    r.app.cfg.test_publish = true;
    message(&r, cmd_topic, foreign, strlen(foreign));
    expect_queued(&r, "/bus/bus-2/commands", "{\"cmd\": \"location\"}");
    message(&r, cmd_topic, text, strlen(text));
    expect_queued(&r, "/x", "hi \"there\"");
    message(&r, cmd_topic, no_topic, strlen(no_topic));
    expect_event(&r, "missing or invalid: topic");
    message(&r, cmd_topic, no_payload, strlen(no_payload));
    expect_event(&r, "payload");

    /* refused by the broker: the loss drops it and nothing else */
    message(&r, cmd_topic, foreign, strlen(foreign));
    message(&r, cmd_topic, "{\"cmd\":\"dance\"}", 15);
    assert_int_equal(fw_queue_count(&r.queue), 2);
    r.dev.stats.losses++;
    fw_bus_app_poll(&r.app);
    assert_int_equal(fw_queue_count(&r.queue), 1);
    expect_event(&r, "command rejected");
    /* a loss with another event at the head drops nothing */
    message(&r, cmd_topic, "{\"cmd\":\"dance\"}", 15);
    message(&r, cmd_topic, foreign, strlen(foreign));
    r.dev.stats.losses++;
    fw_bus_app_poll(&r.app);
    assert_int_equal(fw_queue_count(&r.queue), 2);
}

/* a query while the receiver has no fix is answered with an error event */
static void test_query_without_fix(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct exchange ex[20];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        message(&r, "/bus/bus-1/commands", "{\"cmd\":\"location\",\"id\":\"q2\"}", 28);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", "\r\n+CGPSINFO: ,,,,,,,,\r\n\r\nOK\r\n"};
        n = add_publish(&r, ex, n,
                        "{\"type\":\"error\",\"bus\":\"bus-1\",\"route\":\"\",\"ts\":1700000000,"
                        "\"seq\":1,\"error\":\"location unavailable\",\"detail\":\"no GNSS fix\"}");
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->polls, 1);
        assert_int_equal(fw_bus_app_stats(&r.app)->fixes, 0);
        assert_int_equal(fw_bus_app_stats(&r.app)->locations, 0);
    }
}

/* a failed AT+CGPSINFO (the modem may have restarted) switches the receiver
 * on again before the next poll */
static void test_receiver_switched_on_again(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct exchange ex[24];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", "\r\n+CME ERROR: GPS is not running\r\n"};
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(1, ""));
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->polls, 1);
        assert_int_equal(fw_bus_app_stats(&r.app)->locations, 1);
    }
}

/* the modem stops answering while the session looks alive: after
 * FW_DEVICE_SILENT_LIMIT unanswered commands of the application the device
 * starts over from the setup (whose sync would pulse the reset line) and
 * comes back online when the modem answers again */
static void test_silent_modem_starts_over(void **state)
{
    size_t c, i;
    for (c = 0; c < 5; c++) {
        struct rig r;
        struct exchange ex[48];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", ""};
        ex[n++] = (struct exchange){"AT+CGPS=1\r", ""};
        ex[n++] = (struct exchange){"AT+CGPS=1\r", ""};
        for (i = 0; i < sizeof(online_ex) / sizeof(online_ex[0]); i++)
            ex[n++] = online_ex[i];
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(1, ""));
        drive(&r, ex, n);
        assert_int_equal(fw_device_stats(&r.dev)->losses, 1);
        assert_int_equal(fw_device_stats(&r.dev)->connects, 2);
        assert_int_equal(fw_bus_app_stats(&r.app)->locations, 1);
    }
}

/* ---- driver pictures and depot arrival ------------------------------------ */

static int32_t rig_driver_event(void *ctx, enum fw_driver_behaviour *b)
{
    struct rig *r = ctx; /* the fake port is the rig's first member */
    if (r->behaviour < 0)
        return 0;
    *b = (enum fw_driver_behaviour)r->behaviour;
    r->behaviour = -1;
    return 1;
}

static int32_t rig_camera_capture(void *ctx, uint32_t *size)
{
    struct rig *r = ctx;
    if (r->frame_len == 0)
        return -1;
    *size = r->frame_len;
    return 0;
}

/* Short reads, and every third call nothing ready yet. */
static int32_t rig_camera_read(void *ctx, uint32_t offset, uint8_t *buf, size_t cap)
{
    struct rig *r = ctx;
    size_t n = cap < 700 ? cap : 700;
    if (r->reads++ % 3 == 2)
        return 0;
    if (offset >= r->frame_len)
        return -1;
    if (n > r->frame_len - offset)
        n = r->frame_len - offset;
    memcpy(buf, r->frame + offset, n);
    return (int32_t)n;
}

static void rig_camera(struct rig *r, uint32_t frame_len, int behaviour)
{
    uint32_t i;
    r->fake.port.driver_event = rig_driver_event;
    r->fake.port.camera_capture = rig_camera_capture;
    r->fake.port.camera_read = rig_camera_read;
    r->behaviour = behaviour;
    r->frame_len = frame_len;
    for (i = 0; i < frame_len; i++)
        r->frame[i] = (uint8_t)(i * 13u + (i >> 7));
}

/* The chunk event the cloud must receive, written independently of fw_bus. */
static const char *expected_chunk(struct rig *r, unsigned slot, unsigned seq, const char *trigger,
                                  const char *request, uint32_t index, uint32_t count)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = r->expected[slot];
    uint32_t off = index * FW_BUS_APP_PICTURE_CHUNK, len = r->frame_len - off, i;
    uint32_t acc = 0;
    int bits = 0, n;
    if (len > FW_BUS_APP_PICTURE_CHUNK)
        len = FW_BUS_APP_PICTURE_CHUNK;
    n = snprintf(out, FW_BUS_APP_PICTURE_EVENT_MAX,
                 "{\"type\":\"picture\",\"bus\":\"bus-1\",\"route\":\"\",\"ts\":1700000000,"
                 "\"seq\":%u,\"picture\":1,\"trigger\":\"%s\"%s%s%s,\"chunk\":{\"index\":%u,\"count\":%u,"
                 "\"bytes\":%u},\"data\":\"",
                 seq, trigger, request ? ",\"request\":\"" : "", request ? request : "",
                 request ? "\"" : "", (unsigned)index, (unsigned)count, (unsigned)len);
    for (i = 0; i < len; i++) {
        acc = (acc << 8) | r->frame[off + i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = abc[(acc >> bits) & 63u];
        }
    }
    if (bits > 0)
        out[n++] = abc[(acc << (6 - bits)) & 63u];
    memcpy(out + n, "\"}", 3);
    assert_true(strlen(out) <= FW_BUS_APP_PICTURE_EVENT_MAX);
    return out;
}

/* a drowsy driver: the frame (two chunks; short camera reads) is queued
 * chunk by chunk, the first before the device is even online, the next only
 * once the queue is empty again, so the location event in between goes
 * first */
static void test_driver_picture_in_chunks(void **state)
{
    size_t c;
    uint32_t frame = FW_BUS_APP_PICTURE_CHUNK + 153u;
    for (c = 0; c < 5; c++) {
        static struct rig r;
        struct exchange ex[40];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        rig_camera(&r, frame, FW_DRIVER_DROWSY);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        n = add_publish(&r, ex, n, expected_chunk(&r, 0, 1, "drowsy", NULL, 0, 2));
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(2, "")); /* queued before the next chunk */
        n = add_publish(&r, ex, n, expected_chunk(&r, 1, 3, "drowsy", NULL, 1, 2));
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->driver_events, 1);
        assert_int_equal(fw_bus_app_stats(&r.app)->pictures, 1);
        assert_int_equal(fw_bus_app_stats(&r.app)->chunks, 2);
        assert_int_equal(fw_bus_app_stats(&r.app)->queue_failures, 0);
    }
}

/* the picture command: a one-chunk frame answered with the request id */
static void test_picture_query(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        static struct rig r;
        struct exchange ex[40];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        rig_camera(&r, 1000, -1);
        message(&r, "/bus/bus-1/commands", "{\"cmd\":\"picture\",\"id\":\"p7\"}", 27);
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        n = add_publish(&r, ex, n, expected_chunk(&r, 0, 1, "query", "p7", 0, 1));
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n, LOCATION(2, ""));
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->driver_events, 0);
        assert_int_equal(fw_bus_app_stats(&r.app)->chunks, 1);
    }
}

/* a camera that fails mid-picture: an error event, nothing else */
static void test_picture_camera_failure(void **state)
{
    static struct rig r;
    rig_init(&r, 0);
    rig_camera(&r, 2000, FW_DRIVER_PHONE);
    r.frame_len = 0; /* capture fails: no frame */
    fw_bus_app_poll(&r.app);
    expect_event(&r, "\"picture unavailable\"");
    r.frame_len = 500;
    r.behaviour = FW_DRIVER_DRINKING;
    r.fake.port.camera_capture = NULL; /* no camera at all */
    fw_bus_app_poll(&r.app);
    expect_event(&r, "\"picture unavailable\"");
    assert_int_equal(fw_bus_app_stats(&r.app)->driver_events, 2);
    assert_int_equal(fw_bus_app_stats(&r.app)->chunks, 0);
}

#define FAR_LINE \
    "\r\n+CGPSINFO: 3100.000000,N,12121.234064,E,131025,041754.0,11.8,0.0,\r\n\r\nOK\r\n"
#define DEPOT_CONFIG "{\"route\":\"42\",\"speed_threshold_kmh\":50,\"report_interval_s\":60," \
                     "\"depot\":{\"name\":\"central\",\"lat\":31.2224,\"lon\":121.3539}}"
#define ARRIVAL "{\"type\":\"depot_arrival\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000000," \
                "\"depot\":\"central\",\"position\":{\"lat\":31.222388,\"lon\":121.353901}," \
                "\"speed_kmh\":0.0}"
#define FAR_LOCATION(seq) "{\"type\":\"location\",\"bus\":\"bus-1\",\"route\":\"42\",\"ts\":1700000000,\"seq\":" #seq "," \
                     "\"position\":{\"lat\":31.000000,\"lon\":121.353901},\"speed_kmh\":0.0}"

#define ARRIVAL_SEQ(seq) "{\"type\":\"depot_arrival\",\"bus\":\"bus-1\",\"route\":\"42\"," \
                "\"ts\":1700000000,\"seq\":" #seq ",\"depot\":\"central\",\"position\":{\"lat\":31.222388," \
                "\"lon\":121.353901},\"speed_kmh\":0.0}"

/* far from the depot, then inside its radius: one arrival event on the
 * depot's topic; staying inside gives no second one */
/* The state report of DEPOT_CONFIG (fw_bus_state.h), its members in the
 * configuration's names; AWS wraps them in a shadow update. */
#define DEPOT_STATE "\"speed_threshold_kmh\":50,\"report_interval_s\":60,\"route\":\"42\"," \
                    "\"depot\":{\"name\":\"central\",\"lat\":31.222400,\"lon\":121.353900," \
                    "\"radius_m\":100},\"ts\":1700000000"

/* The configuration arrives before the device is online: its state report
 * is the first thing published (on state_topic), then the location and the
 * arrival. */
static void arrival_run(const struct fw_cloud_profile *profile, const char *events_topic,
                        const char *arrival_topic, const char *arrival, const char *state_topic,
                        const char *state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        static struct rig r;
        struct exchange ex[40];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        r.app.cfg.profile = profile;
        r.app.cfg.events_topic = events_topic;
        message(&r, "/bus/bus-1/configuration", DEPOT_CONFIG, strlen(DEPOT_CONFIG));
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        n = add_publish_to(&r, ex, n, state_topic, state);
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FAR_LINE};
        n = add_publish_to(&r, ex, n, events_topic, FAR_LOCATION(1));
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish_to(&r, ex, n, arrival_topic, arrival);
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        drive(&r, ex, n);
        assert_int_equal(fw_bus_app_stats(&r.app)->arrivals, 1);
    }
}

/* AWS: /depot/<depot>/bus-arrived, outside the events' sequence */
static void test_depot_arrival(void **state)
{
    static const struct fw_cloud_profile aws = {.kind = FW_CLOUD_AWS, .device_id = "bus-1"};
    arrival_run(&aws, "/bus/events", "/depot/central/bus-arrived", ARRIVAL,
                "$aws/things/bus-1/shadow/update", "{\"state\":{\"reported\":{" DEPOT_STATE "}}}");
}

/* GCP: the events/depot-arrived subfolder, numbered with the other events */
static void test_depot_arrival_gcp(void **state)
{
    static const struct fw_cloud_profile gcp = {.kind = FW_CLOUD_GCP, .device_id = "bus-1",
                                                .project = "p", .region = "r", .registry = "g"};
    arrival_run(&gcp, "/devices/bus-1/events", "/devices/bus-1/events/depot-arrived",
                ARRIVAL_SEQ(2), "/devices/bus-1/state", "{" DEPOT_STATE "}");
}

/* with a registration, the identification event (with the route given
 * before any configuration) is the first event sent */
static void test_identification_first(void **state)
{
    size_t c;
    for (c = 0; c < 5; c++) {
        static struct rig r;
        struct fw_bus_app_config acfg;
        struct exchange ex[40];
        size_t n;
        rig_init(&r, fake_chunk_sizes[c]);
        acfg = r.app.cfg;
        acfg.registration = "AA 1234 BC";
        acfg.route = "42";
        assert_true(fw_bus_app_init(&r.app, &acfg));
        n = add_online(ex);
        ex[n++] = (struct exchange){"AT+CGPS=1\r", "\r\nOK\r\n"};
        n = add_publish(&r, ex, n,
                        "{\"type\":\"identification\",\"bus\":\"bus-1\",\"route\":\"42\","
                        "\"ts\":1700000000,\"seq\":1,\"registration\":\"AA 1234 BC\"}");
        ex[n++] = (struct exchange){"AT+CGPSINFO\r", FIX_LINE("0.0")};
        n = add_publish(&r, ex, n,
                        "{\"type\":\"location\",\"bus\":\"bus-1\",\"route\":\"42\","
                        "\"ts\":1700000000,\"seq\":2,\"position\":{\"lat\":31.222388,"
                        "\"lon\":121.353901},\"speed_kmh\":0.0}");
        drive(&r, ex, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_location_every_interval),
        cmocka_unit_test(test_query_and_speed_threshold),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_publish_hook),
        cmocka_unit_test(test_query_without_fix),
        cmocka_unit_test(test_receiver_switched_on_again),
        cmocka_unit_test(test_silent_modem_starts_over),
        cmocka_unit_test(test_driver_picture_in_chunks),
        cmocka_unit_test(test_picture_query),
        cmocka_unit_test(test_picture_camera_failure),
        cmocka_unit_test(test_depot_arrival),
        cmocka_unit_test(test_depot_arrival_gcp),
        cmocka_unit_test(test_identification_first),
    };
    return cmocka_run_group_tests_name("fw_bus_app", tests, NULL, NULL);
}
