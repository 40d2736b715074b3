#include "buf.h"

#include <assert.h>
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

enum buf_result buf_reserve(struct buf *b, size_t extra, struct error *err)
{
    assert(b->len <= b->max && (b->cap == 0 || b->len < b->cap));
    if (extra > b->max - b->len)
        return BUF_FULL;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return BUF_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    uint8_t *data = realloc(b->data, cap);
    if (!data) {
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory growing a buffer to %zu bytes", cap);
        return BUF_NO_MEMORY;
    }
    b->data = data;
    b->cap = cap;
    return BUF_OK;
}

enum buf_result buf_append(struct buf *b, const void *p, size_t n, struct error *err)
{
    enum buf_result rc = buf_reserve(b, n, err);
    if (rc != BUF_OK)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return BUF_OK;
}
