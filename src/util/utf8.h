/* util/utf8.h - strict UTF-8 validation and UTF-16 length counting.
 *
 * Strict means RFC 3629: no overlong forms, no encoded surrogates, nothing
 * above U+10FFFF. The UTF-16 helpers exist for Engine.IO v3, whose text
 * payload lengths are JavaScript string lengths (UTF-16 code units): a
 * character outside the BMP (four UTF-8 bytes) counts as two units.
 */
#ifndef SIO_UTIL_UTF8_H
#define SIO_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence that starts p[0..n), 0 if none. n >= 1. */
size_t sio_utf8_seq(const uint8_t *p, size_t n);

/* True when all len bytes are valid UTF-8. */
bool sio_utf8_valid(const char *s, size_t len);

/* UTF-16 code units of UTF-8 text. Counts every byte that is not a
 * continuation byte, plus one for each four-byte lead; exact for valid text. */
size_t sio_utf8_utf16_len(const char *s, size_t len);

/*
 * Bytes taken by the first `units` UTF-16 code units of s[0..len), checking
 * that those bytes are valid UTF-8. Returns (size_t)-1 when the text is
 * invalid, shorter than `units`, or when the count ends inside a surrogate
 * pair (in the middle of a four-byte sequence).
 */
size_t sio_utf8_skip_utf16(const char *s, size_t len, size_t units);

/* Writes the UTF-8 form of code point cp (< 0x110000) to out; returns 1-4. */
size_t sio_utf8_put(uint32_t cp, char *out);

#endif
