/* tools/sio-bench/worker.c - one worker process: a libuv loop holding its
 * share of the client connections and driving one scenario over them.
 *
 * The client side of the protocols is written here, for speed rather than
 * generality: an HTTP/1.1 upgrade (or the long-polling handshake), a parser
 * of the unmasked frames a server sends, Engine.IO v4 (open, ping, message)
 * and just enough of Socket.IO v5 (namespace connect, EVENT, ACK). The data
 * string of every message carries "~<seq>~<send time>~" so that a reply or a
 * delivery gives its latency without any bookkeeping per message.
 *
 * Speed: the loop reads into one shared 64 KiB block and parses in place;
 * only a frame cut by the end of a read is copied into the connection. Frames
 * are composed (and masked) straight into the connection's output buffer, and
 * a uv_check handle writes every connection's buffer once per loop turn: one
 * write() per connection per turn however many messages it holds.
 */
#include "bench.h"
#include "sysstat.h"
#include "util/buf.h"
#include "util/decimal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define SLAB_SIZE 65536
#define MAX_FRAME (16u << 20)
#define TICK_MS 50

enum cstate {
    C_FREE,       /* not in use, or closed */
    C_CONNECTING, /* TCP connect */
    C_HTTP,       /* waiting for the 101, or a polling response */
    C_EIO_OPEN,   /* websocket up, waiting for the Engine.IO open packet */
    C_NSP,        /* waiting for the namespace CONNECT answer */
    C_READY,
    C_CLOSING, /* uv_close called */
};

enum pstep { P_OPEN, P_POST, P_GET };

enum phase { PH_SETUP, PH_WARMUP, PH_READY, PH_MEASURE, PH_DONE, PH_QUIT };

typedef struct worker worker;
typedef struct bconn bconn;

struct bconn {
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_write_t wreq;
    worker *w;
    bconn *dirty_next;
    util_buf in;   /* unparsed bytes (an incomplete frame or HTTP response) */
    util_buf out;  /* composed, not yet written */
    util_buf wbuf; /* handed to uv_write */
    util_buf frag; /* a fragmented message being collected */
    uint64_t t_start;
    uint64_t next_id;
    uint32_t inflight;
    uint32_t gets; /* polling: GET requests for the CONNECT answer */
    uint32_t woff; /* bytes of wbuf that try_write already sent */
    uint8_t state, writing, dirty, frag_op, pstep, sender;
    char sid[40];
};

typedef struct bslot {
    uint64_t seq;
    uint64_t t_sent;
    uint32_t remaining;
    uint32_t sender;
} bslot;

struct worker {
    uv_loop_t *loop;
    const bench_opts *o;
    bconn *conns;
    uint32_t nconns;
    /* connections */
    uint32_t started, ready, failed, open, active;
    uint32_t src_rr;
    struct sockaddr_in dst;
    bconn *dirty;
    uv_check_t flush;
    uv_timer_t tick;
    uv_timer_t rate_timer;
    uv_poll_t ctl;
    int ctl_in, ctl_out;
    int phase;
    int stopping; /* no new requests, broadcasts or cycles */
    int churning;
    uint64_t now;
    uint64_t t_phase, t_go, t_last, cpu0, next_progress, deadline;
    bstats st;
    char error[128];
    uint32_t rng;
    /* message templates */
    char nsp_prefix[128]; /* "/chat," or "" for "/" */
    size_t nsp_len;
    char *filler; /* "x" * payload, then the closing of the message */
    /* echo rate mode */
    double rate;
    uint64_t t_rate0, issued;
    uint32_t rr;
    /* broadcast */
    bslot *ring;
    uint64_t ring_mask, seq;
    uint32_t nsenders;
    char http_head[512];
    size_t http_head_len;
    uint64_t ping_count;
};

static uint8_t slab[SLAB_SIZE];
static const char hexd[] = "0123456789abcdef";

static void conn_start(worker *w, bconn *c);
static void conn_close(bconn *c);
static void conn_fail(bconn *c, const char *why);
static void on_ready(bconn *c);
static void setup_check(worker *w);
static void measure_end(worker *w);
static void send_msg(worker *w, char type);

/* ---- small helpers ----------------------------------------------------------------- */

static uint32_t rnd(worker *w) {
    uint32_t x = w->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return w->rng = x;
}

static void note_error(worker *w, const char *fmt, const char *arg) {
    if (w->error[0]) return;
    snprintf(w->error, sizeof w->error, fmt, arg);
}

static char *put_hex(char *p, uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = hexd[v & 15];
        v >>= 4;
    }
    return p + digits;
}

static char *put_dec(char *p, uint64_t v) {
    return p + util_decimal(p, v);
}

/* Parses `digits` hex characters; sets *ok to 0 on a non-hex character. */
static uint64_t get_hex(const char *p, const char *end, int digits, int *ok) {
    uint64_t v = 0;
    if (end - p < digits) {
        *ok = 0;
        return 0;
    }
    for (int i = 0; i < digits; i++) {
        char ch = p[i];
        unsigned d;
        if (ch >= '0' && ch <= '9')
            d = (unsigned)(ch - '0');
        else if (ch >= 'a' && ch <= 'f')
            d = (unsigned)(ch - 'a' + 10);
        else {
            *ok = 0;
            return 0;
        }
        v = v << 4 | d;
    }
    return v;
}

