/* adapter/redis_conn.c - owns the two Redis connections of the Redis adapter
 * (see redis_conn.h): each one's connect, retry and teardown over hiredis's
 * async API on the libuv loop, the remembered subscriptions, and the bound on
 * the publisher's unwritten output.
 *
 * A link (one connection) goes DOWN -> RESOLVING -> CONNECTING -> UP and back
 * to DOWN on any failure, where its timer brings it round again after the
 * backoff. hiredis frees a context itself after its connect callback reports
 * a failure and after its disconnect callback; the link forgets the context
 * there. Closing is deferred to a timer tick so that it never frees a context
 * from inside one of hiredis's callbacks.
 */
#include "adapter/redis_conn.h"

#include "socketio/common.h"
#include "util/log.h"
#include "util/random.h"
#include "util/vec.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/sds.h>
#include <stdlib.h>
#include <string.h>

enum link_state { L_DOWN, L_RESOLVING, L_CONNECTING, L_UP };

typedef struct redis_link {
    redis_conn *conn;
    redisAsyncContext *ac;
    uv_timer_t timer; /* connect timeout, then the retry backoff */
    uv_getaddrinfo_t gai;
    unsigned attempts; /* failures since the last success */
    uint8_t state;
    bool subscriber;
    bool resolving; /* gai in flight (also while closing: its callback still comes) */
} redis_link;

typedef struct redis_sub {
    char *name;
    bool pattern;
} redis_sub;

typedef struct redis_cmd {
    redis_reply_cb cb;
    void *ud;
} redis_cmd;

struct redis_conn {
    uv_loop_t *loop;
    redis_url url;
    redis_conn_options opts;
    redis_link pub, sub;
    UTIL_VEC(redis_sub) subs;
    redis_message_cb on_message;
    redis_state_cb on_state;
    void *ud;
    bool up;          /* both links up, as last reported */
    bool ever_up;     /* for the log: "cannot connect" vs "lost" */
    bool down_logged; /* one line per outage */
    bool closing;
    unsigned open_handles; /* timers not closed yet, gai in flight */
    redis_closed_cb done;
    void *done_ud;
};

void redis_conn_options_init(redis_conn_options *o) {
    memset(o, 0, sizeof *o);
    o->connect_timeout_ms = 5000;
    o->retry_min_ms = 100;
    o->retry_max_ms = 5000;
    o->max_pending_bytes = (size_t)64 << 20;
}

/* ---- hiredis on libuv ------------------------------------------------------------------ */

/* hiredis asks for read and write readiness on its socket; a uv_poll_t
 * watches it. An error from the poll (a refused connect shows up so) is passed
 * on as readiness: hiredis then reads the socket's error and fails the
 * connect or drops the connection, instead of waiting for an event that
 * never comes. */
typedef struct redis_poll {
    uv_poll_t handle;
    redisAsyncContext *ac; /* NULL once hiredis is done with it */
    int events;
} redis_poll;

static void poll_ready(uv_poll_t *h, int status, int events) {
    redis_poll *p = h->data;
    if (status < 0) events = p->events; /* let hiredis find the error */
    if (p->ac && (events & UV_READABLE)) redisAsyncHandleRead(p->ac);
    if (p->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(p->ac);
}

static void poll_update(redis_poll *p, int add, int del) {
    p->events = (p->events | add) & ~del;
    if (p->events)
        uv_poll_start(&p->handle, p->events, poll_ready);
    else
        uv_poll_stop(&p->handle);
}

static void poll_add_read(void *d) {
    poll_update(d, UV_READABLE, 0);
}
static void poll_del_read(void *d) {
    poll_update(d, 0, UV_READABLE);
}
static void poll_add_write(void *d) {
    poll_update(d, UV_WRITABLE, 0);
}
static void poll_del_write(void *d) {
    poll_update(d, 0, UV_WRITABLE);
}

static void poll_closed(uv_handle_t *h) {
    free(h->data);
}

static void poll_cleanup(void *d) {
    redis_poll *p = d;
    p->ac = NULL;
    uv_close((uv_handle_t *)&p->handle, poll_closed);
}

static int poll_attach(redisAsyncContext *ac, uv_loop_t *loop) {
    redis_poll *p = calloc(1, sizeof *p);
    if (!p) return -1;
    if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
        free(p);
        return -1;
    }
    p->handle.data = p;
    p->ac = ac;
    ac->ev.data = p;
    ac->ev.addRead = poll_add_read;
    ac->ev.delRead = poll_del_read;
    ac->ev.addWrite = poll_add_write;
    ac->ev.delWrite = poll_del_write;
    ac->ev.cleanup = poll_cleanup;
    return 0;
}

