/* eio/eio_server.c - the Engine.IO server: options, request routing (one
 * function per kind of request), the handshake, CORS and the reference's
 * error answers, and the server's own life (creation, attaching, shutdown).
 * Sessions, transports and the upgrade live in eio_session.c, eio_polling.c
 * and eio_websocket.c (see eio_internal.h).
 */
#include "eio/eio_internal.h"
#include "util/log.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void eio_options_init(eio_options *o) {
    memset(o, 0, sizeof *o);
    o->path = "/engine.io/";
    o->ping_interval = 25000;
    o->ping_timeout = 20000;
    o->upgrade_timeout = 10000;
    o->max_http_buffer_size = 1000000;
    o->transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    o->allow_upgrades = true;
    o->max_sessions = 65536;
    o->max_sessions_per_ip = 0;
    o->max_buffered_bytes = (size_t)256 << 20;
}

/* ---- HTTP: errors, CORS ---------------------------------------------------------------------- */

void eio_cors_headers(eio_server *srv, http_req *req) {
    if (!srv->cors_origin) return;
    const char *origin = http_req_header(req, "origin");
    if (strcmp(srv->cors_origin, "*") == 0) {
        /* a literal "*", never the request's origin: echoing any origin with
         * credentials would let every site drive a credentialed session
         * (browsers refuse credentials with "*", which is the point) */
        http_res_header(req, "Access-Control-Allow-Origin", "*");
        return;
    } else if (origin) {
        /* an allow-list: echo the origin only when listed */
        size_t olen = strlen(origin);
        const char *p = srv->cors_origin;
        while (*p) {
            while (*p == ' ' || *p == ',') p++;
            const char *e = p;
            while (*e && *e != ',') e++;
            const char *t = e;
            while (t > p && t[-1] == ' ') t--;
            if ((size_t)(t - p) == olen && strncmp(p, origin, olen) == 0) {
                http_res_header(req, "Access-Control-Allow-Origin", origin);
                break;
            }
            p = e;
        }
        http_res_header(req, "Vary", "Origin");
    }
    if (srv->opts.cors.credentials)
        http_res_header(req, "Access-Control-Allow-Credentials", "true");
}

void eio_send_error(eio_server *srv, http_req *req, int code) {
    eio_cors_headers(srv, req);
    http_res_send(req, eio_error_status(code), "application/json", eio_error_body(code));
}

/* A handshake refused by a limit: 503, so that clients retry later, with an
 * Engine.IO error body that says which limit. */
static void send_refusal(eio_server *srv, http_req *req, const char *why) {
    util_buf body = UTIL_BUF_INIT;
    int r = util_buf_printf(&body, "{\"code\":%d,\"message\":\"%s\"}", EIO_ERR_BAD_REQUEST, why);
    eio_cors_headers(srv, req);
    http_res_header(req, "Retry-After", "1");
    http_res_send(req, 503, "application/json", r == 0 ? body.data : ""); /* the status says it */
    util_buf_free(&body);
}

/* The HTTP layer's own error answers on our route (a malformed or oversized
 * body, a slow one) carry the CORS headers that ours do: without them a
 * browser sees a network error instead of the status. */
static void http_error_headers(http_req *req, int status, void *ud) {
    eio_cors_headers(ud, req);
}

/* ---- handshake ----------------------------------------------------------------------------------
 */

/* Why a new session may not open now, or NULL: the limits on sessions and
 * on queued output (eio_options.max_sessions & co.). */
static const char *handshake_refusal(eio_server *srv, const http_req *req) {
    if (srv->opts.max_sessions && srv->live >= srv->opts.max_sessions) return "Too many sessions";
    if (srv->opts.max_sessions_per_ip) {
        const char *addr = http_req_remote_addr(req);
        struct eio_ip *ip = util_map_get(&srv->ips, addr, strlen(addr));
        if (ip && ip->count >= srv->opts.max_sessions_per_ip)
            return "Too many sessions from this address";
    }
    if (srv->budget.limit && srv->budget.used >= srv->budget.limit) return "Output buffers full";
    return NULL;
}

static int open_packet(eio_server *srv, eio_socket *s, int for_polling, util_buf *out) {
    static const char *const ws_only[] = {"websocket"};
    eio_handshake h = {
        .sid = s->sid,
        .upgrades = ws_only,
        .upgrades_count = for_polling && srv->opts.allow_upgrades &&
                                  (srv->opts.transports & EIO_TRANSPORT_WEBSOCKET)
                              ? 1
                              : 0,
        .ping_interval = srv->opts.ping_interval,
        .ping_timeout = srv->opts.ping_timeout,
        .max_payload = srv->opts.max_http_buffer_size,
        .version = s->protocol,
    };
    return eio_open_json(out, &h);
}

