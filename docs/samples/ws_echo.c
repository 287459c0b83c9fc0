/* ws_echo.c - the WebSocket layer alone: any request to /echo that asks for
 * an upgrade becomes a WebSocket connection whose messages come back. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

static ws_server *ws;

static void on_message(ws_conn *c, const uint8_t *data, size_t len, bool binary, void *ud) {
    if (ws_send(c, data, len, binary) != 0) ws_abort(c); /* SIO_EBUSY: a slow reader */
}

static void on_close(ws_conn *c, int code, const char *reason, void *ud) {
    printf("closed: %d %s\n", code, reason ? reason : "");
    fflush(stdout);
}

static const ws_callbacks callbacks = {.on_message = on_message, .on_close = on_close};

static void upgrade(http_req *req, void *ud) {
    int status = ws_handshake_check(req);
    if (status != 0) {
        ws_reject(req, status, "a WebSocket handshake, please\n");
        return;
    }
    ws_conn *c = ws_accept(ws, req, &callbacks, NULL); /* answers 101 */
    if (c) ws_conn_start(c);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);

    ws_options wo;
    ws_options_init(&wo);
    wo.max_message_size = 64 * 1024; /* larger messages: close 1009 */
    wo.permessage_deflate = 1;
    ws = ws_server_new(loop, &wo);

    http_server_route(app, &(http_route){.method = "GET", .path = "/echo", .handler = upgrade});
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
