/* sio-chat: the chat app of socketio-c, the C version of the original
 * Python app: one event loop running the web app (the HTTP server serving
 * the page in client/) and the Socket.IO server attached to it, carrying the
 * chat over namespace /chat, with the history in SQLite.
 *
 *     Python                                       here
 *     sio = socketio.AsyncServer()                 sio_server_new(loop, &so)
 *     app = web.Application()                      http_server_new(loop, &ho)
 *     sio.attach(app)                              sio_attach(sio, http)
 *     app.router.add_static / index.html           http_server_static(http, "/", dir, NULL)
 *     @sio.on('msg_to_server', namespace='/chat')  chat_register() in chat.c
 *     web.run_app(app)                             uv_run(loop, UV_RUN_DEFAULT)
 */
#include "chat.h"
#include "cli_num.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIO_CHAT_DEFAULT_STATIC
#define SIO_CHAT_DEFAULT_STATIC "examples/chat/client"
#endif

static http_server *http;
static chat_app app;

static void usage(FILE *f) {
    fprintf(f, "usage: sio-chat [options]\n"
               "  --host ADDR        address to listen on (default 127.0.0.1; env SIO_CHAT_HOST)\n"
               "  --port N           port (default 8080; env PORT)\n"
               "  --db PATH          SQLite history (default chat.db; \":memory:\" keeps nothing)\n"
               "  --static-dir DIR   the page's folder (default " SIO_CHAT_DEFAULT_STATIC ")\n"
               "  --log-level LEVEL  debug, info, warn, error (default info)\n"
               "  --help             this text\n");
}

static void on_http_closed(void *ud) {
    /* every socket is gone: now drain the history queue and close the database */
    chat_store_close(app.store, NULL, NULL);
}

int main(int argc, char **argv) {
    const char *host = getenv("SIO_CHAT_HOST") ? getenv("SIO_CHAT_HOST") : "127.0.0.1";
    const char *static_dir = SIO_CHAT_DEFAULT_STATIC, *db = "chat.db";
    const char *port_text = NULL; /* --port, else $PORT, else 8080 */
    static const struct option long_opts[] = {
        {"host", required_argument, 0, 'h'},
        {"port", required_argument, 0, 'p'},
        {"db", required_argument, 0, 'd'},
        {"static-dir", required_argument, 0, 's'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'H'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            port_text = optarg;
            break;
        case 'd':
            db = optarg;
            break;
        case 's':
            static_dir = optarg;
            break;
        case 'l': {
            int l = sio_log_level_parse(optarg);
            if (l < 0) {
                usage(stderr);
                return 2;
            }
            sio_log_set(NULL, (sio_log_level)l, NULL);
            break;
        }
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }

    /* numbers: strict, a flag before its environment variable (cli_num.h) */
    int port = 8080;
    if (port_text)
        port = (int)cli_int("sio-chat", "--port", port_text, 0, 65535);
    else if (getenv("PORT"))
        port = (int)cli_int("sio-chat", "PORT", getenv("PORT"), 0, 65535);

    uv_loop_t *loop = uv_default_loop();
    const char *err = NULL;
    app.store = chat_store_open(loop, db, &err);
    if (!app.store) {
        fprintf(stderr, "sio-chat: cannot open %s: %s\n", db, err);
        return 1;
    }

    /* app = web.Application() */
    http_server_options ho;
    http_server_options_init(&ho);
    ho.host = host;
    ho.port = port;
    http = http_server_new(loop, &ho);
    int r = http_server_static(http, "/", static_dir, NULL);
    if (r) {
        fprintf(stderr, "sio-chat: cannot serve %s: %s\n", static_dir, sio_strerror(r));
        return 1;
    }

    /* sio = socketio.AsyncServer(); sio.attach(app) */
    sio_server_options so;
    sio_server_options_init(&so);
    app.sio = sio_server_new(loop, &so);
    if (!app.sio || chat_register(&app) != 0 || sio_attach(app.sio, http) != 0) {
        fprintf(stderr, "sio-chat: cannot start the Socket.IO server\n");
        return 1;
    }

    if ((r = http_server_listen(http)) != 0) {
        fprintf(stderr, "sio-chat: cannot listen on %s:%d: %s\n", host, port, sio_strerror(r));
        return 1;
    }
    /* SIGINT, SIGTERM; before the announcement, so a signal sent on it shuts down cleanly */
    http_server_shutdown_on_signals(http, on_http_closed, NULL);
    printf("sio-chat: listening on %d\n", http_server_port(http));
    printf("sio-chat: open http://%s:%d/ in a browser\n", strchr(host, ':') ? "[::1]" : host,
           http_server_port(http));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
