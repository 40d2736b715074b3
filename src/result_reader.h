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

#include "json.h"
#include "manifest.h"
#include "output.h"
#include "step.h"

/* A decoded Output larger than this is refused: Step Functions caps a child's
 * output at 256 KiB, so anything near this is not a real result. */
#define RESULT_OUTPUT_MAX (1024u * 1024)

/* Buffers reused from one file to the next. */
struct result_reader;

struct result_reader *result_reader_new(struct error *err);
void result_reader_free(struct result_reader *r);

/* Streams the result file bucket/file->key into out. Counts go into stats;
 * options' progress and should_stop are called as bytes arrive. */
int result_reader_stream(struct result_reader *r, struct store *store, const char *bucket,
                         const struct result_file *file, const struct step_options *options,
                         struct output *out, struct step_stats *stats, struct error *err);

/* The same over any source (tests and fuzzing feed chunked memory). `where`
 * names the file in error messages. */
int result_reader_stream_source(struct result_reader *r, struct json_src *src, const char *where,
                                enum transformation transformation, struct output *out,
                                struct step_stats *stats, struct error *err);

#endif
