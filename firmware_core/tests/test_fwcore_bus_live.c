/*
 * test_fwcore_bus_live.c - fwcore's bus application end to end on both
 * modem-TLS stacks: the real simulator (build/bin/sim7600 --link), the cloud
 * broker (cellbench broker --profile aws|gcp) and fwcore --stack
 * aws-modem-tls|gcp-modem-tls on free ports, all on one virtual clock file
 * running at 10x. A cloud subscriber on the admin listener waits on the
 * events (aws /bus/events; gcp /devices/bus-1/events and the Pub/Sub topic
 * pubsub/bus-events); once it is subscribed the simulator's GNSS gets a fix.
 *
 * aws: the location event reaches the subscriber; a location command is
 * answered with its request id; a clock jump past the 30 s report interval
 * brings the next periodic report; with --registration the identification
 * event comes first; a driver report appended to the --inputs file sends its
 * 9000-byte picture in four chunks.
 * gcp: the location event reaches the subscriber through Pub/Sub (deviceId
 * bus-1) and a command sent by the cloud (commands/send) is answered.
 * Network drop (both): `net down` on the simulator's control; the bus loses
 * the connection; a clock jump past the report interval makes it stamp and
 * queue a location event while offline; after `net up` that QoS 1 event
 * arrives and the events' sequence numbers have no gap.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "live.h"
#include "vclock.h"

#define GUARD_MS 60000
#define MAX_SEQ 256

static char bin_dir[4096];

enum { BROKER, SIM, SUB, FW, CHILDREN };
static struct live_child children[CHILDREN];
static char live_dir[64]; /* the running rig's directory, removed by the teardown too */

/* One bench: broker, simulator, cloud subscriber and fwcore on one clock. */
struct rig {
    bool gcp;
    char dir[64];
    char clock_path[128], ctl[128], inputs[128], admin[16], pw[256];
    struct vclock *clock;
};

static int stop_children(void **state)
{
    (void)state;
    live_stop_children(children, CHILDREN);
    if (live_dir[0] != '\0') {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", live_dir);
        live_dir[0] = '\0';
        return system(cmd) == 0 ? 0 : -1;
    }
    return 0;
}

static void start_broker(struct rig *r, const char *port)
{
    char prog[4200], broker_dir[128];
    snprintf(broker_dir, sizeof(broker_dir), "%s/broker", r->dir);
    snprintf(prog, sizeof(prog), "%s/cellbench", bin_dir);
    char *argv[] = {prog, "broker", "--profile", r->gcp ? "gcp" : "aws", "--port", (char *)port,
                    "--admin-port", r->admin, "--registry",
                    r->gcp ? "certs/out/registry-gcp.json" : "certs/out/registry-aws.json", "--dir",
                    broker_dir, "--clock", r->clock_path, "--certs", "certs/out", NULL};
    live_spawn(&children[BROKER], argv);
    assert_true(live_wait_for(&children[BROKER], "ready", GUARD_MS));
    snprintf(r->pw, sizeof(r->pw), "%s/admin-password", broker_dir);
    FILE *f = fopen(r->pw, "r");
    assert_non_null(f);
    assert_non_null(fgets(r->pw, sizeof(r->pw), f));
    fclose(f);
    r->pw[strcspn(r->pw, "\r\n")] = '\0';
}

static void start_subscriber(struct rig *r)
{
    /* line-buffered, so the SUBACK line shows up at once */
    char *aws[] = {"/usr/bin/stdbuf", "-oL", "/usr/bin/mosquitto_sub", "-d", "-h", "127.0.0.1", "-p",
                   r->admin, "-u", "cloud", "-P", r->pw, "-t", "/bus/events", "-q", "1", NULL};
    char *gcp[] = {"/usr/bin/stdbuf", "-oL", "/usr/bin/mosquitto_sub", "-d", "-v", "-h", "127.0.0.1",
                   "-p", r->admin, "-u", "cloud", "-P", r->pw, "-t", "/devices/bus-1/events", "-t",
                   "pubsub/bus-events", "-q", "1", NULL};
    live_spawn(&children[SUB], r->gcp ? gcp : aws);
    /* gcp subscribes to two topics: one SUBACK names both */
    if (!live_wait_for(&children[SUB], "SUBACK", GUARD_MS))
        fail_msg("subscriber not subscribed:\n%s", children[SUB].seen);
}

