/*
 * fw_rotation.c - endpoint and CA rotation with fall-back (see fw_rotation.h).
 */
#include <string.h>

#include "fw_rotation.h"

#define FW_ROTATION_MAGIC 0x52543031u /* "RT01" */

/* ---- helpers ------------------------------------------------------------ */

/* CRC-32 (IEEE 802.3, reflected), bit by bit. */
static uint32_t fw_rotation__crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    size_t i;
    unsigned b;
    crc = ~crc;
    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static void fw_rotation__log(const struct fw_rotation *r, enum fw_log_level level,
                             const char *event, const char *detail)
{
    const struct fw_port *port = r->cfg.port;
    if (port->log != NULL)
        port->log(port->ctx, level, "rotation", event, detail,
                  detail != NULL ? strlen(detail) : 0);
}

static bool fw_rotation__host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-';
}

/* Skip a leading "mqtts://" or "ssl://" (the TLS schemes) in text. */
static void fw_rotation__skip_scheme(const char **text, size_t *len)
{
    static const char *const schemes[] = {"mqtts://", "ssl://"};
    size_t i, n;
    for (i = 0; i < 2; i++) {
        n = strlen(schemes[i]);
        if (*len >= n && memcmp(*text, schemes[i], n) == 0) {
            *text += n;
            *len -= n;
            return;
        }
    }
}

/* "[mqtts://|ssl://]host[:port]" (len bytes) into out as "host:port". */
static enum fw_rotation_status fw_rotation__endpoint(const char *text, size_t len, char *out)
{
    size_t host_len = 0, i;
    uint32_t port = 0;
    char digits[6];
    size_t nd = 0;
    fw_rotation__skip_scheme(&text, &len);
    if (len > FW_ROTATION_ENDPOINT_MAX)
        return FW_ROTATION_TOO_LARGE;
    while (host_len < len && text[host_len] != ':') {
        if (!fw_rotation__host_char(text[host_len]))
            return FW_ROTATION_BAD_ENDPOINT;
        host_len++;
    }
    if (host_len == 0 || text[0] == '-' || text[0] == '.' || text[host_len - 1] == '-' ||
        text[host_len - 1] == '.')
        return FW_ROTATION_BAD_ENDPOINT;
    if (host_len == len) {
        port = FW_ROTATION_DEFAULT_PORT;
    } else {
        if (len - host_len - 1 == 0 || len - host_len - 1 > 5)
            return FW_ROTATION_BAD_ENDPOINT;
        for (i = host_len + 1; i < len; i++) {
            if (text[i] < '0' || text[i] > '9')
                return FW_ROTATION_BAD_ENDPOINT;
            port = port * 10u + (uint32_t)(text[i] - '0');
        }
    }
    if (port == 0 || port > 65535u || host_len + 6 > FW_ROTATION_ENDPOINT_MAX)
        return port == 0 || port > 65535u ? FW_ROTATION_BAD_ENDPOINT : FW_ROTATION_TOO_LARGE;
    memcpy(out, text, host_len);
    out[host_len] = ':';
    do {
        digits[nd++] = (char)('0' + port % 10u);
        port /= 10u;
    } while (port != 0);
    for (i = 0; i < nd; i++)
        out[host_len + 1 + i] = digits[nd - 1 - i];
    out[host_len + 1 + nd] = '\0';
    return FW_ROTATION_OK;
}

static bool fw_rotation__b64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/' || c == '=';
}

/* Whether line (len bytes, no line end) is a base64 body line. */
static bool fw_rotation__b64_line(const char *line, size_t len)
{
    size_t i;
    if (len == 0 || len > 80)
        return false;
    for (i = 0; i < len; i++) {
        if (!fw_rotation__b64_char(line[i]))
            return false;
    }
    return true;
}

/* One or more "-----BEGIN CERTIFICATE-----" ... "-----END CERTIFICATE-----"
 * blocks of base64 lines; LF or CRLF line ends; empty lines between blocks. */
