/* sio/sio_broadcast.c - broadcast operators: to/except rooms, volatile,
 * local, compress, timeout; emit (with or without acknowledgements),
 * fetchSockets, socketsJoin/Leave, disconnectSockets; allRooms;
 * serverSideEmit (with or without answers).
 *
 * A broadcast is encoded once: the packet text becomes one Engine.IO message
 * (a complete WebSocket frame, see eio_msg_new) and every recipient's queue
 * takes a reference to it. The adapter decides who the recipients are, and
 * gets the packet as the application gave it too (sio_adapter_packet), for
 * the other servers. Every operation here goes through the namespace's
 * adapter table (adapter.h), never to the rooms themselves.
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
    int invalid;
};

/* A broadcast-with-ack's collector. Local recipients are registered on it
 * (sio_adapter_ack_wait: a pending ack that points here); a multi-server
 * adapter adds the other servers' client counts and answers. It ends (cb)
 * when every expected server has given its count and every counted client
 * answered (a local one also by disconnecting), or at the timeout; it is
 * freed once ended, with no local entry left pointing here, no adapter
 * holding it, and cb returned. */
struct sio_bcast_ack {
    sio_broadcast_ack_cb cb;
    void *userdata;
    json_t *responses;
    size_t expected, answered; /* clients, every server's */
    size_t local_pending;      /* local pending acks that point here */
    size_t servers;            /* servers whose client count is awaited */
    unsigned holds;            /* adapters keeping a pointer (sio_adapter_ack_hold) */
    util_timer timer;
    sio_server *srv;
    int done;
    int in_cb;    /* cb is running: answers that come meanwhile do not free it */
    int starting; /* inside the adapter's broadcast_with_ack: cb waits */
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
    if (b) b->t.timeout_ms = timeout_ms;
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

/* The adapter's broadcast: queues p on every local target socket, running no
 * application code, and forwards pkt unless local. */
static size_t adapter_broadcast(sio_nsp *nsp, const sio_bcast_target *t,
                                const sio_adapter_packet *pkt, const sio_prepared *p) {
    sio_server *srv = nsp->srv;
    srv->broadcasting++;
    size_t n = nsp->adapter_ops->broadcast(nsp->adapter, t, pkt, p);
    assert(srv->broadcasting > 0);
    srv->broadcasting--;
    return n;
}

/* Encodes the packet once and hands it to the adapter. */
static int bcast_send(sio_broadcast *b, const sio_adapter_packet *pkt) {
    sio_prepared p;
    int r = sio_adapter_prepare(b->nsp, pkt, SIO_NO_ID, &p);
    if (r) return r;
    size_t n = adapter_broadcast(b->nsp, &b->t, pkt, &p);
    sio_adapter_prepared_release(&p);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int sio_broadcast_emit(sio_broadcast *b, const char *event, const json_t *args) {
    if (!b) return SIO_ENOMEM;
    sio_adapter_packet pkt = {.event = event, .args = args};
    int r = b->invalid || !event ? SIO_EINVAL : bcast_send(b, &pkt);
    bcast_free(b);
    return r;
}

int sio_broadcast_emit_raw(sio_broadcast *b, const char *event, const char *args, size_t len) {
    if (!b) return SIO_ENOMEM;
    sio_adapter_packet pkt = {.event = event, .raw = args ? args : "", .raw_len = args ? len : 0};
    int r = b->invalid || !event ? SIO_EINVAL : bcast_send(b, &pkt);
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
        sio_adapter_packet pkt = {.event = event, .raw = raw, .raw_len = len, .atts = &atts};
        r = bcast_send(b, &pkt);
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

/* Ends the collector if every count and every answer is in. */
static void bcast_ack_check(sio_bcast_ack *a) {
    if (!a->done && !a->starting && a->servers == 0 && a->answered >= a->expected)
        bcast_ack_end(a, 0);
}

static void bcast_ack_maybe_free(sio_bcast_ack *a) {
    /* every local recipient's pending entry points here: free with the last
     * one, and not while cb runs (it may disconnect recipients, which answer) */
    if (a->done && !a->in_cb && a->local_pending == 0 && a->holds == 0) {
        json_decref(a->responses);
        free(a);
    }
}

static void bcast_ack_timeout(util_timer *t) {
    sio_bcast_ack *a = (sio_bcast_ack *)((char *)t - offsetof(sio_bcast_ack, timer));
    bcast_ack_end(a, SIO_ETIMEDOUT);
    bcast_ack_maybe_free(a);
}

/* A local recipient's answer, or its disconnection (err). */
void sio_bcast_ack_answer(sio_bcast_ack *a, int err, json_t *args) {
    assert(a->local_pending > 0);
    a->local_pending--;
    a->answered++;
    if (!a->done && err == 0 && args) json_array_append(a->responses, args);
    bcast_ack_check(a);
    bcast_ack_maybe_free(a);
}

int sio_adapter_ack_wait(sio_bcast_ack *a, sio_socket *s, uint64_t id) {
    if (!sio_ack_register(s, id, NULL, NULL, 0, a)) return SIO_ENOMEM;
    a->local_pending++;
    a->expected++;
    return 0;
}

void sio_adapter_ack_servers(sio_bcast_ack *a, size_t n) {
    if (!a->done) a->servers += n;
}

void sio_adapter_ack_client_count(sio_bcast_ack *a, size_t n) {
    if (a->done) return;
    if (a->servers > 0) a->servers--;
    a->expected += n;
    bcast_ack_check(a);
}

void sio_adapter_ack_answer(sio_bcast_ack *a, json_t *args) {
    if (a->done) return;
    a->answered++;
    if (args) json_array_append(a->responses, args);
    bcast_ack_check(a);
}

void sio_adapter_ack_hold(sio_bcast_ack *a) {
    a->holds++;
}

void sio_adapter_ack_release(sio_bcast_ack *a) {
    assert(a->holds > 0);
    a->holds--;
    bcast_ack_maybe_free(a);
}

/* The broadcast with acks of `pkt` to t (through the adapter, or straight to
 * the local sockets of the in-memory half when local_only); keeps nsp
 * referenced meanwhile. Returns the number of local recipients, or an error
 * (then cb is never called). */
static int bcast_with_ack(sio_nsp *nsp, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                          sio_broadcast_ack_cb cb, void *userdata) {
    sio_server *srv = nsp->srv;
    uint64_t id = nsp->next_ack_id++;
    /* encode first: a packet that cannot be built (a reserved name...) fails
     * before any recipient waits for an answer, and cb is never called */
    sio_prepared p;
    int r = sio_adapter_prepare(nsp, pkt, id, &p);
    sio_bcast_ack *a = r ? NULL : calloc(1, sizeof *a);
    if (!a || !(a->responses = json_array())) {
        if (!r) sio_adapter_prepared_release(&p);
        free(a);
        return r ? r : SIO_ENOMEM;
    }
    a->cb = cb;
    a->userdata = userdata;
    a->srv = srv;
    util_timer_init(&a->timer);
    a->starting = 1;
    srv->broadcasting++;
    size_t n = nsp->adapter_ops->broadcast_with_ack(nsp->adapter, t, pkt, id, &p, a);
    assert(srv->broadcasting > 0);
    srv->broadcasting--;
    a->starting = 0;
    sio_adapter_prepared_release(&p);
    uint32_t timeout = t->timeout_ms;
    if (a->servers == 0 && a->answered >= a->expected) { /* nobody to wait for: at once */
        bcast_ack_end(a, 0);
        bcast_ack_maybe_free(a);
        return 0;
    }
    /* without a timeout, disconnections answer for the sockets that never do */
    if (timeout) util_timer_start(&srv->wheel, &a->timer, timeout, bcast_ack_timeout);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int sio_broadcast_emit_with_ack(sio_broadcast *b, const char *event, const json_t *args,
                                sio_broadcast_ack_cb cb, void *userdata) {
    if (!b) return SIO_ENOMEM;
    if (b->invalid || !event || !cb) {
        bcast_free(b);
        return SIO_EINVAL;
    }
    sio_adapter_packet pkt = {.event = event, .args = args};
    int r = bcast_with_ack(b->nsp, &b->t, &pkt, cb, userdata);
    bcast_free(b);
    return r;
}

int sio_adapter_broadcast_with_ack(sio_nsp *nsp, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, sio_broadcast_ack_cb cb,
                                   void *userdata) {
    sio_bcast_target local = *t;
    local.local = true;
    sio_nsp_ref(nsp);
    int r = bcast_with_ack(nsp, &local, pkt, cb, userdata);
    sio_nsp_unref(nsp);
    return r;
}

/* ---- fetchSockets & co ---------------------------------------------------------------------- */

int sio_broadcast_fetch_sockets(sio_broadcast *b, sio_socket_cb cb, void *ud) {
    if (!b) return SIO_ENOMEM;
    int r = b->invalid ? SIO_EINVAL
                       : b->nsp->adapter_ops->fetch_sockets(b->nsp->adapter, &b->t, cb, NULL, ud);
    bcast_free(b);
    return r;
}

typedef struct fetch_ids {
    sio_room_cb cb;
    void *ud;
} fetch_ids;

static void fetch_id(sio_socket *s, void *ud) {
    fetch_ids *f = ud;
    f->cb(sio_socket_id(s), f->ud);
}

int sio_broadcast_fetch_ids(sio_broadcast *b, sio_room_cb cb, sio_done_cb done, void *userdata) {
    if (!b) return SIO_ENOMEM;
    const sio_adapter_ops *ops = b->nsp->adapter_ops;
    int r;
    if (b->invalid || !cb) {
        r = SIO_EINVAL;
    } else if (ops->fetch_ids) {
        r = ops->fetch_ids(b->nsp->adapter, &b->t, cb, done, userdata);
    } else {
        fetch_ids f = {cb, userdata};
        r = ops->fetch_sockets(b->nsp->adapter, &b->t, fetch_id, NULL, &f);
        if (r >= 0 && done) done(0, userdata);
    }
    bcast_free(b);
    return r;
}

int sio_broadcast_join(sio_broadcast *b, const char *room) {
    if (!b) return SIO_ENOMEM;
    int r = b->invalid || !room ? SIO_EINVAL
                                : b->nsp->adapter_ops->sockets_join(b->nsp->adapter, &b->t, room);
    bcast_free(b);
    return r;
}

int sio_broadcast_leave(sio_broadcast *b, const char *room) {
    if (!b) return SIO_ENOMEM;
    int r = b->invalid || !room ? SIO_EINVAL
                                : b->nsp->adapter_ops->sockets_leave(b->nsp->adapter, &b->t, room);
    bcast_free(b);
    return r;
}

int sio_broadcast_disconnect(sio_broadcast *b, bool close_transport) {
    if (!b) return SIO_ENOMEM;
    int r = b->invalid
                ? SIO_EINVAL
                : b->nsp->adapter_ops->disconnect_sockets(b->nsp->adapter, &b->t, close_transport);
    bcast_free(b);
    return r;
}

static sio_nsp *nsp_named(sio_server *srv, const char *nsp) {
    if (!nsp) nsp = "/";
    return sio_nsp_get(srv, nsp, strlen(nsp), 0);
}

int sio_namespace_rooms(sio_server *srv, const char *nsp, sio_room_cb cb, sio_done_cb done,
                        void *userdata) {
    sio_nsp *n = nsp_named(srv, nsp);
    if (!n || !cb) return SIO_EINVAL;
    sio_nsp_ref(n); /* cb may disconnect a dynamic namespace's last socket */
    int r = n->adapter_ops->all_rooms(n->adapter, 0, cb, done, userdata);
    sio_nsp_unref(n);
    return r;
}

/* ---- serverSideEmit ---------------------------------------------------------------------------- */

int sio_server_side_emit(sio_server *srv, const char *nsp, const char *event, const json_t *args) {
    sio_nsp *n = nsp_named(srv, nsp);
    if (!n || !event) return SIO_EINVAL;
    sio_adapter_packet pkt = {.event = event, .args = args};
    return n->adapter_ops->server_side_emit(n->adapter, &pkt, 0, NULL, NULL, NULL);
}

/* The answers of the other servers, until the adapter's done. */
typedef struct server_answers {
    sio_server_answers_cb cb;
    void *userdata;
    json_t *answers;
} server_answers;

static void server_answer(json_t *answer, void *ud) {
    server_answers *a = ud;
    json_array_append(a->answers, answer ? answer : json_null());
}

static void server_answers_done(int err, void *ud) {
    server_answers *a = ud;
    a->cb(err, a->answers, a->userdata);
    json_decref(a->answers);
    free(a);
}

int sio_server_side_emit_with_ack(sio_server *srv, const char *nsp, const char *event,
                                  const json_t *args, uint32_t timeout_ms, sio_server_answers_cb cb,
                                  void *userdata) {
    sio_nsp *n = nsp_named(srv, nsp);
    if (!n || !event || !cb) return SIO_EINVAL;
    server_answers *a = calloc(1, sizeof *a);
    if (!a || !(a->answers = json_array())) {
        free(a);
        return SIO_ENOMEM;
    }
    a->cb = cb;
    a->userdata = userdata;
    sio_adapter_packet pkt = {.event = event, .args = args};
    int r = n->adapter_ops->server_side_emit(n->adapter, &pkt, timeout_ms, server_answer,
                                             server_answers_done, a);
    if (r < 0) { /* done was not called */
        json_decref(a->answers);
        free(a);
    }
    return r;
}
