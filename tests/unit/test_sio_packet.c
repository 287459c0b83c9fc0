/* Unit tests of src/sio/sio_packet: every example of the Socket.IO v5 spec
 * both ways, the reference parser's edge cases, invalid input, binary
 * reassembly, materialization and the raw re-emit path. */
#include "check.h"
#include "sio/sio_packet.h"

#include <stdlib.h>

#define S(lit) lit, sizeof(lit) - 1

static int decode(sio_packet *p, const char *s) {
    return sio_packet_decode(p, s, strlen(s), NULL);
}

static bool span_is(const char *p, size_t len, const char *want) {
    return p && len == strlen(want) && memcmp(p, want, len) == 0;
}

#define CHECK_SPAN(ptr, len, want) CHECK(span_is((ptr), (len), (want)))

/* Encoder output check: runs `expr` into a fresh buffer. */
#define CHECK_ENCODES(expected, call)                                                              \
    do {                                                                                           \
        util_buf out_ = UTIL_BUF_INIT;                                                             \
        util_buf *out = &out_;                                                                     \
        int r_ = (call);                                                                           \
        bool ok_ = r_ == 0 && span_is(out_.data, out_.len, expected);                              \
        if (!ok_) fprintf(stderr, "encoded \"%.*s\" (r=%d)\n", (int)out_.len, out_.data, r_);      \
        util_buf_free(&out_);                                                                      \
        CHECK(ok_);                                                                                \
    } while (0)

/* ---- the spec's examples, decoding ---------------------------------------------- */

static void test_spec_connect(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "0"), 0);
    CHECK_INT(p.type, SIO_PACKET_CONNECT);
    CHECK_SPAN(p.nsp, p.nsp_len, "/");
    CHECK(p.data == NULL);
    CHECK(p.id == SIO_NO_ID);

    CHECK_INT(decode(&p, "0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}"), 0);
    CHECK_INT(p.type, SIO_PACKET_CONNECT);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK_SPAN(p.data, p.data_len, "{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}");
    json_t *d = sio_packet_data(&p, NULL, 0);
    CHECK(d);
    bool sid_ok = strcmp(json_string_value(json_object_get(d, "sid")), "oSO0OpakMV_3jnilAAAA") == 0;
    json_decref(d);
    CHECK(sid_ok);

    CHECK_INT(decode(&p, "0/admin,"), 0); /* sample session: 40/admin, */
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK(p.data == NULL);
    CHECK_INT(decode(&p, "0{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}"), 0);
    CHECK_SPAN(p.nsp, p.nsp_len, "/");
    CHECK_INT(decode(&p, "0/admin,{\"sid\":\"-G5j-67EZFp-q59rADQM\"}"), 0);
    CHECK_INT(decode(&p, "0/woot,{\"token\":\"123\"}"), 0);
}

static void test_spec_connect_error(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "4{\"message\":\"Not authorized\"}"), 0);
    CHECK_INT(p.type, SIO_PACKET_CONNECT_ERROR);
    CHECK_SPAN(p.nsp, p.nsp_len, "/");
    CHECK_SPAN(p.data, p.data_len, "{\"message\":\"Not authorized\"}");
    CHECK_INT(decode(&p, "4\"Unauthorized\""), 0);
    CHECK_INT(decode(&p, "4"), 0);
}

static void test_spec_events(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "2[\"foo\"]"), 0);
    CHECK_INT(p.type, SIO_PACKET_EVENT);
    CHECK_SPAN(p.name, p.name_len, "foo");
    CHECK_INT(p.argc, 0);
    CHECK_INT(p.args_len, 0);
    CHECK(p.id == SIO_NO_ID);

    CHECK_INT(decode(&p, "2/admin,[\"bar\"]"), 0);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK_SPAN(p.name, p.name_len, "bar");

    CHECK_INT(decode(&p, "212[\"foo\"]"), 0);
    CHECK_INT(p.id, 12);
    CHECK_SPAN(p.name, p.name_len, "foo");

    CHECK_INT(decode(&p, "2[\"hey\",\"Jude\"]"), 0);
    CHECK_SPAN(p.args, p.args_len, "\"Jude\"");
    CHECK_INT(p.argc, 1);

    CHECK_INT(decode(&p, "2/admin,1[\"tellme\"]"), 0);
    CHECK_INT(p.id, 1);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK_SPAN(p.name, p.name_len, "tellme");
}

