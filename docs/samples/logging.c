/* logging.c - errors and logging: the library's log lines go to our own sink
 * with a timestamp, the level comes from the command line, and error codes
 * are turned into words with sio_strerror. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};

static void sink(sio_log_level level, const char *component, const char *msg, void *ud) {
    FILE *out = ud;
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime(&now));
    fprintf(out, "%s %-5s [%s] %s\n", stamp, level_names[level], component, msg);
}

int main(int argc, char **argv) {
    int level = argc > 1 ? sio_log_level_parse(argv[1]) : SIO_LOG_INFO;
    if (level < 0) {
        fprintf(stderr, "usage: logging [debug|info|warn|error|off]\n");
        return 2;
    }
    sio_log_set((sio_log_level)level, sink, stderr);

    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio_server *sio = sio_server_new(loop, NULL);
    if (!app || !sio) {
        fprintf(stderr, "startup: %s\n", sio_strerror(SIO_ENOMEM));
        return 1;
    }
    int r = sio_attach(sio, app);
    if (r == 0) r = http_server_listen(app);
    if (r != 0) {
        /* an errno code from the system ("address already in use") or one of ours */
        fprintf(stderr, "startup: %s (%d)\n", sio_strerror(r), r);
        return 1;
    }
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
