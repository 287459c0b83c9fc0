/* ws/ws_handshake.c - Sec-WebSocket-Accept, header token lists, and the
 * permessage-deflate offer parser and negotiator (see ws_handshake.h).
 *
 * The extension header grammar (RFC 6455 section 9.1, RFC 7230 lists):
 *   extension-list = 1#( token *( OWS ";" OWS token [ OWS "=" OWS value ] ) )
 *   value          = token / quoted-string
 * Malformed offers are declined one by one: the parser skips to the next comma
 * that is not inside a quoted string and tries again from there.
 */
#include "ws/ws_handshake.h"

#include "socketio/common.h"
#include "util/base64.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int is_ows(char c) {
    return c == ' ' || c == '\t';
}

static int lower(int c) {
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* SHA-1 fetched from the provider once: EVP_sha1() makes every digest fetch
 * it again (most of the cost of a 60-byte hash under OpenSSL 3). */
static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void sha1_fetch(void) {
    sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL);
}

int ws_accept_key(const char *client_key, size_t len, char out[WS_ACCEPT_LEN + 1]) {
    while (len && is_ows(*client_key)) client_key++, len--;
    while (len && is_ows(client_key[len - 1])) len--;
    if (len != 24) return SIO_EINVAL; /* base64 of 16 bytes is 24 characters */
    uint8_t raw[18];
    if (util_base64_decode(client_key, len, raw) != 16) return SIO_EINVAL;

    char cat[24 + sizeof ws_guid - 1];
    memcpy(cat, client_key, 24);
    memcpy(cat + 24, ws_guid, sizeof ws_guid - 1);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pthread_once(&sha1_once, sha1_fetch);
    if (!EVP_Digest(cat, sizeof cat, md, &mdlen, sha1_md ? sha1_md : EVP_sha1(), NULL) ||
        mdlen != 20)
        return SIO_EINVAL;
    util_base64_encode(md, 20, out);
    return 0;
}

int ws_header_has_token(const char *value, size_t len, const char *token) {
    size_t tlen = strlen(token), i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && value[i] != ',') i++;
        size_t end = i++;
        while (start < end && is_ows(value[start])) start++;
        while (end > start && is_ows(value[end - 1])) end--;
        if (end - start != tlen) continue;
        size_t k = 0;
        while (k < tlen && lower((unsigned char)value[start + k]) == lower((unsigned char)token[k]))
            k++;
        if (k == tlen) return 1;
    }
    return 0;
}

/* ---- Sec-WebSocket-Extensions ------------------------------------------- */

static int is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* A cursor over the header value. */
typedef struct ext_cursor {
    const char *s;
    size_t len, pos;
} ext_cursor;

static void skip_ows(ext_cursor *c) {
    while (c->pos < c->len && is_ows(c->s[c->pos])) c->pos++;
}

/* Reads a token; returns its length (0 when there is none). */
static size_t read_token(ext_cursor *c, const char **tok) {
    *tok = c->s + c->pos;
    size_t start = c->pos;
    while (c->pos < c->len && is_tchar((unsigned char)c->s[c->pos])) c->pos++;
    return c->pos - start;
}

/* Reads a token or a quoted-string into val (unescaped, NUL-terminated, cut
 * at cap - 1 with *too_long set). Returns -1 on a syntax error. */
static int read_value(ext_cursor *c, char *val, size_t cap, int *too_long) {
    size_t n = 0;
    *too_long = 0;
    if (c->pos < c->len && c->s[c->pos] == '"') {
        c->pos++;
        for (;;) {
            if (c->pos >= c->len) return -1; /* unterminated */
            char ch = c->s[c->pos++];
            if (ch == '"') break;
            if (ch == '\\') {
                if (c->pos >= c->len) return -1;
                ch = c->s[c->pos++];
            }
            if (n + 1 < cap)
                val[n++] = ch;
            else
                *too_long = 1;
        }
    } else {
        const char *tok;
        size_t tlen = read_token(c, &tok);
        if (tlen == 0) return -1;
        for (size_t i = 0; i < tlen; i++) {
            if (n + 1 < cap)
                val[n++] = tok[i];
            else
                *too_long = 1;
        }
    }
    val[n] = '\0';
    return 0;
}

/* Skips to just after the next comma outside a quoted string (or the end). */
static void skip_offer(ext_cursor *c) {
    int quoted = 0;
    while (c->pos < c->len) {
        char ch = c->s[c->pos++];
        if (quoted && ch == '\\') {
            if (c->pos < c->len) c->pos++;
        } else if (ch == '"') {
            quoted = !quoted;
        } else if (ch == ',' && !quoted) {
            return;
        }
    }
}

/* One permessage-deflate offer as read. Window values: 0 absent, -1 present
 * without a value, else 8..15. */
typedef struct pmd_offer {
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits;
    int client_max_window_bits;
} pmd_offer;

/* "8".."15" exactly (no sign, no leading zero): the value, else -1. */
static int window_bits_value(const char *v) {
    size_t n = strlen(v);
    if (n == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + v[1] - '0';
    return -1;
}

static int token_is(const char *tok, size_t n, const char *name) {
    if (strlen(name) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)tok[i]) != lower((unsigned char)name[i])) return 0;
    return 1;
}

