/*
 * fw_chat.h - runs a const script of AT commands on fw_at, one step after
 * another, without blocking: each step has its command, the two-phase line
 * it awaits, an optional check of its information lines, a timeout, and a
 * number of tries with a pause between them (e.g. "AT until OK", "AT+CPIN?
 * until READY", "AT+CGREG? until registered").
 */
#ifndef FW_CHAT_H
#define FW_CHAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_at.h"

/* Status of a script. */
enum fw_chat_status {
    FW_CHAT_RUNNING = 0,   /* keep calling fw_chat_poll() */
    FW_CHAT_DONE,          /* every step succeeded */
    FW_CHAT_FAILED,        /* a step used up its tries (see fw_chat_failure()) */
    FW_CHAT_BAD_ARG        /* invalid script or engine busy */
};

/* Accepts or rejects one information line of a step; the step succeeds only
 * when some line was accepted. */
typedef bool (*fw_chat_check_fn)(const char *line, size_t len);

/* One step of a script. */
struct fw_chat_step {
    const char *cmd;             /* command without CR */
    const char *await_line;      /* two-phase line prefix, or NULL */
    fw_chat_check_fn check;      /* required information line, or NULL */
    uint32_t timeout_ms;         /* per try; 0 = FW_AT_DEFAULT_TIMEOUT_MS */
    uint16_t tries;              /* attempts before failing; 0 counts as 1 */
    uint32_t retry_delay_ms;     /* pause between tries */
};

/* Script runner state. Fields are private. */
struct fw_chat {
    struct fw_at *at;
    const struct fw_chat_step *steps;
    size_t n_steps;
    size_t index;
    uint16_t attempt;
    bool accepted;
    bool pausing;
    uint32_t resume_ms;
    enum fw_chat_status status;
    struct fw_at_result last;
};

/* Start running steps[0..n) on at (which must be idle). Returns
 * FW_CHAT_RUNNING or FW_CHAT_BAD_ARG. */
enum fw_chat_status fw_chat_start(struct fw_chat *chat, struct fw_at *at,
                                  const struct fw_chat_step *steps, size_t n);

/* Advance the script (polls the AT engine). Returns its status. */
enum fw_chat_status fw_chat_poll(struct fw_chat *chat);

/* After FW_CHAT_FAILED: index of the failing step, and the AT result of its
 * last try in *result (may be NULL). */
size_t fw_chat_failure(const struct fw_chat *chat, struct fw_at_result *result);

/* Human-readable name of a status; never NULL. */
const char *fw_chat_status_str(enum fw_chat_status status);

#endif /* FW_CHAT_H */
