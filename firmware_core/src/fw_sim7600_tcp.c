/*
 * fw_sim7600_tcp.c - AT+CIP* socket operations (see fw_sim7600_tcp.h).
 */
#include <string.h>

#include "fw_fmt.h"
#include "fw_sim7600_tcp.h"

enum { OP_NONE, OP_OPEN, OP_SEND, OP_RECEIVE, OP_CLOSE };
enum { ST_RXMODE, ST_NETOPEN, ST_CIPOPEN, ST_SEND, ST_RECEIVE, ST_CLOSE, ST_DONE };

#define FW_SIM7600_TCP_DEFAULT_TIMEOUT_MS 20000u

static void fw_sim7600_tcp__raw(void *ctx, const uint8_t *data, size_t len)
{
    struct fw_sim7600_tcp *t = ctx;
    memcpy(t->rx_buf + t->rx_len, data, len);
    t->rx_len += len;
}

static void fw_sim7600_tcp__on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600_tcp *t = ctx;
    int32_t mode, link, n;
    static const char already[] = "+IP ERROR: Network is already opened";
    static const char no_data[] = "+IP ERROR: No data";
    if (len == sizeof(already) - 1 && memcmp(line, already, len) == 0) {
        t->already = true;
        return;
    }
    if (len == sizeof(no_data) - 1 && memcmp(line, no_data, len) == 0) {
        t->no_data = true;
        return;
    }
    /* +CIPRXGET: 2,<link>,<read_len>,<rest_len> then read_len raw bytes */
    if (t->step != ST_RECEIVE || len < 11 || memcmp(line, "+CIPRXGET:", 10) != 0 ||
        !fw_at_arg_int(line, len, 0, &mode) || mode != 2 || !fw_at_arg_int(line, len, 1, &link) ||
        link != t->link || !fw_at_arg_int(line, len, 2, &n) || n < 0)
        return;
    if (!fw_at_arg_int(line, len, 3, &t->rx_rest))
        t->rx_rest = 0;
    if ((size_t)n > t->rx_cap - t->rx_len) {
        fw_at_read_raw(at, (size_t)n, NULL, NULL); /* more than asked for: discard */
        t->error = -2;
        return;
    }
    fw_at_read_raw(at, (size_t)n, fw_sim7600_tcp__raw, t);
}

static bool fw_sim7600_tcp__build(struct fw_sim7600_tcp *t, struct fw_at_request *req)
{
    struct fw_fmt f = {t->cmd, sizeof(t->cmd), 0, false};
    uint32_t link = (uint32_t)t->link;
    t->cmd[0] = '\0';
    switch (t->step) {
    case ST_RXMODE:
        fw_fmt__str(&f, "AT+CIPRXGET=1");
        break;
    case ST_NETOPEN:
        fw_fmt__str(&f, "AT+NETOPEN");
        req->await_line = "+NETOPEN:";
        break;
    case ST_CIPOPEN:
        fw_fmt__str(&f, "AT+CIPOPEN=");
        fw_fmt__uint(&f, link);
        fw_fmt__str(&f, ",\"TCP\",");
        fw_fmt__quoted(&f, t->host);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, t->port);
        req->await_line = "+CIPOPEN:";
        break;
    case ST_SEND:
        fw_fmt__str(&f, "AT+CIPSEND=");
        fw_fmt__uint(&f, link);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)t->data_len);
        req->data = t->data;
        req->data_len = t->data_len;
        req->await_line = "+CIPSEND:";
        break;
    case ST_RECEIVE:
        fw_fmt__str(&f, "AT+CIPRXGET=2,");
        fw_fmt__uint(&f, link);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)t->rx_cap);
        break;
    case ST_CLOSE:
        fw_fmt__str(&f, "AT+CIPCLOSE=");
        fw_fmt__uint(&f, link);
        req->await_line = "+CIPCLOSE:";
        break;
    default:
        return false;
    }
    req->cmd = t->cmd;
    return !f.bad;
}