static const char *memmem_str(const char *hay, size_t len, const char *needle) {
    return memmem(hay, len, needle, strlen(needle));
}

/* ---- output ------------------------------------------------------------------------- */

static void conn_dirty(bconn *c) {
    if (c->dirty) return;
    c->dirty = 1;
    c->dirty_next = c->w->dirty;
    c->w->dirty = c;
}

static void on_written(uv_write_t *req, int status);

static void conn_flush(bconn *c) {
    if (c->writing || !c->out.len || c->state == C_FREE || c->state == C_CLOSING ||
        c->state == C_CONNECTING)
        return;
    worker *w = c->w;
    uv_buf_t b = uv_buf_init(c->out.data, (unsigned)c->out.len);
    int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (n == (int)c->out.len) {
        w->st.bytes_out += (uint64_t)n;
        c->out.len = 0;
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        conn_fail(c, uv_strerror(n));
        return;
    }
    if (n < 0) n = 0;
    w->st.bytes_out += (uint64_t)n;
    /* the rest goes with uv_write from wbuf; out takes wbuf's (empty) storage */
    util_buf t = c->wbuf;
    c->wbuf = c->out;
    c->out = t;
    c->out.len = 0;
    c->woff = (uint32_t)n;
    b = uv_buf_init(c->wbuf.data + n, (unsigned)(c->wbuf.len - (size_t)n));
    c->writing = 1;
    int r = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (r) {
        c->writing = 0;
        conn_fail(c, uv_strerror(r));
    }
}

static void on_written(uv_write_t *req, int status) {
    bconn *c = (bconn *)((char *)req - offsetof(bconn, wreq));
    c->writing = 0;
    if (status == 0) c->w->st.bytes_out += c->wbuf.len - c->woff;
    c->wbuf.len = 0;
    if (c->state == C_CLOSING || c->state == C_FREE) return;
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    if (c->out.len) conn_dirty(c);
}

static void flush_all(uv_check_t *h) {
    worker *w = h->data;
    bconn *c;
    while ((c = w->dirty) != NULL) {
        w->dirty = c->dirty_next;
        c->dirty = 0;
        conn_flush(c);
    }
}

static void append_raw(bconn *c, const void *data, size_t len) {
    if (util_buf_append(&c->out, data, len)) {
        conn_fail(c, "out of memory");
        return;
    }
    conn_dirty(c);
}