static bool fw_rotation__pem_valid(const uint8_t *pem, size_t len)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char end[] = "-----END CERTIFICATE-----";
    const char *text = (const char *)pem;
    size_t pos = 0, blocks = 0, body = 0;
    bool inside = false;
    while (pos < len) {
        size_t start = pos, n;
        while (pos < len && text[pos] != '\n')
            pos++;
        n = pos - start;
        if (n > 0 && text[start + n - 1] == '\r')
            n--;
        if (pos < len)
            pos++; /* the '\n' */
        if (!inside && n == 0)
            continue;
        if (!inside && n == sizeof(begin) - 1 && memcmp(text + start, begin, n) == 0) {
            inside = true;
            body = 0;
        } else if (inside && n == sizeof(end) - 1 && memcmp(text + start, end, n) == 0) {
            if (body == 0)
                return false;
            inside = false;
            blocks++;
        } else if (inside && fw_rotation__b64_line(text + start, n)) {
            body++;
        } else {
            return false;
        }
    }
    return !inside && blocks > 0;
}

static bool fw_rotation__same(const struct fw_rotation_pair *a, const struct fw_rotation_pair *b)
{
    return strcmp(a->endpoint, b->endpoint) == 0 && a->ca_len == b->ca_len &&
           memcmp(a->ca, b->ca, a->ca_len) == 0;
}

/* A file name for the offer's CA: the trusted one's when the contents are
 * the same, else "rot-<crc32>.pem", never equal to a name in use. */
static void fw_rotation__name(struct fw_rotation *r, struct fw_rotation_pair *p)
{
    static const char hex[] = "0123456789abcdef";
    const struct fw_rotation_pair *t = &r->rec.trusted;
    uint32_t crc = fw_rotation__crc32(0, p->ca, p->ca_len);
    unsigned i;
    if (p->ca_len == t->ca_len && memcmp(p->ca, t->ca, p->ca_len) == 0) {
        memcpy(p->ca_name, t->ca_name, sizeof(p->ca_name));
        return;
    }
    for (;;) {
        memcpy(p->ca_name, "rot-", 4);
        for (i = 0; i < 8; i++)
            p->ca_name[4 + i] = hex[(crc >> (28 - 4 * i)) & 0xFu];
        memcpy(p->ca_name + 12, ".pem", 5);
        if (strcmp(p->ca_name, t->ca_name) != 0 &&
            (!r->rec.has_pending || strcmp(p->ca_name, r->rec.pending.ca_name) != 0 ||
             fw_rotation__same(p, &r->rec.pending)))
            return;
        crc++; /* same checksum, other contents */
    }
}

/* ---- the stored record -------------------------------------------------- */

static uint32_t fw_rotation__pair_crc(uint32_t crc, const struct fw_rotation_pair *p)
{
    crc = fw_rotation__crc32(crc, &p->ca_len, sizeof(p->ca_len));
    crc = fw_rotation__crc32(crc, p->endpoint, sizeof(p->endpoint));
    crc = fw_rotation__crc32(crc, p->ca_name, sizeof(p->ca_name));
    return fw_rotation__crc32(crc, p->ca, p->ca_len <= FW_ROTATION_CA_MAX ? p->ca_len : 0);
}

static uint32_t fw_rotation__record_crc(const struct fw_rotation_record *rec)
{
    uint32_t crc = fw_rotation__crc32(0, &rec->has_pending, 1);
    crc = fw_rotation__crc32(crc, &rec->use_pending, 1);
    crc = fw_rotation__crc32(crc, rec->dropped, sizeof(rec->dropped));
    crc = fw_rotation__pair_crc(crc, &rec->trusted);
    return fw_rotation__pair_crc(crc, &rec->pending);
}

/* The magic also covers the sizes, so another build's record is ignored. */
static uint32_t fw_rotation__magic(void)
{
    return FW_ROTATION_MAGIC ^ (uint32_t)(sizeof(struct fw_rotation_record) << 8);
}

static void fw_rotation__save(struct fw_rotation *r)
{
    const struct fw_port *port = r->cfg.port;
    r->rec.magic = fw_rotation__magic();
    r->rec.crc = fw_rotation__record_crc(&r->rec);
    if (port->persist_save == NULL ||
        port->persist_save(port->ctx, r->cfg.persist_key, (const uint8_t *)&r->rec,
                           sizeof(r->rec)) != 0) {
        r->stats.save_failures++;
        fw_rotation__log(r, FW_LOG_WARN, "pairs not saved", NULL);
    }
}

