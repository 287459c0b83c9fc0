/* ws/ws_accept.c - taking a connection from the HTTP server: the handshake
 * check (RFC 6455 4.2.1), the refusal, and the 101 answer with the
 * extensions and subprotocol agreed. See ws_internal.h.
 */
#include "ws/ws_internal.h"
#include "util/cacheline.h"
#include "ws/ws_handshake.h"

#include <stdlib.h>
#include <string.h>

int ws_handshake_check(const http_req *req) {
    const char *upgrade = http_req_header(req, "upgrade");
    const char *connection = http_req_header(req, "connection");
    const char *key = http_req_header(req, "sec-websocket-key");
    const char *version = http_req_header(req, "sec-websocket-version");
    if (strcmp(http_req_method(req), "GET") != 0) return 400;
    if (http_req_http_minor(req) < 1) return 400; /* RFC 6455 4.1: HTTP/1.1 or later */
    if (!upgrade || !ws_header_has_token(upgrade, strlen(upgrade), "websocket")) return 400;
    if (!connection || !ws_header_has_token(connection, strlen(connection), "upgrade")) return 400;
    if (!version || strcmp(version, "13") != 0) return 426;
    char accept[WS_ACCEPT_LEN + 1];
    if (!key || ws_accept_key(key, strlen(key), accept) != 0) return 400;
    if (!http_req_is_upgrade(req)) return 400;
    return 0;
}

void ws_reject(http_req *req, int status, const char *message) {
    if (status == 426) http_res_header(req, "Sec-WebSocket-Version", "13");
    http_res_send(req, status, "text/plain; charset=utf-8", message ? message : "Bad Request\n");
}

ws_conn *ws_accept(ws_server *ws, http_req *req, const ws_callbacks *cb, void *userdata) {
    int st = ws_handshake_check(req);
    if (st) {
        ws_reject(req, st, NULL);
        return NULL;
    }
    if (ws->closing) {
        http_res_send(req, 503, "text/plain", "Service Unavailable\n");
        return NULL;
    }
    const char *key = http_req_header(req, "sec-websocket-key");
    char accept[WS_ACCEPT_LEN + 1];
    ws_accept_key(key, strlen(key), accept);

    util_buf head = UTIL_BUF_INIT;
    int r = util_buf_printf(&head,
                            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                            accept);
    ws_deflate *deflate = NULL;
    const char *ext = http_req_header(req, "sec-websocket-extensions");
    if (ws->opts.permessage_deflate && ext) {
        ws_deflate_params agreed;
        char resp[WS_DEFLATE_RESPONSE_MAX];
        if (ws_deflate_negotiate(ext, strlen(ext), NULL, &agreed, resp, sizeof resp) == 1) {
            deflate = ws_deflate_new(&agreed, -1, 8);
            if (deflate && r == 0)
                r = util_buf_printf(&head, "Sec-WebSocket-Extensions: %s\r\n", resp);
        }
    }
    const char *protos = http_req_header(req, "sec-websocket-protocol");
    if (protos && ws->opts.select_subprotocol) {
        const char *p = ws->opts.select_subprotocol(protos, ws->opts.subprotocol_userdata);
        if (p && !strpbrk(p, "\r\n") && r == 0)
            r = util_buf_printf(&head, "Sec-WebSocket-Protocol: %s\r\n", p);
    }
    /* headers the caller set with http_res_header (a cookie, say) */
    if (req->res_headers.len && r == 0)
        r = util_buf_append(&head, req->res_headers.data, req->res_headers.len);
    if (r == 0) r = util_buf_append(&head, "\r\n", 2);
    /* a head cut short by a failed append is never sent: a 500 instead (below) */
    util_rcbuf *answer = r == 0 ? util_rcbuf_from_buf(&head) : NULL;
    util_buf_free(&head);

    ws_conn *c = util_calloc_line(sizeof *c);
    char *leftover = NULL;
    size_t leftover_len = 0;
    http_server *http = http_req_server(req); /* req is freed by the take */
    uv_tcp_t *tcp = c && answer ? http_req_take_socket(req, &leftover, &leftover_len) : NULL;
    if (!tcp) {
        free(c);
        util_rcbuf_unref(answer);
        if (deflate) ws_deflate_free(deflate);
        http_res_send(req, 500, "text/plain", "Internal Server Error\n");
        return NULL;
    }
    c->srv = ws;
    c->tcp = tcp;
    c->http = http;
    tcp->data = c;
    c->cb = cb;
    c->ud = userdata;
    c->deflate = deflate;
    c->leftover = leftover;
    c->leftover_len = (uint32_t)leftover_len; /* at most max_head_size + 64 KiB */
    util_timer_init(&c->timer);
    ws_parser_init(&c->parser, &ws->parser_cfg, c);
    if (deflate) ws_parser_set_deflate(&c->parser, deflate);
    c->next = ws->conns;
    if (ws->conns) ws->conns->prev = c;
    ws->conns = c;
    ws->nconns++;
    ws_conn_enqueue(c, answer);
    util_rcbuf_unref(answer);
    return c;
}
