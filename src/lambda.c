#define _POSIX_C_SOURCE 200809L
#include "lambda.h"

#include <assert.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emf.h"
#include "event.h"
#include "interrupt.h"
#include "log.h"
#include "settings.h"
#include "step.h"
#include "util.h"
#include "version.h"

enum {
    REPLY_MAX = STEP_KEY_MAX * 6 + STEP_BUCKET_MAX * 6 + 64,
    ERROR_DOC_MAX = ERROR_MESSAGE_MAX * 6 + ERROR_TYPE_MAX * 6 + ERROR_WHERE_MAX * 6 + 64,
    PROGRESS_LOG_MS = 5000, /* DEBUG progress line while result files stream */
};

/* Posted if an error document does not fit its buffer (it always should). */
#define FALLBACK_ERROR_DOC                                                                         \
    "{\"errorType\": \"Unknown\", \"errorMessage\": \"\", \"stackTrace\": []}"

bool lambda_plan_deadline(int64_t now_ms, int64_t deadline_ms, struct lambda_deadline *out)
{
    out->stop_at_ms = 0;
    out->store_deadline_ms = 0;
    if (deadline_ms < LAMBDA_DEADLINE_MIN_MS)
        return false;
    int64_t left = deadline_ms - now_ms;
    int64_t margin = LAMBDA_STOP_MARGIN_MS;
    if (left > 0 && margin > left / 2)
        margin = left / 2;
    out->stop_at_ms = deadline_ms - margin;
    out->store_deadline_ms = deadline_ms - margin / 2;
    return true;
}

int lambda_timeout_error(int64_t now_ms, int64_t deadline_ms, const struct read_stats *seen,
                         struct error *err)
{
    /* An invocation that started late (a frozen sandbox, a slow init) may find
     * its deadline already behind it: say so, never "-N ms before". */
    bool passed = now_ms >= deadline_ms;
    return error_set(err, ERR_TIMEOUT,
                     "%s %lld ms %s, after %llu entries from %llu result files; "
                     "nothing was written",
                     passed ? "The invocation's Lambda deadline had passed"
                            : "The invocation stopped",
                     (long long)(passed ? now_ms - deadline_ms : deadline_ms - now_ms),
                     passed ? "before the step could start or go on"
                            : "before its Lambda deadline, so that the output could be aborted "
                              "and this error reported",
                     (unsigned long long)seen->entries, (unsigned long long)seen->result_files);
}

/* ---- one invocation ---- */

struct service {
    struct runtime rt;
    struct store *store;
    const char *store_kind; /* "s3" or "directory", for the log */
    enum transformation transformation;
    bool require_complete;   /* BCR_REQUIRE_COMPLETE=true */
    char function_name[256]; /* AWS_LAMBDA_FUNCTION_NAME, for the EMF dimension */
    uint64_t invocations;
    bool warned_deadline;
};

/* should_stop and progress: the clock against the planned stopping point. */
struct watch {
    struct lambda_deadline plan;
    int64_t deadline_ms;
    struct read_stats seen; /* as of the last progress call */
    int64_t last_log_ms;
};

static int watch_should_stop(void *ctx, struct error *err)
{
    struct watch *w = ctx;
    if (interrupt_check(err) != 0)
        return -1;
    int64_t now = util_wall_ms();
    if (!w->plan.stop_at_ms || now < w->plan.stop_at_ms)
        return 0;
    return lambda_timeout_error(now, w->deadline_ms, &w->seen, err);
}

static void watch_progress(const struct read_stats *stats, void *ctx)
{
    struct watch *w = ctx;
    w->seen = *stats;
    int64_t now = util_monotonic_ms();
    if (now - w->last_log_ms < PROGRESS_LOG_MS || !log_enabled(LOG_DEBUG))
        return;
    w->last_log_ms = now;
    log_fields(LOG_DEBUG, "reading result files", LOG_U64("entries", stats->entries),
               LOG_U64("result_files", stats->result_files),
               LOG_U64("bytes_read", stats->bytes_read), LOG_END);
}

static void log_summary(const struct service *svc, const char *request_id, int64_t duration_ms,
                        const struct step_stats *stats, const struct error *err)
{
    char line[2048];
    struct emf_summary s = {
        util_wall_ms(), svc->function_name,      request_id, err ? err->type : NULL, stats,
        duration_ms,    log_passing_level_name()};
    if (emf_format(&s, line, sizeof line) >= 0)
        log_raw_line(line);
}

/* Plans the invocation's stopping points (watch) and tells the log and the
 * store what it serves: request id, trace header, deadline. */
