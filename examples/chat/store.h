/* examples/chat/store.h - the chat history in SQLite, off the event loop.
 *
 * Every database call runs on libuv's thread pool, one batch at a time: the
 * messages queued since the last batch are written in one transaction, then
 * the history reads queued meanwhile are answered, so a read always sees
 * every message queued before it. The loop thread never waits for the disk.
 */
#ifndef CHAT_STORE_H
#define CHAT_STORE_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

typedef struct chat_store chat_store;

/* What the history keeps. Every write batch deletes, in its transaction, the
 * messages beyond `per_room` in each room it wrote to, those beyond `total`
 * in all rooms together (the oldest first), and those older than max_age_ms
 * (0: no age limit); reads never return a message older than max_age_ms,
 * even before it is deleted. Opening the database applies all three. Ids stay
 * increasing whatever is deleted (the last one given is kept). */
typedef struct chat_retention {
    int64_t per_room;   /* >= 1 */
    int64_t total;      /* >= 1 */
    int64_t max_age_ms; /* 0: none */
} chat_retention;

/* Opens (creating if needed) the database at path (":memory:" allowed), in WAL
 * mode, and applies the retention rules. Synchronous: call at startup. NULL
 * with *err (static text) on failure. */
chat_store *chat_store_open(uv_loop_t *loop, const char *path, const chat_retention *keep,
                            const char **err);

/* The id the next message gets (one more than the largest stored). */
int64_t chat_store_next_id(chat_store *st);

/* Queues a message for writing. Returns 0, or -1 when out of memory. */
int chat_store_append(chat_store *st, int64_t id, const char *room, const char *name,
                      const char *text, int64_t ts);

/* Reads up to `limit` messages of a room with id > after (after 0: the last
 * `limit`), oldest first, as a JSON array of {id, room, name, text, ts}. cb
 * runs on the loop thread; messages is NULL on error (and owned by the store:
 * take a reference to keep it). */
typedef void (*chat_history_cb)(json_t *messages, void *userdata);
int chat_store_history(chat_store *st, const char *room, int64_t after, int limit,
                       chat_history_cb cb, void *userdata);

/* Writes what is queued, answers the pending reads, closes the database and
 * frees the store; done runs then. */
void chat_store_close(chat_store *st, void (*done)(void *userdata), void *userdata);

#endif
