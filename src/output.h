/* output: writes results.json as a stream into a store object:
 * {"results":[v1,v2,...],"statuses":{"statuses":[]},"redactedResults":{"redactedFiles":[],"errors":[]}}
 * Values are written by the caller straight into `sink` after output_next. */
#ifndef BCR_OUTPUT_H
#define BCR_OUTPUT_H

#include <stdint.h>

#include "error.h"
#include "sink.h"
#include "store.h"

struct output {
    struct sink sink; /* write each value here, after output_next */
    struct store *store;
    struct store_writer *writer; /* owned until output_commit or output_abort */
    uint64_t count;              /* values begun so far */
};

/* Opens bucket/key for writing and writes the opening of the document. */
int output_open(struct output *out, struct store *store, const char *bucket, const char *key,
                struct error *err);
/* Starts the next value of "results" (writes the separator). */
static inline int output_next(struct output *out, struct error *err)
{
    return out->count++ ? sink_write(&out->sink, ",", 1, err) : 0;
}
/* Writes the closing of the document and commits the object. Always ends the
 * output; on failure the object is aborted. */
int output_commit(struct output *out, struct error *err);
/* Drops everything: no object is left behind. Safe after a failed open. */
void output_abort(struct output *out);

#endif