static void fw_sim7600_tcp__finish(struct fw_sim7600_tcp *t, enum fw_sim7600_tcp_status status)
{
    t->status = status;
    t->op = OP_NONE;
}

static void fw_sim7600_tcp__goto(struct fw_sim7600_tcp *t, int step)
{
    struct fw_at_request req;
    t->step = step;
    if (step == ST_DONE) {
        fw_sim7600_tcp__finish(t, FW_SIM7600_TCP_OK);
        return;
    }
    memset(&req, 0, sizeof(req));
    req.on_line = fw_sim7600_tcp__on_line;
    req.ctx = t;
    req.timeout_ms = t->timeout_ms;
    if (!fw_sim7600_tcp__build(t, &req) ||
        fw_at_send(fw_sim7600_at(t->modem), &req) != FW_AT_IN_PROGRESS)
        fw_sim7600_tcp__finish(t, FW_SIM7600_TCP_FAILED);
}

static void fw_sim7600_tcp__fail(struct fw_sim7600_tcp *t, int32_t err)
{
    t->error = err;
    fw_sim7600_tcp__finish(t, FW_SIM7600_TCP_FAILED);
}

/* Next step when ok, else failure with err. */
static void fw_sim7600_tcp__next_if(struct fw_sim7600_tcp *t, bool ok, int step, int32_t err)
{
    if (ok)
        fw_sim7600_tcp__goto(t, step);
    else
        fw_sim7600_tcp__fail(t, err);
}

static void fw_sim7600_tcp__judge(struct fw_sim7600_tcp *t, const struct fw_at_result *r)
{
    bool ok = r->status == FW_AT_OK;
    switch (t->step) {
    case ST_RXMODE:
        fw_sim7600_tcp__next_if(t, ok, ST_NETOPEN, -1);
        return;
    case ST_NETOPEN: /* open now, or already open from before */
        fw_sim7600_tcp__next_if(t, (ok && r->await_value == 0) || t->already, ST_CIPOPEN,
                                r->await_value);
        return;
    case ST_CIPOPEN:
        fw_sim7600_tcp__next_if(t, ok && r->await_value == 0, ST_DONE, r->await_value);
        return;
    case ST_SEND: /* +CIPSEND: <link>,<requested>,<confirmed>; -1 = disconnected */
        if (ok && r->await_value == -1)
            fw_sim7600_tcp__finish(t, FW_SIM7600_TCP_CLOSED);
        else
            fw_sim7600_tcp__next_if(t, ok && r->await_value == (int32_t)t->data_len, ST_DONE,
                                    r->await_value);
        return;
    case ST_RECEIVE: /* "+IP ERROR: No data" + ERROR means nothing waiting */
        fw_sim7600_tcp__next_if(t, t->error != -2 && (ok || (r->status == FW_AT_ERROR && t->no_data)),
                                ST_DONE,
                                t->error == -2 ? -2 : -1);
        return;
    default: /* ST_CLOSE: 4 = not open, fine for a close */
        fw_sim7600_tcp__next_if(t, ok || r->await_value == 4, ST_DONE, r->await_value);
        return;
    }
}

void fw_sim7600_tcp_init(struct fw_sim7600_tcp *t, struct fw_sim7600 *modem, uint32_t timeout_ms)
{
    memset(t, 0, sizeof(*t));
    t->modem = modem;
    t->link = -1;
    t->timeout_ms = timeout_ms != 0 ? timeout_ms : FW_SIM7600_TCP_DEFAULT_TIMEOUT_MS;
    t->error = -1;
    t->status = FW_SIM7600_TCP_OK;
}

static enum fw_sim7600_tcp_status fw_sim7600_tcp__begin(struct fw_sim7600_tcp *t, int op, int step)
{
    t->op = op;
    t->error = -1;
    t->already = false;
    t->no_data = false;
    t->status = FW_SIM7600_TCP_BUSY;
    fw_sim7600_tcp__goto(t, step);
    return t->status;
}

