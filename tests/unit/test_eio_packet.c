/* Unit tests of src/eio/eio_packet: the Engine.IO v4 and v3 spec examples
 * both ways, the reference parsers' edge cases, invalid input, UTF-16
 * lengths of v3 text payloads, the open packet and the error bodies. */
#include "check.h"
#include "eio/eio_packet.h"
#include "socketio/common.h"

#include <stdlib.h>

#define S(lit) lit, sizeof(lit) - 1

typedef struct expect_pkt {
    eio_packet_type type;
    bool binary;
    const char *data;
    size_t len;
} expect_pkt;

#define TXT(t, s)                                                                                  \
    { t, false, s, sizeof(s) - 1 }
#define BIN(t, s)                                                                                  \
    { t, true, s, sizeof(s) - 1 }

/* Decodes a copy of body[0, len) and compares with want[0, n) (unless want
 * is NULL); returns the iterator's final result (0 at a clean end). */
static int decode_all(eio_payload_format f, const char *body, size_t len, const expect_pkt *want,
                      size_t n, unsigned max, size_t *got) {
    char *copy = malloc(len + 1);
    memcpy(copy, body, len);
    eio_payload_iter it;
    eio_packet pkt;
    int r;
    size_t i = 0;
    eio_payload_iter_init(&it, f, copy, len, max);
    while ((r = eio_payload_next(&it, &pkt)) == 1) {
        if (!want) { /* only the final result matters */
            i++;
            continue;
        }
        if (i >= n || pkt.type != want[i].type || pkt.binary != want[i].binary ||
            pkt.len != want[i].len || memcmp(pkt.data, want[i].data, pkt.len) != 0) {
            fprintf(stderr, "packet %zu differs: type %d binary %d \"%.*s\"\n", i, pkt.type,
                    pkt.binary, (int)pkt.len, pkt.data);
            r = -99;
            break;
        }
        i++;
    }
    if (r == 0 && eio_payload_next(&it, &pkt) != 0) r = -98; /* the end repeats */
    free(copy);
    *got = i;
    return r;
}

#define CHECK_DECODES(f, body, ...)                                                                \
    do {                                                                                           \
        const expect_pkt want_[] = {__VA_ARGS__};                                                  \
        size_t n_ = sizeof want_ / sizeof *want_, got_;                                            \
        CHECK_INT(decode_all(f, S(body), want_, n_, 0, &got_), 0);                                 \
        CHECK_INT(got_, n_);                                                                       \
    } while (0)

#define CHECK_REJECTS(f, body)                                                                     \
    do {                                                                                           \
        size_t got_;                                                                               \
        int r_ = decode_all(f, S(body), NULL, 0, 0, &got_);                                        \
        if (r_ != SIO_EPROTO) fprintf(stderr, "not rejected (%d): %s\n", r_, #body);               \
        CHECK_INT(r_, SIO_EPROTO);                                                                 \
    } while (0)

static bool encode_payload(eio_payload_format f, const eio_packet *pkts, size_t n, const char *want,
                           size_t want_len) {
    util_buf b = UTIL_BUF_INIT;
    eio_payload_writer w;
    eio_payload_writer_init(&w, &b, f);
    int r = 0;
    for (size_t i = 0; i < n && !r; i++) r = eio_payload_write(&w, &pkts[i]);
    if (!r) r = eio_payload_finish(&w);
    bool ok = !r && b.len == want_len && memcmp(b.data, want, want_len) == 0;
    if (!ok) fprintf(stderr, "encoded (r=%d) \"%.*s\"\n", r, (int)b.len, b.data);
    util_buf_free(&b);
    return ok;
}

#define PKT(t, s)                                                                                  \
    { t, false, s, sizeof(s) - 1 }
#define BPKT(t, s)                                                                                 \
    { t, true, s, sizeof(s) - 1 }
#define CHECK_ENCODES(f, want, ...)                                                                \
    do {                                                                                           \
        const eio_packet pkts_[] = {__VA_ARGS__};                                                  \
        CHECK(encode_payload(f, pkts_, sizeof pkts_ / sizeof *pkts_, S(want)));                    \
    } while (0)

/* ---- v4 ----------------------------------------------------------------------------- */

static void test_v4_spec_payloads(void) {
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "4hello\x1e"
                  "2\x1e"
                  "4world",
                  TXT(EIO_MESSAGE, "hello"), TXT(EIO_PING, ""), TXT(EIO_MESSAGE, "world"));
    CHECK_ENCODES(EIO_PAYLOAD_V4,
                  "4hello\x1e"
                  "2\x1e"
                  "4world",
                  PKT(EIO_MESSAGE, "hello"), PKT(EIO_PING, ""), PKT(EIO_MESSAGE, "world"));
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "4hello\x1e"
                  "bAQIDBA==",
                  TXT(EIO_MESSAGE, "hello"), BIN(EIO_MESSAGE, "\x01\x02\x03\x04"));
    CHECK_ENCODES(EIO_PAYLOAD_V4,
                  "4hello\x1e"
                  "bAQIDBA==",
                  PKT(EIO_MESSAGE, "hello"), BPKT(EIO_MESSAGE, "\x01\x02\x03\x04"));
    /* sample session: a POST of two Socket.IO events */
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "42[\"hello\"]\x1e"
                  "42[\"world\"]",
                  TXT(EIO_MESSAGE, "2[\"hello\"]"), TXT(EIO_MESSAGE, "2[\"world\"]"));
    CHECK_DECODES(EIO_PAYLOAD_V4, "40", TXT(EIO_MESSAGE, "0"));
    CHECK_DECODES(EIO_PAYLOAD_V4, "6", TXT(EIO_NOOP, ""));
}

