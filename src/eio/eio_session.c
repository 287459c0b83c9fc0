/* eio/eio_session.c - Engine.IO sessions: the messages they send, their
 * lifetime (close, drain, free), their output queue, the heartbeat, and the
 * packets they receive from either transport. See eio_internal.h.
 */
#include "eio/eio_internal.h"
#include "util/log.h"
#include "util/random.h"
#include "ws/ws_frame.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void drain_timeout(util_timer *t);
static void hb_fire(util_timer *t);

/* ---- messages -------------------------------------------------------------------------- */

/* A message packet as a complete WebSocket frame (see eio_internal.h). */
static util_rcbuf *msg_encode(const char *a, size_t alen, const char *b, size_t blen, bool binary) {
    ws_iov parts[3];
    size_t n = 0;
    if (!binary) parts[n++] = (ws_iov){"4", 1};
    parts[n++] = (ws_iov){a, alen};
    parts[n++] = (ws_iov){b, blen};
    size_t payload = (binary ? 0 : 1) + alen + blen;
    util_rcbuf *f = ws_frame_encodev(binary ? WS_OP_BINARY : WS_OP_TEXT, 0, parts, n);
    if (!f) return NULL;
    f->flags = (uint32_t)(f->len - payload) | (binary ? MSG_BINARY : 0);
    return f;
}

eio_msg *eio_msg_new2(const char *a, size_t alen, const char *b, size_t blen, bool binary) {
    return eio_msg_from_buf(msg_encode(a, alen, b, blen, binary));
}

eio_msg *eio_msg_new(const char *data, size_t len, bool binary) {
    return eio_msg_from_buf(msg_encode(data, len, NULL, 0, binary));
}

void eio_msg_release(eio_msg *m) {
    util_rcbuf_unref(eio_msg_buf(m));
}

/* A control packet ("2", "3", "6", "1", "3probe") as a text frame. */
util_rcbuf *eio_control_msg(const char *text) {
    size_t len = strlen(text);
    util_rcbuf *f = ws_frame_encode(WS_OP_TEXT, text, len);
    if (f) f->flags = (uint32_t)(f->len - len);
    return f;
}

/* A control packet with data, e.g. the v3 pong "3probe" answering "2probe". */
static util_rcbuf *control_msg_data(char type, const char *data, size_t len) {
    ws_iov parts[2] = {{&type, 1}, {data, len}};
    util_rcbuf *f = ws_frame_encodev(WS_OP_TEXT, 0, parts, 2);
    if (f) f->flags = (uint32_t)(f->len - 1 - len);
    return f;
}

/* ---- session lifetime -------------------------------------------------------------------- */

void eio_ip_release(eio_server *srv, struct eio_ip *ip) {
    if (!ip) return;
    assert(ip->count > 0);
    if (--ip->count) return;
    util_map_remove(&srv->ips, ip->addr, ip->len);
    free(ip);
}

void eio_session_free(eio_socket *s) {
    assert(s->state == S_CLOSED && !s->busy && !s->dirty);
    assert(!s->poll && !s->ws && !s->probe);
    eio_queue_clear(s);
    assert(s->charged == 0);
    util_vec_free(&s->q);
    eio_server *srv = s->srv;
    eio_ip_release(srv, s->ip);
    free(s);
    srv->live--;
    eio_server_maybe_done(srv);
}

void eio_queue_clear(eio_socket *s) {
    for (uint32_t i = 0; i < s->q.len; i++) util_rcbuf_unref(s->q.items[i].buf);
    assert(s->srv->budget.used >= s->charged);
    s->srv->budget.used -= s->charged;
    s->charged = 0;
    s->q.len = 0;
    s->qbytes = 0;
}

/* Closes the session for `reason`: tells the application, closes both
 * transports, and frees it (now, or when the callback on the stack returns).
 * A close the server asked for ("forced close") first delivers what was
 * queued, as the reference's socket.close() does (e.g. the Socket.IO
 * DISCONNECT packets sent just before): a websocket sends its queued frames
 * before the close frame; a polling session drains, its GETs take the queue
 * and then, in a response of its own, the close packet (a client handles the
 * packets of a payload in one go: with the close packet in the same payload,
 * socket.io-client would see "transport close" before the DISCONNECTs). */
