/*
 * nvmc_store.c - persistent blobs in flash (see board_port.h). The STORAGE
 * region (nrf52840.ld, 64 KB) holds 8 slots of 2 pages; slots 2i and 2i+1 are
 * the pair of one key. A slot is: header (magic, key, sequence, length, CRC-32
 * of the data) then the data. Saving erases the pair's older slot, writes the
 * data, then the header with the magic last: a reset in the middle leaves that
 * slot without a magic, so the previous copy stays the valid one.
 */
#include "board.h"
#include "board_port.h"
#include "nrf52840.h"

#define SLOT_PAGES 2u
#define SLOT_SIZE (SLOT_PAGES * NRF_FLASH_PAGE_SIZE)
#define SLOT_COUNT 8u
#define STORE_MAGIC 0x54534243u /* "CBST" */
#define HEADER_WORDS 5u
#define DATA_MAX (SLOT_SIZE - HEADER_WORDS * 4u)

/* Where the slots are read (a pointer) and their NVMC address (the same on the chip). */
#ifdef NVMC_STORE_HOST_TEST
/* the host test's stand-in for the STORAGE pages (boards/tests/test_boards_host.c) */
extern uint8_t nvmc_test_flash[];
#define STORE_BASE ((uintptr_t)nvmc_test_flash)
#define STORE_FLASH_ADDR 0xF0000u
#else
extern uint32_t __storage_start;
#define STORE_BASE ((uintptr_t)&__storage_start)
#define STORE_FLASH_ADDR ((uint32_t)(uintptr_t)&__storage_start)
#endif

/* A slot's header as it lies in flash. */
struct slot_header {
    uint32_t magic, key, seq, len, crc;
};

static const struct slot_header *slot(unsigned i)
{
    return (const struct slot_header *)(STORE_BASE + i * SLOT_SIZE);
}

static uint32_t crc32(const uint8_t *p, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int b;
    for (i = 0; i < len; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static const uint8_t *slot_data(unsigned i)
{
    return (const uint8_t *)(slot(i) + 1);
}

static int slot_valid(unsigned i)
{
    const struct slot_header *h = slot(i);
    return h->magic == STORE_MAGIC && h->len <= DATA_MAX && crc32(slot_data(i), h->len) == h->crc;
}

/* The valid slot of key with the highest sequence, or -1. */
static int current_slot(uint32_t key)
{
    int best = -1;
    unsigned i;
    for (i = 0; i < SLOT_COUNT; i++)
        if (slot_valid(i) && slot(i)->key == key && (best < 0 || slot(i)->seq > slot((unsigned)best)->seq))
            best = (int)i;
    return best;
}

/* The pair holding key, or a pair holding nothing valid, or -1. */
static int pair_for(uint32_t key)
{
    unsigned p;
    int cur = current_slot(key);
    if (cur >= 0)
        return cur / 2;
    for (p = 0; p < SLOT_COUNT / 2u; p++)
        if (!slot_valid(2u * p) && !slot_valid(2u * p + 1u))
            return (int)p;
    return -1;
}

int32_t nvmc_store_load(uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    int cur = current_slot(key);
    uint32_t i;
    *len = 0;
    if (cur < 0)
        return 0;
    if (slot((unsigned)cur)->len > cap)
        return -1;
    for (i = 0; i < slot((unsigned)cur)->len; i++)
        buf[i] = slot_data((unsigned)cur)[i];
    *len = slot((unsigned)cur)->len;
    return 0;
}

int32_t nvmc_store_save(uint32_t key, const uint8_t *buf, size_t len)
{
    int pair = pair_for(key), cur = current_slot(key);
    unsigned target, page;
    uint32_t base, whole = (uint32_t)(len & ~(size_t)3u);
    struct slot_header h;
    uint8_t tail[4] = {0xFF, 0xFF, 0xFF, 0xFF};
    size_t i;
    if (pair < 0 || len > DATA_MAX)
        return -1;
    target = cur == 2 * pair ? 2u * (unsigned)pair + 1u : 2u * (unsigned)pair;
    base = STORE_FLASH_ADDR + target * SLOT_SIZE;
    for (page = 0; page < SLOT_PAGES; page++)
        board_flash_erase_page(base + page * NRF_FLASH_PAGE_SIZE);
    board_flash_write(base + HEADER_WORDS * 4u, buf, whole);
    if (whole < len) {
        for (i = whole; i < len; i++)
            tail[i - whole] = buf[i];
        board_flash_write(base + HEADER_WORDS * 4u + whole, tail, 4u);
    }
    h.magic = STORE_MAGIC;
    h.key = key;
    h.seq = cur >= 0 ? slot((unsigned)cur)->seq + 1u : 1u;
    h.len = (uint32_t)len;
    h.crc = crc32(buf, len);
    board_flash_write(base + 4u, &h.key, 16u); /* key, seq, len, crc */
    board_flash_write(base, &h.magic, 4u);     /* last: the copy becomes valid */
    return slot_valid(target) ? 0 : -1;
}
