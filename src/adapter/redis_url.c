/* adapter/redis_url.c - owns the parsing of redis:// URLs (redis_url.h):
 * redis://[[user]:password@]host[:port][/db], an IPv6 host in brackets.
 */
#include "adapter/redis_url.h"

#include "socketio/common.h"

#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A decimal in [lo, hi] filling [s, e) exactly; -1 when it is not one. */
static long parse_decimal(const char *s, const char *e, long lo, long hi) {
    if (s == e || e - s > 9) return -1;
    long v = 0;
    for (const char *p = s; p < e; p++) {
        if (*p < '0' || *p > '9') return -1;
        v = v * 10 + (*p - '0');
    }
    return v >= lo && v <= hi ? v : -1;
}

void redis_url_free(redis_url *u) {
    free(u->host);
    free(u->user);
    free(u->password);
    memset(u, 0, sizeof *u);
}

int redis_url_parse(const char *url, redis_url *out) {
    memset(out, 0, sizeof *out);
    out->port = 6379;
    static const char scheme[] = "redis://";
    if (!url || strncmp(url, scheme, sizeof scheme - 1) != 0) return SIO_EINVAL;
    const char *p = url + sizeof scheme - 1;
    const char *end = p + strlen(p);
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *auth_end = NULL;
    for (const char *q = p; q < (slash ? slash : end); q++)
        if (*q == '@') auth_end = q; /* the last '@': a password may hold one */
    if (auth_end) {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        if (!colon) return SIO_EINVAL; /* user without a password */
        if (colon > p && !(out->user = dup_range(p, (size_t)(colon - p)))) goto oom;
        if (!(out->password = dup_range(colon + 1, (size_t)(auth_end - colon - 1)))) goto oom;
        p = auth_end + 1;
    }
    const char *host_end = slash ? slash : end;
    const char *hs = p, *he, *port_at = NULL;
    if (*p == '[') { /* [IPv6] */
        const char *close = memchr(p, ']', (size_t)(host_end - p));
        if (!close) goto bad;
        hs = p + 1;
        he = close;
        if (close + 1 < host_end) {
            if (close[1] != ':') goto bad;
            port_at = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(host_end - p));
        he = colon ? colon : host_end;
        if (colon) port_at = colon + 1;
    }
    if (he == hs) goto bad;
    for (const char *q = hs; q < he; q++)
        if ((unsigned char)*q <= ' ' || *q == '@' || *q == '?' || *q == '#') goto bad;
    if (port_at) {
        long port = parse_decimal(port_at, host_end, 1, 65535);
        if (port < 0) goto bad;
        out->port = (int)port;
    }
    if (slash && slash + 1 < end) {
        long db = parse_decimal(slash + 1, end, 0, 1000000);
        if (db < 0) goto bad;
        out->db = (int)db;
    }
    if (!(out->host = dup_range(hs, (size_t)(he - hs)))) goto oom;
    return 0;
bad:
    redis_url_free(out);
    return SIO_EINVAL;
oom:
    redis_url_free(out);
    return SIO_ENOMEM;
}
