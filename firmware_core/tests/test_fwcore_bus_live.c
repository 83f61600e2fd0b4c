/*
 * test_fwcore_bus_live.c - fwcore's bus application end to end: the real
 * simulator (build/bin/sim7600 --link), the aws cloud broker (cellbench
 * broker --profile aws) and fwcore --stack aws-modem-tls on free ports, all
 * on one virtual clock file running at 10x. A cloud subscriber on the admin
 * listener waits on /bus/events; once it is subscribed the simulator's GNSS
 * gets a fix, and the location event must reach the subscriber; a location
 * command published by the cloud is answered with its request id; a clock
 * jump past the 30 s report interval brings the next periodic report. With
 * --registration the identification event comes first; a driver report
 * appended to the --inputs file sends its 9000-byte picture in four chunks.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "live.h"
#include "vclock.h"

#define GUARD_MS 60000

static char bin_dir[4096];

static struct live_child children[4];

static int stop_children(void **state)
{
    (void)state;
    live_stop_children(children, sizeof(children) / sizeof(children[0]));
    return 0;
}

static void test_location_reaches_the_cloud(void **state)
{
    char dir[] = "/tmp/fwcore-live-XXXXXX", clock_path[128], broker_dir[128], link[128],
        ctl[128], port[16], admin[16], broker_addr[32], prog[3][4200], pw[256], reply[256],
        statedir[128], inputs[128], picture[128];
    struct vclock *clock;
    FILE *f;
    struct timespec now;
    (void)state;
    if (access("certs/out/registry-aws.json", R_OK) != 0)
        fail_msg("certs/out missing: run bash certs/gen.sh (make test does)");
    assert_non_null(mkdtemp(dir));
    snprintf(clock_path, sizeof(clock_path), "%s/clock", dir);
    snprintf(broker_dir, sizeof(broker_dir), "%s/broker", dir);
    snprintf(link, sizeof(link), "%s/modem", dir);
    snprintf(ctl, sizeof(ctl), "%s/modem.ctl", dir);
    snprintf(statedir, sizeof(statedir), "%s/state", dir);
    snprintf(inputs, sizeof(inputs), "%s/inputs", dir);
    snprintf(picture, sizeof(picture), "%s/driver.bin", dir);
    snprintf(port, sizeof(port), "%d", live_free_port());
    do
        snprintf(admin, sizeof(admin), "%d", live_free_port());
    while (strcmp(admin, port) == 0);
    snprintf(broker_addr, sizeof(broker_addr), "localhost:%s", port);
    /* virtual time starts at the real date (certificates are checked) and runs at 10x */
    clock_gettime(CLOCK_REALTIME, &now);
    clock = vclock_create(clock_path, (int64_t)now.tv_sec * VCLOCK_NS_PER_S, 10 * VCLOCK_RATE_ONE);
    assert_non_null(clock);

    snprintf(prog[0], sizeof(prog[0]), "%s/cellbench", bin_dir);
    {
        char *argv[] = {prog[0], "broker", "--profile", "aws", "--port", port, "--admin-port",
                        admin, "--registry", "certs/out/registry-aws.json", "--dir", broker_dir,
                        "--clock", clock_path, "--certs", "certs/out", NULL};
        live_spawn(&children[0], argv);
        assert_true(live_wait_for(&children[0], "ready", GUARD_MS));
    }
    snprintf(prog[1], sizeof(prog[1]), "%s/sim7600", bin_dir);
    {
        char *argv[] = {prog[1], "--link", link, "--control", ctl, "--clock", clock_path, NULL};
        live_spawn(&children[1], argv);
        assert_true(live_wait_for(&children[1], "/dev/", GUARD_MS));
    }
    snprintf(pw, sizeof(pw), "%s/admin-password", broker_dir);
    f = fopen(pw, "r");
    assert_non_null(f);
    assert_non_null(fgets(pw, sizeof(pw), f));
    fclose(f);
    pw[strcspn(pw, "\r\n")] = '\0';
    {
        /* line-buffered, so the SUBACK line shows up at once */
        char *argv[] = {"/usr/bin/stdbuf", "-oL", "/usr/bin/mosquitto_sub", "-d", "-h", "127.0.0.1", "-p", admin, "-u",
                        "cloud", "-P", pw, "-t", "/bus/events", "-q", "1", NULL};
        live_spawn(&children[2], argv);
        if (!live_wait_for(&children[2], "SUBACK", GUARD_MS))
            fail_msg("subscriber not subscribed:\n%s", children[2].seen);
    }
    snprintf(prog[2], sizeof(prog[2]), "%s/fwcore", bin_dir);
    {
        char *argv[] = {prog[2], "--uart", link, "--stack", "aws-modem-tls", "--device", "bus-1",
                        "--certs", "certs/out", "--broker", broker_addr, "--state", statedir,
                        "--clock", clock_path, "--inputs", inputs, "--registration", "AA 1234 BC",
                        NULL};
        live_spawn(&children[3], argv);
        assert_true(live_wait_for(&children[3], "device: online", GUARD_MS));
    }
    /* no fix yet: no location event; then the receiver gets one */
    live_control(ctl, "gnss fix 50.5 30.5 120 36\n", reply, sizeof(reply));
    if (strncmp(reply, "ok gnss fix", 11) != 0)
        fail_msg("control answered: %s", reply);
    if (!live_wait_for(&children[2], "\"type\":\"location\"", GUARD_MS))
        fail_msg("no location event; subscriber saw:\n%s\nfwcore said:\n%s", children[2].seen,
                 children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"bus\":\"bus-1\""));
    assert_non_null(strstr(children[2].seen, "\"lat\":50.5"));
    assert_non_null(strstr(children[2].seen, "\"ts\":"));
    assert_true(live_wait_for(&children[3], "info app: location event", GUARD_MS));
    /* the cloud asks: the answer names the request */
    {
        char *argv[] = {"/usr/bin/mosquitto_pub", "-h", "127.0.0.1", "-p", admin, "-u", "cloud",
                        "-P", pw, "-t", "/bus/bus-1/commands", "-q", "1", "-m",
                        "{\"cmd\":\"location\",\"id\":\"live-1\"}", NULL};
        struct live_child pub;
        int status;
        live_spawn(&pub, argv);
        assert_int_equal(waitpid(pub.pid, &status, 0), pub.pid);
        close(pub.out);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    if (!live_wait_for(&children[2], "\"request\":\"live-1\"", GUARD_MS))
        fail_msg("no answer to the query; subscriber saw:\n%s", children[2].seen);
    /* a jump past the report interval (30 s) brings the next periodic report */
    assert_int_equal(vclock_jump(clock, 31 * VCLOCK_NS_PER_S), 0);
    {
        const char *third = strstr(children[2].seen, "\"request\":\"live-1\"");
        size_t from = (size_t)(third - children[2].seen);
        int64_t end = live_real_ms() + GUARD_MS;
        while (live_real_ms() < end && strstr(children[2].seen + from, "\"type\":\"location\"") == NULL)
            live_wait_for(&children[2], "\x01never", 100);
        assert_non_null(strstr(children[2].seen + from, "\"type\":\"location\""));
    }
    assert_non_null(strstr(children[2].seen, "\"registration\":\"AA 1234 BC\""));
    /* the driver is on the phone: the picture arrives in four chunks */
    f = fopen(picture, "wb");
    assert_non_null(f);
    for (int i = 0; i < 9000; i++)
        fputc(i & 0xff, f);
    fclose(f);
    f = fopen(inputs, "a");
    assert_non_null(f);
    fprintf(f, "phone driver.bin\n");
    fclose(f);
    if (!live_wait_for(&children[2], "\"trigger\":\"phone\",\"chunk\":{\"index\":3,\"count\":4", GUARD_MS))
        fail_msg("no last picture chunk; fwcore said:\n%s", children[3].seen);
    assert_non_null(strstr(children[2].seen, "\"chunk\":{\"index\":0,\"count\":4,\"bytes\":2817}"));
    assert_non_null(strstr(children[2].seen, "\"chunk\":{\"index\":3,\"count\":4,\"bytes\":549}"));
    if (getenv("FWCORE_LIVE_VERBOSE") != NULL)
        fprintf(stderr, "%s\n---\n%s\n", children[2].seen, children[3].seen);
    stop_children(NULL);
    vclock_close(clock);
    {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_location_reaches_the_cloud, stop_children),
    };
    /* build/tests/fw/test_fwcore_bus_live -> build/bin */
    snprintf(bin_dir, sizeof(bin_dir), "%s", argv[0]);
    *strrchr(bin_dir, '/') = '\0';
    strncat(bin_dir, "/../../bin", sizeof(bin_dir) - strlen(bin_dir) - 1);
    (void)argc;
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("fwcore_bus_live", tests, NULL, NULL);
}
