#include "step.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "jsonw.h"
#include "log.h"
#include "manifest.h"
#include "output.h"
#include "result_reader.h"
#include "uuid.h"

/* S3's own limit on key length. */
enum { S3_KEY_MAX = 1024 };

int transformation_parse(const char *name, enum transformation *out)
{
    static const char *const names[] = {"NONE", "COMPACT", "FLATTEN"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum transformation)i;
            return 0;
        }
    return -1;
}

static int load_manifest(struct store *store, const struct event *ev, struct manifest *m,
                         struct error *err)
{
    char *text;
    size_t len;
    if (store_read_all(store, ev->bucket, ev->manifest_key, MANIFEST_MAX_BYTES, &text, &len, err) !=
        0)
        return -1;
    char where[2048];
    snprintf(where, sizeof where, "s3://%s/%s", ev->bucket, ev->manifest_key);
    int rc = manifest_parse(text, len, where, m, err);
    free(text);
    if (rc == 0 && (m->failed_count || m->pending_count)) {
        error_set(err, ERR_INCOMPLETE_MAP_RUN,
                  "manifest %s lists %zu FAILED and %zu PENDING result files: the Map run did "
                  "not complete, so its results are not aggregated",
                  where, m->failed_count, m->pending_count);
        manifest_free(m);
        return -1;
    }
    return rc;
}

static int results_key(const struct event *ev, char *out, size_t cap, struct error *err)
{
    char id[37];
    if (uuid4(id, err) != 0)
        return -1;
    int n = snprintf(out, cap, "%s/%s/results.json", ev->consignment_id, id);
    if (n < 0 || (size_t)n >= cap || n > S3_KEY_MAX)
        return error_set(err, ERR_INVALID_KEY,
                         "the results key for consignment id \"%s\" would be longer than %d bytes",
                         ev->consignment_id, S3_KEY_MAX);
    return 0;
}

static int run(const struct event *ev, struct store *store, const struct step_options *options,
               struct step_reply *reply, struct step_stats *stats, struct error *err)
{
    struct manifest m;
    if (load_manifest(store, ev, &m, err) != 0)
        return -1;
    const char *source_bucket = m.destination_bucket ? m.destination_bucket : ev->bucket;
    log_fields(LOG_INFO, "manifest read", "bucket", ev->bucket, "key", ev->manifest_key, LOG_END);

    struct output out;
    struct result_reader *reader = NULL;
    int rc = -1;
    if (snprintf(reply->bucket, sizeof reply->bucket, "%s", ev->bucket) >=
        (int)sizeof reply->bucket) {
        error_set(err, ERR_INVALID_EVENT, "bucket name \"%s\" is too long", ev->bucket);
        goto done_manifest;
    }
    if (results_key(ev, reply->key, sizeof reply->key, err) != 0)
        goto done_manifest;
    if (!(reader = result_reader_new(err)))
        goto done_manifest;
    if (output_open(&out, store, ev->bucket, reply->key, err) != 0)
        goto done_manifest;
    for (size_t i = 0; i < m.succeeded_count; i++) {
        log_fields(LOG_DEBUG, "reading result file", "bucket", source_bucket, "key",
                   m.succeeded[i].key, LOG_END);
        if (result_reader_stream(reader, store, source_bucket, &m.succeeded[i], options, &out,
                                 stats, err) != 0)
            goto abort;
    }
    if (options->should_stop && options->should_stop(options->ctx, err) != 0)
        goto abort;
    rc = output_commit(&out, err);
    stats->bytes_written = out.sink.total;
    goto done_manifest;
abort:
    stats->bytes_written = 0;
    output_abort(&out);
done_manifest:
    result_reader_free(reader);
    manifest_free(&m);
    return rc;
}

int step_run(const char *event, size_t event_len, struct store *store,
             const struct step_options *options, struct step_reply *reply, struct step_stats *stats,
             struct error *err)
{
    memset(stats, 0, sizeof *stats);
    memset(reply, 0, sizeof *reply);
    struct event ev;
    if (event_parse(event, event_len, &ev, err) != 0)
        return -1;
    int rc = run(&ev, store, options, reply, stats, err);
    event_free(&ev);
    if (rc != 0)
        memset(reply, 0, sizeof *reply);
    return rc;
}

int step_reply_json(const struct step_reply *reply, char *out, size_t cap)
{
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"key\": ");
    jsonw_string(&w, reply->key);
    jsonw_raw(&w, ", \"bucket\": ");
    jsonw_string(&w, reply->bucket);
    jsonw_raw(&w, "}");
    return jsonw_finish(&w);
}
