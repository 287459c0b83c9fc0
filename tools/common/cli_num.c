/* tools/common/cli_num.c - strict number parsing for the programs' options
 * (see cli_num.h). The grammar is checked by hand first, so that strtoll and
 * strtod only ever see text they convert whole; their range errors are then
 * the overflow check. */
#include "cli_num.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define SHOWN_MAX 64 /* characters of a bad value quoted in the message */

/* Prints text quoted on one line: control characters and bytes outside
 * ASCII as \xNN, quotes and backslashes escaped, cut after SHOWN_MAX. */
static void put_quoted(FILE *f, const char *text) {
    fputc('"', f);
    size_t i = 0;
    for (; text[i] && i < SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
    if (text[i]) fputs("...", f);
    fputc('"', f);
}

static int is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* [+-]?[0-9]+ */
static int int_syntax(const char *s) {
    if (*s == '+' || *s == '-') s++;
    if (!is_digit(*s)) return 0;
    while (is_digit(*s)) s++;
    return *s == '\0';
}

/* [+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)? */
static int double_syntax(const char *s) {
    if (*s == '+' || *s == '-') s++;
    int digits = 0;
    while (is_digit(*s)) s++, digits++;
    if (*s == '.') {
        s++;
        while (is_digit(*s)) s++, digits++;
    }
    if (!digits) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!is_digit(*s)) return 0;
        while (is_digit(*s)) s++;
    }
    return *s == '\0';
}

int cli_parse_int(const char *prog, const char *name, const char *text, long long min,
                  long long max, long long *out) {
    if (text && int_syntax(text)) {
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        if (errno == 0 && v >= min && v <= max) {
            *out = v;
            return 0;
        }
    }
    fprintf(stderr, "%s: %s: ", prog, name);
    put_quoted(stderr, text ? text : "");
    fprintf(stderr, " is not an integer in %lld..%lld\n", min, max);
    return -1;
}

int cli_parse_double(const char *prog, const char *name, const char *text, double min, double max,
                     double *out) {
    if (text && double_syntax(text)) {
        errno = 0;
        double v = strtod(text, NULL);
        if (errno == 0 && isfinite(v) && v >= min && v <= max) {
            *out = v;
            return 0;
        }
    }
    fprintf(stderr, "%s: %s: ", prog, name);
    put_quoted(stderr, text ? text : "");
    fprintf(stderr, " is not a number in %g..%g\n", min, max);
    return -1;
}

long long cli_int(const char *prog, const char *name, const char *text, long long min,
                  long long max) {
    long long v;
    if (cli_parse_int(prog, name, text, min, max, &v) != 0) exit(CLI_EXIT_USAGE);
    return v;
}

double cli_double(const char *prog, const char *name, const char *text, double min, double max) {
    double v;
    if (cli_parse_double(prog, name, text, min, max, &v) != 0) exit(CLI_EXIT_USAGE);
    return v;
}
