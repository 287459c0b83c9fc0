/* sio/sio_packet.h - Socket.IO v5 packets: decoding, binary reassembly,
 * materialization into jansson values, and encoding. Pure: no I/O.
 *
 * Wire format (one Engine.IO message each, the leading "4" already removed):
 *
 *     <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
 *
 * e.g. 2/chat,12["msg",{"a":1},"x"] is an EVENT on "/chat" with ack id 12.
 * BINARY_EVENT and BINARY_ACK packets are followed by <attachments> binary
 * Engine.IO messages; their payload holds {"_placeholder":true,"num":k}
 * where attachment k goes.
 *
 * Decoding is lazy. sio_packet_decode() validates the whole packet in one
 * pass (the payload must be valid JSON, of the shape the type requires) but
 * builds nothing: the namespace, the payload, the event name and the raw
 * text of the arguments are pointers into the input. A server can route on
 * the name and forward the arguments to other clients by concatenating
 * bytes (sio_encode_event_raw), and only a handler that asks for the values
 * pays for a tree (sio_packet_args). The raw arguments are the text between
 * the event name and the closing ']': for 2/chat,12["msg",{"a":1},"x"] they
 * are {"a":1},"x" (argc 2), so ["other",<args>] re-emits them under another
 * name, and [<args>] answers them as an ACK. For binary packets the
 * placeholders stay in the raw text and keep their meaning as long as the
 * same attachments follow in the same order.
 *
 * Validation follows the reference parser (socket.io-parser isPayloadValid):
 *   CONNECT        payload absent or an object
 *   DISCONNECT     no payload
 *   CONNECT_ERROR  payload absent, a string or an object
 *   EVENT          an array whose first element is a number or a string other
 *                  than a reserved name (connect, connect_error, disconnect,
 *                  disconnecting, newListener, removeListener)
 *   ACK            payload absent or an array
 *   BINARY_*       as EVENT/ACK, with 1..max_attachments attachments, every
 *                  placeholder's num an integer below the count
 * and is stricter where the reference is loose by accident: an EVENT must
 * have a payload (the protocol says so; the reference would dispatch an event
 * without a name), the attachment count and the ack id are plain decimal
 * digits (no "1e1", no spaces), an ack id is below SIO_NO_ID, a placeholder's
 * num is an integer, and JSON text must be UTF-8 (see util/json_scan.h).
 */
#ifndef SIO_SIO_PACKET_H
#define SIO_SIO_PACKET_H

#include "socketio/common.h"
#include "util/buf.h"
#include "util/vec.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sio_packet_type {
    SIO_PACKET_CONNECT = 0,
    SIO_PACKET_DISCONNECT = 1,
    SIO_PACKET_EVENT = 2,
    SIO_PACKET_ACK = 3,
    SIO_PACKET_CONNECT_ERROR = 4,
    SIO_PACKET_BINARY_EVENT = 5,
    SIO_PACKET_BINARY_ACK = 6,
} sio_packet_type;

/* The ack id of a packet that has none. */
#define SIO_NO_ID UINT64_MAX
/* The reference parser's default limit of attachments per packet. */
#define SIO_DEFAULT_MAX_ATTACHMENTS 10
/* Event names up to this many bytes are unescaped without allocating. */
#define SIO_PACKET_NAME_INLINE 64

typedef struct sio_decode_opts {
    uint32_t max_attachments; /* more is SIO_ETOOBIG; 0 means the default */
} sio_decode_opts;

/* A decoded packet. Every pointer is into the decoded text (or into the
 * packet itself, or static), so the text must outlive it. */
typedef struct sio_packet {
    sio_packet_type type;
    uint32_t attachments; /* BINARY_*: binary messages that follow */
    const char *raw;      /* the decoded text */
    size_t raw_len;
    const char *nsp; /* the namespace; "/" when the packet names none */
    size_t nsp_len;
    uint64_t id;      /* the ack id, SIO_NO_ID if none */
    const char *data; /* the JSON payload exactly as sent; NULL when absent */
    size_t data_len;
    /* EVENT, BINARY_EVENT: the event name, unescaped (not NUL-terminated).
     * A number as first element (which the reference accepts) gives its
     * JSON text with name_is_number set. */
    const char *name;
    size_t name_len;
    bool name_is_number;
    /* EVENT, BINARY_EVENT (after the name), ACK, BINARY_ACK (all elements):
     * the raw JSON text of the arguments without brackets, and their count.
     * Empty (args_len 0, argc 0) when there are none. */
    const char *args;
    size_t args_len;
    uint32_t argc;
    /* private */
    char *name_heap;
    char name_buf[SIO_PACKET_NAME_INLINE];
} sio_packet;

/*
 * Decodes and validates the packet text buf[0, len). opts may be NULL.
 * Returns 0, SIO_EPROTO (malformed: the reference server closes the client)
 * or SIO_ETOOBIG (more attachments than allowed). Allocates only for an
 * escaped event name longer than SIO_PACKET_NAME_INLINE bytes. Call
 * sio_packet_release() afterwards whatever the result.
 */
int sio_packet_decode(sio_packet *p, const char *buf, size_t len, const sio_decode_opts *opts);

