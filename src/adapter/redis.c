/* adapter/redis.c - the Redis adapter: broadcasts across servers that share a
 * Redis, wire-compatible with Node's @socket.io/redis-adapter 8.x.
 *
 * The adapter the application makes (sio_redis_adapter_new) is a factory: it
 * owns the two Redis connections (redis_conn), the key, the counters and the
 * list of live per-namespace instances. Each namespace's instance (create)
 * has its own 6-character uid, its own subscriptions (PSUBSCRIBE KEY#NSP#*,
 * SUBSCRIBE KEY-request#NSP#, KEY-response#NSP# and KEY-response#NSP#UID#)
 * and an in-memory adapter instance for its local rooms: room operations and
 * local delivery are the memory adapter's, as Node's Redis adapter extends
 * the in-memory one.
 *
 * Broadcast: the core's prepared packet goes to the local sockets through the
 * memory instance; then, unless local, the packet is serialized once as
 * MessagePack (redis_wire) and published on the room's channel when there is
 * exactly one room, on the namespace's channel otherwise. Receiving: the
 * channel is parsed (a room channel of a room with no local member is dropped
 * unread), the message decoded once (own uid and other namespaces dropped),
 * encoded once for the local sockets (sio_adapter_prepare) and walked through
 * the memory instance with the sender's rooms, except and flags.
 *
 * Faults: while Redis is down (redis_conn reconnects with backoff and
 * resubscribes), local delivery goes on and publications are dropped and
 * counted (publish_dropped): nothing is queued for later. Anything malformed
 * from Redis is dropped and counted, with a log line at most once a second
 * (the number left unlogged is in the next one).
 *
 * Readiness: when both connections are up, PUBSUB NUMSUB of every
 * namespace's private response channel is polled until each counts this
 * server, then on_state(true) is called: a broadcast published after that
 * reaches this server.
 *
 * Requests (spec sections 5-6): other servers' requests on the request
 * channel are answered on the shared response channel: 0 and 5 with the
 * matching sockets (5: id, rooms, address, auth; data null), 1 with the
 * rooms, 6 by the namespace's server-side handler (once, with a
 * requestId), 7 delivered locally with an ack id per client (a collector of
 * the core's, sio_adapter_broadcast_with_ack), answered by type 8 at once
 * and the type 9s when that collector ends; 2, 3, 4 are applied to the
 * selected local sockets, our own echoes included. Our own requests
 * (all_rooms, fetch_ids, server_side_emit with ack, broadcast_with_ack) are
 * `pending`: each counts the servers by PUBSUB NUMSUB, is then published,
 * counts the matching responses and ends when the NUMSUB - 1 others
 * answered, or after its timer (SIO_ETIMEDOUT), or with SIO_ECLOSED when
 * Redis goes down, its namespace goes or the adapter closes. A broadcast
 * with acks ends by its timer only: its client counts and answers go to the
 * core's collector, which knows when all are in. Our own
 * sockets_join/leave/disconnect are published and applied on their echo;
 * while Redis is down (or with `local`) they are applied here at once.
 *
 * Not yet: fetch_sockets (a local sio_socket per match) is local only.
 */
#include "socketio/redis.h"

#include "adapter/adapter.h"
#include "adapter/redis_conn.h"
#include "adapter/redis_wire.h"
#include "sio/sio_packet.h"
#include "util/buf.h"
#include "util/json_tree.h"
#include "util/log.h"
#include "util/random.h"
#include "util/vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REQUESTS_TIMEOUT_MS 5000
#define DEFAULT_MAX_MESSAGE_SIZE (1u << 20)
#define UID_LEN 6
#define READY_POLL_MS 10
#define DROP_LOG_INTERVAL_MS 1000

typedef struct rnsp rnsp;

typedef struct redis_adapter {
    sio_adapter base; /* first: what the application holds */
    uv_loop_t *loop;
    redis_conn *conn;
    char *key;
    uint32_t requests_timeout_ms;
    size_t max_message_size;
    sio_redis_state_cb on_state;
    void *userdata;
    UTIL_VEC(rnsp *) nsps; /* the live instances */
    util_buf out;          /* a broadcast's MessagePack */
    util_buf channel;      /* its channel */
    uv_timer_t ready_timer;
    bool up;       /* both connections up */
    bool ready;    /* up, and every namespace's subscriptions confirmed */
    bool checking; /* a PUBSUB NUMSUB in flight */
    sio_redis_stats stats;
    uint64_t last_drop_log;
    uint64_t unlogged; /* drops since the last line */
    sio_closed_cb closed;
    void *closed_ud;
    UTIL_VEC(struct sse_answer *) answers; /* server-side events still to answer */
} redis_adapter;

