/* http_routes.c - the HTTP server on its own: a JSON route, a POST route with
 * its own body limit, a streamed response with back-pressure, the server's
 * counters, and static files for everything else. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GET /api/hello?name=... */
static void hello(http_req *req, void *ud) {
    const char *name = http_req_query(req, "name"); /* percent-decoded, or NULL */
    json_t *body = json_pack("{ss}", "hello", name ? name : "world");
    char *text = json_dumps(body, JSON_COMPACT);
    http_res_send(req, 200, "application/json", text); /* answers and frees req */
    free(text);
    json_decref(body);
}

/* POST /api/echo: the body back, with the request's content type */
static void echo(http_req *req, void *ud) {
    size_t len;
    const char *body = http_req_body(req, &len); /* complete: over the limit was a 413 */
    const char *type = http_req_header(req, "Content-Type");
    http_res_status(req, 200);
    http_res_header(req, "Content-Type", type ? type : "application/octet-stream");
    http_res_end(req, body, len);
}

/* GET /api/count: ten lines written one by one, the next when the last is out */
typedef struct counter {
    int i;
    char line[16];
} counter;

static void count_next(http_req *req, int status, void *ud) {
    counter *c = ud;
    if (status < 0 || c->i == 10) { /* written, or the peer went away */
        if (status == 0) http_res_finish(req);
        free(c);
        return;
    }
    snprintf(c->line, sizeof c->line, "line %d\n", c->i++); /* 7 bytes each */
    /* the callback runs when the line is out; an error now means it never will */
    if (http_res_write(req, c->line, strlen(c->line), count_next, c) != 0) free(c);
}

static void count(http_req *req, void *ud) {
    counter *c = calloc(1, sizeof *c);
    if (!c) {
        http_res_send(req, 503, "text/plain", "busy\n");
        return;
    }
    http_res_header(req, "Content-Type", "text/plain");
    http_res_begin(req, 10 * 7); /* Content-Length known up front */
    count_next(req, 0, c);
}

/* GET /api/stats */
static void stats(http_req *req, void *ud) {
    http_server_stats st;
    http_server_get_stats(http_req_server(req), &st);
    char text[200];
    snprintf(text, sizeof text, "{\"open\":%llu,\"requests\":%llu}",
             (unsigned long long)st.connections_open, (unsigned long long)st.requests_total);
    http_res_send(req, 200, "application/json", text);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    ho.idle_timeout_ms = 15000; /* keep-alive connections may idle longer */
    http_server *app = http_server_new(loop, &ho);

    http_server_route(app, &(http_route){.method = "GET", .path = "/api/hello", .handler = hello});
    http_server_route(
        app,
        &(http_route){.method = "POST", .path = "/api/echo", .max_body = 4096, .handler = echo});
    http_server_route(app, &(http_route){.method = "GET", .path = "/api/count", .handler = count});
    http_server_route(app, &(http_route){.method = "GET", .path = "/api/stats", .handler = stats});
    /* the longest matching path wins: /api/... above, files below */
    http_static_options so = {.cache_control = "public, max-age=60", .index = "index.html"};
    http_server_static(app, "/", "public", &so);

    int r = http_server_listen(app);
    if (r != 0) {
        fprintf(stderr, "listen: %s\n", sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
