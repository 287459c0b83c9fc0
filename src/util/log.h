/* util/log.h - the library's internal logging macros over the public sink. */
#ifndef SIO_UTIL_LOG_H
#define SIO_UTIL_LOG_H

#include "socketio/common.h"

extern sio_log_level util_log_min_level;

void util_log_write(sio_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define UTIL_LOG(level, comp, ...)                                                                 \
    do {                                                                                           \
        if ((level) >= util_log_min_level) util_log_write((level), (comp), __VA_ARGS__);           \
    } while (0)
#define LOG_DEBUG(comp, ...) UTIL_LOG(SIO_LOG_DEBUG, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) UTIL_LOG(SIO_LOG_INFO, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) UTIL_LOG(SIO_LOG_WARN, comp, __VA_ARGS__)
#define LOG_ERROR(comp, ...) UTIL_LOG(SIO_LOG_ERROR, comp, __VA_ARGS__)

#endif
