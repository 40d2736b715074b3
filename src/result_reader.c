#include "result_reader.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batches.h"
#include "log.h"

/* Bytes read from the store at a time. */
enum { READ_BUFFER = 256 * 1024 };
/* Bytes of a member name kept: longer names are none an entry's reader wants. */
enum { MEMBER_NAME_MAX = 16 };

struct result_reader {
    uint8_t *read_buf;
    struct buf member; /* the current member name */
    struct buf name;   /* the current entry's Name, for messages */
    /* With NONE: the decoded Outputs, validated off this thread and written
     * in order. */
    struct batches *batches;
};

int result_reader_transformation_parse(const char *name, enum transformation *out)
{
    for (int t = TRANSFORM_NONE; t <= TRANSFORM_FLATTEN; t++)
        if (strcmp(name, result_reader_transformation_name((enum transformation)t)) == 0) {
            *out = (enum transformation)t;
            return 0;
        }
    return -1;
}

const char *result_reader_transformation_name(enum transformation t)
{
    return t == TRANSFORM_COMPACT ? "COMPACT" : t == TRANSFORM_FLATTEN ? "FLATTEN" : "NONE";
}

struct result_reader *result_reader_new(struct error *err)
{
    struct result_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->read_buf = malloc(READ_BUFFER))) {
        free(r);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory for the read buffer");
        return NULL;
    }
    buf_init(&r->member, MEMBER_NAME_MAX);
    buf_init(&r->name, ENTRY_NAME_MAX);
    if (!(r->batches = batches_new(err))) {
        result_reader_free(r);
        return NULL;
    }
    return r;
}

void result_reader_free(struct result_reader *r)
{
    if (!r)
        return;
    batches_free(r->batches);
    buf_free(&r->member);
    buf_free(&r->name);
    free(r->read_buf);
    free(r);
}

/* Reads an entry's OutputDetails object into *included: false when its
 * (last) "Included" is false (Step Functions left the Output out). */
static int read_output_details(struct result_reader *r, struct json_src *src, bool *included,
                               struct error *err)
{
    static const char *const members[] = {"Included"};
    struct json_object o;
    if (json_object_open(&o, src, &r->member, ERR_INVALID_RESULT_FILE, err) != 0)
        return -1;
    for (;;) {
        int m = json_object_next(&o, members, 1);
        if (m != 0)
            return m < 0 ? -1 : 0;
        *included = *src->pos != 'f';
        if (json_skip_value(src, ERR_INVALID_RESULT_FILE, err) != 0)
            return -1;
    }
}

/* The members of an entry the step reads; the others are skipped. */
enum { MEMBER_OUTPUT, MEMBER_OUTPUT_DETAILS, MEMBER_NAME, ENTRY_MEMBERS };
static const char *const entry_members[ENTRY_MEMBERS] = {"Output", "OutputDetails", "Name"};

/* Reads one entry object of a NONE-transformation file and emits its Output.
 * A member replaces what an earlier one of its name gave (json.h). */
static int entry_none(struct result_reader *r, struct json_src *src, struct entry_place *at,
                      struct output *out, struct read_stats *stats, struct error *err)
{
    enum { OUTPUT_NONE, OUTPUT_STRING, OUTPUT_OTHER } output_kind = OUTPUT_NONE;
    bool included = true;
    struct buf output = {0}; /* the decoded Output, in the batch being filled */
    buf_reset(&r->name);
    at->name = &r->name;
    struct json_object o;
    if (json_object_open(&o, src, &r->member, ERR_INVALID_RESULT_FILE, err) != 0)
        return -1;
    for (;;) {
        int m = json_object_next(&o, entry_members, ENTRY_MEMBERS);
        if (m < 0)
            return -1;
        if (m == ENTRY_MEMBERS)
            break;
        int b = *src->pos; /* json_object_next stops at the value */
        int rc;
        if (m == MEMBER_OUTPUT && b == '"') {
            output_kind = OUTPUT_STRING;
            rc = output.data || batches_view(r->batches, &output, err) == 0 ? 0 : -1;
            buf_reset(&output);
            if (rc == 0)
                rc = json_decode_string(src, &output, NULL, ERR_INVALID_OUTPUT, err);
        } else if (m == MEMBER_OUTPUT_DETAILS && b == '{') {
            included = true;
            rc = read_output_details(r, src, &included, err);
        } else if (m == MEMBER_NAME && b == '"') {
            bool name_overflow;
            buf_reset(&r->name);
            rc = json_decode_string(src, &r->name, &name_overflow, ERR_INVALID_RESULT_FILE, err);
        } else {
            if (m == MEMBER_OUTPUT)
                output_kind = OUTPUT_OTHER;
            else if (m == MEMBER_OUTPUT_DETAILS)
                included = true;
            else
                buf_reset(&r->name);
            rc = json_skip_value(src, ERR_INVALID_RESULT_FILE, err);
        }
        if (rc != 0)
            return -1;
    }
    if (!included && output.len == 0)
        return error_set(err, ERR_INVALID_OUTPUT,
                         "the entry has no Output: Step Functions left it out of the result file "
                         "(\"OutputDetails\": {\"Included\": false})");
    if (output_kind == OUTPUT_OTHER)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "Output is not a string (a JSON document encoded as a string "
                         "is expected; is the file from a COMPACT or FLATTEN writer?)");
    if (output_kind == OUTPUT_NONE)
        return error_set(err, ERR_INVALID_RESULT_FILE,
                         "the entry has no Output (was the ResultWriter told to leave it out?)");
    /* Validated, minified and written when its batch is retired. */
    return batches_add(r->batches, output.len, at, out, &stats->entries, err);
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

