/*
 * The sim7600 program driven like firmware drives a modem: over the PTY its
 * --link option makes, with the control socket, the UART capture, a shared
 * virtual clock file (so no assertion depends on real time), signals, and
 * the command line itself. Also checks that README.md's command table is
 * what `sim7600 --commands` prints today.
 */
#include "vclock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* Hang guards (real ms): generous limits, never timing assertions. */
#define GUARD_MS 5000
/* How long "nothing arrives" is watched where nothing can legitimately arrive. */
#define QUIET_MS 300

/* 2030-01-01T00:00:00Z, the frozen virtual time of the clock tests. */
#define VIRTUAL_EPOCH_NS (1893456000LL * VCLOCK_NS_PER_S)

/* One running sim7600 and the host end of its PTY. */
struct run {
    pid_t pid;
    char dir[64];
    char link[128];
    char ctl[128];
    char log[128];
    char clock_path[128];
    char slave[128];
    struct vclock *clock;
    int fd;             /* host end: the opened link, -1 when closed */
    char seen[8192];    /* bytes received and not yet consumed */
    size_t seen_len;
};

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* build/tests/sim/test_program -> build/bin/sim7600 */
static const char *sim_binary(void)
{
    static char path[PATH_MAX];
    if (path[0] == '\0') {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(path, sizeof(path), "%.3000s/../../bin/sim7600", exe);
    }
    return path;
}

/* Start sim7600 with args; its stdout and stderr come back through pipes (NULL: /dev/null). */
static pid_t spawn(char *const *args, int *out_fd, int *err_fd)
{
    int out[2] = { -1, -1 };
    int err[2] = { -1, -1 };
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(err), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(err[1], 2);
        close(out[0]);
        close(err[0]);
        execv(sim_binary(), args);
        _exit(127);
    }
    close(out[1]);
    close(err[1]);
    if (out_fd != NULL) {
        *out_fd = out[0];
    } else {
        close(out[0]);
    }
    if (err_fd != NULL) {
        *err_fd = err[0];
    } else {
        close(err[0]);
    }
    return pid;
}

