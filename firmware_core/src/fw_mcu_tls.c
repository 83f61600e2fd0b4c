/*
 * fw_mcu_tls.c - MQTT session <-> port TLS hooks <-> the modem's raw TCP
 * socket. One TCP operation (open, send, receive) runs at a time; between
 * operations the pump moves plaintext from the session into TLS and back,
 * feeds received ciphertext to TLS and collects what TLS wants sent.
 */
#include "fw_mcu_tls.h"

#include <string.h>

enum { OP_NONE = 0, OP_OPEN, OP_SEND, OP_RECV, OP_CLOSE };

/* Failed or closing after a failure: nothing moves any more. */
static bool down(const struct fw_mcu_tls *t)
{
    return t->state == FW_MCU_TLS_CLOSING || t->state == FW_MCU_TLS_FAILED;
}

static void fail(struct fw_mcu_tls *t, enum fw_mcu_tls_failure why)
{
    const struct fw_port *p = t->cfg.port;
    if (down(t))
        return;
    p->tls_close(p->ctx);
    t->state = FW_MCU_TLS_CLOSING; /* the socket is closed next, then FAILED */
    t->failure = why;
    if (p->log != NULL)
        p->log(p->ctx, FW_LOG_WARN, "mcutls", "failed", fw_mcu_tls_failure_str(why),
               strlen(fw_mcu_tls_failure_str(why)));
}

static void on_message(void *ctx, const struct fw_mqtt_publish *msg)
{
    struct fw_mcu_tls *t = ctx;
    if (t->cfg.session.on_message != NULL)
        t->cfg.session.on_message(t->cfg.session.ctx, msg);
}

static void on_puback(void *ctx, uint16_t packet_id)
{
    struct fw_mcu_tls *t = ctx;
    if (t->cfg.session.on_puback != NULL)
        t->cfg.session.on_puback(t->cfg.session.ctx, packet_id);
}

static void on_suback(void *ctx, uint16_t packet_id, const uint8_t *codes, size_t n)
{
    struct fw_mcu_tls *t = ctx;
    size_t i;
    for (i = 0; i < n; i++)
        if (codes[i] == 0x80u)
            fail(t, FW_MCU_TLS_FAIL_SUBSCRIBE);
    if (t->state == FW_MCU_TLS_SUBSCRIBING)
        t->state = FW_MCU_TLS_ONLINE;
    if (t->cfg.session.on_suback != NULL)
        t->cfg.session.on_suback(t->cfg.session.ctx, packet_id, codes, n);
}

bool fw_mcu_tls_start(struct fw_mcu_tls *t, const struct fw_mcu_tls_config *cfg)
{
    const struct fw_port *p = cfg != NULL ? cfg->port : NULL;
    struct fw_mqtt_session_config scfg;
    if (t == NULL || p == NULL || cfg->modem == NULL || cfg->host == NULL ||
        cfg->server_name == NULL || cfg->link < 0 || cfg->link > 9 || p->tls_open == NULL ||
        p->tls_feed_ciphertext == NULL || p->tls_take_ciphertext == NULL ||
        p->tls_write_plain == NULL || p->tls_read_plain == NULL || p->tls_close == NULL ||
        (cfg->ca_pem != NULL && p->tls_set_ca == NULL))
        return false;
    if (cfg->ca_pem != NULL && p->tls_set_ca(p->ctx, cfg->ca_id, cfg->ca_pem, cfg->ca_len) != 0)
        return false;
    memset(t, 0, sizeof(*t));
    t->cfg = *cfg;
    scfg = cfg->session;
    scfg.on_message = on_message;
    scfg.on_puback = on_puback;
    scfg.on_suback = on_suback;
    scfg.ctx = t;
    if (fw_mqtt_session_init(&t->session, &scfg) != FW_MQTT_SESSION_OK)
        return false;
    fw_sim7600_tcp_init(&t->tcp, cfg->modem, cfg->tcp_timeout_ms);
    if (fw_sim7600_tcp_open(&t->tcp, cfg->link, cfg->host, cfg->tcp_port) != FW_SIM7600_TCP_BUSY)
        return false;
    t->op = OP_OPEN;
    t->state = FW_MCU_TLS_TCP_OPENING;
    return true;
}

