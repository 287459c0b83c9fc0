/* examples/chat/chat.h - the chat app's parts: the Socket.IO handlers
 * (chat.c) and the history store (store.c), wired together by main.c. */
#ifndef CHAT_H
#define CHAT_H

#include "socketio.h"
#include "store.h"

typedef struct chat_app {
    sio_server *sio;
    chat_store *store;
} chat_app;

/* Registers the /chat namespace's middleware and handlers. 0 on success. */
int chat_register(chat_app *app);

/* [a-z0-9-]{1,32} */
int chat_room_valid(const char *room);

#endif
