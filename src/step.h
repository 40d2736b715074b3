/* step: the whole job as one function of (event, store).
 *
 * Reads the Distributed Map manifest the event points to, streams every
 * SUCCEEDED result file in manifest order (FAILED and PENDING ones are left
 * out with a warning, or refused with options->require_complete), and writes
 * results.json to the event's bucket at {consignment_id}/{uuid4}/results.json. On failure nothing
 * is written (the output object is aborted). The command line and the Lambda
 * loop are thin shells around step_run. */
#ifndef BCR_STEP_H
#define BCR_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "result_reader.h"
#include "store.h"

struct step_stats {
    struct read_stats read;        /* entries, result files and bytes read */
    uint64_t bytes_written;        /* size of results.json */
    uint64_t failed_result_files;  /* FAILED files the manifest lists (not read) */
    uint64_t pending_result_files; /* PENDING files the manifest lists (not read) */
};

struct step_options {
    enum transformation transformation;
    /* Called while result files stream; should_stop also before the output
     * is committed (a non-zero return then aborts it). */
    struct read_hooks hooks;
    /* A manifest listing FAILED or PENDING files is IncompleteMapRun; by
     * default they are left out (as the Map's tolerance decided) with a
     * warning. */
    bool require_complete;
};

enum { STEP_BUCKET_MAX = 256, STEP_KEY_MAX = 1200 };

struct step_reply {
    char bucket[STEP_BUCKET_MAX];
    char key[STEP_KEY_MAX];
};

/* Runs the step on the event (event_len bytes of JSON); event, store and
 * options are borrowed for the call. On success
 * fills reply and returns 0; otherwise returns -1 with err set. stats is
 * filled in either case (what was done before a failure). */
int step_run(const char *event, size_t event_len, struct store *store,
             const struct step_options *options, struct step_reply *reply, struct step_stats *stats,
             struct error *err);

/* Writes {"key": "...", "bucket": "..."} into out; returns its length or -1. */
int step_reply_json(const struct step_reply *reply, char *out, size_t cap);

#endif
