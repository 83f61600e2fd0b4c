/*
 * gcp_acks — config acknowledgements read from Mosquitto's debug log (see gcp_acks.h).
 */
#include "gcp_acks.h"

#include <stdlib.h>
#include <string.h>

/* Copy s[0..n) into dst (capacity cap); false when it does not fit or is empty. */
static bool copy_span(char *dst, size_t cap, const char *s, size_t n)
{
    if (n == 0 || n >= cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

/* After "Sending PUBLISH to ": "<client> (d0, q1, r0, m3, '<topic>', ... (N bytes))". */
static bool parse_send(const char *p, struct gcp_ack_line *out)
{
    const char *open = strstr(p, " (d");
    int dup, qos, retain, mid, used = 0;
    if (!open || !copy_span(out->client, sizeof out->client, p, (size_t)(open - p)))
        return false;
    if (sscanf(open, " (d%d, q%d, r%d, m%d, '%n", &dup, &qos, &retain, &mid, &used) != 4 || used == 0)
        return false;
    const char *topic = open + used;
    const char *end = strstr(topic, "', ... (");
    if (!end || !copy_span(out->topic, sizeof out->topic, topic, (size_t)(end - topic)))
        return false;
    out->dup = dup != 0;
    out->qos = qos;
    out->mid = mid;
    return true;
}

/* After "Received PUBACK from ": "<client> (Mid: 3, RC:0)". */
static bool parse_puback(const char *p, struct gcp_ack_line *out)
{
    const char *open = strstr(p, " (Mid: ");
    if (!open || !copy_span(out->client, sizeof out->client, p, (size_t)(open - p)))
        return false;
    return sscanf(open, " (Mid: %d", &out->mid) == 1;
}

enum gcp_ack_line_kind gcp_acks_parse_line(const char *line, struct gcp_ack_line *out)
{
    static const char send[] = ": Sending PUBLISH to ", puback[] = ": Received PUBACK from ";
    const char *p;
    memset(out, 0, sizeof *out);
    if ((p = strstr(line, send)) != NULL && parse_send(p + strlen(send), out))
        out->kind = GCP_ACK_LINE_SEND;
    else if ((p = strstr(line, puback)) != NULL && parse_puback(p + strlen(puback), out))
        out->kind = GCP_ACK_LINE_PUBACK;
    else
        memset(out, 0, sizeof *out);
    return out->kind;
}

int gcp_log_follow_init(struct gcp_log_follow *lf, const char *path)
{
    memset(lf, 0, sizeof *lf);
    lf->path = strdup(path);
    return lf->path ? 0 : -1;
}

const char *gcp_log_follow_next(struct gcp_log_follow *lf)
{
    if (!lf->f) {
        if (!lf->path || !(lf->f = fopen(lf->path, "r")))
            return NULL;
        fseek(lf->f, 0, SEEK_END); /* what was there before belongs to earlier runs */
    }
    for (;;) {
        int c = getc(lf->f);
        if (c == EOF) {
            clearerr(lf->f); /* more may be appended later */
            return NULL;
        }
        if (c == '\n') {
            bool whole = !lf->skipping;
            lf->buf[lf->len] = '\0';
            lf->len = 0;
            lf->skipping = false;
            if (whole)
                return lf->buf;
            continue;
        }
        if (lf->len + 1 < sizeof lf->buf)
            lf->buf[lf->len++] = (char)c;
        else
            lf->skipping = true;
    }
}

void gcp_log_follow_close(struct gcp_log_follow *lf)
{
    if (lf->f)
        fclose(lf->f);
    free(lf->path);
    memset(lf, 0, sizeof *lf);
}
