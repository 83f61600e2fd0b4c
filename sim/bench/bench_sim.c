/*
 * Benchmark of the sim7600 program over its real PTY (make bench): medians
 * over several runs of
 *   - AT/OK round trips per second (target >= 20,000/s on one core),
 *   - QoS 0 publishes per second of 100-byte payloads through
 *     AT+CMQTTTOPIC/PAYLOAD/PUB to a real Mosquitto (target >= 5,000/s),
 *   - incoming messages per second delivered as +CMQTTRX* URC blocks,
 *   - UART throughput with and without --pace-baud 115200 (a real UART
 *     carries about 11,520 bytes/s at 115200 baud, 10 bits a byte).
 * Also the simulator's own CPU time per round trip and per publish (from
 * /proc/PID/schedstat), which a busy machine disturbs far less than rates.
 * Prints medians and ratios; speed is reported, never judged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define GUARD_MS 20000 /* hang guard of one wait */
#define AT_ROUNDS 20000
#define AT_RUNS 5
#define PUB_COUNT 5000
#define PUB_RUNS 3
#define RX_COUNT 5000
#define RX_RUNS 3
#define PACE_LINES 1500   /* paced: about 1.2 s at 115200 baud */
#define FAST_LINES 50000  /* unpaced: enough bytes to time */
#define PACE_RUNS 3
#define PACE_BAUD 115200
#define CG_AT_FEW 500     /* instruction counts: AT round trips of the short run */
#define CG_AT_MANY 2500   /* ... and of the long one; the difference is counted */
#define CG_PUB_FEW 100
#define CG_PUB_MANY 600
#define RECEIVE_WAIT_DS 1 /* a read that finds nothing returns after 0.1 s */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time a process has used so far (s), from /proc/PID/schedstat; -1 if unknown. */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    unsigned long long ns = 0;
    bool ok = f != NULL && fscanf(f, "%llu", &ns) == 1;
    if (f != NULL) {
        fclose(f);
    }
    return ok ? (double)ns / 1e9 : -1;
}

/* Microseconds of CPU per operation between two cpu_s() readings. */
static double cpu_us_per(double before, double after, int ops)
{
    return before < 0 || after < 0 || ops <= 0 ? -1 : (after - before) * 1e6 / ops;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* build/bench/bench_sim -> build/bin/sim7600 */
static const char *sim_binary(void)
{
    static char path[PATH_MAX];
    if (path[0] == '\0') {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
        }
        snprintf(path, sizeof(path), "%.3000s/../bin/sim7600", exe);
    }
    return path;
}

/* ---------------------------------------------------------------- the simulator */

/* When set, the simulator runs under callgrind and writes its counts here. */
static char callgrind_out[128];

struct sim_proc {
    pid_t pid;
    char dir[64];
    char link[128];
    int fd;  /* non-blocking, for writes and the pipelined throughput test */
    int rfd; /* blocking reads that end after RECEIVE_WAIT_DS (VMIN 0, VTIME) */
    char rx[1 << 16]; /* received, not yet consumed */
    size_t rx_len;
};

/*
 * The reading side of the host, as firmware reads a UART: one blocking read()
 * per reply (VMIN 0 with a VTIME guard), the same client for the simulator
 * and for the PTY floor, so that the two figures compare like for like.
 */
static int open_reader(struct sim_proc *p, const char *tty)
{
    struct termios tio;
    p->rfd = open(tty, O_RDWR | O_NOCTTY);
    if (p->rfd < 0 || tcgetattr(p->rfd, &tio) != 0) {
        return -1;
    }
    tio.c_cc[VMIN] = 0;
    tio.c_cc[VTIME] = RECEIVE_WAIT_DS;
    return tcsetattr(p->rfd, TCSANOW, &tio);
}

