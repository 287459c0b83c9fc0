/* ws/ws_parser.c - the incremental client-frame parser (see ws_parser.h).
 *
 * A byte-at-a-time state machine reads the header (2 bytes, 0/2/8 length
 * bytes, 4 mask bytes), validating each field as soon as it is known; the
 * payload is then handled a chunk at a time: unmasked in place with 8-byte
 * words, and either delivered where it lies (a whole single-frame message in
 * this buffer), appended to the message buffer, or fed to the inflater.
 *
 * The message buffer p->buf holds the data message being collected in
 * buf.data[0 .. buf.len). A control frame split across feeds is staged just
 * past it, in buf.data[buf.len .. buf.len + len7), so it needs no buffer of
 * its own and leaves the message untouched.
 */
#include "ws/ws_parser.h"

#include "socketio/common.h"
#include "util/utf8.h"

#include <string.h>

enum parser_state {
    S_HDR0,    /* FIN, RSV, opcode */
    S_HDR1,    /* MASK, 7-bit length */
    S_LEN,     /* extended length bytes */
    S_MASK,    /* masking key */
    S_PAYLOAD, /* payload bytes */
    S_CLOSED,  /* final states from here on */
    S_STOPPED,
    S_ERROR,
};

/* p->msg: the opcode of the message in progress, and whether it is compressed. */
#define MSG_OPCODE 0x0F
#define MSG_DEFLATE 0x10

/* Header bits. */
#define HDR_FIN 0x80
#define HDR_RSV1 0x40
#define HDR_RSV23 0x30
#define HDR_OPCODE 0x0F
#define HDR_MASK 0x80

enum parser_error {
    E_NONE,
    E_RSV,
    E_OPCODE,
    E_CTRL_FRAGMENTED,
    E_CTRL_TOO_LONG,
    E_UNMASKED,
    E_LENGTH,
    E_LENGTH_HIGH,
    E_CONTINUATION,
    E_INTERLEAVED,
    E_CLOSE_BODY,
    E_CLOSE_CODE,
    E_UTF8,
    E_CLOSE_UTF8,
    E_INFLATE,
    E_TOO_BIG,
    E_NOMEM,
};

static const struct {
    uint16_t code;
    int ret;
    const char *reason;
} parser_errors[] = {
    [E_NONE] = {0, 0, ""},
    [E_RSV] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "reserved bits set"},
    [E_OPCODE] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "reserved opcode"},
    [E_CTRL_FRAGMENTED] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "fragmented control frame"},
    [E_CTRL_TOO_LONG] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "control frame too long"},
    [E_UNMASKED] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "unmasked frame"},
    [E_LENGTH] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "length not in shortest form"},
    [E_LENGTH_HIGH] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "length too large"},
    [E_CONTINUATION] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "continuation without a message"},
    [E_INTERLEAVED] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "expected a continuation frame"},
    [E_CLOSE_BODY] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "close frame body of 1 byte"},
    [E_CLOSE_CODE] = {WS_CLOSE_PROTOCOL_ERROR, SIO_EPROTO, "invalid close code"},
    [E_UTF8] = {WS_CLOSE_INVALID_DATA, SIO_EPROTO, "invalid UTF-8 in text message"},
    [E_CLOSE_UTF8] = {WS_CLOSE_INVALID_DATA, SIO_EPROTO, "invalid UTF-8 in close reason"},
    [E_INFLATE] = {WS_CLOSE_INVALID_DATA, SIO_EPROTO, "invalid compressed data"},
    [E_TOO_BIG] = {WS_CLOSE_TOO_BIG, SIO_ETOOBIG, "message too big"},
    [E_NOMEM] = {WS_CLOSE_INTERNAL_ERROR, SIO_ENOMEM, "out of memory"},
};

_Static_assert(sizeof(ws_parser) <= 72, "ws_parser must stay small");

void ws_parser_init(ws_parser *p, const ws_parser_config *cfg, void *userdata) {
    memset(p, 0, sizeof *p);
    p->cfg = cfg;
    p->userdata = userdata;
    p->state = S_HDR0;
}

void ws_parser_set_deflate(ws_parser *p, ws_deflate *d) {
    p->deflate = d;
}

