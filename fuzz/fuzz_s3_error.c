/* Fuzz target: S3's XML documents (src/s3/error_doc.h).
 *
 * Arbitrary bytes (not NUL-terminated, so a read past the end is caught) go
 * through s3_error_parse, s3_xml_root and s3_xml_find_text with small and
 * exact output capacities. Every output must be NUL-terminated within its
 * capacity, untouched past it (guard bytes), and a truncated value must not
 * end in the middle of a UTF-8 sequence that was whole in the input. The
 * message s3_error_set builds from what was found (and its location) must make a valid error
 * document. A code holds only [A-Za-z0-9.]. s3_redact, given a secret taken
 * from the message, never lengthens it and leaves no copy of the secret, nor
 * a percent-encoded one or one in character references. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "s3/error_doc.h"

enum { GUARD = 16 };

/* out has cap bytes then GUARD guard bytes. */
static void check_out(const char *out, size_t cap, const char *what)
{
    size_t n = strnlen(out, cap);
    FUZZ_CHECK(n < cap, "%s: not NUL-terminated within %zu bytes", what, cap);
    for (size_t i = 0; i < GUARD; i++)
        FUZZ_CHECK((unsigned char)out[cap + i] == 0xa5, "%s: wrote past its %zu bytes", what, cap);
}

static char *guarded(size_t cap)
{
    char *p = malloc(cap + GUARD);
    if (!p)
        abort();
    memset(p, 0xa5, cap + GUARD);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks a capacity for the plain calls. */
    size_t cap = size ? (size_t)data[0] % 64 + 1 : 1;
    char *doc = fuzz_exact_copy(data, size);

    struct s3_error_doc parsed;
    memset(&parsed, 0xa5, sizeof parsed);
    bool is_error = s3_error_parse(doc, size, &parsed);
    FUZZ_CHECK(strnlen(parsed.code, sizeof parsed.code) < sizeof parsed.code, "code unterminated");
    FUZZ_CHECK(strnlen(parsed.message, sizeof parsed.message) < sizeof parsed.message,
               "message unterminated");
    FUZZ_CHECK(!is_error || parsed.code[0], "an error document without a Code");
    for (const char *c = parsed.code; *c; c++)
        FUZZ_CHECK((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                       (*c >= '0' && *c <= '9') || *c == '.',
                   "code byte 0x%02x", (unsigned char)*c);
    size_t message_len = strlen(parsed.message);
    size_t secret_len = size ? (size_t)data[0] % 24 + 8 : 8;
    if (message_len >= secret_len) {
        char secret[32], text[S3_ERROR_MESSAGE_MAX];
        memcpy(secret, parsed.message + message_len / 3 % (message_len - secret_len + 1),
               secret_len);
        secret[secret_len] = '\0';
        memcpy(text, parsed.message, message_len + 1);
        const char *const secrets[] = {secret};
        s3_redact(text, secrets, 1);
        FUZZ_CHECK(strlen(text) <= message_len, "redaction lengthened the text");
        /* A new occurrence could only be made of the mark's own characters. */
        if (!strpbrk(secret, "[hidden]"))
            FUZZ_CHECK(!strstr(text, secret), "the secret survived redaction");
        /* Nor does it survive percent-encoded or as character references,
         * hex in the case the input picks, amid the message's own bytes. */
        for (int form = 0; form < 2; form++) {
            char encoded[32 * 6 + 1], quoted[sizeof encoded + S3_ERROR_MESSAGE_MAX + 8];
            size_t n = 0;
            for (size_t i = 0; i < secret_len; i++) {
                bool upper = (data[i % size] >> (i % 8)) & 1;
                unsigned char c = (unsigned char)secret[i];
                n += (size_t)snprintf(
                    encoded + n, sizeof encoded - n,
                    form ? (upper ? "&#X%X;" : "&#x%x;") : (upper ? "%%%02X" : "%%%02x"), c);
            }
            snprintf(quoted, sizeof quoted, "%s %s.", parsed.message, encoded);
            size_t quoted_len = strlen(quoted);
            s3_redact(quoted, secrets, 1);
            FUZZ_CHECK(strlen(quoted) <= quoted_len, "redaction lengthened the text");
            FUZZ_CHECK(!strstr(quoted, encoded), "the secret survived redaction %s",
                       form ? "as character references" : "percent-encoded");
        }
    }
    if (is_error) {
        struct error err = {0};
        s3_error_set(&err, parsed.code, parsed.code, "GetObject", parsed.message, 2);
        s3_error_where(&err, "GetObject", "bucket", "key", 7, parsed.message);
        FUZZ_CHECK(err.type[0], "s3_error_set set no type");
        const char *const allowed[] = {err.type, NULL};
        fuzz_check_error(&err, allowed);
    }

    char *root = guarded(cap);
    /* A root name is never empty and never holds a NUL byte. */
    if (s3_xml_root(doc, size, root, cap))
        FUZZ_CHECK(root[0], "a root element with an empty name");
    check_out(root, cap, "s3_xml_root");

    /* A value is found or not whatever the capacity; a small capacity gives a
     * prefix of the whole value, cut at most inside its last character; from
     * valid UTF-8 come valid UTF-8 values. Decoding never grows the text, so
     * size + 1 bytes always hold the whole value. */
    bool valid_utf8 = fuzz_utf8_valid(data, size);
    static const char *const names[] = {"Code", "Message", "UploadId", "ETag", "Key"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *whole = guarded(size + 1);
        bool found_whole = s3_xml_find_text(doc, size, names[i], whole, size + 1);
        check_out(whole, size + 1, names[i]);
        char *text = guarded(cap);
        bool found = s3_xml_find_text(doc, size, names[i], text, cap);
        check_out(text, cap, names[i]);
        FUZZ_CHECK(found == found_whole, "%s: found with %zu bytes: %d, with %zu: %d", names[i],
                   cap, found, size + 1, found_whole);
        size_t n = strlen(text), whole_n = strlen(whole);
        FUZZ_CHECK(strncmp(text, whole, n) == 0, "%s: \"%s\" is not a prefix of \"%s\"", names[i],
                   text, whole);
        /* A cut drops at most the 3 bytes of a partial character, or 4 when
         * the input is not UTF-8 (a stray continuation byte before them). */
        size_t cut_max = valid_utf8 ? 3 : 4;
        FUZZ_CHECK(n == whole_n || (whole_n >= cap - 1 && n + cut_max >= cap - 1),
                   "%s: %zu of %zu bytes kept with room for %zu", names[i], n, whole_n, cap - 1);
        if (valid_utf8) {
            FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)whole, whole_n),
                       "%s: invalid UTF-8 from valid input", names[i]);
            FUZZ_CHECK(fuzz_utf8_valid((const uint8_t *)text, n), "%s: cut inside a character",
                       names[i]);
        }
        free(text);
        free(whole);
    }
    free(root);
    free(doc);
    return 0;
}
