/* ws-echo-server: the WebSocket layer alone. Every message received on /ws is
 * sent back as it came (text or binary); a text message "close:CODE:REASON"
 * makes the server start the close handshake with that code instead, and
 * "stats" answers with counters. It is also the raw C ceiling the benchmarks
 * compare the Socket.IO server with: with --broadcast, a text message that
 * starts with "B" goes to every open connection (the sender included) as one
 * frame encoded once and queued by reference on each (ws_frame_new +
 * ws_send_frame), the raw counterpart of a Socket.IO broadcast.
 *
 *   --port N  --max-message BYTES  --max-queue BYTES  --deflate  --close-timeout MS
 *   --broadcast
 * Prints "listening on PORT"; SIGTERM/SIGINT shut it down (exit 0, leak-free).
 */
#include "socketio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_server *http;
static ws_server *ws;
static unsigned long messages, closes;
static int broadcast_mode;

/* Open connections, for --broadcast: an array, each connection's userdata is
 * its index + 1 (0: not listed). */
static ws_conn **conns;
static size_t nconns, capconns;

static void conn_add(ws_conn *c) {
    if (nconns == capconns) {
        size_t cap = capconns ? capconns * 2 : 1024;
        ws_conn **n = realloc(conns, cap * sizeof *n);
        if (!n) return;
        conns = n;
        capconns = cap;
    }
    conns[nconns++] = c;
    ws_conn_set_data(c, (void *)(uintptr_t)nconns);
}

static void conn_remove(ws_conn *c) {
    uintptr_t i = (uintptr_t)ws_conn_get_data(c);
    if (!i) return;
    ws_conn *last = conns[--nconns];
    conns[i - 1] = last;
    ws_conn_set_data(last, (void *)i);
    ws_conn_set_data(c, NULL);
}

static void broadcast(const uint8_t *data, size_t len) {
    ws_frame *f = ws_frame_new(data, len, false);
    if (!f) return;
    /* backwards: a slow reader cut off here is swapped out with an already served one */
    for (size_t i = nconns; i-- > 0;) ws_send_frame(conns[i], f);
    ws_frame_release(f);
}

static void on_message(ws_conn *c, const uint8_t *data, size_t len, bool binary, void *ud) {
    messages++;
    if (!binary && len > 6 && memcmp(data, "close:", 6) == 0) {
        char buf[160];
        size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
        memcpy(buf, data, n);
        buf[n] = '\0';
        char *reason = strchr(buf + 6, ':');
        if (reason) *reason++ = '\0';
        ws_close(c, atoi(buf + 6), reason ? reason : "");
        return;
    }
    if (!binary && len == 5 && memcmp(data, "stats", 5) == 0) {
        char out[128];
        int n = snprintf(out, sizeof out, "{\"connections\":%zu,\"messages\":%lu,\"closes\":%lu}",
                         ws_server_connections(ws), messages, closes);
        ws_send(c, out, (size_t)n, false);
        return;
    }
    if (broadcast_mode && !binary && len >= 1 && data[0] == 'B') {
        broadcast(data, len);
        return;
    }
    ws_send(c, data, len, binary);
}

static void on_close(ws_conn *c, int code, const char *reason, void *ud) {
    closes++;
    conn_remove(c);
}

static const ws_callbacks callbacks = {.on_message = on_message, .on_close = on_close};

static void ws_route(http_req *req, void *ud) {
    ws_conn *c = ws_accept(ws, req, &callbacks, NULL);
    if (!c) return;
    if (broadcast_mode) conn_add(c);
    ws_conn_start(c);
}

static void on_http_shutdown(http_server *s, void *ud) {
    ws_server_close(ws, NULL, NULL);
}

static const char *opt(int argc, char **argv, const char *name) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0) return i + 1 < argc ? argv[i + 1] : "";
    return NULL;
}

int main(int argc, char **argv) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = opt(argc, argv, "--port") ? atoi(opt(argc, argv, "--port")) : 0;
    ho.max_connections = 30000;
    if (opt(argc, argv, "--max-input"))
        ho.max_input_buffered = strtoull(opt(argc, argv, "--max-input"), NULL, 10);
    ws_options wo;
    ws_options_init(&wo);
    if (opt(argc, argv, "--max-message"))
        wo.max_message_size = strtoull(opt(argc, argv, "--max-message"), NULL, 10);
    if (opt(argc, argv, "--max-queue"))
        wo.max_queue_bytes = strtoull(opt(argc, argv, "--max-queue"), NULL, 10);
    if (opt(argc, argv, "--close-timeout"))
        wo.close_timeout_ms = (uint32_t)atoi(opt(argc, argv, "--close-timeout"));
    wo.permessage_deflate = opt(argc, argv, "--deflate") != NULL;
    broadcast_mode = opt(argc, argv, "--broadcast") != NULL;
    http = http_server_new(loop, &ho);
    ws = ws_server_new(loop, &wo);
    http_route r = {.method = "GET", .path = "/ws", .handler = ws_route};
    http_server_route(http, &r);
    http_server_on_shutdown(http, on_http_shutdown, NULL);
    int rc = http_server_listen(http);
    if (rc) {
        fprintf(stderr, "listen: %s\n", sio_strerror(rc));
        return 1;
    }
    printf("listening on %d\n", http_server_port(http));
    fflush(stdout);
    http_server_shutdown_on_signals(http, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    free(conns);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
