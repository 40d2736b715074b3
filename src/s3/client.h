/* s3/client: a connection to S3 and the requests sent on it: one request
 * described (struct s3_request), signed and sent as one HTTP exchange
 * (struct s3_xfer), and performed with the AWS SDKs' standard retries.
 *
 * Guarantees: every attempt is signed afresh (SigV4, the client's
 * credentials) and carries the invocation's trace id; no exchange outlives
 * the client's deadline (a passed deadline is a Timeout); a failure carries
 * S3's error code as its type and botocore's wording, with the secret key,
 * session token and request signature hidden from what the server sent.
 * Logs one DEBUG line per exchange and one WARN per retry.
 *
 * Ownership and threads: a client borrows its configuration and credentials
 * (they must outlive it and are never changed through it) and owns its
 * libcurl handles. A client, and every exchange on it, belongs to one thread
 * at a time; a second thread needs a second client (s3_client_new_sibling),
 * which shares the first one's configuration and credentials. */
#ifndef BCR_S3_CLIENT_H
#define BCR_S3_CLIENT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "s3/config.h"
#include "s3/credentials.h"
#include "s3/sigv4.h"

enum { S3_TRACE_ID_MAX = 1024 };

struct s3_client {
    const struct s3_config *cfg;         /* borrowed */
    const struct aws_credentials *creds; /* borrowed */
    CURLM *multi;                        /* drives every exchange; holds the connection cache */
    CURL *easy;                          /* for one-shot requests (s3_client_perform) */
    int64_t deadline_ms;                 /* wall clock (util.h wall_ms); 0: none */
    char trace_id[S3_TRACE_ID_MAX];      /* X-Amzn-Trace-Id of every request; "" none */
    uint64_t rng;                        /* retry jitter */
};

/* Sets up a client on cfg and creds (borrowed), its jitter seeded from the
 * system's randomness. Returns 0, or -1 with err set (then nothing to clean). */
int s3_client_init(struct s3_client *c, const struct s3_config *cfg,
                   const struct aws_credentials *creds, struct error *err);

/* Frees the client's handles; the borrowed configuration is left alone.
 * Safe on a zeroed client. */
void s3_client_cleanup(struct s3_client *c);

/* A second client for another thread: first's configuration and credentials
 * (borrowed from first's owner), trace id and deadline, its own handles and
 * jitter. Called on first's thread. The caller owns it (s3_client_free).
 * NULL with err set on failure. */
struct s3_client *s3_client_new_sibling(struct s3_client *first, struct error *err);
void s3_client_free(struct s3_client *c); /* NULL is fine */

/* The invocation's deadline (wall clock, 0 none) and trace id (NULL none; one
 * that does not fit, or holds a control byte such as a bare CR, is left out
 * rather than sent cut or as it is). */
void s3_client_set_invocation(struct s3_client *c, int64_t deadline_ms, const char *trace_id);

bool s3_client_deadline_passed(const struct s3_client *c);

/* What to send: one S3 operation. Every pointer is borrowed and must stay
 * valid until the request is performed. */
struct s3_request {
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

/* A request without a body, query or extra headers. */
void s3_request_init(struct s3_request *req, const char *operation, const char *method,
                     const char *bucket, const char *key);

/* How a streamed response (a GetObject read as it arrives) takes part in an
 * exchange. Each hook gets the exchange's stream_ctx, on the client's thread. */
struct s3_stream {
    void (*header_bytes)(void *ctx, size_t n); /* a header line arrived */
    /* A 2xx response's headers are complete; non-zero refuses the response
     * (the exchange ends with a write error). */
    int (*headers_done)(void *ctx, const struct http_response *resp);
    /* A chunk of a 2xx body: returns n, or CURL_WRITEFUNC_PAUSE to be handed
     * the same chunk again after curl_easy_pause(CURLPAUSE_CONT). */
    size_t (*body)(void *ctx, const char *p, size_t n);
    void (*waited)(void *ctx, int64_t ms); /* time spent waiting for the server */
    bool (*too_slow)(void *ctx);           /* true ends the exchange as timed out */
};

/* One HTTP exchange on an easy handle in the client's multi handle. */
struct s3_xfer {
    struct s3_client *client; /* borrowed */
    CURL *easy;               /* borrowed */
    struct curl_slist *headers;
    bool added, done, checked;
    CURLcode result;
    struct http_response resp;
    struct buf body; /* a captured body: an error document or a small result */
    bool body_overflow;
    /* A signal cuts it short. Not a commit or an abort: their outcome must be
     * known, and once committing the step finishes rather than stops. */
    bool interruptible;
    const struct s3_stream *stream; /* NULL: every body is captured */
    void *stream_ctx;               /* borrowed */
    char errbuf[CURL_ERROR_SIZE];
    char signature[65]; /* the request's, hidden from what the server sends back */
};

/* Prepares x on easy (borrowed; the client's own or a reader's). x owns a
 * buffer from then on: s3_xfer_free. */
void s3_xfer_init(struct s3_xfer *x, struct s3_client *c, CURL *easy);
void s3_xfer_free(struct s3_xfer *x);

/* Signs req now and adds the exchange to the client's multi handle. */
int s3_xfer_start(struct s3_xfer *x, const struct s3_request *req, struct error *err);

/* Takes the exchange off the multi handle (ended or not). */
void s3_xfer_stop(struct s3_xfer *x);

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

/* The DEBUG line of one ended exchange: started at start_ms (monotonic_ms),
 * `bytes` sent or received. */
void s3_xfer_log(const struct s3_xfer *x, const struct s3_request *req, int attempt,
                 int64_t start_ms, uint64_t bytes);

/* Sets err to the Timeout of req at the deadline, quoting last's message (may
 * be NULL), its where naming req's object and offset if > 0. Returns -1. */
int s3_deadline_error(const struct s3_request *req, int64_t offset, const struct error *last,
                      struct error *err);

/* Sleeps before retry number `retry` (err holds the failure being retried),
 * unless that would pass the deadline: then returns -1 with err a Timeout
 * that quotes it. */
int s3_client_backoff(struct s3_client *c, const struct s3_request *req, int retry,
                      enum s3_retry_kind kind, int64_t offset, struct error *err);

/* Sends a one-shot request on the client's own easy handle, with retries.
 * x is initialised here; on success it holds the response (status, headers,
 * captured body). The caller frees x (s3_xfer_free) whatever the result. */
int s3_client_perform(struct s3_client *c, const struct s3_request *req, struct s3_xfer *x,
                      struct error *err);

#endif
