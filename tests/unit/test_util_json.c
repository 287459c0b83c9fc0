/* Unit tests of src/util/json_scan (validator, lexer, unescaping), json_tree
 * (jansson values from and to JSON text) and utf8. */
#include "check.h"
#include "socketio/common.h"
#include "util/json_scan.h"
#include "util/json_tree.h"
#include "util/utf8.h"

#include <stdlib.h>

#define VALID(s) CHECK_INT(util_json_validate(s, sizeof(s) - 1), 0)
#define INVALID(s) CHECK_INT(util_json_validate(s, sizeof(s) - 1), SIO_EPROTO)

static void test_valid_documents(void) {
    VALID("0");
    VALID("-0");
    VALID("12");
    VALID("-12.5e+10");
    VALID("1E2");
    VALID("1.0e-3");
    VALID("true");
    VALID("false");
    VALID("null");
    VALID("\"\"");
    VALID("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"");
    VALID("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""); /* é € 😀 raw */
    VALID("\"\\ud800\"");                              /* lone surrogates: JSON.parse accepts */
    VALID("\"\\udc00x\"");
    VALID("[]");
    VALID("{}");
    VALID(" \t\r\n[ 1 , \"a\" , { \"k\" : [ null ] } ] \n");
    VALID("{\"a\":{\"b\":{\"c\":[1,[2,[3]]]}},\"d\":\"\"}");
    VALID("[\"\\u0000\"]");
}

static void test_invalid_documents(void) {
    INVALID("");
    INVALID("   ");
    INVALID("01");
    INVALID("1.");
    INVALID(".5");
    INVALID("+1");
    INVALID("-");
    INVALID("1e");
    INVALID("1e+");
    INVALID("0x10");
    INVALID("NaN");
    INVALID("Infinity");
    INVALID("[1,]");
    INVALID("[,1]");
    INVALID("[1 2]");
    INVALID("{\"a\"}");
    INVALID("{\"a\":}");
    INVALID("{a:1}");
    INVALID("{\"a\":1,}");
    INVALID("{\"a\" 1}");
    INVALID("{,}");
    INVALID("{'a':1}");
    INVALID("tru");
    INVALID("nul");
    INVALID("truex");
    INVALID("\"abc");
    INVALID("\"\\x\"");
    INVALID("\"\\u12G4\"");
    INVALID("\"\\u12\"");
    INVALID("\"a\x01\"");
    INVALID("\"a\tb\"");
    INVALID("\"\xff\"");
    INVALID("\"\xc0\xaf\"");         /* overlong */
    INVALID("\"\xed\xa0\x80\"");     /* an encoded surrogate */
    INVALID("\"\xf4\x90\x80\x80\""); /* above U+10FFFF */
    INVALID("\"\xe2\x82\"");         /* truncated sequence */
    INVALID("[1] 2");
    INVALID("[]]");
    INVALID("[");
    INVALID("]");
    INVALID("{\"a\":1}}");
    INVALID("[}");
    INVALID("{]");
    INVALID("\xef\xbb\xbf[]"); /* a BOM is not whitespace to JSON.parse */
    CHECK_INT(util_json_validate("[1]\0", 4), SIO_EPROTO);
}

static char *nested(int depth, const char *open, const char *close) {
    char *s = malloc((size_t)depth * 2 + 1);
    for (int i = 0; i < depth; i++) {
        s[i] = open[i % strlen(open)];
        s[2 * depth - 1 - i] = close[i % strlen(close)];
    }
    s[2 * depth] = '\0';
    return s;
}

static void test_depth_limit(void) {
    char *ok = nested(UTIL_JSON_MAX_DEPTH, "[", "]");
    char *deep = nested(UTIL_JSON_MAX_DEPTH + 1, "[", "]");
    int a = util_json_validate(ok, strlen(ok));
    int b = util_json_validate(deep, strlen(deep));
    json_t *v = util_json_parse(ok, strlen(ok), NULL, NULL);
    bool built = v != NULL;
    json_decref(v);
    free(ok);
    free(deep);
    CHECK_INT(a, 0);
    CHECK_INT(b, SIO_EPROTO);
    CHECK(built);
}

static void test_lexer_tokens(void) {
    const char *s = "{\"k\\n\":[1.5,-2,\"x\",true,false,null]}";
    util_json_lexer lx;
    util_json_lexer_init(&lx, s, strlen(s));
    CHECK_INT(util_json_next(&lx), UTIL_JSON_OBJECT);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_KEY);
    CHECK_INT(lx.flags & UTIL_JSON_ESCAPED, UTIL_JSON_ESCAPED);
    CHECK_INT(lx.end - lx.start, 5);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_ARRAY);
    CHECK_INT(lx.depth, 2);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_NUMBER);
    CHECK_INT(lx.flags & UTIL_JSON_INTEGER, 0);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_NUMBER);
    CHECK_INT(lx.flags & UTIL_JSON_INTEGER, UTIL_JSON_INTEGER);
    CHECK_MEM(s + lx.start, "-2", 2);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_STRING);
    CHECK_INT(lx.flags & UTIL_JSON_ESCAPED, 0);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_TRUE);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_FALSE);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_NULL);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_ARRAY_END);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_OBJECT_END);
    CHECK_INT(lx.depth, 0);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_END);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_END);
}

