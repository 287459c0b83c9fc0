/* sio/sio_socket.c - sockets: joining a namespace through its middlewares,
 * emitting (with or without acknowledgements), rooms, disconnecting.
 *
 * Emits encode into the server's scratch buffer and hand the bytes to
 * Engine.IO, which builds the frame: one allocation per emit, none for the
 * encoding itself once the scratch buffer has grown.
 *
 * Disconnecting is re-entrant (see sio_internal.h): the state turns
 * SOCK_DISCONNECTED first, then the application hears of it, then the socket
 * leaves its rooms, namespace and client; a call made from any of those
 * callbacks finds a socket that is already disconnected and leaves it alone.
 */
#include "sio/sio_internal.h"
#include "util/log.h"
#include "util/random.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- lifetime -------------------------------------------------------------------------- */

void sio_socket_ref(sio_socket *s) {
    s->refs++;
}

sio_socket *sio_socket_new(sio_nsp *nsp) {
    sio_socket *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->nsp = nsp;
    s->refs = 1;
    s->head.state = SOCK_CONNECTING;
    sio_nsp_ref(nsp);
    nsp->srv->live_sockets++;
    return s;
}

void sio_socket_unref(sio_socket *s) {
    assert(s->refs > 0);
    if (--s->refs) return;
    sio_nsp *nsp = s->nsp;
    sio_server *srv = nsp->srv;
    /* freed only when off every list: client, namespace, rooms, acks */
    assert(s->head.state == SOCK_DISCONNECTED);
    assert(!s->client && !s->indexed && !s->next_in_client && !s->prev_in_client);
    assert(util_map_get(&nsp->sockets, s->id, strlen(s->id)) != s);
    assert(!s->head.slot && !s->acks); /* the adapter let go of it in leave_all */
    assert(!srv->broadcasting);
    json_decref(s->auth);
    free(s);
    sio_nsp_unref(nsp);
    sio_server_socket_freed(srv);
}

/* ---- sending ------------------------------------------------------------------------------ */

int sio_socket_send_packet(sio_socket *s, const util_buf *text, const sio_attachments *atts) {
    eio_socket *e = s->head.eio;
    if (s->head.state == SOCK_DISCONNECTED || !e) return SIO_ECLOSED;
    int r = eio_send(e, text->data, text->len, false);
    for (size_t i = 0; r == 0 && atts && i < atts->len; i++)
        r = eio_send(e, atts->items[i].base, atts->items[i].len, true);
    return r;
}

int sio_adapter_deliver(sio_socket *s, const sio_prepared *p, bool volatile_) {
    eio_socket *e = s->head.eio;
    if (s->head.state != SOCK_CONNECTED || !e) return 0;
    if (volatile_ && !eio_socket_writable(e)) return 0; /* cannot take it now: drop */
    if (eio_send_msg(e, p->msg) != 0) return 0;
    for (size_t i = 0; i < p->natts; i++) eio_send_msg(e, p->atts[i]);
    return 1;
}

static int emit(sio_socket *s, const char *event, const json_t *args, const char *raw,
                size_t raw_len, const sio_attachments *raw_atts, uint64_t id) {
    if (s->head.state != SOCK_CONNECTED) return SIO_ECLOSED;
    if (!event) return SIO_EINVAL;
    sio_server *srv = s->nsp->srv;
    util_buf *out = &srv->scratch;
    out->len = 0;
    sio_attachments atts = SIO_ATTACHMENTS_INIT;
    int r;
    if (raw)
        r = sio_encode_event_raw(out, s->nsp->name, s->nsp->name_len, id, event, strlen(event), raw,
                                 raw_len, raw_atts ? (uint32_t)raw_atts->len : 0);
    else
        r = sio_encode_event(out, s->nsp->name, s->nsp->name_len, id, event, strlen(event), args,
                             &atts);
    if (r == 0) r = sio_socket_send_packet(s, out, raw ? raw_atts : &atts);
    sio_attachments_free(&atts);
    return r;
}

int sio_emit(sio_socket *s, const char *event, const json_t *args) {
    return emit(s, event, args ? args : NULL, NULL, 0, NULL, SIO_NO_ID);
}

