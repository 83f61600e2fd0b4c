/*
 * The modem context: UART framing (echo, command lines, data prompts),
 * responses and their final result codes, the URC queue, per-command latency,
 * module reset, UART faults and the poll-loop integration.
 */
#include "sim_internal.h"
#include "../../harness/vclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CTRL_Z 0x1A
#define ESC 0x1B
#define ETX 0x03

void sim_config_defaults(struct sim_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->manufacturer = "SIMCOM INCORPORATED";
    cfg->model = "SIMCOM_SIM7600E";
    cfg->revision = "SIM7600M21-A_V1.1";
    cfg->cgmr = "LE20B03SIM7600M22";
    cfg->imei = "862636055891234";
    cfg->iccid = "89882390000012345678";
    cfg->operator_name = "cellbench LTE";
    cfg->order = SIM_ORDER_OK_FIRST;
    cfg->urc_hold = SIM_URC_UNTIL_FINAL;
    cfg->latency = SIM_LATENCY_INSTANT;
    /* The SIM7600EI AT&V capture shows +CMEE: 2; 27.007's default would be 0. */
    cfg->cmee_default = 2;
    cfg->prompt_space = false;
    cfg->echo_prompt_data = false;
    cfg->max_line = 1024;
    cfg->boot_ms = 9000;
    cfg->seed = 1;
}

int64_t sim_now_ms(const struct sim_modem *m)
{
    return vclock_now_ms(m->cfg.clock);
}

int64_t sim_local_time_ms(const struct sim_modem *m)
{
    return sim_now_ms(m) + m->cclk_offset_ms;
}

uint64_t sim_random(struct sim_modem *m)
{
    /* xorshift64*: reproducible from the configured seed */
    uint64_t x = m->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static bool chance(struct sim_modem *m, double rate)
{
    if (rate <= 0.0) {
        return false;
    }
    return (double)(sim_random(m) >> 11) / 9007199254740992.0 < rate;
}

/* Power-up values of everything a reset restores. */
static void power_up_settings(struct sim_modem *m)
{
    m->echo = true;
    m->cmee = m->cfg.cmee_default;
    m->creg_n = 0;
    m->cgreg_n = 0;
    m->cereg_n = 0;
    m->cfun = 1;
    m->rx_state = SIM_RX_LINE;
    m->line_len = 0;
    m->line_overflow = false;
}

struct sim_modem *sim_modem_new(const struct sim_config *cfg)
{
    struct sim_modem *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    if (cfg != NULL) {
        m->cfg = *cfg;
    } else {
        sim_config_defaults(&m->cfg);
    }
    if (m->cfg.max_line < 16) {
        m->cfg.max_line = 16;
    }
    m->line = malloc(m->cfg.max_line + 1);
    if (m->line == NULL) {
        free(m);
        return NULL;
    }
    if (sim_cmd_index_build(m) != 0) {
        free(m->line);
        free(m);
        return NULL;
    }
    m->rng = m->cfg.seed ? m->cfg.seed : 0x9E3779B97F4A7C15ULL;
    m->sim_present = true;
    m->network_up = true;
    m->reg_stat = 1;
    m->rssi = 23;
    m->ber = 99;
    m->ipr = 115200;
    power_up_settings(m);
    for (size_t i = 0; i < sim_group_count; i++) {
        if (sim_groups[i]->init != NULL && sim_groups[i]->init(m) != 0) {
            sim_modem_free(m);
            return NULL;
        }
    }
    return m;
}

void sim_modem_free(struct sim_modem *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = sim_group_count; i-- > 0;) {
        if (sim_groups[i]->fini != NULL) {
            sim_groups[i]->fini(m);
        }
    }
    for (size_t i = 0; i < m->alias_count; i++) {
        free(m->aliases[i].name);
        free(m->aliases[i].address);
    }
    free(m->aliases);
    sim_buf_free(&m->tx);
    sim_buf_free(&m->rx_backlog);
    sim_buf_free(&m->response);
    sim_buf_free(&m->after_final);
    sim_buf_free(&m->prompt_data);
    sim_buf_free(&m->urc_queue);
    sim_buf_free(&m->urc_build);
    free(m->exec_line);
    free(m->line);
    free(m->cmd_index);
    free(m);
}

