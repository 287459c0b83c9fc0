/* ws/ws_conn.c - one WebSocket connection: its output queue and what it
 * costs, writing, sending, reading and parsing, the close handshake, and its
 * accessors. See ws_internal.h.
 */
#include "ws/ws_internal.h"
#include "util/log.h"
#include "util/slab.h"
#include "ws/ws_frame.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

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
    for (uint32_t i = 0; i < c->q.len; i++) {
        conn_uncharge(c, WS_FRAME_COST(c->q.items[i]->len));
        util_rcbuf_unref(c->q.items[i]);
    }
    assert(c->charged == 0);
    http_server_input_charge(c->http, &c->in_charged, 0);
    http_server_socket_closed(c->http);
    util_vec_free(&c->q);
    free(c->leftover);
    ws_parser_free(&c->parser);
    if (c->deflate) ws_deflate_free(c->deflate);
    free(c);
    ws->nclosing--;
    ws_server_maybe_done(ws);
}

/* Closes the TCP connection now; reports `code` if nothing was reported yet. */
void ws_conn_destroy(ws_conn *c, int code, const char *reason) {
    if (c->state == WS_CLOSED) return;
    c->state = WS_CLOSED;
    ws_server *ws = c->srv;
    util_timer_stop(&ws->wheel, &c->timer);
    if (c->prev)
        c->prev->next = c->next;
    else
        ws->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    ws->nconns--;
    ws->nclosing++;
    /* off the dirty list now: the block is freed when the handle closes,
     * possibly before the next flush walks the list */
    ws_conn_unmark_dirty(c);
    conn_report_close(c, code, reason);
    uv_close((uv_handle_t *)c->tcp, conn_handle_closed);
}

void ws_abort(ws_conn *c) {
    ws_conn_destroy(c, WS_CLOSE_ABNORMAL, "aborted");
}

static void close_timeout(util_timer *t) {
    ws_conn *c = (ws_conn *)((char *)t - offsetof(ws_conn, timer));
    ws_conn_destroy(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL, "close timeout");
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

void ws_conn_unmark_dirty(ws_conn *c) {
    if (!c->dirty) return;
    *c->dirty_pprev = c->dirty_next;
    if (c->dirty_next) c->dirty_next->dirty_pprev = c->dirty_pprev;
    c->dirty = 0;
    c->dirty_next = NULL;
    c->dirty_pprev = NULL;
    c->srv->ndirty--;
}

int ws_conn_enqueue(ws_conn *c, util_rcbuf *f) {
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
    if (util_vec_push(&c->q, f) != 0) return SIO_ENOMEM;
    util_rcbuf_ref(f);
    if (c->q.len == 1) c->qturn = c->srv->turn;
    c->qbytes += f->len;
    conn_charge(c, cost);
    conn_mark_dirty(c);
    return 0;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    ws_conn *c = req->handle->data;
    free(req);
    if (status < 0 && c->state != WS_CLOSED) ws_conn_destroy(c, c->close_code, uv_strerror(status));
}

/* The output is all written and the connection is to close: close TCP now,
 * or, after a protocol error (c->linger), shut down the write side and wait
 * for the peer's EOF (on_read), or the close timeout. */
static void conn_flushed_close(ws_conn *c) {
    if (!c->linger) {
        ws_conn_destroy(c, c->close_code, "closed");
        return;
    }
    if (c->shut) return;
    c->shut = 1;
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req || uv_shutdown(req, (uv_stream_t *)c->tcp, on_shutdown) != 0) {
        free(req);
        ws_conn_destroy(c, c->close_code, "closed");
    }
}

static void on_written(uv_write_t *w, int status) {
    ws_write_req *wr = (ws_write_req *)w;
    ws_conn *c = wr->c;
    for (uint32_t i = 0; i < wr->n; i++) util_rcbuf_unref(wr->bufs[i]);
    c->inflight -= wr->bytes;
    conn_uncharge(c, wr->charged);
    free(wr);
    if (c->state == WS_CLOSED) return;
    if (status < 0) {
        ws_conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(status));
        return;
    }
    if (c->q.len)
        ws_conn_flush(c);
    else if (c->close_after_flush && !c->inflight)
        conn_flushed_close(c);
}

