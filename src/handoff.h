/* handoff: the double-buffered writer both stores write through. The caller's
 * bytes gather in one buffer of `size` bytes while a worker thread passes the
 * other on (a chunk written to a file, a part uploaded to S3), so the slow
 * half of writing overlaps the caller's parsing.
 *
 * Guarantees:
 * - Buffers are handed over in the order they were filled, each exactly
 *   `size` bytes except the last (handoff_finish). A full buffer is handed
 *   over only when a further byte arrives, so an output of exactly one
 *   buffer is never handed over: handoff_started() stays false, and the owner
 *   may finish it another way (one PutObject instead of a multipart upload).
 * - At most two buffers exist: handoff_write waits for the worker to finish
 *   the previous buffer before it refills it. Memory grows to what is
 *   written, up to 2 x size.
 * - The worker thread starts with the first hand-over (after the owner's
 *   `starting` hook), or never: a short output is written inline by
 *   handoff_finish and costs no thread.
 * - The first failure of a job is kept; every later handoff_write and
 *   handoff_finish returns it (worker.h's first error wins).
 *
 * Ownership and threads: the struct is the owner's, as are ctx and every
 * hook; the hooks run on the caller's thread except `run`, which runs on the
 * worker's thread (or inline) and must touch only what the owner has given
 * the worker. A chunk belongs to `run` from its hand-over until it returns.
 * Only the owner's thread calls these functions. */
#ifndef BCR_HANDOFF_H
#define BCR_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "worker.h"

/* One buffer as the worker gets it. */
struct handoff_chunk {
    struct buf data;
    int64_t deadline_ms; /* the owner's handoff.deadline_ms when handed over */
    uint32_t crc32c;     /* of data (crc32c.h), when the owner set handoff.checksum */
};

/* Passes one chunk on (the worker's job). Returns 0, or non-zero with err set. */
typedef int (*handoff_run_fn)(void *ctx, struct handoff_chunk *chunk, struct error *err);
/* Readies the owner for the first hand-over, on the caller's thread. Returns
 * 0, or non-zero with err set (nothing is handed over). */
typedef int (*handoff_starting_fn)(void *ctx, struct error *err);

struct handoff {
    size_t size;
    bool threaded; /* whether the worker gets a thread of its own */
    handoff_run_fn run;
    handoff_starting_fn starting; /* NULL: nothing to ready */
    void *ctx;
    int64_t deadline_ms; /* the owner's, stamped on each chunk it hands over */
    /* Each chunk's CRC-32C is kept as it fills, over bytes just copied and
     * still in cache, rather than in a second pass over the whole chunk. */
    bool checksum;
    struct handoff_chunk chunk[2];
    struct handoff_chunk *filling;
    struct worker worker;
    bool started; /* the worker is running: a chunk was handed over */
};

/* Sets h up; allocates nothing until the first write. threaded false runs
 * every job inline (worker.h). size > 0. */
void handoff_init(struct handoff *h, size_t size, bool threaded, handoff_run_fn run,
                  handoff_starting_fn starting, void *ctx);

/* Copies n bytes in, handing over each buffer that fills once more bytes
 * follow it. Returns 0, or -1 with err set: no memory, or the first failure
 * of a job. */
int handoff_write(struct handoff *h, const void *p, size_t n, struct error *err);

/* Whether a chunk has been handed over. */
static inline bool handoff_started(const struct handoff *h)
{
    return h->started;
}

/* The bytes written and not yet handed over. */
static inline const struct handoff_chunk *handoff_pending(const struct handoff *h)
{
    return h->filling;
}

/* Hands over what is pending (inline, without starting a thread, if nothing
 * was handed over before) and waits until every chunk is passed on. The
 * worker is stopped afterwards. Returns 0, or -1 with the first failure. */
int handoff_finish(struct handoff *h, struct error *err);

/* Stops the worker, waiting for the chunk it is running; what is pending is
 * dropped. Safe to call twice and after handoff_finish. */
void handoff_stop(struct handoff *h);

/* handoff_stop, then frees the buffers. */
void handoff_free(struct handoff *h);

#endif