void sim_modem_set_tap(struct sim_modem *m, sim_tap_fn tap, void *ctx)
{
    m->tap = tap;
    m->tap_ctx = ctx;
}

bool sim_network_ready(const struct sim_modem *m)
{
    return m->sim_present && m->cfun == 1 && !m->booting && m->network_up && (m->reg_stat == 1 || m->reg_stat == 5);
}

const char *sim_resolve_alias(const struct sim_modem *m, const char *name)
{
    for (size_t i = 0; i < m->alias_count; i++) {
        if (strcasecmp(m->aliases[i].name, name) == 0) {
            return m->aliases[i].address;
        }
    }
    return name;
}

/* ------------------------------------------------------------ output side */

static bool in_prompt(const struct sim_modem *m)
{
    return m->rx_state != SIM_RX_LINE;
}

static bool urcs_may_go(const struct sim_modem *m)
{
    if (!m->busy) {
        return true;
    }
    return m->cfg.urc_hold == SIM_URC_BETWEEN_LINES && !in_prompt(m) && m->release_at_ms == 0;
}

/* Send what the response in progress has so far (complete lines only). */
static void flush_response(struct sim_modem *m)
{
    size_t n = sim_buf_used(&m->response);
    if (n > 0) {
        sim_buf_put(&m->tx, m->response.data + m->response.head, n);
        sim_buf_clear(&m->response);
    }
}

static void flush_urcs(struct sim_modem *m)
{
    if (sim_buf_used(&m->urc_queue) == 0 || !urcs_may_go(m)) {
        return;
    }
    if (m->busy) {
        flush_response(m); /* keep the order in which lines were produced */
    }
    sim_buf_put(&m->tx, m->urc_queue.data + m->urc_queue.head, sim_buf_used(&m->urc_queue));
    sim_buf_clear(&m->urc_queue);
}

void sim_info(struct sim_modem *m, const char *fmt, ...)
{
    if (!m->any_info) {
        sim_buf_put(&m->response, "\r\n", 2);
        m->any_info = true;
    }
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(&m->response, fmt, ap);
    va_end(ap);
    sim_buf_put(&m->response, "\r\n", 2);
}

void sim_info_raw(struct sim_modem *m, const void *data, size_t len)
{
    sim_buf_put(&m->response, data, len);
}

void sim_urc(struct sim_modem *m, const char *fmt, ...)
{
    sim_buf_put(&m->urc_queue, "\r\n", 2);
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(&m->urc_queue, fmt, ap);
    va_end(ap);
    sim_buf_put(&m->urc_queue, "\r\n", 2);
    m->counters.urcs++;
    flush_urcs(m);
}

void sim_urc_begin(struct sim_modem *m)
{
    sim_buf_clear(&m->urc_build);
}

void sim_urc_line(struct sim_modem *m, const char *fmt, ...)
{
    sim_buf_put(&m->urc_build, "\r\n", 2);
    va_list ap;
    va_start(ap, fmt);
    sim_buf_vprintf(&m->urc_build, fmt, ap);
    va_end(ap);
    sim_buf_put(&m->urc_build, "\r\n", 2);
}

void sim_urc_raw(struct sim_modem *m, const void *data, size_t len)
{
    sim_buf_put(&m->urc_build, data, len);
}

void sim_urc_end(struct sim_modem *m)
{
    sim_buf_put(&m->urc_queue, m->urc_build.data + m->urc_build.head, sim_buf_used(&m->urc_build));
    sim_buf_clear(&m->urc_build);
    m->counters.urcs++;
    flush_urcs(m);
}

enum sim_at_status sim_cme(struct sim_modem *m, int code)
{
    m->cme_code = code;
    return SIM_AT_CME;
}

