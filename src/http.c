#define _POSIX_C_SOURCE 200809L
#include "http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_OK;

static void global_init(void)
{
    /* libcurl asks OpenSSL to read openssl.cnf; the program sets every TLS
     * option it relies on itself, and Lambda has no such file: skip the
     * lookup and parse on the cold path (the first call decides). */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int http_global_init(struct error *err)
{
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK)
        return error_set(err, ERR_IO, "cannot initialise libcurl: %s",
                         curl_easy_strerror(global_result));
    return 0;
}

void http_libcurl_version(const char **curl, const char **ares)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    *curl = v->version;
    *ares = v->ares;
}

void http_response_reset(struct http_response *r)
{
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    r->range_first = r->range_last = r->range_total = -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

int http_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    while (i < len && is_blank(s[i]))
        i++;
    size_t start = i;
    int64_t v = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        int d = s[i] - '0';
        if (v > (INT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (i == start)
        return -1;
    while (i < len && is_blank(s[i]))
        i++;
    if (i != len)
        return -1;
    *out = v;
    return 0;
}

int http_parse_content_range(const char *value, size_t len, int64_t *first, int64_t *last,
                             int64_t *total)
{
    while (len > 0 && is_blank(*value)) {
        value++;
        len--;
    }
    while (len > 0 && is_blank(value[len - 1]))
        len--;
    if (len < 6 || strncasecmp(value, "bytes", 5) != 0 || !is_blank(value[5]))
        return -1;
    const char *p = value + 6, *end = value + len;
    const char *dash = memchr(p, '-', (size_t)(end - p));
    const char *slash = dash ? memchr(dash, '/', (size_t)(end - dash)) : NULL;
    int64_t f, l, t;
    if (!slash || http_parse_int64(p, (size_t)(dash - p), &f) != 0 ||
        http_parse_int64(dash + 1, (size_t)(slash - dash - 1), &l) != 0 ||
        http_parse_int64(slash + 1, (size_t)(end - slash - 1), &t) != 0 || l < f || l >= t)
        return -1;
    *first = f;
    *last = l;
    *total = t;
    return 0;
}

int http_header_add(struct curl_slist **list, const char *name, const char *value)
{
    size_t name_len = strlen(name), value_len = strlen(value);
    char *line = malloc(name_len + value_len + 3);
    if (!line)
        return -1;
    memcpy(line, name, name_len);
    line[name_len] = ':';
    size_t n = name_len + 1;
    if (value_len > 0)
        line[n++] = ' ';
    memcpy(line + n, value, value_len + 1);
    struct curl_slist *longer = curl_slist_append(*list, line);
    free(line);
    if (!longer)
        return -1;
    *list = longer;
    return 0;
}

bool http_header_split(const char *line, size_t len, struct http_header *h)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    const char *v = colon + 1, *end = line + len;
    while (v < end && is_blank(*v))
        v++;
    while (end > v && is_blank(end[-1]))
        end--;
    *h = (struct http_header){
        .name = line,
        .name_len = (size_t)(colon - line),
        .value = v,
        .value_len = (size_t)(end - v),
    };
    return true;
}

bool http_header_is(const struct http_header *h, const char *name)
{
    return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

bool http_header_copy(const struct http_header *h, char *out, size_t cap)
{
    bool fits = h->value_len < cap;
    size_t n = fits ? h->value_len : cap - 1;
    memcpy(out, h->value, n);
    out[n] = '\0';
    return fits;
}

void http_response_header(struct http_response *r, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0) {
        if (r->status >= 200)
            r->headers_done = true;
        return;
    }
    if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after 1xx, or a new response): start afresh. */
        http_response_reset(r);
        const char *sp = memchr(line, ' ', len);
        long status = 0;
        for (const char *p = sp ? sp + 1 : line + len; p < line + len && *p >= '0' && *p <= '9';
             p++)
            status = status < 1000 ? status * 10 + (*p - '0') : status;
        r->status = status;
        return;
    }
    struct http_header h;
    if (!http_header_split(line, len, &h))
        return;
    if (http_header_is(&h, "content-length")) {
        if (http_parse_int64(h.value, h.value_len, &r->content_length) != 0)
            r->content_length = -1;
    } else if (http_header_is(&h, "content-range")) {
        r->has_content_range = http_parse_content_range(h.value, h.value_len, &r->range_first,
                                                        &r->range_last, &r->range_total) == 0;
    } else if (http_header_is(&h, "etag")) {
        r->etag_too_long = !http_header_copy(&h, r->etag, sizeof r->etag);
    } else if (http_header_is(&h, "x-amz-request-id")) {
        http_header_copy(&h, r->request_id, sizeof r->request_id);
    } else if (http_header_is(&h, "x-amz-bucket-region")) {
        http_header_copy(&h, r->bucket_region, sizeof r->bucket_region);
    } else if (http_header_is(&h, "location")) {
        http_header_copy(&h, r->location, sizeof r->location);
    }
}

const char *http_reason(long status)
{
    switch (status) {
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 408:
        return "Request Timeout";
    case 412:
        return "Precondition Failed";
    case 416:
        return "Requested Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}
