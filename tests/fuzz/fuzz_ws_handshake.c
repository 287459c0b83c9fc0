/* tests/fuzz/fuzz_ws_handshake.c - libFuzzer harness for ws/ws_handshake: the
 * Sec-WebSocket-Extensions parser and negotiator, the token-list helper and
 * the accept key.
 *
 * Byte 0 chooses the server policy; the rest is the header value. Whatever is
 * accepted must produce a response that is itself a valid offer, which the
 * negotiator accepts again with the same parameters.
 */
#include "socketio/common.h"
#include "ws/ws_handshake.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t f = data[0];
    const char *h = (const char *)data + 1;
    size_t n = size - 1;
    ws_deflate_params pol = {(uint8_t)(f & 1), (uint8_t)((f >> 1) & 1),
                             (uint8_t)(8 + ((f >> 2) & 7)), (uint8_t)(8 + ((f >> 5) & 7))};
    ws_deflate_params a, b;
    char resp[WS_DEFLATE_RESPONSE_MAX], resp2[WS_DEFLATE_RESPONSE_MAX];
    int r = ws_deflate_negotiate(h, n, &pol, &a, resp, sizeof resp);
    if (r < 0 || r > 1) abort();
    if (r == 1) {
        if (a.server_max_window_bits < 8 || a.server_max_window_bits > 15) abort();
        if (a.client_max_window_bits < 8 || a.client_max_window_bits > 15) abort();
        if (a.server_max_window_bits > pol.server_max_window_bits) abort();
        if (pol.server_no_context_takeover && !a.server_no_context_takeover) abort();
        if (ws_deflate_negotiate(resp, strlen(resp), &pol, &b, resp2, sizeof resp2) != 1) abort();
        if (b.server_no_context_takeover != a.server_no_context_takeover ||
            b.client_no_context_takeover != a.client_no_context_takeover ||
            b.server_max_window_bits != a.server_max_window_bits ||
            b.client_max_window_bits > a.client_max_window_bits)
            abort();
        ws_deflate *d = ws_deflate_new(&a, -1, 0);
        if (!d) abort();
        ws_deflate_free(d);
    }
    (void)ws_header_has_token(h, n, "upgrade");
    (void)ws_header_has_token(h, n, "");
    char out[WS_ACCEPT_LEN + 1];
    if (ws_accept_key(h, n, out) == 0 && strlen(out) != WS_ACCEPT_LEN) abort();
    return 0;
}
