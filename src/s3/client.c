#define _POSIX_C_SOURCE 200809L
#include "s3/client_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "interrupt.h"
#include "log.h"
#include "s3/error_doc.h"
#include "util.h"

enum {
    CURL_BUFFER = 64 * 1024, /* libcurl's receive buffer (a write callback chunk is smaller) */
    BODY_MAX = 64 * 1024,    /* error documents and small results; more is not S3 */
    QUERY_MAX = 4096,        /* an encoded upload id and a part number */
};

/* ---- the connection ----------------------------------------------------- */

_Static_assert(S3_STREAM_PAUSE == CURL_WRITEFUNC_PAUSE, "a stream's pause is libcurl's");

/* A client with its handles (configuration and the rest unset), or NULL. */
static struct s3_client *client_alloc(void)
{
    struct s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->multi = curl_multi_init();
    c->easy = curl_easy_init();
    if (c->multi && c->easy)
        return c;
    s3_client_free(c);
    return NULL;
}

struct s3_client *s3_client_new(const struct s3_config *cfg, const struct aws_credentials *creds,
                                struct error *err)
{
    struct s3_client *c = client_alloc();
    if (!c) {
        error_set(err, ERR_OUT_OF_MEMORY, "cannot create libcurl handles");
        return NULL;
    }
    c->cfg = cfg;
    c->creds = creds;
    /* The retry jitter's seed: from the kernel, not OpenSSL's DRBG, whose first
     * use sets up OpenSSL's providers (about 1.5 ms of a Lambda init phase)
     * before anything needs them; the first request's signature does that. */
    if (getrandom(&c->rng, sizeof c->rng, GRND_NONBLOCK) != (ssize_t)sizeof c->rng || c->rng == 0)
        c->rng = (uint64_t)util_wall_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
    return c;
}

