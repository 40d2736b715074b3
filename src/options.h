/* options: what the shells (the command line and the Lambda loop) are told to
 * do, in one neutral struct, and the one place a store is opened from it.
 *
 * Both shells fill a run_options (from argv, and in Lambda from its
 * environment) and open their store with options_open_store, so the choice
 * between a directory and S3 is made once. */
#ifndef BCR_OPTIONS_H
#define BCR_OPTIONS_H

#include <stdbool.h>

#include "error.h"
#include "result_reader.h"
#include "store.h"

struct run_options {
    const char *store_dir;    /* a directory store's root, or NULL for S3; borrowed */
    const char *region;       /* S3 region, or NULL for the environment's; borrowed */
    const char *endpoint_url; /* S3 endpoint, or NULL for the environment's; borrowed */
    bool output_stdout;       /* results.json to stdout instead of the store */
    enum transformation transformation;
    bool require_complete; /* FAILED or PENDING files are IncompleteMapRun */
};

/* Opens the store the options name: the directory or S3, wrapped so that
 * results.json goes to stdout with output_stdout (store_fd.h). Returns a store
 * the caller destroys (store_destroy), or NULL with err set. */
struct store *options_open_store(const struct run_options *opts, struct error *err);

/* "directory" or "s3" (static storage), for logs. */
const char *options_store_kind(const struct run_options *opts);

#endif
