/*
 * A small HTTP/1.1 server for tests (plain or TLS with the certs/out files),
 * run in a thread on a free loopback port. One request per connection; the
 * connection closes after the response. Routes (n = byte count, bodies are a
 * repeating a-z pattern):
 *   /hello       200, Content-Length, "hello world"
 *   /big/n       200, Content-Length n
 *   /chunked/n   200, chunked transfer encoding (chunk extension, trailer)
 *   /eof/n       200, no length: the body ends when the server closes
 *   /stall       200, Content-Length 10 but only 3 bytes, then silence
 *   /garbage     a reply that is not HTTP
 *   anything else 404 with body "not found"
 */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include "tls_echo_server.h"

/** A running HTTP test server. */
struct simtest_http_server {
    struct simtest_listener base; /**< ctx NULL for plain HTTP */
    char last_request[2048];  /**< head of the last request received */
    atomic_int requests;      /**< requests received (counted before the answer) */
};

/** Start the server; options NULL (or without cert) for plain HTTP. Returns 0 or -1. */
int simtest_http_start(struct simtest_http_server *srv, const struct simtest_tls_options *options);

/** Stop the server thread and free everything. */
void simtest_http_stop(struct simtest_http_server *srv);

/** Copy the head of the last request into out (thread-safe). */
void simtest_http_last_request(struct simtest_http_server *srv, char *out, size_t cap);

#endif /* HTTP_SERVER_H */
