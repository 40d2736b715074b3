/* event: the invocation event the Distributed Map state passes on:
 * {"results": {"ResultWriterDetails": {"Bucket": "...", "Key": ".../manifest.json"}}}
 * Other members (MapRunArn, ...) are allowed and ignored. */
#ifndef BCR_EVENT_H
#define BCR_EVENT_H

#include <stddef.h>

#include "error.h"

/* Events larger than this are refused. The event is the Map state's output,
 * and a Step Functions state's payload is at most 256 KiB, so a larger one is
 * not from the state machine. The bound also bounds the parse: the event's
 * JSON tree takes about 22 times its text, under 6 MiB at this size (Lambda's
 * own 6 MB payload limit would allow a tree of over 100 MiB). */
#define EVENT_MAX_BYTES (256u * 1024)

struct event {
    char *bucket;         /* owned, non-empty */
    char *manifest_key;   /* owned, non-empty */
    char *consignment_id; /* owned: the first '/'-segment of manifest_key, non-empty */
};

/* Parses len bytes of JSON (borrowed). Returns 0, or -1 with an InvalidEvent
 * error. On success the caller frees the fields with event_free. */
int event_parse(const char *json, size_t len, struct event *out, struct error *err);
void event_free(struct event *event);

#endif
