/* tests/unit/test_adapter.c - the adapter suite: what any adapter must do
 * with the sockets of this server, run against an adapter table given to it
 * (suite_run): today the in-memory adapter (adapter/memory.c), and a
 * pass-through adapter that wraps it and counts what the core asks of it;
 * the Redis adapter will run the same suite.
 *
 * Through the public calls, on a real server's namespace with sockets made
 * directly (no client): joins and leaves checked against a model, a socket
 * in tens of thousands of rooms, the max_rooms_per_socket cap, the
 * server-wide max_rooms cap (what it counts and gives back), the server-wide
 * max_memberships cap, leave_all, whom a broadcast reaches (every socket,
 * the union of rooms once each, rooms and socket ids left out, a socket's id
 * as a room, the sender skipped, disconnected sockets never), the cluster
 * operations (socketsJoin/Leave, disconnectSockets, allRooms). Then, for the
 * boundary itself: sio_server_options.adapter picks the adapter (NULL: the
 * in-memory one), every public room and broadcast call goes through the
 * table, a broadcast hands the adapter the packet as given (for other
 * servers), and the broadcast-with-ack collector waits for the client counts
 * and answers of other servers. Every socket is freed at the end and the
 * server closed, so an ASan build reports anything left behind.
 */
#include "check.h"
#include "redis_server.h"
#include "sio/sio_internal.h"
#include "socketio/redis.h"

#include <stdlib.h>
#include <string.h>

static uv_loop_t loop;
static sio_server *srv;
static sio_nsp *nsp;
static sio_adapter *suite_adapter; /* the adapter under test */
/* With the Redis adapter, each server gets one of its own, on its loop. */
static const char *suite_redis_url;
static sio_adapter *redis_made;

static void server_open3(uint32_t max_rooms_per_socket, uint32_t max_rooms,
                         uint32_t max_memberships) {
    uv_loop_init(&loop);
    sio_server_options o;
    sio_server_options_init(&o);
    o.max_rooms_per_socket = max_rooms_per_socket;
    o.max_rooms = max_rooms;
    o.max_memberships = max_memberships;
    o.adapter = suite_adapter;
    if (suite_redis_url) {
        sio_redis_options ro;
        sio_redis_options_init(&ro);
        ro.url = suite_redis_url;
        o.adapter = redis_made = sio_redis_adapter_new(&loop, &ro);
        CHECK(redis_made != NULL);
    }
    srv = sio_server_new(&loop, &o);
    nsp = sio_nsp_get(srv, "/", 1, 0);
}

static void server_open2(uint32_t max_rooms_per_socket, uint32_t max_rooms) {
    server_open3(max_rooms_per_socket, max_rooms, 0);
}

static void server_open(uint32_t max_rooms_per_socket) {
    server_open2(max_rooms_per_socket, 0);
}

/* The server first, then its Redis adapter (its connections keep the loop). */
static void close_redis(void *ud) {
    sio_redis_adapter_close(ud, NULL, NULL);
}

