/* util/random.c - random bytes and ids from the OpenSSL CSPRNG (see random.h). */
#include "util/random.h"

#include "socketio/common.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

int util_random_bytes(void *buf, size_t n) {
    return RAND_bytes(buf, (int)n) == 1 ? 0 : SIO_EINVAL;
}

/* Ids take their bytes from a per-thread buffer of CSPRNG output, refilled
 * 1 KiB at a time: one RAND_bytes call costs as much as thousands of
 * instructions whatever its size (it was a fifth of a connection's handshake).
 * The bytes are the same CSPRNG's; a forked child discards what its parent
 * had buffered, so two processes never hand out the same ids. */
#define ID_POOL 1024
static _Thread_local struct {
    uint8_t bytes[ID_POOL];
    size_t left; /* unused bytes at the end of `bytes` */
} id_pool;
static pthread_once_t id_pool_once = PTHREAD_ONCE_INIT;

static void id_pool_forked(void) {
    OPENSSL_cleanse(id_pool.bytes, sizeof id_pool.bytes);
    id_pool.left = 0;
}

static void id_pool_init(void) {
    pthread_atfork(NULL, NULL, id_pool_forked);
}

static int id_bytes(uint8_t *out, size_t n) {
    pthread_once(&id_pool_once, id_pool_init);
    if (id_pool.left < n) {
        if (util_random_bytes(id_pool.bytes, sizeof id_pool.bytes) != 0) return SIO_EINVAL;
        id_pool.left = sizeof id_pool.bytes;
    }
    uint8_t *src = id_pool.bytes + sizeof id_pool.bytes - id_pool.left;
    memcpy(out, src, n);
    OPENSSL_cleanse(src, n); /* handed out once */
    id_pool.left -= n;
    return 0;
}

int util_random_id(char out[UTIL_RANDOM_ID_LEN + 1]) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t rnd[UTIL_RANDOM_ID_LEN / 4 * 3]; /* 3 bytes give 4 characters */
    if (id_bytes(rnd, sizeof rnd) != 0) return SIO_EINVAL;
    for (int i = 0; i < UTIL_RANDOM_ID_LEN / 4; i++) {
        uint32_t v = (uint32_t)rnd[3 * i] << 16 | (uint32_t)rnd[3 * i + 1] << 8 | rnd[3 * i + 2];
        for (int k = 0; k < 4; k++) out[4 * i + k] = alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[UTIL_RANDOM_ID_LEN] = '\0';
    return 0;
}
