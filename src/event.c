#include "event.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A non-empty string member of obj, or NULL with err set. */
static const char *required_string(json_t *obj, const char *name, const char *path,
                                   struct error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_string(v) || json_string_length(v) == 0) {
        error_set(err, ERR_INVALID_EVENT, "event: %s.%s must be a non-empty string%s", path, name,
                  v ? "" : " (it is missing)");
        return NULL;
    }
    return json_string_value(v);
}

/* What a JSON value is, for messages ("null", "an array", ...). */
static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
        return "null";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "an object";
    }
}

int event_parse(const char *json, size_t len, struct event *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    if (len > EVENT_MAX_BYTES)
        return error_set(err, ERR_INVALID_EVENT,
                         "event: %zu bytes is larger than the %u allowed (Step Functions' payload "
                         "limit)",
                         len, EVENT_MAX_BYTES);
    json_error_t jerr;
    /* jansson refuses \u0000 in strings by default, so keys are C strings. */
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return error_set(err, ERR_INVALID_EVENT, "event is not valid JSON: %s at byte offset %d",
                         jerr.text, jerr.position);
    int rc = -1;
    json_t *results = json_object_get(root, "results");
    json_t *details = json_object_get(results, "ResultWriterDetails");
    if (!json_is_object(root)) {
        error_set(err, ERR_INVALID_EVENT,
                  "event is valid JSON but %s, not an object with a \"results\" object",
                  json_kind(root));
    } else if (!json_is_object(results)) {
        error_set(err, ERR_INVALID_EVENT, "event: expected an object with a \"results\" object%s",
                  results ? "" : " (\"results\" is missing)");
    } else if (!json_is_object(details)) {
        error_set(err, ERR_INVALID_EVENT, "event: results.ResultWriterDetails must be an object%s",
                  details ? "" : " (it is missing)");
    } else {
        const char *bucket = required_string(details, "Bucket", "results.ResultWriterDetails", err);
        const char *key =
            bucket ? required_string(details, "Key", "results.ResultWriterDetails", err) : NULL;
        if (key) {
            size_t seg = strcspn(key, "/");
            if (seg == 0) {
                error_set(err, ERR_INVALID_EVENT,
                          "event: manifest key \"%s\" does not start with a consignment id", key);
            } else {
                out->bucket = strdup(bucket);
                out->manifest_key = strdup(key);
                out->consignment_id = strndup(key, seg);
                if (out->bucket && out->manifest_key && out->consignment_id)
                    rc = 0;
                else
                    error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading the event");
            }
        }
    }
    json_decref(root);
    if (rc != 0)
        event_free(out);
    return rc;
}

void event_free(struct event *event)
{
    free(event->bucket);
    free(event->manifest_key);
    free(event->consignment_id);
    memset(event, 0, sizeof *event);
}
