/* eio/eio_server.c - the Engine.IO server: request routing and errors, the
 * session table, the long-polling transport, the WebSocket transport, the
 * upgrade between them, and the heartbeat.
 *
 * A session's outgoing packets are refcounted buffers. A message is built
 * once as a complete WebSocket frame ("4" + data behind a frame header,
 * see eio_msg_new): WebSocket sessions queue that frame as it is; polling
 * sessions queue the same buffer and use the bytes after the header. Polling
 * output is batched: a session with output and a waiting GET is answered by a
 * uv_check handle at the end of the loop iteration, so every packet queued in
 * one iteration leaves in one HTTP response.
 *
 * A session is freed as soon as it closes, unless a callback into the
 * application is on the stack (s->busy): then it is freed when that unwinds.
 */
#include "socketio/eio.h"
#include "socketio/ws.h"

#include "eio/eio_packet.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/map.h"
#include "util/timer_wheel.h"
#include "ws/ws_frame.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { T_POLLING = 0, T_WEBSOCKET = 1 };
/* S_DRAINING: closed by the server, kept (in the table, with its queue) until
 * the polling client's GETs have taken what was queued, then the close packet */
enum { S_OPEN = 0, S_CLOSED = 1, S_DRAINING = 2 };
enum { HB_INTERVAL = 0, HB_WAIT_PONG = 1 };
/* upgrade states: no probe; a probe websocket is open; its "2probe" was answered */
enum { UP_NONE = 0, UP_PROBING = 1, UP_PROBED = 2 };

/* eio_msg flags (sio_rcbuf.flags): frame header length, binary bit */
#define MSG_HDR(m) ((m)->flags & 0xff)
#define MSG_BINARY 0x100

typedef struct eio_qent {
    sio_rcbuf *buf;
    uint32_t off;
    uint32_t binary;
} eio_qent;

/* What a queued packet costs a polling session: its buffer's block and its
 * queue entry (a shared broadcast buffer is charged to every session holding
 * it: each could be the last to let go). */
#define QENT_COST(len) (sio_rcbuf_cost(len) + sizeof(eio_qent))

/* Sessions from one remote address (max_sessions_per_ip). */
struct eio_ip {
    size_t count;
    size_t len;
    char addr[];
};

struct eio_socket {
    /* what sending reads (session_send), in the first 16 bytes: never split
     * across two cache lines, even at malloc's 16-byte alignment */
    ws_conn *ws; /* the websocket transport */
    uint8_t protocol;
    uint8_t transport;
    uint8_t state;
    uint8_t hb;
    uint8_t dirty;
    uint8_t upgrading;
    uint8_t b64; /* v3 polling client that cannot take binary payloads */
    uint8_t busy;
    uint8_t overflow;      /* polling output over the limit with no GET: closed at the flush */
    uint8_t client_closed; /* the client sent a close packet */
    eio_server *srv;
    struct eio_ip *ip; /* the remote address's session count */
    uint64_t deadline; /* loop time (ms) past which the heartbeat has failed, 0: none */
    size_t charged;    /* memory the polling queue holds (QENT_COST), also in srv->budget */
    sio_timer hb_timer;
    sio_timer up_timer;
    char sid[24];
    http_req *poll; /* a GET waiting for packets */
    ws_conn *probe; /* a websocket being upgraded to */
    eio_qent *q;
    uint32_t qlen, qcap;
    size_t qbytes;
    void *ud;
    eio_socket *dirty_next;
};

struct eio_server {
    uv_loop_t *loop;
    eio_options opts;
    eio_callbacks cb;
    void *ud;
    char *path;
    char *cookie;
    char *cors_origin, *cors_methods, *cors_headers;
    http_server *http;
    ws_server *ws;
    sio_map sessions;
    sio_wheel wheel;
    uv_check_t flush;
    eio_socket *dirty;
    size_t max_queue_bytes; /* a polling session's output limit (4 x the WebSocket one) */
    sio_budget budget;      /* all queued output, polling and WebSocket (max_buffered_bytes) */
    sio_map ips;            /* remote address -> struct eio_ip, for max_sessions_per_ip */
    int closing;
    size_t live; /* sessions allocated and not yet freed (closed ones may wait for a callback) */
    unsigned handles;
    void (*done)(void *);
    void *done_ud;
    /* packets every session sends, built once */
    eio_msg *m_ping, *m_pong, *m_noop, *m_close, *m_probe;
};

static const ws_callbacks ws_transport_cb;
static const ws_callbacks ws_probe_cb;
static const ws_callbacks ws_refused_cb; /* a WebSocket closed as soon as accepted */

void eio_options_init(eio_options *o) {
    memset(o, 0, sizeof *o);
    o->path = "/engine.io/";
    o->ping_interval = 25000;
    o->ping_timeout = 20000;
    o->upgrade_timeout = 10000;
    o->max_http_buffer_size = 1000000;
    o->transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    o->allow_upgrades = 1;
    o->max_sessions = 65536;
    o->max_sessions_per_ip = 0;
    o->max_buffered_bytes = (size_t)256 << 20;
}

/* ---- messages -------------------------------------------------------------------------- */

eio_msg *eio_msg_new2(const char *a, size_t alen, const char *b, size_t blen, int binary) {
    ws_iov parts[3];
    size_t n = 0;
    if (!binary) parts[n++] = (ws_iov){"4", 1};
    parts[n++] = (ws_iov){a, alen};
    parts[n++] = (ws_iov){b, blen};
    size_t payload = (binary ? 0 : 1) + alen + blen;
    sio_rcbuf *f = ws_frame_encodev(binary ? WS_OP_BINARY : WS_OP_TEXT, 0, parts, n);
    if (!f) return NULL;
    f->flags = (uint32_t)(f->len - payload) | (binary ? MSG_BINARY : 0);
    return f;
}