/* Read fd to its end (or until the guard) into buf; returns the length. */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    int64_t end = real_ms() + GUARD_MS;
    while (len + 1 < cap && real_ms() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0) {
            continue;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n <= 0) {
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* Wait for pid with a hang guard; returns its exit status, or -1 if it had to be killed. */
static int wait_exit(pid_t pid)
{
    int64_t end = real_ms() + GUARD_MS;
    int status = 0;
    while (real_ms() < end) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* Run sim7600 to its end; returns the exit status and fills out/err. */
static int run_to_end(char *const *args, char *out, size_t out_cap, char *err, size_t err_cap)
{
    int out_fd;
    int err_fd;
    pid_t pid = spawn(args, &out_fd, &err_fd);
    read_all(out_fd, out, out_cap);
    read_all(err_fd, err, err_cap);
    close(out_fd);
    close(err_fd);
    return wait_exit(pid);
}

/* ---------------------------------------------------------------- a served run */

/* The run of the test in progress, stopped by the teardown even when an assertion failed. */
static struct run *active_run;

/* Start a served modem; clock_rate_micro >= 0 also creates a clock file at VIRTUAL_EPOCH_NS. */
static void run_start(struct run *r, int64_t clock_rate_micro, const char *extra1, const char *extra2)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    active_run = r;
    snprintf(r->dir, sizeof(r->dir), "/tmp/test-program-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    snprintf(r->link, sizeof(r->link), "%s/modem", r->dir);
    snprintf(r->ctl, sizeof(r->ctl), "%s/ctl", r->dir);
    snprintf(r->log, sizeof(r->log), "%s/uart.log", r->dir);
    snprintf(r->clock_path, sizeof(r->clock_path), "%s/clock", r->dir);
    char *args[16] = { (char *)sim_binary(), "--link", r->link, "--control", r->ctl, "--log", r->log };
    int n = 7;
    if (clock_rate_micro >= 0) {
        r->clock = vclock_create(r->clock_path, VIRTUAL_EPOCH_NS, clock_rate_micro);
        assert_non_null(r->clock);
        args[n++] = "--clock";
        args[n++] = r->clock_path;
    }
    if (extra1 != NULL) {
        args[n++] = (char *)extra1;
    }
    if (extra2 != NULL) {
        args[n++] = (char *)extra2;
    }
    args[n] = NULL;
    int out_fd;
    r->pid = spawn(args, &out_fd, NULL);
    /* The first stdout line is the slave path, printed once the link exists. */
    size_t len = 0;
    int64_t end = real_ms() + GUARD_MS;
    while (len + 1 < sizeof(r->slave) && real_ms() < end && (len == 0 || r->slave[len - 1] != '\n')) {
        struct pollfd p = { .fd = out_fd, .events = POLLIN };
        if (poll(&p, 1, 100) > 0 && read(out_fd, r->slave + len, 1) == 1) {
            len++;
        }
    }
    close(out_fd);
    assert_true(len > 1 && r->slave[len - 1] == '\n');
    r->slave[len - 1] = '\0';
}

static void host_open(struct run *r)
{
    r->fd = open(r->link, O_RDWR | O_NOCTTY | O_NONBLOCK);
    assert_true(r->fd >= 0);
    r->seen_len = 0;
}

static void host_close(struct run *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
}

/* Stop with SIGTERM; returns the exit status. Removes the temporary directory. */
static int run_stop(struct run *r)
{
    host_close(r);
    int status = -1;
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        status = wait_exit(r->pid);
        r->pid = 0;
    }
    vclock_close(r->clock);
    r->clock = NULL;
    if (r->dir[0] != '\0') {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        if (system(cmd) != 0) {
            print_message("could not remove %s\n", r->dir);
        }
        r->dir[0] = '\0';
    }
    active_run = NULL;
    return status;
}

/* Teardown of every test: no sim7600 outlives its test, whatever happened. */
static int stop_active_run(void **state)
{
    (void)state;
    if (active_run != NULL) {
        run_stop(active_run);
    }
    return 0;
}

static void host_send(struct run *r, const char *text)
{
    size_t len = strlen(text);
    size_t off = 0;
    int64_t end = real_ms() + GUARD_MS;
    while (off < len && real_ms() < end) {
        ssize_t n = write(r->fd, text + off, len - off);
        if (n > 0) {
            off += (size_t)n;
        } else {
            struct pollfd p = { .fd = r->fd, .events = POLLOUT };
            poll(&p, 1, 50);
        }
    }
    assert_int_equal(off, len);
}

/* Read what is there, waiting at most wait_ms. */
static void host_receive(struct run *r, int wait_ms)
{
    struct pollfd p = { .fd = r->fd, .events = POLLIN };
    if (poll(&p, 1, wait_ms) <= 0) {
        return;
    }
    ssize_t n = read(r->fd, r->seen + r->seen_len, sizeof(r->seen) - 1 - r->seen_len);
    if (n > 0) {
        r->seen_len += (size_t)n;
    }
    r->seen[r->seen_len] = '\0';
}

/* Wait until the received bytes contain needle; consume through it. */
static bool host_expect(struct run *r, const char *needle)
{
    int64_t end = real_ms() + GUARD_MS;
    for (;;) {
        r->seen[r->seen_len] = '\0';
        char *hit = memmem(r->seen, r->seen_len, needle, strlen(needle));
        if (hit != NULL) {
            size_t used = (size_t)(hit - r->seen) + strlen(needle);
            memmove(r->seen, r->seen + used, r->seen_len - used);
            r->seen_len -= used;
            return true;
        }
        if (real_ms() >= end) {
            print_message("expected \"%s\", have %zu bytes: \"%s\"\n", needle, r->seen_len, r->seen);
            return false;
        }
        host_receive(r, 50);
    }
}

/* Expect exactly these bytes next (after waiting for enough of them). */
static bool host_expect_exact(struct run *r, const char *bytes)
{
    size_t want = strlen(bytes);
    int64_t end = real_ms() + GUARD_MS;
    while (r->seen_len < want && real_ms() < end) {
        host_receive(r, 50);
    }
    r->seen[r->seen_len] = '\0';
    if (r->seen_len < want || memcmp(r->seen, bytes, want) != 0) {
        print_message("expected exactly %zu bytes, have %zu: \"%s\"\n", want, r->seen_len, r->seen);
        return false;
    }
    memmove(r->seen, r->seen + want, r->seen_len - want);
    r->seen_len -= want;
    return true;
}

/* Nothing at all arrives for QUIET_MS (used only where nothing can legitimately arrive). */
static bool host_quiet(struct run *r)
{
    int64_t end = real_ms() + QUIET_MS;
    while (real_ms() < end) {
        host_receive(r, 20);
    }
    if (r->seen_len != 0) {
        print_message("expected silence, got: \"%s\"\n", r->seen);
    }
    return r->seen_len == 0;
}

static int control_connect(const struct run *r)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%.100s", r->ctl);
    assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    return fd;
}

