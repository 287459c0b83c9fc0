/* sio-test-server: the servers that conformance suites and our interop tests
 * drive, on one port (default 3000):
 *
 *   /socket.io/   the Socket.IO server of the socket.io-protocol test suite
 *                 (pingInterval 300, pingTimeout 200, maxPayload 1e6,
 *                 connectTimeout 1000, CORS *): on connection to "/" and
 *                 "/custom" it emits "auth" with the handshake's auth payload;
 *                 "message" comes back as "message-back" with the same
 *                 arguments; "message-with-ack" is acknowledged with them.
 *                 Namespace "/chat" (the benchmark workload):
 *                   msg_to_server(data)   -> msg_to_client(data) to all of /chat
 *                   echo(...args, ack)    -> ack(...args)
 *                   join(room, ack)       -> joins, ack(true); ack({error, message})
 *                                            when sio_join fails ("Too many rooms"
 *                                            for SIO_ETOOBIG: a cap below)
 *                   to_room(room, data)   -> room_msg(data) to that room only
 *                   bin_echo(bin, ack)    -> ack(bin)
 *                 and the cluster contract of tests/cluster/node-server.mjs
 *                 (with --redis, across the nodes of a cluster):
 *                   to_all(...d)          -> msg(...d) to all (binary included)
 *                   to_others(d)          -> others_msg(d) to all but the sender
 *                   except_room(room, d)  -> others_msg(d) to all but that room
 *                   whoami(ack)           -> ack(server id)
 *                   kick_room, sockets_join, ping_servers (and the
 *                   server-side hello(cb) -> cb(server id)) as node-server.mjs;
 *                   count, ids, count_room (sio_broadcast_fetch_ids),
 *                   ask_all and ask_room too
 *                 Namespace "/features" (the feature tests, see the section
 *                 below for each event): middlewares (auth.token "bad" is
 *                 refused with data, "slow" is accepted after a timer, "late"
 *                 is refused by the second middleware), acknowledgements asked
 *                 of the client, rooms, every broadcast operator,
 *                 fetchSockets & co., server-side disconnections, and a
 *                 catch-all handler.
 *                 Dynamic namespaces "/dyn-<digits>": each connection gets
 *                 "nsp" with its namespace's name; whoami(ack) -> ack(name).
 *   /engine.io/   a bare Engine.IO server that sends every message back, text
 *                 or binary, configured as the engine.io v4 spec's test suite
 *                 expects (pingInterval 300, pingTimeout 200, maxPayload 1e6,
 *                 CORS *)
 *   /test/disconnect-reason?sid=ID
 *                 the reason socket ID (any namespace) was disconnected for,
 *                 as text/plain, or 404 when it is not (yet) known. Every
 *                 disconnection is also printed on stdout as
 *                 "disconnect <nsp> <sid> <reason>", which outlives a shutdown.
 *
 * Flags: --port N, --ping-interval MS, --ping-timeout MS,
 * --max-http-buffer-size BYTES, --eio3 (also accept Engine.IO v3 clients),
 * --transports polling|websocket|both, --connect-timeout MS, --forbid-header NAME
 * (refuse handshakes carrying that header with 403, through eio_options.allow_request),
 * --cors ORIGINS (the allowed origins, "*" by default, or a comma-separated
 * list), --cors-credentials (Access-Control-Allow-Credentials: true),
 * --cookie NAME (the handshake sets cookie NAME to the session id),
 * --no-upgrades (allowUpgrades false), --upgrade-timeout MS (upgradeTimeout),
 * --cors-allowed-headers LIST (preflight Allow-Headers), --max-connections N
 * (HTTP connections, 30000 here), --max-sessions N, --max-sessions-per-ip N,
 * --max-buffered-bytes BYTES (the Engine.IO limits, library defaults if not
 * given; each Engine.IO server has its own), --max-rooms-per-socket N
 * (max_rooms_per_socket), --max-rooms N (max_rooms: distinct rooms
 * server-wide), --max-memberships N (max_memberships: room memberships
 * server-wide), library defaults if not given.
 * --redis URL joins a cluster through the Redis adapter (socketio/redis.h),
 * --redis-key KEY its channel prefix, --server-id ID what whoami answers.
 * Prints "listening on PORT" (with --redis, once the adapter is ready: its
 * subscriptions confirmed by Redis), and "redis pub ready" / "redis pub
 * reconnecting" on each change of the adapter's state; SIGTERM/SIGINT shut
 * it down (exit 0, leak-free).
 * Numbers are parsed strictly (tools/common/cli_num.h): a bad value, or one
 * out of range, stops the program with exit status 2 and a one-line message.
 */
#include "cli_num.h"
#include "socketio.h"
#include "socketio/redis.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG "sio-test-server"
#define MS_MAX 2147483647LL    /* timeouts and intervals: ms, their sums fit in uint32_t */
#define BUFFER_MAX (1LL << 30) /* --max-http-buffer-size: 1 GiB (queues allow 4 times it) */

static http_server *http;
static uv_signal_t sig_int, sig_term;

static void echo_message(eio_socket *s, const char *data, size_t len, bool binary, void *ud) {
    eio_send(s, data, len, binary);
}

/* ---- Socket.IO: the protocol test suite's handlers ---- */

static void emit_auth(sio_socket *s, void *ud) {
    json_t *auth = sio_socket_auth(s);
    json_t *args = json_pack("[O]", auth ? auth : json_object());
    if (!auth) json_decref(json_array_get(args, 0)); /* json_object() above was a new reference */
    sio_emit(s, "auth", args);
    json_decref(args);
}

