/*
 * credentials.c - board_api.h's console and credential store on the nRF52840:
 * the console is a RAM ring (board_console_log, read over SWD, e.g.
 * `openocd ... -c "mdb <address> 1024"`; the board's one UART carries the
 * modem link), and credentials are found by name in the provisioned flash
 * region (provision.h) and used in place, without a RAM copy.
 */
#include <string.h>

#include "board.h"
#include "board_api.h"
#include "provision.h"

#define CONSOLE_SIZE 1024u /* a power of two */

extern uint32_t __provision_start, __provision_end;

/* The console ring and the count of bytes ever written (the newest end). */
char board_console_log[CONSOLE_SIZE];
uint32_t board_console_written;

void board_console(const char *text)
{
    while (*text != '\0') {
        board_console_log[board_console_written & (CONSOLE_SIZE - 1u)] = *text++;
        board_console_written++;
    }
}

static uint32_t word_at(uintptr_t addr)
{
    return *(const uint32_t *)addr;
}

int32_t board_credential(unsigned slot, const char *dir, const char *rel, const uint8_t **data)
{
    uintptr_t p = (uintptr_t)&__provision_start, end = (uintptr_t)&__provision_end;
    uint32_t count, i;
    (void)dir;
    if (slot >= BOARD_CREDENTIAL_SLOTS || word_at(p) != PROVISION_MAGIC) {
        board_console("bus: no provisioned credentials\n");
        return -1;
    }
    count = word_at(p + 4u);
    p += 8u;
    for (i = 0; i < count && p + PROVISION_NAME_LEN + 4u <= end; i++) {
        const char *name = (const char *)p;
        uint32_t len = word_at(p + PROVISION_NAME_LEN);
        uintptr_t body = p + PROVISION_NAME_LEN + 4u;
        if (len > PROVISION_ENTRY_MAX || body + len > end)
            break;
        if (strncmp(name, rel, PROVISION_NAME_LEN) == 0) {
            *data = (const uint8_t *)body;
            return (int32_t)len;
        }
        p = body + ((len + 3u) & ~3u);
    }
    board_console("bus: credential not provisioned: ");
    board_console(rel);
    board_console("\n");
    return -1;
}

void board_credential_wipe(unsigned slot)
{
    (void)slot; /* used in place from flash: no RAM copy to wipe */
}