static void test_v4_reference_all_types(void) {
    CHECK_ENCODES(EIO_PAYLOAD_V4,
                  "0\x1e"
                  "1\x1e"
                  "2probe\x1e"
                  "3probe\x1e"
                  "4test",
                  PKT(EIO_OPEN, ""), PKT(EIO_CLOSE, ""), PKT(EIO_PING, "probe"),
                  PKT(EIO_PONG, "probe"), PKT(EIO_MESSAGE, "test"));
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "0\x1e"
                  "1\x1e"
                  "2probe\x1e"
                  "3probe\x1e"
                  "4test",
                  TXT(EIO_OPEN, ""), TXT(EIO_CLOSE, ""), TXT(EIO_PING, "probe"),
                  TXT(EIO_PONG, "probe"), TXT(EIO_MESSAGE, "test"));
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "5\x1e"
                  "4\xe2\x82\xac",
                  TXT(EIO_UPGRADE, ""), TXT(EIO_MESSAGE, "\xe2\x82\xac"));
}

static void test_v4_malformed(void) {
    CHECK_REJECTS(EIO_PAYLOAD_V4, "");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "a123");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "{");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "{}");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "[\"a123\", \"a456\"]");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "7");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "\x1e");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "\x1e"
                                  "4a");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "4a\x1e\x1e"
                                  "4b");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "b!!!!");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "bA");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "bAQ==AQ==");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "bAQ=A");
    CHECK_REJECTS(EIO_PAYLOAD_V4, "bAQID\n");

    /* the packets before the bad one come first, then the error, for good */
    size_t got;
    const expect_pkt first[] = {TXT(EIO_MESSAGE, "a")};
    CHECK_INT(decode_all(EIO_PAYLOAD_V4, S("4a\x1e"), first, 1, 0, &got), SIO_EPROTO);
    CHECK_INT(got, 1);
    char body[] = "x";
    eio_payload_iter it;
    eio_packet pkt;
    eio_payload_iter_init(&it, EIO_PAYLOAD_V4, body, 1, 0);
    CHECK_INT(eio_payload_next(&it, &pkt), SIO_EPROTO);
    CHECK_INT(eio_payload_next(&it, &pkt), SIO_EPROTO);
}

static void test_v4_base64_variants(void) {
    CHECK_DECODES(EIO_PAYLOAD_V4, "b", BIN(EIO_MESSAGE, ""));
    CHECK_DECODES(EIO_PAYLOAD_V4, "bAQIDBA", BIN(EIO_MESSAGE, "\x01\x02\x03\x04")); /* unpadded */
    CHECK_DECODES(EIO_PAYLOAD_V4, "bAQIDBA=", BIN(EIO_MESSAGE, "\x01\x02\x03\x04"));
    CHECK_DECODES(EIO_PAYLOAD_V4, "bAQID", BIN(EIO_MESSAGE, "\x01\x02\x03"));
    CHECK_DECODES(EIO_PAYLOAD_V4, "bAQIDBAU", BIN(EIO_MESSAGE, "\x01\x02\x03\x04\x05"));
    CHECK_DECODES(EIO_PAYLOAD_V4,
                  "b/+8=\x1e"
                  "bAA==",
                  BIN(EIO_MESSAGE, "\xff\xef"), BIN(EIO_MESSAGE, "\x00"));
    CHECK_ENCODES(EIO_PAYLOAD_V4, "b", BPKT(EIO_MESSAGE, ""));
    /* binary is only for messages */
    util_buf b = UTIL_BUF_INIT;
    eio_payload_writer w;
    eio_payload_writer_init(&w, &b, EIO_PAYLOAD_V4);
    eio_packet ping = {EIO_PING, true, "x", 1};
    CHECK_INT(eio_payload_write(&w, &ping), SIO_EINVAL);
    CHECK_INT(b.len, 0);
    util_buf_free(&b);
}

