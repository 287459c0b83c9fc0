/* adapter/redis_msgpack.h - MessagePack values <-> jansson values, as Node's
 * @socket.io/redis-adapter exchanges them (its codec is notepack.io 3.0).
 *
 * Writing follows notepack byte for byte: the smallest integer form
 * (positive fixint, uint8..64, negative fixint, int8..64) for every integral
 * number, a real included (3.0 is written 03, -0.0 as 00); float64 for any
 * other number; fixstr/str8/16/32; bin8/16/32 for blobs (sio_blob_new);
 * fixarray/array16/32; fixmap/map16/32 with the keys in the object's order.
 * An integral real outside [-2^63, 2^64) is written as float64 (notepack
 * wraps it into a wrong uint64; a float64 is what Node reads back right).
 * The msgpack-c packer (Debian libmsgpack-dev) writes the bytes.
 *
 * Reading is ours, not msgpack-c's unpacker: that one allocates count * 24
 * bytes for an array header before it has read one element (five bytes
 * "dd 0f ff ff ff" ask for 8 GiB), stops at 32 levels of nesting (a
 * compile-time constant of the Debian library), and builds a tree of its own
 * that would then be copied into jansson. The reader here builds the jansson
 * tree in one pass, refuses a count larger than the bytes left (every element
 * takes at least one byte) before creating anything, and allows
 * UTIL_JSON_MAX_DEPTH levels, as the JSON path does. What it makes of each
 * form, as Node's clients would see the value:
 *
 *   int, uint (every width)  integer; a uint64 above INT64_MAX a real (the
 *                            nearest double, as Node reads it)
 *   float32, float64         real; NaN and infinities null (JSON.stringify)
 *   str8/16/32               string; invalid UTF-8 becomes U+FFFD per maximal
 *                            subpart, as Buffer#toString does
 *   bin8/16/32, ext type 0   blob (ext 0 is notepack's legacy ArrayBuffer)
 *   timestamp (ext -1: 32, 64 and 96 bits), legacy Date (fixext8 type 0)
 *                            the ISO-8601 text of Date#toJSON
 *                            ("2026-01-02T03:04:05.678Z"), null when out of
 *                            the Date range
 *   fixext1 type 0           undefined: null in an array, left out of a map
 *   any other ext            [type, blob]
 *   map keys                 strings; an integer key becomes its decimal text
 *                            (as a JS object key would); any other key
 *                            (nil, bool, float, bin, array, map, ext) is
 *                            refused
 *
 * A value must fill the input exactly (trailing bytes are refused, as
 * notepack does). Errors: SIO_EPROTO (malformed, truncated, too deep, a key
 * that is refused), SIO_ENOMEM; *why, when asked, is a static text for the
 * log.
 */
#ifndef SIO_ADAPTER_REDIS_MSGPACK_H
#define SIO_ADAPTER_REDIS_MSGPACK_H

#include "util/attr.h"
#include "util/buf.h"

#include <jansson.h>
#include <msgpack.h>
#include <stddef.h>

/* Binds a msgpack-c packer to out: every write appends to it. A write that
 * cannot grow out makes the msgpack_pack_* call return non-zero. */
void redis_msgpack_packer_init(msgpack_packer *pk, util_buf *out);

/* Writes v. 0, SIO_ENOMEM, SIO_EINVAL when v nests deeper than
 * UTIL_JSON_MAX_DEPTH, SIO_ETOOBIG for a string, blob, array or object
 * longer than MessagePack can say (2^32 - 1). */
UTIL_MUST_USE int redis_msgpack_pack(msgpack_packer *pk, const json_t *v);

/* Appends v to out (redis_msgpack_pack on a packer bound to out). */
UTIL_MUST_USE int redis_msgpack_encode(util_buf *out, const json_t *v);

/* Decodes the one value that fills data[0, len) into *out (a new
 * reference). 0, SIO_EPROTO or SIO_ENOMEM; *why (may be NULL) says what was
 * wrong. */
UTIL_MUST_USE int redis_msgpack_decode(const void *data, size_t len, json_t **out,
                                       const char **why);

/* Writes the Date#toISOString text of a time in milliseconds since the
 * epoch, as JavaScript's Date would hold it (truncated toward zero) into
 * buf (at least 28 bytes). Returns its length, or 0 when the time is not a
 * valid Date (NaN, or beyond 8.64e15 ms either way). */
size_t redis_msgpack_iso_time(double ms, char *buf);

#endif
