/* Unit tests of ws/ws_parser: every protocol violation with its close code,
 * every split of multi-frame streams (two feeds at every cut, one byte at a
 * time, random chunks), masking, 16/64-bit lengths, fragmentation with
 * interleaved control frames, UTF-8 across fragments, size limits, zero copy,
 * stopping from callbacks, and permessage-deflate messages. */
#include "check.h"
#include "socketio/common.h"
#include "ws/ws_parser.h"

#include <stdlib.h>

/* ---- building client frames ------------------------------------------------ */

typedef struct stream {
    uint8_t *data;
    size_t len, cap;
} stream;

static void put(stream *s, const void *p, size_t n) {
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->data = realloc(s->data, s->cap);
    }
    if (n) memcpy(s->data + s->len, p, n);
    s->len += n;
}

/* Length forms: 0 = shortest, 16 or 64 = force that form. */
static void frame_ex(stream *s, int b0, const void *payload, size_t n, int masked, int form) {
    uint8_t h[14];
    size_t hl = 0;
    h[hl++] = (uint8_t)b0;
    uint8_t m = masked ? 0x80 : 0;
    if (form == 0 && n < 126) {
        h[hl++] = m | (uint8_t)n;
    } else if (form == 16 || (form == 0 && n <= 0xFFFF)) {
        h[hl++] = m | 126;
        h[hl++] = (uint8_t)(n >> 8);
        h[hl++] = (uint8_t)n;
    } else {
        h[hl++] = m | 127;
        for (int i = 7; i >= 0; i--) h[hl++] = (uint8_t)((uint64_t)n >> (8 * i));
    }
    uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) memcpy(h + hl, key, 4), hl += 4;
    put(s, h, hl);
    size_t start = s->len;
    put(s, payload, n);
    if (masked)
        for (size_t i = 0; i < n; i++) s->data[start + i] ^= key[(i + n * 0) & 3];
}

static void frame(stream *s, int b0, const void *payload, size_t n) {
    frame_ex(s, b0, payload, n, 1, 0);
}

static void frame_str(stream *s, int b0, const char *text) {
    frame(s, b0, text, strlen(text));
}

/* ---- recording events ------------------------------------------------------- */

typedef struct recorder {
    char log[8192];
    size_t len;
    int stop_after;   /* stop (return 1) at this event number, 0 never */
    int stop_via_api; /* ... by calling ws_parser_stop instead */
    int events;
    ws_parser *parser;
    const uint8_t *last_data; /* where the last message's payload was */
} recorder;

static void rec_add(recorder *r, const char *tag, const uint8_t *d, size_t n) {
    int w = snprintf(r->log + r->len, sizeof r->log - r->len, "%s", tag);
    if (w > 0) r->len += (size_t)w;
    for (size_t i = 0; i < n && r->len + 4 < sizeof r->log; i++) {
        if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '\\')
            r->log[r->len++] = (char)d[i];
        else
            r->len += (size_t)snprintf(r->log + r->len, sizeof r->log - r->len, "\\%02x", d[i]);
    }
    if (r->len + 1 < sizeof r->log) r->log[r->len++] = '|';
    r->log[r->len] = '\0';
}

static int rec_result(recorder *r) {
    r->events++;
    if (r->stop_after && r->events == r->stop_after) {
        if (r->stop_via_api) {
            ws_parser_stop(r->parser);
            return 0;
        }
        return 1;
    }
    return 0;
}

static int on_message(void *ud, int opcode, const uint8_t *data, size_t len) {
    recorder *r = ud;
    r->last_data = data;
    if (len > 400) {
        char tag[64];
        /* summarize big messages: length and a checksum */
        unsigned sum = 0;
        for (size_t i = 0; i < len; i++) sum = sum * 31 + data[i];
        snprintf(tag, sizeof tag, "%c%zu#%08x", opcode == WS_OP_TEXT ? 'T' : 'B', len, sum);
        rec_add(r, tag, NULL, 0);
    } else {
        rec_add(r, opcode == WS_OP_TEXT ? "T:" : "B:", data, len);
    }
    return rec_result(r);
}

static int on_ping(void *ud, const uint8_t *data, size_t len) {
    rec_add(ud, "PING:", data, len);
    return rec_result(ud);
}

static int on_pong(void *ud, const uint8_t *data, size_t len) {
    rec_add(ud, "PONG:", data, len);
    return rec_result(ud);
}

