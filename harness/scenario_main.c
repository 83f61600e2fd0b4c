/*
 * cellbench-scenario — check scenario files without running them.
 *
 *   cellbench-scenario validate FILE...   every file loads (exit 0) or not (1)
 *   cellbench-scenario list [DIR]         the scenarios in DIR (default
 *                                         scenarios/) with their descriptions
 *
 * Errors go to stderr as "FILE: JSON-PATH: reason" (or FILE:LINE:COLUMN for
 * JSON syntax errors); a bad command line exits 2. The main `cellbench`
 * command offers the same as `cellbench validate` and `cellbench list`.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cellbench-scenario validate FILE...\n"
               "       cellbench-scenario list [DIR]\n");
}

static int count_role(const struct scenario *s, enum scenario_role role)
{
    int n = 0;
    for (size_t i = 0; i < s->device_count; i++) {
        n += s->devices[i].role == role;
    }
    return n;
}

static int validate(int argc, char **argv)
{
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        struct scenario s;
        struct scenario_error err;
        if (scenario_load(argv[i], &s, &err) != 0) {
            fprintf(stderr, "%s\n", err.message);
            bad++;
            continue;
        }
        char length[32];
        scenario_format_time(s.duration_s, length, sizeof(length));
        printf("%s: ok: %s (%s, %d bus%s, %d depot%s, %zu timeline entries, %s)\n", argv[i], s.name,
               scenario_stack_str(s.stack), count_role(&s, SCENARIO_ROLE_BUS),
               count_role(&s, SCENARIO_ROLE_BUS) == 1 ? "" : "es", count_role(&s, SCENARIO_ROLE_DEPOT),
               count_role(&s, SCENARIO_ROLE_DEPOT) == 1 ? "" : "s", s.action_count, length);
        scenario_free(&s);
    }
    return bad > 0 ? 1 : 0;
}

static int is_json(const struct dirent *e)
{
    size_t n = strlen(e->d_name);
    return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".json") == 0;
}

static int list(const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, is_json, alphasort);
    if (n < 0) {
        perror(dir);
        return 1;
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        struct scenario s;
        struct scenario_error err;
        if (scenario_load(path, &s, &err) != 0) {
            fprintf(stderr, "%s\n", err.message);
            bad++;
        } else {
            printf("%-34s %-14s %s\n", s.name, scenario_stack_str(s.stack), s.description);
            scenario_free(&s);
        }
        free(names[i]);
    }
    free(names);
    return bad > 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "validate") == 0) {
        return validate(argc - 2, argv + 2);
    }
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "list") == 0) {
        return list(argc == 3 ? argv[2] : "scenarios");
    }
    usage(stderr);
    return 2;
}
