/*
 * fw_chat.c - AT script runner (see fw_chat.h).
 */
#include <string.h>

#include "fw_chat.h"

static uint32_t fw_chat__now(const struct fw_chat *chat)
{
    const struct fw_port *port = chat->at->cfg.port;
    return port->now_ms(port->ctx);
}

static void fw_chat__on_line(void *ctx, struct fw_at *at, const char *line, size_t len)
{
    struct fw_chat *chat = ctx;
    const struct fw_chat_step *step = &chat->steps[chat->index];
    if (step->check != NULL && step->check(line, len))
        chat->accepted = true;
}

static void fw_chat__send(struct fw_chat *chat)
{
    const struct fw_chat_step *step = &chat->steps[chat->index];
    struct fw_at_request req;
    memset(&req, 0, sizeof(req));
    req.cmd = step->cmd;
    req.await_line = step->await_line;
    req.on_line = fw_chat__on_line;
    req.ctx = chat;
    req.timeout_ms = step->timeout_ms;
    chat->accepted = false;
    chat->pausing = false;
    if (fw_at_send(chat->at, &req) != FW_AT_IN_PROGRESS) {
        chat->last = *fw_at_result(chat->at);
        chat->status = FW_CHAT_FAILED;
    }
}

enum fw_chat_status fw_chat_start(struct fw_chat *chat, struct fw_at *at,
                                  const struct fw_chat_step *steps, size_t n)
{
    size_t i;
    if (chat == NULL || at == NULL || steps == NULL || n == 0)
        return FW_CHAT_BAD_ARG;
    for (i = 0; i < n; i++) {
        if (steps[i].cmd == NULL)
            return FW_CHAT_BAD_ARG;
    }
    if (fw_at_result(at)->status == FW_AT_IN_PROGRESS)
        return FW_CHAT_BAD_ARG;
    memset(chat, 0, sizeof(*chat));
    chat->at = at;
    chat->steps = steps;
    chat->n_steps = n;
    chat->status = FW_CHAT_RUNNING;
    fw_chat__send(chat);
    return chat->status;
}

/* The current try ended with result r: next step, another try, or failure. */
static void fw_chat__step_done(struct fw_chat *chat, const struct fw_at_result *r)
{
    const struct fw_chat_step *step = &chat->steps[chat->index];
    uint16_t tries = step->tries == 0 ? 1 : step->tries;
    chat->last = *r;
    if (r->status == FW_AT_OK && (step->check == NULL || chat->accepted)) {
        chat->attempt = 0;
        if (++chat->index == chat->n_steps) {
            chat->status = FW_CHAT_DONE;
            return;
        }
        fw_chat__send(chat);
        return;
    }
    if (r->status == FW_AT_PORT_ERROR || ++chat->attempt >= tries) {
        chat->status = FW_CHAT_FAILED;
        return;
    }
    chat->pausing = true;
    chat->resume_ms = fw_chat__now(chat) + step->retry_delay_ms;
}

enum fw_chat_status fw_chat_poll(struct fw_chat *chat)
{
    enum fw_at_status st;
    if (chat == NULL || chat->at == NULL)
        return FW_CHAT_BAD_ARG;
    if (chat->status != FW_CHAT_RUNNING)
        return chat->status;
    st = fw_at_poll(chat->at);
    if (chat->pausing) {
        if ((int32_t)(fw_chat__now(chat) - chat->resume_ms) >= 0)
            fw_chat__send(chat);
        return chat->status;
    }
    if (st != FW_AT_IN_PROGRESS)
        fw_chat__step_done(chat, fw_at_result(chat->at));
    return chat->status;
}

size_t fw_chat_failure(const struct fw_chat *chat, struct fw_at_result *result)
{
    if (result != NULL)
        *result = chat->last;
    return chat->index;
}

const char *fw_chat_status_str(enum fw_chat_status status)
{
    switch (status) {
    case FW_CHAT_RUNNING: return "running";
    case FW_CHAT_DONE: return "done";
    case FW_CHAT_FAILED: return "failed";
    case FW_CHAT_BAD_ARG: return "bad argument";
    }
    return "unknown status";
}
