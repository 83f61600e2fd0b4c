/*
 * startup.c - vector table and reset handler of the nRF52840 image: the table
 * (16 core entries and the 48 nRF52840 interrupts, 256 bytes) sits at flash
 * address 0; reset paints the free RAM between .bss and the stack, copies
 * .data from flash, zeroes .bss, enables the FPU (CPACR, before any float:
 * the core is built for the hard-float ABI) and calls main. Faults and
 * unexpected interrupts park the CPU (a debugger sees where).
 */
#include <stdint.h>

#include "board.h"
#include "nrf52840.h"

#define STACK_PAINT 0xC5AC5AC5u
#define PAINT_MARGIN 64u

extern uint32_t _stack_top, _data_load, _data_start, _data_end, _bss_start, _bss_end;

int main(void);
void Reset_Handler(void);
void Timer1_Handler(void);
void Uarte0_Handler(void);

/* Where a fault or a stray interrupt stops (a debugger finds the exception
 * number in IPSR); interrupts of its priority or lower no longer run. */
static void halt_handler(void)
{
    for (;;)
        ;
}

__attribute__((section(".isr_vector"), used))
static void (*const vector_table[64])(void) = {
    (void (*)(void))(uintptr_t)&_stack_top,
    Reset_Handler,
    halt_handler, /* NMI */
    halt_handler, /* HardFault */
    halt_handler, /* MemManage */
    halt_handler, /* BusFault */
    halt_handler, /* UsageFault */
    0, 0, 0, 0,
    halt_handler, /* SVCall */
    halt_handler, /* DebugMonitor */
    0,
    halt_handler, /* PendSV */
    halt_handler, /* SysTick: not used */
    [16 + 0] = halt_handler, /* POWER_CLOCK */
    [16 + 1] = halt_handler,
    [16 + UARTE0_IRQ] = Uarte0_Handler,
    [16 + 3] = halt_handler, [16 + 4] = halt_handler, [16 + 5] = halt_handler,
    [16 + 6] = halt_handler, [16 + 7] = halt_handler, [16 + 8] = halt_handler,
    [16 + TIMER1_IRQ] = Timer1_Handler,
    [16 + 10] = halt_handler, [16 + 11] = halt_handler, [16 + 12] = halt_handler,
    [16 + 13] = halt_handler, [16 + 14] = halt_handler, [16 + 15] = halt_handler,
    [16 + 16] = halt_handler, [16 + 17] = halt_handler, [16 + 18] = halt_handler,
    [16 + 19] = halt_handler, [16 + 20] = halt_handler, [16 + 21] = halt_handler,
    [16 + 22] = halt_handler, [16 + 23] = halt_handler, [16 + 24] = halt_handler,
    [16 + 25] = halt_handler, [16 + 26] = halt_handler, [16 + 27] = halt_handler,
    [16 + 28] = halt_handler, [16 + 29] = halt_handler, [16 + 30] = halt_handler,
    [16 + 31] = halt_handler, [16 + 32] = halt_handler, [16 + 33] = halt_handler,
    [16 + 34] = halt_handler, [16 + 35] = halt_handler, [16 + 36] = halt_handler,
    [16 + 37] = halt_handler, [16 + 38] = halt_handler, [16 + 39] = halt_handler,
    [16 + 40] = halt_handler, [16 + 41] = halt_handler, [16 + 42] = halt_handler,
    [16 + 43] = halt_handler, [16 + 44] = halt_handler, [16 + 45] = halt_handler,
    [16 + 46] = halt_handler, [16 + 47] = halt_handler,
};

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

static void paint_stack(void)
{
    uint32_t *w = &_bss_end;
    uint32_t *limit;
    __asm volatile("mov %0, sp" : "=r"(limit));
    limit -= PAINT_MARGIN / sizeof(uint32_t);
    while (w < limit)
        *w++ = STACK_PAINT;
}

void Reset_Handler(void)
{
    const uint32_t *src = &_data_load;
    uint32_t *dst;
    paint_stack();
    for (dst = &_data_start; dst < &_data_end; dst++)
        *dst = *src++;
    for (dst = &_bss_start; dst < &_bss_end; dst++)
        *dst = 0;
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
    (void)main();
    for (;;)
        board_sleep();
}
