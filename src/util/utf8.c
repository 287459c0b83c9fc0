/* util/utf8.c - incremental UTF-8 validator (see utf8.h).
 *
 * The state names what the next byte must be. After a lead byte the first
 * continuation byte may have a narrowed range (that is where overlongs,
 * surrogates and code points above U+10FFFF are excluded); every later
 * continuation byte is 0x80..0xBF. The states:
 *
 *   ACCEPT    at a boundary               REJECT   invalid, final
 *   CONT1     1 more byte, 80..BF         CONT2    2 more, 80..BF then CONT1
 *   CONT3     3 more, 80..BF then CONT2
 *   E0        after E0: A0..BF then CONT1 (no overlong 3-byte form)
 *   ED        after ED: 80..9F then CONT1 (no surrogates)
 *   F0        after F0: 90..BF then CONT2 (no overlong 4-byte form)
 *   F4        after F4: 80..8F then CONT2 (nothing above U+10FFFF)
 */
#include "util/utf8.h"

#include <string.h>

enum {
    ST_ACCEPT = UTIL_UTF8_ACCEPT,
    ST_REJECT = UTIL_UTF8_REJECT,
    ST_CONT1,
    ST_CONT2,
    ST_CONT3,
    ST_E0,
    ST_ED,
    ST_F0,
    ST_F4
};

/* The state after a byte seen at a boundary. */
static uint8_t utf8_lead(uint8_t b) {
    if (b < 0x80) return ST_ACCEPT;
    if (b < 0xC2) return ST_REJECT; /* continuation byte, or C0/C1 (overlong 2-byte) */
    if (b < 0xE0) return ST_CONT1;
    if (b == 0xE0) return ST_E0;
    if (b == 0xED) return ST_ED;
    if (b < 0xF0) return ST_CONT2;
    if (b == 0xF0) return ST_F0;
    if (b < 0xF4) return ST_CONT3;
    if (b == 0xF4) return ST_F4;
    return ST_REJECT; /* F5..FF: above U+10FFFF or 5/6-byte forms */
}

/* The state after byte b inside a sequence (state is not ACCEPT or REJECT). */
static uint8_t utf8_next(uint8_t state, uint8_t b) {
    uint8_t lo = 0x80, hi = 0xBF, next;
    switch (state) {
    case ST_CONT1:
        next = ST_ACCEPT;
        break;
    case ST_CONT2:
        next = ST_CONT1;
        break;
    case ST_CONT3:
        next = ST_CONT2;
        break;
    case ST_E0:
        lo = 0xA0, next = ST_CONT1;
        break;
    case ST_ED:
        hi = 0x9F, next = ST_CONT1;
        break;
    case ST_F0:
        lo = 0x90, next = ST_CONT2;
        break;
    case ST_F4:
        hi = 0x8F, next = ST_CONT2;
        break;
    default:
        return ST_REJECT;
    }
    return (b >= lo && b <= hi) ? next : ST_REJECT;
}

int util_utf8_feed(uint8_t *state, const uint8_t *p, size_t n) {
    uint8_t s = *state;
    size_t i = 0;
    if (s == ST_REJECT) return -1;
    while (i < n) {
        if (s == ST_ACCEPT) {
            /* ASCII fast path: skip whole 8-byte words with no high bit set. */
            while (n - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & UINT64_C(0x8080808080808080)) break;
                i += 8;
            }
            while (i < n && p[i] < 0x80) i++;
            if (i == n) break;
            s = utf8_lead(p[i++]);
            if (s == ST_REJECT) break;
        } else {
            s = utf8_next(s, p[i++]);
            if (s == ST_REJECT) break;
        }
    }
    *state = s;
    return s == ST_REJECT ? -1 : 0;
}

int util_utf8_valid(const void *text, size_t n) {
    const uint8_t *p = text;
    uint8_t s = UTIL_UTF8_ACCEPT;
    return util_utf8_feed(&s, p, n) == 0 && s == UTIL_UTF8_ACCEPT;
}

/* ---- whole-text helpers (Engine.IO v3 lengths count UTF-16 units) ---- */

static inline int has_high_bit8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return (w & 0x8080808080808080ULL) != 0;
}

size_t util_utf8_seq(const uint8_t *p, size_t n) {
    uint8_t c = p[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0; /* continuation byte or overlong two-byte lead */
    if (c < 0xE0) return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (p[2] & 0xC0) != 0x80) return 0;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
        return p[1] >= lo && p[1] <= hi ? 3 : 0;
    }
    if (c < 0xF5) {
        if (n < 4 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
        return p[1] >= lo && p[1] <= hi ? 4 : 0;
    }
    return 0;
}

size_t util_utf8_utf16_len(const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t units = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if ((c & 0xC0) != 0x80) units++;
        if (c >= 0xF0) units++;
    }
    return units;
}

size_t util_utf8_skip_utf16(const char *s, size_t len, size_t units) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (units > 0) {
        if (i >= len) return (size_t)-1;
        if (units >= 8 && i + 8 <= len && !has_high_bit8(p + i)) {
            i += 8;
            units -= 8;
            continue;
        }
        if (p[i] < 0x80) {
            i++;
            units--;
            continue;
        }
        size_t k = util_utf8_seq(p + i, len - i);
        if (!k) return (size_t)-1;
        size_t u = k == 4 ? 2 : 1;
        if (u > units) return (size_t)-1; /* the count splits a surrogate pair */
        i += k;
        units -= u;
    }
    return i;
}

size_t util_utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
