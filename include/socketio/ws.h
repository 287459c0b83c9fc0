/** @file socketio/ws.h
 * WebSocket connections (RFC 6455, permessage-deflate RFC 7692)
 * on connections upgraded from the HTTP server.
 *
 * A ws_server holds what all its connections share: limits, the timer wheel
 * for close handshakes, and the write batching: frames queued on a connection
 * during one loop iteration leave in one writev at the end of it. A frame
 * encoded once (ws_frame_new) can be queued on any number of connections: each
 * takes a reference, nothing is copied.
 */
#ifndef SOCKETIO_WS_H
#define SOCKETIO_WS_H

#include "socketio/common.h"
#include "socketio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A WebSocket context: limits and write batching shared by its connections. */
typedef struct ws_server ws_server;
/** One WebSocket connection. */
typedef struct ws_conn ws_conn;
/** An encoded, refcounted server frame (see ws_frame_new); a type of its own, so that it
 * cannot be passed where an eio_msg or an http_body is expected. */
typedef struct ws_frame ws_frame;

/** Close status codes (RFC 6455 section 7.4.1), for ws_close and on_close. */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,         /**< normal closure */
    WS_CLOSE_GOING_AWAY = 1001,     /**< the server shuts down (or the page goes away) */
    WS_CLOSE_PROTOCOL_ERROR = 1002, /**< a frame broke RFC 6455 */
    WS_CLOSE_UNSUPPORTED = 1003,    /**< a kind of data the endpoint cannot take */
    WS_CLOSE_NO_STATUS = 1005,      /**< reported for a close frame without a code; never sent */
    WS_CLOSE_ABNORMAL = 1006, /**< reported when TCP dropped without a close frame; never sent */
    WS_CLOSE_INVALID_DATA = 1007,   /**< a text message that is not UTF-8 */
    WS_CLOSE_POLICY = 1008,         /**< a limit: a slow reader cut off, the server busy */
    WS_CLOSE_TOO_BIG = 1009,        /**< a message over max_message_size */
    WS_CLOSE_MANDATORY_EXT = 1010,  /**< an extension the client needs was not agreed */
    WS_CLOSE_INTERNAL_ERROR = 1011, /**< the server failed (out of memory) */
};

/**
 * Picks a subprotocol from `offered`, the client's Sec-WebSocket-Protocol list
 * (comma-separated, as sent): returns one of its names, or NULL for none.
 */
typedef const char *(*ws_subprotocol_cb)(const char *offered, void *userdata);

/**
 * Limits and behaviour of a ws_server; start from ws_options_init().
 * max_queue_bytes bounds a backlog: output the kernel refused at an earlier
 * write plus what queues behind it. A connection with no backlog takes what
 * one loop iteration queues, however large (a burst, or one big frame).
 */
typedef struct ws_options {
    size_t max_message_size;   /**< largest message received, else close 1009 (default 1,000,000) */
    size_t max_queue_bytes;    /**< backlog of unwritten output; past it the reader is cut
                                    off with 1008 (1 MiB). */
    uint32_t close_timeout_ms; /**< wait for the peer's close frame this long (default 5000) */
    bool permessage_deflate;   /**< accept permessage-deflate offers (default false) */
    size_t deflate_threshold;  /**< messages shorter than this go uncompressed (1024) */
    ws_subprotocol_cb select_subprotocol; /**< picks the subprotocol (NULL: none is agreed) */
    void *subprotocol_userdata;           /**< passed to select_subprotocol */
    /** A budget that the output of all connections is charged to (NULL: none,
     * the default). A connection with a backlog whose next frame would take
     * the budget past its limit is cut off as a slow reader (1008), so that
     * many slow readers together stay within it; the budget must outlive the
     * server. */
    sio_budget *budget;
} ws_options;

/** Fills `o` with the defaults listed in ws_options. */
SIO_EXTERN void ws_options_init(ws_options *o);

/**
 * A whole message: `binary` false for text (valid UTF-8), true for binary.
 * `data` is valid during the call.
 */
typedef void (*ws_message_cb)(ws_conn *c, const uint8_t *data, size_t len, bool binary,
                              void *userdata);
/**
 * The connection is gone: `code` is the peer's close code, ours, or 1006 when
 * it dropped without a close frame. Called exactly once; the connection is
 * freed after it returns.
 */
