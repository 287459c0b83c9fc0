/* sio/sio_packet.c - owns the Socket.IO v5 packet codec (see sio_packet.h).
 *
 * The decoder reads the header by hand and the payload with the json_scan
 * lexer, once: the event name and the argument boundaries come out of the
 * same pass that validates the JSON. Binary headers get a second pass over
 * their payload to check the placeholders (binary packets are rare). The
 * encoders write straight into the caller's util_buf.
 */
#include "sio/sio_packet.h"
#include "socketio.h" /* sio_blob_new, sio_blob_get: public */

#include "util/json_scan.h"
#include "util/json_tree.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const reserved_events[] = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

bool sio_event_name_reserved(const char *name, size_t len) {
    for (size_t i = 0; i < sizeof reserved_events / sizeof *reserved_events; i++) {
        size_t n = strlen(reserved_events[i]);
        if (n == len && memcmp(name, reserved_events[i], n) == 0) return true;
    }
    return false;
}

static inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* ---- decoding ---------------------------------------------------------------- */

/* Reads the array elements after the current one; records the span of all
 * of them and their count, then requires the end of the text. */
static int scan_args(util_json_lexer *lx, sio_packet *p) {
    size_t start, end, first = 0, last = 0;
    util_json_tok tok;
    uint32_t argc = 0;
    int r;
    while ((r = util_json_array_next(lx, &start, &end, &tok)) == 1) {
        if (argc == 0) first = start;
        last = end;
        argc++;
    }
    if (r < 0 || util_json_next(lx) != UTIL_JSON_END) return SIO_EPROTO;
    p->argc = argc;
    p->args = p->data + first;
    p->args_len = argc ? last - first : 0;
    return 0;
}

static int decode_event(sio_packet *p) {
    util_json_lexer lx;
    size_t start, end;
    util_json_tok tok;
    util_json_lexer_init(&lx, p->data, p->data_len);
    if (util_json_next(&lx) != UTIL_JSON_ARRAY) return SIO_EPROTO;
    if (util_json_array_next(&lx, &start, &end, &tok) != 1) return SIO_EPROTO;
    if (tok == UTIL_JSON_NUMBER) {
        p->name = p->data + start;
        p->name_len = end - start;
        p->name_is_number = true;
    } else if (tok == UTIL_JSON_STRING) {
        const char *raw = p->data + start + 1;
        size_t raw_len = end - start - 2;
        if (lx.flags & UTIL_JSON_ESCAPED) {
            char *dst = p->name_buf;
            if (raw_len > sizeof p->name_buf) {
                if (!(p->name_heap = malloc(raw_len))) return SIO_ENOMEM;
                dst = p->name_heap;
            }
            p->name_len = util_json_unescape(raw, raw_len, dst);
            p->name = dst;
        } else {
            p->name = raw;
            p->name_len = raw_len;
        }
        if (sio_event_name_reserved(p->name, p->name_len)) return SIO_EPROTO;
    } else {
        return SIO_EPROTO;
    }
    return scan_args(&lx, p);
}

static int decode_ack(sio_packet *p) {
    util_json_lexer lx;
    util_json_lexer_init(&lx, p->data, p->data_len);
    if (util_json_next(&lx) != UTIL_JSON_ARRAY) return SIO_EPROTO;
    return scan_args(&lx, p);
}

/* The payload must be one JSON text whose first token is one of `a`, `b`. */
static int check_shape(const sio_packet *p, util_json_tok a, util_json_tok b) {
    util_json_lexer lx;
    util_json_lexer_init(&lx, p->data, p->data_len);
    util_json_tok t = util_json_next(&lx);
    if (t != a && t != b) return SIO_EPROTO;
    for (;;) {
        t = util_json_next(&lx);
        if (t == UTIL_JSON_END) return 0;
        if (t == UTIL_JSON_ERROR) return SIO_EPROTO;
    }
}

/*
 * Placeholder check of a binary payload, with the reference's semantics: an
 * object whose member "_placeholder" is true (the last duplicate wins) is
 * replaced whole by an attachment, so its "num" must be valid and what is
 * inside it is never looked at; errors found inside an object are only
 * counted once it is known not to be a placeholder itself.
 */
typedef struct ph_level {
    uint8_t is_obj;
    uint8_t key; /* the member being read: 0 other, 1 "_placeholder", 2 "num" */
    uint8_t ph;
    uint8_t num_ok;
    uint8_t err;
    uint32_t num;
} ph_level;