static double random_unit(struct s3_client *c)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (double)((c->rng * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}

struct s3_client *s3_client_new_sibling(struct s3_client *first, struct error *err)
{
    struct s3_client *c = client_alloc();
    if (!c) {
        error_set(err, ERR_OUT_OF_MEMORY, "cannot create libcurl handles for an upload");
        return NULL;
    }
    c->cfg = first->cfg;
    c->creds = first->creds;
    c->deadline_ms = first->deadline_ms;
    memcpy(c->trace_id, first->trace_id, sizeof c->trace_id);
    c->rng = (uint64_t)(random_unit(first) * 9007199254740992.0) | 1;
    return c;
}

void s3_client_free(struct s3_client *c)
{
    if (!c)
        return;
    if (c->easy)
        curl_easy_cleanup(c->easy);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    free(c);
}

/* True if text holds no control byte (CR, LF, NUL's kin, DEL). */
static bool printable(const char *text)
{
    for (; *text; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            return false;
    return true;
}

void s3_client_set_invocation(struct s3_client *c, int64_t deadline_ms, const char *trace_id)
{
    c->deadline_ms = deadline_ms;
    /* X-Amzn-Trace-Id is not signed, so nothing else checks it: a bare CR
     * would go on the wire as it came from the Runtime API. */
    const char *t = trace_id && printable(trace_id) ? trace_id : "";
    snprintf(c->trace_id, sizeof c->trace_id, "%s", strlen(t) < sizeof c->trace_id ? t : "");
}

int64_t s3_client_deadline(const struct s3_client *c)
{
    return c->deadline_ms;
}

void s3_client_set_deadline(struct s3_client *c, int64_t deadline_ms)
{
    c->deadline_ms = deadline_ms;
}

void s3_client_copy_trace_id(struct s3_client *c, const struct s3_client *from)
{
    memcpy(c->trace_id, from->trace_id, sizeof c->trace_id);
}

const struct s3_config *s3_client_config(const struct s3_client *c)
{
    return c->cfg;
}

bool s3_client_deadline_passed(const struct s3_client *c)
{
    return c->deadline_ms > 0 && util_wall_ms() >= c->deadline_ms;
}

void s3_request_init(struct s3_request *req, enum s3_op op, const char *bucket, const char *key)
{
    memset(req, 0, sizeof *req);
    req->op = op;
    req->bucket = bucket;
    req->key = key;
    memcpy(req->payload_hash, SIGV4_EMPTY_SHA256, sizeof req->payload_hash);
}

/* ---- one exchange ------------------------------------------------------- */

static bool is_2xx(long status)
{
    return status >= 200 && status < 300;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct s3_xfer *x = ud;
    size_t len = size * n;
    if (x->stream)
        x->stream->header_bytes(x->stream_ctx, len);
    http_response_header(&x->resp, p, len);
    if (x->resp.headers_done && !x->checked) {
        x->checked = true;
        if (x->stream && is_2xx(x->resp.status) &&
            x->stream->headers_done(x->stream_ctx, &x->resp) != 0)
            return 0; /* aborts the transfer; the stream says why */
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct s3_xfer *x = ud;
    size_t len = size * n;
    if (x->stream && is_2xx(x->resp.status))
        return x->stream->body(x->stream_ctx, p, len);
    if (buf_append(&x->body, p, len, NULL) != 0) {
        /* Keep the start (an error's Message is near it) and stop: nothing
         * S3 sends us in a body is this large. */
        buf_append(&x->body, p, x->body.max - x->body.len, NULL);
        x->body_overflow = true;
        return 0;
    }
    return len;
}

/* Prepares x on the client's own easy handle; x owns a buffer from then on. */
static void xfer_init(struct s3_xfer *x, struct s3_client *c)
{
    memset(x, 0, sizeof *x);
    x->client = c;
    x->easy = c->easy;
    buf_init(&x->body, BODY_MAX);
    http_response_reset(&x->resp);
}

int s3_xfer_open(struct s3_xfer *x, struct s3_client *c, struct error *err)
{
    xfer_init(x, c);
    x->easy = curl_easy_init();
    if (!x->easy)
        return error_set(err, ERR_OUT_OF_MEMORY, "cannot create a libcurl handle");
    x->own_easy = true;
    return 0;
}

void s3_xfer_close(struct s3_xfer *x)
{
    s3_xfer_stop(x);
    if (x->own_easy)
        curl_easy_cleanup(x->easy);
    x->own_easy = false;
    buf_free(&x->body);
}

bool s3_xfer_pause(struct s3_xfer *x)
{
    return curl_easy_pause(x->easy, CURLPAUSE_RECV) == CURLE_OK;
}

int s3_xfer_unpause(struct s3_xfer *x, struct error *err)
{
    CURLcode rc = curl_easy_pause(x->easy, CURLPAUSE_CONT);
    if (rc != CURLE_OK)
        return error_set(err, ERR_IO, "Cannot resume reading: %s", curl_easy_strerror(rc));
    return 0;
}

const char *s3_xfer_error_text(const struct s3_xfer *x)
{
    return x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
}

void s3_xfer_stop(struct s3_xfer *x)
{
    if (x->added) {
        curl_multi_remove_handle(x->client->multi, x->easy);
        x->added = false;
    }
    curl_slist_free_all(x->headers);
    x->headers = NULL;
}

/* The request's headers, signed, as libcurl takes them; NULL with err set. */
static struct curl_slist *signed_headers(struct s3_xfer *x, const struct s3_request *req,
                                         const struct s3_target *t, struct error *err)
{
    const struct s3_client *c = x->client;
    struct sigv4_param headers[sizeof req->headers / sizeof *req->headers + 1];
    size_t header_count = req->header_count;
    memcpy(headers, req->headers, header_count * sizeof *headers);
    if (c->cfg->expected_bucket_owner[0])
        headers[header_count++] =
            (struct sigv4_param){"x-amz-expected-bucket-owner", c->cfg->expected_bucket_owner};
    struct sigv4_request sr = {
        .method = s3_op_info(req->op)->method_name,
        .host = t->host,
        .encoded_path = t->path,
        .query = req->query,
        .query_count = req->query_count,
        .headers = headers,
        .header_count = header_count,
        .payload_hash = req->payload_hash,
    };
    struct sigv4_context ctx = {c->creds, c->cfg->region, "s3", time(NULL)};
    struct sigv4_signature sig;
    if (sigv4_sign(&sr, &ctx, &sig, err) != 0) {
        error_prefix(err, "signing %s for s3://%s/%s: ", s3_op_name(req->op), req->bucket,
                     req->key);
        return NULL;
    }

    const char *signature = strstr(sig.authorization, "Signature=");
    snprintf(x->signature, sizeof x->signature, "%s", signature ? signature + 10 : "");

    struct curl_slist *h = NULL;
    bool ok = http_header_add(&h, "Host", t->host) == 0 &&
              http_header_add(&h, "x-amz-date", sig.amz_date) == 0 &&
              http_header_add(&h, "x-amz-content-sha256", req->payload_hash) == 0 &&
              (!c->creds->session_token ||
               http_header_add(&h, "x-amz-security-token", c->creds->session_token) == 0) &&
              (!c->trace_id[0] || http_header_add(&h, "X-Amzn-Trace-Id", c->trace_id) == 0) &&
              http_header_add(&h, "Authorization", sig.authorization) == 0 &&
              http_header_add(&h, "Expect", "") == 0 &&
              http_header_add(&h, "Content-Type", req->content_type ? req->content_type : "") == 0;
    for (size_t i = 0; ok && i < header_count; i++)
        ok = http_header_add(&h, headers[i].name, headers[i].value) == 0;
    if (!ok) {
        curl_slist_free_all(h);
        error_set(err, ERR_OUT_OF_MEMORY, "out of memory building %s headers for s3://%s/%s",
                  s3_op_name(req->op), req->bucket, req->key);
        return NULL;
    }
    return h;
}

/* The options every exchange sets on its easy handle. */
static void set_transfer_options(struct s3_xfer *x, CURL *e)
{
    const struct s3_client *c = x->client;
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
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, c->cfg->low_speed_limit);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, c->cfg->low_speed_time);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->cfg->ca_dir[0]) {
        /* No bundle besides: libcurl's built-in one would be parsed whole. */
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, c->cfg->ca_dir);
    } else if (c->cfg->ca_bundle[0]) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg->ca_bundle);
    }
    if (c->deadline_ms > 0) {
        int64_t left = c->deadline_ms - util_wall_ms();
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(left > 1 ? left : 1));
    }
}

