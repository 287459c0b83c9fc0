/* adapter/memory.c - the in-memory adapter: rooms of one process.
 *
 * It sees the core only through adapter.h: a socket's head (its mark, and its
 * slot, where this adapter keeps the socket's record) and the sio_adapter_*
 * functions. A room is an array of its sockets; each socket's record
 * (mem_sock, in its head's slot, allocated on its first join) holds, per
 * room, its slot in that array (mem_membership), so a broadcast to a room
 * walks a dense array. Rooms are found by name in a keyed hash map and vanish
 * with their last member. De-duplication across several rooms uses a
 * generation mark in the socket's head instead of a set per broadcast.
 *
 * Every operation on one membership is O(1), however many rooms the socket
 * is in: past SMALL_ROOMS memberships, the socket's record also holds an
 * open-addressing index of its membership array, keyed by the room pointer
 * (2 * caprooms slots of uint32: the membership's position + 1, 0 empty), so
 * "is s in r, and where" is a probe instead of a scan. join, leave and has
 * use it, and so does leave's swap-remove in the room (the member moved into
 * the freed slot must have its record updated). leave_all is O(rooms). A
 * socket is in at most max_rooms_per_socket rooms (its own id not counted):
 * a join beyond fails with SIO_ETOOBIG.
 *
 * Rooms are bounded server-wide too, every namespace's adapter together
 * (sio_adapter_rooms_charge, against max_rooms): per namespace would be no bound,
 * since dynamic namespaces come by the thousand. A join that would make a
 * new room past the cap fails with SIO_ETOOBIG; joining a room that exists
 * costs nothing new and always works, and a socket's own id is never a room
 * here. What a room costs, measured (glibc's mallinfo2 over 100,000 rooms
 * of one member each, 64-bit): the room block (24 B + the name + NUL, one
 * allocation), the map entry (32 B + the name + NUL: the key is copied),
 * its members array (2 slots of 8 B to start) and a bucket pointer (8-16 B),
 * with malloc's 8 B header and 16 B rounding on each: 144 B with an 11-byte
 * name, 192 B with a 36-byte one (a UUID), 368 B at 127 bytes. A room named
 * with len bytes is charged 1 + len / ROOM_NAME_UNIT (128) rooms, so each
 * one charged costs at most ~370 B of heap (a 255-byte name: 624 B for 2),
 * and the default cap of 100,000 bounds rooms to ~15 MB with short names
 * and ~37 MB at worst, whatever the names. A socket's side of a membership
 * (16 B, and 8 B of index past SMALL_ROOMS, arrays doubling) is bounded by
 * max_rooms_per_socket, and server-wide by max_memberships
 * (sio_adapter_membership_charge: a join beyond fails with SIO_ETOOBIG too).
 *
 * The cluster operations have no other server to ask: they complete before
 * returning, done included. Those that call application code per socket
 * (fetch_sockets, sockets_join/leave, disconnect_sockets) collect the sockets
 * first, each with a reference, so the callbacks may join, leave or
 * disconnect anything; all_rooms copies the names first for the same reason.
 */
#include "adapter/adapter.h"
#include "util/map.h"
#include "util/vec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many memberships a socket's rooms are scanned, not indexed. */
#define SMALL_ROOMS 8

/* A room counts against max_rooms as 1 + its name's length / ROOM_NAME_UNIT,
 * so long names cannot multiply what the cap bounds. */
#define ROOM_NAME_UNIT 128

typedef struct mem_room {
    UTIL_VEC(sio_socket *) members;
    uint32_t name_len;
    uint32_t charge; /* what it counts for against max_rooms */
    char name[];     /* NUL-terminated */
} mem_room;

/* Per socket, per room joined: where the socket sits in the room. */
typedef struct mem_membership {
    mem_room *room;
    uint32_t index;
} mem_membership;

/* A socket's record (its head's slot): its memberships and, past
 * SMALL_ROOMS, their index, in one block. */
typedef struct mem_sock {
    uint32_t nrooms, caprooms;
    mem_membership rooms[];
} mem_sock;

typedef struct mem_adapter {
    sio_nsp *nsp;
    util_map rooms;    /* name -> mem_room* */
    uint32_t mark_gen; /* the last mark given to this namespace's sockets */
    unsigned walking;  /* inside a broadcast's walk: no room may change */
} mem_adapter;

