/* registry — load and check the AWS / GCP registry JSON (see registry.h). */
#include "registry.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Loading context: where we are, for error messages. */
struct loader {
    const char *file;
    char base_dir[1024];
    char *err;
    size_t err_len;
};

static int fail(struct loader *ld, const char *json_path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record "FILE: PATH: reason" and return -1. */
static int fail(struct loader *ld, const char *json_path, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    snprintf(ld->err, ld->err_len, "%s: %s: %s", ld->file, json_path, reason);
    return -1;
}

/* snprintf for JSON paths: a long path is cut, never overflowing. */
static void jpath(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

int cloud_profile_parse(const char *text, enum cloud_profile *profile)
{
    if (text && strcmp(text, "aws") == 0) {
        *profile = CLOUD_PROFILE_AWS;
        return 0;
    }
    if (text && strcmp(text, "gcp") == 0) {
        *profile = CLOUD_PROFILE_GCP;
        return 0;
    }
    return -1;
}

/* ------------------------------------------------------------ JSON helpers */

/* A required string member; NULL (and an error) when missing or not a string. */
static const char *req_string(struct loader *ld, json_t *obj, const char *path, const char *key)
{
    char p[256];
    json_t *v = json_object_get(obj, key);
    jpath(p, sizeof p, "%s.%s", path, key);
    if (!v) {
        fail(ld, p, "missing (a string is required)");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fail(ld, p, "must be a non-empty string");
        return NULL;
    }
    return json_string_value(v);
}

/* An optional string member: *out NULL when absent. Returns 0 or -1. */
static int opt_string(struct loader *ld, json_t *obj, const char *path, const char *key,
                      const char **out)
{
    char p[256];
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    jpath(p, sizeof p, "%s.%s", path, key);
    if (!json_is_string(v))
        return fail(ld, p, "must be a string");
    *out = json_string_value(v);
    return 0;
}

/* A required array member (may be empty unless nonempty is set). */
static json_t *req_array(struct loader *ld, json_t *obj, const char *path, const char *key,
                         bool nonempty)
{
    char p[256];
    json_t *v = json_object_get(obj, key);
    jpath(p, sizeof p, "%s.%s", path, key);
    if (!v || !json_is_array(v)) {
        fail(ld, p, "%s (an array is required)", v ? "not an array" : "missing");
        return NULL;
    }
    if (nonempty && json_array_size(v) == 0) {
        fail(ld, p, "must not be empty");
        return NULL;
    }
    return v;
}

/* Read a whole file resolved against the registry's directory. */
static char *read_rel_file(struct loader *ld, const char *json_path, const char *name, size_t *len)
{
    char full[2048];
    if (name[0] == '/')
        snprintf(full, sizeof full, "%s", name);
    else
        snprintf(full, sizeof full, "%s/%s", ld->base_dir, name);
    FILE *f = fopen(full, "rb");
    if (!f) {
        fail(ld, json_path, "cannot open %s: %s", full, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, used = 0;
    for (;;) {
        if (used + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb)
                abort();
            buf = nb;
        }
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[used] = '\0';
    *len = used;
    return buf;
}

/* Parse an expiry: integer Unix seconds or "YYYY-MM-DDTHH:MM:SSZ". */
static int parse_expiry(struct loader *ld, json_t *v, const char *path, int64_t *out)
{
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (end && *end == '\0') {
            *out = (int64_t)timegm(&tm);
            return 0;
        }
    }
    return fail(ld, path, "must be Unix seconds or a UTC time like \"2030-01-01T00:00:00Z\"");
}

/* ------------------------------------------------------------ GCP */

/* Turn PEM text (public key or X.509 certificate) into a public-key PEM. */
static EVP_PKEY *pem_to_pkey(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (key)
        return key;
    bio = BIO_new_mem_buf(pem, (int)len);
    X509 *crt = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!crt)
        return NULL;
    key = X509_get_pubkey(crt);
    X509_free(crt);
    return key;
}

static char *pkey_to_pem(EVP_PKEY *key, size_t *len)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    PEM_write_bio_PUBKEY(bio, key);
    long n = BIO_get_mem_data(bio, &data);
    char *out = xcalloc((size_t)n + 1, 1);
    memcpy(out, data, (size_t)n);
    *len = (size_t)n;
    BIO_free(bio);
    return out;
}

static int load_gcp_key(struct loader *ld, json_t *jk, const char *path, struct gcp_key *key)
{
    char p[256];
    const char *alg = req_string(ld, jk, path, "algorithm");
    const char *file = alg ? req_string(ld, jk, path, "file") : NULL;
    if (!file)
        return -1;
    jpath(p, sizeof p, "%s.algorithm", path);
    if (strcmp(alg, "ES256") == 0)
        key->alg = GCP_KEY_ES256;
    else if (strcmp(alg, "RS256") == 0)
        key->alg = GCP_KEY_RS256;
    else
        return fail(ld, p, "unsupported algorithm \"%s\" (ES256 or RS256)", alg);
    json_t *exp = json_object_get(jk, "expires");
    jpath(p, sizeof p, "%s.expires", path);
    if (exp && !json_is_null(exp) && parse_expiry(ld, exp, p, &key->expires_s) < 0)
        return -1;
    jpath(p, sizeof p, "%s.file", path);
    size_t len;
    char *text = read_rel_file(ld, p, file, &len);
    if (!text)
        return -1;
    EVP_PKEY *pk = pem_to_pkey(text, len);
    free(text);
    if (!pk)
        return fail(ld, p, "%s holds no PEM public key or certificate", file);
    int want = key->alg == GCP_KEY_ES256 ? EVP_PKEY_EC : EVP_PKEY_RSA;
    if (EVP_PKEY_base_id(pk) != want) {
        EVP_PKEY_free(pk);
        return fail(ld, p, "%s is not %s key", file, key->alg == GCP_KEY_ES256 ? "an EC" : "an RSA");
    }
    key->pem = pkey_to_pem(pk, &key->pem_len);
    EVP_PKEY_free(pk);
    return 0;
}

/* Device and registry ids: [a-zA-Z][-a-zA-Z0-9._+~%]{2,254}, not "goog...". */
static bool gcp_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n < 3 || n > 255 || strncmp(id, "goog", 4) == 0)
        return false;
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z')))
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._+~%") == n;
}