static void server_close(void) {
    sio_server_close(srv, redis_made ? close_redis : NULL, redis_made);
    redis_made = NULL;
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static sio_socket *socket_new_in(sio_nsp *in, int i) {
    sio_socket *s = sio_socket_new(in);
    snprintf(s->id, sizeof s->id, "sock%d", i);
    s->head.state = SOCK_CONNECTED;
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
    s->head.state = SOCK_DISCONNECTED;
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
    server_close();

    server_open3(0, 0, 5);
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

/* Whom socket.broadcast from skip reaches (the sender left out). */
static const char *reached_skipping(const char *room, sio_socket *skip) {
    sio_broadcast *b = sio_socket_broadcast(skip);
    if (room) sio_broadcast_to(b, room);
    static char ids[256];
    ids[0] = '\0';
    if (sio_broadcast_fetch_sockets(b, add_id, ids) < 0) return "(failed)";
    return sorted(ids);
}

/* sio_broadcast_fetch_ids: ids, then done once (the in-memory adapter has no
 * fetch_ids op: the core lists the local sockets). */
typedef struct fetched {
    char ids[256];
    int done;
} fetched;

static void fetched_id(const char *id, void *ud) {
    fetched *f = ud;
    CHECK_INT(f->done, 0);
    if (f->ids[0]) strcat(f->ids, " ");
    strcat(f->ids, id);
}

static void fetched_done(int err, void *ud) {
    CHECK_INT(err, 0);
    ((fetched *)ud)->done++;
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
    s[4]->head.state = SOCK_DISCONNECTED;

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

    fetched f = {{0}, 0};
    CHECK_INT(sio_broadcast_fetch_ids(sio_broadcast_except(sio_broadcast_new(srv, "/"), "sock2"),
                                      fetched_id, fetched_done, &f),
              3);
    CHECK_STR(sorted(f.ids), "sock0 sock1 sock3");
    CHECK_INT(f.done, 1);
    CHECK_INT(sio_broadcast_fetch_ids(sio_broadcast_new(srv, "/"), NULL, NULL, NULL), SIO_EINVAL);

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

/* socketsJoin / socketsLeave / disconnectSockets and allRooms, through the
 * public calls and the table. */
static void add_room_name(const char *room, void *ud) {
    char *out = ud;
    if (*out) strcat(out, " ");
    strcat(out, room);
}

static void done_count(int err, void *ud) {
    CHECK_INT(err, 0);
    ++*(int *)ud;
}

/* Every room of "/" (sio_namespace_rooms), sorted; "(no done)" when done was
 * not called once, after the rooms. */
typedef struct rooms_listing {
    char names[256];
    int done;
} rooms_listing;

static void add_listed_room(const char *room, void *ud) {
    rooms_listing *l = ud;
    if (l->done) strcpy(l->names, "(room after done)");
    add_room_name(room, l->names);
}

static void listing_done(int err, void *ud) {
    ((rooms_listing *)ud)->done += err == 0;
}

static const char *all_rooms(void) {
    static rooms_listing l;
    memset(&l, 0, sizeof l);
    int n = sio_namespace_rooms(srv, "/", add_listed_room, listing_done, &l);
    if (n < 0) return "(failed)";
    if (l.done != 1) return "(no done)";
    return sorted(l.names);
}

static void test_cluster_operations(void) {
    server_open(0);
    sio_socket *s[3];
    for (int i = 0; i < 3; i++) s[i] = socket_listed(i);
    CHECK_INT(sio_join(s[0], "a"), 0);
    CHECK_INT(sio_join(s[1], "a"), 0);
    CHECK_INT(sio_join(s[2], "b"), 0);
    /* socketsJoin: the sockets of a, but not sock1, join z */
    sio_broadcast *b = sio_broadcast_to(sio_broadcast_new(srv, "/"), "a");
    CHECK_INT(sio_broadcast_join(sio_broadcast_except(b, "sock1"), "z"), 1);
    CHECK_STR(reached("z", ""), "sock0");
    CHECK_INT(sio_broadcast_join(sio_broadcast_new(srv, "/"), "z"), 3);
    CHECK_STR(reached("z", ""), "sock0 sock1 sock2");
    CHECK_STR(all_rooms(), "a b sock0 sock1 sock2 z");
    /* socketsLeave */
    CHECK_INT(sio_broadcast_leave(sio_broadcast_to(sio_broadcast_new(srv, "/"), "b"), "z"), 1);
    CHECK_STR(reached("z", ""), "sock0 sock1");
    CHECK_INT(sio_broadcast_leave(sio_broadcast_new(srv, "/"), "a"), 3);
    CHECK_STR(all_rooms(), "b sock0 sock1 sock2 z");
    /* fetch_sockets through the table calls done once, after the sockets */
    int done = 0;
    const char *rooms[1] = {"z"};
    sio_bcast_target t = {.rooms = rooms, .nrooms = 1};
    CHECK_INT(nsp->adapter_ops->fetch_sockets(nsp->adapter, &t, count_socket, done_count, &done),
              2);
    CHECK_INT(done, 3); /* two sockets counted, then done */
    /* disconnectSockets: the sockets of z leave their namespace and rooms */
    CHECK_INT(sio_broadcast_disconnect(sio_broadcast_to(sio_broadcast_new(srv, "/"), "z"), false),
              2);
    CHECK(!sio_socket_connected(s[0]) && !sio_socket_connected(s[1]));
    CHECK_STR(reached("", ""), "sock2");
    CHECK_STR(all_rooms(), "b sock2");
    for (int i = 0; i < 3; i++) socket_free(s[i]);
    CHECK_STR(all_rooms(), "");
    CHECK_INT(sio_namespace_rooms(srv, "/nowhere", add_listed_room, NULL, NULL), SIO_EINVAL);
    server_close();
}

static void suite_run(sio_adapter *adapter) {
    suite_adapter = adapter;
    fprintf(stderr, "-- adapter %s\n",
            suite_redis_url ? "redis"
            : adapter       ? adapter->ops->name
                            : "(default)");
    RUN(test_joins_and_leaves_match_a_model);
    RUN(test_many_rooms);
    RUN(test_rooms_cap);
    RUN(test_server_rooms_cap);
    RUN(test_server_memberships_cap);
    RUN(test_broadcast_targets);
    RUN(test_cluster_operations);
    suite_adapter = NULL;
}

/* ---- the Redis adapter between two servers ------------------------------------------------- */

static void guard_fired(uv_timer_t *t) {
    *(bool *)t->data = true;
}

/* Runs the loop until cond(arg) holds, 5 s at most. */
static bool run_until(bool (*cond)(void *), void *arg) {
    bool expired = false;
    uv_timer_t guard;
    uv_timer_init(&loop, &guard);
    guard.data = &expired;
    uv_timer_start(&guard, guard_fired, 5000, 0);
    while (!cond(arg) && !expired) uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return cond(arg);
}

static bool is_ready(void *a) {
    return sio_redis_adapter_ready(a);
}

static sio_redis_stats stats_of(sio_adapter *a) {
    sio_redis_stats st;
    sio_redis_adapter_stats(a, &st);
    return st;
}

typedef struct received_at_least {
    sio_adapter *a;
    uint64_t n;
} received_at_least;

static bool has_received(void *ud) {
    received_at_least *r = ud;
    return stats_of(r->a).received >= r->n;
}

/* A broadcast on server A is published once (on the room channel for one
 * room), reaches server B once, never comes back to A, and is not read by B
 * on a room channel of a room B has no member in; a local one is not
 * published. */
static void test_redis_between_two_servers(void) {
    server_open(0);
    sio_adapter *ra = redis_made;
    sio_redis_options ro;
    sio_redis_options_init(&ro);
    ro.url = suite_redis_url;
    sio_adapter *rb = sio_redis_adapter_new(&loop, &ro);
    sio_server_options o;
    sio_server_options_init(&o);
    o.adapter = rb;
    sio_server *srv_b = sio_server_new(&loop, &o);
    sio_nsp *nsp_b = sio_nsp_get(srv_b, "/", 1, 0);
    CHECK(run_until(is_ready, ra) && run_until(is_ready, rb));

    json_t *args = json_pack("[s{sb}]", "hi", "k", 1);
    sio_broadcast_emit(sio_broadcast_new(srv, "/"), "news", args);
    CHECK_INT((int)stats_of(ra).published, 1);
    CHECK(run_until(has_received, &(received_at_least){rb, 1}));
    sio_broadcast_emit(sio_broadcast_local(sio_broadcast_new(srv, "/")), "news", args);
    CHECK_INT((int)stats_of(ra).published, 1);
    /* a room B has no member in: B drops it unread; the next one shows it */
    sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(srv, "/"), "r"), "news", args);
    sio_broadcast_emit(sio_broadcast_new(srv, "/"), "news", args);
    CHECK_INT((int)stats_of(ra).published, 3);
    CHECK(run_until(has_received, &(received_at_least){rb, 2}));
    CHECK_INT((int)stats_of(rb).received, 2);
    /* with a member in r, B takes it */
    sio_socket *s = socket_new_in(nsp_b, 7);
    sio_nsp_add_socket(nsp_b, s);
    CHECK_INT(sio_join(s, "r"), 0);
    sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(srv, "/"), "r"), "news", args);
    CHECK(run_until(has_received, &(received_at_least){rb, 3}));
    /* B's own broadcast reaches A, and B does not take it back */
    sio_broadcast_emit(sio_broadcast_new(srv_b, "/"), "news", args);
    CHECK(run_until(has_received, &(received_at_least){ra, 1}));
    sio_broadcast_emit(sio_broadcast_new(srv, "/"), "news", args);
    CHECK(run_until(has_received, &(received_at_least){rb, 4}));
    CHECK_INT((int)stats_of(rb).received, 4);
    CHECK_INT((int)stats_of(ra).received, 1);
    CHECK_INT((int)stats_of(ra).received_dropped + (int)stats_of(rb).received_dropped, 0);
    json_decref(args);
    sio_nsp_remove_socket(nsp_b, s);
    s->head.state = SOCK_DISCONNECTED;
    nsp_b->adapter_ops->leave_all(nsp_b->adapter, s);
    sio_socket_unref(s);
    sio_server_close(srv_b, close_redis, rb);
    server_close();
}

