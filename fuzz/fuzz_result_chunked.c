/* Fuzz target: result-file streaming at arbitrary chunk boundaries.
 *
 * Input: 4 bytes that choose piece sizes (1-32 bytes each, cycling), then the
 * result file. For each transformation (NONE, COMPACT, FLATTEN) the file is
 * streamed through result_reader_stream_source three ways: whole (one buffer),
 * one byte per refill, and in the chosen pieces. All three must give the same
 * output text and entry count, or the same error type and message. A success
 * must be valid, minified JSON; a failure must be InvalidResultFile or
 * InvalidOutput with a valid error document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "result_reader.h"
#include "split.h"

struct outcome {
    bool ok;
    char *text; /* the results array body, or "TYPE: message" */
    size_t len;
    uint64_t entries;
};

static struct result_reader *reader;

static void run(const uint8_t *file, size_t len, enum transformation t, const size_t *pattern,
                size_t npattern, struct outcome *o)
{
    struct split_src split;
    struct json_src whole;
    struct json_src *src;
    char *copy = NULL;
    if (pattern) {
        split_init(&split, file, len, pattern, npattern);
        src = &split.src;
    } else {
        copy = fuzz_exact_copy(file, len);
        json_src_memory(&whole, copy, len);
        src = &whole;
    }
    struct memsink m;
    memsink_init(&m);
    struct output out = {.sink = m.sink};
    struct read_stats stats = {0};
    struct error err = {0};
    o->ok = result_reader_stream_source(reader, src, "s3://b/r/SUCCEEDED_0.json", t, &out, &stats,
                                        &err) == 0;
    o->entries = stats.entries;
    if (o->ok) {
        FUZZ_CHECK(!err.type[0], "success with an error set: %s", err.type);
        FUZZ_CHECK(out.count == stats.entries, "%llu values begun, %llu entries counted",
                   (unsigned long long)out.count, (unsigned long long)stats.entries);
        sink_flush(&out.sink, NULL);
        o->text = m.data;
        o->len = m.len;
        m.data = NULL;
    } else {
        static const char *const allowed[] = {ERR_INVALID_RESULT_FILE, ERR_INVALID_OUTPUT, NULL};
        fuzz_check_error(&err, allowed);
        size_t n = strlen(err.type) + strlen(err.message) + 3;
        o->text = malloc(n);
        if (!o->text)
            abort();
        o->len = (size_t)snprintf(o->text, n, "%s: %s", err.type, err.message);
    }
    memsink_free(&m);
    if (pattern)
        split_free(&split);
    free(copy);
}

static void check_same(const struct outcome *a, const struct outcome *b, const char *how,
                       enum transformation t)
{
    FUZZ_CHECK(a->ok == b->ok && a->len == b->len && memcmp(a->text, b->text, a->len) == 0 &&
                   a->entries == b->entries,
               "transformation %d, %s differs from whole:\n  whole: %s %s (%llu)\n  %s: %s %s "
               "(%llu)",
               (int)t, how, a->ok ? "ok" : "error", a->text, (unsigned long long)a->entries, how,
               b->ok ? "ok" : "error", b->text, (unsigned long long)b->entries);
}

/* The emitted values, as the array results.json holds them, must be valid JSON
 * and already minified (copying them again changes nothing). */
static void check_output_is_json(const char *body, size_t n)
{
    char *doc = malloc(n + 2);
    if (!doc)
        abort();
    doc[0] = '[';
    memcpy(doc + 1, body, n);
    doc[n + 1] = ']';
    struct memsink m;
    memsink_init(&m);
    struct error err = {0};
    int rc = json_copy_document(doc, n + 2, &m.sink, ERR_INVALID_OUTPUT, &err);
    FUZZ_CHECK(rc == 0, "emitted results are not valid JSON (%s): [%s]", err.message, body);
    const char *again = memsink_text(&m);
    FUZZ_CHECK(m.len == n + 2 && memcmp(again, doc, n + 2) == 0,
               "emitted results are not minified: [%s] -> %s", body, again);
    memsink_free(&m);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reader) {
        struct error err = {0};
        reader = result_reader_new(&err);
        if (!reader)
            abort();
    }
    size_t pattern[4] = {1, 1, 1, 1};
    if (size >= 4) {
        for (int i = 0; i < 4; i++)
            pattern[i] = (size_t)(data[i] % 32) + 1;
        data += 4;
        size -= 4;
    }
    static const size_t one[1] = {1};
    for (int t = TRANSFORM_NONE; t <= TRANSFORM_FLATTEN; t++) {
        struct outcome whole, bytes, pieces;
        run(data, size, (enum transformation)t, NULL, 0, &whole);
        run(data, size, (enum transformation)t, one, 1, &bytes);
        run(data, size, (enum transformation)t, pattern, 4, &pieces);
        check_same(&whole, &bytes, "one byte at a time", (enum transformation)t);
        check_same(&whole, &pieces, "in pieces", (enum transformation)t);
        if (whole.ok)
            check_output_is_json(whole.text, whole.len);
        free(whole.text);
        free(bytes.text);
        free(pieces.text);
    }
    return 0;
}