/* The TCP operation in progress ended with st. */
static void tcp_done(struct fw_mcu_tls *t, enum fw_sim7600_tcp_status st)
{
    const struct fw_port *p = t->cfg.port;
    int op = t->op;
    t->op = OP_NONE;
    if (st != FW_SIM7600_TCP_OK) {
        fail(t, st == FW_SIM7600_TCP_CLOSED ? FW_MCU_TLS_FAIL_CLOSED : FW_MCU_TLS_FAIL_TCP);
        return;
    }
    if (op == OP_OPEN) {
        if (p->tls_open(p->ctx, t->cfg.server_name, t->cfg.ca_id, t->cfg.cert_id,
                        t->cfg.key_id) != 0 ||
            fw_mqtt_session_connect(&t->session, &t->cfg.connect) != FW_MQTT_SESSION_OK) {
            fail(t, FW_MCU_TLS_FAIL_TLS);
            return;
        }
        t->state = FW_MCU_TLS_HANDSHAKE;
        t->last_rx_ms = p->now_ms(p->ctx);
    } else if (op == OP_SEND) {
        t->bytes_sent += (uint32_t)t->cipher_out_len;
        t->cipher_out_len = 0;
    } else if (op == OP_RECV) {
        int32_t rest = 0;
        t->cipher_in_len = fw_sim7600_tcp_received(&t->tcp, &rest);
        t->cipher_in_off = 0;
        t->bytes_received += (uint32_t)t->cipher_in_len;
        t->data_waiting = rest > 0;
        t->last_rx_ms = p->now_ms(p->ctx);
    }
}

/* Received ciphertext into TLS, decrypted bytes into the session. */
static void pump_in(struct fw_mcu_tls *t)
{
    const struct fw_port *p = t->cfg.port;
    unsigned rounds;
    if (t->cipher_in_off < t->cipher_in_len) {
        int32_t n = p->tls_feed_ciphertext(p->ctx, t->cipher_in + t->cipher_in_off,
                                           t->cipher_in_len - t->cipher_in_off);
        if (n < 0) {
            fail(t, FW_MCU_TLS_FAIL_TLS);
            return;
        }
        t->cipher_in_off += (size_t)n;
    }
    for (rounds = 0; rounds < 16u && !down(t); rounds++) {
        int32_t n = p->tls_read_plain(p->ctx, t->plain_in, sizeof(t->plain_in));
        enum fw_mqtt_session_status st;
        if (n < 0) {
            fail(t, FW_MCU_TLS_FAIL_TLS);
            return;
        }
        if (n == 0)
            return;
        st = fw_mqtt_session_input(&t->session, t->plain_in, (size_t)n);
        if (st != FW_MQTT_SESSION_OK && st != FW_MQTT_SESSION_NO_SPACE)
            fail(t, FW_MCU_TLS_FAIL_MQTT);
    }
}

/* Session bytes into TLS, TLS records into the send buffer. */
static void pump_out(struct fw_mcu_tls *t)
{
    const struct fw_port *p = t->cfg.port;
    size_t len = 0;
    const uint8_t *out = fw_mqtt_session_pending(&t->session, &len);
    if (len > 0) {
        int32_t n = p->tls_write_plain(p->ctx, out, len);
        if (n < 0) {
            fail(t, FW_MCU_TLS_FAIL_TLS);
            return;
        }
        fw_mqtt_session_sent(&t->session, (size_t)n);
    }
    if (t->cipher_out_len == 0) {
        int32_t n = p->tls_take_ciphertext(p->ctx, t->cipher_out, sizeof(t->cipher_out));
        if (n < 0)
            fail(t, FW_MCU_TLS_FAIL_TLS);
        else
            t->cipher_out_len = (size_t)n;
    }
}

/* CONNACK seen: subscribe (or go online when there is nothing to). */
static void after_connack(struct fw_mcu_tls *t)
{
    if (t->cfg.n_subs == 0) {
        t->state = FW_MCU_TLS_ONLINE;
        return;
    }
    if (fw_mqtt_session_subscribe(&t->session, t->cfg.subs, t->cfg.n_subs, NULL) !=
        FW_MQTT_SESSION_OK) {
        fail(t, FW_MCU_TLS_FAIL_MQTT);
        return;
    }
    t->state = FW_MCU_TLS_SUBSCRIBING;
}

/* With no TCP operation running: start the next one that is needed. */
static void next_tcp_op(struct fw_mcu_tls *t)
{
    const struct fw_port *p = t->cfg.port;
    uint32_t every = t->cfg.rx_poll_ms != 0 ? t->cfg.rx_poll_ms : 1000u;
    if (t->cipher_out_len > 0) {
        if (fw_sim7600_tcp_send(&t->tcp, t->cipher_out, t->cipher_out_len) == FW_SIM7600_TCP_BUSY)
            t->op = OP_SEND;
        else
            fail(t, FW_MCU_TLS_FAIL_TCP);
        return;
    }
    if (t->cipher_in_off < t->cipher_in_len || t->state == FW_MCU_TLS_DISCONNECTING)
        return; /* TLS has not taken the last piece yet, or nothing more is wanted */
    if (t->data_waiting || (uint32_t)(p->now_ms(p->ctx) - t->last_rx_ms) >= every) {
        t->data_waiting = false;
        if (fw_sim7600_tcp_receive(&t->tcp, t->cipher_in, sizeof(t->cipher_in)) ==
            FW_SIM7600_TCP_BUSY)
            t->op = OP_RECV;
        else
            fail(t, FW_MCU_TLS_FAIL_TCP);
    }
}

