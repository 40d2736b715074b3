/* runtime_api: a client of the AWS Lambda Runtime API (2018-06-01), the
 * protocol a custom runtime speaks with Lambda over local HTTP.
 *
 * Every call carries User-Agent backend-checks-results/BCR_VERSION and goes
 * over one kept-alive connection, never through a proxy. GET next is tried up
 * to 3 times in a row, at once, when it gets no answer or an answer other than
 * 200 (aws-lambda-cpp's policy), but a 5xx ends it at the first, as the API
 * documents for its "container error"; so does a 5xx or a transport failure
 * posting an outcome. The loop around it (lambda.h) decides what to run. */
#ifndef BCR_RUNTIME_API_H
#define BCR_RUNTIME_API_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "event.h"

enum { API_BASE_MAX = 384, REQUEST_ID_MAX = 128, TRACE_ID_MAX = 1024 };

/* The connection to the Runtime API; the caller's, set up by runtime_api_init. */
struct runtime {
    CURL *curl; /* one handle for every call: its connection is kept alive */
    char base[API_BASE_MAX];
    char errbuf[CURL_ERROR_SIZE];
};

/* What GET next answered; the caller's, between runtime_api_next_init and
 * runtime_api_next_free. */
struct next {
    long status;
    char request_id[REQUEST_ID_MAX]; /* never empty after a successful GET */
    char trace_id[TRACE_ID_MAX];     /* "" if absent or too long */
    bool trace_too_long;             /* a trace id that did not fit: left unset */
    int64_t deadline_ms;             /* 0 if absent or not a number */
    struct buf event;                /* at most EVENT_MAX_BYTES */
    bool event_too_large;            /* the rest was read and dropped */
    struct error oom;                /* set if buffering the event ran out of memory */
};

/* Checks api ("host:port", AWS_LAMBDA_RUNTIME_API's value; borrowed) and makes
 * the handle. Returns 0, or -1 with err set (runtime_api_free is still due). */
int runtime_api_init(struct runtime *rt, const char *api, struct error *err);
void runtime_api_free(struct runtime *rt);

void runtime_api_next_init(struct next *nx);
void runtime_api_next_free(struct next *nx);

/* GET .../invocation/next, waiting as long as Lambda takes to send one, or
 * until SIGTERM or SIGINT (interrupt.h). Returns 0 with nx filled, or -1 with
 * err set (Interrupted after a signal): the process must end. */
int runtime_api_next(struct runtime *rt, struct next *nx, struct error *err);

/* POSTs body (JSON, borrowed) to base + path ("/init/error", ...). For a
 * failure (not NULL) it adds the Lambda-Runtime-Function-Error-Type header
 * (runtime_api_error_type_header) and the X-Ray error cause
 * (runtime_api_xray_cause).
 * Returns 0 if the Runtime API took it (2xx); -1 with err set otherwise,
 * *fatal telling whether the process must end (transport failure, 5xx). */
int runtime_api_post(struct runtime *rt, const char *path, const char *body,
                     const struct error *failure, bool *fatal, struct error *err);

/* runtime_api_post to .../invocation/{request_id}/response, or .../error with a
 * failure; the request id (borrowed) is escaped for the path. */
int runtime_api_post_invocation(struct runtime *rt, const char *request_id, const char *body,
                                const struct error *failure, bool *fatal, struct error *err);

/* Writes the Runtime API's error document
 * {"errorType": ..., "errorMessage": ..., "stackTrace": [WHERE]} into out:
 * the stack trace holds the error's where, or nothing when it has none.
 * Returns its length, or -1 if cap is too small. */
int runtime_api_error_json(const struct error *err, char *out, size_t cap);

/* Writes the Lambda-Runtime-Function-Error-Type value for an error type into
 * out: "Function." and the type's letters (S3 codes and ours are letters
 * already), since Lambda keeps only values of the form (Runtime|Function).Name
 * and reports any other as Runtime.Unknown; "Function.Unknown" for a type with
 * fewer than two letters or not starting with a capital. The body's errorType,
 * which Step Functions matches, stays the plain type. Returns the length, or
 * -1 if cap is too small. */
int runtime_api_error_type_header(const char *type, char *out, size_t cap);

/* Writes the X-Ray error cause of a failed invocation, in the shape
 * aws-lambda-go sends as Lambda-Runtime-Function-XRay-Error-Cause:
 * {"working_directory": DIR, "exceptions": [{"type", "message", "stack":
 * [{"path": "", "line": 0, "label": WHERE}]}], "paths": []}, the stack empty
 * when the error has no where. Bytes above ASCII become '?' (it is a header
 * value), and so do control characters in WHERE; its size is bounded by the
 * error's and DIR's (cut at 255 bytes): under 12 KiB. Returns the length, or
 * -1 if cap is too small. */
int runtime_api_xray_cause(const struct error *err, const char *working_directory, char *out,
                           size_t cap);

#endif
