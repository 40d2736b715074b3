/* requestfloor: the step's S3 requests and nothing else, for `make bench-prod`.
 *
 *   requestfloor ENDPOINT BUCKET OUT_KEY OUT_BYTES PART_BYTES IN_BYTES IN_KEY...
 *
 * Makes the requests the step makes, in the same order, over the same TLS (the lean static
 * libcurl and OpenSSL of the package, verifying the server against SSL_CERT_DIR or
 * SSL_CERT_FILE), on keep-alive connections as the step holds them: on one, GET of every
 * IN_KEY (the manifest first), each body dropped as it arrives; then OUT_BYTES of zeros to
 * OUT_KEY. If they fit in one part of PART_BYTES, one PutObject on the same connection once
 * every GET is done; else, on a second connection, a multipart upload whose parts go out from a
 * thread of their own while the GETs go on, as the step's do: part k goes once the share of
 * IN_BYTES (the inputs' total) that makes k parts of output has arrived (the step's output grows in
 * step with its input), the rest after the last GET, then the completion. No signing (the bench's
 * S3 takes anonymous requests), no parsing, no hashing: what remains is the network's and TLS's
 * share of the step's time.
 *
 * With AWS_LAMBDA_RUNTIME_API set it is a Lambda function (a `provided` bootstrap): for each
 * invocation it makes the same requests (on connections kept between invocations, as the step
 * keeps them) and answers {}: the cold-start floor of the step under the same emulator. */
#define _DEFAULT_SOURCE
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "requestfloor: %s: %s\n", what, detail);
    exit(1);
}

/* A connection: its handle, the last response's body (up to 64 KiB, when kept), ETag and
 * request id, and the request body being sent. */
struct conn {
    CURL *e;
    char body[65536];
    size_t len;
    int keep;
    char etag[128];
    char request_id[128];
    const char *send, *send_start;
    size_t send_left, send_len;
};

/* Input bytes received so far, in this invocation; the uploader waits on it. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    unsigned long long got;
    int done;
} progress = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    struct conn *c = user;
    size_t len = size * n;
    if (c->keep) {
        size_t take = len < sizeof c->body - 1 - c->len ? len : sizeof c->body - 1 - c->len;
        memcpy(c->body + c->len, p, take);
        c->len += take;
        c->body[c->len] = '\0';
    } else {
        pthread_mutex_lock(&progress.lock);
        progress.got += len;
        pthread_cond_broadcast(&progress.cond);
        pthread_mutex_unlock(&progress.lock);
    }
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    struct conn *c = user;
    size_t len = size * n, skip = 0;
    char *dst = NULL;
    if (len > 5 && strncasecmp(p, "ETag:", 5) == 0)
        dst = c->etag, skip = 5;
    else if (len > 30 && strncasecmp(p, "Lambda-Runtime-Aws-Request-Id:", 30) == 0)
        dst = c->request_id, skip = 30;
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

/* libcurl rewinds a body it must send again (a kept-alive connection the server had closed). */
static int on_seek(void *user, curl_off_t offset, int origin)
{
    struct conn *c = user;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > c->send_len)
        return CURL_SEEKFUNC_CANTSEEK;
    c->send = c->send_start + offset;
    c->send_left = c->send_len - (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t on_send(char *dst, size_t size, size_t n, void *user)
{
    struct conn *c = user;
    size_t take = size * n < c->send_left ? size * n : c->send_left;
    memcpy(dst, c->send, take);
    c->send += take;
    c->send_left -= take;
    return take;
}

/* One request: method, url, a body of `len` bytes at `p` (or none); the response body kept
 * or dropped (counted as input). Dies unless the answer is 2xx. */
static void request(struct conn *c, const char *method, const char *url, const char *p, size_t len,
                    int keep)
{
    CURL *e = c->e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_POST, 0L);
    curl_easy_setopt(e, CURLOPT_UPLOAD, p ? 1L : 0L);
    if (p) {
        c->send = c->send_start = p;
        c->send_left = c->send_len = len;
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
    c->keep = keep;
    c->len = 0;
    c->etag[0] = c->request_id[0] = c->body[0] = '\0';
    CURLcode rc = curl_easy_perform(e);
    if (rc != CURLE_OK)
        die(url, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
        die(url, c->len ? c->body : "not 2xx");
}

static void conn_init(struct conn *c)
{
    memset(c, 0, sizeof *c);
    if (!(c->e = curl_easy_init()))
        die("curl", "cannot make a handle");
    CURL *e = c->e;
    /* Requests carry their length; no Expect: 100-continue round trip, as the step sends none. */
    static struct curl_slist *h;
    if (!h)
        h = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)c);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)c);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_send);
    curl_easy_setopt(e, CURLOPT_READDATA, (void *)c);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, (void *)c);
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
}

