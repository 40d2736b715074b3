/* s3/get: the S3 store's reader: GetObject streamed as the caller reads.
 *
 * A reader holds one GET open and pulls bytes as the caller asks, with at
 * most ~200 KiB buffered. A body cut short is resumed from the byte reached
 * (Range, If-Match on the first response's ETag), never restarted or
 * truncated; each response is checked against the first (status, length,
 * Content-Range, ETag) before any of its body is taken. The server must keep
 * a minimum rate (BCR_S3_LOW_SPEED_LIMIT bytes/s over BCR_S3_LOW_SPEED_TIME
 * seconds) counted only while the reader waits for it, not while the caller
 * is away.
 *
 * Each GET is an attempt of the request engine's one loop (s3_attempts_run,
 * s3/client_private.h): this file supplies the Range of each attempt, the
 * checks of each response and the judgement of a body cut short; the
 * retries, backoff, deadline and interruption are the loop's.
 *
 * Ownership: a reader borrows its client (which must outlive it and is used
 * on the reader's thread only); it owns its exchange (with an easy handle of
 * its own, kept across attempts) and copies of bucket and key. */
#ifndef BCR_S3_GET_H
#define BCR_S3_GET_H

#include <sys/types.h>

#include "s3/client.h"
#include "store.h"

/* Opens s3://bucket/key and waits for the first response's headers, so that a
 * missing object fails here (NoSuchKey). Returns 0 with *out the caller's
 * (s3_get_close), or -1 with err set. */
int s3_get_open(struct s3_client *c, const char *bucket, const char *key, struct store_reader **out,
                struct error *err);

/* As store_read: up to cap bytes, 0 at the end of the object, -1 with err set;
 * after a failure every read fails with the same error. */
ssize_t s3_get_read(struct store_reader *r, void *buf, size_t cap, struct error *err);

void s3_get_close(struct store_reader *r); /* NULL is fine */

#endif
