/* Unit tests of util/map: the hash map with binary keys, replace, remove
 * while iterating, and its hash. */
#include "check.h"
#include "util/map.h"

#include <stdio.h>
#include <string.h>

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
    RUN(test_map_put_get_remove_iterate);
    return CHECK_DONE();
}
