/*
 * §6: the HTTP(S) client — AT+HTTPINIT / AT+HTTPPARA / AT+HTTPACTION /
 * AT+HTTPHEAD / AT+HTTPREAD / AT+HTTPTERM — doing real HTTP/1.1 requests
 * over TCP, or TLS for https:// URLs with the SSL context of "SSLCFG".
 *
 * The response is parsed as it arrives (Content-Length, chunked transfer
 * encoding, or a body that ends with the connection) into the response
 * cache that AT+HTTPHEAD and AT+HTTPREAD read. Methods GET, HEAD and DELETE
 * are implemented; POST and PUT (which need AT+HTTPDATA) are not and answer
 * ERROR.
 */
#include "ssl_store.h"
#include "stream.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest URL accepted by AT+HTTPPARA="URL" (the module's own limit is unconfirmed). */
#define HTTP_URL_MAX 512
/* Longest CONTENT / ACCEPT / USERDATA value (reference §6). */
#define HTTP_TEXT_MAX 256
/* Longest response header block kept for AT+HTTPHEAD. */
#define HTTP_HEADER_MAX 8192
/*
 * Response cache: the A76 manual gives 64 KB unless READMODE=1 (reference
 * §6, applicability to the SIM7600 unconfirmed). With READMODE=1 the
 * simulator allows HTTP_CACHE_MAX_READMODE; a larger body fails with 602.
 */
#define HTTP_CACHE_MAX (64 * 1024)
#define HTTP_CACHE_MAX_READMODE (16 * 1024 * 1024)
/* AT+HTTPREAD hands data out in frames of this size ("~1 KB per chunk" reported). */
#define HTTP_READ_FRAME 1024

/* Status codes of +HTTPACTION beyond HTTP (reference §6). */
enum http_err {
    HTTP_ERR_NOT_HTTP = 600,
    HTTP_ERR_NO_MEMORY = 602,
    HTTP_ERR_CLOSED = 704,
    HTTP_ERR_TIMEOUT = 705,
    HTTP_ERR_SOCKET_IO = 706,
    HTTP_ERR_NETWORK = 709,
    HTTP_ERR_SOCKET = 712,
    HTTP_ERR_DNS = 713,
    HTTP_ERR_CONNECT = 714,
    HTTP_ERR_HANDSHAKE = 715,
    HTTP_ERR_NO_NET = 717,
    HTTP_ERR_CA_MISSED = 719,
};

/* Where the response parser is. */
enum http_phase {
    HTTP_IDLE,         /* no action running */
    HTTP_CONNECTING,   /* connect and handshake, request not yet written */
    HTTP_HEADERS,      /* waiting for the end of the header block */
    HTTP_BODY_LENGTH,  /* Content-Length body */
    HTTP_BODY_EOF,     /* body ends when the server closes */
    HTTP_CHUNK_SIZE,   /* chunked: waiting for a size line */
    HTTP_CHUNK_DATA,   /* chunked: inside a chunk */
    HTTP_CHUNK_END,    /* chunked: CRLF after a chunk */
    HTTP_TRAILERS,     /* chunked: trailer lines up to the empty line */
};

/* A parsed http(s):// URL. */
struct http_url {
    bool tls;
    char host[HTTP_URL_MAX + 1];
    int port;
    char path[HTTP_URL_MAX + 1];
};

struct sim_http {
    bool initialized;
    /* AT+HTTPPARA */
    char url[HTTP_URL_MAX + 1];
    int connect_to_s, recv_to_s, ssl_ctx, readmode;
    char content[HTTP_TEXT_MAX + 1], accept[HTTP_TEXT_MAX + 1], userdata[HTTP_TEXT_MAX + 1];
    /* the action in progress */
    enum http_phase phase;
    int method;
    struct sim_stream stream;
    struct sim_buf rx;           /* received bytes not yet parsed */
    size_t remaining;            /* bytes left in a Content-Length body or a chunk */
    int64_t recv_deadline_ms;    /* RECVTO: no byte for this long ends the action */
    /* the response cache */
    bool have_response;
    int status;
    struct sim_buf head;         /* status line and headers, for AT+HTTPHEAD */
    struct sim_buf body;
    size_t read_pos;             /* where AT+HTTPREAD=<size> continues */
    uint64_t actions, failures, body_bytes;
};

