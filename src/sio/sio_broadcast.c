/* sio/sio_broadcast.c - broadcast operators: to/except rooms, volatile,
 * local, compress, timeout; emit (with or without acknowledgements),
 * fetchSockets, socketsJoin/Leave, disconnectSockets.
 *
 * A broadcast is encoded once: the packet text becomes one Engine.IO message
 * (a complete WebSocket frame, see eio_msg_new) and every recipient's queue
 * takes a reference to it. The adapter decides who the recipients are.
 *
 * A broadcast being described holds a reference to its namespace (a dynamic
 * one may lose its last socket meanwhile). The walk that queues the packet
 * runs no application code (srv->broadcasting, asserted where sockets and
 * namespaces are freed); an acknowledgement collector's callback may do
 * anything, including answering for the collector's other recipients (by
 * disconnecting them), so the collector is freed only after it returns.
 */
#include "sio/sio_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define BCAST_MAX_ROOMS 64

struct sio_broadcast {
    sio_nsp *nsp;
    const char *rooms[BCAST_MAX_ROOMS];
    const char *except[BCAST_MAX_ROOMS];
    char *copies[2 * BCAST_MAX_ROOMS + 1];
    unsigned ncopies;
    sio_bcast_target t;
    uint32_t timeout_ms;
    int invalid;
};

struct sio_bcast_ack {
    sio_broadcast_ack_cb cb;
    void *userdata;
    json_t *responses;
    size_t expected, answered;
    util_timer timer;
    sio_server *srv;
    int done;
    int in_cb; /* cb is running: answers that come meanwhile do not free it */
};

sio_broadcast *sio_broadcast_new(sio_server *srv, const char *nsp) {
    sio_broadcast *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->nsp = sio_nsp_get(srv, nsp ? nsp : "/", strlen(nsp ? nsp : "/"), 0);
    if (b->nsp)
        sio_nsp_ref(b->nsp);
    else
        b->invalid = 1;
    b->t.rooms = b->rooms;
    b->t.except = b->except;
    return b;
}

sio_broadcast *sio_socket_broadcast(sio_socket *s) {
    sio_broadcast *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->nsp = s->nsp;
    sio_nsp_ref(b->nsp);
    b->t.rooms = b->rooms;
    b->t.except = b->except;
    b->t.skip = s;
    return b;
}

/* Appends a copy of room to one of the target's lists (to or except); a
 * missing room or a full list makes the whole broadcast invalid. */
static sio_broadcast *add_room(sio_broadcast *b, const char *room, const char **list, size_t *n) {
    char *copy = NULL;
    if (room && *n < BCAST_MAX_ROOMS && b->ncopies < sizeof b->copies / sizeof b->copies[0])
        copy = strdup(room);
    if (!copy) {
        b->invalid = 1;
        return b;
    }
    b->copies[b->ncopies++] = copy;
    list[(*n)++] = copy;
    return b;
}

sio_broadcast *sio_broadcast_to(sio_broadcast *b, const char *room) {
    return b ? add_room(b, room, b->rooms, &b->t.nrooms) : NULL;
}

sio_broadcast *sio_broadcast_except(sio_broadcast *b, const char *room) {
    return b ? add_room(b, room, b->except, &b->t.nexcept) : NULL;
}

sio_broadcast *sio_broadcast_volatile(sio_broadcast *b) {
    if (b) b->t.volatile_ = 1;
    return b;
}

sio_broadcast *sio_broadcast_local(sio_broadcast *b) {
    if (b) b->t.local = 1;
    return b;
}

sio_broadcast *sio_broadcast_compress(sio_broadcast *b, bool compress) {
    if (b) b->t.compress = compress;
    return b;
}

sio_broadcast *sio_broadcast_timeout(sio_broadcast *b, uint32_t timeout_ms) {
    if (b) b->timeout_ms = timeout_ms;
    return b;
}

static void bcast_free(sio_broadcast *b) {
    for (unsigned i = 0; i < b->ncopies; i++) free(b->copies[i]);
    if (b->nsp) sio_nsp_unref(b->nsp);
    free(b);
}

void sio_broadcast_free(sio_broadcast *b) {
    if (b) bcast_free(b);
}

/* The adapter's walk: queues p on every target socket, running no application code. */
static size_t adapter_broadcast(sio_nsp *nsp, const sio_bcast_target *t, const sio_prepared *p) {
    sio_server *srv = nsp->srv;
    srv->broadcasting++;
    size_t n = nsp->adapter_ops->broadcast(nsp->adapter, t, p);
    assert(srv->broadcasting > 0);
    srv->broadcasting--;
    return n;
}

