/* libFuzzer harness for the HTTP/1.1 request path: parser callbacks, limits,
 * pipelining, routing, responses. The input is written, in pieces whose sizes
 * come from the input itself, into one end of a socketpair whose other end is
 * a real connection of a real http_server, and the loop runs until the server
 * has closed it. Every byte goes through the same code as a TCP peer's.
 * Two routes add headers to the HTTP layer's own error answers (on_error).
 */
#include "http/http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uv_loop_t *loop;
static http_server *server;

static void echo(http_req *req, void *ud) {
    size_t len;
    const char *b = http_req_body(req, &len);
    http_req_query(req, "a");
    http_req_header(req, "x-test");
    http_res_header(req, "X-Path", http_req_path(req));
    http_res_end(req, b, len);
}

/* Adds headers to the HTTP layer's own error answers (413, 400...), as the
 * Engine.IO route does with its CORS headers: a value from the request, and
 * enough of them to grow the answer's head. */
static void on_error(http_req *req, int status, void *ud) {
    (void)ud;
    const char *origin = http_req_header(req, "origin");
    http_res_header(req, "Access-Control-Allow-Origin", origin ? origin : "*");
    char s[16];
    snprintf(s, sizeof s, "%d", status);
    for (int i = 0; i < 8; i++) http_res_header(req, "X-Error-Status", s);
}

static void setup(void) {
    loop = uv_default_loop();
    http_server_options o;
    http_server_options_init(&o);
    o.max_head_size = 2048;
    o.max_body_size = 4096;
    o.max_headers = 20;
    server = http_server_new(loop, &o);
    http_route r1 = {.method = "POST", .path = "/e", .handler = echo, .on_error = on_error};
    http_route r2 = {.method = NULL, .path = "/any/", .prefix = 1, .handler = echo};
    http_route r3 = {
        .method = "GET", .path = "/", .handler = echo, .max_body = 16, .on_error = on_error};
    http_server_route(server, &r1);
    http_server_route(server, &r2);
    http_server_route(server, &r3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!server) setup();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 0;
    uv_tcp_t *tcp = malloc(sizeof *tcp);
    uv_tcp_init(loop, tcp);
    if (uv_tcp_open(tcp, sv[0]) != 0 || http_conn_start(server, tcp) != 0) {
        uv_close((uv_handle_t *)tcp, (uv_close_cb)free);
        uv_run(loop, UV_RUN_NOWAIT);
        close(sv[1]);
        return 0;
    }
    size_t step = size ? (size_t)(data[0] % 64) + 1 : 1;
    char sink[4096];
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (send(sv[1], data + off, n, MSG_NOSIGNAL) < 0) break;
        uv_run(loop, UV_RUN_NOWAIT);
        while (read(sv[1], sink, sizeof sink) > 0) {
        }
    }
    shutdown(sv[1], SHUT_WR);
    for (int i = 0; i < 1000 && server->stats.connections_open > 0; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        while (read(sv[1], sink, sizeof sink) > 0) {
        }
    }
    close(sv[1]);
    uv_run(loop, UV_RUN_NOWAIT);
    return 0;
}
