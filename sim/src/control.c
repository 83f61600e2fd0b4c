/*
 * The control protocol: one text line in, one line out. The harness uses it
 * to inject faults, move the GNSS fix and read statistics. The verbs are
 * listed in README.md ("Control protocol"); group-specific verbs (gnss,
 * broker-close, ...) are offered to each group's control hook.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTROL_MAX_ARGS 16

static int reply_ok(char *reply, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reply_ok(char *reply, size_t cap, const char *fmt, ...)
{
    int n = snprintf(reply, cap, "ok");
    if (fmt != NULL && n >= 0 && (size_t)n < cap) {
        reply[n] = ' ';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reply + n + 1, cap - (size_t)n - 1, fmt, ap);
        va_end(ap);
    }
    return 0;
}

static int reply_error(char *reply, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int reply_error(char *reply, size_t cap, const char *fmt, ...)
{
    int n = snprintf(reply, cap, "error: ");
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < cap) {
        vsnprintf(reply + n, cap - (size_t)n, fmt, ap);
    }
    va_end(ap);
    return -1;
}

bool sim_parse_double(const char *text, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max)) {
        return false;
    }
    *out = v;
    return true;
}

bool sim_parse_long(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

static int control_net(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    if (argc != 2 || (strcmp(argv[1], "up") != 0 && strcmp(argv[1], "down") != 0)) {
        return reply_error(reply, cap, "usage: net up|down");
    }
    bool up = strcmp(argv[1], "up") == 0;
    if (!up && m->network_up) {
        m->network_up = false;
        sim_teardown_all(m, SIM_DOWN_NETWORK);
    }
    m->network_up = up;
    return reply_ok(reply, cap, "net %s", up ? "up" : "down");
}

static int control_reg(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    static const struct {
        const char *name;
        int stat;
    } states[] = {
        { "none", 0 }, { "home", 1 }, { "searching", 2 }, { "denied", 3 }, { "unknown", 4 }, { "roaming", 5 },
    };
    for (size_t i = 0; argc == 2 && i < sizeof(states) / sizeof(states[0]); i++) {
        if (strcmp(argv[1], states[i].name) != 0) {
            continue;
        }
        bool was_ready = sim_network_ready(m);
        if (m->reg_stat != states[i].stat) {
            m->reg_stat = states[i].stat;
            sim_basic_reg_urcs(m);
        }
        if (was_ready && !sim_network_ready(m)) {
            sim_teardown_all(m, SIM_DOWN_NETWORK);
        }
        return reply_ok(reply, cap, "reg %s", states[i].name);
    }
    return reply_error(reply, cap, "usage: reg none|home|searching|denied|unknown|roaming");
}

static int control_signal(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    long rssi = 0;
    long ber = 99;
    if (argc < 2 || argc > 3 || !sim_parse_long(argv[1], 0, 99, &rssi) || (rssi > 31 && rssi != 99) ||
        (argc == 3 && (!sim_parse_long(argv[2], 0, 99, &ber) || (ber > 7 && ber != 99)))) {
        return reply_error(reply, cap, "usage: signal RSSI(0-31|99) [BER(0-7|99)]");
    }
    m->rssi = (int)rssi;
    m->ber = (int)ber;
    return reply_ok(reply, cap, "signal %ld,%ld", rssi, ber);
}

static int control_stall(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    double seconds = 0;
    if (argc != 2 || !sim_parse_double(argv[1], 0.0, 86400.0, &seconds)) {
        return reply_error(reply, cap, "usage: stall SECONDS");
    }
    m->stall_until_ms = seconds > 0 ? sim_now_ms(m) + (int64_t)(seconds * 1000.0) : 0;
    return reply_ok(reply, cap, "stall %.3f", seconds);
}

static int control_uart_fault(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap, bool loss)
{
    double rate = 0;
    const char *dir = argc == 3 ? argv[2] : "both";
    bool rx = strcmp(dir, "rx") == 0 || strcmp(dir, "both") == 0;
    bool tx = strcmp(dir, "tx") == 0 || strcmp(dir, "both") == 0;
    if (argc < 2 || argc > 3 || !sim_parse_double(argv[1], 0.0, 1.0, &rate) || (!rx && !tx)) {
        return reply_error(reply, cap, "usage: %s RATE(0..1) [rx|tx|both]", argv[0]);
    }
    if (rx) {
        *(loss ? &m->rx_loss : &m->rx_corrupt) = rate;
    }
    if (tx) {
        *(loss ? &m->tx_loss : &m->tx_corrupt) = rate;
    }
    return reply_ok(reply, cap, "%s %g %s", argv[0], rate, dir);
}

static int control_sim(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    if (argc != 2 || (strcmp(argv[1], "ready") != 0 && strcmp(argv[1], "absent") != 0)) {
        return reply_error(reply, cap, "usage: sim ready|absent");
    }
    bool present = strcmp(argv[1], "ready") == 0;
    bool was_ready = sim_network_ready(m);
    m->sim_present = present;
    if (was_ready && !sim_network_ready(m)) {
        sim_teardown_all(m, SIM_DOWN_NETWORK);
    }
    sim_basic_reg_urcs(m);
    return reply_ok(reply, cap, "sim %s", argv[1]);
}

/* Choose one of two (or three) words for an enum setting. */
static int control_choice(int argc, char **argv, const char *const *words, size_t count, int *out, char *reply,
                          size_t cap)
{
    for (size_t i = 0; argc == 2 && i < count; i++) {
        if (strcmp(argv[1], words[i]) == 0) {
            *out = (int)i;
            return reply_ok(reply, cap, "%s %s", argv[0], words[i]);
        }
    }
    char usage[128] = "";
    for (size_t i = 0; i < count; i++) {
        strncat(usage, words[i], sizeof(usage) - strlen(usage) - 2);
        if (i + 1 < count) {
            strncat(usage, "|", sizeof(usage) - strlen(usage) - 1);
        }
    }
    return reply_error(reply, cap, "usage: %s %s", argv[0], usage);
}