/* Applies one parameter to an offer; -1 when it makes the offer invalid. */
static int pmd_param(pmd_offer *o, const char *name, size_t nlen, int has_value, const char *value,
                     int too_long) {
    if (token_is(name, nlen, "server_no_context_takeover")) {
        if (has_value || o->server_no_context_takeover) return -1;
        o->server_no_context_takeover = 1;
    } else if (token_is(name, nlen, "client_no_context_takeover")) {
        if (has_value || o->client_no_context_takeover) return -1;
        o->client_no_context_takeover = 1;
    } else if (token_is(name, nlen, "server_max_window_bits")) {
        if (!has_value || too_long || o->server_max_window_bits) return -1;
        int bits = window_bits_value(value);
        if (bits < 0) return -1;
        o->server_max_window_bits = bits;
    } else if (token_is(name, nlen, "client_max_window_bits")) {
        if (too_long || o->client_max_window_bits) return -1;
        if (!has_value) {
            o->client_max_window_bits = -1;
        } else {
            int bits = window_bits_value(value);
            if (bits < 0) return -1;
            o->client_max_window_bits = bits;
        }
    } else {
        return -1; /* unknown parameter */
    }
    return 0;
}

/*
 * Reads one offer at the cursor (which ends after its comma). Returns 1 for a
 * valid permessage-deflate offer (filled into *o), 0 for any other extension
 * or an invalid offer.
 */
static int read_offer(ext_cursor *c, pmd_offer *o) {
    memset(o, 0, sizeof *o);
    skip_ows(c);
    const char *name;
    size_t nlen = read_token(c, &name);
    if (nlen == 0 || !token_is(name, nlen, "permessage-deflate")) goto decline;
    for (;;) {
        skip_ows(c);
        if (c->pos >= c->len) return 1;
        char ch = c->s[c->pos];
        if (ch == ',') {
            c->pos++;
            return 1;
        }
        if (ch != ';') goto decline;
        c->pos++;
        skip_ows(c);
        const char *pname;
        size_t plen = read_token(c, &pname);
        if (plen == 0) goto decline;
        skip_ows(c);
        char value[16];
        int has_value = 0, too_long = 0;
        if (c->pos < c->len && c->s[c->pos] == '=') {
            c->pos++;
            skip_ows(c);
            if (read_value(c, value, sizeof value, &too_long) < 0) goto decline;
            has_value = 1;
        }
        if (pmd_param(o, pname, plen, has_value, value, too_long) < 0) goto decline;
    }
decline:
    skip_offer(c);
    return 0;
}

int ws_deflate_negotiate(const char *header, size_t len, const ws_deflate_params *policy,
                         ws_deflate_params *agreed, char *response, size_t response_cap) {
    ws_deflate_params pol = policy ? *policy : WS_DEFLATE_PARAMS_DEFAULT;
    if (pol.server_max_window_bits < 8 || pol.server_max_window_bits > 15)
        pol.server_max_window_bits = 15;
    if (pol.client_max_window_bits < 8 || pol.client_max_window_bits > 15)
        pol.client_max_window_bits = 15;

    ext_cursor c = {header, len, 0};
    pmd_offer o;
    int found = 0;
    while (c.pos < c.len) {
        size_t before = c.pos;
        if (read_offer(&c, &o)) {
            found = 1;
            break;
        }
        if (c.pos == before) break; /* cannot happen: every read moves on */
    }
    if (!found) return 0;

    ws_deflate_params a;
    a.server_no_context_takeover = o.server_no_context_takeover || pol.server_no_context_takeover;
    a.client_no_context_takeover = o.client_no_context_takeover || pol.client_no_context_takeover;
    int sbits = pol.server_max_window_bits;
    if (o.server_max_window_bits > 0 && o.server_max_window_bits < sbits)
        sbits = o.server_max_window_bits;
    int send_sbits = o.server_max_window_bits > 0 || sbits < 15;
    int cbits = 15, send_cbits = 0;
    if (o.client_max_window_bits != 0) {
        cbits = pol.client_max_window_bits;
        if (o.client_max_window_bits > 0 && o.client_max_window_bits < cbits)
            cbits = o.client_max_window_bits;
        send_cbits = o.client_max_window_bits > 0 || cbits < 15;
    }
    a.server_max_window_bits = (uint8_t)sbits;
    a.client_max_window_bits = (uint8_t)cbits;

    int n = snprintf(response, response_cap, "permessage-deflate%s%s",
                     a.server_no_context_takeover ? "; server_no_context_takeover" : "",
                     a.client_no_context_takeover ? "; client_no_context_takeover" : "");
    if (n >= 0 && (size_t)n < response_cap && send_sbits)
        n += snprintf(response + n, response_cap - (size_t)n, "; server_max_window_bits=%d", sbits);
    if (n >= 0 && (size_t)n < response_cap && send_cbits)
        n += snprintf(response + n, response_cap - (size_t)n, "; client_max_window_bits=%d", cbits);
    if (n < 0 || (size_t)n >= response_cap) return SIO_EINVAL;
    *agreed = a;
    return 1;
}