eio_msg *eio_msg_new(const char *data, size_t len, int binary) {
    return eio_msg_new2(data, len, NULL, 0, binary);
}

void eio_msg_release(eio_msg *m) {
    sio_rcbuf_unref(m);
}

/* A control packet ("2", "3", "6", "1", "3probe") as a text frame. */
static eio_msg *control_msg(const char *text) {
    size_t len = strlen(text);
    sio_rcbuf *f = ws_frame_encode(WS_OP_TEXT, text, len);
    if (f) f->flags = (uint32_t)(f->len - len);
    return f;
}

/* A control packet with data, e.g. the v3 pong "3probe" answering "2probe". */
static eio_msg *control_msg_data(char type, const char *data, size_t len) {
    ws_iov parts[2] = {{&type, 1}, {data, len}};
    sio_rcbuf *f = ws_frame_encodev(WS_OP_TEXT, 0, parts, 2);
    if (f) f->flags = (uint32_t)(f->len - 1 - len);
    return f;
}

/* ---- session lifetime -------------------------------------------------------------------- */

static void server_maybe_done(eio_server *srv);

static void queue_clear(eio_socket *s);

static void ip_release(eio_server *srv, struct eio_ip *ip) {
    if (!ip) return;
    assert(ip->count > 0);
    if (--ip->count) return;
    sio_map_remove(&srv->ips, ip->addr, ip->len);
    free(ip);
}

static void session_free(eio_socket *s) {
    assert(s->state == S_CLOSED && !s->busy && !s->dirty);
    assert(!s->poll && !s->ws && !s->probe);
    queue_clear(s);
    assert(s->charged == 0);
    free(s->q);
    eio_server *srv = s->srv;
    ip_release(srv, s->ip);
    free(s);
    srv->live--;
    server_maybe_done(srv);
}

static void queue_clear(eio_socket *s) {
    for (uint32_t i = 0; i < s->qlen; i++) sio_rcbuf_unref(s->q[i].buf);
    assert(s->srv->budget.used >= s->charged);
    s->srv->budget.used -= s->charged;
    s->charged = 0;
    s->qlen = 0;
    s->qbytes = 0;
}

static void poll_respond(eio_socket *s, int with_close);
static int queue_push(eio_socket *s, sio_rcbuf *buf, uint32_t off, int binary);
static void cors_headers(eio_server *srv, http_req *req);

static void drain_timeout(sio_timer *t);

/* Closes the session for `reason`: tells the application, closes both
 * transports, and frees it (now, or when the callback on the stack returns).
 * A close the server asked for ("forced close") first delivers what was
 * queued, as the reference's socket.close() does (e.g. the Socket.IO
 * DISCONNECT packets sent just before): a websocket sends its queued frames
 * before the close frame; a polling session drains, its GETs take the queue
 * and then, in a response of its own, the close packet (a client handles the
 * packets of a payload in one go: with the close packet in the same payload,
 * socket.io-client would see "transport close" before the DISCONNECTs). */
static void session_close(eio_socket *s, const char *reason) {
    eio_server *srv = s->srv;
    if (s->state == S_DRAINING) { /* the client came back, did not, or the server shuts down */
        s->state = S_CLOSED;
        sio_map_remove(&srv->sessions, s->sid, strlen(s->sid));
        sio_timer_stop(&srv->wheel, &s->hb_timer);
        queue_clear(s);
        if (!s->busy && !s->dirty) session_free(s);
        return;
    }
    if (s->state == S_CLOSED) return;
    int keep = strcmp(reason, "forced close") == 0;
    int drain = keep && s->transport == T_POLLING && s->qlen;
    /* a draining session stays in the table: marked so already, so that a
     * server close from the callback below finishes it instead of looping */
    s->state = drain ? S_DRAINING : S_CLOSED;
    if (!drain) sio_map_remove(&srv->sessions, s->sid, strlen(s->sid));
    sio_timer_stop(&srv->wheel, &s->hb_timer);
    sio_timer_stop(&srv->wheel, &s->up_timer);
    LOG_DEBUG("engine", "session %s closed: %s", s->sid, reason);
    s->busy++;
    if (srv->cb.on_close) srv->cb.on_close(s, reason, srv->ud);
    s->busy--;
    if (s->state == S_CLOSED) drain = 0; /* finished during the callback */
    if (!keep) queue_clear(s);
    if (s->poll && s->client_closed) {
        /* the client said close (a POST while its GET waits): the GET ends
         * with a noop, as the reference's polling transport answers it */
        queue_push(s, srv->m_noop, MSG_HDR(srv->m_noop), 0);
        poll_respond(s, 0);
    }
    if (s->poll) poll_respond(s, !drain); /* the close packet now, or after the queue */
    if (!drain) queue_clear(s);
    if (s->ws) {
        ws_conn_set_userdata(s->ws, NULL);
        ws_close(s->ws, 1000, "");
        s->ws = NULL;
    }
    if (s->probe) {
        ws_conn_set_userdata(s->probe, NULL);
        ws_close(s->probe, 1000, "");
        s->probe = NULL;
    }
    if (drain) {
        s->state = S_DRAINING;
        sio_timer_start(&srv->wheel, &s->hb_timer,
                        (uint64_t)srv->opts.ping_interval + srv->opts.ping_timeout, drain_timeout);
        return;
    }
    if (!s->busy && !s->dirty) session_free(s);
}

static void drain_timeout(sio_timer *t) {
    session_close((eio_socket *)((char *)t - offsetof(eio_socket, hb_timer)), "drain timeout");
}

/* Ends a stretch of work on s begun with s->busy++; frees it if it closed meanwhile. */
static void session_release(eio_socket *s) {
    if (--s->busy == 0 && s->state == S_CLOSED && !s->dirty) session_free(s);
}

/* ---- output ----------------------------------------------------------------------------- */