static int load_gcp_bound(struct loader *ld, json_t *jd, const char *path, struct gcp_device *dev)
{
    char p[256];
    json_t *bound = json_object_get(jd, "bound");
    if (!bound)
        return 0;
    jpath(p, sizeof p, "%s.bound", path);
    if (!json_is_array(bound))
        return fail(ld, p, "must be an array of device ids");
    dev->bound = xcalloc(json_array_size(bound), sizeof *dev->bound);
    size_t i;
    json_t *v;
    json_array_foreach(bound, i, v) {
        jpath(p, sizeof p, "%s.bound[%zu]", path, i);
        if (!json_is_string(v))
            return fail(ld, p, "must be a device id string");
        dev->bound[dev->bound_count++] = xstrdup(json_string_value(v));
    }
    if (dev->bound_count && !dev->gateway)
        return fail(ld, p, "only a gateway (\"gateway\": true) can have bound devices");
    return 0;
}

static int load_gcp_device(struct loader *ld, json_t *jd, const char *path, struct gcp_device *dev)
{
    char p[256];
    if (!json_is_object(jd))
        return fail(ld, path, "must be an object");
    const char *id = req_string(ld, jd, path, "id");
    if (!id)
        return -1;
    jpath(p, sizeof p, "%s.id", path);
    if (!gcp_id_valid(id))
        return fail(ld, p, "\"%s\" is not a valid device id ([a-zA-Z][-a-zA-Z0-9._+~%%]{2,254})", id);
    dev->id = xstrdup(id);
    json_t *gw = json_object_get(jd, "gateway");
    jpath(p, sizeof p, "%s.gateway", path);
    if (gw && !json_is_boolean(gw))
        return fail(ld, p, "must be true or false");
    dev->gateway = gw && json_is_true(gw);
    json_t *keys = req_array(ld, jd, path, "keys", false);
    if (!keys)
        return -1;
    jpath(p, sizeof p, "%s.keys", path);
    if (json_array_size(keys) > GCP_MAX_KEYS)
        return fail(ld, p, "at most %d credentials per device", GCP_MAX_KEYS);
    if (json_array_size(keys) == 0 && !dev->gateway)
        return fail(ld, p, "a device needs at least one key");
    size_t i;
    json_t *jk;
    json_array_foreach(keys, i, jk) {
        jpath(p, sizeof p, "%s.keys[%zu]", path, i);
        if (!json_is_object(jk))
            return fail(ld, p, "must be an object {algorithm, file[, expires]}");
        if (load_gcp_key(ld, jk, p, &dev->keys[dev->key_count]) < 0)
            return -1;
        dev->key_count++;
    }
    return load_gcp_bound(ld, jd, path, dev);
}

