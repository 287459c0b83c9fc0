/* adapter/memory.c - the in-memory adapter: rooms of one process.
 *
 * A room is an array of its sockets; each socket records, per room, its slot
 * in that array (sio_adapter_membership), so a broadcast to a room walks a
 * dense array. Rooms are found by name in a keyed hash map and vanish with
 * their last member. De-duplication across several rooms uses a generation
 * mark on the socket instead of a set per broadcast.
 *
 * Every operation on one membership is O(1), however many rooms the socket
 * is in: past SMALL_ROOMS memberships, the socket's block also holds an
 * open-addressing index of its membership array, keyed by the room pointer
 * (2 * caprooms slots of uint32: the membership's position + 1, 0 empty), so
 * "is s in r, and where" is a probe instead of a scan. join, leave and has
 * use it, and so does leave's swap-remove in the room (the member moved into
 * the freed slot must have its record updated). leave_all is O(rooms). A
 * socket is in at most max_rooms_per_socket rooms (its own id not counted):
 * a join beyond fails with SIO_ETOOBIG.
 *
 * Rooms are bounded server-wide too, every namespace's adapter together
 * (srv->rooms_charged against max_rooms): per namespace would be no bound,
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
 * (srv->memberships: a join beyond fails with SIO_ETOOBIG too).
 */
#include "adapter/adapter.h"
#include "sio/sio_internal.h"

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
    uint32_t charge; /* what it counts for in srv->rooms_charged */
    char name[];     /* NUL-terminated */
} mem_room;

typedef struct mem_adapter {
    sio_nsp *nsp;
    util_map rooms; /* name -> mem_room* */
} mem_adapter;

static void *mem_create(sio_nsp *nsp) {
    mem_adapter *a = calloc(1, sizeof *a);
    if (a) a->nsp = nsp;
    return a;
}

/* Frees a room and gives back its charge (the map entry is the caller's). */
static void room_free(mem_adapter *a, mem_room *r) {
    sio_server *srv = a->nsp->srv;
    assert(srv->rooms_charged >= r->charge);
    srv->rooms_charged -= r->charge;
    util_vec_free(&r->members);
    free(r);
}

/* A new, empty room named `name`, in the map and charged; NULL with *err
 * SIO_ETOOBIG (over max_rooms) or SIO_ENOMEM. */
