/** @file socketio/http.h
 * the HTTP/1.1 server: listening, routing, requests,
 * responses, static files and the hand-over of upgraded connections.
 *
 * One server runs on one libuv loop. Handlers are plain callbacks; a handler
 * either answers at once (http_res_end) or keeps the request and answers
 * later, from any callback on the same loop (that is how long-polling works).
 * Responses go out in request order on a connection, even when requests are
 * pipelined. A connection is read one request at a time: the next pipelined
 * request is parsed once the previous one is answered and the connection's
 * unsent output is under max_output_size, so a client that sends and never
 * reads holds at most that much output and a bounded amount of unparsed input.
 */
#ifndef SOCKETIO_HTTP_H
#define SOCKETIO_HTTP_H

#include "socketio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The HTTP/1.1 server ("the web app"). */
typedef struct http_server http_server;
/** One request and its response, from its handler until the response ends. */
typedef struct http_req http_req;

/** Limits and timeouts of the HTTP server; start from http_server_options_init(). */
typedef struct http_server_options {
    const char *host;     /**< address to bind (default "127.0.0.1") */
    int port;             /**< TCP port; 0 picks a free one (default 8080) */
    int backlog;          /**< listen backlog (default 1024) */
    size_t max_head_size; /**< request line + headers, else 431 (default 16 KiB) */
    size_t max_body_size; /**< default body limit of a route, else 413 (default 1 MB) */
    unsigned max_headers; /**< header count, else 431 (default 100) */
    /** open connections, upgraded (WebSocket) ones included; more are closed
     * at once (10000) */
    unsigned max_connections;
    uint32_t head_timeout_ms;   /**< from a request's first byte to its last header (10 s) */
    uint32_t body_timeout_ms;   /**< from the last header to the last body byte (30 s) */
    uint32_t idle_timeout_ms;   /**< a keep-alive connection with no request (5 s) */
    uint32_t shutdown_grace_ms; /**< in-flight requests may finish this long (5 s) */
    /**
     * Unsent response bytes on one connection (written, not yet taken by the
     * kernel) past which the server stops reading and parsing that
     * connection's requests until the peer has read enough (default 256 KiB).
     * A response larger than this still goes out whole. A connection's
     * unparsed input is bounded too: past max_head_size + 64 KiB reading stops.
     */
    size_t max_output_size;
    /**
     * Request input held by all connections together: unparsed bytes,
     * request heads and bodies being received, at the size of their buffers
     * (default 128 MiB; 0: no limit). A connection whose input would take
     * the total past it is answered 503 and closed (or just closed, when a
     * handler holds its request), so that many clients that each send most
     * of a large body, or trickle heads, cannot hold max_connections times
     * max_body_size between them. The total is in stats.input_buffered.
     */
    size_t max_input_buffered;
} http_server_options;

/** Fills `o` with the defaults listed in http_server_options. */
SIO_EXTERN void http_server_options_init(http_server_options *o);

/** Creates a server on `loop` (options copied; NULL for the defaults). NULL on ENOMEM. */
SIO_EXTERN http_server *http_server_new(uv_loop_t *loop, const http_server_options *o);

/** Binds and listens on options.host:options.port. 0 or a negative error code. */
SIO_EXTERN int http_server_listen(http_server *s);

/** The port actually bound (useful with port 0); 0 before listen. */
SIO_EXTERN int http_server_port(const http_server *s);

/** The loop the server runs on. */
SIO_EXTERN uv_loop_t *http_server_loop(const http_server *s);

/** Called when the server starts shutting down, so upper layers can close their own connections. */
typedef void (*http_shutdown_cb)(http_server *s, void *userdata);

/** Registers a callback run at the start of http_server_shutdown(). 0 or SIO_ENOMEM. */
SIO_EXTERN int http_server_on_shutdown(http_server *s, http_shutdown_cb cb, void *userdata);
/** Removes a callback added with http_server_on_shutdown (same cb and userdata). */
SIO_EXTERN void http_server_off_shutdown(http_server *s, http_shutdown_cb cb, void *userdata);

/** Called once the server has closed every connection and freed itself. */
typedef void (*http_closed_cb)(void *userdata);

/**
 * Graceful shutdown: stops accepting, closes idle connections, lets requests
 * in flight finish within options.shutdown_grace_ms, then closes the rest and
 * frees the server. `done` (may be NULL) runs after the last handle closed.
 * Calling it again does nothing.
 */
SIO_EXTERN void http_server_shutdown(http_server *s, http_closed_cb done, void *userdata);

/**
 * Shuts the server down gracefully (http_server_shutdown, with `done`) on the
 * first SIGINT or SIGTERM. The signal watchers close as soon as the server
 * starts shutting down, whatever started it, so uv_run can return once
 * everything is closed.
 * @return 0, or a negative error code.
 */