/* Reads one entry, at its first byte, and emits its output(s); on failure,
 * err says which entry (at: index, byte offset, Name). */
static int stream_entry(struct result_reader *r, struct json_src *src, struct entry_place *at,
                        enum transformation transformation, struct output *out,
                        struct read_stats *stats, struct error *err)
{
    if (json_peek(src, err) == JSON_ERROR)
        return -1;
    at->offset = json_src_offset(src); /* where the entry itself starts */
    uint64_t before = out->count;
    int rc = transformation == TRANSFORM_NONE ? entry_none(r, src, at, out, stats, err)
                                              : entry_raw(src, transformation, out, err);
    if (rc != 0) {
        if (batches_failed(r->batches)) /* err is an earlier entry's, placed */
            return -1;
        /* Wherever the file is cut, that is the file's fault, not the
         * Output's that happens to be cut. */
        if (src->ended)
            error_set(err, ERR_INVALID_RESULT_FILE,
                      "the file ends at byte offset %" PRIu64
                      ", before the entry does (truncated?)",
                      json_src_offset(src) + (uint64_t)(src->end - src->pos));
        batches_entry_place_prefix(err, at);
        return -1;
    }
    if (transformation != TRANSFORM_NONE) /* NONE: counted as batches are retired */
        stats->entries += out->count - before;
    at->index++;
    at->name = NULL;
    return 0;
}

/* Reads what follows an entry (at->index entries read): 1 when another entry
 * follows, 0 at the end of the entries, with *b the next byte (JSON_EOF if
 * none), or -1 on error. In an array that is ',' or the closing ']'; in JSON
 * Lines a newline, or the end of the file. */
static int next_entry(struct json_src *src, const char *where, bool array,
                      const struct entry_place *at, int *b, struct error *err)
{
    bool newline;
    *b = json_peek_line(src, &newline, err);
    if (!array) {
        if (*b >= 0 && !newline)
            return error_set(err, ERR_INVALID_RESULT_FILE,
                             "%s: entry %" PRIu64 " at byte offset %" PRIu64
                             " starts on the line of entry %" PRIu64
                             " (JSON Lines holds one entry per line)",
                             where, at->index, json_src_offset(src), at->index - 1);
        return *b != JSON_EOF && *b != JSON_ERROR;
    }
    if (*b == ',') {
        src->pos++;
        return 1;
    }
    if (*b == ']') {
        src->pos++;
        *b = json_peek(src, err);
        return 0;
    }
    if (*b == JSON_ERROR)
        return -1;
    return error_set(err, ERR_INVALID_RESULT_FILE,
                     "%s: after entry %" PRIu64 " at byte offset %" PRIu64
                     ": expected ',' or ']'%s",
                     where, at->index - 1, json_src_offset(src),
                     *b == JSON_EOF ? " but the file ends (truncated?)" : "");
}

/* Streams a result file's entries: a JSON array, or JSON Lines (told apart
 * by the first byte), and nothing after them. */
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
    bool more = true; /* entries to read */
    if (array) {
        src->pos++;
        if (json_peek(src, err) == ']') {
            src->pos++;
            b = json_peek(src, err);
            more = false;
        }
    }
    while (more) {
        if (stream_entry(r, src, &at, transformation, out, stats, err) != 0)
            return -1;
        int next = next_entry(src, where, array, &at, &b, err);
        if (next < 0)
            return -1;
        more = next == 1;
    }
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
    int rc = stream_entries(r, src, where, transformation, out, stats, err);
    if (transformation != TRANSFORM_NONE)
        return rc;
    if (rc != 0 && batches_failed(r->batches)) {
        batches_drop(r->batches);
        return -1;
    }
    /* Entries still in batches come before this thread's error, if any: an
     * invalid Output among them is the error to report. */
    struct error own;
    if (rc != 0)
        own = *err;
    if (batches_finish(r->batches, out, &stats->entries, err) != 0) {
        batches_drop(r->batches);
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
