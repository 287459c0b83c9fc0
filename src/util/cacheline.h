/* util/cacheline.h - allocating structures on a cache line of their own.
 *
 * The per-connection structures a broadcast walks (socket, session, WebSocket
 * connection) keep what a send reads in their first 64 bytes. malloc only
 * aligns to 16 bytes, so those bytes would straddle two lines three times in
 * four: one more cache miss per recipient. These allocate at a line start.
 */
#ifndef SIO_UTIL_CACHELINE_H
#define SIO_UTIL_CACHELINE_H

#include <stdlib.h>
#include <string.h>

#define UTIL_CACHELINE 64

/* A zeroed block of `size` bytes starting on a cache line; free() releases it. */
static inline void *util_calloc_line(size_t size) {
    size_t rounded = (size + UTIL_CACHELINE - 1) / UTIL_CACHELINE * UTIL_CACHELINE;
    void *p = aligned_alloc(UTIL_CACHELINE, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

#endif