/* Frees what a decode allocated (if anything). The packet may be reused. */
void sio_packet_release(sio_packet *p);

/* Whether an event name is one the protocol reserves (see above). */
bool sio_event_name_reserved(const char *name, size_t len);

/* Whether a type carries binary attachments. */
static inline bool sio_packet_is_binary(sio_packet_type t) {
    return t == SIO_PACKET_BINARY_EVENT || t == SIO_PACKET_BINARY_ACK;
}

/* ---- binary reassembly ------------------------------------------------------
 *
 * After a BINARY_* header arrives, the next `attachments` Engine.IO messages
 * of the connection must be binary and belong to it; a text message before
 * the last one, or a binary message when no header is waiting, is a protocol
 * error (the session enforces this, using sio_binary_active()).
 */
typedef struct sio_binary {
    sio_packet packet; /* the header, decoded again from `raw` */
    char *raw;         /* owned copy of the header text; NULL when idle */
    util_rcbuf **atts; /* the attachments received so far, one reference each */
    uint32_t count;
} sio_binary;

#define SIO_BINARY_INIT                                                                            \
    { .raw = NULL, .atts = NULL, .count = 0 }

/* Starts collecting for a decoded BINARY_* header (its text is copied).
 * 0, SIO_EINVAL (not a binary packet, or already collecting) or SIO_ENOMEM. */
int sio_binary_start(sio_binary *b, const sio_packet *header);

/* Adds the next attachment, taking a reference. 1 when the packet is
 * complete (b->packet and b->atts are then ready), 0 when more are expected,
 * SIO_EPROTO when none was expected. */
int sio_binary_add(sio_binary *b, util_rcbuf *att);

static inline bool sio_binary_active(const sio_binary *b) {
    return b->raw != NULL;
}

/* Drops the header and the attachment references; b is idle again. */
void sio_binary_reset(sio_binary *b);

/* ---- blobs: binary data inside jansson values --------------------------------
 *
 * jansson has no binary type, so a blob is an object with the single member
 * "\u0000sio_blob" whose value is a jansson string holding the raw bytes (not
 * UTF-8: never json_dumps() a tree with blobs; sio_encode_* turn them into
 * placeholders and attachments). Only use these two functions on them.
 */
json_t *sio_blob_new(const void *data, size_t len);
/* True if v is a blob; then *data and *len describe its bytes (owned by v). */
bool sio_blob_get(const json_t *v, const char **data, size_t *len);

/* ---- materialization --------------------------------------------------------- */

/*
 * The arguments of an EVENT / ACK (or BINARY_*) as a new jansson array (the
 * event name excluded), built on demand. For binary packets every valid
 * placeholder becomes a blob with a copy of its attachment; atts must then
 * hold all p->attachments buffers (natts equal to it), e.g. from sio_binary.
 * NULL on another type, a wrong natts, or memory exhaustion.
 */
json_t *sio_packet_args(const sio_packet *p, util_rcbuf *const *atts, uint32_t natts);

/* The whole payload as a new jansson value (the CONNECT auth object, the
 * CONNECT_ERROR data...), placeholders replaced as above; NULL if absent. */
json_t *sio_packet_data(const sio_packet *p, util_rcbuf *const *atts, uint32_t natts);

/* ---- encoding ------------------------------------------------------------------
 *
 * Every encoder appends one packet's text to `out` (so a caller may first put
 * the Engine.IO "4" or room for a frame header there), and returns 0,
 * SIO_ENOMEM, or SIO_EINVAL for bad arguments: a namespace that does not start
 * with '/' or holds a ',', a reserved event name, args that are not an array,
 * blobs without an attachment list. nsp NULL (or "/") is the main namespace
 * and is omitted from the text, as the reference does. id SIO_NO_ID: none.
 *
 * The *_json encoders write jansson values as JSON.stringify would; blobs in
 * them become placeholders, the packet type becomes BINARY_*, and each
 * blob's bytes are appended to `atts` as a view into the jansson value (keep
 * it alive until the attachments are sent or copied). The *_raw encoders take
 * argument text as decoded (sio_packet.args) and copy it untouched; pass the
 * number of attachments it refers to (0 for none).
 */
typedef UTIL_VEC(uv_buf_t) sio_attachments;

#define SIO_ATTACHMENTS_INIT UTIL_VEC_INIT
void sio_attachments_free(sio_attachments *a);

int sio_encode_event(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const char *name,
                     size_t name_len, const json_t *args, sio_attachments *atts);
int sio_encode_event_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                         const char *name, size_t name_len, const char *args, size_t args_len,
                         uint32_t attachments);
int sio_encode_ack(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const json_t *args,
                   sio_attachments *atts);
int sio_encode_ack_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                       const char *args, size_t args_len, uint32_t attachments);
/* data: NULL or an object, e.g. {"sid":"..."} */
int sio_encode_connect(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data);
/* data: a string or an object, e.g. {"message":"Not authorized"} */
int sio_encode_connect_error(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data);
int sio_encode_disconnect(util_buf *out, const char *nsp, size_t nsp_len);

#endif
