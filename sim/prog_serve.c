/*
 * The poll loop of the sim7600 program: UART bytes in and out (optionally
 * paced like a real UART), the control socket, and the modem's own sockets
 * and timers, until SIGINT, SIGTERM or SIGHUP.
 */
#include "prog.h"
#include "vclock.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Bytes a paced line may run ahead of its schedule (keeps wake-ups few). */
#define PACE_WINDOW_NS (2 * VCLOCK_NS_PER_MS)

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* One direction of a paced UART: when the line is free again. */
struct pacer {
    int64_t byte_ns;      /**< 0 = unpaced */
    int64_t next_free_ns; /**< monotonic time the last byte finishes */
};

static size_t pacer_allowance(struct pacer *p, int64_t now)
{
    if (p->byte_ns == 0) {
        return SIZE_MAX;
    }
    if (p->next_free_ns < now) {
        p->next_free_ns = now; /* an idle line saves no credit */
    }
    int64_t horizon = now + PACE_WINDOW_NS;
    return p->next_free_ns >= horizon ? 0 : (size_t)((horizon - p->next_free_ns) / p->byte_ns);
}

/* The clock a pacer needs: an unpaced line never reads it (0). */
static int64_t pacer_now(const struct pacer *p)
{
    return p->byte_ns == 0 ? 0 : vclock_monotonic_ns();
}

static void pacer_consume(struct pacer *p, size_t bytes)
{
    p->next_free_ns += (int64_t)bytes * p->byte_ns;
}

/* Real ms until one more byte is allowed (at least 1). */
static int pacer_wait_ms(const struct pacer *p, int64_t now)
{
    int64_t ns = p->next_free_ns + p->byte_ns - (now + PACE_WINDOW_NS);
    int64_t ms = (ns + VCLOCK_NS_PER_MS - 1) / VCLOCK_NS_PER_MS;
    return ms < 1 ? 1 : (int)ms;
}

/* The state of one serving run. */
struct server {
    struct sim_modem *modem;
    struct prog_uart *uart;
    struct prog_control *ctl;
    struct pacer rx, tx;
    uint8_t out[4096];     /**< taken from the modem, not yet written */
    size_t out_len, out_off;
    int failed;            /**< exit status when the UART failed */
};

static void lower_timeout(struct sim_pollset *ps, int ms)
{
    if (ps->timeout_ms < 0 || ms < ps->timeout_ms) {
        ps->timeout_ms = ms;
    }
}

/* Take output from the modem and write it until the UART is full or nothing is left. */
static void uart_write(struct server *s)
{
    for (;;) {
        if (s->out_off == s->out_len) {
            size_t room = pacer_allowance(&s->tx, pacer_now(&s->tx));
            room = room < sizeof(s->out) ? room : sizeof(s->out);
            s->out_off = 0;
            s->out_len = room > 0 ? sim_modem_output(s->modem, s->out, room) : 0;
            pacer_consume(&s->tx, s->out_len);
            if (s->out_len == 0) {
                return;
            }
        }
        ssize_t n = write(s->uart->fd, s->out + s->out_off, s->out_len - s->out_off);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR && !s->uart->is_pty) {
                fprintf(stderr, "sim7600: write to the UART failed: %s\n", strerror(errno));
                s->failed = 1;
            }
            return;
        }
        s->out_off += (size_t)n;
    }
}

static void uart_read(struct server *s)
{
    uint8_t buf[4096];
    size_t room = pacer_allowance(&s->rx, pacer_now(&s->rx));
    room = room < sizeof(buf) ? room : sizeof(buf);
    if (room == 0) {
        return;
    }
    ssize_t n = read(s->uart->fd, buf, room);
    if (n > 0) {
        pacer_consume(&s->rx, (size_t)n);
        sim_modem_input(s->modem, buf, (size_t)n);
        return;
    }
    bool transient = n < 0 && (errno == EAGAIN || errno == EINTR || (s->uart->is_pty && errno == EIO));
    if (!transient) {
        fprintf(stderr, "sim7600: the UART was closed (%s)\n", n == 0 ? "end of file" : strerror(errno));
        s->failed = 1;
    }
}

/* Fill ps for one round; the UART comes first (index 0). */
static void prepare_round(struct server *s, struct sim_pollset *ps)
{
    int64_t now = s->rx.byte_ns != 0 || s->tx.byte_ns != 0 ? vclock_monotonic_ns() : 0;
    sim_pollset_reset(ps);
    bool may_read = pacer_allowance(&s->rx, now) > 0;
    bool must_write = s->out_off < s->out_len;
    sim_pollset_add(ps, s->uart->fd, (short)((may_read ? POLLIN : 0) | (must_write ? POLLOUT : 0)));
    if (!may_read) {
        lower_timeout(ps, pacer_wait_ms(&s->rx, now));
    }
    if (!must_write && sim_modem_output_pending(s->modem) > 0) {
        /* output waits for the pacer (or for a stall to end) */
        lower_timeout(ps, s->tx.byte_ns > 0 ? pacer_wait_ms(&s->tx, now) : 20);
    }
    prog_control_prepare(s->ctl, ps);
    sim_modem_prepare(s->modem, ps);
}

static void run_round(struct server *s, const sigset_t *wait_mask)
{
    struct sim_pollset ps;
    prepare_round(s, &ps);
    struct timespec ts;
    struct timespec *timeout = NULL;
    if (ps.timeout_ms >= 0) {
        ts.tv_sec = ps.timeout_ms / 1000;
        ts.tv_nsec = (long)(ps.timeout_ms % 1000) * 1000000L;
        timeout = &ts;
    }
    int rc = ppoll(ps.fds, (nfds_t)ps.count, timeout, wait_mask);
    if (rc < 0) {
        for (int i = 0; i < ps.count; i++) {
            ps.fds[i].revents = 0;
        }
    }
    if (ps.fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        uart_read(s);
    }
    prog_control_dispatch(s->ctl, s->modem, &ps);
    sim_modem_dispatch(s->modem, &ps);
    uart_write(s);
}

static int64_t byte_time_ns(long baud)
{
    return baud > 0 ? 10 * VCLOCK_NS_PER_S / baud : 0;
}

void prog_stop_signals_init(void)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    stop_requested = 0;
}

int prog_serve(struct sim_modem *modem, struct prog_uart *uart, struct prog_control *ctl, long pace_baud)
{
    struct server s;
    memset(&s, 0, sizeof(s));
    s.modem = modem;
    s.uart = uart;
    s.ctl = ctl;
    s.rx.byte_ns = byte_time_ns(pace_baud);
    s.tx.byte_ns = byte_time_ns(pace_baud);

    /* The stop signals stay blocked except inside ppoll(): no wake-up is lost. */
    sigset_t wait_mask;
    sigprocmask(SIG_BLOCK, NULL, &wait_mask);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGHUP);

    uart_write(&s); /* anything the modem said at power-up */
    while (!stop_requested && s.failed == 0) {
        run_round(&s, &wait_mask);
    }
    return s.failed;
}