/* Redis unreachable: local delivery goes on, publications are dropped and
 * counted, and the adapter closes cleanly. */
static void test_redis_down(void) {
    const char *url = suite_redis_url;
    char down[64];
    snprintf(down, sizeof down, "redis://127.0.0.1:%d", free_port());
    suite_redis_url = down;
    server_open(0);
    suite_redis_url = url;
    sio_socket *s = socket_listed(1);
    json_t *args = json_pack("[i]", 1);
    CHECK_INT(sio_broadcast_emit(sio_broadcast_new(srv, "/"), "news", args), 0); /* no eio */
    CHECK_INT((int)stats_of(redis_made).published, 0);
    CHECK_INT((int)stats_of(redis_made).publish_dropped, 1);
    CHECK(!sio_redis_adapter_ready(redis_made));
    json_decref(args);
    socket_free(s);
    server_close();
}

/* ---- the boundary: a pass-through adapter -------------------------------------------------- */

/* Wraps the in-memory adapter as a multi-server one would (its local half),
 * counting every call the core makes, keeping what a broadcast hands over
 * for the other servers, and, when asked, playing one other server in a
 * broadcast with acknowledgements. */
enum {
    OP_CREATE,
    OP_DESTROY,
    OP_JOIN,
    OP_LEAVE,
    OP_LEAVE_ALL,
    OP_HAS,
    OP_ROOMS_OF,
    OP_BROADCAST,
    OP_BROADCAST_ACK,
    OP_FETCH,
    OP_SOCKETS_JOIN,
    OP_SOCKETS_LEAVE,
    OP_DISCONNECT,
    OP_SERVER_EMIT,
    OP_ALL_ROOMS,
    OP_N
};