static const char *const method_names[] = { "GET", "POST", "HEAD", "DELETE", "PUT" };

/* ------------------------------------------------------------- URL */

static bool parse_port(const char *text, size_t len, int *port)
{
    if (len == 0 || len > 5) {
        return false;
    }
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i])) {
            return false;
        }
        v = v * 10 + (text[i] - '0');
    }
    *port = (int)v;
    return v >= 1 && v <= 65535;
}

/* http://host[:port][/path]; no scheme means http. */
static bool parse_url(const char *url, struct http_url *out)
{
    const char *p = url;
    out->tls = false;
    if (strncasecmp(p, "https://", 8) == 0) {
        out->tls = true;
        p += 8;
    } else if (strncasecmp(p, "http://", 7) == 0) {
        p += 7;
    } else if (strstr(p, "://") != NULL) {
        return false;
    }
    size_t authority = strcspn(p, "/?#");
    const char *colon = memchr(p, ':', authority);
    size_t host_len = colon != NULL ? (size_t)(colon - p) : authority;
    out->port = out->tls ? 443 : 80;
    if (host_len == 0 || (colon != NULL && !parse_port(colon + 1, authority - host_len - 1, &out->port))) {
        return false;
    }
    memcpy(out->host, p, host_len);
    out->host[host_len] = '\0';
    const char *rest = p + authority;
    snprintf(out->path, sizeof(out->path), "%s%s", *rest == '/' ? "" : "/", rest);
    return true;
}

/* ------------------------------------------------------------- response */

static void response_forget(struct sim_http *h)
{
    h->have_response = false;
    h->status = 0;
    sim_buf_clear(&h->head);
    sim_buf_clear(&h->body);
    h->read_pos = 0;
}

static void action_stop(struct sim_http *h)
{
    sim_stream_close(&h->stream);
    sim_buf_clear(&h->rx);
    h->phase = HTTP_IDLE;
}

static void action_failed(struct sim_modem *m, int code)
{
    struct sim_http *h = m->http;
    action_stop(h);
    response_forget(h);
    h->failures++;
    sim_urc(m, "+HTTPACTION: %d,%d,0", h->method, code);
}

static void action_done(struct sim_modem *m)
{
    struct sim_http *h = m->http;
    action_stop(h);
    h->have_response = true;
    h->body_bytes += sim_buf_used(&h->body);
    sim_urc(m, "+HTTPACTION: %d,%d,%zu", h->method, h->status, sim_buf_used(&h->body));
}

static size_t cache_limit(const struct sim_http *h)
{
    return h->readmode ? HTTP_CACHE_MAX_READMODE : HTTP_CACHE_MAX;
}

/* Find "\r\n" in the unparsed bytes; returns the line length or -1. */
static long rx_line(const struct sim_http *h)
{
    const uint8_t *data = h->rx.data + h->rx.head;
    size_t used = sim_buf_used(&h->rx);
    for (size_t i = 0; i + 1 < used; i++) {
        if (data[i] == '\r' && data[i + 1] == '\n') {
            return (long)i;
        }
    }
    return -1;
}

static void rx_drop(struct sim_http *h, size_t n)
{
    h->rx.head += n;
    if (h->rx.head >= h->rx.len) {
        sim_buf_clear(&h->rx);
    }
}

