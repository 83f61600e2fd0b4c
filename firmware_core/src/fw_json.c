/*
 * fw_json.c - bounded JSON writer and strict reader (see fw_json.h).
 */
#include <string.h>

#include "fw_json.h"

/* ---- writer ------------------------------------------------------------- */

void fw_json_writer_init(struct fw_json_writer *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
    w->status = buf == NULL || cap == 0 ? FW_JSON_BAD_ARG : FW_JSON_OK;
    if (w->status == FW_JSON_OK)
        buf[0] = '\0';
}

static void fw_json__fail(struct fw_json_writer *w, enum fw_json_status status)
{
    if (w->status == FW_JSON_OK)
        w->status = status;
}

static void fw_json__put(struct fw_json_writer *w, const char *s, size_t n)
{
    if (w->status != FW_JSON_OK)
        return;
    if (n >= w->cap - w->len) {
        fw_json__fail(w, FW_JSON_NO_SPACE);
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

/* Separator and ordering rules before any value. */
static bool fw_json__before_value(struct fw_json_writer *w)
{
    if (w->status != FW_JSON_OK)
        return false;
    if (w->depth == 0) {
        if (w->items[0] > 0) {
            fw_json__fail(w, FW_JSON_BAD_ARG); /* one root value only */
            return false;
        }
        w->items[0]++;
        return true;
    }
    if (w->is_object[w->depth]) {
        if (!w->have_key) {
            fw_json__fail(w, FW_JSON_BAD_ARG);
            return false;
        }
        w->have_key = false;
        return true;
    }
    if (w->items[w->depth] > 0)
        fw_json__put(w, ",", 1);
    w->items[w->depth]++;
    return true;
}

static void fw_json__put_escaped(struct fw_json_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    fw_json__put(w, "\"", 1);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"': fw_json__put(w, "\\\"", 2); break;
        case '\\': fw_json__put(w, "\\\\", 2); break;
        case '\n': fw_json__put(w, "\\n", 2); break;
        case '\r': fw_json__put(w, "\\r", 2); break;
        case '\t': fw_json__put(w, "\\t", 2); break;
        default:
            if (c < 0x20)
                fw_json__put(w, esc, 6);
            else
                fw_json__put(w, s + i, 1);
        }
    }
    fw_json__put(w, "\"", 1);
}

static void fw_json__begin(struct fw_json_writer *w, bool object)
{
    if (!fw_json__before_value(w))
        return;
    if (w->depth >= FW_JSON_MAX_DEPTH) {
        fw_json__fail(w, FW_JSON_TOO_DEEP);
        return;
    }
    w->depth++;
    w->is_object[w->depth] = object;
    w->items[w->depth] = 0;
    fw_json__put(w, object ? "{" : "[", 1);
}

static void fw_json__end(struct fw_json_writer *w, bool object)
{
    if (w->status != FW_JSON_OK)
        return;
    if (w->depth == 0 || w->is_object[w->depth] != object || w->have_key) {
        fw_json__fail(w, FW_JSON_BAD_ARG);
        return;
    }
    fw_json__put(w, object ? "}" : "]", 1);
    w->depth--;
}

void fw_json_object_begin(struct fw_json_writer *w) { fw_json__begin(w, true); }
void fw_json_object_end(struct fw_json_writer *w) { fw_json__end(w, true); }
void fw_json_array_begin(struct fw_json_writer *w) { fw_json__begin(w, false); }
void fw_json_array_end(struct fw_json_writer *w) { fw_json__end(w, false); }

void fw_json_key(struct fw_json_writer *w, const char *key)
{
    if (w->status != FW_JSON_OK)
        return;
    if (key == NULL || w->depth == 0 || !w->is_object[w->depth] || w->have_key) {
        fw_json__fail(w, FW_JSON_BAD_ARG);
        return;
    }
    if (w->items[w->depth] > 0)
        fw_json__put(w, ",", 1);
    w->items[w->depth]++;
    fw_json__put_escaped(w, key, strlen(key));
    fw_json__put(w, ":", 1);
    w->have_key = true;
}