static int load_gcp_routes(struct loader *ld, json_t *root, struct gcp_registry *reg)
{
    char p[256];
    json_t *routes = json_object_get(root, "event_notification_configs");
    if (!routes)
        return 0;
    if (!json_is_array(routes))
        return fail(ld, "$.event_notification_configs", "must be an array");
    if (json_array_size(routes) > 10)
        return fail(ld, "$.event_notification_configs", "at most 10 configs");
    reg->routes = xcalloc(json_array_size(routes), sizeof *reg->routes);
    size_t i;
    json_t *jr;
    json_array_foreach(routes, i, jr) {
        jpath(p, sizeof p, "$.event_notification_configs[%zu]", i);
        if (!json_is_object(jr))
            return fail(ld, p, "must be an object {subfolder, topic}");
        const char *sub;
        if (opt_string(ld, jr, p, "subfolder", &sub) < 0)
            return -1;
        const char *topic = req_string(ld, jr, p, "topic");
        if (!topic)
            return -1;
        reg->routes[i].subfolder = xstrdup(sub);
        reg->routes[i].topic = xstrdup(topic);
        reg->route_count++;
    }
    return 0;
}

static int check_gcp_bindings(struct loader *ld, struct gcp_registry *reg)
{
    char p[256];
    for (int d = 0; d < reg->device_count; d++) {
        for (int b = 0; b < reg->devices[d].bound_count; b++) {
            const char *id = reg->devices[d].bound[b];
            jpath(p, sizeof p, "$.devices[%d].bound[%d]", d, b);
            const struct gcp_device *dev = gcp_registry_device(reg, id);
            if (!dev)
                return fail(ld, p, "unknown device \"%s\"", id);
            if (dev->gateway)
                return fail(ld, p, "\"%s\" is a gateway and cannot be bound", id);
        }
        for (int o = 0; o < d; o++) {
            if (strcmp(reg->devices[o].id, reg->devices[d].id) == 0) {
                jpath(p, sizeof p, "$.devices[%d].id", d);
                return fail(ld, p, "duplicate device id \"%s\"", reg->devices[d].id);
            }
        }
    }
    return 0;
}

static int load_gcp(struct loader *ld, json_t *root, struct gcp_registry *reg)
{
    const char *project = req_string(ld, root, "$", "project");
    const char *region = project ? req_string(ld, root, "$", "region") : NULL;
    const char *registry = region ? req_string(ld, root, "$", "registry") : NULL;
    if (!registry)
        return -1;
    if (!gcp_id_valid(registry))
        return fail(ld, "$.registry", "\"%s\" is not a valid registry id", registry);
    reg->project = xstrdup(project);
    reg->region = xstrdup(region);
    reg->registry = xstrdup(registry);
    const char *state_topic;
    if (opt_string(ld, root, "$", "state_notification_topic", &state_topic) < 0)
        return -1;
    reg->state_topic = state_topic ? xstrdup(state_topic) : NULL;
    json_t *devices = req_array(ld, root, "$", "devices", false);
    if (!devices)
        return -1;
    reg->devices = xcalloc(json_array_size(devices), sizeof *reg->devices);
    size_t i;
    json_t *jd;
    json_array_foreach(devices, i, jd) {
        char p[64];
        jpath(p, sizeof p, "$.devices[%zu]", i);
        reg->device_count++;
        if (load_gcp_device(ld, jd, p, &reg->devices[i]) < 0)
            return -1;
    }
    if (load_gcp_routes(ld, root, reg) < 0)
        return -1;
    return check_gcp_bindings(ld, reg);
}

