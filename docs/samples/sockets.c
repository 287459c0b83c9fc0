/* sockets.c - a socket's life: data of our own attached on connection,
 * what the handshake tells, a reminder sent after the handler returned
 * (keeping the socket alive with a reference), and disconnections. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

static sio_server *sio;

typedef struct user {
    unsigned messages;
} user;

static void on_connect(sio_socket *s, void *ud) {
    user *u = calloc(1, sizeof *u);
    sio_socket_set_data(s, u);
    const char *agent = sio_socket_header(s, "User-Agent");
    printf("%s joined %s from %s (%s) over %s\n", sio_socket_id(s), sio_socket_nsp(s),
           sio_socket_remote_addr(s), agent ? agent : "no user agent",
           eio_socket_transport(sio_socket_engine(s))); /* "polling" or "websocket" */
    fflush(stdout);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    user *u = sio_socket_get_data(s); /* still readable here; emitting is over */
    printf("%s left (%s) after %u message(s)\n", sio_socket_id(s), reason, u ? u->messages : 0);
    fflush(stdout);
    free(u);
    sio_socket_set_data(s, NULL);
}

/* remind(ms): an emit from a timer, long after the handler returned */
typedef struct reminder {
    uv_timer_t timer;
    sio_socket *socket;
} reminder;

static void reminder_closed(uv_handle_t *h) {
    free(h->data);
}

static void reminder_fire(uv_timer_t *t) {
    reminder *r = t->data;
    if (sio_socket_connected(r->socket)) sio_emit(r->socket, "reminder", NULL);
    sio_socket_unref(r->socket); /* the memory may go now */
    uv_close((uv_handle_t *)&r->timer, reminder_closed);
}

static void on_remind(sio_socket *s, sio_event *ev, void *ud) {
    user *u = sio_socket_get_data(s);
    if (u) u->messages++;
    json_t *ms = sio_event_arg(ev, 0);
    reminder *r = malloc(sizeof *r);
    if (!r) return;
    r->socket = s;
    sio_socket_ref(s); /* the pointer stays valid even if the client leaves */
    uv_timer_init(uv_default_loop(), &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, reminder_fire,
                   json_is_integer(ms) ? (uint64_t)json_integer_value(ms) : 0, 0);
}

/* kick(sid): disconnects another socket of the namespace, by id */
static void on_kick(sio_socket *s, sio_event *ev, void *ud) {
    const char *sid = json_string_value(sio_event_arg(ev, 0));
    int r = sid ? sio_disconnect(sio, "/", sid) : SIO_EINVAL; /* sio.disconnect(sid) */
    json_t *args = json_pack("[b]", r == 0);
    sio_event_ack(ev, args);
    json_decref(args);
}

/* bye(): the socket leaves by the server's will; true also closes the connection */
static void on_bye(sio_socket *s, sio_event *ev, void *ud) {
    sio_socket_disconnect(s, true);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);
    sio_on_connect(sio, "/", on_connect, NULL);
    sio_on_disconnect(sio, "/", on_disconnect, NULL);
    sio_on(sio, "/", "remind", on_remind, NULL);
    sio_on(sio, "/", "kick", on_kick, NULL);
    sio_on(sio, "/", "bye", on_bye, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
