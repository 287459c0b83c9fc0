/* ws/ws_internal.h - the WebSocket layer's private structures, shared by:
 *   ws_server.c  the context: options, the flush scheduling of all its
 *                connections, shutdown
 *   ws_conn.c    a connection: reading and parsing, the output queue, the
 *                close handshake
 *   ws_accept.c  taking a connection from the HTTP server: the handshake
 *                check and the 101 answer
 *
 * Output: every frame to send is a refcounted buffer appended to the
 * connection's queue, and the connection is put on its server's dirty list.
 * A uv_check handle flushes the dirty list once per loop iteration
 * (ws_flush_all): all frames queued for a connection during the iteration go
 * out with one uv_try_write (writev), and only what the kernel did not take
 * is handed to uv_write with a request that keeps the references until it
 * completes. When output waits on many connections after a turn that read
 * input, the flush is put off for up to WS_DEFER_MAX_TURNS non-blocking polls
 * while more input keeps coming, so each writev carries several frames. A
 * broadcast frame is therefore encoded once and never copied per recipient.
 * A connection whose unwritten output passes max_queue_bytes is cut off: a
 * slow reader never grows the server's memory without bound.
 */
#ifndef SIO_WS_INTERNAL_H
#define SIO_WS_INTERNAL_H

#include "socketio/ws.h"

#include "http/http_internal.h"
#include "util/buf.h"
#include "util/timer_wheel.h"
#include "util/vec.h"
#include "ws/ws_deflate.h"
#include "ws/ws_parser.h"

#define WS_WRITEV_MAX 64
#define WS_DEFER_MIN_CONNS 64
#define WS_DEFER_MAX_TURNS 4

/* What a queued frame really costs: its block (a 2-byte pong takes a 128-byte
 * pool block) and its slot in the queue. Output limits charge this, not the
 * frame's length: a peer that makes the server queue many tiny frames (pongs
 * to a ping flood) is cut off at the same memory as one that queues big ones. */
#define WS_FRAME_COST(len) (util_rcbuf_cost(len) + sizeof(util_rcbuf *))

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

struct ws_server {
    uv_loop_t *loop;
    ws_options opts;
    ws_parser_config parser_cfg;
    util_wheel wheel;
    uv_check_t flush;
    uv_idle_t defer;  /* active while a flush waits: makes the next poll non-blocking */
    ws_conn *dirty;   /* linked through dirty_next / dirty_pprev */
    uint32_t ndirty;  /* connections on the dirty list */
    uint32_t reads;   /* reads since the last check */
    uint8_t deferred; /* consecutive checks that put the flush off */
    uint32_t turn;    /* loop turns seen by flush_all */
    ws_conn *conns;   /* all open connections, for ws_server_close */
    size_t nconns;
    size_t nclosing; /* connections whose TCP handle is still closing */
    int closing;
    unsigned handles_open;
    ws_closed_cb done;
    void *done_ud;
};

struct ws_conn {
    /* what queueing and flushing read, in the first cache line (and the
     * whole structure in 256 bytes: it is allocated cache-line aligned) */
    ws_server *srv;
    uv_tcp_t *tcp;
    UTIL_VEC(util_rcbuf *) q; /* queued frames, oldest first */
    size_t qbytes;            /* bytes in q */
    size_t inflight;          /* bytes handed to uv_write and not completed */
    size_t charged;           /* memory the queued and in-flight frames hold (WS_FRAME_COST) */
    ws_conn *dirty_next;      /* the flush list */
    ws_conn **dirty_pprev;    /* the pointer that points at this one on the flush list */
    uint8_t state;
    unsigned dirty : 1;  /* on the flush list */
    unsigned cutoff : 1; /* a slow reader: closed at the next flush, takes nothing more */
    unsigned close_after_flush : 1; /* close TCP once the queue is written */
    unsigned reported : 1;          /* on_close was called */
    unsigned linger : 1; /* failed: half-close once flushed, then discard input until EOF */
    unsigned shut : 1;   /* the write side was shut down (uv_shutdown) */
    uint16_t close_code;
    uint32_t qturn; /* the loop turn (ws_server.turn) in which q last became non-empty */
    ws_parser parser;
    ws_deflate *deflate;
    const ws_callbacks *cb;
    void *ud;
    ws_conn *prev, *next;
    util_timer timer;
    char *leftover;    /* bytes that came with the handshake */
    http_server *http; /* the server the socket was taken from (http_server_socket_closed) */
    size_t in_charged; /* the parser's buffer, charged to http's input total */
    uint32_t leftover_len;
    uint32_t pong_slot; /* 1 + the queue index of a pong not yet written, or 0 */
};

typedef struct ws_write_req {
    uv_write_t w;
    ws_conn *c;
    size_t bytes;
    size_t charged; /* the frames' WS_FRAME_COST, and this request's own size */
    uint32_t n;
    util_rcbuf *bufs[];
} ws_write_req;

/* ws_conn.c */
/* Queues a frame (a reference to it) on c; 0, or SIO_ECLOSED, SIO_EBUSY (cut off), SIO_ENOMEM. */
int ws_conn_enqueue(ws_conn *c, util_rcbuf *f);
/* Writes what is queued: try_write first, uv_write for the rest. */
void ws_conn_flush(ws_conn *c);
/* Closes the TCP connection now; reports `code` if nothing was reported yet. */
void ws_conn_destroy(ws_conn *c, int code, const char *reason);
void ws_conn_unmark_dirty(ws_conn *c);
/* Parses input that came with the handshake, or from a read. */
void ws_conn_feed(ws_conn *c, uint8_t *data, size_t len);
/* The parser callbacks every connection of a server uses. */
void ws_conn_parser_config(ws_parser_config *cfg, size_t max_message_size);

/* ws_server.c */
/* The uv_check callback that writes the output of every dirty connection. */
void ws_flush_all(uv_check_t *h);
/* Frees the server once it is closing and its last connection is gone. */
void ws_server_maybe_done(ws_server *ws);

#endif
