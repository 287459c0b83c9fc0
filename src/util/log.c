/* util/log.c - owns the log sink and its level.
 *
 * One process-wide sink: logging is configuration of the process, like
 * Node's DEBUG variable, not of one server object.
 */
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static sio_log_cb log_cb;
static void *log_userdata;
static int log_level_from_env_done;
sio_log_level util_log_min_level = SIO_LOG_INFO;

int sio_log_level_parse(const char *name) {
    static const char *names[] = {"debug", "info", "warn", "error", "off"};
    if (!name) return -1;
    for (int i = 0; i < 5; i++)
        if (strcasecmp(name, names[i]) == 0) return i;
    return -1;
}

__attribute__((constructor)) static void log_init_from_env(void) {
    if (log_level_from_env_done) return;
    log_level_from_env_done = 1;
    int l = sio_log_level_parse(getenv("SIO_LOG_LEVEL"));
    if (l >= 0) util_log_min_level = (sio_log_level)l;
}

void sio_log_set(sio_log_level level, sio_log_cb cb, void *userdata) {
    log_cb = cb;
    log_userdata = userdata;
    util_log_min_level = level;
}

void util_log_write(sio_log_level level, const char *component, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (log_cb) {
        log_cb(level, component, line, log_userdata);
        return;
    }
    static const char *tags[] = {"debug", "info", "warn", "error", "off"};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03ld %-5s %s: %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            ts.tv_nsec / 1000000, tags[level], component, line);
}