enum sim_at_status sim_two_phase(struct sim_modem *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (m->cfg.order == SIM_ORDER_OK_FIRST) {
        sim_buf_put(&m->after_final, "\r\n", 2);
        sim_buf_vprintf(&m->after_final, fmt, ap);
        sim_buf_put(&m->after_final, "\r\n", 2);
    } else {
        if (!m->any_info) {
            sim_buf_put(&m->response, "\r\n", 2);
            m->any_info = true;
        }
        sim_buf_vprintf(&m->response, fmt, ap);
        sim_buf_put(&m->response, "\r\n", 2);
    }
    va_end(ap);
    return SIM_AT_OK;
}

void sim_after_final_line(struct sim_modem *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sim_buf_put(&m->after_final, "\r\n", 2);
    sim_buf_vprintf(&m->after_final, fmt, ap);
    sim_buf_put(&m->after_final, "\r\n", 2);
    va_end(ap);
}

void sim_after_final_raw(struct sim_modem *m, const void *data, size_t len)
{
    sim_buf_put(&m->after_final, data, len);
}

const char *sim_cme_text(int code)
{
    switch (code) {
    case 0: return "phone failure";
    case 3: return "operation not allowed";
    case 4: return "operation not supported";
    case 10: return "SIM not inserted";
    case 11: return "SIM PIN required";
    case 12: return "SIM PUK required";
    case 13: return "SIM failure";
    case 14: return "SIM busy";
    case 15: return "SIM wrong";
    case 16: return "incorrect password";
    case 25: return "invalid characters in text string";
    case 30: return "no network service";
    case 31: return "network timeout";
    case 107: return "GPRS services not allowed";
    case 111: return "PLMN not allowed";
    case 148: return "unspecified GPRS error";
    case 149: return "PDP authentication failure";
    default: return "unknown";
    }
}

static void drain_backlog(struct sim_modem *m);

/* Make the held response of the finished line visible and move on. */
static void release_response(struct sim_modem *m)
{
    m->release_at_ms = 0;
    flush_response(m);
    size_t n = sim_buf_used(&m->after_final);
    if (n > 0) {
        sim_buf_put(&m->tx, m->after_final.data + m->after_final.head, n);
        sim_buf_clear(&m->after_final);
    }
    m->busy = false;
    if (m->reset_requested) {
        m->reset_requested = false;
        sim_modem_reset(m);
        return;
    }
    flush_urcs(m);
    drain_backlog(m);
}

/* Append the final result code and release the response (now or after the latency). */
static void finish_line(struct sim_modem *m, enum sim_at_status status)
{
    switch (status) {
    case SIM_AT_OK:
        sim_buf_put(&m->response, "\r\nOK\r\n", 6);
        break;
    case SIM_AT_CME:
        m->counters.errors++;
        if (m->cmee == 0) {
            sim_buf_put(&m->response, "\r\nERROR\r\n", 9);
        } else if (m->cmee == 1) {
            sim_buf_printf(&m->response, "\r\n+CME ERROR: %d\r\n", m->cme_code);
        } else {
            sim_buf_printf(&m->response, "\r\n+CME ERROR: %s\r\n", sim_cme_text(m->cme_code));
        }
        break;
    default:
        m->counters.errors++;
        sim_buf_put(&m->response, "\r\nERROR\r\n", 9);
        break;
    }
    free(m->exec_line);
    m->exec_line = NULL;
    if (m->cfg.latency == SIM_LATENCY_REALISTIC && m->line_latency_ms > 0) {
        m->release_at_ms = sim_now_ms(m) + m->line_latency_ms;
        return;
    }
    release_response(m);
}

void sim_at_line_done(struct sim_modem *m, enum sim_at_status status)
{
    finish_line(m, status);
}

void sim_at_finish(struct sim_modem *m, enum sim_at_status status)
{
    if (!m->busy || m->exec_line == NULL) {
        return;
    }
    if (status == SIM_AT_OK) {
        sim_at_run_line(m); /* continue with the next chained command */
    } else if (status != SIM_AT_PENDING && status != SIM_AT_PROMPT) {
        finish_line(m, status);
    }
}

