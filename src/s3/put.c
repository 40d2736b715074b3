#include "s3/put.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc32c.h"
#include "handoff.h"
#include "log.h"
#include "s3/error_doc.h"
#include "util.h"

enum {
    UPLOAD_ID_MAX = 1024,           /* S3's are ~100 bytes */
    PART_XML_MAX = 8 * 1024 * 1024, /* 10,000 <Part> elements with long ETags */
};

/* The part uploader (handoff.h's worker) owns `up` and the upload's state
 * (multipart, upload_id, parts, xml) while a part is queued or running; the
 * caller touches them only once the worker is idle or stopped. What the
 * struct store_writer handles (store.h) of the S3 store point at. */
struct s3_writer {
    struct s3_client *client; /* borrowed: the store's */
    struct s3_client **spare; /* borrowed: the store's slot for an upload client */
    struct s3_client *up;     /* the upload client; NULL until the first part */
    char *bucket, *key;
    struct handoff parts_out; /* one part being filled, one being uploaded */
    bool failed;              /* a write failed: no more writes, no commit */
    bool multipart;           /* CreateMultipartUpload succeeded */
    char upload_id[UPLOAD_ID_MAX];
    int parts;
    struct buf xml; /* the <Part> elements of CompleteMultipartUpload so far */
    uint64_t written;
};

/* Sets the body and its end-to-end check: the body's CRC-32C
 * (x-amz-checksum-crc32c, in `sum`, which must outlive the request), which S3
 * recomputes and refuses on a mismatch (BadDigest), kept as the part filled
 * (handoff.h). Over HTTPS the signature leaves the payload out
 * (UNSIGNED-PAYLOAD), as the AWS SDKs do: TLS protects the body in transit,
 * and a SHA-256 of every output byte cost five times the CPU of the CRC
 * (`make bench-checksum`), which at a fraction of a CPU is time billed. Over
 * plain HTTP nothing else protects the body, so the signature covers its
 * SHA-256 as well. */
static void request_body(struct s3_request *req, const struct s3_client *c,
                         const struct handoff_chunk *body, char sum[CRC32C_BASE64_SIZE])
{
    req->body = body->data.data;
    req->body_len = body->data.len;
    crc32c_base64(body->crc32c, sum);
    req->headers[req->header_count++] = (struct sigv4_param){"x-amz-checksum-crc32c", sum};
    if (s3_client_config(c)->https)
        memcpy(req->payload_hash, SIGV4_UNSIGNED_PAYLOAD, sizeof SIGV4_UNSIGNED_PAYLOAD);
    else
        sigv4_sha256_hex(req->body ? req->body : "", req->body_len, req->payload_hash);
}

/* Sends req on c and frees the exchange; the response is not needed. */
static int perform(struct s3_client *c, const struct s3_request *req, struct error *err)
{
    struct s3_response x;
    int rc = s3_client_perform(c, req, &x, err);
    s3_response_free(&x);
    return rc;
}

static int put_object(struct s3_writer *w, const struct handoff_chunk *body, struct error *err)
{
    struct s3_request req;
    char sum[CRC32C_BASE64_SIZE];
    s3_request_init(&req, S3_OP_PUT_OBJECT, w->bucket, w->key);
    request_body(&req, w->client, body, sum);
    return perform(w->client, &req, err);
}

/* ---- multipart, on the upload client ------------------------------------ */

static int create_upload(struct s3_writer *w, struct error *err)
{
    struct s3_request req;
    s3_request_init(&req, S3_OP_CREATE_MULTIPART_UPLOAD, w->bucket, w->key);
    req.query[req.query_count++] = (struct sigv4_param){"uploads", ""};
    /* Each part then carries its CRC-32C, and the completion lists them. */
    req.headers[req.header_count++] = (struct sigv4_param){"x-amz-checksum-algorithm", "CRC32C"};
    struct s3_response x;
    int rc = s3_client_perform(w->up, &req, &x, err);
    if (rc == 0 && !s3_xml_find_text((const char *)x.body.data, x.body.len, "UploadId",
                                     w->upload_id, sizeof w->upload_id)) {
        rc = error_set(err, ERR_IO, "The CreateMultipartUpload response has no UploadId.");
    } else if (rc == 0 && !w->upload_id[0]) {
        rc = error_set(err, ERR_IO, "The CreateMultipartUpload response has an empty UploadId.");
    }
    if (rc != 0 && !err->where[0])
        s3_error_where(err, s3_op_name(req.op), w->bucket, w->key, -1, NULL);
    s3_response_free(&x);
    if (rc == 0)
        w->multipart = true;
    return rc;
}

