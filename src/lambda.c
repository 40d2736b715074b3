#define _POSIX_C_SOURCE 200809L
#include "lambda.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "emf.h"
#include "event.h"
#include "http.h"
#include "jsonw.h"
#include "interrupt.h"
#include "log.h"
#include "step.h"
#include "store_dir.h"
#include "s3/store_s3.h"
#include "version.h"

enum {
    PATH_CAUSE_MAX = 256, /* the working directory in an X-Ray error cause */
    API_BASE_MAX = 384,
    REQUEST_ID_MAX = 128,
    TRACE_ID_MAX = 1024,
    REPLY_MAX = STEP_KEY_MAX * 6 + STEP_BUCKET_MAX * 6 + 64,
    ERROR_DOC_MAX = ERROR_MESSAGE_MAX * 6 + ERROR_TYPE_MAX * 6 + 64,
    API_BODY_KEEP = 512,     /* of a Runtime API answer, for the log when it fails */
    POST_TIMEOUT_MS = 30000, /* the Runtime API is local: a POST that takes this long is lost */
    PROGRESS_LOG_MS = 5000,  /* DEBUG progress line while result files stream */
    /* GET next in a row that may fail (no answer, or one other than 200 and
     * not 5xx) before the process ends, retried at once: aws-lambda-cpp's
     * policy. A 5xx ends it at the first. */
    NEXT_ATTEMPTS = 3,
    CONNECT_TIMEOUT_MS = 1000, /* the API is on the same host, as aws-lambda-cpp assumes */
    XRAY_CAUSE_MAX = ERROR_MESSAGE_MAX * 6 + ERROR_TYPE_MAX * 6 + PATH_CAUSE_MAX * 6 + 128,
};

#define API_VERSION "2018-06-01"
#define USER_AGENT "User-Agent: backend-checks-results/" BCR_VERSION
/* Posted if an error document does not fit its buffer (it always should). */
#define FALLBACK_ERROR_DOC                                                                         \
    "{\"errorType\": \"Unknown\", \"errorMessage\": \"\", \"stackTrace\": []}"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

int lambda_error_json(const struct error *err, char *out, size_t cap)
{
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"errorType\": ");
    jsonw_string(&w, err->type[0] ? err->type : "Unknown");
    jsonw_raw(&w, ", \"errorMessage\": ");
    jsonw_string(&w, err->message);
    jsonw_raw(&w, ", \"stackTrace\": []}");
    return jsonw_finish(&w);
}

/* ---- the Runtime API client ---- */

struct runtime {
    CURL *curl; /* one handle for every call: its connection is kept alive */
    char base[API_BASE_MAX];
    char errbuf[CURL_ERROR_SIZE];
};

/* What GET next answered. */
struct next {
    long status;
    char request_id[REQUEST_ID_MAX];
    char trace_id[TRACE_ID_MAX];
    bool trace_too_long;  /* a trace id that did not fit: left unset */
    int64_t deadline_ms;  /* 0 if absent or not a number */
    struct buf event;     /* at most EVENT_MAX_BYTES */
    bool event_too_large; /* the rest was read and dropped */
    struct error oom;     /* set if buffering the event ran out of memory */
};

/* What a POST answered: the status and the start of the body, for the log. */
struct answer {
    long status;
    char body[API_BODY_KEEP];
    size_t len;
};

static int runtime_init(struct runtime *rt, const char *api, struct error *err)
{
    memset(rt, 0, sizeof *rt);
    if (!api[0] || strpbrk(api, "/?#@ \t\r\n"))
        return error_set(err, ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API \"%s\" is not a host:port", api);
    if (snprintf(rt->base, sizeof rt->base, "http://%s/" API_VERSION "/runtime", api) >=
        (int)sizeof rt->base)
        return error_set(err, ERR_CONFIG, "AWS_LAMBDA_RUNTIME_API is too long");
    if (http_global_init(err) != 0)
        return -1;
    if (!(rt->curl = curl_easy_init()))
        return error_set(err, ERR_OUT_OF_MEMORY, "cannot create a libcurl handle");
    return 0;
}

