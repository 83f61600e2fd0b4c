/*
 * test_fwcore_mcu_tls_live.c - fwcore's MCU-TLS stacks end to end: the
 * real simulator (build/bin/sim7600 --link, with its UART capture --log),
 * the cloud broker (cellbench broker --profile aws|gcp) and fwcore on free
 * ports and one virtual clock file, for aws-mcu-tls (mutual TLS with the
 * device certificate) and gcp-mcu-tls (server-only TLS, JWT password). The
 * MCU runs TLS and MQTT itself over the modem's raw TCP socket, with the
 * same device lifecycle and bus application as the modem-TLS stacks:
 * the aws broker announces the device's presence; the identification event
 * (--registration, --route) reaches a cloud subscriber on the events topic
 * first, then a location event once the simulator's GNSS has a fix, and a
 * location command sent by the cloud is answered with its request id. On
 * GCP a clock jump to 300 s before the token expires makes the device end
 * the session cleanly and come back with a fresh token, without a loss.
 * When the simulator drops the connection (`drop tcp 0`) while the
 * network is also gone (`reg searching`), a driver report (--inputs) made
 * while offline is queued and its picture event (QoS 1) arrives once the
 * network is back. After a modem restart (`reset`) the device sets the
 * modem up again and answers another command. The UART capture shows the
 * socket in use but no plaintext topic, payload or JWT (the privacy
 * property of the MCU-TLS stacks).
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

/* One cloud: its broker profile, fwcore's stack, the events topic, the
 * presence topic the broker announces a connection on (NULL: none), a
 * device topic that must not show on the UART, and where the cloud sends
 * commands (admin listener). */
struct cloud_case {
    const char *profile, *registry, *stack, *events, *presence, *private_topic, *commands;
};

static void control_ok(const char *ctl, const char *verb, const char *want)
{
    char reply[256];
    live_control(ctl, verb, reply, sizeof(reply));
    if (strncmp(reply, want, strlen(want)) != 0)
        fail_msg("control %s answered: %s", verb, reply);
}

static void write_picture(const char *path, int bytes)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < bytes; i++)
        fputc(i & 0xff, f);
    fclose(f);
}

static void append_line(const char *path, const char *line)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fprintf(f, "%s\n", line);
    fclose(f);
}

/* Identification first, then a location event once GNSS has a fix, then the
 * answer to a location command. */
static void check_trip_events(const struct cloud_case *cc, const char *ctl, const char *admin,
                              const char *pw)
{
    struct live_child *sub = &children[2], *fw = &children[3];
    const char *ident, *loc;
    if (!live_wait_for(sub, "\"type\":\"identification\"", GUARD_MS))
        fail_msg("no identification event; subscriber saw:\n%s\nfwcore said:\n%s", sub->seen,
                 fw->seen);
    assert_non_null(strstr(sub->seen, "\"registration\":\"AA 1234 BC\""));
    assert_non_null(strstr(sub->seen, "\"route\":\"42\""));
    control_ok(ctl, "gnss fix 50.5 30.5 120 36\n", "ok gnss fix");
    if (!live_wait_for(sub, "\"type\":\"location\"", GUARD_MS))
        fail_msg("no location event; subscriber saw:\n%s\nfwcore said:\n%s", sub->seen, fw->seen);
    ident = strstr(sub->seen, "\"type\":\"identification\"");
    loc = strstr(sub->seen, "\"type\":\"location\"");
    assert_true(ident < loc); /* identification is the first event */
    assert_non_null(strstr(loc, "\"lat\":50.5"));
    assert_non_null(strstr(loc, "\"bus\":\"bus-1\""));
    live_cloud_publish(admin, pw, cc->commands, "{\"cmd\":\"location\",\"id\":\"live-1\"}");
    if (!wait_after(sub, 0, "\"request\":\"live-1\"", GUARD_MS))
        fail_msg("no answer to the command; subscriber saw:\n%s\nfwcore said:\n%s", sub->seen,
                 fw->seen);
}

/* GCP: a token issued at or after online_ns is due for renewal 300 s
 * before it expires (lifetime 3600 s): jump there; the device ends the
 * session cleanly and connects with a fresh token, without a loss, and
 * still answers commands. */
static void check_jwt_renewal(const struct cloud_case *cc, struct vclock *clock, int64_t online_ns,
                              const char *admin, const char *pw)
{
    struct live_child *sub = &children[2], *fw = &children[3];
    size_t from = fw->len, sub_from = sub->len;
    int64_t target = online_ns + 3310 * VCLOCK_NS_PER_S;
    assert_true(vclock_now_ns(clock) < target);
    assert_int_equal(vclock_jump(clock, target - vclock_now_ns(clock)), 0);
    if (!wait_after(fw, from, "renewing the JWT", GUARD_MS))
        fail_msg("no JWT renewal; fwcore said:\n%s", fw->seen);
    if (!wait_after(fw, from, "info device: online", GUARD_MS))
        fail_msg("not online again after the renewal; fwcore said:\n%s", fw->seen);
    assert_null(strstr(fw->seen + from, "starting over"));
    live_cloud_publish(admin, pw, cc->commands, "{\"cmd\":\"location\",\"id\":\"live-jwt\"}");
    if (!wait_after(sub, sub_from, "\"request\":\"live-jwt\"", GUARD_MS))
        fail_msg("no answer after the renewal; subscriber saw:\n%s\nfwcore said:\n%s", sub->seen,
                 fw->seen);
}

/* The socket dropped with the network gone: a driver report made while
 * offline is queued, and its picture event arrives once the network is back. */
