/* s3/sigv4_canonical: the canonical request of SigV4 (sigv4.h) and what it is
 * built from: URI encoding, the canonical query string, the canonical headers
 * (lowercased, sorted, values folded) and the checks every input passes before
 * it is signed. No secret material passes through here; the signing is
 * sigv4.c. */
#include "s3/sigv4_canonical.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_unreserved(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

static bool is_hex_upper(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* RFC 9110 token characters: what a header field name may hold. */
static bool is_tchar(unsigned char c)
{
    return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void w_uri_encode(struct textw *w, const char *in, size_t n, bool keep_slash)
{
    const unsigned char *p = (const unsigned char *)in, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && (is_unreserved(*p) || (keep_slash && *p == '/')))
            p++;
        textw_bytes(w, run, (size_t)(p - run));
        if (p < end) {
            char e[3] = {'%', textw_hex_upper[*p >> 4], textw_hex_upper[*p & 15]};
            textw_bytes(w, e, 3);
            p++;
        }
    }
}

int sigv4_uri_encode(const char *in, size_t in_len, bool keep_slash, char *out, size_t cap)
{
    struct textw w;
    textw_init(&w, out, cap);
    w_uri_encode(&w, in, in_len, keep_slash);
    return textw_finish(&w);
}

/* ---- canonical query ---- */

struct sigv4_enc_param {
    char *name; /* encoded, owned */
    char *value;
};

static void query_free(struct sigv4_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        free(q->items[i].name);
        free(q->items[i].value);
    }
    free(q->items);
    q->items = NULL;
    q->n = 0;
}

static char *encode_alloc(const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    struct textw w;
    textw_init(&w, out, 3 * n + 1);
    w_uri_encode(&w, s, n, false);
    textw_finish(&w); /* cannot overflow: each byte takes at most 3 */
    return out;
}

static int cmp_enc_param(const void *a, const void *b)
{
    const struct sigv4_enc_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : strcmp(x->value, y->value);
}

/* Encodes and sorts. Returns 0, or -1 when memory ran out or a name is NULL. */
static int query_prepare(const struct sigv4_param *params, size_t n, struct sigv4_query *q)
{
    q->items = NULL;
    q->n = 0;
    if (n == 0)
        return 0;
    if (!params)
        return -1;
    q->items = calloc(n, sizeof *q->items);
    if (!q->items)
        return -1;
    for (size_t i = 0; i < n; i++) {
        q->n = i + 1; /* so query_free sees a half-built entry */
        if (!params[i].name) {
            query_free(q);
            return -1;
        }
        q->items[i].name = encode_alloc(params[i].name);
        q->items[i].value = encode_alloc(params[i].value ? params[i].value : "");
        if (!q->items[i].name || !q->items[i].value) {
            query_free(q);
            return -1;
        }
    }
    qsort(q->items, n, sizeof *q->items, cmp_enc_param);
    return 0;
}

static void query_write(struct textw *w, const struct sigv4_query *q)
{
    for (size_t i = 0; i < q->n; i++) {
        if (i > 0)
            textw_char(w, '&');
        textw_str(w, q->items[i].name);
        textw_char(w, '=');
        textw_str(w, q->items[i].value);
    }
}

int sigv4_canonical_query(const struct sigv4_param *params, size_t n, char *out, size_t cap)
{
    struct sigv4_query q;
    if (query_prepare(params, n, &q) != 0) {
        if (out && cap > 0)
            out[0] = '\0';
        return -1;
    }
    struct textw w;
    textw_init(&w, out, cap);
    query_write(&w, &q);
    query_free(&q);
    return textw_finish(&w);
}

/* ---- canonical headers ---- */

struct sigv4_hdr {
    char *name;        /* lowercased, owned */
    const char *value; /* borrowed, raw */
    size_t order;      /* position given: keeps repeated names in order */
};

static void headers_free(struct sigv4_headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->items[i].name);
    free(h->items);
    h->items = NULL;
    h->n = 0;
}

static int headers_add(struct sigv4_headers *h, const char *name, const char *value)
{
    size_t len = strlen(name);
    char *lower = malloc(len + 1);
    if (!lower)
        return -1;
    for (size_t i = 0; i < len; i++)
        lower[i] = ascii_lower(name[i]);
    lower[len] = '\0';
    h->items[h->n] = (struct sigv4_hdr){lower, value ? value : "", h->n};
    h->n++;
    return 0;
}