/* The `cookie` option: the session id in a cookie on the handshake's answer
 * (the polling response, or the 101 of a session that starts on WebSocket). */
static void set_cookie(eio_server *srv, http_req *req, const eio_socket *s) {
    if (!srv->cookie) return;
    util_buf c = UTIL_BUF_INIT;
    if (util_buf_printf(&c, "%s=%s; Path=/; HttpOnly; SameSite=Lax", srv->cookie, s->sid) == 0)
        http_res_header(req, "Set-Cookie", c.data);
    util_buf_free(&c);
}

static void handshake(eio_server *srv, http_req *req, int protocol, int websocket) {
    eio_socket *s = eio_session_new(srv, req, protocol, websocket ? T_WEBSOCKET : T_POLLING);
    if (!s) {
        http_res_send(req, 500, "text/plain", "Internal Server Error\n");
        return;
    }
    const char *b64 = http_req_query(req, "b64");
    s->b64 = b64 && b64[0] && strcmp(b64, "0") != 0;
    util_buf open = UTIL_BUF_INIT, body = UTIL_BUF_INIT;
    int r = open_packet(srv, s, !websocket, &open);
    if (!r && !websocket) { /* the polling answer: the open packet as a payload */
        eio_payload_writer w;
        eio_payload_writer_init(&w, &body, protocol == 3 ? EIO_PAYLOAD_V3_TEXT : EIO_PAYLOAD_V4);
        eio_packet p = {.type = EIO_OPEN, .data = open.data, .len = open.len};
        r = eio_payload_write(&w, &p);
        if (!r) r = eio_payload_finish(&w);
    }
    if (r) { /* out of memory, before the application hears of the session */
        util_buf_free(&open);
        util_buf_free(&body);
        eio_session_discard(s);
        http_res_send(req, 500, "text/plain", "Internal Server Error\n");
        return;
    }
    if (websocket) {
        /* the application hears of the session while the request is still
         * readable; what it sends meanwhile waits in the queue */
        s->busy++;
        if (srv->cb.on_open) srv->cb.on_open(s, req, srv->ud);
        set_cookie(srv, req, s); /* ws_accept sends the headers set so far with its 101 */
        ws_conn *c = s->state == S_OPEN ? eio_websocket_accept(s, req) : NULL;
        if (!c) {
            if (s->state == S_OPEN)
                eio_session_close(s, "transport error");
            else
                eio_send_error(srv, req, EIO_ERR_FORBIDDEN);
            util_buf_free(&open);
            eio_session_release(s);
            return;
        }
        s->ws = c;
        ws_send2(c, "0", 1, open.data, open.len, false);
        eio_queue_to_ws(s, c);
        eio_hb_arm(s);
        ws_conn_start(c);
        util_buf_free(&open);
        eio_session_release(s);
        return;
    } else {
        eio_cors_headers(srv, req);
        set_cookie(srv, req, s);
        http_res_header(req, "Content-Type", "text/plain; charset=UTF-8");
        /* the application hears of the session before the client does */
        s->busy++;
        if (srv->cb.on_open) srv->cb.on_open(s, req, srv->ud);
        http_res_end(req, body.data, body.len);
        util_buf_free(&body);
        util_buf_free(&open);
        if (s->state == S_OPEN) eio_hb_arm(s);
        eio_session_release(s);
    }
}

