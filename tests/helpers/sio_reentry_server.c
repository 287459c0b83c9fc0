/* sio-reentry-server: a Socket.IO server whose handlers call the public API
 * from inside every kind of callback, for tests/interop/sio_reentrancy and
 * tests/interop/sio_limits. Each scenario is chosen by the client: by the
 * auth payload for middlewares and connect handlers, by an event for the
 * rest. The rule under test: every public call is safe from every callback,
 * including calls that free what the callback is about.
 *
 *   "/"          ping(ack) -> ack("pong")
 *                stats(ack) -> ack({namespaces, acks: {ok, timedout, closed},
 *                              collectors: {ok, timedout}, rejected_joins})
 *                join_many(prefix, n, ack) -> joins prefix0..prefix<n-1>;
 *                              ack({joined, error, rooms}) (error: the first failure's code)
 *                leave_many(prefix, n, ack) -> ack({rooms})
 *   "/r"         the re-entrancy namespace:
 *     middleware, auth.mw:  "disconnect_accept" disconnects (both ways, a no-op
 *                           while joining) and emits, then accepts;
 *                           "join_reject" joins "mwroom" then rejects;
 *                           "join_close_reject" joins, closes the client, rejects;
 *                           "later_accept" / "later_reject" join "mwroom" and
 *                           decide 300 ms later (the client may be gone);
 *                           "emit_ack" asks the joining socket for an ack and
 *                           broadcasts with ack, then accepts
 *     connect, auth.on_connect: "disconnect" / "close" (sio_socket_disconnect
 *                           false / true, then emit, join, ask: all refused);
 *                           "sio_disconnect" (by id); "ask_close" (asks for
 *                           an ack, then closes the client: the ack callback
 *                           runs inside the close and closes again)
 *     disconnect handler, mode set by on_disconnect(mode, ack):
 *                           "close", "ns", "emit" (emit, ask, join, leave),
 *                           "bcast" (a broadcast and one with ack whose
 *                           collector disconnects room "victims"), "others"
 *                           (disconnects room "victims", closing their
 *                           clients), "engine_close" (closes the transport)
 *     join(room, ack)
 *     to_room(room, ack)    broadcasts "room_msg" to the room; ack(recipients)
 *     disconnect_me(close)  disconnects, then emits, joins, acks, disconnects again
 *     ask(mode, timeout_ms) asks the client for an ack ("ask"); the callback,
 *                           by mode: "close", "ns", "again" (asks again, with
 *                           mode "close"), "emit" (emits "asked" [err])
 *     bcast_ack(mode, timeout_ms) broadcast with ack ("ask") to room
 *                           "victims"; the collector, by mode: "disconnect_all"
 *                           (disconnects room "victims", closing their
 *                           clients), "again" (another broadcast with ack,
 *                           collector "disconnect_all"), "emit"
 *     fetch_disconnect      fetchSockets on "victims", each disconnected with its client
 *     take_ack_close(ack)   keeps the ack, closes the client, then answers it
 *   "/dyn-<digits>"        dynamic namespaces (any number of digits): whoami(ack) -> ack(name)
 *
 * Flags: --port N, --max-namespaces N (max_namespaces_per_client),
 * --max-dynamic N (max_dynamic_namespaces), --max-rooms-per-socket N
 * (max_rooms_per_socket), --max-rooms N (max_rooms), --keep-empty-namespaces
 * (cleanup_empty_child_namespaces 0), --ping-interval MS, --ping-timeout MS.
 * Prints "listening on PORT"; SIGTERM/SIGINT shut it down (exit 0, leak-free).
 */
#include "socketio.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sio_server *sio;
static struct {
    unsigned long acks_ok, acks_timedout, acks_closed;
    unsigned long collectors_ok, collectors_timedout;
} stats;

/* ---- small helpers ---- */

static const char *arg_str(sio_event *ev, size_t i) {
    const char *v = json_string_value(sio_event_arg(ev, i));
    return v ? v : "";
}

