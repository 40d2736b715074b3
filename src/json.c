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
    src->ended = false;
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

ptrdiff_t json_scan_refill(struct scan *s, size_t need)
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

int json_scan_fail(struct scan *s, const char *what)
{
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: %s",
                     (unsigned long long)json_src_offset(s->src), what);
}

int json_scan_cut(struct scan *s, const char *what)
{
    s->src->ended = true;
    return json_scan_fail(s, what);
}

int json_scan_unexpected(struct scan *s, int b, const char *expected)
{
    char found[16];
    if (b == JSON_EOF)
        s->src->ended = true;
    describe_byte(b, found);
    return error_set(s->err, s->type, "invalid JSON at byte offset %llu: found %s, expected %s",
                     (unsigned long long)json_src_offset(s->src), found, expected);
}

int json_scan_peek_slow(struct scan *s)
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
        ptrdiff_t avail = json_scan_ensure(s, 1);
        if (avail < 0)
            return JSON_ERROR;
        if (avail == 0)
            return JSON_EOF;
    }
}

ptrdiff_t json_scan_utf8(struct scan *s)
{
    size_t need = utf8_sequence_length(*s->src->pos);
    if (need == 0)
        return json_scan_fail(s, "invalid UTF-8 lead byte");
    ptrdiff_t avail = json_scan_ensure(s, need);
    if (avail < 0)
        return -1;
    if ((size_t)avail < need)
        return json_scan_cut(s, "invalid UTF-8 sequence (the input ends inside it)");
    const uint8_t *p = s->src->pos;
    size_t len = utf8_valid_prefix(p, (size_t)avail);
    if (len == 0 && s->src->surrogates && avail >= 3 && p[0] == 0xed && p[1] >= 0xa0 &&
        p[1] <= 0xbf && (p[2] & 0xc0) == 0x80)
        len = 3;
    if (len == 0)
        return json_scan_fail(s, "invalid UTF-8 sequence");
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

/* Writes the validated sequence of len bytes at pos (or DEL, len 1) as its
 * escape (a surrogate pair above U+FFFF) and consumes it, so that the copy is
 * ASCII. */
static int scan_escape_utf8(struct scan *s, size_t len)
{
    const uint8_t *p = s->src->pos;
    uint32_t cp = len == 1   ? p[0]
                  : len == 2 ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
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

/* Validates the escape at pos (its backslash) and consumes it. */
static inline int scan_escape(struct scan *s)
{
    struct json_src *src = s->src;
    ptrdiff_t avail = json_scan_ensure(s, 2);
    if (avail < 0)
        return -1;
    const uint8_t *p = src->pos;
    if (avail < 2)
        return json_scan_cut(s, "unterminated string (it ends inside an escape)");
    if (p[1] == 'u') {
        avail = json_scan_ensure(s, 6);
        if (avail < 0)
            return -1;
        p = src->pos;
        if (avail < 6)
            return json_scan_cut(s, "unterminated string (it ends inside an escape)");
        if (hex4(p + 2) < 0)
            return json_scan_fail(s, "\\u must be followed by 4 hex digits");
        src->pos += 6;
    } else if (escape_value[p[1]]) {
        src->pos += 2;
    } else {
        return json_scan_fail(s, "invalid escape sequence");
    }
    return 0;
}

/* Validates DEL or the non-ASCII sequence at pos and consumes it, writing it
 * as its escape when there is a copy. */
static inline int scan_non_ascii(struct scan *s, bool del)
{
    ptrdiff_t len = del ? 1 : json_scan_utf8(s);
    if (len < 0)
        return -1;
    if (s->out)
        return scan_escape_utf8(s, (size_t)len);
    s->src->pos += len;
    return 0;
}

/* Validates a string (pos at its opening quote), copying it verbatim except
 * for non-ASCII characters and DEL, which are written as escapes. */
static int scan_string(struct scan *s)
{
    struct json_src *src = s->src;
    src->pos++;
    for (;;) {
        const uint8_t *p = skip_plain(src->pos, src->end), *end = src->end;
        src->pos = p;
        if (p == end) {
            ptrdiff_t avail = json_scan_ensure(s, 1);
            if (avail < 0)
                return -1;
            if (avail == 0)
                return json_scan_cut(s, "unterminated string");
            continue;
        }
        switch (string_class[*p]) {
        case BYTE_QUOTE:
            src->pos++;
            return 0;
        case BYTE_BACKSLASH:
            if (scan_escape(s) != 0)
                return -1;
            break;
        case BYTE_CONTROL:
            return json_scan_fail(s, "unescaped control character in string");
        case BYTE_DEL:
            if (scan_non_ascii(s, true) != 0)
                return -1;
            break;
        default:
            if (scan_non_ascii(s, false) != 0)
                return -1;
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
        ptrdiff_t avail = json_scan_ensure(s, 1);
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
    ptrdiff_t avail = json_scan_ensure(s, 1);
    if (avail < 0)
        return JSON_ERROR;
    return avail == 0 ? JSON_EOF : *s->src->pos;
}

static int scan_literal(struct scan *s, const char *word);

/* Validates a number as RFC 8259 spells it, copying its text unchanged; in
 * Python's dialect -Infinity too. An Output's integer is held to
 * JSON_INT_MAX_DIGITS digits. */
static int scan_number(struct scan *s)
{
    uint64_t start = json_src_offset(s->src);
    int b = scan_byte(s);
    if (b == '-') {
        if (s->python) {
            ptrdiff_t avail = json_scan_ensure(s, 2);
            if (avail < 0)
                return -1;
            if (avail >= 2 && s->src->pos[1] == 'I')
                return scan_literal(s, "-Infinity");
        }
        s->src->pos++;
        b = scan_byte(s);
    }
    if (b == JSON_ERROR)
        return -1;
    long digits = 1;
    if (b == '0') {
        s->src->pos++;
    } else if (is_digit(b)) {
        if ((digits = scan_digits(s)) < 0)
            return -1;
    } else {
        return json_scan_unexpected(s, b, "a digit");
    }
    b = scan_byte(s);
    bool integer = b != '.' && b != 'e' && b != 'E';
    if (integer && digits > JSON_INT_MAX_DIGITS && !s->python)
        return error_set(s->err, s->type,
                         "integer at byte offset %llu has %ld digits, more than the %d Python's "
                         "json.loads reads",
                         (unsigned long long)start, digits, JSON_INT_MAX_DIGITS);
    if (b == '.') {
        s->src->pos++;
        long n = scan_digits(s);
        if (n < 0)
            return -1;
        if (n == 0)
            return json_scan_unexpected(s, scan_byte(s), "a digit after the decimal point");
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
            return json_scan_unexpected(s, scan_byte(s), "a digit in the exponent");
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
    ptrdiff_t avail = json_scan_ensure(s, n);
    if (avail < 0)
        return -1;
    if ((size_t)avail < n || memcmp(s->src->pos, word, n) != 0) {
        if ((size_t)avail < n && memcmp(s->src->pos, word, (size_t)avail) == 0)
            s->src->ended = true; /* cut inside the word */
        return json_scan_fail(s, s->python ? "invalid literal (expected true, false, null, NaN or "
                                             "Infinity)"
                                           : "invalid literal (expected true, false or null)");
    }
    s->src->pos += n;
    return 0;
}

/* The containers around the value being scanned, innermost last: their
 * number, and a bit a level, set for an object, clear for an array.
 * scan_value keeps this stack instead of recursing, so that a deep document
 * costs no C stack. (Unsigned: the bit arithmetic is then shifts and masks.) */
struct nesting {
    unsigned depth;
    uint8_t in_object[JSON_MAX_DEPTH / 8];
};

static inline void nesting_push(struct nesting *n, bool object)
{
    if (object)
        n->in_object[n->depth / 8] |= (uint8_t)(1u << (n->depth % 8));
    else
        n->in_object[n->depth / 8] &= (uint8_t) ~(1u << (n->depth % 8));
    n->depth++;
}

static inline bool nesting_in_object(const struct nesting *n)
{
    return n->in_object[(n->depth - 1) / 8] >> ((n->depth - 1) % 8) & 1;
}

/* What scan_value reads after a step: a value, or what follows a complete
 * one (a ',' or the bracket that closes its container). */
enum scan_next { SCAN_ERROR = -1, SCAN_VALUE, SCAN_AFTER_VALUE };

/* A value that is not a container, b its first byte (json_scan_peek's): a
 * string, a literal or a number. */
static inline int scan_scalar(struct scan *s, int b)
{
    switch (b) {
    case '"':
        return scan_short_string(s) ? 0 : scan_string(s);
    case 't':
        return scan_literal(s, "true");
    case 'f':
        return scan_literal(s, "false");
    case 'n':
        return scan_literal(s, "null");
    case 'N':
    case 'I':
        if (!s->python)
            break;
        return scan_literal(s, b == 'N' ? "NaN" : "Infinity");
    case JSON_ERROR:
        return -1;
    default:
        if (b == '-' || is_digit(b))
            return scan_number(s);
        break;
    }
    return json_scan_unexpected(s, b, "a value");
}

/* A member's name and its ':' (b the name's first byte, json_scan_peek's),
 * leaving pos before the member's value. */
static inline int scan_member_name(struct scan *s, int b)
{
    if (b == JSON_ERROR)
        return -1;
    if (b != '"')
        return json_scan_unexpected(s, b, "a string key");
    if (!scan_short_string(s) && scan_string(s) != 0)
        return -1;
    b = json_scan_peek(s);
    if (b == JSON_ERROR)
        return -1;
    if (b != ':')
        return json_scan_unexpected(s, b, "':'");
    s->src->pos++;
    return 0;
}

/* Opens the container whose bracket b is at pos and reads up to its first
 * value (in an object, past the first member's name). An empty container is
 * a complete value. */
static inline enum scan_next scan_open(struct scan *s, struct nesting *n, int b, unsigned max_depth)
{
    if (n->depth == max_depth) {
        error_set(s->err, s->type, "invalid JSON at byte offset %llu: nested deeper than %u levels",
                  (unsigned long long)json_src_offset(s->src), max_depth);
        return SCAN_ERROR;
    }
    bool object = b == '{';
    nesting_push(n, object);
    s->src->pos++;
    b = json_scan_peek(s);
    if (b == (object ? '}' : ']')) {
        s->src->pos++;
        n->depth--;
        return SCAN_AFTER_VALUE;
    }
    if (object && scan_member_name(s, b) != 0)
        return SCAN_ERROR;
    return SCAN_VALUE;
}

/* After a complete value inside a container: a ',' and the next value (in an
 * object, past the next member's name: SCAN_VALUE), or the container's
 * closing bracket, which completes the container (SCAN_AFTER_VALUE). */
static inline enum scan_next scan_after_value(struct scan *s, struct nesting *n)
{
    int b = json_scan_peek(s);
    if (b == JSON_ERROR)
        return SCAN_ERROR;
    bool object = nesting_in_object(n);
    if (b == ',') {
        s->src->pos++;
        if (object && scan_member_name(s, json_scan_peek(s)) != 0)
            return SCAN_ERROR;
        return SCAN_VALUE;
    }
    if (b == (object ? '}' : ']')) {
        s->src->pos++;
        n->depth--;
        return SCAN_AFTER_VALUE;
    }
    json_scan_unexpected(s, b, object ? "',' or '}'" : "',' or ']'");
    return SCAN_ERROR;
}

/* Validates (and copies, with s->out) one value, containers and all: each
 * turn reads a value, then what follows it until the next value starts. */
static int scan_value(struct scan *s)
{
    struct nesting n = {0, {0}};
    const unsigned max_depth = s->python ? JSON_MAX_DEPTH : JSON_OUTPUT_MAX_DEPTH;
    for (;;) {
        int b = json_scan_peek(s);
        enum scan_next next;
        if (b == '{' || b == '[')
            next = scan_open(s, &n, b, max_depth);
        else
            next = scan_scalar(s, b) == 0 ? SCAN_AFTER_VALUE : SCAN_ERROR;
        /* A complete value may complete the containers around it too. */
        while (next == SCAN_AFTER_VALUE) {
            if (n.depth == 0)
                return scan_flush(s);
            next = scan_after_value(s, &n);
        }
        if (next == SCAN_ERROR)
            return -1;
    }
}

int json_copy_value(struct json_src *src, struct sink *out, const char *type, struct error *err)
{
    struct scan s = {src, out, src->pos, type, err, false};
    return scan_value(&s);
}

int json_skip_value(struct json_src *src, const char *type, struct error *err)
{
    struct scan s = {src, NULL, src->pos, type, err, true};
    return scan_value(&s);
}

/* Skips the whitespace in the window. The public entry points copy nothing,
 * so unlike json_scan_peek there is no span to flush first. */
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
    struct scan s = {src, NULL, src->pos, "", err, false};
    return json_scan_peek(&s);
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
        struct scan s = {src, NULL, src->pos, "", err, false};
        ptrdiff_t avail = json_scan_ensure(&s, 1);
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
    struct scan s = {src, NULL, src->pos, type, err, false};
    int b = json_scan_peek(&s);
    if (b == JSON_ERROR)
        return -1;
    if (b != (uint8_t)c) {
        char expected[8] = {'\'', c, '\'', '\0'};
        return json_scan_unexpected(&s, b, expected);
    }
    src->pos++;
    return 0;
}

int json_object_open(struct json_object *o, struct json_src *src, struct buf *name,
                     const char *type, struct error *err)
{
    *o = (struct json_object){src, name, type, err, false};
    return json_expect(src, '{', type, err);
}

/* Whether the decoded name is want (never reading past want's NUL). */
static bool name_is(const struct buf *name, const char *want)
{
    size_t i = 0;
    for (; i < name->len; i++)
        if (!want[i] || want[i] != (char)name->data[i])
            return false;
    return want[i] == '\0';
}

int json_object_next(struct json_object *o, const char *const *names, int n)
{
    for (;;) {
        int b = json_peek(o->src, o->err);
        if (b == JSON_ERROR)
            return -1;
        if (b == '}') {
            o->src->pos++;
            return n;
        }
        if (o->started) {
            if (b != ',') {
                struct scan s = {o->src, NULL, o->src->pos, o->type, o->err, true};
                return json_scan_unexpected(&s, b, "',' or '}'");
            }
            o->src->pos++;
            if (json_peek(o->src, o->err) == JSON_ERROR)
                return -1;
        }
        o->started = true;
        bool cut;
        buf_reset(o->name);
        /* json_peek skips the whitespace before the value inline. */
        if (json_decode_string(o->src, o->name, &cut, o->type, o->err) != 0 ||
            json_expect(o->src, ':', o->type, o->err) != 0 ||
            json_peek(o->src, o->err) == JSON_ERROR)
            return -1;
        for (int i = 0; i < n && !cut; i++)
            if (name_is(o->name, names[i]))
                return i;
        if (json_skip_value(o->src, o->type, o->err) != 0)
            return -1;
    }
}

int json_object_find(struct json_src *src, const char *const *names, int n, struct json_src *found,
                     struct buf *name, const char *type, struct error *err)
{
    for (int i = 0; i < n; i++)
        found[i].pos = NULL;
    struct json_object o;
    if (json_object_open(&o, src, name, type, err) != 0)
        return -1;
    for (;;) {
        int i = json_object_next(&o, names, n);
        if (i < 0 || i == n)
            return i < 0 ? -1 : 0;
        found[i] = *src; /* a later member of the name replaces it */
        if (json_skip_value(src, type, err) != 0)
            return -1;
    }
}

static int check_document(struct json_src *src, bool surrogates, bool python, struct sink *out,
                          const char *type, struct error *err)
{
    src->surrogates = surrogates;
    struct scan s = {src, out, src->pos, type, err, python};
    if (scan_value(&s) != 0)
        return -1;
    s.out = NULL;
    int b = json_scan_peek(&s);
    if (b != JSON_EOF)
        return b == JSON_ERROR
                   ? -1
                   : json_scan_unexpected(&s, b, "end of input (trailing data after the value)");
    return 0;
}

int json_copy_document(const void *data, size_t n, struct sink *out, const char *type,
                       struct error *err)
{
    struct json_src src;
    json_src_memory(&src, data, n);
    return check_document(&src, false, false, out, type, err);
}

int json_copy_decoded(const void *data, size_t n, struct sink *out, const char *type,
                      struct error *err)
{
    struct json_src src;
    json_src_memory(&src, data, n);
    return check_document(&src, true, false, out, type, err);
}

int json_check_document(const void *data, size_t n, const char *type, struct error *err)
{
    struct json_src src;
    json_src_memory(&src, data, n);
    return check_document(&src, false, true, NULL, type, err);
}
