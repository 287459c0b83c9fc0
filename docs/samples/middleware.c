/* middleware.c - checks before a socket joins namespace /private: a quick
 * synchronous check of the auth payload, then an asynchronous lookup (a
 * timer stands in for a database or an HTTP call). */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the "database": token -> user name */
static const char *const users[][2] = {{"t0k3n-alice", "alice"}, {"t0k3n-bob", "bob"}};

static const char *user_of(const char *token) {
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        if (strcmp(users[i][0], token) == 0) return users[i][1];
    return NULL;
}

static const char *token_of(sio_socket *s) {
    json_t *auth = sio_socket_auth(s); /* io("/private", { auth: { token } }) */
    return json_string_value(json_object_get(auth, "token")); /* NULL if absent */
}

/* 1. synchronous: a token must be there */
static void need_token(sio_socket *s, sio_next *next, void *ud) {
    if (!token_of(s)) {
        json_t *data = json_pack("{ss}", "hint", "io('/private', {auth: {token}})");
        sio_next_reject(next, "token required", data); /* the client's connect_error */
        json_decref(data);
        return;
    }
    sio_next_accept(next); /* on to the next middleware */
}

/* 2. asynchronous: the decision comes from a callback, later */
typedef struct lookup {
    uv_timer_t timer;
    sio_socket *socket;
    sio_next *next;
} lookup;

static void lookup_closed(uv_handle_t *h) {
    free(h->data);
}

static void lookup_done(uv_timer_t *t) {
    lookup *l = t->data;
    /* the socket stays valid until next is used, even if the client left meanwhile */
    if (user_of(token_of(l->socket)))
        sio_next_accept(l->next);
    else
        sio_next_reject(l->next, "unknown token", NULL);
    uv_close((uv_handle_t *)&l->timer, lookup_closed);
}

static void check_token(sio_socket *s, sio_next *next, void *ud) {
    lookup *l = malloc(sizeof *l);
    if (!l) {
        sio_next_reject(next, "server busy", NULL);
        return;
    }
    l->socket = s;
    l->next = next;
    uv_timer_init(uv_default_loop(), &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, lookup_done, 50, 0);
}

/* every middleware accepted: the socket has joined */
static void on_connect(sio_socket *s, void *ud) {
    json_t *args = json_pack("[s]", user_of(token_of(s)));
    sio_emit(s, "welcome", args);
    json_decref(args);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio_server *sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);
    sio_use(sio, "/private", need_token, NULL); /* middlewares run in this order */
    sio_use(sio, "/private", check_token, NULL);
    sio_on_connect(sio, "/private", on_connect, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
