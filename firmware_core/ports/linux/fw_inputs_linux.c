/*
 * fw_inputs_linux.c - driver-behaviour and camera inputs from a file the
 * harness appends lines to (see fw_inputs_linux.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_inputs_linux.h"
#include "fw_port_linux.h"

int fw_linux_inputs_open(struct fw_linux_inputs *in, const char *path)
{
    const char *slash = strrchr(path, '/');
    int fd;
    memset(in, 0, sizeof(*in));
    in->frozen = -1;
    fd = open(path, O_RDONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
    if (fd < 0 || (in->file = fdopen(fd, "r")) == NULL) {
        fprintf(stderr, "fwcore: --inputs %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (slash != NULL)
        snprintf(in->dir, sizeof(in->dir), "%.*s", (int)(slash - path), path);
    else
        snprintf(in->dir, sizeof(in->dir), ".");
    return 0;
}

void fw_linux_inputs_close(struct fw_linux_inputs *in)
{
    if (in->file != NULL)
        fclose(in->file);
    if (in->frozen >= 0)
        close(in->frozen);
    in->file = NULL;
    in->frozen = -1;
}

/* The next complete line into in->line (NUL-terminated); 0 when none yet. */
static int inputs_next_line(struct fw_linux_inputs *in)
{
    int c;
    if (in->file == NULL)
        return 0;
    clearerr(in->file); /* the file grows: read past an earlier end */
    while ((c = fgetc(in->file)) != EOF) {
        if (c == '\n') {
            in->line[in->line_len < sizeof(in->line) ? in->line_len : sizeof(in->line) - 1] = '\0';
            in->line_len = 0;
            return 1;
        }
        if (in->line_len < sizeof(in->line) - 1)
            in->line[in->line_len] = (char)c;
        in->line_len++;
    }
    return 0;
}

static void inputs_set_frame(struct fw_linux_inputs *in, const char *name)
{
    int n = name[0] == '/' ? snprintf(in->latest, sizeof(in->latest), "%s", name)
                           : snprintf(in->latest, sizeof(in->latest), "%s/%s", in->dir, name);
    if (n < 0 || (size_t)n >= sizeof(in->latest))
        in->latest[0] = '\0'; /* a name too long is no frame */
}

/* Parse one line: 1 a report (*b set), 0 a frame or nothing, -1 invalid. */
static int inputs_parse(struct fw_linux_inputs *in, enum fw_driver_behaviour *b)
{
    static const char *const words[] = {"phone", "drinking", "drowsy"};
    char word[16], name[1000];
    unsigned k;
    if (in->line[0] == '\0' || in->line[0] == '#')
        return 0;
    if (sscanf(in->line, "%15s %999s", word, name) != 2)
        return -1;
    if (strcmp(word, "frame") == 0) {
        inputs_set_frame(in, name);
        return 0;
    }
    for (k = 0; k < 3; k++) {
        if (strcmp(word, words[k]) == 0) {
            inputs_set_frame(in, name);
            *b = (enum fw_driver_behaviour)k;
            return 1;
        }
    }
    return -1;
}

static int32_t inputs_driver_event(void *ctx, enum fw_driver_behaviour *b)
{
    struct fw_linux_inputs *in = ((struct fw_linux_port *)ctx)->inputs;
    while (inputs_next_line(in)) {
        int r = inputs_parse(in, b);
        if (r == 1)
            return 1;
        if (r < 0) {
            in->invalid++;
            fprintf(stderr, "fwcore: inputs: invalid line skipped: %s\n", in->line);
        }
    }
    return 0;
}

static int32_t inputs_camera_capture(void *ctx, uint32_t *size)
{
    struct fw_linux_inputs *in = ((struct fw_linux_port *)ctx)->inputs;
    struct stat st;
    int fd;
    if (in->latest[0] == '\0')
        return -1;
    fd = open(in->latest, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > 0x7fffffff) {
        fprintf(stderr, "fwcore: inputs: picture %s unreadable\n", in->latest);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (in->frozen >= 0)
        close(in->frozen);
    in->frozen = fd;
    *size = (uint32_t)st.st_size;
    return 0;
}

static int32_t inputs_camera_read(void *ctx, uint32_t offset, uint8_t *buf, size_t cap)
{
    struct fw_linux_inputs *in = ((struct fw_linux_port *)ctx)->inputs;
    ssize_t n;
    if (in->frozen < 0)
        return -1;
    if (cap > 0x10000)
        cap = 0x10000;
    n = pread(in->frozen, buf, cap, (off_t)offset);
    return n < 0 ? -1 : (int32_t)n;
}

void fw_linux_port_use_inputs(struct fw_linux_port *p, struct fw_linux_inputs *in)
{
    p->inputs = in;
    p->port.driver_event = inputs_driver_event;
    p->port.camera_capture = inputs_camera_capture;
    p->port.camera_read = inputs_camera_read;
}
