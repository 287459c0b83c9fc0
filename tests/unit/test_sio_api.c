/* tests/unit/test_sio_api.c - the public Socket.IO calls on a real server
 * without clients: a NULL namespace means "/" in every function that takes
 * one (issue 13; sio_find(srv, NULL, sid) used to crash), and wrong names are
 * refused, not created; a broadcast dropped unsent, and its 64-room cap. The server is closed at the end, so an ASan build
 * reports anything left behind.
 */
#include "check.h"
#include "sio/sio_internal.h"

static uv_loop_t loop;
static sio_server *srv;

static void on_event(sio_socket *s, sio_event *ev, void *ud) {}
static void on_connect(sio_socket *s, void *ud) {}
static void on_disconnect(sio_socket *s, const char *reason, void *ud) {}
static void middleware(sio_socket *s, sio_next *next, void *ud) {
    sio_next_accept(next);
}

static void server_open(void) {
    uv_loop_init(&loop);
    srv = sio_server_new(&loop, NULL);
}

static void server_close(void) {
    sio_server_close(srv, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static void test_null_namespace_is_the_main_one(void) {
    server_open();
    size_t before = sio_server_namespace_count(srv);
    CHECK(sio_find(srv, NULL, "no-such-sid") == NULL);
    CHECK(sio_find(srv, NULL, NULL) == NULL);
    CHECK(sio_find(srv, "/", NULL) == NULL);
    CHECK_INT(sio_disconnect(srv, NULL, "no-such-sid"), SIO_ENOTFOUND);
    CHECK_INT(sio_namespace(srv, NULL), 0);
    CHECK_INT(sio_on(srv, NULL, "ev", on_event, NULL), 0);
    CHECK_INT(sio_on_connect(srv, NULL, on_connect, NULL), 0);
    CHECK_INT(sio_on_disconnect(srv, NULL, on_disconnect, NULL), 0);
    CHECK_INT(sio_use(srv, NULL, middleware, NULL), 0);
    CHECK_INT(sio_on_any(srv, NULL, on_event, NULL), 0);
    /* all of it went to "/": no namespace was made */
    CHECK_INT(sio_server_namespace_count(srv), before);
    sio_handlers *h = sio_handlers_for(srv, "/", 0);
    CHECK(h != NULL);
    CHECK(util_map_get(&h->events, "ev", 2) != NULL);
    CHECK_INT(h->connect.len, 1);
    CHECK_INT(h->disconnect.len, 1);
    CHECK_INT(h->middleware.len, 1);
    /* a broadcast to NULL is a broadcast to "/" (no socket there: 0 recipients) */
    CHECK_INT(sio_broadcast_emit(sio_broadcast_new(srv, NULL), "ev", NULL), 0);
    CHECK_INT(sio_emit_to(srv, NULL, NULL, NULL, "ev", NULL), 0);
    server_close();
}

static void test_bad_namespace_names_are_refused(void) {
    server_open();
    size_t before = sio_server_namespace_count(srv);
    CHECK_INT(sio_on(srv, "chat", "ev", on_event, NULL), SIO_EINVAL); /* no leading '/' */
    CHECK_INT(sio_on(srv, "/a,b", "ev", on_event, NULL), SIO_EINVAL); /* ',' ends a name */
    CHECK_INT(sio_namespace(srv, ""), SIO_EINVAL);
    CHECK(sio_find(srv, "/nowhere", "x") == NULL);
    CHECK_INT(sio_server_namespace_count(srv), before);
    server_close();
}

static void test_broadcast_free_and_room_cap(void) {
    server_open();
    sio_broadcast_free(NULL);
    /* dropped unsent: nothing leaks (ASan), the namespace reference goes */
    sio_broadcast_free(sio_broadcast_to(sio_broadcast_new(srv, "/"), "a"));
    /* 64 rooms are fine, the 65th makes the broadcast invalid */
    sio_broadcast *b = sio_broadcast_new(srv, "/");
    char room[16];
    for (int i = 0; i < 64; i++) {
        snprintf(room, sizeof room, "r%d", i);
        sio_broadcast_to(b, room);
    }
    CHECK_INT(sio_broadcast_emit(b, "ev", NULL), 0);
    b = sio_broadcast_new(srv, "/");
    for (int i = 0; i < 65; i++) {
        snprintf(room, sizeof room, "r%d", i);
        sio_broadcast_to(b, room);
    }
    CHECK_INT(sio_broadcast_emit(b, "ev", NULL), SIO_EINVAL);
    CHECK_INT(sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(srv, "/"), NULL), "ev", NULL),
              SIO_EINVAL);
    server_close();
}

int main(void) {
    RUN(test_null_namespace_is_the_main_one);
    RUN(test_bad_namespace_names_are_refused);
    RUN(test_broadcast_free_and_room_cap);
    return CHECK_DONE();
}
