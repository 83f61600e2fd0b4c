/*
 * fw_json.h - a small bounded JSON writer and reader for the bus telemetry,
 * configuration and commands.
 *
 * The writer appends to a caller buffer and keeps its first error, so a
 * message is built with plain calls and checked once at the end. The reader
 * validates a whole document strictly (RFC 8259: UTF-8, escapes, numbers, no
 * trailing commas, nesting at most FW_JSON_MAX_DEPTH) into a caller array of
 * tokens, then answers look-ups by key and index. Nothing is allocated and
 * nothing is copied until the caller asks for a string.
 */
#ifndef FW_JSON_H
#define FW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_config_defaults.h"

/* Status of every JSON function. */
enum fw_json_status {
    FW_JSON_OK = 0,
    FW_JSON_NO_SPACE,        /* output buffer or token array too small */
    FW_JSON_BAD_ARG,         /* invalid argument or writer call out of order */
    FW_JSON_SYNTAX,          /* not valid JSON (offset reported) */
    FW_JSON_TOO_DEEP,        /* nesting deeper than FW_JSON_MAX_DEPTH */
    FW_JSON_NOT_FOUND,       /* no such key or index */
    FW_JSON_WRONG_TYPE,      /* the value is not of the type asked for */
    FW_JSON_RANGE            /* a number outside the requested range or precision */
};

/* Kind of a token. */
enum fw_json_type {
    FW_JSON_OBJECT, FW_JSON_ARRAY, FW_JSON_STRING, FW_JSON_NUMBER, FW_JSON_TRUE,
    FW_JSON_FALSE, FW_JSON_NULL
};

/* One value (or object key) of a parsed document. */
struct fw_json_token {
    uint8_t type;            /* enum fw_json_type */
    uint32_t start;          /* first byte (strings: after the quote) */
    uint32_t end;            /* one past the last byte (strings: before the quote) */
    uint32_t size;           /* objects: members; arrays: elements */
    uint32_t next;           /* index of the first token after this value's subtree */
};

/* A parsed document: the text and its tokens (token 0 is the root). */
struct fw_json_doc {
    const char *text;
    size_t len;
    const struct fw_json_token *tokens;
    size_t count;
};

/* Writer state. Fields are private. */
struct fw_json_writer {
    char *buf;
    size_t cap;
    size_t len;
    unsigned depth;
    bool is_object[FW_JSON_MAX_DEPTH + 1];
    uint32_t items[FW_JSON_MAX_DEPTH + 1];
    bool have_key;
    enum fw_json_status status;
};

/* Start writing into buf (capacity cap, at least 1; kept NUL-terminated). */
void fw_json_writer_init(struct fw_json_writer *w, char *buf, size_t cap);

/* Open and close an object or array (as a value, or the document root). */
void fw_json_object_begin(struct fw_json_writer *w);
void fw_json_object_end(struct fw_json_writer *w);
void fw_json_array_begin(struct fw_json_writer *w);
void fw_json_array_end(struct fw_json_writer *w);

/* Write a member name inside an object; a value must follow. */
void fw_json_key(struct fw_json_writer *w, const char *key);

/* Values. Strings are escaped (", \, control bytes); len bytes of s. */
void fw_json_string(struct fw_json_writer *w, const char *s, size_t len);
void fw_json_int(struct fw_json_writer *w, int64_t v);
void fw_json_bool(struct fw_json_writer *w, bool v);
void fw_json_null(struct fw_json_writer *w);

/* A string value holding len bytes of data encoded as base64url without
 * padding (RFC 4648 §5), for binary data such as picture chunks. */
void fw_json_base64url(struct fw_json_writer *w, const uint8_t *data, size_t len);

/* A decimal with a fixed number of fraction digits: value 37123456 with
 * decimals 6 writes 37.123456 (decimals at most 9). */
void fw_json_fixed(struct fw_json_writer *w, int64_t value, unsigned decimals);

/* Finish: FW_JSON_OK with the text length in *len when every container was
 * closed and everything fitted; otherwise the first error. */
enum fw_json_status fw_json_writer_finish(const struct fw_json_writer *w, size_t *len);

/* Parse text[0..len) into tokens (capacity cap). On success doc describes the
 * document. On failure *err_offset (may be NULL) is the byte where parsing
 * stopped. */
enum fw_json_status fw_json_parse(const char *text, size_t len, struct fw_json_token *tokens,
                                  size_t cap, struct fw_json_doc *doc, size_t *err_offset);

/* Index of the value of member key in the object at token obj. */
enum fw_json_status fw_json_object_get(const struct fw_json_doc *doc, size_t obj, const char *key,
                                       size_t *value);

/* Index of element n of the array at token arr. */
enum fw_json_status fw_json_array_get(const struct fw_json_doc *doc, size_t arr, size_t n,
                                      size_t *value);

/* An integer value (no fraction or exponent) within [min, max]. */
enum fw_json_status fw_json_get_int(const struct fw_json_doc *doc, size_t tok, int64_t min,
                                    int64_t max, int64_t *out);

/* A number as a fixed-point integer with the given fraction digits (at most
 * 9): "12.5" with 2 gives 1250. More digits than that, or an exponent, give
 * FW_JSON_RANGE. */
enum fw_json_status fw_json_get_fixed(const struct fw_json_doc *doc, size_t tok,
                                      unsigned decimals, int64_t *out);

/* A boolean value. */
enum fw_json_status fw_json_get_bool(const struct fw_json_doc *doc, size_t tok, bool *out);

/* A string value, unescaped to UTF-8 into buf (NUL-terminated, capacity
 * cap); its length in *out_len (may be NULL). */
enum fw_json_status fw_json_get_string(const struct fw_json_doc *doc, size_t tok, char *buf,
                                       size_t cap, size_t *out_len);

/* Human-readable name of a status; never NULL. */
const char *fw_json_status_str(enum fw_json_status status);

#endif /* FW_JSON_H */
