/* ws/ws_deflate.h - permessage-deflate (RFC 7692) over zlib, for one connection.
 *
 * A ws_deflate exists only on connections that negotiated the extension (see
 * ws_deflate_negotiate in ws_handshake.h). It holds two zlib streams, both
 * created on first use: the inflater for client messages and the deflater for
 * server messages. The side that works without context takeover frees its
 * stream after each message, so an idle connection holds no zlib memory for
 * it; with context takeover the stream and its window stay between messages
 * (about 40 KiB to inflate and 260 KiB to deflate at 15 window bits and the
 * default memory level) - that is the cost of better compression.
 *
 * Inflating: the parser (ws_parser_set_deflate) passes each frame's payload of
 * a compressed message to ws_inflate_append, then calls ws_inflate_finish at
 * the end of the message, which adds the 00 00 ff ff tail. Output is appended
 * to a util_buf and is never allowed past `limit` bytes (the maximum message
 * size): past it inflating stops with SIO_ETOOBIG, so a small "zip bomb" can
 * not make the server allocate more than the limit.
 *
 * Deflating: ws_deflate_message compresses one whole message (raw deflate,
 * Z_SYNC_FLUSH, the trailing 00 00 ff ff removed); ws_deflate_frame also adds
 * the frame header with RSV1. A broadcast to connections that all negotiated
 * server_no_context_takeover with the same window can compress once, with a
 * temporary ws_deflate, and share the frame.
 *
 * zlib cannot compress raw deflate with an 8-bit (256 byte) window, so when 8
 * is agreed for server_max_window_bits the compressor uses 9: zlib never emits
 * a distance beyond the window size minus 262, which is 250 for a 512 byte
 * window, so the output is still readable with a 256 byte window. Raw inflate
 * supports 8 bits, so the inflater uses the agreed client window as is.
 */
#ifndef SIO_WS_DEFLATE_H
#define SIO_WS_DEFLATE_H

#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

/* The parameters both sides agreed on (RFC 7692 section 7.1). */
typedef struct ws_deflate_params {
    uint8_t server_no_context_takeover; /* we reset our compressor after each message */
    uint8_t client_no_context_takeover; /* the client resets its compressor */
    uint8_t server_max_window_bits;     /* our compressor's window, 8..15 */
    uint8_t client_max_window_bits;     /* the client's window, 8..15 */
} ws_deflate_params;

#define WS_DEFLATE_PARAMS_DEFAULT ((ws_deflate_params){0, 0, 15, 15})

typedef struct ws_deflate ws_deflate;

/*
 * A context for the agreed params. level is the zlib compression level (0-9,
 * or -1 for zlib's default); mem_level is zlib's memLevel (1-9, 0 for the
 * default 8; lower uses less memory). NULL when a value is out of range or
 * memory runs out.
 */
ws_deflate *ws_deflate_new(const ws_deflate_params *params, int level, int mem_level);
/* Frees the context and its streams. NULL is allowed. */
void ws_deflate_free(ws_deflate *d);
/* The params the context was made with. */
const ws_deflate_params *ws_deflate_get_params(const ws_deflate *d);

/*
 * Inflates the next piece of a compressed message, appending to out, which
 * must not grow past limit bytes. Returns 0, SIO_ETOOBIG when the message would
 * exceed limit, SIO_EPROTO for corrupt data, SIO_ENOMEM. After an error the
 * inflater can not be used again (the connection is to be closed).
 */
int ws_inflate_append(ws_deflate *d, const uint8_t *in, size_t len, util_buf *out, size_t limit);

/* Ends a compressed message: inflates the implied 00 00 ff ff tail (and any
 * output still pending) into out, then resets the inflater when the client does
 * not use context takeover. Returns as ws_inflate_append. */
int ws_inflate_finish(ws_deflate *d, util_buf *out, size_t limit);

/*
 * Compresses one whole message, appending the payload to send (with RSV1 set
 * on its first frame) to out. An empty message becomes the single byte 0x00.
 * Returns 0 or SIO_ENOMEM.
 */
int ws_deflate_message(ws_deflate *d, const void *in, size_t len, util_buf *out);

/* Compresses one message into a whole frame (FIN and RSV1 set, opcode text or
 * binary) in a new refcounted buffer; NULL when out of memory. */
util_rcbuf *ws_deflate_frame(ws_deflate *d, int opcode, const void *payload, size_t len);

#endif
