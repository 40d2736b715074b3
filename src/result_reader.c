#include "result_reader.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"

/* Bytes read from the store at a time. */
enum { READ_BUFFER = 256 * 1024, KEY_MAX = 16, NAME_MAX_BYTES = 256 };

/* With TRANSFORM_NONE the work is pipelined over two threads. This one parses
 * the entries and decodes their Outputs into batches (about BATCH_BYTES, at
 * most BATCH_ENTRIES entries); a worker thread validates and minifies each
 * batch (json_copy_decoded, the larger half of the work); this thread then
 * writes the batches' copies to the output in order ("retires" them), so every
 * store call stays on this thread. Errors come out as in a sequential run: an
 * Output found invalid by the worker is reported before any later error of
 * this thread, and nothing after it is written. */
enum { BATCH_BYTES = 64 * 1024, BATCH_ENTRIES = 64, BATCHES = 4 };
/* A batch's buffers: the Output being decoded goes straight into the batch
 * (no copy), so there is room for one more of the largest after BATCH_BYTES.
 * Only the bytes used become resident. */
#define BATCH_CAP ((size_t)BATCH_BYTES + RESULT_OUTPUT_MAX + 1)

struct batch_entry {
    uint64_t index, offset;
    size_t in_end;  /* end of its decoded Output in batch->in */
    size_t out_end; /* end of its minified copy in batch->out (worker) */
    char name[NAME_MAX_BYTES + 1];
};

struct batch {
    uint8_t *in, *out; /* BATCH_CAP each: decoded Outputs, and their copies */
    size_t in_len;
    int count;
    int failed;       /* the entry whose Output is invalid, or -1 (worker) */
    struct error err; /* its error (worker) */
    uint64_t ticket;  /* its job number with the worker, once submitted */
    struct batch_entry e[BATCH_ENTRIES];
};

struct result_reader {
    uint8_t *read_buf;
    struct buf key;  /* the current member name */
    struct buf name; /* the current entry's Name, for messages */

    const char *where;     /* the file being read, for messages */
    struct batch *batches; /* BATCHES, a ring used in turn */
    int fill;              /* the batch being filled */
    int oldest;            /* the oldest batch submitted and not retired */
    int submitted;         /* batches submitted and not retired */
    bool failed;           /* a retired batch failed: err is final */
    /* Validates the batches in submission order, so batch b is done exactly
     * when worker_finished() > b->ticket. Its depth is BATCHES: every batch
     * submitted and not retired may be queued, so submitting never waits. */
    struct worker worker;
    uint64_t tickets; /* jobs handed to the worker so far */
};

/* Never called: a batch's copies fit in batch->out (minifying never grows). */
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
    struct sink copy = {.buf = b->out, .cap = BATCH_CAP, .flush = batch_sink_full};
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

int transformation_parse(const char *name, enum transformation *out)
{
    for (int t = TRANSFORM_NONE; t <= TRANSFORM_FLATTEN; t++)
        if (strcmp(name, transformation_name((enum transformation)t)) == 0) {
            *out = (enum transformation)t;
            return 0;
        }
    return -1;
}

const char *transformation_name(enum transformation t)
{
    return t == TRANSFORM_COMPACT ? "COMPACT" : t == TRANSFORM_FLATTEN ? "FLATTEN" : "NONE";
}

struct result_reader *result_reader_new(struct error *err)
{
    struct result_reader *r = calloc(1, sizeof *r);
    if (r) {
        r->read_buf = malloc(READ_BUFFER);
        r->batches = calloc(BATCHES, sizeof *r->batches);
    }
    if (!r || !r->read_buf || !r->batches) {
        if (r) {
            free(r->read_buf);
            free(r->batches);
        }
        free(r);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory for the read buffer");
        return NULL;
    }
    buf_init(&r->key, KEY_MAX);
    buf_init(&r->name, NAME_MAX_BYTES);
    /* With one CPU a thread only adds switches: batches are validated inline. */
    if (worker_start(&r->worker, BATCHES, sysconf(_SC_NPROCESSORS_ONLN) > 1, validate_batch, NULL,
                     err) != 0) {
        memset(&r->worker, 0, sizeof r->worker); /* nothing to stop */
        result_reader_free(r);
        return NULL;
    }
    return r;
}

