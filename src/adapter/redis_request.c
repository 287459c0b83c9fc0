/* adapter/redis_request.c - owns this server's requests to the other
 * servers of the Redis adapter (see redis.c for the whole): counted with
 * PUBSUB NUMSUB, published, timed, matched with their responses by
 * requestId, failed when Redis goes down or the namespace goes; and the ops
 * that make them (fetch, socketsJoin/Leave, disconnectSockets,
 * serverSideEmit, allRooms, broadcasts with acks).
 */
#include "adapter/redis_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests: what this server asked and is waiting for ---- */

static void pending_free(pending *p) {
    util_buf_free(&p->msg);
    free(p);
}

static void pending_closed(uv_handle_t *h) {
    pending *p = h->data;
    if (!p->counting)
        pending_free(p);
    else
        p->ended = true; /* on_count frees it */
}

ptrdiff_t redis_pending_find(const rnsp *n, const char *id) {
    for (size_t i = 0; i < n->pending.len; i++)
        if (strcmp(n->pending.items[i]->id, id) == 0) return (ptrdiff_t)i;
    return -1;
}

/* Ends a request once: done(err), then its timer closes and frees it. */
void redis_pending_end(pending *p, int err) {
    if (p->ended || !p->n) return;
    rnsp *n = p->n;
    ptrdiff_t i = redis_pending_find(n, p->id);
    if (i >= 0) util_vec_remove(&n->pending, (size_t)i);
    p->n = NULL;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, pending_closed);
    if (p->acks) { /* later answers are ignored; a server count never asked for is not awaited */
        sio_bcast_ack *acks = p->acks;
        p->acks = NULL;
        if (!p->counted) sio_adapter_ack_client_count(acks, 0);
        sio_adapter_ack_release(acks);
    }
    if (p->done) p->done(err, p->ud);
}

/* A broadcast with acks (type 7) ends by its timer only: the collector
 * itself knows when every answer is in. */
static void pending_check(pending *p) {
    if (p->counted && p->got >= p->expected && !p->acks) redis_pending_end(p, 0);
}

static void pending_timeout(uv_timer_t *t) {
    redis_pending_end(t->data, SIO_ETIMEDOUT);
}

/* Every request of every namespace fails: Redis went down, or closing. */
void redis_pending_fail_all(redis_adapter *ra) {
    for (size_t i = 0; i < ra->nsps.len; i++) {
        rnsp *n = ra->nsps.items[i];
        while (n->pending.len) redis_pending_end(n->pending.items[0], SIO_ECLOSED);
    }
}

static int publish_request(rnsp *n, const redis_wire_request *q) {
    redis_adapter *ra = n->ra;
    if (!ra->conn || !redis_conn_up(ra->conn)) return SIO_ECLOSED;
    util_buf out = UTIL_BUF_INIT;
    int r = redis_wire_request_encode(&out, q);
    if (r == 0 && out.len > ra->max_message_size) r = SIO_ETOOBIG;
    if (r == 0) r = redis_conn_publish(ra->conn, n->request, strlen(n->request), out.data, out.len);
    util_buf_free(&out);
    return r;
}

static void on_count(const redisReply *reply, void *ud) {
    pending *p = ud;
    p->counting = false;
    if (p->ended) { /* ended and its timer closed meanwhile */
        pending_free(p);
        return;
    }
    if (!p->n) return; /* ended, its timer closing: pending_closed frees it */
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_INTEGER) {
        redis_pending_end(p, SIO_ECLOSED);
        return;
    }
    long long subs = reply->element[1]->integer;
    p->expected = subs > 1 ? (size_t)(subs - 1) : 0;
    p->counted = true;
    if (p->acks) sio_adapter_ack_servers(p->acks, p->expected);
    if (p->expected) {
        redis_adapter *ra = p->n->ra;
        int r = ra->conn ? redis_conn_publish(ra->conn, p->n->request, strlen(p->n->request),
                                              p->msg.data, p->msg.len)
                         : SIO_ECLOSED;
        if (r) {
            redis_pending_end(p, r);
            return;
        }
    }
    if (p->acks) { /* the placeholder server of r_broadcast_with_ack: last, it may end it all */
        sio_adapter_ack_client_count(p->acks, 0);
        return;
    }
    pending_check(p);
}

