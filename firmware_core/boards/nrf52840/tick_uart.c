/*
 * tick_uart.c - the nRF52840's 1 ms tick (TIMER1 at 1 MHz, compare 1000 with
 * the COMPARE0_CLEAR short: exactly 1 ms) and UARTE0, the modem link.
 *
 * Receive: EasyDMA fills one of two 64-byte RAM buffers; ENDRX copies the
 * bytes received (RXD.AMOUNT) into a ring buffer and restarts on the other
 * buffer. So that a short answer ("OK") does not wait for 64 bytes, the tick
 * stops reception (STOPRX) when RXDRDY says bytes arrived: ENDRX hands over
 * what came so far, RXTO follows, and FLUSHRX moves what the UARTE's FIFO
 * still holds into the next buffer (its ENDRX restarts reception; when the
 * FIFO was empty and no ENDRX comes, the next tick restarts it).
 * Transmit: the bytes are copied to a RAM buffer (EasyDMA reads Data RAM
 * only) and sent with STARTTX; the next write waits for ENDTX.
 */
#include <string.h>

#include "board.h"
#include "nrf52840.h"

#define RX_CHUNK 64u
#define RX_RING_SIZE 2048u   /* a power of two */
#define TX_BUF_SIZE 256u

/* Where reception stands. */
enum rx_state { RX_RUNNING, RX_STOPPING, RX_FLUSHING };

static volatile uint32_t tick_ms;
static uint8_t rx_dma[2][RX_CHUNK];
static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head; /* written by the interrupt */
static volatile uint32_t rx_tail; /* written by board_uart_read */
static volatile uint32_t rx_overruns, rx_errors;
static volatile uint8_t rx_active; /* buffer the DMA fills */
static volatile enum rx_state rx_state;
static volatile uint8_t rx_flush_ticks;
static uint8_t tx_dma[TX_BUF_SIZE];
static uint8_t tx_busy;

void Timer1_Handler(void);
void Uarte0_Handler(void);

void board_clock_init(void)
{
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (CLOCK_EVENTS_HFCLKSTARTED == 0)
        ;
}

void board_tick_init(void)
{
    TIMER_MODE = 0;         /* timer */
    TIMER_BITMODE = 3;      /* 32 bit */
    TIMER_PRESCALER = 4;    /* 16 MHz / 2^4 = 1 MHz */
    TIMER_CC0 = 1000;
    TIMER_SHORTS = TIMER_SHORTS_COMPARE0_CLEAR;
    TIMER_INTENSET = TIMER_INT_COMPARE0;
    NVIC_ISER0 = 1u << TIMER1_IRQ;
    TIMER_TASKS_CLEAR = 1;
    TIMER_TASKS_START = 1;
}

void Timer1_Handler(void)
{
    TIMER_EVENTS_COMPARE0 = 0;
    (void)TIMER_EVENTS_COMPARE0; /* the write reaches the peripheral before return */
    tick_ms++;
    board_uart_tick();
}

uint32_t board_ms(void)
{
    return tick_ms;
}

static void ring_put(const uint8_t *p, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++) {
        if (rx_head - rx_tail >= RX_RING_SIZE) {
            rx_overruns += n - i;
            return;
        }
        rx_ring[rx_head & (RX_RING_SIZE - 1u)] = p[i];
        rx_head++;
    }
}

static void rx_start(void)
{
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)rx_dma[rx_active];
    UARTE_RXD_MAXCNT = RX_CHUNK;
    rx_state = RX_RUNNING;
    UARTE_TASKS_STARTRX = 1;
}

void Uarte0_Handler(void)
{
    if (UARTE_EVENTS_ERROR) {
        UARTE_EVENTS_ERROR = 0;
        UARTE_ERRORSRC = UARTE_ERRORSRC; /* write 1 to clear */
        rx_errors++;
    }
    if (UARTE_EVENTS_ENDRX) {
        UARTE_EVENTS_ENDRX = 0;
        ring_put(rx_dma[rx_active], UARTE_RXD_AMOUNT);
        rx_active ^= 1u;
        if (rx_state != RX_STOPPING)
            rx_start();
    }
    if (UARTE_EVENTS_RXTO) {
        UARTE_EVENTS_RXTO = 0;
        rx_state = RX_FLUSHING;
        rx_flush_ticks = 0;
        UARTE_RXD_PTR = (uint32_t)(uintptr_t)rx_dma[rx_active];
        UARTE_RXD_MAXCNT = RX_CHUNK;
        UARTE_TASKS_FLUSHRX = 1;
    }
}

void board_uart_tick(void)
{
    if (rx_state == RX_RUNNING && UARTE_EVENTS_RXDRDY) {
        UARTE_EVENTS_RXDRDY = 0;
        rx_state = RX_STOPPING;
        UARTE_TASKS_STOPRX = 1;
    } else if (rx_state == RX_FLUSHING && ++rx_flush_ticks >= 2u) {
        rx_start(); /* the FIFO was empty: no ENDRX followed the flush */
    }
}

void board_uart_init(void)
{
    P0_OUTSET = 1u << BOARD_UART_TXD_PIN; /* idle high before the UARTE takes the pin */
    P0_PIN_CNF(BOARD_UART_TXD_PIN) = PIN_CNF_OUTPUT;
    P0_PIN_CNF(BOARD_UART_RXD_PIN) = PIN_CNF_INPUT;
    UARTE_PSEL_TXD = BOARD_UART_TXD_PIN;
    UARTE_PSEL_RXD = BOARD_UART_RXD_PIN;
    UARTE_PSEL_RTS = UARTE_PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = UARTE_PSEL_DISCONNECTED;
    UARTE_BAUDRATE = UARTE_BAUD_115200;
    UARTE_CONFIG = 0; /* no flow control, no parity, one stop bit */
    UARTE_ENABLE = UARTE_ENABLE_UARTE;
    UARTE_INTENSET = UARTE_INT_ENDRX | UARTE_INT_RXTO | UARTE_INT_ERROR;
    NVIC_ISER0 = 1u << UARTE0_IRQ;
    rx_active = 0;
    rx_start();
}

size_t board_uart_write(const uint8_t *buf, size_t len)
{
    size_t n = len < TX_BUF_SIZE ? len : TX_BUF_SIZE;
    if (tx_busy) {
        if (UARTE_EVENTS_ENDTX == 0)
            return 0;
        tx_busy = 0;
    }
    if (n == 0)
        return 0;
    memcpy(tx_dma, buf, n);
    UARTE_EVENTS_ENDTX = 0;
    UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_dma;
    UARTE_TXD_MAXCNT = n;
    UARTE_TASKS_STARTTX = 1;
    tx_busy = 1;
    return n;
}

size_t board_uart_read(uint8_t *buf, size_t cap)
{
    size_t n = 0;
    while (n < cap && rx_tail != rx_head) {
        buf[n++] = rx_ring[rx_tail & (RX_RING_SIZE - 1u)];
        rx_tail++;
    }
    return n;
}

uint32_t board_uart_overruns(void)
{
    return rx_overruns;
}

uint32_t board_uart_errors(void)
{
    return rx_errors;
}

void board_sleep(void)
{
    __asm volatile("wfe");
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
