/* util/vec.h - the growable array: one growth rule for every list in the library.
 *
 * UTIL_VEC(T) is { T *items; uint32_t len, cap; }: the sockets of a namespace
 * or a room, a connection's output queue, the routes, the handlers. It grows
 * by doubling (a push is amortized O(1); the first allocation holds
 * UTIL_VEC_FIRST elements, or what a reserve asks for) and refuses to grow
 * past UTIL_VEC_MAX elements or a byte size that size_t cannot hold. A failed
 * growth changes nothing: the array and what it holds stay valid.
 *
 * Removing never shrinks: util_vec_remove and util_vec_drop_front keep the
 * order (memmove), util_vec_swap_remove moves the last element into the hole
 * (O(1), order lost: the caller fixes the index the moved element records);
 * the capacity stays for the next burst until util_vec_free. Memory limits
 * that charge a queue per element (ws and eio output) charge the slots in
 * use, as they did before this helper: the unused half of a doubled array is
 * not charged.
 *
 * The macros evaluate `v` more than once: pass a plain pointer (&s->q). The
 * fast path (room left) is one inline compare; growing is out of line.
 */
#ifndef SIO_UTIL_VEC_H
#define SIO_UTIL_VEC_H

#include "socketio/common.h"
#include "util/attr.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define UTIL_VEC(T)                                                                                \
    struct {                                                                                       \
        T *items;                                                                                  \
        uint32_t len;                                                                              \
        uint32_t cap;                                                                              \
    }

#define UTIL_VEC_INIT                                                                              \
    { NULL, 0, 0 }

/* Elements of a first allocation made by a push. */
#define UTIL_VEC_FIRST 2u
/* The most elements an array holds (doubling a capacity never wraps uint32_t). */
#define UTIL_VEC_MAX (UINT32_MAX / 2)

/* The capacity to grow to from cap so that need elements of elem bytes fit:
 * doubled (UTIL_VEC_FIRST from empty), at least need; 0 if need is over
 * UTIL_VEC_MAX or need * elem bytes overflow size_t. For a caller that lays
 * out its own block (the memory adapter's memberships with their index). */
uint32_t util_vec_next_cap(uint32_t cap, size_t need, size_t elem);

/* Out of line: grows the array whose items pointer is at itemsp to hold need
 * elements; 0 or SIO_ENOMEM (also for need over the limits). */
UTIL_MUST_USE int util_vec_grow_(void *itemsp, uint32_t *cap, size_t need, size_t elem);

static inline UTIL_MUST_USE int util_vec_reserve_(void *itemsp, uint32_t len, uint32_t *cap,
                                                  size_t extra, size_t elem) {
    if (extra <= (size_t)(*cap - len)) return 0;
    if (extra > SIZE_MAX - len) return SIO_ENOMEM;
    return util_vec_grow_(itemsp, cap, (size_t)len + extra, elem);
}

static inline UTIL_MUST_USE int util_vec_ok_(int ok) {
    return ok ? 0 : SIO_ENOMEM;
}

static inline void util_vec_open_(void *items, uint32_t *len, uint32_t i, size_t elem) {
    assert(i <= *len);
    char *p = items;
    memmove(p + ((size_t)i + 1) * elem, p + (size_t)i * elem, (size_t)(*len - i) * elem);
    (*len)++;
}

static inline void util_vec_remove_(void *items, uint32_t *len, uint32_t i, uint32_t n,
                                    size_t elem) {
    assert(i <= *len && n <= *len - i);
    char *p = items;
    if (n && *len - i - n)
        memmove(p + (size_t)i * elem, p + ((size_t)i + n) * elem, (size_t)(*len - i - n) * elem);
    *len -= n;
}

/* Room for `extra` more elements; 0 or SIO_ENOMEM. */
#define util_vec_reserve(v, extra)                                                                 \
    util_vec_reserve_(&(v)->items, (v)->len, &(v)->cap, (extra), sizeof *(v)->items)

/* Appends x; 0 or SIO_ENOMEM (v unchanged). */
#define util_vec_push(v, x)                                                                        \
    util_vec_ok_(util_vec_reserve((v), 1) == 0 && ((v)->items[(v)->len++] = (x), 1))

/* Inserts x at position i (0..len), the elements from i moving up; 0 or SIO_ENOMEM. */
#define util_vec_insert(v, i, x)                                                                   \
    util_vec_ok_(util_vec_reserve((v), 1) == 0 &&                                                  \
                 (util_vec_open_((v)->items, &(v)->len, (i), sizeof *(v)->items),                  \
                  (v)->items[(i)] = (x), 1))

/* Removes element i, the ones after it moving down (order kept). */
#define util_vec_remove(v, i) util_vec_remove_((v)->items, &(v)->len, (i), 1, sizeof *(v)->items)

/* Removes the first n elements (a queue that was written), order kept. */
#define util_vec_drop_front(v, n)                                                                  \
    util_vec_remove_((v)->items, &(v)->len, 0, (n), sizeof *(v)->items)

/* Removes element i by moving the last one into its place (O(1)); if i was
 * not the last, items[i] is now the moved element. */
#define util_vec_swap_remove(v, i)                                                                 \
    (assert((uint32_t)(i) < (v)->len), (void)((v)->items[(i)] = (v)->items[--(v)->len]))

/* Frees the storage and empties v. */
#define util_vec_free(v) (free((v)->items), (v)->items = NULL, (v)->len = (v)->cap = 0, (void)0)

#endif
