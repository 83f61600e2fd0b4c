/*
 * bench_run: time compression of `cellbench run` (issue 5, "Performance").
 *
 * 1. Each trip of BENCH_TRIPS (default: the 8-hour benchmark trip and the
 *    demonstration trip) is run at every rate of BENCH_RATES, BENCH_REPEAT
 *    times each (a rate whose run would take longer than BENCH_MAX_WALL
 *    seconds, default 60, is skipped). Printed per rate: the median wall
 *    time, trip time / median wall time, the verdict counts of the last run,
 *    and how many runs met every expectation; then the highest rate at which
 *    every run met every expectation, and the entries whose verdict changed
 *    from the lowest rate.
 * 2. The first trip cut to its first BENCH_WINDOW seconds (default 60: the
 *    entries whose windows close by then) is run at rate 1 and at the rate
 *    at which that trip did best in step 1 (the highest at which every run
 *    met every expectation, else the lowest at which one run did, else the
 *    lowest tried); every entry's verdict at both rates is printed side by side
 *    with whether they agree, then AGREE or DIFFERENT for the whole window.
 *
 * Figures and verdict differences are reported, not judged: the exit status
 * is 0 when the bench ran and 2 when it could not (no cellbench, bad input).
 *
 * Why a higher rate stops meeting expectations: the clock runs freely at the
 * rate, so every real-time latency is multiplied by it. A TLS connect through
 * the simulator takes a few real ms (tens of virtual seconds at 10000x, past
 * the firmware's MQTT timeouts), and fwcore's idle wait is 10 real ms (10
 * virtual seconds at 1000x) between looks at its timers.
 * Trip time is the runner's: the scenario's length or the last expectation
 * window, whichever ends later. Wall time includes starting and stopping
 * the broker, simulators and firmware.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

#define MAX_RATES 16
#define MAX_REPEAT 15
#define MAX_VERDICTS 256

/* One verdict line of `cellbench run`: "PASS", "FAIL" or "NOT RUN" and the entry's label. */
struct verdict {
    char word[8];
    char label[200];
    char why[240]; /* the reason after the label, "" for PASS */
};

/* What one `cellbench run` printed and how long it took. */
struct outcome {
    double wall_s;
    int status; /* exit status; -1 when it could not be started */
    unsigned passed, failed, not_run;
    size_t n;
    struct verdict v[MAX_VERDICTS];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse one output line of cellbench run into o. */
static void take_line(struct outcome *o, const char *line)
{
    static const char *const words[] = { "PASS    ", "FAIL    ", "NOT RUN " };
    for (size_t w = 0; w < 3; w++) {
        if (strncmp(line, words[w], strlen(words[w])) != 0)
            continue;
        const char *label = line + strlen(words[w]);
        const char *end = strstr(label, ": ");
        size_t len = end ? (size_t)(end - label) : strcspn(label, "\n");
        if (o->n < MAX_VERDICTS) {
            struct verdict *v = &o->v[o->n++];
            snprintf(v->word, sizeof v->word, "%.*s", w == 2 ? 7 : 4, words[w]);
            snprintf(v->label, sizeof v->label, "%.*s", (int)len, label);
            snprintf(v->why, sizeof v->why, "%.*s", end ? (int)strcspn(end + 2, "\n") : 0, end ? end + 2 : "");
        }
        o->passed += w == 0;
        o->failed += w == 1;
        o->not_run += w == 2;
    }
}

/* Run `cellbench run --rate RATE PATH` once, timing it and collecting its verdicts. */
static void run_once(const char *path, double rate, struct outcome *o)
{
    char cmd[4096], line[1024];
    memset(o, 0, sizeof *o);
    snprintf(cmd, sizeof cmd, "'%s/bin/cellbench' run --rate %g '%s' 2>&1", CELLBENCH_BUILD_DIR, rate, path);
    double start = now_s();
    FILE *p = popen(cmd, "r");
    if (!p) {
        o->status = -1;
        return;
    }
    while (fgets(line, sizeof line, p))
        take_line(o, line);
    int rc = pclose(p);
    o->wall_s = now_s() - start;
    o->status = rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *xs, size_t n)
{
    qsort(xs, n, sizeof *xs, by_value);
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2.0;
}

/* The runner's trip time: the scenario's length or the last expectation window's end. */
static double trip_length(const struct scenario *s)
{
    double end = s->duration_s;
    for (size_t i = 0; i < s->action_count; i++) {
        const struct scenario_action *a = &s->actions[i];
        double within = a->kind == SCENARIO_ACTION_EXPECT_MESSAGE      ? a->u.message.within_s
                        : a->kind == SCENARIO_ACTION_EXPECT_CONNECTION ? a->u.connection.within_s
                                                                       : 0.0;
        end = fmax(end, a->at_s + within);
    }
    return end;
}

static const struct verdict *find_verdict(const struct outcome *o, const char *label)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->v[i].label, label) == 0)
            return &o->v[i];
    }
    return NULL;
}