static void ph_member_value(ph_level *l, util_json_tok t, const char *tok, size_t len) {
    if (l->key == 1) {
        l->ph = t == UTIL_JSON_TRUE;
    } else if (l->key == 2) {
        l->num_ok = 0;
        if (t == UTIL_JSON_NUMBER) {
            double d = util_json_number_value(tok, len);
            if (d >= 0 && d < 4294967296.0 && d == floor(d)) {
                l->num_ok = 1;
                l->num = (uint32_t)d;
            }
        }
    }
    l->key = 0;
}

static int check_placeholders(const char *s, size_t len, uint32_t natts) {
    ph_level small[32];
    ph_level *lv = small;
    size_t cap = 32;
    int result = SIO_EPROTO;
    util_json_lexer lx;
    util_json_lexer_init(&lx, s, len);
    for (;;) {
        unsigned d = lx.depth; /* before the token */
        util_json_tok t = util_json_next(&lx);
        if (t == UTIL_JSON_ERROR) goto out;
        if (t == UTIL_JSON_END) {
            result = 0;
            goto out;
        }
        if (t == UTIL_JSON_KEY) {
            const char *k = s + lx.start + 1;
            size_t klen = lx.end - lx.start - 2;
            bool esc = lx.flags & UTIL_JSON_ESCAPED;
            lv[d - 1].key = util_json_string_eq(k, klen, esc, "_placeholder", 12) ? 1
                            : util_json_string_eq(k, klen, esc, "num", 3)         ? 2
                                                                                  : 0;
            continue;
        }
        if (t == UTIL_JSON_ARRAY_END || t == UTIL_JSON_OBJECT_END) {
            ph_level *l = &lv[d - 1];
            uint8_t err = l->err;
            if (l->is_obj && l->ph) err = !(l->num_ok && l->num < natts);
            if (d == 1) {
                if (err) goto out;
            } else {
                lv[d - 2].err |= err;
            }
            continue;
        }
        /* a value starts: it is a member of the enclosing object, if any */
        if (d > 0 && lv[d - 1].is_obj)
            ph_member_value(&lv[d - 1], t, s + lx.start, lx.end - lx.start);
        if (t == UTIL_JSON_ARRAY || t == UTIL_JSON_OBJECT) {
            if (d == cap) {
                ph_level *bigger = malloc(sizeof *lv * cap * 2);
                if (!bigger) {
                    result = SIO_ENOMEM;
                    goto out;
                }
                memcpy(bigger, lv, sizeof *lv * cap);
                if (lv != small) free(lv);
                lv = bigger;
                cap *= 2;
            }
            memset(&lv[d], 0, sizeof lv[d]);
            lv[d].is_obj = t == UTIL_JSON_OBJECT;
        }
    }
out:
    if (lv != small) free(lv);
    return result;
}

static int decode_payload(sio_packet *p) {
    switch (p->type) {
    case SIO_PACKET_CONNECT:
        return p->data ? check_shape(p, UTIL_JSON_OBJECT, UTIL_JSON_OBJECT) : 0;
    case SIO_PACKET_DISCONNECT:
        return p->data ? SIO_EPROTO : 0;
    case SIO_PACKET_CONNECT_ERROR:
        return p->data ? check_shape(p, UTIL_JSON_OBJECT, UTIL_JSON_STRING) : 0;
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
        return p->data ? decode_event(p) : SIO_EPROTO;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        return p->data ? decode_ack(p) : 0;
    }
    return SIO_EPROTO;
}

