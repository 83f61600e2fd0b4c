/*
 * fw_sim7600_setup.c - SIM7600 bring-up (see fw_sim7600_setup.h).
 *
 * The setup walks the steps of enum fw_sim7600_setup_step in order. Steps
 * with a sub-index (certificates to download, SSL options) repeat with the
 * next index; steps that do not apply are skipped. Waiting steps (sync, SIM,
 * registration) retry after a pause measured on the port's clock.
 */
#include <string.h>

#include "fw_fmt.h"
#include "fw_sim7600_setup.h"

#define FW_SIM7600_SETUP_REGISTER_DEFAULT_MS 120000u
#define FW_SIM7600_SETUP_SSL_OPTIONS 6u

/* How each waiting step retries. */
struct fw_sim7600_setup__policy {
    uint32_t timeout_ms;
    unsigned tries;              /* 0: until the step's own deadline */
    uint32_t pause_ms;
};

static const struct fw_sim7600_setup__policy fw_sim7600_setup__policies[] = {
    [FW_SIM7600_STEP_SYNC] = {500, 20, 200},
    [FW_SIM7600_STEP_ECHO_OFF] = {1000, 1, 0},
    [FW_SIM7600_STEP_ERRORS] = {1000, 1, 0},
    [FW_SIM7600_STEP_SIM] = {5000, 10, 1000},
    [FW_SIM7600_STEP_REGISTER] = {2000, 0, 1000},
    [FW_SIM7600_STEP_APN] = {2000, 1, 0},
    [FW_SIM7600_STEP_CERT_LIST] = {5000, 1, 0},
    [FW_SIM7600_STEP_CERT_DELETE] = {5000, 1, 0},
    [FW_SIM7600_STEP_CERT_DOWN] = {20000, 1, 0},
    [FW_SIM7600_STEP_SSL] = {2000, 1, 0},
    [FW_SIM7600_STEP_DONE] = {0, 1, 0},
};

static uint32_t fw_sim7600_setup__now(const struct fw_sim7600_setup *s)
{
    const struct fw_port *port = fw_sim7600_at(s->modem)->cfg.port;
    return port->now_ms(port->ctx);
}

/* ---- parameter checks --------------------------------------------------- */

static bool fw_sim7600_setup__plain(const char *text, size_t min, size_t max)
{
    size_t n, i;
    if (text == NULL)
        return false;
    n = strlen(text);
    for (i = 0; i < n; i++) {
        if (text[i] == '"' || text[i] == '\r' || text[i] == '\n')
            return false;
    }
    return n >= min && n <= max;
}

static bool fw_sim7600_setup__valid(const struct fw_sim7600_setup_params *p)
{
    size_t i;
    if (p->n_certs > FW_SIM7600_SETUP_MAX_CERTS || (p->n_certs > 0 && p->certs == NULL) ||
        p->n_remove > FW_SIM7600_SETUP_MAX_CERTS || (p->n_remove > 0 && p->remove == NULL) ||
        p->ssl_ctx < -1 || p->ssl_ctx > 9 || (p->apn != NULL && !fw_sim7600_setup__plain(p->apn, 1, 100)))
        return false;
    for (i = 0; i < p->n_certs; i++) {
        if (!fw_sim7600_setup__plain(p->certs[i].name, 5, 108) || p->certs[i].data == NULL ||
            p->certs[i].len == 0 || p->certs[i].len > 10240u)
            return false;
    }
    for (i = 0; i < p->n_remove; i++) {
        if (!fw_sim7600_setup__plain(p->remove[i], 1, 108))
            return false;
    }
    if (p->ssl_ctx < 0)
        return true;
    if ((p->clientcert == NULL) != (p->clientkey == NULL))
        return false;
    return fw_sim7600_setup__plain(p->cacert, 5, 108) &&
           (p->clientcert == NULL || (fw_sim7600_setup__plain(p->clientcert, 5, 108) &&
                                      fw_sim7600_setup__plain(p->clientkey, 5, 108)));
}

/* ---- which steps apply -------------------------------------------------- */

/* True when the current (step, sub) has a command to send. */
static bool fw_sim7600_setup__applies(const struct fw_sim7600_setup *s)
{
    const struct fw_sim7600_setup_params *p = &s->params;
    switch (s->step) {
    case FW_SIM7600_STEP_APN: return p->apn != NULL;
    case FW_SIM7600_STEP_CERT_LIST: return p->n_certs > 0 || p->n_remove > 0;
    case FW_SIM7600_STEP_CERT_DELETE:
        return s->sub < p->n_remove && (s->listed_remove & (1u << s->sub)) != 0;
    case FW_SIM7600_STEP_CERT_DOWN:
        return s->sub < p->n_certs && (s->present & (1u << s->sub)) == 0;
    case FW_SIM7600_STEP_SSL:
        if (p->ssl_ctx < 0 || s->sub >= FW_SIM7600_SETUP_SSL_OPTIONS)
            return false;
        return (s->sub != 3 && s->sub != 4) || p->clientcert != NULL;
    default: return true;
    }
}

