/*
 * `cellbench run`, `cellbench validate` and `cellbench list`.
 *
 * run: for each scenario, start the broker (the scenario's profile), one
 * simulator and one firmware process per device and the cloud application
 * on a shared virtual clock in a temporary run directory; replay the
 * timeline in trip time (1 Hz GNSS fixes from the route, simulator faults,
 * clock jumps); evaluate the expectations with the verdict functions of
 * scenario.h over what the cloud application observed; stop everything;
 * print one line per expectation. On a terminal a progress line shows trip
 * time, position on the route and the cloud's message count.
 *
 * "broker restart" stops the broker and starts it again on the same ports
 * and state directory; the cloud application logs in again.
 * "broker rotate-cert" does the same with the server certificate and key of
 * CERTS/rotated/ (certs/gen.sh: a new CA, same host names), as a real
 * endpoint change would: every device connection is dropped, and a device
 * gets back in only once it trusts the new CA (client certificates are still
 * verified with the first CA). Later restarts keep the rotated certificate.
 * A stopped broker publishes no presence events, so for expect_connection
 * every device connected when the runner stopped it counts as disconnected
 * at that moment.
 * Cloud actions go through the broker's admin listener: config (aws: retained
 * on /bus/<id>/configuration; gcp: config/set), command (aws:
 * /bus/<id>/commands; gcp: commands/send/bus-commands), read_state (aws:
 * shadow get; gcp: state/get; its match is judged on the reply document).
 * Configuration strings get ${broker.endpoint}, ${broker.port} and ${file:PATH} substituted
 * (PATH under certs/out/ is read from the run's PKI, which is RUNDIR/certs
 * when the scenario names devices certs/out lacks).
 * A "gnss ..." fault takes that receiver off the route for the rest of the trip.
 * Every message the cloud application sees goes to RUNDIR/cloud.log.
 * expect_uart is judged on the simulator's capture (RUNDIR/<id>-uart.log,
 * both directions decoded to raw bytes) up to the entry's time.
 * Connections: AWS presence events; on GCP the device list polled once a
 * trip second, whose connection and disconnection stamps place even a
 * reconnection shorter than that at its time (cloud_app.h). Between trip
 * seconds and entries the loop waits for the cloud at most until the next
 * one is due (and 2 ms of real time), so entries run on time at any rate.
 *
 * A configuration's "depot": "<depot id>" is sent as that depot unit's geofence
 * ({"name","lat","lon","radius_m"}), so the bus can detect its arrival.
 * Driver inputs are lines appended to RUNDIR/<id>-inputs, the file fwcore
 * reads with --inputs ("<behaviour> <picture-file>"; a synthetic picture of
 * picture_bytes is written to RUNDIR/<id>-picture-<entry>.bin first).
 * The "publish" command (args topic, payload) is fwcore's test hook: the
 * firmware of a device the timeline sends it to starts with --test-publish.
 * expect_ack is judged on the cloud log (acks.h; the gcp broker runs with
 * --config-acks so it sees config PUBACKs).
 * --junit FILE writes a test case per verdict line (a failure carries the
 * reason, the run directory and the tail of the device's UART capture).
 * --report DIR writes DIR/<scenario>.html for every scenario, also when its
 * bench failed to start (report.h), with billed units under
 * the meters of --meters (billing.h; default aws=5120,gcp=1/1024); a
 * scenario refused before anything starts (an unsupported stack, no route)
 * gets a page with its NOT RUN lines and no logs.
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "acks.h"
#include "cloud_app.h"
#include "orchestrate.h"
#include "report.h"
#include "route.h"
#include "scenario.h"
#include "hil.h"
#include "target_qemu.h"
#include "vclock.h"

#define READY_GUARD_MS 20000 /* real-time hang guard for a process to come up */
#define STOP_GUARD_MS 3000   /* SIGTERM to SIGKILL */
#define CONTROL_GUARD_MS 2000

struct run_opts {
    int64_t rate_micro; /* 0: the scenario's rate */
    bool keep;
    bool verbose;
    bool target_qemu;   /* --target qemu: the firmware runs as the Cortex-M4 image (target_qemu.h) */
    const char *hil_serial; /* --target hil --serial DEV: the firmware runs on a board (hil.h) */
    char root[PATH_MAX]; /* source tree: certs/ */
    char bin[PATH_MAX];  /* directory of cellbench, sim7600, fwcore */
    const char *junit_path; /* --junit FILE, or NULL */
    FILE *junit;            /* open while the scenarios run */
    const char *report_dir; /* --report DIR, or NULL */
    struct billing_meter meters[BILLING_MAX_METERS]; /* --meters, for the report */
    size_t meter_count;
};

/* What one run holds. */
struct run {
    const struct run_opts *opts;
    struct scenario sc;
    char dir[PATH_MAX];
    char certs[PATH_MAX + 16];
    struct vclock *clock;
    int64_t start_ns;
    struct orch orch;
    int port, admin_port;
    int broker_child;          /* orch index of the running broker */
    bool gnss_override[ORCH_MAX_CHILDREN]; /* a "gnss ..." fault took the receiver off the route */
    unsigned broker_restarts;
    bool cert_rotated;         /* the broker serves CERTS/rotated/server.pem */
    double broker_stops[16];   /* trip times the runner stopped the broker (restart, rotate-cert) */
    size_t broker_stop_count;
    int control[ORCH_MAX_CHILDREN]; /* control socket per device */
    struct cloud_app cloud;
    bool cloud_up;
    bool aborted;
    char abort_reason[256];
    FILE *cases; /* JUnit <testcase> elements of this scenario (a memory stream), or NULL */
    char *cases_text;
    size_t cases_len;
    unsigned fault_errors;
    int64_t jumped_ns;                 /* clock jumps executed so far (start_ns moved by them) */
    struct report_verdict *verdicts;   /* every verdict line, for --report */
    size_t verdict_count, verdict_cap;
    struct ack_config *configs;        /* configurations sent, in order (expect_ack); config owned */
    size_t config_count, config_cap;
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- where things are ---- */

static void program_dir(char *out)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, PATH_MAX, "%s", exe);
}

/* The source tree: <bin>/../.. when it holds certs/gen.sh, else the current directory. */
static void source_root(const char *bin, char *out)
{
    char guess[PATH_MAX + 16], probe[PATH_MAX + 64];
    snprintf(guess, sizeof guess, "%s/../..", bin);
    snprintf(probe, sizeof probe, "%s/certs/gen.sh", guess);
    if (access(probe, R_OK) == 0 && realpath(guess, out))
        return;
    if (!getcwd(out, PATH_MAX))
        snprintf(out, PATH_MAX, ".");
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- certificates ---- */

/* certs/gen.sh made the rotated server certificate (older outputs lack it). */
static bool has_rotated_certs(const struct run *r)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/rotated/server.pem", r->certs);
    return file_exists(path);
}

static bool device_has_certs(const struct run *r, const char *id)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/devices/%s/cert.pem", r->certs, id);
    return file_exists(path);
}

static int gen_certs(const struct run *r, const char *out_dir, bool scenario_ids)
{
    char cmd[PATH_MAX * 3 + 2048];
    int n = snprintf(cmd, sizeof cmd, "bash '%s/certs/gen.sh' --out '%s'", r->opts->root, out_dir);
    for (size_t i = 0; scenario_ids && i < r->sc.device_count && n < (int)sizeof cmd - 80; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", r->sc.devices[i].id);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >>'%s/gen-certs.log' 2>&1", r->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cellbench: certs/gen.sh failed, see %s/gen-certs.log\n", r->dir);
        return -1;
    }
    return 0;
}

/*
 * certs/out (the default devices) is made when missing. A scenario naming
 * devices that certs/out lacks gets its own PKI in RUNDIR/certs, so a run
 * never changes the shared certs/out other tools and tests rely on.
 */
static int ensure_certs(struct run *r)
{
    if (!device_has_certs(r, "bus-1") || !has_rotated_certs(r)) {
        fprintf(stderr, "cellbench: making certificates (certs/gen.sh)\n");
        if (gen_certs(r, r->certs, false) < 0)
            return -1;
    }
    bool missing = false;
    for (size_t i = 0; i < r->sc.device_count; i++)
        missing = missing || !device_has_certs(r, r->sc.devices[i].id);
    if (!missing)
        return 0;
    snprintf(r->certs, sizeof r->certs, "%s/certs", r->dir);
    if (r->opts->verbose)
        fprintf(stderr, "cellbench: devices without certificates in certs/out: a PKI of the run's own in %s\n",
                r->certs);
    return gen_certs(r, r->certs, true);
}

