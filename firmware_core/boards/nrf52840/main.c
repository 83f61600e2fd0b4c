/*
 * main.c - the nRF52840 image: the firmware core's bus application on the
 * bus unit's MCU, the modem on UARTE0. After reset it waits for a go line on
 * the modem link (the host sends it once the serial port is open again after
 * flashing, so nothing the firmware says is lost):
 *     go aws|gcp DEVICE HOST:PORT CERTDIR EVENTS [OPTION=VALUE...]\n
 * (bus_args.h; CERTDIR is ignored: the credentials are the provisioned flash
 * region's), answers "cellbench-bus start\r\n", then runs the bus application
 * in a super-loop that polls the core and sleeps (WFE) between interrupts.
 * A bad go line is answered "cellbench-bus usage: ..." and the next one awaited.
 */
#include <string.h>

#include "board.h"
#include "board_api.h"
#include "board_port.h"
#include "bus_args.h"
#include "bus_run.h"

#define GO_LINE_MAX 512u
#define MAX_ARGS 12
#define BUS_GUARD_MS 120000u

/* Everything main holds, in .bss. */
struct image {
    struct board_port port;
    char line[GO_LINE_MAX];
    const char *argv[MAX_ARGS];
};

static struct image img;

static void uart_send(const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        size_t n = board_uart_write((const uint8_t *)text + done, len - done);
        if (n == 0)
            board_sleep();
        done += n;
    }
}

/* Read one line (without CR/LF) from the modem link into img.line. */
static void read_line(void)
{
    size_t n = 0;
    for (;;) {
        uint8_t c;
        if (board_uart_read(&c, 1) == 0) {
            board_sleep();
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (n > 0)
                break;
            continue;
        }
        if (n < GO_LINE_MAX - 1u)
            img.line[n++] = (char)c;
    }
    img.line[n] = '\0';
}

/* Split img.line after "go " into words; -1 when it is not a go line. */
static int split_go_line(void)
{
    char *p = img.line;
    int argc = 0;
    if (strncmp(p, "go ", 3) != 0)
        return -1;
    p += 3;
    while (*p != '\0') {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (argc == MAX_ARGS)
            return -1;
        img.argv[argc++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    return argc;
}

int main(void)
{
    struct bus_run_args args;
    uint32_t rate_milli;
    uint64_t epoch;
    board_clock_init();
    board_tick_init();
    board_uart_init();
    board_console("nrf52840: cellbench-bus, waiting for the go line\n");
    for (;;) {
        int argc;
        read_line();
        argc = split_go_line();
        if (argc > 0 && bus_args_parse(argc, img.argv, &args, &rate_milli, &epoch))
            break;
        uart_send("cellbench-bus usage: go " BUS_ARGS_USAGE "\r\n");
    }
    uart_send("cellbench-bus start\r\n");
    board_port_init(&img.port, FW_LOG_INFO);
    board_port_set_clock(&img.port, rate_milli, epoch);
    args.guard_ms = BUS_GUARD_MS;
    return bus_run(&img.port, &args);
}
