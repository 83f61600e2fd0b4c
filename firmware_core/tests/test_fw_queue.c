/*
 * test_fw_queue.c - the offline queue across reboots (a fresh queue and
 * buffer over the same fake storage), dropping the oldest low-priority
 * events when full, refusing when only high-priority ones are left, and
 * damaged or failing storage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fake_port.h"
#include "fw_queue.h"

#define KEY 2u

/* Boot: a new queue over a new RAM buffer, loading what was saved. */
static enum fw_queue_status boot(struct fw_queue *q, struct fake_port *f, uint8_t *buf, size_t cap)
{
    memset(buf, 0xEE, cap);
    return fw_queue_init(q, &f->port, KEY, buf, cap);
}

static void push_str(struct fw_queue *q, enum fw_queue_priority prio, const char *payload,
                     enum fw_queue_status want)
{
    assert_int_equal(fw_queue_push(q, prio, "/bus/events", 11, (const uint8_t *)payload,
                                   strlen(payload)), want);
}

static void expect_head(struct fw_queue *q, enum fw_queue_priority prio, const char *payload)
{
    struct fw_queue_item it;
    assert_int_equal(fw_queue_peek(q, &it), FW_QUEUE_OK);
    assert_int_equal(it.priority, prio);
    assert_int_equal(it.topic_len, 11);
    assert_memory_equal(it.topic, "/bus/events", 11);
    assert_int_equal(it.payload_len, strlen(payload));
    assert_memory_equal(it.payload, payload, it.payload_len);
}

static void test_survives_reboot_in_order(void **state)
{
    struct fake_port f;
    struct fw_queue q;
    uint8_t buf[512];
    fake_port_init(&f, 0, 0);
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_OK);
    assert_int_equal(fw_queue_peek(&q, &(struct fw_queue_item){0}), FW_QUEUE_EMPTY);
    push_str(&q, FW_QUEUE_HIGH, "{\"speed\":72}", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_LOW, "{\"loc\":1}", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_HIGH, "", FW_QUEUE_OK);
    assert_int_equal(f.saves, 3);
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_OK);
    assert_int_equal(fw_queue_count(&q), 3);
    expect_head(&q, FW_QUEUE_HIGH, "{\"speed\":72}");
    assert_int_equal(fw_queue_pop(&q), FW_QUEUE_OK);
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_OK); /* the pop persisted too */
    expect_head(&q, FW_QUEUE_LOW, "{\"loc\":1}");
    assert_int_equal(fw_queue_pop(&q), FW_QUEUE_OK);
    expect_head(&q, FW_QUEUE_HIGH, "");
    assert_int_equal(fw_queue_pop(&q), FW_QUEUE_OK);
    assert_int_equal(fw_queue_pop(&q), FW_QUEUE_EMPTY);
}

/* room for exactly four 20-byte records: 20 + 4 * (5 + 11 + 4) = 100 */
static void test_full_drops_oldest_low(void **state)
{
    struct fake_port f;
    struct fw_queue q;
    uint8_t buf[100];
    fake_port_init(&f, 0, 0);
    boot(&q, &f, buf, sizeof(buf));
    push_str(&q, FW_QUEUE_HIGH, "H1..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_LOW, "L1..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_HIGH, "H2..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_LOW, "L2..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_HIGH, "H3..", FW_QUEUE_DROPPED_OLD); /* L1 goes */
    assert_int_equal(fw_queue_dropped(&q), 1);
    push_str(&q, FW_QUEUE_LOW, "L3..", FW_QUEUE_DROPPED_OLD);  /* L2 goes */
    push_str(&q, FW_QUEUE_LOW, "L4..", FW_QUEUE_DROPPED_OLD);  /* L3 goes */
    assert_int_equal(fw_queue_dropped(&q), 3);
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_OK);
    assert_int_equal(fw_queue_dropped(&q), 3); /* the counter persists */
    assert_int_equal(fw_queue_count(&q), 4);
    expect_head(&q, FW_QUEUE_HIGH, "H1..");
    fw_queue_pop(&q);
    expect_head(&q, FW_QUEUE_HIGH, "H2..");
    fw_queue_pop(&q);
    expect_head(&q, FW_QUEUE_HIGH, "H3..");
    fw_queue_pop(&q);
    expect_head(&q, FW_QUEUE_LOW, "L4..");
}

