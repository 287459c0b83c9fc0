/* http/http_response.c - response heads and bodies.
 *
 * A whole response (head and body) is one allocation and one uv_write. A
 * streamed response writes its head once, then body pieces the caller owns
 * until their write callback (no copy). A shared body (http_body, refcounted)
 * goes out after its head without a copy; the write holds a reference. The server adds Date,
 * Content-Length and Connection itself.
 */
#include "http/http_internal.h"
#include "util/strlit.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *http_status_text(int status) {
    switch (status) {
    case 100:
        return "Continue";
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 414:
        return "URI Too Long";
    case 417:
        return "Expectation Failed";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

void http_date_format(time_t t, char out[30]) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* The Date header changes once a second: format it once a second. */
static const char *http_date_now(void) {
    static _Thread_local time_t cached_sec;
    static _Thread_local char cached[30];
    time_t now = time(NULL);
    if (now != cached_sec) {
        cached_sec = now;
        http_date_format(now, cached);
    }
    return cached;
}

void http_res_status(http_req *req, int status) {
    req->status = status;
}

int http_res_header(http_req *req, const char *name, const char *value) {
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n")) return SIO_EINVAL; /* no splitting */
    return util_buf_printf(&req->res_headers, "%s: %s\r\n", name, value);
}

static int conn_will_close(http_req *req) {
    http_conn *c = req->conn;
    return !req->keep_alive || c->close_after || c->server->shutting_down ||
           (req->upgrade && !c->closing);
}

/* Appends the head to out; body bytes (if any) go after it. */
static int build_head(http_req *req, uint64_t content_length, util_buf *out) {
    int status = req->status ? req->status : 200;
    int r = util_buf_printf(out,
                            "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %llu\r\n"
                            "Connection: %s\r\n",
                            status, http_status_text(status), http_date_now(),
                            (unsigned long long)content_length,
                            conn_will_close(req) ? "close" : "keep-alive");
    if (r) return r;
    if (req->res_headers.len &&
        (r = util_buf_append(out, req->res_headers.data, req->res_headers.len)))
        return r;
    return util_buf_append(out, UTIL_LIT("\r\n"));
}

static void finish_request(http_req *req) {
    http_conn *c = req->conn;
    int close = conn_will_close(req);
    http_req_free(req);
    http_conn_request_done(c, close);
}

int http_res_end(http_req *req, const void *body, size_t len) {
    if (req->head_sent) return SIO_EINVAL;
    int status = req->status ? req->status : 200;
    int no_body = req->is_head || status == 304 || status == 204 || status < 200;
    util_buf out = UTIL_BUF_INIT;
    int r = build_head(req, status == 304 || status == 204 ? 0 : len, &out);
    if (!r && !no_body) r = util_buf_append(&out, body, len);
    if (r) {
        util_buf_free(&out);
        return r;
    }
    req->head_sent = 1;
    uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
    r = http_conn_write(req->conn, &b, 1, 1, NULL, NULL, NULL, NULL);
    finish_request(req);
    return r;
}

http_body *http_body_new(const void *data, size_t len) {
    return http_body_from_buf(util_rcbuf_copy(data, len));
}

void http_body_release(http_body *b) {
    if (!b) return;
    util_rcbuf *body = http_body_buf(b);
    assert(body->refs > 0);
    util_rcbuf_unref(body);
}

int http_res_end_body(http_req *req, http_body *shared) {
    util_rcbuf *body = http_body_buf(shared);
    if (req->head_sent) return SIO_EINVAL;
    assert(body->refs > 0);
    int status = req->status ? req->status : 200;
    int no_body = req->is_head || status == 304 || status == 204 || status < 200;
    util_buf out = UTIL_BUF_INIT;
    int r = build_head(req, status == 304 || status == 204 ? 0 : body->len, &out);
    if (r) {
        util_buf_free(&out);
        return r;
    }
    req->head_sent = 1;
    uv_buf_t b[2] = {uv_buf_init(out.data, (unsigned)out.len),
                     uv_buf_init(body->data, (unsigned)body->len)};
    if (no_body || !body->len)
        r = http_conn_write(req->conn, b, 1, 1, NULL, NULL, NULL, NULL);
    else /* the write holds its own reference until it completes */
        r = http_conn_write(req->conn, b, 2, 1, util_rcbuf_ref(body), NULL, NULL, NULL);
    finish_request(req);
    return r;
}

int http_res_send(http_req *req, int status, const char *content_type, const char *body) {
    http_res_status(req, status);
    if (content_type) http_res_header(req, "Content-Type", content_type);
    return http_res_end(req, body, strlen(body));
}

int http_res_begin(http_req *req, uint64_t content_length) {
    if (req->head_sent) return SIO_EINVAL;
    util_buf out = UTIL_BUF_INIT;
    int r = build_head(req, content_length, &out);
    if (r) {
        util_buf_free(&out);
        return r;
    }
    req->head_sent = 1;
    req->streaming = 1;
    req->content_length = content_length;
    uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
    return http_conn_write(req->conn, &b, 1, 1, NULL, NULL, NULL, NULL);
}

int http_res_write(http_req *req, const void *data, size_t len, http_write_cb cb, void *userdata) {
    if (!req->streaming || req->is_head) return SIO_EINVAL;
    if (req->body_written + len > req->content_length) return SIO_EINVAL;
    req->body_written += len;
    uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
    return http_conn_write(req->conn, &b, 1, 0, NULL, cb, req, userdata);
}

int http_res_finish(http_req *req) {
    if (!req->streaming) return SIO_EINVAL;
    if (!req->is_head && req->body_written != req->content_length) req->conn->close_after = 1;
    finish_request(req);
    return 0;
}

void http_conn_send_error(http_conn *c, int status, int close) {
    const char *text = http_status_text(status);
    http_req *req = c->req;
    /* a request whose route is known and whose handler has not run: the
     * route may add headers to the answer (CORS, for Engine.IO) */
    const http_route *route = req && !req->dispatched && req->route ? &req->route->r : NULL;
    if (route && route->on_error) route->on_error(req, status, route->userdata);
    util_buf out = UTIL_BUF_INIT;
    int r = util_buf_printf(&out,
                            "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: text/plain; "
                            "charset=utf-8\r\nContent-Length: %zu\r\nConnection: %s\r\n",
                            status, text, http_date_now(), strlen(text) + 1,
                            close ? "close" : "keep-alive");
    if (!r && route && req->res_headers.len)
        r = util_buf_append(&out, req->res_headers.data, req->res_headers.len);
    if (!r) r = util_buf_printf(&out, "\r\n%s\n", text);
    if (r) util_buf_free(&out);
    if (req) {
        c->req = NULL;
        if (req->dispatched && req->abort_cb) req->abort_cb(req, req->abort_ud);
        http_req_free(req);
        http_conn_charge_input(c);
    }
    if (close) {
        c->close_after = 1; /* then linger: see conn_linger */
        /* bound the time the peer may take to read the error */
        http_conn_set_state(c, CONN_IDLE);
    }
    if (!r) {
        uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
        http_conn_write(c, &b, 1, 1, NULL, NULL, NULL, NULL);
    } else {
        http_conn_close(c);
    }
}