static void start_firmware(struct rig *r, const char *broker_addr)
{
    char prog[4200], statedir[128];
    snprintf(prog, sizeof(prog), "%s/fwcore", bin_dir);
    snprintf(statedir, sizeof(statedir), "%s/state", r->dir);
    char *argv[] = {prog, "--uart", "", "--stack", r->gcp ? "gcp-modem-tls" : "aws-modem-tls",
                    "--device", "bus-1", "--certs", "certs/out", "--broker", (char *)broker_addr,
                    "--state", statedir, "--clock", r->clock_path, "--inputs", r->inputs,
                    "--registration", "AA 1234 BC", "--gcp-project", "bench-project",
                    "--gcp-region", "europe-west1", "--gcp-registry", "buses", NULL};
    char link[128];
    snprintf(link, sizeof(link), "%s/modem", r->dir);
    argv[2] = link;
    live_spawn(&children[FW], argv);
    if (!live_wait_for(&children[FW], "device: online", GUARD_MS))
        fail_msg("fwcore not online:\n%s", children[FW].seen);
}

/* Start the whole bench for the aws or gcp modem-TLS stack. */
static void rig_start(struct rig *r, bool gcp)
{
    char port[16], broker_addr[32], link[128], prog[4200];
    struct timespec now;
    memset(r, 0, sizeof(*r));
    r->gcp = gcp;
    if (access("certs/out/registry-aws.json", R_OK) != 0 || access("certs/out/registry-gcp.json", R_OK) != 0)
        fail_msg("certs/out missing: run bash certs/gen.sh (make test does)");
    snprintf(r->dir, sizeof(r->dir), "/tmp/fwcore-live-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(live_dir, sizeof(live_dir), "%s", r->dir);
    snprintf(r->clock_path, sizeof(r->clock_path), "%s/clock", r->dir);
    snprintf(r->ctl, sizeof(r->ctl), "%s/modem.ctl", r->dir);
    snprintf(r->inputs, sizeof(r->inputs), "%s/inputs", r->dir);
    snprintf(link, sizeof(link), "%s/modem", r->dir);
    snprintf(port, sizeof(port), "%d", live_free_port());
    do
        snprintf(r->admin, sizeof(r->admin), "%d", live_free_port());
    while (strcmp(r->admin, port) == 0);
    snprintf(broker_addr, sizeof(broker_addr), "localhost:%s", port);
    /* virtual time starts at the real date (certificates are checked) and runs at 10x */
    clock_gettime(CLOCK_REALTIME, &now);
    r->clock = vclock_create(r->clock_path, (int64_t)now.tv_sec * VCLOCK_NS_PER_S, 10 * VCLOCK_RATE_ONE);
    assert_non_null(r->clock);
    start_broker(r, port);
    snprintf(prog, sizeof(prog), "%s/sim7600", bin_dir);
    {
        char *argv[] = {prog, "--link", link, "--control", r->ctl, "--clock", r->clock_path, NULL};
        live_spawn(&children[SIM], argv);
        assert_true(live_wait_for(&children[SIM], "/dev/", GUARD_MS));
    }
    start_subscriber(r);
    start_firmware(r, broker_addr);
}

static void rig_stop(struct rig *r)
{
    vclock_close(r->clock);
    r->clock = NULL;
    assert_int_equal(stop_children(NULL), 0);
}

static void control(const struct rig *r, const char *verb, const char *want)
{
    char reply[256];
    live_control(r->ctl, verb, reply, sizeof(reply));
    if (strncmp(reply, want, strlen(want)) != 0)
        fail_msg("control '%s' answered: %s", verb, reply);
}

/* Read c's output until needle shows up after byte from of what it has seen. */
static bool wait_after(struct live_child *c, size_t from, const char *needle)
{
    int64_t end = live_real_ms() + GUARD_MS;
    while (live_real_ms() < end && strstr(c->seen + from, needle) == NULL)
        live_wait_for(c, "\x01never", 100);
    return strstr(c->seen + from, needle) != NULL;
}

/* How often needle occurs in text. */
static unsigned occurrences(const char *text, const char *needle)
{
    unsigned n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The highest "seq" among the events the subscriber saw in plain JSON; seen[s] marks each. */
static unsigned seqs_seen(const char *text, bool seen[MAX_SEQ])
{
    unsigned max = 0;
    memset(seen, 0, MAX_SEQ * sizeof(bool));
    for (const char *p = strstr(text, "\"seq\":"); p != NULL; p = strstr(p + 1, "\"seq\":")) {
        unsigned long s = strtoul(p + 6, NULL, 10);
        if (s > 0 && s < MAX_SEQ) {
            seen[s] = true;
            max = s > max ? (unsigned)s : max;
        }
    }
    return max;
}

/* Every sequence number from 1 to the highest was received (QoS 1: repeats allowed, no gap). */
static void assert_no_gap(const char *text)
{
    bool seen[MAX_SEQ];
    unsigned max = seqs_seen(text, seen);
    assert_true(max > 0);
    for (unsigned s = 1; s <= max; s++) {
        if (!seen[s])
            fail_msg("event seq %u lost (highest %u); the subscriber saw:\n%s", s, max, text);
    }
}

/* The first location event reaches the subscriber once the receiver has a fix. */
static void first_location(struct rig *r)
{
    control(r, "gnss fix 50.5 30.5 120 36\n", "ok gnss fix");
    if (!live_wait_for(&children[SUB], "\"type\":\"location\"", GUARD_MS))
        fail_msg("no location event; subscriber saw:\n%s\nfwcore said:\n%s", children[SUB].seen,
                 children[FW].seen);
    assert_non_null(strstr(children[SUB].seen, "\"bus\":\"bus-1\""));
    assert_non_null(strstr(children[SUB].seen, "\"lat\":50.5"));
    assert_non_null(strstr(children[SUB].seen, "\"ts\":"));
    assert_true(live_wait_for(&children[FW], "info app: location event", GUARD_MS));
}

static void test_aws_location_reaches_the_cloud(void **state)
{
    struct rig r;
    char picture[160];
    FILE *f;
    (void)state;
    rig_start(&r, false);
    first_location(&r);
    /* the cloud asks: the answer names the request */
    live_cloud_publish(r.admin, r.pw, "/bus/bus-1/commands", "{\"cmd\":\"location\",\"id\":\"live-1\"}");
    if (!live_wait_for(&children[SUB], "\"request\":\"live-1\"", GUARD_MS))
        fail_msg("no answer to the query; subscriber saw:\n%s", children[SUB].seen);
    /* a jump past the report interval (30 s) brings the next periodic report */
    assert_int_equal(vclock_jump(r.clock, 31 * VCLOCK_NS_PER_S), 0);
    {
        const char *third = strstr(children[SUB].seen, "\"request\":\"live-1\"");
        assert_true(wait_after(&children[SUB], (size_t)(third - children[SUB].seen), "\"type\":\"location\""));
    }
    assert_non_null(strstr(children[SUB].seen, "\"registration\":\"AA 1234 BC\""));
    /* the driver is on the phone: the picture arrives in four chunks */
    snprintf(picture, sizeof(picture), "%s/driver.bin", r.dir);
    f = fopen(picture, "wb");
    assert_non_null(f);
    for (int i = 0; i < 9000; i++)
        fputc(i & 0xff, f);
    fclose(f);
    f = fopen(r.inputs, "a");
    assert_non_null(f);
    fprintf(f, "phone driver.bin\n");
    fclose(f);
    if (!live_wait_for(&children[SUB], "\"trigger\":\"phone\",\"chunk\":{\"index\":3,\"count\":4", GUARD_MS))
        fail_msg("no last picture chunk; fwcore said:\n%s", children[FW].seen);
    assert_non_null(strstr(children[SUB].seen, "\"chunk\":{\"index\":0,\"count\":4,\"bytes\":2817}"));
    assert_non_null(strstr(children[SUB].seen, "\"chunk\":{\"index\":3,\"count\":4,\"bytes\":549}"));
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[SUB].seen, children[FW].seen);
    rig_stop(&r);
}

static void test_gcp_event_and_command(void **state)
{
    struct rig r;
    (void)state;
    rig_start(&r, true);
    first_location(&r);
    /* the device's topic and the Pub/Sub topic the registry forwards its events to */
    assert_non_null(strstr(children[SUB].seen, "/devices/bus-1/events {\"type\":\"identification\""));
    if (!live_wait_for(&children[SUB], "pubsub/bus-events {\"attributes\":{\"deviceId\":\"bus-1\"", GUARD_MS))
        fail_msg("no Pub/Sub notification; subscriber saw:\n%s", children[SUB].seen);
    /* a command while connected: the answer names the request */
    live_cloud_publish(r.admin, r.pw, "cloud/gcp/devices/bus-1/commands/send/bus-commands", "{\"cmd\":\"location\",\"id\":\"live-gcp\"}");
    if (!live_wait_for(&children[SUB], "\"request\":\"live-gcp\"", GUARD_MS))
        fail_msg("no answer to the command; subscriber saw:\n%s\nfwcore said:\n%s", children[SUB].seen,
                 children[FW].seen);
    assert_true(live_wait_for(&children[FW], "message on /devices/bus-1/commands/bus-commands", GUARD_MS));
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[SUB].seen, children[FW].seen);
    rig_stop(&r);
}