/* Value of header name in the header block (NUL-terminated copy), or false. */
static bool header_value(const struct sim_http *h, const char *name, char *out, size_t cap)
{
    const char *text = (const char *)h->head.data + h->head.head;
    size_t name_len = strlen(name);
    for (const char *line = strstr(text, "\r\n"); line != NULL && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_len) == 0 && start[name_len] == ':') {
            const char *v = start + name_len + 1;
            v += strspn(v, " \t");
            size_t len = strcspn(v, "\r");
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
                len--;
            }
            snprintf(out, cap, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

/* The header block is complete: status, framing of the body. Returns an error code or 0. */
static int parse_head(struct sim_http *h)
{
    sim_buf_put(&h->head, "", 1); /* NUL for the string scans below ... */
    h->head.len--;                /* ... not part of the text */
    const char *text = (const char *)h->head.data + h->head.head;
    int minor = 0;
    if (sscanf(text, "HTTP/1.%d %d", &minor, &h->status) != 2 || h->status < 100 || h->status > 999) {
        return HTTP_ERR_NOT_HTTP;
    }
    char value[64];
    bool no_body = h->method == 2 || h->status / 100 == 1 || h->status == 204 || h->status == 304;
    if (no_body) {
        h->phase = HTTP_IDLE;
    } else if (header_value(h, "Transfer-Encoding", value, sizeof(value)) && strcasestr(value, "chunked") != NULL) {
        h->phase = HTTP_CHUNK_SIZE;
    } else if (header_value(h, "Content-Length", value, sizeof(value))) {
        char *end = NULL;
        unsigned long long len = strtoull(value, &end, 10);
        if (end == value || *end != '\0') {
            return HTTP_ERR_NOT_HTTP;
        }
        if (len > cache_limit(h)) {
            return HTTP_ERR_NO_MEMORY;
        }
        h->remaining = (size_t)len;
        h->phase = len > 0 ? HTTP_BODY_LENGTH : HTTP_IDLE;
    } else {
        h->phase = HTTP_BODY_EOF;
    }
    return 0;
}

static int take_headers(struct sim_http *h)
{
    const uint8_t *data = h->rx.data + h->rx.head;
    size_t used = sim_buf_used(&h->rx);
    for (size_t i = 0; i + 3 < used; i++) {
        if (memcmp(data + i, "\r\n\r\n", 4) == 0) {
            sim_buf_put(&h->head, data, i + 4);
            rx_drop(h, i + 4);
            return parse_head(h);
        }
    }
    return used > HTTP_HEADER_MAX ? HTTP_ERR_NOT_HTTP : 0;
}

/* Move up to h->remaining body bytes from rx to the body. Returns an error code or 0. */
static int take_body_bytes(struct sim_http *h, bool bounded)
{
    size_t n = sim_buf_used(&h->rx);
    if (bounded && n > h->remaining) {
        n = h->remaining;
    }
    if (sim_buf_used(&h->body) + n > cache_limit(h)) {
        return HTTP_ERR_NO_MEMORY;
    }
    sim_buf_put(&h->body, h->rx.data + h->rx.head, n);
    rx_drop(h, n);
    if (bounded) {
        h->remaining -= n;
    }
    return 0;
}

/* One step of the chunked decoder; returns false when it needs more bytes. */
static bool chunk_step(struct sim_http *h, int *err)
{
    long line = h->phase == HTTP_CHUNK_DATA ? 0 : rx_line(h);
    if (line < 0) {
        *err = sim_buf_used(&h->rx) > HTTP_HEADER_MAX ? HTTP_ERR_NOT_HTTP : 0;
        return false;
    }
    if (h->phase == HTTP_CHUNK_SIZE) {
        char *end = NULL;
        unsigned long size = strtoul((const char *)h->rx.data + h->rx.head, &end, 16);
        if (end == (const char *)h->rx.data + h->rx.head) {
            *err = HTTP_ERR_NOT_HTTP;
            return false;
        }
        rx_drop(h, (size_t)line + 2);
        h->remaining = size;
        h->phase = size > 0 ? HTTP_CHUNK_DATA : HTTP_TRAILERS;
        return true;
    }
    if (h->phase == HTTP_CHUNK_DATA) {
        *err = take_body_bytes(h, true);
        if (*err == 0 && h->remaining == 0) {
            h->phase = HTTP_CHUNK_END;
        }
        return *err == 0 && h->phase == HTTP_CHUNK_END;
    }
    if (h->phase == HTTP_CHUNK_END) {
        *err = line == 0 ? 0 : HTTP_ERR_NOT_HTTP;
        rx_drop(h, 2);
        h->phase = HTTP_CHUNK_SIZE;
        return *err == 0;
    }
    /* trailers: skip lines until the empty one */
    rx_drop(h, (size_t)line + 2);
    if (line == 0) {
        h->phase = HTTP_IDLE;
    }
    return line != 0;
}

/* Parse what has arrived. Returns an error code, or 0 (h->phase IDLE when complete). */
static int parse_response(struct sim_http *h)
{
    int err = 0;
    if (h->phase == HTTP_HEADERS) {
        err = take_headers(h);
    }
    if (err == 0 && h->phase == HTTP_BODY_LENGTH) {
        err = take_body_bytes(h, true);
        h->phase = err == 0 && h->remaining == 0 ? HTTP_IDLE : h->phase;
    }
    if (err == 0 && h->phase == HTTP_BODY_EOF) {
        err = take_body_bytes(h, false);
    }
    while (err == 0 && h->phase >= HTTP_CHUNK_SIZE && chunk_step(h, &err)) {
    }
    return err;
}

/* ------------------------------------------------------------- action */

static int open_error_code(enum sim_stream_error error)
{
    switch (error) {
    case SIM_STREAM_DNS: return HTTP_ERR_DNS;
    case SIM_STREAM_SOCKET: return HTTP_ERR_SOCKET;
    case SIM_STREAM_CONNECT: return HTTP_ERR_CONNECT;
    case SIM_STREAM_TIMEOUT: return HTTP_ERR_TIMEOUT;
    case SIM_STREAM_NO_CERT: return HTTP_ERR_CA_MISSED;
    case SIM_STREAM_TLS_SETUP:
    case SIM_STREAM_HANDSHAKE: return HTTP_ERR_HANDSHAKE;
    case SIM_STREAM_PEER_CLOSED: return HTTP_ERR_CLOSED;
    default: return HTTP_ERR_SOCKET_IO;
    }
}

/*
 * USERDATA holds extra header lines. A command line cannot carry a CR, so
 * the two-character sequences \r and \n written in it stand for CR and LF
 * (the way the A76 manual's examples separate several headers; unconfirmed
 * on the SIM7600). The block always ends with CRLF.
 */
static void put_userdata(struct sim_buf *req, const char *text)
{
    size_t start = req->len;
    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '\\' && (p[1] == 'r' || p[1] == 'n')) {
            sim_buf_put(req, p[1] == 'r' ? "\r" : "\n", 1);
            p++;
        } else {
            sim_buf_put(req, p, 1);
        }
    }
    size_t added = req->len - start;
    if (added < 2 || memcmp(req->data + req->len - 2, "\r\n", 2) != 0) {
        sim_buf_put(req, "\r\n", 2);
    }
}

