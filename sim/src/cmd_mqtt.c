/*
 * §4 MQTT(S): the AT+CMQTT* commands on two libmosquitto clients (index 0
 * and 1), driven by the modem's own poll loop through libmosquitto's
 * external-loop calls (mosquitto_socket, mosquitto_loop_read/write/misc,
 * mosquitto_want_write), so no command ever blocks the loop.
 *
 * Results that come from the network (+CMQTTCONNECT, +CMQTTPUB, +CMQTTSUB,
 * +CMQTTUNSUB, +CMQTTDISC) are recorded by the libmosquitto callbacks and
 * delivered from the dispatch hook, never from inside a callback: as a URC
 * after the command's OK (SIM_ORDER_OK_FIRST) or as the information line
 * before OK with the command held open (SIM_ORDER_INFO_FIRST).
 *
 * Error codes are those of reference §4.3. Where no source says which code
 * a situation gives, the choice is written next to it.
 */
#include "ssl_store.h"

#include <errno.h>
#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

/* ------------------------------------------------------------- limits (§4.4) */

#define MQTT_CLIENTS 2
#define MQTT_CLIENT_ID_MAX 128
#define MQTT_SERVER_MIN 9
#define MQTT_SERVER_MAX 256
#define MQTT_KEEPALIVE_MAX 64800
#define MQTT_USERPASS_MAX 256
#define MQTT_TOPIC_MAX 1024
#define MQTT_PAYLOAD_MAX 10240
#define MQTT_WILL_MSG_MAX 1024
#define MQTT_PUB_TIMEOUT_MIN 60
#define MQTT_PUB_TIMEOUT_MAX 180
#define MQTT_DISC_TIMEOUT_MIN 60
#define MQTT_DISC_TIMEOUT_MAX 180
#define MQTT_OPTIMEOUT_MIN 20
#define MQTT_OPTIMEOUT_MAX 120
#define MQTT_OPTIMEOUT_DEFAULT 120
#define MQTT_DEFAULT_PORT 1883
/* Topics AT+CMQTTSUBTOPIC / AT+CMQTTUNSUBTOPIC can queue (no source gives the real count). */
#define MQTT_TOPIC_QUEUE_MAX 10
/* Results a client can have outstanding at once. */
#define MQTT_OPS_MAX 16
/* Piece size of +CMQTTRXTOPIC / +CMQTTRXPAYLOAD (reference §4.1: 1500, unconfirmed). */
#define MQTT_RX_CHUNK 1500
/* Most packets read from one socket per dispatch round. */
#define MQTT_READS_PER_ROUND 256
/* How often libmosquitto's keep-alive timer is served (virtual ms). */
#define MQTT_MISC_PERIOD_MS 1000

/* <err> of reference §4.3. */
enum mqtt_err {
    MQTT_OK = 0,
    MQTT_FAILED = 1,
    MQTT_BAD_UTF8 = 2,
    MQTT_SOCK_CONNECT_FAIL = 3,
    MQTT_RECEIVE_FAIL = 6,
    MQTT_NETWORK_OPEN_FAIL = 7,
    MQTT_NO_CONNECTION = 11,
    MQTT_INVALID_PARAMETER = 12,
    MQTT_CLIENT_BUSY = 14,
    MQTT_SEND_FAIL = 16,
    MQTT_TIMEOUT = 17,
    MQTT_TOPIC_EMPTY = 18,
    MQTT_CLIENT_USED = 19,
    MQTT_NOT_ACQUIRED = 20,
    MQTT_NOT_RELEASED = 21,
    MQTT_LENGTH = 22,
    MQTT_NETWORK_OPENED = 23,
    MQTT_PACKET_FAIL = 24,
    MQTT_DNS_ERROR = 25,
    MQTT_CLOSED_BY_SERVER = 26,
    MQTT_REFUSED_BASE = 26, /* CONNACK return code n (1-5) is 26 + n */
    MQTT_HANDSHAKE_FAIL = 32,
    MQTT_NO_CERT = 33,
    MQTT_SSL_OPEN_FAIL = 34,
};

/* +CMQTTCONNLOST causes (reference §4.2). */
enum mqtt_lost_cause {
    MQTT_LOST_NONE = 0,
    MQTT_LOST_PASSIVE = 1, /* the broker closed the socket */
    MQTT_LOST_RESET = 2,   /* the socket was reset */
    MQTT_LOST_NETWORK = 3, /* the network closed */
};

/* A result the network will give later. */
struct mqtt_op {
    const char *name;     /* "+CMQTTPUB"...; NULL = free slot */
    int mids[3];          /* libmosquitto message ids awaited */
    int mid_count;
    int acks_left;
    bool refused;         /* a SUBACK refused a topic */
    int err;              /* -1 while running */
    uint64_t done_seq;    /* completion order */
    int64_t deadline_ms;
    bool holds_command;   /* the AT command waits for this result (info-first order) */
};

enum mqtt_conn {
    CONN_IDLE,
    CONN_CONNECTING,
    CONN_CONNECTED,
    CONN_DISCONNECTING,
};

struct mqtt_topic {
    char text[MQTT_TOPIC_MAX + 1];
    int qos;
};

struct mqtt_client {
    struct sim_modem *m;
    int index;
    bool acquired;
    char client_id[MQTT_CLIENT_ID_MAX + 1];
    int server_type;   /* 0 TCP, 1 SSL/TLS */
    int version;       /* 3 MQTT 3.1, 4 MQTT 3.1.1 */
    bool check_utf8;   /* AT+CMQTTCFG="checkUTF8" */
    int optimeout_s;   /* AT+CMQTTCFG="optimeout" */

    char will_topic[MQTT_TOPIC_MAX + 1];
    uint8_t will_msg[MQTT_WILL_MSG_MAX];
    size_t will_msg_len;
    int will_qos;
    bool will_msg_set;

    char topic[MQTT_TOPIC_MAX + 1];
    uint8_t payload[MQTT_PAYLOAD_MAX];
    size_t payload_len;
    struct mqtt_topic sub_queue[MQTT_TOPIC_QUEUE_MAX];
    size_t sub_count;
    struct mqtt_topic unsub_queue[MQTT_TOPIC_QUEUE_MAX];
    size_t unsub_count;
    int prompt_qos; /* qos of the SUBTOPIC / SUB prompt in progress */

    enum mqtt_conn conn;
    struct mosquitto *mosq;
    int poll_index;
    char server[MQTT_SERVER_MAX + 1];
    int keepalive;
    int clean_session;
    char user[MQTT_USERPASS_MAX + 1];
    char pass[MQTT_USERPASS_MAX + 1];
    bool has_user, has_pass;
    int64_t next_misc_ms;

    bool closed;       /* libmosquitto reported the end of the connection */
    int close_rc;
    int close_errno;
    int lost_cause;    /* +CMQTTCONNLOST to report from dispatch */
    bool tls_done;     /* handshake completed */
    long tls_verify_error;

    struct mqtt_op ops[MQTT_OPS_MAX];
    bool ops_maybe_live; /* set by op_new; cleared by a scan that finds no op in use */
};

struct sim_mqtt {
    bool started;
    int ssl_ctx[MQTT_CLIENTS]; /* AT+CMQTTSSLCFG, -1 = default (the session index) */
    struct mqtt_client clients[MQTT_CLIENTS];
    uint64_t seq;
    bool results_maybe_ready; /* set by op_done; cleared by a delivery scan that finds none */
    uint64_t pub_out, pub_in, bytes_out, bytes_in, connlost;
};

/* ------------------------------------------------------------- helpers */

static void client_clear_settings(struct mqtt_client *c)
{
    struct sim_modem *m = c->m;
    int index = c->index;
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->index = index;
    c->check_utf8 = true;
    c->optimeout_s = MQTT_OPTIMEOUT_DEFAULT;
    c->version = 4;
    c->poll_index = -1;
}

/* "+CMD: idx,err" then ERROR: the failure form of reference §4. */
static enum sim_at_status fail(struct sim_modem *m, const char *name, int idx, int err)
{
    sim_info(m, "%s: %d,%d", name, idx, err);
    return SIM_AT_ERROR;
}