void result_reader_free(struct result_reader *r)
{
    if (!r)
        return;
    worker_stop(&r->worker);
    for (int i = 0; i < BATCHES; i++) {
        free(r->batches[i].in);
        free(r->batches[i].out);
    }
    free(r->batches);
    buf_free(&r->key);
    buf_free(&r->name);
    free(r->read_buf);
    free(r);
}

/* Where one entry is, for messages: "s3://b/k entry 12 (Name n) at byte offset 345". */
struct entry_place {
    const char *where;
    uint64_t index;
    uint64_t offset;
    const struct buf *name; /* NULL or empty when unknown */
};

/* Errors of the file's content get the entry's place in front; errors of the
 * store (S3's own codes, I/O) keep the message the store wrote, which already
 * names the object and starts as botocore's messages do. */
static bool is_content_error(const struct error *err)
{
    return strcmp(err->type, ERR_INVALID_RESULT_FILE) == 0 ||
           strcmp(err->type, ERR_INVALID_OUTPUT) == 0;
}

static void prefix_place(struct error *err, const struct entry_place *at)
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
static void submit_batch(struct result_reader *r)
{
    assert(r->submitted < BATCHES);
    assert(r->fill == (r->oldest + r->submitted) % BATCHES);
    struct batch *b = &r->batches[r->fill];
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
static int retire_oldest(struct result_reader *r, bool wait, struct output *out,
                         struct read_stats *stats, struct error *err)
{
    assert(r->submitted > 0);
    struct batch *b = &r->batches[r->oldest];
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
            if (strcmp(err->type, ERR_INVALID_OUTPUT) == 0)
                error_prefix(err, "Output is not one valid JSON document: ");
            prefix_place(err, &at);
            return -1;
        }
        if (output_next(out, err) != 0 ||
            sink_write(&out->sink, b->out + start, e->out_end - start, err) != 0) {
            prefix_place(err, &at);
            return -1;
        }
        stats->entries++;
        start = e->out_end;
    }
    b->count = 0;
    b->in_len = 0;
    r->oldest = (r->oldest + 1) % BATCHES;
    r->submitted--;
    return 0;
}

/* Retires what the worker has finished, without waiting. */
static int retire_done(struct result_reader *r, struct output *out, struct read_stats *stats,
                       struct error *err)
{
    while (r->submitted) {
        int rc = retire_oldest(r, false, out, stats, err);
        if (rc < 0)
            return -1;
        if (rc > 0)
            break;
    }
    return 0;
}

/* Submits the batch being filled and retires every batch, in order. */
static int finish_batches(struct result_reader *r, struct output *out, struct read_stats *stats,
                          struct error *err)
{
    if (r->batches[r->fill].count)
        submit_batch(r);
    while (r->submitted)
        if (retire_oldest(r, true, out, stats, err) != 0)
            return -1;
    return 0;
}

/* After a failure: waits for the worker and drops every batch. */
static void drop_batches(struct result_reader *r)
{
    worker_wait_idle(&r->worker, NULL);
    for (int i = 0; i < BATCHES; i++) {
        r->batches[i].count = 0;
        r->batches[i].in_len = 0;
    }
    r->fill = r->oldest = r->submitted = 0;
}

/* Where the next Output is decoded: the free room of the batch being filled
 * (at least RESULT_OUTPUT_MAX + 1 bytes, so the buffer never has to grow). */
