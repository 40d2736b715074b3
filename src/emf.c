#include "emf.h"

#include "jsonw.h"
#include "log.h"

static void member_uint(struct jsonw *w, const char *name, uint64_t v)
{
    jsonw_raw(w, ",");
    jsonw_string(w, name);
    jsonw_raw(w, ":");
    /* Counts and byte totals stay far below 2^63; clamp rather than wrap. */
    jsonw_int(w, v > (uint64_t)INT64_MAX ? INT64_MAX : (long long)v);
}

int emf_format(const struct emf_summary *s, char *out, size_t cap)
{
    const char *function_name =
        s->function_name && s->function_name[0] ? s->function_name : EMF_DEFAULT_FUNCTION_NAME;
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"_aws\":{\"Timestamp\":");
    jsonw_int(&w, s->timestamp_ms);
    jsonw_raw(&w, ",\"CloudWatchMetrics\":[{\"Namespace\":\"" EMF_NAMESPACE "\","
                  "\"Dimensions\":[[\"FunctionName\"]],\"Metrics\":["
                  "{\"Name\":\"Entries\",\"Unit\":\"Count\"},"
                  "{\"Name\":\"ResultFiles\",\"Unit\":\"Count\"},"
                  "{\"Name\":\"FailedResultFiles\",\"Unit\":\"Count\"},"
                  "{\"Name\":\"PendingResultFiles\",\"Unit\":\"Count\"},"
                  "{\"Name\":\"BytesRead\",\"Unit\":\"Bytes\"},"
                  "{\"Name\":\"BytesWritten\",\"Unit\":\"Bytes\"},"
                  "{\"Name\":\"Duration\",\"Unit\":\"Milliseconds\"}]}]}");
    jsonw_raw(&w, ",\"FunctionName\":");
    jsonw_string(&w, function_name);
    member_uint(&w, "Entries", s->stats->read.entries);
    member_uint(&w, "ResultFiles", s->stats->read.result_files);
    member_uint(&w, "FailedResultFiles", s->stats->failed_result_files);
    member_uint(&w, "PendingResultFiles", s->stats->pending_result_files);
    member_uint(&w, "BytesRead", s->stats->read.bytes_read);
    member_uint(&w, "BytesWritten", s->stats->bytes_written);
    member_uint(&w, "Duration", s->duration_ms > 0 ? (uint64_t)s->duration_ms : 0);
    if (s->level) {
        char ts[40];
        log_format_time(s->timestamp_ms, ts, sizeof ts);
        jsonw_raw(&w, ",\"timestamp\":");
        jsonw_string(&w, ts);
        jsonw_raw(&w, ",\"level\":");
        jsonw_string(&w, s->level);
    }
    if (s->request_id && s->request_id[0]) {
        jsonw_raw(&w, ",\"requestId\":");
        jsonw_string(&w, s->request_id);
    }
    if (s->error_type && s->error_type[0]) {
        jsonw_raw(&w, ",\"errorType\":");
        jsonw_string(&w, s->error_type);
    }
    jsonw_raw(&w, "}");
    return jsonw_finish(&w);
}
