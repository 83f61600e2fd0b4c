/*
 * main.c - the nRF52840 image: the firmware core's bus application on the
 * bus unit's MCU, the modem on UARTE0. After reset it waits for the go line
 * on the modem link (go_line.h; CERTDIR is ignored: the credentials are the
 * provisioned flash region's), then runs the bus application in a super-loop
 * that polls the core and sleeps (WFE) between interrupts.
 */
#include <string.h>

#include "board.h"
#include "board_api.h"
#include "board_port.h"
#include "port_common.h"
#include "bus_args.h"
#include "bus_run.h"
#include "go_line.h"

#define BUS_GUARD_MS 120000u

/* Everything main holds, in .bss. */
struct image {
    struct board_port port;
    struct go_line go;
};

static struct image img;

int main(void)
{
    struct bus_run_args args;
    uint32_t rate_milli;
    uint64_t epoch;
    board_clock_init();
    board_tick_init();
    board_uart_init();
    board_console("nrf52840: cellbench-bus, waiting for the go line\n");
    go_line_wait(&img.go, &args, &rate_milli, &epoch);
    board_port_init(&img.port, FW_LOG_INFO);
    board_port_set_clock(&img.port, rate_milli, epoch);
    args.guard_ms = BUS_GUARD_MS;
    return bus_run(&img.port, &args);
}
