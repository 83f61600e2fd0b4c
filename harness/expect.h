/*
 * expect — JSON predicates that a received message must satisfy.
 *
 * A predicate set is written in a scenario as one JSON object whose keys are
 * paths into the message and whose values say what must hold there:
 *
 *     { "type": "location",                      equals (any JSON value but an object)
 *       "position.lat": { "min": 50.0, "max": 51.0 },
 *       "speed_kmh": { "min": 30 },
 *       "picture": "present",                     shorthand for { "present": true }
 *       "error": "absent",                        shorthand for { "present": false }
 *       "chunks[0].index": 0,
 *       "cfg": { "equals": { "a": 1 } } }         an object literal needs "equals"
 *
 * A path is dot-separated keys with optional [N] array indexes. An operator
 * object takes "equals", "not_equals", "min", "max", "present", "one_of"
 * (array of values) and "contains" (substring of a string); anything else is
 * an error, so typos are caught when the scenario is loaded. Numbers compare
 * by value (1 equals 1.0). Parsing and evaluation are pure functions.
 */
#ifndef CELLBENCH_EXPECT_H
#define CELLBENCH_EXPECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One condition on one path of a message. */
struct expect_pred {
    char *path;             /* e.g. "position.lat" or "chunks[0].index" */
    json_t *equals;         /* owned reference, or NULL */
    json_t *not_equals;     /* owned reference, or NULL */
    json_t *one_of;         /* owned reference to an array, or NULL */
    char *contains;         /* substring the string value must contain, or NULL */
    bool has_min, has_max;
    double min, max;        /* inclusive bounds of a number */
    int present;            /* -1 no condition, 0 must be absent, 1 must be present */
};

/** A conjunction of predicates (all must hold). */
struct expect_match {
    struct expect_pred *preds;
    size_t count;
};

/** Where and why a predicate specification was refused. */
struct expect_error {
    char path[256];   /* JSON path relative to the specification, e.g. ".speed_kmh.min" */
    char reason[256]; /* what is wrong */
};

/**
 * Parse a predicate specification (a JSON object, or NULL for "no
 * conditions") into out, which the caller frees with expect_match_free.
 * Returns 0, or -1 with err filled and out left empty.
 */
int expect_match_parse(const json_t *spec, struct expect_match *out, struct expect_error *err);

/** Release what expect_match_parse allocated; the struct is left empty. */
void expect_match_free(struct expect_match *match);

/**
 * Look a path up in a JSON value ("a.b[2].c"). Returns a borrowed reference,
 * or NULL when the path does not exist or is malformed.
 */
const json_t *expect_lookup(const json_t *root, const char *path);

/** Whether a path is well-formed (keys non-empty, indexes decimal, brackets closed). */
bool expect_path_valid(const char *path);

/**
 * Append one object key to a JSON path in dst: ".key" for identifier-like
 * keys, otherwise ["key"] (quotes and backslashes escaped). Truncates safely.
 */
void expect_path_append_key(char *dst, size_t cap, const char *key);

/** Deep equality where numbers compare by value (1 == 1.0). */
bool expect_json_equal(const json_t *a, const json_t *b);

/**
 * Evaluate every predicate against msg. Returns true when all hold; otherwise
 * false with a one-line explanation of the first failure in why (may be NULL).
 */
bool expect_match_eval(const struct expect_match *match, const json_t *msg, char *why, size_t why_cap);

/**
 * Evaluate against a raw payload: it is parsed as JSON first. A payload that
 * is not JSON fails unless the match has no predicates.
 */
bool expect_match_eval_payload(const struct expect_match *match, const void *payload, size_t len, char *why,
                               size_t why_cap);

/**
 * Whether an MQTT topic matches a subscription filter ('+' one level, '#'
 * the rest, which includes the parent level); as in MQTT, a filter starting
 * with a wildcard does not match topics beginning with '$'.
 */
bool expect_topic_match(const char *filter, const char *topic);

/**
 * Whether n messages satisfy at_least <= n <= at_most (at_most < 0: no upper
 * bound). On failure why (may be NULL) says e.g. "2 messages, want at least 3".
 */
bool expect_count_ok(long n, long at_least, long at_most, char *why, size_t why_cap);

/**
 * The no-loss check: the sequence numbers received (in any order) must be
 * consecutive with none repeated. Returns true, or false with the first
 * duplicate or the first gap in why (may be NULL). An empty list holds.
 */
bool expect_sequence_ok(const long *seq, size_t n, char *why, size_t why_cap);

/** One message the cloud side observed during a run. */
struct expect_record {
    double t_s;         /* trip time of arrival, seconds */
    const char *topic;  /* MQTT topic, or NULL for a Pub/Sub message */
    const char *pubsub; /* Pub/Sub topic, or NULL for an MQTT message */
    const char *sender; /* device id of the publisher when known, else NULL */
    const json_t *msg;  /* the message as JSON (Pub/Sub: {"data", "attributes"}); NULL when not JSON */
};

/** Which records an expectation is about. */
struct expect_query {
    const char *topic;                /* MQTT topic filter, or NULL */
    const char *pubsub;               /* Pub/Sub topic, or NULL */
    const char *sender;               /* only this publisher (needs record.sender), or NULL for any */
    const struct expect_match *match; /* NULL: no conditions */
    double from_s, to_s;              /* window, both ends included */
};

/** Whether one record is selected by a query (topic, sender, window, predicates). */
bool expect_record_selected(const struct expect_record *rec, const struct expect_query *q);

/**
 * Count the records of log[0..n) a query selects; *first_s (may be NULL)
 * gets the arrival time of the first one, or -1 when there is none.
 */
size_t expect_log_count(const struct expect_record *log, size_t n, const struct expect_query *q, double *first_s);

/**
 * Collect the integer at key (a path) of every selected record into a new
 * array (*seq, freed by the caller; NULL when *count is 0). Returns true, or
 * false with why filled when a selected record has no integer there.
 */
bool expect_log_sequence(const struct expect_record *log, size_t n, const struct expect_query *q, const char *key,
                         long **seq, size_t *count, char *why, size_t why_cap);

/**
 * The ordering check: events ids[i] were first seen at first_s[i] (-1: never).
 * Holds when every one was seen and the times never decrease; otherwise why
 * names the first one missing or out of order.
 */
bool expect_order_ok(const char *const *ids, const double *first_s, size_t n, char *why, size_t why_cap);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_EXPECT_H */