void ws_parser_stop(ws_parser *p) {
    if (p->state < S_CLOSED) p->state = S_STOPPED;
}

int ws_parser_close_code(const ws_parser *p) {
    return p->state == S_ERROR ? parser_errors[p->err].code : 0;
}

const char *ws_parser_error(const ws_parser *p) {
    return p->state == S_ERROR ? parser_errors[p->err].reason : "";
}

void ws_parser_free(ws_parser *p) {
    util_buf_free(&p->buf);
    if (p->state < S_CLOSED) p->state = S_STOPPED;
}

static size_t max_message(const ws_parser *p) {
    return p->cfg->max_message_size ? p->cfg->max_message_size : WS_DEFAULT_MAX_MESSAGE;
}

/* Enters the error state; returns what ws_parser_feed returns. */
static int fail(ws_parser *p, int err) {
    p->err = (uint8_t)err;
    p->state = S_ERROR;
    util_buf_free(&p->buf);
    return parser_errors[err].ret;
}

/* What ws_parser_feed returns in a final state. */
static int final_result(const ws_parser *p) {
    switch (p->state) {
    case S_CLOSED:
        return WS_PARSE_CLOSED;
    case S_STOPPED:
        return WS_PARSE_STOPPED;
    default:
        return parser_errors[p->err].ret;
    }
}

/* After a callback: its answer, or a ws_parser_stop made during it. */
static int after_callback(ws_parser *p, int cb_result) {
    if (p->state >= S_CLOSED) return final_result(p);
    if (cb_result) {
        p->state = S_STOPPED;
        return WS_PARSE_STOPPED;
    }
    return 0;
}

/* XORs n bytes with the mask, then rotates the mask to stay in step. */
static void unmask(ws_parser *p, uint8_t *d, size_t n) {
    uint8_t m8[8] = {p->mask[0], p->mask[1], p->mask[2], p->mask[3],
                     p->mask[0], p->mask[1], p->mask[2], p->mask[3]};
    uint64_t mw;
    memcpy(&mw, m8, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, d + i, 8);
        w ^= mw;
        memcpy(d + i, &w, 8);
    }
    for (; i < n; i++) d[i] ^= p->mask[i & 3];
    if (n & 3) {
        uint8_t r[4];
        for (size_t k = 0; k < 4; k++) r[k] = p->mask[(k + n) & 3];
        memcpy(p->mask, r, 4);
    }
}

/* ---- header ---------------------------------------------------------------- */

/* Validates the first header byte; an error number or 0. */
static int check_byte0(const ws_parser *p, uint8_t b) {
    int op = b & HDR_OPCODE;
    if (b & HDR_RSV23) return E_RSV;
    if ((op > WS_OP_BINARY && op < WS_OP_CLOSE) || op > WS_OP_PONG) return E_OPCODE;
    if (op >= WS_OP_CLOSE) {
        if (!(b & HDR_FIN)) return E_CTRL_FRAGMENTED;
        if (b & HDR_RSV1) return E_RSV;
    } else if (op == WS_OP_CONTINUATION) {
        if (!p->msg) return E_CONTINUATION;
        if (b & HDR_RSV1) return E_RSV;
    } else {
        if (p->msg) return E_INTERLEAVED;
        if ((b & HDR_RSV1) && !p->deflate) return E_RSV;
    }
    return 0;
}

/* The payload length is known: refuse data frames that would make the message
 * too big before any of their payload is read. */
static int check_length(const ws_parser *p) {
    int op = p->frame & HDR_OPCODE;
    if (op >= WS_OP_CLOSE) return 0;
    int compressed = op == WS_OP_CONTINUATION ? (p->msg & MSG_DEFLATE) : (p->frame & HDR_RSV1);
    if (compressed) return 0; /* the inflated size is checked while inflating */
    if (p->remaining > max_message(p) - p->buf.len) return E_TOO_BIG;
    return 0;
}

/* ---- delivery ---------------------------------------------------------------- */

static int deliver_message(ws_parser *p, const uint8_t *data, size_t len) {
    int op = p->msg & MSG_OPCODE;
    p->msg = 0;
    p->state = S_HDR0;
    int r = p->cfg->on_message ? p->cfg->on_message(p->userdata, op, data, len) : 0;
    util_buf_free(&p->buf);
    return after_callback(p, r);
}

