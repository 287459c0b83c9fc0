/* http/http_server.c - owns the listening socket, accepting, the registry of
 * live connections, the connection limit and graceful shutdown, and giving
 * freed memory back to the system after a burst.
 *
 * Connections that were upgraded (WebSocket) have left this registry: the
 * layer that took them closes them from its http_server_on_shutdown hook.
 */
#include "http/http_internal.h"
#include "util/buf.h"
#include "util/log.h"

#include <assert.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* After a burst (many clients gone at once, an attack cut off) glibc keeps
 * the freed heap: the process would stay at its peak. Every TRIM_INTERVAL_MS,
 * if more than TRIM_FREE_MIN bytes lie free in the heap, they are handed back
 * (malloc_trim). mallinfo2 and malloc_trim cost well under a millisecond
 * each at these sizes, and only run on that timer. */
#define TRIM_INTERVAL_MS 10000
#define TRIM_FREE_MIN ((size_t)64 << 20)

static void trim_tick(uv_timer_t *t) {
    (void)t;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    if (mi.fordblks > TRIM_FREE_MIN) malloc_trim(0);
#endif
}

void http_server_options_init(http_server_options *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->backlog = 1024;
    o->max_head_size = 16 * 1024;
    o->max_body_size = 1000000;
    o->max_headers = 100;
    o->max_connections = 10000;
    o->max_output_size = 256 * 1024;
    o->max_input_buffered = (size_t)128 << 20;
    o->head_timeout_ms = 10000;
    o->body_timeout_ms = 30000;
    o->idle_timeout_ms = 5000;
    o->shutdown_grace_ms = 5000;
}

http_server *http_server_new(uv_loop_t *loop, const http_server_options *o) {
    /* a peer that closes while we write must cost an EPIPE, not the process */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
    http_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->loop = loop;
    if (o)
        s->opts = *o;
    else
        http_server_options_init(&s->opts);
    s->host = strdup(s->opts.host ? s->opts.host : "127.0.0.1");
    if (!s->host || util_wheel_init(loop, &s->wheel, SIO_WHEEL_TICK_MS) != 0) {
        free(s->host);
        free(s);
        return NULL;
    }
    s->opts.host = s->host;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_timer_init(loop, &s->grace_timer);
    s->grace_timer.data = s;
    uv_timer_init(loop, &s->trim_timer);
    s->trim_timer.data = s;
    uv_timer_start(&s->trim_timer, trim_tick, TRIM_INTERVAL_MS, TRIM_INTERVAL_MS);
    uv_unref((uv_handle_t *)&s->trim_timer);
    return s;
}

uv_loop_t *http_server_loop(const http_server *s) {
    return s->loop;
}

int http_server_port(const http_server *s) {
    return s->port;
}

void http_server_get_stats(const http_server *s, http_server_stats *out) {
    *out = s->stats;
}

int http_server_on_shutdown(http_server *s, http_shutdown_cb cb, void *userdata) {
    return util_vec_push(&s->hooks, ((http_shutdown_hook){cb, userdata, false}));
}

void http_server_off_shutdown(http_server *s, http_shutdown_cb cb, void *userdata) {
    for (unsigned i = 0; i < s->hooks.len; i++) {
        if (s->hooks.items[i].cb == cb && s->hooks.items[i].userdata == userdata) {
            util_vec_remove(&s->hooks, i);
            return;
        }
    }
}

static void on_connection(uv_stream_t *listener, int status) {
    http_server *s = listener->data;
    if (status < 0) {
        LOG_WARN("http", "accept failed: %s", uv_strerror(status));
        return;
    }
    uv_tcp_t *tcp = malloc(sizeof *tcp);
    if (!tcp) return;
    uv_tcp_init(s->loop, tcp);
    if (uv_accept(listener, (uv_stream_t *)tcp) != 0) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    if (s->shutting_down ||
        s->stats.connections_open + s->stats.connections_upgraded >= s->opts.max_connections) {
        s->stats.connections_rejected++;
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(tcp, 1);
    if (http_conn_start(s, tcp) != 0) uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
}

int http_server_listen(http_server *s) {
    struct sockaddr_storage addr;
    int r;
    if (strchr(s->host, ':'))
        r = uv_ip6_addr(s->host, s->opts.port, (struct sockaddr_in6 *)&addr);
    else
        r = uv_ip4_addr(s->host, s->opts.port, (struct sockaddr_in *)&addr);
    if (r) return r;
    r = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (r) return r;
    r = uv_listen((uv_stream_t *)&s->listener, s->opts.backlog, on_connection);
    if (r) return r;
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &len);
    s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                : ((struct sockaddr_in *)&bound)->sin_port);
    s->listening = 1;
    LOG_DEBUG("http", "listening on %s:%d", s->host, s->port);
    return 0;
}

static void server_maybe_free(http_server *s);

static void server_handle_closed(uv_handle_t *h) {
    http_server *s = h->data;
    s->pending_closes--;
    server_maybe_free(s);
}

static void wheel_closed(uv_handle_t *h) {
    http_server *s = (http_server *)((char *)h - offsetof(http_server, wheel.tick));
    s->pending_closes--;
    server_maybe_free(s);
}

