#include "common.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "\n%s:%d: FUZZ CHECK FAILED: %s\n  ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

char *fuzz_exact_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (!p)
        abort();
    if (size)
        memcpy(p, data, size);
    return p;
}

char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    if (!p)
        abort();
    if (size)
        memcpy(p, data, size);
    p[size] = '\0';
    return p;
}

bool fuzz_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t len = utf8_valid_prefix(p + i, n - i);
        if (len == 0)
            return false;
        i += len;
    }
    return true;
}

void fuzz_check_error(const struct error *err, const char *const allowed_types[])
{
    size_t type_len = strnlen(err->type, sizeof err->type);
    size_t message_len = strnlen(err->message, sizeof err->message);
    FUZZ_CHECK(type_len > 0 && type_len < sizeof err->type, "error type not set or unterminated");
    FUZZ_CHECK(message_len > 0 && message_len < sizeof err->message,
               "error message empty or unterminated (type %s)", err->type);
    FUZZ_CHECK(strnlen(err->where, sizeof err->where) < sizeof err->where,
               "error location unterminated (type %s)", err->type);
    bool allowed = false;
    for (size_t i = 0; allowed_types[i]; i++)
        allowed = allowed || strcmp(err->type, allowed_types[i]) == 0;
    FUZZ_CHECK(allowed, "unexpected error type %s: %s", err->type, err->message);

    /* The same buffer size the command line uses for its last stderr line. */
    char doc[ERROR_MESSAGE_MAX * 6 + 128];
    int n = error_to_json(err, doc, sizeof doc);
    FUZZ_CHECK(n > 0, "error_to_json failed for %s: %s", err->type, err->message);
    FUZZ_CHECK(memchr(doc, '\n', (size_t)n) == NULL, "error document spans lines: %s", doc);
    json_error_t jerr;
    json_t *parsed = json_loadb(doc, (size_t)n, 0, &jerr);
    FUZZ_CHECK(parsed != NULL, "error document is not JSON (%s): %s", jerr.text, doc);
    FUZZ_CHECK(json_object_size(parsed) == 2 &&
                   json_is_string(json_object_get(parsed, "errorType")) &&
                   json_is_string(json_object_get(parsed, "errorMessage")),
               "error document has the wrong shape: %s", doc);
    json_decref(parsed);
}
