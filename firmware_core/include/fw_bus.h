/*
 * fw_bus.h - the bus application's data: GNSS fixes from AT+CGPSINFO, the
 * configuration and commands it receives as JSON (validated strictly; on
 * any error the caller keeps its previous configuration), depot arrival
 * from the position, and the JSON events it reports (identification, speed
 * with location, location on request, depot arrival, driver picture in chunks, errors),
 * each with a timestamp. Positions are written as
 * "position":{"lat":..,"lon":..},"speed_kmh":...
 *
 * Configuration: {"route":"42","speed_threshold_kmh":50,"report_interval_s":30,
 *   "depot":{"name":"central","lat":37.123456,"lon":-122.000001,"radius_m":150}}
 *   (speed_threshold_kmh required; without depot there is no arrival
 *   detection and depot is ""; unknown keys are ignored).
 * Commands: {"cmd":"location"|"picture","id":"<request id>"}.
 */
#ifndef FW_BUS_H
#define FW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_json.h"

/* Status of the bus functions. */
enum fw_bus_status {
    FW_BUS_OK = 0,
    FW_BUS_NO_FIX,              /* the receiver has no position yet */
    FW_BUS_INVALID,             /* malformed or out-of-range input (reason given) */
    FW_BUS_NO_SPACE             /* the output buffer is too small */
};

/* A GNSS fix. Angles in millionths of a degree, speed in tenths of km/h. */
struct fw_bus_fix {
    int32_t lat_e6;
    int32_t lon_e6;
    int32_t speed_kmh_e1;
    uint64_t unix_time;         /* UTC from the fix */
};

/* The application's configuration. */
struct fw_bus_config {
    char route[32];
    int32_t speed_threshold_kmh_e1;  /* report speed only above this */
    uint32_t report_interval_s;      /* default 30 */
    char depot[64];                  /* "" when no destination depot is configured */
    int32_t depot_lat_e6;
    int32_t depot_lon_e6;
    uint32_t depot_radius_m;         /* default 100 */
};

/* Commands from the cloud. */
enum fw_bus_command_kind { FW_BUS_CMD_LOCATION, FW_BUS_CMD_PICTURE };

/* A parsed command. */
struct fw_bus_command {
    enum fw_bus_command_kind kind;
    char id[48];                /* request id echoed in the answer ("" if none) */
};

/* Why a picture is sent. */
enum fw_bus_picture_reason {
    FW_BUS_PIC_PHONE, FW_BUS_PIC_DRINKING, FW_BUS_PIC_DROWSY, FW_BUS_PIC_QUERY
};

/* What every event carries. */
struct fw_bus_identity {
    const char *bus;            /* device id */
    const char *route;          /* from the configuration; may be "" */
    uint32_t seq;               /* written after ts when not 0 */
};

/* Parse "+CGPSINFO: <lat>,<N/S>,<lon>,<E/W>,<ddmmyy>,<hhmmss.s>,<alt>,<knots>,<course>".
 * Returns FW_BUS_OK, FW_BUS_NO_FIX (empty fields) or FW_BUS_INVALID. */
enum fw_bus_status fw_bus_parse_cgpsinfo(const char *line, size_t len, struct fw_bus_fix *fix);

/* Parse a configuration document into *cfg (written only on success). On
 * failure a reason goes to reason (capacity cap, may be NULL). */
enum fw_bus_status fw_bus_parse_config(const char *json, size_t len, struct fw_bus_config *cfg,
                                       char *reason, size_t cap);

/* Parse a command document. */
enum fw_bus_status fw_bus_parse_command(const char *json, size_t len, struct fw_bus_command *cmd,
                                        char *reason, size_t cap);

/* Distance in metres from the fix to the configured depot (equirectangular
 * approximation: good to well under 1 % over the few kilometres it is used). */
uint32_t fw_bus_depot_distance_m(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix);

/* Whether the fix lies within the depot's radius (false without a depot). */
bool fw_bus_at_depot(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix);

/* Whether a speed event is due: strictly above the threshold. */
bool fw_bus_speed_reportable(const struct fw_bus_config *cfg, const struct fw_bus_fix *fix);

/* Events, written as JSON into buf (capacity cap), length in *len. */
enum fw_bus_status fw_bus_event_speed(const struct fw_bus_identity *id, const struct fw_bus_fix *fix,
                                      uint64_t ts, char *buf, size_t cap, size_t *len);
enum fw_bus_status fw_bus_event_location(const struct fw_bus_identity *id,
                                         const struct fw_bus_fix *fix, const char *request,
                                         uint64_t ts, char *buf, size_t cap, size_t *len);
enum fw_bus_status fw_bus_event_arrival(const struct fw_bus_identity *id,
                                        const struct fw_bus_config *cfg,
                                        const struct fw_bus_fix *fix, uint64_t ts, char *buf,
                                        size_t cap, size_t *len);
/* The identification event: {"type":"identification",<identity>,"ts":..,
 * "registration":"<vehicle registration>"}. */
enum fw_bus_status fw_bus_event_identification(const struct fw_bus_identity *id,
                                               const char *registration, uint64_t ts, char *buf,
                                               size_t cap, size_t *len);
enum fw_bus_status fw_bus_event_error(const struct fw_bus_identity *id, const char *error,
                                      const char *detail, uint64_t ts, char *buf, size_t cap,
                                      size_t *len);

/* Bytes of a picture chunk event besides its base64url data, at most. */
#define FW_BUS_PICTURE_OVERHEAD 340u

/* Raw picture bytes per chunk so that one chunk event (base64url data plus
 * its JSON, at most FW_BUS_PICTURE_OVERHEAD bytes of it) fits max_event bytes; 0 if none fit. */
size_t fw_bus_picture_chunk_size(size_t max_event);

/* One picture chunk event: chunk index of chunks, data of len raw bytes;
 * picture identifies the picture so the cloud can reassemble it. Written as
 * {"type":"picture",<identity>,"ts":..,"picture":N,"trigger":"phone"|
 * "drinking"|"drowsy"|"query","request":"<id>" (queries only),
 * "chunk":{"index":I,"count":N,"bytes":LEN},"data":"<base64url>"}. */
enum fw_bus_status fw_bus_event_picture_chunk(const struct fw_bus_identity *id, uint32_t picture,
                                              enum fw_bus_picture_reason reason,
                                              const char *request, uint32_t chunk,
                                              uint32_t chunks, const uint8_t *data, size_t len,
                                              uint64_t ts, char *buf, size_t cap, size_t *out_len);

/* Human-readable name of a status; never NULL. */
const char *fw_bus_status_str(enum fw_bus_status status);

#endif /* FW_BUS_H */
