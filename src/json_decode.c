/* json_decode_string (json.h): a string decoded into a bounded buffer, with
 * a 64-byte block fast path where there is SIMD. What it shares with the
 * scanner (the window, errors, byte classes) is json_scan.h. */
#include <string.h>

#include "json.h"
#include "json_scan.h"
#include "simd.h"
#include "utf8.h"

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
    ptrdiff_t avail = json_scan_ensure(s, 6);
    if (avail < 0)
        return -1;
    if (avail < 6)
        return json_scan_cut(s, "unterminated string (it ends inside an escape)");
    long unit = hex4(s->src->pos + 2);
    if (unit < 0)
        return json_scan_fail(s, "\\u must be followed by 4 hex digits");
    uint32_t cp = (uint32_t)unit;
    size_t consumed = 6;
    if (unit >= 0xd800 && unit <= 0xdbff) {
        avail = json_scan_ensure(s, 12);
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

/* A short plain string (a member name, mostly), pos past its opening quote:
 * one 16-byte load and store when its closing quote is among the first 16
 * bytes and dst has room for 16 more (cap <= max + 1, so max holds). Returns
 * true having decoded it, or false having done nothing. */
static inline bool decode_short(struct json_src *src, struct buf *dst)
{
    if (!dst->data || dst->cap - dst->len < 17 || src->end - src->pos < 16)
        return false;
    simd16 v = simd16_load(src->pos);
    simd16_bits_t bits = simd16_bits(string_special(v));
    unsigned t = bits ? simd16_first(bits) : 16;
    if (t == 16 || src->pos[t] != '"')
        return false;
    simd16_store(dst->data + dst->len, v);
    dst->len += t;
    dst->data[dst->len] = '\0';
    src->pos += t + 1;
    return true;
}
#endif

/* Decodes the escape at pos (its backslash), appending what it stands for. */
static inline int decode_escape(struct scan *s, struct buf *dst, bool *overflowed, bool *storing)
{
    ptrdiff_t avail = json_scan_ensure(s, 2);
    if (avail < 0)
        return -1;
    const uint8_t *p = s->src->pos;
    if (avail < 2)
        return json_scan_cut(s, "unterminated string (it ends inside an escape)");
    if (p[1] == 'u')
        return decode_unicode_escape(s, dst, overflowed, storing);
    const uint8_t *value = escape_value[p[1]] ? &escape_value[p[1]] : NULL;
    if (!value)
        return json_scan_fail(s, "invalid escape sequence");
    if (decode_append(s, dst, overflowed, storing, value, 1) != 0)
        return -1;
    s->src->pos += 2;
    return 0;
}

static int decode_string(struct json_src *src, struct buf *dst, bool *overflowed, const char *type,
                         struct error *err)
{
    struct scan s = {src, NULL, src->pos, type, err, false};
    bool storing = true;
    if (overflowed)
        *overflowed = false;
    int b = json_scan_peek(&s);
    if (b == JSON_ERROR)
        return -1;
    if (b != '"')
        return json_scan_unexpected(&s, b, "a string");
    src->pos++;
#ifdef SIMD16
    if (decode_short(src, dst))
        return 0;
#endif
    for (;;) {
#ifdef SIMD16
        /* Long strings a 64-byte block at a time. Written out here: moved to
         * a helper, gcc compiled decode_fast's copy loop into more
         * instructions (0.5% more in the perf guard). */
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
            ptrdiff_t avail = json_scan_ensure(&s, 1);
            if (avail < 0)
                return -1;
            if (avail == 0)
                return json_scan_cut(&s, "unterminated string");
            continue;
        }
        switch (string_class[*p]) {
        case BYTE_QUOTE:
            src->pos++;
            if (dst->data)
                dst->data[dst->len] = '\0'; /* the fast path leaves room for it */
            return 0;
        case BYTE_BACKSLASH:
            if (decode_escape(&s, dst, overflowed, &storing) != 0)
                return -1;
            break;
        case BYTE_CONTROL:
            return json_scan_fail(&s, "unescaped control character in string");
        case BYTE_DEL:
            if (decode_append(&s, dst, overflowed, &storing, src->pos, 1) != 0)
                return -1;
            src->pos++;
            break;
        default: {
            ptrdiff_t len = json_scan_utf8(&s);
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
