/* A program outside the tree that uses the installed library: an HTTP
 * server with a Socket.IO server attached, started and shut down at once. */
#include <socketio.h>
#include <stdio.h>

static void done(void *ud) {
    *(int *)ud = 1;
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = 0;
    http_server *app = http_server_new(loop, &ho);
    sio_server_options so;
    sio_server_options_init(&so);
    so.serve_client = false;
    sio_server *sio = sio_server_new(loop, &so);
    if (!app || !sio || sio_attach(sio, app) != 0 || http_server_listen(app) != 0) return 1;
    int closed = 0;
    http_server_shutdown(app, done, &closed);
    uv_run(loop, UV_RUN_DEFAULT);
    printf("consumer ok: port %s, closed %d\n", closed ? "released" : "held", closed);
    return closed && uv_loop_close(loop) == 0 ? 0 : 2;
}