static mem_sock *sock_of(const sio_socket *s) {
    return sio_socket_head_of_const(s)->slot;
}

static uint32_t nrooms_of(const sio_socket *s) {
    const mem_sock *ms = sock_of(s);
    return ms ? ms->nrooms : 0;
}

static void *mem_create(sio_adapter *self, sio_nsp *nsp) {
    (void)self;
    mem_adapter *a = calloc(1, sizeof *a);
    if (a) a->nsp = nsp;
    return a;
}

/* Frees a room and gives back its charge (the map entry is the caller's). */
static void room_free(mem_adapter *a, mem_room *r) {
    sio_adapter_rooms_refund(a->nsp, r->charge);
    util_vec_free(&r->members);
    free(r);
}

/* A new, empty room named `name`, in the map and charged; NULL with *err
 * SIO_ETOOBIG (over max_rooms) or SIO_ENOMEM. */
static mem_room *room_new(mem_adapter *a, const char *name, size_t len, int *err) {
    size_t charge = 1 + len / ROOM_NAME_UNIT;
    *err = SIO_ETOOBIG;
    if (len > UINT32_MAX / 2 || sio_adapter_rooms_charge(a->nsp, charge) != 0) return NULL;
    *err = SIO_ENOMEM;
    mem_room *r = malloc(sizeof *r + len + 1);
    if (r) {
        *r = (mem_room){.name_len = (uint32_t)len, .charge = (uint32_t)charge};
        memcpy(r->name, name, len + 1);
        if (util_map_put(&a->rooms, r->name, len, r) == 0) return r;
        free(r);
    }
    sio_adapter_rooms_refund(a->nsp, charge);
    return NULL;
}

static void mem_destroy(void *adapter) {
    mem_adapter *a = adapter;
    util_map_iter it;
    util_map_iter_init(&it, &a->rooms);
    for (util_map_entry *e = util_map_iter_next(&it); e; e = util_map_iter_next(&it))
        room_free(a, e->value);
    util_map_free(&a->rooms);
    free(a);
}

/* ---- a socket's memberships, and their index ---- */

static int indexed(const mem_sock *ms) {
    return ms->caprooms > SMALL_ROOMS;
}

static uint32_t *index_of(const mem_sock *ms) {
    return (uint32_t *)(ms->rooms + ms->caprooms);
}

static uint32_t index_mask(const mem_sock *ms) {
    return 2 * ms->caprooms - 1;
}

static uint32_t index_home(const mem_sock *ms, const void *room) {
    uint64_t h = (uint64_t)(uintptr_t)room * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & index_mask(ms);
}

/* The index slot that holds membership k. */
static uint32_t index_slot_of(const mem_sock *ms, uint32_t k) {
    const uint32_t *ix = index_of(ms);
    uint32_t i = index_home(ms, ms->rooms[k].room);
    while (ix[i] != k + 1) {
        assert(ix[i] != 0);
        i = (i + 1) & index_mask(ms);
    }
    return i;
}

static void index_insert(mem_sock *ms, uint32_t k) {
    uint32_t *ix = index_of(ms);
    uint32_t i = index_home(ms, ms->rooms[k].room);
    while (ix[i]) i = (i + 1) & index_mask(ms);
    ix[i] = k + 1;
}

/* Empties slot i (backward shift: the rest of its run moves up). */
static void index_delete(mem_sock *ms, uint32_t i) {
    uint32_t *ix = index_of(ms);
    uint32_t mask = index_mask(ms);
    for (uint32_t j = (i + 1) & mask; ix[j]; j = (j + 1) & mask) {
        uint32_t home = index_home(ms, ms->rooms[ix[j] - 1].room);
        if (((j - home) & mask) >= ((j - i) & mask)) { /* home not in (i, j]: may move to i */
            ix[i] = ix[j];
            i = j;
        }
    }
    ix[i] = 0;
}

/* The position of r among the memberships of ms (may be NULL), or -1. */
static int64_t membership_find(const mem_sock *ms, const mem_room *r) {
    if (!ms) return -1;
    if (!indexed(ms)) {
        for (uint32_t i = 0; i < ms->nrooms; i++)
            if (ms->rooms[i].room == r) return i;
        return -1;
    }
    const uint32_t *ix = index_of(ms);
    for (uint32_t i = index_home(ms, r); ix[i]; i = (i + 1) & index_mask(ms))
        if (ms->rooms[ix[i] - 1].room == r) return ix[i] - 1;
    return -1;
}

