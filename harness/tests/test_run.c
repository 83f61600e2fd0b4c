/*
 * test_run — `cellbench run`, `validate` and `list` end to end: the real
 * cellbench program starts the real broker, sim7600 and fwcore on free
 * ports with a virtual clock. Checks the verdict lines and exit status,
 * the same verdicts at rate 1 and at 50 and 1000, the "publish" test hook,
 * that unexecuted actions are reported as NOT RUN, and that no child
 * process, PTY link or control socket survives a run (also one stopped by
 * SIGINT). Real-time waits are hang guards only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CELLBENCH_SOURCE_DIR
#define CELLBENCH_SOURCE_DIR "."
#endif
#ifndef CELLBENCH_BUILD_DIR
#define CELLBENCH_BUILD_DIR CELLBENCH_SOURCE_DIR "/build"
#endif
#define CELLBENCH CELLBENCH_BUILD_DIR "/bin/cellbench"
#define SMOKE CELLBENCH_SOURCE_DIR "/scenarios/smoke-aws.json"
#define DEMO CELLBENCH_SOURCE_DIR "/scenarios/demo-trip.json"
#define GUARD_MS 120000 /* hang guard for one run */

/* A two-bus-stop route and a short trip, with a placeholder for the timeline. */
static const char scenario_head[] =
    "{ \"name\": \"%s\", \"profile\": \"%s\", \"stack\": \"%s-modem-tls\", \"rate\": 20, \"duration\": %d,\n"
    "  \"devices\": [ { \"id\": \"%s\" } ],\n"
    "  \"route\": { \"waypoints\": [ { \"lat\": 50.45, \"lon\": 30.52, \"speed_kmh\": 30 },\n"
    "                               { \"lat\": 50.452, \"lon\": 30.52 } ] },\n"
    "  \"timeline\": [ %s ] }\n";

struct fixture {
    char tmp[256]; /* TMPDIR of the runs: each run directory appears inside */
    char out[300], err[300];
};

static void nap_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->tmp, sizeof f->tmp, "/tmp/test_run.XXXXXX");
    if (!mkdtemp(f->tmp))
        return -1;
    snprintf(f->out, sizeof f->out, "%s/stdout", f->tmp);
    snprintf(f->err, sizeof f->err, "%s/stderr", f->tmp);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->tmp);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Start cellbench with args (NULL-terminated) under TMPDIR=f->tmp, output into f->out / f->err. */
static pid_t start_cellbench(struct fixture *f, const char *const *args)
{
    char *argv[16];
    size_t n = 0;
    argv[n++] = CELLBENCH;
    for (; *args && n < 15; args++)
        argv[n++] = (char *)*args;
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        setenv("TMPDIR", f->tmp, 1);
        int out = open(f->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(f->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out, STDOUT_FILENO);
        dup2(err, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Wait for pid (hang guard GUARD_MS, then SIGKILL and fail). Returns its exit status. */
static int wait_exit(pid_t pid)
{
    int status;
    for (int waited = 0; waited < GUARD_MS; waited += 20) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        nap_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    fail_msg("cellbench did not finish within %d ms", GUARD_MS);
    return -1;
}

static int run_cellbench(struct fixture *f, const char *const *args)
{
    return wait_exit(start_cellbench(f, args));
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return strdup("");
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return strdup(buf);
}

static void show_output(const struct fixture *f)
{
    char *out = slurp(f->out), *err = slurp(f->err);
    fprintf(stderr, "--- stdout\n%s--- stderr\n%s---\n", out, err);
    free(out);
    free(err);
}

static void assert_output_has(const struct fixture *f, const char *path, const char *needle)
{
    char *text = slurp(path);
    bool found = strstr(text, needle) != NULL;
    if (!found) {
        fprintf(stderr, "missing: %s\n", needle);
        show_output(f);
    }
    free(text);
    assert_true(found);
}

/* The one run directory cellbench made under f->tmp. */
static bool find_run_dir(const struct fixture *f, char *dir, size_t cap)
{
    DIR *d = opendir(f->tmp);
    struct dirent *e;
    bool found = false;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "cellbench-run.", 14) == 0) {
            snprintf(dir, cap, "%s/%s", f->tmp, e->d_name);
            found = true;
        }
    }
    if (d)
        closedir(d);
    return found;
}

