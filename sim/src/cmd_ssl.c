/*
 * §3.1-3.2: the certificate store (AT+CCERTDOWN / AT+CCERTLIST / AT+CCERTDELE)
 * and the SSL contexts (AT+CSSLCFG), plus the OpenSSL context builder every
 * TLS user of the simulator shares (ssl_store.h).
 */
#include "ssl_store.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Files the store holds at most; the module's real limit is unknown (unconfirmed). */
#define SSL_STORE_MAX_FILES 32
/* Largest file AT+CCERTDOWN accepts (reference §3.1). */
#define SSL_FILE_MAX 10240

struct ssl_file {
    char name[SIM_SSL_NAME_MAX + 1];
    uint8_t *data;
    size_t len;
};

struct sim_ssl {
    struct ssl_file files[SSL_STORE_MAX_FILES];
    struct sim_ssl_settings contexts[SIM_SSL_CONTEXTS];
    char download_name[SIM_SSL_NAME_MAX + 1]; /* file of the CCERTDOWN prompt in progress */
    uint64_t downloads, deletes;
};

static void context_defaults(struct sim_ssl_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->sslversion = 4;
    s->authmode = 0;
    s->ignorelocaltime = true;
    s->negotiatetime = 300;
}

static void reset_contexts(struct sim_ssl *ssl)
{
    for (int i = 0; i < SIM_SSL_CONTEXTS; i++) {
        context_defaults(&ssl->contexts[i]);
    }
}

static struct ssl_file *find_file(struct sim_ssl *ssl, const char *name)
{
    for (size_t i = 0; i < SSL_STORE_MAX_FILES; i++) {
        if (ssl->files[i].data != NULL && strcmp(ssl->files[i].name, name) == 0) {
            return &ssl->files[i];
        }
    }
    return NULL;
}

const struct sim_ssl_settings *sim_ssl_settings(const struct sim_modem *m, int ctx)
{
    if (m->ssl == NULL || ctx < 0 || ctx >= SIM_SSL_CONTEXTS) {
        return NULL;
    }
    return &m->ssl->contexts[ctx];
}

const uint8_t *sim_ssl_file(const struct sim_modem *m, const char *name, size_t *len)
{
    if (m->ssl == NULL || name == NULL || name[0] == '\0') {
        return NULL;
    }
    struct ssl_file *f = find_file(m->ssl, name);
    if (f == NULL) {
        return NULL;
    }
    *len = f->len;
    return f->data;
}

/* A store file name: 5-108 characters ending in .pem or .der (reference §3.1). */
static bool valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len < 5 || len > SIM_SSL_NAME_MAX) {
        return false;
    }
    const char *ext = name + len - 4;
    return strcasecmp(ext, ".pem") == 0 || strcasecmp(ext, ".der") == 0;
}

/* ------------------------------------------------------------- commands */

static enum sim_at_status ccertdown_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    struct sim_ssl *ssl = m->ssl;
    struct ssl_file *f = find_file(ssl, ssl->download_name);
    if (f == NULL) {
        for (size_t i = 0; i < SSL_STORE_MAX_FILES && f == NULL; i++) {
            if (ssl->files[i].data == NULL) {
                f = &ssl->files[i];
            }
        }
    }
    if (f == NULL) {
        return SIM_AT_ERROR; /* store full */
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL) {
        return SIM_AT_ERROR;
    }
    memcpy(copy, data, len);
    free(f->data);
    f->data = copy;
    f->len = len;
    snprintf(f->name, sizeof(f->name), "%s", ssl->download_name);
    ssl->downloads++;
    return SIM_AT_OK;
}

static enum sim_at_status cmd_ccertdown(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CCERTDOWN: (5-108),(1-10240)");
        return SIM_AT_OK;
    }
    const char *name = NULL;
    long len = 0;
    if (cmd->argc != 2 || !sim_arg_str(cmd, 0, 5, SIM_SSL_NAME_MAX, false, &name) || !valid_name(name) ||
        !sim_arg_int(cmd, 1, 1, SSL_FILE_MAX, &len)) {
        return SIM_AT_ERROR;
    }
    snprintf(m->ssl->download_name, sizeof(m->ssl->download_name), "%s", name);
    return sim_prompt(m, (size_t)len, ccertdown_data, NULL);
}

static enum sim_at_status cmd_ccertlist(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    for (size_t i = 0; i < SSL_STORE_MAX_FILES; i++) {
        if (m->ssl->files[i].data != NULL) {
            sim_info(m, "+CCERTLIST: \"%s\"", m->ssl->files[i].name);
        }
    }
    return SIM_AT_OK;
}

