#include "batches.h"

#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "worker.h"

/* Batches of about BATCH_BYTES, at most BATCH_ENTRIES entries, BATCHES in
 * flight: enough for the worker never to wait for the parser on real data. */
enum { BATCH_BYTES = 64 * 1024, BATCH_ENTRIES = 64, BATCHES = 4 };
/* A batch's buffers: the Output being decoded goes straight into the batch
 * (no copy), so there is room for one more of the largest after BATCH_BYTES;
 * its copies, ASCII, may be up to JSON_COPY_GROWTH times as long (a 1 MiB
 * Output of CJK text is a 2 MiB copy). Only the bytes used become resident. */
#define BATCH_CAP ((size_t)BATCH_BYTES + RESULT_OUTPUT_MAX + 1)
#define BATCH_COPY_CAP (JSON_COPY_GROWTH * BATCH_CAP)

struct batch_entry {
    uint64_t index, offset;
    size_t in_end;  /* end of its decoded Output in batch->in */
    size_t out_end; /* end of its minified copy in batch->out (worker) */
    char name[ENTRY_NAME_MAX + 1];
};

struct batch {
    uint8_t *in, *out; /* BATCH_CAP and BATCH_COPY_CAP: decoded Outputs, their copies */
    size_t in_len;
    int count;
    int failed;       /* the entry whose Output is invalid, or -1 (worker) */
    struct error err; /* its error (worker) */
    uint64_t ticket;  /* its job number with the worker, once submitted */
    struct batch_entry e[BATCH_ENTRIES];
};

struct batches {
    struct batch *ring; /* BATCHES, used in turn */
    int fill;           /* the batch being filled */
    int oldest;         /* the oldest batch submitted and not retired */
    int submitted;      /* batches submitted and not retired */
    bool failed;        /* a retired batch failed: its error was final */
    const char *where;  /* the file the batches are of, for messages */
    /* Validates the batches in submission order, so batch b is done exactly
     * when worker_finished() > b->ticket. Its depth is BATCHES: every batch
     * submitted and not retired may be queued, so submitting never waits. */
    struct worker worker;
    uint64_t tickets; /* jobs handed to the worker so far */
};

/* Never called: a batch's copies fit in batch->out (BATCH_COPY_CAP). */
static int batch_sink_full(struct sink *s, struct error *err)
{
    (void)s;
    return error_set(err, ERR_OUT_OF_MEMORY, "batch copy buffer overflow");
}

/* Validates and minifies every Output of the batch into b->out; stops at the
 * first invalid one (b->failed, b->err). A worker job: an invalid Output is
 * the batch's outcome, reported in order when it is retired, not the worker's
 * failure (which would skip later batches before earlier entries are out). */
static int validate_batch(void *ctx, void *job, struct error *err)
{
    (void)ctx;
    (void)err;
    struct batch *b = job;
    size_t start = 0;
    struct sink copy = {.buf = b->out, .cap = BATCH_COPY_CAP, .flush = batch_sink_full};
    b->failed = -1;
    for (int i = 0; i < b->count; i++) {
        struct batch_entry *e = &b->e[i];
        if (json_copy_decoded(b->in + start, e->in_end - start, &copy, ERR_INVALID_OUTPUT,
                              &b->err) != 0) {
            b->failed = i;
            return 0;
        }
        e->out_end = copy.len;
        start = e->in_end;
    }
    return 0;
}

struct batches *batches_new(struct error *err)
{
    struct batches *r = calloc(1, sizeof *r);
    if (r)
        r->ring = calloc(BATCHES, sizeof *r->ring);
    if (!r || !r->ring) {
        free(r);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory for batches of Outputs");
        return NULL;
    }
    /* Without a second CPU (worker_parallel: affinity and cgroup quota, e.g.
     * Lambda below 2,654 MB) a thread only adds switches: validated inline. */
    if (worker_start(&r->worker, BATCHES, worker_parallel(), validate_batch, NULL, err) != 0) {
        free(r->ring);
        free(r);
        return NULL;
    }
    return r;
}

void batches_free(struct batches *r)
{
    if (!r)
        return;
    worker_stop(&r->worker);
    for (int i = 0; i < BATCHES; i++) {
        free(r->ring[i].in);
        free(r->ring[i].out);
    }
    free(r->ring);
    free(r);
}

bool batches_failed(const struct batches *r)
{
    return r->failed;
}

static bool is_content_error(const struct error *err)
{
    return err->kind == ERROR_KIND_INVALID_RESULT_FILE || err->kind == ERROR_KIND_INVALID_OUTPUT;
}

void batches_entry_place_prefix(struct error *err, const struct entry_place *at)
{
    if (!is_content_error(err))
        return;
    if (at->name && at->name->len)
        error_prefix(err, "%s: entry %" PRIu64 " (Name %s) at byte offset %" PRIu64 ": ", at->where,
                     at->index, (const char *)at->name->data, at->offset);
    else
        error_prefix(err, "%s: entry %" PRIu64 " at byte offset %" PRIu64 ": ", at->where,
                     at->index, at->offset);
}

