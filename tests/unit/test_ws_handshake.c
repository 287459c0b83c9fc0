/* Unit tests of ws/ws_handshake: Sec-WebSocket-Accept, token lists, and the
 * permessage-deflate offer parser and negotiation. */
#include "check.h"
#include "socketio/common.h"
#include "ws/ws_handshake.h"

static void test_accept_key_rfc_example(void) {
    char out[WS_ACCEPT_LEN + 1];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ=="; /* RFC 6455 section 1.3 */
    CHECK_INT(ws_accept_key(key, strlen(key), out), 0);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* surrounding whitespace is ignored */
    const char *spaced = " \tdGhlIHNhbXBsZSBub25jZQ==  ";
    CHECK_INT(ws_accept_key(spaced, strlen(spaced), out), 0);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* another key (computed independently with openssl sha1 | base64) */
    const char *key2 = "x3JJHMbDL1EzLkh9GBhXDw==";
    CHECK_INT(ws_accept_key(key2, strlen(key2), out), 0);
    CHECK_STR(out, "HSmrc0sMlYUkAGmm5OPpG2HaGWk=");
}

static void test_accept_key_rejects_bad_keys(void) {
    char out[WS_ACCEPT_LEN + 1];
    const char *bad[] = {
        "",
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 characters */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 */
        "dGhlIHNhbXBsZSBub25jZ!==",  /* bad character */
        "AAAAAAAAAAAAAAAAAAAAAAA=",  /* 17 bytes */
        "AAAAAAAAAAAAAAAAAAAAAAAA",  /* 18 bytes */
        "dGhlIHNhbXBs ZSBub25jZQ==", /* inner space */
        "dGhlIHNhbXBsZSBub25jZQ==dGhlIHNhbXBsZSBub25jZQ==",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(ws_accept_key(bad[i], strlen(bad[i]), out), SIO_EINVAL);
}

static int has(const char *v, const char *t) {
    return ws_header_has_token(v, strlen(v), t);
}

static void test_header_tokens(void) {
    CHECK(has("Upgrade", "upgrade"));
    CHECK(has("keep-alive, Upgrade", "upgrade"));
    CHECK(has("keep-alive,Upgrade", "UPGRADE"));
    CHECK(has(" \tUpgrade\t ,keep-alive", "upgrade"));
    CHECK(has("a,,b, upgrade ,", "upgrade"));
    CHECK(has("websocket", "websocket"));
    CHECK(!has("", "upgrade"));
    CHECK(!has("keep-alive", "upgrade"));
    CHECK(!has("upgraded", "upgrade"));
    CHECK(!has("upgrade-now, x", "upgrade"));
    CHECK(!has("up grade", "upgrade"));
    CHECK(!has("upgrad", "upgrade"));
    /* the length bounds the value (no NUL needed) */
    CHECK(!ws_header_has_token("upgrade", 6, "upgrade"));
    CHECK(ws_header_has_token("upgradeXYZ", 7, "upgrade"));
}

struct nego_case {
    const char *header;
    const ws_deflate_params *policy;
    int result;
    const char *response;
    ws_deflate_params agreed;
};

static const ws_deflate_params policy_small = {1, 1, 10, 9};
static const ws_deflate_params policy_w12 = {0, 0, 15, 12};

static void test_deflate_negotiation(void) {
    const struct nego_case cases[] = {
        {"permessage-deflate", NULL, 1, "permessage-deflate", {0, 0, 15, 15}},
        {"permessage-deflate; client_max_window_bits",
         NULL,
         1,
         "permessage-deflate",
         {0, 0, 15, 15}},
        /* what browsers send */
        {"permessage-deflate; client_max_window_bits",
         &policy_w12,
         1,
         "permessage-deflate; client_max_window_bits=12",
         {0, 0, 15, 12}},
        {"permessage-deflate;client_max_window_bits=10",
         &policy_w12,
         1,
         "permessage-deflate; client_max_window_bits=10",
         {0, 0, 15, 10}},
        {"permessage-deflate; client_max_window_bits=15",
         NULL,
         1,
         "permessage-deflate; client_max_window_bits=15",
         {0, 0, 15, 15}},
        {"permessage-deflate; server_max_window_bits=10",
         NULL,
         1,
         "permessage-deflate; server_max_window_bits=10",
         {0, 0, 10, 15}},
        {"permessage-deflate; server_max_window_bits=8",
         NULL,
         1,
         "permessage-deflate; server_max_window_bits=8",
         {0, 0, 8, 15}},
        {"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         NULL,
         1,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
         {1, 1, 15, 15}},
        /* the server's own wishes; client window only when the client allows it */
        {"permessage-deflate",
         &policy_small,
         1,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=10",
         {1, 1, 10, 15}},
        {"permessage-deflate; client_max_window_bits; server_max_window_bits=12",
         &policy_small,
         1,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=10; client_max_window_bits=9",
         {1, 1, 10, 9}},
        {"permessage-deflate; server_max_window_bits=9",
         &policy_small,
         1,
         "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
         "server_max_window_bits=9",
         {1, 1, 9, 15}},
        /* whitespace, case and quoting */
        {"  PerMessage-Deflate ;\tclient_max_window_bits = \"10\" ;server_no_context_takeover ",
         NULL,
         1,
         "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
         {1, 0, 15, 10}},
        {"permessage-deflate; server_max_window_bits=\"1\\2\"",
         NULL,
         1,
         "permessage-deflate; server_max_window_bits=12",
         {0, 0, 12, 15}},
        /* other extensions are skipped, even with quoted commas */
        {"x-webkit-deflate-frame, permessage-deflate",
         NULL,
         1,
         "permessage-deflate",
         {0, 0, 15, 15}},
        {"foo; a=\"x, permessage-deflate\"; b, permessage-deflate; server_max_window_bits=11",
         NULL,
         1,
         "permessage-deflate; server_max_window_bits=11",
         {0, 0, 11, 15}},
        /* the first acceptable offer wins; invalid ones are declined */
        {"permessage-deflate; server_max_window_bits=7, permessage-deflate; "
         "client_max_window_bits",
         &policy_w12,
         1,
         "permessage-deflate; client_max_window_bits=12",
         {0, 0, 15, 12}},
        {"permessage-deflate; server_max_window_bits=10, permessage-deflate",
         NULL,
         1,
         "permessage-deflate; server_max_window_bits=10",
         {0, 0, 10, 15}},
        {"permessage-deflate; foo=1, permessage-deflate; client_no_context_takeover",
         NULL,
         1,
         "permessage-deflate; client_no_context_takeover",
         {0, 1, 15, 15}},
        {",, ,permessage-deflate", NULL, 1, "permessage-deflate", {0, 0, 15, 15}},
        /* nothing acceptable */
        {"", NULL, 0, NULL, {0, 0, 0, 0}},
        {"x-webkit-deflate-frame", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=16", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=08", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=+9", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=\"\"", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=\"123456789012345678901\"",
         NULL,
         0,
         NULL,
         {0, 0, 0, 0}},
        {"permessage-deflate; client_max_window_bits=7", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; client_max_window_bits=abc", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_no_context_takeover=1", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; client_no_context_takeover=\"\"", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         NULL,
         0,
         NULL,
         {0, 0, 0, 0}},
        {"permessage-deflate; client_max_window_bits; client_max_window_bits=9",
         NULL,
         0,
         NULL,
         {0, 0, 0, 0}},
        {"permessage-deflate; unknown", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate;", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; server_max_window_bits=\"10", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate; client_max_window_bits 10", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate x", NULL, 0, NULL, {0, 0, 0, 0}},
        {"permessage-deflate-x", NULL, 0, NULL, {0, 0, 0, 0}},
        {"\"permessage-deflate\"", NULL, 0, NULL, {0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct nego_case *t = &cases[i];
        char resp[WS_DEFLATE_RESPONSE_MAX];
        ws_deflate_params a = {0, 0, 0, 0};
        int r =
            ws_deflate_negotiate(t->header, strlen(t->header), t->policy, &a, resp, sizeof resp);
        if (r != t->result) fprintf(stderr, "case %zu: %s\n", i, t->header);
        CHECK_INT(r, t->result);
        if (r != 1) continue;
        if (strcmp(resp, t->response)) fprintf(stderr, "case %zu: %s\n", i, t->header);
        CHECK_STR(resp, t->response);
        CHECK_INT(a.server_no_context_takeover, t->agreed.server_no_context_takeover);
        CHECK_INT(a.client_no_context_takeover, t->agreed.client_no_context_takeover);
        CHECK_INT(a.server_max_window_bits, t->agreed.server_max_window_bits);
        CHECK_INT(a.client_max_window_bits, t->agreed.client_max_window_bits);
    }
}

static void test_deflate_negotiation_small_buffer(void) {
    char resp[10];
    ws_deflate_params a;
    const char *h = "permessage-deflate";
    CHECK_INT(ws_deflate_negotiate(h, strlen(h), NULL, &a, resp, sizeof resp), SIO_EINVAL);
    /* the longest response fits WS_DEFLATE_RESPONSE_MAX */
    char big[WS_DEFLATE_RESPONSE_MAX];
    const char *all = "permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
                      " server_max_window_bits=10; client_max_window_bits=10";
    CHECK_INT(ws_deflate_negotiate(all, strlen(all), NULL, &a, big, sizeof big), 1);
}

int main(void) {
    RUN(test_accept_key_rfc_example);
    RUN(test_accept_key_rejects_bad_keys);
    RUN(test_header_tokens);
    RUN(test_deflate_negotiation);
    RUN(test_deflate_negotiation_small_buffer);
    return CHECK_DONE();
}