/* The method, and the body of a PUT or POST. */
static void set_method(CURL *e, const struct s3_request *req)
{
    const struct s3_op_info *op = s3_op_info(req->op);
    switch (op->method) {
    case S3_GET:
        break;
    case S3_HEAD:
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        break;
    case S3_DELETE:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    case S3_PUT:
    case S3_POST:
        /* The body is in memory: libcurl rewinds it itself if it must resend. */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        if (op->method == S3_PUT)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
        break;
    }
}

int s3_xfer_start(struct s3_xfer *x, const struct s3_request *req, struct error *err)
{
    const struct s3_client *c = x->client;
    const char *name = s3_op_name(req->op);
    x->interruptible = s3_op_info(req->op)->interruptible;
    char query[QUERY_MAX] = "";
    if (req->query_count > 0 &&
        sigv4_canonical_query(req->query, req->query_count, query, sizeof query) < 0)
        return error_set(err, ERR_INVALID_KEY, "%s query for s3://%s/%s is too long", name,
                         req->bucket, req->key);
    struct s3_target t;
    if (s3_target_build(c->cfg, req->bucket, req->key, query, &t, err) != 0)
        return -1;
    struct curl_slist *h = signed_headers(x, req, &t, err);
    if (!h)
        return -1;

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
    set_transfer_options(x, e);
    set_method(e, req);
    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK) {
        s3_xfer_stop(x);
        return error_set(err, ERR_IO, "cannot start %s for s3://%s/%s: %s", name, req->bucket,
                         req->key, curl_multi_strerror(mc));
    }
    x->added = true;
    return 0;
}

