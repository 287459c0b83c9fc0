/* tests/api/mixed_types.c - passing one refcounted public type where another is
 * expected must not compile: a ws_frame holds a WebSocket frame header, so one
 * sent with eio_send_msg would put that header into a polling response.
 * check.sh compiles this file with SIO_MIX=0 (every call right: it must
 * compile) and with SIO_MIX=1..4 (one call wrong each: it must not). */
#include <socketio.h>

#ifndef SIO_MIX
#define SIO_MIX 0
#endif

void mixed_types(ws_conn *c, eio_socket *s, http_req *req, ws_frame *f, eio_msg *m, http_body *b);

void mixed_types(ws_conn *c, eio_socket *s, http_req *req, ws_frame *f, eio_msg *m, http_body *b) {
#if SIO_MIX == 0
    ws_send_frame(c, f);
    eio_send_msg(s, m);
    http_res_end_body(req, b);
    ws_frame_release(f);
    eio_msg_release(m);
    http_body_release(b);
#elif SIO_MIX == 1
    eio_send_msg(s, f);
#elif SIO_MIX == 2
    ws_send_frame(c, m);
#elif SIO_MIX == 3
    http_res_end_body(req, f);
#elif SIO_MIX == 4
    eio_msg_release(b);
#endif
}