static int on_close(void *ud, int code, const char *reason, size_t len) {
    char tag[32];
    snprintf(tag, sizeof tag, "CLOSE:%d:", code);
    rec_add(ud, tag, (const uint8_t *)reason, len);
    return rec_result(ud);
}

static ws_parser_config config = {0, on_message, on_ping, on_pong, on_close};

typedef struct run_result {
    int ret;  /* the last feed's result */
    int code; /* close code after an error */
} run_result;

/* Feeds a copy of s in chunks of the given sizes (cycled; 0 = all at once).
 * deflate: whether permessage-deflate was negotiated (params p). */
static run_result run(const stream *s, const ws_parser_config *cfg, recorder *rec,
                      const size_t *chunks, size_t nchunks, const ws_deflate_params *dp) {
    uint8_t *copy = malloc(s->len + 1);
    memcpy(copy, s->data, s->len);
    ws_parser p;
    ws_parser_init(&p, cfg, rec);
    rec->parser = &p;
    ws_deflate *d = NULL;
    if (dp) {
        d = ws_deflate_new(dp, -1, 0);
        ws_parser_set_deflate(&p, d);
    }
    run_result res = {0, 0};
    size_t pos = 0, k = 0;
    do {
        size_t n = s->len - pos;
        if (nchunks && chunks[k % nchunks] && chunks[k % nchunks] < n) n = chunks[k % nchunks];
        k++;
        res.ret = ws_parser_feed(&p, copy + pos, n);
        pos += n;
    } while (pos < s->len);
    res.code = ws_parser_close_code(&p);
    ws_parser_free(&p);
    ws_deflate_free(d);
    free(copy);
    return res;
}

static run_result run_whole(const stream *s, recorder *rec) {
    return run(s, &config, rec, NULL, 0, NULL);
}

/* Expects the stream to fail with close code `code` (fed whole, and one byte
 * at a time) after producing the events in `log`. */
static int expect_error(const stream *s, const ws_parser_config *cfg, int code, const char *log,
                        const ws_deflate_params *dp) {
    static const size_t one = 1;
    for (int mode = 0; mode < 2; mode++) {
        recorder rec = {0};
        run_result r = run(s, cfg, &rec, mode ? &one : NULL, mode ? 1 : 0, dp);
        if (r.ret >= 0 || r.code != code || strcmp(rec.log, log) != 0) {
            fprintf(stderr, "  mode %d: ret %d code %d (want %d) log \"%s\" (want \"%s\")\n", mode,
                    r.ret, r.code, code, rec.log, log);
            return 0;
        }
    }
    return 1;
}

#define EXPECT_ERROR(s, code, log) CHECK(expect_error((s), &config, (code), (log), NULL))

/* ---- basic frames --------------------------------------------------------- */

static void test_rfc_examples(void) {
    /* RFC 6455 section 5.7: a single-frame masked text message "Hello" */
    static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                    0x7f, 0x9f, 0x4d, 0x51, 0x58};
    stream s = {0};
    put(&s, hello, sizeof hello);
    recorder rec = {0};
    run_result r = run_whole(&s, &rec);
    CHECK_INT(r.ret, WS_PARSE_OK);
    CHECK_STR(rec.log, "T:Hello|");
    /* the same built by the helper, fragmented: "Hel" + "lo" */
    s.len = 0;
    frame_str(&s, 0x01, "Hel");
    frame_str(&s, 0x80, "lo");
    /* a masked ping "Hello" (section 5.7 shows it unmasked) */
    frame_str(&s, 0x89, "Hello");
    memset(&rec, 0, sizeof rec);
    r = run_whole(&s, &rec);
    CHECK_INT(r.ret, WS_PARSE_OK);
    CHECK_STR(rec.log, "T:Hello|PING:Hello|");
    free(s.data);
}

