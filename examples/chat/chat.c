/* examples/chat/chat.c - the chat's Socket.IO handlers on namespace /chat
 * (the protocol is examples/chat/PROTOCOL.md).
 *
 * This is the C counterpart of the original Python app's
 *     @sio.on('msg_to_server', namespace='/chat')
 *     async def msg_to_server(sid, data): ...
 * Every handler checks its input (names, rooms, text, rate), answers through
 * the acknowledgement, and never trusts the client: text is stored and sent
 * as text, the page renders it as text. Everything a socket sends that
 * reaches a whole room is rate-limited per socket: messages (20 per 10 s),
 * typing and join (app->limits).
 */
#include "chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_CHARS 32
#define TEXT_MAX_CHARS 2000
#define ROOM_MAX 32
#define RATE_COUNT 20
#define RATE_WINDOW_MS 10000
#define HISTORY_LIMIT 50

typedef struct chat_user {
    char name[4 * NAME_MAX_CHARS + 1];
    char room[ROOM_MAX + 1];
    int64_t sent[RATE_COUNT]; /* times of the last messages, a ring */
    unsigned sent_next, sent_count;
    unsigned reads;     /* history reads waiting for the database */
    int64_t typing_tat; /* the rate limits of typing and join (rate_take) */
    int64_t join_tat;
} chat_user;

static chat_app *app;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A token bucket of n tokens refilled over window_ms, kept as one number:
 * the "theoretical arrival time" of the generic cell rate algorithm, in
 * units of 1/n ms so that one event costs exactly window_ms of them. n
 * events pass at once, then one every window_ms / n. Returns 1 and takes a
 * token, or 0 (nothing taken) when the bucket is empty. */
static int rate_take(int64_t *tat, uint32_t n, uint32_t window_ms) {
    int64_t now = monotonic_ms() * (int64_t)n;
    int64_t t = *tat > now ? *tat : now;
    if (t + window_ms - now > (int64_t)window_ms * n) return 0;
    *tat = t + window_ms;
    return 1;
}

/* ---- input checks --------------------------------------------------------------------- */

/* Trims ASCII white space in place; returns the new start, sets *len. */
static const char *trim(const char *s, size_t *len) {
    size_t n = *len;
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r')) n--;
    *len = n;
    return s;
}

/* Unicode characters in UTF-8 text (jansson strings are valid UTF-8). */
static size_t utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static int has_control(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return 1;
    return 0;
}

