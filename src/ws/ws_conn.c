/* ws/ws_conn.c - WebSocket connections on sockets taken from the HTTP server:
 * the 101 answer, reading and parsing, the output queue, the close handshake.
 *
 * Output: every frame to send is a refcounted buffer appended to the
 * connection's queue, and the connection is put on its server's dirty list.
 * A uv_check handle flushes the dirty list once per loop iteration: all frames
 * queued for a connection during the iteration go out with one uv_try_write
 * (writev), and only what the kernel did not take is handed to uv_write with
 * a request that keeps the references until it completes. When output waits
 * on many connections after a turn that read input, the flush is put off for
 * up to WS_DEFER_MAX_TURNS non-blocking polls while more input keeps coming,
 * so each writev carries several frames (see flush_all). A broadcast frame
 * is therefore encoded once and never copied per recipient. A connection whose
 * unwritten output passes max_queue_bytes is cut off: a slow reader never
 * grows the server's memory without bound.
 */
#include "socketio/ws.h"

#include "http/http_internal.h"
#include "util/buf.h"
#include "util/cacheline.h"
#include "util/log.h"
#include "util/slab.h"
#include "util/timer_wheel.h"
#include "ws/ws_deflate.h"
#include "ws/ws_frame.h"
#include "ws/ws_handshake.h"
#include "ws/ws_parser.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define WS_WRITEV_MAX 64
#define WS_DEFER_MIN_CONNS 64
#define WS_DEFER_MAX_TURNS 4

/* What a queued frame really costs: its block (a 2-byte pong takes a 128-byte
 * pool block) and its slot in the queue. Output limits charge this, not the
 * frame's length: a peer that makes the server queue many tiny frames (pongs
 * to a ping flood) is cut off at the same memory as one that queues big ones. */
#define WS_FRAME_COST(len) (sio_rcbuf_cost(len) + sizeof(sio_rcbuf *))

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

struct ws_server {
    uv_loop_t *loop;
    ws_options opts;
    ws_parser_config parser_cfg;
    sio_wheel wheel;
    uv_check_t flush;
    uv_idle_t defer;  /* active while a flush waits: makes the next poll non-blocking */
    ws_conn *dirty;   /* linked through dirty_next / dirty_pprev */
    uint32_t ndirty;  /* connections on the dirty list */
    uint32_t reads;   /* reads since the last check */
    uint8_t deferred; /* consecutive checks that put the flush off */
    uint32_t turn;    /* loop turns seen by flush_all */
    ws_conn *conns;   /* all open connections, for ws_server_close */
    size_t nconns;
    size_t nclosing; /* connections whose TCP handle is still closing */
    int closing;
    unsigned handles_open;
    void (*done)(void *);
    void *done_ud;
};

struct ws_conn {
    /* what queueing and flushing read, in the first cache line (and the
     * whole structure in 256 bytes: it is allocated cache-line aligned) */
    ws_server *srv;
    uv_tcp_t *tcp;
    sio_rcbuf **q; /* queued frames, oldest first */
    uint32_t qlen, qcap;
    size_t qbytes;         /* bytes in q */
    size_t inflight;       /* bytes handed to uv_write and not completed */
    size_t charged;        /* memory the queued and in-flight frames hold (WS_FRAME_COST) */
    ws_conn *dirty_next;   /* the flush list */
    ws_conn **dirty_pprev; /* the pointer that points at this one on the flush list */
    uint8_t state;
    unsigned dirty : 1;  /* on the flush list */
    unsigned cutoff : 1; /* a slow reader: closed at the next flush, takes nothing more */
    unsigned close_after_flush : 1; /* close TCP once the queue is written */
    unsigned reported : 1;          /* on_close was called */
    unsigned linger : 1; /* failed: half-close once flushed, then discard input until EOF */
    unsigned shut : 1;   /* the write side was shut down (uv_shutdown) */
    uint16_t close_code;
    uint32_t qturn; /* the loop turn (ws_server.turn) in which q last became non-empty */
    ws_parser parser;
    ws_deflate *deflate;
    const ws_callbacks *cb;
    void *ud;
    ws_conn *prev, *next;
    sio_timer timer;
    char *leftover;    /* bytes that came with the handshake */
    http_server *http; /* the server the socket was taken from (http_server_socket_closed) */
    size_t in_charged; /* the parser's buffer, charged to http's input total */
    uint32_t leftover_len;
};