static void test_spec_acks_and_disconnect(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "3/admin,13[\"bar\"]"), 0);
    CHECK_INT(p.type, SIO_PACKET_ACK);
    CHECK_INT(p.id, 13);
    CHECK_SPAN(p.args, p.args_len, "\"bar\"");
    CHECK_INT(p.argc, 1);
    CHECK_INT(decode(&p, "312[]"), 0);
    CHECK_INT(p.id, 12);
    CHECK_INT(p.argc, 0);
    CHECK_INT(decode(&p, "1"), 0);
    CHECK_INT(p.type, SIO_PACKET_DISCONNECT);
    CHECK_INT(decode(&p, "1/admin,"), 0);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
}

static void test_spec_binary(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "51-[\"baz\",{\"_placeholder\":true,\"num\":0}]"), 0);
    CHECK_INT(p.type, SIO_PACKET_BINARY_EVENT);
    CHECK_INT(p.attachments, 1);
    CHECK_SPAN(p.name, p.name_len, "baz");
    CHECK_SPAN(p.args, p.args_len, "{\"_placeholder\":true,\"num\":0}");

    CHECK_INT(decode(&p, "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
                         "{\"_placeholder\":true,\"num\":1}]"),
              0);
    CHECK_INT(p.attachments, 2);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK_INT(p.argc, 2);

    CHECK_INT(decode(&p, "61-15[\"bar\",{\"_placeholder\":true,\"num\":0}]"), 0);
    CHECK_INT(p.type, SIO_PACKET_BINARY_ACK);
    CHECK_INT(p.id, 15);
    CHECK_INT(p.argc, 2);

    CHECK_INT(decode(&p, "61-/admin,1[{\"_placeholder\":true,\"num\":0}]"), 0);
    CHECK_INT(p.id, 1);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
}

/* ---- the spec's examples, encoding ------------------------------------------------- */

static void test_spec_encode(void) {
    json_t *sid = json_pack("{s:s}", "sid", "oSO0OpakMV_3jnilAAAA");
    json_t *refused = json_pack("{s:s}", "message", "Not authorized");
    json_t *bar = json_pack("[s]", "bar");
    json_t *empty = json_array();
    CHECK_ENCODES("0", sio_encode_connect(out, NULL, 0, NULL));
    CHECK_ENCODES("0", sio_encode_connect(out, S("/"), NULL));
    CHECK_ENCODES("0/admin,{\"sid\":\"oSO0OpakMV_3jnilAAAA\"}",
                  sio_encode_connect(out, S("/admin"), sid));
    CHECK_ENCODES("4{\"message\":\"Not authorized\"}",
                  sio_encode_connect_error(out, S("/"), refused));
    CHECK_ENCODES("2[\"foo\"]", sio_encode_event(out, S("/"), SIO_NO_ID, S("foo"), NULL, NULL));
    CHECK_ENCODES("2/admin,[\"bar\"]",
                  sio_encode_event(out, S("/admin"), SIO_NO_ID, S("bar"), empty, NULL));
    CHECK_ENCODES("212[\"foo\"]", sio_encode_event(out, NULL, 0, 12, S("foo"), NULL, NULL));
    CHECK_ENCODES("3/admin,13[\"bar\"]", sio_encode_ack(out, S("/admin"), 13, bar, NULL));
    CHECK_ENCODES("312[]", sio_encode_ack(out, S("/"), 12, empty, NULL));
    CHECK_ENCODES("1", sio_encode_disconnect(out, S("/")));
    CHECK_ENCODES("1/admin,", sio_encode_disconnect(out, S("/admin")));
    CHECK_ENCODES("2[\"hey\",\"Jude\"]",
                  sio_encode_event_raw(out, NULL, 0, SIO_NO_ID, S("hey"), S("\"Jude\""), 0));
    json_decref(sid);
    json_decref(refused);
    json_decref(bar);
    json_decref(empty);
}

