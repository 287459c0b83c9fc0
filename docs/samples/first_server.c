/* first_server.c - a web app serving ./public, with a Socket.IO server
 * attached that echoes "msg_to_server" on namespace /chat. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

static void on_msg(sio_socket *s, sio_event *ev, void *userdata) {
    size_t len;
    const char *args = sio_event_args_raw(ev, &len); /* as the client sent them */
    sio_emit_raw(s, "msg_to_client", args, len);     /* back to the sender */
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho); /* app = web.Application() */
    http_server_static(app, "/", "public", NULL);  /* the page */
    sio_server *sio = sio_server_new(loop, NULL);  /* sio = socketio.AsyncServer() */
    sio_attach(sio, app);                          /* sio.attach(app) */
    /* @sio.on('msg_to_server', namespace='/chat') */
    sio_on(sio, "/chat", "msg_to_server", on_msg, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT); /* web.run_app(app) */
}
