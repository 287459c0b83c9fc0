/* Unit tests of src/util/vec.h: growth by doubling, refusal past the limits
 * (and nothing changed by a refused growth), insertion and the three ways
 * of removing. */
#include "check.h"
#include "util/vec.h"

#include <stdint.h>

typedef UTIL_VEC(int) int_vec;

/* Pushes keep every element; the capacity doubles from UTIL_VEC_FIRST, so
 * 1000 pushes take about log2(1000) allocations, not 1000. */
static void test_push_doubles(void) {
    int_vec v = UTIL_VEC_INIT;
    unsigned grows = 0;
    uint32_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK_INT(util_vec_push(&v, i * 3), 0);
        if (v.cap != cap) {
            CHECK(cap == 0 ? v.cap == UTIL_VEC_FIRST : v.cap == 2 * cap);
            cap = v.cap;
            grows++;
        }
    }
    CHECK_INT(v.len, 1000);
    CHECK_INT(v.cap, 1024);
    CHECK_INT(grows, 10);
    for (int i = 0; i < 1000; i++) CHECK_INT(v.items[i], i * 3);
    util_vec_free(&v);
    CHECK(v.items == NULL);
    CHECK_INT(v.len, 0);
    CHECK_INT(v.cap, 0);
}

/* A reserve makes room for at least what it asks in one allocation, and
 * room that is there costs nothing. */
static void test_reserve(void) {
    int_vec v = UTIL_VEC_INIT;
    CHECK_INT(util_vec_reserve(&v, 16), 0);
    CHECK_INT(v.cap, 16);
    CHECK_INT(v.len, 0);
    int *items = v.items;
    for (int i = 0; i < 16; i++) CHECK_INT(util_vec_push(&v, i), 0);
    CHECK(v.items == items); /* no reallocation within the reserved room */
    CHECK_INT(util_vec_reserve(&v, 0), 0);
    CHECK_INT(util_vec_reserve(&v, 1), 0);
    CHECK_INT(v.cap, 32);
    CHECK_INT(util_vec_reserve(&v, 100), 0); /* more than doubling gives: exactly that */
    CHECK_INT(v.cap, 116);
    util_vec_free(&v);
}

/* The capacity rule, limits included: a count over UTIL_VEC_MAX or a byte
 * size over SIZE_MAX is refused (0), never wrapped into a small allocation. */
static void test_next_cap_limits(void) {
    CHECK_INT(util_vec_next_cap(0, 1, 8), UTIL_VEC_FIRST);
    CHECK_INT(util_vec_next_cap(0, 5, 8), 5);
    CHECK_INT(util_vec_next_cap(4, 5, 8), 8);
    CHECK_INT(util_vec_next_cap(4, 5, 0), 0);
    CHECK_INT(util_vec_next_cap(0, (size_t)UTIL_VEC_MAX + 1, 1), 0);
    CHECK_INT(util_vec_next_cap(UTIL_VEC_MAX, (size_t)UTIL_VEC_MAX + 1, 1), 0);
    CHECK_INT(util_vec_next_cap(0, UTIL_VEC_MAX, 1), UTIL_VEC_MAX);
    /* doubling would pass the maximum: the capacity is what is needed */
    CHECK_INT(util_vec_next_cap(UTIL_VEC_MAX - 10, UTIL_VEC_MAX - 9, 1), UTIL_VEC_MAX - 9);
    /* elements so large that the bytes overflow size_t */
    CHECK_INT(util_vec_next_cap(0, 3, SIZE_MAX / 2), 0);
    CHECK_INT(util_vec_next_cap(0, 2, SIZE_MAX / 2), 2);
    /* needed bytes fit, doubled ones would not: just enough */
    CHECK_INT(util_vec_next_cap(2, 3, SIZE_MAX / 3), 3);
}