static void test_spec_encode_binary(void) {
    static const char b1[] = {1, 2, 3, 4}, b2[] = {1, 2}, b3[] = {3, 4};
    sio_attachments atts = SIO_ATTACHMENTS_INIT;
    json_t *one = json_pack("[o]", sio_blob_new(b1, 4));
    json_t *two = json_pack("[o,o]", sio_blob_new(b2, 2), sio_blob_new(b3, 2));
    json_t *ack = json_pack("[o]", sio_blob_new(b1, 4));

    CHECK_ENCODES("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]",
                  sio_encode_event(out, S("/"), SIO_NO_ID, S("baz"), one, &atts));
    CHECK_INT(atts.len, 1);
    CHECK_INT(atts.items[0].len, 4);
    CHECK_MEM(atts.items[0].base, b1, 4);
    atts.len = 0;
    CHECK_ENCODES("52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
                  "{\"_placeholder\":true,\"num\":1}]",
                  sio_encode_event(out, S("/admin"), SIO_NO_ID, S("baz"), two, &atts));
    CHECK_INT(atts.len, 2);
    CHECK_MEM(atts.items[0].base, b2, 2);
    CHECK_MEM(atts.items[1].base, b3, 2);
    atts.len = 0;
    CHECK_ENCODES("61-15[{\"_placeholder\":true,\"num\":0}]",
                  sio_encode_ack(out, NULL, 0, 15, ack, &atts));
    /* blobs without a list to put them in */
    util_buf b = UTIL_BUF_INIT;
    CHECK_INT(sio_encode_event(&b, NULL, 0, SIO_NO_ID, S("x"), one, NULL), SIO_EINVAL);
    CHECK_INT(b.len, 0);
    sio_attachments_free(&atts);
    json_decref(one);
    json_decref(two);
    json_decref(ack);
}

static void test_encode_rejects(void) {
    util_buf b = UTIL_BUF_INIT;
    json_t *obj = json_object();
    CHECK_INT(sio_encode_event(&b, S("/a,b"), SIO_NO_ID, S("hello"), NULL, NULL), SIO_EINVAL);
    CHECK_INT(sio_encode_event(&b, S("admin"), SIO_NO_ID, S("hello"), NULL, NULL), SIO_EINVAL);
    CHECK_INT(sio_encode_event(&b, NULL, 0, SIO_NO_ID, S("connect"), NULL, NULL), SIO_EINVAL);
    CHECK_INT(sio_encode_event(&b, NULL, 0, SIO_NO_ID, S("x"), obj, NULL), SIO_EINVAL);
    CHECK_INT(sio_encode_event_raw(&b, NULL, 0, SIO_NO_ID, S("disconnect"), S(""), 0), SIO_EINVAL);
    CHECK_INT(sio_encode_connect_error(&b, NULL, 0, NULL), SIO_EINVAL);
    CHECK_INT(b.len, 0);
    json_decref(obj);
    util_buf_free(&b);
}

static void test_encode_escapes_and_appends(void) {
    json_t *args = json_pack("[s,i,f,{}]", "a\"b\n\xc3\xa9", 1, 0.5);
    util_buf b = UTIL_BUF_INIT;
    CHECK_INT(util_buf_append(&b, "4", 1),
              0); /* the Engine.IO message type, put first by the caller */
    CHECK_INT(sio_encode_event(&b, S("/chat"), 7, S("n\"ame"), args, NULL), 0);
    bool ok = span_is(b.data, b.len, "42/chat,7[\"n\\\"ame\",\"a\\\"b\\n\xc3\xa9\",1,0.5,{}]");
    if (!ok) fprintf(stderr, "%.*s\n", (int)b.len, b.data);
    json_decref(args);
    util_buf_free(&b);
    CHECK(ok);
}

/* ---- reference edge cases and invalid input ------------------------------------------ */