typedef struct pass_adapter {
    sio_adapter base; /* first: create finds the struct again */
    sio_adapter *inner;
    unsigned calls[OP_N];
    char event[32];    /* the last broadcast's packet, as given */
    char args[64];     /* its arguments: jansson dumped, or raw text */
    int local, remote; /* the last target's local flag; play another server */
    sio_bcast_ack *acks;
} pass_adapter;

typedef struct pass_nsp {
    pass_adapter *owner;
    void *inner;
} pass_nsp;

static const sio_adapter_ops *inner_ops(pass_nsp *p) {
    return p->owner->inner->ops;
}

static void *pass_create(sio_adapter *self, sio_nsp *n) {
    pass_adapter *pa = (pass_adapter *)self;
    pass_nsp *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->owner = pa;
    pa->calls[OP_CREATE]++;
    if (!(p->inner = pa->inner->ops->create(pa->inner, n))) {
        free(p);
        return NULL;
    }
    return p;
}

static void pass_destroy(void *a) {
    pass_nsp *p = a;
    p->owner->calls[OP_DESTROY]++;
    inner_ops(p)->destroy(p->inner);
    free(p);
}

#define PASS(op, call)                                                                             \
    pass_nsp *p = a;                                                                               \
    p->owner->calls[op]++;                                                                         \
    return inner_ops(p)->call