static int deliver_control(ws_parser *p, const uint8_t *data, size_t len) {
    int op = p->frame & HDR_OPCODE, r = 0;
    p->state = S_HDR0;
    if (op == WS_OP_CLOSE) {
        int code = WS_CLOSE_NO_STATUS;
        if (len == 1) return fail(p, E_CLOSE_BODY);
        if (len >= 2) {
            code = data[0] << 8 | data[1];
            if (!ws_close_code_valid(code)) return fail(p, E_CLOSE_CODE);
            if (!util_utf8_valid(data + 2, len - 2)) return fail(p, E_CLOSE_UTF8);
        }
        p->state = S_CLOSED;
        const char *reason = len > 2 ? (const char *)data + 2 : "";
        if (p->cfg->on_close) p->cfg->on_close(p->userdata, code, reason, len > 2 ? len - 2 : 0);
        util_buf_free(&p->buf);
        return WS_PARSE_CLOSED;
    }
    ws_parser_control_cb cb = op == WS_OP_PING ? p->cfg->on_ping : p->cfg->on_pong;
    if (cb) r = cb(p->userdata, data, len);
    if (!p->msg) util_buf_free(&p->buf); /* it held only this control frame */
    return after_callback(p, r);
}

/* Maps an inflater error to a parser error. */
static int inflate_error(int r) {
    return r == SIO_ETOOBIG ? E_TOO_BIG : r == SIO_ENOMEM ? E_NOMEM : E_INFLATE;
}

/* Validates the text bytes appended to the message from offset `from`. */
static int check_text_from(ws_parser *p, size_t from) {
    if ((p->msg & MSG_OPCODE) != WS_OP_TEXT) return 0;
    if (util_utf8_feed(&p->utf8, (const uint8_t *)p->buf.data + from, p->buf.len - from))
        return E_UTF8;
    return 0;
}

/*
 * Inflating failed. Errors are reported in stream order, whatever the split of
 * the input: invalid UTF-8 in the bytes inflated before the failure (up to the
 * limit) comes first, as it would have had those bytes been inflated by an
 * earlier call.
 */
static int inflate_failed(ws_parser *p, size_t from, int r) {
    if (p->buf.len > max_message(p)) p->buf.len = max_message(p);
    if (check_text_from(p, from)) return fail(p, E_UTF8);
    return fail(p, inflate_error(r));
}

/* The last payload byte of a data frame is in: deliver the message when the
 * frame was its last. */
static int data_frame_end(ws_parser *p) {
    p->state = S_HDR0;
    if (!(p->frame & HDR_FIN)) return 0;
    if (p->msg & MSG_DEFLATE) {
        size_t from = p->buf.len;
        int r = ws_inflate_finish(p->deflate, &p->buf, max_message(p));
        if (r) return inflate_failed(p, from, r);
        if (check_text_from(p, from)) return fail(p, E_UTF8);
    }
    if ((p->msg & MSG_OPCODE) == WS_OP_TEXT && !util_utf8_complete(p->utf8)) return fail(p, E_UTF8);
    const uint8_t *data = p->buf.data ? (const uint8_t *)p->buf.data : (const uint8_t *)"";
    return deliver_message(p, data, p->buf.len);
}

/* The header is complete. */
static int header_done(ws_parser *p) {
    int op = p->frame & HDR_OPCODE;
    if (op >= WS_OP_CLOSE) {
        if (p->remaining == 0) return deliver_control(p, (const uint8_t *)"", 0);
    } else {
        if (op != WS_OP_CONTINUATION) {
            p->msg = (uint8_t)(op | ((p->frame & HDR_RSV1) ? MSG_DEFLATE : 0));
            p->utf8 = UTIL_UTF8_ACCEPT;
        }
        if (p->remaining == 0) return data_frame_end(p);
    }
    p->state = S_PAYLOAD;
    return 0;
}

/* ---- payload ---------------------------------------------------------------- */