static int sim_start(struct sim_proc *p, const char *extra1, const char *extra2)
{
    memset(p, 0, sizeof(*p));
    p->fd = -1;
    p->rfd = -1;
    snprintf(p->dir, sizeof(p->dir), "/tmp/bench-sim-XXXXXX");
    if (mkdtemp(p->dir) == NULL) {
        return -1;
    }
    snprintf(p->link, sizeof(p->link), "%s/modem", p->dir);
    int out[2];
    if (pipe(out) != 0) {
        return -1;
    }
    p->pid = fork();
    if (p->pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        if (callgrind_out[0] != '\0') {
            char out_option[160];
            snprintf(out_option, sizeof(out_option), "--callgrind-out-file=%s", callgrind_out);
            execlp("valgrind", "valgrind", "-q", "--tool=callgrind", out_option, sim_binary(), "--link", p->link,
                   extra1, extra2, (char *)NULL);
            _exit(127);
        }
        execl(sim_binary(), "sim7600", "--link", p->link, extra1, extra2, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char line[128];
    size_t len = 0;
    while (len + 1 < sizeof(line) && read(out[0], line + len, 1) == 1 && line[len] != '\n') {
        len++;
    }
    close(out[0]);
    if (len == 0) {
        fprintf(stderr, "bench: %s did not start\n", sim_binary());
        return -1;
    }
    p->fd = open(p->link, O_RDWR | O_NOCTTY | O_NONBLOCK);
    return p->fd >= 0 ? open_reader(p, p->link) : -1;
}

static void sim_stop(struct sim_proc *p)
{
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (p->rfd >= 0) {
        close(p->rfd);
    }
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
    }
    rmdir(p->dir);
    p->pid = 0;
    p->fd = -1;
    p->rfd = -1;
}

static int send_all(struct sim_proc *p, const void *data, size_t len)
{
    const char *d = data;
    while (len > 0) {
        ssize_t n = write(p->fd, d, len);
        if (n > 0) {
            d += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        }
        struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
        poll(&pfd, 1, 100);
    }
    return 0;
}

static int send_text(struct sim_proc *p, const char *text)
{
    return send_all(p, text, strlen(text));
}

/* Read whatever is there, waiting up to RECEIVE_WAIT_DS; returns bytes read (0 on timeout). */
static size_t receive(struct sim_proc *p)
{
    if (p->rx_len == sizeof(p->rx)) {
        return 0;
    }
    ssize_t n = read(p->rfd, p->rx + p->rx_len, sizeof(p->rx) - p->rx_len);
    if (n <= 0) {
        return 0;
    }
    p->rx_len += (size_t)n;
    return (size_t)n;
}

/* Wait for needle; consume through it. Returns 0, or -1 after the guard or on ERROR. */
static int expect(struct sim_proc *p, const char *needle)
{
    size_t nlen = strlen(needle);
    double end = now_s() + GUARD_MS / 1000.0;
    for (;;) {
        char *hit = memmem(p->rx, p->rx_len, needle, nlen);
        if (hit != NULL) {
            size_t used = (size_t)(hit - p->rx) + nlen;
            memmove(p->rx, p->rx + used, p->rx_len - used);
            p->rx_len -= used;
            return 0;
        }
        if (memmem(p->rx, p->rx_len, "\r\nERROR\r\n", 9) != NULL || now_s() > end) {
            fprintf(stderr, "bench: expected \"%s\", got %zu bytes: %.*s\n", needle, p->rx_len, (int)p->rx_len, p->rx);
            return -1;
        }
        receive(p);
    }
}

/* A command and the reply it must end with. */
static int command(struct sim_proc *p, const char *cmd, const char *reply)
{
    return send_text(p, cmd) == 0 ? expect(p, reply) : -1;
}

/* ---------------------------------------------------------------- AT round trips */

static double at_round_trips_per_s(int rounds, double *cpu_us)
{
    struct sim_proc p;
    if (sim_start(&p, NULL, NULL) != 0 || command(&p, "ATE0\r", "OK\r\n") != 0) {
        sim_stop(&p);
        return -1;
    }
    double cpu0 = cpu_s(p.pid);
    double t0 = now_s();
    int done = 0;
    while (done < rounds && command(&p, "AT\r", "\r\nOK\r\n") == 0) {
        done++;
    }
    double rate = done / (now_s() - t0);
    *cpu_us = cpu_us_per(cpu0, cpu_s(p.pid), done);
    sim_stop(&p);
    return done == rounds ? rate : -1;
}

/*
 * The kernel's floor: the same round trips, through the same client code
 * (command/expect), against a process that answers "\r\nOK\r\n" to every
 * read on a raw PTY and does nothing else.
 */
static double pty_floor_round_trips_per_s(double *cpu_us)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    char name[128];
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, sizeof(name)) != 0) {
        return -1;
    }
    struct sim_proc p;
    memset(&p, 0, sizeof(p));
    p.fd = open(name, O_RDWR | O_NOCTTY | O_NONBLOCK);
    p.rfd = -1;
    struct termios tio;
    if (p.fd < 0 || tcgetattr(p.fd, &tio) != 0) {
        close(master);
        return -1;
    }
    cfmakeraw(&tio);
    tcsetattr(p.fd, TCSANOW, &tio);
    if (open_reader(&p, name) != 0) {
        close(master);
        sim_stop(&p);
        return -1;
    }
    p.pid = fork();
    if (p.pid == 0) {
        char buf[256];
        for (;;) {
            ssize_t n = read(master, buf, sizeof(buf));
            if (n <= 0 || write(master, "\r\nOK\r\n", 6) != 6) {
                _exit(0);
            }
        }
    }
    close(master);
    double cpu0 = cpu_s(p.pid);
    double t0 = now_s();
    int done = 0;
    while (done < AT_ROUNDS && command(&p, "AT\r", "\r\nOK\r\n") == 0) {
        done++;
    }
    double rate = done / (now_s() - t0);
    *cpu_us = cpu_us_per(cpu0, cpu_s(p.pid), done);
    sim_stop(&p);
    return done == AT_ROUNDS ? rate : -1;
}

