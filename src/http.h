/* http: the parts of libcurl handling the S3 store and the Lambda Runtime API
 * client share and that can be tested without a network: one-time global
 * init, request header lines, the parsing of response header lines, and
 * capture of the response headers S3 clients care about into fixed-size
 * fields (no server-driven allocation).
 *
 * The shared libcurl helper: libcurl is called only here, in s3/client (the
 * S3 request engine) and in runtime_api (the Lambda Runtime API client). */
#ifndef BCR_HTTP_H
#define BCR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Runs curl_global_init once per process, whoever calls first (thread-safe).
 * Returns 0, or -1 with err set if libcurl could not initialise. */
int http_global_init(struct error *err);

/* The libcurl linked in: its version, and c-ares's when it is libcurl's
 * resolver (NULL otherwise); static strings. */
void http_libcurl_version(const char **curl, const char **ares);

struct curl_slist;

/* Appends the request header line "Name: value" to *list, or "Name:" when
 * value is "" (which tells libcurl to send no such header, e.g. no Expect).
 * Both strings are copied. Returns 0, or -1 if out of memory (*list is then
 * unchanged, still the caller's to free). */
int http_header_add(struct curl_slist **list, const char *name, const char *value);

/* One response header line, split: the name before the first ':', and the
 * value after it, without the line's CR/LF or the blanks around it. Both
 * point into the line (borrowed, not NUL-terminated). */
struct http_header {
    const char *name, *value;
    size_t name_len, value_len;
};

/* Splits a line as libcurl's header callback gives it ("Name: value", CRLF or
 * LF, not NUL-terminated). Returns false for a line without a ':' (the blank
 * line ending the headers; a status line may hold one, so callers look for
 * "HTTP/" first). */
bool http_header_split(const char *line, size_t len, struct http_header *h);

/* Whether the header's name is `name`, ignoring case (only the whole name:
 * "ETag" is not "ETag-Extra"). */
bool http_header_is(const struct http_header *h, const char *name);

/* Copies the value, NUL-terminated, into out (cap > 0 bytes). Returns true,
 * or false if it does not fit: out then holds its first cap - 1 bytes, and
 * the caller decides whether a cut value is any use. */
bool http_header_copy(const struct http_header *h, char *out, size_t cap);

enum {
    HTTP_ETAG_MAX = 256,
    HTTP_REQUEST_ID_MAX = 128,
    HTTP_REGION_MAX = 64,
    HTTP_LOCATION_MAX = 512
};

/* What one response said in its headers. Fields keep the values of the last
 * status line's headers: a "100 Continue" block is replaced by the final one. */
struct http_response {
    long status;            /* 0 until a status line arrives */
    bool headers_done;      /* the blank line ending a final (>= 200) response's headers */
    int64_t content_length; /* -1 if absent or unparsable */
    bool has_content_range; /* "bytes FIRST-LAST/TOTAL" parsed into the three below */
    int64_t range_first, range_last, range_total;
    char etag[HTTP_ETAG_MAX]; /* as sent, quotes included; "" if absent */
    bool etag_too_long;       /* an ETag was sent that does not fit (never truncated silently) */
    char request_id[HTTP_REQUEST_ID_MAX]; /* x-amz-request-id, truncated; for logs */
    char bucket_region[HTTP_REGION_MAX];  /* x-amz-bucket-region (wrong-region hints) */
    char location[HTTP_LOCATION_MAX];     /* Location (where a redirect points), truncated */
};

void http_response_reset(struct http_response *r);

/* Feeds one header line exactly as libcurl's header callback gives it
 * (status line, "Name: value", or the blank line; CRLF or LF; not
 * NUL-terminated). Unknown headers are ignored. */
void http_response_header(struct http_response *r, const char *line, size_t len);

/* Parses a Content-Range value "bytes FIRST-LAST/TOTAL" (TOTAL may not be "*").
 * Returns 0, or -1 if it is anything else or inconsistent (LAST < FIRST,
 * LAST >= TOTAL). */
int http_parse_content_range(const char *value, size_t len, int64_t *first, int64_t *last,
                             int64_t *total);

/* Parses a non-negative decimal that fits int64_t, surrounded by optional
 * blanks only. Returns 0 or -1. */
int http_parse_int64(const char *s, size_t len, int64_t *out);

/* The reason phrase of a status ("Not Found") as Python's http.client gives
 * it (botocore quotes it for a response without an error document), or "" if
 * unknown. */
const char *http_reason(long status);

#endif
