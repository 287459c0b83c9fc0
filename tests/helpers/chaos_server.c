/* chaos-server: the fixture of the chaos test (tests/chaos/). Its handlers call
 * the public API from inside other callbacks - middlewares, connect and
 * disconnect handlers, event handlers, acknowledgement callbacks, broadcast
 * acknowledgement collectors, fetch_sockets visits - which is what the other
 * fixtures do not do. What each callback does is a small program sent by the
 * client, so the test's random generator chooses it.
 *
 * Namespaces "/" and "/chaos" have the same handlers:
 *   middleware     runs auth.mw.ops on the connecting socket, then accepts,
 *                  rejects (auth.mw.result "reject"), or decides after a timer
 *                  ("later-accept" / "later-reject", auth.mw.delay ms)
 *   connect        runs auth.onconnect (a program)
 *   disconnect     runs the program stored with the "on_disconnect" op
 *   do(program, ack)   runs the program; ack(true)
 *   echo(...args, ack) ack(...args), binary included
 *
 * A program is an array of ops (at most 16; nested at most 4 deep):
 *   {op:"emit", event, bin}            sio_emit to this socket (a blob when bin)
 *   {op:"join", room} {op:"leave", room}
 *   {op:"bcast", room, event, volatile, self}  a broadcast to room (self false:
 *                                      from this socket, so without it)
 *   {op:"bcast_ack", room, event, timeout, then}  with acknowledgements; the
 *                                      collector runs `then` on this socket
 *   {op:"ask", event, timeout, then}   sio_emit_with_ack; the callback runs
 *                                      `then` on this socket (whatever err is)
 *   {op:"disconnect", close}           sio_socket_disconnect(this, close)
 *   {op:"disconnect_room", room, close}  sio_broadcast_disconnect
 *   {op:"sockets_join", room, target}  sio_broadcast_join (socketsJoin)
 *   {op:"sockets_leave", room, target} sio_broadcast_leave
 *   {op:"fetch", room, each}           sio_broadcast_fetch_sockets; runs
 *                                      `each` on every socket visited
 *   {op:"close_transport"}             eio_socket_close underneath
 *   {op:"on_disconnect", then}         `then` runs in the disconnect handler
 *
 * Flags: --port N, --ping-interval MS, --ping-timeout MS, --connect-timeout MS.
 * Prints "listening on PORT"; SIGTERM/SIGINT shut it down (exit 0, leak-free).
 */
#include "socketio.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 16
#define MAX_DEPTH 4

static sio_server *sio;
static http_server *http;

/* What a socket carries: the program of its disconnect handler. */
typedef struct chaos_sock {
    json_t *on_disconnect;
} chaos_sock;

static void run(sio_socket *s, json_t *prog, int depth);

static const char *str(json_t *op, const char *key, const char *dflt) {
    const char *v = json_string_value(json_object_get(op, key));
    return v ? v : dflt;
}

static uint32_t ms(json_t *op, const char *key) {
    json_int_t v = json_integer_value(json_object_get(op, key));
    return v > 0 && v < 60000 ? (uint32_t)v : 0;
}

/* ---- continuations: a program kept for a later callback ---- */

typedef struct later {
    sio_socket *s; /* referenced */
    json_t *prog;
    int depth;
} later;

static later *later_new(sio_socket *s, json_t *prog, int depth) {
    later *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    sio_socket_ref(s);
    l->s = s;
    l->prog = json_incref(prog);
    l->depth = depth;
    return l;
}

static void later_run_free(later *l) {
    run(l->s, l->prog, l->depth);
    json_decref(l->prog);
    sio_socket_unref(l->s);
    free(l);
}

static void asked(sio_socket *s, int err, json_t *args, void *ud) {
    later_run_free(ud);
}

static void bcast_acked(int err, json_t *responses, void *ud) {
    later_run_free(ud);
}

typedef struct visit {
    json_t *prog;
    int depth;
} visit;

static void fetched(sio_socket *s, void *ud) {
    visit *v = ud;
    run(s, v->prog, v->depth);
}

/* ---- the ops ---- */

static json_t *payload(sio_socket *s, bool bin) {
    if (bin) {
        unsigned char b[64];
        for (size_t i = 0; i < sizeof b; i++) b[i] = (unsigned char)i;
        return json_pack("[o s]", sio_blob_new(b, sizeof b), sio_socket_id(s));
    }
    return json_pack("[s]", sio_socket_id(s));
}

