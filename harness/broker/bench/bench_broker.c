/*
 * bench_broker — how much the cellbench_cloud plugin costs: message
 * throughput (QoS 0 and QoS 1) and connection setup rate (JWT for gcp,
 * mutual TLS for aws) through `cellbench broker`, each as a ratio to the same
 * Mosquitto with the same listeners but without the plugin, measured in one
 * run (median of BENCH_ROUNDS rounds). Target: throughput ratio >= 0.90.
 *
 * Setup as in use: a device publishes over TLS, the cloud application
 * subscribes on the plain loopback listener, to the device's topic. For gcp
 * the "pubsub" lines also show events forwarded to a Pub/Sub topic (an extra
 * JSON envelope and message per event, compared with plain direct delivery);
 * the 0.90 target applies to the direct lines, judged on messages per second
 * of broker CPU time (the broker's capacity): on a shared machine the wall
 * clock rates swing by a factor of two between runs, the CPU cost does not.
 */
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "brokertest.h"

#define BENCH_ROUNDS 5
#define QOS0_MESSAGES 20000
#define QOS1_MESSAGES 5000
#define CONNECTS 40
#define PAYLOAD "{\"id\":\"bus-1\",\"lat\":48.137,\"lon\":11.575,\"speed\":42.5}"

/* One broker under test: with the plugin (cellbench broker) or plain mosquitto. */
struct target {
    const char *profile;
    bool plugin;
    struct bt_broker b; /* for the plain one: pid, ports, dir */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool port_up(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static int start_plain(struct target *t)
{
    char conf[400], text[2048];
    snprintf(t->b.dir, sizeof t->b.dir, "/tmp/cellbench-bench.XXXXXX");
    if (!mkdtemp(t->b.dir))
        return -1;
    t->b.port = bt_free_port();
    do
        t->b.admin_port = bt_free_port();
    while (t->b.admin_port == t->b.port);
    char ca[300], crt[300], key[300];
    if (!realpath(bt_cert("ca.pem"), ca) || !realpath(bt_cert("server.pem"), crt) ||
        !realpath(bt_cert("server.key"), key))
        return -1;
    snprintf(text, sizeof text,
             "per_listener_settings false\nallow_anonymous true\npersistence false\nuser root\n"
             "log_dest file %s/mosquitto.log\nmax_keepalive 1200\nmax_queued_messages 100000\n"
             "listener %d\ncafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate %s\nmax_qos 1\n"
             "listener %d 127.0.0.1\n",
             t->b.dir, t->b.port, ca, crt, key, strcmp(t->profile, "aws") == 0 ? "true" : "false",
             t->b.admin_port);
    snprintf(conf, sizeof conf, "%s/mosquitto.conf", t->b.dir);
    if (bt_write_file(conf, text) < 0)
        return -1;
    t->b.pid = fork();
    if (t->b.pid == 0) {
        freopen("/dev/null", "w", stderr);
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        if (port_up(t->b.port) && port_up(t->b.admin_port))
            return 0;
        usleep(10000);
    }
    return -1;
}

static int start_target(struct target *t)
{
    if (!t->plugin)
        return start_plain(t);
    char reg[64];
    snprintf(reg, sizeof reg, "registry-%s.json", t->profile);
    char path[400];
    if (!realpath(bt_cert(reg), path))
        return -1;
    /* AWS's 100 publishes/s and 1 CONNECT/s would be what is measured */
    t->b.extra_args[0] = "--no-rate-limits";
    return bt_broker_start(&t->b, t->profile, path, NULL, NULL);
}

/* The mosquitto process of a target (the child of `cellbench broker`). */
static pid_t broker_pid(const struct target *t)
{
    if (!t->plugin)
        return t->b.pid;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)t->b.pid, (int)t->b.pid);
    FILE *f = fopen(path, "r");
    int child = 0;
    if (f) {
        if (fscanf(f, "%d", &child) != 1)
            child = 0;
        fclose(f);
    }
    return child;
}

/* CPU time the broker has used so far, ns (mosquitto is single-threaded). */
static double broker_cpu_ns(const struct target *t)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)broker_pid(t));
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1)
            ns = 0;
        fclose(f);
    }
    return (double)ns;
}

/* ------------------------------------------------------------ clients */

static const char *device_id(const char *profile)
{
    return strcmp(profile, "aws") == 0 ? "bus-1" : "projects/bench-project/locations/europe-west1/registries/buses/devices/bus-1";
}

static const char *device_topic(const char *profile)
{
    return strcmp(profile, "aws") == 0 ? "/bus/events" : "/devices/bus-1/events";
}

