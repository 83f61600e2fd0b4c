/*
 * fw_reset_line_linux.c - the modem's reset line through the simulator's
 * control socket (see fw_reset_line_linux.h).
 */
#include "fw_reset_line_linux.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define RESET_REPLY_GUARD_MS 2000 /* real-time hang guard for the reply */

/* Send "reset" and read the one reply line; 0 when it starts with "ok". */
static int32_t reset_over_control(struct fw_linux_port *p)
{
    struct sockaddr_un addr;
    char reply[128];
    size_t got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, p->reset_control, strlen(p->reset_control) + 1);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || write(fd, "reset\n", 6) != 6) {
        close(fd);
        return -1;
    }
    while (got < sizeof(reply) - 1 && memchr(reply, '\n', got) == NULL) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (poll(&pfd, 1, RESET_REPLY_GUARD_MS) <= 0)
            break;
        n = read(fd, reply + got, sizeof(reply) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return got >= 2 && memcmp(reply, "ok", 2) == 0 ? 0 : -1;
}

static int32_t linux_modem_reset(void *ctx)
{
    struct fw_linux_port *p = ctx;
    int32_t rc = reset_over_control(p);
    if (p->log != NULL)
        fprintf(p->log, "%s %s port: modem reset line pulsed (%s)\n", p->name, rc == 0 ? "warn" : "error",
                rc == 0 ? "the modem reboots" : "no answer from the reset line");
    return rc;
}

int fw_linux_port_use_reset_line(struct fw_linux_port *p, const char *control_path)
{
    struct sockaddr_un addr;
    if (strlen(control_path) >= sizeof(addr.sun_path)) {
        fprintf(stderr, "%s: reset line %s: path too long for a Unix socket\n", p->name, control_path);
        return -1;
    }
    p->reset_control = control_path;
    p->port.modem_reset = linux_modem_reset;
    return 0;
}