static void collect_done(struct s3_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        struct s3_xfer *x = (struct s3_xfer *)(void *)priv;
        if (x) {
            x->done = true;
            x->result = m->data.result;
        }
    }
}

int s3_xfer_drive(struct s3_xfer *x, bool (*ready)(const struct s3_xfer *x), bool *timed_out,
                  struct error *err)
{
    struct s3_client *c = x->client;
    *timed_out = false;
    int64_t last = util_monotonic_ms();
    for (;;) {
        int running;
        CURLMcode mc = curl_multi_perform(c->multi, &running);
        collect_done(c);
        if (mc != CURLM_OK)
            return error_set(err, ERR_IO, "libcurl: %s", curl_multi_strerror(mc));
        int64_t now = util_monotonic_ms();
        if (x->stream)
            x->stream->waited(x->stream_ctx, now - last);
        last = now;
        if (x->done || (ready && ready(x)))
            return 0;
        if (x->stream && x->stream->too_slow(x->stream_ctx)) {
            /* Ends the exchange as libcurl's own speed check would. */
            x->done = true;
            x->result = CURLE_OPERATION_TIMEDOUT;
            return 0;
        }
        if (x->interruptible && interrupt_check(err) != 0)
            return -1;
        int timeout = 1000;
        if (c->deadline_ms > 0) {
            int64_t left = c->deadline_ms - util_wall_ms();
            if (left <= 0) {
                *timed_out = true;
                return -1;
            }
            if (left < timeout)
                timeout = (int)left;
        }
        mc = curl_multi_poll(c->multi, NULL, 0, timeout, NULL);
        if (mc != CURLM_OK)
            return error_set(err, ERR_IO, "libcurl: %s", curl_multi_strerror(mc));
    }
}

/* A server may quote back what it was sent. */
static void redact(const struct s3_client *c, const char *signature, char *text)
{
    const char *const secrets[] = {c->creds->secret_access_key, c->creds->session_token, signature};
    s3_redact(text, secrets, sizeof secrets / sizeof *secrets);
}

void s3_xfer_redact(const struct s3_xfer *x, char *text)
{
    redact(x->client, x->signature, text);
}

void s3_response_redact(const struct s3_client *c, const struct s3_response *r, char *text)
{
    redact(c, r->signature, text);
}

/* Sets err to the Timeout of req at the deadline, quoting last's message (may
 * be NULL), its where naming req's object and offset if > 0. Returns -1. */
static int deadline_error(const struct s3_request *req, int64_t offset, const struct error *last,
                          struct error *err)
{
    char last_copy[ERROR_MESSAGE_MAX] = "";
    if (last && error_is_set(last))
        snprintf(last_copy, sizeof last_copy, " (last error: %.900s)", last->message);
    error_set(err, ERR_TIMEOUT, "The %s operation did not complete before the deadline.%s",
              s3_op_name(req->op), last_copy);
    s3_error_where(err, s3_op_name(req->op), req->bucket, req->key, offset, NULL);
    return -1;
}

/* A failure with no HTTP response, worded as botocore's exception for it
 * where it has one (it quotes the request's URL); the others, and a response
 * that came slower than libcurl's minimum rate, in our words. */