static bool fw_rotation__terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static bool fw_rotation__pair_ok(const struct fw_rotation_pair *p)
{
    char norm[FW_ROTATION_ENDPOINT_MAX + 1];
    return p->ca_len > 0 && p->ca_len <= FW_ROTATION_CA_MAX &&
           fw_rotation__terminated(p->endpoint, sizeof(p->endpoint)) &&
           fw_rotation__terminated(p->ca_name, sizeof(p->ca_name)) && p->ca_name[0] != '\0' &&
           fw_rotation__endpoint(p->endpoint, strlen(p->endpoint), norm) == FW_ROTATION_OK;
}

/* Load the stored record; false when there is none or it is unusable. */
static bool fw_rotation__load(struct fw_rotation *r)
{
    const struct fw_port *port = r->cfg.port;
    struct fw_rotation_record *rec = &r->rec;
    size_t len = 0;
    if (port->persist_load == NULL ||
        port->persist_load(port->ctx, r->cfg.persist_key, (uint8_t *)rec, sizeof(*rec), &len) != 0 ||
        len != sizeof(*rec))
        return false;
    return rec->magic == fw_rotation__magic() && rec->crc == fw_rotation__record_crc(rec) &&
           rec->has_pending <= 1 && rec->use_pending <= rec->has_pending &&
           fw_rotation__terminated(rec->dropped, sizeof(rec->dropped)) &&
           fw_rotation__pair_ok(&rec->trusted) &&
           (!rec->has_pending || fw_rotation__pair_ok(&rec->pending));
}

/* The factory pair as the only (trusted) pair. */
static bool fw_rotation__factory(struct fw_rotation *r)
{
    const struct fw_rotation_config *c = &r->cfg;
    struct fw_rotation_pair *t = &r->rec.trusted;
    memset(&r->rec, 0, sizeof(r->rec));
    if (c->endpoint == NULL || c->ca_name == NULL || c->ca == NULL || c->ca_len == 0 ||
        c->ca_len > FW_ROTATION_CA_MAX || strlen(c->ca_name) >= FW_ROTATION_NAME_MAX ||
        c->ca_name[0] == '\0' ||
        fw_rotation__endpoint(c->endpoint, strlen(c->endpoint), t->endpoint) != FW_ROTATION_OK)
        return false;
    memcpy(t->ca_name, c->ca_name, strlen(c->ca_name) + 1);
    memcpy(t->ca, c->ca, c->ca_len);
    t->ca_len = (uint32_t)c->ca_len;
    r->factory_ca_len = t->ca_len;
    r->factory_ca_crc = fw_rotation__crc32(0, t->ca, t->ca_len);
    return true;
}

bool fw_rotation_init(struct fw_rotation *r, const struct fw_rotation_config *cfg)
{
    if (r == NULL || cfg == NULL || cfg->port == NULL ||
        cfg->setup.n_certs >= FW_SIM7600_SETUP_MAX_CERTS ||
        (cfg->setup.n_certs > 0 && cfg->setup.certs == NULL))
        return false;
    memset(r, 0, sizeof(*r));
    r->cfg = *cfg;
    if (r->cfg.persist_key == 0)
        r->cfg.persist_key = FW_ROTATION_PERSIST_KEY;
    if (r->cfg.max_failures == 0)
        r->cfg.max_failures = FW_ROTATION_MAX_FAILURES;
    if (!fw_rotation__factory(r))
        return false; /* the factory pair must be valid even when a record is stored */
    if (fw_rotation__load(r)) {
        fw_rotation__log(r, FW_LOG_INFO, "stored pairs", fw_rotation_active(r)->endpoint);
        return true;
    }
    fw_rotation__factory(r);
    return true;
}

/* ---- offers ------------------------------------------------------------- */

