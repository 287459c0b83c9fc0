/* http/http_conn.c - one HTTP connection: reading, parsing with http-parser,
 * the head/body/idle timeouts, pipelining, and writing.
 *
 * Reads land in one loop-wide slab (util/slab.h) and are parsed straight from
 * it; only bytes that cannot be parsed yet (a pipelined request behind one
 * still being handled, or the first bytes after an upgrade) are copied into
 * the connection's `pending` buffer. The parser is paused at the end of each
 * request, so requests are handled one at a time and responses leave in
 * request order. An idle keep-alive connection holds no request object.
 *
 * What a connection may hold is bounded whatever its peer does: the next
 * pipelined request is not parsed while the connection's unsent output is
 * over max_output_size (a client that pipelines and never reads), unparsed
 * input stops reading at max_head_size + PENDING_SLACK (a client that keeps
 * sending behind a held request), and in both cases reading stops
 * (uv_read_stop) until the reason is gone; conn_reading decides.
 */
#include "http/http_internal.h"
#include "util/log.h"
#include "util/slab.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Unparsed input a connection may hold past max_head_size before reading stops. */
#define PENDING_SLACK 65536

typedef struct http_write_req {
    uv_write_t w;
    http_conn *conn;
    http_write_cb cb;
    http_req *req;
    void *userdata;
    size_t bytes;       /* counted in conn->out_bytes until the write completes */
    util_rcbuf *shared; /* a shared body this write holds a reference to */
    unsigned nowned;
    void *owned[4];
} http_write_req;

static int conn_drain(http_conn *c);
static void conn_reading(http_conn *c);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Is the connection's unsent output over its bound (no more parsing until it drains)? */
static int conn_output_full(const http_conn *c) {
    return c->out_bytes > c->server->opts.max_output_size;
}

/* ---- input memory -------------------------------------------------------------------- */

/* What the connection's input buffers hold: unparsed bytes, and the head and
 * body of the request being received or handled (their capacity: what malloc
 * gave them). */
static size_t conn_input_size(const http_conn *c) {
    size_t n = c->pending.cap;
    if (c->req) n += c->req->head.cap + c->req->body.cap;
    return n;
}

void http_conn_charge_input(http_conn *c) {
    http_server_stats *st = &c->server->stats;
    size_t now = conn_input_size(c);
    assert(st->input_buffered >= c->in_charged);
    st->input_buffered = st->input_buffered - c->in_charged + now;
    c->in_charged = now;
}

/* Would `more` bytes of input on c take the server past max_input_buffered? */
static int conn_input_over(const http_conn *c, size_t more) {
    size_t limit = c->server->opts.max_input_buffered;
    const http_server_stats *st = &c->server->stats;
    return limit && st->input_buffered - c->in_charged + conn_input_size(c) + more > limit;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    free(req);
}

/* Ends a connection after its last response: half-close (our FIN follows the
 * response), then read and drop what the peer still sends until it closes or
 * the idle deadline passes. Closing with unread input would make the kernel
 * send a reset, which can destroy the response still in flight (a 413 sent
 * while the body is arriving, say). */
static void conn_linger(http_conn *c) {
    if (c->closing || c->lingering) return;
    c->lingering = 1;
    util_buf_free(&c->pending);
    http_conn_charge_input(c);
    uv_shutdown_t *req = malloc(sizeof *req);
    if (!req || uv_shutdown(req, (uv_stream_t *)c->tcp, on_shutdown) != 0) {
        free(req);
        http_conn_close(c);
        return;
    }
    conn_reading(c); /* a lingering connection reads (and drops) whatever comes */
    http_conn_set_state(c, CONN_IDLE);
}

/* ---- timeouts ------------------------------------------------------------------ */

static void conn_timeout(util_timer *t) {
    http_conn *c = (http_conn *)((char *)t - offsetof(http_conn, timer));
    if (c->lingering) {
        http_conn_close(c);
        return;
    }
    c->server->stats.timeouts++;
    if (c->state == CONN_IDLE || c->writes_pending) {
        http_conn_close(c);
        return;
    }
    LOG_DEBUG("http", "request timeout (%s)", c->state == CONN_HEAD ? "head" : "body");
    http_conn_send_error(c, 408, 1);
}

