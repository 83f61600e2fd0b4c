/*
 * bus_args.c - the bus application's command line (see bus_args.h), shared by
 * the boards: QEMU's semihosting command line, the nRF52840's go line.
 */
#include <string.h>

#include "bus_args.h"

/* Decimal count >= 1, or 0 when s is not one. */
static uint32_t parse_count(const char *s)
{
    uint32_t n = 0;
    for (; *s >= '0' && *s <= '9' && n < 100000u; s++)
        n = n * 10u + (uint32_t)(*s - '0');
    return *s == '\0' ? n : 0;
}

/* A decimal like "20" or "0.5" times 1000, or 0 when s is not one (or is 0). */
static uint32_t parse_milli(const char *s)
{
    uint32_t whole = 0, frac = 0, scale = 1000u;
    for (; *s >= '0' && *s <= '9' && whole < 100000u; s++)
        whole = whole * 10u + (uint32_t)(*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            if (scale > 1u) {
                scale /= 10u;
                frac += (uint32_t)(*s - '0') * scale;
            }
    return *s == '\0' ? whole * 1000u + frac : 0;
}

/* Unsigned decimal, or 0 when s is not one. */
static uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9' && v < 100000000000ull; s++)
        v = v * 10u + (uint64_t)(*s - '0');
    return *s == '\0' ? v : 0;
}

/* The value of "name=value" when word starts with name=, else NULL. */
static const char *option(const char *word, const char *name)
{
    size_t n = strlen(name);
    return strncmp(word, name, n) == 0 && word[n] == '=' ? word + n + 1 : NULL;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decode %XX escapes of the writable word s in place; returns s, or NULL when an
 * escape is malformed or decodes to NUL. */
static const char *unescape(const char *value)
{
    char *s = (char *)(uintptr_t)value, *out = s;
    const char *in = s;
    while (*in != '\0') {
        if (*in == '%') {
            int hi = hex_digit(in[1]), lo = hi < 0 ? -1 : hex_digit(in[2]);
            if (lo < 0 || (hi == 0 && lo == 0))
                return NULL;
            *out++ = (char)(hi * 16 + lo);
            in += 3;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return s;
}

/* Take the OPTION=VALUE words after the five positional ones; false on an unknown one. */
static bool parse_options(int argc, const char *const *argv, struct bus_run_args *args, uint32_t *rate_milli,
                          uint64_t *epoch)
{
    int i;
    for (i = 5; i < argc; i++) {
        const char *w = argv[i], *v;
        if ((v = option(w, "project")) != NULL)
            args->project = v;
        else if ((v = option(w, "region")) != NULL)
            args->region = v;
        else if ((v = option(w, "registry")) != NULL)
            args->registry = v;
        else if ((v = option(w, "registration")) != NULL && (args->registration = unescape(v)) != NULL)
            continue;
        else if ((v = option(w, "route")) != NULL && (args->route = unescape(v)) != NULL)
            continue;
        else if ((v = option(w, "role")) != NULL && (strcmp(v, "bus") == 0 || strcmp(v, "depot") == 0))
            args->depot = strcmp(v, "depot") == 0;
        else if ((v = option(w, "rate")) != NULL && (*rate_milli = parse_milli(v)) != 0)
            continue;
        else if ((v = option(w, "epoch")) != NULL && (*epoch = parse_u64(v)) != 0)
            continue;
        else
            return false;
    }
    return true;
}

bool bus_args_parse(int argc, const char *const *argv, struct bus_run_args *args, uint32_t *rate_milli,
                    uint64_t *epoch)
{
    bool count_ok = argc >= 5 && (parse_count(argv[4]) > 0 || strcmp(argv[4], "0") == 0);
    memset(args, 0, sizeof(*args));
    *rate_milli = 1000u;
    *epoch = 0;
    if (argc < 1)
        return false;
    args->gcp = strcmp(argv[0], "gcp") == 0;
    if (!count_ok || (!args->gcp && strcmp(argv[0], "aws") != 0) ||
        !parse_options(argc, argv, args, rate_milli, epoch) ||
        (args->gcp && (args->project == NULL || args->region == NULL || args->registry == NULL)))
        return false;
    args->device = argv[1];
    args->broker = argv[2];
    args->certs = argv[3];
    args->events = parse_count(argv[4]);
    return true;
}
