/*
 * §1 basic commands: exact transcripts (replayed at chunk sizes 1, 2, 7, 64
 * and whole) for identity, SIM, registration, operator, functionality, PDP
 * contexts, clock, UART and error reporting, plus the reset boot sequence on
 * a private virtual clock.
 */
#include "simtest.h"
#include "vclock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define ECHO_OFF { .send = "ATE0\r", .expect = "ATE0\r\r\nOK\r\n" }
#define OK "\r\nOK\r\n"
#define ERR "\r\nERROR\r\n"
#define BOOT_URCS "\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n"
#define REPLAY(steps) simtest_replay_all(NULL, steps, sizeof(steps) / sizeof(steps[0]))

/* 2026-11-27 03:00:00 UTC */
#define T0_NS (1795748400LL * VCLOCK_NS_PER_S)

static void identity(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "ATI\r",
          .expect = "\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600E\r\nRevision: SIM7600M21-A_V1.1\r\n"
                    "IMEI: 862636055891234\r\n+GCAP: +CGSM\r\n" OK },
        { .send = "AT+CGMI\r", .expect = "\r\nSIMCOM INCORPORATED\r\n" OK },
        { .send = "AT+CGMM\r", .expect = "\r\nSIMCOM_SIM7600E\r\n" OK },
        { .send = "AT+CGMR\r", .expect = "\r\n+CGMR: LE20B03SIM7600M22\r\n" OK },
        { .send = "AT+CGSN\r", .expect = "\r\n862636055891234\r\n" OK },
        { .send = "AT+GSN\r", .expect = "\r\n862636055891234\r\n" OK },
        { .send = "AT+CICCID\r", .expect = "\r\n+ICCID: 89882390000012345678\r\n" OK },
        { .send = "AT+CIMI\r", .expect = "\r\n001010001234567\r\n" OK },
        { .send = "AT+CGMI=?\r", .expect = OK },
        { .send = "AT+CGMI?\r", .expect = ERR },
        { .send = "ATV1\r", .expect = OK },
        { .send = "ATV0\r", .expect = ERR },
        { .send = "ATI5\r", .expect = ERR },
    };
    REPLAY(steps);
}

static void identity_from_config(void **state)
{
    (void)state;
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.model = "SIMCOM_SIM7600G-H";
    cfg.imei = "123456789012345";
    cfg.cgmr = "LE20B04SIM7600G22";
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CGMM;+CGSN;+CGMR\r",
          .expect = "\r\nSIMCOM_SIM7600G-H\r\n123456789012345\r\n+CGMR: LE20B04SIM7600G22\r\n" OK },
    };
    simtest_replay_all(&cfg, steps, sizeof(steps) / sizeof(steps[0]));
}

static void sim_state_and_cme_verbosity(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CMEE?\r", .expect = "\r\n+CMEE: 2\r\n" OK },
        { .send = "AT+CMEE=?\r", .expect = "\r\n+CMEE: (0-2)\r\n" OK },
        { .send = "AT+CPIN?\r", .expect = "\r\n+CPIN: READY\r\n" OK },
        { .send = "AT+CPIN=?\r", .expect = OK },
        { .send = "AT+CPIN=\"1234\"\r", .expect = "\r\n+CME ERROR: operation not allowed\r\n" },
        { .send = "AT+CPIN=\"12\"\r", .expect = ERR },
        { .control = "sim absent", .send = "AT+CPIN?\r", .expect = "\r\n+CME ERROR: SIM not inserted\r\n" },
        { .send = "AT+CMEE=1\r", .expect = OK },
        { .send = "AT+CPIN?\r", .expect = "\r\n+CME ERROR: 10\r\n" },
        { .send = "AT+CICCID\r", .expect = "\r\n+CME ERROR: 10\r\n" },
        { .send = "AT+CIMI\r", .expect = "\r\n+CME ERROR: 10\r\n" },
        { .send = "AT+CMEE=0\r", .expect = OK },
        { .send = "AT+CPIN?\r", .expect = ERR },
        { .send = "AT+CSQ\r", .expect = "\r\n+CSQ: 99,99\r\n" OK },
        { .send = "AT+CREG?\r", .expect = "\r\n+CREG: 0,0\r\n" OK },
        { .control = "sim ready", .send = "AT+CPIN?\r", .expect = "\r\n+CPIN: READY\r\n" OK },
        { .send = "AT+CMEE=3\r", .expect = ERR },
        { .send = "AT+CMEE\r", .expect = OK },
        { .send = "AT+CMEE?\r", .expect = "\r\n+CMEE: 0\r\n" OK },
    };
    REPLAY(steps);
}

