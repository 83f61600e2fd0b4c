/*
 * brokertest — support for the broker's integration tests: start and stop
 * the real `cellbench broker` on free ports, synchronous libmosquitto
 * clients with hang guards, JWTs made with libjwt, and paths into certs/out.
 * Real-time waits here are hang guards only; rule checks use the virtual clock.
 */
#ifndef CELLBENCH_BROKERTEST_H
#define CELLBENCH_BROKERTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** Hang guard for any single wait, real milliseconds. */
#define BT_GUARD_MS 5000

/** A running `cellbench broker`. */
struct bt_broker {
    pid_t pid;
    int port;
    int admin_port;
    char dir[256];
    bool own_dir;              /* dir made by bt_broker_start (or the caller with
                                * bt_temp_dir), removed by bt_broker_stop */
    char admin_password[64];
    const char *extra_args[4]; /* more `cellbench broker` arguments (NULL-ended), set before start */
};

/** A free TCP port on 127.0.0.1 (bound and released). */
int bt_free_port(void);

/** Make a fresh directory /tmp/<prefix>.XXXXXX into buf (capacity cap),
 *  removed with everything in it when the program exits. Returns 0 or -1. */
int bt_workdir(char *buf, size_t cap, const char *prefix);

/** Make a fresh directory /tmp/<prefix>.XXXXXX into buf; the caller
 *  removes it with bt_remove_tree(). Returns 0 or -1. */
int bt_temp_dir(char *buf, size_t cap, const char *prefix);

/** Remove path and everything below it. */
void bt_remove_tree(const char *path);

/** Path of a file under certs/out (static buffer reused per call slot). */
const char *bt_cert(const char *relative);

/** Path of a file in build/ (e.g. "bin/cellbench"), from this program's location in build/. */
const char *bt_build_path(const char *relative);

/**
 * Start `cellbench broker --profile profile --registry registry` with fresh
 * ports, in dir (NULL: a new temporary directory; kept in b->dir), with the
 * clock file clock_path (NULL: real time). Waits for "ready".
 * Returns 0, or -1 (the broker's stderr is in dir/broker.err).
 */
int bt_broker_start(struct bt_broker *b, const char *profile, const char *registry,
                    const char *clock_path, const char *dir);

/** Stop the broker with SIGTERM and wait for it. Returns its exit status. */
int bt_broker_stop(struct bt_broker *b);

/** One received message. */
struct bt_msg {
    char topic[512];
    char *payload; /* NUL-terminated copy */
    int len;
    int qos;
};

#define BT_MAX_MSGS 64

/** A synchronous MQTT client. */
struct bt_client {
    struct mosquitto *mosq;
    int connack;       /* -1 until a CONNACK arrives */
    bool connected;
    bool lost;         /* the connection ended */
    int granted[8];    /* qos granted by the last SUBACK */
    int granted_count;
    bool suback;
    int last_pub_mid_done;
    struct bt_msg msgs[BT_MAX_MSGS];
    int msg_count;
};

/** New MQTT 3.1.1 client with this client id. */
struct bt_client *bt_client_new(const char *client_id);

/** TLS with the bench CA, and a client certificate when cert/key are given. */
int bt_client_tls(struct bt_client *c, const char *cert, const char *key);

/**
 * Connect to 127.0.0.1:port with username/password (either may be NULL).
 * Returns the CONNACK code (0 accepted), or -1 when the connection closed
 * without CONNACK.
 */
int bt_client_connect(struct bt_client *c, int port, const char *username, const char *password);

/** Subscribe; returns the granted QoS (128 refused), or -1 when the connection closed. */
int bt_client_subscribe(struct bt_client *c, const char *filter, int qos);

/** Publish; for QoS 1 waits for the PUBACK. Returns 0, or -1 when the connection closed. */
int bt_client_publish(struct bt_client *c, const char *topic, const void *payload, int len, int qos,
                      bool retain);

/**
 * Wait for a message on topic (NULL: any) and take it out of the queue
 * into *out (free out->payload). Returns true when one arrived.
 */
bool bt_client_wait_message(struct bt_client *c, const char *topic, struct bt_msg *out);

/** Whether a message on topic is already queued (no waiting). */
bool bt_client_has_message(struct bt_client *c, const char *topic);

/** Wait until the broker closes the connection. Returns true when it did. */
bool bt_client_wait_closed(struct bt_client *c);

/** Disconnect and free (NULL is ignored). */
void bt_client_free(struct bt_client *c);

/** Admin client of b, connected to its admin listener (NULL on failure). */
struct bt_client *bt_admin_connect(const struct bt_broker *b, const char *client_id);

/**
 * Send an admin request (payload may be NULL) and wait for its reply on
 * cloud/<profile>/reply/...; returns the reply payload (free it) or NULL.
 */
char *bt_admin_request(struct bt_client *admin, const char *topic, const void *payload, int len);

/**
 * A JWT signed with the PEM private key file (alg "ES256", "RS256",
 * "HS256" with the file's text as secret, or "none"), with claims aud (NULL:
 * none), iat and exp (0: leave out). Returns a malloc'd token.
 */
char *bt_jwt(const char *alg, const char *key_file, const char *aud, long iat, long exp);

/** Write text to path. Returns 0 or -1. */
int bt_write_file(const char *path, const char *text);

#endif /* CELLBENCH_BROKERTEST_H */
