/*
 * fwcore - the bus-unit firmware core on Linux: talks AT to a SIM7600 (the
 * simulator's PTY or a real modem) and runs the device lifecycle (fw_device)
 * and the bus application (fw_bus_app) for AWS or GCP on any of the four
 * stacks: TLS and MQTT in the modem (modem-tls) or on the MCU over the
 * modem's raw TCP socket (mcu-tls, OpenSSL through the port's TLS hooks).
 * See --help. Logs one line per event on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bus_app.h"
#include "fw_cloud.h"
#include "fw_device.h"
#include "fw_mcu_tls.h"
#include "fw_inputs_linux.h"
#include "fw_port_linux.h"
#include "fw_port_linux_tls.h"
#include "fw_rotation.h"
#include "fw_sim7600_setup.h"
#include "fw_reset_line_linux.h"

#define FILE_MAX 10240

#define BUS_BACKOFF_MAX_MS 60000u /* longest pause between connection attempts */

struct options {
    const char *uart, *stack, *device, *role, *certs, *broker, *state, *inputs, *clock;
    const char *project, *region, *registry;
    const char *registration, *route; /* identification event */
    const char *reset_line;           /* the simulator's control socket */
    int verbose;
    int test_publish; /* --test-publish: the bus app's "publish" test hook */
};

struct app {
    struct options opt;
    struct fw_linux_port port;
    struct fw_sim7600 modem;
    struct fw_device dev;
    struct fw_queue queue;
    struct fw_cloud_profile profile;
    struct fw_bus_app bus;
    struct fw_rotation rot;         /* endpoint and CA from configurations */
    struct fw_linux_inputs inputs;  /* --inputs */
    bool depot;
    struct fw_sim7600_cert certs[3];
    uint8_t files[3][FILE_MAX];
    char names[3][112];
    char line_buf[512];
    char tx_buf[FW_SIM7600_MQTT_CMD_MAX];
    char topic_buf[1100];
    uint8_t payload_buf[FW_SIM7600_MQTT_PAYLOAD_MAX];
    uint8_t queue_buf[32768];
    char client_id[FW_CLOUD_CLIENT_ID_MAX + 1];
    char server[300];
    char topics[3][300];
    const char *subs[2];
    char events_topic[300];
    char jwt[1024];
    struct fw_jwt_params jwt_params;
    /* the MCU-TLS stacks */
    bool mcu_stack;
    struct fw_linux_tls tls;
    struct fw_mcu_tls mcu;
    char tls_files[3][1024];
    uint8_t mqtt_tx[16384], mqtt_rx[FW_SIM7600_MQTT_PAYLOAD_MAX + 1024];
    struct fw_mqtt_inflight inflight[8];
    char host[256];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: fwcore --uart PATH --stack STACK --device ID --certs DIR [options]\n"
            "  --uart PATH        the modem's tty (simulator PTY or serial device)\n"
            "  --stack STACK      aws-modem-tls | gcp-modem-tls | aws-mcu-tls | gcp-mcu-tls\n"
            "                     (mcu-tls: TLS and MQTT here, the modem carries raw TCP)\n"
            "  --device ID        thing name / device id\n"
            "  --role ROLE        bus (default) | depot\n"
            "  --certs DIR        certs/gen.sh output: ca.pem, devices/ID/{cert,key,es256-private}.pem\n"
            "  --broker HOST:PORT broker address (default localhost:8883)\n"
            "  --state DIR        persistent storage (offline queue); none if absent\n"
            "  --inputs PATH      driver-behaviour and picture inputs: a file of lines\n"
            "                     '<phone|drinking|drowsy|frame> <picture-file>' read as\n"
            "                     it grows (see ports/linux/fw_inputs_linux.h)\n"
            "  --registration R   vehicle registration: an identification event first\n"
            "  --route N          route number until a configuration names one\n"
            "  --clock PATH       shared virtual clock file (default: host clocks)\n"
            "  --reset-line PATH  the modem's reset line: the simulator's control socket,\n"
            "                     pulsed (verb reset) when the modem answers nothing\n"
            "  --gcp-project P, --gcp-region R, --gcp-registry G   GCP identity\n"
            "                     (defaults cellbench, local, buses)\n"
            "  --test-publish     accept the cloud's \"publish\" command (a test hook that\n"
            "                     makes the bus publish on a given topic; never in a fleet)\n"
            "  --verbose          also log debug events\n"
            "  --help             this text\n"
            "exit status: 0 stopped by a signal, 1 runtime failure, 2 bad arguments\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        {"uart", 1, 0, 'u'}, {"stack", 1, 0, 's'}, {"device", 1, 0, 'd'}, {"role", 1, 0, 'r'},
        {"certs", 1, 0, 'c'}, {"broker", 1, 0, 'b'}, {"state", 1, 0, 'S'}, {"inputs", 1, 0, 'i'},
        {"clock", 1, 0, 'k'}, {"gcp-project", 1, 0, 'P'}, {"gcp-region", 1, 0, 'R'},
        {"gcp-registry", 1, 0, 'G'}, {"verbose", 0, 0, 'v'}, {"help", 0, 0, 'h'},
        {"registration", 1, 0, 'I'}, {"route", 1, 0, 'N'}, {"reset-line", 1, 0, 'L'},
        {"test-publish", 0, 0, 'T'}, {0, 0, 0, 0}};
    int ch;
    memset(o, 0, sizeof(*o));
    o->role = "bus";
    o->broker = "localhost:8883";
    o->project = "cellbench";
    o->region = "local";
    o->registry = "buses";
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'u': o->uart = optarg; break;
        case 's': o->stack = optarg; break;
        case 'd': o->device = optarg; break;
        case 'r': o->role = optarg; break;
        case 'c': o->certs = optarg; break;
        case 'b': o->broker = optarg; break;
        case 'S': o->state = optarg; break;
        case 'i': o->inputs = optarg; break;
        case 'I': o->registration = optarg; break;
        case 'N': o->route = optarg; break;
        case 'k': o->clock = optarg; break;
        case 'L': o->reset_line = optarg; break;
        case 'P': o->project = optarg; break;
        case 'R': o->region = optarg; break;
        case 'G': o->registry = optarg; break;
        case 'v': o->verbose = 1; break;
        case 'T': o->test_publish = 1; break;
        case 'h': usage(stdout); exit(0);
        default: return -1;
        }
    }
    if (optind != argc || !o->uart || !o->stack || !o->device || !o->certs) {
        fprintf(stderr, "fwcore: --uart, --stack, --device and --certs are required\n");
        return -1;
    }
    if (strcmp(o->role, "bus") != 0 && strcmp(o->role, "depot") != 0) {
        fprintf(stderr, "fwcore: --role must be bus or depot\n");
        return -1;
    }
    if (strchr(o->broker, ':') == NULL) {
        fprintf(stderr, "fwcore: --broker must be HOST:PORT\n");
        return -1;
    }
    return 0;
}

