/* adapter/redis_wire.c - owns the channel names of the Redis adapter's
 * protocol (redis_wire.h), the broadcast message from bytes to a checked C
 * structure and back, and the field readers and MessagePack writers that the
 * requests and responses (redis_wire_request.c) share with it
 * (redis_wire_internal.h). The values go through redis_msgpack.c.
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

/* Parses the payload: JSON when sniffing finds '{' first, else MessagePack. */
int redis_wire_parse_payload(const void *msg, size_t len, size_t max_bytes, bool sniff,
                             json_t **root, bool *msgpack, const char **why) {
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
int redis_wire_as_name(const json_t *v, const char **out) {
    if (!json_is_string(v)) return SIO_EPROTO;
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) return SIO_EPROTO;
    *out = s;
    return 0;
}

/* An integer or an integral real (2.0 is 2 in JavaScript). */
bool redis_wire_as_int(const json_t *v, int64_t *out) {
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
json_t *redis_wire_member(const json_t *obj, const char *key) {
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

int redis_wire_rooms_add(redis_wire_room_lists *l, json_t *a, redis_wire_rooms *out) {
    l->lists[l->n] = a;
    l->outs[l->n++] = out;
    return 0;
}

int redis_wire_rooms_take(redis_wire_room_lists *l, const char ***storage, const char **why) {
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
        json_t *v = redis_wire_member(f, bools[i].key);
        if (!v) continue;
        if (!json_is_boolean(v)) return BAD("a flag that is not a boolean");
        out->has |= bools[i].bit;
        bool on = json_is_true(v);
        if (i == 0) out->is_volatile = on;
        if (i == 1) out->compress = on;
        if (i == 2) out->expect_single_response = on;
    }
    json_t *t = redis_wire_member(f, "timeout");
    if (t) {
        if (!json_is_number(t)) return BAD("flags.timeout is not a number");
        double d = json_number_value(t);
        out->has |= REDIS_WIRE_FLAG_TIMEOUT;
        out->timeout_ms = d <= 0 ? 0 : d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
    }
    return 0;
}

/* opts: {rooms, except[, flags]}; its room lists join l. */
int redis_wire_parse_opts(const json_t *o, redis_wire_opts *out, redis_wire_room_lists *l,
                          const char **why) {
    if (!json_is_object(o)) return BAD("opts is not a map");
    redis_wire_rooms_add(l, redis_wire_member(o, "rooms"), &out->rooms);
    redis_wire_rooms_add(l, redis_wire_member(o, "except"), &out->except);
    return parse_flags(redis_wire_member(o, "flags"), &out->flags, why);
}

/* packet: {type: 2, data: [event, ...], nsp}. */
int redis_wire_parse_packet(const json_t *p, const char **nsp, json_t **data, const char **why) {
    if (!json_is_object(p)) return BAD("packet is not a map");
    int64_t type;
    if (!redis_wire_as_int(json_object_get(p, "type"), &type) || type != 2)
        return BAD("packet.type is not 2 (EVENT)");
    json_t *d = json_object_get(p, "data");
    if (!json_is_array(d) || !json_array_size(d) || !json_is_string(json_array_get(d, 0)))
        return BAD("packet.data is not [event name, ...]");
    json_t *n = json_object_get(p, "nsp");
    *nsp = "/";
    if (n && redis_wire_as_name(n, nsp)) return BAD("packet.nsp is not a name");
    *data = d;
    return 0;
}

/* ---- broadcasts ---------------------------------------------------------------------- */

static int parse_broadcast(redis_wire_broadcast *b, const char **why) {
    const json_t *root = b->root_;
    if (!json_is_array(root) || json_array_size(root) < 3)
        return BAD("a broadcast that is not [uid, packet, opts]");
    if (redis_wire_as_name(json_array_get(root, 0), &b->uid))
        return BAD("the broadcast's uid is not a name");
    int r = redis_wire_parse_packet(json_array_get(root, 1), &b->nsp, &b->data, why);
    if (r) return r;
    redis_wire_room_lists l = {0};
    r = redis_wire_parse_opts(json_array_get(root, 2), &b->opts, &l, why);
    if (r) return r;
    return redis_wire_rooms_take(&l, &b->names_, why);
}

int redis_wire_broadcast_decode(redis_wire_broadcast *b, const void *msg, size_t len,
                                size_t max_bytes, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *b = (redis_wire_broadcast){0};
    bool mp;
    int r = redis_wire_parse_payload(msg, len, max_bytes, false, &b->root_, &mp, why);
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

int redis_wire_pk_str(msgpack_packer *pk, const char *s) {
    size_t n = strlen(s);
    return msgpack_pack_str(pk, n) || msgpack_pack_str_body(pk, s, n) ? SIO_ENOMEM : 0;
}

static int pk_rooms(msgpack_packer *pk, const redis_wire_rooms *r) {
    if (msgpack_pack_array(pk, r->len)) return SIO_ENOMEM;
    for (size_t i = 0; i < r->len; i++)
        if (redis_wire_pk_str(pk, r->names[i])) return SIO_ENOMEM;
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
        e = redis_wire_pk_str(pk, "volatile") ||
            (f->is_volatile ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    if (!e && (has & REDIS_WIRE_FLAG_COMPRESS))
        e = redis_wire_pk_str(pk, "compress") ||
            (f->compress ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    if (!e && (has & REDIS_WIRE_FLAG_TIMEOUT))
        e = redis_wire_pk_str(pk, "timeout") || msgpack_pack_uint64(pk, f->timeout_ms);
    if (!e && (has & REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE))
        e = redis_wire_pk_str(pk, "expectSingleResponse") ||
            (f->expect_single_response ? msgpack_pack_true(pk) : msgpack_pack_false(pk));
    return e ? SIO_ENOMEM : 0;
}

/* {type: 2, data, nsp} */
int redis_wire_pk_packet(msgpack_packer *pk, const char *nsp, const json_t *data) {
    if (msgpack_pack_map(pk, 3) || redis_wire_pk_str(pk, "type") || msgpack_pack_int(pk, 2) ||
        redis_wire_pk_str(pk, "data"))
        return SIO_ENOMEM;
    int r = redis_msgpack_pack(pk, data);
    if (r) return r;
    return redis_wire_pk_str(pk, "nsp") || redis_wire_pk_str(pk, nsp_of(nsp)) ? SIO_ENOMEM : 0;
}

/* {rooms, except, flags} */
int redis_wire_pk_opts(msgpack_packer *pk, const redis_wire_opts *o) {
    if (msgpack_pack_map(pk, 3) || redis_wire_pk_str(pk, "rooms") || pk_rooms(pk, &o->rooms) ||
        redis_wire_pk_str(pk, "except") || pk_rooms(pk, &o->except) ||
        redis_wire_pk_str(pk, "flags") || pk_flags(pk, &o->flags))
        return SIO_ENOMEM;
    return 0;
}

int redis_wire_broadcast_encode(util_buf *out, const redis_wire_broadcast *b) {
    if (!b->uid || !json_is_array(b->data)) return SIO_EINVAL;
    size_t mark = out->len;
    msgpack_packer pk;
    redis_msgpack_packer_init(&pk, out);
    int r = msgpack_pack_array(&pk, 3) || redis_wire_pk_str(&pk, b->uid) ? SIO_ENOMEM : 0;
    if (!r) r = redis_wire_pk_packet(&pk, b->nsp, b->data);
    if (!r) r = redis_wire_pk_opts(&pk, &b->opts);
    if (r) out->len = mark;
    return r;
}
