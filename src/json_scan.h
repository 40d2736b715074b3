/* json_scan: the scanner's machinery, shared by the two halves of json.h's
 * implementation and by nothing else: json.c (validating and copying values)
 * and json_decode.c (json_decode_string).
 *
 * A struct scan is a pass over a json_src: the window refills through
 * json_scan_ensure, errors name the absolute byte offset, and bytes already
 * validated are written to the scan's sink before the window moves. The hot
 * paths (a byte at hand, a run of plain string bytes, a window that already
 * holds what is needed) are static inline here so that both files keep them
 * inline; the slow paths are the functions declared below, in json.c. */
#ifndef BCR_JSON_SCAN_H
#define BCR_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "simd.h"

enum { BYTE_PLAIN = 0, BYTE_QUOTE, BYTE_BACKSLASH, BYTE_CONTROL, BYTE_NON_ASCII, BYTE_DEL };

/* Class of each byte inside a string; plain bytes are copied in runs. DEL is
 * valid as it is, but a copy writes it as an escape (json.h). */
static const uint8_t string_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* What each escape letter stands for; 0 for a letter that is no escape. */
static const uint8_t escape_value[256] = {
    ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
    ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t',
};

#ifdef SIMD16
/* Set where a byte of string content is not plain: a quote, a backslash, a
 * control byte, DEL or a byte >= 0x80 (checked as UTF-8 one sequence at a
 * time). Plus one, wrapping, the last three are exactly the bytes below 0x21
 * as signed: 0x00-0x1f become 0x01-0x20, 0x7f-0xfe become negative, 0xff 0. */
static inline simd16 string_special(simd16 v)
{
    return simd16_or(simd16_or(simd16_eq(v, '"'), simd16_eq(v, '\\')),
                     simd16_lt_signed(simd16_add(v, 1), 0x21));
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

static inline int hex_value(uint8_t b)
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
static inline long hex4(const uint8_t *p)
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

/* A scan in progress: bytes in [span, src->pos) have been validated and are
 * written to out (when there is one) before the window moves or whitespace is
 * dropped. All pointers are borrowed from the caller for the scan's life. */
struct scan {
    struct json_src *src;
    struct sink *out; /* NULL: validate only */
    const uint8_t *span;
    const char *type; /* errorType of every error */
    struct error *err;
    bool python; /* the dialect of what is only read (json.h), else an Output's */
};

/* The slow path of json_scan_ensure: writes out the span and refills the window. */
ptrdiff_t json_scan_refill(struct scan *s, size_t need);

/* Returns the number of readable bytes (fewer than need only at end of
 * input), or -1 on a read error. Pointers into the window are stale after a
 * refill: reread src->pos. */
static inline ptrdiff_t json_scan_ensure(struct scan *s, size_t need)
{
    struct json_src *src = s->src;
    if ((size_t)(src->end - src->pos) >= need || !src->fill)
        return src->end - src->pos;
    return json_scan_refill(s, need);
}

/* Set err ("invalid JSON at byte offset N: ...", N being src's position) and
 * return -1: `what` went wrong, or byte b (or JSON_EOF) was found where
 * `expected` should have been. */
int json_scan_fail(struct scan *s, const char *what);
int json_scan_unexpected(struct scan *s, int b, const char *expected);
/* json_scan_fail where the input ended before what was needed: also sets
 * src->ended (json_scan_unexpected sets it when b is JSON_EOF). */
int json_scan_cut(struct scan *s, const char *what);

/* The slow path of json_scan_peek: whitespace to drop, or the window to refill. */
int json_scan_peek_slow(struct scan *s);

/* Skips whitespace (dropping it from the copy) and returns the next byte,
 * JSON_EOF at end of input, JSON_ERROR on a read error. Inline for the common
 * case: a byte above the space (never whitespace) right at pos. */
static inline int json_scan_peek(struct scan *s)
{
    const uint8_t *p = s->src->pos, *end = s->src->end;
    /* ' ' < *p, not *p > ' ': clang-format reads `p < end && *p > x` as a
     * template argument list and mangles it. */
    if (p < end && ' ' < *p)
        return *p;
    return json_scan_peek_slow(s);
}

/* Validates the non-ASCII sequence at pos (without consuming it); returns its
 * length or -1. A source of decoded text (src->surrogates) may also hold a
 * surrogate's 3-byte form, which is how the decoder keeps a lone surrogate
 * escape. */
ptrdiff_t json_scan_utf8(struct scan *s);

#endif
