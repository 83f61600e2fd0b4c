/* shadow — classic Device Shadow documents (see shadow.h). */
#include "shadow.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void shadow_reply_clear(struct shadow_reply *reply)
{
    json_decref(reply->accepted);
    json_decref(reply->rejected);
    json_decref(reply->delta);
    json_decref(reply->documents);
    json_decref(reply->stored);
    memset(reply, 0, sizeof *reply);
}

static json_t *error_doc(int code, const char *message, int64_t now_s, const char *token)
{
    json_t *e = json_pack("{s:i, s:s, s:I}", "code", code, "message", message, "timestamp", (json_int_t)now_s);
    if (token)
        json_object_set_new(e, "clientToken", json_string(token));
    return e;
}

static bool exists(const json_t *stored)
{
    return json_is_object(stored) && !json_is_true(json_object_get(stored, "deleted"));
}

static int64_t version_of(const json_t *stored)
{
    return json_is_object(stored) ? json_integer_value(json_object_get(stored, "version")) : 0;
}

/* ------------------------------------------------------------ tree helpers */

static int depth_of(const json_t *v)
{
    if (!json_is_object(v))
        return 0;
    int max = 0;
    const char *k;
    json_t *child;
    json_object_foreach((json_t *)v, k, child) {
        int d = depth_of(child);
        if (d > max)
            max = d;
    }
    return max + 1;
}

/* Merge patch into target: null deletes, objects merge, anything else replaces. */
static void merge(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *t = json_object_get(target, k);
            if (!json_is_object(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            merge(t, v);
            if (json_object_size(t) == 0)
                json_object_del(target, k);
        } else {
            json_object_set(target, k, v);
        }
    }
}

static bool is_leaf_meta(const json_t *m)
{
    return json_is_object(m) && json_object_size(m) == 1 && json_is_integer(json_object_get(m, "timestamp"));
}

/* Metadata of a patch: the same keys with {"timestamp": now} on each leaf. */
static json_t *meta_of(const json_t *patch, int64_t now_s)
{
    json_t *m = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_object(v))
            json_object_set_new(m, k, meta_of(v, now_s));
        else
            json_object_set_new(m, k, json_pack("{s:I}", "timestamp", (json_int_t)now_s));
    }
    return m;
}

/* Merge a patch's metadata into target metadata. */
static void meta_merge(json_t *target, const json_t *patch, int64_t now_s)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v)) {
            json_t *t = json_object_get(target, k);
            if (!json_is_object(t) || is_leaf_meta(t)) {
                t = json_object();
                json_object_set_new(target, k, t);
            }
            meta_merge(t, v, now_s);
            if (json_object_size(t) == 0)
                json_object_del(target, k);
        } else {
            json_object_set_new(target, k, json_pack("{s:I}", "timestamp", (json_int_t)now_s));
        }
    }
}

/* Keys of desired whose value differs from reported (nested paths kept). */
static json_t *delta_of(const json_t *desired, const json_t *reported)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)desired, k, v) {
        json_t *r = json_object_get(reported, k);
        if (json_is_object(v) && json_is_object(r)) {
            json_t *sub = delta_of(v, r);
            if (json_object_size(sub))
                json_object_set_new(d, k, sub);
            else
                json_decref(sub);
        } else if (!r || !json_equal(v, r)) {
            json_object_set(d, k, v);
        }
    }
    return d;
}

/* The part of meta whose keys are in tree. */
static json_t *meta_subset(const json_t *meta, const json_t *tree)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tree, k, v) {
        json_t *m = json_object_get(meta, k);
        if (!m)
            continue;
        if (json_is_object(v) && !is_leaf_meta(m))
            json_object_set_new(out, k, meta_subset(m, v));
        else
            json_object_set(out, k, m);
    }
    return out;
}

/* ------------------------------------------------------------ requests */

