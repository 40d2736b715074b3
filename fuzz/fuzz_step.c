/* Fuzz target: the whole step (step_run) over an in-memory object store.
 *
 * Input: one flags byte, then NUL-separated sections: the manifest (object
 * c/m.json in bucket b) and up to three objects r0, r1, r2 that it may list.
 * The event is fixed: {"results": {"ResultWriterDetails": {"Bucket": "b",
 * "Key": "c/m.json"}}}. The flags choose the transformation, the size of the
 * store's reads (so result files arrive in pieces), whether a deadline stops
 * the step after a few refills, and the log format (logs go to memory at TRACE
 * level and are checked).
 *
 * Checks, whatever the input:
 *  - success: exactly one object committed, none aborted; it is valid JSON,
 *    {"results":[...],"statuses":...}; the reply names it; bytes_written is its
 *    size;
 *  - failure: nothing committed, every writer opened was aborted, a known
 *    errorType with a valid error document, the reply emptied;
 *  - in JSON log format every log line is one JSON object, whatever the keys
 *    and Names hold (no line can be forged). The text format writes values as
 *    they are (SECURITY.md), so there only the final newline is checked. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "log.h"
#include "step.h"

enum { MAX_OBJECTS = 4 };

struct object {
    const char *key;
    const uint8_t *data;
    size_t len;
};

struct mem_store {
    struct store base;
    struct object objects[MAX_OBJECTS];
    size_t count;
    size_t read_size; /* largest read handed out */
    int opened, committed, aborted, open_readers;
    char *result; /* the committed object */
    size_t result_len;
    char result_key[2048];
};

struct store_reader {
    struct mem_store *store;
    const struct object *object;
    size_t offset;
};

struct store_writer {
    struct mem_store *store;
    char key[2048];
    struct memsink data;
};

static int mem_open_read(struct store *base, const char *bucket, const char *key,
                         struct store_reader **out, struct error *err)
{
    struct mem_store *s = (struct mem_store *)base;
    if (strcmp(bucket, "b") != 0)
        return error_set(err, ERR_NO_SUCH_BUCKET, "The specified bucket does not exist: %s",
                         bucket);
    for (size_t i = 0; i < s->count; i++) {
        if (strcmp(s->objects[i].key, key) != 0)
            continue;
        struct store_reader *r = calloc(1, sizeof *r);
        if (!r)
            abort();
        *r = (struct store_reader){s, &s->objects[i], 0};
        s->open_readers++;
        *out = r;
        return 0;
    }
    error_set(err, ERR_NO_SUCH_KEY, NO_SUCH_KEY_MESSAGE);
    error_where(err, "GetObject s3://%s/%s", bucket, key);
    return -1;
}

static ssize_t mem_read(struct store_reader *r, void *buf, size_t cap, struct error *err)
{
    (void)err; /* memory does not fail */
    size_t left = r->object->len - r->offset;
    size_t n = left < cap ? left : cap;
    if (n > r->store->read_size)
        n = r->store->read_size;
    memcpy(buf, r->object->data + r->offset, n);
    r->offset += n;
    return (ssize_t)n;
}

static void mem_close_read(struct store_reader *r)
{
    r->store->open_readers--;
    free(r);
}

static int mem_open_write(struct store *base, const char *bucket, const char *key,
                          struct store_writer **out, struct error *err)
{
    (void)err;
    struct mem_store *s = (struct mem_store *)base;
    FUZZ_CHECK(strcmp(bucket, "b") == 0, "writing to bucket %s", bucket);
    FUZZ_CHECK(s->opened == 0, "a second output opened");
    struct store_writer *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->store = s;
    snprintf(w->key, sizeof w->key, "%s", key);
    memsink_init(&w->data);
    s->opened++;
    *out = w;
    return 0;
}

static int mem_write(struct store_writer *w, const void *p, size_t n, struct error *err)
{
    return sink_write(&w->data.sink, p, n, err);
}

static int mem_commit(struct store_writer *w, struct error *err)
{
    (void)err;
    struct mem_store *s = w->store;
    memsink_text(&w->data);
    s->result = w->data.data;
    s->result_len = w->data.len;
    snprintf(s->result_key, sizeof s->result_key, "%s", w->key);
    s->committed++;
    free(w);
    return 0;
}

static void mem_abort(struct store_writer *w)
{
    w->store->aborted++;
    memsink_free(&w->data);
    free(w);
}

static void mem_destroy(struct store *base)
{
    (void)base;
}

static const struct store_ops mem_ops = {
    mem_open_read, mem_read,  mem_close_read, mem_open_write, mem_write,
    mem_commit,    mem_abort, mem_destroy,    NULL, /* set_invocation */
};

/* A deadline that passes after `left` checks. */
static int stop_after(void *ctx, struct error *err)
{
    int *left = ctx;
    if (*left < 0 || (*left)-- > 0)
        return 0;
    return error_set(err, ERR_TIMEOUT, "the deadline passed");
}