static int output_view(struct result_reader *r, struct buf *view, struct error *err)
{
    struct batch *b = &r->batches[r->fill];
    if (!b->in) {
        b->in = malloc(BATCH_CAP);
        b->out = b->in ? malloc(BATCH_CAP) : NULL;
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

/* Adds the entry whose Output was decoded into output_view's room (n bytes)
 * to the batch being filled; submits it when full, retiring what is done and
 * waiting for the next batch in turn. Returns -1 with err final (and
 * r->failed set) if an earlier entry failed when retired. */
static int batch_add(struct result_reader *r, size_t n, const struct entry_place *at,
                     struct output *out, struct read_stats *stats, struct error *err)
{
    struct batch *b = &r->batches[r->fill];
    assert(b->count < BATCH_ENTRIES && b->in_len + n < BATCH_CAP);
    b->in_len += n;
    struct batch_entry *e = &b->e[b->count++];
    e->index = at->index;
    e->offset = at->offset;
    e->in_end = b->in_len;
    size_t name_len = r->name.len < NAME_MAX_BYTES ? r->name.len : NAME_MAX_BYTES;
    if (name_len)
        memcpy(e->name, r->name.data, name_len);
    e->name[name_len] = '\0';
    if (b->count < BATCH_ENTRIES && b->in_len < BATCH_BYTES)
        return 0;
    submit_batch(r);
    if (retire_done(r, out, stats, err) != 0)
        return r->failed = true, -1;
    /* The batch next in turn is still in flight when all of them are. */
    while (r->submitted == BATCHES)
        if (retire_oldest(r, true, out, stats, err) != 0)
            return r->failed = true, -1;
    return 0;
}

static bool buf_equals(const struct buf *b, const char *s)
{
    size_t n = strlen(s);
    return b->len == n && memcmp(b->data, s, n) == 0;
}

/* Reads an entry's OutputDetails object; *included is cleared when it says
 * "Included": false (Step Functions left the Output out). */
static int read_output_details(struct result_reader *r, struct json_src *src, bool *included,
                               struct error *err)
{
    bool key_overflow;
    if (json_expect(src, '{', ERR_INVALID_RESULT_FILE, err) != 0)
        return -1;
    int b = json_peek(src, err);
    if (b == '}') {
        src->pos++;
        return 0;
    }
    for (;;) {
        buf_reset(&r->key);
        if (b == JSON_ERROR ||
            json_decode_string(src, &r->key, &key_overflow, ERR_INVALID_RESULT_FILE, err) != 0 ||
            json_expect(src, ':', ERR_INVALID_RESULT_FILE, err) != 0)
            return -1;
        b = json_peek(src, err);
        if (!key_overflow && buf_equals(&r->key, "Included") && b == 'f')
            *included = false;
        if (json_copy_value(src, NULL, ERR_INVALID_RESULT_FILE, err) != 0)
            return -1;
        b = json_peek(src, err);
        if (b != ',')
            return b == JSON_ERROR ? -1 : json_expect(src, '}', ERR_INVALID_RESULT_FILE, err);
        src->pos++;
        b = json_peek(src, err);
    }
}

/* Reads one entry object of a NONE-transformation file and emits its Output. */
static int entry_none(struct result_reader *r, struct json_src *src, struct entry_place *at,
                      struct output *out, struct read_stats *stats, struct error *err)
{
    bool have_output = false, included = true, key_overflow;
    struct buf output = {0}; /* the decoded Output, in the batch being filled */
    buf_reset(&r->name);
    at->name = &r->name;
    if (json_expect(src, '{', ERR_INVALID_RESULT_FILE, err) != 0)
        return -1;
    int b = json_peek(src, err);
    if (b == JSON_ERROR)
        return -1;
    if (b == '}')
        src->pos++;
    while (b != '}') {
        buf_reset(&r->key);
        /* json_peek skips the whitespace before the name inline; the decoder
         * would take its slow path for it. */
        if (json_peek(src, err) == JSON_ERROR ||
            json_decode_string(src, &r->key, &key_overflow, ERR_INVALID_RESULT_FILE, err) != 0 ||
            json_expect(src, ':', ERR_INVALID_RESULT_FILE, err) != 0)
            return -1;
        b = json_peek(src, err);
        if (!key_overflow && buf_equals(&r->key, "Output")) {
            if (have_output)
                return error_set(err, ERR_INVALID_RESULT_FILE, "Output appears twice");
            if (b != '"')
                return error_set(err, ERR_INVALID_RESULT_FILE,
                                 "Output is not a string (a JSON document encoded as a string "
                                 "is expected; is the file from a COMPACT or FLATTEN writer?)");
            have_output = true;
            if (output_view(r, &output, err) != 0 ||
                json_decode_string(src, &output, NULL, ERR_INVALID_OUTPUT, err) != 0)
                return -1;
        } else if (!key_overflow && buf_equals(&r->key, "OutputDetails") && b == '{') {
            if (read_output_details(r, src, &included, err) != 0)
                return -1;
        } else if (!key_overflow && buf_equals(&r->key, "Name") && b == '"') {
            bool name_overflow;
            if (json_decode_string(src, &r->name, &name_overflow, ERR_INVALID_RESULT_FILE, err) !=
                0)
                return -1;
        } else if (json_copy_value(src, NULL, ERR_INVALID_RESULT_FILE, err) != 0) {
            return -1;
        }
        b = json_peek(src, err);
        if (b != ',' && b != '}')
            return b == JSON_ERROR ? -1 : json_expect(src, '}', ERR_INVALID_RESULT_FILE, err);
        src->pos++; /* after ',' a member name must follow, so b (',') keeps the loop going */
    }
    if (!included && output.len == 0)
        return error_set(err, ERR_INVALID_OUTPUT,
                         "the entry has no Output: Step Functions left it out of the result file "
                         "(\"OutputDetails\": {\"Included\": false})");
    if (!have_output)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "the entry has no Output (was the ResultWriter told to leave it out?)");
    /* Validated, minified and written when its batch is retired. */
    return batch_add(r, output.len, at, out, stats, err);
}

static int entry_raw_copy(struct json_src *src, enum transformation transformation,
                          struct output *out, struct error *err);

/* Emits one raw output (COMPACT), or the elements of an array output
 * (FLATTEN). An output's text is held to RESULT_OUTPUT_MAX as in NONE. */
static int entry_raw(struct json_src *src, enum transformation transformation, struct output *out,
                     struct error *err)
{
    if (json_peek(src, err) == JSON_ERROR)
        return -1;
    uint64_t start = json_src_offset(src);
    if (entry_raw_copy(src, transformation, out, err) != 0)
        return -1;
    uint64_t size = json_src_offset(src) - start;
    if (size > RESULT_OUTPUT_MAX)
        return error_set(err, ERR_INVALID_OUTPUT,
                         "the output is %" PRIu64
                         " bytes long, more than the %u bytes an output may have",
                         size, RESULT_OUTPUT_MAX);
    return 0;
}

static int entry_raw_copy(struct json_src *src, enum transformation transformation,
                          struct output *out, struct error *err)
{
    int b = json_peek(src, err);
    if (transformation != TRANSFORM_FLATTEN || b != '[') {
        if (b == JSON_ERROR || output_next(out, err) != 0)
            return -1;
        return json_copy_value(src, &out->sink, ERR_INVALID_OUTPUT, err);
    }
    src->pos++;
    b = json_peek(src, err);
    if (b == ']') {
        src->pos++;
        return 0;
    }
    for (;;) {
        if (b == JSON_ERROR || output_next(out, err) != 0 ||
            json_copy_value(src, &out->sink, ERR_INVALID_OUTPUT, err) != 0)
            return -1;
        b = json_peek(src, err);
        if (b == ',') {
            src->pos++;
            continue;
        }
        return json_expect(src, ']', ERR_INVALID_OUTPUT, err);
    }
}

static int stream_entries(struct result_reader *r, struct json_src *src, const char *where,
                          enum transformation transformation, struct output *out,
                          struct read_stats *stats, struct error *err)
{
    struct entry_place at = {where, 0, 0, NULL};
    int b = json_peek(src, err);
    if (b == JSON_ERROR)
        return -1;
    if (b == JSON_EOF)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "%s is empty (expected a JSON array or JSON Lines)", where);
    /* A JSON array file starts with '['; JSON Lines starts with the first entry. */
    bool array = b == '[';
    if (array) {
        src->pos++;
        b = json_peek(src, err);
        if (b == ']') {
            src->pos++;
            b = json_peek(src, err);
            goto end;
        }
    }
    for (;;) {
        if (json_peek(src, err) == JSON_ERROR)
            return -1;
        at.offset = json_src_offset(src); /* where the entry itself starts */
        uint64_t before = out->count;
        int rc = transformation == TRANSFORM_NONE ? entry_none(r, src, &at, out, stats, err)
                                                  : entry_raw(src, transformation, out, err);
        if (rc != 0) {
            if (!r->failed) /* else err is an earlier entry's, placed already */
                prefix_place(err, &at);
            return -1;
        }
        if (transformation != TRANSFORM_NONE) /* NONE: counted as batches are retired */
            stats->entries += out->count - before;
        at.index++;
        at.name = NULL;
        bool newline;
        b = json_peek_line(src, &newline, err);
        if (!array && b >= 0 && !newline)
            return error_set(err, ERR_INVALID_RESULT_FILE,
                             "%s: entry %" PRIu64 " at byte offset %" PRIu64
                             " starts on the line of entry %" PRIu64
                             " (JSON Lines holds one entry per line)",
                             where, at.index, json_src_offset(src), at.index - 1);
        if (array) {
            if (b == ',') {
                src->pos++;
                continue;
            }
            if (b == ']') {
                src->pos++;
                b = json_peek(src, err);
                break;
            }
            if (b == JSON_ERROR)
                return -1;
            return error_set(err, ERR_INVALID_RESULT_FILE,
                             "%s: after entry %" PRIu64 " at byte offset %" PRIu64
                             ": expected ',' or ']'%s",
                             where, at.index - 1, json_src_offset(src),
                             b == JSON_EOF ? " but the file ends (truncated?)" : "");
        }
        if (b == JSON_EOF || b == JSON_ERROR)
            break;
    }
end:
    if (b == JSON_ERROR)
        return -1;
    if (b != JSON_EOF)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "%s: trailing data after the closing ']' at byte offset %" PRIu64 "%s",
                         where, json_src_offset(src),
                         transformation == TRANSFORM_NONE
                             ? ""
                             : " (JSON Lines whose first output is an array cannot be told "
                               "from a JSON array file)");
    return 0;
}

