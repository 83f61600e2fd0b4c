/*
 * §3.3: CCH sessions 0-1 — raw TCP or TLS sockets behind AT+CCHSTART /
 * AT+CCHOPEN / AT+CCHSEND / AT+CCHRECV / AT+CCHCLOSE / AT+CCHSTOP, with real
 * OpenSSL handshakes built from the SSL contexts of AT+CSSLCFG.
 *
 * Received data is pushed as `+CCHRECV: DATA,<s>,<len>` frames (recv_mode 0)
 * or cached (at most CCH_CACHE_MAX bytes, the socket is not read beyond
 * that) and announced with `+CCHEVENT: <s>,RECV EVENT` (recv_mode 1).
 * Transparent mode (AT+CCHMODE=1) is not implemented: it answers ERROR.
 */
#include "ssl_store.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CCH_SESSIONS 2
/* Largest AT+CCHSEND and AT+CCHRECV block (reference §3.3). */
#define CCH_BLOCK_MAX 2048
/* Receive cache per session in recv_mode 1 (reference §3.3: cache <= 5496). */
#define CCH_CACHE_MAX 5496
/* Longest host name of AT+CCHOPEN. */
#define CCH_HOST_MAX 256
/* TCP connect limit of AT+CCHOPEN (the handshake uses the context's negotiatetime). */
#define CCH_CONNECT_MS 120000

/* CCH <err> codes (reference §3.3). */
enum cch_err {
    CCH_OK = 0,
    CCH_ERR_TIMEOUT = 5,
    CCH_ERR_NETWORK = 9,
    CCH_ERR_STATE = 11,
    CCH_ERR_SOCKET = 12,
    CCH_ERR_DNS = 13,
    CCH_ERR_CONNECT = 14,
    CCH_ERR_HANDSHAKE = 15,
    CCH_ERR_NO_NET = 17,
    CCH_ERR_NO_CERT = 19,
};

enum cch_state {
    CCH_IDLE,
    CCH_OPENING,
    CCH_OPEN,
};

struct cch_session {
    int id;
    enum cch_state state;
    int ssl_ctx;              /* AT+CCHSSLCFG; -1: the session id (the default) */
    char host[CCH_HOST_MAX + 1];
    int port;
    int client_type;          /* 1 TCP, 2 TLS */
    struct sim_stream stream;
    struct sim_buf cache;     /* received and not yet read (recv_mode 1) */
    bool event_sent;          /* +CCHEVENT given since the cache was last empty */
    bool closed_by_peer;      /* the last connection ended from the far side */
    unsigned send_reports;    /* +CCHSEND reports owed once the data is out */
};

struct sim_cch {
    bool started;
    int report_send;          /* AT+CCHSET <report_send_result> */
    int recv_mode;            /* AT+CCHSET <recv_mode> */
    struct cch_session sessions[CCH_SESSIONS];
    uint64_t opens, open_failures, bytes_sent, bytes_received;
};

/* ------------------------------------------------------------- helpers */

static void session_close(struct cch_session *s)
{
    sim_stream_close(&s->stream);
    s->state = CCH_IDLE;
    s->ssl_ctx = -1; /* cleared after a close or a failed open (reference §3.3) */
    s->send_reports = 0;
}

static void session_forget_data(struct cch_session *s)
{
    sim_buf_clear(&s->cache);
    s->event_sent = false;
}

static int session_ctx(const struct cch_session *s)
{
    return s->ssl_ctx >= 0 ? s->ssl_ctx : s->id;
}

static int open_error_code(enum sim_stream_error error)
{
    switch (error) {
    case SIM_STREAM_DNS: return CCH_ERR_DNS;
    case SIM_STREAM_SOCKET: return CCH_ERR_SOCKET;
    case SIM_STREAM_CONNECT: return CCH_ERR_CONNECT;
    case SIM_STREAM_TIMEOUT: return CCH_ERR_TIMEOUT;
    case SIM_STREAM_NO_CERT: return CCH_ERR_NO_CERT;
    case SIM_STREAM_TLS_SETUP:
    case SIM_STREAM_HANDSHAKE: return CCH_ERR_HANDSHAKE;
    default: return CCH_ERR_NETWORK;
    }
}

static struct cch_session *session_arg(struct sim_modem *m, const struct sim_at_cmd *cmd, int i)
{
    long id = 0;
    if (!sim_arg_int(cmd, i, 0, CCH_SESSIONS - 1, &id)) {
        return NULL;
    }
    return &m->cch->sessions[id];
}

/* A failed open: report it and free the session. */
static void open_failed(struct sim_modem *m, struct cch_session *s, int code)
{
    m->cch->open_failures++;
    sim_urc(m, "+CCHOPEN: %d,%d", s->id, code);
    session_close(s);
}

