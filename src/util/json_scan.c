/* util/json_scan.c - the JSON pull lexer and validator (see json_scan.h).
 *
 * A small state machine replaces recursion: the only memory is one bit per
 * open container (array or object) and the state after the last token. The
 * string loop skips ordinary bytes with a lookup table and only stops on a
 * quote, a backslash, a control character or a non-ASCII byte.
 */
#include "util/json_scan.h"

#include "socketio/common.h"
#include "util/utf8.h"
#include "util/strlit.h"

#include <stdlib.h>
#include <string.h>

enum {
    ST_VALUE,          /* a value must follow */
    ST_VALUE_OR_CLOSE, /* just after '[' */
    ST_KEY_OR_CLOSE,   /* just after '{' */
    ST_KEY,            /* after ',' in an object */
    ST_AFTER,          /* after a complete value */
    ST_DONE,
    ST_ERROR,
};

/* 1 for the bytes that end a run of plain string content. */
// clang-format off
static const uint8_t str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};
// clang-format on

static inline bool is_ws(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static inline size_t skip_ws(const char *s, size_t len, size_t pos) {
    while (pos < len && is_ws(s[pos])) pos++;
    return pos;
}

static inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Scans the string starting at the quote s[pos]; returns the position after
 * the closing quote, or 0 when it is malformed. */
/* True when one of the 8 bytes in w needs a closer look inside a string: a
 * quote, a backslash, a control character (< 0x20) or a non-ASCII byte. Each
 * test is the exact "some byte is zero / below n" bit trick (no false
 * positives for the whole word, which is all the caller asks). */
static inline bool str_special8(uint64_t w) {
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
    uint64_t quote = (q - ones) & ~q;
    uint64_t bslash = (b - ones) & ~b;
    uint64_t ctrl = (w - ones * 0x20) & ~w;
    return ((quote | bslash | ctrl) & high) != 0 || (w & high) != 0;
}

static size_t scan_string(const char *s, size_t len, size_t pos, uint8_t *flags) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = pos + 1;
    for (;;) {
        /* plain ASCII runs eight bytes at a time, then byte by byte */
        for (uint64_t w; i + 8 <= len; i += 8) {
            memcpy(&w, p + i, 8);
            if (str_special8(w)) break;
        }
        while (i < len && !str_stop[p[i]]) i++;
        if (i >= len) return 0;
        uint8_t c = p[i];
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (i + 1 >= len) return 0;
            *flags |= UTIL_JSON_ESCAPED;
            switch (p[i + 1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                i += 2;
                break;
            case 'u':
                if (i + 6 > len) return 0;
                for (int k = 2; k < 6; k++)
                    if (hexval((char)p[i + k]) < 0) return 0;
                i += 6;
                break;
            default:
                return 0;
            }
            continue;
        }
        if (c < 0x20) return 0;
        size_t k = util_utf8_seq(p + i, len - i);
        if (!k) return 0;
        i += k;
    }
}

static inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Scans a number at s[pos]; returns the position after it or 0. */
static size_t scan_number(const char *s, size_t len, size_t pos, uint8_t *flags) {
    size_t i = pos;
    if (s[i] == '-') i++;
    if (i >= len) return 0;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (++i < len && is_digit(s[i])) {
        }
    } else {
        return 0;
    }
    uint8_t f = UTIL_JSON_INTEGER;
    if (i < len && s[i] == '.') {
        f = 0;
        if (++i >= len || !is_digit(s[i])) return 0;
        while (++i < len && is_digit(s[i])) {
        }
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        f = 0;
        if (++i < len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= len || !is_digit(s[i])) return 0;
        while (++i < len && is_digit(s[i])) {
        }
    }
    *flags |= f;
    return i;
}

static inline bool top_is_object(const util_json_lexer *lx) {
    unsigned d = lx->depth - 1;
    return (lx->stack[d >> 3] >> (d & 7)) & 1;
}

void util_json_lexer_init(util_json_lexer *lx, const char *s, size_t len) {
    lx->s = s;
    lx->len = len;
    lx->pos = 0;
    lx->start = lx->end = 0;
    lx->depth = 0;
    lx->state = ST_VALUE;
    lx->flags = 0;
}

