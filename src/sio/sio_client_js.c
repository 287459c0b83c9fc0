/* sio/sio_client_js.c - serves the official socket.io-client bundle at
 * {path}socket.io.js, .min.js, .esm.min.js and their source maps, as the
 * reference server does (serveClient). The files come from the npm package
 * (installed by the bootstrap, never committed), are read once at attach
 * time and served from memory with an ETag, so a browser revalidates with a
 * 304. Each file is one shared body (http_body, refcounted): every answer
 * writes the same bytes without a copy, and an answer still being written
 * when the server goes away keeps its file alive until the write completes.
 *
 * Where the files are: options.client_dir, else $SIO_CLIENT_DIR, else where
 * the build installs them (DATADIR/socketio/client, CMakeLists.txt): beside
 * the shared library or the program (paths relative to them, so an
 * installed tree can move; the build tree has the same layout), then under
 * the install prefix, and last node_modules/socket.io-client/dist of the
 * working directory. The source tree is never looked at.
 */
#include "http/http_internal.h" /* http_body_from_buf: a file read into a util_rcbuf, uncopied */
#include "sio/sio_internal.h"
#include "util/log.h"

#include <dlfcn.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Set by CMakeLists.txt from the install layout; these are its defaults. */
#ifndef SIO_CLIENT_INSTALL_DIR
#define SIO_CLIENT_INSTALL_DIR "/usr/local/share/socketio/client"
#endif
#ifndef SIO_CLIENT_FROM_LIBDIR
#define SIO_CLIENT_FROM_LIBDIR "../share/socketio/client"
#endif
#ifndef SIO_CLIENT_FROM_BINDIR
#define SIO_CLIENT_FROM_BINDIR "../share/socketio/client"
#endif

static const struct {
    const char *name;
    const char *type;
} bundle[] = {
    {"socket.io.js", "application/javascript; charset=utf-8"},
    {"socket.io.js.map", "application/json; charset=utf-8"},
    {"socket.io.min.js", "application/javascript; charset=utf-8"},
    {"socket.io.min.js.map", "application/json; charset=utf-8"},
    {"socket.io.esm.min.js", "application/javascript; charset=utf-8"},
    {"socket.io.esm.min.js.map", "application/json; charset=utf-8"},
};

static util_rcbuf *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    util_buf b = UTIL_BUF_INIT;
    char chunk[65536];
    size_t n;
    int err = 0;
    while (!err && (n = fread(chunk, 1, sizeof chunk, f)) > 0) err = util_buf_append(&b, chunk, n);
    err = err || ferror(f);
    fclose(f);
    if (err) {
        util_buf_free(&b);
        return NULL;
    }
    return util_rcbuf_from_buf(&b);
}

/* sio_client_file.data points into the file's shared body: the body itself. */
static http_body *file_body(const sio_client_file *f) {
    return http_body_from_buf((util_rcbuf *)(void *)(f->data - offsetof(util_rcbuf, data)));
}

static void serve_file(http_req *req, void *ud) {
    sio_client_file *f = ud;
    const char *inm = http_req_header(req, "if-none-match");
    http_res_header(req, "ETag", f->etag);
    http_res_header(req, "Cache-Control", "public, max-age=0");
    if (inm && strstr(inm, f->etag)) {
        http_res_status(req, 304);
        http_res_end(req, NULL, 0);
        return;
    }
    http_res_header(req, "Content-Type", f->content_type);
    http_res_end_body(req, file_body(f));
}

/* Does dir hold the bundle? */
static bool has_bundle(const char *dir) {
    char probe[PATH_MAX + 32];
    snprintf(probe, sizeof probe, "%s/socket.io.js", dir);
    FILE *f = fopen(probe, "rb");
    if (!f) return false;
    fclose(f);
    return true;
}

/* buf = the folder of file, then "/" rel; false when it does not fit. */
static bool beside(char *buf, size_t cap, const char *file, const char *rel) {
    const char *slash = strrchr(file, '/');
    if (!slash) return false;
    int n = snprintf(buf, cap, "%.*s/%s", (int)(slash - file), file, rel);
    return n > 0 && (size_t)n < cap;
}

static const char *find_dir(sio_server *srv, char *buf, size_t cap) {
    if (srv->client_dir) return srv->client_dir;
    const char *env = getenv("SIO_CLIENT_DIR");
    if (env && *env) return env;
    char exe[PATH_MAX], lib[PATH_MAX];
    size_t exe_len = sizeof exe;
    if (uv_exepath(exe, &exe_len) != 0) exe[0] = '\0';
    /* the shared library's own file (a static library's code is the program's) */
    Dl_info info;
    if (dladdr((void *)sio_client_js_attach, &info) && info.dli_fname &&
        realpath(info.dli_fname, lib) && strcmp(lib, exe) != 0 &&
        beside(buf, cap, lib, SIO_CLIENT_FROM_LIBDIR) && has_bundle(buf))
        return buf;
    if (exe[0] && beside(buf, cap, exe, SIO_CLIENT_FROM_BINDIR) && has_bundle(buf)) return buf;
    const char *rest[] = {SIO_CLIENT_INSTALL_DIR, "node_modules/socket.io-client/dist"};
    for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++) {
        if (has_bundle(rest[i])) {
            snprintf(buf, cap, "%s", rest[i]);
            return buf;
        }
    }
    return NULL;
}

int sio_client_js_attach(sio_server *srv) {
    char dirbuf[PATH_MAX];
    const char *dir = find_dir(srv, dirbuf, sizeof dirbuf);
    if (!dir) {
        LOG_WARN("socket.io",
                 "client bundle not found (npm socket.io-client): not serving %ssocket.io.js",
                 srv->path);
        return SIO_ENOTFOUND;
    }
    for (size_t i = 0; i < sizeof bundle / sizeof bundle[0]; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, bundle[i].name);
        util_rcbuf *body = read_file(path);
        if (!body) continue;
        const char *data = body->data;
        size_t len = body->len;
        sio_client_file *f = &srv->files[srv->nfiles++];
        f->url_name = bundle[i].name;
        f->data = body->data;
        f->len = len;
        f->content_type = bundle[i].type;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL);
        snprintf(f->etag, sizeof f->etag, "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", md[0], md[1],
                 md[2], md[3], md[4], md[5], md[6], md[7]);
        char url[512];
        snprintf(url, sizeof url, "%s%s", srv->path, bundle[i].name);
        http_route r = {.method = "GET", .path = url, .handler = serve_file, .userdata = f};
        http_server_route(srv->http, &r);
    }
    LOG_DEBUG("socket.io", "serving %u client files from %s", srv->nfiles, dir);
    return 0;
}

void sio_client_js_free(sio_server *srv) {
    /* answers still being written keep their own references */
    for (unsigned i = 0; i < srv->nfiles; i++) http_body_release(file_body(&srv->files[i]));
    srv->nfiles = 0;
}
