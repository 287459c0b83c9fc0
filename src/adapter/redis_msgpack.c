/* adapter/redis_msgpack.c - owns the MessagePack form of jansson values on
 * the Redis channels: writing through msgpack-c's packer, reading with the
 * bounded one-pass reader below (redis_msgpack.h says why, and what each form
 * becomes).
 */
#include "adapter/redis_msgpack.h"

#include "socketio.h"       /* sio_blob_new, sio_blob_get */
#include "util/json_scan.h" /* UTIL_JSON_MAX_DEPTH */
#include "util/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing ----------------------------------------------------------------------- */

static int packer_write(void *data, const char *buf, size_t len) {
    return util_buf_append(data, buf, len) ? -1 : 0;
}

void redis_msgpack_packer_init(msgpack_packer *pk, util_buf *out) {
    msgpack_packer_init(pk, out, packer_write);
}

/* 2^63 and 2^64 as doubles (exact). */
#define TWO_63 9223372036854775808.0
#define TWO_64 18446744073709551616.0

static int pack_number(msgpack_packer *pk, double d) {
    /* notepack: Math.floor(d) === d && isFinite(d) -> an integer form */
    if (isfinite(d) && floor(d) == d && d >= -TWO_63 && d < TWO_64) {
        if (d < 0) return msgpack_pack_int64(pk, (int64_t)d);
        return msgpack_pack_uint64(pk, (uint64_t)d);
    }
    return msgpack_pack_double(pk, d);
}

static int pack_value(msgpack_packer *pk, const json_t *v, unsigned depth) {
    if (depth > UTIL_JSON_MAX_DEPTH) return SIO_EINVAL;
    const char *data;
    size_t len;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (sio_blob_get(v, &data, &len)) {
            if (len > UINT32_MAX) return SIO_ETOOBIG;
            if (msgpack_pack_bin(pk, len) || msgpack_pack_bin_body(pk, data, len))
                return SIO_ENOMEM;
            return 0;
        }
        size_t n = json_object_size(v);
        if (n > UINT32_MAX) return SIO_ETOOBIG;
        if (msgpack_pack_map(pk, n)) return SIO_ENOMEM;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            len = json_object_iter_key_len(it);
            if (len > UINT32_MAX) return SIO_ETOOBIG;
            if (msgpack_pack_str(pk, len) ||
                msgpack_pack_str_body(pk, json_object_iter_key(it), len))
                return SIO_ENOMEM;
            int r = pack_value(pk, json_object_iter_value(it), depth + 1);
            if (r) return r;
        }
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n > UINT32_MAX) return SIO_ETOOBIG;
        if (msgpack_pack_array(pk, n)) return SIO_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            int r = pack_value(pk, json_array_get(v, i), depth + 1);
            if (r) return r;
        }
        return 0;
    }
    case JSON_STRING:
        len = json_string_length(v);
        if (len > UINT32_MAX) return SIO_ETOOBIG;
        if (msgpack_pack_str(pk, len) || msgpack_pack_str_body(pk, json_string_value(v), len))
            return SIO_ENOMEM;
        return 0;
    case JSON_INTEGER:
        return msgpack_pack_int64(pk, json_integer_value(v)) ? SIO_ENOMEM : 0;
    case JSON_REAL:
        return pack_number(pk, json_real_value(v)) ? SIO_ENOMEM : 0;
    case JSON_TRUE:
        return msgpack_pack_true(pk) ? SIO_ENOMEM : 0;
    case JSON_FALSE:
        return msgpack_pack_false(pk) ? SIO_ENOMEM : 0;
    case JSON_NULL:
    default:
        return msgpack_pack_nil(pk) ? SIO_ENOMEM : 0;
    }
}

int redis_msgpack_pack(msgpack_packer *pk, const json_t *v) {
    return pack_value(pk, v, 0);
}

int redis_msgpack_encode(util_buf *out, const json_t *v) {
    msgpack_packer pk;
    redis_msgpack_packer_init(&pk, out);
    return pack_value(&pk, v, 0);
}

/* ---- dates ------------------------------------------------------------------------ */

/* The civil date of a day number (days since 1970-01-01), proleptic
 * Gregorian: the era/day-of-era method. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11], from March */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

