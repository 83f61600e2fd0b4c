/*
 * main.c - the mps2-an386 image: the firmware core on QEMU's Cortex-M4,
 * talking AT over UART0 to the simulator. The semihosting command line
 * (-semihosting-config arg=...) picks what runs:
 *   (no arguments)                     the core's SIM7600 bring-up
 *       (fw_sim7600_setup: sync with AT until OK, ATE0, AT+CMEE=2, SIM,
 *       registration, APN) and AT+CGMR; exit 0 when the modem is ready,
 *       1 when a step failed, 2 on the hang guard;
 *   aws DEVICE HOST:PORT CERTDIR N     the bus application for aws-modem-tls
 *       (bus_run.c); exit 0 once N location events are published;
 *   gcp ...                            not on this board yet: the JWT needs the
 *       P-256 signer wired to port->sign; exit 3.
 * Everything it reports goes to the semihosting console.
 */
#include <string.h>

#include "board.h"
#include "board_port.h"
#include "bus_run.h"
#include "fw_sim7600_setup.h"

/* Whole run's hang guard on the board's own clock. */
#define RUN_GUARD_MS 60000u
/* Exit statuses of the run. */
#define EXIT_READY 0
#define EXIT_SETUP_FAILED 1
#define EXIT_HANG_GUARD 2
#define EXIT_NOT_ON_BOARD 3
/* Most command-line words, and the hang guard of the bus application. */
#define MAX_ARGS 8
#define BUS_GUARD_MS 120000u

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

/* Decimal count >= 1, or 0 when s is not one. */
static uint32_t parse_count(const char *s)
{
    uint32_t n = 0;
    for (; *s >= '0' && *s <= '9' && n < 100000u; s++)
        n = n * 10u + (uint32_t)(*s - '0');
    return *s == '\0' ? n : 0;
}

static int run_bus(int argc)
{
    struct bus_run_args args;
    if (strcmp(img.argv[0], "gcp") == 0) {
        semihost_write("qemu-boot: gcp-modem-tls is not on this board yet (JWT signer not wired)\n");
        return EXIT_NOT_ON_BOARD;
    }
    if (argc != 5 || strcmp(img.argv[0], "aws") != 0 || parse_count(img.argv[4]) == 0) {
        semihost_write("qemu-boot: usage: [aws DEVICE HOST:PORT CERTDIR EVENTS]\n");
        return EXIT_SETUP_FAILED;
    }
    board_port_init(&img.port, FW_LOG_INFO);
    args.device = img.argv[1];
    args.broker = img.argv[2];
    args.certs = img.argv[3];
    args.events = parse_count(img.argv[4]);
    args.guard_ms = BUS_GUARD_MS;
    return bus_run(&img.port, &args);
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
    rc = argc == 0 ? run_bring_up() : argc < 0 ? EXIT_SETUP_FAILED : run_bus(argc);
    if (board_uart_overruns() != 0)
        semihost_write("qemu-boot: UART receive ring overflowed\n");
    semihost_write(rc == EXIT_READY ? "qemu-boot: done, exit 0\n" : "qemu-boot: done, failing\n");
    return rc;
}
