/* Fuzz target: differential test of the JSON scanner against jansson.
 *
 * On any document, json_copy_document's verdict (valid or not) must agree with
 * jansson's (json_loadb with JSON_DECODE_ANY | JSON_ALLOW_NUL), and where both
 * accept, the text ours emits, parsed by jansson, must equal jansson's parse
 * of the original (json_equal), and be ASCII (non-ASCII characters escaped,
 * as Python's json.dumps writes them). Also, everything jansson itself writes
 * must be accepted by ours.
 *
 * Where the two parsers differ by design, the input is normalised or skipped
 * rather than the check loosened:
 *  - a \u escape of a lone surrogate (RFC 8259's grammar allows it, jansson
 *    refuses it): its four hex digits are replaced by FFFD (same length);
 *  - \u0000 (jansson refuses it in object keys even with JSON_ALLOW_NUL):
 *    replaced by \u0001;
 *  - nesting: ours stops at 1024 levels, jansson at 2048: inputs with more
 *    than 1024 '[' and '{' bytes in all are skipped;
 *  - numbers: jansson refuses integers outside long long and reals that
 *    overflow a double (1e400), which ours copies as written: inputs holding
 *    such a number token are skipped;
 *  - a raw NUL byte: jansson 2.14 accepts a top-level number or literal
 *    followed by one ("false\0"); a raw NUL is never valid JSON, so such
 *    inputs are only checked to be refused by ours. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The code unit of an escape "\uXXXX" at p[i] ('\\' at i, an odd run of
 * backslashes ending there), or -1. */
static long escape_at(const uint8_t *p, size_t n, size_t i)
{
    if (i + 6 > n || p[i] != '\\' || p[i + 1] != 'u')
        return -1;
    size_t run = 0;
    while (run <= i && p[i - run] == '\\')
        run++;
    if (run % 2 == 0)
        return -1; /* this backslash is itself escaped */
    long v = 0;
    for (int k = 2; k < 6; k++) {
        int h = hexval(p[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Replaces lone surrogate escapes and \u0000 in place (see above). */
static void normalise(uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 6 <= n; i++) {
        long u = escape_at(p, n, i);
        if (u < 0)
            continue;
        if (u == 0) {
            memcpy(p + i + 2, "0001", 4);
        } else if (u >= 0xd800 && u <= 0xdbff) {
            long low = escape_at(p, n, i + 6);
            if (low >= 0xdc00 && low <= 0xdfff) {
                i += 11; /* a proper pair */
                continue;
            }
            memcpy(p + i + 2, "FFFD", 4);
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            memcpy(p + i + 2, "FFFD", 4); /* a low surrogate not after a high one */
        }
        i += 5;
    }
}

/* True if the input is beyond jansson's limits (see above). Strings are
 * skipped roughly (a quote toggles, a backslash skips a byte): enough to find
 * the number tokens of any document both parsers could accept. */
static bool beyond_jansson(const uint8_t *p, size_t n)
{
    size_t brackets = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '[' || p[i] == '{')
            brackets++;
        if (in_string) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                in_string = false;
            continue;
        }
        if (p[i] == '"') {
            in_string = true;
            continue;
        }
        if (p[i] != '-' && !(p[i] >= '0' && p[i] <= '9'))
            continue;
        size_t start = i;
        bool real = false;
        while (i < n && p[i] && strchr("+-.eE0123456789", p[i])) {
            real = real || p[i] == '.' || p[i] == 'e' || p[i] == 'E';
            i++;
        }
        char token[4096];
        size_t len = i - start < sizeof token - 1 ? i - start : sizeof token - 1;
        memcpy(token, p + start, len);
        token[len] = '\0';
        errno = 0;
        if (real) {
            double d = strtod(token, NULL);
            if (isinf(d))
                return true;
        } else {
            (void)strtoll(token, NULL, 10);
            if (errno == ERANGE || len == sizeof token - 1)
                return true;
        }
        i--;
    }
    return brackets > JSON_OUTPUT_MAX_DEPTH;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {ERR_INVALID_OUTPUT, NULL};
    uint8_t *doc = (uint8_t *)fuzz_exact_copy(data, size);
    normalise(doc, size);
    if (beyond_jansson(doc, size)) {
        free(doc);
        return 0;
    }
    const size_t flags = JSON_DECODE_ANY | JSON_ALLOW_NUL;

    if (memchr(doc, '\0', size)) {
        struct error err = {0};
        FUZZ_CHECK(json_copy_document(doc, size, NULL, ERR_INVALID_OUTPUT, &err) != 0,
                   "a document with a raw NUL byte accepted");
        fuzz_check_error(&err, allowed);
        free(doc);
        return 0;
    }

    struct memsink ours;
    memsink_init(&ours);
    struct error err = {0};
    bool ours_ok = json_copy_document(doc, size, &ours.sink, ERR_INVALID_OUTPUT, &err) == 0;
    const char *emitted = memsink_text(&ours);
    json_error_t jerr;
    json_t *theirs = json_loadb((const char *)doc, size, flags, &jerr);

    FUZZ_CHECK(ours_ok == (theirs != NULL), "verdicts differ: ours %s; jansson %s",
               ours_ok ? "valid" : err.message, theirs ? "valid" : jerr.text);
    if (!ours_ok)
        fuzz_check_error(&err, allowed);
    if (ours_ok && theirs) {
        json_t *reparsed = json_loadb(emitted, ours.len, flags, &jerr);
        FUZZ_CHECK(reparsed != NULL, "jansson refuses what ours emitted (%s): %s", jerr.text,
                   emitted);
        FUZZ_CHECK(json_equal(theirs, reparsed), "emitted value differs from the input: %s",
                   emitted);
        for (size_t i = 0; i < ours.len; i++)
            FUZZ_CHECK((uint8_t)emitted[i] < 0x80, "emitted a non-ASCII byte at %zu: %s", i,
                       emitted);
        json_decref(reparsed);

        /* What jansson writes, ours accepts. */
        char *dumped = json_dumps(theirs, JSON_ENCODE_ANY | JSON_COMPACT);
        if (dumped) {
            struct error err2 = {0};
            FUZZ_CHECK(
                json_copy_document(dumped, strlen(dumped), NULL, ERR_INVALID_OUTPUT, &err2) == 0,
                "ours refuses jansson's output (%s): %s", err2.message, dumped);
            free(dumped);
        }
    }
    json_decref(theirs);
    memsink_free(&ours);
    free(doc);
    return 0;
}
