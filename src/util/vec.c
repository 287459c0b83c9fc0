/* util/vec.c - the growth of util_vec arrays (see vec.h). */
#include "util/vec.h"

uint32_t util_vec_next_cap(uint32_t cap, size_t need, size_t elem) {
    if (elem == 0 || need > UTIL_VEC_MAX || need > SIZE_MAX / elem) return 0;
    size_t c = cap ? (size_t)cap * 2 : UTIL_VEC_FIRST;
    if (c > UTIL_VEC_MAX || c > SIZE_MAX / elem) c = need; /* no room to double: just enough */
    if (c < need) c = need;
    return (uint32_t)c;
}

int util_vec_grow_(void *itemsp, uint32_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint32_t c = util_vec_next_cap(*cap, need, elem);
    if (!c) return SIO_ENOMEM;
    /* the items pointer is read and written as bytes: it is a T *, not a void * */
    void *items;
    memcpy(&items, itemsp, sizeof items);
    void *p = realloc(items, (size_t)c * elem);
    if (!p) return SIO_ENOMEM;
    memcpy(itemsp, &p, sizeof p);
    *cap = c;
    return 0;
}
