/*
 * port_common.c - the fw_port hooks both boards share (see port_common.h).
 */
#include <string.h>

#include "board.h"
#include "board_api.h"
#include "ec_key.h"
#include "p256.h"
#include "port_common.h"
#include "sha256.h"

/* Longest log line, including the escaped detail. */
#define LOG_LINE_MAX 200u

uint32_t board_port_scaled_ms(const struct board_port *p)
{
    return (uint32_t)((uint64_t)board_ms() * p->rate_milli / 1000u);
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
    return board_port_scaled_ms(ctx);
}

int32_t board_port_sign(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len, uint8_t *sig,
                        size_t cap, size_t *sig_len)
{
    const struct board_port *p = ctx;
    uint8_t hash[SHA256_DIGEST_LEN];
    if (alg != FW_SIGN_ES256 || !p->have_key || cap < P256_SIGNATURE_LEN)
        return -1;
    sha256(msg, len, hash);
    if (p256_ecdsa_sign(p->es256_key, hash, sig) != P256_OK)
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

/* "fw <level> <module>: <event>[ <detail>]" on the board's console. */
static void port_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                     const char *detail, size_t detail_len)
{
    static const char *const names[] = {"error ", "warn ", "info ", "debug "};
    const struct board_port *p = ctx;
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
    board_console(line);
}

void board_port_common_init(struct board_port *p, enum fw_log_level max_level)
{
    memset(p, 0, sizeof(*p));
    p->max_level = max_level;
    p->rate_milli = 1000u;
    p->port.ctx = p;
    p->port.uart_write = port_uart_write;
    p->port.uart_read = port_uart_read;
    p->port.now_ms = port_now_ms;
    p->port.log = port_log;
    p->port.sign = board_port_sign;
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
        board_console("board: device key refused: ");
        board_console(ec_key_status_str(st));
        board_console("\n");
        return -1;
    }
    p->have_key = 1;
    return 0;
}
