/*
 * fw_port_linux_tls.c - OpenSSL over two memory BIOs for the MCU-TLS stacks
 * (see fw_port_linux_tls.h).
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "fw_port_linux.h"
#include "fw_port_linux_tls.h"
#include "vclock.h"

static int32_t tls_failed(struct fw_linux_tls *t, const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[200] = "";
    if (e != 0)
        ERR_error_string_n(e, msg, sizeof(msg));
    snprintf(t->error, sizeof(t->error), "%s: %s", what, msg);
    ERR_clear_error();
    return -1;
}

/* Trust every certificate of the PEM bytes; -1 when there is none. */
static int load_ca_pem(SSL_CTX *ctx, const uint8_t *pem, size_t len)
{
    BIO *in;
    X509 *x;
    int added = 0;
    if (len == 0 || len > 65536 || (in = BIO_new_mem_buf(pem, (int)len)) == NULL)
        return -1;
    while ((x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL) {
        added += X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1;
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the data */
    BIO_free(in);
    return added > 0 ? 0 : -1;
}

static int load_credentials(struct fw_linux_tls *t, SSL_CTX *ctx, uint32_t ca_id,
                            uint32_t cert_id, uint32_t key_id)
{
    if (ca_id == 0 || ca_id > 3)
        return -1;
    if (ca_id == FW_LINUX_TLS_CA && t->ca_pem != NULL) {
        if (load_ca_pem(ctx, t->ca_pem, t->ca_pem_len) != 0)
            return -1;
    } else if (t->files[ca_id] == NULL ||
               SSL_CTX_load_verify_locations(ctx, t->files[ca_id], NULL) != 1) {
        return -1;
    }
    if (cert_id == 0)
        return 0;
    if (cert_id > 3 || key_id == 0 || key_id > 3 || t->files[cert_id] == NULL ||
        t->files[key_id] == NULL ||
        SSL_CTX_use_certificate_chain_file(ctx, t->files[cert_id]) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, t->files[key_id], SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return -1;
    return 0;
}

int32_t fw_linux_tls_open(struct fw_linux_tls *t, const char *server_name, uint32_t ca_id,
                          uint32_t cert_id, uint32_t key_id)
{
    X509_VERIFY_PARAM *param;
    fw_linux_tls_close(t);
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL)
        return tls_failed(t, "context");
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (load_credentials(t, t->ctx, ca_id, cert_id, key_id) != 0) {
        fw_linux_tls_close(t);
        return tls_failed(t, "credentials");
    }
    t->ssl = SSL_new(t->ctx);
    t->net_in = BIO_new(BIO_s_mem());
    t->net_out = BIO_new(BIO_s_mem());
    if (t->ssl == NULL || t->net_in == NULL || t->net_out == NULL) {
        BIO_free(t->net_in);
        BIO_free(t->net_out);
        t->net_in = t->net_out = NULL;
        fw_linux_tls_close(t);
        return tls_failed(t, "allocation");
    }
    BIO_set_mem_eof_return(t->net_in, -1); /* empty means "wait", not end of stream */
    SSL_set_bio(t->ssl, t->net_in, t->net_out);
    param = SSL_get0_param(t->ssl);
    X509_VERIFY_PARAM_set_time(param, (time_t)(vclock_now_ns(t->clock) / VCLOCK_NS_PER_S));
    if (SSL_set_tlsext_host_name(t->ssl, server_name) != 1 ||
        X509_VERIFY_PARAM_set1_host(param, server_name, 0) != 1) {
        fw_linux_tls_close(t);
        return tls_failed(t, "server name");
    }
    SSL_set_connect_state(t->ssl);
    return 0;
}

int32_t fw_linux_tls_feed(struct fw_linux_tls *t, const uint8_t *in, size_t len)
{
    int n;
    if (t->ssl == NULL)
        return -1;
    if (len == 0)
        return 0;
    n = BIO_write(t->net_in, in, len > 65536 ? 65536 : (int)len);
    return n > 0 ? n : tls_failed(t, "feed");
}

int32_t fw_linux_tls_take(struct fw_linux_tls *t, uint8_t *out, size_t cap)
{
    int n;
    if (t->ssl == NULL)
        return -1;
    if (BIO_ctrl_pending(t->net_out) == 0 || cap == 0)
        return 0;
    n = BIO_read(t->net_out, out, cap > 65536 ? 65536 : (int)cap);
    return n > 0 ? n : 0;
}

/* Result of an SSL call that returned n <= 0: 0 to retry later, -1 failed. */
static int32_t ssl_retry(struct fw_linux_tls *t, int n, const char *what)
{
    int e = SSL_get_error(t->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        snprintf(t->error, sizeof(t->error), "%s: peer closed", what);
        return -1;
    }
    if (SSL_get_verify_result(t->ssl) != X509_V_OK) {
        snprintf(t->error, sizeof(t->error), "%s: certificate: %s", what,
                 X509_verify_cert_error_string(SSL_get_verify_result(t->ssl)));
        ERR_clear_error();
        return -1;
    }
    return tls_failed(t, what);
}

int32_t fw_linux_tls_write(struct fw_linux_tls *t, const uint8_t *buf, size_t len)
{
    int n;
    if (t->ssl == NULL)
        return -1;
    if (len == 0)
        return 0;
    if (!SSL_is_init_finished(t->ssl)) {
        n = SSL_do_handshake(t->ssl);
        if (n != 1)
            return ssl_retry(t, n, "handshake");
    }
    n = SSL_write(t->ssl, buf, len > 16384 ? 16384 : (int)len);
    return n > 0 ? n : ssl_retry(t, n, "write");
}

int32_t fw_linux_tls_read(struct fw_linux_tls *t, uint8_t *buf, size_t cap)
{
    int n;
    if (t->ssl == NULL)
        return -1;
    if (!SSL_is_init_finished(t->ssl)) {
        n = SSL_do_handshake(t->ssl);
        if (n != 1)
            return ssl_retry(t, n, "handshake");
    }
    if (cap == 0)
        return 0;
    n = SSL_read(t->ssl, buf, cap > 16384 ? 16384 : (int)cap);
    return n > 0 ? n : ssl_retry(t, n, "read");
}

void fw_linux_tls_close(struct fw_linux_tls *t)
{
    SSL_free(t->ssl); /* frees both BIOs */
    SSL_CTX_free(t->ctx);
    t->ssl = NULL;
    t->ctx = NULL;
    t->net_in = t->net_out = NULL;
}

/* Whether the PEM bytes hold at least one certificate. */
static int has_certificate(const uint8_t *pem, size_t len)
{
    BIO *in = BIO_new_mem_buf(pem, (int)len);
    X509 *x = in != NULL ? PEM_read_bio_X509(in, NULL, NULL, NULL) : NULL;
    int ok = x != NULL;
    X509_free(x);
    BIO_free(in);
    ERR_clear_error();
    return ok;
}

int32_t fw_linux_tls_set_ca(struct fw_linux_tls *t, uint32_t ca_id, const uint8_t *pem,
                            size_t len)
{
    if (ca_id != FW_LINUX_TLS_CA || pem == NULL || len == 0 || len > sizeof(t->ca_copy)) {
        snprintf(t->error, sizeof(t->error), "CA slot %u: not slot %u or %zu bytes", ca_id,
                 FW_LINUX_TLS_CA, len);
        return -1;
    }
    if (!has_certificate(pem, len)) {
        snprintf(t->error, sizeof(t->error), "CA slot: no certificate in %zu bytes", len);
        return -1;
    }
    if (pem != t->ca_copy)
        memmove(t->ca_copy, pem, len);
    t->ca_pem = t->ca_copy;
    t->ca_pem_len = len;
    return 0;
}

static int32_t hook_open(void *ctx, const char *server_name, uint32_t ca_id, uint32_t cert_id,
                         uint32_t key_id)
{
    struct fw_linux_port *p = ctx;
    int32_t rc = fw_linux_tls_open(p->tls, server_name, ca_id, cert_id, key_id);
    if (rc != 0)
        fprintf(p->log, "%s warn tls: %s\n", p->name, p->tls->error);
    return rc;
}

static int32_t hook_feed(void *ctx, const uint8_t *in, size_t len)
{
    return fw_linux_tls_feed(((struct fw_linux_port *)ctx)->tls, in, len);
}

static int32_t hook_take(void *ctx, uint8_t *out, size_t cap)
{
    return fw_linux_tls_take(((struct fw_linux_port *)ctx)->tls, out, cap);
}

static int32_t hook_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct fw_linux_port *p = ctx;
    int32_t rc = fw_linux_tls_write(p->tls, buf, len);
    if (rc < 0)
        fprintf(p->log, "%s warn tls: %s\n", p->name, p->tls->error);
    return rc;
}

static int32_t hook_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fw_linux_port *p = ctx;
    int32_t rc = fw_linux_tls_read(p->tls, buf, cap);
    if (rc < 0)
        fprintf(p->log, "%s warn tls: %s\n", p->name, p->tls->error);
    return rc;
}

static void hook_close(void *ctx)
{
    fw_linux_tls_close(((struct fw_linux_port *)ctx)->tls);
}

static int32_t hook_set_ca(void *ctx, uint32_t ca_id, const uint8_t *pem, size_t len)
{
    struct fw_linux_port *p = ctx;
    int32_t rc = fw_linux_tls_set_ca(p->tls, ca_id, pem, len);
    if (rc != 0)
        fprintf(p->log, "%s warn tls: %s\n", p->name, p->tls->error);
    return rc;
}

void fw_linux_port_attach_tls(struct fw_linux_port *p, struct fw_linux_tls *t)
{
    p->tls = t;
    p->port.tls_open = hook_open;
    p->port.tls_feed_ciphertext = hook_feed;
    p->port.tls_take_ciphertext = hook_take;
    p->port.tls_write_plain = hook_write;
    p->port.tls_read_plain = hook_read;
    p->port.tls_close = hook_close;
    p->port.tls_set_ca = hook_set_ca;
}
