/* Framing of the AT server: echo, chained commands, prompts, URC release. */
#include "simtest.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static void empty_line_is_ok(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "AT\r", .expect = "AT\r\r\nOK\r\n" },
        { .send = "at\r", .expect = "at\r\r\nOK\r\n" },
    };
    simtest_replay_all(NULL, steps, sizeof(steps) / sizeof(steps[0]));
}

static void unknown_command_is_error(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "AT+NOPE\r", .expect = "AT+NOPE\r\r\nERROR\r\n" },
    };
    simtest_replay_all(NULL, steps, sizeof(steps) / sizeof(steps[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_line_is_ok),
        cmocka_unit_test(unknown_command_is_error),
    };
    return cmocka_run_group_tests_name("sim_framing", tests, NULL, NULL);
}
