/*
 * board_port.h - struct fw_port for the mps2-an386 board: UART0 for the modem,
 * SysTick for now_ms, log events on the semihosting console, persistent blobs
 * in RAM (lost when QEMU exits: the board has no non-volatile memory), the
 * host's time through semihosting as the wall clock. No entropy source or
 * signer yet (those pointers are NULL).
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
};

/* Fill p->port; logs up to max_level. The UART and tick must be started. */
void board_port_init(struct board_port *p, enum fw_log_level max_level);

#endif /* BOARD_PORT_H */
