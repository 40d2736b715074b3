/* json: a streaming JSON scanner for result files and outputs.
 *
 * It reads from a json_src, a window of bytes refilled on demand, so a value of
 * any size can be validated and copied with a fixed amount of memory. Nesting
 * is tracked in a fixed bit stack, never on the C stack. Everything follows
 * RFC 8259: UTF-8 only, no NaN or Infinity, no comments, no trailing commas.
 *
 * Copies are ASCII: every non-ASCII character in a string is written as a
 * \uXXXX escape (lowercase hex, a surrogate pair above U+FFFF), as Python's
 * json.dumps writes it; everything else is copied byte for byte.
 *
 * Errors are reported with the errorType the caller passes in (InvalidOutput
 * for an output, InvalidResultFile for the file around it) and the absolute
 * byte offset in the source. */
#ifndef BCR_JSON_H
#define BCR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "sink.h"

/* Deeper nesting is refused, not recursed into. */
#define JSON_MAX_DEPTH 1024

struct json_src {
    const uint8_t *pos;   /* next unread byte */
    const uint8_t *end;   /* end of the readable bytes */
    const uint8_t *start; /* buffer start: offset of pos = base + (pos - start) */
    uint64_t base;
    /* The bytes are decoded text (json_copy_decoded): a surrogate's 3-byte
     * form, which only json_decode_string produces, is accepted in strings. */
    bool surrogates;
    /* Makes at least `need` bytes readable at pos, keeping those already there
     * (pos, end and start may move). Returns 0 (fewer than `need` only at end
     * of input) or -1 with err set. NULL for a source that is all in memory. */
    int (*fill)(struct json_src *src, size_t need, struct error *err);
    void *ctx; /* for fill */
};

/* A source over n bytes in memory (borrowed). */
void json_src_memory(struct json_src *src, const void *data, size_t n);

static inline uint64_t json_src_offset(const struct json_src *src)
{
    return src->base + (uint64_t)(src->pos - src->start);
}

/* What json_peek returns besides a byte (0..255). */
enum { JSON_EOF = -1, JSON_ERROR = -2 };

/* Skips whitespace and returns the next byte without consuming it, JSON_EOF at
 * end of input, or JSON_ERROR on a read error (err set). */
int json_peek(struct json_src *src, struct error *err);

/* json_peek that also says whether the whitespace skipped held a newline. */
int json_peek_line(struct json_src *src, bool *newline, struct error *err);

/* Skips whitespace and consumes byte c, or fails with `type`. */
int json_expect(struct json_src *src, char c, const char *type, struct error *err);

/* Validates exactly one value (leading whitespace skipped) and, if out is not
 * NULL, writes it without insignificant whitespace. Numbers, key order and
 * the escapes already there are copied byte for byte; non-ASCII characters
 * become escapes. */
int json_copy_value(struct json_src *src, struct sink *out, const char *type, struct error *err);

/* Decodes the string at pos (after whitespace) into dst, appending the UTF-8
 * bytes of its characters. If the decoded string would exceed dst->max: with
 * `overflowed` NULL that is an error; otherwise dst keeps the first dst->max
 * bytes, *overflowed is set (it is cleared first) and the rest is validated
 * but not stored. A lone surrogate escape (which Python's json accepts) is
 * stored in the 3-byte form UTF-8 would give it (WTF-8): only
 * json_copy_decoded accepts that, and writes the escape back. */
int json_decode_string(struct json_src *src, struct buf *dst, bool *overflowed, const char *type,
                       struct error *err);

/* Validates that [data, data + n) is exactly one JSON value with nothing but
 * whitespace around it, writing it minified to out (if not NULL). */
int json_copy_document(const void *data, size_t n, struct sink *out, const char *type,
                       struct error *err);

/* The same for text json_decode_string produced (an Output): a lone
 * surrogate's 3-byte form is accepted in strings and written as its escape. */
int json_copy_decoded(const void *data, size_t n, struct sink *out, const char *type,
                      struct error *err);

#endif
