/* p256.c - P-256 ECDSA with RFC 6979 nonces.
 *
 * Numbers are 8 little-endian 32-bit limbs. Field elements (mod p) and scalars (mod n) share
 * one Montgomery multiplication (CIOS, R = 2^256). Points use homogeneous projective
 * coordinates with the complete addition formula of Renes-Costello-Batina (2016, algorithm 4,
 * a = -3): it has no exceptional cases (doubling, identity), so the scalar multiplication
 * needs no branch. The multiplication uses a fixed 4-bit window over a 16-entry table read
 * in full for every digit. Secret-dependent choices are made with masks only.
 *
 * P256_DECLASSIFY(ptr, len) marks values that are safe to branch on (the one-bit outcome
 * of rejecting a nonce candidate, which reveals nothing about the accepted one); it does
 * nothing unless the constant-time check build maps it to valgrind. */
#include "p256.h"

#include "hmac_sha256.h"

#ifndef P256_DECLASSIFY
#define P256_DECLASSIFY(ptr, len) ((void)(ptr), (void)(len))
#endif

/* A 256-bit number, least significant limb first. */
struct u256 {
    uint32_t v[8];
};

/* A modulus with what Montgomery arithmetic needs. */
struct modulus {
    struct u256 m;      /* the odd modulus */
    struct u256 r2;     /* R^2 mod m, to enter the Montgomery domain */
    struct u256 one;    /* R mod m, 1 in the Montgomery domain */
    uint32_t m0inv;     /* -m^-1 mod 2^32 */
};

/* A point (X : Y : Z) with x = X/Z, y = Y/Z; coordinates in the Montgomery domain of p. */
struct point {
    struct u256 x, y, z;
};

static const struct modulus p256_p = {
    {{0xffffffff, 0xffffffff, 0xffffffff, 0x00000000, 0x00000000, 0x00000000, 0x00000001, 0xffffffff}},
    {{0x00000003, 0x00000000, 0xffffffff, 0xfffffffb, 0xfffffffe, 0xffffffff, 0xfffffffd, 0x00000004}},
    {{0x00000001, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0x00000000}},
    0x00000001,
};

static const struct modulus p256_n = {
    {{0xfc632551, 0xf3b9cac2, 0xa7179e84, 0xbce6faad, 0xffffffff, 0xffffffff, 0x00000000, 0xffffffff}},
    {{0xbe79eea2, 0x83244c95, 0x49bd6fa6, 0x4699799c, 0x2b6bec59, 0x2845b239, 0xf3d95620, 0x66e12d94}},
    {{0x039cdaaf, 0x0c46353d, 0x58e8617b, 0x43190552, 0x00000000, 0x00000000, 0xffffffff, 0x00000000}},
    0xee00bc4f,
};

/* the curve constant b, times R mod p */
static const struct u256 p256_b_mont = {
    {0x29c4bddf, 0xd89cdf62, 0x78843090, 0xacf005cd, 0xf7212ed6, 0xe5a220ab, 0x04874834, 0xdc30061d}};

/* the base point G, coordinates times R mod p, Z = 1 */
static const struct point p256_g_mont = {
    {{0x18a9143c, 0x79e730d4, 0x5fedb601, 0x75ba95fc, 0x77622510, 0x79fb732b, 0xa53755c6, 0x18905f76}},
    {{0xce95560a, 0xddf25357, 0xba19e45c, 0x8b4ab8e4, 0xdd21f325, 0xd2e88688, 0x25885d85, 0x8571ff18}},
    {{0x00000001, 0x00000000, 0x00000000, 0xffffffff, 0xffffffff, 0xffffffff, 0xfffffffe, 0x00000000}},
};

/* ---- helpers ---------------------------------------------------------------------------- */

static void wipe(void *ptr, unsigned len)
{
    volatile uint8_t *v = (volatile uint8_t *)ptr;
    while (len--)
        *v++ = 0;
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, unsigned len)
{
    while (len--)
        *dst++ = *src++;
}

/* v, hidden from the optimizer: without it clang -Os sees that a mask is all-or-nothing and
 * turns (a & mask) | (b & ~mask) back into a branch or a secret-dependent address */
static uint32_t value_barrier(uint32_t v)
{
#if defined(__GNUC__)
    __asm__("" : "+r"(v));
    return v;
#else
    volatile uint32_t hidden = v;
    return hidden;
#endif
}

/* 0xffffffff when bit is 1, 0 when it is 0 */
static uint32_t mask_from_bit(uint32_t bit)
{
    return value_barrier((uint32_t)0 - (bit & 1u));
}

