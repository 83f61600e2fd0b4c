/* test_boards_host.c - the boards' portable parts on the host, where no MCU is needed:
 *  - the nRF52840's NVMC blob store (nrf52840/nvmc_store.c) over a simulated NOR flash
 *    (erase sets a page to 0xFF, a word write can only clear bits): round trips, two keys,
 *    full pairs, and a reset at every single flash operation of a save, after which the
 *    store must hold the old blob or the new one, never anything else;
 *  - the command line / go line words (common/bus_args.c): valid aws and gcp lines,
 *    options, escapes, and refusals of bad lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "board.h"
#include "board_port.h"
#include "bus_args.h"
#include "nrf52840.h"

#define FLASH_BASE 0xF0000u
#define FLASH_SIZE 0x10000u

uint8_t nvmc_test_flash[FLASH_SIZE];

/* Flash operations allowed before the simulated reset (-1: unlimited). */
static long ops_left = -1;
static jmp_buf reset_point;

static void count_op(void)
{
    if (ops_left == 0)
        longjmp(reset_point, 1);
    if (ops_left > 0)
        ops_left--;
}

void board_flash_erase_page(uint32_t addr)
{
    assert_true(addr >= FLASH_BASE && addr + NRF_FLASH_PAGE_SIZE <= FLASH_BASE + FLASH_SIZE);
    assert_int_equal(addr % NRF_FLASH_PAGE_SIZE, 0);
    count_op();
    memset(nvmc_test_flash + (addr - FLASH_BASE), 0xFF, NRF_FLASH_PAGE_SIZE);
}

void board_flash_write(uint32_t addr, const void *src, size_t len)
{
    const uint8_t *s = src;
    assert_int_equal(addr % 4u, 0);
    assert_int_equal(len % 4u, 0);
    assert_true(addr >= FLASH_BASE && addr + len <= FLASH_BASE + FLASH_SIZE);
    for (size_t i = 0; i < len; i += 4) {
        count_op(); /* one word at a time, as the NVMC writes */
        for (size_t b = 0; b < 4; b++)
            nvmc_test_flash[addr - FLASH_BASE + i + b] &= s[i + b];
    }
}

static void blank_flash(void)
{
    memset(nvmc_test_flash, 0xFF, sizeof nvmc_test_flash);
    ops_left = -1;
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

static void assert_blob(uint32_t key, const uint8_t *want, size_t want_len)
{
    static uint8_t got[9000];
    size_t len = 12345;
    assert_int_equal(nvmc_store_load(key, got, sizeof got, &len), 0);
    assert_int_equal(len, want_len);
    if (want_len)
        assert_memory_equal(got, want, want_len);
}

static void test_store_round_trips(void **state)
{
    static uint8_t blob[8200];
    static const size_t lens[] = {1, 3, 4, 5, 100, 4093, 4096, 8172};
    (void)state;
    blank_flash();
    assert_blob(7, NULL, 0); /* nothing saved: length 0 */
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        fill(blob, lens[i], (unsigned)i);
        assert_int_equal(nvmc_store_save(7, blob, lens[i]), 0);
        assert_blob(7, blob, lens[i]);
    }
    assert_int_equal(nvmc_store_save(7, blob, 8173), -1); /* larger than a slot holds */
    assert_blob(7, blob, 8172);
    {
        uint8_t small[10];
        size_t len = 0;
        assert_int_equal(nvmc_store_load(7, small, sizeof small, &len), -1); /* cap too small */
    }
}

static void test_store_keys_and_pairs(void **state)
{
    uint8_t a[50], b[60], c[70];
    (void)state;
    blank_flash();
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    fill(c, sizeof c, 3);
    assert_int_equal(nvmc_store_save(1, a, sizeof a), 0);
    assert_int_equal(nvmc_store_save(2, b, sizeof b), 0);
    assert_int_equal(nvmc_store_save(1, c, sizeof c), 0);
    assert_blob(1, c, sizeof c);
    assert_blob(2, b, sizeof b);
    assert_int_equal(nvmc_store_save(3, a, sizeof a), 0);
    assert_int_equal(nvmc_store_save(4, a, sizeof a), 0);
    assert_int_equal(nvmc_store_save(5, a, sizeof a), -1); /* four pairs, all taken */
    assert_blob(5, NULL, 0);
    for (int i = 0; i < 10; i++) /* many saves alternate within the key's pair */
        assert_int_equal(nvmc_store_save(2, a, (size_t)(10 + i)), 0);
    assert_blob(2, a, 19);
    assert_blob(1, c, sizeof c);
}

