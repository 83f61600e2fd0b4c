/*
 * main.c - the mps2-an386 image: the firmware core on QEMU's Cortex-M4,
 * talking AT over UART0 to the simulator. The semihosting command line
 * (-semihosting-config arg=...) picks what runs:
 *   (no arguments)                     the core's SIM7600 bring-up
 *       (fw_sim7600_setup: sync with AT until OK, ATE0, AT+CMEE=2, SIM,
 *       registration, APN) and AT+CGMR; exit 0 when the modem is ready,
 *       1 when a step failed, 2 on the hang guard;
 *   aws|gcp DEVICE HOST:PORT CERTDIR N [OPTION=VALUE...]
 *       the bus application for aws-modem-tls / gcp-modem-tls (bus_run.c); exit 0
 *       once N location events are published (N = 0: run until QEMU is stopped).
 *       Options: project=, region=, registry= (the GCP identity), rate=X (the
 *       scenario clock's rate, decimal, default 1), epoch=S (Unix time at boot;
 *       default: the host's time), registration=, route= (the bus's identity;
 *       %XX escapes, e.g. %20 for the spaces the command line cannot carry);
 *   hil CERTDIR
 *       stand in for the nRF52840 board in the HIL tests: wait for the go line
 *       on UART0 (go_line.h), then run the bus application as it says, with
 *       the credentials from the host directory CERTDIR;
 *   bench-es256 KEYFILE
 *       sign a JWT-sized message once with the key and print the signature and
 *       the SysTick ticks it took (under -icount shift=0: instructions / 40).
 * Everything it reports goes to the semihosting console; the reset handler adds
 * the stack high-water mark on the way out.
 */
#include <string.h>

#include "board.h"
#include "board_port.h"
#include "port_common.h"
#include "bus_args.h"
#include "bus_run.h"
#include "go_line.h"
#include "fw_sim7600_setup.h"

/* Whole run's hang guard on the board's own clock. */
#define RUN_GUARD_MS 60000u
/* Exit statuses of the run. */
#define EXIT_READY 0
#define EXIT_SETUP_FAILED 1
#define EXIT_HANG_GUARD 2
/* Most command-line words, and the hang guard of the bus application. */
#define MAX_ARGS 12
#define BUS_GUARD_MS 120000u
/* Largest key file the bench reads. */
#define KEY_FILE_MAX 1024u

/* Everything the image holds, in .bss. */
struct image {
    struct board_port port;
    struct fw_sim7600 modem;
    struct fw_sim7600_setup setup;
    char line_buf[512];
    char tx_buf[256];
    char topic_buf[256];
    uint8_t payload_buf[1024];
    char revision[64];
    char cmdline[512];
    const char *argv[MAX_ARGS];
    struct go_line go;
};

static struct image img;

/* Keep the first information line of AT+CGMR ("+CGMR: <revision>"). */
static void on_revision(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    char *out = ctx;
    (void)at;
    if (out[0] == '\0' && len < sizeof(img.revision)) {
        memcpy(out, line, len);
        out[len] = '\0';
    }
}

static bool guard_expired(uint32_t started)
{
    return board_ms() - started >= RUN_GUARD_MS;
}

static int bring_up(uint32_t started)
{
    static const struct fw_sim7600_setup_params params = {
        .apn = "internet", .ssl_ctx = -1, .register_timeout_ms = 30000u};
    enum fw_sim7600_setup_status st = fw_sim7600_setup_start(&img.setup, &img.modem, &params);
    while (st == FW_SIM7600_SETUP_BUSY && !guard_expired(started)) {
        board_sleep();
        st = fw_sim7600_setup_poll(&img.setup);
    }
    if (st == FW_SIM7600_SETUP_BUSY) {
        semihost_write("qemu-boot: hang guard expired during setup\n");
        return EXIT_HANG_GUARD;
    }
    if (st != FW_SIM7600_SETUP_OK) {
        semihost_write("qemu-boot: setup failed at step ");
        semihost_write(fw_sim7600_setup_step_str(fw_sim7600_setup_failed_step(&img.setup, NULL)));
        semihost_write("\n");
        return EXIT_SETUP_FAILED;
    }
    semihost_write("qemu-boot: modem ready\n");
    return EXIT_READY;
}

static int read_revision(uint32_t started)
{
    struct fw_at *at = fw_sim7600_at(&img.modem);
    struct fw_at_request req = {.cmd = "AT+CGMR", .on_line = on_revision, .ctx = img.revision,
                                .timeout_ms = 5000u};
    enum fw_at_status st = fw_at_send(at, &req);
    while (st == FW_AT_IN_PROGRESS && !guard_expired(started)) {
        board_sleep();
        st = fw_at_poll(at);
    }
    if (st != FW_AT_OK || img.revision[0] == '\0') {
        semihost_write("qemu-boot: AT+CGMR failed\n");
        return EXIT_SETUP_FAILED;
    }
    semihost_write("qemu-boot: revision ");
    semihost_write(img.revision);
    semihost_write("\n");
    return EXIT_READY;
}