/* Appends one masked client frame holding data. */
static void ws_put(bconn *c, int opcode, const char *data, size_t len) {
    if (util_buf_reserve(&c->out, len + 14)) {
        conn_fail(c, "out of memory");
        return;
    }
    uint8_t *p = (uint8_t *)c->out.data + c->out.len;
    size_t h;
    p[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        p[1] = (uint8_t)(0x80 | len);
        h = 2;
    } else if (len < 65536) {
        p[1] = 0x80 | 126;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        h = 4;
    } else {
        p[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) p[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    uint32_t key = rnd(c->w);
    memcpy(p + h, &key, 4);
    h += 4;
    uint8_t *dst = p + h;
    uint64_t k8 = (uint64_t)key | (uint64_t)key << 32;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        v ^= k8;
        memcpy(dst + i, &v, 8);
    }
    const uint8_t *kb = (const uint8_t *)&key;
    for (; i < len; i++) dst[i] = (uint8_t)data[i] ^ kb[i & 3];
    c->out.len += h + len;
    conn_dirty(c);
}

/* ---- messages the scenarios send ----------------------------------------------------- */

/* The data string "~<seq 8 hex>~<time 16 hex>~xxxx", `payload` bytes long at least. */
static char *put_data(worker *w, char *p, uint64_t seq, uint64_t t) {
    char *start = p;
    *p++ = '~';
    p = put_hex(p, seq & 0xffffffffu, 8);
    *p++ = '~';
    p = put_hex(p, t, 16);
    *p++ = '~';
    size_t have = (size_t)(p - start);
    if (have < w->o->payload) {
        memcpy(p, w->filler, w->o->payload - have);
        p += w->o->payload - have;
    }
    return p;
}

static void send_echo(bconn *c, uint64_t t) {
    worker *w = c->w;
    char *buf = alloca(w->o->payload + 256);
    char *p = buf;
    if (w->o->raw) {
        p = put_data(w, p, c->next_id++, t);
    } else {
        memcpy(p, "42", 2);
        p += 2;
        memcpy(p, w->nsp_prefix, w->nsp_len);
        p += w->nsp_len;
        p = put_dec(p, c->next_id++);
        memcpy(p, "[\"echo\",\"", 9);
        p += 9;
        p = put_data(w, p, 0, t);
        memcpy(p, "\"]", 2);
        p += 2;
    }
    c->inflight++;
    w->st.sent++;
    ws_put(c, 1, buf, (size_t)(p - buf));
}

static void send_broadcast(bconn *c, uint64_t t) {
    worker *w = c->w;
    uint64_t seq = w->seq++;
    bslot *s = &w->ring[seq & w->ring_mask];
    if (s->remaining) { /* an old broadcast still in the slot: give up on it */
        w->st.lost += s->remaining;
        w->conns[s->sender].inflight--;
    }
    s->seq = seq;
    s->t_sent = t;
    s->remaining = w->active;
    s->sender = (uint32_t)(c - w->conns);
    char *buf = alloca(w->o->payload + 256);
    char *p = buf;
    if (w->o->raw) {
        *p++ = 'B';
        p = put_data(w, p, seq, t);
    } else {
        memcpy(p, "42", 2);
        p += 2;
        memcpy(p, w->nsp_prefix, w->nsp_len);
        p += w->nsp_len;
        memcpy(p, "[\"msg_to_server\",\"", 18);
        p += 18;
        p = put_data(w, p, seq, t);
        memcpy(p, "\"]", 2);
        p += 2;
    }
    c->inflight++;
    w->st.sent++;
    ws_put(c, 1, buf, (size_t)(p - buf));
}

/* Fills a sender's window (or a client's, in echo) with fresh messages. */
static void top_up(bconn *c, uint64_t t) {
    worker *w = c->w;
    if (w->stopping || c->state != C_READY) return;
    if (w->o->sc == SC_ECHO) {
        if (w->rate > 0) return;
        while (c->inflight < w->o->window) send_echo(c, t);
    } else if (w->o->sc == SC_BROADCAST && c->sender) {
        while (c->inflight < w->o->window) send_broadcast(c, t);
    }
}

/* A data string came back: its latency, and for a broadcast, its slot. */
static void on_data(bconn *c, const char *data, size_t len) {
    worker *w = c->w;
    const char *t = memchr(data, '~', len);
    if (!t) return;
    const char *end = data + len;
    int ok = 1;
    uint64_t seq = get_hex(t + 1, end, 8, &ok);
    uint64_t ts = get_hex(t + 10, end, 16, &ok);
    if (!ok) {
        w->st.errors++;
        note_error(w, "%s", "a reply without its ~seq~time~ marker");
        return;
    }
    uint64_t lat = w->now > ts ? w->now - ts : 0;
    hist_add(&w->st.lat, lat);
    w->st.ops++;
    if (w->o->sc == SC_ECHO) {
        if (c->inflight) c->inflight--;
        top_up(c, w->now);
    } else if (w->o->sc == SC_BROADCAST) {
        bslot *s = &w->ring[seq & w->ring_mask];
        if (s->seq == seq && s->remaining && --s->remaining == 0) {
            bconn *sender = &w->conns[s->sender];
            if (sender->inflight) sender->inflight--;
            top_up(sender, w->now);
        }
    }
}

/* ---- incoming: Engine.IO / Socket.IO messages ----------------------------------------------- */

static void on_sio(bconn *c, const char *m, size_t len) {
    worker *w = c->w;
    if (len < 1) return;
    char type = m[0];
    const char *p = m + 1, *end = m + len;
    /* namespace */
    if (p < end && *p == '/') {
        if ((size_t)(end - p) < w->nsp_len || memcmp(p, w->nsp_prefix, w->nsp_len) != 0) return;
        p += w->nsp_len;
    } else if (w->nsp_len) {
        return; /* another namespace ("/"), not ours */
    }
    switch (type) {
    case '0':
        if (c->state == C_NSP) on_ready(c);
        break;
    case '2': /* EVENT: msg_to_client in broadcast */
        if (c->state == C_READY) on_data(c, p, (size_t)(end - p));
        break;
    case '3': /* ACK */
        if (c->state == C_READY) on_data(c, p, (size_t)(end - p));
        break;
    case '4':
        w->st.errors++;
        note_error(w, "namespace refused: %.60s", m);
        conn_close(c);
        break;
    case '1':
        conn_fail(c, "server disconnected the namespace");
        break;
    default:
        break;
    }
}

static void on_eio(bconn *c, const char *m, size_t len) {
    worker *w = c->w;
    if (!len) return;
    switch (m[0]) {
    case '0': /* open */
        if (c->state == C_EIO_OPEN) {
            char buf[160];
            memcpy(buf, "40", 2);
            memcpy(buf + 2, w->nsp_prefix, w->nsp_len);
            ws_put(c, 1, buf, 2 + w->nsp_len);
            c->state = C_NSP;
        }
        break;
    case '2':
        w->st.pings++;
        ws_put(c, 1, "3", 1);
        break;
    case '4':
        on_sio(c, m + 1, len - 1);
        break;
    case '1':
        conn_fail(c, "server closed the Engine.IO session");
        break;
    default:
        break;
    }
}

static void on_message(bconn *c, int opcode, const char *m, size_t len) {
    if (opcode != 1) return; /* binary: not in these scenarios */
    if (c->w->o->raw) {
        if (c->state == C_READY) on_data(c, m, len);
    } else {
        on_eio(c, m, len);
    }
}

/* Parses frames from data; returns the bytes used (a whole number of frames). */
static size_t parse_frames(bconn *c, char *data, size_t len) {
    size_t off = 0;
    while (len - off >= 2 && c->state != C_CLOSING) {
        uint8_t *p = (uint8_t *)data + off;
        size_t avail = len - off, h = 2;
        uint64_t plen = p[1] & 0x7f;
        int masked = p[1] & 0x80;
        if (plen == 126) {
            if (avail < 4) break;
            plen = (uint64_t)p[2] << 8 | p[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = plen << 8 | p[2 + i];
            h = 10;
        }
        if (plen > MAX_FRAME) {
            conn_fail(c, "frame too big");
            return len;
        }
        if (masked) h += 4;
        if (avail < h + plen) break;
        char *payload = (char *)p + h;
        if (masked)
            for (uint64_t i = 0; i < plen; i++) payload[i] ^= (char)p[h - 4 + (i & 3)];
        int fin = p[0] & 0x80, op = p[0] & 0x0f;
        off += h + (size_t)plen;
        switch (op) {
        case 0x0: /* continuation */
            if (util_buf_append(&c->frag, payload, (size_t)plen)) return len;
            if (fin) {
                on_message(c, c->frag_op, c->frag.data, c->frag.len);
                c->frag.len = 0;
            }
            break;
        case 0x1:
        case 0x2:
            if (fin) {
                on_message(c, op, payload, (size_t)plen);
            } else {
                c->frag_op = (uint8_t)op;
                c->frag.len = 0;
                if (util_buf_append(&c->frag, payload, (size_t)plen)) return len;
            }
            break;
        case 0x8:
            conn_fail(c, "the server closed the WebSocket");
            return len;
        case 0x9:
            ws_put(c, 0xA, payload, (size_t)plen);
            break;
        default:
            break;
        }
    }
    return off;
}

/* ---- incoming: HTTP (the upgrade answer, polling responses) -----------------------------------
 */

static void http_request(bconn *c, const char *method, const char *body, size_t blen) {
    worker *w = c->w;
    char head[1024];
    int n;
    if (body)
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %zu\r\n\r\n",
                     method, w->o->path, c->sid, w->o->host, w->o->port, blen);
    else if (c->sid[0])
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", method,
                     w->o->path, c->sid, w->o->host, w->o->port);
    else
        n = snprintf(head, sizeof head,
                     "%s %s?EIO=4&transport=polling HTTP/1.1\r\nHost: %s:%d\r\n\r\n", method,
                     w->o->path, w->o->host, w->o->port);
    append_raw(c, head, (size_t)n);
    if (body) append_raw(c, body, blen);
}

