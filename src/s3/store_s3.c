#define _POSIX_C_SOURCE 200809L
#include "s3/store_s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "s3/credentials.h"
#include "http.h"
#include "interrupt.h"
#include "log.h"
#include "s3/config.h"
#include "s3/error_doc.h"
#include "s3/sigv4.h"

enum {
    SPILL_CAP = 128 * 1024,  /* reader bytes received beyond what the caller asked for */
    CURL_BUFFER = 64 * 1024, /* libcurl's receive buffer (a write callback chunk is smaller) */
    BODY_MAX = 64 * 1024,    /* error documents and small results; more is not S3 */
    UPLOAD_ID_MAX = 1024,    /* S3's are ~100 bytes */
    QUERY_MAX = 4096,        /* an encoded upload id and a part number */
    PART_XML_MAX = 8 * 1024 * 1024, /* 10,000 <Part> elements with long ETags */
};

struct store_s3 {
    struct store base;
    struct s3_config cfg;
    struct aws_credentials creds;
    CURLM *multi; /* drives every transfer; holds the connection cache */
    CURL *easy;   /* for one-shot requests (everything but GetObject) */
    int64_t deadline_ms;
    char trace_id[1024]; /* X-Amzn-Trace-Id of the invocation's requests; "" none */
    uint64_t rng;
    /* The upload connection's store, kept for the next writer; NULL in an
     * upload connection itself and while a writer holds it. */
    struct store_s3 *uploader;
};

/* What to send: one S3 operation, re-signed for each attempt. */
struct request {
    const char *operation; /* botocore's name: GetObject, UploadPart, ... */
    const char *method;
    const char *bucket, *key;
    struct sigv4_param query[2];
    size_t query_count;
    struct sigv4_param headers[3]; /* signed, lower-case names */
    size_t header_count;
    const void *body;
    size_t body_len;
    char payload_hash[65];
    const char *content_type; /* NULL: none */
};

/* One HTTP exchange on an easy handle in the store's multi handle. */
struct xfer {
    struct store_s3 *s3;
    CURL *easy;
    struct curl_slist *headers;
    bool added, done, checked;
    CURLcode result;
    struct http_response resp;
    struct buf body; /* a captured body: error document or small result */
    bool body_overflow;
    /* A signal cuts it short. Not a commit or an abort: their outcome must be
     * known, and once committing the step finishes rather than stops. */
    bool interruptible;
    struct store_reader *reader; /* a 2xx body streams to it instead */
    char errbuf[CURL_ERROR_SIZE];
    char signature[65]; /* the request's, hidden from what the server sends back */
};

struct store_reader {
    struct store_s3 *s3;
    struct xfer x;
    char *bucket, *key;
    int64_t total;            /* the object's size from the first response; -1 unknown */
    char etag[HTTP_ETAG_MAX]; /* the first response's, for If-Match on resumes */
    uint64_t offset;          /* bytes received (handed out or spilled) */
    uint64_t attempt_offset;  /* offset when the current GET started */
    int failures;             /* consecutive GETs that failed without progress */
    int attempts;             /* GETs sent, for logs */
    int64_t attempt_start_ms;
    /* The minimum rate, enforced here because curl_easy_pause restarts
     * libcurl's own speed check: bytes received in a window of
     * low_speed_time seconds during which the reader waited for the server
     * (time paused for the caller is not counted). */
    int64_t window_ms;
    uint64_t window_bytes;
    int64_t attempt_wait_ms; /* the same waiting, over the whole attempt */
    bool active, paused, eof, failed, header_bad, too_slow;
    struct error failure;    /* returned again by every read after a failure */
    struct error header_err; /* why the header callback refused a response */
    uint8_t *target;         /* the caller's buffer during a read */
    size_t target_cap, target_len;
    size_t spill_pos, spill_len;
    uint8_t spill[SPILL_CAP];
};

/* A multipart upload's parts go out from a thread of their own, on a
 * connection of its own (`up`: a second store_s3 sharing the first's
 * configuration and credentials), so that the caller fills part N+1 while part
 * N is hashed and sent. The thread owns `up`, `job` and everything about the
 * upload (upload_id, parts, xml) while a job is pending; the caller
 * touches them only once the thread is idle or gone. */
