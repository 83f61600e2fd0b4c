/*
 * size_stack.c - a bare Cortex-M4 image holding exactly what one stack
 * configuration of the bus unit needs, so its flash and static RAM can be
 * measured from the cross build (`make bench`, fw_stack_size).
 *
 * Compiled once per stack with SIZE_STACK set (see size_stack.sh):
 *   SIZE_AWS_MODEM   aws-modem-tls: SIM7600 driver, modem MQTT, aws profile,
 *                    bus application
 *   SIZE_GCP_MODEM   gcp-modem-tls: the same with the gcp profile and JWT
 *                    framing (the ES256 signer is the port's, not linked)
 *   SIZE_FULL_MODEM  both modem-TLS profiles in one image, chosen at run
 *                    time: the configuration the 48 KB / 16 KB targets name
 *   SIZE_FULL_ROT    the same with certificate and endpoint rotation
 *                    (fw_rotation), which the targets do not name
 *   SIZE_AWS_MCU     aws-mcu-tls: the same device lifecycle and bus
 *   SIZE_GCP_MCU     gcp-mcu-tls  application over the MCU-TLS transport (raw
 *                    TCP sockets, MQTT codec and session) without the TLS
 *                    engine, which is the port's
 * Linked with --gc-sections, so only what the stack reaches is counted.
 * The port functions are minimal register-level stand-ins of the sizes a
 * real port has (they are reported apart from the core). Certificates are
 * not in the image: a unit keeps them in a provisioned flash region, here
 * the linker symbol cert_region. All application state is static, as on
 * the board, so .bss is the stack's RAM.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_bus_app.h"
#include "fw_cloud.h"
#include "fw_device.h"
#include "fw_jwt.h"
#include "fw_mcu_tls.h"
#include "fw_port.h"
#include "fw_queue.h"
#include "fw_rotation.h"
#include "fw_sim7600.h"

#define SIZE_AWS_MODEM 1
#define SIZE_GCP_MODEM 2
#define SIZE_FULL_MODEM 3
#define SIZE_AWS_MCU 4
#define SIZE_GCP_MCU 5
#define SIZE_FULL_ROT 6

#ifndef SIZE_STACK
#error "define SIZE_STACK (SIZE_AWS_MODEM, SIZE_GCP_MODEM, SIZE_FULL_MODEM, SIZE_FULL_ROT, SIZE_AWS_MCU or SIZE_GCP_MCU)"
#endif
#define SIZE_MCU (SIZE_STACK == SIZE_AWS_MCU || SIZE_STACK == SIZE_GCP_MCU)

#define TOPIC_MAX 160u
#define QUEUE_BYTES 4096u
#define PAYLOAD_MAX 2048u
#define UART_RING 1024u

/* The provisioned certificate region (outside the image). */
extern const uint8_t cert_region[];

/* ---- port: register-level stand-ins ---- */

#define REG32(addr) (*(volatile uint32_t *)(addr))
#define UART_DATA 0x40002000u
#define UART_STATUS 0x40002004u
#define TICK_COUNT 0x4000B000u

static uint8_t uart_ring[UART_RING];
static volatile uint32_t uart_head, uart_tail;

static int32_t port_uart_write(void *ctx, const uint8_t *buf, size_t len)
{
    size_t i;
    (void)ctx;
    for (i = 0; i < len && (REG32(UART_STATUS) & 1u); i++)
        REG32(UART_DATA) = buf[i];
    return (int32_t)i;
}

static int32_t port_uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    (void)ctx;
    while (n < cap && uart_tail != uart_head) {
        buf[n++] = uart_ring[uart_tail % UART_RING];
        uart_tail++;
    }
    return (int32_t)n;
}

static uint32_t port_now_ms(void *ctx)
{
    (void)ctx;
    return REG32(TICK_COUNT);
}

static uint64_t port_unix_time_s(void *ctx)
{
    (void)ctx;
    return 1700000000u + REG32(TICK_COUNT) / 1000u;
}

static struct fw_port port = {
    .uart_write = port_uart_write,
    .uart_read = port_uart_read,
    .now_ms = port_now_ms,
    .unix_time_s = port_unix_time_s,
};

/* ---- application state ---- */

static struct fw_sim7600 modem;
static char line_buf[512];
static char topic_buf[TOPIC_MAX];
static uint8_t payload_buf[PAYLOAD_MAX];
static struct fw_queue queue;
static uint8_t queue_buf[QUEUE_BYTES];
static struct fw_cloud_profile profile;
static char client_id[FW_CLOUD_CLIENT_ID_MAX + 1];
static char topics[3][TOPIC_MAX];