static void runtime_free(struct runtime *rt)
{
    if (rt->curl)
        curl_easy_cleanup(rt->curl);
    rt->curl = NULL;
}

/* Options every call shares; reset first so that nothing of the previous call
 * stays (curl_easy_reset keeps the open connection). */
static void runtime_prepare(struct runtime *rt, const char *url)
{
    CURL *c = rt->curl;
    curl_easy_reset(c);
    rt->errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, rt->errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the API is local: never via http_proxy */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
}

static const char *curl_message(const struct runtime *rt, CURLcode rc)
{
    return rt->errbuf[0] ? rt->errbuf : curl_easy_strerror(rc);
}

/* Copies a header value, trimmed, into out; false if it does not fit. */
static bool header_value(const char *v, size_t n, char *out, size_t cap)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap) {
        out[0] = '\0';
        return false;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return true;
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    *value = line + n + 1;
    *value_len = len - n - 1;
    return true;
}

static size_t on_next_header(char *line, size_t size, size_t count, void *ud)
{
    struct next *nx = ud;
    size_t len = size * count;
    const char *v;
    size_t vn;
    char number[32];
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the previous one's headers. */
        nx->request_id[0] = nx->trace_id[0] = '\0';
        nx->deadline_ms = 0;
        nx->trace_too_long = false;
    } else if (header_is(line, len, "Lambda-Runtime-Aws-Request-Id", &v, &vn)) {
        header_value(v, vn, nx->request_id, sizeof nx->request_id); /* "" if too long */
    } else if (header_is(line, len, "Lambda-Runtime-Trace-Id", &v, &vn)) {
        if (!header_value(v, vn, nx->trace_id, sizeof nx->trace_id))
            nx->trace_too_long = true;
    } else if (header_is(line, len, "Lambda-Runtime-Deadline-Ms", &v, &vn)) {
        int64_t ms;
        if (header_value(v, vn, number, sizeof number) &&
            http_parse_int64(number, strlen(number), &ms) == 0)
            nx->deadline_ms = ms;
    }
    return len;
}

static size_t on_next_body(char *p, size_t size, size_t count, void *ud)
{
    struct next *nx = ud;
    size_t n = size * count;
    if (nx->event_too_large || error_is_set(&nx->oom))
        return n; /* drained, so the connection stays usable */
    if (buf_append(&nx->event, p, n, &nx->oom) == BUF_FULL)
        nx->event_too_large = true;
    return n;
}

static size_t on_answer_body(char *p, size_t size, size_t count, void *ud)
{
    struct answer *a = ud;
    size_t n = size * count;
    size_t room = sizeof a->body - 1 - a->len;
    size_t keep = n < room ? n : room;
    memcpy(a->body + a->len, p, keep);
    a->len += keep;
    a->body[a->len] = '\0';
    return n;
}

static void next_init(struct next *nx)
{
    memset(nx, 0, sizeof *nx);
    buf_init(&nx->event, EVENT_MAX_BYTES);
}

static void next_free(struct next *nx)
{
    buf_free(&nx->event);
    memset(nx, 0, sizeof *nx);
}

/* One GET .../invocation/next: blocks until Lambda has an invocation, so no
 * timeout. Returns 0 with nx filled, or -1 with err set and *fatal telling
 * whether to end the process at once (a 5xx) rather than try again. */
static int next_once(struct runtime *rt, const char *url, struct curl_slist *headers,
                     struct next *nx, bool *fatal, struct error *err)
{
    *fatal = false;
    next_free(nx);
    next_init(nx);
    runtime_prepare(rt, url);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_next_header);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, (void *)nx);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_next_body);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, (void *)nx);
    CURLcode rc = curl_easy_perform(rt->curl);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, NULL);
    if (rc != CURLE_OK)
        return error_set(err, ERR_IO, "GET %s failed: %s", url, curl_message(rt, rc));
    curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, &nx->status);
    if (nx->status != 200) {
        *fatal = nx->status >= 500;
        return error_set(err, ERR_IO, "GET %s answered HTTP %ld", url, nx->status);
    }
    if (!nx->request_id[0])
        return error_set(err, ERR_IO, "GET %s answered without a usable %s", url,
                         "Lambda-Runtime-Aws-Request-Id");
    return 0;
}