static void write_request(struct sim_modem *m, const struct http_url *url)
{
    struct sim_http *h = m->http;
    struct sim_buf req = { 0 };
    bool default_port = url->port == (url->tls ? 443 : 80);
    sim_buf_printf(&req, "%s %s HTTP/1.1\r\n", method_names[h->method], url->path);
    if (default_port) {
        sim_buf_printf(&req, "Host: %s\r\n", url->host);
    } else {
        sim_buf_printf(&req, "Host: %s:%d\r\n", url->host, url->port);
    }
    sim_buf_printf(&req, "User-Agent: SIMCOM_MODULE\r\nAccept: %s\r\n", h->accept);
    if (h->userdata[0] != '\0') {
        put_userdata(&req, h->userdata);
    }
    sim_buf_put(&req, "\r\n", 2);
    sim_stream_write(&h->stream, req.data + req.head, sim_buf_used(&req));
    sim_buf_free(&req);
    h->phase = HTTP_HEADERS;
    h->recv_deadline_ms = sim_now_ms(m) + (int64_t)h->recv_to_s * 1000;
}

/* Read everything the socket has into rx; returns false when the connection ended (eof: by the peer). */
static bool receive_all(struct sim_modem *m, bool *eof)
{
    struct sim_http *h = m->http;
    uint8_t buf[16384];
    *eof = false;
    for (;;) {
        ssize_t n = sim_stream_read(&h->stream, buf, sizeof(buf));
        if (n == 0) {
            return true;
        }
        if (n < 0) {
            *eof = h->stream.error == SIM_STREAM_PEER_CLOSED;
            return false;
        }
        sim_buf_put(&h->rx, buf, (size_t)n);
        h->recv_deadline_ms = sim_now_ms(m) + (int64_t)h->recv_to_s * 1000;
    }
}

