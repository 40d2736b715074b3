#define _POSIX_C_SOURCE 200809L
#include "s3/get.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/client_private.h"
#include "s3/error_doc.h"
#include "util.h"

enum { SPILL_CAP = 128 * 1024 }; /* bytes received beyond what the caller asked for */

/* What the struct store_reader handles (store.h) of the S3 store point at. */
struct s3_reader {
    struct s3_client *client; /* borrowed */
    struct s3_xfer x;
    struct s3_attempts run; /* the GETs sent, on x */
    char *bucket, *key;
    int64_t total;            /* the object's size from the first response; -1 unknown */
    char etag[HTTP_ETAG_MAX]; /* the first response's, for If-Match on resumes */
    uint64_t offset;          /* bytes received (handed out or spilled) */
    uint64_t attempt_offset;  /* offset when the current GET started */
    char range[48];           /* the current GET's Range */
    /* The minimum rate, enforced here because curl_easy_pause restarts
     * libcurl's own speed check: bytes received in a window of
     * low_speed_time seconds during which the reader waited for the server
     * (time paused for the caller is not counted). */
    int64_t window_ms;
    uint64_t window_bytes;
    int64_t attempt_wait_ms; /* the same waiting, over the whole attempt */
    bool paused;             /* libcurl holds a chunk until the caller reads again */
    enum { READER_STREAMING, READER_AT_END, READER_FAILED } state;
    /* Why the reader itself ended the current attempt, if it did. */
    enum { CUT_NONE, CUT_HEADERS_REFUSED, CUT_TOO_SLOW } cut;
    struct error failure;    /* returned again by every read after a failure */
    struct error header_err; /* why a response's headers were refused */
    uint8_t *target;         /* the caller's buffer during a read */
    size_t target_cap, target_len;
    size_t spill_pos, spill_len;
    uint8_t spill[SPILL_CAP];
};

/* ---- the stream hooks (s3/client_private.h) ----------------------------- */

static void on_header_bytes(void *ctx, size_t n)
{
    struct s3_reader *r = ctx;
    r->window_bytes += n;
}

/* Write callback for a 2xx GET body: the caller's buffer first, then the
 * spill; if neither has room for the whole chunk, pause (libcurl keeps the
 * chunk and hands it over again on unpause). */