static void test_zero_copy_when_whole(void) {
    uint8_t buf[64];
    stream s = {0};
    frame_str(&s, 0x82, "abcdefghij");
    memcpy(buf, s.data, s.len);
    recorder rec = {0};
    ws_parser p;
    ws_parser_init(&p, &config, &rec);
    CHECK_INT(ws_parser_feed(&p, buf, s.len), WS_PARSE_OK);
    CHECK(rec.last_data == buf + 6); /* points into the input, after the header */
    CHECK(p.buf.data == NULL);       /* nothing was buffered */
    CHECK_STR(rec.log, "B:abcdefghij|");
    /* header in one feed, the whole payload in the next: still no copy */
    memcpy(buf, s.data, s.len);
    CHECK_INT(ws_parser_feed(&p, buf, 6), WS_PARSE_OK);
    CHECK_INT(ws_parser_feed(&p, buf + 6, s.len - 6), WS_PARSE_OK);
    CHECK(rec.last_data == buf + 6);
    CHECK(p.buf.data == NULL);
    /* split payload: collected in the parser's buffer, freed after delivery */
    memcpy(buf, s.data, s.len);
    CHECK_INT(ws_parser_feed(&p, buf, 9), WS_PARSE_OK);
    CHECK_INT(ws_parser_feed(&p, buf + 9, s.len - 9), WS_PARSE_OK);
    CHECK(rec.last_data < buf || rec.last_data >= buf + sizeof buf);
    CHECK(p.buf.data == NULL);
    CHECK_STR(rec.log, "B:abcdefghij|B:abcdefghij|B:abcdefghij|");
    ws_parser_free(&p);
    free(s.data);
    CHECK(sizeof(ws_parser) <= 72);
}

static void test_lengths_16_and_64(void) {
    size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    uint8_t *payload = malloc(70000);
    for (size_t i = 0; i < 70000; i++) payload[i] = (uint8_t)(i * 7 + 3);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        stream s = {0};
        frame(&s, 0x82, payload, sizes[k]);
        recorder a = {0}, b = {0};
        static const size_t chunks[] = {1000, 1, 3};
        CHECK_INT(run_whole(&s, &a).ret, WS_PARSE_OK);
        CHECK_INT(run(&s, &config, &b, chunks, 3, NULL).ret, WS_PARSE_OK);
        CHECK_STR(a.log, b.log);
        recorder want = {0};
        on_message(&want, WS_OP_BINARY, payload, sizes[k]);
        CHECK_STR(a.log, want.log);
        free(s.data);
    }
    /* the expected summary of the 70000-byte message */
    stream s = {0};
    frame(&s, 0x82, payload, 70000);
    recorder a = {0}, ref = {0};
    run_whole(&s, &a);
    on_message(&ref, WS_OP_BINARY, payload, 70000);
    CHECK_STR(a.log, ref.log);
    /* 16- and 64-bit forms of lengths that need them */
    CHECK_INT(s.data[1], 0xff);
    free(s.data);
    free(payload);
}

/* ---- every split of multi-frame streams ------------------------------------- */

static void build_mixed_stream(stream *s) {
    static uint8_t big[300];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)i;
    frame_str(s, 0x81, "hello");
    frame_str(s, 0x89, "");         /* empty ping */
    frame(s, 0x02, big, 150);       /* fragmented binary with a 16-bit length ... */
    frame_str(s, 0x8A, "pong!");    /* ... an interleaved pong ... */
    frame(s, 0x00, big + 150, 0);   /* ... an empty continuation ... */
    frame_str(s, 0x89, "p");        /* ... a ping ... */
    frame(s, 0x80, big + 150, 150); /* ... and the last fragment */
    frame_str(s, 0x01, "caf\xc3");  /* "café €" with é and € split */
    frame_str(s, 0x00, "\xa9 \xe2");
    frame_str(s, 0x80, "\x82\xac");
    frame(s, 0x81, "", 0);                /* empty text */
    frame_str(s, 0x88, "\x03\xe8normal"); /* close 1000 "normal" */
}

/* The events the mixed stream gives. */
static void mixed_events(recorder *r) {
    static uint8_t big[300];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)i;
    on_message(r, WS_OP_TEXT, (const uint8_t *)"hello", 5);
    on_ping(r, (const uint8_t *)"", 0);
    on_pong(r, (const uint8_t *)"pong!", 5);
    on_ping(r, (const uint8_t *)"p", 1);
    on_message(r, WS_OP_BINARY, big, 300);
    on_message(r, WS_OP_TEXT, (const uint8_t *)"caf\xc3\xa9 \xe2\x82\xac", 9);
    on_message(r, WS_OP_TEXT, (const uint8_t *)"", 0);
    on_close(r, 1000, "normal", 6);
}