/* ---- what this runner executes ---- */

static bool is_expectation(enum scenario_action_kind k)
{
    return k >= SCENARIO_ACTION_EXPECT_MESSAGE;
}

/* NULL when the action is executed, else why not. */
static const char *not_executed(const struct scenario *s, const struct scenario_action *a)
{
    switch (a->kind) {
    case SCENARIO_ACTION_FAULT:
        return NULL;
    case SCENARIO_ACTION_EXPECT_MESSAGE:
    case SCENARIO_ACTION_EXPECT_ORDER:
    case SCENARIO_ACTION_EXPECT_NO_LOSS:
        return NULL;
    case SCENARIO_ACTION_EXPECT_CONNECTION:
        return NULL;
    case SCENARIO_ACTION_CONFIG:
    case SCENARIO_ACTION_READ_STATE:
        return NULL;
    case SCENARIO_ACTION_COMMAND:
        return NULL;
    case SCENARIO_ACTION_DRIVER:
        return NULL;
    case SCENARIO_ACTION_EXPECT_ACK:
        return NULL;
    case SCENARIO_ACTION_EXPECT_UART:
        return NULL;
    }
    return "unknown action";
}

/*
 * NULL when fwcore runs the stack, else why not. fwcore runs the device
 * lifecycle and the bus application on all four stacks.
 */
static const char *stack_missing(enum scenario_stack st)
{
    (void)st;
    return NULL;
}

static void action_label(const struct scenario *s, const struct scenario_action *a, char *buf, size_t cap)
{
    char at[32];
    scenario_format_time(a->at_s, at, sizeof at);
    snprintf(buf, cap, "%s $.timeline[%zu] %s%s%s", at, a->index, scenario_action_str(a->kind),
             a->device >= 0 ? " " : "", a->device >= 0 ? s->devices[a->device].id : "");
}

/* ---- processes ---- */

static void abort_run(struct run *r, const char *fmt, const char *arg);

/* A growing byte buffer (configuration substitution, UART capture). */
struct bytes {
    char *data;
    size_t len, cap;
};

static void bytes_put(struct bytes *b, char c)
{
    if (b->len == b->cap) {
        size_t cap = b->cap * 2 + 4096;
        char *grown = realloc(b->data, cap);
        if (!grown)
            return;
        b->data = grown;
        b->cap = cap;
    }
    b->data[b->len++] = c;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int read_text_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    return 0;
}

/* Start the broker as child name (ports chosen on the first start, kept on restarts); waits for `ready`. */
static int start_broker(struct run *r, const char *name)
{
    const char *profile = scenario_profile_str(r->sc.profile);
    char prog[PATH_MAX + 16], port[16], admin[16], registry[PATH_MAX * 2], dir[PATH_MAX + 16], clock[PATH_MAX + 16];
    for (int tries = 0; tries < 10 && (r->port <= 0 || r->admin_port <= 0 || r->admin_port == r->port); tries++) {
        r->port = free_port();
        r->admin_port = free_port();
    }
    if (r->port <= 0 || r->admin_port <= 0 || r->admin_port == r->port) {
        fprintf(stderr, "cellbench: no free TCP ports for the broker\n");
        return -1;
    }
    snprintf(prog, sizeof prog, "%s/cellbench", r->opts->bin);
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(admin, sizeof admin, "%d", r->admin_port);
    snprintf(registry, sizeof registry, "%s/registry-%s.json", r->certs, profile);
    snprintf(dir, sizeof dir, "%s/broker", r->dir);
    snprintf(clock, sizeof clock, "%s/clock", r->dir);
    char server_certs[PATH_MAX + 32];
    snprintf(server_certs, sizeof server_certs, "%s%s", r->certs, r->cert_rotated ? "/rotated" : "");
    char *argv[] = { prog, "broker", "--profile", (char *)profile, "--port", port, "--admin-port", admin,
                     "--registry", registry, "--dir", dir, "--clock", clock, "--certs", r->certs,
                     "--server-certs", server_certs,
                     "--config-acks", NULL }; /* gcp: config PUBACKs for expect_ack (aws ignores it) */
    r->broker_child = orch_spawn(&r->orch, name, argv);
    return r->broker_child < 0 ? -1 : orch_wait_line(&r->orch, r->broker_child, "ready", NULL, 0, READY_GUARD_MS);
}

static int read_admin_password(const struct run *r, char *password, size_t cap)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/broker/admin-password", r->dir);
    return read_text_file(path, password, cap);
}

/*
 * "broker restart": stop it, start it again on the same ports and state
 * directory, log the cloud in again. "broker rotate-cert" restarts it with
 * the rotated server certificate (Mosquitto 2.0 rereads certfile/keyfile on
 * SIGHUP but keeps existing TLS connections; a rotation drops them).
 */
static void restart_broker(struct run *r, bool rotate)
{
    if (rotate)
        r->cert_rotated = true;
    if (r->broker_stop_count < sizeof r->broker_stops / sizeof r->broker_stops[0])
        r->broker_stops[r->broker_stop_count++] =
            (double)(vclock_now_ns(r->clock) - r->start_ns) / (double)VCLOCK_NS_PER_S;
    char name[64], password[128];
    snprintf(name, sizeof name, "broker-restart-%u", ++r->broker_restarts);
    orch_stop_child(&r->orch, r->broker_child, STOP_GUARD_MS);
    if (start_broker(r, name) < 0 || read_admin_password(r, password, sizeof password) < 0 ||
        cloud_app_reconnect(&r->cloud, password, READY_GUARD_MS) < 0)
        abort_run(r, "%s", "the broker did not come back after a restart");
}

static int control_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        close(fd);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static void gcp_identity(const struct run *r, char *project, char *region, char *registry, size_t cap);
static int control_connect(const char *path);
static double trip_now(const struct run *r);
static void send_gnss(struct run *r, double t);

/* --target hil, once the trip clock runs: start the board's firmware with the go
 * line on its serial port, then serve the port with the device's simulator. */
static int start_board_hil(struct run *r, size_t d)
{
    const char *id = r->sc.devices[d].id;
    char prog[PATH_MAX + 16], ctl[PATH_MAX + 80], clock[PATH_MAX + 16], log[PATH_MAX + 80], name[80], project[128],
        region[128], registry[128];
    gcp_identity(r, project, region, registry, sizeof project);
    struct target_qemu_device t = { .uart_path = r->opts->hil_serial, .dev = &r->sc.devices[d], .certs = r->certs,
                                    .broker_port = r->port, .project = project, .region = region,
                                    .registry = registry, .epoch_s = vclock_now_ns(r->clock) / VCLOCK_NS_PER_S,
                                    .rate_micro = vclock_rate_micro(r->clock) };
    if (hil_go(&t, READY_GUARD_MS) < 0)
        return -1;
    snprintf(prog, sizeof prog, "%s/sim7600", r->opts->bin);
    snprintf(ctl, sizeof ctl, "%s/%s.ctl", r->dir, id);
    snprintf(clock, sizeof clock, "%s/clock", r->dir);
    snprintf(log, sizeof log, "%s/%s-uart.log", r->dir, id);
    snprintf(name, sizeof name, "sim-%s", id);
    char *argv[] = { prog, "--serial", (char *)r->opts->hil_serial, "--control", ctl, "--clock", clock, "--log", log,
                     NULL };
    if (orch_spawn(&r->orch, name, argv) < 0)
        return -1;
    for (int waited = 0; (r->control[d] = control_connect(ctl)) < 0 && waited < READY_GUARD_MS; waited += 50)
        usleep(50000);
    if (r->control[d] < 0)
        return -1;
    send_gnss(r, trip_now(r)); /* the position the other simulators got at trip time 0 */
    return 0;
}

