/* util/error.c - owns the names of the error codes (sio_strerror, declared in
 * socketio/common.h): the library's own SIO_E* codes, and libuv's, which
 * the library returns as they are and uv_strerror names.
 */
#include "socketio/common.h"

const char *sio_strerror(int err) {
    switch (err) {
    case 0:
        return "success";
    case SIO_EPROTO:
        return "protocol error";
    case SIO_ETOOBIG:
        return "message too big";
    case SIO_ECLOSED:
        return "connection closed";
    case SIO_EBUSY:
        return "output queue full";
    case SIO_ETIMEDOUT:
        return "timed out";
    case SIO_ENOTFOUND:
        return "not found";
    case SIO_EINVAL:
        return "invalid argument";
    case SIO_ENOMEM:
        return "out of memory";
    default:
        break;
    }
    if (err < 0 && err > SIO_EBASE) return uv_strerror(err);
    return "unknown error";
}
