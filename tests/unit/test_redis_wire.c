/* Unit tests of src/adapter/redis_msgpack and redis_wire: the Redis adapter's
 * messages against the bytes captured from Node's @socket.io/redis-adapter
 * 8.3 (../shared/specs/redis-adapter-v8.md), every MessagePack width
 * boundary as notepack.io 3.0 writes and reads it, and malformed input. */
#include "adapter/redis_msgpack.h"
#include "adapter/redis_wire.h"
#include "check.h"
#include "socketio.h"
#include "util/json_scan.h"
#include "util/json_tree.h"

#include <stdlib.h>

/* ---- helpers ---------------------------------------------------------------------- */

/* Bytes of a hex text (spaces ignored) into a util_buf. */
static util_buf hex(const char *s) {
    util_buf b = UTIL_BUF_INIT;
    int hi = -1;
    for (; *s; s++) {
        int v = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10 : -1;
        if (v < 0) continue;
        if (hi < 0) {
            hi = v;
        } else {
            char c = (char)(hi << 4 | v);
            if (util_buf_append(&b, &c, 1)) abort();
            hi = -1;
        }
    }
    return b;
}

static json_t *parse(const char *json) {
    json_t *v = util_json_parse(json, strlen(json), NULL, NULL);
    if (!v) abort();
    return v;
}

/* The JSON text of v (blobs as Buffer objects would be wrong here: none). */
static char *dump(const json_t *v) {
    util_buf b = UTIL_BUF_INIT;
    if (util_json_write(&b, v, NULL, NULL) || util_buf_append(&b, "", 1)) abort();
    return b.data;
}

static bool json_text_is(const json_t *v, const char *want) {
    char *got = dump(v);
    bool ok = strcmp(got, want) == 0;
    if (!ok) fprintf(stderr, "  got  %s\n  want %s\n", got, want);
    free(got);
    return ok;
}

static bool bytes_are(const util_buf *got, const util_buf *want) {
    if (got->len == want->len && memcmp(got->data, want->data, got->len) == 0) return true;
    fprintf(stderr, "  got  ");
    for (size_t i = 0; i < got->len; i++) fprintf(stderr, "%02x", (unsigned char)got->data[i]);
    fprintf(stderr, "\n  want ");
    for (size_t i = 0; i < want->len; i++) fprintf(stderr, "%02x", (unsigned char)want->data[i]);
    fprintf(stderr, "\n");
    return false;
}

/* MessagePack of a hex text decoded as one value, compared as JSON text. */
static bool decodes_to(const char *hexs, const char *json) {
    util_buf b = hex(hexs);
    json_t *v = NULL;
    int r = redis_msgpack_decode(b.data, b.len, &v, NULL);
    util_buf_free(&b);
    if (r) {
        fprintf(stderr, "  %s: decode failed (%d)\n", hexs, r);
        return false;
    }
    bool ok = json_text_is(v, json);
    json_decref(v);
    return ok;
}

static int decode_err(const char *hexs) {
    util_buf b = hex(hexs);
    json_t *v = NULL;
    const char *why = NULL;
    int r = redis_msgpack_decode(b.data, b.len, &v, &why);
    util_buf_free(&b);
    if (!r) json_decref(v);
    if (r && !why) return 1; /* every refusal says why */
    return r;
}

/* v encodes to exactly hexs and decodes back to a value written as the same JSON. */
static bool encodes_to(json_t *v, const char *hexs) {
    util_buf out = UTIL_BUF_INIT, want = hex(hexs);
    bool ok = redis_msgpack_encode(&out, v) == 0 && bytes_are(&out, &want);
    json_t *back = NULL;
    if (ok) ok = redis_msgpack_decode(out.data, out.len, &back, NULL) == 0;
    if (ok) {
        char *a = dump(v), *b = dump(back);
        ok = strcmp(a, b) == 0;
        if (!ok) fprintf(stderr, "  round trip %s -> %s\n", a, b);
        free(a);
        free(b);
    }
    json_decref(back);
    json_decref(v);
    util_buf_free(&out);
    util_buf_free(&want);
    return ok;
}

/* The captured broadcast of chat.emit("news", "hi", 1, {k: true}) (67 bytes). */
#define BCAST_67                                                                                   \
    "93 a6675857323341 83 a474797065 02 a464617461 94 a46e657773 a26869 01 81a16bc3"               \
    " a36e7370 a52f63686174 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773 80"

/* The captured binary broadcast; its opts (elided in the capture) are the
 * empty ones every plain broadcast carries. */
#define BCAST_BIN                                                                                  \
    "93 a6675857323341 83 a474797065 02 a464617461 93 a4626c6f62 c404deadbeef"                     \
    " 81 a66e6573746564 c403010203 a36e7370 a52f63686174"                                          \
    " 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773 80"

/* The captured type 7 request (106 bytes). */
#define REQ_7                                                                                      \
    "85 a3756964 a6675857323341 a9726571756573744964 a6745874626970 a474797065 07"                 \
    " a67061636b6574 83 a474797065 02 a464617461 91 a171 a36e7370 a52f63686174"                    \
    " a46f707473 83 a5726f6f6d73 90 a6657863657074 90 a5666c616773 81 a774696d656f7574 cd03e8"

/* The captured type 9 response. */
#define RESP_9                                                                                     \
    "83 a474797065 09 a9726571756573744964 a6745874626970 a67061636b6574 82 a6616e73776572 2a"     \
    " a466726f6d a26231"

/* ---- captured broadcasts ------------------------------------------------------------ */

static void test_broadcast_captured(void) {
    util_buf msg = hex(BCAST_67);
    CHECK_INT(msg.len, 67);
    redis_wire_broadcast b;
    const char *why = NULL;
    CHECK_INT(redis_wire_broadcast_decode(&b, msg.data, msg.len, 0, &why), 0);
    CHECK_STR(b.uid, "gXW23A");
    CHECK_STR(b.nsp, "/chat");
    CHECK(json_text_is(b.data, "[\"news\",\"hi\",1,{\"k\":true}]"));
    CHECK_INT(b.opts.rooms.len, 0);
    CHECK_INT(b.opts.except.len, 0);
    CHECK_INT(b.opts.flags.has, 0);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_broadcast_encode(&out, &b), 0);
    CHECK(bytes_are(&out, &msg));
    redis_wire_broadcast_free(&b);
    redis_wire_broadcast_free(&b); /* twice is fine */

    /* the same from the caller's side: a struct of its own values */
    json_t *data = parse("[\"news\",\"hi\",1,{\"k\":true}]");
    redis_wire_broadcast mine = {.uid = "gXW23A", .nsp = "/chat", .data = data};
    out.len = 0;
    CHECK_INT(redis_wire_broadcast_encode(&out, &mine), 0);
    CHECK(bytes_are(&out, &msg));
    json_decref(data);
    util_buf_free(&out);
    util_buf_free(&msg);
}

