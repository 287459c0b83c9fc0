/* ws/ws_deflate.c - permessage-deflate contexts: lazily created zlib streams,
 * bounded inflation, and compression with the tail stripped (see ws_deflate.h). */
#include "ws/ws_deflate.h"

#include "socketio/common.h"
#include "ws/ws_frame.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct ws_deflate {
    ws_deflate_params params;
    int level;
    int mem_level;
    z_stream *inf; /* NULL until the first compressed message arrives */
    z_stream *def; /* NULL until the first compressed message is sent */
    int ended;     /* a BFINAL block ended the current message's deflate stream */
};

/* The tail every message ends with after Z_SYNC_FLUSH (RFC 7692 section 7.2.1). */
static const uint8_t deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* How much more output space is given to inflate at a time, at least. */
#define INFLATE_CHUNK 1024

ws_deflate *ws_deflate_new(const ws_deflate_params *params, int level, int mem_level) {
    if (params->server_max_window_bits < 8 || params->server_max_window_bits > 15) return NULL;
    if (params->client_max_window_bits < 8 || params->client_max_window_bits > 15) return NULL;
    if (level < -1 || level > 9 || mem_level < 0 || mem_level > 9) return NULL;
    ws_deflate *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->params = *params;
    d->level = level;
    d->mem_level = mem_level ? mem_level : 8;
    return d;
}

static void inflater_drop(ws_deflate *d) {
    if (!d->inf) return;
    inflateEnd(d->inf);
    free(d->inf);
    d->inf = NULL;
}

static void deflater_drop(ws_deflate *d) {
    if (!d->def) return;
    deflateEnd(d->def);
    free(d->def);
    d->def = NULL;
}

void ws_deflate_free(ws_deflate *d) {
    if (!d) return;
    inflater_drop(d);
    deflater_drop(d);
    free(d);
}

const ws_deflate_params *ws_deflate_get_params(const ws_deflate *d) {
    return &d->params;
}

/* ---- inflating ------------------------------------------------------------ */

static int inflater_get(ws_deflate *d) {
    if (d->inf) return 0;
    z_stream *s = calloc(1, sizeof *s);
    if (!s) return SIO_ENOMEM;
    /* Raw inflate accepts 8..15; the window is allocated by zlib on first use. */
    if (inflateInit2(s, -(int)d->params.client_max_window_bits) != Z_OK) {
        free(s);
        return SIO_ENOMEM;
    }
    d->inf = s;
    return 0;
}

/*
 * A block with BFINAL set ended the deflate stream (RFC 7692 section 7.2.3.4
 * allows it as the way to end a message). Whatever follows in the message,
 * normally only the appended 00 00 ff ff, is ignored; the next message starts
 * a new stream that keeps the window when the client may still refer back
 * into it.
 */
static int inflater_restart(ws_deflate *d) {
    z_stream *s = d->inf;
    if (d->params.client_no_context_takeover) return inflateReset(s) == Z_OK ? 0 : SIO_EPROTO;
    uInt dlen = 0;
    uint8_t *dict = malloc((size_t)1 << d->params.client_max_window_bits);
    if (!dict) return SIO_ENOMEM;
    int r = inflateGetDictionary(s, NULL, &dlen);
    if (r == Z_OK && dlen > ((uInt)1 << d->params.client_max_window_bits)) r = Z_STREAM_ERROR;
    if (r == Z_OK) r = inflateGetDictionary(s, dict, &dlen);
    if (r == Z_OK) r = inflateReset(s);
    if (r == Z_OK && dlen) r = inflateSetDictionary(s, dict, dlen);
    free(dict);
    return r == Z_OK ? 0 : SIO_EPROTO;
}

