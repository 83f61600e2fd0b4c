/*
 * A TLS (or plain TCP) echo server for tests, run in a thread on a free
 * loopback port with real OpenSSL and the certs/out files. It records what
 * the tests check on the server side: SNI, client certificate subject,
 * handshakes that passed and failed.
 *
 * Echo rules per received chunk: "QUIT" closes the connection from the
 * server side; "BIG <n>" answers n bytes of a repeating a-z pattern;
 * anything else is sent back unchanged.
 */
#ifndef TLS_ECHO_SERVER_H
#define TLS_ECHO_SERVER_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/** How a test server listens. */
struct simtest_tls_options {
    const char *cert;          /**< certificate chain under the certs dir; NULL: plain TCP */
    const char *key;           /**< its key under the certs dir */
    bool require_client_cert;  /**< demand a client certificate signed by ca.pem */
};

/** A running echo server (fields after port are for the server thread). */
/** What every threaded test server has: a loopback listener (TLS or
 *  plain), its thread and a lock for what the thread records. */
struct simtest_listener {
    int port;                  /**< loopback port it listens on */
    int listen_fd;
    SSL_CTX *ctx;              /**< NULL for plain TCP */
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
};

/** Build the context from options (NULL or without cert: plain), listen on
 *  a free loopback port and run serve(arg) on a thread; serve loops until
 *  base->stop is set. Returns 0 or -1 (nothing left running). */
int simtest_listener_start(struct simtest_listener *base, const struct simtest_tls_options *options,
                         void *(*serve)(void *), void *arg);

/** Stop the thread, close the listener and free the context. */
void simtest_listener_stop(struct simtest_listener *base);

struct simtest_tls_server {
    struct simtest_listener base;
    char sni[256];             /**< server name of the last handshake ("" when none) */
    char client_subject[256];  /**< subject of the last client certificate ("" when none) */
    char version[16];          /**< protocol of the last handshake, e.g. "TLSv1.2" */
    atomic_int connections;    /**< accepted connections */
    atomic_int handshakes_ok;
    atomic_int handshakes_failed;
};

/**
 * Build a server SSL_CTX from options (certificate paths relative to the
 * certs directory). Returns NULL for plain TCP or on error (*ok false).
 */
SSL_CTX *simtest_tls_server_ctx(const struct simtest_tls_options *options, bool *ok);

/** Bind a listening socket to a free 127.0.0.1 port; returns the fd and sets *port, or -1. */
int simtest_tls_listen(int *port);

/** Wait (bounded by stop) until fd is readable or timeout_ms passes; true when readable. */
bool simtest_tls_wait_readable(int fd, const atomic_bool *stop, int timeout_ms);

/** One accepted connection of a test server. */
struct simtest_conn {
    int fd;
    SSL *ssl; /**< NULL for plain TCP */
};

/**
 * Accept one connection on listen_fd and run the TLS handshake when ctx is
 * set. Returns 0 with *conn filled, -1 when nothing arrived (timeout or
 * stop), -2 when the handshake failed (the connection is already closed).
 */
int simtest_conn_accept(int listen_fd, SSL_CTX *ctx, const atomic_bool *stop, int timeout_ms, struct simtest_conn *conn);

/** Read what is there (waiting while stop is false): bytes, 0 at EOF, -1 on error or stop. */
long simtest_conn_read(struct simtest_conn *conn, void *buf, size_t cap, const atomic_bool *stop);

/** Write all of data; false on error. */
bool simtest_conn_write(struct simtest_conn *conn, const void *data, size_t len);

/** Close (with close_notify for TLS) and free the connection. */
void simtest_conn_close(struct simtest_conn *conn);

/** Start the echo server; returns 0 or -1. */
int simtest_tls_echo_start(struct simtest_tls_server *srv, const struct simtest_tls_options *options);

/** Stop the server thread and free everything. */
void simtest_tls_echo_stop(struct simtest_tls_server *srv);

/**
 * Wait until the server has completed count handshakes (the client may see
 * its handshake done before the server thread has recorded it). guard_ms is
 * a hang guard. Returns false when the count was not reached.
 */
bool simtest_tls_echo_wait_handshakes(struct simtest_tls_server *srv, int count, int guard_ms);

/** Copy the SNI of the last handshake into out (thread-safe). */
void simtest_tls_echo_sni(struct simtest_tls_server *srv, char *out, size_t cap);

/** Copy the protocol version of the last handshake into out (thread-safe). */
void simtest_tls_echo_version(struct simtest_tls_server *srv, char *out, size_t cap);

/** Copy the client certificate subject of the last handshake into out (thread-safe). */
void simtest_tls_echo_client_subject(struct simtest_tls_server *srv, char *out, size_t cap);

#endif /* TLS_ECHO_SERVER_H */
