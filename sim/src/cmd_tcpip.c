/*
 * §2 TCP/IP: AT+NETOPEN/NETCLOSE/IPADDR, the socket commands AT+CIPOPEN,
 * CIPSEND, CIPRXGET, CIPCLOSE and their settings (CIPMODE, CIPSENDMODE,
 * CIPTIMEOUT, CIPCCFG, CIPHEAD, CIPSRIP), with real non-blocking TCP
 * connections from this host behind links 0-9.
 *
 * Received data waits in a per-link buffer. In push mode (AT+CIPRXGET=0) it
 * leaves as a URC block: `RECV FROM:<ip>:<port>` (AT+CIPSRIP=1), then
 * `+RECEIVE,<link>,<len>` (AT+CIPCCFG HeaderType 1) or `+IPD<len>`
 * (AT+CIPHEAD=1), then the raw bytes, each header line CRLF-terminated and the
 * data without a trailing CRLF (the real layout is unconfirmed, reference §2).
 * In manual mode (AT+CIPRXGET=1) the URC `+CIPRXGET: 1,<link>` says that an
 * empty buffer got data, and AT+CIPRXGET=2/3/4 read it. A full buffer stops
 * reading from the socket, so TCP flow control holds the peer back.
 *
 * With AT+CIPSENDMODE=1 the +CIPSEND answer waits until the peer has
 * acknowledged every byte (the socket's SIOCOUTQ drops to 0).
 *
 * Result codes where the reference gives only the <err> table: a refused or
 * unreachable peer is +CIPOPEN: <link>,1, a lookup failure 11, the
 * AT+CIPTIMEOUT connect timeout 10, a link already in use 4; AT+CIPSEND on a
 * link that is not connected answers +CIPERROR: 4 (2 with the network
 * closed, 3 for bad arguments, 8 while a CIPSENDMODE=1 send waits).
 * Losing the network (or AT+CRESET) with the PDP context open emits
 * +CIPEVENT: NETWORK CLOSED UNEXPECTEDLY, then +IPCLOSE: <link>,1 for each
 * connected link (not on a reset), and closes the context. The control verb
 * `drop tcp [LINK]` makes the server side close connections (+IPCLOSE: <link>,1).
 *
 * Not implemented (answered with an error, see the handlers): UDP links,
 * transparent mode (AT+CIPMODE=1 is stored, AT+CIPOPEN then answers ERROR)
 * and TCP servers.
 */
#include "sim_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCPIP_LINKS 10
#define TCPIP_SEND_MAX 1500     /* AT+CIPSEND <length> 1-1500 */
#define TCPIP_READ_MAX 1500     /* AT+CIPRXGET=2 */
#define TCPIP_READ_HEX_MAX 750  /* AT+CIPRXGET=3 */
#define TCPIP_PUSH_CHUNK 1500   /* largest push-mode block */
#define TCPIP_RX_CAP 65536      /* the module's receive buffer per link */
#define TCPIP_TX_CAP 65536      /* bytes accepted for a link and not yet written */
#define TCPIP_PUSH_BACKLOG 16384 /* push mode waits while this much output is queued */
#define TCPIP_HOST_MAX 255
#define TCPIP_RESOLVE_POLL_MS 5
#define TCPIP_PDP_ADDRESS "10.84.17.161"

/* <err> of NETOPEN/NETCLOSE/CIPOPEN/CIPCLOSE and +CIPERROR (reference §2). */
enum tcpip_err {
    ERR_OK = 0,
    ERR_NETWORK = 1,
    ERR_NOT_OPENED = 2,
    ERR_PARAMETER = 3,
    ERR_NOT_SUPPORTED = 4,
    ERR_SOCKET = 5,
    ERR_BIND = 6,
    ERR_BUSY = 8,
    ERR_TIMEOUT = 10,
    ERR_DNS = 11,
};

/* <err_info> of `+IP ERROR:` (A76 15.3.1); AT+CIPCCFG errMode picks number or text. */
enum tcpip_info {
    INFO_ALREADY_OPENED = 4,
    INFO_NOT_OPENED = 8,
    INFO_INVALID_PARAMETER = 12,
    INFO_NO_DATA = 22,
};

/* +IPCLOSE <reason> */
enum tcpip_close_reason {
    CLOSE_REMOTE = 1,
};

/* AT+CIPCCFG fields, in command order. */
enum ccfg_field { CCFG_RETRY, CCFG_DELAY, CCFG_ACK, CCFG_ERRMODE, CCFG_HEADER, CCFG_ASYNC, CCFG_TIMEOUT, CCFG_COUNT };

static const long ccfg_defaults[CCFG_COUNT] = { 10, 0, 0, 1, 0, 0, 500 };
static const long ccfg_min[CCFG_COUNT] = { 0, 0, 0, 0, 0, 0, 500 };
static const long ccfg_max[CCFG_COUNT] = { 10, 1000, 0, 1, 1, 1, 120000 };

enum link_state {
    LINK_FREE,       /* no connection (received data may still wait to be read) */
    LINK_RESOLVING,  /* host name lookup running */
    LINK_CONNECTING, /* non-blocking connect in progress */
    LINK_OPEN,       /* connected */
};

/** One of the ten socket links. */
struct tcpip_link {
    enum link_state state;
    int fd;
    bool eof;          /* the peer closed: +IPCLOSE once its data is out (push) or at once (manual) */
    bool notified;     /* manual mode: +CIPRXGET: 1 sent since the buffer was last empty */
    bool open_pending; /* the AT+CIPOPEN command waits for the result (info-first order) */
    bool gai_active;   /* gai is a running getaddrinfo_a() request */
    bool ack_wait;     /* AT+CIPSENDMODE=1: +CIPSEND waits for the peer's ACK of ack_req bytes */
    bool ack_cmd_pending; /* ... and so does the command's OK (info-first order) */
    size_t ack_req;
    int64_t ack_deadline_ms;
    struct gaicb gai;
    struct addrinfo gai_hints;
    struct addrinfo *addrs; /* resolved addresses (owned) */
    struct addrinfo *next;  /* next address to try */
    int64_t deadline_ms;    /* connect timeout (AT+CIPTIMEOUT) */
    int port;
    int local_port;
    char host[TCPIP_HOST_MAX + 1];
    char service[8];
    char peer_ip[INET6_ADDRSTRLEN];
    struct sim_buf rx;
    struct sim_buf tx;
};