static int control_settings(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    static const char *const latency[] = { "instant", "realistic" };
    static const char *const order[] = { "ok-first", "info-first" };
    static const char *const urc[] = { "until-final", "between-lines" };
    int v = 0;
    int rc;
    if (strcmp(argv[0], "latency") == 0) {
        rc = control_choice(argc, argv, latency, 2, &v, reply, cap);
        if (rc == 0) {
            m->cfg.latency = (enum sim_latency)v;
        }
    } else if (strcmp(argv[0], "order") == 0) {
        rc = control_choice(argc, argv, order, 2, &v, reply, cap);
        if (rc == 0) {
            m->cfg.order = (enum sim_result_order)v;
        }
    } else {
        rc = control_choice(argc, argv, urc, 2, &v, reply, cap);
        if (rc == 0) {
            m->cfg.urc_hold = (enum sim_urc_hold)v;
        }
    }
    return rc;
}

static int control_host(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    if (argc != 3) {
        return reply_error(reply, cap, "usage: host NAME ADDRESS");
    }
    for (size_t i = 0; i < m->alias_count; i++) {
        if (strcasecmp(m->aliases[i].name, argv[1]) == 0) {
            char *address = strdup(argv[2]);
            if (address == NULL) {
                return reply_error(reply, cap, "out of memory");
            }
            free(m->aliases[i].address);
            m->aliases[i].address = address;
            return reply_ok(reply, cap, "host %s %s", argv[1], argv[2]);
        }
    }
    struct sim_host_alias *grown = realloc(m->aliases, (m->alias_count + 1) * sizeof(*grown));
    if (grown == NULL) {
        return reply_error(reply, cap, "out of memory");
    }
    m->aliases = grown;
    m->aliases[m->alias_count].name = strdup(argv[1]);
    m->aliases[m->alias_count].address = strdup(argv[2]);
    if (m->aliases[m->alias_count].name == NULL || m->aliases[m->alias_count].address == NULL) {
        free(m->aliases[m->alias_count].name);
        free(m->aliases[m->alias_count].address);
        return reply_error(reply, cap, "out of memory");
    }
    m->alias_count++;
    return reply_ok(reply, cap, "host %s %s", argv[1], argv[2]);
}