/* Whether any process still belongs to process group pgid (a /proc scan). */
static bool group_alive(pid_t pgid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    bool alive = false;
    while (d && !alive && (e = readdir(d)) != NULL) {
        char path[300], stat[1024];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *fp = fopen(path, "r");
        if (!fp)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, fp);
        fclose(fp);
        stat[n] = '\0';
        char *close_paren = strrchr(stat, ')');
        int group = 0;
        char st = 0;
        if (close_paren && sscanf(close_paren + 1, " %c %*d %d", &st, &group) == 2)
            alive = group == (int)pgid && st != 'Z';
    }
    if (d)
        closedir(d);
    return alive;
}

/* Every pid of RUN_DIR/pids is gone, so is its process group, and no PTY link or socket is left. */
static void assert_nothing_left(const char *run_dir)
{
    char path[600];
    snprintf(path, sizeof path, "%s/pids", run_dir);
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    int pid, count = 0, first = 0;
    char name[80];
    while (fscanf(fp, "%d %79s", &pid, name) == 2) {
        if (!first)
            first = pid;
        errno = 0;
        assert_int_equal(kill(pid, 0), -1);
        assert_int_equal(errno, ESRCH);
        count++;
    }
    fclose(fp);
    assert_true(count >= 3); /* broker, simulator, firmware */
    assert_false(group_alive(first));
    snprintf(path, sizeof path, "%s/bus-1.pty", run_dir);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/bus-1.ctl", run_dir);
    assert_int_equal(access(path, F_OK), -1);
}

static void write_device_scenario(const struct fixture *f, const char *profile, const char *device, const char *file,
                                  const char *name, int duration, const char *timeline, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", f->tmp, file);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, scenario_head, name, profile, profile, duration, device, timeline);
    fclose(fp);
}

static void write_profile_scenario(const struct fixture *f, const char *profile, const char *file, const char *name,
                                   int duration, const char *timeline, char *path, size_t cap)
{
    write_device_scenario(f, profile, "bus-1", file, name, duration, timeline, path, cap);
}

static void write_scenario(const struct fixture *f, const char *file, const char *name, int duration,
                           const char *timeline, char *path, size_t cap)
{
    write_profile_scenario(f, "aws", file, name, duration, timeline, path, cap);
}

/* The smoke scenario passes at a high rate, and the run leaves nothing behind. */
static void test_smoke_passes(void **state)
{
    struct fixture *f = *state;
    const char *args[] = { "run", "--rate", "40", "--keep", SMOKE, NULL };
    int rc = run_cellbench(f, args);
    if (rc != 0)
        show_output(f);
    assert_int_equal(rc, 0);
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[0] expect_connection bus-1");
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[1] expect_message");
    assert_output_has(f, f->out, "PASS    00:01:50 $.timeline[3] expect_uart");
    assert_output_has(f, f->out, "smoke-aws: 4 passed, 0 failed, 0 not run");
    char dir[600];
    assert_true(find_run_dir(f, dir, sizeof dir));
    assert_nothing_left(dir);
}

/* The trip `make run` shows: location events, and the answer to a location query. */
static void test_demo_trip_passes(void **state)
{
    struct fixture *f = *state;
    const char *args[] = { "run", "--rate", "40", DEMO, NULL };
    int rc = run_cellbench(f, args);
    if (rc != 0)
        show_output(f);
    assert_int_equal(rc, 0);
    assert_output_has(f, f->out, "PASS    00:01:40 $.timeline[3] expect_message");
    assert_output_has(f, f->out, "demo-trip: 5 passed, 0 failed, 0 not run");
}

