/*
 * fuzz_fw_mqtt.c - libFuzzer target for the MQTT codec's receive side: the
 * bytes are framed by fw_mqtt_rx at a read size chosen by the first byte and
 * every framed packet is decoded; a decoded PUBLISH with QoS 0/1 must
 * re-encode to a packet that decodes to the same fields.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mqtt.h"

static void check_publish(const struct fw_mqtt_packet *pkt)
{
    static uint8_t out[70000];
    struct fw_mqtt_packet again;
    size_t n;
    if (pkt->publish.qos > 1)
        return;
    if (fw_mqtt_encode_publish(&pkt->publish, out, sizeof(out), &n) != FW_MQTT_OK)
        abort();
    if (fw_mqtt_decode(out, n, &again) != FW_MQTT_OK ||
        again.publish.payload_len != pkt->publish.payload_len ||
        again.publish.topic_len != pkt->publish.topic_len ||
        memcmp(again.publish.topic, pkt->publish.topic, pkt->publish.topic_len) != 0 ||
        (pkt->publish.payload_len > 0 &&
         memcmp(again.publish.payload, pkt->publish.payload, pkt->publish.payload_len) != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static uint8_t buf[4096];
    struct fw_mqtt_rx rx;
    size_t chunk, off = 1;
    if (len == 0)
        return 0;
    chunk = (size_t)(data[0] % 64) + 1;
    fw_mqtt_rx_init(&rx, buf, (size_t)(data[0] % 2 ? 64 : sizeof(buf)));
    while (off < len) {
        size_t piece = len - off < chunk ? len - off : chunk, used;
        enum fw_mqtt_status st = fw_mqtt_rx_feed(&rx, data + off, piece, &used);
        off += used;
        if (st == FW_MQTT_MALFORMED)
            return 0;
        if (st == FW_MQTT_OK) {
            size_t n;
            struct fw_mqtt_packet pkt;
            const uint8_t *p = fw_mqtt_rx_packet(&rx, &n);
            if (fw_mqtt_decode(p, n, &pkt) == FW_MQTT_OK && pkt.type == FW_MQTT_PUBLISH)
                check_publish(&pkt);
        }
    }
    return 0;
}
