/*
 * fw_at.c - AT client engine (see fw_at.h for what it understands).
 *
 * Receive side: a byte-at-a-time state machine with three states. LINE
 * collects bytes up to CR or LF into the caller's line buffer; SKIP drops
 * the rest of an overlong line; RAW hands a counted number of bytes to a
 * sink. Because every decision is taken per byte, the result never depends
 * on how the UART chunked the input.
 * Command side: SEND_CMD -> [PROMPT -> SEND_DATA] -> FINAL -> DONE.
 */
#include <string.h>

#include "fw_at.h"

static bool fw_at__time_reached(uint32_t now, uint32_t deadline)
{
    return (int32_t)(now - deadline) >= 0;
}

static uint32_t fw_at__now(const struct fw_at *at)
{
    return at->cfg.port->now_ms(at->cfg.port->ctx);
}

static void fw_at__log(const struct fw_at *at, enum fw_log_level level, const char *event,
                       const char *detail, size_t len)
{
    const struct fw_port *port = at->cfg.port;
    if (port->log != NULL)
        port->log(port->ctx, level, "at", event, detail, len);
}

static bool fw_at__pending(const struct fw_at *at)
{
    return at->phase != FW_AT_PH_IDLE && at->phase != FW_AT_PH_DONE;
}

/* True while a final result code may legitimately arrive. */
static bool fw_at__answer_due(const struct fw_at *at)
{
    return at->phase == FW_AT_PH_PROMPT || at->phase == FW_AT_PH_SEND_DATA ||
           at->phase == FW_AT_PH_FINAL;
}

static void fw_at__finish(struct fw_at *at, enum fw_at_status status)
{
    at->phase = FW_AT_PH_DONE;
    at->result.status = status;
    if (status == FW_AT_TIMEOUT)
        at->stats.timeouts++;
    if (status != FW_AT_OK)
        fw_at__log(at, FW_LOG_DEBUG, fw_at_status_str(status), at->cfg.tx_buf,
                   at->tx_len > 0 ? at->tx_len - 1 : 0);
}

static bool fw_at__starts_with(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return n <= len && memcmp(line, prefix, n) == 0;
}

/* ---- argument helpers ------------------------------------------------- */

/* Bounds [*start, *end) of argument n, spaces trimmed. */
static bool fw_at__arg_span(const char *line, size_t len, unsigned n, size_t *start, size_t *end)
{
    const char *colon = memchr(line, ':', len);
    size_t pos = colon != NULL ? (size_t)(colon - line) + 1 : 0;
    unsigned index = 0;
    bool quoted = false;
    size_t arg_start = pos;

    for (;; pos++) {
        bool at_end = pos >= len;
        if (!at_end && line[pos] == '"')
            quoted = !quoted;
        if (at_end || (line[pos] == ',' && !quoted)) {
            if (index == n) {
                size_t s = arg_start, e = pos;
                while (s < e && line[s] == ' ')
                    s++;
                while (e > s && line[e - 1] == ' ')
                    e--;
                *start = s;
                *end = e;
                return true;
            }
            if (at_end)
                return false;
            index++;
            arg_start = pos + 1;
        }
    }
}

static bool fw_at__parse_int(const char *text, size_t len, int32_t *out)
{
    size_t i = 0;
    bool negative = false;
    int64_t value = 0;

    if (len > 0 && (text[0] == '-' || text[0] == '+')) {
        negative = text[0] == '-';
        i = 1;
    }
    if (i >= len)
        return false;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        value = value * 10 + (text[i] - '0');
        if (value > 2147483648LL)
            return false;
    }
    if (negative)
        value = -value;
    if (value > 2147483647LL)
        return false;
    *out = (int32_t)value;
    return true;
}

bool fw_at_arg_int(const char *line, size_t len, unsigned n, int32_t *out)
{
    size_t s, e;
    if (line == NULL || out == NULL || !fw_at__arg_span(line, len, n, &s, &e))
        return false;
    return fw_at__parse_int(line + s, e - s, out);
}

