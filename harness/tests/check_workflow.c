/*
 * check-workflow — checks a GitHub Actions workflow file without GitHub:
 * that it is valid YAML (libyaml), has the shape of a workflow (on, jobs,
 * each job with runs-on and steps, each step running a command or using an
 * action), and that every command its run: steps name exists here.
 *
 *     check-workflow FILE --source DIR --build DIR
 *
 * A run: script is split into commands at newlines (a trailing backslash
 * continues a line), "&&", "||", ";" and "|"; "#" comments and VAR=value
 * prefixes are skipped. The first word of each command must be a shell
 * builtin, a program in PATH, or a path: build/... is looked up in the build
 * directory, anything else with a slash in the source tree. `make TARGET`
 * needs a rule for TARGET (`make -q` does not exit 2), `bash FILE` and
 * `sh FILE` a FILE in the source tree, `build/bin/cellbench SUB` a
 * subcommand that answers --help, and a glob argument (a pattern with * or ?)
 * at least one match. An action is `owner/name@ref` or a ./local path that
 * exists. Exit status 0 when everything holds, 1 with one line per problem
 * ("FILE:LINE: PATH: reason"), 2 for a bad command line.
 */
#include <ctype.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

struct checker {
    const char *file, *source, *build;
    yaml_document_t doc;
    int problems;
};

static void problem(struct checker *c, const yaml_node_t *at, const char *path, const char *fmt, const char *arg)
{
    char reason[512];
    snprintf(reason, sizeof reason, fmt, arg);
    printf("%s:%lu: %s: %s\n", c->file, at ? (unsigned long)at->start_mark.line + 1 : 0UL, path, reason);
    c->problems++;
}

/* The scalar text of a node, or NULL when it is not a scalar. */
static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of key in a mapping node, or NULL. */
static yaml_node_t *member(struct checker *c, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = scalar(yaml_document_get_node(&c->doc, p->key));
        if (k && strcmp(k, key) == 0)
            return yaml_document_get_node(&c->doc, p->value);
    }
    return NULL;
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool in_path(const char *name)
{
    const char *path = getenv("PATH");
    char dir[PATH_MAX], full[PATH_MAX * 2];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)n, path);
        snprintf(full, sizeof full, "%s/%s", n ? dir : ".", name);
        if (is_executable(full))
            return true;
        path += n + (path[n] == ':');
    }
    return false;
}

static bool is_builtin(const char *w)
{
    static const char *const builtins[] = { "cd", "set", "export", "echo", "test", "[", "true", "false",
                                            "exit", "printf", "source", ".", "unset", "shift", NULL };
    for (int i = 0; builtins[i]; i++)
        if (strcmp(w, builtins[i]) == 0)
            return true;
    return false;
}

/* Where a relative path of the workflow lives here: build/... in the build directory, else the source. */
static void local_path(const struct checker *c, const char *rel, char *out, size_t cap)
{
    if (strncmp(rel, "build/", 6) == 0)
        snprintf(out, cap, "%s/%s", c->build, rel + 6);
    else
        snprintf(out, cap, "%s/%s", c->source, rel);
}

