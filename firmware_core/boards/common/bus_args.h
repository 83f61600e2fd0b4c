/*
 * bus_args.h - the bus application's command line, shared by the boards:
 *   aws|gcp DEVICE HOST:PORT CERTDIR EVENTS [OPTION=VALUE...]
 * EVENTS: exit once that many location events are published (0: run on).
 * Options: project=, region=, registry= (the GCP identity, required for gcp),
 * registration=, route= (the bus's identity; %XX escapes, e.g. %20 for a
 * space), rate=X (the scenario clock's rate, decimal, default 1), epoch=S
 * (Unix time at boot; default: the board's own source, if any), role=bus|depot.
 */
#ifndef BUS_ARGS_H
#define BUS_ARGS_H

#include <stdbool.h>
#include <stdint.h>

#include "bus_run.h"

/* The usage text of the command line. */
#define BUS_ARGS_USAGE "aws|gcp DEVICE HOST:PORT CERTDIR EVENTS [project=P region=R registry=G] " \
                       "[registration=X] [route=N] [role=bus|depot] [rate=X] [epoch=S]"

/* Parse argv[0..argc) (the words are decoded in place) into *args (guard_ms
 * left 0), the clock rate x 1000 and the boot epoch (0: none given). False
 * when the words are not a valid command line. */
bool bus_args_parse(int argc, const char *const *argv, struct bus_run_args *args, uint32_t *rate_milli,
                    uint64_t *epoch);

#endif /* BUS_ARGS_H */