/** TCP/IP state of one modem (m->tcpip). */
struct sim_tcpip {
    bool net_open;
    int rxget_mode; /* 0 push, 1 manual */
    int cipmode;
    int sendmode;
    int head;
    int srip;
    long timeout_netopen, timeout_cipopen, timeout_cipsend;
    long ccfg[CCFG_COUNT];
    struct tcpip_link links[TCPIP_LINKS];
    uint64_t tx_bytes, rx_bytes, connects, connect_failures, remote_closes, drops;
};

/* ------------------------------------------------------------- settings */

static void settings_defaults(struct sim_tcpip *t)
{
    t->rxget_mode = 0;
    t->cipmode = 0;
    t->sendmode = 0;
    t->head = 1;
    t->srip = 1;
    t->timeout_netopen = 120000;
    t->timeout_cipopen = 120000;
    t->timeout_cipsend = 120000;
    memcpy(t->ccfg, ccfg_defaults, sizeof(t->ccfg));
}

static int tcpip_init(struct sim_modem *m)
{
    m->tcpip = calloc(1, sizeof(*m->tcpip));
    if (m->tcpip == NULL) {
        return -1;
    }
    for (int i = 0; i < TCPIP_LINKS; i++) {
        m->tcpip->links[i].fd = -1;
    }
    settings_defaults(m->tcpip);
    return 0;
}

/* ------------------------------------------------------------- links */

/* Stop a running name lookup and release its result. */
static void resolve_cancel(struct tcpip_link *l)
{
    if (!l->gai_active) {
        return;
    }
    if (gai_cancel(&l->gai) == EAI_NOTCANCELED) {
        const struct gaicb *list[1] = { &l->gai };
        while (gai_error(&l->gai) == EAI_INPROGRESS) {
            gai_suspend(list, 1, NULL);
        }
    }
    if (gai_error(&l->gai) == 0 && l->gai.ar_result != NULL) {
        freeaddrinfo(l->gai.ar_result);
    }
    l->gai.ar_result = NULL;
    l->gai_active = false;
}

/* Close the link's connection and forget everything, received data included. */
static void link_reset(struct tcpip_link *l)
{
    resolve_cancel(l);
    if (l->fd >= 0) {
        close(l->fd);
    }
    if (l->addrs != NULL) {
        freeaddrinfo(l->addrs);
    }
    sim_buf_free(&l->rx);
    sim_buf_free(&l->tx);
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->state = LINK_FREE;
}

/* Close the connection but keep unread received data (a peer close in manual mode). */
static void link_close_keep_data(struct tcpip_link *l)
{
    struct sim_buf rx = l->rx;
    bool notified = l->notified;
    memset(&l->rx, 0, sizeof(l->rx));
    link_reset(l);
    l->rx = rx;
    l->notified = notified;
}

static void tcpip_fini(struct sim_modem *m)
{
    if (m->tcpip == NULL) {
        return;
    }
    for (int i = 0; i < TCPIP_LINKS; i++) {
        link_reset(&m->tcpip->links[i]);
    }
    free(m->tcpip);
    m->tcpip = NULL;
}

/* Report the result of an AT+CIPOPEN whose answer was not given yet. */
static void open_result(struct sim_modem *m, int link, int err)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    if (err != ERR_OK) {
        m->tcpip->connect_failures++;
    }
    if (l->open_pending) {
        l->open_pending = false;
        sim_two_phase(m, "+CIPOPEN: %d,%d", link, err);
        sim_at_finish(m, SIM_AT_OK);
    } else {
        sim_urc(m, "+CIPOPEN: %d,%d", link, err);
    }
}

/* Give up on a connect: free the link and report err. */
static void link_fail(struct sim_modem *m, int link, int err)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    bool pending = l->open_pending;
    link_reset(l);
    l->open_pending = pending;
    open_result(m, link, err);
}

/* Report the +CIPSEND of an AT+CIPSENDMODE=1 send (cnf -1: the link closed first). */
static void send_report(struct sim_modem *m, int link, long cnf)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    if (!l->ack_wait) {
        return;
    }
    l->ack_wait = false;
    if (l->ack_cmd_pending) {
        l->ack_cmd_pending = false;
        sim_two_phase(m, "+CIPSEND: %d,%zu,%ld", link, l->ack_req, cnf);
        sim_at_finish(m, SIM_AT_OK);
    } else {
        sim_urc(m, "+CIPSEND: %d,%zu,%ld", link, l->ack_req, cnf);
    }
}

/* Report the waiting send once the peer acknowledged everything (0 confirmed on timeout). */
static void ack_check(struct sim_modem *m, int link)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    int unacked = 0;
    if (!l->ack_wait || ioctl(l->fd, SIOCOUTQ, &unacked) != 0) {
        return;
    }
    if (unacked == 0 && sim_buf_used(&l->tx) == 0) {
        send_report(m, link, (long)l->ack_req);
    } else if (sim_now_ms(m) >= l->ack_deadline_ms) {
        send_report(m, link, 0);
    }
}