static int cmp_hdr(const void *a, const void *b)
{
    const struct sigv4_hdr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool has_token(const struct sigv4_context *ctx)
{
    const struct aws_credentials *c = ctx->credentials;
    return c && c->session_token && c->session_token[0] != '\0';
}

/* The signer's own headers plus the caller's, lowercased and sorted. */
static int headers_prepare(const struct sigv4_request *req, const struct sigv4_context *ctx,
                           const char *amz_date, struct sigv4_headers *h)
{
    h->n = 0;
    if (req->header_count > SIZE_MAX / sizeof *h->items - 4)
        return -1;
    h->items = calloc(req->header_count + 4, sizeof *h->items);
    if (!h->items)
        return -1;
    int rc = headers_add(h, "host", req->host);
    if (rc == 0 && !req->omit_content_sha256)
        rc = headers_add(h, "x-amz-content-sha256", req->payload_hash);
    if (rc == 0)
        rc = headers_add(h, "x-amz-date", amz_date);
    if (rc == 0 && has_token(ctx))
        rc = headers_add(h, "x-amz-security-token", ctx->credentials->session_token);
    for (size_t i = 0; rc == 0 && i < req->header_count; i++)
        rc = headers_add(h, req->headers[i].name, req->headers[i].value);
    if (rc != 0) {
        headers_free(h);
        return -1;
    }
    qsort(h->items, h->n, sizeof *h->items, cmp_hdr);
    return 0;
}

/* Trimmed, with each inner run of spaces and tabs written as one space. */
static void w_header_value(struct textw *w, const char *v)
{
    bool space = false;
    const char *p = v;
    while (*p == ' ' || *p == '\t')
        p++;
    while (*p) {
        if (*p == ' ' || *p == '\t') {
            space = true;
            p++;
            continue;
        }
        const char *run = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (space)
            textw_char(w, ' ');
        space = false;
        textw_bytes(w, run, (size_t)(p - run));
    }
}

void sigv4_write_signed_headers(struct textw *w, const struct sigv4_headers *h)
{
    for (size_t i = 0; i < h->n; i++) {
        if (i > 0 && strcmp(h->items[i].name, h->items[i - 1].name) == 0)
            continue;
        if (i > 0)
            textw_char(w, ';');
        textw_str(w, h->items[i].name);
    }
}

static void w_canonical_request(struct textw *w, const struct sigv4_request *req,
                                const struct sigv4_query *q, const struct sigv4_headers *h)
{
    textw_str(w, req->method);
    textw_char(w, '\n');
    textw_str(w, req->encoded_path);
    textw_char(w, '\n');
    query_write(w, q);
    textw_char(w, '\n');
    for (size_t i = 0; i < h->n; i++) {
        if (i > 0 && strcmp(h->items[i].name, h->items[i - 1].name) == 0) {
            textw_char(w, ',');
        } else {
            if (i > 0)
                textw_char(w, '\n');
            textw_str(w, h->items[i].name);
            textw_char(w, ':');
        }
        w_header_value(w, h->items[i].value);
    }
    textw_str(w, "\n\n");
    sigv4_write_signed_headers(w, h);
    textw_char(w, '\n');
    textw_str(w, req->payload_hash);
}

/* ---- validation ---- */

bool sigv4_scope_part_ok(const char *s)
{
    if (!s || s[0] == '\0' || strlen(s) > SCOPE_PART_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (!is_alnum(*p) && *p != '-' && *p != '_')
            return false;
    return true;
}

/* Visible ASCII, spaces, tabs and non-ASCII bytes: no CR, LF or other controls,
 * so a value can never end the header line it is sent on. */
static bool header_value_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

static bool payload_hash_ok(const char *s)
{
    if (!s)
        return false;
    if (strcmp(s, SIGV4_UNSIGNED_PAYLOAD) == 0)
        return true;
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static bool encoded_path_ok(const char *s)
{
    if (!s || s[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '%') {
            if (!is_hex_upper(p[1]) || !is_hex_upper(p[2]))
                return false;
            p += 2;
        } else if (!is_unreserved(*p) && *p != '/') {
            return false;
        }
    }
    return true;
}

static bool amz_date_ok(const char *s)
{
    if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
        return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

static const char *const reserved_headers[] = {
    "host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token", "authorization",
};

static bool is_reserved_header(const char *name)
{
    for (size_t i = 0; i < sizeof reserved_headers / sizeof *reserved_headers; i++) {
        const char *r = reserved_headers[i];
        size_t j = 0;
        while (r[j] && ascii_lower(name[j]) == r[j])
            j++;
        if (r[j] == '\0' && name[j] == '\0')
            return true;
    }
    return false;
}

int sigv4_validate_request(const struct sigv4_request *req, const struct sigv4_context *ctx,
                           struct error *err)
{
    if (!req || !ctx)
        return error_set(err, ERR_CONFIG, "sigv4: no request or context to sign");
    if (!req->method || req->method[0] == '\0' || strlen(req->method) > 32)
        return error_set(err, ERR_CONFIG, "sigv4: missing or over-long HTTP method");
    for (const char *p = req->method; *p; p++)
        if (*p < 'A' || *p > 'Z')
            return error_set(err, ERR_CONFIG, "sigv4: HTTP method must be uppercase letters");
    if (!req->host || req->host[0] == '\0')
        return error_set(err, ERR_CONFIG, "sigv4: missing Host");
    for (const unsigned char *p = (const unsigned char *)req->host; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return error_set(err, ERR_CONFIG, "sigv4: Host holds a space or non-printable byte");
    if (!encoded_path_ok(req->encoded_path))
        return error_set(err, ERR_CONFIG,
                         "sigv4: the path must start with '/' and be URI-encoded (only "
                         "unreserved characters, '/' and uppercase %%XX)");
    if (req->query_count > 0 && !req->query)
        return error_set(err, ERR_CONFIG, "sigv4: query_count without query parameters");
    for (size_t i = 0; i < req->query_count; i++)
        if (!req->query[i].name)
            return error_set(err, ERR_CONFIG, "sigv4: query parameter %zu has no name", i);
    if (req->header_count > 0 && !req->headers)
        return error_set(err, ERR_CONFIG, "sigv4: header_count without headers");
    for (size_t i = 0; i < req->header_count; i++) {
        const char *name = req->headers[i].name;
        if (!name || name[0] == '\0')
            return error_set(err, ERR_CONFIG, "sigv4: header %zu has no name", i);
        for (const unsigned char *p = (const unsigned char *)name; *p; p++)
            if (!is_tchar(*p))
                return error_set(err, ERR_CONFIG,
                                 "sigv4: header %zu: name holds a character not allowed in a "
                                 "header name",
                                 i);
        if (is_reserved_header(name))
            return error_set(err, ERR_CONFIG, "sigv4: header %s is set by the signer", name);
        if (req->headers[i].value && !header_value_ok(req->headers[i].value))
            return error_set(err, ERR_CONFIG, "sigv4: header %s: value holds a control character",
                             name);
    }
    if (!payload_hash_ok(req->payload_hash))
        return error_set(err, ERR_CONFIG,
                         "sigv4: payload hash must be 64 lowercase hex digits or "
                         "UNSIGNED-PAYLOAD");
    if (!sigv4_scope_part_ok(ctx->region))
        return error_set(err, ERR_CONFIG, "sigv4: region must be 1-%d letters, digits, '-' or '_'",
                         SCOPE_PART_MAX);
    if (!sigv4_scope_part_ok(ctx->service))
        return error_set(err, ERR_CONFIG, "sigv4: service must be 1-%d letters, digits, '-' or '_'",
                         SCOPE_PART_MAX);
    if (has_token(ctx) && !header_value_ok(ctx->credentials->session_token))
        return error_set(err, ERR_CONFIG, "sigv4: session token holds a control character");
    return 0;
}

int sigv4_prepare(const struct sigv4_request *req, const struct sigv4_context *ctx,
                  const char *amz_date, struct sigv4_prepared *pr, struct error *err)
{
    pr->query = (struct sigv4_query){NULL, 0};
    pr->headers = (struct sigv4_headers){NULL, 0};
    if (sigv4_validate_request(req, ctx, err) != 0)
        return -1;
    if (!amz_date_ok(amz_date))
        return error_set(err, ERR_CONFIG, "sigv4: x-amz-date must be YYYYMMDD'T'HHMMSS'Z'");
    if (query_prepare(req->query, req->query_count, &pr->query) != 0 ||
        headers_prepare(req, ctx, amz_date, &pr->headers) != 0) {
        query_free(&pr->query);
        return error_set(err, ERR_OUT_OF_MEMORY, "sigv4: out of memory building the request");
    }
    return 0;
}

void sigv4_prepared_free(struct sigv4_prepared *pr)
{
    query_free(&pr->query);
    headers_free(&pr->headers);
}

int sigv4_canonical_request(const struct sigv4_request *req, const struct sigv4_context *ctx,
                            const char *amz_date, char *out, size_t cap)
{
    struct sigv4_prepared pr;
    if (sigv4_prepare(req, ctx, amz_date, &pr, NULL) != 0) {
        if (out && cap > 0)
            out[0] = '\0';
        return -1;
    }
    struct textw w;
    textw_init(&w, out, cap);
    w_canonical_request(&w, req, &pr.query, &pr.headers);
    sigv4_prepared_free(&pr);
    return textw_finish(&w);
}

char *sigv4_canonical_request_alloc(const struct sigv4_request *req,
                                    const struct sigv4_prepared *pr, size_t *len, struct error *err)
{
    struct textw w;
    textw_init(&w, NULL, 0);
    w_canonical_request(&w, req, &pr->query, &pr->headers);
    if (w.len == SIZE_MAX || w.len > INT_MAX) {
        error_set(err, ERR_CONFIG, "sigv4: request too large to sign");
        return NULL;
    }
    char *s = malloc(w.len + 1);
    if (!s) {
        error_set(err, ERR_OUT_OF_MEMORY, "sigv4: out of memory for a %zu-byte canonical request",
                  w.len);
        return NULL;
    }
    textw_init(&w, s, w.len + 1);
    w_canonical_request(&w, req, &pr->query, &pr->headers);
    *len = (size_t)textw_finish(&w);
    return s;
}