static int start_simulator(struct run *r, size_t d)
{
    if (r->opts->hil_serial)
        return 0; /* started with the board, by start_board_hil */
    const char *id = r->sc.devices[d].id;
    char prog[PATH_MAX + 16], link[PATH_MAX + 80], ctl[PATH_MAX + 80], clock[PATH_MAX + 16], log[PATH_MAX + 80],
        name[80];
    snprintf(prog, sizeof prog, "%s/sim7600", r->opts->bin);
    snprintf(link, sizeof link, "%s/%s.pty", r->dir, id);
    snprintf(ctl, sizeof ctl, "%s/%s.ctl", r->dir, id);
    snprintf(clock, sizeof clock, "%s/clock", r->dir);
    snprintf(log, sizeof log, "%s/%s-uart.log", r->dir, id);
    snprintf(name, sizeof name, "sim-%s", id);
    char *argv[] = { prog, "--link", link, "--control", ctl, "--clock", clock, "--log", log, NULL };
    int i = orch_spawn(&r->orch, name, argv);
    if (i < 0 || orch_wait_line(&r->orch, i, "/dev/", NULL, 0, READY_GUARD_MS) < 0)
        return -1;
    r->control[d] = control_connect(ctl);
    if (r->control[d] < 0) {
        fprintf(stderr, "cellbench: cannot connect to %s: %s\n", ctl, strerror(errno));
        return -1;
    }
    return 0;
}

/* The GCP identity fwcore needs, from the registry the broker uses. */
static void gcp_identity(const struct run *r, char *project, char *region, char *registry, size_t cap)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/registry-gcp.json", r->certs);
    json_t *root = json_load_file(path, 0, NULL);
    snprintf(project, cap, "%s", root ? json_string_value(json_object_get(root, "project")) : "");
    snprintf(region, cap, "%s", root ? json_string_value(json_object_get(root, "region")) : "");
    snprintf(registry, cap, "%s", root ? json_string_value(json_object_get(root, "registry")) : "");
    json_decref(root);
}

/* The file fwcore reads driver inputs from. */
static void inputs_path(const struct run *r, size_t d, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s-inputs", r->dir, r->sc.devices[d].id);
}

/* Whether the timeline sends device d the "publish" command (fwcore's test hook, off otherwise). */
static bool uses_publish_hook(const struct scenario *s, size_t d)
{
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        if (a->kind == SCENARIO_ACTION_COMMAND && strcmp(a->u.command.name, "publish") == 0 &&
            (a->device < 0 || (size_t)a->device == d))
            return true;
    }
    return false;
}

/* --target qemu: the device's firmware as the QEMU image, on the simulator's PTY. */
static int start_firmware_qemu(struct run *r, size_t d)
{
    char uart[PATH_MAX + 80], project[128], region[128], registry[128];
    snprintf(uart, sizeof uart, "%s/%s.pty", r->dir, r->sc.devices[d].id);
    gcp_identity(r, project, region, registry, sizeof project);
    struct target_qemu_device t = { .bin_dir = r->opts->bin, .uart_path = uart, .dev = &r->sc.devices[d],
                                    .certs = r->certs, .broker_port = r->port, .project = project,
                                    .region = region, .registry = registry,
                                    .rate_micro = vclock_rate_micro(r->clock),
                                    .epoch_s = vclock_now_ns(r->clock) / VCLOCK_NS_PER_S };
    return target_qemu_start(&r->orch, &t) < 0 ? -1 : 0;
}

static int start_firmware(struct run *r, size_t d)
{
    if (r->opts->target_qemu)
        return start_firmware_qemu(r, d);
    if (r->opts->hil_serial)
        return start_board_hil(r, d);
    const struct scenario_device *dev = &r->sc.devices[d];
    char prog[PATH_MAX + 16], uart[PATH_MAX + 80], clock[PATH_MAX + 16], state[PATH_MAX + 80], broker[64],
        name[80], project[128], region[128], registry[128], inputs[PATH_MAX + 80], ctl[PATH_MAX + 80];
    snprintf(prog, sizeof prog, "%s/fwcore", r->opts->bin);
    snprintf(ctl, sizeof ctl, "%s/%s.ctl", r->dir, dev->id); /* the modem's reset line */
    snprintf(uart, sizeof uart, "%s/%s.pty", r->dir, dev->id);
    snprintf(clock, sizeof clock, "%s/clock", r->dir);
    snprintf(state, sizeof state, "%s/%s-state", r->dir, dev->id);
    snprintf(broker, sizeof broker, "localhost:%d", r->port);
    snprintf(name, sizeof name, "fw-%s", dev->id);
    if (mkdir(state, 0755) < 0 && errno != EEXIST)
        return -1;
    gcp_identity(r, project, region, registry, sizeof project);
    inputs_path(r, d, inputs, sizeof inputs);
    char *argv[] = { prog, "--uart", uart, "--inputs", inputs, "--stack", (char *)scenario_stack_str(dev->stack), "--device",
                     (char *)dev->id, "--role", (char *)scenario_role_str(dev->role), "--certs", r->certs,
                     "--broker", broker, "--state", state, "--clock", clock, "--gcp-project", project,
                     "--gcp-region", region, "--gcp-registry", registry, "--reset-line", ctl,
                     NULL, NULL, NULL, NULL, NULL };
    size_t n = sizeof argv / sizeof argv[0] - 5; /* the first NULL */
    if (dev->registration) { /* the bus identifies itself with its registration and route */
        argv[n++] = "--registration";
        argv[n++] = (char *)dev->registration;
    }
    if (dev->route_number) {
        argv[n++] = "--route";
        argv[n++] = (char *)dev->route_number;
    }
    if (uses_publish_hook(&r->sc, d))
        argv[n++] = "--test-publish";
    return orch_spawn(&r->orch, name, argv) < 0 ? -1 : 0;
}

/* Send one control line to a device's simulator and read its reply. Returns 0 for "ok ...". */
static int control_send(struct run *r, size_t d, const char *line, char *reply, size_t cap)
{
    int fd = r->control[d];
    char msg[1100];
    int n = snprintf(msg, sizeof msg, "%s\n", line);
    reply[0] = '\0';
    if (fd < 0 || write(fd, msg, (size_t)n) != n) {
        snprintf(reply, cap, "error: control socket: %s", strerror(errno));
        return -1;
    }
    size_t got = 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (got + 1 < cap && poll(&p, 1, CONTROL_GUARD_MS) > 0) {
        ssize_t k = read(fd, reply + got, 1);
        if (k <= 0 || reply[got] == '\n')
            break;
        got++;
    }
    reply[got] = '\0';
    return strncmp(reply, "ok", 2) == 0 ? 0 : -1;
}

/* ---- the timeline ---- */

static double trip_now(const struct run *r)
{
    return (double)(vclock_now_ns(r->clock) - r->start_ns) / (double)VCLOCK_NS_PER_S;
}

/* On a terminal: one line showing trip time, position and messages so far. */
static void show_progress(const struct run *r, double t, const struct route_point *p, double end)
{
    char now[32], last[32];
    if (!isatty(STDERR_FILENO))
        return;
    scenario_format_time(t, now, sizeof now);
    scenario_format_time(end, last, sizeof last);
    fprintf(stderr, "\r\033[K  trip %s / %s  at %.5f,%.5f %3.0f km/h  cloud messages: %zu", now, last, p->lat, p->lon,
            p->speed_kmh, r->cloud.count);
}

static void clear_progress(void)
{
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
}

static void send_gnss(struct run *r, double t)
{
    struct route_point p;
    char line[256], reply[256];
    route_position_at(&r->sc.route.route, t, &p);
    if (r->cloud_up)
        show_progress(r, t, &p, r->sc.duration_s);
    if (route_gnss_line(&p, line, sizeof line) < 0)
        return;
    for (size_t d = 0; d < r->sc.device_count; d++) {
        if (r->sc.devices[d].role == SCENARIO_ROLE_BUS && !r->gnss_override[d] && r->control[d] >= 0 &&
            control_send(r, d, line, reply, sizeof reply) < 0)
            fprintf(stderr, "cellbench: %s: '%s': %s\n", r->sc.devices[d].id, line, reply);
    }
}

static void run_fault(struct run *r, const struct scenario_action *a)
{
    char reply[512];
    if (a->u.fault.target == SCENARIO_FAULT_BROKER) {
        restart_broker(r, strcmp(a->u.fault.line, "broker rotate-cert") == 0);
        return;
    }
    if (a->u.fault.target == SCENARIO_FAULT_CLOCK) {
        vclock_jump(r->clock, (int64_t)(a->u.fault.jump_s * (double)VCLOCK_NS_PER_S));
        r->start_ns += (int64_t)(a->u.fault.jump_s * (double)VCLOCK_NS_PER_S); /* trip time does not jump */
        r->jumped_ns += (int64_t)(a->u.fault.jump_s * (double)VCLOCK_NS_PER_S);
        r->cloud.trip_start_ns = r->start_ns;
        return;
    }
    for (size_t d = 0; d < r->sc.device_count; d++) {
        if (a->device >= 0 && (size_t)a->device != d)
            continue;
        if (strncmp(a->u.fault.line, "gnss ", 5) == 0)
            r->gnss_override[d] = true; /* the receiver no longer follows the route */
        if (control_send(r, d, a->u.fault.line, reply, sizeof reply) < 0) {
            fprintf(stderr, "cellbench: fault '%s' on %s: %s\n", a->u.fault.line, r->sc.devices[d].id, reply);
            r->fault_errors++;
        }
    }
}

