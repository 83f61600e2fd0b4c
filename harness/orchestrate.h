/*
 * orchestrate — supervision of the processes of one cellbench run (broker,
 * simulators, firmware).
 *
 * Every child runs in one process group owned by the run, with stdout and
 * stderr going to its own log file in the run directory, and its pid is
 * appended to RUNDIR/pids. Readiness is read from that log (the broker's
 * `ready` line, the simulator's printed PTY path). orch_stop_all() ends the
 * whole group (SIGTERM, then SIGKILL after a real-time guard) and reaps it,
 * so no child outlives the run; it is also what the SIGINT/SIGTERM path of
 * the runner calls.
 */
#ifndef CELLBENCH_ORCHESTRATE_H
#define CELLBENCH_ORCHESTRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most children one run supervises. */
#define ORCH_MAX_CHILDREN 32

/** One supervised child. */
struct orch_child {
    char name[64];      /* e.g. "broker", "sim-bus-1", "fw-bus-1" */
    char log_path[640]; /* its stdout + stderr */
    pid_t pid;          /* 0 once reaped */
    int exit_status;    /* shell-style status (128 + signal) once reaped, else -1 */
};

/** The processes of one run. */
struct orch {
    char dir[512];  /* the run directory */
    pid_t pgid;     /* the run's process group (the first child's pid), 0 before */
    struct orch_child children[ORCH_MAX_CHILDREN];
    size_t count;
    const volatile sig_atomic_t *stop; /* when set and non-zero, waits give up (a stop signal arrived) */
};

/** Start an empty supervisor whose logs and pid list live in dir. */
void orch_init(struct orch *o, const char *dir);

/**
 * Start argv (argv[0] a path, NULL-terminated) as a child named name in the
 * run's process group, stdout and stderr into DIR/<name>.log, stdin from
 * /dev/null. Returns the child's index, or -1 with a message on stderr.
 */
int orch_spawn(struct orch *o, const char *name, char *const argv[]);

/**
 * Wait until the child's log holds a line starting with prefix (real-time
 * guard guard_ms); the whole line (without newline) goes into line (may be
 * NULL). Returns 0, or -1 with a message on stderr when the child exited,
 * the guard passed or o->stop became non-zero.
 */
int orch_wait_line(struct orch *o, int index, const char *prefix, char *line, size_t cap, int guard_ms);

/**
 * Reap children that exited. Returns the index of the first child found to
 * have exited since the last call, or -1 when all still run.
 */
int orch_check(struct orch *o);

/**
 * End one child on purpose (e.g. a broker restart): SIGTERM, SIGKILL after
 * guard_ms, reaped here so orch_check does not report it. Its process group
 * membership is unchanged for the others. Returns its exit status.
 */
int orch_stop_child(struct orch *o, int index, int guard_ms);

/**
 * End every child: SIGTERM to the process group, SIGKILL to it after
 * guard_ms real milliseconds, and reap them all. Safe to call twice.
 */
void orch_stop_all(struct orch *o, int guard_ms);

/** Print the last lines (up to max_bytes) of a child's log to stderr, each indented. */
void orch_show_log_tail(const struct orch *o, int index, size_t max_bytes);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_ORCHESTRATE_H */
