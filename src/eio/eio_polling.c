/* eio/eio_polling.c - the long-polling transport: a GET waits for packets
 * and takes everything queued at the end of the loop iteration; a POST
 * carries a payload of packets. See eio_internal.h.
 */
#include "eio/eio_internal.h"
#include "util/log.h"
#include "util/strlit.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Answers the waiting GET with everything queued (then a close packet, with_close). */
void eio_poll_respond(eio_socket *s, int with_close) {
    http_req *req = s->poll;
    if (!req) return;
    s->poll = NULL;
    http_req_on_abort(req, NULL, NULL);
    eio_payload_format fmt = EIO_PAYLOAD_V4;
    if (s->protocol == 3) {
        fmt = EIO_PAYLOAD_V3_TEXT;
        if (!s->b64)
            for (uint32_t i = 0; i < s->q.len; i++)
                if (s->q.items[i].binary) fmt = EIO_PAYLOAD_V3_BINARY;
    }
    util_buf body = UTIL_BUF_INIT;
    eio_payload_writer w;
    eio_payload_writer_init(&w, &body, fmt);
    int r = 0;
    for (uint32_t i = 0; i < s->q.len; i++) {
        eio_qent *e = &s->q.items[i];
        const char *d = e->buf->data + e->off;
        size_t len = e->buf->len - e->off;
        eio_packet p;
        if (e->binary)
            p = (eio_packet){.type = EIO_MESSAGE, .binary = true, .data = d, .len = len};
        else
            p = (eio_packet){.type = (eio_packet_type)(d[0] - '0'),
                             .binary = false,
                             .data = d + 1,
                             .len = len - 1};
        if (!r) r = eio_payload_write(&w, &p);
    }
    if (with_close) {
        eio_packet p = {.type = EIO_CLOSE, .data = "", .len = 0};
        if (!r) r = eio_payload_write(&w, &p);
    } else if (!s->q.len) {
        /* nothing to send, but the GET must end now (an upgrade or a close
         * releases it): a noop, as the reference answers */
        eio_packet p = {.type = EIO_NOOP, .data = "", .len = 0};
        if (!r) r = eio_payload_write(&w, &p);
    }
    if (!r) r = eio_payload_finish(&w);
    eio_queue_clear(s);
    eio_cors_headers(s->srv, req);
    if (r) {
        /* out of memory: the packets are lost, so the session cannot go on;
         * the next flush closes it ("transport error") */
        util_buf_free(&body);
        http_res_send(req, 500, "text/plain", "Internal Server Error");
        if (s->state == S_OPEN) {
            s->overflow = 1;
            eio_session_mark_dirty(s);
        }
        return;
    }
    http_res_header(req, "Content-Type",
                    fmt == EIO_PAYLOAD_V3_BINARY ? "application/octet-stream"
                                                 : "text/plain; charset=UTF-8");
    http_res_end(req, body.data, body.len);
    util_buf_free(&body);
}

/* ---- polling transport -------------------------------------------------------------------------
 */

static void poll_aborted(http_req *req, void *ud) {
    eio_socket *s = ud;
    s->poll = NULL;
    eio_session_close(s, "transport error");
}

void eio_polling_get(eio_socket *s, http_req *req) {
    if (s->poll) {
        /* a second GET while one waits: the client is confused; end the session */
        eio_send_error(s->srv, req, EIO_ERR_BAD_REQUEST);
        eio_session_close(s, "transport error");
        return;
    }
    s->poll = req;
    http_req_on_abort(req, poll_aborted, s);
    /* Once the probe is answered the client pauses polling, which waits for its
     * GET to come back: a GET that arrives after the probe's noop (the client
     * polled again before reading "3probe") gets a noop too, at once, rather
     * than at the next ping (never, for a v3 client, whose pings wait for the
     * upgrade: the session would time out). */
    if (s->upgrading == UP_PROBED && !s->q.len)
        eio_poll_respond(s, 0); /* a noop */
    else if (s->q.len)
        eio_session_mark_dirty(s); /* answered at the end of this iteration */
}

/* A POST over maxHttpBufferSize never reaches polling_post: the HTTP layer
 * refuses it with 413 (the route's max_body), and tells us here so that the
 * session ends too, as with the reference server. */
void eio_body_too_large(http_req *req, void *ud) {
    eio_server *srv = ud;
    const char *sid = http_req_query(req, "sid");
    eio_socket *s = sid ? util_map_get(&srv->sessions, sid, strlen(sid)) : NULL;
    if (s && s->transport == T_POLLING) eio_session_close(s, "transport error");
}

void eio_polling_post(eio_socket *s, http_req *req) {
    eio_server *srv = s->srv;
    size_t len;
    const char *body = http_req_body(req, &len);
    /* the decoder writes base64 binary in place: work on the request's own buffer */
    char *data = (char *)body;
    const char *ct = http_req_header(req, "content-type");
    eio_payload_format fmt = EIO_PAYLOAD_V4;
    if (s->protocol == 3)
        fmt = ct && strncasecmp(ct, UTIL_LIT("application/octet-stream")) == 0
                  ? EIO_PAYLOAD_V3_BINARY
                  : EIO_PAYLOAD_V3_TEXT;
    eio_payload_iter it;
    /* No packet-count limit beyond the body's: engine.io-client puts everything
     * buffered into one POST (up to maxPayload bytes), which can be thousands
     * of small packets, and each packet takes at least one byte anyway. */
    eio_payload_iter_init(&it, fmt, data, len, len < UINT_MAX ? (unsigned)len + 1 : UINT_MAX);
    eio_packet p;
    int r;
    s->busy++;
    while ((r = eio_payload_next(&it, &p)) == 1)
        if (eio_session_packet(s, &p) != 0) break;
    if (r < 0 && s->state == S_OPEN) {
        eio_send_error(srv, req, EIO_ERR_BAD_REQUEST);
        eio_session_close(s, "parse error");
    } else {
        eio_cors_headers(srv, req);
        http_res_send(req, 200, "text/html", "ok");
    }
    eio_session_release(s);
}

void eio_polling_draining(eio_socket *s, http_req *req, int websocket) {
    /* closed by the server: a GET takes what is queued, the next one the
     * close packet; a POST is ignored (the client is told by the GETs) */
    if (websocket) {
        eio_send_error(s->srv, req, EIO_ERR_BAD_REQUEST);
    } else if (strcmp(http_req_method(req), "GET") == 0) {
        int last = s->q.len == 0;
        s->poll = req;
        eio_poll_respond(s, last);
        if (last) eio_session_close(s, "drained");
    } else {
        eio_cors_headers(s->srv, req);
        http_res_send(req, 200, "text/html", "ok");
    }
}
