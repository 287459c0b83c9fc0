/* Fuzz harness for src/sio/sio_packet (and the JSON lexer and tree under it).
 *
 * The input is one Socket.IO packet text. When it decodes: binary packets
 * get synthetic attachments through sio_binary; the payload is materialized;
 * the packet is encoded again from the jansson values and decoded again, and
 * both decodes must agree (header fields, and the values compared by meaning:
 * numbers by value, since 1.0 may come back as 1). EVENT and ACK packets are
 * also re-emitted through the raw path, which must reproduce the raw
 * argument text byte for byte.
 */
#include "sio/sio_packet.h"
#include "util/json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_sio_packet: %s\n", what);
    abort();
}

static bool same_json(const json_t *a, const json_t *b, unsigned depth) {
    if (depth > UTIL_JSON_MAX_DEPTH + 2) die("too deep");
    if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same_json(json_array_get(a, i), json_array_get(b, i), depth + 1)) return false;
        return true;
    case JSON_OBJECT:
        if (json_object_size(a) != json_object_size(b)) return false;
        for (void *it = json_object_iter((json_t *)a); it;
             it = json_object_iter_next((json_t *)a, it)) {
            json_t *other =
                json_object_getn(b, json_object_iter_key(it), json_object_iter_key_len(it));
            if (!other || !same_json(json_object_iter_value(it), other, depth + 1)) return false;
        }
        return true;
    default:
        return true; /* true, false, null */
    }
}

/* EVENT and BINARY_EVENT (ACK and BINARY_ACK) are one kind: a binary header
 * whose placeholders all sit inside other placeholders (or that has none)
 * re-encodes as a plain packet. */
static sio_packet_type kind(sio_packet_type t) {
    return t == SIO_PACKET_BINARY_EVENT ? SIO_PACKET_EVENT
           : t == SIO_PACKET_BINARY_ACK ? SIO_PACKET_ACK
                                        : t;
}

