/** @file socketio/common.h
 * what every layer of socketio-c shares: error codes,
 * logging, and the event loop type.
 *
 * Errors follow libuv: functions return 0 (or a non-negative count) on success
 * and a negative code on failure. Codes from the operating system are negative
 * errno values (the same as libuv's UV_E* codes); the library's own codes are
 * below SIO_EBASE. sio_strerror() names both.
 */
#ifndef SOCKETIO_COMMON_H
#define SOCKETIO_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/** Marks the library's public functions: with -fvisibility=hidden, the only
 * symbols a shared build of the library exports. */
#if defined(__GNUC__) || defined(__clang__)
#define SIO_EXTERN __attribute__((visibility("default")))
#else
#define SIO_EXTERN
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Library-specific error codes (all negative, below any errno value). */
enum sio_error {
    SIO_EBASE = -30000,     /**< the base of the library's codes (never returned) */
    SIO_EPROTO = -30001,    /**< the peer broke the protocol */
    SIO_ETOOBIG = -30002,   /**< a message or body is over its configured limit */
    SIO_ECLOSED = -30003,   /**< the connection or session is closed */
    SIO_EBUSY = -30004,     /**< the output queue is over its limit */
    SIO_ETIMEDOUT = -30005, /**< a deadline passed (ack, handshake, ping) */
    SIO_ENOTFOUND = -30006, /**< no such session, namespace, room or route */
    SIO_EINVAL = -30007,    /**< an argument is not valid */
    SIO_ENOMEM = -30008,    /**< an allocation failed */
};

/** Returns a static, human-readable message for an error code. */
SIO_EXTERN const char *sio_strerror(int err);

/**
 * A memory budget that several servers charge: the Engine.IO server gives its
 * own to its WebSocket server, so that polling queues and WebSocket queues
 * are bounded together. `used` is what queued output holds now (its real
 * memory, not its payload bytes); `limit` 0 means no limit.
 */
typedef struct sio_budget {
    size_t used;  /**< bytes charged now */
    size_t limit; /**< the most that may be charged (0: no limit) */
    size_t peak;  /**< the highest `used` seen */
} sio_budget;

/** Log levels, from the most to the least verbose. */
typedef enum sio_log_level {
    SIO_LOG_DEBUG = 0, /**< detail for debugging */
    SIO_LOG_INFO = 1,  /**< normal events */
    SIO_LOG_WARN = 2,  /**< something went wrong; the server goes on */
    SIO_LOG_ERROR = 3, /**< a failure */
    SIO_LOG_OFF = 4,   /**< nothing is written (as a level for sio_log_set) */
} sio_log_level;

/**
 * A log sink. `component` names the layer that speaks ("http", "ws",
 * "engine", "socket.io"); `msg` is one line without its newline.
 */
typedef void (*sio_log_cb)(sio_log_level level, const char *component, const char *msg,
                           void *userdata);

/**
 * Sets the lowest level written and where log lines go. With cb NULL lines go
 * to stderr. The initial level is SIO_LOG_INFO, or the value of the
 * environment variable SIO_LOG_LEVEL (debug, info, warn, error, off).
 */
SIO_EXTERN void sio_log_set(sio_log_level level, sio_log_cb cb, void *userdata);

/** Parses "debug", "info", "warn", "error" or "off"; -1 if none of them. */
SIO_EXTERN int sio_log_level_parse(const char *name);

#ifdef __cplusplus
}
#endif
#endif