/* config reaches the firmware, a command reaches the modem, read_state judges the cloud's reply. */
static void test_cloud_actions(void **state)
{
    struct fixture *f = *state;
    char path[400], dir[600], file[700];
    write_scenario(f, "cloud.json", "cloud", 40,
                   "{ \"at\": 0, \"config\": { \"speed_threshold_kmh\": 70, \"route\": \"42\",\n"
                   "    \"endpoint\": \"${broker.endpoint}\",\n"
                   "    \"depot\": { \"name\": \"north\", \"lat\": 50.5, \"lon\": 30.5, \"radius_m\": 100 } } },\n"
                   "{ \"at\": 20, \"command\": \"query_location\" },\n"
                   "{ \"at\": 30, \"read_state\": { \"match\": { \"state.reported.speed_threshold_kmh\": 70,\n"
                   "    \"state.reported.route\": \"42\", \"state.reported.depot.name\": \"north\" } } },\n"
                   "{ \"at\": 0, \"expect_ack\": { \"what\": \"shadow\", \"version\": 1, \"within\": 30 } },\n"
                   "{ \"at\": 0, \"device\": \"bus-1\",\n"
                   "  \"expect_message\": { \"topic\": \"$aws/events/presence/connected/+\", \"within\": 30 } }",
                   path, sizeof path);
    const char *args[] = { "run", "--rate", "20", "--keep", path, NULL };
    assert_int_equal(run_cellbench(f, args), 0);
    assert_output_has(f, f->out, "PASS    00:00:30 $.timeline[2] read_state bus-1"); /* the shadow the bus reported */
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[3] expect_ack bus-1");
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[4] expect_message bus-1"); /* sender known */
    assert_output_has(f, f->out, "cloud: 3 passed, 0 failed, 0 not run");
    assert_true(find_run_dir(f, dir, sizeof dir));
    snprintf(file, sizeof file, "%s/fw-bus-1.log", dir);
    assert_output_has(f, file, "configuration accepted (route 42, depot north)");
    snprintf(file, sizeof file, "%s/cloud.log", dir);
    assert_output_has(f, file, "\"endpoint\":\"localhost:"); /* substituted (host:port, as rotation wants it) */
    assert_output_has(f, file, " /bus/bus-1/commands {\"cmd\":\"location\",\"id\":\"timeline-1\"}");
    snprintf(file, sizeof file, "%s/bus-1-uart.log", dir);
    assert_output_has(f, file, "/bus/bus-1/commands\\r\\n+CMQTTRXPAYLOAD: 0,36");
    assert_nothing_left(dir);
}

/* gcp acknowledgements through the whole bench: the config's PUBACK (seen by the broker) and the
 * device state; a version never sent fails and names the last acknowledgement seen. */
static void test_gcp_acks(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_profile_scenario(f, "gcp", "acks.json", "acks", 40,
                           "{ \"at\": 0, \"config\": { \"speed_threshold_kmh\": 55 } },\n"
                           "{ \"at\": 0, \"expect_ack\": { \"what\": \"config\", \"version\": 1, \"within\": 30 } },\n"
                           "{ \"at\": 0, \"expect_ack\": { \"what\": \"state\", \"version\": \"latest\", \"within\": 30 } },\n"
                           "{ \"at\": 0, \"expect_ack\": { \"what\": \"config\", \"version\": 2, \"within\": 30 } }",
                           path, sizeof path);
    const char *args[] = { "run", "--rate", "20", path, NULL };
    assert_int_equal(run_cellbench(f, args), 1);
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[1] expect_ack bus-1");
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[2] expect_ack bus-1");
    assert_output_has(f, f->out, "FAIL    00:00:00 $.timeline[3] expect_ack bus-1: bus-1 did not acknowledge config "
                                 "version 2 between 00:00:00 and 00:00:30; the last one seen: version 1 at 00:00:");
    assert_output_has(f, f->out, "acks: 2 passed, 1 failed, 0 not run");
    char dir[600];
    assert_true(find_run_dir(f, dir, sizeof dir));
    assert_nothing_left(dir);
}

