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
 * Not yet: requests. fetchSockets, socketsJoin/Leave, disconnectSockets and
 * allRooms act on this server's sockets only (the memory instance's), a
 * broadcast with acks reaches local sockets only, serverSideEmit fails with
 * UV_ENOTSUP, and requests from other servers are ignored (they time out
 * there).
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
} redis_adapter;

struct rnsp {
    redis_adapter *ra;
    sio_nsp *nsp;
    void *mem; /* the in-memory instance of this namespace's local rooms */
    char uid[UID_LEN + 1];
    char *pattern, *request, *response, *own_response;
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

static void on_conn_state(bool up, void *ud) {
    redis_adapter *ra = ud;
    ra->up = up;
    if (up) {
        check_ready(ra);
    } else {
        uv_timer_stop(&ra->ready_timer);
        set_ready(ra, false);
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

static void on_message(const char *channel, size_t channel_len, const char *data, size_t len,
                       void *ud) {
    redis_adapter *ra = ud;
    for (size_t i = 0; i < ra->nsps.len; i++) {
        rnsp *n = ra->nsps.items[i];
        const char *room = NULL;
        size_t room_len = 0;
        redis_wire_channel_kind k = redis_wire_channel_parse(
            channel, channel_len, ra->key, sio_adapter_nsp_name(n->nsp), &room, &room_len);
        if (k == REDIS_WIRE_CHANNEL_BROADCAST) {
            on_broadcast(n, channel, channel_len, room, room_len, data, len);
            return;
        }
        /* requests and responses: not handled yet (the requester times out) */
        if (k != REDIS_WIRE_CHANNEL_OTHER) return;
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

/* Local recipients only, for now: the other servers are not asked. */
static size_t r_broadcast_with_ack(void *a, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, uint64_t id,
                                   const sio_prepared *p, sio_bcast_ack *acks) {
    return mem_ops()->broadcast_with_ack(((rnsp *)a)->mem, t, pkt, id, p, acks);
}

/* Requests are not sent yet: these act on this server's sockets only. */
static int r_fetch_sockets(void *a, const sio_bcast_target *t, sio_adapter_each_cb cb,
                           sio_done_cb done, void *ud) {
    return mem_ops()->fetch_sockets(((rnsp *)a)->mem, t, cb, done, ud);
}

static int r_sockets_join(void *a, const sio_bcast_target *t, const char *room) {
    return mem_ops()->sockets_join(((rnsp *)a)->mem, t, room);
}

static int r_sockets_leave(void *a, const sio_bcast_target *t, const char *room) {
    return mem_ops()->sockets_leave(((rnsp *)a)->mem, t, room);
}

static int r_disconnect_sockets(void *a, const sio_bcast_target *t, bool close_transport) {
    return mem_ops()->disconnect_sockets(((rnsp *)a)->mem, t, close_transport);
}

static int r_server_side_emit(void *a, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                              void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud) {
    (void)a, (void)pkt, (void)timeout_ms, (void)reply, (void)done, (void)ud;
    return UV_ENOTSUP;
}

static int r_all_rooms(void *a, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done, void *ud) {
    return mem_ops()->all_rooms(((rnsp *)a)->mem, timeout_ms, cb, done, ud);
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
    redis_conn *c = ra->conn;
    ra->conn = NULL;
    redis_conn_close(c, conn_closed, ra);
}