size_t redis_msgpack_iso_time(double ms, char *buf) {
    /* TimeClip: NaN beyond 8.64e15 ms; then truncation toward zero */
    if (!isfinite(ms) || fabs(ms) > 8.64e15) return 0;
    int64_t t = (int64_t)trunc(ms);
    int64_t days = t / 86400000, rem = t % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    unsigned hh = (unsigned)(rem / 3600000), mi = (unsigned)(rem / 60000 % 60),
             ss = (unsigned)(rem / 1000 % 60), mss = (unsigned)(rem % 1000);
    char year[24], text[80];
    if (y >= 0 && y <= 9999)
        snprintf(year, sizeof year, "%04" PRId64, y);
    else
        snprintf(year, sizeof year, "%c%06" PRId64, y < 0 ? '-' : '+', y < 0 ? -y : y);
    int n = snprintf(text, sizeof text, "%s-%02u-%02uT%02u:%02u:%02u.%03uZ", year, mo, d, hh, mi,
                     ss, mss);
    if (n <= 0 || n > 27) return 0; /* the years of a Date take at most 7 characters */
    memcpy(buf, text, (size_t)n + 1);
    return (size_t)n;
}

/* ---- reading ---------------------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p, *end;
    const char *why;
} reader;

static int fail(reader *r, const char *why) {
    if (!r->why) r->why = why;
    return SIO_EPROTO;
}

static size_t left(const reader *r) {
    return (size_t)(r->end - r->p);
}

/* Reads an n-byte big-endian unsigned number (n <= 8); the caller checked. */
static uint64_t take_be(reader *r, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v = v << 8 | r->p[i];
    r->p += n;
    return v;
}

static int take_uint(reader *r, unsigned n, uint64_t *v) {
    if (left(r) < n) return fail(r, "truncated MessagePack");
    *v = take_be(r, n);
    return 0;
}

/* A string from bytes that may not be valid UTF-8: each maximal subpart of
 * an ill-formed sequence becomes one U+FFFD (the WHATWG decoder's rule,
 * which Buffer#toString follows). */
static json_t *make_string(const uint8_t *p, size_t n) {
    if (util_utf8_valid(p, n)) return json_stringn_nocheck(n ? (const char *)p : "", n);
    if (n > SIZE_MAX / 3) return NULL;
    char *out = malloc(n * 3), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b < 0x80) {
            *o++ = (char)b;
            i++;
            continue;
        }
        unsigned need = 0;
        uint8_t lo = 0x80, hi = 0xbf;
        if (b >= 0xc2 && b <= 0xdf) {
            need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            need = 2;
            if (b == 0xe0) lo = 0xa0;
            if (b == 0xed) hi = 0x9f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            need = 3;
            if (b == 0xf0) lo = 0x90;
            if (b == 0xf4) hi = 0x8f;
        }
        size_t j = i + 1;
        unsigned got = 0;
        while (need && got < need && j < n && p[j] >= lo && p[j] <= hi) {
            lo = 0x80;
            hi = 0xbf;
            j++;
            got++;
        }
        if (need && got == need) {
            memcpy(o, p + i, j - i);
            o += j - i;
        } else {
            o += util_utf8_put(0xfffd, o);
        }
        i = j;
    }
    json_t *s = json_stringn_nocheck(out, (size_t)(o - out));
    free(out);
    return s;
}

static json_t *make_blob(reader *r, size_t n) {
    json_t *b = sio_blob_new(r->p, n);
    r->p += n;
    return b;
}

/* A Date as its toJSON() value: the ISO text, or null. */
static json_t *make_date(double ms) {
    char buf[32];
    size_t n = redis_msgpack_iso_time(ms, buf);
    return n ? json_stringn_nocheck(buf, n) : json_null();
}

/* [type, blob] for an ext notepack has no meaning for. */
static json_t *make_ext(reader *r, int8_t type, size_t n) {
    json_t *a = json_array();
    if (!a) return NULL;
    json_t *b = sio_blob_new(r->p, n);
    r->p += n;
    if (!b || json_array_append_new(a, json_integer(type))) {
        json_decref(b);
        json_decref(a);
        return NULL;
    }
    if (json_array_append_new(a, b)) { /* b is released on failure */
        json_decref(a);
        return NULL;
    }
    return a;
}

static int read_value(reader *r, unsigned depth, json_t **out);

