/* tools/common/cli_num.h - strict parsing of the numbers given to the
 * programs (sio-chat, sio-test-server, sio-bench) on the command line or in
 * the environment.
 *
 * A value is taken only when the whole text is a number of the expected kind
 * inside the option's range: no leading or trailing characters (not even
 * white space), no silent overflow, no hexadecimal, no "inf" or "nan". On a
 * bad value the program stops with exit status 2 and one line on stderr that
 * names the program, the option (or environment variable) and the range:
 *
 *     sio-chat: --port: "abc" is not an integer in 0..65535
 */
#ifndef SIO_CLI_NUM_H
#define SIO_CLI_NUM_H

/* Exit status for a bad option value (the usage-error convention). */
#define CLI_EXIT_USAGE 2

/* Parses text as a decimal integer in [min, max]: an optional sign and at
 * least one digit. Returns 0 and sets *out, or -1 after printing the message
 * "PROG: NAME: "TEXT" is not an integer in MIN..MAX" to stderr. */
int cli_parse_int(const char *prog, const char *name, const char *text, long long min,
                  long long max, long long *out);

/* The same for a decimal number with an optional fraction and exponent
 * ("2", "0.5", "1e3"), finite and in [min, max]. */
int cli_parse_double(const char *prog, const char *name, const char *text, double min, double max,
                     double *out);

/* cli_parse_int / cli_parse_double that exit(CLI_EXIT_USAGE) on a bad value:
 * for option parsing at startup, before anything is allocated. */
long long cli_int(const char *prog, const char *name, const char *text, long long min,
                  long long max);
double cli_double(const char *prog, const char *name, const char *text, double min, double max);

#endif