static void test_broadcast_binary_captured(void) {
    util_buf msg = hex(BCAST_BIN);
    redis_wire_broadcast b;
    CHECK_INT(redis_wire_broadcast_decode(&b, msg.data, msg.len, 0, NULL), 0);
    CHECK_INT(json_array_size(b.data), 3);
    const char *p;
    size_t n;
    CHECK(sio_blob_get(json_array_get(b.data, 1), &p, &n));
    CHECK_INT(n, 4);
    CHECK_MEM(p, "\xde\xad\xbe\xef", 4);
    CHECK(sio_blob_get(json_object_get(json_array_get(b.data, 2), "nested"), &p, &n));
    CHECK_INT(n, 3);
    CHECK_MEM(p, "\x01\x02\x03", 3);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_broadcast_encode(&out, &b), 0);
    CHECK(bytes_are(&out, &msg));

    /* built from blobs by the caller */
    json_t *data = json_pack("[s,o,{s:o}]", "blob", sio_blob_new("\xde\xad\xbe\xef", 4), "nested",
                             sio_blob_new("\x01\x02\x03", 3));
    redis_wire_broadcast mine = {.uid = "gXW23A", .nsp = "/chat", .data = data};
    out.len = 0;
    CHECK_INT(redis_wire_broadcast_encode(&out, &mine), 0);
    CHECK(bytes_are(&out, &msg));
    json_decref(data);
    redis_wire_broadcast_free(&b);
    util_buf_free(&out);
    util_buf_free(&msg);
}

/* The broadcasts the spec gives decoded: each written by the generic value
 * encoder (keys in the captured order), then read as a broadcast, then
 * written back by the broadcast encoder to the same bytes. */
static void test_broadcast_decoded_examples(void) {
    static const struct {
        const char *channel, *json, *room;
        size_t nrooms, nexcept;
        unsigned flags;
    } ex[] = {
        {"socket.io#/chat#r1#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"news\",\"r1 only\"],\"nsp\":\"/chat\"},"
         "{\"rooms\":[\"r1\"],\"except\":[],\"flags\":{}}]",
         "r1", 1, 0, 0},
        {"socket.io#/chat#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"news\",2],\"nsp\":\"/chat\"},"
         "{\"rooms\":[\"r1\",\"r2\"],\"except\":[],\"flags\":{}}]",
         NULL, 2, 0, 0},
        {"socket.io#/chat#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"news\",3],\"nsp\":\"/chat\"},"
         "{\"rooms\":[],\"except\":[\"r2\"],\"flags\":{}}]",
         NULL, 0, 1, 0},
        {"socket.io#/chat#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"news\",4],\"nsp\":\"/chat\"},"
         "{\"rooms\":[],\"except\":[\"ur2xTR2cA58e8u1LAAAA\"],\"flags\":{}}]",
         NULL, 0, 1, 0},
        {"socket.io#/chat#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"news\",5],\"nsp\":\"/chat\"},"
         "{\"rooms\":[],\"except\":[],\"flags\":{\"volatile\":true,\"compress\":false}}]",
         NULL, 0, 0, REDIS_WIRE_FLAG_VOLATILE | REDIS_WIRE_FLAG_COMPRESS},
        {"socket.io#/chat#--YTmQW3mHY6y4r-AAAB#",
         "[\"gXW23A\",{\"type\":2,\"data\":[\"private\",\"p\"],\"nsp\":\"/chat\"},"
         "{\"rooms\":[\"--YTmQW3mHY6y4r-AAAB\"],\"except\":[],"
         "\"flags\":{\"expectSingleResponse\":true}}]",
         "--YTmQW3mHY6y4r-AAAB", 1, 0, REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE},
    };
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        json_t *v = parse(ex[i].json);
        util_buf msg = UTIL_BUF_INIT, out = UTIL_BUF_INIT, ch = UTIL_BUF_INIT;
        CHECK_INT(redis_msgpack_encode(&msg, v), 0);
        redis_wire_broadcast b;
        CHECK_INT(redis_wire_broadcast_decode(&b, msg.data, msg.len, 0, NULL), 0);
        CHECK_STR(b.uid, "gXW23A");
        CHECK_STR(b.nsp, "/chat");
        CHECK_INT(b.opts.rooms.len, ex[i].nrooms);
        CHECK_INT(b.opts.except.len, ex[i].nexcept);
        CHECK_INT(b.opts.flags.has, ex[i].flags);
        CHECK(json_equal(b.data, json_object_get(json_array_get(v, 1), "data")));
        CHECK_INT(redis_wire_broadcast_encode(&out, &b), 0);
        CHECK(bytes_are(&out, &msg));
        /* the sender's channel choice: the room's iff exactly one room */
        const char *room = b.opts.rooms.len == 1 ? b.opts.rooms.names[0] : NULL;
        CHECK_INT(redis_wire_broadcast_channel(&ch, NULL, b.nsp, room), 0);
        CHECK_INT(ch.len, strlen(ex[i].channel));
        CHECK_MEM(ch.data, ex[i].channel, ch.len);
        /* and the receiver's room from the channel */
        const char *r;
        size_t rl;
        CHECK_INT(redis_wire_channel_parse(ch.data, ch.len, NULL, "/chat", &r, &rl),
                  REDIS_WIRE_CHANNEL_BROADCAST);
        CHECK_INT(rl, ex[i].room ? strlen(ex[i].room) : 0);
        if (ex[i].room) CHECK_MEM(r, ex[i].room, rl);
        redis_wire_broadcast_free(&b);
        util_buf_free(&msg);
        util_buf_free(&out);
        util_buf_free(&ch);
        json_decref(v);
    }
}

