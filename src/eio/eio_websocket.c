/* eio/eio_websocket.c - the WebSocket transport: a session's frames both
 * ways, and the upgrade from polling ("2probe" -> "3probe", then "5" moves
 * the session). See eio_internal.h.
 */
#include "eio/eio_internal.h"
#include "util/log.h"
#include "util/strlit.h"

#include <string.h>

static const ws_callbacks ws_transport_cb;
static const ws_callbacks ws_probe_cb;
static const ws_callbacks ws_refused_cb; /* a WebSocket closed as soon as accepted */

/* ---- websocket transport ------------------------------------------------------------------------
 */

static void ws_transport_message(ws_conn *c, const uint8_t *data, size_t len, bool binary,
                                 void *ud) {
    eio_socket *s = ud;
    if (!s || s->state != S_OPEN) return;
    eio_packet p;
    if (eio_ws_decode((char *)data, len, binary, s->protocol, &p) != 0) {
        eio_session_close(s, "parse error");
        return;
    }
    s->busy++;
    eio_session_packet(s, &p);
    eio_session_release(s);
}

static void ws_transport_close(ws_conn *c, int code, const char *reason, void *ud) {
    eio_socket *s = ud;
    if (!s) return;
    s->ws = NULL;
    int error = code == WS_CLOSE_PROTOCOL_ERROR || code == WS_CLOSE_INVALID_DATA ||
                code == WS_CLOSE_POLICY || code == WS_CLOSE_TOO_BIG ||
                code == WS_CLOSE_INTERNAL_ERROR;
    eio_session_close(s, error ? "transport error" : "transport close");
}

static const ws_callbacks ws_transport_cb = {
    .on_message = ws_transport_message,
    .on_close = ws_transport_close,
};

/* -- upgrade from polling: "2probe" -> "3probe", then "5" switches the transport -- */

static void upgrade_timeout(util_timer *t) {
    eio_socket *s = (eio_socket *)((char *)t - offsetof(eio_socket, up_timer));
    if (!s->probe) return;
    LOG_DEBUG("engine", "session %s: upgrade timed out", s->sid);
    ws_conn_set_data(s->probe, NULL);
    ws_close(s->probe, WS_CLOSE_NORMAL, "upgrade timeout");
    s->probe = NULL;
    s->upgrading = UP_NONE;
}

static void ws_probe_message(ws_conn *c, const uint8_t *data, size_t len, bool binary, void *ud) {
    eio_socket *s = ud;
    if (!s || s->state != S_OPEN) return;
    eio_server *srv = s->srv;
    if (!binary && len == sizeof "2probe" - 1 && memcmp(data, UTIL_LIT("2probe")) == 0) {
        ws_send_frame(c, ws_frame_from_buf(srv->m_probe));
        s->upgrading = UP_PROBED;
        /* release a waiting GET so the client can pause polling (a later GET
         * is released by eio_polling_get) */
        if (s->poll && !s->q.len) eio_poll_respond(s, 0); /* a noop */
        return;
    }
    if (!binary && len == 1 && data[0] == '5') {
        util_timer_stop(&srv->wheel, &s->up_timer);
        s->probe = NULL;
        s->upgrading = UP_NONE;
        s->transport = T_WEBSOCKET;
        s->ws = c;
        ws_conn_set_callbacks(c, &ws_transport_cb);
        /* a GET still waiting gets what is queued (or a noop); the rest goes by websocket */
        if (s->poll) eio_poll_respond(s, 0); /* what is queued, or a noop */
        eio_queue_to_ws(s, c);
        LOG_DEBUG("engine", "session %s upgraded to websocket", s->sid);
        return;
    }
    /* anything else during the probe is a broken client */
    ws_conn_set_data(c, NULL);
    ws_close(c, WS_CLOSE_PROTOCOL_ERROR, "unexpected packet during upgrade");
    s->probe = NULL;
    s->upgrading = UP_NONE;
    util_timer_stop(&srv->wheel, &s->up_timer);
}

static void ws_probe_close(ws_conn *c, int code, const char *reason, void *ud) {
    eio_socket *s = ud;
    if (!s) return;
    s->probe = NULL;
    s->upgrading = UP_NONE;
    util_timer_stop(&s->srv->wheel, &s->up_timer);
}

static const ws_callbacks ws_probe_cb = {
    .on_message = ws_probe_message,
    .on_close = ws_probe_close,
};

static const ws_callbacks ws_refused_cb = {NULL, NULL};

ws_conn *eio_websocket_accept(eio_socket *s, http_req *req) {
    return ws_accept(s->srv->ws, req, &ws_transport_cb, s);
}

void eio_websocket_upgrade(eio_socket *s, http_req *req) {
    eio_server *srv = s->srv;
    if (!srv->opts.allow_upgrades || ws_handshake_check(req) != 0) {
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (s->transport != T_POLLING || s->upgrading) {
        /* a second WebSocket for a session that has one (or is getting one):
         * accepted, then closed, as the reference does; the session and its
         * transport go on untouched */
        ws_conn *c = ws_accept(srv->ws, req, &ws_refused_cb, NULL);
        if (c) {
            ws_close(c, WS_CLOSE_NORMAL, "");
            ws_conn_start(c);
        }
        return;
    }
    ws_conn *c = ws_accept(srv->ws, req, &ws_probe_cb, s);
    if (!c) return;
    s->probe = c;
    s->upgrading = UP_PROBING;
    util_timer_start(&srv->wheel, &s->up_timer, srv->opts.upgrade_timeout, upgrade_timeout);
    ws_conn_start(c);
}
