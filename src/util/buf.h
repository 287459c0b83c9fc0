/* util/buf.h - growable byte buffer and refcounted shared buffer.
 *
 * sio_buf is a plain owned byte string that grows by doubling; it is used to
 * collect partial input and to build outgoing data.
 *
 * sio_rcbuf is an immutable block with a reference count: one encoded packet
 * or WebSocket frame is built once and handed to many connections' output
 * queues; each holds a reference until its write completes. The event loop is
 * single-threaded, so the count is a plain integer. Small blocks (up to 512
 * bytes with the header: most packets and frames) are recycled through a
 * per-thread free list, so sending a packet allocates nothing in the steady
 * state.
 */
#ifndef SIO_UTIL_BUF_H
#define SIO_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct sio_buf {
    char *data;
    size_t len;
    size_t cap;
} sio_buf;

#define SIO_BUF_INIT                                                                               \
    { NULL, 0, 0 }

/* Makes room for `extra` more bytes; 0 or SIO_ENOMEM. */
int sio_buf_reserve(sio_buf *b, size_t extra);
int sio_buf_append(sio_buf *b, const void *data, size_t len);
int sio_buf_append_str(sio_buf *b, const char *s);
int sio_buf_printf(sio_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void sio_buf_consume(sio_buf *b, size_t n);
/* Frees the storage and resets to empty. */
void sio_buf_free(sio_buf *b);
/* Hands the storage to the caller (who frees it with free()). */
char *sio_buf_detach(sio_buf *b, size_t *len);

typedef struct sio_rcbuf {
    uint32_t refs;
    uint32_t flags; /* free for the owner's use (e.g. binary/text) */
    size_t len;
    char data[];
} sio_rcbuf;

/* A new buffer of len bytes (uninitialized), with one reference. */
sio_rcbuf *sio_rcbuf_new(size_t len);
/* A new buffer holding a copy of data. */
sio_rcbuf *sio_rcbuf_copy(const void *data, size_t len);
/* Takes a sio_buf's contents (a copy into one block; the sio_buf is emptied). */
sio_rcbuf *sio_rcbuf_from_buf(sio_buf *b);
static inline sio_rcbuf *sio_rcbuf_ref(sio_rcbuf *r) {
    r->refs++;
    return r;
}
void sio_rcbuf_unref(sio_rcbuf *r);
/* The memory a buffer of len bytes really takes: its pool block, or the
 * header, the bytes and malloc's own overhead (what output limits charge). */
size_t sio_rcbuf_cost(size_t len);
/* Frees the calling thread's recycled blocks (a thread that is done with the
 * library, or a program about to exit that checks for leaks). */
void sio_rcbuf_pool_trim(void);

#endif
