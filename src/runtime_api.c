#define _POSIX_C_SOURCE 200809L
#include "runtime_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "interrupt.h"
#include "jsonw.h"
#include "log.h"
#include "version.h"

enum {
    PATH_CAUSE_MAX = 256, /* the working directory in an X-Ray error cause */
    API_BASE_SUFFIX_MAX = 32,
    API_BODY_KEEP = 512,     /* of a Runtime API answer, for the log when it fails */
    POST_TIMEOUT_MS = 30000, /* the Runtime API is local: a POST that takes this long is lost */
    /* GET next in a row that may fail (no answer, or one other than 200 and
     * not 5xx) before the process ends, retried at once: aws-lambda-cpp's
     * policy. A 5xx ends it at the first. */
    NEXT_ATTEMPTS = 3,
    CONNECT_TIMEOUT_MS = 1000, /* the API is on the same host, as aws-lambda-cpp assumes */
    XRAY_CAUSE_MAX =
        ERROR_MESSAGE_MAX * 6 + ERROR_TYPE_MAX * 6 + PATH_CAUSE_MAX * 6 + ERROR_WHERE_MAX * 2 + 160,
};

#define API_VERSION "2018-06-01"
#define USER_AGENT "backend-checks-results/" BCR_VERSION

int runtime_api_error_json(const struct error *err, char *out, size_t cap)
{
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"errorType\": ");
    jsonw_string(&w, err->type[0] ? err->type : "Unknown");
    jsonw_raw(&w, ", \"errorMessage\": ");
    jsonw_string(&w, err->message);
    /* Where Python's runtime put the traceback: where the error happened. */
    jsonw_raw(&w, ", \"stackTrace\": [");
    if (err->where[0])
        jsonw_string(&w, err->where);
    jsonw_raw(&w, "]}");
    return jsonw_finish(&w);
}

/* What a POST answered: the status and the start of the body, for the log. */
struct answer {
    long status;
    char body[API_BODY_KEEP];
    size_t len;
};

int runtime_api_init(struct runtime *rt, const char *api, struct error *err)
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

void runtime_api_free(struct runtime *rt)
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

