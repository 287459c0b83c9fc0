/* adapter/redis_wire.c - owns the channel names and the message layouts of
 * the Redis adapter's protocol (redis_wire.h): broadcasts, requests,
 * responses and fetchSockets entries, from bytes to checked C structures and
 * back. The values inside them go through redis_msgpack.c or util/json_tree.
 */
#include "adapter/redis_wire.h"

#include "adapter/redis_msgpack.h"
#include "socketio.h" /* sio_blob_get, error codes */
#include "util/json_tree.h"
#include "util/strlit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- channels ------------------------------------------------------------------------ */

static const char *key_of(const char *key) {
    return key ? key : REDIS_WIRE_DEFAULT_KEY;
}

static const char *nsp_of(const char *nsp) {
    return nsp ? nsp : "/";
}

/* Appends KEY SUFFIX # NSP # */
static int channel_head(util_buf *out, const char *key, const char *suffix, const char *nsp) {
    if (util_buf_append_str(out, key_of(key)) || util_buf_append_str(out, suffix) ||
        util_buf_append(out, "#", 1) || util_buf_append_str(out, nsp_of(nsp)) ||
        util_buf_append(out, "#", 1))
        return SIO_ENOMEM;
    return 0;
}

int redis_wire_broadcast_channel(util_buf *out, const char *key, const char *nsp,
                                 const char *room) {
    if (channel_head(out, key, "", nsp)) return SIO_ENOMEM;
    if (room && (util_buf_append_str(out, room) || util_buf_append(out, "#", 1))) return SIO_ENOMEM;
    return 0;
}

int redis_wire_broadcast_pattern(util_buf *out, const char *key, const char *nsp) {
    if (channel_head(out, key, "", nsp) || util_buf_append(out, "*", 1)) return SIO_ENOMEM;
    return 0;
}

int redis_wire_request_channel(util_buf *out, const char *key, const char *nsp) {
    return channel_head(out, key, "-request", nsp);
}

int redis_wire_response_channel(util_buf *out, const char *key, const char *nsp, const char *uid) {
    if (channel_head(out, key, "-response", nsp)) return SIO_ENOMEM;
    if (uid && (util_buf_append_str(out, uid) || util_buf_append(out, "#", 1))) return SIO_ENOMEM;
    return 0;
}

/* Whether s[0, len) starts with KEY SUFFIX # NSP #; *rest gets what follows. */
static bool has_head(const char *s, size_t len, const char *key, const char *suffix,
                     const char *nsp, size_t *rest) {
    size_t kl = strlen(key), sl = strlen(suffix), nl = strlen(nsp);
    size_t hl = kl + sl + nl + 2;
    if (len < hl || memcmp(s, key, kl) || memcmp(s + kl, suffix, sl) || s[kl + sl] != '#' ||
        memcmp(s + kl + sl + 1, nsp, nl) || s[hl - 1] != '#')
        return false;
    *rest = hl;
    return true;
}

redis_wire_channel_kind redis_wire_channel_parse(const char *channel, size_t len, const char *key,
                                                 const char *nsp, const char **room,
                                                 size_t *room_len) {
    key = key_of(key);
    nsp = nsp_of(nsp);
    size_t at;
    if (has_head(channel, len, key, "-response", nsp, &at)) return REDIS_WIRE_CHANNEL_RESPONSE;
    if (has_head(channel, len, key, "-request", nsp, &at)) return REDIS_WIRE_CHANNEL_REQUEST;
    if (!has_head(channel, len, key, "", nsp, &at)) return REDIS_WIRE_CHANNEL_OTHER;
    size_t rl = 0;
    if (at < len) {
        if (channel[len - 1] != '#') return REDIS_WIRE_CHANNEL_OTHER;
        rl = len - at - 1;
    }
    if (room) *room = channel + at;
    if (room_len) *room_len = rl;
    return REDIS_WIRE_CHANNEL_BROADCAST;
}

/* ---- reading fields ------------------------------------------------------------------ */

#define BAD(text) (*why = (text), SIO_EPROTO)

/* Parses the payload: JSON when sniffing finds '{' first, else MessagePack. */
static int parse_payload(const void *msg, size_t len, size_t max_bytes, bool sniff, json_t **root,
                         bool *msgpack, const char **why) {
    if (max_bytes && len > max_bytes) {
        *why = "message over the size limit";
        return SIO_ETOOBIG;
    }
    if (sniff && len && *(const char *)msg == '{') {
        *msgpack = false;
        *root = util_json_parse(msg, len, NULL, NULL);
        return *root ? 0 : BAD("malformed JSON");
    }
    *msgpack = true;
    return redis_msgpack_decode(msg, len, root, why);
}