/* One complete polling response body. */
static void polling_body(bconn *c, int status, const char *b, size_t len) {
    worker *w = c->w;
    if (status != 200) {
        char why[64];
        snprintf(why, sizeof why, "polling request answered %d", status);
        conn_fail(c, why);
        return;
    }
    switch (c->pstep) {
    case P_OPEN: {
        const char *s = memmem_str(b, len, "\"sid\":\"");
        if (len < 1 || b[0] != '0' || !s) {
            conn_fail(c, "no Engine.IO open packet");
            return;
        }
        s += 7;
        size_t i = 0;
        while (s + i < b + len && s[i] != '"' && i < sizeof c->sid - 1) {
            c->sid[i] = s[i];
            i++;
        }
        c->sid[i] = '\0';
        char pkt[160];
        memcpy(pkt, "40", 2);
        memcpy(pkt + 2, w->nsp_prefix, w->nsp_len);
        c->pstep = P_POST;
        http_request(c, "POST", pkt, 2 + w->nsp_len);
        break;
    }
    case P_POST:
        c->pstep = P_GET;
        c->gets = 1;
        http_request(c, "GET", NULL, 0);
        break;
    case P_GET: {
        /* packets separated by 0x1e; look for "40<nsp>" */
        char want[160];
        memcpy(want, "40", 2);
        memcpy(want + 2, w->nsp_prefix, w->nsp_len);
        want[2 + w->nsp_len] = '\0';
        const char *p = b, *end = b + len;
        while (p < end) {
            const char *e = memchr(p, 0x1e, (size_t)(end - p));
            if (!e) e = end;
            if ((size_t)(e - p) >= 2 + w->nsp_len && memcmp(p, want, 2 + w->nsp_len) == 0) {
                on_ready(c);
                return;
            }
            if (e - p >= 1 && p[0] == '2')
                w->st.pings++; /* a ping: answered by the next request anyway */
            p = e + 1;
        }
        if (++c->gets > 5) {
            conn_fail(c, "no CONNECT answer over polling");
            return;
        }
        http_request(c, "GET", NULL, 0);
        break;
    }
    }
}

