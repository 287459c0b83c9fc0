/* Unit tests of util/utf8: good and bad vectors (Markus Kuhn style), splits at
 * every position, and an exhaustive comparison with a slow reference decoder. */
#include "check.h"
#include "util/utf8.h"

#include <stdint.h>
#include <stdlib.h>

/* A straightforward decoder used as the reference: 1 if valid. */
static int ref_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) {
            i++;
            continue;
        } else if ((b & 0xE0) == 0xC0) {
            len = 2, cp = b & 0x1F, min = 0x80;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3, cp = b & 0x0F, min = 0x800;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4, cp = b & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

#define V(s)                                                                                       \
    { (const uint8_t *)(s), sizeof(s) - 1 }
struct vec {
    const uint8_t *p;
    size_t n;
};

static const struct vec good[] = {
    V(""),
    V("hello, world"),
    V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"), /* "kosme" in Greek */
    V("\x00"),
    V("\xc2\x80"),         /* U+0080, first 2-byte */
    V("\xe0\xa0\x80"),     /* U+0800, first 3-byte */
    V("\xf0\x90\x80\x80"), /* U+10000, first 4-byte */
    V("\x7f"),             /* U+007F, last 1-byte */
    V("\xdf\xbf"),         /* U+07FF */
    V("\xef\xbf\xbf"),     /* U+FFFF */
    V("\xf4\x8f\xbf\xbf"), /* U+10FFFF, the last code point */
    V("\xed\x9f\xbf"),     /* U+D7FF, just below the surrogates */
    V("\xee\x80\x80"),     /* U+E000, just above */
    V("\xef\xbf\xbe"),     /* U+FFFE, a noncharacter but valid UTF-8 */
    V("abcdefghijklmnop\xe2\x82\xac"
      "abcdefghijklmnop"),
};

static const struct vec bad[] = {
    V("\x80"), /* lone continuation bytes */
    V("\xbf"),
    V("\x80\xbf\x80"),
    V("\xc0\xaf"), /* overlong '/' */
    V("\xe0\x80\xaf"),
    V("\xf0\x80\x80\xaf"),
    V("\xf8\x80\x80\x80\xaf"),     /* 5-byte form */
    V("\xfc\x80\x80\x80\x80\xaf"), /* 6-byte form */
    V("\xc1\xbf"),                 /* maximal overlongs */
    V("\xe0\x9f\xbf"),
    V("\xf0\x8f\xbf\xbf"),
    V("\xc0\x80"),                 /* overlong NUL */
    V("\xed\xa0\x80"),             /* U+D800 */
    V("\xed\xad\xbf"),             /* U+DB7F */
    V("\xed\xbf\xbf"),             /* U+DFFF */
    V("\xed\xa0\x80\xed\xb0\x80"), /* a surrogate pair encoded separately */
    V("\xf4\x90\x80\x80"),         /* U+110000 */
    V("\xf7\xbf\xbf\xbf"),
    V("\xfe"),
    V("\xff"),
    V("\xfe\xfe\xff\xff"),
    V("\xc2"), /* truncated sequences */
    V("\xe0\xa0"),
    V("\xf0\x90\x80"),
    V("abc\xe2\x82"),
    V("\xc2\x41"), /* a sequence cut by ASCII */
    V("\xe1\x80\x41"),
    V("abcdefgh\x80ijklmnop"), /* bad byte after a fast-path word */
    V("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"),
};

static void test_utf8_good_vectors(void) {
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK(util_utf8_valid(good[i].p, good[i].n));
        CHECK(ref_valid(good[i].p, good[i].n));
    }
}

static void test_utf8_bad_vectors(void) {
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (util_utf8_valid(bad[i].p, bad[i].n)) fprintf(stderr, "bad vector %zu accepted\n", i);
        CHECK(!util_utf8_valid(bad[i].p, bad[i].n));
        CHECK(!ref_valid(bad[i].p, bad[i].n));
    }
}