int chat_room_valid(const char *room) {
    size_t n = strlen(room);
    if (n < 1 || n > ROOM_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = room[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return 0;
    }
    return 1;
}

static void ack_error(sio_event *ev, const char *message) {
    json_t *args = json_pack("[{ss}]", "error", message);
    sio_event_ack(ev, args);
    json_decref(args);
}

/* ---- members ------------------------------------------------------------------------- */

static void add_member(sio_socket *s, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    if (u) json_array_append_new(ud, json_string(u->name));
}

static json_t *room_members(const char *room) {
    json_t *names = json_array();
    sio_broadcast_fetch_sockets(sio_broadcast_to(sio_broadcast_new(app->sio, "/chat"), room),
                                add_member, names);
    return names;
}

/* {name, room, ts} to the others in the room */
static void notify_room(sio_socket *s, const char *event, const char *room) {
    chat_user *u = sio_socket_get_data(s);
    json_t *args =
        json_pack("[{ss ss sI}]", "name", u->name, "room", room, "ts", (json_int_t)now_ms());
    sio_broadcast_emit(sio_broadcast_to(sio_socket_broadcast(s), room), event, args);
    json_decref(args);
}

/* ---- connection ------------------------------------------------------------------------- */

static void check_name(sio_socket *s, sio_next *next, void *ud) {
    json_t *auth = sio_socket_auth(s);
    json_t *name = auth ? json_object_get(auth, "name") : NULL;
    if (!json_is_string(name)) {
        sio_next_reject(next, "name required", NULL);
        return;
    }
    size_t len = json_string_length(name);
    const char *n = trim(json_string_value(name), &len);
    size_t chars = utf8_chars(n, len);
    if (chars < 1 || chars > NAME_MAX_CHARS || has_control(n, len) || memchr(n, '\0', len)) {
        sio_next_reject(next, chars == 0 ? "name required" : "name must be 1-32 characters", NULL);
        return;
    }
    chat_user *u = calloc(1, sizeof *u);
    if (!u) {
        sio_next_reject(next, "server busy", NULL);
        return;
    }
    memcpy(u->name, n, len);
    sio_socket_set_data(s, u);
    sio_next_accept(next);
}

static void on_connect(sio_socket *s, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    snprintf(u->room, sizeof u->room, "lobby");
    sio_join(s, u->room);
    fprintf(stderr, "sio-chat: %s connected from %s (%s)\n", u->name, sio_socket_remote_addr(s),
            sio_socket_id(s));
    notify_room(s, "user_joined", u->room);
}

static void on_disconnect(sio_socket *s, const char *reason, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    if (!u) return;
    fprintf(stderr, "sio-chat: %s disconnected (%s)\n", u->name, reason);
    notify_room(s, "user_left", u->room);
    sio_socket_set_data(s, NULL);
    free(u);
}

/* ---- history reads: join and history ----------------------------------------------------------
 *
 * Both answer from the database, off the loop. A socket may have only a few
 * reads waiting: a client that floods join or history gets {error} instead of
 * growing the store's queue without bound.
 */

#define READS_IN_FLIGHT 4

typedef struct read_ctx {
    sio_ack *ack;
    sio_socket *socket;
    int is_join; /* answer {ok, room, history, members}; else {ok, messages} */
    char room[ROOM_MAX + 1];
} read_ctx;

static void read_done(json_t *messages, void *ud) {
    read_ctx *r = ud;
    chat_user *u = sio_socket_get_data(r->socket); /* NULL once disconnected */
    if (u) u->reads--;
    json_t *args;
    if (!messages)
        args = json_pack("[{ss}]", "error", "history unavailable");
    else if (!r->is_join)
        args = json_pack("[{sb sO}]", "ok", 1, "messages", messages);
    else
        args =
            json_pack("[{sb ss sO so}]", "ok", 1, "room", r->room, "history", messages, "members",
                      sio_socket_connected(r->socket) ? room_members(r->room) : json_array());
    sio_ack_send(r->ack, args);
    json_decref(args);
    sio_socket_unref(r->socket);
    free(r);
}

/* Answers ev's acknowledgement with the room's messages after `after`. */
static void start_read(sio_socket *s, sio_event *ev, const char *room, int64_t after, int is_join) {
    chat_user *u = sio_socket_get_data(s);
    if (!sio_event_wants_ack(ev)) return;
    if (u->reads >= READS_IN_FLIGHT) {
        ack_error(ev, "busy: too many history requests");
        return;
    }
    read_ctx *r = calloc(1, sizeof *r);
    if (!r) {
        ack_error(ev, "server busy");
        return;
    }
    r->ack = sio_event_take_ack(ev);
    r->socket = s;
    r->is_join = is_join;
    sio_socket_ref(s);
    snprintf(r->room, sizeof r->room, "%s", room);
    u->reads++;
    if (chat_store_history(app->store, room, after, HISTORY_LIMIT, read_done, r) != 0)
        read_done(NULL, r);
}

static void on_join(sio_socket *s, sio_event *ev, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    json_t *room = sio_event_arg(ev, 0);
    if (!json_is_string(room) || !chat_room_valid(json_string_value(room))) {
        ack_error(ev, "room names are 1-32 characters: a-z, 0-9 and -");
        return;
    }
    if (!rate_take(&u->join_tat, app->limits.join, app->limits.window_ms)) {
        char why[96];
        unsigned n = app->limits.join, secs = app->limits.window_ms / 1000;
        snprintf(why, sizeof why, "rate limit: at most %u join%s in %u second%s", n,
                 n == 1 ? "" : "s", secs, secs == 1 ? "" : "s");
        ack_error(ev, why);
        return;
    }
    const char *r = json_string_value(room);
    if (strcmp(r, u->room) != 0) {
        /* the new room first: past the server's room cap (max_rooms) the
         * join is refused and the user stays where they were */
        int jr = sio_join(s, r);
        if (jr != 0) {
            ack_error(ev, jr == SIO_ETOOBIG ? "too many rooms on the server" : "cannot join");
            return;
        }
        notify_room(s, "user_left", u->room);
        sio_leave(s, u->room);
        snprintf(u->room, sizeof u->room, "%s", r);
        notify_room(s, "user_joined", u->room);
    }
    start_read(s, ev, r, 0, 1);
}

/* history (filling a gap after a reconnection) */
static void on_history(sio_socket *s, sio_event *ev, void *ud) {
    json_t *q = sio_event_arg(ev, 0);
    json_t *room = json_object_get(q, "room");
    json_t *after = json_object_get(q, "after");
    if (!json_is_string(room) || !chat_room_valid(json_string_value(room)) ||
        (after && !json_is_integer(after))) {
        ack_error(ev, "history needs {room, after}");
        return;
    }
    json_int_t a = after ? json_integer_value(after) : 0;
    start_read(s, ev, json_string_value(room), a > 0 ? a : 0, 0);
}

/* ---- messages
 * ------------------------------------------------------------------------------------ */

static int rate_limited(chat_user *u, int64_t now) {
    if (u->sent_count == RATE_COUNT && now - u->sent[u->sent_next] < RATE_WINDOW_MS) return 1;
    u->sent[u->sent_next] = now;
    u->sent_next = (u->sent_next + 1) % RATE_COUNT;
    if (u->sent_count < RATE_COUNT) u->sent_count++;
    return 0;
}

static void on_message(sio_socket *s, sio_event *ev, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    json_t *msg = sio_event_arg(ev, 0);
    json_t *room = json_object_get(msg, "room");
    json_t *text = json_object_get(msg, "text");
    if (!json_is_string(room) || !json_is_string(text)) {
        ack_error(ev, "a message is {room, text}");
        return;
    }
    if (strcmp(json_string_value(room), u->room) != 0) {
        ack_error(ev, "not in room");
        return;
    }
    size_t len = json_string_length(text);
    const char *t = trim(json_string_value(text), &len);
    size_t chars = utf8_chars(t, len);
    if (chars < 1 || chars > TEXT_MAX_CHARS || memchr(t, '\0', len)) {
        ack_error(ev, "text must be 1-2000 characters");
        return;
    }
    int64_t ts = now_ms();
    if (rate_limited(u, ts)) {
        ack_error(ev, "rate limit: at most 20 messages in 10 seconds");
        return;
    }
    char *clean = strndup(t, len);
    int64_t id = chat_store_next_id(app->store);
    if (!clean || chat_store_append(app->store, id, u->room, u->name, clean, ts) != 0) {
        free(clean);
        ack_error(ev, "server busy");
        return;
    }
    json_t *out = json_pack("[{sI ss ss ss sI}]", "id", (json_int_t)id, "room", u->room, "name",
                            u->name, "text", clean, "ts", (json_int_t)ts);
    free(clean);
    sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(app->sio, "/chat"), u->room),
                       "msg_to_client", out);
    json_decref(out);
    json_t *ack = json_pack("[{sb sI sI}]", "ok", 1, "id", (json_int_t)id, "ts", (json_int_t)ts);
    sio_event_ack(ev, ack);
    json_decref(ack);
}

