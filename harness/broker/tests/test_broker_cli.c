/*
 * Tests of the `cellbench broker` command itself: argument errors, "ready"
 * only once both listeners accept, a clean stop on SIGINT, and a clear
 * failure when mosquitto cannot start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "brokertest.h"

static char workdir[256];

static int group_setup(void **state)
{
    return bt_workdir(workdir, sizeof workdir, "cellbench-cli");
}

/* Remove the work directory (brokers' --dir and logs) again. */
static int group_teardown(void **state)
{
    char cmd[320];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Run `cellbench broker ARGS` to completion; returns its exit status, output in out. */
static int run_broker(const char *args, char *out, size_t out_len)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s broker %s 2>&1", bt_build_path("bin/cellbench"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, out_len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_argument_errors(void **state)
{
    char out[4096], args[1024];
    assert_int_equal(run_broker("", out, sizeof out), 2);
    assert_non_null(strstr(out, "--profile, --port and --registry are required"));
    snprintf(args, sizeof args, "--profile azure --port 1 --registry %s", bt_cert("registry-gcp.json"));
    assert_int_equal(run_broker(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "'azure' is neither aws nor gcp"));
    snprintf(args, sizeof args, "--profile gcp --port 99999 --registry %s", bt_cert("registry-gcp.json"));
    assert_int_equal(run_broker(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "not a port number"));
    assert_int_equal(run_broker("--profile gcp --port 1 --registry /nonexistent.json", out, sizeof out), 1);
    assert_non_null(strstr(out, "/nonexistent.json"));
    /* the aws registry is no gcp registry */
    snprintf(args, sizeof args, "--profile gcp --port 1 --registry %s --dir %s/x", bt_cert("registry-aws.json"),
             workdir);
    assert_int_equal(run_broker(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "$.project: missing"));
    /* a --server-certs directory that does not exist */
    snprintf(args, sizeof args, "--profile gcp --port 1 --registry %s --dir %s/y --server-certs /nonexistent-rotated",
             bt_cert("registry-gcp.json"), workdir);
    assert_int_equal(run_broker(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "--server-certs /nonexistent-rotated"));
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static void test_ready_then_clean_stop_on_sigint(void **state)
{
    struct bt_broker b = { 0 };
    char dir[300], reg[512];
    snprintf(dir, sizeof dir, "%s/run", workdir);
    assert_non_null(realpath(bt_cert("registry-aws.json"), reg));
    assert_int_equal(bt_broker_start(&b, "aws", reg, NULL, dir), 0);
    /* "ready" means both listeners accept */
    assert_true(port_accepts(b.port));
    assert_true(port_accepts(b.admin_port));
    assert_true(strlen(b.admin_password) >= 16);
    kill(b.pid, SIGINT);
    int status;
    assert_int_equal(waitpid(b.pid, &status, 0), b.pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* mosquitto went with it */
    assert_false(port_accepts(b.port));
    assert_false(port_accepts(b.admin_port));
}

static void test_mosquitto_start_failure_is_reported(void **state)
{
    /* hold the device port so mosquitto cannot listen on it */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY) };
    socklen_t len = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    char out[8192], args[1024];
    snprintf(args, sizeof args, "--profile gcp --port %d --admin-port %d --registry %s --dir %s/busy",
             ntohs(sa.sin_port), bt_free_port(), bt_cert("registry-gcp.json"), workdir);
    assert_int_equal(run_broker(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "mosquitto exited during start"));
    assert_null(strstr(out, "\nready\n")); /* never claimed to be ready */
    assert_int_not_equal(strncmp(out, "ready\n", 6), 0);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_errors),
        cmocka_unit_test(test_ready_then_clean_stop_on_sigint),
        cmocka_unit_test(test_mosquitto_start_failure_is_reported),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