static void check_logs(char *logs, size_t len, bool json)
{
    for (char *line = logs, *end = logs + len; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        FUZZ_CHECK(nl != NULL, "log output does not end with a newline");
        *nl = '\0';
        if (json) {
            json_error_t jerr;
            json_t *doc = json_loads(line, 0, &jerr);
            FUZZ_CHECK(json_is_object(doc), "log line is not a JSON object (%s): %s", jerr.text,
                       line);
            json_decref(doc);
        }
        line = nl + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char event[] =
        "{\"results\": {\"ResultWriterDetails\": {\"Bucket\": \"b\", \"Key\": \"c/m.json\"}}}";
    static const char *const allowed[] = {ERR_INVALID_MANIFEST,
                                          ERR_INCOMPLETE_MAP_RUN,
                                          ERR_INVALID_RESULT_FILE,
                                          ERR_INVALID_OUTPUT,
                                          ERR_NO_SUCH_BUCKET,
                                          ERR_NO_SUCH_KEY,
                                          ERR_TIMEOUT,
                                          NULL};
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    data++;
    size--;

    static const char *const keys[MAX_OBJECTS] = {"c/m.json", "r0", "r1", "r2"};
    struct mem_store s = {.base = {&mem_ops}};
    static const size_t read_sizes[] = {1, 3, 64, 1 << 20};
    s.read_size = read_sizes[(flags >> 2) & 3];
    uint8_t *copy = (uint8_t *)fuzz_exact_copy(data, size);
    const uint8_t *p = copy, *end = copy + size;
    for (size_t i = 0; i < MAX_OBJECTS && p <= end; i++) {
        const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
        const uint8_t *stop = nul ? nul : end;
        s.objects[s.count++] = (struct object){keys[i], p, (size_t)(stop - p)};
        p = stop + 1;
        if (!nul)
            break;
    }

    bool json_logs = flags & 0x40;
    char *logs = NULL;
    size_t logs_len = 0;
    FILE *log_stream = open_memstream(&logs, &logs_len);
    if (!log_stream)
        abort();
    log_configure(json_logs ? "JSON" : "Text", "TRACE");
    log_set_stream(log_stream);

    int deadline = (flags & 0x80) ? (int)(flags >> 4 & 3) : -1;
    struct step_options options = {
        .transformation = (enum transformation)((flags & 3) % 3),
        .hooks = {.should_stop = stop_after, .ctx = &deadline},
    };
    struct step_reply reply;
    struct step_stats stats;
    struct error err = {0};
    int rc = step_run(event, sizeof event - 1, &s.base, &options, &reply, &stats, &err);

    FUZZ_CHECK(s.open_readers == 0, "%d readers left open", s.open_readers);
    if (rc == 0) {
        FUZZ_CHECK(s.committed == 1 && s.aborted == 0, "success with %d commits, %d aborts",
                   s.committed, s.aborted);
        FUZZ_CHECK(strcmp(reply.bucket, "b") == 0 && strcmp(reply.key, s.result_key) == 0,
                   "reply %s/%s, object %s", reply.bucket, reply.key, s.result_key);
        FUZZ_CHECK(strncmp(reply.key, "c/", 2) == 0 && strlen(reply.key) == 2 + 36 + 13 &&
                       strcmp(reply.key + 38, "/results.json") == 0,
                   "results key %s", reply.key);
        FUZZ_CHECK(stats.bytes_written == s.result_len, "bytes_written %llu, object %zu",
                   (unsigned long long)stats.bytes_written, s.result_len);
        static const char head[] = "{\"results\":[";
        static const char tail[] = "],\"statuses\":{\"statuses\":[]},"
                                   "\"redactedResults\":{\"redactedFiles\":[],\"errors\":[]}}";
        FUZZ_CHECK(s.result_len >= sizeof head + sizeof tail - 2 &&
                       memcmp(s.result, head, sizeof head - 1) == 0 &&
                       memcmp(s.result + s.result_len - (sizeof tail - 1), tail, sizeof tail - 1) ==
                           0,
                   "results.json has the wrong frame: %s", s.result);
        struct error jerr = {0};
        FUZZ_CHECK(json_copy_document(s.result, s.result_len, NULL, "x", &jerr) == 0,
                   "results.json is not valid JSON (%s): %s", jerr.message, s.result);
        free(s.result);
    } else {
        FUZZ_CHECK(s.committed == 0 && s.opened == s.aborted,
                   "failure with %d opened, %d committed, %d aborted", s.opened, s.committed,
                   s.aborted);
        FUZZ_CHECK(!reply.bucket[0] && !reply.key[0], "failure left a reply");
        fuzz_check_error(&err, allowed);
        FUZZ_CHECK((flags & 0x80) || strcmp(err.type, ERR_TIMEOUT) != 0,
                   "a Timeout without a deadline");
    }
    log_set_stream(NULL);
    fclose(log_stream);
    check_logs(logs, logs_len, json_logs);
    free(logs);
    free(copy);
    return 0;
}
