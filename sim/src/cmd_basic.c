/*
 * §1 basic commands: identity (ATI, +CGMI, +CGMM, +CGMR, +CGSN, +CICCID,
 * +CIMI), SIM (+CPIN), radio and registration (+CSQ, +CREG, +CGREG, +CEREG,
 * +CPSI, +COPS, +CNSMOD, +CNMP, +CFUN), packet data (+CGDCONT, +CGACT,
 * +CGATT, +CGAUTH), clock (+CCLK, +CTZU, +CTZR, +CNTP), UART (+IPR, +IPREX),
 * error reporting (+CMEE), reset (+CRESET) and the settings dump AT&V, plus
 * the few status commands TinyGSM's SIM7600 driver sends (+CBC, +CPMUTEMP,
 * +CSPN, +CSCLK).
 *
 * Malformed or out-of-range parameters answer a bare ERROR; state errors
 * (no SIM, operation not allowed, no network) answer +CME ERROR per AT+CMEE.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* The simulated LTE cell (TAC and cell id as in the reference's +CPSI example). */
#define CELL_PLMN_DASHED "001-01"
#define CELL_PLMN "00101"
#define CELL_TAC 0x309D
#define CELL_ID 136092930L
#define CELL_ACT_EUTRAN 7

/* PDP context ids 1-24. */
#define PDP_MAX_CID 24
#define PDP_APN_MAX 99
#define PDP_ADDR_MAX 63
#define AUTH_TEXT_MAX 127

/* One PDP context (AT+CGDCONT, AT+CGACT, AT+CGAUTH). */
struct basic_pdp {
    bool defined;
    bool active; /**< requested active; reported active only while the network is ready */
    char type[8];
    char apn[PDP_APN_MAX + 1];
    char addr[PDP_ADDR_MAX + 1];
    int d_comp, h_comp, ipv4_alloc, emergency;
    int auth_type;
    char user[AUTH_TEXT_MAX + 1];
    char password[AUTH_TEXT_MAX + 1];
};

/** State of the basic group. */
struct sim_basic {
    struct basic_pdp pdp[PDP_MAX_CID + 1]; /**< index = cid; 0 unused */
    int cops_mode;                         /**< 0 auto, 1 manual, 2 deregistered, 4 manual/auto */
    int cops_format;                       /**< 0 long, 1 short, 2 numeric */
    int last_stat;                         /**< registration state last reported by URCs */
    bool ctzu, ctzr;
    int cnsmod_n;
    int cnmp;
    int csclk;
    long iprex;                            /**< baud rate saved by AT+IPREX (survives a reset) */
    char ntp_server[128];
    int ntp_tz;
};

/* ------------------------------------------------------------ helpers */

static bool sim_missing(const struct sim_modem *m)
{
    return !m->sim_present;
}

/* 27.007 <stat> as the host sees it: nothing while the radio is off or without SIM. */
static int reported_stat(const struct sim_modem *m)
{
    if (!m->sim_present || m->cfun != 1 || m->booting) {
        return 0;
    }
    return m->reg_stat;
}

static bool registered(const struct sim_modem *m)
{
    int stat = reported_stat(m);
    return stat == 1 || stat == 5;
}

/* The three registration commands share their formats. */
enum reg_kind { REG_CREG, REG_CGREG, REG_CEREG };

static const char *const reg_names[] = { "+CREG", "+CGREG", "+CEREG" };

static int *reg_n(struct sim_modem *m, enum reg_kind kind)
{
    switch (kind) {
    case REG_CREG: return &m->creg_n;
    case REG_CGREG: return &m->cgreg_n;
    default: return &m->cereg_n;
    }
}

/* ",<lac>,<ci>[,<AcT>]" for n=2 while registered, else "". */
static void reg_cell(enum reg_kind kind, int n, int stat, char *out, size_t cap)
{
    out[0] = '\0';
    if (n != 2 || (stat != 1 && stat != 5)) {
        return;
    }
    if (kind == REG_CEREG) {
        snprintf(out, cap, ",\"%04X\",\"%08lX\",%d", CELL_TAC, CELL_ID, CELL_ACT_EUTRAN);
    } else {
        snprintf(out, cap, ",\"%04X\",\"%08lX\"", CELL_TAC, CELL_ID);
    }
}

void sim_basic_reg_urcs(struct sim_modem *m)
{
    if (m->basic == NULL) {
        return;
    }
    int stat = reported_stat(m);
    if (stat == m->basic->last_stat) {
        return;
    }
    m->basic->last_stat = stat;
    for (int k = REG_CREG; k <= REG_CEREG; k++) {
        int n = *reg_n(m, (enum reg_kind)k);
        if (n > 0) {
            char cell[48];
            reg_cell((enum reg_kind)k, n, stat, cell, sizeof(cell));
            sim_urc(m, "%s: %d%s", reg_names[k], stat, cell);
        }
    }
}

/* Apply a change of radio state: network teardown and registration URCs. */
static void radio_changed(struct sim_modem *m, bool was_ready)
{
    if (was_ready && !sim_network_ready(m)) {
        sim_teardown_all(m, SIM_DOWN_NETWORK);
    }
    sim_basic_reg_urcs(m);
}

