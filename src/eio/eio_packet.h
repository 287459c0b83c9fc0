/* eio/eio_packet.h - Engine.IO packets and payloads, v4 and v3. Pure: no I/O.
 *
 * A packet is a type and optional data. Decoding never copies: the data of a
 * decoded packet points into the input. Binary data sent as base64 (polling,
 * or a "b" text frame) is decoded in place, into the input buffer itself,
 * which is why decoders take `char *`: the bytes of a base64 packet are
 * overwritten by their decoded form, everything else is left as it was.
 * Pointers stay valid as long as the input buffer does.
 *
 * Formats:
 *   v4 polling     4hello\x1e2\x1ebAQIDBA==   packets joined by 0x1e; binary
 *                  messages as "b" + base64
 *   v4 websocket   a text frame is "<type><data>"; a binary frame is a binary
 *                  message's bytes with no prefix
 *   v3 polling     text:   6:4hello2:4€10:b4AQIDBA==   "<length>:<packet>",
 *                  where length counts UTF-16 code units, as JavaScript does
 *                  (€ is one unit, an emoji two); binary as "b<type><base64>"
 *                  binary (XHR2, application/octet-stream): per packet a byte
 *                  0 (text) or 1 (binary), the length as one byte per decimal
 *                  digit (0-9), a 0xFF byte, then the packet: text as
 *                  "<type char><UTF-8>", binary as "<type byte><bytes>"
 *   v3 websocket   text frames as v4; a binary frame starts with its type byte
 *                  (0x04 for a message)
 *
 * Decoding is stricter than the reference in a few places that only garbage
 * reaches: base64 must use the standard alphabet (padding may be omitted), a
 * v3 length is decimal digits only, a v3 binary payload must not be
 * truncated, and v3 text payloads must be valid UTF-8.
 */
#ifndef SIO_EIO_PACKET_H
#define SIO_EIO_PACKET_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum eio_packet_type {
    EIO_OPEN = 0,
    EIO_CLOSE = 1,
    EIO_PING = 2,
    EIO_PONG = 3,
    EIO_MESSAGE = 4,
    EIO_UPGRADE = 5,
    EIO_NOOP = 6,
} eio_packet_type;

typedef struct eio_packet {
    eio_packet_type type;
    bool binary;      /* the data are bytes, not UTF-8 text */
    const char *data; /* never NULL after a decode; len may be 0 */
    size_t len;
} eio_packet;

/* ---- single packets (WebSocket frames) ------------------------------------- */

/* Decodes one WebSocket frame's payload (`binary`: it came in a binary
 * frame). version is 3 or 4. 0 or SIO_EPROTO. */
int eio_ws_decode(char *frame, size_t len, bool binary, int version, eio_packet *pkt);

/* Appends the frame payload for pkt. Returns 1 if it must be sent in a
 * binary frame, 0 for a text frame, SIO_EINVAL (a binary packet that is not a
 * message, in v4) or SIO_ENOMEM. */
int eio_ws_encode(util_buf *out, int version, const eio_packet *pkt);

/* Decodes one text packet ("4hello", "bAQID" in v4, "b4AQID" in v3). */
int eio_packet_decode_text(char *data, size_t len, int version, eio_packet *pkt);

/* ---- polling payloads -------------------------------------------------------- */

typedef enum eio_payload_format {
    EIO_PAYLOAD_V4,        /* packets joined by 0x1e */
    EIO_PAYLOAD_V3_TEXT,   /* <utf16 length>:<packet>... */
    EIO_PAYLOAD_V3_BINARY, /* <0|1><digits><0xFF><packet>... (XHR2) */
} eio_payload_format;

#define EIO_DEFAULT_MAX_PACKETS 1024

/*
 * An iterator over the packets of a request body:
 *
 *     eio_payload_iter it;
 *     eio_packet pkt;
 *     int r;
 *     eio_payload_iter_init(&it, EIO_PAYLOAD_V4, body, len, 0);
 *     while ((r = eio_payload_next(&it, &pkt)) == 1) handle(&pkt);
 *     if (r < 0) protocol error
 *
 * As with the reference, the packets before a malformed one are returned
 * before the error.
 */
typedef struct eio_payload_iter {
    char *p; /* next byte; NULL once the payload is done */
    char *end;
    eio_payload_format format;
    unsigned count, max_packets;
    int err; /* sticky error */
} eio_payload_iter;

/* max_packets 0 means EIO_DEFAULT_MAX_PACKETS. */
void eio_payload_iter_init(eio_payload_iter *it, eio_payload_format format, char *data, size_t len,
                           unsigned max_packets);

/* 1 with *pkt filled, 0 at the end, SIO_EPROTO on malformed input (an empty
 * body is malformed in text formats, as with the reference), SIO_ETOOBIG
 * after max_packets packets. Errors repeat on later calls. */
int eio_payload_next(eio_payload_iter *it, eio_packet *pkt);

/*
 * A payload writer: packets are appended to out in the chosen format.
 *
 * For a v3 polling response the reference picks EIO_PAYLOAD_V3_BINARY when
 * the client supports binary (no b64=1 in the query) and at least one packet
 * is binary, EIO_PAYLOAD_V3_TEXT otherwise.
 */
typedef struct eio_payload_writer {
    util_buf *out;
    eio_payload_format format;
    size_t count;
} eio_payload_writer;

void eio_payload_writer_init(eio_payload_writer *w, util_buf *out, eio_payload_format format);
/* 0, SIO_EINVAL (a binary packet that is not a message, in v4) or SIO_ENOMEM. */
UTIL_MUST_USE int eio_payload_write(eio_payload_writer *w, const eio_packet *pkt);
/* Completes the payload: an empty v3 text payload is "0:". */
UTIL_MUST_USE int eio_payload_finish(eio_payload_writer *w);

/* ---- handshake and errors ------------------------------------------------------- */

typedef struct eio_handshake {
    const char *sid;
    const char *const *upgrades; /* e.g. {"websocket"} */
    size_t upgrades_count;
    uint64_t ping_interval; /* ms */
    uint64_t ping_timeout;  /* ms */
    uint64_t max_payload;   /* bytes; not sent in v3 */
    int version;            /* 3 or 4 */
} eio_handshake;

/* Appends the open packet's JSON (without the "0" type):
 * {"sid":"...","upgrades":["websocket"],"pingInterval":25000,
 *  "pingTimeout":20000,"maxPayload":1000000} */
UTIL_MUST_USE int eio_open_json(util_buf *out, const eio_handshake *h);

/* The reference server's HTTP error codes. */
typedef enum eio_http_error {
    EIO_ERR_UNKNOWN_TRANSPORT = 0,
    EIO_ERR_UNKNOWN_SID = 1,
    EIO_ERR_BAD_HANDSHAKE_METHOD = 2,
    EIO_ERR_BAD_REQUEST = 3,
    EIO_ERR_FORBIDDEN = 4,
    EIO_ERR_UNSUPPORTED_PROTOCOL_VERSION = 5,
} eio_http_error;

/* The static JSON body for an error code, e.g.
 * {"code":0,"message":"Transport unknown"}; NULL for an unknown code. */
const char *eio_error_body(int code);
/* Its HTTP status: 403 for EIO_ERR_FORBIDDEN, 400 for the others. */
int eio_error_status(int code);

#endif