static void signal_quality(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CSQ\r", .expect = "\r\n+CSQ: 23,99\r\n" OK },
        { .send = "AT+CSQ=?\r", .expect = "\r\n+CSQ: (0-31,99),(0-7,99)\r\n" OK },
        { .control = "signal 10 3", .send = "AT+CSQ\r", .expect = "\r\n+CSQ: 10,3\r\n" OK },
        { .control = "signal 99", .send = "AT+CSQ\r", .expect = "\r\n+CSQ: 99,99\r\n" OK },
        { .send = "AT+CSQ?\r", .expect = ERR },
    };
    REPLAY(steps);
}

static void registration_and_urcs(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CREG?;+CGREG?;+CEREG?\r", .expect = "\r\n+CREG: 0,1\r\n+CGREG: 0,1\r\n+CEREG: 0,1\r\n" OK },
        { .send = "AT+CREG=?\r", .expect = "\r\n+CREG: (0-2)\r\n" OK },
        { .send = "AT+CREG=2;+CGREG=1;+CEREG=2\r", .expect = OK },
        { .send = "AT+CREG?;+CGREG?;+CEREG?\r",
          .expect = "\r\n+CREG: 2,1,\"309D\",\"081C9D02\"\r\n+CGREG: 1,1\r\n+CEREG: 2,1,\"309D\",\"081C9D02\",7\r\n" OK },
        { .control = "reg searching", .expect = "\r\n+CREG: 2\r\n\r\n+CGREG: 2\r\n\r\n+CEREG: 2\r\n" },
        { .send = "AT+CREG?\r", .expect = "\r\n+CREG: 2,2\r\n" OK },
        { .control = "reg roaming",
          .expect = "\r\n+CREG: 5,\"309D\",\"081C9D02\"\r\n\r\n+CGREG: 5\r\n\r\n+CEREG: 5,\"309D\",\"081C9D02\",7\r\n" },
        { .control = "reg roaming", .expect = "" },
        { .send = "AT+CREG=3\r", .expect = ERR },
        { .send = "AT+CREG=1,1\r", .expect = ERR },
        { .send = "AT+CREG=0;+CGREG=0\r", .expect = OK },
        { .control = "reg home", .expect = "\r\n+CEREG: 1,\"309D\",\"081C9D02\",7\r\n" },
        { .send = "AT+CEREG\r", .expect = OK },
        { .control = "reg denied", .send = "AT+CEREG?\r", .expect = "\r\n+CEREG: 0,3\r\n" OK },
    };
    REPLAY(steps);
}