/* Split the command line into words (the first is the program name, dropped). */
static int split_cmdline(void)
{
    char *p = img.cmdline;
    int argc = 0, word = 0;
    if (semihost_cmdline(img.cmdline, sizeof(img.cmdline)) < 0)
        return 0;
    while (*p != '\0') {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (word++ > 0) {
            if (argc == MAX_ARGS)
                return -1;
            img.argv[argc++] = p;
        }
        while (*p != '\0' && *p != ' ')
            p++;
    }
    return argc;
}

static int run_bus(int argc)
{
    struct bus_run_args args;
    uint32_t rate_milli;
    uint64_t epoch;
    if (!bus_args_parse(argc, img.argv, &args, &rate_milli, &epoch)) {
        semihost_write("qemu-boot: usage: " BUS_ARGS_USAGE "\n");
        return EXIT_SETUP_FAILED;
    }
    board_port_init(&img.port, FW_LOG_INFO);
    board_port_set_clock(&img.port, rate_milli, epoch);
    args.guard_ms = BUS_GUARD_MS;
    return bus_run(&img.port, &args);
}

/* hil CERTDIR: the go line on UART0 starts the bus application, as on the nRF52840. */
static int run_hil(int argc)
{
    struct bus_run_args args;
    uint32_t rate_milli;
    uint64_t epoch;
    if (argc != 2) {
        semihost_write("qemu-boot: usage: hil CERTDIR\n");
        return EXIT_SETUP_FAILED;
    }
    semihost_write("qemu-boot: waiting for the go line on UART0\n");
    go_line_wait(&img.go, &args, &rate_milli, &epoch);
    semihost_write("qemu-boot: go\n");
    args.certs = img.argv[1];
    board_port_init(&img.port, FW_LOG_INFO);
    board_port_set_clock(&img.port, rate_milli, epoch);
    args.guard_ms = BUS_GUARD_MS;
    return bus_run(&img.port, &args);
}

/* Lowercase hex of len bytes of in, NUL-terminated, into out (2 * len + 1 bytes). */
static void to_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xFu];
    }
    out[2 * len] = '\0';
}

/* bench-es256 KEYFILE: one ES256 signature of a JWT-sized header.claims string. */
static int run_bench_es256(int argc)
{
    static const char msg[] =
        "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYw"
        "MCwiYXVkIjoiY2VsbGJlbmNoLXByb2plY3QifQ";
    static uint8_t pem[KEY_FILE_MAX];
    uint8_t sig[64];
    char hex[129], num[12];
    int32_t len;
    uint64_t ticks;
    if (argc != 2 || (len = semihost_read_file(img.argv[1], pem, sizeof(pem))) <= 0) {
        semihost_write("qemu-boot: usage: bench-es256 KEYFILE (a readable PEM key)\n");
        return EXIT_SETUP_FAILED;
    }
    board_port_init(&img.port, FW_LOG_INFO);
    if (board_port_set_es256_key(&img.port, pem, (size_t)len) != 0)
        return EXIT_SETUP_FAILED;
    ticks = board_port_time_es256(&img.port, (const uint8_t *)msg, sizeof(msg) - 1u, sig);
    if (ticks == 0) {
        semihost_write("qemu-boot: signing failed\n");
        return EXIT_SETUP_FAILED;
    }
    semihost_write("es256: message ");
    semihost_write(msg);
    to_hex(sig, sizeof(sig), hex);
    semihost_write("\nes256: signature ");
    semihost_write(hex);
    semihost_write("\nes256: systick ticks ");
    semihost_write(board_utoa((uint32_t)ticks, num));
    semihost_write("\n");
    return EXIT_READY;
}

static int run_bring_up(void)
{
    struct fw_sim7600_config cfg;
    uint32_t started;
    int rc;
    board_port_init(&img.port, FW_LOG_DEBUG);
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = &img.port.port;
    cfg.line_buf = img.line_buf;
    cfg.line_cap = sizeof(img.line_buf);
    cfg.tx_buf = img.tx_buf;
    cfg.tx_cap = sizeof(img.tx_buf);
    cfg.topic_buf = img.topic_buf;
    cfg.topic_cap = sizeof(img.topic_buf);
    cfg.payload_buf = img.payload_buf;
    cfg.payload_cap = sizeof(img.payload_buf);
    if (fw_sim7600_init(&img.modem, &cfg) != FW_AT_IDLE) {
        semihost_write("qemu-boot: modem driver rejected its configuration\n");
        return EXIT_SETUP_FAILED;
    }
    started = board_ms();
    rc = bring_up(started);
    if (rc == EXIT_READY)
        rc = read_revision(started);
    return rc;
}

int main(void)
{
    int argc, rc;
    board_tick_init();
    board_uart_init();
    semihost_write("qemu-boot: cellbench-bus on mps2-an386 (Cortex-M4), modem on UART0\n");
    argc = split_cmdline();
    if (argc > 0 && strcmp(img.argv[0], "bench-es256") == 0)
        rc = run_bench_es256(argc);
    else if (argc > 0 && strcmp(img.argv[0], "hil") == 0)
        rc = run_hil(argc);
    else
        rc = argc == 0 ? run_bring_up() : argc < 0 ? EXIT_SETUP_FAILED : run_bus(argc);
    if (board_uart_overruns() != 0)
        semihost_write("qemu-boot: UART receive ring overflowed\n");
    semihost_write(rc == EXIT_READY ? "qemu-boot: done, exit 0\n" : "qemu-boot: done, failing\n");
    return rc;
}