/* the arguments go back as they came, binary attachments included, unparsed */
static void message(sio_socket *s, sio_event *ev, void *ud) {
    sio_emit_args(s, "message-back", ev);
}

static void message_with_ack(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    sio_event_ack_raw(ev, raw, len);
}

/* ---- Socket.IO: namespace /chat ---- */

static sio_server *sio;

static void chat_msg(sio_socket *s, sio_event *ev, void *ud) {
    sio_broadcast_emit_args(sio_broadcast_new(sio, "/chat"), "msg_to_client", ev);
}

static void chat_echo(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    sio_event_ack_raw(ev, raw, len);
}

static void chat_join(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    if (!json_is_string(room)) return;
    int err = sio_join(s, json_string_value(room));
    json_t *answer = err ? json_pack("[{si ss}]", "error", err, "message",
                                     err == SIO_ETOOBIG ? "Too many rooms" : sio_strerror(err))
                         : json_pack("[b]", 1);
    sio_event_ack(ev, answer);
    json_decref(answer);
}

static void chat_to_room(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    json_t *data = sio_event_arg(ev, 1);
    if (!json_is_string(room)) return;
    json_t *args = json_pack("[O]", data ? data : json_null());
    sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(sio, "/chat"), json_string_value(room)),
                       "room_msg", args);
    json_decref(args);
}

static void chat_bin_echo(sio_socket *s, sio_event *ev, void *ud) {
    json_t *args = sio_event_args(ev);
    sio_event_ack(ev, args);
}

/* ---- /chat across a cluster (--redis): the contract of tests/cluster/node-server.mjs ---- */

static const char *server_id = "c";
static sio_adapter *redis;

/* to_all(...d) -> msg(...d) to all of /chat, binary passing through */
static void chat_to_all(sio_socket *s, sio_event *ev, void *ud) {
    sio_broadcast_emit_args(sio_broadcast_new(sio, "/chat"), "msg", ev);
}

/* to_others(d) -> others_msg(d) to all but the sender */
static void chat_to_others(sio_socket *s, sio_event *ev, void *ud) {
    json_t *d = sio_event_arg(ev, 0);
    json_t *args = json_pack("[O]", d ? d : json_null());
    sio_broadcast_emit(sio_socket_broadcast(s), "others_msg", args);
    json_decref(args);
}

/* except_room(room, d) -> others_msg(d) to all but that room */
static void chat_except_room(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    json_t *d = sio_event_arg(ev, 1);
    if (!room) return;
    json_t *args = json_pack("[O]", d ? d : json_null());
    sio_broadcast_emit(sio_broadcast_except(sio_broadcast_new(sio, "/chat"), room), "others_msg",
                       args);
    json_decref(args);
}

/* whoami(ack) -> ack(server id) */
static void chat_whoami(sio_socket *s, sio_event *ev, void *ud) {
    json_t *args = json_pack("[s]", server_id);
    sio_event_ack(ev, args);
    json_decref(args);
}

static void ack_one(sio_event *ev, json_t *value);

/* kick_room(room, ack) -> disconnectSockets(false) of room, ack(true) */
static void chat_kick_room(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    if (room)
        sio_broadcast_disconnect(sio_broadcast_to(sio_broadcast_new(sio, "/chat"), room), false);
    ack_one(ev, json_true());
}

/* sockets_join(room, new, ack) -> socketsJoin(new) of room, ack(true) */
static void chat_sockets_join(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    const char *joined = json_string_value(sio_event_arg(ev, 1));
    if (room && joined)
        sio_broadcast_join(sio_broadcast_to(sio_broadcast_new(sio, "/chat"), room), joined);
    ack_one(ev, json_true());
}

/* ping_servers(ack) -> serverSideEmitWithAck('hello'): ack(n, [replies]), ack(-1) on error */
static void ping_answers(int err, json_t *answers, void *ud) {
    json_t *args = err ? json_pack("[i]", -1)
                       : json_pack("[IO]", (json_int_t)json_array_size(answers), answers);
    sio_ack_send(ud, args);
    json_decref(args);
}

static void chat_ping_servers(sio_socket *s, sio_event *ev, void *ud) {
    sio_ack *ack = sio_event_take_ack(ev);
    if (!ack) return;
    int r = sio_server_side_emit_with_ack(sio, "/chat", "hello", NULL, 0, ping_answers, ack);
    if (r < 0) {
        json_t *args = json_pack("[i]", -1);
        sio_ack_send(ack, args);
        json_decref(args);
    }
}

/* (server side) hello(cb) -> cb(server id) */
static void chat_hello(sio_server *srv, const char *nsp, json_t *args, sio_server_reply *reply,
                       void *ud) {
    json_t *id = json_string(server_id);
    if (reply) sio_server_reply_send(reply, id);
    json_decref(id);
}

/* count(ack), ids(ack), count_room(room, ack): fetchSockets across servers,
 * by sio_broadcast_fetch_ids; ack(-1) / ack(null) on error. */
typedef struct fetch_ack {
    sio_ack *ack;
    json_t *ids;
    bool as_ids;
} fetch_ack;

static void fetch_ack_id(const char *id, void *ud) {
    fetch_ack *f = ud;
    json_array_append_new(f->ids, json_string(id));
}