/* Send one line on a connected control socket and read its one-line reply. */
static void control_on(int fd, const char *line, char *reply, size_t cap)
{
    char msg[600];
    int n = snprintf(msg, sizeof(msg), "%s\n", line);
    assert_int_equal(write(fd, msg, (size_t)n), n);
    size_t len = 0;
    int64_t end = real_ms() + GUARD_MS;
    while (len + 1 < cap && real_ms() < end && (len == 0 || reply[len - 1] != '\n')) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) > 0) {
            ssize_t got = read(fd, reply + len, 1);
            assert_true(got == 1);
            len++;
        }
    }
    assert_true(len > 0 && reply[len - 1] == '\n');
    reply[len - 1] = '\0';
}

/* One control command on a fresh connection. */
static void control(const struct run *r, const char *line, char *reply, size_t cap)
{
    int fd = control_connect(r);
    control_on(fd, line, reply, cap);
    close(fd);
}

static void control_expect(const struct run *r, const char *line, const char *want)
{
    char reply[8192];
    control(r, line, reply, sizeof(reply));
    assert_string_equal(reply, want);
}

/* A counter from the stats JSON. */
static long long stats_counter(const struct run *r, const char *key)
{
    char reply[8192];
    control(r, "stats", reply, sizeof(reply));
    assert_true(strncmp(reply, "ok {", 4) == 0);
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "\"%s\":", key);
    const char *at = strstr(reply, pattern);
    assert_non_null(at);
    return strtoll(at + strlen(pattern), NULL, 10);
}

static bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---------------------------------------------------------------- tests */

static void link_prints_slave_and_answers_at(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    char target[128];
    ssize_t n = readlink(r.link, target, sizeof(target) - 1);
    assert_true(n > 0);
    target[n] = '\0';
    assert_string_equal(target, r.slave);
    assert_true(strncmp(r.slave, "/dev/pts/", 9) == 0);
    host_open(&r);
    host_send(&r, "AT\r");
    assert_true(host_expect_exact(&r, "AT\r\r\nOK\r\n"));
    host_send(&r, "ATE0\r");
    assert_true(host_expect_exact(&r, "ATE0\r\r\nOK\r\n"));
    host_send(&r, "at\r");
    assert_true(host_expect_exact(&r, "\r\nOK\r\n"));
    assert_int_equal(run_stop(&r), 0);
}

static void sigterm_removes_link_and_socket(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    assert_true(path_exists(r.link));
    assert_true(path_exists(r.ctl));
    host_open(&r);
    host_close(&r);
    kill(r.pid, SIGTERM);
    assert_int_equal(wait_exit(r.pid), 0);
    r.pid = 0;
    assert_false(path_exists(r.link));
    assert_false(path_exists(r.ctl));
    assert_true(path_exists(r.log));
    run_stop(&r);
}

static void sigint_also_stops_cleanly(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    kill(r.pid, SIGINT);
    assert_int_equal(wait_exit(r.pid), 0);
    r.pid = 0;
    assert_false(path_exists(r.link));
    run_stop(&r);
}

static void host_can_close_and_reopen(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    for (int round = 0; round < 3; round++) {
        host_open(&r);
        host_send(&r, "AT\r");
        assert_true(host_expect(&r, "\r\nOK\r\n"));
        host_close(&r);
    }
    control_expect(&r, "ping", "ok pong");
    assert_int_equal(run_stop(&r), 0);
}

