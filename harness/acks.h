/*
 * acks — the acknowledgements of expect_ack, worked out from what the cloud
 * application observed (pure functions over the run's message log).
 *
 * Versions are counted per device in the order the scenario sends its
 * configurations: version N is the Nth configuration sent to that device
 * in the run, on both clouds. "latest" is the last one sent at or before
 * the expect_ack entry's time.
 *
 * - config (gcp): the device sent the PUBACK of that configuration's config
 *   message. The broker (harness/broker, `--config-acks`) announces each on
 *   cloud/gcp/notify/devices/<D>/config-ack as {"version": V, ...} with
 *   Cloud IoT's own version V; the broker's reply {"version": V} to the Nth
 *   cloud/gcp/devices/<D>/config/set request ties V to N. (A new GCP device
 *   starts at version 1, empty, so the first configuration is V = 2.)
 * - state (gcp): the device published a state on /devices/<D>/state that
 *   reports configuration N.
 * - shadow (aws): a shadow update document
 *   ($aws/things/<D>/shadow/update/documents) whose current.state.reported
 *   reports configuration N.
 *
 * A reported state reports configuration N when every member of the
 * configuration as sent that the state also holds is equal there (numbers by
 * value, objects member by member the same way), and at least one is: the
 * device may leave out what it does not report (a certificate, say), but
 * nothing it reports may differ. When several configurations fit, the
 * latest one sent before the report counts.
 */
#ifndef CELLBENCH_ACKS_H
#define CELLBENCH_ACKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "expect.h"
#include "scenario.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One configuration the run sent. */
struct ack_config {
    const char *device;  /* device id */
    double t_s;          /* trip time it was sent */
    const json_t *config; /* the configuration as sent */
    long cloud_version;  /* gcp: the version the broker gave it; 0 unknown (aws, or no reply) */
};

/**
 * Whether a reported state reports config (the rule above). why (may be
 * NULL) gets the first difference or "nothing in common".
 */
bool acks_reported_matches(const json_t *config, const json_t *reported, char *why, size_t why_cap);

/**
 * gcp: fill cloud_version of configs[0..n) (in the order sent) from the
 * broker's replies to the config/set requests in log[0..nlog): the k-th
 * reply for a device answers its k-th configuration; an error reply leaves 0.
 */
void acks_gcp_versions(struct ack_config *configs, size_t n, const struct expect_record *log, size_t nlog);

/**
 * The acknowledgements in log[0..nlog) for a run of profile that sent
 * configs[0..n) (in the order sent), in log order, as new array *out
 * (freed by the caller; devices point into configs). Returns the count.
 */
size_t acks_collect(enum scenario_profile profile, const struct ack_config *configs, size_t n,
                    const struct expect_record *log, size_t nlog, struct scenario_ack_event **out);

/** How many configurations device was sent at or before trip time at_s (the "latest" version). */
long acks_latest(const struct ack_config *configs, size_t n, const char *device, double at_s);

#ifdef __cplusplus
}
#endif

#endif /* CELLBENCH_ACKS_H */
