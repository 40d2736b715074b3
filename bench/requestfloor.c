/* requestfloor: the step's S3 requests and nothing else, for `make bench-prod`.
 *
 *   requestfloor ENDPOINT BUCKET OUT_KEY OUT_BYTES PART_BYTES IN_KEY...
 *
 * Makes the requests the step makes, in the same order, over the same TLS (the lean static
 * libcurl and OpenSSL of the package, verifying the server against SSL_CERT_DIR or
 * SSL_CERT_FILE), on two keep-alive connections as the step holds them (one for reading, one
 * for the upload): GET of every IN_KEY (the manifest first), each body dropped as it arrives;
 * then OUT_BYTES of zeros to OUT_KEY, as one PutObject if they fit in one part of PART_BYTES,
 * else as a multipart upload (create, parts one after the other, complete). No signing (the
 * bench's S3 takes anonymous requests), no parsing, no hashing, one request after the other:
 * what remains is the network's and TLS's share of the step's time.
 *
 * With AWS_LAMBDA_RUNTIME_API set it is a Lambda function (a `provided` bootstrap): for each
 * invocation it makes the same requests (on connections kept between invocations, as the step
 * keeps them) and answers {}: the cold-start floor of the step under the same emulator. */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "requestfloor: %s: %s\n", what, detail);
    exit(1);
}

static size_t drop(char *p, size_t size, size_t n, void *user)
{
    (void)p;
    (void)user;
    return size * n;
}

/* A response body kept (up to 64 KiB), and the ETag and request id headers. */
static struct {
    char body[65536];
    size_t len;
    char etag[128];
    char request_id[128];
} resp;

static size_t keep(char *p, size_t size, size_t n, void *user)
{
    (void)user;
    size_t take = size * n;
    if (take > sizeof resp.body - 1 - resp.len)
        take = sizeof resp.body - 1 - resp.len;
    memcpy(resp.body + resp.len, p, take);
    resp.len += take;
    resp.body[resp.len] = '\0';
    return size * n;
}

static size_t header(char *p, size_t size, size_t n, void *user)
{
    (void)user;
    size_t len = size * n;
    char *dst = NULL;
    size_t skip = 0;
    if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
        dst = resp.etag, skip = 5;
    else if (len > 30 && strncasecmp(p, "Lambda-Runtime-Aws-Request-Id:", 30) == 0)
        dst = resp.request_id, skip = 30;
    if (dst) {
        while (skip < len && p[skip] == ' ')
            skip++;
        size_t end = len;
        while (end > skip && (p[end - 1] == '\r' || p[end - 1] == '\n'))
            end--;
        snprintf(dst, 128, "%.*s", (int)(end - skip), p + skip);
    }
    return len;
}

/* Reads a request body from memory. */
static struct body {
    const char *p;
    size_t left;
} body;

static size_t feed(char *dst, size_t size, size_t n, void *user)
{
    (void)user;
    size_t take = size * n < body.left ? size * n : body.left;
    memcpy(dst, body.p, take);
    body.p += take;
    body.left -= take;
    return take;
}

/* One request on `e`: method, url, a body of `len` bytes at `p` (or none), the response body
 * dropped or kept. Dies unless the answer is 2xx. */
static void request(CURL *e, const char *method, const char *url, const char *p, size_t len,
                    int keep_body)
{
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_POST, 0L);
    curl_easy_setopt(e, CURLOPT_UPLOAD, p ? 1L : 0L);
    if (p) {
        body.p = p;
        body.left = len;
        curl_easy_setopt(e, CURLOPT_READFUNCTION, feed);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
    resp.len = 0;
    resp.etag[0] = resp.request_id[0] = resp.body[0] = '\0';
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, keep_body ? keep : drop);
    CURLcode rc = curl_easy_perform(e);
    if (rc != CURLE_OK)
        die(url, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        die(url, resp.len ? resp.body : "not 2xx");
}

static CURL *handle(void)
{
    CURL *e = curl_easy_init();
    if (!e)
        die("curl", "cannot make a handle");
    /* Requests carry their length; no Expect: 100-continue round trip, as the step sends none. */
    static struct curl_slist *h;
    if (!h)
        h = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 64L * 1024);
    const char *dir = getenv("SSL_CERT_DIR"), *file = getenv("SSL_CERT_FILE");
    if (dir) {
        curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(e, CURLOPT_CAPATH, dir);
    } else if (file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, file);
    }
    return e;
}

static CURL *reader, *uploader;

/* The step's requests, once. */
static void run(char **argv, int argc)
{
    const char *endpoint = argv[1], *bucket = argv[2], *out_key = argv[3];
    size_t out_bytes = strtoull(argv[4], NULL, 10), part = strtoull(argv[5], NULL, 10);
    static char url[8192], xml[1 << 20];
    static char *zeros;
    if (!zeros && !(zeros = calloc(1, part)))
        die("calloc", "out of memory");
    for (int i = 6; i < argc; i++) {
        snprintf(url, sizeof url, "%s/%s/%s", endpoint, bucket, argv[i]);
        request(reader, "GET", url, NULL, 0, 0);
    }
    char base[4096], id[256];
    snprintf(base, sizeof base, "%s/%s/%s", endpoint, bucket, out_key);
    if (out_bytes <= part) {
        request(uploader, "PUT", base, zeros, out_bytes, 0);
        return;
    }
    snprintf(url, sizeof url, "%s?uploads", base);
    request(uploader, "POST", url, NULL, 0, 1);
    const char *s = strstr(resp.body, "<UploadId>"), *t = s ? strstr(s, "</UploadId>") : NULL;
    if (!t || t - s - 10 >= (long)sizeof id)
        die("CreateMultipartUpload", "no UploadId");
    snprintf(id, sizeof id, "%.*s", (int)(t - s - 10), s + 10);
    size_t n = (size_t)snprintf(xml, sizeof xml, "<CompleteMultipartUpload>");
    int number = 1;
    for (size_t done = 0; done < out_bytes; done += part, number++) {
        size_t len = out_bytes - done < part ? out_bytes - done : part;
        snprintf(url, sizeof url, "%s?partNumber=%d&uploadId=%s", base, number, id);
        request(uploader, "PUT", url, zeros, len, 0);
        n += (size_t)snprintf(xml + n, sizeof xml - n,
                              "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", number,
                              resp.etag);
        if (n >= sizeof xml - 512)
            die("CompleteMultipartUpload", "too many parts");
    }
    snprintf(xml + n, sizeof xml - n, "</CompleteMultipartUpload>");
    snprintf(url, sizeof url, "%s?uploadId=%s", base, id);
    request(uploader, "POST", url, xml, strlen(xml), 1);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: requestfloor ENDPOINT BUCKET OUT_KEY OUT_BYTES PART_BYTES "
                        "IN_KEY...\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    reader = handle();
    uploader = handle();
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        run(argv, argc);
        return 0;
    }
    CURL *runtime = handle();
    char url[512];
    for (;;) {
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
        request(runtime, "GET", url, NULL, 0, 0);
        char id[128];
        snprintf(id, sizeof id, "%s", resp.request_id);
        run(argv, argc);
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api, id);
        request(runtime, "POST", url, "{}", 2, 0);
    }
}
