/* eio/eio_packet.c - owns the Engine.IO packet and payload codec (see
 * eio_packet.h): v4 and v3 polling payloads, WebSocket frame payloads, the
 * open packet and the HTTP error bodies.
 *
 * Nothing here allocates except the output buffers: decoders point into the
 * input and decode base64 in place (the decoded bytes are never longer than
 * their text, and each group of four characters is read before its three
 * bytes are written at or before it).
 */
#include "eio/eio_packet.h"

#include "socketio/common.h"
#include "util/base64.h"
#include "util/decimal.h"
#include "util/json_tree.h"
#include "util/utf8.h"
#include "util/strlit.h"

#include <string.h>

#define RECORD_SEPARATOR '\x1e'

/* ---- base64 ---------------------------------------------------------------------- */

/* Decodes s[0, len) into s itself; padding is optional. Returns the decoded
 * length or -1. */
static long b64_decode_in_place(char *s, size_t len) {
    size_t rem = len & 3, full = len - rem;
    if (rem == 1) return -1;
    if (rem == 0) return util_base64_decode(s, len, (uint8_t *)s);
    if (full && s[full - 1] == '=') return -1; /* padding before the tail */
    char tail[4] = {s[full], s[full + 1], rem == 3 ? s[full + 2] : '=', '='};
    long n = full ? util_base64_decode(s, full, (uint8_t *)s) : 0;
    if (n < 0) return -1;
    uint8_t bytes[3];
    long m = util_base64_decode(tail, 4, bytes);
    if (m < 0) return -1;
    memcpy(s + n, bytes, (size_t)m);
    return n + m;
}

static int append_base64(util_buf *out, const char *data, size_t len) {
    size_t n = UTIL_BASE64_ENCODED_LEN(len);
    int r = util_buf_reserve(out, n + 1);
    if (r) return r;
    util_base64_encode((const uint8_t *)data, len, out->data + out->len);
    out->len += n;
    return 0;
}

/* ---- single packets ------------------------------------------------------------------ */

static inline bool type_char_ok(char c) {
    return c >= '0' && c <= '6';
}

int eio_packet_decode_text(char *data, size_t len, int version, eio_packet *pkt) {
    if (len == 0) return SIO_EPROTO;
    if (data[0] == 'b') {
        size_t skip = 1;
        pkt->type = EIO_MESSAGE;
        if (version == 3) {
            if (len < 2 || !type_char_ok(data[1])) return SIO_EPROTO;
            pkt->type = (eio_packet_type)(data[1] - '0');
            skip = 2;
        }
        long n = b64_decode_in_place(data + skip, len - skip);
        if (n < 0) return SIO_EPROTO;
        pkt->binary = true;
        pkt->data = data + skip;
        pkt->len = (size_t)n;
        return 0;
    }
    if (!type_char_ok(data[0])) return SIO_EPROTO;
    pkt->type = (eio_packet_type)(data[0] - '0');
    pkt->binary = false;
    pkt->data = data + 1;
    pkt->len = len - 1;
    return 0;
}

int eio_ws_decode(char *frame, size_t len, bool binary, int version, eio_packet *pkt) {
    if (!binary) return eio_packet_decode_text(frame, len, version, pkt);
    pkt->binary = true;
    if (version == 3) {
        if (len == 0 || (uint8_t)frame[0] > EIO_NOOP) return SIO_EPROTO;
        pkt->type = (eio_packet_type)frame[0];
        pkt->data = frame + 1;
        pkt->len = len - 1;
        return 0;
    }
    pkt->type = EIO_MESSAGE;
    pkt->data = len ? frame : ""; /* an empty frame may come as NULL */
    pkt->len = len;
    return 0;
}

static int append_text_packet(util_buf *out, const eio_packet *pkt) {
    int r = util_buf_reserve(out, pkt->len + 1);
    if (r) return r;
    out->data[out->len++] = (char)('0' + pkt->type);
    return util_buf_append(out, pkt->data, pkt->len);
}

int eio_ws_encode(util_buf *out, int version, const eio_packet *pkt) {
    if ((unsigned)pkt->type > EIO_NOOP) return SIO_EINVAL;
    if (!pkt->binary) {
        int r = append_text_packet(out, pkt);
        return r ? r : 0;
    }
    if (version == 3) {
        int r = util_buf_reserve(out, pkt->len + 1);
        if (r) return r;
        out->data[out->len++] = (char)pkt->type;
    } else if (pkt->type != EIO_MESSAGE) {
        return SIO_EINVAL;
    }
    int r = util_buf_append(out, pkt->data, pkt->len);
    return r ? r : 1;
}

