/* multipartfloor: the cost of moving the bytes to S3 the way the step must, for the benchmark.
 *
 *   multipartfloor ENDPOINT BUCKET OUT_KEY BODY_FILE IN_KEY...
 *
 * ENDPOINT is http://HOST:PORT (plain HTTP, no signing: bench/s3rver.js allows anonymous
 * requests). On one keep-alive connection, one request after the other: GETs every IN_KEY
 * (bodies read into 256 KiB and dropped), then uploads BODY_FILE (the output's size) to OUT_KEY
 * as a multipart upload in 8 MiB parts, the last one smaller: CreateMultipartUpload, UploadPart
 * for each part (read from the file into one 8 MiB buffer, then sent), CompleteMultipartUpload
 * with the parts' ETags. The step cannot know its output's length in advance, so it cannot use
 * a single PutObject as the transfer floor (one curl) does; on s3rver the multipart upload costs
 * more (CompleteMultipartUpload re-reads, hashes and writes the whole object again). No parsing,
 * no signing, no hashing on this side: a lower bound for the step's S3 case. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "write_all.h"

enum { PART = 8 * 1024 * 1024, BUF = 256 * 1024, HEAD_MAX = 64 * 1024, CAPTURE = 64 * 1024 };

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "multipartfloor: %s: %s\n", what, detail);
    exit(1);
}

static void die_errno(const char *what)
{
    die(what, strerror(errno));
}

/* The connection, with a read buffer: responses are parsed out of buf[start, end). */
static struct conn {
    int fd;
    char buf[BUF];
    size_t start, end;
} c;

static char host_header[256]; /* HOST:PORT, as in the endpoint */

/* A response: its status, headers of interest, and (if asked for) its body. */
struct resp {
    int status;
    long long length; /* -1: none given */
    int chunked;
    char etag[128];
    char body[CAPTURE + 1];
    size_t body_len;
};

static void connect_to(const char *endpoint)
{
    const char *p = strncmp(endpoint, "http://", 7) == 0 ? endpoint + 7 : NULL;
    if (!p)
        die(endpoint, "the endpoint must be http://HOST:PORT");
    char host[256];
    snprintf(host, sizeof host, "%s", p);
    host[strcspn(host, "/")] = '\0';
    /* s3rver takes any other Host for a virtual-hosted bucket name. */
    snprintf(host_header, sizeof host_header, "%s", host);
    char *colon = strrchr(host, ':');
    if (!colon)
        die(endpoint, "no port");
    *colon = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
        die(endpoint, "cannot resolve");
    c.fd = socket(res->ai_family, res->ai_socktype, 0);
    if (c.fd < 0 || connect(c.fd, res->ai_addr, res->ai_addrlen) != 0)
        die_errno("connect");
    freeaddrinfo(res);
    /* As curl does: a request's last small segment must not wait for an ACK. */
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Reads more of the response into the buffer (moving what is left to its front). */
static void fill(void)
{
    if (c.start > 0) {
        memmove(c.buf, c.buf + c.start, c.end - c.start);
        c.end -= c.start;
        c.start = 0;
    }
    if (c.end == sizeof c.buf)
        die("response", "a header line longer than the buffer");
    ssize_t n;
    do
        n = read(c.fd, c.buf + c.end, sizeof c.buf - c.end);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        die_errno("read");
    if (n == 0)
        die("response", "the server closed the connection");
    c.end += (size_t)n;
}

/* The next line (CRLF cut off), from the buffer; valid until the next read. */
static char *read_line(void)
{
    for (;;) {
        char *nl = memchr(c.buf + c.start, '\n', c.end - c.start);
        if (nl) {
            char *line = c.buf + c.start;
            c.start = (size_t)(nl + 1 - c.buf);
            *nl = '\0';
            if (nl > line && nl[-1] == '\r')
                nl[-1] = '\0';
            return line;
        }
        fill();
    }
}

/* Consumes n bytes of body, keeping the first CAPTURE of them in r->body. */
static void read_body_bytes(struct resp *r, long long n)
{
    while (n > 0) {
        if (c.start == c.end) {
            c.start = c.end = 0;
            fill();
        }
        size_t take = c.end - c.start;
        if ((long long)take > n)
            take = (size_t)n;
        if (r->body_len < CAPTURE) {
            size_t keep = CAPTURE - r->body_len < take ? CAPTURE - r->body_len : take;
            memcpy(r->body + r->body_len, c.buf + c.start, keep);
            r->body_len += keep;
        }
        c.start += take;
        n -= (long long)take;
    }
}

static void read_response(struct resp *r)
{
    r->status = 0;
    r->length = -1;
    r->chunked = 0;
    r->etag[0] = '\0';
    r->body_len = 0;
    const char *line = read_line();
    if (sscanf(line, "HTTP/1.%*d %d", &r->status) != 1)
        die("response", "no status line");
    size_t head = 0;
    while ((line = read_line())[0] != '\0') {
        head += strlen(line);
        if (head > HEAD_MAX)
            die("response", "headers too long");
        const char *colon = strchr(line, ':');
        if (!colon)
            continue;
        const char *v = colon + 1 + strspn(colon + 1, " \t");
        size_t name = (size_t)(colon - line);
        if (name == 14 && strncasecmp(line, "content-length", 14) == 0)
            r->length = strtoll(v, NULL, 10);
        else if (name == 17 && strncasecmp(line, "transfer-encoding", 17) == 0)
            r->chunked = strstr(v, "chunked") != NULL;
        else if (name == 4 && strncasecmp(line, "etag", 4) == 0)
            snprintf(r->etag, sizeof r->etag, "%s", v);
    }
    if (r->status == 204 || r->status == 304)
        return;
    if (r->chunked) {
        for (;;) {
            long long size = strtoll(read_line(), NULL, 16);
            if (size <= 0)
                break;
            read_body_bytes(r, size);
            read_line();
        }
        while (read_line()[0] != '\0') /* trailers */
            ;
    } else if (r->length >= 0) {
        read_body_bytes(r, r->length);
    } else {
        die("response", "neither Content-Length nor chunked: cannot keep the connection");
    }
    r->body[r->body_len] = '\0';
}

/* Sends a request with a body of n bytes. */
static void send_request(const char *method, const char *path, const char *body, size_t n)
{
    char head[4096];
    int len =
        snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n\r\n",
                 method, path, host_header, n);
    if (len < 0 || (size_t)len >= sizeof head)
        die(path, "request line too long");
    if (write_all(c.fd, head, (size_t)len) != 0)
        die_errno("write");
    if (n && write_all(c.fd, body, n) != 0)
        die_errno("write");
}

