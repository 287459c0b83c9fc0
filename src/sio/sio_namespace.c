/* sio/sio_namespace.c - namespaces: static ones made on first mention,
 * dynamic ones made when a client asks for a name a family's matcher accepts;
 * their handler tables; the registration API (sio_on & co.).
 *
 * Lifetime: a namespace is referenced by its sockets (every one allocated,
 * connected or not) and by the broadcasts being described on it. A static
 * namespace has one more reference, its own, and lives as long as the
 * server. A dynamic family's child has none (unless the server keeps them,
 * cleanup_empty_child_namespaces 0): it is removed when its last socket is
 * freed, as the reference's cleanupEmptyChildNamespaces does, and at most
 * max_dynamic_namespaces of them exist at once.
 */
#include "sio/sio_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static void handlers_free(sio_handlers *h) {
    util_vec_free(&h->connect);
    util_vec_free(&h->disconnect);
    util_vec_free(&h->middleware);
    util_map *maps[] = {&h->events, &h->server_events};
    for (size_t i = 0; i < sizeof maps / sizeof *maps; i++) {
        util_map_iter it;
        util_map_iter_init(&it, maps[i]);
        for (util_map_entry *e = util_map_iter_next(&it); e; e = util_map_iter_next(&it))
            free(e->value);
        util_map_free(maps[i]);
    }
}

static int valid_nsp_name(const char *name) {
    return name && name[0] == '/' && !strchr(name, ',');
}

sio_nsp *sio_nsp_get(sio_server *srv, const char *name, size_t len, int create) {
    sio_nsp *nsp = util_map_get(&srv->nsps, name, len);
    if (nsp || !create) return nsp;
    nsp = calloc(1, sizeof *nsp);
    if (!nsp) return NULL;
    nsp->srv = srv;
    nsp->refs = 1; /* its own: a static namespace lasts (sio_nsp_resolve changes that) */
    nsp->name = malloc(len + 1);
    if (!nsp->name) {
        free(nsp);
        return NULL;
    }
    memcpy(nsp->name, name, len);
    nsp->name[len] = '\0';
    nsp->name_len = len;
    nsp->h = &nsp->own;
    nsp->adapter_ops = srv->opts.adapter->ops;
    nsp->adapter = nsp->adapter_ops->create(srv->opts.adapter, nsp);
    if (!nsp->adapter || util_map_put(&srv->nsps, nsp->name, len, nsp) != 0) {
        if (nsp->adapter) nsp->adapter_ops->destroy(nsp->adapter);
        free(nsp->name);
        free(nsp);
        return NULL;
    }
    return nsp;
}

void sio_nsp_ref(sio_nsp *nsp) {
    nsp->refs++;
}

/* Removes a dynamic child nobody references from the server and frees it. */
static void nsp_remove(sio_nsp *nsp) {
    sio_server *srv = nsp->srv;
    assert(nsp->dynamic && nsp->refs == 0 && nsp->all.len == 0 && !srv->broadcasting);
    if (srv->closing) return; /* server_free frees every namespace */
    util_map_remove(&srv->nsps, nsp->name, nsp->name_len);
    srv->ndynamic--;
    sio_nsp_free(nsp);
}

void sio_nsp_unref(sio_nsp *nsp) {
    assert(nsp->refs > 0);
    if (--nsp->refs == 0) nsp_remove(nsp);
}

void sio_nsp_release(sio_nsp *nsp) {
    if (nsp->refs == 0) nsp_remove(nsp);
}

void sio_nsp_free(sio_nsp *nsp) {
    handlers_free(&nsp->own);
    util_map_free(&nsp->sockets);
    util_vec_free(&nsp->all);
    nsp->adapter_ops->destroy(nsp->adapter);
    free(nsp->name);
    free(nsp);
}

void sio_families_free(sio_server *srv) {
    for (unsigned i = 0; i < srv->families.len; i++) {
        handlers_free(&srv->families.items[i]->handlers);
        free(srv->families.items[i]->parent);
        free(srv->families.items[i]);
    }
    util_vec_free(&srv->families);
}

int sio_nsp_add_socket(sio_nsp *nsp, sio_socket *s) {
    /* listed in both or in neither: sio_nsp_remove_socket goes by the map */
    if (util_vec_reserve(&nsp->all, 1) != 0 ||
        util_map_put(&nsp->sockets, s->id, strlen(s->id), s) != 0)
        return SIO_ENOMEM;
    s->all_index = nsp->all.len;
    nsp->all.items[nsp->all.len++] = s;
    return 0;
}

void sio_nsp_remove_socket(sio_nsp *nsp, sio_socket *s) {
    assert(!nsp->srv->broadcasting);
    if (util_map_remove(&nsp->sockets, s->id, strlen(s->id)) != s) return;
    assert(s->all_index < nsp->all.len && nsp->all.items[s->all_index] == s);
    util_vec_swap_remove(&nsp->all, s->all_index);
    if (s->all_index < nsp->all.len) nsp->all.items[s->all_index]->all_index = s->all_index;
}

