/* sio/sio_adapter.c - the core's side of the adapter boundary: what an
 * adapter may ask of the Socket.IO layer (adapter.h, "the core, as an
 * adapter sees it"), apart from delivering a packet (sio_socket.c) and the
 * broadcast-with-ack collector (sio_broadcast.c): encoding a packet once, the
 * namespace's sockets, the server-wide caps on rooms and memberships, and
 * running the application's handler of a server-side event.
 */
#include "sio/sio_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int sio_adapter_prepare(sio_nsp *nsp, const sio_adapter_packet *pkt, uint64_t id, sio_prepared *p) {
    util_buf *out = &nsp->srv->scratch;
    out->len = 0;
    sio_attachments own = SIO_ATTACHMENTS_INIT;
    sio_attachments none = SIO_ATTACHMENTS_INIT;
    const sio_attachments *atts = pkt->raw ? (pkt->atts ? pkt->atts : &none) : &own;
    const char *event = pkt->event;
    int r = pkt->raw ? sio_encode_event_raw(out, nsp->name, nsp->name_len, id, event, strlen(event),
                                            pkt->raw, pkt->raw_len, (uint32_t)atts->len)
                     : sio_encode_event(out, nsp->name, nsp->name_len, id, event, strlen(event),
                                        pkt->args, &own);
    *p = (sio_prepared){.msg = NULL, .atts = p->small, .natts = 0};
    if (!r && atts->len > sizeof p->small / sizeof *p->small &&
        !(p->atts = malloc(atts->len * sizeof *p->atts)))
        r = SIO_ENOMEM;
    if (!r && !(p->msg = eio_msg_new(out->data, out->len, false))) r = SIO_ENOMEM;
    for (size_t i = 0; !r && i < atts->len; i++) {
        eio_msg *a = eio_msg_new(atts->items[i].base, atts->items[i].len, true);
        if (a)
            p->atts[p->natts++] = a;
        else
            r = SIO_ENOMEM;
    }
    sio_attachments_free(&own);
    if (r) sio_adapter_prepared_release(p);
    return r;
}

void sio_adapter_prepared_release(sio_prepared *p) {
    if (p->msg) eio_msg_release(p->msg);
    for (size_t i = 0; i < p->natts; i++) eio_msg_release(p->atts[i]);
    if (p->atts != p->small) free(p->atts);
    *p = (sio_prepared){.atts = p->small};
}

void sio_adapter_nsp_ref(sio_nsp *nsp) {
    sio_nsp_ref(nsp);
}

void sio_adapter_nsp_unref(sio_nsp *nsp) {
    sio_nsp_unref(nsp);
}

uv_loop_t *sio_adapter_loop(const sio_nsp *nsp) {
    return nsp->srv->loop;
}

const char *sio_adapter_nsp_name(const sio_nsp *nsp) {
    return nsp->name;
}

sio_socket *const *sio_adapter_sockets(const sio_nsp *nsp, size_t *n) {
    *n = nsp->all.len;
    return nsp->all.items;
}

sio_socket *sio_adapter_find(const sio_nsp *nsp, const char *id, size_t len) {
    return util_map_get(&nsp->sockets, id, len);
}

int sio_adapter_rooms_charge(sio_nsp *nsp, size_t units) {
    sio_server *srv = nsp->srv;
    size_t max = srv->opts.max_rooms;
    if (srv->rooms_charged > max || units > max - srv->rooms_charged) return SIO_ETOOBIG;
    srv->rooms_charged += units;
    return 0;
}

void sio_adapter_rooms_refund(sio_nsp *nsp, size_t units) {
    assert(nsp->srv->rooms_charged >= units);
    nsp->srv->rooms_charged -= units;
}

int sio_adapter_membership_charge(sio_nsp *nsp) {
    sio_server *srv = nsp->srv;
    if (srv->memberships >= srv->opts.max_memberships) return SIO_ETOOBIG;
    srv->memberships++;
    return 0;
}

void sio_adapter_membership_refund(sio_nsp *nsp) {
    assert(nsp->srv->memberships > 0);
    nsp->srv->memberships--;
}

uint32_t sio_adapter_max_rooms_per_socket(const sio_nsp *nsp) {
    return nsp->srv->opts.max_rooms_per_socket;
}

struct sio_server_reply {
    void (*answer)(json_t *value, void *ud);
    void *ud;
};

bool sio_adapter_server_event(sio_nsp *nsp, const char *event, json_t *args,
                              void (*answer)(json_t *value, void *ud), void *ud) {
    sio_handler *h = util_map_get(&nsp->h->server_events, event, strlen(event));
    if (!h) return false; /* no handler: no answer, as in Node (the sender times out) */
    sio_server_reply *reply = NULL;
    if (answer && (reply = malloc(sizeof *reply))) *reply = (sio_server_reply){answer, ud};
    json_t *none = args ? NULL : json_array();
    sio_nsp_ref(nsp); /* the handler may disconnect a dynamic namespace's last socket */
    h->cb.server_event(nsp->srv, nsp->name, args ? args : none, reply, h->userdata);
    sio_nsp_unref(nsp);
    json_decref(none);
    return reply != NULL;
}

int sio_server_reply_send(sio_server_reply *reply, const json_t *answer) {
    if (!reply) return SIO_EINVAL;
    json_t *null = answer ? NULL : json_null();
    reply->answer(answer ? (json_t *)answer : null, reply->ud);
    json_decref(null);
    free(reply);
    return 0;
}
