/* util/buf.c - growable and refcounted byte buffers (see buf.h). */
#include "util/buf.h"

#include "socketio/common.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int util_buf_reserve(util_buf *b, size_t extra) {
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

int util_buf_append(util_buf *b, const void *data, size_t len) {
    if (len == 0) return 0;
    int r = util_buf_reserve(b, len);
    if (r) return r;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

int util_buf_append_str(util_buf *b, const char *s) {
    return util_buf_append(b, s, strlen(s));
}

int util_buf_printf(util_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return SIO_EINVAL;
    int r = util_buf_reserve(b, (size_t)n + 1);
    if (r) return r;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void util_buf_consume(util_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void util_buf_free(util_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *util_buf_detach(util_buf *b, size_t *len) {
    char *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---- the small-block pool ----------------------------------------------------------------- */

/* Block sizes of the pool's classes; a block's class follows from its len, which
 * never changes, so freeing needs no tag. At most POOL_KEEP blocks wait per class
 * and thread (under 0.5 MiB in all). Under AddressSanitizer a waiting block is
 * poisoned past its free-list link (its length and data), so a use after the
 * last unref is still caught. */
#define POOL_CLASSES 3
#define POOL_KEEP 512
static const size_t pool_size[POOL_CLASSES] = {128, 256, 512};

typedef struct pool_block {
    struct pool_block *next;
} pool_block;

static _Thread_local struct {
    pool_block *head[POOL_CLASSES];
    unsigned count[POOL_CLASSES];
    int root; /* registered with LeakSanitizer, which does not scan thread-local storage */
} pool;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SIO_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SIO_ASAN 1
#endif
#ifdef SIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/lsan_interface.h>
/* the link stays readable: LeakSanitizer does not follow pointers in poisoned memory */
#define POOL_POISON(p, n)                                                                          \
    ASAN_POISON_MEMORY_REGION((char *)(p) + sizeof(pool_block), (n) - sizeof(pool_block))
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#define POOL_ROOT()                                                                                \
    do {                                                                                           \
        if (!pool.root) __lsan_register_root_region(&pool, sizeof pool);                           \
        pool.root = 1;                                                                             \
    } while (0)
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#define POOL_ROOT() ((void)0)
#endif

/* The class of a block holding len bytes, or -1: too large for the pool. */
static int pool_class(size_t len) {
    size_t need = sizeof(util_rcbuf) + len + 1;
    for (int c = 0; c < POOL_CLASSES; c++)
        if (need <= pool_size[c]) return c;
    return -1;
}

static void *pool_get(int c) {
    pool_block *b = pool.head[c];
    if (!b) return malloc(pool_size[c]);
    POOL_UNPOISON(b, pool_size[c]);
    pool.head[c] = b->next;
    pool.count[c]--;
    return b;
}

static void pool_put(int c, void *p) {
    if (pool.count[c] >= POOL_KEEP) {
        free(p);
        return;
    }
    POOL_ROOT();
    pool_block *b = p;
    b->next = pool.head[c];
    pool.head[c] = b;
    pool.count[c]++;
    POOL_POISON(b, pool_size[c]);
}

void util_rcbuf_pool_trim(void) {
    for (int c = 0; c < POOL_CLASSES; c++) {
        while (pool.head[c]) {
            pool_block *b = pool.head[c];
            POOL_UNPOISON(b, pool_size[c]);
            pool.head[c] = b->next;
            free(b);
        }
        pool.count[c] = 0;
    }
}

/* ---- refcounted buffers -----------------------------------------------------------------------
 */

util_rcbuf *util_rcbuf_new(size_t len) {
    if (len > SIZE_MAX - sizeof(util_rcbuf) - 1) return NULL;
    int c = pool_class(len);
    util_rcbuf *r = c >= 0 ? pool_get(c) : malloc(sizeof *r + len + 1);
    if (!r) return NULL;
    r->refs = 1;
    r->flags = 0;
    r->len = len;
    r->data[len] = '\0';
    return r;
}

util_rcbuf *util_rcbuf_copy(const void *data, size_t len) {
    util_rcbuf *r = util_rcbuf_new(len);
    if (r && len) memcpy(r->data, data, len);
    return r;
}

util_rcbuf *util_rcbuf_from_buf(util_buf *b) {
    util_rcbuf *r = util_rcbuf_copy(b->data, b->len);
    util_buf_free(b);
    return r;
}

size_t util_rcbuf_cost(size_t len) {
    int c = pool_class(len);
    /* malloc (glibc) rounds to 16 bytes and keeps an 8-byte header */
    return c >= 0 ? pool_size[c] : (sizeof(util_rcbuf) + len + 1 + 8 + 15) & ~(size_t)15;
}

void util_rcbuf_unref(util_rcbuf *r) {
    if (!r) return;
    assert(r->refs > 0);
    if (--r->refs) return;
    int c = pool_class(r->len);
    if (c >= 0)
        pool_put(c, r);
    else
        free(r);
}
