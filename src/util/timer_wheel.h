/* util/timer_wheel.h - one coarse timer wheel for many cheap timeouts.
 *
 * Every connection has a few deadlines (idle, slow head, ping, pong, connect
 * timeout). A libuv timer each would cost a heap entry and ~150 bytes; a wheel
 * entry is 40 bytes and O(1) to start and stop. One libuv timer drives the
 * wheel, and only while some entry is armed. Resolution is the tick (10 ms by
 * default): a deadline fires up to two ticks late, never early.
 */
#ifndef SIO_UTIL_TIMER_WHEEL_H
#define SIO_UTIL_TIMER_WHEEL_H

#include "util/attr.h"

#include <stdint.h>
#include <uv.h>

#define UTIL_WHEEL_SLOTS 4096
/* The tick every layer's wheel uses: deadlines (heartbeats, timeouts) fire
 * within two ticks after they pass. */
#define SIO_WHEEL_TICK_MS 10

typedef struct util_timer util_timer;
typedef void (*util_timer_cb)(util_timer *t);

struct util_timer {
    util_timer *next, *prev; /* NULL when not armed */
    uint64_t due_tick;
    util_timer_cb cb;
};

typedef struct util_wheel {
    uv_timer_t tick;
    uint64_t base_ms;  /* uv_now at init */
    uint64_t now_tick; /* last tick processed */
    uint32_t tick_ms;
    uint32_t count; /* armed entries */
    util_timer slots[UTIL_WHEEL_SLOTS];
} util_wheel;

UTIL_MUST_USE int util_wheel_init(uv_loop_t *loop, util_wheel *w, uint32_t tick_ms);
/* Stops everything; close_cb (may be NULL) runs when the libuv timer is closed. */
void util_wheel_close(util_wheel *w, uv_close_cb close_cb);

static inline void util_timer_init(util_timer *t) {
    t->next = t->prev = NULL;
    t->cb = NULL;
}
/* Arms t to call cb once after ms milliseconds; re-arms it if already armed. */
void util_timer_start(util_wheel *w, util_timer *t, uint64_t ms, util_timer_cb cb);
void util_timer_stop(util_wheel *w, util_timer *t);
static inline int util_timer_active(const util_timer *t) {
    return t->next != NULL;
}

#endif