static void test_max_packets(void) {
    size_t got;
    const expect_pkt two[] = {TXT(EIO_PING, ""), TXT(EIO_PING, "")};
    CHECK_INT(decode_all(EIO_PAYLOAD_V4,
                         S("2\x1e"
                           "2\x1e"
                           "2"),
                         two, 2, 2, &got),
              SIO_ETOOBIG);
    CHECK_INT(got, 2);
    CHECK_INT(decode_all(EIO_PAYLOAD_V4,
                         S("2\x1e"
                           "2"),
                         two, 2, 2, &got),
              0);
    CHECK_INT(decode_all(EIO_PAYLOAD_V3_TEXT, S("1:21:21:2"), two, 2, 2, &got), SIO_ETOOBIG);
}

static void test_ws_v4(void) {
    char text[] = "4hello", bin[] = "\x01\x02\x03", probe[] = "2probe", b64[] = "bAQID";
    eio_packet p;
    CHECK_INT(eio_ws_decode(text, 6, false, 4, &p), 0);
    CHECK(p.type == EIO_MESSAGE && !p.binary && p.len == 5 && memcmp(p.data, "hello", 5) == 0);
    CHECK_INT(eio_ws_decode(bin, 3, true, 4, &p), 0);
    CHECK(p.type == EIO_MESSAGE && p.binary && p.len == 3 && p.data == bin);
    CHECK_INT(eio_ws_decode(probe, 6, false, 4, &p), 0);
    CHECK(p.type == EIO_PING && p.len == 5);
    CHECK_INT(eio_ws_decode(b64, 5, false, 4, &p), 0);
    CHECK(p.binary && p.len == 3 && memcmp(p.data, "\x01\x02\x03", 3) == 0);
    CHECK_INT(eio_ws_decode(text, 0, false, 4, &p), SIO_EPROTO);
    CHECK_INT(eio_ws_decode(bin, 0, true, 4, &p), 0);  /* an empty binary message */
    CHECK_INT(eio_ws_decode(NULL, 0, true, 4, &p), 0); /* regression (fuzz): from an empty buf */
    CHECK(p.data != NULL && p.len == 0);

    util_buf b = UTIL_BUF_INIT;
    eio_packet pong = {EIO_PONG, false, "probe", 5}, msg = {EIO_MESSAGE, true, "\x00\x01", 2};
    CHECK_INT(eio_ws_encode(&b, 4, &pong), 0);
    CHECK(b.len == 6 && memcmp(b.data, "3probe", 6) == 0);
    b.len = 0;
    CHECK_INT(eio_ws_encode(&b, 4, &msg), 1);
    CHECK(b.len == 2 && memcmp(b.data, "\x00\x01", 2) == 0);
    b.len = 0;
    eio_packet bad = {EIO_PING, true, "", 0};
    CHECK_INT(eio_ws_encode(&b, 4, &bad), SIO_EINVAL);
    util_buf_free(&b);
}

/* ---- v3 ------------------------------------------------------------------------------ */