/* Parses HTTP responses from data; returns the bytes used. */
static size_t parse_http(bconn *c, char *data, size_t len) {
    size_t off = 0;
    while (c->state == C_HTTP) {
        char *p = data + off;
        size_t avail = len - off;
        char *eoh = memmem(p, avail, "\r\n\r\n", 4);
        if (!eoh) {
            if (avail > 16384) conn_fail(c, "HTTP response head too long");
            return off;
        }
        size_t hlen = (size_t)(eoh - p) + 4;
        int status = avail > 12 && memcmp(p, "HTTP/1.1 ", 9) == 0 ? atoi(p + 9) : 0;
        if (status == 101) {
            off += hlen;
            c->state = c->w->o->raw ? C_READY : C_EIO_OPEN;
            if (c->w->o->raw) on_ready(c);
            return off;
        }
        if (!c->w->o->polling) {
            char why[80];
            snprintf(why, sizeof why, "upgrade answered %d", status);
            conn_fail(c, why);
            return len;
        }
        /* Content-Length, case-insensitively */
        size_t clen = 0;
        int have = 0;
        for (char *q = p; q + 15 < eoh; q++)
            if ((q[0] == 'C' || q[0] == 'c') && strncasecmp(q, "content-length:", 15) == 0) {
                clen = strtoul(q + 15, NULL, 10);
                have = 1;
                break;
            }
        if (!have) {
            conn_fail(c, "polling response without Content-Length");
            return len;
        }
        if (avail < hlen + clen) return off;
        off += hlen + clen;
        polling_body(c, status, p + hlen, clen);
    }
    return off;
}

static size_t parse_input(bconn *c, char *data, size_t len) {
    size_t used = 0;
    if (c->state == C_HTTP) used = parse_http(c, data, len);
    if (c->w->o->polling) return c->state == C_HTTP ? used : len;
    if (c->state == C_EIO_OPEN || c->state == C_NSP || c->state == C_READY)
        used += parse_frames(c, data + used, len - used);
    return used;
}

/* ---- connections ----------------------------------------------------------------------------- */

static void alloc_slab(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    *buf = uv_buf_init((char *)slab, SLAB_SIZE);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    bconn *c = s->data;
    worker *w = c->w;
    if (n < 0) {
        conn_fail(c, n == UV_EOF ? "the server closed the connection" : uv_strerror((int)n));
        return;
    }
    if (n == 0) return;
    w->st.bytes_in += (uint64_t)n;
    w->now = uv_hrtime();
    if (c->in.len) {
        if (util_buf_append(&c->in, b->base, (size_t)n)) {
            conn_fail(c, "out of memory");
            return;
        }
        size_t used = parse_input(c, c->in.data, c->in.len);
        if (c->state == C_CLOSING || c->state == C_FREE) return;
        util_buf_consume(&c->in, used);
    } else {
        size_t used = parse_input(c, b->base, (size_t)n);
        if (c->state == C_CLOSING || c->state == C_FREE) return;
        if (used < (size_t)n && util_buf_append(&c->in, b->base + used, (size_t)n - used))
            conn_fail(c, "out of memory");
    }
}

static void on_connected(uv_connect_t *req, int status) {
    bconn *c = req->data;
    worker *w = c->w;
    if (c->state != C_CONNECTING) return;
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    c->state = C_HTTP;
    int r = uv_read_start((uv_stream_t *)&c->tcp, alloc_slab, on_read);
    if (r) {
        conn_fail(c, uv_strerror(r));
        return;
    }
    if (w->o->polling)
        http_request(c, "GET", NULL, 0);
    else
        append_raw(c, w->http_head, w->http_head_len);
}

static void conn_closed(uv_handle_t *h) {
    bconn *c = h->data;
    worker *w = c->w;
    c->state = C_FREE;
    w->open--;
    /* keep the output buffer's storage for the next use of the slot; drop big input ones */
    c->in.len = 0;
    if (c->in.cap > 65536) util_buf_free(&c->in);
    c->frag.len = 0;
    if (w->churning && !w->stopping) {
        conn_start(w, c);
        return;
    }
    if (w->o->sc == SC_CHURN && w->open == 0) {
        if (w->phase == PH_WARMUP) {
            w->phase = PH_READY;
            send_msg(w, 'R');
        } else if (w->phase == PH_MEASURE) {
            measure_end(w);
        }
    }
    if (w->phase == PH_QUIT && w->open == 0) {
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->rate_timer, NULL);
        uv_close((uv_handle_t *)&w->flush, NULL);
        uv_close((uv_handle_t *)&w->ctl, NULL);
    }
}