/* Where closing ends: IDLE after a clean disconnect, else FAILED. */
static enum fw_mcu_tls_state closed_state(const struct fw_mcu_tls *t)
{
    return t->failure == FW_MCU_TLS_FAIL_NONE ? FW_MCU_TLS_IDLE : FW_MCU_TLS_FAILED;
}

/* After a failure or a disconnect: let the running operation end, then
 * AT+CIPCLOSE (a link already gone counts as closed), then FAILED or IDLE. */
static enum fw_mcu_tls_state close_step(struct fw_mcu_tls *t)
{
    if (t->op != OP_NONE) {
        enum fw_sim7600_tcp_status st = fw_sim7600_tcp_poll(&t->tcp);
        if (st == FW_SIM7600_TCP_BUSY)
            return t->state;
        if (t->op == OP_CLOSE)
            t->state = closed_state(t);
        t->op = OP_NONE;
        return t->state;
    }
    if (fw_sim7600_tcp_close(&t->tcp) == FW_SIM7600_TCP_BUSY)
        t->op = OP_CLOSE;
    else
        t->state = closed_state(t);
    return t->state;
}

/* End a disconnect: drop TLS, then close the socket (failure stays NONE,
 * so closing ends in IDLE). */
static void close_cleanly(struct fw_mcu_tls *t)
{
    t->cfg.port->tls_close(t->cfg.port->ctx);
    t->state = FW_MCU_TLS_CLOSING;
}

/* Disconnecting: once DISCONNECT and every TLS record are out, close. */
static void disconnect_step(struct fw_mcu_tls *t)
{
    size_t pending = 0;
    fw_mqtt_session_pending(&t->session, &pending);
    if (t->op == OP_NONE && pending == 0 && t->cipher_out_len == 0)
        close_cleanly(t);
}

/* The socket or the network went away: a failure, except while
 * disconnecting, where the broker closing after DISCONNECT is the end
 * wanted (the running operation then fails unheard, as after any close). */
static void closed_by_peer(struct fw_mcu_tls *t)
{
    if (t->state == FW_MCU_TLS_DISCONNECTING)
        close_cleanly(t);
    else
        fail(t, FW_MCU_TLS_FAIL_CLOSED);
}

enum fw_mcu_tls_state fw_mcu_tls_poll(struct fw_mcu_tls *t)
{
    uint32_t ev;
    if (t->state == FW_MCU_TLS_IDLE || t->state == FW_MCU_TLS_FAILED)
        return t->state;
    if (t->state == FW_MCU_TLS_CLOSING)
        return close_step(t);
    if (t->op != OP_NONE) {
        enum fw_sim7600_tcp_status st = fw_sim7600_tcp_poll(&t->tcp);
        if (st != FW_SIM7600_TCP_BUSY)
            tcp_done(t, st);
    } else {
        fw_at_poll(fw_sim7600_at(t->cfg.modem)); /* URCs between operations */
    }
    ev = fw_sim7600_take_events(t->cfg.modem);
    if (ev & FW_SIM7600_EV_TCP_DATA)
        t->data_waiting = true;
    if (t->state != FW_MCU_TLS_TCP_OPENING &&
        (ev & (FW_SIM7600_EV_TCP_CLOSED | FW_SIM7600_EV_NET_CLOSED | FW_SIM7600_EV_BOOT)))
        closed_by_peer(t);
    if (down(t) || t->state == FW_MCU_TLS_TCP_OPENING)
        return t->state;
    pump_in(t);
    if (t->state == FW_MCU_TLS_HANDSHAKE &&
        fw_mqtt_session_state(&t->session) == FW_MQTT_SESSION_CONNECTED)
        after_connack(t);
    if (!down(t)) {
        enum fw_mqtt_session_status st = fw_mqtt_session_poll(&t->session);
        if (st != FW_MQTT_SESSION_OK && st != FW_MQTT_SESSION_NO_SPACE)
            fail(t, FW_MCU_TLS_FAIL_MQTT);
    }
    if (!down(t))
        pump_out(t);
    if (!down(t) && t->op == OP_NONE)
        next_tcp_op(t);
    if (t->state == FW_MCU_TLS_DISCONNECTING)
        disconnect_step(t);
    return t->state;
}