/* Parse argument 0 as a client index; NULL (bare ERROR) when missing or out of range. */
static struct mqtt_client *client_arg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long idx;
    if (!sim_arg_int(cmd, 0, 0, MQTT_CLIENTS - 1, &idx)) {
        return NULL;
    }
    return &m->mqtt->clients[idx];
}

static bool utf8_ok(const struct mqtt_client *c, const void *data, size_t len)
{
    return !c->check_utf8 || mosquitto_validate_utf8(data, (int)len) == MOSQ_ERR_SUCCESS;
}

static struct mqtt_op *op_new(struct mqtt_client *c, const char *name, int64_t timeout_ms)
{
    for (size_t i = 0; i < MQTT_OPS_MAX; i++) {
        struct mqtt_op *op = &c->ops[i];
        if (op->name == NULL) {
            memset(op, 0, sizeof(*op));
            op->name = name;
            op->err = -1;
            op->deadline_ms = sim_now_ms(c->m) + timeout_ms;
            c->ops_maybe_live = true;
            return op;
        }
    }
    return NULL;
}

static void op_done(struct mqtt_client *c, struct mqtt_op *op, int err)
{
    if (op == NULL || op->err >= 0) {
        return;
    }
    op->err = err;
    op->done_seq = ++c->m->mqtt->seq;
    c->m->mqtt->results_maybe_ready = true;
}

static struct mqtt_op *op_find(struct mqtt_client *c, const char *name, int mid)
{
    for (size_t i = 0; i < MQTT_OPS_MAX; i++) {
        struct mqtt_op *op = &c->ops[i];
        if (op->name == NULL || op->err >= 0 || (name != NULL && strcmp(op->name, name) != 0)) {
            continue;
        }
        if (mid < 0) {
            return op;
        }
        for (int k = 0; k < op->mid_count; k++) {
            if (op->mids[k] == mid) {
                return op;
            }
        }
    }
    return NULL;
}

/* Fail every running message operation (PUB/SUB/UNSUB) with err. */
static void ops_fail_messages(struct mqtt_client *c, int err)
{
    for (size_t i = 0; i < MQTT_OPS_MAX; i++) {
        struct mqtt_op *op = &c->ops[i];
        if (op->name != NULL && op->err < 0 && strcmp(op->name, "+CMQTTCONNECT") != 0 &&
            strcmp(op->name, "+CMQTTDISC") != 0) {
            op_done(c, op, err);
        }
    }
}

/* Return status of a command whose result line comes later (see the file comment). */
static enum sim_at_status answer_later(struct sim_modem *m, struct mqtt_op *op)
{
    op->holds_command = m->cfg.order == SIM_ORDER_INFO_FIRST;
    return op->holds_command ? SIM_AT_PENDING : SIM_AT_OK;
}

/*
 * Deliver finished results in the order they finished. Only from
 * dispatch/teardown, except with urcs_only: then it stops at the first result
 * that holds its command (finishing a command may run chained ones, which
 * must not happen inside a libmosquitto callback).
 */
static void deliver_results_upto(struct sim_modem *m, bool urcs_only)
{
    while (m->mqtt->results_maybe_ready) {
        struct mqtt_client *best_client = NULL;
        struct mqtt_op *best = NULL;
        for (int c = 0; c < MQTT_CLIENTS; c++) {
            for (size_t i = 0; i < MQTT_OPS_MAX; i++) {
                struct mqtt_op *op = &m->mqtt->clients[c].ops[i];
                if (op->name != NULL && op->err >= 0 && (best == NULL || op->done_seq < best->done_seq)) {
                    best = op;
                    best_client = &m->mqtt->clients[c];
                }
            }
        }
        if (best == NULL) {
            m->mqtt->results_maybe_ready = false;
            return;
        }
        if (urcs_only && best->holds_command) {
            return;
        }
        struct mqtt_op done = *best;
        best->name = NULL;
        if (done.holds_command) {
            sim_info(m, "%s: %d,%d", done.name, best_client->index, done.err);
            sim_at_finish(m, SIM_AT_OK); /* may run further chained commands */
        } else {
            sim_urc(m, "%s: %d,%d", done.name, best_client->index, done.err);
        }
    }
}

static void deliver_results(struct sim_modem *m)
{
    deliver_results_upto(m, false);
}

/* ------------------------------------------------------------- TLS observation */

static struct mqtt_client *client_of_ssl(const SSL *ssl)
{
    return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* Remember why the modem refused the broker's certificate (error 34). */
static int tls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct mqtt_client *c = ssl != NULL ? client_of_ssl(ssl) : NULL;
    if (!preverify_ok && c != NULL && c->tls_verify_error == 0) {
        c->tls_verify_error = X509_STORE_CTX_get_error(store);
    }
    return preverify_ok;
}

/* Remember a completed handshake: a failure before it is error 32, after it 26. */
static void tls_info_cb(const SSL *ssl, int where, int ret)
{
    (void)ret;
    struct mqtt_client *c = client_of_ssl(ssl);
    if (c != NULL && (where & SSL_CB_HANDSHAKE_DONE)) {
        c->tls_done = true;
    }
}

/* ------------------------------------------------------------- libmosquitto callbacks */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    struct mqtt_op *op = op_find(c, "+CMQTTCONNECT", -1);
    if (rc == 0) {
        c->conn = CONN_CONNECTED;
        op_done(c, op, MQTT_OK);
    } else {
        op_done(c, op, rc >= 1 && rc <= 5 ? MQTT_REFUSED_BASE + rc : MQTT_FAILED);
    }
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    int saved = errno;
    if (!c->closed) {
        c->closed = true;
        c->close_rc = rc;
        c->close_errno = saved;
    }
    errno = saved;
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    struct mqtt_op *op = op_find(c, "+CMQTTPUB", mid);
    if (op != NULL) {
        c->m->mqtt->pub_out++;
        op_done(c, op, MQTT_OK);
    }
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count, const int *granted)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    struct mqtt_op *op = op_find(c, "+CMQTTSUB", mid);
    if (op == NULL) {
        return;
    }
    for (int i = 0; i < qos_count; i++) {
        if (granted[i] > 2) {
            op->refused = true; /* 0x80: the broker refused this filter */
        }
    }
    if (--op->acks_left <= 0) {
        op_done(c, op, op->refused ? MQTT_FAILED : MQTT_OK);
    }
}

static void on_unsubscribe(struct mosquitto *mosq, void *obj, int mid)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    struct mqtt_op *op = op_find(c, "+CMQTTUNSUB", mid);
    if (op != NULL && --op->acks_left <= 0) {
        op_done(c, op, MQTT_OK);
    }
}

/* An incoming PUBLISH as the unbroken §4.1 URC block. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    struct mqtt_client *c = obj;
    struct sim_modem *m = c->m;
    size_t topic_len = strlen(msg->topic);
    size_t payload_len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    char head[96];
    m->mqtt->pub_in++;
    m->mqtt->bytes_in += topic_len + payload_len;
    /* what the broker answered before this message (a SUBACK before the
     * retained messages it releases) is reported before it, as on the wire */
    deliver_results_upto(m, true);
    sim_urc_begin(m);
    int n = snprintf(head, sizeof(head), "\r\n+CMQTTRXSTART: %d,%zu,%zu\r\n", c->index, topic_len, payload_len);
    sim_urc_raw(m, head, (size_t)n);
    for (size_t off = 0; off < topic_len; off += MQTT_RX_CHUNK) {
        size_t piece = topic_len - off < MQTT_RX_CHUNK ? topic_len - off : MQTT_RX_CHUNK;
        n = snprintf(head, sizeof(head), "+CMQTTRXTOPIC: %d,%zu\r\n", c->index, piece);
        sim_urc_raw(m, head, (size_t)n);
        sim_urc_raw(m, msg->topic + off, piece);
        sim_urc_raw(m, "\r\n", 2);
    }
    for (size_t off = 0; off < payload_len; off += MQTT_RX_CHUNK) {
        size_t piece = payload_len - off < MQTT_RX_CHUNK ? payload_len - off : MQTT_RX_CHUNK;
        n = snprintf(head, sizeof(head), "+CMQTTRXPAYLOAD: %d,%zu\r\n", c->index, piece);
        sim_urc_raw(m, head, (size_t)n);
        sim_urc_raw(m, (const uint8_t *)msg->payload + off, piece);
        sim_urc_raw(m, "\r\n", 2);
    }
    n = snprintf(head, sizeof(head), "+CMQTTRXEND: %d\r\n", c->index);
    sim_urc_raw(m, head, (size_t)n);
    sim_urc_end(m);
}

