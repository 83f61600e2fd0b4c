/*
 * fw_sim7600_mqtt.h - the modem's own MQTT client (AT+CMQTT*) as
 * non-blocking operations: connect (START, ACCQ, SSLCFG, CONNECT, with the
 * recoveries a modem left running by a previous MCU run needs), subscribe,
 * publish and disconnect. Start one operation, then call
 * fw_sim7600_mqtt_poll() until it is no longer FW_SIM7600_MQTT_BUSY.
 * Incoming messages and connection loss arrive through fw_sim7600.
 */
#ifndef FW_SIM7600_MQTT_H
#define FW_SIM7600_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_sim7600.h"

/* Longest AT command this layer builds (AT+CMQTTCONNECT with a 256-byte
 * server, user name and password). The fw_at tx buffer must be as large. */
#ifndef FW_SIM7600_MQTT_CMD_MAX
#define FW_SIM7600_MQTT_CMD_MAX 880u
#endif

/* Modem limits (SIM7600 / A76xx manuals). */
#define FW_SIM7600_MQTT_ID_MAX 128u        /* client id bytes */
#define FW_SIM7600_MQTT_CRED_MAX 256u      /* user name / password bytes */
#define FW_SIM7600_MQTT_TOPIC_MAX 1024u    /* topic bytes */
#define FW_SIM7600_MQTT_PAYLOAD_MAX 10240u /* payload bytes */

/* Status of an operation. */
enum fw_sim7600_mqtt_status {
    FW_SIM7600_MQTT_OK = 0,     /* the last operation succeeded */
    FW_SIM7600_MQTT_BUSY,       /* an operation is running: keep polling */
    FW_SIM7600_MQTT_FAILED,     /* the modem refused (see fw_sim7600_mqtt_error()) */
    FW_SIM7600_MQTT_BAD_ARG,    /* invalid parameter (quote in a string, QoS, ...) */
    FW_SIM7600_MQTT_TOO_LONG    /* a field exceeds the modem's limit */
};

/* How to connect. Strings are NUL-terminated and must not contain '"'. */
struct fw_sim7600_mqtt_params {
    int client;                 /* client index 0 or 1 */
    const char *client_id;      /* 1..128 bytes */
    const char *server;         /* "tcp://host:port" */
    uint16_t keepalive_s;       /* 1..64800 */
    bool clean_session;
    int ssl_ctx;                /* SSL context 0-9 for MQTT over TLS, -1 for plain TCP */
    const char *username;       /* NULL or 1..256 bytes */
    const char *password;       /* NULL or 1..256 bytes (a GCP JWT); needs username */
    uint32_t timeout_ms;        /* per command; 0 = 30000 */
};

/* Operation state. Allocated by the caller; fields are private. */
struct fw_sim7600_mqtt {
    struct fw_sim7600 *modem;
    int client;
    uint32_t timeout_ms;
    int op;
    int step;
    bool recovering;
    int32_t error;
    enum fw_sim7600_mqtt_status status;
    struct fw_sim7600_mqtt_params params;
    const uint8_t *topic;
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    uint8_t qos;
    char cmd[FW_SIM7600_MQTT_CMD_MAX];
};

/* Bind m to a modem. */
void fw_sim7600_mqtt_init(struct fw_sim7600_mqtt *m, struct fw_sim7600 *modem);

/* Start connecting with p (copied; its strings must stay valid until done). */
enum fw_sim7600_mqtt_status fw_sim7600_mqtt_connect(struct fw_sim7600_mqtt *m,
                                                    const struct fw_sim7600_mqtt_params *p);

/* Start subscribing to topic (topic_len bytes) at qos 0 or 1. */
enum fw_sim7600_mqtt_status fw_sim7600_mqtt_subscribe(struct fw_sim7600_mqtt *m,
                                                      const char *topic, size_t topic_len,
                                                      uint8_t qos);

/* Start publishing payload to topic at qos 0 or 1. Both must stay valid
 * until done. An empty payload is not possible through the modem. */
enum fw_sim7600_mqtt_status fw_sim7600_mqtt_publish(struct fw_sim7600_mqtt *m, const char *topic,
                                                    size_t topic_len, const uint8_t *payload,
                                                    size_t payload_len, uint8_t qos);

/* Start disconnecting, releasing the client and stopping the service. */
enum fw_sim7600_mqtt_status fw_sim7600_mqtt_disconnect(struct fw_sim7600_mqtt *m);

/* Advance the running operation. */
enum fw_sim7600_mqtt_status fw_sim7600_mqtt_poll(struct fw_sim7600_mqtt *m);

/* Abandon the running operation (its AT command is cancelled; a late answer
 * from the modem is then ignored as an unsolicited line, unless another
 * command is already waiting). The status becomes FW_SIM7600_MQTT_FAILED. */
void fw_sim7600_mqtt_abort(struct fw_sim7600_mqtt *m);

/* After FW_SIM7600_MQTT_FAILED: the modem's MQTT error code (§4.3 of the
 * AT reference, e.g. 32 handshake fail) or -1 when it answered only ERROR
 * or timed out. */
int32_t fw_sim7600_mqtt_error(const struct fw_sim7600_mqtt *m);

/* Human-readable name of a status; never NULL. */
const char *fw_sim7600_mqtt_status_str(enum fw_sim7600_mqtt_status status);

#endif /* FW_SIM7600_MQTT_H */