static enum sim_at_status cmd_ccertdele(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    const char *name = NULL;
    if (cmd->argc != 1 || !sim_arg_str(cmd, 0, 1, SIM_SSL_NAME_MAX, false, &name)) {
        return SIM_AT_ERROR;
    }
    struct ssl_file *f = find_file(m->ssl, name);
    if (f == NULL) {
        return SIM_AT_ERROR;
    }
    free(f->data);
    memset(f, 0, sizeof(*f));
    m->ssl->deletes++;
    return SIM_AT_OK;
}

static void print_context(struct sim_modem *m, int i)
{
    const struct sim_ssl_settings *s = &m->ssl->contexts[i];
    sim_info(m, "+CSSLCFG: %d,%d,%d,%d,%d,\"%s\",\"%s\",\"%s\",%d", i, s->sslversion, s->authmode,
             s->ignorelocaltime ? 1 : 0, s->negotiatetime, s->cacert, s->clientcert, s->clientkey,
             s->enable_sni ? 1 : 0);
}

static enum sim_at_status csslcfg_test(struct sim_modem *m)
{
    sim_info(m, "+CSSLCFG: \"sslversion\",(0-9),(0-4)");
    sim_info(m, "+CSSLCFG: \"authmode\",(0-9),(0-3)");
    sim_info(m, "+CSSLCFG: \"ignorelocaltime\",(0-9),(0-1)");
    sim_info(m, "+CSSLCFG: \"negotiatetime\",(0-9),(10-300)");
    sim_info(m, "+CSSLCFG: \"cacert\",(0-9),(5-108)");
    sim_info(m, "+CSSLCFG: \"clientcert\",(0-9),(5-108)");
    sim_info(m, "+CSSLCFG: \"clientkey\",(0-9),(5-108)");
    sim_info(m, "+CSSLCFG: \"enableSNI\",(0-9),(0-1)");
    return SIM_AT_OK;
}

/* Set one numeric CSSLCFG value; returns false when out of range. */
static bool set_number(const struct sim_at_cmd *cmd, long min, long max, int *out)
{
    long v = 0;
    if (cmd->argc != 3 || !sim_arg_int(cmd, 2, min, max, &v)) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool set_file(const struct sim_at_cmd *cmd, char *out)
{
    const char *name = NULL;
    if (cmd->argc != 3 || !sim_arg_str(cmd, 2, 0, SIM_SSL_NAME_MAX, false, &name)) {
        return false;
    }
    snprintf(out, SIM_SSL_NAME_MAX + 1, "%s", name);
    return true;
}

/*
 * Keywords are matched without regard to case. TinyGSM's A7672x driver notes
 * the module wants them in lower case as the manual writes them; whether the
 * SIM7600 rejects other spellings is unconfirmed, so the simulator is lenient.
 */
static bool csslcfg_apply(struct sim_ssl_settings *s, const char *key, const struct sim_at_cmd *cmd)
{
    int v = 0;
    if (strcasecmp(key, "sslversion") == 0) {
        return set_number(cmd, 0, 4, &s->sslversion);
    }
    if (strcasecmp(key, "authmode") == 0) {
        return set_number(cmd, 0, 3, &s->authmode);
    }
    if (strcasecmp(key, "ignorelocaltime") == 0) {
        bool ok = set_number(cmd, 0, 1, &v);
        s->ignorelocaltime = ok ? v != 0 : s->ignorelocaltime;
        return ok;
    }
    if (strcasecmp(key, "negotiatetime") == 0) {
        return set_number(cmd, 10, 300, &s->negotiatetime);
    }
    if (strcasecmp(key, "cacert") == 0) {
        return set_file(cmd, s->cacert);
    }
    if (strcasecmp(key, "clientcert") == 0) {
        return set_file(cmd, s->clientcert);
    }
    if (strcasecmp(key, "clientkey") == 0) {
        return set_file(cmd, s->clientkey);
    }
    if (strcasecmp(key, "enableSNI") == 0) {
        bool ok = set_number(cmd, 0, 1, &v);
        s->enable_sni = ok ? v != 0 : s->enable_sni;
        return ok;
    }
    if (strcasecmp(key, "ciphersuites") == 0) {
        const char *text = NULL;
        if (cmd->argc != 3 || !sim_arg_str(cmd, 2, 1, sizeof(s->ciphersuites) - 1, false, &text)) {
            return false;
        }
        snprintf(s->ciphersuites, sizeof(s->ciphersuites), "%s", text);
        return true;
    }
    return false;
}

static enum sim_at_status cmd_csslcfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        return csslcfg_test(m);
    }
    if (cmd->kind == SIM_AT_READ) {
        for (int i = 0; i < SIM_SSL_CONTEXTS; i++) {
            print_context(m, i);
        }
        return SIM_AT_OK;
    }
    long ctx = 0;
    if (cmd->argc == 1) {
        if (!sim_arg_int(cmd, 0, 0, SIM_SSL_CONTEXTS - 1, &ctx)) {
            return SIM_AT_ERROR;
        }
        print_context(m, (int)ctx);
        return SIM_AT_OK;
    }
    const char *key = NULL;
    if (cmd->argc < 2 || !sim_arg_str(cmd, 0, 1, 32, true, &key) ||
        !sim_arg_int(cmd, 1, 0, SIM_SSL_CONTEXTS - 1, &ctx)) {
        return SIM_AT_ERROR;
    }
    struct sim_ssl_settings updated = m->ssl->contexts[ctx];
    if (!csslcfg_apply(&updated, key, cmd)) {
        return SIM_AT_ERROR;
    }
    m->ssl->contexts[ctx] = updated;
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- OpenSSL */