static void serving_cell_and_operator(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CPSI?\r",
          .expect = "\r\n+CPSI: LTE,Online,001-01,0x309D,136092930,257,EUTRAN-BAND3,1275,4,4,-108,-1066,-670,13\r\n" OK },
        { .send = "AT+CNSMOD?\r", .expect = "\r\n+CNSMOD: 0,8\r\n" OK },
        { .send = "AT+COPS?\r", .expect = "\r\n+COPS: 0,0,\"cellbench LTE\",7\r\n" OK },
        { .send = "AT+COPS=?\r",
          .expect = "\r\n+COPS: (2,\"cellbench LTE\",\"cellbench LTE\",\"00101\",7),,(0,1,2,3,4),(0,1,2)\r\n" OK },
        { .send = "AT+COPS=3,2\r", .expect = OK },
        { .send = "AT+COPS?\r", .expect = "\r\n+COPS: 0,2,\"00101\",7\r\n" OK },
        { .send = "AT+COPS=1,2,\"00101\",7\r", .expect = OK },
        { .send = "AT+COPS?\r", .expect = "\r\n+COPS: 1,2,\"00101\",7\r\n" OK },
        { .send = "AT+COPS=1,0,\"other net\"\r", .expect = "\r\n+CME ERROR: PLMN not allowed\r\n" },
        { .send = "AT+COPS=1\r", .expect = ERR },
        { .send = "AT+COPS=5\r", .expect = ERR },
        { .send = "AT+CREG=1\r", .expect = OK },
        { .send = "AT+COPS=2\r", .expect = OK "\r\n+CREG: 0\r\n" },
        { .send = "AT+COPS?;+CPSI?;+CNSMOD?\r",
          .expect = "\r\n+COPS: 2\r\n+CPSI: NO SERVICE,Online\r\n+CNSMOD: 0,0\r\n" OK },
        { .send = "AT+COPS=0\r", .expect = OK "\r\n+CREG: 1\r\n" },
        { .control = "signal 31", .send = "AT+CPSI?\r",
          .expect = "\r\n+CPSI: LTE,Online,001-01,0x309D,136092930,257,EUTRAN-BAND3,1275,4,4,-108,-906,-510,21\r\n" OK },
        { .send = "AT+CNSMOD=1;+CNSMOD?\r", .expect = "\r\n+CNSMOD: 1,8\r\n" OK },
        { .send = "AT+CNSMOD=2\r", .expect = ERR },
        { .send = "AT+CNMP?\r", .expect = "\r\n+CNMP: 2\r\n" OK },
        { .send = "AT+CNMP=38;+CNMP?\r", .expect = "\r\n+CNMP: 38\r\n" OK },
        { .send = "AT+CNMP=3\r", .expect = ERR },
        { .send = "AT+CSPN?\r", .expect = "\r\n+CSPN: \"cellbench LTE\",0\r\n" OK },
    };
    REPLAY(steps);
}

static void functionality(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CFUN?\r", .expect = "\r\n+CFUN: 1\r\n" OK },
        { .send = "AT+CFUN=?\r", .expect = "\r\n+CFUN: (0,1,4),(0-1)\r\n" OK },
        { .send = "AT+CGREG=1\r", .expect = OK },
        { .send = "AT+CFUN=4\r", .expect = OK "\r\n+CGREG: 0\r\n" },
        { .send = "AT+CFUN?;+CSQ;+CPSI?;+CGATT?\r",
          .expect = "\r\n+CFUN: 4\r\n+CSQ: 99,99\r\n+CPSI: NO SERVICE,Low Power Mode\r\n+CGATT: 0\r\n" OK },
        { .send = "AT+COPS=?\r", .expect = "\r\n+CME ERROR: operation not allowed\r\n" },
        { .send = "AT+CFUN=0\r", .expect = OK },
        { .send = "AT+CFUN=1\r", .expect = OK "\r\n+CGREG: 1\r\n" },
        { .send = "AT+CFUN=2\r", .expect = ERR },
        { .send = "AT+CFUN=4,1\r", .expect = ERR },
        { .send = "AT+CFUN\r", .expect = ERR },
        { .send = "AT+CFUN=1,1;+CGMI\r", .expect = OK BOOT_URCS },
        { .send = "AT\r", .expect = "AT\r\r\nOK\r\n" },
        { .send = "AT+CGREG?\r", .expect = "AT+CGREG?\r\r\n+CGREG: 0,1\r\n" OK },
    };
    REPLAY(steps);
}