int result_reader_stream_source(struct result_reader *r, struct json_src *src, const char *where,
                                enum transformation transformation, struct output *out,
                                struct read_stats *stats, struct error *err)
{
    r->where = where;
    r->failed = false;
    int rc = stream_entries(r, src, where, transformation, out, stats, err);
    if (transformation != TRANSFORM_NONE)
        return rc;
    if (rc != 0 && r->failed) {
        drop_batches(r);
        return -1;
    }
    /* Entries still in batches come before this thread's error, if any: an
     * invalid Output among them is the error to report. */
    struct error own;
    if (rc != 0)
        own = *err;
    if (finish_batches(r, out, stats, err) != 0) {
        drop_batches(r);
        return -1;
    }
    if (rc != 0) {
        *err = own;
        return -1;
    }
    return 0;
}

/* Feeds a json_src from a store reader, reporting progress as bytes arrive. */
struct object_source {
    struct json_src src;
    struct store *store;
    struct store_reader *reader;
    uint8_t *buf;
    bool eof;
    const struct read_hooks *hooks; /* NULL: none */
    struct read_stats *stats;
    uint64_t bytes; /* of this object, so far */
};

static int object_fill(struct json_src *src, size_t need, struct error *err)
{
    struct object_source *o = src->ctx;
    size_t keep = (size_t)(src->end - src->pos);
    src->base += (uint64_t)(src->pos - src->start);
    memmove(o->buf, src->pos, keep);
    src->start = src->pos = o->buf;
    src->end = o->buf + keep;
    while (!o->eof && (size_t)(src->end - src->pos) < need) {
        ssize_t n = store_read(o->store, o->reader, o->buf + keep, READ_BUFFER - keep, err);
        if (n < 0)
            return -1;
        o->eof = n == 0;
        keep += (size_t)n;
        src->end += n;
        o->stats->bytes_read += (uint64_t)n;
        o->bytes += (uint64_t)n;
        if (!o->hooks)
            continue;
        if (o->hooks->progress)
            o->hooks->progress(o->stats, o->hooks->ctx);
        if (o->hooks->should_stop && o->hooks->should_stop(o->hooks->ctx, err) != 0)
            return -1;
    }
    return 0;
}

