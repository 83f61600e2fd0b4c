/*
 * bench_fw_core.c - host costs of the firmware core: parsing 1 MB of AT
 * traffic (information lines, final codes, URCs, +CMQTTRX blocks read by
 * length) and building one ES256 JWT (core framing alone, and with an
 * OpenSSL signer). Each figure is the median of several runs measured in
 * this one process.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "fw_at.h"
#include "fw_jwt.h"

#define RUNS 9
#define TRAFFIC_BYTES (1024u * 1024u)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(v[0]), cmp_double);
    return v[n / 2];
}

/* ---- AT parsing ---------------------------------------------------------- */

static uint32_t bench_clock;
static uint32_t b_now(void *ctx) { return bench_clock; }
static int32_t b_read(void *ctx, uint8_t *b, size_t n) { return 0; }
static int32_t b_write(void *ctx, const uint8_t *b, size_t n) { return (int32_t)n; }
static size_t raw_total;

static void raw_sink(void *ctx, const uint8_t *d, size_t n) { raw_total += n; }

static bool on_rx(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    int32_t n;
    if ((strncmp(line, "+CMQTTRXTOPIC:", 14) == 0 || strncmp(line, "+CMQTTRXPAYLOAD:", 16) == 0) &&
        fw_at_arg_int(line, len, 1, &n))
        fw_at_read_raw(at, (size_t)n, raw_sink, NULL);
    return true;
}

static bool on_urc(void *ctx, struct fw_at *at, const char *line, size_t len) { return true; }

static const struct fw_at_urc urcs[] = {
    {"+CMQTTRX", on_rx}, {"+CREG:", on_urc}, {"+CIPRXGET: 1", on_urc}, {"+CMQTTCONNLOST:", on_urc},
};

static size_t make_traffic(char *buf, size_t cap)
{
    static const char *pieces[] = {
        "\r\n+CSQ: 23,99\r\n\r\nOK\r\n",
        "\r\n+CREG: 1\r\n",
        "\r\n+CMQTTRXSTART: 0,16,64\r\n+CMQTTRXTOPIC: 0,16\r\n/bus/1/commands\n"
        "\r\n+CMQTTRXPAYLOAD: 0,64\r\n{\"cmd\":\"location\",\"id\":12345,\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxx\"}"
        "\r\n+CMQTTRXEND: 0\r\n",
        "\r\n+CGPSINFO: 3113.343286,N,12121.234064,E,131025,041754.0,11.8,0.0,\r\n\r\nOK\r\n",
        "\r\n+CIPRXGET: 1,0\r\n",
        "\r\nERROR\r\n",
    };
    size_t n = 0, i = 0;
    while (1) {
        const char *p = pieces[i++ % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t len = strlen(p);
        if (n + len > cap)
            break;
        memcpy(buf + n, p, len);
        n += len;
    }
    return n;
}

static void bench_at(void)
{
    static char traffic[TRAFFIC_BYTES];
    size_t len = make_traffic(traffic, sizeof(traffic));
    double times[RUNS];
    struct fw_port port;
    char line[256], tx[64];
    unsigned r;
    memset(&port, 0, sizeof(port));
    port.uart_read = b_read;
    port.uart_write = b_write;
    port.now_ms = b_now;
    for (r = 0; r < RUNS; r++) {
        struct fw_at at;
        struct fw_at_config cfg = {&port, line, sizeof(line), tx, sizeof(tx), urcs, 4, NULL};
        double t0;
        fw_at_init(&at, &cfg);
        t0 = now_s();
        fw_at_feed(&at, (const uint8_t *)traffic, len);
        times[r] = now_s() - t0;
        if (fw_at_stats(&at)->lines == 0)
            abort();
    }
    printf("fw_at: parse %zu bytes of AT traffic: median %.3f ms (%.0f MB/s)\n", len,
           median(times, RUNS) * 1e3, (double)len / median(times, RUNS) / 1e6);
}

/* ---- JWT ------------------------------------------------------------------ */

static EVP_PKEY *key;

static int32_t openssl_es256(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                             uint8_t *sig, size_t cap, size_t *sig_len)
{
    uint8_t der[128];
    size_t n = sizeof(der);
    const unsigned char *p = der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *es;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, der, &n, msg, len) != 1)
        abort();
    EVP_MD_CTX_free(md);
    es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
    ECDSA_SIG_free(es);
    *sig_len = 64;
    return 0;
}

static int32_t fixed_signature(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                               uint8_t *sig, size_t cap, size_t *sig_len)
{
    memset(sig, 0x5a, 64);
    *sig_len = 64;
    return 0;
}

static double time_jwt(struct fw_port *port, unsigned per_run)
{
    struct fw_jwt_params p = {FW_SIGN_ES256, "cellbench-proj", 1700000000, 3600, 256};
    double times[RUNS];
    char token[512];
    size_t len;
    unsigned r, i;
    for (r = 0; r < RUNS; r++) {
        double t0 = now_s();
        for (i = 0; i < per_run; i++) {
            if (fw_jwt_build(port, &p, token, sizeof(token), &len, NULL) != FW_JWT_OK)
                abort();
        }
        times[r] = (now_s() - t0) / per_run;
    }
    return median(times, RUNS);
}

static void bench_jwt(void)
{
    struct fw_port port;
    double framing, signed_total;
    memset(&port, 0, sizeof(port));
    key = EVP_EC_gen("P-256");
    port.sign = fixed_signature;
    framing = time_jwt(&port, 20000);
    port.sign = openssl_es256;
    signed_total = time_jwt(&port, 200);
    printf("fw_jwt: one ES256 token: core framing %.2f us, with OpenSSL signing %.1f us "
           "(framing is %.1f%% of it)\n",
           framing * 1e6, signed_total * 1e6, 100.0 * framing / signed_total);
    EVP_PKEY_free(key);
}

int main(void)
{
    bench_at();
    bench_jwt();
    return 0;
}