/* Starts request q (its request_id is set here): registered, timed, the
 * servers counted, then published. */
static int pending_start(rnsp *n, redis_wire_request *q, uint32_t timeout_ms, sio_room_cb room_cb,
                         void (*reply)(json_t *, void *), sio_done_cb done, void *ud,
                         sio_bcast_ack *acks) {
    redis_adapter *ra = n->ra;
    if (!ra->conn || !redis_conn_up(ra->conn)) return SIO_ECLOSED;
    pending *p = calloc(1, sizeof *p);
    if (!p) return SIO_ENOMEM;
    *p = (pending){
        .n = n, .type = q->type, .room_cb = room_cb, .reply = reply, .done = done, .ud = ud};
    do {
        if (redis_make_uid(p->id) != 0) {
            free(p);
            return SIO_EINVAL;
        }
    } while (redis_pending_find(n, p->id) >= 0);
    q->request_id = p->id;
    q->uid = n->uid;
    int r = redis_wire_request_encode(&p->msg, q);
    if (r == 0 && p->msg.len > ra->max_message_size) r = SIO_ETOOBIG;
    if (r == 0 && util_vec_push(&n->pending, p) != 0) r = SIO_ENOMEM;
    if (r) {
        pending_free(p);
        return r;
    }
    const char *argv[3] = {"PUBSUB", "NUMSUB", n->request};
    size_t lens[3] = {6, 6, strlen(n->request)};
    r = redis_conn_command(ra->conn, 3, argv, lens, on_count, p);
    if (r) {
        n->pending.len--;
        pending_free(p);
        return r;
    }
    p->counting = true;
    p->acks = acks;
    uv_timer_init(ra->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, pending_timeout, timeout_ms ? timeout_ms : ra->requests_timeout_ms,
                   0);
    return 0;
}