static bool modem_init(char *tx_buf, size_t tx_cap, fw_sim7600_message_fn on_message)
{
    struct fw_sim7600_config mcfg;
    memset(&mcfg, 0, sizeof(mcfg));
    mcfg.port = &port;
    mcfg.line_buf = line_buf;
    mcfg.line_cap = sizeof(line_buf);
    mcfg.tx_buf = tx_buf;
    mcfg.tx_cap = tx_cap;
    mcfg.topic_buf = topic_buf;
    mcfg.topic_cap = sizeof(topic_buf);
    mcfg.payload_buf = payload_buf;
    mcfg.payload_cap = sizeof(payload_buf);
    mcfg.on_message = on_message;
    return fw_sim7600_init(&modem, &mcfg) == FW_AT_IDLE &&
           fw_queue_init(&queue, &port, 1u, queue_buf, sizeof(queue_buf)) == FW_QUEUE_OK;
}

static bool names(enum fw_cloud_kind kind)
{
    size_t len;
    profile.kind = kind;
    profile.device_id = "bus-1";
    profile.project = "project";
    profile.region = "region";
    profile.registry = "registry";
    return fw_cloud_client_id(&profile, client_id, sizeof(client_id), &len) == FW_CLOUD_OK &&
           fw_cloud_topic(&profile, FW_TOPIC_CONFIG, NULL, topics[0], TOPIC_MAX, &len) == FW_CLOUD_OK &&
           fw_cloud_topic(&profile, FW_TOPIC_COMMANDS, NULL, topics[1], TOPIC_MAX, &len) == FW_CLOUD_OK &&
           fw_cloud_topic(&profile, FW_TOPIC_EVENTS, NULL, topics[2], TOPIC_MAX, &len) == FW_CLOUD_OK;
}

static struct fw_device dev;
static struct fw_bus_app bus;
static const char *subs[2];
static struct fw_jwt_params jwt_params;

static void on_message(void *ctx, int client, const char *topic, size_t topic_len, const uint8_t *payload,
                       size_t payload_len)
{
    (void)ctx;
    (void)client;
    fw_bus_app_on_message(&bus, topic, topic_len, payload, payload_len);
}

static void jwt_setup(struct fw_device_config *cfg, char *jwt, size_t jwt_cap, size_t max_len)
{
    jwt_params.alg = FW_SIGN_ES256;
    jwt_params.audience = profile.project;
    jwt_params.lifetime_s = 3600;
    jwt_params.max_len = max_len;
    cfg->jwt = &jwt_params;
    cfg->jwt_buf = jwt;
    cfg->jwt_cap = jwt_cap;
}

#if !SIZE_MCU

static char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
static struct fw_sim7600_cert certs[3];
static char server[96] = "tcp://endpoint.example:8883";
static char jwt[FW_JWT_MODEM_PASSWORD_MAX + 1];

/* The modem's TLS: certificates downloaded to its store, MQTT in the modem. */
static void transport(struct fw_device_config *cfg, enum fw_cloud_kind kind)
{
    static const char *const cert_names[3] = { "ca.pem", "bus-1-cert.pem", "bus-1-key.pem" };
    bool client_cert = kind == FW_CLOUD_AWS;
    for (int i = 0; i < 3; i++) {
        certs[i].name = cert_names[i];
        certs[i].data = cert_region + 2048 * i;
        certs[i].len = 2048;
    }
    cfg->setup.certs = certs;
    cfg->setup.n_certs = client_cert ? 3 : 1;
    cfg->setup.cacert = cert_names[0];
    cfg->setup.clientcert = client_cert ? cert_names[1] : NULL;
    cfg->setup.clientkey = client_cert ? cert_names[2] : NULL;
    cfg->setup.sni = true;
    cfg->mqtt.client_id = client_id;
    cfg->mqtt.server = server;
    cfg->mqtt.keepalive_s = 60;
    cfg->mqtt.clean_session = true;
    if (kind == FW_CLOUD_GCP)
        jwt_setup(cfg, jwt, sizeof(jwt), FW_JWT_MODEM_PASSWORD_MAX);
}

#if SIZE_STACK == SIZE_FULL_ROT
static struct fw_rotation rotation;