static void fetch_ack_done(int err, void *ud) {
    fetch_ack *f = ud;
    json_t *value =
        err ? (f->as_ids ? json_null() : json_integer(-1))
            : (f->as_ids ? json_incref(f->ids) : json_integer((json_int_t)json_array_size(f->ids)));
    json_t *args = json_pack("[o]", value);
    sio_ack_send(f->ack, args);
    json_decref(args);
    json_decref(f->ids);
    free(f);
}

static void fetch_and_ack(sio_event *ev, const char *room, bool as_ids) {
    fetch_ack *f = calloc(1, sizeof *f);
    if (!f || !(f->ids = json_array()) || !(f->ack = sio_event_take_ack(ev))) {
        if (f) json_decref(f->ids);
        free(f);
        return;
    }
    f->as_ids = as_ids;
    sio_broadcast *b = sio_broadcast_new(sio, "/chat");
    if (room) b = sio_broadcast_to(b, room);
    if (sio_broadcast_fetch_ids(b, fetch_ack_id, fetch_ack_done, f) < 0) fetch_ack_done(-1, f);
}

static void chat_count(sio_socket *s, sio_event *ev, void *ud) {
    fetch_and_ack(ev, NULL, false);
}

static void chat_ids(sio_socket *s, sio_event *ev, void *ud) {
    fetch_and_ack(ev, NULL, true);
}

static void chat_count_room(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    if (room) fetch_and_ack(ev, room, false);
}

/* ask_all(ack), ask_room(room, ack): a 3 s broadcast with acks of
 * 'question': ack([each client's first answer]), ack(null) on error. */
static void ask_answers(int err, json_t *responses, void *ud) {
    json_t *list = err ? NULL : json_array();
    for (size_t i = 0; list && i < json_array_size(responses); i++) {
        json_t *first = json_array_get(json_array_get(responses, i), 0);
        json_array_append(list, first ? first : json_null());
    }
    json_t *args = json_pack("[o]", list ? list : json_null());
    sio_ack_send(ud, args);
    json_decref(args);
}

static void ask_and_ack(sio_event *ev, const char *room) {
    sio_ack *ack = sio_event_take_ack(ev);
    if (!ack) return;
    sio_broadcast *b = sio_broadcast_timeout(sio_broadcast_new(sio, "/chat"), 3000);
    if (room) b = sio_broadcast_to(b, room);
    if (sio_broadcast_emit_with_ack(b, "question", NULL, ask_answers, ack) < 0) {
        json_t *args = json_pack("[n]");
        sio_ack_send(ack, args);
        json_decref(args);
    }
}

static void chat_ask_all(sio_socket *s, sio_event *ev, void *ud) {
    ask_and_ack(ev, NULL);
}

static void chat_ask_room(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    if (room) ask_and_ack(ev, room);
}

/* The Redis adapter's readiness: "listening on PORT" waits for the first,
 * and each change is printed as Node's node does ("redis pub ready",
 * "redis pub reconnecting"). */
static int listen_port;
static void redis_state(bool up, void *ud) {
    static bool announced;
    printf("redis pub %s\nredis sub %s\n", up ? "ready" : "reconnecting",
           up ? "ready" : "reconnecting");
    if (up && !announced) {
        announced = true;
        printf("listening on %d\n", listen_port);
    }
    fflush(stdout);
}

/* ---- disconnect reasons: recorded for every namespace, queryable by the tests ---- */

#define REASONS 512

typedef struct reason_entry {
    char sid[24];
    char reason[40];
} reason_entry;

static reason_entry reasons[REASONS]; /* a ring: the newest REASONS disconnections */
static unsigned reasons_next;

static void begin_shutdown(void);
static char shutdown_on_disconnect[24]; /* a socket whose disconnection shuts the server down */

static void record_disconnect(sio_socket *s, const char *reason, void *ud) {
    char *notice_room = sio_socket_get_data(s); /* set by /features notify_on_leave */
    if (notice_room) {
        json_t *args = json_pack("[s]", sio_socket_id(s));
        sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(sio, sio_socket_nsp(s)), notice_room),
                           "peer_left", args);
        json_decref(args);
        sio_socket_set_data(s, NULL);
        free(notice_room);
    }
    reason_entry *e = &reasons[reasons_next++ % REASONS];
    snprintf(e->sid, sizeof e->sid, "%s", sio_socket_id(s));
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    printf("disconnect %s %s %s\n", sio_socket_nsp(s), sio_socket_id(s), reason);
    fflush(stdout);
    if (shutdown_on_disconnect[0] && strcmp(shutdown_on_disconnect, sio_socket_id(s)) == 0)
        begin_shutdown();
}

static const char *find_reason(const char *sid) {
    for (unsigned i = 0; i < REASONS; i++) {
        reason_entry *e = &reasons[(reasons_next - 1 - i) % REASONS];
        if (e->sid[0] && strcmp(e->sid, sid) == 0) return e->reason;
    }
    return NULL;
}

/* GET /test/disconnect-reason?sid=ID -> the reason, or 404 */
static void reason_route(http_req *req, void *ud) {
    const char *sid = http_req_query(req, "sid");
    const char *reason = sid ? find_reason(sid) : NULL;
    if (reason)
        http_res_send(req, 200, "text/plain", reason);
    else
        http_res_send(req, 404, "text/plain", "unknown");
}

/* ---- Socket.IO: namespace /features ---- */

/* Middleware 1: token "bad" is refused with data, "slow" accepted after a timer. */
typedef struct slow_accept {
    uv_timer_t timer;
    sio_next *next;
} slow_accept;

static void free_handle(uv_handle_t *h) {
    free(h->data);
}

