/* sio/sio_packet_encode.c - owns the encoding half of the Socket.IO v5 packet
 * codec (see sio_packet.h): packets written straight into the caller's
 * util_buf, binary values pulled out as attachments, and the blob values
 * (sio_blob_new, sio_blob_get) that stand for binary data in a jansson tree.
 */
#include "sio/sio_packet.h"
#include "socketio.h" /* sio_blob_new, sio_blob_get: public */

#include "util/json_scan.h" /* UTIL_JSON_MAX_DEPTH */
#include "util/decimal.h"
#include "util/json_tree.h"

#include <stdlib.h>
#include <string.h>

/* ---- blobs --------------------------------------------------------------------- */

#define BLOB_KEY "\0sio_blob"
#define BLOB_KEY_LEN 9

json_t *sio_blob_new(const void *data, size_t len) {
    json_t *bytes = json_stringn_nocheck(len ? data : "", len);
    json_t *obj = json_object();
    if (!bytes || !obj || json_object_setn_new_nocheck(obj, BLOB_KEY, BLOB_KEY_LEN, bytes)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

bool sio_blob_get(const json_t *v, const char **data, size_t *len) {
    if (!json_is_object(v) || json_object_size(v) != 1) return false;
    json_t *bytes = json_object_getn(v, BLOB_KEY, BLOB_KEY_LEN);
    if (!json_is_string(bytes)) return false;
    if (data) *data = json_string_value(bytes);
    if (len) *len = json_string_length(bytes);
    return true;
}

/* ---- encoding ------------------------------------------------------------------- */

void sio_attachments_free(sio_attachments *a) {
    util_vec_free(a);
}

static int attachments_push(sio_attachments *a, const char *data, size_t len) {
    return util_vec_push(a, uv_buf_init((char *)data, (unsigned)len));
}

static size_t count_blobs(const json_t *v, unsigned depth) {
    if (depth > UTIL_JSON_MAX_DEPTH) return 0;
    if (json_is_array(v)) {
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(v); i++)
            n += count_blobs(json_array_get(v, i), depth + 1);
        return n;
    }
    if (json_is_object(v)) {
        if (sio_blob_get(v, NULL, NULL)) return 1;
        size_t n = 0;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val) n += count_blobs(val, depth + 1);
        return n;
    }
    return 0;
}

static int blob_write_hook(util_buf *out, const json_t *v, void *ud) {
    sio_attachments *atts = ud;
    const char *data;
    size_t len;
    if (!sio_blob_get(v, &data, &len)) return 0;
    if (len > UINT32_MAX) return SIO_EINVAL; /* uv_buf_t lengths are 32-bit on some targets */
    int r = util_buf_printf(out, "{\"_placeholder\":true,\"num\":%zu}", (size_t)atts->len);
    if (r) return r;
    r = attachments_push(atts, data, len);
    return r ? r : 1;
}

static bool is_main_nsp(const char *nsp, size_t len) {
    return !nsp || len == 0 || (len == 1 && nsp[0] == '/');
}

static int write_head(util_buf *out, sio_packet_type type, size_t attachments, const char *nsp,
                      size_t nsp_len, uint64_t id) {
    bool main_nsp = is_main_nsp(nsp, nsp_len);
    if (!main_nsp && (nsp[0] != '/' || memchr(nsp, ',', nsp_len))) return SIO_EINVAL;
    if (attachments > UINT32_MAX) return SIO_EINVAL;
    int r = util_buf_reserve(out, (main_nsp ? 0 : nsp_len + 1) + 48);
    if (r) return r;
    char *w = out->data + out->len;
    *w++ = (char)('0' + type);
    if (sio_packet_is_binary(type)) {
        w += util_decimal(w, attachments);
        *w++ = '-';
    }
    if (!main_nsp) {
        memcpy(w, nsp, nsp_len);
        w += nsp_len;
        *w++ = ',';
    }
    if (id != SIO_NO_ID) w += util_decimal(w, id);
    out->len = (size_t)(w - out->data);
    return 0;
}

static int write_args_json(util_buf *out, const json_t *args, sio_attachments *atts, bool comma) {
    int r = 0;
    for (size_t i = 0; i < json_array_size(args) && !r; i++) {
        if ((comma || i) && (r = util_buf_append(out, ",", 1))) break;
        r = util_json_write(out, json_array_get(args, i), atts ? blob_write_hook : NULL, atts);
    }
    return r;
}

