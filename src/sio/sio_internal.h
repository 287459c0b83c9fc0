/* sio/sio_internal.h - the Socket.IO layer's private structures, shared by:
 *   sio_server.c     server, attach, Engine.IO callbacks, clients, packet dispatch
 *   sio_namespace.c  namespaces (static and dynamic) and their handler tables
 *   sio_socket.c     sockets: connect (middlewares), emit, acks, rooms, disconnect
 *   sio_event.c      received events: lazy arguments, acknowledgements
 *   sio_broadcast.c  broadcast operators over the adapter
 *   sio_client_js.c  serving the official client bundle
 *
 * Object graph: a sio_client is one Engine.IO session; it holds one
 * sio_socket per namespace it joined. A sio_nsp holds its sockets (by id and in
 * an array for iteration) and its adapter (rooms). Sockets are refcounted:
 * the namespace membership is one reference, ack handles and the
 * application may hold more, so a socket's memory outlives its disconnection
 * until the last reference goes.
 *
 * Re-entrancy: every public call may be made from inside every callback, and
 * may free what the callback is about. The rules that make this hold:
 *   - a socket's state becomes SOCK_DISCONNECTED before any application code
 *     runs for its disconnection, and nothing acts on a disconnected socket
 *     again (closing it, sending, joining), so a nested close is a no-op;
 *   - a socket stays on its client's list until its close has finished (its
 *     eio pointer is kept current meanwhile), but the loops that close every
 *     socket of a client pick the first socket still live, so a socket in the
 *     middle of its own close never stops them;
 *   - whoever runs application code holds a reference to what it uses
 *     afterwards (socket, client, namespace, broadcast collector);
 *   - a socket holds a reference to its namespace and counts in the server's
 *     live_sockets: a dynamic namespace is freed with its last socket, and the
 *     server itself (after sio_server_close) only when the application has
 *     dropped its last socket reference.
 */
#ifndef SIO_SIO_INTERNAL_H
#define SIO_SIO_INTERNAL_H

#include "socketio.h"

#include "adapter/adapter.h"
#include "sio/sio_packet.h"
#include "util/buf.h"
#include "util/random.h"
#include "util/map.h"
#include "util/timer_wheel.h"
#include "util/vec.h"

typedef struct sio_client sio_client;
typedef struct sio_nsp sio_nsp;

typedef struct sio_handler {
    union {
        sio_connect_cb connect;
        sio_disconnect_cb disconnect;
        sio_event_cb event;
        sio_middleware_cb middleware;
        sio_server_event_cb server_event;
    } cb;
    void *userdata;
} sio_handler;

typedef UTIL_VEC(sio_handler) sio_handler_list;

/* The handlers of a namespace, or of a family of dynamic namespaces. */
typedef struct sio_handlers {
    sio_handler_list connect, disconnect, middleware;
    util_map events;        /* name -> sio_handler* */
    util_map server_events; /* name -> sio_handler* (sio_on_server_event) */
    sio_handler any;
} sio_handlers;

struct sio_nsp {
    sio_server *srv;
    char *name;
    size_t name_len;
    uint32_t refs;   /* sockets alive, broadcasts being described; +1 for a lasting namespace */
    uint8_t dynamic; /* a child of a dynamic family (counted in srv->ndynamic) */
    sio_handlers own;
    sio_handlers *h;            /* &own, or the family's for a dynamic namespace */
    util_map sockets;           /* id -> sio_socket* (connected) */
    UTIL_VEC(sio_socket *) all; /* the connected sockets, for iteration */
    uint64_t next_ack_id;
    const sio_adapter_ops *adapter_ops; /* srv->opts.adapter's */
    void *adapter;                      /* this namespace's instance */
};

typedef struct sio_family {
    char *parent;
    sio_namespace_match_cb match;
    void *userdata;
    sio_handlers handlers;
} sio_family;

typedef struct sio_pending_ack sio_pending_ack;
typedef struct sio_bcast_ack sio_bcast_ack;

struct sio_pending_ack {
    sio_pending_ack *next;
    sio_socket *socket;
    uint64_t id;
    sio_ack_cb cb;
    void *userdata;
    sio_bcast_ack *bcast; /* set for a broadcast's acknowledgement */
    util_timer timer;
};

struct sio_socket {
    /* first: what a broadcast's walk reads (eio, state) and the adapter's own
     * fields (mark, slot); see adapter.h */
    sio_socket_head head;
    uint8_t indexed; /* counted in client->nsockets and findable by namespace */
    uint32_t refs;
    sio_client *client; /* head.eio is client->eio, kept equal (sio_client_set_eio) */
    uint32_t all_index; /* slot in nsp->all while connected */
    sio_nsp *nsp;
    sio_socket *next_in_client, *prev_in_client;
    char id[24]; /* UTIL_RANDOM_ID_LEN + NUL, rounded up to keep the fields aligned */
    json_t *auth;
    void *data;
    sio_pending_ack *acks;
};
_Static_assert(offsetof(struct sio_socket, head) == 0, "adapters reach the head by a cast");
_Static_assert(offsetof(sio_socket_head, state) < 16, "what the walk reads in 16 bytes");
_Static_assert(sizeof(((struct sio_socket *)0)->id) > UTIL_RANDOM_ID_LEN,
               "room for an id and its NUL");

struct sio_client {
    sio_server *srv;
    eio_socket *eio;
    sio_socket *sockets; /* every socket not yet fully closed (doubly linked) */
    /* Sockets by namespace: a scan of the list while there are few, an
     * open-addressing table (keyed by the namespace pointer, index_mask + 1
     * slots) past SIO_CLIENT_SCAN_MAX; nsockets counts the live ones. */
    sio_socket **index;
    uint32_t nsockets, index_mask;
    sio_binary *bin; /* binary packet being collected; allocated on first use */
    util_timer connect_timer;
    char *headers; /* the handshake's headers: "name\0value\0...\0" */
    char remote[48];
    uint32_t refs;
    uint8_t closed;
    uint8_t joined; /* some namespace was joined */
};

