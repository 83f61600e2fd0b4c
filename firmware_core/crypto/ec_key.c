/* ec_key.c - P-256 private keys from PKCS#8 or SEC 1 PEM/DER (see ec_key.h).
 * A small strict DER reader: definite lengths of at most two length bytes, every
 * element inside its parent, nothing left over at the end of a structure. */
#include "ec_key.h"

#include "p256.h"

/* DER tags used by the key structures. */
#define TAG_INTEGER 0x02u
#define TAG_BIT_STRING 0x03u
#define TAG_OCTET_STRING 0x04u
#define TAG_OID 0x06u
#define TAG_SEQUENCE 0x30u
#define TAG_CTX0 0xA0u /* [0] parameters / attributes */
#define TAG_CTX1 0xA1u /* [1] public key */

/* id-ecPublicKey (1.2.840.10045.2.1) and prime256v1 (1.2.840.10045.3.1.7), contents only. */
static const uint8_t OID_EC_PUBLIC_KEY[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01};
static const uint8_t OID_PRIME256V1[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07};

/* The P-256 group order n, big-endian. */
static const uint8_t P256_ORDER[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* A window onto DER bytes still to be read. */
struct der {
    const uint8_t *p;
    size_t left;
};

/* One element: its tag and contents. */
struct tlv {
    uint8_t tag;
    struct der body;
};

const char *ec_key_status_str(enum ec_key_status status)
{
    switch (status) {
    case EC_KEY_OK: return "EC_KEY_OK";
    case EC_KEY_ERR_PEM: return "EC_KEY_ERR_PEM";
    case EC_KEY_ERR_DER: return "EC_KEY_ERR_DER";
    case EC_KEY_ERR_NOT_EC: return "EC_KEY_ERR_NOT_EC";
    case EC_KEY_ERR_CURVE: return "EC_KEY_ERR_CURVE";
    case EC_KEY_ERR_RANGE: return "EC_KEY_ERR_RANGE";
    case EC_KEY_ERR_MISMATCH: return "EC_KEY_ERR_MISMATCH";
    }
    return "EC_KEY_ERR_UNKNOWN";
}

static void wipe(void *ptr, size_t len)
{
    volatile uint8_t *p = ptr;
    while (len-- > 0)
        *p++ = 0;
}

static int bytes_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t diff = 0;
    size_t i;
    for (i = 0; i < len; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* Read the next element of d into *out; 0 on success, -1 when malformed. */
static int der_next(struct der *d, struct tlv *out)
{
    size_t len, n, i;
    if (d->left < 2u || (d->p[0] & 0x1Fu) == 0x1Fu) /* no multi-byte tags in these structures */
        return -1;
    out->tag = d->p[0];
    len = d->p[1];
    n = 2;
    if (len & 0x80u) {
        size_t count = len & 0x7Fu;
        if (count == 0 || count > 2u || d->left < 2u + count)
            return -1;
        len = 0;
        for (i = 0; i < count; i++)
            len = (len << 8) | d->p[2u + i];
        if (len < 0x80u || (count == 2u && len < 0x100u)) /* DER: the shortest length form */
            return -1;
        n += count;
    }
    if (len > d->left - n)
        return -1;
    out->body.p = d->p + n;
    out->body.left = len;
    d->p += n + len;
    d->left -= n + len;
    return 0;
}

/* The next element, which must carry tag. */
static int der_expect(struct der *d, uint8_t tag, struct tlv *out)
{
    return der_next(d, out) == 0 && out->tag == tag ? 0 : -1;
}

/* A small non-negative INTEGER element's value (one content byte), or -1. */
static int der_small_int(struct der *d)
{
    struct tlv t;
    if (der_expect(d, TAG_INTEGER, &t) < 0 || t.body.left != 1u || t.body.p[0] > 0x7Fu)
        return -1;
    return t.body.p[0];
}

static int oid_is(const struct tlv *t, const uint8_t *oid, size_t len)
{
    return t->tag == TAG_OID && t->body.left == len && bytes_equal(t->body.p, oid, len);
}

/* priv in [1, n-1], without a branch on its bytes. */
static int scalar_in_range(const uint8_t priv[32])
{
    uint32_t borrow = 0, nonzero = 0;
    int i;
    for (i = 31; i >= 0; i--) {
        uint32_t diff = (uint32_t)priv[i] - P256_ORDER[i] - borrow;
        borrow = (diff >> 8) & 1u;
        nonzero |= priv[i];
    }
    return (int)(borrow & (uint32_t)((nonzero + 0xFFu) >> 8));
}

/* The public key element [1] { BIT STRING 00 04 X Y } against the scalar's own. */
static enum ec_key_status check_public_key(const struct tlv *ctx1, const uint8_t priv[32])
{
    struct der in = ctx1->body;
    struct tlv bits;
    uint8_t derived[P256_PUBLIC_KEY_LEN];
    int same;
    if (der_expect(&in, TAG_BIT_STRING, &bits) < 0 || in.left != 0 ||
        bits.body.left != 2u + P256_PUBLIC_KEY_LEN || bits.body.p[0] != 0 || bits.body.p[1] != 0x04u)
        return EC_KEY_ERR_DER;
    if (p256_public_key(priv, derived) != P256_OK)
        return EC_KEY_ERR_RANGE;
    same = bytes_equal(derived, bits.body.p + 2, P256_PUBLIC_KEY_LEN);
    wipe(derived, sizeof(derived));
    return same ? EC_KEY_OK : EC_KEY_ERR_MISMATCH;
}

/* RFC 5915 ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING,
 * [0] ECParameters OPTIONAL, [1] publicKey BIT STRING OPTIONAL }.
 * curve_known: the curve was already named (PKCS#8's algorithm identifier). */
static enum ec_key_status parse_ec_private_key(struct der d, int curve_known, uint8_t priv[32])
{
    struct tlv seq, scalar, el;
    struct der in;
    int have_pub = 0;
    struct tlv pub;
    enum ec_key_status st;
    uint8_t candidate[32];
    size_t i;
    if (der_expect(&d, TAG_SEQUENCE, &seq) < 0 || d.left != 0)
        return EC_KEY_ERR_DER;
    in = seq.body;
    if (der_small_int(&in) != 1 || der_expect(&in, TAG_OCTET_STRING, &scalar) < 0)
        return EC_KEY_ERR_DER;
    while (in.left > 0) {
        if (der_next(&in, &el) < 0)
            return EC_KEY_ERR_DER;
        if (el.tag == TAG_CTX0 && !have_pub) {
            struct der params = el.body;
            struct tlv oid;
            if (der_next(&params, &oid) < 0 || params.left != 0)
                return EC_KEY_ERR_DER;
            if (!oid_is(&oid, OID_PRIME256V1, sizeof(OID_PRIME256V1)))
                return EC_KEY_ERR_CURVE;
            curve_known = 1;
        } else if (el.tag == TAG_CTX1 && !have_pub) {
            pub = el;
            have_pub = 1;
        } else {
            return EC_KEY_ERR_DER;
        }
    }
    if (!curve_known)
        return EC_KEY_ERR_CURVE;
    if (scalar.body.left != 32u)
        return EC_KEY_ERR_RANGE;
    for (i = 0; i < 32u; i++)
        candidate[i] = scalar.body.p[i];
    st = scalar_in_range(candidate) ? EC_KEY_OK : EC_KEY_ERR_RANGE;
    if (st == EC_KEY_OK && have_pub)
        st = check_public_key(&pub, candidate);
    for (i = 0; st == EC_KEY_OK && i < 32u; i++)
        priv[i] = candidate[i];
    wipe(candidate, sizeof(candidate));
    return st;
}

/* RFC 5208/5958 PrivateKeyInfo ::= SEQUENCE { version 0|1, AlgorithmIdentifier,
 * privateKey OCTET STRING, [0] attributes OPTIONAL, [1] publicKey OPTIONAL }. */
static enum ec_key_status parse_pkcs8(struct tlv *outer, uint8_t priv[32])
{
    struct der in = outer->body, alg_in;
    struct tlv alg, oid, curve, key, el;
    int version = der_small_int(&in);
    if (version != 0 && version != 1)
        return EC_KEY_ERR_DER;
    if (der_expect(&in, TAG_SEQUENCE, &alg) < 0)
        return EC_KEY_ERR_DER;
    alg_in = alg.body;
    if (der_next(&alg_in, &oid) < 0 || oid.tag != TAG_OID)
        return EC_KEY_ERR_DER;
    if (!oid_is(&oid, OID_EC_PUBLIC_KEY, sizeof(OID_EC_PUBLIC_KEY)))
        return EC_KEY_ERR_NOT_EC;
    if (der_next(&alg_in, &curve) < 0 || alg_in.left != 0)
        return EC_KEY_ERR_DER;
    if (!oid_is(&curve, OID_PRIME256V1, sizeof(OID_PRIME256V1)))
        return EC_KEY_ERR_CURVE;
    if (der_expect(&in, TAG_OCTET_STRING, &key) < 0)
        return EC_KEY_ERR_DER;
    while (in.left > 0) /* attributes and the v2 public key are not needed */
        if (der_next(&in, &el) < 0 || (el.tag != TAG_CTX0 && el.tag != 0x81u && el.tag != TAG_CTX1))
            return EC_KEY_ERR_DER;
    return parse_ec_private_key(key.body, 1, priv);
}

enum ec_key_status ec_key_p256_from_der(const uint8_t *der, size_t len, uint8_t priv[32])
{
    struct der d;
    struct der peek;
    struct tlv outer;
    int version;
    if (der == NULL || priv == NULL)
        return EC_KEY_ERR_DER;
    d.p = der;
    d.left = len;
    if (der_expect(&d, TAG_SEQUENCE, &outer) < 0 || d.left != 0)
        return EC_KEY_ERR_DER;
    /* SEC 1 starts with version 1 and an OCTET STRING; PKCS#8 with 0|1 and a SEQUENCE */
    peek = outer.body;
    version = der_small_int(&peek);
    if (version == 1 && peek.left > 0 && peek.p[0] == TAG_OCTET_STRING) {
        d.p = der;
        d.left = len;
        return parse_ec_private_key(d, 0, priv);
    }
    return parse_pkcs8(&outer, priv);
}

/* ---- PEM ---- */

/* Position of needle in hay[0..len) at or after from, or len when absent. */
static size_t find(const char *hay, size_t len, size_t from, const char *needle)
{
    size_t n = 0, i, j;
    while (needle[n] != '\0')
        n++;
    for (i = from; i + n <= len; i++) {
        for (j = 0; j < n && hay[i + j] == needle[j]; j++)
            ;
        if (j == n)
            return i;
    }
    return len;
}

/* All-ones when lo <= c <= hi, else 0, without a branch on c. */
static uint32_t in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
    return 0u - ((((c - lo) | (hi - c)) >> 31) ^ 1u);
}

/* Value of a base64 digit, or -1 (not one), -2 (whitespace). The digits of a key
 * are secret: the value is selected with masks, so no branch or table index
 * depends on which digit it is (the outcome digit / not a digit is public). */
static int b64_value(char ch)
{
    uint32_t c = (uint8_t)ch, v = 0, digit;
    uint32_t upper = in_range(c, 'A', 'Z'), lower = in_range(c, 'a', 'z'), num = in_range(c, '0', '9');
    uint32_t plus = in_range(c, '+', '+'), slash = in_range(c, '/', '/');
    v |= upper & (c - 'A');
    v |= lower & (c - 'a' + 26u);
    v |= num & (c - '0' + 52u);
    v |= plus & 62u;
    v |= slash & 63u;
    digit = upper | lower | num | plus | slash;
    if (digit)
        return (int)v;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
        return -2;
    return -1;
}

/* Decode base64 text (whitespace ignored, '=' padding only at the end) into out;
 * returns the byte count or -1. */
static long b64_decode(const char *text, size_t len, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    size_t n = 0, digits = 0, pad = 0, i;
    for (i = 0; i < len; i++) {
        int v = b64_value(text[i]);
        if (v == -2)
            continue;
        if (text[i] == '=') {
            pad++;
            continue;
        }
        if (v < 0 || pad > 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        if (++digits % 4u == 0) {
            if (n + 3u > cap)
                return -1;
            out[n++] = (uint8_t)(acc >> 16);
            out[n++] = (uint8_t)(acc >> 8);
            out[n++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if ((digits + pad) % 4u != 0 || pad > 2u || (pad > 0 && digits % 4u != 4u - pad))
        return -1;
    if (pad > 0) {
        size_t extra = 3u - pad;
        acc <<= 6u * pad;
        if (n + extra > cap)
            return -1;
        out[n++] = (uint8_t)(acc >> 16);
        if (extra == 2u)
            out[n++] = (uint8_t)(acc >> 8);
    }
    return (long)n;
}

/* Bounds of the body of the first "-----BEGIN <label>-----" block, or 0 when absent. */
static int pem_block(const char *pem, size_t len, const char *begin, const char *end, size_t *body,
                     size_t *body_end)
{
    size_t b = find(pem, len, 0, begin), blen = 0;
    while (begin[blen] != '\0')
        blen++;
    if (b == len)
        return 0;
    *body = b + blen;
    *body_end = find(pem, len, *body, end);
    return *body_end != len;
}

enum ec_key_status ec_key_p256_from_pem(const char *pem, size_t len, uint8_t priv[32])
{
    uint8_t der[EC_KEY_DER_MAX];
    size_t body, body_end;
    long n;
    enum ec_key_status st;
    if (pem == NULL || priv == NULL)
        return EC_KEY_ERR_PEM;
    if (!pem_block(pem, len, "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", &body, &body_end) &&
        !pem_block(pem, len, "-----BEGIN EC PRIVATE KEY-----", "-----END EC PRIVATE KEY-----", &body,
                   &body_end))
        return EC_KEY_ERR_PEM;
    n = b64_decode(pem + body, body_end - body, der, sizeof(der)); /* encrypted headers fail here */
    st = n <= 0 ? EC_KEY_ERR_PEM : ec_key_p256_from_der(der, (size_t)n, priv);
    wipe(der, sizeof(der));
    return st;
}
