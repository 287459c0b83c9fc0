/* http/http_internal.h - the HTTP layer's private structures, shared by its files:
 *   http_server.c   listening socket, accept, connection registry, shutdown
 *   http_conn.c     one connection's life: reading, dispatch, pipelining,
 *                   timeouts, the half-close, handing the socket over
 *   http_parse.c    the parser callbacks that build a request (head, body, limits)
 *   http_write.c    the output: write requests and what they hold
 *   http_router.c   route table and dispatch (404/405)
 *   http_request.c  request accessors (headers, query)
 *   http_response.c response head and body writes
 *   http_static.c   the static file handler
 *   http_util.c     MIME types, dates, percent-decoding
 */
#ifndef SIO_HTTP_INTERNAL_H
#define SIO_HTTP_INTERNAL_H

#include "socketio/http.h"
#include "util/buf.h"
#include "util/timer_wheel.h"
#include "util/vec.h"

#include <http_parser.h>

typedef struct http_conn http_conn;

/* A public http_body is a util_rcbuf: struct http_body is never defined, so the
 * public type stays distinct from ws_frame and eio_msg, and these two convert
 * between the views of one pointer. */
static inline util_rcbuf *http_body_buf(http_body *b) {
    return (util_rcbuf *)(void *)b;
}
static inline http_body *http_body_from_buf(util_rcbuf *b) {
    return (http_body *)(void *)b;
}

typedef struct http_route_entry {
    http_route r;
    size_t path_len;
    char *path_copy;
    char *method_copy;
} http_route_entry;

typedef struct http_shutdown_hook {
    http_shutdown_cb cb;
    void *userdata;
    bool ran; /* called by this shutdown already */
} http_shutdown_hook;

struct http_server {
    uv_loop_t *loop;
    http_server_options opts;
    char *host;
    uv_tcp_t listener;
    int listening;
    int port;
    int shutting_down;
    int final_close;
    UTIL_VEC(http_route_entry) routes; /* longest path first (http_router.c) */
    UTIL_VEC(http_shutdown_hook) hooks;
    http_conn *conns; /* doubly linked list of live connections */
    util_wheel wheel;
    uv_timer_t grace_timer;
    uv_timer_t trim_timer;   /* hands freed heap back to the system (http_server.c) */
    unsigned pending_closes; /* handles of the server itself still closing */
    http_closed_cb closed_cb;
    void *closed_ud;
    http_server_stats stats;
    struct http_static_mount *mounts;
};

enum http_conn_state {
    CONN_IDLE,    /* between requests: idle timeout */
    CONN_HEAD,    /* reading a request head: head timeout */
    CONN_BODY,    /* reading a body: body timeout */
    CONN_HANDLER, /* a handler owns the request: no timeout */
};

struct http_conn {
    http_conn *next, *prev;
    http_server *server;
    uv_tcp_t *tcp;
    http_parser parser;
    util_timer timer;
    uint8_t state;
    uint8_t closing;     /* uv_close called or scheduled */
    uint8_t close_after; /* close once the current response is written */
    uint8_t feeding;     /* inside conn_feed: don't recurse */
    uint8_t read_stopped;
    uint8_t taken;     /* the socket was handed to another layer */
    uint8_t lingering; /* half-closed after the last response, dropping input */
    uint32_t writes_pending;
    size_t out_bytes;      /* bytes of writes not completed yet (see max_output_size) */
    http_req *req;         /* the request being read or handled */
    uv_idle_t *drain_idle; /* set while a pipelined request waits for the next loop turn */
    util_buf pending;      /* bytes read but not parsed yet (pipelining, upgrade) */
    size_t in_charged;     /* input buffers' size charged to stats.input_buffered */
};

/* A header is stored as two NUL-terminated strings in req->head. */
typedef struct http_header_ref {
    uint32_t name, value;
} http_header_ref;

