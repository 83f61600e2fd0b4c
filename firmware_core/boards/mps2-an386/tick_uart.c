/*
 * tick_uart.c - the board's 1 ms SysTick and the CMSDK APB UART0 (0x40004000)
 * that carries the modem link. Receive is interrupt-driven into a ring buffer
 * (the core drains it from its poll loop); transmit writes while the one-byte
 * holding register is free and returns, so the core's writes never block.
 */
#include <stdint.h>

#include "board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_INTSTATUS (*(volatile uint32_t *)(UART0_BASE + 0x0Cu))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))

#define STATE_TXFULL 0x1u
#define STATE_RXFULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u
#define CTRL_RX_INT_EN 0x8u
#define INT_RX 0x2u

/* Receive ring size, a power of two: a whole +CMQTTRX block at 115200 baud. */
#define RX_RING_SIZE 4096u

static volatile uint32_t tick_ms;
static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head; /* written by the interrupt */
static volatile uint32_t rx_tail; /* written by board_uart_read */
static volatile uint32_t rx_overruns;

void SysTick_Handler(void);
void Uart0Rx_Handler(void);

void SysTick_Handler(void)
{
    tick_ms++;
}

void board_tick_init(void)
{
    SYST_RVR = BOARD_CLOCK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* processor clock, interrupt, enable */
}

uint32_t board_ms(void)
{
    return tick_ms;
}

uint64_t board_clock_ticks(void)
{
    uint32_t ms, cvr;
    do { /* a tick interrupt between the two reads makes the pair inconsistent: read again */
        ms = tick_ms;
        cvr = SYST_CVR;
    } while (ms != tick_ms);
    return (uint64_t)ms * (BOARD_CLOCK_HZ / 1000u) + (SYST_RVR - cvr);
}

char *board_utoa(uint32_t v, char *buf)
{
    char tmp[10];
    int n = 0, i = 0;
    do {
        tmp[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0);
    while (n > 0)
        buf[i++] = tmp[--n];
    buf[i] = '\0';
    return buf;
}

/* The interrupt status is cleared before the data register is drained: a byte
 * that arrives after the last read sets it again and interrupts again. Cleared
 * after the loop, such a byte's status would be wiped while RXFULL stays set,
 * and the UART (which takes no byte while full) would never interrupt again. */
void Uart0Rx_Handler(void)
{
    UART_INTSTATUS = INT_RX;
    while (UART_STATE & STATE_RXFULL) {
        uint8_t byte = (uint8_t)UART_DATA;
        uint32_t head = rx_head;
        if (head - rx_tail < RX_RING_SIZE) {
            rx_ring[head % RX_RING_SIZE] = byte;
            rx_head = head + 1u;
        } else {
            rx_overruns++;
        }
    }
}

void board_uart_init(void)
{
    UART_BAUDDIV = BOARD_CLOCK_HZ / 115200u;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INT_EN;
    NVIC_ISER0 = 1u << BOARD_UART0_RX_IRQ;
}

size_t board_uart_write(const uint8_t *buf, size_t len)
{
    size_t n = 0;
    while (n < len && !(UART_STATE & STATE_TXFULL))
        UART_DATA = buf[n++];
    return n;
}

size_t board_uart_read(uint8_t *buf, size_t cap)
{
    size_t n = 0;
    uint32_t tail = rx_tail;
    uint32_t head = rx_head;
    while (n < cap && tail != head)
        buf[n++] = rx_ring[tail++ % RX_RING_SIZE];
    rx_tail = tail;
    return n;
}

uint32_t board_uart_overruns(void)
{
    return rx_overruns;
}

void board_sleep(void)
{
    __asm volatile("wfi" ::: "memory");
}
