/* Unit tests of util/buf: the growable buffer and the refcounted blocks
 * (util_rcbuf) with their pool of recycled small blocks. */
#include "check.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_buf_grows_and_consumes(void) {
    util_buf b = UTIL_BUF_INIT;
    for (int i = 0; i < 1000; i++) CHECK_INT(util_buf_printf(&b, "%03d", i), 0);
    CHECK_INT(b.len, 3000);
    CHECK_MEM(b.data + 2997, "999", 3);
    util_buf_consume(&b, 2990);
    CHECK_INT(b.len, 10);
    CHECK_MEM(b.data, "6997998999", 10);
    util_buf_free(&b);
    CHECK(b.data == NULL);
}

static void test_rcbuf_refcount(void) {
    util_rcbuf *r = util_rcbuf_copy("hello", 5);
    CHECK(r != NULL);
    CHECK_INT(r->refs, 1);
    util_rcbuf_ref(r);
    CHECK_INT(r->refs, 2);
    util_rcbuf_unref(r);
    CHECK_STR(r->data, "hello");
    util_rcbuf_unref(r); /* freed: ASan would report a leak otherwise */
}

/* Small blocks are recycled (the last one freed is the next one handed out, per
 * size class); large ones are not; contents and lengths are always what was
 * asked for; a trimmed pool starts over. Under ASan a recycled block waiting in
 * the pool is poisoned (see buf.c). */
static void test_rcbuf_pool_recycles_small_blocks(void) {
    util_rcbuf *a = util_rcbuf_copy("0123456789", 10);
    CHECK(a != NULL);
    void *addr = a;
    util_rcbuf_unref(a);
    util_rcbuf *b = util_rcbuf_copy("abc", 3); /* the same class: the same block */
    CHECK(b == addr);
    CHECK_INT(b->len, 3);
    CHECK_INT(b->refs, 1);
    CHECK_INT(b->flags, 0);
    CHECK_STR(b->data, "abc");
    util_rcbuf *c = util_rcbuf_new(300); /* another class: another block */
    CHECK(c != NULL && (void *)c != addr);
    memset(c->data, 'x', 300);
    CHECK_INT(c->data[300], '\0');
    util_rcbuf *big = util_rcbuf_new(100000); /* beyond the pool */
    CHECK(big != NULL);
    memset(big->data, 'y', 100000);
    /* many blocks in and out: each keeps its own contents */
    enum { N = 2000 };
    util_rcbuf **many = calloc(N, sizeof *many);
    for (int i = 0; i < N; i++) {
        char text[32];
        int n = snprintf(text, sizeof text, "block %d", i);
        many[i] = util_rcbuf_new((size_t)n + (size_t)(i % 400));
        CHECK(many[i] != NULL);
        memcpy(many[i]->data, text, (size_t)n);
    }
    for (int i = 0; i < N; i++) {
        char text[32];
        snprintf(text, sizeof text, "block %d", i);
        CHECK_MEM(many[i]->data, text, strlen(text));
        CHECK_INT(many[i]->len, strlen(text) + (size_t)(i % 400));
        util_rcbuf_unref(many[i]);
    }
    free(many);
    util_rcbuf_unref(big);
    util_rcbuf_unref(c);
    util_rcbuf_unref(b);
    util_rcbuf_pool_trim();
    util_rcbuf_pool_trim(); /* twice: nothing left, nothing happens */
}

int main(void) {
    RUN(test_buf_grows_and_consumes);
    RUN(test_rcbuf_refcount);
    RUN(test_rcbuf_pool_recycles_small_blocks);
    return CHECK_DONE();
}