static bool xml_escape_append(struct buf *b, const char *s)
{
    for (; *s; s++) {
        const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : NULL;
        if (buf_append(b, rep ? rep : s, rep ? strlen(rep) : 1, NULL) != 0)
            return false;
    }
    return true;
}

/* Uploads `part` as the next part. */
static int upload_part(struct s3_writer *w, const struct handoff_chunk *part, struct error *err)
{
    if (w->parts >= S3_MAX_PARTS) {
        error_set(err, ERR_IO, "The output needs more than %d parts of %zu bytes.", S3_MAX_PARTS,
                  s3_client_config(w->client)->part_size);
        s3_error_where(err, s3_op_name(S3_OP_UPLOAD_PART), w->bucket, w->key, -1, NULL);
        return -1;
    }
    int number = w->parts + 1;
    char number_text[16];
    snprintf(number_text, sizeof number_text, "%d", number);
    struct s3_request req;
    s3_request_init(&req, S3_OP_UPLOAD_PART, w->bucket, w->key);
    req.query[req.query_count++] = (struct sigv4_param){"partNumber", number_text};
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    char sum[CRC32C_BASE64_SIZE];
    request_body(&req, w->up, part, sum);
    struct s3_response x;
    int rc = s3_client_perform(w->up, &req, &x, err);
    s3_response_free(&x);
    if (rc != 0)
        return -1;
    if (!x.resp.etag[0] || x.resp.etag_too_long) {
        error_set(err, ERR_IO, "The response to part %d has no usable ETag.", number);
        s3_error_where(err, s3_op_name(req.op), w->bucket, w->key, -1, NULL);
        return -1;
    }
    bool ok = buf_append(&w->xml, "<Part><ETag>", 12, NULL) == 0 &&
              xml_escape_append(&w->xml, x.resp.etag) &&
              buf_append(&w->xml, "</ETag><PartNumber>", 19, NULL) == 0 &&
              buf_append(&w->xml, number_text, strlen(number_text), NULL) == 0 &&
              buf_append(&w->xml, "</PartNumber><ChecksumCRC32C>", 29, NULL) == 0 &&
              buf_append(&w->xml, sum, strlen(sum), NULL) == 0 &&
              buf_append(&w->xml, "</ChecksumCRC32C></Part>", 24, NULL) == 0;
    if (!ok)
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory recording part %d of s3://%s/%s",
                         number, w->bucket, w->key);
    w->parts = number;
    return 0;
}

/* A CompleteMultipartUpload retried after its response was lost finds the
 * upload gone (NoSuchUpload). The key holds a fresh random UUID, so an object
 * there can only be this upload's: it is believed if it has the multipart
 * ETag form for our part count ("...-N") and our length. A server that gives
 * completed uploads a plain MD5 ETag (s3rver) is not believed: the error
 * stands. */
