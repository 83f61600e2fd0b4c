/*
 * fw_sim7600.c - SIM7600 URCs and incoming MQTT messages (see fw_sim7600.h).
 *
 * The +CMQTTRX block is checked as it arrives: the announced totals must fit
 * the caller's buffers, every part must stay within its total, and END must
 * come with both totals reached. A broken block still has its raw parts
 * consumed by length, so the line parser stays in step with the modem.
 */
#include <string.h>

#include "fw_sim7600.h"

static bool fw_sim7600__is(const char *line, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

/* ---- incoming MQTT messages -------------------------------------------- */

static void fw_sim7600__drop(struct fw_sim7600 *d)
{
    if (!d->rx_broken) { /* count each broken block once */
        const struct fw_port *port = d->cfg.port;
        if (port->log != NULL)
            port->log(port->ctx, FW_LOG_WARN, "sim7600", "incoming message dropped", NULL, 0);
        d->stats.dropped++;
        d->events |= FW_SIM7600_EV_MSG_DROPPED;
    }
    d->rx_broken = true;
}

static void fw_sim7600__topic_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct fw_sim7600 *d = ctx;
    memcpy(d->cfg.topic_buf + d->rx_topic_len, data, len);
    d->rx_topic_len += len;
}

static void fw_sim7600__payload_sink(void *ctx, const uint8_t *data, size_t len)
{
    struct fw_sim7600 *d = ctx;
    memcpy(d->cfg.payload_buf + d->rx_payload_len, data, len);
    d->rx_payload_len += len;
}

static void fw_sim7600__rx_start(struct fw_sim7600 *d, const char *line, size_t len)
{
    int32_t client, topic_total, payload_total;
    if (d->rx_active)
        fw_sim7600__drop(d); /* the previous block never ended */
    d->rx_active = true;
    d->rx_broken = false;
    d->rx_topic_len = d->rx_payload_len = 0;
    if (!fw_at_arg_int(line, len, 0, &client) || !fw_at_arg_int(line, len, 1, &topic_total) ||
        !fw_at_arg_int(line, len, 2, &payload_total) || topic_total < 1 || payload_total < 0 ||
        (size_t)topic_total >= d->cfg.topic_cap || (size_t)payload_total > d->cfg.payload_cap) {
        fw_sim7600__drop(d);
        return;
    }
    d->rx_client = client;
    d->rx_topic_total = (size_t)topic_total;
    d->rx_payload_total = (size_t)payload_total;
}

/* +CMQTTRXTOPIC / +CMQTTRXPAYLOAD: <client>,<part length>, then the bytes */
static void fw_sim7600__rx_part(struct fw_sim7600 *d, struct fw_at *at, const char *line,
                                size_t len, bool topic)
{
    int32_t n;
    size_t have = topic ? d->rx_topic_len : d->rx_payload_len;
    size_t total = topic ? d->rx_topic_total : d->rx_payload_total;
    if (!fw_at_arg_int(line, len, 1, &n) || n < 0) {
        fw_sim7600__drop(d);
        return; /* no usable length: nothing to read by length either */
    }
    if (!d->rx_active || d->rx_broken || (size_t)n > total - have) {
        fw_sim7600__drop(d);
        fw_at_read_raw(at, (size_t)n, NULL, NULL); /* skip the bytes */
        return;
    }
    fw_at_read_raw(at, (size_t)n, topic ? fw_sim7600__topic_sink : fw_sim7600__payload_sink, d);
}

static void fw_sim7600__rx_end(struct fw_sim7600 *d)
{
    if (!d->rx_active || d->rx_broken || d->rx_topic_len != d->rx_topic_total ||
        d->rx_payload_len != d->rx_payload_total) {
        fw_sim7600__drop(d);
        d->rx_active = false;
        return;
    }
    d->rx_active = false;
    d->cfg.topic_buf[d->rx_topic_len] = '\0';
    d->stats.messages++;
    if (d->cfg.on_message != NULL)
        d->cfg.on_message(d->cfg.ctx, (int)d->rx_client, d->cfg.topic_buf, d->rx_topic_len,
                          d->cfg.payload_buf, d->rx_payload_len);
}

static bool fw_sim7600__urc_mqtt_rx(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    if (fw_sim7600__is(line, len, "+CMQTTRXSTART:"))
        fw_sim7600__rx_start(d, line, len);
    else if (fw_sim7600__is(line, len, "+CMQTTRXTOPIC:"))
        fw_sim7600__rx_part(d, at, line, len, true);
    else if (fw_sim7600__is(line, len, "+CMQTTRXPAYLOAD:"))
        fw_sim7600__rx_part(d, at, line, len, false);
    else if (fw_sim7600__is(line, len, "+CMQTTRXEND:"))
        fw_sim7600__rx_end(d);
    else
        return false;
    return true;
}

/* ---- other URCs --------------------------------------------------------- */

static bool fw_sim7600__urc_rdy(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    if (len != 3)
        return false;
    d->events |= FW_SIM7600_EV_BOOT;
    return true;
}

