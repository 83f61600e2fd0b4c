/*
 * bus_run.h - the bus unit's application on a board (mps2-an386, nrf52840): the core's
 * modem-TLS device lifecycle (fw_device) and bus application (fw_bus_app) for
 * aws-modem-tls and gcp-modem-tls (the JWT signed on the CPU), as fwcore runs
 * them on Linux, over the board's port.
 */
#ifndef BUS_RUN_H
#define BUS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "board_port.h"

/* What to run, from the semihosting command line. */
struct bus_run_args {
    bool gcp;                /* gcp-modem-tls; else aws-modem-tls */
    bool depot;              /* a depot unit: subscribes (AWS: its depot-arrived topic),
                                logs what arrives, reads no GNSS, publishes nothing */
    const char *device;      /* thing name / GCP device id, e.g. "bus-1" */
    const char *project;     /* GCP identity (client id, JWT audience) */
    const char *region;
    const char *registry;
    const char *registration; /* vehicle registration (identification event), or NULL */
    const char *route;        /* route number before a configuration names one, or NULL */
    const char *broker;      /* HOST:PORT as the modem resolves it */
    const char *certs;       /* certificate tree as certs/gen.sh writes it (board_credential) */
    uint32_t events;         /* exit 0 once this many location events are published;
                                0: run until QEMU is stopped (the harness does) */
    uint32_t guard_ms;       /* exit 2 when that has not happened by then (port clock) */
};

/* Run the application until args->events location events have left the
 * offline queue (returns 0), a start-up error (1) or the guard (2). The GCP
 * device key (CERTDIR/devices/<id>/es256-private.pem) is parsed into the port. */
int bus_run(struct board_port *port, const struct bus_run_args *args);

#endif /* BUS_RUN_H */