/* Print the entries whose verdict differs between a and b; returns how many. */
static unsigned print_differences(const struct outcome *a, const struct outcome *b, const char *name_a,
                                  const char *name_b)
{
    unsigned diff = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct verdict *other = find_verdict(b, a->v[i].label);
        if (!other || strcmp(other->word, a->v[i].word) != 0) {
            printf("    %-48s %s %s, %s %s\n", a->v[i].label, name_a, a->v[i].word, name_b,
                   other ? other->word : "(absent)");
            diff++;
        }
    }
    for (size_t i = 0; i < b->n; i++) {
        if (!find_verdict(a, b->v[i].label)) {
            printf("    %-48s %s (absent), %s %s\n", b->v[i].label, name_a, name_b, b->v[i].word);
            diff++;
        }
    }
    return diff;
}

/* Print every entry's verdict at rate 1 and at rate fast side by side; returns how many differ. */
static unsigned print_side_by_side(const struct outcome *slow, const struct outcome *quick, double fast)
{
    char hi[32];
    snprintf(hi, sizeof hi, "rate %g", fast);
    printf("    %-48s %-8s %-8s %s\n", "entry", "rate 1", hi, "agree");
    unsigned diff = 0;
    for (size_t i = 0; i < slow->n; i++) {
        const struct verdict *other = find_verdict(quick, slow->v[i].label);
        bool same = other && strcmp(other->word, slow->v[i].word) == 0;
        printf("    %-48s %-8s %-8s %s\n", slow->v[i].label, slow->v[i].word, other ? other->word : "(absent)",
               same ? "yes" : "NO");
        diff += !same;
    }
    for (size_t i = 0; i < quick->n; i++) {
        if (!find_verdict(slow, quick->v[i].label)) {
            printf("    %-48s %-8s %-8s %s\n", quick->v[i].label, "(absent)", quick->v[i].word, "NO");
            diff++;
        }
    }
    return diff;
}

/* Print the entries of o (one run) that did not pass, with their reasons. */
static void print_unmet(const struct outcome *o)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->v[i].word, "PASS") != 0)
            printf("    %-7s %s: %s\n", o->v[i].word, o->v[i].label, o->v[i].why);
    }
}

static int parse_rates(const char *text, double *rates)
{
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, " ,", &save); tok && n < MAX_RATES; tok = strtok_r(NULL, " ,", &save)) {
        double r = strtod(tok, NULL);
        if (r > 0)
            rates[n++] = r;
    }
    free(copy);
    return n;
}

