/* A threaded TLS/TCP echo server for tests (see tls_echo_server.h). */
#include "tls_echo_server.h"

#include "simtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Hang guard for one blocking handshake or write (real time; never a timing assertion). */
#define SERVER_IO_GUARD_S 5

SSL_CTX *simtest_tls_server_ctx(const struct simtest_tls_options *options, bool *ok)
{
    *ok = true;
    if (options == NULL || options->cert == NULL) {
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, simtest_cert(options->cert)) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, simtest_cert(options->key), SSL_FILETYPE_PEM) != 1) {
        fprintf(stderr, "test server: cannot load %s / %s\n", options->cert, options->key);
        SSL_CTX_free(ctx);
        *ok = false;
        return NULL;
    }
    if (options->require_client_cert) {
        SSL_CTX_load_verify_locations(ctx, simtest_cert("ca.pem"), NULL);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return ctx;
}

int simtest_tls_listen(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    int one = 1;
    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

bool simtest_tls_wait_readable(int fd, const atomic_bool *stop, int timeout_ms)
{
    for (int waited = 0; !atomic_load(stop) && waited < timeout_ms; waited += 20) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 20) > 0) {
            return true;
        }
    }
    return false;
}

int simtest_conn_accept(int listen_fd, SSL_CTX *ctx, const atomic_bool *stop, int timeout_ms, struct simtest_conn *conn)
{
    conn->fd = -1;
    conn->ssl = NULL;
    if (!simtest_tls_wait_readable(listen_fd, stop, timeout_ms)) {
        return -1;
    }
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0) {
        return -1;
    }
    struct timeval guard = { SERVER_IO_GUARD_S, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof(guard));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &guard, sizeof(guard));
    conn->fd = fd;
    if (ctx == NULL) {
        return 0;
    }
    conn->ssl = SSL_new(ctx);
    SSL_set_fd(conn->ssl, fd);
    if (SSL_accept(conn->ssl) != 1) {
        ERR_clear_error();
        SSL_free(conn->ssl);
        close(fd);
        conn->ssl = NULL;
        conn->fd = -1;
        return -2;
    }
    return 0;
}

long simtest_conn_read(struct simtest_conn *conn, void *buf, size_t cap, const atomic_bool *stop)
{
    while (conn->ssl == NULL || SSL_pending(conn->ssl) == 0) {
        if (atomic_load(stop)) {
            return -1;
        }
        if (simtest_tls_wait_readable(conn->fd, stop, 100)) {
            break;
        }
    }
    if (conn->ssl == NULL) {
        ssize_t n = recv(conn->fd, buf, cap, 0);
        return n < 0 ? -1 : (long)n;
    }
    int n = SSL_read(conn->ssl, buf, (int)cap);
    if (n > 0) {
        return n;
    }
    int err = SSL_get_error(conn->ssl, n);
    ERR_clear_error();
    return err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL ? 0 : -1;
}