/* A name: a string without a NUL byte. */
static int as_name(const json_t *v, const char **out) {
    if (!json_is_string(v)) return SIO_EPROTO;
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) return SIO_EPROTO;
    *out = s;
    return 0;
}

/* An integer or an integral real (2.0 is 2 in JavaScript). */
static bool as_int(const json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (floor(d) != d || d < -9.2e18 || d > 9.2e18) return false;
        *out = (int64_t)d;
        return true;
    }
    return false;
}

/* The member `key` of obj when there and not null, else NULL. */
static json_t *member(const json_t *obj, const char *key) {
    json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

/* Room lists: an array of strings and numbers (null: empty). Numbers are
 * replaced, in the decoded tree, by their JavaScript text. */
static int check_rooms(json_t *a, size_t *count) {
    if (!a) return 0;
    if (!json_is_array(a)) return SIO_EPROTO;
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *v = json_array_get(a, i);
        if (json_is_number(v)) {
            util_buf t = UTIL_BUF_INIT;
            int r = json_is_integer(v)
                        ? util_buf_printf(&t, "%" JSON_INTEGER_FORMAT, json_integer_value(v))
                        : util_json_write_real(&t, json_real_value(v));
            json_t *s = r ? NULL : json_stringn_nocheck(t.data, t.len);
            util_buf_free(&t);
            if (!s || json_array_set_new(a, i, s)) return SIO_ENOMEM;
        } else if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
            return SIO_EPROTO;
        }
    }
    *count += json_array_size(a);
    return 0;
}

/* Points out->names at slots taken from *names (filled after check_rooms). */
static void take_rooms(const json_t *a, const char ***names, redis_wire_rooms *out) {
    out->names = *names;
    out->len = a ? json_array_size(a) : 0;
    for (size_t i = 0; i < out->len; i++) (*names)[i] = json_string_value(json_array_get(a, i));
    *names += out->len;
}

/* Room lists of one message: checked, then one block of name pointers. */
typedef struct room_lists {
    json_t *lists[3];
    redis_wire_rooms *outs[3];
    size_t n;
} room_lists;

static int rooms_add(room_lists *l, json_t *a, redis_wire_rooms *out) {
    l->lists[l->n] = a;
    l->outs[l->n++] = out;
    return 0;
}

static int rooms_take(room_lists *l, const char ***storage, const char **why) {
    size_t total = 0;
    for (size_t i = 0; i < l->n; i++) {
        int r = check_rooms(l->lists[i], &total);
        if (r == SIO_EPROTO) return BAD("a room list that is not an array of names");
        if (r) return r;
    }
    *storage = NULL;
    if (!total) {
        for (size_t i = 0; i < l->n; i++) *l->outs[i] = (redis_wire_rooms){NULL, 0};
        return 0;
    }
    const char **names = calloc(total, sizeof *names);
    if (!names) return SIO_ENOMEM;
    *storage = names;
    for (size_t i = 0; i < l->n; i++) take_rooms(l->lists[i], &names, l->outs[i]);
    return 0;
}