static int encode_with_json(util_buf *out, bool event, const char *nsp, size_t nsp_len, uint64_t id,
                            const char *name, size_t name_len, const json_t *args,
                            sio_attachments *atts) {
    if (args && !json_is_array(args)) return SIO_EINVAL;
    if (event && sio_event_name_reserved(name, name_len)) return SIO_EINVAL;
    size_t nblobs = args ? count_blobs(args, 0) : 0;
    if (nblobs && !atts) return SIO_EINVAL;
    sio_packet_type type = event ? (nblobs ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT)
                                 : (nblobs ? SIO_PACKET_BINARY_ACK : SIO_PACKET_ACK);
    size_t mark = out->len, att_mark = atts ? atts->len : 0;
    int r = write_head(out, type, nblobs, nsp, nsp_len, id);
    if (!r) r = util_buf_append(out, "[", 1);
    if (!r && event) r = util_json_write_string(out, name, name_len);
    if (!r && args) r = write_args_json(out, args, nblobs ? atts : NULL, event);
    if (!r) r = util_buf_append(out, "]", 1);
    if (r) {
        out->len = mark;
        if (atts) atts->len = att_mark;
    }
    return r;
}

int sio_encode_event(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const char *name,
                     size_t name_len, const json_t *args, sio_attachments *atts) {
    return encode_with_json(out, true, nsp, nsp_len, id, name, name_len, args, atts);
}

int sio_encode_ack(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id, const json_t *args,
                   sio_attachments *atts) {
    return encode_with_json(out, false, nsp, nsp_len, id, NULL, 0, args, atts);
}

static int encode_raw(util_buf *out, bool event, const char *nsp, size_t nsp_len, uint64_t id,
                      const char *name, size_t name_len, const char *args, size_t args_len,
                      uint32_t attachments) {
    if (event && sio_event_name_reserved(name, name_len)) return SIO_EINVAL;
    sio_packet_type type = event ? (attachments ? SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT)
                                 : (attachments ? SIO_PACKET_BINARY_ACK : SIO_PACKET_ACK);
    size_t mark = out->len;
    int r = write_head(out, type, attachments, nsp, nsp_len, id);
    if (!r) r = util_buf_reserve(out, args_len + name_len + 8);
    if (!r) r = util_buf_append(out, "[", 1);
    if (!r && event) r = util_json_write_string(out, name, name_len);
    if (!r && event && args_len) r = util_buf_append(out, ",", 1);
    if (!r) r = util_buf_append(out, args, args_len);
    if (!r) r = util_buf_append(out, "]", 1);
    if (r) out->len = mark;
    return r;
}

int sio_encode_event_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                         const char *name, size_t name_len, const char *args, size_t args_len,
                         uint32_t attachments) {
    return encode_raw(out, true, nsp, nsp_len, id, name, name_len, args, args_len, attachments);
}

int sio_encode_ack_raw(util_buf *out, const char *nsp, size_t nsp_len, uint64_t id,
                       const char *args, size_t args_len, uint32_t attachments) {
    return encode_raw(out, false, nsp, nsp_len, id, NULL, 0, args, args_len, attachments);
}

static int encode_simple(util_buf *out, sio_packet_type type, const char *nsp, size_t nsp_len,
                         const json_t *data) {
    size_t mark = out->len;
    int r = write_head(out, type, 0, nsp, nsp_len, SIO_NO_ID);
    if (!r && data) r = util_json_write(out, data, NULL, NULL);
    if (r) out->len = mark;
    return r;
}

int sio_encode_connect(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data) {
    if (data && !json_is_object(data)) return SIO_EINVAL;
    return encode_simple(out, SIO_PACKET_CONNECT, nsp, nsp_len, data);
}

int sio_encode_connect_error(util_buf *out, const char *nsp, size_t nsp_len, const json_t *data) {
    if (!json_is_object(data) && !json_is_string(data)) return SIO_EINVAL;
    return encode_simple(out, SIO_PACKET_CONNECT_ERROR, nsp, nsp_len, data);
}

int sio_encode_disconnect(util_buf *out, const char *nsp, size_t nsp_len) {
    return encode_simple(out, SIO_PACKET_DISCONNECT, nsp, nsp_len, NULL);
}
