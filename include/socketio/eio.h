/** @file socketio/eio.h
 * the Engine.IO v4 server (with v3 for old clients when
 * allowed): sessions over HTTP long-polling and WebSocket, the upgrade from
 * one to the other, and the heartbeat.
 *
 * An eio_server attaches to an http_server at a path ("/engine.io/" by
 * default; the Socket.IO layer uses "/socket.io/"). Each client session is an
 * eio_socket; the application (or the Socket.IO layer) gets its messages and
 * sends its own with eio_send, or, for the same message to many sessions,
 * builds it once with eio_msg_new and queues it with eio_send_msg.
 */
#ifndef SOCKETIO_EIO_H
#define SOCKETIO_EIO_H

#include "socketio/common.h"
#include "socketio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The Engine.IO server. */
typedef struct eio_server eio_server;
/** One client session (its id is the handshake's sid). */
typedef struct eio_socket eio_socket;
/** A message encoded once for any number of sessions (refcounted); a type of its own, so that
 * a ws_frame or an http_body cannot be passed for it. */
typedef struct eio_msg eio_msg;

/** Transports, for eio_options.transports. */
enum eio_transport {
    EIO_TRANSPORT_POLLING = 1,   /**< HTTP long-polling */
    EIO_TRANSPORT_WEBSOCKET = 2, /**< WebSocket */
};

/** Cross-origin settings of the polling transport (NULL origin: no CORS headers). */
typedef struct eio_cors_options {
    /** "*", or a comma-separated list of allowed origins. "*" is answered as
     * a literal "*" (never the request's Origin), without credentials. */
    const char *origin;
    /** send Access-Control-Allow-Credentials: true (with an origin list only) */
    bool credentials;
    const char *methods; /**< preflight Allow-Methods (default "GET,HEAD,PUT,PATCH,POST,DELETE") */
    /** preflight Allow-Headers: a comma-separated list (default NULL: none;
     * the request's Access-Control-Request-Headers are never echoed) */
    const char *allowed_headers;
} eio_cors_options;

/**
 * Decides whether a handshake may go on: return 0 to accept, anything else to
 * refuse it with 403 {"code":4,"message":"Forbidden"}.
 */
typedef int (*eio_allow_request_cb)(const http_req *req, void *userdata);

/** Options, with the reference server's names; start from eio_options_init(). */
typedef struct eio_options {
    const char *path;       /**< `path` (default "/engine.io/") */
    uint32_t ping_interval; /**< `pingInterval` ms (default 25000) */
    uint32_t ping_timeout;  /**< `pingTimeout` ms (default 20000) */
    /** `upgradeTimeout` ms (default 10000): a WebSocket upgrade not finished
     * (no "5" packet) within that time is closed; the session goes on over
     * polling and may try again. */
    uint32_t upgrade_timeout;
    size_t max_http_buffer_size; /**< `maxHttpBufferSize` bytes (default 1e6) */
    int transports;              /**< `transports`: EIO_TRANSPORT_* bits (default both) */
    /** `allowUpgrades` (default true). When false, the polling handshake offers no
     * upgrade ("upgrades":[]) and an upgrade request is refused with 400
     * (code 3); a session may still start on WebSocket. */
    bool allow_upgrades;
    bool allow_eio3;       /**< `allowEIO3` (default false) */
    eio_cors_options cors; /**< `cors` */
    /** `cookie`: the name of a cookie (the reference's default is "io") that
     * the polling handshake's response sets to the session id, as
     * `NAME=SID; Path=/; HttpOnly; SameSite=Lax`, for sticky sessions
     * behind a load balancer; NULL (the default) for none. A session that
     * starts on WebSocket gets it on the 101; later requests of the session
     * (and an upgrade) get none. */
    const char *cookie;
    bool per_message_deflate;           /**< `perMessageDeflate` (default false) */
    eio_allow_request_cb allow_request; /**< `allowRequest` */
    void *allow_request_userdata;       /**< passed to allow_request */
    /** Sessions open at once (default 65536; 0: no limit). A handshake beyond
     * is refused with 503 {"code":3,"message":"Too many sessions"}. */
    size_t max_sessions;
    /** Sessions open at once from one remote address, refused beyond like
     * max_sessions (default 0: no limit, since behind a reverse proxy or a
     * NAT every session comes from one address; max_sessions and
     * max_buffered_bytes bound memory either way). Set it on a server that
     * clients reach directly: one client then cannot hold all the sessions. */
    size_t max_sessions_per_ip;
    /** Output queued for all sessions together, polling and WebSocket, charged
     * at its real memory (default 256 MiB; 0: no limit). A session with a
     * backlog (no GET waiting, or unwritten WebSocket output) whose next packet
     * would pass it is closed as a slow reader ("transport error"), and
     * handshakes are refused with 503 while it is full. */
    size_t max_buffered_bytes;
} eio_options;