static long arg_int(sio_event *ev, size_t i) {
    json_t *v = sio_event_arg(ev, i);
    return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static void ack_value(sio_event *ev, json_t *value) {
    json_t *args = json_pack("[o]", value);
    sio_event_ack(ev, args);
    json_decref(args);
}

static const char *auth_field(sio_socket *s, const char *name) {
    const char *v = json_string_value(json_object_get(sio_socket_auth(s), name));
    return v ? v : "";
}

static sio_broadcast *victims(void) {
    return sio_broadcast_to(sio_broadcast_new(sio, "/r"), "victims");
}

/* Every call a callback could make on a socket that is (or may be) gone:
 * each must be refused or be a no-op, never crash. */
static void poke(sio_socket *s) {
    sio_emit(s, "poke", NULL);
    sio_emit_raw(s, "poke", "1", 1);
    sio_join(s, "late-room");
    sio_leave(s, "late-room");
    sio_in_room(s, "late-room");
    sio_socket_disconnect(s, false);
    sio_socket_disconnect(s, true);
}

/* ---- "/" ---- */

static void on_ping(sio_socket *s, sio_event *ev, void *ud) {
    ack_value(ev, json_string("pong"));
}

static void on_stats(sio_socket *s, sio_event *ev, void *ud) {
    ack_value(ev, json_pack("{sI s{sIsIsI} s{sIsI}}", "namespaces",
                            (json_int_t)sio_server_namespace_count(sio), "acks", "ok",
                            (json_int_t)stats.acks_ok, "timedout", (json_int_t)stats.acks_timedout,
                            "closed", (json_int_t)stats.acks_closed, "collectors", "ok",
                            (json_int_t)stats.collectors_ok, "timedout",
                            (json_int_t)stats.collectors_timedout));
}

static void count_room(const char *room, void *ud) {
    ++*(long *)ud;
}

static long rooms_of(sio_socket *s) {
    long n = -1; /* its own id is not counted */
    sio_socket_rooms(s, count_room, &n);
    return n;
}

static void on_join_many(sio_socket *s, sio_event *ev, void *ud) {
    const char *prefix = arg_str(ev, 0);
    long n = arg_int(ev, 1), joined = 0;
    int error = 0;
    char room[128];
    for (long i = 0; i < n; i++) {
        snprintf(room, sizeof room, "%s%ld", prefix, i);
        int r = sio_join(s, room);
        if (r == 0)
            joined++;
        else if (!error)
            error = r;
    }
    ack_value(ev, json_pack("{sIsisI}", "joined", (json_int_t)joined, "error", error, "rooms",
                            (json_int_t)rooms_of(s)));
}

static void on_leave_many(sio_socket *s, sio_event *ev, void *ud) {
    const char *prefix = arg_str(ev, 0);
    long n = arg_int(ev, 1);
    char room[128];
    for (long i = 0; i < n; i++) {
        snprintf(room, sizeof room, "%s%ld", prefix, i);
        sio_leave(s, room);
    }
    ack_value(ev, json_pack("{sI}", "rooms", (json_int_t)rooms_of(s)));
}

/* ---- "/r": middlewares ---- */

typedef struct later {
    uv_timer_t timer;
    sio_next *next;
    int accept;
} later;

static void free_handle(uv_handle_t *h) {
    free(h->data);
}

static void later_fire(uv_timer_t *t) {
    later *l = t->data;
    if (l->accept)
        sio_next_accept(l->next);
    else
        sio_next_reject(l->next, "later", NULL);
    uv_close((uv_handle_t *)t, free_handle);
}

static void ignore_ack(sio_socket *s, int err, json_t *args, void *ud) {}

static void ignore_collector(int err, json_t *responses, void *ud) {}

static void r_middleware(sio_socket *s, sio_next *next, void *ud) {
    const char *mw = auth_field(s, "mw");
    if (strcmp(mw, "disconnect_accept") == 0) {
        poke(s);
        sio_next_accept(next);
    } else if (strcmp(mw, "join_reject") == 0) {
        sio_join(s, "mwroom");
        sio_next_reject(next, "rejected", NULL);
    } else if (strcmp(mw, "join_close_reject") == 0) {
        sio_join(s, "mwroom");
        eio_socket_close(sio_socket_engine(s));
        sio_next_reject(next, "rejected", NULL);
    } else if (strcmp(mw, "later_accept") == 0 || strcmp(mw, "later_reject") == 0) {
        sio_join(s, "mwroom");
        later *l = calloc(1, sizeof *l);
        if (!l) {
            sio_next_reject(next, "no memory", NULL);
            return;
        }
        l->next = next;
        l->accept = strcmp(mw, "later_accept") == 0;
        uv_timer_init(uv_default_loop(), &l->timer);
        l->timer.data = l;
        uv_timer_start(&l->timer, later_fire, 300, 0);
    } else if (strcmp(mw, "emit_ack") == 0) {
        sio_emit_with_ack(s, "ask", NULL, 100, ignore_ack, NULL);
        sio_broadcast_emit_with_ack(sio_broadcast_timeout(sio_broadcast_new(sio, "/r"), 200), "ask",
                                    NULL, ignore_collector, NULL);
        sio_next_accept(next);
    } else {
        sio_next_accept(next);
    }
}

/* ---- "/r": acknowledgement callbacks ---- */

static void count_ack(int err) {
    if (err == 0)
        stats.acks_ok++;
    else if (err == SIO_ETIMEDOUT)
        stats.acks_timedout++;
    else
        stats.acks_closed++;
}

/* ud: the mode, a static string */
static void ask_cb(sio_socket *s, int err, json_t *args, void *ud) {
    const char *mode = ud;
    count_ack(err);
    if (strcmp(mode, "close") == 0) {
        sio_socket_disconnect(s, true);
        poke(s);
    } else if (strcmp(mode, "ns") == 0) {
        sio_socket_disconnect(s, false);
        poke(s);
    } else if (strcmp(mode, "again") == 0) {
        sio_emit_with_ack(s, "ask", NULL, 300, ask_cb, "close");
    } else if (strcmp(mode, "emit") == 0) {
        json_t *a = json_pack("[i]", err);
        sio_emit(s, "asked", a);
        json_decref(a);
    }
}

static const char *static_mode(const char *mode) {
    static const char *const modes[] = {"close", "ns", "again", "emit", "disconnect_all", "none"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(mode, modes[i]) == 0) return modes[i];
    return "none";
}

static void collector(int err, json_t *responses, void *ud) {
    const char *mode = ud;
    if (err == 0)
        stats.collectors_ok++;
    else
        stats.collectors_timedout++;
    if (strcmp(mode, "disconnect_all") == 0) {
        sio_broadcast_disconnect(victims(), true);
    } else if (strcmp(mode, "again") == 0) {
        sio_broadcast_emit_with_ack(sio_broadcast_timeout(victims(), 200), "ask", NULL, collector,
                                    "disconnect_all");
    } else if (strcmp(mode, "emit") == 0) {
        sio_broadcast_emit(victims(), "collected", NULL);
    }
}

/* ---- "/r": connect and disconnect handlers ---- */

static void r_connect(sio_socket *s, void *ud) {
    const char *mode = auth_field(s, "on_connect");
    if (strcmp(mode, "disconnect") == 0) {
        sio_socket_disconnect(s, false);
        poke(s);
        sio_emit_with_ack(s, "ask", NULL, 100, ignore_ack, NULL);
    } else if (strcmp(mode, "close") == 0) {
        sio_socket_disconnect(s, true);
        poke(s);
        sio_emit_with_ack(s, "ask", NULL, 100, ignore_ack, NULL);
    } else if (strcmp(mode, "sio_disconnect") == 0) {
        sio_disconnect(sio, "/r", sio_socket_id(s));
        poke(s);
    } else if (strcmp(mode, "ask_close") == 0) {
        sio_emit_with_ack(s, "ask", NULL, 5000, ask_cb, "close");
        sio_socket_disconnect(s, true);
    }
}

static void r_disconnect(sio_socket *s, const char *reason, void *ud) {
    char *mode = sio_socket_get_data(s);
    if (!mode) return;
    sio_socket_set_data(s, NULL);
    if (strcmp(mode, "close") == 0) {
        sio_socket_disconnect(s, true);
    } else if (strcmp(mode, "ns") == 0) {
        sio_socket_disconnect(s, false);
    } else if (strcmp(mode, "emit") == 0) {
        poke(s);
        sio_emit_with_ack(s, "ask", NULL, 100, ignore_ack, NULL);
    } else if (strcmp(mode, "bcast") == 0) {
        sio_broadcast_emit(sio_broadcast_new(sio, "/r"), "gone", NULL);
        sio_broadcast_emit_with_ack(sio_broadcast_timeout(victims(), 200), "ask", NULL, collector,
                                    "disconnect_all");
    } else if (strcmp(mode, "others") == 0) {
        sio_broadcast_disconnect(victims(), true);
    } else if (strcmp(mode, "engine_close") == 0) {
        eio_socket *e = sio_socket_engine(s);
        if (e) eio_socket_close(e);
    }
    free(mode);
}

/* ---- "/r": events ---- */

static void r_join(sio_socket *s, sio_event *ev, void *ud) {
    ack_value(ev, json_integer(sio_join(s, arg_str(ev, 0))));
}

static void r_to_room(sio_socket *s, sio_event *ev, void *ud) {
    int n = sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(sio, "/r"), arg_str(ev, 0)),
                               "room_msg", NULL);
    ack_value(ev, json_integer(n));
}

