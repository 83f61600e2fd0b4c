/*
 * rng_flash.c - the nRF52840's RNG (bias correction on, one byte per VALRDY)
 * and the NVMC's page erase and word writes (CONFIG to EEN or WEN, wait READY,
 * back to read-only).
 */
#include "board.h"
#include "nrf52840.h"

void board_rng_fill(uint8_t *buf, size_t len)
{
    size_t i;
    RNG_CONFIG = RNG_CONFIG_DERCEN;
    RNG_EVENTS_VALRDY = 0;
    RNG_TASKS_START = 1;
    for (i = 0; i < len; i++) {
        while (RNG_EVENTS_VALRDY == 0)
            ;
        RNG_EVENTS_VALRDY = 0;
        buf[i] = (uint8_t)RNG_VALUE;
    }
    RNG_TASKS_STOP = 1;
}

static void nvmc_wait(void)
{
    while (NVMC_READY == 0)
        ;
}

void board_flash_erase_page(uint32_t addr)
{
    NVMC_CONFIG = NVMC_CONFIG_EEN;
    nvmc_wait();
    NVMC_ERASEPAGE = addr;
    nvmc_wait();
    NVMC_CONFIG = NVMC_CONFIG_REN;
    nvmc_wait();
}

void board_flash_write(uint32_t addr, const void *src, size_t len)
{
    const uint8_t *s = src;
    size_t i;
    NVMC_CONFIG = NVMC_CONFIG_WEN;
    nvmc_wait();
    for (i = 0; i + 4u <= len; i += 4u) {
        uint32_t w = (uint32_t)s[i] | (uint32_t)s[i + 1] << 8 | (uint32_t)s[i + 2] << 16 |
                     (uint32_t)s[i + 3] << 24;
        *(volatile uint32_t *)(uintptr_t)(addr + i) = w;
        nvmc_wait();
    }
    NVMC_CONFIG = NVMC_CONFIG_REN;
    nvmc_wait();
}
