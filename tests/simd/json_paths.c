/* Checks the JSON scanner's SIMD fast paths (src/simd.h: SSE2 on x86-64, NEON
 * on arm64) against the same scanner without them (json_scalar.c) and against
 * a small reference string decoder written here, on generated strings: every
 * byte value, escapes, backslash runs and UTF-8 (valid or not) at every offset
 * of strings up to 300 bytes long, so at every position relative to the 16-,
 * 32- and 64-byte blocks the fast paths read; then random strings. Each is
 * decoded (several dst limits, memory and chunked sources) and copied (as a
 * document, an object key and value, an array element); results, error
 * messages, offsets and output must be the same byte for byte, and copies
 * ASCII (non-ASCII characters and DEL escaped as Python's json.dumps does).
 *
 * No cmocka, so that it cross-compiles for arm64 and runs under qemu-user.
 * Built with -DSIMD_DISABLE it checks the scalar code against the reference
 * alone. `make check-arm64` runs all three; exits 1 on any mismatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunked.h"
#include "json.h"
#include "json_scalar.h"
#include "memsink.h"
#include "simd.h"

#if defined(__aarch64__) && !defined(SIMD_DISABLE) && !defined(SIMD16)
#error "simd.h chose no NEON implementation on arm64"
#endif
#if !defined(SIMD16)
#define PATH_NAME "scalar"
#elif defined(__SSE2__)
#define PATH_NAME "SSE2"
#else
#define PATH_NAME "NEON"
#endif

struct impl {
    const char *name;
    void (*src_memory)(struct json_src *, const void *, size_t);
    int (*peek)(struct json_src *, struct error *);
    int (*copy_value)(struct json_src *, struct sink *, const char *, struct error *);
    int (*decode_string)(struct json_src *, struct buf *, bool *, const char *, struct error *);
    int (*copy_document)(const void *, size_t, struct sink *, const char *, struct error *);
};

static const struct impl fast = {PATH_NAME,       json_src_memory,    json_peek,
                                 json_copy_value, json_decode_string, json_copy_document};
static const struct impl scalar = {"scalar",
                                   scalar_json_src_memory,
                                   scalar_json_peek,
                                   scalar_json_copy_value,
                                   scalar_json_decode_string,
                                   scalar_json_copy_document};

/* What one call did. */
struct outcome {
    int rc;
    struct error err;
    uint8_t *data; /* decoded string or copied text (owned) */
    size_t len;
    bool overflowed;
    uint64_t offset; /* source offset afterwards (decoding) */
};

static unsigned long long runs, failures;

static void outcome_free(struct outcome *o)
{
    free(o->data);
    o->data = NULL;
}

static void dump(const char *label, const uint8_t *p, size_t n)
{
    fprintf(stderr, "  %s (%zu bytes):", label, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, i % 32 ? " %02x" : "\n    %02x", p[i]);
    fprintf(stderr, "\n");
}