util_json_tok util_json_next(util_json_lexer *lx) {
    const char *s = lx->s;
    size_t len = lx->len;
    size_t pos = skip_ws(s, len, lx->pos);
    bool obj;

    switch (lx->state) {
    case ST_AFTER:
        if (lx->depth == 0) {
            if (pos != len) goto fail;
            lx->pos = pos;
            lx->state = ST_DONE;
            return UTIL_JSON_END;
        }
        if (pos >= len) goto fail;
        obj = top_is_object(lx);
        if (s[pos] == ',') {
            pos = skip_ws(s, len, pos + 1);
            if (obj) goto key;
            goto value;
        }
        if (s[pos] == (obj ? '}' : ']')) goto close;
        goto fail;
    case ST_VALUE_OR_CLOSE:
        if (pos < len && s[pos] == ']') {
            obj = false;
            goto close;
        }
        goto value;
    case ST_VALUE:
        goto value;
    case ST_KEY_OR_CLOSE:
        if (pos < len && s[pos] == '}') {
            obj = true;
            goto close;
        }
        goto key;
    case ST_KEY:
        goto key;
    case ST_DONE:
        return UTIL_JSON_END;
    default:
        return UTIL_JSON_ERROR;
    }

value:
    if (pos >= len) goto fail;
    lx->start = pos;
    lx->flags = 0;
    switch (s[pos]) {
    case '[':
    case '{': {
        unsigned d = lx->depth;
        if (d >= UTIL_JSON_MAX_DEPTH) goto fail;
        uint8_t bit = (uint8_t)(1u << (d & 7));
        bool is_obj = s[pos] == '{';
        if (is_obj)
            lx->stack[d >> 3] |= bit;
        else
            lx->stack[d >> 3] &= (uint8_t)~bit;
        lx->depth = d + 1;
        lx->end = lx->pos = pos + 1;
        lx->state = is_obj ? ST_KEY_OR_CLOSE : ST_VALUE_OR_CLOSE;
        return is_obj ? UTIL_JSON_OBJECT : UTIL_JSON_ARRAY;
    }
    case '"': {
        size_t e = scan_string(s, len, pos, &lx->flags);
        if (!e) goto fail;
        lx->end = lx->pos = e;
        lx->state = ST_AFTER;
        return UTIL_JSON_STRING;
    }
    case 't':
        if (len - pos < 4 || memcmp(s + pos, UTIL_LIT("true")) != 0) goto fail;
        lx->end = lx->pos = pos + 4;
        lx->state = ST_AFTER;
        return UTIL_JSON_TRUE;
    case 'f':
        if (len - pos < 5 || memcmp(s + pos, UTIL_LIT("false")) != 0) goto fail;
        lx->end = lx->pos = pos + 5;
        lx->state = ST_AFTER;
        return UTIL_JSON_FALSE;
    case 'n':
        if (len - pos < 4 || memcmp(s + pos, UTIL_LIT("null")) != 0) goto fail;
        lx->end = lx->pos = pos + 4;
        lx->state = ST_AFTER;
        return UTIL_JSON_NULL;
    default: {
        size_t e = scan_number(s, len, pos, &lx->flags);
        if (!e) goto fail;
        lx->end = lx->pos = e;
        lx->state = ST_AFTER;
        return UTIL_JSON_NUMBER;
    }
    }

key:
    if (pos >= len || s[pos] != '"') goto fail;
    lx->start = pos;
    lx->flags = 0;
    {
        size_t e = scan_string(s, len, pos, &lx->flags);
        if (!e) goto fail;
        lx->end = e;
        pos = skip_ws(s, len, e);
        if (pos >= len || s[pos] != ':') goto fail;
        lx->pos = pos + 1;
        lx->state = ST_VALUE;
        return UTIL_JSON_KEY;
    }

close:
    lx->depth--;
    lx->start = pos;
    lx->end = lx->pos = pos + 1;
    lx->flags = 0;
    lx->state = ST_AFTER;
    return obj ? UTIL_JSON_OBJECT_END : UTIL_JSON_ARRAY_END;

fail:
    lx->state = ST_ERROR;
    return UTIL_JSON_ERROR;
}

int util_json_array_next(util_json_lexer *lx, size_t *start, size_t *end, util_json_tok *tok) {
    unsigned d = lx->depth;
    if (d == 0 || top_is_object(lx)) return UTIL_JSON_ERROR;
    util_json_tok t = util_json_next(lx);
    switch (t) {
    case UTIL_JSON_ARRAY_END:
        return 0;
    case UTIL_JSON_ERROR:
    case UTIL_JSON_END:
    case UTIL_JSON_KEY:
    case UTIL_JSON_OBJECT_END:
        return UTIL_JSON_ERROR;
    default:
        break;
    }
    *start = lx->start;
    *tok = t;
    while (lx->depth > d)
        if (util_json_next(lx) == UTIL_JSON_ERROR) return UTIL_JSON_ERROR;
    *end = lx->end;
    return 1;
}

int util_json_validate(const char *s, size_t len) {
    util_json_lexer lx;
    util_json_lexer_init(&lx, s, len);
    for (;;) {
        util_json_tok t = util_json_next(&lx);
        if (t == UTIL_JSON_END) return 0;
        if (t == UTIL_JSON_ERROR) return SIO_EPROTO;
    }
}

static uint32_t hex4(const char *p) {
    return (uint32_t)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

size_t util_json_unescape(const char *raw, size_t len, char *out) {
    size_t i = 0, o = 0;
    while (i < len) {
        const char *bs = memchr(raw + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (raw + i)) : len - i;
        memmove(out + o, raw + i, run);
        o += run;
        i += run;
        if (!bs || i + 1 >= len) break;
        char c = raw[i + 1];
        i += 2;
        switch (c) {
        case 'b':
            out[o++] = '\b';
            break;
        case 'f':
            out[o++] = '\f';
            break;
        case 'n':
            out[o++] = '\n';
            break;
        case 'r':
            out[o++] = '\r';
            break;
        case 't':
            out[o++] = '\t';
            break;
        case 'u': {
            if (i + 4 > len) return o;
            uint32_t cp = hex4(raw + i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= len && raw[i] == '\\' &&
                raw[i + 1] == 'u') {
                uint32_t lo = hex4(raw + i + 2);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* a lone surrogate */
            o += util_utf8_put(cp, out + o);
            break;
        }
        default: /* '"', '\\', '/' */
            out[o++] = c;
            break;
        }
    }
    return o;
}

bool util_json_string_eq(const char *raw, size_t len, bool escaped, const char *lit,
                         size_t litlen) {
    if (!escaped) return len == litlen && memcmp(raw, lit, len) == 0;
    if (len < litlen || len > 12 * litlen + 12) return false; /* escapes at most 6x longer */
    char small[256];
    char *buf = len <= sizeof small ? small : malloc(len);
    if (!buf) return false;
    size_t n = util_json_unescape(raw, len, buf);
    bool eq = n == litlen && memcmp(buf, lit, n) == 0;
    if (buf != small) free(buf);
    return eq;
}