static size_t on_body(void *ctx, const char *p, size_t len)
{
    struct s3_reader *r = ctx;
    size_t room = r->target ? r->target_cap - r->target_len : 0;
    if (r->spill_pos > 0 && len > room + (SPILL_CAP - r->spill_len)) {
        memmove(r->spill, r->spill + r->spill_pos, r->spill_len - r->spill_pos);
        r->spill_len -= r->spill_pos;
        r->spill_pos = 0;
    }
    if (len > room + (SPILL_CAP - r->spill_len)) {
        r->paused = true;
        return S3_STREAM_PAUSE;
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

static void on_waited(void *ctx, int64_t ms)
{
    struct s3_reader *r = ctx;
    r->window_ms += ms;
    r->attempt_wait_ms += ms;
}

/* At the end of each window (window_ms counts time spent waiting for the
 * server), true (the attempt cut as too slow) if fewer than low_speed_limit bytes a second
 * came in it. A server may thus hold an attempt for at most low_speed_time
 * seconds per low_speed_limit * low_speed_time bytes it sends. */
static bool on_too_slow(void *ctx)
{
    struct s3_reader *r = ctx;
    const struct s3_config *c = r->client->cfg;
    if (r->window_ms < (int64_t)c->low_speed_time * 1000)
        return false;
    if (r->window_bytes < (uint64_t)c->low_speed_limit * (uint64_t)c->low_speed_time) {
        r->cut = CUT_TOO_SLOW;
        return true;
    }
    r->window_ms = 0;
    r->window_bytes = 0;
    return false;
}

static int header_error(struct s3_reader *r, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int header_error(struct s3_reader *r, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_vset(&r->header_err, type, fmt, ap);
    va_end(ap);
    s3_error_where(&r->header_err, s3_op_name(S3_OP_GET_OBJECT), r->bucket, r->key,
                   (int64_t)r->offset, NULL);
    r->cut = CUT_HEADERS_REFUSED;
    return -1;
}

/* Checks a 2xx GET response before any of its body is taken: size against the
 * first response, and that a resumed response continues the same object
 * where the last one stopped. */
static int on_headers_done(void *ctx, const struct http_response *h)
{
    struct s3_reader *r = ctx;
    unsigned long long at = (unsigned long long)r->offset;
    if (h->etag_too_long)
        return header_error(r, ERR_IO, "The response's ETag is longer than %d bytes.",
                            HTTP_ETAG_MAX - 1);
    if (h->status == 200) {
        /* Without it, a connection closed early ends the body as cleanly as
         * the server's last byte would. */
        if (h->content_length < 0)
            return header_error(r, ERR_IO,
                                "The response has no Content-Length, so a body cut short could "
                                "not be told from a whole one.");
        if (r->offset > 0)
            return header_error(r, ERR_IO,
                                "The server ignored Range: bytes=%llu- and sent the whole "
                                "object; not restarting from zero.",
                                at);
        if (r->total >= 0 && h->content_length != r->total)
            return header_error(r, ERR_IO,
                                "The Content-Length changed from %lld to %lld between attempts.",
                                (long long)r->total, (long long)h->content_length);
        r->total = h->content_length;
        if (!r->etag[0])
            memcpy(r->etag, h->etag, sizeof r->etag);
    } else if (h->status == 206 && r->offset > 0) {
        if (!h->has_content_range || h->range_first != (int64_t)r->offset ||
            h->range_last != h->range_total - 1 || (r->total >= 0 && h->range_total != r->total))
            return header_error(
                r, ERR_IO,
                "Resuming at byte offset %llu of %lld got a response with a Content-Range for "
                "other bytes (%lld-%lld/%lld).",
                at, (long long)r->total, (long long)h->range_first, (long long)h->range_last,
                (long long)h->range_total);
        if (r->etag[0] && h->etag[0] && strcmp(r->etag, h->etag) != 0) {
            char was[HTTP_ETAG_MAX], now[HTTP_ETAG_MAX];
            memcpy(was, r->etag, sizeof was);
            memcpy(now, h->etag, sizeof now);
            s3_xfer_redact(&r->x, was);
            s3_xfer_redact(&r->x, now);
            return header_error(r, ERR_PRECONDITION_FAILED,
                                "The object changed while it was being read: ETag %s became %s.",
                                was, now);
        }
        r->total = h->range_total;
    } else {
        return header_error(r, ERR_IO, "The server answered with an unexpected HTTP status %ld.",
                            h->status);
    }
    return 0;
}

static const struct s3_stream reader_stream = {
    .header_bytes = on_header_bytes,
    .headers_done = on_headers_done,
    .body = on_body,
    .waited = on_waited,
    .too_slow = on_too_slow,
};

/* ---- attempts (s3_attempts_run's hooks) --------------------------------- */

/* The GET that starts at the byte reached: If-Match once an ETag is known,
 * Range past the first byte. */
static void reader_prepare(void *ctx, struct s3_request *req)
{
    struct s3_reader *r = ctx;
    s3_request_init(req, S3_OP_GET_OBJECT, r->bucket, r->key);
    if (r->etag[0])
        req->headers[req->header_count++] = (struct sigv4_param){"if-match", r->etag};
    if (r->offset > 0) {
        snprintf(r->range, sizeof r->range, "bytes=%llu-", (unsigned long long)r->offset);
        req->headers[req->header_count++] = (struct sigv4_param){"range", r->range};
    }
    r->cut = CUT_NONE;
    r->paused = false;
    r->window_ms = r->attempt_wait_ms = 0;
    r->window_bytes = 0;
    r->attempt_offset = r->offset;
}

static uint64_t reader_moved(void *ctx)
{
    const struct s3_reader *r = ctx;
    return r->offset - r->attempt_offset;
}

static int64_t reader_offset(void *ctx)
{
    return (int64_t)((const struct s3_reader *)ctx)->offset;
}

/* A failed GET's error in GetObject's words, and how to retry it. */
static int reader_failure(struct s3_reader *r, struct s3_attempts *a, bool body, bool ended,
                          enum s3_retry_kind *kind, struct error *err)
{
    const struct s3_xfer *x = &r->x;
    const struct s3_config *c = r->client->cfg;
    *kind = S3_RETRY_TRANSIENT;
    if (r->cut == CUT_TOO_SLOW) {
        error_set(err, ERR_IO,
                  "Could not complete the GetObject operation: the server sent less than %ld "
                  "bytes/s for %ld s (BCR_S3_LOW_SPEED_LIMIT, BCR_S3_LOW_SPEED_TIME)",
                  c->low_speed_limit, c->low_speed_time);
    } else if (body && (ended || x->result == CURLE_PARTIAL_FILE) && r->total >= 0) {
        /* A body that ended short: botocore's IncompleteReadError. */
        error_set(err, ERR_IO, "%llu read, but total bytes expected is %lld.",
                  (unsigned long long)r->offset, (long long)r->total);
    } else if (body && x->result != CURLE_OPERATION_TIMEDOUT) {
        /* A body broken off otherwise: botocore's ResponseStreamingError. */
        *kind = s3_retry_for_transport((int)x->result);
        error_set(err, ERR_IO, "An error occurred while reading from response stream: %s",
                  s3_xfer_error_text(x));
    } else if (x->resp.headers_done && x->resp.status == 412) {
        *kind = S3_RETRY_NONE;
        s3_error_set(err, ERR_PRECONDITION_FAILED, ERR_PRECONDITION_FAILED,
                     s3_op_name(S3_OP_GET_OBJECT),
                     "The object changed while it was being read (its ETag is no longer the one "
                     "first read).",
                     -1);
    } else {
        return s3_xfer_outcome(&r->x, &a->req, (int64_t)r->offset, a->failures, kind, err);
    }
    s3_error_where(err, s3_op_name(S3_OP_GET_OBJECT), r->bucket, r->key, (int64_t)r->offset, NULL);
    return -1;
}

/* An ended GET: 0 at the end of the object, else -1 with err set and how to
 * retry (resuming from the byte reached). */
static int reader_judge(void *ctx, struct s3_attempts *a, enum s3_retry_kind *kind,
                        struct error *err)
{
    struct s3_reader *r = ctx;
    const struct s3_xfer *x = &r->x;
    r->paused = false;
    *kind = S3_RETRY_NONE;
    if (r->cut == CUT_HEADERS_REFUSED) {
        *err = r->header_err;
        return -1;
    }
    long status = x->resp.headers_done ? x->resp.status : 0;
    bool complete = r->total >= 0 && r->offset == (uint64_t)r->total;
    bool body = status >= 200 && status < 300; /* a body of the object, not an error's */
    bool ended = body && (x->result == CURLE_OK || complete);
    if (ended && r->cut != CUT_TOO_SLOW && (r->total < 0 || complete))
        return 0;
    /* Progress lets a long object be resumed many times; a trickle is not
     * progress (at least the minimum rate, over a second at least), or a
     * server cutting every response after a byte or dripping it would hold
     * the run for as long as the object is large. */
    const struct s3_config *c = r->client->cfg;
    int64_t waited = r->attempt_wait_ms > 1000 ? r->attempt_wait_ms : 1000;
    if (r->cut != CUT_TOO_SLOW &&
        (r->offset - r->attempt_offset) * 1000 >= (uint64_t)c->low_speed_limit * (uint64_t)waited)
        a->failures = 1;
    return reader_failure(r, a, body, ended, kind, err);
}

static const struct s3_attempt_ops reader_ops = {
    .prepare = reader_prepare,
    .judge = reader_judge,
    .moved = reader_moved,
    .offset = reader_offset,
};

static bool reader_has_data(const struct s3_xfer *x)
{
    return ((const struct s3_reader *)x->stream_ctx)->target_len > 0;
}

/* What opening waits for: a 2xx response's headers, or (between attempts)
 * some of the body before a failure, from which a read resumes. */
static bool reader_opened(const struct s3_xfer *x)
{
    const struct s3_reader *r = x->stream_ctx;
    if (!r->run.active)
        return r->offset > 0;
    return !x->done && x->resp.headers_done && x->resp.status >= 200 && x->resp.status < 300;
}

/* Stops libcurl reading while the caller is away, so a slow consumer is not
 * mistaken for a stalled server (paused transfers skip the speed check). */
static void reader_pause(struct s3_reader *r)
{
    if (r->run.active && !r->x.done && !r->paused && s3_xfer_pause(&r->x))
        r->paused = true;
}

static ssize_t reader_fail(struct s3_reader *r, struct error *err)
{
    if (r->run.active) {
        s3_xfer_stop(&r->x);
        r->run.active = false;
    }
    r->state = READER_FAILED;
    r->failure = *err;
    return -1;
}

/* ---- the reader --------------------------------------------------------- */

int s3_get_open(struct s3_client *c, const char *bucket, const char *key, struct store_reader **out,
                struct error *err)
{
    struct s3_reader *r = calloc(1, sizeof *r);
    if (!r)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s", bucket, key);
    r->bucket = strdup(bucket);
    r->key = strdup(key);
    int opened = s3_xfer_open(&r->x, c, err);
    if (opened != 0 || !r->bucket || !r->key) {
        s3_get_close((struct store_reader *)r);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s", bucket, key);
    }
    r->client = c;
    r->x.stream = &reader_stream;
    r->x.stream_ctx = r;
    r->run = (struct s3_attempts){.x = &r->x, .ops = &reader_ops, .ctx = r};
    r->total = -1;
    /* Wait for the first response's headers, so a missing object fails here. */
    int rc = s3_attempts_run(&r->run, reader_opened, err);
    if (rc < 0) {
        s3_get_close((struct store_reader *)r);
        return -1;
    }
    if (rc == 0)
        r->state = READER_AT_END;
    reader_pause(r);
    *out = (struct store_reader *)r;
    return 0;
}

ssize_t s3_get_read(struct store_reader *reader, void *buf, size_t cap, struct error *err)
{
    struct s3_reader *r = (struct s3_reader *)reader;
    if (r->state == READER_FAILED) {
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
    if (r->state == READER_AT_END)
        return 0;
    r->target = buf;
    r->target_cap = cap;
    r->target_len = 0;
    if (r->run.active && r->paused) {
        r->paused = false;
        /* May hand over the held chunk at once, into target. */
        if (s3_xfer_unpause(&r->x, err) != 0) {
            r->target = NULL;
            s3_error_where(err, s3_op_name(S3_OP_GET_OBJECT), r->bucket, r->key, (int64_t)r->offset,
                           NULL);
            return reader_fail(r, err);
        }
    }
    int rc = r->target_len > 0 ? 1 : s3_attempts_run(&r->run, reader_has_data, err);
    r->target = NULL;
    if (rc < 0)
        return reader_fail(r, err);
    if (rc == 0) {
        r->state = READER_AT_END;
        return 0;
    }
    reader_pause(r);
    return (ssize_t)r->target_len;
}

void s3_get_close(struct store_reader *reader)
{
    struct s3_reader *r = (struct s3_reader *)reader;
    if (!r)
        return;
    s3_xfer_close(&r->x);
    free(r->bucket);
    free(r->key);
    free(r);
}