int sio_emit_raw(sio_socket *s, const char *event, const char *args, size_t len) {
    return emit(s, event, NULL, args ? args : "", args ? len : 0, NULL, SIO_NO_ID);
}

int sio_emit_args(sio_socket *s, const char *event, const sio_event *ev) {
    if (!ev) return SIO_EINVAL;
    sio_attachments atts;
    int r = sio_event_attachments(ev, &atts);
    if (r) return r;
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    r = emit(s, event, NULL, raw, len, &atts, SIO_NO_ID);
    free(atts.items);
    return r;
}

/* ---- acknowledgements the server waits for ----------------------------------------------------
 */

static void ack_unlink(sio_pending_ack *a) {
    sio_socket *s = a->socket;
    for (sio_pending_ack **pp = &s->acks; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
}

static void ack_finish(sio_pending_ack *a, int err, json_t *args) {
    sio_socket *s = a->socket; /* the entry's reference keeps s through the callback */
    util_timer_stop(&s->nsp->srv->wheel, &a->timer);
    ack_unlink(a);
    if (a->bcast)
        sio_bcast_ack_answer(a->bcast, err, args);
    else if (a->cb)
        a->cb(s, err, args, a->userdata);
    free(a);
    sio_socket_unref(s);
}

static void ack_timeout(util_timer *t) {
    sio_pending_ack *a = (sio_pending_ack *)((char *)t - offsetof(sio_pending_ack, timer));
    ack_finish(a, SIO_ETIMEDOUT, NULL);
}

sio_pending_ack *sio_ack_register(sio_socket *s, uint64_t id, sio_ack_cb cb, void *ud,
                                  uint32_t timeout_ms, sio_bcast_ack *bcast) {
    sio_pending_ack *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->socket = s;
    a->id = id;
    a->cb = cb;
    a->userdata = ud;
    a->bcast = bcast;
    util_timer_init(&a->timer);
    if (timeout_ms) util_timer_start(&s->nsp->srv->wheel, &a->timer, timeout_ms, ack_timeout);
    a->next = s->acks;
    s->acks = a;
    sio_socket_ref(s);
    return a;
}

int sio_emit_with_ack(sio_socket *s, const char *event, const json_t *args, uint32_t timeout_ms,
                      sio_ack_cb cb, void *userdata) {
    if (s->head.state != SOCK_CONNECTED) return SIO_ECLOSED;
    uint64_t id = s->nsp->next_ack_id++;
    int r = emit(s, event, args, NULL, 0, NULL, id);
    if (r) return r;
    return sio_ack_register(s, id, cb, userdata, timeout_ms, NULL) ? 0 : SIO_ENOMEM;
}

void sio_socket_handle_ack(sio_socket *s, const sio_packet *p, util_rcbuf *const *atts,
                           uint32_t natts) {
    for (sio_pending_ack *a = s->acks; a; a = a->next) {
        if (a->id != p->id) continue;
        json_t *args = sio_packet_args(p, atts, natts);
        if (!args) args = json_array();
        ack_finish(a, 0, args);
        json_decref(args);
        return;
    }
    /* an ack nobody waits for (late, after a timeout): ignored, as the reference does */
}

/* ---- rooms ----------------------------------------------------------------------------------- */

int sio_join(sio_socket *s, const char *room) {
    if (s->head.state == SOCK_DISCONNECTED || !room) return SIO_ECLOSED;
    return s->nsp->adapter_ops->join(s->nsp->adapter, s, room);
}

int sio_leave(sio_socket *s, const char *room) {
    if (s->head.state == SOCK_DISCONNECTED || !room) return SIO_ECLOSED;
    return s->nsp->adapter_ops->leave(s->nsp->adapter, s, room);
}

bool sio_in_room(const sio_socket *s, const char *room) {
    if (s->head.state == SOCK_DISCONNECTED) return false;
    return s->nsp->adapter_ops->has(s->nsp->adapter, s, room);
}

void sio_socket_rooms(const sio_socket *s, sio_room_cb cb, void *userdata) {
    if (s->head.state == SOCK_DISCONNECTED) return;
    s->nsp->adapter_ops->rooms_of(s->nsp->adapter, s, cb, userdata);
}

/* ---- connecting ---------------------------------------------------------------------------------
 */

static void connect_refuse(sio_socket *s, const char *message, const json_t *data);

static void connect_finish(sio_socket *s) {
    sio_client *c = s->client;
    sio_nsp *nsp = s->nsp;
    if (sio_nsp_add_socket(nsp, s) != 0) {
        /* out of memory: the client is told, as for a middleware's refusal,
         * instead of a socket connected but missing from its namespace */
        connect_refuse(s, "server error", NULL);
        return;
    }
    s->head.state = SOCK_CONNECTED;
    c->joined = 1;
    util_timer_stop(&nsp->srv->wheel, &c->connect_timer);
    /* CONNECT answer: {"sid": id} */
    util_buf out = UTIL_BUF_INIT;
    json_t *data = json_pack("{ss}", "sid", s->id);
    if (data && sio_encode_connect(&out, nsp->name, nsp->name_len, data) == 0)
        sio_socket_send_packet(s, &out, NULL);
    json_decref(data);
    util_buf_free(&out);
    LOG_DEBUG("socket.io", "socket %s joined %s", s->id, nsp->name);
    sio_handlers *h = nsp->h;
    sio_socket_ref(s);
    for (unsigned i = 0; i < h->connect.len && s->head.state == SOCK_CONNECTED; i++)
        h->connect.items[i].cb.connect(s, h->connect.items[i].userdata);
    sio_socket_unref(s);
}

/* Leaves the rooms, the namespace and the client; drops the client's reference. */
static void socket_detach(sio_socket *s) {
    assert(s->head.state == SOCK_DISCONNECTED);
    sio_nsp *nsp = s->nsp;
    nsp->adapter_ops->leave_all(nsp->adapter, s); /* joins made in a middleware too */
    sio_nsp_remove_socket(nsp, s);
    while (s->acks) ack_finish(s->acks, SIO_ECLOSED, NULL);
    sio_client *c = s->client;
    if (c) {
        sio_client_remove_socket(c, s);
        s->client = NULL;
        s->head.eio = NULL;
        sio_client_unref(c);
        sio_socket_unref(s); /* the client's reference */
    }
}

static void middleware_run(sio_next *next) {
    sio_socket *s = next->socket;
    if (s->head.state != SOCK_CONNECTING) { /* the client went away meanwhile */
        sio_socket_unref(s);
        free(next);
        return;
    }
    sio_handlers *h = s->nsp->h;
    if (next->index >= h->middleware.len) {
        free(next);
        connect_finish(s);
        sio_socket_unref(s);
        return;
    }
    sio_handler *m = &h->middleware.items[next->index++];
    m->cb.middleware(s, next, m->userdata);
}

void sio_next_accept(sio_next *next) {
    middleware_run(next);
}

void sio_next_reject(sio_next *next, const char *message, const json_t *data) {
    sio_socket *s = next->socket;
    free(next);
    connect_refuse(s, message, data);
    sio_socket_unref(s); /* the middleware chain's reference */
}

/* Ends a connect with a CONNECT_ERROR packet carrying message (and data). */
static void connect_refuse(sio_socket *s, const char *message, const json_t *data) {
    if (s->head.state == SOCK_CONNECTING && s->client) {
        sio_client *c = s->client;
        json_t *err = json_pack("{ss}", "message", message ? message : "not authorized");
        if (err && data) json_object_set(err, "data", (json_t *)data);
        util_buf out = UTIL_BUF_INIT;
        if (err && sio_encode_connect_error(&out, s->nsp->name, s->nsp->name_len, err) == 0 &&
            c->eio)
            eio_send(c->eio, out.data, out.len, false);
        util_buf_free(&out);
        json_decref(err);
        s->head.state = SOCK_DISCONNECTED;
        sio_client_unindex_socket(c, s);
        socket_detach(s);
    }
}

void sio_socket_connect(sio_client *c, sio_nsp *nsp, json_t *auth) {
    sio_next *next = calloc(1, sizeof *next);
    sio_socket *s = next ? sio_socket_new(nsp) : NULL;
    if (!s || util_random_id(s->id) != 0 || sio_client_add_socket(c, s) != 0) {
        if (s) {
            s->head.state = SOCK_DISCONNECTED;
            sio_socket_unref(s);
        } else {
            sio_nsp_release(nsp);
        }
        free(next);
        json_decref(auth);
        return;
    }
    s->client = c;
    s->head.eio = c->eio;
    s->auth = auth;
    s->refs = 2; /* the client's, and the middleware chain's */
    c->refs++;
    next->socket = s;
    middleware_run(next);
}

/* ---- disconnecting ------------------------------------------------------------------------------
 */

void sio_socket_close(sio_socket *s, const char *reason, int send_packet) {
    if (s->head.state == SOCK_DISCONNECTED) return;
    int was_connected = s->head.state == SOCK_CONNECTED;
    sio_nsp *nsp = s->nsp;
    sio_socket_ref(s);
    if (send_packet && was_connected) {
        util_buf out = UTIL_BUF_INIT;
        if (sio_encode_disconnect(&out, nsp->name, nsp->name_len) == 0)
            sio_socket_send_packet(s, &out, NULL);
        util_buf_free(&out);
    }
    /* disconnected before any application code runs: a close, a disconnect
     * or a join from a callback below finds it so and does nothing; the
     * client no longer finds it by namespace, and stops counting it */
    s->head.state = SOCK_DISCONNECTED;
    if (s->client) sio_client_unindex_socket(s->client, s);
    if (was_connected) {
        LOG_DEBUG("socket.io", "socket %s left %s: %s", s->id, nsp->name, reason);
        sio_handlers *h = nsp->h;
        for (unsigned i = 0; i < h->disconnect.len; i++)
            h->disconnect.items[i].cb.disconnect(s, reason, h->disconnect.items[i].userdata);
    }
    socket_detach(s);
    sio_socket_unref(s);
}

void sio_socket_disconnect(sio_socket *s, bool close_transport) {
    /* the reference's socket.disconnect(): nothing unless connected */
    if (s->head.state != SOCK_CONNECTED) return;
    sio_client *c = s->client;
    if (close_transport && c) {
        /* as the reference's client._disconnect(): every namespace of the
         * connection gets its DISCONNECT before the transport closes (so the
         * client knows not to reconnect) */
        c->refs++;
        for (sio_socket *t; (t = sio_client_first_live(c)) != NULL;)
            sio_socket_close(t, "server namespace disconnect", 1);
        sio_client_close(c, "server namespace disconnect");
        sio_client_unref(c);
        return;
    }
    sio_socket_close(s, "server namespace disconnect", 1);
}

sio_socket *sio_find(sio_server *srv, const char *nsp, const char *sid) {
    if (!sid) return NULL;
    if (!nsp) nsp = "/";
    sio_nsp *n = sio_nsp_get(srv, nsp, strlen(nsp), 0);
    return n ? util_map_get(&n->sockets, sid, strlen(sid)) : NULL;
}

int sio_disconnect(sio_server *srv, const char *nsp, const char *sid) {
    sio_socket *s = sio_find(srv, nsp ? nsp : "/", sid);
    if (!s) return SIO_ENOTFOUND;
    sio_socket_disconnect(s, false);
    return 0;
}

/* ---- accessors
 * ------------------------------------------------------------------------------------ */

const char *sio_socket_id(const sio_socket *s) {
    return s->id;
}

const char *sio_socket_nsp(const sio_socket *s) {
    return s->nsp->name;
}

json_t *sio_socket_auth(const sio_socket *s) {
    return s->auth;
}

eio_socket *sio_socket_engine(const sio_socket *s) {
    return s->head.eio;
}

const char *sio_socket_remote_addr(const sio_socket *s) {
    return s->client ? s->client->remote : "";
}

const char *sio_socket_header(const sio_socket *s, const char *name) {
    if (!s->client || !s->client->headers) return NULL;
    for (const char *p = s->client->headers; *p;) {
        const char *value = p + strlen(p) + 1;
        if (strcasecmp(p, name) == 0) return value;
        p = value + strlen(value) + 1;
    }
    return NULL;
}

bool sio_socket_connected(const sio_socket *s) {
    return s->head.state == SOCK_CONNECTED;
}

void sio_socket_set_data(sio_socket *s, void *data) {
    s->data = data;
}

void *sio_socket_get_data(const sio_socket *s) {
    return s->data;
}
