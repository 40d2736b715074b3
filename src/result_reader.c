#include "result_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from the store at a time. */
enum { READ_BUFFER = 256 * 1024, KEY_MAX = 16, NAME_MAX_BYTES = 256 };

struct result_reader {
    uint8_t *read_buf;
    struct buf output; /* the decoded Output of the current entry */
    struct buf key;    /* the current member name */
    struct buf name;   /* the current entry's Name, for messages */
};

struct result_reader *result_reader_new(struct error *err)
{
    struct result_reader *r = calloc(1, sizeof *r);
    if (r)
        r->read_buf = malloc(READ_BUFFER);
    if (!r || !r->read_buf) {
        free(r);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory for the read buffer");
        return NULL;
    }
    buf_init(&r->output, RESULT_OUTPUT_MAX);
    buf_init(&r->key, KEY_MAX);
    buf_init(&r->name, NAME_MAX_BYTES);
    return r;
}

void result_reader_free(struct result_reader *r)
{
    if (!r)
        return;
    buf_free(&r->output);
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

static bool buf_equals(const struct buf *b, const char *s)
{
    size_t n = strlen(s);
    return b->len == n && memcmp(b->data, s, n) == 0;
}

/* Reads one entry object of a NONE-transformation file and emits its Output. */
static int entry_none(struct result_reader *r, struct json_src *src, struct entry_place *at,
                      struct output *out, struct error *err)
{
    bool have_output = false, key_overflow;
    buf_reset(&r->output);
    buf_reset(&r->name);
    at->name = &r->name;
    if (json_expect(src, '{', ERR_INVALID_RESULT_FILE, err) != 0)
        return -1;
    int b = json_peek(src, err);
    if (b == -2)
        return -1;
    if (b == '}')
        src->pos++;
    while (b != '}') {
        buf_reset(&r->key);
        if (json_decode_string(src, &r->key, &key_overflow, ERR_INVALID_RESULT_FILE, err) != 0 ||
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
            if (json_decode_string(src, &r->output, NULL, ERR_INVALID_OUTPUT, err) != 0)
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
            return b == -2 ? -1 : json_expect(src, '}', ERR_INVALID_RESULT_FILE, err);
        src->pos++; /* after ',' a member name must follow, so b (',') keeps the loop going */
    }
    if (!have_output)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "the entry has no Output (was the ResultWriter told to leave it out?)");
    if (output_next(out, err) != 0)
        return -1;
    if (json_copy_document(r->output.data, r->output.len, &out->sink, ERR_INVALID_OUTPUT, err) !=
        0) {
        if (strcmp(err->type, ERR_INVALID_OUTPUT) == 0)
            error_prefix(err, "Output is not one valid JSON document: ");
        return -1;
    }
    return 0;
}

/* Emits one raw output (COMPACT), or the elements of an array output (FLATTEN). */
static int entry_raw(struct json_src *src, enum transformation transformation, struct output *out,
                     struct error *err)
{
    int b = json_peek(src, err);
    if (transformation != TRANSFORM_FLATTEN || b != '[') {
        if (b == -2 || output_next(out, err) != 0)
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
        if (b == -2 || output_next(out, err) != 0 ||
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

int result_reader_stream_source(struct result_reader *r, struct json_src *src, const char *where,
                                enum transformation transformation, struct output *out,
                                struct step_stats *stats, struct error *err)
{
    struct entry_place at = {where, 0, 0, NULL};
    int b = json_peek(src, err);
    if (b == -2)
        return -1;
    if (b == -1)
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
        if (json_peek(src, err) == -2)
            return -1;
        at.offset = json_src_offset(src); /* where the entry itself starts */
        uint64_t before = out->count;
        int rc = transformation == TRANSFORM_NONE ? entry_none(r, src, &at, out, err)
                                                  : entry_raw(src, transformation, out, err);
        if (rc != 0) {
            prefix_place(err, &at);
            return -1;
        }
        stats->entries += out->count - before;
        at.index++;
        at.name = NULL;
        b = json_peek(src, err);
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
            if (b == -2)
                return -1;
            return error_set(err, ERR_INVALID_RESULT_FILE,
                             "%s: after entry %" PRIu64 " at byte offset %" PRIu64
                             ": expected ',' or ']'%s",
                             where, at.index - 1, json_src_offset(src),
                             b == -1 ? " but the file ends (truncated?)" : "");
        }
        if (b == -1 || b == -2)
            break;
    }
end:
    if (b == -2)
        return -1;
    if (b != -1)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "%s: trailing data after the closing ']' at byte offset %" PRIu64 "%s",
                         where, json_src_offset(src),
                         transformation == TRANSFORM_NONE
                             ? ""
                             : " (JSON Lines whose first output is an array cannot be told "
                               "from a JSON array file)");
    return 0;
}

/* Feeds a json_src from a store reader, reporting progress as bytes arrive. */
struct object_source {
    struct json_src src;
    struct store *store;
    struct store_reader *reader;
    uint8_t *buf;
    bool eof;
    const struct step_options *options;
    struct step_stats *stats;
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
        if (o->options->progress)
            o->options->progress(o->stats, o->options->ctx);
        if (o->options->should_stop && o->options->should_stop(o->options->ctx, err) != 0)
            return -1;
    }
    return 0;
}

int result_reader_stream(struct result_reader *r, struct store *store, const char *bucket,
                         const struct result_file *file, const struct step_options *options,
                         struct output *out, struct step_stats *stats, struct error *err)
{
    char where[2048];
    snprintf(where, sizeof where, "s3://%s/%s", bucket, file->key);
    struct object_source o = {
        .store = store, .buf = r->read_buf, .options = options, .stats = stats};
    if (store_open_read(store, bucket, file->key, file->size, &o.reader, err) != 0)
        return -1;
    o.src.start = o.src.pos = o.src.end = r->read_buf;
    o.src.fill = object_fill;
    o.src.ctx = &o;
    int rc =
        result_reader_stream_source(r, &o.src, where, options->transformation, out, stats, err);
    /* A successful parse has read to the end of the object (anything after
     * the last entry is an error), so the store has checked its size. */
    store_close_read(store, o.reader);
    if (rc == 0)
        stats->result_files++;
    return rc;
}