typedef struct sio_client_file {
    const char *url_name; /* "socket.io.js" */
    char *data;
    size_t len;
    char etag[40];
    const char *content_type;
} sio_client_file;

struct sio_server {
    uv_loop_t *loop;
    sio_server_options opts;
    char *path;
    char *client_dir;
    eio_server *eio;
    http_server *http;
    util_map nsps; /* name -> sio_nsp* */
    UTIL_VEC(sio_family *) families;
    util_wheel wheel;
    uint32_t ndynamic;     /* live dynamic child namespaces */
    size_t rooms_charged;  /* rooms of every namespace's adapter, as max_rooms counts them */
    size_t memberships;    /* room memberships of every socket (max_memberships) */
    size_t live_sockets;   /* sockets allocated and not yet freed */
    unsigned broadcasting; /* inside an adapter's broadcast walk (nothing may be freed) */
    int closing;
    util_buf scratch; /* reused encode buffer for the hot path */
    sio_client_file files[6];
    unsigned nfiles;
    sio_closed_cb done;
    void *done_ud;
    unsigned pending_closes;
};

struct sio_event {
    sio_socket *socket;
    const sio_packet *pkt;
    util_rcbuf *const *atts;
    uint32_t natts;
    json_t *args;
    char *name; /* NUL-terminated copy, made on demand */
    uint8_t acked;
};

struct sio_ack {
    sio_socket *socket;
    uint64_t id;
};

struct sio_next {
    sio_socket *socket;
    unsigned index;
};

/* A client looks its sockets up by scanning its list up to this many. */
/* The longest namespace name that a dynamic namespace family is asked about:
 * a longer unknown name is refused ("Invalid namespace") without creating
 * anything. */
#define SIO_NSP_NAME_MAX 512

#define SIO_CLIENT_SCAN_MAX 8

/* sio_namespace.c */
sio_nsp *sio_nsp_get(sio_server *srv, const char *name, size_t len, int create);
sio_handlers *sio_handlers_for(sio_server *srv, const char *nsp, int create);
void sio_nsp_free(sio_nsp *nsp);
void sio_families_free(sio_server *srv);
/* Finds or, for a name a dynamic family accepts, creates the namespace a
 * client asked for. NULL with *err: SIO_ENOTFOUND (no such namespace),
 * SIO_ETOOBIG (max_dynamic_namespaces live already) or SIO_ENOMEM. A new
 * dynamic namespace has no reference yet: the caller takes one (a socket) or
 * calls sio_nsp_release. */
sio_nsp *sio_nsp_resolve(sio_server *srv, const char *name, size_t len, int *err);
void sio_nsp_ref(sio_nsp *nsp);
/* Drops a reference; a dynamic namespace left with none is removed and freed
 * (unless the server keeps them: cleanup_empty_child_namespaces 0). */
void sio_nsp_unref(sio_nsp *nsp);
/* Frees a namespace sio_nsp_resolve made and nobody took (refs 0). */
void sio_nsp_release(sio_nsp *nsp);
int sio_nsp_add_socket(sio_nsp *nsp, sio_socket *s);
void sio_nsp_remove_socket(sio_nsp *nsp, sio_socket *s);

/* sio_socket.c */
/* A new socket of nsp, not connected, one reference (the caller's); takes a
 * reference to nsp and counts in srv->live_sockets. */
sio_socket *sio_socket_new(sio_nsp *nsp);
void sio_socket_connect(sio_client *c, sio_nsp *nsp, json_t *auth);
void sio_socket_close(sio_socket *s, const char *reason, int send_packet);
int sio_socket_send_packet(sio_socket *s, const util_buf *text, const sio_attachments *atts);
void sio_socket_handle_ack(sio_socket *s, const sio_packet *p, util_rcbuf *const *atts,
                           uint32_t natts);
sio_pending_ack *sio_ack_register(sio_socket *s, uint64_t id, sio_ack_cb cb, void *ud,
                                  uint32_t timeout_ms, sio_bcast_ack *bcast);

/* sio_event.c */
void sio_event_dispatch(sio_socket *s, const sio_packet *p, util_rcbuf *const *atts,
                        uint32_t natts);

/* A view of an event's binary attachments; free out->bufs (only) afterwards. */
int sio_event_attachments(const sio_event *ev, sio_attachments *out);

/* sio_broadcast.c */
void sio_bcast_ack_answer(sio_bcast_ack *b, int err, json_t *args);

/* sio_server.c */
void sio_client_close(sio_client *c, const char *reason);
/* The client's socket list and namespace index. */
int sio_client_add_socket(sio_client *c, sio_socket *s);
void sio_client_unindex_socket(sio_client *c, sio_socket *s); /* findable no more */
void sio_client_remove_socket(sio_client *c, sio_socket *s);  /* off the list */
/* The first socket of c not disconnected (or being disconnected), or NULL. */
sio_socket *sio_client_first_live(sio_client *c);
/* The last socket reference is gone: frees the server if it is closed. */
void sio_server_socket_freed(sio_server *srv);
/* Sets c->eio and the copy every socket of c keeps. */
void sio_client_set_eio(sio_client *c, eio_socket *e);
void sio_client_unref(sio_client *c);

/* sio_client_js.c */
int sio_client_js_attach(sio_server *srv);
void sio_client_js_free(sio_server *srv);

#endif
