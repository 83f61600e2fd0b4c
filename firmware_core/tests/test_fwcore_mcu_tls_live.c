/*
 * test_fwcore_mcu_tls_live.c - fwcore's MCU-TLS stacks end to end: the
 * real simulator (build/bin/sim7600 --link, with its UART capture --log),
 * the aws cloud broker (cellbench broker --profile aws) and fwcore on free
 * ports and one virtual clock file, for aws-mcu-tls and gcp-mcu-tls (cellbench
 * broker --profile gcp, JWT password). The MCU runs TLS itself over the
 * modem's raw TCP socket: the aws broker must announce the device's
 * presence, the device's online event must reach a cloud subscriber on the
 * events topic, and the UART capture must show the socket in use but no
 * plaintext topic, payload or JWT (the privacy property of the MCU-TLS
 * stacks). When the simulator drops the connection (`drop tcp 0`) the
 * device closes the socket, backs off and reconnects; after a modem restart
 * (`reset`) it sets the modem up again first.
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

static char bin_dir[4096];

static struct live_child children[4];

static int stop_children(void **state)
{
    (void)state;
    live_stop_children(children, sizeof(children) / sizeof(children[0]));
    return 0;
}

/* Like wait_for, but only output after offset from counts. */
static bool wait_after(struct live_child *c, size_t from, const char *needle, int64_t guard_ms)
{
    int64_t end = live_real_ms() + guard_ms;
    while (live_real_ms() < end) {
        live_wait_for(c, "\x01never", 100);
        if (strstr(c->seen + from, needle) != NULL)
            return true;
    }
    return false;
}