struct store_writer {
    struct store_s3 *s3;
    struct store_s3 *up; /* the upload connection; NULL until the first part */
    char *bucket, *key;
    struct buf part; /* up to one part, being filled */
    struct buf job;  /* up to one part, being uploaded */
    bool multipart, failed;
    bool thread_started;
    pthread_t thread;
    pthread_mutex_t lock; /* guards what follows */
    pthread_cond_t cond;  /* signalled when any of it changes */
    bool job_pending, stop, job_failed;
    int64_t job_deadline_ms;
    struct error job_err;
    char upload_id[UPLOAD_ID_MAX];
    int parts;
    struct buf xml; /* the <Part> elements of CompleteMultipartUpload so far */
    uint64_t written;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double random_unit(struct store_s3 *s)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return (double)((s->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

/* ---- transfers ---------------------------------------------------------- */

static size_t reader_take(struct store_reader *r, const char *p, size_t len);
static int reader_check_headers(struct store_reader *r);
static bool reader_too_slow(struct store_reader *r);

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->reader)
        x->reader->window_bytes += len;
    http_response_header(&x->resp, p, len);
    if (x->resp.headers_done && !x->checked) {
        x->checked = true;
        if (x->reader && x->resp.status >= 200 && x->resp.status < 300 &&
            reader_check_headers(x->reader) != 0)
            return 0; /* aborts the transfer; header_err says why */
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->reader && x->resp.status >= 200 && x->resp.status < 300)
        return reader_take(x->reader, p, len);
    if (buf_append(&x->body, p, len, NULL) != 0) {
        /* Keep the start (an error's Message is near it) and stop: nothing
         * S3 sends us in a body is this large. */
        buf_append(&x->body, p, x->body.max - x->body.len, NULL);
        x->body_overflow = true;
        return 0;
    }
    return len;
}

static void xfer_init(struct xfer *x, struct store_s3 *s, CURL *easy)
{
    memset(x, 0, sizeof *x);
    x->s3 = s;
    x->easy = easy;
    buf_init(&x->body, BODY_MAX);
    http_response_reset(&x->resp);
}

static void xfer_stop(struct xfer *x)
{
    if (x->added) {
        curl_multi_remove_handle(x->s3->multi, x->easy);
        x->added = false;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
}

static bool add_header(struct curl_slist **list, const char *name, const char *value)
{
    char line[2048];
    int n = snprintf(line, sizeof line, "%s:%s%s", name, *value ? " " : "", value);
    if (n < 0 || (size_t)n >= sizeof line)
        return false;
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return false;
    *list = l;
    return true;
}

/* Signs the request now and adds it to the multi handle. */
static int xfer_start(struct xfer *x, const struct request *req, struct error *err)
{
    struct store_s3 *s = x->s3;
    x->interruptible = strcmp(req->operation, "PutObject") != 0 &&
                       strcmp(req->operation, "CompleteMultipartUpload") != 0 &&
                       strcmp(req->operation, "AbortMultipartUpload") != 0;
    char query[QUERY_MAX] = "";
    if (req->query_count > 0 &&
        sigv4_canonical_query(req->query, req->query_count, query, sizeof query) < 0)
        return error_set(err, ERR_INVALID_KEY, "%s query for s3://%s/%s is too long",
                         req->operation, req->bucket, req->key);
    struct s3_target t;
    if (s3_target_build(&s->cfg, req->bucket, req->key, query, &t, err) != 0)
        return -1;
    struct sigv4_param headers[sizeof req->headers / sizeof *req->headers + 1];
    size_t header_count = req->header_count;
    memcpy(headers, req->headers, header_count * sizeof *headers);
    if (s->cfg.expected_bucket_owner[0])
        headers[header_count++] =
            (struct sigv4_param){"x-amz-expected-bucket-owner", s->cfg.expected_bucket_owner};
    struct sigv4_request sr = {
        .method = req->method,
        .host = t.host,
        .encoded_path = t.path,
        .query = req->query,
        .query_count = req->query_count,
        .headers = headers,
        .header_count = header_count,
        .payload_hash = req->payload_hash,
    };
    struct sigv4_context ctx = {&s->creds, s->cfg.region, "s3", time(NULL)};
    struct sigv4_signature sig;
    if (sigv4_sign(&sr, &ctx, &sig, err) != 0) {
        error_prefix(err, "signing %s for s3://%s/%s: ", req->operation, req->bucket, req->key);
        return -1;
    }

    const char *signature = strstr(sig.authorization, "Signature=");
    snprintf(x->signature, sizeof x->signature, "%s", signature ? signature + 10 : "");

    struct curl_slist *h = NULL;
    bool ok = add_header(&h, "Host", t.host) && add_header(&h, "x-amz-date", sig.amz_date) &&
              add_header(&h, "x-amz-content-sha256", req->payload_hash) &&
              (!s->creds.session_token ||
               add_header(&h, "x-amz-security-token", s->creds.session_token)) &&
              (!s->trace_id[0] || add_header(&h, "X-Amzn-Trace-Id", s->trace_id)) &&
              add_header(&h, "Authorization", sig.authorization) && add_header(&h, "Expect", "") &&
              add_header(&h, "Content-Type", req->content_type ? req->content_type : "");
    for (size_t i = 0; ok && i < header_count; i++)
        ok = add_header(&h, headers[i].name, headers[i].value);
    if (!ok) {
        curl_slist_free_all(h);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory building %s headers for s3://%s/%s",
                         req->operation, req->bucket, req->key);
    }

    CURL *e = x->easy;
    curl_easy_reset(e);
    x->headers = h;
    x->done = x->checked = x->body_overflow = false;
    x->result = CURLE_OK;
    x->errbuf[0] = '\0';
    http_response_reset(&x->resp);
    buf_reset(&x->body);

    curl_easy_setopt(e, CURLOPT_URL, t.url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L); /* "a/../b" is a key, not a path to tidy */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)CURL_BUFFER);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "backend-checks-results");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, s->cfg.connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, s->cfg.low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, s->cfg.low_speed_time);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (s->cfg.ca_bundle[0])
        curl_easy_setopt(e, CURLOPT_CAINFO, s->cfg.ca_bundle);
    if (s->deadline_ms > 0) {
        int64_t left = s->deadline_ms - now_ms();
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    }
    if (strcmp(req->method, "GET") != 0) {
        if (strcmp(req->method, "HEAD") == 0) {
            curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (strcmp(req->method, "DELETE") == 0) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        } else {
            /* The body is in memory: libcurl rewinds it itself if it must resend. */
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            if (strcmp(req->method, "POST") != 0)
                curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
        }
    }
    CURLMcode mc = curl_multi_add_handle(s->multi, e);
    if (mc != CURLM_OK) {
        xfer_stop(x);
        return error_set(err, ERR_IO, "cannot start %s for s3://%s/%s: %s", req->operation,
                         req->bucket, req->key, curl_multi_strerror(mc));
    }
    x->added = true;
    return 0;
}

static void collect_done(struct store_s3 *s)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(s->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        struct xfer *x = (struct xfer *)(void *)priv;
        if (x) {
            x->done = true;
            x->result = m->data.result;
        }
    }
}

static int deadline_error(struct store_s3 *s, const struct request *req, int64_t offset,
                          const struct error *last, struct error *err)
{
    char where[64] = "";
    if (offset >= 0)
        snprintf(where, sizeof where, ", at byte offset %lld", (long long)offset);
    char last_copy[ERROR_MESSAGE_MAX] = "";
    if (last && error_is_set(last))
        snprintf(last_copy, sizeof last_copy, " (last error: %.900s)", last->message);
    (void)s;
    return error_set(err, ERR_TIMEOUT,
                     "The %s operation did not complete before the deadline. Bucket: %s, Key: "
                     "%s%s%s",
                     req->operation, req->bucket, req->key, where, last_copy);
}

/* Runs every transfer until x has ended or ready(x) holds. Returns -1 (err
 * unset: the caller words it) if the deadline passes first, or with err set if
 * libcurl fails or a signal stops an interruptible x (Interrupted). */
static int drive(struct store_s3 *s, struct xfer *x, bool (*ready)(const struct xfer *),
                 bool *timed_out, struct error *err)
{
    *timed_out = false;
    int64_t last = now_ms();
    for (;;) {
        int running;
        CURLMcode mc = curl_multi_perform(s->multi, &running);
        collect_done(s);
        if (mc != CURLM_OK)
            return error_set(err, ERR_IO, "libcurl: %s", curl_multi_strerror(mc));
        int64_t now = now_ms();
        if (x->reader) {
            x->reader->window_ms += now - last;
            x->reader->attempt_wait_ms += now - last;
        }
        last = now;
        if (x->done || (ready && ready(x)))
            return 0;
        if (x->reader && reader_too_slow(x->reader)) {
            /* Ends the exchange as libcurl's own speed check would. */
            x->done = true;
            x->result = CURLE_OPERATION_TIMEDOUT;
            return 0;
        }
        if (x->interruptible && interrupt_check(err) != 0)
            return -1;
        int timeout = 1000;
        if (s->deadline_ms > 0) {
            int64_t left = s->deadline_ms - now_ms();
            if (left <= 0) {
                *timed_out = true;
                return -1;
            }
            if (left < timeout)
                timeout = (int)left;
        }
        mc = curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
        if (mc != CURLM_OK)
            return error_set(err, ERR_IO, "libcurl: %s", curl_multi_strerror(mc));
    }
}