static void conn_close(bconn *c) {
    if (c->state == C_FREE || c->state == C_CLOSING) return;
    worker *w = c->w;
    if (c->state == C_READY) w->active--;
    c->state = C_CLOSING;
    if (c->sender && c->inflight) c->inflight = 0;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void conn_fail(bconn *c, const char *why) {
    worker *w = c->w;
    if (c->state == C_FREE || c->state == C_CLOSING) return;
    int before_ready = c->state != C_READY;
    if (!(w->phase == PH_QUIT || (w->stopping && w->o->sc == SC_CHURN))) {
        w->st.errors++;
        note_error(w, "%s", why);
    }
    conn_close(c);
    if (before_ready && w->phase != PH_QUIT) {
        w->failed++;
        setup_check(w);
    }
}

static void conn_start(worker *w, bconn *c) {
    memset(&c->creq, 0, sizeof c->creq);
    c->w = w;
    c->out.len = c->in.len = c->wbuf.len = c->frag.len = 0;
    c->inflight = 0;
    c->next_id = 0;
    c->writing = 0;
    c->pstep = P_OPEN;
    c->sid[0] = '\0';
    c->t_start = uv_hrtime();
    c->state = C_CONNECTING;
    w->open++;
    w->started++;
    int r = uv_tcp_init_ex(w->loop, &c->tcp, AF_INET);
    if (r) {
        w->open--;
        c->state = C_FREE;
        w->st.errors++;
        w->failed++;
        note_error(w, "socket: %s", uv_strerror(r));
        return;
    }
    c->tcp.data = c;
    c->creq.data = c;
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
        int one = 1;
        /* pick the source port at connect time, per destination: no port search across all */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (w->o->sources) {
        struct sockaddr_in src;
        memset(&src, 0, sizeof src);
        src.sin_family = AF_INET;
        uint32_t k = (w->src_rr++ + w->o->worker) % w->o->sources;
        src.sin_addr.s_addr = htonl(0x7f000002u + k);
        uv_tcp_bind(&c->tcp, (const struct sockaddr *)&src, 0);
    }
    r = uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)&w->dst, on_connected);
    if (r) conn_fail(c, uv_strerror(r));
}

/* Starts connections while fewer than `concurrency` handshakes are in progress. */
static void launch(worker *w) {
    if (w->o->sc == SC_CHURN) return;
    while (w->started < w->nconns && w->started - w->ready - w->failed < w->o->concurrency &&
           w->phase != PH_QUIT)
        conn_start(w, &w->conns[w->started]);
}

/* ---- phases -------------------------------------------------------------------------------- */

static void send_msg(worker *w, char type) {
    wmsg *m = calloc(1, sizeof *m);
    if (!m) _exit(3);
    m->type = (uint32_t)type;
    m->phase = w->phase == PH_MEASURE || w->phase == PH_DONE;
    m->ready = w->ready;
    m->failed = w->failed;
    m->open = w->active;
    memcpy(m->error, w->error, sizeof m->error);
    m->st = w->st;
    if (type == 'P' || type == 'D') {
        if (!m->st.elapsed_ns && w->t_go) m->st.elapsed_ns = uv_hrtime() - w->t_go;
        if (!m->st.cpu_ns) m->st.cpu_ns = self_cpu_ns() - w->cpu0;
    }
    const char *p = (const char *)m;
    size_t left = sizeof *m;
    while (left) {
        ssize_t n = write(w->ctl_out, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(4); /* the coordinator is gone */
        p += n;
        left -= (size_t)n;
    }
    free(m);
}

static void begin_warmup(worker *w) {
    w->phase = PH_WARMUP;
    w->t_phase = uv_hrtime();
    if (w->o->sc == SC_BROADCAST) {
        uint32_t s = 0;
        for (uint32_t i = 0; i < w->nconns && s < w->o->senders; i++)
            if (w->conns[i].state == C_READY) {
                w->conns[i].sender = 1;
                s++;
            }
        w->nsenders = s;
    }
    if (w->o->sc == SC_ECHO && w->rate > 0) {
        w->t_rate0 = uv_hrtime();
        w->issued = 0;
    }
    for (uint32_t i = 0; i < w->nconns; i++) top_up(&w->conns[i], uv_hrtime());
}

/* Called whenever a handshake ends (ready or failed). */
static void setup_check(worker *w) {
    if (w->o->sc == SC_CONNECT) {
        if (w->phase == PH_MEASURE && w->ready + w->failed >= w->nconns)
            measure_end(w);
        else
            launch(w);
        return;
    }
    if (w->o->sc == SC_CHURN) return;
    launch(w);
    if (w->phase == PH_SETUP && w->ready + w->failed >= w->nconns) begin_warmup(w);
}

static void on_ready(bconn *c) {
    worker *w = c->w;
    c->state = C_READY;
    w->ready++;
    w->active++;
    uint64_t now = uv_hrtime();
    if (w->o->sc == SC_CONNECT || w->o->sc == SC_CHURN) {
        if (w->phase == PH_MEASURE) {
            hist_add(&w->st.lat, now - c->t_start);
            w->st.ops++;
            w->t_last = now;
        }
        if (w->o->sc == SC_CHURN) {
            w->ready--; /* the count of the setup phase does not apply */
            conn_close(c);
            return;
        }
    }
    setup_check(w);
}

static void measure_start(worker *w) {
    w->phase = PH_MEASURE;
    w->stopping = 0;
    uint64_t now = uv_hrtime();
    w->t_go = now;
    w->t_last = now;
    w->cpu0 = self_cpu_ns();
    memset(&w->st, 0, sizeof w->st);
    w->error[0] = '\0';
    w->next_progress = now + (uint64_t)(w->o->progress * 1e9);
    if (w->o->sc == SC_CONNECT) {
        w->failed = w->ready = 0;
        launch(w);
        if (w->nconns == 0) measure_end(w);
    } else if (w->o->sc == SC_CHURN) {
        w->churning = 1;
        for (uint32_t i = 0; i < w->nconns; i++) conn_start(w, &w->conns[i]);
    }
}

static void measure_end(worker *w) {
    if (w->phase != PH_MEASURE) return;
    uint64_t now = uv_hrtime();
    if (!w->st.elapsed_ns) { /* churn took them when it stopped cycling */
        w->st.elapsed_ns = (w->o->sc == SC_CONNECT ? w->t_last : now) - w->t_go;
        w->st.cpu_ns = self_cpu_ns() - w->cpu0;
    }
    if (w->st.elapsed_ns == 0) w->st.elapsed_ns = 1;
    w->phase = PH_DONE;
    w->stopping = 1;
    send_msg(w, 'D');
}

static void quit(worker *w) {
    if (w->phase == PH_QUIT) return;
    w->phase = PH_QUIT;
    w->stopping = 1;
    w->churning = 0;
    uv_timer_stop(&w->rate_timer);
    for (uint32_t i = 0; i < w->nconns; i++) conn_close(&w->conns[i]);
    if (w->open == 0) {
        uv_close((uv_handle_t *)&w->tick, NULL);
        uv_close((uv_handle_t *)&w->rate_timer, NULL);
        uv_close((uv_handle_t *)&w->flush, NULL);
        uv_close((uv_handle_t *)&w->ctl, NULL);
    }
}

static void on_ctl(uv_poll_t *h, int status, int events) {
    worker *w = h->data;
    char b[16];
    ssize_t n = read(w->ctl_in, b, sizeof b);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) { /* the coordinator is gone */
        uv_poll_stop(h);
        quit(w);
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        if (b[i] == 'G' && w->phase == PH_READY) measure_start(w);
        if (b[i] == 'Q') {
            uv_poll_stop(h);
            quit(w);
            return;
        }
    }
}