static void action_service(struct sim_modem *m)
{
    struct sim_http *h = m->http;
    if (h->phase == HTTP_IDLE) {
        return;
    }
    sim_stream_step(&h->stream, m);
    if (h->phase == HTTP_CONNECTING) {
        if (h->stream.state == SIM_STREAM_CLOSED) {
            action_failed(m, open_error_code(h->stream.error));
            return;
        }
        if (h->stream.state != SIM_STREAM_OPEN) {
            return;
        }
        struct http_url url;
        parse_url(h->url, &url);
        write_request(m, &url);
    }
    bool eof = false;
    bool alive = receive_all(m, &eof);
    int err = parse_response(h);
    if (err != 0) {
        action_failed(m, err);
    } else if (h->phase == HTTP_IDLE || (eof && h->phase == HTTP_BODY_EOF)) {
        action_done(m);
    } else if (!alive) {
        action_failed(m, eof ? HTTP_ERR_CLOSED : open_error_code(h->stream.error));
    } else if (sim_now_ms(m) >= h->recv_deadline_ms) {
        action_failed(m, HTTP_ERR_TIMEOUT);
    }
}

static enum sim_at_status action_start(struct sim_modem *m, int method)
{
    struct sim_http *h = m->http;
    struct http_url url;
    if (h->url[0] == '\0' || !parse_url(h->url, &url)) {
        return SIM_AT_ERROR;
    }
    response_forget(h);
    h->method = method;
    h->actions++;
    h->phase = HTTP_CONNECTING;
    if (!sim_network_ready(m)) {
        action_failed(m, HTTP_ERR_NO_NET);
        return SIM_AT_OK;
    }
    sim_stream_open(&h->stream, m, url.host, url.port, url.tls ? h->ssl_ctx : -1, (int64_t)h->connect_to_s * 1000);
    action_service(m); /* immediate failures (DNS, missing CA) */
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- commands */

static void para_defaults(struct sim_http *h)
{
    h->url[0] = '\0';
    h->connect_to_s = 120;
    h->recv_to_s = 20;
    h->ssl_ctx = 0;
    h->readmode = 0;
    snprintf(h->content, sizeof(h->content), "text/plain");
    snprintf(h->accept, sizeof(h->accept), "*/*");
    h->userdata[0] = '\0';
}

static enum sim_at_status cmd_httpinit(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (m->http->initialized || !sim_network_ready(m)) {
        return SIM_AT_ERROR;
    }
    para_defaults(m->http);
    response_forget(m->http);
    m->http->initialized = true;
    return SIM_AT_OK;
}

static void http_reset(struct sim_http *h)
{
    action_stop(h);
    response_forget(h);
    h->initialized = false;
}

static enum sim_at_status cmd_httpterm(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (!m->http->initialized) {
        return SIM_AT_ERROR;
    }
    http_reset(m->http);
    return SIM_AT_OK;
}

static bool para_number(const struct sim_at_cmd *cmd, long min, long max, int *out)
{
    long v = 0;
    if (!sim_arg_int(cmd, 1, min, max, &v)) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool para_text(const struct sim_at_cmd *cmd, size_t max, char *out, size_t cap)
{
    const char *text = NULL;
    if (!sim_arg_str(cmd, 1, 0, max, false, &text)) {
        return false;
    }
    snprintf(out, cap, "%s", text);
    return true;
}

static bool para_apply(struct sim_http *h, const char *key, const struct sim_at_cmd *cmd)
{
    if (strcasecmp(key, "URL") == 0) {
        struct http_url url;
        const char *text = NULL;
        if (!sim_arg_str(cmd, 1, 1, HTTP_URL_MAX, false, &text) || !parse_url(text, &url)) {
            return false;
        }
        snprintf(h->url, sizeof(h->url), "%s", text);
        return true;
    }
    if (strcasecmp(key, "CONNECTTO") == 0) {
        return para_number(cmd, 20, 120, &h->connect_to_s);
    }
    if (strcasecmp(key, "RECVTO") == 0) {
        return para_number(cmd, 2, 120, &h->recv_to_s);
    }
    if (strcasecmp(key, "SSLCFG") == 0) {
        return para_number(cmd, 0, SIM_SSL_CONTEXTS - 1, &h->ssl_ctx);
    }
    if (strcasecmp(key, "READMODE") == 0) {
        return para_number(cmd, 0, 1, &h->readmode);
    }
    if (strcasecmp(key, "CONTENT") == 0) {
        return para_text(cmd, HTTP_TEXT_MAX, h->content, sizeof(h->content));
    }
    if (strcasecmp(key, "ACCEPT") == 0) {
        return para_text(cmd, HTTP_TEXT_MAX, h->accept, sizeof(h->accept));
    }
    if (strcasecmp(key, "USERDATA") == 0) {
        return para_text(cmd, HTTP_TEXT_MAX, h->userdata, sizeof(h->userdata));
    }
    return false;
}

static enum sim_at_status cmd_httppara(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+HTTPPARA: \"URL\",(1-%d)", HTTP_URL_MAX);
        sim_info(m, "+HTTPPARA: \"CONNECTTO\",(20-120)");
        sim_info(m, "+HTTPPARA: \"RECVTO\",(2-120)");
        sim_info(m, "+HTTPPARA: \"CONTENT\",(1-%d)", HTTP_TEXT_MAX);
        sim_info(m, "+HTTPPARA: \"ACCEPT\",(1-%d)", HTTP_TEXT_MAX);
        sim_info(m, "+HTTPPARA: \"SSLCFG\",(0-9)");
        sim_info(m, "+HTTPPARA: \"USERDATA\",(1-%d)", HTTP_TEXT_MAX);
        sim_info(m, "+HTTPPARA: \"READMODE\",(0-1)");
        return SIM_AT_OK;
    }
    const char *key = NULL;
    if (!m->http->initialized || cmd->argc != 2 || !sim_arg_str(cmd, 0, 1, 16, false, &key)) {
        return SIM_AT_ERROR;
    }
    return para_apply(m->http, key, cmd) ? SIM_AT_OK : SIM_AT_ERROR;
}