static void test_only_high_refuses(void **state)
{
    struct fake_port f;
    struct fw_queue q;
    uint8_t buf[100];
    fake_port_init(&f, 0, 0);
    boot(&q, &f, buf, sizeof(buf));
    push_str(&q, FW_QUEUE_HIGH, "H1..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_HIGH, "H2..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_HIGH, "H3..", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_LOW, "L1..", FW_QUEUE_OK);
    /* a 40-byte record needs more than the one low record frees: refuse, drop nothing */
    push_str(&q, FW_QUEUE_HIGH, "a much longer event xx..", FW_QUEUE_FULL);
    assert_int_equal(fw_queue_count(&q), 4);
    assert_int_equal(fw_queue_dropped(&q), 0);
    push_str(&q, FW_QUEUE_LOW, "L2..", FW_QUEUE_DROPPED_OLD);
    push_str(&q, FW_QUEUE_HIGH, "H4..", FW_QUEUE_DROPPED_OLD);
    push_str(&q, FW_QUEUE_LOW, "L3..", FW_QUEUE_FULL);
}

static void test_damaged_storage(void **state)
{
    struct fake_port f;
    struct fw_queue q;
    uint8_t buf[256];
    size_t i;
    fake_port_init(&f, 0, 0);
    boot(&q, &f, buf, sizeof(buf));
    push_str(&q, FW_QUEUE_HIGH, "keep", FW_QUEUE_OK);
    push_str(&q, FW_QUEUE_LOW, "this", FW_QUEUE_OK);
    for (i = 0; i < f.store_len[KEY]; i++) { /* any flipped byte is caught */
        f.store[KEY][i] ^= 0x10;
        if (boot(&q, &f, buf, sizeof(buf)) != FW_QUEUE_CORRUPT)
            fail_msg("flipped byte %zu not detected", i);
        assert_int_equal(fw_queue_count(&q), 0);
        f.store[KEY][i] ^= 0x10;
    }
    f.store_len[KEY] -= 1; /* cut short */
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_CORRUPT);
    f.store_len[KEY] += 1;
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_OK);
    assert_int_equal(fw_queue_count(&q), 2);
    assert_int_equal(boot(&q, &f, buf, 40), FW_QUEUE_STORAGE); /* larger than the buffer */
    f.store_fail = true;
    assert_int_equal(boot(&q, &f, buf, sizeof(buf)), FW_QUEUE_STORAGE);
    push_str(&q, FW_QUEUE_HIGH, "x", FW_QUEUE_STORAGE);
    assert_int_equal(fw_queue_count(&q), 1); /* still queued in RAM */
}

static void test_arguments(void **state)
{
    struct fake_port f;
    struct fw_queue q;
    uint8_t buf[64], big[100];
    int s;
    fake_port_init(&f, 0, 0);
    assert_int_equal(fw_queue_init(&q, &f.port, KEY, buf, 20), FW_QUEUE_BAD_ARG);
    boot(&q, &f, buf, sizeof(buf));
    assert_int_equal(fw_queue_push(&q, FW_QUEUE_LOW, "t", 1, big, sizeof(big)), FW_QUEUE_TOO_LARGE);
    assert_int_equal(fw_queue_push(&q, FW_QUEUE_LOW, "t", 0, big, 1), FW_QUEUE_BAD_ARG);
    assert_int_equal(fw_queue_push(&q, (enum fw_queue_priority)7, "t", 1, big, 1), FW_QUEUE_BAD_ARG);
    assert_int_equal(fw_queue_push(&q, FW_QUEUE_LOW, "t", 1, NULL, 1), FW_QUEUE_BAD_ARG);
    for (s = FW_QUEUE_OK; s <= FW_QUEUE_BAD_ARG; s++)
        assert_string_not_equal(fw_queue_status_str((enum fw_queue_status)s), "unknown status");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_survives_reboot_in_order),
        cmocka_unit_test(test_full_drops_oldest_low),
        cmocka_unit_test(test_only_high_refuses),
        cmocka_unit_test(test_damaged_storage),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests_name("fw_queue", tests, NULL, NULL);
}
