/*
 * fw_port.h - the one seam between the firmware core and its platform.
 *
 * The core reaches the outside world only through a `struct fw_port`: a table
 * of function pointers plus an opaque context, filled in by the platform's
 * port (Linux, QEMU Cortex-M4, nRF52840). Contract for every function:
 *   - non-blocking: it returns at once with what it could do now;
 *   - byte movers return the count moved, 0 for "nothing now", negative for
 *     an error; short transfers are allowed;
 *   - the core never calls one re-entrantly from inside another.
 * Pointers the core does not use may be NULL (noted per field).
 */
#ifndef FW_PORT_H
#define FW_PORT_H

#include <stddef.h>
#include <stdint.h>

/* Severity of a log event. */
enum fw_log_level {
    FW_LOG_ERROR = 0,
    FW_LOG_WARN = 1,
    FW_LOG_INFO = 2,
    FW_LOG_DEBUG = 3
};

/* Signature algorithms the core asks the port for (JWT "alg"). */
enum fw_sign_alg {
    FW_SIGN_ES256 = 0, /* ECDSA P-256 over SHA-256; signature as JWS r||s, 64 bytes */
    FW_SIGN_RS256 = 1  /* RSASSA-PKCS1-v1_5 over SHA-256; signature as modulus-sized bytes */
};

/* Driver behaviours reported by the driver-monitoring input. */
enum fw_driver_behaviour {
    FW_DRIVER_PHONE = 0,
    FW_DRIVER_DRINKING = 1,
    FW_DRIVER_DROWSY = 2
};

/* Platform functions and their context. */
struct fw_port {
    /* Opaque context passed as the first argument to every function. */
    void *ctx;

    /* Write up to len bytes to the modem UART. Returns bytes accepted (0 when
     * the transmitter is busy), negative on a dead link. */
    int32_t (*uart_write)(void *ctx, const uint8_t *buf, size_t len);

    /* Read up to cap bytes already received from the modem UART. Returns the
     * count (0 when nothing is waiting), negative on a dead link. */
    int32_t (*uart_read)(void *ctx, uint8_t *buf, size_t cap);

    /* Monotonic milliseconds. May start anywhere and wraps at 2^32; the core
     * only ever compares differences. */
    uint32_t (*now_ms)(void *ctx);

    /* Wall-clock time in seconds since the Unix epoch (JWT iat/exp, event
     * timestamps); 0 when unknown. May be NULL if no such time exists. */
    uint64_t (*unix_time_s)(void *ctx);

    /* One log event: module name ("at", "mqtt"), a short event text and an
     * optional detail of detail_len bytes (not NUL-terminated, may hold any
     * byte). May be NULL (no logging). */
    void (*log)(void *ctx, enum fw_log_level level, const char *module,
                const char *event, const char *detail, size_t detail_len);

    /* Fill buf with len random bytes (back-off jitter). Returns 0 on success,
     * negative when no entropy is available. May be NULL. */
    int32_t (*random)(void *ctx, uint8_t *buf, size_t len);

    /* Sign msg with the device's private key. Writes the signature in JWS
     * form (see enum fw_sign_alg) into sig (capacity cap) and its length into
     * *sig_len. Returns 0 on success, negative on failure (no key, buffer too
     * small). May be NULL when no cloud profile needs signing. */
    int32_t (*sign)(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                    uint8_t *sig, size_t cap, size_t *sig_len);

    /* Persistent storage of small blobs that survive a reboot, one per key
     * (FW_PERSIST_* in the modules that use them). Load copies the blob into
     * buf (capacity cap) and its length into *len, 0 when none was saved;
     * returns 0, or negative on a read error or a blob larger than cap. Save
     * replaces the blob atomically (a reset mid-save leaves the old one or
     * the new one); returns 0 or negative. May be NULL (nothing persists). */
    int32_t (*persist_load)(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len);
    int32_t (*persist_save)(void *ctx, uint32_t key, const uint8_t *buf, size_t len);

