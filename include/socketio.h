/** @file socketio.h
 * the public API of socketio-c: a Socket.IO v5 server in C.
 *
 * The shape follows python-socketio, which this project grew from:
 *
 *     Python (socketio.AsyncServer)               socketio-c
 *     sio = socketio.AsyncServer()                sio_server *sio = sio_server_new(loop, &opts);
 *     app = web.Application()                     http_server *app = http_server_new(loop, &hopts);
 *     sio.attach(app)                             sio_attach(sio, app);
 *     @sio.on('msg', namespace='/chat')           sio_on(sio, "/chat", "msg", handler, userdata);
 *     await sio.emit('ev', data, to=room)         sio_emit_to(sio, "/chat", room, NULL, "ev", args);
 *     sio.enter_room(sid, room)                   sio_join(socket, room);
 *     await sio.disconnect(sid, namespace='/chat')
 *                                                 sio_disconnect(sio, "/chat", sid);
 *
 * Everything runs on one libuv loop; handlers are plain callbacks. JSON values
 * are jansson values (json_t); binary data inside them are blobs
 * (sio_blob_new / sio_blob_get). Functions return 0 or a negative error code
 * (sio_strerror names it), libuv style. A namespace argument of NULL means
 * the main namespace "/" in every function that takes one.
 *
 * The lower layers have headers of their own, included here:
 *   socketio/common.h  error codes, logging
 *   socketio/http.h    the HTTP/1.1 server ("the web app"), static files
 *   socketio/ws.h      WebSocket connections
 *   socketio/eio.h     the Engine.IO server
 */
#ifndef SOCKETIO_H
#define SOCKETIO_H

#include "socketio/common.h"
#include "socketio/eio.h"
#include "socketio/http.h"
#include "socketio/ws.h"

#include <jansson.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The Socket.IO server. */
typedef struct sio_server sio_server;
/** One client's connection to one namespace. */
typedef struct sio_socket sio_socket;
/** An event received from a client, with its arguments (see sio_event_*). */
typedef struct sio_event sio_event;
/** A pending acknowledgement owed to a client (see sio_event_take_ack). */
typedef struct sio_ack sio_ack;
/** A broadcast being described: which sockets, with which flags (see sio_broadcast_*). */
typedef struct sio_broadcast sio_broadcast;
/** A middleware's decision handle (see sio_use). */
typedef struct sio_next sio_next;
/** Where rooms live and how broadcasts reach other servers (see sio_server_options.adapter). */
typedef struct sio_adapter sio_adapter;

/* ---- the server -------------------------------------------------------------------- */

/** Options, named as in the reference server; start from sio_server_options_init(). */
typedef struct sio_server_options {
    eio_options eio;          /**< Engine.IO options; eio.path defaults to "/socket.io/" */
    uint32_t connect_timeout; /**< `connectTimeout` ms: no namespace joined -> close (45000) */
    bool serve_client;        /**< `serveClient`: serve the client at {path}socket.io.js (true) */
    const char *client_dir;   /**< where socket.io-client's dist/ is (default: see sio_attach) */
    uint32_t max_attachments; /**< binary attachments per packet, more closes the client (10) */
    /** Namespaces one client connection may be in (or joining) at once; a
     * CONNECT beyond is answered with CONNECT_ERROR "Too many namespaces" and
     * the connection's other namespaces carry on (32; 0: the default) */
    uint32_t max_namespaces_per_client;
    /** Child namespaces of the dynamic families (sio_namespace_dynamic) alive
     * at once, server-wide; a CONNECT that would create one more is answered
     * with CONNECT_ERROR "Too many namespaces" (10000; 0: the default) */
    uint32_t max_dynamic_namespaces;
    /** `cleanupEmptyChildNamespaces`: a dynamic family's child namespace is
     * removed when its last socket is gone (true; false keeps them, up to
     * max_dynamic_namespaces) */
    bool cleanup_empty_child_namespaces;
    /** Rooms a socket may be in, its own id not counted; sio_join beyond
     * fails with SIO_ETOOBIG (1024; 0: the default) */
    uint32_t max_rooms_per_socket;
    /** Distinct rooms alive at once, server-wide (every namespace's in-memory
     * adapter together; a socket's own id is not a room here). A join that
     * would make one more fails with SIO_ETOOBIG; joining a room that exists
     * still works. A room named with len bytes counts as 1 + len / 128
     * rooms, so long names cannot multiply the memory bounded: a room costs
     * 144 B with an 11-byte name and at most ~370 B per count, so the
     * default bounds rooms to ~15-37 MB (100000; 0: the default) */
    uint32_t max_rooms;
    /** Room memberships alive at once, server-wide (a socket in 3 rooms holds
     * 3; its own id not counted). A join beyond fails with SIO_ETOOBIG. A
     * membership costs 24-64 B (the socket's record and index, the room's
     * member slot, arrays doubling), so the default bounds them to ~50-130
     * MB however the application lets clients join (2000000; 0: the
     * default) */
    uint32_t max_memberships;
    /** `adapter`: where the namespaces' rooms live and how broadcasts and
     * fetchSockets & co reach other servers. NULL (the default) is the
     * in-memory adapter: this process only. A multi-server adapter is made by
     * its own constructor, with its own options, and is the application's:
     * it must outlive the server (close it after sio_server_close's done).
     * The server makes one instance of it per namespace, as Node does. */
    sio_adapter *adapter;
} sio_server_options;