void redis_on_response(rnsp *n, const char *channel, size_t channel_len, const char *data,
                       size_t len) {
    redis_adapter *ra = n->ra;
    if (!n->pending.len) return; /* most responses are for others */
    redis_wire_response resp;
    const char *why = NULL;
    int r = redis_wire_response_decode(&resp, data, len, ra->max_message_size, &why);
    if (r) {
        redis_drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    ptrdiff_t i = redis_pending_find(n, resp.request_id);
    if (i >= 0) {
        pending *p = n->pending.items[i];
        bool counts = false;
        if (p->type == REDIS_WIRE_ALL_ROOMS && resp.type == -1 && resp.has_rooms) {
            counts = true;
            for (size_t k = 0; k < resp.rooms.len && p->n; k++)
                if (p->room_cb) p->room_cb(resp.rooms.names[k], p->ud);
        } else if (p->type == REDIS_WIRE_REMOTE_FETCH && resp.type == -1 && resp.sockets) {
            counts = true;
            for (size_t k = 0; k < json_array_size(resp.sockets) && p->n; k++) {
                const char *id =
                    json_string_value(json_object_get(json_array_get(resp.sockets, k), "id"));
                if (id && p->room_cb) p->room_cb(id, p->ud);
            }
        } else if (p->type == REDIS_WIRE_BROADCAST && p->acks && resp.type == 8) {
            sio_adapter_ack_client_count(p->acks, (size_t)resp.client_count);
        } else if (p->type == REDIS_WIRE_BROADCAST && p->acks && resp.type == 9) {
            json_t *args = json_array();
            if (args && json_array_append(args, resp.packet ? resp.packet : json_null()) == 0)
                sio_adapter_ack_answer(p->acks, args);
            json_decref(args);
        } else if (p->type == REDIS_WIRE_SERVER_SIDE_EMIT && resp.type == 6) {
            counts = true;
            if (p->reply) p->reply(resp.data ? resp.data : json_null(), p->ud);
        }
        /* the callbacks ran application code: the request may have ended */
        if (counts && (i = redis_pending_find(n, resp.request_id)) >= 0) {
            p = n->pending.items[i];
            p->got++;
            pending_check(p);
        }
    }
    redis_wire_response_free(&resp);
}

/* Local recipients, then (unless local) type 7 to the others: a
 * placeholder server holds the collector open until NUMSUB says how many
 * client counts to wait for; their counts and answers go to the collector,
 * which is held until the request's timer ends. */
size_t redis_op_broadcast_with_ack(void *a, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, uint64_t id,
                                   const sio_prepared *p, sio_bcast_ack *acks) {
    rnsp *n = a;
    size_t count = mem_ops()->broadcast_with_ack(n->mem, t, pkt, id, p, acks);
    if (t->local || !n->ra->conn || !redis_conn_up(n->ra->conn)) return count;
    json_t *data = redis_packet_data(n->ra, pkt);
    const char *small[16];
    const char **except = small;
    size_t nexcept = t->nexcept + (t->skip ? 1 : 0);
    if (nexcept > 16 && !(except = malloc(nexcept * sizeof *except))) except = NULL;
    if (!data || !except) {
        json_decref(data);
        return count;
    }
    for (size_t i = 0; i < t->nexcept; i++) except[i] = t->except[i];
    if (t->skip) except[t->nexcept] = sio_socket_id(t->skip);
    redis_wire_flags flags = {0};
    if (t->volatile_) flags.has |= REDIS_WIRE_FLAG_VOLATILE, flags.is_volatile = true;
    if (!t->compress) flags.has |= REDIS_WIRE_FLAG_COMPRESS, flags.compress = false;
    if (t->timeout_ms) flags.has |= REDIS_WIRE_FLAG_TIMEOUT, flags.timeout_ms = t->timeout_ms;
    redis_wire_request q = {
        .type = REDIS_WIRE_BROADCAST,
        .nsp = sio_adapter_nsp_name(n->nsp),
        .data = data,
        .opts = {.rooms = {t->rooms, t->nrooms}, .except = {except, nexcept}, .flags = flags},
    };
    sio_adapter_ack_servers(acks, 1); /* the placeholder (collector still starting) */
    sio_adapter_ack_hold(acks);
    if (pending_start(n, &q, t->timeout_ms, NULL, NULL, NULL, NULL, acks) != 0) {
        sio_adapter_ack_client_count(acks, 0);
        sio_adapter_ack_release(acks);
    }
    if (except != small) free(except);
    json_decref(data);
    return count;
}

/* fetchSockets reaches this server's sockets only: the core's callback takes
 * a local socket, and a remote one has no such form yet. */
int redis_op_fetch_sockets(void *a, const sio_bcast_target *t, sio_adapter_each_cb cb,
                           sio_done_cb done, void *ud) {
    return mem_ops()->fetch_sockets(((rnsp *)a)->mem, t, cb, done, ud);
}

typedef struct ids_of {
    sio_room_cb cb;
    void *ud;
} ids_of;

static void id_of(sio_socket *s, void *ud) {
    ids_of *c = ud;
    c->cb(sio_socket_id(s), c->ud);
}

/* fetchSockets as ids (type 5): this server's at once, then each other
 * server's as it answers; done as r_all_rooms. */
int redis_op_fetch_ids(void *a, const sio_bcast_target *t, sio_room_cb cb, sio_done_cb done,
                       void *ud) {
    rnsp *n = a;
    ids_of c = {cb, ud};
    int count = mem_ops()->fetch_sockets(n->mem, t, id_of, NULL, &c);
    if (count < 0) return count;
    redis_wire_request q = {
        .type = REDIS_WIRE_REMOTE_FETCH,
        .opts = {.rooms = {t->rooms, t->nrooms}, .except = {t->except, t->nexcept}},
    };
    int r = t->local ? SIO_ECLOSED : pending_start(n, &q, t->timeout_ms, cb, NULL, done, ud, NULL);
    if (r == SIO_ECLOSED) {
        if (done) done(0, ud);
        return count;
    }
    return r < 0 ? r : count;
}

/* Types 2, 3, 4: published, and applied here when the echo comes back, as
 * Node does; applied here at once when local or when Redis is down. Returns
 * the number of local sockets affected now (0 when published). */
static int remote_op(rnsp *n, const sio_bcast_target *t, redis_wire_type type, const char *room,
                     bool close) {
    if (t->local || !n->ra->conn || !redis_conn_up(n->ra->conn)) return -1;
    const char *small[16];
    const char **except = small;
    size_t nexcept = t->nexcept + (t->skip ? 1 : 0);
    if (nexcept > 16 && !(except = malloc(nexcept * sizeof *except))) return -1;
    for (size_t i = 0; i < t->nexcept; i++) except[i] = t->except[i];
    if (t->skip) except[t->nexcept] = sio_socket_id(t->skip);
    const char *rooms[1] = {room};
    redis_wire_request q = {
        .type = type,
        .uid = n->uid,
        .opts = {.rooms = {t->rooms, t->nrooms}, .except = {except, nexcept}},
        .rooms = {rooms, room ? 1 : 0},
        .close = close,
    };
    int r = publish_request(n, &q);
    if (except != small) free(except);
    return r == 0 ? 0 : -1;
}

int redis_op_sockets_join(void *a, const sio_bcast_target *t, const char *room) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_JOIN, room, false);
    return r == 0 ? 0 : mem_ops()->sockets_join(n->mem, t, room);
}

