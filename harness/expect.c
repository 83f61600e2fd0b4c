/* expect — JSON predicates (see expect.h for the specification format). */
#include "expect.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const expect_operators[] = { "equals", "not_equals", "min", "max", "present", "one_of", "contains" };

static int fail(struct expect_error *err, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct expect_error *err, const char *path, const char *fmt, ...)
{
    if (err != NULL) {
        snprintf(err->path, sizeof(err->path), "%s", path);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void appendf(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *dst, size_t cap, const char *fmt, ...)
{
    size_t len = strnlen(dst, cap);
    if (len + 1 >= cap) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, cap - len, fmt, ap);
    va_end(ap);
}

static bool identifier_like(const char *key)
{
    if (key[0] == '\0' || isdigit((unsigned char)key[0])) {
        return false;
    }
    for (const char *p = key; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') {
            return false;
        }
    }
    return true;
}

void expect_path_append_key(char *dst, size_t cap, const char *key)
{
    if (identifier_like(key)) {
        appendf(dst, cap, ".%s", key);
        return;
    }
    appendf(dst, cap, "[\"");
    for (const char *p = key; *p != '\0'; p++) {
        appendf(dst, cap, (*p == '"' || *p == '\\') ? "\\%c" : "%c", *p);
    }
    appendf(dst, cap, "\"]");
}

/* Split the next step off a path: a key (up to '.' or '[') or an [index]. */
static bool next_step(const char **cursor, char *key, size_t key_cap, long *index, bool *is_index)
{
    const char *p = *cursor;
    if (*p == '[') {
        char *end = NULL;
        if (!isdigit((unsigned char)p[1])) {
            return false;
        }
        *index = strtol(p + 1, &end, 10);
        if (*end != ']') {
            return false;
        }
        *is_index = true;
        *cursor = end + 1;
        return true;
    }
    size_t n = strcspn(p, ".[");
    if (n == 0 || n >= key_cap) {
        return false;
    }
    memcpy(key, p, n);
    key[n] = '\0';
    *is_index = false;
    *cursor = p + n;
    return true;
}

/* Walk a path; *node is NULL where it does not exist. Returns false when malformed. */
static bool walk(const json_t *root, const char *path, const json_t **node)
{
    char key[256];
    const char *p = path;
    const json_t *cur = root;
    if (*p == '\0') {
        return false;
    }
    while (*p != '\0') {
        long index = 0;
        bool is_index = false;
        if (!next_step(&p, key, sizeof(key), &index, &is_index)) {
            return false;
        }
        if (cur != NULL) {
            cur = is_index ? json_array_get(cur, (size_t)index) : json_object_get(cur, key);
        }
        if (*p == '.') {
            p++;
            if (*p == '\0' || *p == '.' || *p == '[') {
                return false;
            }
        } else if (*p != '\0' && *p != '[') {
            return false;
        }
    }
    *node = cur;
    return true;
}

bool expect_path_valid(const char *path)
{
    const json_t *node = NULL;
    return path != NULL && walk(NULL, path, &node);
}

const json_t *expect_lookup(const json_t *root, const char *path)
{
    const json_t *node = NULL;
    if (root == NULL || path == NULL || !walk(root, path, &node)) {
        return NULL;
    }
    return node;
}

static bool objects_equal(const json_t *a, const json_t *b)
{
    const char *key;
    const json_t *value;
    if (json_object_size(a) != json_object_size(b)) {
        return false;
    }
    json_object_foreach((json_t *)a, key, value) {
        if (!expect_json_equal(value, json_object_get(b, key))) {
            return false;
        }
    }
    return true;
}

static bool arrays_equal(const json_t *a, const json_t *b)
{
    if (json_array_size(a) != json_array_size(b)) {
        return false;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!expect_json_equal(json_array_get(a, i), json_array_get(b, i))) {
            return false;
        }
    }
    return true;
}

