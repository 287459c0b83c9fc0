/* tests/unit/test_http_util.c - the HTTP layer's small helpers
 * (http/http_util.c): strict percent-decoding of paths, lenient decoding of
 * query keys and values, comma-separated header tokens, MIME types by
 * extension. Edge cases: empty input, escapes cut at the very end, decoded
 * bytes never decoded twice, bytes above 0x7f, input far longer than any
 * header, each output buffer exactly len + 1 bytes (ASan sees an overrun).
 */
#include "check.h"
#include "http/http_internal.h"

#include <stdlib.h>

static void test_path_decoding_is_strict(void) {
    char out[64];
    CHECK_INT(http_path_decode("/a%20b", 6, out), 4);
    CHECK(strcmp(out, "/a b") == 0);
    CHECK_INT(http_path_decode("/a%2Fb", 6, out), -1); /* an encoded slash */
    CHECK_INT(http_path_decode("/a%5cb", 6, out), -1); /* an encoded backslash */
    CHECK_INT(http_path_decode("/a%00b", 6, out), -1); /* an encoded NUL */
    CHECK_INT(http_path_decode("/a%zzb", 6, out), -1); /* not hex */
    CHECK_INT(http_path_decode("/a%2", 4, out), -1);   /* cut short */
    CHECK_INT(http_path_decode("/a\\b", 4, out), -1);  /* a raw backslash */
}

static void test_path_decoding_edges(void) {
    char out[64];
    CHECK_INT(http_path_decode("", 0, out), 0); /* empty: an empty string */
    CHECK_STR(out, "");
    CHECK_INT(http_path_decode("%", 1, out), -1);     /* a lone % */
    CHECK_INT(http_path_decode("/x%", 3, out), -1);   /* % as the last byte */
    CHECK_INT(http_path_decode("/x%4", 4, out), -1);  /* one digit, then the end */
    CHECK_INT(http_path_decode("%%41", 4, out), -1);  /* % escaped by nothing */
    CHECK_INT(http_path_decode("%4g", 3, out), -1);   /* the second digit not hex */
    CHECK_INT(http_path_decode("%g4", 3, out), -1);   /* the first digit not hex */
    CHECK_INT(http_path_decode("%2f", 3, out), -1);   /* lowercase encoded slash */
    CHECK_INT(http_path_decode("%5C", 3, out), -1);   /* uppercase encoded backslash */
    CHECK_INT(http_path_decode("/a\0b", 4, out), -1); /* a raw NUL within len */
    /* an escape ending exactly at len is whole */
    CHECK_INT(http_path_decode("%41", 3, out), 1);
    CHECK_STR(out, "A");
    /* len is the end, whatever follows in memory */
    CHECK_INT(http_path_decode("/ab%41", 3, out), 3);
    CHECK_STR(out, "/ab");
    /* a decoded % is not decoded again */
    CHECK_INT(http_path_decode("/%2541", 6, out), 4);
    CHECK_STR(out, "/%41");
    /* hex digits in either case; the decoded bytes above 0x7f as they are */
    CHECK_INT(http_path_decode("/%c3%A9%fF", 10, out), 4);
    CHECK_MEM(out, "/\xc3\xa9\xff", 5);
    /* raw bytes above 0x7f and other odd but allowed bytes pass through */
    CHECK_INT(http_path_decode("/\x80\xfe?#;=", 7, out), 7);
    CHECK_MEM(out, "/\x80\xfe?#;=", 8);
    /* "." and ".." are not the decoder's business (the static handler's) */
    CHECK_INT(http_path_decode("/%2e%2E/x", 9, out), 5);
    CHECK_STR(out, "/../x");
}