/* ------------------------------------------------------------ basic (V.25ter) */

/* ATE0 / ATE1: command echo. */
static enum sim_at_status cmd_echo(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    int value = cmd->basic_value < 0 ? 0 : cmd->basic_value;
    if (value > 1 || cmd->kind != SIM_AT_EXEC) {
        return SIM_AT_ERROR;
    }
    m->echo = value == 1;
    return SIM_AT_OK;
}

/* ATV1: verbose result codes. Numeric result codes (ATV0) are not simulated: ERROR. */
static enum sim_at_status cmd_verbose(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)m;
    int value = cmd->basic_value < 0 ? 0 : cmd->basic_value;
    return cmd->kind == SIM_AT_EXEC && value == 1 ? SIM_AT_OK : SIM_AT_ERROR;
}

/* ATI: product identification. */
static enum sim_at_status cmd_ati(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind != SIM_AT_EXEC || cmd->basic_value > 0) {
        return SIM_AT_ERROR;
    }
    sim_info(m, "Manufacturer: %s", m->cfg.manufacturer);
    sim_info(m, "Model: %s", m->cfg.model);
    sim_info(m, "Revision: %s", m->cfg.revision);
    sim_info(m, "IMEI: %s", m->cfg.imei);
    sim_info(m, "+GCAP: +CGSM");
    return SIM_AT_OK;
}

/* AT+CGMI, +CGMM, +CGSN, +GSN: one bare identity line (test form: OK). */
static enum sim_at_status identity_line(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *value)
{
    if (cmd->kind == SIM_AT_EXEC) {
        sim_info(m, "%s", value);
    }
    return SIM_AT_OK;
}

static enum sim_at_status cmd_cgmi(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return identity_line(m, cmd, m->cfg.manufacturer);
}

static enum sim_at_status cmd_cgmm(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return identity_line(m, cmd, m->cfg.model);
}

static enum sim_at_status cmd_cgsn(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return identity_line(m, cmd, m->cfg.imei);
}

/* AT+CGMR: firmware revision, with the "+CGMR: " prefix the SIM7600 prints. */
static enum sim_at_status cmd_cgmr(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_EXEC) {
        sim_info(m, "+CGMR: %s", m->cfg.cgmr);
    }
    return SIM_AT_OK;
}

/* AT+CICCID: the SIM's ICCID. */
static enum sim_at_status cmd_ciccid(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    if (cmd->kind == SIM_AT_EXEC) {
        sim_info(m, "+ICCID: %s", m->cfg.iccid);
    }
    return SIM_AT_OK;
}

/* AT+CIMI: IMSI of the simulated SIM: the cell's PLMN plus the last ten ICCID digits before its check digit. */
static enum sim_at_status cmd_cimi(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    if (cmd->kind == SIM_AT_EXEC) {
        const char *iccid = m->cfg.iccid;
        size_t len = strlen(iccid);
        const char *msin = len >= 11 ? iccid + len - 11 : iccid;
        sim_info(m, "%s%.10s", CELL_PLMN, msin);
    }
    return SIM_AT_OK;
}

/* AT+CPIN: SIM state. The simulated SIM has no PIN: entering one is not allowed. */
static enum sim_at_status cmd_cpin(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        return SIM_AT_OK;
    }
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    if (cmd->kind == SIM_AT_SET) {
        const char *pin;
        if (cmd->argc > 2 || !sim_arg_str(cmd, 0, 4, 8, false, &pin)) {
            return SIM_AT_ERROR;
        }
        return sim_cme(m, SIM_CME_NOT_ALLOWED);
    }
    sim_info(m, "+CPIN: READY");
    return SIM_AT_OK;
}

/* AT+CSQ: signal quality from the signal fault (99,99 while the radio is off). */
static enum sim_at_status cmd_csq(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CSQ: (0-31,99),(0-7,99)");
        return SIM_AT_OK;
    }
    bool radio = m->cfun == 1 && m->sim_present;
    sim_info(m, "+CSQ: %d,%d", radio ? m->rssi : 99, radio ? m->ber : 99);
    return SIM_AT_OK;
}

/* AT+CREG / +CGREG / +CEREG: URC mode n (0-2) and registration state. */
static enum sim_at_status registration(struct sim_modem *m, const struct sim_at_cmd *cmd, enum reg_kind kind)
{
    int *n = reg_n(m, kind);
    long value;
    char cell[48];
    switch (cmd->kind) {
    case SIM_AT_TEST:
        sim_info(m, "%s: (0-2)", reg_names[kind]);
        return SIM_AT_OK;
    case SIM_AT_READ:
        reg_cell(kind, *n, reported_stat(m), cell, sizeof(cell));
        sim_info(m, "%s: %d,%d%s", reg_names[kind], *n, reported_stat(m), cell);
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int_opt(cmd, 0, 0, 2, 0, &value)) {
            return SIM_AT_ERROR;
        }
        *n = (int)value;
        return SIM_AT_OK;
    default:
        *n = 0;
        return SIM_AT_OK;
    }
}

static enum sim_at_status cmd_creg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return registration(m, cmd, REG_CREG);
}