bool fw_at_arg_str(const char *line, size_t len, unsigned n, char *buf, size_t cap,
                   size_t *out_len)
{
    size_t s, e;
    if (line == NULL || buf == NULL || cap == 0 || !fw_at__arg_span(line, len, n, &s, &e))
        return false;
    if (e - s >= 2 && line[s] == '"' && line[e - 1] == '"') {
        s++;
        e--;
    }
    if (e - s >= cap)
        return false;
    memcpy(buf, line + s, e - s);
    buf[e - s] = '\0';
    if (out_len != NULL)
        *out_len = e - s;
    return true;
}

unsigned fw_at_arg_count(const char *line, size_t len)
{
    unsigned n = 0;
    size_t s, e;
    if (line == NULL)
        return 0;
    while (fw_at__arg_span(line, len, n, &s, &e))
        n++;
    return n;
}

/* Integer value of the last argument of line, or -1. */
static int32_t fw_at__last_int(const char *line, size_t len)
{
    unsigned n = fw_at_arg_count(line, len);
    int32_t value = -1;
    if (n == 0 || !fw_at_arg_int(line, len, n - 1, &value))
        return -1;
    return value;
}

/* ---- transmit ----------------------------------------------------------- */

/* Write from buf[*off] to buf[len]; returns false on a port error. */
static bool fw_at__write_some(struct fw_at *at, const uint8_t *buf, size_t len, size_t *off)
{
    const struct fw_port *port = at->cfg.port;
    while (*off < len) {
        int32_t n = port->uart_write(port->ctx, buf + *off, len - *off);
        if (n < 0)
            return false;
        if (n == 0)
            break;
        *off += (size_t)n;
    }
    return true;
}

/* Advance the sending phases as far as the UART allows. */
static enum fw_at_status fw_at__transmit(struct fw_at *at)
{
    if (at->phase == FW_AT_PH_SEND_CMD) {
        if (!fw_at__write_some(at, (const uint8_t *)at->cfg.tx_buf, at->tx_len, &at->tx_off))
            return FW_AT_PORT_ERROR;
        if (at->tx_off == at->tx_len)
            at->phase = at->req.data != NULL ? FW_AT_PH_PROMPT : FW_AT_PH_FINAL;
    }
    if (at->phase == FW_AT_PH_SEND_DATA) {
        if (!fw_at__write_some(at, at->req.data, at->req.data_len, &at->data_off))
            return FW_AT_PORT_ERROR;
        if (at->data_off == at->req.data_len)
            at->phase = FW_AT_PH_FINAL;
    }
    return FW_AT_OK;
}

/* ---- receive ------------------------------------------------------------ */

enum fw_at_final { FW_AT_FINAL_NONE, FW_AT_FINAL_OK, FW_AT_FINAL_ERROR, FW_AT_FINAL_CME,
                   FW_AT_FINAL_CMS };

static enum fw_at_final fw_at__final_code(const char *line, size_t len, int32_t *code)
{
    *code = -1;
    if (len == 2 && memcmp(line, "OK", 2) == 0)
        return FW_AT_FINAL_OK;
    if (len == 5 && memcmp(line, "ERROR", 5) == 0)
        return FW_AT_FINAL_ERROR;
    if (fw_at__starts_with(line, len, "+CME ERROR:")) {
        if (!fw_at_arg_int(line, len, 0, code))
            *code = -1;
        return FW_AT_FINAL_CME;
    }
    if (fw_at__starts_with(line, len, "+CMS ERROR:")) {
        if (!fw_at_arg_int(line, len, 0, code))
            *code = -1;
        return FW_AT_FINAL_CMS;
    }
    return FW_AT_FINAL_NONE;
}