/* A simulator fault (net down) is seen by the cloud on both profiles; a connection that cannot be fails. */
static void test_network_fault_seen(void **state)
{
    struct fixture *f = *state;
    static const char timeline[] =
        "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 30 } },\n"
        "{ \"at\": 40, \"fault\": \"net down\" },\n"
        "{ \"at\": 40, \"expect_connection\": { \"state\": \"disconnected\", \"within\": 10 } },\n"
        "{ \"at\": 50, \"expect_connection\": { \"state\": \"connected\", \"within\": 5 } }";
    char aws[400], gcp[400];
    write_profile_scenario(f, "aws", "net-aws.json", "net-aws", 60, timeline, aws, sizeof aws);
    write_profile_scenario(f, "gcp", "net-gcp.json", "net-gcp", 60, timeline, gcp, sizeof gcp);
    const char *args[] = { "run", "--rate", "40", aws, gcp, NULL };
    assert_int_equal(run_cellbench(f, args), 1);
    assert_output_has(f, f->out, "== net-aws");
    assert_output_has(f, f->out, "== net-gcp");
    assert_output_has(f, f->out, "PASS    00:00:40 $.timeline[2] expect_connection bus-1\n"
                                 "FAIL    00:00:50 $.timeline[3] expect_connection bus-1: bus-1 was not connected");
    assert_output_has(f, f->out, "net-aws: 2 passed, 1 failed, 0 not run");
    assert_output_has(f, f->out, "net-gcp: 2 passed, 1 failed, 0 not run");
}

/* The verdict lines of a run's stdout (PASS / FAIL / NOT RUN), in order; freed by the caller. */
static char *verdict_lines(const struct fixture *f)
{
    char *text = slurp(f->out), *out = calloc(1, strlen(text) + 1);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "PASS", 4) == 0 || strncmp(line, "FAIL", 4) == 0 || strncmp(line, "NOT RUN", 7) == 0) {
            strcat(out, line);
            strcat(out, "\n");
        }
    }
    free(text);
    return out;
}

/* The same scenario gives the same verdicts at rate 1 and at rate 50. */
static void test_same_verdicts_at_rate_1_and_50(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_scenario(f, "rates.json", "rates", 12,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 8 } },\n"
                   "{ \"at\": 8, \"fault\": \"net down\" },\n"
                   "{ \"at\": 8, \"expect_connection\": { \"state\": \"disconnected\", \"within\": 3 } },\n"
                   "{ \"at\": 10, \"expect_message\": { \"topic\": \"/bus/events\", \"within\": 2 } }",
                   path, sizeof path);
    const char *slow[] = { "run", "--rate", "1", path, NULL };
    assert_int_equal(run_cellbench(f, slow), 1);
    char *at_1 = verdict_lines(f);
    const char *fast[] = { "run", "--rate", "50", path, NULL };
    assert_int_equal(run_cellbench(f, fast), 1);
    char *at_50 = verdict_lines(f);
    assert_string_equal(at_1, at_50);
    assert_non_null(strstr(at_1, "PASS    00:00:08 $.timeline[2] expect_connection bus-1\n"));
    assert_non_null(strstr(at_1, "FAIL    00:00:10 $.timeline[3] expect_message: 0 messages"));
    free(at_1);
    free(at_50);
}

/*
 * The same scenario gives the same verdicts at rate 1 and at rate 1000, the
 * rate of the benchmark trip: a connection, a cloud command answered by the
 * bus, a message that never comes (FAIL at both rates) and no loss. The
 * windows are tens of virtual seconds so that the fast run's real-time
 * latencies stay far inside them (the bus is online about 20 ms of real
 * time after the start, 20 trip seconds at 1000x; it has 45).
 */
static void test_same_verdicts_at_rate_1_and_1000(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_scenario(f, "rate-1000.json", "rate-1000", 60,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 45 } },\n"
                   "{ \"at\": 45, \"command\": \"query_location\" },\n"
                   "{ \"at\": 45, \"expect_message\": { \"topic\": \"/bus/events\", \"within\": 15,\n"
                   "    \"match\": { \"type\": \"location\", \"request\": \"present\" } } },\n"
                   "{ \"at\": 0, \"expect_message\": { \"topic\": \"/bus/never\", \"within\": 60 } },\n"
                   "{ \"at\": 60, \"expect_no_loss\": { \"topic\": \"/bus/events\", \"key\": \"seq\" } }",
                   path, sizeof path);
    const char *slow[] = { "run", "--rate", "1", path, NULL };
    assert_int_equal(run_cellbench(f, slow), 1);
    char *at_1 = verdict_lines(f);
    const char *fast[] = { "run", "--rate", "1000", path, NULL };
    assert_int_equal(run_cellbench(f, fast), 1);
    char *at_1000 = verdict_lines(f);
    if (strcmp(at_1, at_1000) != 0)
        fprintf(stderr, "--- rate 1\n%s--- rate 1000\n%s", at_1, at_1000);
    assert_string_equal(at_1, at_1000);
    assert_non_null(strstr(at_1, "PASS    00:00:45 $.timeline[2] expect_message\n"));
    assert_non_null(strstr(at_1, "FAIL    00:00:00 $.timeline[3] expect_message: 0 messages"));
    assert_non_null(strstr(at_1, "PASS    00:01:00 $.timeline[4] expect_no_loss"));
    free(at_1);
    free(at_1000);
}