struct rnsp {
    redis_adapter *ra;
    sio_nsp *nsp;
    void *mem; /* the in-memory instance of this namespace's local rooms */
    char uid[UID_LEN + 1];
    char *pattern, *request, *response, *own_response;
    UTIL_VEC(struct pending *) pending; /* this server's requests */
};

static const sio_adapter_ops redis_ops;

static redis_adapter *adapter_of(const sio_adapter *a) {
    return (redis_adapter *)(void *)a;
}

static const sio_adapter_ops *mem_ops(void) {
    return sio_memory_adapter.ops;
}

/* One log line per DROP_LOG_INTERVAL_MS at most, whatever the flood. */
static void drop(redis_adapter *ra, const char *channel, size_t channel_len, const char *why) {
    ra->stats.received_dropped++;
    uint64_t now = uv_now(ra->loop);
    if (ra->last_drop_log && now - ra->last_drop_log < DROP_LOG_INTERVAL_MS) {
        ra->unlogged++;
        return;
    }
    if (channel_len > 200) channel_len = 200;
    LOG_WARN("redis", "dropped a message on %.*s: %s (%llu more dropped since the last line)",
             (int)channel_len, channel, why ? why : "malformed", (unsigned long long)ra->unlogged);
    ra->last_drop_log = now ? now : 1;
    ra->unlogged = 0;
}

/* ---- readiness ---- */

static void set_ready(redis_adapter *ra, bool ready) {
    if (ra->ready == ready) return;
    ra->ready = ready;
    if (ra->on_state) ra->on_state(ready, ra->userdata);
}

static void check_ready(redis_adapter *ra);

static void ready_poll(uv_timer_t *t) {
    check_ready(t->data);
}

static void on_numsub(const redisReply *reply, void *ud) {
    redis_adapter *ra = ud;
    ra->checking = false;
    if (ra->closed || !ra->up || !reply) return; /* a new "up" checks again */
    bool all = reply->type == REDIS_REPLY_ARRAY;
    for (size_t i = 1; all && i < reply->elements; i += 2)
        all = reply->element[i]->type == REDIS_REPLY_INTEGER && reply->element[i]->integer >= 1;
    if (all)
        set_ready(ra, true);
    else
        uv_timer_start(&ra->ready_timer, ready_poll, READY_POLL_MS, 0);
}

/* Asks Redis whether every namespace's private response channel is
 * subscribed (it is subscribed last, with the request channel). */
static void check_ready(redis_adapter *ra) {
    if (ra->closed || !ra->up || ra->checking) return;
    size_t n = ra->nsps.len;
    if (n == 0) {
        set_ready(ra, true);
        return;
    }
    const char **argv = malloc((n + 2) * sizeof *argv);
    size_t *lens = malloc((n + 2) * sizeof *lens);
    int r = SIO_ENOMEM;
    if (argv && lens && n < 100000) {
        argv[0] = "PUBSUB", lens[0] = 6;
        argv[1] = "NUMSUB", lens[1] = 6;
        for (size_t i = 0; i < n; i++) {
            argv[i + 2] = ra->nsps.items[i]->own_response;
            lens[i + 2] = strlen(argv[i + 2]);
        }
        r = redis_conn_command(ra->conn, (int)(n + 2), argv, lens, on_numsub, ra);
    }
    free(argv);
    free(lens);
    if (r == 0)
        ra->checking = true;
    else if (r == SIO_ENOMEM)
        uv_timer_start(&ra->ready_timer, ready_poll, 100, 0);
}

static void pending_fail_all(redis_adapter *ra);

static void on_conn_state(bool up, void *ud) {
    redis_adapter *ra = ud;
    ra->up = up;
    if (up) {
        check_ready(ra);
    } else {
        uv_timer_stop(&ra->ready_timer);
        set_ready(ra, false);
        pending_fail_all(ra);
    }
}

