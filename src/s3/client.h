/* s3/client: the S3 request engine: a connection to S3 and the requests sent
 * on it. A request (struct s3_request) names its operation from the table in
 * s3/operation.h, which decides its method, whether a signal may cut it short
 * and how its failures read; every request, the streaming GetObject's
 * attempts included, runs in one attempt-and-retry loop (s3_attempts_run,
 * s3/client_private.h) with the AWS SDKs' standard retries.
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
 * libcurl handles; its internals are private (s3/client_private.h). A client,
 * and every exchange on it, belongs to one thread at a time; a second thread
 * needs a second client (s3_client_new_sibling), which shares the first
 * one's configuration and credentials. libcurl is called only here (and by
 * the Runtime API client and http.c's shared helpers). */
#ifndef BCR_S3_CLIENT_H
#define BCR_S3_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "http.h"
#include "s3/config.h"
#include "s3/credentials.h"
#include "s3/operation.h"
#include "s3/sigv4.h"

struct s3_client; /* s3/client_private.h */

/* A client on cfg and creds (borrowed), its jitter seeded from the system's
 * randomness. The caller owns it (s3_client_free); NULL with err set. */
struct s3_client *s3_client_new(const struct s3_config *cfg, const struct aws_credentials *creds,
                                struct error *err);

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

/* The deadline alone (wall clock, util.h util_wall_ms; 0 none), as an upload
 * client takes each part's and an abort gets a grace past it. */
int64_t s3_client_deadline(const struct s3_client *c);
void s3_client_set_deadline(struct s3_client *c, int64_t deadline_ms);

/* Gives c from's trace id (an upload client kept from an earlier writer). */
void s3_client_copy_trace_id(struct s3_client *c, const struct s3_client *from);

const struct s3_config *s3_client_config(const struct s3_client *c);
bool s3_client_deadline_passed(const struct s3_client *c);

/* What to send: one S3 operation. Every pointer is borrowed and must stay
 * valid until the request is performed. */
struct s3_request {
    enum s3_op op; /* its name, method and rules: s3/operation.h */
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
void s3_request_init(struct s3_request *req, enum s3_op op, const char *bucket, const char *key);

/* What a performed request got back. Owns body (s3_response_free). */
struct s3_response {
    struct http_response resp;
    struct buf body;    /* captured: a small result or an error document */
    char signature[65]; /* the last attempt's, hidden by s3_response_redact */
};

/* Sends a one-shot request on c with retries. out is initialised here; on
 * success it holds the response (status, headers, captured body). The caller
 * frees out (s3_response_free) whatever the result. */
int s3_client_perform(struct s3_client *c, const struct s3_request *req, struct s3_response *out,
                      struct error *err);
void s3_response_free(struct s3_response *r);

/* Hides c's secrets and r's signature in text (NUL-terminated, edited in
 * place) that came from the server with r. */
void s3_response_redact(const struct s3_client *c, const struct s3_response *r, char *text);

#endif
