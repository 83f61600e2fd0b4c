/*
 * Non-blocking TCP and TLS connections for the CCH sessions and the HTTP
 * client (stream.h). TLS runs over memory BIOs: this file moves the bytes
 * between them and the socket itself, with MSG_NOSIGNAL, so a peer that
 * vanishes never raises SIGPIPE in the process that hosts the modem. Host
 * names are looked up in a short-lived helper thread.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A host name lookup shared by the stream and its helper thread. */
struct sim_stream_lookup {
    pthread_mutex_t lock;
    bool done;           /* the thread has stored its result */
    bool abandoned;      /* the stream went away first: the thread frees this */
    bool found;
    struct in_addr addr;
    int wake_fd;         /* the thread's end of the socket pair that wakes poll() */
    char host[];
};

static void lookup_free(struct sim_stream_lookup *job)
{
    pthread_mutex_destroy(&job->lock);
    free(job);
}

static bool lookup_name(const char *host, struct in_addr *addr)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        return false;
    }
    *addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return true;
}

static void *lookup_main(void *arg)
{
    struct sim_stream_lookup *job = arg;
    struct in_addr addr = { 0 };
    bool found = lookup_name(job->host, &addr);
    pthread_mutex_lock(&job->lock);
    job->found = found;
    job->addr = addr;
    job->done = true;
    bool abandoned = job->abandoned;
    int wake = job->wake_fd;
    pthread_mutex_unlock(&job->lock);
    /* from here on the stream may free job: only local copies are used */
    send(wake, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(wake);
    if (abandoned) {
        lookup_free(job);
    }
    return NULL;
}

/* Forget the lookup: free it when finished, else leave it to its thread. */
static void lookup_release(struct sim_stream *s)
{
    struct sim_stream_lookup *job = s->lookup;
    if (job == NULL) {
        return;
    }
    pthread_mutex_lock(&job->lock);
    bool done = job->done;
    job->abandoned = !done;
    pthread_mutex_unlock(&job->lock);
    if (done) {
        lookup_free(job);
    }
    s->lookup = NULL;
}

/* Start a lookup of host in a detached thread; false when no thread could be made. */
static bool lookup_start(struct sim_stream *s, const char *host)
{
    size_t len = strlen(host);
    struct sim_stream_lookup *job = calloc(1, sizeof(*job) + len + 1);
    int pair[2] = { -1, -1 };
    if (job == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
        free(job);
        return false;
    }
    memcpy(job->host, host, len + 1);
    pthread_mutex_init(&job->lock, NULL);
    job->wake_fd = pair[1];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, lookup_main, job);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        close(pair[0]);
        close(pair[1]);
        lookup_free(job);
        return false;
    }
    s->lookup = job;
    s->fd = pair[0];
    s->state = SIM_STREAM_RESOLVING;
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

/* Start the non-blocking TCP connect to addr. */
static enum sim_stream_error start_connect(struct sim_stream *s, struct in_addr addr)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port), .sin_addr = addr };
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        fail(s, SIM_STREAM_SOCKET, NULL);
        return s->error;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        fail(s, SIM_STREAM_CONNECT, strerror(errno));
        return s->error;
    }
    s->state = SIM_STREAM_CONNECTING;
    return SIM_STREAM_OK;
}

enum sim_stream_error sim_stream_open(struct sim_stream *s, struct sim_modem *m, const char *host, int port,
                                      int ssl_ctx, int64_t connect_ms)
{
    sim_stream_close(s);
    s->deadline_ms = sim_now_ms(m) + connect_ms;
    s->port = port;
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
    const char *target = sim_resolve_alias(m, host);
    struct in_addr addr;
    if (inet_pton(AF_INET, target, &addr) == 1) {
        return start_connect(s, addr);
    }
    if (lookup_start(s, target)) {
        return SIM_STREAM_OK;
    }
    if (!lookup_name(target, &addr)) { /* no thread to spare: look up in place */
        fail(s, SIM_STREAM_DNS, NULL);
        return s->error;
    }
    return start_connect(s, addr);
}

/* The lookup finished (or not yet): connect to what it found. */
static void finish_lookup(struct sim_stream *s)
{
    struct sim_stream_lookup *job = s->lookup;
    pthread_mutex_lock(&job->lock);
    bool done = job->done;
    bool found = job->found;
    struct in_addr addr = job->addr;
    pthread_mutex_unlock(&job->lock);
    if (!done) {
        return;
    }
    lookup_release(s);
    close(s->fd);
    s->fd = -1;
    if (!found) {
        fail(s, SIM_STREAM_DNS, NULL);
        return;
    }
    start_connect(s, addr);
}

short sim_stream_events(const struct sim_stream *s, bool want_read)
{
    if (s->fd < 0) {
        return 0;
    }
    switch (s->state) {
    case SIM_STREAM_RESOLVING:
        return POLLIN;
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
    if (s->state == SIM_STREAM_RESOLVING || s->state == SIM_STREAM_CONNECTING || s->state == SIM_STREAM_HANDSHAKING) {
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
    if (s->state == SIM_STREAM_RESOLVING) {
        finish_lookup(s);
    }
    if (s->state == SIM_STREAM_RESOLVING && now >= s->deadline_ms) {
        fail(s, SIM_STREAM_DNS, "name lookup timeout");
        return;
    }
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
    lookup_release(s);
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
