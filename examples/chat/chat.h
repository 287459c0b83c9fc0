/* examples/chat/chat.h - the chat app's parts: the Socket.IO handlers
 * (chat.c) and the history store (store.c), wired together by main.c. */
#ifndef CHAT_H
#define CHAT_H

#include "socketio.h"
#include "store.h"

/* Per-socket rate limits of the events that reach a whole room (besides
 * messages, fixed at 20 per 10 s): at most `typing` typing events and `join`
 * joins at once, refilled over window_ms (a token bucket). Over the limit, a
 * typing event is dropped without a word and a join is refused with {error}. */
#define CHAT_TYPING_LIMIT 20 /* defaults, for a field left at 0 */
#define CHAT_JOIN_LIMIT 10
#define CHAT_LIMIT_WINDOW_MS 10000

typedef struct chat_limits {
    uint32_t typing;
    uint32_t join;
    uint32_t window_ms;
} chat_limits;

typedef struct chat_app {
    sio_server *sio;
    chat_store *store;
    chat_limits limits;
} chat_app;

/* Registers the /chat namespace's middleware and handlers. 0 on success. */
int chat_register(chat_app *app);

/* [a-z0-9-]{1,32} */
int chat_room_valid(const char *room);

#endif
