/* tests/unit/test_redis_conn.c - the Redis adapter's connections against a
 * real redis-server (Debian's, started here on a free loopback port): URLs,
 * publish and (p)subscribe with binary data, commands, Redis killed and
 * restarted (down reported once, commands refused, resubscribed when it is
 * back), a start while Redis is down, closing from inside a callback, and the
 * bound on unwritten output while Redis is stopped.
 */
#include "adapter/redis_conn.h"
#include "check.h"
#include "redis_server.h"
#include "socketio/common.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uv_loop_t *loop;

/* ---- the loop --------------------------------------------------------------------------- */

static void loop_timeout(uv_timer_t *t) {
    *(bool *)t->data = true;
}

/* Runs the loop until *flag or ms pass; returns *flag. */
static bool run_until(const bool *flag, uint64_t ms) {
    bool expired = false;
    uv_timer_t t;
    uv_timer_init(loop, &t);
    t.data = &expired;
    uv_timer_start(&t, loop_timeout, ms, 0);
    while (!*flag && !expired) uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return *flag;
}

/* ---- what a connection reports --------------------------------------------------------- */

typedef struct seen {
    bool up, went_down, closed, got, numsub_done;
    int ups, downs;
    int messages;
    char channel[64];
    char data[64];
    size_t data_len;
    long long numsub;
    redis_conn *close_from_message; /* close c from the message callback */
} seen;

static void closed_cb(void *ud);

static void on_message(const char *channel, size_t channel_len, const char *data, size_t len,
                       void *ud) {
    seen *s = ud;
    s->messages++;
    s->got = true;
    snprintf(s->channel, sizeof s->channel, "%.*s", (int)channel_len, channel);
    s->data_len = len < sizeof s->data ? len : sizeof s->data;
    memcpy(s->data, data, s->data_len);
    if (s->close_from_message) {
        redis_conn *c = s->close_from_message;
        s->close_from_message = NULL;
        redis_conn_close(c, closed_cb, s);
    }
}

static void on_state(bool up, void *ud) {
    seen *s = ud;
    s->up = up;
    if (up)
        s->ups++;
    else {
        s->downs++;
        s->went_down = true;
    }
}

static void closed_cb(void *ud) {
    ((seen *)ud)->closed = true;
}

static void on_numsub(const redisReply *r, void *ud) {
    seen *s = ud;
    s->numsub = -1;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER)
        s->numsub = r->element[1]->integer;
    s->numsub_done = true;
}

/* PUBSUB NUMSUB channel, through the connection: the count, or -1. */
static long long numsub(redis_conn *c, seen *s, const char *channel) {
    const char *argv[3] = {"PUBSUB", "NUMSUB", channel};
    size_t lens[3] = {6, 6, strlen(channel)};
    s->numsub_done = false;
    if (redis_conn_command(c, 3, argv, lens, on_numsub, s) != 0) return -2;
    if (!run_until(&s->numsub_done, 3000)) return -3;
    return s->numsub;
}

/* Waits (5 s at most) until Redis counts the subscriber on channel. */
static bool wait_subscribed(redis_conn *c, seen *s, const char *channel) {
    for (int i = 0; i < 100; i++) {
        if (numsub(c, s, channel) == 1) return true;
        bool never = false;
        run_until(&never, 50);
    }
    return false;
}

static redis_conn *connect_to(int port, seen *s) {
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    redis_conn_options o;
    redis_conn_options_init(&o);
    o.url = url;
    o.retry_min_ms = 20;
    o.retry_max_ms = 200;
    return redis_conn_new(loop, &o, on_message, on_state, s);
}

static void close_and_wait(redis_conn *c, seen *s) {
    redis_conn_close(c, closed_cb, s);
    run_until(&s->closed, 3000);
}

/* ---- cases ------------------------------------------------------------------------------ */

