/*
 * The control socket (--control): a Unix stream socket serving several
 * clients at once. Each newline-terminated line is one command of the
 * control protocol (sim_modem_control, README "Control protocol") and gets
 * exactly one reply line, "ok ..." or "error: ...".
 */
#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Room for the longest reply (stats JSON grows with the groups). */
#define CONTROL_REPLY_MAX 65536

void prog_control_init(struct prog_control *ctl)
{
    memset(ctl, 0, sizeof(*ctl));
    ctl->listen_fd = -1;
    for (int i = 0; i < PROG_CONTROL_MAX_CLIENTS; i++) {
        ctl->clients[i].fd = -1;
    }
}

int prog_control_open(struct prog_control *ctl, const char *path)
{
    prog_control_init(ctl);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "sim7600: control socket path too long (max %zu): %s\n", sizeof(addr.sun_path) - 1, path);
        return -1;
    }
    strcpy(addr.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "sim7600: %s exists and is not a socket\n", path);
            return -1;
        }
        unlink(path); /* stale socket of an earlier run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0) {
        fprintf(stderr, "sim7600: cannot listen on %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    ctl->listen_fd = fd;
    ctl->path = path;
    return 0;
}

static void client_close(struct prog_control_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

void prog_control_prepare(struct prog_control *ctl, struct sim_pollset *ps)
{
    if (ctl->listen_fd < 0) {
        return;
    }
    sim_pollset_add(ps, ctl->listen_fd, POLLIN);
    for (int i = 0; i < PROG_CONTROL_MAX_CLIENTS; i++) {
        struct prog_control_client *c = &ctl->clients[i];
        if (c->fd >= 0) {
            sim_pollset_add(ps, c->fd, (short)(POLLIN | (c->out_len > c->out_off ? POLLOUT : 0)));
        }
    }
}

static void accept_clients(struct prog_control *ctl)
{
    for (;;) {
        int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        struct prog_control_client *slot = NULL;
        for (int i = 0; i < PROG_CONTROL_MAX_CLIENTS && slot == NULL; i++) {
            if (ctl->clients[i].fd < 0) {
                slot = &ctl->clients[i];
            }
        }
        if (slot == NULL) {
            static const char full[] = "error: too many control clients\n";
            ssize_t ignored = write(fd, full, sizeof(full) - 1);
            (void)ignored;
            close(fd);
            continue;
        }
        slot->fd = fd;
    }
}

/* Queue bytes for the client; returns false when out of memory. */
static bool client_queue(struct prog_control_client *c, const char *data, size_t len)
{
    if (c->out_off == c->out_len) {
        c->out_off = 0;
        c->out_len = 0;
    }
    char *grown = realloc(c->out, c->out_len + len);
    if (grown == NULL) {
        return false;
    }
    memcpy(grown + c->out_len, data, len);
    c->out = grown;
    c->out_len += len;
    return true;
}

/* Write what is queued; returns false when the client is gone. */
static bool client_flush(struct prog_control_client *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        }
        c->out_off += (size_t)n;
    }
    return true;
}

static bool client_reply_line(struct prog_control_client *c, struct sim_modem *modem, const char *line)
{
    char *reply = malloc(CONTROL_REPLY_MAX);
    if (reply == NULL) {
        return client_queue(c, "error: out of memory\n", 21);
    }
    reply[0] = '\0';
    sim_modem_control(modem, line, reply, CONTROL_REPLY_MAX);
    size_t n = strlen(reply);
    bool ok = client_queue(c, reply, n) && client_queue(c, "\n", 1);
    free(reply);
    return ok;
}

/* Split the input into lines and answer each one. */
static bool client_take(struct prog_control_client *c, struct sim_modem *modem, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (ch != '\n') {
            if (c->in_len < PROG_CONTROL_LINE_MAX) {
                c->in[c->in_len++] = ch;
            } else {
                c->discarding = true;
            }
            continue;
        }
        if (c->in_len > 0 && c->in[c->in_len - 1] == '\r') {
            c->in_len--;
        }
        c->in[c->in_len] = '\0';
        bool ok = c->discarding ? client_queue(c, "error: line too long\n", 21) : client_reply_line(c, modem, c->in);
        c->in_len = 0;
        c->discarding = false;
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool client_serve(struct prog_control_client *c, struct sim_modem *modem, short revents)
{
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[4096];
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return false;
        }
        if (n > 0 && !client_take(c, modem, buf, (size_t)n)) {
            return false;
        }
    }
    return client_flush(c);
}

static short revents_of(const struct sim_pollset *ps, int fd)
{
    for (int i = 0; i < ps->count; i++) {
        if (ps->fds[i].fd == fd) {
            return ps->fds[i].revents;
        }
    }
    return 0;
}

void prog_control_dispatch(struct prog_control *ctl, struct sim_modem *modem, const struct sim_pollset *ps)
{
    if (ctl->listen_fd < 0) {
        return;
    }
    for (int i = 0; i < PROG_CONTROL_MAX_CLIENTS; i++) {
        struct prog_control_client *c = &ctl->clients[i];
        if (c->fd < 0) {
            continue;
        }
        short revents = revents_of(ps, c->fd);
        if (revents != 0 && !client_serve(c, modem, revents)) {
            client_close(c);
        }
    }
    if (revents_of(ps, ctl->listen_fd) & POLLIN) {
        accept_clients(ctl);
    }
}

void prog_control_close(struct prog_control *ctl)
{
    for (int i = 0; i < PROG_CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd >= 0) {
            client_close(&ctl->clients[i]);
        }
    }
    if (ctl->listen_fd >= 0) {
        close(ctl->listen_fd);
        ctl->listen_fd = -1;
        unlink(ctl->path);
    }
}
