/* manifest: the manifest.json a Distributed Map's ResultWriter writes:
 * {"DestinationBucket": "...", "MapRunArn": "...",
 *  "ResultFiles": {"FAILED": [...], "PENDING": [...], "SUCCEEDED": [{"Key": "...", "Size": 1}]}} */
#ifndef BCR_MANIFEST_H
#define BCR_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Larger manifests are refused; a real one lists a handful of files. Reading
 * one takes its size again at most (the keys, plus 16 bytes per SUCCEEDED
 * entry), besides the text itself. */
#define MANIFEST_MAX_BYTES (16u * 1024 * 1024)

struct result_file {
    char *key;    /* non-empty; points into the manifest's key_arena */
    int64_t size; /* bytes, or -1 when the manifest gives none */
};

/* How many FAILED and PENDING keys are kept, in manifest order, for the
 * warning that names what a tolerated Map Run left out. */
enum { MANIFEST_LISTED_KEYS = 5 };

struct manifest {
    char *destination_bucket;      /* owned; NULL when absent */
    struct result_file *succeeded; /* owned array, in manifest order */
    char *key_arena;               /* owned: every succeeded[i].key, one after another */
    size_t succeeded_count;
    size_t failed_count;
    size_t pending_count;
    /* owned; the first min(count, MANIFEST_LISTED_KEYS) keys of each list */
    char *failed_keys[MANIFEST_LISTED_KEYS];
    char *pending_keys[MANIFEST_LISTED_KEYS];
};

/* Parses len bytes of JSON (borrowed). `where` (e.g. "s3://bucket/key") starts
 * every error message. Returns 0, or -1 with an InvalidManifest error (or
 * OutOfMemory); on success free with manifest_free. The text is read as
 * Python's json.loads reads it (json.h): a syntax error anywhere is reported
 * first ("is not valid JSON"); of several members of one name the last counts;
 * members other than DestinationBucket, ResultFiles, its three lists, Key and
 * Size are skipped unexamined beyond their syntax. */
int manifest_parse(const char *json, size_t len, const char *where, struct manifest *out,
                   struct error *err);
void manifest_free(struct manifest *m);

#endif