/* ---- state -------------------------------------------------------------------------------- */

static void report_state(redis_conn *c) {
    bool up = c->pub.state == L_UP && c->sub.state == L_UP;
    if (up == c->up || c->closing) return;
    c->up = up;
    if (up) {
        LOG_INFO("redis", "connected to %s:%d", c->url.host, c->url.port);
        c->ever_up = true;
        c->down_logged = false;
    }
    if (c->on_state) c->on_state(up, c->ud);
}

static void link_connect(redis_link *l);

static void retry_due(uv_timer_t *t) {
    redis_link *l = t->data;
    if (l->state == L_DOWN && !l->conn->closing) link_connect(l);
}

/* The link is down (its context, if any, is gone or going): report it, log
 * once per outage, and try again after the backoff. */
static void link_failed(redis_link *l, const char *why) {
    redis_conn *c = l->conn;
    l->ac = NULL;
    l->state = L_DOWN;
    if (c->closing) return;
    if (!c->down_logged) {
        c->down_logged = true;
        if (c->ever_up)
            LOG_WARN("redis", "connection to %s:%d lost (%s); reconnecting", c->url.host,
                     c->url.port, why);
        else
            LOG_WARN("redis", "cannot connect to %s:%d (%s); retrying", c->url.host, c->url.port,
                     why);
    }
    report_state(c);
    unsigned shift = l->attempts < 16 ? l->attempts : 16;
    uint64_t delay = (uint64_t)c->opts.retry_min_ms << shift;
    if (delay > c->opts.retry_max_ms) delay = c->opts.retry_max_ms;
    uint8_t r = 0;
    if (util_random_bytes(&r, 1) == 0) delay += delay * r / 1024; /* up to +25% */
    l->attempts++;
    uv_timer_start(&l->timer, retry_due, delay, 0);
}

/* ---- subscriber ------------------------------------------------------------------------- */

static void on_sub_reply(redisAsyncContext *ac, void *r, void *privdata) {
    redisReply *reply = r;
    redis_conn *c = privdata;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || c->closing) return;
    /* ["message", channel, data] or ["pmessage", pattern, channel, data];
     * the (p)subscribe confirmations come here too */
    redisReply **e = reply->element;
    if (reply->elements == 3 && e[0]->type == REDIS_REPLY_STRING &&
        strcmp(e[0]->str, "message") == 0 && e[1]->type == REDIS_REPLY_STRING &&
        e[2]->type == REDIS_REPLY_STRING) {
        c->on_message(e[1]->str, e[1]->len, e[2]->str, e[2]->len, c->ud);
    } else if (reply->elements == 4 && e[0]->type == REDIS_REPLY_STRING &&
               strcmp(e[0]->str, "pmessage") == 0 && e[2]->type == REDIS_REPLY_STRING &&
               e[3]->type == REDIS_REPLY_STRING) {
        c->on_message(e[2]->str, e[2]->len, e[3]->str, e[3]->len, c->ud);
    }
}

static int send_subscription(redis_conn *c, const redis_sub *s, bool subscribe) {
    const char *verb = s->pattern ? (subscribe ? "PSUBSCRIBE" : "PUNSUBSCRIBE")
                                  : (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
    const char *argv[2] = {verb, s->name};
    size_t lens[2] = {strlen(verb), strlen(s->name)};
    return redisAsyncCommandArgv(c->sub.ac, subscribe ? on_sub_reply : NULL, c, 2, argv, lens) ==
                   REDIS_OK
               ? 0
               : SIO_ENOMEM;
}

/* ---- connecting ---------------------------------------------------------------------------- */

static void on_hello_reply(redisAsyncContext *ac, void *r, void *privdata) {
    redisReply *reply = r;
    redis_link *l = privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR && l->ac == ac && !l->conn->closing) {
        LOG_WARN("redis", "%s refused: %s", l->subscriber ? "subscriber" : "publisher", reply->str);
        redisAsyncDisconnect(ac); /* the disconnect callback retries */
    }
}

static void on_connect(const redisAsyncContext *cac, int status) {
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    redis_link *l = ac->data;
    redis_conn *c = l->conn;
    uv_timer_stop(&l->timer);
    if (status != REDIS_OK) { /* hiredis frees ac when this returns */
        link_failed(l, ac->errstr ? ac->errstr : "connect failed");
        return;
    }
    if (c->url.password) {
        const char *argv[3] = {"AUTH", c->url.user, c->url.password};
        size_t lens[3] = {4, c->url.user ? strlen(c->url.user) : 0, strlen(c->url.password)};
        if (c->url.user) {
            redisAsyncCommandArgv(ac, on_hello_reply, l, 3, argv, lens);
        } else {
            argv[1] = c->url.password;
            lens[1] = lens[2];
            redisAsyncCommandArgv(ac, on_hello_reply, l, 2, argv, lens);
        }
    }
    if (!l->subscriber && c->url.db) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", c->url.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        redisAsyncCommandArgv(ac, on_hello_reply, l, 2, argv, lens);
    }
    if (l->subscriber) {
        for (uint32_t i = 0; i < c->subs.len; i++) {
            if (send_subscription(c, &c->subs.items[i], true) != 0) {
                redisAsyncDisconnect(ac);
                return;
            }
        }
    }
    l->state = L_UP;
    l->attempts = 0;
    report_state(c);
}