/* ---------------------------------------------------------------- paced throughput */

/* Bytes per second the host receives for `lines` pipelined "AT\r" (echo on). */
static double uart_bytes_per_s(int lines, const char *pace_option, const char *pace_value)
{
    struct sim_proc p;
    if (sim_start(&p, pace_option, pace_value) != 0) {
        sim_stop(&p);
        return -1;
    }
    static char all_input[FAST_LINES * 3];
    for (int i = 0; i < lines; i++) {
        memcpy(all_input + 3 * i, "AT\r", 3);
    }
    const char *input = all_input;
    const size_t input_len = (size_t)lines * 3;
    const size_t expected = (size_t)lines * 9; /* "AT\r" + "\r\nOK\r\n" */
    size_t sent = 0;
    size_t got = 0;
    double t0 = now_s();
    double end = t0 + GUARD_MS / 1000.0;
    while (got < expected && now_s() < end) {
        struct pollfd pfd = { .fd = p.fd, .events = (short)(POLLIN | (sent < input_len ? POLLOUT : 0)) };
        poll(&pfd, 1, 100);
        if ((pfd.revents & POLLOUT) && sent < input_len) {
            ssize_t n = write(p.fd, input + sent, input_len - sent);
            sent += n > 0 ? (size_t)n : 0;
        }
        if (pfd.revents & POLLIN) {
            char buf[4096];
            ssize_t n = read(p.fd, buf, sizeof(buf));
            got += n > 0 ? (size_t)n : 0;
        }
    }
    double rate = got / (now_s() - t0);
    sim_stop(&p);
    return got == expected ? rate : -1;
}

/* ---------------------------------------------------------------- MQTT */

struct broker {
    pid_t pid;
    int port;
    char dir[64];
};

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Mosquitto without logging (a debug log would measure the disk, not the simulator). */
static int broker_start(struct broker *b)
{
    memset(b, 0, sizeof(*b));
    snprintf(b->dir, sizeof(b->dir), "/tmp/bench-mosq-XXXXXX");
    if (mkdtemp(b->dir) == NULL) {
        return -1;
    }
    b->port = free_port();
    char conf[128];
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "log_dest none\nlistener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n", b->port);
    fclose(f);
    b->pid = fork();
    if (b->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execlp("mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        if (port_accepts(b->port)) {
            return 0;
        }
        struct timespec ts = { 0, 25 * 1000000L };
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void broker_stop(struct broker *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGTERM);
        waitpid(b->pid, NULL, 0);
    }
    char conf[128];
    snprintf(conf, sizeof(conf), "%s/mosquitto.conf", b->dir);
    unlink(conf);
    rmdir(b->dir);
}

