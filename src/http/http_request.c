/* http/http_request.c - the request object and its accessors: target, path,
 * query parameters (decoded on demand), headers (case-insensitive), body.
 */
#include "http/http_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decoded query values handed out by http_req_query, freed with the request. */
typedef struct query_value {
    struct query_value *next;
    char s[];
} query_value;

http_req *http_req_new(http_conn *c) {
    http_req *req = calloc(1, sizeof *req);
    if (!req) return NULL;
    req->conn = c;
    req->server = c->server;
    return req;
}

void http_req_free(http_req *req) {
    if (!req) return;
    util_buf_free(&req->head);
    util_buf_free(&req->body);
    util_buf_free(&req->res_headers);
    util_vec_free(&req->headers);
    query_value *q = (query_value *)req->query_decoded;
    while (q) {
        query_value *n = q->next;
        free(q);
        q = n;
    }
    free(req);
}

const char *http_req_method(const http_req *req) {
    return req->method;
}

const char *http_req_target(const http_req *req) {
    return req->head.data;
}

const char *http_req_path(const http_req *req) {
    /* the path is the target up to '?': handed out as a copy-free view when
     * there is no query, else as a decoded-values entry */
    const char *t = req->head.data;
    if (t[req->path_len] == '\0') return t;
    http_req *r = (http_req *)req;
    query_value *v = malloc(sizeof *v + req->path_len + 1);
    if (!v) return "/";
    memcpy(v->s, t, req->path_len);
    v->s[req->path_len] = '\0';
    v->next = (query_value *)r->query_decoded;
    r->query_decoded = (char *)v;
    return v->s;
}

const char *http_req_query_string(const http_req *req) {
    const char *t = req->head.data;
    return t[req->path_len] == '?' ? t + req->path_len + 1 : "";
}

const char *http_req_query(http_req *req, const char *name) {
    const char *q = http_req_query_string(req);
    size_t name_len = strlen(name);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t pair_len = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', pair_len);
        size_t key_len = eq ? (size_t)(eq - q) : pair_len;
        char key[64];
        if (key_len < sizeof key) {
            size_t kl = http_query_decode(q, key_len, key);
            if (kl == name_len && memcmp(key, name, name_len) == 0) {
                const char *val = eq ? eq + 1 : q + pair_len;
                size_t val_len = eq ? pair_len - key_len - 1 : 0;
                query_value *v = malloc(sizeof *v + val_len + 1);
                if (!v) return NULL;
                http_query_decode(val, val_len, v->s);
                v->next = (query_value *)req->query_decoded;
                req->query_decoded = (char *)v;
                return v->s;
            }
        }
        if (!amp) break;
        q = amp + 1;
    }
    return NULL;
}

const char *http_req_header(const http_req *req, const char *name) {
    for (unsigned i = 0; i < req->headers.len; i++) {
        if (strcasecmp(req->head.data + req->headers.items[i].name, name) == 0)
            return req->head.data + req->headers.items[i].value;
    }
    return NULL;
}

bool http_req_header_at(const http_req *req, unsigned index, const char **name,
                        const char **value) {
    if (index >= req->headers.len) return false;
    *name = req->head.data + req->headers.items[index].name;
    *value = req->head.data + req->headers.items[index].value;
    return true;
}

const char *http_req_body(const http_req *req, size_t *len) {
    if (len) *len = req->body.len;
    return req->body.data ? req->body.data : "";
}

const char *http_req_remote_addr(const http_req *req) {
    http_req *r = (http_req *)req;
    if (!r->remote[0] && r->conn && r->conn->tcp) {
        struct sockaddr_storage ss;
        int len = sizeof ss;
        if (uv_tcp_getpeername(r->conn->tcp, (struct sockaddr *)&ss, &len) == 0) {
            if (ss.ss_family == AF_INET6)
                uv_ip6_name((struct sockaddr_in6 *)&ss, r->remote, sizeof r->remote);
            else
                uv_ip4_name((struct sockaddr_in *)&ss, r->remote, sizeof r->remote);
        }
    }
    return r->remote;
}

int http_req_http_minor(const http_req *req) {
    return req->http_minor;
}

bool http_req_is_upgrade(const http_req *req) {
    return req->upgrade;
}

http_server *http_req_server(const http_req *req) {
    return req->server;
}

void http_req_on_abort(http_req *req, http_abort_cb cb, void *userdata) {
    req->abort_cb = cb;
    req->abort_ud = userdata;
}
