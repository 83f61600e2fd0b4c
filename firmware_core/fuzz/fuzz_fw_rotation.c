/*
 * fuzz_fw_rotation.c - libFuzzer target for fw_rotation's byte-facing
 * parts: the input is offered as a configuration document, as a raw CA PEM
 * and as a raw endpoint, with connection results in between; the pairs
 * must stay well-formed and survive a reload from storage unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_rotation.h"

struct store {
    uint8_t blob[sizeof(struct fw_rotation_record)];
    size_t len;
};

static uint32_t now_ms(void *ctx)
{
    (void)ctx;
    return 0;
}

static int32_t load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    struct store *s = ctx;
    (void)key;
    if (s->len > cap)
        return -1;
    memcpy(buf, s->blob, s->len);
    *len = s->len;
    return 0;
}

static int32_t save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    struct store *s = ctx;
    (void)key;
    if (len > sizeof(s->blob))
        return -1;
    memcpy(s->blob, buf, len);
    s->len = len;
    return 0;
}

static const char factory_pem[] = "-----BEGIN CERTIFICATE-----\nQUFB\n-----END CERTIFICATE-----\n";

static void init(struct fw_rotation *r, struct fw_port *port)
{
    struct fw_rotation_config c;
    memset(&c, 0, sizeof(c));
    c.port = port;
    c.endpoint = "broker.example:8883";
    c.ca_name = "ca.pem";
    c.ca = (const uint8_t *)factory_pem;
    c.ca_len = sizeof(factory_pem) - 1;
    c.setup.ssl_ctx = 0;
    if (!fw_rotation_init(r, &c))
        abort();
}

static void check(const struct fw_rotation *r)
{
    const struct fw_rotation_pair *a = fw_rotation_active(r);
    if (memchr(a->endpoint, '\0', sizeof(a->endpoint)) == NULL || a->endpoint[0] == '\0' ||
        a->ca_len == 0 || a->ca_len > FW_ROTATION_CA_MAX ||
        memchr(a->ca_name, '\0', sizeof(a->ca_name)) == NULL ||
        (fw_rotation_previous(r) == NULL) != !fw_rotation_has_pending(r))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    static struct fw_rotation r, again;
    static struct store store;
    struct fw_port port;
    size_t i;
    memset(&port, 0, sizeof(port));
    memset(&store, 0, sizeof(store));
    port.ctx = &store;
    port.now_ms = now_ms;
    port.persist_load = load;
    port.persist_save = save;
    init(&r, &port);
    fw_rotation_offer_config(&r, (const char *)data, len);
    check(&r);
    for (i = 0; i < 4; i++)
        fw_rotation_connect_result(&r, (len >> i) & 1u);
    check(&r);
    fw_rotation_offer(&r, NULL, 0, data, len);
    check(&r);
    fw_rotation_offer(&r, (const char *)data, len, NULL, 0);
    check(&r);
    fw_rotation_connect_result(&r, true);
    check(&r);
    init(&again, &port); /* a reboot: the stored record */
    check(&again);
    if (strcmp(fw_rotation_active(&again)->endpoint, fw_rotation_active(&r)->endpoint) != 0 ||
        fw_rotation_has_pending(&again) != fw_rotation_has_pending(&r))
        abort();
    return 0;
}
