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
 *
 * A client finds its socket for a packet's namespace in O(1): by scanning its
 * list while it has at most SIO_CLIENT_SCAN_MAX sockets (the usual case: one
 * or two, and no hashing on the hot path), through a table keyed by the
 * namespace past that. It may be in max_namespaces_per_client namespaces at
 * once; a CONNECT beyond gets CONNECT_ERROR and the rest of the connection
 * carries on, as for a namespace that does not exist.
 */
#include "sio/sio_internal.h"
#include "util/log.h"
#include "util/strlit.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_MAX_NAMESPACES_PER_CLIENT 32
#define DEFAULT_MAX_DYNAMIC_NAMESPACES 10000
#define DEFAULT_MAX_ROOMS_PER_SOCKET 1024
#define DEFAULT_MAX_ROOMS 100000
#define DEFAULT_MAX_MEMBERSHIPS 2000000

void sio_server_options_init(sio_server_options *o) {
    memset(o, 0, sizeof *o);
    eio_options_init(&o->eio);
    o->eio.path = "/socket.io/";
    o->connect_timeout = 45000;
    o->serve_client = true;
    o->client_dir = NULL;
    o->max_attachments = SIO_DEFAULT_MAX_ATTACHMENTS;
    o->max_namespaces_per_client = DEFAULT_MAX_NAMESPACES_PER_CLIENT;
    o->max_dynamic_namespaces = DEFAULT_MAX_DYNAMIC_NAMESPACES;
    o->cleanup_empty_child_namespaces = true;
    o->max_rooms_per_socket = DEFAULT_MAX_ROOMS_PER_SOCKET;
    o->max_rooms = DEFAULT_MAX_ROOMS;
    o->max_memberships = DEFAULT_MAX_MEMBERSHIPS;
}

/* ---- clients --------------------------------------------------------------------------- */

void sio_client_unref(sio_client *c) {
    assert(c->refs > 0);
    if (--c->refs) return;
    assert(c->sockets == NULL && c->nsockets == 0);
    free(c->index);
    if (c->bin) {
        sio_binary_reset(c->bin);
        free(c->bin);
    }
    free(c->headers);
    free(c);
}

void sio_client_set_eio(sio_client *c, eio_socket *e) {
    c->eio = e;
    for (sio_socket *s = c->sockets; s; s = s->next_in_client) s->head.eio = e;
}

/* ---- the client's sockets by namespace ---- */

static uint32_t index_slot(const sio_client *c, const sio_nsp *nsp) {
    uint64_t h = (uint64_t)(uintptr_t)nsp * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & c->index_mask;
}

static void index_insert(sio_client *c, sio_socket *s) {
    uint32_t i = index_slot(c, s->nsp);
    while (c->index[i]) i = (i + 1) & c->index_mask;
    c->index[i] = s;
}

/* (Re)builds the table with room for twice the live sockets. */
static int index_build(sio_client *c, uint32_t want) {
    uint32_t size = 16;
    while (size < 2 * want) size *= 2;
    sio_socket **t = calloc(size, sizeof *t);
    if (!t) return SIO_ENOMEM;
    free(c->index);
    c->index = t;
    c->index_mask = size - 1;
    for (sio_socket *s = c->sockets; s; s = s->next_in_client)
        if (s->indexed) index_insert(c, s);
    return 0;
}

static sio_socket *client_socket_of(sio_client *c, const sio_nsp *nsp) {
    if (!c->index) {
        for (sio_socket *s = c->sockets; s; s = s->next_in_client)
            if (s->indexed && s->nsp == nsp) return s;
        return NULL;
    }
    for (uint32_t i = index_slot(c, nsp); c->index[i]; i = (i + 1) & c->index_mask)
        if (c->index[i]->nsp == nsp) return c->index[i];
    return NULL;
}

int sio_client_add_socket(sio_client *c, sio_socket *s) {
    assert(!s->indexed && !s->next_in_client && !s->prev_in_client);
    if (c->index || c->nsockets + 1 > SIO_CLIENT_SCAN_MAX) {
        if ((!c->index || 2 * (c->nsockets + 1) > c->index_mask + 1) &&
            index_build(c, c->nsockets + 1) != 0)
            return SIO_ENOMEM;
    }
    s->next_in_client = c->sockets;
    if (c->sockets) c->sockets->prev_in_client = s;
    c->sockets = s;
    s->indexed = 1;
    c->nsockets++;
    if (c->index) index_insert(c, s);
    return 0;
}

void sio_client_unindex_socket(sio_client *c, sio_socket *s) {
    if (!s->indexed) return;
    s->indexed = 0;
    assert(c->nsockets > 0);
    c->nsockets--;
    if (!c->index) return;
    uint32_t i = index_slot(c, s->nsp);
    while (c->index[i] != s) {
        assert(c->index[i]);
        i = (i + 1) & c->index_mask;
    }
    /* backward-shift deletion: later entries of the run move up into the hole */
    for (uint32_t j = (i + 1) & c->index_mask; c->index[j]; j = (j + 1) & c->index_mask) {
        uint32_t home = index_slot(c, c->index[j]->nsp);
        /* j's entry may fill the hole at i unless its home lies in (i, j] */
        if (((j - home) & c->index_mask) >= ((j - i) & c->index_mask)) {
            c->index[i] = c->index[j];
            i = j;
        }
    }
    c->index[i] = NULL;
}

