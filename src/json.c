#include "json.h"

#include <stdio.h>

#include "simd.h"
#include "utf8.h"

enum { BYTE_PLAIN = 0, BYTE_QUOTE, BYTE_BACKSLASH, BYTE_CONTROL, BYTE_NON_ASCII };

/* Class of each byte inside a string; plain bytes are copied in runs. */
static const uint8_t string_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

#ifdef SIMD16
/* Set where a byte of string content is not plain: a quote, a backslash, a
 * control byte or (the signed compare below 0x20 catches it too) a byte >=
 * 0x80, which is checked as UTF-8 one sequence at a time. */
static inline simd16 string_special(simd16 v)
{
    return simd16_or(simd16_or(simd16_eq(v, '"'), simd16_eq(v, '\\')), simd16_lt_signed(v, 0x20));
}
#endif

/* Returns the first byte in [p, end) that is not plain string content, 16
 * bytes at a time where there is SIMD (simd.h: every x86-64 and arm64). */
static inline const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end)
{
#ifdef SIMD16
    while (end - p >= 16) {
        simd16_bits_t bits = simd16_bits(string_special(simd16_load(p)));
        if (bits)
            return p + simd16_first(bits);
        p += 16;
    }
#endif
    while (p < end && string_class[*p] == BYTE_PLAIN)
        p++;
    return p;
}

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

/* A scan in progress: bytes in [span, src->pos) have been validated and are
 * written to out (when there is one) before the window moves or whitespace is
 * dropped. */
struct scan {
    struct json_src *src;
    struct sink *out;
    const uint8_t *span;
    const char *type;
    struct error *err;
};

static int scan_flush(struct scan *s)
{
    if (s->out && s->src->pos > s->span &&
        sink_write(s->out, s->span, (size_t)(s->src->pos - s->span), s->err) != 0)
        return -1;
    s->span = s->src->pos;
    return 0;
}

/* Returns the number of readable bytes (fewer than need only at end of
 * input), or -1 on a read error. */
static ptrdiff_t scan_ensure(struct scan *s, size_t need)
{
    struct json_src *src = s->src;
    if ((size_t)(src->end - src->pos) >= need || !src->fill)
        return src->end - src->pos;
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

static int scan_fail(struct scan *s, const char *what)
{
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: %s",
                     (unsigned long long)json_src_offset(s->src), what);
}

static int scan_unexpected(struct scan *s, int b, const char *expected)
{
    char found[16];
    describe_byte(b, found);
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: found %s, expected %s",
                     (unsigned long long)json_src_offset(s->src), found, expected);
}

/* The slow path of scan_peek: whitespace to drop, or the window to refill. */
static int scan_peek_slow(struct scan *s)
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

/* Skips whitespace (dropping it from the copy) and returns the next byte,
 * JSON_EOF at end of input, JSON_ERROR on a read error. Inline for the common
 * case: a byte above the space (never whitespace) right at pos. */
static inline int scan_peek(struct scan *s)
{
    const uint8_t *p = s->src->pos, *end = s->src->end;
    /* ' ' < *p, not *p > ' ': clang-format reads `p < end && *p > x` as a
     * template argument list and mangles it. */
    if (p < end && ' ' < *p)
        return *p;
    return scan_peek_slow(s);
}