static void test_reference_invalid_payloads(void) {
    const char *bad[] = {
        /* socket.io-parser test "throw an error upon parsing error" */
        "442[\"some\",\"data\"",
        "0/admin,\"invalid\"",
        "0[]",
        "1/admin,{}",
        "2/admin,\"invalid",
        "2/admin,{}",
        "2[{\"toString\":\"foo\"}]",
        "2[true,\"foo\"]",
        "2[null,\"bar\"]",
        "2[\"connect\"]",
        "2[\"disconnect\",\"123\"]",
        "5",
        "51",
        "50-",
        "5a-",
        "51.23-",
        "999",
        /* more */
        "",
        "7",
        "a",
        " 2[\"a\"]",
        "2",
        "2/chat",
        "2/chat,",
        "2[]",
        "2{}",
        "2\"x\"",
        "212",
        "2[\"a\"",
        "2[\"a\"]x",
        "2[\"a\",]",
        "2[\"connect_error\"]",
        "2[\"disconnecting\"]",
        "2[\"newListener\"]",
        "2[\"removeListener\"]",
        "2[\"conn\\u0065ct\"]",
        "2[[1]]",
        "2[{}]",
        "1{}",
        "1[]",
        "1\"x\"",
        "0\"x\"",
        "0null",
        "4[]",
        "4 1",
        "3{}",
        "3\"x\"",
        "5-[\"a\"]",
        "5+1-[\"a\"]",
        "5 1-[\"a\"]",
        "51-",
        "51-2",
        "51-{}",
        "51-[]",
        "2[\"a\xff\"]",
        "218446744073709551615[\"a\"]",
        "299999999999999999999[\"a\"]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sio_packet p;
        int r = decode(&p, bad[i]);
        sio_packet_release(&p);
        if (r >= 0) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(r < 0);
    }
}

static void test_reference_valid_edge_cases(void) {
    sio_packet p;
    /* a number as event name (reference: "with an integer as event name") */
    CHECK_INT(decode(&p, "2[1,\"a\",{}]"), 0);
    CHECK(p.name_is_number);
    CHECK_SPAN(p.name, p.name_len, "1");
    CHECK_SPAN(p.args, p.args_len, "\"a\",{}");
    CHECK_INT(decode(&p, "2[-1.5e3]"), 0);
    CHECK_SPAN(p.name, p.name_len, "-1.5e3");
    /* reference "encodes an event (with ack)" */
    CHECK_INT(decode(&p, "2/test,1[\"a\",1,{}]"), 0);
    CHECK_INT(decode(&p, "3123[\"a\",1,{}]"), 0);
    CHECK_INT(p.id, 123);
    CHECK_INT(p.argc, 3);
    /* an ACK or CONNECT_ERROR without payload is let through, like the reference */
    CHECK_INT(decode(&p, "35"), 0);
    CHECK_INT(p.argc, 0);
    json_t *args = sio_packet_args(&p, NULL, 0);
    bool empty = json_is_array(args) && json_array_size(args) == 0;
    json_decref(args);
    CHECK(empty);
    /* the reference reads an id after any type, CONNECT included */
    CHECK_INT(decode(&p, "01"), 0);
    CHECK_INT(p.id, 1);
    /* a namespace without a comma runs to the end */
    CHECK_INT(decode(&p, "0/admin"), 0);
    CHECK_SPAN(p.nsp, p.nsp_len, "/admin");
    CHECK_INT(decode(&p, "1/admin"), 0);
    /* whitespace that JSON.parse ignores */
    CHECK_INT(decode(&p, "2 [ \"a\" , 1 ] "), 0);
    CHECK_SPAN(p.name, p.name_len, "a");
    CHECK_SPAN(p.args, p.args_len, "1");
    /* ids up to 2^64 - 2; leading zeros */
    CHECK_INT(decode(&p, "218446744073709551614[\"a\"]"), 0);
    CHECK(p.id == UINT64_MAX - 1);
    CHECK_INT(decode(&p, "2007[\"a\"]"), 0);
    CHECK_INT(p.id, 7);
    /* reserved names are matched after unescaping only */
    CHECK_INT(decode(&p, "2[\"Connect\"]"), 0);
    CHECK_INT(decode(&p, "2[\"connect \"]"), 0);
    /* the reference: '51-["hello"]' is a valid header without placeholders */
    CHECK_INT(decode(&p, "51-[\"hello\"]"), 0);
    CHECK_INT(p.attachments, 1);
}