/* Runs on every step of shutdown; frees the server after the last handle closed. */
static void server_maybe_free(http_server *s) {
    /* taken sockets (WebSockets) are closed by their owners' shutdown hooks */
    if (!s->shutting_down || s->conns || s->stats.connections_upgraded) return;
    if (!s->final_close) {
        s->final_close = 1;
        s->pending_closes += 3;
        uv_close((uv_handle_t *)&s->grace_timer, server_handle_closed);
        uv_close((uv_handle_t *)&s->trim_timer, server_handle_closed);
        util_wheel_close(&s->wheel, wheel_closed);
        return;
    }
    if (s->pending_closes) return;
    http_closed_cb cb = s->closed_cb;
    void *ud = s->closed_ud;
    http_router_free(s);
    http_static_free_all(s);
    util_vec_free(&s->hooks);
    free(s->host);
    free(s);
    util_rcbuf_pool_trim(); /* the recycled frames of this thread: nothing is left to send */
    if (cb) cb(ud);
}

void http_server_conn_closed(http_server *s, http_conn *c) {
    /* c is on the list exactly once: its neighbours point back at it */
    assert(c->prev ? c->prev->next == c : s->conns == c);
    assert(!c->next || c->next->prev == c);
    assert(s->stats.connections_open > 0);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->next = c->prev = NULL; /* the callers assert it is off the list when they free it */
    s->stats.connections_open--;
    server_maybe_free(s);
}

int http_server_input_charge(http_server *s, size_t *charged, size_t now) {
    http_server_stats *st = &s->stats;
    assert(st->input_buffered >= *charged);
    size_t limit = s->opts.max_input_buffered;
    if (now > *charged && limit && st->input_buffered - *charged + now > limit) {
        st->input_refused++;
        return -1;
    }
    st->input_buffered = st->input_buffered - *charged + now;
    *charged = now;
    return 0;
}

void http_server_socket_closed(http_server *s) {
    assert(s->stats.connections_upgraded > 0);
    s->stats.connections_upgraded--;
    server_maybe_free(s);
}

static void grace_expired(uv_timer_t *t) {
    http_server *s = t->data;
    LOG_INFO("http", "shutdown grace period over: closing %llu connection(s)",
             (unsigned long long)s->stats.connections_open);
    for (http_conn *c = s->conns; c; c = c->next) http_conn_close(c);
}

void http_server_shutdown(http_server *s, http_closed_cb done, void *userdata) {
    if (s->shutting_down) return;
    s->shutting_down = 1;
    s->closed_cb = done;
    s->closed_ud = userdata;
    s->pending_closes++;
    uv_close((uv_handle_t *)&s->listener, server_handle_closed);
    /* Each registered hook once. A hook may remove itself or others, or add
     * one (which runs too), so the list is searched afresh after every call:
     * nothing is allocated, nothing removed is called. */
    for (;;) {
        http_shutdown_hook *h = NULL;
        for (unsigned k = 0; k < s->hooks.len && !h; k++)
            if (!s->hooks.items[k].ran) h = &s->hooks.items[k];
        if (!h) break;
        h->ran = true;
        http_shutdown_cb cb = h->cb;
        void *ud = h->userdata;
        cb(s, ud);
    }
    /* idle connections go now; busy ones close after their response */
    http_conn *next;
    for (http_conn *c = s->conns; c; c = next) {
        next = c->next;
        if (c->state == CONN_IDLE && !c->writes_pending)
            http_conn_close(c);
        else
            c->close_after = 1;
    }
    if (s->conns) {
        uv_timer_start(&s->grace_timer, grace_expired, s->opts.shutdown_grace_ms, 0);
        uv_unref((uv_handle_t *)&s->grace_timer);
    }
    server_maybe_free(s);
}

/* ---- SIGINT / SIGTERM ---------------------------------------------------------------- */

typedef struct signal_watch {
    uv_signal_t sig[2];
    http_server *server;
    http_closed_cb done;
    void *userdata;
    int open_handles;
} signal_watch;

static void signal_handle_closed(uv_handle_t *h) {
    signal_watch *w = h->data;
    if (--w->open_handles == 0) free(w);
}

/* The server started shutting down (by a signal or otherwise): stop watching. */
static void signal_watch_end(http_server *s, void *userdata) {
    signal_watch *w = userdata;
    for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&w->sig[i], signal_handle_closed);
}

static void on_signal(uv_signal_t *h, int signum) {
    signal_watch *w = h->data;
    LOG_INFO("http", "%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_shutdown(w->server, w->done, w->userdata); /* runs signal_watch_end */
}

int http_server_shutdown_on_signals(http_server *s, http_closed_cb done, void *userdata) {
    signal_watch *w = calloc(1, sizeof *w);
    if (!w) return SIO_ENOMEM;
    w->server = s;
    w->done = done;
    w->userdata = userdata;
    int signums[2] = {SIGINT, SIGTERM};
    for (int i = 0; i < 2; i++) {
        uv_signal_init(s->loop, &w->sig[i]);
        w->sig[i].data = w;
        uv_signal_start(&w->sig[i], on_signal, signums[i]);
        w->open_handles++;
    }
    int r = http_server_on_shutdown(s, signal_watch_end, w);
    if (r) signal_watch_end(s, w);
    return r;
}
