/* adapter/redis_wire_request.c - owns the request and response messages of
 * the Redis adapter's protocol (redis_wire.h) and the fetchSockets entries
 * they carry: JSON as Node's adapter writes it (MessagePack for the
 * broadcast-with-ack request and the client acks), from bytes to checked C
 * structures and back, with the field readers of redis_wire_internal.h.
 */
#include "adapter/redis_wire.h"
#include "adapter/redis_wire_internal.h"

#include "adapter/redis_msgpack.h"
#include "socketio.h" /* sio_blob_get, error codes */
#include "util/json_tree.h"
#include "util/strlit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing JSON -------------------------------------------------------------------- */

/* A blob as JSON.stringify writes a Buffer: {"type":"Buffer","data":[bytes]}. */
static int buffer_hook(util_buf *out, const json_t *v, void *ud) {
    const char *data;
    size_t len;
    if (!sio_blob_get(v, &data, &len)) return 0;
    if (util_buf_append(out, UTIL_LIT("{\"type\":\"Buffer\",\"data\":["))) return SIO_ENOMEM;
    for (size_t i = 0; i < len; i++)
        if (util_buf_printf(out, i ? ",%u" : "%u", (unsigned)(unsigned char)data[i]))
            return SIO_ENOMEM;
    return util_buf_append(out, "]}", 2) ? SIO_ENOMEM : 1;
}

/* Member setters for the objects built below; each returns 0 or SIO_ENOMEM
 * (o NULL, from a failed json_object(), fails them all). */
static int set_new(json_t *o, const char *key, json_t *v) {
    if (!o || !v) {
        json_decref(v);
        return SIO_ENOMEM;
    }
    return json_object_set_new(o, key, v) ? SIO_ENOMEM : 0; /* v is released on failure */
}

static int set_str(json_t *o, const char *key, const char *s) {
    return set_new(o, key, json_string_nocheck(s));
}

