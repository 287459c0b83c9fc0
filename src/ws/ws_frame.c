/* ws/ws_frame.c - server frame encoder: headers, whole frames in refcounted
 * buffers, close frames and close code validation (see ws_frame.h). */
#include "ws/ws_frame.h"

#include <string.h>

size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], int fin, int rsv1, int opcode,
                       uint64_t len) {
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0F));
    if (len <= 125) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

util_rcbuf *ws_frame_encodev(int opcode, int rsv1, const ws_iov *parts, size_t n) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len > SIZE_MAX - WS_FRAME_HEADER_MAX - 1 - total) return NULL;
        total += parts[i].len;
    }
    uint8_t hdr[WS_FRAME_HEADER_MAX];
    size_t hlen = ws_frame_header(hdr, 1, rsv1, opcode, total);
    util_rcbuf *r = util_rcbuf_new(hlen + total);
    if (!r) return NULL;
    memcpy(r->data, hdr, hlen);
    size_t off = hlen;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].len) memcpy(r->data + off, parts[i].base, parts[i].len);
        off += parts[i].len;
    }
    return r;
}

util_rcbuf *ws_frame_encode(int opcode, const void *payload, size_t len) {
    ws_iov part = {payload, len};
    return ws_frame_encodev(opcode, 0, &part, 1);
}

/* Length of the longest prefix of s[0..n) that does not cut a UTF-8 sequence
 * (the reason is expected to be valid UTF-8; only the cut is repaired). */
static size_t utf8_boundary(const char *s, size_t n) {
    size_t i = n;
    /* step back over continuation bytes to the start of the last character */
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3) i--;
    if (i == 0) return n;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return (n - (i - 1) >= want) ? n : i - 1;
}

size_t ws_close_payload(uint8_t out[WS_CONTROL_MAX], int code, const char *reason) {
    if (code <= 0 || code == WS_CLOSE_NO_STATUS || code > 0xFFFF) return 0;
    out[0] = (uint8_t)(code >> 8);
    out[1] = (uint8_t)code;
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > WS_CONTROL_MAX - 2) rlen = utf8_boundary(reason, WS_CONTROL_MAX - 2);
    if (rlen) memcpy(out + 2, reason, rlen);
    return 2 + rlen;
}

util_rcbuf *ws_close_frame_encode(int code, const char *reason) {
    uint8_t body[WS_CONTROL_MAX];
    size_t n = ws_close_payload(body, code, reason);
    return ws_frame_encode(WS_OP_CLOSE, body, n);
}

int ws_close_code_valid(int code) {
    if (code >= 1000 && code <= 1003) return 1;
    if (code >= 1007 && code <= 1011) return 1;
    return code >= 3000 && code <= 4999;
}