static void check_all_splits(const stream *s, const ws_deflate_params *dp, const char *want,
                             int want_ret) {
    recorder ref = {0};
    run_result r = run(s, &config, &ref, NULL, 0, dp);
    if (strcmp(ref.log, want) != 0) fprintf(stderr, "log: %s\nwant: %s\n", ref.log, want);
    CHECK_INT(r.ret, want_ret);
    CHECK_STR(ref.log, want);
    /* two feeds, cut everywhere */
    for (size_t cut = 0; cut <= s->len; cut++) {
        recorder rec = {0};
        size_t chunks[2] = {cut, s->len};
        r = run(s, &config, &rec, cut ? chunks : NULL, cut ? 2 : 0, dp);
        CHECK_INT(r.ret, want_ret);
        CHECK_STR(rec.log, ref.log);
    }
    /* three feeds, two cuts everywhere (small streams only) */
    if (s->len <= 500) {
        for (size_t a = 1; a < s->len; a++) {
            for (size_t b = 1; a + b < s->len; b++) {
                recorder rec = {0};
                size_t chunks[3] = {a, b, s->len};
                r = run(s, &config, &rec, chunks, 3, dp);
                CHECK_INT(r.ret, want_ret);
                CHECK_STR(rec.log, ref.log);
            }
        }
    }
    /* one byte at a time */
    recorder one = {0};
    static const size_t ones[] = {1};
    r = run(s, &config, &one, ones, 1, dp);
    CHECK_INT(r.ret, want_ret);
    CHECK_STR(one.log, ref.log);
    /* random chunks */
    srand(42);
    for (int iter = 0; iter < 300; iter++) {
        size_t chunks[16];
        for (int i = 0; i < 16; i++) chunks[i] = 1 + (size_t)rand() % (iter % 3 ? 20 : 200);
        recorder rec = {0};
        r = run(s, &config, &rec, chunks, 16, dp);
        CHECK_INT(r.ret, want_ret);
        CHECK_STR(rec.log, ref.log);
    }
}

static void test_every_split_mixed(void) {
    stream s = {0};
    build_mixed_stream(&s);
    recorder want = {0};
    mixed_events(&want);
    check_all_splits(&s, NULL, want.log, WS_PARSE_CLOSED);
    free(s.data);
}

static void test_every_split_big_frames(void) {
    /* 70000-byte binary (64-bit length), a 300-byte fragmented text */
    stream s = {0};
    uint8_t *big = malloc(70000);
    for (size_t i = 0; i < 70000; i++) big[i] = (uint8_t)(i % 251);
    frame(&s, 0x82, big, 70000);
    char text[300];
    memset(text, 'x', sizeof text);
    frame(&s, 0x01, text, 100);
    frame_str(&s, 0x89, "mid");
    frame(&s, 0x80, text, 200);
    recorder ref = {0};
    CHECK_INT(run_whole(&s, &ref).ret, WS_PARSE_OK);
    /* a few cut positions around the headers, plus random chunks */
    size_t cuts[] = {1, 2, 5, 9, 10, 11, 14, 15, 100, 69999, 70013, 70014, 70015, 70020, 70100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        recorder rec = {0};
        size_t chunks[2] = {cuts[i], s.len};
        CHECK_INT(run(&s, &config, &rec, chunks, 2, NULL).ret, WS_PARSE_OK);
        CHECK_STR(rec.log, ref.log);
    }
    srand(5);
    for (int iter = 0; iter < 50; iter++) {
        size_t chunks[8];
        for (int i = 0; i < 8; i++) chunks[i] = 1 + (size_t)rand() % 5000;
        recorder rec = {0};
        CHECK_INT(run(&s, &config, &rec, chunks, 8, NULL).ret, WS_PARSE_OK);
        CHECK_STR(rec.log, ref.log);
    }
    static const size_t ones[] = {1};
    recorder one = {0};
    CHECK_INT(run(&s, &config, &one, ones, 1, NULL).ret, WS_PARSE_OK);
    CHECK_STR(one.log, ref.log);
    free(big);
    free(s.data);
}

/* ---- violations ----------------------------------------------------------------- */

static void test_reserved_bits_and_opcodes(void) {
    int bad_b0[] = {0xC1, 0xA1, 0x91, 0xF1, 0x83, 0x84, 0x85, 0x86, 0x87,
                    0x8B, 0x8C, 0x8D, 0x8E, 0x8F, 0xC9, 0x03, 0x0B};
    for (size_t i = 0; i < sizeof bad_b0 / sizeof bad_b0[0]; i++) {
        stream s = {0};
        frame_str(&s, 0x81, "ok");
        frame_str(&s, bad_b0[i], "x");
        EXPECT_ERROR(&s, 1002, "T:ok|");
        free(s.data);
    }
}