static int control_stats(struct sim_modem *m, char *reply, size_t cap)
{
    struct sim_buf b = { 0 };
    const struct sim_counters *c = &m->counters;
    sim_buf_printf(&b,
                   "{\"rx_bytes\":%llu,\"tx_bytes\":%llu,\"commands\":%llu,\"errors\":%llu,\"urcs\":%llu,"
                   "\"rx_dropped\":%llu,\"rx_corrupted\":%llu,\"tx_dropped\":%llu,\"tx_corrupted\":%llu,"
                   "\"resets\":%llu,\"registered\":%s,\"network_up\":%s,\"rssi\":%d",
                   (unsigned long long)c->rx_bytes, (unsigned long long)c->tx_bytes, (unsigned long long)c->commands,
                   (unsigned long long)c->errors, (unsigned long long)c->urcs, (unsigned long long)c->rx_dropped,
                   (unsigned long long)c->rx_corrupted, (unsigned long long)c->tx_dropped,
                   (unsigned long long)c->tx_corrupted, (unsigned long long)c->resets,
                   (m->reg_stat == 1 || m->reg_stat == 5) ? "true" : "false", m->network_up ? "true" : "false",
                   m->rssi);
    for (size_t i = 0; i < sim_group_count; i++) {
        if (sim_groups[i]->stats != NULL) {
            sim_groups[i]->stats(m, &b);
        }
    }
    sim_buf_put(&b, "}", 2);
    int rc = reply_ok(reply, cap, "%s", (const char *)b.data);
    sim_buf_free(&b);
    return rc;
}

/* Split line into whitespace-separated words (modified in place). */
static int split_words(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line;
    while (*p != '\0' && argc < max) {
        while (isspace((unsigned char)*p)) {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        argv[argc++] = p;
        while (*p != '\0' && !isspace((unsigned char)*p)) {
            p++;
        }
        if (*p != '\0') {
            *p++ = '\0';
        }
    }
    return argc;
}

static int control_group(struct sim_modem *m, int argc, char **argv, char *reply, size_t cap)
{
    for (size_t i = 0; i < sim_group_count; i++) {
        bool ok = false;
        if (sim_groups[i]->control != NULL && sim_groups[i]->control(m, argc, argv, reply, cap, &ok)) {
            return ok ? 0 : -1;
        }
    }
    return reply_error(reply, cap, "unknown command '%s'", argv[0]);
}

int sim_modem_control(struct sim_modem *m, const char *line, char *reply, size_t cap)
{
    char copy[512];
    if (strlen(line) >= sizeof(copy)) {
        return reply_error(reply, cap, "line too long");
    }
    strcpy(copy, line);
    char *argv[CONTROL_MAX_ARGS];
    int argc = split_words(copy, argv, CONTROL_MAX_ARGS);
    if (argc == 0) {
        return reply_error(reply, cap, "empty command");
    }
    const char *verb = argv[0];
    if (strcmp(verb, "ping") == 0) {
        return reply_ok(reply, cap, "pong");
    }
    if (strcmp(verb, "net") == 0) {
        return control_net(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "reg") == 0) {
        return control_reg(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "signal") == 0) {
        return control_signal(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "reset") == 0) {
        sim_modem_reset(m);
        return reply_ok(reply, cap, "reset");
    }
    if (strcmp(verb, "stall") == 0) {
        return control_stall(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "uart-loss") == 0 || strcmp(verb, "uart-corrupt") == 0) {
        return control_uart_fault(m, argc, argv, reply, cap, strcmp(verb, "uart-loss") == 0);
    }
    if (strcmp(verb, "seed") == 0) {
        long seed = 0;
        if (argc != 2 || !sim_parse_long(argv[1], 1, LONG_MAX, &seed)) {
            return reply_error(reply, cap, "usage: seed N(>0)");
        }
        m->rng = (uint64_t)seed;
        return reply_ok(reply, cap, "seed %ld", seed);
    }
    if (strcmp(verb, "sim") == 0) {
        return control_sim(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "latency") == 0 || strcmp(verb, "order") == 0 || strcmp(verb, "urc") == 0) {
        return control_settings(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "host") == 0) {
        return control_host(m, argc, argv, reply, cap);
    }
    if (strcmp(verb, "stats") == 0) {
        return control_stats(m, reply, cap);
    }
    return control_group(m, argc, argv, reply, cap);
}
