/*
 * `cellbench broker`: write a Mosquitto configuration for the aws or gcp
 * profile, run mosquitto in the foreground with the cellbench_cloud plugin,
 * print "ready" once the device and admin listeners accept connections, and
 * stop mosquitto cleanly on SIGINT / SIGTERM.
 */
#include "cli.h"

#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "registry.h"

#define ADMIN_USER "cloud"
#define READY_GUARD_S 20 /* hang guard for mosquitto's start, real seconds */

struct broker_opts {
    enum cloud_profile profile;
    int port;
    int admin_port;
    char registry[PATH_MAX];
    char dir[PATH_MAX];
    char certs[PATH_MAX];
    char server_certs[PATH_MAX]; /* server.pem and server.key; --certs unless --server-certs */
    char plugin[PATH_MAX];
    char clock[PATH_MAX];
    const char *mosquitto;
    bool no_rate_limits; /* benchmarks: no per-connection rate limits */
    bool temp_dir;       /* dir made here (no --dir): removed at exit */
    bool config_acks;    /* gcp: debug log followed for config PUBACKs */
};

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cellbench broker --profile aws|gcp --port N --registry FILE\n"
            "                        [--admin-port M] [--dir DIR] [--clock FILE]\n"
            "                        [--certs DIR] [--plugin FILE] [--mosquitto FILE]\n"
            "  --port N        device listener (TLS; mutual TLS for aws)\n"
            "  --admin-port M  cloud application listener on 127.0.0.1 (default N+1)\n"
            "  --registry FILE things/policies (aws) or devices/keys (gcp), JSON\n"
            "  --dir DIR       configuration, log, admin password and cloud state\n"
            "                  (default: a new directory under /tmp, removed at exit)\n"
            "  --clock FILE    virtual clock file (default: real time)\n"
            "  --certs DIR     ca.pem, server.pem, server.key (default certs/out)\n"
            "  --server-certs DIR  server.pem and server.key from DIR instead (a rotated\n"
            "                  server certificate); client certificates still\n"
            "                  verified with --certs' ca.pem\n"
            "  --no-rate-limits  aws: no 100 publishes/s and 1 CONNECT/s limits (benchmarks)\n"
            "  --config-acks   gcp: see config PUBACKs (deviceAckTime) through Mosquitto's\n"
            "                  debug log (one log line per packet)\n");
}

/* Absolute form of path into out; false (with a message) when it does not exist. */
static bool absolute_path(const char *what, const char *path, char *out)
{
    if (!realpath(path, out)) {
        fprintf(stderr, "cellbench broker: %s %s: %s\n", what, path, strerror(errno));
        return false;
    }
    return true;
}

static bool parse_port(const char *text, int *port)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 1 || v > 65535)
        return false;
    *port = (int)v;
    return true;
}

/* The plugin next to this program: <bin>/../lib/cellbench_cloud.so. */
static void default_plugin(char *out)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, PATH_MAX, "%.*s/../lib/cellbench_cloud.so", PATH_MAX - 40, exe);
}