static enum sim_at_status cmd_httpaction(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+HTTPACTION: (0-4)");
        return SIM_AT_OK;
    }
    long method = 0;
    if (cmd->argc != 1 || !sim_arg_int(cmd, 0, 0, 4, &method)) {
        return SIM_AT_ERROR;
    }
    if (method == 1 || method == 4) {
        return SIM_AT_ERROR; /* POST and PUT need AT+HTTPDATA: not implemented */
    }
    if (!m->http->initialized || m->http->phase != HTTP_IDLE) {
        return SIM_AT_ERROR;
    }
    return action_start(m, (int)method);
}

static enum sim_at_status cmd_httphead(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_http *h = m->http;
    if (!h->initialized || !h->have_response) {
        return SIM_AT_ERROR;
    }
    sim_info(m, "+HTTPHEAD: DATA,%zu", sim_buf_used(&h->head));
    sim_info_raw(m, h->head.data + h->head.head, sim_buf_used(&h->head));
    return SIM_AT_OK;
}

/* Frames of body[offset, offset+size) after the OK, then `+HTTPREAD: 0`. */
static void read_frames(struct sim_modem *m, size_t offset, size_t size)
{
    struct sim_http *h = m->http;
    const uint8_t *body = h->body.data + h->body.head;
    for (size_t done = 0; done < size;) {
        size_t n = size - done < HTTP_READ_FRAME ? size - done : HTTP_READ_FRAME;
        sim_after_final_line(m, "+HTTPREAD: DATA,%zu", n);
        sim_after_final_raw(m, body + offset + done, n);
        done += n;
    }
    sim_after_final_line(m, "+HTTPREAD: 0");
}

static enum sim_at_status cmd_httpread(struct sim_modem *m, const struct sim_at_cmd *cmd)
{
    struct sim_http *h = m->http;
    if (cmd->kind == SIM_AT_TEST) {
        sim_info(m, "+HTTPREAD: (0-%d),(1-%d)", HTTP_CACHE_MAX_READMODE - 1, HTTP_CACHE_MAX_READMODE);
        return SIM_AT_OK;
    }
    if (!h->initialized || !h->have_response) {
        return SIM_AT_ERROR;
    }
    size_t len = sim_buf_used(&h->body);
    if (cmd->kind == SIM_AT_READ) {
        sim_info(m, "+HTTPREAD: LEN,%zu", len);
        return SIM_AT_OK;
    }
    long offset = (long)h->read_pos;
    long size = 0;
    bool ok = cmd->argc == 1 ? sim_arg_int(cmd, 0, 1, HTTP_CACHE_MAX_READMODE, &size)
                             : cmd->argc == 2 && sim_arg_int(cmd, 0, 0, HTTP_CACHE_MAX_READMODE, &offset) &&
                                   sim_arg_int(cmd, 1, 1, HTTP_CACHE_MAX_READMODE, &size);
    if (!ok || (size_t)offset >= len) {
        return SIM_AT_ERROR;
    }
    size_t n = (size_t)size < len - (size_t)offset ? (size_t)size : len - (size_t)offset;
    read_frames(m, (size_t)offset, n);
    h->read_pos = (size_t)offset + n;
    return SIM_AT_OK;
}