/* Run argv (quietly) and return its exit status, or -1. */
static int quiet_status(char *const argv[])
{
    fflush(stdout); /* or the child would print what is buffered again */
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
            _exit(127);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

/* The words of one command (split at blanks; quotes are not expected in these scripts). */
static int split_words(char *cmd, char **words, int max)
{
    int n = 0;
    for (char *tok = strtok(cmd, " \t"); tok && n < max; tok = strtok(NULL, " \t"))
        words[n++] = tok;
    return n;
}

static bool is_assignment(const char *w)
{
    const char *eq = strchr(w, '=');
    if (!eq || eq == w || !(isalpha((unsigned char)w[0]) || w[0] == '_'))
        return false;
    for (const char *p = w; p < eq; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* The arguments that follow the program: make targets, scripts, subcommands, globs. */
static void check_arguments(struct checker *c, const yaml_node_t *at, const char *path, char **w, int n)
{
    char full[PATH_MAX * 2];
    if (strcmp(w[0], "make") == 0) {
        for (int i = 1; i < n; i++) {
            if (w[i][0] == '-' || strchr(w[i], '='))
                continue;
            char *argv[] = { "make", "-q", "-C", (char *)c->source, w[i], NULL };
            if (quiet_status(argv) == 2)
                problem(c, at, path, "make has no rule for the target '%s'", w[i]);
        }
    } else if ((strcmp(w[0], "bash") == 0 || strcmp(w[0], "sh") == 0) && n > 1 && w[1][0] != '-') {
        local_path(c, w[1], full, sizeof full);
        if (access(full, R_OK) != 0)
            problem(c, at, path, "the script '%s' does not exist", w[1]);
    } else if (strstr(w[0], "bin/cellbench") && n > 1 && w[1][0] != '-') {
        local_path(c, w[0], full, sizeof full);
        char *argv[] = { full, w[1], "--help", NULL };
        if (quiet_status(argv) != 0)
            problem(c, at, path, "cellbench has no subcommand '%s'", w[1]);
    }
    for (int i = 1; i < n; i++) {
        if (!strpbrk(w[i], "*?["))
            continue;
        glob_t g;
        local_path(c, w[i], full, sizeof full);
        if (glob(full, 0, NULL, &g) != 0)
            problem(c, at, path, "'%s' matches no file", w[i]);
        else
            globfree(&g);
    }
}

/* One command of a run: script. */
static void check_command(struct checker *c, const yaml_node_t *at, const char *path, char *cmd)
{
    char *w[64], full[PATH_MAX * 2];
    int n = split_words(cmd, w, 64), first = 0;
    while (first < n && is_assignment(w[first]))
        first++;
    if (first == n || w[first][0] == '#')
        return;
    const char *prog = w[first];
    if (strchr(prog, '/')) {
        local_path(c, prog, full, sizeof full);
        if (!is_executable(full))
            problem(c, at, path, "'%s' is not an executable here (not built, or no such file)", prog);
    } else if (!is_builtin(prog) && !in_path(prog)) {
        problem(c, at, path, "'%s' is not a command on this machine (not in PATH)", prog);
    }
    check_arguments(c, at, path, w + first, n - first);
}

/* Split a script into commands (lines joined at trailing backslashes; && || ; |) and check each. */
static void check_script(struct checker *c, const yaml_node_t *at, const char *path, const char *script)
{
    char *text = strdup(script);
    if (!text)
        return;
    for (char *p = text; (p = strstr(p, "\\\n")) != NULL;)
        p[0] = p[1] = ' ';
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *hash = line;
        while (*hash == ' ' || *hash == '\t')
            hash++;
        if (*hash == '#')
            continue;
        for (char *p = line; *p; p++) /* separators become one mark */
            if (*p == ';' || *p == '|' || (*p == '&' && p[1] == '&'))
                *p = '\x01';
        for (char *p = line; *p; p++)
            if (*p == '&' && p > line && p[-1] == '\x01')
                *p = '\x01';
        char *save2 = NULL;
        for (char *cmd = strtok_r(line, "\x01", &save2); cmd; cmd = strtok_r(NULL, "\x01", &save2))
            check_command(c, at, path, cmd);
    }
    free(text);
}

static void check_uses(struct checker *c, const yaml_node_t *at, const char *path, const char *uses)
{
    char full[PATH_MAX * 2];
    if (strncmp(uses, "./", 2) == 0) {
        local_path(c, uses + 2, full, sizeof full);
        if (access(full, F_OK) != 0)
            problem(c, at, path, "the local action '%s' does not exist", uses);
        return;
    }
    const char *slash = strchr(uses, '/'), *atsign = strchr(uses, '@');
    bool ok = slash && atsign && slash > uses && atsign > slash + 1 && atsign[1] != '\0';
    for (const char *p = uses; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || strchr("-_./@", *p);
    if (!ok)
        problem(c, at, path, "'%s' is not an action reference (owner/name@ref)", uses);
}

static void check_steps(struct checker *c, const char *job, const yaml_node_t *steps)
{
    char path[256];
    snprintf(path, sizeof path, "jobs.%s.steps", job);
    if (!steps || steps->type != YAML_SEQUENCE_NODE || steps->data.sequence.items.top == steps->data.sequence.items.start) {
        problem(c, steps, path, "%s", "a job needs a non-empty list of steps");
        return;
    }
    int i = 0;
    for (yaml_node_item_t *it = steps->data.sequence.items.start; it < steps->data.sequence.items.top; it++, i++) {
        yaml_node_t *step = yaml_document_get_node(&c->doc, *it);
        snprintf(path, sizeof path, "jobs.%s.steps[%d]", job, i);
        const char *run = scalar(member(c, step, "run")), *uses = scalar(member(c, step, "uses"));
        if (!step || step->type != YAML_MAPPING_NODE || !run == !uses) {
            problem(c, step, path, "%s", "a step is a mapping with exactly one of run and uses");
            continue;
        }
        if (run)
            check_script(c, member(c, step, "run"), path, run);
        else
            check_uses(c, member(c, step, "uses"), path, uses);
    }
}

static void check_workflow(struct checker *c)
{
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root || root->type != YAML_MAPPING_NODE) {
        problem(c, root, "$", "%s", "a workflow is a mapping");
        return;
    }
    if (!member(c, root, "on"))
        problem(c, root, "on", "%s", "missing: when the workflow runs");
    yaml_node_t *jobs = member(c, root, "jobs");
    if (!jobs || jobs->type != YAML_MAPPING_NODE || jobs->data.mapping.pairs.top == jobs->data.mapping.pairs.start) {
        problem(c, jobs ? jobs : root, "jobs", "%s", "missing or empty");
        return;
    }
    for (yaml_node_pair_t *p = jobs->data.mapping.pairs.start; p < jobs->data.mapping.pairs.top; p++) {
        const char *name = scalar(yaml_document_get_node(&c->doc, p->key));
        yaml_node_t *job = yaml_document_get_node(&c->doc, p->value);
        char path[256];
        snprintf(path, sizeof path, "jobs.%s", name ? name : "?");
        if (!job || job->type != YAML_MAPPING_NODE) {
            problem(c, job, path, "%s", "a job is a mapping");
            continue;
        }
        if (!member(c, job, "runs-on"))
            problem(c, job, path, "%s", "missing runs-on");
        check_steps(c, name ? name : "?", member(c, job, "steps"));
    }
}

/* Load the file as one YAML document; prints the parser's problem and returns -1 when it is not YAML. */
static int load(struct checker *c)
{
    FILE *f = fopen(c->file, "rb");
    if (!f) {
        printf("%s: cannot open\n", c->file);
        return -1;
    }
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    int ok = yaml_parser_load(&parser, &c->doc);
    if (!ok)
        printf("%s:%lu:%lu: not valid YAML: %s%s%s\n", c->file, (unsigned long)parser.problem_mark.line + 1,
               (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "error",
               parser.context ? " " : "", parser.context ? parser.context : "");
    else if (!yaml_document_get_root_node(&c->doc)) {
        printf("%s: empty document\n", c->file);
        yaml_document_delete(&c->doc);
        ok = 0;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct checker c = { 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--source") == 0 && i + 1 < argc)
            c.source = argv[++i];
        else if (strcmp(argv[i], "--build") == 0 && i + 1 < argc)
            c.build = argv[++i];
        else if (argv[i][0] != '-' && !c.file)
            c.file = argv[i];
        else
            c.file = NULL, i = argc;
    }
    if (!c.file || !c.source || !c.build) {
        fprintf(stderr, "usage: check-workflow FILE --source DIR --build DIR\n");
        return 2;
    }
    if (load(&c) < 0)
        return 1;
    check_workflow(&c);
    yaml_document_delete(&c.doc);
    if (c.problems == 0)
        printf("%s: valid YAML; every command it runs exists\n", c.file);
    return c.problems ? 1 : 0;
}