/* 1 when a == b, else 0, without a branch */
static uint32_t ct_eq(uint32_t a, uint32_t b)
{
    uint32_t x = a ^ b;
    return ((x | ((uint32_t)0 - x)) >> 31) ^ 1u;
}

static void u256_from_bytes(struct u256 *r, const uint8_t in[32])
{
    for (unsigned i = 0; i < 8; i++) {
        const uint8_t *p = in + 4 * (7 - i);
        r->v[i] = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    }
}

static void u256_to_bytes(uint8_t out[32], const struct u256 *a)
{
    for (unsigned i = 0; i < 8; i++) {
        uint8_t *p = out + 4 * (7 - i);
        p[0] = (uint8_t)(a->v[i] >> 24);
        p[1] = (uint8_t)(a->v[i] >> 16);
        p[2] = (uint8_t)(a->v[i] >> 8);
        p[3] = (uint8_t)a->v[i];
    }
}

/* r = a + b, returns the carry out */
static uint32_t u256_add(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
    uint64_t c = 0;
    for (unsigned i = 0; i < 8; i++) {
        c += (uint64_t)a->v[i] + b->v[i];
        r->v[i] = (uint32_t)c;
        c >>= 32;
    }
    return (uint32_t)c;
}

/* r = a - b, returns the borrow out (1 when a < b) */
static uint32_t u256_sub(struct u256 *r, const struct u256 *a, const struct u256 *b)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < 8; i++) {
        d = (uint64_t)a->v[i] - b->v[i] - (uint32_t)(d >> 63);
        r->v[i] = (uint32_t)d;
    }
    return (uint32_t)(d >> 63);
}

/* r = mask ? a : b for mask all ones or all zeros */
static void u256_select(struct u256 *r, const struct u256 *a, const struct u256 *b, uint32_t mask)
{
    for (unsigned i = 0; i < 8; i++)
        r->v[i] = (a->v[i] & mask) | (b->v[i] & ~mask);
}

/* 1 when a is zero, else 0 */
static uint32_t u256_is_zero(const struct u256 *a)
{
    uint32_t acc = 0;
    for (unsigned i = 0; i < 8; i++)
        acc |= a->v[i];
    return ct_eq(acc, 0);
}

/* 1 when a is in [1, m-1], else 0 */
static uint32_t u256_in_range(const struct u256 *a, const struct modulus *m)
{
    struct u256 t;
    return u256_sub(&t, a, &m->m) & (u256_is_zero(a) ^ 1u);
}

/* r = a mod m for any 256-bit a (m > 2^255, so one subtraction is enough) */
static void mod_reduce_once(struct u256 *r, const struct u256 *a, const struct modulus *m)
{
    struct u256 t;
    uint32_t borrow = u256_sub(&t, a, &m->m);
    u256_select(r, a, &t, mask_from_bit(borrow));
}

/* ---- modular arithmetic (inputs below m) ------------------------------------------------ */

static void mod_add(struct u256 *r, const struct u256 *a, const struct u256 *b,
                    const struct modulus *m)
{
    struct u256 sum, reduced;
    uint32_t carry = u256_add(&sum, a, b);
    uint32_t borrow = u256_sub(&reduced, &sum, &m->m);
    u256_select(r, &reduced, &sum, mask_from_bit(carry | (borrow ^ 1u)));
}

static void mod_sub(struct u256 *r, const struct u256 *a, const struct u256 *b,
                    const struct modulus *m)
{
    struct u256 diff, fix;
    uint32_t mask = mask_from_bit(u256_sub(&diff, a, b));
    for (unsigned i = 0; i < 8; i++)
        fix.v[i] = m->m.v[i] & mask;
    u256_add(r, &diff, &fix);
}

/* r = a * b / R mod m (CIOS Montgomery multiplication); r may alias a or b */
static void mont_mul(struct u256 *r, const struct u256 *a, const struct u256 *b,
                     const struct modulus *m)
{
    uint32_t t[10] = {0};
    struct u256 lo, reduced;
    uint64_t c;

    for (unsigned i = 0; i < 8; i++) {
        c = 0;
        for (unsigned j = 0; j < 8; j++) {
            c += (uint64_t)t[j] + (uint64_t)a->v[j] * b->v[i];
            t[j] = (uint32_t)c;
            c >>= 32;
        }
        c += t[8];
        t[8] = (uint32_t)c;
        t[9] = (uint32_t)(c >> 32);

        uint32_t q = t[0] * m->m0inv;
        c = ((uint64_t)t[0] + (uint64_t)q * m->m.v[0]) >> 32;
        for (unsigned j = 1; j < 8; j++) {
            c += (uint64_t)t[j] + (uint64_t)q * m->m.v[j];
            t[j - 1] = (uint32_t)c;
            c >>= 32;
        }
        c += t[8];
        t[7] = (uint32_t)c;
        t[8] = t[9] + (uint32_t)(c >> 32);
    }
    for (unsigned i = 0; i < 8; i++)
        lo.v[i] = t[i];
    uint32_t borrow = u256_sub(&reduced, &lo, &m->m);
    u256_select(r, &reduced, &lo, mask_from_bit(t[8] | (borrow ^ 1u)));
}