static void session_mark_dirty(eio_socket *s) {
    if (s->dirty) return;
    s->dirty = 1;
    s->dirty_next = s->srv->dirty;
    s->srv->dirty = s;
}

static int queue_push(eio_socket *s, sio_rcbuf *buf, uint32_t off, int binary) {
    if (s->qlen == s->qcap) {
        uint32_t cap = s->qcap ? s->qcap * 2 : 4;
        eio_qent *q = realloc(s->q, cap * sizeof *q);
        if (!q) return SIO_ENOMEM;
        s->q = q;
        s->qcap = cap;
    }
    s->q[s->qlen++] = (eio_qent){sio_rcbuf_ref(buf), off, (uint32_t)binary};
    s->qbytes += buf->len - off;
    size_t cost = QENT_COST(buf->len);
    s->charged += cost;
    sio_budget *b = &s->srv->budget;
    b->used += cost;
    if (b->used > b->peak) b->peak = b->used;
    return 0;
}

/* Sends one prepared message (frame) on the session's current transport. */
static int session_send(eio_socket *s, eio_msg *m) {
    if (s->state != S_OPEN) return SIO_ECLOSED;
    int binary = (m->flags & MSG_BINARY) != 0;
    if (s->transport == T_WEBSOCKET && s->ws) {
        if (binary && s->protocol == 3) {
            /* v3 binary frames start with the packet type byte */
            uint32_t hdr = MSG_HDR(m);
            return ws_send2(s->ws, 1, "\x04", 1, m->data + hdr, m->len - hdr);
        }
        return ws_send_frame(s->ws, m);
    }
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
    if (!s->poll && s->qlen && (over_session || over_all)) {
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
        session_mark_dirty(s);
        return SIO_EBUSY;
    }
    int r = queue_push(s, m, MSG_HDR(m), binary);
    if (r) return r;
    if (s->poll) session_mark_dirty(s);
    return 0;
}

int eio_send_msg(eio_socket *s, eio_msg *m) {
    return session_send(s, m);
}

int eio_send(eio_socket *s, const char *data, size_t len, int binary) {
    if (s->state != S_OPEN) return SIO_ECLOSED;
    if (s->transport == T_WEBSOCKET && s->ws && !(binary && s->protocol == 3))
        return binary ? ws_send(s->ws, 1, data, len) : ws_send2(s->ws, 0, "4", 1, data, len);
    eio_msg *m = eio_msg_new(data, len, binary);
    if (!m) return SIO_ENOMEM;
    int r = session_send(s, m);
    sio_rcbuf_unref(m);
    return r;
}

/* Answers the waiting GET with everything queued (then a close packet, with_close). */
static void poll_respond(eio_socket *s, int with_close) {
    http_req *req = s->poll;
    if (!req) return;
    s->poll = NULL;
    http_req_on_abort(req, NULL, NULL);
    eio_payload_format fmt = EIO_PAYLOAD_V4;
    if (s->protocol == 3) {
        fmt = EIO_PAYLOAD_V3_TEXT;
        if (!s->b64)
            for (uint32_t i = 0; i < s->qlen; i++)
                if (s->q[i].binary) fmt = EIO_PAYLOAD_V3_BINARY;
    }
    sio_buf body = SIO_BUF_INIT;
    eio_payload_writer w;
    eio_payload_writer_init(&w, &body, fmt);
    for (uint32_t i = 0; i < s->qlen; i++) {
        eio_qent *e = &s->q[i];
        const char *d = e->buf->data + e->off;
        size_t len = e->buf->len - e->off;
        eio_packet p;
        if (e->binary)
            p = (eio_packet){.type = EIO_MESSAGE, .binary = true, .data = d, .len = len};
        else
            p = (eio_packet){.type = (eio_packet_type)(d[0] - '0'),
                             .binary = false,
                             .data = d + 1,
                             .len = len - 1};
        eio_payload_write(&w, &p);
    }
    if (with_close) {
        eio_packet p = {.type = EIO_CLOSE, .data = "", .len = 0};
        eio_payload_write(&w, &p);
    }
    eio_payload_finish(&w);
    queue_clear(s);
    cors_headers(s->srv, req);
    http_res_header(req, "Content-Type",
                    fmt == EIO_PAYLOAD_V3_BINARY ? "application/octet-stream"
                                                 : "text/plain; charset=UTF-8");
    http_res_end(req, body.data, body.len);
    sio_buf_free(&body);
}

static void flush_all(uv_check_t *h) {
    eio_server *srv = h->data;
    while (srv->dirty) {
        eio_socket *s = srv->dirty;
        srv->dirty = s->dirty_next;
        s->dirty = 0;
        if (s->state == S_CLOSED) {
            if (!s->busy) session_free(s);
            continue;
        }
        if (s->overflow) {
            session_close(s, "transport error");
            continue;
        }
        if (s->poll && s->qlen) poll_respond(s, 0);
    }
}

/* ---- heartbeat ------------------------------------------------------------------------------ */

static void hb_fire(sio_timer *t);

static void hb_arm(eio_socket *s) {
    eio_server *srv = s->srv;
    /* the session is dead past this moment even if the wheel's tick is late:
     * requests check it (session_expired) */
    s->deadline = uv_now(srv->loop) + srv->opts.ping_interval + srv->opts.ping_timeout;
    if (s->protocol == 3) {
        /* v3: the client pings; it is gone when no ping came in interval + timeout */
        sio_timer_start(&srv->wheel, &s->hb_timer,
                        (uint64_t)srv->opts.ping_interval + srv->opts.ping_timeout, hb_fire);
    } else {
        s->hb = HB_INTERVAL;
        sio_timer_start(&srv->wheel, &s->hb_timer, srv->opts.ping_interval, hb_fire);
    }
}

