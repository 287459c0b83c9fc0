/* adapter/adapter.h - the adapter boundary: rooms, broadcast fan-out and the
 * cluster operations, between the Socket.IO core (src/sio/) and an adapter.
 *
 * As in the Node server, a namespace does not know where its sockets' rooms
 * live: it asks its adapter, a table of functions (sio_adapter_ops). The
 * application picks the adapter in sio_server_options.adapter (NULL: the
 * in-memory one, memory.c); a multi-server adapter (Redis) fills the same
 * table, creates one instance per namespace as Node does, and also forwards
 * broadcasts and requests to the other servers. Nothing in src/sio/ changes
 * when the adapter does.
 *
 * The boundary runs both ways, and this header is all of it:
 *   - the core calls an adapter only through sio_adapter_ops;
 *   - an adapter calls the core only through the sio_adapter_* functions
 *     declared at the end (deliver a prepared packet, find a local socket,
 *     the namespace's sockets, the server-wide room and membership charges,
 *     the broadcast-with-ack collector) and the public API (sio_socket_id,
 *     sio_socket_connected, sio_socket_ref/unref, sio_join...), and reads
 *     and writes a socket only through its head (sio_socket_head).
 * Room membership is the adapter's alone: the core keeps nothing about rooms
 * in a socket except the head's `slot`, which only the adapter uses.
 *
 * A socket's own id is a room that every adapter answers for without storing
 * it (it is the socket), so an idle socket costs the adapter nothing.
 *
 * Timing: room operations (join, leave, has, rooms_of) are synchronous and
 * local, as in Node. Broadcasts deliver to local sockets before returning.
 * The cluster operations (fetch_sockets, sockets_join/leave,
 * disconnect_sockets, server_side_emit, all_rooms) are asynchronous: `done`
 * is called exactly once, when every server answered or after the target's
 * timeout_ms. The in-memory adapter has no other server and completes them
 * before returning (done included); a caller must therefore not rely on
 * running before done, and done may run application code (see each).
 */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include "socketio.h"
#include "sio/sio_packet.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sio_nsp sio_nsp;
typedef struct sio_bcast_ack sio_bcast_ack;

/* A socket's state, as the core sets it (an adapter only reads it). */
enum sio_socket_state { SOCK_CONNECTING, SOCK_CONNECTED, SOCK_DISCONNECTED };

/* The head of every socket (the first member of struct sio_socket): the only
 * part of a socket an adapter touches directly. It holds what a broadcast's
 * walk reads per recipient, so the walk costs what it did when the adapter
 * read the socket itself: the first 16 bytes, never split across two cache
 * lines at malloc's 16-byte alignment. */
typedef struct sio_socket_head {
    eio_socket *eio; /* the core's (read only here): the walk prefetches it */
    uint32_t mark;   /* the adapter's: de-duplication within one walk (0 at creation) */
    uint8_t state;   /* the core's (read only here): enum sio_socket_state */
    void *slot;      /* the adapter's: its record of the socket (NULL at creation) */
} sio_socket_head;

static inline sio_socket_head *sio_socket_head_of(sio_socket *s) {
    return (sio_socket_head *)(void *)s;
}

static inline const sio_socket_head *sio_socket_head_of_const(const sio_socket *s) {
    return (const sio_socket_head *)(const void *)s;
}

/* Which sockets a broadcast, a fetch or a cluster operation reaches, and how:
 * Node's BroadcastOptions (rooms, except, flags). */
typedef struct sio_bcast_target {
    const char *const *rooms; /* none: every socket of the namespace */
    size_t nrooms;
    const char *const *except; /* rooms whose sockets are left out */
    size_t nexcept;
    const sio_socket *skip; /* a socket left out (the sender of socket.broadcast); a
                             * multi-server adapter sends its id in `except` */
    bool local;             /* this server only: nothing is forwarded */
    bool volatile_;
    bool compress;
    uint32_t timeout_ms; /* acks and requests: the deadline (0: the adapter's default) */
} sio_bcast_target;

/* A broadcast's packet as the application gave it, for an adapter that
 * forwards it to other servers and serializes it once in its own format (the
 * Redis adapter: MessagePack). Either args (a jansson array, blobs for binary)
 * or raw (the arguments' JSON text without brackets, its placeholders
 * referring to atts) is set. */
typedef struct sio_adapter_packet {
    const char *event;
    const json_t *args;
    const char *raw;
    size_t raw_len;
    const sio_attachments *atts; /* with raw; NULL: none */
} sio_adapter_packet;

/* An encoded packet ready for any number of local sockets: the text message
 * and its binary attachments, each an Engine.IO message built once. Not to be
 * copied once prepared (atts may point into small). */
