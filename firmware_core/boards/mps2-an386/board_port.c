/*
 * board_port.c - the fw_port of the mps2-an386 board (see board_port.h).
 */
#include <string.h>

#include "board.h"
#include "board_port.h"
#include "ec_key.h"
#include "p256.h"
#include "sha256.h"

/* Longest log line, including the escaped detail. */
#define LOG_LINE_MAX 200u

/* The port's milliseconds: SysTick's, scaled by the clock rate. */
static uint32_t scaled_ms(const struct board_port *p)
{
    return (uint32_t)((uint64_t)board_ms() * p->rate_milli / 1000u);
}

/* The host's clock stands in for a real-time clock the MPS2 does not have,
 * unless the command line gave the start time. */
static uint64_t port_unix_time_s(void *ctx)
{
    const struct board_port *p = ctx;
    if (p->epoch_s == 0)
        return semihost_time();
    return p->epoch_s + scaled_ms(p) / 1000u;
}

static int32_t port_uart_write(void *ctx, const uint8_t *buf, size_t len)
{
    (void)ctx;
    return (int32_t)board_uart_write(buf, len);
}

static int32_t port_uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    (void)ctx;
    return (int32_t)board_uart_read(buf, cap);
}

static uint32_t port_now_ms(void *ctx)
{
    return scaled_ms(ctx);
}

/* ES256 on the CPU: SHA-256 of msg, then P-256 ECDSA with RFC 6979 nonces. */
static int32_t port_sign(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len, uint8_t *sig,
                         size_t cap, size_t *sig_len)
{
    const struct board_port *p = ctx;
    uint8_t hash[SHA256_DIGEST_LEN];
    enum p256_status st;
    if (alg != FW_SIGN_ES256 || !p->have_key || cap < P256_SIGNATURE_LEN)
        return -1;
    sha256(msg, len, hash);
    st = p256_ecdsa_sign(p->es256_key, hash, sig);
    if (st != P256_OK)
        return -1;
    *sig_len = P256_SIGNATURE_LEN;
    return 0;
}

/* Append text to line[*n], keeping room for the newline and NUL. */
static void put_text(char *line, size_t *n, const char *text)
{
    while (*text != '\0' && *n < LOG_LINE_MAX - 2u)
        line[(*n)++] = *text++;
}

/* Append detail bytes, CR/LF as \r \n and other unprintable bytes as '.'. */
static void put_detail(char *line, size_t *n, const char *detail, size_t len)
{
    size_t i;
    for (i = 0; i < len && *n < LOG_LINE_MAX - 3u; i++) {
        unsigned char c = (unsigned char)detail[i];
        if (c == '\r' || c == '\n') {
            line[(*n)++] = '\\';
            line[(*n)++] = c == '\r' ? 'r' : 'n';
        } else {
            line[(*n)++] = (c >= 0x20u && c < 0x7Fu) ? (char)c : '.';
        }
    }
}

static void port_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                     const char *detail, size_t detail_len)
{
    static const char *const names[] = {"error ", "warn ", "info ", "debug "};
    struct board_port *p = ctx;
    char line[LOG_LINE_MAX];
    size_t n = 0;
    if (level > p->max_level)
        return;
    put_text(line, &n, "fw ");
    put_text(line, &n, names[level]);
    put_text(line, &n, module);
    put_text(line, &n, ": ");
    put_text(line, &n, event);
    if (detail != NULL && detail_len > 0) {
        put_text(line, &n, " ");
        put_detail(line, &n, detail, detail_len);
    }
    line[n++] = '\n';
    line[n] = '\0';
    semihost_write(line);
}

static struct board_blob *find_blob(struct board_port *p, uint32_t key)
{
    size_t i;
    for (i = 0; i < BOARD_PERSIST_SLOTS; i++)
        if (p->blobs[i].used && p->blobs[i].key == key)
            return &p->blobs[i];
    return NULL;
}

static int32_t port_persist_load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    const struct board_blob *b = find_blob(ctx, key);
    *len = 0;
    if (b == NULL)
        return 0;
    if (b->len > cap)
        return -1;
    memcpy(buf, b->data, b->len);
    *len = b->len;
    return 0;
}

/* A plain copy: the blobs live only as long as the QEMU run, and a reset in the
 * middle of a copy (the only way to tear it) is caught by the queue's CRC. */
static int32_t port_persist_save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    struct board_port *p = ctx;
    struct board_blob *b = find_blob(p, key);
    size_t i;
    if (len > BOARD_PERSIST_BLOB_MAX)
        return -1;
    for (i = 0; b == NULL && i < BOARD_PERSIST_SLOTS; i++)
        if (!p->blobs[i].used)
            b = &p->blobs[i];
    if (b == NULL)
        return -1;
    memcpy(b->data, buf, len);
    b->key = key;
    b->len = (uint32_t)len;
    b->used = 1;
    return 0;
}

void board_port_init(struct board_port *p, enum fw_log_level max_level)
{
    memset(p, 0, sizeof(*p));
    p->max_level = max_level;
    p->port.ctx = p;
    p->port.uart_write = port_uart_write;
    p->port.uart_read = port_uart_read;
    p->port.now_ms = port_now_ms;
    p->port.unix_time_s = port_unix_time_s;
    p->port.log = port_log;
    p->port.persist_load = port_persist_load;
    p->port.persist_save = port_persist_save;
    p->port.sign = port_sign;
    p->rate_milli = 1000u;
    /* random: the MPS2 has no entropy source (back-off without jitter) */
}

void board_port_set_clock(struct board_port *p, uint32_t rate_milli, uint64_t epoch_s)
{
    p->rate_milli = rate_milli;
    p->epoch_s = epoch_s;
}

int board_port_set_es256_key(struct board_port *p, const uint8_t *pem, size_t len)
{
    enum ec_key_status st = ec_key_p256_from_pem((const char *)pem, len, p->es256_key);
    if (st != EC_KEY_OK) {
        semihost_write("board: device key refused: ");
        semihost_write(ec_key_status_str(st));
        semihost_write("\n");
        return -1;
    }
    p->have_key = 1;
    return 0;
}

uint64_t board_port_time_es256(struct board_port *p, const uint8_t *msg, size_t len, uint8_t sig[64])
{
    size_t sig_len = 0;
    uint64_t start = board_clock_ticks(), end;
    int32_t rc = port_sign(p, FW_SIGN_ES256, msg, len, sig, P256_SIGNATURE_LEN, &sig_len);
    end = board_clock_ticks();
    return rc == 0 ? end - start : 0;
}
