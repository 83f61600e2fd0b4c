/*
 * The AT command-line executor: splits the text after "AT" into chained basic
 * (ATE0, ATI, AT&V) and extended (+CMD, +CMD?, +CMD=?, +CMD=<args>) commands,
 * parses arguments and calls the handlers from the group tables.
 */
#include "sim_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum parse_result {
    PARSE_COMMAND,
    PARSE_END,
    PARSE_SYNTAX,
};

static void skip_spaces(const char *s, size_t *pos)
{
    while (s[*pos] == ' ') {
        (*pos)++;
    }
}

/* Split s (modified in place) into comma-separated arguments. */
static bool split_args(char *s, struct sim_at_cmd *cmd)
{
    cmd->argc = 0;
    char *p = s;
    for (;;) {
        if (cmd->argc >= SIM_AT_MAX_ARGS) {
            return false;
        }
        struct sim_at_arg *arg = &cmd->argv[cmd->argc++];
        while (*p == ' ') {
            p++;
        }
        arg->quoted = false;
        arg->empty = false;
        if (*p == '"') {
            arg->quoted = true;
            arg->text = ++p;
            char *close = strchr(p, '"');
            if (close == NULL) {
                return false;
            }
            *close = '\0';
            p = close + 1;
            while (*p == ' ') {
                p++;
            }
            if (*p != ',' && *p != '\0') {
                return false;
            }
        } else {
            arg->text = p;
            while (*p != ',' && *p != '\0') {
                p++;
            }
            char *end = p;
            while (end > arg->text && end[-1] == ' ') {
                end--;
            }
            arg->empty = end == arg->text;
            bool more = *p == ',';
            *end = '\0';
            if (!more) {
                return true;
            }
            p++;
            continue;
        }
        if (*p != ',') {
            return true;
        }
        *p++ = '\0';
    }
}

/* Find the end of an extended command's arguments: ';' outside quotes or the end. */
static size_t args_end(const char *s, size_t pos)
{
    bool quoted = false;
    for (; s[pos] != '\0'; pos++) {
        if (s[pos] == '"') {
            quoted = !quoted;
        } else if (s[pos] == ';' && !quoted) {
            break;
        }
    }
    return pos;
}

static enum parse_result parse_extended(char *s, size_t *pos, struct sim_at_cmd *cmd)
{
    size_t n = 0;
    cmd->name_storage[n++] = s[(*pos)++];
    while (isalnum((unsigned char)s[*pos]) || s[*pos] == '_') {
        if (n + 1 >= sizeof(cmd->name_storage)) {
            return PARSE_SYNTAX;
        }
        cmd->name_storage[n++] = (char)toupper((unsigned char)s[(*pos)++]);
    }
    cmd->name_storage[n] = '\0';
    if (n == 1) {
        return PARSE_SYNTAX;
    }
    cmd->argc = 0;
    if (s[*pos] == '?') {
        cmd->kind = SIM_AT_READ;
        (*pos)++;
    } else if (s[*pos] == '=' && s[*pos + 1] == '?') {
        cmd->kind = SIM_AT_TEST;
        *pos += 2;
    } else if (s[*pos] == '=') {
        cmd->kind = SIM_AT_SET;
        size_t start = *pos + 1;
        size_t end = args_end(s, start);
        char saved = s[end];
        s[end] = '\0';
        bool ok = split_args(s + start, cmd);
        *pos = end;
        if (!ok) {
            return PARSE_SYNTAX;
        }
        if (saved == ';') {
            /* The ';' stays a NUL: it ends the last argument. The next command follows it. */
            (*pos)++;
            return PARSE_COMMAND;
        }
    } else {
        cmd->kind = SIM_AT_EXEC;
    }
    skip_spaces(s, pos);
    if (s[*pos] == ';') {
        (*pos)++;
    } else if (s[*pos] != '\0') {
        return PARSE_SYNTAX;
    }
    return PARSE_COMMAND;
}

