/* sio/sio_packet_decode.c - owns the decoding half of the Socket.IO v5 packet
 * codec (see sio_packet.h): parsing a packet, reassembling a binary packet
 * from its attachments, and turning a parsed payload into jansson values.
 *
 * The decoder reads the header by hand and the payload with the json_scan
 * lexer, once: the event name and the argument boundaries come out of the
 * same pass that validates the JSON. Binary headers get a second pass over
 * their payload to check the placeholders (binary packets are rare).
 */
#include "sio/sio_packet.h"
#include "socketio.h" /* sio_blob_new: public */

#include "util/json_scan.h"
#include "util/json_tree.h"
#include "util/strlit.h"

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
            lv[d - 1].key = util_json_string_eq(k, klen, esc, UTIL_LIT("_placeholder")) ? 1
                            : util_json_string_eq(k, klen, esc, UTIL_LIT("num"))        ? 2
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
