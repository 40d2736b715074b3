/* store_dir: an object store on a local directory. Object BUCKET/KEY is the
 * file ROOT/BUCKET/KEY. Used by the command line (--store) and the tests. */
#ifndef BCR_STORE_DIR_H
#define BCR_STORE_DIR_H

#include "store.h"

/* Returns a new store over root (copied), or NULL with err set. The caller owns
 * it and frees it with store_destroy. A missing bucket directory is
 * NoSuchBucket; a key with "." or ".." segments, or a bucket that is not one
 * plain path segment, is InvalidKey. Writes go to a temporary file in the
 * bucket directory, renamed into place on commit. */
struct store *store_dir_new(const char *root, struct error *err);

#endif
