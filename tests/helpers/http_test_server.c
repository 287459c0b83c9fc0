/* http-test-server: the HTTP layer alone, with routes the HTTP tests drive.
 *
 *   /            static files from --root
 *   POST /echo   echoes the body (limit 1024 bytes: 413 above)
 *   POST /upload takes a body of up to 4 MB and answers its length
 *   GET /hold    answers after ?ms= milliseconds (an asynchronous handler)
 *   GET /query   echoes the decoded query parameters a and b
 *   GET /header  echoes the X-Test request header
 *   GET /stats   the server's counters as JSON
 *   GET /bytes   ?n= bytes (a..z repeated), built and copied per answer
 *   GET /shared  one 200,000-byte shared body (http_body), the same bytes as
 *                /bytes?n=200000, written without a copy
 * Prints "listening on PORT" once bound; SIGTERM/SIGINT shut it down
 * gracefully, and it exits 0 after freeing everything (ASan checks leaks).
 */
#include "socketio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_server *server;
static http_body *shared;

#define SHARED_LEN 200000

static void fill_pattern(char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (char)('a' + i % 26);
}

static void bytes_handler(http_req *req, void *ud) {
    const char *n = http_req_query(req, "n");
    size_t len = n ? strtoull(n, NULL, 10) : 0;
    char *body = len <= 64u << 20 ? malloc(len ? len : 1) : NULL;
    if (!body) {
        http_res_send(req, 400, "text/plain", "bad n\n");
        return;
    }
    fill_pattern(body, len);
    http_res_header(req, "Content-Type", "application/octet-stream");
    http_res_end(req, body, len);
    free(body);
}

static void shared_handler(http_req *req, void *ud) {
    http_res_header(req, "Content-Type", "application/octet-stream");
    http_res_end_body(req, shared);
}

static void echo_handler(http_req *req, void *ud) {
    size_t len;
    const char *body = http_req_body(req, &len);
    const char *ct = http_req_header(req, "content-type");
    http_res_header(req, "Content-Type", ct ? ct : "application/octet-stream");
    http_res_end(req, body, len);
}

static void upload_handler(http_req *req, void *ud) {
    size_t len;
    http_req_body(req, &len);
    char text[32];
    snprintf(text, sizeof text, "%zu", len);
    http_res_send(req, 200, "text/plain", text);
}

typedef struct hold {
    uv_timer_t timer;
    http_req *req;
    char text[64];
} hold;

static void hold_closed(uv_handle_t *h) {
    free(h->data);
}

static void hold_fire(uv_timer_t *t) {
    hold *h = t->data;
    if (h->req) {
        http_req_on_abort(h->req, NULL, NULL);
        http_res_send(h->req, 200, "text/plain", h->text);
    }
    uv_close((uv_handle_t *)t, hold_closed);
}

static void hold_abort(http_req *req, void *ud) {
    hold *h = ud;
    h->req = NULL;
    uv_close((uv_handle_t *)&h->timer, hold_closed); /* don't keep the loop alive */
}

static void hold_handler(http_req *req, void *ud) {
    const char *ms = http_req_query(req, "ms");
    hold *h = calloc(1, sizeof *h);
    h->req = req;
    snprintf(h->text, sizeof h->text, "held %s", ms ? ms : "0");
    uv_timer_init(http_server_loop(server), &h->timer);
    h->timer.data = h;
    http_req_on_abort(req, hold_abort, h);
    uv_timer_start(&h->timer, hold_fire, ms ? strtoull(ms, NULL, 10) : 0, 0);
}

static void query_handler(http_req *req, void *ud) {
    const char *a = http_req_query(req, "a");
    const char *b = http_req_query(req, "b");
    char out[1024];
    snprintf(out, sizeof out, "a=[%s] b=[%s]", a ? a : "(none)", b ? b : "(none)");
    http_res_send(req, 200, "text/plain; charset=utf-8", out);
}

static void header_handler(http_req *req, void *ud) {
    const char *v = http_req_header(req, "x-test");
    http_res_send(req, 200, "text/plain", v ? v : "(none)");
}

static void stats_handler(http_req *req, void *ud) {
    http_server_stats st;
    http_server_get_stats(server, &st);
    char out[320];
    snprintf(out, sizeof out,
             "{\"open\":%llu,\"total\":%llu,\"requests\":%llu,\"rejected\":%llu,\"timeouts\":%llu,"
             "\"input\":%llu,\"input_refused\":%llu}",
             (unsigned long long)st.connections_open, (unsigned long long)st.connections_total,
             (unsigned long long)st.requests_total, (unsigned long long)st.connections_rejected,
             (unsigned long long)st.timeouts, (unsigned long long)st.input_buffered,
             (unsigned long long)st.input_refused);
    http_res_send(req, 200, "application/json", out);
}

static unsigned long opt_num(int argc, char **argv, const char *name, unsigned long def) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return strtoul(argv[i + 1], NULL, 10);
    return def;
}

static const char *opt_str(int argc, char **argv, const char *name, const char *def) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options o;
    http_server_options_init(&o);
    o.port = (int)opt_num(argc, argv, "--port", 0);
    o.host = opt_str(argc, argv, "--host", "127.0.0.1");
    o.head_timeout_ms = (uint32_t)opt_num(argc, argv, "--head-timeout", o.head_timeout_ms);
    o.body_timeout_ms = (uint32_t)opt_num(argc, argv, "--body-timeout", o.body_timeout_ms);
    o.idle_timeout_ms = (uint32_t)opt_num(argc, argv, "--idle-timeout", o.idle_timeout_ms);
    o.max_connections = (unsigned)opt_num(argc, argv, "--max-connections", o.max_connections);
    o.max_head_size = opt_num(argc, argv, "--max-head", o.max_head_size);
    o.shutdown_grace_ms = (uint32_t)opt_num(argc, argv, "--grace", o.shutdown_grace_ms);
    o.max_output_size = opt_num(argc, argv, "--max-output", o.max_output_size);
    o.max_input_buffered = opt_num(argc, argv, "--max-input", o.max_input_buffered);
    server = http_server_new(loop, &o);
    char *pattern = malloc(SHARED_LEN);
    if (!pattern) return 1;
    fill_pattern(pattern, SHARED_LEN);
    shared = http_body_new(pattern, SHARED_LEN);
    free(pattern);
    if (!shared) return 1;
    const char *root = opt_str(argc, argv, "--root", NULL);
    if (root && http_server_static(server, "/", root, NULL) != 0) {
        fprintf(stderr, "bad --root %s\n", root);
        return 2;
    }
    http_route routes[] = {
        {.method = "POST", .path = "/echo", .max_body = 1024, .handler = echo_handler},
        {.method = "POST", .path = "/upload", .max_body = 4000000, .handler = upload_handler},
        {.method = "GET", .path = "/hold", .handler = hold_handler},
        {.method = "GET", .path = "/query", .handler = query_handler},
        {.method = "GET", .path = "/header", .handler = header_handler},
        {.method = "GET", .path = "/stats", .handler = stats_handler},
        {.method = "GET", .path = "/bytes", .handler = bytes_handler},
        {.method = "GET", .path = "/shared", .handler = shared_handler},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        http_server_route(server, &routes[i]);
    int r = http_server_listen(server);
    if (r) {
        fprintf(stderr, "listen: %s\n", sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(server));
    fflush(stdout);
    http_server_shutdown_on_signals(server, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    http_body_release(shared); /* answers still written held their own references */
    r = uv_loop_close(loop);
    if (r) {
        fprintf(stderr, "loop not empty at exit: %s\n", uv_strerror(r));
        return 3;
    }
    return 0;
}