static void on_disconnect(const redisAsyncContext *cac, int status) {
    redis_link *l = cac->data;
    if (l->ac != cac) return; /* a context the link already gave up */
    link_failed(l, cac->errstr && cac->err ? cac->errstr : "connection closed");
}

static void connect_timed_out(uv_timer_t *t) {
    redis_link *l = t->data;
    if (l->state != L_CONNECTING || !l->ac) return;
    redisAsyncContext *ac = l->ac;
    l->ac = NULL; /* so that no callback of its free counts as this link's */
    redisAsyncFree(ac);
    link_failed(l, "connect timed out");
}

static void connect_to(redis_link *l, const char *ip) {
    redis_conn *c = l->conn;
    redisAsyncContext *ac = redisAsyncConnect(ip, c->url.port);
    if (!ac || ac->err) {
        const char *why = ac && ac->errstr ? ac->errstr : "out of memory";
        char msg[128];
        snprintf(msg, sizeof msg, "%s", why);
        if (ac) redisAsyncFree(ac);
        link_failed(l, msg);
        return;
    }
    ac->data = l;
    if (poll_attach(ac, c->loop) != 0) {
        redisAsyncFree(ac);
        link_failed(l, "out of memory");
        return;
    }
    l->ac = ac;
    l->state = L_CONNECTING;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    uv_timer_start(&l->timer, connect_timed_out, c->opts.connect_timeout_ms, 0);
}

static void maybe_closed(redis_conn *c);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    redis_link *l = req->data;
    redis_conn *c = l->conn;
    l->resolving = false;
    if (c->closing) {
        if (res) uv_freeaddrinfo(res);
        c->open_handles--;
        maybe_closed(c);
        return;
    }
    c->open_handles--;
    char ip[INET6_ADDRSTRLEN] = "";
    if (status == 0 && res) {
        if (res->ai_family == AF_INET6)
            uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, ip, sizeof ip);
        else
            uv_ip4_name((const struct sockaddr_in *)res->ai_addr, ip, sizeof ip);
    }
    if (res) uv_freeaddrinfo(res);
    if (!ip[0]) {
        link_failed(l, status ? uv_strerror(status) : "no address");
        return;
    }
    connect_to(l, ip);
}

static void link_connect(redis_link *l) {
    redis_conn *c = l->conn;
    unsigned char probe[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, c->url.host, probe) == 1 ||
        inet_pton(AF_INET6, c->url.host, probe) == 1) {
        connect_to(l, c->url.host);
        return;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    l->state = L_RESOLVING;
    l->gai.data = l;
    int r = uv_getaddrinfo(c->loop, &l->gai, on_resolved, c->url.host, NULL, &hints);
    if (r != 0) {
        link_failed(l, uv_strerror(r));
        return;
    }
    l->resolving = true;
    c->open_handles++;
}

/* ---- the public calls -------------------------------------------------------------------- */

redis_conn *redis_conn_new(uv_loop_t *loop, const redis_conn_options *o,
                           redis_message_cb on_message, redis_state_cb on_state, void *userdata) {
    redis_conn *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (redis_url_parse(o->url, &c->url) != 0) {
        LOG_ERROR("redis", "malformed Redis URL (redis://[[user]:password@]host[:port][/db])");
        free(c);
        return NULL;
    }
    c->loop = loop;
    c->opts = *o;
    c->opts.url = NULL; /* parsed: not kept */
    if (!c->opts.retry_min_ms) c->opts.retry_min_ms = 1;
    if (c->opts.retry_max_ms < c->opts.retry_min_ms) c->opts.retry_max_ms = c->opts.retry_min_ms;
    if (!c->opts.connect_timeout_ms) c->opts.connect_timeout_ms = 5000;
    c->on_message = on_message;
    c->on_state = on_state;
    c->ud = userdata;
    redis_link *links[2] = {&c->pub, &c->sub};
    for (int i = 0; i < 2; i++) {
        links[i]->conn = c;
        links[i]->subscriber = i == 1;
        uv_timer_init(loop, &links[i]->timer);
        links[i]->timer.data = links[i];
        c->open_handles++;
    }
    link_connect(&c->pub);
    link_connect(&c->sub);
    return c;
}

