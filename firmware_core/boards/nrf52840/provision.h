/*
 * provision.h - the provisioned credential region of the nRF52840 image
 * (flash 0xE0000..0xF0000, nrf52840.ld): what a real unit has in place of
 * QEMU's host files. `cellbench hil` writes it as an Intel HEX from certs/out
 * (harness/cli/hil.c keeps the same layout). Little-endian words:
 *   header  magic PROVISION_MAGIC, count of entries
 *   entry   name[PROVISION_NAME_LEN] (NUL-padded path relative to the
 *           certificate tree, e.g. "devices/bus-1/cert.pem"), length in bytes,
 *           then the bytes, padded with 0xFF to a multiple of 4
 */
#ifndef PROVISION_H
#define PROVISION_H

#define PROVISION_MAGIC 0x56504243u /* "CBPV" */
#define PROVISION_NAME_LEN 64u
#define PROVISION_ENTRY_MAX 10240u   /* the modem's largest certificate file */

#endif /* PROVISION_H */
