/* tests/unit/test_adapter.c - the in-memory adapter's rooms (adapter/memory.c)
 * through the public room calls, on a real server's namespace with sockets
 * made directly (no client): joins and leaves checked against a model, a
 * socket in tens of thousands of rooms, the max_rooms_per_socket cap, the
 * server-wide max_rooms cap (what it counts and gives back), the
 * server-wide max_memberships cap, leave_all, and whom a broadcast reaches
 * (every socket, the union of rooms once each, rooms and socket ids left
 * out, a socket's id as a room, the sender skipped, disconnected sockets
 * never). Every socket is freed at the end and the server closed, so an ASan
 * build reports anything left behind.
 */
#include "check.h"
#include "sio/sio_internal.h"

#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static sio_server *srv;
static sio_nsp *nsp;

static void server_open2(uint32_t max_rooms_per_socket, uint32_t max_rooms) {
    uv_loop_init(&loop);
    sio_server_options o;
    sio_server_options_init(&o);
    o.max_rooms_per_socket = max_rooms_per_socket;
    o.max_rooms = max_rooms;
    srv = sio_server_new(&loop, &o);
    nsp = sio_nsp_get(srv, "/", 1, 0);
}

static void server_open(uint32_t max_rooms_per_socket) {
    server_open2(max_rooms_per_socket, 0);
}

