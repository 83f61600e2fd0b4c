/*
 * board_port.h - struct fw_port for the mps2-an386 board: UART0 for the modem,
 * SysTick for now_ms, log events on the semihosting console, persistent blobs
 * in RAM (lost when QEMU exits: the board has no non-volatile memory), the
 * host's time through semihosting as the wall clock (or a start time given on
 * the command line, advanced by the board's own clock), the device's P-256 key
 * in RAM for ES256 JWTs signed on the CPU (crypto/p256.c). No entropy source
 * (random is NULL: back-off without jitter).
 *
 * Clock rate: the harness may run a scenario on a virtual clock faster than
 * real time; the port's now_ms is then the SysTick milliseconds times that
 * rate (rate_milli / 1000), so the core's timers follow the scenario's clock.
 */
#ifndef BOARD_PORT_H
#define BOARD_PORT_H

#include <stdint.h>

#include "fw_port.h"

/* Blobs the RAM storage keeps, and the largest one. */
#define BOARD_PERSIST_SLOTS 2u
#define BOARD_PERSIST_BLOB_MAX 4096u

/* One stored blob. */
struct board_blob {
    uint32_t key;
    uint32_t len;
    uint8_t used;
    uint8_t data[BOARD_PERSIST_BLOB_MAX];
};

/* The port's state. */
struct board_port {
    struct fw_port port;
    enum fw_log_level max_level;       /* events above it are not printed */
    struct board_blob blobs[BOARD_PERSIST_SLOTS];
    uint32_t rate_milli;               /* clock rate x 1000 (1000: real time) */
    uint64_t epoch_s;                  /* wall clock at boot, 0: the host's time */
    uint8_t es256_key[32];             /* device key for ES256 */
    uint8_t have_key;
};

/* Fill p->port; logs up to max_level, real-time clock, host wall clock, no key.
 * The UART and tick must be started. */
void board_port_init(struct board_port *p, enum fw_log_level max_level);

/* One ES256 signature of msg (SHA-256 then P-256 ECDSA) in SysTick clock
 * ticks (board_clock_ticks), for the bench; the signature goes to sig. */
uint64_t board_port_time_es256(struct board_port *p, const uint8_t *msg, size_t len, uint8_t sig[64]);

#endif /* BOARD_PORT_H */
