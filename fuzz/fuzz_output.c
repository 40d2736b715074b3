/* Fuzz target: Output validation.
 *
 * Input: one flags byte, then an Output as the child execution produced it
 * (the decoded document). Checks:
 *  - json_copy_document accepts it or fails with InvalidOutput; what it emits
 *    is ASCII and a fixed point (copying it again gives the same bytes);
 *  - the same Output encoded as a JSON string in a result-file entry (as Step
 *    Functions writes it: escapes chosen by the flags, the entry in a JSON
 *    array or JSON Lines, Name before or after Output) streams through the
 *    result reader to the very same text, or to an InvalidOutput error that
 *    carries the same message after the entry's place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "result_reader.h"
#include "utf8.h"

enum {
    ESCAPE_NON_ASCII = 1, /* valid UTF-8 characters as \uXXXX (pairs above U+FFFF) */
    ESCAPE_SLASH = 2,     /* '/' as \/ */
    NAME_AFTER = 4,       /* "Name" after "Output" */
    JSON_LINES = 8,       /* the entry on a line of its own, not in an array */
    SHORT_ESCAPES = 16,   /* \n \t \b \f \r rather than \u00XX */
};

static struct result_reader *reader;

static void put(struct memsink *m, const char *s)
{
    sink_puts(&m->sink, s, NULL);
}

/* Writes data as the body of a JSON string. */
static void encode(struct memsink *m, const uint8_t *p, size_t n, unsigned flags)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        char esc[16];
        if (b == '"' || b == '\\') {
            esc[0] = '\\';
            esc[1] = (char)b;
            sink_write(&m->sink, esc, 2, NULL);
            i++;
        } else if (b == '/' && (flags & ESCAPE_SLASH)) {
            put(m, "\\/");
            i++;
        } else if (b < 0x20) {
            const char *shorts = (flags & SHORT_ESCAPES) ? strchr("\nn\tt\bb\ff\rr", b) : NULL;
            if (shorts && b) {
                esc[0] = '\\';
                esc[1] = shorts[1];
                sink_write(&m->sink, esc, 2, NULL);
            } else {
                snprintf(esc, sizeof esc, "\\u00%c%c", hex[b >> 4], hex[b & 15]);
                put(m, esc);
            }
            i++;
        } else if (b >= 0x80 && (flags & ESCAPE_NON_ASCII) && utf8_valid_prefix(p + i, n - i)) {
            size_t len = utf8_valid_prefix(p + i, n - i);
            uint32_t cp = b & (0xff >> (len + 1));
            for (size_t k = 1; k < len; k++)
                cp = cp << 6 | (p[i + k] & 0x3f);
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                snprintf(esc, sizeof esc, "\\u%04x\\u%04X", 0xd800 + (v >> 10),
                         0xdc00 + (v & 0x3ff));
            } else {
                snprintf(esc, sizeof esc, "\\u%04X", cp);
            }
            put(m, esc);
            i += len;
        } else {
            sink_write(&m->sink, &b, 1, NULL);
            i++;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const allowed[] = {ERR_INVALID_OUTPUT, NULL};
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    data++;
    size--;
    if (!reader) {
        struct error err = {0};
        if (!(reader = result_reader_new(&err)))
            abort();
    }

    /* The Output on its own. */
    char *doc = fuzz_exact_copy(data, size);
    struct memsink direct;
    memsink_init(&direct);
    struct error err1 = {0};
    bool ok1 = json_copy_document(doc, size, &direct.sink, ERR_INVALID_OUTPUT, &err1) == 0;
    const char *text1 = memsink_text(&direct);
    if (ok1) {
        for (size_t i = 0; i < direct.len; i++)
            FUZZ_CHECK((uint8_t)text1[i] < 0x80, "emitted a non-ASCII byte at %zu: %s", i, text1);
        struct memsink again;
        memsink_init(&again);
        struct error err = {0};
        FUZZ_CHECK(json_copy_document(text1, direct.len, &again.sink, ERR_INVALID_OUTPUT, &err) ==
                       0,
                   "emitted text is refused (%s): %s", err.message, text1);
        memsink_text(&again);
        FUZZ_CHECK(again.len == direct.len && memcmp(again.data, text1, direct.len) == 0,
                   "emitted text is not a fixed point: %s -> %s", text1, again.data);
        memsink_free(&again);
    } else {
        fuzz_check_error(&err1, allowed);
    }

    /* The Output inside a result-file entry. */
    struct memsink file;
    memsink_init(&file);
    if (!(flags & JSON_LINES))
        put(&file, "[");
    put(&file, (flags & NAME_AFTER) ? "{\"Output\": \"" : "{\"Name\": \"n\", \"Output\": \"");
    encode(&file, data, size, flags);
    put(&file, (flags & NAME_AFTER) ? "\", \"Name\": \"n\"}" : "\"}");
    put(&file, (flags & JSON_LINES) ? "\n" : "]");
    memsink_text(&file);
    char *bytes = fuzz_exact_copy((const uint8_t *)file.data, file.len);
    struct json_src src;
    json_src_memory(&src, bytes, file.len);
    struct memsink streamed;
    memsink_init(&streamed);
    struct output out = {.sink = streamed.sink};
    struct read_stats stats = {0};
    struct error err2 = {0};
    bool ok2 = result_reader_stream_source(reader, &src, "s3://b/f.json", TRANSFORM_NONE, &out,
                                           &stats, &err2) == 0;
    sink_flush(&out.sink, NULL);

    bool valid_utf8 = fuzz_utf8_valid(data, size);
    if (!valid_utf8) {
        FUZZ_CHECK(!ok1, "invalid UTF-8 accepted as an Output: %s", text1);
        FUZZ_CHECK(!ok2, "invalid UTF-8 in an Output string accepted: %s", streamed.data);
    }
    if (!ok2)
        fuzz_check_error(&err2, allowed);
    if (valid_utf8) {
        FUZZ_CHECK(ok1 == ok2, "alone: %s; in an entry: %s", ok1 ? text1 : err1.message,
                   ok2 ? streamed.data : err2.message);
        if (ok1) {
            FUZZ_CHECK(stats.entries == 1, "%llu entries", (unsigned long long)stats.entries);
            FUZZ_CHECK(streamed.len == direct.len && memcmp(streamed.data, text1, direct.len) == 0,
                       "alone: %s; in an entry: %s", text1, streamed.data);
        } else {
            char expected[ERROR_MESSAGE_MAX * 2];
            snprintf(expected, sizeof expected,
                     "s3://b/f.json: entry 0 (Name n) at byte offset %d: Output is not one valid "
                     "JSON document: %s",
                     (flags & JSON_LINES) ? 0 : 1, err1.message);
            size_t cmp = strlen(expected) < ERROR_MESSAGE_MAX - 4 ? strlen(expected) + 1
                                                                  : ERROR_MESSAGE_MAX - 4;
            FUZZ_CHECK(strcmp(err2.type, ERR_INVALID_OUTPUT) == 0 &&
                           strncmp(err2.message, expected, cmp) == 0,
                       "in an entry: %s: %s\n  expected %s", err2.type, err2.message, expected);
        }
    }
    memsink_free(&streamed);
    free(bytes);
    memsink_free(&file);
    memsink_free(&direct);
    free(doc);
    return 0;
}
