/* util/attr.h - compiler attributes the util headers put on their functions.
 *
 * UTIL_MUST_USE marks a function whose result says whether it worked (an
 * allocation that may fail): a caller that drops the result is a compile
 * error in the project's -Werror builds, so an out-of-memory case is never
 * ignored by accident. (void) does not silence it under gcc; handle the error.
 */
#ifndef SIO_UTIL_ATTR_H
#define SIO_UTIL_ATTR_H

#if defined(__GNUC__) || defined(__clang__)
#define UTIL_MUST_USE __attribute__((warn_unused_result))
#else
#define UTIL_MUST_USE
#endif

#endif