/* Writes what is queued: try_write first, uv_write for the rest. */
void ws_conn_flush(ws_conn *c) {
    c->pong_slot = 0; /* the queue moves: a pong queued from now on is a new one */
    while (c->q.len && c->state != WS_CLOSED) {
        if (c->inflight) return; /* on_written flushes the rest in order */
        uint32_t n = c->q.len < WS_WRITEV_MAX ? c->q.len : WS_WRITEV_MAX;
        uv_buf_t bufs[WS_WRITEV_MAX];
        size_t total = 0;
        for (uint32_t i = 0; i < n; i++) {
            bufs[i] = uv_buf_init(c->q.items[i]->data, (unsigned)c->q.items[i]->len);
            total += c->q.items[i]->len;
        }
        int w = uv_try_write((uv_stream_t *)c->tcp, bufs, n);
        size_t written = w > 0 ? (size_t)w : 0;
        if (w < 0 && w != UV_EAGAIN) {
            ws_conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(w));
            return;
        }
        /* drop the buffers written whole */
        uint32_t done = 0;
        size_t left = written;
        while (done < n && left >= c->q.items[done]->len) {
            left -= c->q.items[done]->len;
            done++;
        }
        if (done == n && left == 0) {
            for (uint32_t i = 0; i < n; i++) {
                conn_uncharge(c, WS_FRAME_COST(c->q.items[i]->len));
                util_rcbuf_unref(c->q.items[i]);
            }
            util_vec_drop_front(&c->q, n);
            c->qbytes -= total;
            continue;
        }
        /* the kernel is full: hand the rest (n - done buffers, the first cut) to uv_write */
        uint32_t rest = n - done;
        ws_write_req *wr = malloc(sizeof *wr + rest * sizeof(util_rcbuf *));
        if (!wr) {
            ws_conn_destroy(c, WS_CLOSE_INTERNAL_ERROR, "out of memory");
            return;
        }
        wr->c = c;
        wr->n = rest;
        wr->bytes = total - written;
        wr->charged = sizeof *wr + rest * sizeof(util_rcbuf *);
        for (uint32_t i = 0; i < done; i++) {
            conn_uncharge(c, WS_FRAME_COST(c->q.items[i]->len));
            util_rcbuf_unref(c->q.items[i]);
        }
        for (uint32_t i = 0; i < rest; i++) {
            wr->charged += WS_FRAME_COST(c->q.items[done + i]->len) - sizeof(util_rcbuf *);
            wr->bufs[i] = c->q.items[done + i];
            bufs[i] = uv_buf_init(c->q.items[done + i]->data, (unsigned)c->q.items[done + i]->len);
        }
        bufs[0].base += left;
        bufs[0].len -= left;
        util_vec_drop_front(&c->q, n);
        c->qbytes -= total;
        c->inflight += wr->bytes;
        /* the frames (and their slots, now in wr->bufs) moved from the queue
         * to the request, which adds its own header */
        conn_charge(c, sizeof *wr);
        int r = uv_write(&wr->w, (uv_stream_t *)c->tcp, bufs, rest, on_written);
        if (r) {
            for (uint32_t i = 0; i < rest; i++) util_rcbuf_unref(wr->bufs[i]);
            c->inflight -= wr->bytes;
            conn_uncharge(c, wr->charged);
            free(wr);
            ws_conn_destroy(c, WS_CLOSE_ABNORMAL, uv_strerror(r));
            return;
        }
        return;
    }
    if (c->state != WS_CLOSED && !c->q.len && !c->inflight && c->close_after_flush)
        conn_flushed_close(c);
}

/* ---- sending ------------------------------------------------------------------------ */

ws_frame *ws_frame_new(const void *data, size_t len, bool binary) {
    return ws_frame_from_buf(ws_frame_encode(binary ? WS_OP_BINARY : WS_OP_TEXT, data, len));
}

ws_frame *ws_frame_new2(const void *a, size_t alen, const void *b, size_t blen, bool binary) {
    ws_iov parts[2] = {{a, alen}, {b, blen}};
    return ws_frame_from_buf(ws_frame_encodev(binary ? WS_OP_BINARY : WS_OP_TEXT, 0, parts, 2));
}

void ws_frame_release(ws_frame *f) {
    util_rcbuf_unref(ws_frame_buf(f));
}

int ws_send_frame(ws_conn *c, ws_frame *f) {
    if (c->state != WS_OPEN) return SIO_ECLOSED;
    return ws_conn_enqueue(c, ws_frame_buf(f));
}

int ws_send2(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen, bool binary) {
    if (c->state != WS_OPEN) return SIO_ECLOSED;
    int op = binary ? WS_OP_BINARY : WS_OP_TEXT;
    util_rcbuf *f;
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
    int r = ws_conn_enqueue(c, f);
    util_rcbuf_unref(f);
    return r;
}

int ws_send(ws_conn *c, const void *data, size_t len, bool binary) {
    return ws_send2(c, data, len, NULL, 0, binary);
}

void ws_close(ws_conn *c, int code, const char *reason) {
    if (c->state != WS_OPEN) return;
    if (!ws_close_code_valid(code)) code = WS_CLOSE_NORMAL;
    util_rcbuf *f = ws_close_frame_encode(code, reason);
    c->close_code = (uint16_t)code;
    if (f) {
        ws_conn_enqueue(c, f);
        util_rcbuf_unref(f);
    }
    if (c->state == WS_CLOSED) return;
    c->state = WS_CLOSING;
    util_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
}