const struct gcp_device *gcp_registry_device(const struct gcp_registry *reg, const char *id)
{
    for (int i = 0; id && i < reg->device_count; i++) {
        if (reg->devices[i].id && strcmp(reg->devices[i].id, id) == 0)
            return &reg->devices[i];
    }
    return NULL;
}

bool gcp_device_is_bound(const struct gcp_device *gw, const char *device_id)
{
    for (int i = 0; gw && i < gw->bound_count; i++) {
        if (strcmp(gw->bound[i], device_id) == 0)
            return true;
    }
    return false;
}

const char *gcp_registry_event_topic(const struct gcp_registry *reg, const char *subfolder)
{
    for (int i = 0; i < reg->route_count; i++) {
        const char *s = reg->routes[i].subfolder;
        if (s[0] == '\0' || strcmp(s, subfolder) == 0)
            return reg->routes[i].topic;
    }
    return NULL;
}

/* ------------------------------------------------------------ AWS */

static int parse_action(const char *text, unsigned *bits)
{
    static const struct {
        const char *name;
        unsigned bit;
    } names[] = {
        { "iot:Connect", AWS_ACT_CONNECT },
        { "iot:Publish", AWS_ACT_PUBLISH },
        { "iot:Subscribe", AWS_ACT_SUBSCRIBE },
        { "iot:Receive", AWS_ACT_RECEIVE },
        { "iot:RetainPublish", AWS_ACT_RETAIN_PUBLISH },
    };
    if (strcmp(text, "iot:*") == 0 || strcmp(text, "*") == 0) {
        *bits |= AWS_ACT_CONNECT | AWS_ACT_PUBLISH | AWS_ACT_SUBSCRIBE | AWS_ACT_RECEIVE |
                 AWS_ACT_RETAIN_PUBLISH;
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(text, names[i].name) == 0) {
            *bits |= names[i].bit;
            return 0;
        }
    }
    return -1;
}

/* Action or Resource: a string or an array of strings. */
static json_t *string_or_array(json_t *v)
{
    if (json_is_string(v)) {
        json_t *a = json_array();
        json_array_append(a, v);
        return a;
    }
    if (json_is_array(v))
        return json_incref(v);
    return NULL;
}

static int load_statement_actions(struct loader *ld, json_t *js, const char *path,
                                  struct aws_statement *st)
{
    char p[256];
    jpath(p, sizeof p, "%s.Action", path);
    json_t *acts = string_or_array(json_object_get(js, "Action"));
    if (!acts || json_array_size(acts) == 0) {
        json_decref(acts);
        return fail(ld, p, "missing (a string or a non-empty array of actions)");
    }
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a) {
        if (!json_is_string(a) || parse_action(json_string_value(a), &st->actions) < 0) {
            json_decref(acts);
            jpath(p, sizeof p, "%s.Action[%zu]", path, i);
            return fail(ld, p, "unknown action (iot:Connect, iot:Publish, iot:Subscribe, "
                               "iot:Receive, iot:RetainPublish or iot:*)");
        }
    }
    json_decref(acts);
    return 0;
}

static int load_statement(struct loader *ld, json_t *js, const char *path, struct aws_statement *st)
{
    char p[256];
    if (!json_is_object(js))
        return fail(ld, path, "must be an object {Effect, Action, Resource}");
    const char *effect = req_string(ld, js, path, "Effect");
    if (!effect)
        return -1;
    jpath(p, sizeof p, "%s.Effect", path);
    if (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0)
        return fail(ld, p, "must be \"Allow\" or \"Deny\"");
    st->allow = strcmp(effect, "Allow") == 0;
    if (load_statement_actions(ld, js, path, st) < 0)
        return -1;
    jpath(p, sizeof p, "%s.Resource", path);
    json_t *res = string_or_array(json_object_get(js, "Resource"));
    if (!res || json_array_size(res) == 0) {
        json_decref(res);
        return fail(ld, p, "missing (a string or a non-empty array of ARNs)");
    }
    st->resources = xcalloc(json_array_size(res), sizeof *st->resources);
    size_t i;
    json_t *r;
    json_array_foreach(res, i, r) {
        if (!json_is_string(r)) {
            json_decref(res);
            jpath(p, sizeof p, "%s.Resource[%zu]", path, i);
            return fail(ld, p, "must be a string");
        }
        st->resources[st->resource_count++] = xstrdup(json_string_value(r));
    }
    json_decref(res);
    return 0;
}