/* ------------------------------------------------------------- prompts */

static void send_prompt(struct sim_modem *m)
{
    flush_response(m);
    sim_buf_put(&m->tx, m->cfg.prompt_space ? "\r\n> " : "\r\n>", m->cfg.prompt_space ? 4 : 3);
}

enum sim_at_status sim_prompt(struct sim_modem *m, size_t len, sim_prompt_fn fn, void *ctx)
{
    m->rx_state = SIM_RX_PROMPT_FIXED;
    m->prompt_skip_lf = true;
    m->prompt_len = len;
    m->prompt_got = 0;
    m->prompt_fn = fn;
    m->prompt_ctx = ctx;
    sim_buf_clear(&m->prompt_data);
    send_prompt(m);
    return SIM_AT_PROMPT;
}

enum sim_at_status sim_prompt_ctrlz(struct sim_modem *m, size_t max, sim_prompt_fn fn, void *ctx)
{
    m->rx_state = SIM_RX_PROMPT_CTRLZ;
    m->prompt_skip_lf = true;
    m->prompt_max = max;
    m->prompt_got = 0;
    m->prompt_escape = false;
    m->prompt_fn = fn;
    m->prompt_ctx = ctx;
    sim_buf_clear(&m->prompt_data);
    send_prompt(m);
    return SIM_AT_PROMPT;
}

static void prompt_complete(struct sim_modem *m, bool cancelled)
{
    m->rx_state = SIM_RX_LINE;
    enum sim_at_status status = SIM_AT_OK;
    if (!cancelled) {
        const uint8_t *data = m->prompt_data.data ? m->prompt_data.data + m->prompt_data.head : (const uint8_t *)"";
        status = m->prompt_fn(m, m->prompt_ctx, data, sim_buf_used(&m->prompt_data));
        if (status == SIM_AT_OK && m->prompt_got > m->prompt_max && m->prompt_max > 0) {
            status = SIM_AT_ERROR;
        }
    }
    sim_buf_clear(&m->prompt_data);
    if (status == SIM_AT_PENDING) {
        return;
    }
    if (status == SIM_AT_PROMPT) {
        return; /* the handler opened another prompt */
    }
    finish_line(m, status);
}

/* Take prompt bytes; returns how many were consumed. */
static size_t feed_prompt(struct sim_modem *m, const uint8_t *data, size_t len)
{
    if (m->prompt_skip_lf) {
        /* Hosts end lines with CR LF (TinyGSM sends "AT+CIPSEND=0,27\r\n", waits for '>', then
         * the data): the LF belongs to the command line, as on the real module. */
        m->prompt_skip_lf = false;
        if (data[0] == '\n') {
            return 1;
        }
    }
    if (m->rx_state == SIM_RX_PROMPT_FIXED) {
        size_t want = m->prompt_len - m->prompt_got;
        size_t n = len < want ? len : want;
        sim_buf_put(&m->prompt_data, data, n);
        if (m->echo && m->cfg.echo_prompt_data) {
            sim_buf_put(&m->tx, data, n);
        }
        m->prompt_got += n;
        if (m->prompt_got == m->prompt_len) {
            prompt_complete(m, false);
        }
        return n;
    }
    size_t i = 0;
    while (i < len && m->rx_state == SIM_RX_PROMPT_CTRLZ) {
        uint8_t c = data[i++];
        if (m->echo && m->cfg.echo_prompt_data) {
            sim_buf_put(&m->tx, &c, 1);
        }
        if (m->prompt_escape) {
            m->prompt_escape = false;
        } else if (c == ETX) {
            m->prompt_escape = true;
            continue;
        } else if (c == CTRL_Z) {
            prompt_complete(m, false);
            break;
        } else if (c == ESC) {
            prompt_complete(m, true);
            break;
        }
        m->prompt_got++;
        if (m->prompt_got <= m->prompt_max) {
            sim_buf_put(&m->prompt_data, &c, 1);
        }
    }
    return i;
}

