/* http/http_conn.c - one HTTP connection's life: accepting it, reading into
 * the parser, dispatching each request, pipelining, the head/body/idle
 * timeouts, the half-close after the last response, and handing the socket
 * to another protocol. The parser's callbacks (how a request is built) are
 * in http_parse.c, the output (write requests and their bound) in
 * http_write.c.
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

/* Unparsed input a connection may hold past max_head_size before reading stops. */
#define PENDING_SLACK 65536

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

int http_conn_input_over(const http_conn *c, size_t more) {
    size_t limit = c->server->opts.max_input_buffered;
    const http_server_stats *st = &c->server->stats;
    return limit && st->input_buffered - c->in_charged + conn_input_size(c) + more > limit;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    free(req);
}

/* Half-close after the last response, then drop input (see http_internal.h):
 * closing with unread input would make the kernel send a reset, which can
 * destroy the response still in flight (a 413 sent while the body is
 * arriving, say). */
void http_conn_linger(http_conn *c) {
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
        size_t n = http_parser_execute(&c->parser, &http_parse_settings, data + off, len - off);
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
    if (!c->lingering && http_conn_input_over(c, 0)) {
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

/* A pipelined request that waits is parsed on the next loop turn (not
 * inside whatever callback got us here). */
void http_conn_resume(http_conn *c) {
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
        if (!c->writes_pending) http_conn_linger(c);
        return;
    }
    http_conn_set_state(c, CONN_IDLE);
    http_conn_resume(c);
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