/* A reset at every flash operation of a save: afterwards the old or the new blob. */
static void test_store_torn_saves(void **state)
{
    static uint8_t old_blob[3000], new_blob[2500], got[3000];
    (void)state;
    fill(old_blob, sizeof old_blob, 5);
    fill(new_blob, sizeof new_blob, 9);
    for (volatile long cut = 0;; cut++) {
        volatile bool finished = false;
        blank_flash();
        assert_int_equal(nvmc_store_save(4, old_blob, sizeof old_blob), 0);
        assert_int_equal(nvmc_store_save(4, old_blob, sizeof old_blob), 0); /* both slots used */
        ops_left = cut;
        if (setjmp(reset_point) == 0) {
            assert_int_equal(nvmc_store_save(4, new_blob, sizeof new_blob), 0);
            finished = true;
        }
        ops_left = -1;
        size_t len = 0;
        assert_int_equal(nvmc_store_load(4, got, sizeof got, &len), 0);
        if (finished) {
            assert_int_equal(len, sizeof new_blob);
            assert_memory_equal(got, new_blob, len);
            break;
        }
        assert_true((len == sizeof old_blob && memcmp(got, old_blob, len) == 0) ||
                    (len == sizeof new_blob && memcmp(got, new_blob, len) == 0));
        /* the store keeps working after the reset */
        assert_int_equal(nvmc_store_save(4, new_blob, 100), 0);
        assert_blob(4, new_blob, 100);
    }
}

static void test_store_corrupted_copy(void **state)
{
    uint8_t a[40], b[40];
    (void)state;
    blank_flash();
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    assert_int_equal(nvmc_store_save(9, a, sizeof a), 0); /* slot 0 */
    assert_int_equal(nvmc_store_save(9, b, sizeof b), 0); /* slot 1, newer */
    nvmc_test_flash[2u * NRF_FLASH_PAGE_SIZE + 20u + 3u] ^= 0x01; /* a bit of slot 1's data */
    assert_blob(9, a, sizeof a);                                  /* its CRC fails: the older copy */
}

/* ---- bus_args ---- */

static int parse_line(const char *line, struct bus_run_args *args, uint32_t *rate, uint64_t *epoch)
{
    static char buf[512];
    const char *argv[16];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *w = strtok(buf, " "); w && argc < 16; w = strtok(NULL, " "))
        argv[argc++] = w;
    return bus_args_parse(argc, argv, args, rate, epoch) ? 1 : 0;
}

static void test_bus_args(void **state)
{
    struct bus_run_args a;
    uint32_t rate;
    uint64_t epoch;
    (void)state;
    assert_int_equal(parse_line("aws bus-1 localhost:8883 /certs 3", &a, &rate, &epoch), 1);
    assert_false(a.gcp);
    assert_false(a.depot);
    assert_string_equal(a.device, "bus-1");
    assert_string_equal(a.broker, "localhost:8883");
    assert_string_equal(a.certs, "/certs");
    assert_int_equal(a.events, 3);
    assert_int_equal(rate, 1000);
    assert_int_equal(epoch, 0);

    assert_int_equal(parse_line("gcp bus-2 h:1 - 0 project=p region=r registry=g registration=AA%201234%20BC "
                                "route=42 role=depot rate=0.5 epoch=1764200000",
                                &a, &rate, &epoch),
                     1);
    assert_true(a.gcp);
    assert_true(a.depot);
    assert_int_equal(a.events, 0);
    assert_string_equal(a.project, "p");
    assert_string_equal(a.registration, "AA 1234 BC");
    assert_string_equal(a.route, "42");
    assert_int_equal(rate, 500);
    assert_int_equal(epoch, 1764200000ull);
    assert_int_equal(parse_line("aws d h:1 c 1 rate=20.000000", &a, &rate, &epoch), 1);
    assert_int_equal(rate, 20000);

    static const char *const bad[] = {
        "",
        "aws bus-1 h:1 /c",                          /* too few words */
        "azure bus-1 h:1 /c 1",                      /* unknown stack */
        "aws bus-1 h:1 /c x",                        /* count not a number */
        "gcp bus-1 h:1 /c 1 project=p region=r",     /* registry missing */
        "aws bus-1 h:1 /c 1 colour=red",             /* unknown option */
        "aws bus-1 h:1 /c 1 rate=0",                 /* rate 0 */
        "aws bus-1 h:1 /c 1 rate=fast",
        "aws bus-1 h:1 /c 1 registration=AA%2",      /* broken escape */
        "aws bus-1 h:1 /c 1 registration=AA%00",     /* NUL escape */
        "aws bus-1 h:1 /c 1 role=truck",
        "aws bus-1 h:1 /c 1 epoch=-5",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (parse_line(bad[i], &a, &rate, &epoch)) {
            print_error("accepted: '%s'\n", bad[i]);
            fail();
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_round_trips),
        cmocka_unit_test(test_store_keys_and_pairs),
        cmocka_unit_test(test_store_torn_saves),
        cmocka_unit_test(test_store_corrupted_copy),
        cmocka_unit_test(test_bus_args),
    };
    return cmocka_run_group_tests_name("boards_host", tests, NULL, NULL);
}