/* ------------------------------------------------------------- line input */

/* Find the "AT" prefix (any case); returns its offset or -1. */
static long find_at_prefix(const char *line, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++) {
        if ((line[i] == 'A' || line[i] == 'a') && (line[i + 1] == 'T' || line[i + 1] == 't')) {
            return (long)i;
        }
    }
    return -1;
}

static void start_line(struct sim_modem *m)
{
    bool overflow = m->line_overflow;
    size_t len = m->line_len;
    m->line_len = 0;
    m->line_overflow = false;
    m->line[len] = '\0';
    long at = overflow ? 0 : find_at_prefix(m->line, len);
    if (!overflow && at < 0) {
        return; /* no AT prefix: a real module ignores the line */
    }
    m->busy = true;
    m->any_info = false;
    m->line_latency_ms = 0;
    m->cme_code = 0;
    sim_buf_clear(&m->response);
    sim_buf_clear(&m->after_final);
    if (overflow) {
        m->exec_line = NULL;
        finish_line(m, SIM_AT_ERROR);
        return;
    }
    m->counters.commands++;
    m->exec_line = strdup(m->line + at + 2);
    m->exec_pos = 0;
    if (m->exec_line == NULL) {
        finish_line(m, SIM_AT_ERROR);
        return;
    }
    sim_at_run_line(m);
}

static void feed_line_byte(struct sim_modem *m, uint8_t c)
{
    if (m->echo) {
        sim_buf_put(&m->tx, &c, 1);
    }
    if (c == '\r') {
        start_line(m);
        return;
    }
    if (c == '\n' && m->line_len == 0) {
        return;
    }
    if (c == 0x08 || c == 0x7F) {
        if (m->line_len > 0) {
            m->line_len--;
        }
        return;
    }
    if (m->line_len >= m->cfg.max_line) {
        m->line_overflow = true;
        return;
    }
    m->line[m->line_len++] = (char)c;
}

/* Feed bytes while the modem can take them; returns how many were consumed. */
static size_t feed(struct sim_modem *m, const uint8_t *data, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (in_prompt(m)) {
            i += feed_prompt(m, data + i, len - i);
            continue;
        }
        if (m->busy) {
            break;
        }
        feed_line_byte(m, data[i++]);
    }
    return i;
}

/*
 * Feed the input that arrived while a command was in progress. A line that
 * finishes inside feed() releases its response and would call us again: the
 * draining flag keeps that inner call out, and the outer loop goes on. A
 * reset inside feed() throws the backlog away (generation bump).
 */
static void drain_backlog(struct sim_modem *m)
{
    if (m->draining) {
        return;
    }
    m->draining = true;
    while (sim_buf_used(&m->rx_backlog) > 0 && (!m->busy || in_prompt(m))) {
        uint64_t generation = m->backlog_generation;
        size_t used = feed(m, m->rx_backlog.data + m->rx_backlog.head, sim_buf_used(&m->rx_backlog));
        if (generation != m->backlog_generation) {
            continue; /* the backlog was discarded under us */
        }
        if (used == 0) {
            break;
        }
        m->rx_backlog.head += used;
        if (m->rx_backlog.head == m->rx_backlog.len) {
            sim_buf_clear(&m->rx_backlog);
        }
    }
    m->draining = false;
}

static bool stalled(const struct sim_modem *m)
{
    return m->stall_until_ms != 0 && sim_now_ms(m) < m->stall_until_ms;
}

/* Apply the RX loss/corruption faults to one chunk in place; returns the kept length. */
static size_t rx_faults(struct sim_modem *m, uint8_t *data, size_t len)
{
    size_t kept = 0;
    for (size_t i = 0; i < len; i++) {
        if (chance(m, m->rx_loss)) {
            m->counters.rx_dropped++;
            continue;
        }
        uint8_t c = data[i];
        if (chance(m, m->rx_corrupt)) {
            c ^= (uint8_t)(1u << (sim_random(m) % 8));
            m->counters.rx_corrupted++;
        }
        data[kept++] = c;
    }
    return kept;
}