static int load_policy(struct loader *ld, const char *name, json_t *jp, struct aws_policy *pol)
{
    char path[256], p[300];
    jpath(path, sizeof path, "$.policies.%s", name);
    pol->name = xstrdup(name);
    if (!json_is_object(jp))
        return fail(ld, path, "must be a policy document {\"Statement\": [...]}");
    json_t *sts = NULL;
    json_t *raw = json_object_get(jp, "Statement");
    if (json_is_object(raw)) {
        sts = json_array();
        json_array_append(sts, raw);
    } else if (json_is_array(raw)) {
        sts = json_incref(raw);
    }
    if (!sts) {
        jpath(p, sizeof p, "%s.Statement", path);
        return fail(ld, p, "missing (an array of statements)");
    }
    pol->statements = xcalloc(json_array_size(sts), sizeof *pol->statements);
    size_t i;
    json_t *js;
    json_array_foreach(sts, i, js) {
        jpath(p, sizeof p, "%s.Statement[%zu]", path, i);
        pol->statement_count++;
        if (load_statement(ld, js, p, &pol->statements[i]) < 0) {
            json_decref(sts);
            return -1;
        }
    }
    json_decref(sts);
    return 0;
}

static int load_thing_cert(struct loader *ld, const char *file, const char *path,
                           struct aws_thing *thing)
{
    size_t len;
    char *text = read_rel_file(ld, path, file, &len);
    if (!text)
        return -1;
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    X509 *crt = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(text);
    if (!crt)
        return fail(ld, path, "%s holds no PEM certificate", file);
    unsigned int n = 0;
    X509_digest(crt, EVP_sha256(), thing->cert_sha256, &n);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    ASN1_TIME_to_tm(X509_get0_notAfter(crt), &tm);
    thing->cert_not_after_s = (int64_t)timegm(&tm);
    X509_free(crt);
    return 0;
}

static int find_policy(const struct aws_registry *reg, const char *name)
{
    for (int i = 0; i < reg->policy_count; i++) {
        if (strcmp(reg->policies[i].name, name) == 0)
            return i;
    }
    return -1;
}

static int load_thing(struct loader *ld, json_t *jt, const char *path, struct aws_registry *reg,
                      struct aws_thing *thing)
{
    char p[256];
    if (!json_is_object(jt))
        return fail(ld, path, "must be an object {name, certificate, policies}");
    const char *name = req_string(ld, jt, path, "name");
    const char *cert = name ? req_string(ld, jt, path, "certificate") : NULL;
    if (!cert)
        return -1;
    thing->name = xstrdup(name);
    jpath(p, sizeof p, "%s.certificate", path);
    if (load_thing_cert(ld, cert, p, thing) < 0)
        return -1;
    json_t *pols = req_array(ld, jt, path, "policies", false);
    if (!pols)
        return -1;
    thing->policies = xcalloc(json_array_size(pols), sizeof *thing->policies);
    size_t i;
    json_t *v;
    json_array_foreach(pols, i, v) {
        jpath(p, sizeof p, "%s.policies[%zu]", path, i);
        int idx = json_is_string(v) ? find_policy(reg, json_string_value(v)) : -1;
        if (idx < 0)
            return fail(ld, p, "unknown policy (not a key of $.policies)");
        thing->policies[thing->policy_count++] = idx;
    }
    return 0;
}

