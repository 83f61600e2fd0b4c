/* Test support for the simulator (see simtest.h). */
#include "simtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

void simtest_config(struct sim_config *cfg)
{
    sim_config_defaults(cfg);
    cfg->latency = SIM_LATENCY_INSTANT;
    cfg->boot_ms = 0;
}

/* Print bytes with C escapes, for failure messages. */
static void print_escaped(const char *label, const uint8_t *data, size_t len)
{
    fprintf(stderr, "%s (%zu bytes): \"", label, len);
    for (size_t i = 0; i < len; i++) {
        uint8_t c = data[i];
        if (c == '\r') {
            fputs("\\r", stderr);
        } else if (c == '\n') {
            fputs("\\n", stderr);
        } else if (c == '"' || c == '\\') {
            fprintf(stderr, "\\%c", c);
        } else if (c < 0x20 || c >= 0x7F) {
            fprintf(stderr, "\\x%02X", c);
        } else {
            fputc(c, stderr);
        }
    }
    fputs("\"\n", stderr);
}

static void drain(struct sim_modem *m, struct sim_buf *out)
{
    uint8_t buf[4096];
    size_t n;
    while ((n = sim_modem_output(m, buf, sizeof(buf))) > 0) {
        sim_buf_put(out, buf, n);
    }
}

void simtest_replay(const struct sim_config *cfg, const struct simtest_step *steps, size_t count, size_t chunk)
{
    struct sim_config local;
    if (cfg == NULL) {
        simtest_config(&local);
        cfg = &local;
    }
    struct sim_modem *m = sim_modem_new(cfg);
    assert_non_null(m);
    struct sim_buf out = { 0 };
    for (size_t s = 0; s < count; s++) {
        const struct simtest_step *step = &steps[s];
        if (step->control != NULL) {
            char reply[1024];
            if (sim_modem_control(m, step->control, reply, sizeof(reply)) != 0) {
                fprintf(stderr, "step %zu: control '%s' failed: %s\n", s, step->control, reply);
                fail();
            }
        }
        size_t len = step->send == NULL ? 0 : (step->send_len ? step->send_len : strlen(step->send));
        size_t piece = chunk == 0 ? (len ? len : 1) : chunk;
        for (size_t off = 0; off < len; off += piece) {
            size_t n = len - off < piece ? len - off : piece;
            sim_modem_input(m, (const uint8_t *)step->send + off, n);
            drain(m, &out);
        }
        struct sim_pollset ps;
        sim_pollset_reset(&ps);
        sim_modem_prepare(m, &ps);
        sim_modem_dispatch(m, &ps);
        drain(m, &out);
        size_t want = step->expect == NULL ? 0 : (step->expect_len ? step->expect_len : strlen(step->expect));
        size_t got = sim_buf_used(&out);
        const uint8_t *data = out.data ? out.data + out.head : (const uint8_t *)"";
        if (got != want || (want > 0 && memcmp(data, step->expect, want) != 0)) {
            fprintf(stderr, "transcript step %zu, chunk size %zu\n", s, chunk);
            if (step->send != NULL) {
                print_escaped("sent    ", (const uint8_t *)step->send, len);
            }
            print_escaped("expected", (const uint8_t *)(step->expect ? step->expect : ""), want);
            print_escaped("got     ", data, got);
            sim_buf_free(&out);
            sim_modem_free(m);
            fail();
        }
        sim_buf_clear(&out);
    }
    sim_buf_free(&out);
    sim_modem_free(m);
}

void simtest_replay_all(const struct sim_config *cfg, const struct simtest_step *steps, size_t count)
{
    static const size_t sizes[] = SIMTEST_CHUNK_SIZES;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        simtest_replay(cfg, steps, count, sizes[i]);
    }
}

/* ------------------------------------------------------------- driver */

void simtest_driver_init(struct simtest_driver *d, const struct sim_config *cfg)
{
    struct sim_config local;
    if (cfg == NULL) {
        simtest_config(&local);
        cfg = &local;
    }
    memset(d, 0, sizeof(*d));
    d->modem = sim_modem_new(cfg);
    assert_non_null(d->modem);
}

void simtest_driver_fini(struct simtest_driver *d)
{
    sim_modem_free(d->modem);
    sim_buf_free(&d->seen);
    memset(d, 0, sizeof(*d));
}

void simtest_send_raw(struct simtest_driver *d, const void *data, size_t len)
{
    sim_modem_input(d->modem, data, len);
    drain(d->modem, &d->seen);
}

void simtest_send(struct simtest_driver *d, const char *text)
{
    simtest_send_raw(d, text, strlen(text));
}