void http_conn_set_state(http_conn *c, enum http_conn_state st) {
    http_server *s = c->server;
    c->state = (uint8_t)st;
    switch (st) {
    case CONN_IDLE:
        util_timer_start(&s->wheel, &c->timer, s->opts.idle_timeout_ms, conn_timeout);
        break;
    case CONN_HEAD:
        util_timer_start(&s->wheel, &c->timer, s->opts.head_timeout_ms, conn_timeout);
        break;
    case CONN_BODY:
        util_timer_start(&s->wheel, &c->timer, s->opts.body_timeout_ms, conn_timeout);
        break;
    case CONN_HANDLER:
        util_timer_stop(&s->wheel, &c->timer);
        break;
    }
}

/* ---- parser callbacks ------------------------------------------------------------ */

static int head_append(http_conn *c, const char *at, size_t len) {
    http_req *req = c->req;
    if (req->head.len + len > c->server->opts.max_head_size) return -1;
    return util_buf_append(&req->head, at, len) == 0 ? 0 : -1;
}

/* Set by callbacks that stop the parser with a status of their own (413, 431). */
#define CONN_ERR(c) ((c)->req->status)

static int on_message_begin(http_parser *p) {
    http_conn *c = p->data;
    if (!c->req) {
        c->req = http_req_new(c);
        if (!c->req) return -1;
    }
    http_conn_set_state(c, CONN_HEAD);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    if (head_append(c, at, len)) {
        c->req->status = 414 /* marker: head too large */;
        return -1;
    }
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    http_req *req = c->req;
    if (req->headers.len == 0 || req->last_was_value) {
        /* a new header: close the previous string (target or value) */
        if (req->headers.len >= c->server->opts.max_headers) {
            req->status = 431;
            return -1;
        }
        if (head_append(c, "", 1)) goto too_big;
        /* a typical request's headers in the first allocation */
        if ((!req->headers.cap && util_vec_reserve(&req->headers, 16) != 0) ||
            util_vec_push(&req->headers, ((http_header_ref){(uint32_t)req->head.len, 0})) != 0)
            return -1;
        req->last_was_value = 0;
    }
    if (head_append(c, at, len)) goto too_big;
    return 0;
too_big:
    req->status = 431;
    return -1;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    http_req *req = c->req;
    if (!req->last_was_value) {
        if (head_append(c, "", 1)) goto too_big;
        req->headers.items[req->headers.len - 1].value = (uint32_t)req->head.len;
        req->last_was_value = 1;
    }
    if (head_append(c, at, len)) goto too_big;
    return 0;
too_big:
    req->status = 431;
    return -1;
}

/* RFC 9110 5.6.2: tchar = "!#$%&'*+-.^_`|~" / DIGIT / ALPHA */
static int is_tchar(unsigned char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* RFC 3986 3.2.2-3.2.3: reg-name, IP-literal and port characters */
static int is_host_char(unsigned char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("-._~%!$&'()*+,;=:[]", ch));
}

/* The head's framing and Host rules of RFC 9112 that http-parser (built
 * lenient) lets through; 0 or -1 (a 400). A header name must be a token: with
 * "Transfer-Encoding : chunked" the parser frames the body as chunked while
 * another server in front might not, the classic request-smuggling gap
 * (RFC 9112 5.1). Host must appear once in HTTP/1.1, at most once in 1.0,
 * with a valid value (3.2). Transfer-Encoding is "chunked", once, and never in
 * HTTP/1.0 (6.1); the parser itself refuses it with Content-Length, a
 * repeated or bad Content-Length, and a final coding other than chunked. */
