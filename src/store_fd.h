/* store_fd: reads through another store, writes to a file descriptor.
 *
 * For `--output -`: the manifest and result files come from the real store
 * (S3 or a directory) and results.json streams to stdout, with the same bytes
 * and the same bounded memory as an upload. The bucket and key of a write are
 * ignored; only one writer may be open at a time.
 *
 * A failed run cannot take back bytes a pipe has already passed on, so the
 * writer holds back the last byte written until commit: a run that fails never
 * puts the closing byte of the document out, so a reader sees an incomplete
 * JSON document (and the program's non-zero exit), never a complete one. When
 * the descriptor is a regular file, abort, and a commit whose closing byte
 * cannot be written (disk full), also truncate it back to where the writer
 * began, so a redirect to a file is left as long as it was (bytes a `1<>`
 * redirect overwrote in place are not restored). A non-blocking descriptor is
 * waited for (poll) as a blocking one would be; SIGTERM or SIGINT stops a
 * wait on a reader that does not read (Interrupted). */
#ifndef BCR_STORE_FD_H
#define BCR_STORE_FD_H

#include "store.h"

/* Returns a store that reads through `inner` and writes to fd. Takes ownership
 * of inner (destroyed with the new store, or at once on failure); fd stays the
 * caller's (never closed). `name` (e.g. "stdout", borrowed for the store's
 * life) names the destination in error messages. Returns NULL with err set. */
struct store *store_fd_new(struct store *inner, int fd, const char *name, struct error *err);

#endif