static void control_ping_stats_and_errors(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    control_expect(&r, "ping", "ok pong");
    /* several clients at once, several lines per client, CRLF tolerated */
    int a = control_connect(&r);
    int b = control_connect(&r);
    char reply[8192];
    control_on(a, "ping", reply, sizeof(reply));
    assert_string_equal(reply, "ok pong");
    control_on(b, "ping\r", reply, sizeof(reply));
    assert_string_equal(reply, "ok pong");
    control_on(a, "no-such-verb 1", reply, sizeof(reply));
    assert_string_equal(reply, "error: unknown command 'no-such-verb'");
    control_on(b, "", reply, sizeof(reply));
    assert_string_equal(reply, "error: empty command");
    char longline[1500];
    memset(longline, 'x', sizeof(longline));
    assert_int_equal(write(a, longline, sizeof(longline)), sizeof(longline));
    control_on(a, "xyz", reply, sizeof(reply)); /* ends the overlong line */
    assert_string_equal(reply, "error: line too long");
    control_on(a, "ping", reply, sizeof(reply));
    assert_string_equal(reply, "ok pong");
    close(a);
    close(b);

    host_open(&r);
    host_send(&r, "AT\r");
    assert_true(host_expect(&r, "OK\r\n"));
    control(&r, "stats", reply, sizeof(reply));
    assert_true(strncmp(reply, "ok {", 4) == 0);
    assert_true(reply[strlen(reply) - 1] == '}');
    assert_int_equal(stats_counter(&r, "commands"), 1);
    assert_int_equal(stats_counter(&r, "rx_bytes"), 3);
    assert_int_equal(stats_counter(&r, "tx_bytes"), 9);
    assert_int_equal(run_stop(&r), 0);
}

static void control_net_down_and_up(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    char reply[8192];
    control(&r, "stats", reply, sizeof(reply));
    assert_non_null(strstr(reply, "\"network_up\":true"));
    control_expect(&r, "net down", "ok net down");
    control(&r, "stats", reply, sizeof(reply));
    assert_non_null(strstr(reply, "\"network_up\":false"));
    control_expect(&r, "net sideways", "error: usage: net up|down");
    control_expect(&r, "net up", "ok net up");
    control(&r, "stats", reply, sizeof(reply));
    assert_non_null(strstr(reply, "\"network_up\":true"));
    host_open(&r);
    host_send(&r, "AT\r");
    assert_true(host_expect(&r, "OK\r\n"));
    assert_int_equal(run_stop(&r), 0);
}

/* A stall on a frozen shared clock lasts until the clock owner moves time on. */
static void stall_ends_when_the_shared_clock_jumps(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, 0, NULL, NULL);
    host_open(&r);
    host_send(&r, "ATE0\r");
    assert_true(host_expect_exact(&r, "ATE0\r\r\nOK\r\n"));
    control_expect(&r, "stall 5", "ok stall 5.000");
    host_send(&r, "AT\r");
    assert_true(host_quiet(&r)); /* virtual time is frozen: the stall cannot end */
    assert_true(stats_counter(&r, "rx_dropped") >= 3);
    vclock_jump(r.clock, 4 * VCLOCK_NS_PER_S);
    host_send(&r, "AT\r");
    assert_true(host_quiet(&r)); /* 4 s of 5 */
    vclock_jump(r.clock, 2 * VCLOCK_NS_PER_S);
    host_send(&r, "AT\r");
    assert_true(host_expect_exact(&r, "\r\nOK\r\n"));
    assert_int_equal(run_stop(&r), 0);
}