/* Try the next resolved address; returns -1 while a connect runs, else an <err>. */
static int connect_next(struct tcpip_link *l)
{
    while (l->next != NULL) {
        struct addrinfo *ai = l->next;
        l->next = ai->ai_next;
        if (l->fd >= 0) {
            close(l->fd);
        }
        l->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (l->fd < 0) {
            return ERR_SOCKET;
        }
        if (l->local_port > 0) {
            int one = 1;
            setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            struct sockaddr_storage local = { 0 };
            socklen_t len = (socklen_t)ai->ai_addrlen;
            local.ss_family = (sa_family_t)ai->ai_family;
            if (ai->ai_family == AF_INET) {
                ((struct sockaddr_in *)&local)->sin_port = htons((uint16_t)l->local_port);
            } else {
                ((struct sockaddr_in6 *)&local)->sin6_port = htons((uint16_t)l->local_port);
            }
            if (bind(l->fd, (struct sockaddr *)&local, len) != 0) {
                return ERR_BIND;
            }
        }
        if (ai->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, l->peer_ip, sizeof(l->peer_ip));
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, l->peer_ip, sizeof(l->peer_ip));
        }
        if (connect(l->fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            l->state = LINK_CONNECTING;
            return -1; /* completion is seen in dispatch, after the command's OK */
        }
    }
    return ERR_NETWORK;
}

/* Start connecting to the link's host/port; returns -1 while running, else an <err>. */
static int link_start(struct sim_modem *m, struct tcpip_link *l)
{
    const char *target = sim_resolve_alias(m, l->host);
    l->deadline_ms = sim_now_ms(m) + m->tcpip->timeout_cipopen;
    memset(&l->gai_hints, 0, sizeof(l->gai_hints));
    l->gai_hints.ai_family = AF_INET; /* the PDP context is IPv4 ("IP") */
    l->gai_hints.ai_socktype = SOCK_STREAM;
    l->gai_hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(target, l->service, &l->gai_hints, &l->addrs) == 0) {
        l->next = l->addrs;
        return connect_next(l);
    }
    /* A name: resolve it without blocking the loop. */
    if (target != l->host) {
        snprintf(l->host, sizeof(l->host), "%s", target);
    }
    l->gai_hints.ai_flags = AI_NUMERICSERV;
    memset(&l->gai, 0, sizeof(l->gai));
    l->gai.ar_name = l->host;
    l->gai.ar_service = l->service;
    l->gai.ar_request = &l->gai_hints;
    struct gaicb *list[1] = { &l->gai };
    if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
        return ERR_DNS;
    }
    l->gai_active = true;
    l->state = LINK_RESOLVING;
    return -1;
}

/* A finished lookup: connect, or report the DNS failure. */
static void resolve_done(struct sim_modem *m, int link)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    int rc = gai_error(&l->gai);
    if (rc == EAI_INPROGRESS) {
        return;
    }
    l->gai_active = false;
    int err = ERR_DNS;
    if (rc == 0 && l->gai.ar_result != NULL) {
        l->addrs = l->gai.ar_result;
        l->gai.ar_result = NULL;
        l->next = l->addrs;
        err = connect_next(l);
    }
    if (err >= 0) {
        link_fail(m, link, err);
    }
}

/* The connect of a link finished (or the poll said so spuriously). */
static void connect_done(struct sim_modem *m, int link)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    int so_error = 0;
    socklen_t len = sizeof(so_error);
    if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0) {
        so_error = errno;
    }
    if (so_error == 0) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof(peer);
        if (getpeername(l->fd, (struct sockaddr *)&peer, &peer_len) != 0) {
            return; /* still connecting */
        }
        int one = 1;
        setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        l->state = LINK_OPEN;
        l->notified = false;
        m->tcpip->connects++;
        open_result(m, link, ERR_OK);
        return;
    }
    int err = connect_next(l);
    if (err >= 0) {
        link_fail(m, link, err);
    }
}

static bool link_in_use(const struct tcpip_link *l)
{
    return l->state != LINK_FREE;
}

/* Emit +IPCLOSE and close a link the peer (or the network) closed. */
static void link_closed_by_peer(struct sim_modem *m, int link)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    m->tcpip->remote_closes++;
    send_report(m, link, -1);
    sim_urc(m, "+IPCLOSE: %d,%d", link, CLOSE_REMOTE);
    if (m->tcpip->rxget_mode == 1) {
        link_close_keep_data(l);
    } else {
        link_reset(l);
    }
}

/* ------------------------------------------------------------- data path */

static size_t output_backlog(const struct sim_modem *m)
{
    return sim_buf_used(&m->urc_queue) + sim_buf_used(&m->tx);
}

/* Push mode: send buffered data to the host as URC blocks while the UART keeps up. */
static void push_received(struct sim_modem *m, int link)
{
    struct sim_tcpip *t = m->tcpip;
    struct tcpip_link *l = &t->links[link];
    while (sim_buf_used(&l->rx) > 0 && output_backlog(m) < TCPIP_PUSH_BACKLOG) {
        uint8_t chunk[TCPIP_PUSH_CHUNK];
        size_t n = sim_buf_take(&l->rx, chunk, sizeof(chunk));
        char header[128] = "";
        size_t used = 0;
        if (t->srip) {
            used += (size_t)snprintf(header + used, sizeof(header) - used, "RECV FROM:%s:%d\r\n", l->peer_ip,
                                     l->port);
        }
        if (t->ccfg[CCFG_HEADER] == 1) {
            used += (size_t)snprintf(header + used, sizeof(header) - used, "+RECEIVE,%d,%zu\r\n", link, n);
        } else if (t->head) {
            used += (size_t)snprintf(header + used, sizeof(header) - used, "+IPD%zu\r\n", n);
        }
        sim_urc_begin(m);
        if (used > 0) {
            sim_urc_raw(m, "\r\n", 2);
            sim_urc_raw(m, header, used);
        }
        sim_urc_raw(m, chunk, n);
        sim_urc_end(m);
    }
}

