#include "event.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "utf8.h"

/* The event is read with the streaming scanner, as Python's json.loads reads
 * it (json.h): any event it accepts is accepted, and of several members of
 * one name the last counts. Only the two strings the step uses are checked. */

enum { NAME_MAX_BYTES = 32 }; /* longer member names are none of ours */

/* What the JSON value starting with byte b is, for messages. */
static const char *json_kind(int b)
{
    switch (b) {
    case 'n':
        return "null";
    case '[':
        return "an array";
    case '"':
        return "a string";
    case 't':
    case 'f':
        return "a boolean";
    case '{':
        return "an object";
    default:
        return "a number";
    }
}

/* Finds the object member `name` of the object at v (the last of that name)
 * into *found; found->pos is NULL when v is no object or has no such member. */
static int member(struct json_src *v, const char *name, struct json_src *found, struct buf *names,
                  struct error *err)
{
    found->pos = NULL;
    if (!v->pos || *v->pos != '{')
        return 0;
    struct json_src at = *v;
    return json_object_find(&at, &name, 1, found, names, ERR_INVALID_EVENT, err);
}

/* The non-empty string at v (the member `name` of ResultWriterDetails), as a
 * C string of valid UTF-8 (what can name an S3 object) in *out (owned). */
static int required_string(const struct json_src *v, const char *name, struct buf *text, char **out,
                           struct error *err)
{
    static const char path[] = "results.ResultWriterDetails";
    if (!v->pos || *v->pos != '"')
        return error_set(err, ERR_INVALID_EVENT, "event: %s.%s must be a non-empty string%s", path,
                         name, v->pos ? "" : " (it is missing)");
    struct json_src at = *v;
    buf_reset(text);
    if (json_decode_string(&at, text, NULL, ERR_INVALID_EVENT, err) != 0)
        return -1;
    if (text->len == 0)
        return error_set(err, ERR_INVALID_EVENT, "event: %s.%s must be a non-empty string", path,
                         name);
    size_t bad = utf8_first_unusable(text->data, text->len);
    if (bad < text->len)
        return error_set(err, ERR_INVALID_EVENT,
                         "event: %s.%s holds %s, which no S3 object name can", path, name,
                         text->data[bad] == 0 ? "U+0000" : "a lone surrogate");
    if (!(*out = strndup((const char *)text->data, text->len)))
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading the event");
    return 0;
}

static int parse(const char *json, size_t len, struct event *out, struct buf *names,
                 struct buf *text, struct error *err)
{
    if (json_check_document(json, len, ERR_INVALID_EVENT, err) != 0) {
        error_prefix(err, "event is not valid JSON: ");
        return -1;
    }
    struct json_src root, results, details, bucket, key;
    json_src_memory(&root, json, len);
    int b = json_peek(&root, err);
    if (b != '{')
        return error_set(err, ERR_INVALID_EVENT,
                         "event is valid JSON but %s, not an object with a \"results\" object",
                         json_kind(b));
    if (member(&root, "results", &results, names, err) != 0)
        return -1;
    if (!results.pos || *results.pos != '{')
        return error_set(err, ERR_INVALID_EVENT,
                         "event: expected an object with a \"results\" object%s",
                         results.pos ? "" : " (\"results\" is missing)");
    if (member(&results, "ResultWriterDetails", &details, names, err) != 0)
        return -1;
    if (!details.pos || *details.pos != '{')
        return error_set(err, ERR_INVALID_EVENT,
                         "event: results.ResultWriterDetails must be an object%s",
                         details.pos ? "" : " (it is missing)");
    if (member(&details, "Bucket", &bucket, names, err) != 0 ||
        member(&details, "Key", &key, names, err) != 0 ||
        required_string(&bucket, "Bucket", text, &out->bucket, err) != 0 ||
        required_string(&key, "Key", text, &out->manifest_key, err) != 0)
        return -1;
    /* The first segment, empty for a key that starts with '/': the results
     * then go to "/{uuid}/results.json", as the Python function wrote them. */
    out->consignment_id = strndup(out->manifest_key, strcspn(out->manifest_key, "/"));
    if (!out->consignment_id)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory reading the event");
    return 0;
}

int event_parse(const char *json, size_t len, struct event *out, struct error *err)
{
    memset(out, 0, sizeof *out);
    if (len > EVENT_MAX_BYTES)
        return error_set(err, ERR_INVALID_EVENT,
                         "event: %zu bytes is larger than the %u allowed (Step Functions' payload "
                         "limit)",
                         len, EVENT_MAX_BYTES);
    struct buf names, text;
    buf_init(&names, NAME_MAX_BYTES);
    buf_init(&text, EVENT_MAX_BYTES);
    int rc = parse(json, len, out, &names, &text, err);
    buf_free(&names);
    buf_free(&text);
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