static void slow_accept_fire(uv_timer_t *t) {
    slow_accept *a = t->data;
    sio_next_accept(a->next);
    uv_close((uv_handle_t *)t, free_handle);
}

static const char *auth_token(sio_socket *s) {
    return json_string_value(json_object_get(sio_socket_auth(s), "token"));
}

static void features_auth(sio_socket *s, sio_next *next, void *ud) {
    const char *token = auth_token(s);
    if (token && strcmp(token, "bad") == 0) {
        json_t *data = json_pack("{ss}", "reason", "token");
        sio_next_reject(next, "not authorized", data);
        json_decref(data);
        return;
    }
    if (token && strcmp(token, "slow") == 0) {
        slow_accept *a = calloc(1, sizeof *a);
        if (!a) {
            sio_next_reject(next, "no memory", NULL);
            return;
        }
        a->next = next;
        uv_timer_init(uv_default_loop(), &a->timer);
        a->timer.data = a;
        uv_timer_start(&a->timer, slow_accept_fire, 100, 0);
        return;
    }
    sio_next_accept(next);
}

/* Middleware 2 (runs after the first has accepted): token "late" is refused without data. */
static void features_auth_late(sio_socket *s, sio_next *next, void *ud) {
    const char *token = auth_token(s);
    if (token && strcmp(token, "late") == 0)
        sio_next_reject(next, "refused late", NULL);
    else
        sio_next_accept(next);
}

/* On connection: "welcome" {id, nsp, auth} */
static void features_connect(sio_socket *s, void *ud) {
    json_t *auth = sio_socket_auth(s);
    json_t *args = json_pack("[{ss ss sO}]", "id", sio_socket_id(s), "nsp", sio_socket_nsp(s),
                             "auth", auth ? auth : json_null());
    sio_emit(s, "welcome", args);
    json_decref(args);
}

/* The arguments of ev from index `from` on, as a new array. */
static json_t *args_from(sio_event *ev, size_t from) {
    json_t *all = sio_event_args(ev), *out = json_array();
    for (size_t i = from; i < json_array_size(all); i++)
        json_array_append(out, json_array_get(all, i));
    return out;
}

/* Acknowledges ev with one value (stolen). */
static void ack_one(sio_event *ev, json_t *value) {
    json_t *args = json_pack("[o]", value ? value : json_null());
    sio_event_ack(ev, args);
    json_decref(args);
}

static void add_room(const char *room, void *ud) {
    json_array_append_new(ud, json_string(room));
}

static json_t *rooms_of(sio_socket *s) {
    json_t *rooms = json_array();
    sio_socket_rooms(s, add_room, rooms);
    return rooms;
}

/*
 * A broadcast described by the client: {to: [rooms], except: [rooms],
 * broadcast: true (from this socket: all but itself), volatile, local,
 * compress: bool, timeout: ms}.
 */
static sio_broadcast *broadcast_from(sio_socket *s, json_t *spec) {
    sio_broadcast *b = json_is_true(json_object_get(spec, "broadcast"))
                           ? sio_socket_broadcast(s)
                           : sio_broadcast_new(sio, sio_socket_nsp(s));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(spec, "to"), i, v) sio_broadcast_to(b, json_string_value(v));
    json_array_foreach(json_object_get(spec, "except"), i, v)
        sio_broadcast_except(b, json_string_value(v));
    if (json_is_true(json_object_get(spec, "volatile"))) sio_broadcast_volatile(b);
    if (json_is_true(json_object_get(spec, "local"))) sio_broadcast_local(b);
    json_t *compress = json_object_get(spec, "compress");
    if (json_is_boolean(compress)) sio_broadcast_compress(b, json_is_true(compress));
    json_t *timeout = json_object_get(spec, "timeout");
    if (json_is_integer(timeout)) sio_broadcast_timeout(b, (uint32_t)json_integer_value(timeout));
    return b;
}

/* broadcast(spec, event, ...args, ack) -> emits event(...args) to the described
 * sockets spec.repeat times (default 1); ack([recipients of each emit]) */
static void features_broadcast(sio_socket *s, sio_event *ev, void *ud) {
    json_t *spec = sio_event_arg(ev, 0);
    const char *event = json_string_value(sio_event_arg(ev, 1));
    if (!event) return;
    json_t *args = args_from(ev, 2);
    json_int_t repeat = json_integer_value(json_object_get(spec, "repeat"));
    json_t *counts = json_array();
    for (json_int_t i = 0; i < (repeat > 0 && repeat <= 100 ? repeat : 1); i++)
        json_array_append_new(
            counts, json_integer(sio_broadcast_emit(broadcast_from(s, spec), event, args)));
    json_decref(args);
    ack_one(ev, counts);
}

/* Delivers a broadcast-with-ack's outcome to the client that asked for it. */
static void broadcast_acked(int err, json_t *responses, void *ud) {
    if (!ud) return;
    json_t *result = json_pack("[{s:s? s:O}]", "err",
                               err == SIO_ETIMEDOUT ? "timeout"
                               : err                ? "error"
                                                    : NULL,
                               "responses", responses);
    sio_ack_send(ud, result);
    json_decref(result);
}

/* broadcast_with_ack(spec, event, ...args, ack) -> emits event(...args) with an
 * acknowledgement to the described sockets (spec.timeout ms);
 * ack({err: null | "timeout", responses: [[args of each answer]]}) */
