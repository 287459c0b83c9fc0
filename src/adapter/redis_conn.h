/* adapter/redis_conn.h - the Redis connections of the Redis adapter.
 *
 * A redis_conn is what Node's adapter is given as pubClient and subClient: two
 * connections to one Redis server (hiredis on the server's libuv loop), a
 * publisher that also runs commands (PUBLISH, PUBSUB NUMSUB, ...) and a
 * subscriber in subscribe mode. Nothing here blocks the loop: a host name is
 * resolved with uv_getaddrinfo, connects are non-blocking and time out.
 *
 * Faults: a connection that fails or drops is retried with an exponential
 * backoff (retry_min_ms doubling to retry_max_ms, with jitter), for ever,
 * until redis_conn_close. The subscriptions are remembered and sent again on
 * each new subscriber connection. The state callback says when both
 * connections are up and when either goes down, once per change; the log has
 * one line per change too, never one per retry. While down, publishing and
 * commands fail at once (SIO_ECLOSED) and commands in flight get a NULL reply.
 *
 * Memory: the publisher's unwritten output (Redis slow, or the network) is
 * bounded by max_pending_bytes; a publish past it fails with SIO_EBUSY.
 */
#ifndef SIO_ADAPTER_REDIS_CONN_H
#define SIO_ADAPTER_REDIS_CONN_H

#include "adapter/redis_url.h"
#include "util/attr.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct redis_conn redis_conn;

typedef struct redis_conn_options {
    /** redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by
     * default; an IPv6 host in brackets). The db matters to commands only:
     * Redis pub/sub channels are server-wide. */
    const char *url;
    uint32_t connect_timeout_ms; /**< a connect not done by then is retried (5000) */
    uint32_t retry_min_ms;       /**< first retry delay (100) */
    uint32_t retry_max_ms;       /**< longest retry delay (5000) */
    size_t max_pending_bytes;    /**< unwritten publisher output (64 MiB) */
} redis_conn_options;

/** A message on a subscribed channel or pattern: channel and data are valid
 * during the call (data may hold any bytes). */
typedef void (*redis_message_cb)(const char *channel, size_t channel_len, const char *data,
                                 size_t len, void *userdata);
/** Both connections are up (and the subscriptions sent), or one went down. */
typedef void (*redis_state_cb)(bool up, void *userdata);
/** A command's reply; NULL when the connection went down or closed first. */
typedef void (*redis_reply_cb)(const redisReply *reply, void *userdata);
/** The connections and their handles are closed and the redis_conn freed. */
typedef void (*redis_closed_cb)(void *userdata);

void redis_conn_options_init(redis_conn_options *o);

/* Starts connecting; NULL for a malformed URL or out of memory. Callbacks may
 * call any redis_conn function, redis_conn_close included. */
UTIL_MUST_USE redis_conn *redis_conn_new(uv_loop_t *loop, const redis_conn_options *o,
                                         redis_message_cb on_message, redis_state_cb on_state,
                                         void *userdata);

/* True while both connections are up. */
bool redis_conn_up(const redis_conn *c);

/* Subscribes to a channel, or with pattern to a glob pattern (PSUBSCRIBE):
 * now if the subscriber is up, and again on every reconnect. 0, SIO_ENOMEM. */
UTIL_MUST_USE int redis_conn_subscribe(redis_conn *c, const char *channel, bool pattern);
/* Forgets a subscription (and unsubscribes now if up). 0 or SIO_ENOTFOUND. */
int redis_conn_unsubscribe(redis_conn *c, const char *channel, bool pattern);

/* PUBLISH channel data. 0; SIO_ECLOSED while down; SIO_EBUSY past
 * max_pending_bytes; SIO_ENOMEM. */
UTIL_MUST_USE int redis_conn_publish(redis_conn *c, const char *channel, size_t channel_len,
                                     const void *data, size_t len);

/* A command on the publisher (argv with lengths, binary-safe). On 0 the
 * callback is called exactly once, later (never from inside this call), with
 * the reply or NULL; on an error (SIO_ECLOSED while down, SIO_ENOMEM) never. */
UTIL_MUST_USE int redis_conn_command(redis_conn *c, int argc, const char **argv, const size_t *lens,
                                     redis_reply_cb cb, void *userdata);

/* Closes both connections (commands in flight get NULL replies) and frees c;
 * done is called once every handle is closed, from the loop. Safe from any
 * callback of c. */
void redis_conn_close(redis_conn *c, redis_closed_cb done, void *userdata);

#endif