/* ------------------------------------------------------------- data path */

static void push_frame(struct sim_modem *m, struct cch_session *s, const uint8_t *data, size_t len)
{
    sim_urc_begin(m);
    sim_urc_line(m, "+CCHRECV: DATA,%d,%zu", s->id, len);
    sim_urc_raw(m, data, len);
    sim_urc_end(m);
}

static bool wants_data(const struct sim_modem *m, const struct cch_session *s)
{
    return m->cch->recv_mode == 0 || sim_buf_used(&s->cache) < CCH_CACHE_MAX;
}

/* The connection ended while open: tell the host once. */
static void session_lost(struct sim_modem *m, struct cch_session *s)
{
    s->closed_by_peer = true;
    session_close(s);
    sim_urc(m, "+CCH_PEER_CLOSED: %d", s->id);
}

/* Take what the socket has, as far as the receive mode lets us. */
static void session_receive(struct sim_modem *m, struct cch_session *s)
{
    uint8_t buf[CCH_BLOCK_MAX];
    while (s->state == CCH_OPEN && wants_data(m, s)) {
        size_t room = m->cch->recv_mode == 0 ? sizeof(buf) : CCH_CACHE_MAX - sim_buf_used(&s->cache);
        ssize_t n = sim_stream_read(&s->stream, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n == 0) {
            return;
        }
        if (n < 0) {
            session_lost(m, s);
            return;
        }
        m->cch->bytes_received += (uint64_t)n;
        if (m->cch->recv_mode == 0) {
            push_frame(m, s, buf, (size_t)n);
            continue;
        }
        sim_buf_put(&s->cache, buf, (size_t)n);
        if (!s->event_sent) {
            s->event_sent = true;
            sim_urc(m, "+CCHEVENT: %d,RECV EVENT", s->id);
        }
    }
}

static void session_send_reports(struct sim_modem *m, struct cch_session *s)
{
    if (s->state != CCH_OPEN || sim_stream_unsent(&s->stream) > 0) {
        return;
    }
    for (; s->send_reports > 0; s->send_reports--) {
        sim_urc(m, "+CCHSEND: %d,0", s->id);
    }
}

/* Advance one session: connect/handshake results, data, send reports. */
static void session_service(struct sim_modem *m, struct cch_session *s)
{
    if (s->state == CCH_IDLE) {
        return;
    }
    sim_stream_step(&s->stream, m);
    if (s->state == CCH_OPENING) {
        if (s->stream.state == SIM_STREAM_OPEN) {
            s->state = CCH_OPEN;
            sim_urc(m, "+CCHOPEN: %d,0", s->id);
        } else if (s->stream.state == SIM_STREAM_CLOSED) {
            open_failed(m, s, open_error_code(s->stream.error));
            return;
        }
    }
    if (s->state == CCH_OPEN && s->stream.state == SIM_STREAM_CLOSED) {
        session_lost(m, s);
        return;
    }
    session_receive(m, s);
    session_send_reports(m, s);
}

/* ------------------------------------------------------------- commands */

static enum sim_at_status cmd_cchset(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHSET: (0,1),(0,1)");
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CCHSET: %d,%d", m->cch->report_send, m->cch->recv_mode);
        return SIM_AT_OK;
    }
    long report = 0;
    long mode = 0;
    if (cmd->argc < 1 || cmd->argc > 2 || !sim_arg_int(cmd, 0, 0, 1, &report) ||
        !sim_arg_int_opt(cmd, 1, 0, 1, m->cch->recv_mode, &mode)) {
        return SIM_AT_ERROR;
    }
    if (m->cch->started) {
        return SIM_AT_ERROR; /* must come before AT+CCHSTART */
    }
    m->cch->report_send = (int)report;
    m->cch->recv_mode = (int)mode;
    return SIM_AT_OK;
}

/* Only normal mode exists here: transparent mode (1) is not implemented and answers ERROR. */
static enum sim_at_status cmd_cchmode(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHMODE: (0-1)");
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CCHMODE: 0");
        return SIM_AT_OK;
    }
    long mode = 0;
    if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 1, &mode) || mode != 0 || m->cch->started) {
        return SIM_AT_ERROR;
    }
    return SIM_AT_OK;
}

static enum sim_at_status cmd_cchstart(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (m->cch->started) {
        return SIM_AT_ERROR; /* already started (the real module's exact answer is unconfirmed) */
    }
    if (!sim_network_ready(m)) {
        return sim_two_phase(m, "+CCHSTART: %d", CCH_ERR_NO_NET);
    }
    m->cch->started = true;
    return sim_two_phase(m, "+CCHSTART: 0");
}

