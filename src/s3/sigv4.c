/* s3/sigv4: the signing half of SigV4 (sigv4.h): SHA-256, the signing key
 * derived from the secret by HMAC (and wiped), the string to sign and the
 * Authorization header. The canonical request is sigv4_canonical.c. */
#include "s3/sigv4.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "s3/sigv4_canonical.h"
#include "textw.h"

enum {
    SHA256_LEN = 32,
    /* HMAC takes an int key length; real secrets are 40 characters. */
    SECRET_MAX = 4096,
};

static void hex_encode(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = textw_hex_lower[p[i] >> 4];
        out[2 * i + 1] = textw_hex_lower[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int sha256_raw(const void *data, size_t n, unsigned char md[SHA256_LEN])
{
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != SHA256_LEN)
        return -1;
    return 0;
}

void sigv4_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[SHA256_LEN];
    if (sha256_raw(data, n, md) != 0) {
        out[0] = '\0';
        return;
    }
    hex_encode(md, SHA256_LEN, out);
}

static int hmac_sha256(const void *key, size_t key_len, const void *data, size_t n,
                       unsigned char out[SHA256_LEN])
{
    unsigned int len = 0;
    if (key_len > INT_MAX || !HMAC(EVP_sha256(), key, (int)key_len, data, n, out, &len) ||
        len != SHA256_LEN)
        return -1;
    return 0;
}

static int validate_credentials(const struct aws_credentials *c, struct error *err)
{
    if (!c || !c->access_key_id || !c->secret_access_key)
        return error_set(err, ERR_CONFIG, "sigv4: no credentials to sign with");
    if (!sigv4_scope_part_ok(c->access_key_id))
        return error_set(err, ERR_CONFIG,
                         "sigv4: access key id must be 1-%d letters, digits, '-' or '_'",
                         SCOPE_PART_MAX);
    size_t n = strlen(c->secret_access_key);
    if (n == 0 || n > SECRET_MAX)
        return error_set(err, ERR_CONFIG, "sigv4: secret access key is empty or over %d bytes",
                         SECRET_MAX);
    return 0;
}

int sigv4_amz_date(time_t t, char out[17])
{
    struct tm tm;
    out[0] = '\0';
    if (!gmtime_r(&t, &tm))
        return -1;
    long year = (long)tm.tm_year + 1900;
    if (year < 0 || year > 9999)
        return -1;
    const long parts[] = {year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
    const int widths[] = {4, 2, 2, 2, 2, 2};
    char *p = out;
    for (int i = 0; i < 6; i++) {
        for (int d = widths[i] - 1; d >= 0; d--) {
            long v = parts[i];
            for (int k = 0; k < d; k++)
                v /= 10;
            *p++ = (char)('0' + v % 10);
        }
        if (i == 2)
            *p++ = 'T';
    }
    *p++ = 'Z';
    *p = '\0';
    return 0;
}

static void w_string_to_sign(struct textw *w, const struct sigv4_context *ctx, const char *amz_date,
                             const char *creq_hash)
{
    textw_str(w, SIGV4_ALGORITHM "\n");
    textw_str(w, amz_date);
    textw_char(w, '\n');
    textw_bytes(w, amz_date, 8);
    textw_char(w, '/');
    textw_str(w, ctx->region);
    textw_char(w, '/');
    textw_str(w, ctx->service);
    textw_str(w, "/aws4_request\n");
    textw_str(w, creq_hash);
}

/* Hashes the canonical request for pr into hash. */
static int hash_canonical_request(const struct sigv4_request *req, const struct sigv4_prepared *pr,
                                  char hash[65], struct error *err)
{
    size_t len = 0;
    char *creq = sigv4_canonical_request_alloc(req, pr, &len, err);
    if (!creq)
        return -1;
    sigv4_sha256_hex(creq, len, hash);
    free(creq);
    if (hash[0] == '\0')
        return error_set(err, ERR_OUT_OF_MEMORY, "sigv4: SHA-256 failed");
    return 0;
}

int sigv4_string_to_sign(const struct sigv4_request *req, const struct sigv4_context *ctx,
                         const char *amz_date, char *out, size_t cap)
{
    struct sigv4_prepared pr;
    char hash[65];
    if (sigv4_prepare(req, ctx, amz_date, &pr, NULL) != 0) {
        if (out && cap > 0)
            out[0] = '\0';
        return -1;
    }
    int rc = hash_canonical_request(req, &pr, hash, NULL);
    sigv4_prepared_free(&pr);
    if (rc != 0) {
        if (out && cap > 0)
            out[0] = '\0';
        return -1;
    }
    struct textw w;
    textw_init(&w, out, cap);
    w_string_to_sign(&w, ctx, amz_date, hash);
    return textw_finish(&w);
}

/* signature = HMAC(kSigning, sts) with kSigning derived from the secret through
 * the date, region, service and "aws4_request". Every intermediate is wiped. */
static int compute_signature(const struct sigv4_context *ctx, const char *amz_date, const char *sts,
                             size_t sts_len, char sig_hex[65])
{
    const char *secret = ctx->credentials->secret_access_key;
    size_t secret_len = strlen(secret);
    size_t k0_len = 4 + secret_len;
    unsigned char *k0 = malloc(k0_len);
    if (!k0)
        return -1;
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, secret_len);

    unsigned char a[SHA256_LEN], b[SHA256_LEN];
    int rc = hmac_sha256(k0, k0_len, amz_date, 8, a);
    if (rc == 0)
        rc = hmac_sha256(a, SHA256_LEN, ctx->region, strlen(ctx->region), b);
    if (rc == 0)
        rc = hmac_sha256(b, SHA256_LEN, ctx->service, strlen(ctx->service), a);
    if (rc == 0)
        rc = hmac_sha256(a, SHA256_LEN, "aws4_request", 12, b);
    if (rc == 0)
        rc = hmac_sha256(b, SHA256_LEN, sts, sts_len, a);
    if (rc == 0)
        hex_encode(a, SHA256_LEN, sig_hex);
    OPENSSL_cleanse(k0, k0_len);
    free(k0);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    return rc;
}