/* ---- receiving ---- */

/* Delivers a broadcast of another server to the matching local sockets. */
static void deliver_remote(rnsp *n, const redis_wire_broadcast *b, const char *channel,
                           size_t channel_len) {
    redis_adapter *ra = n->ra;
    const char *event = json_string_value(json_array_get(b->data, 0));
    json_t *args = json_array();
    if (!event || !args) {
        json_decref(args);
        drop(ra, channel, channel_len, event ? "out of memory" : "no event name");
        return;
    }
    for (size_t i = 1; i < json_array_size(b->data); i++)
        if (json_array_append(args, json_array_get(b->data, i)) != 0) {
            json_decref(args);
            drop(ra, channel, channel_len, "out of memory");
            return;
        }
    sio_adapter_packet pkt = {.event = event, .args = args};
    sio_prepared p;
    int r = sio_adapter_prepare(n->nsp, &pkt, SIO_NO_ID, &p);
    if (r == 0) {
        const redis_wire_flags *f = &b->opts.flags;
        sio_bcast_target t = {
            .rooms = b->opts.rooms.names,
            .nrooms = b->opts.rooms.len,
            .except = b->opts.except.names,
            .nexcept = b->opts.except.len,
            .local = true,
            .volatile_ = (f->has & REDIS_WIRE_FLAG_VOLATILE) && f->is_volatile,
            .compress = !(f->has & REDIS_WIRE_FLAG_COMPRESS) || f->compress,
        };
        mem_ops()->broadcast(n->mem, &t, &pkt, &p);
        sio_adapter_prepared_release(&p);
        ra->stats.received++;
    } else {
        drop(ra, channel, channel_len, r == SIO_EINVAL ? "not a valid event" : sio_strerror(r));
    }
    json_decref(args);
}