static int transport_error(struct s3_xfer *x, const struct s3_request *req, struct error *err)
{
    char *url = NULL;
    curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
    curl_off_t connected = 0;
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connected);
    const char *u = url ? url : "";
    const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(x->result);
    switch (x->result) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return error_set(err, ERR_IO, "Could not connect to the endpoint URL: \"%s\"", u);
    case CURLE_OPERATION_TIMEDOUT:
        if (connected == 0)
            return error_set(err, ERR_IO, "Connect timeout on endpoint URL: \"%s\"", u);
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        if (!x->resp.headers_done)
            return error_set(err, ERR_IO,
                             "Connection was closed before we received a valid response from "
                             "endpoint URL: \"%s\".",
                             u);
        break;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return error_set(err, ERR_IO, "SSL validation failed for %s %s", u, why);
    default:
        break;
    }
    return error_set(err, ERR_IO, "Could not complete the %s operation: %s (curl error %d)",
                     s3_op_name(req->op), why, (int)x->result);
}

/* What S3 said about a failure: its error's type and code, message, and a
 * note for where (a redirect's Location, the bucket's region). */
struct failure {
    struct s3_error_doc doc;
    char type[S3_ERROR_CODE_MAX], code[S3_ERROR_CODE_MAX], note[512];
};

/* A 2xx response of an operation whose 200 may carry an error (the table's
 * error_in_200): true if it holds the operation's result document; false with
 * f filled if it holds an Error document, or nothing (empty: the connection
 * dropped while S3 was still assembling the object), which botocore takes
 * for an InternalError to retry. */
static bool result_in_200(const struct s3_xfer *x, const struct s3_request *req, struct failure *f)
{
    char root[40], result[40];
    snprintf(result, sizeof result, "%sResult", s3_op_name(req->op));
    bool has_root = s3_xml_root((const char *)x->body.data, x->body.len, root, sizeof root);
    if (has_root && strcmp(root, result) == 0)
        return true;
    if (has_root && strcmp(root, "Error") == 0 &&
        s3_error_parse((const char *)x->body.data, x->body.len, &f->doc)) {
        snprintf(f->type, sizeof f->type, "%s", f->doc.code);
        snprintf(f->code, sizeof f->code, "%s", f->doc.code);
    } else {
        snprintf(f->type, sizeof f->type, "InternalError");
        snprintf(f->code, sizeof f->code, "InternalError");
        snprintf(f->doc.message, sizeof f->doc.message, "The server answered 200 without a %s.",
                 result);
    }
    return false;
}

/* An error response, as botocore reads it: an Error document's Code
 * ("Unknown" if it has none), else the status and its reason phrase. The
 * errorType is the code S3 would have sent. */
static void response_failure(const struct s3_xfer *x, const struct s3_request *req, long status,
                             struct failure *f)
{
    char root[16];
    bool is_doc = s3_xml_root((const char *)x->body.data, x->body.len, root, sizeof root) &&
                  strcmp(root, "Error") == 0;
    if (s3_error_parse((const char *)x->body.data, x->body.len, &f->doc)) {
        snprintf(f->type, sizeof f->type, "%s", f->doc.code);
        snprintf(f->code, sizeof f->code, "%s", f->doc.code);
    } else {
        s3_error_code_for_status(status, req->op, f->type, sizeof f->type);
        if (is_doc) {
            snprintf(f->code, sizeof f->code, "Unknown");
        } else {
            snprintf(f->code, sizeof f->code, "%ld", status);
            snprintf(f->doc.message, sizeof f->doc.message, "%s", http_reason(status));
        }
    }
    if (status >= 300 && status < 400 && !is_doc) {
        /* Redacted before it is cut and quoted, so that a secret cut
         * short by the quote is found at the end of the copy. */
        char location[401];
        size_t quoted = strnlen(x->resp.location, sizeof location - 1);
        memcpy(location, x->resp.location, quoted);
        location[quoted] = '\0';
        s3_xfer_redact(x, location);
        snprintf(f->note, sizeof f->note, "HTTP %ld redirect%s%s, not followed", status,
                 location[0] ? " to " : " with no Location", location);
    } else if (x->resp.bucket_region[0] &&
               strcmp(x->resp.bucket_region, x->client->cfg->region) != 0) {
        snprintf(f->note, sizeof f->note, "the bucket is in region %s", x->resp.bucket_region);
    }
}

