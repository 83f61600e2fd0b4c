/*
 * fw_config_defaults.h - compile-time settings of the firmware core. Each
 * can be overridden with -D or a header included first.
 */
#ifndef FW_CONFIG_DEFAULTS_H
#define FW_CONFIG_DEFAULTS_H

/* AT command timeout when a request gives none. */
#ifndef FW_AT_DEFAULT_TIMEOUT_MS
#define FW_AT_DEFAULT_TIMEOUT_MS 5000u
#endif

/* A raw read that receives nothing for this long is abandoned (the modem
 * promised more bytes than it sent; parsing returns to lines). */
#ifndef FW_AT_RAW_IDLE_MS
#define FW_AT_RAW_IDLE_MS 2000u
#endif

/* Bytes read from the UART per read call inside fw_at_poll(). */
#ifndef FW_AT_READ_CHUNK
#define FW_AT_READ_CHUNK 64u
#endif

/* Upper bound of UART reads per fw_at_poll() call, so one poll is bounded. */
#ifndef FW_AT_MAX_READS_PER_POLL
#define FW_AT_MAX_READS_PER_POLL 32u
#endif

/* Deepest nesting the JSON reader and writer accept. */
#ifndef FW_JSON_MAX_DEPTH
#define FW_JSON_MAX_DEPTH 8u
#endif

#endif /* FW_CONFIG_DEFAULTS_H */