static int load_aws_policies(struct loader *ld, json_t *root, struct aws_registry *reg)
{
    json_t *pols = json_object_get(root, "policies");
    if (!pols || !json_is_object(pols))
        return fail(ld, "$.policies", "%s (an object name -> policy document is required)",
                    pols ? "not an object" : "missing");
    reg->policies = xcalloc(json_object_size(pols), sizeof *reg->policies);
    const char *name;
    json_t *jp;
    json_object_foreach(pols, name, jp) {
        reg->policy_count++;
        if (load_policy(ld, name, jp, &reg->policies[reg->policy_count - 1]) < 0)
            return -1;
    }
    return 0;
}

static int load_aws(struct loader *ld, json_t *root, struct aws_registry *reg)
{
    const char *region, *account;
    if (opt_string(ld, root, "$", "region", &region) < 0 ||
        opt_string(ld, root, "$", "account", &account) < 0)
        return -1;
    reg->region = xstrdup(region ? region : "us-east-1");
    reg->account = xstrdup(account ? account : "123456789012");
    if (load_aws_policies(ld, root, reg) < 0)
        return -1;
    json_t *things = req_array(ld, root, "$", "things", false);
    if (!things)
        return -1;
    reg->things = xcalloc(json_array_size(things), sizeof *reg->things);
    size_t i;
    json_t *jt;
    json_array_foreach(things, i, jt) {
        char p[64];
        jpath(p, sizeof p, "$.things[%zu]", i);
        reg->thing_count++;
        if (load_thing(ld, jt, p, reg, &reg->things[i]) < 0)
            return -1;
    }
    return 0;
}

const struct aws_thing *aws_registry_thing_by_cert(const struct aws_registry *reg,
                                                   const unsigned char sha256[32])
{
    for (int i = 0; i < reg->thing_count; i++) {
        if (memcmp(reg->things[i].cert_sha256, sha256, 32) == 0)
            return &reg->things[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ load / free */

struct cloud_registry *cloud_registry_load(const char *path, enum cloud_profile profile,
                                           char *err, size_t err_len)
{
    struct loader ld = { .file = path, .err = err, .err_len = err_len };
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    snprintf(ld.base_dir, sizeof ld.base_dir, "%s", dirname(tmp));
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, err_len, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    struct cloud_registry *reg = xcalloc(1, sizeof *reg);
    reg->profile = profile;
    int rc;
    if (!json_is_object(root))
        rc = fail(&ld, "$", "the registry must be a JSON object");
    else if (profile == CLOUD_PROFILE_GCP)
        rc = load_gcp(&ld, root, &reg->gcp);
    else
        rc = load_aws(&ld, root, &reg->aws);
    json_decref(root);
    if (rc < 0) {
        cloud_registry_free(reg);
        return NULL;
    }
    return reg;
}

static void free_gcp(struct gcp_registry *g)
{
    for (int i = 0; i < g->device_count; i++) {
        struct gcp_device *d = &g->devices[i];
        for (int k = 0; k < GCP_MAX_KEYS; k++)
            free(d->keys[k].pem);
        for (int b = 0; b < d->bound_count; b++)
            free(d->bound[b]);
        free(d->bound);
        free(d->id);
    }
    for (int i = 0; i < g->route_count; i++) {
        free(g->routes[i].subfolder);
        free(g->routes[i].topic);
    }
    free(g->routes);
    free(g->devices);
    free(g->project);
    free(g->region);
    free(g->registry);
    free(g->state_topic);
}

static void free_aws(struct aws_registry *a)
{
    for (int i = 0; i < a->policy_count; i++) {
        struct aws_policy *p = &a->policies[i];
        for (int s = 0; s < p->statement_count; s++) {
            for (int r = 0; r < p->statements[s].resource_count; r++)
                free(p->statements[s].resources[r]);
            free(p->statements[s].resources);
        }
        free(p->statements);
        free(p->name);
    }
    for (int i = 0; i < a->thing_count; i++) {
        free(a->things[i].name);
        free(a->things[i].policies);
    }
    free(a->policies);
    free(a->things);
    free(a->region);
    free(a->account);
}

void cloud_registry_free(struct cloud_registry *reg)
{
    if (!reg)
        return;
    free_gcp(&reg->gcp);
    free_aws(&reg->aws);
    free(reg);
}
