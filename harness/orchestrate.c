/* orchestrate — spawn, watch and stop the processes of one run (orchestrate.h). */
#include "orchestrate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAP_MS 10

static void nap_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int shell_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 255;
}

void orch_init(struct orch *o, const char *dir)
{
    memset(o, 0, sizeof *o);
    snprintf(o->dir, sizeof o->dir, "%s", dir);
}

static void record_pid(const struct orch *o, const struct orch_child *c)
{
    char path[600];
    snprintf(path, sizeof path, "%s/pids", o->dir);
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "%d %s\n", (int)c->pid, c->name);
    fclose(f);
}

/* In the child: join the group, wire stdio, exec. Never returns. */
static void exec_child(pid_t pgid, const char *log_path, char *const argv[])
{
    setpgid(0, pgid);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    if (in < 0 || out < 0)
        _exit(126);
    dup2(in, STDIN_FILENO);
    dup2(out, STDOUT_FILENO);
    dup2(out, STDERR_FILENO);
    execv(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int orch_spawn(struct orch *o, const char *name, char *const argv[])
{
    if (o->count >= ORCH_MAX_CHILDREN) {
        fprintf(stderr, "cellbench: too many processes (at most %d)\n", ORCH_MAX_CHILDREN);
        return -1;
    }
    struct orch_child *c = &o->children[o->count];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    char dir[sizeof o->dir];
    memcpy(dir, o->dir, sizeof dir);
    snprintf(c->log_path, sizeof c->log_path, "%.511s/%.63s.log", dir, name);
    c->exit_status = -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "cellbench: cannot start %s: %s\n", name, strerror(errno));
        return -1;
    }
    if (pid == 0)
        exec_child(o->pgid, c->log_path, argv);
    setpgid(pid, o->pgid ? o->pgid : pid); /* both sides set it: no race with exec */
    if (!o->pgid)
        o->pgid = pid;
    c->pid = pid;
    record_pid(o, c);
    return (int)o->count++;
}

/* Whether the log at path holds a line starting with prefix; copies it into line. */
static bool log_has_line(const char *path, const char *prefix, char *line, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char buf[1024];
    bool found = false;
    size_t plen = strlen(prefix);
    while (!found && fgets(buf, sizeof buf, f)) {
        size_t n = strlen(buf);
        if (n == 0 || buf[n - 1] != '\n') /* an unfinished line may still grow */
            continue;
        buf[n - 1] = '\0';
        if (strncmp(buf, prefix, plen) == 0) {
            found = true;
            if (line)
                snprintf(line, cap, "%s", buf);
        }
    }
    fclose(f);
    return found;
}

static bool reap_one(struct orch_child *c, bool block)
{
    int status;
    if (c->pid <= 0)
        return false;
    pid_t r = waitpid(c->pid, &status, block ? 0 : WNOHANG);
    if (r != c->pid)
        return false;
    c->exit_status = shell_status(status);
    c->pid = 0;
    return true;
}

int orch_wait_line(struct orch *o, int index, const char *prefix, char *line, size_t cap, int guard_ms)
{
    struct orch_child *c = &o->children[index];
    for (int waited = 0; waited <= guard_ms; waited += NAP_MS) {
        if (log_has_line(c->log_path, prefix, line, cap))
            return 0;
        if (o->stop && *o->stop) {
            fprintf(stderr, "cellbench: stopped while waiting for %s\n", c->name);
            return -1;
        }
        if (c->pid == 0 || reap_one(c, false)) {
            fprintf(stderr, "cellbench: %s exited (status %d) before it was ready; its log:\n", c->name,
                    c->exit_status);
            orch_show_log_tail(o, index, 2000);
            return -1;
        }
        nap_ms(NAP_MS);
    }
    fprintf(stderr, "cellbench: %s not ready after %d ms (no line starting with '%s'); its log:\n", c->name,
            guard_ms, prefix);
    orch_show_log_tail(o, index, 2000);
    return -1;
}

int orch_check(struct orch *o)
{
    for (size_t i = 0; i < o->count; i++) {
        if (reap_one(&o->children[i], false))
            return (int)i;
    }
    return -1;
}

static bool any_alive(struct orch *o)
{
    bool alive = false;
    for (size_t i = 0; i < o->count; i++) {
        reap_one(&o->children[i], false);
        if (o->children[i].pid > 0)
            alive = true;
    }
    return alive;
}

int orch_stop_child(struct orch *o, int index, int guard_ms)
{
    struct orch_child *c = &o->children[index];
    if (c->pid <= 0)
        return c->exit_status;
    kill(c->pid, SIGTERM);
    for (int waited = 0; waited < guard_ms && !reap_one(c, false); waited += NAP_MS)
        nap_ms(NAP_MS);
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        reap_one(c, true);
    }
    return c->exit_status;
}

void orch_stop_all(struct orch *o, int guard_ms)
{
    if (!o->pgid)
        return;
    kill(-o->pgid, SIGTERM);
    for (int waited = 0; waited < guard_ms && any_alive(o); waited += NAP_MS)
        nap_ms(NAP_MS);
    /* Grandchildren (mosquitto under the broker) share the group: SIGKILL whatever is left. */
    kill(-o->pgid, SIGKILL);
    for (size_t i = 0; i < o->count; i++)
        reap_one(&o->children[i], true);
    o->pgid = 0;
}

void orch_show_log_tail(const struct orch *o, int index, size_t max_bytes)
{
    FILE *f = fopen(o->children[index].log_path, "r");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > (long)max_bytes)
            fseek(f, size - (long)max_bytes, SEEK_SET);
        else
            rewind(f);
    }
    char buf[1024];
    while (fgets(buf, sizeof buf, f))
        fprintf(stderr, "    %s%s", buf, strchr(buf, '\n') ? "" : "\n");
    fclose(f);
}
