/*
 * A firmware-like host driving the real sim7600 program over its PTY and its
 * control socket (see ptyhost.h). Waits are bounded by real-time hang guards
 * only; every timed behaviour of the modem runs on the frozen virtual clock
 * this host owns and jumps.
 */
#include "ptyhost.h"

#include "vclock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

const char *ptyhost_binary(void)
{
    static char path[PATH_MAX];
    if (path[0] == '\0') {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0) {
            return "build/bin/sim7600";
        }
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(path, sizeof(path), "%.3000s/../../bin/sim7600", exe);
    }
    return path;
}

/* Wait (bounded) for pid to exit; kill it at the guard. Returns its status or -1. */
static int wait_exit(pid_t pid)
{
    int status = 0;
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    while (real_ms() < end) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        sleep_ms(5);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static pid_t spawn_quiet(char *const *args)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null_fd = open("/dev/null", O_WRONLY);
        if (null_fd >= 0) {
            dup2(null_fd, 1);
            close(null_fd);
        }
        execv(ptyhost_binary(), args);
        _exit(127);
    }
    return pid;
}

static bool wait_for_path(const char *path)
{
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    while (access(path, F_OK) != 0) {
        if (real_ms() >= end) {
            return false;
        }
        sleep_ms(5);
    }
    return true;
}

int ptyhost_start(struct ptyhost *h, const char *const *extra_args)
{
    memset(h, 0, sizeof(*h));
    h->fd = -1;
    snprintf(h->dir, sizeof(h->dir), "/tmp/ptyhost-XXXXXX");
    if (mkdtemp(h->dir) == NULL) {
        perror("ptyhost: mkdtemp");
        h->dir[0] = '\0';
        return -1;
    }
    snprintf(h->link, sizeof(h->link), "%s/modem", h->dir);
    snprintf(h->ctl, sizeof(h->ctl), "%s/ctl", h->dir);
    snprintf(h->clock_path, sizeof(h->clock_path), "%s/clock", h->dir);
    h->clock = vclock_create(h->clock_path, PTYHOST_EPOCH_NS, 0);
    if (h->clock == NULL) {
        perror("ptyhost: vclock_create");
        ptyhost_stop(h);
        return -1;
    }
    char *args[32] = { (char *)ptyhost_binary(), "--link", h->link, "--control", h->ctl, "--clock", h->clock_path };
    int n = 7;
    for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL && n < 31; i++) {
        args[n++] = (char *)extra_args[i];
    }
    args[n] = NULL;
    h->pid = spawn_quiet(args);
    /* The control socket is bound before the link appears; both exist once serving starts. */
    if (h->pid < 0 || !wait_for_path(h->link) || !wait_for_path(h->ctl) || ptyhost_open(h) != 0) {
        fprintf(stderr, "ptyhost: %s did not come up\n", ptyhost_binary());
        ptyhost_stop(h); /* nothing is left behind */
        return -1;
    }
    return 0;
}

int ptyhost_stop(struct ptyhost *h)
{
    ptyhost_close(h);
    int status = -1;
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        status = wait_exit(h->pid);
        h->pid = 0;
    }
    vclock_close(h->clock);
    h->clock = NULL;
    if (h->dir[0] != '\0') {
        unlink(h->clock_path);
        unlink(h->link);
        unlink(h->ctl);
        rmdir(h->dir);
        h->dir[0] = '\0';
    }
    return status;
}

int ptyhost_open(struct ptyhost *h)
{
    ptyhost_close(h);
    h->fd = open(h->link, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (h->fd < 0) {
        fprintf(stderr, "ptyhost: open %s: %s\n", h->link, strerror(errno));
        return -1;
    }
    h->received_total = 0;
    return 0;
}

void ptyhost_close(struct ptyhost *h)
{
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    h->seen_len = 0;
    h->seen[0] = '\0';
}

bool ptyhost_send_raw(struct ptyhost *h, const void *data, size_t len)
{
    const uint8_t *bytes = data;
    size_t off = 0;
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    while (off < len && real_ms() < end) {
        ssize_t n = write(h->fd, bytes + off, len - off);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        struct pollfd p = { .fd = h->fd, .events = POLLOUT };
        poll(&p, 1, 20);
        ptyhost_receive(h, 0); /* keep reading so a chatty modem never blocks us both */
    }
    return off == len;
}

bool ptyhost_send(struct ptyhost *h, const char *text)
{
    return ptyhost_send_raw(h, text, strlen(text));
}

void ptyhost_receive(struct ptyhost *h, int wait_ms)
{
    struct pollfd p = { .fd = h->fd, .events = POLLIN };
    if (h->fd < 0 || poll(&p, 1, wait_ms) <= 0 || h->seen_len >= PTYHOST_SEEN_MAX) {
        return;
    }
    ssize_t n = read(h->fd, h->seen + h->seen_len, PTYHOST_SEEN_MAX - h->seen_len);
    if (n > 0) {
        h->seen_len += (size_t)n;
        h->received_total += (uint64_t)n;
    }
    h->seen[h->seen_len] = '\0';
}

static void consume(struct ptyhost *h, size_t count)
{
    memmove(h->seen, h->seen + count, h->seen_len - count);
    h->seen_len -= count;
    h->seen[h->seen_len] = '\0';
}

/* Print bytes as a C string (control bytes escaped). */
static void print_escaped(const char *label, const uint8_t *data, size_t len)
{
    fprintf(stderr, "%s (%zu bytes): \"", label, len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == '\r') {
            fputs("\\r", stderr);
        } else if (c == '\n') {
            fputs("\\n", stderr);
        } else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            fprintf(stderr, "\\x%02x", c);
        } else {
            fputc(c, stderr);
        }
    }
    fputs("\"\n", stderr);
}