static void test_v3_spec_text_payloads(void) {
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "4:4hey", TXT(EIO_MESSAGE, "hey"));
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "6:4hello6:4world", TXT(EIO_MESSAGE, "hello"),
                  TXT(EIO_MESSAGE, "world"));
    CHECK_ENCODES(EIO_PAYLOAD_V3_TEXT, "6:4hello6:4world", PKT(EIO_MESSAGE, "hello"),
                  PKT(EIO_MESSAGE, "world"));
    /* € is one UTF-16 unit, three bytes */
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "6:4hello2:4\xe2\x82\xac", TXT(EIO_MESSAGE, "hello"),
                  TXT(EIO_MESSAGE, "\xe2\x82\xac"));
    CHECK_ENCODES(EIO_PAYLOAD_V3_TEXT, "6:4hello2:4\xe2\x82\xac", PKT(EIO_MESSAGE, "hello"),
                  PKT(EIO_MESSAGE, "\xe2\x82\xac"));
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT,
                  "2:4\xe2\x82\xac"
                  "10:b4AQIDBA==",
                  TXT(EIO_MESSAGE, "\xe2\x82\xac"), BIN(EIO_MESSAGE, "\x01\x02\x03\x04"));
    CHECK_ENCODES(EIO_PAYLOAD_V3_TEXT,
                  "2:4\xe2\x82\xac"
                  "10:b4AQIDBA==",
                  PKT(EIO_MESSAGE, "\xe2\x82\xac"), BPKT(EIO_MESSAGE, "\x01\x02\x03\x04"));
    /* the open packet of the sample session */
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT,
                  "96:0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                  "\"pingInterval\":25000,\"pingTimeout\":5000}",
                  TXT(EIO_OPEN, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                                "\"pingInterval\":25000,\"pingTimeout\":5000}"));
}

static void test_v3_utf16_lengths(void) {
    /* an emoji is two UTF-16 units (a surrogate pair), four bytes */
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "3:4\xf0\x9f\x98\x80", TXT(EIO_MESSAGE, "\xf0\x9f\x98\x80"));
    CHECK_ENCODES(EIO_PAYLOAD_V3_TEXT, "3:4\xf0\x9f\x98\x80", PKT(EIO_MESSAGE, "\xf0\x9f\x98\x80"));
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "7:4a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z1:2",
                  TXT(EIO_MESSAGE, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), TXT(EIO_PING, ""));
    CHECK_ENCODES(EIO_PAYLOAD_V3_TEXT, "7:4a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z",
                  PKT(EIO_MESSAGE, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"));
    /* a length that splits the pair, or counts bytes instead of units */
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "2:4\xf0\x9f\x98\x80");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "5:4\xf0\x9f\x98\x80");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "4:4\xe2\x82\xac");
    /* invalid UTF-8 inside the counted text */
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "3:4\xff\xfe");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "2:4\xed\xa0\x80");
}

static void test_v3_text_edge_cases(void) {
    /* engine.io-parser 2.x: bad lengths and bad packets */
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "1!");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "))");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "3:99:");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "1:aa");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "1:a2:b");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "2:4");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "1:");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, ":4a");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "2:4a1");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, " 2:4a");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "99999999999999999999999:4a");
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "6:b9AQID"); /* bad type after b */
    CHECK_REJECTS(EIO_PAYLOAD_V3_TEXT, "3:b4A");
    /* "0:" is the empty payload; zero-length packets are skipped */
    size_t got;
    CHECK_INT(decode_all(EIO_PAYLOAD_V3_TEXT, S("0:"), NULL, 0, 0, &got), 0);
    CHECK_INT(got, 0);
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "0:2:4a0:", TXT(EIO_MESSAGE, "a"));
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "6:b2AQID", BIN(EIO_PING, "\x01\x02\x03"));
    CHECK_DECODES(EIO_PAYLOAD_V3_TEXT, "2:b4", BIN(EIO_MESSAGE, ""));
    CHECK(encode_payload(EIO_PAYLOAD_V3_TEXT, NULL, 0, S("0:")));
}