void sim_modem_input(struct sim_modem *m, const uint8_t *data, size_t len)
{
    if (len == 0) {
        return;
    }
    if (m->tap != NULL) {
        m->tap(m->tap_ctx, SIM_DIR_RX, data, len);
    }
    m->counters.rx_bytes += len;
    if (m->booting || stalled(m)) {
        m->counters.rx_dropped += len;
        return; /* nobody is listening */
    }
    uint8_t local[512];
    while (len > 0) {
        size_t n = len < sizeof(local) ? len : sizeof(local);
        memcpy(local, data, n);
        data += n;
        len -= n;
        size_t kept = (m->rx_loss > 0 || m->rx_corrupt > 0) ? rx_faults(m, local, n) : n;
        if (sim_buf_used(&m->rx_backlog) > 0) {
            sim_buf_put(&m->rx_backlog, local, kept);
            continue;
        }
        size_t used = feed(m, local, kept);
        sim_buf_put(&m->rx_backlog, local + used, kept - used);
    }
    drain_backlog(m);
}

size_t sim_modem_output_pending(const struct sim_modem *m)
{
    if (stalled(m)) {
        return 0;
    }
    return sim_buf_used(&m->tx);
}

size_t sim_modem_output(struct sim_modem *m, uint8_t *buf, size_t cap)
{
    if (stalled(m)) {
        return 0;
    }
    size_t n = sim_buf_take(&m->tx, buf, cap);
    if (m->tx_loss > 0 || m->tx_corrupt > 0) {
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) {
            if (chance(m, m->tx_loss)) {
                m->counters.tx_dropped++;
                continue;
            }
            uint8_t c = buf[i];
            if (chance(m, m->tx_corrupt)) {
                c ^= (uint8_t)(1u << (sim_random(m) % 8));
                m->counters.tx_corrupted++;
            }
            buf[kept++] = c;
        }
        n = kept;
    }
    if (n > 0 && m->tap != NULL) {
        m->tap(m->tap_ctx, SIM_DIR_TX, buf, n);
    }
    m->counters.tx_bytes += n;
    return n;
}

/* ------------------------------------------------------------- reset */

void sim_teardown_all(struct sim_modem *m, enum sim_teardown why)
{
    for (size_t i = 0; i < sim_group_count; i++) {
        if (sim_groups[i]->teardown != NULL) {
            sim_groups[i]->teardown(m, why);
        }
    }
}

/*
 * Boot URCs after a reset, at offsets from the start of the boot (virtual
 * ms). All but RDY report the SIM's initialisation, so a module without a
 * SIM sends only RDY (what it sends instead of +CPIN: READY is unconfirmed,
 * reference §1 AT+CPIN).
 */
static const struct {
    const char *text;
    uint32_t realistic_offset_ms;
    bool needs_sim;
} boot_urcs[] = {
    { "RDY", 0, false },
    { "+CPIN: READY", 100, true },
    { "SMS DONE", 5000, true },
    { "PB DONE", 7000, true },
};

void sim_modem_reset(struct sim_modem *m)
{
    m->counters.resets++;
    m->stall_until_ms = 0; /* a reset brings a hung module back */
    sim_teardown_all(m, SIM_DOWN_RESET);
    /* Whatever the host was in the middle of is lost. */
    free(m->exec_line);
    m->exec_line = NULL;
    sim_buf_clear(&m->rx_backlog);
    m->backlog_generation++;
    sim_buf_clear(&m->prompt_data);
    m->rx_state = SIM_RX_LINE;
    m->line_len = 0;
    m->line_overflow = false;
    m->reset_requested = false;
    m->release_at_ms = 0;
    flush_response(m);
    sim_buf_put(&m->tx, m->after_final.data + m->after_final.head, sim_buf_used(&m->after_final));
    sim_buf_clear(&m->after_final);
    m->busy = false;
    power_up_settings(m);
    flush_urcs(m);
    m->booting = true;
    m->boot_next = 0;
    m->boot_start_ms = sim_now_ms(m);
}