/* The active pair changed: the device starts over with it (restart_due). */
static void fw_rotation__changed(struct fw_rotation *r)
{
    r->failures = 0;
    fw_rotation__save(r);
}

/* Forget the pending pair (its file, when it is in the store, is deleted
 * at the next setup). */
static void fw_rotation__drop_pending(struct fw_rotation *r)
{
    if (r->rec.use_pending && strcmp(r->rec.pending.ca_name, r->rec.trusted.ca_name) != 0)
        memcpy(r->rec.dropped, r->rec.pending.ca_name, sizeof(r->rec.dropped));
    r->rec.has_pending = 0;
    r->rec.use_pending = 0;
}

/* r->offer is complete and valid: take it. */
static enum fw_rotation_status fw_rotation__take(struct fw_rotation *r)
{
    struct fw_rotation_record *rec = &r->rec;
    if (rec->has_pending && fw_rotation__same(&r->offer, &rec->pending))
        return FW_ROTATION_UNCHANGED;
    if (fw_rotation__same(&r->offer, &rec->trusted)) {
        if (!rec->has_pending)
            return FW_ROTATION_UNCHANGED;
        fw_rotation__log(r, FW_LOG_INFO, "pending pair withdrawn", rec->pending.endpoint);
        if (rec->use_pending) {
            fw_rotation__drop_pending(r);
            fw_rotation__changed(r);
        } else {
            fw_rotation__drop_pending(r);
            fw_rotation__save(r);
        }
        return FW_ROTATION_OK;
    }
    fw_rotation__name(r, &r->offer);
    if (rec->has_pending)
        fw_rotation__drop_pending(r);
    memcpy(&rec->pending, &r->offer, sizeof(rec->pending));
    rec->has_pending = 1;
    rec->use_pending = 1;
    r->stats.offers++;
    fw_rotation__log(r, FW_LOG_INFO, "new endpoint and CA", rec->pending.endpoint);
    fw_rotation__changed(r);
    return FW_ROTATION_OK;
}

static enum fw_rotation_status fw_rotation__refuse(struct fw_rotation *r,
                                                   enum fw_rotation_status st)
{
    r->stats.refused++;
    fw_rotation__log(r, FW_LOG_WARN, "offer refused", fw_rotation_status_str(st));
    return st;
}

/* Check and take the offer whose CA (when has_ca) is already in r->offer. */
static enum fw_rotation_status fw_rotation__offer_staged(struct fw_rotation *r,
                                                         const char *endpoint,
                                                         size_t endpoint_len, bool has_ca)
{
    const struct fw_rotation_pair *t = &r->rec.trusted;
    enum fw_rotation_status st = FW_ROTATION_OK;
    if (endpoint != NULL)
        st = fw_rotation__endpoint(endpoint, endpoint_len, r->offer.endpoint);
    else
        memcpy(r->offer.endpoint, t->endpoint, sizeof(t->endpoint));
    if (st != FW_ROTATION_OK)
        return fw_rotation__refuse(r, st);
    if (!has_ca) {
        memcpy(r->offer.ca, t->ca, t->ca_len);
        r->offer.ca_len = t->ca_len;
    } else if (r->offer.ca_len > FW_ROTATION_CA_MAX) {
        return fw_rotation__refuse(r, FW_ROTATION_TOO_LARGE);
    } else if (!fw_rotation__pem_valid(r->offer.ca, r->offer.ca_len)) {
        return fw_rotation__refuse(r, FW_ROTATION_BAD_CA);
    }
    r->offer.ca[r->offer.ca_len] = 0;
    return fw_rotation__take(r);
}

enum fw_rotation_status fw_rotation_offer(struct fw_rotation *r, const char *endpoint,
                                          size_t endpoint_len, const uint8_t *ca, size_t ca_len)
{
    if (r == NULL)
        return FW_ROTATION_BAD_ARG;
    if (endpoint == NULL && ca == NULL)
        return FW_ROTATION_ABSENT;
    memset(&r->offer, 0, sizeof(r->offer));
    if (ca != NULL && ca_len > FW_ROTATION_CA_MAX)
        return fw_rotation__refuse(r, FW_ROTATION_TOO_LARGE);
    if (ca != NULL) {
        memcpy(r->offer.ca, ca, ca_len);
        r->offer.ca_len = (uint32_t)ca_len;
    }
    return fw_rotation__offer_staged(r, endpoint, endpoint_len, ca != NULL);
}