/* ---- input ---------------------------------------------------------------------------- */

static int on_parser_message(void *ud, int opcode, const uint8_t *data, size_t len) {
    ws_conn *c = ud;
    if (c->state != WS_OPEN) return 0; /* after our close frame, data is dropped */
    if (c->cb && c->cb->on_message) c->cb->on_message(c, data, len, opcode == WS_OP_BINARY, c->ud);
    return c->state == WS_CLOSED;
}

static int on_parser_ping(void *ud, const uint8_t *data, size_t len) {
    ws_conn *c = ud;
    if (c->state != WS_OPEN) return 0;
    util_rcbuf *f = ws_frame_encode(WS_OP_PONG, data, len);
    if (!f) return 1;
    if (c->pong_slot && c->pong_slot <= c->q.len && !c->cutoff) {
        /* a pong is still queued: it is replaced by this one (RFC 6455 5.5.3:
         * the most recent ping may be the only one answered), so a flood of
         * pings holds one pong, not one per ping */
        util_rcbuf **slot = &c->q.items[c->pong_slot - 1];
        conn_uncharge(c, WS_FRAME_COST((*slot)->len));
        c->qbytes -= (*slot)->len;
        util_rcbuf_unref(*slot);
        *slot = f; /* the queue takes our reference */
        c->qbytes += f->len;
        conn_charge(c, WS_FRAME_COST(f->len));
        return 0;
    }
    if (ws_conn_enqueue(c, f) == 0) c->pong_slot = c->q.len;
    util_rcbuf_unref(f);
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
        util_rcbuf *f = ws_close_frame_encode(code == WS_CLOSE_NO_STATUS ? 0 : code, NULL);
        if (f) {
            ws_conn_enqueue(c, f);
            util_rcbuf_unref(f);
        }
        if (c->state == WS_CLOSED) return 1;
        c->state = WS_CLOSING;
        conn_report_close(c, code, why);
        c->close_after_flush = 1;
        util_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
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
        util_rcbuf *f = ws_close_frame_encode(code, why);
        c->close_code = (uint16_t)code;
        if (f) {
            ws_conn_enqueue(c, f);
            util_rcbuf_unref(f);
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
    util_timer_start(&c->srv->wheel, &c->timer, c->srv->opts.close_timeout_ms, close_timeout);
    conn_mark_dirty(c);
}

static void conn_protocol_error(ws_conn *c) {
    int code = ws_parser_close_code(&c->parser);
    const char *why = ws_parser_error(&c->parser);
    LOG_DEBUG("ws", "protocol error %d: %s", code, why);
    conn_fail(c, code, why);
}

void ws_conn_feed(ws_conn *c, uint8_t *data, size_t len) {
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
        ws_conn_destroy(c, c->close_code ? c->close_code : WS_CLOSE_ABNORMAL, "connection lost");
        return;
    }
    if (nread == 0 || c->state == WS_CLOSED) return;
    c->srv->reads++;
    ws_conn_feed(c, (uint8_t *)buf->base, (size_t)nread);
}

void ws_conn_parser_config(ws_parser_config *cfg, size_t max_message_size) {
    cfg->max_message_size = max_message_size;
    cfg->on_message = on_parser_message;
    cfg->on_ping = on_parser_ping;
    cfg->on_close = on_parser_close;
}

/* ---- starting, accessors ---------------------------------------------------------------- */

void ws_conn_start(ws_conn *c) {
    if (c->state == WS_CLOSED) return;
    uv_read_start((uv_stream_t *)c->tcp, util_slab_alloc, on_read);
    if (c->leftover) {
        char *data = c->leftover;
        size_t len = c->leftover_len;
        c->leftover = NULL;
        ws_conn_feed(c, (uint8_t *)data, len);
        free(data);
    }
}

void ws_conn_set_data(ws_conn *c, void *data) {
    c->ud = data;
}

void ws_conn_set_callbacks(ws_conn *c, const ws_callbacks *cb) {
    c->cb = cb;
}

void *ws_conn_get_data(const ws_conn *c) {
    return c->ud;
}

size_t ws_conn_queued(const ws_conn *c) {
    return c->qbytes + c->inflight;
}

bool ws_conn_writable(const ws_conn *c) {
    /* as a Node transport's `writable`: nothing sent since the last flush
     * completed. Frames queued in an earlier turn and held back only by the
     * coalescing of flush_all count as flushed: without it they would have
     * been written at the end of their turn. */
    return c->state == WS_OPEN && !c->cutoff && c->inflight == 0 &&
           (c->q.len == 0 || c->qturn != c->srv->turn);
}

bool ws_conn_deflate(const ws_conn *c) {
    return c->deflate != NULL;
}