/** Fills `o` with the defaults (in parentheses above). */
SIO_EXTERN void sio_server_options_init(sio_server_options *o);

/** Creates a server on `loop`; options copied (NULL for the defaults). NULL on ENOMEM. */
SIO_EXTERN sio_server *sio_server_new(uv_loop_t *loop, const sio_server_options *o);

/**
 * Attaches the server to the web app: serves the protocol at options.eio.path
 * and, with serve_client, the official client bundle (socket.io.js,
 * socket.io.min.js, socket.io.esm.min.js and their .map files, with ETags).
 * The bundle is read from options.client_dir, else $SIO_CLIENT_DIR, else
 * from share/socketio/client where the build installs it: beside the shared
 * library (../share from its lib/) or the program (../share from its bin/),
 * then under the install prefix, last node_modules/socket.io-client/dist of
 * the working directory. The server closes with the app (http_server_shutdown):
 * every socket is disconnected with reason "server shutting down".
 */
SIO_EXTERN int sio_attach(sio_server *sio, http_server *app);

/** Called once a closed sio_server has freed itself (see sio_server_close). */
typedef void (*sio_closed_cb)(void *userdata);

/** Closes every client and frees the server; done (may be NULL) runs at the end. */
SIO_EXTERN void sio_server_close(sio_server *sio, sio_closed_cb done, void *userdata);

/** The Engine.IO server underneath (valid after sio_server_new). */
SIO_EXTERN eio_server *sio_server_engine(sio_server *sio);

/** The number of namespaces that exist now: the declared ones and the live
 * children of dynamic families. */
SIO_EXTERN size_t sio_server_namespace_count(const sio_server *sio);

/* ---- namespaces and handlers ----------------------------------------------------------- */

/** A namespace's connection handler: the socket has joined. */
typedef void (*sio_connect_cb)(sio_socket *s, void *userdata);
/**
 * A socket left, for `reason`: "client namespace disconnect", "server
 * namespace disconnect", "transport close", "transport error", "ping
 * timeout", "parse error", "forced server close" (its client sent a packet
 * for a namespace it had not joined, and was closed) or "server shutting
 * down". The socket is still readable during the call (id, rooms, data) but
 * can no longer emit.
 */
typedef void (*sio_disconnect_cb)(sio_socket *s, const char *reason, void *userdata);
/** An event handler. `ev` and its arguments are valid during the call only. */
typedef void (*sio_event_cb)(sio_socket *s, sio_event *ev, void *userdata);
/**
 * A middleware: runs when a socket connects, before it joins. It must, now or
 * later (asynchronous checks are fine), call sio_next_accept or sio_next_reject
 * exactly once.
 */
typedef void (*sio_middleware_cb)(sio_socket *s, sio_next *next, void *userdata);
/** Chooses dynamic namespaces: return true to accept a namespace name (like io.of(/regex/)). */
typedef bool (*sio_namespace_match_cb)(const char *name, void *userdata);

/** Declares a namespace (handlers may also be added without it). 0 or a negative code. */
SIO_EXTERN int sio_namespace(sio_server *sio, const char *nsp);

/**
 * Declares a family of dynamic namespaces: a client may connect to any name
 * `match` accepts. Handlers registered with sio_on & co. under `parent`
 * (any label that starts with '/', e.g. "/dyn-*") apply to every namespace the
 * match accepts.
 */
SIO_EXTERN int sio_namespace_dynamic(sio_server *sio, const char *parent,
                                     sio_namespace_match_cb match, void *userdata);

