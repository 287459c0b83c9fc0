/* util/random.h - random bytes and unguessable ids from the OpenSSL CSPRNG.
 *
 * Owns the per-thread pool of CSPRNG output that session and socket ids are
 * cut from, and its reset in a forked child.
 */
#ifndef SIO_UTIL_RANDOM_H
#define SIO_UTIL_RANDOM_H

#include "util/attr.h"

#include <stddef.h>

/* Fills buf with n bytes from the OpenSSL CSPRNG; 0 or SIO_EINVAL. */
UTIL_MUST_USE int util_random_bytes(void *buf, size_t n);

/* The length of an id from util_random_id, without its NUL. */
#define UTIL_RANDOM_ID_LEN 20

/* Writes a new unguessable id: UTIL_RANDOM_ID_LEN URL-safe base64 characters
 * (120 random bits) and a NUL, as Engine.IO session ids and Socket.IO socket
 * ids are. 0 or SIO_EINVAL when the CSPRNG fails. */
UTIL_MUST_USE int util_random_id(char out[UTIL_RANDOM_ID_LEN + 1]);

#endif