typedef struct ws_write_req {
    uv_write_t w;
    ws_conn *c;
    size_t bytes;
    size_t charged; /* the frames' WS_FRAME_COST, and this request's own size */
    uint32_t n;
    sio_rcbuf *bufs[];
} ws_write_req;

void ws_options_init(ws_options *o) {
    memset(o, 0, sizeof *o);
    o->max_message_size = 1000000;
    o->max_queue_bytes = 1024 * 1024;
    o->close_timeout_ms = 5000;
    o->permessage_deflate = 0;
    o->deflate_threshold = 1024;
}

/* Output memory: the connection's own count and the shared budget move together. */
static void conn_charge(ws_conn *c, size_t n) {
    c->charged += n;
    sio_budget *b = c->srv->opts.budget;
    if (b) {
        b->used += n;
        if (b->used > b->peak) b->peak = b->used;
    }
}

static void conn_uncharge(ws_conn *c, size_t n) {
    assert(c->charged >= n);
    c->charged -= n;
    sio_budget *b = c->srv->opts.budget;
    if (b) {
        assert(b->used >= n);
        b->used -= n;
    }
}

/* ---- closing ------------------------------------------------------------------------ */

static void server_maybe_done(ws_server *ws);

static void conn_report_close(ws_conn *c, int code, const char *reason) {
    if (c->reported) return;
    c->reported = 1;
    if (c->cb && c->cb->on_close) c->cb->on_close(c, code, reason ? reason : "", c->ud);
}

static void conn_handle_closed(uv_handle_t *h) {
    ws_conn *c = h->data;
    ws_server *ws = c->srv;
    assert(!c->dirty && !c->dirty_pprev); /* unlinked by conn_destroy */
    assert(c->inflight == 0);             /* uv_close completes writes first */
    free(h);
    for (uint32_t i = 0; i < c->qlen; i++) {
        conn_uncharge(c, WS_FRAME_COST(c->q[i]->len));
        sio_rcbuf_unref(c->q[i]);
    }
    assert(c->charged == 0);
    http_server_input_charge(c->http, &c->in_charged, 0);
    http_server_socket_closed(c->http);
    free(c->q);
    free(c->leftover);
    ws_parser_free(&c->parser);
    if (c->deflate) ws_deflate_free(c->deflate);
    free(c);
    ws->nclosing--;
    server_maybe_done(ws);
}

static void conn_unmark_dirty(ws_conn *c);

