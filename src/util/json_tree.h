/* util/json_tree.h - JSON text to jansson values and back, on our own terms.
 *
 * jansson's own loader and dumper are not used on the protocol path because
 * their rules differ from JavaScript's in ways a peer can see: json_loads()
 * refuses integers beyond 64 bits and escaped lone surrogates, json_dumps()
 * writes reals with 17 digits (0.1 becomes 0.10000000000000001). Here:
 *
 *   parsing   integer literals that fit int64 become integers, every other
 *             number a real; a number too large for a double becomes null (as
 *             JSON.stringify(Infinity) would send it on); escaped lone
 *             surrogates become U+FFFD; duplicate keys: the last one wins.
 *   writing   like JSON.stringify: no whitespace, non-ASCII as is, reals in
 *             their shortest round-trip form, -0 as 0, control characters,
 *             '"' and '\\' escaped.
 *
 * Both take an optional hook so that the Socket.IO layer can swap binary
 * placeholders and blobs without a second walk over the tree.
 */
#ifndef SIO_UTIL_JSON_TREE_H
#define SIO_UTIL_JSON_TREE_H

#include "util/attr.h"

#include "util/buf.h"

#include <jansson.h>
#include <stddef.h>

/*
 * Called with every object once its members are all parsed. Returns the value
 * to keep in its place: obj itself, or a replacement (the hook then owns obj
 * and must release it). NULL fails the parse.
 */
typedef json_t *(*util_json_object_hook)(json_t *obj, void *ud);

/* The jansson value of the JSON text s[0, len), or NULL if it is not valid
 * JSON (see json_scan.h) or memory ran out. */
json_t *util_json_parse(const char *s, size_t len, util_json_object_hook hook, void *ud);

/*
 * Called with every value before it is written. Returns 1 when it wrote the
 * value itself, 0 to have it written normally, a negative code to fail.
 */
typedef int (*util_json_write_hook)(util_buf *out, const json_t *v, void *ud);

/* Appends v as JSON text. 0, SIO_ENOMEM, or SIO_EINVAL when nesting goes
 * deeper than UTIL_JSON_MAX_DEPTH (a cycle). */
int util_json_write(util_buf *out, const json_t *v, util_json_write_hook hook, void *ud);

/* The value of a validated JSON number token (C locale, whatever the
 * program set). */
double util_json_number_value(const char *s, size_t len);

/* Appends s[0, len) as a JSON string literal, quotes included. */
UTIL_MUST_USE int util_json_write_string(util_buf *out, const char *s, size_t len);

/* Appends a double in its shortest form that reads back to the same value
 * ("null" for infinities and NaN). */
UTIL_MUST_USE int util_json_write_real(util_buf *out, double d);

#endif
