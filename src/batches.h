/* batches: the decoded Outputs of a NONE result file, validated and minified
 * off the caller's thread, and written to the output in order.
 *
 * The caller (the result reader) parses entries and decodes each Output
 * straight into the batch being filled (batches_view, then batches_add). A
 * full batch goes to a worker thread (worker.h), which validates and minifies
 * it (json_copy_decoded, the larger half of the work); the caller then writes
 * finished batches' copies to the output in order ("retires" them), so every
 * output and store call stays on the caller's thread.
 *
 * Guarantees: errors come out as in a sequential run: an Output found invalid
 * is reported (with its entry's place) once every entry before it has been
 * written, and nothing after it is written. Memory is bounded: BATCHES
 * batches of a buffer of BATCH_BYTES + RESULT_OUTPUT_MAX + 1 bytes and one
 * JSON_COPY_GROWTH times that for its ASCII copies, of which only the bytes
 * used become resident. */
#ifndef BCR_BATCHES_H
#define BCR_BATCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "output.h"

/* A decoded Output larger than this is refused: Step Functions caps a child's
 * output at 256 KiB, so anything near this is not a real result. */
#define RESULT_OUTPUT_MAX (1024u * 1024)

/* An entry's Name is kept for messages up to this many bytes. */
enum { ENTRY_NAME_MAX = 256 };

/* Where one entry is, for messages: "s3://b/k: entry 12 (Name n) at byte
 * offset 345". All pointers borrowed; name NULL or empty when unknown. */
struct entry_place {
    const char *where;
    uint64_t index;
    uint64_t offset;
    const struct buf *name;
};

/* Puts the entry's place in front of an error of the file's content
 * (InvalidResultFile, InvalidOutput); an error of the store (S3's codes, I/O)
 * keeps the message the store wrote, which already names the object. */
void batches_entry_place_prefix(struct error *err, const struct entry_place *at);

struct batches;

/* Starts the worker thread (none with one CPU: batches are then validated
 * inline). Returns the batches, owned by the caller, or NULL with err set. */
struct batches *batches_new(struct error *err);
/* Waits for the worker, ends it, frees everything. NULL is fine. */
void batches_free(struct batches *b);

/* Points view at the room for the next decoded Output in the batch being
 * filled: RESULT_OUTPUT_MAX bytes (cap one more), so it never has to grow.
 * The view's memory is the batches'; it stays valid until batches_add. */
int batches_view(struct batches *b, struct buf *view, struct error *err);

/* Adds the entry whose Output was decoded into the view (n bytes) at `at`
 * (borrowed; its where must stay valid until batches_finish). May retire
 * finished batches (adding to *entries) and wait for the next in turn.
 * Returns -1 with err final, and batches_failed() true, when a retired
 * entry's Output was invalid or the output failed. */
int batches_add(struct batches *b, size_t n, const struct entry_place *at, struct output *out,
                uint64_t *entries, struct error *err);

/* Whether a retired batch failed (since the last batches_drop). */
bool batches_failed(const struct batches *b);

/* Submits the batch being filled and retires every batch, in order, adding
 * to *entries. Returns 0, or -1 with err final. */
int batches_finish(struct batches *b, struct output *out, uint64_t *entries, struct error *err);

/* After a failure: waits for the worker and drops every batch unwritten. */
void batches_drop(struct batches *b);

#endif