/* A libmosquitto client of the bench (counts what it receives). */
struct peer {
    struct mosquitto *mosq;
    int received; /* __atomic */
};

static void peer_on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    (void)mosq;
    (void)msg;
    struct peer *peer = obj;
    __atomic_add_fetch(&peer->received, 1, __ATOMIC_RELAXED);
}

static int peer_start(struct peer *peer, const struct broker *b, const char *id, const char *subscribe)
{
    memset(peer, 0, sizeof(*peer));
    peer->mosq = mosquitto_new(id, true, peer);
    if (peer->mosq == NULL) {
        return -1;
    }
    mosquitto_message_callback_set(peer->mosq, peer_on_message);
    if (mosquitto_connect(peer->mosq, "127.0.0.1", b->port, 60) != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    if (subscribe != NULL && mosquitto_subscribe(peer->mosq, NULL, subscribe, 0) != MOSQ_ERR_SUCCESS) {
        return -1;
    }
    return mosquitto_loop_start(peer->mosq) == MOSQ_ERR_SUCCESS ? 0 : -1;
}

static void peer_stop(struct peer *peer)
{
    if (peer->mosq != NULL) {
        mosquitto_disconnect(peer->mosq);
        mosquitto_loop_stop(peer->mosq, true);
        mosquitto_destroy(peer->mosq);
        peer->mosq = NULL;
    }
}

/* Is this command in `sim7600 --commands`? */
static bool implemented(const char *name)
{
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "'%s' --commands", sim_binary());
    FILE *f = popen(cmd, "r");
    if (f == NULL) {
        return false;
    }
    char needle[64];
    snprintf(needle, sizeof(needle), "| `AT%s` |", name);
    char line[512];
    bool found = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        found = found || strstr(line, needle) != NULL;
    }
    pclose(f);
    return found;
}

/* AT+CMQTTSTART, ACCQ and CONNECT to the broker. */
static int mqtt_connect(struct sim_proc *p, const struct broker *b)
{
    char connect[160];
    snprintf(connect, sizeof(connect), "AT+CMQTTCONNECT=0,\"tcp://127.0.0.1:%d\",60,1\r", b->port);
    if (command(p, "ATE0\r", "OK\r\n") != 0 || command(p, "AT+CMQTTSTART\r", "+CMQTTSTART: 0\r\n") != 0 ||
        command(p, "AT+CMQTTACCQ=0,\"bench\"\r", "OK\r\n") != 0 || command(p, connect, "+CMQTTCONNECT: 0,0\r\n") != 0) {
        return -1;
    }
    /* with ok-first order the OK precedes +CMQTTSTART/+CMQTTCONNECT: nothing else is pending now */
    return 0;
}

/* One QoS 0 publish of a 100-byte payload the way firmware sends it. */
static int mqtt_publish(struct sim_proc *p, const char *topic, const char *payload)
{
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "AT+CMQTTTOPIC=0,%zu\r", strlen(topic));
    if (command(p, cmd, ">") != 0 || send_text(p, topic) != 0 || expect(p, "OK\r\n") != 0) {
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "AT+CMQTTPAYLOAD=0,%zu\r", strlen(payload));
    if (command(p, cmd, ">") != 0 || send_text(p, payload) != 0 || expect(p, "OK\r\n") != 0) {
        return -1;
    }
    return command(p, "AT+CMQTTPUB=0,0,60\r", "+CMQTTPUB: 0,0\r\n");
}

/*
 * The same publish written in one go (command, data, command, data, command)
 * without waiting for the prompts: one PTY round trip per publish, so the
 * figure is the simulator's own capacity rather than the PTY's latency.
 */
