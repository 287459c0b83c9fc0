/* A program outside the tree that uses the installed library: an HTTP
 * server with a Socket.IO server attached, started and shut down at once.
 *
 * `consumer fetch FILE` serves the client bundle instead (serve_client, the
 * library's own lookup: see check.sh) and fetches
 * /socket.io/socket.io.min.js from itself: the answer must be 200 with FILE's
 * bytes, or, when FILE is "-", the Engine.IO endpoint's 400 (not served).
 */
#define _GNU_SOURCE /* memmem */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_server *app;
static int closed;
static char *answer;
static size_t answer_len;
static uv_tcp_t tcp;
static uv_connect_t connect_req;
static uv_write_t write_req;

static void done(void *ud) {
    *(int *)ud = 1;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    char *more = realloc(answer, answer_len + 65536);
    *buf = uv_buf_init(more ? more + answer_len : NULL, more ? 65536 : 0);
    if (more) answer = more;
}

static void on_tcp_closed(uv_handle_t *h) {
    http_server_shutdown(app, done, &closed);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    if (n > 0) answer_len += (size_t)n;
    if (n < 0) uv_close((uv_handle_t *)s, on_tcp_closed);
}

static void on_connect(uv_connect_t *req, int status) {
    static char get[] = "GET /socket.io/socket.io.min.js HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n";
    uv_buf_t b = uv_buf_init(get, sizeof get - 1);
    if (status != 0 || uv_write(&write_req, req->handle, &b, 1, NULL) != 0 ||
        uv_read_start(req->handle, on_alloc, on_read) != 0)
        uv_close((uv_handle_t *)req->handle, on_tcp_closed);
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            char *more = realloc(data, cap = cap ? cap * 2 : 65536);
            if (!more) break;
            data = more;
        }
        size_t n = fread(data + *len, 1, cap - *len, f);
        if (n == 0) break;
        *len += n;
    }
    fclose(f);
    return data;
}

/* 0 when the answer is what `expected` says. */
static int check_answer(const char *expected) {
    char *body = answer ? memmem(answer, answer_len, "\r\n\r\n", 4) : NULL;
    if (!body) {
        printf("consumer: no answer\n");
        return 1;
    }
    body += 4;
    size_t body_len = answer_len - (size_t)(body - answer);
    int status = atoi(answer + 9); /* "HTTP/1.1 200" */
    if (strcmp(expected, "-") == 0) {
        /* not served: the path is the Engine.IO endpoint's, which refuses it */
        printf("consumer: socket.io.min.js answered %d (400 expected: not served)\n", status);
        return status == 400 ? 0 : 1;
    }
    size_t want_len = 0;
    char *want = slurp(expected, &want_len);
    int ok = want && status == 200 && body_len == want_len && memcmp(body, want, want_len) == 0;
    printf("consumer: socket.io.min.js answered %d with %zu bytes (%zu expected): %s\n", status,
           body_len, want_len, ok ? "the same bytes" : "WRONG");
    free(want);
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    int fetch = argc == 3 && strcmp(argv[1], "fetch") == 0;
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.host = "127.0.0.1";
    ho.port = 0;
    app = http_server_new(loop, &ho);
    sio_server_options so;
    sio_server_options_init(&so);
    so.serve_client = fetch;
    sio_server *sio = sio_server_new(loop, &so);
    if (!app || !sio || sio_attach(sio, app) != 0 || http_server_listen(app) != 0) return 1;
    if (fetch) {
        struct sockaddr_in addr;
        uv_ip4_addr("127.0.0.1", http_server_port(app), &addr);
        uv_tcp_init(loop, &tcp);
        if (uv_tcp_connect(&connect_req, &tcp, (const struct sockaddr *)&addr, on_connect) != 0)
            return 1;
    } else {
        http_server_shutdown(app, done, &closed);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    printf("consumer ok: port %s, closed %d\n", closed ? "released" : "held", closed);
    int bad = fetch ? check_answer(argv[2]) : 0;
    free(answer);
    return closed && uv_loop_close(loop) == 0 && !bad ? 0 : 2;
}
