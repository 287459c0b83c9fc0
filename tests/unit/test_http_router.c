/* tests/unit/test_http_router.c - the HTTP layer's route table without a
 * socket (http/http_router.c): the most specific path wins, prefixes, methods
 * (GET answers HEAD, a path that only matches other methods is a 405 with its
 * Allow header), bad routes refused. The helpers of http/http_util.c have
 * their own file, test_http_util.c.
 */
#include "check.h"
#include "http/http_internal.h"

static uv_loop_t loop;
static http_server *srv;
static void handler(http_req *req, void *ud) {}

static void server_open(void) {
    uv_loop_init(&loop);
    srv = http_server_new(&loop, NULL);
}

static void server_close(void) {
    http_server_shutdown(srv, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* The matching route's userdata (its name), or NULL; "" would not match a name. */
static const char *match(const char *path, const char *method, int *mismatch) {
    const http_route_entry *e = http_router_match(srv, path, strlen(path), method, mismatch);
    return e ? e->r.userdata : NULL;
}

static int matches(const char *path, const char *method, const char *name) {
    int mm;
    const char *got = match(path, method, &mm);
    return got && strcmp(got, name) == 0;
}

static void test_most_specific_route_wins(void) {
    server_open();
    http_route r1 = {
        .method = NULL, .path = "/", .prefix = 1, .handler = handler, .userdata = "root"};
    http_route r2 = {
        .method = "GET", .path = "/socket.io/", .prefix = 1, .handler = handler, .userdata = "sio"};
    http_route r3 = {.method = "POST", .path = "/socket.io/x", .handler = handler, .userdata = "x"};
    CHECK_INT(http_server_route(srv, &r1), 0);
    CHECK_INT(http_server_route(srv, &r2), 0);
    CHECK_INT(http_server_route(srv, &r3), 0);
    int mm;
    CHECK(matches("/index.html", "GET", "root"));
    CHECK(matches("/socket.io/?EIO=4", "GET", "sio"));
    CHECK(matches("/socket.io/", "HEAD", "sio")); /* GET answers HEAD */
    CHECK(matches("/socket.io/x", "POST", "x"));
    /* /socket.io/x under GET: the more specific route refuses the method, and
     * that wins over the shorter prefixes: 405, not the prefix's handler */
    CHECK(match("/socket.io/x", "GET", &mm) == NULL);
    CHECK_INT(mm, 1);
    /* a method no route of the path takes: 405 (mismatch), not the root's 404 */
    CHECK(match("/socket.io/", "DELETE", &mm) == NULL);
    CHECK_INT(mm, 1);
    util_buf allow = UTIL_BUF_INIT;
    http_router_allow_header(srv, "/socket.io/", 11, &allow);
    CHECK(strcmp(allow.data, "GET, HEAD") == 0);
    util_buf_free(&allow);
    /* bad routes are refused */
    http_route bad = {.path = "nope", .handler = handler};
    CHECK_INT(http_server_route(srv, &bad), SIO_EINVAL);
    bad.path = NULL;
    CHECK_INT(http_server_route(srv, &bad), SIO_EINVAL);
    server_close();
}

int main(void) {
    RUN(test_most_specific_route_wins);
    return CHECK_DONE();
}
