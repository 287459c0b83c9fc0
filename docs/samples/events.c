/* events.c - reading an event's arguments: raw JSON text to forward, jansson
 * values to inspect, and binary data (blobs) in both directions. */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

/* forward(...): the arguments go back untouched, without being parsed */
static void on_forward(sio_socket *s, sio_event *ev, void *ud) {
    size_t len;
    const char *raw = sio_event_args_raw(ev, &len); /* e.g. "1,\"two\",{\"three\":3}" */
    sio_emit_raw(s, "forwarded", raw, len);
}

/* sum(n1, n2, ..., ack): the arguments as jansson values */
static void on_sum(sio_socket *s, sio_event *ev, void *ud) {
    double total = 0;
    for (size_t i = 0; i < sio_event_argc(ev); i++) {
        json_t *v = sio_event_arg(ev, i); /* borrowed: valid during the handler */
        if (json_is_number(v)) total += json_number_value(v);
    }
    json_t *args = json_pack("[f]", total);
    sio_event_ack(ev, args); /* SIO_EINVAL when the client asked for none */
    json_decref(args);
}

/* upload(bytes, ack): binary in, binary out */
static void on_upload(sio_socket *s, sio_event *ev, void *ud) {
    const char *data;
    size_t len;
    if (!sio_blob_get(sio_event_arg(ev, 0), &data, &len)) return; /* not binary */
    unsigned char sum = 0;
    for (size_t i = 0; i < len; i++) sum ^= (unsigned char)data[i];
    /* an array holding a number and a blob: the blob travels as an attachment */
    json_t *args = json_pack("[Io]", (json_int_t)len, sio_blob_new(&sum, 1));
    sio_event_ack(ev, args);
    json_decref(args);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio_server *sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);
    sio_on(sio, "/", "forward", on_forward, NULL);
    sio_on(sio, "/", "sum", on_sum, NULL);
    sio_on(sio, "/", "upload", on_upload, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