static void test_v3_binary_payloads(void) {
    /* the spec's example: "4€" as text, then the buffer 01 02 03 04. The spec
     * draws the binary packet without its type byte (01 04 ff 01 02 03 04);
     * the reference encoder writes the type byte 04 first, so the length is 5. */
    static const char spec[] = "\x00\x04\xff\x34\xe2\x82\xac"
                               "\x01\x05\xff\x04\x01\x02\x03\x04";
    const expect_pkt want[] = {TXT(EIO_MESSAGE, "\xe2\x82\xac"),
                               BIN(EIO_MESSAGE, "\x01\x02\x03\x04")};
    size_t got;
    CHECK_INT(decode_all(EIO_PAYLOAD_V3_BINARY, spec, sizeof spec - 1, want, 2, 0, &got), 0);
    CHECK_INT(got, 2);
    const eio_packet pkts[] = {PKT(EIO_MESSAGE, "\xe2\x82\xac"),
                               BPKT(EIO_MESSAGE, "\x01\x02\x03\x04")};
    CHECK(encode_payload(EIO_PAYLOAD_V3_BINARY, pkts, 2, spec, sizeof spec - 1));

    /* multi-digit lengths: 12 bytes of text is the digits 1, 2 */
    static const char twelve[] = "\x00\x01\x02\xff"
                                 "4hello world";
    const expect_pkt hello[] = {TXT(EIO_MESSAGE, "hello world")};
    CHECK_INT(decode_all(EIO_PAYLOAD_V3_BINARY, twelve, sizeof twelve - 1, hello, 1, 0, &got), 0);
    const eio_packet hello_pkt[] = {PKT(EIO_MESSAGE, "hello world")};
    CHECK(encode_payload(EIO_PAYLOAD_V3_BINARY, hello_pkt, 1, twelve, sizeof twelve - 1));

    /* an empty body holds no packets */
    CHECK_INT(decode_all(EIO_PAYLOAD_V3_BINARY, "", 0, NULL, 0, 0, &got), 0);
    CHECK_INT(got, 0);
    /* regression (fuzz): an empty util_buf has a NULL data pointer */
    eio_payload_iter it;
    eio_packet pkt;
    eio_payload_iter_init(&it, EIO_PAYLOAD_V3_BINARY, NULL, 0, 0);
    CHECK_INT(eio_payload_next(&it, &pkt), 0);
    eio_payload_iter_init(&it, EIO_PAYLOAD_V4, NULL, 0, 0);
    CHECK_INT(eio_payload_next(&it, &pkt), SIO_EPROTO);
}

static void test_v3_binary_malformed(void) {
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\x02\x01\xff"
         "4",
         4}, /* neither text nor binary */
        {"\x00\x0a\xff"
         "4",
         4}, /* a digit byte above 9 */
        {"\x00\x01"
         "4",
         3}, /* no 0xFF */
        {"\x00\xff"
         "4",
         3}, /* no digits */
        {"\x00\x05\xff"
         "4ab",
         6},                 /* truncated */
        {"\x00\x00\xff", 3}, /* zero length */
        {"\x01\x02\xff\x07"
         "a",
         5}, /* binary type 7 */
        {"\x00\x02\xff"
         "9a",
         5}, /* text type 9 */
        {"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"
         "\xff"
         "4",
         22}, /* 20 digits */
        {"\x00", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t got;
        int r = decode_all(EIO_PAYLOAD_V3_BINARY, bad[i].s, bad[i].len, NULL, 0, 0, &got);
        if (r != SIO_EPROTO) fprintf(stderr, "case %zu: %d\n", i, r);
        CHECK_INT(r, SIO_EPROTO);
    }
}

static void test_ws_v3(void) {
    char bin[] = "\x04\x01\x02", ping[] = "\x02", b64[] = "b4AQID", txt[] = "4hey";
    eio_packet p;
    CHECK_INT(eio_ws_decode(bin, 3, true, 3, &p), 0);
    CHECK(p.type == EIO_MESSAGE && p.binary && p.len == 2 && memcmp(p.data, "\x01\x02", 2) == 0);
    CHECK_INT(eio_ws_decode(ping, 1, true, 3, &p), 0);
    CHECK(p.type == EIO_PING && p.len == 0);
    CHECK_INT(eio_ws_decode(b64, 6, false, 3, &p), 0);
    CHECK(p.type == EIO_MESSAGE && p.binary && p.len == 3);
    CHECK_INT(eio_ws_decode(txt, 4, false, 3, &p), 0);
    CHECK(p.type == EIO_MESSAGE && !p.binary && p.len == 3);
    char bad[] = "\x09x";
    CHECK_INT(eio_ws_decode(bad, 2, true, 3, &p), SIO_EPROTO);
    CHECK_INT(eio_ws_decode(bad, 0, true, 3, &p), SIO_EPROTO);

    util_buf b = UTIL_BUF_INIT;
    eio_packet msg = {EIO_MESSAGE, true, "\x01\x02", 2};
    CHECK_INT(eio_ws_encode(&b, 3, &msg), 1);
    CHECK(b.len == 3 && memcmp(b.data, "\x04\x01\x02", 3) == 0);
    util_buf_free(&b);
}

/* ---- handshake, errors, base64 in place ------------------------------------------------- */

