/* http/http_write.c - a connection's output: each write is a uv_write with
 * a request that owns the buffers it was given (freed, or a shared body's
 * reference released, when the write completes) and calls the writer back.
 * The bytes not yet written count in conn->out_bytes, which http_conn.c
 * holds against max_output_size; a completed write lets the connection
 * resume (the next pipelined request, reading) or, after the last response,
 * half-close.
 */
#include "http/http_internal.h"

#include <assert.h>
#include <stdlib.h>

typedef struct http_write_req {
    uv_write_t w;
    http_conn *conn;
    http_write_cb cb;
    http_req *req;
    void *userdata;
    size_t bytes;       /* counted in conn->out_bytes until the write completes */
    util_rcbuf *shared; /* a shared body this write holds a reference to */
    unsigned nowned;
    void *owned[4];
} http_write_req;

static void write_req_release(http_write_req *wr) {
    for (unsigned i = 0; i < wr->nowned; i++) free(wr->owned[i]);
    util_rcbuf_unref(wr->shared);
    free(wr);
}

static void on_write(uv_write_t *w, int status) {
    http_write_req *wr = (http_write_req *)w;
    http_conn *c = wr->conn;
    assert(c->writes_pending > 0 && c->out_bytes >= wr->bytes);
    c->writes_pending--;
    c->out_bytes -= wr->bytes;
    http_write_cb cb = wr->cb;
    http_req *req = wr->req;
    void *ud = wr->userdata;
    write_req_release(wr);
    if (cb) {
        /* the callback may end the request or even take the socket: no parsing
         * inside it, and c is freed here if it was taken */
        uint8_t was_feeding = c->feeding;
        c->feeding = 1;
        cb(req, status, ud);
        c->feeding = was_feeding;
        if (c->taken) {
            if (!was_feeding) free(c);
            return;
        }
    }
    if (c->closing) return;
    if (status < 0) {
        http_conn_close(c);
        return;
    }
    if (c->close_after) {
        if (!c->writes_pending && !c->req) http_conn_linger(c);
        return;
    }
    http_conn_resume(c);
}

int http_conn_write(http_conn *c, uv_buf_t *bufs, unsigned nbufs, unsigned owned_mask,
                    util_rcbuf *shared, http_write_cb cb, http_req *req, void *userdata) {
    assert(nbufs <= 4);
    http_write_req *wr = calloc(1, sizeof *wr);
    if (!wr) {
        for (unsigned i = 0; i < nbufs; i++)
            if (owned_mask & (1u << i)) free(bufs[i].base);
        util_rcbuf_unref(shared);
        return SIO_ENOMEM;
    }
    wr->conn = c;
    wr->cb = cb;
    wr->req = req;
    wr->userdata = userdata;
    wr->shared = shared;
    for (unsigned i = 0; i < nbufs; i++) {
        wr->bytes += bufs[i].len;
        if (owned_mask & (1u << i)) wr->owned[wr->nowned++] = bufs[i].base;
    }
    if (c->closing) {
        write_req_release(wr);
        return SIO_ECLOSED;
    }
    int r = uv_write(&wr->w, (uv_stream_t *)c->tcp, bufs, nbufs, on_write);
    if (r) {
        write_req_release(wr);
        http_conn_close(c);
        return r;
    }
    c->writes_pending++;
    c->out_bytes += wr->bytes;
    return 0;
}
