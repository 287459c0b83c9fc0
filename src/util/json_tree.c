/* util/json_tree.c - builds jansson values from JSON text and writes them
 * back (see json_tree.h).
 *
 * The parser drives the json_scan lexer and keeps its own stack of open
 * containers, so deep input cannot exhaust the C stack; the lexer has
 * already bounded the depth. The writer recurses, bounded by the same depth.
 */
#include "util/json_tree.h"

#include "socketio/common.h"
#include "util/json_scan.h"
#include "util/strlit.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Numbers are read and written in the C locale whatever the program set. */
static locale_t c_locale_value;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void) {
    c_locale_value = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t c_locale(void) {
    pthread_once(&c_locale_once, c_locale_init);
    return c_locale_value;
}

double util_json_number_value(const char *s, size_t len) {
    char small[64];
    char *buf = len < sizeof small ? small : malloc(len + 1);
    if (!buf) return NAN;
    memcpy(buf, s, len);
    buf[len] = '\0';
    locale_t loc = c_locale();
    double d = loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL);
    if (buf != small) free(buf);
    return d;
}

/* The value of an integer literal if it fits in json_int_t. */
static bool parse_int(const char *s, size_t len, json_int_t *out) {
    bool neg = s[0] == '-';
    size_t i = neg;
    uint64_t v = 0;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (limit - digit) / 10) return false;
        v = v * 10 + digit;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v;
    else
        *out = (json_int_t)v;
    return true;
}

static json_t *make_number(const char *s, size_t len, bool integer) {
    json_int_t i;
    if (integer && parse_int(s, len, &i)) return json_integer(i);
    double d = util_json_number_value(s, len);
    if (!isfinite(d)) return json_null();
    return json_real(d);
}

static json_t *make_string(const char *raw, size_t len, bool escaped) {
    if (!escaped) return json_stringn_nocheck(raw, len);
    char small[256];
    char *buf = len <= sizeof small ? small : malloc(len);
    if (!buf) return NULL;
    size_t n = util_json_unescape(raw, len, buf);
    json_t *v = json_stringn_nocheck(buf, n);
    if (buf != small) free(buf);
    return v;
}

typedef struct frame {
    json_t *v;
    char *key; /* the pending member name of an object (heap when unescaped) */
    size_t key_len;
    bool key_heap;
} frame;

static void frame_drop_key(frame *f) {
    if (f->key_heap) free(f->key);
    f->key = NULL;
    f->key_heap = false;
}

json_t *util_json_parse(const char *s, size_t len, util_json_object_hook hook, void *ud) {
    util_json_lexer lx;
    util_json_lexer_init(&lx, s, len);
    frame small[16];
    frame *st = small;
    size_t n = 0, cap = 16;
    json_t *root = NULL;

    for (;;) {
        util_json_tok t = util_json_next(&lx);
        const char *tok = s + lx.start;
        size_t tok_len = lx.end - lx.start;
        json_t *v = NULL;
        switch (t) {
        case UTIL_JSON_END:
            if (st != small) free(st);
            return root;
        case UTIL_JSON_ERROR:
            goto fail;
        case UTIL_JSON_ARRAY:
        case UTIL_JSON_OBJECT:
            if (n == cap) {
                frame *bigger = malloc(sizeof *st * cap * 2);
                if (!bigger) goto fail;
                memcpy(bigger, st, sizeof *st * n);
                if (st != small) free(st);
                st = bigger;
                cap *= 2;
            }
            st[n].v = t == UTIL_JSON_ARRAY ? json_array() : json_object();
            st[n].key = NULL;
            st[n].key_heap = false;
            if (!st[n].v) goto fail;
            n++;
            continue;
        case UTIL_JSON_KEY: {
            frame *f = &st[n - 1];
            const char *raw = tok + 1;
            size_t raw_len = tok_len - 2;
            if (lx.flags & UTIL_JSON_ESCAPED) {
                f->key = malloc(raw_len ? raw_len : 1);
                if (!f->key) goto fail;
                f->key_heap = true;
                f->key_len = util_json_unescape(raw, raw_len, f->key);
            } else {
                f->key = (char *)raw;
                f->key_len = raw_len;
            }
            continue;
        }
        case UTIL_JSON_ARRAY_END:
        case UTIL_JSON_OBJECT_END:
            v = st[--n].v;
            if (t == UTIL_JSON_OBJECT_END && hook) {
                v = hook(v, ud);
                if (!v) goto fail;
            }
            break;
        case UTIL_JSON_STRING:
            v = make_string(tok + 1, tok_len - 2, lx.flags & UTIL_JSON_ESCAPED);
            break;
        case UTIL_JSON_NUMBER:
            v = make_number(tok, tok_len, lx.flags & UTIL_JSON_INTEGER);
            break;
        case UTIL_JSON_TRUE:
            v = json_true();
            break;
        case UTIL_JSON_FALSE:
            v = json_false();
            break;
        case UTIL_JSON_NULL:
            v = json_null();
            break;
        }
        if (!v) goto fail;
        if (n == 0) {
            root = v;
            continue;
        }
        frame *parent = &st[n - 1];
        int r;
        if (json_is_array(parent->v)) {
            r = json_array_append_new(parent->v, v);
        } else {
            r = json_object_setn_new_nocheck(parent->v, parent->key, parent->key_len, v);
            frame_drop_key(parent);
        }
        if (r) goto fail;
    }

fail:
    while (n > 0) {
        n--;
        frame_drop_key(&st[n]);
        json_decref(st[n].v);
    }
    if (st != small) free(st);
    json_decref(root);
    return NULL;
}