static void fw_at__on_final(struct fw_at *at, enum fw_at_final final, int32_t code)
{
    switch (final) {
    case FW_AT_FINAL_OK:
        if (at->phase == FW_AT_PH_PROMPT) {
            fw_at__finish(at, FW_AT_NO_PROMPT);
            return;
        }
        at->got_ok = true;
        if (at->req.await_line == NULL || at->got_await)
            fw_at__finish(at, FW_AT_OK);
        return;
    case FW_AT_FINAL_CME:
        at->result.error_code = code;
        fw_at__finish(at, FW_AT_CME_ERROR);
        return;
    case FW_AT_FINAL_CMS:
        at->result.error_code = code;
        fw_at__finish(at, FW_AT_CMS_ERROR);
        return;
    case FW_AT_FINAL_ERROR:
    default:
        fw_at__finish(at, FW_AT_ERROR);
        return;
    }
}

static bool fw_at__is_echo(const struct fw_at *at, const char *line, size_t len)
{
    return fw_at__pending(at) && len + 1 == at->tx_len && memcmp(line, at->cfg.tx_buf, len) == 0;
}

static bool fw_at__dispatch_urc(struct fw_at *at, const char *line, size_t len)
{
    size_t i;
    for (i = 0; i < at->cfg.n_urcs; i++) {
        const struct fw_at_urc *urc = &at->cfg.urcs[i];
        if (urc->prefix != NULL && urc->handle != NULL &&
            fw_at__starts_with(line, len, urc->prefix) &&
            urc->handle(at->cfg.urc_ctx, at, line, len)) {
            at->stats.urcs++;
            return true;
        }
    }
    return false;
}

static void fw_at__info_line(struct fw_at *at, const char *line, size_t len)
{
    if (at->req.await_line != NULL && fw_at__starts_with(line, len, at->req.await_line)) {
        at->got_await = true;
        at->result.await_value = fw_at__last_int(line, len);
    }
    if (at->req.on_line != NULL)
        at->req.on_line(at->req.ctx, at, line, len);
    if (at->got_ok && at->got_await && at->phase == FW_AT_PH_FINAL)
        fw_at__finish(at, FW_AT_OK);
}

static void fw_at__handle_line(struct fw_at *at, const char *line, size_t len)
{
    enum fw_at_final final;
    int32_t code;
    size_t i = 0;

    while (i < len && line[i] == ' ')
        i++;
    if (i == len)
        return; /* blank, e.g. the space after a "> " prompt */
    at->stats.lines++;
    if (fw_at__is_echo(at, line, len))
        return;
    if (fw_at__answer_due(at)) {
        final = fw_at__final_code(line, len, &code);
        if (final != FW_AT_FINAL_NONE) {
            fw_at__on_final(at, final, code);
            return;
        }
    }
    if (fw_at__dispatch_urc(at, line, len))
        return;
    if (fw_at__answer_due(at)) {
        fw_at__info_line(at, line, len);
        return;
    }
    at->stats.unhandled++;
    fw_at__log(at, FW_LOG_DEBUG, "unhandled line", line, len);
}

/* Feed raw bytes to the sink; returns how many were taken from data. */
static size_t fw_at__feed_raw(struct fw_at *at, const uint8_t *data, size_t len)
{
    size_t take;
    if (at->swallow_lf) {
        at->swallow_lf = false;
        if (data[0] == '\n')
            return 1;
    }
    take = len < at->raw_left ? len : at->raw_left;
    at->raw_left -= take;
    if (at->raw_left == 0)
        at->rx = FW_AT_RX_LINE;
    if (at->raw_sink != NULL)
        at->raw_sink(at->raw_ctx, data, take);
    return take;
}

static void fw_at__end_line(struct fw_at *at, uint8_t byte)
{
    size_t len = at->line_len;
    at->swallow_lf = byte == '\r';
    if (len == 0)
        return;
    at->line_len = 0;
    at->cfg.line_buf[len] = '\0';
    fw_at__handle_line(at, at->cfg.line_buf, len);
}