static void pdp_contexts(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CGDCONT?\r", .expect = "\r\n+CGDCONT: 1,\"IP\",\"\",\"0.0.0.0\",0,0,0,0\r\n" OK },
        { .send = "AT+CGDCONT=1,\"IP\",\"internet\",\"0.0.0.0\",0,0\r", .expect = OK },
        { .send = "AT+CGDCONT=3,\"ipv4v6\",\"ims\"\r", .expect = OK },
        { .send = "AT+CGDCONT?\r",
          .expect = "\r\n+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0,0,0\r\n"
                    "+CGDCONT: 3,\"IPV4V6\",\"ims\",\"0.0.0.0\",0,0,0,0\r\n" OK },
        { .send = "AT+CGDCONT=?\r",
          .expect = "\r\n+CGDCONT: (1-24),\"IP\",,,(0-2),(0-4),(0-1),(0-1)\r\n"
                    "+CGDCONT: (1-24),\"PPP\",,,(0-2),(0-4),(0-1),(0-1)\r\n"
                    "+CGDCONT: (1-24),\"IPV6\",,,(0-2),(0-4),(0-1),(0-1)\r\n"
                    "+CGDCONT: (1-24),\"IPV4V6\",,,(0-2),(0-4),(0-1),(0-1)\r\n" OK },
        { .send = "AT+CGACT?\r", .expect = "\r\n+CGACT: 1,1\r\n+CGACT: 3,0\r\n" OK },
        { .send = "AT+CGACT=1\r", .expect = OK },
        { .send = "AT+CGACT=0,1;+CGACT?\r", .expect = "\r\n+CGACT: 1,0\r\n+CGACT: 3,1\r\n" OK },
        { .send = "AT+CGACT=1,5\r", .expect = "\r\n+CME ERROR: operation not allowed\r\n" },
        { .send = "AT+CGACT=2,1\r", .expect = ERR },
        { .send = "AT+CGACT=?\r", .expect = "\r\n+CGACT: (0,1)\r\n" OK },
        { .send = "AT+CGDCONT=3\r", .expect = OK },
        { .send = "AT+CGACT?\r", .expect = "\r\n+CGACT: 1,0\r\n" OK },
        { .send = "AT+CGDCONT=25,\"IP\"\r", .expect = ERR },
        { .send = "AT+CGDCONT=2,\"X25\"\r", .expect = ERR },
        { .send = "AT+CGDCONT=2,IP\r", .expect = ERR },
        { .send = "AT+CGDCONT=2,\"IP\",\"a\",\"0.0.0.0\",3\r", .expect = ERR },
        { .send = "AT+CGAUTH=1,1,\"secret\",\"bus\"\r", .expect = OK },
        { .send = "AT+CGAUTH?\r", .expect = "\r\n+CGAUTH: 1,1,\"bus\"\r\n" OK },
        { .send = "AT+CGAUTH=7,1\r", .expect = "\r\n+CME ERROR: operation not allowed\r\n" },
        { .send = "AT+CGAUTH=1,3\r", .expect = ERR },
        { .send = "AT+CGATT?\r", .expect = "\r\n+CGATT: 1\r\n" OK },
        { .send = "AT+CGATT=1\r", .expect = OK },
        { .send = "AT+CGATT=0\r", .expect = ERR },
        { .control = "net down", .send = "AT+CGACT=1,1\r", .expect = "\r\n+CME ERROR: no network service\r\n" },
        { .send = "AT+CGATT?;+CGACT?\r", .expect = "\r\n+CGATT: 0\r\n+CGACT: 1,0\r\n" OK },
        { .send = "AT+CGATT=1\r", .expect = "\r\n+CME ERROR: no network service\r\n" },
        { .control = "net up", .send = "AT+CGACT=1,1;+CGACT?\r", .expect = "\r\n+CGACT: 1,1\r\n" OK },
        /* context definitions are kept across a reset, activation is not */
        { .send = "AT+CGACT=0,1;+CRESET\r", .expect = OK BOOT_URCS },
        { .send = "ATE0;+CGDCONT?;+CGACT?\r",
          .expect = "ATE0;+CGDCONT?;+CGACT?\r\r\n+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0,0,0\r\n+CGACT: 1,1\r\n" OK },
    };
    REPLAY(steps);
}

