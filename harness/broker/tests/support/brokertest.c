/* brokertest — broker integration test support (see brokertest.h). */
#include "brokertest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jwt.h>
#include <limits.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int bt_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sa.sin_port);
}

/* Directory of this test program. */
static const char *exe_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
        dir[n > 0 ? n : 0] = '\0';
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
    }
    return dir;
}

const char *bt_build_path(const char *relative)
{
    static char paths[8][PATH_MAX];
    static int slot;
    char *out = paths[slot++ % 8];
    /* tests live in build/tests/<group>/, benchmarks in build/bench/ */
    snprintf(out, PATH_MAX, "%.3000s/../../%s", exe_dir(), relative);
    if (access(out, F_OK) != 0)
        snprintf(out, PATH_MAX, "%.3000s/../%s", exe_dir(), relative);
    return out;
}

const char *bt_cert(const char *relative)
{
    static char paths[8][PATH_MAX];
    static int slot;
    char *out = paths[slot++ % 8];
    snprintf(out, PATH_MAX, "certs/out/%s", relative);
    if (access(out, R_OK) != 0) /* not run from the repository root */
        snprintf(out, PATH_MAX, "%.3000s/../../../certs/out/%s", exe_dir(), relative);
    if (access(out, R_OK) != 0)
        snprintf(out, PATH_MAX, "%.3000s/../../certs/out/%s", exe_dir(), relative);
    return out;
}

#define BT_WORKDIRS_MAX 16

static char bt_workdirs[BT_WORKDIRS_MAX][256];
static int bt_workdir_count;

static int bt_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void bt_remove_tree(const char *path)
{
    nftw(path, bt_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void bt_remove_workdirs(void)
{
    for (int i = 0; i < bt_workdir_count; i++)
        bt_remove_tree(bt_workdirs[i]);
}

int bt_temp_dir(char *buf, size_t cap, const char *prefix)
{
    if ((size_t)snprintf(buf, cap, "/tmp/%s.XXXXXX", prefix) >= cap || !mkdtemp(buf))
        return -1;
    return 0;
}

int bt_workdir(char *buf, size_t cap, const char *prefix)
{
    if (bt_workdir_count == BT_WORKDIRS_MAX || bt_temp_dir(buf, cap, prefix) < 0)
        return -1;
    if (bt_workdir_count == 0)
        atexit(bt_remove_workdirs);
    snprintf(bt_workdirs[bt_workdir_count++], sizeof bt_workdirs[0], "%s", buf);
    return 0;
}

int bt_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

/* ------------------------------------------------------------ broker */

static int read_ready(int fd)
{
    char buf[256];
    size_t used = 0;
    int64_t deadline = mono_ms() + 3 * BT_GUARD_MS;
    while (mono_ms() < deadline) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n <= 0)
            return -1;
        used += (size_t)n;
        buf[used] = '\0';
        if (strstr(buf, "ready\n"))
            return 0;
    }
    return -1;
}

static void read_admin_password(struct bt_broker *b)
{
    char path[400];
    snprintf(path, sizeof path, "%s/admin-password", b->dir);
    FILE *f = fopen(path, "r");
    b->admin_password[0] = '\0';
    if (f) {
        if (!fgets(b->admin_password, sizeof b->admin_password, f))
            b->admin_password[0] = '\0';
        fclose(f);
    }
}