/* Read what the socket has, up to the buffer's room; notes EOF and resets. */
static void link_read(struct sim_modem *m, int link)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    bool was_empty = sim_buf_used(&l->rx) == 0;
    while (!l->eof && sim_buf_used(&l->rx) < TCPIP_RX_CAP) {
        uint8_t data[4096];
        size_t room = TCPIP_RX_CAP - sim_buf_used(&l->rx);
        ssize_t n = recv(l->fd, data, room < sizeof(data) ? room : sizeof(data), 0);
        if (n > 0) {
            sim_buf_put(&l->rx, data, (size_t)n);
            m->tcpip->rx_bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            break;
        }
        l->eof = true; /* orderly close or reset by the peer */
    }
    if (m->tcpip->rxget_mode == 1 && was_empty && sim_buf_used(&l->rx) > 0 && !l->notified) {
        l->notified = true;
        sim_urc(m, "+CIPRXGET: 1,%d", link);
    }
}

/* Write queued bytes; a write error means the peer is gone. */
static void link_write(struct tcpip_link *l)
{
    while (sim_buf_used(&l->tx) > 0) {
        ssize_t n = send(l->fd, l->tx.data + l->tx.head, sim_buf_used(&l->tx), MSG_NOSIGNAL);
        if (n > 0) {
            l->tx.head += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            return;
        }
        sim_buf_clear(&l->tx);
        l->eof = true;
        return;
    }
    sim_buf_clear(&l->tx);
}

/* Serve one open link: read, write, push, and close it when the peer has gone. */
static void link_service(struct sim_modem *m, int link, short revents)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    if (revents & (POLLIN | POLLHUP | POLLERR)) {
        link_read(m, link);
    }
    if (sim_buf_used(&l->tx) > 0 && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        link_write(l);
    }
    if (m->tcpip->rxget_mode == 0) {
        push_received(m, link);
    }
    if (l->eof && (m->tcpip->rxget_mode == 1 || sim_buf_used(&l->rx) == 0)) {
        link_closed_by_peer(m, link);
        return;
    }
    ack_check(m, link);
}

static short find_revents(const struct sim_pollset *ps, int fd)
{
    for (int i = 0; fd >= 0 && i < ps->count; i++) {
        if (ps->fds[i].fd == fd) {
            return ps->fds[i].revents;
        }
    }
    return 0;
}

static void tcpip_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    struct sim_tcpip *t = m->tcpip;
    int64_t now = sim_now_ms(m);
    for (int i = 0; i < TCPIP_LINKS; i++) {
        struct tcpip_link *l = &t->links[i];
        switch (l->state) {
        case LINK_RESOLVING:
            sim_pollset_deadline(m, ps, now + TCPIP_RESOLVE_POLL_MS);
            sim_pollset_deadline(m, ps, l->deadline_ms);
            break;
        case LINK_CONNECTING:
            sim_pollset_add(ps, l->fd, POLLOUT);
            sim_pollset_deadline(m, ps, l->deadline_ms);
            break;
        case LINK_OPEN: {
            short events = 0;
            if (!l->eof && sim_buf_used(&l->rx) < TCPIP_RX_CAP) {
                events |= POLLIN;
            }
            if (sim_buf_used(&l->tx) > 0) {
                events |= POLLOUT;
            }
            if (events != 0) {
                sim_pollset_add(ps, l->fd, events);
            }
            if (l->eof || (t->rxget_mode == 0 && sim_buf_used(&l->rx) > 0)) {
                sim_pollset_deadline(m, ps, now + 10); /* output to push or a close to report */
            }
            if (l->ack_wait) {
                sim_pollset_deadline(m, ps, now + TCPIP_RESOLVE_POLL_MS); /* ACKs wake nobody: look again */
                sim_pollset_deadline(m, ps, l->ack_deadline_ms);
            }
            break;
        }
        default:
            break;
        }
    }
}

static void tcpip_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    struct sim_tcpip *t = m->tcpip;
    int64_t now = sim_now_ms(m);
    for (int i = 0; i < TCPIP_LINKS; i++) {
        struct tcpip_link *l = &t->links[i];
        if (l->state == LINK_RESOLVING) {
            resolve_done(m, i);
        } else if (l->state == LINK_CONNECTING && (find_revents(ps, l->fd) & (POLLOUT | POLLERR | POLLHUP))) {
            connect_done(m, i);
        } else if (l->state == LINK_OPEN) {
            link_service(m, i, find_revents(ps, l->fd));
        }
        if ((l->state == LINK_RESOLVING || l->state == LINK_CONNECTING) && now >= l->deadline_ms) {
            link_fail(m, i, ERR_TIMEOUT);
        }
    }
}

/* ------------------------------------------------------------- teardown */

/* The data network went away: the PDP context is gone and every socket with it. */
static void tcpip_teardown(struct sim_modem *m, enum sim_teardown why)
{
    struct sim_tcpip *t = m->tcpip;
    if (t->net_open) {
        sim_urc(m, "+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY");
    }
    for (int i = 0; i < TCPIP_LINKS; i++) {
        struct tcpip_link *l = &t->links[i];
        if (why == SIM_DOWN_RESET) {
            l->open_pending = false; /* the framework drops the command line */
            link_reset(l);
            continue;
        }
        if (l->state == LINK_RESOLVING || l->state == LINK_CONNECTING) {
            link_fail(m, i, ERR_NETWORK);
        } else if (l->state == LINK_OPEN) {
            t->remote_closes++;
            send_report(m, i, -1);
            sim_urc(m, "+IPCLOSE: %d,%d", i, CLOSE_REMOTE);
            link_reset(l);
        } else {
            link_reset(l);
        }
    }
    t->net_open = false;
    if (why == SIM_DOWN_RESET) {
        settings_defaults(t);
    }
}

/* ------------------------------------------------------------- answers */

