/* http/http_static.c - the static file handler.
 *
 * Every file system call runs on libuv's thread pool (uv_fs_*), never on the
 * loop thread. A request goes: decode and check the path -> realpath (refuse
 * anything outside the root, so symlinks cannot lead out) -> open -> fstat ->
 * 304 or a streamed body read in 64 KiB pieces, the next read starting when
 * the previous piece has been written (the peer's speed bounds our memory).
 */
#include "http/http_internal.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define STATIC_CHUNK 65536

typedef struct http_static_mount {
    struct http_static_mount *next;
    char *mount;
    size_t mount_len;
    char *root; /* realpath of the root */
    size_t root_len;
    char *cache_control;
    char *index;
} http_static_mount;

typedef struct static_req {
    uv_fs_t fs;
    http_req *req; /* NULL once the connection went away */
    http_static_mount *m;
    char *path;
    uv_file fd;
    int fs_busy;
    int tried_index;
    int dir_slash; /* the URL path ended with '/' */
    uint64_t size, offset;
    char *chunk;
} static_req;

static void static_free(static_req *sr) {
    if (sr->fd >= 0) {
        uv_fs_t close_req;
        uv_fs_close(NULL, &close_req, sr->fd, NULL);
        uv_fs_req_cleanup(&close_req);
    }
    free(sr->chunk);
    free(sr->path);
    free(sr);
}

/* Returns 1 (and frees sr) when the request was aborted while fs work ran. */
static int static_fs_done(static_req *sr) {
    sr->fs_busy = 0;
    uv_fs_req_cleanup(&sr->fs);
    if (sr->req) return 0;
    static_free(sr);
    return 1;
}

static void static_abort(http_req *req, void *userdata) {
    static_req *sr = userdata;
    sr->req = NULL;
    if (!sr->fs_busy) static_free(sr);
}

static void static_respond(static_req *sr, int status, const char *text) {
    http_req *req = sr->req;
    http_req_on_abort(req, NULL, NULL);
    static_free(sr);
    http_res_send(req, status, "text/plain; charset=utf-8", text);
}

static void static_not_found(static_req *sr) {
    static_respond(sr, 404, "Not Found\n");
}

static void on_realpath(uv_fs_t *fs);

static void static_start_lookup(static_req *sr) {
    sr->fs_busy = 1;
    uv_fs_realpath(http_server_loop(http_req_server(sr->req)), &sr->fs, sr->path, on_realpath);
}

static void on_read(uv_fs_t *fs);

static void static_read_next(static_req *sr) {
    uint64_t left = sr->size - sr->offset;
    if (left == 0) {
        http_req *req = sr->req;
        http_req_on_abort(req, NULL, NULL);
        static_free(sr);
        http_res_finish(req);
        return;
    }
    uv_buf_t b = uv_buf_init(sr->chunk, (unsigned)(left < STATIC_CHUNK ? left : STATIC_CHUNK));
    sr->fs_busy = 1;
    uv_fs_read(http_server_loop(http_req_server(sr->req)), &sr->fs, sr->fd, &b, 1,
               (int64_t)sr->offset, on_read);
}

static void on_written(http_req *req, int status, void *userdata) {
    static_req *sr = userdata;
    if (status < 0 || !sr->req) return; /* the abort callback follows and frees */
    static_read_next(sr);
}

static void on_read(uv_fs_t *fs) {
    static_req *sr = fs->data;
    ssize_t n = fs->result;
    if (static_fs_done(sr)) return;
    if (n <= 0) {
        /* the file shrank or failed under us: end the response short; the
         * connection is closed since the promised length was not met */
        sr->offset = sr->size;
        static_read_next(sr);
        return;
    }
    sr->offset += (uint64_t)n;
    if (http_res_write(sr->req, sr->chunk, (size_t)n, on_written, sr) != 0) {
        /* connection gone: the abort callback frees sr */
        return;
    }
}

static int etag_matches(const char *header, const char *etag) {
    /* If-None-Match: "a", W/"b", * */
    const char *p = header;
    size_t elen = strlen(etag);
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (*p == '*') return 1;
        if (p[0] == 'W' && p[1] == '/') p += 2;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
        if ((size_t)(end - start) == elen && memcmp(start, etag, elen) == 0) return 1;
    }
    return 0;
}

static int parse_http_date(const char *s, time_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end) return -1;
    *out = timegm(&tm);
    return 0;
}

