/*
 * §1 basic commands: echo, error verbosity and module reset. The rest of §1
 * (identity, SIM, registration, clock, functionality) joins this table.
 */
#include "sim_internal.h"

/* ATE0 / ATE1: command echo. */
static enum sim_at_status cmd_echo(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    int value = cmd->basic_value < 0 ? 0 : cmd->basic_value;
    if (value > 1) {
        return SIM_AT_ERROR;
    }
    m->echo = value == 1;
    return SIM_AT_OK;
}

/* AT+CMEE: how errors are reported (0 ERROR, 1 numeric, 2 text). */
static enum sim_at_status cmd_cmee(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long value;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CMEE: %d", m->cmee);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CMEE: (0-2)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int_opt(cmd, 0, 0, 2, 0, &value)) {
            return sim_cme(m, SIM_CME_UNKNOWN);
        }
        m->cmee = (int)value;
        return SIM_AT_OK;
    default:
        m->cmee = 0;
        return SIM_AT_OK;
    }
}

/* AT+CRESET: OK, then the module reboots (teardown URCs, then RDY ... PB DONE). */
static enum sim_at_status cmd_creset(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    sim_modem_request_reset(m);
    return SIM_AT_OK;
}

static const struct sim_cmd basic_cmds[] = {
    { "E", SIM_FORM_EXEC, cmd_echo, 0, "Command echo off (ATE0) or on (ATE1)" },
    { "+CMEE", SIM_FORM_ALL, cmd_cmee, 0, "Error reporting: ERROR, numeric or verbose +CME ERROR" },
    { "+CRESET", SIM_FORM_EXEC, cmd_creset, 0, "Reset the module: teardown URCs, then RDY, +CPIN: READY, SMS DONE, PB DONE" },
};

const struct sim_group sim_group_basic = {
    .name = "basic",
    .cmds = basic_cmds,
    .cmd_count = sizeof(basic_cmds) / sizeof(basic_cmds[0]),
};