static enum sim_at_status cmd_cchstop(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (!m->cch->started) {
        return SIM_AT_ERROR;
    }
    for (int i = 0; i < CCH_SESSIONS; i++) {
        session_close(&m->cch->sessions[i]);
        session_forget_data(&m->cch->sessions[i]);
    }
    m->cch->started = false;
    return sim_two_phase(m, "+CCHSTOP: 0");
}

static enum sim_at_status cmd_cchsslcfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHSSLCFG: (0-1),(0-9)");
        return SIM_AT_OK;
    }
    struct cch_session *s = cmd->argc == 2 ? session_arg(m, cmd, 0) : NULL;
    long ctx = 0;
    if (s == NULL || !sim_arg_int(cmd, 1, 0, SIM_SSL_CONTEXTS - 1, &ctx)) {
        return SIM_AT_ERROR;
    }
    if (!m->cch->started || s->state != CCH_IDLE) {
        return SIM_AT_ERROR; /* after AT+CCHSTART, before AT+CCHOPEN */
    }
    s->ssl_ctx = (int)ctx;
    return SIM_AT_OK;
}

/* AT+CCHCFG="sslctx",<s>,<ctx> or "sendtimeout",<s>,<60-150> (the latter is accepted, not applied). */
static enum sim_at_status cmd_cchcfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHCFG: \"sendtimeout\",(0-1),(60-150)");
        sim_info(m, "+CCHCFG: \"sslctx\",(0-1),(0-9)");
        return SIM_AT_OK;
    }
    const char *key = NULL;
    struct cch_session *s = cmd->argc == 3 ? session_arg(m, cmd, 1) : NULL;
    long value = 0;
    if (s == NULL || !sim_arg_str(cmd, 0, 1, 16, true, &key)) {
        return SIM_AT_ERROR;
    }
    if (strcasecmp(key, "sendtimeout") == 0) {
        return sim_arg_int(cmd, 2, 60, 150, &value) ? SIM_AT_OK : SIM_AT_ERROR;
    }
    if (strcasecmp(key, "sslctx") == 0 && sim_arg_int(cmd, 2, 0, SIM_SSL_CONTEXTS - 1, &value) &&
        s->state == CCH_IDLE) {
        s->ssl_ctx = (int)value;
        return SIM_AT_OK;
    }
    return SIM_AT_ERROR;
}

static void cchopen_read(struct sim_modem *m)
{
    for (int i = 0; i < CCH_SESSIONS; i++) {
        const struct cch_session *s = &m->cch->sessions[i];
        if (s->state == CCH_IDLE) {
            sim_info(m, "+CCHOPEN: %d,\"\",,,", i);
        } else {
            sim_info(m, "+CCHOPEN: %d,\"%s\",%d,%d,", i, s->host, s->port, s->client_type);
        }
    }
}

static enum sim_at_status cmd_cchopen(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHOPEN: (0-1),\"ADDRESS\",(1-65535)[,(1-2)[,(1-65535)]]");
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        cchopen_read(m);
        return SIM_AT_OK;
    }
    struct cch_session *s = cmd->argc >= 3 && cmd->argc <= 5 ? session_arg(m, cmd, 0) : NULL;
    const char *host = NULL;
    long port = 0;
    long type = 2;
    long bind_port = 0;
    if (s == NULL || !sim_arg_str(cmd, 1, 1, CCH_HOST_MAX, true, &host) || !sim_arg_int(cmd, 2, 1, 65535, &port) ||
        !sim_arg_int_opt(cmd, 3, 1, 2, 2, &type) || !sim_arg_int_opt(cmd, 4, 1, 65535, 0, &bind_port)) {
        return SIM_AT_ERROR;
    }
    if (!m->cch->started || s->state != CCH_IDLE) {
        return SIM_AT_ERROR;
    }
    snprintf(s->host, sizeof(s->host), "%s", host);
    s->port = (int)port;
    s->client_type = (int)type;
    s->closed_by_peer = false;
    session_forget_data(s);
    m->cch->opens++;
    s->state = CCH_OPENING;
    if (!sim_network_ready(m)) {
        open_failed(m, s, CCH_ERR_NO_NET);
        return SIM_AT_OK;
    }
    sim_stream_open(&s->stream, m, host, (int)port, type == 2 ? session_ctx(s) : -1, CCH_CONNECT_MS);
    session_service(m, s); /* immediate failures (DNS, missing certificates) */
    return SIM_AT_OK;
}