/** Adds a connection handler to a namespace (several run in order). */
SIO_EXTERN int sio_on_connect(sio_server *sio, const char *nsp, sio_connect_cb cb, void *userdata);
/** Adds a disconnection handler to a namespace. */
SIO_EXTERN int sio_on_disconnect(sio_server *sio, const char *nsp, sio_disconnect_cb cb,
                                 void *userdata);
/**
 * Adds the handler of an event in a namespace (one per event name; a second replaces the first).
 * @param sio      the server
 * @param nsp      the namespace, e.g. "/chat" (python-socketio's namespace='/chat')
 * @param event    the event name; reserved names ("connect", "disconnect", ...) are refused
 * @param cb       called for each such event
 * @param userdata passed to cb
 * @return 0, SIO_EINVAL or SIO_ENOMEM
 */
SIO_EXTERN int sio_on(sio_server *sio, const char *nsp, const char *event, sio_event_cb cb,
                      void *userdata);
/** Sets the catch-all handler, called for events that have no handler of
 * their own; a second call replaces the first (one per namespace). */
SIO_EXTERN int sio_on_any(sio_server *sio, const char *nsp, sio_event_cb cb, void *userdata);
/** Adds a middleware to a namespace (they run in the order added). */
SIO_EXTERN int sio_use(sio_server *sio, const char *nsp, sio_middleware_cb cb, void *userdata);

/** Lets the connection go on to the next middleware (and then join). */
SIO_EXTERN void sio_next_accept(sio_next *next);
/**
 * Refuses the connection: the client gets CONNECT_ERROR with
 * {"message": message, "data": data} (data may be NULL; it is not stolen).
 */
SIO_EXTERN void sio_next_reject(sio_next *next, const char *message, const json_t *data);

/* ---- events received ------------------------------------------------------------------ */

/** The event's name. */
SIO_EXTERN const char *sio_event_name(const sio_event *ev);
/** The number of arguments. */
SIO_EXTERN size_t sio_event_argc(const sio_event *ev);
/**
 * The arguments as raw JSON text, without the enclosing brackets, exactly as
 * the client sent them (binary arguments appear as placeholders). Forwarding
 * them (sio_emit_raw, sio_event_ack_raw, sio_broadcast_emit_raw) costs no
 * parsing and no re-encoding.
 */
SIO_EXTERN const char *sio_event_args_raw(const sio_event *ev, size_t *len);
/** The arguments as a jansson array, built on the first call; owned by the event. */
SIO_EXTERN json_t *sio_event_args(sio_event *ev);
/** Argument i (borrowed), or NULL. */
SIO_EXTERN json_t *sio_event_arg(sio_event *ev, size_t i);
/** True when the client asked for an acknowledgement. */
SIO_EXTERN bool sio_event_wants_ack(const sio_event *ev);
/** Acknowledges now with `args` (a jansson array, or NULL for none; not stolen). */
SIO_EXTERN int sio_event_ack(sio_event *ev, const json_t *args);
/** Acknowledges with raw JSON argument text (no brackets), e.g. the event's own. */
SIO_EXTERN int sio_event_ack_raw(sio_event *ev, const char *args, size_t len);
/**
 * Keeps the acknowledgement for later (after the handler returns): answer it
 * with sio_ack_send / sio_ack_send_raw, or drop it with sio_ack_free. NULL when
 * the client asked for none.
 */
SIO_EXTERN sio_ack *sio_event_take_ack(sio_event *ev);
/** Answers a kept acknowledgement with `args` (array or NULL; not stolen), then frees it. */
SIO_EXTERN int sio_ack_send(sio_ack *ack, const json_t *args);
/** Answers a kept acknowledgement with raw JSON argument text (no brackets), then frees it. */
SIO_EXTERN int sio_ack_send_raw(sio_ack *ack, const char *args, size_t len);
/** Drops a kept acknowledgement without answering it (NULL is fine). */
SIO_EXTERN void sio_ack_free(sio_ack *ack);

/* ---- sockets ------------------------------------------------------------------------- */

