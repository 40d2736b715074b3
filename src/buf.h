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
/* Makes room for `extra` more bytes (plus a NUL). Returns 0; 1 if that would
 * exceed max (err untouched: the caller says what was too large); -1 if memory
 * ran out (err set). buf_append returns the same. */
int buf_reserve(struct buf *b, size_t extra, struct error *err);
int buf_append(struct buf *b, const void *p, size_t n, struct error *err);

#endif
