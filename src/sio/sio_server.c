/* sio/sio_server.c - the Socket.IO server: options, attaching to the web app,
 * and the clients: one per Engine.IO session, decoding its messages into
 * packets (collecting binary attachments) and dispatching them to the
 * namespace sockets.
 *
 * Data flow in: eio message -> sio_packet_decode (header and event name only;
 * the arguments stay raw text) -> CONNECT: sio_socket_connect, EVENT:
 * sio_event_dispatch, ACK: sio_socket_handle_ack, DISCONNECT: sio_socket_close.
 * Anything malformed closes that client with "parse error", and a packet for
 * a namespace it has not joined, or a CONNECT to one it has, closes it too
 * ("invalid state"), as the
 * reference server does; nobody else is touched.
 */
#include "sio/sio_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void sio_server_options_init(sio_server_options *o) {
    memset(o, 0, sizeof *o);
    eio_options_init(&o->eio);
    o->eio.path = "/socket.io/";
    o->connect_timeout = 45000;
    o->serve_client = 1;
    o->client_dir = NULL;
    o->max_attachments = SIO_DEFAULT_MAX_ATTACHMENTS;
}

/* ---- clients --------------------------------------------------------------------------- */

void sio_client_unref(sio_client *c) {
    if (--c->refs) return;
    if (c->bin) {
        sio_binary_reset(c->bin);
        free(c->bin);
    }
    free(c->headers);
    free(c);
}

void sio_client_set_eio(sio_client *c, eio_socket *e) {
    c->eio = e;
    for (sio_socket *s = c->sockets; s; s = s->next_in_client) s->eio = e;
}

/* Closes the client: every socket disconnects with `reason`, then the
 * Engine.IO session closes (unless it is what is closing). */
void sio_client_close(sio_client *c, const char *reason) {
    if (c->closed) return;
    c->closed = 1;
    sio_server *srv = c->srv;
    sio_timer_stop(&srv->wheel, &c->connect_timer);
    c->refs++;
    while (c->sockets) sio_socket_close(c->sockets, reason, 0);
    if (c->eio) {
        eio_socket *e = c->eio;
        sio_client_set_eio(c, NULL);
        eio_socket_set_userdata(e, NULL);
        eio_socket_close(e);
    }
    sio_client_unref(c); /* the session's reference: the session is gone */
    sio_client_unref(c);
}

static void connect_timeout(sio_timer *t) {
    sio_client *c = (sio_client *)((char *)t - offsetof(sio_client, connect_timer));
    if (c->joined) return;
    LOG_DEBUG("socket.io", "client %s joined no namespace in time: closing",
              c->eio ? eio_socket_id(c->eio) : "?");
    sio_client_close(c, "transport close");
}

static void on_eio_open(eio_socket *e, http_req *req, void *ud) {
    sio_server *srv = ud;
    sio_client *c = calloc(1, sizeof *c);
    if (!c) {
        eio_socket_close(e);
        return;
    }
    c->srv = srv;
    c->eio = e;
    c->refs = 1;
    snprintf(c->remote, sizeof c->remote, "%s", http_req_remote_addr(req));
    /* keep the handshake headers for sio_socket_header */
    sio_buf h = SIO_BUF_INIT;
    const char *name, *value;
    for (unsigned i = 0; http_req_header_at(req, i, &name, &value); i++) {
        /* the WebSocket handshake's own headers mean nothing to handlers */
        if (strncasecmp(name, "sec-websocket-", 14) == 0 || strcasecmp(name, "upgrade") == 0 ||
            strcasecmp(name, "connection") == 0)
            continue;
        sio_buf_append(&h, name, strlen(name) + 1);
        sio_buf_append(&h, value, strlen(value) + 1);
    }
    sio_buf_append(&h, "", 1);
    c->headers = sio_buf_detach(&h, NULL);
    sio_timer_init(&c->connect_timer);
    sio_timer_start(&srv->wheel, &c->connect_timer, srv->opts.connect_timeout, connect_timeout);
    eio_socket_set_userdata(e, c);
    /* Engine.IO v3 carries Socket.IO protocol v4 (socket.io-client 2.x), where
     * every client is in the main namespace from the start, without a CONNECT */
    if (eio_socket_protocol(e) == 3) {
        sio_nsp *main_nsp = sio_nsp_get(srv, "/", 1, 0);
        if (main_nsp) sio_socket_connect(c, main_nsp, NULL);
    }
}

