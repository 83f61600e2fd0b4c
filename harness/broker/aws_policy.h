/*
 * aws_policy — IAM-style evaluation of AWS IoT policies (cloud-rules.md §1).
 *
 * Default deny; an explicit Deny in any attached policy wins over any Allow.
 * Resources are ARNs matched with `*` (any run of characters, `/` included)
 * and `?` (one character); MQTT's `+` and `#` are literal characters there.
 * The policy variables ${iot:ClientId} and ${iot:Connection.Thing.ThingName}
 * are replaced by their literal values; a statement resource whose variable
 * has no value does not match.
 */
#ifndef CELLBENCH_BROKER_AWS_POLICY_H
#define CELLBENCH_BROKER_AWS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "registry.h"

/** Longest topic AWS accepts, bytes. */
#define AWS_TOPIC_MAX_BYTES 256
/** Most forward slashes AWS accepts in a topic (after an allowed prefix). */
#define AWS_TOPIC_MAX_SLASHES 7

/** Values of the policy variables for one connection. */
struct aws_policy_vars {
    const char *client_id;  /* ${iot:ClientId} */
    const char *thing_name; /* ${iot:Connection.Thing.ThingName}; NULL if none */
};

/**
 * Build the resource ARN an action applies to: client/<id> for Connect,
 * topicfilter/<filter> for Subscribe, topic/<topic> otherwise.
 * Returns 0, or -1 when out is too small.
 */
int aws_resource_arn(const struct aws_registry *reg, enum aws_action action, const char *name,
                     char *out, size_t out_len);

/**
 * Whether the policies of thing allow action on resource_arn with vars.
 * thing NULL (unknown connection) is never allowed.
 */
bool aws_policy_allows(const struct aws_registry *reg, const struct aws_thing *thing,
                       enum aws_action action, const char *resource_arn,
                       const struct aws_policy_vars *vars);

/** One statement resource with the variables of one connection filled in. */
struct aws_compiled_rule {
    bool allow;
    unsigned actions;
    char *pattern;
    const char *suffix; /* pattern after the literal ARN prefix of the policy, or NULL */
};

/** The policies of one connection, ready for fast evaluation. */
struct aws_compiled_policy {
    struct aws_compiled_rule *rules;
    int count;
    char *arn_prefix; /* "arn:aws:iot:<region>:<account>:", every resource ARN's start */
    size_t arn_prefix_len;
};

/**
 * Expand every resource of thing's policies with vars once (resources whose
 * variables have no value are left out). Returns 0, or -1 out of memory.
 */
int aws_policy_compile(const struct aws_registry *reg, const struct aws_thing *thing,
                       const struct aws_policy_vars *vars, struct aws_compiled_policy *out);

/** aws_policy_allows() on a compiled policy. */
bool aws_compiled_allows(const struct aws_compiled_policy *policy, enum aws_action action,
                         const char *resource_arn);

/**
 * aws_compiled_allows() on the ARN policy->arn_prefix + rest (rest:
 * "topic/<name>", "topicfilter/<filter>" or "client/<id>"), without building
 * the whole ARN unless a rule needs it. policy->arn_prefix must be set.
 */
bool aws_compiled_allows_rest(const struct aws_compiled_policy *policy, enum aws_action action, const char *rest);

/** Free a compiled policy's rules. */
void aws_compiled_free(struct aws_compiled_policy *policy);

/**
 * Glob match used for resources: `*` any run (crossing `/`), `?` one
 * character, `\x` the literal x. Returns true on a full match.
 */
bool aws_glob_match(const char *pattern, const char *text);

/** Whether topic is within AWS's length and slash limits. */
bool aws_topic_within_limits(const char *topic);

#endif /* CELLBENCH_BROKER_AWS_POLICY_H */