static const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* Step 1 for one trip: every rate; returns the highest rate at which every run passed, or 0. */
static double sweep(const char *path, const double *rates, int nrates, int repeat, double max_wall,
                    double *lowest_met)
{
    struct scenario s;
    struct scenario_error err;
    if (scenario_load(path, &s, &err) < 0) {
        fprintf(stderr, "bench_run: %s\n", err.message);
        return 0;
    }
    double trip = trip_length(&s);
    char len[32];
    scenario_format_time(trip, len, sizeof len);
    printf("bench_run: %s (%s), trip time %s (%.0f s), %d run(s) per rate\n", s.name, path, len, trip, repeat);
    printf("  %8s %10s %10s %8s %6s %7s %9s\n", "rate", "wall med", "trip/wall", "passed", "failed", "not run",
           "all met");
    static struct outcome first, last;
    double best = 0, first_rate = 0;
    bool have_first = false;
    for (int r = 0; r < nrates; r++) {
        double walls[MAX_REPEAT];
        if (trip / rates[r] > max_wall) {
            printf("  %8g skipped: would take %.0f s of wall time (BENCH_MAX_WALL %g)\n", rates[r], trip / rates[r],
                   max_wall);
            continue;
        }
        int met = 0;
        static struct outcome unmet[MAX_REPEAT];
        size_t unmet_runs = 0;
        for (int k = 0; k < repeat; k++) {
            run_once(path, rates[r], &last);
            walls[k] = last.wall_s;
            met += last.status == 0;
            if (last.status != 0)
                unmet[unmet_runs++] = last;
        }
        double wall = median(walls, (size_t)repeat);
        printf("  %8g %9.2fs %9.0fx %8u %6u %7u %5d/%d\n", rates[r], wall, trip / wall, last.passed, last.failed,
               last.not_run, met, repeat);
        for (size_t k = 0; k < unmet_runs; k++)
            print_unmet(&unmet[k]);
        fflush(stdout);
        if (met == repeat)
            best = rates[r];
        if (met > 0 && (*lowest_met == 0 || rates[r] < *lowest_met))
            *lowest_met = rates[r];
        if (!have_first) {
            first = last;
            first_rate = rates[r];
            have_first = true;
        } else {
            char lo[32], hi[32];
            snprintf(lo, sizeof lo, "rate %g", first_rate);
            snprintf(hi, sizeof hi, "rate %g", rates[r]);
            print_differences(&first, &last, lo, hi);
        }
    }
    if (best > 0)
        printf("  highest rate with every expectation met: %g\n", best);
    else
        printf("  at no rate tried was every expectation met (see the verdicts of `cellbench run %s`)\n", path);
    scenario_free(&s);
    return best;
}

/* A timeline entry is kept in a window of w seconds when it happens by then and any window of it closes by then. */
static bool in_window(json_t *entry, double w)
{
    double at = 0, within = 0;
    json_t *at_v = json_object_get(entry, "at");
    if (!at_v || scenario_parse_time(at_v, &at) != 0 || at > w)
        return false;
    const char *key;
    json_t *body;
    json_object_foreach(entry, key, body) {
        json_t *within_v = json_is_object(body) ? json_object_get(body, "within") : NULL;
        if (within_v && scenario_parse_time(within_v, &within) == 0 && at + within > w)
            return false;
    }
    return true;
}

/* Write the first w seconds of the scenario at path to out (route file made absolute). */
static int cut_scenario(const char *path, double w, const char *out)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root) {
        fprintf(stderr, "bench_run: %s: %s\n", path, jerr.text);
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash : dir, sizeof dir - (size_t)(slash ? slash - dir : 0), "%s", slash ? "" : ".");
    json_t *route = json_object_get(root, "route");
    static const char *const files[] = { "gpx", "nmea" };
    for (size_t i = 0; i < 2 && route; i++) {
        const char *name = json_string_value(json_object_get(route, files[i]));
        if (name && name[0] != '/') {
            char abs[8192];
            snprintf(abs, sizeof abs, "%s/%s", dir, name);
            json_object_set_new(route, files[i], json_string(abs));
        }
    }
    json_t *timeline = json_object_get(root, "timeline"), *kept = json_array();
    size_t i;
    json_t *entry;
    json_array_foreach(timeline, i, entry) {
        if (in_window(entry, w))
            json_array_append(kept, entry);
    }
    json_object_set_new(root, "timeline", kept);
    json_object_set_new(root, "duration", json_real(w));
    int rc = json_dump_file(root, out, JSON_INDENT(2));
    json_decref(root);
    return rc;
}