/* ---- payload decoding ---------------------------------------------------------------- */

void eio_payload_iter_init(eio_payload_iter *it, eio_payload_format format, char *data, size_t len,
                           unsigned max_packets) {
    it->p = data;
    it->end = len ? data + len : data; /* data may be NULL when len is 0 (an empty util_buf) */
    it->format = format;
    it->count = 0;
    it->max_packets = max_packets ? max_packets : EIO_DEFAULT_MAX_PACKETS;
    it->err = 0;
    /* An empty text body is an error (the reference's parser error); an
     * empty binary body holds no packets. */
    if (len == 0 && format == EIO_PAYLOAD_V3_BINARY) it->p = NULL;
    if (len == 0 && format != EIO_PAYLOAD_V3_BINARY) it->err = SIO_EPROTO;
}

static int next_v4(eio_payload_iter *it, eio_packet *pkt) {
    char *start = it->p;
    char *sep = memchr(start, RECORD_SEPARATOR, (size_t)(it->end - start));
    char *stop = sep ? sep : it->end;
    it->p = sep ? sep + 1 : NULL;
    return eio_packet_decode_text(start, (size_t)(stop - start), 4, pkt);
}

static int next_v3_text(eio_payload_iter *it, eio_packet *pkt) {
    for (;;) {
        char *p = it->p;
        if (p == it->end) {
            it->p = NULL;
            return 0;
        }
        uint64_t n = 0;
        char *digits = p;
        while (p < it->end && *p >= '0' && *p <= '9') {
            if (n > (UINT64_MAX - 9) / 10) return SIO_EPROTO;
            n = n * 10 + (uint64_t)(*p++ - '0');
        }
        if (p == digits || p == it->end || *p != ':') return SIO_EPROTO;
        p++;
        size_t bytes = util_utf8_skip_utf16(p, (size_t)(it->end - p), n);
        if (bytes == (size_t)-1) return SIO_EPROTO;
        it->p = p + bytes;
        if (n == 0) continue; /* "0:" is an empty payload, not a packet */
        int r = eio_packet_decode_text(p, bytes, 3, pkt);
        return r ? r : 1;
    }
}

static int next_v3_binary(eio_payload_iter *it, eio_packet *pkt) {
    char *p = it->p;
    if (p == it->end) {
        it->p = NULL;
        return 0;
    }
    uint8_t kind = (uint8_t)*p++;
    if (kind > 1) return SIO_EPROTO;
    uint64_t n = 0;
    int digits = 0;
    while (p < it->end && (uint8_t)*p != 0xFF) {
        uint8_t d = (uint8_t)*p++;
        if (d > 9 || ++digits > 19) return SIO_EPROTO;
        n = n * 10 + d;
    }
    if (digits == 0 || p == it->end) return SIO_EPROTO;
    p++; /* 0xFF */
    if (n == 0 || n > (uint64_t)(it->end - p)) return SIO_EPROTO;
    it->p = p + n;
    if (kind == 0) {
        int r = eio_packet_decode_text(p, (size_t)n, 3, pkt);
        return r ? r : 1;
    }
    if ((uint8_t)p[0] > EIO_NOOP) return SIO_EPROTO;
    pkt->type = (eio_packet_type)p[0];
    pkt->binary = true;
    pkt->data = p + 1;
    pkt->len = (size_t)n - 1;
    return 1;
}

int eio_payload_next(eio_payload_iter *it, eio_packet *pkt) {
    if (it->err) return it->err;
    if (!it->p) return 0;
    int r;
    switch (it->format) {
    case EIO_PAYLOAD_V4:
        r = next_v4(it, pkt);
        if (r == 0) r = 1;
        break;
    case EIO_PAYLOAD_V3_TEXT:
        r = next_v3_text(it, pkt);
        break;
    case EIO_PAYLOAD_V3_BINARY:
        r = next_v3_binary(it, pkt);
        break;
    default:
        r = SIO_EINVAL;
        break;
    }
    if (r == 1 && ++it->count > it->max_packets) r = SIO_ETOOBIG;
    if (r < 0) {
        it->err = r;
        it->p = NULL;
    }
    return r;
}

/* ---- payload encoding ------------------------------------------------------------------- */

void eio_payload_writer_init(eio_payload_writer *w, util_buf *out, eio_payload_format format) {
    w->out = out;
    w->format = format;
    w->count = 0;
}

/* v's digits as byte values 0-9 (the v3 binary payload's length prefix) */
static size_t digits_u64(uint64_t v, char *out) {
    size_t n = util_decimal(out, v);
    for (size_t i = 0; i < n; i++) out[i] = (char)(out[i] - '0');
    return n;
}

