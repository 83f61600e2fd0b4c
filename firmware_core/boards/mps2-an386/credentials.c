/*
 * credentials.c - board_api.h's console and credential store on the
 * mps2-an386 board: the console is semihosting's, and credentials are the
 * host's files DIR/REL read through semihosting into one 4 KB RAM buffer per
 * slot (QEMU's stand-in for the provisioned flash region a real unit has).
 */
#include <string.h>

#include "board.h"
#include "board_api.h"

/* Largest credential file, and the longest DIR/REL path. */
#define CREDENTIAL_MAX 4096u
#define PATH_MAX_LEN 256u

static uint8_t files[BOARD_CREDENTIAL_SLOTS][CREDENTIAL_MAX];

void board_console(const char *text)
{
    semihost_write(text);
}

int32_t board_credential(unsigned slot, const char *dir, const char *rel, const uint8_t **data)
{
    char path[PATH_MAX_LEN];
    size_t ld = strlen(dir), lr = strlen(rel);
    int32_t len;
    if (slot >= BOARD_CREDENTIAL_SLOTS || ld + lr + 2u > sizeof(path))
        return -1;
    memcpy(path, dir, ld);
    path[ld] = '/';
    memcpy(path + ld + 1, rel, lr + 1u);
    len = semihost_read_file(path, files[slot], CREDENTIAL_MAX);
    if (len <= 0) {
        semihost_write("bus: cannot read ");
        semihost_write(path);
        semihost_write("\n");
        return -1;
    }
    *data = files[slot];
    return len;
}

void board_credential_wipe(unsigned slot)
{
    if (slot < BOARD_CREDENTIAL_SLOTS)
        memset(files[slot], 0, CREDENTIAL_MAX);
}