/* ------------------------------------------------------------- connection life */

static void connection_destroy(struct mqtt_client *c)
{
    if (c->mosq != NULL) {
        mosquitto_destroy(c->mosq);
        c->mosq = NULL;
    }
    c->conn = CONN_IDLE;
    c->poll_index = -1;
}

static bool errno_means_unreachable(int e)
{
    return e == ECONNREFUSED || e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH || e == EADDRNOTAVAIL;
}

/*
 * Why a connection attempt failed, as a §4.3 code. The choices for TLS
 * follow §4.5: the modem refusing the broker's certificate gives 34 (seen
 * on CA validation failures); the broker ending the connection during the
 * handshake (an alert, a close or a reset: which one arrives first is a
 * race, e.g. when it refuses the client certificate) gives 32; the broker
 * closing the socket after the handshake but before CONNACK gives 26 (AWS
 * without a client certificate).
 */
static int connect_failure_code(const struct mqtt_client *c)
{
    bool unreachable = c->close_rc == MOSQ_ERR_ERRNO && errno_means_unreachable(c->close_errno);
    if (c->tls_verify_error != 0) {
        return MQTT_SSL_OPEN_FAIL;
    }
    if (c->server_type == 1 && !c->tls_done && !unreachable && c->close_rc != MOSQ_ERR_EAI) {
        return MQTT_HANDSHAKE_FAIL;
    }
    switch (c->close_rc) {
    case MOSQ_ERR_ERRNO:
        return errno_means_unreachable(c->close_errno) ? MQTT_SOCK_CONNECT_FAIL : MQTT_CLOSED_BY_SERVER;
    case MOSQ_ERR_CONN_LOST:
        return MQTT_CLOSED_BY_SERVER;
    case MOSQ_ERR_PROTOCOL:
    case MOSQ_ERR_MALFORMED_PACKET:
        return MQTT_PACKET_FAIL;
    case MOSQ_ERR_EAI:
        return MQTT_DNS_ERROR;
    default:
        return MQTT_FAILED;
    }
}

/* The connection ended (libmosquitto said so, or a loop call failed): settle its results. */
static void connection_ended(struct mqtt_client *c)
{
    switch (c->conn) {
    case CONN_CONNECTING: {
        struct mqtt_op *op = op_find(c, "+CMQTTCONNECT", -1);
        op_done(c, op, connect_failure_code(c));
        c->m->mqtt->ssl_ctx[c->index] = -1; /* cleared on a failed CONNECT */
        break;
    }
    case CONN_CONNECTED:
        /*
         * §4.5: a broker drop fails the pending operation with 6, then CONNLOST.
         * Unfinished: a keep-alive timeout (MOSQ_ERR_KEEPALIVE) is reported as
         * CONNLOST cause 1 as well; the +CMQTTPING URC of §4.2 is not emitted
         * because no source gives its <err> value.
         */
        ops_fail_messages(c, MQTT_RECEIVE_FAIL);
        /* libmosquitto reports a reset read as MOSQ_ERR_CONN_LOST too; errno tells it apart */
        c->lost_cause = c->close_errno == ECONNRESET ? MQTT_LOST_RESET : MQTT_LOST_PASSIVE;
        break;
    case CONN_DISCONNECTING:
        ops_fail_messages(c, MQTT_RECEIVE_FAIL);
        op_done(c, op_find(c, "+CMQTTDISC", -1), MQTT_OK);
        c->m->mqtt->ssl_ctx[c->index] = -1; /* cleared by DISC */
        break;
    case CONN_IDLE:
        break;
    }
    connection_destroy(c);
}

/* After any libmosquitto call: notice a connection that has gone. */
static void settle(struct mqtt_client *c, int rc)
{
    if (c->mosq == NULL) {
        return;
    }
    if (rc != MOSQ_ERR_SUCCESS && !c->closed) {
        c->closed = true;
        c->close_rc = rc;
        c->close_errno = errno;
    }
    if (c->closed || mosquitto_socket(c->mosq) < 0) {
        connection_ended(c);
    }
}

/* ------------------------------------------------------------- AT+CMQTTSTART / STOP */

static bool mqtt_started(const struct sim_modem *m)
{
    return m->mqtt->started;
}

static enum sim_at_status cmd_start(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    if (m->mqtt->started) {
        /* The service lives in the modem and survives a host reboot (reference §4, M4E5TR0 notes). */
        sim_info(m, "+CMQTTSTART: %d", MQTT_NETWORK_OPENED);
        return SIM_AT_ERROR;
    }
    if (!sim_network_ready(m)) {
        return sim_two_phase(m, "+CMQTTSTART: %d", MQTT_NETWORK_OPEN_FAIL);
    }
    m->mqtt->started = true;
    return sim_two_phase(m, "+CMQTTSTART: %d", MQTT_OK);
}

static enum sim_at_status cmd_stop(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        if (m->mqtt->clients[i].acquired) {
            sim_info(m, "+CMQTTSTOP: %d", MQTT_NOT_RELEASED);
            return SIM_AT_ERROR;
        }
    }
    m->mqtt->started = false;
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        m->mqtt->ssl_ctx[i] = -1;
    }
    return sim_two_phase(m, "+CMQTTSTOP: %d", MQTT_OK);
}

/* ------------------------------------------------------------- AT+CMQTTACCQ / REL */

static void print_accq(struct sim_modem *m)
{
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        const struct mqtt_client *c = &m->mqtt->clients[i];
        sim_info(m, "+CMQTTACCQ: %d,\"%s\",%d", i, c->acquired ? c->client_id : "", c->acquired ? c->server_type : 0);
    }
}

static enum sim_at_status cmd_accq(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTACCQ: (0-1),(1-%d),(0-1),(3-4)", MQTT_CLIENT_ID_MAX);
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    if (cmd->kind == SIM_AT_READ) {
        print_accq(m);
        return SIM_AT_OK;
    }
    struct mqtt_client *c = client_arg(m, cmd);
    long type = 0;
    long version = 4;
    const char *id = NULL;
    if (c == NULL || cmd->argc < 2 || cmd->argc > 4 || !cmd->argv[1].quoted) {
        return SIM_AT_ERROR;
    }
    if (c->acquired) {
        return fail(m, "+CMQTTACCQ", c->index, MQTT_CLIENT_USED);
    }
    if (!sim_arg_str(cmd, 1, 1, MQTT_CLIENT_ID_MAX, true, &id)) {
        return fail(m, "+CMQTTACCQ", c->index, MQTT_LENGTH);
    }
    if (!sim_arg_int_opt(cmd, 2, 0, 1, 0, &type) || !sim_arg_int_opt(cmd, 3, 3, 4, 4, &version)) {
        return fail(m, "+CMQTTACCQ", c->index, MQTT_INVALID_PARAMETER);
    }
    if (mosquitto_validate_utf8(id, (int)strlen(id)) != MOSQ_ERR_SUCCESS) {
        return fail(m, "+CMQTTACCQ", c->index, MQTT_BAD_UTF8);
    }
    client_clear_settings(c);
    c->acquired = true;
    snprintf(c->client_id, sizeof(c->client_id), "%s", id);
    c->server_type = (int)type;
    c->version = (int)version;
    return SIM_AT_OK;
}

