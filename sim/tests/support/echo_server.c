/* A TCP echo server on its own thread, for tests (see echo_server.h). */
#include "echo_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void wake_thread(struct echo_server *s)
{
    char c = 1;
    if (write(s->wake[1], &c, 1) < 0) {
        /* the pipe is full: the thread wakes anyway */
    }
}

static void client_close(struct echo_client *c, bool reset)
{
    if (c->fd < 0) {
        return;
    }
    if (reset) {
        struct linger lg = { .l_onoff = 1, .l_linger = 0 };
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static void client_queue(struct echo_client *c, const uint8_t *data, size_t len)
{
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + len) {
            cap *= 2;
        }
        uint8_t *grown = realloc(c->out, cap);
        if (grown == NULL) {
            return;
        }
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void client_flush(struct echo_client *c)
{
    while (c->out_len > 0) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                return;
            }
            client_close(c, false);
            return;
        }
        memmove(c->out, c->out + n, c->out_len - (size_t)n);
        c->out_len -= (size_t)n;
    }
}

/* Read what a client sent: log it and echo it; close on EOF. */
static void client_read(struct echo_server *s, struct echo_client *c)
{
    uint8_t buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        client_close(c, false);
        return;
    }
    if (n < 0) {
        return;
    }
    size_t room = ECHO_SERVER_LOG_MAX - s->log_len;
    size_t keep = (size_t)n < room ? (size_t)n : room;
    memcpy(s->log + s->log_len, buf, keep);
    s->log_len += keep;
    s->received += (size_t)n;
    if (s->echo) {
        client_queue(c, buf, (size_t)n);
        client_flush(c);
    }
}

static void accept_clients(struct echo_server *s)
{
    for (;;) {
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return;
        }
        bool placed = false;
        for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS && !placed; i++) {
            if (s->clients[i].fd < 0) {
                s->clients[i].fd = fd;
                placed = true;
            }
        }
        if (!placed) {
            close(fd);
            continue;
        }
        s->accepted++;
    }
}

/* Build the poll set under the lock; returns the count. */
static int build_pollset(struct echo_server *s, struct pollfd *fds)
{
    int n = 0;
    fds[n++] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
    fds[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
    for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
        if (s->clients[i].fd >= 0) {
            short events = POLLIN;
            if (s->clients[i].out_len > 0) {
                events |= POLLOUT;
            }
            fds[n++] = (struct pollfd){ .fd = s->clients[i].fd, .events = events };
        }
    }
    return n;
}

static void serve_ready(struct echo_server *s, const struct pollfd *fds, int count)
{
    if (fds[0].revents & POLLIN) {
        char drain[64];
        while (read(s->wake[0], drain, sizeof(drain)) > 0) {
        }
    }
    if (fds[1].revents & POLLIN) {
        accept_clients(s);
    }
    for (int k = 2; k < count; k++) {
        for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
            struct echo_client *c = &s->clients[i];
            if (c->fd != fds[k].fd || fds[k].revents == 0) {
                continue; /* closed (and maybe reused) since the poll set was built */
            }
            if (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) {
                client_read(s, c);
            }
            if (c->fd >= 0 && (fds[k].revents & POLLOUT)) {
                client_flush(c);
            }
        }
    }
}

static void *server_main(void *arg)
{
    struct echo_server *s = arg;
    struct pollfd fds[ECHO_SERVER_MAX_CLIENTS + 2];
    for (;;) {
        pthread_mutex_lock(&s->lock);
        if (!s->running) {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        int count = build_pollset(s, fds);
        pthread_mutex_unlock(&s->lock);
        poll(fds, (nfds_t)count, 1000);
        pthread_mutex_lock(&s->lock);
        serve_ready(s, fds, count);
        pthread_mutex_unlock(&s->lock);
    }
}

static int open_listener(struct echo_server *s)
{
    s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(s->listen_fd, 16) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&addr, &len) != 0) {
        close(s->listen_fd);
        return -1;
    }
    s->port = ntohs(addr.sin_port);
    return 0;
}

int echo_server_start(struct echo_server *s)
{
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
        s->clients[i].fd = -1;
    }
    s->echo = true;
    if (open_listener(s) != 0) {
        return -1;
    }
    if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        close(s->listen_fd);
        return -1;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->running = true;
    if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
        s->running = false;
        close(s->listen_fd);
        close(s->wake[0]);
        close(s->wake[1]);
        return -1;
    }
    return 0;
}

void echo_server_stop(struct echo_server *s)
{
    pthread_mutex_lock(&s->lock);
    bool was_running = s->running;
    s->running = false;
    pthread_mutex_unlock(&s->lock);
    if (!was_running) {
        return;
    }
    wake_thread(s);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
        client_close(&s->clients[i], false);
    }
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->lock);
}

void echo_server_set_echo(struct echo_server *s, bool echo)
{
    pthread_mutex_lock(&s->lock);
    s->echo = echo;
    pthread_mutex_unlock(&s->lock);
}

int echo_server_accepted(struct echo_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->accepted;
    pthread_mutex_unlock(&s->lock);
    return n;
}

int echo_server_open_clients(struct echo_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = 0;
    for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
        n += s->clients[i].fd >= 0;
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t echo_server_received(struct echo_server *s, void *out, size_t cap)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->log_len < cap ? s->log_len : cap;
    memcpy(out, s->log, n);
    pthread_mutex_unlock(&s->lock);
    return n;
}

size_t echo_server_received_total(struct echo_server *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->received;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* The index-th open client slot (in slot order, which is accept order while nothing closed). */
static struct echo_client *nth_client(struct echo_server *s, int index)
{
    for (int i = 0; i < ECHO_SERVER_MAX_CLIENTS; i++) {
        if (s->clients[i].fd >= 0 && index-- == 0) {
            return &s->clients[i];
        }
    }
    return NULL;
}

int echo_server_send(struct echo_server *s, int index, const void *data, size_t len)
{
    pthread_mutex_lock(&s->lock);
    struct echo_client *c = nth_client(s, index);
    if (c != NULL) {
        client_queue(c, data, len);
        client_flush(c);
    }
    pthread_mutex_unlock(&s->lock);
    wake_thread(s);
    return c != NULL ? 0 : -1;
}

int echo_server_close(struct echo_server *s, int index, bool reset)
{
    int closed = 0;
    pthread_mutex_lock(&s->lock);
    if (index >= 0) {
        struct echo_client *c = nth_client(s, index);
        if (c != NULL) {
            client_close(c, reset);
            closed = 1;
        }
    }
    for (int i = 0; index < 0 && i < ECHO_SERVER_MAX_CLIENTS; i++) {
        if (s->clients[i].fd >= 0) {
            client_close(&s->clients[i], reset);
            closed++;
        }
    }
    pthread_mutex_unlock(&s->lock);
    wake_thread(s);
    return closed;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int echo_server_wait_accepted(struct echo_server *s, int count, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 2) {
        if (echo_server_accepted(s) >= count) {
            return 0;
        }
        sleep_ms(2);
    }
    return -1;
}

int echo_server_wait_received(struct echo_server *s, size_t bytes, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 2) {
        if (echo_server_received_total(s) >= bytes) {
            return 0;
        }
        sleep_ms(2);
    }
    return -1;
}
