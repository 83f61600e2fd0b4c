/*
 * fw_reset_line_linux.h - the modem's hardware reset line on the bench: the
 * simulator has no pin to pull, so the Linux port drives the line through
 * the simulator's control socket (`sim7600 --control PATH`, verb `reset`),
 * which reboots the simulated module exactly as pulling RESET low does
 * (a hung module comes back, the boot URCs follow).
 */
#ifndef FW_RESET_LINE_LINUX_H
#define FW_RESET_LINE_LINUX_H

#include "fw_port_linux.h"

/* Drive the reset line of p through the control socket at control_path
 * (kept by reference: it must outlive the port). Sets p->port.modem_reset.
 * Returns 0, or -1 with a message on stderr when the path is too long. */
int fw_linux_port_use_reset_line(struct fw_linux_port *p, const char *control_path);

#endif /* FW_RESET_LINE_LINUX_H */