static void test_unmasked_frame(void) {
    stream s = {0};
    frame_ex(&s, 0x81, "Hello", 5, 0, 0); /* RFC example, unmasked: from a server */
    EXPECT_ERROR(&s, 1002, "");
    free(s.data);
}

static void test_non_minimal_lengths(void) {
    uint8_t p[200] = {0};
    stream s = {0};
    frame_ex(&s, 0x82, p, 5, 1, 16); /* 5 in the 16-bit form */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_ex(&s, 0x82, p, 125, 1, 16);
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_ex(&s, 0x82, p, 126, 1, 16); /* fine */
    recorder rec = {0};
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    s.len = 0;
    frame_ex(&s, 0x82, p, 200, 1, 64); /* 200 in the 64-bit form */
    EXPECT_ERROR(&s, 1002, "");
    /* 65535 in the 64-bit form: header only (the error comes first) */
    s.len = 0;
    put(&s, "\x82\xff\x00\x00\x00\x00\x00\x00\xff\xff", 10);
    EXPECT_ERROR(&s, 1002, "");
    /* the high bit of a 64-bit length */
    s.len = 0;
    put(&s, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01", 10);
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    put(&s, "\x82\xff\x80", 3); /* fails at that byte already */
    EXPECT_ERROR(&s, 1002, "");
    free(s.data);
}

static void test_control_frame_rules(void) {
    uint8_t p[126];
    memset(p, 'p', sizeof p);
    stream s = {0};
    frame(&s, 0x89, p, 125); /* the longest ping: fine */
    recorder rec = {0};
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    CHECK_INT(rec.events, 1);
    s.len = 0;
    frame(&s, 0x89, p, 126); /* 126: too long */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame(&s, 0x8A, p, 126);
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    put(&s, "\x88\xff", 2); /* 64-bit length on a control frame */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x09, "frag"); /* ping without FIN */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x08, "\x03\xe8"); /* close without FIN */
    EXPECT_ERROR(&s, 1002, "");
    free(s.data);
}

static void test_fragmentation_rules(void) {
    stream s = {0};
    frame_str(&s, 0x80, "orphan"); /* continuation, nothing started */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x00, "orphan");
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x81, "done");
    frame_str(&s, 0x80, "late"); /* continuation after a FIN message */
    EXPECT_ERROR(&s, 1002, "T:done|");
    s.len = 0;
    frame_str(&s, 0x01, "start");
    frame_str(&s, 0x81, "new"); /* a new message inside a fragmented one */
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x02, "start");
    frame_str(&s, 0x01, "new");
    EXPECT_ERROR(&s, 1002, "");
    s.len = 0;
    frame_str(&s, 0x01, "a");
    frame_str(&s, 0x89, "ping");
    frame_str(&s, 0x00, "b");
    frame_str(&s, 0x8A, "pong");
    frame_str(&s, 0x80, "c");
    recorder rec = {0};
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    CHECK_STR(rec.log, "PING:ping|PONG:pong|T:abc|");
    free(s.data);
}

static void test_close_frames(void) {
    stream s = {0};
    frame_str(&s, 0x88, "");
    frame_str(&s, 0x81, "ignored"); /* after a close: ignored */
    recorder rec = {0};
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_CLOSED);
    CHECK_STR(rec.log, "CLOSE:1005:|");

    s.len = 0;
    frame_str(&s, 0x88, "\x03"); /* 1-byte body */
    EXPECT_ERROR(&s, 1002, "");

    int valid[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        uint8_t body[2] = {(uint8_t)(valid[i] >> 8), (uint8_t)valid[i]};
        s.len = 0;
        frame(&s, 0x88, body, 2);
        memset(&rec, 0, sizeof rec);
        CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_CLOSED);
        char want[32];
        snprintf(want, sizeof want, "CLOSE:%d:|", valid[i]);
        CHECK_STR(rec.log, want);
    }
    int invalid[] = {0,    999,  1004, 1005, 1006, 1012, 1013, 1014,
                     1015, 1016, 1100, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        uint8_t body[2] = {(uint8_t)(invalid[i] >> 8), (uint8_t)invalid[i]};
        s.len = 0;
        frame(&s, 0x88, body, 2);
        EXPECT_ERROR(&s, 1002, "");
    }
    s.len = 0;
    frame_str(&s, 0x88, "\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"); /* UTF-8 reason */
    memset(&rec, 0, sizeof rec);
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_CLOSED);
    CHECK_STR(rec.log, "CLOSE:1000:\\ce\\ba\\e1\\bd\\b9\\cf\\83\\ce\\bc\\ce\\b5|");
    s.len = 0;
    frame_str(&s, 0x88, "\x03\xe8\xed\xa0\x80"); /* a surrogate in the reason */
    EXPECT_ERROR(&s, 1007, "");
    s.len = 0;
    frame_str(&s, 0x88, "\x03\xe8\xce"); /* truncated */
    EXPECT_ERROR(&s, 1007, "");
    /* a close frame in the middle of a fragmented message */
    s.len = 0;
    frame_str(&s, 0x01, "part");
    frame_str(&s, 0x88, "\x0f\xa0private");
    memset(&rec, 0, sizeof rec);
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_CLOSED);
    CHECK_STR(rec.log, "CLOSE:4000:private|");
    free(s.data);
}

