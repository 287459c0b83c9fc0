/* http/http_parse.c - the http-parser callbacks that build a request: the
 * target and headers into req->head (NUL-separated strings, bounded by
 * max_head_size and max_headers), the framing and Host checks of RFC 9112
 * that the lenient parser lets through, the route and body limit chosen once
 * the head is complete (100-continue answered there), and the body into
 * req->body (bounded by the route's max_body and the server's input budget).
 * A callback that refuses sets req->status (400, 413, 417, 431, 503, 505)
 * and stops the parser; http_conn.c answers with that status.
 */
#include "http/http_internal.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int head_append(http_conn *c, const char *at, size_t len) {
    http_req *req = c->req;
    if (req->head.len + len > c->server->opts.max_head_size) return -1;
    return util_buf_append(&req->head, at, len) == 0 ? 0 : -1;
}

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
        c->req->status = 431; /* the head, not the target alone, is over max_head_size */
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
    if (http_conn_input_over(c, len)) {
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

const http_parser_settings http_parse_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};