static size_t on_next_header(char *line, size_t size, size_t count, void *ud)
{
    struct next *nx = ud;
    size_t len = size * count;
    struct http_header h;
    char number[32];
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the previous one's headers. */
        nx->request_id[0] = nx->trace_id[0] = '\0';
        nx->deadline_ms = 0;
        nx->trace_too_long = false;
        return len;
    }
    if (!http_header_split(line, len, &h))
        return len; /* the blank line */
    if (http_header_is(&h, "Lambda-Runtime-Aws-Request-Id")) {
        if (!http_header_copy(&h, nx->request_id, sizeof nx->request_id))
            nx->request_id[0] = '\0'; /* a cut id would answer another invocation */
    } else if (http_header_is(&h, "Lambda-Runtime-Trace-Id")) {
        if (!http_header_copy(&h, nx->trace_id, sizeof nx->trace_id)) {
            nx->trace_id[0] = '\0';
            nx->trace_too_long = true;
        }
    } else if (http_header_is(&h, "Lambda-Runtime-Deadline-Ms")) {
        int64_t ms;
        if (http_header_copy(&h, number, sizeof number) &&
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

void runtime_api_next_init(struct next *nx)
{
    memset(nx, 0, sizeof *nx);
    buf_init(&nx->event, EVENT_MAX_BYTES);
}

void runtime_api_next_free(struct next *nx)
{
    buf_free(&nx->event);
    memset(nx, 0, sizeof *nx);
}

/* One GET .../invocation/next: blocks until Lambda has an invocation, so no
 * timeout. Returns 0 with nx filled, or -1 with err set and *fatal telling
 * whether to end the process at once (a 5xx) rather than try again. */
/* Ends the wait for the next invocation once SIGTERM or SIGINT arrives: the
 * wait has no timeout, so nothing else would. */
static int next_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    (void)p, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return interrupt_signal() != 0;
}

static int next_once(struct runtime *rt, const char *url, struct curl_slist *headers,
                     struct next *nx, bool *fatal, struct error *err)
{
    *fatal = false;
    runtime_api_next_free(nx);
    runtime_api_next_init(nx);
    if (interrupt_check(err) != 0) {
        *fatal = true;
        return -1;
    }
    runtime_prepare(rt, url);
    curl_easy_setopt(rt->curl, CURLOPT_XFERINFOFUNCTION, next_progress);
    curl_easy_setopt(rt->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERFUNCTION, on_next_header);
    curl_easy_setopt(rt->curl, CURLOPT_HEADERDATA, (void *)nx);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEFUNCTION, on_next_body);
    curl_easy_setopt(rt->curl, CURLOPT_WRITEDATA, (void *)nx);
    CURLcode rc = curl_easy_perform(rt->curl);
    curl_easy_setopt(rt->curl, CURLOPT_HTTPHEADER, NULL);
    if (interrupt_check(err) != 0) {
        *fatal = true;
        return -1;
    }
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
int runtime_api_next(struct runtime *rt, struct next *nx, struct error *err)
{
    char url[API_BASE_MAX + 32];
    snprintf(url, sizeof url, "%s/invocation/next", rt->base);
    struct curl_slist *headers = NULL;
    if (http_header_add(&headers, "User-Agent", USER_AGENT) != 0)
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

int runtime_api_error_type_header(const char *type, char *out, size_t cap)
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

int runtime_api_xray_cause(const struct error *err, const char *working_directory, char *out,
                           size_t cap)
{
    /* Header-safe: JSON escapes every control character, and bytes above
     * ASCII (a key's UTF-8) become '?', since a header is no place for them. */
    char message[ERROR_MESSAGE_MAX], cwd[PATH_CAUSE_MAX], where[ERROR_WHERE_MAX];
    snprintf(message, sizeof message, "%s", err->message);
    snprintf(cwd, sizeof cwd, "%s", working_directory ? working_directory : "");
    snprintf(where, sizeof where, "%s", err->where);
    for (char *p = message; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    for (char *p = cwd; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    /* A key's control characters too, in the location: they would take six
     * bytes each, and the header must stay under the 16 KiB HTTP servers take. */
    for (char *p = where; *p; p++)
        if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
            *p = '?';
    struct jsonw w;
    jsonw_init(&w, out, cap);
    jsonw_raw(&w, "{\"working_directory\":");
    jsonw_string(&w, cwd);
    jsonw_raw(&w, ",\"exceptions\":[{\"type\":");
    jsonw_string(&w, err->type[0] ? err->type : "Unknown");
    jsonw_raw(&w, ",\"message\":");
    jsonw_string(&w, message);
    /* X-Ray's stack frames are {path, line, label}: the location is the label. */
    jsonw_raw(&w, ",\"stack\":[");
    if (where[0]) {
        jsonw_raw(&w, "{\"path\":\"\",\"line\":0,\"label\":");
        jsonw_string(&w, where);
        jsonw_raw(&w, "}");
    }
    jsonw_raw(&w, "]}],\"paths\":[]}");
    return jsonw_finish(&w);
}

/* Sends body (JSON) to base + path. For a failure (not NULL) it adds the
 * Lambda-Runtime-Function-Error-Type header (runtime_api_error_type_header) and the
 * X-Ray error cause (runtime_api_xray_cause). Returns 0 if the Runtime API took it
 * (2xx); -1 with err set otherwise, *fatal telling whether the process must
 * end (transport failure, HTTP 5xx: the API's "container error"). */
int runtime_api_post(struct runtime *rt, const char *path, const char *body,
                     const struct error *failure, bool *fatal, struct error *err)
{
    char url[API_BASE_MAX + REQUEST_ID_MAX * 3 + 64];
    char type_value[ERROR_TYPE_MAX + 16];
    char cause_value[XRAY_CAUSE_MAX];
    struct answer a = {0, {0}, 0};
    struct curl_slist *headers = NULL;
    *fatal = true;
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    runtime_prepare(rt, url);
    bool ok = http_header_add(&headers, "User-Agent", USER_AGENT) == 0 &&
              http_header_add(&headers, "Content-Type", "application/json") == 0 &&
              http_header_add(&headers, "Expect", "") == 0; /* no 100-continue round trip */
    if (ok && failure) {
        char cwd[PATH_CAUSE_MAX];
        /* Both always fit their buffers; were one not to, it is left out. */
        if (runtime_api_error_type_header(failure->type, type_value, sizeof type_value) >= 0)
            ok = http_header_add(&headers, "Lambda-Runtime-Function-Error-Type", type_value) == 0;
        if (ok && runtime_api_xray_cause(failure, getcwd(cwd, sizeof cwd) ? cwd : "", cause_value,
                                         sizeof cause_value) >= 0)
            ok = http_header_add(&headers, "Lambda-Runtime-Function-XRay-Error-Cause",
                                 cause_value) == 0;
    }
    if (!ok) {
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

int runtime_api_post_invocation(struct runtime *rt, const char *request_id, const char *body,
                                const struct error *failure, bool *fatal, struct error *err)
{
    /* The request id goes into the path: escape whatever it holds. */
    char path[REQUEST_ID_MAX * 3 + 64];
    char *id = curl_easy_escape(rt->curl, request_id, 0);
    *fatal = true;
    if (!id)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory escaping the request id");
    snprintf(path, sizeof path, "/invocation/%s/%s", id, failure ? "error" : "response");
    curl_free(id);
    return runtime_api_post(rt, path, body, failure, fatal, err);
}
