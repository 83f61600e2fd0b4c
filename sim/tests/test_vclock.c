/*
 * Unit tests of harness/vclock.c, the shared virtual clock: private and
 * file-backed clocks, frozen time, jumps, rates, the reader's view of the
 * owner's changes, real-time waits, rate parsing and bad input. Frozen
 * clocks (rate 0) make every comparison exact.
 */
#include "vclock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define S(n) ((int64_t)(n) * VCLOCK_NS_PER_S)
#define EPOCH_2030 S(1893456000LL)

/* A temporary directory per test, removed at teardown. */
struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/test-vclock-XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL) {
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/clock", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void frozen_private_clock_stands_still_and_jumps_exactly(void **state)
{
    (void)state;
    struct vclock *c = vclock_new_private(EPOCH_2030, 0);
    assert_non_null(c);
    assert_int_equal(vclock_now_ns(c), EPOCH_2030);
    assert_int_equal(vclock_now_ms(c), EPOCH_2030 / VCLOCK_NS_PER_MS);
    assert_int_equal(vclock_rate_micro(c), 0);
    assert_int_equal(vclock_jump(c, S(90)), 0);
    assert_int_equal(vclock_now_ns(c), EPOCH_2030 + S(90));
    assert_int_equal(vclock_jump(c, -S(30)), 0);
    assert_int_equal(vclock_now_ns(c), EPOCH_2030 + S(60));
    assert_int_equal(vclock_set(c, S(5), 0), 0);
    assert_int_equal(vclock_now_ns(c), S(5));
    vclock_close(c);
}

static void running_clock_advances_at_its_rate(void **state)
{
    (void)state;
    /* 1000x: a few real ms are whole virtual seconds, far above any scheduling noise */
    struct vclock *c = vclock_new_private(EPOCH_2030, 1000 * VCLOCK_RATE_ONE);
    assert_non_null(c);
    int64_t mono0 = vclock_monotonic_ns();
    int64_t v0 = vclock_now_ns(c);
    struct timespec ts = { 0, 20 * 1000000L };
    nanosleep(&ts, NULL);
    int64_t v1 = vclock_now_ns(c);
    int64_t mono1 = vclock_monotonic_ns();
    assert_true(v0 >= EPOCH_2030);
    /* virtual elapsed = 1000 x real elapsed, bracketed by the monotonic readings */
    assert_true(v1 - v0 <= (mono1 - mono0) * 1000);
    assert_true(v1 - v0 >= S(20) - S(1)); /* at least the 20 ms slept, times 1000 */
    vclock_close(c);
}

static void set_rate_keeps_the_current_time(void **state)
{
    (void)state;
    struct vclock *c = vclock_new_private(EPOCH_2030, 0);
    assert_non_null(c);
    assert_int_equal(vclock_set_rate(c, 2 * VCLOCK_RATE_ONE), 0);
    assert_int_equal(vclock_rate_micro(c), 2 * VCLOCK_RATE_ONE);
    assert_true(vclock_now_ns(c) >= EPOCH_2030);
    assert_int_equal(vclock_set_rate(c, 0), 0);
    int64_t frozen = vclock_now_ns(c);
    assert_true(frozen >= EPOCH_2030);
    assert_int_equal(vclock_now_ns(c), frozen);
    errno = 0;
    assert_int_equal(vclock_set_rate(c, -1), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(vclock_now_ns(c), frozen);
    vclock_close(c);
}

static void generation_changes_on_every_reanchor(void **state)
{
    (void)state;
    struct vclock *c = vclock_new_private(0, 0);
    assert_non_null(c);
    uint64_t g0 = vclock_generation(c);
    assert_true(g0 % 2 == 0);
    vclock_jump(c, 1);
    uint64_t g1 = vclock_generation(c);
    assert_true(g1 != g0 && g1 % 2 == 0);
    vclock_set_rate(c, VCLOCK_RATE_ONE);
    uint64_t g2 = vclock_generation(c);
    assert_true(g2 != g1);
    assert_int_equal(vclock_generation(c), g2); /* reading does not change it */
    vclock_close(c);
}

static void file_layout_is_the_documented_one(void **state)
{
    struct fixture *f = *state;
    struct vclock *c = vclock_create(f->path, EPOCH_2030, 3 * VCLOCK_RATE_ONE);
    assert_non_null(c);
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, VCLOCK_FILE_SIZE);
    unsigned char raw[VCLOCK_FILE_SIZE];
    FILE *file = fopen(f->path, "rb");
    assert_non_null(file);
    assert_int_equal(fread(raw, 1, sizeof(raw), file), sizeof(raw));
    fclose(file);
    assert_memory_equal(raw, "CBVCLK01", 8);
    uint64_t seq;
    int64_t anchor_virtual, anchor_mono, rate;
    memcpy(&seq, raw + 8, 8);
    memcpy(&anchor_virtual, raw + 16, 8);
    memcpy(&anchor_mono, raw + 24, 8);
    memcpy(&rate, raw + 32, 8);
    assert_true(seq % 2 == 0 && seq > 0);
    assert_int_equal(anchor_virtual, EPOCH_2030);
    assert_true(anchor_mono > 0 && anchor_mono <= vclock_monotonic_ns());
    assert_int_equal(rate, 3 * VCLOCK_RATE_ONE);
    for (size_t i = 40; i < VCLOCK_FILE_SIZE; i++) {
        assert_int_equal(raw[i], 0);
    }
    vclock_close(c);
}

static void reader_sees_the_owners_changes(void **state)
{
    struct fixture *f = *state;
    struct vclock *owner = vclock_create(f->path, EPOCH_2030, 0);
    assert_non_null(owner);
    struct vclock *reader = vclock_open(f->path);
    assert_non_null(reader);
    assert_int_equal(vclock_now_ns(reader), EPOCH_2030);
    uint64_t g = vclock_generation(reader);
    assert_int_equal(vclock_jump(owner, S(3600)), 0);
    assert_int_equal(vclock_now_ns(reader), EPOCH_2030 + S(3600));
    assert_true(vclock_generation(reader) != g);
    assert_int_equal(vclock_set_rate(owner, 50 * VCLOCK_RATE_ONE), 0);
    assert_int_equal(vclock_rate_micro(reader), 50 * VCLOCK_RATE_ONE);
    /* the reader may not move time */
    errno = 0;
    assert_int_equal(vclock_jump(reader, S(1)), -1);
    assert_int_equal(errno, EPERM);
    errno = 0;
    assert_int_equal(vclock_set(reader, 0, 0), -1);
    assert_int_equal(errno, EPERM);
    errno = 0;
    assert_int_equal(vclock_set_rate(reader, 0), -1);
    assert_int_equal(errno, EPERM);
    vclock_close(reader);
    vclock_close(owner);
    /* the file outlives its owner; a second owner takes it over */
    struct vclock *again = vclock_open(f->path);
    assert_non_null(again);
    vclock_close(again);
    struct vclock *second = vclock_create(f->path, S(7), 0);
    assert_non_null(second);
    assert_int_equal(vclock_now_ns(second), S(7));
    vclock_close(second);
}

static void open_rejects_what_is_not_a_clock(void **state)
{
    struct fixture *f = *state;
    errno = 0;
    assert_null(vclock_open(f->path));
    assert_int_equal(errno, ENOENT);

    FILE *file = fopen(f->path, "wb");
    assert_non_null(file);
    fputs("short", file);
    fclose(file);
    errno = 0;
    assert_null(vclock_open(f->path));
    assert_int_equal(errno, EINVAL);

    char junk[VCLOCK_FILE_SIZE];
    memset(junk, 'x', sizeof(junk));
    file = fopen(f->path, "wb");
    assert_non_null(file);
    assert_int_equal(fwrite(junk, 1, sizeof(junk), file), sizeof(junk));
    fclose(file);
    errno = 0;
    assert_null(vclock_open(f->path));
    assert_int_equal(errno, EINVAL);

    errno = 0;
    assert_null(vclock_create(f->path, 0, -5));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(vclock_new_private(0, -1));
    assert_int_equal(errno, EINVAL);
    assert_null(vclock_create("/nonexistent-dir/clock", 0, 0));
}

static void null_clock_is_real_time(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t before = (int64_t)ts.tv_sec * VCLOCK_NS_PER_S + ts.tv_nsec;
    int64_t now = vclock_now_ns(NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t after = (int64_t)ts.tv_sec * VCLOCK_NS_PER_S + ts.tv_nsec;
    assert_true(now >= before && now <= after);
    assert_int_equal(vclock_rate_micro(NULL), VCLOCK_RATE_ONE);
    assert_int_equal(vclock_generation(NULL), 0);
    errno = 0;
    assert_int_equal(vclock_jump(NULL, 1), -1);
    assert_int_equal(errno, EPERM);
    vclock_close(NULL);
}

static void real_wait_until_a_virtual_deadline(void **state)
{
    (void)state;
    struct vclock *c = vclock_new_private(EPOCH_2030, 0);
    assert_non_null(c);
    assert_int_equal(vclock_real_ns_until(c, EPOCH_2030 - 1), 0);
    assert_int_equal(vclock_real_ns_until(c, EPOCH_2030), 0);
    assert_int_equal(vclock_real_ns_until(c, EPOCH_2030 + S(1)), -1); /* frozen: never */
    vclock_set(c, EPOCH_2030, 4 * VCLOCK_RATE_ONE);
    int64_t wait = vclock_real_ns_until(c, EPOCH_2030 + S(8));
    assert_true(wait > 0 && wait <= S(2)); /* 8 virtual s at 4x: at most 2 real s */
    assert_true(wait > S(2) - S(1));
    vclock_set(c, EPOCH_2030, 1);                    /* 1e-6 x */
    assert_true(vclock_real_ns_until(c, INT64_MAX) == INT64_MAX);
    vclock_close(c);
}

static void now_ms_rounds_towards_minus_infinity(void **state)
{
    (void)state;
    struct vclock *c = vclock_new_private(-1, 0);
    assert_non_null(c);
    assert_int_equal(vclock_now_ms(c), -1);
    vclock_set(c, 1999999, 0);
    assert_int_equal(vclock_now_ms(c), 1);
    vclock_set(c, -VCLOCK_NS_PER_MS, 0);
    assert_int_equal(vclock_now_ms(c), -1);
    vclock_close(c);
}

static void rates_parse_like_the_cli_writes_them(void **state)
{
    (void)state;
    int64_t r = -7;
    assert_int_equal(vclock_parse_rate("1", &r), 0);
    assert_int_equal(r, VCLOCK_RATE_ONE);
    assert_int_equal(vclock_parse_rate("1000x", &r), 0);
    assert_int_equal(r, 1000 * VCLOCK_RATE_ONE);
    assert_int_equal(vclock_parse_rate("0.5", &r), 0);
    assert_int_equal(r, VCLOCK_RATE_ONE / 2);
    assert_int_equal(vclock_parse_rate("0", &r), 0);
    assert_int_equal(r, 0);
    assert_int_equal(vclock_parse_rate("2X", &r), 0);
    assert_int_equal(r, 2 * VCLOCK_RATE_ONE);
    r = 42;
    const char *bad[] = { "", "x", "-1", "abc", "1xx", "1 ", "1e10", "nan", NULL };
    for (size_t i = 0; bad[i] != NULL; i++) {
        assert_int_equal(vclock_parse_rate(bad[i], &r), -1);
    }
    assert_int_equal(vclock_parse_rate(NULL, &r), -1);
    assert_int_equal(r, 42);
}

/* The seqlock: a reader racing a busy owner only ever sees whole anchors. */
struct race {
    struct vclock *owner;
    int done; /* accessed with __atomic builtins */
};

static void *owner_thread(void *arg)
{
    struct race *race = arg;
    for (int64_t k = 1; k <= 200000; k++) {
        vclock_set(race->owner, k * S(1), 0);
    }
    __atomic_store_n(&race->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void readers_never_see_a_torn_anchor(void **state)
{
    struct fixture *f = *state;
    struct race race = { .owner = vclock_create(f->path, 0, 0) };
    assert_non_null(race.owner);
    struct vclock *reader = vclock_open(f->path);
    assert_non_null(reader);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, owner_thread, &race), 0);
    int64_t last = 0;
    long reads = 0;
    while (!__atomic_load_n(&race.done, __ATOMIC_ACQUIRE) || reads < 1000) {
        int64_t now = vclock_now_ns(reader);
        assert_int_equal(now % S(1), 0);
        assert_true(now >= last);
        last = now;
        reads++;
    }
    pthread_join(thread, NULL);
    assert_int_equal(vclock_now_ns(reader), S(200000));
    vclock_close(reader);
    vclock_close(race.owner);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frozen_private_clock_stands_still_and_jumps_exactly),
        cmocka_unit_test(running_clock_advances_at_its_rate),
        cmocka_unit_test(set_rate_keeps_the_current_time),
        cmocka_unit_test(generation_changes_on_every_reanchor),
        cmocka_unit_test_setup_teardown(file_layout_is_the_documented_one, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_sees_the_owners_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(open_rejects_what_is_not_a_clock, setup, teardown),
        cmocka_unit_test(null_clock_is_real_time),
        cmocka_unit_test(real_wait_until_a_virtual_deadline),
        cmocka_unit_test(now_ms_rounds_towards_minus_infinity),
        cmocka_unit_test(rates_parse_like_the_cli_writes_them),
        cmocka_unit_test_setup_teardown(readers_never_see_a_torn_anchor, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
