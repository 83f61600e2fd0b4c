/*
 * Non-blocking TCP and TLS connections for the CCH sessions and the HTTP
 * client (stream.h). TLS runs over memory BIOs: this file moves the bytes
 * between them and the socket itself, with MSG_NOSIGNAL, so a peer that
 * vanishes never raises SIGPIPE in the process that hosts the modem.
 */
#include "stream.h"

#include "ssl_store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Bytes moved from the socket into the TLS engine per recv(). */
#define STREAM_RECV_CHUNK 16384

void sim_stream_init(struct sim_stream *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

const char *sim_stream_error_str(enum sim_stream_error error)
{
    switch (error) {
    case SIM_STREAM_OK: return "ok";
    case SIM_STREAM_DNS: return "DNS lookup failed";
    case SIM_STREAM_SOCKET: return "socket creation failed";
    case SIM_STREAM_CONNECT: return "connect failed";
    case SIM_STREAM_TIMEOUT: return "timeout";
    case SIM_STREAM_NO_CERT: return "certificate not set";
    case SIM_STREAM_TLS_SETUP: return "TLS setup failed";
    case SIM_STREAM_HANDSHAKE: return "TLS handshake failed";
    case SIM_STREAM_PEER_CLOSED: return "closed by peer";
    case SIM_STREAM_IO: return "send/receive failed";
    }
    return "unknown";
}

static void fail(struct sim_stream *s, enum sim_stream_error error, const char *why)
{
    s->state = SIM_STREAM_CLOSED;
    s->error = error;
    snprintf(s->why, sizeof(s->why), "%s", why != NULL ? why : sim_stream_error_str(error));
}

static void drop_front(struct sim_buf *b, size_t n)
{
    b->head += n;
    if (b->head >= b->len) {
        sim_buf_clear(b);
    }
}

/* Resolve host (after the alias table) to an IPv4 address. */
static bool resolve(struct sim_modem *m, const char *host, int port, struct sockaddr_in *addr)
{
    const char *target = sim_resolve_alias(m, host);
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, target, &addr->sin_addr) == 1) {
        return true;
    }
    /* Name lookups go through the host's resolver (usually /etc/hosts for test names). */
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    if (getaddrinfo(target, NULL, &hints, &res) != 0 || res == NULL) {
        return false;
    }
    addr->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return true;
}

/* Build the TLS engine over memory BIOs for SSL context ctx_index. */
static enum sim_stream_error setup_tls(struct sim_stream *s, struct sim_modem *m, int ctx_index, const char *host)
{
    enum sim_ssl_error err = SIM_SSL_OK;
    s->ctx = sim_ssl_new_ctx(m, ctx_index, &err, s->why, sizeof(s->why));
    if (s->ctx == NULL) {
        return err == SIM_SSL_NO_CERT ? SIM_STREAM_NO_CERT : SIM_STREAM_TLS_SETUP;
    }
    s->ssl = SSL_new(s->ctx);
    BIO *rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(BIO_s_mem());
    if (s->ssl == NULL || rbio == NULL || wbio == NULL) {
        BIO_free(rbio);
        BIO_free(wbio);
        return SIM_STREAM_TLS_SETUP;
    }
    SSL_set_bio(s->ssl, rbio, wbio);
    SSL_set_connect_state(s->ssl);
    sim_ssl_prepare(m, ctx_index, s->ssl, host);
    const struct sim_ssl_settings *settings = sim_ssl_settings(m, ctx_index);
    s->handshake_ms = (int64_t)settings->negotiatetime * 1000;
    return SIM_STREAM_OK;
}

enum sim_stream_error sim_stream_open(struct sim_stream *s, struct sim_modem *m, const char *host, int port,
                                      int ssl_ctx, int64_t connect_ms)
{
    sim_stream_close(s);
    s->error = SIM_STREAM_OK;
    s->why[0] = '\0';
    s->deadline_ms = sim_now_ms(m) + connect_ms;
    struct sockaddr_in addr;
    if (!resolve(m, host, port, &addr)) {
        fail(s, SIM_STREAM_DNS, NULL);
        return s->error;
    }
    if (ssl_ctx >= 0) {
        enum sim_stream_error err = setup_tls(s, m, ssl_ctx, host);
        if (err != SIM_STREAM_OK) {
            char why[sizeof(s->why)];
            snprintf(why, sizeof(why), "%s", s->why[0] ? s->why : sim_stream_error_str(err));
            sim_stream_close(s);
            fail(s, err, why);
            return err;
        }
    }
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fail(s, SIM_STREAM_SOCKET, NULL);
        return s->error;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 && errno != EINPROGRESS) {
        fail(s, SIM_STREAM_CONNECT, strerror(errno));
        return s->error;
    }
    s->state = SIM_STREAM_CONNECTING;
    return SIM_STREAM_OK;
}

