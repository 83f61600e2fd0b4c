/* readfile.c - read a whole file into memory (see readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

char *harness_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16;
    size_t n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n < cap) {
            continue;
        }
        if (cap >= max) {
            free(buf);
            buf = NULL;
            errno = EFBIG;
            break;
        }
        char *grown = realloc(buf, cap * 2 + 1);
        if (grown == NULL) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = grown;
        cap *= 2;
    }
    if (buf != NULL && ferror(f)) {
        int saved = errno;
        free(buf);
        buf = NULL;
        errno = saved != 0 ? saved : EIO;
    }
    fclose(f);
    if (buf == NULL) {
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