/* Any split of a text into two feeds gives the same answer as one feed. */
static void test_utf8_every_split(void) {
    const struct vec *sets[2] = {good, bad};
    size_t counts[2] = {sizeof good / sizeof good[0], sizeof bad / sizeof bad[0]};
    for (int s = 0; s < 2; s++) {
        for (size_t i = 0; i < counts[s]; i++) {
            const struct vec *v = &sets[s][i];
            for (size_t cut = 0; cut <= v->n; cut++) {
                uint8_t st = UTIL_UTF8_ACCEPT;
                int r = util_utf8_feed(&st, v->p, cut);
                if (r == 0) r = util_utf8_feed(&st, v->p + cut, v->n - cut);
                int ok = r == 0 && util_utf8_complete(st);
                CHECK_INT(ok, s == 0);
            }
            /* one byte at a time */
            uint8_t st = UTIL_UTF8_ACCEPT;
            int r = 0;
            for (size_t k = 0; k < v->n && r == 0; k++) r = util_utf8_feed(&st, v->p + k, 1);
            CHECK_INT(r == 0 && util_utf8_complete(st), s == 0);
        }
    }
}

/* Fails fast: the error is reported by the feed holding the bad byte, and the
 * state stays rejected afterwards. */
static void test_utf8_fails_fast_and_sticks(void) {
    uint8_t st = UTIL_UTF8_ACCEPT;
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\xed", 1), 0);
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\xa0", 1), -1);
    CHECK_INT(st, UTIL_UTF8_REJECT);
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"a", 1), -1);
    st = UTIL_UTF8_ACCEPT;
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\xf4", 1), 0);
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\x90", 1), -1);
    st = UTIL_UTF8_ACCEPT;
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\xe2\x82", 2), 0);
    CHECK(!util_utf8_complete(st));
    CHECK_INT(util_utf8_feed(&st, (const uint8_t *)"\xac", 1), 0);
    CHECK(util_utf8_complete(st));
}

/* Every sequence of up to three bytes, and every four-byte sequence with a
 * plausible lead, agrees with the reference decoder. */
static void test_utf8_exhaustive_against_reference(void) {
    uint8_t b[4];
    for (uint32_t v = 0; v < 0x1000000; v++) {
        b[0] = (uint8_t)(v >> 16), b[1] = (uint8_t)(v >> 8), b[2] = (uint8_t)v;
        for (size_t n = 1; n <= 3; n++) {
            if (n < 3 && (v & ((1u << (8 * (3 - n))) - 1))) continue;
            CHECK_INT(util_utf8_valid(b, n), ref_valid(b, n));
        }
    }
    for (uint32_t v = 0; v < 0x1000000; v++) {
        b[0] = (uint8_t)(0xF0 + ((v >> 18) & 7));
        b[1] = (uint8_t)(0x80 + ((v >> 12) & 0x3F) + ((v >> 21) & 1) * 0x40);
        b[2] = (uint8_t)(0x80 + ((v >> 6) & 0x3F));
        b[3] = (uint8_t)(0x80 + (v & 0x3F) + ((v >> 22) & 1) * 0x40);
        CHECK_INT(util_utf8_valid(b, 4), ref_valid(b, 4));
    }
}

/* Random texts made of valid characters, with random corruption. */
static void test_utf8_random_texts(void) {
    uint8_t buf[256];
    srand(7);
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(rand() % 3 ? rand() % 128 : rand());
        int want = ref_valid(buf, n);
        CHECK_INT(util_utf8_valid(buf, n), want);
        size_t cut = n ? (size_t)rand() % n : 0;
        uint8_t st = UTIL_UTF8_ACCEPT;
        int r = util_utf8_feed(&st, buf, cut);
        if (r == 0) r = util_utf8_feed(&st, buf + cut, n - cut);
        CHECK_INT(r == 0 && util_utf8_complete(st), want);
    }
}

int main(void) {
    RUN(test_utf8_good_vectors);
    RUN(test_utf8_bad_vectors);
    RUN(test_utf8_every_split);
    RUN(test_utf8_fails_fast_and_sticks);
    RUN(test_utf8_exhaustive_against_reference);
    RUN(test_utf8_random_texts);
    return CHECK_DONE();
}
