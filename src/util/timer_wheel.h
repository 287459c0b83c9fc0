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

#include <stdint.h>
#include <uv.h>

#define SIO_WHEEL_SLOTS 4096
/* The tick every layer's wheel uses: deadlines (heartbeats, timeouts) fire
 * within two ticks after they pass. */
#define SIO_WHEEL_TICK_MS 10

typedef struct sio_timer sio_timer;
typedef void (*sio_timer_cb)(sio_timer *t);

struct sio_timer {
    sio_timer *next, *prev; /* NULL when not armed */
    uint64_t due_tick;
    sio_timer_cb cb;
};

typedef struct sio_wheel {
    uv_timer_t tick;
    uint64_t base_ms;  /* uv_now at init */
    uint64_t now_tick; /* last tick processed */
    uint32_t tick_ms;
    uint32_t count; /* armed entries */
    sio_timer slots[SIO_WHEEL_SLOTS];
} sio_wheel;

int sio_wheel_init(uv_loop_t *loop, sio_wheel *w, uint32_t tick_ms);
/* Stops everything; close_cb (may be NULL) runs when the libuv timer is closed. */
void sio_wheel_close(sio_wheel *w, uv_close_cb close_cb);

static inline void sio_timer_init(sio_timer *t) {
    t->next = t->prev = NULL;
    t->cb = NULL;
}
/* Arms t to call cb once after ms milliseconds; re-arms it if already armed. */
void sio_timer_start(sio_wheel *w, sio_timer *t, uint64_t ms, sio_timer_cb cb);
void sio_timer_stop(sio_wheel *w, sio_timer *t);
static inline int sio_timer_active(const sio_timer *t) {
    return t->next != NULL;
}

#endif