/* Parse an optional JSON payload and its clientToken. Returns 0 or an HTTP-like code. */
static int parse_request(const void *payload, size_t len, json_t **req, const char **token,
                         const char **why)
{
    *req = NULL;
    *token = NULL;
    if (len == 0)
        return 0;
    *req = json_loadb(payload, len, 0, NULL);
    if (!json_is_object(*req)) {
        *why = "Invalid JSON";
        return 400;
    }
    json_t *t = json_object_get(*req, "clientToken");
    if (t && (!json_is_string(t) || strlen(json_string_value(t)) > SHADOW_MAX_TOKEN)) {
        *why = "Invalid clientToken";
        return 400;
    }
    *token = json_string_value(t);
    return 0;
}

/* Check the "state" node of an update. Returns 0 or 400 with *why. */
static int check_state(const json_t *state, const char **why)
{
    if (!json_is_object(state)) {
        *why = state ? "State node must be an object" : "Missing required node: state";
        return 400;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)state, k, v) {
        if (strcmp(k, "desired") != 0 && strcmp(k, "reported") != 0) {
            *why = "State contains an invalid node";
            return 400;
        }
        if (!json_is_object(v) && !json_is_null(v)) {
            *why = "Invalid type for node, expected an object";
            return 400;
        }
        if (depth_of(v) > SHADOW_MAX_DEPTH) {
            *why = "JSON contains too many levels of nesting; maximum is 6";
            return 400;
        }
    }
    return 0;
}

static int check_version(const json_t *req, int64_t current, const char **why)
{
    json_t *v = json_object_get(req, "version");
    if (!v)
        return 0;
    if (!json_is_integer(v)) {
        *why = "Invalid version";
        return 400;
    }
    if (json_integer_value(v) != current) {
        *why = "Version conflict";
        return 409;
    }
    return 0;
}

/* Apply state to a copy of the stored document (sections, metadata). */
static json_t *apply_state(const json_t *stored, const json_t *state, int64_t now_s)
{
    json_t *doc = exists(stored) ? json_deep_copy(stored) : json_pack("{s:{}, s:{}}", "state", "metadata");
    json_t *st = json_object_get(doc, "state"), *md = json_object_get(doc, "metadata");
    const char *section;
    json_t *patch;
    json_object_foreach((json_t *)state, section, patch) {
        json_t *target = json_object_get(st, section), *mtarget = json_object_get(md, section);
        if (json_is_null(patch)) {
            json_object_del(st, section);
            json_object_del(md, section);
            continue;
        }
        if (!target) {
            json_object_set_new(st, section, target = json_object());
            json_object_set_new(md, section, mtarget = json_object());
        }
        merge(target, patch);
        meta_merge(mtarget, patch, now_s);
        if (json_object_size(target) == 0) {
            json_object_del(st, section);
            json_object_del(md, section);
        }
    }
    json_object_del(doc, "deleted");
    json_object_set_new(doc, "version", json_integer(version_of(stored) + 1));
    return doc;
}

static size_t state_size(const json_t *doc)
{
    char *text = json_dumps(json_object_get(doc, "state"), JSON_COMPACT);
    size_t n = text ? strlen(text) : 0;
    free(text);
    return n;
}

static json_t *version_view(const json_t *doc)
{
    return json_pack("{s:O, s:O, s:I}", "state", json_object_get(doc, "state"), "metadata",
                     json_object_get(doc, "metadata"), "version", (json_int_t)version_of(doc));
}

static void set_token(json_t *obj, const char *token)
{
    if (obj && token)
        json_object_set_new(obj, "clientToken", json_string(token));
}