/* A connected device client (threaded loop running), or NULL. */
static struct mosquitto *device_connect(const struct target *t)
{
    struct mosquitto *m = mosquitto_new(device_id(t->profile), true, NULL);
    char ca[300], crt[300], key[300];
    if (!realpath(bt_cert("ca.pem"), ca))
        return NULL;
    if (strcmp(t->profile, "aws") == 0) {
        if (!realpath(bt_cert("devices/bus-1/cert.pem"), crt) || !realpath(bt_cert("devices/bus-1/key.pem"), key))
            return NULL;
        mosquitto_tls_set(m, ca, NULL, crt, key, NULL);
    } else {
        mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL);
        if (!realpath(bt_cert("devices/bus-1/es256-private.pem"), key))
            return NULL;
        char *jwt = bt_jwt("ES256", key, "bench-project", (long)time(NULL), (long)time(NULL) + 3600);
        mosquitto_username_pw_set(m, "unused", jwt);
        free(jwt);
    }
    if (mosquitto_connect(m, "localhost", t->b.port, 60) != MOSQ_ERR_SUCCESS) {
        mosquitto_destroy(m);
        return NULL;
    }
    return m;
}

struct counter {
    atomic_int received;
    atomic_bool connected;
};

static void count_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    struct counter *c = ud;
    atomic_fetch_add(&c->received, 1);
}

static void subscribed(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    struct counter *c = ud;
    atomic_store(&c->connected, true);
}

/* What the cloud application subscribes to: the device topic itself, or
 * (via_pubsub, gcp with the plugin) the Pub/Sub topic the events go to. */
static const char *cloud_topic(const struct target *t, bool via_pubsub)
{
    return t->plugin && via_pubsub ? "pubsub/bus-events" : device_topic(t->profile);
}

static struct mosquitto *cloud_subscriber(const struct target *t, struct counter *c, int qos, bool via_pubsub)
{
    struct mosquitto *m = mosquitto_new(NULL, true, c);
    mosquitto_message_callback_set(m, count_message);
    mosquitto_subscribe_callback_set(m, subscribed);
    if (t->plugin)
        mosquitto_username_pw_set(m, "cloud", t->b.admin_password);
    if (mosquitto_connect(m, "127.0.0.1", t->b.admin_port, 60) != MOSQ_ERR_SUCCESS)
        return NULL;
    mosquitto_subscribe(m, NULL, cloud_topic(t, via_pubsub), qos);
    mosquitto_loop_start(m);
    for (int i = 0; i < 500 && !atomic_load(&c->connected); i++)
        usleep(10000);
    return m;
}

/* Messages per second from the device to the cloud subscriber. */
/*
 * Messages per second from the device to the cloud subscriber; *per_cpu_s
 * gets messages per second of broker CPU time (its capacity, which other
 * load on the machine hardly disturbs).
 */
