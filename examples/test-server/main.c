/* sio-test-server: the servers that conformance suites and our interop tests
 * drive, on one port (default 3000):
 *
 *   /socket.io/   the Socket.IO server of the socket.io-protocol test suite
 *                 (pingInterval 300, pingTimeout 200, maxPayload 1e6,
 *                 connectTimeout 1000, CORS *): on connection to "/" and
 *                 "/custom" it emits "auth" with the handshake's auth payload;
 *                 "message" comes back as "message-back" with the same
 *                 arguments; "message-with-ack" is acknowledged with them.
 *                 Namespace "/chat" (the benchmark workload):
 *                   msg_to_server(data)   -> msg_to_client(data) to all of /chat
 *                   echo(...args, ack)    -> ack(...args)
 *                   join(room, ack)       -> joins, ack(true)
 *                   to_room(room, data)   -> room_msg(data) to that room only
 *                   bin_echo(bin, ack)    -> ack(bin)
 *   /engine.io/   a bare Engine.IO server that sends every message back, text
 *                 or binary, configured as the engine.io v4 spec's test suite
 *                 expects (pingInterval 300, pingTimeout 200, maxPayload 1e6,
 *                 CORS *)
 *
 * Flags: --port N, --ping-interval MS, --ping-timeout MS,
 * --max-http-buffer-size BYTES, --eio3 (also accept Engine.IO v3 clients),
 * --transports polling|websocket|both, --forbid-header NAME (refuse handshakes
 * carrying that header with 403, through eio_options.allow_request).
 * Prints "listening on PORT"; SIGTERM/SIGINT shut it down (exit 0, leak-free).
 */
#include "socketio.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static http_server *http;
static uv_signal_t sig_int, sig_term;

static void echo_message(eio_socket *s, const char *data, size_t len, int binary, void *ud) {
    eio_send(s, data, len, binary);
}

/* ---- Socket.IO: the protocol test suite's handlers ---- */

static void emit_auth(sio_socket *s, void *ud) {
    json_t *auth = sio_socket_auth(s);
    json_t *args = json_pack("[O]", auth ? auth : json_object());
    if (!auth) json_decref(json_array_get(args, 0)); /* json_object() above was a new reference */
    sio_emit(s, "auth", args);
    json_decref(args);
}

static void message(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    if (strstr(raw, "\"_placeholder\"")) /* binary arguments: re-encode with their attachments */
        sio_emit(s, "message-back", sio_event_args(ev));
    else
        sio_emit_raw(s, "message-back", raw, len);
}

static void message_with_ack(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    sio_event_ack_raw(ev, raw, len);
}

/* ---- Socket.IO: namespace /chat ---- */

static sio_server *sio;

static void chat_msg(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    sio_broadcast_emit_raw(sio_broadcast_new(sio, "/chat"), "msg_to_client", raw, len);
}

static void chat_echo(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len);
    sio_event_ack_raw(ev, raw, len);
}

static void chat_join(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    if (!json_is_string(room)) return;
    sio_join(s, json_string_value(room));
    json_t *yes = json_pack("[b]", 1);
    sio_event_ack(ev, yes);
    json_decref(yes);
}

static void chat_to_room(sio_socket *s, sio_event *ev, void *ud) {
    json_t *room = sio_event_arg(ev, 0);
    json_t *data = sio_event_arg(ev, 1);
    if (!json_is_string(room)) return;
    json_t *args = json_pack("[O]", data ? data : json_null());
    sio_broadcast_emit(sio_broadcast_to(sio_broadcast_new(sio, "/chat"), json_string_value(room)),
                       "room_msg", args);
    json_decref(args);
}

static void chat_bin_echo(sio_socket *s, sio_event *ev, void *ud) {
    json_t *args = sio_event_args(ev);
    sio_event_ack(ev, args);
}

/* allow_request: refuses a handshake that carries the header named by ud */
static int forbid_header(const http_req *req, void *ud) {
    return http_req_header(req, ud) != NULL;
}

static void on_closed(void *ud) {
    uv_close((uv_handle_t *)&sig_int, NULL);
    uv_close((uv_handle_t *)&sig_term, NULL);
}