static void set_why(char *why, size_t cap, const char *fmt, const char *arg)
{
    if (why != NULL && cap > 0) {
        snprintf(why, cap, fmt, arg);
    }
}

static BIO *file_bio(const struct sim_modem *m, const char *name)
{
    size_t len = 0;
    const uint8_t *data = sim_ssl_file(m, name, &len);
    return data == NULL ? NULL : BIO_new_mem_buf(data, (int)len);
}

static bool is_der(const char *name)
{
    size_t len = strlen(name);
    return len >= 4 && strcasecmp(name + len - 4, ".der") == 0;
}

/* Add every certificate of the cacert file to the context's trust store. */
static enum sim_ssl_error load_ca(const struct sim_modem *m, SSL_CTX *ctx, const char *name)
{
    BIO *bio = file_bio(m, name);
    if (bio == NULL) {
        return SIM_SSL_NO_CERT;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    if (is_der(name)) {
        X509 *cert = d2i_X509_bio(bio, NULL);
        if (cert != NULL && X509_STORE_add_cert(store, cert) == 1) {
            added++;
        }
        X509_free(cert);
    } else {
        STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
        for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
            X509_INFO *info = sk_X509_INFO_value(infos, i);
            if (info->x509 != NULL && X509_STORE_add_cert(store, info->x509) == 1) {
                added++;
            }
        }
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
    }
    BIO_free(bio);
    ERR_clear_error();
    return added > 0 ? SIM_SSL_OK : SIM_SSL_BAD_CERT;
}

/* Load the client certificate (plus any chain after it) and its key. */
static enum sim_ssl_error load_client(const struct sim_modem *m, SSL_CTX *ctx, const char *cert_name,
                                      const char *key_name)
{
    BIO *cert_bio = file_bio(m, cert_name);
    BIO *key_bio = file_bio(m, key_name);
    enum sim_ssl_error rc = (cert_bio == NULL || key_bio == NULL) ? SIM_SSL_NO_CERT : SIM_SSL_BAD_CERT;
    if (rc == SIM_SSL_BAD_CERT) {
        X509 *cert = is_der(cert_name) ? d2i_X509_bio(cert_bio, NULL) : PEM_read_bio_X509(cert_bio, NULL, NULL, NULL);
        EVP_PKEY *key = is_der(key_name) ? d2i_PrivateKey_bio(key_bio, NULL)
                                         : PEM_read_bio_PrivateKey(key_bio, NULL, NULL, NULL);
        if (cert != NULL && key != NULL && SSL_CTX_use_certificate(ctx, cert) == 1 &&
            SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1) {
            rc = SIM_SSL_OK;
            X509 *extra = NULL;
            while (!is_der(cert_name) && (extra = PEM_read_bio_X509(cert_bio, NULL, NULL, NULL)) != NULL) {
                if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
                    X509_free(extra);
                }
            }
        }
        X509_free(cert);
        EVP_PKEY_free(key);
    }
    BIO_free(cert_bio);
    BIO_free(key_bio);
    ERR_clear_error();
    return rc;
}

/* Protocol range for sslversion; the module's stack stops at TLS 1.2. */
static void set_versions(SSL_CTX *ctx, int sslversion)
{
    static const int versions[] = { SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION };
    int min = sslversion < 4 ? versions[sslversion] : TLS1_VERSION;
    int max = sslversion < 4 ? versions[sslversion] : TLS1_2_VERSION;
    SSL_CTX_set_min_proto_version(ctx, min);
    SSL_CTX_set_max_proto_version(ctx, max);
    if (min < TLS1_2_VERSION) {
        SSL_CTX_set_security_level(ctx, 0); /* OpenSSL 3 refuses TLS < 1.2 at level 1 */
    }
}

