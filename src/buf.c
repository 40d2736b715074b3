#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

void buf_free(struct buf *b)
{
    free(b->data);
    buf_init(b, b->max);
}

int buf_reserve(struct buf *b, size_t extra, struct error *err)
{
    if (extra > b->max - b->len)
        return 1;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory growing a buffer to %zu bytes",
                         cap);
    b->data = data;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n, struct error *err)
{
    int rc = buf_reserve(b, n, err);
    if (rc != 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}