/* A string member of the configuration into buf (cap bytes with the NUL):
 * 1 found, 0 absent, a negative status when unusable. */
static int fw_rotation__member(const struct fw_json_doc *doc, const char *key, char *buf,
                               size_t cap, size_t *len, enum fw_rotation_status bad)
{
    size_t v;
    enum fw_json_status st;
    if (fw_json_object_get(doc, 0, key, &v) != FW_JSON_OK)
        return 0;
    st = fw_json_get_string(doc, v, buf, cap, len);
    if (st == FW_JSON_OK)
        return 1;
    return -(int)(st == FW_JSON_NO_SPACE ? FW_ROTATION_TOO_LARGE : bad);
}

enum fw_rotation_status fw_rotation_offer_config(struct fw_rotation *r, const char *json,
                                                 size_t len)
{
    struct fw_json_doc doc;
    char endpoint[FW_ROTATION_ENDPOINT_MAX + 2];
    size_t elen = 0, clen = 0;
    int has_ep, has_ca;
    if (r == NULL || json == NULL ||
        fw_json_parse(json, len, r->tokens, FW_ROTATION_TOKENS, &doc, NULL) != FW_JSON_OK ||
        r->tokens[0].type != FW_JSON_OBJECT)
        return FW_ROTATION_BAD_ARG;
    has_ep = fw_rotation__member(&doc, "endpoint", endpoint, sizeof(endpoint), &elen,
                                 FW_ROTATION_BAD_ENDPOINT);
    if (has_ep < 0)
        return fw_rotation__refuse(r, (enum fw_rotation_status)-has_ep);
    memset(&r->offer, 0, sizeof(r->offer));
    has_ca = fw_rotation__member(&doc, "ca_cert", (char *)r->offer.ca, sizeof(r->offer.ca),
                                 &clen, FW_ROTATION_BAD_CA);
    if (has_ca < 0)
        return fw_rotation__refuse(r, (enum fw_rotation_status)-has_ca);
    if (has_ca == 0 && has_ep == 0)
        return FW_ROTATION_ABSENT;
    r->offer.ca_len = (uint32_t)clen;
    return fw_rotation__offer_staged(r, has_ep ? endpoint : NULL, elen, has_ca != 0);
}

/* ---- connection results ------------------------------------------------- */

static void fw_rotation__promote(struct fw_rotation *r)
{
    unsigned i;
    memcpy(&r->rec.trusted, &r->rec.pending, sizeof(r->rec.trusted));
    r->rec.has_pending = 0;
    r->rec.use_pending = 0;
    r->stats.promotions++;
    /* the device's setup now points at the trusted copy (same contents) */
    for (i = 0; i < FW_SIM7600_SETUP_MAX_CERTS; i++) {
        if (r->certs[i].data == r->rec.pending.ca)
            r->certs[i].data = r->rec.trusted.ca;
    }
    if (r->mcu_cfg != NULL && r->mcu_cfg->mcu.ca_pem == r->rec.pending.ca)
        r->mcu_cfg->mcu.ca_pem = r->rec.trusted.ca; /* the same for the MCU's TLS */
    fw_rotation__log(r, FW_LOG_INFO, "new pair confirmed", r->rec.trusted.endpoint);
    fw_rotation__save(r);
}

/* Whether the device was last given the active pair (same endpoint and
 * CA file name; names follow contents). */
static bool fw_rotation__applied_is_active(const struct fw_rotation *r)
{
    const struct fw_rotation_pair *a = fw_rotation_active(r);
    return r->applied && strcmp(r->server + 6, a->endpoint) == 0 &&
           strcmp(r->ca_file, a->ca_name) == 0;
}