static void check(const struct resp *r, const char *what)
{
    if (r->status < 200 || r->status > 299) {
        char msg[512];
        snprintf(msg, sizeof msg, "HTTP %d: %.400s", r->status, r->body);
        die(what, msg);
    }
}

/* "/BUCKET/KEY", the key percent-encoded except for '/'. */
static void object_path(char *out, size_t cap, const char *bucket, const char *key)
{
    size_t n = (size_t)snprintf(out, cap, "/%s/", bucket);
    for (const unsigned char *k = (const unsigned char *)key; *k && n + 4 < cap; k++) {
        if ((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
            strchr("-_.~/", *k))
            out[n++] = (char)*k;
        else
            n += (size_t)snprintf(out + n, cap - n, "%%%02X", *k);
    }
    out[n] = '\0';
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: multipartfloor ENDPOINT BUCKET OUT_KEY BODY_FILE IN_KEY...\n");
        return 2;
    }
    const char *bucket = argv[2];
    connect_to(argv[1]);
    static struct resp r;
    char path[2048], query[2048 + 512];

    for (int i = 5; i < argc; i++) {
        object_path(path, sizeof path, bucket, argv[i]);
        send_request("GET", path, NULL, 0);
        read_response(&r);
        check(&r, argv[i]);
    }

    int body = open(argv[4], O_RDONLY);
    if (body < 0)
        die_errno(argv[4]);
    object_path(path, sizeof path, bucket, argv[3]);
    snprintf(query, sizeof query, "%s?uploads", path);
    send_request("POST", query, NULL, 0);
    read_response(&r);
    check(&r, "CreateMultipartUpload");
    char upload_id[256];
    const char *id = strstr(r.body, "<UploadId>"), *id_end = id ? strstr(id, "</UploadId>") : NULL;
    if (!id_end || id_end - id - 10 >= (long)sizeof upload_id)
        die("CreateMultipartUpload", "no UploadId");
    memcpy(upload_id, id + 10, (size_t)(id_end - id - 10));
    upload_id[id_end - id - 10] = '\0';

    char *part = malloc(PART);
    size_t xml_cap = 1 << 16, xml_len = 0;
    char *xml = malloc(xml_cap);
    if (!part || !xml)
        die("malloc", "out of memory");
    xml_len += (size_t)snprintf(xml, xml_cap, "<CompleteMultipartUpload>");
    for (int number = 1;; number++) {
        size_t n = 0;
        while (n < PART) {
            ssize_t got = read(body, part + n, PART - n);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                die_errno(argv[4]);
            if (got == 0)
                break;
            n += (size_t)got;
        }
        if (n == 0 && number > 1)
            break;
        snprintf(query, sizeof query, "%s?partNumber=%d&uploadId=%s", path, number, upload_id);
        send_request("PUT", query, part, n);
        read_response(&r);
        check(&r, "UploadPart");
        if (!r.etag[0])
            die("UploadPart", "no ETag");
        if (xml_len + 512 > xml_cap && !(xml = realloc(xml, xml_cap *= 2)))
            die("malloc", "out of memory");
        xml_len += (size_t)snprintf(xml + xml_len, xml_cap - xml_len,
                                    "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                                    number, r.etag);
        if (n < PART)
            break;
    }
    xml_len += (size_t)snprintf(xml + xml_len, xml_cap - xml_len, "</CompleteMultipartUpload>");
    snprintf(query, sizeof query, "%s?uploadId=%s", path, upload_id);
    send_request("POST", query, xml, xml_len);
    read_response(&r);
    check(&r, "CompleteMultipartUpload");
    /* S3 may answer 200 and put an error in the body. */
    if (strstr(r.body, "<Error>"))
        die("CompleteMultipartUpload", r.body);
    close(body);
    close(c.fd);
    free(part);
    free(xml);
    return 0;
}