static bool completed_anyway(struct s3_writer *w)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "-%d", w->parts);
    struct s3_request req;
    s3_request_init(&req, S3_OP_HEAD_OBJECT, w->bucket, w->key);
    struct s3_response x;
    struct error err;
    error_clear(&err);
    bool ok = s3_client_perform(w->up, &req, &x, &err) == 0;
    s3_response_free(&x);
    char etag[HTTP_ETAG_MAX];
    const char *src = x.resp.etag + (x.resp.etag[0] == '"');
    size_t len = strnlen(src, sizeof etag - 1);
    memcpy(etag, src, len);
    etag[len] = '\0';
    if (len > 0 && etag[len - 1] == '"')
        etag[--len] = '\0';
    size_t suffix_len = strlen(suffix);
    ok = ok && len > suffix_len && strcmp(etag + len - suffix_len, suffix) == 0 &&
         x.resp.content_length >= 0 && (uint64_t)x.resp.content_length == w->written;
    s3_response_redact(w->up, &x, etag); /* for the log below */
    log_fields(LOG_WARN,
               ok ? "CompleteMultipartUpload was retried after it had succeeded; the object "
                    "has our part count and length"
                  : "CompleteMultipartUpload found no upload, and the object is not ours",
               LOG_STR("bucket", w->bucket), LOG_STR("key", w->key), LOG_STR("etag", etag),
               LOG_I64("parts", w->parts), LOG_I64("length", x.resp.content_length),
               LOG_U64("expected_length", w->written), LOG_END);
    return ok;
}

static int complete_upload(struct s3_writer *w, struct error *err)
{
    static const char head[] =
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    static const char tail[] = "</CompleteMultipartUpload>";
    struct buf body;
    buf_init(&body, w->xml.len + sizeof head + sizeof tail);
    if (buf_append(&body, head, sizeof head - 1, NULL) != 0 ||
        buf_append(&body, w->xml.data, w->xml.len, NULL) != 0 ||
        buf_append(&body, tail, sizeof tail - 1, NULL) != 0) {
        buf_free(&body);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory completing s3://%s/%s", w->bucket,
                         w->key);
    }
    struct s3_request req;
    s3_request_init(&req, S3_OP_COMPLETE_MULTIPART_UPLOAD, w->bucket, w->key);
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    req.body = body.data;
    req.body_len = body.len;
    req.content_type = "application/xml";
    sigv4_sha256_hex(body.data, body.len, req.payload_hash);
    int rc = perform(w->up, &req, err);
    buf_free(&body);
    if (rc != 0 && err->kind == ERROR_KIND_NO_SUCH_UPLOAD && completed_anyway(w))
        return 0;
    return rc;
}

/* Best effort: a failure is logged, since the caller is already failing. */
static void abort_upload(struct s3_writer *w)
{
    if (!w->multipart)
        return;
    struct s3_request req;
    s3_request_init(&req, S3_OP_ABORT_MULTIPART_UPLOAD, w->bucket, w->key);
    req.query[req.query_count++] = (struct sigv4_param){"uploadId", w->upload_id};
    struct error err;
    error_clear(&err);
    /* Cleaning up, often after the deadline itself cut a request short: the
     * abort gets a short grace past it so that no upload is left behind. */
    enum { ABORT_GRACE_MS = 500 }; /* within the second the Lambda loop keeps back */
    int64_t deadline = s3_client_deadline(w->client);
    s3_client_set_deadline(w->up, deadline > 0
                                      ? (util_wall_ms() > deadline ? util_wall_ms() : deadline) +
                                            ABORT_GRACE_MS
                                      : 0);
    int rc = perform(w->up, &req, &err);
    s3_client_set_deadline(w->up, deadline);
    if (rc != 0 && err.kind != ERROR_KIND_NO_SUCH_UPLOAD)
        log_fields(LOG_ERROR,
                   "s3 multipart upload not aborted; its parts remain until a "
                   "lifecycle rule removes them",
                   LOG_STR("bucket", w->bucket), LOG_STR("key", w->key),
                   LOG_STR("upload_id", w->upload_id), LOG_STR("errorType", err.type),
                   LOG_STR("errorMessage", err.message), LOG_END);
    w->multipart = false;
}

/* ---- the hand-off ------------------------------------------------------- */

/* The part uploader's job: one part (creating the upload before the first). */
static int upload_job(void *ctx, struct handoff_chunk *part, struct error *err)
{
    struct s3_writer *w = ctx;
    s3_client_set_deadline(w->up, part->deadline_ms);
    if (!w->multipart && create_upload(w, err) != 0)
        return -1;
    return upload_part(w, part, err);
}