static bool deadline_passed(const struct store_s3 *s)
{
    return s->deadline_ms > 0 && now_ms() >= s->deadline_ms;
}

/* Hides the caller's secret key, session token and this request's signature
 * in text that came from the server, before it is printed: a server may
 * quote them back. */
static void redact(const struct xfer *x, char *text)
{
    const char *const secrets[] = {x->s3->creds.secret_access_key, x->s3->creds.session_token,
                                   x->signature};
    s3_redact(text, secrets, sizeof secrets / sizeof *secrets);
}

/* Why an ended exchange failed, or 0 if it succeeded. Sets err and *kind. */
static int xfer_outcome(struct xfer *x, const struct request *req, int64_t offset,
                        enum s3_retry_kind *kind, struct error *err)
{
    struct store_s3 *s = x->s3;
    long status = x->resp.headers_done ? x->resp.status : 0;
    *kind = S3_RETRY_NONE;
    if (status >= 200 && status < 300 && x->result == CURLE_OK) {
        char root[32];
        struct s3_error_doc doc;
        /* CompleteMultipartUpload reports some failures in a 200 response. */
        if (strcmp(req->operation, "CompleteMultipartUpload") != 0 ||
            !s3_xml_root((const char *)x->body.data, x->body.len, root, sizeof root) ||
            strcmp(root, "Error") != 0)
            return 0;
        if (!s3_error_parse((const char *)x->body.data, x->body.len, &doc))
            snprintf(doc.code, sizeof doc.code, "InternalError");
        redact(x, doc.code);
        redact(x, doc.message);
        *kind = s3_retry_for_response(status, doc.code);
        return s3_error_set(err, doc.code, req->operation, doc.message, req->bucket, req->key,
                            offset);
    }
    if (status >= 300 || (status != 0 && status < 200)) {
        struct s3_error_doc doc;
        if (!s3_error_parse((const char *)x->body.data, x->body.len, &doc)) {
            s3_error_code_for_status(status, req->operation, doc.code, sizeof doc.code);
            if (!doc.message[0] && status >= 300 && status < 400)
                snprintf(doc.message, sizeof doc.message,
                         "The endpoint answered with an HTTP %ld redirect%s%.400s, which is not "
                         "followed.",
                         status, x->resp.location[0] ? " to " : " (no Location)", x->resp.location);
            else if (!doc.message[0])
                snprintf(doc.message, sizeof doc.message, "%s", http_reason(status));
        }
        if (x->resp.bucket_region[0] && strcmp(x->resp.bucket_region, s->cfg.region) != 0) {
            size_t n = strlen(doc.message);
            snprintf(doc.message + n, sizeof doc.message - n, " (the bucket is in region %s)",
                     x->resp.bucket_region);
        }
        redact(x, doc.code);
        redact(x, doc.message);
        *kind = s3_retry_for_response(status, doc.code);
        return s3_error_set(err, doc.code, req->operation, doc.message, req->bucket, req->key,
                            offset);
    }
    if (x->result == CURLE_OPERATION_TIMEDOUT && deadline_passed(s))
        return deadline_error(s, req, offset, NULL, err);
    char where[64] = "";
    if (offset >= 0)
        snprintf(where, sizeof where, ", at byte offset %lld", (long long)offset);
    *kind = s3_retry_for_transport((int)x->result);
    return error_set(err, ERR_IO,
                     "Could not complete the %s operation: %s (curl error %d) Bucket: %s, Key: "
                     "%s%s",
                     req->operation, x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result),
                     (int)x->result, req->bucket, req->key, where);
}

static void log_request(const struct request *req, const struct xfer *x, int attempt,
                        int64_t start_ms, uint64_t bytes)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char status[16], att[16], nbytes[24], ms[24], request_id[HTTP_REQUEST_ID_MAX];
    memcpy(request_id, x->resp.request_id, sizeof request_id);
    redact(x, request_id);
    snprintf(status, sizeof status, "%ld", x->resp.status);
    snprintf(att, sizeof att, "%d", attempt);
    snprintf(nbytes, sizeof nbytes, "%llu", (unsigned long long)bytes);
    snprintf(ms, sizeof ms, "%lld", (long long)(now_ms() - start_ms));
    log_fields(LOG_DEBUG, "s3 request", "operation", req->operation, "method", req->method,
               "bucket", req->bucket, "key", req->key, "status", status, "attempt", att, "bytes",
               nbytes, "ms", ms, "request_id", request_id, "curl",
               x->result == CURLE_OK ? "" : curl_easy_strerror(x->result), LOG_END);
}

/* Sleeps before retry number `retry`, unless that would pass the deadline
 * (then err becomes a Timeout that quotes the last error). */