SSL_CTX *sim_ssl_new_ctx(struct sim_modem *m, int ctx_index, enum sim_ssl_error *error, char *why, size_t cap)
{
    const struct sim_ssl_settings *s = sim_ssl_settings(m, ctx_index);
    *error = SIM_SSL_INTERNAL;
    SSL_CTX *ctx = s != NULL ? SSL_CTX_new(TLS_client_method()) : NULL;
    if (ctx == NULL) {
        set_why(why, cap, "%s", s == NULL ? "no such SSL context" : "SSL_CTX_new failed");
        return NULL;
    }
    set_versions(ctx, s->sslversion);
    bool verify_server = s->authmode == 1 || s->authmode == 2;
    bool send_client = s->authmode == 2 || s->authmode == 3;
    enum sim_ssl_error rc = SIM_SSL_OK;
    if (verify_server) {
        rc = load_ca(m, ctx, s->cacert);
        if (rc != SIM_SSL_OK) {
            set_why(why, cap, "cacert \"%s\" missing or unreadable", s->cacert);
        }
    }
    if (rc == SIM_SSL_OK && send_client) {
        rc = load_client(m, ctx, s->clientcert, s->clientkey);
        if (rc != SIM_SSL_OK) {
            set_why(why, cap, "client certificate/key \"%s\" missing, unreadable or not matching", s->clientcert);
        }
    }
    if (rc != SIM_SSL_OK) {
        *error = rc;
        SSL_CTX_free(ctx);
        return NULL;
    }
    /* The module checks the chain, not the host name (no source says it does). */
    SSL_CTX_set_verify(ctx, verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
    if (s->ignorelocaltime) {
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
    } else {
        X509_VERIFY_PARAM_set_time(param, (time_t)(sim_local_time_ms(m) / 1000));
    }
    *error = SIM_SSL_OK;
    return ctx;
}

static bool is_ip_literal(const char *host)
{
    return strspn(host, "0123456789.") == strlen(host) || strchr(host, ':') != NULL;
}

void sim_ssl_prepare(const struct sim_modem *m, int ctx, SSL *ssl, const char *host)
{
    const struct sim_ssl_settings *s = sim_ssl_settings(m, ctx);
    if (s != NULL && s->enable_sni && host != NULL && !is_ip_literal(host)) {
        SSL_set_tlsext_host_name(ssl, host);
    }
}

/* ------------------------------------------------------------- group */

static int ssl_init(struct sim_modem *m)
{
    m->ssl = calloc(1, sizeof(*m->ssl));
    if (m->ssl == NULL) {
        return -1;
    }
    reset_contexts(m->ssl);
    return 0;
}

static void ssl_fini(struct sim_modem *m)
{
    if (m->ssl == NULL) {
        return;
    }
    for (size_t i = 0; i < SSL_STORE_MAX_FILES; i++) {
        free(m->ssl->files[i].data);
    }
    free(m->ssl);
    m->ssl = NULL;
}

/*
 * The store is in the module's flash and survives a reset; the SSL contexts
 * are taken to be volatile (whether AT+CSSLCFG settings survive AT+CRESET is
 * unconfirmed).
 */
static void ssl_teardown(struct sim_modem *m, enum sim_teardown why)
{
    if (why == SIM_DOWN_RESET) {
        reset_contexts(m->ssl);
    }
}

static void ssl_stats(struct sim_modem *m, struct sim_buf *b)
{
    size_t files = 0;
    for (size_t i = 0; i < SSL_STORE_MAX_FILES; i++) {
        files += m->ssl->files[i].data != NULL;
    }
    sim_buf_printf(b, ",\"cert_files\":%zu,\"cert_downloads\":%llu,\"cert_deletes\":%llu", files,
                   (unsigned long long)m->ssl->downloads, (unsigned long long)m->ssl->deletes);
}

static const struct sim_cmd ssl_cmds[] = {
    { "+CCERTDOWN", SIM_FORM_SET | SIM_FORM_TEST, cmd_ccertdown, 20, "download a certificate or key into the store (> prompt)" },
    { "+CCERTLIST", SIM_FORM_EXEC, cmd_ccertlist, 10, "list the certificate store" },
    { "+CCERTDELE", SIM_FORM_SET, cmd_ccertdele, 20, "delete a file from the certificate store" },
    { "+CSSLCFG", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_csslcfg, 5, "configure SSL contexts 0-9" },
};

const struct sim_group sim_group_ssl = {
    .name = "ssl",
    .cmds = ssl_cmds,
    .cmd_count = sizeof(ssl_cmds) / sizeof(ssl_cmds[0]),
    .init = ssl_init,
    .fini = ssl_fini,
    .teardown = ssl_teardown,
    .stats = ssl_stats,
};