/* Room for one more membership in s's record (made on the first join): the
 * block doubles, the index is rebuilt. */
static int memberships_grow(sio_socket *s) {
    sio_socket_head *h = sio_socket_head_of(s);
    mem_sock *ms = h->slot;
    uint32_t n = ms ? ms->nrooms : 0, capn = ms ? ms->caprooms : 0;
    if (n < capn) return 0;
    /* the largest element: a membership and its two index slots */
    uint32_t cap =
        util_vec_next_cap(capn, (size_t)n + 1, sizeof(mem_membership) + 2 * sizeof(uint32_t));
    if (!cap) return SIO_ENOMEM;
    size_t size = sizeof *ms + cap * sizeof(mem_membership);
    if (cap > SMALL_ROOMS) size += 2 * (size_t)cap * sizeof(uint32_t);
    mem_sock *m = realloc(ms, size);
    if (!m) return SIO_ENOMEM;
    m->nrooms = n;
    m->caprooms = cap;
    h->slot = m;
    if (indexed(m)) {
        memset(index_of(m), 0, 2 * (size_t)cap * sizeof(uint32_t));
        for (uint32_t k = 0; k < m->nrooms; k++) index_insert(m, k);
    }
    return 0;
}

/* ---- joining and leaving ---- */

static int mem_join(void *adapter, sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    size_t len = strlen(room);
    if (strcmp(room, sio_socket_id(s)) == 0) return 0; /* always in its own room */
    mem_room *r = util_map_get(&a->rooms, room, len);
    if (r && membership_find(sock_of(s), r) >= 0) return 0;
    assert(!a->walking);
    if (nrooms_of(s) >= sio_adapter_max_rooms_per_socket(a->nsp)) return SIO_ETOOBIG;
    if (sio_adapter_membership_charge(a->nsp) != 0) return SIO_ETOOBIG;
    int err = SIO_ENOMEM;
    if (memberships_grow(s) != 0 || (!r && !(r = room_new(a, room, len, &err)))) {
        sio_adapter_membership_refund(a->nsp);
        return err;
    }
    if (util_vec_push(&r->members, s) != 0) {
        if (r->members.len == 0) {
            util_map_remove(&a->rooms, r->name, r->name_len);
            room_free(a, r);
        }
        sio_adapter_membership_refund(a->nsp);
        return SIO_ENOMEM;
    }
    mem_sock *ms = sock_of(s);
    uint32_t k = ms->nrooms++;
    ms->rooms[k] = (mem_membership){r, r->members.len - 1};
    if (indexed(ms)) index_insert(ms, k);
    return 0;
}

/* Takes s out of room r's member array (slot: where it sits); the member
 * moved into the slot gets its record fixed. Frees the room when empty. */
static void room_remove(mem_adapter *a, mem_room *r, sio_socket *s, uint32_t slot) {
    assert(!a->walking);
    assert(slot < r->members.len && r->members.items[slot] == s);
    sio_adapter_membership_refund(a->nsp);
    util_vec_swap_remove(&r->members, slot);
    if (slot < r->members.len) {
        mem_sock *last = sock_of(r->members.items[slot]);
        int64_t j = membership_find(last, r);
        assert(j >= 0);
        last->rooms[j].index = slot;
    }
    if (r->members.len == 0) {
        util_map_remove(&a->rooms, r->name, r->name_len);
        room_free(a, r);
    }
}

/* Removes membership k of socket s. */
static void leave_at(mem_adapter *a, sio_socket *s, uint32_t k) {
    mem_sock *ms = sock_of(s);
    mem_room *r = ms->rooms[k].room;
    uint32_t slot = ms->rooms[k].index;
    uint32_t last = ms->nrooms - 1;
    /* the socket's side first (the index hashes the room pointer, which the
     * room's side may free) */
    if (indexed(ms)) {
        index_delete(ms, index_slot_of(ms, k));
        if (k != last) index_of(ms)[index_slot_of(ms, last)] = k + 1;
    }
    ms->rooms[k] = ms->rooms[last];
    ms->nrooms--;
    room_remove(a, r, s, slot);
}

