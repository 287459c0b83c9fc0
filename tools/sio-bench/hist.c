/* tools/sio-bench/hist.c - see hist.h. */
#include "hist.h"

#include <string.h>

void hist_reset(hist *h) {
    memset(h, 0, sizeof *h);
}

void hist_merge(hist *into, const hist *from) {
    for (unsigned i = 0; i < HIST_N; i++) into->b[i] += from->b[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max) into->max = from->max;
}

uint64_t hist_quantile(const hist *h, double q) {
    if (!h->count) return 0;
    uint64_t rank = (uint64_t)(q * (double)h->count);
    if (rank >= h->count) rank = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_N; i++) {
        seen += h->b[i];
        if (seen > rank) {
            if (i < 64) return i;
            unsigned shift = i / 32 - 1;
            uint64_t low = (uint64_t)(i - shift * 32) << shift;
            uint64_t mid = low + ((1ull << shift) >> 1);
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
}