static int head_check(const http_parser *p, const http_req *req) {
    unsigned hosts = 0, tes = 0;
    for (unsigned i = 0; i < req->headers.len; i++) {
        const char *name = req->head.data + req->headers.items[i].name;
        const char *value = req->head.data + req->headers.items[i].value;
        if (!*name) return -1;
        for (const char *n = name; *n; n++)
            if (!is_tchar((unsigned char)*n)) return -1;
        if (strcasecmp(name, "host") == 0) {
            hosts++;
            for (const char *v = value; *v; v++)
                if (!is_host_char((unsigned char)*v)) return -1;
        } else if (strcasecmp(name, "transfer-encoding") == 0) {
            tes++;
            if (strcasecmp(value, "chunked") != 0) return -1;
        }
    }
    if (hosts > 1 || (hosts == 0 && p->http_minor >= 1)) return -1;
    if (tes > 1 || (tes && p->http_minor == 0)) return -1;
    return 0;
}

static int on_headers_complete(http_parser *p) {
    http_conn *c = p->data;
    http_req *req = c->req;
    http_server *s = c->server;
    if (util_buf_append(&req->head, "", 1)) return -1; /* close the last string */
    if (req->headers.len && !req->last_was_value) {
        /* a header with no value callback at all ("X-Empty:") */
        req->headers.items[req->headers.len - 1].value = (uint32_t)(req->head.len - 1);
    }
    if (p->http_major != 1) {
        req->status = 505;
        return -1;
    }
    if (head_check(p, req)) {
        req->status = 400;
        return -1;
    }
    const char *m = http_method_str((enum http_method)p->method);
    snprintf(req->method, sizeof req->method, "%s", m);
    req->is_head = p->method == HTTP_HEAD;
    req->http_minor = (uint8_t)p->http_minor;
    const char *target = req->head.data;
    const char *q = strchr(target, '?');
    req->path_len = (uint32_t)(q ? (size_t)(q - target) : strlen(target));
    if (req->path_len == 0 || target[0] != '/') {
        req->status = 400;
        return -1;
    }
    int mismatch = 0;
    req->route = http_router_match(s, target, req->path_len, req->method, &mismatch);
    req->max_body =
        req->route && req->route->r.max_body ? req->route->r.max_body : s->opts.max_body_size;
    if (!(p->flags & F_CHUNKED) && p->content_length != ULLONG_MAX &&
        p->content_length > req->max_body) {
        req->status = 413;
        return -1;
    }
    const char *expect = http_req_header(req, "expect");
    if (expect) {
        if (strcasecmp(expect, "100-continue") != 0) {
            req->status = 417;
            return -1;
        }
        if (p->http_major == 1 && p->http_minor >= 1 && req->route) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            uv_buf_t b = uv_buf_init((char *)cont, sizeof cont - 1);
            http_conn_write(c, &b, 1, 0, NULL, NULL, NULL, NULL);
        }
    }
    http_conn_set_state(c, CONN_BODY);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    http_conn *c = p->data;
    http_req *req = c->req;
    if (req->body.len + len > req->max_body) {
        req->status = 413;
        return -1;
    }
    if (conn_input_over(c, len)) {
        /* the server holds all the request input it may: this body waits for
         * no one (a client that sent most of a body and stopped must not hold
         * it, times max_connections) */
        LOG_WARN("http", "request input of all connections over %zu bytes: refusing a body",
                 c->server->opts.max_input_buffered);
        c->server->stats.input_refused++;
        req->status = 503;
        return -1;
    }
    if (util_buf_append(&req->body, at, len)) return -1;
    http_conn_charge_input(c);
    return 0;
}

