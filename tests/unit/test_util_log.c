/* Unit tests of util/log and util/error: the process-wide log sink and its
 * level (sio_log_set, sio_log_level_parse, the LOG_* macros the layers use),
 * and the names of the error codes (sio_strerror). */
#include "check.h"
#include "socketio/common.h"
#include "util/log.h"

#include <string.h>

struct sink {
    int lines;
    sio_log_level level;
    char component[32];
    char msg[2048];
};

static void sink_cb(sio_log_level level, const char *component, const char *msg, void *ud) {
    struct sink *s = ud;
    s->lines++;
    s->level = level;
    snprintf(s->component, sizeof s->component, "%s", component);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
}

static void test_level_names(void) {
    CHECK_INT(sio_log_level_parse("debug"), SIO_LOG_DEBUG);
    CHECK_INT(sio_log_level_parse("INFO"), SIO_LOG_INFO);
    CHECK_INT(sio_log_level_parse("Warn"), SIO_LOG_WARN);
    CHECK_INT(sio_log_level_parse("error"), SIO_LOG_ERROR);
    CHECK_INT(sio_log_level_parse("off"), SIO_LOG_OFF);
    CHECK_INT(sio_log_level_parse(""), -1);
    CHECK_INT(sio_log_level_parse("warning"), -1);
    CHECK_INT(sio_log_level_parse("debu"), -1);
    CHECK_INT(sio_log_level_parse(NULL), -1);
}

/* Lines below the level are dropped before formatting; the sink gets the
 * level, the component and the formatted text; OFF silences every level. */
static void test_sink_and_level(void) {
    struct sink s;
    memset(&s, 0, sizeof s);
    sio_log_set(SIO_LOG_WARN, sink_cb, &s);
    LOG_DEBUG("http", "dropped %d", 1);
    LOG_INFO("http", "dropped %d", 2);
    CHECK_INT(s.lines, 0);
    LOG_WARN("ws", "kept %d of %s", 3, "three");
    CHECK_INT(s.lines, 1);
    CHECK_INT(s.level, SIO_LOG_WARN);
    CHECK_STR(s.component, "ws");
    CHECK_STR(s.msg, "kept 3 of three");
    LOG_ERROR("eio", "%s", "");
    CHECK_INT(s.lines, 2);
    CHECK_INT(s.level, SIO_LOG_ERROR);
    CHECK_STR(s.msg, "");
    sio_log_set(SIO_LOG_OFF, sink_cb, &s);
    LOG_ERROR("eio", "dropped");
    CHECK_INT(s.lines, 2);
    sio_log_set(SIO_LOG_DEBUG, sink_cb, &s);
    LOG_DEBUG("sio", "now %s", "kept");
    CHECK_INT(s.lines, 3);
    CHECK_STR(s.msg, "now kept");
    sio_log_set(SIO_LOG_OFF, NULL, NULL);
}

/* A line longer than the line buffer is cut, never overrun (ASan watches). */
static void test_overlong_line_is_cut(void) {
    struct sink s;
    memset(&s, 0, sizeof s);
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sio_log_set(SIO_LOG_DEBUG, sink_cb, &s);
    LOG_INFO("http", "%s", big);
    sio_log_set(SIO_LOG_OFF, NULL, NULL);
    CHECK_INT(s.lines, 1);
    CHECK(strlen(s.msg) > 0 && strlen(s.msg) < sizeof big - 1);
    CHECK_INT(strspn(s.msg, "x"), strlen(s.msg));
}

static void test_error_names(void) {
    CHECK_STR(sio_strerror(0), "success");
    CHECK_STR(sio_strerror(SIO_EPROTO), "protocol error");
    CHECK_STR(sio_strerror(SIO_ETOOBIG), "message too big");
    CHECK_STR(sio_strerror(SIO_ECLOSED), "connection closed");
    CHECK_STR(sio_strerror(SIO_EBUSY), "output queue full");
    CHECK_STR(sio_strerror(SIO_ETIMEDOUT), "timed out");
    CHECK_STR(sio_strerror(SIO_ENOTFOUND), "not found");
    CHECK_STR(sio_strerror(SIO_EINVAL), "invalid argument");
    CHECK_STR(sio_strerror(SIO_ENOMEM), "out of memory");
    /* libuv's codes are passed through and named by libuv */
    CHECK_STR(sio_strerror(UV_ECONNRESET), uv_strerror(UV_ECONNRESET));
    CHECK_STR(sio_strerror(UV_EADDRINUSE), uv_strerror(UV_EADDRINUSE));
    /* every SIO_E* code has a name of its own */
    int codes[] = {SIO_EPROTO,    SIO_ETOOBIG,   SIO_ECLOSED, SIO_EBUSY,
                   SIO_ETIMEDOUT, SIO_ENOTFOUND, SIO_EINVAL,  SIO_ENOMEM};
    int n = (int)(sizeof codes / sizeof codes[0]);
    for (int i = 0; i < n; i++) {
        CHECK(codes[i] <= SIO_EBASE);
        CHECK(strcmp(sio_strerror(codes[i]), "unknown error") != 0);
        for (int j = i + 1; j < n; j++)
            CHECK(strcmp(sio_strerror(codes[i]), sio_strerror(codes[j])) != 0);
    }
    CHECK_STR(sio_strerror(1), "unknown error");
    CHECK_STR(sio_strerror(SIO_EBASE - 1000), "unknown error");
}

int main(void) {
    RUN(test_level_names);
    RUN(test_sink_and_level);
    RUN(test_overlong_line_is_cut);
    RUN(test_error_names);
    return CHECK_DONE();
}