int s3_xfer_outcome(struct s3_xfer *x, const struct s3_request *req, int64_t offset, int attempt,
                    enum s3_retry_kind *kind, struct error *err)
{
    const struct s3_client *c = x->client;
    long status = x->resp.headers_done ? x->resp.status : 0;
    *kind = S3_RETRY_NONE;
    struct failure f;
    f.note[0] = '\0';
    if (is_2xx(status) && x->result == CURLE_OK) {
        if (!s3_op_info(req->op)->error_in_200 || result_in_200(x, req, &f))
            return 0;
    } else if (status >= 300 || (status != 0 && status < 200)) {
        response_failure(x, req, status, &f);
    } else {
        if (x->result == CURLE_OPERATION_TIMEDOUT && s3_client_deadline_passed(c))
            return deadline_error(req, offset, NULL, err);
        *kind = s3_retry_for_transport((int)x->result);
        transport_error(x, req, err);
        s3_error_where(err, s3_op_name(req->op), req->bucket, req->key, offset, NULL);
        return -1;
    }
    s3_xfer_redact(x, f.type);
    s3_xfer_redact(x, f.code);
    s3_xfer_redact(x, f.doc.message);
    s3_xfer_redact(x, f.note);
    *kind = s3_retry_for_response(status, f.type);
    s3_error_set(err, f.type, f.code, s3_op_name(req->op), f.doc.message,
                 attempt >= c->cfg->max_attempts ? attempt - 1 : -1);
    s3_error_where(err, s3_op_name(req->op), req->bucket, req->key, offset, f.note);
    return -1;
}

/* The DEBUG line of one ended exchange: started at start_ms (util_monotonic_ms),
 * `bytes` sent or received. */
static void xfer_log(const struct s3_xfer *x, const struct s3_request *req, int attempt,
                     int64_t start_ms, uint64_t bytes)
{
    if (!log_enabled(LOG_DEBUG))
        return;
    char request_id[HTTP_REQUEST_ID_MAX];
    memcpy(request_id, x->resp.request_id, sizeof request_id);
    s3_xfer_redact(x, request_id);
    log_fields(LOG_DEBUG, "s3 request", LOG_STR("operation", s3_op_name(req->op)),
               LOG_STR("method", s3_op_info(req->op)->method_name), LOG_STR("bucket", req->bucket),
               LOG_STR("key", req->key), LOG_I64("status", x->resp.status),
               LOG_I64("attempt", attempt), LOG_U64("bytes", bytes),
               LOG_I64("ms", util_monotonic_ms() - start_ms), LOG_STR("request_id", request_id),
               LOG_STR("curl", x->result == CURLE_OK ? "" : curl_easy_strerror(x->result)),
               LOG_END);
}

/* ---- retries: the one loop ---------------------------------------------- */

/* Sleeps before retry number `retry` (err holds the failure being retried),
 * unless that would pass the deadline: then returns -1 with err a Timeout
 * that quotes it. */