static enum sim_at_status cmd_cgreg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return registration(m, cmd, REG_CGREG);
}

static enum sim_at_status cmd_cereg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return registration(m, cmd, REG_CEREG);
}

/* AT+CPSI?: serving cell. Levels in tenths of dB derived from the +CSQ rssi. */
static enum sim_at_status cmd_cpsi(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CPSI: (0-255)");
        return SIM_AT_OK;
    }
    const char *op_mode = m->cfun == 1 ? "Online" : "Low Power Mode";
    if (!registered(m)) {
        sim_info(m, "+CPSI: NO SERVICE,%s", op_mode);
        return SIM_AT_OK;
    }
    int csq = m->rssi == 99 ? 0 : m->rssi;
    int rssi = -1130 + 20 * csq;
    int rsrp = rssi - 396;
    int snr = csq - 10;
    sim_info(m, "+CPSI: LTE,%s,%s,0x%04X,%ld,257,EUTRAN-BAND3,1275,4,4,-108,%d,%d,%d", op_mode, CELL_PLMN_DASHED,
             CELL_TAC, CELL_ID, rsrp, rssi, snr);
    return SIM_AT_OK;
}

/* The operator name in COPS format fmt. */
static const char *operator_as(const struct sim_modem *m, int fmt)
{
    return fmt == 2 ? CELL_PLMN : m->cfg.operator_name;
}

static enum sim_at_status cops_set(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_basic *b = m->basic;
    long mode, fmt, act;
    const char *oper = NULL;
    if (cmd->argc > 4 || !sim_arg_int(cmd, 0, 0, 4, &mode) || !sim_arg_int_opt(cmd, 1, 0, 2, b->cops_format, &fmt) ||
        !sim_arg_int_opt(cmd, 3, 0, 7, CELL_ACT_EUTRAN, &act)) {
        return SIM_AT_ERROR;
    }
    if (cmd->argc > 2 && !cmd->argv[2].empty && !sim_arg_str(cmd, 2, 1, 64, true, &oper)) {
        return SIM_AT_ERROR;
    }
    if ((mode == 1 || mode == 4) && oper == NULL) {
        return SIM_AT_ERROR;
    }
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    bool known = oper != NULL && strcmp(oper, operator_as(m, (int)fmt)) == 0 && act == CELL_ACT_EUTRAN;
    if (mode == 1 && !known) {
        return sim_cme(m, 111); /* PLMN not allowed */
    }
    b->cops_format = (int)fmt;
    if (mode == 3) {
        return SIM_AT_OK;
    }
    bool was_ready = sim_network_ready(m);
    if (mode == 2) {
        m->reg_stat = 0;
    } else if (b->cops_mode == 2 && m->reg_stat == 0) {
        m->reg_stat = 1;
    }
    b->cops_mode = (int)mode;
    radio_changed(m, was_ready);
    return SIM_AT_OK;
}

/* AT+COPS: operator selection. Only the simulated LTE cell exists. */
static enum sim_at_status cmd_cops(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_basic *b = m->basic;
    switch (cmd->kind) {
    case SIM_AT_READ:
        if (registered(m)) {
            sim_info(m, "+COPS: %d,%d,\"%s\",%d", b->cops_mode == 4 ? 1 : b->cops_mode, b->cops_format,
                     operator_as(m, b->cops_format), CELL_ACT_EUTRAN);
        } else {
            sim_info(m, "+COPS: %d", b->cops_mode);
        }
        return SIM_AT_OK;
    case SIM_AT_TEST:
        if (sim_missing(m)) {
            return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
        }
        if (m->cfun != 1) {
            return sim_cme(m, SIM_CME_NOT_ALLOWED);
        }
        sim_info(m, "+COPS: (%d,\"%s\",\"%s\",\"%s\",%d),,(0,1,2,3,4),(0,1,2)", registered(m) ? 2 : 1,
                 m->cfg.operator_name, m->cfg.operator_name, CELL_PLMN, CELL_ACT_EUTRAN);
        return SIM_AT_OK;
    case SIM_AT_SET:
        return cops_set(m, cmd);
    default:
        return SIM_AT_OK;
    }
}

/* AT+CNSMOD: network system mode (8 = LTE, 0 = no service). */
static enum sim_at_status cmd_cnsmod(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long value;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CNSMOD: %d,%d", m->basic->cnsmod_n, registered(m) ? 8 : 0);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CNSMOD: (0-1)");
        return SIM_AT_OK;
    default:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 1, &value)) {
            return SIM_AT_ERROR;
        }
        m->basic->cnsmod_n = (int)value;
        return SIM_AT_OK;
    }
}

static const int cnmp_modes[] = { 2, 9, 10, 13, 14, 19, 22, 38, 39, 48, 51, 54, 59, 60, 63, 67 };

/*
 * AT+CNMP: preferred network mode. The value is kept and reported; the
 * simulated cell stays LTE whatever is chosen.
 */
