/* Unit tests of ws/ws_deflate: the RFC 7692 examples, round trips through our
 * deflater and inflater for every window size, context takeover across
 * messages, BFINAL blocks, corrupt input, and zip bombs held to the limit. */
#include "check.h"
#include "socketio/common.h"
#include "ws/ws_deflate.h"

#include <stdlib.h>
#include <zlib.h>

#define LIMIT 1000000

static ws_deflate_params params(int snct, int cnct, int sbits, int cbits) {
    ws_deflate_params p = {(uint8_t)snct, (uint8_t)cnct, (uint8_t)sbits, (uint8_t)cbits};
    return p;
}

/* Inflates one whole message given as one piece. */
static int inflate_msg(ws_deflate *d, const void *in, size_t len, util_buf *out, size_t limit) {
    int r = ws_inflate_append(d, in, len, out, limit);
    return r ? r : ws_inflate_finish(d, out, limit);
}

static void test_rfc7692_hello(void) {
    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    CHECK(d != NULL);
    /* section 7.2.3.1: "Hello" compressed */
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(inflate_msg(d, hello, sizeof hello, &out, LIMIT), 0);
    CHECK_INT(out.len, 5);
    CHECK_MEM(out.data, "Hello", 5);
    /* section 7.2.3.2: the same message again, with context takeover */
    static const uint8_t again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    out.len = 0;
    CHECK_INT(inflate_msg(d, again, sizeof again, &out, LIMIT), 0);
    CHECK_INT(out.len, 5);
    CHECK_MEM(out.data, "Hello", 5);
    /* section 7.2.3.3: a block with no compression */
    static const uint8_t stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                     0x65, 0x6c, 0x6c, 0x6f, 0x00};
    out.len = 0;
    CHECK_INT(inflate_msg(d, stored, sizeof stored, &out, LIMIT), 0);
    CHECK_INT(out.len, 5);
    CHECK_MEM(out.data, "Hello", 5);
    /* section 7.2.3.5: two blocks in one message, split over two frames */
    static const uint8_t two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                  0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    out.len = 0;
    CHECK_INT(ws_inflate_append(d, two, 5, &out, LIMIT), 0);
    CHECK_INT(ws_inflate_append(d, two + 5, sizeof two - 5, &out, LIMIT), 0);
    CHECK_INT(ws_inflate_finish(d, &out, LIMIT), 0);
    CHECK_INT(out.len, 5);
    CHECK_MEM(out.data, "Hello", 5);
    /* section 7.2.3.4: a block with BFINAL set, then a normal message */
    static const uint8_t final[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    out.len = 0;
    CHECK_INT(inflate_msg(d, final, sizeof final, &out, LIMIT), 0);
    CHECK_MEM(out.data, "Hello", 5);
    CHECK_INT(out.len, 5);
    out.len = 0;
    CHECK_INT(inflate_msg(d, hello, sizeof hello, &out, LIMIT), 0);
    CHECK_INT(out.len, 5);
    util_buf_free(&out);

    /* our compressor gives the RFC's bytes for both messages */
    util_buf z = UTIL_BUF_INIT;
    CHECK_INT(ws_deflate_message(d, "Hello", 5, &z), 0);
    CHECK_INT(z.len, sizeof hello);
    CHECK_MEM(z.data, hello, sizeof hello);
    z.len = 0;
    CHECK_INT(ws_deflate_message(d, "Hello", 5, &z), 0);
    CHECK_INT(z.len, sizeof again);
    CHECK_MEM(z.data, again, sizeof again);
    util_buf_free(&z);
    ws_deflate_free(d);
}

static void test_no_context_takeover(void) {
    /* the client promised not to refer back: a back reference is an error */
    ws_deflate_params p = params(1, 1, 15, 15);
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    CHECK(d != NULL);
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(inflate_msg(d, hello, sizeof hello, &out, LIMIT), 0);
    out.len = 0;
    CHECK_INT(inflate_msg(d, again, sizeof again, &out, LIMIT), SIO_EPROTO);
    util_buf_free(&out);
    /* our compressor resets: each message compresses alone */
    util_buf z = UTIL_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        z.len = 0;
        CHECK_INT(ws_deflate_message(d, "Hello", 5, &z), 0);
        CHECK_INT(z.len, sizeof hello);
        CHECK_MEM(z.data, hello, sizeof hello);
    }
    util_buf_free(&z);
    ws_deflate_free(d);
}