static int backoff(struct store_s3 *s, const struct request *req, int retry,
                   enum s3_retry_kind kind, int64_t offset, struct error *err)
{
    int64_t delay = s3_backoff_ms(retry, kind, random_unit(s));
    if (s->deadline_ms > 0 && now_ms() + delay >= s->deadline_ms) {
        struct error last = *err;
        return deadline_error(s, req, offset, &last, err);
    }
    char att[16], ms[24];
    snprintf(att, sizeof att, "%d", retry);
    snprintf(ms, sizeof ms, "%lld", (long long)delay);
    log_fields(LOG_WARN, "s3 request failed, retrying", "operation", req->operation, "bucket",
               req->bucket, "key", req->key, "retry", att, "delay_ms", ms, "errorType", err->type,
               "errorMessage", err->message, LOG_END);
    struct timespec ts = {(time_t)(delay / 1000), (long)(delay % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !interrupt_signal())
        ;
    return 0;
}

/* Sends a one-shot request with retries; on success x holds the response. */
static int perform(struct store_s3 *s, struct xfer *x, const struct request *req, struct error *err)
{
    for (int attempt = 1;; attempt++) {
        if (deadline_passed(s))
            return deadline_error(s, req, -1, attempt > 1 ? err : NULL, err);
        int64_t start = now_ms();
        if (xfer_start(x, req, err) != 0)
            return -1;
        bool timed_out;
        int rc = drive(s, x, NULL, &timed_out, err);
        xfer_stop(x);
        log_request(req, x, attempt, start, req->body_len);
        if (timed_out)
            return deadline_error(s, req, -1, NULL, err);
        if (rc != 0)
            return -1;
        enum s3_retry_kind kind;
        if (xfer_outcome(x, req, -1, &kind, err) == 0)
            return 0;
        if (kind == S3_RETRY_NONE || attempt >= s->cfg.max_attempts)
            return -1;
        if (backoff(s, req, attempt, kind, -1, err) != 0)
            return -1;
    }
}

/* ---- reading ------------------------------------------------------------ */

/* Write callback for a 2xx GET body: the caller's buffer first, then the
 * spill; if neither has room for the whole chunk, pause (libcurl keeps the
 * chunk and hands it over again on unpause). */
static size_t reader_take(struct store_reader *r, const char *p, size_t len)
{
    size_t room = r->target ? r->target_cap - r->target_len : 0;
    if (r->spill_pos > 0 && len > room + (SPILL_CAP - r->spill_len)) {
        memmove(r->spill, r->spill + r->spill_pos, r->spill_len - r->spill_pos);
        r->spill_len -= r->spill_pos;
        r->spill_pos = 0;
    }
    if (len > room + (SPILL_CAP - r->spill_len)) {
        r->paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    size_t direct = len < room ? len : room;
    if (direct) {
        memcpy(r->target + r->target_len, p, direct);
        r->target_len += direct;
    }
    memcpy(r->spill + r->spill_len, p + direct, len - direct);
    r->spill_len += len - direct;
    r->offset += len;
    r->window_bytes += len;
    return len;
}

/* At the end of each window (window_ms counts time spent waiting for the
 * server), true (too_slow set) if fewer than low_speed_limit bytes a second
 * came in it. A server may thus hold an attempt for at most low_speed_time
 * seconds per low_speed_limit * low_speed_time bytes it sends. */
static bool reader_too_slow(struct store_reader *r)
{
    const struct s3_config *c = &r->s3->cfg;
    if (r->window_ms < (int64_t)c->low_speed_time * 1000)
        return false;
    if (r->window_bytes < (uint64_t)c->low_speed_limit * (uint64_t)c->low_speed_time) {
        r->too_slow = true;
        return true;
    }
    r->window_ms = 0;
    r->window_bytes = 0;
    return false;
}

static int reader_header_error(struct store_reader *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reader_header_error(struct store_reader *r, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(&r->header_err, type, fmt, ap);
    va_end(ap);
    r->header_bad = true;
    return -1;
}

/* Checks a 2xx GET response before any of its body is taken: size against the
 * manifest, and that a resumed response continues the same object where the
 * last one stopped. */
static int reader_check_headers(struct store_reader *r)
{
    const struct http_response *h = &r->x.resp;
    const char *b = r->bucket, *k = r->key;
    unsigned long long at = (unsigned long long)r->offset;
    if (h->etag_too_long)
        return reader_header_error(r, ERR_IO, "GetObject s3://%s/%s: ETag longer than %d bytes", b,
                                   k, HTTP_ETAG_MAX - 1);
    if (h->status == 200) {
        if (r->offset > 0)
            return reader_header_error(
                r, ERR_IO,
                "GetObject s3://%s/%s: the server ignored Range: bytes=%llu- and sent the whole "
                "object; not restarting from zero",
                b, k, at);
        if (r->total >= 0 && h->content_length != r->total)
            return reader_header_error(r, ERR_IO,
                                       "GetObject s3://%s/%s: Content-Length changed from %lld "
                                       "to %lld between attempts",
                                       b, k, (long long)r->total, (long long)h->content_length);
        r->total = h->content_length;
        if (!r->etag[0])
            memcpy(r->etag, h->etag, sizeof r->etag);
    } else if (h->status == 206 && r->offset > 0) {
        if (!h->has_content_range || h->range_first != (int64_t)r->offset ||
            h->range_last != h->range_total - 1 || (r->total >= 0 && h->range_total != r->total))
            return reader_header_error(
                r, ERR_IO,
                "GetObject s3://%s/%s: resuming at byte offset %llu of %lld got a response "
                "with a Content-Range for other bytes (%lld-%lld/%lld)",
                b, k, at, (long long)r->total, (long long)h->range_first, (long long)h->range_last,
                (long long)h->range_total);
        if (r->etag[0] && h->etag[0] && strcmp(r->etag, h->etag) != 0) {
            char was[HTTP_ETAG_MAX], now[HTTP_ETAG_MAX];
            memcpy(was, r->etag, sizeof was);
            memcpy(now, h->etag, sizeof now);
            redact(&r->x, was);
            redact(&r->x, now);
            return reader_header_error(r, "PreconditionFailed",
                                       "GetObject s3://%s/%s changed while being read: ETag %s "
                                       "became %s at byte offset %llu",
                                       b, k, was, now, at);
        }
        r->total = h->range_total;
    } else {
        return reader_header_error(r, ERR_IO,
                                   "GetObject s3://%s/%s: unexpected HTTP status %ld at byte "
                                   "offset %llu",
                                   b, k, h->status, at);
    }
    return 0;
}

static void reader_request(const struct store_reader *r, struct request *req, char *range,
                           size_t range_cap)
{
    memset(req, 0, sizeof *req);
    req->operation = "GetObject";
    req->method = "GET";
    req->bucket = r->bucket;
    req->key = r->key;
    memcpy(req->payload_hash, SIGV4_EMPTY_SHA256, sizeof req->payload_hash);
    if (r->etag[0])
        req->headers[req->header_count++] = (struct sigv4_param){"if-match", r->etag};
    if (r->offset > 0) {
        snprintf(range, range_cap, "bytes=%llu-", (unsigned long long)r->offset);
        req->headers[req->header_count++] = (struct sigv4_param){"range", range};
    }
}

static int reader_start(struct store_reader *r, struct error *err)
{
    struct request req;
    char range[48];
    reader_request(r, &req, range, sizeof range);
    if (deadline_passed(r->s3))
        return deadline_error(r->s3, &req, (int64_t)r->offset, NULL, err);
    r->header_bad = false;
    r->paused = false;
    r->too_slow = false;
    r->window_ms = r->attempt_wait_ms = 0;
    r->window_bytes = 0;
    if (xfer_start(&r->x, &req, err) != 0)
        return -1;
    r->active = true;
    r->attempts++;
    r->attempt_offset = r->offset;
    r->attempt_start_ms = now_ms();
    return 0;
}

/* The current GET has ended (or was cut short by the deadline). Returns 1 at
 * the end of the object, 0 if another attempt should follow (after backoff),
 * -1 with err set if reading has failed for good. */
static int reader_finish(struct store_reader *r, bool timed_out, struct error *err)
{
    struct xfer *x = &r->x;
    struct request req;
    char range[48];
    /* The request as it was sent, for messages: offset is where it started. */
    uint64_t reached = r->offset;
    r->offset = r->attempt_offset;
    reader_request(r, &req, range, sizeof range);
    r->offset = reached;

    xfer_stop(x);
    r->active = false;
    r->paused = false;
    log_request(&req, x, r->attempts, r->attempt_start_ms, r->offset - r->attempt_offset);
    if (timed_out)
        return deadline_error(r->s3, &req, (int64_t)r->offset, NULL, err);
    if (r->header_bad) {
        *err = r->header_err;
        return -1;
    }
    long status = x->resp.headers_done ? x->resp.status : 0;
    enum s3_retry_kind kind;
    bool complete = r->total >= 0 && r->offset == (uint64_t)r->total;
    const struct s3_config *c = &r->s3->cfg;
    if (r->too_slow) {
        kind = S3_RETRY_TRANSIENT;
        error_set(err, ERR_IO,
                  "Could not complete the GetObject operation: the server sent less than %ld "
                  "bytes/s for %ld s (BCR_S3_LOW_SPEED_LIMIT, BCR_S3_LOW_SPEED_TIME) Bucket: %s, "
                  "Key: %s, at byte offset %llu",
                  c->low_speed_limit, c->low_speed_time, r->bucket, r->key,
                  (unsigned long long)r->offset);
    } else if (status >= 200 && status < 300 && (x->result == CURLE_OK || complete)) {
        if (r->total >= 0 && !complete) {
            kind = S3_RETRY_TRANSIENT;
            error_set(err, ERR_IO,
                      "GetObject s3://%s/%s: the response ended at byte offset %llu of %lld",
                      r->bucket, r->key, (unsigned long long)r->offset, (long long)r->total);
        } else {
            return 1;
        }
    } else if (status == 412) {
        return s3_error_set(err, "PreconditionFailed", "GetObject",
                            "The object changed while it was being read (its ETag is no longer "
                            "the one first read).",
                            r->bucket, r->key, (int64_t)r->offset);
    } else {
        xfer_outcome(x, &req, (int64_t)r->offset, &kind, err);
    }
    /* Progress lets a long object be resumed many times; a trickle is not
     * progress (at least the minimum rate, over a second at least), or a
     * server cutting every response after a byte or dripping it would hold
     * the run for as long as the object is large. */
    int64_t waited = r->attempt_wait_ms > 1000 ? r->attempt_wait_ms : 1000;
    if (!r->too_slow &&
        (r->offset - r->attempt_offset) * 1000 >= (uint64_t)c->low_speed_limit * (uint64_t)waited)
        r->failures = 0;
    r->failures++;
    if (kind == S3_RETRY_NONE || r->failures >= r->s3->cfg.max_attempts)
        return -1;
    return backoff(r->s3, &req, r->failures, kind, (int64_t)r->offset, err);
}

static bool reader_has_data(const struct xfer *x)
{
    return x->reader->target_len > 0;
}

static bool reader_has_headers(const struct xfer *x)
{
    return x->resp.headers_done && x->resp.status >= 200 && x->resp.status < 300;
}

/* Stops libcurl reading while the caller is away, so a slow consumer is not
 * mistaken for a stalled server (paused transfers skip the speed check). */
static void reader_pause(struct store_reader *r)
{
    if (r->active && !r->x.done && !r->paused &&
        curl_easy_pause(r->x.easy, CURLPAUSE_RECV) == CURLE_OK)
        r->paused = true;
}

static ssize_t reader_fail(struct store_reader *r, struct error *err)
{
    if (r->active) {
        xfer_stop(&r->x);
        r->active = false;
    }
    r->failed = true;
    r->failure = *err;
    return -1;
}

static void s3_close_read(struct store_reader *r);

static int s3_open_read(struct store *base, const char *bucket, const char *key,
                        struct store_reader **out, struct error *err)
{
    struct store_s3 *s = (struct store_s3 *)base;
    struct store_reader *r = calloc(1, sizeof *r);
    CURL *easy = r ? curl_easy_init() : NULL;
    if (r) {
        r->bucket = strdup(bucket);
        r->key = strdup(key);
    }
    if (!easy || !r->bucket || !r->key) {
        if (r) {
            free(r->bucket);
            free(r->key);
        }
        if (easy)
            curl_easy_cleanup(easy);
        free(r);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s", bucket, key);
    }
    r->s3 = s;
    xfer_init(&r->x, s, easy);
    r->x.reader = r;
    r->total = -1;
    /* Wait for the first response's headers, so a missing object fails here. */
    for (;;) {
        if (reader_start(r, err) != 0)
            break;
        bool timed_out;
        if (drive(s, &r->x, reader_has_headers, &timed_out, err) != 0 && !timed_out)
            break;
        if (!timed_out && !r->x.done) {
            reader_pause(r);
            *out = r;
            return 0;
        }
        int rc = reader_finish(r, timed_out, err);
        if (rc == 1) {
            r->eof = true;
            *out = r;
            return 0;
        }
        if (rc < 0)
            break;
        if (r->offset > 0) {
            /* Headers and some body came before the failure: read() resumes. */
            *out = r;
            return 0;
        }
    }
    s3_close_read(r);
    return -1;
}

static ssize_t s3_read(struct store_reader *r, void *buf, size_t cap, struct error *err)
{
    if (r->failed) {
        *err = r->failure;
        return -1;
    }
    if (cap == 0)
        return 0;
    if (r->spill_len > r->spill_pos) {
        size_t n = r->spill_len - r->spill_pos;
        n = n < cap ? n : cap;
        memcpy(buf, r->spill + r->spill_pos, n);
        r->spill_pos += n;
        if (r->spill_pos == r->spill_len)
            r->spill_pos = r->spill_len = 0;
        return (ssize_t)n;
    }
    while (!r->eof) {
        if (!r->active && reader_start(r, err) != 0)
            return reader_fail(r, err);
        r->target = buf;
        r->target_cap = cap;
        r->target_len = 0;
        if (r->paused) {
            r->paused = false;
            /* May hand over the held chunk at once, into target. */
            CURLcode rc = curl_easy_pause(r->x.easy, CURLPAUSE_CONT);
            if (rc != CURLE_OK) {
                r->target = NULL;
                error_set(err, ERR_IO, "GetObject s3://%s/%s: cannot resume reading: %s", r->bucket,
                          r->key, curl_easy_strerror(rc));
                return reader_fail(r, err);
            }
        }
        bool timed_out = false;
        int rc = 0;
        if (r->target_len == 0)
            rc = drive(r->s3, &r->x, reader_has_data, &timed_out, err);
        r->target = NULL;
        if (r->target_len > 0) {
            reader_pause(r);
            return (ssize_t)r->target_len;
        }
        if (rc != 0 && !timed_out)
            return reader_fail(r, err);
        int end = reader_finish(r, timed_out, err);
        if (end < 0)
            return reader_fail(r, err);
        if (end == 1)
            r->eof = true;
    }
    return 0;
}

static void s3_close_read(struct store_reader *r)
{
    if (!r)
        return;
    xfer_stop(&r->x);
    curl_easy_cleanup(r->x.easy);
    buf_free(&r->x.body);
    free(r->bucket);
    free(r->key);
    free(r);
}

/* ---- writing ------------------------------------------------------------ */

static void writer_request(const struct store_writer *w, struct request *req, const char *operation,
                           const char *method)
{
    memset(req, 0, sizeof *req);
    req->operation = operation;
    req->method = method;
    req->bucket = w->bucket;
    req->key = w->key;
    memcpy(req->payload_hash, SIGV4_EMPTY_SHA256, sizeof req->payload_hash);
}

/* Sets the body and signs its SHA-256. S3 recomputes that hash and refuses a
 * body that does not match (XAmzContentSHA256Mismatch), over HTTP and HTTPS
 * alike, so it is the end-to-end integrity check, and the only hash of each
 * output byte: a Content-MD5 as well would double the CPU per byte, and MD5
 * is the slower of the two wherever SHA-256 has instructions of its own
 * (x86-64 SHA-NI, arm64's SHA2 extension). */
static void request_body(struct request *req, const void *data, size_t len)
{
    req->body = data;
    req->body_len = len;
    sha256_hex(data ? data : "", len, req->payload_hash);
}

/* ---- the upload connection ---------------------------------------------- */

/* A second store_s3 for a writer's thread: the same configuration and
 * credentials (borrowed, never cleared through it), its own libcurl handles,
 * deadline and jitter. The store keeps one for the next writer. */
static struct store_s3 *upload_conn_take(struct store_s3 *s, struct error *err)
{
    struct store_s3 *u = s->uploader;
    if (u) {
        s->uploader = NULL;
        memcpy(u->trace_id, s->trace_id, sizeof u->trace_id);
        return u;
    }
    u = calloc(1, sizeof *u);
    if (u) {
        u->multi = curl_multi_init();
        u->easy = curl_easy_init();
    }
    if (!u || !u->multi || !u->easy) {
        if (u && u->easy)
            curl_easy_cleanup(u->easy);
        if (u && u->multi)
            curl_multi_cleanup(u->multi);
        free(u);
        error_set(err, ERR_OUT_OF_MEMORY, "cannot create libcurl handles for an upload");
        return NULL;
    }
    u->base.ops = s->base.ops;
    u->cfg = s->cfg;
    u->creds = s->creds;
    memcpy(u->trace_id, s->trace_id, sizeof u->trace_id);
    u->rng = (uint64_t)(random_unit(s) * 9007199254740992.0) | 1;
    return u;
}

static void upload_conn_free(struct store_s3 *u)
{
    if (!u)
        return;
    curl_easy_cleanup(u->easy);
    curl_multi_cleanup(u->multi);
    free(u);
}

static void upload_conn_give_back(struct store_s3 *s, struct store_s3 *u)
{
    if (!u)
        return;
    if (!s->uploader) {
        s->uploader = u;
        return;
    }
    upload_conn_free(u);
}

static int put_object(struct store_writer *w, struct error *err)
{
    struct request req;
    writer_request(w, &req, "PutObject", "PUT");
    request_body(&req, w->part.data, w->part.len);
    struct xfer x;
    xfer_init(&x, w->s3, w->s3->easy);
    int rc = perform(w->s3, &x, &req, err);
    buf_free(&x.body);
    return rc;
}

static int create_upload(struct store_writer *w, struct error *err)
{
    struct request req;
    writer_request(w, &req, "CreateMultipartUpload", "POST");
    req.query[req.query_count++] = (struct sigv4_param){"uploads", ""};
    struct xfer x;
    xfer_init(&x, w->up, w->up->easy);
    int rc = perform(w->up, &x, &req, err);
    if (rc == 0 && !s3_xml_find_text((const char *)x.body.data, x.body.len, "UploadId",
                                     w->upload_id, sizeof w->upload_id)) {
        rc = error_set(err, ERR_IO,
                       "CreateMultipartUpload for s3://%s/%s: the response has no UploadId",
                       w->bucket, w->key);
    } else if (rc == 0 && !w->upload_id[0]) {
        rc = error_set(err, ERR_IO, "CreateMultipartUpload for s3://%s/%s: empty UploadId",
                       w->bucket, w->key);
    }
    buf_free(&x.body);
    if (rc == 0)
        w->multipart = true;
    return rc;
}

static bool xml_escape_append(struct buf *b, const char *s)
{
    for (; *s; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (buf_append(b, rep ? rep : s, rep ? strlen(rep) : 1, NULL) != 0)
            return false;
    }
    return true;
}

/* Uploads `data` as the next part (on the writer's thread), and empties it. */
static int upload_part(struct store_writer *w, struct buf *data, struct error *err)
{
    if (w->parts >= S3_MAX_PARTS)
        return error_set(err, ERR_IO,
                         "UploadPart for s3://%s/%s: the output needs more than %d parts of %zu "
                         "bytes",
                         w->bucket, w->key, S3_MAX_PARTS, w->s3->cfg.part_size);
    int number = w->parts + 1;
    char number_text[16];
    snprintf(number_text, sizeof number_text, "%d", number);
    struct request req;
    writer_request(w, &req, "UploadPart", "PUT");
    req.query[req.query_count++] = (struct sigv4_param){"partNumber", number_text};
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    request_body(&req, data->data, data->len);
    struct xfer x;
    xfer_init(&x, w->up, w->up->easy);
    int rc = perform(w->up, &x, &req, err);
    buf_free(&x.body);
    if (rc != 0)
        return -1;
    if (!x.resp.etag[0] || x.resp.etag_too_long)
        return error_set(err, ERR_IO,
                         "UploadPart %d for s3://%s/%s: the response has no usable ETag", number,
                         w->bucket, w->key);
    bool ok = buf_append(&w->xml, "<Part><ETag>", 12, NULL) == 0 &&
              xml_escape_append(&w->xml, x.resp.etag) &&
              buf_append(&w->xml, "</ETag><PartNumber>", 19, NULL) == 0 &&
              buf_append(&w->xml, number_text, strlen(number_text), NULL) == 0 &&
              buf_append(&w->xml, "</PartNumber></Part>", 20, NULL) == 0;
    if (!ok)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory recording part %d of s3://%s/%s",
                         number, w->bucket, w->key);
    w->parts = number;
    buf_reset(data);
    return 0;
}

/* A CompleteMultipartUpload retried after its response was lost finds the
 * upload gone (NoSuchUpload). The key holds a fresh random UUID, so an object
 * there can only be this upload's: it is believed if it has the multipart
 * ETag form for our part count ("...-N") and our length. A server that gives
 * completed uploads a plain MD5 ETag (s3rver) is not believed: the error
 * stands. */
static bool completed_anyway(struct store_writer *w)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "-%d", w->parts);
    struct request req;
    writer_request(w, &req, "HeadObject", "HEAD");
    struct xfer x;
    struct error err;
    error_clear(&err);
    xfer_init(&x, w->up, w->up->easy);
    bool ok = perform(w->up, &x, &req, &err) == 0;
    buf_free(&x.body);
    char etag[HTTP_ETAG_MAX];
    const char *src = x.resp.etag + (x.resp.etag[0] == '"');
    size_t len = strnlen(src, sizeof etag - 1);
    memcpy(etag, src, len);
    etag[len] = '\0';
    if (len > 0 && etag[len - 1] == '"')
        etag[--len] = '\0';
    size_t suffix_len = strlen(suffix);
    ok = ok && len > suffix_len && strcmp(etag + len - suffix_len, suffix) == 0 &&
         x.resp.content_length >= 0 && (uint64_t)x.resp.content_length == w->written;
    redact(&x, etag); /* for the log below */
    char length[24], expected[24];
    snprintf(length, sizeof length, "%lld", (long long)x.resp.content_length);
    snprintf(expected, sizeof expected, "%llu", (unsigned long long)w->written);
    log_fields(LOG_WARN,
               ok ? "CompleteMultipartUpload was retried after it had succeeded; the object "
                    "has our part count and length"
                  : "CompleteMultipartUpload found no upload, and the object is not ours",
               "bucket", w->bucket, "key", w->key, "etag", etag, "parts", suffix + 1, "length",
               length, "expected_length", expected, LOG_END);
    return ok;
}