static enum sim_at_status cmd_cnmp(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long value;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CNMP: %d", m->basic->cnmp);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CNMP: (2,9,10,13,14,19,22,38,39,48,51,54,59,60,63,67)");
        return SIM_AT_OK;
    default:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 99, &value)) {
            return SIM_AT_ERROR;
        }
        for (size_t i = 0; i < sizeof(cnmp_modes) / sizeof(cnmp_modes[0]); i++) {
            if (cnmp_modes[i] == value) {
                m->basic->cnmp = (int)value;
                return SIM_AT_OK;
            }
        }
        return SIM_AT_ERROR;
    }
}

/* AT+CFUN: 0 minimum, 1 full, 4 flight mode; AT+CFUN=1,1 resets the module. */
static enum sim_at_status cmd_cfun(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long fun, rst;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CFUN: %d", m->cfun);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CFUN: (0,1,4),(0-1)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        break;
    default:
        return SIM_AT_ERROR;
    }
    if (cmd->argc > 2 || !sim_arg_int(cmd, 0, 0, 4, &fun) || (fun != 0 && fun != 1 && fun != 4) ||
        !sim_arg_int_opt(cmd, 1, 0, 1, 0, &rst)) {
        return SIM_AT_ERROR;
    }
    if (rst == 1) {
        if (fun != 1) {
            return SIM_AT_ERROR;
        }
        sim_modem_request_reset(m);
        return SIM_AT_OK;
    }
    bool was_ready = sim_network_ready(m);
    m->cfun = (int)fun;
    radio_changed(m, was_ready);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------ packet data */

static bool valid_pdp_type(const char *type)
{
    static const char *const types[] = { "IP", "PPP", "IPV6", "IPV4V6" };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcasecmp(type, types[i]) == 0) {
            return true;
        }
    }
    return false;
}

static void pdp_define_default(struct basic_pdp *p)
{
    memset(p, 0, sizeof(*p));
    p->defined = true;
    p->active = true; /* the LTE default bearer comes up with the attach */
    strcpy(p->type, "IP");
    strcpy(p->addr, "0.0.0.0");
}

static enum sim_at_status cgdcont_set(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long cid, d_comp, h_comp, alloc, emergency;
    const char *type = "IP";
    const char *apn = "";
    const char *addr = "0.0.0.0";
    if (cmd->argc > 8 || !sim_arg_int(cmd, 0, 1, PDP_MAX_CID, &cid)) {
        return SIM_AT_ERROR;
    }
    struct basic_pdp *p = &m->basic->pdp[cid];
    if (cmd->argc == 1) {
        memset(p, 0, sizeof(*p)); /* AT+CGDCONT=<cid> undefines the context */
        return SIM_AT_OK;
    }
    if ((!cmd->argv[1].empty && (!sim_arg_str(cmd, 1, 2, 6, true, &type) || !valid_pdp_type(type))) ||
        (cmd->argc > 2 && !cmd->argv[2].empty && !sim_arg_str(cmd, 2, 0, PDP_APN_MAX, true, &apn)) ||
        (cmd->argc > 3 && !cmd->argv[3].empty && !sim_arg_str(cmd, 3, 0, PDP_ADDR_MAX, true, &addr)) ||
        !sim_arg_int_opt(cmd, 4, 0, 2, 0, &d_comp) || !sim_arg_int_opt(cmd, 5, 0, 4, 0, &h_comp) ||
        !sim_arg_int_opt(cmd, 6, 0, 1, 0, &alloc) || !sim_arg_int_opt(cmd, 7, 0, 1, 0, &emergency)) {
        return SIM_AT_ERROR;
    }
    bool was_active = p->defined && p->active;
    memset(p, 0, sizeof(*p));
    p->defined = true;
    p->active = was_active;
    for (size_t i = 0; type[i] != '\0'; i++) {
        p->type[i] = (char)toupper((unsigned char)type[i]);
    }
    snprintf(p->apn, sizeof(p->apn), "%s", apn);
    snprintf(p->addr, sizeof(p->addr), "%s", addr);
    p->d_comp = (int)d_comp;
    p->h_comp = (int)h_comp;
    p->ipv4_alloc = (int)alloc;
    p->emergency = (int)emergency;
    return SIM_AT_OK;
}

/* AT+CGDCONT: PDP context definitions (kept across resets, like the module's NV). */
static enum sim_at_status cmd_cgdcont(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    switch (cmd->kind) {
    case SIM_AT_READ:
        for (int cid = 1; cid <= PDP_MAX_CID; cid++) {
            const struct basic_pdp *p = &m->basic->pdp[cid];
            if (p->defined) {
                sim_info(m, "+CGDCONT: %d,\"%s\",\"%s\",\"%s\",%d,%d,%d,%d", cid, p->type, p->apn, p->addr, p->d_comp,
                         p->h_comp, p->ipv4_alloc, p->emergency);
            }
        }
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGDCONT: (1-24),\"IP\",,,(0-2),(0-4),(0-1),(0-1)");
        sim_info(m, "+CGDCONT: (1-24),\"PPP\",,,(0-2),(0-4),(0-1),(0-1)");
        sim_info(m, "+CGDCONT: (1-24),\"IPV6\",,,(0-2),(0-4),(0-1),(0-1)");
        sim_info(m, "+CGDCONT: (1-24),\"IPV4V6\",,,(0-2),(0-4),(0-1),(0-1)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        return cgdcont_set(m, cmd);
    default:
        return SIM_AT_ERROR;
    }
}

