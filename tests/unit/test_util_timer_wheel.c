/* Unit tests of util/timer_wheel: timers fire in order, never early, and a
 * callback may stop another timer due in the same tick. */
#include "check.h"
#include "util/timer_wheel.h"

#include <stdint.h>
#include <string.h>

struct wheel_probe {
    util_timer t;
    uint64_t started;
    uint64_t fired_at;
    int fired;
};

static uv_loop_t wheel_loop;
static util_wheel wheel;

static void probe_cb(util_timer *t) {
    struct wheel_probe *p = (struct wheel_probe *)t;
    p->fired++;
    p->fired_at = uv_now(&wheel_loop);
}

static void guard_fire(uv_timer_t *t) {
    uv_timer_stop(t);
}

static void stop_other_cb(util_timer *t) {
    struct wheel_probe *p = (struct wheel_probe *)t;
    p->fired++;
    util_timer_stop(&wheel, (util_timer *)(p + 1)); /* the next probe in the array */
}

static void test_timer_wheel_fires_in_order_never_early(void) {
    uv_loop_init(&wheel_loop);
    CHECK_INT(util_wheel_init(&wheel_loop, &wheel, 10), 0);
    struct wheel_probe p[5];
    uint64_t delays[5] = {5, 30, 120, 50, 45000 /* more than one turn: stopped below */};
    for (int i = 0; i < 5; i++) {
        memset(&p[i], 0, sizeof p[i]);
        util_timer_init(&p[i].t);
        p[i].started = uv_now(&wheel_loop);
        util_timer_start(&wheel, &p[i].t, delays[i], probe_cb);
    }
    CHECK_INT(wheel.count, 5);
    util_timer_stop(&wheel, &p[4].t);
    CHECK(!util_timer_active(&p[4].t));
    /* wheel's libuv timer is unref'd; keep the loop alive with a guard timer */
    uv_timer_t guard;
    uv_timer_init(&wheel_loop, &guard);
    uv_timer_start(&guard, guard_fire, 400, 0);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    for (int i = 0; i < 4; i++) {
        CHECK_INT(p[i].fired, 1);
        CHECK(p[i].fired_at - p[i].started >= delays[i]);
    }
    CHECK_INT(p[4].fired, 0);
    CHECK_INT(wheel.count, 0);

    /* a callback that stops a timer due in the same tick */
    struct wheel_probe q[2];
    memset(q, 0, sizeof q);
    util_timer_init(&q[0].t);
    util_timer_init(&q[1].t);
    util_timer_start(&wheel, &q[0].t, 20, stop_other_cb);
    util_timer_start(&wheel, &q[1].t, 20, probe_cb);
    uv_timer_start(&guard, guard_fire, 100, 0);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    CHECK_INT(q[0].fired, 1);
    CHECK_INT(q[1].fired, 0);

    uv_close((uv_handle_t *)&guard, NULL);
    util_wheel_close(&wheel, NULL);
    uv_run(&wheel_loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&wheel_loop), 0);
}

int main(void) {
    RUN(test_timer_wheel_fires_in_order_never_early);
    return CHECK_DONE();
}