static void test_array_elements(void) {
    const char *s = "[\"msg\", {\"a\":[1,2]} ,\"x\"]";
    util_json_lexer lx;
    size_t a, b;
    util_json_tok t;
    util_json_lexer_init(&lx, s, strlen(s));
    CHECK_INT(util_json_next(&lx), UTIL_JSON_ARRAY);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), 1);
    CHECK_INT(t, UTIL_JSON_STRING);
    CHECK_INT(b - a, 5);
    CHECK_MEM(s + a, "\"msg\"", 5);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), 1);
    CHECK_INT(t, UTIL_JSON_OBJECT);
    CHECK_INT(b - a, 11);
    CHECK_MEM(s + a, "{\"a\":[1,2]}", 11);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), 1);
    CHECK_MEM(s + a, "\"x\"", 3);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), 0);
    CHECK_INT(util_json_next(&lx), UTIL_JSON_END);

    const char *bad = "[1,{\"a\":}]";
    util_json_lexer_init(&lx, bad, strlen(bad));
    CHECK_INT(util_json_next(&lx), UTIL_JSON_ARRAY);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), 1);
    CHECK_INT(util_json_array_next(&lx, &a, &b, &t), UTIL_JSON_ERROR);
}

static void test_unescape(void) {
    char out[64];
    struct {
        const char *in, *out;
        size_t out_len;
    } cases[] = {
        {"plain", "plain", 5},
        {"a\\nb\\t\\\"\\\\\\/", "a\nb\t\"\\/", 7},
        {"\\u00e9\\u20AC", "\xc3\xa9\xe2\x82\xac", 5},
        {"\\ud83d\\ude00", "\xf0\x9f\x98\x80", 4},
        {"\\ud800", "\xef\xbf\xbd", 3},
        {"\\ud800\\u0041",
         "\xef\xbf\xbd"
         "A",
         4},
        {"\\ude00\\ud83d", "\xef\xbf\xbd\xef\xbf\xbd", 6},
        {"x\\u0000y", "x\0y", 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = util_json_unescape(cases[i].in, strlen(cases[i].in), out);
        CHECK_INT(n, cases[i].out_len);
        CHECK_MEM(out, cases[i].out, n);
    }
    CHECK(util_json_string_eq("num", 3, false, "num", 3));
    CHECK(!util_json_string_eq("nu", 2, false, "num", 3));
    CHECK(util_json_string_eq("n\\u0075m", 8, true, "num", 3));
    CHECK(!util_json_string_eq("n\\u0075mm", 9, true, "num", 3));
}

static void test_parse_values(void) {
    const char *s = "{\"i\":-9223372036854775808,\"big\":18446744073709551616,\"r\":0.1,"
                    "\"inf\":1e400,\"s\":\"\\u00e9\\ud800\",\"a\":[true,false,null],"
                    "\"dup\":1,\"dup\":2,\"k\\u0000\":3}";
    json_t *v = util_json_parse(s, strlen(s), NULL, NULL);
    CHECK(v != NULL);
    bool ok = json_integer_value(json_object_get(v, "i")) == INT64_MIN &&
              json_is_real(json_object_get(v, "big")) &&
              json_real_value(json_object_get(v, "big")) == 18446744073709551616.0 &&
              json_real_value(json_object_get(v, "r")) == 0.1 &&
              json_is_null(json_object_get(v, "inf")) &&
              strcmp(json_string_value(json_object_get(v, "s")), "\xc3\xa9\xef\xbf\xbd") == 0 &&
              json_array_size(json_object_get(v, "a")) == 3 &&
              json_integer_value(json_object_get(v, "dup")) == 2 &&
              json_integer_value(json_object_getn(v, "k\0", 2)) == 3;
    json_decref(v);
    CHECK(ok);
    CHECK(util_json_parse("[1,", 3, NULL, NULL) == NULL);
    CHECK(util_json_parse("", 0, NULL, NULL) == NULL);
    json_t *scalar = util_json_parse(" \"x\" ", 5, NULL, NULL);
    CHECK(json_is_string(scalar));
    json_decref(scalar);
}

static void check_write(const json_t *v, const char *expect, int *failed) {
    util_buf b = UTIL_BUF_INIT;
    int r = util_json_write(&b, v, NULL, NULL);
    if (r || b.len != strlen(expect) || memcmp(b.data, expect, b.len) != 0) {
        fprintf(stderr, "write: got \"%.*s\", want \"%s\"\n", (int)b.len, b.data, expect);
        *failed = 1;
    }
    util_buf_free(&b);
}

static void test_write_like_json_stringify(void) {
    int failed = 0;
    json_t *v;
    struct {
        double d;
        const char *s;
    } reals[] = {
        {0.1, "0.1"},
        {1.5, "1.5"},
        {-0.0, "0"},
        {100.0, "100"},
        {1e21, "1e+21"},
        {1.0 / 3, "0.3333333333333333"},
        {5e-324, "4.94065645841247e-324"},
        {-2.5e-7, "-2.5e-7"},
    };
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++) {
        v = json_real(reals[i].d);
        check_write(v, reals[i].s, &failed);
        json_decref(v);
    }
    v = json_pack("{s:[i,s,b,n]}", "a", -5, "q\"\\\x01\n\xc3\xa9/", 1);
    check_write(v, "{\"a\":[-5,\"q\\\"\\\\\\u0001\\n\xc3\xa9/\",true,null]}", &failed);
    json_decref(v);
    v = json_object();
    json_object_setn_new(v, "a\0b", 3, json_string(""));
    check_write(v, "{\"a\\u0000b\":\"\"}", &failed);
    json_decref(v);
    CHECK(!failed);
}

