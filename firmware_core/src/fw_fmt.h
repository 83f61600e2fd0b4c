/*
 * fw_fmt.h - building AT command text into a bounded buffer (private to the
 * core's sources). The first overflow sticks in `bad`.
 */
#ifndef FW_FMT_H
#define FW_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fw_fmt {
    char *buf;
    size_t cap;
    size_t len;
    bool bad;
};

static inline void fw_fmt__str(struct fw_fmt *f, const char *s)
{
    size_t n = strlen(s);
    if (f->bad || n >= f->cap - f->len) {
        f->bad = true;
        return;
    }
    memcpy(f->buf + f->len, s, n + 1);
    f->len += n;
}

static inline void fw_fmt__uint(struct fw_fmt *f, uint32_t v)
{
    char text[12];
    char *p = text + sizeof(text) - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + v % 10u);
        v /= 10u;
    } while (v > 0);
    fw_fmt__str(f, p);
}

static inline void fw_fmt__quoted(struct fw_fmt *f, const char *s)
{
    fw_fmt__str(f, "\"");
    fw_fmt__str(f, s);
    fw_fmt__str(f, "\"");
}

#endif /* FW_FMT_H */
