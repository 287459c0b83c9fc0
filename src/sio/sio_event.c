/* sio/sio_event.c - events received from clients: dispatch to the handler,
 * lazy arguments, acknowledgements (now or later).
 *
 * An event keeps the decoded packet, whose arguments are still raw JSON text.
 * A handler that forwards or acknowledges them as they are (the chat's relay,
 * an echo) never builds a jansson tree; one that asks (sio_event_args) pays
 * for the parse once.
 */
#include "sio/sio_internal.h"

#include <stdlib.h>
#include <string.h>

void sio_event_dispatch(sio_socket *s, const sio_packet *p, util_rcbuf *const *atts,
                        uint32_t natts) {
    sio_handlers *h = s->nsp->h;
    sio_handler *handler = util_map_get(&h->events, p->name, p->name_len);
    if (!handler || !handler->cb.event) handler = h->any.cb.event ? &h->any : NULL;
    if (!handler) return;
    sio_event ev = {.socket = s, .pkt = p, .atts = atts, .natts = natts};
    sio_socket_ref(s);
    handler->cb.event(s, &ev, handler->userdata);
    sio_socket_unref(s);
    json_decref(ev.args);
    free(ev.name);
}

const char *sio_event_name(const sio_event *ev) {
    sio_event *e = (sio_event *)ev;
    if (!e->name) {
        e->name = malloc(ev->pkt->name_len + 1);
        if (!e->name) return "";
        memcpy(e->name, ev->pkt->name, ev->pkt->name_len);
        e->name[ev->pkt->name_len] = '\0';
    }
    return e->name;
}

size_t sio_event_argc(const sio_event *ev) {
    return ev->pkt->argc;
}

const char *sio_event_args_raw(const sio_event *ev, size_t *len) {
    if (len) *len = ev->pkt->args_len;
    return ev->pkt->args ? ev->pkt->args : "";
}

json_t *sio_event_args(sio_event *ev) {
    if (!ev->args) ev->args = sio_packet_args(ev->pkt, ev->atts, ev->natts);
    return ev->args;
}

json_t *sio_event_arg(sio_event *ev, size_t i) {
    json_t *a = sio_event_args(ev);
    return a ? json_array_get(a, i) : NULL;
}

bool sio_event_wants_ack(const sio_event *ev) {
    return ev->pkt->id != SIO_NO_ID && !ev->acked;
}

static int send_ack(sio_socket *s, uint64_t id, const json_t *args, const char *raw,
                    size_t raw_len) {
    if (s->head.state != SOCK_CONNECTED) return SIO_ECLOSED;
    util_buf *out = &s->nsp->srv->scratch;
    out->len = 0;
    sio_attachments atts = SIO_ATTACHMENTS_INIT;
    int r;
    if (raw)
        r = sio_encode_ack_raw(out, s->nsp->name, s->nsp->name_len, id, raw, raw_len, 0);
    else {
        json_t *empty = args ? NULL : json_array();
        r = sio_encode_ack(out, s->nsp->name, s->nsp->name_len, id, args ? args : empty, &atts);
        json_decref(empty);
    }
    if (r == 0) r = sio_socket_send_packet(s, out, &atts);
    sio_attachments_free(&atts);
    return r;
}

/* A view of the event's binary attachments (free out->items only). */
int sio_event_attachments(const sio_event *ev, sio_attachments *out) {
    *out = (sio_attachments)SIO_ATTACHMENTS_INIT;
    if (!ev->natts) return 0;
    out->items = malloc(ev->natts * sizeof *out->items);
    if (!out->items) return SIO_ENOMEM;
    for (uint32_t i = 0; i < ev->natts; i++)
        out->items[i] = uv_buf_init(ev->atts[i]->data, (unsigned)ev->atts[i]->len);
    out->len = out->cap = ev->natts;
    return 0;
}

int sio_event_ack(sio_event *ev, const json_t *args) {
    if (!sio_event_wants_ack(ev)) return SIO_EINVAL;
    ev->acked = 1;
    return send_ack(ev->socket, ev->pkt->id, args, NULL, 0);
}

int sio_event_ack_raw(sio_event *ev, const char *args, size_t len) {
    if (!sio_event_wants_ack(ev)) return SIO_EINVAL;
    ev->acked = 1;
    /* raw args that carry binary placeholders need their attachments again */
    if (ev->natts && args == ev->pkt->args) {
        util_buf *out = &ev->socket->nsp->srv->scratch;
        out->len = 0;
        int r = sio_encode_ack_raw(out, ev->socket->nsp->name, ev->socket->nsp->name_len,
                                   ev->pkt->id, args, len, ev->natts);
        if (r) return r;
        sio_attachments atts;
        if ((r = sio_event_attachments(ev, &atts)) != 0) return r;
        r = sio_socket_send_packet(ev->socket, out, &atts);
        free(atts.items);
        return r;
    }
    return send_ack(ev->socket, ev->pkt->id, NULL, args ? args : "", args ? len : 0);
}

sio_ack *sio_event_take_ack(sio_event *ev) {
    if (!sio_event_wants_ack(ev)) return NULL;
    sio_ack *a = malloc(sizeof *a);
    if (!a) return NULL;
    ev->acked = 1;
    a->socket = ev->socket;
    a->id = ev->pkt->id;
    sio_socket_ref(a->socket);
    return a;
}

int sio_ack_send(sio_ack *ack, const json_t *args) {
    int r = send_ack(ack->socket, ack->id, args, NULL, 0);
    sio_ack_free(ack);
    return r;
}

int sio_ack_send_raw(sio_ack *ack, const char *args, size_t len) {
    int r = send_ack(ack->socket, ack->id, NULL, args ? args : "", args ? len : 0);
    sio_ack_free(ack);
    return r;
}

void sio_ack_free(sio_ack *ack) {
    if (!ack) return;
    sio_socket_unref(ack->socket);
    free(ack);
}