bool simtest_conn_write(struct simtest_conn *conn, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        long n = conn->ssl != NULL ? SSL_write(conn->ssl, p, (int)len) : send(conn->fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) {
            ERR_clear_error();
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void simtest_conn_close(struct simtest_conn *conn)
{
    if (conn->ssl != NULL) {
        SSL_shutdown(conn->ssl);
        SSL_free(conn->ssl);
        ERR_clear_error();
    }
    if (conn->fd >= 0) {
        close(conn->fd);
    }
    conn->fd = -1;
    conn->ssl = NULL;
}

/* ------------------------------------------------------------- echo */

static void record_peer(struct simtest_tls_server *srv, SSL *ssl)
{
    pthread_mutex_lock(&srv->base.lock);
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    snprintf(srv->sni, sizeof(srv->sni), "%s", name != NULL ? name : "");
    snprintf(srv->version, sizeof(srv->version), "%s", SSL_get_version(ssl));
    srv->client_subject[0] = '\0';
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (peer != NULL) {
        X509_NAME_oneline(X509_get_subject_name(peer), srv->client_subject, sizeof(srv->client_subject));
        X509_free(peer);
    }
    pthread_mutex_unlock(&srv->base.lock);
}

static void send_pattern(struct simtest_conn *conn, long count)
{
    char piece[1024];
    for (long sent = 0; sent < count;) {
        size_t n = (size_t)(count - sent) < sizeof(piece) ? (size_t)(count - sent) : sizeof(piece);
        for (size_t i = 0; i < n; i++) {
            piece[i] = (char)('a' + (size_t)(sent + (long)i) % 26); /* one a-z cycle across pieces */
        }
        if (!simtest_conn_write(conn, piece, n)) {
            return;
        }
        sent += (long)n;
    }
}

/* Serve one connection until EOF, QUIT or stop. */
static void echo_session(struct simtest_tls_server *srv, struct simtest_conn *conn)
{
    char buf[4096];
    long n;
    while ((n = simtest_conn_read(conn, buf, sizeof(buf) - 1, &srv->base.stop)) > 0) {
        buf[n] = '\0';
        if (strncmp(buf, "QUIT", 4) == 0) {
            return;
        }
        if (strncmp(buf, "BIG ", 4) == 0) {
            send_pattern(conn, strtol(buf + 4, NULL, 10));
        } else if (!simtest_conn_write(conn, buf, (size_t)n)) {
            return;
        }
    }
}

static void *echo_main(void *arg)
{
    struct simtest_tls_server *srv = arg;
    while (!atomic_load(&srv->base.stop)) {
        struct simtest_conn conn;
        int rc = simtest_conn_accept(srv->base.listen_fd, srv->base.ctx, &srv->base.stop, 100, &conn);
        if (rc == -2) {
            atomic_fetch_add(&srv->connections, 1);
            atomic_fetch_add(&srv->handshakes_failed, 1);
            continue;
        }
        if (rc != 0) {
            continue;
        }
        atomic_fetch_add(&srv->connections, 1);
        if (conn.ssl != NULL) {
            record_peer(srv, conn.ssl);
            atomic_fetch_add(&srv->handshakes_ok, 1);
        }
        echo_session(srv, &conn);
        simtest_conn_close(&conn);
    }
    return NULL;
}

int simtest_listener_start(struct simtest_listener *base, const struct simtest_tls_options *options,
                         void *(*serve)(void *), void *arg)
{
    bool ok = true;
    base->ctx = simtest_tls_server_ctx(options, &ok);
    if (!ok) {
        return -1;
    }
    base->listen_fd = simtest_tls_listen(&base->port);
    if (base->listen_fd < 0) {
        SSL_CTX_free(base->ctx);
        return -1;
    }
    atomic_init(&base->stop, false);
    pthread_mutex_init(&base->lock, NULL);
    if (pthread_create(&base->thread, NULL, serve, arg) != 0) {
        close(base->listen_fd);
        SSL_CTX_free(base->ctx);
        pthread_mutex_destroy(&base->lock);
        return -1;
    }
    return 0;
}

void simtest_listener_stop(struct simtest_listener *base)
{
    atomic_store(&base->stop, true);
    pthread_join(base->thread, NULL);
    close(base->listen_fd);
    SSL_CTX_free(base->ctx);
    pthread_mutex_destroy(&base->lock);
}

int simtest_tls_echo_start(struct simtest_tls_server *srv, const struct simtest_tls_options *options)
{
    memset(srv, 0, sizeof(*srv));
    return simtest_listener_start(&srv->base, options, echo_main, srv);
}

void simtest_tls_echo_stop(struct simtest_tls_server *srv)
{
    simtest_listener_stop(&srv->base);
}

bool simtest_tls_echo_wait_handshakes(struct simtest_tls_server *srv, int count, int guard_ms)
{
    for (int waited = 0; waited < guard_ms; waited += 5) {
        if (atomic_load(&srv->handshakes_ok) >= count) {
            return true;
        }
        struct timespec ts = { 0, 5 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return false;
}

void simtest_tls_echo_sni(struct simtest_tls_server *srv, char *out, size_t cap)
{
    pthread_mutex_lock(&srv->base.lock);
    snprintf(out, cap, "%s", srv->sni);
    pthread_mutex_unlock(&srv->base.lock);
}

void simtest_tls_echo_version(struct simtest_tls_server *srv, char *out, size_t cap)
{
    pthread_mutex_lock(&srv->base.lock);
    snprintf(out, cap, "%s", srv->version);
    pthread_mutex_unlock(&srv->base.lock);
}

void simtest_tls_echo_client_subject(struct simtest_tls_server *srv, char *out, size_t cap)
{
    pthread_mutex_lock(&srv->base.lock);
    snprintf(out, cap, "%s", srv->client_subject);
    pthread_mutex_unlock(&srv->base.lock);
}