static int complete_upload(struct store_writer *w, struct error *err)
{
    static const char head[] =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    static const char tail[] = "</CompleteMultipartUpload>";
    struct buf body;
    buf_init(&body, w->xml.len + sizeof head + sizeof tail);
    if (buf_append(&body, head, sizeof head - 1, NULL) != 0 ||
        buf_append(&body, w->xml.data, w->xml.len, NULL) != 0 ||
        buf_append(&body, tail, sizeof tail - 1, NULL) != 0) {
        buf_free(&body);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory completing s3://%s/%s", w->bucket,
                         w->key);
    }
    struct request req;
    writer_request(w, &req, "CompleteMultipartUpload", "POST");
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    req.body = body.data;
    req.body_len = body.len;
    req.content_type = "application/xml";
    sha256_hex(body.data, body.len, req.payload_hash);
    struct xfer x;
    xfer_init(&x, w->up, w->up->easy);
    int rc = perform(w->up, &x, &req, err);
    buf_free(&x.body);
    buf_free(&body);
    if (rc != 0 && strcmp(err->type, "NoSuchUpload") == 0 && completed_anyway(w))
        return 0;
    return rc;
}

/* Best effort: a failure is logged, since the caller is already failing. */
static void abort_upload(struct store_writer *w)
{
    if (!w->multipart)
        return;
    struct request req;
    writer_request(w, &req, "AbortMultipartUpload", "DELETE");
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    struct xfer x;
    struct error err;
    error_clear(&err);
    xfer_init(&x, w->up, w->up->easy);
    /* Cleaning up, often after the deadline itself cut a request short: the
     * abort gets a short grace past it so that no upload is left behind. */
    enum { ABORT_GRACE_MS = 500 }; /* within the second the Lambda loop keeps back */
    int64_t deadline = w->s3->deadline_ms;
    if (deadline > 0)
        w->up->deadline_ms = (now_ms() > deadline ? now_ms() : deadline) + ABORT_GRACE_MS;
    else
        w->up->deadline_ms = 0;
    int rc = perform(w->up, &x, &req, &err);
    w->up->deadline_ms = deadline;
    if (rc != 0 && strcmp(err.type, "NoSuchUpload") != 0)
        log_fields(LOG_ERROR,
                   "s3 multipart upload not aborted; its parts remain until a "
                   "lifecycle rule removes them",
                   "bucket", w->bucket, "key", w->key, "upload_id", w->upload_id, "errorType",
                   err.type, "errorMessage", err.message, LOG_END);
    buf_free(&x.body);
    w->multipart = false;
}