bool expect_json_equal(const json_t *a, const json_t *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) {
        return false;
    }
    if (json_is_object(a)) {
        return objects_equal(a, b);
    }
    if (json_is_array(a)) {
        return arrays_equal(a, b);
    }
    return json_equal((json_t *)a, (json_t *)b) != 0;
}

static bool is_operator(const char *key)
{
    for (size_t i = 0; i < sizeof(expect_operators) / sizeof(expect_operators[0]); i++) {
        if (strcmp(key, expect_operators[i]) == 0) {
            return true;
        }
    }
    return false;
}

static int parse_bound(const json_t *v, const char *path, const char *name, bool *has, double *out,
                       struct expect_error *err)
{
    if (v == NULL) {
        return 0;
    }
    if (!json_is_number(v)) {
        char p[256];
        snprintf(p, sizeof(p), "%s.%s", path, name);
        return fail(err, p, "%s must be a number", name);
    }
    *has = true;
    *out = json_number_value(v);
    return 0;
}

static int parse_present(const json_t *v, const char *path, int *present, struct expect_error *err)
{
    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        char p[256];
        snprintf(p, sizeof(p), "%s.present", path);
        return fail(err, p, "present must be true or false");
    }
    *present = json_is_true(v) ? 1 : 0;
    return 0;
}

static int check_operator_keys(const json_t *ops, const char *path, struct expect_error *err)
{
    const char *key;
    const json_t *value;
    if (json_object_size(ops) == 0) {
        return fail(err, path, "empty condition: use equals, not_equals, min, max, present, one_of or contains");
    }
    json_object_foreach((json_t *)ops, key, value) {
        if (!is_operator(key)) {
            char p[256];
            snprintf(p, sizeof(p), "%s", path);
            expect_path_append_key(p, sizeof(p), key);
            return fail(err, p,
                        "unknown condition '%s' (use equals, not_equals, min, max, present, one_of or contains)", key);
        }
    }
    return 0;
}

static int parse_operators(const json_t *ops, const char *path, struct expect_pred *pred, struct expect_error *err)
{
    if (check_operator_keys(ops, path, err) != 0 ||
        parse_bound(json_object_get(ops, "min"), path, "min", &pred->has_min, &pred->min, err) != 0 ||
        parse_bound(json_object_get(ops, "max"), path, "max", &pred->has_max, &pred->max, err) != 0 ||
        parse_present(json_object_get(ops, "present"), path, &pred->present, err) != 0) {
        return -1;
    }
    if (pred->has_min && pred->has_max && pred->min > pred->max) {
        return fail(err, path, "min %g is above max %g", pred->min, pred->max);
    }
    const json_t *one_of = json_object_get(ops, "one_of");
    if (one_of != NULL && (!json_is_array(one_of) || json_array_size(one_of) == 0)) {
        char p[256];
        snprintf(p, sizeof(p), "%s.one_of", path);
        return fail(err, p, "one_of must be a non-empty array");
    }
    const json_t *contains = json_object_get(ops, "contains");
    if (contains != NULL && !json_is_string(contains)) {
        char p[256];
        snprintf(p, sizeof(p), "%s.contains", path);
        return fail(err, p, "contains must be a string");
    }
    if (pred->present == 0 && json_object_size(ops) > 1) {
        return fail(err, path, "a field required to be absent can have no other condition");
    }
    pred->equals = json_incref(json_object_get(ops, "equals"));
    pred->not_equals = json_incref(json_object_get(ops, "not_equals"));
    pred->one_of = json_incref((json_t *)one_of);
    pred->contains = contains != NULL ? strdup(json_string_value(contains)) : NULL;
    return 0;
}

static int parse_pred(const char *key, const json_t *value, struct expect_pred *pred, struct expect_error *err)
{
    char path[256] = "";
    expect_path_append_key(path, sizeof(path), key);
    memset(pred, 0, sizeof(*pred));
    pred->present = -1;
    if (!expect_path_valid(key)) {
        return fail(err, path, "malformed field path '%s' (use keys separated by '.' and [N] indexes)", key);
    }
    pred->path = strdup(key);
    if (json_is_string(value) && strcmp(json_string_value(value), "present") == 0) {
        pred->present = 1;
        return 0;
    }
    if (json_is_string(value) && strcmp(json_string_value(value), "absent") == 0) {
        pred->present = 0;
        return 0;
    }
    if (json_is_object(value)) {
        return parse_operators(value, path, pred, err);
    }
    pred->equals = json_incref((json_t *)value);
    return 0;
}