void sio_client_remove_socket(sio_client *c, sio_socket *s) {
    sio_client_unindex_socket(c, s);
    if (s->prev_in_client)
        s->prev_in_client->next_in_client = s->next_in_client;
    else {
        assert(c->sockets == s);
        c->sockets = s->next_in_client;
    }
    if (s->next_in_client) s->next_in_client->prev_in_client = s->prev_in_client;
    s->next_in_client = s->prev_in_client = NULL;
}

sio_socket *sio_client_first_live(sio_client *c) {
    /* the sockets in the middle of their close are few (nested closes): a short scan */
    for (sio_socket *s = c->sockets; s; s = s->next_in_client)
        if (s->head.state != SOCK_DISCONNECTED) return s;
    return NULL;
}

/* Closes the client: every socket disconnects with `reason`, then the
 * Engine.IO session closes (unless it is what is closing). */
void sio_client_close(sio_client *c, const char *reason) {
    if (c->closed) return;
    c->closed = 1;
    sio_server *srv = c->srv;
    util_timer_stop(&srv->wheel, &c->connect_timer);
    c->refs++;
    for (sio_socket *s; (s = sio_client_first_live(c)) != NULL;) sio_socket_close(s, reason, 0);
    if (c->eio) {
        eio_socket *e = c->eio;
        sio_client_set_eio(c, NULL);
        eio_socket_set_data(e, NULL);
        eio_socket_close(e);
    }
    /* the session's reference goes (the session is gone), then ours */
    assert(c->refs >= 2);
    c->refs--;
    sio_client_unref(c);
}

static void connect_timeout(util_timer *t) {
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
    util_buf h = UTIL_BUF_INIT;
    const char *name, *value;
    int r = 0;
    for (unsigned i = 0; r == 0 && http_req_header_at(req, i, &name, &value); i++) {
        /* the WebSocket handshake's own headers mean nothing to handlers */
        if (strncasecmp(name, UTIL_LIT("sec-websocket-")) == 0 ||
            strcasecmp(name, "upgrade") == 0 || strcasecmp(name, "connection") == 0)
            continue;
        if ((r = util_buf_append(&h, name, strlen(name) + 1)) == 0)
            r = util_buf_append(&h, value, strlen(value) + 1);
    }
    if (r || util_buf_append(&h, "", 1) != 0) {
        /* out of memory: no client rather than one whose headers are cut */
        util_buf_free(&h);
        free(c);
        eio_socket_close(e);
        return;
    }
    c->headers = util_buf_detach(&h, NULL);
    util_timer_init(&c->connect_timer);
    util_timer_start(&srv->wheel, &c->connect_timer, srv->opts.connect_timeout, connect_timeout);
    eio_socket_set_data(e, c);
    /* Engine.IO v3 carries Socket.IO protocol v4 (socket.io-client 2.x), where
     * every client is in the main namespace from the start, without a CONNECT */
    if (eio_socket_protocol(e) == 3) {
        sio_nsp *main_nsp = sio_nsp_get(srv, "/", 1, 0);
        c->refs++; /* a middleware may close the client */
        if (main_nsp) sio_socket_connect(c, main_nsp, NULL);
        sio_client_unref(c);
    }
}

/* The client's socket (connected or joining) in namespace nsp, or NULL. */
static sio_socket *client_socket(sio_client *c, const char *nsp, size_t len) {
    if (!c->index) { /* a few: compare the names, no hashing */
        for (sio_socket *s = c->sockets; s; s = s->next_in_client)
            if (s->indexed && s->nsp->name_len == len && memcmp(s->nsp->name, nsp, len) == 0)
                return s;
        return NULL;
    }
    sio_nsp *n = sio_nsp_get(c->srv, nsp, len, 0);
    return n ? client_socket_of(c, n) : NULL;
}

