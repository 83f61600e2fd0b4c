/* target_qemu.c - the firmware of `cellbench run --target qemu` (see target_qemu.h). */
#include "target_qemu.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vclock.h"

#define QEMU_PROGRAM "qemu-system-arm"

/* Whether prog is an executable on PATH; its full path into buf (PATH_MAX bytes). */
static bool on_path(const char *prog, char *buf)
{
    const char *path = getenv("PATH");
    while (path && *path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && n + strlen(prog) + 2 < PATH_MAX) {
            snprintf(buf, PATH_MAX, "%.*s/%s", (int)n, path, prog);
            if (access(buf, X_OK) == 0)
                return true;
        }
        path = end ? end + 1 : NULL;
    }
    return false;
}

const char *target_qemu_unsupported(const struct scenario *s)
{
    for (size_t d = 0; d < s->device_count; d++) {
        const struct scenario_device *dev = &s->devices[d];
        if (dev->stack != SCENARIO_STACK_AWS_MODEM_TLS && dev->stack != SCENARIO_STACK_GCP_MODEM_TLS)
            return "the QEMU image has no TLS library: only the modem-TLS stacks run on it";
    }
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        if (a->kind == SCENARIO_ACTION_DRIVER)
            return "the QEMU image has no driver-monitoring or camera input";
        if (a->kind == SCENARIO_ACTION_FAULT && a->u.fault.target == SCENARIO_FAULT_CLOCK)
            return "the QEMU image keeps its own clock and cannot follow a clock jump";
    }
    return NULL;
}

bool target_qemu_image(const char *bin_dir, char *buf, size_t cap)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/../qemu/cellbench-bus.elf", bin_dir);
    if (access(path, R_OK) != 0 || !realpath(path, buf) || strlen(buf) >= cap)
        return false;
    return true;
}

/* Append sep and word to out; false when it does not fit. */
static bool add_word(char *out, size_t cap, const char *sep, const char *word)
{
    size_t n = strlen(out);
    int w = snprintf(out + n, cap - n, "%s%s", sep, word);
    return w > 0 && (size_t)w < cap - n;
}

/* "name=value" with the value's spaces and '%' escaped as %20 / %25 (the image's
 * command line is split at spaces); false when it does not fit or holds a comma. */
static bool escaped_option(char *buf, size_t cap, const char *name, const char *value)
{
    size_t n = (size_t)snprintf(buf, cap, "%s=", name);
    for (const char *v = value; *v; v++) {
        if (*v == ',' || n + 4 >= cap)
            return false;
        if (*v == ' ' || *v == '%')
            n += (size_t)snprintf(buf + n, cap - n, "%%%02X", (unsigned char)*v);
        else
            buf[n++] = *v;
    }
    buf[n] = '\0';
    return n < cap;
}

/* Words that pass through the command line unchanged. */
static bool plain_word(const char *w)
{
    return *w && !strpbrk(w, " ,");
}

bool target_qemu_command_words(const struct target_qemu_device *t, const char *certs, const char *sep, char *out,
                               size_t cap)
{
    bool gcp = t->dev->stack == SCENARIO_STACK_GCP_MODEM_TLS;
    char broker[64], word[512];
    snprintf(broker, sizeof broker, "localhost:%d", t->broker_port);
    if (!plain_word(certs) || !plain_word(t->dev->id)) {
        fprintf(stderr, "cellbench: the certificate path and device ids must not hold spaces or commas (%s, %s)\n",
                certs, t->dev->id);
        return false;
    }
    bool ok = add_word(out, cap, sep, gcp ? "gcp" : "aws") && add_word(out, cap, sep, t->dev->id) &&
              add_word(out, cap, sep, broker) && add_word(out, cap, sep, certs) && add_word(out, cap, sep, "0");
    if (ok && gcp) {
        ok = escaped_option(word, sizeof word, "project", t->project) && add_word(out, cap, sep, word) &&
             escaped_option(word, sizeof word, "region", t->region) && add_word(out, cap, sep, word) &&
             escaped_option(word, sizeof word, "registry", t->registry) && add_word(out, cap, sep, word);
    }
    if (ok && t->dev->registration)
        ok = escaped_option(word, sizeof word, "registration", t->dev->registration) &&
             add_word(out, cap, sep, word);
    if (ok && t->dev->role == SCENARIO_ROLE_DEPOT)
        ok = add_word(out, cap, sep, "role=depot");
    if (ok && t->dev->route_number)
        ok = escaped_option(word, sizeof word, "route", t->dev->route_number) && add_word(out, cap, sep, word);
    if (ok) {
        snprintf(word, sizeof word, "rate=%lld.%06lld", (long long)(t->rate_micro / VCLOCK_RATE_ONE),
                 (long long)(t->rate_micro % VCLOCK_RATE_ONE));
        ok = add_word(out, cap, sep, word);
    }
    if (ok && t->epoch_s > 0) {
        snprintf(word, sizeof word, "epoch=%lld", (long long)t->epoch_s);
        ok = add_word(out, cap, sep, word);
    }
    if (!ok)
        fprintf(stderr, "cellbench: the command line of %s's firmware is too long or holds a comma\n", t->dev->id);
    return ok;
}

int target_qemu_start(struct orch *o, const struct target_qemu_device *t)
{
    char qemu[PATH_MAX], elf[PATH_MAX], semi[4096], chardev[PATH_MAX + 64], name[80];
    if (!on_path(QEMU_PROGRAM, qemu)) {
        fprintf(stderr, "cellbench: --target qemu: %s is not installed (make deps installs it)\n", QEMU_PROGRAM);
        return -1;
    }
    if (!target_qemu_image(t->bin_dir, elf, sizeof elf)) {
        fprintf(stderr, "cellbench: --target qemu: no image %s/../qemu/cellbench-bus.elf (make firmware-qemu)\n",
                t->bin_dir);
        return -1;
    }
    snprintf(semi, sizeof semi, "enable=on,target=native,arg=cellbench-bus");
    if (!target_qemu_command_words(t, t->certs, ",arg=", semi, sizeof semi))
        return -1;
    snprintf(chardev, sizeof chardev, "serial,id=uart0,path=%s", t->uart_path);
    snprintf(name, sizeof name, "fw-%s", t->dev->id);
    char *argv[] = { qemu, "-M", "mps2-an386", "-nographic", "-monitor", "none",
                     "-semihosting-config", semi, "-chardev", chardev, "-serial", "chardev:uart0",
                     "-kernel", elf, NULL };
    return orch_spawn(o, name, argv);
}
