/* Unit tests of util/base64: RFC 4648 vectors and strict decoding. */
#include "check.h"
#include "util/base64.h"

#include <stdint.h>
#include <string.h>

static void test_base64_vectors(void) {
    /* RFC 4648 section 10 */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char out[16];
        uint8_t dec[16];
        util_base64_encode((const uint8_t *)plain[i], strlen(plain[i]), out);
        CHECK_STR(out, enc[i]);
        long n = util_base64_decode(enc[i], strlen(enc[i]), dec);
        CHECK_INT(n, (long)strlen(plain[i]));
        CHECK_MEM(dec, plain[i], (size_t)n);
    }
}

static void test_base64_rejects_garbage(void) {
    uint8_t out[16];
    CHECK_INT(util_base64_decode("Zm9", 3, out), -1);      /* not a multiple of 4 */
    CHECK_INT(util_base64_decode("Zm=v", 4, out), -1);     /* data after padding */
    CHECK_INT(util_base64_decode("Zm9v\n", 5, out), -1);   /* whitespace */
    CHECK_INT(util_base64_decode("Zg==Zg==", 8, out), -1); /* padding mid-stream */
    CHECK_INT(util_base64_decode("Z!9v", 4, out), -1);     /* bad character */
}

int main(void) {
    RUN(test_base64_vectors);
    RUN(test_base64_rejects_garbage);
    return CHECK_DONE();
}