static void test_event_example_from_brief(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "2/chat,12[\"msg\",{\"a\":1},\"x\"]"), 0);
    CHECK_SPAN(p.nsp, p.nsp_len, "/chat");
    CHECK_INT(p.id, 12);
    CHECK_SPAN(p.name, p.name_len, "msg");
    CHECK_SPAN(p.args, p.args_len, "{\"a\":1},\"x\"");
    CHECK_INT(p.argc, 2);
    CHECK(p.name >= p.raw && p.name < p.raw + p.raw_len); /* no copy */
    /* re-emit under another name by concatenation */
    CHECK_ENCODES(
        "2/chat,[\"other\",{\"a\":1},\"x\"]",
        sio_encode_event_raw(out, p.nsp, p.nsp_len, SIO_NO_ID, S("other"), p.args, p.args_len, 0));
    CHECK_ENCODES("3/chat,12[{\"a\":1},\"x\"]",
                  sio_encode_ack_raw(out, p.nsp, p.nsp_len, p.id, p.args, p.args_len, 0));
    json_t *args = sio_packet_args(&p, NULL, 0);
    CHECK(args);
    bool ok = json_array_size(args) == 2 &&
              json_integer_value(json_object_get(json_array_get(args, 0), "a")) == 1 &&
              strcmp(json_string_value(json_array_get(args, 1)), "x") == 0;
    json_decref(args);
    CHECK(ok);
}

static void test_attachment_limits(void) {
    sio_packet p;
    sio_decode_opts two = {.max_attachments = 2};
    const char *three = "53-[\"hello\",{\"_placeholder\":true,\"num\":0},"
                        "{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":2}]";
    CHECK_INT(sio_packet_decode(&p, three, strlen(three), &two), SIO_ETOOBIG);
    CHECK_INT(sio_packet_decode(&p, three, strlen(three), NULL), 0);
    CHECK_INT(decode(&p, "510-[\"a\"]"), 0);
    CHECK_INT(decode(&p, "511-[\"a\"]"), SIO_ETOOBIG);
    CHECK_INT(decode(&p, "599999999999999999999999-[\"a\"]"), SIO_ETOOBIG);
}

static void test_placeholder_rules(void) {
    sio_packet p;
    const char *bad[] = {
        "51-[\"a\",{\"_placeholder\":true,\"num\":1}]",           /* out of range */
        "51-[\"a\",{\"_placeholder\":true,\"num\":-1}]",          /* negative */
        "51-[\"a\",{\"_placeholder\":true,\"num\":\"splice\"}]",  /* not a number */
        "51-[\"a\",{\"_placeholder\":true,\"num\":0.5}]",         /* not an integer */
        "51-[\"a\",{\"_placeholder\":true}]",                     /* no num */
        "51-[\"a\",{\"_placeholder\":true,\"num\":0,\"num\":3}]", /* the last num wins */
        "51-[\"a\",[{\"x\":{\"_placeholder\":true,\"num\":9}}]]", /* nested */
        "61-[{\"_placeholder\":true,\"num\":[0]}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int r = decode(&p, bad[i]);
        if (r != SIO_EPROTO) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(r, SIO_EPROTO);
    }
    const char *good[] = {
        "51-[\"a\",{\"_placeholder\":false,\"num\":7}]",                   /* not a placeholder */
        "51-[\"a\",{\"_placeholder\":\"true\",\"num\":7}]",                /* only true counts */
        "51-[\"a\",{\"_placeholder\":true,\"_placeholder\":1,\"num\":7}]", /* last wins */
        "51-[\"a\",{\"num\":0,\"_placeholder\":true,\"extra\":[]}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":0.0e1,\"x\":{\"_placeholder\":true,\"num\":9}}]",
        "51-[\"a\",{\"_plac\\u0065holder\":true,\"n\\u0075m\":0}]",
        "51-[\"a\",{\"_placeholder\":true,\"num\":-0}]",
        "52-[\"a\",{\"k\":[{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]}]",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        int r = decode(&p, good[i]);
        if (r != 0) fprintf(stderr, "rejected: %s\n", good[i]);
        CHECK_INT(r, 0);
    }
}

