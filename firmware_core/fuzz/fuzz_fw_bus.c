/*
 * fuzz_fw_bus.c - libFuzzer target for the bus application's parsers: the
 * input is tried as a configuration, a command and a +CGPSINFO line; an
 * accepted configuration must hold values within their documented ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "fw_bus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct fw_bus_config cfg;
    struct fw_bus_command cmd;
    struct fw_bus_fix fix;
    char reason[96];
    if (fw_bus_parse_config((const char *)data, len, &cfg, reason, sizeof(reason)) == FW_BUS_OK) {
        if (cfg.speed_threshold_kmh_e1 < 0 || cfg.speed_threshold_kmh_e1 > 3000 ||
            cfg.depot_lat_e6 < -90000000 || cfg.depot_lat_e6 > 90000000 ||
            cfg.depot_lon_e6 < -180000000 || cfg.depot_lon_e6 > 180000000 ||
            cfg.depot_radius_m < 10 || cfg.depot_radius_m > 100000 || cfg.depot[0] == '\0' ||
            memchr(cfg.depot, '\0', sizeof(cfg.depot)) == NULL)
            abort();
        fix.lat_e6 = cfg.depot_lat_e6;
        fix.lon_e6 = cfg.depot_lon_e6;
        if (!fw_bus_at_depot(&cfg, &fix))
            abort();
    }
    fw_bus_parse_command((const char *)data, len, &cmd, reason, sizeof(reason));
    if (fw_bus_parse_cgpsinfo((const char *)data, len, &fix) == FW_BUS_OK &&
        (fix.lat_e6 < -90000000 || fix.lat_e6 > 90000000 || fix.lon_e6 < -180000000 ||
         fix.lon_e6 > 180000000))
        abort();
    return 0;
}