bool redis_conn_up(const redis_conn *c) {
    return c->up;
}

int redis_conn_subscribe(redis_conn *c, const char *channel, bool pattern) {
    redis_sub s = {strdup(channel), pattern};
    if (!s.name) return SIO_ENOMEM;
    if (util_vec_push(&c->subs, s) != 0) {
        free(s.name);
        return SIO_ENOMEM;
    }
    if (c->sub.state == L_UP && send_subscription(c, &s, true) != 0) {
        redisAsyncDisconnect(c->sub.ac); /* the reconnect sends the whole list */
    }
    return 0;
}

int redis_conn_unsubscribe(redis_conn *c, const char *channel, bool pattern) {
    for (uint32_t i = 0; i < c->subs.len; i++) {
        redis_sub *s = &c->subs.items[i];
        if (s->pattern != pattern || strcmp(s->name, channel) != 0) continue;
        if (c->sub.state == L_UP && send_subscription(c, s, false) != 0)
            redisAsyncDisconnect(c->sub.ac);
        free(s->name);
        util_vec_remove(&c->subs, i);
        return 0;
    }
    return SIO_ENOTFOUND;
}

int redis_conn_publish(redis_conn *c, const char *channel, size_t channel_len, const void *data,
                       size_t len) {
    if (c->pub.state != L_UP || c->closing) return SIO_ECLOSED;
    if (sdslen(c->pub.ac->c.obuf) + len > c->opts.max_pending_bytes) return SIO_EBUSY;
    const char *argv[3] = {"PUBLISH", channel, data};
    size_t lens[3] = {7, channel_len, len};
    return redisAsyncCommandArgv(c->pub.ac, NULL, NULL, 3, argv, lens) == REDIS_OK ? 0 : SIO_ENOMEM;
}

static void on_command_reply(redisAsyncContext *ac, void *r, void *privdata) {
    redis_cmd *cmd = privdata;
    redis_reply_cb cb = cmd->cb;
    void *ud = cmd->ud;
    free(cmd);
    cb(r, ud);
}

int redis_conn_command(redis_conn *c, int argc, const char **argv, const size_t *lens,
                       redis_reply_cb cb, void *userdata) {
    if (c->pub.state != L_UP || c->closing) return SIO_ECLOSED;
    redis_cmd *cmd = malloc(sizeof *cmd);
    if (!cmd) return SIO_ENOMEM;
    cmd->cb = cb;
    cmd->ud = userdata;
    if (redisAsyncCommandArgv(c->pub.ac, on_command_reply, cmd, argc, argv, lens) != REDIS_OK) {
        free(cmd);
        return SIO_ENOMEM;
    }
    return 0;
}

/* ---- closing ------------------------------------------------------------------------------ */

static void maybe_closed(redis_conn *c) {
    if (c->open_handles) return;
    redis_closed_cb done = c->done;
    void *ud = c->done_ud;
    for (uint32_t i = 0; i < c->subs.len; i++) free(c->subs.items[i].name);
    util_vec_free(&c->subs);
    redis_url_free(&c->url);
    free(c);
    if (done) done(ud);
}

static void timer_closed(uv_handle_t *h) {
    redis_link *l = h->data;
    redis_conn *c = l->conn;
    c->open_handles--;
    maybe_closed(c);
}

/* Runs from the loop, outside hiredis's callbacks: frees the contexts (their
 * pending callbacks get NULL replies; the libuv glue closes its poll handles
 * before the timers below close, so done comes after them) and closes. */
static void close_now(uv_timer_t *t) {
    redis_link *l = t->data;
    redis_conn *c = l->conn;
    redis_link *links[2] = {&c->pub, &c->sub};
    for (int i = 0; i < 2; i++) {
        redis_link *k = links[i];
        uv_timer_stop(&k->timer);
        if (k->ac) {
            redisAsyncContext *ac = k->ac;
            k->ac = NULL;
            k->state = L_DOWN;
            redisAsyncFree(ac);
        }
        if (k->resolving) uv_cancel((uv_req_t *)&k->gai);
    }
    for (int i = 0; i < 2; i++) uv_close((uv_handle_t *)&links[i]->timer, timer_closed);
}

void redis_conn_close(redis_conn *c, redis_closed_cb done, void *userdata) {
    if (c->closing) return;
    c->closing = true;
    c->done = done;
    c->done_ud = userdata;
    uv_timer_stop(&c->sub.timer);
    uv_timer_start(&c->pub.timer, close_now, 0, 0);
}