short sim_stream_events(const struct sim_stream *s, bool want_read)
{
    if (s->fd < 0) {
        return 0;
    }
    switch (s->state) {
    case SIM_STREAM_CONNECTING:
        return POLLOUT;
    case SIM_STREAM_HANDSHAKING:
        return (short)(POLLIN | (sim_buf_used(&s->out) ? POLLOUT : 0));
    case SIM_STREAM_OPEN:
        return (short)((want_read && !s->peer_eof ? POLLIN : 0) | (sim_buf_used(&s->out) ? POLLOUT : 0));
    default:
        return 0;
    }
}

int64_t sim_stream_deadline(const struct sim_stream *s, bool want_read)
{
    if (s->state == SIM_STREAM_CONNECTING || s->state == SIM_STREAM_HANDSHAKING) {
        return s->deadline_ms;
    }
    if (want_read && s->state == SIM_STREAM_OPEN && s->ssl != NULL && SSL_pending(s->ssl) > 0) {
        return 1; /* decrypted bytes wait inside OpenSSL: look again at once */
    }
    return 0;
}

/* Send queued socket bytes; false on a socket error. */
static bool net_flush(struct sim_stream *s)
{
    while (sim_buf_used(&s->out) > 0) {
        ssize_t n = send(s->fd, s->out.data + s->out.head, sim_buf_used(&s->out), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            drop_front(&s->out, (size_t)n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return true;
        } else {
            return false;
        }
    }
    return true;
}

/* Move what the TLS engine wants to send into the socket queue. */
static void tls_collect(struct sim_stream *s)
{
    BIO *wbio = SSL_get_wbio(s->ssl);
    char buf[4096];
    int n;
    while ((n = BIO_read(wbio, buf, sizeof(buf))) > 0) {
        sim_buf_put(&s->out, buf, (size_t)n);
    }
}

/* Feed socket bytes to the TLS engine: 1 got some, 0 nothing now, -1 EOF, -2 error. */
static int tls_fill(struct sim_stream *s)
{
    char buf[STREAM_RECV_CHUNK];
    ssize_t n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) {
        BIO_write(SSL_get_rbio(s->ssl), buf, (int)n);
        return 1;
    }
    if (n == 0) {
        s->peer_eof = true;
        BIO_set_mem_eof_return(SSL_get_rbio(s->ssl), 0);
        return -1;
    }
    return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -2;
}

static void finish_connect(struct sim_stream *s)
{
    struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };
    if (poll(&pfd, 1, 0) <= 0) {
        return;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
        fail(s, SIM_STREAM_CONNECT, strerror(err));
        return;
    }
    if (s->ssl == NULL) {
        s->state = SIM_STREAM_OPEN;
        return;
    }
    s->state = SIM_STREAM_HANDSHAKING; /* sim_stream_step() sets the handshake deadline */
}

static void handshake_failed(struct sim_stream *s)
{
    char why[sizeof(s->why)];
    long verify = SSL_get_verify_result(s->ssl);
    unsigned long e = ERR_peek_last_error();
    if (verify != X509_V_OK) {
        snprintf(why, sizeof(why), "certificate verify failed: %s", X509_verify_cert_error_string(verify));
    } else if (e != 0) {
        ERR_error_string_n(e, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "%s", s->peer_eof ? "peer closed during handshake" : "handshake failed");
    }
    ERR_clear_error();
    fail(s, SIM_STREAM_HANDSHAKE, why);
}

static void continue_handshake(struct sim_stream *s)
{
    for (;;) {
        int fill = tls_fill(s);
        if (fill == -2) {
            fail(s, SIM_STREAM_IO, strerror(errno));
            return;
        }
        int rc = SSL_do_handshake(s->ssl);
        tls_collect(s);
        if (rc == 1) {
            s->state = SIM_STREAM_OPEN;
            return;
        }
        if (SSL_get_error(s->ssl, rc) != SSL_ERROR_WANT_READ) {
            handshake_failed(s);
            return;
        }
        if (fill != 1) {
            return; /* wait for more bytes (an EOF ends it above on the next round) */
        }
    }
}