/* ---- the upload thread -------------------------------------------------- */

/* Uploads each part handed over (creating the upload before the first), until
 * told to stop; after a failure it takes no more parts. */
static void *upload_thread(void *arg)
{
    struct store_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->job_pending && !w->stop)
            pthread_cond_wait(&w->cond, &w->lock);
        if (!w->job_pending)
            break;
        w->up->deadline_ms = w->job_deadline_ms;
        pthread_mutex_unlock(&w->lock);
        struct error err;
        error_clear(&err);
        int rc =
            (!w->multipart && create_upload(w, &err) != 0) || upload_part(w, &w->job, &err) != 0
                ? -1
                : 0;
        pthread_mutex_lock(&w->lock);
        if (rc != 0) {
            w->job_err = err;
            w->job_failed = true;
        }
        w->job_pending = false;
        pthread_cond_broadcast(&w->cond);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Hands the full part over to the thread (starting it for the first), once
 * the previous part is uploaded. Fails with the thread's error if an upload
 * has failed. */
static int hand_off(struct store_writer *w, struct error *err)
{
    if (!w->thread_started) {
        if (!w->up && !(w->up = upload_conn_take(w->s3, err)))
            return -1;
        if (pthread_create(&w->thread, NULL, upload_thread, w) != 0)
            return error_set(err, ERR_OUT_OF_MEMORY,
                             "cannot start the upload thread for s3://%s/%s", w->bucket, w->key);
        w->thread_started = true;
    }
    pthread_mutex_lock(&w->lock);
    while (w->job_pending)
        pthread_cond_wait(&w->cond, &w->lock);
    if (w->job_failed) {
        *err = w->job_err;
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    struct buf t = w->job;
    w->job = w->part;
    w->part = t;
    buf_reset(&w->part);
    w->job_deadline_ms = w->s3->deadline_ms;
    w->job_pending = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

/* True (with the thread's error in err) if an upload has failed. */
static bool upload_failed(struct store_writer *w, struct error *err)
{
    if (!w->thread_started)
        return false;
    pthread_mutex_lock(&w->lock);
    bool failed = w->job_failed;
    if (failed)
        *err = w->job_err;
    pthread_mutex_unlock(&w->lock);
    return failed;
}

/* Lets the thread finish its part and end. Returns -1 with the thread's error
 * (if err is not NULL) if an upload failed. */
static int upload_finish(struct store_writer *w, struct error *err)
{
    if (!w->thread_started)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->thread_started = false;
    if (!w->job_failed)
        return 0;
    if (err)
        *err = w->job_err;
    return -1;
}

static void writer_free(struct store_writer *w)
{
    buf_free(&w->part);
    buf_free(&w->job);
    buf_free(&w->xml);
    upload_conn_give_back(w->s3, w->up);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->bucket);
    free(w->key);
    free(w);
}

static int s3_open_write(struct store *base, const char *bucket, const char *key,
                         struct store_writer **out, struct error *err)
{
    struct store_s3 *s = (struct store_s3 *)base;
    struct s3_target t;
    if (s3_target_build(&s->cfg, bucket, key, NULL, &t, err) != 0)
        return -1;
    struct store_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->bucket = strdup(bucket);
        w->key = strdup(key);
    }
    if (!w || !w->bucket || !w->key) {
        if (w) {
            free(w->bucket);
            free(w->key);
        }
        free(w);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s for writing",
                         bucket, key);
    }
    w->s3 = s;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
    buf_init(&w->part, s->cfg.part_size);
    buf_init(&w->job, s->cfg.part_size);
    buf_init(&w->xml, PART_XML_MAX);
    *out = w;
    return 0;
}