void fw_rotation_connect_result(struct fw_rotation *r, bool accepted)
{
    if (r == NULL || (r->applied && !fw_rotation__applied_is_active(r)))
        return; /* an attempt with a pair no longer active */
    if (accepted) {
        r->failures = 0;
        if (r->dropped_applied && r->rec.dropped[0] != '\0') {
            r->rec.dropped[0] = '\0';
            r->dropped_applied = false;
            if (!r->rec.use_pending)
                fw_rotation__save(r);
        }
        if (r->rec.use_pending)
            fw_rotation__promote(r);
        return;
    }
    if (++r->failures < r->cfg.max_failures || !r->rec.has_pending)
        return;
    r->rec.use_pending = (uint8_t)!r->rec.use_pending;
    r->stats.switches++;
    fw_rotation__log(r, FW_LOG_WARN,
                     r->rec.use_pending ? "trying the pending pair again"
                                        : "falling back to the previous pair",
                     fw_rotation_active(r)->endpoint);
    fw_rotation__changed(r);
}

/* ---- queries ------------------------------------------------------------ */

const struct fw_rotation_pair *fw_rotation_active(const struct fw_rotation *r)
{
    return r->rec.use_pending ? &r->rec.pending : &r->rec.trusted;
}

const struct fw_rotation_pair *fw_rotation_previous(const struct fw_rotation *r)
{
    if (!r->rec.has_pending)
        return NULL;
    return r->rec.use_pending ? &r->rec.trusted : &r->rec.pending;
}

bool fw_rotation_has_pending(const struct fw_rotation *r)
{
    return r->rec.has_pending != 0;
}

bool fw_rotation_host_port(const struct fw_rotation_pair *p, char *host, size_t cap,
                           uint16_t *port)
{
    const char *colon = NULL, *d;
    size_t n;
    uint32_t v = 0;
    for (d = p->endpoint; *d != '\0'; d++) {
        if (*d == ':')
            colon = d;
    }
    n = colon != NULL ? (size_t)(colon - p->endpoint) : 0;
    if (colon == NULL || n + 1 > cap)
        return false;
    memcpy(host, p->endpoint, n);
    host[n] = '\0';
    for (d = colon + 1; *d != '\0'; d++)
        v = v * 10u + (uint32_t)(*d - '0');
    *port = (uint16_t)v;
    return true;
}

/* ---- fw_device hooks ---------------------------------------------------- */

static void fw_rotation__add_remove(struct fw_rotation *r, size_t *n, const char *name)
{
    if (name[0] == '\0' || strcmp(name, r->ca_file) == 0 ||
        (*n == 1 && strcmp(name, r->remove_names[0]) == 0))
        return;
    memcpy(r->remove_names[*n], name, FW_ROTATION_NAME_MAX);
    r->remove[*n] = r->remove_names[*n];
    (*n)++;
}

/* MCU TLS: the transport connects to the active pair's host and port, and
 * its CA goes to the port's TLS (tls_set_ca) at every start; the modem's
 * certificate store and SSL context are not used, so nothing to delete. */
static void fw_rotation__prepare_mcu(struct fw_rotation *r, struct fw_device_config *cfg,
                                     const struct fw_rotation_pair *a)
{
    uint16_t port = FW_ROTATION_DEFAULT_PORT;
    if (!fw_rotation_host_port(a, r->host, sizeof(r->host), &port))
        r->host[0] = '\0'; /* cannot happen: endpoints are checked when taken */
    cfg->mcu.host = r->host;
    cfg->mcu.tcp_port = port;
    cfg->mcu.server_name = r->host;
    cfg->mcu.ca_pem = a->ca;
    cfg->mcu.ca_len = a->ca_len;
    if (r->cfg.port->tls_set_ca == NULL && a->ca_len == r->factory_ca_len &&
        fw_rotation__crc32(0, a->ca, a->ca_len) == r->factory_ca_crc)
        cfg->mcu.ca_pem = NULL; /* the platform's own slot holds the factory CA; another
                                 * CA makes the transport refuse to start (fall back) */
    r->mcu_cfg = cfg;
    r->dropped_applied = r->rec.dropped[0] != '\0'; /* forgotten at the next connect */
}

/* Modem TLS: the server for AT+CMQTTCONNECT and a setup that downloads the
 * active CA and deletes the other one. */