static int parse_flags(const json_t *f, redis_wire_flags *out, const char **why) {
    *out = (redis_wire_flags){0};
    if (!f) return 0;
    if (!json_is_object(f)) return BAD("flags is not a map");
    static const struct {
        const char *key;
        unsigned bit;
    } bools[] = {{"volatile", REDIS_WIRE_FLAG_VOLATILE},
                 {"compress", REDIS_WIRE_FLAG_COMPRESS},
                 {"expectSingleResponse", REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        json_t *v = member(f, bools[i].key);
        if (!v) continue;
        if (!json_is_boolean(v)) return BAD("a flag that is not a boolean");
        out->has |= bools[i].bit;
        bool on = json_is_true(v);
        if (i == 0) out->is_volatile = on;
        if (i == 1) out->compress = on;
        if (i == 2) out->expect_single_response = on;
    }
    json_t *t = member(f, "timeout");
    if (t) {
        if (!json_is_number(t)) return BAD("flags.timeout is not a number");
        double d = json_number_value(t);
        out->has |= REDIS_WIRE_FLAG_TIMEOUT;
        out->timeout_ms = d <= 0 ? 0 : d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
    }
    return 0;
}

/* opts: {rooms, except[, flags]}; its room lists join l. */
static int parse_opts(const json_t *o, redis_wire_opts *out, room_lists *l, const char **why) {
    if (!json_is_object(o)) return BAD("opts is not a map");
    rooms_add(l, member(o, "rooms"), &out->rooms);
    rooms_add(l, member(o, "except"), &out->except);
    return parse_flags(member(o, "flags"), &out->flags, why);
}

/* packet: {type: 2, data: [event, ...], nsp}. */
static int parse_packet(const json_t *p, const char **nsp, json_t **data, const char **why) {
    if (!json_is_object(p)) return BAD("packet is not a map");
    int64_t type;
    if (!as_int(json_object_get(p, "type"), &type) || type != 2)
        return BAD("packet.type is not 2 (EVENT)");
    json_t *d = json_object_get(p, "data");
    if (!json_is_array(d) || !json_array_size(d) || !json_is_string(json_array_get(d, 0)))
        return BAD("packet.data is not [event name, ...]");
    json_t *n = json_object_get(p, "nsp");
    *nsp = "/";
    if (n && as_name(n, nsp)) return BAD("packet.nsp is not a name");
    *data = d;
    return 0;
}

/* ---- broadcasts ---------------------------------------------------------------------- */

static int parse_broadcast(redis_wire_broadcast *b, const char **why) {
    const json_t *root = b->root_;
    if (!json_is_array(root) || json_array_size(root) < 3)
        return BAD("a broadcast that is not [uid, packet, opts]");
    if (as_name(json_array_get(root, 0), &b->uid)) return BAD("the broadcast's uid is not a name");
    int r = parse_packet(json_array_get(root, 1), &b->nsp, &b->data, why);
    if (r) return r;
    room_lists l = {0};
    r = parse_opts(json_array_get(root, 2), &b->opts, &l, why);
    if (r) return r;
    return rooms_take(&l, &b->names_, why);
}

int redis_wire_broadcast_decode(redis_wire_broadcast *b, const void *msg, size_t len,
                                size_t max_bytes, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *b = (redis_wire_broadcast){0};
    bool mp;
    int r = parse_payload(msg, len, max_bytes, false, &b->root_, &mp, why);
    if (!r) r = parse_broadcast(b, why);
    if (r) {
        if (r == SIO_ENOMEM) *why = "out of memory";
        redis_wire_broadcast_free(b);
    }
    return r;
}

void redis_wire_broadcast_free(redis_wire_broadcast *b) {
    json_decref(b->root_);
    free(b->names_);
    *b = (redis_wire_broadcast){0};
}

/* ---- writing MessagePack ------------------------------------------------------------- */

static int pk_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? SIO_ENOMEM : 0;
}

static int pk_rooms(msgpack_packer *pk, const redis_wire_rooms *r) {
    if (msgpack_pack_array(pk, r->len)) return SIO_ENOMEM;
    for (size_t i = 0; i < r->len; i++)
        if (pk_str(pk, r->names[i])) return SIO_ENOMEM;
    return 0;
}

static unsigned flag_count(unsigned has) {
    unsigned n = 0;
    for (; has; has &= has - 1) n++;
    return n;
}