static void server_close(void) {
    sio_server_close(srv, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static sio_socket *socket_new_in(sio_nsp *in, int i) {
    sio_socket *s = sio_socket_new(in);
    snprintf(s->id, sizeof s->id, "sock%d", i);
    s->state = SOCK_CONNECTED;
    return s;
}

static sio_socket *socket_new(int i) {
    return socket_new_in(nsp, i);
}

/* A socket listed in its namespace, as a connected client's is: reachable by
 * its id and by a broadcast to every socket. */
static sio_socket *socket_listed(int i) {
    sio_socket *s = socket_new(i);
    sio_nsp_add_socket(nsp, s);
    return s;
}

static void socket_free(sio_socket *s) {
    sio_nsp_remove_socket(s->nsp, s); /* nothing when it was not listed */
    s->state = SOCK_DISCONNECTED;
    s->nsp->adapter_ops->leave_all(s->nsp->adapter, s);
    sio_socket_unref(s);
}

static void count_room(const char *room, void *ud) {
    ++*(int *)ud;
}

static int rooms_of(sio_socket *s) {
    int n = -1; /* its own id comes first and is not counted */
    sio_socket_rooms(s, count_room, &n);
    return n;
}

static void count_socket(sio_socket *s, void *ud) {
    ++*(int *)ud;
}

static int members(const char *room) {
    int n = 0;
    sio_broadcast_fetch_sockets(sio_broadcast_to(sio_broadcast_new(srv, "/"), room), count_socket,
                                &n);
    return n;
}

static void room_name(char *out, size_t size, int r) {
    snprintf(out, size, "room-%d", r);
}

/* Random joins and leaves of 5 sockets over 300 rooms, checked against a
 * matrix after every step (membership) and every 500 steps (counts). */
#define NS 5
#define NR 300
static void test_joins_and_leaves_match_a_model(void) {
    server_open(0);
    sio_socket *s[NS];
    static unsigned char in[NS][NR];
    memset(in, 0, sizeof in);
    for (int i = 0; i < NS; i++) s[i] = socket_new(i);
    srand(12);
    char name[32];
    for (int step = 0; step < 20000; step++) {
        int i = rand() % NS, r = rand() % NR;
        room_name(name, sizeof name, r);
        if (rand() % 3) {
            CHECK_INT(sio_join(s[i], name), 0);
            in[i][r] = 1;
        } else {
            CHECK_INT(sio_leave(s[i], name), 0);
            in[i][r] = 0;
        }
        CHECK_INT(sio_in_room(s[i], name), in[i][r]);
        if (step % 500 == 0) {
            for (int k = 0; k < NS; k++) {
                int n = 0;
                for (int q = 0; q < NR; q++) n += in[k][q];
                CHECK_INT(rooms_of(s[k]), n);
            }
            for (int q = 0; q < NR; q++) {
                int n = 0;
                for (int k = 0; k < NS; k++) n += in[k][q];
                room_name(name, sizeof name, q);
                CHECK_INT(members(name), n);
            }
        }
    }
    CHECK(sio_in_room(s[0], "sock0")); /* its own id */
    for (int i = 0; i < NS; i++) socket_free(s[i]);
    CHECK_INT(members("room-0"), 0);
    server_close();
}

/* One socket in 40,000 rooms (the finding: a join sweep was quadratic),
 * three others in every tenth; leaves in another order; leave_all. */
static void test_many_rooms(void) {
    enum { N = 40000 };
    server_open(N);
    sio_socket *big = socket_new(0);
    sio_socket *small[3];
    for (int i = 0; i < 3; i++) small[i] = socket_new(i + 1);
    char name[32];
    for (int r = 0; r < N; r++) {
        room_name(name, sizeof name, r);
        CHECK_INT(sio_join(big, name), 0);
        if (r % 10 == 0)
            for (int i = 0; i < 3; i++) CHECK_INT(sio_join(small[i], name), 0);
    }
    CHECK_INT(sio_join(big, "room-7"), 0); /* already in: no change */
    CHECK_INT(rooms_of(big), N);
    CHECK_INT(members("room-10"), 4);
    /* leave every other room, from the end */
    for (int r = N - 1; r >= 0; r -= 2) {
        room_name(name, sizeof name, r);
        CHECK_INT(sio_leave(big, name), 0);
        CHECK(!sio_in_room(big, name));
    }
    CHECK_INT(rooms_of(big), N / 2);
    for (int r = 0; r < N; r++) {
        room_name(name, sizeof name, r);
        CHECK_INT(sio_in_room(big, name), r % 2 == 0);
    }
    CHECK_INT(members("room-20"), 4);
    CHECK_INT(members("room-30"), 4);
    CHECK_INT(members("room-11"), 0);
    socket_free(big); /* leave_all */
    CHECK_INT(members("room-20"), 3);
    CHECK_INT(rooms_of(small[0]), N / 10);
    for (int i = 0; i < 3; i++) socket_free(small[i]);
    CHECK_INT(members("room-20"), 0);
    server_close();
}

/* max_rooms_per_socket: the default is 1024; a join beyond fails with
 * SIO_ETOOBIG and changes nothing; a room already joined still answers 0;
 * a leave makes room for one more. */
static void test_rooms_cap(void) {
    server_open(0);
    CHECK_INT(srv->opts.max_rooms_per_socket, 1024);
    sio_socket *s = socket_new(0);
    sio_socket *t = socket_new(1);
    char name[32];
    for (int r = 0; r < 1024; r++) {
        room_name(name, sizeof name, r);
        CHECK_INT(sio_join(s, name), 0);
    }
    CHECK_INT(sio_join(s, "one-too-many"), SIO_ETOOBIG);
    CHECK(!sio_in_room(s, "one-too-many"));
    CHECK_INT(members("one-too-many"), 0);
    CHECK_INT(sio_join(s, "room-5"), 0);
    CHECK_INT(sio_join(s, "sock0"), 0); /* its own id: not a membership */
    CHECK_INT(rooms_of(s), 1024);
    CHECK_INT(sio_join(t, "one-too-many"), 0); /* the cap is per socket */
    CHECK_INT(sio_leave(s, "room-5"), 0);
    CHECK_INT(sio_join(s, "one-too-many"), 0);
    CHECK_INT(members("one-too-many"), 2);
    socket_free(s);
    socket_free(t);
    server_close();
}

/* max_rooms: the default is 100,000; the rooms of every namespace count
 * together; a join that would make a new room beyond fails with SIO_ETOOBIG
 * and changes nothing, while joining an existing room, or a socket's own id,
 * still works; a room counts once per started 128 bytes of its name; an
 * emptied room gives its count back (leave and leave_all). */
static void test_server_rooms_cap(void) {
    server_open(0);
    CHECK_INT(srv->opts.max_rooms, 100000);
    server_close();

    server_open2(0, 10);
    sio_nsp *b = sio_nsp_get(srv, "/b", 2, 1);
    sio_socket *s = socket_new(0), *t = socket_new_in(b, 1), *u = socket_new(2);
    char name[300];
    for (int r = 0; r < 6; r++) {
        room_name(name, sizeof name, r);
        CHECK_INT(sio_join(s, name), 0);
    }
    for (int r = 0; r < 4; r++) {
        room_name(name, sizeof name, r); /* the same names, another namespace: other rooms */
        CHECK_INT(sio_join(t, name), 0);
    }
    CHECK_INT(srv->rooms_charged, 10);
    CHECK_INT(sio_join(t, "room-4"), SIO_ETOOBIG); /* exists in "/", not in "/b" */
    CHECK_INT(sio_join(s, "one-too-many"), SIO_ETOOBIG);
    CHECK(!sio_in_room(s, "one-too-many"));
    CHECK_INT(members("one-too-many"), 0);
    CHECK_INT(sio_join(s, "sock0"), 0); /* its own id: not a room */
    CHECK_INT(sio_join(t, "sock1"), 0);
    CHECK_INT(sio_join(u, "room-0"), 0); /* a room that exists */
    CHECK_INT(sio_join(u, "room-5"), 0);
    CHECK_INT(members("room-0"), 2);
    CHECK_INT(srv->rooms_charged, 10);
    CHECK_INT(sio_leave(u, "room-0"), 0); /* s is still in it */
    CHECK_INT(srv->rooms_charged, 10);
    CHECK_INT(sio_leave(s, "room-1"), 0); /* emptied: freed, its count back */
    CHECK_INT(srv->rooms_charged, 9);
    CHECK_INT(members("room-1"), 0);
    /* long names: 128 bytes count twice (one too many), 127 once */
    memset(name, 'x', 128);
    name[128] = '\0';
    CHECK_INT(sio_join(u, name), SIO_ETOOBIG);
    name[127] = '\0';
    CHECK_INT(sio_join(u, name), 0);
    CHECK_INT(srv->rooms_charged, 10);
    CHECK_INT(sio_leave(s, "room-2"), 0);
    CHECK_INT(sio_leave(s, "room-3"), 0);
    memset(name, 'y', 255);
    name[255] = '\0';
    CHECK_INT(sio_join(t, name), 0);
    CHECK_INT(srv->rooms_charged, 10);
    socket_free(t); /* leave_all: its 4 rooms and the long one */
    CHECK_INT(srv->rooms_charged, 4);
    socket_free(s);
    CHECK_INT(srv->rooms_charged, 2); /* room-5 (u), the 127-byte room */
    socket_free(u);
    CHECK_INT(srv->rooms_charged, 0);
    server_close();
}

/* max_memberships: the default is 2,000,000; the memberships of every
 * socket count together; a join beyond fails with SIO_ETOOBIG and changes
 * nothing, joining a room already joined or a socket's own id still works,
 * and a leave (or leave_all) gives its membership back. */
static void test_server_memberships_cap(void) {
    server_open(0);
    CHECK_INT(srv->opts.max_memberships, 2000000);
    sio_server_close(srv, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);

    uv_loop_init(&loop);
    sio_server_options o;
    sio_server_options_init(&o);
    o.max_memberships = 5;
    srv = sio_server_new(&loop, &o);
    nsp = sio_nsp_get(srv, "/", 1, 0);
    sio_socket *s = socket_new(0), *t = socket_new(1);
    CHECK_INT(sio_join(s, "a"), 0);
    CHECK_INT(sio_join(s, "b"), 0);
    CHECK_INT(sio_join(s, "c"), 0);
    CHECK_INT(sio_join(t, "a"), 0);
    CHECK_INT(sio_join(t, "b"), 0);
    CHECK_INT(srv->memberships, 5);
    CHECK_INT(sio_join(t, "c"), SIO_ETOOBIG); /* the room exists: the membership is new */
    CHECK(!sio_in_room(t, "c"));
    CHECK_INT(members("c"), 1);
    CHECK_INT(sio_join(t, "a"), 0);     /* already in */
    CHECK_INT(sio_join(t, "sock1"), 0); /* its own id */
    CHECK_INT(srv->memberships, 5);
    CHECK_INT(sio_leave(s, "a"), 0);
    CHECK_INT(srv->memberships, 4);
    CHECK_INT(sio_join(t, "c"), 0);
    CHECK_INT(members("c"), 2);
    socket_free(s); /* leave_all */
    CHECK_INT(srv->memberships, 3);
    socket_free(t);
    CHECK_INT(srv->memberships, 0);
    server_close();
}

/* The ids of the sockets a broadcast reaches, sorted, as "sock0 sock2". */
static void add_id(sio_socket *s, void *ud) {
    char *out = ud;
    if (*out) strcat(out, " ");
    strcat(out, s->id);
}

static int cmp_word(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *sorted(char *ids) {
    char *w[16];
    int n = 0;
    for (char *t = strtok(ids, " "); t && n < 16; t = strtok(NULL, " ")) w[n++] = t;
    qsort(w, (size_t)n, sizeof w[0], cmp_word);
    static char out[256];
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, " ");
        strcat(out, w[i]);
    }
    return out;
}

/* Whom a broadcast described with the public calls reaches: to/except are
 * lists of rooms separated by spaces (empty: none). */
static const char *reached(const char *to, const char *except) {
    sio_broadcast *b = sio_broadcast_new(srv, "/");
    char list[128], *room;
    snprintf(list, sizeof list, "%s", to);
    for (room = strtok(list, " "); room; room = strtok(NULL, " ")) sio_broadcast_to(b, room);
    snprintf(list, sizeof list, "%s", except);
    for (room = strtok(list, " "); room; room = strtok(NULL, " ")) sio_broadcast_except(b, room);
    static char ids[256];
    ids[0] = '\0';
    if (sio_broadcast_fetch_sockets(b, add_id, ids) < 0) return "(failed)";
    return sorted(ids);
}

/* Whom the adapter's own walk reaches with the sender skipped. */
static const char *reached_skipping(const char *room, const sio_socket *skip) {
    const char *rooms[1] = {room};
    sio_bcast_target t = {.rooms = rooms, .nrooms = room ? 1 : 0, .skip = skip};
    static char ids[256];
    ids[0] = '\0';
    nsp->adapter_ops->each(nsp->adapter, &t, add_id, ids);
    return sorted(ids);
}

/* Four connected sockets: sock0 in a, b; sock1 in b; sock2 in c and in
 * sock3's id-room; sock3 in nothing. sock4 is in a but disconnecting. */
static void test_broadcast_targets(void) {
    server_open(0);
    sio_socket *s[5];
    for (int i = 0; i < 5; i++) s[i] = socket_listed(i);
    CHECK_INT(sio_join(s[0], "a"), 0);
    CHECK_INT(sio_join(s[0], "b"), 0);
    CHECK_INT(sio_join(s[1], "b"), 0);
    CHECK_INT(sio_join(s[2], "c"), 0);
    CHECK_INT(sio_join(s[2], "sock3"), 0); /* another socket's id joined as a room */
    CHECK_INT(sio_join(s[4], "a"), 0);
    s[4]->state = SOCK_DISCONNECTED;

    CHECK_STR(reached("", ""), "sock0 sock1 sock2 sock3");     /* everyone connected */
    CHECK_STR(reached("a", ""), "sock0");                      /* not the disconnected one */
    CHECK_STR(reached("a b", ""), "sock0 sock1");              /* a union, sock0 once */
    CHECK_STR(reached("b a b", ""), "sock0 sock1");            /* a room twice: once */
    CHECK_STR(reached("nowhere", ""), "");                     /* no such room */
    CHECK_STR(reached("b", "a"), "sock1");                     /* except a room */
    CHECK_STR(reached("", "b"), "sock2 sock3");                /* everyone but a room */
    CHECK_STR(reached("", "sock2"), "sock0 sock1 sock3");      /* except a socket's id */
    CHECK_STR(reached("sock1", ""), "sock1");                  /* a socket's id as a room */
    CHECK_STR(reached("sock3", ""), "sock2 sock3");            /* with whoever joined it */
    CHECK_STR(reached("", "sock3"), "sock0 sock1");            /* both left out */
    CHECK_STR(reached("b c", "sock0 nowhere"), "sock1 sock2"); /* except wins over to */
    CHECK_STR(reached("a", "a"), "");

    /* socket.broadcast: the sender is left out, wherever it would be reached */
    CHECK_STR(reached_skipping("b", s[0]), "sock1");
    CHECK_STR(reached_skipping(NULL, s[1]), "sock0 sock2 sock3");
    CHECK_STR(reached_skipping("sock3", s[3]), "sock2");

    /* a socket that leaves is no longer reached; an emptied room reaches no one */
    CHECK_INT(sio_leave(s[1], "b"), 0);
    CHECK_STR(reached("b", ""), "sock0");
    CHECK_INT(sio_leave(s[0], "b"), 0);
    CHECK_STR(reached("b", ""), "");
    for (int i = 0; i < 5; i++) socket_free(s[i]);
    CHECK_STR(reached("", ""), "");
    server_close();
}

int main(void) {
    RUN(test_joins_and_leaves_match_a_model);
    RUN(test_many_rooms);
    RUN(test_rooms_cap);
    RUN(test_server_rooms_cap);
    RUN(test_server_memberships_cap);
    RUN(test_broadcast_targets);
    return CHECK_DONE();
}