/* Closes the TCP connection now; reports `code` if nothing was reported yet. */
static void conn_destroy(ws_conn *c, int code, const char *reason) {
    if (c->state == WS_CLOSED) return;
    c->state = WS_CLOSED;
    ws_server *ws = c->srv;
    sio_timer_stop(&ws->wheel, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        ws->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    ws->nconns--;
    ws->nclosing++;
    /* off the dirty list now: the block is freed when the handle closes,
     * possibly before the next flush walks the list */
    conn_unmark_dirty(c);
    conn_report_close(c, code, reason);
    uv_close((uv_handle_t *)c->tcp, conn_handle_closed);
}

void ws_abort(ws_conn *c) {
    conn_destroy(c, WS_CLOSE_ABNORMAL, "aborted");
}

static void close_timeout(sio_timer *t) {
    ws_conn *c = (ws_conn *)((char *)t - offsetof(ws_conn, timer));
    conn_destroy(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL, "close timeout");
}

/* ---- output ------------------------------------------------------------------------- */

static void conn_mark_dirty(ws_conn *c) {
    if (c->dirty || c->state == WS_CLOSED) return;
    ws_server *ws = c->srv;
    c->dirty = 1;
    c->dirty_next = ws->dirty;
    c->dirty_pprev = &ws->dirty;
    if (ws->dirty) ws->dirty->dirty_pprev = &c->dirty_next;
    ws->dirty = c;
    ws->ndirty++;
}

static void conn_unmark_dirty(ws_conn *c) {
    if (!c->dirty) return;
    *c->dirty_pprev = c->dirty_next;
    if (c->dirty_next) c->dirty_next->dirty_pprev = c->dirty_pprev;
    c->dirty = 0;
    c->dirty_next = NULL;
    c->dirty_pprev = NULL;
    c->srv->ndirty--;
}

static int conn_enqueue(ws_conn *c, sio_rcbuf *f) {
    if (c->state == WS_CLOSED) return SIO_ECLOSED;
    if (c->cutoff) return SIO_EBUSY;
    /* A slow reader is one with a backlog: output the kernel refused at an
     * earlier flush (inflight), plus what has queued behind it. A connection
     * whose output was all written takes whatever this loop iteration queues
     * (a burst of broadcasts, one frame larger than the limit): only output
     * piling up behind unwritten bytes counts. */
    size_t cost = WS_FRAME_COST(f->len);
    sio_budget *budget = c->srv->opts.budget;
    int over_conn = c->charged + cost > c->srv->opts.max_queue_bytes;
    int over_all = budget && budget->limit && budget->used + cost > budget->limit;
    if (c->inflight && (over_conn || over_all)) {
        if (over_conn)
            LOG_WARN("ws", "output queue over %zu bytes: disconnecting a slow reader",
                     c->srv->opts.max_queue_bytes);
        else
            LOG_WARN("ws", "output of all connections over %zu bytes: disconnecting a slow reader",
                     budget->limit);
        /* Closed by the next flush, not here: this send may be one of a
         * broadcast's, and closing calls the owner back (its disconnect
         * handlers could change the rooms being walked). */
        c->cutoff = 1;
        conn_mark_dirty(c);
        return SIO_EBUSY;
    }
    if (c->qlen == c->qcap) {
        uint32_t cap = c->qcap ? c->qcap * 2 : 4;
        sio_rcbuf **q = realloc(c->q, cap * sizeof *q);
        if (!q) return SIO_ENOMEM;
        c->q = q;
        c->qcap = cap;
    }
    if (c->qlen == 0) c->qturn = c->srv->turn;
    c->q[c->qlen++] = sio_rcbuf_ref(f);
    c->qbytes += f->len;
    conn_charge(c, cost);
    conn_mark_dirty(c);
    return 0;
}

static void conn_flush(ws_conn *c);

static void on_shutdown(uv_shutdown_t *req, int status) {
    ws_conn *c = req->handle->data;
    free(req);
    if (status < 0 && c->state != WS_CLOSED) conn_destroy(c, c->close_code, uv_strerror(status));
}

/* The output is all written and the connection is to close: close TCP now,
 * or, after a protocol error (c->linger), shut down the write side and wait
 * for the peer's EOF (on_read), or the close timeout. */
static void conn_flushed_close(ws_conn *c) {
    if (!c->linger) {
        conn_destroy(c, c->close_code, "closed");
        return;
    }
    if (c->shut) return;
    c->shut = 1;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req || uv_shutdown(req, (uv_stream_t *)c->tcp, on_shutdown) != 0) {
        free(req);
        conn_destroy(c, c->close_code, "closed");
    }
}

static void on_written(uv_write_t *w, int status) {
    ws_write_req *wr = (ws_write_req *)w;
    ws_conn *c = wr->c;
    for (uint32_t i = 0; i < wr->n; i++) sio_rcbuf_unref(wr->bufs[i]);
    c->inflight -= wr->bytes;
    conn_uncharge(c, wr->charged);
    free(wr);
    if (c->state == WS_CLOSED) return;
    if (status < 0) {
        conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(status));
        return;
    }
    if (c->qlen)
        conn_flush(c);
    else if (c->close_after_flush && !c->inflight)
        conn_flushed_close(c);
}