typedef struct sio_prepared {
    eio_msg *msg;
    eio_msg **atts;
    size_t natts;
    eio_msg *small[16]; /* as many as max_attachments allows by default, and more */
} sio_prepared;

typedef void (*sio_adapter_each_cb)(sio_socket *s, void *userdata);

typedef struct sio_adapter_ops sio_adapter_ops;

/* An adapter as the application passes it in sio_server_options.adapter: a
 * factory of per-namespace instances. A multi-server adapter embeds it first
 * in its own struct (its connections, key, request timeout...), and finds
 * that struct again in create. It is the application's: it must outlive
 * every server that uses it. */
struct sio_adapter {
    const sio_adapter_ops *ops;
};

struct sio_adapter_ops {
    const char *name;
    /* ---- per namespace ---- */
    /* A new instance for namespace nsp (made when the namespace is); NULL on ENOMEM. */
    void *(*create)(sio_adapter *self, sio_nsp *nsp);
    /* Frees an instance; its namespace has no socket left in any room. An
     * operation still waiting for other servers ends with done(SIO_ECLOSED). */
    void (*destroy)(void *adapter);

    /* ---- rooms of local sockets: synchronous ---- */
    /* 0, SIO_ETOOBIG (a cap: see sio_adapter_rooms_charge) or SIO_ENOMEM. */
    int (*join)(void *adapter, sio_socket *s, const char *room);
    int (*leave)(void *adapter, sio_socket *s, const char *room);
    /* Every room of s, and the socket's record (head.slot) freed: called when
     * s leaves its namespace, after which the adapter holds no pointer to s. */
    void (*leave_all)(void *adapter, sio_socket *s);
    int (*has)(void *adapter, const sio_socket *s, const char *room);
    /* The socket's own id first, then its rooms. */
    void (*rooms_of)(void *adapter, const sio_socket *s, sio_room_cb cb, void *ud);

    /* ---- broadcasting ---- */
    /* Sends p (pkt, encoded once by the core) to every matching local socket
     * and, unless t->local, forwards pkt to the other servers; returns how
     * many local sockets it was queued on. Runs no application code: the core
     * asserts that nothing is freed meanwhile. */
    size_t (*broadcast)(void *adapter, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                        const sio_prepared *p);
    /* The same asking for acknowledgements (p carries the ack id `id`): each
     * local recipient is registered with sio_adapter_ack_wait before p is
     * queued on it; a multi-server adapter announces its servers
     * (sio_adapter_ack_servers) and reports their client counts and answers.
     * Returns the number of local recipients. Runs no application code. */
    size_t (*broadcast_with_ack)(void *adapter, const sio_bcast_target *t,
                                 const sio_adapter_packet *pkt, uint64_t id, const sio_prepared *p,
                                 sio_bcast_ack *acks);

    /* ---- cluster operations: asynchronous (see the top of this file) ---- */
    /* fetchSockets: cb for every matching local socket (connected when cb
     * runs; cb may do anything, disconnect included), then done. Returns the
     * number of local sockets, or a negative code (then done is not called). */
    int (*fetch_sockets)(void *adapter, const sio_bcast_target *t, sio_adapter_each_cb cb,
                         sio_done_cb done, void *ud);
    /* socketsJoin / socketsLeave / disconnectSockets: applied on every server
     * (on this one, possibly only when its own request comes back, as Node's
     * Redis adapter does). Return the number of local sockets affected now. */
    int (*sockets_join)(void *adapter, const sio_bcast_target *t, const char *room);
    int (*sockets_leave)(void *adapter, const sio_bcast_target *t, const char *room);
    int (*disconnect_sockets)(void *adapter, const sio_bcast_target *t, bool close_transport);
    /* serverSideEmit: pkt to the namespace's server-side listeners of the
     * other servers (not to clients). With reply, each answer (borrowed) goes
     * to reply, then done. Returns the number of servers asked. */
    int (*server_side_emit)(void *adapter, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                            void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud);
    /* allRooms: every room of the namespace on every server (socket-id rooms
     * included, as Node lists them; a name may come twice from two servers). */
    int (*all_rooms)(void *adapter, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done,
                     void *ud);
    /* fetchSockets as ids, on every server: cb once per matching socket's id
     * (this server's first), then done. Returns the number of local sockets,
     * or a negative code (then done is not called). NULL: the core lists
     * this server's sockets through fetch_sockets. */
    int (*fetch_ids)(void *adapter, const sio_bcast_target *t, sio_room_cb cb, sio_done_cb done,
                     void *ud);
};