static int pass_join(void *a, sio_socket *s, const char *room) {
    PASS(OP_JOIN, join(p->inner, s, room));
}
static int pass_leave(void *a, sio_socket *s, const char *room) {
    PASS(OP_LEAVE, leave(p->inner, s, room));
}
static void pass_leave_all(void *a, sio_socket *s) {
    PASS(OP_LEAVE_ALL, leave_all(p->inner, s));
}
static int pass_has(void *a, const sio_socket *s, const char *room) {
    PASS(OP_HAS, has(p->inner, s, room));
}
static void pass_rooms_of(void *a, const sio_socket *s, sio_room_cb cb, void *ud) {
    PASS(OP_ROOMS_OF, rooms_of(p->inner, s, cb, ud));
}

static void keep_packet(pass_adapter *pa, const sio_bcast_target *t,
                        const sio_adapter_packet *pkt) {
    snprintf(pa->event, sizeof pa->event, "%s", pkt->event);
    pa->args[0] = '\0';
    if (pkt->args) {
        char *text = json_dumps(pkt->args, JSON_COMPACT);
        snprintf(pa->args, sizeof pa->args, "json %s", text ? text : "?");
        free(text);
    } else if (pkt->raw) {
        snprintf(pa->args, sizeof pa->args, "raw %.*s", (int)pkt->raw_len, pkt->raw);
    }
    pa->local = t->local;
}

static size_t pass_broadcast(void *a, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                             const sio_prepared *prep) {
    keep_packet(((pass_nsp *)a)->owner, t, pkt);
    PASS(OP_BROADCAST, broadcast(p->inner, t, pkt, prep));
}

static size_t pass_broadcast_ack(void *a, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                                 uint64_t id, const sio_prepared *prep, sio_bcast_ack *acks) {
    pass_adapter *pa = ((pass_nsp *)a)->owner;
    keep_packet(pa, t, pkt);
    if (pa->remote) { /* one other server will give its count and answers */
        sio_adapter_ack_servers(acks, 1);
        sio_adapter_ack_hold(acks);
        pa->acks = acks;
    }
    PASS(OP_BROADCAST_ACK, broadcast_with_ack(p->inner, t, pkt, id, prep, acks));
}

static int pass_fetch(void *a, const sio_bcast_target *t, sio_adapter_each_cb cb, sio_done_cb done,
                      void *ud) {
    PASS(OP_FETCH, fetch_sockets(p->inner, t, cb, done, ud));
}
static int pass_sockets_join(void *a, const sio_bcast_target *t, const char *room) {
    PASS(OP_SOCKETS_JOIN, sockets_join(p->inner, t, room));
}
static int pass_sockets_leave(void *a, const sio_bcast_target *t, const char *room) {
    PASS(OP_SOCKETS_LEAVE, sockets_leave(p->inner, t, room));
}
static int pass_disconnect(void *a, const sio_bcast_target *t, bool close_transport) {
    PASS(OP_DISCONNECT, disconnect_sockets(p->inner, t, close_transport));
}
static int pass_server_emit(void *a, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                            void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud) {
    pass_adapter *pa = ((pass_nsp *)a)->owner;
    snprintf(pa->event, sizeof pa->event, "%s", pkt->event);
    if (pa->remote && reply) { /* another server answers */
        json_t *answer = json_string("from-b");
        reply(answer, ud);
        json_decref(answer);
    }
    PASS(OP_SERVER_EMIT, server_side_emit(p->inner, pkt, timeout_ms, reply, done, ud));
}
static int pass_all_rooms(void *a, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done,
                          void *ud) {
    PASS(OP_ALL_ROOMS, all_rooms(p->inner, timeout_ms, cb, done, ud));
}
#undef PASS

