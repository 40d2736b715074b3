/* s3/client_private: the request engine's internals, for s3/client.c and the
 * request files that drive exchanges themselves (s3/get.c's streaming
 * GetObject). Not for anyone else: they use s3/client.h.
 *
 * An exchange (struct s3_xfer) is one HTTP request and its response on an
 * easy handle in the client's multi handle; a request's attempts
 * (struct s3_attempts) are exchanges run by the one attempt-and-retry loop,
 * s3_attempts_run: prepare the attempt, start it (deadline checked), drive
 * it, judge it (s3_xfer_outcome, or the caller's judge), and back off and
 * retry as the configuration allows. */
#ifndef BCR_S3_CLIENT_PRIVATE_H
#define BCR_S3_CLIENT_PRIVATE_H

#include <curl/curl.h>

#include "s3/client.h"

enum { S3_TRACE_ID_MAX = 1024 };

struct s3_client {
    /* Set up once, read-only after; shared with siblings (any thread). */
    const struct s3_config *cfg;         /* borrowed */
    const struct aws_credentials *creds; /* borrowed */

    /* The owning thread's: the store's caller for the store's client; for an
     * upload client, the upload worker while a part is queued or running and
     * the writer's caller once the worker is idle or stopped (s3/put.c). */
    CURLM *multi;                   /* drives every exchange; holds the connection cache */
    CURL *easy;                     /* for one-shot requests (s3_client_perform) */
    int64_t deadline_ms;            /* wall clock (util.h util_wall_ms); 0: none */
    char trace_id[S3_TRACE_ID_MAX]; /* X-Amzn-Trace-Id of every request; "" none */
    uint64_t rng;                   /* retry jitter */
};

/* A body chunk refused for now (s3_stream.body): libcurl hands the same chunk
 * over again once the exchange is resumed (s3_xfer_unpause). */
#define S3_STREAM_PAUSE CURL_WRITEFUNC_PAUSE

/* How a streamed response (a GetObject read as it arrives) takes part in an
 * exchange. Each hook gets the exchange's stream_ctx, on the client's thread. */
struct s3_stream {
    void (*header_bytes)(void *ctx, size_t n); /* a header line arrived */
    /* A 2xx response's headers are complete; non-zero refuses the response
     * (the exchange ends with a write error). */
    int (*headers_done)(void *ctx, const struct http_response *resp);
    /* A chunk of a 2xx body: returns n, or S3_STREAM_PAUSE. */
    size_t (*body)(void *ctx, const char *p, size_t n);
    void (*waited)(void *ctx, int64_t ms); /* time spent waiting for the server */
    bool (*too_slow)(void *ctx);           /* true ends the exchange as timed out */
};

/* One HTTP exchange on an easy handle in the client's multi handle. All of it
 * belongs to the client's owning thread. */
struct s3_xfer {
    struct s3_client *client; /* borrowed */
    CURL *easy;               /* the client's, or the exchange's own (s3_xfer_open) */
    bool own_easy;
    struct curl_slist *headers;
    bool added, done, checked;
    CURLcode result;
    struct http_response resp;
    struct buf body; /* a captured body: an error document or a small result */
    bool body_overflow;
    bool interruptible;             /* from the operation table */
    const struct s3_stream *stream; /* NULL: every body is captured */
    void *stream_ctx;               /* borrowed */
    char errbuf[CURL_ERROR_SIZE];
    char signature[65]; /* the request's, hidden from what the server sends back */
};

/* Prepares x on an easy handle of its own (a reader's, kept across its
 * attempts), or returns -1 with err set. x owns the handle and a buffer from
 * then on, even on failure: s3_xfer_close. (s3_client_perform's exchanges use
 * the client's own handle.) */
int s3_xfer_open(struct s3_xfer *x, struct s3_client *c, struct error *err);
/* Stops x and frees what it owns. */
void s3_xfer_close(struct s3_xfer *x);

/* Signs req now and adds the exchange to the client's multi handle. */
int s3_xfer_start(struct s3_xfer *x, const struct s3_request *req, struct error *err);

