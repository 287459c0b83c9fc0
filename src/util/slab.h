/* util/slab.h - the loop-wide read buffer.
 *
 * libuv asks for a buffer before every read and hands it back right after in
 * the read callback, on the same thread. Every connection can therefore read
 * into one shared 64 KiB block, parse straight from it, and keep only the few
 * bytes that could not be parsed yet: an idle connection owns no read buffer.
 * The callback reading the slab must not run the loop or read another stream.
 */
#ifndef SIO_UTIL_SLAB_H
#define SIO_UTIL_SLAB_H

#include <uv.h>

#define UTIL_SLAB_SIZE 65536

/* A uv_alloc_cb that returns the calling thread's slab. */
void util_slab_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);

#endif
