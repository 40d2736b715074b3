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

/* "a, b, c (and 4 more)": the first keys a manifest lists, for messages. */
static void list_keys(char *out, size_t cap, char *const *keys, size_t count)
{
    size_t n = 0, shown = count < MANIFEST_LISTED_KEYS ? count : MANIFEST_LISTED_KEYS;
    out[0] = '\0';
    for (size_t i = 0; i < shown && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", keys[i] ? keys[i] : "");
    if (count > shown && n < cap)
        snprintf(out + n, cap - n, " (and %zu more)", count - shown);
}

static int load_manifest(struct store *store, const struct event *ev,
                         const struct step_options *options, struct manifest *m,
                         struct step_stats *stats, struct error *err)
{
    char *text;
    size_t len;
    char where[2048];
    snprintf(where, sizeof where, "s3://%s/%s", ev->bucket, ev->manifest_key);
    int read =
        store_read_all(store, ev->bucket, ev->manifest_key, MANIFEST_MAX_BYTES, &text, &len, err);
    if (read == STORE_TOO_LARGE)
        return error_set(err, ERR_INVALID_MANIFEST, "manifest %s is larger than %u bytes", where,
                         MANIFEST_MAX_BYTES);
    if (read != STORE_OK)
        return -1;
    int rc = manifest_parse(text, len, where, m, err);
    free(text);
    if (rc != 0 || (!m->failed_count && !m->pending_count))
        return rc;
    stats->failed_result_files = m->failed_count;
    stats->pending_result_files = m->pending_count;
    char failed[1024], pending[1024];
    list_keys(failed, sizeof failed, m->failed_keys, m->failed_count);
    list_keys(pending, sizeof pending, m->pending_keys, m->pending_count);
    if (options->require_complete) {
        error_set(err, ERR_INCOMPLETE_MAP_RUN,
                  "manifest %s lists %zu FAILED and %zu PENDING result files (FAILED: %s; "
                  "PENDING: %s): the Map run did not complete, so its results are not aggregated",
                  where, m->failed_count, m->pending_count, failed, pending);
        manifest_free(m);
        return -1;
    }
    /* The Map run tolerated these failures: its owner chose to go on without
     * them, as the function this replaces did. Say so loudly. */
    log_fields(LOG_WARN,
               "the Map run left children out: FAILED and PENDING result files are not "
               "read (set --require-complete or BCR_REQUIRE_COMPLETE=true to refuse)",
               LOG_STR("manifest", where), LOG_U64("failedFiles", m->failed_count),
               LOG_STR("failedKeys", failed), LOG_U64("pendingFiles", m->pending_count),
               LOG_STR("pendingKeys", pending), LOG_END);
    return 0;
}

static int results_key(const struct event *ev, char *out, size_t cap, struct error *err)
{
    char id[37];
    if (uuid_v4(id, err) != 0)
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
    if (load_manifest(store, ev, options, &m, stats, err) != 0)
        return -1;
    const char *source_bucket = m.destination_bucket ? m.destination_bucket : ev->bucket;
    log_fields(LOG_INFO, "manifest read", LOG_STR("bucket", ev->bucket),
               LOG_STR("key", ev->manifest_key), LOG_END);

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
        log_fields(LOG_DEBUG, "reading result file", LOG_STR("bucket", source_bucket),
                   LOG_STR("key", m.succeeded[i].key), LOG_END);
        if (result_reader_stream(reader, store, source_bucket, &m.succeeded[i],
                                 options->transformation, &options->hooks, &out, &stats->read,
                                 err) != 0)
            goto abort;
    }
    if (options->hooks.should_stop && options->hooks.should_stop(options->hooks.ctx, err) != 0)
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