/* Writes what is queued: try_write first, uv_write for the rest. */
static void conn_flush(ws_conn *c) {
    while (c->qlen && c->state != WS_CLOSED) {
        if (c->inflight) return; /* on_written flushes the rest in order */
        uint32_t n = c->qlen < WS_WRITEV_MAX ? c->qlen : WS_WRITEV_MAX;
        uv_buf_t bufs[WS_WRITEV_MAX];
        size_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            bufs[i] = uv_buf_init(c->q[i]->data, (unsigned)c->q[i]->len);
            total += c->q[i]->len;
        }
        int w = uv_try_write((uv_stream_t *)c->tcp, bufs, n);
        size_t written = w > 0 ? (size_t)w : 0;
        if (w < 0 && w != UV_EAGAIN) {
            conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(w));
            return;
        }
        /* drop the buffers written whole */
        uint32_t done = 0;
        size_t left = written;
        while (done < n && left >= c->q[done]->len) {
            left -= c->q[done]->len;
            done++;
        }
        if (done == n && left == 0) {
            for (uint32_t i = 0; i < n; i++) {
                conn_uncharge(c, WS_FRAME_COST(c->q[i]->len));
                sio_rcbuf_unref(c->q[i]);
            }
            memmove(c->q, c->q + n, (c->qlen - n) * sizeof *c->q);
            c->qlen -= n;
            c->qbytes -= total;
            continue;
        }
        /* the kernel is full: hand the rest (n - done buffers, the first cut) to uv_write */
        uint32_t rest = n - done;
        ws_write_req *wr = malloc(sizeof *wr + rest * sizeof(sio_rcbuf *));
        if (!wr) {
            conn_destroy(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            return;
        }
        wr->c = c;
        wr->n = rest;
        wr->bytes = total - written;
        wr->charged = sizeof *wr + rest * sizeof(sio_rcbuf *);
        for (uint32_t i = 0; i < done; i++) {
            conn_uncharge(c, WS_FRAME_COST(c->q[i]->len));
            sio_rcbuf_unref(c->q[i]);
        }
        for (uint32_t i = 0; i < rest; i++) {
            wr->charged += WS_FRAME_COST(c->q[done + i]->len) - sizeof(sio_rcbuf *);
            wr->bufs[i] = c->q[done + i];
            bufs[i] = uv_buf_init(c->q[done + i]->data, (unsigned)c->q[done + i]->len);
        }
        bufs[0].base += left;
        bufs[0].len -= left;
        memmove(c->q, c->q + n, (c->qlen - n) * sizeof *c->q);
        c->qlen -= n;
        c->qbytes -= total;
        c->inflight += wr->bytes;
        /* the frames (and their slots, now in wr->bufs) moved from the queue
         * to the request, which adds its own header */
        conn_charge(c, sizeof *wr);
        int r = uv_write(&wr->w, (uv_stream_t *)c->tcp, bufs, rest, on_written);
        if (r) {
            for (uint32_t i = 0; i < rest; i++) sio_rcbuf_unref(wr->bufs[i]);
            c->inflight -= wr->bytes;
            conn_uncharge(c, wr->charged);
            free(wr);
            conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(r));
            return;
        }
        return;
    }
    if (c->state != WS_CLOSED && !c->qlen && !c->inflight && c->close_after_flush)
        conn_flushed_close(c);
}

static void defer_noop(uv_idle_t *h) {
    (void)h;
}

