/*
 * fw_inputs_linux.h - the driver-behaviour and camera inputs of the Linux
 * port, read from the file given to `fwcore --inputs PATH`.
 *
 * The file is a log the harness appends to (create it empty, or let fwcore
 * create it); fwcore reads every complete line once, in order:
 *
 *     phone|drinking|drowsy <picture-file>   a driver-behaviour report whose
 *                                            frame is the picture file
 *     frame <picture-file>                   a new camera frame, no report
 *
 * Picture file names are relative to the inputs file's directory unless
 * absolute. Lines are read when the core polls driver_event (every loop
 * pass while no picture is being sent). Blank lines and lines starting with '#' are skipped; other
 * lines are logged as invalid and skipped. The latest frame is what the
 * picture command reads; a report makes its frame the latest one.
 */
#ifndef FW_INPUTS_LINUX_H
#define FW_INPUTS_LINUX_H

#include <stdint.h>
#include <stdio.h>

#include "fw_port.h"

/* Reader state. Embedded in struct fw_linux_port when --inputs is given. */
struct fw_linux_inputs {
    FILE *file;                   /* the inputs file, read as it grows */
    char dir[512];                /* its directory, for relative picture names */
    char line[1024];              /* a line being collected */
    size_t line_len;
    char latest[1600];            /* path of the latest frame; "" if none */
    int frozen;                   /* the frame frozen by camera_capture, or -1 */
    unsigned invalid;             /* lines skipped as invalid */
};

/* Open the inputs file at path (created if missing). Returns 0 or -1 with a
 * message on stderr. */
int fw_linux_inputs_open(struct fw_linux_inputs *in, const char *path);

/* Close what fw_linux_inputs_open() opened. */
void fw_linux_inputs_close(struct fw_linux_inputs *in);

struct fw_linux_port;

/* Serve the port's driver_event, camera_capture and camera_read from in
 * (opened; it must outlive the port's use). */
void fw_linux_port_use_inputs(struct fw_linux_port *p, struct fw_linux_inputs *in);

#endif /* FW_INPUTS_LINUX_H */
