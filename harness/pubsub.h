/*
 * pubsub — reading GCP Pub/Sub messages as the cloud application receives
 * them from the broker: `{"data": BASE64, "attributes": {...}, ...}`.
 *
 * Scenarios match on the event itself (`data.type`, ...), so the envelope's
 * data is decoded: JSON data replaces "data" parsed, other text replaces it
 * as a string; the original base64 text is kept under "data_base64".
 */
#ifndef CELLBENCH_PUBSUB_H
#define CELLBENCH_PUBSUB_H

#include <jansson.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Decode n characters of standard base64 (RFC 4648 alphabet, '=' padding
 * required, no white space). Returns a malloc'd buffer with a NUL after the
 * *out_len decoded bytes, or NULL when the text is not valid base64 or
 * memory runs out.
 */
unsigned char *pubsub_base64_decode(const char *text, size_t n, size_t *out_len);

/**
 * Decode the "data" member of a Pub/Sub envelope in place: the decoded JSON
 * value (any type), else the decoded text as a string when it is UTF-8.
 * The base64 text moves to "data_base64". Returns 0 when data was decoded,
 * -1 when envelope is not an object with a string "data" that is valid
 * base64, or the bytes are neither JSON nor UTF-8 text (the envelope is then
 * left unchanged).
 */
int pubsub_decode_envelope(json_t *envelope);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_PUBSUB_H */
