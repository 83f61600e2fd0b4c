/* live.c - processes for the firmware's live tests (see live.h). */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

int64_t live_real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int live_free_port(void)
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

void live_spawn(struct live_child *c, char *const argv[])
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
bool live_wait_for(struct live_child *c, const char *needle, int64_t guard_ms)
{
    int64_t end = live_real_ms() + guard_ms;
    while (live_real_ms() < end) {
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

void live_stop_children(struct live_child *children, size_t count)
{
    size_t i;
    for (i = 0; i < count; i++) {
        if (children[i].pid > 0) {
            kill(children[i].pid, SIGTERM);
            waitpid(children[i].pid, NULL, 0);
            close(children[i].out);
            children[i].pid = 0;
        }
    }
}

/* Send one control verb to the simulator and return its reply line. */
void live_control(const char *path, const char *verb, char *reply, size_t cap)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t got = 0;
    int64_t end = live_real_ms() + 5000;
    memset(&a, 0, sizeof(a));
    a.sun_family = AF_UNIX;
    assert_true(strlen(path) < sizeof(a.sun_path));
    memcpy(a.sun_path, path, strlen(path) + 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(write(fd, verb, strlen(verb)), (ssize_t)strlen(verb));
    while (got + 1 < cap && live_real_ms() < end) {
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

void live_cloud_publish(const char *admin_port, const char *password, const char *topic,
                        const char *text)
{
    char *argv[] = {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", (char *)admin_port,
                    "-u", "cloud", "-P", (char *)password, "-t", (char *)topic, "-q", "1",
                    "-m", (char *)text, NULL};
    struct live_child pub;
    int status;
    live_spawn(&pub, argv);
    assert_int_equal(waitpid(pub.pid, &status, 0), pub.pid);
    close(pub.out);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
