/* shutdown.c - production settings and a graceful shutdown: limits and
 * timeouts set explicitly, a cookie for sticky sessions behind a load
 * balancer, and SIGTERM/SIGINT letting requests in flight finish. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

static http_server *app;
static uv_signal_t sigterm, sigint;

static void closed(void *ud) {
    /* every connection and socket is gone: close our own handles, uv_run returns */
    uv_close((uv_handle_t *)&sigterm, NULL);
    uv_close((uv_handle_t *)&sigint, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
    uv_signal_stop(&sigterm);
    uv_signal_stop(&sigint);
    /* stop accepting; sockets get "server shutting down"; requests get the grace period */
    http_server_shutdown(app, closed, NULL);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();

    http_server_options ho;
    http_server_options_init(&ho);
    ho.host = "127.0.0.1"; /* behind the reverse proxy */
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    ho.max_connections = 20000;
    ho.max_body_size = 256 * 1024;
    ho.idle_timeout_ms = 30000;
    ho.shutdown_grace_ms = 10000;
    app = http_server_new(loop, &ho);

    sio_server_options so;
    sio_server_options_init(&so);
    so.eio.ping_interval = 25000;
    so.eio.ping_timeout = 20000;
    so.eio.max_http_buffer_size = 100 * 1024; /* the largest message accepted */
    so.eio.cookie = "io";                     /* for cookie-based sticky sessions */
    so.eio.cors.origin = "https://chat.example.org";
    so.eio.cors.credentials = true;
    so.connect_timeout = 10000;
    sio_server *sio = sio_server_new(loop, &so);
    if (!app || !sio || sio_attach(sio, app) != 0) return 1;

    int r = http_server_listen(app);
    if (r != 0) {
        fprintf(stderr, "listen: %s\n", sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    uv_signal_init(loop, &sigterm);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 1; /* 0: everything was closed */
}