static void test_write_parse_roundtrip(void) {
    const char *docs[] = {
        "[\"a\",1,{}]",
        "{\"token\":\"123\"}",
        "[0.1,-2.5e-7,123456789012,\"\\u001f\"]",
        "{\"a\":{\"b\":[[],{}]}}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_t *v = util_json_parse(docs[i], strlen(docs[i]), NULL, NULL);
        CHECK(v);
        util_buf b = UTIL_BUF_INIT;
        int r = util_json_write(&b, v, NULL, NULL);
        json_decref(v);
        bool same = r == 0 && b.len == strlen(docs[i]) && memcmp(b.data, docs[i], b.len) == 0;
        util_buf_free(&b);
        CHECK(same);
    }
}

static void test_utf8(void) {
    CHECK(util_utf8_valid("plain ascii text, long enough for the word loop", 47));
    CHECK(util_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9));
    CHECK(!util_utf8_valid("abcdefgh\x80", 9));
    CHECK(!util_utf8_valid("\xf0\x9f\x98", 3));
    CHECK(!util_utf8_valid("\xe0\x80\x80", 3)); /* overlong */
    CHECK_INT(util_utf8_utf16_len("a\xe2\x82\xac\xf0\x9f\x98\x80", 8), 4);
    CHECK_INT(util_utf8_skip_utf16("a\xe2\x82\xac\xf0\x9f\x98\x80z", 9, 2), 4);
    CHECK_INT(util_utf8_skip_utf16("a\xe2\x82\xac\xf0\x9f\x98\x80z", 9, 4), 8);
    CHECK_INT(util_utf8_skip_utf16("a\xe2\x82\xac\xf0\x9f\x98\x80z", 9, 3), (size_t)-1);
    CHECK_INT(util_utf8_skip_utf16("abc", 3, 4), (size_t)-1);
    CHECK_INT(util_utf8_skip_utf16("abcdefghijkl", 12, 10), 10);
    char out[4];
    CHECK_INT(util_utf8_put(0x10FFFF, out), 4);
    CHECK_MEM(out, "\xf4\x8f\xbf\xbf", 4);
}

int main(void) {
    RUN(test_valid_documents);
    RUN(test_invalid_documents);
    RUN(test_depth_limit);
    RUN(test_lexer_tokens);
    RUN(test_array_elements);
    RUN(test_unescape);
    RUN(test_parse_values);
    RUN(test_write_like_json_stringify);
    RUN(test_write_parse_roundtrip);
    RUN(test_utf8);
    return CHECK_DONE();
}