static void on_fstat(uv_fs_t *fs) {
    static_req *sr = fs->data;
    int r = (int)fs->result;
    uv_stat_t st = fs->statbuf;
    if (static_fs_done(sr)) return;
    if (r < 0) return static_not_found(sr);
    if ((st.st_mode & S_IFMT) == S_IFDIR) {
        if (!sr->dir_slash) {
            /* "/docs" -> "/docs/" so that relative links in its index work */
            http_req *req = sr->req;
            const char *path = http_req_path(req);
            size_t len = strlen(path);
            char *loc = malloc(len + 2);
            if (!loc) return static_respond(sr, 500, "Internal Server Error\n");
            memcpy(loc, path, len);
            memcpy(loc + len, "/", 2);
            http_res_header(req, "Location", loc);
            free(loc);
            return static_respond(sr, 301, "Moved Permanently\n");
        }
        if (sr->tried_index) return static_not_found(sr);
        sr->tried_index = 1;
        uv_fs_t close_req;
        uv_fs_close(NULL, &close_req, sr->fd, NULL);
        uv_fs_req_cleanup(&close_req);
        sr->fd = -1;
        size_t len = strlen(sr->path), ilen = strlen(sr->m->index);
        char *p = realloc(sr->path, len + ilen + 2);
        if (!p) return static_respond(sr, 500, "Internal Server Error\n");
        sr->path = p;
        p[len] = '/';
        memcpy(p + len + 1, sr->m->index, ilen + 1);
        static_start_lookup(sr);
        return;
    }
    if ((st.st_mode & S_IFMT) != S_IFREG) return static_not_found(sr);

    http_req *req = sr->req;
    char etag[64], lastmod[30];
    uint64_t mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)mtime_ns);
    http_date_format((time_t)st.st_mtim.tv_sec, lastmod);
    http_res_header(req, "ETag", etag);
    http_res_header(req, "Last-Modified", lastmod);
    http_res_header(req, "Cache-Control", sr->m->cache_control);

    const char *inm = http_req_header(req, "if-none-match");
    const char *ims = http_req_header(req, "if-modified-since");
    time_t since;
    int not_modified =
        inm ? etag_matches(inm, etag)
            : (ims && parse_http_date(ims, &since) == 0 && (time_t)st.st_mtim.tv_sec <= since);
    if (not_modified) {
        http_req_on_abort(req, NULL, NULL);
        static_free(sr);
        http_res_status(req, 304);
        http_res_end(req, NULL, 0);
        return;
    }
    http_res_header(req, "Content-Type", http_mime_type(sr->path));
    http_res_header(req, "X-Content-Type-Options", "nosniff");
    sr->size = st.st_size;
    if (http_res_begin(req, sr->size) != 0) return; /* closed: abort frees */
    if (!strcmp(http_req_method(req), "HEAD") || sr->size == 0) {
        sr->offset = sr->size;
        static_read_next(sr);
        return;
    }
    sr->chunk = malloc(STATIC_CHUNK);
    if (!sr->chunk) {
        http_req_on_abort(req, NULL, NULL);
        static_free(sr);
        http_res_finish(req);
        return;
    }
    static_read_next(sr);
}

static void on_open(uv_fs_t *fs) {
    static_req *sr = fs->data;
    int fd = (int)fs->result;
    if (static_fs_done(sr)) {
        if (fd >= 0) {
            uv_fs_t close_req;
            uv_fs_close(NULL, &close_req, fd, NULL);
            uv_fs_req_cleanup(&close_req);
        }
        return;
    }
    if (fd < 0) return static_not_found(sr);
    sr->fd = fd;
    sr->fs_busy = 1;
    uv_fs_fstat(http_server_loop(http_req_server(sr->req)), &sr->fs, fd, on_fstat);
}

static void on_realpath(uv_fs_t *fs) {
    static_req *sr = fs->data;
    char *real = fs->result == 0 && fs->ptr ? strdup(fs->ptr) : NULL;
    if (static_fs_done(sr)) {
        free(real);
        return;
    }
    if (!real) return static_not_found(sr);
    http_static_mount *m = sr->m;
    int inside = strncmp(real, m->root, m->root_len) == 0 &&
                 (real[m->root_len] == '/' || real[m->root_len] == '\0');
    if (!inside) {
        LOG_DEBUG("http", "static: %s resolves outside the root", sr->path);
        free(real);
        return static_not_found(sr);
    }
    free(sr->path);
    sr->path = real;
    sr->fs_busy = 1;
    uv_fs_open(http_server_loop(http_req_server(sr->req)), &sr->fs, real, O_RDONLY | O_CLOEXEC, 0,
               on_open);
}

