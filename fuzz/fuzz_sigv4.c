/* Fuzz target: SigV4 canonicalisation (src/s3/sigv4.h).
 *
 * Input: two bytes (query parameter and header counts), then NUL-separated
 * fields: method, host, object key (raw), session token, then name/value
 * pairs for the query and the headers. Checks:
 *  - sigv4_uri_encode writes only unreserved characters, '/' (when kept) and
 *    %XX, decodes back to the input, and fails rather than overflow a buffer
 *    one byte too small;
 *  - sigv4_canonical_query writes sorted name=value pairs that decode back to
 *    the parameters given;
 *  - sigv4_canonical_request accepts exactly the requests its header says it
 *    accepts, and writes the canonical form: no control characters, method,
 *    path and query lines as given, lowercase header names in order, the
 *    signed-headers line, the payload hash;
 *  - sigv4_sign succeeds on the same requests, never puts the secret key in
 *    its output, and writes a well-formed Authorization value. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "s3/sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define AMZ_DATE "20250204T014950Z"

enum { MAX_PARAMS = 8, GUARD = 8 };

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes text[0, n) that must be in encoded form; returns the decoded length
 * (into out, which has room for n bytes) or -1 if the form is wrong. */
static long decode(const char *text, size_t n, bool slash_ok, char *out)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)text[i + 1]), lo = hexval((unsigned char)text[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[len++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (unreserved(c) || (slash_ok && c == '/')) {
            out[len++] = (char)c;
        } else {
            return -1;
        }
    }
    return (long)len;
}

static void check_uri_encode(const char *key, size_t n, bool keep_slash)
{
    size_t cap = 3 * n + 1;
    char *out = malloc(cap + GUARD);
    if (!out)
        abort();
    memset(out, 0x5a, cap + GUARD);
    int len = sigv4_uri_encode(key, n, keep_slash, out, cap);
    FUZZ_CHECK(len >= 0 && (size_t)len < cap && out[len] == '\0', "encode failed with room");
    char *back = malloc((size_t)len + 1);
    if (!back)
        abort();
    long m = decode(out, (size_t)len, keep_slash, back);
    FUZZ_CHECK(m >= 0, "not in encoded form: %s", out);
    FUZZ_CHECK((size_t)m == n && memcmp(back, key, n) == 0, "does not decode back: %s", out);
    /* One byte too small: fails, writes nothing past the buffer. */
    memset(out, 0x5a, cap + GUARD);
    FUZZ_CHECK(sigv4_uri_encode(key, n, keep_slash, out, (size_t)len) == -1,
               "a %d-byte buffer held %d bytes and the NUL", len, len);
    for (size_t i = (size_t)len; i < cap + GUARD; i++)
        FUZZ_CHECK(out[i] == 0x5a, "wrote past a %d-byte buffer", len);
    free(back);
    free(out);
}

struct pair {
    char *name, *value; /* decoded */
};

static int cmp_pair(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Room for any canonical query or header list of an input (each byte takes at
 * most 3 encoded, plus separators). */
static size_t room;

static void check_query(const struct sigv4_param *params, size_t n)
{
    char *out = malloc(room);
    if (!out)
        abort();
    int len = sigv4_canonical_query(params, n, out, room);
    FUZZ_CHECK(len >= 0, "canonical query failed");
    struct pair got[MAX_PARAMS], want[MAX_PARAMS];
    size_t count = 0;
    char *prev = NULL;
    for (char *item = len ? out : NULL, *next; item; item = next) {
        next = strchr(item, '&');
        if (next)
            *next++ = '\0';
        char *eq = strchr(item, '=');
        FUZZ_CHECK(eq && count < n, "malformed query item %s", item);
        *eq = '\0';
        FUZZ_CHECK(!prev || strcmp(prev, item) <= 0, "query names not sorted: %s, %s", prev, item);
        prev = item;
        got[count].name = calloc(1, strlen(item) + 1);
        got[count].value = calloc(1, strlen(eq + 1) + 1);
        if (!got[count].name || !got[count].value)
            abort();
        FUZZ_CHECK(decode(item, strlen(item), false, got[count].name) >= 0, "bad name %s", item);
        FUZZ_CHECK(decode(eq + 1, strlen(eq + 1), false, got[count].value) >= 0, "bad value %s",
                   eq + 1);
        count++;
    }
    FUZZ_CHECK(count == n, "%zu parameters written, %zu given", count, n);
    for (size_t i = 0; i < n; i++)
        want[i] =
            (struct pair){(char *)params[i].name, (char *)(params[i].value ? params[i].value : "")};
    qsort(got, n, sizeof *got, cmp_pair);
    qsort(want, n, sizeof *want, cmp_pair);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(strcmp(got[i].name, want[i].name) == 0 &&
                       strcmp(got[i].value, want[i].value) == 0,
                   "parameter %s=%s written as %s=%s", want[i].name, want[i].value, got[i].name,
                   got[i].value);
        free(got[i].name);
        free(got[i].value);
    }
    free(out);
}

static bool tchar(unsigned char c)
{
    return unreserved(c) || (c && strchr("!#$%&'*+^`|", c));
}

static bool no_controls(const char *s)
{
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
    return true;
}

/* What sigv4.h promises to accept. */
static bool acceptable(const struct sigv4_request *req, const char *token)
{
    size_t m = strlen(req->method);
    if (m == 0 || m > 32 || strspn(req->method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != m)
        return false;
    if (!req->host[0])
        return false;
    for (const char *p = req->host; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return false;
    static const char *const reserved[] = {"host", "x-amz-date", "x-amz-content-sha256",
                                           "x-amz-security-token", "authorization"};
    for (size_t i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name;
        if (!name[0] || !no_controls(req->headers[i].value))
            return false;
        for (const char *p = name; *p; p++)
            if (!tchar((unsigned char)*p))
                return false;
        for (size_t r = 0; r < sizeof reserved / sizeof *reserved; r++)
            if (strcasecmp(name, reserved[r]) == 0)
                return false;
    }
    return !token[0] || no_controls(token);
}

/* Set when the input itself holds the secret (the fuzzer copies constants it
 * sees compared): then finding it in the output is no leak. */
static bool secret_in_input;

static void check_canonical_request(const char *creq, int len, const struct sigv4_request *req)
{
    for (int i = 0; i < len; i++)
        FUZZ_CHECK(creq[i] == '\n' || ((unsigned char)creq[i] >= 0x20 && creq[i] != 0x7f),
                   "control byte 0x%02x at %d", (unsigned char)creq[i], i);
    char *copy = strdup(creq);
    if (!copy)
        abort();
    char *lines[64];
    size_t n = 0;
    for (char *p = copy, *next; p && n < 64; p = next) {
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        lines[n++] = p;
    }
    FUZZ_CHECK(n >= 7, "only %zu lines", n);
    FUZZ_CHECK(strcmp(lines[0], req->method) == 0, "method line %s", lines[0]);
    FUZZ_CHECK(strcmp(lines[1], req->encoded_path) == 0, "path line %s", lines[1]);
    char *query = malloc(room), *signed_headers = calloc(1, room);
    if (!query || !signed_headers)
        abort();
    FUZZ_CHECK(sigv4_canonical_query(req->query, req->query_count, query, room) >= 0 &&
                   strcmp(lines[2], query) == 0,
               "query line %s", lines[2]);
    FUZZ_CHECK(lines[n - 3][0] == '\0', "no blank line before the signed headers");
    FUZZ_CHECK(strcmp(lines[n - 1], req->payload_hash) == 0, "payload hash line %s", lines[n - 1]);
    /* Header lines: "name:value", names lowercase tokens in strictly ascending
     * order; the signed-headers line lists them. */
    const char *prev = NULL;
    for (size_t i = 3; i < n - 3; i++) {
        char *colon = strchr(lines[i], ':');
        FUZZ_CHECK(colon != NULL, "header line without ':': %s", lines[i]);
        *colon = '\0';
        for (const char *p = lines[i]; *p; p++)
            FUZZ_CHECK(tchar((unsigned char)*p) && !(*p >= 'A' && *p <= 'Z'),
                       "header name %s is not a lowercase token", lines[i]);
        FUZZ_CHECK(lines[i][0], "empty header name");
        FUZZ_CHECK(!prev || strcmp(prev, lines[i]) < 0, "headers out of order: %s, %s", prev,
                   lines[i]);
        const char *value = colon + 1;
        FUZZ_CHECK(!strchr(value, '\t') && !strstr(value, "  ") && value[0] != ' ' &&
                       (!value[0] || value[strlen(value) - 1] != ' '),
                   "header %s value not trimmed and collapsed: \"%s\"", lines[i], value);
        prev = lines[i];
        if (i > 3)
            strcat(signed_headers, ";");
        strcat(signed_headers, lines[i]);
    }
    FUZZ_CHECK(strcmp(lines[n - 2], signed_headers) == 0, "signed headers %s, expected %s",
               lines[n - 2], signed_headers);
    FUZZ_CHECK(secret_in_input || strstr(creq, SECRET) == NULL,
               "the secret key is in the canonical request");
    free(signed_headers);
    free(query);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 4096)
        return 0;
    size_t nq = data[0] % (MAX_PARAMS + 1), nh = data[1] % (MAX_PARAMS + 1);
    char *text = fuzz_cstring(data + 2, size - 2);
    size_t text_len = size - 2;
    secret_in_input = memmem(data, size, SECRET, strlen(SECRET)) != NULL;
    room = 3 * size + 4 * MAX_PARAMS + 64;
    /* Fields: NUL-separated; missing ones are empty. */
    const char *fields[4 + 4 * MAX_PARAMS];
    size_t nfields = sizeof fields / sizeof *fields, key_len = 0;
    const char *p = text, *end = text + text_len;
    for (size_t i = 0; i < nfields; i++) {
        fields[i] = p < end ? p : "";
        size_t len = p < end ? strlen(p) : 0;
        if (i == 2)
            key_len = len;
        p += p < end ? len + 1 : 0;
    }
    const char *method = fields[0], *host = fields[1], *key = fields[2], *token = fields[3];
    struct sigv4_param query[MAX_PARAMS], headers[MAX_PARAMS];
    for (size_t i = 0; i < nq; i++)
        query[i] = (struct sigv4_param){fields[4 + 2 * i], fields[5 + 2 * i]};
    for (size_t i = 0; i < nh; i++)
        headers[i] = (struct sigv4_param){fields[4 + 2 * nq + 2 * i], fields[5 + 2 * nq + 2 * i]};

    check_uri_encode(key, key_len, true);
    check_uri_encode(key, key_len, false);
    check_query(query, nq);

    /* The path as the S3 client builds it: '/' then the key, slashes kept. */
    char *path = malloc(3 * key_len + 2);
    if (!path)
        abort();
    path[0] = '/';
    sigv4_uri_encode(key, key_len, true, path + 1, 3 * key_len + 1);
    struct sigv4_request req = {
        .method = method,
        .host = host,
        .encoded_path = path,
        .query = nq ? query : NULL,
        .query_count = nq,
        .headers = nh ? headers : NULL,
        .header_count = nh,
        .payload_hash = (data[0] & 0x80) ? SIGV4_UNSIGNED_PAYLOAD : SIGV4_EMPTY_SHA256,
    };
    struct aws_credentials creds = {"AKIDEXAMPLE", SECRET, (char *)token};
    struct sigv4_context ctx = {&creds, "eu-west-2", "s3", 1738633790};

    size_t cap = 64 * 1024;
    char *creq = malloc(cap);
    if (!creq)
        abort();
    int len = sigv4_canonical_request(&req, &ctx, AMZ_DATE, creq, cap);
    bool ok = acceptable(&req, token);
    FUZZ_CHECK((len >= 0) == ok, "canonical request %s a request the header says it %s",
               len >= 0 ? "accepts" : "refuses", ok ? "accepts" : "refuses");
    if (len >= 0)
        check_canonical_request(creq, len, &req);

    struct sigv4_signature sig;
    struct error err = {0};
    int rc = sigv4_sign(&req, &ctx, &sig, &err);
    if (ok && rc != 0)
        FUZZ_CHECK(strstr(err.message, "Authorization header would be") != NULL,
                   "signing an acceptable request failed: %s", err.message);
    if (rc == 0) {
        FUZZ_CHECK(strcmp(sig.amz_date, AMZ_DATE) == 0, "x-amz-date %s", sig.amz_date);
        FUZZ_CHECK(secret_in_input || strstr(sig.authorization, SECRET) == NULL,
                   "the secret key is in Authorization");
        const char *prefix = SIGV4_ALGORITHM " Credential=AKIDEXAMPLE/20250204/eu-west-2/s3/"
                                             "aws4_request, SignedHeaders=";
        FUZZ_CHECK(strncmp(sig.authorization, prefix, strlen(prefix)) == 0, "Authorization %s",
                   sig.authorization);
        const char *s = strstr(sig.authorization, ", Signature=");
        FUZZ_CHECK(s && strlen(s + 12) == 64 && strspn(s + 12, "0123456789abcdef") == 64,
                   "signature in %s", sig.authorization);
    } else {
        FUZZ_CHECK(secret_in_input || strstr(err.message, SECRET) == NULL,
                   "the secret key is in an error message");
        const char *const allowed[] = {ERR_CONFIG, ERR_OUT_OF_MEMORY, NULL};
        fuzz_check_error(&err, allowed);
    }
    free(creq);
    free(path);
    free(text);
    return 0;
}
