/* eio/eio_internal.h - the Engine.IO layer's private structures, shared by:
 *   eio_server.c     options, request routing, handshake, CORS and errors, the server's life
 *   eio_session.c    sessions: lifetime, output queue, heartbeat, incoming packets
 *   eio_polling.c    the long-polling transport (GET answers, POST payloads)
 *   eio_websocket.c  the WebSocket transport, and the upgrade from polling to it
 *
 * A session's outgoing packets are refcounted buffers. A message is built
 * once as a complete WebSocket frame ("4" + data behind a frame header,
 * see eio_msg_new): WebSocket sessions queue that frame as it is; polling
 * sessions queue the same buffer and use the bytes after the header. Polling
 * output is batched: a session with output and a waiting GET is answered by a
 * uv_check handle at the end of the loop iteration (eio_flush_all), so every
 * packet queued in one iteration leaves in one HTTP response.
 *
 * A session is freed as soon as it closes, unless a callback into the
 * application is on the stack (s->busy): then it is freed when that unwinds.
 */
#ifndef SIO_EIO_INTERNAL_H
#define SIO_EIO_INTERNAL_H

#include "socketio/eio.h"
#include "socketio/ws.h"

#include "eio/eio_packet.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/random.h"
#include "util/timer_wheel.h"
#include "util/vec.h"
#include "ws/ws_frame.h"

enum { T_POLLING = 0, T_WEBSOCKET = 1 };
/* S_DRAINING: closed by the server, kept (in the table, with its queue) until
 * the polling client's GETs have taken what was queued, then the close packet */
enum { S_OPEN = 0, S_CLOSED = 1, S_DRAINING = 2 };
enum { HB_INTERVAL = 0, HB_WAIT_PONG = 1 };
/* upgrade states: no probe; a probe websocket is open; its "2probe" was answered */
enum { UP_NONE = 0, UP_PROBING = 1, UP_PROBED = 2 };

/* A public eio_msg is that frame in a util_rcbuf: struct eio_msg is never
 * defined, so the public type stays distinct from ws_frame and http_body, and
 * these two convert between the views of one pointer. Inside the layer,
 * messages are util_rcbuf (and go to ws_send_frame through ws_frame_from_buf,
 * ws/ws_frame.h). */
static inline util_rcbuf *eio_msg_buf(eio_msg *m) {
    return (util_rcbuf *)(void *)m;
}
static inline eio_msg *eio_msg_from_buf(util_rcbuf *b) {
    return (eio_msg *)(void *)b;
}

/* message flags (util_rcbuf.flags): frame header length, binary bit */
#define MSG_HDR(m) ((m)->flags & 0xff)
#define MSG_BINARY 0x100

typedef struct eio_qent {
    util_rcbuf *buf;
    uint32_t off;
    uint32_t binary;
} eio_qent;

/* What a queued packet costs a polling session: its buffer's block and its
 * queue entry (a shared broadcast buffer is charged to every session holding
 * it: each could be the last to let go). */
#define QENT_COST(len) (util_rcbuf_cost(len) + sizeof(eio_qent))

/* Sessions from one remote address (max_sessions_per_ip). */
struct eio_ip {
    size_t count;
    size_t len;
    char addr[];
};

struct eio_socket {
    /* what sending reads (session_send), in the first 16 bytes: never split
     * across two cache lines, even at malloc's 16-byte alignment */
    ws_conn *ws; /* the websocket transport */
    uint8_t protocol;
    uint8_t transport;
    uint8_t state;
    uint8_t hb;
    uint8_t dirty;
    uint8_t upgrading;
    uint8_t b64; /* v3 polling client that cannot take binary payloads */
    uint8_t busy;
    uint8_t overflow;      /* polling output over the limit with no GET: closed at the flush */
    uint8_t client_closed; /* the client sent a close packet */
    eio_server *srv;
    struct eio_ip *ip; /* the remote address's session count */
    uint64_t deadline; /* loop time (ms) past which the heartbeat has failed, 0: none */
    size_t charged;    /* memory the polling queue holds (QENT_COST), also in srv->budget */
    util_timer hb_timer;
    util_timer up_timer;
    char sid[24];   /* UTIL_RANDOM_ID_LEN + NUL, rounded up to keep the fields aligned */
    http_req *poll; /* a GET waiting for packets */
    ws_conn *probe; /* a websocket being upgraded to */
    UTIL_VEC(eio_qent) q;
    size_t qbytes;
    void *ud;
    eio_socket *dirty_next;
};
_Static_assert(sizeof(((struct eio_socket *)0)->sid) > UTIL_RANDOM_ID_LEN,
               "room for an id and its NUL");

