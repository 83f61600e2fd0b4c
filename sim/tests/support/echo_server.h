/*
 * A small TCP echo server for tests: it listens on a free 127.0.0.1 port and
 * runs in its own thread, so a test can keep driving the modem's poll loop
 * while the server echoes, records what it received, pushes data of its own,
 * or closes connections on demand (the "peer closes" cases).
 */
#ifndef ECHO_SERVER_H
#define ECHO_SERVER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Most client connections the server keeps at once. */
#define ECHO_SERVER_MAX_CLIENTS 16

/** Bytes of received data the server remembers (per server, all clients). */
#define ECHO_SERVER_LOG_MAX 65536

/** One accepted connection. */
struct echo_client {
    int fd;            /**< -1 when the slot is free */
    uint8_t *out;      /**< bytes waiting to be written back */
    size_t out_len;
    size_t out_cap;
};

/** A running echo server; treat the fields as private and use the functions. */
struct echo_server {
    int port;                     /**< the listening port */
    int listen_fd;
    int wake[2];                  /**< pipe that makes the thread rebuild its poll set */
    pthread_t thread;
    pthread_mutex_t lock;
    bool running;
    bool echo;                    /**< echo received bytes back (default true) */
    int accepted;                 /**< connections accepted so far */
    struct echo_client clients[ECHO_SERVER_MAX_CLIENTS];
    uint8_t log[ECHO_SERVER_LOG_MAX];
    size_t log_len;               /**< bytes in log (stops growing when full) */
    size_t received;              /**< bytes received in total */
};

/** Start a server on a free loopback port. Returns 0, or -1 on failure. */
int echo_server_start(struct echo_server *s);

/** Stop the thread, close every socket. */
void echo_server_stop(struct echo_server *s);

/** Echo received data back (true, the default) or only record it (false). */
void echo_server_set_echo(struct echo_server *s, bool echo);

/** Connections accepted so far. */
int echo_server_accepted(struct echo_server *s);

/** Connections open now. */
int echo_server_open_clients(struct echo_server *s);

/** Copy up to cap bytes of everything received (all clients) into out; returns the count. */
size_t echo_server_received(struct echo_server *s, void *out, size_t cap);

/** Bytes received in total. */
size_t echo_server_received_total(struct echo_server *s);

/**
 * Send len bytes to the index-th open connection (in accept order, 0 first).
 * Returns 0, or -1 when there is no such connection.
 */
int echo_server_send(struct echo_server *s, int index, const void *data, size_t len);

/**
 * Close the index-th open connection (-1: all). With reset, the close sends
 * an RST (SO_LINGER 0) instead of a FIN. Returns the number closed.
 */
int echo_server_close(struct echo_server *s, int index, bool reset);

/** Wait (real time, a hang guard) until at least count connections were accepted. Returns 0 or -1. */
int echo_server_wait_accepted(struct echo_server *s, int count, int timeout_ms);

/** Wait (real time, a hang guard) until at least bytes were received. Returns 0 or -1. */
int echo_server_wait_received(struct echo_server *s, size_t bytes, int timeout_ms);

#endif /* ECHO_SERVER_H */