static void fill(uint8_t *p, size_t n, unsigned seed, int compressible) {
    srand(seed);
    static const char *words[] = {"socket", "io", "hello", " ", "{\"event\":", "42", "chat"};
    size_t i = 0;
    while (i < n) {
        if (compressible) {
            const char *w = words[rand() % 7];
            while (*w && i < n) p[i++] = (uint8_t)*w++;
        } else {
            p[i++] = (uint8_t)rand();
        }
    }
}

/* Messages from our deflater (server side with params s) through an inflater
 * configured as the client would be, in pieces of every size class. */
static void test_round_trip_all_windows(void) {
    size_t sizes[] = {0, 1, 5, 100, 1000, 70000, 300000};
    uint8_t *msg = malloc(300000);
    CHECK(msg != NULL);
    for (int bits = 8; bits <= 15; bits++) {
        for (int nct = 0; nct <= 1; nct++) {
            ws_deflate_params ps = params(nct, 0, bits, 15);
            ws_deflate_params pc = params(0, nct, 15, bits); /* the receiving side */
            ws_deflate *tx = ws_deflate_new(&ps, 6, 0);
            ws_deflate *rx = ws_deflate_new(&pc, 6, 0);
            CHECK(tx && rx);
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                for (int comp = 0; comp <= 1; comp++) {
                    size_t n = sizes[k];
                    fill(msg, n, (unsigned)(bits * 100 + k * 2 + (size_t)comp), comp);
                    util_buf z = UTIL_BUF_INIT, out = UTIL_BUF_INIT;
                    CHECK_INT(ws_deflate_message(tx, msg, n, &z), 0);
                    if (comp && n >= 1000) CHECK(z.len < n / 2);
                    /* feed in uneven pieces */
                    size_t off = 0, step = 1;
                    while (off < z.len) {
                        size_t m = z.len - off < step ? z.len - off : step;
                        CHECK_INT(ws_inflate_append(rx, (uint8_t *)z.data + off, m, &out, LIMIT),
                                  0);
                        off += m;
                        step = step * 3 + 1;
                    }
                    CHECK_INT(ws_inflate_finish(rx, &out, LIMIT), 0);
                    CHECK_INT(out.len, n);
                    if (n) CHECK_MEM(out.data, msg, n);
                    util_buf_free(&z);
                    util_buf_free(&out);
                }
            }
            ws_deflate_free(tx);
            ws_deflate_free(rx);
        }
    }
    free(msg);
}

/* With an 8-bit window agreed, our compressor (really 9 bits in zlib) never
 * refers further back than 256 bytes: a strict 8-bit inflater reads it. */
static void test_window_8_compatible(void) {
    size_t n = 200000;
    uint8_t *msg = malloc(n);
    CHECK(msg != NULL);
    /* repeats at distances 200..500 */
    srand(3);
    for (size_t i = 0; i < n; i++)
        msg[i] = i < 500 ? (uint8_t)rand() : (i % 7 ? msg[i - 200 - (i % 301)] : (uint8_t)rand());
    ws_deflate_params ps = params(0, 0, 8, 15), pc = params(0, 0, 15, 8);
    ws_deflate *tx = ws_deflate_new(&ps, 9, 9), *rx = ws_deflate_new(&pc, -1, 0);
    CHECK(tx && rx);
    for (int m = 0; m < 3; m++) {
        util_buf z = UTIL_BUF_INIT, out = UTIL_BUF_INIT;
        CHECK_INT(ws_deflate_message(tx, msg, n, &z), 0);
        CHECK_INT(inflate_msg(rx, z.data, z.len, &out, LIMIT), 0);
        CHECK_INT(out.len, n);
        CHECK_MEM(out.data, msg, n);
        util_buf_free(&z);
        util_buf_free(&out);
    }
    ws_deflate_free(tx);
    ws_deflate_free(rx);
    free(msg);
}

/* Raw deflate of data with zlib directly: level, window, optional dictionary,
 * flush mode. */