int bt_broker_start(struct bt_broker *b, const char *profile, const char *registry,
                    const char *clock_path, const char *dir)
{
    if (dir) {
        snprintf(b->dir, sizeof b->dir, "%s", dir);
        mkdir(dir, 0755); /* so that broker.err can be written before the broker runs */
    } else {
        if (bt_temp_dir(b->dir, sizeof b->dir, "cellbench-bt") < 0)
            return -1;
        b->own_dir = true;
    }
    b->port = bt_free_port();
    do
        b->admin_port = bt_free_port();
    while (b->admin_port == b->port);
    char port[16], admin[16], err[400];
    snprintf(port, sizeof port, "%d", b->port);
    snprintf(admin, sizeof admin, "%d", b->admin_port);
    snprintf(err, sizeof err, "%s/broker.err", b->dir);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        return -1;
    const char *exe = bt_build_path("bin/cellbench");
    const char *certs = bt_cert("");
    fflush(NULL);
    b->pid = fork();
    if (b->pid == 0) {
        dup2(pipefd[1], 1);
        int efd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (efd >= 0)
            dup2(efd, 2);
        close(pipefd[0]);
        const char *argv[20] = { exe, "broker", "--profile", profile, "--port", port, "--admin-port",
                                 admin, "--registry", registry, "--dir", b->dir, "--certs", certs };
        int n = 14;
        if (clock_path) {
            argv[n++] = "--clock";
            argv[n++] = clock_path;
        }
        for (int i = 0; i < 4 && b->extra_args[i]; i++)
            argv[n++] = b->extra_args[i];
        const char *wrapper = getenv("CELLBENCH_TEST_MOSQUITTO"); /* e.g. a valgrind wrapper */
        if (wrapper && *wrapper) {
            argv[n++] = "--mosquitto";
            argv[n++] = wrapper;
        }
        argv[n] = NULL;
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    int rc = read_ready(pipefd[0]);
    close(pipefd[0]);
    if (rc < 0) {
        bt_broker_stop(b);
        return -1;
    }
    read_admin_password(b);
    return 0;
}

int bt_broker_stop(struct bt_broker *b)
{
    int status = 0;
    if (b->pid <= 0)
        return -1;
    kill(b->pid, SIGTERM);
    waitpid(b->pid, &status, 0);
    b->pid = 0;
    if (b->own_dir) {
        bt_remove_tree(b->dir);
        b->own_dir = false;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ------------------------------------------------------------ clients */

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    struct bt_client *c = ud;
    c->connack = rc;
    c->connected = rc == 0;
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
    struct bt_client *c = ud;
    c->connected = false;
    c->lost = true;
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int count, const int *granted)
{
    struct bt_client *c = ud;
    c->granted_count = count < 8 ? count : 8;
    for (int i = 0; i < c->granted_count; i++)
        c->granted[i] = granted[i];
    c->suback = true;
}

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    struct bt_client *c = ud;
    c->last_pub_mid_done = mid;
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    struct bt_client *c = ud;
    if (c->msg_count >= BT_MAX_MSGS)
        return;
    struct bt_msg *out = &c->msgs[c->msg_count++];
    snprintf(out->topic, sizeof out->topic, "%s", msg->topic);
    out->payload = malloc((size_t)msg->payloadlen + 1);
    memcpy(out->payload, msg->payload, (size_t)msg->payloadlen);
    out->payload[msg->payloadlen] = '\0';
    out->len = msg->payloadlen;
    out->qos = msg->qos;
}

struct bt_client *bt_client_new(const char *client_id)
{
    static bool inited;
    if (!inited) {
        mosquitto_lib_init();
        inited = true;
    }
    struct bt_client *c = calloc(1, sizeof *c);
    c->connack = -1;
    c->mosq = mosquitto_new(client_id, true, c);
    mosquitto_connect_callback_set(c->mosq, on_connect);
    mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
    mosquitto_subscribe_callback_set(c->mosq, on_subscribe);
    mosquitto_publish_callback_set(c->mosq, on_publish);
    mosquitto_message_callback_set(c->mosq, on_message);
    return c;
}

int bt_client_tls(struct bt_client *c, const char *cert, const char *key)
{
    return mosquitto_tls_set(c->mosq, bt_cert("ca.pem"), NULL, cert, key, NULL);
}

/* Run the client's loop until *flag or the connection ends (or the guard). */
static void pump_until(struct bt_client *c, const bool *flag)
{
    int64_t deadline = mono_ms() + BT_GUARD_MS;
    while (!*flag && !c->lost && mono_ms() < deadline) {
        if (mosquitto_loop(c->mosq, 20, 1) != MOSQ_ERR_SUCCESS)
            c->lost = true;
    }
}

int bt_client_connect(struct bt_client *c, int port, const char *username, const char *password)
{
    mosquitto_username_pw_set(c->mosq, username, password);
    if (mosquitto_connect(c->mosq, "localhost", port, 60) != MOSQ_ERR_SUCCESS)
        return -1;
    int64_t deadline = mono_ms() + BT_GUARD_MS;
    while (c->connack < 0 && !c->lost && mono_ms() < deadline) {
        if (mosquitto_loop(c->mosq, 20, 1) != MOSQ_ERR_SUCCESS)
            c->lost = true;
    }
    return c->connack;
}

int bt_client_subscribe(struct bt_client *c, const char *filter, int qos)
{
    c->suback = false;
    if (mosquitto_subscribe(c->mosq, NULL, filter, qos) != MOSQ_ERR_SUCCESS)
        return -1;
    pump_until(c, &c->suback);
    return c->suback ? c->granted[0] : -1;
}

int bt_client_publish(struct bt_client *c, const char *topic, const void *payload, int len, int qos,
                      bool retain)
{
    int mid = 0;
    if (mosquitto_publish(c->mosq, &mid, topic, len, payload, qos, retain) != MOSQ_ERR_SUCCESS)
        return -1;
    int64_t deadline = mono_ms() + BT_GUARD_MS;
    while (c->last_pub_mid_done != mid && !c->lost && mono_ms() < deadline) {
        if (mosquitto_loop(c->mosq, 20, 1) != MOSQ_ERR_SUCCESS)
            c->lost = true;
    }
    return c->last_pub_mid_done == mid ? 0 : -1;
}

static int find_message(struct bt_client *c, const char *topic)
{
    for (int i = 0; i < c->msg_count; i++) {
        if (!topic || strcmp(c->msgs[i].topic, topic) == 0)
            return i;
    }
    return -1;
}

bool bt_client_has_message(struct bt_client *c, const char *topic)
{
    return find_message(c, topic) >= 0;
}

bool bt_client_wait_message(struct bt_client *c, const char *topic, struct bt_msg *out)
{
    int64_t deadline = mono_ms() + BT_GUARD_MS;
    int i;
    while ((i = find_message(c, topic)) < 0 && mono_ms() < deadline) {
        if (c->lost)
            return false;
        if (mosquitto_loop(c->mosq, 20, 1) != MOSQ_ERR_SUCCESS)
            c->lost = true;
    }
    if (i < 0)
        return false;
    *out = c->msgs[i];
    memmove(&c->msgs[i], &c->msgs[i + 1], (size_t)(c->msg_count - i - 1) * sizeof c->msgs[0]);
    c->msg_count--;
    return true;
}

bool bt_client_wait_closed(struct bt_client *c)
{
    bool never = false;
    pump_until(c, &never);
    return c->lost;
}

void bt_client_free(struct bt_client *c)
{
    if (!c)
        return;
    if (c->connected)
        mosquitto_disconnect(c->mosq);
    mosquitto_destroy(c->mosq);
    for (int i = 0; i < c->msg_count; i++)
        free(c->msgs[i].payload);
    free(c);
}

struct bt_client *bt_admin_connect(const struct bt_broker *b, const char *client_id)
{
    struct bt_client *c = bt_client_new(client_id);
    if (bt_client_connect(c, b->admin_port, "cloud", b->admin_password) != 0) {
        bt_client_free(c);
        return NULL;
    }
    return c;
}

char *bt_admin_request(struct bt_client *admin, const char *topic, const void *payload, int len)
{
    char reply[600];
    const char *rest = strchr(topic + strlen("cloud/"), '/'); /* after cloud/<profile> */
    if (!rest)
        return NULL;
    snprintf(reply, sizeof reply, "%.*s/reply%s", (int)(rest - topic), topic, rest);
    if (bt_client_subscribe(admin, reply, 1) < 0 ||
        bt_client_publish(admin, topic, payload ? payload : "", payload ? len : 0, 1, false) < 0)
        return NULL;
    struct bt_msg m;
    if (!bt_client_wait_message(admin, reply, &m))
        return NULL;
    mosquitto_unsubscribe(admin->mosq, NULL, reply);
    return m.payload;
}

/* ------------------------------------------------------------ JWT */

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 16384);
    *len = fread(buf, 1, 16383, f);
    fclose(f);
    return buf;
}

char *bt_jwt(const char *alg, const char *key_file, const char *aud, long iat, long exp)
{
    jwt_t *j = NULL;
    size_t len = 0;
    char *key = key_file ? read_text(key_file, &len) : NULL;
    jwt_new(&j);
    if (aud)
        jwt_add_grant(j, "aud", aud);
    if (iat)
        jwt_add_grant_int(j, "iat", iat);
    if (exp)
        jwt_add_grant_int(j, "exp", exp);
    jwt_alg_t a = jwt_str_alg(alg);
    if (a == JWT_ALG_NONE)
        jwt_set_alg(j, JWT_ALG_NONE, NULL, 0);
    else
        jwt_set_alg(j, a, (unsigned char *)key, (int)len);
    char *tok = jwt_encode_str(j);
    jwt_free(j);
    free(key);
    return tok;
}