/* Where the cloud sends a device its configuration or commands, or asks for its state. */
static void cloud_topic(const struct run *r, enum scenario_action_kind k, const char *id, char *buf, size_t cap)
{
    bool aws = r->sc.profile == SCENARIO_PROFILE_AWS;
    if (k == SCENARIO_ACTION_CONFIG)
        snprintf(buf, cap, aws ? "/bus/%s/configuration" : "cloud/gcp/devices/%s/config/set", id);
    else if (k == SCENARIO_ACTION_COMMAND)
        snprintf(buf, cap, aws ? "/bus/%s/commands" : "cloud/gcp/devices/%s/commands/send/bus-commands", id);
    else
        snprintf(buf, cap, aws ? "cloud/aws/shadow/%s/get" : "cloud/gcp/devices/%s/state/get", id);
}

/* text with every ${broker.endpoint}, ${broker.port} and ${file:PATH} replaced; NULL when a file cannot be read. */
static char *substitute(const struct run *r, const char *text)
{
    enum { VALUE_CAP = 65536 };
    struct bytes out = { NULL, 0, 0 };
    char *value = malloc(VALUE_CAP);
    if (!value)
        return NULL;
    while (*text) {
        const char *end = strncmp(text, "${", 2) == 0 ? strchr(text, '}') : NULL;
        value[0] = '\0';
        if (end && strncmp(text, "${broker.endpoint}", strlen("${broker.endpoint}")) == 0) {
            snprintf(value, VALUE_CAP, "localhost:%d", r->port);
        } else if (end && strncmp(text, "${broker.port}", strlen("${broker.port}")) == 0) {
            snprintf(value, VALUE_CAP, "%d", r->port);
        } else if (end && strncmp(text, "${file:", 7) == 0) {
            char path[PATH_MAX * 2];
            const char *file = text + 7;
            int len = (int)(end - file);
            if (strncmp(file, "certs/out/", 10) == 0) /* the run's PKI (its own one for unknown devices) */
                snprintf(path, sizeof path, "%s/%.*s", r->certs, len - 10, file + 10);
            else
                snprintf(path, sizeof path, "%s/%.*s", r->opts->root, len, file);
            if (read_text_file(path, value, VALUE_CAP) < 0) {
                fprintf(stderr, "cellbench: configuration: cannot read %s\n", path);
                free(out.data);
                free(value);
                return NULL;
            }
        } else {
            bytes_put(&out, *text++);
            continue;
        }
        for (const char *v = value; *v; v++)
            bytes_put(&out, *v);
        text = end + 1;
    }
    free(value);
    bytes_put(&out, '\0');
    return out.data;
}

/* A copy of a configuration with the substitutions made in every string; NULL on failure. */
static json_t *substituted_config(const struct run *r, const json_t *v)
{
    if (json_is_string(v)) {
        char *text = substitute(r, json_string_value(v));
        json_t *copy = text ? json_string(text) : NULL;
        free(text);
        return copy;
    }
    if (!json_is_object(v) && !json_is_array(v))
        return json_deep_copy(v);
    json_t *copy = json_is_object(v) ? json_object() : json_array();
    const char *key;
    json_t *item;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, item) {
            if (json_object_set_new(copy, key, substituted_config(r, item)) < 0)
                return json_decref(copy), NULL;
        }
    } else {
        json_array_foreach(v, i, item) {
            if (json_array_append_new(copy, substituted_config(r, item)) < 0)
                return json_decref(copy), NULL;
        }
    }
    return copy;
}

/* "depot": "<depot id>" becomes the depot unit's geofence, which the bus needs to detect its arrival
 * (reals are sent with 10 significant digits, so 50.47 stays 50.47):
 * {"name": id, "lat": .., "lon": .., "radius_m": ..}. Other values stay as written. */
static void expand_depot(const struct run *r, json_t *config)
{
    const char *name = json_string_value(json_object_get(config, "depot"));
    for (size_t d = 0; name && d < r->sc.device_count; d++) {
        const struct scenario_device *dev = &r->sc.devices[d];
        if (dev->role != SCENARIO_ROLE_DEPOT || strcmp(dev->id, name) != 0)
            continue;
        json_t *depot = json_pack("{s:s, s:f, s:f, s:i}", "name", dev->id, "lat", dev->lat, "lon", dev->lon,
                                  "radius_m", (int)lround(dev->radius_m));
        if (depot)
            json_object_set_new(config, "depot", depot);
        return;
    }
}

/*
 * The "publish" command (fwcore --test-publish): {"cmd":"publish","id",
 * "topic","payload"} from the entry's args; NULL when they lack a topic.
 */
static char *publish_command(const struct scenario_action *a)
{
    const json_t *topic = json_object_get(a->u.command.args, "topic");
    const json_t *payload = json_object_get(a->u.command.args, "payload");
    char id[64];
    snprintf(id, sizeof id, "timeline-%zu", a->index);
    json_t *cmd = json_is_string(topic) ? json_pack("{s:s, s:s, s:s}", "cmd", "publish", "id", id, "topic",
                                                    json_string_value(topic))
                                        : NULL;
    if (cmd && payload)
        json_object_set(cmd, "payload", (json_t *)payload);
    char *text = cmd ? json_dumps(cmd, JSON_COMPACT) : NULL;
    json_decref(cmd);
    return text;
}