/* Hands the batch being filled to the worker (which may run it inline). */
static void submit_batch(struct batches *r)
{
    assert(r->submitted < BATCHES);
    assert(r->fill == (r->oldest + r->submitted) % BATCHES);
    struct batch *b = &r->ring[r->fill];
    assert(b->count > 0);
    r->fill = (r->fill + 1) % BATCHES;
    r->submitted++;
    b->ticket = r->tickets++;
    /* Jobs never fail (validate_batch keeps an invalid Output in the batch)
     * and there is room for every batch, so this neither fails nor waits. */
    int rc = worker_submit(&r->worker, b, NULL);
    assert(rc == 0);
    (void)rc;
}

/* Writes the oldest submitted batch's copies to the output, waiting for the
 * worker if `wait`. Returns 1 if it was not done yet (and !wait), 0 when
 * retired, -1 with err set (final, with the entry's place) on failure. */
static int retire_oldest(struct batches *r, bool wait, struct output *out, uint64_t *entries,
                         struct error *err)
{
    assert(r->submitted > 0);
    struct batch *b = &r->ring[r->oldest];
    if (wait)
        worker_finished(&r->worker, b->ticket + 1);
    else if (worker_finished(&r->worker, 0) <= b->ticket)
        return 1;
    size_t start = 0;
    for (int i = 0; i < b->count; i++) {
        struct batch_entry *e = &b->e[i];
        struct buf name = {.data = (uint8_t *)e->name, .len = strlen(e->name)};
        struct entry_place at = {r->where, e->index, e->offset, &name};
        if (i == b->failed) {
            *err = b->err;
            if (err->kind == ERROR_KIND_INVALID_OUTPUT)
                error_prefix(err, "Output is not one valid JSON document: ");
            batches_entry_place_prefix(err, &at);
            return -1;
        }
        if (output_next(out, err) != 0 ||
            sink_write(&out->sink, b->out + start, e->out_end - start, err) != 0) {
            batches_entry_place_prefix(err, &at);
            return -1;
        }
        (*entries)++;
        start = e->out_end;
    }
    b->count = 0;
    b->in_len = 0;
    r->oldest = (r->oldest + 1) % BATCHES;
    r->submitted--;
    return 0;
}

/* Retires what the worker has finished, without waiting. */
static int retire_done(struct batches *r, struct output *out, uint64_t *entries, struct error *err)
{
    while (r->submitted) {
        int rc = retire_oldest(r, false, out, entries, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    return 0;
}

int batches_finish(struct batches *r, struct output *out, uint64_t *entries, struct error *err)
{
    if (r->ring[r->fill].count)
        submit_batch(r);
    while (r->submitted)
        if (retire_oldest(r, true, out, entries, err) != 0)
            return -1;
    return 0;
}

void batches_drop(struct batches *r)
{
    worker_wait_idle(&r->worker, NULL);
    for (int i = 0; i < BATCHES; i++) {
        r->ring[i].count = 0;
        r->ring[i].in_len = 0;
    }
    r->fill = r->oldest = r->submitted = 0;
    r->failed = false;
}

int batches_view(struct batches *r, struct buf *view, struct error *err)
{
    struct batch *b = &r->ring[r->fill];
    if (!b->in) {
        b->in = malloc(BATCH_CAP);
        b->out = b->in ? malloc(BATCH_COPY_CAP) : NULL;
        if (!b->out) {
            free(b->in);
            b->in = NULL;
            return error_set(err, ERR_OUT_OF_MEMORY, "out of memory for a batch of Outputs");
        }
    }
    /* cap = max + 1, as buf_reserve makes it: the decoder's inline paths rely
     * on that to enforce max. */
    *view = (struct buf){
        .data = b->in + b->in_len, .cap = RESULT_OUTPUT_MAX + 1, .max = RESULT_OUTPUT_MAX};
    return 0;
}

int batches_add(struct batches *r, size_t n, const struct entry_place *at, struct output *out,
                uint64_t *entries, struct error *err)
{
    struct batch *b = &r->ring[r->fill];
    r->where = at->where;
    assert(b->count < BATCH_ENTRIES && b->in_len + n < BATCH_CAP);
    b->in_len += n;
    struct batch_entry *e = &b->e[b->count++];
    e->index = at->index;
    e->offset = at->offset;
    e->in_end = b->in_len;
    size_t name_len = at->name ? at->name->len : 0;
    if (name_len > ENTRY_NAME_MAX)
        name_len = ENTRY_NAME_MAX;
    if (name_len)
        memcpy(e->name, at->name->data, name_len);
    e->name[name_len] = '\0';
    if (b->count < BATCH_ENTRIES && b->in_len < BATCH_BYTES)
        return 0;
    submit_batch(r);
    if (retire_done(r, out, entries, err) != 0) {
        r->failed = true;
        return -1;
    }
    /* The batch next in turn is still in flight when all of them are. */
    while (r->submitted == BATCHES) {
        if (retire_oldest(r, true, out, entries, err) != 0) {
            r->failed = true;
            return -1;
        }
    }
    return 0;
}