static void hb_fire(sio_timer *t) {
    eio_socket *s = (eio_socket *)((char *)t - offsetof(eio_socket, hb_timer));
    eio_server *srv = s->srv;
    if (s->protocol == 3 || s->hb == HB_WAIT_PONG) {
        session_close(s, "ping timeout");
        return;
    }
    s->hb = HB_WAIT_PONG;
    sio_timer_start(&srv->wheel, &s->hb_timer, srv->opts.ping_timeout, hb_fire);
    session_send(s, srv->m_ping);
}

/* ---- incoming packets --------------------------------------------------------------------------
 */

/* Handles one packet from either transport; returns 0, or -1 if the session closed. */
static int session_packet(eio_socket *s, const eio_packet *p) {
    eio_server *srv = s->srv;
    switch (p->type) {
    case EIO_MESSAGE:
        if (srv->cb.on_message) srv->cb.on_message(s, p->data, p->len, p->binary, srv->ud);
        break;
    case EIO_PONG:
        if (s->protocol == 4 && s->hb == HB_WAIT_PONG) hb_arm(s);
        break;
    case EIO_PING:
        if (s->protocol == 3) {
            /* v3: the client pings, and the pong carries the ping's data */
            if (p->len == 0 || p->binary) {
                session_send(s, srv->m_pong);
            } else {
                eio_msg *m = control_msg_data('3', p->data, p->len);
                if (m) {
                    session_send(s, m);
                    sio_rcbuf_unref(m);
                }
            }
            hb_arm(s);
        }
        break;
    case EIO_CLOSE:
        s->client_closed = 1;
        session_close(s, "transport close");
        break;
    case EIO_NOOP:
    case EIO_UPGRADE:
        break;
    default:
        session_close(s, "parse error");
        break;
    }
    return s->state == S_OPEN ? 0 : -1;
}

/* ---- HTTP: errors, CORS ---------------------------------------------------------------------- */

static void cors_headers(eio_server *srv, http_req *req) {
    if (!srv->cors_origin) return;
    const char *origin = http_req_header(req, "origin");
    if (strcmp(srv->cors_origin, "*") == 0) {
        /* a literal "*", never the request's origin: echoing any origin with
         * credentials would let every site drive a credentialed session
         * (browsers refuse credentials with "*", which is the point) */
        http_res_header(req, "Access-Control-Allow-Origin", "*");
        return;
    } else if (origin) {
        /* an allow-list: echo the origin only when listed */
        size_t olen = strlen(origin);
        const char *p = srv->cors_origin;
        while (*p) {
            while (*p == ' ' || *p == ',') p++;
            const char *e = p;
            while (*e && *e != ',') e++;
            const char *t = e;
            while (t > p && t[-1] == ' ') t--;
            if ((size_t)(t - p) == olen && strncmp(p, origin, olen) == 0) {
                http_res_header(req, "Access-Control-Allow-Origin", origin);
                break;
            }
            p = e;
        }
        http_res_header(req, "Vary", "Origin");
    }
    if (srv->opts.cors.credentials)
        http_res_header(req, "Access-Control-Allow-Credentials", "true");
}

static void send_error(eio_server *srv, http_req *req, int code) {
    cors_headers(srv, req);
    http_res_send(req, eio_error_status(code), "application/json", eio_error_body(code));
}

/* A handshake refused by a limit: 503, so that clients retry later, with an
 * Engine.IO error body that says which limit. */
static void send_refusal(eio_server *srv, http_req *req, const char *why) {
    sio_buf body = SIO_BUF_INIT;
    sio_buf_printf(&body, "{\"code\":%d,\"message\":\"%s\"}", EIO_ERR_BAD_REQUEST, why);
    cors_headers(srv, req);
    http_res_header(req, "Retry-After", "1");
    http_res_send(req, 503, "application/json", body.data ? body.data : "");
    sio_buf_free(&body);
}

/* ---- polling transport -------------------------------------------------------------------------
 */

static void poll_aborted(http_req *req, void *ud) {
    eio_socket *s = ud;
    s->poll = NULL;
    session_close(s, "transport error");
}

static void polling_get(eio_socket *s, http_req *req) {
    if (s->poll) {
        /* a second GET while one waits: the client is confused; end the session */
        send_error(s->srv, req, EIO_ERR_BAD_REQUEST);
        session_close(s, "transport error");
        return;
    }
    s->poll = req;
    http_req_on_abort(req, poll_aborted, s);
    /* Once the probe is answered the client pauses polling, which waits for its
     * GET to come back: a GET that arrives after the probe's noop (the client
     * polled again before reading "3probe") gets a noop too, at once, rather
     * than at the next ping (never, for a v3 client, whose pings wait for the
     * upgrade: the session would time out). */
    if (s->upgrading == UP_PROBED && !s->qlen)
        queue_push(s, s->srv->m_noop, MSG_HDR(s->srv->m_noop), 0);
    if (s->qlen) session_mark_dirty(s); /* answered at the end of this iteration */
}

/* A POST over maxHttpBufferSize never reaches polling_post: the HTTP layer
 * refuses it with 413 (the route's max_body), and tells us here so that the
 * session ends too, as with the reference server. */
static void body_too_large(http_req *req, void *ud) {
    eio_server *srv = ud;
    const char *sid = http_req_query(req, "sid");
    eio_socket *s = sid ? sio_map_get(&srv->sessions, sid, strlen(sid)) : NULL;
    if (s && s->transport == T_POLLING) session_close(s, "transport error");
}

/* The HTTP layer's own error answers on our route (a malformed or oversized
 * body, a slow one) carry the CORS headers that ours do: without them a
 * browser sees a network error instead of the status. */
static void http_error_headers(http_req *req, int status, void *ud) {
    cors_headers(ud, req);
}