/* A broadcast's packet, encoded once: the text message and its attachments. */
typedef struct bcast_msgs {
    sio_prepared p;
    eio_msg *small[16];
} bcast_msgs;

static void bcast_release(bcast_msgs *m) {
    if (m->p.msg) eio_msg_release(m->p.msg);
    for (size_t i = 0; i < m->p.natts; i++) eio_msg_release(m->p.atts[i]);
    if (m->p.atts != m->small) free(m->p.atts);
}

/* Encodes the packet into Engine.IO messages; on error nothing is left to release. */
/* raw_atts: the attachments raw argument text refers to (NULL: none) */
static int bcast_prepare(sio_broadcast *b, const char *event, const json_t *args, const char *raw,
                         size_t raw_len, const sio_attachments *raw_atts, uint64_t id,
                         bcast_msgs *m) {
    sio_nsp *nsp = b->nsp;
    util_buf *out = &nsp->srv->scratch;
    out->len = 0;
    sio_attachments own = SIO_ATTACHMENTS_INIT;
    const sio_attachments *src = raw ? raw_atts : &own;
    sio_attachments none = SIO_ATTACHMENTS_INIT;
    if (!src) src = &none;
    int r =
        raw ? sio_encode_event_raw(out, nsp->name, nsp->name_len, id, event, strlen(event), raw,
                                   raw_len, (uint32_t)src->len)
            : sio_encode_event(out, nsp->name, nsp->name_len, id, event, strlen(event), args, &own);
    sio_attachments atts = *src;
    m->p = (sio_prepared){.msg = NULL, .atts = m->small, .natts = 0};
    if (!r && atts.len > sizeof m->small / sizeof *m->small &&
        !(m->p.atts = malloc(atts.len * sizeof *m->p.atts)))
        r = SIO_ENOMEM;
    if (!r && !(m->p.msg = eio_msg_new(out->data, out->len, false))) r = SIO_ENOMEM;
    for (size_t i = 0; !r && i < atts.len; i++) {
        eio_msg *a = eio_msg_new(atts.items[i].base, atts.items[i].len, true);
        if (a)
            m->p.atts[m->p.natts++] = a;
        else
            r = SIO_ENOMEM;
    }
    sio_attachments_free(&own);
    if (r) {
        bcast_release(m);
        m->p = (sio_prepared){0};
    }
    return r;
}

