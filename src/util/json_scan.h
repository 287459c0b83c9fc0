/* util/json_scan.h - a single-pass JSON validator and pull lexer; no tree.
 *
 * The Socket.IO decoder must check that every payload is valid JSON (the
 * reference server closes a client that sends anything else), but most
 * payloads are only passed on, so building a tree would be wasted work. The
 * lexer reads RFC 8259 JSON token by token, checks the grammar, the nesting
 * (at most UTIL_JSON_MAX_DEPTH levels) and the strings (strict UTF-8, no raw
 * control characters, well-formed escapes), and reports where each token is.
 *
 * Differences from JSON.parse, on purpose: invalid UTF-8 is an error (a
 * JavaScript peer would have decoded it into U+FFFD), and nesting deeper than
 * UTIL_JSON_MAX_DEPTH is an error. Escaped lone surrogates ("\ud800") are
 * accepted, as JSON.parse does; util_json_unescape() turns them into U+FFFD.
 */
#ifndef SIO_UTIL_JSON_SCAN_H
#define SIO_UTIL_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTIL_JSON_MAX_DEPTH 1024

typedef enum util_json_tok {
    UTIL_JSON_ERROR = -1, /* malformed input; the lexer stays in error */
    UTIL_JSON_END = 0,    /* the top-level value is complete and only whitespace followed */
    UTIL_JSON_ARRAY,      /* [ */
    UTIL_JSON_ARRAY_END,  /* ] */
    UTIL_JSON_OBJECT,     /* { */
    UTIL_JSON_OBJECT_END, /* } */
    UTIL_JSON_KEY,        /* a member name (its ':' is consumed too) */
    UTIL_JSON_STRING,
    UTIL_JSON_NUMBER,
    UTIL_JSON_TRUE,
    UTIL_JSON_FALSE,
    UTIL_JSON_NULL,
} util_json_tok;

/* Flags of the last token. */
#define UTIL_JSON_ESCAPED 1u /* a string or key holds backslash escapes */
#define UTIL_JSON_INTEGER 2u /* a number has neither fraction nor exponent */

typedef struct util_json_lexer {
    const char *s;
    size_t len;
    size_t pos;        /* next byte to read */
    size_t start, end; /* the last token is s[start, end); strings and keys include quotes */
    unsigned depth;    /* containers open after the last token */
    uint8_t state;
    uint8_t flags;                          /* UTIL_JSON_ESCAPED, UTIL_JSON_INTEGER */
    uint8_t stack[UTIL_JSON_MAX_DEPTH / 8]; /* one bit per level: 1 = object */
} util_json_lexer;

/* Starts reading one JSON text (one value with optional whitespace around it). */
void util_json_lexer_init(util_json_lexer *lx, const char *s, size_t len);

/* The next token. After UTIL_JSON_END or UTIL_JSON_ERROR it returns the same again. */
util_json_tok util_json_next(util_json_lexer *lx);

/*
 * Reads one element of the array the lexer is in (call it right after the
 * UTIL_JSON_ARRAY token, then again after each element). Returns 1 with the
 * element's span in s[*start, *end) and its first token in *tok, 0 when the
 * array's ']' was read instead, UTIL_JSON_ERROR (-1) on malformed input.
 */
int util_json_array_next(util_json_lexer *lx, size_t *start, size_t *end, util_json_tok *tok);

/* 0 when s[0, len) is exactly one valid JSON text, SIO_EPROTO otherwise. */
int util_json_validate(const char *s, size_t len);

/*
 * Unescapes the content of a validated string token (without its quotes)
 * into out, which must hold len bytes (the result is never longer). Escaped
 * lone surrogates become U+FFFD. Returns the length written.
 */
size_t util_json_unescape(const char *raw, size_t len, char *out);

/* Whether the string token content raw[0, len) means exactly lit[0, litlen). */
bool util_json_string_eq(const char *raw, size_t len, bool escaped, const char *lit, size_t litlen);

#endif