int redis_op_sockets_leave(void *a, const sio_bcast_target *t, const char *room) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_LEAVE, room, false);
    return r == 0 ? 0 : mem_ops()->sockets_leave(n->mem, t, room);
}

int redis_op_disconnect_sockets(void *a, const sio_bcast_target *t, bool close_transport) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_DISCONNECT, NULL, close_transport);
    return r == 0 ? 0 : mem_ops()->disconnect_sockets(n->mem, t, close_transport);
}

/* Without reply: published once (no requestId), 0. With reply: a request
 * that ends when NUMSUB - 1 servers answered, or with SIO_ETIMEDOUT. The
 * number of servers is not known yet when this returns: 0. */
int redis_op_server_side_emit(void *a, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                              void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud) {
    rnsp *n = a;
    json_t *data = redis_packet_data(n->ra, pkt);
    if (!data) return SIO_ENOMEM;
    int r;
    if (!reply && !done) {
        redis_wire_request q = {.type = REDIS_WIRE_SERVER_SIDE_EMIT, .uid = n->uid, .data = data};
        r = publish_request(n, &q);
    } else {
        redis_wire_request q = {.type = REDIS_WIRE_SERVER_SIDE_EMIT, .data = data};
        r = pending_start(n, &q, timeout_ms, NULL, reply, done, ud, NULL);
    }
    json_decref(data);
    return r;
}

/* This server's rooms at once, then each other server's as it answers;
 * done(0) when all did, SIO_ETIMEDOUT after the timeout, SIO_ECLOSED when
 * Redis goes down meanwhile. Redis down at the call: this server's only. */
int redis_op_all_rooms(void *a, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done, void *ud) {
    rnsp *n = a;
    int count = mem_ops()->all_rooms(n->mem, timeout_ms, cb, NULL, ud);
    if (count < 0) return count;
    redis_wire_request q = {.type = REDIS_WIRE_ALL_ROOMS};
    int r = pending_start(n, &q, timeout_ms, cb, NULL, done, ud, NULL);
    if (r == SIO_ECLOSED) {
        if (done) done(0, ud);
        return count;
    }
    return r < 0 ? r : count;
}
