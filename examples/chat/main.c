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

/* The numeric options: a flag, else its environment variable, else the
 * default; every one parsed strictly (cli_num.h: exit 2 on a bad value). */
enum {
    OPT_PORT,
    OPT_TYPING,
    OPT_JOIN,
    OPT_WINDOW,
    OPT_PER_ROOM,
    OPT_TOTAL,
    OPT_AGE,
    OPT_MAX_ROOMS,
    OPT_N
};
static struct num_opt {
    const char *flag, *env;
    long long min, max, value; /* value: the default until parsed */
    const char *text;          /* from the command line */
} nums[OPT_N] = {
    [OPT_PORT] = {"--port", "PORT", 0, 65535, 8080, NULL},
    [OPT_TYPING] = {"--typing-limit", "SIO_CHAT_TYPING_LIMIT", 1, 100000, 20, NULL},
    [OPT_JOIN] = {"--join-limit", "SIO_CHAT_JOIN_LIMIT", 1, 100000, 10, NULL},
    [OPT_WINDOW] = {"--limit-window", "SIO_CHAT_LIMIT_WINDOW", 1, 86400, 10, NULL},
    [OPT_PER_ROOM] = {"--history-per-room", "SIO_CHAT_HISTORY_PER_ROOM", 1, 10000000, 1000, NULL},
    [OPT_TOTAL] = {"--history-total", "SIO_CHAT_HISTORY_TOTAL", 1, 1000000000, 100000, NULL},
    [OPT_AGE] = {"--history-max-age", "SIO_CHAT_HISTORY_MAX_AGE", 0, 3153600000LL, 2592000, NULL},
    [OPT_MAX_ROOMS] = {"--max-rooms", "SIO_CHAT_MAX_ROOMS", 1, 100000000, 100000, NULL},
};

static void usage(FILE *f) {
    fprintf(f, "usage: sio-chat [options]\n"
               "  --host ADDR            address to listen on (127.0.0.1; env SIO_CHAT_HOST)\n"
               "  --port N               port, 0-65535 (8080; env PORT)\n"
               "  --db PATH              SQLite history (chat.db; \":memory:\" keeps nothing)\n"
               "  --static-dir DIR       the page's folder (" SIO_CHAT_DEFAULT_STATIC ")\n"
               "  --log-level LEVEL      debug, info, warn, error (info)\n"
               "  --typing-limit N       typing events a socket may send per window (20)\n"
               "  --join-limit N         joins a socket may send per window (10)\n"
               "  --limit-window S       the window of those two limits, seconds (10)\n"
               "  --history-per-room N   messages kept per room (1000)\n"
               "  --history-total N      messages kept in all rooms together (100000)\n"
               "  --history-max-age S    seconds a message is kept, 0: no limit (2592000)\n"
               "  --max-rooms N          rooms open at once on the server (100000)\n"
               "  --help                 this text\n"
               "Each numeric option also has an environment variable (see sio-chat(1)).\n");
}

static void on_http_closed(void *ud) {
    /* every socket is gone: now drain the history queue and close the database */
    chat_store_close(app.store, NULL, NULL);
}

int main(int argc, char **argv) {
    const char *host = getenv("SIO_CHAT_HOST") ? getenv("SIO_CHAT_HOST") : "127.0.0.1";
    const char *static_dir = SIO_CHAT_DEFAULT_STATIC, *db = "chat.db";
    static const struct option long_opts[] = {
        {"host", required_argument, 0, 'h'},
        {"port", required_argument, 0, 'p'},
        {"db", required_argument, 0, 'd'},
        {"static-dir", required_argument, 0, 's'},
        {"log-level", required_argument, 0, 'l'},
        {"help", no_argument, 0, 'H'},
        {"typing-limit", required_argument, 0, 1000 + OPT_TYPING},
        {"join-limit", required_argument, 0, 1000 + OPT_JOIN},
        {"limit-window", required_argument, 0, 1000 + OPT_WINDOW},
        {"history-per-room", required_argument, 0, 1000 + OPT_PER_ROOM},
        {"history-total", required_argument, 0, 1000 + OPT_TOTAL},
        {"history-max-age", required_argument, 0, 1000 + OPT_AGE},
        {"max-rooms", required_argument, 0, 1000 + OPT_MAX_ROOMS},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            nums[OPT_PORT].text = optarg;
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
            sio_log_set((sio_log_level)l, NULL, NULL);
            break;
        }
        case 'H':
            usage(stdout);
            return 0;
        default:
            if (c >= 1000 && c < 1000 + OPT_N) {
                nums[c - 1000].text = optarg;
                break;
            }
            usage(stderr);
            return 2;
        }
    }

    /* numbers: strict, a flag before its environment variable (cli_num.h) */
    for (int i = 0; i < OPT_N; i++) {
        struct num_opt *o = &nums[i];
        if (o->text)
            o->value = cli_int("sio-chat", o->flag, o->text, o->min, o->max);
        else if (getenv(o->env))
            o->value = cli_int("sio-chat", o->env, getenv(o->env), o->min, o->max);
    }
    int port = (int)nums[OPT_PORT].value;
    app.limits.typing = (uint32_t)nums[OPT_TYPING].value;
    app.limits.join = (uint32_t)nums[OPT_JOIN].value;
    app.limits.window_ms = (uint32_t)nums[OPT_WINDOW].value * 1000;
    chat_retention keep = {
        .per_room = nums[OPT_PER_ROOM].value,
        .total = nums[OPT_TOTAL].value,
        .max_age_ms = nums[OPT_AGE].value * 1000,
    };

    uv_loop_t *loop = uv_default_loop();
    const char *err = NULL;
    app.store = chat_store_open(loop, db, &keep, &err);
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
    so.max_rooms = (uint32_t)nums[OPT_MAX_ROOMS].value;
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