static void fw_at__feed_line_byte(struct fw_at *at, uint8_t byte)
{
    if (byte == '\r' || byte == '\n') {
        if (byte == '\n' && at->swallow_lf) {
            at->swallow_lf = false;
            return;
        }
        if (at->rx == FW_AT_RX_SKIP) {
            at->rx = FW_AT_RX_LINE;
            at->swallow_lf = byte == '\r';
            return;
        }
        fw_at__end_line(at, byte);
        return;
    }
    at->swallow_lf = false;
    if (at->rx == FW_AT_RX_SKIP)
        return;
    if (at->line_len == 0 && byte == '>' && at->phase == FW_AT_PH_PROMPT) {
        at->phase = FW_AT_PH_SEND_DATA;
        if (fw_at__transmit(at) != FW_AT_OK)
            fw_at__finish(at, FW_AT_PORT_ERROR);
        return;
    }
    if (at->line_len + 1 >= at->cfg.line_cap) {
        at->stats.overflows++;
        at->line_len = 0;
        at->rx = FW_AT_RX_SKIP;
        fw_at__log(at, FW_LOG_WARN, "line too long, dropped", NULL, 0);
        return;
    }
    at->cfg.line_buf[at->line_len++] = (char)byte;
}

void fw_at_feed(struct fw_at *at, const uint8_t *data, size_t len)
{
    size_t i = 0;
    if (at == NULL || data == NULL || len == 0)
        return;
    at->last_rx_ms = fw_at__now(at);
    while (i < len) {
        if (at->rx == FW_AT_RX_RAW) {
            i += fw_at__feed_raw(at, data + i, len - i);
            continue;
        }
        fw_at__feed_line_byte(at, data[i]);
        i++;
    }
}

void fw_at_read_raw(struct fw_at *at, size_t n, fw_at_raw_fn sink, void *ctx)
{
    if (at == NULL || n == 0)
        return;
    at->rx = FW_AT_RX_RAW;
    at->raw_left = n;
    at->raw_sink = sink;
    at->raw_ctx = ctx;
    at->last_rx_ms = fw_at__now(at);
}

/* ---- public ------------------------------------------------------------- */

enum fw_at_status fw_at_init(struct fw_at *at, const struct fw_at_config *cfg)
{
    const struct fw_port *port;
    if (at == NULL || cfg == NULL || cfg->port == NULL)
        return FW_AT_BAD_ARG;
    port = cfg->port;
    if (port->uart_read == NULL || port->uart_write == NULL || port->now_ms == NULL)
        return FW_AT_BAD_ARG;
    if (cfg->line_buf == NULL || cfg->line_cap < 8 || cfg->tx_buf == NULL || cfg->tx_cap < 4)
        return FW_AT_BAD_ARG;
    if (cfg->n_urcs > 0 && cfg->urcs == NULL)
        return FW_AT_BAD_ARG;
    memset(at, 0, sizeof(*at));
    at->cfg = *cfg;
    at->rx = FW_AT_RX_LINE;
    at->phase = FW_AT_PH_IDLE;
    at->result.status = FW_AT_IDLE;
    at->result.error_code = -1;
    at->result.await_value = -1;
    return FW_AT_IDLE;
}

enum fw_at_status fw_at_send(struct fw_at *at, const struct fw_at_request *req)
{
    size_t n;
    if (at == NULL || req == NULL || req->cmd == NULL)
        return FW_AT_BAD_ARG;
    if (fw_at__pending(at))
        return FW_AT_BUSY;
    if (req->data == NULL && req->data_len > 0)
        return FW_AT_BAD_ARG;
    n = strlen(req->cmd);
    if (n == 0)
        return FW_AT_BAD_ARG;
    if (n + 1 > at->cfg.tx_cap)
        return FW_AT_TOO_LONG;
    memcpy(at->cfg.tx_buf, req->cmd, n);
    at->cfg.tx_buf[n] = '\r';
    at->tx_len = n + 1;
    at->tx_off = 0;
    at->data_off = 0;
    at->req = *req;
    if (at->req.timeout_ms == 0)
        at->req.timeout_ms = FW_AT_DEFAULT_TIMEOUT_MS;
    at->started_ms = fw_at__now(at);
    at->got_ok = false;
    at->got_await = false;
    at->result.status = FW_AT_IN_PROGRESS;
    at->result.error_code = -1;
    at->result.await_value = -1;
    at->phase = FW_AT_PH_SEND_CMD;
    if (fw_at__transmit(at) != FW_AT_OK) {
        fw_at__finish(at, FW_AT_PORT_ERROR);
        return FW_AT_PORT_ERROR;
    }
    return FW_AT_IN_PROGRESS;
}

