/*
 * The modem's certificate store (AT+CCERTDOWN / AT+CCERTLIST / AT+CCERTDELE)
 * and its SSL contexts 0-9 (AT+CSSLCFG), shared by every TLS user: the CCH
 * sessions, the MQTT clients and the HTTP client.
 *
 * The store is write-only from the AT side: no command reads a key back.
 * It lives in the modem's "flash": it survives AT+CRESET.
 */
#ifndef SIM_SSL_STORE_H
#define SIM_SSL_STORE_H

#include "sim_internal.h"

#include <openssl/ssl.h>

/** Number of SSL contexts (AT+CSSLCFG <ctx> 0-9). */
#define SIM_SSL_CONTEXTS 10

/** Longest certificate file name (reference §3.1: 5-108 characters). */
#define SIM_SSL_NAME_MAX 108

/** Settings of one SSL context, as AT+CSSLCFG sets them. */
struct sim_ssl_settings {
    int sslversion;                        /**< 0 SSL3.0, 1 TLS1.0, 2 TLS1.1, 3 TLS1.2, 4 all (default) */
    int authmode;                          /**< 0 none (default), 1 server, 2 server+client, 3 client only */
    bool ignorelocaltime;                  /**< true (default): do not check validity dates */
    int negotiatetime;                     /**< handshake time limit, 10-300 s (default 300) */
    char cacert[SIM_SSL_NAME_MAX + 1];     /**< store file names, "" when unset */
    char clientcert[SIM_SSL_NAME_MAX + 1];
    char clientkey[SIM_SSL_NAME_MAX + 1];
    bool enable_sni;                       /**< send SNI (default false) */
    char ciphersuites[32];                 /**< as given, e.g. "0xFFFF" (accepted, not applied) */
};

/** Settings of SSL context ctx (0-9); NULL when out of range. */
const struct sim_ssl_settings *sim_ssl_settings(const struct sim_modem *m, int ctx);

/** Content of a certificate-store file; NULL when there is none. */
const uint8_t *sim_ssl_file(const struct sim_modem *m, const char *name, size_t *len);

/** Why sim_ssl_new_ctx() failed. */
enum sim_ssl_error {
    SIM_SSL_OK,
    SIM_SSL_NO_CERT,   /**< a file the authmode needs is unset or missing ("not set certificate") */
    SIM_SSL_BAD_CERT,  /**< a file is there but OpenSSL cannot load it */
    SIM_SSL_INTERNAL,  /**< OpenSSL failed otherwise */
};

/**
 * Build an OpenSSL client SSL_CTX for SSL context ctx: protocol versions from
 * sslversion (never above TLS 1.2, as the module's stack), server verification
 * against cacert for authmode 1 and 2, the client certificate and key for
 * authmode 2 and 3, and validity dates checked at the modem's local time
 * (AT+CCLK, from the virtual clock) unless ignorelocaltime. The caller frees
 * the result with SSL_CTX_free(). On failure returns NULL, sets *error and
 * writes a reason into why.
 */
SSL_CTX *sim_ssl_new_ctx(struct sim_modem *m, int ctx, enum sim_ssl_error *error, char *why, size_t cap);

/** Prepare an SSL object made from such a context: SNI host name when enableSNI. */
void sim_ssl_prepare(const struct sim_modem *m, int ctx, SSL *ssl, const char *host);

#endif /* SIM_SSL_STORE_H */
