/*
 * fw_rotation.h - server endpoint and CA certificate rotation in the field
 * (a revoked CA, a moved endpoint).
 *
 * The device knows up to two (endpoint, CA) pairs, kept in the port's
 * persistent storage so a reboot loses neither:
 *   - the trusted pair: the one that last connected (at first, the factory
 *     pair given at init);
 *   - the pending pair: a new pair a configuration offered ("endpoint":
 *     "host[:port]", optionally with a "mqtts://" or "ssl://" scheme, and
 *     "ca_cert": PEM; a missing one is taken from the trusted pair), not
 *     connected yet.
 * The active pair is the one in use, the previous one is the other.
 *
 * An offer makes the new pair active at once: fw_device is asked to drop
 * its session (fw_device_hooks.restart_due) and, before the next attempt
 * (prepare), gets the new server and a setup that deletes the other CA file
 * from the modem's store (AT+CCERTDELE) and downloads the active one
 * (AT+CCERTDOWN, a file name derived from the CA's contents) and points the
 * SSL context at it. After FW_ROTATION_MAX_FAILURES failed connection
 * attempts in a row with the active pair, the previous pair becomes active
 * again (fall back); so a pending pair that failed is tried once more when
 * the trusted one stops working too. The first accepted connection with
 * the pending pair makes it the trusted pair, the only one left.
 *
 * An offer with an invalid or oversized endpoint or PEM is refused and the
 * pairs stay as they were (the bus application then sends an error event).
 * The same offer repeated (a retained configuration delivered on every
 * connect) changes nothing.
 *
 * Freestanding: no heap, no globals; the pairs live in struct fw_rotation.
 * The stored record holds both pairs with a CRC; a record of another
 * build's sizes is ignored (the factory pair is used).
 *
 * On the MCU-TLS transport (fw_device_config.transport) the modem's store
 * is not used: prepare sets fw_mcu_tls_config's host, tcp_port and
 * server_name from the active endpoint and its ca_pem/ca_len to the active
 * CA, which the transport hands to the port hook tls_set_ca (slot ca_id)
 * at every start; the device reports each attempt's CONNACK or failure and
 * ends the session cleanly when restart_due says the pair changed. With a
 * port without tls_set_ca the factory CA is left to the platform's slot
 * and any other CA makes the transport refuse to start, so the device
 * falls back to the previous pair.
 */
#ifndef FW_ROTATION_H
#define FW_ROTATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_device.h"
#include "fw_json.h"
#include "fw_port.h"
#include "fw_sim7600_setup.h"

/* Longest endpoint, "host:port", in bytes. */
#ifndef FW_ROTATION_ENDPOINT_MAX
#define FW_ROTATION_ENDPOINT_MAX 128u
#endif

/* Largest CA certificate (PEM bytes) an offer may carry. */
#ifndef FW_ROTATION_CA_MAX
#define FW_ROTATION_CA_MAX 2048u
#endif

/* Failed connection attempts in a row before switching pairs. */
#ifndef FW_ROTATION_MAX_FAILURES
#define FW_ROTATION_MAX_FAILURES 3u
#endif

/* Persistent storage key of the record (fwcore: 1 offline queue, 2 event
 * sequence number). */
#ifndef FW_ROTATION_PERSIST_KEY
#define FW_ROTATION_PERSIST_KEY 3u
#endif

/* Port of an endpoint given as a host alone. */
#ifndef FW_ROTATION_DEFAULT_PORT
#define FW_ROTATION_DEFAULT_PORT 8883u
#endif

/* Longest CA file name in the modem's store, with its NUL. */
#define FW_ROTATION_NAME_MAX 24u

/* JSON tokens a configuration may have. */
#define FW_ROTATION_TOKENS 64u

/* Status of an offer. */
enum fw_rotation_status {
    FW_ROTATION_OK = 0,          /* a new pair is active (or a pending one was withdrawn) */
    FW_ROTATION_UNCHANGED,       /* the pair is already known: nothing changes */
    FW_ROTATION_ABSENT,          /* the configuration names no endpoint or CA */
    FW_ROTATION_BAD_ENDPOINT,    /* not [mqtts://|ssl://]host[:port] (port 1-65535) */
    FW_ROTATION_BAD_CA,          /* not one or more PEM CERTIFICATE blocks */
    FW_ROTATION_TOO_LARGE,       /* endpoint or CA longer than the limits above */
    FW_ROTATION_BAD_ARG          /* NULL pointers, invalid JSON */
};

/* One (endpoint, CA) pair. */
struct fw_rotation_pair {
    uint32_t ca_len;
    char endpoint[FW_ROTATION_ENDPOINT_MAX + 1];   /* "host:port", NUL-terminated */
    char ca_name[FW_ROTATION_NAME_MAX];            /* its file in the modem's store */
    uint8_t ca[FW_ROTATION_CA_MAX + 1];            /* PEM (NUL after ca_len bytes) */
};