static void features_broadcast_with_ack(sio_socket *s, sio_event *ev, void *ud) {
    json_t *spec = sio_event_arg(ev, 0);
    const char *event = json_string_value(sio_event_arg(ev, 1));
    if (!event) return;
    json_t *args = args_from(ev, 2);
    sio_ack *ack = sio_event_take_ack(ev);
    int r = sio_broadcast_emit_with_ack(broadcast_from(s, spec), event, args, broadcast_acked, ack);
    json_decref(args);
    if (r < 0 && ack) {
        json_t *result = json_pack("[{ss}]", "err", sio_strerror(r));
        sio_ack_send(ack, result);
        json_decref(result);
    }
}

/* Delivers the client's answer to an "ask" (or its absence) back to it. */
static void ask_answered(sio_socket *s, int err, json_t *args, void *ud) {
    const char *why = err == SIO_ETIMEDOUT ? "timeout"
                      : err == SIO_ECLOSED ? "closed"
                      : err                ? "error"
                                           : NULL;
    json_t *result = json_pack("[{s:s? s:O?}]", "err", why, "args", args);
    sio_ack_send(ud, result); /* fails, and frees, when the socket is gone */
    json_decref(result);
}

/* ask(event, timeout_ms, ...args, ack) -> the server emits event(...args) to this
 * socket with an acknowledgement (timeout 0: none) and reports
 * ack({err: null | "timeout", args: [the client's answer]}) */
static void features_ask(sio_socket *s, sio_event *ev, void *ud) {
    const char *event = json_string_value(sio_event_arg(ev, 0));
    json_int_t timeout = json_integer_value(sio_event_arg(ev, 1));
    sio_ack *ack = sio_event_take_ack(ev);
    if (!event || !ack) {
        sio_ack_free(ack);
        return;
    }
    json_t *args = args_from(ev, 2);
    int r = sio_emit_with_ack(s, event, args, (uint32_t)timeout, ask_answered, ack);
    json_decref(args);
    if (r < 0) sio_ack_free(ack);
}

/* join(room or [rooms], ack) -> joins them; ack([rooms of the socket]) */
static void features_join(sio_socket *s, sio_event *ev, void *ud) {
    json_t *arg = sio_event_arg(ev, 0), *v;
    size_t i;
    if (json_is_string(arg)) sio_join(s, json_string_value(arg));
    json_array_foreach(arg, i, v) if (json_is_string(v)) sio_join(s, json_string_value(v));
    ack_one(ev, rooms_of(s));
}

/* notify_on_leave(room, ack) -> when this socket disconnects, its disconnect
 * handler broadcasts peer_left(its id) to that room (as a chat server would);
 * ack(true) */
static void features_notify_on_leave(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    if (!room) return;
    free(sio_socket_get_data(s));
    sio_socket_set_data(s, strdup(room));
    ack_one(ev, json_true());
}

/* leave(room, ack) -> leaves it; ack([rooms of the socket]) */
static void features_leave(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 0));
    if (room) sio_leave(s, room);
    ack_one(ev, rooms_of(s));
}

/* rooms(ack) -> ack([rooms of the socket]) */
static void features_rooms(sio_socket *s, sio_event *ev, void *ud) {
    ack_one(ev, rooms_of(s));
}

static void add_socket(sio_socket *s, void *ud) {
    json_t *auth = sio_socket_auth(s);
    json_array_append_new(ud, json_pack("{ss ss so sO}", "id", sio_socket_id(s), "nsp",
                                        sio_socket_nsp(s), "rooms", rooms_of(s), "auth",
                                        auth ? auth : json_null()));
}

/* fetch_sockets(spec, ack) -> ack([{id, nsp, rooms, auth} of each matching socket]) */
static void features_fetch_sockets(sio_socket *s, sio_event *ev, void *ud) {
    json_t *list = json_array();
    sio_broadcast_fetch_sockets(broadcast_from(s, sio_event_arg(ev, 0)), add_socket, list);
    ack_one(ev, list);
}

/* sockets_join(spec, room, ack) -> the matching sockets join room; ack(count) */
static void features_sockets_join(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 1));
    if (!room) return;
    ack_one(ev, json_integer(sio_broadcast_join(broadcast_from(s, sio_event_arg(ev, 0)), room)));
}

/* sockets_leave(spec, room, ack) -> the matching sockets leave room; ack(count) */
static void features_sockets_leave(sio_socket *s, sio_event *ev, void *ud) {
    const char *room = json_string_value(sio_event_arg(ev, 1));
    if (!room) return;
    ack_one(ev, json_integer(sio_broadcast_leave(broadcast_from(s, sio_event_arg(ev, 0)), room)));
}

/* disconnect_sockets(spec, close, ack) -> disconnects the matching sockets (close:
 * their whole connections); ack(count) when the asker is still there */
static void features_disconnect_sockets(sio_socket *s, sio_event *ev, void *ud) {
    bool close = json_is_true(sio_event_arg(ev, 1));
    sio_ack *ack = sio_event_take_ack(ev);
    int n = sio_broadcast_disconnect(broadcast_from(s, sio_event_arg(ev, 0)), close);
    if (ack) {
        json_t *args = json_pack("[i]", n);
        sio_ack_send(ack, args);
        json_decref(args);
    }
}

/* disconnect_me(close) -> sio_socket_disconnect(socket, close) */
static void features_disconnect_me(sio_socket *s, sio_event *ev, void *ud) {
    sio_socket_disconnect(s, json_is_true(sio_event_arg(ev, 0)));
}