/* The "publish" command: fwcore starts with --test-publish, the bus publishes on another
 * bus's topic, AWS disconnects it by policy, nothing arrives there, and it reconnects. */
static void test_publish_command(void **state)
{
    struct fixture *f = *state;
    char path[400], dir[600], file[700];
    write_scenario(f, "publish.json", "publish", 60,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 20 } },\n"
                   "{ \"at\": 20, \"command\": { \"name\": \"publish\", \"args\": { \"topic\": \"/bus/bus-2/commands\",\n"
                   "    \"payload\": { \"cmd\": \"location\" } } } },\n"
                   "{ \"at\": 20, \"expect_connection\": { \"state\": \"disconnected\", \"within\": 10 } },\n"
                   "{ \"at\": 20, \"expect_message\": { \"topic\": \"/bus/bus-2/commands\", \"within\": 30, \"count\": 0 } },\n"
                   "{ \"at\": 30, \"expect_connection\": { \"state\": \"connected\", \"within\": 30 } }",
                   path, sizeof path);
    const char *args[] = { "run", "--rate", "40", "--keep", path, NULL };
    assert_int_equal(run_cellbench(f, args), 0);
    assert_output_has(f, f->out, "publish: 4 passed, 0 failed, 0 not run");
    assert_true(find_run_dir(f, dir, sizeof dir));
    snprintf(file, sizeof file, "%s/cloud.log", dir);
    assert_output_has(f, file, " /bus/bus-1/commands {\"cmd\":\"publish\",\"id\":\"timeline-1\","
                               "\"topic\":\"/bus/bus-2/commands\",\"payload\":{\"cmd\":\"location\"}}");
    snprintf(file, sizeof file, "%s/fw-bus-1.log", dir);
    assert_output_has(f, file, "test publish dropped");
    assert_nothing_left(dir);
}

/* "broker restart" brings the broker back on the same ports; the cloud application logs in again. */
static void test_broker_restart(void **state)
{
    struct fixture *f = *state;
    char path[400], dir[600], file[700];
    write_scenario(f, "restart.json", "restart", 50,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 30 } },\n"
                   "{ \"at\": 30, \"fault\": \"broker restart\" },\n"
                   "{ \"at\": 40, \"read_state\": { \"match\": { \"code\": 404 } } }",
                   path, sizeof path);
    const char *args[] = { "run", "--rate", "20", "--keep", path, NULL };
    assert_int_equal(run_cellbench(f, args), 0);
    assert_output_has(f, f->out, "PASS    00:00:40 $.timeline[2] read_state bus-1");
    assert_true(find_run_dir(f, dir, sizeof dir));
    snprintf(file, sizeof file, "%s/pids", dir);
    assert_output_has(f, file, " broker-restart-1\n");
    snprintf(file, sizeof file, "%s/cloud.log", dir);
    assert_output_has(f, file, " cloud/aws/reply/shadow/bus-1/get {\"code\":404");
    assert_nothing_left(dir);
}

/* cert-rotation.json: the new CA and endpoint arrive by configuration while
 * the broker still serves the old certificate (the device falls back), then
 * "broker rotate-cert" restarts the broker with certs/out/rotated/: every
 * device is disconnected and the bus comes back trusting the new CA. */
