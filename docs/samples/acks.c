/* acks.c - acknowledgements both ways: the server answers a client's
 * emit at once ("add") or later ("later"), asks a client and waits for its
 * answer ("ready?"), and asks everyone at once ("poll"). */
#include <socketio.h>
#include <stdio.h>
#include <stdlib.h>

static sio_server *sio;

/* add(a, b, ack): answered during the handler */
static void on_add(sio_socket *s, sio_event *ev, void *ud) {
    json_t *a = sio_event_arg(ev, 0), *b = sio_event_arg(ev, 1);
    if (!sio_event_wants_ack(ev)) return;
    if (!json_is_number(a) || !json_is_number(b)) {
        json_t *err = json_pack("[{ss}]", "error", "add needs two numbers");
        sio_event_ack(ev, err);
        json_decref(err);
        return;
    }
    json_t *sum = json_pack("[f]", json_number_value(a) + json_number_value(b));
    sio_event_ack(ev, sum);
    json_decref(sum);
}

/* later(ms, ack): the acknowledgement is kept and answered from a timer */
typedef struct later {
    uv_timer_t timer;
    sio_ack *ack;
} later;

static void later_closed(uv_handle_t *h) {
    free(h->data);
}

static void later_fire(uv_timer_t *t) {
    later *l = t->data;
    json_t *args = json_pack("[s]", "done");
    int r = sio_ack_send(l->ack, args);                         /* sends and frees the ack */
    if (r < 0) fprintf(stderr, "later: %s\n", sio_strerror(r)); /* SIO_ECLOSED: the client left */
    json_decref(args);
    uv_close((uv_handle_t *)&l->timer, later_closed);
}

static void on_later(sio_socket *s, sio_event *ev, void *ud) {
    json_t *ms = sio_event_arg(ev, 0);
    sio_ack *ack = sio_event_take_ack(ev); /* NULL when the client asked for none */
    if (!ack) return;
    later *l = malloc(sizeof *l);
    if (!l) {
        sio_ack_free(ack);
        return;
    }
    l->ack = ack;
    uv_timer_init(uv_default_loop(), &l->timer);
    l->timer.data = l;
    uv_timer_start(&l->timer, later_fire,
                   json_is_integer(ms) ? (uint64_t)json_integer_value(ms) : 0, 0);
}

/* the server asks: "ready?" to every new socket, and waits 5 s for the answer */
static void on_ready_answer(sio_socket *s, int err, json_t *args, void *ud) {
    if (err == SIO_ETIMEDOUT)
        printf("%s did not answer in time\n", sio_socket_id(s));
    else if (err == SIO_ECLOSED)
        printf("%s left before answering\n", sio_socket_id(s));
    else
        printf("%s answered with %zu argument(s)\n", sio_socket_id(s), json_array_size(args));
    fflush(stdout);
}

static void on_connect(sio_socket *s, void *ud) {
    sio_emit_with_ack(s, "ready?", NULL, 5000, on_ready_answer, NULL);
}

/* poll(question, ack): every other socket of /acks is asked; the asker gets
 * the answers that came within two seconds */
static void on_poll_answers(int err, json_t *responses, void *ud) {
    sio_ack *ack = ud;
    json_t *args = json_pack("[{sO sb}]", "answers", responses, "complete", err == 0);
    sio_ack_send(ack, args);
    json_decref(args);
}

static void on_poll(sio_socket *s, sio_event *ev, void *ud) {
    json_t *question = sio_event_arg(ev, 0);
    sio_ack *ack = sio_event_take_ack(ev);
    if (!ack) return;
    json_t *args = json_pack("[O]", question ? question : json_null());
    sio_broadcast *b = sio_broadcast_timeout(sio_socket_broadcast(s), 2000);
    /* on_poll_answers runs once: all answered, the timeout, or at once with nobody to ask */
    sio_broadcast_emit_with_ack(b, "question", args, on_poll_answers, ack);
    json_decref(args);
}

int main(void) {
    uv_loop_t *loop = uv_default_loop();
    http_server_options ho;
    http_server_options_init(&ho);
    ho.port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    http_server *app = http_server_new(loop, &ho);
    sio = sio_server_new(loop, NULL);
    sio_attach(sio, app);
    sio_on_connect(sio, "/acks", on_connect, NULL);
    sio_on(sio, "/acks", "add", on_add, NULL);
    sio_on(sio, "/acks", "later", on_later, NULL);
    sio_on(sio, "/acks", "poll", on_poll, NULL);
    if (http_server_listen(app) != 0) return 1;
    printf("listening on %d\n", http_server_port(app));
    fflush(stdout);
    return uv_run(loop, UV_RUN_DEFAULT);
}
