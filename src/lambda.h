/* lambda: the AWS Lambda custom runtime, a client of the Runtime API
 * (2018-06-01) that serves invocations with step_run.
 *
 * Init: the store is opened once (S3, or --store DIR for local runs) and kept
 * for every invocation, so its connections stay open; the transformation is
 * BCR_TRANSFORMATION (NONE, COMPACT, FLATTEN) if set, else the command line's.
 * A failure here is posted to /runtime/init/error and ends the process.
 *
 * Each invocation: GET .../invocation/next (waits as long as it takes), then
 * step_run on the event, then POST .../response with {"key","bucket"} or
 * .../error with {"errorType","errorMessage","stackTrace":[]}, the
 * Lambda-Runtime-Function-Error-Type header and an X-Ray error cause. The
 * request id is on every log line; _X_AMZN_TRACE_ID is the invocation's trace
 * header, which the store sends on each of its requests (with the deadline,
 * through store_set_invocation); all three are cleared afterwards.
 *
 * The Runtime API's own rules (retries, which failures end the process) are
 * runtime_api.h's. Logs one line and one EMF summary (emf.h) per invocation
 * before the reply is posted, since Lambda may freeze the process right after
 * it. */
#ifndef BCR_LAMBDA_H
#define BCR_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "options.h"
#include "runtime_api.h" /* the error documents and headers it posts */

/* Serves invocations from the Runtime API at runtime_api ("host:port", the
 * value of AWS_LAMBDA_RUNTIME_API; borrowed). opts is borrowed; its
 * output_stdout must be false. Returns only when the process should end: 1
 * after an init error or when the Runtime API fails (Lambda then starts a new
 * one), 128 + the signal's number after SIGTERM or SIGINT. */
int lambda_run(const char *runtime_api, const struct run_options *opts);

/* Time kept back before Lambda's deadline. The step stops (should_stop, a
 * Timeout error) when this much is left; S3 requests are cut short when half
 * of it is left, and the other half is for aborting the multipart upload and
 * posting the error. 2 s covers an AbortMultipartUpload round trip with room
 * to spare; it does not grow with the function's timeout because cleaning up
 * does not take longer in a longer invocation. */
enum { LAMBDA_STOP_MARGIN_MS = 2000 };

/* Lambda-Runtime-Deadline-Ms values before this (2001-09-09) are not Unix
 * times in ms (an emulator's placeholder); such a deadline is ignored. */
#define LAMBDA_DEADLINE_MIN_MS INT64_C(1000000000000)

struct lambda_deadline {
    int64_t stop_at_ms;        /* should_stop fires from here on; 0: never */
    int64_t store_deadline_ms; /* for store_set_invocation; 0: none */
};

/* Plans an invocation's stopping points from Lambda's deadline (ms since the
 * epoch; <= 0 when none was sent). The margin is LAMBDA_STOP_MARGIN_MS, or
 * half the time left if that is less. Returns false, with both zero, when the
 * deadline is absent or implausible. */
bool lambda_plan_deadline(int64_t now_ms, int64_t deadline_ms, struct lambda_deadline *out);

/* Sets err to the Timeout error of a step stopped at now_ms (both ms since the
 * epoch) after `seen`: how long before the deadline it stopped or, when the
 * deadline had already passed (an invocation that started late), by how much.
 * Returns -1. */
int lambda_timeout_error(int64_t now_ms, int64_t deadline_ms, const struct read_stats *seen,
                         struct error *err);

#endif