static void test_escaped_event_names(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "2[\"a\\nb\\u00e9\",1]"), 0);
    CHECK_SPAN(p.name, p.name_len, "a\nb\xc3\xa9");
    CHECK(p.name == p.name_buf);
    CHECK_SPAN(p.args, p.args_len, "1");
    sio_packet_release(&p);

    /* longer than the inline buffer: the name goes to the heap */
    char text[300];
    char want[200];
    int n = snprintf(text, sizeof text, "2[\"");
    for (int i = 0; i < 100; i++) {
        n += snprintf(text + n, sizeof text - (size_t)n, "\\t");
        want[i] = '\t';
    }
    want[100] = '\0';
    snprintf(text + n, sizeof text - (size_t)n, "\",true]");
    CHECK_INT(decode(&p, text), 0);
    CHECK(p.name == p.name_heap);
    CHECK_SPAN(p.name, p.name_len, want);
    CHECK_SPAN(p.args, p.args_len, "true");
    /* re-encoding escapes it again */
    CHECK_ENCODES(text, sio_encode_event_raw(out, NULL, 0, SIO_NO_ID, p.name, p.name_len, p.args,
                                             p.args_len, 0));
    sio_packet_release(&p);
    sio_packet_release(&p); /* harmless twice */
}

/* ---- binary reassembly and materialization -------------------------------------------- */

static void test_binary_reassembly(void) {
    const char *hdr = "52-/admin,7[\"baz\",{\"_placeholder\":true,\"num\":1},"
                      "[{\"_placeholder\":true,\"num\":0}],{\"k\":\"v\"}]";
    char *text = strdup(hdr);
    sio_packet p;
    CHECK_INT(decode(&p, text), 0);
    sio_binary b = SIO_BINARY_INIT;
    CHECK(!sio_binary_active(&b));
    CHECK_INT(sio_binary_add(&b, NULL), SIO_EPROTO); /* nothing expected */
    CHECK_INT(sio_binary_start(&b, &p), 0);
    sio_packet_release(&p);
    memset(text, 'x', strlen(text)); /* the header was copied */
    free(text);
    CHECK(sio_binary_active(&b));
    CHECK_INT(sio_binary_start(&b, &b.packet), SIO_EINVAL);

    util_rcbuf *a0 = util_rcbuf_copy("\x01\x02", 2), *a1 = util_rcbuf_copy("\x03\x04\x05", 3);
    CHECK_INT(sio_binary_add(&b, a0), 0);
    CHECK_INT(sio_binary_add(&b, a1), 1);
    util_rcbuf_unref(a0);
    util_rcbuf_unref(a1);
    CHECK_INT(sio_binary_add(&b, a1), SIO_EPROTO);
    CHECK_SPAN(b.packet.name, b.packet.name_len, "baz");
    CHECK_SPAN(b.packet.nsp, b.packet.nsp_len, "/admin");
    CHECK_INT(b.packet.id, 7);

    json_t *args = sio_packet_args(&b.packet, b.atts, b.count);
    CHECK(args);
    const char *d;
    size_t len;
    bool ok = json_array_size(args) == 3 && sio_blob_get(json_array_get(args, 0), &d, &len) &&
              len == 3 && memcmp(d, "\x03\x04\x05", 3) == 0 &&
              sio_blob_get(json_array_get(json_array_get(args, 1), 0), &d, &len) && len == 2 &&
              memcmp(d, "\x01\x02", 2) == 0 && !sio_blob_get(json_array_get(args, 2), NULL, NULL);
    CHECK(sio_packet_args(&b.packet, b.atts, 1) == NULL); /* wrong count */

    /* re-encode from values: the blobs come out in order of appearance */
    sio_attachments atts = SIO_ATTACHMENTS_INIT;
    util_buf out = UTIL_BUF_INIT;
    int r = sio_encode_event(&out, S("/admin"), SIO_NO_ID, S("baz"), args, &atts);
    bool enc_ok = r == 0 &&
                  span_is(out.data, out.len,
                          "52-/admin,[\"baz\",{\"_placeholder\":true,\"num\":0},"
                          "[{\"_placeholder\":true,\"num\":1}],{\"k\":\"v\"}]") &&
                  atts.len == 2 && atts.items[0].len == 3 && atts.items[1].len == 2;
    util_buf_free(&out);
    sio_attachments_free(&atts);

    /* lazy re-emit: the raw args and the same attachments, in the same order */
    r = sio_encode_event_raw(&out, b.packet.nsp, b.packet.nsp_len, SIO_NO_ID, S("fwd"),
                             b.packet.args, b.packet.args_len, b.packet.attachments);
    bool raw_ok = r == 0 && span_is(out.data, out.len,
                                    "52-/admin,[\"fwd\",{\"_placeholder\":true,\"num\":1},"
                                    "[{\"_placeholder\":true,\"num\":0}],{\"k\":\"v\"}]");
    util_buf_free(&out);
    json_decref(args);
    sio_binary_reset(&b);
    CHECK(!sio_binary_active(&b));
    CHECK(ok);
    CHECK(enc_ok);
    CHECK(raw_ok);
}

