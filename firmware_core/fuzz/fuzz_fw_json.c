/*
 * fuzz_fw_json.c - libFuzzer target for the JSON reader: parse the input
 * with a small token array, then walk every token through every accessor;
 * a string that parses must survive a write/parse round trip unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_json.h"

static void round_trip(const char *s, size_t len)
{
    static char text[4096 * 6 + 8], back[4096 + 8];
    struct fw_json_writer w;
    struct fw_json_token tok[2];
    struct fw_json_doc doc;
    size_t n, m;
    fw_json_writer_init(&w, text, sizeof(text));
    fw_json_string(&w, s, len);
    if (fw_json_writer_finish(&w, &n) != FW_JSON_OK)
        abort();
    if (fw_json_parse(text, n, tok, 2, &doc, NULL) != FW_JSON_OK ||
        fw_json_get_string(&doc, 0, back, sizeof(back), &m) != FW_JSON_OK || m != len ||
        memcmp(back, s, len) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    struct fw_json_token tokens[64];
    struct fw_json_doc doc;
    static char buf[4096];
    size_t i, v, n;
    int64_t x;
    bool b;
    if (fw_json_parse((const char *)data, len, tokens, 64, &doc, NULL) != FW_JSON_OK)
        return 0;
    for (i = 0; i < doc.count; i++) {
        fw_json_get_int(&doc, i, INT64_MIN, INT64_MAX, &x);
        fw_json_get_fixed(&doc, i, 6, &x);
        fw_json_get_bool(&doc, i, &b);
        fw_json_array_get(&doc, i, 1, &v);
        fw_json_object_get(&doc, i, "speed", &v);
        if (fw_json_get_string(&doc, i, buf, sizeof(buf), &n) == FW_JSON_OK)
            round_trip(buf, n);
    }
    return 0;
}