static const char *info_text(int code)
{
    switch (code) {
    case INFO_ALREADY_OPENED: return "Network is already opened";
    case INFO_NOT_OPENED: return "Network not opened";
    case INFO_INVALID_PARAMETER: return "Invalid parameter";
    case INFO_NO_DATA: return "No data";
    default: return "Operation failed";
    }
}

/* `+IP ERROR: <err_info>` (text or number per AT+CIPCCFG errMode), then ERROR. */
static enum sim_at_status ip_error(struct sim_modem *m, int code)
{
    if (m->tcpip->ccfg[CCFG_ERRMODE] == 1) {
        sim_info(m, "+IP ERROR: %s", info_text(code));
    } else {
        sim_info(m, "+IP ERROR: %d", code);
    }
    return SIM_AT_ERROR;
}

/* `+<name>: <link>,<err>` then ERROR. */
static enum sim_at_status link_error(struct sim_modem *m, const char *name, int link, int err)
{
    sim_info(m, "+%s: %d,%d", name, link, err);
    return SIM_AT_ERROR;
}

/* `+CIPERROR: <err>` then ERROR. */
static enum sim_at_status cip_error(struct sim_modem *m, int err)
{
    sim_info(m, "+CIPERROR: %d", err);
    return SIM_AT_ERROR;
}

static bool arg_link(const struct sim_at_cmd *cmd, int i, int *link)
{
    long v;
    if (!sim_arg_int(cmd, i, 0, TCPIP_LINKS - 1, &v)) {
        return false;
    }
    *link = (int)v;
    return true;
}

/* ------------------------------------------------------------- network */

/* AT+NETOPEN: activate the PDP context (two-phase +NETOPEN: <err>). */
static enum sim_at_status cmd_netopen(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+NETOPEN: %d", t->net_open ? 1 : 0);
        return SIM_AT_OK;
    }
    if (t->net_open) {
        return ip_error(m, INFO_ALREADY_OPENED);
    }
    if (!sim_network_ready(m)) {
        return sim_two_phase(m, "+NETOPEN: %d", ERR_NETWORK);
    }
    t->net_open = true;
    return sim_two_phase(m, "+NETOPEN: %d", ERR_OK);
}

/* AT+NETCLOSE: close every link, then the PDP context. */
static enum sim_at_status cmd_netclose(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    struct sim_tcpip *t = m->tcpip;
    if (!t->net_open) {
        sim_info(m, "+NETCLOSE: %d", ERR_NOT_OPENED);
        return SIM_AT_ERROR;
    }
    for (int i = 0; i < TCPIP_LINKS; i++) {
        bool was_in_use = link_in_use(&t->links[i]);
        send_report(m, i, -1);
        link_reset(&t->links[i]);
        if (was_in_use) {
            sim_two_phase(m, "+CIPCLOSE: %d,%d", i, ERR_OK);
        }
    }
    t->net_open = false;
    return sim_two_phase(m, "+NETCLOSE: %d", ERR_OK);
}

/* AT+IPADDR: the PDP address. */
static enum sim_at_status cmd_ipaddr(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    (void)cmd;
    if (!m->tcpip->net_open) {
        return ip_error(m, INFO_NOT_OPENED);
    }
    sim_info(m, "+IPADDR: %s", TCPIP_PDP_ADDRESS);
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- CIPOPEN */

static void cipopen_list(struct sim_modem *m)
{
    for (int i = 0; i < TCPIP_LINKS; i++) {
        const struct tcpip_link *l = &m->tcpip->links[i];
        if (l->state == LINK_OPEN) {
            sim_info(m, "+CIPOPEN: %d,\"TCP\",\"%s\",%d,-1", i, l->peer_ip, l->port);
        } else {
            sim_info(m, "+CIPOPEN: %d", i);
        }
    }
}

/* Check the arguments after the link; returns an <err> (ERR_OK when usable). */
static int cipopen_args(const struct sim_at_cmd *cmd, const char **host, long *port, long *local_port)
{
    const char *type;
    if (cmd->argc < 2 || !sim_arg_str(cmd, 1, 3, 3, false, &type)) {
        return ERR_PARAMETER;
    }
    if (strcasecmp(type, "UDP") == 0) {
        return ERR_NOT_SUPPORTED; /* UDP links are not implemented */
    }
    if (strcasecmp(type, "TCP") != 0 || cmd->argc < 4 || cmd->argc > 5) {
        return ERR_PARAMETER;
    }
    if (!sim_arg_str(cmd, 2, 1, TCPIP_HOST_MAX, false, host) || !sim_arg_int(cmd, 3, 1, 65535, port) ||
        !sim_arg_int_opt(cmd, 4, 0, 65535, 0, local_port)) {
        return ERR_PARAMETER;
    }
    return ERR_OK;
}

/* AT+CIPOPEN=<link>,"TCP",<host>,<port>[,<localPort>]: connect; +CIPOPEN: <link>,<err> follows. */
static enum sim_at_status cmd_cipopen(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CIPOPEN: (0-9),(\"TCP\",\"UDP\")");
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        cipopen_list(m);
        return SIM_AT_OK;
    }
    int link;
    if (!arg_link(cmd, 0, &link) || (t->cipmode == 1 && link != 0)) {
        return ip_error(m, INFO_INVALID_PARAMETER);
    }
    const char *host = NULL;
    long port = 0;
    long local_port = 0;
    int err = cipopen_args(cmd, &host, &port, &local_port);
    if (err != ERR_OK) {
        return link_error(m, "CIPOPEN", link, err);
    }
    if (t->cipmode == 1) {
        return SIM_AT_ERROR; /* transparent mode is not implemented */
    }
    if (!t->net_open) {
        return link_error(m, "CIPOPEN", link, ERR_NOT_OPENED);
    }
    struct tcpip_link *l = &t->links[link];
    if (link_in_use(l)) {
        return link_error(m, "CIPOPEN", link, ERR_NOT_SUPPORTED);
    }
    if (!sim_network_ready(m)) {
        return link_error(m, "CIPOPEN", link, ERR_NETWORK);
    }
    link_reset(l); /* drops data a closed connection left unread */
    snprintf(l->host, sizeof(l->host), "%s", host);
    snprintf(l->service, sizeof(l->service), "%ld", port);
    l->port = (int)port;
    l->local_port = (int)local_port;
    err = link_start(m, l);
    if (err >= 0) {
        link_reset(l);
        t->connect_failures++;
        return sim_two_phase(m, "+CIPOPEN: %d,%d", link, err);
    }
    if (m->cfg.order == SIM_ORDER_INFO_FIRST) {
        l->open_pending = true;
        return SIM_AT_PENDING;
    }
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- CIPSEND */

/* Queue data on an open link; returns the confirmed length (-1 disconnected, 0 buffer full). */
static long link_send(struct sim_modem *m, int link, const uint8_t *data, size_t len)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    if (l->state != LINK_OPEN || l->eof) {
        return -1;
    }
    if (sim_buf_used(&l->tx) + len > TCPIP_TX_CAP) {
        return 0;
    }
    sim_buf_put(&l->tx, data, len);
    link_write(l);
    if (l->eof) {
        return -1;
    }
    m->tcpip->tx_bytes += len;
    return (long)len;
}

