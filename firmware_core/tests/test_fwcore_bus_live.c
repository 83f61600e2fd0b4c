/*
 * test_fwcore_bus_live.c - fwcore's bus application end to end: the real
 * simulator (build/bin/sim7600 --link), the aws cloud broker (cellbench
 * broker --profile aws) and fwcore --stack aws-modem-tls on free ports, all
 * on one virtual clock file running at 10x. A cloud subscriber on the admin
 * listener waits on /bus/events; once it is subscribed the simulator's GNSS
 * gets a fix, and the location event must reach the subscriber; a location
 * command published by the cloud is answered with its request id; a clock
 * jump past the 30 s report interval brings the next periodic report. With
 * --registration the identification event comes first; a driver report
 * appended to the --inputs file sends its 9000-byte picture in four chunks.
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

static void test_location_reaches_the_cloud(void **state)
{
    char dir[] = "/tmp/fwcore-live-XXXXXX", clock_path[128], broker_dir[128], link[128],
        ctl[128], port[16], admin[16], broker_addr[32], prog[3][4200], pw[256], reply[256],
        statedir[128], inputs[128], picture[128];
    struct vclock *clock;
    FILE *f;
    struct timespec now;
    (void)state;
    if (access("certs/out/registry-aws.json", R_OK) != 0)
        fail_msg("certs/out missing: run bash certs/gen.sh (make test does)");
    assert_non_null(mkdtemp(dir));
    snprintf(clock_path, sizeof(clock_path), "%s/clock", dir);
    snprintf(broker_dir, sizeof(broker_dir), "%s/broker", dir);
    snprintf(link, sizeof(link), "%s/modem", dir);
    snprintf(ctl, sizeof(ctl), "%s/modem.ctl", dir);
    snprintf(statedir, sizeof(statedir), "%s/state", dir);
    snprintf(inputs, sizeof(inputs), "%s/inputs", dir);
    snprintf(picture, sizeof(picture), "%s/driver.bin", dir);
    snprintf(port, sizeof(port), "%d", free_port());
    do
        snprintf(admin, sizeof(admin), "%d", free_port());
    while (strcmp(admin, port) == 0);
    snprintf(broker_addr, sizeof(broker_addr), "localhost:%s", port);
    /* virtual time starts at the real date (certificates are checked) and runs at 10x */
    clock_gettime(CLOCK_REALTIME, &now);
    clock = vclock_create(clock_path, (int64_t)now.tv_sec * VCLOCK_NS_PER_S, 10 * VCLOCK_RATE_ONE);
    assert_non_null(clock);

    snprintf(prog[0], sizeof(prog[0]), "%s/cellbench", bin_dir);
    {
        char *argv[] = {prog[0], "broker", "--profile", "aws", "--port", port, "--admin-port",
                        admin, "--registry", "certs/out/registry-aws.json", "--dir", broker_dir,
                        "--clock", clock_path, "--certs", "certs/out", NULL};
        spawn(&children[0], argv);
        assert_true(wait_for(&children[0], "ready", GUARD_MS));
    }
    snprintf(prog[1], sizeof(prog[1]), "%s/sim7600", bin_dir);
    {
        char *argv[] = {prog[1], "--link", link, "--control", ctl, "--clock", clock_path, NULL};
        spawn(&children[1], argv);
        assert_true(wait_for(&children[1], "/dev/", GUARD_MS));
    }
    snprintf(pw, sizeof(pw), "%s/admin-password", broker_dir);
    f = fopen(pw, "r");
    assert_non_null(f);
    assert_non_null(fgets(pw, sizeof(pw), f));
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    {
        /* line-buffered, so the SUBACK line shows up at once */
        char *argv[] = {"/usr/bin/stdbuf", "-oL", "/usr/bin/mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", admin, "-u",
                        "cloud", "-P", pw, "-t", "/bus/events", "-q", "1", NULL};
        spawn(&children[2], argv);
        if (!wait_for(&children[2], "SUBACK", GUARD_MS))
            fail_msg("subscriber not subscribed:\n%s", children[2].seen);
    }
    snprintf(prog[2], sizeof(prog[2]), "%s/fwcore", bin_dir);
    {
        char *argv[] = {prog[2], "--uart", link, "--stack", "aws-modem-tls", "--device", "bus-1",
                        "--certs", "certs/out", "--broker", broker_addr, "--state", statedir,
                        "--clock", clock_path, "--inputs", inputs, "--registration", "AA 1234 BC",
                        NULL};
        spawn(&children[3], argv);
        assert_true(wait_for(&children[3], "device: online", GUARD_MS));
    }
    /* no fix yet: no location event; then the receiver gets one */
    control(ctl, "gnss fix 50.5 30.5 120 36\n", reply, sizeof(reply));
    if (strncmp(reply, "ok gnss fix", 11) != 0)
        fail_msg("control answered: %s", reply);
    if (!wait_for(&children[2], "\"type\":\"location\"", GUARD_MS))
        fail_msg("no location event; subscriber saw:\n%s\nfwcore said:\n%s", children[2].seen,
                 children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"bus\":\"bus-1\""));
    assert_non_null(strstr(children[2].seen, "\"lat\":50.5"));
    assert_non_null(strstr(children[2].seen, "\"ts\":"));
    assert_true(wait_for(&children[3], "info app: location event", GUARD_MS));
    /* the cloud asks: the answer names the request */
    {
        char *argv[] = {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", admin, "-u", "cloud",
                        "-P", pw, "-t", "/bus/bus-1/commands", "-q", "1", "-m",
                        "{\"cmd\":\"location\",\"id\":\"live-1\"}", NULL};
        struct child pub;
        int status;
        spawn(&pub, argv);
        assert_int_equal(waitpid(pub.pid, &status, 0), pub.pid);
        close(pub.out);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (!wait_for(&children[2], "\"request\":\"live-1\"", GUARD_MS))
        fail_msg("no answer to the query; subscriber saw:\n%s", children[2].seen);
    /* a jump past the report interval (30 s) brings the next periodic report */
    assert_int_equal(vclock_jump(clock, 31 * VCLOCK_NS_PER_S), 0);
    {
        const char *third = strstr(children[2].seen, "\"request\":\"live-1\"");
        size_t from = (size_t)(third - children[2].seen);
        int64_t end = real_ms() + GUARD_MS;
        while (real_ms() < end && strstr(children[2].seen + from, "\"type\":\"location\"") == NULL)
            wait_for(&children[2], "\x01never", 100);
        assert_non_null(strstr(children[2].seen + from, "\"type\":\"location\""));
    }
    assert_non_null(strstr(children[2].seen, "\"registration\":\"AA 1234 BC\""));
    /* the driver is on the phone: the picture arrives in four chunks */
    f = fopen(picture, "wb");
    assert_non_null(f);
    for (int i = 0; i < 9000; i++)
        fputc(i & 0xff, f);
    fclose(f);
    f = fopen(inputs, "a");
    assert_non_null(f);
    fprintf(f, "phone driver.bin\n");
    fclose(f);
    if (!wait_for(&children[2], "\"trigger\":\"phone\",\"chunk\":{\"index\":3,\"count\":4", GUARD_MS))
        fail_msg("no last picture chunk; fwcore said:\n%s", children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"chunk\":{\"index\":0,\"count\":4,\"bytes\":2817}"));
    assert_non_null(strstr(children[2].seen, "\"chunk\":{\"index\":3,\"count\":4,\"bytes\":549}"));
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[2].seen, children[3].seen);
    stop_children(NULL);
    vclock_close(clock);
    {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_location_reaches_the_cloud, stop_children),
    };
    /* build/tests/fw/test_fwcore_bus_live -> build/bin */
    snprintf(bin_dir, sizeof(bin_dir), "%s", argv[0]);
    *strrchr(bin_dir, '/') = '\0';
    strncat(bin_dir, "/../../bin", sizeof(bin_dir) - strlen(bin_dir) - 1);
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("fwcore_bus_live", tests, NULL, NULL);
}