static enum sim_at_status cgact_set(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long state, cid;
    if (!sim_arg_int(cmd, 0, 0, 1, &state)) {
        return SIM_AT_ERROR;
    }
    for (int i = 1; i < cmd->argc; i++) {
        if (!sim_arg_int(cmd, i, 1, PDP_MAX_CID, &cid)) {
            return SIM_AT_ERROR;
        }
        if (!m->basic->pdp[cid].defined) {
            return sim_cme(m, SIM_CME_NOT_ALLOWED);
        }
    }
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    if (state == 1 && !sim_network_ready(m)) {
        return sim_cme(m, SIM_CME_NO_NETWORK);
    }
    for (int c = 1; c <= PDP_MAX_CID; c++) {
        bool listed = cmd->argc == 1;
        for (int i = 1; i < cmd->argc; i++) {
            listed = listed || atoi(cmd->argv[i].text) == c;
        }
        if (listed && m->basic->pdp[c].defined) {
            m->basic->pdp[c].active = state == 1;
        }
    }
    return SIM_AT_OK;
}

/* AT+CGACT: activate or deactivate PDP contexts (AT+CGACT=<state> alone: all). */
static enum sim_at_status cmd_cgact(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    switch (cmd->kind) {
    case SIM_AT_READ:
        for (int cid = 1; cid <= PDP_MAX_CID; cid++) {
            const struct basic_pdp *p = &m->basic->pdp[cid];
            if (p->defined) {
                sim_info(m, "+CGACT: %d,%d", cid, p->active && sim_network_ready(m) ? 1 : 0);
            }
        }
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGACT: (0,1)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        return cgact_set(m, cmd);
    default:
        return SIM_AT_ERROR;
    }
}

/* AT+CGATT: packet-domain attach state. Detaching (AT+CGATT=0) is not simulated and answers ERROR. */
static enum sim_at_status cmd_cgatt(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long state;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CGATT: %d", sim_network_ready(m) ? 1 : 0);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGATT: (0,1)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 1, 1, &state)) {
            return SIM_AT_ERROR;
        }
        if (sim_missing(m)) {
            return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
        }
        return sim_network_ready(m) ? SIM_AT_OK : sim_cme(m, SIM_CME_NO_NETWORK);
    default:
        return SIM_AT_ERROR;
    }
}

/* AT+CGAUTH=<cid>[,<type>[,"<passwd>"[,"<user>"]]]: PDP authentication (stored; the simulated network accepts any). */
static enum sim_at_status cmd_cgauth(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long cid, type;
    const char *password = "";
    const char *user = "";
    switch (cmd->kind) {
    case SIM_AT_READ:
        for (int c = 1; c <= PDP_MAX_CID; c++) {
            const struct basic_pdp *p = &m->basic->pdp[c];
            if (p->defined) {
                sim_info(m, "+CGAUTH: %d,%d,\"%s\"", c, p->auth_type, p->user);
            }
        }
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CGAUTH: (1-24),(0-2),%d,%d", AUTH_TEXT_MAX, AUTH_TEXT_MAX);
        return SIM_AT_OK;
    case SIM_AT_SET:
        break;
    default:
        return SIM_AT_ERROR;
    }
    if (cmd->argc > 4 || !sim_arg_int(cmd, 0, 1, PDP_MAX_CID, &cid) || !sim_arg_int_opt(cmd, 1, 0, 2, 0, &type) ||
        (cmd->argc > 2 && !sim_arg_str(cmd, 2, 0, AUTH_TEXT_MAX, true, &password)) ||
        (cmd->argc > 3 && !sim_arg_str(cmd, 3, 0, AUTH_TEXT_MAX, true, &user))) {
        return SIM_AT_ERROR;
    }
    struct basic_pdp *p = &m->basic->pdp[cid];
    if (!p->defined) {
        return sim_cme(m, SIM_CME_NOT_ALLOWED);
    }
    p->auth_type = (int)type;
    snprintf(p->password, sizeof(p->password), "%s", password);
    snprintf(p->user, sizeof(p->user), "%s", user);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------ clock */

/* Parse "yy/MM/dd,hh:mm:ss±zz" exactly; returns false on any deviation. */
static bool parse_cclk(const char *text, int64_t *utc_ms, int *tz)
{
    static const char pattern[] = "dd/dd/dd,dd:dd:dd#dd";
    if (strlen(text) != sizeof(pattern) - 1) {
        return false;
    }
    for (size_t i = 0; pattern[i] != '\0'; i++) {
        bool ok = pattern[i] == 'd'   ? isdigit((unsigned char)text[i]) != 0
                  : pattern[i] == '#' ? (text[i] == '+' || text[i] == '-')
                                      : text[i] == pattern[i];
        if (!ok) {
            return false;
        }
    }
    int f[7]; /* yy MM dd hh mm ss zz */
    for (int i = 0; i < 6; i++) {
        f[i] = (text[i * 3] - '0') * 10 + (text[i * 3 + 1] - '0');
    }
    f[6] = (text[18] - '0') * 10 + (text[19] - '0');
    int zone = text[17] == '-' ? -f[6] : f[6];
    static const int days_in[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > days_in[f[1] - 1] || (f[1] == 2 && f[2] == 29 && f[0] % 4 != 0) ||
        f[3] > 23 || f[4] > 59 || f[5] > 59 || zone < -96 || zone > 96) {
        return false;
    }
    struct tm tm = { 0 };
    tm.tm_year = 100 + f[0];
    tm.tm_mon = f[1] - 1;
    tm.tm_mday = f[2];
    tm.tm_hour = f[3];
    tm.tm_min = f[4];
    tm.tm_sec = f[5];
    *utc_ms = ((int64_t)timegm(&tm) - (int64_t)zone * 15 * 60) * 1000;
    *tz = zone;
    return true;
}

/* AT+CCLK: the module's clock (virtual time plus what AT+CCLK= set), zone in quarter hours. */
static enum sim_at_status cmd_cclk(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_READ) {
        int64_t local_ms = sim_local_time_ms(m) + (int64_t)m->cclk_tz * 15 * 60 * 1000;
        time_t secs = (time_t)(local_ms >= 0 ? local_ms / 1000 : (local_ms - 999) / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        int zone = m->cclk_tz < 0 ? -m->cclk_tz : m->cclk_tz;
        sim_info(m, "+CCLK: \"%02d/%02d/%02d,%02d:%02d:%02d%c%02d\"", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec, m->cclk_tz < 0 ? '-' : '+', zone);
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_TEST) {
        return SIM_AT_OK;
    }
    const char *text;
    int64_t utc_ms;
    int tz;
    if (cmd->kind != SIM_AT_SET || cmd->argc != 1 || !sim_arg_str(cmd, 0, 20, 20, true, &text) ||
        !parse_cclk(text, &utc_ms, &tz)) {
        return SIM_AT_ERROR;
    }
    m->cclk_offset_ms = utc_ms - sim_now_ms(m);
    m->cclk_tz = tz;
    return SIM_AT_OK;
}

/* AT+CTZU / AT+CTZR: a 0/1 switch with read and test forms. */
static enum sim_at_status switch_setting(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name, bool *flag)
{
    long value;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "%s: %d", name, *flag ? 1 : 0);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "%s: (0-1)", name);
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 1, &value)) {
            return SIM_AT_ERROR;
        }
        *flag = value == 1;
        return SIM_AT_OK;
    default:
        return SIM_AT_ERROR;
    }
}