/* Takes the exchange off the multi handle (ended or not). */
void s3_xfer_stop(struct s3_xfer *x);

/* Stops receiving while the caller is away (true if paused), and resumes,
 * which may hand a held chunk to the stream at once (-1 with err set). */
bool s3_xfer_pause(struct s3_xfer *x);
int s3_xfer_unpause(struct s3_xfer *x, struct error *err);

/* Why an ended exchange failed without a response, in libcurl's words. */
const char *s3_xfer_error_text(const struct s3_xfer *x);

/* Runs the client's exchanges until x has ended or ready(x) holds. Returns
 * -1 with *timed_out set (err unset: the caller words it) if the deadline
 * passes first, or -1 with err set if libcurl fails or a signal stops an
 * interruptible x (Interrupted). */
int s3_xfer_drive(struct s3_xfer *x, bool (*ready)(const struct s3_xfer *x), bool *timed_out,
                  struct error *err);

/* Why an ended exchange failed (err set, *kind how to retry), or 0 if it
 * succeeded. The message is botocore's for the same failure: its ClientError
 * text for an error response, with " (reached max retries: N)" when attempt
 * (1-based) is the last the configuration allows; its connection error text
 * for a failure without a response where it has one. err's where names the
 * operation and object, and offset when > 0 (s3_error_where). */
int s3_xfer_outcome(struct s3_xfer *x, const struct s3_request *req, int64_t offset, int attempt,
                    enum s3_retry_kind *kind, struct error *err);

/* Hides the client's secrets and x's signature in text (NUL-terminated, edited
 * in place) that came from the server. */
void s3_xfer_redact(const struct s3_xfer *x, char *text);

/* ---- the attempt-and-retry loop ----------------------------------------- */

struct s3_attempts;

/* What differs between requests, for the loop. Only judge is required. */
struct s3_attempt_ops {
    /* Sets up the request of the next attempt (GetObject: Range from the
     * offset reached, If-Match). NULL: the request is sent as it is. */
    void (*prepare)(void *ctx, struct s3_request *req);
    /* Judges an ended attempt: 0 if the request is done, or -1 with err set
     * and *kind how to retry it (S3_RETRY_NONE: never). a->failures counts
     * this attempt; a judge that sees progress may lower it. */
    int (*judge)(void *ctx, struct s3_attempts *a, enum s3_retry_kind *kind, struct error *err);
    uint64_t (*moved)(void *ctx); /* bytes of the attempt, for its log; NULL: the body sent */
    int64_t (*offset)(void *ctx); /* the byte offset errors name; NULL: none (-1) */
};

/* One request's attempts. Set x, req (unless ops->prepare sets it), ops and
 * ctx; zero the rest. Belongs to the client's owning thread. */
struct s3_attempts {
    struct s3_xfer *x;     /* borrowed */
    struct s3_request req; /* the current attempt's, as sent */
    const struct s3_attempt_ops *ops;
    void *ctx;        /* borrowed, handed to ops */
    bool active;      /* an attempt is under way (started, not judged) */
    int attempts;     /* attempts sent, for logs */
    int failures;     /* consecutive failed attempts, for the retry budget */
    int64_t start_ms; /* util_monotonic_ms at the current attempt's start */
};

/* The loop: starts an attempt unless one is active, drives it, judges it when
 * it ends, and retries with backoff as the configuration allows (a WARN
 * each), until the request is done (0), has failed for good (-1, err set;
 * nothing active), or ready(x) holds (1: the caller has what it waited for;
 * an attempt may still be active, and a later call goes on with it). ready
 * is also asked between attempts; NULL: never ready.
 *
 * A passed deadline, before an attempt, during one or instead of a backoff,
 * is a Timeout naming ops->offset (quoting the failure being retried where
 * there is one); a signal ends an interruptible operation's attempt as
 * Interrupted (s3_xfer_drive). Every ended attempt is logged (DEBUG). */
int s3_attempts_run(struct s3_attempts *a, bool (*ready)(const struct s3_xfer *x),
                    struct error *err);

#endif
