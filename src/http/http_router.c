/* http/http_router.c - the route table: method + exact path or prefix to a
 * handler. Routes are kept longest path first so the most specific wins; a
 * path that only matches under other methods is a 405, with an Allow header.
 * A GET route also answers HEAD.
 */
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>

int http_server_route(http_server *s, const http_route *route) {
    if (!route || !route->path || !route->handler || route->path[0] != '/') return SIO_EINVAL;
    http_route_entry e = {.r = *route};
    e.path_copy = strdup(route->path);
    e.method_copy = route->method ? strdup(route->method) : NULL;
    if (!e.path_copy || (route->method && !e.method_copy)) {
        free(e.path_copy);
        free(e.method_copy);
        return SIO_ENOMEM;
    }
    e.r.path = e.path_copy;
    e.r.method = e.method_copy;
    e.path_len = strlen(e.path_copy);
    /* insertion keeps longer paths first; among equals, the order of adding */
    uint32_t i = s->routes.len;
    while (i > 0 && s->routes.items[i - 1].path_len < e.path_len) i--;
    if (util_vec_insert(&s->routes, i, e) != 0) {
        free(e.path_copy);
        free(e.method_copy);
        return SIO_ENOMEM;
    }
    return 0;
}

static int path_matches(const http_route_entry *e, const char *path, size_t len) {
    if (e->r.prefix) return len >= e->path_len && memcmp(path, e->path_copy, e->path_len) == 0;
    return len == e->path_len && memcmp(path, e->path_copy, len) == 0;
}

static int method_matches(const http_route_entry *e, const char *method) {
    if (!e->r.method) return 1;
    if (strcmp(e->r.method, method) == 0) return 1;
    return strcmp(method, "HEAD") == 0 && strcmp(e->r.method, "GET") == 0;
}

const http_route_entry *http_router_match(http_server *s, const char *path, size_t path_len,
                                          const char *method, int *method_mismatch) {
    *method_mismatch = 0;
    size_t mismatch_len = 0;
    for (unsigned i = 0; i < s->routes.len; i++) {
        const http_route_entry *e = &s->routes.items[i];
        /* a more specific path that refused the method wins over shorter prefixes */
        if (*method_mismatch && e->path_len < mismatch_len) break;
        if (!path_matches(e, path, path_len)) continue;
        if (method_matches(e, method)) return e;
        *method_mismatch = 1;
        mismatch_len = e->path_len;
    }
    return NULL;
}

int http_router_allow_header(http_server *s, const char *path, size_t path_len, util_buf *out) {
    int r = 0;
    for (unsigned i = 0; r == 0 && i < s->routes.len; i++) {
        const http_route_entry *e = &s->routes.items[i];
        if (!path_matches(e, path, path_len) || !e->r.method) continue;
        if (out->len) r = util_buf_append_str(out, ", ");
        if (r == 0) r = util_buf_append_str(out, e->r.method);
        if (r == 0 && strcmp(e->r.method, "GET") == 0) r = util_buf_append_str(out, ", HEAD");
    }
    return r ? r : util_buf_append(out, "", 1);
}

void http_router_free(http_server *s) {
    for (unsigned i = 0; i < s->routes.len; i++) {
        free(s->routes.items[i].path_copy);
        free(s->routes.items[i].method_copy);
    }
    util_vec_free(&s->routes);
}