static enum sim_at_status cmd_rel(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTREL: (0-1)");
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    struct mqtt_client *c = client_arg(m, cmd);
    if (c == NULL || cmd->argc != 1) {
        return SIM_AT_ERROR;
    }
    if (!c->acquired) {
        return fail(m, "+CMQTTREL", c->index, MQTT_NOT_ACQUIRED);
    }
    if (c->conn != CONN_IDLE) {
        return fail(m, "+CMQTTREL", c->index, MQTT_CLIENT_USED);
    }
    client_clear_settings(c);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- AT+CMQTTSSLCFG / CFG */

static enum sim_at_status cmd_sslcfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTSSLCFG: (0-1),(0-9)");
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    if (cmd->kind == SIM_AT_READ) {
        for (int i = 0; i < MQTT_CLIENTS; i++) {
            int ctx = m->mqtt->ssl_ctx[i];
            sim_info(m, "+CMQTTSSLCFG: %d,%d", i, ctx < 0 ? i : ctx);
        }
        return SIM_AT_OK;
    }
    struct mqtt_client *c = client_arg(m, cmd);
    long ctx;
    if (c == NULL || cmd->argc != 2 || !sim_arg_int(cmd, 1, 0, SIM_SSL_CONTEXTS - 1, &ctx)) {
        return SIM_AT_ERROR;
    }
    if (c->conn != CONN_IDLE) {
        return SIM_AT_ERROR; /* only before CONNECT */
    }
    m->mqtt->ssl_ctx[c->index] = (int)ctx;
    return SIM_AT_OK;
}

static enum sim_at_status cmd_cfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTCFG: \"checkUTF8\",(0-1),(0-1)");
        sim_info(m, "+CMQTTCFG: \"optimeout\",(0-1),(%d-%d)", MQTT_OPTIMEOUT_MIN, MQTT_OPTIMEOUT_MAX);
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    if (cmd->kind == SIM_AT_READ) {
        for (int i = 0; i < MQTT_CLIENTS; i++) {
            const struct mqtt_client *c = &m->mqtt->clients[i];
            sim_info(m, "+CMQTTCFG: %d,%d,%d", i, c->check_utf8 ? 1 : 0, c->optimeout_s);
        }
        return SIM_AT_OK;
    }
    long idx;
    long value;
    if (cmd->argc != 3 || !cmd->argv[0].quoted || !sim_arg_int(cmd, 1, 0, MQTT_CLIENTS - 1, &idx)) {
        return SIM_AT_ERROR;
    }
    struct mqtt_client *c = &m->mqtt->clients[idx];
    if (!c->acquired || c->conn != CONN_IDLE) {
        return SIM_AT_ERROR; /* after ACCQ, before CONNECT */
    }
    if (strcasecmp(cmd->argv[0].text, "checkUTF8") == 0 && sim_arg_int(cmd, 2, 0, 1, &value)) {
        c->check_utf8 = value == 1;
        return SIM_AT_OK;
    }
    if (strcasecmp(cmd->argv[0].text, "optimeout") == 0 &&
        sim_arg_int(cmd, 2, MQTT_OPTIMEOUT_MIN, MQTT_OPTIMEOUT_MAX, &value)) {
        c->optimeout_s = (int)value;
        return SIM_AT_OK;
    }
    return SIM_AT_ERROR;
}

/* ------------------------------------------------------------- data prompts */

/*
 * Checks shared by the prompt commands (=<idx>,<len>[,...]): service
 * started, index valid, client acquired, len within [1, max]. Returns NULL
 * and sets *status when the command must end now.
 */
static struct mqtt_client *prompt_client(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name,
                                         int min_args, int max_args, size_t max, long *len,
                                         enum sim_at_status *status)
{
    struct mqtt_client *c = mqtt_started(m) ? client_arg(m, cmd) : NULL;
    *status = SIM_AT_ERROR;
    if (c == NULL || cmd->argc < min_args || cmd->argc > max_args || !sim_arg_int(cmd, 1, -999999, 999999, len)) {
        return NULL;
    }
    if (!c->acquired) {
        *status = fail(m, name, c->index, MQTT_NOT_ACQUIRED);
        return NULL;
    }
    if (*len < 1 || (size_t)*len > max) {
        *status = fail(m, name, c->index, MQTT_LENGTH);
        return NULL;
    }
    return c;
}

/* Copy prompt data into a topic buffer after the UTF-8 check. */
static enum sim_at_status take_topic(struct mqtt_client *c, const char *name, char *dst, const uint8_t *data,
                                     size_t len)
{
    if (!utf8_ok(c, data, len)) {
        return fail(c->m, name, c->index, MQTT_BAD_UTF8);
    }
    memcpy(dst, data, len);
    dst[len] = '\0';
    return SIM_AT_OK;
}

static enum sim_at_status topic_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    return take_topic(c, "+CMQTTTOPIC", c->topic, data, len);
}

static enum sim_at_status will_topic_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    return take_topic(c, "+CMQTTWILLTOPIC", c->will_topic, data, len);
}

static enum sim_at_status payload_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    memcpy(c->payload, data, len);
    c->payload_len = len;
    return SIM_AT_OK;
}

static enum sim_at_status will_msg_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    memcpy(c->will_msg, data, len);
    c->will_msg_len = len;
    c->will_qos = c->prompt_qos;
    c->will_msg_set = true;
    return SIM_AT_OK;
}

static enum sim_at_status queue_topic(struct mqtt_client *c, const char *name, struct mqtt_topic *queue,
                                      size_t *count, const uint8_t *data, size_t len)
{
    if (*count >= MQTT_TOPIC_QUEUE_MAX) {
        return fail(c->m, name, c->index, MQTT_LENGTH);
    }
    enum sim_at_status st = take_topic(c, name, queue[*count].text, data, len);
    if (st == SIM_AT_OK) {
        queue[*count].qos = c->prompt_qos;
        (*count)++;
    }
    return st;
}

static enum sim_at_status subtopic_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    return queue_topic(c, "+CMQTTSUBTOPIC", c->sub_queue, &c->sub_count, data, len);
}

static enum sim_at_status unsubtopic_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    c->prompt_qos = 0; /* an unsubscription carries no QoS */
    return queue_topic(c, "+CMQTTUNSUBTOPIC", c->unsub_queue, &c->unsub_count, data, len);
}

/* AT+<name>=<client>,<len>: a prompt for len bytes (at most max) handed to data_fn. */
static enum sim_at_status plain_prompt(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name, int max,
                                       sim_prompt_fn data_fn)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "%s: (0-1),(1-%d)", name, max);
        return SIM_AT_OK;
    }
    long len;
    enum sim_at_status st;
    struct mqtt_client *c = prompt_client(m, cmd, name, 2, 2, max, &len, &st);
    return c == NULL ? st : sim_prompt(m, (size_t)len, data_fn, c);
}

static enum sim_at_status cmd_topic(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return plain_prompt(m, cmd, "+CMQTTTOPIC", MQTT_TOPIC_MAX, topic_data);
}

static enum sim_at_status cmd_payload(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return plain_prompt(m, cmd, "+CMQTTPAYLOAD", MQTT_PAYLOAD_MAX, payload_data);
}

static enum sim_at_status cmd_will_topic(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return plain_prompt(m, cmd, "+CMQTTWILLTOPIC", MQTT_TOPIC_MAX, will_topic_data);
}

/* Parse the qos argument at position i into c->prompt_qos; false answers error 12. */
static bool prompt_qos_arg(struct mqtt_client *c, const struct sim_at_cmd *cmd, int i)
{
    long qos;
    if (!sim_arg_int(cmd, i, 0, 2, &qos)) {
        return false;
    }
    c->prompt_qos = (int)qos;
    return true;
}

/* AT+<name>=<client>,<len>,<qos>: a prompt for len bytes (at most max) that also carries a QoS. */
static enum sim_at_status prompt_with_qos(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name,
                                          int max, sim_prompt_fn data_fn)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "%s: (0-1),(1-%d),(0-2)", name, max);
        return SIM_AT_OK;
    }
    long len;
    enum sim_at_status st;
    struct mqtt_client *c = prompt_client(m, cmd, name, 3, 3, max, &len, &st);
    if (c == NULL) {
        return st;
    }
    if (!prompt_qos_arg(c, cmd, 2)) {
        return fail(m, name, c->index, MQTT_INVALID_PARAMETER);
    }
    return sim_prompt(m, (size_t)len, data_fn, c);
}

static enum sim_at_status cmd_will_msg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return prompt_with_qos(m, cmd, "+CMQTTWILLMSG", MQTT_WILL_MSG_MAX, will_msg_data);
}

static enum sim_at_status cmd_subtopic(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return prompt_with_qos(m, cmd, "+CMQTTSUBTOPIC", MQTT_TOPIC_MAX, subtopic_data);
}