static struct conn reader, uploader;

/* The upload's parameters, for the uploader thread. */
static struct {
    char base[4096];
    unsigned long long out_bytes, part, in_bytes;
    char *zeros;
} up;

/* Waits until `need` input bytes have arrived, or every GET is done. */
static void wait_input(unsigned long long need)
{
    pthread_mutex_lock(&progress.lock);
    while (progress.got < need && !progress.done)
        pthread_cond_wait(&progress.cond, &progress.lock);
    pthread_mutex_unlock(&progress.lock);
}

static void *upload(void *arg)
{
    (void)arg;
    static char url[8192], xml[1 << 20];
    if (up.out_bytes <= up.part) {
        /* The step's PutObject goes on the connection the GETs used, now free. */
        wait_input(~0ULL);
        request(&reader, "PUT", up.base, up.zeros, up.out_bytes, 0);
        return NULL;
    }
    unsigned long long parts = (up.out_bytes + up.part - 1) / up.part;
    char id[256];
    size_t n = (size_t)snprintf(xml, sizeof xml, "<CompleteMultipartUpload>");
    for (unsigned long long k = 1; k <= parts; k++) {
        /* Part k is full once k parts of the output, so as large a share of the input, have
         * been made. */
        unsigned long long made = k * up.part < up.out_bytes ? k * up.part : up.out_bytes;
        wait_input((unsigned long long)((double)up.in_bytes * (double)made / (double)up.out_bytes));
        if (k == 1) {
            snprintf(url, sizeof url, "%s?uploads", up.base);
            request(&uploader, "POST", url, NULL, 0, 1);
            const char *s = strstr(uploader.body, "<UploadId>");
            const char *t = s ? strstr(s, "</UploadId>") : NULL;
            if (!t || t - s - 10 >= (long)sizeof id)
                die("CreateMultipartUpload", "no UploadId");
            snprintf(id, sizeof id, "%.*s", (int)(t - s - 10), s + 10);
        }
        unsigned long long done = (k - 1) * up.part;
        size_t len = (size_t)(up.out_bytes - done < up.part ? up.out_bytes - done : up.part);
        snprintf(url, sizeof url, "%s?partNumber=%llu&uploadId=%s", up.base, k, id);
        request(&uploader, "PUT", url, up.zeros, len, 0);
        n += (size_t)snprintf(xml + n, sizeof xml - n,
                              "<Part><PartNumber>%llu</PartNumber><ETag>%s</ETag></Part>", k,
                              uploader.etag);
        if (n >= sizeof xml - 512)
            die("CompleteMultipartUpload", "too many parts");
    }
    wait_input(~0ULL);
    snprintf(xml + n, sizeof xml - n, "</CompleteMultipartUpload>");
    snprintf(url, sizeof url, "%s?uploadId=%s", up.base, id);
    request(&uploader, "POST", url, xml, strlen(xml), 1);
    return NULL;
}

/* The step's requests, once. */
static void run(char **argv, int argc)
{
    const char *endpoint = argv[1], *bucket = argv[2];
    snprintf(up.base, sizeof up.base, "%s/%s/%s", endpoint, bucket, argv[3]);
    up.out_bytes = strtoull(argv[4], NULL, 10);
    up.part = strtoull(argv[5], NULL, 10);
    up.in_bytes = strtoull(argv[6], NULL, 10);
    if (!up.zeros && !(up.zeros = calloc(1, up.part)))
        die("calloc", "out of memory");
    progress.got = 0;
    progress.done = 0;
    pthread_t t;
    if (pthread_create(&t, NULL, upload, NULL) != 0)
        die("pthread_create", "cannot start the uploader");
    static char url[8192];
    for (int i = 7; i < argc; i++) {
        snprintf(url, sizeof url, "%s/%s/%s", endpoint, bucket, argv[i]);
        request(&reader, "GET", url, NULL, 0, 0);
    }
    pthread_mutex_lock(&progress.lock);
    progress.done = 1;
    pthread_cond_broadcast(&progress.cond);
    pthread_mutex_unlock(&progress.lock);
    pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 8) {
        fprintf(stderr, "usage: requestfloor ENDPOINT BUCKET OUT_KEY OUT_BYTES PART_BYTES "
                        "IN_BYTES IN_KEY...\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    conn_init(&reader);
    conn_init(&uploader);
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) {
        run(argv, argc);
        return 0;
    }
    static struct conn runtime;
    conn_init(&runtime);
    char url[512];
    for (;;) {
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
        request(&runtime, "GET", url, NULL, 0, 1);
        char id[128];
        snprintf(id, sizeof id, "%s", runtime.request_id);
        run(argv, argc);
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/response", api, id);
        request(&runtime, "POST", url, "{}", 2, 1);
    }
}