static int backoff(struct s3_client *c, const struct s3_request *req, int retry,
                   enum s3_retry_kind kind, int64_t offset, struct error *err)
{
    int64_t delay = s3_backoff_ms(retry, kind, random_unit(c));
    if (c->deadline_ms > 0 && util_wall_ms() + delay >= c->deadline_ms) {
        struct error last = *err;
        return deadline_error(req, offset, &last, err);
    }
    log_fields(LOG_WARN, "s3 request failed, retrying", LOG_STR("operation", s3_op_name(req->op)),
               LOG_STR("bucket", req->bucket), LOG_STR("key", req->key), LOG_I64("retry", retry),
               LOG_I64("delay_ms", delay), LOG_STR("errorType", err->type),
               LOG_STR("errorMessage", err->message), LOG_STR("where", err->where), LOG_END);
    /* In slices: an upload's retries run on a worker thread, which SIGTERM
     * does not interrupt (worker.h), so the sleep looks for it itself. */
    int64_t end = util_monotonic_ms() + delay;
    for (int64_t left = delay; left > 0 && !interrupt_signal(); left = end - util_monotonic_ms()) {
        struct timespec ts = {0, (long)(left < 100 ? left : 100) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

static int64_t attempts_offset(const struct s3_attempts *a)
{
    return a->ops->offset ? a->ops->offset(a->ctx) : -1;
}

/* Prepares and starts the next attempt, unless the deadline has passed (a
 * Timeout quoting err's failure if this call already retried). */
static int attempt_begin(struct s3_attempts *a, bool retried, struct error *err)
{
    if (a->ops->prepare)
        a->ops->prepare(a->ctx, &a->req);
    if (s3_client_deadline_passed(a->x->client))
        return deadline_error(&a->req, attempts_offset(a), retried ? err : NULL, err);
    if (s3_xfer_start(a->x, &a->req, err) != 0)
        return -1;
    a->active = true;
    a->attempts++;
    a->start_ms = util_monotonic_ms();
    return 0;
}

/* Ends the active attempt (cut short by the deadline if timed_out, or by
 * failed, err set): 0 if the request is done, 1 to retry (backed off), -1
 * with err set if it has failed for good. */
static int attempt_end(struct s3_attempts *a, bool timed_out, bool failed, struct error *err)
{
    s3_xfer_stop(a->x);
    a->active = false;
    uint64_t moved = a->ops->moved ? a->ops->moved(a->ctx) : a->req.body_len;
    xfer_log(a->x, &a->req, a->attempts, a->start_ms, moved);
    if (timed_out)
        return deadline_error(&a->req, attempts_offset(a), NULL, err);
    if (failed)
        return -1;
    a->failures++;
    enum s3_retry_kind kind;
    if (a->ops->judge(a->ctx, a, &kind, err) == 0)
        return 0;
    struct s3_client *c = a->x->client;
    if (kind == S3_RETRY_NONE || a->failures >= c->cfg->max_attempts)
        return -1;
    if (backoff(c, &a->req, a->failures, kind, attempts_offset(a), err) != 0)
        return -1;
    return 1;
}

int s3_attempts_run(struct s3_attempts *a, bool (*ready)(const struct s3_xfer *x),
                    struct error *err)
{
    for (bool retried = false;; retried = true) {
        if (!a->active && attempt_begin(a, retried, err) != 0)
            return -1;
        bool timed_out;
        int rc = s3_xfer_drive(a->x, ready, &timed_out, err);
        if (ready && ready(a->x))
            return 1;
        int end = attempt_end(a, timed_out, rc != 0 && !timed_out, err);
        if (end <= 0)
            return end;
        if (ready && ready(a->x))
            return 1;
    }
}

static int perform_judge(void *ctx, struct s3_attempts *a, enum s3_retry_kind *kind,
                         struct error *err)
{
    (void)ctx;
    return s3_xfer_outcome(a->x, &a->req, -1, a->failures, kind, err);
}

int s3_client_perform(struct s3_client *c, const struct s3_request *req, struct s3_response *out,
                      struct error *err)
{
    static const struct s3_attempt_ops ops = {.judge = perform_judge};
    struct s3_xfer x;
    xfer_init(&x, c);
    struct s3_attempts a = {.x = &x, .req = *req, .ops = &ops};
    int rc = s3_attempts_run(&a, NULL, err);
    out->resp = x.resp;
    out->body = x.body; /* handed over: out frees it */
    memcpy(out->signature, x.signature, sizeof out->signature);
    return rc;
}

void s3_response_free(struct s3_response *r)
{
    buf_free(&r->body);
}