/* The in-memory adapter (what a NULL sio_server_options.adapter means). Its
 * ops are also the local half of a multi-server adapter, which keeps an
 * in-memory instance per namespace for its own sockets, as Node's Redis
 * adapter extends the in-memory one. */
extern sio_adapter sio_memory_adapter;
/* Whether an in-memory instance has a room named room[0, len) (some local
 * socket joined it; a socket's own id is not such a room). */
bool sio_memory_has_room(void *instance, const char *room, size_t len);

/* ---- the core, as an adapter sees it ---- */

/* Queues a prepared packet on one socket, unless it is not connected or (for
 * a volatile broadcast) cannot take it now. 1 if queued. */
int sio_adapter_deliver(sio_socket *s, const sio_prepared *p, bool volatile_);
/* Encodes a packet received from another server once, for local delivery
 * (id: SIO_NO_ID, or the ack id); release with sio_adapter_prepared_release. */
int sio_adapter_prepare(sio_nsp *nsp, const sio_adapter_packet *pkt, uint64_t id, sio_prepared *p);
void sio_adapter_prepared_release(sio_prepared *p);

/* The namespace: its server's loop, its name, its connected local sockets
 * (an array valid until a socket connects or leaves), one by id. */
uv_loop_t *sio_adapter_loop(const sio_nsp *nsp);
/* Keeps a namespace, and so the adapter's instance for it, alive across work
 * that may run application code: a handler that disconnects the last socket
 * of a dynamic namespace frees it (and destroys the instance) otherwise.
 * After sio_adapter_nsp_unref the instance may be gone. */
void sio_adapter_nsp_ref(sio_nsp *nsp);
void sio_adapter_nsp_unref(sio_nsp *nsp);
const char *sio_adapter_nsp_name(const sio_nsp *nsp);
sio_socket *const *sio_adapter_sockets(const sio_nsp *nsp, size_t *n);
sio_socket *sio_adapter_find(const sio_nsp *nsp, const char *id, size_t len);

/* The server-wide caps, every namespace's adapter together (see
 * sio_server_options). rooms: `units` more rooms (a room counts 1 + its
 * name's length / 128), 0 or SIO_ETOOBIG past max_rooms; refund gives them
 * back. membership: one more, 0 or SIO_ETOOBIG past max_memberships. */
int sio_adapter_rooms_charge(sio_nsp *nsp, size_t units);
void sio_adapter_rooms_refund(sio_nsp *nsp, size_t units);
int sio_adapter_membership_charge(sio_nsp *nsp);
void sio_adapter_membership_refund(sio_nsp *nsp);
uint32_t sio_adapter_max_rooms_per_socket(const sio_nsp *nsp);

/* A server-side event from another server (serverSideEmit): runs the
 * namespace's handler (sio_on_server_event) with args (an array, borrowed;
 * NULL: none). With answer, the handler's reply calls answer(value, ud) once,
 * now or later (value borrowed), so ud must outlive the namespace's
 * instance if need be. No handler: nothing happens (the sender times out).
 * Returns whether answer will be called (false: no handler, no answer
 * wanted, or out of memory; ud is then the caller's to free). */
bool sio_adapter_server_event(sio_nsp *nsp, const char *event, json_t *args,
                              void (*answer)(json_t *value, void *ud), void *ud);

/* The collector of a broadcast with acknowledgements: s will answer id
 * (registers it; 0 or SIO_ENOMEM); servers: n more servers will each report
 * a client count; a server's count; a remote client's answer (borrowed).
 * A multi-server adapter that keeps the collector past broadcast_with_ack
 * holds it (hold/release): answers after its end are ignored. */
int sio_adapter_ack_wait(sio_bcast_ack *acks, sio_socket *s, uint64_t id);
void sio_adapter_ack_servers(sio_bcast_ack *acks, size_t n);
void sio_adapter_ack_client_count(sio_bcast_ack *acks, size_t n);
void sio_adapter_ack_answer(sio_bcast_ack *acks, json_t *args);
void sio_adapter_ack_hold(sio_bcast_ack *acks);
void sio_adapter_ack_release(sio_bcast_ack *acks);
/* Another server's broadcast with acks, to this server's sockets of t (as
 * if t->local): each recipient gets its own ack id; cb(err, responses) runs
 * once, when all answered (or disconnected), after t->timeout_ms, or at once
 * (maybe before this returns) when there is no recipient. Returns the number
 * of recipients, or an error (then cb is never called). */
int sio_adapter_broadcast_with_ack(sio_nsp *nsp, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, sio_broadcast_ack_cb cb,
                                   void *userdata);

#endif
