/* Unit tests of ws/ws_frame: headers at each length boundary, whole frames,
 * gathered frames, close frames and close code validation. */
#include "check.h"
#include "ws/ws_frame.h"

#include <stdlib.h>

static void test_frame_header_lengths(void) {
    uint8_t h[WS_FRAME_HEADER_MAX];
    CHECK_INT(ws_frame_header(h, 1, 0, WS_OP_TEXT, 0), 2);
    CHECK_MEM(h, "\x81\x00", 2);
    CHECK_INT(ws_frame_header(h, 1, 0, WS_OP_BINARY, 125), 2);
    CHECK_MEM(h, "\x82\x7d", 2);
    CHECK_INT(ws_frame_header(h, 1, 0, WS_OP_BINARY, 126), 4);
    CHECK_MEM(h, "\x82\x7e\x00\x7e", 4);
    CHECK_INT(ws_frame_header(h, 0, 0, WS_OP_TEXT, 65535), 4);
    CHECK_MEM(h, "\x01\x7e\xff\xff", 4);
    CHECK_INT(ws_frame_header(h, 1, 0, WS_OP_TEXT, 65536), 10);
    CHECK_MEM(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    CHECK_INT(ws_frame_header(h, 1, 1, WS_OP_TEXT, UINT64_C(0x0102030405060708)), 10);
    CHECK_MEM(h, "\xc1\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10);
    CHECK_INT(ws_frame_header(h, 0, 0, WS_OP_CONTINUATION, 3), 2);
    CHECK_MEM(h, "\x00\x03", 2);
    CHECK_INT(ws_frame_header(h, 1, 0, WS_OP_PONG, 5), 2);
    CHECK_MEM(h, "\x8a\x05", 2);
}

static void test_frame_encode(void) {
    util_rcbuf *r = ws_frame_encode(WS_OP_TEXT, "Hello", 5);
    CHECK(r != NULL);
    CHECK_INT(r->len, 7);
    CHECK_MEM(r->data, "\x81\x05Hello", 7); /* RFC 6455 section 5.7, unmasked */
    CHECK_INT(r->refs, 1);
    util_rcbuf_unref(r);

    r = ws_frame_encode(WS_OP_PING, NULL, 0);
    CHECK(r != NULL);
    CHECK_INT(r->len, 2);
    CHECK_MEM(r->data, "\x89\x00", 2);
    util_rcbuf_unref(r);

    size_t n = 70000;
    char *big = malloc(n);
    CHECK(big != NULL);
    for (size_t i = 0; i < n; i++) big[i] = (char)i;
    r = ws_frame_encode(WS_OP_BINARY, big, n);
    CHECK(r != NULL);
    CHECK_INT(r->len, n + 10);
    CHECK_MEM(r->data, "\x82\x7f\x00\x00\x00\x00\x00\x01\x11\x70", 10);
    CHECK_MEM(r->data + 10, big, n);
    util_rcbuf_unref(r);
    free(big);
}

static void test_frame_encodev_gathers(void) {
    ws_iov parts[4] = {{"42", 2}, {"[\"chat\",", 8}, {NULL, 0}, {"\"hi\"]", 5}};
    util_rcbuf *r = ws_frame_encodev(WS_OP_TEXT, 0, parts, 4);
    CHECK(r != NULL);
    CHECK_INT(r->len, 17);
    CHECK_MEM(r->data,
              "\x81\x0f"
              "42[\"chat\",\"hi\"]",
              17);
    util_rcbuf_unref(r);

    r = ws_frame_encodev(WS_OP_BINARY, 1, parts, 0);
    CHECK(r != NULL);
    CHECK_MEM(r->data, "\xc2\x00", 2);
    util_rcbuf_unref(r);

    /* 300 bytes from pieces: a 16-bit length */
    char a[100], b[200];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    ws_iov two[2] = {{a, sizeof a}, {b, sizeof b}};
    r = ws_frame_encodev(WS_OP_BINARY, 0, two, 2);
    CHECK(r != NULL);
    CHECK_INT(r->len, 304);
    CHECK_MEM(r->data, "\x82\x7e\x01\x2c", 4);
    CHECK_MEM(r->data + 4, a, 100);
    CHECK_MEM(r->data + 104, b, 200);
    util_rcbuf_unref(r);
}

static void test_close_frames(void) {
    util_rcbuf *r = ws_close_frame_encode(1000, "bye");
    CHECK(r != NULL);
    CHECK_INT(r->len, 7);
    CHECK_MEM(r->data,
              "\x88\x05\x03\xe8"
              "bye",
              7);
    util_rcbuf_unref(r);

    r = ws_close_frame_encode(1001, NULL);
    CHECK(r != NULL);
    CHECK_INT(r->len, 4);
    CHECK_MEM(r->data, "\x88\x02\x03\xe9", 4);
    util_rcbuf_unref(r);

    r = ws_close_frame_encode(WS_CLOSE_NO_STATUS, "ignored"); /* never sent: empty body */
    CHECK(r != NULL);
    CHECK_INT(r->len, 2);
    CHECK_MEM(r->data, "\x88\x00", 2);
    util_rcbuf_unref(r);

    /* a long reason is cut to 123 bytes, at a character boundary */
    char reason[200];
    memset(reason, 'x', sizeof reason);
    reason[199] = '\0';
    uint8_t body[WS_CONTROL_MAX];
    CHECK_INT(ws_close_payload(body, 1011, reason), 125);
    /* "€" (3 bytes) straddling byte 123 is dropped whole */
    memcpy(reason + 121, "\xe2\x82\xac", 3);
    CHECK_INT(ws_close_payload(body, 1011, reason), 2 + 121);
    /* ending exactly at byte 123 is kept */
    memset(reason, 'x', 199);
    memcpy(reason + 120, "\xe2\x82\xac", 3);
    CHECK_INT(ws_close_payload(body, 1011, reason), 125);
    /* a 2-byte character whose second byte would be the 124th */
    memset(reason, 'x', 199);
    memcpy(reason + 122, "\xc3\xa9", 2);
    CHECK_INT(ws_close_payload(body, 1011, reason), 2 + 122);
    /* a 4-byte character straddling */
    memset(reason, 'x', 199);
    memcpy(reason + 120, "\xf0\x9f\x98\x80", 4);
    CHECK_INT(ws_close_payload(body, 1011, reason), 2 + 120);
}

static void test_close_code_valid(void) {
    int good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    int bad[] = {-1,   0,    999,  1004, 1005, 1006, 1012, 1013,
                 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) CHECK(ws_close_code_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(!ws_close_code_valid(bad[i]));
}

int main(void) {
    RUN(test_frame_header_lengths);
    RUN(test_frame_encode);
    RUN(test_frame_encodev_gathers);
    RUN(test_close_frames);
    RUN(test_close_code_valid);
    return CHECK_DONE();
}