static const sio_adapter_ops pass_ops = {
    .name = "pass-through",
    .create = pass_create,
    .destroy = pass_destroy,
    .join = pass_join,
    .leave = pass_leave,
    .leave_all = pass_leave_all,
    .has = pass_has,
    .rooms_of = pass_rooms_of,
    .broadcast = pass_broadcast,
    .broadcast_with_ack = pass_broadcast_ack,
    .fetch_sockets = pass_fetch,
    .sockets_join = pass_sockets_join,
    .sockets_leave = pass_sockets_leave,
    .disconnect_sockets = pass_disconnect,
    .server_side_emit = pass_server_emit,
    .all_rooms = pass_all_rooms,
};

static pass_adapter pass = {.base = {.ops = &pass_ops}, .inner = &sio_memory_adapter};

/* NULL is the in-memory adapter; another is used for every namespace, one
 * instance each, destroyed with the server. */
static void test_option_picks_the_adapter(void) {
    suite_adapter = NULL;
    server_open(0);
    CHECK(nsp->adapter_ops == sio_memory_adapter.ops);
    server_close();

    memset(pass.calls, 0, sizeof pass.calls);
    suite_adapter = &pass.base;
    server_open(0);
    CHECK(nsp->adapter_ops == &pass_ops);
    CHECK_INT(pass.calls[OP_CREATE], 1); /* "/" */
    CHECK_INT(sio_namespace(srv, "/b"), 0);
    CHECK_INT(pass.calls[OP_CREATE], 2);
    CHECK_INT(pass.calls[OP_DESTROY], 0);
    server_close();
    CHECK_INT(pass.calls[OP_DESTROY], 2);
    suite_adapter = NULL;
}

static void ignore_socket(sio_socket *s, void *ud) {
    (void)s, (void)ud;
}

/* Every public room and broadcast call reaches the adapter through its table,
 * and a broadcast hands over the packet as the application gave it. */
static void test_calls_go_through_the_table(void) {
    memset(pass.calls, 0, sizeof pass.calls);
    suite_adapter = &pass.base;
    server_open(0);
    sio_socket *s = socket_listed(0);
    CHECK_INT(sio_join(s, "a"), 0);
    CHECK_INT(pass.calls[OP_JOIN], 1);
    CHECK(sio_in_room(s, "a"));
    CHECK_INT(pass.calls[OP_HAS], 1);
    CHECK_INT(rooms_of(s), 1);
    CHECK_INT(pass.calls[OP_ROOMS_OF], 1);
    CHECK_INT(sio_leave(s, "a"), 0);
    CHECK_INT(pass.calls[OP_LEAVE], 1);

    json_t *args = json_pack("[si]", "hi", 1);
    CHECK_INT(sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(srv, "/"), "a"), "news", args),
              0);
    json_decref(args);
    CHECK_INT(pass.calls[OP_BROADCAST], 1);
    CHECK_STR(pass.event, "news");
    CHECK_STR(pass.args, "json [\"hi\",1]");
    CHECK_INT(pass.local, 0);
    CHECK_INT(
        sio_broadcast_emit_raw(sio_broadcast_local(sio_broadcast_new(srv, "/")), "r", "\"x\",2", 5),
        0); /* no eio: nothing queued */
    CHECK_INT(pass.calls[OP_BROADCAST], 2);
    CHECK_STR(pass.event, "r");
    CHECK_STR(pass.args, "raw \"x\",2");
    CHECK_INT(pass.local, 1);

    CHECK_INT(sio_broadcast_fetch_sockets(sio_broadcast_new(srv, "/"), ignore_socket, NULL), 1);
    CHECK_INT(pass.calls[OP_FETCH], 1);
    CHECK_INT(sio_broadcast_join(sio_broadcast_new(srv, "/"), "j"), 1);
    CHECK_INT(pass.calls[OP_SOCKETS_JOIN], 1);
    CHECK_INT(pass.calls[OP_JOIN], 2); /* the in-memory half joined it through the core */
    CHECK_INT(sio_broadcast_leave(sio_broadcast_new(srv, "/"), "j"), 1);
    CHECK_INT(pass.calls[OP_SOCKETS_LEAVE], 1);
    CHECK_INT(sio_broadcast_disconnect(sio_broadcast_new(srv, "/"), false), 1);
    CHECK_INT(pass.calls[OP_DISCONNECT], 1);
    CHECK_INT(pass.calls[OP_LEAVE_ALL], 1); /* the disconnection left every room */
    socket_free(s);
    server_close();
    suite_adapter = NULL;
}