static void test_binary_start_rejects(void) {
    sio_packet p;
    sio_binary b = SIO_BINARY_INIT;
    CHECK_INT(decode(&p, "2[\"a\"]"), 0);
    CHECK_INT(sio_binary_start(&b, &p), SIO_EINVAL);
    CHECK(!sio_binary_active(&b));
    sio_binary_reset(&b); /* harmless when idle */
}

static void test_placeholder_inside_placeholder_materializes(void) {
    const char *s =
        "51-[\"a\",{\"_placeholder\":true,\"num\":0,\"x\":{\"_placeholder\":true,\"num\":9}}]";
    sio_packet p;
    CHECK_INT(decode(&p, s), 0);
    util_rcbuf *a = util_rcbuf_copy("z", 1);
    json_t *args = sio_packet_args(&p, &a, 1);
    bool ok =
        args && json_array_size(args) == 1 && sio_blob_get(json_array_get(args, 0), NULL, NULL);
    json_decref(args);
    util_rcbuf_unref(a);
    CHECK(ok);
}

static void test_non_binary_placeholder_is_plain_object(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "2[\"a\",{\"_placeholder\":true,\"num\":0}]"), 0);
    json_t *args = sio_packet_args(&p, NULL, 0);
    bool ok = args && json_is_true(json_object_get(json_array_get(args, 0), "_placeholder"));
    json_decref(args);
    CHECK(ok);
    /* a client's look-alike of a blob is still an object with that key */
    json_t *blob = sio_blob_new("ab", 2);
    const char *d;
    size_t n;
    ok = sio_blob_get(blob, &d, &n) && n == 2 && memcmp(d, "ab", 2) == 0;
    json_decref(blob);
    CHECK(ok);
    json_t *plain = json_pack("{s:i}", "num", 1);
    CHECK(!sio_blob_get(plain, NULL, NULL));
    json_decref(plain);
}

static void test_materialize_other_types(void) {
    sio_packet p;
    CHECK_INT(decode(&p, "0/admin,{\"token\":\"123\"}"), 0);
    CHECK(sio_packet_args(&p, NULL, 0) == NULL);
    json_t *auth = sio_packet_data(&p, NULL, 0);
    bool ok = auth && strcmp(json_string_value(json_object_get(auth, "token")), "123") == 0;
    json_decref(auth);
    CHECK(ok);
    CHECK_INT(decode(&p, "0"), 0);
    CHECK(sio_packet_data(&p, NULL, 0) == NULL);
    CHECK_INT(decode(&p, "4\"Unauthorized\""), 0);
    json_t *msg = sio_packet_data(&p, NULL, 0);
    ok = json_is_string(msg) && strcmp(json_string_value(msg), "Unauthorized") == 0;
    json_decref(msg);
    CHECK(ok);
}

int main(void) {
    RUN(test_spec_connect);
    RUN(test_spec_connect_error);
    RUN(test_spec_events);
    RUN(test_spec_acks_and_disconnect);
    RUN(test_spec_binary);
    RUN(test_spec_encode);
    RUN(test_spec_encode_binary);
    RUN(test_encode_rejects);
    RUN(test_encode_escapes_and_appends);
    RUN(test_reference_invalid_payloads);
    RUN(test_reference_valid_edge_cases);
    RUN(test_event_example_from_brief);
    RUN(test_attachment_limits);
    RUN(test_placeholder_rules);
    RUN(test_escaped_event_names);
    RUN(test_binary_reassembly);
    RUN(test_binary_start_rejects);
    RUN(test_placeholder_inside_placeholder_materializes);
    RUN(test_non_binary_placeholder_is_plain_object);
    RUN(test_materialize_other_types);
    return CHECK_DONE();
}