/* A path far longer than any header limit, into exactly len + 1 bytes. */
static void test_path_decoding_overlong(void) {
    enum { N = 1 << 20 };
    char *in = malloc(N), *out = malloc(N + 1);
    CHECK(in && out);
    for (size_t i = 0; i < N; i += 4) memcpy(in + i, "a%41", 4);
    CHECK_INT(http_path_decode(in, N, out), N / 2);
    CHECK(out[0] == 'a' && out[1] == 'A' && out[N / 2 - 1] == 'A' && out[N / 2] == '\0');
    for (size_t i = 0; i < N; i++) in[i] = 'z'; /* no escape at all: as long as the input */
    CHECK_INT(http_path_decode(in, N, out), N);
    CHECK(out[N - 1] == 'z' && out[N] == '\0');
    in[N - 1] = '%'; /* a cut escape at the very end of a long input */
    CHECK_INT(http_path_decode(in, N, out), -1);
    free(in);
    free(out);
}

static void test_query_decoding_is_lenient(void) {
    char out[64];
    CHECK_INT(http_query_decode("a+b%21", 6, out), 4);
    CHECK(strcmp(out, "a b!") == 0);
    CHECK_INT(http_query_decode("100%", 4, out), 4); /* a lone % stays */
    CHECK(strcmp(out, "100%") == 0);
    CHECK_INT(http_query_decode("%zz", 3, out), 3);
    CHECK(strcmp(out, "%zz") == 0);
}

static void test_query_decoding_edges(void) {
    char out[64];
    CHECK_INT(http_query_decode("", 0, out), 0);
    CHECK_STR(out, "");
    CHECK_INT(http_query_decode("%", 1, out), 1);
    CHECK_STR(out, "%");
    CHECK_INT(http_query_decode("%4", 2, out), 2); /* one digit, then the end: kept */
    CHECK_STR(out, "%4");
    CHECK_INT(http_query_decode("%41", 3, out), 1); /* ending exactly at len */
    CHECK_STR(out, "A");
    CHECK_INT(http_query_decode("%4g%g4", 6, out), 6);
    CHECK_STR(out, "%4g%g4");
    CHECK_INT(http_query_decode("+%2B+", 5, out), 3); /* an encoded + is a +, not a space */
    CHECK_STR(out, " + ");
    CHECK_INT(http_query_decode("%2541", 5, out), 3); /* decoded once */
    CHECK_STR(out, "%41");
    CHECK_INT(http_query_decode("%%41", 4, out), 2); /* the first % stays, then A */
    CHECK_STR(out, "%A");
    CHECK_INT(http_query_decode("%2F%5c", 6, out), 2); /* slashes are fine in a query */
    CHECK_STR(out, "/\\");
    CHECK_INT(http_query_decode("%c3%a9\xff", 7, out), 3);
    CHECK_MEM(out, "\xc3\xa9\xff", 4);
    /* an encoded NUL is decoded and counted: the length tells, not strlen */
    CHECK_INT(http_query_decode("a%00b", 5, out), 3);
    CHECK_MEM(out, "a\0b", 4);
    CHECK_INT(http_query_decode("abc%41", 3, out), 3); /* len is the end */
    CHECK_STR(out, "abc");
}

static void test_query_decoding_overlong(void) {
    enum { N = 1 << 20 };
    char *in = malloc(N), *out = malloc(N + 1);
    CHECK(in && out);
    for (size_t i = 0; i < N; i += 4) memcpy(in + i, "+%7e", 4);
    CHECK_INT(http_query_decode(in, N, out), N / 2);
    CHECK(out[0] == ' ' && out[1] == '~' && out[N / 2] == '\0');
    in[N - 2] = '%'; /* the last group "+%%e": a bad escape, then one cut by the end */
    CHECK_INT(http_query_decode(in, N, out), N / 2 + 2);
    CHECK_MEM(out + N / 2 - 2, " %%e", 5);
    free(in);
    free(out);
}

