/* ws/ws_parser.h - incremental parser of the frames a client sends to the
 * server (RFC 6455 section 5), with permessage-deflate (RFC 7692).
 *
 * Bytes go in as they are read, split anywhere; whole messages come out
 * through callbacks: data messages reassembled from their fragments (and
 * inflated when compressed), and each ping, pong and close frame.
 *
 * Zero copy: the input buffer is writable and is unmasked in place. When a
 * whole unfragmented, uncompressed message lies in one ws_parser_feed buffer
 * (the common case), on_message gets a pointer into that buffer. Only a
 * message that is fragmented, compressed, or spans feeds is collected in a
 * heap buffer, which grows as bytes arrive, never past the maximum message
 * size, and is freed as soon as the message is delivered. A control frame
 * split across feeds is collected there too (at most 125 bytes). Payload
 * pointers given to callbacks are valid only during the callback.
 *
 * Checks, each failing with the close code the server should send:
 *  1002 (protocol error): RSV bits (RSV1 is allowed only with
 *       permessage-deflate, on the first frame of a data message), reserved
 *       opcodes, unmasked frames, lengths not in their shortest form or with
 *       the 64-bit high bit set, control frames that are fragmented or longer
 *       than 125 bytes, a continuation with no message started, a new data
 *       message inside a fragmented one, a close body of 1 byte, a close code
 *       that may not be sent (see ws_close_code_valid).
 *  1007 (invalid data): a text message or close reason that is not UTF-8,
 *       checked as bytes arrive (so a bad byte fails at once, even when the
 *       message is incomplete; inflated bytes for compressed messages);
 *       corrupt compressed data.
 *  1009 (too big): a data message over max_message_size, checked against the
 *       declared frame length before its payload arrives, and against the
 *       inflated size while inflating.
 *  1011: out of memory.
 * Control frames may come between the fragments of a message.
 *
 * After an error, after a close frame, or once stopped, the parser ignores
 * all further input.
 *
 * Memory: the struct is 72 bytes with no inline arrays; a connection holds it
 * directly. The config (callbacks and limits) is shared by all parsers.
 */
#ifndef SIO_WS_PARSER_H
#define SIO_WS_PARSER_H

#include "util/buf.h"
#include "ws/ws_deflate.h"
#include "ws/ws_frame.h"

#include <stddef.h>
#include <stdint.h>

#define WS_DEFAULT_MAX_MESSAGE 1000000

/*
 * Callbacks. Each returns 0 to go on, or nonzero to stop the parser: the
 * current ws_parser_feed then returns WS_PARSE_STOPPED at once and later input
 * is ignored (for example when the connection decided to close). A callback
 * must not free the parser or feed it again; it may call ws_parser_stop.
 */
/* A whole data message; opcode is WS_OP_TEXT (valid UTF-8) or WS_OP_BINARY. */
typedef int (*ws_parser_message_cb)(void *userdata, int opcode, const uint8_t *data, size_t len);
/* A ping or pong payload (0..125 bytes). */
typedef int (*ws_parser_control_cb)(void *userdata, const uint8_t *data, size_t len);
/* A close frame: code 1005 (WS_CLOSE_NO_STATUS) when it had no body; reason
 * is valid UTF-8 of reason_len bytes, not NUL-terminated. */
typedef int (*ws_parser_close_cb)(void *userdata, int code, const char *reason, size_t reason_len);

/* Shared by any number of parsers; must outlive them. A NULL callback means
 * the event is ignored. */
typedef struct ws_parser_config {
    size_t max_message_size; /* largest data message, after inflating; 0: default */
    ws_parser_message_cb on_message;
    ws_parser_control_cb on_ping;
    ws_parser_control_cb on_pong;
    ws_parser_close_cb on_close;
} ws_parser_config;

/* What ws_parser_feed returns besides negative errors. */
enum ws_parse_result {
    WS_PARSE_OK = 0,      /* all input used; send more */
    WS_PARSE_CLOSED = 1,  /* a close frame was received (and reported) */
    WS_PARSE_STOPPED = 2, /* a callback returned nonzero, or ws_parser_stop */
};

/* The parser. Its fields are private. */
typedef struct ws_parser {
    const ws_parser_config *cfg;
    void *userdata;
    ws_deflate *deflate; /* set when permessage-deflate was negotiated; not owned */
    util_buf buf;        /* a message being collected; a split control frame after it */
    uint64_t remaining;  /* payload bytes of the frame still to come, or its length so far */
    uint8_t mask[4];     /* masking key, rotated so that mask[0] applies to the next byte */
    uint8_t state;
    uint8_t need;  /* header bytes still to read */
    uint8_t frame; /* first header byte of the current frame */
    uint8_t len7;  /* the 7-bit length field of the current frame */
    uint8_t msg;   /* opcode of the data message in progress (0: none), and flags */
    uint8_t utf8;  /* UTF-8 validation state of a text message in progress */
    uint8_t err;   /* what went wrong, once in the error state */
    uint8_t spare;
} ws_parser;

/* Prepares a parser; userdata is passed to every callback. */
void ws_parser_init(ws_parser *p, const ws_parser_config *cfg, void *userdata);

/* Enables permessage-deflate (RSV1 messages are inflated with d). The parser
 * does not own d; the connection frees it after ws_parser_free. */
void ws_parser_set_deflate(ws_parser *p, ws_deflate *d);

/*
 * Parses len bytes, unmasking them in place, and calls the callbacks for what
 * completes. Returns WS_PARSE_OK, WS_PARSE_CLOSED or WS_PARSE_STOPPED, or a
 * negative error: SIO_EPROTO (close code 1002 or 1007), SIO_ETOOBIG (1009) or
 * SIO_ENOMEM (1011); ws_parser_close_code and ws_parser_error then say what to
 * send in the close frame. Once it returned anything but WS_PARSE_OK it
 * returns the same for all later input.
 */
int ws_parser_feed(ws_parser *p, uint8_t *data, size_t len);

/* Stops the parser (from a callback, or from outside): the current and later
 * ws_parser_feed calls return WS_PARSE_STOPPED (unless already closed or
 * failed). */
void ws_parser_stop(ws_parser *p);

/* After an error: the close code to send (1002, 1007, 1009, 1011); 0 if none. */
int ws_parser_close_code(const ws_parser *p);
/* After an error: a short static reason for the close frame; "" if none. */
const char *ws_parser_error(const ws_parser *p);

/* Bytes the parser holds for a message (or a control frame) not complete yet. */
size_t ws_parser_buffered(const ws_parser *p);

/* Frees the buffer; the parser ignores input afterwards. */
void ws_parser_free(ws_parser *p);

#endif