static void test_cert_rotation_passes(void **state)
{
    struct fixture *f = *state;
    char dir[600], file[700];
    const char *args[] = { "run", "--keep", CELLBENCH_SOURCE_DIR "/scenarios/cert-rotation.json", NULL };
    int rc = run_cellbench(f, args);
    if (rc != 0)
        show_output(f);
    assert_int_equal(rc, 0);
    assert_output_has(f, f->out, "PASS    00:02:40 $.timeline[3] expect_connection bus-1");
    assert_output_has(f, f->out, "cert-rotation: 3 passed, 0 failed, 0 not run");
    assert_true(find_run_dir(f, dir, sizeof dir));
    snprintf(file, sizeof file, "%s/pids", dir);
    assert_output_has(f, file, " broker-restart-1\n");
    snprintf(file, sizeof file, "%s/broker/mosquitto.conf", dir);
    assert_output_has(f, file, "/rotated/server.pem\n");
    snprintf(file, sizeof file, "%s/fw-bus-1.log", dir);
    assert_output_has(f, file, "rotation: falling back to the previous pair");
    assert_output_has(f, file, "rotation: new pair confirmed");
    snprintf(file, sizeof file, "%s/bus-1-uart.log", dir); /* the modem's store re-provisioned */
    assert_output_has(f, file, "AT+CCERTDELE=\\\"ca.pem\\\"");
    assert_output_has(f, file, "AT+CCERTDOWN=\\\"rot-");
    assert_nothing_left(dir);
}

/* A configuration moving the endpoint (the same broker by its IP address,
 * ${broker.port} substituted): the bus reconnects to the new host. */
static void test_endpoint_moves(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_scenario(f, "move.json", "move", 90,
                   "{ \"at\": 0, \"config\": { \"speed_threshold_kmh\": 60 } },\n"
                   "{ \"at\": 20, \"config\": { \"speed_threshold_kmh\": 60, \"endpoint\": \"127.0.0.1:${broker.port}\" } },\n"
                   "{ \"at\": 80, \"expect_connection\": { \"state\": \"connected\" } },\n"
                   "{ \"at\": 80, \"expect_uart\": { \"contains\": [ \"AT+CMQTTCONNECT=0,\\\"tcp://localhost:\",\n"
                   "  \"AT+CMQTTCONNECT=0,\\\"tcp://127.0.0.1:\" ] } }",
                   path, sizeof path);
    const char *args[] = { "run", "--rate", "40", path, NULL };
    int rc = run_cellbench(f, args);
    if (rc != 0)
        show_output(f);
    assert_int_equal(rc, 0);
    assert_output_has(f, f->out, "move: 2 passed, 0 failed, 0 not run");
}

/* A device certs/out lacks gets a PKI of the run's own; the shared certs/out stays as it was. */
static void test_unknown_device_gets_own_pki(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_device_scenario(f, "gcp", "coach-7", "own.json", "own", 20,
                          "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 15 } }",
                          path, sizeof path);
    const char *args[] = { "run", "--rate", "20", path, NULL };
    assert_int_equal(run_cellbench(f, args), 0);
    assert_output_has(f, f->out, "PASS    00:00:00 $.timeline[0] expect_connection coach-7");
    assert_int_equal(access(CELLBENCH_SOURCE_DIR "/certs/out/devices/coach-7", F_OK), -1);
}

/* A message that never comes fails with its reason, and so does an acknowledgement of a
 * configuration never sent; a scenario that cannot run (no route) is NOT RUN; a driver input
 * becomes a line of the bus's inputs file with a synthetic picture; exit status 1. */
