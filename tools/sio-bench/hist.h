/* tools/sio-bench/hist.h - a log-linear latency histogram.
 *
 * Values (nanoseconds) below 64 have a bucket each; above, every power of two
 * is cut into 32 buckets, so a bucket is at most 1/32 (3%) of its value wide.
 * Recording is a few instructions and no allocation; histograms of several
 * workers add up bucket by bucket.
 */
#ifndef SIO_BENCH_HIST_H
#define SIO_BENCH_HIST_H

#include <stdint.h>

#define HIST_N 1216 /* values up to 2^41 ns (36 minutes) */

typedef struct hist {
    uint64_t count;
    uint64_t sum; /* ns, for the mean */
    uint64_t max;
    uint64_t b[HIST_N];
} hist;

static inline unsigned hist_index(uint64_t v) {
    if (v < 64) return (unsigned)v;
    if (v >= (1ull << 41)) v = (1ull << 41) - 1;
    unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - 5;
    return shift * 32 + (unsigned)(v >> shift);
}

static inline void hist_add(hist *h, uint64_t v) {
    h->b[hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max) h->max = v;
}

void hist_reset(hist *h);
void hist_merge(hist *into, const hist *from);
/* The value at quantile q (0..1): the middle of the bucket it falls in; 0 when empty. */
uint64_t hist_quantile(const hist *h, double q);

#endif
