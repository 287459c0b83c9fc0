/* adapter/redis_internal.h - what the files of the Redis adapter share: the
 * adapter and per-namespace structures, this server's pending requests, and
 * the functions one file calls in another. redis.c owns the adapter, its
 * namespaces, readiness and the public API; redis_broadcast.c broadcasts,
 * both ways; redis_request.c this server's requests (and the ops that make
 * them); redis_answer.c the answers to the other servers' requests. Not used
 * outside src/adapter/redis*.c.
 */
#ifndef SIO_ADAPTER_REDIS_INTERNAL_H
#define SIO_ADAPTER_REDIS_INTERNAL_H

#include "socketio/redis.h"

#include "adapter/adapter.h"
#include "adapter/redis_conn.h"
#include "adapter/redis_wire.h"
#include "sio/sio_packet.h"
#include "util/buf.h"
#include "util/json_tree.h"
#include "util/log.h"
#include "util/random.h"
#include "util/vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_REQUESTS_TIMEOUT_MS 5000
#define DEFAULT_MAX_MESSAGE_SIZE (1u << 20)
#define UID_LEN 6
#define READY_POLL_MS 10
#define DROP_LOG_INTERVAL_MS 1000

typedef struct rnsp rnsp;

typedef struct redis_adapter {
    sio_adapter base; /* first: what the application holds */
    uv_loop_t *loop;
    redis_conn *conn;
    char *key;
    uint32_t requests_timeout_ms;
    size_t max_message_size;
    sio_redis_state_cb on_state;
    void *userdata;
    UTIL_VEC(rnsp *) nsps; /* the live instances */
    util_buf out;          /* a broadcast's MessagePack */
    util_buf channel;      /* its channel */
    uv_timer_t ready_timer;
    bool up;       /* both connections up */
    bool ready;    /* up, and every namespace's subscriptions confirmed */
    bool checking; /* a PUBSUB NUMSUB in flight */
    sio_redis_stats stats;
    uint64_t last_drop_log;
    uint64_t unlogged; /* drops since the last line */
    sio_closed_cb closed;
    void *closed_ud;
    UTIL_VEC(struct sse_answer *) answers; /* server-side events still to answer */
} redis_adapter;

struct rnsp {
    redis_adapter *ra;
    sio_nsp *nsp;
    void *mem; /* the in-memory instance of this namespace's local rooms */
    char uid[UID_LEN + 1];
    char *pattern, *request, *response, *own_response;
    UTIL_VEC(struct pending *) pending; /* this server's requests */
};

/* One request of this server: fetch-like (all_rooms) or server_side_emit
 * with ack. `expected` (the other servers) is known once PUBSUB NUMSUB
 * answers; the request is published then. */
typedef struct pending {
    rnsp *n;
    char id[UID_LEN + 1];
    redis_wire_type type;
    bool counted;  /* expected is known */
    bool counting; /* a NUMSUB in flight holds this (freed by its reply) */
    bool ended;
    size_t expected, got;
    sio_room_cb room_cb;
    void (*reply)(json_t *answer, void *ud);
    sio_done_cb done;
    void *ud;
    util_buf msg;        /* the request, published once the servers are counted */
    sio_bcast_ack *acks; /* type 7: the core's collector, held */
    uv_timer_t timer;
} pending;

/* The answer to a server-side event with a requestId, sent once. Kept in
 * ra->answers so that closing the adapter leaves it harmless. */
typedef struct sse_answer {
    redis_adapter *ra;
    char *channel;
    char *request_id;
    /* type 7: the client count is published first, then the answers */
    bool counted;
    json_t *responses;
} sse_answer;

static inline redis_adapter *adapter_of(const sio_adapter *a) {
    return (redis_adapter *)(void *)a;
}

static inline const sio_adapter_ops *mem_ops(void) {
    return sio_memory_adapter.ops;
}

/* redis.c */
void redis_drop(redis_adapter *ra, const char *channel, size_t channel_len, const char *why);
int redis_make_uid(char uid[UID_LEN + 1]);

/* redis_broadcast.c */
void redis_on_broadcast(rnsp *n, const char *channel, size_t channel_len, const char *room,
                        size_t room_len, const char *data, size_t len);
json_t *redis_packet_data(redis_adapter *ra, const sio_adapter_packet *pkt);
void redis_publish(rnsp *n, const sio_bcast_target *t, const sio_adapter_packet *pkt);

/* redis_request.c */
void redis_on_response(rnsp *n, const char *channel, size_t channel_len, const char *data,
                       size_t len);
void redis_pending_end(pending *p, int err);
void redis_pending_fail_all(redis_adapter *ra);
ptrdiff_t redis_pending_find(const rnsp *n, const char *id);
int redis_op_all_rooms(void *a, uint32_t timeout_ms, sio_room_cb cb, sio_done_cb done, void *ud);
size_t redis_op_broadcast_with_ack(void *a, const sio_bcast_target *t,
                                   const sio_adapter_packet *pkt, uint64_t id,
                                   const sio_prepared *p, sio_bcast_ack *acks);
int redis_op_disconnect_sockets(void *a, const sio_bcast_target *t, bool close_transport);
int redis_op_fetch_ids(void *a, const sio_bcast_target *t, sio_room_cb cb, sio_done_cb done,
                       void *ud);
int redis_op_fetch_sockets(void *a, const sio_bcast_target *t, sio_adapter_each_cb cb,
                           sio_done_cb done, void *ud);
int redis_op_server_side_emit(void *a, const sio_adapter_packet *pkt, uint32_t timeout_ms,
                              void (*reply)(json_t *answer, void *ud), sio_done_cb done, void *ud);
int redis_op_sockets_join(void *a, const sio_bcast_target *t, const char *room);
int redis_op_sockets_leave(void *a, const sio_bcast_target *t, const char *room);

/* redis_answer.c */
void redis_on_request(rnsp *n, const char *channel, size_t channel_len, const char *data,
                      size_t len);

#endif
