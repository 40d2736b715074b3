#include "manifest.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int invalid(struct error *err, const char *where, const char *what)
{
    return error_set(err, ERR_INVALID_MANIFEST, "manifest %s: %s", where, what);
}

/* Counts a FAILED or PENDING list and keeps its first keys: absent is empty,
 * anything else must be an array of {"Key": "..."}. */
static int count_list(json_t *files, const char *name, const char *where, size_t *count,
                      char *keys[MANIFEST_LISTED_KEYS], struct error *err)
{
    json_t *list = json_object_get(files, name);
    *count = 0;
    if (!list)
        return 0;
    if (!json_is_array(list))
        return error_set(err, ERR_INVALID_MANIFEST, "manifest %s: ResultFiles.%s is not an array",
                         where, name);
    *count = json_array_size(list);
    for (size_t i = 0; i < *count && i < MANIFEST_LISTED_KEYS; i++) {
        json_t *key = json_object_get(json_array_get(list, i), "Key");
        if (!json_is_string(key) || json_string_length(key) == 0)
            return error_set(err, ERR_INVALID_MANIFEST,
                             "manifest %s: ResultFiles.%s[%zu].Key must be a non-empty string",
                             where, name, i);
        if (!(keys[i] = strdup(json_string_value(key))))
            return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading manifest %s", where);
    }
    return 0;
}

static int parse_file(json_t *item, size_t index, const char *where, struct result_file *out,
                      struct error *err)
{
    json_t *key = json_object_get(item, "Key");
    json_t *size = json_object_get(item, "Size");
    if (!json_is_string(key) || json_string_length(key) == 0)
        return error_set(err, ERR_INVALID_MANIFEST,
                         "manifest %s: ResultFiles.SUCCEEDED[%zu].Key must be a non-empty string",
                         where, index);
    if (size && (!json_is_integer(size) || json_integer_value(size) < 0))
        return error_set(
            err, ERR_INVALID_MANIFEST,
            "manifest %s: ResultFiles.SUCCEEDED[%zu].Size must be a non-negative integer", where,
            index);
    out->key = strdup(json_string_value(key));
    out->size = size ? (int64_t)json_integer_value(size) : -1;
    if (!out->key)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading manifest %s", where);
    return 0;
}

static int parse_root(json_t *root, const char *where, struct manifest *out, struct error *err)
{
    if (!json_is_object(root))
        return invalid(err, where, "not a JSON object");
    json_t *dest = json_object_get(root, "DestinationBucket");
    if (dest) {
        if (!json_is_string(dest) || json_string_length(dest) == 0)
            return invalid(err, where, "DestinationBucket must be a non-empty string");
        if (!(out->destination_bucket = strdup(json_string_value(dest))))
            return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading manifest %s", where);
    }
    json_t *files = json_object_get(root, "ResultFiles");
    if (!json_is_object(files))
        return invalid(err, where, "ResultFiles must be an object");
    if (count_list(files, "FAILED", where, &out->failed_count, out->failed_keys, err) != 0 ||
        count_list(files, "PENDING", where, &out->pending_count, out->pending_keys, err) != 0)
        return -1;
    json_t *succeeded = json_object_get(files, "SUCCEEDED");
    if (!json_is_array(succeeded))
        return invalid(err, where, "ResultFiles.SUCCEEDED must be an array");
    size_t n = json_array_size(succeeded);
    if (n > 0 && !(out->succeeded = calloc(n, sizeof *out->succeeded)))
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading manifest %s", where);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(succeeded, i);
        if (!json_is_object(item))
            return error_set(err, ERR_INVALID_MANIFEST,
                             "manifest %s: ResultFiles.SUCCEEDED[%zu] is not an object", where, i);
        if (parse_file(item, i, where, &out->succeeded[i], err) != 0)
            return -1;
        out->succeeded_count = i + 1;
    }
    return 0;
}

int manifest_parse(const char *json, size_t len, const char *where, struct manifest *out,
                   struct error *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    /* jansson refuses \u0000 in strings by default, so keys are C strings. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return error_set(err, ERR_INVALID_MANIFEST,
                         "manifest %s is not valid JSON: %s at byte offset %d", where, jerr.text,
                         jerr.position);
    int rc = parse_root(root, where, out, err);
    json_decref(root);
    if (rc != 0)
        manifest_free(out);
    return rc;
}

void manifest_free(struct manifest *m)
{
    for (size_t i = 0; i < m->succeeded_count; i++)
        free(m->succeeded[i].key);
    free(m->succeeded);
    for (size_t i = 0; i < MANIFEST_LISTED_KEYS; i++) {
        free(m->failed_keys[i]);
        free(m->pending_keys[i]);
    }
    free(m->destination_bucket);
    memset(m, 0, sizeof *m);
}