static int s3_write(struct store_writer *w, const void *p, size_t n, struct error *err)
{
    if (w->failed)
        return error_set(err, ERR_IO, "writing s3://%s/%s after an earlier failure", w->bucket,
                         w->key);
    const uint8_t *bytes = p;
    while (n > 0) {
        size_t room = w->s3->cfg.part_size - w->part.len;
        size_t take = n < room ? n : room;
        if (buf_append(&w->part, bytes, take, err) != 0) {
            w->failed = true;
            if (!error_is_set(err))
                error_set(err, ERR_OUT_OF_MEMORY, "buffering s3://%s/%s", w->bucket, w->key);
            return -1;
        }
        bytes += take;
        n -= take;
        w->written += take;
        if (w->part.len == w->s3->cfg.part_size && hand_off(w, err) != 0) {
            w->failed = true;
            return -1;
        }
    }
    return 0;
}

static void s3_abort(struct store_writer *w)
{
    upload_finish(w, NULL);
    if (w->up) {
        w->up->deadline_ms = w->s3->deadline_ms;
        abort_upload(w);
    }
    writer_free(w);
}

static int s3_commit(struct store_writer *w, struct error *err)
{
    int rc;
    if (w->failed) {
        rc = error_set(err, ERR_IO, "committing s3://%s/%s after an earlier failure", w->bucket,
                       w->key);
    } else if (!w->thread_started) {
        rc = put_object(w, err); /* never a full part: one PutObject */
    } else if (upload_failed(w, err)) {
        rc = -1;
    } else {
        rc = w->part.len > 0 ? hand_off(w, err) : 0;
        struct error thread_err;
        error_clear(&thread_err);
        if (upload_finish(w, &thread_err) != 0 && rc == 0) {
            *err = thread_err;
            rc = -1;
        }
        if (rc == 0) {
            w->up->deadline_ms = w->s3->deadline_ms;
            rc = complete_upload(w, err);
        }
    }
    if (rc != 0) {
        s3_abort(w);
        return -1;
    }
    log_fields(LOG_DEBUG, "s3 object written", "bucket", w->bucket, "key", w->key, "multipart",
               w->multipart ? "true" : "false", LOG_END);
    writer_free(w);
    return 0;
}

