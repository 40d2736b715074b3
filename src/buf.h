/* buf: a growable byte buffer with a hard upper bound, so that no input can make
 * it grow without limit. */
#ifndef BCR_BUF_H
#define BCR_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct buf {
    uint8_t *data; /* owned; NULL until the first append; NUL-terminated after append */
    size_t len;
    size_t cap;
    size_t max; /* appends beyond max fail */
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
static inline void buf_reset(struct buf *b)
{
    b->len = 0;
}
/* What buf_reserve and buf_append return. BUF_FULL leaves err untouched: the
 * caller knows what was too large and says so. */
enum buf_result {
    BUF_OK = 0,
    BUF_FULL = 1,       /* the bytes would exceed max; nothing changed */
    BUF_NO_MEMORY = -1, /* err set */
};

/* Makes room for `extra` more bytes (plus a NUL). */
enum buf_result buf_reserve(struct buf *b, size_t extra, struct error *err);
enum buf_result buf_append(struct buf *b, const void *p, size_t n, struct error *err);

#endif