int sio_packet_decode(sio_packet *p, const char *buf, size_t len, const sio_decode_opts *opts) {
    uint32_t max_att =
        opts && opts->max_attachments ? opts->max_attachments : SIO_DEFAULT_MAX_ATTACHMENTS;
    p->attachments = 0;
    p->raw = buf;
    p->raw_len = len;
    p->nsp = "/";
    p->nsp_len = 1;
    p->id = SIO_NO_ID;
    p->data = NULL;
    p->data_len = 0;
    p->name = NULL;
    p->name_len = 0;
    p->name_is_number = false;
    p->args = NULL;
    p->args_len = 0;
    p->argc = 0;
    p->name_heap = NULL;

    if (len == 0 || buf[0] < '0' || buf[0] > '6') return SIO_EPROTO;
    p->type = (sio_packet_type)(buf[0] - '0');
    size_t i = 1;

    if (sio_packet_is_binary(p->type)) {
        uint64_t n = 0;
        size_t start = i;
        for (; i < len && is_digit(buf[i]); i++) {
            n = n * 10 + (uint64_t)(buf[i] - '0');
            if (n > max_att) return SIO_ETOOBIG;
        }
        if (i == start || i >= len || buf[i] != '-' || n == 0) return SIO_EPROTO;
        p->attachments = (uint32_t)n;
        i++;
    }

    if (i < len && buf[i] == '/') {
        const char *comma = memchr(buf + i, ',', len - i);
        size_t end = comma ? (size_t)(comma - buf) : len;
        p->nsp = buf + i;
        p->nsp_len = end - i;
        i = comma ? end + 1 : len;
    }

    if (i < len && is_digit(buf[i])) {
        uint64_t id = 0;
        for (; i < len && is_digit(buf[i]); i++) {
            uint64_t digit = (uint64_t)(buf[i] - '0');
            if (id > (UINT64_MAX - 1 - digit) / 10) return SIO_EPROTO; /* keeps id < SIO_NO_ID */
            id = id * 10 + digit;
        }
        p->id = id;
    }

    if (i < len) {
        p->data = buf + i;
        p->data_len = len - i;
    }

    int r = decode_payload(p);
    if (r) return r;
    if (p->attachments) return check_placeholders(p->data, p->data_len, p->attachments);
    return 0;
}

void sio_packet_release(sio_packet *p) {
    free(p->name_heap);
    p->name_heap = NULL;
}

/* ---- binary reassembly ------------------------------------------------------- */

int sio_binary_start(sio_binary *b, const sio_packet *header) {
    if (b->raw || !sio_packet_is_binary(header->type) || !header->attachments) return SIO_EINVAL;
    b->raw = malloc(header->raw_len);
    b->atts = calloc(header->attachments, sizeof *b->atts);
    b->count = 0;
    if (!b->raw || !b->atts) {
        sio_binary_reset(b);
        return SIO_ENOMEM;
    }
    memcpy(b->raw, header->raw, header->raw_len);
    sio_decode_opts opts = {.max_attachments = header->attachments};
    int r = sio_packet_decode(&b->packet, b->raw, header->raw_len, &opts);
    if (r) {
        sio_packet_release(&b->packet);
        sio_binary_reset(b);
        return r == SIO_ENOMEM ? r : SIO_EINVAL;
    }
    return 0;
}

int sio_binary_add(sio_binary *b, util_rcbuf *att) {
    if (!b->raw || b->count >= b->packet.attachments) return SIO_EPROTO;
    b->atts[b->count++] = util_rcbuf_ref(att);
    return b->count == b->packet.attachments ? 1 : 0;
}

void sio_binary_reset(sio_binary *b) {
    if (b->raw) sio_packet_release(&b->packet);
    for (uint32_t i = 0; i < b->count; i++) util_rcbuf_unref(b->atts[i]);
    free(b->atts);
    free(b->raw);
    b->atts = NULL;
    b->raw = NULL;
    b->count = 0;
}

/* ---- blobs --------------------------------------------------------------------- */

#define BLOB_KEY "\0sio_blob"
#define BLOB_KEY_LEN 9

