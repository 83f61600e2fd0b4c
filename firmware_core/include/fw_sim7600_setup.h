/*
 * fw_sim7600_setup.h - bringing a SIM7600 from power-up to ready for the
 * cloud, without blocking: sync (AT until OK), echo off, numeric-or-text
 * errors, SIM ready, registered on the packet network, the APN, the
 * certificates the stack needs in the modem's store (AT+CCERTLIST, then
 * AT+CCERTDELE for listed files that must go, e.g. a CA replaced by a
 * rotation, then AT+CCERTDOWN only for the missing ones) and an SSL context
 * (AT+CSSLCFG).
 */
#ifndef FW_SIM7600_SETUP_H
#define FW_SIM7600_SETUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_sim7600.h"

/* Most certificate files one setup can provision. */
#define FW_SIM7600_SETUP_MAX_CERTS 8u

/* A file that must be in the modem's certificate store. */
struct fw_sim7600_cert {
    const char *name;            /* 5..108 bytes ending in .pem or .der, no '"' */
    const uint8_t *data;         /* contents */
    size_t len;                  /* 1..10240 */
};

/* What to set up. Pointers must stay valid until setup is done. */
struct fw_sim7600_setup_params {
    const char *apn;             /* AT+CGDCONT=1,"IP","<apn>"; NULL keeps the modem's */
    const struct fw_sim7600_cert *certs; /* NULL when n_certs is 0 */
    size_t n_certs;
    const char *const *remove;   /* files to delete when listed (no '"'); NULL when n_remove is 0;
                                  * a refused delete is skipped, not a failure */
    size_t n_remove;             /* at most FW_SIM7600_SETUP_MAX_CERTS */
    int ssl_ctx;                 /* context 0-9 to configure, -1 for none */
    const char *cacert;          /* name of the CA file (needed with ssl_ctx >= 0) */
    const char *clientcert;      /* client certificate name, NULL for server-only auth */
    const char *clientkey;       /* client key name, with clientcert */
    bool sni;                    /* send SNI (AWS requires it) */
    uint32_t register_timeout_ms;/* how long to wait for registration; 0 = 120000 */
};

/* Status of a setup. */
enum fw_sim7600_setup_status {
    FW_SIM7600_SETUP_OK = 0,     /* the modem is ready */
    FW_SIM7600_SETUP_BUSY,       /* keep polling */
    FW_SIM7600_SETUP_FAILED,     /* a step failed: see fw_sim7600_setup_failed_step() */
    FW_SIM7600_SETUP_BAD_ARG     /* invalid parameters */
};

/* The steps, for reporting where a setup failed. */
enum fw_sim7600_setup_step {
    FW_SIM7600_STEP_SYNC, FW_SIM7600_STEP_ECHO_OFF, FW_SIM7600_STEP_ERRORS,
    FW_SIM7600_STEP_SIM, FW_SIM7600_STEP_REGISTER, FW_SIM7600_STEP_APN,
    FW_SIM7600_STEP_CERT_LIST, FW_SIM7600_STEP_CERT_DELETE, FW_SIM7600_STEP_CERT_DOWN,
    FW_SIM7600_STEP_SSL,
    FW_SIM7600_STEP_DONE
};

/* Setup state. Allocated by the caller; fields are private. */
struct fw_sim7600_setup {
    struct fw_sim7600 *modem;
    struct fw_sim7600_setup_params params;
    enum fw_sim7600_setup_step step;
    unsigned sub;                /* certificate or SSL option index */
    unsigned tries;
    bool pausing;
    uint32_t resume_ms;
    uint32_t step_started_ms;
    bool accepted;               /* the step's required line was seen */
    uint32_t present;            /* bit i: certs[i] already in the store */
    uint32_t downloaded;         /* bit i: certs[i] sent by this setup */
    uint32_t listed_remove;      /* bit i: remove[i] is in the store */
    enum fw_sim7600_setup_status status;
    bool reset_pulsed;           /* this setup pulsed the modem's reset line */
    struct fw_at_result last;
    char cmd[200];
};

/* Start setting up the modem behind d. */
enum fw_sim7600_setup_status fw_sim7600_setup_start(struct fw_sim7600_setup *s,
                                                    struct fw_sim7600 *d,
                                                    const struct fw_sim7600_setup_params *p);

/* Earliest port-clock time (ms) the setup has timed work (a pause between
 * retries, the running command's timeout), into *deadline_ms. Returns false
 * when nothing is timed. */
bool fw_sim7600_setup_next_deadline_ms(const struct fw_sim7600_setup *s, uint32_t *deadline_ms);

/* Advance the setup. */
enum fw_sim7600_setup_status fw_sim7600_setup_poll(struct fw_sim7600_setup *s);

/* After FW_SIM7600_SETUP_FAILED: the failing step and the AT result of its
 * last command in *result (may be NULL). */
enum fw_sim7600_setup_step fw_sim7600_setup_failed_step(const struct fw_sim7600_setup *s,
                                                        struct fw_at_result *result);

/* Whether this setup pulsed the modem's hardware reset line (port
 * modem_reset) because the modem answered none of the sync tries; it does
 * so once per setup, then syncs again while the modem boots. */
bool fw_sim7600_setup_reset_pulsed(const struct fw_sim7600_setup *s);

/* Bit i set when certs[i] had to be downloaded by this setup. */
uint32_t fw_sim7600_setup_downloaded(const struct fw_sim7600_setup *s);

/* Human-readable names; never NULL. */
const char *fw_sim7600_setup_status_str(enum fw_sim7600_setup_status status);
const char *fw_sim7600_setup_step_str(enum fw_sim7600_setup_step step);

#endif /* FW_SIM7600_SETUP_H */