/* Number of sub-indices of a step. */
static unsigned fw_sim7600_setup__subs(const struct fw_sim7600_setup *s)
{
    if (s->step == FW_SIM7600_STEP_CERT_DOWN)
        return (unsigned)s->params.n_certs;
    if (s->step == FW_SIM7600_STEP_CERT_DELETE)
        return (unsigned)s->params.n_remove;
    if (s->step == FW_SIM7600_STEP_SSL)
        return FW_SIM7600_SETUP_SSL_OPTIONS;
    return 1;
}

/* ---- commands ----------------------------------------------------------- */

static void fw_sim7600_setup__ssl_option(const struct fw_sim7600_setup *s, struct fw_fmt *f)
{
    static const char *const keys[FW_SIM7600_SETUP_SSL_OPTIONS] = {
        "sslversion", "authmode", "cacert", "clientcert", "clientkey", "enableSNI"};
    const struct fw_sim7600_setup_params *p = &s->params;
    fw_fmt__str(f, "AT+CSSLCFG=");
    fw_fmt__quoted(f, keys[s->sub]);
    fw_fmt__str(f, ",");
    fw_fmt__uint(f, (uint32_t)p->ssl_ctx);
    fw_fmt__str(f, ",");
    switch (s->sub) {
    case 0: fw_fmt__str(f, "4"); break; /* any TLS version */
    case 1: fw_fmt__str(f, p->clientcert != NULL ? "2" : "1"); break;
    case 2: fw_fmt__quoted(f, p->cacert); break;
    case 3: fw_fmt__quoted(f, p->clientcert); break;
    case 4: fw_fmt__quoted(f, p->clientkey); break;
    default: fw_fmt__str(f, p->sni ? "1" : "0"); break;
    }
}

static bool fw_sim7600_setup__build(struct fw_sim7600_setup *s, struct fw_at_request *req)
{
    struct fw_fmt f = {s->cmd, sizeof(s->cmd), 0, false};
    const struct fw_sim7600_cert *cert;
    switch (s->step) {
    case FW_SIM7600_STEP_SYNC: fw_fmt__str(&f, "AT"); break;
    case FW_SIM7600_STEP_ECHO_OFF: fw_fmt__str(&f, "ATE0"); break;
    case FW_SIM7600_STEP_ERRORS: fw_fmt__str(&f, "AT+CMEE=2"); break;
    case FW_SIM7600_STEP_SIM: fw_fmt__str(&f, "AT+CPIN?"); break;
    case FW_SIM7600_STEP_REGISTER: fw_fmt__str(&f, "AT+CGREG?"); break;
    case FW_SIM7600_STEP_APN:
        fw_fmt__str(&f, "AT+CGDCONT=1,\"IP\",");
        fw_fmt__quoted(&f, s->params.apn);
        break;
    case FW_SIM7600_STEP_CERT_LIST: fw_fmt__str(&f, "AT+CCERTLIST"); break;
    case FW_SIM7600_STEP_CERT_DELETE:
        fw_fmt__str(&f, "AT+CCERTDELE=");
        fw_fmt__quoted(&f, s->params.remove[s->sub]);
        break;
    case FW_SIM7600_STEP_CERT_DOWN:
        cert = &s->params.certs[s->sub];
        fw_fmt__str(&f, "AT+CCERTDOWN=");
        fw_fmt__quoted(&f, cert->name);
        fw_fmt__str(&f, ",");
        fw_fmt__uint(&f, (uint32_t)cert->len);
        req->data = cert->data;
        req->data_len = cert->len;
        break;
    case FW_SIM7600_STEP_SSL: fw_sim7600_setup__ssl_option(s, &f); break;
    default: return false;
    }
    req->cmd = s->cmd;
    req->timeout_ms = fw_sim7600_setup__policies[s->step].timeout_ms;
    return !f.bad;
}

static bool fw_sim7600_setup__quoted_equals(const char *line, size_t len, const char *name)
{
    char text[112];
    return fw_at_arg_str(line, len, 0, text, sizeof(text), NULL) && strcmp(text, name) == 0;
}