static void to_mont(struct u256 *r, const struct u256 *a, const struct modulus *m)
{
    mont_mul(r, a, &m->r2, m);
}

static void from_mont(struct u256 *r, const struct u256 *a, const struct modulus *m)
{
    static const struct u256 one = {{1, 0, 0, 0, 0, 0, 0, 0}};
    mont_mul(r, a, &one, m);
}

/* r = a^(m-2) = a^-1 mod m in the Montgomery domain (0 for a = 0). The exponent is public,
 * so branching on its bits is fine. */
static void mod_inv(struct u256 *r, const struct u256 *a, const struct modulus *m)
{
    static const struct u256 two = {{2, 0, 0, 0, 0, 0, 0, 0}};
    struct u256 e, acc = m->one;

    u256_sub(&e, &m->m, &two);
    for (int bit = 255; bit >= 0; bit--) {
        mont_mul(&acc, &acc, &acc, m);
        if ((e.v[bit / 32] >> (bit % 32)) & 1u)
            mont_mul(&acc, &acc, a, m);
    }
    *r = acc;
    wipe(&acc, sizeof acc);
}

/* ---- points ----------------------------------------------------------------------------- */

static void point_identity(struct point *r)
{
    for (unsigned i = 0; i < 8; i++)
        r->x.v[i] = r->z.v[i] = 0;
    r->y = p256_p.one;
}

/* r = a + b, complete (RCB 2016 algorithm 4, a = -3); r may alias a or b */
static void point_add(struct point *r, const struct point *a, const struct point *b)
{
    const struct modulus *p = &p256_p;
    struct u256 t0, t1, t2, t3, t4, x3, y3, z3;

    mont_mul(&t0, &a->x, &b->x, p);
    mont_mul(&t1, &a->y, &b->y, p);
    mont_mul(&t2, &a->z, &b->z, p);
    mod_add(&t3, &a->x, &a->y, p);
    mod_add(&t4, &b->x, &b->y, p);
    mont_mul(&t3, &t3, &t4, p);
    mod_add(&t4, &t0, &t1, p);
    mod_sub(&t3, &t3, &t4, p);
    mod_add(&t4, &a->y, &a->z, p);
    mod_add(&x3, &b->y, &b->z, p);
    mont_mul(&t4, &t4, &x3, p);
    mod_add(&x3, &t1, &t2, p);
    mod_sub(&t4, &t4, &x3, p);
    mod_add(&x3, &a->x, &a->z, p);
    mod_add(&y3, &b->x, &b->z, p);
    mont_mul(&x3, &x3, &y3, p);
    mod_add(&y3, &t0, &t2, p);
    mod_sub(&y3, &x3, &y3, p);
    mont_mul(&z3, &p256_b_mont, &t2, p);
    mod_sub(&x3, &y3, &z3, p);
    mod_add(&z3, &x3, &x3, p);
    mod_add(&x3, &x3, &z3, p);
    mod_sub(&z3, &t1, &x3, p);
    mod_add(&x3, &t1, &x3, p);
    mont_mul(&y3, &p256_b_mont, &y3, p);
    mod_add(&t1, &t2, &t2, p);
    mod_add(&t2, &t1, &t2, p);
    mod_sub(&y3, &y3, &t2, p);
    mod_sub(&y3, &y3, &t0, p);
    mod_add(&t1, &y3, &y3, p);
    mod_add(&y3, &t1, &y3, p);
    mod_add(&t1, &t0, &t0, p);
    mod_add(&t0, &t1, &t0, p);
    mod_sub(&t0, &t0, &t2, p);
    mont_mul(&t1, &t4, &y3, p);
    mont_mul(&t2, &t0, &y3, p);
    mont_mul(&y3, &x3, &z3, p);
    mod_add(&y3, &y3, &t2, p);
    mont_mul(&x3, &t3, &x3, p);
    mod_sub(&x3, &x3, &t1, p);
    mont_mul(&z3, &t4, &z3, p);
    mont_mul(&t1, &t3, &t0, p);
    mod_add(&z3, &z3, &t1, p);
    r->x = x3;
    r->y = y3;
    r->z = z3;
}