    /* Pulse the modem's hardware reset line (the SIM7600's RESET pin, or a
     * power cycle through PWRKEY): the last resort when the modem answers
     * nothing on the UART, not even AT (a hung module drops AT+CRESET as
     * well). Returns 0 once the pulse is done (the modem then boots and
     * sends RDY), negative when the line cannot be driven. May be NULL (no
     * such line: the setup keeps failing until the modem answers again). */
    int32_t (*modem_reset)(void *ctx);

    /* MCU-side TLS over the modem's raw TCP link (the MCU-TLS stacks), in
     * memory-BIO style: the core moves ciphertext between the TLS engine and
     * the socket itself, so no hook ever touches the network. All NULL when
     * the platform has no TLS (a build selecting an MCU-TLS stack then needs
     * FW_HAVE_TLS, see fw_mcu_tls.h). One TLS connection at a time. */

    /* Start a client connection to server_name (SNI and certificate name
     * check) with the platform's credentials ca_id (trust anchor), cert_id
     * and key_id (client certificate and key, 0 for none): ids name slots the
     * platform maps to its key store. Returns 0, negative on failure. */
    int32_t (*tls_open)(void *ctx, const char *server_name, uint32_t ca_id, uint32_t cert_id,
                        uint32_t key_id);
    /* Hand over len ciphertext bytes received from the socket. Returns the
     * count taken (0: full now), negative on failure. */
    int32_t (*tls_feed_ciphertext)(void *ctx, const uint8_t *in, size_t len);
    /* Take up to cap ciphertext bytes to send on the socket (handshake,
     * records, alerts). Returns the count (0: none), negative on failure. */
    int32_t (*tls_take_ciphertext)(void *ctx, uint8_t *out, size_t cap);
    /* Encrypt up to len plaintext bytes. Returns the count taken, 0 while the
     * handshake is still running, negative when the connection failed. */
    int32_t (*tls_write_plain)(void *ctx, const uint8_t *buf, size_t len);
    /* Decrypt into buf (capacity cap); also advances the handshake. Returns
     * the count, 0 when nothing is available yet, negative when the
     * connection failed or the peer closed it. */
    int32_t (*tls_read_plain)(void *ctx, uint8_t *buf, size_t cap);
    /* Drop the connection and its state (queues a close_notify for
     * tls_take_ciphertext if the platform can). Safe to call when none. */
    void (*tls_close)(void *ctx);
    /* Put len PEM bytes (one or more CA certificates) in credential slot
     * ca_id as the trust anchor of later tls_open calls: a CA that changed
     * in the field (fw_rotation). The port copies or parses them before
     * returning. Returns 0, negative when it cannot take them. May be NULL
     * (fixed slots; fw_mcu_tls then refuses a config with ca_pem). */
    int32_t (*tls_set_ca)(void *ctx, uint32_t ca_id, const uint8_t *pem, size_t len);
    /* ---- driver-behaviour and camera inputs (bus application) ---- */

    /* Take the next driver-behaviour report, if one waits, into *behaviour;
     * the camera frame that shows it becomes the camera's latest frame.
     * Returns 1 when a report was taken, 0 when none waits, negative on an
     * input error. May be NULL (no driver monitoring). */
    int32_t (*driver_event)(void *ctx, enum fw_driver_behaviour *behaviour);

    /* Freeze the camera's latest frame for camera_read and give its size in
     * bytes in *size. Returns 0, or negative when no frame exists. May be
     * NULL (no camera). */
    int32_t (*camera_capture)(void *ctx, uint32_t *size);

    /* Read up to cap bytes of the frozen frame from offset. Returns the count
     * (short reads allowed, 0 when nothing is ready now), negative on error.
     * May be NULL only when camera_capture is. */
    int32_t (*camera_read)(void *ctx, uint32_t offset, uint8_t *buf, size_t cap);
};

#endif /* FW_PORT_H */
