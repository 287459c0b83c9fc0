/* util/buf.c - growable and refcounted byte buffers (see buf.h). */
#include "util/buf.h"

#include "socketio/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sio_buf_reserve(sio_buf *b, size_t extra) {
    if (extra > SIZE_MAX - b->len) return SIO_ENOMEM;
    size_t need = b->len + extra;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p) return SIO_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int sio_buf_append(sio_buf *b, const void *data, size_t len) {
    if (len == 0) return 0;
    int r = sio_buf_reserve(b, len);
    if (r) return r;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int sio_buf_append_str(sio_buf *b, const char *s) {
    return sio_buf_append(b, s, strlen(s));
}

int sio_buf_printf(sio_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return SIO_EINVAL;
    int r = sio_buf_reserve(b, (size_t)n + 1);
    if (r) return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void sio_buf_consume(sio_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void sio_buf_free(sio_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *sio_buf_detach(sio_buf *b, size_t *len) {
    char *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

sio_rcbuf *sio_rcbuf_new(size_t len) {
    sio_rcbuf *r = malloc(sizeof *r + len + 1);
    if (!r) return NULL;
    r->refs = 1;
    r->flags = 0;
    r->len = len;
    r->data[len] = '\0';
    return r;
}

sio_rcbuf *sio_rcbuf_copy(const void *data, size_t len) {
    sio_rcbuf *r = sio_rcbuf_new(len);
    if (r && len) memcpy(r->data, data, len);
    return r;
}

sio_rcbuf *sio_rcbuf_from_buf(sio_buf *b) {
    sio_rcbuf *r = sio_rcbuf_copy(b->data, b->len);
    sio_buf_free(b);
    return r;
}

void sio_rcbuf_unref(sio_rcbuf *r) {
    if (r && --r->refs == 0) free(r);
}