static enum sim_at_status cmd_unsubtopic(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return plain_prompt(m, cmd, "+CMQTTUNSUBTOPIC", MQTT_TOPIC_MAX, unsubtopic_data);
}

/* ------------------------------------------------------------- AT+CMQTTCONNECT */

/* Split "tcp://host[:port]" into host and port; false when malformed. */
static bool parse_server(const char *server, char *host, size_t cap, int *port)
{
    static const char prefix[] = "tcp://";
    if (strncasecmp(server, prefix, sizeof(prefix) - 1) != 0) {
        return false;
    }
    const char *h = server + sizeof(prefix) - 1;
    const char *colon = strrchr(h, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - h) : strlen(h);
    *port = MQTT_DEFAULT_PORT;
    if (colon != NULL) {
        char *end = NULL;
        long p = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end != '\0' || p < 1 || p > 65535) {
            return false;
        }
        *port = (int)p;
    }
    if (host_len == 0 || host_len >= cap || strchr(h, '/') != NULL) {
        return false;
    }
    memcpy(host, h, host_len);
    host[host_len] = '\0';
    return true;
}

/* The SSL_CTX for a TLS client, observed by our callbacks; NULL with *err set on failure. */
static SSL_CTX *client_ssl_ctx(struct mqtt_client *c, int *err)
{
    int ctx_index = c->m->mqtt->ssl_ctx[c->index] >= 0 ? c->m->mqtt->ssl_ctx[c->index] : c->index;
    enum sim_ssl_error ssl_err;
    char why[160];
    SSL_CTX *ctx = sim_ssl_new_ctx(c->m, ctx_index, &ssl_err, why, sizeof(why));
    if (ctx == NULL) {
        *err = ssl_err == SIM_SSL_NO_CERT ? MQTT_NO_CERT : MQTT_SSL_OPEN_FAIL;
        return NULL;
    }
    SSL_CTX_set_app_data(ctx, c);
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), tls_verify_cb);
    SSL_CTX_set_info_callback(ctx, tls_info_cb);
    return ctx;
}

/* Make the libmosquitto client for one connection attempt; returns a §4.3 code. */
static int connection_create(struct mqtt_client *c)
{
    c->mosq = mosquitto_new(c->client_id, c->clean_session == 1, c);
    if (c->mosq == NULL) {
        return MQTT_FAILED;
    }
    mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, c->version == 3 ? MQTT_PROTOCOL_V31 : MQTT_PROTOCOL_V311);
    /* no Nagle: a second small packet would wait for the broker's delayed ACK (40 ms real, minutes at 1000x) */
    mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(c->mosq, on_connect);
    mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
    mosquitto_publish_callback_set(c->mosq, on_publish);
    mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
    mosquitto_unsubscribe_callback_set(c->mosq, on_unsubscribe);
    mosquitto_message_callback_set(c->mosq, on_message);
    if (c->has_user && mosquitto_username_pw_set(c->mosq, c->user, c->has_pass ? c->pass : NULL) != MOSQ_ERR_SUCCESS) {
        return MQTT_INVALID_PARAMETER;
    }
    if (c->will_topic[0] != '\0' &&
        mosquitto_will_set(c->mosq, c->will_topic, (int)c->will_msg_len, c->will_msg, c->will_qos, false) !=
            MOSQ_ERR_SUCCESS) {
        return MQTT_INVALID_PARAMETER;
    }
    if (c->server_type == 1) {
        int err = MQTT_OK;
        SSL_CTX *ctx = client_ssl_ctx(c, &err);
        if (ctx == NULL) {
            return err;
        }
        mosquitto_int_option(c->mosq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
        int rc = mosquitto_void_option(c->mosq, MOSQ_OPT_SSL_CTX, ctx);
        SSL_CTX_free(ctx); /* libmosquitto holds its own reference */
        if (rc != MOSQ_ERR_SUCCESS) {
            return MQTT_SSL_OPEN_FAIL;
        }
    }
    return MQTT_OK;
}

/* Start the non-blocking connect; returns a §4.3 code (0 = under way). */
static int connection_start(struct mqtt_client *c)
{
    char host[MQTT_SERVER_MAX + 1];
    int port;
    if (!parse_server(c->server, host, sizeof(host), &port)) {
        return MQTT_INVALID_PARAMETER;
    }
    if (!sim_network_ready(c->m)) {
        return MQTT_SOCK_CONNECT_FAIL;
    }
    int err = connection_create(c);
    if (err != MQTT_OK) {
        return err;
    }
    /* libmosquitto refuses keep-alives below 5 s; 1-4 s are sent as 5 s. */
    int keepalive = c->keepalive < 5 ? 5 : c->keepalive;
    c->closed = false;
    c->close_rc = MOSQ_ERR_SUCCESS;
    c->close_errno = 0;
    c->tls_done = false;
    c->tls_verify_error = 0;
    c->conn = CONN_CONNECTING;
    /* Host names resolve through the simulated DNS (control verb `host`), then the host's resolver. */
    int rc = mosquitto_connect_async(c->mosq, sim_resolve_alias(c->m, host), port, keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        c->close_rc = rc;
        c->close_errno = errno;
        c->closed = true;
        int code = rc == MOSQ_ERR_EAI ? MQTT_DNS_ERROR : connect_failure_code(c);
        connection_destroy(c);
        return code;
    }
    c->next_misc_ms = sim_now_ms(c->m) + MQTT_MISC_PERIOD_MS;
    return MQTT_OK;
}

/* Parse the CONNECT arguments into c; returns a §4.3 code. */
static int connect_args(struct mqtt_client *c, const struct sim_at_cmd *cmd)
{
    const char *server = NULL;
    const char *user = NULL;
    const char *pass = NULL;
    long keepalive;
    long clean;
    if (!cmd->argv[1].quoted || (cmd->argc > 4 && !cmd->argv[4].quoted) || (cmd->argc > 5 && !cmd->argv[5].quoted)) {
        return MQTT_INVALID_PARAMETER;
    }
    if (!sim_arg_str(cmd, 1, MQTT_SERVER_MIN, MQTT_SERVER_MAX, true, &server) ||
        (cmd->argc > 4 && !sim_arg_str(cmd, 4, 1, MQTT_USERPASS_MAX, true, &user)) ||
        (cmd->argc > 5 && !sim_arg_str(cmd, 5, 1, MQTT_USERPASS_MAX, true, &pass))) {
        return MQTT_LENGTH; /* e.g. an RS256 JWT as password: longer than 256 bytes */
    }
    char host[MQTT_SERVER_MAX + 1];
    int port;
    if (!sim_arg_int(cmd, 2, 1, MQTT_KEEPALIVE_MAX, &keepalive) || !sim_arg_int_opt(cmd, 3, 0, 1, 0, &clean) ||
        !parse_server(server, host, sizeof(host), &port)) {
        return MQTT_INVALID_PARAMETER;
    }
    snprintf(c->server, sizeof(c->server), "%s", server);
    c->keepalive = (int)keepalive;
    c->clean_session = (int)clean;
    c->has_user = user != NULL;
    c->has_pass = pass != NULL;
    snprintf(c->user, sizeof(c->user), "%s", user ? user : "");
    snprintf(c->pass, sizeof(c->pass), "%s", pass ? pass : "");
    return MQTT_OK;
}

static void print_connect(struct sim_modem *m)
{
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        const struct mqtt_client *c = &m->mqtt->clients[i];
        if (c->conn != CONN_CONNECTED) {
            sim_info(m, "+CMQTTCONNECT: %d", i);
        } else if (c->has_pass) {
            sim_info(m, "+CMQTTCONNECT: %d,\"%s\",%d,%d,\"%s\",\"%s\"", i, c->server, c->keepalive, c->clean_session,
                     c->user, c->pass);
        } else if (c->has_user) {
            sim_info(m, "+CMQTTCONNECT: %d,\"%s\",%d,%d,\"%s\"", i, c->server, c->keepalive, c->clean_session, c->user);
        } else {
            sim_info(m, "+CMQTTCONNECT: %d,\"%s\",%d,%d", i, c->server, c->keepalive, c->clean_session);
        }
    }
}