/* Encodes the packet once and hands it to the adapter. */
static int bcast_send(sio_broadcast *b, const char *event, const json_t *args, const char *raw,
                      size_t raw_len, const sio_attachments *raw_atts, uint64_t id) {
    bcast_msgs m;
    int r = bcast_prepare(b, event, args, raw, raw_len, raw_atts, id, &m);
    if (r) return r;
    size_t n = adapter_broadcast(b->nsp, &b->t, &m.p);
    bcast_release(&m);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int sio_broadcast_emit(sio_broadcast *b, const char *event, const json_t *args) {
    if (!b) return SIO_ENOMEM;
    int r =
        b->invalid || !event ? SIO_EINVAL : bcast_send(b, event, args, NULL, 0, NULL, SIO_NO_ID);
    bcast_free(b);
    return r;
}

int sio_broadcast_emit_raw(sio_broadcast *b, const char *event, const char *args, size_t len) {
    if (!b) return SIO_ENOMEM;
    int r = b->invalid || !event
                ? SIO_EINVAL
                : bcast_send(b, event, NULL, args ? args : "", args ? len : 0, NULL, SIO_NO_ID);
    bcast_free(b);
    return r;
}

int sio_broadcast_emit_args(sio_broadcast *b, const char *event, const sio_event *ev) {
    if (!b) return SIO_ENOMEM;
    sio_attachments atts;
    int r = b->invalid || !event || !ev ? SIO_EINVAL : sio_event_attachments(ev, &atts);
    if (r == 0) {
        size_t len;
        const char *raw = sio_event_args_raw(ev, &len);
        r = bcast_send(b, event, NULL, raw, len, &atts, SIO_NO_ID);
        free(atts.items);
    }
    bcast_free(b);
    return r;
}

int sio_emit_to(sio_server *srv, const char *nsp, const char *room, const char *skip_sid,
                const char *event, const json_t *args) {
    sio_broadcast *b = sio_broadcast_new(srv, nsp);
    if (room) sio_broadcast_to(b, room);
    if (skip_sid) sio_broadcast_except(b, skip_sid);
    return sio_broadcast_emit(b, event, args);
}

/* ---- broadcast with acknowledgements --------------------------------------------------------- */

/* Every path that may end the collector calls bcast_ack_maybe_free after. */
static void bcast_ack_end(sio_bcast_ack *a, int err) {
    if (a->done) return;
    a->done = 1;
    util_timer_stop(&a->srv->wheel, &a->timer);
    a->in_cb = 1;
    a->cb(err, a->responses, a->userdata);
    a->in_cb = 0;
}

static void bcast_ack_maybe_free(sio_bcast_ack *a) {
    /* every recipient's pending entry points here: free with the last one,
     * and not while cb runs (it may disconnect recipients, which answer) */
    if (a->done && !a->in_cb && a->answered >= a->expected) {
        json_decref(a->responses);
        free(a);
    }
}

static void bcast_ack_timeout(util_timer *t) {
    sio_bcast_ack *a = (sio_bcast_ack *)((char *)t - offsetof(sio_bcast_ack, timer));
    bcast_ack_end(a, SIO_ETIMEDOUT);
    bcast_ack_maybe_free(a);
}

void sio_bcast_ack_answer(sio_bcast_ack *a, int err, json_t *args) {
    assert(a->answered < a->expected);
    a->answered++;
    if (!a->done && err == 0 && args) json_array_append(a->responses, args);
    if (!a->done && a->answered >= a->expected) bcast_ack_end(a, 0);
    bcast_ack_maybe_free(a);
}

typedef struct ack_reg_ctx {
    sio_bcast_ack *ack;
    uint64_t id;
} ack_reg_ctx;

static void register_one(sio_socket *s, void *ud) {
    ack_reg_ctx *ctx = ud;
    if (sio_ack_register(s, ctx->id, NULL, NULL, 0, ctx->ack)) ctx->ack->expected++;
}

int sio_broadcast_emit_with_ack(sio_broadcast *b, const char *event, const json_t *args,
                                sio_broadcast_ack_cb cb, void *userdata) {
    if (!b) return SIO_ENOMEM;
    if (b->invalid || !event || !cb) {
        bcast_free(b);
        return SIO_EINVAL;
    }
    sio_nsp *nsp = b->nsp;
    sio_server *srv = nsp->srv;
    uint64_t id = nsp->next_ack_id++;
    /* encode first: a packet that cannot be built (a reserved name...) fails
     * before any recipient waits for an answer, and cb is never called */
    bcast_msgs m;
    int r = bcast_prepare(b, event, args, NULL, 0, NULL, id, &m);
    sio_bcast_ack *a = r ? NULL : calloc(1, sizeof *a);
    if (!a || !(a->responses = json_array())) {
        if (!r) bcast_release(&m);
        free(a);
        bcast_free(b);
        return r ? r : SIO_ENOMEM;
    }
    a->cb = cb;
    a->userdata = userdata;
    a->srv = srv;
    util_timer_init(&a->timer);
    /* register on the recipients first (one id for all, as the reference does), then send */
    ack_reg_ctx ctx = {a, id};
    nsp->adapter_ops->each(nsp->adapter, &b->t, register_one, &ctx);
    size_t n = a->expected ? adapter_broadcast(nsp, &b->t, &m.p) : 0;
    bcast_release(&m);
    uint32_t timeout = b->timeout_ms;
    bcast_free(b); /* nsp may be gone from here on */
    if (a->expected == 0) {
        bcast_ack_end(a, 0);
        bcast_ack_maybe_free(a);
        return 0;
    }
    /* without a timeout, disconnections answer for the sockets that never do */
    if (timeout) util_timer_start(&srv->wheel, &a->timer, timeout, bcast_ack_timeout);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* ---- fetchSockets & co ---------------------------------------------------------------------- */

int sio_broadcast_fetch_sockets(sio_broadcast *b, sio_socket_cb cb, void *ud) {
    if (!b) return SIO_ENOMEM;
    int r =
        b->invalid ? SIO_EINVAL : (int)b->nsp->adapter_ops->each(b->nsp->adapter, &b->t, cb, ud);
    bcast_free(b);
    return r;
}

static void join_one(sio_socket *s, void *ud) {
    sio_join(s, ud);
}

static void leave_one(sio_socket *s, void *ud) {
    sio_leave(s, ud);
}

static void disconnect_one(sio_socket *s, void *ud) {
    sio_socket_disconnect(s, *(bool *)ud);
}

int sio_broadcast_join(sio_broadcast *b, const char *room) {
    return sio_broadcast_fetch_sockets(b, join_one, (void *)room);
}

int sio_broadcast_leave(sio_broadcast *b, const char *room) {
    return sio_broadcast_fetch_sockets(b, leave_one, (void *)room);
}

int sio_broadcast_disconnect(sio_broadcast *b, bool close_transport) {
    return sio_broadcast_fetch_sockets(b, disconnect_one, &close_transport);
}