/* Read everything the UART holds now (bounded). False on a port error. */
static bool fw_at__receive(struct fw_at *at)
{
    const struct fw_port *port = at->cfg.port;
    uint8_t chunk[FW_AT_READ_CHUNK];
    unsigned reads;
    for (reads = 0; reads < FW_AT_MAX_READS_PER_POLL; reads++) {
        int32_t n = port->uart_read(port->ctx, chunk, sizeof(chunk));
        if (n < 0)
            return false;
        if (n == 0)
            break;
        fw_at_feed(at, chunk, (size_t)n);
    }
    return true;
}

static void fw_at__check_clocks(struct fw_at *at)
{
    uint32_t now = fw_at__now(at);
    if (fw_at__pending(at) && fw_at__time_reached(now, at->started_ms + at->req.timeout_ms))
        fw_at__finish(at, FW_AT_TIMEOUT);
    if (at->rx == FW_AT_RX_RAW && fw_at__time_reached(now, at->last_rx_ms + FW_AT_RAW_IDLE_MS)) {
        at->rx = FW_AT_RX_LINE;
        at->raw_left = 0;
        at->stats.raw_aborts++;
        fw_at__log(at, FW_LOG_WARN, "raw read abandoned", NULL, 0);
    }
}

void fw_deadline_keep_earliest(bool *has, uint32_t *deadline_ms, uint32_t candidate)
{
    if (!*has || (int32_t)(candidate - *deadline_ms) < 0)
        *deadline_ms = candidate;
    *has = true;
}

bool fw_at_next_deadline_ms(const struct fw_at *at, uint32_t *deadline_ms)
{
    bool has = false;
    if (at == NULL || deadline_ms == NULL)
        return false;
    if (fw_at__pending(at))
        fw_deadline_keep_earliest(&has, deadline_ms, at->started_ms + at->req.timeout_ms);
    if (at->rx == FW_AT_RX_RAW)
        fw_deadline_keep_earliest(&has, deadline_ms, at->last_rx_ms + FW_AT_RAW_IDLE_MS);
    return has;
}

enum fw_at_status fw_at_poll(struct fw_at *at)
{
    if (at == NULL)
        return FW_AT_BAD_ARG;
    if (fw_at__transmit(at) != FW_AT_OK || !fw_at__receive(at)) {
        if (fw_at__pending(at))
            fw_at__finish(at, FW_AT_PORT_ERROR);
        return FW_AT_PORT_ERROR;
    }
    fw_at__check_clocks(at);
    return at->result.status;
}

void fw_at_cancel(struct fw_at *at)
{
    if (at != NULL && fw_at__pending(at))
        fw_at__finish(at, FW_AT_TIMEOUT);
}

const struct fw_at_result *fw_at_result(const struct fw_at *at)
{
    return &at->result;
}

const struct fw_at_stats *fw_at_stats(const struct fw_at *at)
{
    return &at->stats;
}

const char *fw_at_status_str(enum fw_at_status status)
{
    switch (status) {
    case FW_AT_OK: return "ok";
    case FW_AT_IN_PROGRESS: return "in progress";
    case FW_AT_IDLE: return "idle";
    case FW_AT_ERROR: return "ERROR";
    case FW_AT_CME_ERROR: return "+CME ERROR";
    case FW_AT_CMS_ERROR: return "+CMS ERROR";
    case FW_AT_TIMEOUT: return "timeout";
    case FW_AT_NO_PROMPT: return "no prompt";
    case FW_AT_BUSY: return "busy";
    case FW_AT_TOO_LONG: return "command too long";
    case FW_AT_BAD_ARG: return "bad argument";
    case FW_AT_PORT_ERROR: return "port error";
    }
    return "unknown status";
}