/* Before the first part is handed over (once per writer, so w->up is still
 * NULL): the upload client, the store's spare (its trace id brought up to
 * date) or a new one. */
static int upload_starting(void *ctx, struct error *err)
{
    struct s3_writer *w = ctx;
    assert(!w->up);
    struct s3_client *u = *w->spare;
    if (!u)
        return (w->up = s3_client_new_sibling(w->client, err)) ? 0 : -1;
    *w->spare = NULL;
    s3_client_copy_trace_id(u, w->client);
    w->up = u;
    return 0;
}

/* ---- the writer --------------------------------------------------------- */

static void writer_free(struct s3_writer *w)
{
    handoff_free(&w->parts_out);
    buf_free(&w->xml);
    if (w->up && !*w->spare)
        *w->spare = w->up;
    else
        s3_client_free(w->up);
    free(w->bucket);
    free(w->key);
    free(w);
}

int s3_put_open(struct s3_client *c, struct s3_client **spare, const char *bucket, const char *key,
                struct store_writer **out, struct error *err)
{
    struct s3_target t;
    if (s3_target_build(s3_client_config(c), bucket, key, NULL, &t, err) != 0)
        return -1;
    struct s3_writer *w = calloc(1, sizeof *w);
    if (w) {
        w->bucket = strdup(bucket);
        w->key = strdup(key);
    }
    if (!w || !w->bucket || !w->key) {
        if (w) {
            free(w->bucket);
            free(w->key);
        }
        free(w);
        return error_set(err, ERR_OUT_OF_MEMORY, "out of memory opening s3://%s/%s for writing",
                         bucket, key);
    }
    w->client = c;
    w->spare = spare;
    /* A thread even at a fraction of a CPU: an upload mostly waits on the
     * network, which is worth overlapping with parsing at any CPU share. */
    handoff_init(&w->parts_out, s3_client_config(c)->part_size, true, upload_job, upload_starting,
                 w);
    w->parts_out.checksum = true;
    buf_init(&w->xml, PART_XML_MAX);
    *out = (struct store_writer *)w;
    return 0;
}

int s3_put_write(struct store_writer *writer, const void *p, size_t n, struct error *err)
{
    struct s3_writer *w = (struct s3_writer *)writer;
    if (w->failed)
        return error_set(err, ERR_IO, "writing s3://%s/%s after an earlier failure", w->bucket,
                         w->key);
    w->parts_out.deadline_ms = s3_client_deadline(w->client);
    if (handoff_write(&w->parts_out, p, n, err) != 0) {
        w->failed = true;
        return -1;
    }
    w->written += n;
    return 0;
}

void s3_put_abort(struct store_writer *writer)
{
    struct s3_writer *w = (struct s3_writer *)writer;
    handoff_stop(&w->parts_out);
    if (w->up) {
        s3_client_set_deadline(w->up, s3_client_deadline(w->client));
        abort_upload(w);
    }
    writer_free(w);
}

int s3_put_commit(struct store_writer *writer, struct error *err)
{
    struct s3_writer *w = (struct s3_writer *)writer;
    int rc;
    if (w->failed) {
        rc = error_set(err, ERR_IO, "committing s3://%s/%s after an earlier failure", w->bucket,
                       w->key);
    } else if (!handoff_started(&w->parts_out)) {
        /* At most one part's worth: one PutObject. */
        rc = put_object(w, handoff_pending(&w->parts_out), err);
    } else {
        w->parts_out.deadline_ms = s3_client_deadline(w->client);
        rc = handoff_finish(&w->parts_out, err);
        if (rc == 0) {
            s3_client_set_deadline(w->up, s3_client_deadline(w->client));
            rc = complete_upload(w, err);
        }
    }
    if (rc != 0) {
        s3_put_abort(writer);
        return -1;
    }
    log_fields(LOG_DEBUG, "s3 object written", LOG_STR("bucket", w->bucket), LOG_STR("key", w->key),
               LOG_BOOL("multipart", w->multipart), LOG_END);
    writer_free(w);
    return 0;
}