static int on_message_complete(http_parser *p) {
    http_conn *c = p->data;
    http_req *req = c->req;
    req->complete = 1;
    req->keep_alive = (uint8_t)http_should_keep_alive(p);
    req->upgrade = (uint8_t)p->upgrade;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- dispatch ----------------------------------------------------------------------- */

static void conn_dispatch(http_conn *c) {
    http_req *req = c->req;
    http_server *s = c->server;
    s->stats.requests_total++;
    req->dispatched = 1;
    http_conn_set_state(c, CONN_HANDLER);
    if (s->shutting_down) c->close_after = 1;
    if (!req->route) {
        int mismatch = 0;
        http_router_match(s, req->head.data, req->path_len, req->method, &mismatch);
        if (mismatch) {
            util_buf allow = UTIL_BUF_INIT;
            if (http_router_allow_header(s, req->head.data, req->path_len, &allow) == 0) {
                http_res_header(req, "Allow", allow.data);
                http_res_send(req, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
            } else {
                http_res_send(req, 500, "text/plain; charset=utf-8", "Internal Server Error\n");
            }
            util_buf_free(&allow);
        } else {
            http_res_send(req, 404, "text/plain; charset=utf-8", "Not Found\n");
        }
        return;
    }
    req->route->r.handler(req, req->route->r.userdata);
}

/* Parses as much of data as the current state allows; returns bytes consumed.
 * `data` is either the read slab or c->pending.data (from_pending set). */
static size_t conn_parse(http_conn *c, char *data, size_t len, int from_pending) {
    size_t off = 0;
    /* stops at a request a handler holds, and before the next one while the
     * answers given so far are over the output bound */
    while (off < len && !c->closing && !c->close_after && !(c->req && c->req->dispatched) &&
           !conn_output_full(c)) {
        if (HTTP_PARSER_ERRNO(&c->parser) == HPE_PAUSED) http_parser_pause(&c->parser, 0);
        size_t n = http_parser_execute(&c->parser, &parser_settings, data + off, len - off);
        off += n;
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (err == HPE_PAUSED || (err == HPE_OK && c->req && c->req->complete)) {
            if (c->req->upgrade) {
                /* everything after the head belongs to the next protocol: leave
                 * exactly those bytes in c->pending for http_req_take_socket */
                if (from_pending) {
                    util_buf_consume(&c->pending, off);
                } else if (util_buf_append(&c->pending, data + off, len - off) != 0) {
                    /* the next protocol's first bytes would be lost */
                    http_conn_send_error(c, 503, 1);
                    return len;
                }
                conn_dispatch(c);
                return SIZE_MAX;
            }
            conn_dispatch(c);
            continue;
        }
        if (err != HPE_OK) {
            int status = c->req && c->req->status ? c->req->status : 400;
            if (status == 414) status = 431;
            if (status == 413 && c->req->route && c->req->route->r.on_too_large)
                c->req->route->r.on_too_large(c->req, c->req->route->r.userdata);
            LOG_DEBUG("http", "bad request (%d): %s", status, http_errno_description(err));
            http_conn_send_error(c, status, 1);
            return len;
        }
        if (n == 0) break;
    }
    return off;
}

/* Parses input straight from the read slab and keeps what could not be
 * parsed yet. Returns 0 when the connection was handed to another layer
 * (and freed here), else 1. */
static int conn_feed(http_conn *c, char *data, size_t len) {
    c->feeding = 1;
    size_t used = conn_parse(c, data, len, 0);
    c->feeding = 0;
    if (c->taken) {
        free(c);
        return 0;
    }
    if (used < len && !c->closing && !c->lingering &&
        util_buf_append(&c->pending, data + used, len - used))
        http_conn_close(c);
    return 1;
}

/* Starts or stops reading: a connection reads unless its unsent output is
 * over the bound, or it holds more unparsed input than a head may take
 * (resuming once that is back under max_head_size). A lingering connection
 * always reads: its input is dropped. */
static void conn_reading(http_conn *c) {
    if (c->closing || c->taken) return;
    size_t head = c->server->opts.max_head_size;
    int stop = !c->lingering && (conn_output_full(c) || c->pending.len > head + PENDING_SLACK ||
                                 (c->read_stopped && c->pending.len > head));
    if (stop && !c->read_stopped) {
        uv_read_stop((uv_stream_t *)c->tcp);
        c->read_stopped = 1;
    } else if (!stop && c->read_stopped) {
        if (uv_read_start((uv_stream_t *)c->tcp, util_slab_alloc, on_read) != 0) {
            http_conn_close(c);
            return;
        }
        c->read_stopped = 0;
    }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    http_conn *c = stream->data;
    if (nread < 0) {
        http_conn_close(c);
        return;
    }
    if (nread == 0 || c->closing || c->lingering) return; /* lingering: input is dropped */
    if (c->pending.len) {
        if (util_buf_append(&c->pending, buf->base, (size_t)nread)) {
            http_conn_close(c);
            return;
        }
        if (!conn_drain(c)) return;
    } else if (!conn_feed(c, buf->base, (size_t)nread)) {
        return;
    }
    if (c->closing) return;
    http_conn_charge_input(c);
    if (!c->lingering && conn_input_over(c, 0)) {
        /* heads trickled by many connections, or pipelined input behind held
         * requests: the one that grew past the server's bound goes */
        LOG_WARN("http", "request input of all connections over %zu bytes: closing a connection",
                 c->server->opts.max_input_buffered);
        c->server->stats.input_refused++;
        if (c->req && c->req->dispatched)
            http_conn_close(c);
        else
            http_conn_send_error(c, 503, 1);
        return;
    }
    conn_reading(c);
}

/* Parses what waits in c->pending, if the connection may parse now. Returns
 * 0 when the connection was handed to another layer (and freed here). */
static int conn_drain(http_conn *c) {
    if (c->feeding || c->closing || c->lingering || !c->pending.len) return 1;
    if ((c->req && c->req->dispatched) || conn_output_full(c)) return 1;
    c->feeding = 1;
    size_t used = conn_parse(c, c->pending.data, c->pending.len, 1);
    c->feeding = 0;
    if (c->taken) {
        free(c);
        return 0;
    }
    if (c->closing || used == SIZE_MAX) return 1;
    util_buf_consume(&c->pending, used);
    conn_reading(c);
    return 1;
}

static void drain_idle_cb(uv_idle_t *idle) {
    http_conn *c = idle->data;
    uv_close((uv_handle_t *)idle, (uv_close_cb)free);
    c->drain_idle = NULL;
    conn_drain(c);
}

/* A response ended or output drained under the bound: a pipelined request
 * that waits is parsed on the next loop turn (not inside whatever callback
 * got us here), and reading restarts if nothing holds it back any more. */
static void conn_resume(http_conn *c) {
    if (c->closing || c->lingering || c->feeding) return;
    if (c->pending.len && !c->drain_idle && !(c->req && c->req->dispatched) &&
        !conn_output_full(c)) {
        uv_idle_t *idle = malloc(sizeof *idle);
        if (!idle) {
            http_conn_close(c);
            return;
        }
        uv_idle_init(c->server->loop, idle);
        idle->data = c;
        c->drain_idle = idle;
        uv_idle_start(idle, drain_idle_cb);
    }
    conn_reading(c);
}

void http_conn_request_done(http_conn *c, int close_after) {
    c->req = NULL; /* already freed by the response code */
    http_conn_charge_input(c);
    if (c->closing) return;
    if (close_after) c->close_after = 1;
    if (c->close_after) {
        if (!c->writes_pending) conn_linger(c);
        return;
    }
    http_conn_set_state(c, CONN_IDLE);
    conn_resume(c);
}

/* ---- writing --------------------------------------------------------------------------- */

static void write_req_release(http_write_req *wr) {
    for (unsigned i = 0; i < wr->nowned; i++) free(wr->owned[i]);
    util_rcbuf_unref(wr->shared);
    free(wr);
}

static void on_write(uv_write_t *w, int status) {
    http_write_req *wr = (http_write_req *)w;
    http_conn *c = wr->conn;
    assert(c->writes_pending > 0 && c->out_bytes >= wr->bytes);
    c->writes_pending--;
    c->out_bytes -= wr->bytes;
    http_write_cb cb = wr->cb;
    http_req *req = wr->req;
    void *ud = wr->userdata;
    write_req_release(wr);
    if (cb) {
        /* the callback may end the request or even take the socket: no parsing
         * inside it, and c is freed here if it was taken */
        uint8_t was_feeding = c->feeding;
        c->feeding = 1;
        cb(req, status, ud);
        c->feeding = was_feeding;
        if (c->taken) {
            if (!was_feeding) free(c);
            return;
        }
    }
    if (c->closing) return;
    if (status < 0) {
        http_conn_close(c);
        return;
    }
    if (c->close_after) {
        if (!c->writes_pending && !c->req) conn_linger(c);
        return;
    }
    conn_resume(c);
}

int http_conn_write(http_conn *c, uv_buf_t *bufs, unsigned nbufs, unsigned owned_mask,
                    util_rcbuf *shared, http_write_cb cb, http_req *req, void *userdata) {
    assert(nbufs <= 4);
    http_write_req *wr = calloc(1, sizeof *wr);
    if (!wr) {
        for (unsigned i = 0; i < nbufs; i++)
            if (owned_mask & (1u << i)) free(bufs[i].base);
        util_rcbuf_unref(shared);
        return SIO_ENOMEM;
    }
    wr->conn = c;
    wr->cb = cb;
    wr->req = req;
    wr->userdata = userdata;
    wr->shared = shared;
    for (unsigned i = 0; i < nbufs; i++) {
        wr->bytes += bufs[i].len;
        if (owned_mask & (1u << i)) wr->owned[wr->nowned++] = bufs[i].base;
    }
    if (c->closing) {
        write_req_release(wr);
        return SIO_ECLOSED;
    }
    int r = uv_write(&wr->w, (uv_stream_t *)c->tcp, bufs, nbufs, on_write);
    if (r) {
        write_req_release(wr);
        http_conn_close(c);
        return r;
    }
    c->writes_pending++;
    c->out_bytes += wr->bytes;
    return 0;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

int http_conn_start(http_server *s, uv_tcp_t *tcp) {
    http_conn *c = calloc(1, sizeof *c);
    if (!c) return SIO_ENOMEM;
    c->server = s;
    c->tcp = tcp;
    tcp->data = c;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    util_timer_init(&c->timer);
    int r = uv_read_start((uv_stream_t *)tcp, util_slab_alloc, on_read);
    if (r) {
        free(c);
        return r;
    }
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->stats.connections_open++;
    s->stats.connections_total++;
    http_conn_set_state(c, CONN_IDLE);
    return 0;
}

static void conn_closed(uv_handle_t *h) {
    http_conn *c = h->data;
    /* libuv ran every write callback (cancelled ones too) before this one */
    assert(c->closing && !c->taken && !c->drain_idle);
    assert(c->writes_pending == 0 && c->out_bytes == 0);
    free(h);
    if (c->req) {
        http_req *req = c->req;
        c->req = NULL;
        if (req->dispatched && req->abort_cb) req->abort_cb(req, req->abort_ud);
        http_req_free(req);
    }
    util_buf_free(&c->pending);
    http_conn_charge_input(c);
    assert(c->in_charged == 0);
    http_server_conn_closed(c->server, c);
    assert(!c->next && !c->prev && !util_timer_active(&c->timer));
    free(c);
}

void http_conn_close(http_conn *c) {
    if (c->closing) return;
    c->closing = 1;
    util_timer_stop(&c->server->wheel, &c->timer);
    if (c->drain_idle) {
        uv_close((uv_handle_t *)c->drain_idle, (uv_close_cb)free);
        c->drain_idle = NULL;
    }
    uv_close((uv_handle_t *)c->tcp, conn_closed);
}

uv_tcp_t *http_req_take_socket(http_req *req, char **leftover, size_t *leftover_len) {
    http_conn *c = req->conn;
    if (!req->upgrade || c->closing || c->writes_pending || c->drain_idle) return NULL;
    uv_tcp_t *tcp = c->tcp;
    uv_read_stop((uv_stream_t *)tcp);
    *leftover_len = c->pending.len;
    *leftover = util_buf_detach(&c->pending, NULL);
    c->req = NULL;
    http_req_free(req);
    http_conn_charge_input(c); /* pending was detached: nothing is held any more */
    /* unregister without closing the socket */
    util_timer_stop(&c->server->wheel, &c->timer);
    c->closing = 1;
    c->taken = 1;
    tcp->data = NULL;
    /* still counted toward max_connections until http_server_socket_closed;
     * counted before the unlink, so that a shutting-down server waits for it */
    c->server->stats.connections_upgraded++;
    http_server_conn_closed(c->server, c);
    assert(!c->next && !c->prev && !c->req && !c->pending.len);
    if (!c->feeding) free(c); /* else conn_feed/conn_drain/on_write free it when they unwind */
    return tcp;
}
