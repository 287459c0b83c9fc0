/* Fuzz harness for src/eio/eio_packet: payload and WebSocket frame decoding.
 *
 * The first input byte picks the format (v4 payload, v3 text payload, v3
 * binary payload, or a v4/v3 WebSocket text/binary frame); the rest is the
 * body. Every decoded packet must lie inside the body; a body that decodes
 * completely must re-encode (same format) to something that decodes to the
 * same packets.
 */
#include "eio/eio_packet.h"
#include "socketio/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS 64

typedef struct saved {
    eio_packet_type type;
    bool binary;
    char *data;
    size_t len;
} saved;

static void die(const char *what) {
    fprintf(stderr, "fuzz_eio_payload: %s\n", what);
    abort();
}

/* Decodes body[0, len) as `format`, saving up to MAX_PKTS packets. Returns
 * the iterator's final result. */
static int decode_into(eio_payload_format format, char *body, size_t len, saved *out,
                       size_t *count) {
    eio_payload_iter it;
    eio_packet pkt;
    int r;
    *count = 0;
    eio_payload_iter_init(&it, format, body, len, MAX_PKTS);
    while ((r = eio_payload_next(&it, &pkt)) == 1) {
        if (pkt.data < body || pkt.data + pkt.len > body + len) die("packet outside the body");
        if ((unsigned)pkt.type > EIO_NOOP) die("bad type");
        saved *s = &out[(*count)++];
        s->type = pkt.type;
        s->binary = pkt.binary;
        s->len = pkt.len;
        s->data = malloc(pkt.len ? pkt.len : 1);
        memcpy(s->data, pkt.data, pkt.len);
    }
    return r;
}

static void free_saved(saved *s, size_t n) {
    for (size_t i = 0; i < n; i++) free(s[i].data);
}

static void fuzz_payload(eio_payload_format format, const uint8_t *data, size_t size) {
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);
    saved first[MAX_PKTS], second[MAX_PKTS];
    size_t n1, n2;
    int r = decode_into(format, body, size, first, &n1);
    free(body);
    if (r != 0) {
        free_saved(first, n1);
        return;
    }

    util_buf out = UTIL_BUF_INIT;
    eio_payload_writer w;
    eio_payload_writer_init(&w, &out, format);
    for (size_t i = 0; i < n1; i++) {
        eio_packet p = {first[i].type, first[i].binary, first[i].data, first[i].len};
        if (eio_payload_write(&w, &p)) die("re-encode failed");
    }
    if (eio_payload_finish(&w)) die("finish failed");
    r = decode_into(format, out.data, out.len, second, &n2);
    if (r != 0) die("re-encoded payload does not decode");
    if (n1 != n2) die("packet count differs");
    for (size_t i = 0; i < n1; i++) {
        if (first[i].type != second[i].type || first[i].binary != second[i].binary ||
            first[i].len != second[i].len ||
            (first[i].len && memcmp(first[i].data, second[i].data, first[i].len)))
            die("packet differs after re-encoding");
    }
    free_saved(first, n1);
    free_saved(second, n2);
    util_buf_free(&out);
}

static void fuzz_frame(int version, bool binary, const uint8_t *data, size_t size) {
    char *frame = malloc(size ? size : 1);
    memcpy(frame, data, size);
    eio_packet p;
    if (eio_ws_decode(frame, size, binary, version, &p) == 0) {
        if (!p.data || (p.len && (p.data < frame || p.data + p.len > frame + size)))
            die("frame packet outside");
        util_buf out = UTIL_BUF_INIT;
        int kind = eio_ws_encode(&out, version, &p);
        if (kind < 0) die("frame re-encode failed");
        eio_packet q;
        if (eio_ws_decode(out.data, out.len, kind == 1, version, &q) != 0) die("frame re-decode");
        if (!q.data || q.type != p.type || q.binary != p.binary || q.len != p.len ||
            (p.len && memcmp(q.data, p.data, p.len) != 0))
            die("frame differs after re-encoding");
        util_buf_free(&out);
    }
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0] % 7;
    data++;
    size--;
    switch (mode) {
    case 0:
        fuzz_payload(EIO_PAYLOAD_V4, data, size);
        break;
    case 1:
        fuzz_payload(EIO_PAYLOAD_V3_TEXT, data, size);
        break;
    case 2:
        fuzz_payload(EIO_PAYLOAD_V3_BINARY, data, size);
        break;
    case 3:
        fuzz_frame(4, false, data, size);
        break;
    case 4:
        fuzz_frame(4, true, data, size);
        break;
    case 5:
        fuzz_frame(3, false, data, size);
        break;
    default:
        fuzz_frame(3, true, data, size);
        break;
    }
    return 0;
}