static void flush_all(uv_check_t *h) {
    ws_server *ws = h->data;
    ws->turn++;
    /* Output on many connections after a turn that read input (a broadcast):
     * poll once more without blocking first, so input that is already waiting
     * (more broadcasts) joins the same writes: one writev per connection
     * carries several frames instead of one syscall per frame. Bounded: at
     * most WS_DEFER_MAX_TURNS turns, and only while input keeps arriving. */
    if (ws->ndirty >= WS_DEFER_MIN_CONNS && ws->reads && ws->deferred < WS_DEFER_MAX_TURNS &&
        !ws->closing) {
        ws->deferred++;
        ws->reads = 0;
        if (ws->deferred == 1) uv_idle_start(&ws->defer, defer_noop);
        return;
    }
    if (ws->deferred) {
        uv_idle_stop(&ws->defer);
        ws->deferred = 0;
    }
    ws->reads = 0;
    /* Each connection is taken off the list before it is written: a write
     * error or a cut-off closes it, and its close callback may close others
     * (which conn_destroy unlinks) or queue more output (which puts them back
     * on the list, to be written in this same walk). */
    while (ws->dirty) {
        ws_conn *c = ws->dirty;
        assert(c->state != WS_CLOSED);
        conn_unmark_dirty(c);
        if (c->cutoff)
            conn_destroy(c, WS_CLOSE_POLICY, "slow reader");
        else
            conn_flush(c);
    }
    assert(ws->ndirty == 0);
}

/* ---- sending ------------------------------------------------------------------------ */

ws_frame *ws_frame_new(int binary, const void *data, size_t len) {
    return ws_frame_encode(binary ? WS_OP_BINARY : WS_OP_TEXT, data, len);
}

ws_frame *ws_frame_new2(int binary, const void *a, size_t alen, const void *b, size_t blen) {
    ws_iov parts[2] = {{a, alen}, {b, blen}};
    return ws_frame_encodev(binary ? WS_OP_BINARY : WS_OP_TEXT, 0, parts, 2);
}

void ws_frame_release(ws_frame *f) {
    sio_rcbuf_unref(f);
}

int ws_send_frame(ws_conn *c, ws_frame *f) {
    if (c->state != WS_OPEN) return SIO_ECLOSED;
    return conn_enqueue(c, f);
}

int ws_send2(ws_conn *c, int binary, const void *a, size_t alen, const void *b, size_t blen) {
    if (c->state != WS_OPEN) return SIO_ECLOSED;
    int op = binary ? WS_OP_BINARY : WS_OP_TEXT;
    sio_rcbuf *f;
    if (c->deflate && alen + blen >= c->srv->opts.deflate_threshold) {
        if (alen == 0 || blen == 0) {
            f = ws_deflate_frame(c->deflate, op, alen ? a : b, alen + blen);
        } else {
            char *joined = malloc(alen + blen);
            if (!joined) return SIO_ENOMEM;
            memcpy(joined, a, alen);
            memcpy(joined + alen, b, blen);
            f = ws_deflate_frame(c->deflate, op, joined, alen + blen);
            free(joined);
        }
    } else {
        ws_iov parts[2] = {{a, alen}, {b, blen}};
        f = ws_frame_encodev(op, 0, parts, 2);
    }
    if (!f) return SIO_ENOMEM;
    int r = conn_enqueue(c, f);
    sio_rcbuf_unref(f);
    return r;
}

int ws_send(ws_conn *c, int binary, const void *data, size_t len) {
    return ws_send2(c, binary, data, len, NULL, 0);
}

void ws_close(ws_conn *c, int code, const char *reason) {
    if (c->state != WS_OPEN) return;
    if (!ws_close_code_valid(code)) code = WS_CLOSE_NORMAL;
    sio_rcbuf *f = ws_close_frame_encode(code, reason);
    c->close_code = (uint16_t)code;
    if (f) {
        conn_enqueue(c, f);
        sio_rcbuf_unref(f);
    }
    if (c->state == WS_CLOSED) return;
    c->state = WS_CLOSING;
    sio_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
}

/* ---- input ---------------------------------------------------------------------------- */

static int on_parser_message(void *ud, int opcode, const uint8_t *data, size_t len) {
    ws_conn *c = ud;
    if (c->state != WS_OPEN) return 0; /* after our close frame, data is dropped */
    if (c->cb && c->cb->on_message) c->cb->on_message(c, opcode == WS_OP_BINARY, data, len, c->ud);
    return c->state == WS_CLOSED;
}

