/*
 * fw_bus_state.c - the state report of the applied configuration (see
 * fw_bus_state.h).
 */
#include <string.h>

#include "fw_bus_state.h"
#include "fw_fmt.h"
#include "fw_json.h"

enum fw_cloud_status fw_bus_state_topic(const struct fw_cloud_profile *p, char *buf, size_t cap,
                                        size_t *len)
{
    struct fw_fmt f = {buf, cap, 0, false};
    if (p == NULL || p->device_id == NULL || p->device_id[0] == '\0' ||
        strpbrk(p->device_id, "/+#") != NULL || buf == NULL || cap == 0 || len == NULL)
        return FW_CLOUD_BAD_ARG;
    buf[0] = '\0';
    fw_fmt__str(&f, p->kind == FW_CLOUD_AWS ? "$aws/things/" : "/devices/");
    fw_fmt__str(&f, p->device_id);
    fw_fmt__str(&f, p->kind == FW_CLOUD_AWS ? "/shadow/update" : "/state");
    if (f.bad)
        return FW_CLOUD_NO_SPACE;
    *len = f.len;
    return FW_CLOUD_OK;
}

/* A value in tenths: an integer when it is whole, else with one decimal. */
static void fw_bus_state__tenths(struct fw_json_writer *w, int32_t e1)
{
    if (e1 % 10 == 0)
        fw_json_int(w, e1 / 10);
    else
        fw_json_fixed(w, e1, 1);
}

static void fw_bus_state__depot(struct fw_json_writer *w, const struct fw_bus_config *cfg)
{
    fw_json_object_begin(w);
    fw_json_key(w, "name");
    fw_json_string(w, cfg->depot, strlen(cfg->depot));
    fw_json_key(w, "lat");
    fw_json_fixed(w, cfg->depot_lat_e6, 6);
    fw_json_key(w, "lon");
    fw_json_fixed(w, cfg->depot_lon_e6, 6);
    fw_json_key(w, "radius_m");
    fw_json_int(w, cfg->depot_radius_m);
    fw_json_object_end(w);
}

/* The reported members; null_absent writes null for an unset route or depot. */
static void fw_bus_state__members(struct fw_json_writer *w, const struct fw_bus_config *cfg,
                                  uint64_t ts, bool null_absent)
{
    fw_json_key(w, "speed_threshold_kmh");
    fw_bus_state__tenths(w, cfg->speed_threshold_kmh_e1);
    fw_json_key(w, "report_interval_s");
    fw_json_int(w, cfg->report_interval_s);
    if (cfg->route[0] != '\0' || null_absent) {
        fw_json_key(w, "route");
        if (cfg->route[0] != '\0')
            fw_json_string(w, cfg->route, strlen(cfg->route));
        else
            fw_json_null(w);
    }
    if (cfg->depot[0] != '\0' || null_absent) {
        fw_json_key(w, "depot");
        if (cfg->depot[0] != '\0')
            fw_bus_state__depot(w, cfg);
        else
            fw_json_null(w);
    }
    fw_json_key(w, "ts");
    fw_json_int(w, (int64_t)ts);
}

enum fw_bus_status fw_bus_state_report(enum fw_cloud_kind kind, const struct fw_bus_config *cfg,
                                       uint64_t ts, char *buf, size_t cap, size_t *len)
{
    struct fw_json_writer w;
    bool aws = kind == FW_CLOUD_AWS;
    if (cfg == NULL || buf == NULL || len == NULL)
        return FW_BUS_INVALID;
    fw_json_writer_init(&w, buf, cap);
    fw_json_object_begin(&w);
    if (aws) { /* {"state":{"reported":{...}}} */
        fw_json_key(&w, "state");
        fw_json_object_begin(&w);
        fw_json_key(&w, "reported");
        fw_json_object_begin(&w);
    }
    fw_bus_state__members(&w, cfg, ts, aws);
    if (aws) {
        fw_json_object_end(&w);
        fw_json_object_end(&w);
    }
    fw_json_object_end(&w);
    return fw_json_writer_finish(&w, len) == FW_JSON_OK ? FW_BUS_OK : FW_BUS_NO_SPACE;
}