void simtest_pump(struct simtest_driver *d, int max_wait_ms)
{
    struct sim_pollset ps;
    sim_pollset_reset(&ps);
    sim_modem_prepare(d->modem, &ps);
    int timeout = ps.timeout_ms;
    if (timeout < 0 || timeout > max_wait_ms) {
        timeout = max_wait_ms;
    }
    if (ps.count > 0) {
        poll(ps.fds, (nfds_t)ps.count, timeout);
    } else if (timeout > 0) {
        struct timespec ts = { timeout / 1000, (long)(timeout % 1000) * 1000000L };
        nanosleep(&ts, NULL);
    }
    sim_modem_dispatch(d->modem, &ps);
    drain(d->modem, &d->seen);
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t hay_len, const char *needle, size_t needle_len)
{
    if (needle_len == 0 || hay_len < needle_len) {
        return needle_len == 0 ? hay : NULL;
    }
    for (size_t i = 0; i + needle_len <= hay_len; i++) {
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, needle_len) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

bool simtest_expect_capture(struct simtest_driver *d, const char *needle, int timeout_ms, char *out, size_t cap)
{
    size_t needle_len = strlen(needle);
    int64_t give_up = real_ms() + timeout_ms;
    for (;;) {
        const uint8_t *data = d->seen.data ? d->seen.data + d->seen.head : NULL;
        size_t used = sim_buf_used(&d->seen);
        const uint8_t *hit = data ? find_bytes(data, used, needle, needle_len) : NULL;
        if (hit != NULL) {
            size_t upto = (size_t)(hit - data) + needle_len;
            if (out != NULL && cap > 0) {
                size_t n = upto < cap - 1 ? upto : cap - 1;
                memcpy(out, data, n);
                out[n] = '\0';
            }
            d->seen.head += upto;
            if (d->seen.head == d->seen.len) {
                sim_buf_clear(&d->seen);
            }
            return true;
        }
        if (real_ms() >= give_up) {
            fprintf(stderr, "expected \"%s\" within %d ms\n", needle, timeout_ms);
            print_escaped("unread output", data ? data : (const uint8_t *)"", used);
            return false;
        }
        simtest_pump(d, 10);
    }
}

bool simtest_expect(struct simtest_driver *d, const char *needle, int timeout_ms)
{
    return simtest_expect_capture(d, needle, timeout_ms, NULL, 0);
}

const char *simtest_control(struct simtest_driver *d, const char *line)
{
    static __thread char reply[2048];
    sim_modem_control(d->modem, line, reply, sizeof(reply));
    drain(d->modem, &d->seen);
    return reply;
}

/* ------------------------------------------------------------- servers */

int simtest_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(addr.sin_port);
}

const char *simtest_certs_dir(void)
{
    const char *dir = getenv("CELLBENCH_CERTS");
    return dir != NULL && *dir != '\0' ? dir : "certs/out";
}

const char *simtest_cert(const char *relative)
{
    static __thread char paths[8][512];
    static __thread unsigned next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", simtest_certs_dir(), relative);
    return p;
}

int simtest_wait_port(int port, int timeout_ms)
{
    int64_t give_up = real_ms() + timeout_ms;
    while (real_ms() < give_up) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
        close(fd);
        if (rc == 0) {
            return 0;
        }
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

int simtest_mosquitto_start(struct simtest_server *srv, const char *extra_config)
{
    memset(srv, 0, sizeof(*srv));
    snprintf(srv->dir, sizeof(srv->dir), "/tmp/simtest-mosq-XXXXXX");
    if (mkdtemp(srv->dir) == NULL) {
        return -1;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        srv->port = simtest_free_port();
        char conf[256];
        snprintf(conf, sizeof(conf), "%s/mosquitto.conf", srv->dir);
        FILE *f = fopen(conf, "w");
        if (f == NULL) {
            return -1;
        }
        fprintf(f, "per_listener_settings true\nlog_dest file %s/mosquitto.log\nlog_type all\n", srv->dir);
        if (geteuid() == 0) {
            /* as root mosquitto would switch to its own user, which can read neither
               this private directory nor the keys in certs/out */
            fprintf(f, "user root\n");
        }
        fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n%s\n", srv->port, extra_config ? extra_config : "");
        fclose(f);
        pid_t pid = fork();
        if (pid == 0) {
            if (freopen("/dev/null", "w", stdout) == NULL) {
                _exit(126);
            }
            execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
            _exit(127);
        }
        srv->pid = pid;
        if (simtest_wait_port(srv->port, 5000) == 0) {
            return 0;
        }
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        srv->pid = 0;
    }
    return -1;
}

void simtest_server_stop(struct simtest_server *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGTERM);
        waitpid(srv->pid, NULL, 0);
        srv->pid = 0;
    }
    if (srv->dir[0] != '\0') {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", srv->dir);
        if (system(cmd) != 0) {
            /* leftover temp dir: harmless */
        }
        srv->dir[0] = '\0';
    }
}

char *simtest_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    struct sim_buf data = { 0 };
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sim_buf_put(&data, chunk, n);
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        sim_buf_free(&data);
        fail_msg("cannot read %s", path);
    }
    size_t used = sim_buf_used(&data);
    char *text = malloc(used + 1);
    assert_non_null(text);
    if (used > 0) {
        memcpy(text, data.data + data.head, used);
    }
    text[used] = '\0';
    sim_buf_free(&data);
    if (len != NULL) {
        *len = used;
    }
    return text;
}

void simtest_download_cert(struct simtest_driver *d, const char *store_name, const char *cert_path)
{
    size_t len = 0;
    char *data = simtest_read_file(simtest_cert(cert_path), &len);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "AT+CCERTDOWN=\"%s\",%zu\r", store_name, len);
    simtest_send(d, cmd);
    assert_true(simtest_expect(d, "\r\n>", 10000));
    simtest_send_raw(d, data, len);
    assert_true(simtest_expect(d, "\r\nOK\r\n", 10000));
    free(data);
}

void simtest_at_ok(struct simtest_driver *d, const char *line)
{
    simtest_send(d, line);
    assert_true(simtest_expect(d, "\r\nOK\r\n", 30000));
}

void simtest_take_bytes(struct simtest_driver *d, size_t len, char *out)
{
    for (int round = 0; round < 3000 && sim_buf_used(&d->seen) < len; round++) {
        simtest_pump(d, 10);
    }
    assert_true(sim_buf_used(&d->seen) >= len);
    sim_buf_take(&d->seen, out, len);
}
