/* Fuzz target: the Distributed Map manifest (manifest_parse).
 *
 * Any bytes give either a manifest whose SUCCEEDED list keeps its invariants
 * (non-empty keys, sizes -1 or non-negative), or an InvalidManifest error with
 * a valid error document. Parsing the same bytes twice gives the same result.
 * Differential: whenever jansson (duplicates refused) reads the same bytes,
 * an accepted manifest lists exactly the SUCCEEDED keys and sizes, the
 * FAILED/PENDING counts and the DestinationBucket that jansson's tree holds. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "manifest.h"

static void compare_with_jansson(const char *json, size_t size, const struct manifest *m)
{
    json_t *root = json_loadb(json, size, JSON_REJECT_DUPLICATES, NULL);
    if (!root)
        return; /* e.g. a \u0000 or a duplicate in a member the manifest skips */
    json_t *files = json_object_get(root, "ResultFiles");
    json_t *succeeded = json_object_get(files, "SUCCEEDED");
    FUZZ_CHECK(json_array_size(succeeded) == m->succeeded_count, "SUCCEEDED count %zu, jansson %zu",
               m->succeeded_count, json_array_size(succeeded));
    for (size_t i = 0; i < m->succeeded_count; i++) {
        json_t *item = json_array_get(succeeded, i);
        json_t *size_value = json_object_get(item, "Size");
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(item, "Key")), m->succeeded[i].key) ==
                       0,
                   "SUCCEEDED[%zu].Key differs from jansson's", i);
        FUZZ_CHECK(m->succeeded[i].size == (size_value ? json_integer_value(size_value) : -1),
                   "SUCCEEDED[%zu].Size differs from jansson's", i);
    }
    FUZZ_CHECK(json_array_size(json_object_get(files, "FAILED")) == m->failed_count &&
                   json_array_size(json_object_get(files, "PENDING")) == m->pending_count,
               "FAILED/PENDING counts differ from jansson's");
    const char *dest = json_string_value(json_object_get(root, "DestinationBucket"));
    FUZZ_CHECK((!dest && !m->destination_bucket) ||
                   (dest && m->destination_bucket && strcmp(dest, m->destination_bucket) == 0),
               "DestinationBucket differs from jansson's");
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {ERR_INVALID_MANIFEST, ERR_OUT_OF_MEMORY, NULL};
    char *json = fuzz_exact_copy(data, size);
    struct manifest m, again;
    struct error err = {0}, err2 = {0};
    int rc = manifest_parse(json, size, "s3://bucket/c/r/manifest.json", &m, &err);
    int rc2 = manifest_parse(json, size, "s3://bucket/c/r/manifest.json", &again, &err2);
    FUZZ_CHECK(rc == rc2, "two parses of the same bytes disagree");
    if (rc == 0) {
        FUZZ_CHECK(m.succeeded_count == 0 || m.succeeded, "count without a list");
        FUZZ_CHECK(!m.destination_bucket || m.destination_bucket[0], "empty DestinationBucket");
        FUZZ_CHECK(m.succeeded_count == again.succeeded_count, "counts differ");
        for (size_t i = 0; i < m.succeeded_count; i++) {
            const struct result_file *f = &m.succeeded[i];
            FUZZ_CHECK(f->key && f->key[0], "SUCCEEDED[%zu] has an empty key", i);
            FUZZ_CHECK(f->size >= -1, "SUCCEEDED[%zu] has size %lld", i, (long long)f->size);
            FUZZ_CHECK(strcmp(f->key, again.succeeded[i].key) == 0 &&
                           f->size == again.succeeded[i].size,
                       "SUCCEEDED[%zu] differs between parses", i);
        }
        compare_with_jansson(json, size, &m);
        manifest_free(&m);
        manifest_free(&again);
    } else {
        fuzz_check_error(&err, allowed);
        FUZZ_CHECK(strcmp(err.type, err2.type) == 0 && strcmp(err.message, err2.message) == 0,
                   "errors differ between parses");
        FUZZ_CHECK(!m.succeeded && !m.succeeded_count && !m.destination_bucket,
                   "failed parse left fields set");
    }
    free(json);
    return 0;
}