static void clock_read_and_set(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(T0_NS, 0); /* frozen: every read is exact */
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CCLK?\r", .expect = "\r\n+CCLK: \"26/11/27,03:00:00+00\"\r\n" OK },
        { .send = "AT+CCLK=?\r", .expect = OK },
        { .send = "AT+CCLK=\"24/02/29,23:59:58+08\"\r", .expect = OK },
        { .send = "AT+CCLK?\r", .expect = "\r\n+CCLK: \"24/02/29,23:59:58+08\"\r\n" OK },
        { .send = "AT+CCLK=\"30/01/01,00:00:00-96\"\r", .expect = OK },
        { .send = "AT+CCLK?\r", .expect = "\r\n+CCLK: \"30/01/01,00:00:00-96\"\r\n" OK },
        { .send = "AT+CCLK=\"23/02/29,00:00:00+00\"\r", .expect = ERR },
        { .send = "AT+CCLK=\"24/13/01,00:00:00+00\"\r", .expect = ERR },
        { .send = "AT+CCLK=\"24/01/01,24:00:00+00\"\r", .expect = ERR },
        { .send = "AT+CCLK=\"24/01/01,00:00:00+97\"\r", .expect = ERR },
        { .send = "AT+CCLK=\"24/01/01,00:00:00\"\r", .expect = ERR },
        { .send = "AT+CCLK=\"24/01/01 00:00:00+00\"\r", .expect = ERR },
        { .send = "AT+CCLK=24/01/01,00:00:00+00\r", .expect = ERR },
        { .send = "AT+CCLK\r", .expect = ERR },
        { .send = "AT+CTZU=1;+CTZR=0\r", .expect = OK },
        { .send = "AT+CTZU?;+CTZR?;+CTZU=?\r", .expect = "\r\n+CTZU: 1\r\n+CTZR: 0\r\n+CTZU: (0-1)\r\n" OK },
        { .send = "AT+CTZU=2\r", .expect = ERR },
        /* NTP brings the clock back to network (virtual) time in the configured zone */
        { .send = "AT+CNTP\r", .expect = OK "\r\n+CNTP: 2\r\n" },
        { .send = "AT+CNTPCID=1;+CNTP=\"pool.ntp.org\",8\r", .expect = OK },
        { .send = "AT+CNTP?\r", .expect = "\r\n+CNTP: \"pool.ntp.org\",8\r\n" OK },
        { .send = "AT+CNTP\r", .expect = OK "\r\n+CNTP: 0\r\n" },
        { .send = "AT+CCLK?\r", .expect = "\r\n+CCLK: \"26/11/27,05:00:00+08\"\r\n" OK },
        { .control = "net down", .send = "AT+CNTP\r", .expect = OK "\r\n+CNTP: 4\r\n" },
        { .control = "order info-first", .send = "AT+CNTP\r", .expect = "\r\n+CNTP: 4\r\n" OK },
    };
    simtest_replay_all(&cfg, steps, sizeof(steps) / sizeof(steps[0]));
    vclock_close(clock);
}

static void clock_follows_virtual_time(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(T0_NS, 0);
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    struct simtest_driver d;
    simtest_driver_init(&d, &cfg);
    simtest_send(&d, "ATE0\r");
    assert_true(simtest_expect(&d, "OK\r\n", 1000));
    simtest_send(&d, "AT+CCLK=\"26/11/27,12:00:00+04\"\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n", 1000));
    assert_int_equal(vclock_jump(clock, (24LL * 3600 + 61) * VCLOCK_NS_PER_S), 0);
    simtest_send(&d, "AT+CCLK?\r");
    assert_true(simtest_expect(&d, "\r\n+CCLK: \"26/11/28,12:01:01+04\"\r\n\r\nOK\r\n", 1000));
    simtest_driver_fini(&d);
    vclock_close(clock);
}

static void uart_rate(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+IPR?;+IPREX?\r", .expect = "\r\n+IPR: 115200\r\n+IPREX: 115200\r\n" OK },
        { .send = "AT+IPR=?\r",
          .expect = "\r\n+IPR: (300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600,1842000,"
                    "3686400)\r\n" OK },
        { .send = "AT+IPR=921600;+IPR?\r", .expect = "\r\n+IPR: 921600\r\n" OK },
        { .send = "AT+IPR=1234\r", .expect = ERR },
        { .send = "AT+IPR=abc\r", .expect = ERR },
        { .send = "AT+IPREX=57600\r", .expect = OK },
        { .send = "AT+IPR=9600;+CRESET\r", .expect = OK BOOT_URCS },
        { .send = "AT+IPR?\r", .expect = "AT+IPR?\r\r\n+IPR: 57600\r\n" OK },
        { .send = "AT+CSCLK=1;+CSCLK?\r", .expect = "AT+CSCLK=1;+CSCLK?\r\r\n+CSCLK: 1\r\n" OK },
    };
    REPLAY(steps);
}

static void status_commands(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CBC\r", .expect = "\r\n+CBC: 3.800V\r\n" OK },
        { .send = "AT+CPMUTEMP\r", .expect = "\r\n+CPMUTEMP: 25\r\n" OK },
        { .send = "AT&V\r",
          .expect = "\r\nE: 0; V: 1; +IPR: 115200; +CMEE: 2; +CFUN: 1; +IPREX: 115200; +CREG: 0;\r\n"
                    "+CGREG: 0; +CEREG: 0; +CSCLK: 0; +CNMP: 2; +CNSMOD: 0; +COPS: 0,0,\"\";\r\n"
                    "+CTZR: 0; +CTZU: 0\r\n" OK },
        { .send = "AT&V1\r", .expect = ERR },
    };
    REPLAY(steps);
}

