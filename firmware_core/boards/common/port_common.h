/*
 * port_common.h - the parts of struct fw_port that every board implements
 * alike: the modem UART through board_uart_read/write, now_ms as the tick's
 * milliseconds times the scenario clock's rate, ES256 signed on the CPU
 * (crypto/p256.c) with the device key, and one log line per event on the
 * board's console. Each board's struct board_port (its board_port.h) has the
 * fields port, max_level, rate_milli, epoch_s, es256_key and have_key; the
 * board adds the wall clock, the storage and the random source itself.
 */
#ifndef PORT_COMMON_H
#define PORT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "board_port.h"

/* Clear p and fill the common hooks of p->port; logs up to max_level, the
 * clock at real-time rate, no wall clock, no key. */
void board_port_common_init(struct board_port *p, enum fw_log_level max_level);

/* The tick's milliseconds times the clock rate (rate_milli / 1000). */
uint32_t board_port_scaled_ms(const struct board_port *p);

/* Run the port's clock at rate_milli / 1000 times the tick's speed, with the
 * wall clock starting at epoch_s (0: the board's own idea of it). */
void board_port_set_clock(struct board_port *p, uint32_t rate_milli, uint64_t epoch_s);

/* Parse the device's P-256 private key (PKCS#8 or SEC 1 PEM) for port->sign.
 * Returns 0, or -1 with the reason on the console. */
int board_port_set_es256_key(struct board_port *p, const uint8_t *pem, size_t len);

/* port->sign: SHA-256 of msg, then P-256 ECDSA with RFC 6979 nonces and the
 * key set by board_port_set_es256_key(). */
int32_t board_port_sign(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len, uint8_t *sig,
                        size_t cap, size_t *sig_len);

#endif /* PORT_COMMON_H */