/* Rate mode: issues the echo requests due since the start, round robin. */
static void on_rate(uv_timer_t *t) {
    worker *w = t->data;
    if (w->stopping || w->phase < PH_WARMUP || !w->active) return;
    uint64_t now = uv_hrtime();
    uint64_t due = (uint64_t)(w->rate * (double)(now - w->t_rate0) / 1e9);
    uint32_t tried = 0;
    while (w->issued < due && tried < w->nconns) {
        bconn *c = &w->conns[w->rr];
        w->rr = (w->rr + 1) % w->nconns;
        if (c->state == C_READY && c->inflight < w->o->window) {
            send_echo(c, now);
            w->issued++;
            tried = 0;
        } else {
            tried++;
        }
    }
    if (w->issued < due) { /* every window full: the server is behind */
        w->st.backlog += due - w->issued;
        w->issued = due;
    }
    /* Write now: the check phase would come only after the next poll, which
     * may block until the next tick. */
    flush_all(&w->flush);
}

static void on_tick(uv_timer_t *t) {
    worker *w = t->data;
    uint64_t now = uv_hrtime();
    if (now > w->deadline) {
        fprintf(stderr, "sio-bench worker %u: deadline passed, exiting\n", w->o->worker);
        _exit(5);
    }
    switch (w->phase) {
    case PH_SETUP:
        if (w->o->sc != SC_CONNECT && now - w->t_phase > (uint64_t)(w->o->timeout * 1e9)) {
            note_error(w, "%s", "setup timed out: going on with the connections made");
            uint32_t n = w->nconns;
            w->nconns = w->started; /* connections never started are not coming */
            for (uint32_t i = 0; i < n; i++)
                if (w->conns[i].state != C_READY && w->conns[i].state != C_FREE)
                    conn_fail(&w->conns[i], "setup timeout");
            if (w->phase == PH_SETUP) begin_warmup(w);
        }
        break;
    case PH_WARMUP:
        if (w->o->sc == SC_CHURN) {
            if (!w->stopping && now - w->t_phase >= (uint64_t)(w->o->warmup * 1e9)) {
                w->stopping = 1;
                w->churning = 0;
                for (uint32_t i = 0; i < w->nconns; i++) conn_close(&w->conns[i]);
                if (w->open == 0) {
                    w->phase = PH_READY;
                    send_msg(w, 'R');
                }
            }
        } else if (now - w->t_phase >= (uint64_t)(w->o->warmup * 1e9)) {
            w->phase = PH_READY;
            send_msg(w, 'R');
        }
        break;
    case PH_MEASURE:
        if (w->o->sc == SC_CONNECT) {
            if (now - w->t_go > (uint64_t)(w->o->timeout * 1e9)) {
                note_error(w, "%s", "connect phase timed out");
                w->t_last = now;
                measure_end(w);
            }
        } else if (now - w->t_go >= (uint64_t)(w->o->duration * 1e9)) {
            if (w->o->sc == SC_CHURN) {
                if (!w->stopping) {
                    w->st.elapsed_ns = now - w->t_go;
                    w->st.cpu_ns = self_cpu_ns() - w->cpu0;
                    w->stopping = 1;
                    w->churning = 0;
                    for (uint32_t i = 0; i < w->nconns; i++) conn_close(&w->conns[i]);
                    if (w->open == 0) measure_end(w);
                }
            } else {
                measure_end(w);
            }
        }
        if (w->phase == PH_MEASURE && now >= w->next_progress && w->o->progress > 0) {
            w->next_progress = now + (uint64_t)(w->o->progress * 1e9);
            send_msg(w, 'P');
        }
        break;
    default:
        break;
    }
    if (w->phase == PH_SETUP && w->o->progress > 0 && now >= w->next_progress) {
        w->next_progress = now + (uint64_t)(w->o->progress * 1e9);
        send_msg(w, 'P');
    }
    /* broadcasts that will never complete (a receiver is gone, or the server dropped them) */
    if (w->o->sc == SC_BROADCAST && w->ring) {
        uint64_t limit = (uint64_t)(w->o->bcast_timeout * 1e9);
        for (uint64_t i = 0; i <= w->ring_mask; i++) {
            bslot *s = &w->ring[i];
            if (s->remaining && now - s->t_sent > limit) {
                w->st.lost += s->remaining;
                s->remaining = 0;
                bconn *sender = &w->conns[s->sender];
                if (sender->inflight) sender->inflight--;
                top_up(sender, now);
            }
        }
    }
    flush_all(&w->flush); /* what a timer composed leaves now, not after the next poll */
}

