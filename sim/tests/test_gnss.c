/*
 * §5 GNSS: exact transcripts of AT+CGPS, AT+CGPSINFO, AT+CGNSSINFO and
 * AT+CLBS on a frozen private clock (replayed at chunk sizes 1, 2, 7, 64 and
 * whole), the periodic URCs advanced with vclock_jump, and the control verbs.
 */
#include "simtest.h"
#include "vclock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#define ECHO_OFF { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" }
#define OK "\r\nOK\r\n"
#define ERR "\r\nERROR\r\n"
#define BOOT_URCS "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"

/* 2026-11-27 03:00:00 UTC */
#define T0_NS (1795748400LL * VCLOCK_NS_PER_S)

#define PARIS "4851.396000,N,00221.132000,E,271126,030000.0,35.0,6.7,90.0"

/* Replay steps on a modem whose clock is frozen at T0. */
static void replay_frozen(const struct simtest_step *steps, size_t count)
{
    struct vclock *clock = vclock_new_private(T0_NS, 0);
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    simtest_replay_all(&cfg, steps, count);
    vclock_close(clock);
}

static void receiver_on_off(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CGPS?\r", .expect = "\r\n+CGPS: 0,1\r\n" OK },
        { .send = "AT+CGPS=?\r", .expect = "\r\n+CGPS: (0,1),(1-3)\r\n" OK },
        { .send = "AT+CGPS=0\r", .expect = ERR },
        { .send = "AT+CGPS=1,2\r", .expect = OK },
        { .send = "AT+CGPS?\r", .expect = "\r\n+CGPS: 1,2\r\n" OK },
        { .send = "AT+CGPS=1\r", .expect = ERR },
        { .send = "AT+CGPSCOLD\r", .expect = ERR },
        { .send = "AT+CGPS=0\r", .expect = OK },
        { .send = "AT+CGPS=0,1\r", .expect = ERR },
        { .send = "AT+CGPS=2\r", .expect = ERR },
        { .send = "AT+CGPS=1,4\r", .expect = ERR },
        { .send = "AT+CGPS\r", .expect = ERR },
        { .send = "AT+CGPSHOT;+CGPS?\r", .expect = "\r\n+CGPS: 1,1\r\n" OK },
        { .send = "AT+CGNSSMODE=1,0\r", .expect = ERR },
        { .send = "AT+CGPS=0;+CGNSSMODE?\r", .expect = "\r\n+CGNSSMODE: 15,1\r\n" OK },
        { .send = "AT+CGNSSMODE=1,0;+CGNSSMODE?\r", .expect = "\r\n+CGNSSMODE: 1,0\r\n" OK },
        { .send = "AT+CGNSSMODE=16\r", .expect = ERR },
        { .send = "AT+CGPSWARM\r", .expect = OK },
        /* a reset powers the receiver down */
        { .send = "AT+CGPSINFO=5;+CRESET\r", .expect = OK BOOT_URCS },
        { .send = "AT+CGPS?;+CGPSINFO?\r", .expect = "AT+CGPS?;+CGPSINFO?\r\r\n+CGPS: 0,1\r\n+CGPSINFO: 0\r\n" OK },
    };
    replay_frozen(steps, sizeof(steps) / sizeof(steps[0]));
}

