/* util/utf8.c - strict UTF-8 checks and UTF-16 counting (see utf8.h).
 *
 * The loops walk ASCII eight bytes at a time, since nearly all protocol
 * text is ASCII; only bytes >= 0x80 take the per-sequence path.
 */
#include "util/utf8.h"

#include <string.h>

size_t sio_utf8_seq(const uint8_t *p, size_t n) {
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

static inline int has_high_bit8(const uint8_t *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return (w & 0x8080808080808080ULL) != 0;
}

bool sio_utf8_valid(const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len && !has_high_bit8(p + i)) {
            i += 8;
            continue;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = sio_utf8_seq(p + i, len - i);
        if (!k) return false;
        i += k;
    }
    return true;
}

size_t sio_utf8_utf16_len(const char *s, size_t len) {
    const uint8_t *p = (const uint8_t *)s;
    size_t units = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if ((c & 0xC0) != 0x80) units++;
        if (c >= 0xF0) units++;
    }
    return units;
}

size_t sio_utf8_skip_utf16(const char *s, size_t len, size_t units) {
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
        size_t k = sio_utf8_seq(p + i, len - i);
        if (!k) return (size_t)-1;
        size_t u = k == 4 ? 2 : 1;
        if (u > units) return (size_t)-1; /* the count splits a surrogate pair */
        i += k;
        units -= u;
    }
    return i;
}

size_t sio_utf8_put(uint32_t cp, char *out) {
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