static int mqtt_publish_pipelined(struct sim_proc *p, const char *topic, const char *payload)
{
    char burst[512];
    int n = snprintf(burst, sizeof(burst), "AT+CMQTTTOPIC=0,%zu\r%sAT+CMQTTPAYLOAD=0,%zu\r%sAT+CMQTTPUB=0,0,60\r",
                     strlen(topic), topic, strlen(payload), payload);
    if (n < 0 || (size_t)n >= sizeof(burst) || send_all(p, burst, (size_t)n) != 0) {
        return -1;
    }
    return expect(p, "+CMQTTPUB: 0,0\r\n");
}

static double publishes_per_s(const struct broker *b, bool pipelined, int count, int *delivered, double *cpu_us)
{
    struct sim_proc p;
    struct peer sub;
    double rate = -1;
    if (peer_start(&sub, b, "bench-sub", "bench/out") != 0 || sim_start(&p, NULL, NULL) != 0) {
        peer_stop(&sub);
        return -1;
    }
    char payload[101];
    memset(payload, 'p', 100);
    payload[100] = '\0';
    if (mqtt_connect(&p, b) == 0) {
        struct timespec settle = { 0, 100 * 1000000L };
        nanosleep(&settle, NULL); /* the subscription is in place */
        double cpu0 = cpu_s(p.pid);
        double t0 = now_s();
        int done = 0;
        while (done < count &&
               (pipelined ? mqtt_publish_pipelined(&p, "bench/out", payload) : mqtt_publish(&p, "bench/out", payload)) == 0) {
            done++;
        }
        rate = done == count ? done / (now_s() - t0) : -1;
        *cpu_us = cpu_us_per(cpu0, cpu_s(p.pid), done);
        for (int i = 0; i < 200 && __atomic_load_n(&sub.received, __ATOMIC_RELAXED) < done; i++) {
            nanosleep(&settle, NULL);
        }
    }
    *delivered = __atomic_load_n(&sub.received, __ATOMIC_RELAXED);
    sim_stop(&p);
    peer_stop(&sub);
    return rate;
}

/* Count complete "+CMQTTRXEND: 0\r\n" in the stream, keeping a partial match. */
static int count_rx_ends(struct sim_proc *p)
{
    static const char end_mark[] = "+CMQTTRXEND: 0\r\n";
    int count = 0;
    char *from = p->rx;
    char *hit;
    while ((hit = memmem(from, p->rx_len - (size_t)(from - p->rx), end_mark, sizeof(end_mark) - 1)) != NULL) {
        count++;
        from = hit + sizeof(end_mark) - 1;
    }
    size_t keep = p->rx_len - (size_t)(from - p->rx);
    if (keep > sizeof(end_mark)) {
        from = p->rx + p->rx_len - sizeof(end_mark);
        keep = sizeof(end_mark);
    }
    memmove(p->rx, from, keep);
    p->rx_len = keep;
    return count;
}

static double incoming_blocks_per_s(const struct broker *b, int *received)
{
    struct sim_proc p;
    struct peer pub;
    double rate = -1;
    *received = 0;
    if (peer_start(&pub, b, "bench-pub", NULL) != 0 || sim_start(&p, NULL, NULL) != 0) {
        peer_stop(&pub);
        return -1;
    }
    char payload[100];
    memset(payload, 'q', sizeof(payload));
    if (mqtt_connect(&p, b) == 0 && command(&p, "AT+CMQTTSUBTOPIC=0,8,0\r", ">") == 0 && send_text(&p, "bench/in") == 0 &&
        expect(&p, "OK\r\n") == 0 && command(&p, "AT+CMQTTSUB=0\r", "+CMQTTSUB: 0,0\r\n") == 0) {
        double t0 = now_s();
        for (int i = 0; i < RX_COUNT; i++) {
            mosquitto_publish(pub.mosq, NULL, "bench/in", sizeof(payload), payload, 0, false);
        }
        double end = t0 + GUARD_MS / 1000.0;
        int blocks = 0;
        double last = t0;
        while (blocks < RX_COUNT && now_s() < end) {
            if (receive(&p) > 0) {
                int n = count_rx_ends(&p);
                if (n > 0) {
                    blocks += n;
                    last = now_s();
                }
            } else if (blocks > 0 && now_s() - last > 1.0) {
                break; /* QoS 0 may lose some under load: rate of what arrived */
            }
        }
        *received = blocks;
        rate = blocks > 0 ? blocks / (last - t0) : -1;
    }
    sim_stop(&p);
    peer_stop(&pub);
    return rate;
}