static void uart_loss_of_everything_drops_every_byte(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, NULL, NULL);
    host_open(&r);
    control_expect(&r, "uart-loss 1.0", "ok uart-loss 1 both");
    host_send(&r, "AT\r");
    host_send(&r, "ATI\r");
    assert_true(host_quiet(&r));
    assert_int_equal(stats_counter(&r, "rx_dropped"), 7);
    assert_int_equal(stats_counter(&r, "commands"), 0);
    control_expect(&r, "uart-loss 1.0 tx", "ok uart-loss 1 tx");
    control_expect(&r, "uart-loss 0 rx", "ok uart-loss 0 rx");
    host_send(&r, "AT\r");
    assert_true(host_quiet(&r));
    assert_int_equal(stats_counter(&r, "commands"), 1);
    assert_int_equal(stats_counter(&r, "tx_dropped"), 9);
    control_expect(&r, "uart-loss 0", "ok uart-loss 0 both");
    host_send(&r, "AT\r");
    assert_true(host_expect_exact(&r, "AT\r\r\nOK\r\n"));
    control_expect(&r, "uart-loss 2", "error: usage: uart-loss RATE(0..1) [rx|tx|both]");
    assert_int_equal(run_stop(&r), 0);
}

static void reset_via_control_sends_the_boot_urcs(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, 0, "--boot-ms", "9000");
    host_open(&r);
    host_send(&r, "ATE0\r");
    assert_true(host_expect_exact(&r, "ATE0\r\r\nOK\r\n"));
    control_expect(&r, "reset", "ok reset");
    host_send(&r, "AT\r");
    assert_true(host_quiet(&r)); /* booting on a frozen clock: nobody listens */
    vclock_jump(r.clock, 10 * VCLOCK_NS_PER_S);
    assert_true(host_expect_exact(&r, "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"));
    /* echo is back on after the reset */
    host_send(&r, "AT\r");
    assert_true(host_expect_exact(&r, "AT\r\r\nOK\r\n"));
    assert_int_equal(stats_counter(&r, "resets"), 1);
    assert_int_equal(run_stop(&r), 0);
}

/* The capture: one escaped line per chunk, virtual time first, then real time. */
static void log_captures_both_directions(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, 0, NULL, NULL);
    host_open(&r);
    host_send(&r, "AT\r");
    assert_true(host_expect_exact(&r, "AT\r\r\nOK\r\n"));
    host_send(&r, "A\"\\\x01\r"); /* no AT prefix: echoed, then ignored */
    assert_true(host_expect_exact(&r, "A\"\\\x01\r"));
    host_close(&r);
    kill(r.pid, SIGTERM);
    assert_int_equal(wait_exit(r.pid), 0);
    r.pid = 0;
    FILE *f = fopen(r.log, "r");
    assert_non_null(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_true(text[0] == '#');
    assert_non_null(strstr(text, "\n2030-01-01T00:00:00.000Z 20"));
    assert_non_null(strstr(text, " RX \"AT\\r\"\n"));
    assert_non_null(strstr(text, " TX \"AT\\r\\r\\nOK\\r\\n\"\n"));
    assert_non_null(strstr(text, " RX \"A\\\"\\\\\\x01\\r\"\n"));
    /* every non-comment line has the documented shape */
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') {
            continue;
        }
        char virt[32];
        char real[32];
        char dir[4];
        assert_int_equal(sscanf(line, "%31s %31s %3s", virt, real, dir), 3);
        assert_int_equal(strlen(virt), 24);
        assert_int_equal(strlen(real), 24);
        assert_true(strcmp(dir, "RX") == 0 || strcmp(dir, "TX") == 0);
        assert_true(line[strlen(line) - 1] == '"');
    }
    run_stop(&r);
}

static void serial_mode_serves_a_tty(void **state)
{
    (void)state;
    int master = -1;
    int slave = -1;
    char name[128];
    assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
    char *args[] = { (char *)sim_binary(), "--serial", name, "--baud", "115200", NULL };
    pid_t pid = spawn(args, NULL, NULL);
    struct termios tio;
    tcgetattr(master, &tio);
    cfmakeraw(&tio);
    tcsetattr(master, TCSANOW, &tio);
    assert_int_equal(write(master, "AT\r", 3), 3);
    char got[64] = "";
    size_t len = 0;
    int64_t end = real_ms() + GUARD_MS;
    while (len < 9 && real_ms() < end) {
        struct pollfd p = { .fd = master, .events = POLLIN };
        if (poll(&p, 1, 50) > 0) {
            ssize_t k = read(master, got + len, sizeof(got) - 1 - len);
            len += k > 0 ? (size_t)k : 0;
        }
    }
    got[len] = '\0';
    assert_string_equal(got, "AT\r\r\nOK\r\n");
    kill(pid, SIGTERM);
    assert_int_equal(wait_exit(pid), 0);
    close(master);
    close(slave);
}