static int on_parser_ping(void *ud, const uint8_t *data, size_t len) {
    ws_conn *c = ud;
    if (c->state != WS_OPEN) return 0;
    sio_rcbuf *f = ws_frame_encode(WS_OP_PONG, data, len);
    if (!f) return 1;
    conn_enqueue(c, f);
    sio_rcbuf_unref(f);
    return c->state == WS_CLOSED;
}

static int on_parser_close(void *ud, int code, const char *reason, size_t reason_len) {
    ws_conn *c = ud;
    char why[WS_CONTROL_MAX + 1];
    memcpy(why, reason, reason_len);
    why[reason_len] = '\0';
    if (c->state == WS_OPEN) {
        /* echo the close, then close TCP once it is written */
        c->close_code = (uint16_t)code;
        sio_rcbuf *f = ws_close_frame_encode(code == WS_CLOSE_NO_STATUS ? 0 : code, NULL);
        if (f) {
            conn_enqueue(c, f);
            sio_rcbuf_unref(f);
        }
        if (c->state == WS_CLOSED) return 1;
        c->state = WS_CLOSING;
        conn_report_close(c, code, why);
        c->close_after_flush = 1;
        sio_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
        conn_mark_dirty(c);
    } else if (c->state == WS_CLOSING) {
        /* the answer to our close frame */
        conn_report_close(c, c->close_code, why);
        c->close_after_flush = 1;
        conn_mark_dirty(c);
    }
    return 1;
}

/* Fails the connection with `code`: close frame, then linger (see below). */
static void conn_fail(ws_conn *c, int code, const char *why) {
    if (c->state == WS_OPEN) {
        sio_rcbuf *f = ws_close_frame_encode(code, why);
        c->close_code = (uint16_t)code;
        if (f) {
            conn_enqueue(c, f);
            sio_rcbuf_unref(f);
        }
    }
    if (c->state == WS_CLOSED) return;
    conn_report_close(c, code, why);
    c->state = WS_CLOSING;
    c->close_after_flush = 1;
    /* Keep reading (and discarding) instead of closing as soon as the close
     * frame is written: closing a socket with unread input sends a RST, which
     * can destroy the close frame in the peer's receive buffer, so a client
     * still sending (a message over the limit, say) would see 1006 instead of
     * our code. A half-close then tells the peer we are done (RFC 6455 7.1.1). */
    c->linger = 1;
    sio_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
    conn_mark_dirty(c);
}

static void conn_protocol_error(ws_conn *c) {
    int code = ws_parser_close_code(&c->parser);
    const char *why = ws_parser_error(&c->parser);
    LOG_DEBUG("ws", "protocol error %d: %s", code, why);
    conn_fail(c, code, why);
}

