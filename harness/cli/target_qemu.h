/*
 * target_qemu — `cellbench run --target qemu`: each device's firmware runs as
 * the Cortex-M4 image (build/qemu/cellbench-bus.elf) in qemu-system-arm
 * -M mps2-an386 instead of the host program fwcore. The image's UART0 opens
 * the device simulator's PTY (a tty chardev, so QEMU attaches before the CPU
 * runs and nothing is lost); semihosting carries the command line in and the
 * console out (into the run directory's fw-<id>.log).
 *
 * Clock: the image keeps its own clock (SysTick, which QEMU runs on host time)
 * and multiplies it by the scenario's rate, starting from the virtual time at
 * which it was started; it does not follow "clock jump" faults.
 */
#ifndef CELLBENCH_TARGET_QEMU_H
#define CELLBENCH_TARGET_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "orchestrate.h"
#include "scenario.h"

/* What one device's QEMU run needs. */
struct target_qemu_device {
    const char *bin_dir;      /* directory of cellbench; the image is ../qemu/cellbench-bus.elf */
    const char *uart_path;    /* the simulator's PTY (its --link path) */
    const struct scenario_device *dev;
    const char *certs;        /* certs/out */
    int broker_port;          /* the modem reaches the broker at localhost:PORT */
    const char *project, *region, *registry; /* GCP identity */
    int64_t rate_micro;       /* the scenario clock's rate */
    int64_t epoch_s;          /* virtual Unix time when the image starts */
};

/* NULL when the QEMU image can run scenario s, else why not (a stack or role the
 * image lacks, driver inputs, clock jumps). */
const char *target_qemu_unsupported(const struct scenario *s);

/* The image's path for bin_dir into buf; false when it is not built. */
bool target_qemu_image(const char *bin_dir, char *buf, size_t cap);

/* Append the image's command line (bus_args.h: aws|gcp DEVICE HOST:PORT CERTS 0
 * [OPTION=VALUE...]) to out, each word preceded by sep (",arg=" for QEMU's
 * semihosting option, " " for the nRF52840's go line). False, with a message,
 * when it does not fit or a word holds a comma. */
bool target_qemu_command_words(const struct target_qemu_device *t, const char *certs, const char *sep, char *out,
                               size_t cap);

/* Spawn QEMU for one device under orch as "fw-<id>". Returns the child index, or -1
 * with a message on stderr (no qemu-system-arm, no image, an unusable path). */
int target_qemu_start(struct orch *o, const struct target_qemu_device *t);

#endif /* CELLBENCH_TARGET_QEMU_H */
