/*
 * fw_sim7600_mqtt.c - AT+CMQTT* operations (see fw_sim7600_mqtt.h).
 *
 * Each operation is a short sequence of steps. build() writes a step's
 * command; judge() reads its outcome and picks the next step. Connecting
 * recovers from the states a modem keeps across an MCU reset: the MQTT
 * service already started (+CMQTTSTART: 23) and the client still acquired
 * (ACCQ refused: disconnect and release it, then acquire once more).
 */
#include <string.h>

#include "fw_fmt.h"
#include "fw_sim7600_mqtt.h"

enum { OP_NONE, OP_CONNECT, OP_SUBSCRIBE, OP_PUBLISH, OP_DISCONNECT };

enum {
    ST_START, ST_ACCQ, ST_STALE_DISC, ST_STALE_REL, ST_SSLCFG, ST_CONNECT, /* connect */
    ST_SUB,                                                              /* subscribe */
    ST_TOPIC, ST_PAYLOAD, ST_PUB,                                        /* publish */
    ST_DISC, ST_REL, ST_STOP,                                            /* disconnect */
    ST_DONE
};

#define FW_SIM7600_MQTT_DEFAULT_TIMEOUT_MS 30000u

/* ---- validation --------------------------------------------------------- */

/* A string the modem can take inside quotes: 1..max bytes, no '"', CR, LF. */
static enum fw_sim7600_mqtt_status fw_sim7600_mqtt__check_str(const char *s, size_t max)
{
    size_t n, i;
    if (s == NULL)
        return FW_SIM7600_MQTT_BAD_ARG;
    n = strlen(s);
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return FW_SIM7600_MQTT_BAD_ARG;
    }
    if (n == 0)
        return FW_SIM7600_MQTT_BAD_ARG;
    return n > max ? FW_SIM7600_MQTT_TOO_LONG : FW_SIM7600_MQTT_OK;
}

static enum fw_sim7600_mqtt_status fw_sim7600_mqtt__check_params(
    const struct fw_sim7600_mqtt_params *p)
{
    enum fw_sim7600_mqtt_status st;
    if (p->client < 0 || p->client > 1 || p->keepalive_s == 0 || p->keepalive_s > 64800u ||
        p->ssl_ctx < -1 || p->ssl_ctx > 9 || (p->password != NULL && p->username == NULL))
        return FW_SIM7600_MQTT_BAD_ARG;
    st = fw_sim7600_mqtt__check_str(p->client_id, FW_SIM7600_MQTT_ID_MAX);
    if (st == FW_SIM7600_MQTT_OK)
        st = fw_sim7600_mqtt__check_str(p->server, 256u);
    if (st == FW_SIM7600_MQTT_OK && p->username != NULL)
        st = fw_sim7600_mqtt__check_str(p->username, FW_SIM7600_MQTT_CRED_MAX);
    if (st == FW_SIM7600_MQTT_OK && p->password != NULL)
        st = fw_sim7600_mqtt__check_str(p->password, FW_SIM7600_MQTT_CRED_MAX);
    return st;
}

/* ---- steps -------------------------------------------------------------- */

/* "+CMQTTxxx: <client>,<err>" lines without an await (ACCQ, REL, TOPIC...) */
static void fw_sim7600_mqtt__on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600_mqtt *m = ctx;
    unsigned n = fw_at_arg_count(line, len);
    int32_t err;
    if (len > 6 && memcmp(line, "+CMQTT", 6) == 0 && n >= 2 && fw_at_arg_int(line, len, n - 1, &err))
        m->error = err;
}