static void test_open_json(void) {
    const char *up[] = {"websocket"};
    eio_handshake h = {"lv_VI97HAXpY6yYWAAAC", up, 1, 25000, 20000, 1000000, 4};
    util_buf b = UTIL_BUF_INIT;
    CHECK_INT(eio_open_json(&b, &h), 0);
    const char *v4 = "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                     "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
    bool ok4 = b.len == strlen(v4) && memcmp(b.data, v4, b.len) == 0;
    b.len = 0;
    h.version = 3;
    h.ping_timeout = 5000;
    CHECK_INT(eio_open_json(&b, &h), 0);
    const char *v3 = "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                     "\"pingInterval\":25000,\"pingTimeout\":5000}";
    bool ok3 = b.len == strlen(v3) && memcmp(b.data, v3, b.len) == 0;
    b.len = 0;
    h.upgrades_count = 0;
    h.sid = "a\"b";
    CHECK_INT(eio_open_json(&b, &h), 0);
    const char *none = "{\"sid\":\"a\\\"b\",\"upgrades\":[],\"pingInterval\":25000,"
                       "\"pingTimeout\":5000}";
    bool ok0 = b.len == strlen(none) && memcmp(b.data, none, b.len) == 0;
    util_buf_free(&b);
    CHECK(ok4);
    CHECK(ok3);
    CHECK(ok0);
}

static void test_error_bodies(void) {
    CHECK_STR(eio_error_body(EIO_ERR_UNKNOWN_TRANSPORT),
              "{\"code\":0,\"message\":\"Transport unknown\"}");
    CHECK_STR(eio_error_body(EIO_ERR_UNKNOWN_SID),
              "{\"code\":1,\"message\":\"Session ID unknown\"}");
    CHECK_STR(eio_error_body(EIO_ERR_BAD_HANDSHAKE_METHOD),
              "{\"code\":2,\"message\":\"Bad handshake method\"}");
    CHECK_STR(eio_error_body(EIO_ERR_BAD_REQUEST), "{\"code\":3,\"message\":\"Bad request\"}");
    CHECK_STR(eio_error_body(EIO_ERR_FORBIDDEN), "{\"code\":4,\"message\":\"Forbidden\"}");
    CHECK_STR(eio_error_body(EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION),
              "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
    CHECK(eio_error_body(6) == NULL);
    CHECK(eio_error_body(-1) == NULL);
    CHECK_INT(eio_error_status(EIO_ERR_FORBIDDEN), 403);
    CHECK_INT(eio_error_status(EIO_ERR_UNKNOWN_SID), 400);
}

static void test_payload_roundtrip_binary_bytes(void) {
    /* every byte value survives v4 base64 and v3 binary payloads */
    char data[256];
    for (int i = 0; i < 256; i++) data[i] = (char)i;
    eio_payload_format formats[] = {EIO_PAYLOAD_V4, EIO_PAYLOAD_V3_TEXT, EIO_PAYLOAD_V3_BINARY};
    for (size_t f = 0; f < 3; f++) {
        for (size_t len = 0; len <= 256; len += 37) {
            util_buf b = UTIL_BUF_INIT;
            eio_payload_writer w;
            eio_payload_writer_init(&w, &b, formats[f]);
            eio_packet in = {EIO_MESSAGE, true, data, len}, txt = {EIO_MESSAGE, false, "x", 1};
            CHECK_INT(eio_payload_write(&w, &in), 0);
            CHECK_INT(eio_payload_write(&w, &txt), 0);
            eio_payload_iter it;
            eio_packet out;
            eio_payload_iter_init(&it, formats[f], b.data, b.len, 0);
            int r1 = eio_payload_next(&it, &out);
            bool same = r1 == 1 && out.binary && out.len == len && memcmp(out.data, data, len) == 0;
            int r2 = eio_payload_next(&it, &out);
            bool second = r2 == 1 && !out.binary && out.len == 1;
            int r3 = eio_payload_next(&it, &out);
            util_buf_free(&b);
            CHECK(same);
            CHECK(second);
            CHECK_INT(r3, 0);
        }
    }
}

int main(void) {
    RUN(test_v4_spec_payloads);
    RUN(test_v4_reference_all_types);
    RUN(test_v4_malformed);
    RUN(test_v4_base64_variants);
    RUN(test_max_packets);
    RUN(test_ws_v4);
    RUN(test_v3_spec_text_payloads);
    RUN(test_v3_utf16_lengths);
    RUN(test_v3_text_edge_cases);
    RUN(test_v3_binary_payloads);
    RUN(test_v3_binary_malformed);
    RUN(test_ws_v3);
    RUN(test_open_json);
    RUN(test_error_bodies);
    RUN(test_payload_roundtrip_binary_bytes);
    return CHECK_DONE();
}
