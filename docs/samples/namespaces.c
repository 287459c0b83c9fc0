/* namespaces.c - a static namespace (/admin), a family of dynamic ones
 * (/workspace-<name>), and a catch-all handler for events without their own. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* accepts "/workspace-" followed by 1 to 32 lowercase letters */
static bool is_workspace(const char *name, void *ud) {
    const char *prefix = "/workspace-";
    size_t n = strlen(prefix), len = strlen(name);
    if (strncmp(name, prefix, n) != 0 || len == n || len > n + 32) return false;
    for (const char *p = name + n; *p; p++)
        if (*p < 'a' || *p > 'z') return false;
    return true;
}

/* one handler for every workspace: the socket knows which one it is in */
static void on_workspace_connect(sio_socket *s, void *ud) {
    json_t *args = json_pack("[s]", sio_socket_nsp(s)); /* "/workspace-blue" */
    sio_emit(s, "entered", args);
    json_decref(args);
}

static void on_admin_connect(sio_socket *s, void *ud) {
    printf("admin connected from %s\n", sio_socket_remote_addr(s));
    fflush(stdout);
}

/* called for any event of /admin that has no handler of its own */
static void on_any_admin(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *args = sio_event_args_raw(ev, &len);
    printf("admin event %s: [%.*s]\n", sio_event_name(ev), (int)len, args);
    fflush(stdout);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio_server *sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);

    sio_namespace(sio, "/admin");
    sio_on_connect(sio, "/admin", on_admin_connect, NULL);
    sio_on_any(sio, "/admin", on_any_admin, NULL);

    /* "/workspace-*" is only a label for the family's handlers */
    sio_namespace_dynamic(sio, "/workspace-*", is_workspace, NULL);
    sio_on_connect(sio, "/workspace-*", on_workspace_connect, NULL);

    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
