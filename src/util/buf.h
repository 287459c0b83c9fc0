/* util/buf.h - growable byte buffer and refcounted shared buffer.
 *
 * util_buf is a plain owned byte string that grows by doubling; it is used to
 * collect partial input and to build outgoing data.
 *
 * util_rcbuf is an immutable block with a reference count: one encoded packet
 * or WebSocket frame is built once and handed to many connections' output
 * queues; each holds a reference until its write completes. The event loop is
 * single-threaded, so the count is a plain integer. Small blocks (up to 512
 * bytes with the header: most packets and frames) are recycled through a
 * per-thread free list, so sending a packet allocates nothing in the steady
 * state.
 */
#ifndef SIO_UTIL_BUF_H
#define SIO_UTIL_BUF_H

#include "util/attr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct util_buf {
    char *data;
    size_t len;
    size_t cap;
} util_buf;

#define UTIL_BUF_INIT                                                                              \
    { NULL, 0, 0 }

/* Makes room for `extra` more bytes; 0 or SIO_ENOMEM. */
UTIL_MUST_USE int util_buf_reserve(util_buf *b, size_t extra);
UTIL_MUST_USE int util_buf_append(util_buf *b, const void *data, size_t len);
UTIL_MUST_USE int util_buf_append_str(util_buf *b, const char *s);
UTIL_MUST_USE int util_buf_printf(util_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void util_buf_consume(util_buf *b, size_t n);
/* Frees the storage and resets to empty. */
void util_buf_free(util_buf *b);
/* Hands the storage to the caller (who frees it with free()). */
char *util_buf_detach(util_buf *b, size_t *len);

typedef struct util_rcbuf {
    uint32_t refs;
    uint32_t flags; /* free for the owner's use (e.g. binary/text) */
    size_t len;
    char data[];
} util_rcbuf;

/* A new buffer of len bytes (uninitialized), with one reference. */
UTIL_MUST_USE util_rcbuf *util_rcbuf_new(size_t len);
/* A new buffer holding a copy of data. */
UTIL_MUST_USE util_rcbuf *util_rcbuf_copy(const void *data, size_t len);
/* Takes a util_buf's contents (a copy into one block; the util_buf is emptied). */
UTIL_MUST_USE util_rcbuf *util_rcbuf_from_buf(util_buf *b);
static inline util_rcbuf *util_rcbuf_ref(util_rcbuf *r) {
    r->refs++;
    return r;
}
void util_rcbuf_unref(util_rcbuf *r);
/* The memory a buffer of len bytes really takes: its pool block, or the
 * header, the bytes and malloc's own overhead (what output limits charge). */
size_t util_rcbuf_cost(size_t len);
/* Frees the calling thread's recycled blocks (a thread that is done with the
 * library, or a program about to exit that checks for leaks). */
void util_rcbuf_pool_trim(void);

#endif