/** Fills `o` with the defaults listed in eio_options. */
SIO_EXTERN void eio_options_init(eio_options *o);

/** A new session; `req` is the handshake request (headers, query, address), valid during the
 * call. */
typedef void (*eio_open_cb)(eio_socket *s, http_req *req, void *userdata);
/** One message: text (UTF-8, `binary` false) or binary; `data` is valid during the call. */
typedef void (*eio_message_cb)(eio_socket *s, const char *data, size_t len, bool binary,
                               void *userdata);
/**
 * The session is gone, for `reason`: "transport close", "transport error",
 * "ping timeout", "parse error", "forced close" or "server shutting down".
 * The eio_socket is freed after the call.
 */
typedef void (*eio_close_cb)(eio_socket *s, const char *reason, void *userdata);
/** Called once a closed eio_server has freed itself (see eio_server_close). */
typedef void (*eio_closed_cb)(void *userdata);

/** What the server reports. */
typedef struct eio_callbacks {
    eio_open_cb on_open;       /**< a new session */
    eio_message_cb on_message; /**< one message */
    eio_close_cb on_close;     /**< the session is gone */
} eio_callbacks;

/** A server; options and callbacks are copied. NULL on ENOMEM. */
SIO_EXTERN eio_server *eio_server_new(uv_loop_t *loop, const eio_options *o,
                                      const eio_callbacks *cb, void *userdata);
/** Serves the protocol at options.path on `http`, and closes with it on its shutdown. */
SIO_EXTERN int eio_server_attach(eio_server *s, http_server *http);
/**
 * Closes every session (reason "server shutting down") and frees the server
 * once all transports are closed; done may be NULL. Called again while the
 * server is closing (it also closes with the HTTP server it is attached to),
 * it only sets `done` if no earlier call did.
 */
SIO_EXTERN void eio_server_close(eio_server *s, eio_closed_cb done, void *userdata);
/** Open sessions. */
SIO_EXTERN size_t eio_server_sessions(const eio_server *s);
/** Finds a session by id. */
SIO_EXTERN eio_socket *eio_server_find(const eio_server *s, const char *sid);

/** The session id (sid). */
SIO_EXTERN const char *eio_socket_id(const eio_socket *s);
/** "polling" or "websocket". */
SIO_EXTERN const char *eio_socket_transport(const eio_socket *s);
/** 4, or 3 for an Engine.IO v3 client. */
SIO_EXTERN int eio_socket_protocol(const eio_socket *s);
/** Sets the application's pointer for this session. */
SIO_EXTERN void eio_socket_set_data(eio_socket *s, void *data);
/** The pointer set with eio_socket_set_data (NULL until then). */
SIO_EXTERN void *eio_socket_get_data(const eio_socket *s);
/** Bytes queued for the session and not yet written. */
SIO_EXTERN size_t eio_socket_queued(const eio_socket *s);

/**
 * True when a message sent now would leave at once, as a Node transport's
 * `writable`: over WebSocket, nothing is queued or waiting on the kernel; over
 * polling, a GET is waiting and nothing is queued for it yet. Volatile
 * broadcasts skip sessions that are not writable.
 */
SIO_EXTERN bool eio_socket_writable(const eio_socket *s);

/** Sends one message (copied). 0 or a negative error (SIO_ECLOSED). */
SIO_EXTERN int eio_send(eio_socket *s, const char *data, size_t len, bool binary);
/** Encodes a message once for many sessions; release with eio_msg_release. */
SIO_EXTERN eio_msg *eio_msg_new(const char *data, size_t len, bool binary);
/** The same from two pieces joined (e.g. a packet prefix and a payload). */
SIO_EXTERN eio_msg *eio_msg_new2(const char *a, size_t alen, const char *b, size_t blen,
                                 bool binary);
/** Queues a shared message on a session (takes its own reference). */
SIO_EXTERN int eio_send_msg(eio_socket *s, eio_msg *m);
/** Drops the caller's reference to a shared message. */
SIO_EXTERN void eio_msg_release(eio_msg *m);
/** Closes the session from the server side (reason "forced close"). */
SIO_EXTERN void eio_socket_close(eio_socket *s);

#ifdef __cplusplus
}
#endif
#endif