static void polling_post(eio_socket *s, http_req *req) {
    eio_server *srv = s->srv;
    size_t len;
    const char *body = http_req_body(req, &len);
    /* the decoder writes base64 binary in place: work on the request's own buffer */
    char *data = (char *)body;
    const char *ct = http_req_header(req, "content-type");
    eio_payload_format fmt = EIO_PAYLOAD_V4;
    if (s->protocol == 3)
        fmt = ct && strncasecmp(ct, "application/octet-stream", 24) == 0 ? EIO_PAYLOAD_V3_BINARY
                                                                         : EIO_PAYLOAD_V3_TEXT;
    eio_payload_iter it;
    /* No packet-count limit beyond the body's: engine.io-client puts everything
     * buffered into one POST (up to maxPayload bytes), which can be thousands
     * of small packets, and each packet takes at least one byte anyway. */
    eio_payload_iter_init(&it, fmt, data, len, len < UINT_MAX ? (unsigned)len + 1 : UINT_MAX);
    eio_packet p;
    int r;
    s->busy++;
    while ((r = eio_payload_next(&it, &p)) == 1)
        if (session_packet(s, &p) != 0) break;
    if (r < 0 && s->state == S_OPEN) {
        send_error(srv, req, EIO_ERR_BAD_REQUEST);
        session_close(s, "parse error");
    } else {
        cors_headers(srv, req);
        http_res_send(req, 200, "text/html", "ok");
    }
    session_release(s);
}

/* ---- websocket transport ------------------------------------------------------------------------
 */

static void ws_transport_message(ws_conn *c, int binary, const uint8_t *data, size_t len,
                                 void *ud) {
    eio_socket *s = ud;
    if (!s || s->state != S_OPEN) return;
    eio_packet p;
    if (eio_ws_decode((char *)data, len, binary, s->protocol, &p) != 0) {
        session_close(s, "parse error");
        return;
    }
    s->busy++;
    session_packet(s, &p);
    session_release(s);
}

static void ws_transport_close(ws_conn *c, int code, const char *reason, void *ud) {
    eio_socket *s = ud;
    if (!s) return;
    s->ws = NULL;
    int error = code == 1002 || code == 1007 || code == 1008 || code == 1009 || code == 1011;
    session_close(s, error ? "transport error" : "transport close");
}

static const ws_callbacks ws_transport_cb = {
    .on_message = ws_transport_message,
    .on_close = ws_transport_close,
};

/* -- upgrade from polling: "2probe" -> "3probe", then "5" switches the transport -- */

static void upgrade_timeout(sio_timer *t) {
    eio_socket *s = (eio_socket *)((char *)t - offsetof(eio_socket, up_timer));
    if (!s->probe) return;
    LOG_DEBUG("engine", "session %s: upgrade timed out", s->sid);
    ws_conn_set_userdata(s->probe, NULL);
    ws_close(s->probe, 1000, "upgrade timeout");
    s->probe = NULL;
    s->upgrading = UP_NONE;
}

static void ws_probe_message(ws_conn *c, int binary, const uint8_t *data, size_t len, void *ud) {
    eio_socket *s = ud;
    if (!s || s->state != S_OPEN) return;
    eio_server *srv = s->srv;
    if (!binary && len == 6 && memcmp(data, "2probe", 6) == 0) {
        ws_send_frame(c, srv->m_probe);
        s->upgrading = UP_PROBED;
        /* release a waiting GET so the client can pause polling (a later GET
         * is released by polling_get) */
        if (s->poll) {
            queue_push(s, srv->m_noop, MSG_HDR(srv->m_noop), 0);
            session_mark_dirty(s);
        }
        return;
    }
    if (!binary && len == 1 && data[0] == '5') {
        sio_timer_stop(&srv->wheel, &s->up_timer);
        s->probe = NULL;
        s->upgrading = UP_NONE;
        s->transport = T_WEBSOCKET;
        s->ws = c;
        ws_conn_set_callbacks(c, &ws_transport_cb);
        /* a GET still waiting gets what is queued (or a noop); the rest goes by websocket */
        if (s->poll) {
            if (!s->qlen) queue_push(s, srv->m_noop, MSG_HDR(srv->m_noop), 0);
            poll_respond(s, 0);
        }
        for (uint32_t i = 0; i < s->qlen; i++) {
            eio_qent *e = &s->q[i];
            if (e->buf == srv->m_noop) continue;
            if (e->binary && s->protocol == 3)
                ws_send2(c, 1, "\x04", 1, e->buf->data + e->off, e->buf->len - e->off);
            else
                ws_send_frame(c, e->buf);
        }
        queue_clear(s);
        LOG_DEBUG("engine", "session %s upgraded to websocket", s->sid);
        return;
    }
    /* anything else during the probe is a broken client */
    ws_conn_set_userdata(c, NULL);
    ws_close(c, 1002, "unexpected packet during upgrade");
    s->probe = NULL;
    s->upgrading = UP_NONE;
    sio_timer_stop(&srv->wheel, &s->up_timer);
}

static void ws_probe_close(ws_conn *c, int code, const char *reason, void *ud) {
    eio_socket *s = ud;
    if (!s) return;
    s->probe = NULL;
    s->upgrading = UP_NONE;
    sio_timer_stop(&s->srv->wheel, &s->up_timer);
}

static const ws_callbacks ws_probe_cb = {
    .on_message = ws_probe_message,
    .on_close = ws_probe_close,
};

static const ws_callbacks ws_refused_cb = {NULL, NULL};

/* ---- handshake ----------------------------------------------------------------------------------
 */

/* The session count of a remote address, created at its first session. */
static struct eio_ip *ip_get(eio_server *srv, const char *addr) {
    size_t len = strlen(addr);
    struct eio_ip *ip = sio_map_get(&srv->ips, addr, len);
    if (ip) return ip;
    ip = malloc(sizeof *ip + len + 1);
    if (!ip) return NULL;
    ip->count = 0;
    ip->len = len;
    memcpy(ip->addr, addr, len + 1);
    if (sio_map_put(&srv->ips, ip->addr, len, ip) != 0) {
        free(ip);
        return NULL;
    }
    return ip;
}

