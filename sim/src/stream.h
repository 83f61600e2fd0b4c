/*
 * A non-blocking TCP connection, optionally wrapped in TLS (OpenSSL, with an
 * SSL_CTX from ssl_store.h), driven by the modem's poll loop. Shared by the
 * CCH sessions and the HTTP client.
 *
 * Life cycle: sim_stream_open() starts the connect; the owner adds
 * sim_stream_events() to its pollset each round and calls sim_stream_step()
 * afterwards, which advances connect and handshake and flushes queued
 * writes. sim_stream_read() takes received bytes. Failures are reported as
 * a sim_stream_error the owner maps to its own codes.
 */
#ifndef SIM_STREAM_H
#define SIM_STREAM_H

#include "sim_internal.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Where a stream is in its life. */
enum sim_stream_state {
    SIM_STREAM_IDLE,        /**< never opened, or closed by the owner */
    SIM_STREAM_RESOLVING,   /**< host name lookup running in a helper thread */
    SIM_STREAM_CONNECTING,  /**< TCP connect in progress */
    SIM_STREAM_HANDSHAKING, /**< TLS handshake in progress */
    SIM_STREAM_OPEN,        /**< data may flow */
    SIM_STREAM_CLOSED,      /**< the peer closed, or an error ended it (see error) */
};

/** Why a stream failed or ended. */
enum sim_stream_error {
    SIM_STREAM_OK,
    SIM_STREAM_DNS,         /**< the host name did not resolve */
    SIM_STREAM_SOCKET,      /**< socket() failed */
    SIM_STREAM_CONNECT,     /**< TCP connect refused or failed */
    SIM_STREAM_TIMEOUT,     /**< connect or handshake took longer than allowed */
    SIM_STREAM_NO_CERT,     /**< the SSL context lacks a file its authmode needs */
    SIM_STREAM_TLS_SETUP,   /**< the SSL context could not be built otherwise */
    SIM_STREAM_HANDSHAKE,   /**< the TLS handshake failed (bad certificate, version, ...) */
    SIM_STREAM_PEER_CLOSED, /**< the peer closed the connection */
    SIM_STREAM_IO,          /**< send or receive failed */
};

struct sim_stream_lookup;

/** One connection. Zero-initialise, or call sim_stream_init(). */
struct sim_stream {
    enum sim_stream_state state;
    enum sim_stream_error error;
    int fd;                   /**< the socket; while RESOLVING the lookup's wake-up descriptor */
    int port;
    struct sim_stream_lookup *lookup; /**< the name lookup in progress */
    SSL_CTX *ctx;
    SSL *ssl;
    int64_t deadline_ms;      /**< virtual time by which connect + handshake must finish */
    int64_t handshake_ms;     /**< handshake time limit once TCP is up (ms) */
    struct sim_buf out;       /**< bytes queued for sending */
    bool peer_eof;            /**< the peer sent EOF / close_notify */
    char why[160];            /**< human-readable reason of the last failure */
};

/** Put s in the IDLE state with no descriptor. */
void sim_stream_init(struct sim_stream *s);

/**
 * Start connecting to host:port (host may be an alias from the control
 * socket). Names are looked up in a helper thread so the loop never waits
 * for a resolver; connect_ms bounds lookup and connect together. ssl_ctx is the SSL context 0-9 for TLS, or -1 for plain TCP.
 * connect_ms bounds the TCP connect, the TLS handshake is bounded by the
 * context's negotiatetime. Returns SIM_STREAM_OK when the connect is under
 * way (the state is then CONNECTING, or CLOSED with an error later), or the
 * error that stopped it at once (state CLOSED).
 */
enum sim_stream_error sim_stream_open(struct sim_stream *s, struct sim_modem *m, const char *host, int port,
                                      int ssl_ctx, int64_t connect_ms);

/** Poll events the stream needs now (0 when it has no descriptor). want_read: the owner has room for data. */
short sim_stream_events(const struct sim_stream *s, bool want_read);

/**
 * The stream's next virtual deadline in ms (connect or handshake limit), a
 * time in the past when decrypted bytes wait inside OpenSSL and want_read is
 * set (the owner should read at once), or 0 when it has none.
 */
int64_t sim_stream_deadline(const struct sim_stream *s, bool want_read);

/** Advance connect, handshake and queued writes; call every dispatch round. */
void sim_stream_step(struct sim_stream *s, struct sim_modem *m);

/**
 * Read up to cap received bytes. Returns the count, 0 when nothing is there
 * now, or -1 when the stream has ended (state CLOSED, error says why).
 */
ssize_t sim_stream_read(struct sim_stream *s, void *buf, size_t cap);

/** Queue len bytes for sending (flushed by sim_stream_step). Returns false when not open. */
bool sim_stream_write(struct sim_stream *s, const void *data, size_t len);

/** Bytes queued and not yet handed to the kernel. */
size_t sim_stream_unsent(const struct sim_stream *s);

/** Close the connection (TLS close_notify when possible) and free everything; state becomes IDLE. */
void sim_stream_close(struct sim_stream *s);

/** Short text for an error (logs, control replies). */
const char *sim_stream_error_str(enum sim_stream_error error);

#endif /* SIM_STREAM_H */
