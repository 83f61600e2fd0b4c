/*
 * board_api.h - what every board (mps2-an386, nrf52840) provides to the shared
 * bus application (common/bus_run.c). Each board directory has its own
 * board_port.h with a `struct board_port` whose first member is the core's
 * `struct fw_port`.
 */
#ifndef BOARD_API_H
#define BOARD_API_H

#include <stddef.h>
#include <stdint.h>

#include "board_port.h"
#include "port_common.h"

/* Credential slots: the CA, the client certificate or ES256 key, the TLS key. */
#define BOARD_CREDENTIAL_SLOTS 3u

/* Write a NUL-terminated line to the board's console (semihosting on QEMU,
 * nothing or a debug UART on a real board). */
void board_console(const char *text);

/* The credential file rel (e.g. "ca.pem", "devices/bus-1/cert.pem") of the
 * certificate tree dir (certs/gen.sh's layout): *data points at its bytes,
 * valid until the slot is used again. Returns the length, or -1 (reported on
 * the console) when it is missing or too large. QEMU reads the host file
 * dir/rel into a RAM buffer per slot; a real board finds rel in its provisioned
 * flash region (dir is ignored). */
int32_t board_credential(unsigned slot, const char *dir, const char *rel, const uint8_t **data);

/* Wipe any RAM copy held for slot (after a key was parsed). */
void board_credential_wipe(unsigned slot);

/* Wait for the next interrupt (tick or UART). */
void board_sleep(void);

#endif /* BOARD_API_H */