static int control_payload(ws_parser *p, uint8_t *d, size_t n) {
    if (p->remaining == p->len7 && n == p->remaining) {
        /* the whole payload is here: no copy */
        unmask(p, d, n);
        p->remaining = 0;
        return deliver_control(p, d, n);
    }
    if (p->remaining == p->len7 && util_buf_reserve(&p->buf, p->len7)) return fail(p, E_NOMEM);
    unmask(p, d, n);
    memcpy(p->buf.data + p->buf.len + (p->len7 - p->remaining), d, n);
    p->remaining -= n;
    if (p->remaining) return 0;
    return deliver_control(p, (const uint8_t *)p->buf.data + p->buf.len, p->len7);
}

static int data_payload(ws_parser *p, uint8_t *d, size_t n) {
    unmask(p, d, n);
    p->remaining -= n;
    int last = p->remaining == 0;
    int text = (p->msg & MSG_OPCODE) == WS_OP_TEXT;
    if (p->msg & MSG_DEFLATE) {
        size_t from = p->buf.len;
        int r = ws_inflate_append(p->deflate, d, n, &p->buf, max_message(p));
        if (r) return inflate_failed(p, from, r);
        if (check_text_from(p, from)) return fail(p, E_UTF8);
    } else if (last && (p->frame & HDR_FIN) && (p->frame & HDR_OPCODE) && p->buf.len == 0) {
        /* A whole single-frame message in this buffer: deliver it in place.
         * (Had an earlier part of this frame arrived, it would be in buf.) */
        if (text && !util_utf8_valid(d, n)) return fail(p, E_UTF8);
        return deliver_message(p, d, n);
    } else {
        if (text && util_utf8_feed(&p->utf8, d, n)) return fail(p, E_UTF8);
        if (util_buf_append(&p->buf, d, n)) return fail(p, E_NOMEM);
    }
    return last ? data_frame_end(p) : 0;
}

/* ---- the state machine ------------------------------------------------------- */

int ws_parser_feed(ws_parser *p, uint8_t *data, size_t len) {
    if (p->state >= S_CLOSED) return final_result(p);
    size_t pos = 0;
    int r, e;
    while (pos < len) {
        uint8_t b;
        switch (p->state) {
        case S_HDR0:
            b = data[pos++];
            if ((e = check_byte0(p, b))) return fail(p, e);
            p->frame = b;
            p->state = S_HDR1;
            break;
        case S_HDR1:
            b = data[pos++];
            if (!(b & HDR_MASK)) return fail(p, E_UNMASKED);
            p->len7 = b & 0x7F;
            if ((p->frame & HDR_OPCODE) >= WS_OP_CLOSE && p->len7 > WS_CONTROL_MAX)
                return fail(p, E_CTRL_TOO_LONG);
            p->remaining = p->len7 < 126 ? p->len7 : 0;
            if (p->len7 >= 126) {
                p->need = p->len7 == 126 ? 2 : 8;
                p->state = S_LEN;
                break;
            }
            if ((e = check_length(p))) return fail(p, e);
            p->need = 4;
            p->state = S_MASK;
            break;
        case S_LEN:
            b = data[pos++];
            if (p->need == 8 && (b & 0x80)) return fail(p, E_LENGTH_HIGH);
            p->remaining = p->remaining << 8 | b;
            if (--p->need) break;
            if (p->remaining < (p->len7 == 126 ? 126u : 0x10000u)) return fail(p, E_LENGTH);
            if ((e = check_length(p))) return fail(p, e);
            p->need = 4;
            p->state = S_MASK;
            break;
        case S_MASK:
            p->mask[4 - p->need] = data[pos++];
            if (--p->need) break;
            if ((r = header_done(p))) return r;
            break;
        case S_PAYLOAD: {
            size_t n = len - pos;
            if (p->remaining < n) n = (size_t)p->remaining;
            uint8_t *d = data + pos;
            pos += n;
            r = (p->frame & HDR_OPCODE) >= WS_OP_CLOSE ? control_payload(p, d, n)
                                                       : data_payload(p, d, n);
            if (r) return r;
            break;
        }
        default:
            return final_result(p);
        }
    }
    return WS_PARSE_OK;
}

size_t ws_parser_buffered(const ws_parser *p) {
    return p->buf.cap;
}