void fw_json_string(struct fw_json_writer *w, const char *s, size_t len)
{
    if (s == NULL && len > 0) {
        fw_json__fail(w, FW_JSON_BAD_ARG);
        return;
    }
    if (fw_json__before_value(w))
        fw_json__put_escaped(w, s, len);
}

/* Decimal digits of v into the end of buf; returns the first digit. */
static char *fw_json__digits(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10u);
        v /= 10u;
    } while (v > 0);
    return end;
}

static uint64_t fw_json__magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void fw_json_int(struct fw_json_writer *w, int64_t v)
{
    char text[24];
    char *p;
    if (!fw_json__before_value(w))
        return;
    p = fw_json__digits(fw_json__magnitude(v), text + sizeof(text));
    if (v < 0)
        *--p = '-';
    fw_json__put(w, p, (size_t)(text + sizeof(text) - p));
}

void fw_json_fixed(struct fw_json_writer *w, int64_t value, unsigned decimals)
{
    char text[32];
    char *end = text + sizeof(text), *p;
    uint64_t scale = 1, mag = fw_json__magnitude(value);
    unsigned i;
    if (decimals > 9) {
        fw_json__fail(w, FW_JSON_BAD_ARG);
        return;
    }
    if (!fw_json__before_value(w))
        return;
    for (i = 0; i < decimals; i++)
        scale *= 10u;
    p = end;
    if (decimals > 0) {
        uint64_t frac = mag % scale;
        for (i = 0; i < decimals; i++) {
            *--p = (char)('0' + frac % 10u);
            frac /= 10u;
        }
        *--p = '.';
    }
    p = fw_json__digits(mag / scale, p);
    if (value < 0)
        *--p = '-';
    fw_json__put(w, p, (size_t)(end - p));
}

void fw_json_base64url(struct fw_json_writer *w, const uint8_t *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i;
    if (data == NULL && len > 0) {
        fw_json__fail(w, FW_JSON_BAD_ARG);
        return;
    }
    if (!fw_json__before_value(w))
        return;
    fw_json__put(w, "\"", 1);
    for (i = 0; i < len; i += 3) {
        size_t n = len - i < 3 ? len - i : 3;
        uint32_t v = (uint32_t)data[i] << 16;
        char out[4];
        if (n > 1)
            v |= (uint32_t)data[i + 1] << 8;
        if (n > 2)
            v |= data[i + 2];
        out[0] = alphabet[(v >> 18) & 63u];
        out[1] = alphabet[(v >> 12) & 63u];
        out[2] = alphabet[(v >> 6) & 63u];
        out[3] = alphabet[v & 63u];
        fw_json__put(w, out, n + 1);
    }
    fw_json__put(w, "\"", 1);
}

void fw_json_bool(struct fw_json_writer *w, bool v)
{
    if (fw_json__before_value(w))
        fw_json__put(w, v ? "true" : "false", v ? 4 : 5);
}

void fw_json_null(struct fw_json_writer *w)
{
    if (fw_json__before_value(w))
        fw_json__put(w, "null", 4);
}

enum fw_json_status fw_json_writer_finish(const struct fw_json_writer *w, size_t *len)
{
    if (w->status != FW_JSON_OK)
        return w->status;
    if (w->depth != 0 || w->items[0] == 0 || len == NULL)
        return FW_JSON_BAD_ARG;
    *len = w->len;
    return FW_JSON_OK;
}

/* ---- reader ------------------------------------------------------------- */

struct fw_json__parser {
    const unsigned char *s;
    size_t len;
    size_t pos;
    struct fw_json_token *tokens;
    size_t cap;
    size_t count;
    unsigned depth;
};

static enum fw_json_status fw_json__value(struct fw_json__parser *p);

