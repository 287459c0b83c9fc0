/* adapter/redis.c - the Redis adapter: broadcasts across servers that share a
 * Redis, wire-compatible with Node's @socket.io/redis-adapter 8.x.
 *
 * Files: this one owns the adapter, its namespaces (create/destroy, the
 * rooms through the in-memory instance), readiness, the dispatch of what
 * arrives and the public API; redis_broadcast.c, redis_request.c and
 * redis_answer.c the rest (redis_internal.h).
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
#include "adapter/redis_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const sio_adapter_ops redis_ops;

/* One log line per DROP_LOG_INTERVAL_MS at most, whatever the flood. */
void redis_drop(redis_adapter *ra, const char *channel, size_t channel_len, const char *why) {
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
        redis_pending_fail_all(ra);
    }
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
            redis_on_broadcast(n, channel, channel_len, room, room_len, data, len);
        else if (k == REDIS_WIRE_CHANNEL_REQUEST)
            redis_on_request(n, channel, channel_len, data, len);
        else
            redis_on_response(n, channel, channel_len, data, len);
        sio_adapter_nsp_unref(nsp);
        return;
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

int redis_make_uid(char uid[UID_LEN + 1]) {
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
    if (redis_make_uid(n->uid) != 0 || !(n->mem = mem_ops()->create(&sio_memory_adapter, nsp)) ||
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
    while (n->pending.len) redis_pending_end(n->pending.items[0], SIO_ECLOSED);
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
    if (!t->local) redis_publish(n, t, pkt);
    return count;
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
    .broadcast_with_ack = redis_op_broadcast_with_ack,
    .fetch_sockets = redis_op_fetch_sockets,
    .sockets_join = redis_op_sockets_join,
    .sockets_leave = redis_op_sockets_leave,
    .disconnect_sockets = redis_op_disconnect_sockets,
    .server_side_emit = redis_op_server_side_emit,
    .all_rooms = redis_op_all_rooms,
    .fetch_ids = redis_op_fetch_ids,
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
    redis_pending_fail_all(ra);
    redis_conn *c = ra->conn;
    ra->conn = NULL;
    redis_conn_close(c, conn_closed, ra);
}
