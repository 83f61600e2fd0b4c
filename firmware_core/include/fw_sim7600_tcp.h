/*
 * fw_sim7600_tcp.h - the modem's raw TCP sockets (AT+NETOPEN, AT+CIPOPEN,
 * AT+CIPSEND, AT+CIPRXGET in manual mode, AT+CIPCLOSE) as non-blocking
 * operations, the transport under the MCU-TLS stacks. Start one operation,
 * then call fw_sim7600_tcp_poll() until it is no longer
 * FW_SIM7600_TCP_BUSY. "+CIPRXGET: 1,<link>" (data waiting) and "+IPCLOSE"
 * arrive as fw_sim7600 events.
 */
#ifndef FW_SIM7600_TCP_H
#define FW_SIM7600_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_sim7600.h"

/* Largest piece one AT+CIPSEND or AT+CIPRXGET=2 moves. */
#define FW_SIM7600_TCP_CHUNK_MAX 1500u

/* Status of an operation. */
enum fw_sim7600_tcp_status {
    FW_SIM7600_TCP_OK = 0,      /* the last operation succeeded */
    FW_SIM7600_TCP_BUSY,        /* an operation is running: keep polling */
    FW_SIM7600_TCP_FAILED,      /* the modem refused (see fw_sim7600_tcp_error()) */
    FW_SIM7600_TCP_CLOSED,      /* the peer or the network closed the socket */
    FW_SIM7600_TCP_BAD_ARG      /* invalid parameter */
};

/* Operation state. Allocated by the caller; fields are private. */
struct fw_sim7600_tcp {
    struct fw_sim7600 *modem;
    int op;
    int step;
    int link;
    const char *host;
    uint16_t port;
    uint32_t timeout_ms;
    const uint8_t *data;
    size_t data_len;
    uint8_t *rx_buf;
    size_t rx_cap;
    size_t rx_len;              /* bytes received by the last receive */
    int32_t rx_rest;            /* bytes the modem still holds after it */
    bool already;               /* "+IP ERROR: Network is already opened" seen */
    bool no_data;               /* "+IP ERROR: No data" seen */
    int32_t error;
    enum fw_sim7600_tcp_status status;
    char cmd[320];
};

/* Bind t to a modem; timeout_ms per command (0 = 20000). */
void fw_sim7600_tcp_init(struct fw_sim7600_tcp *t, struct fw_sim7600 *modem, uint32_t timeout_ms);

/* Start opening link (0-9) to host:port: manual receive mode, the packet
 * network (tolerating one that is already open), then the socket. host must
 * stay valid until done and may not contain '"'. */
enum fw_sim7600_tcp_status fw_sim7600_tcp_open(struct fw_sim7600_tcp *t, int link,
                                               const char *host, uint16_t port);

/* Start sending len (1..1500) bytes; done when the modem confirms them all.
 * FW_SIM7600_TCP_CLOSED when it reports the socket gone. */
enum fw_sim7600_tcp_status fw_sim7600_tcp_send(struct fw_sim7600_tcp *t, const uint8_t *data,
                                               size_t len);

/* Start fetching up to cap (1..1500) waiting bytes into buf. When done,
 * fw_sim7600_tcp_received() tells how many came (0: nothing waiting). */
enum fw_sim7600_tcp_status fw_sim7600_tcp_receive(struct fw_sim7600_tcp *t, uint8_t *buf,
                                                  size_t cap);

/* Start closing the link (a link already closed counts as success). */
enum fw_sim7600_tcp_status fw_sim7600_tcp_close(struct fw_sim7600_tcp *t);

/* Advance the running operation. */
enum fw_sim7600_tcp_status fw_sim7600_tcp_poll(struct fw_sim7600_tcp *t);

/* Bytes delivered by the last receive; *rest (may be NULL) gets what the
 * modem still holds. */
size_t fw_sim7600_tcp_received(const struct fw_sim7600_tcp *t, int32_t *rest);

/* After FW_SIM7600_TCP_FAILED: the modem's error code (+CIPOPEN/+NETOPEN
 * <err>), or -1 when it answered only ERROR or timed out. */
int32_t fw_sim7600_tcp_error(const struct fw_sim7600_tcp *t);

/* Human-readable name of a status; never NULL. */
const char *fw_sim7600_tcp_status_str(enum fw_sim7600_tcp_status status);

#endif /* FW_SIM7600_TCP_H */
