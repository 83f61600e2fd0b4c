/*
 * bus_run.c - the bus application on a board (see bus_run.h). Certificates
 * come from board_credential(): host files through semihosting on QEMU (its
 * stand-in for the provisioned region), the provisioned flash region on the
 * nRF52840.
 */
#include <string.h>

#include "board_api.h"
#include "bus_run.h"
#include "fw_bus_app.h"
#include "fw_cloud.h"
#include "fw_device.h"

#define PATH_MAX_LEN 256u
#define TOPIC_MAX 300u
#define QUEUE_BYTES 4096u
#define QUEUE_PERSIST_KEY 1u

/* Everything the application holds (in .bss: one instance on the board). */
struct bus_image {
    struct fw_sim7600 modem;
    struct fw_device dev;
    struct fw_queue queue;
    struct fw_cloud_profile profile;
    struct fw_bus_app bus;
    struct fw_sim7600_cert certs[3];
    char names[3][112];
    char line_buf[512];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[TOPIC_MAX];
    uint8_t payload_buf[2048];
    uint8_t queue_buf[QUEUE_BYTES];
    char client_id[FW_CLOUD_CLIENT_ID_MAX + 1];
    char server[PATH_MAX_LEN];
    char topics[2][TOPIC_MAX];
    const char *subs[2];
    char events_topic[TOPIC_MAX];
    struct fw_jwt_params jwt_params;
    bool depot;
    char jwt[FW_JWT_MODEM_PASSWORD_MAX + 1];
};

static struct bus_image bimg;

/* dst = a + b + c (NULs allowed for b, c); false when it does not fit. */
static bool join3(char *dst, size_t cap, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
    if (la + lb + lc + 1u > cap)
        return false;
    memcpy(dst, a, la);
    if (lb)
        memcpy(dst + la, b, lb);
    if (lc)
        memcpy(dst + la + lb, c, lc);
    dst[la + lb + lc] = '\0';
    return true;
}

/* Credential rel of dir into slot i, named name_a name_b on the modem. */
static bool load_cert(unsigned i, const char *dir, const char *rel, const char *name_a, const char *name_b)
{
    const uint8_t *data;
    int32_t len;
    if (!join3(bimg.names[i], sizeof(bimg.names[i]), name_a, name_b, NULL))
        return false;
    len = board_credential(i, dir, rel, &data);
    if (len <= 0)
        return false;
    bimg.certs[i].name = bimg.names[i];
    bimg.certs[i].data = data;
    bimg.certs[i].len = (size_t)len;
    return true;
}

/* gcp-modem-tls: the CA for the modem's TLS, and the ES256 key into the port
 * (its PEM read into the third file buffer and wiped once parsed). */
static bool load_gcp_credentials(struct board_port *port, const struct bus_run_args *a,
                                 struct fw_device_config *cfg)
{
    char rel[PATH_MAX_LEN];
    int rc;
    if (!load_cert(0, a->certs, "ca.pem", "ca.pem", NULL) ||
        !join3(rel, sizeof(rel), "devices/", a->device, "/es256-private.pem") ||
        !load_cert(2, a->certs, rel, "es256", NULL))
        return false;
    rc = board_port_set_es256_key(port, bimg.certs[2].data, bimg.certs[2].len);
    board_credential_wipe(2);
    if (rc != 0)
        return false;
    cfg->setup.certs = bimg.certs;
    cfg->setup.n_certs = 1;
    cfg->setup.ssl_ctx = 0;
    cfg->setup.cacert = bimg.names[0];
    cfg->setup.sni = true;
    cfg->mqtt.ssl_ctx = 0;
    cfg->mqtt.username = "unused";
    bimg.jwt_params.alg = FW_SIGN_ES256;
    bimg.jwt_params.audience = a->project;
    bimg.jwt_params.lifetime_s = 3600;
    bimg.jwt_params.max_len = FW_JWT_MODEM_PASSWORD_MAX;
    cfg->jwt = &bimg.jwt_params;
    cfg->jwt_buf = bimg.jwt;
    cfg->jwt_cap = sizeof(bimg.jwt);
    return true;
}

static bool load_credentials(struct board_port *port, const struct bus_run_args *a,
                             struct fw_device_config *cfg)
{
    char rel[PATH_MAX_LEN];
    if (a->gcp)
        return load_gcp_credentials(port, a, cfg);
    if (!load_cert(0, a->certs, "ca.pem", "ca.pem", NULL) ||
        !join3(rel, sizeof(rel), "devices/", a->device, "/cert.pem") ||
        !load_cert(1, a->certs, rel, a->device, "-cert.pem") ||
        !join3(rel, sizeof(rel), "devices/", a->device, "/key.pem") ||
        !load_cert(2, a->certs, rel, a->device, "-key.pem"))
        return false;
    cfg->setup.certs = bimg.certs;
    cfg->setup.n_certs = 3;
    cfg->setup.ssl_ctx = 0;
    cfg->setup.cacert = bimg.names[0];
    cfg->setup.clientcert = bimg.names[1];
    cfg->setup.clientkey = bimg.names[2];
    cfg->setup.sni = true;
    cfg->mqtt.ssl_ctx = 0;
    return true;
}