static void on_signal(uv_signal_t *s, int signum) {
    uv_signal_stop(&sig_int);
    uv_signal_stop(&sig_term);
    http_server_shutdown(http, on_closed, NULL);
}

static void usage(FILE *f) {
    fprintf(f, "usage: sio-test-server [--port N] [--ping-interval MS] [--ping-timeout MS]\n"
               "                       [--max-http-buffer-size BYTES] [--eio3] [--connect-timeout MS]\n"
               "                       [--transports polling|websocket|both]\n"
               "                       [--forbid-header NAME]\n");
}

int main(int argc, char **argv) {
    int port = 3000, eio3 = 0, transports = EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
    uint32_t ping_interval = 300, ping_timeout = 200, connect_timeout = 1000;
    size_t max_buffer = 1000000;
    const char *forbidden = NULL;
    static const struct option long_opts[] = {
        {"port", required_argument, 0, 'p'},
        {"ping-interval", required_argument, 0, 'i'},
        {"ping-timeout", required_argument, 0, 't'},
        {"max-http-buffer-size", required_argument, 0, 'm'},
        {"eio3", no_argument, 0, '3'},
        {"connect-timeout", required_argument, 0, 'c'},
        {"transports", required_argument, 0, 'T'},
        {"forbid-header", required_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = atoi(optarg); break;
        case 'i': ping_interval = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 't': ping_timeout = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'm': max_buffer = strtoull(optarg, NULL, 10); break;
        case '3': eio3 = 1; break;
        case 'c': connect_timeout = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'T':
            transports = !strcmp(optarg, "polling")     ? EIO_TRANSPORT_POLLING
                         : !strcmp(optarg, "websocket") ? EIO_TRANSPORT_WEBSOCKET
                                                        : EIO_TRANSPORT_POLLING | EIO_TRANSPORT_WEBSOCKET;
            break;
        case 'f': forbidden = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = port;
    ho.max_connections = 30000;
    http = http_server_new(loop, &ho);

    eio_options eo;
    eio_options_init(&eo);
    eo.path = "/engine.io/";
    eo.ping_interval = ping_interval;
    eo.ping_timeout = ping_timeout;
    eo.max_http_buffer_size = max_buffer;
    eo.allow_eio3 = eio3;
    eo.transports = transports;
    eo.cors.origin = "*";
    if (forbidden) {
        eo.allow_request = forbid_header;
        eo.allow_request_userdata = (void *)forbidden;
    }
    eio_callbacks ecb = {.on_message = echo_message};
    eio_server *eio = eio_server_new(loop, &eo, &ecb, NULL);
    eio_server_attach(eio, http);

    sio_server_options so;
    sio_server_options_init(&so);
    so.eio.ping_interval = ping_interval;
    so.eio.ping_timeout = ping_timeout;
    so.eio.max_http_buffer_size = max_buffer;
    so.eio.allow_eio3 = eio3;
    so.eio.transports = transports;
    so.eio.cors.origin = "*";
    so.connect_timeout = connect_timeout;
    sio = sio_server_new(loop, &so);
    sio_on_connect(sio, "/", emit_auth, NULL);
    sio_on(sio, "/", "message", message, NULL);
    sio_on(sio, "/", "message-with-ack", message_with_ack, NULL);
    sio_on_connect(sio, "/custom", emit_auth, NULL);
    sio_on(sio, "/chat", "msg_to_server", chat_msg, NULL);
    sio_on(sio, "/chat", "echo", chat_echo, NULL);
    sio_on(sio, "/chat", "join", chat_join, NULL);
    sio_on(sio, "/chat", "to_room", chat_to_room, NULL);
    sio_on(sio, "/chat", "bin_echo", chat_bin_echo, NULL);
    sio_attach(sio, http);

    int r = http_server_listen(http);
    if (r) {
        fprintf(stderr, "sio-test-server: listen on port %d: %s\n", port, sio_strerror(r));
        return 1;
    }
    printf("listening on %d\n", http_server_port(http));
    fflush(stdout);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return uv_loop_close(loop) == 0 ? 0 : 3;
}