/* ---- the worker ---------------------------------------------------------------------------------
 */

void worker_main(const bench_opts *o, int ctl_in, int ctl_out) {
    static worker wk;
    worker *w = &wk;
    w->o = o;
    w->loop = uv_default_loop();
    w->ctl_in = ctl_in;
    w->ctl_out = ctl_out;
    w->rng = 0x9e3779b9u ^ (uint32_t)getpid() ^ (uint32_t)uv_hrtime();
    if (!w->rng) w->rng = 1;
    w->nconns = o->share;
    w->conns = calloc(w->nconns ? w->nconns : 1, sizeof *w->conns);
    if (!w->conns) _exit(3);
    if (strcmp(o->nsp, "/") == 0) {
        w->nsp_len = 0;
    } else {
        w->nsp_len = (size_t)snprintf(w->nsp_prefix, sizeof w->nsp_prefix, "%s,", o->nsp);
    }
    w->filler = malloc(o->payload + 1);
    memset(w->filler, 'x', o->payload);
    w->http_head_len = (size_t)snprintf(
        w->http_head, sizeof w->http_head,
        "GET %s%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: c2lvLWJlbmNoLWtleS0wMQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        o->path, o->raw ? "" : "?EIO=4&transport=websocket", o->host, o->port);
    uv_ip4_addr(o->host, o->port, &w->dst);
    if (o->sc == SC_ECHO && o->rate > 0)
        w->rate = o->rate * (double)o->share / (double)o->rate_share_num;
    if (o->sc == SC_BROADCAST) {
        uint64_t n = 16;
        while (n < 4ull * o->senders * o->window) n <<= 1;
        w->ring = calloc(n, sizeof *w->ring);
        w->ring_mask = n - 1;
        for (uint64_t i = 0; i < n; i++) w->ring[i].seq = UINT64_MAX;
    }
    w->deadline = uv_hrtime() + (uint64_t)((o->timeout * 2 + o->warmup + o->duration + 120) * 1e9);

    uv_check_init(w->loop, &w->flush);
    w->flush.data = w;
    uv_check_start(&w->flush, flush_all);
    uv_timer_init(w->loop, &w->tick);
    w->tick.data = w;
    uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
    uv_timer_init(w->loop, &w->rate_timer);
    w->rate_timer.data = w;
    if (w->rate > 0) uv_timer_start(&w->rate_timer, on_rate, 1, 1);
    fcntl(ctl_in, F_SETFL, fcntl(ctl_in, F_GETFL) | O_NONBLOCK);
    uv_poll_init(w->loop, &w->ctl, ctl_in);
    w->ctl.data = w;
    uv_poll_start(&w->ctl, UV_READABLE, on_ctl);

    w->phase = PH_SETUP;
    w->t_phase = uv_hrtime();
    w->next_progress = w->t_phase + (uint64_t)(o->progress * 1e9);
    if (o->sc == SC_CONNECT) {
        w->phase = PH_READY;
        send_msg(w, 'R');
    } else if (o->sc == SC_CHURN) {
        if (o->warmup > 0) {
            w->phase = PH_WARMUP;
            w->churning = 1;
            for (uint32_t i = 0; i < w->nconns; i++) conn_start(w, &w->conns[i]);
        } else {
            w->phase = PH_READY;
            send_msg(w, 'R');
        }
    } else {
        launch(w);
        if (w->nconns == 0) begin_warmup(w);
    }
    uv_run(w->loop, UV_RUN_DEFAULT);
    for (uint32_t i = 0; i < o->share; i++) {
        util_buf_free(&w->conns[i].in);
        util_buf_free(&w->conns[i].out);
        util_buf_free(&w->conns[i].wbuf);
        util_buf_free(&w->conns[i].frag);
    }
    free(w->conns);
    free(w->ring);
    free(w->filler);
    uv_loop_close(w->loop);
    _exit(0);
}
