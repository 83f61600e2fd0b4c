/*
 * The UART capture (--log): one line per chunk that crossed the UART,
 *
 *     <virtual time> <real time> RX|TX "<escaped bytes>"
 *
 * times in ISO 8601 UTC with milliseconds, RX = host -> modem, TX = modem ->
 * host, bytes escaped like a C string (\r \n \t \" \\ and \xHH for other
 * non-printable bytes). Lines starting with '#' are comments. Every line is
 * flushed at once, so a crash loses nothing and `tail -f` works.
 */
#include "prog.h"
#include "vclock.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static void format_time(int64_t ns, char *out, size_t cap)
{
    int64_t ms_total = ns >= 0 ? ns / VCLOCK_NS_PER_MS : -((-ns + VCLOCK_NS_PER_MS - 1) / VCLOCK_NS_PER_MS);
    int64_t secs = ms_total >= 0 ? ms_total / 1000 : -((-ms_total + 999) / 1000);
    int ms = (int)(ms_total - secs * 1000) % 1000;
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char date[48];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%.32s.%03dZ", date, ms < 0 ? 0 : ms);
}

int prog_capture_open(struct prog_capture *cap, const char *path, const struct vclock *clock)
{
    cap->clock = clock;
    cap->file = fopen(path, "a");
    if (cap->file == NULL) {
        fprintf(stderr, "sim7600: cannot open log %s: %s\n", path, strerror(errno));
        return -1;
    }
    fputs("# sim7600 UART capture: <virtual time> <real time> RX|TX \"bytes\" (RX = host to modem)\n", cap->file);
    fflush(cap->file);
    return 0;
}

void prog_capture_escape(const uint8_t *data, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        uint8_t c = data[i];
        const char *esc = NULL;
        switch (c) {
        case '\r': esc = "\\r"; break;
        case '\n': esc = "\\n"; break;
        case '\t': esc = "\\t"; break;
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        default: break;
        }
        if (esc != NULL) {
            out[o++] = esc[0];
            out[o++] = esc[1];
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
        }
    }
    out[o] = '\0';
}

void prog_capture_tap(void *ctx, enum sim_dir dir, const uint8_t *data, size_t len)
{
    struct prog_capture *cap = ctx;
    if (cap->file == NULL) {
        return;
    }
    char virt[64];
    char real[64];
    format_time(vclock_now_ns(cap->clock), virt, sizeof(virt));
    format_time(vclock_now_ns(NULL), real, sizeof(real));
    fprintf(cap->file, "%s %s %s \"", virt, real, dir == SIM_DIR_RX ? "RX" : "TX");
    char piece[4 * 256 + 8];
    for (size_t off = 0; off < len; off += 256) {
        size_t n = len - off < 256 ? len - off : 256;
        prog_capture_escape(data + off, n, piece, sizeof(piece));
        fputs(piece, cap->file);
    }
    fputs("\"\n", cap->file);
    fflush(cap->file);
}

void prog_capture_close(struct prog_capture *cap)
{
    if (cap->file != NULL) {
        fclose(cap->file);
        cap->file = NULL;
    }
}
