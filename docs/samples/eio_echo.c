/* eio_echo.c - the Engine.IO layer alone (what Socket.IO builds on): every
 * message of a session comes back; a text message starting with "all:" goes
 * to every session, encoded once. Clients: npm engine.io-client. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 64
static eio_socket *sessions[MAX_SESSIONS];

static void on_open(eio_socket *s, http_req *req, void *ud) {
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (!sessions[i]) {
            sessions[i] = s;
            eio_socket_set_data(s, &sessions[i]); /* where to clear it on close */
            return;
        }
    eio_socket_close(s); /* full */
}

static void on_message(eio_socket *s, const char *data, size_t len, bool binary, void *ud) {
    if (binary || len < 4 || memcmp(data, "all:", 4) != 0) {
        eio_send(s, data, len, binary); /* text stays text, binary stays binary */
        return;
    }
    eio_msg *m = eio_msg_new(data + 4, len - 4, false);
    if (!m) return;
    for (int i = 0; i < MAX_SESSIONS; i++)
        if (sessions[i]) eio_send_msg(sessions[i], m); /* each takes a reference */
    eio_msg_release(m);
}

static void on_close(eio_socket *s, const char *reason, void *ud) {
    eio_socket **slot = eio_socket_get_data(s);
    if (slot) *slot = NULL;
    printf("session %s closed: %s\n", eio_socket_id(s), reason);
    fflush(stdout);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);

    eio_options eo;
    eio_options_init(&eo); /* path "/engine.io/", both transports */
    eo.ping_interval = 10000;
    eo.cors.origin = "*";
    eio_callbacks cb = {.on_open = on_open, .on_message = on_message, .on_close = on_close};
    eio_server *eio = eio_server_new(loop, &eo, &cb, NULL);
    eio_server_attach(eio, app);

    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