/** The socket's id (per namespace connection, as in Socket.IO v5). */
SIO_EXTERN const char *sio_socket_id(const sio_socket *s);
/** The namespace name. */
SIO_EXTERN const char *sio_socket_nsp(const sio_socket *s);
/** The auth payload of the connection (an object, or NULL); borrowed. */
SIO_EXTERN json_t *sio_socket_auth(const sio_socket *s);
/** The Engine.IO session underneath (shared by the client's namespaces). */
SIO_EXTERN eio_socket *sio_socket_engine(const sio_socket *s);
/** The peer address of the handshake. */
SIO_EXTERN const char *sio_socket_remote_addr(const sio_socket *s);
/** A header of the handshake request (case-insensitive), or NULL. */
SIO_EXTERN const char *sio_socket_header(const sio_socket *s, const char *name);
/** True while connected. */
SIO_EXTERN bool sio_socket_connected(const sio_socket *s);
/** Sets the application's pointer for this socket. */
SIO_EXTERN void sio_socket_set_data(sio_socket *s, void *data);
/** The pointer set with sio_socket_set_data (NULL until then). */
SIO_EXTERN void *sio_socket_get_data(const sio_socket *s);
/** Keeps a disconnected socket's memory alive (for asynchronous work); balance with
 * sio_socket_unref. */
SIO_EXTERN void sio_socket_ref(sio_socket *s);
/** Drops a reference taken with sio_socket_ref; the last one frees the socket. */
SIO_EXTERN void sio_socket_unref(sio_socket *s);

/** Emits `event` to this socket with `args` (a jansson array or NULL; not stolen). */
SIO_EXTERN int sio_emit(sio_socket *s, const char *event, const json_t *args);
/** Emits with raw JSON argument text (no brackets; no binary placeholders). */
SIO_EXTERN int sio_emit_raw(sio_socket *s, const char *event, const char *args, size_t len);
/**
 * Emits a received event's arguments under the name `event`, as they came:
 * raw JSON text and binary attachments alike, with no parsing or re-encoding
 * (an echo or a relay).
 */
SIO_EXTERN int sio_emit_args(sio_socket *s, const char *event, const sio_event *ev);

/**
 * The client's answer to an emit with an acknowledgement: err is 0 with the
 * answer's arguments (a jansson array, borrowed), SIO_ETIMEDOUT when
 * timeout_ms passed first, or SIO_ECLOSED when the socket disconnected.
 */
typedef void (*sio_ack_cb)(sio_socket *s, int err, json_t *args, void *userdata);
/**
 * Emits and asks for an acknowledgement; timeout_ms 0 waits until disconnection.
 * @param s          the socket
 * @param event      the event name
 * @param args       a jansson array or NULL (not stolen)
 * @param timeout_ms how long to wait for the answer, in milliseconds
 * @param cb         called once: with the answer, SIO_ETIMEDOUT or SIO_ECLOSED
 * @param userdata   passed to cb
 * @return 0, or a negative error code (SIO_ECLOSED when not connected); cb is
 *         called only after 0
 */
SIO_EXTERN int sio_emit_with_ack(sio_socket *s, const char *event, const json_t *args,
                                 uint32_t timeout_ms, sio_ack_cb cb, void *userdata);

/**
 * Joins a room. 0 (also when already in it), SIO_ECLOSED when the socket is
 * disconnected, SIO_ETOOBIG when it is in max_rooms_per_socket rooms already
 * or when the room does not exist and max_rooms are alive server-wide, or
 * SIO_ENOMEM.
 */
SIO_EXTERN int sio_join(sio_socket *s, const char *room);
/** Leaves a room. */
SIO_EXTERN int sio_leave(sio_socket *s, const char *room);
/** True if the socket is in the room (its own id counts as a room). */
SIO_EXTERN bool sio_in_room(const sio_socket *s, const char *room);
/** One room of a socket, for sio_socket_rooms; `room` is valid during the call. */
typedef void (*sio_room_cb)(const char *room, void *userdata);
/** Calls cb for each room of the socket (its own id first). */
SIO_EXTERN void sio_socket_rooms(const sio_socket *s, sio_room_cb cb, void *userdata);

/**
 * Disconnects the socket from its namespace ("server namespace disconnect");
 * with close_transport, also closes the whole client connection. As in the
 * reference, a socket that is not connected (in its disconnect handler, or
 * still in the middlewares) is left as it is: the call does nothing.
 */
SIO_EXTERN void sio_socket_disconnect(sio_socket *s, bool close_transport);
/** Disconnects socket `sid` of namespace `nsp` (python-socketio's sio.disconnect;
 * the namespace comes before the id, as in every call that takes both). */
SIO_EXTERN int sio_disconnect(sio_server *sio, const char *nsp, const char *sid);
/** Finds a connected socket by id in a namespace. */
SIO_EXTERN sio_socket *sio_find(sio_server *sio, const char *nsp, const char *sid);

