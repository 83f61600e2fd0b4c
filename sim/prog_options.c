/* sim7600 command line: options, usage text and the Markdown command table. */
#include "prog.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_LINK = 256,
    OPT_SERIAL,
    OPT_BAUD,
    OPT_CONTROL,
    OPT_LOG,
    OPT_CLOCK,
    OPT_PACE_BAUD,
    OPT_ORDER,
    OPT_URC,
    OPT_LATENCY,
    OPT_CMEE,
    OPT_BOOT_MS,
    OPT_SEED,
    OPT_IMEI,
    OPT_ICCID,
    OPT_PROMPT_SPACE,
    OPT_ECHO_PROMPT_DATA,
    OPT_MAX_LINE,
    OPT_COMMANDS,
    OPT_HELP,
};

static const struct option long_options[] = {
    { "link", required_argument, NULL, OPT_LINK },
    { "serial", required_argument, NULL, OPT_SERIAL },
    { "baud", required_argument, NULL, OPT_BAUD },
    { "control", required_argument, NULL, OPT_CONTROL },
    { "log", required_argument, NULL, OPT_LOG },
    { "clock", required_argument, NULL, OPT_CLOCK },
    { "pace-baud", required_argument, NULL, OPT_PACE_BAUD },
    { "order", required_argument, NULL, OPT_ORDER },
    { "urc", required_argument, NULL, OPT_URC },
    { "latency", required_argument, NULL, OPT_LATENCY },
    { "cmee", required_argument, NULL, OPT_CMEE },
    { "boot-ms", required_argument, NULL, OPT_BOOT_MS },
    { "seed", required_argument, NULL, OPT_SEED },
    { "imei", required_argument, NULL, OPT_IMEI },
    { "iccid", required_argument, NULL, OPT_ICCID },
    { "prompt-space", no_argument, NULL, OPT_PROMPT_SPACE },
    { "echo-prompt-data", no_argument, NULL, OPT_ECHO_PROMPT_DATA },
    { "max-line", required_argument, NULL, OPT_MAX_LINE },
    { "commands", no_argument, NULL, OPT_COMMANDS },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

void prog_usage(FILE *out)
{
    fputs("usage: sim7600 (--link PATH | --serial DEV [--baud N]) [options]\n"
          "       sim7600 --commands | --help\n"
          "\n"
          "A SIMCom SIM7600E modem simulator serving AT commands on a UART.\n"
          "\n"
          "  --link PATH             create a PTY, symlink PATH to its slave, print the slave path\n"
          "  --serial DEV            serve a real serial device instead\n"
          "  --baud N                baud rate of --serial (default 115200)\n"
          "  --control PATH          control protocol on a Unix stream socket (README \"Control protocol\")\n"
          "  --log FILE              UART capture: `<virtual> <real> RX|TX \"bytes\"` per chunk\n"
          "  --clock PATH            read time from the shared virtual clock file (default: real time)\n"
          "  --pace-baud N           pace UART bytes as a real line at N baud would (10 bits a byte)\n"
          "  --order ok-first|info-first        order of OK and the +CMD: <err> line (ok-first)\n"
          "  --urc until-final|between-lines    when URCs may be sent (until-final)\n"
          "  --latency instant|realistic        per-command answer delays (instant)\n"
          "  --cmee 0|1|2            AT+CMEE after power-up (2)\n"
          "  --boot-ms N             virtual ms from a reset to RDY (9000)\n"
          "  --seed N                seed of the fault injector (1)\n"
          "  --imei DIGITS           15-digit IMEI\n"
          "  --iccid DIGITS          19- or 20-digit ICCID\n"
          "  --prompt-space          send \"> \" instead of \">\" as the data prompt\n"
          "  --echo-prompt-data      echo the raw bytes after \">\" while ATE1\n"
          "  --max-line N            longest command line accepted, 16-65536 bytes (1024)\n"
          "  --commands              print the implemented AT commands as a Markdown table\n"
          "  --help                  this text\n",
          out);
}

static int bad_value(const char *option, const char *value, const char *why)
{
    fprintf(stderr, "sim7600: bad value '%s' for --%s: %s\n", value, option, why);
    return -1;
}

static int parse_long_in(const char *option, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
        char why[64];
        snprintf(why, sizeof(why), "expected an integer in %ld..%ld", min, max);
        return bad_value(option, text, why);
    }
    *out = v;
    return 0;
}

static int parse_choice(const char *option, const char *text, const char *first, const char *second, int *out)
{
    if (strcmp(text, first) == 0) {
        *out = 0;
        return 0;
    }
    if (strcmp(text, second) == 0) {
        *out = 1;
        return 0;
    }
    char why[96];
    snprintf(why, sizeof(why), "expected %s or %s", first, second);
    return bad_value(option, text, why);
}

static int parse_digits(const char *option, const char *text, size_t min_len, size_t max_len)
{
    size_t n = strlen(text);
    bool digits = n >= min_len && n <= max_len && strspn(text, "0123456789") == n;
    if (!digits) {
        char why[64];
        snprintf(why, sizeof(why), "expected %zu to %zu digits", min_len, max_len);
        return bad_value(option, text, why);
    }
    return 0;
}

static int parse_seed(const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v == 0) {
        return bad_value("seed", text, "expected a positive integer");
    }
    *out = (uint64_t)v;
    return 0;
}