static void fw_json__ws(struct fw_json__parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

static enum fw_json_status fw_json__token(struct fw_json__parser *p, enum fw_json_type type,
                                          size_t *index)
{
    struct fw_json_token *t;
    if (p->count >= p->cap)
        return FW_JSON_NO_SPACE;
    *index = p->count++;
    t = &p->tokens[*index];
    t->type = (uint8_t)type;
    t->start = (uint32_t)p->pos;
    t->end = (uint32_t)p->pos;
    t->size = 0;
    t->next = 0;
    return FW_JSON_OK;
}

static int fw_json__hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The 4 hex digits at s[pos..pos+4) as a code unit, or -1. */
static int32_t fw_json__hex4(const unsigned char *s, size_t len, size_t pos)
{
    int32_t v = 0;
    size_t i;
    if (pos + 4 > len)
        return -1;
    for (i = 0; i < 4; i++) {
        int h = fw_json__hex(s[pos + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Length of the valid UTF-8 sequence at s[pos], or 0 (RFC 3629 table). */
static size_t fw_json__utf8_len(const unsigned char *s, size_t len, size_t pos)
{
    unsigned char c = s[pos];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (pos + n > len)
        return 0;
    for (i = 1; i < n; i++) {
        unsigned char b = s[pos + i];
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF))
            return 0;
    }
    return n;
}

/* An escape after the backslash at p->pos - 1; advances past it. */
static enum fw_json_status fw_json__escape(struct fw_json__parser *p)
{
    int32_t unit, low;
    if (p->pos >= p->len)
        return FW_JSON_SYNTAX;
    switch (p->s[p->pos]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        p->pos++;
        return FW_JSON_OK;
    default:
        break;
    }
    if (p->s[p->pos] != 'u' || (unit = fw_json__hex4(p->s, p->len, p->pos + 1)) < 0)
        return FW_JSON_SYNTAX;
    p->pos += 5;
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return FW_JSON_SYNTAX; /* a low surrogate alone */
    if (unit < 0xD800 || unit > 0xDBFF)
        return FW_JSON_OK;
    if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
        return FW_JSON_SYNTAX; /* a high surrogate alone */
    low = fw_json__hex4(p->s, p->len, p->pos + 2);
    if (low < 0xDC00 || low > 0xDFFF)
        return FW_JSON_SYNTAX;
    p->pos += 6;
    return FW_JSON_OK;
}

static enum fw_json_status fw_json__string(struct fw_json__parser *p)
{
    size_t index;
    enum fw_json_status st = fw_json__token(p, FW_JSON_STRING, &index);
    if (st != FW_JSON_OK)
        return st;
    p->pos++; /* opening quote */
    p->tokens[index].start = (uint32_t)p->pos;
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        size_t n;
        if (c == '"') {
            p->tokens[index].end = (uint32_t)p->pos;
            p->tokens[index].next = (uint32_t)p->count;
            p->pos++;
            return FW_JSON_OK;
        }
        if (c == '\\') {
            p->pos++;
            st = fw_json__escape(p);
            if (st != FW_JSON_OK)
                return st;
            continue;
        }
        if (c < 0x20 || (n = fw_json__utf8_len(p->s, p->len, p->pos)) == 0)
            return FW_JSON_SYNTAX;
        p->pos += n;
    }
    return FW_JSON_SYNTAX;
}

static size_t fw_json__skip_digits(struct fw_json__parser *p)
{
    size_t start = p->pos;
    while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
        p->pos++;
    return p->pos - start;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static enum fw_json_status fw_json__number(struct fw_json__parser *p)
{
    size_t index, digits;
    enum fw_json_status st = fw_json__token(p, FW_JSON_NUMBER, &index);
    if (st != FW_JSON_OK)
        return st;
    if (p->s[p->pos] == '-')
        p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '0')
        p->pos++;
    else if (fw_json__skip_digits(p) == 0)
        return FW_JSON_SYNTAX;
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (fw_json__skip_digits(p) == 0)
            return FW_JSON_SYNTAX;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
            p->pos++;
        digits = fw_json__skip_digits(p);
        if (digits == 0)
            return FW_JSON_SYNTAX;
    }
    p->tokens[index].end = (uint32_t)p->pos;
    p->tokens[index].next = (uint32_t)p->count;
    return FW_JSON_OK;
}

static enum fw_json_status fw_json__literal(struct fw_json__parser *p, const char *word,
                                            enum fw_json_type type)
{
    size_t index, n = strlen(word);
    enum fw_json_status st;
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return FW_JSON_SYNTAX;
    st = fw_json__token(p, type, &index);
    if (st != FW_JSON_OK)
        return st;
    p->pos += n;
    p->tokens[index].end = (uint32_t)p->pos;
    p->tokens[index].next = (uint32_t)p->count;
    return FW_JSON_OK;
}

/* One member "key": value of an object. */
static enum fw_json_status fw_json__member(struct fw_json__parser *p)
{
    enum fw_json_status st;
    if (p->pos >= p->len || p->s[p->pos] != '"')
        return FW_JSON_SYNTAX;
    st = fw_json__string(p);
    if (st != FW_JSON_OK)
        return st;
    fw_json__ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':')
        return FW_JSON_SYNTAX;
    p->pos++;
    fw_json__ws(p);
    return fw_json__value(p);
}