static void framing_of_basic_lines(void **state)
{
    (void)state;
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.max_line = 32;
    const struct simtest_step steps[] = {
        { .send = "at+cgmi\r", .expect = "at+cgmi\r\r\nSIMCOM INCORPORATED\r\n" OK },
        { .send = "aT+cSq\r", .expect = "aT+cSq\r\r\n+CSQ: 23,99\r\n" OK },
        { .send = "ATE0\r", .expect = "ATE0\r" OK },
        { .send = "AT+CSQ;+NOPE;+CGMI\r", .expect = "\r\n+CSQ: 23,99\r\n" ERR },
        { .send = "AT+CGMI;+CPIN?\r", .expect = "\r\nSIMCOM INCORPORATED\r\n+CPIN: READY\r\n" OK },
        { .send = "ATE1V1\r", .expect = OK },
        { .send = "AT+CGDCONT=1,\"IP\",\"a-very-long-apn-name\"\r",
          .expect = "AT+CGDCONT=1,\"IP\",\"a-very-long-apn-name\"\r" ERR },
        { .send = "AT+CGDCONT?\r", .expect = "AT+CGDCONT?\r\r\n+CGDCONT: 1,\"IP\",\"\",\"0.0.0.0\",0,0,0,0\r\n" OK },
        { .send = "garbage\rAT\r", .expect = "garbage\rAT\r" OK },
    };
    simtest_replay_all(&cfg, steps, sizeof(steps) / sizeof(steps[0]));
}

static void reset_boot_sequence(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        ECHO_OFF,
        { .send = "AT+CMEE=0;+CREG=1\r", .expect = OK },
        { .send = "AT+CRESET\r", .expect = OK BOOT_URCS },
        /* power-up settings are back: echo on, CMEE from the configuration, CREG URCs off */
        { .send = "AT+CMEE?;+CREG?\r", .expect = "AT+CMEE?;+CREG?\r\r\n+CMEE: 2\r\n+CREG: 0,1\r\n" OK },
        { .send = "AT+CRESET=1\r", .expect = "AT+CRESET=1\r" ERR },
        /* registration URCs after the reset report changes from the booted state */
        { .send = "ATE0;+CREG=1\r", .expect = "ATE0;+CREG=1\r" OK },
        { .control = "sim absent", .expect = "\r\n+CREG: 0\r\n" },
        { .control = "sim ready", .expect = "\r\n+CREG: 1\r\n" },
    };
    REPLAY(steps);
}