static void send_connect_error(sio_client *c, const char *nsp, size_t nsp_len,
                               const char *message) {
    util_buf out = UTIL_BUF_INIT;
    json_t *data = json_pack("{ss}", "message", message);
    if (data && sio_encode_connect_error(&out, nsp, nsp_len, data) == 0 && c->eio)
        eio_send(c->eio, out.data, out.len, false);
    json_decref(data);
    util_buf_free(&out);
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
static void client_dispatch(sio_client *c, const sio_packet *p, util_rcbuf *const *atts,
                            uint32_t natts) {
    sio_server *srv = c->srv;
    switch (p->type) {
    case SIO_PACKET_CONNECT: {
        if (client_socket(c, p->nsp, p->nsp_len)) { /* joined, or joining: a second CONNECT */
            client_invalid_state(c, p);
            return;
        }
        if (c->nsockets >= srv->opts.max_namespaces_per_client) {
            LOG_DEBUG("socket.io", "client %s: over %u namespaces: %.*s refused",
                      c->eio ? eio_socket_id(c->eio) : "?", srv->opts.max_namespaces_per_client,
                      (int)p->nsp_len, p->nsp);
            send_connect_error(c, p->nsp, p->nsp_len, "Too many namespaces");
            return;
        }
        int err = SIO_ENOTFOUND;
        sio_nsp *nsp = srv->closing ? NULL : sio_nsp_resolve(srv, p->nsp, p->nsp_len, &err);
        if (!nsp) {
            send_connect_error(c, p->nsp, p->nsp_len,
                               err == SIO_ETOOBIG ? "Too many namespaces" : "Invalid namespace");
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
        if (s && s->head.state == SOCK_CONNECTED)
            sio_event_dispatch(s, p, atts, natts);
        else
            client_invalid_state(c, p);
        return;
    }
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK: {
        sio_socket *s = client_socket(c, p->nsp, p->nsp_len);
        if (s && s->head.state == SOCK_CONNECTED)
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

static void on_eio_message(eio_socket *e, const char *data, size_t len, bool binary, void *ud) {
    sio_client *c = eio_socket_get_data(e);
    if (!c || c->closed) return;
    sio_server *srv = c->srv;
    c->refs++;
    if (binary) {
        /* an attachment of the binary packet being collected */
        util_rcbuf *att = c->bin && sio_binary_active(c->bin) ? util_rcbuf_copy(data, len) : NULL;
        int r = att ? sio_binary_add(c->bin, att) : SIO_EPROTO;
        if (att) util_rcbuf_unref(att);
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
    sio_client *c = eio_socket_get_data(e);
    if (!c) return;
    sio_client_set_eio(c, NULL);
    eio_socket_set_data(e, NULL);
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
    if (!srv->opts.max_namespaces_per_client)
        srv->opts.max_namespaces_per_client = DEFAULT_MAX_NAMESPACES_PER_CLIENT;
    if (!srv->opts.max_dynamic_namespaces)
        srv->opts.max_dynamic_namespaces = DEFAULT_MAX_DYNAMIC_NAMESPACES;
    if (!srv->opts.max_rooms_per_socket)
        srv->opts.max_rooms_per_socket = DEFAULT_MAX_ROOMS_PER_SOCKET;
    if (!srv->opts.max_rooms) srv->opts.max_rooms = DEFAULT_MAX_ROOMS;
    if (!srv->opts.max_memberships) srv->opts.max_memberships = DEFAULT_MAX_MEMBERSHIPS;
    if (!srv->opts.adapter) srv->opts.adapter = &sio_memory_adapter;
    srv->path = strdup(srv->opts.eio.path);
    srv->client_dir = srv->opts.client_dir ? strdup(srv->opts.client_dir) : NULL;
    srv->opts.eio.path = srv->path;
    srv->opts.client_dir = srv->client_dir;
    eio_callbacks cb = {
        .on_open = on_eio_open, .on_message = on_eio_message, .on_close = on_eio_close};
    srv->eio = eio_server_new(loop, &srv->opts.eio, &cb, srv);
    if (!srv->path || !srv->eio || util_wheel_init(loop, &srv->wheel, SIO_WHEEL_TICK_MS) != 0) {
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

size_t sio_server_namespace_count(const sio_server *srv) {
    return srv->nsps.count;
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
    sio_closed_cb done = srv->done;
    void *ud = srv->done_ud;
    util_map_iter it;
    util_map_iter_init(&it, &srv->nsps);
    for (util_map_entry *e = util_map_iter_next(&it); e; e = util_map_iter_next(&it))
        sio_nsp_free(e->value);
    assert(srv->rooms_charged == 0); /* every room was given back with its adapter */
    assert(srv->memberships == 0);
    util_map_free(&srv->nsps);
    sio_families_free(srv);
    sio_client_js_free(srv);
    util_buf_free(&srv->scratch);
    free(srv->path);
    free(srv->client_dir);
    free(srv);
    if (done) done(ud);
}

/* The server is freed once its sessions and wheel are closed and the
 * application holds no socket any more (a middleware's sio_next, a kept
 * sio_ack or sio_socket_ref): those may still be used after the close. */
static void closed_step(void *ud) {
    sio_server *srv = ud;
    if (--srv->pending_closes == 0 && srv->live_sockets == 0) server_free(srv);
}

void sio_server_socket_freed(sio_server *srv) {
    assert(srv->live_sockets > 0);
    if (--srv->live_sockets == 0 && srv->closing && srv->pending_closes == 0) server_free(srv);
}

static void wheel_closed(uv_handle_t *h) {
    closed_step((char *)h - offsetof(sio_server, wheel.tick));
}

void sio_server_close(sio_server *srv, sio_closed_cb done, void *userdata) {
    if (srv->closing) return;
    srv->closing = 1;
    srv->done = done;
    srv->done_ud = userdata;
    if (srv->http) http_server_off_shutdown(srv->http, on_http_shutdown, srv);
    srv->pending_closes = 2;
    /* closes every session: our on_close disconnects the sockets, synchronously */
    eio_server_close(srv->eio, closed_step, srv);
    util_wheel_close(&srv->wheel, wheel_closed);
}