static void fw_sim7600_setup__on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_sim7600_setup *s = ctx;
    int32_t stat;
    size_t i;
    switch (s->step) {
    case FW_SIM7600_STEP_SIM:
        if (len == 12 && memcmp(line, "+CPIN: READY", 12) == 0)
            s->accepted = true;
        return;
    case FW_SIM7600_STEP_REGISTER: /* +CGREG: <n>,<stat>[,<lac>,<ci>] */
        if (len > 7 && memcmp(line, "+CGREG:", 7) == 0 && fw_at_arg_int(line, len, 1, &stat) &&
            (stat == 1 || stat == 5))
            s->accepted = true;
        return;
    case FW_SIM7600_STEP_CERT_LIST:
        if (len <= 11 || memcmp(line, "+CCERTLIST:", 11) != 0)
            return;
        for (i = 0; i < s->params.n_certs; i++) {
            if (fw_sim7600_setup__quoted_equals(line, len, s->params.certs[i].name))
                s->present |= 1u << i;
        }
        for (i = 0; i < s->params.n_remove; i++) {
            if (fw_sim7600_setup__quoted_equals(line, len, s->params.remove[i]))
                s->listed_remove |= 1u << i;
        }
        return;
    default:
        return;
    }
}

/* ---- the walk ----------------------------------------------------------- */

static void fw_sim7600_setup__send(struct fw_sim7600_setup *s)
{
    struct fw_at_request req;
    memset(&req, 0, sizeof(req));
    req.on_line = fw_sim7600_setup__on_line;
    req.ctx = s;
    s->accepted = false;
    s->pausing = false;
    if (!fw_sim7600_setup__build(s, &req) ||
        fw_at_send(fw_sim7600_at(s->modem), &req) != FW_AT_IN_PROGRESS) {
        s->last = *fw_at_result(fw_sim7600_at(s->modem));
        s->status = FW_SIM7600_SETUP_FAILED;
    }
}

/* From the current (step, sub), find the next command that applies. */
static void fw_sim7600_setup__advance(struct fw_sim7600_setup *s)
{
    while (s->step != FW_SIM7600_STEP_DONE && !fw_sim7600_setup__applies(s)) {
        if (++s->sub >= fw_sim7600_setup__subs(s)) {
            s->step = (enum fw_sim7600_setup_step)(s->step + 1);
            s->sub = 0;
            s->step_started_ms = fw_sim7600_setup__now(s);
        }
    }
    s->tries = 0;
    if (s->step == FW_SIM7600_STEP_DONE) {
        s->status = FW_SIM7600_SETUP_OK;
        return;
    }
    fw_sim7600_setup__send(s);
}

static void fw_sim7600_setup__next(struct fw_sim7600_setup *s)
{
    if (++s->sub >= fw_sim7600_setup__subs(s)) {
        s->step = (enum fw_sim7600_setup_step)(s->step + 1);
        s->sub = 0;
        s->step_started_ms = fw_sim7600_setup__now(s);
    }
    fw_sim7600_setup__advance(s);
}

static bool fw_sim7600_setup__needs_line(const struct fw_sim7600_setup *s)
{
    return s->step == FW_SIM7600_STEP_SIM || s->step == FW_SIM7600_STEP_REGISTER;
}

/* The modem answered none of the sync tries: pulse its reset line once (if
 * the port has one) and sync again; the sync tries outlast its boot. */
static bool fw_sim7600_setup__reset_modem(struct fw_sim7600_setup *s)
{
    const struct fw_port *port = fw_sim7600_at(s->modem)->cfg.port;
    if (s->step != FW_SIM7600_STEP_SYNC || s->reset_pulsed || port->modem_reset == NULL ||
        s->last.status != FW_AT_TIMEOUT)
        return false;
    s->reset_pulsed = true;
    if (port->modem_reset(port->ctx) < 0) {
        if (port->log != NULL)
            port->log(port->ctx, FW_LOG_ERROR, "setup", "modem reset line failed", NULL, 0);
        return false;
    }
    if (port->log != NULL)
        port->log(port->ctx, FW_LOG_WARN, "setup", "modem silent: reset line pulsed", NULL, 0);
    s->tries = 0;
    return true;
}

/* Another try of the current step, or failure. */
static void fw_sim7600_setup__retry(struct fw_sim7600_setup *s)
{
    const struct fw_sim7600_setup__policy *pol = &fw_sim7600_setup__policies[s->step];
    uint32_t now = fw_sim7600_setup__now(s);
    bool more;
    s->tries++;
    if (pol->tries > 0)
        more = s->tries < pol->tries || fw_sim7600_setup__reset_modem(s);
    else
        more = (int32_t)(now + pol->pause_ms - (s->step_started_ms + s->params.register_timeout_ms)) < 0;
    if (!more || s->last.status == FW_AT_PORT_ERROR) {
        s->status = FW_SIM7600_SETUP_FAILED;
        return;
    }
    s->pausing = true;
    s->resume_ms = now + pol->pause_ms;
}

