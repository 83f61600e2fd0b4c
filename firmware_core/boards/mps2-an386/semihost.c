/*
 * semihost.c - ARM semihosting calls (bkpt 0xAB): console output and the exit
 * status QEMU returns when started with -semihosting-config enable=on, the
 * command line, host time and host files (the QEMU stand-in for a
 * provisioned certificate region; see main.c).
 */
#include <stdint.h>
#include <string.h>

#include "board.h"

#define SYS_OPEN 0x01u
#define SYS_CLOSE 0x02u
#define SYS_WRITE0 0x04u
#define SYS_READ 0x06u
#define SYS_FLEN 0x0Cu
#define SYS_TIME 0x11u
#define SYS_GET_CMDLINE 0x15u
#define OPEN_MODE_READ_BINARY 1u
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt #0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void semihost_write(const char *text)
{
    semihost_call(SYS_WRITE0, text);
}

int32_t semihost_cmdline(char *buf, size_t cap)
{
    uint32_t block[2] = {(uint32_t)(uintptr_t)buf, (uint32_t)cap};
    if (cap == 0 || semihost_call(SYS_GET_CMDLINE, block) != 0 || block[1] >= cap)
        return -1;
    buf[block[1]] = '\0';
    return (int32_t)block[1];
}

uint64_t semihost_time(void)
{
    return semihost_call(SYS_TIME, NULL);
}

int32_t semihost_read_file(const char *path, uint8_t *buf, size_t cap)
{
    uint32_t open_block[3] = {(uint32_t)(uintptr_t)path, OPEN_MODE_READ_BINARY,
                              (uint32_t)strlen(path)};
    uint32_t handle = semihost_call(SYS_OPEN, open_block);
    uint32_t len, left;
    if (handle == UINT32_MAX)
        return -1;
    len = semihost_call(SYS_FLEN, &handle);
    if (len == 0 || len == UINT32_MAX || len > cap) {
        semihost_call(SYS_CLOSE, &handle);
        return -1;
    }
    {
        uint32_t read_block[3] = {handle, (uint32_t)(uintptr_t)buf, len};
        left = semihost_call(SYS_READ, read_block); /* bytes not read */
    }
    semihost_call(SYS_CLOSE, &handle);
    return left == 0 ? (int32_t)len : -1;
}

void semihost_exit(uint32_t status)
{
    uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, status};
    semihost_call(SYS_EXIT_EXTENDED, block);
    for (;;)
        __asm volatile("wfi");
}