/* Why a new session may not open now, or NULL: the limits on sessions and
 * on queued output (eio_options.max_sessions & co.). */
static const char *handshake_refusal(eio_server *srv, const http_req *req) {
    if (srv->opts.max_sessions && srv->live >= srv->opts.max_sessions) return "Too many sessions";
    if (srv->opts.max_sessions_per_ip) {
        const char *addr = http_req_remote_addr(req);
        struct eio_ip *ip = sio_map_get(&srv->ips, addr, strlen(addr));
        if (ip && ip->count >= srv->opts.max_sessions_per_ip)
            return "Too many sessions from this address";
    }
    if (srv->budget.limit && srv->budget.used >= srv->budget.limit) return "Output buffers full";
    return NULL;
}

static eio_socket *session_new(eio_server *srv, http_req *req, int protocol, int transport) {
    struct eio_ip *ip = ip_get(srv, http_req_remote_addr(req));
    if (!ip) return NULL;
    eio_socket *s = calloc(1, sizeof *s);
    if (!s) {
        ip->count++; /* so that the release frees an entry made for nothing */
        ip_release(srv, ip);
        return NULL;
    }
    s->ip = ip;
    ip->count++;
    s->srv = srv;
    s->protocol = (uint8_t)protocol;
    s->transport = (uint8_t)transport;
    sio_timer_init(&s->hb_timer);
    sio_timer_init(&s->up_timer);
    if (sio_random_id(s->sid) != 0 || sio_map_put(&srv->sessions, s->sid, 20, s) != 0) {
        ip_release(srv, ip);
        free(s);
        return NULL;
    }
    srv->live++;
    return s;
}

static void open_packet(eio_server *srv, eio_socket *s, int for_polling, sio_buf *out) {
    static const char *const ws_only[] = {"websocket"};
    eio_handshake h = {
        .sid = s->sid,
        .upgrades = ws_only,
        .upgrades_count = for_polling && srv->opts.allow_upgrades &&
                                  (srv->opts.transports & EIO_TRANSPORT_WEBSOCKET)
                              ? 1
                              : 0,
        .ping_interval = srv->opts.ping_interval,
        .ping_timeout = srv->opts.ping_timeout,
        .max_payload = srv->opts.max_http_buffer_size,
        .version = s->protocol,
    };
    eio_open_json(out, &h);
}

/* The `cookie` option: the session id in a cookie on the handshake's answer
 * (the polling response, or the 101 of a session that starts on WebSocket). */
static void set_cookie(eio_server *srv, http_req *req, const eio_socket *s) {
    if (!srv->cookie) return;
    sio_buf c = SIO_BUF_INIT;
    if (sio_buf_printf(&c, "%s=%s; Path=/; HttpOnly; SameSite=Lax", srv->cookie, s->sid) == 0)
        http_res_header(req, "Set-Cookie", c.data);
    sio_buf_free(&c);
}

static void handshake(eio_server *srv, http_req *req, int protocol, int websocket) {
    eio_socket *s = session_new(srv, req, protocol, websocket ? T_WEBSOCKET : T_POLLING);
    if (!s) {
        http_res_send(req, 500, "text/plain", "Internal Server Error\n");
        return;
    }
    const char *b64 = http_req_query(req, "b64");
    s->b64 = b64 && b64[0] && strcmp(b64, "0") != 0;
    sio_buf open = SIO_BUF_INIT;
    open_packet(srv, s, !websocket, &open);
    if (websocket) {
        /* the application hears of the session while the request is still
         * readable; what it sends meanwhile waits in the queue */
        s->busy++;
        if (srv->cb.on_open) srv->cb.on_open(s, req, srv->ud);
        set_cookie(srv, req, s); /* ws_accept sends the headers set so far with its 101 */
        ws_conn *c = s->state == S_OPEN ? ws_accept(srv->ws, req, &ws_transport_cb, s) : NULL;
        if (!c) {
            if (s->state == S_OPEN)
                session_close(s, "transport error");
            else
                send_error(srv, req, EIO_ERR_FORBIDDEN);
            sio_buf_free(&open);
            session_release(s);
            return;
        }
        s->ws = c;
        ws_send2(c, 0, "0", 1, open.data, open.len);
        for (uint32_t i = 0; i < s->qlen; i++) {
            eio_qent *e = &s->q[i];
            if (e->binary && s->protocol == 3)
                ws_send2(c, 1, "\x04", 1, e->buf->data + e->off, e->buf->len - e->off);
            else
                ws_send_frame(c, e->buf);
        }
        queue_clear(s);
        hb_arm(s);
        ws_conn_start(c);
        sio_buf_free(&open);
        session_release(s);
        return;
    } else {
        sio_buf body = SIO_BUF_INIT;
        eio_payload_writer w;
        eio_payload_writer_init(&w, &body, protocol == 3 ? EIO_PAYLOAD_V3_TEXT : EIO_PAYLOAD_V4);
        eio_packet p = {.type = EIO_OPEN, .data = open.data, .len = open.len};
        eio_payload_write(&w, &p);
        eio_payload_finish(&w);
        cors_headers(srv, req);
        set_cookie(srv, req, s);
        http_res_header(req, "Content-Type", "text/plain; charset=UTF-8");
        /* the application hears of the session before the client does */
        s->busy++;
        if (srv->cb.on_open) srv->cb.on_open(s, req, srv->ud);
        http_res_end(req, body.data, body.len);
        sio_buf_free(&body);
        sio_buf_free(&open);
        if (s->state == S_OPEN) hb_arm(s);
        session_release(s);
    }
}