bool fw_sim7600_setup_next_deadline_ms(const struct fw_sim7600_setup *s, uint32_t *deadline_ms)
{
    bool has;
    if (s == NULL || s->modem == NULL || deadline_ms == NULL)
        return false;
    has = fw_at_next_deadline_ms(&s->modem->at, deadline_ms);
    if (s->status == FW_SIM7600_SETUP_BUSY && s->pausing)
        fw_deadline_keep_earliest(&has, deadline_ms, s->resume_ms);
    return has;
}

enum fw_sim7600_setup_status fw_sim7600_setup_poll(struct fw_sim7600_setup *s)
{
    enum fw_at_status st;
    if (s == NULL || s->modem == NULL)
        return FW_SIM7600_SETUP_BAD_ARG;
    if (s->status != FW_SIM7600_SETUP_BUSY)
        return s->status;
    st = fw_at_poll(fw_sim7600_at(s->modem));
    if (s->pausing) {
        if ((int32_t)(fw_sim7600_setup__now(s) - s->resume_ms) >= 0)
            fw_sim7600_setup__send(s);
        return s->status;
    }
    if (st == FW_AT_IN_PROGRESS)
        return s->status;
    s->last = *fw_at_result(fw_sim7600_at(s->modem));
    /* a file that cannot be deleted only takes room: go on without it */
    if ((st == FW_AT_OK && (!fw_sim7600_setup__needs_line(s) || s->accepted)) ||
        (s->step == FW_SIM7600_STEP_CERT_DELETE && st != FW_AT_PORT_ERROR)) {
        if (s->step == FW_SIM7600_STEP_CERT_DOWN)
            s->downloaded |= 1u << s->sub;
        fw_sim7600_setup__next(s);
    } else {
        fw_sim7600_setup__retry(s);
    }
    return s->status;
}

enum fw_sim7600_setup_status fw_sim7600_setup_start(struct fw_sim7600_setup *s,
                                                    struct fw_sim7600 *d,
                                                    const struct fw_sim7600_setup_params *p)
{
    if (s == NULL || d == NULL || p == NULL || !fw_sim7600_setup__valid(p))
        return FW_SIM7600_SETUP_BAD_ARG;
    if (fw_at_result(fw_sim7600_at(d))->status == FW_AT_IN_PROGRESS)
        return FW_SIM7600_SETUP_BAD_ARG;
    memset(s, 0, sizeof(*s));
    s->modem = d;
    s->params = *p;
    if (s->params.register_timeout_ms == 0)
        s->params.register_timeout_ms = FW_SIM7600_SETUP_REGISTER_DEFAULT_MS;
    s->status = FW_SIM7600_SETUP_BUSY;
    s->step = FW_SIM7600_STEP_SYNC;
    s->step_started_ms = fw_sim7600_setup__now(s);
    fw_sim7600_setup__advance(s);
    return s->status;
}

enum fw_sim7600_setup_step fw_sim7600_setup_failed_step(const struct fw_sim7600_setup *s,
                                                        struct fw_at_result *result)
{
    if (result != NULL)
        *result = s->last;
    return s->step;
}

bool fw_sim7600_setup_reset_pulsed(const struct fw_sim7600_setup *s)
{
    return s->reset_pulsed;
}

uint32_t fw_sim7600_setup_downloaded(const struct fw_sim7600_setup *s)
{
    return s->downloaded;
}

const char *fw_sim7600_setup_status_str(enum fw_sim7600_setup_status status)
{
    switch (status) {
    case FW_SIM7600_SETUP_OK: return "ok";
    case FW_SIM7600_SETUP_BUSY: return "busy";
    case FW_SIM7600_SETUP_FAILED: return "failed";
    case FW_SIM7600_SETUP_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}

const char *fw_sim7600_setup_step_str(enum fw_sim7600_setup_step step)
{
    switch (step) {
    case FW_SIM7600_STEP_SYNC: return "sync (AT)";
    case FW_SIM7600_STEP_ECHO_OFF: return "echo off (ATE0)";
    case FW_SIM7600_STEP_ERRORS: return "error reports (AT+CMEE)";
    case FW_SIM7600_STEP_SIM: return "SIM ready (AT+CPIN?)";
    case FW_SIM7600_STEP_REGISTER: return "registration (AT+CGREG?)";
    case FW_SIM7600_STEP_APN: return "APN (AT+CGDCONT)";
    case FW_SIM7600_STEP_CERT_LIST: return "certificate list (AT+CCERTLIST)";
    case FW_SIM7600_STEP_CERT_DELETE: return "certificate delete (AT+CCERTDELE)";
    case FW_SIM7600_STEP_CERT_DOWN: return "certificate download (AT+CCERTDOWN)";
    case FW_SIM7600_STEP_SSL: return "SSL context (AT+CSSLCFG)";
    case FW_SIM7600_STEP_DONE: return "done";
    }
    return "unknown step";
}