static enum fw_json_status fw_json__container(struct fw_json__parser *p, bool object)
{
    size_t index;
    char close = object ? '}' : ']';
    enum fw_json_status st;
    if (p->depth >= FW_JSON_MAX_DEPTH)
        return FW_JSON_TOO_DEEP;
    st = fw_json__token(p, object ? FW_JSON_OBJECT : FW_JSON_ARRAY, &index);
    if (st != FW_JSON_OK)
        return st;
    p->depth++;
    p->pos++;
    fw_json__ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
    } else {
        for (;;) {
            st = object ? fw_json__member(p) : fw_json__value(p);
            if (st != FW_JSON_OK)
                return st;
            p->tokens[index].size++;
            fw_json__ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                fw_json__ws(p);
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
                break;
            }
            return FW_JSON_SYNTAX;
        }
    }
    p->depth--;
    p->tokens[index].end = (uint32_t)p->pos;
    p->tokens[index].next = (uint32_t)p->count;
    return FW_JSON_OK;
}

static enum fw_json_status fw_json__value(struct fw_json__parser *p)
{
    unsigned char c;
    if (p->pos >= p->len)
        return FW_JSON_SYNTAX;
    c = p->s[p->pos];
    switch (c) {
    case '{': return fw_json__container(p, true);
    case '[': return fw_json__container(p, false);
    case '"': return fw_json__string(p);
    case 't': return fw_json__literal(p, "true", FW_JSON_TRUE);
    case 'f': return fw_json__literal(p, "false", FW_JSON_FALSE);
    case 'n': return fw_json__literal(p, "null", FW_JSON_NULL);
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return fw_json__number(p);
        return FW_JSON_SYNTAX;
    }
}

enum fw_json_status fw_json_parse(const char *text, size_t len, struct fw_json_token *tokens,
                                  size_t cap, struct fw_json_doc *doc, size_t *err_offset)
{
    struct fw_json__parser p;
    enum fw_json_status st;
    if (err_offset != NULL)
        *err_offset = 0;
    if (text == NULL || tokens == NULL || doc == NULL || len > UINT32_MAX)
        return FW_JSON_BAD_ARG;
    memset(&p, 0, sizeof(p));
    p.s = (const unsigned char *)text;
    p.len = len;
    p.tokens = tokens;
    p.cap = cap;
    fw_json__ws(&p);
    st = fw_json__value(&p);
    if (st == FW_JSON_OK) {
        fw_json__ws(&p);
        if (p.pos != p.len)
            st = FW_JSON_SYNTAX; /* text after the root value */
    }
    if (st != FW_JSON_OK) {
        if (err_offset != NULL)
            *err_offset = p.pos;
        return st;
    }
    doc->text = text;
    doc->len = len;
    doc->tokens = tokens;
    doc->count = p.count;
    return FW_JSON_OK;
}

