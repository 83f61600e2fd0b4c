/*
 * `cellbench hil --probe openocd|pyocd [--serial DEV] [--probe-id ID] [--map FILE
 *  [--board NAME]] [--junit FILE] [--dry-run] SCENARIO`: a scenario against a real
 * nRF52840 board. Steps, each printed by --dry-run instead of run:
 *   1. build the image: make -C ROOT BUILD=BUILD firmware-nrf52840;
 *   2. write the device's provisioned credential region (provision.h) as a HEX;
 *   3. flash both through the CMSIS-DAP probe: OpenOCD (`program ... verify`,
 *      the last with `reset exit`) or pyOCD (`pyocd flash -t nrf52840`, or
 *      Debian's `pyocd-flashtool -t nrf52840` when that is what is installed);
 *   4. `cellbench run --target hil --serial DEV --rate 1 --junit FILE SCENARIO`:
 *      the bench as for fwcore, except that the device's simulator serves the
 *      board's serial port (sim7600 --serial DEV) after the go line
 *      (hil_go) started the firmware, whose own clock runs in real time.
 * A hardware map file selects the board when several are attached: lines
 * "BOARD PROBE_ID SERIAL" ('#' starts a comment); the first line of --board
 * (default nrf52840-dk), or with --probe-id the line of that probe.
 * Without --dry-run and without an attached CMSIS-DAP probe it stops at once.
 */
#include "cli.h"
#include "hil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

/* The credential region's layout: firmware_core/boards/nrf52840/provision.h. */
#define PROVISION_BASE 0xE0000u
#define PROVISION_SIZE 0x10000u
#define PROVISION_MAGIC 0x56504243u
#define PROVISION_NAME_LEN 64u
#define PROVISION_ENTRY_MAX 10240u

#define START_MARKER "cellbench-bus start"
#define USAGE_MARKER "cellbench-bus usage:"
#define GO_RESEND_MS 2000
#define SERIAL_APPEAR_MS 10000

/* ---- the go line ---- */

bool hil_go_line(const struct target_qemu_device *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "go");
    return target_qemu_command_words(t, "-", " ", buf, cap);
}