int result_reader_stream(struct result_reader *r, struct store *store, const char *bucket,
                         const struct result_file *file, enum transformation transformation,
                         const struct read_hooks *hooks, struct output *out,
                         struct read_stats *stats, struct error *err)
{
    char where[2048];
    snprintf(where, sizeof where, "s3://%s/%s", bucket, file->key);
    struct object_source o = {.store = store, .buf = r->read_buf, .hooks = hooks, .stats = stats};
    if (store_open_read(store, bucket, file->key, &o.reader, err) != 0)
        return -1;
    o.src.start = o.src.pos = o.src.end = r->read_buf;
    o.src.fill = object_fill;
    o.src.ctx = &o;
    int rc = result_reader_stream_source(r, &o.src, where, transformation, out, stats, err);
    /* A successful parse has read to the end of the object (anything after
     * the last entry is an error), so o.bytes is its length, which the store
     * has checked against the response. The manifest's Size is only a hint:
     * the function this replaces never read it, and tests give placeholders. */
    store_close_read(store, o.reader);
    if (rc == 0 && file->size >= 0 && o.bytes != (uint64_t)file->size)
        log_fields(LOG_WARN, "result file size differs from the manifest's Size",
                   LOG_STR("bucket", bucket), LOG_STR("key", file->key), LOG_U64("bytes", o.bytes),
                   LOG_I64("manifestSize", file->size), LOG_END);
    if (rc == 0)
        stats->result_files++;
    return rc;
}