bool fw_mcu_tls_disconnect(struct fw_mcu_tls *t)
{
    if (t == NULL || t->state != FW_MCU_TLS_ONLINE ||
        fw_mqtt_session_disconnect(&t->session) != FW_MQTT_SESSION_OK)
        return false;
    t->state = FW_MCU_TLS_DISCONNECTING;
    return true;
}

bool fw_mcu_tls_at_free(const struct fw_mcu_tls *t)
{
    return t != NULL && t->op == OP_NONE;
}

/* The session's own timers: keep-alive, PINGRESP, SUBACK and PUBACK deadlines. */
static void session_deadlines(const struct fw_mqtt_session *s, bool *has, uint32_t *deadline_ms)
{
    size_t i;
    if (s->state != FW_MQTT_SESSION_CONNECTED)
        return;
    if (s->keepalive_ms != 0 && !s->ping_outstanding)
        fw_deadline_keep_earliest(has, deadline_ms, s->last_tx_ms + s->keepalive_ms);
    if (s->ping_outstanding)
        fw_deadline_keep_earliest(has, deadline_ms, s->ping_ms + s->cfg.ack_timeout_ms);
    if (s->sub_id != 0)
        fw_deadline_keep_earliest(has, deadline_ms, s->sub_ms + s->cfg.ack_timeout_ms);
    for (i = 0; i < s->cfg.inflight_cap; i++)
        if (s->cfg.inflight[i].packet_id != 0)
            fw_deadline_keep_earliest(has, deadline_ms,
                                      s->cfg.inflight[i].sent_ms + s->cfg.ack_timeout_ms);
}

bool fw_mcu_tls_next_deadline_ms(const struct fw_mcu_tls *t, uint32_t *deadline_ms)
{
    const struct fw_port *p;
    uint32_t every;
    size_t pending = 0;
    bool has;
    if (t == NULL || deadline_ms == NULL || t->state == FW_MCU_TLS_IDLE ||
        t->state == FW_MCU_TLS_FAILED)
        return false;
    p = t->cfg.port;
    has = fw_at_next_deadline_ms(fw_sim7600_at(t->cfg.modem), deadline_ms);
    if (t->op != OP_NONE || t->state == FW_MCU_TLS_TCP_OPENING)
        return has;
    fw_mqtt_session_pending(&t->session, &pending);
    if (down(t) || pending > 0 || t->cipher_out_len > 0 || t->cipher_in_off < t->cipher_in_len ||
        t->data_waiting || t->state == FW_MCU_TLS_DISCONNECTING) {
        fw_deadline_keep_earliest(&has, deadline_ms, p->now_ms(p->ctx)); /* work waiting */
        return has;
    }
    every = t->cfg.rx_poll_ms != 0 ? t->cfg.rx_poll_ms : 1000u;
    fw_deadline_keep_earliest(&has, deadline_ms, t->last_rx_ms + every);
    session_deadlines(&t->session, &has, deadline_ms);
    return has;
}

struct fw_mqtt_session *fw_mcu_tls_session(struct fw_mcu_tls *t)
{
    return &t->session;
}

enum fw_mcu_tls_failure fw_mcu_tls_failure(const struct fw_mcu_tls *t)
{
    return t->failure;
}

void fw_mcu_tls_stop(struct fw_mcu_tls *t)
{
    if (t->state != FW_MCU_TLS_IDLE && t->cfg.port != NULL)
        t->cfg.port->tls_close(t->cfg.port->ctx);
    t->state = FW_MCU_TLS_IDLE;
}

const char *fw_mcu_tls_state_str(enum fw_mcu_tls_state state)
{
    switch (state) {
    case FW_MCU_TLS_IDLE: return "idle";
    case FW_MCU_TLS_TCP_OPENING: return "tcp-opening";
    case FW_MCU_TLS_HANDSHAKE: return "handshake";
    case FW_MCU_TLS_SUBSCRIBING: return "subscribing";
    case FW_MCU_TLS_ONLINE: return "online";
    case FW_MCU_TLS_CLOSING: return "closing";
    case FW_MCU_TLS_FAILED: return "failed";
    case FW_MCU_TLS_DISCONNECTING: return "disconnecting";
    }
    return "?";
}

const char *fw_mcu_tls_failure_str(enum fw_mcu_tls_failure failure)
{
    switch (failure) {
    case FW_MCU_TLS_FAIL_NONE: return "none";
    case FW_MCU_TLS_FAIL_TCP: return "tcp";
    case FW_MCU_TLS_FAIL_CLOSED: return "closed";
    case FW_MCU_TLS_FAIL_TLS: return "tls";
    case FW_MCU_TLS_FAIL_MQTT: return "mqtt";
    case FW_MCU_TLS_FAIL_SUBSCRIBE: return "subscribe";
    }
    return "?";
}