static void fw_rotation__prepare_modem(struct fw_rotation *r, struct fw_device_config *cfg,
                                       const struct fw_rotation_pair *a)
{
    const struct fw_rotation_pair *prev = fw_rotation_previous(r);
    struct fw_sim7600_setup_params *s = &cfg->setup;
    size_t n = r->cfg.setup.n_certs, removes = 0;
    if (n > 0)
        memcpy(r->certs, r->cfg.setup.certs, n * sizeof(r->certs[0]));
    r->certs[n].name = r->ca_file;
    r->certs[n].data = a->ca;
    r->certs[n].len = a->ca_len;
    if (prev != NULL)
        fw_rotation__add_remove(r, &removes, prev->ca_name);
    fw_rotation__add_remove(r, &removes, r->rec.dropped);
    r->dropped_applied = r->rec.dropped[0] != '\0';
    *s = r->cfg.setup;
    s->certs = r->certs;
    s->n_certs = n + 1;
    s->remove = removes > 0 ? r->remove : NULL;
    s->n_remove = removes;
    s->cacert = r->ca_file;
    cfg->mqtt.server = r->server;
}

/* The device gets the active pair: server and CA, for its transport. */
static bool fw_rotation__prepare(void *ctx, struct fw_device_config *cfg)
{
    struct fw_rotation *r = ctx;
    const struct fw_rotation_pair *a = fw_rotation_active(r);
    bool changed = !fw_rotation__applied_is_active(r);
    memcpy(r->server, "tcp://", 6);
    memcpy(r->server + 6, a->endpoint, strlen(a->endpoint) + 1);
    memcpy(r->ca_file, a->ca_name, sizeof(r->ca_file));
    if (cfg->transport == FW_DEVICE_MCU_TLS)
        fw_rotation__prepare_mcu(r, cfg, a);
    else
        fw_rotation__prepare_modem(r, cfg, a);
    r->applied = true;
    return changed;
}

static bool fw_rotation__restart_due(void *ctx)
{
    const struct fw_rotation *r = ctx;
    return r->applied && !fw_rotation__applied_is_active(r);
}

static void fw_rotation__connect_result(void *ctx, bool accepted)
{
    fw_rotation_connect_result(ctx, accepted);
}

const struct fw_device_hooks *fw_rotation_device_hooks(struct fw_rotation *r)
{
    r->hooks.ctx = r;
    r->hooks.prepare = fw_rotation__prepare;
    r->hooks.restart_due = fw_rotation__restart_due;
    r->hooks.connect_result = fw_rotation__connect_result;
    return &r->hooks;
}

bool fw_rotation_config_hook(void *ctx, const char *json, size_t len, char *reason, size_t cap)
{
    static const char prefix[] = "endpoint or ca_cert: ";
    enum fw_rotation_status st = fw_rotation_offer_config(ctx, json, len);
    const char *why;
    size_t n = 0, k;
    if (st == FW_ROTATION_OK || st == FW_ROTATION_UNCHANGED || st == FW_ROTATION_ABSENT)
        return true;
    why = fw_rotation_status_str(st);
    for (k = 0; prefix[k] != '\0' && reason != NULL && n + 1 < cap; k++)
        reason[n++] = prefix[k];
    for (k = 0; why[k] != '\0' && reason != NULL && n + 1 < cap; k++)
        reason[n++] = why[k];
    if (reason != NULL && cap > 0)
        reason[n] = '\0';
    return false;
}

const struct fw_rotation_stats *fw_rotation_stats(const struct fw_rotation *r)
{
    return &r->stats;
}

const char *fw_rotation_status_str(enum fw_rotation_status status)
{
    switch (status) {
    case FW_ROTATION_OK: return "ok";
    case FW_ROTATION_UNCHANGED: return "unchanged";
    case FW_ROTATION_ABSENT: return "absent";
    case FW_ROTATION_BAD_ENDPOINT: return "invalid endpoint";
    case FW_ROTATION_BAD_CA: return "invalid CA certificate";
    case FW_ROTATION_TOO_LARGE: return "too large";
    case FW_ROTATION_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}
