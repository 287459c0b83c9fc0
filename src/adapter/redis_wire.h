/* adapter/redis_wire.h - the messages of Node's @socket.io/redis-adapter 8.x
 * (classic pub/sub), encoded and decoded; pure code, no I/O.
 *
 * ../shared/specs/redis-adapter-v8.md records the protocol with captured
 * bytes; the adapter's lib/index.ts is the authority. In short:
 *
 *   channels   KEY#NSP#            broadcasts to all, to several rooms, or
 *                                  with except only (MessagePack)
 *              KEY#NSP#ROOM#       broadcasts to exactly one room
 *              KEY-request#NSP#    requests (JSON; type 7 MessagePack)
 *              KEY-response#NSP#   responses (JSON; type 9 MessagePack), and
 *              KEY-response#NSP#UID#  the same for one requester
 *   broadcast  [uid, {type: 2, data, nsp}, {rooms, except, flags}]
 *   requests   {uid, requestId?, type 0-7, ...} (redis_wire_request)
 *   responses  {type?, requestId, ...} (redis_wire_response)
 *
 * Receiving: request and response payloads are JSON when their first byte
 * is '{', MessagePack otherwise; broadcasts are always MessagePack. Every
 * decoder checks every field it reads and returns SIO_EPROTO for anything
 * malformed (wrong type, truncated, missing field, trailing bytes, nesting
 * past UTIL_JSON_MAX_DEPTH), SIO_ETOOBIG for a payload over the caller's
 * max_bytes (0: no bound), SIO_ENOMEM; *why (may be NULL) is a static text
 * for the log line. Nothing is kept on failure: the structure is left empty
 * and needs no free. Lenient where Node is: a missing packet.nsp is "/", a
 * missing opts.rooms / opts.except / flags is empty, unknown keys and unknown
 * flags are ignored.
 *
 * Names: namespace, room, uid, requestId and socket ids are C strings; one
 * holding a NUL byte is refused. A room that travels as a number (Node lets
 * apps join numbers) is given as its JavaScript text ("5"), as it appears in
 * a channel name.
 *
 * Sending: each encoder appends to a util_buf, key orders as Node writes
 * them, JSON through util_json_write (binary values, sio_blob_new, as
 * Node's JSON.stringify writes a Buffer: {"type":"Buffer","data":[...]}),
 * MessagePack as notepack.io writes it (redis_msgpack.h). The structures
 * below serve both ways: a decoder fills one (pointing into the values it
 * owns), a caller fills one for an encoder (pointing at its own data).
 */
#ifndef SIO_ADAPTER_REDIS_WIRE_H
#define SIO_ADAPTER_REDIS_WIRE_H

#include "util/attr.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The channel prefix when the `key` option is not set. */
#define REDIS_WIRE_DEFAULT_KEY "socket.io"

/* ---- channels ------------------------------------------------------------------------ */
/* key NULL means REDIS_WIRE_DEFAULT_KEY, nsp NULL "/". Each appends the
 * name to out: 0 or SIO_ENOMEM. */

/* KEY#NSP# (room NULL) or KEY#NSP#ROOM#: where a broadcast to exactly one
 * room goes, the namespace channel otherwise. */
UTIL_MUST_USE int redis_wire_broadcast_channel(util_buf *out, const char *key, const char *nsp,
                                               const char *room);
/* KEY#NSP#*: the PSUBSCRIBE pattern of every broadcast channel. */
UTIL_MUST_USE int redis_wire_broadcast_pattern(util_buf *out, const char *key, const char *nsp);
/* KEY-request#NSP#: requests, and the channel PUBSUB NUMSUB counts. */
UTIL_MUST_USE int redis_wire_request_channel(util_buf *out, const char *key, const char *nsp);
/* KEY-response#NSP# (uid NULL) or KEY-response#NSP#UID#. */
UTIL_MUST_USE int redis_wire_response_channel(util_buf *out, const char *key, const char *nsp,
                                              const char *uid);

typedef enum redis_wire_channel_kind {
    REDIS_WIRE_CHANNEL_OTHER = 0, /* not one of this namespace's */
    REDIS_WIRE_CHANNEL_BROADCAST, /* KEY#NSP#...# */
    REDIS_WIRE_CHANNEL_REQUEST,   /* KEY-request#NSP#... */
    REDIS_WIRE_CHANNEL_RESPONSE,  /* KEY-response#NSP#... (the shared one and any uid's) */
} redis_wire_channel_kind;

/* What channel[0, len) is to the namespace nsp under key, as Node tells them
 * apart (by prefix). For a broadcast channel, *room and *room_len (may be
 * NULL) get the room part: everything between KEY#NSP# and the final '#',
 * empty for the namespace channel. A broadcast channel without its final
 * '#' is OTHER. */
