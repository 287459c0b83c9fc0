/* adapter/adapter.h - the adapter interface: rooms and broadcast fan-out.
 *
 * As in the Node server, a namespace does not know where its sockets' rooms
 * live: it asks its adapter, a table of functions. The in-memory adapter
 * (memory.c) keeps rooms in this process; a multi-server adapter (Redis)
 * implements the same table and also forwards broadcasts to the other
 * servers. Nothing in src/sio/ changes when the adapter does.
 *
 * A socket's own id is a room that every adapter answers for without storing
 * it (it is the socket), so an idle socket costs the adapter nothing.
 */
#ifndef SIO_ADAPTER_H
#define SIO_ADAPTER_H

#include "socketio.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sio_nsp sio_nsp;

/* Per socket, per room joined: where the socket sits in the room. */
typedef struct sio_adapter_membership {
    void *room;
    uint32_t index;
} sio_adapter_membership;

/* Which sockets a broadcast or a fetch reaches. */
typedef struct sio_bcast_target {
    const char *const *rooms; /* none: every socket of the namespace */
    size_t nrooms;
    const char *const *except; /* rooms whose sockets are left out */
    size_t nexcept;
    const sio_socket *skip; /* a socket left out (the sender of socket.broadcast) */
    int local;
    int volatile_;
    int compress;
} sio_bcast_target;

/* An encoded packet ready for any number of sockets: the text message and its
 * binary attachments, each an Engine.IO message built once. */
typedef struct sio_prepared {
    eio_msg *msg;
    eio_msg **atts;
    size_t natts;
} sio_prepared;

typedef void (*sio_adapter_each_cb)(sio_socket *s, void *userdata);

typedef struct sio_adapter_ops {
    const char *name;
    void *(*create)(sio_nsp *nsp);
    void (*destroy)(void *adapter);
    int (*join)(void *adapter, sio_socket *s, const char *room);
    int (*leave)(void *adapter, sio_socket *s, const char *room);
    void (*leave_all)(void *adapter, sio_socket *s);
    int (*has)(void *adapter, const sio_socket *s, const char *room);
    void (*rooms_of)(void *adapter, const sio_socket *s, sio_room_cb cb, void *ud);
    /* Calls cb once for each matching local socket; returns how many. */
    size_t (*each)(void *adapter, const sio_bcast_target *t, sio_adapter_each_cb cb, void *ud);
    /* Sends a prepared packet to every matching socket; returns how many. */
    size_t (*broadcast)(void *adapter, const sio_bcast_target *t, const sio_prepared *p);
} sio_adapter_ops;

/* The in-memory adapter. */
extern const sio_adapter_ops sio_memory_adapter;

/* Provided by the Socket.IO layer for adapters: */
/* Queues a prepared packet on one socket (honouring volatile). 1 if sent. */
int sio_socket_send_prepared(sio_socket *s, const sio_prepared *p, int volatile_);

#endif