/* ---- the store ---------------------------------------------------------- */

static void s3_destroy(struct store *base)
{
    struct store_s3 *s = (struct store_s3 *)base;
    upload_conn_free(s->uploader);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    credentials_clear(&s->creds);
    free(s);
}

static void s3_set_invocation(struct store *store, const struct store_invocation *inv)
{
    struct store_s3 *s = (struct store_s3 *)store;
    s->deadline_ms = inv->deadline_ms;
    /* One that does not fit is left out rather than sent cut. */
    const char *t = inv->trace_id ? inv->trace_id : "";
    snprintf(s->trace_id, sizeof s->trace_id, "%s", strlen(t) < sizeof s->trace_id ? t : "");
}

static const struct store_ops s3_ops = {
    s3_open_read, s3_read,  s3_close_read, s3_open_write,     s3_write,
    s3_commit,    s3_abort, s3_destroy,    s3_set_invocation,
};

struct store *store_s3_new(const struct s3_options *options, struct error *err)
{
    if (http_global_init(err) != 0)
        return NULL;
    struct store_s3 *s = calloc(1, sizeof *s);
    if (!s) {
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory creating the S3 store");
        return NULL;
    }
    s->base.ops = &s3_ops;
    if (s3_config_resolve(&s->cfg, options ? options->region : NULL,
                          options ? options->endpoint_url : NULL, err) != 0) {
        free(s);
        return NULL;
    }
    if (credentials_load(&s->creds, err) != 0) {
        free(s);
        return NULL;
    }
    s->multi = curl_multi_init();
    s->easy = curl_easy_init();
    if (!s->multi || !s->easy) {
        s3_destroy(&s->base);
        error_set(err, ERR_OUT_OF_MEMORY, "cannot create libcurl handles");
        return NULL;
    }
    if (RAND_bytes((unsigned char *)&s->rng, sizeof s->rng) != 1 || s->rng == 0)
        s->rng = (uint64_t)now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;

    char attempts[16], part[24];
    snprintf(attempts, sizeof attempts, "%d", s->cfg.max_attempts);
    snprintf(part, sizeof part, "%zu", s->cfg.part_size);
    log_fields(LOG_DEBUG, "s3 store", "region", s->cfg.region, "endpoint",
               s->cfg.custom_endpoint ? s->cfg.authority : "aws", "ca_bundle",
               s->cfg.ca_bundle[0] ? s->cfg.ca_bundle : "(libcurl default)", "max_attempts",
               attempts, "part_size", part, LOG_END);
    return &s->base;
}