static void position_reports(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CGPSINFO\r", .expect = "\r\n+CGPSINFO: ,,,,,,,,\r\n" OK },
        { .control = "gnss fix 48.8566 2.3522 35 12.5 90", .send = "AT+CGPSINFO\r",
          .expect = "\r\n+CGPSINFO: ,,,,,,,,\r\n" OK },
        { .send = "AT+CGPS=1\r", .expect = OK },
        { .send = "AT+CGPSINFO\r", .expect = "\r\n+CGPSINFO: " PARIS "\r\n" OK },
        { .send = "AT+CGNSSINFO\r", .expect = "\r\n+CGNSSINFO: 3,09,05,04," PARIS ",1.2,0.9,0.8\r\n" OK },
        { .control = "gnss fix -26.848267 -65.200748 420.2", .send = "AT+CGPSINFO\r",
          .expect = "\r\n+CGPSINFO: 2650.896020,S,06512.044880,W,271126,030000.0,420.2,0.0,\r\n" OK },
        { .control = "gnss fix 0 -0.5", .send = "AT+CGPSINFO\r",
          .expect = "\r\n+CGPSINFO: 0000.000000,N,00030.000000,W,271126,030000.0,0.0,0.0,\r\n" OK },
        { .control = "gnss fix 59.999999999 179.9999999 -12.3 100", .send = "AT+CGPSINFO\r",
          .expect = "\r\n+CGPSINFO: 6000.000000,N,17959.999994,E,271126,030000.0,-12.3,54.0,\r\n" OK },
        { .control = "gnss nofix", .send = "AT+CGPSINFO;+CGNSSINFO\r",
          .expect = "\r\n+CGPSINFO: ,,,,,,,,\r\n+CGNSSINFO: ,,,,,,,,,,,,,,,\r\n" OK },
        { .send = "AT+CGPSINFO=?;+CGNSSINFO=?\r", .expect = "\r\n+CGPSINFO: (0-255)\r\n+CGNSSINFO: (0-255)\r\n" OK },
        { .send = "AT+CGPSINFO=256\r", .expect = ERR },
        { .send = "AT+CGPSINFO=-1\r", .expect = ERR },
        { .send = "AT+CGNSSINFO=\"5\"\r", .expect = ERR },
    };
    replay_frozen(steps, sizeof(steps) / sizeof(steps[0]));
}

static void cell_location(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CLBS=1,1\r", .expect = "\r\n+CLBS: 3\r\n" OK },
        { .control = "gnss fix 48.8566 2.3522", .send = "AT+CLBS=1,1\r",
          .expect = "\r\n+CLBS: 0,48.856600,2.352200,550\r\n" OK },
        { .control = "gnss nofix", .send = "AT+CLBS=4,1\r",
          .expect = "\r\n+CLBS: 0,48.856600,2.352200,550,2026/11/27,03:00:00\r\n" OK },
        { .send = "AT+CLBS=2,1\r", .expect = ERR },
        { .send = "AT+CLBS=1\r", .expect = ERR },
        { .send = "AT+CLBS=1,25\r", .expect = ERR },
        { .send = "AT+CLBS=?\r", .expect = "\r\n+CLBS: (1,4),(1-24)\r\n" OK },
        { .control = "net down", .send = "AT+CLBS=1,1\r", .expect = "\r\n+CLBS: 3\r\n" OK },
    };
    replay_frozen(steps, sizeof(steps) / sizeof(steps[0]));
}

static void control_verbs(void **state)
{
    (void)state;
    struct sim_config cfg;
    simtest_config(&cfg);
    struct sim_modem *m = sim_modem_new(&cfg);
    assert_non_null(m);
    char reply[1024];
    static const char *const bad[] = {
        "gnss", "gnss fix", "gnss fix 1", "gnss fix 91 0", "gnss fix 0 181", "gnss fix 0 0 x",
        "gnss fix 0 0 0 -1", "gnss fix 0 0 0 0 360", "gnss fix 0 0 0 0 0 0", "gnss nofix now", "gnss lost",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sim_modem_control(m, bad[i], reply, sizeof(reply)), -1);
        assert_true(strncmp(reply, "error: ", 7) == 0);
    }
    assert_int_equal(sim_modem_control(m, "gnss fix 1.5 -2.25 10 50 359.9", reply, sizeof(reply)), 0);
    assert_string_equal(reply, "ok gnss fix 1.500000 -2.250000");
    assert_int_equal(sim_modem_control(m, "stats", reply, sizeof(reply)), 0);
    assert_non_null(strstr(reply, "\"gnss_on\":false,\"gnss_fix\":true,\"gnss_urcs\":0"));
    assert_int_equal(sim_modem_control(m, "gnss nofix", reply, sizeof(reply)), 0);
    assert_string_equal(reply, "ok gnss nofix");
    sim_modem_free(m);
}

/* A driver on a frozen private clock: time moves only by vclock_jump. */
struct frozen {
    struct vclock *clock;
    struct simtest_driver d;
};