/* ---- broadcasting --------------------------------------------------------------------- */

/**
 * Starts describing a broadcast in a namespace: every socket, narrowed with
 * sio_broadcast_to and sio_broadcast_except, then sent with one of the
 * sio_broadcast_emit* calls, which also free the description (or dropped
 * unsent with sio_broadcast_free). A broadcast is encoded once and the same
 * bytes are queued for every recipient. It names at most 64 rooms with
 * sio_broadcast_to and 64 with sio_broadcast_except: one more (or a NULL
 * room, or an allocation failure) makes it invalid, and its emit then sends
 * nothing and returns SIO_EINVAL.
 */
SIO_EXTERN sio_broadcast *sio_broadcast_new(sio_server *sio, const char *nsp);
/** A broadcast from a socket: its namespace, without the socket itself (socket.broadcast). */
SIO_EXTERN sio_broadcast *sio_socket_broadcast(sio_socket *s);
/** Adds a room to send to (several rooms: their union). */
SIO_EXTERN sio_broadcast *sio_broadcast_to(sio_broadcast *b, const char *room);
/** Adds a room whose sockets are left out. */
SIO_EXTERN sio_broadcast *sio_broadcast_except(sio_broadcast *b, const char *room);
/** Drops the message for sockets that cannot take it right now (volatile). */
SIO_EXTERN sio_broadcast *sio_broadcast_volatile(sio_broadcast *b);
/** Only this server's sockets, even with a multi-server adapter (local). */
SIO_EXTERN sio_broadcast *sio_broadcast_local(sio_broadcast *b);
/** Permessage-deflate wish for this message (compress). */
SIO_EXTERN sio_broadcast *sio_broadcast_compress(sio_broadcast *b, bool compress);
/** Acknowledgement deadline for sio_broadcast_emit_with_ack (timeout). */
SIO_EXTERN sio_broadcast *sio_broadcast_timeout(sio_broadcast *b, uint32_t timeout_ms);

/** Drops a broadcast that will not be sent (NULL does nothing). */
SIO_EXTERN void sio_broadcast_free(sio_broadcast *b);

/** Sends `event` with `args` (array or NULL). Returns the number of recipients, or an error. */
SIO_EXTERN int sio_broadcast_emit(sio_broadcast *b, const char *event, const json_t *args);
/** The same with raw JSON argument text (no binary placeholders). */
SIO_EXTERN int sio_broadcast_emit_raw(sio_broadcast *b, const char *event, const char *args,
                                      size_t len);
/**
 * Broadcasts a received event's arguments under the name `event`, as they
 * came (binary attachments included): the chat's relay, encoded once.
 */
SIO_EXTERN int sio_broadcast_emit_args(sio_broadcast *b, const char *event, const sio_event *ev);

/**
 * The answers to a broadcast with acknowledgements: err 0 when every
 * recipient answered, SIO_ETIMEDOUT when the timeout came first; `responses`
 * (borrowed) holds one array of arguments per answer received.
 */
typedef void (*sio_broadcast_ack_cb)(int err, json_t *responses, void *userdata);
/**
 * Sends `event` with `args` (array or NULL) and asks every recipient for an
 * acknowledgement; `cb` runs once, when all have answered (or disconnected),
 * or when the sio_broadcast_timeout deadline passes; at once when there is no
 * recipient. Returns the number of recipients, or an error.
 */
SIO_EXTERN int sio_broadcast_emit_with_ack(sio_broadcast *b, const char *event, const json_t *args,
                                           sio_broadcast_ack_cb cb, void *userdata);

/** One socket, for sio_broadcast_fetch_sockets. */
typedef void (*sio_socket_cb)(sio_socket *s, void *userdata);
/** Calls cb for every matching socket (fetchSockets); cb may do anything,
 * disconnect included. Returns the count. Like the three calls below, it goes
 * through the server's adapter (sio_server_options.adapter). */
SIO_EXTERN int sio_broadcast_fetch_sockets(sio_broadcast *b, sio_socket_cb cb, void *userdata);
/** Makes every matching socket join `room` (socketsJoin). */
SIO_EXTERN int sio_broadcast_join(sio_broadcast *b, const char *room);
/** Makes every matching socket leave `room` (socketsLeave). */
SIO_EXTERN int sio_broadcast_leave(sio_broadcast *b, const char *room);
/** Disconnects every matching socket (disconnectSockets). */
SIO_EXTERN int sio_broadcast_disconnect(sio_broadcast *b, bool close_transport);