static void test_failures_reported(void **state)
{
    struct fixture *f = *state;
    char path[400], noroute[400];
    write_scenario(f, "fails.json", "fails", 30,
                   "{ \"at\": 0, \"expect_message\": { \"topic\": \"/bus/never\", \"within\": 20 } },\n"
                   "{ \"at\": 5, \"driver\": { \"behaviour\": \"phone\", \"picture_bytes\": 2000 } },\n"
                   "{ \"at\": 25, \"expect_uart\": { \"contains\": [ \"AT+CMQTTCONNECT\", \"never on the wire\" ] } },\n"
                   "{ \"at\": 5, \"expect_ack\": { \"what\": \"shadow\", \"version\": \"latest\", \"within\": 10 } }",
                   path, sizeof path);
    snprintf(noroute, sizeof noroute, "%s/noroute.json", f->tmp);
    FILE *fp = fopen(noroute, "w");
    assert_non_null(fp);
    fprintf(fp, "{ \"name\": \"noroute\", \"profile\": \"aws\", \"stack\": \"aws-modem-tls\", \"duration\": 10,\n"
                "  \"devices\": [ { \"id\": \"depot-1\", \"role\": \"depot\", \"position\": { \"lat\": 50.45, \"lon\": 30.52 },\n"
                "                 \"radius_m\": 100 } ],\n"
                "  \"timeline\": [ { \"at\": 0, \"device\": \"depot-1\",\n"
                "                  \"expect_connection\": { \"state\": \"connected\", \"within\": 5 } } ] }\n");
    fclose(fp);
    char junit[400];
    snprintf(junit, sizeof junit, "%s/junit.xml", f->tmp);
    const char *args[] = { "run", "--rate", "40", "--junit", junit, path, noroute, NULL };
    assert_int_equal(run_cellbench(f, args), 1);
    assert_output_has(f, junit, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"cellbench\">\n"
                                "  <testsuite name=\"fails\" tests=\"3\" failures=\"3\" skipped=\"0\">\n");
    assert_output_has(f, junit, "<testcase classname=\"fails\" name=\"00:00:00 $.timeline[0] expect_message\">"
                                "<failure message=\"0 messages, want at least 1 on /bus/never");
    assert_output_has(f, junit, "--- tail of "); /* the UART transcript of the failure */
    assert_output_has(f, junit, "<failure message=\"no configuration was sent to bus-1 by then, so there is no latest version");
    assert_output_has(f, junit, "  <testsuite name=\"noroute\" tests=\"1\" failures=\"0\" skipped=\"1\">\n");
    assert_output_has(f, junit, "<skipped message=\"scenarios without a route are not executed yet\"></skipped></testcase>");
    assert_output_has(f, junit, "  </testsuite>\n</testsuites>\n");
    assert_output_has(f, f->out, "FAIL    00:00:00 $.timeline[0] expect_message: ");
    assert_output_has(f, f->out, "0 messages");
    assert_output_has(f, f->out, "FAIL    00:00:05 $.timeline[3] expect_ack bus-1: no configuration was sent to bus-1 by then, "
                                 "so there is no latest version");
    assert_output_has(f, f->out, "NOT RUN noroute: scenarios without a route are not executed yet");
    assert_output_has(f, f->out,
                      "FAIL    00:00:25 $.timeline[2] expect_uart bus-1: the UART capture does not contain \"never on the wire\"");
    assert_output_has(f, f->out, "fails: 0 passed, 3 failed, 0 not run");
    char dir[600];
    assert_true(find_run_dir(f, dir, sizeof dir)); /* kept after a failure */
    char file[700];
    snprintf(file, sizeof file, "%s/bus-1-inputs", dir);
    assert_output_has(f, file, "phone /");
    assert_output_has(f, file, "/bus-1-picture-1.bin\n");
    assert_nothing_left(dir);
}

/* SIGINT in the middle of a trip stops every process and fails the run. */
static void test_sigint_stops_everything(void **state)
{
    struct fixture *f = *state;
    char path[400], dir[600], pids[700];
    write_scenario(f, "long.json", "long", 3600,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 60 } }", path,
                   sizeof path);
    const char *args[] = { "run", "--rate", "1", path, NULL };
    pid_t pid = start_cellbench(f, args);
    /* wait until the firmware (third process) has been started */
    int lines = 0;
    for (int waited = 0; waited < 30000 && lines < 3; waited += 20) {
        nap_ms(20);
        if (!find_run_dir(f, dir, sizeof dir))
            continue;
        snprintf(pids, sizeof pids, "%s/pids", dir);
        char *text = slurp(pids);
        lines = 0;
        for (char *p = text; *p; p++)
            lines += *p == '\n';
        free(text);
    }
    assert_int_equal(lines, 3);
    kill(pid, SIGINT);
    assert_int_equal(wait_exit(pid), 1);
    assert_output_has(f, f->out, "aborted: stopped by signal SIGINT");
    assert_nothing_left(dir);
}