static int pk_flags(msgpack_packer *pk, const redis_wire_flags *f) {
    unsigned has = f->has & (REDIS_WIRE_FLAG_VOLATILE | REDIS_WIRE_FLAG_COMPRESS |
                             REDIS_WIRE_FLAG_TIMEOUT | REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE);
    int e = msgpack_pack_map(pk, flag_count(has));
    if (!e && (has & REDIS_WIRE_FLAG_VOLATILE))
        e = pk_str(pk, "volatile") ||
            (f->is_volatile ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    if (!e && (has & REDIS_WIRE_FLAG_COMPRESS))
        e = pk_str(pk, "compress") ||
            (f->compress ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    if (!e && (has & REDIS_WIRE_FLAG_TIMEOUT))
        e = pk_str(pk, "timeout") || msgpack_pack_uint64(pk, f->timeout_ms);
    if (!e && (has & REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE))
        e = pk_str(pk, "expectSingleResponse") ||
            (f->expect_single_response ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    return e ? SIO_ENOMEM : 0;
}

/* {type: 2, data, nsp} */
static int pk_packet(msgpack_packer *pk, const char *nsp, const json_t *data) {
    if (msgpack_pack_map(pk, 3) || pk_str(pk, "type") || msgpack_pack_int(pk, 2) ||
        pk_str(pk, "data"))
        return SIO_ENOMEM;
    int r = redis_msgpack_pack(pk, data);
    if (r) return r;
    return pk_str(pk, "nsp") || pk_str(pk, nsp_of(nsp)) ? SIO_ENOMEM : 0;
}

/* {rooms, except, flags} */
static int pk_opts(msgpack_packer *pk, const redis_wire_opts *o) {
    if (msgpack_pack_map(pk, 3) || pk_str(pk, "rooms") || pk_rooms(pk, &o->rooms) ||
        pk_str(pk, "except") || pk_rooms(pk, &o->except) || pk_str(pk, "flags") ||
        pk_flags(pk, &o->flags))
        return SIO_ENOMEM;
    return 0;
}

int redis_wire_broadcast_encode(util_buf *out, const redis_wire_broadcast *b) {
    if (!b->uid || !json_is_array(b->data)) return SIO_EINVAL;
    size_t mark = out->len;
    msgpack_packer pk;
    redis_msgpack_packer_init(&pk, out);
    int r = msgpack_pack_array(&pk, 3) || pk_str(&pk, b->uid) ? SIO_ENOMEM : 0;
    if (!r) r = pk_packet(&pk, b->nsp, b->data);
    if (!r) r = pk_opts(&pk, &b->opts);
    if (r) out->len = mark;
    return r;
}

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
    if (!as_int(json_object_get(o, "type"), &type) || type < 0 || type > 7)
        return BAD("a request of no known type");
    q->type = (redis_wire_type)type;
    if (as_name(json_object_get(o, "uid"), &q->uid)) return BAD("the request's uid is not a name");
    json_t *id = json_object_get(o, "requestId");
    if (id && as_name(id, &q->request_id)) return BAD("requestId is not a name");
    if (!q->request_id && (type == REDIS_WIRE_SOCKETS || type == REDIS_WIRE_ALL_ROOMS ||
                           type == REDIS_WIRE_REMOTE_FETCH || type == REDIS_WIRE_BROADCAST))
        return BAD("a request without its requestId");
    room_lists l = {0};
    json_t *opts = member(o, "opts");
    int r = 0;
    switch (q->type) {
    case REDIS_WIRE_SOCKETS:
        rooms_add(&l, member(o, "rooms"), &q->rooms);
        break;
    case REDIS_WIRE_REMOTE_JOIN:
    case REDIS_WIRE_REMOTE_LEAVE:
    case REDIS_WIRE_REMOTE_DISCONNECT:
        if (opts) {
            r = parse_opts(opts, &q->opts, &l, why);
            if (type != REDIS_WIRE_REMOTE_DISCONNECT) {
                json_t *rooms = json_object_get(o, "rooms");
                if (!r && !json_is_array(rooms)) return BAD("a remote join/leave without rooms");
                rooms_add(&l, rooms, &q->rooms);
            }
        } else if (as_name(json_object_get(o, "sid"), &q->sid)) {
            return BAD("a remote join/leave/disconnect with neither opts nor sid");
        } else if (type != REDIS_WIRE_REMOTE_DISCONNECT &&
                   as_name(json_object_get(o, "room"), &q->room)) {
            return BAD("a remote join/leave of one socket without its room");
        }
        if (!r && type == REDIS_WIRE_REMOTE_DISCONNECT) {
            json_t *c = member(o, "close");
            if (c && !json_is_boolean(c)) return BAD("close is not a boolean");
            q->close = json_is_true(c);
        }
        break;
    case REDIS_WIRE_REMOTE_FETCH:
        r = parse_opts(opts, &q->opts, &l, why);
        break;
    case REDIS_WIRE_SERVER_SIDE_EMIT: {
        json_t *d = json_object_get(o, "data");
        if (!json_is_array(d) || !json_array_size(d) || !json_is_string(json_array_get(d, 0)))
            return BAD("a server-side emit whose data is not [event name, ...]");
        q->data = d;
        break;
    }
    case REDIS_WIRE_BROADCAST:
        r = parse_packet(json_object_get(o, "packet"), &q->nsp, &q->data, why);
        if (!r) r = parse_opts(opts, &q->opts, &l, why);
        break;
    default: /* ALL_ROOMS */
        break;
    }
    if (r) return r;
    return rooms_take(&l, &q->names_, why);
}

int redis_wire_request_decode(redis_wire_request *q, const void *msg, size_t len, size_t max_bytes,
                              const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *q = (redis_wire_request){0};
    int r = parse_payload(msg, len, max_bytes, true, &q->root_, &q->msgpack, why);
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
    int r = msgpack_pack_map(&pk, 5) || pk_str(&pk, "uid") || pk_str(&pk, q->uid) ||
                    pk_str(&pk, "requestId") || pk_str(&pk, q->request_id) || pk_str(&pk, "type") ||
                    msgpack_pack_int(&pk, REDIS_WIRE_BROADCAST) || pk_str(&pk, "packet")
                ? SIO_ENOMEM
                : 0;
    if (!r) r = pk_packet(&pk, q->nsp, q->data);
    if (!r) r = pk_str(&pk, "opts") ? SIO_ENOMEM : pk_opts(&pk, &q->opts);
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
    if (as_name(json_object_get(o, "requestId"), &s->request_id))
        return BAD("a response without its requestId");
    s->type = -1;
    json_t *t = json_object_get(o, "type");
    if (t) {
        int64_t type;
        if (!as_int(t, &type) ||
            (type != REDIS_WIRE_SERVER_SIDE_EMIT && type != REDIS_WIRE_BROADCAST_CLIENT_COUNT &&
             type != REDIS_WIRE_BROADCAST_ACK))
            return BAD("a response of no known type");
        s->type = (int)type;
    }
    json_t *sockets = member(o, "sockets");
    if (sockets) {
        if (!json_is_array(sockets)) return BAD("sockets is not an array");
        for (size_t i = 0; i < json_array_size(sockets); i++) {
            json_t *e = json_array_get(sockets, i);
            if (!json_is_string(e) && !json_is_object(e))
                return BAD("a socket that is neither an id nor an entry");
        }
        s->sockets = sockets;
    }
    room_lists l = {0};
    json_t *rooms = member(o, "rooms");
    if (rooms) {
        s->has_rooms = true;
        rooms_add(&l, rooms, &s->rooms);
    }
    json_t *d = json_object_get(o, "data");
    s->data = d ? d : json_null();
    json_t *p = json_object_get(o, "packet");
    s->packet = p ? p : json_null();
    if (s->type == REDIS_WIRE_BROADCAST_CLIENT_COUNT) {
        int64_t n;
        if (!as_int(json_object_get(o, "clientCount"), &n) || n < 0)
            return BAD("clientCount is not a count");
        s->client_count = (uint64_t)n;
    }
    return rooms_take(&l, &s->names_, why);
}

int redis_wire_response_decode(redis_wire_response *s, const void *msg, size_t len,
                               size_t max_bytes, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *s = (redis_wire_response){0};
    int r = parse_payload(msg, len, max_bytes, true, &s->root_, &s->msgpack, why);
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
        int r = msgpack_pack_map(&pk, 3) || pk_str(&pk, "type") ||
                        msgpack_pack_int(&pk, REDIS_WIRE_BROADCAST_ACK) ||
                        pk_str(&pk, "requestId") || pk_str(&pk, s->request_id) ||
                        pk_str(&pk, "packet")
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
    json_t *v = member(h, key);
    if (v && !json_is_object(v)) return SIO_EPROTO;
    *out = v;
    return 0;
}

static int opt_name(const json_t *h, const char *key, const char **out) {
    json_t *v = member(h, key);
    *out = NULL;
    return v ? as_name(v, out) : 0;
}

static int opt_bool(const json_t *h, const char *key, bool *out) {
    json_t *v = member(h, key);
    if (v && !json_is_boolean(v)) return SIO_EPROTO;
    *out = json_is_true(v);
    return 0;
}

int redis_wire_socket_decode(redis_wire_socket *s, const json_t *entry, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *s = (redis_wire_socket){0};
    if (!json_is_object(entry)) return BAD("a socket entry that is not an object");
    if (as_name(json_object_get(entry, "id"), &s->id)) return BAD("a socket entry without its id");
    json_t *h = member(entry, "handshake");
    if (h) {
        redis_wire_handshake *hs = &s->handshake;
        if (!json_is_object(h)) return BAD("handshake is not an object");
        int64_t issued = 0;
        json_t *iv = member(h, "issued");
        if (opt_object(h, "headers", &hs->headers) || opt_name(h, "time", &hs->time) ||
            opt_name(h, "address", &hs->address) || opt_bool(h, "xdomain", &hs->xdomain) ||
            opt_bool(h, "secure", &hs->secure) || (iv && !as_int(iv, &issued)) ||
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
            if (as_name(json_array_get(rooms, i), &s->names_[i])) {
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