static void pred_free(struct expect_pred *pred)
{
    free(pred->path);
    free(pred->contains);
    json_decref(pred->equals);
    json_decref(pred->not_equals);
    json_decref(pred->one_of);
    memset(pred, 0, sizeof(*pred));
}

void expect_match_free(struct expect_match *match)
{
    if (match == NULL) {
        return;
    }
    for (size_t i = 0; i < match->count; i++) {
        pred_free(&match->preds[i]);
    }
    free(match->preds);
    match->preds = NULL;
    match->count = 0;
}

int expect_match_parse(const json_t *spec, struct expect_match *out, struct expect_error *err)
{
    memset(out, 0, sizeof(*out));
    if (spec == NULL) {
        return 0;
    }
    if (!json_is_object(spec)) {
        return fail(err, "", "must be an object of field paths and conditions");
    }
    size_t n = json_object_size(spec);
    out->preds = calloc(n > 0 ? n : 1, sizeof(*out->preds));
    if (out->preds == NULL) {
        return fail(err, "", "out of memory");
    }
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)spec, key, value) {
        if (parse_pred(key, value, &out->preds[out->count], err) != 0) {
            out->count++;
            expect_match_free(out);
            return -1;
        }
        out->count++;
    }
    return 0;
}

/* Compact one-line JSON text of a value for explanations. */
static void describe(const json_t *v, char *buf, size_t cap)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
    snprintf(buf, cap, "%s", text != NULL ? text : "?");
    if (text != NULL && strlen(text) >= cap && cap > 4) {
        strcpy(buf + cap - 4, "...");
    }
    free(text);
}

static bool explain(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool explain(char *why, size_t cap, const char *fmt, ...)
{
    if (why != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, cap, fmt, ap);
        va_end(ap);
    }
    return false;
}

static bool in_array(const json_t *array, const json_t *v)
{
    for (size_t i = 0; i < json_array_size(array); i++) {
        if (expect_json_equal(json_array_get(array, i), v)) {
            return true;
        }
    }
    return false;
}

static bool eval_range(const struct expect_pred *p, const json_t *v, char *why, size_t cap)
{
    char text[128];
    if (!p->has_min && !p->has_max) {
        return true;
    }
    if (!json_is_number(v)) {
        describe(v, text, sizeof(text));
        return explain(why, cap, "%s: %s is not a number", p->path, text);
    }
    double x = json_number_value(v);
    if (p->has_min && !(x >= p->min)) {
        return explain(why, cap, "%s: %g is below min %g", p->path, x, p->min);
    }
    if (p->has_max && !(x <= p->max)) {
        return explain(why, cap, "%s: %g is above max %g", p->path, x, p->max);
    }
    return true;
}

static bool eval_values(const struct expect_pred *p, const json_t *v, char *why, size_t cap)
{
    char got[128];
    char want[128];
    describe(v, got, sizeof(got));
    if (p->equals != NULL && !expect_json_equal(p->equals, v)) {
        describe(p->equals, want, sizeof(want));
        return explain(why, cap, "%s: %s is not %s", p->path, got, want);
    }
    if (p->not_equals != NULL && expect_json_equal(p->not_equals, v)) {
        return explain(why, cap, "%s: %s must differ from it", p->path, got);
    }
    if (p->one_of != NULL && !in_array(p->one_of, v)) {
        describe(p->one_of, want, sizeof(want));
        return explain(why, cap, "%s: %s is not one of %s", p->path, got, want);
    }
    if (p->contains != NULL && (!json_is_string(v) || strstr(json_string_value(v), p->contains) == NULL)) {
        return explain(why, cap, "%s: %s does not contain \"%s\"", p->path, got, p->contains);
    }
    return eval_range(p, v, why, cap);
}