/* What is kept in persistent storage. */
struct fw_rotation_record {
    uint32_t magic;
    uint32_t crc;
    uint8_t has_pending;
    uint8_t use_pending;                           /* the pending pair is active */
    char dropped[FW_ROTATION_NAME_MAX];            /* CA file still to delete, "" none */
    struct fw_rotation_pair trusted;
    struct fw_rotation_pair pending;
};

/* Settings. */
struct fw_rotation_config {
    const struct fw_port *port;
    const char *endpoint;        /* factory endpoint, "host[:port]" */
    const char *ca_name;         /* file name of the factory CA in the modem's store */
    const uint8_t *ca;           /* factory CA (PEM) */
    size_t ca_len;
    struct fw_sim7600_setup_params setup; /* the rest of the modem setup: APN, client
                                           * certificate and key files, SSL context,
                                           * SNI; its cacert is replaced */
    uint32_t persist_key;        /* 0 = FW_ROTATION_PERSIST_KEY */
    unsigned max_failures;       /* 0 = FW_ROTATION_MAX_FAILURES */
};

/* Counters. */
struct fw_rotation_stats {
    uint32_t offers;             /* new pairs taken */
    uint32_t refused;            /* offers refused */
    uint32_t switches;           /* fall-backs and retries of the pending pair */
    uint32_t promotions;         /* pending pairs that connected */
    uint32_t save_failures;      /* records persist_save refused */
};

/* Rotation state. Allocated by the caller; fields are private. */
struct fw_rotation {
    struct fw_rotation_config cfg;
    struct fw_rotation_record rec;
    struct fw_rotation_pair offer;                 /* an offer being checked */
    struct fw_json_token tokens[FW_ROTATION_TOKENS];
    unsigned failures;
    bool applied;                                  /* prepare gave server and ca_file */
    bool dropped_applied;                          /* the last setup deletes rec.dropped */
    char server[FW_ROTATION_ENDPOINT_MAX + 8];     /* "tcp://host:port" */
    char host[FW_ROTATION_ENDPOINT_MAX + 1];       /* MCU TLS: host and server name */
    struct fw_device_config *mcu_cfg;              /* MCU TLS: the config prepare filled */
    uint32_t factory_ca_len, factory_ca_crc;       /* to tell the factory CA by its contents */
    char ca_file[FW_ROTATION_NAME_MAX];            /* the SSL context's cacert */
    char remove_names[2][FW_ROTATION_NAME_MAX];
    const char *remove[2];
    struct fw_sim7600_cert certs[FW_SIM7600_SETUP_MAX_CERTS];
    struct fw_device_hooks hooks;
    struct fw_rotation_stats stats;
};

/* Start: the stored pairs if a valid record is stored, else the factory
 * pair. Returns false for missing pointers, an invalid factory pair or
 * more than FW_SIM7600_SETUP_MAX_CERTS - 1 setup files. */
bool fw_rotation_init(struct fw_rotation *r, const struct fw_rotation_config *cfg);

/* Offer a pair: endpoint (endpoint_len bytes; NULL keeps the trusted one)
 * and CA PEM (ca_len bytes; NULL keeps the trusted one). */
enum fw_rotation_status fw_rotation_offer(struct fw_rotation *r, const char *endpoint,
                                          size_t endpoint_len, const uint8_t *ca, size_t ca_len);

/* Offer the "endpoint" and "ca_cert" members of a configuration document;
 * FW_ROTATION_ABSENT when it has neither. */
enum fw_rotation_status fw_rotation_offer_config(struct fw_rotation *r, const char *json,
                                                 size_t len);

/* The outcome of a connection attempt with the pair prepare gave last:
 * accepted promotes a pending pair; failures switch pairs. */
void fw_rotation_connect_result(struct fw_rotation *r, bool accepted);

/* The active pair (the one to connect with). */
const struct fw_rotation_pair *fw_rotation_active(const struct fw_rotation *r);

/* The previous pair (the fall-back), or NULL when there is only one. */
const struct fw_rotation_pair *fw_rotation_previous(const struct fw_rotation *r);

/* Whether a pair waits for its first connection. */
bool fw_rotation_has_pending(const struct fw_rotation *r);

/* Split p's endpoint into host (NUL-terminated, capacity cap) and port.
 * Returns false when host does not fit. */
bool fw_rotation_host_port(const struct fw_rotation_pair *p, char *host, size_t cap,
                           uint16_t *port);

/* Hooks for fw_device_config.hooks (prepare, restart_due, connect_result),
 * valid as long as r. */
const struct fw_device_hooks *fw_rotation_device_hooks(struct fw_rotation *r);

/* For fw_bus_app_config.config_hook (ctx = the struct fw_rotation): offer
 * the configuration's pair; false with a reason for a refused one. */
bool fw_rotation_config_hook(void *ctx, const char *json, size_t len, char *reason, size_t cap);

/* Counters. */
const struct fw_rotation_stats *fw_rotation_stats(const struct fw_rotation *r);

/* Human-readable name of a status; never NULL. */
const char *fw_rotation_status_str(enum fw_rotation_status status);

#endif /* FW_ROTATION_H */
