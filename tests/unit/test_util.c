/* Unit tests of src/util: buffers, ids, base64, the timer wheel. */
#include "check.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/map.h"
#include "util/random.h"
#include "util/timer_wheel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int id_cmp(const void *a, const void *b) {
    return strcmp(a, b);
}

/* Ids: 20 URL-safe characters, never twice (10,000 drawn across several
 * refills of the buffered CSPRNG bytes), and a forked child does not hand out
 * the ids its parent has buffered: the child's next id differs from the
 * parent's next one. */
static void test_random_ids(void) {
    enum { N = 10000 };
    char(*ids)[21] = calloc(N, sizeof *ids);
    for (int i = 0; i < N; i++) {
        CHECK_INT(util_random_id(ids[i]), 0);
        CHECK_INT(strlen(ids[i]), 20);
        CHECK_INT(
            strspn(ids[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 20);
    }
    qsort(ids, N, sizeof *ids, id_cmp);
    for (int i = 1; i < N; i++) CHECK(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);

    int fd[2];
    CHECK_INT(pipe(fd), 0);
    pid_t pid = fork();
    if (pid == 0) {
        char child[21];
        util_random_id(child);
        ssize_t w = write(fd[1], child, sizeof child);
        _exit(w == (ssize_t)sizeof child ? 0 : 1);
    }
    char parent[21], child[21];
    CHECK_INT(util_random_id(parent), 0);
    CHECK_INT(read(fd[0], child, sizeof child), (long)sizeof child);
    int status = 0;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(strcmp(parent, child) != 0);
    close(fd[0]);
    close(fd[1]);
}

static void test_base64_vectors(void) {
    /* RFC 4648 section 10 */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        uint8_t dec[16];
        util_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        CHECK_STR(out, enc[i]);
        long n = util_base64_decode(enc[i], strlen(enc[i]), dec);
        CHECK_INT(n, (long)strlen(plain[i]));
        CHECK_MEM(dec, plain[i], (size_t)n);
    }
}

static void test_base64_rejects_garbage(void) {
    uint8_t out[16];
    CHECK_INT(util_base64_decode("Zm9", 3, out), -1);      /* not a multiple of 4 */
    CHECK_INT(util_base64_decode("Zm=v", 4, out), -1);     /* data after padding */
    CHECK_INT(util_base64_decode("Zm9v\n", 5, out), -1);   /* whitespace */
    CHECK_INT(util_base64_decode("Zg==Zg==", 8, out), -1); /* padding mid-stream */
    CHECK_INT(util_base64_decode("Z!9v", 4, out), -1);     /* bad character */
}

struct wheel_probe {
    util_timer t;
    uint64_t started;
    uint64_t fired_at;
    int fired;
};

static uv_loop_t wheel_loop;
static util_wheel wheel;

static void probe_cb(util_timer *t) {
    struct wheel_probe *p = (struct wheel_probe *)t;
    p->fired++;
    p->fired_at = uv_now(&wheel_loop);
}

static void guard_fire(uv_timer_t *t) {
    uv_timer_stop(t);
}

static void stop_other_cb(util_timer *t) {
    struct wheel_probe *p = (struct wheel_probe *)t;
    p->fired++;
    util_timer_stop(&wheel, (util_timer *)(p + 1)); /* the next probe in the array */
}

static void test_timer_wheel_fires_in_order_never_early(void) {
    uv_loop_init(&wheel_loop);
    util_wheel_init(&wheel_loop, &wheel, 10);
    struct wheel_probe p[5];
    uint64_t delays[5] = {5, 30, 120, 50, 45000 /* more than one turn: stopped below */};
    for (int i = 0; i < 5; i++) {
        memset(&p[i], 0, sizeof p[i]);
        util_timer_init(&p[i].t);
        p[i].started = uv_now(&wheel_loop);
        util_timer_start(&wheel, &p[i].t, delays[i], probe_cb);
    }
    CHECK_INT(wheel.count, 5);
    util_timer_stop(&wheel, &p[4].t);
    CHECK(!util_timer_active(&p[4].t));
    /* wheel's libuv timer is unref'd; keep the loop alive with a guard timer */
    uv_timer_t guard;
    uv_timer_init(&wheel_loop, &guard);
    uv_timer_start(&guard, guard_fire, 400, 0);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(p[i].fired, 1);
        CHECK(p[i].fired_at - p[i].started >= delays[i]);
    }
    CHECK_INT(p[4].fired, 0);
    CHECK_INT(wheel.count, 0);

    /* a callback that stops a timer due in the same tick */
    struct wheel_probe q[2];
    memset(q, 0, sizeof q);
    util_timer_init(&q[0].t);
    util_timer_init(&q[1].t);
    util_timer_start(&wheel, &q[0].t, 20, stop_other_cb);
    util_timer_start(&wheel, &q[1].t, 20, probe_cb);
    uv_timer_start(&guard, guard_fire, 100, 0);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    CHECK_INT(q[0].fired, 1);
    CHECK_INT(q[1].fired, 0);

    uv_close((uv_handle_t *)&guard, NULL);
    util_wheel_close(&wheel, NULL);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&wheel_loop), 0);
}

static void test_map_put_get_remove_iterate(void) {
    util_map m = UTIL_MAP_INIT;
    char key[32];
    for (long i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "room-%ld", i);
        CHECK_INT(util_map_put(&m, key, (size_t)n, (void *)(i + 1)), 0);
    }
    CHECK_INT(m.count, 5000);
    CHECK(util_map_get(&m, "room-4242", 9) == (void *)4243);
    CHECK(util_map_get(&m, "room-5000", 9) == NULL);
    CHECK_INT(util_map_put(&m, "room-1", 6, (void *)77), 0); /* replace */
    CHECK_INT(m.count, 5000);
    CHECK(util_map_get(&m, "room-1", 6) == (void *)77);
    /* remove every even value while iterating */
    util_map_iter it;
    util_map_iter_init(&it, &m);
    size_t seen = 0;
    for (util_map_entry *e = util_map_iter_next(&it); e; e = util_map_iter_next(&it)) {
        seen++;
        if (((long)e->value) % 2 == 0) util_map_remove(&m, e->key, e->klen);
    }
    CHECK_INT(seen, 5000);
    CHECK_INT(m.count, 2501); /* odd values 1..4999 and 77 */
    CHECK(util_map_remove(&m, "room-0", 6) == (void *)1);
    CHECK(util_map_remove(&m, "room-0", 6) == NULL);
    /* binary keys with NUL bytes */
    CHECK_INT(util_map_put(&m, "a\0b", 3, (void *)5), 0);
    CHECK(util_map_get(&m, "a\0c", 3) == NULL);
    CHECK(util_map_get(&m, "a\0b", 3) == (void *)5);
    util_map_free(&m);
    CHECK(util_hash("abc", 3) == util_hash("abc", 3));
    CHECK(util_hash("abc", 3) != util_hash("abd", 3));
}

int main(void) {
    RUN(test_buf_grows_and_consumes);
    RUN(test_rcbuf_refcount);
    RUN(test_rcbuf_pool_recycles_small_blocks);
    RUN(test_random_ids);
    RUN(test_base64_vectors);
    RUN(test_base64_rejects_garbage);
    RUN(test_timer_wheel_fires_in_order_never_early);
    RUN(test_map_put_get_remove_iterate);
    return CHECK_DONE();
}