/* ---------------------------------------------------------------- report */

static void report_at(void)
{
    double runs[AT_RUNS];
    double floor_runs[AT_RUNS];
    double cpu[AT_RUNS];
    double floor_cpu[AT_RUNS];
    for (int i = 0; i < AT_RUNS; i++) {
        runs[i] = at_round_trips_per_s(AT_ROUNDS, &cpu[i]);
        floor_runs[i] = pty_floor_round_trips_per_s(&floor_cpu[i]);
        if (runs[i] < 0 || floor_runs[i] < 0) {
            printf("AT/OK round trips: FAILED to run (see messages above)\n");
            return;
        }
    }
    double m = median(runs, AT_RUNS);
    double f = median(floor_runs, AT_RUNS);
    printf("AT/OK round trips over the PTY: median %.0f/s over %d runs of %d (target >= 20000/s: %.2fx)\n", m, AT_RUNS,
           AT_ROUNDS, m / 20000.0);
    printf("    the PTY itself (a process answering OK to every read): median %.0f/s; simulator/PTY %.2f\n", f, m / f);
    printf("    CPU per round trip (user+system, /proc/PID/schedstat): simulator median %.2f us, PTY answerer %.2f us\n",
           median(cpu, AT_RUNS), median(floor_cpu, AT_RUNS));
}

static void report_pacing(void)
{
    double fast[PACE_RUNS];
    double paced[PACE_RUNS];
    char baud[16];
    snprintf(baud, sizeof(baud), "%d", PACE_BAUD);
    for (int i = 0; i < PACE_RUNS; i++) {
        fast[i] = uart_bytes_per_s(FAST_LINES, NULL, NULL);
        paced[i] = uart_bytes_per_s(PACE_LINES, "--pace-baud", baud);
        if (fast[i] < 0 || paced[i] < 0) {
            printf("UART pacing: FAILED to run\n");
            return;
        }
    }
    double f = median(fast, PACE_RUNS);
    double s = median(paced, PACE_RUNS);
    double line = PACE_BAUD / 10.0;
    printf("UART throughput unpaced: median %.0f bytes/s (%d pipelined AT, echo on)\n", f, FAST_LINES);
    printf("UART throughput --pace-baud %d: median %.0f bytes/s = %.3f of the line's %.0f bytes/s; unpaced/paced %.1fx\n",
           PACE_BAUD, s, s / line, line, f / s);
}

static void report_mqtt(void)
{
    if (!implemented("+CMQTTPUB") || !implemented("+CMQTTSTART")) {
        printf("MQTT publishes and incoming URC blocks: SKIPPED, this build does not implement the AT+CMQTT* group\n");
        return;
    }
    struct broker b;
    if (broker_start(&b) != 0) {
        printf("MQTT: SKIPPED, mosquitto did not start\n");
        broker_stop(&b);
        return;
    }
    double rx[RX_RUNS];
    int received = 0;
    static const char *const styles[] = { "lock-step: waits for every > and OK, as firmware does (5 PTY round trips)",
                                          "pipelined: one write per publish (1 PTY round trip)" };
    for (int style = 0; style < 2; style++) {
        double pubs[PUB_RUNS];
        double cpu[PUB_RUNS];
        int delivered = 0;
        bool ok = true;
        for (int i = 0; i < PUB_RUNS && ok; i++) {
            pubs[i] = publishes_per_s(&b, style == 1, PUB_COUNT, &delivered, &cpu[i]);
            ok = pubs[i] > 0;
        }
        if (!ok) {
            printf("QoS 0 publishes (%s): FAILED (the MQTT group answered an error; see above)\n", styles[style]);
            continue;
        }
        double m = median(pubs, PUB_RUNS);
        printf("QoS 0 publishes of 100 bytes via TOPIC/PAYLOAD/PUB, %s:\n"
               "    median %.0f/s over %d runs of %d (target >= 5000/s: %.2fx); broker delivered %d of the last run's %d\n",
               styles[style], m, PUB_RUNS, PUB_COUNT, m / 5000.0, delivered, PUB_COUNT);
        printf("    simulator CPU per publish (user+system): median %.2f us\n", median(cpu, PUB_RUNS));
    }
    bool ok = implemented("+CMQTTSUB") && implemented("+CMQTTSUBTOPIC");
    for (int i = 0; i < RX_RUNS && ok; i++) {
        rx[i] = incoming_blocks_per_s(&b, &received);
        ok = rx[i] > 0;
    }
    if (ok) {
        printf("incoming messages as +CMQTTRX* URC blocks: median %.0f/s over %d runs (%d of %d arrived in the last)\n",
               median(rx, RX_RUNS), RX_RUNS, received, RX_COUNT);
    } else {
        printf("incoming URC blocks: SKIPPED or FAILED (AT+CMQTTSUBTOPIC/SUB missing or answered an error)\n");
    }
    broker_stop(&b);
}

