/* util/timer_wheel.c - the hashed timer wheel (see timer_wheel.h).
 *
 * Slot i holds every entry whose due tick is congruent to i; entries more than
 * one turn away stay in their slot until their turn comes. Each tick the due
 * slot is detached into a local list first, so callbacks may start and stop
 * any timer, including ones in that list, while it is walked.
 */
#include "util/timer_wheel.h"

static uint64_t wheel_current_tick(util_wheel *w) {
    return (uv_now(w->tick.loop) - w->base_ms) / w->tick_ms;
}

static void list_init(util_timer *head) {
    head->next = head->prev = head;
}

static void list_insert(util_timer *head, util_timer *t) {
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

static void list_remove(util_timer *t) {
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
}

static void wheel_tick_cb(uv_timer_t *handle) {
    util_wheel *w = handle->data;
    uint64_t target = wheel_current_tick(w);
    while (w->now_tick < target && w->count > 0) {
        w->now_tick++;
        util_timer *slot = &w->slots[w->now_tick % UTIL_WHEEL_SLOTS];
        if (slot->next == slot) continue;
        util_timer pending;
        list_init(&pending);
        /* move the whole slot into `pending` */
        pending.next = slot->next;
        pending.prev = slot->prev;
        pending.next->prev = &pending;
        pending.prev->next = &pending;
        list_init(slot);
        while (pending.next != &pending) {
            util_timer *t = pending.next;
            list_remove(t);
            if (t->due_tick <= w->now_tick) {
                w->count--;
                t->cb(t);
            } else {
                list_insert(&w->slots[t->due_tick % UTIL_WHEEL_SLOTS], t);
            }
        }
    }
    if (w->count == 0) uv_timer_stop(&w->tick);
}

int util_wheel_init(uv_loop_t *loop, util_wheel *w, uint32_t tick_ms) {
    int r = uv_timer_init(loop, &w->tick);
    if (r) return r;
    uv_unref((uv_handle_t *)&w->tick);
    w->tick.data = w;
    w->tick_ms = tick_ms ? tick_ms : 10;
    w->base_ms = uv_now(loop);
    w->now_tick = 0;
    w->count = 0;
    for (int i = 0; i < UTIL_WHEEL_SLOTS; i++) list_init(&w->slots[i]);
    return 0;
}

void util_wheel_close(util_wheel *w, uv_close_cb close_cb) {
    for (int i = 0; i < UTIL_WHEEL_SLOTS; i++) {
        util_timer *slot = &w->slots[i];
        while (slot->next != slot) list_remove(slot->next);
    }
    w->count = 0;
    uv_close((uv_handle_t *)&w->tick, close_cb);
}

void util_timer_start(util_wheel *w, util_timer *t, uint64_t ms, util_timer_cb cb) {
    if (t->next) util_timer_stop(w, t);
    uint64_t now = wheel_current_tick(w);
    if (w->count == 0) w->now_tick = now;
    /* `now` is the tick we are inside of, up to one tick ago: one more tick
     * than the delay rounded up makes the deadline never early */
    uint64_t ticks = (ms + w->tick_ms - 1) / w->tick_ms + 1;
    t->due_tick = now + ticks;
    if (t->due_tick <= w->now_tick) t->due_tick = w->now_tick + 1;
    t->cb = cb;
    list_insert(&w->slots[t->due_tick % UTIL_WHEEL_SLOTS], t);
    if (w->count++ == 0) uv_timer_start(&w->tick, wheel_tick_cb, w->tick_ms, w->tick_ms);
}

void util_timer_stop(util_wheel *w, util_timer *t) {
    if (!t->next) return;
    list_remove(t);
    if (--w->count == 0) uv_timer_stop(&w->tick);
}