static int mem_leave(void *adapter, sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    mem_room *r = util_map_get(&a->rooms, room, strlen(room));
    if (!r) return 0;
    int64_t k = membership_find(sock_of(s), r);
    if (k >= 0) leave_at(a, s, (uint32_t)k);
    return 0;
}

static void mem_leave_all(void *adapter, sio_socket *s) {
    mem_adapter *a = adapter;
    sio_socket_head *h = sio_socket_head_of(s);
    mem_sock *ms = h->slot;
    if (!ms) return;
    /* the socket's own record is dropped whole: only the rooms' sides change */
    uint32_t n = ms->nrooms;
    ms->nrooms = 0;
    for (uint32_t k = 0; k < n; k++) room_remove(a, ms->rooms[k].room, s, ms->rooms[k].index);
    free(ms);
    h->slot = NULL;
}

bool sio_memory_has_room(void *instance, const char *room, size_t len) {
    mem_adapter *a = instance;
    return util_map_get(&a->rooms, room, len) != NULL;
}

static int mem_has(void *adapter, const sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    if (strcmp(room, sio_socket_id(s)) == 0) return 1;
    mem_room *r = util_map_get(&a->rooms, room, strlen(room));
    return r && membership_find(sock_of(s), r) >= 0;
}

static void mem_rooms_of(void *adapter, const sio_socket *s, sio_room_cb cb, void *ud) {
    (void)adapter;
    cb(sio_socket_id(s), ud);
    const mem_sock *ms = sock_of(s);
    for (uint32_t i = 0; ms && i < ms->nrooms; i++) cb(ms->rooms[i].room->name, ud);
}

/* ---- whom a target reaches ---- */

/* Two fresh marks: one for the excluded sockets, one for those seen. */
static void marks_next(mem_adapter *a, uint32_t *excluded, uint32_t *seen) {
    if (a->mark_gen > UINT32_MAX - 4) a->mark_gen = 1; /* marks older than this are stale */
    *excluded = ++a->mark_gen;
    *seen = ++a->mark_gen;
}

static uint32_t *mark_of(sio_socket *s) {
    return &sio_socket_head_of(s)->mark;
}

/* Marks every socket of the target's except-rooms with `mark`. */
static void mark_excluded(mem_adapter *a, const sio_bcast_target *t, uint32_t mark) {
    for (size_t i = 0; i < t->nexcept; i++) {
        size_t len = strlen(t->except[i]);
        mem_room *r = util_map_get(&a->rooms, t->except[i], len);
        if (r)
            for (uint32_t k = 0; k < r->members.len; k++) *mark_of(r->members.items[k]) = mark;
        /* the socket whose id it is is in it too (others may have joined it) */
        sio_socket *s = sio_adapter_find(a->nsp, t->except[i], len);
        if (s) *mark_of(s) = mark;
    }
}

static size_t visit(sio_socket *s, const sio_bcast_target *t, uint32_t excluded, uint32_t seen,
                    const sio_prepared *p) {
    sio_socket_head *h = sio_socket_head_of(s);
    if (h->mark == excluded || h->mark == seen || s == t->skip || h->state != SOCK_CONNECTED)
        return 0;
    h->mark = seen;
    return (size_t)sio_adapter_deliver(s, p, t->volatile_);
}

/* Walks a member array, fetching ahead: a send is a chain of dependent loads
 * (socket, Engine.IO session, connection), each likely a cache miss with
 * thousands of recipients. The socket eight places ahead is fetched, and the
 * session of the one four places ahead (its socket arrived meanwhile), so
 * both are in cache when their turn comes. */
#define PREFETCH_AHEAD 4

static size_t visit_all(sio_socket *const *m, size_t n, const sio_bcast_target *t,
                        uint32_t excluded, uint32_t seen, const sio_prepared *p) {
    size_t count = 0;
    for (size_t k = 0; k < n; k++) {
        if (k + 2 * PREFETCH_AHEAD < n) __builtin_prefetch(m[k + 2 * PREFETCH_AHEAD]);
        if (k + PREFETCH_AHEAD < n) {
            const sio_socket_head *ahead = sio_socket_head_of_const(m[k + PREFETCH_AHEAD]);
            if (ahead->eio) __builtin_prefetch(ahead->eio);
        }
        count += visit(m[k], t, excluded, seen, p);
    }
    return count;
}

