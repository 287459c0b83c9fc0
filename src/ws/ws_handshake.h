/* ws/ws_handshake.h - the pure parts of the WebSocket opening handshake
 * (RFC 6455 section 4.2) and of permessage-deflate negotiation (RFC 7692
 * section 7.1): the Sec-WebSocket-Accept value, header token lists, and the
 * choice among the client's Sec-WebSocket-Extensions offers.
 *
 * Nothing here reads a socket: the HTTP layer hands over header values and
 * writes the response lines these functions produce.
 */
#ifndef SIO_WS_HANDSHAKE_H
#define SIO_WS_HANDSHAKE_H

#include "ws/ws_deflate.h"

#include <stddef.h>

/* The Sec-WebSocket-Accept value is 28 characters (base64 of a SHA-1). */
#define WS_ACCEPT_LEN 28

/*
 * Computes Sec-WebSocket-Accept from the client's Sec-WebSocket-Key: base64 of
 * SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"). Surrounding spaces and
 * tabs are ignored; the key must be base64 of exactly 16 bytes. Writes 28
 * characters and a NUL to out. Returns 0, or SIO_EINVAL for a bad key.
 */
int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_LEN + 1]);

/*
 * Whether a comma-separated header value (Connection, Upgrade) contains token,
 * compared case-insensitively, ignoring spaces and tabs around elements: for
 * "keep-alive, Upgrade" and "upgrade" the answer is 1. Returns 1 or 0.
 */
int ws_header_has_token(const char *value, size_t len, const char *token);

/* Room for any response ws_deflate_negotiate writes, with its NUL. */
#define WS_DEFLATE_RESPONSE_MAX 160

/*
 * Chooses a permessage-deflate offer from a Sec-WebSocket-Extensions value.
 * (Several header lines are joined with ", " by the caller.)
 *
 * Offers are tried in the client's order; other extensions are skipped. An
 * offer is declined when it is malformed, repeats a parameter, has an unknown
 * parameter, or a value RFC 7692 does not allow: the *_no_context_takeover
 * parameters take no value, server_max_window_bits needs one of 8..15, and
 * client_max_window_bits takes none or one of 8..15 (values may be quoted).
 *
 * policy says what the server wants (ws_deflate_params; NULL for the default
 * WS_DEFLATE_PARAMS_DEFAULT):
 *  - server_no_context_takeover: reset our compressor after every message
 *    (less memory per connection); it is also used whenever the client asks.
 *  - client_no_context_takeover: ask the client to reset its compressor, so
 *    our inflater need not keep a window between messages; also used whenever
 *    the client offers it.
 *  - server_max_window_bits: the largest window our compressor uses (also
 *    bounded by the client's server_max_window_bits).
 *  - client_max_window_bits: the largest window we ask the client to use; the
 *    client can only be asked when its offer has client_max_window_bits.
 *
 * On success fills *agreed (the parameters both sides now use, ready for
 * ws_deflate_new), writes the response header value (e.g. "permessage-deflate;
 * client_max_window_bits=15") with a NUL to response, and returns 1. Returns 0
 * when no offer is acceptable (the server then answers without the extension),
 * or SIO_EINVAL when response_cap is too small (WS_DEFLATE_RESPONSE_MAX always
 * suffices).
 */
int ws_deflate_negotiate(const char *header, size_t len, const ws_deflate_params *policy,
                         ws_deflate_params *agreed, char *response, size_t response_cap);

#endif
