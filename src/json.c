/* The scanner: values validated and copied from a refillable window
 * (json.h). The string decoder is json_decode.c; what both use, json_scan.h. */
#include "json.h"

#include <stdio.h>

#include "json_scan.h"
#include "simd.h"
#include "utf8.h"

static inline bool is_ws(uint8_t b)
{
    return b == ' ' || b == '\n' || b == '\r' || b == '\t';
}
static inline bool is_digit(int b)
{
    return b >= '0' && b <= '9';
}

void json_src_memory(struct json_src *src, const void *data, size_t n)
{
    src->start = src->pos = data;
    src->end = src->pos + n;
    src->base = 0;
    src->surrogates = false;
    src->fill = NULL;
    src->ctx = NULL;
}

static int scan_flush(struct scan *s)
{
    if (s->out && s->src->pos > s->span &&
        sink_write(s->out, s->span, (size_t)(s->src->pos - s->span), s->err) != 0)
        return -1;
    s->span = s->src->pos;
    return 0;
}

ptrdiff_t scan_refill(struct scan *s, size_t need)
{
    struct json_src *src = s->src;
    if (scan_flush(s) != 0 || src->fill(src, need, s->err) != 0)
        return -1;
    s->span = src->pos;
    return src->end - src->pos;
}

static void describe_byte(int b, char out[16])
{
    if (b < 0)
        snprintf(out, 16, "end of input");
    else if (b > 0x20 && b < 0x7f)
        snprintf(out, 16, "'%c'", b);
    else
        snprintf(out, 16, "byte 0x%02x", (unsigned)b);
}

int scan_fail(struct scan *s, const char *what)
{
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: %s",
                     (unsigned long long)json_src_offset(s->src), what);
}

int scan_unexpected(struct scan *s, int b, const char *expected)
{
    char found[16];
    describe_byte(b, found);
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: found %s, expected %s",
                     (unsigned long long)json_src_offset(s->src), found, expected);
}

int scan_peek_slow(struct scan *s)
{
    struct json_src *src = s->src;
    for (;;) {
        const uint8_t *p = src->pos, *end = src->end;
        if (p < end && !is_ws(*p))
            return *p;
        if (scan_flush(s) != 0)
            return JSON_ERROR;
        while (p < end && is_ws(*p))
            p++;
        src->pos = s->span = p;
        if (p < end)
            return *p;
        ptrdiff_t avail = scan_ensure(s, 1);
        if (avail < 0)
            return JSON_ERROR;
        if (avail == 0)
            return JSON_EOF;
    }
}

ptrdiff_t scan_utf8(struct scan *s)
{
    size_t need = utf8_sequence_length(*s->src->pos);
    if (need == 0)
        return scan_fail(s, "invalid UTF-8 lead byte"), -1;
    ptrdiff_t avail = scan_ensure(s, need);
    if (avail < 0)
        return -1;
    const uint8_t *p = s->src->pos;
    size_t len = utf8_valid_prefix(p, (size_t)avail);
    if (len == 0 && s->src->surrogates && avail >= 3 && p[0] == 0xed && p[1] >= 0xa0 &&
        p[1] <= 0xbf && (p[2] & 0xc0) == 0x80)
        len = 3;
    if (len == 0)
        return scan_fail(s, "invalid UTF-8 sequence"), -1;
    return (ptrdiff_t)len;
}

/* Appends \uXXXX (lowercase hex, as Python's json writes it) to e. */
static size_t put_u_escape(char *e, uint32_t unit)
{
    static const char hex[] = "0123456789abcdef";
    e[0] = '\\';
    e[1] = 'u';
    for (int i = 0; i < 4; i++)
        e[2 + i] = hex[(unit >> (12 - 4 * i)) & 15];
    return 6;
}

/* Writes the validated sequence of len bytes at pos as its escape (a
 * surrogate pair above U+FFFF) and consumes it, so that the copy is ASCII. */