static void check_offline_event(const char *ctl, const char *dir, const char *inputs)
{
    struct live_child *sub = &children[2], *fw = &children[3];
    size_t from = fw->len, sub_from = sub->len;
    char picture[128];
    control_ok(ctl, "drop tcp 0\n", "ok drop tcp 1");
    control_ok(ctl, "reg searching\n", "ok reg searching");
    if (!wait_after(fw, from, "starting over", GUARD_MS))
        fail_msg("the loss went unnoticed; fwcore said:\n%s", fw->seen);
    snprintf(picture, sizeof(picture), "%s/offline.bin", dir);
    write_picture(picture, 1500);
    append_line(inputs, "drowsy offline.bin");
    if (!wait_after(fw, from, "picture started", GUARD_MS))
        fail_msg("no picture while offline; fwcore said:\n%s", fw->seen);
    assert_null(strstr(sub->seen + sub_from, "\"trigger\":\"drowsy\""));
    control_ok(ctl, "reg home\n", "ok reg home");
    if (!wait_after(fw, from, "info device: online", GUARD_MS))
        fail_msg("no reconnect; fwcore said:\n%s", fw->seen);
    if (!wait_after(sub, sub_from, "\"trigger\":\"drowsy\"", GUARD_MS))
        fail_msg("the event queued offline did not arrive; subscriber saw:\n%s\nfwcore said:\n%s",
                 sub->seen, fw->seen);
    assert_non_null(strstr(sub->seen + sub_from, "\"chunk\":{\"index\":0,\"count\":1,\"bytes\":1500}"));
}

/* The modem restarts (RDY, everything closed): set up, connected, and
 * answering commands again. */
static void check_modem_restart(const struct cloud_case *cc, const char *ctl, const char *admin,
                                const char *pw)
{
    struct live_child *sub = &children[2], *fw = &children[3];
    size_t from = fw->len, sub_from = sub->len;
    control_ok(ctl, "reset\n", "ok");
    if (!wait_after(fw, from, "info device: online", GUARD_MS))
        fail_msg("no reconnect after the reset; fwcore said:\n%s", fw->seen);
    control_ok(ctl, "gnss fix 50.5 30.5 120 36\n", "ok gnss fix");
    live_cloud_publish(admin, pw, cc->commands, "{\"cmd\":\"location\",\"id\":\"live-2\"}");
    if (!wait_after(sub, sub_from, "\"request\":\"live-2\"", GUARD_MS))
        fail_msg("no answer after the reset; subscriber saw:\n%s\nfwcore said:\n%s", sub->seen,
                 fw->seen);
}

/* The modem carried the connection (raw TCP, manual receive) but never saw
 * the MQTT inside it. */
static void check_uart_capture(const struct cloud_case *cc, const char *uart_log)
{
    assert_true(file_contains(uart_log, "AT+CIPOPEN=0,"));
    assert_true(file_contains(uart_log, "AT+CIPSEND=0,"));
    assert_true(file_contains(uart_log, "AT+CIPRXGET=2,0"));
    assert_false(file_contains(uart_log, "AT+CMQTT"));
    assert_false(file_contains(uart_log, cc->events));
    assert_false(file_contains(uart_log, cc->private_topic));
    assert_false(file_contains(uart_log, "eyJhbGci")); /* no JWT either */
    assert_false(file_contains(uart_log, "identification"));
    assert_false(file_contains(uart_log, "AA 1234 BC"));
    assert_false(file_contains(uart_log, "live-1"));
    assert_false(file_contains(uart_log, "\"type\\\":"));
    assert_false(file_contains(uart_log, "MQTT\\x04"));
}

static void run_case(const struct cloud_case *cc)
{
    char dir[] = "/tmp/fwcore-mcutls-XXXXXX", presence[128], clock_path[128], broker_dir[128], link[128],
        ctl[128], port[16], admin[16], broker_addr[32], prog[3][4200], pw[256], uart_log[128],
        statedir[128], inputs[128];
    struct vclock *clock;
    int64_t online_ns;
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
    snprintf(statedir, sizeof(statedir), "%s/state", dir);
    snprintf(inputs, sizeof(inputs), "%s/inputs", dir);
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
    f = fopen(inputs, "w"); /* fwcore follows it as it grows */
    assert_non_null(f);
    fclose(f);
    snprintf(prog[2], sizeof(prog[2]), "%s/fwcore", bin_dir);
    {
        char *argv[] = {prog[2], "--uart", link, "--stack", (char *)cc->stack, "--device", "bus-1",
                        "--certs", "certs/out", "--broker", broker_addr, "--clock", clock_path,
                        "--state", statedir, "--inputs", inputs, "--registration", "AA 1234 BC",
                        "--route", "42",
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
    online_ns = vclock_now_ns(clock); /* the first token was issued before */
    if (cc->presence != NULL && !live_wait_for(&children[2], cc->presence, GUARD_MS))
        fail_msg("no presence event; subscriber saw:\n%s", children[2].seen);
    check_trip_events(cc, ctl, admin, pw);
    if (strcmp(cc->profile, "gcp") == 0)
        check_jwt_renewal(cc, clock, online_ns, admin, pw);
    check_offline_event(ctl, dir, inputs);
    check_modem_restart(cc, ctl, admin, pw);
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[2].seen, children[3].seen);
    stop_children(NULL);
    check_uart_capture(cc, uart_log);
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
                                           "/bus/bus-1/commands", "/bus/bus-1/commands"};
    (void)state;
    run_case(&aws);
}

/* GCP: server-only TLS, the JWT as MQTT password inside it */
static void test_gcp_mcu_tls(void **state)
{
    static const struct cloud_case gcp = {"gcp", "certs/out/registry-gcp.json", "gcp-mcu-tls",
                                          "/devices/bus-1/events", NULL, "/devices/bus-1/config",
                                          "cloud/gcp/devices/bus-1/commands/send/bus-commands"};
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
