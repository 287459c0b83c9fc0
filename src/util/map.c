/* util/map.c - the keyed hash map and SipHash-2-4 (see map.h). */
#include "util/map.h"

#include "socketio/common.h"
#include "util/random.h"

#include <stdlib.h>
#include <string.h>

static uint64_t hash_key[2];
static int hash_key_set;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                   \
    do {                                                                                           \
        v0 += v1;                                                                                  \
        v1 = ROTL(v1, 13);                                                                         \
        v1 ^= v0;                                                                                  \
        v0 = ROTL(v0, 32);                                                                         \
        v2 += v3;                                                                                  \
        v3 = ROTL(v3, 16);                                                                         \
        v3 ^= v2;                                                                                  \
        v0 += v3;                                                                                  \
        v3 = ROTL(v3, 21);                                                                         \
        v3 ^= v0;                                                                                  \
        v2 += v1;                                                                                  \
        v1 = ROTL(v1, 17);                                                                         \
        v1 ^= v2;                                                                                  \
        v2 = ROTL(v2, 32);                                                                         \
    } while (0)

uint64_t util_hash(const void *data, size_t len) {
    if (!hash_key_set) {
        if (util_random_bytes(hash_key, sizeof hash_key) != 0) {
            hash_key[0] = (uint64_t)(uintptr_t)&hash_key ^ 0x736f6d6570736575ull;
            hash_key[1] = (uint64_t)len ^ 0x646f72616e646f6dull;
        }
        hash_key_set = 1;
    }
    const uint8_t *in = data;
    uint64_t k0 = hash_key[0], k1 = hash_key[1];
    uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
    uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
    uint64_t b = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8); /* little-endian hosts */
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    for (size_t k = 0; i + k < len; k++) b |= (uint64_t)in[i + k] << (8 * k);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static int map_grow(util_map *m) {
    size_t n = m->nbuckets ? m->nbuckets * 2 : 16;
    util_map_entry **b = calloc(n, sizeof *b);
    if (!b) return SIO_ENOMEM;
    for (size_t i = 0; i < m->nbuckets; i++) {
        util_map_entry *e = m->buckets[i];
        while (e) {
            util_map_entry *next = e->next;
            size_t j = e->hash & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    return 0;
}

static util_map_entry **map_find(const util_map *m, const char *key, size_t klen, uint64_t h) {
    util_map_entry **pp = &m->buckets[h & (m->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->klen == klen && memcmp((*pp)->key, key, klen) == 0) break;
    return pp;
}

void *util_map_get(const util_map *m, const char *key, size_t klen) {
    if (!m->count) return NULL;
    util_map_entry *e = *map_find(m, key, klen, util_hash(key, klen));
    return e ? e->value : NULL;
}

int util_map_put(util_map *m, const char *key, size_t klen, void *value) {
    if (klen > UINT32_MAX) return SIO_EINVAL;
    if (m->count >= m->nbuckets && map_grow(m) != 0) return SIO_ENOMEM;
    uint64_t h = util_hash(key, klen);
    util_map_entry **pp = map_find(m, key, klen, h);
    if (*pp) {
        (*pp)->value = value;
        return 0;
    }
    util_map_entry *e = malloc(sizeof *e + klen + 1);
    if (!e) return SIO_ENOMEM;
    e->next = NULL;
    e->value = value;
    e->hash = h;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    *pp = e;
    m->count++;
    return 0;
}

void *util_map_remove(util_map *m, const char *key, size_t klen) {
    if (!m->count) return NULL;
    util_map_entry **pp = map_find(m, key, klen, util_hash(key, klen));
    util_map_entry *e = *pp;
    if (!e) return NULL;
    *pp = e->next;
    void *v = e->value;
    free(e);
    m->count--;
    return v;
}

void util_map_free(util_map *m) {
    for (size_t i = 0; i < m->nbuckets; i++) {
        util_map_entry *e = m->buckets[i];
        while (e) {
            util_map_entry *n = e->next;
            free(e);
            e = n;
        }
    }
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

util_map_entry *util_map_iter_next(util_map_iter *it) {
    while (!it->next) {
        if (it->bucket >= it->m->nbuckets) return NULL;
        it->next = it->m->buckets[it->bucket++];
    }
    util_map_entry *e = it->next;
    it->next = e->next;
    return e;
}