redis_wire_channel_kind redis_wire_channel_parse(const char *channel, size_t len, const char *key,
                                                 const char *nsp, const char **room,
                                                 size_t *room_len);

/* ---- the parts of messages ----------------------------------------------------------- */

/* A list of room names (a socket id is a room). */
typedef struct redis_wire_rooms {
    const char *const *names;
    size_t len;
} redis_wire_rooms;

/* Bits of redis_wire_flags.has: which flags the flags map holds. */
enum {
    REDIS_WIRE_FLAG_VOLATILE = 1u << 0,
    REDIS_WIRE_FLAG_COMPRESS = 1u << 1,
    REDIS_WIRE_FLAG_TIMEOUT = 1u << 2,
    REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE = 1u << 3,
};

/* A broadcast's flags. `local` never travels; flags not listed are ignored.
 * A flag whose bit is not in `has` was not given (written: left out; read:
 * compress then means true, as in Node). A flag with a null value is not
 * given; any other value of the wrong type is SIO_EPROTO. */
typedef struct redis_wire_flags {
    unsigned has;
    bool is_volatile;
    bool compress;
    bool expect_single_response; /* set by RemoteSocket#emit */
    uint64_t timeout_ms;         /* broadcast with acks (a fraction is dropped) */
} redis_wire_flags;

/* {rooms, except, flags}: whom a broadcast or a remote operation selects. */
typedef struct redis_wire_opts {
    redis_wire_rooms rooms; /* none: every socket of the namespace */
    redis_wire_rooms except;
    redis_wire_flags flags; /* written only where Node writes flags: broadcasts and type 7 */
} redis_wire_opts;

/* ---- broadcasts (channel KEY#NSP# or KEY#NSP#ROOM#) ---------------------------------- */

typedef struct redis_wire_broadcast {
    const char *uid; /* the sender's; a node drops its own */
    const char *nsp; /* packet.nsp ("/" when missing) */
    json_t *data;    /* packet.data: [event name, args...], binary as blobs */
    redis_wire_opts opts;
    /* owned by a decoded broadcast */
    json_t *root_;
    const char **names_;
} redis_wire_broadcast;

/* Decodes msg[0, len). packet.type must be 2 (EVENT: the only one Node
 * broadcasts; another would reach clients malformed); packet.data an array
 * that starts with the event name. */
UTIL_MUST_USE int redis_wire_broadcast_decode(redis_wire_broadcast *b, const void *msg, size_t len,
                                              size_t max_bytes, const char **why);
/* Appends b as MessagePack: [uid, {type: 2, data, nsp}, {rooms, except, flags}].
 * 0, SIO_EINVAL (no uid or data), SIO_ENOMEM, SIO_ETOOBIG. */
UTIL_MUST_USE int redis_wire_broadcast_encode(util_buf *out, const redis_wire_broadcast *b);
/* Releases what a decode holds; b is empty after (freeing twice is fine). */
void redis_wire_broadcast_free(redis_wire_broadcast *b);

/* ---- requests (channel KEY-request#NSP#) --------------------------------------------- */

/* Request and response types, numbered as Node's RequestType. */
typedef enum redis_wire_type {
    REDIS_WIRE_SOCKETS = 0,           /* legacy; answered {requestId, sockets: [ids]} */
    REDIS_WIRE_ALL_ROOMS = 1,         /* answered {requestId, rooms} */
    REDIS_WIRE_REMOTE_JOIN = 2,       /* socketsJoin: applied by every node, none answers */
    REDIS_WIRE_REMOTE_LEAVE = 3,      /* socketsLeave: as 2 */
    REDIS_WIRE_REMOTE_DISCONNECT = 4, /* disconnectSockets: as 2 */
    REDIS_WIRE_REMOTE_FETCH = 5,      /* fetchSockets: answered {requestId, sockets: [entries]} */
    REDIS_WIRE_SERVER_SIDE_EMIT = 6,  /* answered, when it has a requestId, by type 6 */
    REDIS_WIRE_BROADCAST = 7,         /* broadcast with acks: answered by 8, then 9s */
    REDIS_WIRE_BROADCAST_CLIENT_COUNT = 8,
    REDIS_WIRE_BROADCAST_ACK = 9,
} redis_wire_type;

/* A request. Which fields a type uses:
 *   0  request_id, rooms
 *   1  request_id
 *   2  opts (rooms, except), rooms (to join)      legacy: request_id, sid, room
 *   3  opts (rooms, except), rooms (to leave)     legacy: request_id, sid, room
 *   4  opts (rooms, except), close                legacy: request_id, sid, close
 *   5  request_id, opts (rooms, except)
 *   6  data ([event, args...]); request_id when an answer is wanted
 *   7  request_id, nsp and data (its packet), opts (rooms, except, flags)
 * The legacy per-socket forms of 2-4 (sid set, no opts) are still read and
 * answered by Node 8.x but not sent by it; they are answered {requestId}. */
