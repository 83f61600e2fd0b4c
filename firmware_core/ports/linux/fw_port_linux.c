/*
 * fw_port_linux.c - Linux port of the firmware core (see fw_port_linux.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "fw_port_linux.h"
#include "vclock.h"

static int32_t linux_uart_write(void *ctx, const uint8_t *buf, size_t len)
{
    struct fw_linux_port *p = ctx;
    ssize_t n = write(p->fd, buf, len);
    if (n >= 0)
        return (int32_t)n;
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static int32_t linux_uart_read(void *ctx, uint8_t *buf, size_t cap)
{
    struct fw_linux_port *p = ctx;
    ssize_t n = read(p->fd, buf, cap);
    if (n > 0)
        return (int32_t)n;
    if (n == 0)
        return 0;
    return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

static uint32_t linux_now_ms(void *ctx)
{
    struct fw_linux_port *p = ctx;
    struct timespec ts;
    if (p->clock != NULL)
        return (uint32_t)vclock_now_ms(p->clock);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static uint64_t linux_unix_time_s(void *ctx)
{
    struct fw_linux_port *p = ctx;
    return (uint64_t)(vclock_now_ns(p->clock) / VCLOCK_NS_PER_S); /* NULL clock: real time */
}

static void linux_log(void *ctx, enum fw_log_level level, const char *module, const char *event,
                      const char *detail, size_t detail_len)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    struct fw_linux_port *p = ctx;
    size_t i;
    if (level == FW_LOG_DEBUG && !p->verbose)
        return;
    fprintf(p->log, "%s %s %s: %s", p->name, names[level], module, event);
    if (detail != NULL && detail_len > 0) {
        fputs(": ", p->log);
        for (i = 0; i < detail_len; i++) { /* one line per event, whatever the bytes */
            unsigned char c = (unsigned char)detail[i];
            if (c >= 0x20 && c < 0x7f)
                fputc(c, p->log);
            else
                fprintf(p->log, "\\x%02x", c);
        }
    }
    fputc('\n', p->log);
    fflush(p->log);
}

static int32_t linux_random(void *ctx, uint8_t *buf, size_t len)
{
    return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* ES256: OpenSSL's DER signature as JWS r||s; RS256: as is. */
static int32_t linux_sign(void *ctx, enum fw_sign_alg alg, const uint8_t *msg, size_t len,
                          uint8_t *sig, size_t cap, size_t *sig_len)
{
    struct fw_linux_port *p = ctx;
    EVP_PKEY *key = (EVP_PKEY *)p->key;
    unsigned char der[1024];
    size_t n = sizeof(der);
    EVP_MD_CTX *md;
    int want = alg == FW_SIGN_ES256 ? EVP_PKEY_EC : EVP_PKEY_RSA;
    int ok;
    if (key == NULL || EVP_PKEY_get_base_id(key) != want)
        return -1;
    md = EVP_MD_CTX_new();
    ok = md != NULL && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestSign(md, der, &n, msg, len) == 1;
    EVP_MD_CTX_free(md);
    if (!ok)
        return -1;
    if (alg == FW_SIGN_RS256) {
        if (n > cap)
            return -1;
        memcpy(sig, der, n);
        *sig_len = n;
        return 0;
    }
    {
        const unsigned char *q = der;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)n);
        if (es == NULL || cap < 64) {
            ECDSA_SIG_free(es);
            return -1;
        }
        BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
        ECDSA_SIG_free(es);
        *sig_len = 64;
        return 0;
    }
}

static void linux_state_path(const struct fw_linux_port *p, uint32_t key, char *path, size_t cap)
{
    snprintf(path, cap, "%s/blob-%u", p->state_dir, (unsigned)key);
}

static int32_t linux_persist_load(void *ctx, uint32_t key, uint8_t *buf, size_t cap, size_t *len)
{
    struct fw_linux_port *p = ctx;
    char path[600];
    FILE *f;
    size_t n;
    *len = 0;
    if (p->state_dir[0] == '\0')
        return 0;
    linux_state_path(p, key, path, sizeof(path));
    f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    n = fread(buf, 1, cap, f);
    if (ferror(f) || fgetc(f) != EOF) { /* a read error, or larger than cap */
        fclose(f);
        return -1;
    }
    fclose(f);
    *len = n;
    return 0;
}