/* The handler table for registrations under `nsp`: a dynamic family's, or a
 * static namespace's (created if needed). */
sio_handlers *sio_handlers_for(sio_server *srv, const char *nsp, int create) {
    if (!nsp) nsp = "/"; /* NULL is the main namespace, in every function */
    if (!valid_nsp_name(nsp)) return NULL;
    for (unsigned i = 0; i < srv->families.len; i++)
        if (strcmp(srv->families.items[i]->parent, nsp) == 0)
            return &srv->families.items[i]->handlers;
    sio_nsp *n = sio_nsp_get(srv, nsp, strlen(nsp), create);
    return n ? &n->own : NULL;
}

int sio_namespace(sio_server *srv, const char *nsp) {
    return sio_handlers_for(srv, nsp, 1) ? 0 : SIO_EINVAL;
}

int sio_namespace_dynamic(sio_server *srv, const char *parent, sio_namespace_match_cb match,
                          void *userdata) {
    if (!valid_nsp_name(parent) || !match) return SIO_EINVAL;
    sio_family *fam = calloc(1, sizeof *fam);
    if (!fam || !(fam->parent = strdup(parent)) || util_vec_push(&srv->families, fam) != 0) {
        if (fam) free(fam->parent);
        free(fam);
        return SIO_ENOMEM;
    }
    fam->match = match;
    fam->userdata = userdata;
    return 0;
}

sio_nsp *sio_nsp_resolve(sio_server *srv, const char *name, size_t len, int *err) {
    sio_nsp *nsp = sio_nsp_get(srv, name, len, 0);
    if (nsp) return nsp;
    *err = SIO_ENOTFOUND;
    if (!srv->families.len || len > SIO_NSP_NAME_MAX) return NULL;
    char *copy = malloc(len + 1);
    if (!copy) return NULL;
    memcpy(copy, name, len);
    copy[len] = '\0';
    for (unsigned i = 0; i < srv->families.len; i++) {
        if (srv->families.items[i]->match(copy, srv->families.items[i]->userdata)) {
            if (srv->ndynamic >= srv->opts.max_dynamic_namespaces) {
                *err = SIO_ETOOBIG;
                break;
            }
            nsp = sio_nsp_get(srv, name, len, 1);
            if (!nsp) {
                *err = SIO_ENOMEM;
                break;
            }
            nsp->h = &srv->families.items[i]->handlers;
            nsp->dynamic = 1;
            srv->ndynamic++;
            /* no reference of its own: removed with its last socket */
            if (srv->opts.cleanup_empty_child_namespaces) nsp->refs = 0;
            break;
        }
    }
    free(copy);
    return nsp;
}

int sio_on_connect(sio_server *srv, const char *nsp, sio_connect_cb cb, void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb) return SIO_EINVAL;
    return util_vec_push(&h->connect, ((sio_handler){.cb.connect = cb, .userdata = userdata}));
}

int sio_on_disconnect(sio_server *srv, const char *nsp, sio_disconnect_cb cb, void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb) return SIO_EINVAL;
    return util_vec_push(&h->disconnect,
                         ((sio_handler){.cb.disconnect = cb, .userdata = userdata}));
}

int sio_use(sio_server *srv, const char *nsp, sio_middleware_cb cb, void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb) return SIO_EINVAL;
    return util_vec_push(&h->middleware,
                         ((sio_handler){.cb.middleware = cb, .userdata = userdata}));
}

/* The handler named `event` in map, made if needed; NULL on ENOMEM. */
static sio_handler *handler_slot(util_map *map, const char *event) {
    sio_handler *e = util_map_get(map, event, strlen(event));
    if (!e) {
        e = malloc(sizeof *e);
        if (!e) return NULL;
        if (util_map_put(map, event, strlen(event), e) != 0) {
            free(e);
            return NULL;
        }
    }
    return e;
}

int sio_on(sio_server *srv, const char *nsp, const char *event, sio_event_cb cb, void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb || !event || sio_event_name_reserved(event, strlen(event))) return SIO_EINVAL;
    sio_handler *e = handler_slot(&h->events, event);
    if (!e) return SIO_ENOMEM;
    e->cb.event = cb;
    e->userdata = userdata;
    return 0;
}

int sio_on_server_event(sio_server *srv, const char *nsp, const char *event, sio_server_event_cb cb,
                        void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb || !event) return SIO_EINVAL;
    sio_handler *e = handler_slot(&h->server_events, event);
    if (!e) return SIO_ENOMEM;
    e->cb.server_event = cb;
    e->userdata = userdata;
    return 0;
}

int sio_on_any(sio_server *srv, const char *nsp, sio_event_cb cb, void *userdata) {
    sio_handlers *h = sio_handlers_for(srv, nsp, 1);
    if (!h || !cb) return SIO_EINVAL;
    h->any.cb.event = cb;
    h->any.userdata = userdata;
    return 0;
}