/* GET .../invocation/next, up to NEXT_ATTEMPTS times in a row. Returns 0 with
 * nx filled, or -1 (the process must end). */
static int runtime_next(struct runtime *rt, struct next *nx, struct error *err)
{
    char url[API_BASE_MAX + 32];
    snprintf(url, sizeof url, "%s/invocation/next", rt->base);
    struct curl_slist *headers = curl_slist_append(NULL, USER_AGENT);
    if (!headers)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory building a Runtime API request");
    int rc = -1;
    for (int attempt = 1; attempt <= NEXT_ATTEMPTS; attempt++) {
        bool fatal;
        if ((rc = next_once(rt, url, headers, nx, &fatal, err)) == 0 || fatal)
            break;
        if (attempt < NEXT_ATTEMPTS)
            log_fields(LOG_WARN, "runtime api: getting the next invocation failed, retrying",
                       LOG_STR("errorMessage", err->message), LOG_U64("attempt", attempt), LOG_END);
    }
    curl_slist_free_all(headers);
    return rc;
}

/* Appends a header line; on failure keeps the list and sets *oom. */
static struct curl_slist *add_header(struct curl_slist *list, const char *line, bool *oom)
{
    struct curl_slist *longer = curl_slist_append(list, line);
    if (!longer)
        *oom = true;
    return longer ? longer : list;
}

int lambda_error_type_header(const char *type, char *out, size_t cap)
{
    struct jsonw w; /* used as a bounded string builder */
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "Function.");
    size_t letters = 0;
    for (const char *c = type ? type : ""; *c; c++) {
        bool upper = *c >= 'A' && *c <= 'Z', lower = *c >= 'a' && *c <= 'z';
        if ((upper || lower) && (letters > 0 || upper)) {
            jsonw_rawn(&w, c, 1);
            letters++;
        }
    }
    if (letters < 2) {
        jsonw_init(&w, out, cap);
        jsonw_raw(&w, "Function.Unknown");
    }
    return jsonw_finish(&w);
}