static void test_broadcast_flags(void) {
    json_t *data = parse("[\"e\"]");
    const char *rooms[] = {"a", "b"};
    redis_wire_broadcast b = {
        .uid = "u",
        .nsp = "/",
        .data = data,
        .opts = {.rooms = {rooms, 2},
                 .except = {rooms + 1, 1},
                 .flags = {.has = REDIS_WIRE_FLAG_VOLATILE | REDIS_WIRE_FLAG_COMPRESS |
                                  REDIS_WIRE_FLAG_TIMEOUT | REDIS_WIRE_FLAG_EXPECT_SINGLE_RESPONSE,
                           .is_volatile = true,
                           .compress = false,
                           .timeout_ms = 70000,
                           .expect_single_response = true}},
    };
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_broadcast_encode(&out, &b), 0);
    json_t *v = NULL;
    CHECK_INT(redis_msgpack_decode(out.data, out.len, &v, NULL), 0);
    CHECK(json_text_is(v,
                       "[\"u\",{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/\"},"
                       "{\"rooms\":[\"a\",\"b\"],\"except\":[\"b\"],\"flags\":{\"volatile\":true,"
                       "\"compress\":false,\"timeout\":70000,\"expectSingleResponse\":true}}]"));
    redis_wire_broadcast d;
    CHECK_INT(redis_wire_broadcast_decode(&d, out.data, out.len, 0, NULL), 0);
    CHECK_INT(d.opts.flags.has, b.opts.flags.has);
    CHECK(d.opts.flags.is_volatile && !d.opts.flags.compress &&
          d.opts.flags.expect_single_response);
    CHECK_INT(d.opts.flags.timeout_ms, 70000);
    CHECK_STR(d.opts.rooms.names[1], "b");
    CHECK_STR(d.opts.except.names[0], "b");
    redis_wire_broadcast_free(&d);
    json_decref(v);

    /* unknown flags are ignored, local included; a missing flags map and a
     * missing packet.nsp are allowed (none, "/"); numeric rooms become text */
    util_buf m = UTIL_BUF_INIT;
    v = parse("[\"u\",{\"type\":2,\"data\":[\"e\"]},{\"rooms\":[5,1.5],\"except\":[-7],"
              "\"flags\":{\"local\":true,\"binary\":true,\"volatile\":null}}]");
    CHECK_INT(redis_msgpack_encode(&m, v), 0);
    CHECK_INT(redis_wire_broadcast_decode(&d, m.data, m.len, 0, NULL), 0);
    CHECK_INT(d.opts.flags.has, 0);
    CHECK_STR(d.nsp, "/");
    CHECK_INT(d.opts.rooms.len, 2);
    CHECK_STR(d.opts.rooms.names[0], "5");
    CHECK_STR(d.opts.rooms.names[1], "1.5");
    CHECK_STR(d.opts.except.names[0], "-7");
    redis_wire_broadcast_free(&d);
    json_decref(v);
    m.len = 0;
    v = parse("[\"u\",{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/\"},{}]");
    CHECK_INT(redis_msgpack_encode(&m, v), 0);
    CHECK_INT(redis_wire_broadcast_decode(&d, m.data, m.len, 0, NULL), 0);
    CHECK_INT(d.opts.rooms.len + d.opts.except.len + d.opts.flags.has, 0);
    redis_wire_broadcast_free(&d);
    json_decref(v);
    util_buf_free(&m);
    util_buf_free(&out);
    json_decref(data);
}

/* ---- channels --------------------------------------------------------------------- */

static bool buf_is(util_buf *b, const char *s) {
    bool ok = b->len == strlen(s) && memcmp(b->data, s, b->len) == 0;
    if (!ok) fprintf(stderr, "  got %.*s want %s\n", (int)b->len, b->data, s);
    b->len = 0;
    return ok;
}

static void test_channels(void) {
    util_buf b = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_broadcast_channel(&b, NULL, "/chat", NULL), 0);
    CHECK(buf_is(&b, "socket.io#/chat#"));
    CHECK_INT(redis_wire_broadcast_channel(&b, NULL, NULL, "r 1#*"), 0);
    CHECK(buf_is(&b, "socket.io#/#r 1#*#"));
    CHECK_INT(redis_wire_broadcast_pattern(&b, NULL, "/chat"), 0);
    CHECK(buf_is(&b, "socket.io#/chat#*"));
    CHECK_INT(redis_wire_request_channel(&b, NULL, "/chat"), 0);
    CHECK(buf_is(&b, "socket.io-request#/chat#"));
    CHECK_INT(redis_wire_response_channel(&b, NULL, "/chat", NULL), 0);
    CHECK(buf_is(&b, "socket.io-response#/chat#"));
    CHECK_INT(redis_wire_response_channel(&b, NULL, "/chat", "L-kfDs"), 0);
    CHECK(buf_is(&b, "socket.io-response#/chat#L-kfDs#"));
    CHECK_INT(redis_wire_broadcast_channel(&b, "k", "/chat", "r1"), 0);
    CHECK(buf_is(&b, "k#/chat#r1#"));
    CHECK_INT(redis_wire_request_channel(&b, "k", "/chat"), 0);
    CHECK(buf_is(&b, "k-request#/chat#"));
    CHECK_INT(redis_wire_response_channel(&b, "k", "/chat", "u"), 0);
    CHECK(buf_is(&b, "k-response#/chat#u#"));
    util_buf_free(&b);