int sigv4_sign(const struct sigv4_request *req, const struct sigv4_context *ctx,
               struct sigv4_signature *out, struct error *err)
{
    out->amz_date[0] = '\0';
    out->authorization[0] = '\0';
    if (sigv4_validate_request(req, ctx, err) != 0 ||
        validate_credentials(ctx->credentials, err) != 0)
        return -1;
    if (sigv4_amz_date(ctx->now, out->amz_date) != 0)
        return error_set(err, ERR_CONFIG, "sigv4: signing time %lld is not in years 0000-9999",
                         (long long)ctx->now);

    struct sigv4_prepared pr;
    if (sigv4_prepare(req, ctx, out->amz_date, &pr, err) != 0)
        return -1;
    char hash[65];
    int rc = hash_canonical_request(req, &pr, hash, err);
    if (rc != 0) {
        sigv4_prepared_free(&pr);
        return -1;
    }

    /* Fits: the scope parts are bounded by validation. */
    char sts[3 * SCOPE_PART_MAX + 128];
    struct textw w;
    textw_init(&w, sts, sizeof sts);
    w_string_to_sign(&w, ctx, out->amz_date, hash);
    int sts_len = textw_finish(&w);
    char sig[65];
    if (sts_len < 0 || compute_signature(ctx, out->amz_date, sts, (size_t)sts_len, sig) != 0) {
        sigv4_prepared_free(&pr);
        return error_set(err, ERR_OUT_OF_MEMORY, "sigv4: computing the signature failed");
    }

    textw_init(&w, out->authorization, sizeof out->authorization);
    textw_str(&w, SIGV4_ALGORITHM " Credential=");
    textw_str(&w, ctx->credentials->access_key_id);
    textw_char(&w, '/');
    textw_bytes(&w, out->amz_date, 8);
    textw_char(&w, '/');
    textw_str(&w, ctx->region);
    textw_char(&w, '/');
    textw_str(&w, ctx->service);
    textw_str(&w, "/aws4_request, SignedHeaders=");
    sigv4_write_signed_headers(&w, &pr.headers);
    textw_str(&w, ", Signature=");
    textw_str(&w, sig);
    sigv4_prepared_free(&pr);
    if (textw_finish(&w) < 0)
        return error_set(err, ERR_CONFIG,
                         "sigv4: Authorization header would be %zu bytes, over the %zu allowed "
                         "(too many signed headers)",
                         w.len, sizeof out->authorization - 1);
    return 0;
}
