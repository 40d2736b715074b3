/* s3/config: everything the S3 store decides before it talks to a server, as
 * pure functions that can be tested without one: where requests go (endpoint,
 * addressing style, URL and canonical path of an object), which CA bundle
 * verifies TLS, the tunables read from the environment, and the retry policy
 * (which failures are retried, and the backoff between attempts). */
#ifndef BCR_S3_CONFIG_H
#define BCR_S3_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "s3/credentials.h"

enum {
    S3_REGION_MAX = 64,
    S3_HOST_MAX = 320,
    S3_BASE_PATH_MAX = 256,
    S3_CA_PATH_MAX = 1024,
    S3_PATH_MAX = 4096, /* encoded canonical path: bucket and a 1024-byte key, encoded */
    S3_URL_MAX = S3_PATH_MAX + 2048,
};

#define S3_MIN_PART_SIZE ((size_t)5 << 20) /* S3's minimum for every part but the last */
#define S3_MAX_PART_SIZE ((size_t)5 << 30)
#define S3_MAX_PARTS 10000

struct s3_config {
    char region[S3_REGION_MAX];
    bool custom_endpoint; /* true: path-style requests to scheme://authority/base_path */
    bool https;
    char authority[S3_HOST_MAX];      /* host[:port] of a custom endpoint, as given */
    char base_path[S3_BASE_PATH_MAX]; /* "" or "/prefix" of a custom endpoint, no trailing '/' */
    char ca_dir[S3_CA_PATH_MAX];      /* a hashed CA directory, or "": use ca_bundle */
    char ca_bundle[S3_CA_PATH_MAX];   /* "" means libcurl's built-in default; unused with ca_dir */
    /* The tunables; their defaults and bounds are the settings table's (settings.h). */
    int max_attempts;        /* AWS_MAX_ATTEMPTS, default 3 */
    size_t part_size;        /* BCR_S3_PART_SIZE, default 8 MiB */
    long low_speed_limit;    /* bytes/s; BCR_S3_LOW_SPEED_LIMIT, default 1024 */
    long low_speed_time;     /* seconds; BCR_S3_LOW_SPEED_TIME, default 10 */
    long connect_timeout_ms; /* BCR_S3_CONNECT_TIMEOUT_MS, default 5000 */
    /* BCR_EXPECTED_BUCKET_OWNER: 12 digits, or "" for none. When set, every
     * request carries it (signed) as x-amz-expected-bucket-owner, so S3 refuses
     * (AccessDenied) a bucket that another account owns. */
    char expected_bucket_owner[13];
};

/* What the credentials chain needs of the environment, read now (settings.h):
 * for credentials_load and credentials_profile_region. */
void s3_config_aws_env(struct aws_env *out);

/* Fills c from the two options (either may be NULL) and the environment:
 *   region:   region, else AWS_REGION, else AWS_DEFAULT_REGION (empty counts as
 *             unset), else the profile's region in the AWS config file
 *             (credentials_profile_region); none is a ConfigurationError.
 *   endpoint: endpoint_url, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL;
 *             must be http:// or https://; none means AWS itself.
 *   trust store: SSL_CERT_FILE if set (a bundle), else a hashed directory
 *   (s3_ca_dir_select), else a bundle (s3_ca_bundle_select); AWS_MAX_ATTEMPTS (1..100) and the
 * BCR_S3_* tunables: see s3_ca_bundle_select and the fields above. BCR_S3_PART_SIZE may go below
 *   S3's 5 MiB minimum (down to 1 byte), for tests against servers that do not
 *   enforce it (s3rver); real S3 rejects such uploads.
 * A malformed value is a ConfigurationError naming the variable. */
int s3_config_resolve(struct s3_config *c, const char *region, const char *endpoint_url,
                      struct error *err);

/* Largest SSL_CERT_FILE taken: twenty times a full public CA bundle. libcurl
 * parses the bundle during the first connection, and that time would count
 * against the server's minimum rate (BCR_S3_LOW_SPEED_*). */
#define S3_CA_BUNDLE_MAX (4 * 1024 * 1024)

/* The CA bundle: ssl_cert_file (SSL_CERT_FILE) if non-empty, which must then
 * exist and be at most S3_CA_BUNDLE_MAX bytes; else the first of the
 * NULL-terminated candidates that is a readable file; else "" (libcurl's
 * default). Returns 0, or -1 with err set. */
int s3_ca_bundle_select(const char *ssl_cert_file, const char *const *candidates, char *out,
                        size_t cap, struct error *err);

/* The usual places, Debian's first, then Amazon Linux/RHEL's. NULL-terminated. */
extern const char *const s3_ca_bundle_candidates[];

/* The trust store, when SSL_CERT_FILE is not set: a hashed CA directory
 * (OpenSSL's HASH.N links), from which OpenSSL reads only the certificates a
 * handshake looks up, where a bundle is parsed whole at the first TLS
 * connection (about 145 certificates: most of a cold start's first request).
 * ssl_cert_dir (SSL_CERT_DIR) if non-empty, which must then be a readable
 * directory; else the first of the NULL-terminated candidates that holds a
 * hash link; else "" (s3_config_resolve then selects a bundle). Returns 0, or
 * -1 with err set. */
int s3_ca_dir_select(const char *ssl_cert_dir, const char *const *candidates, char *out, size_t cap,
                     struct error *err);

/* The systems' hashed directories, Amazon Linux's first. NULL-terminated. */
extern const char *const s3_ca_dir_candidates[];

/* True if the bucket can be a host name label under a wildcard TLS
 * certificate: 3-63 of [a-z0-9-], starting and ending with a letter or digit
 * (no dots, which would not match *.s3.REGION.amazonaws.com). */
bool s3_bucket_is_virtual_hostable(const char *bucket);

/* Where one request goes. */
struct s3_target {
    char host[S3_HOST_MAX]; /* Host header value (with ":port" if the URL has one) */
    char path[S3_PATH_MAX]; /* the encoded path: the canonical URI as signed */
    char url[S3_URL_MAX];   /* scheme://host + path + ("?" + query if any) */
};

/* Builds the target for an object. Virtual-hosted style
 * (https://BUCKET.s3.REGION.amazonaws.com/KEY) on AWS when the bucket allows
 * it, else path style (.../BUCKET/KEY). The key is encoded keeping '/', so
 * "a//b/../c" stays exactly that object. wire_query is appended as is (may be
 * NULL or ""). An empty key or one too long for the buffers is InvalidKey. */
int s3_target_build(const struct s3_config *c, const char *bucket, const char *key,
                    const char *wire_query, struct s3_target *out, struct error *err);

/* Retry policy, as the AWS SDKs' "standard" mode. */
enum s3_retry_kind {
    S3_RETRY_NONE,      /* final: other 4xx, TLS verification, our own aborts */
    S3_RETRY_TRANSIENT, /* 500/502/504, InternalError, RequestTimeout, connection errors */
    S3_RETRY_THROTTLE,  /* 429, 503, SlowDown, Throttling and its kin */
};

/* Classifies an HTTP error response by status and S3 error code (may be ""). */
enum s3_retry_kind s3_retry_for_response(long status, const char *code);
/* Classifies a libcurl transfer failure (a CURLcode). */
enum s3_retry_kind s3_retry_for_transport(int curl_code);

/* Backoff before retry number `retry` (1 for the first retry), full jitter:
 * unit * min(20 s, base * 2^(retry-1)) with base 100 ms (500 ms when
 * throttled); unit is a random number in [0, 1). Returns milliseconds. */
int64_t s3_backoff_ms(int retry, enum s3_retry_kind kind, double unit);

#endif
