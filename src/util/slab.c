/* util/slab.c - the loop-wide read buffer (see slab.h). */
#include "util/slab.h"

static _Thread_local char slab[UTIL_SLAB_SIZE];

void util_slab_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)handle;
    (void)suggested;
    buf->base = slab;
    buf->len = sizeof slab;
}