static void on_broadcast(rnsp *n, const char *channel, size_t channel_len, const char *room,
                         size_t room_len, const char *data, size_t len) {
    redis_adapter *ra = n->ra;
    /* a room channel concerns only a server with a member of that room */
    if (room_len && !sio_memory_has_room(n->mem, room, room_len) &&
        !sio_adapter_find(n->nsp, room, room_len))
        return;
    redis_wire_broadcast b;
    const char *why = NULL;
    int r = redis_wire_broadcast_decode(&b, data, len, ra->max_message_size, &why);
    if (r) {
        drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    if (strcmp(b.uid, n->uid) != 0 && strcmp(b.nsp, sio_adapter_nsp_name(n->nsp)) == 0)
        deliver_remote(n, &b, channel, channel_len);
    redis_wire_broadcast_free(&b);
}

static int make_uid(char uid[UID_LEN + 1]);

/* ---- requests: what this server asked and is waiting for ---- */

/* One request of this server: fetch-like (all_rooms) or server_side_emit
 * with ack. `expected` (the other servers) is known once PUBSUB NUMSUB
 * answers; the request is published then. */
typedef struct pending {
    rnsp *n;
    char id[UID_LEN + 1];
    redis_wire_type type;
    bool counted;  /* expected is known */
    bool counting; /* a NUMSUB in flight holds this (freed by its reply) */
    bool ended;
    size_t expected, got;
    sio_room_cb room_cb;
    void (*reply)(json_t *answer, void *ud);
    sio_done_cb done;
    void *ud;
    util_buf msg;        /* the request, published once the servers are counted */
    sio_bcast_ack *acks; /* type 7: the core's collector, held */
    uv_timer_t timer;
} pending;

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

static ptrdiff_t pending_find(const rnsp *n, const char *id) {
    for (size_t i = 0; i < n->pending.len; i++)
        if (strcmp(n->pending.items[i]->id, id) == 0) return (ptrdiff_t)i;
    return -1;
}

/* Ends a request once: done(err), then its timer closes and frees it. */
static void pending_end(pending *p, int err) {
    if (p->ended || !p->n) return;
    rnsp *n = p->n;
    ptrdiff_t i = pending_find(n, p->id);
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
    if (p->counted && p->got >= p->expected && !p->acks) pending_end(p, 0);
}

static void pending_timeout(uv_timer_t *t) {
    pending_end(t->data, SIO_ETIMEDOUT);
}

/* Every request of every namespace fails: Redis went down, or closing. */
static void pending_fail_all(redis_adapter *ra) {
    for (size_t i = 0; i < ra->nsps.len; i++) {
        rnsp *n = ra->nsps.items[i];
        while (n->pending.len) pending_end(n->pending.items[0], SIO_ECLOSED);
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
        pending_end(p, SIO_ECLOSED);
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
            pending_end(p, r);
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
        if (make_uid(p->id) != 0) {
            free(p);
            return SIO_EINVAL;
        }
    } while (pending_find(n, p->id) >= 0);
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

static void on_response(rnsp *n, const char *channel, size_t channel_len, const char *data,
                        size_t len) {
    redis_adapter *ra = n->ra;
    if (!n->pending.len) return; /* most responses are for others */
    redis_wire_response resp;
    const char *why = NULL;
    int r = redis_wire_response_decode(&resp, data, len, ra->max_message_size, &why);
    if (r) {
        drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    ptrdiff_t i = pending_find(n, resp.request_id);
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
        if (counts && (i = pending_find(n, resp.request_id)) >= 0) {
            p = n->pending.items[i];
            p->got++;
            pending_check(p);
        }
    }
    redis_wire_response_free(&resp);
}

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

static void respond(rnsp *n, const redis_wire_response *resp) {
    redis_adapter *ra = n->ra;
    if (!ra->conn || !redis_conn_up(ra->conn)) return;
    util_buf out = UTIL_BUF_INIT;
    int r = redis_wire_response_encode(&out, resp);
    if (r == 0)
        r = redis_conn_publish(ra->conn, n->response, strlen(n->response), out.data, out.len);
    if (r) LOG_DEBUG("redis", "response not published: %s", sio_strerror(r));
    util_buf_free(&out);
}

/* The answer to a server-side event with a requestId, sent once. Kept in
 * ra->answers so that closing the adapter leaves it harmless. */
typedef struct sse_answer {
    redis_adapter *ra;
    char *channel;
    char *request_id;
    /* type 7: the client count is published first, then the answers */
    bool counted;
    json_t *responses;
} sse_answer;

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
    redis_adapter *ra = a->ra;
    if (!ra || !ra->conn || !redis_conn_up(ra->conn)) return;
    util_buf out = UTIL_BUF_INIT;
    int r = redis_wire_response_encode(&out, resp);
    if (r == 0) r = redis_conn_publish(ra->conn, a->channel, strlen(a->channel), out.data, out.len);
    if (r) LOG_DEBUG("redis", "answer not published: %s", sio_strerror(r));
    util_buf_free(&out);
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
    redis_adapter *ra = a->ra;
    if (ra && ra->conn && redis_conn_up(ra->conn)) {
        redis_wire_response resp = {.type = 6, .request_id = a->request_id, .data = value};
        util_buf out = UTIL_BUF_INIT;
        int r = redis_wire_response_encode(&out, &resp);
        if (r == 0)
            r = redis_conn_publish(ra->conn, a->channel, strlen(a->channel), out.data, out.len);
        if (r) LOG_DEBUG("redis", "server-side answer not published: %s", sio_strerror(r));
        util_buf_free(&out);
    }
    sse_answer_free(a);
}

static void server_event(rnsp *n, const redis_wire_request *q) {
    redis_adapter *ra = n->ra;
    const char *event = json_string_value(json_array_get(q->data, 0));
    json_t *args = json_array();
    if (!event || !args) {
        json_decref(args);
        return;
    }
    for (size_t i = 1; i < json_array_size(q->data); i++)
        if (json_array_append(args, json_array_get(q->data, i)) != 0) {
            json_decref(args);
            return;
        }
    sse_answer *a = NULL;
    if (q->request_id) {
        a = calloc(1, sizeof *a);
        if (!a || !(a->channel = strdup(n->response)) || !(a->request_id = strdup(q->request_id)) ||
            util_vec_push(&ra->answers, a) != 0) {
            if (a) free(a->channel), free(a->request_id);
            free(a);
            json_decref(args);
            return;
        }
        a->ra = ra;
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
    const char *event = json_string_value(json_array_get(q->data, 0));
    json_t *args = json_array();
    if (!event || !args) {
        json_decref(args);
        return;
    }
    for (size_t i = 1; i < json_array_size(q->data); i++)
        if (json_array_append(args, json_array_get(q->data, i)) != 0) {
            json_decref(args);
            return;
        }
    sse_answer *a = calloc(1, sizeof *a);
    if (!a || !(a->channel = strdup(n->response)) || !(a->request_id = strdup(q->request_id)) ||
        util_vec_push(&ra->answers, a) != 0) {
        if (a) free(a->channel), free(a->request_id);
        free(a);
        json_decref(args);
        return;
    }
    a->ra = ra;
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

static void on_request(rnsp *n, const char *channel, size_t channel_len, const char *data,
                       size_t len) {
    redis_adapter *ra = n->ra;
    redis_wire_request q;
    const char *why = NULL;
    int r = redis_wire_request_decode(&q, data, len, ra->max_message_size, &why);
    if (r) {
        drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    bool own = strcmp(q.uid, n->uid) == 0;
    bool mine = q.request_id && pending_find(n, q.request_id) >= 0;
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

static void on_message(const char *channel, size_t channel_len, const char *data, size_t len,
                       void *ud) {
    redis_adapter *ra = ud;
    for (size_t i = 0; i < ra->nsps.len; i++) {
        rnsp *n = ra->nsps.items[i];
        const char *room = NULL;
        size_t room_len = 0;
        redis_wire_channel_kind k = redis_wire_channel_parse(
            channel, channel_len, ra->key, sio_adapter_nsp_name(n->nsp), &room, &room_len);
        if (k == REDIS_WIRE_CHANNEL_OTHER) continue;
        /* requests and responses run application code (disconnects, fetch
         * and reply callbacks) that may empty a dynamic namespace: held, it
         * and n outlive the handler; the unref may then destroy n */
        sio_nsp *nsp = n->nsp;
        sio_adapter_nsp_ref(nsp);
        if (k == REDIS_WIRE_CHANNEL_BROADCAST)
            on_broadcast(n, channel, channel_len, room, room_len, data, len);
        else if (k == REDIS_WIRE_CHANNEL_REQUEST)
            on_request(n, channel, channel_len, data, len);
        else
            on_response(n, channel, channel_len, data, len);
        sio_adapter_nsp_unref(nsp);
        return;
    }
}

/* ---- sending ---- */

typedef struct att_list {
    const sio_attachments *atts;
} att_list;

/* A placeholder of the raw text becomes a blob with its attachment's bytes. */
static json_t *placeholder_to_blob(json_t *obj, void *ud) {
    const sio_attachments *atts = ((att_list *)ud)->atts;
    if (!atts || !json_is_true(json_object_get(obj, "_placeholder"))) return obj;
    json_t *num = json_object_get(obj, "num");
    if (!json_is_number(num)) return obj;
    double d = json_number_value(num);
    if (!(d >= 0 && d < (double)atts->len && d == floor(d))) return obj;
    const uv_buf_t *a = &atts->items[(size_t)d];
    json_t *blob = sio_blob_new(a->base, a->len);
    if (!blob) return NULL;
    json_decref(obj);
    return blob;
}

/* [event, ...args] as a new jansson array, from either form of pkt. */
static json_t *packet_data(redis_adapter *ra, const sio_adapter_packet *pkt) {
    json_t *data;
    if (pkt->args) {
        data = json_array();
        if (data && json_array_extend(data, (json_t *)pkt->args) != 0) {
            json_decref(data);
            return NULL;
        }
    } else {
        util_buf *text = &ra->channel; /* free until the channel is written */
        text->len = 0;
        if (util_buf_append(text, "[", 1) || util_buf_append(text, pkt->raw, pkt->raw_len) ||
            util_buf_append(text, "]", 1))
            return NULL;
        att_list al = {pkt->atts};
        data = util_json_parse(text->data, text->len, placeholder_to_blob, &al);
        if (data && !json_is_array(data)) {
            json_decref(data);
            return NULL;
        }
    }
    if (data && json_array_insert_new(data, 0, json_string(pkt->event)) != 0) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/* Serializes and publishes a broadcast once; counts what is not sent. */
static void publish(rnsp *n, const sio_bcast_target *t, const sio_adapter_packet *pkt) {
    redis_adapter *ra = n->ra;
    if (!ra->conn || !redis_conn_up(ra->conn)) { /* nothing is kept for later */
        ra->stats.publish_dropped++;
        return;
    }
    json_t *data = packet_data(ra, pkt);
    const char *small[16];
    const char **except = small;
    size_t nexcept = t->nexcept + (t->skip ? 1 : 0);
    if (nexcept > 16 && !(except = malloc(nexcept * sizeof *except))) nexcept = 0, except = NULL;
    int r = data && except ? 0 : SIO_ENOMEM;
    if (r == 0) {
        for (size_t i = 0; i < t->nexcept; i++) except[i] = t->except[i];
        if (t->skip) except[t->nexcept] = sio_socket_id(t->skip);
        redis_wire_flags flags = {0};
        if (t->volatile_) flags.has |= REDIS_WIRE_FLAG_VOLATILE, flags.is_volatile = true;
        if (!t->compress) flags.has |= REDIS_WIRE_FLAG_COMPRESS, flags.compress = false;
        redis_wire_broadcast b = {
            .uid = n->uid,
            .nsp = sio_adapter_nsp_name(n->nsp),
            .data = data,
            .opts = {.rooms = {t->rooms, t->nrooms}, .except = {except, nexcept}, .flags = flags},
        };
        ra->out.len = 0;
        ra->channel.len = 0;
        r = redis_wire_broadcast_encode(&ra->out, &b);
        if (r == 0 && ra->out.len > ra->max_message_size) r = SIO_ETOOBIG;
        if (r == 0)
            r = redis_wire_broadcast_channel(&ra->channel, ra->key, b.nsp,
                                             t->nrooms == 1 ? t->rooms[0] : NULL);
        if (r == 0)
            r = redis_conn_publish(ra->conn, ra->channel.data, ra->channel.len, ra->out.data,
                                   ra->out.len);
    }
    if (except != small) free(except);
    json_decref(data);
    if (r == 0) {
        ra->stats.published++;
    } else {
        ra->stats.publish_dropped++;
        LOG_DEBUG("redis", "broadcast not published: %s", sio_strerror(r));
    }
}

/* ---- the ops ---- */

static char *channel_name(int r, util_buf *b) {
    if (r) {
        util_buf_free(b);
        return NULL;
    }
    size_t len;
    if (util_buf_append(b, "", 1)) { /* the NUL */
        util_buf_free(b);
        return NULL;
    }
    return util_buf_detach(b, &len);
}

static void rnsp_free(rnsp *n) {
    if (n->mem) mem_ops()->destroy(n->mem);
    free(n->pattern);
    free(n->request);
    free(n->response);
    free(n->own_response);
    free(n);
}

static int make_uid(char uid[UID_LEN + 1]) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char bytes[UID_LEN];
    if (util_random_bytes(bytes, sizeof bytes) != 0) return SIO_EINVAL;
    for (size_t i = 0; i < UID_LEN; i++) uid[i] = alphabet[bytes[i] & 63];
    uid[UID_LEN] = '\0';
    return 0;
}

static void *r_create(sio_adapter *self, sio_nsp *nsp) {
    redis_adapter *ra = adapter_of(self);
    rnsp *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->ra = ra;
    n->nsp = nsp;
    const char *name = sio_adapter_nsp_name(nsp);
    util_buf b1 = UTIL_BUF_INIT, b2 = UTIL_BUF_INIT, b3 = UTIL_BUF_INIT, b4 = UTIL_BUF_INIT;
    if (make_uid(n->uid) != 0 || !(n->mem = mem_ops()->create(&sio_memory_adapter, nsp)) ||
        !(n->pattern = channel_name(redis_wire_broadcast_pattern(&b1, ra->key, name), &b1)) ||
        !(n->request = channel_name(redis_wire_request_channel(&b2, ra->key, name), &b2)) ||
        !(n->response = channel_name(redis_wire_response_channel(&b3, ra->key, name, NULL), &b3)) ||
        !(n->own_response =
              channel_name(redis_wire_response_channel(&b4, ra->key, name, n->uid), &b4)) ||
        util_vec_push(&ra->nsps, n) != 0) {
        util_buf_free(&b1), util_buf_free(&b2), util_buf_free(&b3), util_buf_free(&b4);
        rnsp_free(n);
        return NULL;
    }
    /* the private response channel last: readiness polls it */
    if (redis_conn_subscribe(ra->conn, n->pattern, true) != 0 ||
        redis_conn_subscribe(ra->conn, n->request, false) != 0 ||
        redis_conn_subscribe(ra->conn, n->response, false) != 0 ||
        redis_conn_subscribe(ra->conn, n->own_response, false) != 0) {
        redis_conn_unsubscribe(ra->conn, n->pattern, true);
        redis_conn_unsubscribe(ra->conn, n->request, false);
        redis_conn_unsubscribe(ra->conn, n->response, false);
        ra->nsps.len--;
        rnsp_free(n);
        return NULL;
    }
    return n;
}

static void r_destroy(void *adapter) {
    rnsp *n = adapter;
    redis_adapter *ra = n->ra;
    while (n->pending.len) pending_end(n->pending.items[0], SIO_ECLOSED);
    util_vec_free(&n->pending);
    for (size_t i = 0; i < ra->nsps.len; i++)
        if (ra->nsps.items[i] == n) {
            util_vec_remove(&ra->nsps, i);
            break;
        }
    if (ra->conn) {
        redis_conn_unsubscribe(ra->conn, n->pattern, true);
        redis_conn_unsubscribe(ra->conn, n->request, false);
        redis_conn_unsubscribe(ra->conn, n->response, false);
        redis_conn_unsubscribe(ra->conn, n->own_response, false);
    }
    rnsp_free(n);
}

static int r_join(void *a, sio_socket *s, const char *room) {
    return mem_ops()->join(((rnsp *)a)->mem, s, room);
}

static int r_leave(void *a, sio_socket *s, const char *room) {
    return mem_ops()->leave(((rnsp *)a)->mem, s, room);
}

static void r_leave_all(void *a, sio_socket *s) {
    mem_ops()->leave_all(((rnsp *)a)->mem, s);
}

static int r_has(void *a, const sio_socket *s, const char *room) {
    return mem_ops()->has(((rnsp *)a)->mem, s, room);
}

static void r_rooms_of(void *a, const sio_socket *s, sio_room_cb cb, void *ud) {
    mem_ops()->rooms_of(((rnsp *)a)->mem, s, cb, ud);
}

static size_t r_broadcast(void *a, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                          const sio_prepared *p) {
    rnsp *n = a;
    size_t count = mem_ops()->broadcast(n->mem, t, pkt, p);
    if (!t->local) publish(n, t, pkt);
    return count;
}

/* Local recipients, then (unless local) type 7 to the others: a
 * placeholder server holds the collector open until NUMSUB says how many
 * client counts to wait for; their counts and answers go to the collector,
 * which is held until the request's timer ends. */
static size_t r_broadcast_with_ack(void *a, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, uint64_t id,
                                   const sio_prepared *p, sio_bcast_ack *acks) {
    rnsp *n = a;
    size_t count = mem_ops()->broadcast_with_ack(n->mem, t, pkt, id, p, acks);
    if (t->local || !n->ra->conn || !redis_conn_up(n->ra->conn)) return count;
    json_t *data = packet_data(n->ra, pkt);
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
static int r_fetch_sockets(void *a, const sio_bcast_target *t, sio_adapter_each_cb cb,
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
static int r_fetch_ids(void *a, const sio_bcast_target *t, sio_room_cb cb, sio_done_cb done,
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

static int r_sockets_join(void *a, const sio_bcast_target *t, const char *room) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_JOIN, room, false);
    return r == 0 ? 0 : mem_ops()->sockets_join(n->mem, t, room);
}

static int r_sockets_leave(void *a, const sio_bcast_target *t, const char *room) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_LEAVE, room, false);
    return r == 0 ? 0 : mem_ops()->sockets_leave(n->mem, t, room);
}

static int r_disconnect_sockets(void *a, const sio_bcast_target *t, bool close_transport) {
    rnsp *n = a;
    int r = remote_op(n, t, REDIS_WIRE_REMOTE_DISCONNECT, NULL, close_transport);
    return r == 0 ? 0 : mem_ops()->disconnect_sockets(n->mem, t, close_transport);
}

/* Without reply: published once (no requestId), 0. With reply: a request
 * that ends when NUMSUB - 1 servers answered, or with SIO_ETIMEDOUT. The
 * number of servers is not known yet when this returns: 0. */
static int r_server_side_emit(void *a, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                              void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud) {
    rnsp *n = a;
    json_t *data = packet_data(n->ra, pkt);
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
static int r_all_rooms(void *a, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done, void *ud) {
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

static const sio_adapter_ops redis_ops = {
    .name = "redis",
    .create = r_create,
    .destroy = r_destroy,
    .join = r_join,
    .leave = r_leave,
    .leave_all = r_leave_all,
    .has = r_has,
    .rooms_of = r_rooms_of,
    .broadcast = r_broadcast,
    .broadcast_with_ack = r_broadcast_with_ack,
    .fetch_sockets = r_fetch_sockets,
    .sockets_join = r_sockets_join,
    .sockets_leave = r_sockets_leave,
    .disconnect_sockets = r_disconnect_sockets,
    .server_side_emit = r_server_side_emit,
    .all_rooms = r_all_rooms,
    .fetch_ids = r_fetch_ids,
};

/* ---- the public API ---- */

void sio_redis_options_init(sio_redis_options *o) {
    *o = (sio_redis_options){
        .key = REDIS_WIRE_DEFAULT_KEY,
        .requests_timeout_ms = DEFAULT_REQUESTS_TIMEOUT_MS,
        .max_message_size = DEFAULT_MAX_MESSAGE_SIZE,
    };
}

sio_adapter *sio_redis_adapter_new(uv_loop_t *loop, const sio_redis_options *o) {
    if (!loop || !o || !o->url) return NULL;
    redis_adapter *ra = calloc(1, sizeof *ra);
    if (!ra) return NULL;
    ra->base.ops = &redis_ops;
    ra->loop = loop;
    ra->key = strdup(o->key && o->key[0] ? o->key : REDIS_WIRE_DEFAULT_KEY);
    ra->requests_timeout_ms =
        o->requests_timeout_ms ? o->requests_timeout_ms : DEFAULT_REQUESTS_TIMEOUT_MS;
    ra->max_message_size = o->max_message_size ? o->max_message_size : DEFAULT_MAX_MESSAGE_SIZE;
    ra->on_state = o->on_state;
    ra->userdata = o->userdata;
    redis_conn_options co;
    redis_conn_options_init(&co);
    co.url = o->url;
    if (!ra->key || !(ra->conn = redis_conn_new(loop, &co, on_message, on_conn_state, ra))) {
        free(ra->key);
        free(ra);
        return NULL;
    }
    uv_timer_init(loop, &ra->ready_timer);
    ra->ready_timer.data = ra;
    return &ra->base;
}

bool sio_redis_adapter_ready(const sio_adapter *a) {
    return a && a->ops == &redis_ops && adapter_of(a)->ready;
}

void sio_redis_adapter_stats(const sio_adapter *a, sio_redis_stats *out) {
    *out = (sio_redis_stats){0};
    if (a && a->ops == &redis_ops) *out = adapter_of(a)->stats;
}

static void timer_closed(uv_handle_t *h) {
    redis_adapter *ra = h->data;
    sio_closed_cb done = ra->closed;
    void *ud = ra->closed_ud;
    for (size_t i = 0; i < ra->answers.len; i++) ra->answers.items[i]->ra = NULL;
    util_vec_free(&ra->answers);
    util_vec_free(&ra->nsps);
    util_buf_free(&ra->out);
    util_buf_free(&ra->channel);
    free(ra->key);
    free(ra);
    if (done) done(ud);
}

static void conn_closed(void *ud) {
    redis_adapter *ra = ud;
    uv_close((uv_handle_t *)&ra->ready_timer, timer_closed);
}

static void closed_noop(void *ud) {
    (void)ud;
}

void sio_redis_adapter_close(sio_adapter *a, sio_closed_cb done, void *userdata) {
    if (!a || a->ops != &redis_ops) return;
    redis_adapter *ra = adapter_of(a);
    if (ra->closed) return;
    ra->closed = done ? done : closed_noop;
    ra->closed_ud = userdata;
    ra->on_state = NULL;
    uv_timer_stop(&ra->ready_timer);
    pending_fail_all(ra);
    redis_conn *c = ra->conn;
    ra->conn = NULL;
    redis_conn_close(c, conn_closed, ra);
}