/* close_transport(opts) -> closes the Engine.IO session underneath, without a
 * DISCONNECT packet (to the client, the connection was lost: it reconnects).
 * opts.bye: emit "bye" just before (output still queued at the close);
 * opts.shutdown: the socket's disconnect handler then shuts the server down
 * (as SIGTERM does), from inside the close */
static void features_close_transport(sio_socket *s, sio_event *ev, void *ud) {
    json_t *opts = sio_event_arg(ev, 0);
    if (json_is_true(json_object_get(opts, "bye"))) sio_emit(s, "bye", NULL);
    if (json_is_true(json_object_get(opts, "shutdown")))
        snprintf(shutdown_on_disconnect, sizeof shutdown_on_disconnect, "%s", sio_socket_id(s));
    eio_socket *e = sio_socket_engine(s);
    if (e) eio_socket_close(e);
}

/* disconnect_reason(sid, ack) -> ack(the reason socket sid left for, or null) */
static void features_disconnect_reason(sio_socket *s, sio_event *ev, void *ud) {
    const char *sid = json_string_value(sio_event_arg(ev, 0));
    const char *reason = sid ? find_reason(sid) : NULL;
    ack_one(ev, reason ? json_string(reason) : NULL);
}

/* transport(ack) -> ack("polling" | "websocket"), the transport the server sees */
static void features_transport(sio_socket *s, sio_event *ev, void *ud) {
    eio_socket *e = sio_socket_engine(s);
    ack_one(ev, json_string(e ? eio_socket_transport(e) : "none"));
}

/* any other event (catch-all) -> "any"(name, ...args) back; ack(name) if asked */
static void features_any(sio_socket *s, sio_event *ev, void *ud) {
    json_t *args = json_array();
    json_array_append_new(args, json_string(sio_event_name(ev)));
    json_array_extend(args, sio_event_args(ev));
    sio_emit(s, "any", args);
    json_decref(args);
    if (sio_event_wants_ack(ev)) ack_one(ev, json_string(sio_event_name(ev)));
}

/* ---- Socket.IO: dynamic namespaces /dyn-<digits> ---- */