static enum sim_at_status cchsend_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    struct cch_session *s = ctx;
    if (s->state != CCH_OPEN || !sim_stream_write(&s->stream, data, len)) {
        return SIM_AT_ERROR;
    }
    m->cch->bytes_sent += len;
    if (m->cch->report_send) {
        s->send_reports++;
        session_send_reports(m, s);
    }
    return SIM_AT_OK;
}

static enum sim_at_status cmd_cchsend(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHSEND: (0-1),(1-%d)", CCH_BLOCK_MAX);
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CCHSEND: 0,%zu,1,%zu", sim_stream_unsent(&m->cch->sessions[0].stream),
                 sim_stream_unsent(&m->cch->sessions[1].stream));
        return SIM_AT_OK;
    }
    struct cch_session *s = cmd->argc == 2 ? session_arg(m, cmd, 0) : NULL;
    long len = 0;
    if (s == NULL || !sim_arg_int(cmd, 1, 1, CCH_BLOCK_MAX, &len) || s->state != CCH_OPEN) {
        return SIM_AT_ERROR;
    }
    return sim_prompt(m, (size_t)len, cchsend_data, s);
}

/* Frames of cached data after the OK, then `+CCHRECV: <s>,0`. */
static void cchrecv_frames(struct sim_modem *m, struct cch_session *s, size_t max)
{
    size_t want = sim_buf_used(&s->cache);
    if (max > 0 && max < want) {
        want = max;
    }
    while (want > 0) {
        size_t n = want < CCH_BLOCK_MAX ? want : CCH_BLOCK_MAX;
        sim_after_final_line(m, "+CCHRECV: DATA,%d,%zu", s->id, n);
        sim_after_final_raw(m, s->cache.data + s->cache.head, n);
        s->cache.head += n;
        want -= n;
    }
    if (sim_buf_used(&s->cache) == 0) {
        sim_buf_clear(&s->cache);
        s->event_sent = false;
    }
    sim_after_final_line(m, "+CCHRECV: %d,0", s->id);
}

static enum sim_at_status cmd_cchrecv(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHRECV: (0-1),(0-%d)", CCH_BLOCK_MAX);
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CCHRECV: LEN,%zu,%zu", sim_buf_used(&m->cch->sessions[0].cache),
                 sim_buf_used(&m->cch->sessions[1].cache));
        return SIM_AT_OK;
    }
    struct cch_session *s = cmd->argc >= 1 && cmd->argc <= 2 ? session_arg(m, cmd, 0) : NULL;
    long max = 0;
    if (s == NULL || !sim_arg_int_opt(cmd, 1, 0, CCH_BLOCK_MAX, 0, &max)) {
        return SIM_AT_ERROR;
    }
    if (s->state != CCH_OPEN && sim_buf_used(&s->cache) == 0) {
        sim_info(m, "+CCHRECV: %d,%d", s->id, s->closed_by_peer ? 4 : CCH_ERR_STATE);
        return SIM_AT_ERROR;
    }
    cchrecv_frames(m, s, (size_t)max);
    session_receive(m, s); /* the cache has room again */
    return SIM_AT_OK;
}

static enum sim_at_status cmd_cchclose(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCHCLOSE: (0-1)");
        return SIM_AT_OK;
    }
    struct cch_session *s = cmd->argc == 1 ? session_arg(m, cmd, 0) : NULL;
    if (s == NULL || !m->cch->started || s->state == CCH_IDLE) {
        return SIM_AT_ERROR;
    }
    session_close(s);
    session_forget_data(s);
    return sim_two_phase(m, "+CCHCLOSE: %d,0", s->id);
}

/* ------------------------------------------------------------- group */

static int cch_init(struct sim_modem *m)
{
    m->cch = calloc(1, sizeof(*m->cch));
    if (m->cch == NULL) {
        return -1;
    }
    for (int i = 0; i < CCH_SESSIONS; i++) {
        m->cch->sessions[i].id = i;
        m->cch->sessions[i].ssl_ctx = -1;
        sim_stream_init(&m->cch->sessions[i].stream);
    }
    return 0;
}

static void cch_fini(struct sim_modem *m)
{
    if (m->cch == NULL) {
        return;
    }
    for (int i = 0; i < CCH_SESSIONS; i++) {
        sim_stream_close(&m->cch->sessions[i].stream);
        sim_buf_free(&m->cch->sessions[i].cache);
    }
    free(m->cch);
    m->cch = NULL;
}

