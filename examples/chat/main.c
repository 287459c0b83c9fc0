/* sio-chat: the chat app of socketio-c - the web app serving the chat page
 * (examples/chat/client/) on one event loop.
 *
 * The Socket.IO part (namespace /chat) arrives with the Socket.IO layer; until
 * then this program serves the page with the HTTP layer alone.
 */
#include "socketio.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SIO_CHAT_DEFAULT_STATIC
#define SIO_CHAT_DEFAULT_STATIC "examples/chat/client"
#endif

static http_server *server;
static uv_signal_t sig_int, sig_term;

static void usage(FILE *f) {
    fprintf(f, "usage: sio-chat [options]\n"
               "  --host ADDR        address to listen on (default 127.0.0.1)\n"
               "  --port N           port (default 8080)\n"
               "  --static-dir DIR   the page's folder (default " SIO_CHAT_DEFAULT_STATIC ")\n"
               "  --log-level LEVEL  debug, info, warn, error (default info)\n"
               "  --help             this text\n");
}

static void on_closed(void *ud) {
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
    fprintf(stderr, "sio-chat: %s, shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    uv_signal_stop(&sig_int);
    uv_signal_stop(&sig_term);
    http_server_shutdown(server, on_closed, NULL);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *static_dir = SIO_CHAT_DEFAULT_STATIC;
    int port = 8080;
    static const struct option long_opts[] = {
        {"host", required_argument, 0, 'h'},      {"port", required_argument, 0, 'p'},
        {"static-dir", required_argument, 0, 's'}, {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, '?'},            {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 's': static_dir = optarg; break;
        case 'l': {
            int l = sio_log_level_parse(optarg);
            if (l < 0) {
                usage(stderr);
                return 2;
            }
            sio_log_set(NULL, (sio_log_level)l, NULL);
            break;
        }
        default: usage(c == '?' && optind > 0 && !strcmp(argv[optind - 1], "--help") ? stdout : stderr);
                 return c == '?' && !strcmp(argv[optind - 1], "--help") ? 0 : 2;
        }
    }
    uv_loop_t *loop = uv_default_loop();
    http_server_options o;
    http_server_options_init(&o);
    o.host = host;
    o.port = port;
    server = http_server_new(loop, &o);
    int r = http_server_static(server, "/", static_dir, NULL);
    if (r) {
        fprintf(stderr, "sio-chat: cannot serve %s: %s\n", static_dir, sio_strerror(r));
        return 1;
    }
    if ((r = http_server_listen(server)) != 0) {
        fprintf(stderr, "sio-chat: cannot listen on %s:%d: %s\n", host, port, sio_strerror(r));
        return 1;
    }
    printf("sio-chat: listening on %d\n", http_server_port(server));
    printf("sio-chat: open http://%s:%d/\n", strchr(host, ':') ? "[::1]" : host,
           http_server_port(server));
    fflush(stdout);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
