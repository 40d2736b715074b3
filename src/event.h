/* event: the invocation event the Distributed Map state passes on:
 * {"results": {"ResultWriterDetails": {"Bucket": "...", "Key": ".../manifest.json"}}}
 * read as Python's json.loads reads it (json.h: NaN, numbers of any size, any
 * escape; the last of several members of one name counts). Other members
 * (MapRunArn, ...) are allowed and ignored; only Bucket and Key are checked. */
#ifndef BCR_EVENT_H
#define BCR_EVENT_H

#include <stddef.h>

#include "error.h"

/* Events larger than this are refused. The event is the Map state's output,
 * and a Step Functions state's payload is at most 256 KiB, so a larger one is
 * not from the state machine. It is read in place with the streaming scanner
 * (no tree), in memory of its size at most. */
#define EVENT_MAX_BYTES (256u * 1024)

struct event {
    char *bucket;         /* owned, non-empty valid UTF-8 without U+0000 */
    char *manifest_key;   /* owned, the same */
    char *consignment_id; /* owned: the first '/'-segment of manifest_key, maybe empty */
};

/* Parses len bytes of JSON (borrowed). Returns 0, or -1 with an InvalidEvent
 * error. On success the caller frees the fields with event_free. */
int event_parse(const char *json, size_t len, struct event *out, struct error *err);
void event_free(struct event *event);

#endif
