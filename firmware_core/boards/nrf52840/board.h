/*
 * board.h - the nRF52840 board's drivers (for the nRF52840-DK / PCA10056):
 * the 1 ms TIMER1 tick, UARTE0 for the modem link (TXD P0.06, RXD P0.08: the
 * DK's interface-MCU virtual COM port, /dev/ttyACM* on the host), the RNG,
 * NVMC page erase/write, the provisioned credential region and a RAM console.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Modem-link pins on port 0 (the DK's VCOM). */
#define BOARD_UART_TXD_PIN 6u
#define BOARD_UART_RXD_PIN 8u

/* Start the 64 MHz crystal and wait for it. */
void board_clock_init(void);

/* Start the 1 ms TIMER1 interrupt. */
void board_tick_init(void);

/* Milliseconds since board_tick_init(), wrapping at 2^32. */
uint32_t board_ms(void);

/* Configure UARTE0 at 115200 baud, 8N1, no flow control, receiving by EasyDMA
 * into a ring buffer. */
void board_uart_init(void);

/* Bytes handed to the UARTE's transmit DMA (0 while the previous transfer runs). */
size_t board_uart_write(const uint8_t *buf, size_t len);

/* Bytes taken from the receive ring buffer (0 when empty). */
size_t board_uart_read(uint8_t *buf, size_t cap);

/* Receive bytes lost (ring full) or UARTE errors (framing, overrun) so far. */
uint32_t board_uart_overruns(void);
uint32_t board_uart_errors(void);

/* Called from the tick: end the running receive transfer when bytes wait in it,
 * so the core sees them within about a millisecond. */
void board_uart_tick(void);

/* Fill buf with len bytes from the RNG (bias correction on). */
void board_rng_fill(uint8_t *buf, size_t len);

/* Erase the flash page at addr (4 KB aligned); write len bytes (a multiple of 4,
 * word-aligned) from src to flash at addr. Both wait until the NVMC is ready. */
void board_flash_erase_page(uint32_t addr);
void board_flash_write(uint32_t addr, const void *src, size_t len);

/* Deepest the stack has gone since reset (painted words overwritten), and its room. */
uint32_t board_stack_used(void);
uint32_t board_stack_size(void);

/* Decimal text of v in buf (at least 11 bytes); returns buf. */
char *board_utoa(uint32_t v, char *buf);

/* Wait for an event (WFE). */
void board_sleep(void);

#endif /* BOARD_H */
