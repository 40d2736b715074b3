/* json: a streaming JSON scanner for result files and outputs.
 *
 * It reads from a json_src, a window of bytes refilled on demand, so a value of
 * any size can be validated and copied with a fixed amount of memory. Nesting
 * is tracked in a fixed bit stack, never on the C stack. Everything follows
 * RFC 8259 (UTF-8 only, no comments, no trailing commas) in one of the two
 * dialects below.
 *
 * Copies are ASCII: every non-ASCII character in a string, and DEL (0x7f), is
 * written as a \uXXXX escape (lowercase hex, a surrogate pair above U+FFFF),
 * as Python's json.dumps writes it; everything else is copied byte for byte.
 *
 * Two dialects. What is copied (an Output, json_copy_*) is RFC 8259 held to
 * what Python's json.loads reads, since the next functions parse results.json:
 * no NaN or Infinity, integers of at most JSON_INT_MAX_DIGITS digits, nesting
 * at most JSON_OUTPUT_MAX_DEPTH. What is only read (json_skip_value,
 * json_check_document: the event, the manifest, the members of a result entry
 * the step does not use) is taken as Python's json.loads takes it: NaN,
 * Infinity and -Infinity too, numbers of any length, nesting up to
 * JSON_MAX_DEPTH. Both accept any escape, a lone surrogate or \u0000 too.
 *
 * Errors are reported with the errorType the caller passes in (InvalidOutput
 * for an output, InvalidResultFile for the file around it) and the absolute
 * byte offset in the source; an error from the source's fill or the output's
 * flush comes back as they set it. */
#ifndef BCR_JSON_H
#define BCR_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"
#include "sink.h"

/* Deeper nesting is refused, not recursed into: the size of the bit stack
 * nesting is tracked in, and the bound for documents that are only read. */
#define JSON_MAX_DEPTH 1024

/* An Output nested deeper (arrays and objects alike) is refused: Python 3.11's
 * json.loads, called from a Lambda handler under the default recursion limit
 * (1000), raises RecursionError at 991 levels (tests/tools/python_json.py
 * measures it). */
#define JSON_OUTPUT_MAX_DEPTH 990

/* An integer in an Output with more digits (the sign aside) is refused:
 * Python 3.11's json.loads raises ValueError beyond its int conversion limit.
 * A number with a fraction or an exponent is a float, of any length. */
#define JSON_INT_MAX_DIGITS 4300

/* A copy is at most this many times as long as the text it copies: one byte
 * (DEL) becomes a 6-byte escape; a 2-byte character, 6 bytes; a 4-byte one,
 * a 12-byte surrogate pair. A buffer that holds a copy is sized with it. */
#define JSON_COPY_GROWTH 6

struct json_src {
    const uint8_t *pos;   /* next unread byte */
    const uint8_t *end;   /* end of the readable bytes */
    const uint8_t *start; /* buffer start: offset of pos = base + (pos - start) */
    uint64_t base;
    /* The bytes are decoded text (json_copy_decoded): a surrogate's 3-byte
     * form, which only json_decode_string produces, is accepted in strings. */
    bool surrogates;
    /* Set by a scan that failed because the input ended where more was needed
     * (the source is cut short), and never cleared by the scanner. */
    bool ended;
    /* Makes at least `need` bytes readable at pos, keeping those already there
     * (pos, end and start may move). Returns 0 (fewer than `need` only at end
     * of input) or -1 with err set. NULL for a source that is all in memory.
     * `need` is at most 12 (a surrogate pair's two \u escapes, which
     * json_decode_string reads together), so any window of 12 bytes or more
     * serves. The scanner calls it from inside every function below that
     * reads, after handing what it has copied so far to the output sink (whose
     * flush may block too, sink.h). In the program it is result_reader's, over
     * store_read: it may block on the network, retry with sleeping backoff and
     * fail with any error the store or the reader's hooks give (Timeout at the
     * invocation's deadline, Interrupted, NoSuchKey, an S3 or I/O error), and
     * that error is what the scanning function returns. */
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

/* Validates exactly one value (leading whitespace skipped) as an Output (the
 * dialect above) and, if out is not NULL, writes it without insignificant
 * whitespace. Numbers, key order and the escapes already there are copied
 * byte for byte; non-ASCII characters and DEL become escapes. */
int json_copy_value(struct json_src *src, struct sink *out, const char *type, struct error *err);

/* Validates exactly one value (leading whitespace skipped) as Python's
 * json.loads reads it (the dialect above), copying nothing. */
int json_skip_value(struct json_src *src, const char *type, struct error *err);

/* Objects. A name may appear more than once in an object: Python's json.loads
 * keeps the last member of a name, and so does every reader of this program
 * (an entry, the manifest, the event). json_object_next finds the members a
 * reader wants one after another, skipping the others; the reader lets each
 * value it reads replace the one an earlier member of the same name gave.
 * json_object_find does that for a document in memory: it returns where the
 * last member of each name is. */
struct json_object {
    struct json_src *src; /* borrowed, as all the fields */
    struct buf *name;     /* each member's decoded name (cut at name->max) */
    const char *type;     /* errorType of every error */
    struct error *err;
    bool started; /* a member has been read: ',' or '}' comes next */
};

/* Reads the '{' (after whitespace) that opens an object. */
int json_object_open(struct json_object *o, struct json_src *src, struct buf *name,
                     const char *type, struct error *err);

/* Moves to the next member whose name is one of names[0, n): returns its
 * index, src at the member's value (which the caller reads before calling
 * again); n at the end of the object (its '}' consumed); -1 with err set.
 * Members of other names are skipped (json_skip_value). */
int json_object_next(struct json_object *o, const char *const *names, int n);

/* For the object at pos in a source all in memory (fill NULL): reads it
 * (json_object_next) and sets found[i] to a source positioned at the value of
 * the last member named names[i], or found[i].pos to NULL when there is none.
 * The found sources borrow src's bytes. */
int json_object_find(struct json_src *src, const char *const *names, int n, struct json_src *found,
                     struct buf *name, const char *type, struct error *err);

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

/* Validates that [data, data + n) is exactly one value, with nothing but
 * whitespace around it, as Python's json.loads reads it (json_skip_value). */
int json_check_document(const void *data, size_t n, const char *type, struct error *err);

/* The same for text json_decode_string produced (an Output): a lone
 * surrogate's 3-byte form is accepted in strings and written as its escape. */
int json_copy_decoded(const void *data, size_t n, struct sink *out, const char *type,
                      struct error *err);

#endif
