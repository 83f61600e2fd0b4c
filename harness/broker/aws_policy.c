/* aws_policy — AWS IoT policy evaluation and topic limits (see aws_policy.h). */
#include "aws_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool aws_glob_match(const char *p, const char *t)
{
    const char *star_p = NULL, *star_t = NULL;
    while (*t) {
        if (*p == '*') {
            star_p = ++p;
            star_t = t;
            continue;
        }
        if (*p == '\\' && p[1] && p[1] == *t) {
            p += 2;
            t++;
            continue;
        }
        if (*p && *p != '\\' && (*p == '?' || *p == *t)) {
            p++;
            t++;
            continue;
        }
        if (!star_p)
            return false;
        p = star_p;
        t = ++star_t;
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

int aws_resource_arn(const struct aws_registry *reg, enum aws_action action, const char *name,
                     char *out, size_t out_len)
{
    const char *kind = action == AWS_ACT_CONNECT     ? "client"
                       : action == AWS_ACT_SUBSCRIBE ? "topicfilter"
                                                     : "topic";
    int n = snprintf(out, out_len, "arn:aws:iot:%s:%s:%s/%s", reg->region, reg->account, kind, name);
    return n < 0 || (size_t)n >= out_len ? -1 : 0;
}

/* Append value with every glob character escaped. Returns false on overflow. */
static bool append_literal(char *out, size_t cap, size_t *len, const char *value)
{
    for (; *value; value++) {
        bool special = *value == '*' || *value == '?' || *value == '\\';
        if (*len + (special ? 2 : 1) >= cap)
            return false;
        if (special)
            out[(*len)++] = '\\';
        out[(*len)++] = *value;
    }
    return true;
}

/* Replace the policy variables; false when one has no value or is unknown. */
static bool expand_vars(const char *pattern, const struct aws_policy_vars *vars, char *out,
                        size_t cap)
{
    size_t len = 0;
    while (*pattern) {
        if (pattern[0] == '$' && pattern[1] == '{') {
            const char *end = strchr(pattern, '}');
            if (!end)
                return false;
            size_t n = (size_t)(end - pattern) + 1;
            const char *value = NULL;
            if (n == strlen("${iot:ClientId}") && strncmp(pattern, "${iot:ClientId}", n) == 0)
                value = vars->client_id;
            else if (n == strlen("${iot:Connection.Thing.ThingName}") &&
                     strncmp(pattern, "${iot:Connection.Thing.ThingName}", n) == 0)
                value = vars->thing_name;
            if (!value || !append_literal(out, cap, &len, value))
                return false;
            pattern = end + 1;
            continue;
        }
        if (len + 1 >= cap)
            return false;
        out[len++] = *pattern++;
    }
    out[len] = '\0';
    return true;
}

/* Whether one statement names action and one of its resources matches. */
static bool statement_matches(const struct aws_statement *st, enum aws_action action,
                              const char *arn, const struct aws_policy_vars *vars)
{
    if (!(st->actions & (unsigned)action))
        return false;
    for (int r = 0; r < st->resource_count; r++) {
        char expanded[1024];
        if (expand_vars(st->resources[r], vars, expanded, sizeof expanded) &&
            aws_glob_match(expanded, arn))
            return true;
    }
    return false;
}

bool aws_policy_allows(const struct aws_registry *reg, const struct aws_thing *thing,
                       enum aws_action action, const char *resource_arn,
                       const struct aws_policy_vars *vars)
{
    bool allowed = false;
    for (int i = 0; thing && i < thing->policy_count; i++) {
        const struct aws_policy *pol = &reg->policies[thing->policies[i]];
        for (int s = 0; s < pol->statement_count; s++) {
            if (!statement_matches(&pol->statements[s], action, resource_arn, vars))
                continue;
            if (!pol->statements[s].allow)
                return false; /* explicit Deny wins */
            allowed = true;
        }
    }
    return allowed;
}

/*
 * The start every resource ARN of reg has; NULL when it holds a glob
 * character (then no rule is matched by its suffix) or out of memory.
 */
static char *literal_arn_prefix(const struct aws_registry *reg)
{
    char prefix[512];
    int n = snprintf(prefix, sizeof prefix, "arn:aws:iot:%s:%s:", reg->region, reg->account);
    if (n < 0 || (size_t)n >= sizeof prefix || strpbrk(prefix, "*?\\"))
        return NULL;
    return strdup(prefix);
}

/*
 * A rule whose pattern starts with the literal ARN prefix matches an ARN
 * with that prefix exactly when the rest of the pattern matches the rest of
 * the ARN, so only the (short) rests need comparing per message.
 */
static const char *rule_suffix(const struct aws_compiled_policy *policy, const char *pattern)
{
    if (!policy->arn_prefix || strncmp(pattern, policy->arn_prefix, policy->arn_prefix_len) != 0)
        return NULL;
    return pattern + policy->arn_prefix_len;
}

int aws_policy_compile(const struct aws_registry *reg, const struct aws_thing *thing,
                       const struct aws_policy_vars *vars, struct aws_compiled_policy *out)
{
    out->rules = NULL;
    out->count = 0;
    out->arn_prefix = literal_arn_prefix(reg);
    out->arn_prefix_len = out->arn_prefix ? strlen(out->arn_prefix) : 0;
    int cap = 0;
    for (int i = 0; thing && i < thing->policy_count; i++) {
        const struct aws_policy *pol = &reg->policies[thing->policies[i]];
        for (int st = 0; st < pol->statement_count; st++) {
            const struct aws_statement *stmt = &pol->statements[st];
            for (int r = 0; r < stmt->resource_count; r++) {
                char expanded[1024];
                if (!expand_vars(stmt->resources[r], vars, expanded, sizeof expanded))
                    continue;
                if (out->count == cap) {
                    cap = cap ? cap * 2 : 16;
                    struct aws_compiled_rule *grown = realloc(out->rules, (size_t)cap * sizeof *grown);
                    if (!grown)
                        return -1;
                    out->rules = grown;
                }
                char *copy = strdup(expanded);
                if (!copy)
                    return -1;
                out->rules[out->count++] =
                    (struct aws_compiled_rule){ stmt->allow, stmt->actions, copy, rule_suffix(out, copy) };
            }
        }
    }
    return 0;
}

bool aws_compiled_allows(const struct aws_compiled_policy *policy, enum aws_action action,
                         const char *resource_arn)
{
    bool allowed = false;
    const char *rest = policy->arn_prefix && strncmp(resource_arn, policy->arn_prefix, policy->arn_prefix_len) == 0
                           ? resource_arn + policy->arn_prefix_len
                           : NULL;
    for (int i = 0; i < policy->count; i++) {
        const struct aws_compiled_rule *rule = &policy->rules[i];
        if (!(rule->actions & (unsigned)action) || (allowed && rule->allow))
            continue; /* an Allow after an Allow changes nothing; a Deny still might */
        bool match = rest && rule->suffix ? aws_glob_match(rule->suffix, rest)
                                          : aws_glob_match(rule->pattern, resource_arn);
        if (!match)
            continue;
        if (!rule->allow)
            return false;
        allowed = true;
    }
    return allowed;
}

bool aws_compiled_allows_rest(const struct aws_compiled_policy *policy, enum aws_action action, const char *rest)
{
    char full[1400];
    bool have_full = false, allowed = false;
    for (int i = 0; i < policy->count; i++) {
        const struct aws_compiled_rule *rule = &policy->rules[i];
        if (!(rule->actions & (unsigned)action) || (allowed && rule->allow))
            continue; /* an Allow after an Allow changes nothing; a Deny still might */
        if (!rule->suffix && !have_full) {
            int n = snprintf(full, sizeof full, "%s%s", policy->arn_prefix, rest);
            if (n < 0 || (size_t)n >= sizeof full)
                return false;
            have_full = true;
        }
        if (!(rule->suffix ? aws_glob_match(rule->suffix, rest) : aws_glob_match(rule->pattern, full)))
            continue;
        if (!rule->allow)
            return false;
        allowed = true;
    }
    return allowed;
}

void aws_compiled_free(struct aws_compiled_policy *policy)
{
    for (int i = 0; i < policy->count; i++)
        free(policy->rules[i].pattern);
    free(policy->rules);
    free(policy->arn_prefix);
    policy->rules = NULL;
    policy->count = 0;
    policy->arn_prefix = NULL;
}

/* Skip a prefix AWS does not count: $aws/rules/<name>/ or $share/<group>/. */
static const char *skip_counted_prefix(const char *topic)
{
    static const char *const prefixes[] = { "$aws/rules/", "$share/" };
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(topic, prefixes[i], n) == 0) {
            const char *slash = strchr(topic + n, '/');
            return slash ? slash + 1 : topic;
        }
    }
    return topic;
}

bool aws_topic_within_limits(const char *topic)
{
    const char *counted = skip_counted_prefix(topic);
    if (strlen(counted) > AWS_TOPIC_MAX_BYTES)
        return false;
    int slashes = 0;
    for (const char *c = counted; *c; c++)
        slashes += *c == '/';
    return slashes <= AWS_TOPIC_MAX_SLASHES;
}