static int write_v4(util_buf *out, bool first, const eio_packet *pkt) {
    int r;
    if (pkt->binary && pkt->type != EIO_MESSAGE) return SIO_EINVAL;
    if (!first && (r = util_buf_append(out, "\x1e", 1))) return r;
    if (!pkt->binary) return append_text_packet(out, pkt);
    if ((r = util_buf_append(out, "b", 1))) return r;
    return append_base64(out, pkt->data, pkt->len);
}

static int write_v3_text(util_buf *out, const eio_packet *pkt) {
    int r;
    if (pkt->binary) {
        size_t n = 2 + UTIL_BASE64_ENCODED_LEN(pkt->len);
        if ((r = util_buf_printf(out, "%zu:b%c", n, '0' + pkt->type))) return r;
        return append_base64(out, pkt->data, pkt->len);
    }
    size_t units = 1 + util_utf8_utf16_len(pkt->data, pkt->len);
    if ((r = util_buf_printf(out, "%zu:", units))) return r;
    return append_text_packet(out, pkt);
}

static int write_v3_binary(util_buf *out, const eio_packet *pkt) {
    char head[24];
    head[0] = pkt->binary ? 1 : 0;
    size_t n = 1 + digits_u64((uint64_t)pkt->len + 1, head + 1);
    head[n++] = (char)0xFF;
    head[n++] = pkt->binary ? (char)pkt->type : (char)('0' + pkt->type);
    int r = util_buf_reserve(out, n + pkt->len);
    if (r) return r;
    if ((r = util_buf_append(out, head, n))) return r;
    return util_buf_append(out, pkt->data, pkt->len);
}

int eio_payload_write(eio_payload_writer *w, const eio_packet *pkt) {
    if ((unsigned)pkt->type > EIO_NOOP) return SIO_EINVAL;
    size_t mark = w->out->len;
    int r;
    switch (w->format) {
    case EIO_PAYLOAD_V4:
        r = write_v4(w->out, w->count == 0, pkt);
        break;
    case EIO_PAYLOAD_V3_TEXT:
        r = write_v3_text(w->out, pkt);
        break;
    case EIO_PAYLOAD_V3_BINARY:
        r = write_v3_binary(w->out, pkt);
        break;
    default:
        r = SIO_EINVAL;
        break;
    }
    if (r) {
        w->out->len = mark;
        return r;
    }
    w->count++;
    return 0;
}

int eio_payload_finish(eio_payload_writer *w) {
    if (w->format == EIO_PAYLOAD_V3_TEXT && w->count == 0)
        return util_buf_append(w->out, UTIL_LIT("0:"));
    return 0;
}

/* ---- handshake and errors ------------------------------------------------------------------ */

int eio_open_json(util_buf *out, const eio_handshake *h) {
    size_t mark = out->len;
    int r = util_buf_append(out, UTIL_LIT("{\"sid\":"));
    if (!r) r = util_json_write_string(out, h->sid, strlen(h->sid));
    if (!r) r = util_buf_append(out, UTIL_LIT(",\"upgrades\":["));
    for (size_t i = 0; !r && i < h->upgrades_count; i++) {
        if (i) r = util_buf_append(out, ",", 1);
        if (!r) r = util_json_write_string(out, h->upgrades[i], strlen(h->upgrades[i]));
    }
    if (!r)
        r = util_buf_printf(out, "],\"pingInterval\":%llu,\"pingTimeout\":%llu",
                            (unsigned long long)h->ping_interval,
                            (unsigned long long)h->ping_timeout);
    if (!r && h->version != 3)
        r = util_buf_printf(out, ",\"maxPayload\":%llu", (unsigned long long)h->max_payload);
    if (!r) r = util_buf_append(out, "}", 1);
    if (r) out->len = mark;
    return r;
}

static const char *const error_bodies[] = {
    "{\"code\":0,\"message\":\"Transport unknown\"}",
    "{\"code\":1,\"message\":\"Session ID unknown\"}",
    "{\"code\":2,\"message\":\"Bad handshake method\"}",
    "{\"code\":3,\"message\":\"Bad request\"}",
    "{\"code\":4,\"message\":\"Forbidden\"}",
    "{\"code\":5,\"message\":\"Unsupported protocol version\"}",
};

const char *eio_error_body(int code) {
    if (code < 0 || code >= (int)(sizeof error_bodies / sizeof *error_bodies)) return NULL;
    return error_bodies[code];
}

int eio_error_status(int code) {
    return code == EIO_ERR_FORBIDDEN ? 403 : 400;
}
