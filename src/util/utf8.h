/* util/utf8.h - incremental UTF-8 validation.
 *
 * A WebSocket text message must be valid UTF-8 (RFC 6455 section 8.1), and a
 * server should fail as soon as it sees an invalid byte, even when the message
 * arrives in many frames and reads. The validator therefore keeps one byte of
 * state between calls: feed it each chunk in order, and at the end of the
 * message check that no multi-byte sequence is left open.
 *
 * Well-formed means exactly the sequences of Unicode table 3-7: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no 5- and
 * 6-byte forms, no stray continuation bytes. Runs of ASCII are checked eight
 * bytes at a time.
 */
#ifndef SIO_UTIL_UTF8_H
#define SIO_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The state between calls. Start (and restart) at UTIL_UTF8_ACCEPT. */
#define UTIL_UTF8_ACCEPT 0 /* at a character boundary: the text so far is complete */
#define UTIL_UTF8_REJECT 1 /* an invalid byte was seen; stays rejected */

/*
 * Validates the next n bytes of a text, continuing from *state, which it
 * updates. Returns 0 while the text is valid so far (possibly ending inside a
 * sequence), -1 as soon as it is not (and *state becomes UTIL_UTF8_REJECT).
 */
int util_utf8_feed(uint8_t *state, const uint8_t *p, size_t n);

/* True when state marks a complete, valid text (no open sequence). */
static inline int util_utf8_complete(uint8_t state) {
    return state == UTIL_UTF8_ACCEPT;
}

/* Validates a whole text at once: 1 when valid UTF-8, 0 when not. */
int util_utf8_valid(const void *p, size_t n);

/* Length (1-4) of the valid UTF-8 sequence that starts p[0..n), 0 if none. n >= 1. */
size_t util_utf8_seq(const uint8_t *p, size_t n);

/* UTF-16 code units of UTF-8 text (as JavaScript counts string length): every
 * byte that is not a continuation byte, plus one for each four-byte lead;
 * exact for valid text. */
size_t util_utf8_utf16_len(const char *s, size_t len);

/*
 * Bytes taken by the first `units` UTF-16 code units of s[0..len), checking
 * that those bytes are valid UTF-8. Returns (size_t)-1 when the text is
 * invalid, shorter than `units`, or when the count ends inside a surrogate
 * pair (in the middle of a four-byte sequence).
 */
size_t util_utf8_skip_utf16(const char *s, size_t len, size_t units);

/* Writes the UTF-8 form of code point cp (< 0x110000) to out; returns 1-4. */
size_t util_utf8_put(uint32_t cp, char *out);

#endif
