/*
 * fw_mcu_tls.h - the MCU-TLS transport: an MQTT session (fw_mqtt_session)
 * inside the MCU's own TLS (the port's tls_* hooks) over the modem's raw TCP
 * socket (fw_sim7600_tcp). The modem only ever sees ciphertext. Start with
 * fw_mcu_tls_start() once the modem is set up (registered, packet network
 * allowed), then call fw_mcu_tls_poll() as often as you like: it opens the
 * socket, runs the TLS handshake, sends CONNECT and the subscriptions, and
 * then moves bytes both ways (publish through fw_mcu_tls_session()).
 * While it runs it owns the modem's event bits (fw_sim7600_take_events()):
 * data waiting, the socket or network closed, a modem restart.
 *
 * A build that selects an MCU-TLS stack defines FW_STACK_MCU_TLS=1 and must
 * also define FW_HAVE_TLS=1, promising a port whose tls_* hooks are set;
 * without it the build stops with an #error here.
 */
#ifndef FW_MCU_TLS_H
#define FW_MCU_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_mqtt_session.h"
#include "fw_sim7600_tcp.h"

#if defined(FW_STACK_MCU_TLS) && FW_STACK_MCU_TLS && !(defined(FW_HAVE_TLS) && FW_HAVE_TLS)
#error "an MCU-TLS stack (FW_STACK_MCU_TLS) needs a port with TLS hooks: define FW_HAVE_TLS=1 and fill fw_port.tls_*, or choose a modem-TLS stack"
#endif

/* Where the transport stands. */
enum fw_mcu_tls_state {
    FW_MCU_TLS_IDLE = 0,         /* not started, or stopped */
    FW_MCU_TLS_TCP_OPENING,      /* AT+NETOPEN / AT+CIPOPEN running */
    FW_MCU_TLS_HANDSHAKE,        /* TLS handshake, then CONNECT/CONNACK */
    FW_MCU_TLS_SUBSCRIBING,      /* SUBSCRIBE sent, waiting for SUBACK */
    FW_MCU_TLS_ONLINE,           /* connected and subscribed */
    FW_MCU_TLS_CLOSING,          /* failed or disconnected: TLS dropped, AT+CIPCLOSE running */
    FW_MCU_TLS_FAILED,           /* socket closed; see fw_mcu_tls_failure(); start again */
    FW_MCU_TLS_DISCONNECTING     /* fw_mcu_tls_disconnect(): DISCONNECT still being sent */
};

/* Why the transport failed. */
enum fw_mcu_tls_failure {
    FW_MCU_TLS_FAIL_NONE = 0,
    FW_MCU_TLS_FAIL_TCP,         /* the socket could not open, send or receive */
    FW_MCU_TLS_FAIL_CLOSED,      /* the peer or the network closed the socket */
    FW_MCU_TLS_FAIL_TLS,         /* the TLS hooks reported an error (handshake, alert) */
    FW_MCU_TLS_FAIL_MQTT,        /* CONNACK refused, a deadline passed, protocol error */
    FW_MCU_TLS_FAIL_SUBSCRIBE    /* a subscription was refused */
};

/* What to connect to. Pointers must stay valid while the transport runs. */
struct fw_mcu_tls_config {
    struct fw_sim7600 *modem;    /* set up, with an AT engine on the port */
    const struct fw_port *port;  /* tls_* hooks required */
    int link;                    /* socket 0-9 */
    const char *host;            /* broker host for AT+CIPOPEN */
    uint16_t tcp_port;
    const char *server_name;     /* TLS SNI and name check (usually host) */
    uint32_t ca_id, cert_id, key_id; /* credential slots for tls_open */
    const uint8_t *ca_pem;       /* when set: ca_len PEM bytes the port's tls_set_ca puts in
                                  * slot ca_id at start (a rotated CA, fw_rotation);
                                  * NULL: the slot as the platform has it */
    size_t ca_len;
    struct fw_mqtt_session_config session; /* buffers and callbacks of the session */
    struct fw_mqtt_connect connect;
    const struct fw_mqtt_subscription *subs; /* subscribed after CONNACK; may be NULL */
    size_t n_subs;
    uint32_t tcp_timeout_ms;     /* per AT command; 0 = 20000 */
    uint32_t rx_poll_ms;         /* also ask the modem for data this often; 0 = 1000 */
};

/* Transport state. Allocated by the caller; fields are private. */
struct fw_mcu_tls {
    struct fw_mcu_tls_config cfg;
    struct fw_mqtt_session session;
    struct fw_sim7600_tcp tcp;
    enum fw_mcu_tls_state state;
    enum fw_mcu_tls_failure failure;
    int op;                      /* the TCP operation running (private enum) */
    bool data_waiting;           /* the modem said it holds bytes */
    uint32_t last_rx_ms;
    uint8_t cipher_out[FW_SIM7600_TCP_CHUNK_MAX];
    size_t cipher_out_len;
    uint8_t cipher_in[FW_SIM7600_TCP_CHUNK_MAX];
    size_t cipher_in_len, cipher_in_off;
    uint8_t plain_in[256];
    uint32_t bytes_sent, bytes_received; /* ciphertext through the socket */
};

/* Start connecting. Returns false on a bad configuration (no TLS hooks,
 * missing buffers, link out of range, ca_pem without a port tls_set_ca) or
 * when the port refuses ca_pem. */
bool fw_mcu_tls_start(struct fw_mcu_tls *t, const struct fw_mcu_tls_config *cfg);

/* Advance everything; returns the state. */
enum fw_mcu_tls_state fw_mcu_tls_poll(struct fw_mcu_tls *t);

/* End the session cleanly (while ONLINE): send MQTT DISCONNECT, drop the TLS
 * state and close the socket; the state then goes DISCONNECTING, CLOSING
 * and IDLE (also when the peer closes the socket meanwhile; FAILED only
 * after a TCP or TLS error). Returns false when not ONLINE. */
bool fw_mcu_tls_disconnect(struct fw_mcu_tls *t);

/* Whether no TCP operation (AT command) is running, so a caller may run one
 * AT command of its own now (and must not poll the transport until it has
 * finished). */
bool fw_mcu_tls_at_free(const struct fw_mcu_tls *t);

/* Earliest port-clock time (ms) at which fw_mcu_tls_poll() has timed work:
 * the running AT command's timeout, the next receive poll, the keep-alive
 * PINGREQ or an acknowledgement deadline; now when work is waiting. Into
 * *deadline_ms; false when nothing is timed. */
bool fw_mcu_tls_next_deadline_ms(const struct fw_mcu_tls *t, uint32_t *deadline_ms);

/* The MQTT session, to publish on while ONLINE. */
struct fw_mqtt_session *fw_mcu_tls_session(struct fw_mcu_tls *t);

/* After FW_MCU_TLS_FAILED: why. */
enum fw_mcu_tls_failure fw_mcu_tls_failure(const struct fw_mcu_tls *t);

/* Stop: the TLS state is dropped and the socket closed (best effort, not
 * waiting for the modem). */
void fw_mcu_tls_stop(struct fw_mcu_tls *t);

/* Human-readable names; never NULL. */
const char *fw_mcu_tls_state_str(enum fw_mcu_tls_state state);
const char *fw_mcu_tls_failure_str(enum fw_mcu_tls_failure failure);

#endif /* FW_MCU_TLS_H */