SIO_EXTERN int http_server_shutdown_on_signals(http_server *s, http_closed_cb done, void *userdata);

/** Live counters. */
typedef struct http_server_stats {
    uint64_t connections_open; /**< HTTP connections open now (upgraded ones not counted) */
    /** Connections taken by http_req_take_socket (WebSockets) and not yet
     * closed: they count toward max_connections with connections_open. */
    uint64_t connections_upgraded;
    uint64_t input_buffered;       /**< bytes of request input held now (max_input_buffered) */
    uint64_t input_refused;        /**< connections refused or closed at max_input_buffered */
    uint64_t connections_total;    /**< connections accepted so far */
    uint64_t requests_total;       /**< requests handed to a handler so far */
    uint64_t connections_rejected; /**< closed at accept: max_connections reached */
    uint64_t timeouts;             /**< connections cut off by a head, body or idle timeout */
} http_server_stats;

/** Copies the server's counters into `out`. */
SIO_EXTERN void http_server_get_stats(const http_server *s, http_server_stats *out);

/* ---- routing -------------------------------------------------------------- */

/** A request handler. It must eventually end the response or take the socket. */
typedef void (*http_handler_cb)(http_req *req, void *userdata);
/**
 * Told that the server is about to answer `req` with an error `status` of its
 * own (see http_route.on_error). It may add headers to that answer with
 * http_res_header, and must not answer the request itself.
 */
typedef void (*http_error_cb)(http_req *req, int status, void *userdata);

/** One route: exact path, or path prefix when `prefix` is set. */
typedef struct http_route {
    const char *method;      /**< "GET", "POST", ...; NULL for every method */
    const char *path;        /**< "/socket.io/" */
    bool prefix;             /**< match every path starting with `path` */
    size_t max_body;         /**< body limit for this route; 0 for the server's default */
    http_handler_cb handler; /**< called with each matching request */
    void *userdata;          /**< passed to handler */
    /**
     * Optional: told of a request refused with 413 because its body is over
     * max_body (its head is complete, so query and headers can be read). It
     * must not answer the request: the server sends the 413 and closes the
     * connection when it returns. Engine.IO uses it to end the session.
     */
    http_handler_cb on_too_large;
    /**
     * Optional: called before the server answers a request of this route
     * with an error of its own, once the request's head is complete: 400 (a
     * malformed body), 408 (the body came too slowly), 413 (over max_body,
     * after on_too_large) or 417 (an Expect other than 100-continue). The
     * headers it adds with http_res_header go out with the error, e.g. the
     * CORS headers without which a browser sees a network error instead of
     * the status; Engine.IO adds those it gives its own answers.
     */
    http_error_cb on_error;
} http_route;

/**
 * Adds a route. Routes are tried longest path first; a path that matches but
 * with another method answers 405 with an Allow header; no match is 404.
 */
SIO_EXTERN int http_server_route(http_server *s, const http_route *route);

/* ---- requests --------------------------------------------------------------- */

/** The request method, e.g. "GET". */
SIO_EXTERN const char *http_req_method(const http_req *req);
/** The request target as sent, e.g. "/socket.io/?EIO=4&transport=polling". */
SIO_EXTERN const char *http_req_target(const http_req *req);
/** The path part of the target, not percent-decoded. */
SIO_EXTERN const char *http_req_path(const http_req *req);
/** The raw query string (after '?'), or "" when there is none. */
SIO_EXTERN const char *http_req_query_string(const http_req *req);
/**
 * A query parameter, percent-decoded ('+' as space), or NULL when absent.
 * The string lives as long as the request.
 */
SIO_EXTERN const char *http_req_query(http_req *req, const char *name);
/** A header value (name compared case-insensitively), or NULL. */
SIO_EXTERN const char *http_req_header(const http_req *req, const char *name);
/** Header number `index` (0, 1, ...): true with *name and *value set, false past the last. */
SIO_EXTERN bool http_req_header_at(const http_req *req, unsigned index, const char **name,
                                   const char **value);
/** The request body (complete: handlers run after the last byte arrived). */
SIO_EXTERN const char *http_req_body(const http_req *req, size_t *len);
/** The peer's address as text ("127.0.0.1"). */
SIO_EXTERN const char *http_req_remote_addr(const http_req *req);
/** The minor HTTP version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
SIO_EXTERN int http_req_http_minor(const http_req *req);
/** True when the request asked to upgrade the connection (Upgrade + Connection: upgrade). */
SIO_EXTERN bool http_req_is_upgrade(const http_req *req);
/** The server the request came to. */
SIO_EXTERN http_server *http_req_server(const http_req *req);