static double throughput(const struct target *t, int qos, int count, bool via_pubsub, double *per_cpu_s)
{
    struct counter c = { 0 };
    struct mosquitto *sub = cloud_subscriber(t, &c, qos, via_pubsub);
    struct mosquitto *pub = device_connect(t);
    if (!sub || !pub)
        return 0;
    mosquitto_max_inflight_messages_set(pub, 100);
    mosquitto_loop_start(pub);
    usleep(200000); /* let the CONNECT complete */
    double cpu_start = broker_cpu_ns(t);
    double start = now_s();
    for (int i = 0; i < count; i++) {
        while (mosquitto_publish(pub, NULL, device_topic(t->profile), (int)strlen(PAYLOAD), PAYLOAD, qos, false) ==
               MOSQ_ERR_NOMEM)
            usleep(100);
        if (qos == 0 && i % 200 == 199)
            while (atomic_load(&c.received) < i - 2000 && now_s() - start < 30)
                usleep(50); /* keep QoS 0 from overrunning the socket buffers */
    }
    while (atomic_load(&c.received) < count && now_s() - start < 60)
        usleep(200);
    double elapsed = now_s() - start;
    double cpu = broker_cpu_ns(t) - cpu_start;
    int got = atomic_load(&c.received);
    *per_cpu_s = cpu > 0 ? got / (cpu / 1e9) : 0;
    mosquitto_disconnect(pub);
    mosquitto_loop_stop(pub, false);
    mosquitto_destroy(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(sub);
    if (got < count)
        fprintf(stderr, "bench_broker: %s%s QoS %d: %d of %d messages arrived\n", t->profile,
                t->plugin ? " (plugin)" : " (plain)", qos, got, count);
    return got / elapsed;
}

static void on_connack(struct mosquitto *m, void *ud, int rc)
{
    *(int *)ud = rc;
}

/* Connections per second, each a full TLS handshake + CONNECT/CONNACK + DISCONNECT;
 * *per_cpu_s as for throughput(). */
static double connect_rate(const struct target *t, double *per_cpu_s)
{
    double cpu_start = broker_cpu_ns(t);
    double start = now_s();
    int ok = 0;
    for (int i = 0; i < CONNECTS; i++) {
        struct mosquitto *m = device_connect(t);
        if (!m)
            continue;
        int rc = -1;
        mosquitto_user_data_set(m, &rc);
        mosquitto_connect_callback_set(m, on_connack);
        for (int n = 0; n < 2000 && rc < 0; n++)
            mosquitto_loop(m, 1, 1);
        ok += rc == 0;
        mosquitto_disconnect(m);
        mosquitto_loop(m, 1, 1);
        mosquitto_destroy(m);
    }
    double elapsed = now_s() - start;
    double cpu = broker_cpu_ns(t) - cpu_start;
    *per_cpu_s = cpu > 0 && ok == CONNECTS ? CONNECTS / (cpu / 1e9) : 0;
    return ok == CONNECTS ? CONNECTS / elapsed : 0;
}

/* ------------------------------------------------------------ driver */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

enum metric { QOS0, QOS1, QOS0_PUBSUB, QOS1_PUBSUB, CONNECT, METRICS };
static const char *const metric_names[METRICS] = { "QoS 0 msgs", "QoS 1 msgs", "QoS 0 to pubsub",
                                                   "QoS 1 to pubsub", "connects" };

static double measure(const struct target *t, enum metric m, double *per_cpu_s)
{
    switch (m) {
    case QOS0: return throughput(t, 0, QOS0_MESSAGES, false, per_cpu_s);
    case QOS1: return throughput(t, 1, QOS1_MESSAGES, false, per_cpu_s);
    case QOS0_PUBSUB: return throughput(t, 0, QOS0_MESSAGES, true, per_cpu_s);
    case QOS1_PUBSUB: return throughput(t, 1, QOS1_MESSAGES, true, per_cpu_s);
    default: return connect_rate(t, per_cpu_s);
    }
}

static const char *verdict(bool gated, double ratio)
{
    if (!gated)
        return "";
    return ratio >= 0.90 ? "  (target >= 0.90: met)" : "  (target >= 0.90: MISSED)";
}

static int bench_profile(const char *profile)
{
    struct target plain = { .profile = profile, .plugin = false };
    struct target plug = { .profile = profile, .plugin = true };
    if (start_target(&plain) < 0 || start_target(&plug) < 0) {
        fprintf(stderr, "bench_broker: cannot start the %s brokers\n", profile);
        bt_broker_stop(&plain.b);
        bt_broker_stop(&plug.b);
        return 1;
    }
    int status = 0;
    for (enum metric m = 0; m < METRICS; m++) {
        if ((m == QOS0_PUBSUB || m == QOS1_PUBSUB) && strcmp(profile, "gcp") != 0)
            continue; /* only gcp forwards events to Pub/Sub */
        double with[BENCH_ROUNDS], without[BENCH_ROUNDS], cwith[BENCH_ROUNDS], cwithout[BENCH_ROUNDS];
        for (int r = 0; r < BENCH_ROUNDS; r++) { /* interleaved so drift hits both alike */
            without[r] = measure(&plain, m, &cwithout[r]);
            with[r] = measure(&plug, m, &cwith[r]);
        }
        double a = median(with, BENCH_ROUNDS), b = median(without, BENCH_ROUNDS);
        double ca = median(cwith, BENCH_ROUNDS), cb = median(cwithout, BENCH_ROUNDS);
        double ratio = b > 0 ? a / b : 0, cratio = cb > 0 ? ca / cb : 0;
        bool gated = m == QOS0 || m == QOS1; /* the others do more work on purpose */
        printf("broker %-3s %-14s wall: plain %9.0f/s plugin %9.0f/s ratio %.2f | per broker CPU s: "
               "plain %9.0f plugin %9.0f ratio %.2f%s\n",
               profile, metric_names[m], b, a, ratio, cb, ca, cratio, verdict(gated, cratio));
        if (a <= 0 || b <= 0)
            status = 1;
    }
    bt_broker_stop(&plain.b);
    bt_broker_stop(&plug.b);
    return status;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    int rc = bench_profile("gcp") | bench_profile("aws");
    mosquitto_lib_cleanup();
    return rc;
}