/* The data after CIPSEND's prompt (ctx carries the link). */
static enum sim_at_status cipsend_data(struct sim_modem *m, void *ctx, const uint8_t *data, size_t len)
{
    int link = (int)(intptr_t)ctx;
    if (m->prompt_got > TCPIP_SEND_MAX) {
        return cip_error(m, ERR_PARAMETER); /* Ctrl-Z form longer than 1500 bytes */
    }
    long cnf = link_send(m, link, data, len);
    struct tcpip_link *l = &m->tcpip->links[link];
    if (m->tcpip->sendmode == 1 && cnf > 0) {
        l->ack_wait = true;
        l->ack_req = len;
        l->ack_deadline_ms = sim_now_ms(m) + m->tcpip->timeout_cipsend;
        if (m->cfg.order == SIM_ORDER_INFO_FIRST) {
            l->ack_cmd_pending = true;
            return SIM_AT_PENDING;
        }
        return SIM_AT_OK; /* +CIPSEND follows once the peer acknowledged */
    }
    return sim_two_phase(m, "+CIPSEND: %d,%zu,%ld", link, len, cnf);
}

/* AT+CIPSEND=<link>,<len> (fixed) or AT+CIPSEND=<link> (Ctrl-Z/ESC form). */
static enum sim_at_status cmd_cipsend(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CIPSEND: (0-9),(1-%d)", TCPIP_SEND_MAX);
        return SIM_AT_OK;
    }
    int link;
    long len = 0;
    bool fixed = cmd->argc >= 2 && !cmd->argv[1].empty;
    if (cmd->argc > 2 || !arg_link(cmd, 0, &link) || (fixed && !sim_arg_int(cmd, 1, 1, TCPIP_SEND_MAX, &len))) {
        return cip_error(m, ERR_PARAMETER);
    }
    if (!t->net_open) {
        return cip_error(m, ERR_NOT_OPENED);
    }
    const struct tcpip_link *l = &t->links[link];
    if (l->state != LINK_OPEN || l->eof) {
        return cip_error(m, ERR_NOT_SUPPORTED);
    }
    if (l->ack_wait) {
        return cip_error(m, ERR_BUSY); /* the previous send still waits for its ACK */
    }
    void *ctx = (void *)(intptr_t)link;
    if (fixed) {
        return sim_prompt(m, (size_t)len, cipsend_data, ctx);
    }
    return sim_prompt_ctrlz(m, TCPIP_SEND_MAX, cipsend_data, ctx);
}

/* ------------------------------------------------------------- CIPRXGET */

/* Answer +CIPRXGET: <mode>,<link>,<read>,<rest> and the bytes (raw or hex). */
static enum sim_at_status rxget_read(struct sim_modem *m, int mode, int link, long want)
{
    struct tcpip_link *l = &m->tcpip->links[link];
    if (sim_buf_used(&l->rx) == 0) {
        return ip_error(m, INFO_NO_DATA);
    }
    uint8_t data[TCPIP_READ_MAX];
    size_t n = sim_buf_take(&l->rx, data, (size_t)want);
    size_t rest = sim_buf_used(&l->rx);
    if (rest == 0) {
        l->notified = false;
    }
    sim_info(m, "+CIPRXGET: %d,%d,%zu,%zu", mode, link, n, rest);
    if (mode == 2) {
        sim_info_raw(m, data, n);
    } else {
        static const char digits[] = "0123456789ABCDEF";
        char hex[2 * TCPIP_READ_HEX_MAX];
        for (size_t i = 0; i < n; i++) {
            hex[2 * i] = digits[data[i] >> 4];
            hex[2 * i + 1] = digits[data[i] & 0x0F];
        }
        sim_info_raw(m, hex, 2 * n);
    }
    sim_info_raw(m, "\r\n", 2);
    return SIM_AT_OK;
}

/* AT+CIPRXGET: push/manual mode, reads (2 raw, 3 hex) and the waiting length (4). */
static enum sim_at_status cmd_ciprxget(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CIPRXGET: (0-4),(0-9),(1-%d)", TCPIP_READ_MAX);
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CIPRXGET: %d", t->rxget_mode);
        return SIM_AT_OK;
    }
    long mode;
    if (!sim_arg_int(cmd, 0, 0, 4, &mode)) {
        return ip_error(m, INFO_INVALID_PARAMETER);
    }
    if (mode <= 1) {
        if (cmd->argc != 1) {
            return ip_error(m, INFO_INVALID_PARAMETER);
        }
        t->rxget_mode = (int)mode;
        return SIM_AT_OK;
    }
    int link;
    long max = mode == 3 ? TCPIP_READ_HEX_MAX : TCPIP_READ_MAX;
    long want = max;
    if (!arg_link(cmd, 1, &link) || (mode == 4 && cmd->argc != 2) || cmd->argc > 3 ||
        !sim_arg_int_opt(cmd, 2, 1, max, max, &want)) {
        return ip_error(m, INFO_INVALID_PARAMETER);
    }
    if (mode == 4) {
        sim_info(m, "+CIPRXGET: 4,%d,%zu", link, sim_buf_used(&t->links[link].rx));
        return SIM_AT_OK;
    }
    return rxget_read(m, (int)mode, link, want);
}

