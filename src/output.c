#include "output.h"

#include <stdlib.h>

/* Large enough that the store sees few, big writes. */
enum { OUTPUT_BUFFER = 256 * 1024 };

static int flush_to_store(struct sink *s, struct error *err)
{
    struct output *out = s->ctx;
    if (store_write(out->store, out->writer, s->buf, s->len, err) != 0)
        return -1;
    s->len = 0;
    return 0;
}

int output_open(struct output *out, struct store *store, const char *bucket, const char *key,
                struct error *err)
{
    *out = (struct output){.store = store};
    out->sink.buf = malloc(OUTPUT_BUFFER);
    if (!out->sink.buf)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory for the output buffer");
    out->sink.cap = OUTPUT_BUFFER;
    out->sink.flush = flush_to_store;
    out->sink.ctx = out;
    if (store_open_write(store, bucket, key, &out->writer, err) != 0) {
        output_abort(out);
        return -1;
    }
    return sink_puts(&out->sink, "{\"results\":[", err);
}

int output_commit(struct output *out, struct error *err)
{
    int rc = sink_puts(&out->sink,
                       "],\"statuses\":{\"statuses\":[]},"
                       "\"redactedResults\":{\"redactedFiles\":[],\"errors\":[]}}",
                       err);
    if (rc == 0)
        rc = sink_flush(&out->sink, err);
    if (rc != 0) {
        output_abort(out);
        return -1;
    }
    rc = store_commit(out->store, out->writer, err);
    out->writer = NULL;
    free(out->sink.buf);
    out->sink.buf = NULL;
    return rc;
}

void output_abort(struct output *out)
{
    if (out->writer)
        store_abort(out->store, out->writer);
    out->writer = NULL;
    free(out->sink.buf);
    out->sink.buf = NULL;
}