/**
 * Called when the connection of a request that has not been answered goes
 * away (peer closed, timeout, shutdown). After it the request is freed: the
 * handler that kept it must forget it.
 */
typedef void (*http_abort_cb)(http_req *req, void *userdata);
/** Sets the request's abort callback (one per request; a second call replaces it). */
SIO_EXTERN void http_req_on_abort(http_req *req, http_abort_cb cb, void *userdata);

/* ---- responses -------------------------------------------------------------- */

/** Sets the status (default 200). */
SIO_EXTERN void http_res_status(http_req *req, int status);
/** Adds a response header. Content-Length, Date and Connection are set by the server. */
SIO_EXTERN int http_res_header(http_req *req, const char *name, const char *value);
/** Sends the response with `body` (copied) and frees the request. */
SIO_EXTERN int http_res_end(http_req *req, const void *body, size_t len);
/** Sends a complete response with a text body: status, Content-Type, body. */
SIO_EXTERN int http_res_send(http_req *req, int status, const char *content_type, const char *body);

/**
 * A response body kept in memory and shared by any number of responses
 * without a copy (refcounted): a file served from memory, say. Each response
 * holds a reference until its write completes, so the body may be released
 * by its owner while responses using it are still being written.
 */
typedef struct http_body http_body;
/** A body holding a copy of `data`, with one reference (the caller's). NULL on ENOMEM. */
SIO_EXTERN http_body *http_body_new(const void *data, size_t len);
/** Drops the caller's reference; the memory goes with the last response using it. */
SIO_EXTERN void http_body_release(http_body *body);
/** Like http_res_end with a shared body (not copied: the response takes a reference). */
SIO_EXTERN int http_res_end_body(http_req *req, http_body *body);

/**
 * Streaming: sends the head with a known Content-Length, then the body in
 * pieces with http_res_write; each piece's callback runs when it has been
 * written (back-pressure). http_res_finish ends the response.
 */
typedef void (*http_write_cb)(http_req *req, int status, void *userdata);
/** Sends the head (status, headers, Content-Length: content_length). */
SIO_EXTERN int http_res_begin(http_req *req, uint64_t content_length);
/**
 * Sends a piece of the body. `data` is not copied: it must stay valid until
 * `cb` runs. Writing past the announced length is SIO_EINVAL.
 */
SIO_EXTERN int http_res_write(http_req *req, const void *data, size_t len, http_write_cb cb,
                              void *userdata);
/**
 * Ends a streamed response and frees the request; a body shorter than
 * announced closes the connection after it.
 */
SIO_EXTERN int http_res_finish(http_req *req);

/**
 * Takes the connection out of the HTTP server after an upgrade request: the
 * caller owns the returned TCP handle (its data field is free for it) and
 * must close it with uv_close and free it with free() in the close callback.
 * Bytes the client already sent past the request head are copied to
 * *leftover (malloc'd, may be NULL when none) and *leftover_len. The request
 * is freed. Returns NULL if the request is not an upgrade.
 */
SIO_EXTERN uv_tcp_t *http_req_take_socket(http_req *req, char **leftover, size_t *leftover_len);
/**
 * Tells `s` that a socket taken from it with http_req_take_socket is closed
 * (call it from the close callback). Until then the socket counts toward
 * max_connections, and a server that shuts down waits for it before it
 * frees itself: whoever takes sockets must close them on shutdown (the
 * WebSocket and Engine.IO servers do, through http_server_on_shutdown).
 */
SIO_EXTERN void http_server_socket_closed(http_server *s);

/* ---- static files ------------------------------------------------------------ */

/** Options of http_server_static (NULL for the defaults). */
typedef struct http_static_options {
    const char *cache_control; /**< default "public, max-age=0" */
    const char *index;         /**< file served for a directory (default "index.html") */
} http_static_options;

/**
 * Serves the files under `root` at URL prefix `mount` ("/"), GET and HEAD only,
 * with Content-Type by extension, ETag and Last-Modified validators (304 on
 * If-None-Match / If-Modified-Since) and Cache-Control. Paths that would leave
 * the root (.., encoded slashes, NUL, symlinks out of it) get 404.
 */
SIO_EXTERN int http_server_static(http_server *s, const char *mount, const char *root,
                                  const http_static_options *opts);

/** The MIME type for a file name by its extension ("application/octet-stream" if unknown). */
SIO_EXTERN const char *http_mime_type(const char *filename);

/** Formats an HTTP date (RFC 7231 IMF-fixdate) into out[30]. */
SIO_EXTERN void http_date_format(time_t t, char out[30]);

#ifdef __cplusplus
}
#endif
#endif