/*
 * AT+CTZU: automatic time-zone update from the network. The simulated
 * network sends no NITZ; the module clock already follows the virtual clock.
 */
static enum sim_at_status cmd_ctzu(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return switch_setting(m, cmd, "+CTZU", &m->basic->ctzu);
}

/* AT+CTZR: time-zone change reports (+CTZV). No zone changes happen in the simulated network. */
static enum sim_at_status cmd_ctzr(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return switch_setting(m, cmd, "+CTZR", &m->basic->ctzr);
}

/* AT+CNTP="<server>"[,<tz>] configures, AT+CNTP synchronises: OK, then +CNTP: <err>. */
static enum sim_at_status cmd_cntp(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_basic *b = m->basic;
    const char *server;
    long tz;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CNTP: \"%s\",%d", b->ntp_server, b->ntp_tz);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CNTP: %d,(-96~96)", (int)sizeof(b->ntp_server) - 1);
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc > 2 || !sim_arg_str(cmd, 0, 1, sizeof(b->ntp_server) - 1, true, &server) ||
            !sim_arg_int_opt(cmd, 1, -96, 96, 0, &tz)) {
            return SIM_AT_ERROR;
        }
        snprintf(b->ntp_server, sizeof(b->ntp_server), "%s", server);
        b->ntp_tz = (int)tz;
        return SIM_AT_OK;
    default:
        break;
    }
    if (b->ntp_server[0] == '\0') {
        return sim_two_phase(m, "+CNTP: 2"); /* wrong parameter: no server configured */
    }
    if (!sim_network_ready(m)) {
        return sim_two_phase(m, "+CNTP: 4"); /* network error */
    }
    /* The NTP server of the simulated network serves the virtual clock. */
    m->cclk_offset_ms = 0;
    m->cclk_tz = b->ntp_tz;
    return sim_two_phase(m, "+CNTP: 0");
}

/* AT+CNTPCID: PDP context used for NTP (1-24). */
static enum sim_at_status cmd_cntpcid(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long cid;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CNTPCID: 1");
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CNTPCID: (1-24)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        return cmd->argc == 1 && sim_arg_int(cmd, 0, 1, PDP_MAX_CID, &cid) ? SIM_AT_OK : SIM_AT_ERROR;
    default:
        return SIM_AT_ERROR;
    }
}

/* ------------------------------------------------------------ UART and power */

static const long baud_rates[] = { 300,    600,    1200,   2400,   4800,   9600,    19200,  38400,
                                   57600,  115200, 230400, 460800, 921600, 1842000, 3686400 };

static bool valid_baud(long rate)
{
    for (size_t i = 0; i < sizeof(baud_rates) / sizeof(baud_rates[0]); i++) {
        if (baud_rates[i] == rate) {
            return true;
        }
    }
    return false;
}

