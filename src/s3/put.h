/* s3/put: the S3 store's writer: PutObject, or a multipart upload.
 *
 * A writer buffers one part (BCR_S3_PART_SIZE, 8 MiB by default). An object
 * of at most one part is a single PutObject at commit. A larger one is a
 * multipart upload whose parts go out through the double-buffered writer
 * (handoff.h) on an upload client of its own, so that the caller fills part
 * N+1 while part N is sent: two part buffers in all. Every body carries its
 * CRC-32C, which S3 verifies; over HTTPS it is the only hash of the body.
 * Commit completes the upload (a completion whose response was lost is
 * recognised on retry); any failure, or abort, aborts it so no parts are
 * left behind.
 *
 * Ownership: a writer borrows its client and the store's slot for a spare
 * upload client (both must outlive it; the writer takes the spare, or makes
 * one with s3_client_new_sibling, and puts it back when it ends). It owns its
 * buffers and copies of bucket and key. One thread (the client's) calls these
 * functions. */
#ifndef BCR_S3_PUT_H
#define BCR_S3_PUT_H

#include <stddef.h>

#include "s3/client.h"
#include "store.h"

/* Opens s3://bucket/key for writing (nothing is sent yet). Returns 0 with
 * *out the caller's (commit or abort ends it), or -1 with err set. */
int s3_put_open(struct s3_client *c, struct s3_client **spare, const char *bucket, const char *key,
                struct store_writer **out, struct error *err);

/* As store_write, store_commit and store_abort. Commit and abort free w. */
int s3_put_write(struct store_writer *w, const void *p, size_t n, struct error *err);
int s3_put_commit(struct store_writer *w, struct error *err);
void s3_put_abort(struct store_writer *w);

#endif