static sio_socket *client_socket(sio_client *c, const char *nsp, size_t len) {
    for (sio_socket *s = c->sockets; s; s = s->next_in_client)
        if (s->nsp->name_len == len && memcmp(s->nsp->name, nsp, len) == 0) return s;
    return NULL;
}

static void send_connect_error(sio_client *c, const char *nsp, size_t nsp_len,
                               const char *message) {
    sio_buf out = SIO_BUF_INIT;
    json_t *data = json_pack("{ss}", "message", message);
    if (data && sio_encode_connect_error(&out, nsp, nsp_len, data) == 0 && c->eio)
        eio_send(c->eio, out.data, out.len, 0);
    json_decref(data);
    sio_buf_free(&out);
}

/* A packet the client may not send now: an EVENT, ACK or DISCONNECT for a
 * namespace it is not in (never joined, or left), or an EVENT or ACK while its
 * CONNECT waits on the middlewares. socket.io-client never does this (it
 * buffers its emits until the CONNECT answer); the reference server closes
 * the whole client ("invalid state"), and so do we: its sockets in other
 * namespaces disconnect with "forced server close", and no other client is
 * touched. A second CONNECT to a namespace joined (or being joined) is one
 * too. (A DISCONNECT while the CONNECT waits cancels the CONNECT.) */
static void client_invalid_state(sio_client *c, const sio_packet *p) {
    static const char *const names[] = {"CONNECT",       "DISCONNECT",   "EVENT",     "ACK",
                                        "CONNECT_ERROR", "BINARY_EVENT", "BINARY_ACK"};
    const char *name = (unsigned)p->type < sizeof names / sizeof *names ? names[p->type] : "?";
    LOG_DEBUG("socket.io", "client %s: invalid state: %s for namespace %.*s, not joined: closing",
              c->eio ? eio_socket_id(c->eio) : "?", name, (int)p->nsp_len, p->nsp);
    sio_client_close(c, "forced server close");
}

/* Handles one complete packet (attachments collected). */
static void client_dispatch(sio_client *c, const sio_packet *p, sio_rcbuf *const *atts,
                            uint32_t natts) {
    sio_server *srv = c->srv;
    switch (p->type) {
    case SIO_PACKET_CONNECT: {
        if (client_socket(c, p->nsp, p->nsp_len)) { /* joined, or joining: a second CONNECT */
            client_invalid_state(c, p);
            return;
        }
        sio_nsp *nsp = srv->closing ? NULL : sio_nsp_resolve(srv, p->nsp, p->nsp_len);
        if (!nsp) {
            send_connect_error(c, p->nsp, p->nsp_len, "Invalid namespace");
            return;
        }
        json_t *auth = p->data ? sio_packet_data(p, atts, natts) : NULL;
        sio_socket_connect(c, nsp, auth);
        return;
    }
    case SIO_PACKET_DISCONNECT: {
        sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
        if (s)
            sio_socket_close(s, "client namespace disconnect", 0);
        else
            client_invalid_state(c, p);
        return;
    }
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT: {
        sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
        if (s && s->state == SOCK_CONNECTED)
            sio_event_dispatch(s, p, atts, natts);
        else
            client_invalid_state(c, p);
        return;
    }
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK: {
        sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
        if (s && s->state == SOCK_CONNECTED)
            sio_socket_handle_ack(s, p, atts, natts);
        else
            client_invalid_state(c, p);
        return;
    }
    case SIO_PACKET_CONNECT_ERROR:
    default:
        sio_client_close(c, "parse error");
        return;
    }
}

static void on_eio_message(eio_socket *e, const char *data, size_t len, int binary, void *ud) {
    sio_client *c = eio_socket_userdata(e);
    if (!c || c->closed) return;
    sio_server *srv = c->srv;
    c->refs++;
    if (binary) {
        /* an attachment of the binary packet being collected */
        sio_rcbuf *att = c->bin && sio_binary_active(c->bin) ? sio_rcbuf_copy(data, len) : NULL;
        int r = att ? sio_binary_add(c->bin, att) : SIO_EPROTO;
        if (att) sio_rcbuf_unref(att);
        if (r < 0) {
            sio_client_close(c, "parse error");
        } else if (r == 1) {
            client_dispatch(c, &c->bin->packet, c->bin->atts, c->bin->count);
            sio_binary_reset(c->bin);
        }
        sio_client_unref(c);
        return;
    }
    if (c->bin && sio_binary_active(c->bin)) {
        /* text in the middle of a binary packet's attachments */
        sio_client_close(c, "parse error");
        sio_client_unref(c);
        return;
    }
    sio_packet p;
    sio_decode_opts opts = {.max_attachments = srv->opts.max_attachments};
    int r = sio_packet_decode(&p, data, len, &opts);
    if (r != 0) {
        LOG_DEBUG("socket.io", "bad packet from %s: closing", eio_socket_id(e));
        sio_client_close(c, "parse error");
    } else if (sio_packet_is_binary(p.type)) {
        /* the collector is allocated for the first binary packet only */
        if (!c->bin && (c->bin = malloc(sizeof *c->bin)) != NULL)
            *c->bin = (sio_binary)SIO_BINARY_INIT;
        if (!c->bin || sio_binary_start(c->bin, &p) != 0) sio_client_close(c, "parse error");
    } else {
        client_dispatch(c, &p, NULL, 0);
    }
    sio_packet_release(&p);
    sio_client_unref(c);
}