bool ptyhost_expect_capture(struct ptyhost *h, const char *needle, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t want = strlen(needle);
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    for (;;) {
        uint8_t *hit = memmem(h->seen, h->seen_len, needle, want);
        if (hit != NULL) {
            size_t before = (size_t)(hit - h->seen);
            size_t copied = before < cap ? before : cap;
            if (out != NULL) {
                memcpy(out, h->seen, copied);
            }
            if (out_len != NULL) {
                *out_len = copied;
            }
            consume(h, before + want);
            return true;
        }
        if (real_ms() >= end) {
            print_escaped("expected", (const uint8_t *)needle, want);
            print_escaped("received", h->seen, h->seen_len);
            return false;
        }
        ptyhost_receive(h, 20);
    }
}

bool ptyhost_expect(struct ptyhost *h, const char *needle)
{
    return ptyhost_expect_capture(h, needle, NULL, 0, NULL);
}

bool ptyhost_expect_exact(struct ptyhost *h, const char *bytes)
{
    size_t want = strlen(bytes);
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    while (h->seen_len < want && memcmp(h->seen, bytes, h->seen_len) == 0 && real_ms() < end) {
        ptyhost_receive(h, 20);
    }
    if (h->seen_len < want || memcmp(h->seen, bytes, want) != 0) {
        print_escaped("expected exactly", (const uint8_t *)bytes, want);
        print_escaped("received", h->seen, h->seen_len);
        return false;
    }
    consume(h, want);
    return true;
}

bool ptyhost_quiet(struct ptyhost *h, int quiet_ms)
{
    int64_t end = real_ms() + quiet_ms;
    while (real_ms() < end) {
        ptyhost_receive(h, 10);
    }
    if (h->seen_len != 0) {
        print_escaped("expected silence, received", h->seen, h->seen_len);
    }
    return h->seen_len == 0;
}

void ptyhost_discard(struct ptyhost *h)
{
    consume(h, h->seen_len);
}

/* Read one reply line from fd (bounded). Returns its length or -1. */
static int read_reply(int fd, char *reply, size_t cap)
{
    size_t len = 0;
    int64_t end = real_ms() + PTYHOST_GUARD_MS;
    while (len + 1 < cap && real_ms() < end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 20) <= 0) {
            continue;
        }
        char c;
        if (read(fd, &c, 1) != 1) {
            break;
        }
        if (c == '\n') {
            reply[len] = '\0';
            return (int)len;
        }
        reply[len++] = c;
    }
    reply[len] = '\0';
    return -1;
}

int ptyhost_control(struct ptyhost *h, const char *line, char *reply, size_t cap)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%.100s", h->ctl);
    char msg[1100];
    int n = snprintf(msg, sizeof(msg), "%s\n", line);
    int rc = -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 && n > 0 && (size_t)n < sizeof(msg) &&
        write(fd, msg, (size_t)n) == n && read_reply(fd, reply, cap) >= 0) {
        rc = (strcmp(reply, "ok") == 0 || strncmp(reply, "ok ", 3) == 0) ? 0 : 1;
    }
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "ptyhost: control \"%s\" failed\n", line);
    }
    return rc;
}

bool ptyhost_control_is(struct ptyhost *h, const char *line, const char *want)
{
    char reply[1024] = "";
    ptyhost_control(h, line, reply, sizeof(reply));
    if (strcmp(reply, want) != 0) {
        fprintf(stderr, "control \"%s\": expected \"%s\", got \"%s\"\n", line, want, reply);
        return false;
    }
    return true;
}

long long ptyhost_stat(struct ptyhost *h, const char *key)
{
    static char reply[16384];
    if (ptyhost_control(h, "stats", reply, sizeof(reply)) != 0) {
        return -1;
    }
    char pattern[96];
    snprintf(pattern, sizeof(pattern), "\"%.80s\":", key);
    const char *at = strstr(reply, pattern);
    if (at == NULL) {
        fprintf(stderr, "stats has no \"%s\": %s\n", key, reply);
        return -1;
    }
    return strtoll(at + strlen(pattern), NULL, 10);
}

int ptyhost_jump_ms(struct ptyhost *h, int64_t ms)
{
    return vclock_jump(h->clock, ms * VCLOCK_NS_PER_MS);
}