static enum sim_at_status cmd_connect(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTCONNECT: (0-1),(%d-%d),(1-%d),(0-1)", MQTT_SERVER_MIN, MQTT_SERVER_MAX, MQTT_KEEPALIVE_MAX);
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    if (cmd->kind == SIM_AT_READ) {
        print_connect(m);
        return SIM_AT_OK;
    }
    struct mqtt_client *c = client_arg(m, cmd);
    if (c == NULL || cmd->argc < 3 || cmd->argc > 6) {
        return SIM_AT_ERROR;
    }
    if (!c->acquired) {
        return fail(m, "+CMQTTCONNECT", c->index, MQTT_NOT_ACQUIRED);
    }
    if (c->conn == CONN_CONNECTED) {
        return fail(m, "+CMQTTCONNECT", c->index, MQTT_CLIENT_USED);
    }
    if (c->conn != CONN_IDLE) {
        return fail(m, "+CMQTTCONNECT", c->index, MQTT_CLIENT_BUSY);
    }
    int err = connect_args(c, cmd);
    if (err != MQTT_OK) {
        return fail(m, "+CMQTTCONNECT", c->index, err);
    }
    struct mqtt_op *op = op_new(c, "+CMQTTCONNECT", (int64_t)c->optimeout_s * 1000);
    if (op == NULL) {
        return fail(m, "+CMQTTCONNECT", c->index, MQTT_CLIENT_BUSY);
    }
    err = connection_start(c);
    if (err != MQTT_OK) {
        m->mqtt->ssl_ctx[c->index] = -1; /* cleared on a failed CONNECT */
        op_done(c, op, err);
    }
    return answer_later(m, op);
}

/* ------------------------------------------------------------- AT+CMQTTDISC */

static enum sim_at_status cmd_disc(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTDISC: (0-1),(0,%d-%d)", MQTT_DISC_TIMEOUT_MIN, MQTT_DISC_TIMEOUT_MAX);
        return SIM_AT_OK;
    }
    if (!mqtt_started(m)) {
        return SIM_AT_ERROR;
    }
    if (cmd->kind == SIM_AT_READ) {
        for (int i = 0; i < MQTT_CLIENTS; i++) {
            sim_info(m, "+CMQTTDISC: %d,%d", i, m->mqtt->clients[i].conn == CONN_CONNECTED ? 0 : 1);
        }
        return SIM_AT_OK;
    }
    struct mqtt_client *c = client_arg(m, cmd);
    long timeout;
    if (c == NULL || cmd->argc > 2) {
        return SIM_AT_ERROR;
    }
    if (!sim_arg_int_opt(cmd, 1, 0, MQTT_DISC_TIMEOUT_MAX, 0, &timeout) ||
        (timeout != 0 && timeout < MQTT_DISC_TIMEOUT_MIN)) {
        return fail(m, "+CMQTTDISC", c->index, MQTT_INVALID_PARAMETER);
    }
    if (!c->acquired) {
        return fail(m, "+CMQTTDISC", c->index, MQTT_NOT_ACQUIRED);
    }
    if (c->conn != CONN_CONNECTED) {
        return fail(m, "+CMQTTDISC", c->index, c->conn == CONN_IDLE ? MQTT_NO_CONNECTION : MQTT_CLIENT_BUSY);
    }
    struct mqtt_op *op = op_new(c, "+CMQTTDISC", (timeout ? timeout : c->optimeout_s) * 1000LL);
    if (op == NULL) {
        return fail(m, "+CMQTTDISC", c->index, MQTT_CLIENT_BUSY);
    }
    c->conn = CONN_DISCONNECTING;
    settle(c, mosquitto_disconnect(c->mosq));
    return answer_later(m, op);
}

/* ------------------------------------------------------------- AT+CMQTTPUB */

/* libmosquitto's refusal of a request, as a §4.3 code. */
static int request_error(int rc)
{
    switch (rc) {
    case MOSQ_ERR_MALFORMED_UTF8:
        return MQTT_BAD_UTF8;
    case MOSQ_ERR_INVAL:
        return MQTT_INVALID_PARAMETER;
    case MOSQ_ERR_NO_CONN:
        return MQTT_NO_CONNECTION;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return MQTT_LENGTH;
    case MOSQ_ERR_NOMEM:
        return MQTT_FAILED;
    default:
        return MQTT_SEND_FAIL;
    }
}

/* Common checks of PUB/SUB/UNSUB: acquired and connected; returns a §4.3 code. */
static int ready_to_send(const struct mqtt_client *c)
{
    if (!c->acquired) {
        return MQTT_NOT_ACQUIRED;
    }
    return c->conn == CONN_CONNECTED ? MQTT_OK : MQTT_NO_CONNECTION;
}

static enum sim_at_status cmd_pub(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTPUB: (0-1),(0-2),(%d-%d),(0-1),(0-1)", MQTT_PUB_TIMEOUT_MIN, MQTT_PUB_TIMEOUT_MAX);
        return SIM_AT_OK;
    }
    struct mqtt_client *c = mqtt_started(m) ? client_arg(m, cmd) : NULL;
    long qos;
    long timeout;
    long retain;
    long dup;
    if (c == NULL || cmd->argc < 3 || cmd->argc > 5) {
        return SIM_AT_ERROR;
    }
    if (!sim_arg_int(cmd, 1, 0, 2, &qos) ||
        !sim_arg_int(cmd, 2, MQTT_PUB_TIMEOUT_MIN, MQTT_PUB_TIMEOUT_MAX, &timeout) ||
        !sim_arg_int_opt(cmd, 3, 0, 1, 0, &retain) || !sim_arg_int_opt(cmd, 4, 0, 1, 0, &dup)) {
        return fail(m, "+CMQTTPUB", c->index, MQTT_INVALID_PARAMETER);
    }
    int err = ready_to_send(c);
    if (err == MQTT_OK && c->topic[0] == '\0') {
        err = MQTT_TOPIC_EMPTY;
    }
    struct mqtt_op *op = err == MQTT_OK ? op_new(c, "+CMQTTPUB", timeout * 1000) : NULL;
    if (err == MQTT_OK && op == NULL) {
        err = MQTT_CLIENT_BUSY;
    }
    if (err != MQTT_OK) {
        return fail(m, "+CMQTTPUB", c->index, err);
    }
    /* The mid is written before libmosquitto sends (and may call on_publish at once). */
    op->mid_count = 1;
    op->acks_left = 1;
    int rc = mosquitto_publish(c->mosq, &op->mids[0], c->topic, (int)c->payload_len, c->payload, (int)qos,
                               retain == 1);
    if (rc == MOSQ_ERR_SUCCESS) {
        m->mqtt->bytes_out += strlen(c->topic) + c->payload_len;
    } else {
        op_done(c, op, request_error(rc));
    }
    /* The topic and payload buffers are cleared after PUB (reference §4). */
    c->topic[0] = '\0';
    c->payload_len = 0;
    settle(c, MOSQ_ERR_SUCCESS);
    return answer_later(m, op);
}

/* ------------------------------------------------------------- AT+CMQTTSUB / UNSUB */

/* Send the queued SUBSCRIBE topics, one packet per QoS level; returns a §4.3 code. */
static int send_subscribe(struct mqtt_client *c, struct mqtt_op *op)
{
    for (int qos = 0; qos <= 2; qos++) {
        char *topics[MQTT_TOPIC_QUEUE_MAX];
        int n = 0;
        for (size_t i = 0; i < c->sub_count; i++) {
            if (c->sub_queue[i].qos == qos) {
                topics[n++] = c->sub_queue[i].text;
            }
        }
        if (n == 0) {
            continue;
        }
        int rc = mosquitto_subscribe_multiple(c->mosq, &op->mids[op->mid_count], n, topics, qos, 0, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            return request_error(rc);
        }
        op->mid_count++;
        op->acks_left++;
    }
    return MQTT_OK;
}

static int send_unsubscribe(struct mqtt_client *c, struct mqtt_op *op)
{
    char *topics[MQTT_TOPIC_QUEUE_MAX];
    for (size_t i = 0; i < c->unsub_count; i++) {
        topics[i] = c->unsub_queue[i].text;
    }
    int rc = mosquitto_unsubscribe_multiple(c->mosq, &op->mids[0], (int)c->unsub_count, topics, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        return request_error(rc);
    }
    op->mid_count = 1;
    op->acks_left = 1;
    return MQTT_OK;
}