/* The payload of a config, command or read_state; freed by the caller. */
static char *cloud_payload(const struct run *r, const struct scenario_action *a)
{
    if (a->kind == SCENARIO_ACTION_CONFIG) {
        json_t *config = substituted_config(r, a->u.config.payload);
        if (config && json_is_object(config))
            expand_depot(r, config);
        char *text = config ? json_dumps(config, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        json_decref(config);
        return text;
    }
    if (a->kind == SCENARIO_ACTION_READ_STATE)
        return strdup("{}");
    if (strcmp(a->u.command.name, "publish") == 0)
        return publish_command(a);
    char buf[128];
    snprintf(buf, sizeof buf, "{\"cmd\":\"%s\",\"id\":\"timeline-%zu\"}",
             strcmp(a->u.command.name, "query_picture") == 0 ? "picture" : "location", a->index);
    return strdup(buf);
}

/* Remember a configuration sent to device d (for expect_ack's version numbers). */
static void remember_config(struct run *r, const struct scenario_action *a, size_t d, const char *payload)
{
    if (r->config_count == r->config_cap) {
        size_t cap = r->config_cap * 2 + 4;
        struct ack_config *grown = realloc(r->configs, cap * sizeof *grown);
        if (!grown) {
            abort_run(r, "%s", "out of memory");
            return;
        }
        r->configs = grown;
        r->config_cap = cap;
    }
    json_t *config = json_loads(payload, 0, NULL);
    if (!config) {
        abort_run(r, "%s", "a configuration sent is not JSON");
        return;
    }
    r->configs[r->config_count++] = (struct ack_config){ r->sc.devices[d].id, a->at_s, config, 0 };
}

static void free_configs(struct run *r)
{
    for (size_t i = 0; i < r->config_count; i++)
        json_decref((json_t *)r->configs[i].config);
    free(r->configs);
    r->configs = NULL;
    r->config_count = r->config_cap = 0;
}

/* config (aws: retained, so a bus that connects later fetches it), command, read_state. */
static void run_cloud_action(struct run *r, const struct scenario_action *a)
{
    char *payload = cloud_payload(r, a);
    if (!payload)
        abort_run(r, "%s", "a configuration or command could not be prepared");
    for (size_t d = 0; d < r->sc.device_count && payload; d++) {
        if ((a->device >= 0 && (size_t)a->device != d) || (a->device < 0 && r->sc.devices[d].role != SCENARIO_ROLE_BUS))
            continue;
        char topic[300];
        cloud_topic(r, a->kind, r->sc.devices[d].id, topic, sizeof topic);
        bool retain = a->kind == SCENARIO_ACTION_CONFIG && r->sc.profile == SCENARIO_PROFILE_AWS;
        if (cloud_app_publish(&r->cloud, topic, payload, strlen(payload), retain) < 0)
            abort_run(r, "the cloud application cannot publish on %.200s", topic);
        if (a->kind == SCENARIO_ACTION_CONFIG)
            remember_config(r, a, d, payload);
    }
    free(payload);
}

/* A synthetic picture of size bytes at path (a PGM header, then a pattern). */
static int write_synthetic_picture(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    for (size_t i = 0; i < size; i++)
        fputc(i < 3 ? "P5\n"[i] : (int)((i * 31u + (i >> 9)) & 0xffu), f);
    return fclose(f) == 0 ? 0 : -1;
}

/* driver: one line "<behaviour> <picture>" appended to each target's inputs file. */
static void run_driver(struct run *r, const struct scenario_action *a)
{
    for (size_t d = 0; d < r->sc.device_count; d++) {
        if ((a->device >= 0 && (size_t)a->device != d) || (a->device < 0 && r->sc.devices[d].role != SCENARIO_ROLE_BUS))
            continue;
        char picture[PATH_MAX + 80], inputs[PATH_MAX + 80], line[PATH_MAX + 200];
        if (a->u.driver.picture) { /* absolute: fwcore resolves names against the run directory */
            if (realpath(a->u.driver.picture, picture) == NULL) {
                abort_run(r, "cannot find the picture %.200s", a->u.driver.picture);
                return;
            }
        } else {
            char made[PATH_MAX + 80];
            snprintf(made, sizeof made, "%s/%s-picture-%zu.bin", r->dir, r->sc.devices[d].id, a->index);
            if (write_synthetic_picture(made, a->u.driver.picture_size) != 0 || realpath(made, picture) == NULL) {
                abort_run(r, "cannot write the synthetic picture %.200s", made);
                return;
            }
        }
        inputs_path(r, d, inputs, sizeof inputs);
        int n = snprintf(line, sizeof line, "%s %s\n", scenario_behaviour_str(a->u.driver.behaviour), picture);
        int fd = open(inputs, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0 || n >= (int)sizeof line || write(fd, line, (size_t)n) != n)
            abort_run(r, "cannot write the driver input to %.200s", inputs);
        if (fd >= 0)
            close(fd);
    }
}

static void run_action(struct run *r, const struct scenario_action *a)
{
    char label[200];
    action_label(&r->sc, a, label, sizeof label);
    if (is_expectation(a->kind) || not_executed(&r->sc, a))
        return; /* expectations are judged at the end; the rest is reported there */
    if (r->opts->verbose)
        fprintf(stderr, "cellbench: %s %s\n", label, a->kind == SCENARIO_ACTION_FAULT ? a->u.fault.line : "");
    if (a->kind == SCENARIO_ACTION_FAULT)
        run_fault(r, a);
    else if (a->kind == SCENARIO_ACTION_DRIVER)
        run_driver(r, a);
    else
        run_cloud_action(r, a);
}

/* Trip time by which every expectation's window has closed. */
static double run_end(const struct scenario *s)
{
    double end = s->duration_s;
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        double within = a->kind == SCENARIO_ACTION_EXPECT_MESSAGE      ? a->u.message.within_s
                        : a->kind == SCENARIO_ACTION_EXPECT_CONNECTION ? a->u.connection.within_s
                                                                       : 0.0;
        end = fmax(end, a->at_s + within);
    }
    return end;
}

static int by_time(const void *x, const void *y)
{
    const struct scenario_action *a = *(const struct scenario_action *const *)x;
    const struct scenario_action *b = *(const struct scenario_action *const *)y;
    if (a->at_s != b->at_s)
        return a->at_s < b->at_s ? -1 : 1;
    return a->index < b->index ? -1 : (a->index > b->index);
}

static void abort_run(struct run *r, const char *fmt, const char *arg)
{
    if (r->aborted)
        return;
    r->aborted = true;
    snprintf(r->abort_reason, sizeof r->abort_reason, fmt, arg);
}

/*
 * Real time to wait for the cloud before trip time due (the next GNSS second
 * or timeline entry), at most 2 ms: a fixed 2 ms wait was 4 trip seconds at
 * 2000x, so entries ran late and GNSS seconds were skipped.
 */
static int64_t wait_ns_until(const struct run *r, double due)
{
    int64_t cap = 2 * VCLOCK_NS_PER_MS;
    int64_t ns = vclock_real_ns_until(r->clock, r->start_ns + (int64_t)(due * (double)VCLOCK_NS_PER_S));
    return ns < 0 || ns > cap ? cap : ns;
}

static void replay(struct run *r)
{
    const struct scenario_action **order = calloc(r->sc.action_count + 1, sizeof *order);
    if (!order) {
        abort_run(r, "%s", "out of memory");
        return;
    }
    for (size_t i = 0; i < r->sc.action_count; i++)
        order[i] = &r->sc.actions[i];
    qsort(order, r->sc.action_count, sizeof *order, by_time);
    double end = run_end(&r->sc);
    long last_gnss = 0; /* the fix of second 0 was sent before the firmware started */
    size_t next = 0;
    for (double t = trip_now(r); t <= end && !r->aborted; t = trip_now(r)) {
        if (stop_signal) {
            abort_run(r, "stopped by signal %s", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        int dead = orch_check(&r->orch);
        if (dead >= 0) {
            abort_run(r, "%s exited during the trip", r->orch.children[dead].name);
            orch_show_log_tail(&r->orch, dead, 1500);
            break;
        }
        if ((long)t > last_gnss) {
            last_gnss = (long)t;
            send_gnss(r, (double)last_gnss);
            if (r->sc.profile == SCENARIO_PROFILE_GCP) /* GCP has no presence events: poll once a trip second */
                cloud_app_poll_devices(&r->cloud);
        }
        while (next < r->sc.action_count && order[next]->at_s <= t)
            run_action(r, order[next++]);
        double due = fmin((double)(last_gnss + 1), next < r->sc.action_count ? order[next]->at_s : end);
        if (cloud_app_poll_ns(&r->cloud, wait_ns_until(r, due)) < 0)
            abort_run(r, "%s", "the cloud application lost the broker");
    }
    free(order);
    clear_progress();
}

/* ---- verdicts ---- */

struct tally {
    unsigned passed, failed, not_run;
};

/* ---- the UART capture (sim7600 --log) ---- */

/* Append the bytes of one quoted, C-escaped capture field (\r \n \t \" \\ \xHH). */
static void unescape_into(struct bytes *b, const char *q)
{
    static const char from[] = "rnt\"\\", to[] = "\r\n\t\"\\";
    for (; *q && *q != '"'; q++) {
        if (*q != '\\' || !q[1]) {
            bytes_put(b, *q);
        } else if (q[1] == 'x' && q[2] && q[3]) {
            char hex[3] = { q[2], q[3], 0 };
            bytes_put(b, (char)strtol(hex, NULL, 16));
            q += 3;
        } else {
            const char *k = strchr(from, q[1]);
            bytes_put(b, k ? to[k - from] : q[1]);
            q++;
        }
    }
}

/* Virtual time of a capture line ("2026-11-27T04:09:32.271Z ...") in ns, or -1. */
static int64_t capture_time_ns(const char *line)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof tm);
    const char *rest = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest || sscanf(rest, ".%dZ", &ms) != 1)
        return -1;
    return (int64_t)timegm(&tm) * VCLOCK_NS_PER_S + (int64_t)ms * VCLOCK_NS_PER_MS;
}

/* Both directions of a device's UART up to virtual time until_ns, as raw bytes. */
static int read_capture(const struct run *r, const char *id, int64_t until_ns, struct bytes *out)
{
    char path[PATH_MAX + 80], line[8192];
    snprintf(path, sizeof path, "%s/%s-uart.log", r->dir, id);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        int64_t t = capture_time_ns(line);
        const char *q = strchr(line, '"');
        if (line[0] == '#' || t < 0 || !q)
            continue;
        if (t > until_ns)
            break;
        unescape_into(out, q + 1);
    }
    fclose(f);
    return 0;
}

static bool check_uart(const struct run *r, const struct scenario_action *a, char *why, size_t cap)
{
    struct bytes capture = { NULL, 0, 0 };
    const char *id = r->sc.devices[a->device >= 0 ? (size_t)a->device : 0].id;
    int64_t until = r->start_ns + (int64_t)(a->at_s * (double)VCLOCK_NS_PER_S);
    if (read_capture(r, id, until, &capture) < 0) {
        snprintf(why, cap, "no UART capture for %s", id);
        return false;
    }
    bool ok = scenario_check_uart(a, capture.data ? capture.data : "", capture.len, why, cap);
    free(capture.data);
    return ok;
}