typedef struct redis_wire_request {
    redis_wire_type type;
    const char *uid;
    const char *request_id; /* NULL: none */
    redis_wire_opts opts;
    redis_wire_rooms rooms;
    bool close;
    json_t *data;
    const char *nsp;
    const char *sid;  /* legacy forms: the one socket */
    const char *room; /* legacy 2, 3 */
    bool msgpack;     /* decoded from MessagePack (type 7 is always written so) */
    /* owned by a decoded request */
    json_t *root_;
    const char **names_;
} redis_wire_request;

/* Decodes msg[0, len): JSON when it starts with '{', MessagePack otherwise.
 * A type Node does not send as a request (8, 9, or none) is SIO_EPROTO;
 * so is a field a type needs that is missing or of the wrong type. */
UTIL_MUST_USE int redis_wire_request_decode(redis_wire_request *q, const void *msg, size_t len,
                                            size_t max_bytes, const char **why);
/* Appends q as Node writes it: JSON for 0-6, MessagePack for 7.
 * 0, SIO_EINVAL (a field the type needs is missing), SIO_ENOMEM. */
UTIL_MUST_USE int redis_wire_request_encode(util_buf *out, const redis_wire_request *q);
void redis_wire_request_free(redis_wire_request *q);

/* ---- responses (channel KEY-response#NSP# or KEY-response#NSP#UID#) ------------------- */

/* A response. Node matches it to its request by request_id alone; which
 * fields count follows from the request's type:
 *   answer to 0    type -1, sockets (array of ids)
 *   answer to 1    type -1, has_rooms, rooms
 *   answer to 5    type -1, sockets (array of entries: redis_wire_socket_decode)
 *   legacy 2-4     type -1, nothing else
 *   6              data (the first ack argument; null when missing)
 *   8              client_count (clients that got the broadcast with acks)
 *   9              packet (one client's first ack argument; may hold blobs)
 * For encoding, a type -1 response carries sockets if set, else rooms if
 * has_rooms, else nothing. */
typedef struct redis_wire_response {
    int type; /* -1: none, or 6, 8, 9 */
    const char *request_id;
    json_t *sockets; /* NULL: none */
    bool has_rooms;
    redis_wire_rooms rooms;
    json_t *data;
    uint64_t client_count;
    json_t *packet;
    bool msgpack; /* decoded from MessagePack (type 9 is always written so) */
    /* owned by a decoded response */
    json_t *root_;
    const char **names_;
} redis_wire_response;

/* Decodes msg[0, len): JSON when it starts with '{', MessagePack otherwise.
 * requestId must be a string; `sockets` and `rooms`, when there, arrays (of
 * strings or objects, of rooms); clientCount a non-negative integer. */
UTIL_MUST_USE int redis_wire_response_decode(redis_wire_response *r, const void *msg, size_t len,
                                             size_t max_bytes, const char **why);
/* Appends r as Node writes it: JSON, except type 9 in MessagePack.
 * 0, SIO_EINVAL (no request_id, or a type other than -1, 6, 8, 9), SIO_ENOMEM. */
UTIL_MUST_USE int redis_wire_response_encode(util_buf *out, const redis_wire_response *r);
void redis_wire_response_free(redis_wire_response *r);

/* ---- fetchSockets entries (the `sockets` of an answer to type 5) ---------------------- */

/* socket.handshake as Node's fetchSockets sends it. Missing fields read as
 * NULL / false / 0; present ones must have these types. */
typedef struct redis_wire_handshake {
    json_t *headers;     /* object */
    const char *time;    /* Date#toString() text, free-form */
    const char *address; /* the client's address */
    bool xdomain;
    bool secure;
    int64_t issued;  /* ms since the epoch */
    const char *url; /* the request's path and query */
    json_t *query;   /* object */
    json_t *auth;    /* object */
} redis_wire_handshake;

/* {id, handshake, rooms, data}: one socket of a fetchSockets answer. */
typedef struct redis_wire_socket {
    const char *id;
    redis_wire_handshake handshake;
    redis_wire_rooms rooms; /* its rooms, its own id among them */
    json_t *data;           /* socket.data (null when missing) */
    /* owned by a decoded entry */
    const char **names_;
} redis_wire_socket;

/* Reads one entry (the values stay owned by entry, which must outlive s).
 * 0, SIO_EPROTO, SIO_ENOMEM. */
UTIL_MUST_USE int redis_wire_socket_decode(redis_wire_socket *s, const json_t *entry,
                                           const char **why);
/* A new entry object: {id, handshake: {headers, time, address, xdomain,
 * secure, issued, url, query, auth}, rooms, data}, NULL values written as
 * {} (objects), "" (strings) and null (data). NULL when out of memory. */
json_t *redis_wire_socket_new(const redis_wire_socket *s);
void redis_wire_socket_free(redis_wire_socket *s);

#endif