struct eio_server {
    uv_loop_t *loop;
    eio_options opts;
    eio_callbacks cb;
    void *ud;
    char *path;
    char *cookie;
    char *cors_origin, *cors_methods, *cors_headers;
    http_server *http;
    ws_server *ws;
    util_map sessions;
    util_wheel wheel;
    uv_check_t flush;
    eio_socket *dirty;
    size_t max_queue_bytes; /* a polling session's output limit (4 x the WebSocket one) */
    sio_budget budget;      /* all queued output, polling and WebSocket (max_buffered_bytes) */
    util_map ips;           /* remote address -> struct eio_ip, for max_sessions_per_ip */
    int closing;
    size_t live; /* sessions allocated and not yet freed (closed ones may wait for a callback) */
    unsigned handles;
    eio_closed_cb done;
    void *done_ud;
    /* packets every session sends, built once */
    util_rcbuf *m_ping, *m_pong, *m_close, *m_probe;
};

/* eio_session.c */
util_rcbuf *eio_control_msg(const char *text);
eio_socket *eio_session_new(eio_server *srv, http_req *req, int protocol, int transport);
void eio_session_free(eio_socket *s);
/* Closes the session for `reason` (see the function). */
void eio_session_close(eio_socket *s, const char *reason);
/* Ends a stretch of work on s begun with s->busy++; frees it if it closed meanwhile. */
void eio_session_release(eio_socket *s);
void eio_session_discard(eio_socket *s);
void eio_session_mark_dirty(eio_socket *s);
int eio_queue_push(eio_socket *s, util_rcbuf *buf, uint32_t off, int binary);
void eio_queue_clear(eio_socket *s);
/* Sends message m (a shared WebSocket frame, its Engine.IO packet from off)
 * on c: the frame as it is, or for a v3 binary packet its type byte and the
 * payload. */
int eio_ws_send(eio_socket *s, ws_conn *c, util_rcbuf *m, uint32_t off, bool binary);
/* Sends the queued messages on c (an upgrade or a WebSocket handshake) and
 * empties the queue. */
void eio_queue_to_ws(eio_socket *s, ws_conn *c);
void eio_ip_release(eio_server *srv, struct eio_ip *ip);
void eio_hb_arm(eio_socket *s);
/* Handles one packet from either transport; returns 0, or -1 if the session closed. */
int eio_session_packet(eio_socket *s, const eio_packet *p);
/* The uv_check callback: answers waiting GETs, closes overflowed sessions, frees closed ones. */
void eio_flush_all(uv_check_t *h);

/* eio_polling.c */
void eio_poll_respond(eio_socket *s, int with_close);
void eio_polling_get(eio_socket *s, http_req *req);
void eio_polling_post(eio_socket *s, http_req *req);
/* A request for a session the server closed and that drains its queue. */
void eio_polling_draining(eio_socket *s, http_req *req, int websocket);
void eio_body_too_large(http_req *req, void *ud);

/* eio_websocket.c */
/* Accepts the WebSocket of a session that starts on it (NULL on failure). */
ws_conn *eio_websocket_accept(eio_socket *s, http_req *req);
/* A WebSocket with the sid of an existing session: the probe of an upgrade. */
void eio_websocket_upgrade(eio_socket *s, http_req *req);

/* eio_server.c */
void eio_cors_headers(eio_server *srv, http_req *req);
void eio_send_error(eio_server *srv, http_req *req, int code);
void eio_server_maybe_done(eio_server *srv);

#endif