static int hex_value(uint8_t b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits at p; returns the code unit or -1. */
static long hex4(const uint8_t *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Validates the non-ASCII sequence at pos; returns its length or -1. A source
 * of decoded text (src->surrogates) may also hold a surrogate's 3-byte form,
 * which is how the decoder keeps a lone surrogate escape. */
static ptrdiff_t scan_utf8(struct scan *s)
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

/* What each escape letter stands for; 0 for a letter that is no escape. */
static const uint8_t escape_value[256] = {
    ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
    ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
};

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

/* Appends decoded bytes, switching to validate-only once dst is full. */
static int decode_append_slow(struct scan *s, struct buf *dst, bool *overflowed, bool *storing,
                              const void *p, size_t n)
{
    enum buf_result rc = buf_append(dst, p, n, s->err);
    if (rc == BUF_NO_MEMORY)
        return -1;
    if (rc == BUF_FULL) {
        if (!overflowed)
            return error_set(s->err, s->type, "string at byte offset %llu is longer than %zu bytes",
                             (unsigned long long)json_src_offset(s->src), dst->max);
        /* Keep what fits, so the stored prefix does not depend on chunking. */
        if (buf_append(dst, p, dst->max - dst->len, s->err) == BUF_NO_MEMORY)
            return -1;
        *overflowed = true;
        *storing = false;
    }
    return 0;
}

/* The common case inline: room in dst (with a byte left for the final NUL). */
static inline int decode_append(struct scan *s, struct buf *dst, bool *overflowed, bool *storing,
                                const void *p, size_t n)
{
    if (!*storing || n == 0)
        return 0;
    if (n < dst->cap - dst->len) {
        memcpy(dst->data + dst->len, p, n);
        dst->len += n;
        return 0;
    }
    return decode_append_slow(s, dst, overflowed, storing, p, n);
}

/* Decodes the \u escape at pos (a surrogate pair takes two), appending UTF-8
 * (or a lone surrogate's 3-byte form). */
static int decode_unicode_escape(struct scan *s, struct buf *dst, bool *overflowed, bool *storing)
{
    ptrdiff_t avail = scan_ensure(s, 6);
    if (avail < 0)
        return -1;
    long unit = avail >= 6 ? hex4(s->src->pos + 2) : -1;
    if (unit < 0)
        return scan_fail(s, "\\u must be followed by 4 hex digits");
    uint32_t cp = (uint32_t)unit;
    size_t consumed = 6;
    if (unit >= 0xd800 && unit <= 0xdbff) {
        avail = scan_ensure(s, 12);
        if (avail < 0)
            return -1;
        const uint8_t *p = s->src->pos;
        long low = avail >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8) : -1;
        if (low >= 0xdc00 && low <= 0xdfff) {
            cp = 0x10000 + (((uint32_t)unit - 0xd800) << 10) + ((uint32_t)low - 0xdc00);
            consumed = 12;
        }
    }
    /* A lone surrogate (Python's json accepts one) is kept in its 3-byte
     * form: json_copy_decoded accepts it and writes its escape back. */
    uint8_t utf8[4];
    size_t n = utf8_from_code_point(cp, utf8);
    if (decode_append(s, dst, overflowed, storing, utf8, n) != 0)
        return -1;
    s->src->pos += consumed;
    return 0;
}

#ifdef SIMD16
/* The fast path of json_decode_string reads 64-byte blocks (and up to 15
 * bytes past a run, and the byte after an escape), and writes up to 79 bytes
 * past d: it runs while DECODE_FAST_READ bytes are readable and
 * DECODE_FAST_ROOM bytes (with the final NUL) are free in dst. */
enum { DECODE_FAST_READ = 80, DECODE_FAST_ROOM = 96 };

static inline simd16 quote_or_control(simd16 v)
{
    return simd16_or(simd16_eq(v, '"'), simd16_lt_signed(v, 0x20));
}

/* Bit i set where byte i of the 64 at p is a backslash (*bs), or a quote, a
 * control byte or a non-ASCII byte (*other). */
static inline void block_masks(const uint8_t *p, uint64_t *bs, uint64_t *other)
{
    /* Named vectors, not arrays: gcc keeps arrays of vectors on the stack. */
    simd16 v0 = simd16_load(p), v1 = simd16_load(p + 16), v2 = simd16_load(p + 32),
           v3 = simd16_load(p + 48);
    *bs = simd16_mask64(simd16_eq(v0, '\\'), simd16_eq(v1, '\\'), simd16_eq(v2, '\\'),
                        simd16_eq(v3, '\\'));
    *other = simd16_mask64(quote_or_control(v0), quote_or_control(v1), quote_or_control(v2),
                           quote_or_control(v3));
}

/* Copies n bytes in 16-byte steps (writing and reading up to 15 more). */
static inline void copy_runs(uint8_t *d, const uint8_t *s, size_t n)
{
    for (size_t k = 0; k < n; k += 16)
        simd16_store(d + k, simd16_load(s + k));
}

/* Bit i set where byte i of the block is escaped (preceded by an odd run of
 * backslashes), for a block that does not start inside an escape. */
static inline uint64_t find_escaped(uint64_t bs)
{
    const uint64_t even = 0x5555555555555555ULL;
    uint64_t follows = bs << 1;
    uint64_t odd_starts = bs & ~even & ~follows;
    uint64_t even_starts_sum;
    (void)__builtin_add_overflow(odd_starts, bs, &even_starts_sum);
    return (even ^ (even_starts_sum << 1)) & follows;
}

/* Decodes plain bytes and the simple escapes (\" \\ \/ \b \f \n \r \t) from
 * *sp to *d, a 64-byte block at a time: the block's escaped bytes are found
 * from its backslash mask at once (odd runs of backslashes), then the escapes
 * before the first unescaped quote, control or non-ASCII byte are taken in
 * order from a bit mask, so consecutive escapes cost a few instructions each
 * and no reload. Stops before any byte the general loop must see (the closing
 * quote, \u, an invalid escape, a control or non-ASCII byte), when fewer than
 * DECODE_FAST_READ bytes remain before end, or when d passes d_last. */
static void decode_fast(const uint8_t **sp_io, const uint8_t *end, uint8_t **d_io,
                        const uint8_t *d_last)
{
    const uint8_t *sp = *sp_io;
    uint8_t *d = *d_io;
    while (end - sp >= DECODE_FAST_READ && d <= d_last) {
        uint64_t bs, other;
        block_masks(sp, &bs, &other);
        uint64_t escaped = find_escaped(bs);
        uint64_t stop = other & ~escaped;
        uint64_t esc = bs & ~escaped & (stop ? (stop & (0 - stop)) - 1 : ~(uint64_t)0);
        unsigned pos = 0; /* bytes of the block consumed */
        while (esc) {
            unsigned b = (unsigned)__builtin_ctzll(esc);
            copy_runs(d, sp + pos, b - pos);
            d += b - pos;
            uint8_t letter = sp[b + 1], value = escape_value[letter];
            if (!value || letter == 'u') {
                *sp_io = sp + b;
                *d_io = d;
                return;
            }
            *d++ = value;
            pos = b + 2;
            esc &= esc - 1;
        }
        if (stop) {
            unsigned f = (unsigned)__builtin_ctzll(stop);
            copy_runs(d, sp + pos, f - pos);
            *d_io = d + (f - pos);
            *sp_io = sp + f;
            return;
        }
        if (pos < 64) {
            copy_runs(d, sp + pos, 64 - pos);
            d += 64 - pos;
            pos = 64;
        }
        sp += pos;
    }
    *sp_io = sp;
    *d_io = d;
}
#endif

static int decode_string(struct json_src *src, struct buf *dst, bool *overflowed, const char *type,
                         struct error *err)
{
    struct scan s = {src, NULL, src->pos, type, err};
    bool storing = true;
    if (overflowed)
        *overflowed = false;
    int b = scan_peek(&s);
    if (b == JSON_ERROR)
        return -1;
    if (b != '"')
        return scan_unexpected(&s, b, "a string");
    src->pos++;
#ifdef SIMD16
    /* A short plain string (a member name, mostly): one 16-byte load and
     * store when its closing quote is among the first 16 bytes and dst has
     * room for 16 more (cap <= max + 1, so max holds). */
    if (storing && dst->data && dst->cap - dst->len >= 17 && src->end - src->pos >= 16) {
        simd16 v = simd16_load(src->pos);
        simd16_bits_t bits = simd16_bits(string_special(v));
        unsigned t = bits ? simd16_first(bits) : 16;
        if (t < 16 && src->pos[t] == '"') {
            simd16_store(dst->data + dst->len, v);
            dst->len += t;
            dst->data[dst->len] = '\0';
            src->pos += t + 1;
            return 0;
        }
    }
#endif
    for (;;) {
#ifdef SIMD16
        if (storing && dst->max >= 256 && src->end - src->pos >= DECODE_FAST_READ) {
            if (dst->cap - dst->len < DECODE_FAST_ROOM &&
                buf_reserve(dst, 256, err) == BUF_NO_MEMORY)
                return -1;
            if (dst->data && dst->cap - dst->len >= DECODE_FAST_ROOM) {
                uint8_t *d = dst->data + dst->len;
                decode_fast(&src->pos, src->end, &d, dst->data + dst->cap - DECODE_FAST_ROOM);
                dst->len = (size_t)(d - dst->data);
            }
        }
#endif
        const uint8_t *p = skip_plain(src->pos, src->end), *end = src->end;
        if (decode_append(&s, dst, overflowed, &storing, src->pos, (size_t)(p - src->pos)) != 0)
            return -1;
        src->pos = p;
        if (p == end) {
            ptrdiff_t avail = scan_ensure(&s, 1);
            if (avail < 0)
                return -1;
            if (avail == 0)
                return scan_fail(&s, "unterminated string");
            continue;
        }
        switch (string_class[*p]) {
        case BYTE_QUOTE:
            src->pos++;
            if (dst->data)
                dst->data[dst->len] = '\0'; /* the fast path leaves room for it */
            return 0;
        case BYTE_BACKSLASH: {
            ptrdiff_t avail = scan_ensure(&s, 2);
            if (avail < 0)
                return -1;
            p = src->pos;
            if (avail >= 2 && p[1] == 'u') {
                if (decode_unicode_escape(&s, dst, overflowed, &storing) != 0)
                    return -1;
                break;
            }
            const uint8_t *value = avail >= 2 && escape_value[p[1]] ? &escape_value[p[1]] : NULL;
            if (!value)
                return scan_fail(&s, "invalid escape sequence");
            if (decode_append(&s, dst, overflowed, &storing, value, 1) != 0)
                return -1;
            src->pos += 2;
            break;
        }
        case BYTE_CONTROL:
            return scan_fail(&s, "unescaped control character in string");
        default: {
            ptrdiff_t len = scan_utf8(&s);
            if (len < 0 || decode_append(&s, dst, overflowed, &storing, src->pos, (size_t)len) != 0)
                return -1;
            src->pos += len;
        }
        }
    }
}

int json_decode_string(struct json_src *src, struct buf *dst, bool *overflowed, const char *type,
                       struct error *err)
{
    int rc = decode_string(src, dst, overflowed, type, err);
    /* On failure too, dst holds a C string: what was decoded before the error
     * (callers quote it, e.g. an entry's Name). The fast paths leave room. */
    if (rc != 0 && dst->data && dst->len < dst->cap)
        dst->data[dst->len] = '\0';
    return rc;
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