typedef struct ack_result {
    int calls, err;
    char responses[128];
} ack_result;

static void on_acks(int err, json_t *responses, void *ud) {
    ack_result *r = ud;
    r->calls++;
    r->err = err;
    char *text = json_dumps(responses, JSON_COMPACT);
    snprintf(r->responses, sizeof r->responses, "%s", text ? text : "?");
    free(text);
}

static void stop_waiting(uv_timer_t *t) {
    (void)t;
}

/* A broadcast with acknowledgements waits for the other servers: their
 * client counts, then as many answers; or ends at the timeout, after which
 * late answers are ignored. The collector lives while the adapter holds it. */
static void test_acks_from_other_servers(void) {
    suite_adapter = &pass.base;
    server_open(0);
    pass.remote = 1;
    ack_result r = {0};
    CHECK_INT(sio_broadcast_emit_with_ack(sio_broadcast_new(srv, "/"), "q", NULL, on_acks, &r), 0);
    CHECK_INT(pass.calls[OP_BROADCAST_ACK] > 0, 1);
    CHECK_INT(r.calls, 0); /* the other server's count is not in */
    sio_adapter_ack_client_count(pass.acks, 2);
    json_t *a1 = json_pack("[i]", 1), *a2 = json_pack("[i]", 2);
    sio_adapter_ack_answer(pass.acks, a1);
    CHECK_INT(r.calls, 0);
    sio_adapter_ack_answer(pass.acks, a2);
    CHECK_INT(r.calls, 1);
    CHECK_INT(r.err, 0);
    CHECK_STR(r.responses, "[[1],[2]]");
    sio_adapter_ack_answer(pass.acks, a1); /* late: ignored */
    CHECK_INT(r.calls, 1);
    sio_adapter_ack_release(pass.acks);

    /* a server that never gives its count: the timeout ends it */
    ack_result r2 = {0};
    sio_broadcast *b = sio_broadcast_timeout(sio_broadcast_new(srv, "/"), 20);
    CHECK_INT(sio_broadcast_emit_with_ack(b, "q", NULL, on_acks, &r2), 0);
    uv_timer_t wait; /* the wheel's own timer keeps no loop alive */
    uv_timer_init(&loop, &wait);
    for (int i = 0; i < 100 && !r2.calls; i++) {
        uv_timer_start(&wait, stop_waiting, 10, 0);
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&wait, NULL);
    CHECK_INT(r2.calls, 1);
    CHECK_INT(r2.err, SIO_ETIMEDOUT);
    sio_adapter_ack_client_count(pass.acks, 1); /* late: ignored */
    sio_adapter_ack_answer(pass.acks, a2);
    CHECK_INT(r2.calls, 1);
    sio_adapter_ack_release(pass.acks);
    json_decref(a1);
    json_decref(a2);
    pass.remote = 0;
    server_close();
    suite_adapter = NULL;
}

typedef struct server_event_seen {
    int calls, had_reply;
    char args[64];
} server_event_seen;

static void on_hello(sio_server *sio, const char *nsp_name, json_t *args, sio_server_reply *reply,
                     void *ud) {
    server_event_seen *seen = ud;
    seen->calls++;
    seen->had_reply = reply != NULL;
    char *text = json_dumps(args, JSON_COMPACT);
    snprintf(seen->args, sizeof seen->args, "%s %s", nsp_name, text ? text : "?");
    free(text);
    json_t *pong = json_string("pong");
    if (reply) sio_server_reply_send(reply, pong);
    json_decref(pong);
    (void)sio;
}