/* Step 2: the first w seconds at rate 1 and at rate fast; 0 when both ran, 2 when they could not. */
static int compare_window(const char *path, double w, double fast)
{
    char out[4096];
    const char *tmp = env_or("TMPDIR", "/tmp");
    snprintf(out, sizeof out, "%s/bench_run-window-%d.json", tmp, (int)getpid());
    if (cut_scenario(path, w, out) < 0)
        return 2;
    static struct outcome slow, quick;
    printf("bench_run: %s cut to its first %g s (entries judged by then), rate 1 against rate %g\n", path, w, fast);
    run_once(out, 1.0, &slow);
    run_once(out, fast, &quick);
    unlink(out);
    if (slow.status < 0 || quick.status < 0 || slow.n == 0) {
        printf("  the window could not be run (exit status %d and %d, %zu verdicts)\n", slow.status, quick.status,
               slow.n);
        return 2;
    }
    printf("  rate 1: wall %.2fs (trip/wall %.2fx), %u passed, %u failed, %u not run\n", slow.wall_s, w / slow.wall_s,
           slow.passed, slow.failed, slow.not_run);
    printf("  rate %g: wall %.2fs (trip/wall %.0fx), %u passed, %u failed, %u not run\n", fast, quick.wall_s,
           w / quick.wall_s, quick.passed, quick.failed, quick.not_run);
    unsigned diff = print_side_by_side(&slow, &quick, fast);
    printf("  verdicts at rate 1 and rate %g: %s (%zu entries, %u differ)\n", fast, diff ? "DIFFERENT" : "AGREE", slow.n,
           diff);
    return 0;
}

int main(void)
{
    char cellbench[4096];
    snprintf(cellbench, sizeof cellbench, "%s/bin/cellbench", CELLBENCH_BUILD_DIR);
    if (access(cellbench, X_OK) != 0) {
        fprintf(stderr, "bench_run: %s: %s\n", cellbench, strerror(errno));
        return 2;
    }
    double rates[MAX_RATES];
    int nrates = parse_rates(env_or("BENCH_RATES", "100 300 1000 1500 2000 3000 5000 10000"), rates);
    double max_wall = strtod(env_or("BENCH_MAX_WALL", "60"), NULL);
    int repeat = atoi(env_or("BENCH_REPEAT", "3"));
    repeat = repeat < 1 ? 1 : repeat > MAX_REPEAT ? MAX_REPEAT : repeat;
    double window = strtod(env_or("BENCH_WINDOW", "60"), NULL);
    if (nrates == 0 || !(window > 0) || !(max_wall > 0)) {
        fprintf(stderr, "bench_run: BENCH_RATES needs positive rates and BENCH_WINDOW a positive length\n");
        return 2;
    }
    char trips[4096];
    snprintf(trips, sizeof trips, "%s",
             env_or("BENCH_TRIPS", CELLBENCH_SOURCE_DIR "/scenarios/bench-8h.json " CELLBENCH_SOURCE_DIR
                                                        "/scenarios/demo-trip.json"));
    char *save = NULL, *first = NULL;
    double first_best = 0, first_lowest_met = 0;
    for (char *trip = strtok_r(trips, " ", &save); trip; trip = strtok_r(NULL, " ", &save)) {
        double lowest_met = 0;
        double best = sweep(trip, rates, nrates, repeat, max_wall, &lowest_met);
        if (!first) { /* the window compares the first trip at its own best rate */
            first = trip;
            first_best = best;
            first_lowest_met = lowest_met;
        }
    }
    if (!first)
        return 2;
    double fast = first_best > 0 ? first_best : first_lowest_met > 0 ? first_lowest_met : rates[0];
    return compare_window(first, window, fast);
}
