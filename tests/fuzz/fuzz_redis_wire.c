/* Fuzz harness for src/adapter/redis_wire and redis_msgpack (the Redis
 * adapter's messages, and the MessagePack reader under them).
 *
 * The input is one payload as it could arrive on any channel. It is decoded
 * as a broadcast, a request and a response, and as a bare MessagePack value.
 * Whatever decodes is encoded again, that encoding must decode, and encoding
 * the second decode must give the same bytes as the first encoding (the
 * first decode may normalize: numbers that are rooms become text, integral
 * floats integers, binary inside JSON the Buffer form). The fields that
 * name things (uid, requestId, type, namespace, room counts) must agree
 * between the two decodes. fetchSockets entries in a response are read,
 * rebuilt and read again. The input is also parsed as a channel name.
 */
#include "adapter/redis_msgpack.h"
#include "adapter/redis_wire.h"
#include "socketio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const util_buf *a, const util_buf *b) {
    fprintf(stderr, "fuzz_redis_wire: %s\n", what);
    for (int k = 0; k < 2; k++) {
        const util_buf *x = k ? b : a;
        if (!x) continue;
        fprintf(stderr, "  ");
        for (size_t i = 0; i < x->len; i++) fprintf(stderr, "%02x", (unsigned char)x->data[i]);
        fprintf(stderr, "\n");
    }
    abort();
}