/* ---- look-ups ----------------------------------------------------------- */

/* Decode the next character of a validated string token at *pos into out
 * (UTF-8); returns its byte count. */
static size_t fw_json__next_char(const unsigned char *s, size_t *pos, uint8_t out[4])
{
    uint32_t cp;
    if (s[*pos] != '\\') {
        out[0] = s[(*pos)++];
        return 1;
    }
    (*pos)++;
    switch (s[(*pos)++]) {
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: out[0] = s[*pos - 1]; return 1; /* " \ / */
    }
    cp = (uint32_t)fw_json__hex4(s, *pos + 4, *pos);
    *pos += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low = (uint32_t)fw_json__hex4(s, *pos + 6, *pos + 2);
        cp = 0x10000u + ((cp - 0xD800u) << 10) + (low - 0xDC00u);
        *pos += 6;
    }
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static bool fw_json__string_equals(const struct fw_json_doc *doc, const struct fw_json_token *t,
                                   const char *key)
{
    const unsigned char *s = (const unsigned char *)doc->text;
    size_t pos = t->start, k = 0, klen = strlen(key);
    while (pos < t->end) {
        uint8_t ch[4];
        size_t n = fw_json__next_char(s, &pos, ch);
        if (k + n > klen || memcmp(key + k, ch, n) != 0)
            return false;
        k += n;
    }
    return k == klen;
}

static bool fw_json__valid(const struct fw_json_doc *doc, size_t tok)
{
    return doc != NULL && tok < doc->count;
}

enum fw_json_status fw_json_object_get(const struct fw_json_doc *doc, size_t obj, const char *key,
                                       size_t *value)
{
    size_t i, member;
    if (!fw_json__valid(doc, obj) || key == NULL || value == NULL)
        return FW_JSON_BAD_ARG;
    if (doc->tokens[obj].type != FW_JSON_OBJECT)
        return FW_JSON_WRONG_TYPE;
    member = obj + 1;
    for (i = 0; i < doc->tokens[obj].size; i++) {
        size_t v = member + 1;
        if (fw_json__string_equals(doc, &doc->tokens[member], key)) {
            *value = v;
            return FW_JSON_OK;
        }
        member = doc->tokens[v].next;
    }
    return FW_JSON_NOT_FOUND;
}

enum fw_json_status fw_json_array_get(const struct fw_json_doc *doc, size_t arr, size_t n,
                                      size_t *value)
{
    size_t i, element;
    if (!fw_json__valid(doc, arr) || value == NULL)
        return FW_JSON_BAD_ARG;
    if (doc->tokens[arr].type != FW_JSON_ARRAY)
        return FW_JSON_WRONG_TYPE;
    if (n >= doc->tokens[arr].size)
        return FW_JSON_NOT_FOUND;
    element = arr + 1;
    for (i = 0; i < n; i++)
        element = doc->tokens[element].next;
    *value = element;
    return FW_JSON_OK;
}

/* Parse a number token as a fixed-point value with `decimals` digits. */
static enum fw_json_status fw_json__to_fixed(const char *s, size_t len, unsigned decimals,
                                             bool integer_only, int64_t *out)
{
    size_t i = 0;
    bool negative = false;
    uint64_t v = 0, limit = (uint64_t)INT64_MAX;
    unsigned frac = 0;
    if (len > 0 && s[0] == '-') {
        negative = true;
        limit += 1u;
        i = 1;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > (limit - (uint64_t)(s[i] - '0')) / 10u)
            return FW_JSON_RANGE;
        v = v * 10u + (uint64_t)(s[i] - '0');
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E'))
        return integer_only ? FW_JSON_WRONG_TYPE : FW_JSON_RANGE;
    if (i < len && s[i] == '.') {
        if (integer_only)
            return FW_JSON_WRONG_TYPE;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (frac == decimals) {
                if (s[i] != '0')
                    return FW_JSON_RANGE; /* more precision than asked for */
                continue;
            }
            if (v > (limit - (uint64_t)(s[i] - '0')) / 10u)
                return FW_JSON_RANGE;
            v = v * 10u + (uint64_t)(s[i] - '0');
            frac++;
        }
        if (i < len)
            return FW_JSON_RANGE; /* an exponent */
    }
    for (; frac < decimals; frac++) {
        if (v > limit / 10u)
            return FW_JSON_RANGE;
        v *= 10u;
    }
    *out = negative ? (int64_t)(0 - v) : (int64_t)v;
    return FW_JSON_OK;
}