/*
 * --pace-baud sets a floor under the time bytes take (a slow machine only adds
 * to it): 20 pipelined "AT\r" with echo on come back as 180 bytes, which take at
 * least 187.5 ms on a 9600-baud line (10 bits a byte, less a 2 ms burst).
 */
static void pace_baud_holds_the_uart_to_the_line_rate(void **state)
{
    (void)state;
    static struct run r; /* static: the teardown may stop it after a failed assertion */
    run_start(&r, -1, "--pace-baud", "9600");
    host_open(&r);
    char input[61] = "";
    char output[181] = "";
    for (int i = 0; i < 20; i++) {
        strcat(input, "AT\r");
        strcat(output, "AT\r\r\nOK\r\n");
    }
    int64_t t0 = real_ms();
    host_send(&r, input);
    assert_true(host_expect_exact(&r, output));
    int64_t elapsed = real_ms() - t0;
    if (elapsed < 180) {
        print_message("180 bytes at 9600 baud arrived in %lld ms\n", (long long)elapsed);
    }
    assert_true(elapsed >= 180);
    assert_int_equal(run_stop(&r), 0);
}

static void help_exits_zero(void **state)
{
    (void)state;
    char out[8192];
    char err[8192];
    char *args[] = { (char *)sim_binary(), "--help", NULL };
    assert_int_equal(run_to_end(args, out, sizeof(out), err, sizeof(err)), 0);
    assert_true(strncmp(out, "usage: sim7600", 14) == 0);
    assert_non_null(strstr(out, "--pace-baud"));
    assert_string_equal(err, "");
}