/* AT+IPR (until reset) and AT+IPREX (saved): UART rate. */
static enum sim_at_status baud_command(struct sim_modem *m, const struct sim_at_cmd *cmd, bool saved)
{
    const char *name = saved ? "+IPREX" : "+IPR";
    long rate;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "%s: %ld", name, saved ? m->basic->iprex : m->ipr);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "%s: (300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600,1842000,3686400)",
                 name);
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 4000000, &rate) || !valid_baud(rate)) {
            return SIM_AT_ERROR;
        }
        break;
    default:
        rate = 115200;
        break;
    }
    m->ipr = rate;
    if (saved) {
        m->basic->iprex = rate;
    }
    return SIM_AT_OK;
}

static enum sim_at_status cmd_ipr(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return baud_command(m, cmd, false);
}

static enum sim_at_status cmd_iprex(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return baud_command(m, cmd, true);
}

/* AT+CSCLK: UART sleep control (kept and reported; the simulated UART never sleeps). */
static enum sim_at_status cmd_csclk(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    long value;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CSCLK: %d", m->basic->csclk);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CSCLK: (0-2)");
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 2, &value)) {
            return SIM_AT_ERROR;
        }
        m->basic->csclk = (int)value;
        return SIM_AT_OK;
    default:
        return SIM_AT_ERROR;
    }
}

/* AT+CBC: supply voltage in the SIM7600 form TinyGSM parses ("+CBC: 3.800V"); the bench supplies 3.8 V. */
static enum sim_at_status cmd_cbc(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_EXEC) {
        sim_info(m, "+CBC: 3.800V");
    }
    return SIM_AT_OK;
}

/* AT+CPMUTEMP: module temperature in degrees Celsius (the bench runs at 25). */
static enum sim_at_status cmd_cpmutemp(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_EXEC) {
        sim_info(m, "+CPMUTEMP: 25");
    }
    return SIM_AT_OK;
}

/* AT+CSPN?: service provider name from the SIM. */
static enum sim_at_status cmd_cspn(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (sim_missing(m)) {
        return sim_cme(m, SIM_CME_SIM_NOT_INSERTED);
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CSPN: \"%s\",0", m->cfg.operator_name);
    }
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
            return SIM_AT_ERROR;
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

/* ------------------------------------------------------------ AT&V */

/* Collects "name: value" items and wraps them into lines the way AT&V does. */
struct dump {
    struct sim_modem *m;
    char line[96];
    size_t len;
};