/* Write the command of the current step; data and await line into req. */
static bool fw_sim7600_mqtt__build(struct fw_sim7600_mqtt *m, struct fw_at_request *req)
{
    struct fw_fmt f = {m->cmd, sizeof(m->cmd), 0, false};
    const struct fw_sim7600_mqtt_params *p = &m->params;
    uint32_t c = (uint32_t)m->client;
    m->cmd[0] = '\0';
    switch (m->step) {
    case ST_START:
        fw_fmt__str(&f, "AT+CMQTTSTART");
        req->await_line = "+CMQTTSTART:";
        break;
    case ST_ACCQ:
        fw_fmt__str(&f, "AT+CMQTTACCQ=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__quoted(&f, p->client_id);
        if (p->ssl_ctx >= 0)
            fw_fmt__str(&f, ",1");
        break;
    case ST_STALE_DISC:
    case ST_DISC:
        fw_fmt__str(&f, "AT+CMQTTDISC=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",120");
        req->await_line = "+CMQTTDISC:";
        break;
    case ST_STALE_REL:
    case ST_REL:
        fw_fmt__str(&f, "AT+CMQTTREL=");
        fw_fmt__uint(&f, c);
        break;
    case ST_SSLCFG:
        fw_fmt__str(&f, "AT+CMQTTSSLCFG=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)p->ssl_ctx);
        break;
    case ST_CONNECT:
        fw_fmt__str(&f, "AT+CMQTTCONNECT=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__quoted(&f, p->server);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, p->keepalive_s);
        fw_fmt__str(&f, p->clean_session ? ",1" : ",0");
        if (p->username != NULL) {
            fw_fmt__str(&f, ",");
            fw_fmt__quoted(&f, p->username);
        }
        if (p->password != NULL) {
            fw_fmt__str(&f, ",");
            fw_fmt__quoted(&f, p->password);
        }
        req->await_line = "+CMQTTCONNECT:";
        break;
    case ST_SUB:
        fw_fmt__str(&f, "AT+CMQTTSUB=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)m->topic_len);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, m->qos);
        req->data = m->topic;
        req->data_len = m->topic_len;
        req->await_line = "+CMQTTSUB:";
        break;
    case ST_TOPIC:
    case ST_PAYLOAD:
        fw_fmt__str(&f, m->step == ST_TOPIC ? "AT+CMQTTTOPIC=" : "AT+CMQTTPAYLOAD=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)(m->step == ST_TOPIC ? m->topic_len : m->payload_len));
        req->data = m->step == ST_TOPIC ? m->topic : m->payload;
        req->data_len = m->step == ST_TOPIC ? m->topic_len : m->payload_len;
        break;
    case ST_PUB:
        fw_fmt__str(&f, "AT+CMQTTPUB=");
        fw_fmt__uint(&f, c);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, m->qos);
        fw_fmt__str(&f, ",60");
        req->await_line = "+CMQTTPUB:";
        break;
    case ST_STOP:
        fw_fmt__str(&f, "AT+CMQTTSTOP");
        req->await_line = "+CMQTTSTOP:";
        break;
    default:
        return false;
    }
    req->cmd = m->cmd;
    return !f.bad;
}

static void fw_sim7600_mqtt__send(struct fw_sim7600_mqtt *m)
{
    struct fw_at_request req;
    memset(&req, 0, sizeof(req));
    req.on_line = fw_sim7600_mqtt__on_line;
    req.ctx = m;
    req.timeout_ms = m->timeout_ms;
    if (!fw_sim7600_mqtt__build(m, &req)) {
        m->status = FW_SIM7600_MQTT_TOO_LONG;
        return;
    }
    if (fw_at_send(fw_sim7600_at(m->modem), &req) != FW_AT_IN_PROGRESS)
        m->status = FW_SIM7600_MQTT_FAILED;
}

static void fw_sim7600_mqtt__goto(struct fw_sim7600_mqtt *m, int step)
{
    m->step = step;
    if (step == ST_DONE) {
        m->status = FW_SIM7600_MQTT_OK;
        m->op = OP_NONE;
        return;
    }
    fw_sim7600_mqtt__send(m);
}

static void fw_sim7600_mqtt__fail(struct fw_sim7600_mqtt *m, int32_t err)
{
    if (err >= 0)
        m->error = err;
    m->status = FW_SIM7600_MQTT_FAILED;
    m->op = OP_NONE;
}

/* Outcome of a two-phase step: OK and its line reporting 0. */
static bool fw_sim7600_mqtt__ok(const struct fw_at_result *r)
{
    return r->status == FW_AT_OK && r->await_value == 0;
}

static void fw_sim7600_mqtt__judge_connect(struct fw_sim7600_mqtt *m, const struct fw_at_result *r)
{
    switch (m->step) {
    case ST_START:
        if (fw_sim7600_mqtt__ok(r) || r->await_value == 23) /* 23: already started */
            fw_sim7600_mqtt__goto(m, ST_ACCQ);
        else
            fw_sim7600_mqtt__fail(m, r->await_value);
        return;
    case ST_ACCQ:
        if (r->status == FW_AT_OK)
            fw_sim7600_mqtt__goto(m, m->params.ssl_ctx >= 0 ? ST_SSLCFG : ST_CONNECT);
        else if (!m->recovering) {
            m->recovering = true; /* the client is still held from an earlier run */
            fw_sim7600_mqtt__goto(m, ST_STALE_DISC);
        } else
            fw_sim7600_mqtt__fail(m, -1);
        return;
    case ST_STALE_DISC:
        fw_sim7600_mqtt__goto(m, ST_STALE_REL);
        return;
    case ST_STALE_REL:
        fw_sim7600_mqtt__goto(m, ST_ACCQ);
        return;
    case ST_SSLCFG:
        if (r->status == FW_AT_OK)
            fw_sim7600_mqtt__goto(m, ST_CONNECT);
        else
            fw_sim7600_mqtt__fail(m, -1);
        return;
    default: /* ST_CONNECT */
        if (fw_sim7600_mqtt__ok(r))
            fw_sim7600_mqtt__goto(m, ST_DONE);
        else
            fw_sim7600_mqtt__fail(m, r->await_value);
        return;
    }
}

static void fw_sim7600_mqtt__judge(struct fw_sim7600_mqtt *m, const struct fw_at_result *r)
{
    switch (m->op) {
    case OP_CONNECT:
        fw_sim7600_mqtt__judge_connect(m, r);
        return;
    case OP_PUBLISH:
        if (m->step != ST_PUB && r->status == FW_AT_OK)
            fw_sim7600_mqtt__goto(m, m->step + 1);
        else if (m->step == ST_PUB && fw_sim7600_mqtt__ok(r))
            fw_sim7600_mqtt__goto(m, ST_DONE);
        else
            fw_sim7600_mqtt__fail(m, r->await_value);
        return;
    case OP_DISCONNECT: /* best effort until STOP, which decides */
        if (m->step != ST_STOP)
            fw_sim7600_mqtt__goto(m, m->step + 1);
        else if (fw_sim7600_mqtt__ok(r))
            fw_sim7600_mqtt__goto(m, ST_DONE);
        else
            fw_sim7600_mqtt__fail(m, r->await_value);
        return;
    default: /* OP_SUBSCRIBE */
        if (fw_sim7600_mqtt__ok(r))
            fw_sim7600_mqtt__goto(m, ST_DONE);
        else
            fw_sim7600_mqtt__fail(m, r->await_value);
        return;
    }
}

/* ---- public ------------------------------------------------------------- */

void fw_sim7600_mqtt_init(struct fw_sim7600_mqtt *m, struct fw_sim7600 *modem)
{
    memset(m, 0, sizeof(*m));
    m->modem = modem;
    m->timeout_ms = FW_SIM7600_MQTT_DEFAULT_TIMEOUT_MS;
    m->status = FW_SIM7600_MQTT_OK;
    m->error = -1;
}

static enum fw_sim7600_mqtt_status fw_sim7600_mqtt__begin(struct fw_sim7600_mqtt *m, int op,
                                                          int step)
{
    m->op = op;
    m->error = -1;
    m->recovering = false;
    m->status = FW_SIM7600_MQTT_BUSY;
    fw_sim7600_mqtt__goto(m, step);
    if (m->status != FW_SIM7600_MQTT_BUSY)
        m->op = OP_NONE;
    return m->status;
}

enum fw_sim7600_mqtt_status fw_sim7600_mqtt_connect(struct fw_sim7600_mqtt *m,
                                                    const struct fw_sim7600_mqtt_params *p)
{
    enum fw_sim7600_mqtt_status st;
    if (m == NULL || p == NULL || m->modem == NULL)
        return FW_SIM7600_MQTT_BAD_ARG;
    if (m->op != OP_NONE)
        return FW_SIM7600_MQTT_BUSY;
    st = fw_sim7600_mqtt__check_params(p);
    if (st != FW_SIM7600_MQTT_OK)
        return st;
    m->params = *p;
    m->client = p->client;
    m->timeout_ms = p->timeout_ms != 0 ? p->timeout_ms : FW_SIM7600_MQTT_DEFAULT_TIMEOUT_MS;
    return fw_sim7600_mqtt__begin(m, OP_CONNECT, ST_START);
}

static enum fw_sim7600_mqtt_status fw_sim7600_mqtt__check_topic(const char *topic, size_t len,
                                                                uint8_t qos)
{
    if (topic == NULL || len == 0 || qos > 1)
        return FW_SIM7600_MQTT_BAD_ARG;
    return len > FW_SIM7600_MQTT_TOPIC_MAX ? FW_SIM7600_MQTT_TOO_LONG : FW_SIM7600_MQTT_OK;
}

enum fw_sim7600_mqtt_status fw_sim7600_mqtt_subscribe(struct fw_sim7600_mqtt *m,
                                                      const char *topic, size_t topic_len,
                                                      uint8_t qos)
{
    enum fw_sim7600_mqtt_status st;
    if (m == NULL || m->modem == NULL)
        return FW_SIM7600_MQTT_BAD_ARG;
    if (m->op != OP_NONE)
        return FW_SIM7600_MQTT_BUSY;
    st = fw_sim7600_mqtt__check_topic(topic, topic_len, qos);
    if (st != FW_SIM7600_MQTT_OK)
        return st;
    m->topic = (const uint8_t *)topic;
    m->topic_len = topic_len;
    m->qos = qos;
    return fw_sim7600_mqtt__begin(m, OP_SUBSCRIBE, ST_SUB);
}

enum fw_sim7600_mqtt_status fw_sim7600_mqtt_publish(struct fw_sim7600_mqtt *m, const char *topic,
                                                    size_t topic_len, const uint8_t *payload,
                                                    size_t payload_len, uint8_t qos)
{
    enum fw_sim7600_mqtt_status st;
    if (m == NULL || m->modem == NULL || payload == NULL || payload_len == 0)
        return FW_SIM7600_MQTT_BAD_ARG;
    if (m->op != OP_NONE)
        return FW_SIM7600_MQTT_BUSY;
    st = fw_sim7600_mqtt__check_topic(topic, topic_len, qos);
    if (st != FW_SIM7600_MQTT_OK)
        return st;
    if (payload_len > FW_SIM7600_MQTT_PAYLOAD_MAX)
        return FW_SIM7600_MQTT_TOO_LONG;
    m->topic = (const uint8_t *)topic;
    m->topic_len = topic_len;
    m->payload = payload;
    m->payload_len = payload_len;
    m->qos = qos;
    return fw_sim7600_mqtt__begin(m, OP_PUBLISH, ST_TOPIC);
}

enum fw_sim7600_mqtt_status fw_sim7600_mqtt_disconnect(struct fw_sim7600_mqtt *m)
{
    if (m == NULL || m->modem == NULL)
        return FW_SIM7600_MQTT_BAD_ARG;
    if (m->op != OP_NONE)
        return FW_SIM7600_MQTT_BUSY;
    return fw_sim7600_mqtt__begin(m, OP_DISCONNECT, ST_DISC);
}

enum fw_sim7600_mqtt_status fw_sim7600_mqtt_poll(struct fw_sim7600_mqtt *m)
{
    enum fw_at_status st;
    if (m == NULL || m->modem == NULL)
        return FW_SIM7600_MQTT_BAD_ARG;
    if (m->op == OP_NONE)
        return m->status;
    st = fw_at_poll(fw_sim7600_at(m->modem));
    if (st == FW_AT_IN_PROGRESS)
        return FW_SIM7600_MQTT_BUSY;
    fw_sim7600_mqtt__judge(m, fw_at_result(fw_sim7600_at(m->modem)));
    return m->status;
}

void fw_sim7600_mqtt_abort(struct fw_sim7600_mqtt *m)
{
    if (m == NULL || m->op == OP_NONE)
        return;
    fw_at_cancel(fw_sim7600_at(m->modem));
    m->op = OP_NONE;
    m->error = -1;
    m->status = FW_SIM7600_MQTT_FAILED;
}

int32_t fw_sim7600_mqtt_error(const struct fw_sim7600_mqtt *m)
{
    return m->error;
}

const char *fw_sim7600_mqtt_status_str(enum fw_sim7600_mqtt_status status)
{
    switch (status) {
    case FW_SIM7600_MQTT_OK: return "ok";
    case FW_SIM7600_MQTT_BUSY: return "busy";
    case FW_SIM7600_MQTT_FAILED: return "failed";
    case FW_SIM7600_MQTT_BAD_ARG: return "bad argument";
    case FW_SIM7600_MQTT_TOO_LONG: return "too long for the modem";
    }
    return "unknown status";
}