static void test_header_tokens_and_mime_types(void) {
    CHECK(http_header_has_token("keep-alive, Upgrade", "upgrade"));
    CHECK(http_header_has_token("Upgrade", "upgrade"));
    CHECK(!http_header_has_token("upgrades", "upgrade"));
    CHECK(!http_header_has_token(NULL, "upgrade"));
    CHECK(strncmp(http_mime_type("a/b/index.HTML"), "text/html", 9) == 0); /* any case */
    CHECK(strcmp(http_mime_type("x.gz"), "application/gzip") == 0);
    CHECK(strcmp(http_mime_type("dir.d/noext"), "application/octet-stream") == 0);
    CHECK(strcmp(http_mime_type("trailing."), "application/octet-stream") == 0);
}

static void test_header_token_edges(void) {
    CHECK(!http_header_has_token("", "close"));
    CHECK(!http_header_has_token(" ,\t, ,", "close"));         /* only separators */
    CHECK(http_header_has_token(",,close,,", "close"));        /* empty elements */
    CHECK(http_header_has_token("\tclose\t", "close"));        /* tabs around */
    CHECK(http_header_has_token("a , b ,  CLOSE  ", "close")); /* the last, spaced */
    CHECK(http_header_has_token("a,close,b", "close"));        /* in the middle */
    CHECK(!http_header_has_token("clos", "close"));            /* a prefix of the token */
    CHECK(!http_header_has_token("close-ish, x", "close"));    /* the token as a prefix */
    CHECK(!http_header_has_token("keep close", "close"));      /* one element with a space */
    CHECK(!http_header_has_token("close;q=1", "close"));       /* parameters are not stripped */
    CHECK(!http_header_has_token("cl\xc3\xb6se", "close"));    /* odd bytes: no match, no crash */
    CHECK(http_header_has_token("x, \x80\xff, Upgrade", "upgrade"));
    /* a long list: the token at its very end */
    enum { N = 100000 };
    char *v = malloc(N + 16);
    CHECK(v != NULL);
    for (size_t i = 0; i < N; i += 2) memcpy(v + i, "a,", 2);
    memcpy(v + N, "upgrade", 8);
    CHECK(http_header_has_token(v, "UPGRADE"));
    v[N + 6] = '\0'; /* "upgrad" */
    CHECK(!http_header_has_token(v, "upgrade"));
    free(v);
}

static void test_mime_type_edges(void) {
    const char *bin = "application/octet-stream";
    CHECK_STR(http_mime_type(""), bin);
    CHECK_STR(http_mime_type("."), bin);
    CHECK_STR(http_mime_type("/"), bin);
    CHECK_STR(http_mime_type("a.b/c"), bin);      /* the dot is in a directory */
    CHECK_STR(http_mime_type("x.html.bak"), bin); /* the last extension counts */
    CHECK_STR(http_mime_type("x.bak.html"), "text/html; charset=utf-8");
    CHECK_STR(http_mime_type("a.tar.gz"), "application/gzip");
    CHECK_STR(http_mime_type("/s/.js"), "text/javascript; charset=utf-8"); /* a dot file */
    CHECK_STR(http_mime_type("X.PNG"), "image/png");
    CHECK_STR(http_mime_type("app.webmanifest"), "application/manifest+json");
    CHECK_STR(http_mime_type("a.jsx"), bin); /* not js: the whole extension */
    CHECK_STR(http_mime_type("a.j"), bin);
    CHECK_STR(http_mime_type("a.\xc3\xa9"), bin);
    CHECK_STR(http_mime_type("socket.io.min.js.map"), "application/json");
    /* a very long name */
    enum { N = 65536 };
    char *name = malloc(N + 6);
    CHECK(name != NULL);
    memset(name, 'n', N);
    memcpy(name + N, ".wasm", 6);
    CHECK_STR(http_mime_type(name), "application/wasm");
    free(name);
}

int main(void) {
    RUN(test_path_decoding_is_strict);
    RUN(test_path_decoding_edges);
    RUN(test_path_decoding_overlong);
    RUN(test_query_decoding_is_lenient);
    RUN(test_query_decoding_edges);
    RUN(test_query_decoding_overlong);
    RUN(test_header_tokens_and_mime_types);
    RUN(test_header_token_edges);
    RUN(test_mime_type_edges);
    return CHECK_DONE();
}