static bool span_eq(const char *a, size_t alen, const char *b, size_t blen) {
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A decoded packet with its attachments, reassembled if binary. */
typedef struct whole {
    sio_packet plain;
    sio_binary bin;
    const sio_packet *p;
} whole;

/* Decodes text; for binary packets adds the attachments atts[0, n). */
static int decode_whole(whole *w, const char *text, size_t len, util_rcbuf **atts, uint32_t n) {
    w->bin = (sio_binary)SIO_BINARY_INIT;
    w->p = &w->plain;
    sio_decode_opts opts = {.max_attachments = n > SIO_DEFAULT_MAX_ATTACHMENTS ? n : 0};
    int r = sio_packet_decode(&w->plain, text, len, &opts);
    if (r || !sio_packet_is_binary(w->plain.type)) return r;
    if (n != w->plain.attachments) die("attachment count differs");
    if (sio_binary_start(&w->bin, &w->plain)) die("binary start failed");
    for (uint32_t i = 0; i < n; i++)
        if (sio_binary_add(&w->bin, atts[i]) != (i + 1 == n ? 1 : 0)) die("binary add");
    w->p = &w->bin.packet;
    return 0;
}

static void free_whole(whole *w) {
    sio_packet_release(&w->plain);
    sio_binary_reset(&w->bin);
}

static json_t *values_of(const whole *w) {
    const sio_packet *p = w->p;
    util_rcbuf *const *atts = w->bin.atts;
    uint32_t n = w->bin.count;
    switch (p->type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
        return sio_packet_args(p, atts, n);
    default:
        return sio_packet_data(p, atts, n);
    }
}

static void check_raw_reemit(const sio_packet *p) {
    bool event = p->type == SIO_PACKET_EVENT || p->type == SIO_PACKET_BINARY_EVENT;
    util_buf out = UTIL_BUF_INIT;
    int r = event ? sio_encode_event_raw(&out, p->nsp, p->nsp_len, p->id, p->name, p->name_len,
                                         p->args, p->args_len, p->attachments)
                  : sio_encode_ack_raw(&out, p->nsp, p->nsp_len, p->id, p->args, p->args_len,
                                       p->attachments);
    if (r) die("raw re-emit failed");
    sio_packet q;
    if (sio_packet_decode(&q, out.data, out.len, NULL)) die("raw re-emit does not decode");
    if (q.type != p->type || q.id != p->id || q.argc != p->argc ||
        !span_eq(q.args, q.args_len, p->args, p->args_len) ||
        !span_eq(q.nsp, q.nsp_len, p->nsp, p->nsp_len) ||
        !span_eq(q.name, q.name_len, p->name, p->name_len))
        die("raw re-emit differs");
    sio_packet_release(&q);
    util_buf_free(&out);
}

/* Encodes p again from its values v; returns 0 or -1 when the type cannot
 * be re-encoded from values alone (CONNECT_ERROR without data). */
static int encode_again(const sio_packet *p, const json_t *v, util_buf *out,
                        sio_attachments *atts) {
    switch (p->type) {
    case SIO_PACKET_CONNECT:
        return sio_encode_connect(out, p->nsp, p->nsp_len, v);
    case SIO_PACKET_DISCONNECT:
        return sio_encode_disconnect(out, p->nsp, p->nsp_len);
    case SIO_PACKET_CONNECT_ERROR:
        return v ? sio_encode_connect_error(out, p->nsp, p->nsp_len, v) : -1;
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
        return sio_encode_event(out, p->nsp, p->nsp_len, p->id, p->name, p->name_len, v, atts);
    default:
        return sio_encode_ack(out, p->nsp, p->nsp_len, p->id, v, atts);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);

    sio_packet head;
    int r = sio_packet_decode(&head, text, size, NULL);
    uint32_t natts = r == 0 ? head.attachments : 0;
    sio_packet_release(&head);
    if (r) {
        free(text);
        return 0;
    }
    util_rcbuf *atts[SIO_DEFAULT_MAX_ATTACHMENTS];
    for (uint32_t i = 0; i < natts; i++) {
        atts[i] = util_rcbuf_new(i % 4);
        memset(atts[i]->data, (int)i, i % 4);
    }

    whole a;
    if (decode_whole(&a, text, size, atts, natts)) die("second decode differs");
    const sio_packet *p = a.p;
    if (p->nsp_len == 0 || p->nsp[0] != '/' || memchr(p->nsp, ',', p->nsp_len))
        die("bad namespace");

    json_t *v = values_of(&a);
    if (p->data && !v) die("materialization failed");

    bool event_or_ack = p->type != SIO_PACKET_CONNECT && p->type != SIO_PACKET_DISCONNECT &&
                        p->type != SIO_PACKET_CONNECT_ERROR;
    if (event_or_ack) check_raw_reemit(p);

    util_buf out = UTIL_BUF_INIT;
    sio_attachments enc = SIO_ATTACHMENTS_INIT;
    if (encode_again(p, v, &out, &enc) == 0) {
        /* one attachment referenced k times comes back as k attachments */
        util_rcbuf **atts2 = calloc(enc.len + 1, sizeof *atts2);
        for (size_t i = 0; i < enc.len; i++)
            atts2[i] = util_rcbuf_copy(enc.items[i].base, enc.items[i].len);
        whole b;
        if (decode_whole(&b, out.data, out.len, atts2, (uint32_t)enc.len)) {
            fprintf(stderr, "re-encoded: %.*s\n", (int)out.len, out.data);
            die("re-encoded packet does not decode");
        }
        const sio_packet *q = b.p;
        bool same_head = kind(q->type) == kind(p->type) &&
                         span_eq(q->nsp, q->nsp_len, p->nsp, p->nsp_len) &&
                         (!event_or_ack || q->id == p->id) &&
                         span_eq(q->name, q->name_len, p->name, p->name_len) && q->argc == p->argc;
        json_t *w = values_of(&b);
        bool same_values = (!v && !w) || (v && w && same_json(v, w, 0));
        if (!same_head || !same_values) {
            fprintf(stderr, "re-encoded: %.*s\n", (int)out.len, out.data);
            die("round trip differs");
        }
        json_decref(w);
        free_whole(&b);
        for (size_t i = 0; i < enc.len; i++) util_rcbuf_unref(atts2[i]);
        free(atts2);
    }
    sio_attachments_free(&enc);
    util_buf_free(&out);
    json_decref(v);
    free_whole(&a);
    for (uint32_t i = 0; i < natts; i++) util_rcbuf_unref(atts[i]);
    free(text);
    return 0;
}