static int read_array(reader *r, uint64_t n, unsigned depth, json_t **out) {
    if (n > left(r)) return fail(r, "array count larger than the bytes left");
    json_t *a = json_array();
    if (!a) return SIO_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        json_t *v;
        int e = read_value(r, depth + 1, &v);
        if (!e && !v) v = json_null(); /* undefined in an array */
        if (!e && json_array_append_new(a, v)) e = SIO_ENOMEM;
        if (e) {
            json_decref(a);
            return e;
        }
    }
    *out = a;
    return 0;
}

/* 2^53: the integers a JavaScript number holds exactly. */
#define TWO_53 9007199254740992LL

static int read_key(reader *r, unsigned depth, json_t **key) {
    if (!left(r)) return fail(r, "truncated MessagePack");
    uint8_t b = *r->p;
    bool str = (b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb);
    bool num = b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xcf) || (b >= 0xd0 && b <= 0xd3);
    if (!str && !num) return fail(r, "a map key that is neither a string nor an integer");
    json_t *k;
    int e = read_value(r, depth + 1, &k);
    if (e) return e;
    if (json_is_string(k)) {
        *key = k;
        return 0;
    }
    if (!json_is_integer(k) || json_integer_value(k) > TWO_53 || json_integer_value(k) < -TWO_53) {
        json_decref(k);
        return fail(r, "an integer map key beyond 2^53");
    }
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(k));
    json_decref(k);
    *key = json_stringn_nocheck(buf, (size_t)n);
    return *key ? 0 : SIO_ENOMEM;
}

static int read_map(reader *r, uint64_t n, unsigned depth, json_t **out) {
    if (n > left(r) / 2) return fail(r, "map count larger than the bytes left");
    json_t *o = json_object();
    if (!o) return SIO_ENOMEM;
    for (uint64_t i = 0; i < n; i++) {
        json_t *k = NULL, *v = NULL;
        int e = read_key(r, depth, &k);
        if (!e) e = read_value(r, depth + 1, &v);
        if (!e) {
            const char *ks = json_string_value(k);
            size_t kl = json_string_length(k);
            if (v)
                e = json_object_setn_new_nocheck(o, ks, kl, v) ? SIO_ENOMEM : 0;
            else
                json_object_deln(o, ks, kl); /* undefined: JSON.stringify leaves it out */
        }
        json_decref(k);
        if (e) {
            json_decref(o);
            return e;
        }
    }
    *out = o;
    return 0;
}

/* The ext family: n payload bytes of type `type` after the header that
 * started with byte `prefix` (0xc7-0xc9 ext8/16/32, 0xd4-0xd8 fixext). What
 * notepack 3.0 gives a meaning to, by header: fixext1 type 0 undefined,
 * fixext8 type 0 its old Date (int64 ms), ext8/16/32 type 0 its old
 * ArrayBuffer; type -1 the timestamps, as fixext4 (32-bit s), fixext8
 * (30-bit ns, 34-bit s) and ext8 of 12 bytes (32-bit ns, int64 s). */
static int read_ext(reader *r, uint8_t prefix, int8_t type, size_t n, json_t **out) {
    if (left(r) < n) return fail(r, "truncated MessagePack");
    bool fixed = prefix >= 0xd4;
    json_t *v;
    if (type == 0 && prefix == 0xd4) {
        r->p++;
        *out = NULL;
        return 0;
    } else if (type == 0 && prefix == 0xd7) {
        int64_t hi = (int32_t)(uint32_t)take_be(r, 4);
        uint64_t lo = take_be(r, 4);
        v = make_date((double)hi * 4294967296.0 + (double)lo);
    } else if (type == 0 && !fixed) {
        v = make_blob(r, n);
    } else if (type == -1 && prefix == 0xd6) {
        v = make_date((double)take_be(r, 4) * 1e3);
    } else if (type == -1 && prefix == 0xd7) {
        uint64_t hi = take_be(r, 4), lo = take_be(r, 4);
        double s = (double)(hi & 3) * 4294967296.0 + (double)lo;
        v = make_date(s * 1e3 + (double)(hi >> 2) / 1e6);
    } else if (type == -1 && prefix == 0xc7) {
        if (n != 12) return fail(r, "a timestamp extension of neither 4, 8 nor 12 bytes");
        uint64_t ns = take_be(r, 4);
        int64_t hi = (int32_t)(uint32_t)take_be(r, 4);
        uint64_t lo = take_be(r, 4);
        v = make_date(((double)hi * 4294967296.0 + (double)lo) * 1e3 + (double)ns / 1e6);
    } else {
        v = make_ext(r, type, n);
    }
    if (!v) return SIO_ENOMEM;
    *out = v;
    return 0;
}

