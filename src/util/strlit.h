/* util/strlit.h - a string literal and its length, counted by the compiler.
 *
 * UTIL_LIT("null") expands to the two arguments "null", 4, for the many calls
 * that take a pointer and a length (util_buf_append, memcmp, strncasecmp,
 * util_json_string_eq), so no length is counted by hand. The argument must be
 * a string literal (the empty literals around it make anything else a
 * compile error).
 */
#ifndef SIO_UTIL_STRLIT_H
#define SIO_UTIL_STRLIT_H

#define UTIL_LIT(s) ("" s ""), (sizeof(s) - 1)

#endif