static sio_broadcast *to_room(sio_socket *s, json_t *op, bool from_socket) {
    sio_broadcast *b =
        from_socket ? sio_socket_broadcast(s) : sio_broadcast_new(sio, sio_socket_nsp(s));
    return b ? sio_broadcast_to(b, str(op, "room", "big")) : NULL;
}

static void run_op(sio_socket *s, json_t *op, int depth) {
    const char *name = str(op, "op", "");
    json_t *then = json_object_get(op, "then");
    if (!strcmp(name, "emit")) {
        json_t *args = payload(s, json_is_true(json_object_get(op, "bin")));
        sio_emit(s, str(op, "event", "chaos"), args);
        json_decref(args);
    } else if (!strcmp(name, "join")) {
        sio_join(s, str(op, "room", "big"));
    } else if (!strcmp(name, "leave")) {
        sio_leave(s, str(op, "room", "big"));
    } else if (!strcmp(name, "bcast")) {
        bool self = json_is_true(json_object_get(op, "self"));
        sio_broadcast *b = to_room(s, op, !self);
        if (!b) return;
        if (json_is_true(json_object_get(op, "volatile"))) sio_broadcast_volatile(b);
        json_t *args = payload(s, json_is_true(json_object_get(op, "bin")));
        sio_broadcast_emit(b, str(op, "event", "chaos"), args);
        json_decref(args);
    } else if (!strcmp(name, "bcast_ack")) {
        later *l = later_new(s, then ? then : json_null(), depth + 1);
        sio_broadcast *b = l ? to_room(s, op, false) : NULL;
        if (!b) {
            if (l) later_run_free(l);
            return;
        }
        sio_broadcast_timeout(b, ms(op, "timeout") ? ms(op, "timeout") : 1000);
        json_t *args = payload(s, false);
        if (sio_broadcast_emit_with_ack(b, str(op, "event", "chaos_ack"), args, bcast_acked, l) < 0)
            later_run_free(l); /* the collector is not called after an error */
        json_decref(args);
    } else if (!strcmp(name, "ask")) {
        later *l = later_new(s, then ? then : json_null(), depth + 1);
        if (!l) return;
        json_t *args = payload(s, json_is_true(json_object_get(op, "bin")));
        int r = sio_emit_with_ack(s, str(op, "event", "ask"), args, ms(op, "timeout"), asked, l);
        json_decref(args);
        if (r < 0) later_run_free(l); /* cb is called only after 0 */
    } else if (!strcmp(name, "disconnect")) {
        sio_socket_disconnect(s, json_is_true(json_object_get(op, "close")));
    } else if (!strcmp(name, "disconnect_room")) {
        sio_broadcast *b = to_room(s, op, false);
        if (b) sio_broadcast_disconnect(b, json_is_true(json_object_get(op, "close")));
    } else if (!strcmp(name, "sockets_join")) {
        sio_broadcast *b = to_room(s, op, false);
        if (b) sio_broadcast_join(b, str(op, "target", "big"));
    } else if (!strcmp(name, "sockets_leave")) {
        sio_broadcast *b = to_room(s, op, false);
        if (b) sio_broadcast_leave(b, str(op, "target", "big"));
    } else if (!strcmp(name, "fetch")) {
        sio_broadcast *b = to_room(s, op, false);
        visit v = {json_object_get(op, "each"), depth + 1};
        if (b) sio_broadcast_fetch_sockets(b, fetched, &v);
    } else if (!strcmp(name, "close_transport")) {
        eio_socket *e = sio_socket_engine(s);
        if (e) eio_socket_close(e);
    } else if (!strcmp(name, "on_disconnect")) {
        chaos_sock *cs = sio_socket_get_data(s);
        if (cs && json_is_array(then)) {
            json_decref(cs->on_disconnect);
            cs->on_disconnect = json_incref(then);
        }
    }
}

static void run(sio_socket *s, json_t *prog, int depth) {
    if (!json_is_array(prog) || depth > MAX_DEPTH) return;
    json_incref(prog); /* an op may free what holds it (the disconnect program) */
    sio_socket_ref(s); /* an op may disconnect s */
    size_t n = json_array_size(prog);
    for (size_t i = 0; i < n && i < MAX_OPS; i++) run_op(s, json_array_get(prog, i), depth);
    sio_socket_unref(s);
    json_decref(prog);
}

/* ---- middleware ---- */

typedef struct decide {
    uv_timer_t timer;
    sio_next *next;
    int reject;
} decide;

static void decide_free(uv_handle_t *h) {
    free(h->data);
}

