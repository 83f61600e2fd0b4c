/*
 * readfile.h - read a whole file into memory (scenarios, traces, logs).
 */
#ifndef HARNESS_READFILE_H
#define HARNESS_READFILE_H

#include <stddef.h>

/**
 * Read the file at path into a new NUL-terminated buffer (free() it) and set
 * *len. NULL with errno set when it cannot be opened or read, EFBIG when it
 * is larger than max bytes, ENOMEM when memory runs out.
 */
char *harness_read_file(const char *path, size_t max, size_t *len);

#endif /* HARNESS_READFILE_H */