struct http_req {
    http_conn *conn;
    http_server *server;
    util_buf head; /* "target\0" then "name\0value\0" pairs */
    util_buf body;
    UTIL_VEC(http_header_ref) headers;
    uint32_t path_len; /* length of the path inside the target */
    uint8_t last_was_value;
    uint8_t upgrade;
    uint8_t keep_alive;
    uint8_t head_sent;
    uint8_t is_head;    /* HEAD request: no body on the wire */
    uint8_t http_minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    uint8_t complete;   /* the whole request has been read */
    uint8_t dispatched;
    char method[16];
    size_t max_body;
    const http_route_entry *route;
    int status;
    util_buf res_headers; /* "Name: value\r\n" lines added by the handler */
    uint64_t content_length;
    uint64_t body_written;
    int streaming;
    http_abort_cb abort_cb;
    void *abort_ud;
    char *query_decoded; /* scratch for http_req_query results (list of strings) */
    util_buf query_scratch;
    char remote[48];
};

/* http_server.c */
void http_server_conn_closed(http_server *s, http_conn *c);
/* Brings c's charge to the server's input total (stats.input_buffered) to
 * what its input buffers hold now (http_conn.c). */
void http_conn_charge_input(http_conn *c);
/* Charges input held by a socket taken from s (a WebSocket message being
 * reassembled) to the same total: *charged becomes `now`, unless that would
 * take the total past max_input_buffered, which returns -1 and changes
 * nothing (http_server.c). */
int http_server_input_charge(http_server *s, size_t *charged, size_t now);

/* http_conn.c */
int http_conn_start(http_server *s, uv_tcp_t *tcp);
void http_conn_close(http_conn *c);
void http_conn_set_state(http_conn *c, enum http_conn_state st);
/* The handler finished the response of c->req: move on to the next request. */
void http_conn_request_done(http_conn *c, int close_after);
/* A response ended or output drained under the bound: a pipelined request
 * that waits is parsed (on the next loop turn), reading restarts if nothing
 * holds it back any more. */
void http_conn_resume(http_conn *c);
/* Ends a connection after its last response: half-close (our FIN follows the
 * response), then read and drop what the peer still sends until it closes or
 * the idle deadline passes. */
void http_conn_linger(http_conn *c);
/* Would `more` bytes of input on c take the server past max_input_buffered? */
int http_conn_input_over(const http_conn *c, size_t more);

/* http_parse.c: the callbacks http_parser_execute runs on a connection's input */
extern const http_parser_settings http_parse_settings;

/* http_write.c */
/* Writes bufs on the connection; the data of bufs[i] with owned[i] set is freed after,
 * and `shared` (may be NULL), whose reference the write takes over, is released. */
int http_conn_write(http_conn *c, uv_buf_t *bufs, unsigned nbufs, unsigned owned_mask,
                    util_rcbuf *shared, http_write_cb cb, http_req *req, void *userdata);

/* http_router.c */
const http_route_entry *http_router_match(http_server *s, const char *path, size_t path_len,
                                          const char *method, int *method_mismatch);
/* The methods path answers to, comma-separated and NUL-terminated, appended
 * to out; 0 or SIO_ENOMEM. */
int http_router_allow_header(http_server *s, const char *path, size_t path_len, util_buf *out);
void http_router_free(http_server *s);

/* http_request.c */
http_req *http_req_new(http_conn *c);
void http_req_free(http_req *req);

/* http_response.c */
const char *http_status_text(int status);
/* A canned response that ends the connection (400, 408, 413, 431, 503...). */
void http_conn_send_error(http_conn *c, int status, int close);

/* http_static.c */
void http_static_free_all(http_server *s);

/* http_util.c */
/* Strict percent-decoding of a path segment string; -1 on bad escapes,
 * encoded '/' or NUL. out must hold len+1 bytes. */
long http_path_decode(const char *in, size_t len, char *out);
/* Query value decoding ('+' is space, lenient on bad escapes). */
size_t http_query_decode(const char *in, size_t len, char *out);
/* Does a comma-separated header value contain `token` (case-insensitive)? */
int http_header_has_token(const char *value, const char *token);

#endif