static int inflate_run(ws_deflate *d, const uint8_t *in, size_t len, util_buf *out, size_t limit) {
    int r = inflater_get(d);
    if (r) return r;
    z_stream *s = d->inf;
    if (limit >= SIZE_MAX - 1) limit = SIZE_MAX - 2;
    s->avail_in = 0;
    for (;;) {
        if (s->avail_in == 0 && len > 0) {
            /* zlib counts in uInt: hand over huge inputs in slices */
            uInt take = len > UINT_MAX ? UINT_MAX : (uInt)len;
            s->next_in = (Bytef *)(uintptr_t)in;
            s->avail_in = take;
            in += take;
            len -= take;
        }
        /* Room for the output, but never more than one byte past the limit:
         * producing that byte is how an oversized message is detected. */
        if (out->len > limit) return SIO_ETOOBIG;
        size_t allowed = limit + 1 - out->len;
        if (out->cap == out->len) {
            size_t want = out->len > INFLATE_CHUNK ? out->len : INFLATE_CHUNK;
            if (want > allowed) want = allowed;
            if (util_buf_reserve(out, want)) return SIO_ENOMEM;
        }
        size_t room = out->cap - out->len;
        if (room > allowed) room = allowed;
        if (room > UINT_MAX) room = UINT_MAX;
        s->next_out = (Bytef *)out->data + out->len;
        s->avail_out = (uInt)room;
        r = inflate(s, Z_SYNC_FLUSH);
        out->len += room - s->avail_out;
        if (out->len > limit) return SIO_ETOOBIG;
        if (r == Z_STREAM_END) {
            r = inflater_restart(d);
            if (r) return r;
            d->ended = 1;
            break;
        } else if (r == Z_MEM_ERROR) {
            return SIO_ENOMEM;
        } else if (r != Z_OK && r != Z_BUF_ERROR) {
            return SIO_EPROTO; /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
        }
        /* Done when all input is used and zlib did not fill the output (a full
         * output may mean more is pending). Z_BUF_ERROR is "no progress
         * possible", which only happens in that state. */
        if (s->avail_in == 0 && len == 0 && s->avail_out != 0) break;
        if (r == Z_BUF_ERROR && s->avail_out != 0) return SIO_EPROTO;
    }
    s->next_in = NULL;
    s->next_out = NULL;
    return 0;
}

int ws_inflate_append(ws_deflate *d, const uint8_t *in, size_t len, util_buf *out, size_t limit) {
    if (len == 0 || d->ended) return 0;
    return inflate_run(d, in, len, out, limit);
}

int ws_inflate_finish(ws_deflate *d, util_buf *out, size_t limit) {
    int r = d->ended ? 0 : inflate_run(d, deflate_tail, sizeof deflate_tail, out, limit);
    d->ended = 0;
    if (r) return r;
    if (d->params.client_no_context_takeover) inflater_drop(d);
    return 0;
}

/* ---- deflating ------------------------------------------------------------ */

static int deflater_get(ws_deflate *d) {
    if (d->def) return 0;
    z_stream *s = calloc(1, sizeof *s);
    if (!s) return SIO_ENOMEM;
    /* zlib refuses an 8-bit window for raw deflate; 9 stays readable with 8
     * (see the header). */
    int bits = d->params.server_max_window_bits < 9 ? 9 : d->params.server_max_window_bits;
    if (deflateInit2(s, d->level, Z_DEFLATED, -bits, d->mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(s);
        return SIO_ENOMEM;
    }
    d->def = s;
    return 0;
}

int ws_deflate_message(ws_deflate *d, const void *in, size_t len, util_buf *out) {
    if (len == 0) {
        /* An empty stored block; deflate() itself would write nothing after an
         * earlier Z_SYNC_FLUSH when given no input. */
        return util_buf_append(out, "", 1);
    }
    int r = deflater_get(d);
    if (r) return r;
    z_stream *s = d->def;
    size_t start = out->len;
    const uint8_t *p = in;
    for (;;) {
        if (s->avail_in == 0 && len > 0) {
            uInt take = len > UINT_MAX ? UINT_MAX : (uInt)len;
            s->next_in = (Bytef *)(uintptr_t)p;
            s->avail_in = take;
            p += take;
            len -= take;
        }
        /* deflateBound-like slack: compressed data may be a little larger */
        size_t want = s->avail_in + s->avail_in / 1000 + 64;
        if (out->cap - out->len < want && util_buf_reserve(out, want)) return SIO_ENOMEM;
        size_t room = out->cap - out->len;
        if (room > UINT_MAX) room = UINT_MAX;
        s->next_out = (Bytef *)out->data + out->len;
        s->avail_out = (uInt)room;
        /* Flush only when the last slice of the input is in zlib's hands. */
        r = deflate(s, len > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH);
        out->len += room - s->avail_out;
        if (r != Z_OK && r != Z_BUF_ERROR) return SIO_ENOMEM;
        if (len == 0 && s->avail_in == 0 && s->avail_out != 0) break;
    }
    s->next_in = NULL;
    /* Z_SYNC_FLUSH always ends in the 00 00 ff ff of an empty stored block. */
    if (out->len - start >= 4 && memcmp(out->data + out->len - 4, deflate_tail, 4) == 0)
        out->len -= 4;
    if (d->params.server_no_context_takeover) deflater_drop(d);
    return 0;
}

util_rcbuf *ws_deflate_frame(ws_deflate *d, int opcode, const void *payload, size_t len) {
    util_buf z = UTIL_BUF_INIT;
    if (ws_deflate_message(d, payload, len, &z)) {
        util_buf_free(&z);
        return NULL;
    }
    ws_iov part = {z.data, z.len};
    util_rcbuf *r = ws_frame_encodev(opcode, 1, &part, 1);
    util_buf_free(&z);
    return r;
}