static bool file_contains(const char *path, const char *needle)
{
    static char buf[1 << 22];
    FILE *f = fopen(path, "rb");
    size_t n;
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* One cloud: its broker profile, fwcore's stack, the events topic and the
 * presence topic the broker announces a connection on (NULL: none). */
struct cloud_case {
    const char *profile, *registry, *stack, *events, *presence, *private_topic;
};

static void run_case(const struct cloud_case *cc)
{
    char dir[] = "/tmp/fwcore-mcutls-XXXXXX", presence[128], clock_path[128], broker_dir[128], link[128],
        ctl[128], port[16], admin[16], broker_addr[32], prog[3][4200], pw[256], uart_log[128];
    struct vclock *clock;
    FILE *f;
    struct timespec now;
    if (access(cc->registry, R_OK) != 0)
        fail_msg("certs/out missing: run bash certs/gen.sh (make test does)");
    assert_non_null(mkdtemp(dir));
    snprintf(clock_path, sizeof(clock_path), "%s/clock", dir);
    snprintf(broker_dir, sizeof(broker_dir), "%s/broker", dir);
    snprintf(link, sizeof(link), "%s/modem", dir);
    snprintf(ctl, sizeof(ctl), "%s/modem.ctl", dir);
    snprintf(uart_log, sizeof(uart_log), "%s/uart.log", dir);
    snprintf(port, sizeof(port), "%d", live_free_port());
    do
        snprintf(admin, sizeof(admin), "%d", live_free_port());
    while (strcmp(admin, port) == 0);
    snprintf(broker_addr, sizeof(broker_addr), "localhost:%s", port);
    clock_gettime(CLOCK_REALTIME, &now);
    clock = vclock_create(clock_path, (int64_t)now.tv_sec * VCLOCK_NS_PER_S, 10 * VCLOCK_RATE_ONE);
    assert_non_null(clock);

    snprintf(prog[0], sizeof(prog[0]), "%s/cellbench", bin_dir);
    {
        char *argv[] = {prog[0], "broker", "--profile", (char *)cc->profile, "--port", port,
                        "--admin-port", admin, "--registry", (char *)cc->registry, "--dir", broker_dir,
                        "--clock", clock_path, "--certs", "certs/out", NULL};
        live_spawn(&children[0], argv);
        assert_true(live_wait_for(&children[0], "ready", GUARD_MS));
    }
    snprintf(prog[1], sizeof(prog[1]), "%s/sim7600", bin_dir);
    {
        char *argv[] = {prog[1], "--link", link, "--control", ctl, "--clock", clock_path,
                        "--log", uart_log, NULL};
        live_spawn(&children[1], argv);
        assert_true(live_wait_for(&children[1], "/dev/", GUARD_MS));
    }
    snprintf(pw, sizeof(pw), "%s/admin-password", broker_dir);
    f = fopen(pw, "r");
    assert_non_null(f);
    assert_non_null(fgets(pw, sizeof(pw), f));
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    /* without a presence topic the events topic is simply subscribed twice */
    snprintf(presence, sizeof(presence), "%s", cc->presence != NULL ? cc->presence : cc->events);
    {
        char *argv[] = {"/usr/bin/stdbuf", "-oL", "/usr/bin/mosquitto_sub", "-d", "-v", "-h",
                        "127.0.0.1", "-p", admin, "-u", "cloud", "-P", pw, "-t",
                        (char *)cc->events, "-t", presence, "-q", "1", NULL};
        live_spawn(&children[2], argv);
        if (!live_wait_for(&children[2], "SUBACK", GUARD_MS))
            fail_msg("subscriber not subscribed:\n%s", children[2].seen);
    }
    snprintf(prog[2], sizeof(prog[2]), "%s/fwcore", bin_dir);
    {
        char *argv[] = {prog[2], "--uart", link, "--stack", (char *)cc->stack, "--device", "bus-1",
                        "--certs", "certs/out", "--broker", broker_addr, "--clock", clock_path,
                        /* the project and region of certs/out/registry-gcp.json */
                        "--gcp-project", "bench-project", "--gcp-region", "europe-west1", NULL};
        live_spawn(&children[3], argv);
        if (!live_wait_for(&children[3], "device: online", GUARD_MS))
        {
            live_wait_for(&children[0], "\x01never", 500);
            fail_msg("fwcore not online:\n%s\nbroker said:\n%s", children[3].seen,
                     children[0].seen);
        }
    }
    if (cc->presence != NULL && !live_wait_for(&children[2], cc->presence, GUARD_MS))
        fail_msg("no presence event; subscriber saw:\n%s", children[2].seen);
    if (!live_wait_for(&children[2], "\"type\":\"online\"", GUARD_MS))
        fail_msg("no online event; subscriber saw:\n%s\nfwcore said:\n%s", children[2].seen,
                 children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"bus\":\"bus-1\""));
    /* packet id 1 went to the SUBSCRIBE, so the event is 2 */
    assert_true(live_wait_for(&children[3], "info app: online event 2 ok", GUARD_MS));
    if (!live_wait_for(&children[3], "info app: event 2 acknowledged", GUARD_MS))
        fail_msg("online event not acknowledged; fwcore said:\n%s", children[3].seen);
    /* the server side drops the connection: the device backs off and
     * comes back with a new TLS session and another online event */
    {
        char reply[256];
        size_t from = children[3].len, sub_from = children[2].len;
        live_control(ctl, "drop tcp 0\n", reply, sizeof(reply));
        if (strncmp(reply, "ok drop tcp 1", 13) != 0)
            fail_msg("control answered: %s", reply);
        if (!wait_after(&children[3], from, "info device: online", GUARD_MS))
            fail_msg("no reconnect; fwcore said:\n%s", children[3].seen);
        assert_non_null(strstr(children[3].seen + from, "warn device: connection lost (closed)"));
        if (!wait_after(&children[2], sub_from, "\"type\":\"online\"", GUARD_MS))
            fail_msg("no online event after the reconnect; subscriber saw:\n%s",
                     children[2].seen);
    }
    /* the modem restarts (RDY, everything closed): set up and connected again */
    {
        char reply[256];
        size_t from = children[3].len, sub_from = children[2].len;
        live_control(ctl, "reset\n", reply, sizeof(reply));
        if (strncmp(reply, "ok", 2) != 0)
            fail_msg("control answered: %s", reply);
        if (!wait_after(&children[3], from, "info device: online", GUARD_MS))
            fail_msg("no reconnect after the reset; fwcore said:\n%s", children[3].seen);
        if (!wait_after(&children[2], sub_from, "\"type\":\"online\"", GUARD_MS))
            fail_msg("no online event after the reset; subscriber saw:\n%s", children[2].seen);
    }
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[2].seen, children[3].seen);
    stop_children(NULL);
    /* the modem carried the connection (raw TCP, manual receive) ... */
    assert_true(file_contains(uart_log, "AT+CIPOPEN=0,"));
    assert_true(file_contains(uart_log, "AT+CIPSEND=0,"));
    assert_true(file_contains(uart_log, "AT+CIPRXGET=2,0"));
    /* ... but never saw the MQTT inside it */
    assert_false(file_contains(uart_log, cc->events));
    assert_false(file_contains(uart_log, cc->private_topic));
    assert_false(file_contains(uart_log, "eyJ")); /* no JWT either */
    assert_false(file_contains(uart_log, "\"type\\\":\\\"online"));
    assert_false(file_contains(uart_log, "MQTT"));
    vclock_close(clock);
    {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

static void test_aws_mcu_tls(void **state)
{
    static const struct cloud_case aws = {"aws", "certs/out/registry-aws.json", "aws-mcu-tls",
                                           "/bus/events", "$aws/events/presence/connected/bus-1",
                                           "/bus/bus-1/commands"};
    (void)state;
    run_case(&aws);
}

/* GCP: server-only TLS, the JWT as MQTT password inside it */
static void test_gcp_mcu_tls(void **state)
{
    static const struct cloud_case gcp = {"gcp", "certs/out/registry-gcp.json", "gcp-mcu-tls",
                                          "/devices/bus-1/events", NULL, "/devices/bus-1/config"};
    (void)state;
    run_case(&gcp);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_aws_mcu_tls, stop_children),
        cmocka_unit_test_teardown(test_gcp_mcu_tls, stop_children),
    };
    snprintf(bin_dir, sizeof(bin_dir), "%s", argv[0]);
    *strrchr(bin_dir, '/') = '\0';
    strncat(bin_dir, "/../../bin", sizeof(bin_dir) - strlen(bin_dir) - 1);
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("fwcore_mcu_tls_live", tests, NULL, NULL);
}