int lambda_xray_cause(const struct error *err, const char *working_directory, char *out, size_t cap)
{
    /* Header-safe: JSON escapes every control character, and bytes above
     * ASCII (a key's UTF-8) become '?', since a header is no place for them. */
    char message[ERROR_MESSAGE_MAX], cwd[PATH_CAUSE_MAX];
    snprintf(message, sizeof message, "%s", err->message);
    snprintf(cwd, sizeof cwd, "%s", working_directory ? working_directory : "");
    for (char *p = message; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    for (char *p = cwd; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"working_directory\":");
    jsonw_string(&w, cwd);
    jsonw_raw(&w, ",\"exceptions\":[{\"type\":");
    jsonw_string(&w, err->type[0] ? err->type : "Unknown");
    jsonw_raw(&w, ",\"message\":");
    jsonw_string(&w, message);
    jsonw_raw(&w, ",\"stack\":[]}],\"paths\":[]}");
    return jsonw_finish(&w);
}

/* Sends body (JSON) to base + path. For a failure (not NULL) it adds the
 * Lambda-Runtime-Function-Error-Type header (lambda_error_type_header) and the
 * X-Ray error cause (lambda_xray_cause). Returns 0 if the Runtime API took it
 * (2xx); -1 with err set otherwise, *fatal telling whether the process must
 * end (transport failure, HTTP 5xx: the API's "container error"). */
static int runtime_post(struct runtime *rt, const char *path, const char *body,
                        const struct error *failure, bool *fatal, struct error *err)
{
    char url[API_BASE_MAX + REQUEST_ID_MAX * 3 + 64];
    static const char type_name[] = "Lambda-Runtime-Function-Error-Type: ";
    static const char cause_name[] = "Lambda-Runtime-Function-XRay-Error-Cause: ";
    char type_header[sizeof type_name + ERROR_TYPE_MAX + 16];
    char cause_header[sizeof cause_name + XRAY_CAUSE_MAX];
    struct answer a = {0, {0}, 0};
    struct curl_slist *headers = NULL;
    bool oom = false;
    *fatal = true;
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    runtime_prepare(rt, url);
    headers = add_header(headers, USER_AGENT, &oom);
    headers = add_header(headers, "Content-Type: application/json", &oom);
    headers = add_header(headers, "Expect:", &oom); /* no 100-continue round trip */
    if (failure) {
        char cwd[PATH_CAUSE_MAX];
        memcpy(type_header, type_name, sizeof type_name);
        memcpy(cause_header, cause_name, sizeof cause_name);
        /* Both always fit their buffers; were one not to, it is left out. */
        if (lambda_error_type_header(failure->type, type_header + sizeof type_name - 1,
                                     sizeof type_header - sizeof type_name + 1) >= 0)
            headers = add_header(headers, type_header, &oom);
        if (lambda_xray_cause(failure, getcwd(cwd, sizeof cwd) ? cwd : "",
                              cause_header + sizeof cause_name - 1,
                              sizeof cause_header - sizeof cause_name + 1) >= 0)
            headers = add_header(headers, cause_header, &oom);
    }
    if (oom) {
        curl_slist_free_all(headers);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory building a Runtime API request");
    }
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(rt->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(rt->curl, CURLOPT_TIMEOUT_MS, (long)POST_TIMEOUT_MS);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_answer_body);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, (void *)&a);
    CURLcode rc = curl_easy_perform(rt->curl);
    curl_easy_getinfo(rt->curl, CURLINFO_RESPONSE_CODE, &a.status);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
        return error_set(err, ERR_IO, "POST %s failed: %s", url, curl_message(rt, rc));
    if (a.status >= 200 && a.status < 300)
        return 0;
    *fatal = a.status >= 500;
    return error_set(err, ERR_IO, "POST %s answered HTTP %ld: %s", url, a.status, a.body);
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
    struct step_stats seen; /* as of the last progress call */
    int64_t last_log_ms;
};

static int watch_should_stop(void *ctx, struct error *err)
{
    struct watch *w = ctx;
    if (interrupt_check(err) != 0)
        return -1;
    int64_t now = wall_ms();
    if (!w->plan.stop_at_ms || now < w->plan.stop_at_ms)
        return 0;
    if (now >= w->deadline_ms)
        return error_set(err, ERR_TIMEOUT,
                         "The invocation's Lambda deadline had passed %lld ms before the step "
                         "could start or go on, after %llu entries from %llu result files; "
                         "nothing was written",
                         (long long)(now - w->deadline_ms), (unsigned long long)w->seen.entries,
                         (unsigned long long)w->seen.result_files);
    return error_set(err, ERR_TIMEOUT,
                     "The invocation stopped %lld ms before its Lambda deadline, so that the "
                     "output could be aborted and this error reported, after %llu entries from "
                     "%llu result files; nothing was written",
                     (long long)(w->deadline_ms - now), (unsigned long long)w->seen.entries,
                     (unsigned long long)w->seen.result_files);
}

static void watch_progress(const struct step_stats *stats, void *ctx)
{
    struct watch *w = ctx;
    w->seen = *stats;
    int64_t now = mono_ms();
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
        wall_ms(),   svc->function_name,      request_id, err ? err->type : NULL, stats,
        duration_ms, log_passing_level_name()};
    if (emf_format(&s, line, sizeof line) >= 0)
        log_raw_line(line);
}

/* Runs the step on one invocation and posts its outcome. Returns 0, or -1
 * when the process must end. */
