/*
 * fw_bus_state.h - the bus's report of the configuration it runs, so the
 * cloud can see that a configuration took effect: on AWS an update of the
 * thing's Device Shadow ($aws/things/<thing>/shadow/update with
 * {"state":{"reported":{...}}}), on GCP a device state message
 * (/devices/<id>/state, the whole state each time).
 *
 * The reported members carry the configuration's own names, so the cloud
 * compares them with what it sent: "speed_threshold_kmh", "report_interval_s",
 * "route" and "depot" ({"name","lat","lon","radius_m"}). On AWS a route or
 * depot the configuration no longer names is reported as null, which
 * deletes it from the shadow; on GCP it is left out. Freestanding: caller
 * buffers only.
 */
#ifndef FW_BUS_STATE_H
#define FW_BUS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "fw_bus.h"
#include "fw_cloud.h"

/* Largest state report fw_bus_state_report writes (route 32, depot 64 bytes). */
#define FW_BUS_STATE_REPORT_MAX 320u

/* Longest state topic (AWS: "$aws/things/" + 128-byte thing name + "/shadow/update"). */
#define FW_BUS_STATE_TOPIC_MAX 160u

/* Where profile p reports state: "$aws/things/<id>/shadow/update" (AWS) or
 * "/devices/<id>/state" (GCP), NUL-terminated in buf (capacity cap), length
 * in *len. Returns FW_CLOUD_BAD_ARG for a missing or unusable profile and
 * FW_CLOUD_NO_SPACE when buf is too small. */
enum fw_cloud_status fw_bus_state_topic(const struct fw_cloud_profile *p, char *buf, size_t cap,
                                        size_t *len);

/* Write the state report of cfg for a cloud of kind (AWS: a shadow update
 * document, GCP: the state object), with "ts" (Unix seconds of the report),
 * into buf (capacity cap), length in *len (not NUL-terminated). Returns
 * FW_BUS_NO_SPACE when it does not fit, FW_BUS_INVALID for NULL arguments. */
enum fw_bus_status fw_bus_state_report(enum fw_cloud_kind kind, const struct fw_bus_config *cfg,
                                       uint64_t ts, char *buf, size_t cap, size_t *len);

#endif /* FW_BUS_STATE_H */