/* A refused growth leaves the array as it was, contents included. */
static void test_refused_growth_changes_nothing(void) {
    int_vec v = UTIL_VEC_INIT;
    for (int i = 0; i < 3; i++) CHECK_INT(util_vec_push(&v, i), 0);
    int *items = v.items;
    uint32_t cap = v.cap;
    CHECK_INT(util_vec_reserve(&v, SIZE_MAX), SIO_ENOMEM);
    CHECK_INT(util_vec_reserve(&v, (size_t)UTIL_VEC_MAX), SIO_ENOMEM);
    CHECK_INT(util_vec_reserve(&v, SIZE_MAX / sizeof(int)), SIO_ENOMEM);
    CHECK(v.items == items);
    CHECK_INT(v.cap, cap);
    CHECK_INT(v.len, 3);
    for (int i = 0; i < 3; i++) CHECK_INT(v.items[i], i);
    /* a full array at the maximum count refuses one more push */
    int_vec full = {items, UTIL_VEC_MAX, UTIL_VEC_MAX};
    CHECK_INT(util_vec_push(&full, 7), SIO_ENOMEM);
    CHECK_INT(full.len, UTIL_VEC_MAX);
    util_vec_free(&v);
}

/* insert keeps the order around the new element; remove and drop_front keep
 * the order of what remains; swap_remove moves the last element into the
 * hole. None of them gives memory back. */
static void test_insert_and_remove(void) {
    int_vec v = UTIL_VEC_INIT;
    for (int i = 0; i < 6; i++) CHECK_INT(util_vec_push(&v, i), 0); /* 0 1 2 3 4 5 */
    CHECK_INT(util_vec_insert(&v, 0, 10), 0);                       /* 10 0 1 2 3 4 5 */
    CHECK_INT(util_vec_insert(&v, 7, 11), 0);                       /* ... 5 11 */
    CHECK_INT(util_vec_insert(&v, 3, 12), 0);                       /* 10 0 1 12 2 3 4 5 11 */
    int want1[] = {10, 0, 1, 12, 2, 3, 4, 5, 11};
    CHECK_INT(v.len, 9);
    CHECK_MEM(v.items, want1, sizeof want1);
    uint32_t cap = v.cap;

    util_vec_remove(&v, 3); /* 10 0 1 2 3 4 5 11 */
    util_vec_remove(&v, 7); /* 10 0 1 2 3 4 5 */
    int want2[] = {10, 0, 1, 2, 3, 4, 5};
    CHECK_INT(v.len, 7);
    CHECK_MEM(v.items, want2, sizeof want2);

    util_vec_drop_front(&v, 2); /* 1 2 3 4 5 */
    int want3[] = {1, 2, 3, 4, 5};
    CHECK_INT(v.len, 5);
    CHECK_MEM(v.items, want3, sizeof want3);

    util_vec_swap_remove(&v, 1); /* 1 5 3 4 */
    int want4[] = {1, 5, 3, 4};
    CHECK_INT(v.len, 4);
    CHECK_MEM(v.items, want4, sizeof want4);
    util_vec_swap_remove(&v, 3); /* the last: 1 5 3 */
    CHECK_INT(v.len, 3);
    CHECK_INT(v.items[2], 3);

    util_vec_drop_front(&v, 3);
    CHECK_INT(v.len, 0);
    CHECK_INT(v.cap, cap); /* removal keeps the capacity */
    CHECK_INT(util_vec_push(&v, 42), 0);
    CHECK_INT(v.items[0], 42);
    util_vec_free(&v);
}

/* Elements of any type, struct literals included. */
typedef struct pair {
    void *p;
    uint64_t n;
} pair;

static void test_struct_elements(void) {
    UTIL_VEC(pair) v = UTIL_VEC_INIT;
    for (uint64_t i = 0; i < 100; i++) CHECK_INT(util_vec_push(&v, ((pair){&v, i * i})), 0);
    CHECK_INT(v.len, 100);
    for (uint64_t i = 0; i < 100; i++) {
        CHECK(v.items[i].p == &v);
        CHECK_INT(v.items[i].n, i * i);
    }
    util_vec_free(&v);
}

int main(void) {
    RUN(test_push_doubles);
    RUN(test_reserve);
    RUN(test_next_cap_limits);
    RUN(test_refused_growth_changes_nothing);
    RUN(test_insert_and_remove);
    RUN(test_struct_elements);
    return CHECK_DONE();
}