void eio_session_close(eio_socket *s, const char *reason) {
    eio_server *srv = s->srv;
    if (s->state == S_DRAINING) { /* the client came back, did not, or the server shuts down */
        s->state = S_CLOSED;
        util_map_remove(&srv->sessions, s->sid, strlen(s->sid));
        util_timer_stop(&srv->wheel, &s->hb_timer);
        eio_queue_clear(s);
        if (!s->busy && !s->dirty) eio_session_free(s);
        return;
    }
    if (s->state == S_CLOSED) return;
    int keep = strcmp(reason, "forced close") == 0;
    int drain = keep && s->transport == T_POLLING && s->q.len;
    /* a draining session stays in the table: marked so already, so that a
     * server close from the callback below finishes it instead of looping */
    s->state = drain ? S_DRAINING : S_CLOSED;
    if (!drain) util_map_remove(&srv->sessions, s->sid, strlen(s->sid));
    util_timer_stop(&srv->wheel, &s->hb_timer);
    util_timer_stop(&srv->wheel, &s->up_timer);
    LOG_DEBUG("engine", "session %s closed: %s", s->sid, reason);
    s->busy++;
    if (srv->cb.on_close) srv->cb.on_close(s, reason, srv->ud);
    s->busy--;
    if (s->state == S_CLOSED) drain = 0; /* finished during the callback */
    if (!keep) eio_queue_clear(s);
    if (s->poll && s->client_closed) {
        /* the client said close (a POST while its GET waits): the GET ends
         * with a noop, as the reference's polling transport answers it */
        eio_poll_respond(s, 0); /* what is queued, or a noop */
    }
    if (s->poll) eio_poll_respond(s, !drain); /* the close packet now, or after the queue */
    if (!drain) eio_queue_clear(s);
    if (s->ws) {
        ws_conn_set_data(s->ws, NULL);
        ws_close(s->ws, WS_CLOSE_NORMAL, "");
        s->ws = NULL;
    }
    if (s->probe) {
        ws_conn_set_data(s->probe, NULL);
        ws_close(s->probe, WS_CLOSE_NORMAL, "");
        s->probe = NULL;
    }
    if (drain) {
        s->state = S_DRAINING;
        util_timer_start(&srv->wheel, &s->hb_timer,
                         (uint64_t)srv->opts.ping_interval + srv->opts.ping_timeout, drain_timeout);
        return;
    }
    if (!s->busy && !s->dirty) eio_session_free(s);
}

static void drain_timeout(util_timer *t) {
    eio_session_close((eio_socket *)((char *)t - offsetof(eio_socket, hb_timer)), "drain timeout");
}

/* Frees a session that the application never heard of (its handshake could
 * not be answered). */
void eio_session_discard(eio_socket *s) {
    assert(s->state == S_OPEN && !s->busy && !s->q.len);
    s->state = S_CLOSED;
    util_map_remove(&s->srv->sessions, s->sid, UTIL_RANDOM_ID_LEN);
    eio_session_free(s);
}

/* Ends a stretch of work on s begun with s->busy++; frees it if it closed meanwhile. */
void eio_session_release(eio_socket *s) {
    if (--s->busy == 0 && s->state == S_CLOSED && !s->dirty) eio_session_free(s);
}

/* ---- output ----------------------------------------------------------------------------- */

void eio_session_mark_dirty(eio_socket *s) {
    if (s->dirty) return;
    s->dirty = 1;
    s->dirty_next = s->srv->dirty;
    s->srv->dirty = s;
}

int eio_queue_push(eio_socket *s, util_rcbuf *buf, uint32_t off, int binary) {
    if (util_vec_push(&s->q, ((eio_qent){buf, off, (uint32_t)binary})) != 0) return SIO_ENOMEM;
    util_rcbuf_ref(buf);
    s->qbytes += buf->len - off;
    size_t cost = QENT_COST(buf->len);
    s->charged += cost;
    sio_budget *b = &s->srv->budget;
    b->used += cost;
    if (b->used > b->peak) b->peak = b->used;
    return 0;
}

int eio_ws_send(eio_socket *s, ws_conn *c, util_rcbuf *m, uint32_t off, bool binary) {
    if (binary && s->protocol == 3) /* v3 binary frames start with the packet type byte */
        return ws_send2(c, "\x04", 1, m->data + off, m->len - off, true);
    return ws_send_frame(c, ws_frame_from_buf(m));
}

