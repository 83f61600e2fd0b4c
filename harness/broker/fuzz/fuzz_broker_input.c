/*
 * fuzz_broker_input — libFuzzer target for what devices and the cloud side
 * send the broker plugin: shadow update/get/delete documents, GCP topics,
 * client ids and JWT passwords, AWS topics and policy globs, and the
 * broker log lines read for config acknowledgements (client ids and topics
 * in them come from devices).
 * The first byte picks the parser; the rest is its input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws_policy.h"
#include "gcp_acks.h"
#include "gcp_jwt.h"
#include "gcp_topics.h"
#include "shadow.h"

static void fuzz_shadow(const uint8_t *data, size_t size)
{
    static const char stored_text[] =
        "{\"state\":{\"desired\":{\"a\":1,\"n\":{\"x\":[1,2]}},\"reported\":{\"a\":2}},"
        "\"metadata\":{\"desired\":{\"a\":{\"timestamp\":1},\"n\":{\"x\":{\"timestamp\":1}}},"
        "\"reported\":{\"a\":{\"timestamp\":1}}},\"version\":3}";
    json_t *stored = json_loads(stored_text, 0, NULL);
    struct shadow_reply r;
    shadow_update(stored, data, size, 1800000000, &r);
    shadow_reply_clear(&r);
    shadow_update(NULL, data, size, 1800000000, &r);
    shadow_reply_clear(&r);
    shadow_get(stored, "t", data, size, 1800000000, &r);
    shadow_reply_clear(&r);
    shadow_delete(stored, "t", data, size, 1800000000, &r);
    shadow_reply_clear(&r);
    json_decref(stored);
}

static void fuzz_strings(const char *text)
{
    struct gcp_topic t;
    char device[GCP_ID_MAX + 1];
    gcp_topic_parse(text, &t);
    gcp_client_id_parse(text, "p", "r", "g", device, sizeof device);
    aws_topic_within_limits(text);
    aws_glob_match(text, "arn:aws:iot:r:1:topic/a/b/c");
    aws_glob_match("arn:*:topic/?/*", text);
    struct gcp_device dev = { .id = "d" };
    gcp_jwt_check(text, &dev, "p", 1800000000, NULL);
    struct gcp_ack_line line;
    gcp_acks_parse_line(text, &line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] & 1) {
        fuzz_shadow(data + 1, size - 1);
        return 0;
    }
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    fuzz_strings(text);
    free(text);
    return 0;
}