/* ---- writing --------------------------------------------------------------- */

/* For each byte: 0 if written as is, else the letter after the backslash
 * ('u' for the \u00XX form). */
static const char esc_letter[256] = {
    ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r',  ['\t'] = 't', [0x00] = 'u',
    [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u',  [0x05] = 'u', [0x06] = 'u',
    [0x07] = 'u', [0x0B] = 'u', [0x0E] = 'u', [0x0F] = 'u',  [0x10] = 'u', [0x11] = 'u',
    [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u',  [0x16] = 'u', [0x17] = 'u',
    [0x18] = 'u', [0x19] = 'u', [0x1A] = 'u', [0x1B] = 'u',  [0x1C] = 'u', [0x1D] = 'u',
    [0x1E] = 'u', [0x1F] = 'u', ['"'] = '"',  ['\\'] = '\\',
};

int util_json_write_string(util_buf *out, const char *s, size_t len) {
    /* Room for the common case (nothing to escape) in one step. */
    if (len > SIZE_MAX - 2) return SIO_ENOMEM;
    int r = util_buf_reserve(out, len + 2);
    if (r) return r;
    out->data[out->len++] = '"';
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && !esc_letter[p[run]]) run++;
        if ((r = util_buf_append(out, s + i, run - i))) return r;
        if (run == len) break;
        char e = esc_letter[p[run]];
        char tmp[6] = {'\\', e};
        size_t n = 2;
        if (e == 'u') {
            static const char hex[] = "0123456789abcdef";
            tmp[2] = '0';
            tmp[3] = '0';
            tmp[4] = hex[p[run] >> 4];
            tmp[5] = hex[p[run] & 15];
            n = 6;
        }
        if ((r = util_buf_append(out, tmp, n))) return r;
        i = run + 1;
    }
    return util_buf_append(out, "\"", 1);
}

int util_json_write_real(util_buf *out, double d) {
    if (!isfinite(d)) return util_buf_append(out, UTIL_LIT("null"));
    if (d == 0) return util_buf_append(out, "0", 1);
    char buf[40];
    int n = 0;
    locale_t loc = c_locale();
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, d);
        for (int k = 0; k < n; k++)
            if (buf[k] == ',') buf[k] = '.'; /* a program may have set a locale */
        if ((loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL)) == d) break;
    }
    /* C writes at least two exponent digits ("1e-07"); JavaScript "1e-7". */
    char *e = memchr(buf, 'e', (size_t)n);
    if (e && e[2] == '0') {
        memmove(e + 2, e + 3, (size_t)(buf + n - (e + 3)));
        n--;
    }
    return util_buf_append(out, buf, (size_t)n);
}

static int write_value(util_buf *out, const json_t *v, util_json_write_hook hook, void *ud,
                       unsigned depth) {
    int r;
    if (depth > UTIL_JSON_MAX_DEPTH) return SIO_EINVAL;
    if (hook) {
        r = hook(out, v, ud);
        if (r < 0) return r;
        if (r > 0) return 0;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if ((r = util_buf_append(out, "{", 1))) return r;
        bool first = true;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first && (r = util_buf_append(out, ",", 1))) return r;
            first = false;
            const char *key = json_object_iter_key(it);
            if ((r = util_json_write_string(out, key, json_object_iter_key_len(it)))) return r;
            if ((r = util_buf_append(out, ":", 1))) return r;
            if ((r = write_value(out, json_object_iter_value(it), hook, ud, depth + 1))) return r;
        }
        return util_buf_append(out, "}", 1);
    }
    case JSON_ARRAY: {
        if ((r = util_buf_append(out, "[", 1))) return r;
        size_t n = json_array_size(v);
        for (size_t i = 0; i < n; i++) {
            if (i && (r = util_buf_append(out, ",", 1))) return r;
            if ((r = write_value(out, json_array_get(v, i), hook, ud, depth + 1))) return r;
        }
        return util_buf_append(out, "]", 1);
    }
    case JSON_STRING:
        return util_json_write_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return util_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return util_json_write_real(out, json_real_value(v));
    case JSON_TRUE:
        return util_buf_append(out, UTIL_LIT("true"));
    case JSON_FALSE:
        return util_buf_append(out, UTIL_LIT("false"));
    case JSON_NULL:
    default:
        return util_buf_append(out, UTIL_LIT("null"));
    }
}

int util_json_write(util_buf *out, const json_t *v, util_json_write_hook hook, void *ud) {
    return write_value(out, v, hook, ud, 0);
}