static void keep_answer(json_t *value, void *ud) {
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(ud, 64, "%s", text ? text : "?");
    free(text);
}

typedef struct answers_seen {
    int calls, err;
    char answers[64];
} answers_seen;

static void on_answers(int err, json_t *answers, void *ud) {
    answers_seen *a = ud;
    a->calls++;
    a->err = err;
    char *text = json_dumps(answers, JSON_COMPACT);
    snprintf(a->answers, sizeof a->answers, "%s", text ? text : "?");
    free(text);
}

/* serverSideEmit: an event from another server runs the namespace's
 * server-side handler, whose reply reaches the adapter; emitting goes
 * through the table, and the answers of other servers reach the caller. */
static void test_server_side_events(void) {
    memset(pass.calls, 0, sizeof pass.calls);
    suite_adapter = &pass.base;
    server_open(0);
    server_event_seen seen = {0};
    CHECK_INT(sio_on_server_event(srv, "/", "hello", on_hello, &seen), 0);
    CHECK_INT(sio_on_server_event(srv, "/", NULL, on_hello, &seen), SIO_EINVAL);
    json_t *args = json_pack("[is]", 1, "x");
    char answer[64] = "";
    sio_adapter_server_event(nsp, "hello", args, keep_answer, answer);
    CHECK_INT(seen.calls, 1);
    CHECK_INT(seen.had_reply, 1);
    CHECK_STR(seen.args, "/ [1,\"x\"]");
    CHECK_STR(answer, "\"pong\"");
    sio_adapter_server_event(nsp, "hello", NULL, NULL, NULL); /* no answer wanted */
    CHECK_INT(seen.calls, 2);
    CHECK_INT(seen.had_reply, 0);
    CHECK_STR(seen.args, "/ []");
    sio_adapter_server_event(nsp, "nobody", args, keep_answer, answer); /* no handler */
    CHECK_INT(seen.calls, 2);

    CHECK_INT(sio_server_side_emit(srv, "/", "notify", args), 0); /* no other server here */
    CHECK_INT(pass.calls[OP_SERVER_EMIT], 1);
    CHECK_STR(pass.event, "notify");
    CHECK_INT(seen.calls, 2); /* never to this server's own handlers */
    CHECK_INT(sio_server_side_emit(srv, "/nowhere", "notify", args), SIO_EINVAL);

    answers_seen got = {0};
    CHECK_INT(sio_server_side_emit_with_ack(srv, NULL, "ping", args, 100, on_answers, &got), 0);
    CHECK_INT(got.calls, 1); /* alone: at once, no answer */
    CHECK_INT(got.err, 0);
    CHECK_STR(got.answers, "[]");
    pass.remote = 1;
    memset(&got, 0, sizeof got);
    CHECK_INT(sio_server_side_emit_with_ack(srv, NULL, "ping", args, 100, on_answers, &got), 0);
    CHECK_INT(got.calls, 1);
    CHECK_STR(got.answers, "[\"from-b\"]");
    pass.remote = 0;
    json_decref(args);
    server_close();
    suite_adapter = NULL;
}

int main(void) {
    suite_run(NULL);                /* the default: in-memory */
    suite_run(&sio_memory_adapter); /* named */
    suite_run(&pass.base);          /* wrapped, as a multi-server adapter's local half */
    RUN(test_option_picks_the_adapter);
    RUN(test_calls_go_through_the_table);
    RUN(test_acks_from_other_servers);
    RUN(test_server_side_events);
    /* the same suite over the Redis adapter, on a real redis-server */
    signal(SIGPIPE, SIG_IGN);
    int port = free_port();
    pid_t redis = redis_start(port);
    if (redis <= 0) {
        fprintf(stderr, "cannot start redis-server: the Redis adapter is not tested\n");
        check_failed_cases++;
    } else {
        char url[64];
        snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
        suite_redis_url = url;
        suite_run(NULL);
        RUN(test_redis_between_two_servers);
        RUN(test_redis_down);
        suite_redis_url = NULL;
        redis_stop(redis);
    }
    return CHECK_DONE();
}