void eio_queue_to_ws(eio_socket *s, ws_conn *c) {
    for (uint32_t i = 0; i < s->q.len; i++) {
        eio_qent *e = &s->q.items[i];
        eio_ws_send(s, c, e->buf, e->off, e->binary);
    }
    eio_queue_clear(s);
}

/* Sends one prepared message (frame) on the session's current transport. */
static int session_send(eio_socket *s, util_rcbuf *m) {
    if (s->state != S_OPEN) return SIO_ECLOSED;
    int binary = (m->flags & MSG_BINARY) != 0;
    if (s->transport == T_WEBSOCKET && s->ws) return eio_ws_send(s, s->ws, m, MSG_HDR(m), binary);
    if (s->overflow) return SIO_EBUSY;
    /* A client that stops polling must not grow the server's memory without
     * bound (the reference has no limit): past four times the WebSocket
     * transport's limit, with no GET waiting for it, the session is closed, by
     * the next flush rather than here (this send may be one of a broadcast's;
     * closing calls the application back). */
    size_t cost = QENT_COST(m->len);
    sio_budget *b = &s->srv->budget;
    int over_session = s->charged + cost > s->srv->max_queue_bytes;
    int over_all = b->limit && b->used + cost > b->limit;
    if (!s->poll && s->q.len && (over_session || over_all)) {
        if (over_session)
            LOG_WARN("engine",
                     "polling output over %zu bytes and no GET to take it: closing session %s",
                     s->srv->max_queue_bytes, s->sid);
        else
            LOG_WARN("engine",
                     "output of all sessions over %zu bytes and no GET to take session %s's: "
                     "closing it",
                     b->limit, s->sid);
        s->overflow = 1;
        eio_session_mark_dirty(s);
        return SIO_EBUSY;
    }
    int r = eio_queue_push(s, m, MSG_HDR(m), binary);
    if (r) return r;
    if (s->poll) eio_session_mark_dirty(s);
    return 0;
}

int eio_send_msg(eio_socket *s, eio_msg *m) {
    return session_send(s, eio_msg_buf(m));
}

int eio_send(eio_socket *s, const char *data, size_t len, bool binary) {
    if (s->state != S_OPEN) return SIO_ECLOSED;
    if (s->transport == T_WEBSOCKET && s->ws && !(binary && s->protocol == 3))
        return binary ? ws_send(s->ws, data, len, true) : ws_send2(s->ws, "4", 1, data, len, false);
    util_rcbuf *m = msg_encode(data, len, NULL, 0, binary);
    if (!m) return SIO_ENOMEM;
    int r = session_send(s, m);
    util_rcbuf_unref(m);
    return r;
}

void eio_flush_all(uv_check_t *h) {
    eio_server *srv = h->data;
    while (srv->dirty) {
        eio_socket *s = srv->dirty;
        srv->dirty = s->dirty_next;
        s->dirty = 0;
        if (s->state == S_CLOSED) {
            if (!s->busy) eio_session_free(s);
            continue;
        }
        if (s->overflow) {
            eio_session_close(s, "transport error");
            continue;
        }
        if (s->poll && s->q.len) eio_poll_respond(s, 0);
    }
}

/* ---- heartbeat ------------------------------------------------------------------------------ */

void eio_hb_arm(eio_socket *s) {
    eio_server *srv = s->srv;
    /* the session is dead past this moment even if the wheel's tick is late:
     * requests check it (session_expired) */
    s->deadline = uv_now(srv->loop) + srv->opts.ping_interval + srv->opts.ping_timeout;
    if (s->protocol == 3) {
        /* v3: the client pings; it is gone when no ping came in interval + timeout */
        util_timer_start(&srv->wheel, &s->hb_timer,
                         (uint64_t)srv->opts.ping_interval + srv->opts.ping_timeout, hb_fire);
    } else {
        s->hb = HB_INTERVAL;
        util_timer_start(&srv->wheel, &s->hb_timer, srv->opts.ping_interval, hb_fire);
    }
}