static size_t zraw(const void *in, size_t n, uint8_t *out, size_t cap, int bits, const char *dict,
                   int flush) {
    z_stream s;
    memset(&s, 0, sizeof s);
    if (deflateInit2(&s, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return 0;
    if (dict) deflateSetDictionary(&s, (const Bytef *)dict, (uInt)strlen(dict));
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    deflate(&s, flush);
    size_t len = cap - s.avail_out;
    deflateEnd(&s);
    return len;
}

/* A message ending in a BFINAL block, then one that refers back into it: the
 * window survives the end of the deflate stream. */
static void test_bfinal_keeps_window(void) {
    const char *m1 = "the quick brown fox jumps over the lazy dog";
    uint8_t z1[256], z2[256];
    size_t n1 = zraw(m1, strlen(m1), z1, sizeof z1, 15, NULL, Z_FINISH);
    size_t n2 = zraw(m1, strlen(m1), z2, sizeof z2, 15, m1, Z_SYNC_FLUSH);
    CHECK(n1 > 0 && n2 > 4);
    n2 -= 4;        /* strip 00 00 ff ff */
    CHECK(n2 < 10); /* it is a back reference, not the text */

    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    CHECK(d != NULL);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(inflate_msg(d, z1, n1, &out, LIMIT), 0);
    CHECK_INT(out.len, strlen(m1));
    out.len = 0;
    CHECK_INT(inflate_msg(d, z2, n2, &out, LIMIT), 0);
    CHECK_INT(out.len, strlen(m1));
    CHECK_MEM(out.data, m1, out.len);
    util_buf_free(&out);
    ws_deflate_free(d);
}

static void test_corrupt_data(void) {
    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    static const uint8_t bad[][4] = {
        {0xff, 0xff, 0xff, 0xff}, /* reserved block type 11 */
        {0x06, 0x00, 0x00, 0x00}, /* BTYPE 11 again, non-final */
        {0x00, 0x05, 0x00, 0x00}, /* stored block with LEN/NLEN mismatch */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ws_deflate *d = ws_deflate_new(&p, -1, 0);
        CHECK(d != NULL);
        util_buf out = UTIL_BUF_INIT;
        CHECK_INT(inflate_msg(d, bad[i], 4, &out, LIMIT), SIO_EPROTO);
        util_buf_free(&out);
        ws_deflate_free(d);
    }
    /* a window too small for the data: distance too far back */
    ws_deflate_params p9 = params(0, 0, 15, 9);
    size_t n = 20000;
    uint8_t *msg = malloc(n), *z = malloc(n);
    CHECK(msg && z);
    fill(msg, 4000, 1, 0);
    memcpy(msg + 4000, msg, 4000); /* a repeat 4000 bytes back */
    size_t zn = zraw(msg, 8000, z, n, 15, NULL, Z_SYNC_FLUSH);
    CHECK(zn > 4);
    ws_deflate *d = ws_deflate_new(&p9, -1, 0);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(inflate_msg(d, z, zn - 4, &out, LIMIT), SIO_EPROTO);
    util_buf_free(&out);
    ws_deflate_free(d);
    free(msg);
    free(z);
}

/* 50 MB of zeros compress to about 50 KB; inflating stops at the limit and
 * never allocates much past it. */
static void test_zip_bomb_limited(void) {
    size_t n = 50u << 20;
    uint8_t *zeros = calloc(1, n);
    CHECK(zeros != NULL);
    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    ws_deflate *tx = ws_deflate_new(&p, 9, 0), *rx = ws_deflate_new(&p, -1, 0);
    CHECK(tx && rx);
    util_buf z = UTIL_BUF_INIT;
    CHECK_INT(ws_deflate_message(tx, zeros, n, &z), 0);
    free(zeros);
    CHECK(z.len < 100000);
    util_buf out = UTIL_BUF_INIT;
    CHECK_INT(inflate_msg(rx, z.data, z.len, &out, LIMIT), SIO_ETOOBIG);
    CHECK(out.len <= LIMIT + 1);
    CHECK(out.cap <= 2 * LIMIT + 64);
    util_buf_free(&out);
    ws_deflate_free(rx);
    /* the same, a few bytes at a time */
    rx = ws_deflate_new(&p, -1, 0);
    int r = 0;
    for (size_t off = 0; off < z.len && r == 0; off += 7) {
        size_t m = z.len - off < 7 ? z.len - off : 7;
        r = ws_inflate_append(rx, (uint8_t *)z.data + off, m, &out, LIMIT);
    }
    CHECK_INT(r, SIO_ETOOBIG);
    CHECK(out.len <= LIMIT + 1);
    util_buf_free(&out);
    util_buf_free(&z);
    ws_deflate_free(rx);
    ws_deflate_free(tx);
}

/* A message of exactly the limit passes; one byte more fails, even when the
 * extra byte only appears when the tail is inflated. */
static void test_limit_exact(void) {
    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    ws_deflate *tx = ws_deflate_new(&p, -1, 0);
    uint8_t msg[1001];
    fill(msg, sizeof msg, 9, 1);
    for (size_t lim = 999; lim <= 1001; lim++) {
        ws_deflate *rx = ws_deflate_new(&p, -1, 0);
        util_buf z = UTIL_BUF_INIT, out = UTIL_BUF_INIT;
        CHECK_INT(ws_deflate_message(tx, msg, 1000, &z), 0);
        int r = inflate_msg(rx, z.data, z.len, &out, lim);
        CHECK_INT(r, lim >= 1000 ? 0 : SIO_ETOOBIG);
        if (r == 0) CHECK_INT(out.len, 1000);
        util_buf_free(&z);
        util_buf_free(&out);
        ws_deflate_free(rx);
        ws_deflate_free(tx);
        tx = ws_deflate_new(&p, -1, 0); /* fresh context: same bytes each time */
    }
    ws_deflate_free(tx);
}

static void test_empty_messages_and_frames(void) {
    ws_deflate_params p = WS_DEFLATE_PARAMS_DEFAULT;
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    util_buf z = UTIL_BUF_INIT, out = UTIL_BUF_INIT;
    CHECK_INT(ws_deflate_message(d, "abc", 3, &z), 0);
    z.len = 0;
    CHECK_INT(ws_deflate_message(d, "", 0, &z), 0);
    CHECK_INT(z.len, 1);
    CHECK_INT((uint8_t)z.data[0], 0);
    CHECK_INT(inflate_msg(d, z.data, z.len, &out, LIMIT), 0);
    CHECK_INT(out.len, 0);
    /* an empty payload (nothing at all) is an empty message too */
    CHECK_INT(inflate_msg(d, "", 0, &out, LIMIT), 0);
    CHECK_INT(out.len, 0);
    util_buf_free(&z);
    util_buf_free(&out);

    util_rcbuf *f = ws_deflate_frame(d, 1, "Hello", 5);
    CHECK(f != NULL);
    CHECK_INT(f->len, 2 + 7);
    CHECK_MEM(f->data, "\xc1\x07\xf2\x48\xcd\xc9\xc9\x07\x00", 9);
    util_rcbuf_unref(f);
    f = ws_deflate_frame(d, 1, "Hello", 5);
    CHECK(f != NULL);
    CHECK(f->len < 9); /* the second "Hello" refers back to the first */
    CHECK_INT((uint8_t)f->data[0], 0xc1);
    CHECK_INT((uint8_t)f->data[1], f->len - 2);
    util_rcbuf_unref(f);
    ws_deflate_free(d);

    /* invalid parameters */
    ws_deflate_params bad = params(0, 0, 7, 15);
    CHECK(ws_deflate_new(&bad, -1, 0) == NULL);
    bad = params(0, 0, 15, 16);
    CHECK(ws_deflate_new(&bad, -1, 0) == NULL);
    CHECK(ws_deflate_new(&p, 10, 0) == NULL);
    CHECK(ws_deflate_new(&p, 1, 10) == NULL);
    ws_deflate_free(NULL);
}

int main(void) {
    RUN(test_rfc7692_hello);
    RUN(test_no_context_takeover);
    RUN(test_round_trip_all_windows);
    RUN(test_window_8_compatible);
    RUN(test_bfinal_keeps_window);
    RUN(test_corrupt_data);
    RUN(test_zip_bomb_limited);
    RUN(test_limit_exact);
    RUN(test_empty_messages_and_frames);
    return CHECK_DONE();
}