static void fail(const uint8_t *doc, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(const uint8_t *doc, size_t n, const char *fmt, ...)
{
    if (++failures > 10)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "MISMATCH: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    dump("input", doc, n);
}

/* How a string is decoded: dst's limit, bytes already in dst, whether an
 * overflow is allowed, and the source's chunk size (0: all in memory). */
struct decode_cfg {
    size_t max, prefill;
    bool allow_overflow;
    size_t chunk;
};

static void run_decode(const struct impl *im, const uint8_t *doc, size_t n,
                       const struct decode_cfg *cfg, struct outcome *o)
{
    struct chunked c;
    struct json_src msrc, *src = &msrc;
    if (cfg->chunk) {
        chunked_init(&c, doc, n, cfg->chunk);
        src = &c.src;
    } else {
        im->src_memory(&msrc, doc, n);
    }
    struct buf dst;
    buf_init(&dst, cfg->max);
    memset(o, 0, sizeof *o);
    if (cfg->prefill && buf_append(&dst, "0123456789abcdef", cfg->prefill, NULL) != 0)
        abort();
    o->rc = im->decode_string(src, &dst, cfg->allow_overflow ? &o->overflowed : NULL, "T", &o->err);
    o->offset = json_src_offset(src);
    o->len = dst.len;
    o->data = malloc(dst.len + 1);
    if (!o->data)
        abort();
    if (dst.len)
        memcpy(o->data, dst.data, dst.len);
    /* dst must hold a C string after any call that stored something. */
    o->data[dst.len] = dst.data && dst.data[dst.len] != '\0' ? 'X' : '\0';
    buf_free(&dst);
    if (cfg->chunk)
        chunked_free(&c);
    runs++;
}

/* Copies the document: json_copy_document in memory, or json_copy_value and
 * an end-of-input check from a chunked source. */
static void run_copy(const struct impl *im, const uint8_t *doc, size_t n, size_t chunk,
                     struct outcome *o)
{
    struct memsink m;
    memsink_init(&m);
    memset(o, 0, sizeof *o);
    if (!chunk) {
        o->rc = im->copy_document(doc, n, &m.sink, "T", &o->err);
    } else {
        struct chunked c;
        chunked_init(&c, doc, n, chunk);
        o->rc = im->copy_value(&c.src, &m.sink, "T", &o->err);
        if (o->rc == 0 && im->peek(&c.src, &o->err) != -1)
            o->rc = 1;
        o->offset = json_src_offset(&c.src);
        chunked_free(&c);
    }
    memsink_text(&m);
    o->len = m.len;
    o->data = (uint8_t *)m.data; /* taken over */
    runs++;
}

/* Too long a string with no room to keep a prefix is an error at whichever
 * byte the decoder was when it found out: where a run or block it appends
 * crosses the limit, so the fast path, the scalar loop and the chunk size
 * each put it elsewhere (and leave another partial string). Only that it is
 * this error counts. */
static bool both_overlong(const struct outcome *a, const struct outcome *b)
{
    return a->rc == -1 && b->rc == -1 && strstr(a->err.message, " is longer than ") &&
           strstr(b->err.message, " is longer than ");
}

static void compare(const char *what, const uint8_t *doc, size_t n, const struct outcome *a,
                    const struct outcome *b)
{
    if (both_overlong(a, b))
        return;
    if (a->rc != b->rc || a->overflowed != b->overflowed || a->offset != b->offset ||
        a->len != b->len || memcmp(a->data, b->data, a->len + 1) != 0 ||
        strcmp(a->err.type, b->err.type) != 0 || strcmp(a->err.message, b->err.message) != 0) {
        fail(doc, n,
             "%s: %s and %s differ: rc %d/%d, overflowed %d/%d, offset %llu/%llu, "
             "length %zu/%zu, errors \"%s\" / \"%s\"",
             what, fast.name, scalar.name, a->rc, b->rc, a->overflowed, b->overflowed,
             (unsigned long long)a->offset, (unsigned long long)b->offset, a->len, b->len,
             a->err.message, b->err.message);
        if (failures <= 10) {
            dump(fast.name, a->data, a->len);
            dump(scalar.name, b->data, b->len);
        }
    }
}

/* The reference: the valid UTF-8 sequence at p (RFC 3629) or 0. */
static size_t ref_utf8(const uint8_t *p, size_t n)
{
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80;
        hi = p[0] == 0xed ? 0x9f : 0xbf;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

static long ref_hex4(const uint8_t *p, size_t n)
{
    if (n < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], h = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Appends \uXXXX, lowercase, as Python's json.dumps writes it. */
static size_t ref_u_escape(uint8_t *out, unsigned unit)
{
    return (size_t)sprintf((char *)out, "\\u%04x", unit);
}

/* The string body at p (after its opening quote): returns the bytes up to and
 * including the closing quote, or 0 if invalid. `decoding`: decodes into out
 * (room for n bytes: never longer than the text), a lone surrogate escape in
 * the 3-byte form UTF-8 would give it; else writes the copy into out (room for
 * 6n + 1 bytes), its content as written but each non-ASCII character and DEL
 * escaped (a surrogate pair above U+FFFF), then the closing quote. */
static size_t ref_string(const uint8_t *p, size_t n, bool decoding, uint8_t *out, size_t *out_len)
{
    size_t i = 0, o = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c == '"') {
            if (!decoding)
                out[o++] = c;
            *out_len = o;
            return i + 1;
        }
        if (c < 0x20)
            return 0;
        if (c >= 0x80) {
            size_t len = ref_utf8(p + i, n - i);
            if (!len)
                return 0;
            if (decoding) {
                memcpy(out + o, p + i, len);
            } else {
                const uint8_t *q = p + i;
                unsigned cp = len == 2 ? (q[0] & 0x1fu) << 6 | (q[1] & 0x3fu)
                              : len == 3
                                  ? (q[0] & 0x0fu) << 12 | (q[1] & 0x3fu) << 6 | (q[2] & 0x3fu)
                                  : (q[0] & 0x07u) << 18 | (q[1] & 0x3fu) << 12 |
                                        (q[2] & 0x3fu) << 6 | (q[3] & 0x3fu);
                if (cp >= 0x10000) {
                    o += ref_u_escape(out + o, 0xd800 + ((cp - 0x10000) >> 10));
                    o += ref_u_escape(out + o, 0xdc00 + ((cp - 0x10000) & 0x3ff));
                } else {
                    o += ref_u_escape(out + o, cp);
                }
                i += len;
                continue;
            }
            i += len;
            o += len;
            continue;
        }
        if (c == 0x7f && !decoding) {
            o += ref_u_escape(out + o, c);
            i++;
            continue;
        }
        if (c != '\\') {
            out[o++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return 0;
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *e = p[i + 1] ? strchr(from, p[i + 1]) : NULL;
        if (e) {
            if (decoding) {
                out[o++] = (uint8_t)to[e - from];
            } else {
                out[o++] = '\\';
                out[o++] = p[i + 1];
            }
            i += 2;
            continue;
        }
        if (p[i + 1] != 'u')
            return 0;
        long cp = ref_hex4(p + i + 2, n - i - 2);
        if (cp < 0)
            return 0;
        if (!decoding) { /* copied as written */
            memcpy(out + o, p + i, 6);
            o += 6;
            i += 6;
            continue;
        }
        i += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            long low =
                i + 1 < n && p[i] == '\\' && p[i + 1] == 'u' ? ref_hex4(p + i + 2, n - i - 2) : -1;
            if (low >= 0xdc00 && low <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                i += 6;
            }
        }
        if (cp < 0x80) {
            out[o++] = (uint8_t)cp;
        } else if (cp < 0x800) {
            out[o++] = (uint8_t)(0xc0 | cp >> 6);
            out[o++] = (uint8_t)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (uint8_t)(0xe0 | cp >> 12);
            out[o++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            out[o++] = (uint8_t)(0x80 | (cp & 0x3f));
        } else {
            out[o++] = (uint8_t)(0xf0 | cp >> 18);
            out[o++] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
            out[o++] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            out[o++] = (uint8_t)(0x80 | (cp & 0x3f));
        }
    }
    return 0;
}

static bool all_ws(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return false;
    return true;
}

/* An exact-size heap copy, so that a read past the end is caught (ASan). */
static uint8_t *heap_copy(const uint8_t *p, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, p, n);
    return copy;
}

static const size_t chunks[] = {1, 2, 5, 16, 17, 64, 100, 4096};
enum { NCHUNKS = sizeof chunks / sizeof *chunks };

/* Decodes the document (whitespace, then a string) with both implementations
 * and compares; checks against the reference where its answer is known:
 * `lead` bytes of whitespace, then the body at doc + lead + 1. */
static void check_decode(const uint8_t *doc, size_t n, size_t lead, const struct decode_cfg *cfg,
                         size_t ref_used, const uint8_t *ref, size_t ref_len)
{
    struct outcome a, b;
    run_decode(&fast, doc, n, cfg, &a);
    run_decode(&scalar, doc, n, cfg, &b);
    compare("decode", doc, n, &a, &b);
    outcome_free(&b);
    size_t total = cfg->prefill + ref_len;
    if (ref_used && total > cfg->max && !cfg->allow_overflow) {
        /* stops at the overflow, before the rest is validated */
    } else if ((a.rc == 0) != (ref_used != 0)) {
        fail(doc, n, "decode (max %zu, chunk %zu): %s says %s, the reference %s", cfg->max,
             cfg->chunk, fast.name, a.rc == 0 ? "valid" : a.err.message,
             ref_used ? "valid" : "invalid");
    } else if (ref_used) {
        size_t stored = total > cfg->max ? cfg->max : total;
        if (a.len != stored || a.overflowed != (total > cfg->max) ||
            memcmp(a.data, "0123456789abcdef", cfg->prefill) != 0 ||
            memcmp(a.data + cfg->prefill, ref, stored - cfg->prefill) != 0 ||
            a.data[a.len] != '\0' || a.offset != lead + 1 + ref_used)
            fail(doc, n, "decode (max %zu, chunk %zu): %s decoded other bytes than the reference",
                 cfg->max, cfg->chunk, fast.name);
    }
    outcome_free(&a);
}

static void check_copy(const char *what, const uint8_t *doc, size_t n, size_t chunk, int expect,
                       const uint8_t *expect_text, size_t expect_len)
{
    struct outcome a, b;
    run_copy(&fast, doc, n, chunk, &a);
    run_copy(&scalar, doc, n, chunk, &b);
    compare(what, doc, n, &a, &b);
    outcome_free(&b);
    if (expect >= 0 && (a.rc == 0) != (expect == 1))
        fail(doc, n, "%s (chunk %zu): %s says %s, the reference %s", what, chunk, fast.name,
             a.rc == 0 ? "valid" : a.err.message, expect ? "valid" : "invalid");
    else if (expect == 1 && (a.len != expect_len || memcmp(a.data, expect_text, a.len) != 0))
        fail(doc, n, "%s: %s copied other text than the reference's", what, fast.name);
    outcome_free(&a);
}

static unsigned long long cases;

/* Every check on one string body (what follows the opening quote: usually
 * content, the closing quote and whitespace), `lead` spaces before it. */
static void check_body(const uint8_t *body, size_t n, size_t lead)
{
    size_t seq = (size_t)cases++;
    uint8_t *text = malloc(6 * n + lead + 64), *ref = malloc(6 * n + 1);
    if (!text || !ref)
        abort();
    memset(text, ' ', lead);
    text[lead] = '"';
    memcpy(text + lead + 1, body, n);
    size_t doc_len = lead + 1 + n;
    uint8_t *doc = heap_copy(text, doc_len);

    size_t ref_len = 0;
    size_t used = ref_string(body, n, true, ref, &ref_len);
    const struct decode_cfg cfgs[] = {
        {1u << 20, 0, false, 0}, {1u << 20, 7, true, 0},
        {256, 0, true, 0},       {300, 0, false, 0},
        {40, 3, true, 0},        {1u << 20, seq % 3 ? 0 : 5, true, chunks[seq % NCHUNKS]},
    };
    for (size_t i = 0; i < sizeof cfgs / sizeof *cfgs; i++)
        check_decode(doc, doc_len, lead, &cfgs[i], used, ref, ref_len);

    /* Copying: the string as a whole document, and the output is its text
     * with non-ASCII characters escaped. */
    size_t copy_used = ref_string(body, n, false, ref, &ref_len);
    if (!copy_used)
        ref_len = 0;
    int valid = copy_used && all_ws(body + copy_used, n - copy_used);
    text[lead] = '"';
    memcpy(text + lead + 1, ref, ref_len);
    check_copy("copy", doc, doc_len, 0, valid, text + lead, 1 + ref_len);
    check_copy("copy chunked", doc, doc_len, chunks[(seq + 3) % NCHUNKS], valid, text + lead,
               1 + ref_len);
    free(doc);
    /* What the copies below must write: the content as ref holds it. */
    size_t esc_len = ref_len ? ref_len - 1 : 0;
    uint8_t *expect = malloc(2 * esc_len + 16);
    if (!expect)
        abort();

    /* Its content (up to the closing quote the reference found, or all of
     * it) as an object's key and value and an array element: compared only. */
    size_t content = copy_used ? copy_used - 1 : n;
    size_t k = 0;
    text[k++] = '{';
    text[k++] = '"';
    memcpy(text + k, body, content);
    k += content;
    memcpy(text + k, "\":\"", 3);
    k += 3;
    memcpy(text + k, body, content);
    k += content;
    memcpy(text + k, "\"}", 2);
    k += 2;
    doc = heap_copy(text, k);
    size_t e = (size_t)sprintf((char *)expect, "{\"%.*s\":\"%.*s\"}", (int)esc_len, (char *)ref,
                               (int)esc_len, (char *)ref);
    check_copy("object", doc, k, 0, copy_used ? 1 : -1, expect, e);
    free(doc);
    k = 0;
    text[k++] = '[';
    text[k++] = '"';
    memcpy(text + k, body, content);
    k += content;
    memcpy(text + k, "\",1]", 4);
    k += 4;
    doc = heap_copy(text, k);
    e = (size_t)sprintf((char *)expect, "[\"%.*s\",1]", (int)esc_len, (char *)ref);
    check_copy("array", doc, k, chunks[seq % NCHUNKS], copy_used ? 1 : -1, expect, e);
    free(doc);
    free(expect);
    free(text);
    free(ref);
}

/* Trailing bytes after the closing quote: whitespace of lengths around the
 * fast paths' thresholds (16, 32, 80), sometimes a byte that is not. */
static const size_t trailers[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 79, 80, 81, 100};
enum { NTRAILERS = sizeof trailers / sizeof *trailers };

static uint8_t scratch[1024];

/* content, then the closing quote and a trailer; the lead rotates too. */
static void check_content(const uint8_t *content, size_t n)
{
    size_t seq = (size_t)cases, t = trailers[seq % NTRAILERS];
    memcpy(scratch, content, n);
    scratch[n] = '"';
    memset(scratch + n + 1, ' ', t);
    if (seq % 7 == 3)
        scratch[n + 1 + t / 2] = 'x';
    check_body(scratch, n + 1 + t, seq % 5 == 4 ? seq % 19 : 0);
}

/* A token at offset k of a string of length len, 'a' elsewhere. */
static void check_token_at(const uint8_t *token, size_t token_len, size_t k, size_t len)
{
    uint8_t content[512];
    memset(content, 'a', len);
    memcpy(content + k, token, token_len);
    check_content(content, len);
}

static const char *const tokens[] = {
    "\"",
    "\\\"",
    "\\\\",
    "\\/",
    "\\b",
    "\\f",
    "\\n",
    "\\r",
    "\\t",
    "\\u00e9",
    "\\u20AC",
    "\\u0000",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00",
    "\\ud800\\n",
    "\\u12",
    "\\u12g4",
    "\\x",
    "\\",
    "\\\\\\",
    "\\\\\\\\\\\"",
    "\\\\\\\\\"",
    "\x01",
    "\x1f",
    "\x7f",
    "\xc3\xa9",
    "\xe2\x82\xac",
    "\xf0\x9f\x98\x80",
    "\xff",
    "\xc3",
    "\xe2\x82",
    "\xed\xa0\x80",
    "\xc0\xaf",
    "\x80",
    "\xf4\x90\x80\x80",
};

/* The lengths checked at every offset: all up to 100, then around 128,
 * 192, 256 and the longest, 300. */
static bool length_checked(size_t len)
{
    return len <= 100 || (len >= 127 && len <= 129) || len == 192 || (len >= 255 && len <= 257) ||
           len == 300;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* A random string of pieces: plain runs, escapes, backslash runs, UTF-8
 * (valid and not), control bytes, quotes. */
static size_t random_content(uint8_t *out, size_t max)
{
    size_t n = 0, target = rng() % (max + 1);
    while (n + 16 < target) {
        uint64_t r = rng();
        switch (r % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 4:
        case 5: {
            size_t run = r >> 8 & 31;
            memset(out + n, 'a' + (int)(r >> 16 & 7), run);
            n += run;
            break;
        }
        case 6:
        case 7: {
            const char *t = tokens[(r >> 8) % (sizeof tokens / sizeof *tokens)];
            if (r >> 20 & 15) /* mostly valid pieces, or strings end early */
                t = tokens[1 + (r >> 8) % 12];
            memcpy(out + n, t, strlen(t));
            n += strlen(t);
            break;
        }
        case 8: {
            size_t run = 1 + (r >> 8 & 7);
            memset(out + n, '\\', run);
            n += run;
            out[n++] = (r >> 12 & 1) ? 'n' : '"';
            break;
        }
        case 9:
            memcpy(out + n, "\xc3\xa9\xe2\x82\xac", 5);
            n += 5;
            break;
        case 10:
            if ((r >> 8 & 15) == 0)
                out[n++] = (uint8_t)(r >> 16);
            break;
        default:
            out[n++] = (uint8_t)(' ' + (r >> 8) % 95);
            if (out[n - 1] == '"' || out[n - 1] == '\\')
                out[n - 1] = 'q';
        }
    }
    return n;
}

/* The simd.h primitives alone, against plain loops: bit i of simd16_mask64
 * is byte i, simd16_first is the first set byte. */
static void check_primitives(void)
{
#ifdef SIMD16
    static const uint8_t alphabet[] = {'"', '\\', 0, 0x1f, ' ', 'a', 0x7f, 0x80, 0xff, 0xc3};
    uint8_t block[64];
    for (int round = 0; round < 20000; round++) {
        uint64_t density = rng() % 64 + 1;
        for (int i = 0; i < 64; i++)
            block[i] = rng() % density ? 'a' : alphabet[rng() % sizeof alphabet];
        simd16 v[4] = {simd16_load(block), simd16_load(block + 16), simd16_load(block + 32),
                       simd16_load(block + 48)};
        uint64_t want_bs = 0, want_special = 0;
        for (int i = 0; i < 64; i++) {
            if (block[i] == '\\')
                want_bs |= 1ULL << i;
            if (block[i] == '"' || block[i] == '\\' || block[i] < 0x20 || block[i] >= 0x80)
                want_special |= 1ULL << i;
        }
        simd16 s[4];
        for (int j = 0; j < 4; j++) {
            s[j] = simd16_or(simd16_or(simd16_eq(v[j], '"'), simd16_eq(v[j], '\\')),
                             simd16_lt_signed(v[j], 0x20));
            uint64_t part = want_special >> (16 * j) & 0xffff;
            simd16_bits_t bits = simd16_bits(s[j]);
            if ((bits != 0) != (part != 0) ||
                (part && simd16_first(bits) != (unsigned)__builtin_ctzll(part)))
                fail(block, 64, "simd16_bits/simd16_first on bytes %d..%d", 16 * j, 16 * j + 15);
        }
        if (simd16_mask64(simd16_eq(v[0], '\\'), simd16_eq(v[1], '\\'), simd16_eq(v[2], '\\'),
                          simd16_eq(v[3], '\\')) != want_bs ||
            simd16_mask64(s[0], s[1], s[2], s[3]) != want_special)
            fail(block, 64, "simd16_mask64");
        uint8_t copy[16];
        simd16_store(copy, v[round & 3]);
        if (memcmp(copy, block + 16 * (round & 3), 16) != 0)
            fail(block, 64, "simd16_store");
        runs++;
    }
#endif
}

int main(void)
{
    check_primitives();

    /* The reference itself, on a known answer: in the scalar build it is
     * what the scanner is checked against. */
    static const uint8_t known[] = "\"a\\n\\u00e9\\ud83d\\ude00\" ";
    uint8_t ref[64];
    size_t ref_len = 0;
    if (ref_string(known + 1, sizeof known - 2, true, ref, &ref_len) != sizeof known - 3 ||
        ref_len != 8 || memcmp(ref, "a\n\xc3\xa9\xf0\x9f\x98\x80", 8) != 0)
        fail(known, sizeof known - 1, "the reference decoder is wrong");

    size_t ntokens = sizeof tokens / sizeof *tokens;
    for (size_t t = 0; t < ntokens; t++) {
        size_t tl = strlen(tokens[t]);
        for (size_t len = tl; len <= 300; len++)
            if (length_checked(len))
                for (size_t k = 0; k + tl <= len; k++)
                    check_token_at((const uint8_t *)tokens[t], tl, k, len);
    }
    for (unsigned b = 0; b < 256; b++) {
        uint8_t byte = (uint8_t)b;
        for (size_t k = 0; k < 80; k++)
            check_token_at(&byte, 1, k, k + 1 + (b + k) % 70);
    }
    for (size_t run = 1; run <= 8; run++) {
        uint8_t token[16];
        memset(token, '\\', run);
        static const char after[] = "\"nu";
        for (size_t a = 0; a < 3; a++) {
            token[run] = (uint8_t)after[a];
            memcpy(token + run + 1, "00e9", 4);
            for (size_t k = 0; k < 140; k++)
                check_token_at(token, run + 1 + (a == 2 ? 4 : 0), k, k + run + 70);
        }
    }
    uint8_t content[512];
    for (int i = 0; i < 60000; i++) {
        size_t n = random_content(content, 300);
        check_content(content, n);
    }

    printf("json_paths: %s against scalar and a reference decoder: %llu strings, %llu runs, "
           "%llu mismatches\n",
           fast.name, cases, runs, failures);
    return failures ? 1 : 0;
}