static void conn_feed(ws_conn *c, uint8_t *data, size_t len) {
    if (c->linger) return; /* failed: input is discarded until EOF */
    int r = ws_parser_feed(&c->parser, data, len);
    if (c->state == WS_CLOSED) return;
    if (r < 0) {
        conn_protocol_error(c);
        return;
    }
    /* a message still incomplete holds its bytes: charged to the server's
     * input total, with HTTP request bodies, so that many peers that each
     * send most of a large message cannot hold max_message_size apiece */
    if (http_server_input_charge(c->http, &c->in_charged, ws_parser_buffered(&c->parser))) {
        LOG_WARN("ws", "request input of all connections over its bound: closing a connection "
                       "with an incomplete message");
        ws_parser_free(&c->parser);
        http_server_input_charge(c->http, &c->in_charged, 0);
        conn_fail(c, WS_CLOSE_POLICY, "server busy");
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    ws_conn *c = s->data;
    if (nread < 0) {
        conn_destroy(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL, "connection lost");
        return;
    }
    if (nread == 0 || c->state == WS_CLOSED) return;
    c->srv->reads++;
    conn_feed(c, (uint8_t *)buf->base, (size_t)nread);
}

/* ---- handshake ----------------------------------------------------------------------- */

int ws_handshake_check(const http_req *req) {
    const char *upgrade = http_req_header(req, "upgrade");
    const char *connection = http_req_header(req, "connection");
    const char *key = http_req_header(req, "sec-websocket-key");
    const char *version = http_req_header(req, "sec-websocket-version");
    if (strcmp(http_req_method(req), "GET") != 0) return 400;
    if (http_req_http_minor(req) < 1) return 400; /* RFC 6455 4.1: HTTP/1.1 or later */
    if (!upgrade || !ws_header_has_token(upgrade, strlen(upgrade), "websocket")) return 400;
    if (!connection || !ws_header_has_token(connection, strlen(connection), "upgrade")) return 400;
    if (!version || strcmp(version, "13") != 0) return 426;
    char accept[WS_ACCEPT_LEN + 1];
    if (!key || ws_accept_key(key, strlen(key), accept) != 0) return 400;
    if (!http_req_is_upgrade(req)) return 400;
    return 0;
}

void ws_reject(http_req *req, int status, const char *message) {
    if (status == 426) http_res_header(req, "Sec-WebSocket-Version", "13");
    http_res_send(req, status, "text/plain; charset=utf-8", message ? message : "Bad Request\n");
}

ws_server *ws_server_new(uv_loop_t *loop, const ws_options *o) {
    ws_server *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->loop = loop;
    if (o)
        ws->opts = *o;
    else
        ws_options_init(&ws->opts);
    ws->parser_cfg.max_message_size = ws->opts.max_message_size;
    ws->parser_cfg.on_message = on_parser_message;
    ws->parser_cfg.on_ping = on_parser_ping;
    ws->parser_cfg.on_close = on_parser_close;
    if (sio_wheel_init(loop, &ws->wheel, 10) != 0) {
        free(ws);
        return NULL;
    }
    uv_check_init(loop, &ws->flush);
    ws->flush.data = ws;
    uv_check_start(&ws->flush, flush_all);
    uv_unref((uv_handle_t *)&ws->flush);
    uv_idle_init(loop, &ws->defer);
    ws->defer.data = ws;
    uv_unref((uv_handle_t *)&ws->defer);
    ws->handles_open = 3;
    return ws;
}

size_t ws_server_connections(const ws_server *ws) {
    return ws->nconns;
}

ws_conn *ws_accept(ws_server *ws, http_req *req, const ws_callbacks *cb, void *userdata) {
    int st = ws_handshake_check(req);
    if (st) {
        ws_reject(req, st, NULL);
        return NULL;
    }
    if (ws->closing) {
        http_res_send(req, 503, "text/plain", "Service Unavailable\n");
        return NULL;
    }
    const char *key = http_req_header(req, "sec-websocket-key");
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_key(key, strlen(key), accept);

    sio_buf head = SIO_BUF_INIT;
    sio_buf_printf(&head,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                   accept);
    ws_deflate *deflate = NULL;
    const char *ext = http_req_header(req, "sec-websocket-extensions");
    if (ws->opts.permessage_deflate && ext) {
        ws_deflate_params agreed;
        char resp[WS_DEFLATE_RESPONSE_MAX];
        if (ws_deflate_negotiate(ext, strlen(ext), NULL, &agreed, resp, sizeof resp) == 1) {
            deflate = ws_deflate_new(&agreed, -1, 8);
            if (deflate) sio_buf_printf(&head, "Sec-WebSocket-Extensions: %s\r\n", resp);
        }
    }
    const char *protos = http_req_header(req, "sec-websocket-protocol");
    if (protos && ws->opts.select_subprotocol) {
        const char *p = ws->opts.select_subprotocol(protos, ws->opts.subprotocol_userdata);
        if (p && !strpbrk(p, "\r\n")) sio_buf_printf(&head, "Sec-WebSocket-Protocol: %s\r\n", p);
    }
    /* headers the caller set with http_res_header (a cookie, say) */
    if (req->res_headers.len) sio_buf_append(&head, req->res_headers.data, req->res_headers.len);
    sio_buf_append(&head, "\r\n", 2);
    sio_rcbuf *answer = sio_rcbuf_from_buf(&head);

    ws_conn *c = sio_calloc_line(sizeof *c);
    char *leftover = NULL;
    size_t leftover_len = 0;
    http_server *http = http_req_server(req); /* req is freed by the take */
    uv_tcp_t *tcp = c && answer ? http_req_take_socket(req, &leftover, &leftover_len) : NULL;
    if (!tcp) {
        free(c);
        sio_rcbuf_unref(answer);
        if (deflate) ws_deflate_free(deflate);
        http_res_send(req, 500, "text/plain", "Internal Server Error\n");
        return NULL;
    }
    c->srv = ws;
    c->tcp = tcp;
    c->http = http;
    tcp->data = c;
    c->cb = cb;
    c->ud = userdata;
    c->deflate = deflate;
    c->leftover = leftover;
    c->leftover_len = (uint32_t)leftover_len; /* at most max_head_size + 64 KiB */
    sio_timer_init(&c->timer);
    ws_parser_init(&c->parser, &ws->parser_cfg, c);
    if (deflate) ws_parser_set_deflate(&c->parser, deflate);
    c->next = ws->conns;
    if (ws->conns) ws->conns->prev = c;
    ws->conns = c;
    ws->nconns++;
    conn_enqueue(c, answer);
    sio_rcbuf_unref(answer);
    return c;
}

void ws_conn_start(ws_conn *c) {
    if (c->state == WS_CLOSED) return;
    uv_read_start((uv_stream_t *)c->tcp, sio_slab_alloc, on_read);
    if (c->leftover) {
        char *data = c->leftover;
        size_t len = c->leftover_len;
        c->leftover = NULL;
        conn_feed(c, (uint8_t *)data, len);
        free(data);
    }
}

void ws_conn_set_userdata(ws_conn *c, void *userdata) {
    c->ud = userdata;
}

void ws_conn_set_callbacks(ws_conn *c, const ws_callbacks *cb) {
    c->cb = cb;
}

void *ws_conn_userdata(const ws_conn *c) {
    return c->ud;
}

size_t ws_conn_queued(const ws_conn *c) {
    return c->qbytes + c->inflight;
}

int ws_conn_writable(const ws_conn *c) {
    /* as a Node transport's `writable`: nothing sent since the last flush
     * completed. Frames queued in an earlier turn and held back only by the
     * coalescing of flush_all count as flushed: without it they would have
     * been written at the end of their turn. */
    return c->state == WS_OPEN && !c->cutoff && c->inflight == 0 &&
           (c->qlen == 0 || c->qturn != c->srv->turn);
}

int ws_conn_deflate(const ws_conn *c) {
    return c->deflate != NULL;
}

/* ---- server shutdown -------------------------------------------------------------------- */

static void server_handle_closed(uv_handle_t *h) {
    ws_server *ws = h->data;
    if (--ws->handles_open) return;
    void (*done)(void *) = ws->done;
    void *ud = ws->done_ud;
    free(ws);
    if (done) done(ud);
}

static void wheel_closed(uv_handle_t *h) {
    ws_server *ws = (ws_server *)((char *)h - offsetof(ws_server, wheel.tick));
    h->data = ws;
    server_handle_closed(h);
}

static void server_maybe_done(ws_server *ws) {
    if (!ws->closing || ws->conns || ws->nclosing || ws->closing == 2) return;
    ws->closing = 2;
    uv_close((uv_handle_t *)&ws->flush, server_handle_closed);
    uv_close((uv_handle_t *)&ws->defer, server_handle_closed);
    sio_wheel_close(&ws->wheel, wheel_closed);
}

void ws_server_close(ws_server *ws, void (*done)(void *userdata), void *userdata) {
    if (ws->closing) return;
    ws->closing = 1;
    ws->done = done;
    ws->done_ud = userdata;
    ws_conn *next;
    for (ws_conn *c = ws->conns; c; c = next) {
        next = c->next;
        if (c->state == WS_OPEN) ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    server_maybe_done(ws);
}