/* Write a temporary file, sync it, then rename it over the old one. */
static int32_t linux_persist_save(void *ctx, uint32_t key, const uint8_t *buf, size_t len)
{
    struct fw_linux_port *p = ctx;
    char path[600], tmp[620];
    FILE *f;
    int ok;
    if (p->state_dir[0] == '\0')
        return 0;
    linux_state_path(p, key, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL)
        return -1;
    ok = fwrite(buf, 1, len, f) == len && fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int linux_open_uart(struct fw_linux_port *p, const char *path)
{
    struct termios t;
    p->fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (p->fd < 0) {
        fprintf(stderr, "%s: cannot open UART %s: %s\n", p->name, path, strerror(errno));
        return -1;
    }
    if (tcgetattr(p->fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, B115200);
        cfsetospeed(&t, B115200);
        t.c_cflag |= CLOCAL | CREAD;
        tcsetattr(p->fd, TCSANOW, &t); /* TCSANOW: keep what is already buffered */
    }
    return 0;
}

static int linux_open_key(struct fw_linux_port *p, const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot open key %s: %s\n", p->name, path, strerror(errno));
        return -1;
    }
    p->key = (struct evp_pkey_st *)PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (p->key == NULL) {
        fprintf(stderr, "%s: %s is not a PEM private key\n", p->name, path);
        return -1;
    }
    return 0;
}

static int linux_open_state(struct fw_linux_port *p, const char *dir)
{
    if (strlen(dir) >= sizeof(p->state_dir) - 32) {
        fprintf(stderr, "%s: state directory name too long\n", p->name);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: cannot create %s: %s\n", p->name, dir, strerror(errno));
        return -1;
    }
    snprintf(p->state_dir, sizeof(p->state_dir), "%s", dir);
    return 0;
}

int fw_linux_port_open(struct fw_linux_port *p, const char *name, const char *uart_path,
                       const char *clock_path, const char *key_path, const char *state_dir)
{
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->name = name != NULL ? name : "fwcore";
    p->log = stderr;
    p->port.ctx = p;
    p->port.uart_write = linux_uart_write;
    p->port.uart_read = linux_uart_read;
    p->port.now_ms = linux_now_ms;
    p->port.unix_time_s = linux_unix_time_s;
    p->port.log = linux_log;
    p->port.random = linux_random;
    p->port.sign = linux_sign;
    p->port.persist_load = linux_persist_load;
    p->port.persist_save = linux_persist_save;
    if (clock_path != NULL && (p->clock = vclock_open(clock_path)) == NULL) {
        fprintf(stderr, "%s: cannot open clock %s: %s\n", p->name, clock_path, strerror(errno));
        return -1;
    }
    if (linux_open_uart(p, uart_path) != 0 || (key_path != NULL && linux_open_key(p, key_path) != 0) ||
        (state_dir != NULL && linux_open_state(p, state_dir) != 0)) {
        fw_linux_port_close(p);
        return -1;
    }
    return 0;
}

void fw_linux_port_close(struct fw_linux_port *p)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    EVP_PKEY_free((EVP_PKEY *)p->key);
    p->key = NULL;
    vclock_close(p->clock);
    p->clock = NULL;
}

/* Real ns until the port clock reaches deadline_ms: 0 when reached, -1
 * while the virtual clock is frozen. */
static int64_t linux_real_ns_until(struct fw_linux_port *p, uint32_t deadline_ms)
{
    int64_t now_ns, now_ms;
    int32_t ahead_ms;
    if (p->clock == NULL) {
        ahead_ms = (int32_t)(deadline_ms - linux_now_ms(p));
        return ahead_ms <= 0 ? 0 : (int64_t)ahead_ms * VCLOCK_NS_PER_MS;
    }
    now_ns = vclock_now_ns(p->clock);
    now_ms = now_ns / VCLOCK_NS_PER_MS;
    ahead_ms = (int32_t)(deadline_ms - (uint32_t)now_ms);
    if (ahead_ms <= 0)
        return 0;
    return vclock_real_ns_until(p->clock, (now_ms + ahead_ms) * VCLOCK_NS_PER_MS);
}

/* Wait up to timeout_ns for UART input. */
static void linux_wait_ns(struct fw_linux_port *p, int64_t timeout_ns)
{
    struct pollfd pfd = {p->fd, POLLIN, 0};
    struct timespec ts;
    ts.tv_sec = (time_t)(timeout_ns / VCLOCK_NS_PER_S);
    ts.tv_nsec = (long)(timeout_ns % VCLOCK_NS_PER_S);
    if (ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0)
        nanosleep(&ts, NULL); /* nobody on the other end: do not spin */
}

void fw_linux_port_wait(struct fw_linux_port *p, int timeout_ms)
{
    fw_linux_port_wait_until(p, false, 0, timeout_ms);
}

void fw_linux_port_wait_until(struct fw_linux_port *p, bool has_deadline, uint32_t deadline_ms,
                              int max_ms)
{
    int64_t timeout_ns = max_ms > 0 ? (int64_t)max_ms * VCLOCK_NS_PER_MS : 0;
    if (has_deadline) {
        int64_t until_ns = linux_real_ns_until(p, deadline_ms);
        if (until_ns < 0)
            until_ns = VCLOCK_NS_PER_MS; /* frozen clock: look again soon */
        if (until_ns < timeout_ns)
            timeout_ns = until_ns;
    }
    linux_wait_ns(p, timeout_ns);
}