static bool fw_sim7600__urc_connlost(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    if (!fw_at_arg_int(line, len, 1, &d->conn_lost_cause))
        d->conn_lost_cause = -1;
    d->events |= FW_SIM7600_EV_MQTT_CONN_LOST;
    return true;
}

static bool fw_sim7600__urc_nonet(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    ((struct fw_sim7600 *)ctx)->events |= FW_SIM7600_EV_MQTT_NO_NET;
    return true;
}

static bool fw_sim7600__urc_ping(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    ((struct fw_sim7600 *)ctx)->events |= FW_SIM7600_EV_MQTT_PING_FAIL;
    return true;
}

static bool fw_sim7600__urc_cipevent(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    ((struct fw_sim7600 *)ctx)->events |= FW_SIM7600_EV_NET_CLOSED;
    return true;
}

/* Only "+CIPRXGET: 1,<link>" is unsolicited; modes 2-4 answer a command. */
static bool fw_sim7600__urc_ciprxget(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    int32_t mode, link;
    if (!fw_at_arg_int(line, len, 0, &mode) || mode != 1 || !fw_at_arg_int(line, len, 1, &link) ||
        fw_at_arg_count(line, len) != 2)
        return false;
    d->tcp_link = link;
    d->events |= FW_SIM7600_EV_TCP_DATA;
    return true;
}

static bool fw_sim7600__urc_ipclose(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    if (!fw_at_arg_int(line, len, 0, &d->tcp_link))
        d->tcp_link = -1;
    d->events |= FW_SIM7600_EV_TCP_CLOSED;
    return true;
}

/* The URC form has the status first (+CGREG: <stat>[,<lac>,<ci>]); the
 * answer to AT+CGREG? starts with <n> (+CGREG: <n>,<stat>[,...]) and has 2
 * or 4 arguments, which is how the two are told apart. */
static bool fw_sim7600__urc_reg(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600 *d = ctx;
    unsigned argc = fw_at_arg_count(line, len);
    int32_t stat;
    if ((argc != 1 && argc != 3) || !fw_at_arg_int(line, len, 0, &stat))
        return false;
    d->reg_stat = stat;
    d->events |= FW_SIM7600_EV_REG_CHANGED;
    return true;
}

static const struct fw_at_urc fw_sim7600__urcs[] = {
    {"+CMQTTRX", fw_sim7600__urc_mqtt_rx},
    {"+CMQTTCONNLOST:", fw_sim7600__urc_connlost},
    {"+CMQTTNONET", fw_sim7600__urc_nonet},
    {"+CMQTTPING:", fw_sim7600__urc_ping},
    {"+CIPEVENT:", fw_sim7600__urc_cipevent},
    {"+CIPRXGET:", fw_sim7600__urc_ciprxget},
    {"+IPCLOSE:", fw_sim7600__urc_ipclose},
    {"+CREG:", fw_sim7600__urc_reg},
    {"+CGREG:", fw_sim7600__urc_reg},
    {"+CEREG:", fw_sim7600__urc_reg},
    {"RDY", fw_sim7600__urc_rdy},
};

/* ---- public ------------------------------------------------------------- */

enum fw_at_status fw_sim7600_init(struct fw_sim7600 *d, const struct fw_sim7600_config *cfg)
{
    struct fw_at_config at_cfg;
    if (d == NULL || cfg == NULL || cfg->topic_buf == NULL || cfg->topic_cap < 2 ||
        (cfg->payload_buf == NULL && cfg->payload_cap > 0))
        return FW_AT_BAD_ARG;
    memset(d, 0, sizeof(*d));
    d->cfg = *cfg;
    d->conn_lost_cause = -1;
    d->tcp_link = -1;
    d->reg_stat = -1;
    memset(&at_cfg, 0, sizeof(at_cfg));
    at_cfg.port = cfg->port;
    at_cfg.line_buf = cfg->line_buf;
    at_cfg.line_cap = cfg->line_cap;
    at_cfg.tx_buf = cfg->tx_buf;
    at_cfg.tx_cap = cfg->tx_cap;
    at_cfg.urcs = fw_sim7600__urcs;
    at_cfg.n_urcs = sizeof(fw_sim7600__urcs) / sizeof(fw_sim7600__urcs[0]);
    at_cfg.urc_ctx = d;
    return fw_at_init(&d->at, &at_cfg);
}

struct fw_at *fw_sim7600_at(struct fw_sim7600 *d)
{
    return &d->at;
}

uint32_t fw_sim7600_take_events(struct fw_sim7600 *d)
{
    uint32_t events = d->events;
    d->events = 0;
    return events;
}

int32_t fw_sim7600_conn_lost_cause(const struct fw_sim7600 *d)
{
    return d->conn_lost_cause;
}

int32_t fw_sim7600_reg_stat(const struct fw_sim7600 *d)
{
    return d->reg_stat;
}

const struct fw_sim7600_stats *fw_sim7600_stats(const struct fw_sim7600 *d)
{
    return &d->stats;
}