enum fw_json_status fw_json_get_int(const struct fw_json_doc *doc, size_t tok, int64_t min,
                                    int64_t max, int64_t *out)
{
    const struct fw_json_token *t;
    int64_t v;
    enum fw_json_status st;
    if (!fw_json__valid(doc, tok) || out == NULL)
        return FW_JSON_BAD_ARG;
    t = &doc->tokens[tok];
    if (t->type != FW_JSON_NUMBER)
        return FW_JSON_WRONG_TYPE;
    st = fw_json__to_fixed(doc->text + t->start, t->end - t->start, 0, true, &v);
    if (st != FW_JSON_OK)
        return st;
    if (v < min || v > max)
        return FW_JSON_RANGE;
    *out = v;
    return FW_JSON_OK;
}

enum fw_json_status fw_json_get_fixed(const struct fw_json_doc *doc, size_t tok,
                                      unsigned decimals, int64_t *out)
{
    const struct fw_json_token *t;
    if (!fw_json__valid(doc, tok) || out == NULL || decimals > 9)
        return FW_JSON_BAD_ARG;
    t = &doc->tokens[tok];
    if (t->type != FW_JSON_NUMBER)
        return FW_JSON_WRONG_TYPE;
    return fw_json__to_fixed(doc->text + t->start, t->end - t->start, decimals, false, out);
}

enum fw_json_status fw_json_get_bool(const struct fw_json_doc *doc, size_t tok, bool *out)
{
    if (!fw_json__valid(doc, tok) || out == NULL)
        return FW_JSON_BAD_ARG;
    if (doc->tokens[tok].type != FW_JSON_TRUE && doc->tokens[tok].type != FW_JSON_FALSE)
        return FW_JSON_WRONG_TYPE;
    *out = doc->tokens[tok].type == FW_JSON_TRUE;
    return FW_JSON_OK;
}

enum fw_json_status fw_json_get_string(const struct fw_json_doc *doc, size_t tok, char *buf,
                                       size_t cap, size_t *out_len)
{
    const struct fw_json_token *t;
    const unsigned char *s;
    size_t pos, n = 0;
    if (!fw_json__valid(doc, tok) || buf == NULL || cap == 0)
        return FW_JSON_BAD_ARG;
    t = &doc->tokens[tok];
    if (t->type != FW_JSON_STRING)
        return FW_JSON_WRONG_TYPE;
    s = (const unsigned char *)doc->text;
    for (pos = t->start; pos < t->end;) {
        uint8_t ch[4];
        size_t k = fw_json__next_char(s, &pos, ch);
        if (n + k >= cap)
            return FW_JSON_NO_SPACE;
        memcpy(buf + n, ch, k);
        n += k;
    }
    buf[n] = '\0';
    if (out_len != NULL)
        *out_len = n;
    return FW_JSON_OK;
}

const char *fw_json_status_str(enum fw_json_status status)
{
    switch (status) {
    case FW_JSON_OK: return "ok";
    case FW_JSON_NO_SPACE: return "no space";
    case FW_JSON_BAD_ARG: return "bad argument";
    case FW_JSON_SYNTAX: return "syntax error";
    case FW_JSON_TOO_DEEP: return "nested too deep";
    case FW_JSON_NOT_FOUND: return "not found";
    case FW_JSON_WRONG_TYPE: return "wrong type";
    case FW_JSON_RANGE: return "out of range";
    }
    return "unknown status";
}