/* ---------------------------------------------------------------- instruction counts */

/* The instruction total of a callgrind output file, or -1. */
static double callgrind_total(const char *file)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        return -1;
    }
    char line[256];
    double total = -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "summary:", 8) == 0 || strncmp(line, "totals:", 7) == 0) {
            total = strtod(strchr(line, ':') + 1, NULL);
        }
    }
    fclose(f);
    return total;
}

/* One simulator run under callgrind doing n operations of one kind; its instruction total or -1. */
static double instructions_of_run(const struct broker *b, int kind, int n)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/tmp/bench-cg-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(callgrind_out, sizeof(callgrind_out), "%s/cg.out", dir);
    double cpu_us;
    int delivered;
    double ok = kind == 0 ? at_round_trips_per_s(n, &cpu_us) : publishes_per_s(b, kind == 2, n, &delivered, &cpu_us);
    double total = ok > 0 ? callgrind_total(callgrind_out) : -1;
    unlink(callgrind_out);
    rmdir(dir);
    callgrind_out[0] = '\0';
    return total;
}

/*
 * Instructions the simulator executes per operation (user space, counted by
 * valgrind --tool=callgrind): the difference between a short and a long run
 * divided by the extra operations, so start-up and connection are left out.
 * Unlike rates, these do not depend on what else the machine is doing.
 */
static void report_instructions(void)
{
    if (system("valgrind --version >/dev/null 2>&1") != 0) {
        printf("instructions per operation: SKIPPED, valgrind is not installed\n");
        return;
    }
    static const char *const kinds[] = { "AT/OK round trip", "lock-step QoS 0 publish", "pipelined QoS 0 publish" };
    struct broker b;
    memset(&b, 0, sizeof(b));
    bool mqtt = implemented("+CMQTTPUB");
    if (mqtt && broker_start(&b) != 0) {
        broker_stop(&b);
        mqtt = false;
    }
    for (int kind = 0; kind < 3; kind++) {
        if (kind > 0 && !mqtt) {
            printf("simulator instructions per %s: SKIPPED (no MQTT group or no mosquitto)\n", kinds[kind]);
            continue;
        }
        int few = kind == 0 ? CG_AT_FEW : CG_PUB_FEW;
        int many = kind == 0 ? CG_AT_MANY : CG_PUB_MANY;
        double short_run = instructions_of_run(&b, kind, few);
        double long_run = instructions_of_run(&b, kind, many);
        if (short_run < 0 || long_run < 0) {
            printf("simulator instructions per %s: FAILED under callgrind\n", kinds[kind]);
            continue;
        }
        printf("simulator instructions per %s (callgrind, runs of %d and %d): %.0f\n", kinds[kind], few, many,
               (long_run - short_run) / (many - few));
    }
    if (mqtt) {
        broker_stop(&b);
    }
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    mosquitto_lib_init();
    printf("bench_sim: %s over its PTY (medians; reported, not judged)\n", sim_binary());
    bool only_instructions = argc > 1 && strcmp(argv[1], "--instructions") == 0;
    if (!only_instructions) {
        report_at();
        report_pacing();
        report_mqtt();
    }
    report_instructions();
    mosquitto_lib_cleanup();
    return 0;
}