static bool dyn_match(const char *name, void *ud) {
    if (strncmp(name, "/dyn-", 5) != 0 || !name[5]) return false;
    for (const char *p = name + 5; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

/* On connection: "nsp"(name of the namespace) */
static void dyn_connect(sio_socket *s, void *ud) {
    json_t *args = json_pack("[s]", sio_socket_nsp(s));
    sio_emit(s, "nsp", args);
    json_decref(args);
}

/* whoami(ack) -> ack(name of the namespace) */
static void dyn_whoami(sio_socket *s, sio_event *ev, void *ud) {
    ack_one(ev, json_string(sio_socket_nsp(s)));
}

/* allow_request: refuses a handshake that carries the header named by ud */
static int forbid_header(const http_req *req, void *ud) {
    return http_req_header(req, ud) != NULL;
}

static void on_closed(void *ud) {
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
}

static void sio_closed(void *ud) {
    sio_redis_adapter_close(redis, NULL, NULL);
}

static void begin_shutdown(void) {
    static int started;
    if (started++) return;
    uv_signal_stop(&sig_int);
    uv_signal_stop(&sig_term);
    /* with Redis, the server first (its namespaces hold the adapter), then the adapter */
    if (redis) sio_server_close(sio, sio_closed, NULL);
    http_server_shutdown(http, on_closed, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
    begin_shutdown();
}

static void usage(FILE *f) {
    fprintf(
        f, "usage: sio-test-server [--port N] [--ping-interval MS] [--ping-timeout MS]\n"
           "                       [--max-http-buffer-size BYTES] [--eio3] [--connect-timeout MS]\n"
           "                       [--transports polling|websocket|both] [--forbid-header NAME]\n"
           "                       [--cors ORIGINS] [--cors-credentials] [--cookie NAME]\n"
           "                       [--no-upgrades] [--upgrade-timeout MS]\n"
           "                       [--cors-allowed-headers LIST] [--max-connections N]\n"
           "                       [--max-sessions N] [--max-sessions-per-ip N]\n"
           "                       [--max-buffered-bytes BYTES] [--max-rooms-per-socket N]\n"
           "                       [--max-rooms N] [--max-memberships N]\n"
           "                       [--redis URL] [--redis-key KEY] [--server-id ID]\n");
}

int main(int argc, char **argv) {
    int port = 3000, transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    bool eio3 = false;
    uint32_t ping_interval = 300, ping_timeout = 200, connect_timeout = 1000;
    size_t max_buffer = 1000000;
    const char *forbidden = NULL;
    const char *cors_origin = "*";
    bool cors_credentials = false;
    const char *cookie = NULL;
    bool allow_upgrades = true;
    uint32_t upgrade_timeout = 10000;
    const char *cors_allowed_headers = NULL;
    long long max_connections = 30000, max_sessions = -1, max_sessions_per_ip = -1;
    long long max_buffered = -1, max_rooms_per_socket = 0, max_rooms = 0, max_memberships = 0;
    const char *redis_url = NULL, *redis_key = NULL;
    static const struct option long_opts[] = {
        {"cors-allowed-headers", required_argument, 0, 'H'},
        {"max-connections", required_argument, 0, 'N'},
        {"max-sessions", required_argument, 0, 'S'},
        {"max-sessions-per-ip", required_argument, 0, 'I'},
        {"max-buffered-bytes", required_argument, 0, 'B'},
        {"max-rooms-per-socket", required_argument, 0, 'R'},
        {"max-rooms", required_argument, 0, 'r'},
        {"max-memberships", required_argument, 0, 'M'},
        {"port", required_argument, 0, 'p'},
        {"ping-interval", required_argument, 0, 'i'},
        {"ping-timeout", required_argument, 0, 't'},
        {"max-http-buffer-size", required_argument, 0, 'm'},
        {"eio3", no_argument, 0, '3'},
        {"connect-timeout", required_argument, 0, 'c'},
        {"transports", required_argument, 0, 'T'},
        {"forbid-header", required_argument, 0, 'f'},
        {"cors", required_argument, 0, 'o'},
        {"cors-credentials", no_argument, 0, 'C'},
        {"cookie", required_argument, 0, 'k'},
        {"no-upgrades", no_argument, 0, 'U'},
        {"upgrade-timeout", required_argument, 0, 'u'},
        {"redis", required_argument, 0, 'x'},
        {"redis-key", required_argument, 0, 'K'},
        {"server-id", required_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            port = (int)cli_int(PROG, "--port", optarg, 0, 65535);
            break;
        case 'i':
            ping_interval = (uint32_t)cli_int(PROG, "--ping-interval", optarg, 1, MS_MAX);
            break;
        case 't':
            ping_timeout = (uint32_t)cli_int(PROG, "--ping-timeout", optarg, 1, MS_MAX);
            break;
        case 'm':
            max_buffer = (size_t)cli_int(PROG, "--max-http-buffer-size", optarg, 1, BUFFER_MAX);
            break;
        case '3':
            eio3 = true;
            break;
        case 'c':
            connect_timeout = (uint32_t)cli_int(PROG, "--connect-timeout", optarg, 1, MS_MAX);
            break;
        case 'T':
            if (!strcmp(optarg, "polling")) {
                transports = EIO_TRANSPORT_POLLING;
            } else if (!strcmp(optarg, "websocket")) {
                transports = EIO_TRANSPORT_WEBSOCKET;
            } else if (!strcmp(optarg, "both")) {
                transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
            } else {
                fprintf(stderr, PROG ": --transports: \"%s\" is not polling, websocket or both\n",
                        optarg);
                return 2;
            }
            break;
        case 'f':
            forbidden = optarg;
            break;
        case 'o':
            cors_origin = optarg;
            break;
        case 'C':
            cors_credentials = true;
            break;
        case 'k':
            cookie = optarg;
            break;
        case 'U':
            allow_upgrades = false;
            break;
        case 'u':
            upgrade_timeout = (uint32_t)cli_int(PROG, "--upgrade-timeout", optarg, 1, MS_MAX);
            break;
        case 'H':
            cors_allowed_headers = optarg;
            break;
        case 'N':
            max_connections = cli_int(PROG, "--max-connections", optarg, 1, 1000000);
            break;
        case 'S':
            max_sessions = cli_int(PROG, "--max-sessions", optarg, 0, 100000000);
            break;
        case 'I':
            max_sessions_per_ip = cli_int(PROG, "--max-sessions-per-ip", optarg, 0, 100000000);
            break;
        case 'B':
            max_buffered = cli_int(PROG, "--max-buffered-bytes", optarg, 0, BUFFER_MAX);
            break;
        case 'R':
            max_rooms_per_socket = cli_int(PROG, "--max-rooms-per-socket", optarg, 1, UINT32_MAX);
            break;
        case 'r':
            max_rooms = cli_int(PROG, "--max-rooms", optarg, 1, UINT32_MAX);
            break;
        case 'M':
            max_memberships = cli_int(PROG, "--max-memberships", optarg, 1, UINT32_MAX);
            break;
        case 'x':
            redis_url = optarg;
            break;
        case 'K':
            redis_key = optarg;
            break;
        case 'D':
            server_id = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = port;
    ho.max_connections = (unsigned)max_connections;
    http = http_server_new(loop, &ho);

    eio_options eo;
    eio_options_init(&eo);
    eo.path = "/engine.io/";
    eo.ping_interval = ping_interval;
    eo.ping_timeout = ping_timeout;
    eo.max_http_buffer_size = max_buffer;
    eo.allow_eio3 = eio3;
    eo.transports = transports;
    eo.cors.origin = cors_origin;
    eo.cors.credentials = cors_credentials;
    eo.cookie = cookie;
    eo.allow_upgrades = allow_upgrades;
    eo.upgrade_timeout = upgrade_timeout;
    eo.cors.allowed_headers = cors_allowed_headers;
    if (max_sessions >= 0) eo.max_sessions = (size_t)max_sessions;
    if (max_sessions_per_ip >= 0) eo.max_sessions_per_ip = (size_t)max_sessions_per_ip;
    if (max_buffered >= 0) eo.max_buffered_bytes = (size_t)max_buffered;
    if (forbidden) {
        eo.allow_request = forbid_header;
        eo.allow_request_userdata = (void *)forbidden;
    }
    eio_callbacks ecb = {.on_message = echo_message};
    eio_server *eio = eio_server_new(loop, &eo, &ecb, NULL);
    eio_server_attach(eio, http);

    sio_server_options so;
    sio_server_options_init(&so);
    so.eio.ping_interval = ping_interval;
    so.eio.ping_timeout = ping_timeout;
    so.eio.max_http_buffer_size = max_buffer;
    so.eio.allow_eio3 = eio3;
    so.eio.transports = transports;
    so.eio.cors.origin = cors_origin;
    so.eio.cors.credentials = cors_credentials;
    so.eio.cookie = cookie;
    so.eio.allow_upgrades = allow_upgrades;
    so.eio.upgrade_timeout = upgrade_timeout;
    so.eio.cors.allowed_headers = cors_allowed_headers;
    so.eio.max_sessions = eo.max_sessions;
    so.eio.max_sessions_per_ip = eo.max_sessions_per_ip;
    so.eio.max_buffered_bytes = eo.max_buffered_bytes;
    so.connect_timeout = connect_timeout;
    if (max_rooms_per_socket) so.max_rooms_per_socket = (uint32_t)max_rooms_per_socket;
    if (max_rooms) so.max_rooms = (uint32_t)max_rooms;
    if (max_memberships) so.max_memberships = (uint32_t)max_memberships;
    if (redis_url) {
        sio_redis_options ro;
        sio_redis_options_init(&ro);
        ro.url = redis_url;
        if (redis_key) ro.key = redis_key;
        ro.on_state = redis_state;
        if (!(redis = sio_redis_adapter_new(loop, &ro))) {
            fprintf(stderr, PROG ": --redis: \"%s\" is not a redis:// URL\n", redis_url);
            return 2;
        }
        so.adapter = redis;
    }
    sio = sio_server_new(loop, &so);
    sio_on_connect(sio, "/", emit_auth, NULL);
    sio_on(sio, "/", "message", message, NULL);
    sio_on(sio, "/", "message-with-ack", message_with_ack, NULL);
    sio_on_connect(sio, "/custom", emit_auth, NULL);
    sio_on(sio, "/chat", "msg_to_server", chat_msg, NULL);
    sio_on(sio, "/chat", "echo", chat_echo, NULL);
    sio_on(sio, "/chat", "join", chat_join, NULL);
    sio_on(sio, "/chat", "to_room", chat_to_room, NULL);
    sio_on(sio, "/chat", "bin_echo", chat_bin_echo, NULL);
    sio_on(sio, "/chat", "to_all", chat_to_all, NULL);
    sio_on(sio, "/chat", "to_others", chat_to_others, NULL);
    sio_on(sio, "/chat", "except_room", chat_except_room, NULL);
    sio_on(sio, "/chat", "whoami", chat_whoami, NULL);
    sio_on(sio, "/chat", "count", chat_count, NULL);
    sio_on(sio, "/chat", "ids", chat_ids, NULL);
    sio_on(sio, "/chat", "count_room", chat_count_room, NULL);
    sio_on(sio, "/chat", "kick_room", chat_kick_room, NULL);
    sio_on(sio, "/chat", "sockets_join", chat_sockets_join, NULL);
    sio_on(sio, "/chat", "ping_servers", chat_ping_servers, NULL);
    sio_on_server_event(sio, "/chat", "hello", chat_hello, NULL);
    sio_on(sio, "/chat", "ask_all", chat_ask_all, NULL);
    sio_on(sio, "/chat", "ask_room", chat_ask_room, NULL);
    sio_use(sio, "/features", features_auth, NULL);
    sio_use(sio, "/features", features_auth_late, NULL);
    sio_on_connect(sio, "/features", features_connect, NULL);
    sio_on(sio, "/features", "broadcast", features_broadcast, NULL);
    sio_on(sio, "/features", "broadcast_with_ack", features_broadcast_with_ack, NULL);
    sio_on(sio, "/features", "ask", features_ask, NULL);
    sio_on(sio, "/features", "join", features_join, NULL);
    sio_on(sio, "/features", "leave", features_leave, NULL);
    sio_on(sio, "/features", "notify_on_leave", features_notify_on_leave, NULL);
    sio_on(sio, "/features", "rooms", features_rooms, NULL);
    sio_on(sio, "/features", "fetch_sockets", features_fetch_sockets, NULL);
    sio_on(sio, "/features", "sockets_join", features_sockets_join, NULL);
    sio_on(sio, "/features", "sockets_leave", features_sockets_leave, NULL);
    sio_on(sio, "/features", "disconnect_sockets", features_disconnect_sockets, NULL);
    sio_on(sio, "/features", "disconnect_me", features_disconnect_me, NULL);
    sio_on(sio, "/features", "close_transport", features_close_transport, NULL);
    sio_on(sio, "/features", "disconnect_reason", features_disconnect_reason, NULL);
    sio_on(sio, "/features", "transport", features_transport, NULL);
    sio_on_any(sio, "/features", features_any, NULL);
    sio_namespace_dynamic(sio, "/dyn-*", dyn_match, NULL);
    sio_on_connect(sio, "/dyn-*", dyn_connect, NULL);
    sio_on(sio, "/dyn-*", "whoami", dyn_whoami, NULL);
    static const char *const recorded[] = {"/", "/custom", "/chat", "/features", "/dyn-*"};
    for (size_t i = 0; i < sizeof recorded / sizeof *recorded; i++)
        sio_on_disconnect(sio, recorded[i], record_disconnect, NULL);
    sio_attach(sio, http);
    http_route reason = {
        .method = "GET", .path = "/test/disconnect-reason", .handler = reason_route};
    http_server_route(http, &reason);

    int r = http_server_listen(http);
    if (r) {
        fprintf(stderr, "sio-test-server: listen on port %d: %s\n", port, sio_strerror(r));
        return 1;
    }
    /* the handlers first: a SIGTERM sent as soon as the port is announced
     * must still shut down cleanly */
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    listen_port = http_server_port(http);
    if (!redis || sio_redis_adapter_ready(redis)) {
        printf("listening on %d\n", listen_port);
        fflush(stdout);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