#define KIND(s, key, nsp) redis_wire_channel_parse(s, strlen(s), key, nsp, &room, &rl)
    const char *room = NULL;
    size_t rl = 99;
    CHECK_INT(KIND("socket.io#/chat#", NULL, "/chat"), REDIS_WIRE_CHANNEL_BROADCAST);
    CHECK_INT(rl, 0);
    CHECK_INT(KIND("socket.io#/chat#a#b*#", NULL, "/chat"), REDIS_WIRE_CHANNEL_BROADCAST);
    CHECK_INT(rl, 4);
    CHECK_MEM(room, "a#b*", 4);
    CHECK_INT(KIND("socket.io#/chat#r1", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("socket.io#/chat", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("socket.io#/chat#r#", NULL, "/"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("socket.io#/chatx#r#", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("k#/chat#r#", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("k#/chat#r#", "k", "/chat"), REDIS_WIRE_CHANNEL_BROADCAST);
    CHECK_INT(KIND("socket.io-request#/chat#", NULL, "/chat"), REDIS_WIRE_CHANNEL_REQUEST);
    CHECK_INT(KIND("socket.io-response#/chat#", NULL, "/chat"), REDIS_WIRE_CHANNEL_RESPONSE);
    CHECK_INT(KIND("socket.io-response#/chat#L-kfDs#", NULL, "/chat"), REDIS_WIRE_CHANNEL_RESPONSE);
    CHECK_INT(KIND("socket.io-response#/#", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
    CHECK_INT(KIND("k-request#/chat#", "k", "/chat"), REDIS_WIRE_CHANNEL_REQUEST);
    CHECK_INT(KIND("", NULL, "/chat"), REDIS_WIRE_CHANNEL_OTHER);
#undef KIND
}

/* ---- requests and responses ---------------------------------------------------------- */

/* A JSON request as captured: decodes, and encodes back to the same text. */
static bool request_round_trip(const char *json, redis_wire_request *q) {
    if (redis_wire_request_decode(q, json, strlen(json), 0, NULL)) return false;
    util_buf out = UTIL_BUF_INIT;
    bool ok = redis_wire_request_encode(&out, q) == 0 && util_buf_append(&out, "", 1) == 0 &&
              strcmp(out.data, json) == 0;
    if (!ok) fprintf(stderr, "  got  %s\n  want %s\n", out.data ? out.data : "", json);
    util_buf_free(&out);
    return ok;
}

static void test_requests_captured(void) {
    redis_wire_request q;
    CHECK(request_round_trip("{\"uid\":\"gXW23A\",\"requestId\":\"lui0Dl\",\"type\":5,\"opts\":{"
                             "\"rooms\":[],\"except\":[]}}",
                             &q));
    CHECK_INT(q.type, REDIS_WIRE_REMOTE_FETCH);
    CHECK_STR(q.uid, "gXW23A");
    CHECK_STR(q.request_id, "lui0Dl");
    CHECK(!q.msgpack);
    redis_wire_request_free(&q);

    CHECK(request_round_trip(
        "{\"uid\":\"gXW23A\",\"requestId\":\"6yLkEK\",\"type\":6,\"data\":[\"hello\",\"x\"]}", &q));
    CHECK_INT(q.type, REDIS_WIRE_SERVER_SIDE_EMIT);
    CHECK(json_text_is(q.data, "[\"hello\",\"x\"]"));
    redis_wire_request_free(&q);

    CHECK(request_round_trip(
        "{\"uid\":\"gXW23A\",\"type\":6,\"data\":[\"notify\",1,\"two\",{\"three\":3}]}", &q));
    CHECK(q.request_id == NULL);
    redis_wire_request_free(&q);

    CHECK(request_round_trip("{\"uid\":\"gXW23A\",\"type\":2,\"opts\":{\"rooms\":[\"r1\"],"
                             "\"except\":[]},\"rooms\":[\"r3\"]}",
                             &q));
    CHECK_INT(q.type, REDIS_WIRE_REMOTE_JOIN);
    CHECK_INT(q.opts.rooms.len, 1);
    CHECK_STR(q.opts.rooms.names[0], "r1");
    CHECK_INT(q.rooms.len, 1);
    CHECK_STR(q.rooms.names[0], "r3");
    redis_wire_request_free(&q);

    CHECK(request_round_trip("{\"uid\":\"gXW23A\",\"type\":3,\"opts\":{\"rooms\":[\"r3\"],"
                             "\"except\":[]},\"rooms\":[\"r3\"]}",
                             &q));
    CHECK_INT(q.type, REDIS_WIRE_REMOTE_LEAVE);
    redis_wire_request_free(&q);

    CHECK(request_round_trip("{\"uid\":\"gXW23A\",\"type\":4,\"opts\":{\"rooms\":[\"r1\"],"
                             "\"except\":[]},\"close\":true}",
                             &q));
    CHECK_INT(q.type, REDIS_WIRE_REMOTE_DISCONNECT);
    CHECK(q.close);
    redis_wire_request_free(&q);

    CHECK(request_round_trip("{\"uid\":\"gXW23A\",\"requestId\":\"I8r4L0\",\"type\":1}", &q));
    CHECK_INT(q.type, REDIS_WIRE_ALL_ROOMS);
    redis_wire_request_free(&q);

    CHECK(request_round_trip(
        "{\"uid\":\"gXW23A\",\"requestId\":\"abcdef\",\"type\":0,\"rooms\":[\"r1\",\"r2\"]}", &q));
    CHECK_INT(q.rooms.len, 2);
    redis_wire_request_free(&q);

    /* the legacy per-socket forms */
    CHECK(request_round_trip(
        "{\"uid\":\"u\",\"requestId\":\"i\",\"type\":2,\"sid\":\"s1\",\"room\":\"r\"}", &q));
    CHECK_STR(q.sid, "s1");
    CHECK_STR(q.room, "r");
    redis_wire_request_free(&q);
    CHECK(request_round_trip(
        "{\"uid\":\"u\",\"requestId\":\"i\",\"type\":4,\"sid\":\"s1\",\"close\":false}", &q));
    CHECK_STR(q.sid, "s1");
    CHECK(!q.close);
    redis_wire_request_free(&q);
}

static void test_request_broadcast_captured(void) {
    util_buf msg = hex(REQ_7);
    CHECK_INT(msg.len, 106);
    redis_wire_request q;
    CHECK_INT(redis_wire_request_decode(&q, msg.data, msg.len, 0, NULL), 0);
    CHECK(q.msgpack);
    CHECK_INT(q.type, REDIS_WIRE_BROADCAST);
    CHECK_STR(q.uid, "gXW23A");
    CHECK_STR(q.request_id, "tXtbip");
    CHECK_STR(q.nsp, "/chat");
    CHECK(json_text_is(q.data, "[\"q\"]"));
    CHECK_INT(q.opts.flags.has, REDIS_WIRE_FLAG_TIMEOUT);
    CHECK_INT(q.opts.flags.timeout_ms, 1000);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_request_encode(&out, &q), 0);
    CHECK(bytes_are(&out, &msg));
    redis_wire_request_free(&q);

    /* the same request sent as JSON is read too (a receiver sniffs '{') */
    const char *json =
        "{\"uid\":\"gXW23A\",\"requestId\":\"tXtbip\",\"type\":7,\"packet\":{\"type\":"
        "2,\"data\":[\"q\"],\"nsp\":\"/chat\"},\"opts\":{\"rooms\":[],\"except\":[],"
        "\"flags\":{\"timeout\":1000}}}";
    CHECK_INT(redis_wire_request_decode(&q, json, strlen(json), 0, NULL), 0);
    CHECK(!q.msgpack);
    out.len = 0;
    CHECK_INT(redis_wire_request_encode(&out, &q), 0);
    CHECK(bytes_are(&out, &msg));
    redis_wire_request_free(&q);
    util_buf_free(&out);
    util_buf_free(&msg);
}

static bool response_round_trip(const char *json, redis_wire_response *r) {
    if (redis_wire_response_decode(r, json, strlen(json), 0, NULL)) return false;
    util_buf out = UTIL_BUF_INIT;
    bool ok = redis_wire_response_encode(&out, r) == 0 && util_buf_append(&out, "", 1) == 0 &&
              strcmp(out.data, json) == 0;
    if (!ok) fprintf(stderr, "  got  %s\n  want %s\n", out.data ? out.data : "", json);
    util_buf_free(&out);
    return ok;
}

#define FETCH_ENTRY                                                                                \
    "{\"id\":\"--YTmQW3mHY6y4r-AAAB\",\"handshake\":{\"headers\":{\"host\":\"127.0.0.1:3000\"},"   \
    "\"time\":\"Sat Nov 28 2026 02:30:18 GMT+0000 (Coordinated Universal Time)\","                 \
    "\"address\":\"127.0.0.1\",\"xdomain\":false,\"secure\":false,\"issued\":1795832353732,"       \
    "\"url\":\"/socket.io/?room=lobby&EIO=4&transport=websocket\",\"query\":{\"room\":\"lobby\","  \
    "\"EIO\":\"4\",\"transport\":\"websocket\"},\"auth\":{\"token\":\"t0k\"}},\"rooms\":[\"--"     \
    "YTmQW3mHY6y4r-AAAB\",\"r1\",\"r2\"],\"data\":{\"user\":\"B-user\",\"n\":1}}"

static void test_responses_captured(void) {
    redis_wire_response r;
    CHECK(response_round_trip("{\"requestId\":\"lui0Dl\",\"sockets\":[" FETCH_ENTRY "]}", &r));
    CHECK_INT(r.type, -1);
    CHECK_STR(r.request_id, "lui0Dl");
    CHECK_INT(json_array_size(r.sockets), 1);
    redis_wire_socket s;
    CHECK_INT(redis_wire_socket_decode(&s, json_array_get(r.sockets, 0), NULL), 0);
    CHECK_STR(s.id, "--YTmQW3mHY6y4r-AAAB");
    CHECK_STR(s.handshake.address, "127.0.0.1");
    CHECK_STR(s.handshake.url, "/socket.io/?room=lobby&EIO=4&transport=websocket");
    CHECK_STR(s.handshake.time, "Sat Nov 28 2026 02:30:18 GMT+0000 (Coordinated Universal Time)");
    CHECK_INT(s.handshake.issued, 1795832353732LL);
    CHECK(!s.handshake.xdomain && !s.handshake.secure);
    CHECK(json_text_is(s.handshake.auth, "{\"token\":\"t0k\"}"));
    CHECK(json_text_is(s.handshake.query,
                       "{\"room\":\"lobby\",\"EIO\":\"4\",\"transport\":\"websocket\"}"));
    CHECK_INT(s.rooms.len, 3);
    CHECK_STR(s.rooms.names[2], "r2");
    CHECK(json_text_is(s.data, "{\"user\":\"B-user\",\"n\":1}"));
    /* an entry built from the struct is the captured one */
    json_t *e = redis_wire_socket_new(&s);
    CHECK(e != NULL);
    CHECK(json_text_is(e, FETCH_ENTRY));
    json_decref(e);
    redis_wire_socket_free(&s);
    redis_wire_response_free(&r);

    CHECK(response_round_trip("{\"type\":6,\"requestId\":\"6yLkEK\",\"data\":\"B says hi\"}", &r));
    CHECK_INT(r.type, REDIS_WIRE_SERVER_SIDE_EMIT);
    CHECK(json_text_is(r.data, "\"B says hi\""));
    redis_wire_response_free(&r);

    CHECK(response_round_trip(
        "{\"requestId\":\"I8r4L0\",\"rooms\":[\"--YTmQW3mHY6y4r-AAAB\",\"r1\",\"r2\"]}", &r));
    CHECK(r.has_rooms);
    CHECK_INT(r.rooms.len, 3);
    CHECK_STR(r.rooms.names[1], "r1");
    redis_wire_response_free(&r);

    CHECK(response_round_trip("{\"type\":8,\"requestId\":\"tXtbip\",\"clientCount\":1}", &r));
    CHECK_INT(r.type, REDIS_WIRE_BROADCAST_CLIENT_COUNT);
    CHECK_INT(r.client_count, 1);
    redis_wire_response_free(&r);

    CHECK(response_round_trip("{\"requestId\":\"abcdef\",\"sockets\":[\"s1\",\"s2\"]}", &r));
    redis_wire_response_free(&r);
    CHECK(response_round_trip("{\"requestId\":\"abcdef\"}", &r));
    redis_wire_response_free(&r);

    util_buf msg = hex(RESP_9);
    CHECK_INT(redis_wire_response_decode(&r, msg.data, msg.len, 0, NULL), 0);
    CHECK(r.msgpack);
    CHECK_INT(r.type, REDIS_WIRE_BROADCAST_ACK);
    CHECK_STR(r.request_id, "tXtbip");
    CHECK(json_text_is(r.packet, "{\"answer\":42,\"from\":\"b1\"}"));
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_response_encode(&out, &r), 0);
    CHECK(bytes_are(&out, &msg));
    redis_wire_response_free(&r);
    util_buf_free(&out);
    util_buf_free(&msg);
}

static void test_json_binary_as_buffer(void) {
    json_t *data = json_pack("[s,o]", "ev", sio_blob_new("\x01\xff", 2));
    redis_wire_request q = {.type = REDIS_WIRE_SERVER_SIDE_EMIT, .uid = "u", .data = data};
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(redis_wire_request_encode(&out, &q), 0);
    CHECK_INT(util_buf_append(&out, "", 1), 0);
    CHECK_STR(
        out.data,
        "{\"uid\":\"u\",\"type\":6,\"data\":[\"ev\",{\"type\":\"Buffer\",\"data\":[1,255]}]}");
    util_buf_free(&out);
    json_decref(data);

    /* encoders refuse what they cannot write */
    redis_wire_request bad = {.type = REDIS_WIRE_REMOTE_FETCH, .uid = "u"};
    CHECK_INT(redis_wire_request_encode(&out, &bad), SIO_EINVAL);
    bad = (redis_wire_request){.type = REDIS_WIRE_BROADCAST_ACK, .uid = "u"};
    CHECK_INT(redis_wire_request_encode(&out, &bad), SIO_EINVAL);
    redis_wire_response nor = {.type = 3, .request_id = "x"};
    CHECK_INT(redis_wire_response_encode(&out, &nor), SIO_EINVAL);
    redis_wire_broadcast nob = {.uid = "u"};
    CHECK_INT(redis_wire_broadcast_encode(&out, &nob), SIO_EINVAL);
    CHECK_INT(out.len, 0);
    util_buf_free(&out);
}

/* ---- MessagePack widths --------------------------------------------------------------- */

static void test_integer_widths(void) {
    static const struct {
        long long v;
        const char *hex;
    } ints[] = {
        {0, "00"},
        {0x7f, "7f"},
        {0x80, "cc80"},
        {0xff, "ccff"},
        {0x100, "cd0100"},
        {0xffff, "cdffff"},
        {0x10000, "ce00010000"},
        {0xffffffffLL, "ceffffffff"},
        {0x100000000LL, "cf0000000100000000"},
        {INT64_MAX, "cf7fffffffffffffff"},
        {-1, "ff"},
        {-32, "e0"},
        {-33, "d0df"},
        {-128, "d080"},
        {-129, "d1ff7f"},
        {-32768, "d18000"},
        {-32769, "d2ffff7fff"},
        {-2147483648LL, "d280000000"},
        {-2147483649LL, "d3ffffffff7fffffff"},
        {INT64_MIN, "d38000000000000000"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (!encodes_to(json_integer(ints[i].v), ints[i].hex)) {
            fprintf(stderr, "  integer %lld\n", ints[i].v);
            CHECK(0);
        }
        /* integral reals are written as integers (notepack: Math.floor(v) === v) */
        if (ints[i].v > -(1LL << 53) && ints[i].v < (1LL << 53)) {
            util_buf out = UTIL_BUF_INIT, want = hex(ints[i].hex);
            json_t *r = json_real((double)ints[i].v);
            CHECK_INT(redis_msgpack_encode(&out, r), 0);
            CHECK(bytes_are(&out, &want));
            json_decref(r);
            util_buf_free(&out);
            util_buf_free(&want);
        }
    }
    /* every width is read, also the ones notepack never writes for a value */
    CHECK(decodes_to("cc05", "5"));
    CHECK(decodes_to("cd0005", "5"));
    CHECK(decodes_to("ce00000005", "5"));
    CHECK(decodes_to("cf0000000000000005", "5"));
    CHECK(decodes_to("d005", "5"));
    CHECK(decodes_to("d1fffb", "-5"));
    CHECK(decodes_to("d2fffffffb", "-5"));
    CHECK(decodes_to("d3fffffffffffffffb", "-5"));
    /* a uint64 above INT64_MAX is the nearest double, as Node reads it */
    util_buf b = hex("cfffffffffffffffff");
    json_t *v = NULL;
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    CHECK(json_is_real(v) && json_real_value(v) == 18446744073709551616.0);
    json_decref(v);
    util_buf_free(&b);
    b = hex("cf8000000000000000");
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    CHECK(json_is_real(v) && json_real_value(v) == 9223372036854775808.0);
    json_decref(v);
    util_buf_free(&b);
}

static void test_number_forms(void) {
    CHECK(encodes_to(json_real(1.5), "cb3ff8000000000000"));
    CHECK(encodes_to(json_real(-0.25), "cbbfd0000000000000"));
    CHECK(encodes_to(json_real(3.0), "03"));
    util_buf out = UTIL_BUF_INIT, want = hex("00");
    json_t *z = json_real(-0.0);
    CHECK_INT(redis_msgpack_encode(&out, z), 0); /* -0 is integral: 00, as notepack */
    CHECK(bytes_are(&out, &want));
    json_decref(z);
    util_buf_free(&out);
    util_buf_free(&want);
    /* 2^63 as an integral real: uint64; 1e20 (beyond 2^64): float64, which
     * Node reads right (notepack itself would wrap it) */
    out = (util_buf)UTIL_BUF_INIT;
    want = hex("cf8000000000000000");
    z = json_real(9223372036854775808.0);
    CHECK_INT(redis_msgpack_encode(&out, z), 0);
    CHECK(bytes_are(&out, &want));
    json_decref(z);
    util_buf_free(&out);
    util_buf_free(&want);
    CHECK(encodes_to(json_real(1e20), "cb4415af1d78b58c40"));
    CHECK(decodes_to("ca3fc00000", "1.5"));          /* float32 */
    CHECK(decodes_to("ca7fc00000", "null"));         /* NaN */
    CHECK(decodes_to("cb7ff0000000000000", "null")); /* Infinity */
    CHECK(decodes_to("cbfff0000000000000", "null"));
    CHECK(encodes_to(json_true(), "c3"));
    CHECK(encodes_to(json_false(), "c2"));
    CHECK(encodes_to(json_null(), "c0"));
}

/* A value of n elements: string, blob, array or object, with header h. */
static void check_length(char kind, size_t n, const char *head) {
    json_t *v;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = 0;
    if (kind == 's') {
        v = json_stringn(s, n);
    } else if (kind == 'b') {
        v = sio_blob_new(s, n);
    } else if (kind == 'a') {
        v = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(v, json_integer(1));
    } else {
        v = json_object();
        for (size_t i = 0; i < n; i++) {
            char k[24];
            snprintf(k, sizeof k, "%zu", i);
            json_object_set_new(v, k, json_null());
        }
    }
    free(s);
    util_buf out = UTIL_BUF_INIT, want = hex(head);
    CHECK_INT(redis_msgpack_encode(&out, v), 0);
    CHECK(out.len >= want.len);
    if (memcmp(out.data, want.data, want.len) != 0) {
        fprintf(stderr, "  %c%zu: header %02x%02x%02x\n", kind, n, (unsigned char)out.data[0],
                (unsigned char)out.data[1], (unsigned char)out.data[2]);
        CHECK(0);
    }
    json_t *back = NULL;
    CHECK_INT(redis_msgpack_decode(out.data, out.len, &back, NULL), 0);
    const char *p1, *p2;
    size_t n1, n2;
    if (kind == 'b')
        CHECK(sio_blob_get(back, &p2, &n2) && sio_blob_get(v, &p1, &n1) && n1 == n2 &&
              memcmp(p1, p2, n1) == 0);
    else
        CHECK(json_equal(v, back));
    json_decref(back);
    json_decref(v);
    util_buf_free(&out);
    util_buf_free(&want);
}

static void test_length_widths(void) {
    check_length('s', 0, "a0");
    check_length('s', 31, "bf");
    check_length('s', 32, "d920");
    check_length('s', 255, "d9ff");
    check_length('s', 256, "da0100");
    check_length('s', 65535, "daffff");
    check_length('s', 65536, "db00010000");
    check_length('b', 0, "c400");
    check_length('b', 255, "c4ff");
    check_length('b', 256, "c50100");
    check_length('b', 65535, "c5ffff");
    check_length('b', 65536, "c600010000");
    check_length('a', 0, "90");
    check_length('a', 15, "9f");
    check_length('a', 16, "dc0010");
    check_length('a', 65535, "dcffff");
    check_length('a', 65536, "dd00010000");
    check_length('m', 0, "80");
    check_length('m', 15, "8f");
    check_length('m', 16, "de0010");
    check_length('m', 65535, "deffff");
    check_length('m', 65536, "df00010000");
    /* the wider forms are read for short lengths too */
    CHECK(decodes_to("d900", "\"\""));
    CHECK(decodes_to("da000161", "\"a\""));
    CHECK(decodes_to("db0000000161", "\"a\""));
    CHECK(decodes_to("dc000101", "[1]"));
    CHECK(decodes_to("dd0000000101", "[1]"));
    CHECK(decodes_to("de0001a16101", "{\"a\":1}"));
    CHECK(decodes_to("df00000001a16101", "{\"a\":1}"));
    json_t *v = NULL;
    util_buf b = hex("c5000161");
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    const char *p;
    size_t n;
    CHECK(sio_blob_get(v, &p, &n) && n == 1 && p[0] == 'a');
    json_decref(v);
    util_buf_free(&b);
}

static void test_extensions(void) {
    /* timestamps, as notepack 3.0 writes Dates: 32, 64 and 96 bits */
    CHECK(decodes_to("d6ff00000000", "\"1970-01-01T00:00:00.000Z\""));
    CHECK(decodes_to("d7ffa1a5d600695735a5", "\"2026-01-02T03:04:05.678Z\""));
    CHECK(decodes_to("c70cff1dcd6500fffffffffffffffe", "\"1969-12-31T23:59:58.500Z\""));
    CHECK(decodes_to("d70000000000000003e8", "\"1970-01-01T00:00:01.000Z\"")); /* legacy Date */
    CHECK(decodes_to("c70cff00000000ffffffffffffffff", "\"1969-12-31T23:59:59.000Z\""));
    CHECK(decodes_to("c70cff000000000000100000000000", "null")); /* beyond the Date range */
    CHECK(decode_err("c70bff0000000000000000000000") == SIO_EPROTO);
    char iso[32];
    CHECK_INT(redis_msgpack_iso_time(8.64e15, iso), 27);
    CHECK_STR(iso, "+275760-09-13T00:00:00.000Z");
    CHECK_INT(redis_msgpack_iso_time(-8.64e15, iso), 27);
    CHECK_STR(iso, "-271821-04-20T00:00:00.000Z");
    CHECK_INT(redis_msgpack_iso_time(-62198755200000.0, iso), 27);
    CHECK_STR(iso, "-000001-01-01T00:00:00.000Z");
    CHECK_INT(redis_msgpack_iso_time(951868800000.0 - 1, iso), 24); /* leap day */
    CHECK_STR(iso, "2000-02-29T23:59:59.999Z");
    CHECK_INT(redis_msgpack_iso_time(8.64e15 + 1, iso), 0);
    /* other ext types: [type, bytes]; type 0: notepack's legacy forms */
    util_buf b = hex("c80003ff010203");
    json_t *v = NULL;
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    CHECK(json_is_array(v) && json_array_size(v) == 2);
    CHECK_INT(json_integer_value(json_array_get(v, 0)), -1);
    const char *p;
    size_t n;
    CHECK(sio_blob_get(json_array_get(v, 1), &p, &n) && n == 3 && p[2] == 3);
    json_decref(v);
    util_buf_free(&b);
    b = hex("d50501ff");
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    CHECK_INT(json_integer_value(json_array_get(v, 0)), 5);
    CHECK(sio_blob_get(json_array_get(v, 1), &p, &n) && n == 2);
    json_decref(v);
    util_buf_free(&b);
    b = hex("c7030001 0203");
    CHECK_INT(redis_msgpack_decode(b.data, b.len, &v, NULL), 0);
    CHECK(sio_blob_get(v, &p, &n) && n == 3);
    json_decref(v);
    util_buf_free(&b);
    /* fixext1 type 0 is undefined: null in an array, left out of a map */
    CHECK(decodes_to("92d4000001", "[null,1]"));
    CHECK(decodes_to("82a161d40000a16202", "{\"b\":2}"));
    CHECK(decodes_to("82a16101a161d40000", "{}"));
    CHECK(decodes_to("d40000", "null"));
}

static void test_strings_and_keys(void) {
    /* invalid UTF-8: one U+FFFD per maximal subpart, as Buffer#toString */
    CHECK(decodes_to("a4e282ac41", "\"\xe2\x82\xac"
                                   "A\""));
    CHECK(decodes_to("a5e2824141ff", "\"\xef\xbf\xbd"
                                     "AA\xef\xbf\xbd\""));
    CHECK(decodes_to("a3f09f41", "\"\xef\xbf\xbd"
                                 "A\""));
    CHECK(decodes_to("a2eda0", "\"\xef\xbf\xbd\xef\xbf\xbd\""));
    CHECK(decodes_to("a3c0af41", "\"\xef\xbf\xbd\xef\xbf\xbd"
                                 "A\""));
    /* NUL inside a string is kept */
    CHECK(decodes_to("a3610062", "\"a\\u0000b\""));
    /* map keys: strings, integers as their text; anything else refused */
    CHECK(decodes_to("8105a178", "{\"5\":\"x\"}"));
    CHECK(decodes_to("81d0f6a178", "{\"-10\":\"x\"}"));
    CHECK(decodes_to("82a16101a16102", "{\"a\":2}")); /* the last one wins */
    CHECK_INT(decode_err("81c0a178"), SIO_EPROTO);
    CHECK_INT(decode_err("81c3a178"), SIO_EPROTO);
    CHECK_INT(decode_err("81cb3ff8000000000000a178"), SIO_EPROTO);
    CHECK_INT(decode_err("819001"), SIO_EPROTO);
    CHECK_INT(decode_err("81c40161a178"), SIO_EPROTO);
    CHECK_INT(decode_err("81d40000a178"), SIO_EPROTO);
    CHECK_INT(decode_err("81cf0020000000000001a178"), SIO_EPROTO); /* 2^53 + 1 */
    /* object keys are written in the object's order */
    CHECK(encodes_to(parse("{\"zeta\":1,\"alpha\":2}"), "82a47a65746101a5616c70686102"));
}

/* ---- malformed input ------------------------------------------------------------------ */

static void test_malformed_values(void) {
    CHECK_INT(decode_err(""), SIO_EPROTO);
    CHECK_INT(decode_err("c1"), SIO_EPROTO);
    CHECK_INT(decode_err("0000"), SIO_EPROTO);        /* trailing bytes */
    CHECK_INT(decode_err("dd ffffffff"), SIO_EPROTO); /* huge counts: refused, nothing made */
    CHECK_INT(decode_err("dd 0fffffff 01"), SIO_EPROTO);
    CHECK_INT(decode_err("df ffffffff"), SIO_EPROTO);
    CHECK_INT(decode_err("de 0002 a16101"), SIO_EPROTO);
    CHECK_INT(decode_err("dc ffff 00"), SIO_EPROTO);
    CHECK_INT(decode_err("db ffffffff 61"), SIO_EPROTO);
    CHECK_INT(decode_err("c6 ffffffff 61"), SIO_EPROTO);
    CHECK_INT(decode_err("c9 ffffffff 05 61"), SIO_EPROTO);
    CHECK_INT(decode_err("a5 6162"), SIO_EPROTO);
    CHECK_INT(decode_err("cd 01"), SIO_EPROTO);
    CHECK_INT(decode_err("cb 000000"), SIO_EPROTO);
    CHECK_INT(decode_err("d7 ff 0000"), SIO_EPROTO);
    CHECK_INT(decode_err("c7"), SIO_EPROTO);
    CHECK_INT(decode_err("c7 01"), SIO_EPROTO);
    CHECK_INT(decode_err("92 01"), SIO_EPROTO);
    CHECK_INT(decode_err("81 a161"), SIO_EPROTO);
    /* nesting: UTIL_JSON_MAX_DEPTH levels are read, one more is refused */
    for (int depth = UTIL_JSON_MAX_DEPTH; depth <= UTIL_JSON_MAX_DEPTH + 1; depth++) {
        util_buf b = UTIL_BUF_INIT;
        for (int i = 0; i < depth; i++) CHECK_INT(util_buf_append(&b, "\x91", 1), 0);
        CHECK_INT(util_buf_append(&b, "\x00", 1), 0);
        json_t *v = NULL;
        int r = redis_msgpack_decode(b.data, b.len, &v, NULL);
        CHECK_INT(r, depth <= UTIL_JSON_MAX_DEPTH ? 0 : SIO_EPROTO);
        if (!r) {
            util_buf out = UTIL_BUF_INIT;
            CHECK_INT(redis_msgpack_encode(&out, v), 0);
            CHECK(bytes_are(&out, &b));
            util_buf_free(&out);
        }
        json_decref(v);
        util_buf_free(&b);
    }
}

/* Every proper prefix of the captured messages is refused, and so is every
 * single-byte change that breaks a field (none may crash or leak). */
static void test_truncated_messages(void) {
    const char *msgs[] = {BCAST_67, BCAST_BIN, REQ_7, RESP_9};
    for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
        util_buf b = hex(msgs[m]);
        for (size_t n = 0; n < b.len; n++) {
            redis_wire_broadcast bc;
            redis_wire_request q;
            redis_wire_response r;
            const char *why = NULL;
            CHECK(redis_wire_broadcast_decode(&bc, b.data, n, 0, &why) == SIO_EPROTO && why);
            CHECK(redis_wire_request_decode(&q, b.data, n, 0, NULL) == SIO_EPROTO);
            CHECK(redis_wire_response_decode(&r, b.data, n, 0, NULL) == SIO_EPROTO);
            CHECK(bc.root_ == NULL && q.root_ == NULL && r.root_ == NULL);
        }
        for (size_t i = 0; i < b.len; i++) /* flips of each byte: any result, no crash */
            for (int bit = 0; bit < 8; bit++) {
                b.data[i] ^= (char)(1 << bit);
                redis_wire_broadcast bc;
                redis_wire_request q;
                redis_wire_response r;
                if (!redis_wire_broadcast_decode(&bc, b.data, b.len, 0, NULL))
                    redis_wire_broadcast_free(&bc);
                if (!redis_wire_request_decode(&q, b.data, b.len, 0, NULL))
                    redis_wire_request_free(&q);
                if (!redis_wire_response_decode(&r, b.data, b.len, 0, NULL))
                    redis_wire_response_free(&r);
                b.data[i] ^= (char)(1 << bit);
            }
        util_buf_free(&b);
    }
}

/* A broadcast (as JSON, written as MessagePack) that must be refused. */
static int broadcast_err(const char *json) {
    json_t *v = parse(json);
    util_buf m = UTIL_BUF_INIT;
    if (redis_msgpack_encode(&m, v)) abort();
    json_decref(v);
    redis_wire_broadcast b;
    const char *why = NULL;
    int r = redis_wire_broadcast_decode(&b, m.data, m.len, 0, &why);
    util_buf_free(&m);
    if (!r) redis_wire_broadcast_free(&b);
    if (r && !why) return 1;
    return r;
}

static void test_malformed_broadcasts(void) {
#define P "{\"type\":2,\"data\":[\"e\"],\"nsp\":\"/\"}"
#define O "{\"rooms\":[],\"except\":[],\"flags\":{}}"
    CHECK_INT(broadcast_err("[\"u\"," P "," O "]"), 0);
    CHECK_INT(broadcast_err("[\"u\"," P "]"), SIO_EPROTO); /* no opts: kills Node */
    CHECK_INT(broadcast_err("{\"u\":1}"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[1," P "," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\\u0000x\"," P "," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"type\":5,\"data\":[\"e\"]}," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"data\":[\"e\"]}," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"type\":2,\"data\":\"e\"}," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"type\":2,\"data\":[]}," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"type\":2,\"data\":[1]}," O "]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\",{\"type\":2,\"data\":[\"e\"],\"nsp\":null}," O "]"),
              SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",[]]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"rooms\":\"r\"}]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"rooms\":[true]}]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"except\":[[\"r\"]]}]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"flags\":[]}]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"flags\":{\"volatile\":1}}]"), SIO_EPROTO);
    CHECK_INT(broadcast_err("[\"u\"," P ",{\"flags\":{\"timeout\":\"1\"}}]"), SIO_EPROTO);
#undef P
#undef O
    /* JSON text on the broadcast channel is not sniffed: refused */
    const char *json = "[\"u\",{\"type\":2,\"data\":[\"e\"]},{}]";
    redis_wire_broadcast b;
    CHECK_INT(redis_wire_broadcast_decode(&b, json, strlen(json), 0, NULL), SIO_EPROTO);
    /* the caller's size bound */
    util_buf m = hex(BCAST_67);
    const char *why = NULL;
    CHECK_INT(redis_wire_broadcast_decode(&b, m.data, m.len, 66, &why), SIO_ETOOBIG);
    CHECK(why != NULL);
    CHECK_INT(redis_wire_broadcast_decode(&b, m.data, m.len, 67, NULL), 0);
    redis_wire_broadcast_free(&b);
    util_buf_free(&m);
}

static int request_err(const char *json) {
    redis_wire_request q;
    const char *why = NULL;
    int r = redis_wire_request_decode(&q, json, strlen(json), 0, &why);
    if (!r) redis_wire_request_free(&q);
    if (r && !why) return 1;
    return r;
}

static int response_err(const char *json) {
    redis_wire_response s;
    const char *why = NULL;
    int r = redis_wire_response_decode(&s, json, strlen(json), 0, &why);
    if (!r) redis_wire_response_free(&s);
    if (r && !why) return 1;
    return r;
}

static void test_malformed_requests(void) {
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":1}"), 0);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":1.0}"), 0);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":1"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":8}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":-1}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":1.5}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\"}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"requestId\":\"i\",\"type\":1}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":1}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":5,\"type\":1}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":5}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":5,\"opts\":[]}"),
              SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":2,\"opts\":{}}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":2,\"opts\":{},\"rooms\":[]}"), 0);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":2}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":2,\"sid\":\"s\"}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":4,\"opts\":{},\"close\":1}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":4,\"opts\":{}}"), 0);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":6}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":6,\"data\":[]}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"type\":6,\"data\":{}}"), SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":7,\"opts\":{}}"),
              SIO_EPROTO);
    CHECK_INT(request_err("{\"uid\":\"u\",\"requestId\":\"i\",\"type\":7,\"packet\":{\"type\":2,"
                          "\"data\":[\"e\"]}}"),
              SIO_EPROTO);
    CHECK_INT(request_err("[1]"), SIO_EPROTO);
    CHECK_INT(request_err("{bad json}"), SIO_EPROTO);
    CHECK_INT(request_err("\x92\x01"), SIO_EPROTO);

    CHECK_INT(response_err("{\"requestId\":\"i\"}"), 0);
    CHECK_INT(response_err("{\"requestId\":1}"), SIO_EPROTO);
    CHECK_INT(response_err("{}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"type\":7}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"type\":8}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"type\":8,\"clientCount\":-1}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"type\":8,\"clientCount\":0}"), 0);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"sockets\":{}}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"sockets\":[1]}"), SIO_EPROTO);
    CHECK_INT(response_err("{\"requestId\":\"i\",\"rooms\":[null]}"), SIO_EPROTO);

    redis_wire_socket s;
    json_t *e = parse("{\"id\":\"x\",\"handshake\":{\"issued\":\"now\"},\"rooms\":[]}");
    CHECK_INT(redis_wire_socket_decode(&s, e, NULL), SIO_EPROTO);
    json_decref(e);
    e = parse("{\"id\":\"x\",\"rooms\":[\"x\",7]}");
    CHECK_INT(redis_wire_socket_decode(&s, e, NULL), SIO_EPROTO);
    json_decref(e);
    e = parse("{\"handshake\":{},\"rooms\":[]}");
    CHECK_INT(redis_wire_socket_decode(&s, e, NULL), SIO_EPROTO);
    json_decref(e);
    e = parse("{\"id\":\"x\",\"rooms\":[]}");
    CHECK_INT(redis_wire_socket_decode(&s, e, NULL), 0);
    CHECK(json_is_null(s.data) && s.handshake.headers == NULL);
    redis_wire_socket_free(&s);
    json_decref(e);
}

int main(void) {
    RUN(test_broadcast_captured);
    RUN(test_broadcast_binary_captured);
    RUN(test_broadcast_decoded_examples);
    RUN(test_broadcast_flags);
    RUN(test_channels);
    RUN(test_requests_captured);
    RUN(test_request_broadcast_captured);
    RUN(test_responses_captured);
    RUN(test_json_binary_as_buffer);
    RUN(test_integer_widths);
    RUN(test_number_forms);
    RUN(test_length_widths);
    RUN(test_extensions);
    RUN(test_strings_and_keys);
    RUN(test_malformed_values);
    RUN(test_truncated_messages);
    RUN(test_malformed_broadcasts);
    RUN(test_malformed_requests);
    return CHECK_DONE();
}
