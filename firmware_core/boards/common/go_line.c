/*
 * go_line.c - the go line that starts the bus application on a board driven
 * over its modem link (see go_line.h).
 */
#include <string.h>

#include "board.h"
#include "go_line.h"

static void uart_send(const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        size_t n = board_uart_write((const uint8_t *)text + done, len - done);
        if (n == 0)
            board_sleep();
        done += n;
    }
}

/* Read one line (without CR/LF) from the modem link into g->line. */
static void read_line(struct go_line *g)
{
    size_t n = 0;
    for (;;) {
        uint8_t c;
        if (board_uart_read(&c, 1) == 0) {
            board_sleep();
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (n > 0)
                break;
            continue;
        }
        if (n < GO_LINE_LEN - 1u)
            g->line[n++] = (char)c;
    }
    g->line[n] = '\0';
}

/* Split g->line after "go " into words; -1 when it is not a go line. */
static int split_go_line(struct go_line *g)
{
    char *p = g->line;
    int argc = 0;
    if (strncmp(p, "go ", 3) != 0)
        return -1;
    p += 3;
    while (*p != '\0') {
        while (*p == ' ')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (argc == GO_LINE_ARGS)
            return -1;
        g->argv[argc++] = p;
        while (*p != '\0' && *p != ' ')
            p++;
    }
    return argc;
}

void go_line_wait(struct go_line *g, struct bus_run_args *args, uint32_t *rate_milli, uint64_t *epoch)
{
    for (;;) {
        int argc;
        read_line(g);
        argc = split_go_line(g);
        if (argc > 0 && bus_args_parse(argc, g->argv, args, rate_milli, epoch))
            break;
        uart_send("cellbench-bus usage: go " BUS_ARGS_USAGE "\r\n");
    }
    uart_send(GO_LINE_START "\r\n");
}