/* Read RUN_DIR/pids once it lists count processes (hang guard); returns the pid named name, or 0. */
static pid_t wait_for_pid(const struct fixture *f, const char *name, int count, char *dir, size_t cap)
{
    char pids[700], want[100];
    snprintf(want, sizeof want, " %s\n", name);
    for (int waited = 0; waited < 30000; waited += 20) {
        nap_ms(20);
        if (!find_run_dir(f, dir, cap))
            continue;
        snprintf(pids, sizeof pids, "%s/pids", dir);
        char *text = slurp(pids);
        int lines = 0;
        for (char *p = text; *p; p++)
            lines += *p == '\n';
        char *hit = strstr(text, want);
        pid_t pid = 0;
        if (lines >= count && hit) {
            while (hit > text && hit[-1] != '\n')
                hit--;
            pid = (pid_t)atoi(hit);
        }
        free(text);
        if (pid > 0)
            return pid;
    }
    return 0;
}

/* A firmware crash mid-trip aborts the run, fails it and stops the rest. */
static void test_child_crash_aborts(void **state)
{
    struct fixture *f = *state;
    char path[400], dir[600];
    write_scenario(f, "crash.json", "crash", 3600,
                   "{ \"at\": 0, \"expect_connection\": { \"state\": \"connected\", \"within\": 60 } }", path,
                   sizeof path);
    const char *args[] = { "run", "--rate", "1", path, NULL };
    pid_t pid = start_cellbench(f, args);
    pid_t fw = wait_for_pid(f, "fw-bus-1", 3, dir, sizeof dir);
    assert_true(fw > 0);
    kill(fw, SIGKILL);
    assert_int_equal(wait_exit(pid), 1);
    assert_output_has(f, f->out, "aborted: fw-bus-1 exited during the trip");
    assert_output_has(f, f->out, "FAIL    00:00:00 $.timeline[0] expect_connection bus-1: run aborted");
    assert_nothing_left(dir);
}

/* validate names file, line, path and reason; list shows the shipped smoke scenario. */
static void test_validate_and_list(void **state)
{
    struct fixture *f = *state;
    char path[400];
    write_scenario(f, "bad.json", "bad", 30, "{ \"at\": 0, \"expect_connection\": { \"state\": \"up\" } }", path,
                   sizeof path);
    const char *bad[] = { "validate", SMOKE, path, NULL };
    assert_int_equal(run_cellbench(f, bad), 1);
    assert_output_has(f, f->out, "smoke-aws.json: ok (smoke-aws, 1 devices, 4 timeline entries)");
    assert_output_has(f, f->err, "bad.json:5: $.timeline[0].expect_connection");
    const char *list[] = { "list", CELLBENCH_SOURCE_DIR "/scenarios", NULL };
    assert_int_equal(run_cellbench(f, list), 0);
    assert_output_has(f, f->out, "smoke-aws ");
}

/* Bad command lines are refused with status 2 and start nothing. */
static void test_bad_arguments(void **state)
{
    struct fixture *f = *state;
    const char *no_file[] = { "run", NULL };
    assert_int_equal(run_cellbench(f, no_file), 2);
    const char *bad_rate[] = { "run", "--rate", "fast", SMOKE, NULL };
    assert_int_equal(run_cellbench(f, bad_rate), 2);
    assert_output_has(f, f->err, "--rate: 'fast' is not a positive rate");
    const char *meters[] = { "run", "--report", "dir", "--meters", "aws=0", SMOKE, NULL };
    assert_int_equal(run_cellbench(f, meters), 2);
    assert_output_has(f, f->err, "--meters: the unit must be a positive number of bytes: 'aws=0'");
    const char *junit[] = { "run", "--junit", "/nonexistent-dir/x.xml", SMOKE, NULL };
    assert_int_equal(run_cellbench(f, junit), 2);
    assert_output_has(f, f->err, "--junit /nonexistent-dir/x.xml: No such file or directory");
    char dir[600];
    assert_false(find_run_dir(f, dir, sizeof dir));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validate_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_demo_trip_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smoke_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cert_rotation_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_endpoint_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failures_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cloud_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gcp_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_fault_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_device_gets_own_pki, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_verdicts_at_rate_1_and_50, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_verdicts_at_rate_1_and_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigint_stops_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_child_crash_aborts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
