/* adapter/redis_answer.c - owns the Redis adapter's answers to the other
 * servers' requests (see redis.c for the whole): ids, rooms and fetchSockets
 * entries of local sockets, socketsJoin/Leave and disconnectSockets applied
 * (also our own echoes, as Node), server-side events and broadcasts with
 * acks, answered once each on the response channel.
 */
#include "adapter/redis_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- requests: answering the other servers ---- */

typedef UTIL_VEC(char *) name_list;

typedef struct collect {
    rnsp *n;
    name_list names;
    json_t *entries;
    int err;
} collect;

static void names_free(name_list *l) {
    for (size_t i = 0; i < l->len; i++) free(l->items[i]);
    util_vec_free(l);
}

static void collect_name(const char *room, void *ud) {
    collect *c = ud;
    char *s = strdup(room);
    if (!s || util_vec_push(&c->names, s) != 0) {
        free(s);
        c->err = SIO_ENOMEM;
    }
}

static void collect_id(sio_socket *s, void *ud) {
    collect_name(sio_socket_id(s), ud);
}

/* A fetchSockets entry from what the socket keeps: its id, rooms, address
 * and auth; no header list, time, url or query is kept by the core, and
 * socket data is the application's pointer, so data is null. */
static void collect_entry(sio_socket *s, void *ud) {
    collect *c = ud;
    if (c->err) return;
    collect rooms = {.n = c->n};
    mem_ops()->rooms_of(c->n->mem, s, collect_name, &rooms);
    json_t *headers = json_object();
    redis_wire_socket e = {
        .id = sio_socket_id(s),
        .handshake = {.headers = headers,
                      .address = sio_socket_remote_addr(s),
                      .auth = sio_socket_auth(s)},
        .rooms = {(const char *const *)rooms.names.items, rooms.names.len},
    };
    json_t *entry = rooms.err || !headers ? NULL : redis_wire_socket_new(&e);
    if (!entry || json_array_append_new(c->entries, entry) != 0) c->err = SIO_ENOMEM;
    json_decref(headers);
    names_free(&rooms.names);
}

/* Every answer goes out so: encoded, published on channel, or dropped with a
 * debug line while Redis is down (ra NULL: the adapter is closing). */
static void publish_response(redis_adapter *ra, const char *channel,
                             const redis_wire_response *resp) {
    if (!ra || !ra->conn || !redis_conn_up(ra->conn)) return;
    util_buf out = UTIL_BUF_INIT;
    int r = redis_wire_response_encode(&out, resp);
    if (r == 0) r = redis_conn_publish(ra->conn, channel, strlen(channel), out.data, out.len);
    if (r) LOG_DEBUG("redis", "answer not published: %s", sio_strerror(r));
    util_buf_free(&out);
}

static void respond(rnsp *n, const redis_wire_response *resp) {
    publish_response(n->ra, n->response, resp);
}

static void sse_answer_free(sse_answer *a) {
    if (a->ra)
        for (size_t i = 0; i < a->ra->answers.len; i++)
            if (a->ra->answers.items[i] == a) {
                util_vec_swap_remove(&a->ra->answers, i);
                break;
            }
    free(a->channel);
    free(a->request_id);
    json_decref(a->responses);
    free(a);
}

static void answer_publish(sse_answer *a, const redis_wire_response *resp) {
    publish_response(a->ra, a->channel, resp);
}

/* An answer to come for request_id on n's response channel, listed in
 * ra->answers; NULL on ENOMEM. */
static sse_answer *answer_new(rnsp *n, const char *request_id) {
    sse_answer *a = calloc(1, sizeof *a);
    if (!a || !(a->channel = strdup(n->response)) || !(a->request_id = strdup(request_id)) ||
        util_vec_push(&n->ra->answers, a) != 0) {
        if (a) free(a->channel), free(a->request_id);
        free(a);
        return NULL;
    }
    a->ra = n->ra;
    return a;
}

/* The event name and the arguments after it of a request's data; NULL when
 * the data holds no event name, or on ENOMEM. */
static json_t *event_args(const redis_wire_request *q, const char **event) {
    *event = json_string_value(json_array_get(q->data, 0));
    json_t *args = *event ? json_array() : NULL;
    for (size_t i = 1; args && i < json_array_size(q->data); i++)
        if (json_array_append(args, json_array_get(q->data, i)) != 0) {
            json_decref(args);
            args = NULL;
        }
    return args;
}

/* Type 9, one per client answer (its first argument), then the end. */
static void acks_publish(sse_answer *a) {
    for (size_t i = 0; i < json_array_size(a->responses); i++) {
        json_t *first = json_array_get(json_array_get(a->responses, i), 0);
        redis_wire_response resp = {
            .type = 9, .request_id = a->request_id, .packet = first ? first : json_null()};
        answer_publish(a, &resp);
    }
    sse_answer_free(a);
}

static void acks_done(int err, json_t *responses, void *ud) {
    (void)err; /* a timeout: the answers received are sent */
    sse_answer *a = ud;
    a->responses = json_incref(responses);
    if (a->counted) acks_publish(a);
}

static void sse_answered(json_t *value, void *ud) {
    sse_answer *a = ud;
    redis_wire_response resp = {.type = 6, .request_id = a->request_id, .data = value};
    answer_publish(a, &resp);
    sse_answer_free(a);
}

static void server_event(rnsp *n, const redis_wire_request *q) {
    const char *event;
    json_t *args = event_args(q, &event);
    if (!args) return;
    sse_answer *a = NULL;
    if (q->request_id && !(a = answer_new(n, q->request_id))) {
        json_decref(args);
        return;
    }
    if (!sio_adapter_server_event(n->nsp, event, args, a ? sse_answered : NULL, a) && a)
        sse_answer_free(a);
    json_decref(args);
}

