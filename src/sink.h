/* sink: a buffered byte destination. Writers append with sink_write (an inline
 * memcpy in the common case); when the buffer fills, the owner's flush callback
 * takes the bytes (to a file, to an S3 part).
 *
 * A flush runs the owner's code, from a layer above this one, inside
 * sink_write, sink_puts and sink_flush (and so inside json's copies). The
 * output's flush (output.c) is a store write: it may block (waiting for the
 * directory store's writer thread, or for an S3 part upload in flight, with
 * its retries and backoff) and fail with any store error (Timeout,
 * Interrupted, an S3 or I/O error, out of memory), which these functions
 * return as the flush set it. */
#ifndef BCR_SINK_H
#define BCR_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "error.h"

struct sink {
    uint8_t *buf;   /* owned by whoever set up the sink */
    size_t len;     /* bytes pending in buf */
    size_t cap;     /* size of buf, > 0 */
    uint64_t total; /* bytes written through this sink so far */
    /* Consumes buf[0, len) and sets len to 0. Returns 0, or -1 with err set.
     * May block and fail with the owner's errors (above). */
    int (*flush)(struct sink *s, struct error *err);
    void *ctx; /* for flush */
};

int sink_write_slow(struct sink *s, const void *p, size_t n, struct error *err);

static inline int sink_write(struct sink *s, const void *p, size_t n, struct error *err)
{
    if (n <= s->cap - s->len) {
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        s->total += n;
        return 0;
    }
    return sink_write_slow(s, p, n, err);
}

static inline int sink_puts(struct sink *s, const char *text, struct error *err)
{
    return sink_write(s, text, strlen(text), err);
}

/* Hands any pending bytes to flush. */
int sink_flush(struct sink *s, struct error *err);

#endif