/*
 * The network drops: the bus notices, stamps and queues a location event
 * while offline (a jump past the report interval), and after the network
 * returns the event arrives with no sequence number missing.
 */
static void network_drop_keeps_queued_event(bool gcp)
{
    struct rig r;
    bool seen[MAX_SEQ];
    rig_start(&r, gcp);
    first_location(&r);
    unsigned before = seqs_seen(children[SUB].seen, seen);
    size_t fw_mark = children[FW].len;
    control(&r, "net down\n", "ok");
    if (!wait_after(&children[FW], fw_mark, "device: starting over"))
        fail_msg("the bus did not notice the network drop; fwcore said:\n%s", children[FW].seen + fw_mark);
    size_t offline_mark = children[FW].len;
    unsigned locations = occurrences(children[FW].seen, "info app: location event");
    assert_int_equal(vclock_jump(r.clock, 31 * VCLOCK_NS_PER_S), 0);
    if (!wait_after(&children[FW], offline_mark, "info app: location event"))
        fail_msg("no location event queued while offline; fwcore said:\n%s", children[FW].seen + offline_mark);
    assert_true(occurrences(children[FW].seen, "info app: location event") > locations);
    /* still offline: nothing new reached the cloud */
    assert_int_equal(seqs_seen(children[SUB].seen, seen), before);
    control(&r, "net up\n", "ok");
    char next[32];
    snprintf(next, sizeof(next), "\"seq\":%u,", before + 1);
    if (!wait_after(&children[SUB], 0, next))
        fail_msg("the event queued offline never arrived; subscriber saw:\n%s\nfwcore said:\n%s",
                 children[SUB].seen, children[FW].seen + fw_mark);
    assert_no_gap(children[SUB].seen);
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[SUB].seen, children[FW].seen);
    rig_stop(&r);
}

static void test_aws_network_drop(void **state)
{
    (void)state;
    network_drop_keeps_queued_event(false);
}

static void test_gcp_network_drop(void **state)
{
    (void)state;
    network_drop_keeps_queued_event(true);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_aws_location_reaches_the_cloud, stop_children),
        cmocka_unit_test_teardown(test_gcp_event_and_command, stop_children),
        cmocka_unit_test_teardown(test_aws_network_drop, stop_children),
        cmocka_unit_test_teardown(test_gcp_network_drop, stop_children),
    };
    /* build/tests/fw/test_fwcore_bus_live -> build/bin */
    snprintf(bin_dir, sizeof(bin_dir), "%s", argv[0]);
    *strrchr(bin_dir, '/') = '\0';
    strncat(bin_dir, "/../../bin", sizeof(bin_dir) - strlen(bin_dir) - 1);
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("fwcore_bus_live", tests, NULL, NULL);
}
