/*
 * board.h - the mps2-an386 board (QEMU's Cortex-M4 MPS2 with AN386): register
 * addresses, the 1 ms SysTick, the CMSDK UART0 modem link, semihosting.
 * Everything here is used by the board's own files and its main.
 */
#ifndef BOARD_H
#define BOARD_H

#include <stddef.h>
#include <stdint.h>

/* CPU and peripheral clock of the MPS2 (SysTick and the UART run from it). */
#define BOARD_CLOCK_HZ 25000000u

/* Interrupt number of UART0's receive interrupt on AN385/AN386 (TX is 1). */
#define BOARD_UART0_RX_IRQ 0u

/* Start the 1 ms SysTick interrupt. */
void board_tick_init(void);

/* Milliseconds since board_tick_init(), wrapping at 2^32. */
uint32_t board_ms(void);

/* Configure UART0 at 115200 baud with the receive interrupt feeding a ring buffer. */
void board_uart_init(void);

/* Bytes written to UART0 without waiting (stops when the transmitter is full). */
size_t board_uart_write(const uint8_t *buf, size_t len);

/* Bytes taken from the receive ring buffer (0 when empty). */
size_t board_uart_read(uint8_t *buf, size_t cap);

/* Receive bytes lost because the ring buffer was full. */
uint32_t board_uart_overruns(void);

/* SysTick clock ticks (BOARD_CLOCK_HZ) since board_tick_init(): under QEMU's
 * -icount shift=0 one instruction is 1 ns of virtual time, 25 instructions a tick. */
uint64_t board_clock_ticks(void);

/* Deepest the stack has gone since reset, in bytes (the painted words it
 * overwrote between the end of .bss and the top of RAM), and the room it has. */
uint32_t board_stack_used(void);
uint32_t board_stack_size(void);

/* Decimal text of v in buf (at least 11 bytes); returns buf. */
char *board_utoa(uint32_t v, char *buf);

/* Wait for the next interrupt (tick or UART). */
void board_sleep(void);

/* Write a NUL-terminated string to the host's console (semihosting SYS_WRITE0). */
void semihost_write(const char *text);

/* The run's command line (QEMU -semihosting-config arg=...), NUL-terminated
 * in buf; returns its length, or -1 when it does not fit or is unavailable. */
int32_t semihost_cmdline(char *buf, size_t cap);

/* Host time in seconds since the Unix epoch (semihosting SYS_TIME). */
uint64_t semihost_time(void);

/* Read the host file path (binary) into buf; returns its length, or -1 when
 * it cannot be opened, is empty or is larger than cap. */
int32_t semihost_read_file(const char *path, uint8_t *buf, size_t cap);

/* End the QEMU run with the given exit status (semihosting SYS_EXIT_EXTENDED). */
void semihost_exit(uint32_t status) __attribute__((noreturn));

#endif /* BOARD_H */
