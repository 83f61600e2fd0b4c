/*
 * fw_port_linux_tls.h - the Linux port's TLS for the MCU-TLS stacks: an
 * OpenSSL client whose network side is two memory BIOs, so the core moves
 * the ciphertext over the modem's TCP socket itself. Credential ids name
 * PEM files (FW_LINUX_TLS_CA/CERT/KEY); the CA slot may instead hold PEM
 * bytes in memory (ca_pem, or a copy made by the port hook tls_set_ca:
 * the active CA of fw_rotation). Certificates are checked against the
 * bench's clock (the virtual clock when one is given).
 */
#ifndef FW_PORT_LINUX_TLS_H
#define FW_PORT_LINUX_TLS_H

#include <stddef.h>
#include <stdint.h>

struct vclock;
struct ssl_st;
struct ssl_ctx_st;
struct bio_st;
struct fw_linux_port;

/* Largest CA the port hook tls_set_ca copies, in bytes. */
#define FW_LINUX_TLS_CA_MAX 8192u

/* Credential slots for tls_open (0 means none). */
enum { FW_LINUX_TLS_NONE = 0, FW_LINUX_TLS_CA = 1, FW_LINUX_TLS_CERT = 2, FW_LINUX_TLS_KEY = 3 };

/* One TLS client. Zero it, set files[] and clock, then use the functions. */
struct fw_linux_tls {
    const char *files[4];         /* PEM path per credential slot; [0] unused */
    const uint8_t *ca_pem;        /* when set: the CA slot's certificates from these
                                   * ca_pem_len PEM bytes instead of its file */
    size_t ca_pem_len;
    uint8_t ca_copy[FW_LINUX_TLS_CA_MAX]; /* what fw_linux_tls_set_ca took */
    struct vclock *clock;         /* time for certificate checks; NULL: real time */
    struct ssl_ctx_st *ctx;
    struct ssl_st *ssl;
    struct bio_st *net_in;        /* ciphertext from the network (SSL reads it) */
    struct bio_st *net_out;       /* ciphertext for the network (SSL writes it) */
    char error[256];              /* the last OpenSSL error, for the log */
};

/* The port hooks' bodies (see fw_port.h for the contract). */
int32_t fw_linux_tls_open(struct fw_linux_tls *t, const char *server_name, uint32_t ca_id,
                          uint32_t cert_id, uint32_t key_id);
int32_t fw_linux_tls_feed(struct fw_linux_tls *t, const uint8_t *in, size_t len);
int32_t fw_linux_tls_take(struct fw_linux_tls *t, uint8_t *out, size_t cap);
int32_t fw_linux_tls_write(struct fw_linux_tls *t, const uint8_t *buf, size_t len);
int32_t fw_linux_tls_read(struct fw_linux_tls *t, uint8_t *buf, size_t cap);
void fw_linux_tls_close(struct fw_linux_tls *t);
/* Copy len PEM bytes into the CA slot (ca_id FW_LINUX_TLS_CA only) and use
 * them from the next open on (ca_pem points at the copy). Returns 0, or -1
 * when the slot is another, the bytes are too many or hold no certificate
 * (the slot then stays as it was). */
int32_t fw_linux_tls_set_ca(struct fw_linux_tls *t, uint32_t ca_id, const uint8_t *pem,
                            size_t len);

/* Give the port p TLS hooks backed by t (p->tls = t). */
void fw_linux_port_attach_tls(struct fw_linux_port *p, struct fw_linux_tls *t);

#endif /* FW_PORT_LINUX_TLS_H */