/* Realistic boot timing on a private clock: nothing answers before RDY. */
static void reset_boot_timing(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(T0_NS, 0);
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    cfg.boot_ms = 9000;
    cfg.latency = SIM_LATENCY_REALISTIC;
    struct simtest_driver d;
    simtest_driver_init(&d, &cfg);
    simtest_send(&d, "ATE0\r");
    assert_true(simtest_expect(&d, "ATE0\r\r\nOK\r\n", 1000));
    simtest_send(&d, "AT+CRESET\r");
    assert_true(simtest_expect(&d, "\r\nOK\r\n", 1000));
    assert_int_equal(vclock_jump(clock, 8999 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    simtest_send(&d, "AT\r"); /* lost: the module is still booting */
    simtest_pump(&d, 0);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    assert_int_equal(vclock_jump(clock, 1 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    assert_true(simtest_expect(&d, "\r\nRDY\r\n", 1000));
    assert_int_equal(sim_buf_used(&d.seen), 0);
    assert_int_equal(vclock_jump(clock, 100 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    assert_true(simtest_expect(&d, "\r\n+CPIN: READY\r\n", 1000));
    assert_int_equal(sim_buf_used(&d.seen), 0);
    assert_int_equal(vclock_jump(clock, 4900 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    assert_true(simtest_expect(&d, "\r\nSMS DONE\r\n", 1000));
    assert_int_equal(vclock_jump(clock, 2000 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    assert_true(simtest_expect(&d, "\r\nPB DONE\r\n", 1000));
    assert_int_equal(sim_buf_used(&d.seen), 0);
    simtest_send(&d, "AT\r");
    assert_true(simtest_expect(&d, "AT\r\r\nOK\r\n", 1000));
    simtest_driver_fini(&d);
    vclock_close(clock);
}

/* The NTP command's realistic latency holds the response on the virtual clock. */
static void realistic_latency_holds_response(void **state)
{
    (void)state;
    struct vclock *clock = vclock_new_private(T0_NS, 0);
    assert_non_null(clock);
    struct sim_config cfg;
    simtest_config(&cfg);
    cfg.clock = clock;
    cfg.latency = SIM_LATENCY_REALISTIC;
    struct simtest_driver d;
    simtest_driver_init(&d, &cfg);
    simtest_send(&d, "ATE0\r");
    assert_true(simtest_expect(&d, "OK\r\n", 1000));
    simtest_send(&d, "AT+CNTP=\"ntp\",0;+CNTP\r");
    simtest_pump(&d, 0);
    assert_int_equal(sim_buf_used(&d.seen), 0);
    assert_int_equal(vclock_jump(clock, 2000 * VCLOCK_NS_PER_MS), 0);
    simtest_pump(&d, 0);
    assert_true(simtest_expect(&d, "\r\nOK\r\n\r\n+CNTP: 0\r\n", 1000));
    simtest_driver_fini(&d);
    vclock_close(clock);
}

/* What TinyGSM's SIM7600 driver sends during init() and its status calls, with CR LF line ends. */
static void tinygsm_init_sequence(void **state)
{
    (void)state;
    const struct simtest_step steps[] = {
        { .send = "AT\r\n", .expect = "AT\r\r\nOK\r\n\n" },
        { .send = "ATE0\r\n", .expect = "ATE0\r\r\nOK\r\n" },
        { .send = "AT+CMEE=0\r\n", .expect = OK },
        { .send = "AT+CTZR=0\r\n", .expect = OK },
        { .send = "AT+CTZU=1\r\n", .expect = OK },
        { .send = "AT+CPIN?\r\n", .expect = "\r\n+CPIN: READY\r\n" OK },
        { .send = "AT+CGMI\r\n", .expect = "\r\nSIMCOM INCORPORATED\r\n" OK },
        { .send = "AT+CGREG?\r\n", .expect = "\r\n+CGREG: 0,1\r\n" OK },
        { .send = "AT+CNSMOD?\r\n", .expect = "\r\n+CNSMOD: 0,8\r\n" OK },
        { .send = "AT+GSN\r\n", .expect = "\r\n862636055891234\r\n" OK },
        { .send = "AT+CICCID\r\n", .expect = "\r\n+ICCID: 89882390000012345678\r\n" OK },
        { .send = "AT+CBC\r\n", .expect = "\r\n+CBC: 3.800V\r\n" OK },
        { .send = "AT+CFUN=4\r\n", .expect = OK },
        { .send = "AT+CFUN=1\r\n", .expect = OK },
        /* with CMEE=0 a failing 27.007 command ends in a plain ERROR, which TinyGSM matches */
        { .control = "sim absent", .send = "AT+CPIN?\r\n", .expect = ERR },
    };
    REPLAY(steps);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identity),
        cmocka_unit_test(tinygsm_init_sequence),
        cmocka_unit_test(identity_from_config),
        cmocka_unit_test(sim_state_and_cme_verbosity),
        cmocka_unit_test(signal_quality),
        cmocka_unit_test(registration_and_urcs),
        cmocka_unit_test(serving_cell_and_operator),
        cmocka_unit_test(functionality),
        cmocka_unit_test(pdp_contexts),
        cmocka_unit_test(clock_read_and_set),
        cmocka_unit_test(clock_follows_virtual_time),
        cmocka_unit_test(uart_rate),
        cmocka_unit_test(status_commands),
        cmocka_unit_test(framing_of_basic_lines),
        cmocka_unit_test(reset_boot_sequence),
        cmocka_unit_test(reset_boot_timing),
        cmocka_unit_test(realistic_latency_holds_response),
    };
    return cmocka_run_group_tests_name("sim_basic", tests, NULL, NULL);
}