/* The factory pair from the provisioned region; configurations may offer a new one. */
static bool rotation_start(struct fw_device_config *cfg, struct fw_bus_app_config *bcfg)
{
    struct fw_rotation_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.port = &port;
    rc.endpoint = "endpoint.example:8883";
    rc.ca_name = certs[0].name;
    rc.ca = certs[0].data;
    rc.ca_len = 1200;
    rc.setup = cfg->setup;
    rc.setup.certs = cfg->setup.n_certs > 1 ? certs + 1 : NULL;
    rc.setup.n_certs = cfg->setup.n_certs > 1 ? 2 : 0;
    if (!fw_rotation_init(&rotation, &rc))
        return false;
    cfg->hooks = fw_rotation_device_hooks(&rotation);
    bcfg->config_hook = fw_rotation_config_hook;
    bcfg->config_hook_ctx = &rotation;
    return true;
}
#endif

#else

static char tx_buf[256];
static struct fw_mcu_tls tls;
static uint8_t session_tx[FW_BUS_APP_PICTURE_EVENT_MAX + TOPIC_MAX + 8];
static uint8_t session_rx[PAYLOAD_MAX + TOPIC_MAX + 8];
static struct fw_mqtt_inflight inflight[2];
static char jwt[512];

/* The MCU's TLS (the port's engine, credentials in its slots 1-3) and MQTT
 * over the modem's raw TCP socket; the modem's SSL is left alone. */
static void transport(struct fw_device_config *cfg, enum fw_cloud_kind kind)
{
    struct fw_mcu_tls_config *c = &cfg->mcu;
    cfg->setup.ssl_ctx = -1;
    cfg->transport = FW_DEVICE_MCU_TLS;
    cfg->mcu_tls = &tls;
    c->host = "endpoint.example";
    c->tcp_port = 8883;
    c->server_name = c->host;
    c->ca_id = 1;
    c->cert_id = kind == FW_CLOUD_AWS ? 2 : 0;
    c->key_id = kind == FW_CLOUD_AWS ? 3 : 0;
    c->session.port = &port;
    c->session.tx_buf = session_tx;
    c->session.tx_cap = sizeof(session_tx);
    c->session.rx_buf = session_rx;
    c->session.rx_cap = sizeof(session_rx);
    c->session.inflight = inflight;
    c->session.inflight_cap = sizeof(inflight) / sizeof(inflight[0]);
    c->connect.client_id = client_id;
    c->connect.keep_alive_s = 60;
    c->connect.clean_session = true;
    if (kind == FW_CLOUD_GCP) {
        c->connect.username = "unused";
        jwt_setup(cfg, jwt, sizeof(jwt), 0);
    }
}

#endif

static bool start(enum fw_cloud_kind kind)
{
    struct fw_device_config cfg;
    struct fw_bus_app_config bcfg;
    memset(&cfg, 0, sizeof(cfg));
    if (!modem_init(tx_buf, sizeof(tx_buf), on_message) || !names(kind))
        return false;
    subs[0] = topics[0];
    subs[1] = topics[1];
    cfg.subscriptions = subs;
    cfg.n_subscriptions = 2;
    cfg.modem = &modem;
    cfg.queue = &queue;
    cfg.publish_qos = 1;
    transport(&cfg, kind);
    memset(&bcfg, 0, sizeof(bcfg));
#if SIZE_STACK == SIZE_FULL_ROT
    if (!rotation_start(&cfg, &bcfg))
        return false;
#endif
    if (!fw_device_start(&dev, &cfg))
        return false;
    bcfg.device = &dev;
    bcfg.bus_id = profile.device_id;
    bcfg.events_topic = topics[2];
    bcfg.config_topic = topics[0];
    bcfg.profile = &profile;
    bcfg.registration = "AA 1234 BC";
    return fw_bus_app_init(&bus, &bcfg);
}

static void run(void)
{
    for (;;)
        fw_bus_app_poll(&bus);
}

/* Reset entry: pick the profile (a strap input on a real unit) and run. */
void size_entry(void)
{
#if SIZE_STACK == SIZE_AWS_MODEM || SIZE_STACK == SIZE_AWS_MCU
    bool ok = start(FW_CLOUD_AWS);
#elif SIZE_STACK == SIZE_GCP_MODEM || SIZE_STACK == SIZE_GCP_MCU
    bool ok = start(FW_CLOUD_GCP);
#else /* the full builds */
    bool ok = start((REG32(TICK_COUNT) & 1u) ? FW_CLOUD_GCP : FW_CLOUD_AWS);
#endif
    if (ok)
        run();
    for (;;)
        ;
}
