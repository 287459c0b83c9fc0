/* socketio.h - the public API of socketio-c, the manual of the library.
 *
 * The library is layered; each layer has a small header of its own:
 *   socketio/common.h  error codes, logging
 *   socketio/http.h    HTTP/1.1 server, routing, static files
 * Including this header includes them all.
 */
#ifndef SOCKETIO_H
#define SOCKETIO_H

#include "socketio/common.h"
#include "socketio/http.h"
#include "socketio/ws.h"
#include "socketio/eio.h"

#endif