void sim_stream_step(struct sim_stream *s, struct sim_modem *m)
{
    int64_t now = sim_now_ms(m);
    if (s->state == SIM_STREAM_CONNECTING) {
        finish_connect(s);
        if (s->state == SIM_STREAM_HANDSHAKING) {
            s->deadline_ms = now + s->handshake_ms;
        }
    }
    if (s->state == SIM_STREAM_HANDSHAKING) {
        continue_handshake(s);
    }
    if ((s->state == SIM_STREAM_HANDSHAKING || s->state == SIM_STREAM_OPEN) && !net_flush(s)) {
        fail(s, s->state == SIM_STREAM_OPEN ? SIM_STREAM_IO : SIM_STREAM_HANDSHAKE, strerror(errno));
    }
    if ((s->state == SIM_STREAM_CONNECTING || s->state == SIM_STREAM_HANDSHAKING) && now >= s->deadline_ms) {
        fail(s, SIM_STREAM_TIMEOUT, s->state == SIM_STREAM_CONNECTING ? "connect timeout" : "handshake timeout");
    }
}

static ssize_t read_plain(struct sim_stream *s, void *buf, size_t cap)
{
    ssize_t n = recv(s->fd, buf, cap, MSG_DONTWAIT);
    if (n > 0) {
        return n;
    }
    if (n == 0) {
        s->peer_eof = true;
        fail(s, SIM_STREAM_PEER_CLOSED, NULL);
        return -1;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return 0;
    }
    fail(s, SIM_STREAM_IO, strerror(errno));
    return -1;
}

static ssize_t read_tls(struct sim_stream *s, void *buf, size_t cap)
{
    for (;;) {
        int n = SSL_read(s->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);
        tls_collect(s);
        if (n > 0) {
            return n;
        }
        int err = SSL_get_error(s->ssl, n);
        if (err == SSL_ERROR_WANT_READ && !s->peer_eof) {
            int fill = tls_fill(s);
            if (fill == 0) {
                return 0;
            }
            if (fill == -2) {
                fail(s, SIM_STREAM_IO, strerror(errno));
                return -1;
            }
            continue;
        }
        ERR_clear_error();
        /* close_notify, or a bare EOF (many servers skip close_notify) */
        fail(s, err == SSL_ERROR_ZERO_RETURN || s->peer_eof ? SIM_STREAM_PEER_CLOSED : SIM_STREAM_IO, NULL);
        return -1;
    }
}

ssize_t sim_stream_read(struct sim_stream *s, void *buf, size_t cap)
{
    if (s->state != SIM_STREAM_OPEN) {
        return s->state == SIM_STREAM_CLOSED ? -1 : 0;
    }
    if (cap == 0) {
        return 0;
    }
    return s->ssl != NULL ? read_tls(s, buf, cap) : read_plain(s, buf, cap);
}

bool sim_stream_write(struct sim_stream *s, const void *data, size_t len)
{
    if (s->state != SIM_STREAM_OPEN) {
        return false;
    }
    if (s->ssl == NULL) {
        sim_buf_put(&s->out, data, len);
    } else {
        /* a memory BIO takes everything at once */
        if (len > 0 && SSL_write(s->ssl, data, (int)len) <= 0) {
            ERR_clear_error();
            fail(s, SIM_STREAM_IO, "SSL_write failed");
            return false;
        }
        tls_collect(s);
    }
    if (!net_flush(s)) {
        fail(s, SIM_STREAM_IO, strerror(errno));
        return false;
    }
    return true;
}

size_t sim_stream_unsent(const struct sim_stream *s)
{
    return sim_buf_used(&s->out);
}

void sim_stream_close(struct sim_stream *s)
{
    if (s->ssl != NULL) {
        if (s->state == SIM_STREAM_OPEN && s->fd >= 0) {
            SSL_shutdown(s->ssl);
            tls_collect(s);
            net_flush(s);
        }
        SSL_free(s->ssl);
        ERR_clear_error();
    }
    SSL_CTX_free(s->ctx);
    if (s->fd >= 0) {
        close(s->fd);
    }
    sim_buf_free(&s->out);
    sim_stream_init(s);
}
