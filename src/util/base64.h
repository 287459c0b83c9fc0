/* util/base64.h - standard base64 (RFC 4648 section 4) with padding. */
#ifndef SIO_UTIL_BASE64_H
#define SIO_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode n bytes, without the terminating NUL. */
#define UTIL_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)

/* Encodes; writes UTIL_BASE64_ENCODED_LEN(len) bytes plus a NUL to out. */
size_t util_base64_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decodes strictly (padding required, no whitespace, no stray characters).
 * out must hold len / 4 * 3 bytes. Returns the decoded length, or -1.
 */
long util_base64_decode(const char *in, size_t len, uint8_t *out);

#endif
