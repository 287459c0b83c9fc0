/* adapter/redis_url.h - a redis:// URL taken apart (redis_url.c). */
#ifndef SIO_ADAPTER_REDIS_URL_H
#define SIO_ADAPTER_REDIS_URL_H

#include "util/attr.h"

/* The parts of a redis:// URL; strings are owned by the caller of
 * redis_url_parse, to be freed with redis_url_free. */
typedef struct redis_url {
    char *host;
    char *user; /* NULL: none (AUTH password only) */
    char *password;
    int port;
    int db;
} redis_url;

/* 0, or SIO_EINVAL for a malformed URL, SIO_ENOMEM. */
UTIL_MUST_USE int redis_url_parse(const char *url, redis_url *out);
void redis_url_free(redis_url *u);

#endif