static int read_value(reader *r, unsigned depth, json_t **out) {
    if (depth > UTIL_JSON_MAX_DEPTH) return fail(r, "MessagePack nested too deep");
    if (!left(r)) return fail(r, "truncated MessagePack");
    uint8_t b = *r->p++;
    uint64_t n;
    json_t *v = NULL;
    int e;
    if (b <= 0x7f) {
        v = json_integer(b);
    } else if (b <= 0x8f) {
        return read_map(r, b & 0x0f, depth, out);
    } else if (b <= 0x9f) {
        return read_array(r, b & 0x0f, depth, out);
    } else if (b <= 0xbf) {
        n = b & 0x1f;
        if (left(r) < n) return fail(r, "truncated MessagePack");
        v = make_string(r->p, n);
        r->p += n;
    } else if (b >= 0xe0) {
        v = json_integer((int8_t)b);
    } else {
        switch (b) {
        case 0xc0:
            v = json_null();
            break;
        case 0xc2:
            v = json_false();
            break;
        case 0xc3:
            v = json_true();
            break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
            if ((e = take_uint(r, 1u << (b - 0xc4), &n))) return e;
            if (left(r) < n) return fail(r, "truncated MessagePack");
            v = make_blob(r, n);
            break;
        case 0xc7:
        case 0xc8:
        case 0xc9: {
            if ((e = take_uint(r, 1u << (b - 0xc7), &n))) return e;
            if (!left(r)) return fail(r, "truncated MessagePack");
            int8_t type = (int8_t)*r->p++;
            return read_ext(r, b, type, n, out);
        }
        case 0xca: {
            if ((e = take_uint(r, 4, &n))) return e;
            uint32_t bits = (uint32_t)n;
            float f;
            memcpy(&f, &bits, sizeof f);
            v = isfinite(f) ? json_real((double)f) : json_null();
            break;
        }
        case 0xcb: {
            if ((e = take_uint(r, 8, &n))) return e;
            double d;
            memcpy(&d, &n, sizeof d);
            v = isfinite(d) ? json_real(d) : json_null();
            break;
        }
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
            if ((e = take_uint(r, 1u << (b - 0xcc), &n))) return e;
            v = n <= INT64_MAX ? json_integer((json_int_t)n) : json_real((double)n);
            break;
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
            unsigned w = 1u << (b - 0xd0);
            if ((e = take_uint(r, w, &n))) return e;
            int64_t s = w == 1 ? (int8_t)n : w == 2 ? (int16_t)n : w == 4 ? (int32_t)n : (int64_t)n;
            v = json_integer(s);
            break;
        }
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8: {
            if (!left(r)) return fail(r, "truncated MessagePack");
            int8_t type = (int8_t)*r->p++;
            return read_ext(r, b, type, (size_t)1 << (b - 0xd4), out);
        }
        case 0xd9:
        case 0xda:
        case 0xdb:
            if ((e = take_uint(r, 1u << (b - 0xd9), &n))) return e;
            if (left(r) < n) return fail(r, "truncated MessagePack");
            v = make_string(r->p, n);
            r->p += n;
            break;
        case 0xdc:
        case 0xdd:
            if ((e = take_uint(r, b == 0xdc ? 2 : 4, &n))) return e;
            return read_array(r, n, depth, out);
        case 0xde:
        case 0xdf:
            if ((e = take_uint(r, b == 0xde ? 2 : 4, &n))) return e;
            return read_map(r, n, depth, out);
        default: /* 0xc1 */
            return fail(r, "the MessagePack byte 0xc1 (never used)");
        }
    }
    if (!v) return SIO_ENOMEM;
    *out = v;
    return 0;
}

int redis_msgpack_decode(const void *data, size_t len, json_t **out, const char **why) {
    if (!len) {
        if (why) *why = "empty MessagePack";
        return SIO_EPROTO;
    }
    reader r = {.p = data, .end = (const uint8_t *)data + len, .why = NULL};
    json_t *v = NULL;
    int e = read_value(&r, 0, &v);
    if (!e && r.p != r.end) {
        json_decref(v);
        e = fail(&r, "bytes after the MessagePack value");
    }
    if (!e && !v) v = json_null(); /* a lone undefined */
    if (e) {
        if (why) *why = e == SIO_ENOMEM ? "out of memory" : r.why;
        return e;
    }
    *out = v;
    return 0;
}
