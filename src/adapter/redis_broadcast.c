/* adapter/redis_broadcast.c - owns the Redis adapter's broadcasts, both
 * ways (see redis.c for the whole): a local broadcast serialized once as
 * MessagePack and published on its room's or its namespace's channel, and a
 * broadcast from another server decoded once, encoded once for the local
 * clients and walked through the namespace's in-memory instance.
 */
#include "adapter/redis_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- receiving ---- */

/* Delivers a broadcast of another server to the matching local sockets. */
static void deliver_remote(rnsp *n, const redis_wire_broadcast *b, const char *channel,
                           size_t channel_len) {
    redis_adapter *ra = n->ra;
    const char *event = json_string_value(json_array_get(b->data, 0));
    json_t *args = json_array();
    if (!event || !args) {
        json_decref(args);
        redis_drop(ra, channel, channel_len, event ? "out of memory" : "no event name");
        return;
    }
    for (size_t i = 1; i < json_array_size(b->data); i++)
        if (json_array_append(args, json_array_get(b->data, i)) != 0) {
            json_decref(args);
            redis_drop(ra, channel, channel_len, "out of memory");
            return;
        }
    sio_adapter_packet pkt = {.event = event, .args = args};
    sio_prepared p;
    int r = sio_adapter_prepare(n->nsp, &pkt, SIO_NO_ID, &p);
    if (r == 0) {
        const redis_wire_flags *f = &b->opts.flags;
        sio_bcast_target t = {
            .rooms = b->opts.rooms.names,
            .nrooms = b->opts.rooms.len,
            .except = b->opts.except.names,
            .nexcept = b->opts.except.len,
            .local = true,
            .volatile_ = (f->has & REDIS_WIRE_FLAG_VOLATILE) && f->is_volatile,
            .compress = !(f->has & REDIS_WIRE_FLAG_COMPRESS) || f->compress,
        };
        mem_ops()->broadcast(n->mem, &t, &pkt, &p);
        sio_adapter_prepared_release(&p);
        ra->stats.received++;
    } else {
        redis_drop(ra, channel, channel_len,
                   r == SIO_EINVAL ? "not a valid event" : sio_strerror(r));
    }
    json_decref(args);
}

void redis_on_broadcast(rnsp *n, const char *channel, size_t channel_len, const char *room,
                        size_t room_len, const char *data, size_t len) {
    redis_adapter *ra = n->ra;
    /* a room channel concerns only a server with a member of that room */
    if (room_len && !sio_memory_has_room(n->mem, room, room_len) &&
        !sio_adapter_find(n->nsp, room, room_len))
        return;
    redis_wire_broadcast b;
    const char *why = NULL;
    int r = redis_wire_broadcast_decode(&b, data, len, ra->max_message_size, &why);
    if (r) {
        redis_drop(ra, channel, channel_len, r == SIO_ETOOBIG ? "over max_message_size" : why);
        return;
    }
    if (strcmp(b.uid, n->uid) != 0 && strcmp(b.nsp, sio_adapter_nsp_name(n->nsp)) == 0)
        deliver_remote(n, &b, channel, channel_len);
    redis_wire_broadcast_free(&b);
}

/* ---- sending ---- */

typedef struct att_list {
    const sio_attachments *atts;
} att_list;

/* A placeholder of the raw text becomes a blob with its attachment's bytes. */
static json_t *placeholder_to_blob(json_t *obj, void *ud) {
    const sio_attachments *atts = ((att_list *)ud)->atts;
    if (!atts || !json_is_true(json_object_get(obj, "_placeholder"))) return obj;
    json_t *num = json_object_get(obj, "num");
    if (!json_is_number(num)) return obj;
    double d = json_number_value(num);
    if (!(d >= 0 && d < (double)atts->len && d == floor(d))) return obj;
    const uv_buf_t *a = &atts->items[(size_t)d];
    json_t *blob = sio_blob_new(a->base, a->len);
    if (!blob) return NULL;
    json_decref(obj);
    return blob;
}

/* [event, ...args] as a new jansson array, from either form of pkt. */
json_t *redis_packet_data(redis_adapter *ra, const sio_adapter_packet *pkt) {
    json_t *data;
    if (pkt->args) {
        data = json_array();
        if (data && json_array_extend(data, (json_t *)pkt->args) != 0) {
            json_decref(data);
            return NULL;
        }
    } else {
        util_buf *text = &ra->channel; /* free until the channel is written */
        text->len = 0;
        if (util_buf_append(text, "[", 1) || util_buf_append(text, pkt->raw, pkt->raw_len) ||
            util_buf_append(text, "]", 1))
            return NULL;
        att_list al = {pkt->atts};
        data = util_json_parse(text->data, text->len, placeholder_to_blob, &al);
        if (data && !json_is_array(data)) {
            json_decref(data);
            return NULL;
        }
    }
    if (data && json_array_insert_new(data, 0, json_string(pkt->event)) != 0) {
        json_decref(data);
        return NULL;
    }
    return data;
}

/* Serializes and publishes a broadcast once; counts what is not sent. */
void redis_publish(rnsp *n, const sio_bcast_target *t, const sio_adapter_packet *pkt) {
    redis_adapter *ra = n->ra;
    if (!ra->conn || !redis_conn_up(ra->conn)) { /* nothing is kept for later */
        ra->stats.publish_dropped++;
        return;
    }
    json_t *data = redis_packet_data(ra, pkt);
    const char *small[16];
    const char **except = small;
    size_t nexcept = t->nexcept + (t->skip ? 1 : 0);
    if (nexcept > 16 && !(except = malloc(nexcept * sizeof *except))) nexcept = 0, except = NULL;
    int r = data && except ? 0 : SIO_ENOMEM;
    if (r == 0) {
        for (size_t i = 0; i < t->nexcept; i++) except[i] = t->except[i];
        if (t->skip) except[t->nexcept] = sio_socket_id(t->skip);
        redis_wire_flags flags = {0};
        if (t->volatile_) flags.has |= REDIS_WIRE_FLAG_VOLATILE, flags.is_volatile = true;
        if (!t->compress) flags.has |= REDIS_WIRE_FLAG_COMPRESS, flags.compress = false;
        redis_wire_broadcast b = {
            .uid = n->uid,
            .nsp = sio_adapter_nsp_name(n->nsp),
            .data = data,
            .opts = {.rooms = {t->rooms, t->nrooms}, .except = {except, nexcept}, .flags = flags},
        };
        ra->out.len = 0;
        ra->channel.len = 0;
        r = redis_wire_broadcast_encode(&ra->out, &b);
        if (r == 0 && ra->out.len > ra->max_message_size) r = SIO_ETOOBIG;
        if (r == 0)
            r = redis_wire_broadcast_channel(&ra->channel, ra->key, b.nsp,
                                             t->nrooms == 1 ? t->rooms[0] : NULL);
        if (r == 0)
            r = redis_conn_publish(ra->conn, ra->channel.data, ra->channel.len, ra->out.data,
                                   ra->out.len);
    }
    if (except != small) free(except);
    json_decref(data);
    if (r == 0) {
        ra->stats.published++;
    } else {
        ra->stats.publish_dropped++;
        LOG_DEBUG("redis", "broadcast not published: %s", sio_strerror(r));
    }
}