static int parse_opts(int argc, char **argv, struct broker_opts *o)
{
    static const struct option longopts[] = {
        { "profile", required_argument, NULL, 'p' },   { "port", required_argument, NULL, 'P' },
        { "admin-port", required_argument, NULL, 'a' }, { "registry", required_argument, NULL, 'r' },
        { "dir", required_argument, NULL, 'd' },        { "clock", required_argument, NULL, 'c' },
        { "certs", required_argument, NULL, 'C' },      { "plugin", required_argument, NULL, 'L' },
        { "mosquitto", required_argument, NULL, 'm' },  { "help", no_argument, NULL, 'h' },
        { "no-rate-limits", no_argument, NULL, 'R' }, { "server-certs", required_argument, NULL, 'S' },
        { "config-acks", no_argument, NULL, 'A' },
        { NULL, 0, NULL, 0 },
    };
    const char *profile = NULL, *registry = NULL, *dir = NULL, *clock = NULL;
    const char *certs = "certs/out", *plugin = NULL, *server_certs = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': profile = optarg; break;
        case 'P':
            if (!parse_port(optarg, &o->port)) {
                fprintf(stderr, "cellbench broker: --port: '%s' is not a port number\n", optarg);
                return 2;
            }
            break;
        case 'a':
            if (!parse_port(optarg, &o->admin_port)) {
                fprintf(stderr, "cellbench broker: --admin-port: '%s' is not a port number\n", optarg);
                return 2;
            }
            break;
        case 'r': registry = optarg; break;
        case 'd': dir = optarg; break;
        case 'c': clock = optarg; break;
        case 'C': certs = optarg; break;
        case 'S': server_certs = optarg; break;
        case 'L': plugin = optarg; break;
        case 'm': o->mosquitto = optarg; break;
        case 'R': o->no_rate_limits = true; break;
        case 'A': o->config_acks = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !profile || !o->port || !registry) {
        fprintf(stderr, "cellbench broker: --profile, --port and --registry are required\n");
        usage(stderr);
        return 2;
    }
    if (cloud_profile_parse(profile, &o->profile) < 0) {
        fprintf(stderr, "cellbench broker: --profile: '%s' is neither aws nor gcp\n", profile);
        return 2;
    }
    if (!o->admin_port)
        o->admin_port = o->port + 1;
    if (o->admin_port == o->port || o->admin_port > 65535) {
        fprintf(stderr, "cellbench broker: --admin-port must differ from --port\n");
        return 2;
    }
    if (!dir) {
        snprintf(o->dir, sizeof o->dir, "/tmp/cellbench-broker.XXXXXX");
        if (!mkdtemp(o->dir)) {
            fprintf(stderr, "cellbench broker: cannot create a directory: %s\n", strerror(errno));
            return 1;
        }
        dir = o->dir;
        o->temp_dir = true;
    } else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "cellbench broker: --dir %s: %s\n", dir, strerror(errno));
        return 1;
    }
    if (!absolute_path("--dir", dir, o->dir) || !absolute_path("--registry", registry, o->registry) ||
        !absolute_path("--certs", certs, o->certs) || (clock && !absolute_path("--clock", clock, o->clock)) ||
        !absolute_path(server_certs ? "--server-certs" : "--certs", server_certs ? server_certs : certs,
                       o->server_certs))
        return 1;
    if (plugin)
        snprintf(o->plugin, sizeof o->plugin, "%s", plugin);
    else
        default_plugin(o->plugin);
    char tmp[PATH_MAX];
    if (!absolute_path("plugin", o->plugin, tmp))
        return 1;
    memcpy(o->plugin, tmp, sizeof tmp);
    if (!o->mosquitto)
        o->mosquitto = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : "mosquitto";
    return -1; /* go on */
}

/* A random admin password, written to DIR/admin-password (mode 600). */
static bool make_admin_password(const struct broker_opts *o, char *password, size_t len)
{
    unsigned char raw[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, raw, sizeof raw) != (ssize_t)sizeof raw) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    close(fd);
    for (size_t i = 0; i < sizeof raw && 2 * i + 2 < len; i++)
        snprintf(password + 2 * i, 3, "%02x", raw[i]);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/admin-password", o->dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return false;
    bool ok = write(fd, password, strlen(password)) == (ssize_t)strlen(password);
    close(fd);
    return ok;
}

