/*
 * startup.c - vector table and reset handler of the mps2-an386 image: paints
 * the free RAM between .bss and the stack with a pattern, copies .data from
 * its load address, zeroes .bss, enables the FPU (the core is built for the
 * hard-float ABI) and calls main; on the way out it reports how deep the stack
 * went (the painted words the stack overwrote). Faults end the QEMU run with
 * status 70 through semihosting, so a crash never looks like a hang.
 */
#include <stdint.h>

#include "board.h"

/* Exit status of the run when the CPU takes a fault. */
#define FAULT_EXIT_STATUS 70u

extern uint32_t _stack_top, _data_load, _data_start, _data_end, _bss_start, _bss_end;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void Uart0Rx_Handler(void);

/* Word written over the unused stack at reset. */
#define STACK_PAINT 0xC5AC5AC5u
/* Bytes below the reset handler's own frame left unpainted. */
#define PAINT_MARGIN 64u

uint32_t board_stack_used(void)
{
    const uint32_t *w = &_bss_end;
    while (w < &_stack_top && *w == STACK_PAINT)
        w++;
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)w);
}

uint32_t board_stack_size(void)
{
    return (uint32_t)((uintptr_t)&_stack_top - (uintptr_t)&_bss_end);
}

/* "board: stack high-water N bytes of M\n" on the console. */
static void report_stack(void)
{
    char line[64];
    semihost_write("board: stack high-water ");
    semihost_write(board_utoa(board_stack_used(), line));
    semihost_write(" bytes of ");
    semihost_write(board_utoa(board_stack_size(), line));
    semihost_write("\n");
}

static void paint_stack(void)
{
    uint32_t *w = &_bss_end;
    uint32_t *limit;
    __asm volatile("mov %0, sp" : "=r"(limit));
    limit -= PAINT_MARGIN / sizeof(uint32_t);
    while (w < limit)
        *w++ = STACK_PAINT;
}

static void fault_handler(void)
{
    report_stack();
    semihost_write("board: CPU fault\n");
    semihost_exit(FAULT_EXIT_STATUS);
}

static void unused_handler(void)
{
    semihost_write("board: unexpected interrupt\n");
    semihost_exit(FAULT_EXIT_STATUS);
}

/* 16 core entries, then external interrupts 0..15 (UART0 RX is 0). */
__attribute__((section(".isr_vector"), used))
static void (*const vector_table[32])(void) = {
    (void (*)(void))(uintptr_t)&_stack_top,
    Reset_Handler,
    fault_handler,  /* NMI */
    fault_handler,  /* HardFault */
    fault_handler,  /* MemManage */
    fault_handler,  /* BusFault */
    fault_handler,  /* UsageFault */
    0, 0, 0, 0,
    unused_handler, /* SVCall */
    unused_handler, /* DebugMonitor */
    0,
    unused_handler, /* PendSV */
    SysTick_Handler,
    Uart0Rx_Handler, /* IRQ 0: UART0 RX */
    unused_handler, unused_handler, unused_handler, unused_handler, unused_handler,
    unused_handler, unused_handler, unused_handler, unused_handler, unused_handler,
    unused_handler, unused_handler, unused_handler, unused_handler, unused_handler,
};

/* CPACR: full access to coprocessors 10 and 11 (the FPU). */
static void enable_fpu(void)
{
    volatile uint32_t *cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
}

void Reset_Handler(void)
{
    const uint32_t *src = &_data_load;
    uint32_t *dst;
    int status;
    paint_stack();
    for (dst = &_data_start; dst < &_data_end; dst++)
        *dst = *src++;
    for (dst = &_bss_start; dst < &_bss_end; dst++)
        *dst = 0;
    enable_fpu();
    status = main();
    report_stack();
    semihost_exit((uint32_t)status);
}