/* ------------------------------------------------------------- CIPCLOSE */

/* AT+CIPCLOSE=<link>: close a link (two-phase +CIPCLOSE: <link>,<err>); read: states of all links. */
static enum sim_at_status cmd_cipclose(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+CIPCLOSE: (0-9)");
        return SIM_AT_OK;
    }
    if (cmd->kind == SIM_AT_READ) {
        int s[TCPIP_LINKS];
        for (int i = 0; i < TCPIP_LINKS; i++) {
            s[i] = t->links[i].state == LINK_OPEN ? 1 : 0;
        }
        sim_info(m, "+CIPCLOSE: %d,%d,%d,%d,%d,%d,%d,%d,%d,%d", s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8],
                 s[9]);
        return SIM_AT_OK;
    }
    int link;
    if (cmd->argc != 1 || !arg_link(cmd, 0, &link)) {
        return SIM_AT_ERROR;
    }
    struct tcpip_link *l = &t->links[link];
    bool in_use = link_in_use(l);
    send_report(m, link, -1);
    link_reset(l);
    if (!in_use) {
        return link_error(m, "CIPCLOSE", link, ERR_NOT_SUPPORTED);
    }
    return sim_two_phase(m, "+CIPCLOSE: %d,%d", link, ERR_OK);
}

/* ------------------------------------------------------------- settings commands */

/* A 0/1 setting with read, test and set forms; exec restores exec_default. */
static enum sim_at_status flag_setting(struct sim_modem *m, const struct sim_at_cmd *cmd, const char *name, int *value,
                                       int exec_default)
{
    long v;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "%s: %d", name, *value);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "%s: (0-1)", name);
        return SIM_AT_OK;
    case SIM_AT_SET:
        if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 1, &v)) {
            return SIM_AT_ERROR;
        }
        *value = (int)v;
        return SIM_AT_OK;
    default:
        *value = exec_default;
        return SIM_AT_OK;
    }
}

/* AT+CIPMODE: 0 command mode, 1 transparent (stored; takes effect only before NETOPEN). */
static enum sim_at_status cmd_cipmode(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    int value = m->tcpip->cipmode;
    enum sim_at_status status = flag_setting(m, cmd, "+CIPMODE", &value, 0);
    if (status == SIM_AT_OK && value != m->tcpip->cipmode && m->tcpip->net_open) {
        return SIM_AT_ERROR; /* must be chosen before AT+NETOPEN */
    }
    m->tcpip->cipmode = value;
    return status;
}

/* AT+CIPSENDMODE: 0 answer when the stack takes the data, 1 after the peer's ACK. */
static enum sim_at_status cmd_cipsendmode(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return flag_setting(m, cmd, "+CIPSENDMODE", &m->tcpip->sendmode, 0);
}

/* AT+CIPHEAD: `+IPD<len>` header on pushed data. */
static enum sim_at_status cmd_ciphead(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return flag_setting(m, cmd, "+CIPHEAD", &m->tcpip->head, 1);
}

/* AT+CIPSRIP: `RECV FROM:<ip>:<port>` line on pushed data. */
static enum sim_at_status cmd_cipsrip(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    return flag_setting(m, cmd, "+CIPSRIP", &m->tcpip->srip, 1);
}

/* AT+CIPTIMEOUT=[<netopen>][,[<cipopen>][,[<cipsend>]]] in ms, 3000-120000 each. */
static enum sim_at_status cmd_ciptimeout(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+CIPTIMEOUT: %ld,%ld,%ld", t->timeout_netopen, t->timeout_cipopen, t->timeout_cipsend);
        return SIM_AT_OK;
    }
    long v[3];
    if (cmd->argc > 3 || !sim_arg_int_opt(cmd, 0, 3000, 120000, t->timeout_netopen, &v[0]) ||
        !sim_arg_int_opt(cmd, 1, 3000, 120000, t->timeout_cipopen, &v[1]) ||
        !sim_arg_int_opt(cmd, 2, 3000, 120000, t->timeout_cipsend, &v[2])) {
        return SIM_AT_ERROR;
    }
    t->timeout_netopen = v[0];
    t->timeout_cipopen = v[1];
    t->timeout_cipsend = v[2];
    return SIM_AT_OK;
}