static void on_eio_close(eio_socket *e, const char *reason, void *ud) {
    sio_client *c = eio_socket_userdata(e);
    if (!c) return;
    sio_client_set_eio(c, NULL);
    eio_socket_set_userdata(e, NULL);
    sio_client_close(c,
                     strcmp(reason, "forced close") == 0 ? "server namespace disconnect" : reason);
}

/* ---- the server --------------------------------------------------------------------------- */

sio_server *sio_server_new(uv_loop_t *loop, const sio_server_options *o) {
    sio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->loop = loop;
    if (o)
        srv->opts = *o;
    else
        sio_server_options_init(&srv->opts);
    if (!srv->opts.eio.path) srv->opts.eio.path = "/socket.io/";
    if (!srv->opts.max_attachments) srv->opts.max_attachments = SIO_DEFAULT_MAX_ATTACHMENTS;
    srv->path = strdup(srv->opts.eio.path);
    srv->client_dir = srv->opts.client_dir ? strdup(srv->opts.client_dir) : NULL;
    srv->opts.eio.path = srv->path;
    srv->opts.client_dir = srv->client_dir;
    eio_callbacks cb = {
        .on_open = on_eio_open, .on_message = on_eio_message, .on_close = on_eio_close};
    srv->eio = eio_server_new(loop, &srv->opts.eio, &cb, srv);
    if (!srv->path || !srv->eio || sio_wheel_init(loop, &srv->wheel, 10) != 0) {
        free(srv->path);
        free(srv->client_dir);
        free(srv);
        return NULL;
    }
    /* the main namespace always exists */
    sio_nsp_get(srv, "/", 1, 1);
    return srv;
}

eio_server *sio_server_engine(sio_server *srv) {
    return srv->eio;
}

static void on_http_shutdown(http_server *http, void *ud) {
    sio_server_close(ud, NULL, NULL);
}

int sio_attach(sio_server *srv, http_server *app) {
    srv->http = app;
    int r = eio_server_attach(srv->eio, app);
    if (r) return r;
    if (srv->opts.serve_client) sio_client_js_attach(srv);
    return http_server_on_shutdown(app, on_http_shutdown, srv);
}

static void server_free(sio_server *srv) {
    void (*done)(void *) = srv->done;
    void *ud = srv->done_ud;
    sio_map_iter it;
    sio_map_iter_init(&it, &srv->nsps);
    for (sio_map_entry *e = sio_map_iter_next(&it); e; e = sio_map_iter_next(&it))
        sio_nsp_free(e->value);
    sio_map_free(&srv->nsps);
    sio_families_free(srv);
    sio_client_js_free(srv);
    sio_buf_free(&srv->scratch);
    free(srv->path);
    free(srv->client_dir);
    free(srv);
    if (done) done(ud);
}

static void closed_step(void *ud) {
    sio_server *srv = ud;
    if (--srv->pending_closes == 0) server_free(srv);
}

static void wheel_closed(uv_handle_t *h) {
    closed_step((char *)h - offsetof(sio_server, wheel.tick));
}

void sio_server_close(sio_server *srv, void (*done)(void *userdata), void *userdata) {
    if (srv->closing) return;
    srv->closing = 1;
    srv->done = done;
    srv->done_ud = userdata;
    if (srv->http) http_server_off_shutdown(srv->http, on_http_shutdown, srv);
    srv->pending_closes = 2;
    /* closes every session: our on_close disconnects the sockets, synchronously */
    eio_server_close(srv->eio, closed_step, srv);
    sio_wheel_close(&srv->wheel, wheel_closed);
}