static void update_replies(const json_t *stored, json_t *doc, const json_t *state, int64_t now_s,
                           const char *token, struct shadow_reply *reply)
{
    int64_t version = version_of(doc);
    reply->accepted = json_pack("{s:O, s:o, s:I, s:I}", "state", state, "metadata", meta_of(state, now_s),
                                "version", (json_int_t)version, "timestamp", (json_int_t)now_s);
    set_token(reply->accepted, token);
    json_t *desired = json_object_get(json_object_get(doc, "state"), "desired");
    if (json_object_get(state, "desired") && desired) {
        json_t *delta = delta_of(desired, json_object_get(json_object_get(doc, "state"), "reported"));
        if (json_object_size(delta)) {
            json_t *dmeta = meta_subset(json_object_get(json_object_get(doc, "metadata"), "desired"), delta);
            reply->delta = json_pack("{s:I, s:I, s:o, s:o}", "version", (json_int_t)version, "timestamp",
                                     (json_int_t)now_s, "state", delta, "metadata", dmeta);
            set_token(reply->delta, token);
        } else {
            json_decref(delta);
        }
    }
    reply->documents = json_pack("{s:o, s:I}", "current", version_view(doc), "timestamp", (json_int_t)now_s);
    if (exists(stored))
        json_object_set_new(reply->documents, "previous", version_view(stored));
    set_token(reply->documents, token);
    reply->stored = doc;
}

void shadow_update(const json_t *stored, const void *payload, size_t len, int64_t now_s,
                   struct shadow_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    json_t *req;
    const char *token, *why = NULL;
    int code = parse_request(payload, len, &req, &token, &why);
    if (!code && !req) {
        code = 400;
        why = "Invalid JSON";
    }
    const json_t *state = json_object_get(req, "state");
    if (!code)
        code = check_state(state, &why);
    if (!code)
        code = check_version(req, version_of(stored), &why);
    json_t *doc = code ? NULL : apply_state(stored, state, now_s);
    if (doc && state_size(doc) > SHADOW_MAX_STATE_BYTES) {
        code = 413;
        why = "The payload exceeds the maximum size allowed";
        json_decref(doc);
    }
    if (code)
        reply->rejected = error_doc(code, why, now_s, token);
    else
        update_replies(stored, doc, state, now_s, token, reply);
    json_decref(req);
}

static json_t *not_found(const char *name, int64_t now_s, const char *token)
{
    char msg[200];
    snprintf(msg, sizeof msg, "No shadow exists with name: '%s'", name);
    return error_doc(404, msg, now_s, token);
}

void shadow_get(const json_t *stored, const char *shadow_name, const void *payload, size_t len,
                int64_t now_s, struct shadow_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    json_t *req;
    const char *token, *why = NULL;
    int code = parse_request(payload, len, &req, &token, &why);
    if (code) {
        reply->rejected = error_doc(code, why, now_s, token);
    } else if (!exists(stored)) {
        reply->rejected = not_found(shadow_name, now_s, token);
    } else {
        json_t *state = json_deep_copy(json_object_get(stored, "state"));
        json_t *desired = json_object_get(state, "desired");
        if (desired) {
            json_t *delta = delta_of(desired, json_object_get(state, "reported"));
            if (json_object_size(delta))
                json_object_set(state, "delta", delta);
            json_decref(delta);
        }
        reply->accepted = json_pack("{s:o, s:O, s:I, s:I}", "state", state, "metadata",
                                    json_object_get(stored, "metadata"), "version",
                                    (json_int_t)version_of(stored), "timestamp", (json_int_t)now_s);
        set_token(reply->accepted, token);
    }
    json_decref(req);
}

void shadow_delete(const json_t *stored, const char *shadow_name, const void *payload, size_t len,
                   int64_t now_s, struct shadow_reply *reply)
{
    memset(reply, 0, sizeof *reply);
    json_t *req;
    const char *token, *why = NULL;
    int code = parse_request(payload, len, &req, &token, &why);
    if (!code && req)
        code = check_version(req, version_of(stored), &why);
    if (code) {
        reply->rejected = error_doc(code, why, now_s, token);
    } else if (!exists(stored)) {
        reply->rejected = not_found(shadow_name, now_s, token);
    } else {
        reply->accepted = json_pack("{s:I, s:I}", "version", (json_int_t)version_of(stored), "timestamp",
                                    (json_int_t)now_s);
        set_token(reply->accepted, token);
        reply->stored = json_pack("{s:b, s:I}", "deleted", 1, "version", (json_int_t)version_of(stored));
    }
    json_decref(req);
}
