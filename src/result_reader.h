/* result_reader: streams the entries of Distributed Map result files into the
 * output, one entry at a time, in constant memory.
 *
 * A file is a JSON array of entries or JSON Lines (one entry per line), told
 * apart by its first byte. With TRANSFORM_NONE each entry is an object whose
 * "Output" is a JSON document encoded as a string: it is decoded, validated as
 * exactly one RFC 8259 value and emitted. With COMPACT and FLATTEN the entries
 * are the raw outputs. */
#ifndef BCR_RESULT_READER_H
#define BCR_RESULT_READER_H

#include <stdint.h>

#include "batches.h" /* RESULT_OUTPUT_MAX, the limit an Output is held to */
#include "error.h"
#include "json.h"
#include "manifest.h"
#include "output.h"
#include "store.h"

/* How the Map state's ResultWriter wrote its files. */
enum transformation {
    TRANSFORM_NONE,    /* entries whose Output is a JSON document in a string */
    TRANSFORM_COMPACT, /* the raw outputs */
    TRANSFORM_FLATTEN, /* raw outputs; an output that is an array gives its elements */
};

/* Parses "NONE", "COMPACT" or "FLATTEN"; returns -1 for anything else. */
int result_reader_transformation_parse(const char *name, enum transformation *out);
/* The name result_reader_transformation_parse reads ("NONE", ...; static storage). */
const char *result_reader_transformation_name(enum transformation t);

/* What the reader has done so far; it only ever adds to these. */
struct read_stats {
    uint64_t entries;      /* outputs written to the output */
    uint64_t result_files; /* result files read completely */
    uint64_t bytes_read;   /* bytes of result files read */
};

/* The caller's say while bytes arrive (every READ_BUFFER at most). */
struct read_hooks {
    /* Sees the counts so far; may be NULL. */
    void (*progress)(const struct read_stats *stats, void *ctx);
    /* A non-zero return (with err set, e.g. Timeout) stops the read with that
     * error. May be NULL. */
    int (*should_stop)(void *ctx, struct error *err);
    void *ctx; /* borrowed, for both */
};

/* Buffers reused from one file to the next, and (with NONE, on a machine of
 * more than one CPU) a worker thread that validates batches of Outputs while
 * this thread parses on. Every store and output call stays on the caller's
 * thread. Owned by the caller: result_reader_free ends the thread. */
struct result_reader;

struct result_reader *result_reader_new(struct error *err);
void result_reader_free(struct result_reader *r);

/* Streams the result file bucket/file->key (all borrowed) into out. Adds to
 * stats; calls hooks (borrowed, may be NULL) as bytes arrive. On failure
 * returns -1 with err set, naming the file and the entry (index, byte offset,
 * Name); out then holds an unknown prefix and must be aborted. Errors come out
 * as in a sequential read: nothing after the first invalid entry is written. */
int result_reader_stream(struct result_reader *r, struct store *store, const char *bucket,
                         const struct result_file *file, enum transformation transformation,
                         const struct read_hooks *hooks, struct output *out,
                         struct read_stats *stats, struct error *err);

/* The same over any source (tests and fuzzing feed chunked memory). `where`
 * names the file in error messages. */
int result_reader_stream_source(struct result_reader *r, struct json_src *src, const char *where,
                                enum transformation transformation, struct output *out,
                                struct read_stats *stats, struct error *err);

#endif