static bool setup_identity(const struct bus_run_args *a, struct fw_device_config *cfg)
{
    size_t len;
    bimg.profile.kind = a->gcp ? FW_CLOUD_GCP : FW_CLOUD_AWS;
    bimg.profile.device_id = a->device;
    bimg.profile.project = a->project;
    bimg.profile.region = a->region;
    bimg.profile.registry = a->registry;
    if (fw_cloud_client_id(&bimg.profile, bimg.client_id, sizeof(bimg.client_id), &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&bimg.profile, FW_TOPIC_CONFIG, NULL, bimg.topics[0], TOPIC_MAX, &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&bimg.profile, FW_TOPIC_COMMANDS, NULL, bimg.topics[1], TOPIC_MAX, &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&bimg.profile, FW_TOPIC_EVENTS, NULL, bimg.events_topic, TOPIC_MAX, &len) != FW_CLOUD_OK)
        return false;
    bimg.subs[0] = bimg.topics[0];
    bimg.subs[1] = bimg.topics[1];
    cfg->n_subscriptions = 2;
    if (a->depot && !a->gcp) { /* AWS: the arrivals of buses at this depot */
        if (fw_cloud_topic(&bimg.profile, FW_TOPIC_DEPOT_ARRIVED, a->device, bimg.topics[0], TOPIC_MAX, &len) !=
            FW_CLOUD_OK)
            return false;
        cfg->n_subscriptions = 1;
    }
    cfg->subscriptions = bimg.subs;
    return join3(bimg.server, sizeof(bimg.server), "tcp://", a->broker, NULL);
}

static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    (void)ctx;
    (void)client;
    board_console("bus: message from the cloud\n");
    if (!bimg.depot)
        fw_bus_app_on_message(&bimg.bus, topic, topic_len, payload, payload_len);
}

static bool start(struct board_port *port, const struct bus_run_args *a)
{
    struct fw_sim7600_config mcfg;
    struct fw_device_config cfg;
    struct fw_bus_app_config bcfg;
    memset(&cfg, 0, sizeof(cfg));
    if (!setup_identity(a, &cfg) || !load_credentials(port, a, &cfg))
        return false;
    memset(&mcfg, 0, sizeof(mcfg));
    mcfg.port = &port->port;
    mcfg.line_buf = bimg.line_buf;
    mcfg.line_cap = sizeof(bimg.line_buf);
    mcfg.tx_buf = bimg.tx_buf;
    mcfg.tx_cap = sizeof(bimg.tx_buf);
    mcfg.topic_buf = bimg.topic_buf;
    mcfg.topic_cap = sizeof(bimg.topic_buf);
    mcfg.payload_buf = bimg.payload_buf;
    mcfg.payload_cap = sizeof(bimg.payload_buf);
    mcfg.on_message = on_message;
    if (fw_sim7600_init(&bimg.modem, &mcfg) != FW_AT_IDLE)
        return false;
    if (fw_queue_init(&bimg.queue, &port->port, QUEUE_PERSIST_KEY, bimg.queue_buf,
                      sizeof(bimg.queue_buf)) != FW_QUEUE_OK)
        board_console("bus: stored offline queue unusable, starting empty\n");
    cfg.modem = &bimg.modem;
    cfg.mqtt.client = 0;
    cfg.mqtt.client_id = bimg.client_id;
    cfg.mqtt.server = bimg.server;
    cfg.mqtt.keepalive_s = 60;
    cfg.mqtt.clean_session = true;
    cfg.queue = &bimg.queue;
    cfg.publish_qos = 1;
    if (!fw_device_start(&bimg.dev, &cfg))
        return false;
    memset(&bcfg, 0, sizeof(bcfg));
    bcfg.device = &bimg.dev;
    bcfg.bus_id = a->device;
    bcfg.events_topic = bimg.events_topic;
    bcfg.config_topic = bimg.topics[0];
    bcfg.profile = &bimg.profile;
    bcfg.registration = a->registration;
    bcfg.route = a->route;
    return fw_bus_app_init(&bimg.bus, &bcfg);
}

int bus_run(struct board_port *port, const struct bus_run_args *a)
{
    enum fw_device_state last = FW_DEVICE_BACKOFF;
    const struct fw_port *fp = &port->port;
    uint32_t started = fp->now_ms(fp->ctx);
    bimg.depot = a->depot;
    if (!start(port, a)) {
        board_console("bus: start-up failed\n");
        return 1;
    }
    while (a->events == 0 || fp->now_ms(fp->ctx) - started < a->guard_ms) {
        /* a depot unit needs no GNSS: the device alone */
        enum fw_device_state st = bimg.depot ? fw_device_poll(&bimg.dev) : fw_bus_app_poll(&bimg.bus);
        if (st != last) {
            board_console("bus: device ");
            board_console(fw_device_state_str(st));
            board_console("\n");
            last = st;
        }
        if (a->events > 0 && fw_bus_app_stats(&bimg.bus)->locations >= a->events &&
            fw_queue_count(&bimg.queue) == 0) {
            board_console("bus: location events published\n");
            return 0;
        }
        board_sleep();
    }
    board_console("bus: hang guard expired\n");
    return 2;
}