static int scan_escape_utf8(struct scan *s, size_t len)
{
    const uint8_t *p = s->src->pos;
    uint32_t cp = len == 2 ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
                  : len == 3
                      ? (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f)
                      : (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
                            (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
    char e[12];
    size_t n;
    if (cp >= 0x10000)
        n = put_u_escape(e, 0xd800 + ((cp - 0x10000) >> 10)) +
            put_u_escape(e + 6, 0xdc00 + ((cp - 0x10000) & 0x3ff));
    else
        n = put_u_escape(e, cp);
    if (scan_flush(s) != 0 || sink_write(s->out, e, n, s->err) != 0)
        return -1;
    s->src->pos += len;
    s->span = s->src->pos;
    return 0;
}

/* Validates a string (pos at its opening quote), copying it verbatim except
 * for non-ASCII characters, which are written as escapes. */
static int scan_string(struct scan *s)
{
    struct json_src *src = s->src;
    src->pos++;
    for (;;) {
        const uint8_t *p = skip_plain(src->pos, src->end), *end = src->end;
        src->pos = p;
        if (p == end) {
            ptrdiff_t avail = scan_ensure(s, 1);
            if (avail < 0)
                return -1;
            if (avail == 0)
                return scan_fail(s, "unterminated string");
            continue;
        }
        switch (string_class[*p]) {
        case BYTE_QUOTE:
            src->pos++;
            return 0;
        case BYTE_BACKSLASH: {
            ptrdiff_t avail = scan_ensure(s, 2);
            if (avail < 0)
                return -1;
            p = src->pos;
            if (avail >= 2 && p[1] == 'u') {
                avail = scan_ensure(s, 6);
                if (avail < 0)
                    return -1;
                p = src->pos;
                if (avail < 6 || hex4(p + 2) < 0)
                    return scan_fail(s, "\\u must be followed by 4 hex digits");
                src->pos += 6;
            } else if (avail >= 2 && escape_value[p[1]]) {
                src->pos += 2;
            } else {
                return scan_fail(s, "invalid escape sequence");
            }
            break;
        }
        case BYTE_CONTROL:
            return scan_fail(s, "unescaped control character in string");
        default: {
            ptrdiff_t len = scan_utf8(s);
            if (len < 0)
                return -1;
            if (s->out) {
                if (scan_escape_utf8(s, (size_t)len) != 0)
                    return -1;
            } else {
                src->pos += len;
            }
        }
        }
    }
}

/* Consumes a run of digits; returns how many, or -1 on a read error. */
static long scan_digits(struct scan *s)
{
    long count = 0;
    for (;;) {
        const uint8_t *p = s->src->pos, *end = s->src->end;
        while (p < end && is_digit(*p))
            p++;
        count += p - s->src->pos;
        s->src->pos = p;
        if (p < end)
            return count;
        ptrdiff_t avail = scan_ensure(s, 1);
        if (avail < 0)
            return -1;
        if (avail == 0)
            return count;
    }
}

/* Next byte without skipping whitespace: JSON_EOF at end of input, JSON_ERROR
 * on error. */
static int scan_byte(struct scan *s)
{
    ptrdiff_t avail = scan_ensure(s, 1);
    if (avail < 0)
        return JSON_ERROR;
    return avail == 0 ? JSON_EOF : *s->src->pos;
}

/* Validates a number as RFC 8259 spells it, copying its text unchanged. */
static int scan_number(struct scan *s)
{
    int b = scan_byte(s);
    if (b == '-') {
        s->src->pos++;
        b = scan_byte(s);
    }
    if (b == JSON_ERROR)
        return -1;
    if (b == '0') {
        s->src->pos++;
    } else if (is_digit(b)) {
        if (scan_digits(s) < 0)
            return -1;
    } else {
        return scan_unexpected(s, b, "a digit");
    }
    b = scan_byte(s);
    if (b == '.') {
        s->src->pos++;
        long n = scan_digits(s);
        if (n < 0)
            return -1;
        if (n == 0)
            return scan_unexpected(s, scan_byte(s), "a digit after the decimal point");
        b = scan_byte(s);
    }
    if (b == 'e' || b == 'E') {
        s->src->pos++;
        b = scan_byte(s);
        if (b == '+' || b == '-')
            s->src->pos++;
        long n = scan_digits(s);
        if (n < 0)
            return -1;
        if (n == 0)
            return scan_unexpected(s, scan_byte(s), "a digit in the exponent");
        b = scan_byte(s);
    }
    return b == JSON_ERROR ? -1 : 0;
}

/* The common case of scan_string inline (pos at the opening quote): a string
 * of plain bytes whose closing quote is within the next 32 bytes. Returns
 * true having consumed it, or false having consumed nothing (scan_string then
 * does the work, with its errors). */
static inline bool scan_short_string(struct scan *s)
{
#ifdef SIMD16
    const uint8_t *p = s->src->pos + 1;
    if (s->src->end - p < 32)
        return false;
    for (int k = 0; k < 2; k++, p += 16) {
        simd16_bits_t bits = simd16_bits(string_special(simd16_load(p)));
        if (bits) {
            p += simd16_first(bits);
            if (*p != '"')
                return false;
            s->src->pos = p + 1;
            return true;
        }
    }
#else
    (void)s;
#endif
    return false;
}

static int scan_literal(struct scan *s, const char *word)
{
    size_t n = strlen(word);
    ptrdiff_t avail = scan_ensure(s, n);
    if (avail < 0)
        return -1;
    if ((size_t)avail < n || memcmp(s->src->pos, word, n) != 0)
        return scan_fail(s, "invalid literal (expected true, false or null)");
    s->src->pos += n;
    return 0;
}

static int scan_value(struct scan *s)
{
    uint8_t in_object[JSON_MAX_DEPTH / 8] = {0}; /* bit set: object, clear: array */
    int depth = 0;
    int b;

value:
    b = scan_peek(s);
    switch (b) {
    case '{':
    case '[': {
        if (depth == JSON_MAX_DEPTH)
            return error_set(s->err, s->type,
                             "invalid JSON at byte offset %llu: nested deeper than %d levels",
                             (unsigned long long)json_src_offset(s->src), JSON_MAX_DEPTH);
        bool object = b == '{';
        if (object)
            in_object[depth / 8] |= (uint8_t)(1u << (depth % 8));
        else
            in_object[depth / 8] &= (uint8_t) ~(1u << (depth % 8));
        depth++;
        s->src->pos++;
        b = scan_peek(s);
        if (b == (object ? '}' : ']')) {
            s->src->pos++;
            depth--;
            goto after;
        }
        if (object)
            goto key;
        goto value;
    }
    case '"':
        if (!scan_short_string(s) && scan_string(s) != 0)
            return -1;
        goto after;
    case 't':
        if (scan_literal(s, "true") != 0)
            return -1;
        goto after;
    case 'f':
        if (scan_literal(s, "false") != 0)
            return -1;
        goto after;
    case 'n':
        if (scan_literal(s, "null") != 0)
            return -1;
        goto after;
    case JSON_ERROR:
        return -1;
    default:
        if (b == '-' || is_digit(b)) {
            if (scan_number(s) != 0)
                return -1;
            goto after;
        }
        break;
    }
    return scan_unexpected(s, b, "a value");

key:
    if (b == JSON_ERROR)
        return -1;
    if (b != '"')
        return scan_unexpected(s, b, "a string key");
    if (!scan_short_string(s) && scan_string(s) != 0)
        return -1;
    b = scan_peek(s);
    if (b == JSON_ERROR)
        return -1;
    if (b != ':')
        return scan_unexpected(s, b, "':'");
    s->src->pos++;
    goto value;

after:
    if (depth == 0)
        return scan_flush(s);
    b = scan_peek(s);
    if (b == JSON_ERROR)
        return -1;
    if (in_object[(depth - 1) / 8] >> ((depth - 1) % 8) & 1) {
        if (b == ',') {
            s->src->pos++;
            b = scan_peek(s);
            goto key;
        }
        if (b == '}') {
            s->src->pos++;
            depth--;
            goto after;
        }
        return scan_unexpected(s, b, "',' or '}'");
    }
    if (b == ',') {
        s->src->pos++;
        goto value;
    }
    if (b == ']') {
        s->src->pos++;
        depth--;
        goto after;
    }
    return scan_unexpected(s, b, "',' or ']'");
}

int json_copy_value(struct json_src *src, struct sink *out, const char *type, struct error *err)
{
    struct scan s = {src, out, src->pos, type, err};
    return scan_value(&s);
}

/* Skips the whitespace in the window. The public entry points copy nothing,
 * so unlike scan_peek there is no span to flush first. */
static inline void skip_ws(struct json_src *src)
{
    const uint8_t *p = src->pos, *end = src->end;
    while (p < end && is_ws(*p))
        p++;
    src->pos = p;
}

int json_peek(struct json_src *src, struct error *err)
{
    skip_ws(src);
    if (src->pos < src->end)
        return *src->pos;
    struct scan s = {src, NULL, src->pos, "", err};
    return scan_peek(&s);
}

int json_peek_line(struct json_src *src, bool *newline, struct error *err)
{
    *newline = false;
    for (;;) {
        const uint8_t *p = src->pos, *end = src->end;
        while (p < end && is_ws(*p))
            *newline |= *p++ == '\n';
        src->pos = p;
        if (p < end)
            return *p;
        struct scan s = {src, NULL, src->pos, "", err};
        ptrdiff_t avail = scan_ensure(&s, 1);
        if (avail <= 0)
            return avail < 0 ? JSON_ERROR : JSON_EOF;
    }
}

int json_expect(struct json_src *src, char c, const char *type, struct error *err)
{
    skip_ws(src);
    if (src->pos < src->end && *src->pos == (uint8_t)c) {
        src->pos++;
        return 0;
    }
    struct scan s = {src, NULL, src->pos, type, err};
    int b = scan_peek(&s);
    if (b == JSON_ERROR)
        return -1;
    if (b != (uint8_t)c) {
        char expected[8] = {'\'', c, '\'', '\0'};
        return scan_unexpected(&s, b, expected);
    }
    src->pos++;
    return 0;
}

static int copy_document(const void *data, size_t n, bool surrogates, struct sink *out,
                         const char *type, struct error *err)
{
    struct json_src src;
    json_src_memory(&src, data, n);
    src.surrogates = surrogates;
    if (json_copy_value(&src, out, type, err) != 0)
        return -1;
    struct scan s = {&src, NULL, src.pos, type, err};
    int b = scan_peek(&s);
    if (b != -1)
        return scan_unexpected(&s, b, "end of input (trailing data after the value)");
    return 0;
}

int json_copy_document(const void *data, size_t n, struct sink *out, const char *type,
                       struct error *err)
{
    return copy_document(data, n, false, out, type, err);
}

int json_copy_decoded(const void *data, size_t n, struct sink *out, const char *type,
                      struct error *err)
{
    return copy_document(data, n, true, out, type, err);
}