/* A read_state holds when the first reply to its request (at or after its time) matches. */
static bool check_read_state(const struct run *r, const struct scenario_action *a, const struct expect_record *log,
                             size_t n, char *why, size_t cap)
{
    char request[300], reply[320];
    const char *id = r->sc.devices[a->device >= 0 ? (size_t)a->device : 0].id;
    cloud_topic(r, a->kind, id, request, sizeof request);
    snprintf(reply, sizeof reply, "cloud/%s/reply/%s", scenario_profile_str(r->sc.profile),
             request + strlen("cloud/aws/"));
    for (size_t i = 0; i < n; i++) {
        if (log[i].topic && strcmp(log[i].topic, reply) == 0 && log[i].t_s >= a->at_s) {
            char detail[400];
            if (expect_match_eval(&a->u.read_state.match, log[i].msg, detail, sizeof detail))
                return true;
            snprintf(why, cap, "the state read on %.120s does not match: %.300s", reply, detail);
            return false;
        }
    }
    snprintf(why, cap, "no reply on %s", reply);
    return false;
}

/* The last acknowledgement of that kind by device among events, for a failure's reason. */
static void last_ack_seen(const struct scenario_ack_event *events, size_t n, const char *device,
                          enum scenario_ack what, char *buf, size_t cap)
{
    const struct scenario_ack_event *last = NULL;
    for (size_t i = 0; i < n; i++)
        if (events[i].what == what && strcmp(events[i].device, device) == 0)
            last = &events[i];
    if (!last) {
        snprintf(buf, cap, "; none seen in the whole run");
        return;
    }
    char at[32];
    scenario_format_time(last->t_s, at, sizeof at);
    snprintf(buf, cap, "; the last one seen: version %ld at %s", last->version, at);
}

/*
 * expect_ack: acknowledgements worked out from the cloud log (acks.h):
 * config = the broker saw the device's PUBACK of that config (gcp), state =
 * a device state reporting it (gcp), shadow = a shadow document whose
 * reported state reports it (aws). Versions count the configurations sent.
 */
static bool check_ack(struct run *r, const struct scenario_action *a, const struct expect_record *log, size_t n,
                      char *why, size_t cap)
{
    const char *id = r->sc.devices[a->device >= 0 ? (size_t)a->device : 0].id;
    if (a->u.ack.what == SCENARIO_ACK_CONFIG && r->sc.profile != SCENARIO_PROFILE_GCP) {
        snprintf(why, cap, "aws has no config versions to acknowledge; expect the shadow instead");
        return false;
    }
    if (r->sc.profile == SCENARIO_PROFILE_GCP)
        acks_gcp_versions(r->configs, r->config_count, log, n);
    long latest = acks_latest(r->configs, r->config_count, id, a->at_s);
    if (a->u.ack.version == 0 && latest == 0) {
        snprintf(why, cap, "no configuration was sent to %s by then, so there is no latest version", id);
        return false;
    }
    struct scenario_ack_event *events = NULL;
    size_t count = acks_collect(r->sc.profile, r->configs, r->config_count, log, n, &events);
    bool ok = scenario_check_ack(&r->sc, a, events, count, latest, why, cap);
    if (!ok) {
        char seen[96];
        size_t used = strlen(why);
        last_ack_seen(events, count, id, a->u.ack.what, seen, sizeof seen);
        snprintf(why + used, cap > used ? cap - used : 0, "%s", seen);
    }
    free(events);
    return ok;
}

static bool judge(struct run *r, const struct scenario_action *a, const struct expect_record *log, size_t n,
                  const struct scenario_conn_event *conn, size_t nconn, char *why, size_t cap)
{
    switch (a->kind) {
    case SCENARIO_ACTION_EXPECT_MESSAGE: return scenario_check_message(&r->sc, a, log, n, why, cap);
    case SCENARIO_ACTION_EXPECT_ORDER: return scenario_check_order(&r->sc, a, log, n, why, cap);
    case SCENARIO_ACTION_EXPECT_NO_LOSS: return scenario_check_no_loss(&r->sc, a, log, n, why, cap);
    case SCENARIO_ACTION_EXPECT_CONNECTION:
        return scenario_check_connection(&r->sc, a, conn, nconn, why, cap);
    case SCENARIO_ACTION_READ_STATE: return check_read_state(r, a, log, n, why, cap);
    case SCENARIO_ACTION_EXPECT_ACK: return check_ack(r, a, log, n, why, cap);
    case SCENARIO_ACTION_EXPECT_UART: return check_uart(r, a, why, cap);
    default: snprintf(why, cap, "not an expectation"); return false;
    }
}

/* ---- JUnit XML (--junit) ---- */

static void xml_escaped(FILE *f, const char *text, size_t len)
{
    for (size_t i = 0; i < len && text[i]; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '<')
            fputs("&lt;", f);
        else if (c == '>')
            fputs("&gt;", f);
        else if (c == '&')
            fputs("&amp;", f);
        else if (c == '"')
            fputs("&quot;", f);
        else if (c < 0x20 && c != '\n' && c != '\t')
            fprintf(f, "&#x%X;", c == '\r' ? 0xD : 0xFFFD);
        else
            fputc(c, f);
    }
}

/* The last max bytes of a device's UART capture into f, escaped (the failure's transcript tail). */
static void xml_capture_tail(const struct run *r, const struct scenario_action *a, FILE *f, long max)
{
    char path[PATH_MAX + 80], buf[4096];
    const char *id = r->sc.devices[a && a->device >= 0 ? (size_t)a->device : 0].id;
    snprintf(path, sizeof path, "%s/%s-uart.log", r->dir, id);
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    fprintf(f, "\n--- tail of %s\n", path);
    if (fseek(in, 0, SEEK_END) == 0 && ftell(in) > max)
        fseek(in, -max, SEEK_END);
    else
        rewind(in);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        xml_escaped(f, buf, n);
    fclose(in);
}

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_NOT_RUN };

/* ---- the HTML report (--report) ---- */

/* Remember a verdict line for the report (the verdict as PASS, FAIL or NOT RUN). */
static void keep_verdict(struct run *r, const char *word, const char *label, const char *why)
{
    if (!r->opts->report_dir)
        return;
    if (r->verdict_count == r->verdict_cap) {
        size_t cap = r->verdict_cap * 2 + 16;
        struct report_verdict *grown = realloc(r->verdicts, cap * sizeof *grown);
        if (!grown)
            return;
        r->verdicts = grown;
        r->verdict_cap = cap;
    }
    struct report_verdict *v = &r->verdicts[r->verdict_count];
    v->verdict = strncmp(word, "PASS", 4) == 0 ? "PASS" : strncmp(word, "FAIL", 4) == 0 ? "FAIL" : "NOT RUN";
    v->label = strdup(label);
    v->reason = strdup(why ? why : "");
    if (!v->label || !v->reason) {
        free((char *)v->label);
        free((char *)v->reason);
        return;
    }
    r->verdict_count++;
}

static void free_verdicts(struct run *r)
{
    for (size_t i = 0; i < r->verdict_count; i++) {
        free((char *)r->verdicts[i].label);
        free((char *)r->verdicts[i].reason);
    }
    free(r->verdicts);
    r->verdicts = NULL;
    r->verdict_count = r->verdict_cap = 0;
}

/* Write the page of a run that happened; returns 0 or -1 (message on stderr). */
static int write_report(struct run *r)
{
    struct report_input in = {
        .sc = &r->sc, .run_dir = r->dir[0] ? r->dir : NULL, .out_dir = r->opts->report_dir,
        .trip_start_ns = r->start_ns - r->jumped_ns, .verdicts = r->verdicts, .verdict_count = r->verdict_count,
        .meters = r->opts->meters, .meter_count = r->opts->meter_count,
    };
    char page[PATH_MAX * 2];
    if (report_write(&in, page, sizeof page) < 0)
        return -1;
    printf("report: %s\n", page);
    return 0;
}