void sim_modem_request_reset(struct sim_modem *m)
{
    m->reset_requested = true;
}

static int64_t boot_urc_due(const struct sim_modem *m, size_t i)
{
    int64_t offset = m->cfg.latency == SIM_LATENCY_REALISTIC ? boot_urcs[i].realistic_offset_ms : 0;
    return m->boot_start_ms + m->cfg.boot_ms + offset;
}

/* Emit the boot URCs that are due; input is served again from RDY on. */
static void service_boot(struct sim_modem *m, int64_t now)
{
    size_t count = sizeof(boot_urcs) / sizeof(boot_urcs[0]);
    while (m->boot_next < count && now >= boot_urc_due(m, m->boot_next)) {
        m->booting = false; /* RDY: the AT interface is up */
        if (m->sim_present || !boot_urcs[m->boot_next].needs_sim) {
            sim_urc(m, "%s", boot_urcs[m->boot_next].text);
        }
        m->boot_next++;
    }
}

/* ------------------------------------------------------------- poll loop */

void sim_pollset_reset(struct sim_pollset *ps)
{
    ps->count = 0;
    ps->timeout_ms = -1;
}

int sim_pollset_add(struct sim_pollset *ps, int fd, short events)
{
    if (ps->count >= SIM_POLLSET_MAX) {
        return -1;
    }
    ps->fds[ps->count].fd = fd;
    ps->fds[ps->count].events = events;
    ps->fds[ps->count].revents = 0;
    return ps->count++;
}

void sim_pollset_deadline(const struct sim_modem *m, struct sim_pollset *ps, int64_t deadline_ms)
{
    int64_t ns = vclock_real_ns_until(m->cfg.clock, deadline_ms * VCLOCK_NS_PER_MS);
    if (ns < 0) {
        ns = 50 * VCLOCK_NS_PER_MS; /* frozen clock: look again soon */
    }
    int64_t ms = (ns + VCLOCK_NS_PER_MS - 1) / VCLOCK_NS_PER_MS;
    if (m->cfg.clock != NULL && ms > 20) {
        ms = 20; /* the owner may jump or change the rate at any moment */
    }
    if (ms > 60000) {
        ms = 60000;
    }
    if (ps->timeout_ms < 0 || ms < ps->timeout_ms) {
        ps->timeout_ms = (int)ms;
    }
}

void sim_modem_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    if (m->release_at_ms != 0) {
        sim_pollset_deadline(m, ps, m->release_at_ms);
    }
    if (m->boot_next < sizeof(boot_urcs) / sizeof(boot_urcs[0]) && (m->booting || m->boot_next > 0)) {
        sim_pollset_deadline(m, ps, boot_urc_due(m, m->boot_next));
    }
    if (m->stall_until_ms != 0) {
        sim_pollset_deadline(m, ps, m->stall_until_ms);
    }
    for (size_t i = 0; i < sim_group_count; i++) {
        if (sim_groups[i]->prepare != NULL) {
            sim_groups[i]->prepare(m, ps);
        }
    }
}

void sim_modem_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    int64_t now = sim_now_ms(m);
    if (m->stall_until_ms != 0 && now >= m->stall_until_ms) {
        m->stall_until_ms = 0;
    }
    if (m->booting || (m->boot_next > 0 && m->boot_next < sizeof(boot_urcs) / sizeof(boot_urcs[0]))) {
        service_boot(m, now);
    }
    for (size_t i = 0; i < sim_group_count; i++) {
        if (sim_groups[i]->dispatch != NULL) {
            sim_groups[i]->dispatch(m, ps);
        }
    }
    if (m->release_at_ms != 0 && now >= m->release_at_ms) {
        release_response(m);
    }
}
