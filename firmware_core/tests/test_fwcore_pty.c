/*
 * test_fwcore_pty.c - build/bin/fwcore end to end over a real PTY, with
 * this test playing the SIM7600: it answers bring-up, certificate
 * provisioning, the SSL context and the AT+CMQTT* sequence, then delivers a
 * configuration that is invalid; fwcore must report it as an error event
 * published through the modem, keep its offline queue under --state, and
 * exit 0 on SIGTERM. Also: bad arguments exit 2. Needs certs/out (make
 * test runs certs/gen.sh first). Real-time waits here are hang guards only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char fwcore_path[4096];
static pid_t child = -1;

/* Never leave fwcore running, whatever happened in the test. */
static int stop_child(void **state)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
    }
    return 0;
}

struct modem {
    int fd;
    char buf[65536];
    size_t len;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read until buf holds at least n bytes (hang guard: 20 s). */
static void fill(struct modem *m, size_t n)
{
    double deadline = now_s() + 8.0;
    while (m->len < n) {
        struct pollfd p = {m->fd, POLLIN, 0};
        ssize_t got;
        if (now_s() > deadline)
            fail_msg("modem side: timed out waiting for %zu bytes, have \"%.*s\"", n, (int)m->len, m->buf);
        if (poll(&p, 1, 100) <= 0)
            continue;
        got = read(m->fd, m->buf + m->len, sizeof(m->buf) - m->len);
        if (got > 0)
            m->len += (size_t)got;
    }
}

static void consume(struct modem *m, size_t n)
{
    memmove(m->buf, m->buf + n, m->len - n);
    m->len -= n;
}

/* Next command line (up to CR), NUL-terminated into out. */
static void next_command(struct modem *m, char *out, size_t cap)
{
    char *cr;
    for (;;) {
        cr = memchr(m->buf, '\r', m->len);
        if (cr != NULL)
            break;
        fill(m, m->len + 1);
    }
    assert_true((size_t)(cr - m->buf) < cap);
    memcpy(out, m->buf, (size_t)(cr - m->buf));
    out[cr - m->buf] = '\0';
    consume(m, (size_t)(cr - m->buf) + 1);
}

static void reply(struct modem *m, const char *text)
{
    assert_int_equal(write(m->fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* Take the raw bytes after a prompt. */
static void take_data(struct modem *m, size_t n, char *out)
{
    fill(m, n);
    if (out != NULL) {
        memcpy(out, m->buf, n);
        out[n] = '\0';
    }
    consume(m, n);
}

static size_t arg_len(const char *cmd)
{
    const char *comma = strrchr(cmd, ',');
    return (size_t)strtoul(comma + 1, NULL, 10);
}

/* Play the modem until fwcore publishes; returns the published payload. */
static void play_modem(struct modem *m, char *published, size_t cap)
{
    char cmd[2048];
    unsigned subs = 0;
    for (;;) {
        next_command(m, cmd, sizeof(cmd));
        if (strcmp(cmd, "AT+CPIN?") == 0) {
            reply(m, "\r\n+CPIN: READY\r\n\r\nOK\r\n");
        } else if (strcmp(cmd, "AT+CGREG?") == 0) {
            reply(m, "\r\n+CGREG: 0,1\r\n\r\nOK\r\n");
        } else if (strncmp(cmd, "AT+CCERTDOWN=", 13) == 0) {
            reply(m, "\r\n>");
            take_data(m, arg_len(cmd), NULL);
            reply(m, "\r\nOK\r\n");
        } else if (strcmp(cmd, "AT+CMQTTSTART") == 0) {
            reply(m, "\r\nOK\r\n\r\n+CMQTTSTART: 0\r\n");
        } else if (strncmp(cmd, "AT+CMQTTCONNECT=", 16) == 0) {
            assert_non_null(strstr(cmd, "\"tcp://localhost:8883\""));
            reply(m, "\r\nOK\r\n\r\n+CMQTTCONNECT: 0,0\r\n");
        } else if (strncmp(cmd, "AT+CMQTTSUB=", 12) == 0) {
            char topic[256];
            reply(m, "\r\n>");
            take_data(m, (size_t)strtoul(cmd + 14, NULL, 10), topic);
            reply(m, "\r\nOK\r\n\r\n+CMQTTSUB: 0,0\r\n");
            if (++subs == 2) /* subscribed: the cloud sends a broken configuration */
                reply(m, "\r\n+CMQTTRXSTART: 0,24,16\r\n+CMQTTRXTOPIC: 0,24\r\n/bus/bus-1/configuration"
                         "\r\n+CMQTTRXPAYLOAD: 0,16\r\n{\"route\":\"42\"}\r\n\r\n+CMQTTRXEND: 0\r\n");
        } else if (strncmp(cmd, "AT+CMQTTTOPIC=", 14) == 0) {
            char topic[256];
            reply(m, "\r\n>");
            take_data(m, arg_len(cmd), topic);
            assert_string_equal(topic, "/bus/events");
            reply(m, "\r\nOK\r\n");
        } else if (strncmp(cmd, "AT+CMQTTPAYLOAD=", 16) == 0) {
            size_t n = arg_len(cmd);
            assert_true(n < cap);
            reply(m, "\r\n>");
            take_data(m, n, published);
            reply(m, "\r\nOK\r\n");
        } else if (strncmp(cmd, "AT+CMQTTPUB=", 12) == 0) {
            reply(m, "\r\nOK\r\n\r\n+CMQTTPUB: 0,0\r\n");
            return;
        } else { /* AT, ATE0, AT+CMEE, AT+CCERTLIST, AT+CSSLCFG, ACCQ, SSLCFG */
            reply(m, "\r\nOK\r\n");
        }
    }
}

static void test_fwcore_reports_rejected_configuration(void **state)
{
    struct modem m;
    char slave_name[256], state_dir[] = "/tmp/fwcore-state-XXXXXX", published[2048], blob[300];
    int slave;
    pid_t pid;
    int status;
    struct stat st;
    memset(&m, 0, sizeof(m));
    if (access("certs/out/devices/bus-1/cert.pem", R_OK) != 0)
        fail_msg("certs/out missing: run bash certs/gen.sh (make test does)");
    assert_int_equal(openpty(&m.fd, &slave, slave_name, NULL, NULL), 0);
    assert_non_null(mkdtemp(state_dir));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(m.fd);
        close(slave);
        execl(fwcore_path, "fwcore", "--uart", slave_name, "--stack", "aws-modem-tls", "--device",
              "bus-1", "--certs", "certs/out", "--state", state_dir, (char *)NULL);
        _exit(127);
    }
    child = pid;
    close(slave); /* fwcore opens the slave by name */
    play_modem(&m, published, sizeof(published));
    assert_non_null(strstr(published, "\"type\":\"error\""));
    assert_non_null(strstr(published, "\"error\":\"configuration rejected\""));
    assert_non_null(strstr(published, "speed_threshold_kmh"));
    /* the event left the queue once the modem confirmed it: the stored queue is empty */
    snprintf(blob, sizeof(blob), "%s/blob-1", state_dir);
    {
        double deadline = now_s() + 10.0;
        while ((stat(blob, &st) != 0 || st.st_size != 20) && now_s() < deadline)
            usleep(10000);
    }
    assert_int_equal(stat(blob, &st), 0);
    assert_int_equal(st.st_size, 20);
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    child = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(m.fd);
    unlink(blob);
    rmdir(state_dir);
}

static int run_status(char *const argv[])
{
    int status, devnull;
    pid_t pid = fork();
    if (pid == 0) {
        devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        dup2(devnull, 1);
        execv(fwcore_path, argv);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_fwcore_arguments(void **state)
{
    char *missing[] = {"fwcore", "--stack", "aws-modem-tls", NULL};
    char *bad_stack[] = {"fwcore", "--uart", "/dev/null", "--stack", "azure", "--device", "b",
                         "--certs", "certs/out", NULL};
    char *bad_role[] = {"fwcore", "--uart", "/dev/null", "--stack", "aws-modem-tls", "--device",
                        "b", "--certs", "certs/out", "--role", "train", NULL};
    char *mcu[] = {"fwcore", "--uart", "/dev/null", "--stack", "gcp-mcu-tls", "--device", "b",
                   "--certs", "certs/out", NULL};
    char *help[] = {"fwcore", "--help", NULL};
    assert_int_equal(run_status(missing), 2);
    assert_int_equal(run_status(bad_stack), 2);
    assert_int_equal(run_status(bad_role), 2);
    assert_int_equal(run_status(mcu), 1); /* runs, but device b has no key */
    assert_int_equal(run_status(help), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_fwcore_reports_rejected_configuration, stop_child),
        cmocka_unit_test(test_fwcore_arguments),
    };
    /* build/tests/fw/test_fwcore_pty -> build/bin/fwcore */
    snprintf(fwcore_path, sizeof(fwcore_path), "%s", argv[0]);
    *strrchr(fwcore_path, '/') = '\0';
    strncat(fwcore_path, "/../../bin/fwcore", sizeof(fwcore_path) - strlen(fwcore_path) - 1);
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("fwcore_pty", tests, NULL, NULL);
}
