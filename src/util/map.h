/* util/map.h - a hash map from byte-string keys to pointers.
 *
 * Used for sessions by id, namespaces by name, rooms by name. Keys come from
 * peers (room names, session ids), so the hash is SipHash-2-4 with a random
 * key per process: a peer cannot choose keys that collide. Chained buckets,
 * doubled when the load passes 1; keys are copied into the entries.
 */
#ifndef SIO_UTIL_MAP_H
#define SIO_UTIL_MAP_H

#include "util/attr.h"

#include <stddef.h>
#include <stdint.h>

typedef struct util_map_entry {
    struct util_map_entry *next;
    void *value;
    uint64_t hash;
    uint32_t klen;
    char key[]; /* NUL-terminated copy */
} util_map_entry;

typedef struct util_map {
    util_map_entry **buckets;
    size_t nbuckets; /* a power of two, or 0 before the first insert */
    size_t count;
} util_map;

#define UTIL_MAP_INIT                                                                              \
    { NULL, 0, 0 }

void *util_map_get(const util_map *m, const char *key, size_t klen);
/* Inserts or replaces; 0 or SIO_ENOMEM. */
UTIL_MUST_USE int util_map_put(util_map *m, const char *key, size_t klen, void *value);
/* Removes and returns the value (NULL if absent). */
void *util_map_remove(util_map *m, const char *key, size_t klen);
/* Frees the table (not the values). */
void util_map_free(util_map *m);

/* Iteration. The entry last returned may be removed while iterating; no
 * other change to the map is allowed until the iteration ends. */
typedef struct util_map_iter {
    const util_map *m;
    size_t bucket;
    util_map_entry *next;
} util_map_iter;

static inline void util_map_iter_init(util_map_iter *it, const util_map *m) {
    it->m = m;
    it->bucket = 0;
    it->next = NULL;
}
/* The next entry, or NULL at the end. */
util_map_entry *util_map_iter_next(util_map_iter *it);

/* SipHash-2-4 of data with the process key. */
uint64_t util_hash(const void *data, size_t len);

#endif