/* AT+CIPCCFG=[<NmRetry>][,[<DelayTm>][,[<Ack>][,[<errMode>][,[<HeaderType>][,[<AsyncMode>][,[<TimeoutVal>]]]]]]]. */
static enum sim_at_status cmd_cipccfg(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_tcpip *t = m->tcpip;
    const long *c = t->ccfg;
    switch (cmd->kind) {
    case SIM_AT_READ:
        sim_info(m, "+CIPCCFG: %ld,%ld,%ld,%ld,%ld,%ld,%ld", c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
        return SIM_AT_OK;
    case SIM_AT_TEST:
        sim_info(m, "+CIPCCFG: (0-10),(0-1000),(0),(0-1),(0-1),(0-1),(500-120000)");
        return SIM_AT_OK;
    case SIM_AT_EXEC:
        memcpy(t->ccfg, ccfg_defaults, sizeof(t->ccfg));
        return SIM_AT_OK;
    default:
        break;
    }
    long v[CCFG_COUNT];
    if (cmd->argc > CCFG_COUNT) {
        return SIM_AT_ERROR;
    }
    for (int i = 0; i < CCFG_COUNT; i++) {
        if (!sim_arg_int_opt(cmd, i, ccfg_min[i], ccfg_max[i], t->ccfg[i], &v[i])) {
            return SIM_AT_ERROR;
        }
    }
    memcpy(t->ccfg, v, sizeof(t->ccfg));
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- control and stats */

/* `drop tcp [LINK]`: the server side closes the connection(s); the module reports +IPCLOSE. */
static int tcpip_control(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool *ok)
{
    if (argc < 2 || strcmp(argv[0], "drop") != 0 || strcmp(argv[1], "tcp") != 0) {
        return 0;
    }
    struct sim_tcpip *t = m->tcpip;
    long only = -1;
    if (argc > 3 || (argc == 3 && !sim_parse_long(argv[2], 0, TCPIP_LINKS - 1, &only))) {
        snprintf(reply, cap, "error: usage: drop tcp [LINK(0-9)]");
        *ok = false;
        return 1;
    }
    int dropped = 0;
    for (int i = 0; i < TCPIP_LINKS; i++) {
        struct tcpip_link *l = &t->links[i];
        if ((only >= 0 && i != only) || l->state != LINK_OPEN) {
            continue;
        }
        /* Unread data stays (the module had it already); the connection itself is gone. */
        shutdown(l->fd, SHUT_RDWR);
        t->drops++;
        t->remote_closes++;
        if (t->rxget_mode == 0) {
            push_received(m, i);
        }
        send_report(m, i, -1);
        sim_urc(m, "+IPCLOSE: %d,%d", i, CLOSE_REMOTE);
        if (t->rxget_mode == 1) {
            link_close_keep_data(l);
        } else {
            link_reset(l);
        }
        dropped++;
    }
    if (dropped == 0) {
        snprintf(reply, cap, "error: no open TCP link%s%s", only >= 0 ? " " : "", only >= 0 ? argv[2] : "");
        *ok = false;
        return 1;
    }
    snprintf(reply, cap, "ok drop tcp %d", dropped);
    *ok = true;
    return 1;
}

static void tcpip_stats(struct sim_modem *m, struct sim_buf *b)
{
    const struct sim_tcpip *t = m->tcpip;
    int open = 0;
    for (int i = 0; i < TCPIP_LINKS; i++) {
        open += t->links[i].state == LINK_OPEN;
    }
    sim_buf_printf(b,
                   ",\"tcp_net_open\":%s,\"tcp_open_links\":%d,\"tcp_connects\":%llu,\"tcp_connect_failures\":%llu,"
                   "\"tcp_tx_bytes\":%llu,\"tcp_rx_bytes\":%llu,\"tcp_remote_closes\":%llu,\"tcp_drops\":%llu",
                   t->net_open ? "true" : "false", open, (unsigned long long)t->connects,
                   (unsigned long long)t->connect_failures, (unsigned long long)t->tx_bytes,
                   (unsigned long long)t->rx_bytes, (unsigned long long)t->remote_closes,
                   (unsigned long long)t->drops);
}

/* ------------------------------------------------------------- table */

static const struct sim_cmd tcpip_cmds[] = {
    { "+NETOPEN", SIM_FORM_EXEC | SIM_FORM_READ, cmd_netopen, 800, "Activate the PDP context for sockets (OK, then +NETOPEN: <err>)" },
    { "+NETCLOSE", SIM_FORM_EXEC, cmd_netclose, 300, "Close every socket and the PDP context (+NETCLOSE: <err>)" },
    { "+IPADDR", SIM_FORM_EXEC, cmd_ipaddr, 20, "PDP address of the socket context" },
    { "+CIPOPEN", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cipopen, 50, "Open a real TCP connection on link 0-9 (+CIPOPEN: <link>,<err>)" },
    { "+CIPSEND", SIM_FORM_SET | SIM_FORM_TEST, cmd_cipsend, 30, "Send on a link: fixed length or Ctrl-Z/ESC form (+CIPSEND: <link>,<req>,<cnf>)" },
    { "+CIPRXGET", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_ciprxget, 20, "Receive mode (push/manual) and manual reads: raw, hex, waiting length" },
    { "+CIPCLOSE", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cipclose, 50, "Close a link (+CIPCLOSE: <link>,<err>); read: connected flags of links 0-9" },
    { "+CIPMODE", SIM_FORM_ALL, cmd_cipmode, 10, "Command (0) or transparent (1, not implemented) socket mode" },
    { "+CIPSENDMODE", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_cipsendmode, 10, "When +CIPSEND reports: data taken (0) or acknowledged by the peer (1)" },
    { "+CIPTIMEOUT", SIM_FORM_SET | SIM_FORM_READ, cmd_ciptimeout, 10, "NETOPEN/CIPOPEN/CIPSEND timeouts in ms (CIPOPEN's is enforced)" },
    { "+CIPCCFG", SIM_FORM_ALL, cmd_cipccfg, 10, "Socket options: errMode (+IP ERROR text/number), HeaderType (+RECEIVE header)" },
    { "+CIPHEAD", SIM_FORM_ALL, cmd_ciphead, 10, "+IPD<len> header on pushed data" },
    { "+CIPSRIP", SIM_FORM_ALL, cmd_cipsrip, 10, "RECV FROM:<ip>:<port> line on pushed data" },
};

const struct sim_group sim_group_tcpip = {
    .name = "tcpip",
    .cmds = tcpip_cmds,
    .cmd_count = sizeof(tcpip_cmds) / sizeof(tcpip_cmds[0]),
    .init = tcpip_init,
    .fini = tcpip_fini,
    .prepare = tcpip_prepare,
    .dispatch = tcpip_dispatch,
    .teardown = tcpip_teardown,
    .control = tcpip_control,
    .stats = tcpip_stats,
};
