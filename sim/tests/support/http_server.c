/* A threaded HTTP/1.1 test server (see http_server.h). */
#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool send_text(struct simtest_conn *conn, const char *text)
{
    return simtest_conn_write(conn, text, strlen(text));
}

/* len bytes of the a-z pattern starting at offset. */
static bool send_pattern(struct simtest_conn *conn, size_t offset, size_t len)
{
    char piece[1024];
    while (len > 0) {
        size_t n = len < sizeof(piece) ? len : sizeof(piece);
        for (size_t i = 0; i < n; i++) {
            piece[i] = (char)('a' + (offset + i) % 26);
        }
        if (!simtest_conn_write(conn, piece, n)) {
            return false;
        }
        offset += n;
        len -= n;
    }
    return true;
}

static void send_chunked(struct simtest_conn *conn, size_t total)
{
    static const size_t sizes[] = { 1, 7, 100, 1000, 4096 };
    send_text(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t sent = 0;
    for (size_t i = 0; sent < total; i++) {
        size_t n = sizes[i % 5] < total - sent ? sizes[i % 5] : total - sent;
        char line[48];
        snprintf(line, sizeof(line), i == 0 ? "%zx;part=first\r\n" : "%zX\r\n", n);
        if (!send_text(conn, line) || !send_pattern(conn, sent, n) || !send_text(conn, "\r\n")) {
            return;
        }
        sent += n;
    }
    send_text(conn, "0\r\nX-Trailer: done\r\n\r\n");
}

static void respond(struct simtest_http_server *srv, struct simtest_conn *conn, const char *path)
{
    char head[256];
    size_t n = 0;
    if (strcmp(path, "/hello") == 0) {
        send_text(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world");
    } else if (sscanf(path, "/big/%zu", &n) == 1) {
        snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
        if (send_text(conn, head)) {
            send_pattern(conn, 0, n);
        }
    } else if (sscanf(path, "/chunked/%zu", &n) == 1) {
        send_chunked(conn, n);
    } else if (sscanf(path, "/eof/%zu", &n) == 1) {
        if (send_text(conn, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n")) {
            send_pattern(conn, 0, n);
        }
    } else if (strcmp(path, "/stall") == 0) {
        send_text(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
        char buf[64];
        while (simtest_conn_read(conn, buf, sizeof(buf), &srv->base.stop) > 0) {
        }
    } else if (strcmp(path, "/garbage") == 0) {
        send_text(conn, "SPDY/9 what\r\n\r\n");
    } else {
        send_text(conn, "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found");
    }
}

/* Read the request head; returns false when the client went away. */
static bool read_request(struct simtest_http_server *srv, struct simtest_conn *conn, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    while (strstr(buf, "\r\n\r\n") == NULL && used + 1 < cap) {
        long n = simtest_conn_read(conn, buf + used, cap - 1 - used, &srv->base.stop);
        if (n <= 0) {
            return false;
        }
        used += (size_t)n;
        buf[used] = '\0';
    }
    pthread_mutex_lock(&srv->base.lock);
    snprintf(srv->last_request, sizeof(srv->last_request), "%s", buf);
    pthread_mutex_unlock(&srv->base.lock);
    return true;
}

static void *http_main(void *arg)
{
    struct simtest_http_server *srv = arg;
    while (!atomic_load(&srv->base.stop)) {
        struct simtest_conn conn;
        if (simtest_conn_accept(srv->base.listen_fd, srv->base.ctx, &srv->base.stop, 100, &conn) != 0) {
            continue;
        }
        char request[2048];
        char path[512];
        if (read_request(srv, &conn, request, sizeof(request)) && sscanf(request, "%*s %511s", path) == 1) {
            atomic_fetch_add(&srv->requests, 1);
            respond(srv, &conn, path);
        }
        simtest_conn_close(&conn);
    }
    return NULL;
}

int simtest_http_start(struct simtest_http_server *srv, const struct simtest_tls_options *options)
{
    memset(srv, 0, sizeof(*srv));
    return simtest_listener_start(&srv->base, options, http_main, srv);
}

void simtest_http_stop(struct simtest_http_server *srv)
{
    simtest_listener_stop(&srv->base);
}

void simtest_http_last_request(struct simtest_http_server *srv, char *out, size_t cap)
{
    pthread_mutex_lock(&srv->base.lock);
    snprintf(out, cap, "%s", srv->last_request);
    pthread_mutex_unlock(&srv->base.lock);
}