/* Print one verdict line, count it and add it to the JUnit cases. */
static void emit(struct run *r, struct tally *t, const struct scenario_action *a, enum verdict v, const char *label,
                 const char *why)
{
    static const char *const words[] = { "PASS   ", "FAIL   ", "NOT RUN" };
    printf("%s %s%s%s\n", words[v], label, why ? ": " : "", why ? why : "");
    t->passed += v == VERDICT_PASS;
    t->failed += v == VERDICT_FAIL;
    t->not_run += v == VERDICT_NOT_RUN;
    keep_verdict(r, words[v], label, why);
    if (!r->cases)
        return;
    fprintf(r->cases, "    <testcase classname=\"");
    xml_escaped(r->cases, r->sc.name, SIZE_MAX);
    fprintf(r->cases, "\" name=\"");
    xml_escaped(r->cases, label, SIZE_MAX);
    fprintf(r->cases, "\">");
    if (v != VERDICT_PASS) {
        fprintf(r->cases, v == VERDICT_FAIL ? "<failure message=\"" : "<skipped message=\"");
        xml_escaped(r->cases, why ? why : "", SIZE_MAX);
        fprintf(r->cases, "\">");
        if (v == VERDICT_FAIL) {
            fprintf(r->cases, "run directory: %s", r->dir);
            xml_capture_tail(r, a, r->cases, 2000);
        }
        fprintf(r->cases, v == VERDICT_FAIL ? "</failure>" : "</skipped>");
    }
    fprintf(r->cases, "</testcase>\n");
}

/* Write this scenario's <testsuite> into the --junit file. */
static void junit_suite(struct run *r, const struct tally *t)
{
    FILE *f = r->opts->junit;
    if (r->cases) {
        fclose(r->cases);
        r->cases = NULL;
    }
    if (!f)
        return;
    fprintf(f, "  <testsuite name=\"");
    xml_escaped(f, r->sc.name ? r->sc.name : "", SIZE_MAX);
    fprintf(f, "\" tests=\"%u\" failures=\"%u\" skipped=\"%u\">\n", t->passed + t->failed + t->not_run, t->failed,
            t->not_run);
    if (r->cases_text)
        fwrite(r->cases_text, 1, r->cases_len, f);
    fprintf(f, "  </testsuite>\n");
    free(r->cases_text);
    r->cases_text = NULL;
}

/* Whether device was last reported connected at or before t. */
static bool connected_before(const struct scenario_conn_event *ev, size_t n, const char *device, double t)
{
    bool connected = false;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].t_s <= t && strcmp(ev[i].device, device) == 0)
            connected = ev[i].connected;
    }
    return connected;
}

/*
 * A broker the runner stopped (restart, rotate-cert) ended every device
 * connection at that moment, but a stopped broker publishes no presence
 * event: add a disconnection for each device connected then, keeping the
 * events in time order. Returns the new count.
 */
static size_t add_broker_stops(const struct run *r, struct scenario_conn_event **conn, size_t n)
{
    size_t extra = r->broker_stop_count * r->sc.device_count, total = n;
    if (extra == 0)
        return n;
    struct scenario_conn_event *ev = realloc(*conn, (n + extra) * sizeof *ev);
    if (!ev)
        return n;
    for (size_t s = 0; s < r->broker_stop_count; s++) {
        for (size_t d = 0; d < r->sc.device_count; d++) {
            const char *id = r->sc.devices[d].id;
            if (connected_before(ev, n, id, r->broker_stops[s]))
                ev[total++] = (struct scenario_conn_event){ r->broker_stops[s], id, false };
        }
    }
    for (size_t i = 1; i < total; i++) { /* stable insertion sort by time */
        struct scenario_conn_event e = ev[i];
        size_t j = i;
        for (; j > 0 && ev[j - 1].t_s > e.t_s; j--)
            ev[j] = ev[j - 1];
        ev[j] = e;
    }
    *conn = ev;
    return total;
}

static void report(struct run *r, struct tally *t)
{
    struct expect_record *log = NULL;
    struct scenario_conn_event *conn = NULL;
    size_t n = cloud_app_records(&r->cloud, &log);
    size_t nconn = cloud_app_conn_events(&r->cloud, &conn);
    nconn = add_broker_stops(r, &conn, nconn);
    for (size_t i = 0; i < r->sc.action_count; i++) {
        const struct scenario_action *a = &r->sc.actions[i];
        char label[200], why[512] = "";
        action_label(&r->sc, a, label, sizeof label);
        const char *missing = not_executed(&r->sc, a);
        if (missing) {
            emit(r, t, a, VERDICT_NOT_RUN, label, missing);
        } else if (!is_expectation(a->kind) && a->kind != SCENARIO_ACTION_READ_STATE) {
            continue;
        } else if (r->aborted) {
            snprintf(why, sizeof why, "run aborted (%s)", r->abort_reason);
            emit(r, t, a, VERDICT_FAIL, label, why);
        } else if (judge(r, a, log, n, conn, nconn, why, sizeof why)) {
            emit(r, t, a, VERDICT_PASS, label, NULL);
        } else {
            emit(r, t, a, VERDICT_FAIL, label, why);
        }
    }
    if (r->fault_errors) {
        char why[128];
        snprintf(why, sizeof why, "%u fault line(s) refused by the simulator (see the output above)", r->fault_errors);
        emit(r, t, NULL, VERDICT_FAIL, "faults", why);
    }
    if (r->opts->verbose)
        fprintf(stderr, "cellbench: the cloud application received %zu messages\n", n);
    free(log);
    free(conn);
}

/* ---- one scenario ---- */

static int64_t trip_start_epoch_ns(const struct scenario *s)
{
    if (s->start_epoch_s)
        return s->start_epoch_s * VCLOCK_NS_PER_S;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * VCLOCK_NS_PER_S;
}

static bool scenario_runnable(struct run *r, struct tally *t)
{
    bool ok = true;
    char why[300];
    for (size_t d = 0; d < r->sc.device_count; d++) {
        const char *missing = stack_missing(r->sc.devices[d].stack);
        if (missing) {
            snprintf(why, sizeof why, "device %s, stack %s: %s", r->sc.devices[d].id,
                     scenario_stack_str(r->sc.devices[d].stack), missing);
            emit(r, t, NULL, VERDICT_NOT_RUN, r->sc.name, why);
            ok = false;
        }
    }
    const char *qemu_missing = r->opts->target_qemu || r->opts->hil_serial ? target_qemu_unsupported(&r->sc) : NULL;
    if (r->opts->hil_serial && r->sc.device_count != 1)
        qemu_missing = "a board runs one device: the scenario must have exactly one";
    if (qemu_missing) {
        emit(r, t, NULL, VERDICT_NOT_RUN, r->sc.name, qemu_missing);
        ok = false;
    }
    if (r->sc.route.source == SCENARIO_ROUTE_NONE) {
        emit(r, t, NULL, VERDICT_NOT_RUN, r->sc.name, "scenarios without a route are not executed yet");
        ok = false;
    }
    return ok;
}

static int start_everything(struct run *r)
{
    char clock[PATH_MAX + 16], password[128];
    snprintf(clock, sizeof clock, "%s/clock", r->dir);
    r->start_ns = trip_start_epoch_ns(&r->sc);
    r->clock = vclock_create(clock, r->start_ns, 0); /* frozen while everything starts */
    if (!r->clock) {
        fprintf(stderr, "cellbench: cannot create the clock %s: %s\n", clock, strerror(errno));
        return -1;
    }
    if (start_broker(r, "broker") < 0)
        return -1;
    for (size_t d = 0; d < r->sc.device_count; d++) {
        if (start_simulator(r, d) < 0)
            return -1;
    }
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/cloud.log", r->dir);
    if (read_admin_password(r, password, sizeof password) < 0 ||
        cloud_app_start(&r->cloud, r->admin_port, "cloud", password, r->clock, r->start_ns, log, READY_GUARD_MS) < 0)
        return -1;
    r->cloud_up = true;
    if (r->sc.profile == SCENARIO_PROFILE_GCP) /* events/depot-arrived -> Pub/Sub -> the depot unit */
        cloud_app_relay_depot_arrivals(&r->cloud);
    send_gnss(r, 0.0);
    int64_t rate = r->opts->rate_micro ? r->opts->rate_micro : (int64_t)llround(r->sc.rate * VCLOCK_RATE_ONE);
    vclock_set(r->clock, r->start_ns, rate); /* trip time 0 */
    for (size_t d = 0; d < r->sc.device_count; d++) {
        if (start_firmware(r, d) < 0)
            return -1;
    }
    return 0;
}

static void remove_run_dir(const char *dir)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cellbench: could not remove %s\n", dir);
}