static void frozen_start(struct frozen *f)
{
    f->clock = vclock_new_private(T0_NS, 0);
    assert_non_null(f->clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = f->clock;
    simtest_driver_init(&f->d, &cfg);
    simtest_send(&f->d, "ATE0\r");
    assert_true(simtest_expect(&f->d, "ATE0\r\r\nOK\r\n", 1000));
}

static void frozen_stop(struct frozen *f)
{
    simtest_driver_fini(&f->d);
    vclock_close(f->clock);
}

/* Advance virtual time by ms and run one round of the poll loop. */
static void advance(struct frozen *f, int64_t ms)
{
    assert_int_equal(vclock_jump(f->clock, ms * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&f->d, 0);
}

static void assert_quiet(struct frozen *f)
{
    simtest_pump(&f->d, 0);
    assert_int_equal(sim_buf_used(&f->d.seen), 0);
}

static void periodic_cgpsinfo(void **state)
{
    (void)state;
    struct frozen f;
    frozen_start(&f);
    assert_string_equal(simtest_control(&f.d, "gnss fix 48.8566 2.3522 35 12.5 90"), "ok gnss fix 48.856600 2.352200");
    simtest_send(&f.d, "AT+CGPSINFO=5\r");
    assert_true(simtest_expect(&f.d, "\r\nOK\r\n", 1000));
    advance(&f, 10000);
    assert_quiet(&f); /* the receiver is off: no reports */
    simtest_send(&f.d, "AT+CGPS=1\r");
    assert_true(simtest_expect(&f.d, "\r\nOK\r\n", 1000));
    advance(&f, 4999);
    assert_quiet(&f);
    advance(&f, 1);
    assert_true(simtest_expect(&f.d, "\r\n+CGPSINFO: 4851.396000,N,00221.132000,E,271126,030015.0,35.0,6.7,90.0\r\n", 1000));
    assert_quiet(&f);
    advance(&f, 5000);
    assert_true(simtest_expect(&f.d, "\r\n+CGPSINFO: 4851.396000,N,00221.132000,E,271126,030020.0,35.0,6.7,90.0\r\n", 1000));
    /* a jump over many periods gives one report, and the schedule keeps its phase */
    advance(&f, 60500);
    assert_true(simtest_expect(&f.d, "\r\n+CGPSINFO: 4851.396000,N,00221.132000,E,271126,030120.5,35.0,6.7,90.0\r\n", 1000));
    assert_quiet(&f);
    simtest_control(&f.d, "gnss nofix");
    advance(&f, 4500);
    assert_true(simtest_expect(&f.d, "\r\n+CGPSINFO: ,,,,,,,,\r\n", 1000));
    assert_quiet(&f);
    simtest_send(&f.d, "AT+CGPSINFO=0\r");
    assert_true(simtest_expect(&f.d, "\r\nOK\r\n", 1000));
    advance(&f, 60000);
    assert_quiet(&f);
    assert_non_null(strstr(simtest_control(&f.d, "stats"), "\"gnss_urcs\":4"));
    frozen_stop(&f);
}

static void periodic_cgnssinfo_waits_for_final_code(void **state)
{
    (void)state;
    struct frozen f;
    frozen_start(&f);
    simtest_control(&f.d, "gnss fix 48.8566 2.3522 35 12.5 90");
    simtest_send(&f.d, "AT+CGPS=1;+CGNSSINFO=2\r");
    assert_true(simtest_expect(&f.d, "\r\nOK\r\n", 1000));
    advance(&f, 2000);
    assert_true(simtest_expect(&f.d,
                               "\r\n+CGNSSINFO: 3,09,05,04,4851.396000,N,00221.132000,E,271126,030002.0,35.0,6.7,90.0,"
                               "1.2,0.9,0.8\r\n",
                               1000));
    /* a report that falls due while a data prompt is open waits for the final result code */
    simtest_send(&f.d, "AT+CCERTDOWN=\"x.pem\",4\r");
    assert_true(simtest_expect(&f.d, ">", 1000));
    advance(&f, 2000);
    assert_quiet(&f);
    simtest_send(&f.d, "abcd");
    assert_true(simtest_expect(&f.d, "\r\nOK\r\n\r\n+CGNSSINFO: 3,09,05,04,", 1000));
    frozen_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(receiver_on_off),
        cmocka_unit_test(position_reports),
        cmocka_unit_test(cell_location),
        cmocka_unit_test(control_verbs),
        cmocka_unit_test(periodic_cgpsinfo),
        cmocka_unit_test(periodic_cgnssinfo_waits_for_final_code),
    };
    return cmocka_run_group_tests_name("sim_gnss", tests, NULL, NULL);
}