static void on_typing(sio_socket *s, sio_event *ev, void *ud) {
    chat_user *u = sio_socket_get_data(s);
    json_t *q = sio_event_arg(ev, 0);
    json_t *room = json_object_get(q, "room");
    if (!json_is_string(room) || strcmp(json_string_value(room), u->room) != 0) return;
    /* over the limit: dropped without a word, as a lost volatile packet would be */
    if (!rate_take(&u->typing_tat, app->limits.typing, app->limits.window_ms)) return;
    json_t *args = json_pack("[{ss ss sb}]", "name", u->name, "room", u->room, "typing",
                             json_is_true(json_object_get(q, "typing")));
    sio_broadcast_emit(sio_broadcast_volatile(sio_broadcast_to(sio_socket_broadcast(s), u->room)),
                       "typing", args);
    json_decref(args);
}

int chat_register(chat_app *a) {
    app = a;
    if (!a->limits.typing) a->limits.typing = CHAT_TYPING_LIMIT;
    if (!a->limits.join) a->limits.join = CHAT_JOIN_LIMIT;
    if (!a->limits.window_ms) a->limits.window_ms = CHAT_LIMIT_WINDOW_MS;
    int r = 0;
    r |= sio_use(a->sio, "/chat", check_name, NULL);
    r |= sio_on_connect(a->sio, "/chat", on_connect, NULL);
    r |= sio_on_disconnect(a->sio, "/chat", on_disconnect, NULL);
    r |= sio_on(a->sio, "/chat", "join", on_join, NULL);
    r |= sio_on(a->sio, "/chat", "history", on_history, NULL);
    r |= sio_on(a->sio, "/chat", "msg_to_server", on_message, NULL);
    r |= sio_on(a->sio, "/chat", "typing", on_typing, NULL);
    return r;
}