static int serve(struct service *svc, struct next *nx)
{
    int64_t start = mono_ms();
    struct error err = {{0}, {0}};
    struct step_stats stats;
    struct step_reply reply;
    memset(&stats, 0, sizeof stats);
    svc->invocations++;

    log_set_request_id(nx->request_id);
    if (nx->trace_too_long)
        log_fields(LOG_WARN, "Lambda-Runtime-Trace-Id too long; _X_AMZN_TRACE_ID left unset",
                   LOG_END);
    if (nx->trace_id[0])
        setenv("_X_AMZN_TRACE_ID", nx->trace_id, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");

    struct watch w = {{0, 0}, nx->deadline_ms, {0}, start};
    int64_t now = wall_ms();
    bool timed = lambda_plan_deadline(now, nx->deadline_ms, &w.plan);
    if (!timed && nx->deadline_ms != 0 && !svc->warned_deadline) {
        log_fields(LOG_WARN, "Lambda-Runtime-Deadline-Ms is not a Unix time in ms; ignored",
                   LOG_I64("deadline_ms", nx->deadline_ms), LOG_END);
        svc->warned_deadline = true;
    }
    struct store_invocation inv = {w.plan.store_deadline_ms, getenv("_X_AMZN_TRACE_ID")};
    store_set_invocation(svc->store, &inv);

    log_fields(LOG_INFO, "invocation started", LOG_U64("invocation", svc->invocations),
               LOG_I64("pid", getpid()),
               LOG_I64("remaining_ms", timed ? nx->deadline_ms - now : -1),
               LOG_STR("traceId", getenv("_X_AMZN_TRACE_ID")), LOG_END);

    struct step_options options = {svc->transformation, watch_progress, watch_should_stop, &w,
                                   svc->require_complete};
    int rc = -1;
    if (error_is_set(&nx->oom))
        err = nx->oom;
    else if (nx->event_too_large)
        error_set(&err, ERR_INVALID_EVENT, "event is larger than the %u bytes allowed",
                  EVENT_MAX_BYTES);
    else if (watch_should_stop(&w, &err) == 0)
        rc = step_run(nx->event.data ? (const char *)nx->event.data : "", nx->event.len, svc->store,
                      &options, &reply, &stats, &err);
    int64_t duration = mono_ms() - start;

    char doc[REPLY_MAX > ERROR_DOC_MAX ? REPLY_MAX : ERROR_DOC_MAX];
    if (rc == 0 && step_reply_json(&reply, doc, sizeof doc) < 0)
        rc = error_set(&err, ERR_INVALID_KEY, "the reply does not fit in %zu bytes", sizeof doc);
    if (rc == 0) {
        log_fields(LOG_INFO, "invocation succeeded", LOG_STR("bucket", reply.bucket),
                   LOG_STR("key", reply.key), LOG_U64("entries", stats.entries),
                   LOG_I64("duration_ms", duration), LOG_END);
    } else {
        if (!error_is_set(&err))
            error_set(&err, ERR_IO, "the step failed without saying why");
        log_fields(LOG_ERROR, "invocation failed", LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_I64("duration_ms", duration), LOG_END);
        if (lambda_error_json(&err, doc, sizeof doc) < 0)
            snprintf(doc, sizeof doc, "%s", FALLBACK_ERROR_DOC);
    }
    log_summary(svc, nx->request_id, duration, &stats, rc == 0 ? NULL : &err);

    /* The request id goes into the path: escape whatever it holds. */
    char path[REQUEST_ID_MAX * 3 + 64];
    char *id = curl_easy_escape(svc->rt.curl, nx->request_id, 0);
    struct error post_err = {{0}, {0}};
    bool fatal = true;
    int posted = -1;
    if (id) {
        snprintf(path, sizeof path, "/invocation/%s/%s", id, rc == 0 ? "response" : "error");
        curl_free(id);
        posted = runtime_post(&svc->rt, path, doc, rc == 0 ? NULL : &err, &fatal, &post_err);
    } else {
        error_set(&post_err, ERR_OUT_OF_MEMORY, "out of memory escaping the request id");
    }
    if (posted != 0)
        log_fields(fatal ? LOG_FATAL : LOG_ERROR, "runtime api: posting the outcome failed",
                   LOG_STR("errorType", post_err.type), LOG_STR("errorMessage", post_err.message),
                   LOG_END);

    /* Nothing of this invocation reaches the next one. */
    store_set_invocation(svc->store, NULL);
    unsetenv("_X_AMZN_TRACE_ID");
    log_set_request_id(NULL);
    return posted != 0 && fatal ? -1 : 0;
}

/* ---- init and the loop ---- */

static int configure(struct service *svc, const struct cli_options *opts, struct error *err)
{
    svc->transformation = opts->transformation;
    const char *t = getenv("BCR_TRANSFORMATION");
    if (t && t[0] && transformation_parse(t, &svc->transformation) != 0)
        return error_set(err, ERR_CONFIG,
                         "BCR_TRANSFORMATION \"%s\" is not one of NONE, COMPACT, FLATTEN", t);
    const char *rc = getenv("BCR_REQUIRE_COMPLETE");
    svc->require_complete = opts->require_complete || (rc && strcmp(rc, "true") == 0);
    if (rc && rc[0] && strcmp(rc, "true") != 0 && strcmp(rc, "false") != 0)
        return error_set(err, ERR_CONFIG, "BCR_REQUIRE_COMPLETE \"%s\" is not true or false", rc);
    const char *name = getenv("AWS_LAMBDA_FUNCTION_NAME");
    snprintf(svc->function_name, sizeof svc->function_name, "%s", name ? name : "");
    if (opts->store_dir) {
        svc->store = store_dir_new(opts->store_dir, err);
        svc->store_kind = "directory";
    } else {
        struct s3_options s3 = {opts->region, opts->endpoint_url};
        svc->store = store_s3_new(&s3, err);
        svc->store_kind = "s3";
    }
    return svc->store ? 0 : -1;
}

static const char *transformation_name(enum transformation t)
{
    return t == TRANSFORM_COMPACT ? "COMPACT" : t == TRANSFORM_FLATTEN ? "FLATTEN" : "NONE";
}

int lambda_run(const char *runtime_api, const struct cli_options *opts)
{
    int64_t start = mono_ms();
    struct service svc;
    struct error err = {{0}, {0}};
    memset(&svc, 0, sizeof svc);
    /* A log pipe closed under us must not kill the process mid-invocation. */
    signal(SIGPIPE, SIG_IGN);

    if (runtime_init(&svc.rt, runtime_api, &err) != 0) {
        log_fields(LOG_FATAL, "cannot use the Lambda Runtime API", LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_END);
        runtime_free(&svc.rt);
        return 1;
    }
    if (configure(&svc, opts, &err) != 0) {
        char doc[ERROR_DOC_MAX];
        struct error post_err = {{0}, {0}};
        bool fatal;
        log_fields(LOG_FATAL, "initialisation failed", LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_END);
        if (lambda_error_json(&err, doc, sizeof doc) < 0)
            snprintf(doc, sizeof doc, "%s", FALLBACK_ERROR_DOC);
        if (runtime_post(&svc.rt, "/init/error", doc, &err, &fatal, &post_err) != 0)
            log_fields(LOG_FATAL, "runtime api: posting the init error failed",
                       LOG_STR("errorType", post_err.type),
                       LOG_STR("errorMessage", post_err.message), LOG_END);
        runtime_free(&svc.rt);
        return 1;
    }

    log_fields(LOG_INFO, "lambda runtime ready", LOG_STR("version", BCR_VERSION),
               LOG_I64("pid", getpid()), LOG_STR("store", svc.store_kind),
               LOG_STR("transformation", transformation_name(svc.transformation)),
               LOG_I64("init_ms", mono_ms() - start), LOG_END);

    for (;;) {
        struct next nx;
        next_init(&nx);
        if (runtime_next(&svc.rt, &nx, &err) != 0) {
            log_fields(LOG_FATAL, "runtime api: cannot get the next invocation",
                       LOG_STR("errorType", err.type), LOG_STR("errorMessage", err.message),
                       LOG_END);
            next_free(&nx);
            break;
        }
        int rc = serve(&svc, &nx);
        next_free(&nx);
        if (rc != 0 || interrupt_signal())
            break;
    }
    store_destroy(svc.store);
    runtime_free(&svc.rt);
    return interrupt_signal() ? interrupt_exit_status() : 1;
}