/* r = table[index] reading every entry, so the memory access does not depend on index */
static void point_select(struct point *r, const struct point table[16], uint32_t index)
{
    point_identity(r);
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t mask = mask_from_bit(ct_eq(i, index));
        u256_select(&r->x, &table[i].x, &r->x, mask);
        u256_select(&r->y, &table[i].y, &r->y, mask);
        u256_select(&r->z, &table[i].z, &r->z, mask);
    }
}

/* r = k * base for any 256-bit k (fixed 4-bit window, 64 digits, always the same work) */
static void point_mul(struct point *r, const struct u256 *k, const struct point *base)
{
    struct point table[16], acc, digit_point;

    point_identity(&table[0]);
    table[1] = *base;
    for (unsigned i = 2; i < 16; i++)
        point_add(&table[i], &table[i - 1], base);
    point_identity(&acc);
    for (int digit = 63; digit >= 0; digit--) {
        for (unsigned d = 0; d < 4; d++)
            point_add(&acc, &acc, &acc);
        uint32_t bits = (k->v[digit / 8] >> (4 * (digit % 8))) & 0xfu;
        point_select(&digit_point, table, bits);
        point_add(&acc, &acc, &digit_point);
    }
    *r = acc;
    wipe(table, sizeof table);
    wipe(&acc, sizeof acc);
    wipe(&digit_point, sizeof digit_point);
}

/* affine coordinates of a (out of the Montgomery domain); 0, 0 for the identity */
static void point_to_affine(struct u256 *x, struct u256 *y, const struct point *a)
{
    struct u256 zinv;

    mod_inv(&zinv, &a->z, &p256_p);
    mont_mul(x, &a->x, &zinv, &p256_p);
    mont_mul(y, &a->y, &zinv, &p256_p);
    from_mont(x, x, &p256_p);
    from_mont(y, y, &p256_p);
}

/* ---- RFC 6979 nonces (HMAC-DRBG with SHA-256, qlen = hlen = 256) ------------------------ */

/* The generator's state K and V (section 3.2). */
struct rfc6979 {
    uint8_t key[32];
    uint8_t v[32];
};

/* K = HMAC_K(V || sep || priv || h1) then V = HMAC_K(V); without sep/priv/h1 when sep < 0 */
static void rfc6979_mix(struct rfc6979 *g, int sep, const uint8_t *priv, const uint8_t *h1)
{
    struct hmac_sha256_ctx mac;

    hmac_sha256_init(&mac, g->key, 32);
    hmac_sha256_update(&mac, g->v, 32);
    if (sep >= 0) {
        uint8_t sep_byte = (uint8_t)sep;
        hmac_sha256_update(&mac, &sep_byte, 1);
        if (priv) {
            hmac_sha256_update(&mac, priv, 32);
            hmac_sha256_update(&mac, h1, 32);
        }
    }
    hmac_sha256_final(&mac, g->key);
    hmac_sha256(g->key, 32, g->v, 32, g->v);
}

/* steps b-f: priv = int2octets(x), h1 = bits2octets(H(m)) */
static void rfc6979_init(struct rfc6979 *g, const uint8_t priv[32], const uint8_t h1[32])
{
    for (unsigned i = 0; i < 32; i++) {
        g->v[i] = 0x01;
        g->key[i] = 0x00;
    }
    rfc6979_mix(g, 0x00, priv, h1);
    rfc6979_mix(g, 0x01, priv, h1);
}

/* step h: the next candidate; after a rejected one, K = HMAC_K(V || 0), V = HMAC_K(V) */
static void rfc6979_next(struct rfc6979 *g, struct u256 *k, int after_rejection)
{
    if (after_rejection)
        rfc6979_mix(g, 0x00, 0, 0);
    hmac_sha256(g->key, 32, g->v, 32, g->v);
    u256_from_bytes(k, g->v);
}

/* the first candidate in [1, n-1]; the rejection bit is declassified */
static void rfc6979_first_valid(struct rfc6979 *g, struct u256 *k, int after_rejection)
{
    for (;;) {
        rfc6979_next(g, k, after_rejection);
        uint32_t valid = u256_in_range(k, &p256_n);
        P256_DECLASSIFY(&valid, sizeof valid);
        if (valid)
            return;
        after_rejection = 1;
    }
}

/* ---- public API ------------------------------------------------------------------------- */

const char *p256_status_str(enum p256_status status)
{
    switch (status) {
    case P256_OK:
        return "P256_OK";
    case P256_ERR_BAD_KEY:
        return "P256_ERR_BAD_KEY";
    }
    return "P256_UNKNOWN";
}

