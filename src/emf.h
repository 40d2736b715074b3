/* emf: the per-invocation summary as a CloudWatch Embedded Metric Format
 * record, so that CloudWatch Logs turns its numbers into metrics with no
 * other set-up (namespace TDR/BackendChecksResults, dimension FunctionName):
 * Entries, ResultFiles, FailedResultFiles, PendingResultFiles (Count: the
 * last two are the files a tolerated Map Run left out), BytesRead, BytesWritten (Bytes), Duration
 * (Milliseconds). The request id, and the errorType of a failed invocation,
 * ride along as properties, searchable in Logs Insights but not dimensions.
 *
 * With JSON logs Lambda's log-level filter reads every line's "level" (and
 * "timestamp"), counting a line without them as INFO, so at an application log
 * level of WARN or above a bare EMF record would be dropped before CloudWatch
 * saw it. The record therefore carries a level that passes the filter
 * (log_passing_level_name) and an RFC 3339 timestamp; CloudWatch keeps them as
 * two more properties. */
#ifndef BCR_EMF_H
#define BCR_EMF_H

#include <stddef.h>
#include <stdint.h>

#include "step.h"

#define EMF_NAMESPACE "TDR/BackendChecksResults"
/* The dimension value when AWS_LAMBDA_FUNCTION_NAME is unset or empty:
 * CloudWatch drops a record whose dimension is empty. */
#define EMF_DEFAULT_FUNCTION_NAME "backend-checks-results"

struct emf_summary {
    int64_t timestamp_ms;           /* ms since the Unix epoch */
    const char *function_name;      /* borrowed; NULL or "" means EMF_DEFAULT_FUNCTION_NAME */
    const char *request_id;         /* borrowed; NULL or "" leaves it out */
    const char *error_type;         /* borrowed; NULL or "" for a successful invocation */
    const struct step_stats *stats; /* borrowed, not NULL */
    int64_t duration_ms;
    const char *level; /* static; NULL leaves out "level" and "timestamp" */
};

/* Writes the record as one line of JSON (no newline) into out. Returns its
 * length, or -1 if cap is too small. */
int emf_format(const struct emf_summary *s, char *out, size_t cap);

#endif
