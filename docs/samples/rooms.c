/* rooms.c - rooms and broadcasting: "join" moves the socket into a room,
 * "say" reaches the others in that room, "shout" reaches the whole namespace,
 * "who" lists the members of a room. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sio_server *sio;

/* join(room): leave the previous room (kept as the socket's data), enter `room` */
static void on_join(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    if (!json_is_string(room)) return;
    char *previous = sio_socket_get_data(s);
    if (previous) sio_leave(s, previous);
    free(previous);
    sio_socket_set_data(s, strdup(json_string_value(room)));
    sio_join(s, json_string_value(room));
    /* tell the room, the newcomer excepted */
    json_t *args = json_pack("[s]", sio_socket_id(s));
    sio_broadcast_emit(sio_broadcast_to(sio_socket_broadcast(s), json_string_value(room)), "joined",
                       args);
    json_decref(args);
}

/* rooms are left by themselves on disconnection; the data is ours to free */
static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    free(sio_socket_get_data(s));
    sio_socket_set_data(s, NULL);
}

/* say(room, text): to the others in the room */
static void on_say(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    json_t *text = sio_event_arg(ev, 1);
    if (!json_is_string(room) || !json_is_string(text)) return;
    if (!sio_in_room(s, json_string_value(room))) return;
    json_t *args = json_pack("[sO]", sio_socket_id(s), text);
    int n = sio_broadcast_emit(sio_broadcast_to(sio_socket_broadcast(s), json_string_value(room)),
                               "said", args);
    json_decref(args);
    if (n < 0) fprintf(stderr, "say: %s\n", sio_strerror(n));
}

/* shout(text): everyone in /rooms, the sender included, except room "quiet" */
static void on_shout(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *args = sio_event_args_raw(ev, &len); /* forwarded without parsing */
    sio_broadcast *b = sio_broadcast_new(sio, "/rooms");
    sio_broadcast_emit_raw(sio_broadcast_except(b, "quiet"), "shouted", args, len);
}

/* who(room) with an acknowledgement: the ids of the room's members */
static void add_id(sio_socket *member, void *ud) {
    json_array_append_new(ud, json_string(sio_socket_id(member)));
}

static void on_who(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    if (!json_is_string(room)) return;
    json_t *ids = json_array();
    sio_broadcast_fetch_sockets(
        sio_broadcast_to(sio_broadcast_new(sio, "/rooms"), json_string_value(room)), add_id, ids);
    json_t *args = json_pack("[o]", ids);
    sio_event_ack(ev, args);
    json_decref(args);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);
    sio_on_disconnect(sio, "/rooms", on_disconnect, NULL);
    sio_on(sio, "/rooms", "join", on_join, NULL);
    sio_on(sio, "/rooms", "say", on_say, NULL);
    sio_on(sio, "/rooms", "shout", on_shout, NULL);
    sio_on(sio, "/rooms", "who", on_who, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
