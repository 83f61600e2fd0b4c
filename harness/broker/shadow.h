/*
 * shadow — the AWS IoT classic Device Shadow document logic (cloud-rules.md
 * §1.8): merge with null-deletes, versions and conflicts, per-leaf metadata,
 * delta, the documents message, the 8 KB limit and the error documents.
 * Pure jansson code: the plugin feeds requests in and publishes the replies.
 *
 * Stored document: {"state": {"desired": {..}, "reported": {..}},
 * "metadata": {"desired": {..}, "reported": {..}}, "version": N}, or
 * {"deleted": true, "version": N} after a delete (the version carries on).
 */
#ifndef CELLBENCH_BROKER_SHADOW_H
#define CELLBENCH_BROKER_SHADOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** Largest desired + reported state, bytes of compact JSON. */
#define SHADOW_MAX_STATE_BYTES 8192
/** Deepest nesting allowed inside desired / reported. */
#define SHADOW_MAX_DEPTH 6
/** Longest clientToken, bytes. */
#define SHADOW_MAX_TOKEN 64

/** What one request produced; every member is NULL when not sent. */
struct shadow_reply {
    json_t *accepted;  /* body for <op>/accepted */
    json_t *rejected;  /* error document for <op>/rejected */
    json_t *delta;     /* body for update/delta */
    json_t *documents; /* body for update/documents */
    json_t *stored;    /* the new stored document (NULL: unchanged) */
};

/** Free every member of a reply. */
void shadow_reply_clear(struct shadow_reply *reply);

/**
 * Apply an update request (payload of len bytes) to stored (NULL: no
 * shadow yet) at Unix time now_s. Fills reply.
 */
void shadow_update(const json_t *stored, const void *payload, size_t len, int64_t now_s,
                   struct shadow_reply *reply);

/** Answer a get request (the payload may carry a clientToken). */
void shadow_get(const json_t *stored, const char *shadow_name, const void *payload, size_t len,
                int64_t now_s, struct shadow_reply *reply);

/** Answer a delete request; on success reply->stored is the deleted marker. */
void shadow_delete(const json_t *stored, const char *shadow_name, const void *payload, size_t len,
                   int64_t now_s, struct shadow_reply *reply);

#endif /* CELLBENCH_BROKER_SHADOW_H */