static int open_serial(const char *dev)
{
    struct termios tio;
    int fd = open(dev, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || tcgetattr(fd, &tio) < 0) {
        fprintf(stderr, "cellbench: cannot open the board's serial port %s: %s\n", dev, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    cfmakeraw(&tio);
    cfsetispeed(&tio, B115200);
    cfsetospeed(&tio, B115200);
    tio.c_cflag |= CLOCAL | CREAD;
    tio.c_cflag &= ~(tcflag_t)CRTSCTS;
    if (tcsetattr(fd, TCSANOW, &tio) < 0) { /* TCSANOW: keep what the board already sent */
        fprintf(stderr, "cellbench: cannot configure %s: %s\n", dev, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool send_all(int fd, const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return false;
        if (n > 0)
            done += (size_t)n;
    }
    return true;
}

int hil_go(const struct target_qemu_device *t, int guard_ms)
{
    char line[2048], seen[4096];
    size_t seen_len = 0;
    long long start = now_ms(), last_sent = -GO_RESEND_MS;
    if (!hil_go_line(t, line, sizeof line - 2))
        return -1;
    strcat(line, "\r\n");
    int fd = open_serial(t->uart_path);
    if (fd < 0)
        return -1;
    while (now_ms() - start < guard_ms) {
        if (now_ms() - last_sent >= GO_RESEND_MS) {
            if (!send_all(fd, line)) {
                fprintf(stderr, "cellbench: writing the go line to %s: %s\n", t->uart_path, strerror(errno));
                break;
            }
            last_sent = now_ms();
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 100) <= 0)
            continue;
        if (seen_len >= sizeof seen - 1) { /* keep the tail, where a marker can still end */
            memmove(seen, seen + sizeof seen / 2, sizeof seen - sizeof seen / 2);
            seen_len -= sizeof seen / 2;
        }
        ssize_t n = read(fd, seen + seen_len, sizeof seen - 1 - seen_len);
        if (n <= 0)
            continue;
        seen_len += (size_t)n;
        seen[seen_len] = '\0';
        for (size_t i = 0; i < seen_len; i++) /* NULs from a line glitch would end the search */
            if (seen[i] == '\0')
                seen[i] = '.';
        if (strstr(seen, START_MARKER)) {
            close(fd);
            return 0;
        }
        char *usage = strstr(seen, USAGE_MARKER);
        if (usage && strchr(usage, '\n')) {
            fprintf(stderr, "cellbench: the board refused the go line: %.*s\n", (int)strcspn(usage, "\r\n"), usage);
            close(fd);
            return -1;
        }
    }
    fprintf(stderr, "cellbench: no \"%s\" from the board on %s within %d ms\n", START_MARKER, t->uart_path, guard_ms);
    close(fd);
    return -1;
}

/* ---- the provisioned credential region as Intel HEX ---- */

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Append the file certs/rel to region at *used as one entry; -1 when missing or too large. */
static int add_entry(unsigned char *region, size_t *used, const char *certs, const char *rel)
{
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", certs, rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cellbench hil: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t head = PROVISION_NAME_LEN + 4u, room = PROVISION_SIZE - *used;
    unsigned char *e = region + *used;
    size_t len = room > head ? fread(e + head, 1, room - head, f) : 0;
    bool too_big = !feof(f) || len > PROVISION_ENTRY_MAX || strlen(rel) >= PROVISION_NAME_LEN;
    fclose(f);
    if (too_big || len == 0) {
        fprintf(stderr, "cellbench hil: %s is empty or does not fit the provisioned region\n", path);
        return -1;
    }
    memset(e, 0, PROVISION_NAME_LEN);
    memcpy(e, rel, strlen(rel));
    put_le32(e + PROVISION_NAME_LEN, (uint32_t)len);
    *used += head + ((len + 3u) & ~(size_t)3u);
    return 0;
}

static void hex_record(FILE *f, unsigned type, unsigned addr, const unsigned char *data, unsigned n)
{
    unsigned sum = n + (addr >> 8) + (addr & 0xFFu) + type;
    fprintf(f, ":%02X%04X%02X", n, addr & 0xFFFFu, type);
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "%02X", data[i]);
        sum += data[i];
    }
    fprintf(f, "%02X\n", (0x100u - (sum & 0xFFu)) & 0xFFu);
}

int hil_write_provision(const char *certs, const char *id, const char *path)
{
    static unsigned char region[PROVISION_SIZE];
    char rel[4][PROVISION_NAME_LEN + 32];
    size_t used = 8;
    memset(region, 0xFF, sizeof region);
    snprintf(rel[0], sizeof rel[0], "ca.pem");
    snprintf(rel[1], sizeof rel[1], "devices/%s/cert.pem", id);
    snprintf(rel[2], sizeof rel[2], "devices/%s/key.pem", id);
    snprintf(rel[3], sizeof rel[3], "devices/%s/es256-private.pem", id);
    for (int i = 0; i < 4; i++)
        if (add_entry(region, &used, certs, rel[i]) < 0)
            return -1;
    put_le32(region, PROVISION_MAGIC);
    put_le32(region + 4, 4);
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "cellbench hil: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    unsigned char upper[2] = { (unsigned char)(PROVISION_BASE >> 24), (unsigned char)(PROVISION_BASE >> 16) };
    hex_record(f, 4, 0, upper, 2); /* extended linear address 0x000E */
    for (size_t off = 0; off < used; off += 16) {
        unsigned n = used - off < 16 ? (unsigned)(used - off) : 16u;
        hex_record(f, 0, (unsigned)((PROVISION_BASE + off) & 0xFFFFu), region + off, n);
    }
    hex_record(f, 1, 0, NULL, 0);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "cellbench hil: writing %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- cellbench hil ---- */

struct hil_opts {
    const char *probe;    /* openocd | pyocd */
    const char *serial;   /* board serial port */
    const char *probe_id; /* probe serial number, or NULL */
    const char *map;      /* hardware map file, or NULL */
    const char *board;    /* board name in the map */
    const char *junit;
    const char *provision_only; /* --write-provision FILE */
    bool dry_run;
    const char *scenario;
};

/* A command line to print or run. */
struct command {
    char *argv[24];
    int argc;
};

static void cmd_add(struct command *c, const char *word)
{
    if (c->argc < (int)(sizeof c->argv / sizeof c->argv[0]) - 1)
        c->argv[c->argc++] = strdup(word);
    c->argv[c->argc] = NULL;
}

static void cmd_free(struct command *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    c->argc = 0;
}

/* The command as a shell would read it (words with special characters in single quotes). */
static void cmd_print(const struct command *c)
{
    for (int i = 0; i < c->argc; i++) {
        const char *w = c->argv[i];
        bool plain = *w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./=:+,@%") ==
                               strlen(w);
        if (plain) {
            printf("%s%s", i ? " " : "", w);
            continue;
        }
        printf("%s'", i ? " " : "");
        for (; *w; w++)
            *w == '\'' ? printf("'\\''") : putchar(*w);
        putchar('\'');
    }
    putchar('\n');
}

/* Run the command; its exit status (127 when it could not start). */
static int cmd_run(const struct command *c)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 127;
    if (pid == 0) {
        execvp(c->argv[0], c->argv);
        fprintf(stderr, "cellbench hil: cannot run %s: %s\n", c->argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static bool on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[PATH_MAX];
    while (path && *path) {
        const char *end = strchr(path, ':');
        int n = end ? (int)(end - path) : (int)strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", n, path, prog);
        if (n > 0 && access(buf, X_OK) == 0)
            return true;
        path = end ? end + 1 : NULL;
    }
    return false;
}

/* Whether a USB device whose product string names CMSIS-DAP is attached. */
static bool cmsis_dap_attached(void)
{
    DIR *d = opendir("/sys/bus/usb/devices");
    struct dirent *e;
    bool found = false;
    while (d && !found && (e = readdir(d))) {
        char path[PATH_MAX], product[256] = "";
        snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/product", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        found = fgets(product, sizeof product, f) && strstr(product, "CMSIS-DAP");
        fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/* Fill serial / probe id from the hardware map. Returns 0, or -1 with a message. */
static int apply_map(struct hil_opts *o)
{
    FILE *f = fopen(o->map, "r");
    char line[1024];
    if (!f) {
        fprintf(stderr, "cellbench hil: --map %s: %s\n", o->map, strerror(errno));
        return -1;
    }
    static char board[128], probe[128], serial[PATH_MAX];
    while (fgets(line, sizeof line, f)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        if (sscanf(line, "%127s %127s %4095s", board, probe, serial) != 3)
            continue;
        if (o->probe_id ? strcmp(probe, o->probe_id) == 0 : strcmp(board, o->board) == 0) {
            fclose(f);
            o->probe_id = probe;
            if (!o->serial)
                o->serial = serial;
            return 0;
        }
    }
    fclose(f);
    fprintf(stderr, "cellbench hil: --map %s has no line for %s %s\n", o->map, o->probe_id ? "probe" : "board",
            o->probe_id ? o->probe_id : o->board);
    return -1;
}

static void hil_usage(FILE *out)
{
    fprintf(out, "usage: cellbench hil --probe openocd|pyocd [--serial DEV] [--probe-id ID] [--map FILE [--board NAME]]\n"
                 "                     [--junit FILE] [--dry-run] SCENARIO\n"
                 "       cellbench hil --write-provision FILE SCENARIO\n"
                 "  builds the nRF52840 image, flashes it and the device's credentials through a CMSIS-DAP\n"
                 "  probe, starts the firmware with a go line on the board's serial port (default\n"
                 "  /dev/ttyACM0) and runs the scenario with the simulator on that port\n"
                 "  --dry-run          print every command instead of running it\n"
                 "  --map FILE         hardware map: lines \"BOARD PROBE_ID SERIAL\" (board default nrf52840-dk)\n"
                 "  --write-provision FILE  only write the credential region's HEX for the scenario's device\n");
}

static int parse_hil_opts(int argc, char **argv, struct hil_opts *o)
{
    static const struct option longopts[] = {
        { "probe", required_argument, NULL, 'p' },    { "serial", required_argument, NULL, 's' },
        { "probe-id", required_argument, NULL, 'i' }, { "map", required_argument, NULL, 'm' },
        { "board", required_argument, NULL, 'b' },    { "junit", required_argument, NULL, 'J' },
        { "dry-run", no_argument, NULL, 'n' },        { "write-provision", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    o->board = "nrf52840-dk";
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': o->probe = optarg; break;
        case 's': o->serial = optarg; break;
        case 'i': o->probe_id = optarg; break;
        case 'm': o->map = optarg; break;
        case 'b': o->board = optarg; break;
        case 'J': o->junit = optarg; break;
        case 'n': o->dry_run = true; break;
        case 'w': o->provision_only = optarg; break;
        case 'h': hil_usage(stdout); return 0;
        default: hil_usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        hil_usage(stderr);
        return 2;
    }
    o->scenario = argv[optind];
    if (!o->provision_only && (!o->probe || (strcmp(o->probe, "openocd") != 0 && strcmp(o->probe, "pyocd") != 0))) {
        fprintf(stderr, "cellbench hil: --probe openocd or --probe pyocd is required\n");
        return 2;
    }
    if (o->map && apply_map(o) < 0)
        return 2;
    if (!o->serial)
        o->serial = "/dev/ttyACM0";
    if (!o->junit)
        o->junit = "hil-junit.xml";
    return -1;
}

/* The build tree (the cellbench binary's ../) and the source root (its parent). */
static int locate_trees(char *build, char *root)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* .../build/bin */
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    snprintf(build, PATH_MAX, "%s", exe);
    snprintf(root, PATH_MAX, "%s", exe);
    slash = strrchr(root, '/');
    if (slash)
        *slash = '\0';
    return 0;
}

/* The flashing commands for the probe into cmds; returns their count. */
static int flash_commands(const struct hil_opts *o, const char *elf, const char *hex, const char *prov,
                          struct command *cmds)
{
    char buf[PATH_MAX + 256];
    if (strcmp(o->probe, "openocd") == 0) {
        struct command *c = &cmds[0];
        cmd_add(c, "openocd");
        cmd_add(c, "-f");
        cmd_add(c, "interface/cmsis-dap.cfg");
        if (o->probe_id) {
            snprintf(buf, sizeof buf, "adapter serial %s", o->probe_id);
            cmd_add(c, "-c");
            cmd_add(c, buf);
        }
        cmd_add(c, "-c");
        cmd_add(c, "transport select swd");
        cmd_add(c, "-f");
        cmd_add(c, "target/nrf52.cfg");
        snprintf(buf, sizeof buf, "program %s verify", elf);
        cmd_add(c, "-c");
        cmd_add(c, buf);
        snprintf(buf, sizeof buf, "program %s verify reset exit", prov);
        cmd_add(c, "-c");
        cmd_add(c, buf);
        return 1;
    }
    /* pyOCD: the HEX files (an ELF would lose .data's load image); the newer front end
     * when installed, else Debian's pyocd-flashtool */
    bool front = on_path("pyocd");
    const char *files[2] = { hex, prov };
    for (int i = 0; i < 2; i++) {
        struct command *c = &cmds[i];
        cmd_add(c, front ? "pyocd" : "pyocd-flashtool");
        if (front)
            cmd_add(c, "flash");
        cmd_add(c, "-t");
        cmd_add(c, "nrf52840");
        if (o->probe_id) {
            cmd_add(c, front ? "-u" : "-b");
            cmd_add(c, o->probe_id);
        }
        cmd_add(c, files[i]);
    }
    return 2;
}

int cli_hil_main(int argc, char **argv)
{
    struct hil_opts o;
    memset(&o, 0, sizeof o);
    int rc = parse_hil_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct scenario sc;
    struct scenario_error err;
    if (scenario_load(o.scenario, &sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 2;
    }
    const char *why = sc.device_count != 1 ? "a board runs one device: the scenario must have exactly one"
                                           : target_qemu_unsupported(&sc);
    char id[128];
    snprintf(id, sizeof id, "%s", sc.device_count ? sc.devices[0].id : "");
    scenario_free(&sc);
    if (why) {
        fprintf(stderr, "cellbench hil: %s: %s\n", o.scenario, why);
        return 2;
    }
    char build[PATH_MAX], root[PATH_MAX], certs[PATH_MAX + 16];
    if (locate_trees(build, root) < 0) {
        fprintf(stderr, "cellbench hil: cannot find the build tree\n");
        return 2;
    }
    snprintf(certs, sizeof certs, "%s/certs/out", root);
    if (o.provision_only)
        return hil_write_provision(certs, id, o.provision_only) == 0 ? 0 : 1;

    char elf[PATH_MAX + 64], hex[PATH_MAX + 64], prov[PATH_MAX + 192], self[PATH_MAX + 64];
    snprintf(elf, sizeof elf, "%s/nrf52840/cellbench-bus.elf", build);
    snprintf(hex, sizeof hex, "%s/nrf52840/cellbench-bus.hex", build);
    snprintf(prov, sizeof prov, "%s/nrf52840/provision-%s.hex", build, id);
    snprintf(self, sizeof self, "%s/bin/cellbench", build);
    struct command make, flash[2], run;
    memset(&make, 0, sizeof make);
    memset(flash, 0, sizeof flash);
    memset(&run, 0, sizeof run);
    char buildvar[PATH_MAX + 8];
    snprintf(buildvar, sizeof buildvar, "BUILD=%s", build);
    cmd_add(&make, "make");
    cmd_add(&make, "-C");
    cmd_add(&make, root);
    cmd_add(&make, buildvar);
    cmd_add(&make, "firmware-nrf52840");
    int n_flash = flash_commands(&o, elf, hex, prov, flash);
    const char *run_words[] = { self, "run", "--target", "hil", "--serial", o.serial, "--rate", "1",
                                "--junit", o.junit, o.scenario };
    for (size_t i = 0; i < sizeof run_words / sizeof run_words[0]; i++)
        cmd_add(&run, run_words[i]);

    if (o.dry_run) {
        cmd_print(&make);
        printf("# write the credential region of %s (ca.pem, devices/%s/{cert,key,es256-private}.pem) to %s\n", id, id,
               prov);
        for (int i = 0; i < n_flash; i++)
            cmd_print(&flash[i]);
        printf("# after the reset: open %s (raw, 115200), send \"go aws|gcp %s localhost:BROKER_PORT - 0 ...\" until "
               "\"%s\", close it; then the run starts sim7600 --serial %s --control RUNDIR/%s.ctl --clock "
               "RUNDIR/clock --log RUNDIR/%s-uart.log\n",
               o.serial, id, START_MARKER, o.serial, id, id);
        cmd_print(&run);
        rc = 0;
        goto out;
    }
    const char *tool = strcmp(o.probe, "openocd") == 0 ? "openocd" : on_path("pyocd") ? "pyocd" : "pyocd-flashtool";
    if (!on_path(tool)) {
        fprintf(stderr, "cellbench hil: %s is not installed (apt-get install %s)\n", tool,
                strcmp(tool, "openocd") == 0 ? "openocd" : "python3-pyocd");
        rc = 1;
        goto out;
    }
    if (!cmsis_dap_attached()) {
        fprintf(stderr, "cellbench hil: no CMSIS-DAP probe attached (no USB device under /sys/bus/usb/devices "
                        "names CMSIS-DAP); connect the board's debug USB port, or use --dry-run\n");
        rc = 1;
        goto out;
    }
    if (cmd_run(&make) != 0 || hil_write_provision(certs, id, prov) != 0) {
        fprintf(stderr, "cellbench hil: building the image or its credential region failed\n");
        rc = 1;
        goto out;
    }
    for (int i = 0; i < n_flash; i++) {
        if (cmd_run(&flash[i]) != 0) {
            fprintf(stderr, "cellbench hil: flashing through the probe failed (see %s's messages above)\n", tool);
            rc = 1;
            goto out;
        }
    }
    for (long long t0 = now_ms(); access(o.serial, R_OK | W_OK) != 0; usleep(100000)) {
        if (now_ms() - t0 > SERIAL_APPEAR_MS) { /* the port vanishes while the probe resets the board */
            fprintf(stderr, "cellbench hil: %s did not come back after the reset\n", o.serial);
            rc = 1;
            goto out;
        }
    }
    fflush(stdout);
    rc = cli_run_main(run.argc - 1, run.argv + 1); /* argv[0] of a subcommand is its name */
out:
    cmd_free(&make);
    cmd_free(&flash[0]);
    cmd_free(&flash[1]);
    cmd_free(&run);
    return rc;
}
