/* util/decimal.h - an unsigned integer written in decimal, without printf.
 *
 * The packet encoders write ack ids, attachment counts and lengths on hot
 * paths; this is the one digit loop they share.
 */
#ifndef SIO_UTIL_DECIMAL_H
#define SIO_UTIL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* The most digits a uint64_t takes. */
#define UTIL_DECIMAL_MAX 20

/* Writes v's decimal digits (ASCII, no NUL) to out; returns how many. */
static inline size_t util_decimal(char out[UTIL_DECIMAL_MAX], uint64_t v) {
    char tmp[UTIL_DECIMAL_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

#endif
