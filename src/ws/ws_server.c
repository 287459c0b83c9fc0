/* ws/ws_server.c - a WebSocket context: its options, the flush of all its
 * connections' output once per loop iteration (deferred for a few polls
 * after a fan-out, so that each writev carries several frames), and its
 * shutdown. See ws_internal.h.
 */
#include "ws/ws_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void ws_options_init(ws_options *o) {
    memset(o, 0, sizeof *o);
    o->max_message_size = 1000000;
    o->max_queue_bytes = 1024 * 1024;
    o->close_timeout_ms = 5000;
    o->permessage_deflate = false;
    o->deflate_threshold = 1024;
}

static void defer_noop(uv_idle_t *h) {
    (void)h;
}

void ws_flush_all(uv_check_t *h) {
    ws_server *ws = h->data;
    ws->turn++;
    /* Output on many connections after a turn that read input (a broadcast):
     * poll once more without blocking first, so input that is already waiting
     * (more broadcasts) joins the same writes: one writev per connection
     * carries several frames instead of one syscall per frame. Bounded: at
     * most WS_DEFER_MAX_TURNS turns, and only while input keeps arriving. */
    if (ws->ndirty >= WS_DEFER_MIN_CONNS && ws->reads && ws->deferred < WS_DEFER_MAX_TURNS &&
        !ws->closing) {
        ws->deferred++;
        ws->reads = 0;
        if (ws->deferred == 1) uv_idle_start(&ws->defer, defer_noop);
        return;
    }
    if (ws->deferred) {
        uv_idle_stop(&ws->defer);
        ws->deferred = 0;
    }
    ws->reads = 0;
    /* Each connection is taken off the list before it is written: a write
     * error or a cut-off closes it, and its close callback may close others
     * (which conn_destroy unlinks) or queue more output (which puts them back
     * on the list, to be written in this same walk). */
    while (ws->dirty) {
        ws_conn *c = ws->dirty;
        assert(c->state != WS_CLOSED);
        ws_conn_unmark_dirty(c);
        if (c->cutoff)
            ws_conn_destroy(c, WS_CLOSE_POLICY, "slow reader");
        else
            ws_conn_flush(c);
    }
    assert(ws->ndirty == 0);
}

/* ---- the context ------------------------------------------------------------------- */

ws_server *ws_server_new(uv_loop_t *loop, const ws_options *o) {
    ws_server *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->loop = loop;
    if (o)
        ws->opts = *o;
    else
        ws_options_init(&ws->opts);
    ws_conn_parser_config(&ws->parser_cfg, ws->opts.max_message_size);
    if (util_wheel_init(loop, &ws->wheel, SIO_WHEEL_TICK_MS) != 0) {
        free(ws);
        return NULL;
    }
    uv_check_init(loop, &ws->flush);
    ws->flush.data = ws;
    uv_check_start(&ws->flush, ws_flush_all);
    uv_unref((uv_handle_t *)&ws->flush);
    uv_idle_init(loop, &ws->defer);
    ws->defer.data = ws;
    uv_unref((uv_handle_t *)&ws->defer);
    ws->handles_open = 3;
    return ws;
}

size_t ws_server_connections(const ws_server *ws) {
    return ws->nconns;
}

/* ---- server shutdown -------------------------------------------------------------------- */

static void server_handle_closed(uv_handle_t *h) {
    ws_server *ws = h->data;
    if (--ws->handles_open) return;
    ws_closed_cb done = ws->done;
    void *ud = ws->done_ud;
    free(ws);
    if (done) done(ud);
}

static void wheel_closed(uv_handle_t *h) {
    ws_server *ws = (ws_server *)((char *)h - offsetof(ws_server, wheel.tick));
    h->data = ws;
    server_handle_closed(h);
}

void ws_server_maybe_done(ws_server *ws) {
    if (!ws->closing || ws->conns || ws->nclosing || ws->closing == 2) return;
    ws->closing = 2;
    uv_close((uv_handle_t *)&ws->flush, server_handle_closed);
    uv_close((uv_handle_t *)&ws->defer, server_handle_closed);
    util_wheel_close(&ws->wheel, wheel_closed);
}

void ws_server_close(ws_server *ws, ws_closed_cb done, void *userdata) {
    if (ws->closing) return;
    ws->closing = 1;
    ws->done = done;
    ws->done_ud = userdata;
    ws_conn *next;
    for (ws_conn *c = ws->conns; c; c = next) {
        next = c->next;
        if (c->state == WS_OPEN) ws_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
    }
    ws_server_maybe_done(ws);
}