static void decide_fire(uv_timer_t *t) {
    decide *d = t->data;
    if (d->reject)
        sio_next_reject(d->next, "refused later", NULL);
    else
        sio_next_accept(d->next);
    uv_close((uv_handle_t *)t, decide_free);
}

static void middleware(sio_socket *s, sio_next *next, void *ud) {
    json_t *mw = json_object_get(sio_socket_auth(s), "mw");
    run(s, json_object_get(mw, "ops"), 0);
    const char *result = str(mw, "result", "accept");
    if (!strncmp(result, "later-", 6)) {
        decide *d = calloc(1, sizeof *d);
        if (!d) {
            sio_next_reject(next, "no memory", NULL);
            return;
        }
        d->next = next;
        d->reject = !strcmp(result, "later-reject");
        uv_timer_init(uv_default_loop(), &d->timer);
        d->timer.data = d;
        uv_timer_start(&d->timer, decide_fire, ms(mw, "delay"), 0);
    } else if (!strcmp(result, "reject")) {
        json_t *data = json_pack("{ss}", "why", "chaos");
        sio_next_reject(next, "refused", data);
        json_decref(data);
    } else {
        sio_next_accept(next);
    }
}

/* ---- connect, disconnect, events ---- */

static void on_connect(sio_socket *s, void *ud) {
    chaos_sock *cs = calloc(1, sizeof *cs);
    sio_socket_set_data(s, cs);
    run(s, json_object_get(sio_socket_auth(s), "onconnect"), 0);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    chaos_sock *cs = sio_socket_get_data(s);
    if (!cs) return;
    sio_socket_set_data(s, NULL);
    json_t *prog = cs->on_disconnect;
    free(cs);
    if (prog) run(s, prog, 0);
    json_decref(prog);
}

static void on_do(sio_socket *s, sio_event *ev, void *ud) {
    run(s, sio_event_arg(ev, 0), 0);
    if (sio_event_wants_ack(ev)) {
        json_t *yes = json_pack("[b]", 1);
        sio_event_ack(ev, yes); /* the socket may be gone by now */
        json_decref(yes);
    }
}

static void on_echo(sio_socket *s, sio_event *ev, void *ud) {
    json_t *args = sio_event_args(ev);
    sio_event_ack(ev, args);
}

static void usage(FILE *f) {
    fprintf(f, "usage: chaos-server [--port N] [--ping-interval MS] [--ping-timeout MS]\n"
               "                    [--connect-timeout MS]\n");
}

static int number(const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "chaos-server: %s must be a number from %ld to %ld\n", opt, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv) {
    long port = 3000, ping_interval = 1000, ping_timeout = 2000, connect_timeout = 2000;
    static const struct option long_opts[] = {
        {"port", required_argument, 0, 'p'},
        {"ping-interval", required_argument, 0, 'i'},
        {"ping-timeout", required_argument, 0, 't'},
        {"connect-timeout", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            bad |= number("--port", optarg, 0, 65535, &port);
            break;
        case 'i':
            bad |= number("--ping-interval", optarg, 1, 3600000, &ping_interval);
            break;
        case 't':
            bad |= number("--ping-timeout", optarg, 1, 3600000, &ping_timeout);
            break;
        case 'c':
            bad |= number("--connect-timeout", optarg, 1, 3600000, &connect_timeout);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (bad) return 2;
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.host = "127.0.0.1";
    ho.port = (int)port;
    http = http_server_new(loop, &ho);

    sio_server_options so;
    sio_server_options_init(&so);
    so.eio.ping_interval = (uint32_t)ping_interval;
    so.eio.ping_timeout = (uint32_t)ping_timeout;
    so.connect_timeout = (uint32_t)connect_timeout;
    sio = sio_server_new(loop, &so);
    static const char *const nsps[] = {"/", "/chaos"};
    for (size_t i = 0; i < sizeof nsps / sizeof *nsps; i++) {
        sio_use(sio, nsps[i], middleware, NULL);
        sio_on_connect(sio, nsps[i], on_connect, NULL);
        sio_on_disconnect(sio, nsps[i], on_disconnect, NULL);
        sio_on(sio, nsps[i], "do", on_do, NULL);
        sio_on(sio, nsps[i], "echo", on_echo, NULL);
    }
    sio_attach(sio, http);
    int r = http_server_listen(http);
    if (r) {
        fprintf(stderr, "chaos-server: listen on port %ld: %s\n", port, sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(http));
    fflush(stdout);
    http_server_shutdown_on_signals(http, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