static void dump_item(struct dump *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dump_item(struct dump *d, const char *fmt, ...)
{
    char item[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(item, sizeof(item), fmt, ap);
    va_end(ap);
    size_t n = strlen(item);
    if (d->len > 0 && d->len + 1 + n + 1 > 72) {
        sim_info(d->m, "%s", d->line);
        d->len = 0;
    }
    d->len += (size_t)snprintf(d->line + d->len, sizeof(d->line) - d->len, "%s%s;", d->len > 0 ? " " : "", item);
}

static void dump_end(struct dump *d)
{
    if (d->len > 0) {
        d->line[d->len - 1] = '\0'; /* the last item has no ';' */
        sim_info(d->m, "%s", d->line);
    }
}

/* AT&V: the current configuration, in the module's "name: value;" layout (settings this simulator models). */
static enum sim_at_status cmd_and_v(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->basic_value > 0) {
        return SIM_AT_ERROR;
    }
    struct sim_basic *b = m->basic;
    struct dump d = { .m = m };
    dump_item(&d, "E: %d", m->echo ? 1 : 0);
    dump_item(&d, "V: 1");
    dump_item(&d, "+IPR: %ld", m->ipr);
    dump_item(&d, "+CMEE: %d", m->cmee);
    dump_item(&d, "+CFUN: %d", m->cfun);
    dump_item(&d, "+IPREX: %ld", b->iprex);
    dump_item(&d, "+CREG: %d", m->creg_n);
    dump_item(&d, "+CGREG: %d", m->cgreg_n);
    dump_item(&d, "+CEREG: %d", m->cereg_n);
    dump_item(&d, "+CSCLK: %d", b->csclk);
    dump_item(&d, "+CNMP: %d", b->cnmp);
    dump_item(&d, "+CNSMOD: %d", b->cnsmod_n);
    dump_item(&d, "+COPS: %d,%d,\"\"", b->cops_mode, b->cops_format);
    dump_item(&d, "+CTZR: %d", b->ctzr ? 1 : 0);
    dump_item(&d, "+CTZU: %d", b->ctzu ? 1 : 0);
    dump_end(&d);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------ group */

static int basic_init(struct sim_modem *m)
{
    m->basic = calloc(1, sizeof(*m->basic));
    if (m->basic == NULL) {
        return -1;
    }
    pdp_define_default(&m->basic->pdp[1]);
    m->basic->cnmp = 2;
    m->basic->iprex = m->ipr;
    m->basic->last_stat = reported_stat(m);
    return 0;
}

static void basic_fini(struct sim_modem *m)
{
    free(m->basic);
    m->basic = NULL;
}

/* A reset restores the settings that are not saved; saved ones (IPREX, CTZU, CGDCONT) stay. */
static void basic_teardown(struct sim_modem *m, enum sim_teardown why)
{
    struct sim_basic *b = m->basic;
    if (why != SIM_DOWN_RESET) {
        return;
    }
    m->ipr = b->iprex;
    b->cops_format = 0;
    b->ctzr = false;
    b->cnsmod_n = 0;
    b->csclk = 0;
    if (b->cops_mode == 2 && m->reg_stat == 0) {
        m->reg_stat = 1; /* a deregistration by AT+COPS=2 ends with the reset */
    }
    b->cops_mode = 0;
    b->last_stat = m->sim_present ? m->reg_stat : 0; /* what the module reports once booted (CFUN=1) */
    for (int cid = 1; cid <= PDP_MAX_CID; cid++) {
        b->pdp[cid].active = cid == 1 && b->pdp[cid].defined;
    }
}

static const struct sim_cmd basic_cmds[] = {
    { "E", SIM_FORM_EXEC, cmd_echo, 0, "Command echo off (ATE0) or on (ATE1)" },
    { "V", SIM_FORM_EXEC, cmd_verbose, 0, "Verbose result codes (ATV1 only; ATV0 answers ERROR)" },
    { "I", SIM_FORM_EXEC, cmd_ati, 0, "Product identification: manufacturer, model, revision, IMEI" },
    { "&V", SIM_FORM_EXEC, cmd_and_v, 0, "Dump the current configuration" },
    { "+CGMI", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cgmi, 0, "Manufacturer" },
    { "+CGMM", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cgmm, 0, "Model" },
    { "+CGMR", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cgmr, 0, "Firmware revision (+CGMR: prefix)" },
    { "+CGSN", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cgsn, 0, "IMEI" },
    { "+GSN", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cgsn, 0, "IMEI" },
    { "+CICCID", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_ciccid, 0, "SIM ICCID (+ICCID:)" },
    { "+CIMI", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cimi, 0, "SIM IMSI" },
    { "+CPIN", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cpin, 0, "SIM state (READY; +CME ERROR: 10 without SIM)" },
    { "+CSQ", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_csq, 0, "Signal quality rssi,ber" },
    { "+CREG", SIM_FORM_ALL, cmd_creg, 0, "CS registration state and URC mode 0-2" },
    { "+CGREG", SIM_FORM_ALL, cmd_cgreg, 0, "PS registration state and URC mode 0-2" },
    { "+CEREG", SIM_FORM_ALL, cmd_cereg, 0, "EPS registration state and URC mode 0-2" },
    { "+CPSI", SIM_FORM_READ | SIM_FORM_TEST, cmd_cpsi, 0, "Serving cell information" },
    { "+COPS", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cops, 0, "Operator selection and format" },
    { "+CNSMOD", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cnsmod, 0, "Network system mode (8 = LTE)" },
    { "+CNMP", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cnmp, 0, "Preferred network mode" },
    { "+CFUN", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cfun, 0, "Functionality 0/1/4; 1,1 resets" },
    { "+CGDCONT", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgdcont, 0, "PDP context definitions" },
    { "+CGACT", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgact, 0, "PDP context activation" },
    { "+CGATT", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgatt, 0, "Packet attach state (detach not simulated)" },
    { "+CGAUTH", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cgauth, 0, "PDP authentication" },
    { "+CCLK", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cclk, 0, "Module clock (virtual time), zone in quarter hours" },
    { "+CTZU", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_ctzu, 0, "Automatic time-zone update" },
    { "+CTZR", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_ctzr, 0, "Time-zone change reports" },
    { "+CNTP", SIM_FORM_ALL, cmd_cntp, 1000, "NTP server and synchronisation (+CNTP: <err>)" },
    { "+CNTPCID", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_cntpcid, 0, "PDP context for NTP" },
    { "+IPR", SIM_FORM_ALL, cmd_ipr, 0, "UART rate until reset" },
    { "+IPREX", SIM_FORM_ALL, cmd_iprex, 0, "UART rate, saved" },
    { "+CSCLK", SIM_FORM_READ | SIM_FORM_SET | SIM_FORM_TEST, cmd_csclk, 0, "UART sleep control" },
    { "+CBC", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cbc, 0, "Supply voltage" },
    { "+CPMUTEMP", SIM_FORM_EXEC | SIM_FORM_TEST, cmd_cpmutemp, 0, "Module temperature" },
    { "+CSPN", SIM_FORM_READ | SIM_FORM_TEST, cmd_cspn, 0, "Service provider name" },
    { "+CMEE", SIM_FORM_ALL, cmd_cmee, 0, "Error reporting: ERROR, numeric or verbose +CME ERROR" },
    { "+CRESET", SIM_FORM_EXEC, cmd_creset, 0, "Reset the module: teardown URCs, then RDY, +CPIN: READY, SMS DONE, PB DONE" },
};

const struct sim_group sim_group_basic = {
    .name = "basic",
    .cmds = basic_cmds,
    .cmd_count = sizeof(basic_cmds) / sizeof(basic_cmds[0]),
    .init = basic_init,
    .fini = basic_fini,
    .teardown = basic_teardown,
};
