/*
 * fake_port.h - a struct fw_port for host tests: a virtual clock, a record of
 * every byte the core writes, a queue of bytes the "modem" will answer, read
 * and write sizes capped to fragment every transfer, and a signer hook.
 */
#ifndef FAKE_PORT_H
#define FAKE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_at.h"
#include "fw_port.h"
#include "fw_sim7600.h"

struct fw_linux_tls;

#define FAKE_TX_CAP 65536
#define FAKE_RX_CAP 65536

/* The fake platform; embed and pass &f->port to the core. */
struct fake_port {
    struct fw_port port;
    uint32_t now;            /* virtual monotonic ms */
    uint64_t unix_time;      /* virtual wall clock, seconds */
    uint8_t tx[FAKE_TX_CAP]; /* everything written */
    size_t tx_len;
    size_t tx_checked;       /* bytes already matched by fake_port_expect_tx */
    uint8_t rx[FAKE_RX_CAP]; /* bytes waiting to be read */
    size_t rx_len;
    size_t rx_off;
    size_t read_chunk;       /* max bytes per uart_read; 0 = no limit */
    size_t write_cap;        /* max bytes per uart_write; 0 = no limit */
    bool link_dead;          /* uart_read/uart_write fail */
    unsigned log_lines;      /* log events seen */
    /* persistent storage: 4 keyed blobs that outlive the core's state */
    uint8_t store[4][8192];
    size_t store_len[4];
    bool store_fail;         /* persist_load/persist_save fail */
    unsigned saves;
    /* signer used by the JWT tests; NULL makes port.sign fail */
    int32_t (*signer)(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                      uint8_t *sig, size_t cap, size_t *sig_len);
    void *signer_ctx;
    /* the TLS behind the port's hooks (see fake_port_use_linux_tls) */
    struct fw_linux_tls *linux_tls;
};

/* Reset f; reads deliver at most read_chunk bytes, writes accept write_cap. */
void fake_port_init(struct fake_port *f, size_t read_chunk, size_t write_cap);

/* Queue len bytes as if the modem had sent them. */
void fake_port_push(struct fake_port *f, const void *data, size_t len);

/* Queue a NUL-terminated string. */
void fake_port_push_str(struct fake_port *f, const char *s);

/* True when the bytes written since the last check start with expect; the
 * check position then moves past them. */
bool fake_port_expect_tx(struct fake_port *f, const void *expect, size_t len);

/* Deliver every queued byte to at: through fw_at_poll() in read_chunk
 * pieces, or with one fw_at_feed() when read_chunk is 0. */
void fake_port_deliver(struct fake_port *f, struct fw_at *at);

/* Move the virtual clock forward. */
void fake_port_advance(struct fake_port *f, uint32_t ms);

/* Take the next whole command line the core wrote (up to its '\r', which
 * is consumed but not copied) into line, NUL-terminated; false if no whole
 * line is waiting. Fails the test if it does not fit in cap - 1 bytes. */
bool fake_port_take_line(struct fake_port *f, char *line, size_t cap);

/* One step of an AT transcript: what the core must have written by now, then
 * what the modem answers (rx_len 0 means strlen(rx)). */
struct fake_step {
    const char *tx;
    const char *rx;
    size_t rx_len;
};

/* Run steps against at, failing the calling CMocka test on a TX mismatch. */
void fake_port_run(struct fake_port *f, struct fw_at *at, const struct fake_step *steps, size_t n);

/* Initialise a SIM7600 driver on the fake port with the caller's buffers
 * (the messages callback and its context may be NULL); fails the calling
 * CMocka test when the driver refuses. FAKE_SIM7600_INIT passes a test
 * rig's line_buf, tx_buf, topic_buf and payload_buf arrays with their sizes. */
void fake_sim7600_init(struct fw_sim7600 *modem, struct fake_port *f, char *line, size_t line_cap,
                       char *tx, size_t tx_cap, char *topic, size_t topic_cap, uint8_t *payload,
                       size_t payload_cap, fw_sim7600_message_fn on_message, void *ctx);
#define FAKE_SIM7600_INIT(rig, on_message, ctx)                                                    \
    fake_sim7600_init(&(rig)->modem, &(rig)->fake, (rig)->line_buf, sizeof((rig)->line_buf),      \
                      (rig)->tx_buf, sizeof((rig)->tx_buf), (rig)->topic_buf,                     \
                      sizeof((rig)->topic_buf), (rig)->payload_buf, sizeof((rig)->payload_buf),   \
                      (on_message), (ctx))

/* The chunk sizes every transcript is replayed at (0 = whole). */
extern const size_t fake_chunk_sizes[5];

#endif /* FAKE_PORT_H */
