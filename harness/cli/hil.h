/*
 * hil — hardware-in-the-loop runs on an nRF52840 board (cli.h's
 * `cellbench hil`) and the part of `cellbench run --target hil` that talks to
 * the board: the go line on its serial port before the simulator takes it.
 */
#ifndef CELLBENCH_HIL_H
#define CELLBENCH_HIL_H

#include <stdbool.h>
#include <stddef.h>

#include "target_qemu.h"

/* The go line for the board (t->uart_path is its serial device, t->bin_dir unused):
 * "go aws|gcp DEVICE localhost:PORT - 0 [OPTION=VALUE...]" without the line end.
 * False (message on stderr) when it does not fit. */
bool hil_go_line(const struct target_qemu_device *t, char *buf, size_t cap);

/* Open the board's serial port (raw, 115200 baud), send the go line until the
 * firmware answers "cellbench-bus start" (or refuses it), close the port.
 * Returns 0, or -1 with a message on stderr within guard_ms. */
int hil_go(const struct target_qemu_device *t, int guard_ms);

/* Write the nRF52840's provisioned credential region (firmware_core/boards/nrf52840/
 * provision.h) for device id from the certificate tree certs as an Intel HEX file.
 * Returns 0, or -1 with a message on stderr. */
int hil_write_provision(const char *certs, const char *id, const char *path);

#endif /* CELLBENCH_HIL_H */