/* Read a certificate file for the modem's store under the given name. */
static int load_file(struct app *a, int i, const char *path, const char *name)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) {
        fprintf(stderr, "fwcore: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    n = fread(a->files[i], 1, FILE_MAX, f);
    fclose(f);
    if (n == 0 || n == FILE_MAX) {
        fprintf(stderr, "fwcore: %s is empty or larger than the modem takes\n", path);
        return -1;
    }
    snprintf(a->names[i], sizeof(a->names[i]), "%s", name);
    a->certs[i].name = a->names[i];
    a->certs[i].data = a->files[i];
    a->certs[i].len = n;
    return 0;
}

/* Messages from the cloud: the bus application takes configurations and
 * commands; a depot unit only logs the arrivals it receives. */
static void on_message(void *ctx, int client, const char *topic, size_t topic_len,
                       const uint8_t *payload, size_t payload_len)
{
    struct app *a = ctx;
    uint32_t configs = fw_bus_app_stats(&a->bus)->configs;
    fprintf(stderr, "%s info app: message on %s (%zu bytes)\n", a->opt.device, topic, payload_len);
    if (a->depot)
        return;
    fw_bus_app_on_message(&a->bus, topic, topic_len, payload, payload_len);
    if (fw_bus_app_stats(&a->bus)->configs != configs) {
        const struct fw_bus_config *cfg = fw_bus_app_config(&a->bus);
        fprintf(stderr, "%s info app: configuration accepted (route %s, depot %s)\n",
                a->opt.device, cfg->route, cfg->depot);
    }
}

static int setup_identity(struct app *a, struct fw_device_config *cfg, bool gcp)
{
    size_t len;
    a->profile.kind = gcp ? FW_CLOUD_GCP : FW_CLOUD_AWS;
    a->profile.device_id = a->opt.device;
    a->profile.project = a->opt.project;
    a->profile.region = a->opt.region;
    a->profile.registry = a->opt.registry;
    if (fw_cloud_client_id(&a->profile, a->client_id, sizeof(a->client_id), &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&a->profile, FW_TOPIC_CONFIG, NULL, a->topics[0], 300, &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&a->profile, FW_TOPIC_COMMANDS, NULL, a->topics[1], 300, &len) != FW_CLOUD_OK ||
        fw_cloud_topic(&a->profile, FW_TOPIC_EVENTS, NULL, a->events_topic, 300, &len) != FW_CLOUD_OK) {
        fprintf(stderr, "fwcore: device or GCP names unusable in topics or client ids\n");
        return -1;
    }
    if (strcmp(a->opt.role, "depot") == 0 && !gcp) {
        if (fw_cloud_topic(&a->profile, FW_TOPIC_DEPOT_ARRIVED, a->opt.device, a->topics[2], 300,
                           &len) != FW_CLOUD_OK)
            return -1;
        a->subs[0] = a->topics[2];
        cfg->n_subscriptions = 1;
    } else {
        a->subs[0] = a->topics[0];
        a->subs[1] = a->topics[1];
        cfg->n_subscriptions = 2;
    }
    cfg->subscriptions = a->subs;
    return 0;
}

static int setup_credentials(struct app *a, struct fw_device_config *cfg, bool gcp, char **key)
{
    char path[1024], name[112];
    snprintf(path, sizeof(path), "%s/ca.pem", a->opt.certs);
    if (load_file(a, 0, path, "ca.pem") != 0)
        return -1;
    cfg->setup.certs = a->certs;
    cfg->setup.n_certs = 1;
    cfg->setup.ssl_ctx = 0;
    cfg->setup.cacert = "ca.pem";
    cfg->setup.sni = true;
    cfg->mqtt.ssl_ctx = 0;
    if (gcp) {
        snprintf(path, sizeof(path), "%s/devices/%s/es256-private.pem", a->opt.certs, a->opt.device);
        *key = strdup(path);
        a->jwt_params.alg = FW_SIGN_ES256;
        a->jwt_params.audience = a->opt.project;
        a->jwt_params.lifetime_s = 3600;
        a->jwt_params.max_len = FW_JWT_MODEM_PASSWORD_MAX;
        cfg->jwt = &a->jwt_params;
        cfg->jwt_buf = a->jwt;
        cfg->jwt_cap = sizeof(a->jwt);
        cfg->mqtt.username = "unused";
        return 0;
    }
    snprintf(path, sizeof(path), "%s/devices/%s/cert.pem", a->opt.certs, a->opt.device);
    snprintf(name, sizeof(name), "%s-cert.pem", a->opt.device);
    if (load_file(a, 1, path, name) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/devices/%s/key.pem", a->opt.certs, a->opt.device);
    snprintf(name, sizeof(name), "%s-key.pem", a->opt.device);
    if (load_file(a, 2, path, name) != 0)
        return -1;
    cfg->setup.n_certs = 3;
    cfg->setup.clientcert = a->names[1];
    cfg->setup.clientkey = a->names[2];
    return 0;
}

/* MCU-TLS: the modem only carries raw TCP (no certificates, no SSL
 * context); TLS here with the files of certs/out (GCP: server-only TLS and
 * a JWT without the modem's 256-byte limit as password). */
static int setup_mcu_transport(struct app *a, struct fw_device_config *cfg, bool gcp, char **key)
{
    struct fw_mcu_tls_config *c = &cfg->mcu;
    const char *colon = strrchr(a->opt.broker, ':');
    char path[1024];
    cfg->setup.ssl_ctx = -1;
    snprintf(a->tls_files[0], sizeof(a->tls_files[0]), "%s/ca.pem", a->opt.certs);
    snprintf(a->tls_files[1], sizeof(a->tls_files[1]), "%s/devices/%s/cert.pem", a->opt.certs,
             a->opt.device);
    snprintf(a->tls_files[2], sizeof(a->tls_files[2]), "%s/devices/%s/key.pem", a->opt.certs,
             a->opt.device);
    for (int i = 0; i < (gcp ? 1 : 3); i++) { /* GCP: server-only TLS, no device certificate */
        FILE *f = fopen(a->tls_files[i], "rb");
        if (f == NULL) {
            fprintf(stderr, "fwcore: cannot read %s: %s\n", a->tls_files[i], strerror(errno));
            return -1;
        }
        fclose(f);
    }
    if (load_file(a, 0, a->tls_files[0], "ca.pem") != 0) /* the factory CA, for rotation */
        return -1;
    a->tls.files[FW_LINUX_TLS_CA] = a->tls_files[0];
    a->tls.files[FW_LINUX_TLS_CERT] = a->tls_files[1];
    a->tls.files[FW_LINUX_TLS_KEY] = a->tls_files[2];
    snprintf(a->host, sizeof(a->host), "%.*s", (int)(colon - a->opt.broker), a->opt.broker);
    cfg->transport = FW_DEVICE_MCU_TLS;
    cfg->mcu_tls = &a->mcu;
    c->link = 0;
    c->host = a->host;
    c->tcp_port = (uint16_t)atoi(colon + 1);
    c->server_name = a->host;
    c->ca_id = FW_LINUX_TLS_CA;
    c->cert_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_CERT;
    c->key_id = gcp ? FW_LINUX_TLS_NONE : FW_LINUX_TLS_KEY;
    c->session.port = &a->port.port;
    c->session.tx_buf = a->mqtt_tx;
    c->session.tx_cap = sizeof(a->mqtt_tx);
    c->session.rx_buf = a->mqtt_rx;
    c->session.rx_cap = sizeof(a->mqtt_rx);
    c->session.inflight = a->inflight;
    c->session.inflight_cap = sizeof(a->inflight) / sizeof(a->inflight[0]);
    c->connect.client_id = a->client_id;
    c->connect.keep_alive_s = 60;
    c->connect.clean_session = true;
    c->rx_poll_ms = 200;
    if (!gcp)
        return 0;
    snprintf(path, sizeof(path), "%s/devices/%s/es256-private.pem", a->opt.certs, a->opt.device);
    *key = strdup(path);
    a->jwt_params.alg = FW_SIGN_ES256;
    a->jwt_params.audience = a->opt.project;
    a->jwt_params.lifetime_s = 3600;
    a->jwt_params.max_len = 0; /* the MCU's own MQTT has no 256-byte modem limit */
    cfg->jwt = &a->jwt_params;
    cfg->jwt_buf = a->jwt;
    cfg->jwt_cap = sizeof(a->jwt);
    c->connect.username = "unused";
    return 0;
}

/* Server endpoint and CA rotation: --broker and ca.pem are the factory
 * pair; a configuration's "endpoint" and "ca_cert" replace them (kept under
 * --state), with fall-back to the previous pair (fw_rotation.h). Modem TLS:
 * the modem's certificate store is provisioned again; MCU TLS: the active
 * CA reaches the port's TLS CA slot (tls_set_ca) and host and port the
 * transport. */
static int start_rotation(struct app *a, struct fw_device_config *cfg, bool gcp)
{
    struct fw_rotation_config rc;
    memset(&rc, 0, sizeof(rc));
    rc.port = &a->port.port;
    rc.endpoint = a->opt.broker;
    rc.ca_name = a->names[0];
    rc.ca = a->certs[0].data;
    rc.ca_len = a->certs[0].len;
    rc.setup = cfg->setup;
    rc.setup.certs = gcp || a->mcu_stack ? NULL : a->certs + 1; /* client certificate, key */
    rc.setup.n_certs = gcp || a->mcu_stack ? 0 : 2;
    if (!fw_rotation_init(&a->rot, &rc)) {
        fprintf(stderr, "fwcore: --broker %s or ca.pem (at most %u bytes) unusable\n", a->opt.broker,
                FW_ROTATION_CA_MAX);
        return -1;
    }
    cfg->hooks = fw_rotation_device_hooks(&a->rot);
    return 0;
}

static int start(struct app *a)
{
    struct fw_sim7600_config mcfg;
    struct fw_device_config cfg;
    struct fw_bus_app_config bcfg;
    bool gcp = strncmp(a->opt.stack, "gcp-", 4) == 0;
    char *key = NULL;
    int rc;
    memset(&cfg, 0, sizeof(cfg));
    if (setup_identity(a, &cfg, gcp) != 0)
        return 2;
    rc = a->mcu_stack ? setup_mcu_transport(a, &cfg, gcp, &key)
                      : setup_credentials(a, &cfg, gcp, &key);
    if (rc != 0)
        return 2;
    rc = fw_linux_port_open(&a->port, a->opt.device, a->opt.uart, a->opt.clock, key, a->opt.state);
    free(key);
    if (rc != 0 || (a->opt.reset_line && fw_linux_port_use_reset_line(&a->port, a->opt.reset_line) != 0))
        return 1;
    if (a->mcu_stack) {
        a->tls.clock = a->port.clock;
        fw_linux_port_attach_tls(&a->port, &a->tls);
    }
    a->port.verbose = a->opt.verbose;
    memset(&mcfg, 0, sizeof(mcfg));
    mcfg.port = &a->port.port;
    mcfg.line_buf = a->line_buf;
    mcfg.line_cap = sizeof(a->line_buf);
    mcfg.tx_buf = a->tx_buf;
    mcfg.tx_cap = sizeof(a->tx_buf);
    mcfg.topic_buf = a->topic_buf;
    mcfg.topic_cap = sizeof(a->topic_buf);
    mcfg.payload_buf = a->payload_buf;
    mcfg.payload_cap = sizeof(a->payload_buf);
    mcfg.on_message = on_message;
    mcfg.ctx = a;
    if (fw_sim7600_init(&a->modem, &mcfg) != FW_AT_IDLE)
        return 1;
    if (start_rotation(a, &cfg, gcp) != 0)
        return 2;
    if (fw_queue_init(&a->queue, &a->port.port, 1, a->queue_buf, sizeof(a->queue_buf)) != FW_QUEUE_OK)
        fprintf(stderr, "%s warn app: stored offline queue unusable, starting empty\n", a->opt.device);
    snprintf(a->server, sizeof(a->server), "tcp://%s", a->opt.broker);
    cfg.modem = &a->modem;
    cfg.mqtt.client = 0;
    cfg.mqtt.client_id = a->client_id;
    cfg.mqtt.server = a->server;
    cfg.mqtt.keepalive_s = 60;
    cfg.mqtt.clean_session = true;
    cfg.queue = &a->queue;
    cfg.publish_qos = 1;
    /* a bus reporting every 30 s retries at least once a minute: with the
     * default cap (5 min) a bus could stay offline minutes after the network
     * returned, since nothing tells the firmware that data works again */
    cfg.backoff_max_ms = BUS_BACKOFF_MAX_MS;
    if (!fw_device_start(&a->dev, &cfg))
        return 2;
    memset(&bcfg, 0, sizeof(bcfg));
    bcfg.device = &a->dev;
    bcfg.bus_id = a->opt.device;
    bcfg.events_topic = a->events_topic;
    bcfg.profile = &a->profile; /* depot arrivals to the depot's topic */
    bcfg.registration = a->opt.registration;
    bcfg.route = a->opt.route;
    bcfg.config_topic = a->topics[0];
    bcfg.test_publish = a->opt.test_publish != 0;
    bcfg.config_hook = fw_rotation_config_hook;
    bcfg.config_hook_ctx = &a->rot;
    a->depot = strcmp(a->opt.role, "depot") == 0;
    return fw_bus_app_init(&a->bus, &bcfg) ? 0 : 2;
}

int main(int argc, char **argv)
{
    static struct app a;
    enum fw_device_state last = FW_DEVICE_BACKOFF;
    int rc;
    if (parse_args(argc, argv, &a.opt) != 0) {
        usage(stderr);
        return 2;
    }
    a.mcu_stack = strcmp(a.opt.stack, "aws-mcu-tls") == 0 || strcmp(a.opt.stack, "gcp-mcu-tls") == 0;
    if (!a.mcu_stack && strcmp(a.opt.stack, "aws-modem-tls") != 0 &&
        strcmp(a.opt.stack, "gcp-modem-tls") != 0) {
        fprintf(stderr, "fwcore: unknown stack %s\n", a.opt.stack);
        usage(stderr);
        return 2;
    }
    rc = start(&a);
    if (rc == 0 && a.opt.inputs != NULL) {
        if (fw_linux_inputs_open(&a.inputs, a.opt.inputs) != 0)
            rc = 1;
        else
            fw_linux_port_use_inputs(&a.port, &a.inputs);
    }
    if (rc != 0)
        return rc;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop_requested) {
        /* a depot unit needs no GNSS: the device alone */
        enum fw_device_state st = a.depot ? fw_device_poll(&a.dev) : fw_bus_app_poll(&a.bus);
        uint32_t deadline = 0;
        bool timed;
        if (st != last) {
            fprintf(stderr, "%s info device: %s\n", a.opt.device, fw_device_state_str(st));
            last = st;
        }
        /* sleep until modem input or the core's next deadline in virtual
         * time (at any clock rate), at most 10 ms of real time */
        timed = a.depot ? fw_device_next_deadline_ms(&a.dev, &deadline)
                        : fw_bus_app_next_deadline_ms(&a.bus, &deadline);
        fw_linux_port_wait_until(&a.port, timed, deadline, 10);
    }
    if (a.mcu_stack)
        fw_mcu_tls_stop(&a.mcu);
    fw_linux_port_close(&a.port);
    if (a.opt.inputs != NULL)
        fw_linux_inputs_close(&a.inputs);
    return 0;
}