static bool same_bytes(const util_buf *a, const util_buf *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool same_name(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_rooms(const redis_wire_rooms *a, const redis_wire_rooms *b) {
    if (a->len != b->len) return false;
    for (size_t i = 0; i < a->len; i++)
        if (strcmp(a->names[i], b->names[i])) return false;
    return true;
}

static void check_broadcast(const uint8_t *data, size_t size) {
    redis_wire_broadcast a, b;
    if (redis_wire_broadcast_decode(&a, data, size, 0, NULL)) return;
    util_buf y = UTIL_BUF_INIT, z = UTIL_BUF_INIT;
    int r = redis_wire_broadcast_encode(&y, &a);
    if (r == SIO_EINVAL || r == SIO_ETOOBIG) goto done; /* deeper than the writer goes */
    if (r) die("broadcast does not encode", NULL, NULL);
    if (redis_wire_broadcast_decode(&b, y.data, y.len, 0, NULL))
        die("re-encoded broadcast does not decode", &y, NULL);
    if (strcmp(a.uid, b.uid) || strcmp(a.nsp, b.nsp) || !same_rooms(&a.opts.rooms, &b.opts.rooms) ||
        !same_rooms(&a.opts.except, &b.opts.except) || a.opts.flags.has != b.opts.flags.has ||
        json_array_size(a.data) != json_array_size(b.data))
        die("broadcast fields differ", &y, NULL);
    if (redis_wire_broadcast_encode(&z, &b)) die("broadcast does not encode twice", &y, NULL);
    if (!same_bytes(&y, &z)) die("broadcast encodings differ", &y, &z);
    redis_wire_broadcast_free(&b);
done:
    redis_wire_broadcast_free(&a);
    util_buf_free(&y);
    util_buf_free(&z);
}

static void check_request(const uint8_t *data, size_t size) {
    redis_wire_request a, b;
    if (redis_wire_request_decode(&a, data, size, 0, NULL)) return;
    util_buf y = UTIL_BUF_INIT, z = UTIL_BUF_INIT;
    int r = redis_wire_request_encode(&y, &a);
    if (r == SIO_EINVAL || r == SIO_ETOOBIG) goto done;
    if (r) die("request does not encode", NULL, NULL);
    if (redis_wire_request_decode(&b, y.data, y.len, 0, NULL))
        die("re-encoded request does not decode", &y, NULL);
    /* a requestId beside opts in 2-4 is not written (Node sends none there) */
    bool by_opts =
        !a.sid && a.type >= REDIS_WIRE_REMOTE_JOIN && a.type <= REDIS_WIRE_REMOTE_DISCONNECT;
    if (a.type != b.type || strcmp(a.uid, b.uid) ||
        (!by_opts && !same_name(a.request_id, b.request_id)) || !same_name(a.sid, b.sid) ||
        !same_name(a.room, b.room) || a.close != b.close || !same_rooms(&a.rooms, &b.rooms) ||
        !same_rooms(&a.opts.rooms, &b.opts.rooms) || !same_rooms(&a.opts.except, &b.opts.except))
        die("request fields differ", &y, NULL);
    if (redis_wire_request_encode(&z, &b)) die("request does not encode twice", &y, NULL);
    if (!same_bytes(&y, &z)) die("request encodings differ", &y, &z);
    redis_wire_request_free(&b);
done:
    redis_wire_request_free(&a);
    util_buf_free(&y);
    util_buf_free(&z);
}

static void check_entries(const json_t *sockets) {
    for (size_t i = 0; i < json_array_size(sockets); i++) {
        redis_wire_socket s, t;
        if (redis_wire_socket_decode(&s, json_array_get(sockets, i), NULL)) continue;
        json_t *e = redis_wire_socket_new(&s);
        if (!e) die("entry does not rebuild", NULL, NULL);
        if (redis_wire_socket_decode(&t, e, NULL)) die("rebuilt entry does not decode", NULL, NULL);
        if (strcmp(s.id, t.id) || !same_rooms(&s.rooms, &t.rooms) ||
            s.handshake.issued != t.handshake.issued)
            die("entry fields differ", NULL, NULL);
        redis_wire_socket_free(&t);
        json_decref(e);
        redis_wire_socket_free(&s);
    }
}

static void check_response(const uint8_t *data, size_t size) {
    redis_wire_response a, b;
    if (redis_wire_response_decode(&a, data, size, 0, NULL)) return;
    check_entries(a.sockets);
    util_buf y = UTIL_BUF_INIT, z = UTIL_BUF_INIT;
    int r = redis_wire_response_encode(&y, &a);
    if (r == SIO_EINVAL || r == SIO_ETOOBIG) goto done;
    if (r) die("response does not encode", NULL, NULL);
    if (redis_wire_response_decode(&b, y.data, y.len, 0, NULL))
        die("re-encoded response does not decode", &y, NULL);
    if (a.type != b.type || strcmp(a.request_id, b.request_id) ||
        (a.type == REDIS_WIRE_BROADCAST_CLIENT_COUNT && a.client_count != b.client_count))
        die("response fields differ", &y, NULL);
    if (redis_wire_response_encode(&z, &b)) die("response does not encode twice", &y, NULL);
    if (!same_bytes(&y, &z)) die("response encodings differ", &y, &z);
    redis_wire_response_free(&b);
done:
    redis_wire_response_free(&a);
    util_buf_free(&y);
    util_buf_free(&z);
}

static void check_value(const uint8_t *data, size_t size) {
    json_t *v;
    if (redis_msgpack_decode(data, size, &v, NULL)) return;
    util_buf y = UTIL_BUF_INIT, z = UTIL_BUF_INIT;
    if (redis_msgpack_encode(&y, v)) die("value does not encode", NULL, NULL);
    json_t *w;
    if (redis_msgpack_decode(y.data, y.len, &w, NULL)) die("value does not decode again", &y, NULL);
    if (redis_msgpack_encode(&z, w)) die("value does not encode twice", &y, NULL);
    if (!same_bytes(&y, &z)) die("value encodings differ", &y, &z);
    json_decref(v);
    json_decref(w);
    util_buf_free(&y);
    util_buf_free(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_broadcast(data, size);
    check_request(data, size);
    check_response(data, size);
    check_value(data, size);
    const char *room;
    size_t room_len;
    if (redis_wire_channel_parse((const char *)data, size, NULL, "/chat", &room, &room_len) ==
            REDIS_WIRE_CHANNEL_BROADCAST &&
        (room < (const char *)data || room + room_len > (const char *)data + size))
        die("room outside the channel", NULL, NULL);
    return 0;
}