static bool write_config(const struct broker_opts *o, const char *password, char *conf_path)
{
    snprintf(conf_path, PATH_MAX + 32, "%s/mosquitto.conf", o->dir);
    FILE *f = fopen(conf_path, "w");
    if (!f) {
        fprintf(stderr, "cellbench broker: %s: %s\n", conf_path, strerror(errno));
        return false;
    }
    struct passwd *pw = getpwuid(geteuid());
    bool aws = o->profile == CLOUD_PROFILE_AWS;
    fprintf(f, "# written by cellbench broker (profile %s)\n", aws ? "aws" : "gcp");
    fprintf(f, "per_listener_settings false\nallow_anonymous false\n");
    if (aws) /* retained messages and persistent sessions (1 h, as AWS) survive a restart */
        fprintf(f, "persistence true\npersistence_location %s/\npersistent_client_expiration 1h\n", o->dir);
    else /* Cloud IoT Core keeps neither */
        fprintf(f, "persistence false\n");
    fprintf(f, "user %s\n", pw ? pw->pw_name : "root");
    fprintf(f, "log_dest file %s/mosquitto.log\n", o->dir);
    fprintf(f, "log_type error\nlog_type warning\nlog_type notice\nlog_type information\n");
    if (o->config_acks && !aws) /* PUBACKs are invisible to plugins but logged at debug level */
        fprintf(f, "log_type debug\n");
    fprintf(f, "connection_messages true\nmax_keepalive 1200\n");
    fprintf(f, "max_queued_messages 100000\n"); /* the cloud side must not lose events under load */
    fprintf(f, "set_tcp_nodelay true\n"); /* no Nagle delay: 40 ms real is minutes of trip at a high rate */
    fprintf(f, "\n# devices: TLS%s\nlistener %d\n", aws ? ", client certificate required" : "", o->port);
    fprintf(f, "cafile %s/ca.pem\ncertfile %s/server.pem\nkeyfile %s/server.key\n", o->certs, o->server_certs,
            o->server_certs);
    fprintf(f, "require_certificate %s\n", aws ? "true" : "false");
    fprintf(f, "max_qos 1\n"); /* a QoS 2 PUBLISH closes, a QoS 2 SUBSCRIBE is granted 1 */
    fprintf(f, "\n# cloud application (admin), loopback only\nlistener %d 127.0.0.1\n", o->admin_port);
    fprintf(f, "\nplugin %s\nplugin_opt_profile %s\nplugin_opt_registry %s\n", o->plugin,
            aws ? "aws" : "gcp", o->registry);
    fprintf(f, "plugin_opt_state_file %s/cloud-state.json\n", o->dir);
    fprintf(f, "plugin_opt_admin_user %s\nplugin_opt_admin_password %s\n", ADMIN_USER, password);
    if (o->clock[0])
        fprintf(f, "plugin_opt_clock %s\n", o->clock);
    if (o->no_rate_limits)
        fprintf(f, "plugin_opt_rate_limits off\n");
    if (o->config_acks && !aws)
        fprintf(f, "plugin_opt_config_ack_log %s/mosquitto.log\n", o->dir);
    return fclose(f) == 0;
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void show_log_tail(const struct broker_opts *o)
{
    char path[PATH_MAX + 32], line[1024];
    snprintf(path, sizeof path, "%s/mosquitto.log", o->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        fprintf(stderr, "  %s", line);
    fclose(f);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Wait until both listeners accept: 0, or 1 when mosquitto died or hung. */
static int wait_ready(const struct broker_opts *o, pid_t child)
{
    struct timespec nap = { 0, 20 * 1000 * 1000 };
    for (int i = 0; i < READY_GUARD_S * 50 && !stop_signal; i++) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            fprintf(stderr, "cellbench broker: mosquitto exited during start; its log:\n");
            show_log_tail(o);
            return 1;
        }
        if (port_accepts(o->port) && port_accepts(o->admin_port))
            return 0;
        nanosleep(&nap, NULL);
    }
    if (stop_signal)
        return 0;
    fprintf(stderr, "cellbench broker: listeners not up after %d s\n", READY_GUARD_S);
    kill(child, SIGTERM);
    waitpid(child, NULL, 0);
    return 1;
}

/* Run until a stop signal or mosquitto's own exit. */
static int supervise(pid_t child)
{
    for (;;) {
        int status;
        if (stop_signal) {
            kill(child, SIGTERM);
            waitpid(child, &status, 0);
            return 0;
        }
        pid_t r = waitpid(child, &status, 0);
        if (r == child) {
            fprintf(stderr, "cellbench broker: mosquitto exited (status %d)\n",
                    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
            return 1;
        }
        if (r < 0 && errno != EINTR)
            return 1;
    }
}

static int serve(struct broker_opts *o);

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

int cli_broker_main(int argc, char **argv)
{
    struct broker_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    rc = serve(&o);
    if (o.temp_dir) /* no --dir: the state was this run's only */
        nftw(o.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* Check the registry, write the configuration, run and supervise Mosquitto. */
static int serve(struct broker_opts *o_in)
{
    struct broker_opts o = *o_in;
    char err[1024];
    struct cloud_registry *reg = cloud_registry_load(o.registry, o.profile, err, sizeof err);
    if (!reg) {
        fprintf(stderr, "cellbench broker: bad registry: %s\n", err);
        return 2;
    }
    cloud_registry_free(reg);
    char password[40], conf[PATH_MAX + 32];
    if (!make_admin_password(&o, password, sizeof password) || !write_config(&o, password, conf)) {
        fprintf(stderr, "cellbench broker: cannot write into %s\n", o.dir);
        return 1;
    }
    install_signals();
    fflush(NULL);
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        execl(o.mosquitto, o.mosquitto, "-c", conf, (char *)NULL);
        fprintf(stderr, "cellbench broker: cannot run %s: %s\n", o.mosquitto, strerror(errno));
        _exit(127);
    }
    if (wait_ready(&o, child) != 0)
        return 1;
    if (stop_signal) /* stopped before it was ready: never claim it was */
        return supervise(child);
    fprintf(stderr, "cellbench broker: %s profile, devices on port %d, cloud application on "
            "127.0.0.1:%d (user %s, password in %s/admin-password)\n",
            o.profile == CLOUD_PROFILE_AWS ? "aws" : "gcp", o.port, o.admin_port, ADMIN_USER, o.dir);
    printf("ready\n");
    fflush(stdout);
    return supervise(child);
}
