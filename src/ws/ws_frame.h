/* ws/ws_frame.h - WebSocket frame encoding on the server side (RFC 6455 section 5).
 *
 * Server frames are never masked, so a frame is a 2..10 byte header followed
 * by the payload as is. A message for many connections (a broadcast) is encoded
 * once into a refcounted util_rcbuf and each connection's output queue takes a
 * reference; ws_frame_encodev builds that block straight from several pieces
 * (for example a packet prefix and a user payload) without an intermediate copy.
 * Callers that write with uv_write and several uv_buf_t can instead use
 * ws_frame_header alone and send the payload from where it already is.
 */
#ifndef SIO_WS_FRAME_H
#define SIO_WS_FRAME_H

#include "socketio/ws.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Opcodes (RFC 6455 section 5.2). */
enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* The close status codes (enum ws_close_code) are public: socketio/ws.h. */

/* A public ws_frame is an encoded frame in a util_rcbuf: struct ws_frame is
 * never defined, so the public type stays distinct from eio_msg and http_body,
 * and these two convert between the views of one pointer. */
static inline util_rcbuf *ws_frame_buf(ws_frame *f) {
    return (util_rcbuf *)(void *)f;
}
static inline ws_frame *ws_frame_from_buf(util_rcbuf *b) {
    return (ws_frame *)(void *)b;
}

/* The longest header, and the longest control frame payload. */
#define WS_FRAME_HEADER_MAX 10
#define WS_CONTROL_MAX 125

/* One piece of a payload for ws_frame_encodev (the shape of a struct iovec). */
typedef struct ws_iov {
    const void *base;
    size_t len;
} ws_iov;

/*
 * Writes the header of an unmasked frame carrying len payload bytes: FIN and
 * RSV1 as given (0 or 1), opcode WS_OP_*. The length uses the shortest
 * encoding. Returns the header size (2, 4 or 10).
 */
size_t ws_frame_header(uint8_t out[WS_FRAME_HEADER_MAX], int fin, int rsv1, int opcode,
                       uint64_t len);

/* A whole final frame (FIN set, RSV1 clear) with a copy of the payload, in a
 * new buffer with one reference; NULL when out of memory. */
util_rcbuf *ws_frame_encode(int opcode, const void *payload, size_t len);

/* The same, with the payload gathered from n pieces, and RSV1 as given (1 for
 * a message compressed with permessage-deflate). */
util_rcbuf *ws_frame_encodev(int opcode, int rsv1, const ws_iov *parts, size_t n);

/*
 * Writes the body of a close frame: the code in network order and the reason,
 * cut to fit 125 bytes in all (at a UTF-8 character boundary). With code 0 or
 * 1005 the body is empty, as the RFC requires. reason may be NULL. Returns the
 * body size.
 */
size_t ws_close_payload(uint8_t out[WS_CONTROL_MAX], int code, const char *reason);

/* A whole close frame (see ws_close_payload); NULL when out of memory. */
util_rcbuf *ws_close_frame_encode(int code, const char *reason);

/*
 * Whether a close code may appear in a close frame: 1000-1003, 1007-1011
 * (defined by RFC 6455 and its registry) and 3000-4999 (registered and private
 * use). 1004, 1005, 1006, 1015, the rest of 0-2999 and 5000+ are not valid.
 */
int ws_close_code_valid(int code);

#endif