/* Sends p to every target socket. Sending never runs application code, so
 * the rooms cannot change during the walk. */
static size_t walk(mem_adapter *a, const sio_bcast_target *t, const sio_prepared *p) {
    uint32_t excluded, seen;
    marks_next(a, &excluded, &seen);
    mark_excluded(a, t, excluded);
    size_t count = 0;
    a->walking++;
    if (t->nrooms == 0) {
        size_t n;
        sio_socket *const *all = sio_adapter_sockets(a->nsp, &n);
        count = visit_all(all, n, t, excluded, seen, p);
    }
    for (size_t i = 0; i < t->nrooms; i++) {
        size_t len = strlen(t->rooms[i]);
        mem_room *r = util_map_get(&a->rooms, t->rooms[i], len);
        if (r) count += visit_all(r->members.items, r->members.len, t, excluded, seen, p);
        /* a socket's id names a room it is always in, whoever else joined it */
        sio_socket *s = sio_adapter_find(a->nsp, t->rooms[i], len);
        if (s) count += visit(s, t, excluded, seen, p);
    }
    a->walking--;
    return count;
}

static size_t mem_broadcast(void *adapter, const sio_bcast_target *t, const sio_adapter_packet *pkt,
                            const sio_prepared *p) {
    (void)pkt; /* nothing to forward: one process */
    return walk(adapter, t, p);
}

typedef UTIL_VEC(sio_socket *) sock_list;

/* The target's connected sockets, each once and with a reference (drop them
 * with list_drop); 0 or SIO_ENOMEM. */
static int gather(mem_adapter *a, const sio_bcast_target *t, sock_list *list) {
    uint32_t excluded, seen;
    marks_next(a, &excluded, &seen);
    mark_excluded(a, t, excluded);
#define GATHER(sock)                                                                               \
    do {                                                                                           \
        sio_socket *s_ = (sock);                                                                   \
        sio_socket_head *h_ = sio_socket_head_of(s_);                                              \
        if (h_->mark != excluded && h_->mark != seen && s_ != t->skip &&                           \
            h_->state == SOCK_CONNECTED) {                                                         \
            h_->mark = seen;                                                                       \
            if (util_vec_push(list, s_) != 0) return SIO_ENOMEM;                                   \
            sio_socket_ref(s_);                                                                    \
        }                                                                                          \
    } while (0)
    if (t->nrooms == 0) {
        size_t n;
        sio_socket *const *all = sio_adapter_sockets(a->nsp, &n);
        for (size_t i = 0; i < n; i++) GATHER(all[i]);
    }
    for (size_t i = 0; i < t->nrooms; i++) {
        size_t len = strlen(t->rooms[i]);
        mem_room *r = util_map_get(&a->rooms, t->rooms[i], len);
        if (r)
            for (uint32_t k = 0; k < r->members.len; k++) GATHER(r->members.items[k]);
        sio_socket *s = sio_adapter_find(a->nsp, t->rooms[i], len);
        if (s) GATHER(s);
    }
#undef GATHER
    return 0;
}

/* Calls cb for each gathered socket still connected, then drops the list.
 * Returns how many were gathered. */
static size_t list_run(sock_list *list, sio_adapter_each_cb cb, void *ud) {
    for (size_t i = 0; i < list->len; i++) {
        if (cb && sio_socket_connected(list->items[i])) cb(list->items[i], ud);
        sio_socket_unref(list->items[i]);
    }
    size_t n = list->len;
    util_vec_free(list);
    return n;
}

/* cb for every target socket: gathered first, since cb may change rooms or
 * disconnect (socketsLeave, disconnectSockets, the application's fetch). */
static int each(mem_adapter *a, const sio_bcast_target *t, sio_adapter_each_cb cb, void *ud) {
    sock_list list = UTIL_VEC_INIT;
    int r = gather(a, t, &list);
    size_t n = list_run(&list, r ? NULL : cb, ud);
    return r ? r : (int)(n > INT32_MAX ? INT32_MAX : n);
}

typedef struct ack_ctx {
    sio_bcast_ack *acks;
    uint64_t id;
    size_t waiting;
} ack_ctx;

