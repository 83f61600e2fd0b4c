/*
 * cloud_store — the cloud side's persistent state (GCP device configs and
 * states, AWS shadows), kept as one JSON file under the broker's --dir and
 * rewritten atomically (write + rename) after every change, so a broker
 * restart loses nothing.
 */
#ifndef CELLBENCH_BROKER_CLOUD_STORE_H
#define CELLBENCH_BROKER_CLOUD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/** An open store. */
struct cloud_store;

/**
 * Open the store backed by path (NULL: memory only). A missing file is an
 * empty store; an unreadable or corrupt one fails with a reason in err.
 */
struct cloud_store *cloud_store_open(const char *path, char *err, size_t err_len);

/** Close a store (NULL is ignored). */
void cloud_store_close(struct cloud_store *store);

/** A stored blob (config or state) of a device. */
struct cloud_blob {
    int64_t version;     /* configs: 1, 2, ...; states: count of updates */
    int64_t updated_ms;  /* virtual time of the last update */
    unsigned char *data; /* malloc'd copy; free() it */
    size_t len;
};

/**
 * Get the latest blob of kind ("config" or "state") for device into *out.
 * Returns 0, or -1 when there is none.
 */
int cloud_store_get_blob(struct cloud_store *store, const char *kind, const char *device,
                         struct cloud_blob *out);

/**
 * Replace the blob of kind for device with this version.
 * Returns 0, or -1 when the file could not be written.
 */
int cloud_store_put_blob(struct cloud_store *store, const char *kind, const char *device,
                         const void *data, size_t len, int64_t now_ms, int64_t version);

/** The JSON object stored under key (created empty when missing); borrowed. */
json_t *cloud_store_object(struct cloud_store *store, const char *key);

/** Write the store to its file after a change made through cloud_store_object. */
int cloud_store_save(struct cloud_store *store);

/** Base64 of data (malloc'd, NUL-terminated). */
char *cloud_base64(const void *data, size_t len);

#endif /* CELLBENCH_BROKER_CLOUD_STORE_H */