static void cch_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    for (int i = 0; i < CCH_SESSIONS; i++) {
        struct cch_session *s = &m->cch->sessions[i];
        bool want_read = wants_data(m, s);
        short events = sim_stream_events(&s->stream, want_read);
        if (events != 0) {
            sim_pollset_add(ps, s->stream.fd, events);
        }
        int64_t deadline = sim_stream_deadline(&s->stream, want_read);
        if (deadline != 0) {
            sim_pollset_deadline(m, ps, deadline);
        }
    }
}

static void cch_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    for (int i = 0; i < CCH_SESSIONS; i++) {
        session_service(m, &m->cch->sessions[i]);
    }
}

/*
 * Network loss stops the CCH service (`+CCH: CCHSTOP`, reference §3.3) and
 * ends every session; a reset forgets everything without a word.
 */
static void cch_teardown(struct sim_modem *m, enum sim_teardown why)
{
    bool was_started = m->cch->started;
    for (int i = 0; i < CCH_SESSIONS; i++) {
        session_close(&m->cch->sessions[i]);
        session_forget_data(&m->cch->sessions[i]);
    }
    m->cch->started = false;
    if (why == SIM_DOWN_RESET) {
        m->cch->report_send = 0;
        m->cch->recv_mode = 0;
        return;
    }
    if (was_started) {
        sim_urc(m, "+CCH: CCHSTOP");
    }
}

/* Control verb `drop cch [SESSION]`: the peer closes the session(s). */
static int cch_control(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool *ok)
{
    if (argc < 2 || strcmp(argv[0], "drop") != 0 || strcmp(argv[1], "cch") != 0) {
        return 0;
    }
    int only = -1;
    if (argc == 3) {
        long v;
        if (!sim_parse_long(argv[2], 0, CCH_SESSIONS - 1, &v)) {
            snprintf(reply, cap, "error: session must be 0-%d", CCH_SESSIONS - 1);
            *ok = false;
            return 1;
        }
        only = (int)v;
    }
    int dropped = 0;
    for (int i = 0; i < CCH_SESSIONS; i++) {
        struct cch_session *s = &m->cch->sessions[i];
        if ((only < 0 || only == i) && s->state == CCH_OPEN) {
            session_lost(m, s);
            dropped++;
        }
    }
    *ok = dropped > 0;
    snprintf(reply, cap, dropped > 0 ? "ok dropped %d" : "error: no open CCH session", dropped);
    return 1;
}

static void cch_stats(struct sim_modem *m, struct sim_buf *b)
{
    int open = 0;
    for (int i = 0; i < CCH_SESSIONS; i++) {
        open += m->cch->sessions[i].state == CCH_OPEN;
    }
    sim_buf_printf(b, ",\"cch_open\":%d,\"cch_opens\":%llu,\"cch_open_failures\":%llu,\"cch_tx_bytes\":%llu,"
                      "\"cch_rx_bytes\":%llu",
                   open, (unsigned long long)m->cch->opens, (unsigned long long)m->cch->open_failures,
                   (unsigned long long)m->cch->bytes_sent, (unsigned long long)m->cch->bytes_received);
}

static const struct sim_cmd cch_cmds[] = {
    { "+CCHSET", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cchset, 5, "CCH send reports and receive mode (before AT+CCHSTART)" },
    { "+CCHMODE", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cchmode, 5, "CCH data mode (normal only; transparent answers ERROR)" },
    { "+CCHSTART", SIM_FORM_EXEC, cmd_cchstart, 200, "start the CCH service" },
    { "+CCHSTOP", SIM_FORM_EXEC, cmd_cchstop, 200, "stop the CCH service and close its sessions" },
    { "+CCHSSLCFG", SIM_FORM_SET | SIM_FORM_TEST, cmd_cchsslcfg, 5, "bind a CCH session to an SSL context" },
    { "+CCHCFG", SIM_FORM_SET | SIM_FORM_TEST, cmd_cchcfg, 5, "CCH session options (sslctx, sendtimeout)" },
    { "+CCHOPEN", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cchopen, 50, "open a TCP or TLS session (+CCHOPEN URC)" },
    { "+CCHSEND", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cchsend, 20, "send data on a CCH session (> prompt)" },
    { "+CCHRECV", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cchrecv, 20, "read cached CCH data (manual receive mode)" },
    { "+CCHCLOSE", SIM_FORM_SET | SIM_FORM_TEST, cmd_cchclose, 50, "close a CCH session" },
};

const struct sim_group sim_group_cch = {
    .name = "cch",
    .cmds = cch_cmds,
    .cmd_count = sizeof(cch_cmds) / sizeof(cch_cmds[0]),
    .init = cch_init,
    .fini = cch_fini,
    .prepare = cch_prepare,
    .dispatch = cch_dispatch,
    .teardown = cch_teardown,
    .control = cch_control,
    .stats = cch_stats,
};