static void stop_everything(struct run *r)
{
    orch_stop_all(&r->orch, STOP_GUARD_MS);
    for (size_t d = 0; d < ORCH_MAX_CHILDREN; d++) {
        if (r->control[d] >= 0)
            close(r->control[d]);
        r->control[d] = -1;
    }
}

/* 0 every expectation held, 1 some did not or were not run, 2 the scenario is invalid or could not start. */
static int run_scenario(const struct run_opts *o, const char *path)
{
    static struct run r;
    struct scenario_error err;
    memset(&r, 0, sizeof r);
    r.opts = o;
    for (size_t d = 0; d < ORCH_MAX_CHILDREN; d++)
        r.control[d] = -1;
    if (scenario_load(path, &r.sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    printf("== %s (%s, %s, rate %g%s)\n", r.sc.name, path, scenario_profile_str(r.sc.profile),
           o->rate_micro ? (double)o->rate_micro / VCLOCK_RATE_ONE : r.sc.rate,
           o->target_qemu ? ", qemu" : o->hil_serial ? ", board" : "");
    struct tally t = { 0, 0, 0 };
    r.cases = o->junit ? open_memstream(&r.cases_text, &r.cases_len) : NULL;
    if (!scenario_runnable(&r, &t)) {
        if (o->report_dir)
            write_report(&r); /* verdicts and route only: nothing ran */
        free_verdicts(&r);
        junit_suite(&r, &t);
        scenario_free(&r.sc);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(r.dir, sizeof r.dir, "%.3000s/cellbench-run.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    snprintf(r.certs, sizeof r.certs, "%s/certs/out", o->root);
    if (!mkdtemp(r.dir)) {
        fprintf(stderr, "cellbench: cannot make a run directory: %s\n", strerror(errno));
        junit_suite(&r, &t);
        scenario_free(&r.sc);
        return 2;
    }
    orch_init(&r.orch, r.dir);
    r.orch.stop = &stop_signal;
    int rc = ensure_certs(&r) == 0 && start_everything(&r) == 0 ? 0 : 2;
    if (rc != 0)
        emit(&r, &t, NULL, VERDICT_FAIL, r.sc.name, "the bench could not be started (see the messages above)");
    if (rc == 0) {
        replay(&r);
        stop_everything(&r); /* nothing more happens: judge the complete log */
        report(&r, &t);
        printf("%s: %u passed, %u failed, %u not run%s%s\n", r.sc.name, t.passed, t.failed, t.not_run,
               r.aborted ? "; aborted: " : "", r.aborted ? r.abort_reason : "");
        rc = t.failed || t.not_run || r.aborted ? 1 : 0;
    }
    stop_everything(&r);
    if (o->report_dir && write_report(&r) < 0) /* also when the bench could not start: its logs say why */
        rc = rc ? rc : 1;
    junit_suite(&r, &t);
    if (r.cloud_up)
        cloud_app_stop(&r.cloud);
    vclock_close(r.clock);
    if (o->keep || rc != 0)
        printf("run directory (logs, UART captures): %s\n", r.dir);
    else
        remove_run_dir(r.dir);
    free_verdicts(&r);
    free_configs(&r);
    scenario_free(&r.sc);
    return rc;
}

static void run_usage(FILE *out)
{
    fprintf(out, "usage: cellbench run SCENARIO... [--rate X] [--junit FILE] [--report DIR] [--meters SPEC]\n"
                 "                [--keep] [--verbose] [--target host|qemu|hil [--serial DEV]]\n"
                 "  --rate X    virtual seconds per real second (default: the scenario's rate)\n"
                 "  --junit FILE  JUnit XML: a test case per expectation (failures with the UART tail)\n"
                 "  --report DIR  an HTML page per scenario run, DIR/<scenario>.html, logs copied beside it\n"
                 "  --meters SPEC billing meters for the report, NAME=UNIT_BYTES[/MIN_BYTES],...\n"
                 "                (default aws=5120,gcp=1/1024)\n"
                 "  --keep      keep the run directory (logs, UART captures) even when everything passed\n"
                 "  --verbose   show the timeline as it is executed\n"
                 "  --target T  host (fwcore, default), qemu (the Cortex-M4 image in qemu-system-arm) or\n"
                 "              hil (a flashed nRF52840 on --serial DEV; cellbench hil flashes it)\n"
                 "exit status: 0 every expectation held, 1 some failed or were not run, 2 bad input\n");
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
    static const struct option longopts[] = {
        { "rate", required_argument, NULL, 'r' }, { "keep", no_argument, NULL, 'k' },
        { "verbose", no_argument, NULL, 'v' },    { "help", no_argument, NULL, 'h' },
        { "junit", required_argument, NULL, 'J' }, { "report", required_argument, NULL, 'R' },
        { "meters", required_argument, NULL, 'M' },  { "target", required_argument, NULL, 'T' },
        { "serial", required_argument, NULL, 'S' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    bool target_hil = false;
    const char *serial = NULL;
    optind = 1;
    o->meter_count = billing_default_meters(o->meters);
    while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (vclock_parse_rate(optarg, &o->rate_micro) < 0 || o->rate_micro <= 0) {
                fprintf(stderr, "cellbench run: --rate: '%s' is not a positive rate\n", optarg);
                return 2;
            }
            break;
        case 'k': o->keep = true; break;
        case 'v': o->verbose = true; break;
        case 'h': run_usage(stdout); return 0;
        case 'J': o->junit_path = optarg; break;
        case 'T':
            if (strcmp(optarg, "host") != 0 && strcmp(optarg, "qemu") != 0 && strcmp(optarg, "hil") != 0) {
                fprintf(stderr, "cellbench run: --target: '%s' is neither host nor qemu nor hil\n", optarg);
                return 2;
            }
            o->target_qemu = strcmp(optarg, "qemu") == 0;
            target_hil = strcmp(optarg, "hil") == 0;
            break;
        case 'S': serial = optarg; break;
        case 'R': o->report_dir = optarg; break;
        case 'M': {
            char why[256];
            if (billing_parse_meters(optarg, o->meters, &o->meter_count, why, sizeof why) < 0) {
                fprintf(stderr, "cellbench run: --meters: %s\n", why);
                return 2;
            }
            break;
        }
        default: run_usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        run_usage(stderr);
        return 2;
    }
    if (target_hil != (serial != NULL)) {
        fprintf(stderr, "cellbench run: --target hil and --serial DEV go together\n");
        return 2;
    }
    o->hil_serial = serial;
    program_dir(o->bin);
    source_root(o->bin, o->root);
    return -1;
}

int cli_run_main(int argc, char **argv)
{
    struct run_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_run_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.junit_path && !(o.junit = fopen(o.junit_path, "w"))) {
        fprintf(stderr, "cellbench run: --junit %s: %s\n", o.junit_path, strerror(errno));
        return 2;
    }
    if (o.junit)
        fprintf(o.junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"cellbench\">\n");
    install_signals();
    int worst = 0;
    for (int i = optind; i < argc && !stop_signal; i++) {
        int one = run_scenario(&o, argv[i]);
        worst = one > worst ? one : worst;
    }
    if (o.junit) {
        fprintf(o.junit, "</testsuites>\n");
        if (fclose(o.junit) != 0) {
            fprintf(stderr, "cellbench run: --junit %s: %s\n", o.junit_path, strerror(errno));
            worst = worst ? worst : 1;
        }
    }
    return stop_signal ? 1 : worst;
}

/* ---- validate and list ---- */

int cli_validate_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cellbench validate SCENARIO...\n");
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct scenario s;
        struct scenario_error err;
        if (scenario_load(argv[i], &s, &err) < 0) {
            fprintf(stderr, "%s\n", err.message);
            rc = 1;
            continue;
        }
        printf("%s: ok (%s, %zu devices, %zu timeline entries)\n", argv[i], s.name, s.device_count, s.action_count);
        scenario_free(&s);
    }
    return rc;
}

static int list_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "cellbench list: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0) {
            char path[PATH_MAX + 256];
            struct scenario s;
            struct scenario_error err;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            if (scenario_load(path, &s, &err) == 0) {
                printf("%-28s %s\n", s.name, s.description);
                scenario_free(&s);
            } else {
                fprintf(stderr, "%s\n", err.message);
                rc = 1;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int cli_list_main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: cellbench list [DIR]   (default: scenarios)\n");
        return 2;
    }
    return list_dir(argc == 2 ? argv[1] : "scenarios");
}
