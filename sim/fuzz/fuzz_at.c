/*
 * libFuzzer target for the simulator's AT input: arbitrary bytes go into a
 * fresh modem (instant latency, boot_ms 0, data network down so that no
 * input reaches the real network), the output is drained, and afterwards
 * the modem must answer "AT\r" with exactly OK.
 *
 * Before the check the harness brings the modem back to an idle command
 * line the way a host would, and only through the UART and the clock:
 *   - an open data prompt is completed (ESC cancels a Ctrl-Z prompt, a
 *     fixed-length prompt gets its remaining bytes);
 *   - a pending command is given virtual time (the private clock jumps) so
 *     that its timeouts expire;
 *   - a half-typed line is ended with CR.
 * A stall or UART faults come only from the control protocol, which the
 * input cannot reach, so they need no undoing here.
 * Whatever state the input leaves, this must converge within a bounded
 * number of steps; a modem that does not, or that then fails to answer OK,
 * is a bug and the target aborts. ASan/UBSan/LSan catch the rest.
 *
 * The first input byte selects the feeding chunk size (1..64), so that the
 * framing is fuzzed at every split.
 */
#include "sim_internal.h"
#include "vclock.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 2026-11-27 03:00:00 UTC */
#define FUZZ_T0_NS (1795748400LL * VCLOCK_NS_PER_S)
#define SETTLE_ROUNDS 400
#define SETTLE_JUMP_MS 10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct sim_modem *m, uint8_t *out, size_t cap, size_t *len)
{
    uint8_t buf[4096];
    size_t n;
    while ((n = sim_modem_output(m, buf, sizeof(buf))) > 0) {
        if (out != NULL) {
            size_t room = cap - *len;
            size_t take = n < room ? n : room;
            memcpy(out + *len, buf, take);
            *len += take;
        }
    }
}

/* One round of the poll loop without poll(): timers and deadlines only. */
static void pump(struct sim_modem *m)
{
    struct sim_pollset ps;
    sim_pollset_reset(&ps);
    sim_modem_prepare(m, &ps);
    sim_modem_dispatch(m, &ps);
    drain(m, NULL, 0, NULL);
}

static bool idle(const struct sim_modem *m)
{
    return m->rx_state == SIM_RX_LINE && !m->busy && !m->booting && m->line_len == 0 && !m->line_overflow &&
           sim_buf_used(&m->rx_backlog) == 0;
}

/* One step towards an idle command line, as a host would take it. */
static void settle_step(struct sim_modem *m, struct vclock *clock)
{
    static const uint8_t esc = 0x1B;
    static const uint8_t cr = '\r';
    if (m->rx_state == SIM_RX_PROMPT_CTRLZ) {
        sim_modem_input(m, &esc, 1);
    } else if (m->rx_state == SIM_RX_PROMPT_FIXED) {
        size_t missing = m->prompt_len - m->prompt_got + (m->prompt_skip_lf ? 1 : 0);
        uint8_t *fill = malloc(missing);
        if (fill == NULL) {
            abort();
        }
        memset(fill, 'x', missing);
        sim_modem_input(m, fill, missing);
        free(fill);
    } else if (m->busy || m->booting || sim_buf_used(&m->rx_backlog) > 0) {
        vclock_jump(clock, SETTLE_JUMP_MS * VCLOCK_NS_PER_MS);
    } else if (m->line_len > 0 || m->line_overflow) {
        sim_modem_input(m, &cr, 1);
    }
    pump(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    struct vclock *clock = vclock_new_private(FUZZ_T0_NS, 0);
    if (clock == NULL) {
        abort();
    }
    struct sim_config cfg;
    sim_config_defaults(&cfg);
    cfg.clock = clock;
    cfg.latency = SIM_LATENCY_INSTANT;
    cfg.boot_ms = 0;
    struct sim_modem *m = sim_modem_new(&cfg);
    if (m == NULL) {
        abort();
    }
    char reply[512];
    if (sim_modem_control(m, "net down", reply, sizeof(reply)) != 0) {
        abort();
    }

    size_t chunk = (size_t)(data[0] % 64) + 1;
    for (size_t off = 1; off < size; off += chunk) {
        size_t n = size - off < chunk ? size - off : chunk;
        sim_modem_input(m, data + off, n);
        pump(m);
    }

    int rounds = 0;
    while (!idle(m)) {
        if (++rounds > SETTLE_ROUNDS) {
            fprintf(stderr, "fuzz_at: the modem did not return to an idle command line (rx_state %d, busy %d)\n",
                    (int)m->rx_state, (int)m->busy);
            abort();
        }
        settle_step(m, clock);
    }
    pump(m);

    uint8_t out[256];
    size_t out_len = 0;
    static const char probe[] = "AT\r";
    sim_modem_input(m, (const uint8_t *)probe, sizeof(probe) - 1);
    struct sim_pollset ps;
    sim_pollset_reset(&ps);
    sim_modem_prepare(m, &ps);
    sim_modem_dispatch(m, &ps);
    drain(m, out, sizeof(out), &out_len);
    static const char with_echo[] = "AT\r\r\nOK\r\n";
    static const char without_echo[] = "\r\nOK\r\n";
    const char *want = m->echo ? with_echo : without_echo;
    if (out_len != strlen(want) || memcmp(out, want, out_len) != 0) {
        fprintf(stderr, "fuzz_at: \"AT\\r\" answered with %zu bytes: \"", out_len);
        for (size_t i = 0; i < out_len; i++) {
            fprintf(stderr, out[i] >= 0x20 && out[i] < 0x7F ? "%c" : "\\x%02X", out[i]);
        }
        fprintf(stderr, "\"\n");
        abort();
    }
    sim_modem_free(m);
    vclock_close(clock);
    return 0;
}