static void preflight(eio_server *srv, http_req *req) {
    if (!srv->cors_origin) {
        send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    cors_headers(srv, req);
    http_res_header(req, "Access-Control-Allow-Methods",
                    srv->cors_methods ? srv->cors_methods : "GET,HEAD,PUT,PATCH,POST,DELETE");
    /* only the configured request headers, never an echo of whatever was asked */
    if (srv->cors_headers) http_res_header(req, "Access-Control-Allow-Headers", srv->cors_headers);
    http_res_status(req, 204);
    http_res_end(req, NULL, 0);
}

static void eio_handle(http_req *req, void *ud) {
    eio_server *srv = ud;
    const char *method = http_req_method(req);
    if (strcmp(method, "OPTIONS") == 0) {
        preflight(srv, req);
        return;
    }
    if (srv->closing) {
        http_res_send(req, 503, "text/plain", "Service Unavailable\n");
        return;
    }
    const char *transport = http_req_query(req, "transport");
    int websocket = transport && strcmp(transport, "websocket") == 0;
    int polling = transport && strcmp(transport, "polling") == 0;
    if ((!websocket && !polling) ||
        (websocket && !(srv->opts.transports & EIO_TRANSPORT_WEBSOCKET)) ||
        (polling && !(srv->opts.transports & EIO_TRANSPORT_POLLING))) {
        send_error(srv, req, EIO_ERR_UNKNOWN_TRANSPORT);
        return;
    }
    const char *sid = http_req_query(req, "sid");
    if (sid) {
        eio_socket *s = sio_map_get(&srv->sessions, sid, strlen(sid));
        if (s && s->state == S_OPEN && s->deadline && uv_now(srv->loop) >= s->deadline) {
            /* the heartbeat failed and the wheel has not ticked yet: the
             * session is gone now, not at the tick */
            session_close(s, "ping timeout");
            s = NULL;
        }
        if (!s) {
            send_error(srv, req, EIO_ERR_UNKNOWN_SID);
            return;
        }
        if (s->state == S_DRAINING) {
            /* closed by the server: a GET takes what is queued, the next one the
             * close packet; a POST is ignored (the client is told by the GETs) */
            if (websocket) {
                send_error(srv, req, EIO_ERR_BAD_REQUEST);
            } else if (strcmp(method, "GET") == 0) {
                int last = s->qlen == 0;
                s->poll = req;
                poll_respond(s, last);
                if (last) session_close(s, "drained");
            } else {
                cors_headers(srv, req);
                http_res_send(req, 200, "text/html", "ok");
            }
            return;
        }
        if (websocket) {
            if (!srv->opts.allow_upgrades || ws_handshake_check(req) != 0) {
                send_error(srv, req, EIO_ERR_BAD_REQUEST);
                return;
            }
            if (s->transport != T_POLLING || s->upgrading) {
                /* a second WebSocket for a session that has one (or is
                 * getting one): accepted, then closed, as the reference does;
                 * the session and its transport go on untouched */
                ws_conn *c = ws_accept(srv->ws, req, &ws_refused_cb, NULL);
                if (c) {
                    ws_close(c, 1000, "");
                    ws_conn_start(c);
                }
                return;
            }
            ws_conn *c = ws_accept(srv->ws, req, &ws_probe_cb, s);
            if (!c) return;
            s->probe = c;
            s->upgrading = UP_PROBING;
            sio_timer_start(&srv->wheel, &s->up_timer, srv->opts.upgrade_timeout, upgrade_timeout);
            ws_conn_start(c);
            return;
        }
        if (s->transport != T_POLLING) {
            send_error(srv, req, EIO_ERR_BAD_REQUEST);
            return;
        }
        if (strcmp(method, "GET") == 0)
            polling_get(s, req);
        else if (strcmp(method, "POST") == 0)
            polling_post(s, req);
        else
            send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (strcmp(method, "GET") != 0) {
        send_error(srv, req, EIO_ERR_BAD_HANDSHAKE_METHOD);
        return;
    }
    const char *eio = http_req_query(req, "EIO");
    int protocol = eio && strcmp(eio, "4") == 0 ? 4 : 3;
    if (protocol == 3 && !srv->opts.allow_eio3) {
        send_error(srv, req, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
        return;
    }
    if (websocket && ws_handshake_check(req) != 0) {
        send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (srv->opts.allow_request &&
        srv->opts.allow_request(req, srv->opts.allow_request_userdata) != 0) {
        send_error(srv, req, EIO_ERR_FORBIDDEN);
        return;
    }
    const char *why = handshake_refusal(srv, req);
    if (why) {
        LOG_WARN("engine", "handshake from %s refused: %s", http_req_remote_addr(req), why);
        send_refusal(srv, req, why);
        return;
    }
    handshake(srv, req, protocol, websocket);
}

/* ---- server -----------------------------------------------------------------------------------
 */

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

eio_server *eio_server_new(uv_loop_t *loop, const eio_options *o, const eio_callbacks *cb,
                           void *userdata) {
    eio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    if (o)
        srv->opts = *o;
    else
        eio_options_init(&srv->opts);
    if (cb) srv->cb = *cb;
    srv->ud = userdata;
    srv->path = strdup(srv->opts.path ? srv->opts.path : "/engine.io/");
    srv->cookie = dup_or_null(srv->opts.cookie);
    srv->cors_origin = dup_or_null(srv->opts.cors.origin);
    srv->cors_methods = dup_or_null(srv->opts.cors.methods);
    srv->cors_headers = dup_or_null(srv->opts.cors.allowed_headers);
    srv->opts.path = srv->path;
    srv->opts.cookie = srv->cookie;
    srv->opts.cors.origin = srv->cors_origin;
    srv->opts.cors.methods = srv->cors_methods;
    srv->opts.cors.allowed_headers = srv->cors_headers;
    if (srv->cors_origin && strcmp(srv->cors_origin, "*") == 0 && srv->opts.cors.credentials)
        LOG_WARN("engine", "cors: origin \"*\" with credentials: answering \"*\" without "
                           "credentials (list the allowed origins to allow credentials)");
    ws_options wo;
    ws_options_init(&wo);
    wo.max_message_size = srv->opts.max_http_buffer_size;
    /* The slow-reader limit must leave room for a few of the largest messages:
     * libuv reads up to 2 MiB from a socket per loop iteration, so an echo of
     * two max-size messages can be queued before the first writev. */
    if (wo.max_queue_bytes < 4 * srv->opts.max_http_buffer_size)
        wo.max_queue_bytes = 4 * srv->opts.max_http_buffer_size;
    wo.permessage_deflate = srv->opts.per_message_deflate;
    /* polling has no socket buffer to absorb a burst between two GETs */
    srv->max_queue_bytes = 4 * wo.max_queue_bytes;
    srv->budget.limit = srv->opts.max_buffered_bytes;
    wo.budget = &srv->budget;
    srv->ws = ws_server_new(loop, &wo);
    srv->m_ping = control_msg("2");
    srv->m_pong = control_msg("3");
    srv->m_noop = control_msg("6");
    srv->m_close = control_msg("1");
    srv->m_probe = control_msg("3probe");
    if (!srv->path || !srv->ws || !srv->m_ping || !srv->m_pong || !srv->m_noop || !srv->m_close ||
        !srv->m_probe || sio_wheel_init(loop, &srv->wheel, 10) != 0) {
        /* a half-built server is not worth unwinding piece by piece on ENOMEM */
        return NULL;
    }
    uv_check_init(loop, &srv->flush);
    srv->flush.data = srv;
    uv_check_start(&srv->flush, flush_all);
    uv_unref((uv_handle_t *)&srv->flush);
    return srv;
}

static void on_http_shutdown(http_server *http, void *ud) {
    eio_server_close(ud, NULL, NULL);
}

int eio_server_attach(eio_server *srv, http_server *http) {
    srv->http = http;
    http_route r = {.method = NULL,
                    .path = srv->path,
                    .prefix = 1,
                    .max_body = srv->opts.max_http_buffer_size,
                    .handler = eio_handle,
                    .userdata = srv,
                    .on_too_large = body_too_large,
                    .on_error = http_error_headers};
    int rc = http_server_route(http, &r);
    if (rc) return rc;
    return http_server_on_shutdown(http, on_http_shutdown, srv);
}

size_t eio_server_sessions(const eio_server *srv) {
    return srv->sessions.count;
}

eio_socket *eio_server_find(const eio_server *srv, const char *sid) {
    return sio_map_get(&srv->sessions, sid, strlen(sid));
}

static void server_free(eio_server *srv) {
    void (*done)(void *) = srv->done;
    void *ud = srv->done_ud;
    assert(srv->ips.count == 0 && srv->budget.used == 0);
    sio_map_free(&srv->sessions);
    sio_map_free(&srv->ips);
    sio_rcbuf_unref(srv->m_ping);
    sio_rcbuf_unref(srv->m_pong);
    sio_rcbuf_unref(srv->m_noop);
    sio_rcbuf_unref(srv->m_close);
    sio_rcbuf_unref(srv->m_probe);
    free(srv->path);
    free(srv->cookie);
    free(srv->cors_origin);
    free(srv->cors_methods);
    free(srv->cors_headers);
    free(srv);
    if (done) done(ud);
}

static void handle_closed(uv_handle_t *h) {
    eio_server *srv = h->data;
    if (--srv->handles == 0) server_free(srv);
}

static void wheel_closed(uv_handle_t *h) {
    eio_server *srv = (eio_server *)((char *)h - offsetof(eio_server, wheel.tick));
    h->data = srv;
    handle_closed(h);
}

static void ws_closed(void *ud) {
    eio_server *srv = ud;
    srv->ws = NULL;
    if (--srv->handles == 0) server_free(srv);
}

static void server_maybe_done(eio_server *srv) {
    if (srv->closing != 1) return;
    if (srv->dirty && srv->live) flush_all(&srv->flush); /* frees closed sessions waiting there */
    /* freeing them re-entered this function, which may have finished the job */
    if (srv->closing != 1 || srv->live) return;
    srv->closing = 2;
    srv->handles = 3;
    uv_close((uv_handle_t *)&srv->flush, handle_closed);
    sio_wheel_close(&srv->wheel, wheel_closed);
    ws_server_close(srv->ws, ws_closed, srv);
}

void eio_server_close(eio_server *srv, void (*done)(void *userdata), void *userdata) {
    if (srv->closing) {
        /* already closing (e.g. from the HTTP server's shutdown): a caller that
         * wants to hear of the end still does, unless one already asked */
        if (!srv->done) {
            srv->done = done;
            srv->done_ud = userdata;
        }
        return;
    }
    srv->closing = 1;
    if (srv->http) http_server_off_shutdown(srv->http, on_http_shutdown, srv);
    srv->done = done;
    srv->done_ud = userdata;
    /* close every session; the map changes under us, so take one at a time */
    while (srv->sessions.count) {
        sio_map_iter it;
        sio_map_iter_init(&it, &srv->sessions);
        sio_map_entry *e = sio_map_iter_next(&it);
        session_close(e->value, "server shutting down");
    }
    server_maybe_done(srv);
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

void eio_socket_set_userdata(eio_socket *s, void *userdata) {
    s->ud = userdata;
}

void *eio_socket_userdata(const eio_socket *s) {
    return s->ud;
}

size_t eio_socket_queued(const eio_socket *s) {
    return s->qbytes + (s->ws ? ws_conn_queued(s->ws) : 0);
}

int eio_socket_writable(const eio_socket *s) {
    if (s->state != S_OPEN) return 0;
    if (s->transport == T_WEBSOCKET) return s->ws && ws_conn_writable(s->ws);
    return s->poll != NULL && s->qlen == 0;
}

void eio_socket_close(eio_socket *s) {
    session_close(s, "forced close");
}