static void bad_arguments_exit_two_with_usage(void **state)
{
    (void)state;
    const char *cases[][5] = {
        { "--bogus" },
        { "--link" },
        { "" },
        { "--link", "/tmp/x", "--serial", "/dev/null" },
        { "--link", "/tmp/x", "stray" },
        { "--link", "/tmp/x", "--cmee", "3" },
        { "--link", "/tmp/x", "--order", "sideways" },
        { "--link", "/tmp/x", "--urc", "never" },
        { "--link", "/tmp/x", "--latency", "slow" },
        { "--link", "/tmp/x", "--imei", "12345" },
        { "--link", "/tmp/x", "--iccid", "89abc" },
        { "--link", "/tmp/x", "--max-line", "8" },
        { "--link", "/tmp/x", "--seed", "0" },
        { "--link", "/tmp/x", "--pace-baud", "fast" },
        { "--link", "/tmp/x", "--baud", "115200" },
        { "--serial", "/dev/null", "--baud", "12345" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *args[8] = { (char *)sim_binary() };
        int n = 1;
        for (int k = 0; k < 5 && cases[i][k] != NULL; k++) {
            if (cases[i][k][0] != '\0') {
                args[n++] = (char *)cases[i][k];
            }
        }
        args[n] = NULL;
        char out[8192];
        char err[8192];
        int status = run_to_end(args, out, sizeof(out), err, sizeof(err));
        if (status != 2 || strstr(err, "usage: sim7600") == NULL || strstr(err, "sim7600: ") == NULL) {
            print_message("case %zu (%s ...): status %d, stderr:\n%s\n", i, cases[i][0], status, err);
        }
        assert_int_equal(status, 2);
        assert_non_null(strstr(err, "usage: sim7600"));
        assert_string_equal(out, "");
    }
}

static void link_over_a_regular_file_is_refused(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-program-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char file[128];
    snprintf(file, sizeof(file), "%s/modem", dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    char *args[] = { (char *)sim_binary(), "--link", file, NULL };
    char out[1024];
    char err[1024];
    assert_int_equal(run_to_end(args, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "is not a symlink"));
    assert_true(path_exists(file));
    unlink(file);
    rmdir(dir);
}

/* What cannot be opened at start-up is named on stderr, with exit status 1 and nothing left behind. */
static void startup_failures_exit_one(void **state)
{
    (void)state;
    char dir[] = "/tmp/test-program-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char link[128];
    char path[128];
    snprintf(link, sizeof(link), "%s/modem", dir);
    struct {
        const char *option;
        const char *value;
        const char *message;
    } cases[] = {
        { "--clock", "/nonexistent/clock", "cannot open clock /nonexistent/clock" },
        { "--clock", "/etc/hostname", "cannot open clock /etc/hostname" },
        { "--log", "/nonexistent/uart.log", "cannot open log /nonexistent/uart.log" },
        { "--control", "/nonexistent/ctl", "cannot listen on /nonexistent/ctl" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(path, sizeof(path), "%s", cases[i].value);
        char *args[] = { (char *)sim_binary(), "--link", link, (char *)cases[i].option, path, NULL };
        char out[1024];
        char err[1024];
        assert_int_equal(run_to_end(args, out, sizeof(out), err, sizeof(err)), 1);
        if (strstr(err, cases[i].message) == NULL) {
            print_message("stderr: %s\n", err);
        }
        assert_non_null(strstr(err, cases[i].message));
        assert_false(path_exists(link));
    }
    char *serial[] = { (char *)sim_binary(), "--serial", "/nonexistent/tty", NULL };
    char out[1024];
    char err[1024];
    assert_int_equal(run_to_end(serial, out, sizeof(out), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "cannot open /nonexistent/tty"));
    rmdir(dir);
}

/* ---------------------------------------------------------------- the README table */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 20;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = fread(text, 1, cap - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void readme_command_table_is_current(void **state)
{
    (void)state;
    char *readme = read_file("README.md");
    if (readme == NULL) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%.4000s/../../README.md", sim_binary());
        *strstr(path, "/bin/sim7600/") = '\0';
        strcat(path, "/../README.md");
        readme = read_file(path);
    }
    assert_non_null(readme);
    const char *begin_mark = "<!-- commands:begin -->\n";
    char *begin = strstr(readme, begin_mark);
    char *end = strstr(readme, "<!-- commands:end -->");
    assert_non_null(begin);
    assert_non_null(end);
    begin += strlen(begin_mark);
    assert_true(end >= begin);
    *end = '\0';

    static char table[1 << 20];
    char err[1024];
    char *args[] = { (char *)sim_binary(), "--commands", NULL };
    assert_int_equal(run_to_end(args, table, sizeof(table), err, sizeof(err)), 0);
    if (strcmp(begin, table) != 0) {
        print_message("README.md's command table is stale: run sim/gen-commands-table.sh\n");
    }
    assert_string_equal(begin, table);
    free(readme);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(link_prints_slave_and_answers_at, stop_active_run),
        cmocka_unit_test_teardown(sigterm_removes_link_and_socket, stop_active_run),
        cmocka_unit_test_teardown(sigint_also_stops_cleanly, stop_active_run),
        cmocka_unit_test_teardown(host_can_close_and_reopen, stop_active_run),
        cmocka_unit_test_teardown(control_ping_stats_and_errors, stop_active_run),
        cmocka_unit_test_teardown(control_net_down_and_up, stop_active_run),
        cmocka_unit_test_teardown(stall_ends_when_the_shared_clock_jumps, stop_active_run),
        cmocka_unit_test_teardown(uart_loss_of_everything_drops_every_byte, stop_active_run),
        cmocka_unit_test_teardown(reset_via_control_sends_the_boot_urcs, stop_active_run),
        cmocka_unit_test_teardown(log_captures_both_directions, stop_active_run),
        cmocka_unit_test_teardown(serial_mode_serves_a_tty, stop_active_run),
        cmocka_unit_test_teardown(pace_baud_holds_the_uart_to_the_line_rate, stop_active_run),
        cmocka_unit_test_teardown(help_exits_zero, stop_active_run),
        cmocka_unit_test_teardown(bad_arguments_exit_two_with_usage, stop_active_run),
        cmocka_unit_test_teardown(link_over_a_regular_file_is_refused, stop_active_run),
        cmocka_unit_test_teardown(startup_failures_exit_one, stop_active_run),
        cmocka_unit_test_teardown(readme_command_table_is_current, stop_active_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