typedef void (*ws_close_cb)(ws_conn *c, int code, const char *reason, void *userdata);
/** Called once a closed ws_server has freed itself (see ws_server_close). */
typedef void (*ws_closed_cb)(void *userdata);

/** What a connection reports. Each callback may call any ws_* function on the connection. */
typedef struct ws_callbacks {
    ws_message_cb on_message; /**< a whole message */
    ws_close_cb on_close;     /**< the connection is gone */
} ws_callbacks;

/** A WebSocket context on `loop`; options copied (NULL for defaults). */
SIO_EXTERN ws_server *ws_server_new(uv_loop_t *loop, const ws_options *o);
/**
 * Closes every connection (close code 1001 "going away"), then frees the
 * server when the last one is gone; `done` may be NULL.
 */
SIO_EXTERN void ws_server_close(ws_server *ws, ws_closed_cb done, void *userdata);
/** Open connections of this server. */
SIO_EXTERN size_t ws_server_connections(const ws_server *ws);

/**
 * Checks an HTTP request's WebSocket handshake headers: 0 when it may be
 * accepted, else the HTTP status to answer (400, or 426 for a version other
 * than 13; see ws_reject).
 */
SIO_EXTERN int ws_handshake_check(const http_req *req);
/** Answers a refused handshake with `status` (adds Sec-WebSocket-Version: 13 on 426). */
SIO_EXTERN void ws_reject(http_req *req, int status, const char *message);

/**
 * Accepts the upgrade: answers 101 (negotiating permessage-deflate and the
 * subprotocol, with any headers set on `req` with http_res_header before the
 * call), takes the socket from the HTTP server and returns the
 * connection; reading starts with ws_conn_start. NULL on failure (the request
 * has then been answered or the connection closed).
 */
SIO_EXTERN ws_conn *ws_accept(ws_server *ws, http_req *req, const ws_callbacks *cb, void *userdata);
/** Starts delivering messages (including bytes that came with the handshake). */
SIO_EXTERN void ws_conn_start(ws_conn *c);

/** Sets the connection's data: the userdata passed to its callbacks (first set by ws_accept). */
SIO_EXTERN void ws_conn_set_data(ws_conn *c, void *data);
/** The connection's data (see ws_conn_set_data). */
SIO_EXTERN void *ws_conn_get_data(const ws_conn *c);
/** Replaces the callbacks (the table must outlive the connection). */
SIO_EXTERN void ws_conn_set_callbacks(ws_conn *c, const ws_callbacks *cb);
/** Bytes queued or being written. */
SIO_EXTERN size_t ws_conn_queued(const ws_conn *c);
/** True when nothing is queued or waiting on the kernel: a volatile message may go. */
SIO_EXTERN bool ws_conn_writable(const ws_conn *c);
/** True when permessage-deflate was negotiated. */
SIO_EXTERN bool ws_conn_deflate(const ws_conn *c);

/** Sends one message (copied; compressed when negotiated and over the threshold). */
SIO_EXTERN int ws_send(ws_conn *c, const void *data, size_t len, bool binary);
/**
 * Sends one message from two pieces, e.g. a one-byte packet type and a
 * payload, without joining them first.
 */
SIO_EXTERN int ws_send2(ws_conn *c, const void *a, size_t alen, const void *b, size_t blen,
                        bool binary);
/** Encodes a final unmasked frame once, for ws_send_frame on many connections. */
SIO_EXTERN ws_frame *ws_frame_new(const void *data, size_t len, bool binary);
/** The same from two pieces. */
SIO_EXTERN ws_frame *ws_frame_new2(const void *a, size_t alen, const void *b, size_t blen,
                                   bool binary);
/** Queues a shared frame (takes its own reference). Never compressed. */
SIO_EXTERN int ws_send_frame(ws_conn *c, ws_frame *f);
/** Drops the caller's reference to a frame. */
SIO_EXTERN void ws_frame_release(ws_frame *f);

/**
 * Starts the close handshake: sends a close frame with code and reason, then
 * closes the TCP connection when the peer answers or after close_timeout_ms.
 */
SIO_EXTERN void ws_close(ws_conn *c, int code, const char *reason);
/** Closes the TCP connection now, without a close frame (on_close gets 1006). */
SIO_EXTERN void ws_abort(ws_conn *c);

#ifdef __cplusplus
}
#endif
#endif