static void hb_fire(util_timer *t) {
    eio_socket *s = (eio_socket *)((char *)t - offsetof(eio_socket, hb_timer));
    eio_server *srv = s->srv;
    if (s->protocol == 3 || s->hb == HB_WAIT_PONG) {
        eio_session_close(s, "ping timeout");
        return;
    }
    s->hb = HB_WAIT_PONG;
    util_timer_start(&srv->wheel, &s->hb_timer, srv->opts.ping_timeout, hb_fire);
    session_send(s, srv->m_ping);
}

/* ---- incoming packets --------------------------------------------------------------------------
 */

/* Handles one packet from either transport; returns 0, or -1 if the session closed. */
int eio_session_packet(eio_socket *s, const eio_packet *p) {
    eio_server *srv = s->srv;
    switch (p->type) {
    case EIO_MESSAGE:
        if (srv->cb.on_message) srv->cb.on_message(s, p->data, p->len, p->binary, srv->ud);
        break;
    case EIO_PONG:
        if (s->protocol == 4 && s->hb == HB_WAIT_PONG) eio_hb_arm(s);
        break;
    case EIO_PING:
        if (s->protocol == 3) {
            /* v3: the client pings, and the pong carries the ping's data */
            if (p->len == 0 || p->binary) {
                session_send(s, srv->m_pong);
            } else {
                util_rcbuf *m = control_msg_data('3', p->data, p->len);
                if (m) {
                    session_send(s, m);
                    util_rcbuf_unref(m);
                }
            }
            eio_hb_arm(s);
        }
        break;
    case EIO_CLOSE:
        s->client_closed = 1;
        eio_session_close(s, "transport close");
        break;
    case EIO_NOOP:
    case EIO_UPGRADE:
        break;
    default:
        eio_session_close(s, "parse error");
        break;
    }
    return s->state == S_OPEN ? 0 : -1;
}

/* ---- new sessions -------------------------------------------------------------------------- */

/* Counts one more session from addr; the entry is made at its first session. */
static struct eio_ip *ip_acquire(eio_server *srv, const char *addr) {
    size_t len = strlen(addr);
    struct eio_ip *ip = util_map_get(&srv->ips, addr, len);
    if (ip) {
        ip->count++;
        return ip;
    }
    ip = malloc(sizeof *ip + len + 1);
    if (!ip) return NULL;
    ip->count = 1;
    ip->len = len;
    memcpy(ip->addr, addr, len + 1);
    if (util_map_put(&srv->ips, ip->addr, len, ip) != 0) {
        free(ip);
        return NULL;
    }
    return ip;
}

eio_socket *eio_session_new(eio_server *srv, http_req *req, int protocol, int transport) {
    struct eio_ip *ip = ip_acquire(srv, http_req_remote_addr(req));
    if (!ip) return NULL;
    eio_socket *s = calloc(1, sizeof *s);
    if (!s) {
        eio_ip_release(srv, ip);
        return NULL;
    }
    s->ip = ip;
    s->srv = srv;
    s->protocol = (uint8_t)protocol;
    s->transport = (uint8_t)transport;
    util_timer_init(&s->hb_timer);
    util_timer_init(&s->up_timer);
    if (util_random_id(s->sid) != 0 ||
        util_map_put(&srv->sessions, s->sid, UTIL_RANDOM_ID_LEN, s) != 0) {
        eio_ip_release(srv, ip);
        free(s);
        return NULL;
    }
    srv->live++;
    return s;
}

/* ---- accessors --------------------------------------------------------------------------------
 */

const char *eio_socket_id(const eio_socket *s) {
    return s->sid;
}

const char *eio_socket_transport(const eio_socket *s) {
    return s->transport == T_WEBSOCKET ? "websocket" : "polling";
}

int eio_socket_protocol(const eio_socket *s) {
    return s->protocol;
}

void eio_socket_set_data(eio_socket *s, void *data) {
    s->ud = data;
}

void *eio_socket_get_data(const eio_socket *s) {
    return s->ud;
}

size_t eio_socket_queued(const eio_socket *s) {
    return s->qbytes + (s->ws ? ws_conn_queued(s->ws) : 0);
}

bool eio_socket_writable(const eio_socket *s) {
    if (s->state != S_OPEN) return false;
    if (s->transport == T_WEBSOCKET) return s->ws && ws_conn_writable(s->ws);
    return s->poll != NULL && s->q.len == 0;
}

void eio_socket_close(eio_socket *s) {
    eio_session_close(s, "forced close");
}