static json_t *rooms_json(const redis_wire_rooms *r) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < r->len; i++)
        if (json_array_append_new(a, json_string_nocheck(r->names[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* {rooms, except} (requests 2-5 carry no flags) */
static json_t *opts_json(const redis_wire_opts *o) {
    json_t *j = json_object();
    if (set_new(j, "rooms", rooms_json(&o->rooms)) ||
        set_new(j, "except", rooms_json(&o->except))) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Appends o as JSON and releases it. */
static int write_json(util_buf *out, json_t *o) {
    size_t mark = out->len;
    int r = o ? util_json_write(out, o, buffer_hook, NULL) : SIO_ENOMEM;
    json_decref(o);
    if (r) out->len = mark;
    return r;
}

/* ---- requests ------------------------------------------------------------------------ */

static int parse_request(redis_wire_request *q, const char **why) {
    json_t *o = q->root_;
    if (!json_is_object(o)) return BAD("a request that is not a map");
    int64_t type;
    if (!redis_wire_as_int(json_object_get(o, "type"), &type) || type < 0 || type > 7)
        return BAD("a request of no known type");
    q->type = (redis_wire_type)type;
    if (redis_wire_as_name(json_object_get(o, "uid"), &q->uid))
        return BAD("the request's uid is not a name");
    json_t *id = json_object_get(o, "requestId");
    if (id && redis_wire_as_name(id, &q->request_id)) return BAD("requestId is not a name");
    if (!q->request_id && (type == REDIS_WIRE_SOCKETS || type == REDIS_WIRE_ALL_ROOMS ||
                           type == REDIS_WIRE_REMOTE_FETCH || type == REDIS_WIRE_BROADCAST))
        return BAD("a request without its requestId");
    redis_wire_room_lists l = {0};
    json_t *opts = redis_wire_member(o, "opts");
    int r = 0;
    switch (q->type) {
    case REDIS_WIRE_SOCKETS:
        redis_wire_rooms_add(&l, redis_wire_member(o, "rooms"), &q->rooms);
        break;
    case REDIS_WIRE_REMOTE_JOIN:
    case REDIS_WIRE_REMOTE_LEAVE:
    case REDIS_WIRE_REMOTE_DISCONNECT:
        if (opts) {
            r = redis_wire_parse_opts(opts, &q->opts, &l, why);
            if (type != REDIS_WIRE_REMOTE_DISCONNECT) {
                json_t *rooms = json_object_get(o, "rooms");
                if (!r && !json_is_array(rooms)) return BAD("a remote join/leave without rooms");
                redis_wire_rooms_add(&l, rooms, &q->rooms);
            }
        } else if (redis_wire_as_name(json_object_get(o, "sid"), &q->sid)) {
            return BAD("a remote join/leave/disconnect with neither opts nor sid");
        } else if (type != REDIS_WIRE_REMOTE_DISCONNECT &&
                   redis_wire_as_name(json_object_get(o, "room"), &q->room)) {
            return BAD("a remote join/leave of one socket without its room");
        }
        if (!r && type == REDIS_WIRE_REMOTE_DISCONNECT) {
            json_t *c = redis_wire_member(o, "close");
            if (c && !json_is_boolean(c)) return BAD("close is not a boolean");
            q->close = json_is_true(c);
        }
        break;
    case REDIS_WIRE_REMOTE_FETCH:
        r = redis_wire_parse_opts(opts, &q->opts, &l, why);
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT: {
        json_t *d = json_object_get(o, "data");
        if (!json_is_array(d) || !json_array_size(d) || !json_is_string(json_array_get(d, 0)))
            return BAD("a server-side emit whose data is not [event name, ...]");
        q->data = d;
        break;
    }
    case REDIS_WIRE_BROADCAST:
        r = redis_wire_parse_packet(json_object_get(o, "packet"), &q->nsp, &q->data, why);
        if (!r) r = redis_wire_parse_opts(opts, &q->opts, &l, why);
        break;
    default: /* ALL_ROOMS */
        break;
    }
    if (r) return r;
    return redis_wire_rooms_take(&l, &q->names_, why);
}

int redis_wire_request_decode(redis_wire_request *q, const void *msg, size_t len, size_t max_bytes,
                              const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *q = (redis_wire_request){0};
    int r = redis_wire_parse_payload(msg, len, max_bytes, true, &q->root_, &q->msgpack, why);
    if (!r) r = parse_request(q, why);
    if (r) {
        if (r == SIO_ENOMEM) *why = "out of memory";
        redis_wire_request_free(q);
    }
    return r;
}

void redis_wire_request_free(redis_wire_request *q) {
    json_decref(q->root_);
    free(q->names_);
    *q = (redis_wire_request){0};
}

/* Type 7, in MessagePack: {uid, requestId, type, packet, opts}. */
static int encode_broadcast_request(util_buf *out, const redis_wire_request *q) {
    if (!q->request_id || !json_is_array(q->data)) return SIO_EINVAL;
    size_t mark = out->len;
    msgpack_packer pk;
    redis_msgpack_packer_init(&pk, out);
    int r = msgpack_pack_map(&pk, 5) || redis_wire_pk_str(&pk, "uid") ||
                    redis_wire_pk_str(&pk, q->uid) || redis_wire_pk_str(&pk, "requestId") ||
                    redis_wire_pk_str(&pk, q->request_id) || redis_wire_pk_str(&pk, "type") ||
                    msgpack_pack_int(&pk, REDIS_WIRE_BROADCAST) || redis_wire_pk_str(&pk, "packet")
                ? SIO_ENOMEM
                : 0;
    if (!r) r = redis_wire_pk_packet(&pk, q->nsp, q->data);
    if (!r) r = redis_wire_pk_str(&pk, "opts") ? SIO_ENOMEM : redis_wire_pk_opts(&pk, &q->opts);
    if (r) out->len = mark;
    return r;
}

int redis_wire_request_encode(util_buf *out, const redis_wire_request *q) {
    if (!q->uid || q->type > REDIS_WIRE_BROADCAST) return SIO_EINVAL;
    if (q->type == REDIS_WIRE_BROADCAST) return encode_broadcast_request(out, q);
    bool legacy =
        q->sid && q->type >= REDIS_WIRE_REMOTE_JOIN && q->type <= REDIS_WIRE_REMOTE_DISCONNECT;
    switch (q->type) {
    case REDIS_WIRE_SOCKETS:
    case REDIS_WIRE_ALL_ROOMS:
    case REDIS_WIRE_REMOTE_FETCH:
        if (!q->request_id) return SIO_EINVAL;
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT:
        if (!json_is_array(q->data)) return SIO_EINVAL;
        break;
    default:
        if (legacy && q->type != REDIS_WIRE_REMOTE_DISCONNECT && !q->room) return SIO_EINVAL;
        break;
    }
    /* the key orders of lib/index.ts */
    json_t *o = json_object();
    int r = set_str(o, "uid", q->uid);
    if (!r && q->request_id &&
        (legacy || q->type == REDIS_WIRE_SOCKETS || q->type == REDIS_WIRE_ALL_ROOMS ||
         q->type == REDIS_WIRE_REMOTE_FETCH || q->type == REDIS_WIRE_SERVER_SIDE_EMIT))
        r = set_str(o, "requestId", q->request_id);
    if (!r) r = set_new(o, "type", json_integer(q->type));
    if (!r && legacy) {
        r = set_str(o, "sid", q->sid);
        if (!r && q->type == REDIS_WIRE_REMOTE_DISCONNECT)
            r = set_new(o, "close", json_boolean(q->close));
        else if (!r)
            r = set_str(o, "room", q->room);
        return r ? (json_decref(o), r) : write_json(out, o);
    }
    switch (q->type) {
    case REDIS_WIRE_SOCKETS:
        if (!r) r = set_new(o, "rooms", rooms_json(&q->rooms));
        break;
    case REDIS_WIRE_REMOTE_JOIN:
    case REDIS_WIRE_REMOTE_LEAVE:
        if (!r) r = set_new(o, "opts", opts_json(&q->opts));
        if (!r) r = set_new(o, "rooms", rooms_json(&q->rooms));
        break;
    case REDIS_WIRE_REMOTE_DISCONNECT:
        if (!r) r = set_new(o, "opts", opts_json(&q->opts));
        if (!r) r = set_new(o, "close", json_boolean(q->close));
        break;
    case REDIS_WIRE_REMOTE_FETCH:
        if (!r) r = set_new(o, "opts", opts_json(&q->opts));
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT:
        if (!r) r = o && json_object_set(o, "data", q->data) == 0 ? 0 : SIO_ENOMEM;
        break;
    default:
        break;
    }
    if (r) {
        json_decref(o);
        return r;
    }
    return write_json(out, o);
}

/* ---- responses ----------------------------------------------------------------------- */

static int parse_response(redis_wire_response *s, const char **why) {
    json_t *o = s->root_;
    if (!json_is_object(o)) return BAD("a response that is not a map");
    if (redis_wire_as_name(json_object_get(o, "requestId"), &s->request_id))
        return BAD("a response without its requestId");
    s->type = -1;
    json_t *t = json_object_get(o, "type");
    if (t) {
        int64_t type;
        if (!redis_wire_as_int(t, &type) ||
            (type != REDIS_WIRE_SERVER_SIDE_EMIT && type != REDIS_WIRE_BROADCAST_CLIENT_COUNT &&
             type != REDIS_WIRE_BROADCAST_ACK))
            return BAD("a response of no known type");
        s->type = (int)type;
    }
    json_t *sockets = redis_wire_member(o, "sockets");
    if (sockets) {
        if (!json_is_array(sockets)) return BAD("sockets is not an array");
        for (size_t i = 0; i < json_array_size(sockets); i++) {
            json_t *e = json_array_get(sockets, i);
            if (!json_is_string(e) && !json_is_object(e))
                return BAD("a socket that is neither an id nor an entry");
        }
        s->sockets = sockets;
    }
    redis_wire_room_lists l = {0};
    json_t *rooms = redis_wire_member(o, "rooms");
    if (rooms) {
        s->has_rooms = true;
        redis_wire_rooms_add(&l, rooms, &s->rooms);
    }
    json_t *d = json_object_get(o, "data");
    s->data = d ? d : json_null();
    json_t *p = json_object_get(o, "packet");
    s->packet = p ? p : json_null();
    if (s->type == REDIS_WIRE_BROADCAST_CLIENT_COUNT) {
        int64_t n;
        if (!redis_wire_as_int(json_object_get(o, "clientCount"), &n) || n < 0)
            return BAD("clientCount is not a count");
        s->client_count = (uint64_t)n;
    }
    return redis_wire_rooms_take(&l, &s->names_, why);
}

int redis_wire_response_decode(redis_wire_response *s, const void *msg, size_t len,
                               size_t max_bytes, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *s = (redis_wire_response){0};
    int r = redis_wire_parse_payload(msg, len, max_bytes, true, &s->root_, &s->msgpack, why);
    if (!r) r = parse_response(s, why);
    if (r) {
        if (r == SIO_ENOMEM) *why = "out of memory";
        redis_wire_response_free(s);
    }
    return r;
}

void redis_wire_response_free(redis_wire_response *s) {
    json_decref(s->root_);
    free(s->names_);
    *s = (redis_wire_response){0};
}

int redis_wire_response_encode(util_buf *out, const redis_wire_response *s) {
    if (!s->request_id) return SIO_EINVAL;
    const json_t *null = json_null();
    if (s->type == REDIS_WIRE_BROADCAST_ACK) { /* MessagePack {type, requestId, packet} */
        size_t mark = out->len;
        msgpack_packer pk;
        redis_msgpack_packer_init(&pk, out);
        int r = msgpack_pack_map(&pk, 3) || redis_wire_pk_str(&pk, "type") ||
                        msgpack_pack_int(&pk, REDIS_WIRE_BROADCAST_ACK) ||
                        redis_wire_pk_str(&pk, "requestId") ||
                        redis_wire_pk_str(&pk, s->request_id) || redis_wire_pk_str(&pk, "packet")
                    ? SIO_ENOMEM
                    : 0;
        if (!r) r = redis_msgpack_pack(&pk, s->packet ? s->packet : null);
        if (r) out->len = mark;
        return r;
    }
    json_t *o = json_object();
    int r = 0;
    switch (s->type) {
    case -1: /* {requestId[, sockets | rooms]} */
        r = set_str(o, "requestId", s->request_id);
        if (!r && s->sockets)
            r = json_object_set(o, "sockets", s->sockets) ? SIO_ENOMEM : 0;
        else if (!r && s->has_rooms)
            r = set_new(o, "rooms", rooms_json(&s->rooms));
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT:       /* {type, requestId, data} */
    case REDIS_WIRE_BROADCAST_CLIENT_COUNT: /* {type, requestId, clientCount} */
        r = set_new(o, "type", json_integer(s->type));
        if (!r) r = set_str(o, "requestId", s->request_id);
        if (!r && s->type == REDIS_WIRE_SERVER_SIDE_EMIT)
            r = json_object_set(o, "data", s->data ? s->data : json_null()) ? SIO_ENOMEM : 0;
        else if (!r)
            r = set_new(o, "clientCount", json_integer((json_int_t)s->client_count));
        break;
    default:
        r = SIO_EINVAL;
        break;
    }
    if (r) {
        json_decref(o);
        return r;
    }
    return write_json(out, o);
}

/* ---- fetchSockets entries ------------------------------------------------------------ */

static int opt_object(const json_t *h, const char *key, json_t **out) {
    json_t *v = redis_wire_member(h, key);
    if (v && !json_is_object(v)) return SIO_EPROTO;
    *out = v;
    return 0;
}

static int opt_name(const json_t *h, const char *key, const char **out) {
    json_t *v = redis_wire_member(h, key);
    *out = NULL;
    return v ? redis_wire_as_name(v, out) : 0;
}

static int opt_bool(const json_t *h, const char *key, bool *out) {
    json_t *v = redis_wire_member(h, key);
    if (v && !json_is_boolean(v)) return SIO_EPROTO;
    *out = json_is_true(v);
    return 0;
}

int redis_wire_socket_decode(redis_wire_socket *s, const json_t *entry, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *s = (redis_wire_socket){0};
    if (!json_is_object(entry)) return BAD("a socket entry that is not an object");
    if (redis_wire_as_name(json_object_get(entry, "id"), &s->id))
        return BAD("a socket entry without its id");
    json_t *h = redis_wire_member(entry, "handshake");
    if (h) {
        redis_wire_handshake *hs = &s->handshake;
        if (!json_is_object(h)) return BAD("handshake is not an object");
        int64_t issued = 0;
        json_t *iv = redis_wire_member(h, "issued");
        if (opt_object(h, "headers", &hs->headers) || opt_name(h, "time", &hs->time) ||
            opt_name(h, "address", &hs->address) || opt_bool(h, "xdomain", &hs->xdomain) ||
            opt_bool(h, "secure", &hs->secure) || (iv && !redis_wire_as_int(iv, &issued)) ||
            opt_name(h, "url", &hs->url) || opt_object(h, "query", &hs->query) ||
            opt_object(h, "auth", &hs->auth))
            return BAD("a handshake field of the wrong type");
        hs->issued = issued;
    }
    json_t *rooms = json_object_get(entry, "rooms");
    if (!json_is_array(rooms)) return BAD("a socket entry without its rooms");
    /* the entry is const to the caller; its room names that are numbers are
     * read in place when they are strings already, else refused */
    size_t n = json_array_size(rooms);
    if (n) {
        s->names_ = calloc(n, sizeof *s->names_);
        if (!s->names_) return SIO_ENOMEM;
        for (size_t i = 0; i < n; i++)
            if (redis_wire_as_name(json_array_get(rooms, i), &s->names_[i])) {
                redis_wire_socket_free(s);
                return BAD("a socket entry's room that is not a name");
            }
    }
    s->rooms = (redis_wire_rooms){s->names_, n};
    json_t *d = json_object_get(entry, "data");
    s->data = d ? d : json_null();
    return 0;
}

void redis_wire_socket_free(redis_wire_socket *s) {
    free(s->names_);
    *s = (redis_wire_socket){0};
}

static int set_obj(json_t *o, const char *key, json_t *v) {
    return v ? (o && json_object_set(o, key, v) == 0 ? 0 : SIO_ENOMEM)
             : set_new(o, key, json_object());
}

json_t *redis_wire_socket_new(const redis_wire_socket *s) {
    const redis_wire_handshake *h = &s->handshake;
    json_t *hs = json_object();
    int r = set_obj(hs, "headers", h->headers);
    if (!r) r = set_str(hs, "time", h->time ? h->time : "");
    if (!r) r = set_str(hs, "address", h->address ? h->address : "");
    if (!r) r = set_new(hs, "xdomain", json_boolean(h->xdomain));
    if (!r) r = set_new(hs, "secure", json_boolean(h->secure));
    if (!r) r = set_new(hs, "issued", json_integer(h->issued));
    if (!r) r = set_str(hs, "url", h->url ? h->url : "");
    if (!r) r = set_obj(hs, "query", h->query);
    if (!r) r = set_obj(hs, "auth", h->auth);
    json_t *e = r ? NULL : json_object();
    if (!r) r = set_str(e, "id", s->id ? s->id : "");
    if (!r) {
        r = set_new(e, "handshake", hs);
        hs = NULL;
    }
    if (!r) r = set_new(e, "rooms", rooms_json(&s->rooms));
    if (!r) r = json_object_set(e, "data", s->data ? s->data : json_null()) ? SIO_ENOMEM : 0;
    json_decref(hs);
    if (r) {
        json_decref(e);
        return NULL;
    }
    return e;
}