static bool eval_pred(const struct expect_pred *p, const json_t *msg, char *why, size_t cap)
{
    const json_t *v = expect_lookup(msg, p->path);
    if (v == NULL) {
        return p->present == 0 ? true : explain(why, cap, "%s: missing", p->path);
    }
    if (p->present == 0) {
        char got[128];
        describe(v, got, sizeof(got));
        return explain(why, cap, "%s: present (%s) but must be absent", p->path, got);
    }
    return eval_values(p, v, why, cap);
}

bool expect_match_eval(const struct expect_match *match, const json_t *msg, char *why, size_t why_cap)
{
    for (size_t i = 0; match != NULL && i < match->count; i++) {
        if (!eval_pred(&match->preds[i], msg, why, why_cap)) {
            return false;
        }
    }
    if (why != NULL && why_cap > 0) {
        why[0] = '\0';
    }
    return true;
}

bool expect_match_eval_payload(const struct expect_match *match, const void *payload, size_t len, char *why,
                               size_t why_cap)
{
    if (match == NULL || match->count == 0) {
        return expect_match_eval(match, NULL, why, why_cap);
    }
    json_error_t jerr;
    json_t *msg = json_loadb(payload, len, JSON_DECODE_ANY, &jerr);
    if (msg == NULL) {
        return explain(why, why_cap, "payload is not JSON (%s at offset %d)", jerr.text, jerr.position);
    }
    bool ok = expect_match_eval(match, msg, why, why_cap);
    json_decref(msg);
    return ok;
}

bool expect_topic_match(const char *filter, const char *topic)
{
    const char *f = filter;
    const char *t = topic;
    if ((*f == '+' || *f == '#') && *t == '$') {
        return false;
    }
    while (*f != '\0') {
        if (f[0] == '#') {
            return true; /* the rest, including the parent level itself */
        }
        if (f[0] == '+') {
            t += strcspn(t, "/");
            f++;
        } else {
            size_t n = strcspn(f, "/");
            if (strncmp(f, t, n) != 0 || (t[n] != '/' && t[n] != '\0')) {
                return false;
            }
            f += n;
            t += n;
        }
        if (*f == '\0') {
            return *t == '\0';
        }
        /* f is at '/': the topic must have a next level too, unless "/#" closes the filter */
        if (*t == '\0') {
            return strcmp(f, "/#") == 0;
        }
        f++;
        t++;
    }
    return *t == '\0';
}

bool expect_count_ok(long n, long at_least, long at_most, char *why, size_t why_cap)
{
    if (at_most >= 0 && at_least == at_most && n != at_least) {
        return explain(why, why_cap, "%ld message%s, want exactly %ld", n, n == 1 ? "" : "s", at_least);
    }
    if (n < at_least) {
        return explain(why, why_cap, "%ld message%s, want at least %ld", n, n == 1 ? "" : "s", at_least);
    }
    if (at_most >= 0 && n > at_most) {
        return explain(why, why_cap, "%ld message%s, want at most %ld", n, n == 1 ? "" : "s", at_most);
    }
    if (why != NULL && why_cap > 0) {
        why[0] = '\0';
    }
    return true;
}

static int compare_long(const void *a, const void *b)
{
    long x = *(const long *)a;
    long y = *(const long *)b;
    return (x > y) - (x < y);
}

bool expect_sequence_ok(const long *seq, size_t n, char *why, size_t why_cap)
{
    if (why != NULL && why_cap > 0) {
        why[0] = '\0';
    }
    if (n == 0) {
        return true;
    }
    long *sorted = malloc(n * sizeof(*sorted));
    if (sorted == NULL) {
        return explain(why, why_cap, "out of memory");
    }
    memcpy(sorted, seq, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), compare_long);
    bool ok = true;
    for (size_t i = 1; i < n && ok; i++) {
        if (sorted[i] == sorted[i - 1]) {
            ok = explain(why, why_cap, "sequence number %ld received more than once", sorted[i]);
        } else if (sorted[i] != sorted[i - 1] + 1) {
            ok = sorted[i] == sorted[i - 1] + 2
                     ? explain(why, why_cap, "sequence number %ld lost", sorted[i - 1] + 1)
                     : explain(why, why_cap, "sequence numbers %ld to %ld lost", sorted[i - 1] + 1, sorted[i] - 1);
        }
    }
    free(sorted);
    return ok;
}

