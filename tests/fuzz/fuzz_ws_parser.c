/* tests/fuzz/fuzz_ws_parser.c - libFuzzer harness for ws/ws_parser (and the
 * inflater behind it).
 *
 * Input: byte 0 chooses the setup, byte 1 seeds the chunk sizes, the rest is
 * the client byte stream.
 *   bit 0    permessage-deflate negotiated
 *   bit 1    client_no_context_takeover
 *   bits 2-4 client window bits: 0-3 give 15, 4-7 give 8, 10, 12, 14
 *   bit 5    a small message limit (300 bytes) instead of the default
 *   bit 6    a callback stops the parser at event (byte 1 & 7) + 1
 * The stream is parsed twice: whole, and in chunks whose sizes come from the
 * seed. Both runs must report the same events and result (any split of the
 * stream must not change what is parsed), and every event must respect the
 * parser's promises (valid UTF-8 text, sizes within limits, valid close codes).
 *
 * One exception: with a client window under 15 bits, zlib rejects a distance
 * beyond the window only when the bytes it points to are no longer in the
 * current output buffer, so whether a client that breaks its window promise is
 * caught depends on how the input was split. Those runs are checked for
 * crashes, leaks and the promises above, but not compared.
 */
#include "socketio/common.h"
#include "util/utf8.h"
#include "ws/ws_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_run {
    uint64_t digest;
    size_t max;
    int events;
    int stop_at;
} fuzz_run;

static void mix(fuzz_run *r, const uint8_t *d, size_t n, uint64_t tag) {
    uint64_t h = r->digest ^ (tag * 0x9E3779B97F4A7C15ull) ^ n;
    for (size_t i = 0; i < n; i++) h = (h ^ d[i]) * 0x100000001B3ull;
    r->digest = h;
}

static int event_done(fuzz_run *r) {
    r->events++;
    return r->stop_at && r->events == r->stop_at;
}

static int on_message(void *ud, int opcode, const uint8_t *data, size_t len) {
    fuzz_run *r = ud;
    if (opcode != WS_OP_TEXT && opcode != WS_OP_BINARY) abort();
    if (len > r->max) abort();
    if (opcode == WS_OP_TEXT && !util_utf8_valid(data, len)) abort();
    mix(r, data, len, (uint64_t)opcode);
    return event_done(r);
}

static int on_ping(void *ud, const uint8_t *data, size_t len) {
    if (len > WS_CONTROL_MAX) abort();
    mix(ud, data, len, 9);
    return event_done(ud);
}

static int on_pong(void *ud, const uint8_t *data, size_t len) {
    if (len > WS_CONTROL_MAX) abort();
    mix(ud, data, len, 10);
    return event_done(ud);
}

static int on_close(void *ud, int code, const char *reason, size_t len) {
    if (code != WS_CLOSE_NO_STATUS && !ws_close_code_valid(code)) abort();
    if (len > WS_CONTROL_MAX - 2 || !util_utf8_valid((const uint8_t *)reason, len)) abort();
    mix(ud, (const uint8_t *)reason, len, 8 + ((uint64_t)code << 8));
    return event_done(ud);
}

static uint8_t window_bits(uint8_t flags) {
    int v = (flags >> 2) & 7;
    return (uint8_t)(v < 4 ? 15 : 8 + (v - 4) * 2);
}

static int parse(const uint8_t *in, size_t len, uint8_t flags, uint8_t seed, int chunked,
                 fuzz_run *r, int *close_code) {
    ws_parser_config cfg = {flags & 0x20 ? 300 : 0, on_message, on_ping, on_pong, on_close};
    r->max = cfg.max_message_size ? cfg.max_message_size : WS_DEFAULT_MAX_MESSAGE;
    r->stop_at = flags & 0x40 ? (seed & 7) + 1 : 0;
    uint8_t *copy = malloc(len ? len : 1);
    if (len) memcpy(copy, in, len);
    ws_parser p;
    ws_parser_init(&p, &cfg, r);
    ws_deflate *d = NULL;
    if (flags & 1) {
        ws_deflate_params dp = {0, (uint8_t)((flags >> 1) & 1), 15, window_bits(flags)};
        d = ws_deflate_new(&dp, -1, 0);
        if (!d) abort();
        ws_parser_set_deflate(&p, d);
    }
    int ret = WS_PARSE_OK;
    size_t pos = 0;
    uint32_t x = seed * 2654435761u + 1;
    while (pos < len || pos == 0) {
        size_t n = len - pos;
        if (chunked) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            size_t step = (x & 3) == 0 ? 1 + (x >> 8) % 300 : 1 + (x >> 8) % 8;
            if (step < n) n = step;
        }
        int r2 = ws_parser_feed(&p, copy + pos, n);
        pos += n;
        /* once it returned something else, it keeps returning it */
        if (ret != WS_PARSE_OK && r2 != ret) abort();
        ret = r2;
        if (len == 0) break;
    }
    *close_code = ws_parser_close_code(&p);
    if (ret < 0 && *close_code == 0) abort();
    if (ret >= 0 && *close_code != 0) abort();
    ws_parser_free(&p);
    ws_deflate_free(d);
    free(copy);
    return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t flags = data[0], seed = data[1];
    data += 2, size -= 2;
    fuzz_run a = {0}, b = {0};
    int ca, cb;
    int ra = parse(data, size, flags, seed, 0, &a, &ca);
    int rb = parse(data, size, flags, seed, 1, &b, &cb);
    if ((flags & 1) && window_bits(flags) < 15) return 0;
    if (ra != rb || ca != cb || a.digest != b.digest || a.events != b.events) abort();
    return 0;
}