/** The end of an operation that may ask other servers: 0, SIO_ETIMEDOUT or another error. */
typedef void (*sio_done_cb)(int err, void *userdata);

/**
 * The ids of every matching socket on every server of the cluster
 * (fetchSockets, when the ids are what is needed: a socket of another server
 * has no sio_socket here): cb once per socket, this server's first, then
 * done (may be NULL) once: 0 when every server answered, SIO_ETIMEDOUT after
 * the adapter's requests timeout (the ids received are delivered), or
 * another error. With the in-memory adapter both run before the call
 * returns. Returns the number of this server's sockets, or a negative error
 * code (then done is not called).
 */
SIO_EXTERN int sio_broadcast_fetch_ids(sio_broadcast *b, sio_room_cb cb, sio_done_cb done,
                                       void *userdata);

/** The answer another server waits for, to a server-side event (see sio_server_event_cb). */
typedef struct sio_server_reply sio_server_reply;
/**
 * A server-side event that another server of the cluster sent with
 * sio_server_side_emit (Node's `io.on(event, ...)` for `serverSideEmit`):
 * its arguments (a jansson array, borrowed), and `reply` when the sender
 * waits for answers (else NULL), to answer exactly once with
 * sio_server_reply_send, now or later.
 */
typedef void (*sio_server_event_cb)(sio_server *sio, const char *nsp, json_t *args,
                                    sio_server_reply *reply, void *userdata);
/** Sets the handler of a server-side event in a namespace (one per name; a
 * second replaces the first). 0, SIO_EINVAL or SIO_ENOMEM. */
SIO_EXTERN int sio_on_server_event(sio_server *sio, const char *nsp, const char *event,
                                   sio_server_event_cb cb, void *userdata);
/** Answers a server-side event with `answer` (any value, not stolen; NULL is
 * null), and frees the reply. */
SIO_EXTERN int sio_server_reply_send(sio_server_reply *reply, const json_t *answer);
/**
 * Sends `event` with `args` (array or NULL; not stolen) to the namespace's
 * server-side handlers on the other servers of the cluster, not to clients
 * and not to this server (serverSideEmit). Returns the number of servers it
 * went to: 0 with the in-memory adapter, which has no other server.
 */
SIO_EXTERN int sio_server_side_emit(sio_server *sio, const char *nsp, const char *event,
                                    const json_t *args);
/** The answers to sio_server_side_emit_with_ack: err 0 when every other
 * server answered, SIO_ETIMEDOUT when the timeout came first; `answers`
 * (borrowed) holds the answers received, one per server. */
typedef void (*sio_server_answers_cb)(int err, json_t *answers, void *userdata);
/**
 * The same, each other server answering once (serverSideEmitWithAck); cb runs
 * once, when all have answered or after timeout_ms (0: the adapter's default),
 * and at once with no answer when there is no other server (the in-memory
 * adapter). Returns the number of servers asked, or an error (then cb is
 * never called).
 */
SIO_EXTERN int sio_server_side_emit_with_ack(sio_server *sio, const char *nsp, const char *event,
                                             const json_t *args, uint32_t timeout_ms,
                                             sio_server_answers_cb cb, void *userdata);
/**
 * Lists every room of a namespace, on every server of the cluster (allRooms):
 * cb once per room, socket-id rooms included (a name may come once per
 * server that has it), then done (may be NULL) once. With the in-memory
 * adapter both run before the call returns; a multi-server adapter calls done
 * when every server answered, or with SIO_ETIMEDOUT. cb may join and leave.
 * Returns the number of rooms listed so far, or a negative error code (then
 * done is not called).
 */
SIO_EXTERN int sio_namespace_rooms(sio_server *sio, const char *nsp, sio_room_cb cb,
                                   sio_done_cb done, void *userdata);

/** Shortcut: emits to a namespace, to `room` (NULL: everyone) except socket `skip_sid` (may be
 * NULL). */
SIO_EXTERN int sio_emit_to(sio_server *sio, const char *nsp, const char *room, const char *skip_sid,
                           const char *event, const json_t *args);

/* ---- binary data ---------------------------------------------------------------------- */

/** A new binary value (a copy of data) to place in emitted arguments. */
SIO_EXTERN json_t *sio_blob_new(const void *data, size_t len);
/** True when v is binary; then *data and *len describe its bytes (owned by v). */
SIO_EXTERN bool sio_blob_get(const json_t *v, const char **data, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
