/* cloud_store — persistent cloud state in one JSON file (see cloud_store.h). */
#include "cloud_store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cloud_store {
    char *path;
    json_t *root;
};

char *cloud_base64(const void *data, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        abort();
    EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    return out;
}

/* Decode base64 text; NULL when invalid. */
static unsigned char *base64_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    if (n % 4)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 1);
    if (!out)
        abort();
    int got = EVP_DecodeBlock(out, (const unsigned char *)text, (int)n);
    if (got < 0) {
        free(out);
        return NULL;
    }
    size_t pad = (n && text[n - 1] == '=') + (n > 1 && text[n - 2] == '=');
    *len = (size_t)got - pad;
    return out;
}

struct cloud_store *cloud_store_open(const char *path, char *err, size_t err_len)
{
    struct cloud_store *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->path = path ? strdup(path) : NULL;
    if (path && access(path, F_OK) == 0) {
        json_error_t jerr;
        s->root = json_load_file(path, 0, &jerr);
        if (!s->root || !json_is_object(s->root)) {
            snprintf(err, err_len, "%s:%d: %s", path, jerr.line,
                     s->root ? "the store must be a JSON object" : jerr.text);
            cloud_store_close(s);
            return NULL;
        }
    } else {
        s->root = json_object();
    }
    return s;
}

void cloud_store_close(struct cloud_store *store)
{
    if (!store)
        return;
    json_decref(store->root);
    free(store->path);
    free(store);
}

json_t *cloud_store_object(struct cloud_store *store, const char *key)
{
    json_t *o = json_object_get(store->root, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(store->root, key, o);
    }
    return o;
}

int cloud_store_save(struct cloud_store *store)
{
    if (!store->path)
        return 0;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", store->path);
    if (json_dump_file(store->root, tmp, JSON_INDENT(1) | JSON_SORT_KEYS) != 0)
        return -1;
    return rename(tmp, store->path) == 0 ? 0 : -1;
}

/* The per-device object of kind ("config" / "state"), or NULL. */
static json_t *blob_obj(struct cloud_store *store, const char *kind, const char *device)
{
    json_t *dev = json_object_get(cloud_store_object(store, "devices"), device);
    return json_object_get(dev, kind);
}

int cloud_store_get_blob(struct cloud_store *store, const char *kind, const char *device,
                         struct cloud_blob *out)
{
    json_t *b = blob_obj(store, kind, device);
    const char *data = json_string_value(json_object_get(b, "data"));
    if (!data)
        return -1;
    out->data = base64_decode(data, &out->len);
    if (!out->data)
        return -1;
    out->version = json_integer_value(json_object_get(b, "version"));
    out->updated_ms = json_integer_value(json_object_get(b, "updated_ms"));
    return 0;
}

int cloud_store_put_blob(struct cloud_store *store, const char *kind, const char *device,
                         const void *data, size_t len, int64_t now_ms, int64_t version)
{
    json_t *devices = cloud_store_object(store, "devices");
    json_t *dev = json_object_get(devices, device);
    if (!json_is_object(dev)) {
        dev = json_object();
        json_object_set_new(devices, device, dev);
    }
    char *b64 = cloud_base64(data, len);
    json_object_set_new(dev, kind,
                        json_pack("{s:I, s:I, s:s}", "version", (json_int_t)version, "updated_ms",
                                  (json_int_t)now_ms, "data", b64));
    free(b64);
    return cloud_store_save(store);
}