/* The modem settings (sim_config fields). Returns 0, -1, or 1 when opt is not one of them. */
static int parse_config_option(int opt, const char *arg, struct sim_config *cfg)
{
    long v = 0;
    int choice = 0;
    int rc = 0;
    switch (opt) {
    case OPT_ORDER:
        rc = parse_choice("order", arg, "ok-first", "info-first", &choice);
        cfg->order = choice ? SIM_ORDER_INFO_FIRST : SIM_ORDER_OK_FIRST;
        return rc;
    case OPT_URC:
        rc = parse_choice("urc", arg, "until-final", "between-lines", &choice);
        cfg->urc_hold = choice ? SIM_URC_BETWEEN_LINES : SIM_URC_UNTIL_FINAL;
        return rc;
    case OPT_LATENCY:
        rc = parse_choice("latency", arg, "instant", "realistic", &choice);
        cfg->latency = choice ? SIM_LATENCY_REALISTIC : SIM_LATENCY_INSTANT;
        return rc;
    case OPT_CMEE:
        rc = parse_long_in("cmee", arg, 0, 2, &v);
        cfg->cmee_default = (int)v;
        return rc;
    case OPT_BOOT_MS:
        rc = parse_long_in("boot-ms", arg, 0, 600000, &v);
        cfg->boot_ms = (uint32_t)v;
        return rc;
    case OPT_MAX_LINE:
        rc = parse_long_in("max-line", arg, 16, 65536, &v);
        cfg->max_line = (size_t)v;
        return rc;
    case OPT_SEED:
        return parse_seed(arg, &cfg->seed);
    case OPT_IMEI:
        cfg->imei = arg;
        return parse_digits("imei", arg, 15, 15);
    case OPT_ICCID:
        cfg->iccid = arg;
        return parse_digits("iccid", arg, 19, 20);
    case OPT_PROMPT_SPACE:
        cfg->prompt_space = true;
        return 0;
    case OPT_ECHO_PROMPT_DATA:
        cfg->echo_prompt_data = true;
        return 0;
    default:
        return 1;
    }
}

/* The program's own options. Returns 0 or -1. */
static int parse_program_option(int opt, const char *arg, struct prog_options *opts)
{
    switch (opt) {
    case OPT_LINK:
        opts->link_path = arg;
        return 0;
    case OPT_SERIAL:
        opts->serial_dev = arg;
        return 0;
    case OPT_BAUD:
        if (parse_long_in("baud", arg, 1, 4000000, &opts->baud) != 0) {
            return -1;
        }
        return prog_baud_supported(opts->baud) ? 0 : bad_value("baud", arg, "unsupported baud rate");
    case OPT_CONTROL:
        opts->control_path = arg;
        return 0;
    case OPT_LOG:
        opts->log_path = arg;
        return 0;
    case OPT_CLOCK:
        opts->clock_path = arg;
        return 0;
    case OPT_PACE_BAUD:
        return parse_long_in("pace-baud", arg, 50, 4000000, &opts->pace_baud);
    case OPT_COMMANDS:
        opts->list_commands = true;
        return 0;
    case OPT_HELP:
        opts->help = true;
        return 0;
    default:
        return -1;
    }
}

/* The combinations that make sense; prints the reason otherwise. */
static int check_combination(const struct prog_options *opts)
{
    if (opts->help || opts->list_commands) {
        return 0;
    }
    if (opts->link_path != NULL && opts->serial_dev != NULL) {
        fprintf(stderr, "sim7600: --link and --serial exclude each other\n");
        return -1;
    }
    if (opts->link_path == NULL && opts->serial_dev == NULL) {
        fprintf(stderr, "sim7600: one of --link PATH or --serial DEV is required\n");
        return -1;
    }
    if (opts->baud != 0 && opts->serial_dev == NULL) {
        fprintf(stderr, "sim7600: --baud applies to --serial only (use --pace-baud to pace a PTY)\n");
        return -1;
    }
    return 0;
}

int prog_parse_options(int argc, char **argv, struct prog_options *opts)
{
    memset(opts, 0, sizeof(*opts));
    sim_config_defaults(&opts->cfg);
    opterr = 0;
    optind = 1;
    int opt;
    int rc = 0;
    while (rc == 0 && (opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            const char *what = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
            fprintf(stderr, "sim7600: %s '%s'\n", opt == ':' ? "missing value for" : "unknown option", what);
            rc = -1;
            break;
        }
        rc = parse_config_option(opt, optarg, &opts->cfg);
        if (rc == 1) {
            rc = parse_program_option(opt, optarg, opts);
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "sim7600: unexpected argument '%s'\n", argv[optind]);
        rc = -1;
    }
    if (rc == 0) {
        rc = check_combination(opts);
    }
    if (rc != 0) {
        prog_usage(stderr);
        return -1;
    }
    return 0;
}

/* Markdown-safe copy of a table cell ('|' escaped). */
static void print_cell(FILE *out, const char *text)
{
    for (const char *p = text ? text : ""; *p != '\0'; p++) {
        if (*p == '|') {
            fputs("\\|", out);
        } else {
            fputc(*p, out);
        }
    }
}

static void print_command_row(void *ctx, const struct sim_command_info *info)
{
    FILE *out = ctx;
    fprintf(out, "| `AT%s` | %s | ", info->name, info->group);
    print_cell(out, info->forms);
    fputs(" | ", out);
    print_cell(out, info->summary);
    fputs(" |\n", out);
}

void prog_print_commands(FILE *out)
{
    fputs("| Command | Group | Forms | What it does |\n", out);
    fputs("| --- | --- | --- | --- |\n", out);
    sim_commands_foreach(print_command_row, out);
}