/* load priv and check it is in [1, n-1]; the one-bit answer is declassified */
static int load_private_key(struct u256 *d, const uint8_t priv[32])
{
    u256_from_bytes(d, priv);
    uint32_t valid = u256_in_range(d, &p256_n);
    P256_DECLASSIFY(&valid, sizeof valid);
    return valid != 0;
}

enum p256_status p256_public_key(const uint8_t priv[P256_SCALAR_LEN],
                                 uint8_t pub[P256_PUBLIC_KEY_LEN])
{
    struct u256 d, x, y;
    struct point q;

    if (!load_private_key(&d, priv))
        return P256_ERR_BAD_KEY;
    point_mul(&q, &d, &p256_g_mont);
    point_to_affine(&x, &y, &q);
    u256_to_bytes(pub, &x);
    u256_to_bytes(pub + 32, &y);
    wipe(&d, sizeof d);
    return P256_OK;
}

/* h1 = bits2octets(hash): the digest reduced mod n, as bytes and as a number */
static void hash_to_scalar(struct u256 *e, uint8_t h1[32], const uint8_t hash[32])
{
    u256_from_bytes(e, hash);
    mod_reduce_once(e, e, &p256_n);
    u256_to_bytes(h1, e);
}

enum p256_status p256_rfc6979_nonce(const uint8_t priv[P256_SCALAR_LEN],
                                    const uint8_t hash[P256_SCALAR_LEN],
                                    uint8_t k_out[P256_SCALAR_LEN])
{
    struct u256 d, e, k;
    struct rfc6979 g;
    uint8_t h1[32];

    if (!load_private_key(&d, priv))
        return P256_ERR_BAD_KEY;
    hash_to_scalar(&e, h1, hash);
    rfc6979_init(&g, priv, h1);
    rfc6979_first_valid(&g, &k, 0);
    u256_to_bytes(k_out, &k);
    wipe(&g, sizeof g);
    wipe(&k, sizeof k);
    wipe(&d, sizeof d);
    return P256_OK;
}

/* r = x(k*G) mod n and s = k^-1 (e + r*d) mod n; returns 1 when both are nonzero
 * (that bit is declassified) */
static int ecdsa_try(struct u256 *r, struct u256 *s, const struct u256 *k, const struct u256 *d,
                     const struct u256 *e)
{
    const struct modulus *n = &p256_n;
    struct point kg;
    struct u256 x, y, k_m, kinv_m, d_m, r_m, e_m, t;

    point_mul(&kg, k, &p256_g_mont);
    point_to_affine(&x, &y, &kg);
    mod_reduce_once(r, &x, n);
    to_mont(&k_m, k, n);
    mod_inv(&kinv_m, &k_m, n);
    to_mont(&d_m, d, n);
    to_mont(&r_m, r, n);
    to_mont(&e_m, e, n);
    mont_mul(&t, &r_m, &d_m, n);
    mod_add(&t, &t, &e_m, n);
    mont_mul(&t, &t, &kinv_m, n);
    from_mont(s, &t, n);
    uint32_t ok = (u256_is_zero(r) | u256_is_zero(s)) ^ 1u;
    P256_DECLASSIFY(&ok, sizeof ok);
    wipe(&kg, sizeof kg);
    wipe(&k_m, sizeof k_m);
    wipe(&kinv_m, sizeof kinv_m);
    wipe(&d_m, sizeof d_m);
    wipe(&t, sizeof t);
    return ok != 0;
}

enum p256_status p256_ecdsa_sign(const uint8_t priv[P256_SCALAR_LEN],
                                 const uint8_t hash[P256_SCALAR_LEN],
                                 uint8_t sig[P256_SIGNATURE_LEN])
{
    struct u256 d, e, k, r, s;
    struct rfc6979 g;
    uint8_t h1[32], out[P256_SIGNATURE_LEN];
    int after_rejection = 0;

    if (!load_private_key(&d, priv))
        return P256_ERR_BAD_KEY;
    hash_to_scalar(&e, h1, hash);
    rfc6979_init(&g, priv, h1);
    for (;;) {
        rfc6979_first_valid(&g, &k, after_rejection);
        if (ecdsa_try(&r, &s, &k, &d, &e))
            break;
        after_rejection = 1;
    }
    u256_to_bytes(out, &r);
    u256_to_bytes(out + 32, &s);
    /* r and s are the public result */
    P256_DECLASSIFY(out, sizeof out);
    copy_bytes(sig, out, sizeof out);
    wipe(&g, sizeof g);
    wipe(&k, sizeof k);
    wipe(&d, sizeof d);
    return P256_OK;
}