static mem_room *room_new(mem_adapter *a, const char *name, size_t len, int *err) {
    sio_server *srv = a->nsp->srv;
    size_t charge = 1 + len / ROOM_NAME_UNIT;
    size_t max = srv->opts.max_rooms;
    *err = SIO_ETOOBIG;
    if (len > UINT32_MAX / 2 || srv->rooms_charged > max || charge > max - srv->rooms_charged)
        return NULL;
    *err = SIO_ENOMEM;
    mem_room *r = malloc(sizeof *r + len + 1);
    if (!r) return NULL;
    *r = (mem_room){.name_len = (uint32_t)len, .charge = (uint32_t)charge};
    memcpy(r->name, name, len + 1);
    if (util_map_put(&a->rooms, r->name, len, r) != 0) {
        free(r);
        return NULL;
    }
    srv->rooms_charged += charge;
    return r;
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

static int indexed(const sio_socket *s) {
    return s->caprooms > SMALL_ROOMS;
}

static uint32_t *index_of(const sio_socket *s) {
    return (uint32_t *)(s->rooms + s->caprooms);
}

static uint32_t index_mask(const sio_socket *s) {
    return 2 * s->caprooms - 1;
}

static uint32_t index_home(const sio_socket *s, const void *room) {
    uint64_t h = (uint64_t)(uintptr_t)room * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & index_mask(s);
}

/* The index slot that holds membership k. */
static uint32_t index_slot_of(const sio_socket *s, uint32_t k) {
    const uint32_t *ix = index_of(s);
    uint32_t i = index_home(s, s->rooms[k].room);
    while (ix[i] != k + 1) {
        assert(ix[i] != 0);
        i = (i + 1) & index_mask(s);
    }
    return i;
}

static void index_insert(sio_socket *s, uint32_t k) {
    uint32_t *ix = index_of(s);
    uint32_t i = index_home(s, s->rooms[k].room);
    while (ix[i]) i = (i + 1) & index_mask(s);
    ix[i] = k + 1;
}

/* Empties slot i (backward shift: the rest of its run moves up). */
static void index_delete(sio_socket *s, uint32_t i) {
    uint32_t *ix = index_of(s);
    uint32_t mask = index_mask(s);
    for (uint32_t j = (i + 1) & mask; ix[j]; j = (j + 1) & mask) {
        uint32_t home = index_home(s, s->rooms[ix[j] - 1].room);
        if (((j - home) & mask) >= ((j - i) & mask)) { /* home not in (i, j]: may move to i */
            ix[i] = ix[j];
            i = j;
        }
    }
    ix[i] = 0;
}

/* The position of r among s's memberships, or -1. */
static int64_t membership_find(const sio_socket *s, const mem_room *r) {
    if (!indexed(s)) {
        for (uint32_t i = 0; i < s->nrooms; i++)
            if (s->rooms[i].room == r) return i;
        return -1;
    }
    const uint32_t *ix = index_of(s);
    for (uint32_t i = index_home(s, r); ix[i]; i = (i + 1) & index_mask(s))
        if (s->rooms[ix[i] - 1].room == r) return ix[i] - 1;
    return -1;
}

/* Room for one more membership: the array doubles, the index is rebuilt. */
static int memberships_grow(sio_socket *s) {
    if (s->nrooms < s->caprooms) return 0;
    /* the largest element: a membership and its two index slots */
    uint32_t cap = util_vec_next_cap(s->caprooms, (size_t)s->nrooms + 1,
                                     sizeof *s->rooms + 2 * sizeof(uint32_t));
    if (!cap) return SIO_ENOMEM;
    size_t size = cap * sizeof *s->rooms;
    if (cap > SMALL_ROOMS) size += 2 * (size_t)cap * sizeof(uint32_t);
    sio_adapter_membership *m = realloc(s->rooms, size);
    if (!m) return SIO_ENOMEM;
    s->rooms = m;
    s->caprooms = cap;
    if (indexed(s)) {
        memset(index_of(s), 0, 2 * (size_t)cap * sizeof(uint32_t));
        for (uint32_t k = 0; k < s->nrooms; k++) index_insert(s, k);
    }
    return 0;
}

/* ---- joining and leaving ---- */

static int mem_join(void *adapter, sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    size_t len = strlen(room);
    if (strcmp(room, s->id) == 0) return 0; /* always in its own room */
    mem_room *r = util_map_get(&a->rooms, room, len);
    if (r && membership_find(s, r) >= 0) return 0;
    sio_server *srv = a->nsp->srv;
    if (s->nrooms >= srv->opts.max_rooms_per_socket) return SIO_ETOOBIG;
    if (srv->memberships >= srv->opts.max_memberships) return SIO_ETOOBIG;
    if (memberships_grow(s) != 0) return SIO_ENOMEM;
    int err;
    if (!r && !(r = room_new(a, room, len, &err))) return err;
    if (util_vec_push(&r->members, s) != 0) {
        if (r->members.len == 0) {
            util_map_remove(&a->rooms, r->name, r->name_len);
            room_free(a, r);
        }
        return SIO_ENOMEM;
    }
    uint32_t k = s->nrooms++;
    s->rooms[k] = (sio_adapter_membership){r, r->members.len - 1};
    if (indexed(s)) index_insert(s, k);
    srv->memberships++;
    return 0;
}

/* Takes s out of room r's member array (slot: where it sits); the member
 * moved into the slot gets its record fixed. Frees the room when empty. */
static void room_remove(mem_adapter *a, mem_room *r, sio_socket *s, uint32_t slot) {
    assert(!a->nsp->srv->broadcasting);
    assert(slot < r->members.len && r->members.items[slot] == s);
    assert(a->nsp->srv->memberships > 0);
    a->nsp->srv->memberships--;
    util_vec_swap_remove(&r->members, slot);
    if (slot < r->members.len) {
        sio_socket *last = r->members.items[slot];
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
    mem_room *r = s->rooms[k].room;
    uint32_t slot = s->rooms[k].index;
    uint32_t last = s->nrooms - 1;
    /* the socket's side first (the index hashes the room pointer, which the
     * room's side may free) */
    if (indexed(s)) {
        index_delete(s, index_slot_of(s, k));
        if (k != last) index_of(s)[index_slot_of(s, last)] = k + 1;
    }
    s->rooms[k] = s->rooms[last];
    s->nrooms--;
    room_remove(a, r, s, slot);
}

static int mem_leave(void *adapter, sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    mem_room *r = util_map_get(&a->rooms, room, strlen(room));
    if (!r) return 0;
    int64_t k = membership_find(s, r);
    if (k >= 0) leave_at(a, s, (uint32_t)k);
    return 0;
}

static void mem_leave_all(void *adapter, sio_socket *s) {
    mem_adapter *a = adapter;
    /* the socket's own records are dropped whole: only the rooms' sides change */
    uint32_t n = s->nrooms;
    s->nrooms = 0;
    for (uint32_t k = 0; k < n; k++) room_remove(a, s->rooms[k].room, s, s->rooms[k].index);
    free(s->rooms);
    s->rooms = NULL;
    s->caprooms = 0;
}

static int mem_has(void *adapter, const sio_socket *s, const char *room) {
    mem_adapter *a = adapter;
    if (strcmp(room, s->id) == 0) return 1;
    mem_room *r = util_map_get(&a->rooms, room, strlen(room));
    return r && membership_find(s, r) >= 0;
}

static void mem_rooms_of(void *adapter, const sio_socket *s, sio_room_cb cb, void *ud) {
    cb(s->id, ud);
    for (uint32_t i = 0; i < s->nrooms; i++) cb(((mem_room *)s->rooms[i].room)->name, ud);
}

/* Marks every socket of the target's except-rooms with `mark`. */
static void mark_excluded(mem_adapter *a, const sio_bcast_target *t, uint32_t mark) {
    for (size_t i = 0; i < t->nexcept; i++) {
        mem_room *r = util_map_get(&a->rooms, t->except[i], strlen(t->except[i]));
        if (r)
            for (uint32_t k = 0; k < r->members.len; k++) r->members.items[k]->mark = mark;
        /* the socket whose id it is is in it too (others may have joined it) */
        sio_socket *s = util_map_get(&a->nsp->sockets, t->except[i], strlen(t->except[i]));
        if (s) s->mark = mark;
    }
}

static size_t visit(sio_socket *s, const sio_bcast_target *t, uint32_t excluded, uint32_t seen,
                    const sio_prepared *p) {
    if (s->mark == excluded || s->mark == seen || s == t->skip || s->state != SOCK_CONNECTED)
        return 0;
    s->mark = seen;
    return (size_t)sio_socket_send_prepared(s, p, t->volatile_);
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
        if (k + PREFETCH_AHEAD < n && m[k + PREFETCH_AHEAD]->eio)
            __builtin_prefetch(m[k + PREFETCH_AHEAD]->eio);
        count += visit(m[k], t, excluded, seen, p);
    }
    return count;
}

/* Sends p to every target socket. Sending never runs application code, so
 * the rooms cannot change during the walk. */
static size_t mem_broadcast(void *adapter, const sio_bcast_target *t, const sio_prepared *p) {
    mem_adapter *a = adapter;
    sio_server *srv = a->nsp->srv;
    uint32_t excluded = ++srv->mark_gen;
    uint32_t seen = ++srv->mark_gen;
    if (srv->mark_gen > UINT32_MAX - 4) srv->mark_gen = 1; /* marks older than this are stale */
    mark_excluded(a, t, excluded);
    size_t count = 0;
    if (t->nrooms == 0) return visit_all(a->nsp->all.items, a->nsp->all.len, t, excluded, seen, p);
    for (size_t i = 0; i < t->nrooms; i++) {
        mem_room *r = util_map_get(&a->rooms, t->rooms[i], strlen(t->rooms[i]));
        if (r) count += visit_all(r->members.items, r->members.len, t, excluded, seen, p);
        /* a socket's id names a room it is always in, whoever else joined it */
        sio_socket *s = util_map_get(&a->nsp->sockets, t->rooms[i], strlen(t->rooms[i]));
        if (s) count += visit(s, t, excluded, seen, p);
    }
    return count;
}

static size_t mem_each(void *adapter, const sio_bcast_target *t, sio_adapter_each_cb cb, void *ud) {
    /* collect first: cb may change rooms or disconnect (socketsLeave, disconnectSockets) */
    mem_adapter *a = adapter;
    UTIL_VEC(sio_socket *) list = UTIL_VEC_INIT;
    sio_server *srv = a->nsp->srv;
    uint32_t excluded = ++srv->mark_gen;
    uint32_t seen = ++srv->mark_gen;
    mark_excluded(a, t, excluded);
#define GATHER(sock)                                                                               \
    do {                                                                                           \
        sio_socket *s_ = (sock);                                                                   \
        if (s_->mark != excluded && s_->mark != seen && s_ != t->skip &&                           \
            s_->state == SOCK_CONNECTED) {                                                         \
            s_->mark = seen;                                                                       \
            if (util_vec_push(&list, s_) != 0) goto out;                                           \
            sio_socket_ref(s_);                                                                    \
        }                                                                                          \
    } while (0)
    if (t->nrooms == 0) {
        for (size_t i = 0; i < a->nsp->all.len; i++) GATHER(a->nsp->all.items[i]);
    } else {
        for (size_t i = 0; i < t->nrooms; i++) {
            mem_room *r = util_map_get(&a->rooms, t->rooms[i], strlen(t->rooms[i]));
            if (r)
                for (uint32_t k = 0; k < r->members.len; k++) GATHER(r->members.items[k]);
            sio_socket *s = util_map_get(&a->nsp->sockets, t->rooms[i], strlen(t->rooms[i]));
            if (s) GATHER(s);
        }
    }
#undef GATHER
out:
    for (size_t i = 0; i < list.len; i++) {
        if (list.items[i]->state == SOCK_CONNECTED) cb(list.items[i], ud);
        sio_socket_unref(list.items[i]);
    }
    size_t n = list.len;
    util_vec_free(&list);
    return n;
}

const sio_adapter_ops sio_memory_adapter = {
    .name = "memory",
    .create = mem_create,
    .destroy = mem_destroy,
    .join = mem_join,
    .leave = mem_leave,
    .leave_all = mem_leave_all,
    .has = mem_has,
    .rooms_of = mem_rooms_of,
    .each = mem_each,
    .broadcast = mem_broadcast,
};
