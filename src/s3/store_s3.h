/* store_s3: the object-store interface over Amazon S3 (or an S3-compatible
 * endpoint), with libcurl and SigV4.
 *
 * Reads stream: a reader holds one GET open and pulls bytes as the caller asks,
 * with at most ~200 KiB buffered; a body cut short is resumed from the byte
 * reached (Range, If-Match on the first ETag), never restarted or truncated.
 * Writes buffer one part (8 MiB, BCR_S3_PART_SIZE): a small object is one
 * PutObject, a larger one a multipart upload, aborted on any failure. Requests
 * are retried as the AWS SDKs' standard mode (AWS_MAX_ATTEMPTS, default 3),
 * re-signed each time; failures carry S3's error code as errorType and
 * botocore's message wording. Logs one DEBUG line per request, WARN per retry;
 * never a secret. Not thread-safe: one store, its readers and writers belong to
 * one thread. */
#ifndef BCR_STORE_S3_H
#define BCR_STORE_S3_H

#include <stdint.h>

#include "store.h"

struct s3_options {
    const char *region;       /* --region, or NULL: AWS_REGION, else AWS_DEFAULT_REGION, else
                                 the profile's region; none → ConfigurationError */
    const char *endpoint_url; /* --endpoint-url, or NULL: AWS_ENDPOINT_URL_S3, else
                                 AWS_ENDPOINT_URL, else https://s3.REGION.amazonaws.com */
};

/* Creates an S3 store (loads credentials, region, endpoint, CA bundle,
 * AWS_MAX_ATTEMPTS; see s3/config.h for the BCR_S3_* tunables). The options'
 * strings are copied. The caller owns the store (store_destroy), and must end
 * its readers and writers first. Connections are kept and reused across
 * requests and calls. Returns NULL with err set on failure. */
struct store *store_s3_new(const struct s3_options *options, struct error *err);

#endif
