/* s3/sigv4: AWS Signature Version 4 for requests to S3 (Authorization header form).
 *
 * S3 differs from the generic algorithm in two ways, both followed here: the
 * canonical URI is the path exactly as sent (encoded once, never normalised),
 * and x-amz-content-sha256 is a signed header. Nothing here logs; secret
 * material (the secret key and every key derived from it) is wiped after use.
 *
 * All strings are borrowed for the duration of a call. Functions that write a
 * NUL-terminated string into (out, cap) fail rather than truncate. */
#ifndef BCR_SIGV4_H
#define BCR_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "s3/credentials.h"
#include "error.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* SHA-256 of zero bytes: the payload hash of a request without a body. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Lowercase hex SHA-256 of n bytes, NUL-terminated. On an OpenSSL failure
 * (out of memory) out is the empty string, which sigv4_sign refuses. */
void sigv4_sha256_hex(const void *data, size_t n, char out[65]);

/* A query parameter or header: raw, unencoded. A NULL value means "". */
struct sigv4_param {
    const char *name;
    const char *value;
};

/* URI-encodes bytes as SigV4 wants: everything except A-Z a-z 0-9 - _ . ~
 * becomes %XX (uppercase hex); '/' is kept when keep_slash. Writes a
 * NUL-terminated string; returns its length, or -1 if cap is too small. */
int sigv4_uri_encode(const char *in, size_t in_len, bool keep_slash, char *out, size_t cap);

/* The canonical query string: each name and value encoded (slash encoded too),
 * sorted by encoded name then encoded value, joined name=value with '&' (a
 * valueless parameter such as ?uploads gives "uploads="). It is also the query
 * string to send. Returns its length, or -1 if cap is too small, a name is
 * NULL or memory ran out. */
int sigv4_canonical_query(const struct sigv4_param *params, size_t n, char *out, size_t cap);

struct sigv4_request {
    const char *method;              /* "GET", "PUT", ...: uppercase letters only */
    const char *host;                /* value of the Host header, with :port when non-default */
    const char *encoded_path;        /* canonical URI, already encoded: '/' then only unreserved
                                        characters, '/' and %XX (S3: no double-encoding, no
                                        normalisation; "//" and "/./" are kept as they are) */
    const struct sigv4_param *query; /* raw params, any order */
    size_t query_count;
    /* Other headers to sign, any case. Values are trimmed and inner runs of
     * spaces and tabs collapsed to one space by the signer; a name given twice
     * signs the values joined with ',' in the order given. Host, x-amz-date,
     * x-amz-content-sha256, x-amz-security-token and Authorization are refused:
     * the signer sets those itself. */
    const struct sigv4_param *headers;
    size_t header_count;
    const char *payload_hash; /* lowercase hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    /* Leaves x-amz-content-sha256 out of the signed headers. S3 requires it, so
     * leave this false; it exists for the generic SigV4 test suite. */
    bool omit_content_sha256;
};

struct sigv4_context {
    const struct aws_credentials *credentials; /* borrowed */
    const char *region;                        /* e.g. "eu-west-2" */
    const char *service;                       /* "s3" */
    time_t now;                                /* signing time (UTC seconds) */
};

struct sigv4_signature {
    char amz_date[17];        /* x-amz-date value, YYYYMMDD'T'HHMMSS'Z' */
    char authorization[1024]; /* Authorization header value */
};

/* Signs: the signed headers are host, x-amz-content-sha256, x-amz-date,
 * x-amz-security-token (when the credentials have a session token) and every
 * header in req->headers, lowercased and sorted. The caller must send exactly
 * those headers: Host, x-amz-date (from the result), x-amz-content-sha256
 * (= payload_hash), x-amz-security-token (= the session token), the others as
 * given; and the query string from sigv4_canonical_query. Returns 0, or -1
 * with err set (ERR_CONFIG for input that cannot be signed, including an
 * Authorization value longer than the 1023 characters it has room for;
 * ERR_OUT_OF_MEMORY). */
int sigv4_sign(const struct sigv4_request *req, const struct sigv4_context *ctx,
               struct sigv4_signature *out, struct error *err);

/* Formats t as an x-amz-date value. Returns 0, or -1 if the year is outside
 * 0000-9999 or t cannot be converted. */
int sigv4_amz_date(time_t t, char out[17]);

/* The canonical request and the string to sign for the same inputs as
 * sigv4_sign, with amz_date (YYYYMMDD'T'HHMMSS'Z') given rather than derived
 * from ctx->now; ctx->credentials supplies only the session token. Exposed for
 * tests and fuzzing. Return the length written, or -1 (invalid input, cap too
 * small, out of memory). */
int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_context *ctx,
                            const char *amz_date, char *out, size_t cap);
int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_context *ctx,
                         const char *amz_date, char *out, size_t cap);

#endif