json_t *sio_blob_new(const void *data, size_t len) {
    json_t *bytes = json_stringn_nocheck(len ? data : "", len);
    json_t *obj = json_object();
    if (!bytes || !obj || json_object_setn_new_nocheck(obj, BLOB_KEY, BLOB_KEY_LEN, bytes)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

bool sio_blob_get(const json_t *v, const char **data, size_t *len) {
    if (!json_is_object(v) || json_object_size(v) != 1) return false;
    json_t *bytes = json_object_getn(v, BLOB_KEY, BLOB_KEY_LEN);
    if (!json_is_string(bytes)) return false;
    if (data) *data = json_string_value(bytes);
    if (len) *len = json_string_length(bytes);
    return true;
}

/* ---- materialization ----------------------------------------------------------- */

typedef struct att_ctx {
    util_rcbuf *const *atts;
    uint32_t natts;
} att_ctx;

/* Swaps a valid placeholder object for a blob. Invalid ones can only remain
 * inside a valid placeholder (the decoder checked), which replaces them. */
static json_t *placeholder_hook(json_t *obj, void *ud) {
    const att_ctx *ctx = ud;
    if (!json_is_true(json_object_get(obj, "_placeholder"))) return obj;
    json_t *num = json_object_get(obj, "num");
    if (!json_is_number(num)) return obj;
    double d = json_number_value(num);
    if (!(d >= 0 && d < ctx->natts && d == floor(d))) return obj;
    const util_rcbuf *att = ctx->atts[(uint32_t)d];
    json_t *blob = sio_blob_new(att->data, att->len);
    if (!blob) return NULL;
    json_decref(obj);
    return blob;
}

static json_t *parse_payload(const sio_packet *p, util_rcbuf *const *atts, uint32_t natts) {
    if (!p->data) return NULL;
    if (!sio_packet_is_binary(p->type)) return util_json_parse(p->data, p->data_len, NULL, NULL);
    if (natts != p->attachments || !atts) return NULL;
    att_ctx ctx = {atts, natts};
    return util_json_parse(p->data, p->data_len, placeholder_hook, &ctx);
}

json_t *sio_packet_args(const sio_packet *p, util_rcbuf *const *atts, uint32_t natts) {
    bool event = p->type == SIO_PACKET_EVENT || p->type == SIO_PACKET_BINARY_EVENT;
    bool ack = p->type == SIO_PACKET_ACK || p->type == SIO_PACKET_BINARY_ACK;
    if (!event && !ack) return NULL;
    if (!p->data) return json_array();
    json_t *arr = parse_payload(p, atts, natts);
    if (arr && event && json_array_remove(arr, 0)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *sio_packet_data(const sio_packet *p, util_rcbuf *const *atts, uint32_t natts) {
    return parse_payload(p, atts, natts);
}

/* ---- encoding ------------------------------------------------------------------- */

void sio_attachments_free(sio_attachments *a) {
    free(a->bufs);
    a->bufs = NULL;
    a->count = a->cap = 0;
}

static int attachments_push(sio_attachments *a, const char *data, size_t len) {
    if (a->count == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4;
        uv_buf_t *bufs = realloc(a->bufs, cap * sizeof *bufs);
        if (!bufs) return SIO_ENOMEM;
        a->bufs = bufs;
        a->cap = cap;
    }
    a->bufs[a->count++] = uv_buf_init((char *)data, (unsigned)len);
    return 0;
}

static size_t count_blobs(const json_t *v, unsigned depth) {
    if (depth > UTIL_JSON_MAX_DEPTH) return 0;
    if (json_is_array(v)) {
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(v); i++)
            n += count_blobs(json_array_get(v, i), depth + 1);
        return n;
    }
    if (json_is_object(v)) {
        if (sio_blob_get(v, NULL, NULL)) return 1;
        size_t n = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) n += count_blobs(val, depth + 1);
        return n;
    }
    return 0;
}

static int blob_write_hook(util_buf *out, const json_t *v, void *ud) {
    sio_attachments *atts = ud;
    const char *data;
    size_t len;
    if (!sio_blob_get(v, &data, &len)) return 0;
    if (len > UINT32_MAX) return SIO_EINVAL; /* uv_buf_t lengths are 32-bit on some targets */
    int r = util_buf_printf(out, "{\"_placeholder\":true,\"num\":%zu}", atts->count);
    if (r) return r;
    r = attachments_push(atts, data, len);
    return r ? r : 1;
}

static bool is_main_nsp(const char *nsp, size_t len) {
    return !nsp || len == 0 || (len == 1 && nsp[0] == '/');
}

static size_t fmt_u64(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

static int write_head(util_buf *out, sio_packet_type type, size_t attachments, const char *nsp,
                      size_t nsp_len, uint64_t id) {
    bool main_nsp = is_main_nsp(nsp, nsp_len);
    if (!main_nsp && (nsp[0] != '/' || memchr(nsp, ',', nsp_len))) return SIO_EINVAL;
    if (attachments > UINT32_MAX) return SIO_EINVAL;
    int r = util_buf_reserve(out, (main_nsp ? 0 : nsp_len + 1) + 48);
    if (r) return r;
    char *w = out->data + out->len;
    *w++ = (char)('0' + type);
    if (sio_packet_is_binary(type)) {
        w += fmt_u64(w, attachments);
        *w++ = '-';
    }
    if (!main_nsp) {
        memcpy(w, nsp, nsp_len);
        w += nsp_len;
        *w++ = ',';
    }
    if (id != SIO_NO_ID) w += fmt_u64(w, id);
    out->len = (size_t)(w - out->data);
    return 0;
}

static int write_args_json(util_buf *out, const json_t *args, sio_attachments *atts, bool comma) {
    int r = 0;
    for (size_t i = 0; i < json_array_size(args) && !r; i++) {
        if ((comma || i) && (r = util_buf_append(out, ",", 1))) break;
        r = util_json_write(out, json_array_get(args, i), atts ? blob_write_hook : NULL, atts);
    }
    return r;
}

static int encode_with_json(util_buf *out, bool event, const char *nsp, size_t nsp_len, uint64_t id,
                            const char *name, size_t name_len, const json_t *args,
                            sio_attachments *atts) {
    if (args && !json_is_array(args)) return SIO_EINVAL;
    if (event && sio_event_name_reserved(name, name_len)) return SIO_EINVAL;
    size_t nblobs = args ? count_blobs(args, 0) : 0;
    if (nblobs && !atts) return SIO_EINVAL;
    sio_packet_type type = event ? (nblobs ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT)
                                 : (nblobs ? SIO_PACKET_BINARY_ACK : SIO_PACKET_ACK);
    size_t mark = out->len, att_mark = atts ? atts->count : 0;
    int r = write_head(out, type, nblobs, nsp, nsp_len, id);
    if (!r) r = util_buf_append(out, "[", 1);
    if (!r && event) r = util_json_write_string(out, name, name_len);
    if (!r && args) r = write_args_json(out, args, nblobs ? atts : NULL, event);
    if (!r) r = util_buf_append(out, "]", 1);
    if (r) {
        out->len = mark;
        if (atts) atts->count = att_mark;
    }
    return r;
}

int sio_encode_event(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const char *name,
                     size_t name_len, const json_t *args, sio_attachments *atts) {
    return encode_with_json(out, true, nsp, nsp_len, id, name, name_len, args, atts);
}

int sio_encode_ack(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const json_t *args,
                   sio_attachments *atts) {
    return encode_with_json(out, false, nsp, nsp_len, id, NULL, 0, args, atts);
}

static int encode_raw(util_buf *out, bool event, const char *nsp, size_t nsp_len, uint64_t id,
                      const char *name, size_t name_len, const char *args, size_t args_len,
                      uint32_t attachments) {
    if (event && sio_event_name_reserved(name, name_len)) return SIO_EINVAL;
    sio_packet_type type = event ? (attachments ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT)
                                 : (attachments ? SIO_PACKET_BINARY_ACK : SIO_PACKET_ACK);
    size_t mark = out->len;
    int r = write_head(out, type, attachments, nsp, nsp_len, id);
    if (!r) r = util_buf_reserve(out, args_len + name_len + 8);
    if (!r) r = util_buf_append(out, "[", 1);
    if (!r && event) r = util_json_write_string(out, name, name_len);
    if (!r && event && args_len) r = util_buf_append(out, ",", 1);
    if (!r) r = util_buf_append(out, args, args_len);
    if (!r) r = util_buf_append(out, "]", 1);
    if (r) out->len = mark;
    return r;
}

int sio_encode_event_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                         const char *name, size_t name_len, const char *args, size_t args_len,
                         uint32_t attachments) {
    return encode_raw(out, true, nsp, nsp_len, id, name, name_len, args, args_len, attachments);
}

int sio_encode_ack_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                       const char *args, size_t args_len, uint32_t attachments) {
    return encode_raw(out, false, nsp, nsp_len, id, NULL, 0, args, args_len, attachments);
}

static int encode_simple(util_buf *out, sio_packet_type type, const char *nsp, size_t nsp_len,
                         const json_t *data) {
    size_t mark = out->len;
    int r = write_head(out, type, 0, nsp, nsp_len, SIO_NO_ID);
    if (!r && data) r = util_json_write(out, data, NULL, NULL);
    if (r) out->len = mark;
    return r;
}

int sio_encode_connect(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data) {
    if (data && !json_is_object(data)) return SIO_EINVAL;
    return encode_simple(out, SIO_PACKET_CONNECT, nsp, nsp_len, data);
}

int sio_encode_connect_error(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data) {
    if (!json_is_object(data) && !json_is_string(data)) return SIO_EINVAL;
    return encode_simple(out, SIO_PACKET_CONNECT_ERROR, nsp, nsp_len, data);
}

int sio_encode_disconnect(util_buf *out, const char *nsp, size_t nsp_len) {
    return encode_simple(out, SIO_PACKET_DISCONNECT, nsp, nsp_len, NULL);
}