static void test_url(void) {
    redis_url u;
    CHECK_INT(redis_url_parse("redis://127.0.0.1:6380/2", &u), 0);
    CHECK_STR(u.host, "127.0.0.1");
    CHECK_INT(u.port, 6380);
    CHECK_INT(u.db, 2);
    CHECK(u.user == NULL && u.password == NULL);
    redis_url_free(&u);
    CHECK_INT(redis_url_parse("redis://localhost", &u), 0);
    CHECK_STR(u.host, "localhost");
    CHECK_INT(u.port, 6379);
    CHECK_INT(u.db, 0);
    redis_url_free(&u);
    CHECK_INT(redis_url_parse("redis://:s3cr@t@h:1/", &u), 0);
    CHECK(u.user == NULL);
    CHECK_STR(u.password, "s3cr@t");
    CHECK_STR(u.host, "h");
    CHECK_INT(u.port, 1);
    redis_url_free(&u);
    CHECK_INT(redis_url_parse("redis://me:pw@[::1]:7000/15", &u), 0);
    CHECK_STR(u.user, "me");
    CHECK_STR(u.password, "pw");
    CHECK_STR(u.host, "::1");
    CHECK_INT(u.port, 7000);
    CHECK_INT(u.db, 15);
    redis_url_free(&u);
    static const char *const bad[] = {
        "",
        "http://h",
        "redis://",
        "redis://h:0",
        "redis://h:70000",
        "redis://h:",
        "redis://h:12a",
        "redis://u@h",
        "redis://h/x",
        "redis://[::1",
        "redis://[::1]x",
        "redis://h h",
        "redis://:pw@",
        "redis://h:1/-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (redis_url_parse(bad[i], &u) != SIO_EINVAL) {
            fprintf(stderr, "accepted: %s\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(redis_url_parse(NULL, &u) == SIO_EINVAL);
    redis_conn_options o;
    redis_conn_options_init(&o);
    o.url = "redis://h:99999";
    seen s = {0};
    CHECK(redis_conn_new(loop, &o, on_message, on_state, &s) == NULL);
}

static void test_pubsub(void) {
    int port = free_port();
    pid_t redis = redis_start(port);
    CHECK(redis > 0);
    seen s = {0};
    redis_conn *c = connect_to(port, &s);
    CHECK(c != NULL);
    CHECK(redis_conn_subscribe(c, "socket.io#/chat#*", true) == 0); /* a pattern */
    CHECK(redis_conn_subscribe(c, "socket.io-request#/chat#", false) == 0);
    if (!run_until(&s.up, 5000)) {
        close_and_wait(c, &s);
        redis_stop(redis);
        CHECK(!"never up");
    }
    CHECK(redis_conn_up(c));
    /* a plain subscription counts in NUMSUB (how nodes count each other), a pattern does not */
    bool subscribed = wait_subscribed(c, &s, "socket.io-request#/chat#");
    long long patterns = numsub(c, &s, "socket.io#/chat#*");
    static const char bin[] = {'\x93', '\0', 'a', '\xff', '\0'};
    int r1 = redis_conn_publish(c, "socket.io-request#/chat#", 24, "{\"type\":1}", 10);
    s.got = false;
    run_until(&s.got, 3000);
    char ch1[64], d1[64];
    snprintf(ch1, sizeof ch1, "%s", s.channel);
    snprintf(d1, sizeof d1, "%.*s", (int)s.data_len, s.data);
    /* a subscription added while up is sent at once */
    CHECK(redis_conn_subscribe(c, "socket.io-response#/chat#", false) == 0);
    bool subscribed2 = wait_subscribed(c, &s, "socket.io-response#/chat#");
    int r2 = redis_conn_publish(c, "socket.io#/chat#room#", 21, bin, sizeof bin);
    s.got = false;
    run_until(&s.got, 3000);
    int messages = s.messages;
    close_and_wait(c, &s);
    redis_stop(redis);
    CHECK(subscribed);
    CHECK(subscribed2);
    CHECK_INT(patterns, 0);
    CHECK_INT(r1, 0);
    CHECK_STR(ch1, "socket.io-request#/chat#");
    CHECK_STR(d1, "{\"type\":1}");
    CHECK_INT(r2, 0);
    CHECK_STR(s.channel, "socket.io#/chat#room#");
    CHECK_INT(s.data_len, sizeof bin);
    CHECK(memcmp(s.data, bin, sizeof bin) == 0);
    CHECK_INT(messages, 2);
    CHECK(s.closed);
    CHECK_INT(s.ups, 1);
}

static void test_restart(void) {
    int port = free_port();
    pid_t redis = redis_start(port);
    CHECK(redis > 0);
    seen s = {0};
    redis_conn *c = connect_to(port, &s);
    CHECK(redis_conn_subscribe(c, "req", false) == 0);
    bool up = run_until(&s.up, 5000) && wait_subscribed(c, &s, "req");
    redis_stop(redis);
    bool down = run_until(&s.went_down, 5000);
    int pub_down = redis_conn_publish(c, "req", 3, "x", 1);
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    int cmd_down = redis_conn_command(c, 1, argv, lens, on_numsub, &s);
    /* a few retries fail meanwhile: still one down report */
    bool never = false;
    run_until(&never, 300);
    int downs = s.downs;
    redis = redis_start(port);
    bool back = redis > 0 && run_until(&s.up, 5000) && wait_subscribed(c, &s, "req");
    s.got = false;
    int pub_back = redis_conn_publish(c, "req", 3, "again", 5);
    run_until(&s.got, 3000);
    close_and_wait(c, &s);
    redis_stop(redis);
    CHECK(up);
    CHECK(down);
    CHECK_INT(pub_down, SIO_ECLOSED);
    CHECK_INT(cmd_down, SIO_ECLOSED);
    CHECK_INT(downs, 1);
    CHECK(back);
    CHECK_INT(pub_back, 0);
    CHECK_INT(s.data_len, 5);
    CHECK(memcmp(s.data, "again", 5) == 0);
    CHECK_INT(s.ups, 2);
    CHECK(s.closed);
}

static void test_start_while_down(void) {
    int port = free_port();
    seen s = {0};
    redis_conn *c = connect_to(port, &s);
    CHECK(c != NULL);
    bool never = false;
    run_until(&never, 300);
    bool early = s.up;
    pid_t redis = redis_start(port);
    bool up = redis > 0 && run_until(&s.up, 5000);
    close_and_wait(c, &s);
    redis_stop(redis);
    CHECK(!early);
    CHECK(up);
    CHECK(s.closed);
}

static void test_close_from_callback(void) {
    int port = free_port();
    pid_t redis = redis_start(port);
    CHECK(redis > 0);
    seen s = {0};
    redis_conn *c = connect_to(port, &s);
    CHECK(redis_conn_subscribe(c, "ch", false) == 0);
    bool up = run_until(&s.up, 5000) && wait_subscribed(c, &s, "ch");
    s.close_from_message = c;
    int r1 = redis_conn_publish(c, "ch", 2, "1", 1);
    int r2 = redis_conn_publish(c, "ch", 2, "2", 1); /* arrives in the same read, maybe */
    run_until(&s.closed, 3000);
    redis_stop(redis);
    CHECK(up);
    CHECK_INT(r1, 0);
    CHECK_INT(r2, 0);
    CHECK(s.closed);
    CHECK_INT(s.messages, 1); /* nothing after the close */
}

static void test_pending_bound(void) {
    int port = free_port();
    pid_t redis = redis_start(port);
    CHECK(redis > 0);
    seen s = {0};
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    redis_conn_options o;
    redis_conn_options_init(&o);
    o.url = url;
    o.max_pending_bytes = 1 << 20;
    redis_conn *c = redis_conn_new(loop, &o, on_message, on_state, &s);
    bool up = run_until(&s.up, 5000);
    kill(redis, SIGSTOP); /* Redis stops reading: the kernel's buffers fill, then hiredis's */
    static char chunk[64 * 1024];
    int r = 0, sent = 0;
    for (int i = 0; i < 4000 && r == 0; i++) { /* 250 MiB at most */
        r = redis_conn_publish(c, "big", 3, chunk, sizeof chunk);
        if (r == 0) sent++;
        uv_run(loop, UV_RUN_NOWAIT);
    }
    kill(redis, SIGCONT);
    close_and_wait(c, &s);
    redis_stop(redis);
    CHECK(up);
    CHECK_INT(r, SIO_EBUSY);
    CHECK(sent > 16); /* the bound is on hiredis's buffer, not on the first bytes */
    CHECK(s.closed);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    RUN(test_url);
    RUN(test_pubsub);
    RUN(test_restart);
    RUN(test_start_while_down);
    RUN(test_close_from_callback);
    RUN(test_pending_bound);
    uv_run(loop, UV_RUN_NOWAIT);
    if (uv_loop_close(loop) != 0) {
        fprintf(stderr, "handles left open on the loop\n");
        return 1;
    }
    return CHECK_DONE();
}