static void ack_wait_one(sio_socket *s, void *ud) {
    ack_ctx *c = ud;
    if (sio_adapter_ack_wait(c->acks, s, c->id) == 0) c->waiting++;
}

static size_t mem_broadcast_with_ack(void *adapter, const sio_bcast_target *t,
                                     const sio_adapter_packet *pkt, uint64_t id,
                                     const sio_prepared *p, sio_bcast_ack *acks) {
    (void)pkt;
    /* register on the recipients first (one id for all, as the reference
     * does), then send; ack_wait runs no application code */
    ack_ctx c = {acks, id, 0};
    each(adapter, t, ack_wait_one, &c);
    return c.waiting ? walk(adapter, t, p) : 0;
}

/* ---- the cluster operations, on one server ---- */

static int mem_fetch_sockets(void *adapter, const sio_bcast_target *t, sio_adapter_each_cb cb,
                             sio_done_cb done, void *ud) {
    int r = each(adapter, t, cb, ud);
    if (r >= 0 && done) done(0, ud);
    return r;
}

static void join_one(sio_socket *s, void *ud) {
    sio_join(s, ud);
}

static void leave_one(sio_socket *s, void *ud) {
    sio_leave(s, ud);
}

static void disconnect_one(sio_socket *s, void *ud) {
    sio_socket_disconnect(s, *(bool *)ud);
}

static int mem_sockets_join(void *adapter, const sio_bcast_target *t, const char *room) {
    return each(adapter, t, join_one, (void *)room);
}

static int mem_sockets_leave(void *adapter, const sio_bcast_target *t, const char *room) {
    return each(adapter, t, leave_one, (void *)room);
}

static int mem_disconnect_sockets(void *adapter, const sio_bcast_target *t, bool close_transport) {
    return each(adapter, t, disconnect_one, &close_transport);
}

static int mem_server_side_emit(void *adapter, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                                void (*reply)(json_t *answer, void *ud), sio_done_cb done,
                                void *ud) {
    (void)adapter, (void)pkt, (void)timeout_ms, (void)reply;
    if (done) done(0, ud); /* no other server: no answer to wait for */
    return 0;
}

static int mem_all_rooms(void *adapter, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done,
                         void *ud) {
    (void)timeout_ms;
    mem_adapter *a = adapter;
    /* copied first: cb may join and leave */
    UTIL_VEC(char *) names = UTIL_VEC_INIT;
    int r = 0;
    util_map_iter it;
    util_map_iter_init(&it, &a->rooms);
    for (util_map_entry *e = util_map_iter_next(&it); e && !r; e = util_map_iter_next(&it)) {
        char *copy = strdup(((mem_room *)e->value)->name);
        if (!copy || util_vec_push(&names, copy) != 0) {
            free(copy);
            r = SIO_ENOMEM;
        }
    }
    size_t n;
    sio_socket *const *all = sio_adapter_sockets(a->nsp, &n);
    for (size_t i = 0; i < n && !r; i++) {
        char *copy = strdup(sio_socket_id(all[i]));
        if (!copy || util_vec_push(&names, copy) != 0) {
            free(copy);
            r = SIO_ENOMEM;
        }
    }
    for (size_t i = 0; i < names.len; i++) {
        if (!r) cb(names.items[i], ud);
        free(names.items[i]);
    }
    n = names.len;
    util_vec_free(&names);
    if (r) return r;
    if (done) done(0, ud);
    return (int)(n > INT32_MAX ? INT32_MAX : n);
}

static const sio_adapter_ops memory_ops = {
    .name = "memory",
    .create = mem_create,
    .destroy = mem_destroy,
    .join = mem_join,
    .leave = mem_leave,
    .leave_all = mem_leave_all,
    .has = mem_has,
    .rooms_of = mem_rooms_of,
    .broadcast = mem_broadcast,
    .broadcast_with_ack = mem_broadcast_with_ack,
    .fetch_sockets = mem_fetch_sockets,
    .sockets_join = mem_sockets_join,
    .sockets_leave = mem_sockets_leave,
    .disconnect_sockets = mem_disconnect_sockets,
    .server_side_emit = mem_server_side_emit,
    .all_rooms = mem_all_rooms,
};

sio_adapter sio_memory_adapter = {.ops = &memory_ops};