static void r_on_disconnect(sio_socket *s, sio_event *ev, void *ud) {
    free(sio_socket_get_data(s));
    sio_socket_set_data(s, strdup(arg_str(ev, 0)));
    ack_value(ev, json_true());
}

static void r_disconnect_me(sio_socket *s, sio_event *ev, void *ud) {
    sio_socket_disconnect(s, json_is_true(sio_event_arg(ev, 0)));
    poke(s);
    ack_value(ev, json_true()); /* refused: the socket is gone */
}

static void r_ask(sio_socket *s, sio_event *ev, void *ud) {
    long timeout = arg_int(ev, 1);
    sio_emit_with_ack(s, "ask", NULL, timeout > 0 ? (uint32_t)timeout : 0, ask_cb,
                      (void *)static_mode(arg_str(ev, 0)));
}

static void r_bcast_ack(sio_socket *s, sio_event *ev, void *ud) {
    long timeout = arg_int(ev, 1);
    sio_broadcast *b = victims();
    if (timeout > 0) sio_broadcast_timeout(b, (uint32_t)timeout);
    sio_broadcast_emit_with_ack(b, "ask", NULL, collector, (void *)static_mode(arg_str(ev, 0)));
}

static void disconnect_fetched(sio_socket *s, void *ud) {
    sio_socket_disconnect(s, true);
    poke(s);
}