static void begin_invocation(struct service *svc, const struct next *nx, struct watch *w)
{
    svc->invocations++;
    log_set_request_id(nx->request_id);
    if (nx->trace_too_long)
        log_fields(LOG_WARN, "Lambda-Runtime-Trace-Id too long; _X_AMZN_TRACE_ID left unset",
                   LOG_END);
    if (nx->trace_id[0])
        setenv("_X_AMZN_TRACE_ID", nx->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");

    int64_t now = util_wall_ms();
    bool timed = lambda_plan_deadline(now, nx->deadline_ms, &w->plan);
    if (!timed && nx->deadline_ms != 0 && !svc->warned_deadline) {
        log_fields(LOG_WARN, "Lambda-Runtime-Deadline-Ms is not a Unix time in ms; ignored",
                   LOG_I64("deadline_ms", nx->deadline_ms), LOG_END);
        svc->warned_deadline = true;
    }
    struct store_invocation inv = {w->plan.store_deadline_ms, nx->trace_id};
    store_set_invocation(svc->store, &inv);

    log_fields(LOG_INFO, "invocation started", LOG_U64("invocation", svc->invocations),
               LOG_I64("pid", getpid()),
               LOG_I64("remaining_ms", timed ? nx->deadline_ms - now : -1),
               LOG_STR("traceId", settings_env(SETTING_X_AMZN_TRACE_ID)), LOG_END);
}

/* Runs the step on the event, unless the event could not be taken whole or
 * the deadline has passed already. Returns 0 with reply filled, or -1 with
 * err set. */
static int run_invocation(struct service *svc, struct next *nx, struct watch *w,
                          struct step_reply *reply, struct step_stats *stats, struct error *err)
{
    struct step_options options = {
        svc->transformation, {watch_progress, watch_should_stop, w}, svc->require_complete};
    if (error_is_set(&nx->oom)) {
        *err = nx->oom;
        return -1;
    }
    if (nx->event_too_large)
        return error_set(err, ERR_INVALID_EVENT, "event is larger than the %u bytes allowed",
                         EVENT_MAX_BYTES);
    if (watch_should_stop(w, err) != 0)
        return -1;
    return step_run(nx->event.data ? (const char *)nx->event.data : "", nx->event.len, svc->store,
                    &options, reply, stats, err);
}

/* Writes the document to post into doc (the reply, or the error document)
 * and logs the outcome. Returns rc, or -1 if the reply does not fit (err set). */
static int outcome_document(int rc, const struct step_reply *reply, const struct step_stats *stats,
                            int64_t duration_ms, struct error *err, char *doc, size_t cap)
{
    if (rc == 0 && step_reply_json(reply, doc, cap) < 0)
        rc = error_set(err, ERR_INVALID_KEY, "the reply does not fit in %zu bytes", cap);
    if (rc == 0) {
        log_fields(LOG_INFO, "invocation succeeded", LOG_STR("bucket", reply->bucket),
                   LOG_STR("key", reply->key), LOG_U64("entries", stats->read.entries),
                   LOG_I64("duration_ms", duration_ms), LOG_END);
        return 0;
    }
    if (!error_is_set(err))
        error_set(err, ERR_IO, "the step failed without saying why");
    log_fields(LOG_ERROR, "invocation failed", LOG_STR("errorType", err->type),
               LOG_STR("errorMessage", err->message), LOG_STR("where", err->where),
               LOG_I64("duration_ms", duration_ms), LOG_END);
    if (runtime_api_error_json(err, doc, cap) < 0)
        snprintf(doc, cap, "%s", FALLBACK_ERROR_DOC);
    return -1;
}

/* Posts doc as the invocation's response, or with failure (not NULL) as its
 * error. Returns 0, or -1 when the process must end. */
static int post_outcome(struct service *svc, const struct next *nx, const char *doc,
                        const struct error *failure)
{
    struct error post_err = {0};
    bool fatal;
    if (runtime_api_post_invocation(&svc->rt, nx->request_id, doc, failure, &fatal, &post_err) == 0)
        return 0;
    log_fields(fatal ? LOG_FATAL : LOG_ERROR, "runtime api: posting the outcome failed",
               LOG_STR("errorType", post_err.type), LOG_STR("errorMessage", post_err.message),
               LOG_END);
    return fatal ? -1 : 0;
}

/* Nothing of this invocation reaches the next one. */
static void end_invocation(struct service *svc)
{
    store_set_invocation(svc->store, NULL);
    unsetenv("_X_AMZN_TRACE_ID");
    log_set_request_id(NULL);
}

/* Serves one invocation: plans it, runs the step, logs the outcome and the
 * metrics (before posting, since Lambda may freeze the process right after),
 * posts the outcome and cleans up. Returns 0, or -1 when the process must
 * end. */
static int serve(struct service *svc, struct next *nx)
{
    int64_t start = util_monotonic_ms();
    struct error err = {0};
    struct step_stats stats;
    struct step_reply reply;
    memset(&stats, 0, sizeof stats);
    struct watch w = {{0, 0}, nx->deadline_ms, {0}, start};

    begin_invocation(svc, nx, &w);
    int rc = run_invocation(svc, nx, &w, &reply, &stats, &err);
    int64_t duration = util_monotonic_ms() - start;
    char doc[REPLY_MAX > ERROR_DOC_MAX ? REPLY_MAX : ERROR_DOC_MAX];
    rc = outcome_document(rc, &reply, &stats, duration, &err, doc, sizeof doc);
    log_summary(svc, nx->request_id, duration, &stats, rc == 0 ? NULL : &err);
    int posted = post_outcome(svc, nx, doc, rc == 0 ? NULL : &err);
    end_invocation(svc);
    return posted;
}

/* ---- init and the loop ---- */

static int configure(struct service *svc, const struct run_options *opts, struct error *err)
{
    svc->transformation = opts->transformation;
    const char *t = settings_env(SETTING_BCR_TRANSFORMATION);
    if (t && result_reader_transformation_parse(t, &svc->transformation) != 0)
        return error_set(err, ERR_CONFIG,
                         "BCR_TRANSFORMATION \"%s\" is not one of NONE, COMPACT, FLATTEN", t);
    const char *rc = settings_env(SETTING_BCR_REQUIRE_COMPLETE);
    if (rc && strcmp(rc, "true") != 0 && strcmp(rc, "false") != 0)
        return error_set(err, ERR_CONFIG, "BCR_REQUIRE_COMPLETE \"%s\" is not true or false", rc);
    svc->require_complete = opts->require_complete || (rc && strcmp(rc, "true") == 0);
    const char *name = settings_env(SETTING_AWS_LAMBDA_FUNCTION_NAME);
    snprintf(svc->function_name, sizeof svc->function_name, "%s", name ? name : "");
    svc->store = options_open_store(opts, err);
    svc->store_kind = options_store_kind(opts);
    return svc->store ? 0 : -1;
}

int lambda_run(const char *runtime_api, const struct run_options *opts)
{
    assert(!opts->output_stdout); /* a Lambda store writes where its event says */
    int64_t start = util_monotonic_ms();
    struct service svc;
    struct error err = {0};
    memset(&svc, 0, sizeof svc);
    /* A log pipe closed under us must not kill the process mid-invocation. */
    signal(SIGPIPE, SIG_IGN);

    if (runtime_api_init(&svc.rt, runtime_api, &err) != 0) {
        log_fields(LOG_FATAL, "cannot use the Lambda Runtime API", LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_END);
        runtime_api_free(&svc.rt);
        return 1;
    }
    if (configure(&svc, opts, &err) != 0) {
        char doc[ERROR_DOC_MAX];
        struct error post_err = {0};
        bool fatal;
        log_fields(LOG_FATAL, "initialisation failed", LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_END);
        if (runtime_api_error_json(&err, doc, sizeof doc) < 0)
            snprintf(doc, sizeof doc, "%s", FALLBACK_ERROR_DOC);
        if (runtime_api_post(&svc.rt, "/init/error", doc, &err, &fatal, &post_err) != 0)
            log_fields(LOG_FATAL, "runtime api: posting the init error failed",
                       LOG_STR("errorType", post_err.type),
                       LOG_STR("errorMessage", post_err.message), LOG_END);
        runtime_api_free(&svc.rt);
        return 1;
    }

    log_fields(LOG_INFO, "lambda runtime ready", LOG_STR("version", BCR_VERSION),
               LOG_I64("pid", getpid()), LOG_STR("store", svc.store_kind),
               LOG_STR("transformation", result_reader_transformation_name(svc.transformation)),
               LOG_I64("init_ms", util_monotonic_ms() - start), LOG_END);

    for (;;) {
        struct next nx;
        runtime_api_next_init(&nx);
        if (runtime_api_next(&svc.rt, &nx, &err) != 0) {
            if (!interrupt_signal()) /* a shutdown between invocations is no failure */
                log_fields(LOG_FATAL, "runtime api: cannot get the next invocation",
                           LOG_STR("errorType", err.type), LOG_STR("errorMessage", err.message),
                           LOG_END);
            runtime_api_next_free(&nx);
            break;
        }
        int rc = serve(&svc, &nx);
        runtime_api_next_free(&nx);
        if (rc != 0 || interrupt_signal())
            break;
    }
    store_destroy(svc.store);
    runtime_api_free(&svc.rt);
    return interrupt_signal() ? interrupt_exit_status() : 1;
}
