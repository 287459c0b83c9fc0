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

/* The state between calls. Start (and restart) at SIO_UTF8_ACCEPT. */
#define SIO_UTF8_ACCEPT 0 /* at a character boundary: the text so far is complete */
#define SIO_UTF8_REJECT 1 /* an invalid byte was seen; stays rejected */

/*
 * Validates the next n bytes of a text, continuing from *state, which it
 * updates. Returns 0 while the text is valid so far (possibly ending inside a
 * sequence), -1 as soon as it is not (and *state becomes SIO_UTF8_REJECT).
 */
int sio_utf8_feed(uint8_t *state, const uint8_t *p, size_t n);

/* True when state marks a complete, valid text (no open sequence). */
static inline int sio_utf8_complete(uint8_t state) {
    return state == SIO_UTF8_ACCEPT;
}

/* Validates a whole text at once: 1 when valid UTF-8, 0 when not. */
int sio_utf8_valid(const uint8_t *p, size_t n);

#endif