/* ------------------------------------------------------------- group */

static int http_init(struct sim_modem *m)
{
    m->http = calloc(1, sizeof(*m->http));
    if (m->http == NULL) {
        return -1;
    }
    sim_stream_init(&m->http->stream);
    para_defaults(m->http);
    return 0;
}

static void http_fini(struct sim_modem *m)
{
    if (m->http == NULL) {
        return;
    }
    sim_stream_close(&m->http->stream);
    sim_buf_free(&m->http->rx);
    sim_buf_free(&m->http->head);
    sim_buf_free(&m->http->body);
    free(m->http);
    m->http = NULL;
}

static void http_prepare(struct sim_modem *m, struct sim_pollset *ps)
{
    struct sim_http *h = m->http;
    if (h->phase == HTTP_IDLE) {
        return;
    }
    short events = sim_stream_events(&h->stream, true);
    if (events != 0) {
        sim_pollset_add(ps, h->stream.fd, events);
    }
    int64_t deadline = sim_stream_deadline(&h->stream, true);
    if (deadline != 0) {
        sim_pollset_deadline(m, ps, deadline);
    }
    if (h->phase != HTTP_CONNECTING) {
        sim_pollset_deadline(m, ps, h->recv_deadline_ms);
    }
}

static void http_dispatch(struct sim_modem *m, const struct sim_pollset *ps)
{
    action_service(m);
}

/*
 * Network loss: +HTTP_NONET_EVENT (reference §6) and a running action ends
 * with 717; the HTTP service stays initialised. A reset forgets everything.
 */
static void http_teardown(struct sim_modem *m, enum sim_teardown why)
{
    struct sim_http *h = m->http;
    if (why == SIM_DOWN_RESET) {
        http_reset(h);
        para_defaults(h);
        return;
    }
    if (!h->initialized) {
        return;
    }
    sim_urc(m, "+HTTP_NONET_EVENT");
    if (h->phase != HTTP_IDLE) {
        action_failed(m, HTTP_ERR_NO_NET);
    }
}

static void http_stats(struct sim_modem *m, struct sim_buf *b)
{
    sim_buf_printf(b, ",\"http_actions\":%llu,\"http_failures\":%llu,\"http_body_bytes\":%llu",
                   (unsigned long long)m->http->actions, (unsigned long long)m->http->failures,
                   (unsigned long long)m->http->body_bytes);
}

static const struct sim_cmd http_cmds[] = {
    { "+HTTPINIT", SIM_FORM_EXEC, cmd_httpinit, 100, "start the HTTP(S) service" },
    { "+HTTPPARA", SIM_FORM_SET | SIM_FORM_TEST, cmd_httppara, 5, "HTTP parameters (URL, CONNECTTO, RECVTO, SSLCFG, USERDATA, ...)" },
    { "+HTTPACTION", SIM_FORM_SET | SIM_FORM_TEST, cmd_httpaction, 20, "run a GET/HEAD/DELETE request (+HTTPACTION URC)" },
    { "+HTTPHEAD", SIM_FORM_EXEC, cmd_httphead, 10, "read the response headers" },
    { "+HTTPREAD", SIM_FORM_SET | SIM_FORM_READ | SIM_FORM_TEST, cmd_httpread, 10, "read the cached response body" },
    { "+HTTPTERM", SIM_FORM_EXEC, cmd_httpterm, 50, "stop the HTTP(S) service" },
};

const struct sim_group sim_group_http = {
    .name = "http",
    .cmds = http_cmds,
    .cmd_count = sizeof(http_cmds) / sizeof(http_cmds[0]),
    .init = http_init,
    .fini = http_fini,
    .prepare = http_prepare,
    .dispatch = http_dispatch,
    .teardown = http_teardown,
    .stats = http_stats,
};