static bool fw_sim7600_tcp__ready(const struct fw_sim7600_tcp *t)
{
    return t != NULL && t->modem != NULL && t->op == OP_NONE;
}

enum fw_sim7600_tcp_status fw_sim7600_tcp_open(struct fw_sim7600_tcp *t, int link,
                                               const char *host, uint16_t port)
{
    if (t != NULL && t->op != OP_NONE)
        return FW_SIM7600_TCP_BUSY;
    if (!fw_sim7600_tcp__ready(t) || link < 0 || link > 9 || host == NULL || host[0] == '\0' ||
        memchr(host, '"', strlen(host)) != NULL || port == 0)
        return FW_SIM7600_TCP_BAD_ARG;
    t->link = link;
    t->host = host;
    t->port = port;
    return fw_sim7600_tcp__begin(t, OP_OPEN, ST_RXMODE);
}

enum fw_sim7600_tcp_status fw_sim7600_tcp_send(struct fw_sim7600_tcp *t, const uint8_t *data,
                                               size_t len)
{
    if (t != NULL && t->op != OP_NONE)
        return FW_SIM7600_TCP_BUSY;
    if (!fw_sim7600_tcp__ready(t) || t->link < 0 || data == NULL || len == 0 ||
        len > FW_SIM7600_TCP_CHUNK_MAX)
        return FW_SIM7600_TCP_BAD_ARG;
    t->data = data;
    t->data_len = len;
    return fw_sim7600_tcp__begin(t, OP_SEND, ST_SEND);
}

enum fw_sim7600_tcp_status fw_sim7600_tcp_receive(struct fw_sim7600_tcp *t, uint8_t *buf,
                                                  size_t cap)
{
    if (t != NULL && t->op != OP_NONE)
        return FW_SIM7600_TCP_BUSY;
    if (!fw_sim7600_tcp__ready(t) || t->link < 0 || buf == NULL || cap == 0 ||
        cap > FW_SIM7600_TCP_CHUNK_MAX)
        return FW_SIM7600_TCP_BAD_ARG;
    t->rx_buf = buf;
    t->rx_cap = cap;
    t->rx_len = 0;
    t->rx_rest = 0;
    return fw_sim7600_tcp__begin(t, OP_RECEIVE, ST_RECEIVE);
}

enum fw_sim7600_tcp_status fw_sim7600_tcp_close(struct fw_sim7600_tcp *t)
{
    if (t != NULL && t->op != OP_NONE)
        return FW_SIM7600_TCP_BUSY;
    if (!fw_sim7600_tcp__ready(t) || t->link < 0)
        return FW_SIM7600_TCP_BAD_ARG;
    return fw_sim7600_tcp__begin(t, OP_CLOSE, ST_CLOSE);
}

enum fw_sim7600_tcp_status fw_sim7600_tcp_poll(struct fw_sim7600_tcp *t)
{
    if (t == NULL || t->modem == NULL)
        return FW_SIM7600_TCP_BAD_ARG;
    if (t->op == OP_NONE)
        return t->status;
    if (fw_at_poll(fw_sim7600_at(t->modem)) == FW_AT_IN_PROGRESS)
        return FW_SIM7600_TCP_BUSY;
    fw_sim7600_tcp__judge(t, fw_at_result(fw_sim7600_at(t->modem)));
    return t->status;
}

size_t fw_sim7600_tcp_received(const struct fw_sim7600_tcp *t, int32_t *rest)
{
    if (rest != NULL)
        *rest = t->rx_rest;
    return t->rx_len;
}

int32_t fw_sim7600_tcp_error(const struct fw_sim7600_tcp *t)
{
    return t->error;
}

const char *fw_sim7600_tcp_status_str(enum fw_sim7600_tcp_status status)
{
    switch (status) {
    case FW_SIM7600_TCP_OK: return "ok";
    case FW_SIM7600_TCP_BUSY: return "busy";
    case FW_SIM7600_TCP_FAILED: return "failed";
    case FW_SIM7600_TCP_CLOSED: return "closed";
    case FW_SIM7600_TCP_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}
