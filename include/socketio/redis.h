/** @file socketio/redis.h
 * the Redis adapter: several socketio-c servers, and Node servers running
 * `@socket.io/redis-adapter` 8.x, sharing one Redis as one cluster.
 *
 * Make one adapter with sio_redis_adapter_new(), set it as
 * sio_server_options.adapter of a server, and close it with
 * sio_redis_adapter_close() after that server's sio_server_close() is done.
 * Each namespace of the server gets its own 6-character uid and its own
 * subscriptions (the channels of Node's adapter, under the prefix `key`).
 *
 * What crosses servers today: broadcasts (to all, to rooms, except rooms,
 * with a socket id as a room, all-but-the-sender; volatile and compress),
 * binary included; and requests, both ways: fetchSockets as ids
 * (sio_broadcast_fetch_ids), socketsJoin/Leave, disconnectSockets (applied
 * here when their echo comes back, as Node does), serverSideEmit with and
 * without ack, allRooms, broadcasts with acknowledgements. Not yet:
 * sio_broadcast_fetch_sockets is this server's only (no remote socket
 * form). See docs/cluster.rst.
 */
#ifndef SOCKETIO_REDIS_H
#define SOCKETIO_REDIS_H

#include "socketio.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Called when the adapter becomes ready (up: both Redis connections are up
 * and the subscriptions of every namespace that exists then are confirmed
 * by Redis, so a broadcast published from then on reaches this server) and
 * when it stops being so (a connection was lost: it reconnects on its own).
 * Once per change.
 */
typedef void (*sio_redis_state_cb)(bool up, void *userdata);

/** The adapter's options: fill with sio_redis_options_init(), then change. */
typedef struct sio_redis_options {
    /** redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by
     * default). Required. */
    const char *url;
    /** The channels' prefix, as Node's `key` option ("socket.io"): only
     * servers with the same key form a cluster. */
    const char *key;
    /** How long a request to the other servers waits for their answers, as
     * Node's `requestsTimeout` (5000 ms). */
    uint32_t requests_timeout_ms;
    /** The largest message published or accepted from Redis (1 MiB). A
     * broadcast larger than this is delivered to this server's sockets only
     * (and counted as dropped); a larger message received is dropped. */
    size_t max_message_size;
    /** Called on each change of readiness (may be NULL). */
    sio_redis_state_cb on_state;
    /** Passed to on_state. */
    void *userdata;
} sio_redis_options;

/** What an adapter has done since it was made (sio_redis_adapter_stats). */
typedef struct sio_redis_stats {
    uint64_t published;        /**< broadcasts published on Redis */
    uint64_t publish_dropped;  /**< broadcasts not published: Redis down, output
                                 * over its bound, or over max_message_size */
    uint64_t received;         /**< broadcasts from other servers delivered here */
    uint64_t received_dropped; /**< messages dropped as malformed or too large */
} sio_redis_stats;

/** Fills o with the defaults (url NULL: to be set). */
SIO_EXTERN void sio_redis_options_init(sio_redis_options *o);

/**
 * A new Redis adapter on loop; it starts connecting at once (down at first:
 * local delivery works meanwhile, and while Redis is down). NULL for a
 * missing or malformed url, or when memory ran out.
 */
SIO_EXTERN sio_adapter *sio_redis_adapter_new(uv_loop_t *loop, const sio_redis_options *o);

/** True while the adapter is ready (see sio_redis_state_cb). */
SIO_EXTERN bool sio_redis_adapter_ready(const sio_adapter *a);

/** Copies a's counters into out. */
SIO_EXTERN void sio_redis_adapter_stats(const sio_adapter *a, sio_redis_stats *out);

/**
 * Closes the Redis connections and frees a; done (may be NULL) is called
 * from the loop once every handle is closed. Call it after every server
 * using a is closed (sio_server_close's done).
 */
SIO_EXTERN void sio_redis_adapter_close(sio_adapter *a, sio_closed_cb done, void *userdata);

#ifdef __cplusplus
}
#endif
#endif
