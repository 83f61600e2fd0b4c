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

#include "vclock.h"

#define GUARD_MS 60000

static char bin_dir[4096];

struct child {
    pid_t pid;
    int out;                 /* stdout and stderr of the child */
    char seen[65536];        /* everything read so far */
    size_t len;
};

static struct child children[4];

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void spawn(struct child *c, char *const argv[])
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    c->len = 0;
    c->pid = fork();
    assert_true(c->pid >= 0);
    if (c->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    c->out = p[0];
    fcntl(c->out, F_SETFL, O_NONBLOCK);
}

/* Read the child's output until needle shows up; false after the guard. */
static bool wait_for(struct child *c, const char *needle, int64_t guard_ms)
{
    int64_t end = real_ms() + guard_ms;
    while (real_ms() < end) {
        struct pollfd pfd = {c->out, POLLIN, 0};
        ssize_t n;
        c->seen[c->len] = '\0';
        if (strstr(c->seen, needle) != NULL)
            return true;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(c->out, c->seen + c->len, sizeof(c->seen) - 1 - c->len);
        if (n <= 0 && !(n < 0 && errno == EAGAIN))
            return false; /* the child ended */
        if (n > 0)
            c->len += (size_t)n;
    }
    c->seen[c->len] = '\0';
    return strstr(c->seen, needle) != NULL;
}

static int stop_children(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < 4; i++) {
        if (children[i].pid > 0) {
            kill(children[i].pid, SIGTERM);
            waitpid(children[i].pid, NULL, 0);
            close(children[i].out);
            children[i].pid = 0;
        }
    }
    return 0;
}

/* Send one control verb to the simulator and return its reply line. */
static void control(const char *path, const char *verb, char *reply, size_t cap)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t got = 0;
    int64_t end = real_ms() + 5000;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(a.sun_path));
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(write(fd, verb, strlen(verb)), (ssize_t)strlen(verb));
    while (got + 1 < cap && real_ms() < end) {
        struct pollfd pfd = {fd, POLLIN, 0};
        ssize_t n;
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        n = read(fd, reply + got, cap - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(reply, '\n', got) != NULL)
            break;
    }
    reply[got] = '\0';
    close(fd);
}

/* Like wait_for, but only output after offset from counts. */
static bool wait_after(struct child *c, size_t from, const char *needle, int64_t guard_ms)
{
    int64_t end = real_ms() + guard_ms;
    while (real_ms() < end) {
        wait_for(c, "\x01never", 100);
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
    snprintf(port, sizeof(port), "%d", free_port());
    do
        snprintf(admin, sizeof(admin), "%d", free_port());
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
        spawn(&children[0], argv);
        assert_true(wait_for(&children[0], "ready", GUARD_MS));
    }
    snprintf(prog[1], sizeof(prog[1]), "%s/sim7600", bin_dir);
    {
        char *argv[] = {prog[1], "--link", link, "--control", ctl, "--clock", clock_path,
                        "--log", uart_log, NULL};
        spawn(&children[1], argv);
        assert_true(wait_for(&children[1], "/dev/", GUARD_MS));
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
        spawn(&children[2], argv);
        if (!wait_for(&children[2], "SUBACK", GUARD_MS))
            fail_msg("subscriber not subscribed:\n%s", children[2].seen);
    }
    snprintf(prog[2], sizeof(prog[2]), "%s/fwcore", bin_dir);
    {
        char *argv[] = {prog[2], "--uart", link, "--stack", (char *)cc->stack, "--device", "bus-1",
                        "--certs", "certs/out", "--broker", broker_addr, "--clock", clock_path,
                        /* the project and region of certs/out/registry-gcp.json */
                        "--gcp-project", "bench-project", "--gcp-region", "europe-west1", NULL};
        spawn(&children[3], argv);
        if (!wait_for(&children[3], "device: online", GUARD_MS))
        {
            wait_for(&children[0], "\x01never", 500);
            fail_msg("fwcore not online:\n%s\nbroker said:\n%s", children[3].seen,
                     children[0].seen);
        }
    }
    if (cc->presence != NULL && !wait_for(&children[2], cc->presence, GUARD_MS))
        fail_msg("no presence event; subscriber saw:\n%s", children[2].seen);
    if (!wait_for(&children[2], "\"type\":\"online\"", GUARD_MS))
        fail_msg("no online event; subscriber saw:\n%s\nfwcore said:\n%s", children[2].seen,
                 children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"bus\":\"bus-1\""));
    /* packet id 1 went to the SUBSCRIBE, so the event is 2 */
    assert_true(wait_for(&children[3], "info app: online event 2 ok", GUARD_MS));
    if (!wait_for(&children[3], "info app: event 2 acknowledged", GUARD_MS))
        fail_msg("online event not acknowledged; fwcore said:\n%s", children[3].seen);
    /* the server side drops the connection: the device backs off and
     * comes back with a new TLS session and another online event */
    {
        char reply[256];
        size_t from = children[3].len, sub_from = children[2].len;
        control(ctl, "drop tcp 0\n", reply, sizeof(reply));
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
        control(ctl, "reset\n", reply, sizeof(reply));
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