/* Subscribe or unsubscribe the queued topics; the result comes later. */
static enum sim_at_status send_queued(struct mqtt_client *c, bool subscribe)
{
    const char *name = subscribe ? "+CMQTTSUB" : "+CMQTTUNSUB";
    size_t *count = subscribe ? &c->sub_count : &c->unsub_count;
    int err = ready_to_send(c);
    if (err == MQTT_OK && *count == 0) {
        err = MQTT_TOPIC_EMPTY;
    }
    struct mqtt_op *op = err == MQTT_OK ? op_new(c, name, (int64_t)c->optimeout_s * 1000) : NULL;
    if (err == MQTT_OK && op == NULL) {
        err = MQTT_CLIENT_BUSY;
    }
    if (err != MQTT_OK) {
        *count = 0;
        return fail(c->m, name, c->index, err);
    }
    err = subscribe ? send_subscribe(c, op) : send_unsubscribe(c, op);
    *count = 0;
    if (err != MQTT_OK) {
        op_done(c, op, err);
    }
    settle(c, MOSQ_ERR_SUCCESS);
    return answer_later(c->m, op);
}

static enum sim_at_status sub_direct_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    c->sub_count = 0;
    enum sim_at_status st = queue_topic(c, "+CMQTTSUB", c->sub_queue, &c->sub_count, data, len);
    return st == SIM_AT_OK ? send_queued(c, true) : st;
}

static enum sim_at_status unsub_direct_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    (void)m;
    struct mqtt_client *c = ctx;
    c->unsub_count = 0;
    enum sim_at_status st = queue_topic(c, "+CMQTTUNSUB", c->unsub_queue, &c->unsub_count, data, len);
    return st == SIM_AT_OK ? send_queued(c, false) : st;
}

/*
 * SUB and UNSUB: the short form (=<idx>[,<dup>]) sends the queued topics, the
 * long form (=<idx>,<len>,... ) prompts for one topic and sends it.
 */
static enum sim_at_status sub_or_unsub(struct sim_modem *m, const struct sim_at_cmd *cmd, bool subscribe)
{
    const char *name = subscribe ? "+CMQTTSUB" : "+CMQTTUNSUB";
    const int long_min = 3; /* SUB =<idx>,<len>,<qos>[,<dup>]; UNSUB =<idx>,<len>,<dup> */
    long dup;
    if (cmd->argc >= long_min) {
        long len;
        enum sim_at_status st;
        struct mqtt_client *c = prompt_client(m, cmd, name, long_min, long_min + (subscribe ? 1 : 0),
                                              MQTT_TOPIC_MAX, &len, &st);
        if (c == NULL) {
            return st;
        }
        bool args_ok = subscribe ? prompt_qos_arg(c, cmd, 2) && sim_arg_int_opt(cmd, 3, 0, 1, 0, &dup)
                                 : sim_arg_int(cmd, 2, 0, 1, &dup);
        if (!subscribe) {
            c->prompt_qos = 0;
        }
        if (!args_ok) {
            return fail(m, name, c->index, MQTT_INVALID_PARAMETER);
        }
        return sim_prompt(m, (size_t)len, subscribe ? sub_direct_data : unsub_direct_data, c);
    }
    struct mqtt_client *c = mqtt_started(m) ? client_arg(m, cmd) : NULL;
    if (c == NULL) {
        return SIM_AT_ERROR;
    }
    if (!sim_arg_int_opt(cmd, 1, 0, 1, 0, &dup)) {
        return fail(m, name, c->index, MQTT_INVALID_PARAMETER);
    }
    return send_queued(c, subscribe);
}

static enum sim_at_status cmd_sub(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTSUB: (0-1),(1-%d),(0-2),(0-1)", MQTT_TOPIC_MAX);
        return SIM_AT_OK;
    }
    return sub_or_unsub(m, cmd, true);
}

static enum sim_at_status cmd_unsub(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CMQTTUNSUB: (0-1),(1-%d),(0-1)", MQTT_TOPIC_MAX);
        return SIM_AT_OK;
    }
    return sub_or_unsub(m, cmd, false);
}

/* ------------------------------------------------------------- poll loop */

static void mqtt_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    int64_t now = sim_now_ms(m);
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        struct mqtt_client *c = &m->mqtt->clients[i];
        c->poll_index = -1;
        bool live = false;
        for (size_t k = 0; k < MQTT_OPS_MAX && c->ops_maybe_live; k++) {
            const struct mqtt_op *op = &c->ops[k];
            if (op->name != NULL) {
                live = true;
                sim_pollset_deadline(m, ps, op->err >= 0 ? now : op->deadline_ms);
            }
        }
        c->ops_maybe_live = live;
        if (c->lost_cause != MQTT_LOST_NONE) {
            sim_pollset_deadline(m, ps, now);
        }
        int sock = c->mosq != NULL ? mosquitto_socket(c->mosq) : -1;
        if (sock < 0) {
            continue;
        }
        short events = POLLIN;
        if (mosquitto_want_write(c->mosq)) {
            events |= POLLOUT;
        }
        c->poll_index = sim_pollset_add(ps, sock, events);
        sim_pollset_deadline(m, ps, c->next_misc_ms);
    }
}

/* Bytes waiting in the kernel for sock (0 when none or unknown). */
static int socket_pending(int sock)
{
    int n = 0;
    return ioctl(sock, FIONREAD, &n) == 0 ? n : 0;
}

/* A socket error or a bare EOF during connect, which libmosquitto's TLS connect would spin on. */
static bool connect_failed_on_socket(struct mqtt_client *c, int sock, short revents)
{
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if ((revents & (POLLERR | POLLHUP)) && getsockopt(sock, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) {
        c->closed = true;
        c->close_rc = MOSQ_ERR_ERRNO;
        c->close_errno = soerr;
        return true;
    }
    char probe;
    if ((revents & POLLIN) && c->server_type == 1 && !c->tls_done &&
        recv(sock, &probe, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
        c->closed = true;
        c->close_rc = MOSQ_ERR_CONN_LOST;
        return true;
    }
    return false;
}

static void serve_socket(struct mqtt_client *c, const struct sim_pollset *ps)
{
    int sock = mosquitto_socket(c->mosq);
    if (c->poll_index < 0 || c->poll_index >= ps->count || ps->fds[c->poll_index].fd != sock) {
        return; /* the connection was made after prepare: next round */
    }
    short revents = ps->fds[c->poll_index].revents;
    if (c->conn == CONN_CONNECTING && connect_failed_on_socket(c, sock, revents)) {
        settle(c, MOSQ_ERR_SUCCESS);
        return;
    }
    if (revents & (POLLIN | POLLERR | POLLHUP)) {
        for (int i = 0; i < MQTT_READS_PER_ROUND && c->mosq != NULL; i++) {
            errno = 0; /* so that a stale errno never reads as this connection's reset */
            int rc = mosquitto_loop_read(c->mosq, 1);
            settle(c, rc);
            if (c->mosq == NULL || socket_pending(mosquitto_socket(c->mosq)) == 0) {
                break;
            }
        }
    }
    if (c->mosq != NULL && (revents & POLLOUT)) {
        errno = 0;
        settle(c, mosquitto_loop_write(c->mosq, 1));
    }
}

static void expire_ops(struct mqtt_client *c, int64_t now)
{
    for (size_t k = 0; k < MQTT_OPS_MAX && c->ops_maybe_live; k++) {
        struct mqtt_op *op = &c->ops[k];
        if (op->name == NULL || op->err >= 0 || now < op->deadline_ms) {
            continue;
        }
        op_done(c, op, MQTT_TIMEOUT);
        if (strcmp(op->name, "+CMQTTCONNECT") == 0 || strcmp(op->name, "+CMQTTDISC") == 0) {
            c->m->mqtt->ssl_ctx[c->index] = -1;
            connection_destroy(c);
        }
    }
}

static void mqtt_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    int64_t now = sim_now_ms(m);
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        struct mqtt_client *c = &m->mqtt->clients[i];
        if (c->mosq != NULL) {
            serve_socket(c, ps);
        }
        if (c->mosq != NULL && now >= c->next_misc_ms) {
            c->next_misc_ms = now + MQTT_MISC_PERIOD_MS;
            errno = 0;
            settle(c, mosquitto_loop_misc(c->mosq));
        }
        expire_ops(c, now);
    }
    deliver_results(m);
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        struct mqtt_client *c = &m->mqtt->clients[i];
        if (c->lost_cause != MQTT_LOST_NONE) {
            m->mqtt->connlost++;
            sim_urc(m, "+CMQTTCONNLOST: %d,%d", c->index, c->lost_cause);
            c->lost_cause = MQTT_LOST_NONE;
        }
    }
}