static void r_fetch_disconnect(sio_socket *s, sio_event *ev, void *ud) {
    sio_broadcast_fetch_sockets(victims(), disconnect_fetched, NULL);
}

static void r_take_ack_close(sio_socket *s, sio_event *ev, void *ud) {
    sio_ack *ack = sio_event_take_ack(ev);
    sio_socket_disconnect(s, true);
    json_t *args = json_pack("[s]", "too late");
    sio_ack_send(ack, args);
    json_decref(args);
}

/* ---- "/dyn-<digits>" ---- */

static bool dyn_match(const char *name, void *ud) {
    if (strncmp(name, "/dyn-", 5) != 0 || !name[5]) return false;
    for (const char *p = name + 5; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

static void dyn_whoami(sio_socket *s, sio_event *ev, void *ud) {
    ack_value(ev, json_string(sio_socket_nsp(s)));
}

/* ---- main ---- */

static int number(const char *flag, const char *text, long min, long max, long *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < min || v > max) {
        fprintf(stderr, "sio-reentry-server: %s: expected an integer in [%ld, %ld]\n", flag, min,
                max);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    sio_server_options so;
    sio_server_options_init(&so);
    so.eio.ping_interval = 2000;
    so.eio.ping_timeout = 3000;
    long port = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        long v;
        if (strcmp(a, "--keep-empty-namespaces") == 0) {
            so.cleanup_empty_child_namespaces = false;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "sio-reentry-server: %s: unknown flag or missing value\n", a);
            return 2;
        }
        const char *val = argv[++i];
        if (strcmp(a, "--port") == 0) {
            if (number(a, val, 0, 65535, &port)) return 2;
        } else if (strcmp(a, "--max-namespaces") == 0) {
            if (number(a, val, 1, UINT32_MAX, &v)) return 2;
            so.max_namespaces_per_client = (uint32_t)v;
        } else if (strcmp(a, "--max-dynamic") == 0) {
            if (number(a, val, 1, UINT32_MAX, &v)) return 2;
            so.max_dynamic_namespaces = (uint32_t)v;
        } else if (strcmp(a, "--max-rooms-per-socket") == 0) {
            if (number(a, val, 1, UINT32_MAX, &v)) return 2;
            so.max_rooms_per_socket = (uint32_t)v;
        } else if (strcmp(a, "--max-rooms") == 0) {
            if (number(a, val, 1, UINT32_MAX, &v)) return 2;
            so.max_rooms = (uint32_t)v;
        } else if (strcmp(a, "--ping-interval") == 0) {
            if (number(a, val, 1, INT32_MAX, &v)) return 2;
            so.eio.ping_interval = (uint32_t)v;
        } else if (strcmp(a, "--ping-timeout") == 0) {
            if (number(a, val, 1, INT32_MAX, &v)) return 2;
            so.eio.ping_timeout = (uint32_t)v;
        } else {
            fprintf(stderr, "sio-reentry-server: %s: unknown flag\n", a);
            return 2;
        }
    }
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = (int)port;
    http_server *http = http_server_new(loop, &ho);
    sio = sio_server_new(loop, &so);
    if (!http || !sio) return 1;
    sio_on(sio, "/", "ping", on_ping, NULL);
    sio_on(sio, "/", "stats", on_stats, NULL);
    sio_on(sio, "/", "join_many", on_join_many, NULL);
    sio_on(sio, "/", "leave_many", on_leave_many, NULL);
    sio_use(sio, "/r", r_middleware, NULL);
    sio_on_connect(sio, "/r", r_connect, NULL);
    sio_on_disconnect(sio, "/r", r_disconnect, NULL);
    sio_on(sio, "/r", "join", r_join, NULL);
    sio_on(sio, "/r", "to_room", r_to_room, NULL);
    sio_on(sio, "/r", "on_disconnect", r_on_disconnect, NULL);
    sio_on(sio, "/r", "disconnect_me", r_disconnect_me, NULL);
    sio_on(sio, "/r", "ask", r_ask, NULL);
    sio_on(sio, "/r", "bcast_ack", r_bcast_ack, NULL);
    sio_on(sio, "/r", "fetch_disconnect", r_fetch_disconnect, NULL);
    sio_on(sio, "/r", "take_ack_close", r_take_ack_close, NULL);
    sio_namespace_dynamic(sio, "/dyn-*", dyn_match, NULL);
    sio_on(sio, "/dyn-*", "whoami", dyn_whoami, NULL);
    sio_attach(sio, http);
    int r = http_server_listen(http);
    if (r) {
        fprintf(stderr, "sio-reentry-server: listen: %s\n", sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(http));
    fflush(stdout);
    http_server_shutdown_on_signals(http, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
