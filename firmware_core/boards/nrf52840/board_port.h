/*
 * board_port.h - struct fw_port for the nRF52840 board: UARTE0 for the modem,
 * TIMER1 milliseconds (times the scenario clock's rate, as on QEMU), log
 * events into the RAM console, the RNG as the random source, the device's
 * P-256 key for ES256 JWTs signed on the CPU, and persistent blobs in the
 * NVMC pages the linker script reserves (nvmc_store.c). The wall clock is
 * the Unix time the go line gave at boot, advanced by the tick (0 without it).
 */
#ifndef BOARD_PORT_H
#define BOARD_PORT_H

#include <stdint.h>

#include "fw_port.h"

/* The port's state. */
struct board_port {
    struct fw_port port;
    enum fw_log_level max_level;       /* events above it are not written */
    uint32_t rate_milli;               /* clock rate x 1000 (1000: real time) */
    uint64_t epoch_s;                  /* wall clock at boot, 0: unknown */
    uint8_t es256_key[32];             /* device key for ES256 */
    uint8_t have_key;
};

/* Fill p->port; logs up to max_level, real-time clock, no wall clock, no key. */
void board_port_init(struct board_port *p, enum fw_log_level max_level);

/* Persistent blobs in the NVMC storage pages: load and save as fw_port's
 * persist_load / persist_save describe (save is atomic: the new copy's header
 * is written last, into the other slot of the key's pair). */
int32_t nvmc_store_load(uint32_t key, uint8_t *buf, size_t cap, size_t *len);
int32_t nvmc_store_save(uint32_t key, const uint8_t *buf, size_t len);

#endif /* BOARD_PORT_H */
