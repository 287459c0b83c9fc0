/* adapter/redis_wire_internal.h - what the two halves of the wire codec
 * share (redis_wire.c: channels, broadcasts, field readers, MessagePack
 * writers; redis_wire_request.c: requests, responses, fetchSockets entries).
 * Not used outside src/adapter/redis_wire*.c.
 */
#ifndef SIO_ADAPTER_REDIS_WIRE_INTERNAL_H
#define SIO_ADAPTER_REDIS_WIRE_INTERNAL_H

#include "adapter/redis_wire.h"

#include <msgpack.h>

/* Sets *why and gives the decoders' error code. */
#define BAD(text) (*why = (text), SIO_EPROTO)

/* Room lists of one message: checked, then one block of name pointers. */
typedef struct redis_wire_room_lists {
    json_t *lists[3];
    redis_wire_rooms *outs[3];
    size_t n;
} redis_wire_room_lists;

/* Reading (0, or SIO_EPROTO with *why, SIO_ETOOBIG, SIO_ENOMEM): the payload
 * (JSON if sniffing finds '{', else MessagePack), names, integers, members,
 * room lists (added, then checked and taken into one block), opts, packets. */
int redis_wire_parse_payload(const void *msg, size_t len, size_t max_bytes, bool sniff,
                             json_t **root, bool *msgpack, const char **why);
int redis_wire_as_name(const json_t *v, const char **out);
bool redis_wire_as_int(const json_t *v, int64_t *out);
json_t *redis_wire_member(const json_t *obj, const char *key);
int redis_wire_rooms_add(redis_wire_room_lists *l, json_t *a, redis_wire_rooms *out);
int redis_wire_rooms_take(redis_wire_room_lists *l, const char ***storage, const char **why);
int redis_wire_parse_opts(const json_t *o, redis_wire_opts *out, redis_wire_room_lists *l,
                          const char **why);
int redis_wire_parse_packet(const json_t *p, const char **nsp, json_t **data, const char **why);
/* Writing MessagePack in notepack's order and widths: 0 or SIO_ENOMEM. */
int redis_wire_pk_str(msgpack_packer *pk, const char *s);
int redis_wire_pk_packet(msgpack_packer *pk, const char *nsp, const json_t *data);
int redis_wire_pk_opts(msgpack_packer *pk, const redis_wire_opts *o);

#endif
