/*
 * The host side of the simulated UART: a raw PTY whose slave is reached
 * through a symlink (--link), or a real serial device (--serial).
 */
#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static const struct {
    long baud;
    speed_t speed;
} baud_table[] = {
    { 1200, B1200 },       { 2400, B2400 },       { 4800, B4800 },       { 9600, B9600 },
    { 19200, B19200 },     { 38400, B38400 },     { 57600, B57600 },     { 115200, B115200 },
    { 230400, B230400 },   { 460800, B460800 },   { 921600, B921600 },   { 1000000, B1000000 },
    { 1500000, B1500000 }, { 2000000, B2000000 }, { 3000000, B3000000 }, { 4000000, B4000000 },
};

static bool baud_speed(long baud, speed_t *speed)
{
    for (size_t i = 0; i < sizeof(baud_table) / sizeof(baud_table[0]); i++) {
        if (baud_table[i].baud == baud) {
            *speed = baud_table[i].speed;
            return true;
        }
    }
    return false;
}

bool prog_baud_supported(long baud)
{
    speed_t speed;
    return baud_speed(baud, &speed);
}

/* Raw 8N1 without flow control; speed 0 keeps the current speed. TCSANOW keeps queued bytes. */
static int make_raw(int fd, speed_t speed)
{
    struct termios tio;
    if (tcgetattr(fd, &tio) != 0) {
        return -1;
    }
    cfmakeraw(&tio);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)CRTSCTS;
    tio.c_cc[VMIN] = 1;
    tio.c_cc[VTIME] = 0;
    if (speed != 0 && (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0)) {
        return -1;
    }
    return tcsetattr(fd, TCSANOW, &tio);
}

/* Point link_path at target, replacing a stale symlink but nothing else. */
static int make_link(const char *target, const char *link_path)
{
    struct stat st;
    if (lstat(link_path, &st) == 0 && !S_ISLNK(st.st_mode)) {
        fprintf(stderr, "sim7600: %s exists and is not a symlink\n", link_path);
        return -1;
    }
    char tmp[4096];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp%ld", link_path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        fprintf(stderr, "sim7600: link path too long\n");
        return -1;
    }
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, link_path) != 0) {
        fprintf(stderr, "sim7600: cannot link %s -> %s: %s\n", link_path, target, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static void uart_reset(struct prog_uart *u)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    u->slave_fd = -1;
}

int prog_uart_open_pty(struct prog_uart *u, const char *link_path)
{
    uart_reset(u);
    u->is_pty = true;
    u->fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (u->fd < 0 || grantpt(u->fd) != 0 || unlockpt(u->fd) != 0 ||
        ptsname_r(u->fd, u->slave, sizeof(u->slave)) != 0) {
        fprintf(stderr, "sim7600: cannot create a PTY: %s\n", strerror(errno));
        prog_uart_close(u);
        return -1;
    }
    /* Our own slave fd: the master never sees EIO while the host has it closed. */
    u->slave_fd = open(u->slave, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (u->slave_fd < 0 || make_raw(u->slave_fd, 0) != 0) {
        fprintf(stderr, "sim7600: cannot set up %s: %s\n", u->slave, strerror(errno));
        prog_uart_close(u);
        return -1;
    }
    if (make_link(u->slave, link_path) != 0) {
        prog_uart_close(u);
        return -1;
    }
    u->link = link_path;
    return 0;
}

int prog_uart_open_serial(struct prog_uart *u, const char *dev, long baud)
{
    uart_reset(u);
    speed_t speed;
    if (!baud_speed(baud, &speed)) {
        fprintf(stderr, "sim7600: unsupported baud rate %ld\n", baud);
        return -1;
    }
    u->fd = open(dev, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (u->fd < 0) {
        fprintf(stderr, "sim7600: cannot open %s: %s\n", dev, strerror(errno));
        return -1;
    }
    if (make_raw(u->fd, speed) != 0) {
        fprintf(stderr, "sim7600: cannot configure %s at %ld baud: %s\n", dev, baud, strerror(errno));
        prog_uart_close(u);
        return -1;
    }
    return 0;
}

void prog_uart_close(struct prog_uart *u)
{
    if (u->link != NULL) {
        char target[sizeof(u->slave)];
        ssize_t n = readlink(u->link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            if (strcmp(target, u->slave) == 0) {
                unlink(u->link); /* only our own link: a newer server may have replaced it */
            }
        }
        u->link = NULL;
    }
    if (u->slave_fd >= 0) {
        close(u->slave_fd);
    }
    if (u->fd >= 0) {
        close(u->fd);
    }
    u->fd = -1;
    u->slave_fd = -1;
}
