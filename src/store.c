#include "store.h"

#include <stdlib.h>

#include "buf.h"

int store_read_all(struct store *s, const char *bucket, const char *key, size_t max, char **data,
                   size_t *len, struct error *err)
{
    struct store_reader *r;
    if (store_open_read(s, bucket, key, &r, err) != 0)
        return STORE_ERROR;
    struct buf b;
    buf_init(&b, max);
    int rc = STORE_OK;
    for (;;) {
        if (buf_reserve(&b, 65536 < max - b.len ? 65536 : max - b.len, err) == BUF_NO_MEMORY) {
            rc = STORE_ERROR;
            break;
        }
        size_t room = b.cap - 1 - b.len;
        if (room == 0) {
            /* Full: one more byte means the object is over the limit. */
            char probe;
            ssize_t n = store_read(s, r, &probe, 1, err);
            if (n != 0)
                rc = n < 0 ? STORE_ERROR : STORE_TOO_LARGE;
            break;
        }
        ssize_t n = store_read(s, r, b.data + b.len, room, err);
        if (n < 0) {
            rc = STORE_ERROR;
            break;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
    }
    store_close_read(s, r);
    if (rc != STORE_OK) {
        buf_free(&b);
        return rc;
    }
    if (buf_reserve(&b, 0, err) == BUF_NO_MEMORY) {
        buf_free(&b);
        return STORE_ERROR;
    }
    b.data[b.len] = '\0';
    *data = (char *)b.data;
    *len = b.len;
    return STORE_OK;
}