/* ------------------------------------------------------------- teardown, control, stats */

/* Network loss or reset: CONNLOST cause 3 per connection, +CMQTTNONET, the service stops. */
static void mqtt_teardown(struct sim_modem *m, enum sim_teardown why)
{
    struct sim_mqtt *q = m->mqtt;
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        struct mqtt_client *c = &q->clients[i];
        if (c->conn == CONN_CONNECTING) {
            op_done(c, op_find(c, "+CMQTTCONNECT", -1), MQTT_SOCK_CONNECT_FAIL);
        }
        ops_fail_messages(c, MQTT_RECEIVE_FAIL);
        op_done(c, op_find(c, "+CMQTTDISC", -1), MQTT_OK);
        bool was_connected = c->conn == CONN_CONNECTED || c->conn == CONN_DISCONNECTING;
        connection_destroy(c);
        c->lost_cause = MQTT_LOST_NONE;
        if (why == SIM_DOWN_NETWORK) {
            deliver_results(m);
        }
        if (was_connected) {
            q->connlost++;
            sim_urc(m, "+CMQTTCONNLOST: %d,%d", i, MQTT_LOST_NETWORK);
        }
    }
    if (q->started) {
        sim_urc(m, "+CMQTTNONET");
    }
    /* The service is gone: the host must AT+CMQTTSTART and acquire again. */
    q->started = false;
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        client_clear_settings(&q->clients[i]);
        q->ssl_ctx[i] = -1;
    }
}

/* `drop mqtt [IDX]`: the broker side closes the connection (shut the socket down under libmosquitto). */
static int mqtt_control(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool *ok)
{
    if (argc < 2 || strcmp(argv[0], "drop") != 0 || strcmp(argv[1], "mqtt") != 0) {
        return 0;
    }
    long idx = -1;
    if (argc > 3 || (argc == 3 && !sim_parse_long(argv[2], 0, MQTT_CLIENTS - 1, &idx))) {
        snprintf(reply, cap, "error: usage: drop mqtt [0|1]");
        *ok = false;
        return 1;
    }
    int dropped = 0;
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        struct mqtt_client *c = &m->mqtt->clients[i];
        if ((idx < 0 || idx == i) && c->mosq != NULL && c->conn == CONN_CONNECTED) {
            shutdown(mosquitto_socket(c->mosq), SHUT_RDWR);
            dropped++;
        }
    }
    *ok = dropped > 0;
    if (*ok) {
        snprintf(reply, cap, "ok drop mqtt %d", dropped);
    } else {
        snprintf(reply, cap, "error: no MQTT connection to drop");
    }
    return 1;
}

static void mqtt_stats(struct sim_modem *m, struct sim_buf *b)
{
    const struct sim_mqtt *q = m->mqtt;
    int connected = 0;
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        connected += q->clients[i].conn == CONN_CONNECTED;
    }
    sim_buf_printf(b,
                   ",\"mqtt_started\":%s,\"mqtt_connected\":%d,\"mqtt_publishes_out\":%llu,"
                   "\"mqtt_publishes_in\":%llu,\"mqtt_bytes_out\":%llu,\"mqtt_bytes_in\":%llu,\"mqtt_connlost\":%llu",
                   q->started ? "true" : "false", connected, (unsigned long long)q->pub_out,
                   (unsigned long long)q->pub_in, (unsigned long long)q->bytes_out, (unsigned long long)q->bytes_in,
                   (unsigned long long)q->connlost);
}

static int mqtt_init(struct sim_modem *m)
{
    mosquitto_lib_init(); /* process-wide; safe to call again */
    m->mqtt = calloc(1, sizeof(*m->mqtt));
    if (m->mqtt == NULL) {
        return -1;
    }
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        m->mqtt->clients[i].m = m;
        m->mqtt->clients[i].index = i;
        client_clear_settings(&m->mqtt->clients[i]);
        m->mqtt->ssl_ctx[i] = -1;
    }
    return 0;
}

static void mqtt_fini(struct sim_modem *m)
{
    if (m->mqtt == NULL) {
        return;
    }
    for (int i = 0; i < MQTT_CLIENTS; i++) {
        connection_destroy(&m->mqtt->clients[i]);
    }
    free(m->mqtt);
    m->mqtt = NULL;
}

#define SET_TEST (SIM_FORM_SET | SIM_FORM_TEST)
#define SET_READ_TEST (SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST)

static const struct sim_cmd mqtt_cmds[] = {
    { "+CMQTTSTART", SIM_FORM_EXEC, cmd_start, 200, "Start the MQTT service (+CMQTTSTART: 0; 23 when already started)" },
    { "+CMQTTSTOP", SIM_FORM_EXEC, cmd_stop, 100, "Stop the MQTT service (21 while a client is acquired)" },
    { "+CMQTTACCQ", SET_READ_TEST, cmd_accq, 20, "Acquire client 0-1: client id, server type 0 TCP / 1 SSL" },
    { "+CMQTTREL", SET_TEST, cmd_rel, 20, "Release a client (19 while connected)" },
    { "+CMQTTSSLCFG", SET_READ_TEST, cmd_sslcfg, 20, "SSL context 0-9 of an MQTT session" },
    { "+CMQTTCFG", SET_READ_TEST, cmd_cfg, 20, "Client options: checkUTF8, optimeout" },
    { "+CMQTTWILLTOPIC", SET_TEST, cmd_will_topic, 20, "Will topic (prompt, 1-1024 bytes)" },
    { "+CMQTTWILLMSG", SET_TEST, cmd_will_msg, 20, "Will message and QoS (prompt, 1-1024 bytes)" },
    { "+CMQTTCONNECT", SET_READ_TEST, cmd_connect, 50,
      "Connect to tcp://host:port (TLS per ACCQ), keepalive, clean session, user/password" },
    { "+CMQTTDISC", SET_READ_TEST, cmd_disc, 50, "Disconnect a client" },
    { "+CMQTTTOPIC", SET_TEST, cmd_topic, 20, "Publish topic (prompt, 1-1024 bytes)" },
    { "+CMQTTPAYLOAD", SET_TEST, cmd_payload, 20, "Publish payload (prompt, 1-10240 bytes)" },
    { "+CMQTTPUB", SET_TEST, cmd_pub, 50, "Publish with QoS 0-2, timeout, retain; +CMQTTPUB after PUBACK/PUBCOMP" },
    { "+CMQTTSUBTOPIC", SET_TEST, cmd_subtopic, 20, "Queue a subscription topic with QoS (prompt)" },
    { "+CMQTTSUB", SET_TEST, cmd_sub, 50, "Subscribe the queued topics, or one topic (prompt); result after SUBACK" },
    { "+CMQTTUNSUBTOPIC", SET_TEST, cmd_unsubtopic, 20, "Queue a topic to unsubscribe (prompt)" },
    { "+CMQTTUNSUB", SET_TEST, cmd_unsub, 50, "Unsubscribe the queued topics, or one topic (prompt)" },
};

const struct sim_group sim_group_mqtt = {
    .name = "mqtt",
    .cmds = mqtt_cmds,
    .cmd_count = sizeof(mqtt_cmds) / sizeof(mqtt_cmds[0]),
    .init = mqtt_init,
    .fini = mqtt_fini,
    .prepare = mqtt_prepare,
    .dispatch = mqtt_dispatch,
    .teardown = mqtt_teardown,
    .control = mqtt_control,
    .stats = mqtt_stats,
};