/* Type 7: delivered here with an ack id per client; {type 8, clientCount}
 * once (also 0), then {type 9, packet} per answer, sent when the local
 * collector ends (every client answered or disconnected, or the timeout). */
static void remote_broadcast_with_ack(rnsp *n, const redis_wire_request *q) {
    redis_adapter *ra = n->ra;
    const char *event;
    json_t *args = event_args(q, &event);
    if (!args) return;
    sse_answer *a = answer_new(n, q->request_id);
    if (!a) {
        json_decref(args);
        return;
    }
    const redis_wire_flags *f = &q->opts.flags;
    sio_bcast_target t = {
        .rooms = q->opts.rooms.names,
        .nrooms = q->opts.rooms.len,
        .except = q->opts.except.names,
        .nexcept = q->opts.except.len,
        .local = true,
        .volatile_ = (f->has & REDIS_WIRE_FLAG_VOLATILE) && f->is_volatile,
        .compress = !(f->has & REDIS_WIRE_FLAG_COMPRESS) || f->compress,
        .timeout_ms = (f->has & REDIS_WIRE_FLAG_TIMEOUT) && f->timeout_ms < UINT32_MAX
                          ? (uint32_t)f->timeout_ms
                          : ra->requests_timeout_ms,
    };
    sio_adapter_packet pkt = {.event = event, .args = args};
    int count = sio_adapter_broadcast_with_ack(n->nsp, &t, &pkt, acks_done, a);
    json_decref(args);
    if (count < 0) { /* cb never called: nothing answered, the requester times out */
        sse_answer_free(a);
        return;
    }
    redis_wire_response resp = {
        .type = 8, .request_id = a->request_id, .client_count = (uint64_t)count};
    answer_publish(a, &resp);
    a->counted = true;
    if (a->responses) acks_publish(a); /* ended already */
}

void redis_on_request(rnsp *n, const char *channel, size_t channel_len, const char *data,
                      size_t len) {
    redis_adapter *ra = n->ra;
    redis_wire_request q;
    const char *why = NULL;
    int r = redis_wire_request_decode(&q, data, len, ra->max_message_size, &why);
    if (r) {
        redis_drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    bool own = strcmp(q.uid, n->uid) == 0;
    bool mine = q.request_id && redis_pending_find(n, q.request_id) >= 0;
    sio_bcast_target t = {
        .rooms = q.opts.rooms.names,
        .nrooms = q.opts.rooms.len,
        .except = q.opts.except.names,
        .nexcept = q.opts.except.len,
        .local = true,
        .compress = true,
    };
    collect c = {.n = n};
    redis_wire_response resp = {.type = -1, .request_id = q.request_id};
    switch (q.type) {
    case REDIS_WIRE_SOCKETS:
        if (own || mine) break;
        t = (sio_bcast_target){.rooms = q.rooms.names, .nrooms = q.rooms.len, .local = true};
        mem_ops()->fetch_sockets(n->mem, &t, collect_id, NULL, &c);
        resp.sockets = json_array();
        for (size_t i = 0; resp.sockets && i < c.names.len; i++)
            if (json_array_append_new(resp.sockets, json_string(c.names.items[i]))) c.err = 1;
        if (resp.sockets && !c.err) respond(n, &resp);
        json_decref(resp.sockets);
        break;
    case REDIS_WIRE_ALL_ROOMS:
        if (own || mine) break;
        mem_ops()->all_rooms(n->mem, 0, collect_name, NULL, &c);
        resp.has_rooms = true;
        resp.rooms = (redis_wire_rooms){(const char *const *)c.names.items, c.names.len};
        if (!c.err) respond(n, &resp);
        break;
    case REDIS_WIRE_REMOTE_JOIN:
    case REDIS_WIRE_REMOTE_LEAVE:
    case REDIS_WIRE_REMOTE_DISCONNECT:
        /* our own echoes too: that is how our own sockets are reached */
        if (q.sid) { /* the legacy per-socket form */
            sio_socket *s = sio_adapter_find(n->nsp, q.sid, strlen(q.sid));
            if (s && q.type == REDIS_WIRE_REMOTE_JOIN && q.room)
                (void)mem_ops()->join(n->mem, s, q.room);
            else if (s && q.type == REDIS_WIRE_REMOTE_LEAVE && q.room)
                (void)mem_ops()->leave(n->mem, s, q.room);
            else if (s && q.type == REDIS_WIRE_REMOTE_DISCONNECT)
                sio_socket_disconnect(s, q.close);
            if (s && q.request_id && !own) respond(n, &resp);
        } else if (q.type == REDIS_WIRE_REMOTE_DISCONNECT) {
            mem_ops()->disconnect_sockets(n->mem, &t, q.close);
        } else {
            for (size_t i = 0; i < q.rooms.len; i++)
                if (q.type == REDIS_WIRE_REMOTE_JOIN)
                    mem_ops()->sockets_join(n->mem, &t, q.rooms.names[i]);
                else
                    mem_ops()->sockets_leave(n->mem, &t, q.rooms.names[i]);
        }
        break;
    case REDIS_WIRE_REMOTE_FETCH:
        if (own || mine) break;
        if (!(c.entries = json_array())) break;
        mem_ops()->fetch_sockets(n->mem, &t, collect_entry, NULL, &c);
        resp.sockets = c.entries;
        if (!c.err) respond(n, &resp);
        json_decref(c.entries);
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT:
        if (!own) server_event(n, &q);
        break;
    case REDIS_WIRE_BROADCAST:
        if (!own && !mine && q.request_id) remote_broadcast_with_ack(n, &q);
        break;
    default:
        break;
    }
    names_free(&c.names);
    redis_wire_request_free(&q);
}