static void preflight(eio_server *srv, http_req *req) {
    if (!srv->cors_origin) {
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    eio_cors_headers(srv, req);
    http_res_header(req, "Access-Control-Allow-Methods",
                    srv->cors_methods ? srv->cors_methods : "GET,HEAD,PUT,PATCH,POST,DELETE");
    /* only the configured request headers, never an echo of whatever was asked */
    if (srv->cors_headers) http_res_header(req, "Access-Control-Allow-Headers", srv->cors_headers);
    http_res_status(req, 204);
    http_res_end(req, NULL, 0);
}

/* A request for an existing session (?sid=): a poll, a payload, or an upgrade. */
static void handle_session(eio_server *srv, http_req *req, const char *sid, int websocket) {
    eio_socket *s = util_map_get(&srv->sessions, sid, strlen(sid));
    if (s && s->state == S_OPEN && s->deadline && uv_now(srv->loop) >= s->deadline) {
        /* the heartbeat failed and the wheel has not ticked yet: the session
         * is gone now, not at the tick */
        eio_session_close(s, "ping timeout");
        s = NULL;
    }
    if (!s) {
        eio_send_error(srv, req, EIO_ERR_UNKNOWN_SID);
        return;
    }
    if (s->state == S_DRAINING) {
        eio_polling_draining(s, req, websocket);
        return;
    }
    if (websocket) {
        eio_websocket_upgrade(s, req);
        return;
    }
    const char *method = http_req_method(req);
    if (s->transport != T_POLLING)
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
    else if (strcmp(method, "GET") == 0)
        eio_polling_get(s, req);
    else if (strcmp(method, "POST") == 0)
        eio_polling_post(s, req);
    else
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
}

/* A request without a sid: a new session, if every check and limit lets it. */
static void handle_handshake(eio_server *srv, http_req *req, int websocket) {
    if (strcmp(http_req_method(req), "GET") != 0) {
        eio_send_error(srv, req, EIO_ERR_BAD_HANDSHAKE_METHOD);
        return;
    }
    const char *eio = http_req_query(req, "EIO");
    int protocol = eio && strcmp(eio, "4") == 0 ? 4 : 3;
    if (protocol == 3 && !srv->opts.allow_eio3) {
        eio_send_error(srv, req, EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION);
        return;
    }
    if (websocket && ws_handshake_check(req) != 0) {
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
        return;
    }
    if (srv->opts.allow_request &&
        srv->opts.allow_request(req, srv->opts.allow_request_userdata) != 0) {
        eio_send_error(srv, req, EIO_ERR_FORBIDDEN);
        return;
    }
    const char *why = handshake_refusal(srv, req);
    if (why) {
        LOG_WARN("engine", "handshake from %s refused: %s", http_req_remote_addr(req), why);
        send_refusal(srv, req, why);
        return;
    }
    handshake(srv, req, protocol, websocket);
}

/* The route's handler: a preflight, a session's request, or a handshake. */
static void eio_handle(http_req *req, void *ud) {
    eio_server *srv = ud;
    if (strcmp(http_req_method(req), "OPTIONS") == 0) {
        preflight(srv, req);
        return;
    }
    if (srv->closing) {
        http_res_send(req, 503, "text/plain", "Service Unavailable\n");
        return;
    }
    const char *transport = http_req_query(req, "transport");
    int websocket = transport && strcmp(transport, "websocket") == 0;
    int polling = transport && strcmp(transport, "polling") == 0;
    if ((!websocket && !polling) ||
        (websocket && !(srv->opts.transports & EIO_TRANSPORT_WEBSOCKET)) ||
        (polling && !(srv->opts.transports & EIO_TRANSPORT_POLLING))) {
        eio_send_error(srv, req, EIO_ERR_UNKNOWN_TRANSPORT);
        return;
    }
    const char *sid = http_req_query(req, "sid");
    if (sid)
        handle_session(srv, req, sid, websocket);
    else
        handle_handshake(srv, req, websocket);
}

/* ---- server -----------------------------------------------------------------------------------
 */

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

eio_server *eio_server_new(uv_loop_t *loop, const eio_options *o, const eio_callbacks *cb,
                           void *userdata) {
    eio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    if (o)
        srv->opts = *o;
    else
        eio_options_init(&srv->opts);
    if (cb) srv->cb = *cb;
    srv->ud = userdata;
    srv->path = strdup(srv->opts.path ? srv->opts.path : "/engine.io/");
    srv->cookie = dup_or_null(srv->opts.cookie);
    srv->cors_origin = dup_or_null(srv->opts.cors.origin);
    srv->cors_methods = dup_or_null(srv->opts.cors.methods);
    srv->cors_headers = dup_or_null(srv->opts.cors.allowed_headers);
    srv->opts.path = srv->path;
    srv->opts.cookie = srv->cookie;
    srv->opts.cors.origin = srv->cors_origin;
    srv->opts.cors.methods = srv->cors_methods;
    srv->opts.cors.allowed_headers = srv->cors_headers;
    if (srv->cors_origin && strcmp(srv->cors_origin, "*") == 0 && srv->opts.cors.credentials)
        LOG_WARN("engine", "cors: origin \"*\" with credentials: answering \"*\" without "
                           "credentials (list the allowed origins to allow credentials)");
    ws_options wo;
    ws_options_init(&wo);
    wo.max_message_size = srv->opts.max_http_buffer_size;
    /* The slow-reader limit must leave room for a few of the largest messages:
     * libuv reads up to 2 MiB from a socket per loop iteration, so an echo of
     * two max-size messages can be queued before the first writev. */
    if (wo.max_queue_bytes < 4 * srv->opts.max_http_buffer_size)
        wo.max_queue_bytes = 4 * srv->opts.max_http_buffer_size;
    wo.permessage_deflate = srv->opts.per_message_deflate;
    /* polling has no socket buffer to absorb a burst between two GETs */
    srv->max_queue_bytes = 4 * wo.max_queue_bytes;
    srv->budget.limit = srv->opts.max_buffered_bytes;
    wo.budget = &srv->budget;
    srv->ws = ws_server_new(loop, &wo);
    srv->m_ping = eio_control_msg("2");
    srv->m_pong = eio_control_msg("3");
    srv->m_close = eio_control_msg("1");
    srv->m_probe = eio_control_msg("3probe");
    if (!srv->path || !srv->ws || !srv->m_ping || !srv->m_pong || !srv->m_close || !srv->m_probe ||
        util_wheel_init(loop, &srv->wheel, SIO_WHEEL_TICK_MS) != 0) {
        /* a half-built server is not worth unwinding piece by piece on ENOMEM */
        return NULL;
    }
    uv_check_init(loop, &srv->flush);
    srv->flush.data = srv;
    uv_check_start(&srv->flush, eio_flush_all);
    uv_unref((uv_handle_t *)&srv->flush);
    return srv;
}

static void on_http_shutdown(http_server *http, void *ud) {
    eio_server_close(ud, NULL, NULL);
}

int eio_server_attach(eio_server *srv, http_server *http) {
    srv->http = http;
    http_route r = {.method = NULL,
                    .path = srv->path,
                    .prefix = true,
                    .max_body = srv->opts.max_http_buffer_size,
                    .handler = eio_handle,
                    .userdata = srv,
                    .on_too_large = eio_body_too_large,
                    .on_error = http_error_headers};
    int rc = http_server_route(http, &r);
    if (rc) return rc;
    return http_server_on_shutdown(http, on_http_shutdown, srv);
}

size_t eio_server_sessions(const eio_server *srv) {
    return srv->sessions.count;
}

eio_socket *eio_server_find(const eio_server *srv, const char *sid) {
    return util_map_get(&srv->sessions, sid, strlen(sid));
}

static void server_free(eio_server *srv) {
    eio_closed_cb done = srv->done;
    void *ud = srv->done_ud;
    assert(srv->ips.count == 0 && srv->budget.used == 0);
    util_map_free(&srv->sessions);
    util_map_free(&srv->ips);
    util_rcbuf_unref(srv->m_ping);
    util_rcbuf_unref(srv->m_pong);
    util_rcbuf_unref(srv->m_close);
    util_rcbuf_unref(srv->m_probe);
    free(srv->path);
    free(srv->cookie);
    free(srv->cors_origin);
    free(srv->cors_methods);
    free(srv->cors_headers);
    free(srv);
    if (done) done(ud);
}

static void handle_closed(uv_handle_t *h) {
    eio_server *srv = h->data;
    if (--srv->handles == 0) server_free(srv);
}

static void wheel_closed(uv_handle_t *h) {
    eio_server *srv = (eio_server *)((char *)h - offsetof(eio_server, wheel.tick));
    h->data = srv;
    handle_closed(h);
}

static void ws_closed(void *ud) {
    eio_server *srv = ud;
    srv->ws = NULL;
    if (--srv->handles == 0) server_free(srv);
}

void eio_server_maybe_done(eio_server *srv) {
    if (srv->closing != 1) return;
    if (srv->dirty && srv->live)
        eio_flush_all(&srv->flush); /* frees closed sessions waiting there */
    /* freeing them re-entered this function, which may have finished the job */
    if (srv->closing != 1 || srv->live) return;
    srv->closing = 2;
    srv->handles = 3;
    uv_close((uv_handle_t *)&srv->flush, handle_closed);
    util_wheel_close(&srv->wheel, wheel_closed);
    ws_server_close(srv->ws, ws_closed, srv);
}

void eio_server_close(eio_server *srv, eio_closed_cb done, void *userdata) {
    if (srv->closing) {
        /* already closing (e.g. from the HTTP server's shutdown): a caller that
         * wants to hear of the end still does, unless one already asked */
        if (!srv->done) {
            srv->done = done;
            srv->done_ud = userdata;
        }
        return;
    }
    srv->closing = 1;
    if (srv->http) http_server_off_shutdown(srv->http, on_http_shutdown, srv);
    srv->done = done;
    srv->done_ud = userdata;
    /* close every session; the map changes under us, so take one at a time */
    while (srv->sessions.count) {
        util_map_iter it;
        util_map_iter_init(&it, &srv->sessions);
        util_map_entry *e = util_map_iter_next(&it);
        eio_session_close(e->value, "server shutting down");
    }
    eio_server_maybe_done(srv);
}