static void static_handler(http_req *req, void *userdata) {
    http_static_mount *m = userdata;
    const char *method = http_req_method(req);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        http_res_header(req, "Allow", "GET, HEAD");
        http_res_send(req, 405, "text/plain; charset=utf-8", "Method Not Allowed\n");
        return;
    }
    const char *path = http_req_path(req);
    const char *rel = path + m->mount_len;
    size_t rel_len = strlen(rel);
    char *decoded = malloc(rel_len + 1);
    if (!decoded) {
        http_res_send(req, 500, "text/plain; charset=utf-8", "Internal Server Error\n");
        return;
    }
    if (http_path_decode(rel, rel_len, decoded) < 0) {
        free(decoded);
        http_res_send(req, 404, "text/plain; charset=utf-8", "Not Found\n");
        return;
    }
    /* build root + clean segments; "..", dot-files and empty segments refused or skipped */
    size_t cap = m->root_len + strlen(decoded) + 2;
    char *fs_path = malloc(cap);
    if (!fs_path) {
        free(decoded);
        http_res_send(req, 500, "text/plain; charset=utf-8", "Internal Server Error\n");
        return;
    }
    memcpy(fs_path, m->root, m->root_len + 1);
    size_t len = m->root_len;
    int bad = 0;
    char *save = NULL;
    for (char *seg = strtok_r(decoded, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
        if (seg[0] == '.') {
            if (strcmp(seg, ".") == 0) continue;
            bad = 1; /* "..", ".git", ".env": never served */
            break;
        }
        fs_path[len++] = '/';
        size_t sl = strlen(seg);
        memcpy(fs_path + len, seg, sl);
        len += sl;
        fs_path[len] = '\0';
    }
    free(decoded);
    if (bad) {
        free(fs_path);
        http_res_send(req, 404, "text/plain; charset=utf-8", "Not Found\n");
        return;
    }
    static_req *sr = calloc(1, sizeof *sr);
    if (!sr) {
        free(fs_path);
        http_res_send(req, 500, "text/plain; charset=utf-8", "Internal Server Error\n");
        return;
    }
    sr->req = req;
    sr->m = m;
    sr->path = fs_path;
    sr->fd = -1;
    sr->fs.data = sr;
    sr->dir_slash = path[strlen(path) - 1] == '/';
    http_req_on_abort(req, static_abort, sr);
    static_start_lookup(sr);
}

int http_server_static(http_server *s, const char *mount, const char *root,
                       const http_static_options *opts) {
    if (!mount || mount[0] != '/' || !root) return SIO_EINVAL;
    char real[PATH_MAX];
    if (!realpath(root, real)) return -errno;
    http_static_mount *m = calloc(1, sizeof *m);
    if (!m) return SIO_ENOMEM;
    size_t ml = strlen(mount);
    m->mount = strdup(mount);
    m->mount_len = ml > 1 && mount[ml - 1] == '/' ? ml - 1 : (ml == 1 ? 0 : ml);
    m->root = strdup(real);
    m->root_len = strlen(real);
    if (m->root_len == 1) m->root_len = 0; /* root "/" */
    m->cache_control =
        strdup(opts && opts->cache_control ? opts->cache_control : "public, max-age=0");
    m->index = strdup(opts && opts->index ? opts->index : "index.html");
    if (!m->mount || !m->root || !m->cache_control || !m->index) goto fail;
    http_route route = {
        .method = NULL, .path = mount, .prefix = true, .handler = static_handler, .userdata = m};
    int r = http_server_route(s, &route);
    if (r) goto fail;
    m->next = s->mounts;
    s->mounts = m;
    return 0;
fail:
    free(m->mount);
    free(m->root);
    free(m->cache_control);
    free(m->index);
    free(m);
    return SIO_ENOMEM;
}

void http_static_free_all(http_server *s) {
    http_static_mount *m = s->mounts;
    while (m) {
        http_static_mount *n = m->next;
        free(m->mount);
        free(m->root);
        free(m->cache_control);
        free(m->index);
        free(m);
        m = n;
    }
    s->mounts = NULL;
}