bool expect_record_selected(const struct expect_record *rec, const struct expect_query *q)
{
    if (!(rec->t_s >= q->from_s && rec->t_s <= q->to_s)) {
        return false;
    }
    if (q->topic != NULL && (rec->topic == NULL || !expect_topic_match(q->topic, rec->topic))) {
        return false;
    }
    if (q->pubsub != NULL && (rec->pubsub == NULL || strcmp(q->pubsub, rec->pubsub) != 0)) {
        return false;
    }
    if (q->sender != NULL && (rec->sender == NULL || strcmp(q->sender, rec->sender) != 0)) {
        return false;
    }
    if (q->match == NULL || q->match->count == 0) {
        return true;
    }
    return rec->msg != NULL && expect_match_eval(q->match, rec->msg, NULL, 0);
}

size_t expect_log_count(const struct expect_record *log, size_t n, const struct expect_query *q, double *first_s)
{
    size_t count = 0;
    double first = -1.0;
    for (size_t i = 0; i < n; i++) {
        if (expect_record_selected(&log[i], q)) {
            first = count == 0 || log[i].t_s < first ? log[i].t_s : first;
            count++;
        }
    }
    if (first_s != NULL) {
        *first_s = first;
    }
    return count;
}

/* "HH:MM:SS" of a trip time. */
static void trip_time(double s, char *buf, size_t cap)
{
    long t = s > 0 && s < 1e9 ? (long)s : 0;
    if (snprintf(buf, cap, "%02ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60) >= (int)cap) {
        buf[cap - 1] = '\0';
    }
}

static bool record_integer(const struct expect_record *rec, const char *key, long *out)
{
    const json_t *v = expect_lookup(rec->msg, key);
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) && fabs(json_real_value(v)) < 9e15) {
        *out = (long)json_real_value(v);
        return true;
    }
    return false;
}

bool expect_log_sequence(const struct expect_record *log, size_t n, const struct expect_query *q, const char *key,
                         long **seq, size_t *count, char *why, size_t why_cap)
{
    *seq = NULL;
    *count = 0;
    size_t selected = expect_log_count(log, n, q, NULL);
    if (selected == 0) {
        return true;
    }
    long *values = malloc(selected * sizeof(*values));
    if (values == NULL) {
        return explain(why, why_cap, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (!expect_record_selected(&log[i], q)) {
            continue;
        }
        if (!record_integer(&log[i], key, &values[*count])) {
            char at[32];
            trip_time(log[i].t_s, at, sizeof(at));
            free(values);
            *count = 0;
            return explain(why, why_cap, "message at %s on %s has no integer %s", at,
                           log[i].topic != NULL ? log[i].topic : log[i].pubsub, key);
        }
        (*count)++;
    }
    *seq = values;
    return true;
}

bool expect_order_ok(const char *const *ids, const double *first_s, size_t n, char *why, size_t why_cap)
{
    char a[32];
    char b[32];
    for (size_t i = 0; i < n; i++) {
        if (first_s[i] < 0) {
            return explain(why, why_cap, "'%s' never arrived", ids[i]);
        }
        if (i > 0 && first_s[i] < first_s[i - 1]) {
            trip_time(first_s[i], a, sizeof(a));
            trip_time(first_s[i - 1], b, sizeof(b));
            return explain(why, why_cap, "'%s' (%s) arrived before '%s' (%s)", ids[i], a, ids[i - 1], b);
        }
    }
    if (why != NULL && why_cap > 0) {
        why[0] = '\0';
    }
    return true;
}