static enum parse_result parse_basic(const char *s, size_t *pos, struct sim_at_cmd *cmd)
{
    size_t n = 0;
    if (s[*pos] == '&') {
        cmd->name_storage[n++] = '&';
        (*pos)++;
    }
    if (!isalpha((unsigned char)s[*pos])) {
        return PARSE_SYNTAX;
    }
    cmd->name_storage[n++] = (char)toupper((unsigned char)s[(*pos)++]);
    cmd->name_storage[n] = '\0';
    cmd->kind = SIM_AT_EXEC;
    cmd->argc = 0;
    cmd->basic_value = -1;
    if (isdigit((unsigned char)s[*pos])) {
        long v = 0;
        while (isdigit((unsigned char)s[*pos])) {
            v = v * 10 + (s[(*pos)++] - '0');
            if (v > 999) {
                return PARSE_SYNTAX;
            }
        }
        cmd->basic_value = (int)v;
    } else if (s[*pos] == '?') {
        cmd->kind = SIM_AT_READ;
        (*pos)++;
    }
    skip_spaces(s, pos);
    if (s[*pos] == ';') {
        (*pos)++;
    }
    return PARSE_COMMAND;
}

static enum parse_result parse_next(char *s, size_t *pos, struct sim_at_cmd *cmd)
{
    skip_spaces(s, pos);
    if (s[*pos] == '\0') {
        return PARSE_END;
    }
    cmd->name = cmd->name_storage;
    cmd->basic_value = -1;
    char c = s[*pos];
    if (c == '+' || c == '$' || c == '*' || c == '^') {
        return parse_extended(s, pos, cmd);
    }
    return parse_basic(s, pos, cmd);
}

void sim_at_run_line(struct sim_modem *m)
{
    for (;;) {
        struct sim_at_cmd cmd;
        enum parse_result r = parse_next(m->exec_line, &m->exec_pos, &cmd);
        if (r == PARSE_END) {
            sim_at_line_done(m, SIM_AT_OK);
            return;
        }
        const struct sim_cmd *entry = r == PARSE_COMMAND ? sim_find_cmd(m, cmd.name) : NULL;
        if (entry == NULL || (entry->forms & (1u << cmd.kind)) == 0) {
            sim_at_line_done(m, SIM_AT_ERROR);
            return;
        }
        m->line_latency_ms += entry->latency_ms;
        enum sim_at_status status = entry->fn(m, &cmd);
        if (status == SIM_AT_PENDING || status == SIM_AT_PROMPT) {
            return;
        }
        if (status != SIM_AT_OK || m->reset_requested) {
            sim_at_line_done(m, status);
            return;
        }
    }
}

/* ------------------------------------------------------------- arguments */

/* Text of only an optional '-' and decimal digits as a long; false on anything else or overflow. */
static bool parse_decimal(const char *text, long *out)
{
    bool negative = text[0] == '-';
    const char *p = negative ? text + 1 : text;
    if (!isdigit((unsigned char)*p)) {
        return false;
    }
    unsigned long limit = negative ? (unsigned long)LONG_MAX + 1ul : (unsigned long)LONG_MAX;
    unsigned long v = 0;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned long digit = (unsigned long)(*p - '0');
        if (v > (limit - digit) / 10) {
            return false;
        }
        v = v * 10 + digit;
    }
    if (*p != '\0') {
        return false;
    }
    *out = !negative ? (long)v : v == 0 ? 0 : -(long)(v - 1) - 1;
    return true;
}

bool sim_arg_int(const struct sim_at_cmd *cmd, int i, long min, long max, long *out)
{
    if (i >= cmd->argc || cmd->argv[i].empty || cmd->argv[i].quoted) {
        return false;
    }
    long v;
    if (!parse_decimal(cmd->argv[i].text, &v) || v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool sim_arg_int_opt(const struct sim_at_cmd *cmd, int i, long min, long max, long def, long *out)
{
    if (i >= cmd->argc || cmd->argv[i].empty) {
        *out = def;
        return true;
    }
    return sim_arg_int(cmd, i, min, max, out);
}

bool sim_arg_str(const struct sim_at_cmd *cmd, int i, size_t min_len, size_t max_len, bool require_quotes,
                 const char **out)
{
    if (i >= cmd->argc) {
        return false;
    }
    const struct sim_at_arg *arg = &cmd->argv[i];
    if (require_quotes && !arg->quoted) {
        return false;
    }
    size_t len = strlen(arg->text);
    if (len < min_len || len > max_len) {
        return false;
    }
    *out = arg->text;
    return true;
}