static void test_utf8_in_text(void) {
    stream s = {0};
    frame_str(&s, 0x81, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"); /* valid */
    recorder rec = {0};
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    s.len = 0;
    frame_str(&s, 0x81, "bad \xc0\xaf"); /* overlong */
    EXPECT_ERROR(&s, 1007, "");
    s.len = 0;
    frame_str(&s, 0x81, "cut \xe2\x82"); /* truncated at the end */
    EXPECT_ERROR(&s, 1007, "");
    s.len = 0;
    frame_str(&s, 0x01, "cut \xe2");
    frame_str(&s, 0x80, "\x82"); /* truncated across fragments */
    EXPECT_ERROR(&s, 1007, "");
    s.len = 0;
    frame_str(&s, 0x01, "\xf0\x9f"); /* an emoji split 2|2 over fragments */
    frame_str(&s, 0x89, "");
    frame_str(&s, 0x80, "\x98\x80");
    memset(&rec, 0, sizeof rec);
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    CHECK_STR(rec.log, "PING:|T:\\f0\\9f\\98\\80|");
    /* binary messages are not checked */
    s.len = 0;
    frame_str(&s, 0x82, "\xff\xfe");
    memset(&rec, 0, sizeof rec);
    CHECK_INT(run_whole(&s, &rec).ret, WS_PARSE_OK);
    free(s.data);
}

/* An invalid byte fails the message at once: the first fragment alone, and
 * the first part of a frame alone, are enough. */
static void test_utf8_fails_fast(void) {
    stream s = {0};
    frame_str(&s, 0x01, "ok \xed\xa0\x80 more");
    EXPECT_ERROR(&s, 1007, "");
    s.len = 0;
    char text[100];
    memset(text, 'a', sizeof text);
    text[10] = (char)0xff;
    frame(&s, 0x81, text, sizeof text);
    s.len -= 50; /* only half of the frame arrives */
    EXPECT_ERROR(&s, 1007, "");
    free(s.data);
}

static void test_size_limit(void) {
    ws_parser_config small = config;
    small.max_message_size = 1000;
    uint8_t p[1001] = {0};
    stream s = {0};
    frame(&s, 0x82, p, 1000); /* exactly the limit */
    recorder rec = {0};
    CHECK_INT(run(&s, &small, &rec, NULL, 0, NULL).ret, WS_PARSE_OK);
    CHECK_INT(rec.events, 1);
    s.len = 0;
    frame(&s, 0x82, p, 1001);
    CHECK(expect_error(&s, &small, 1009, "", NULL));
    /* the declared length alone fails, before any payload */
    s.len = 0;
    put(&s, "\x82\xfe\x03\xe9", 4);
    CHECK(expect_error(&s, &small, 1009, "", NULL));
    s.len = 0;
    put(&s, "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00", 10); /* 4 GiB */
    CHECK(expect_error(&s, &small, 1009, "", NULL));
    /* fragments adding up past the limit */
    s.len = 0;
    frame(&s, 0x02, p, 600);
    frame(&s, 0x89, p, 100); /* control frames do not count */
    frame(&s, 0x80, p, 401);
    recorder ping = {0};
    on_ping(&ping, p, 100);
    CHECK(expect_error(&s, &small, 1009, ping.log, NULL));
    s.len = 0;
    frame(&s, 0x02, p, 600);
    frame(&s, 0x80, p, 400); /* 1000 in all: fine */
    memset(&rec, 0, sizeof rec);
    CHECK_INT(run(&s, &small, &rec, NULL, 0, NULL).ret, WS_PARSE_OK);
    CHECK_INT(rec.events, 1);
    /* the default limit is 1,000,000 */
    s.len = 0;
    put(&s, "\x82\xff\x00\x00\x00\x00\x00\x0f\x42\x41", 10);
    EXPECT_ERROR(&s, 1009, "");
    free(s.data);
}

static void test_stop_from_callbacks(void) {
    stream s = {0};
    frame_str(&s, 0x81, "one");
    frame_str(&s, 0x89, "ping");
    frame_str(&s, 0x81, "two");
    for (int via_api = 0; via_api <= 1; via_api++) {
        for (int at = 1; at <= 3; at++) {
            recorder rec = {0};
            rec.stop_after = at;
            rec.stop_via_api = via_api;
            run_result r = run_whole(&s, &rec);
            CHECK_INT(r.ret, WS_PARSE_STOPPED);
            CHECK_INT(rec.events, at);
        }
    }
    /* later feeds keep saying stopped */
    uint8_t copy[64];
    memcpy(copy, s.data, s.len);
    recorder rec = {0};
    rec.stop_after = 1;
    ws_parser p;
    ws_parser_init(&p, &config, &rec);
    CHECK_INT(ws_parser_feed(&p, copy, s.len), WS_PARSE_STOPPED);
    CHECK_INT(ws_parser_feed(&p, copy, 1), WS_PARSE_STOPPED);
    CHECK_INT(ws_parser_close_code(&p), 0);
    ws_parser_free(&p);
    /* and errors stick */
    uint8_t bad[2] = {0x83, 0x80};
    ws_parser_init(&p, &config, &rec);
    CHECK_INT(ws_parser_feed(&p, bad, 2), SIO_EPROTO);
    CHECK_INT(ws_parser_close_code(&p), 1002);
    CHECK_STR(ws_parser_error(&p), "reserved opcode");
    memcpy(copy, s.data, s.len);
    CHECK_INT(ws_parser_feed(&p, copy, s.len), SIO_EPROTO);
    ws_parser_free(&p);
    free(s.data);
}

/* A callback with the buffer of a split message may stop; nothing leaks. */
static void test_stop_with_buffered_message(void) {
    stream s = {0};
    frame_str(&s, 0x01, "frag");
    frame_str(&s, 0x89, "p");
    frame_str(&s, 0x80, "ment");
    recorder rec = {0};
    rec.stop_after = 1; /* at the ping, while "frag" is buffered */
    static const size_t ones[] = {1};
    CHECK_INT(run(&s, &config, &rec, ones, 1, NULL).ret, WS_PARSE_STOPPED);
    CHECK_STR(rec.log, "PING:p|");
    free(s.data);
}

/* ---- permessage-deflate ---------------------------------------------------------- */

static const ws_deflate_params dflt = {0, 0, 15, 15};

static void test_deflate_messages(void) {
    static const uint8_t hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const uint8_t again[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    stream s = {0};
    frame(&s, 0xC1, hello, sizeof hello); /* compressed text */
    frame(&s, 0x41, again, 2);            /* compressed, fragmented, with takeover */
    frame_str(&s, 0x89, "");
    frame(&s, 0x80, again + 2, 3);
    frame_str(&s, 0x82, "plain"); /* uncompressed messages still work */
    frame(&s, 0xC2, "\x00", 1);   /* compressed empty message */
    frame(&s, 0xC2, "", 0);       /* compressed, no payload at all */
    check_all_splits(&s, &dflt, "T:Hello|PING:|T:Hello|B:plain|B:|B:|", WS_PARSE_OK);
    /* without negotiation RSV1 is an error */
    s.len = 0;
    frame(&s, 0xC1, hello, sizeof hello);
    EXPECT_ERROR(&s, 1002, "");
    /* RSV1 on a continuation or a control frame is an error even with it */
    s.len = 0;
    frame(&s, 0x41, hello, 3);
    frame(&s, 0xC0, hello + 3, 4);
    CHECK(expect_error(&s, &config, 1002, "", &dflt));
    s.len = 0;
    frame_str(&s, 0xC9, "");
    CHECK(expect_error(&s, &config, 1002, "", &dflt));
    free(s.data);
}

static void test_deflate_errors(void) {
    /* corrupt data */
    stream s = {0};
    frame(&s, 0xC1, "\xff\xff\xff", 3);
    CHECK(expect_error(&s, &config, 1007, "", &dflt));
    /* inflated text that is not UTF-8 */
    ws_deflate_params p = dflt;
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    util_buf z = UTIL_BUF_INIT;
    ws_deflate_message(d, "bad \xff text", 10, &z);
    s.len = 0;
    frame(&s, 0xC1, z.data, z.len);
    CHECK(expect_error(&s, &config, 1007, "", &dflt));
    /* the same bytes as binary are fine */
    s.len = 0;
    frame(&s, 0xC2, z.data, z.len);
    recorder rec = {0};
    CHECK_INT(run(&s, &config, &rec, NULL, 0, &dflt).ret, WS_PARSE_OK);
    CHECK_STR(rec.log, "B:bad \\ff text|");
    free(s.data);
    util_buf_free(&z);
    ws_deflate_free(d);
}

/* Errors come in stream order whatever the split: invalid UTF-8 early in a
 * compressed text that also inflates past the limit is a 1007, even when one
 * inflate call produced both (found by fuzzing). */
static void test_deflate_error_order(void) {
    ws_deflate_params p = dflt;
    ws_deflate *d = ws_deflate_new(&p, -1, 0);
    char text[2000];
    memset(text, 'a', sizeof text);
    text[10] = (char)0xff;
    util_buf z = UTIL_BUF_INIT;
    CHECK_INT(ws_deflate_message(d, text, sizeof text, &z), 0);
    stream s = {0};
    frame(&s, 0xC1, z.data, z.len);
    ws_parser_config lim = config;
    lim.max_message_size = 300;
    CHECK(expect_error(&s, &lim, 1007, "", &dflt));
    /* valid text: the limit */
    text[10] = 'a';
    ws_deflate_free(d);
    d = ws_deflate_new(&p, -1, 0);
    z.len = 0;
    CHECK_INT(ws_deflate_message(d, text, sizeof text, &z), 0);
    s.len = 0;
    frame(&s, 0xC1, z.data, z.len);
    CHECK(expect_error(&s, &lim, 1009, "", &dflt));
    free(s.data);
    util_buf_free(&z);
    ws_deflate_free(d);
}

/* A tiny compressed message that inflates past the limit: stopped at it. */
static void test_deflate_zip_bomb(void) {
    ws_deflate_params p = dflt;
    ws_deflate *d = ws_deflate_new(&p, 9, 0);
    size_t n = 5u << 20;
    uint8_t *zeros = calloc(1, n);
    util_buf z = UTIL_BUF_INIT;
    CHECK_INT(ws_deflate_message(d, zeros, n, &z), 0);
    CHECK(z.len < 10000);
    stream s = {0};
    frame(&s, 0xC2, z.data, z.len);
    EXPECT_ERROR(&s, 1002, ""); /* RSV1 while not negotiated */
    CHECK(expect_error(&s, &config, 1009, "", &dflt));
    /* at exactly the limit it passes */
    ws_parser_config lim = config;
    lim.max_message_size = n;
    recorder rec = {0};
    CHECK_INT(run(&s, &lim, &rec, NULL, 0, &dflt).ret, WS_PARSE_OK);
    CHECK_INT(rec.events, 1);
    lim.max_message_size = n - 1;
    CHECK(expect_error(&s, &lim, 1009, "", &dflt));
    free(zeros);
    free(s.data);
    util_buf_free(&z);
    ws_deflate_free(d);
}

int main(void) {
    RUN(test_rfc_examples);
    RUN(test_zero_copy_when_whole);
    RUN(test_lengths_16_and_64);
    RUN(test_every_split_mixed);
    RUN(test_every_split_big_frames);
    RUN(test_reserved_bits_and_opcodes);
    RUN(test_unmasked_frame);
    RUN(test_non_minimal_lengths);
    RUN(test_control_frame_rules);
    RUN(test_fragmentation_rules);
    RUN(test_close_frames);
    RUN(test_utf8_in_text);
    RUN(test_utf8_fails_fast);
    RUN(test_size_limit);
    RUN(test_stop_from_callbacks);
    RUN(test_stop_with_buffered_message);
    RUN(test_deflate_messages);
    RUN(test_deflate_errors);
    RUN(test_deflate_error_order);
    RUN(test_deflate_zip_bomb);
    return CHECK_DONE();
}
