/* jsonw: builds small JSON texts (replies, error documents, log lines) in a
 * caller-owned fixed buffer. Overflow is sticky and reported by jsonw_finish,
 * never a silent truncation. */
#ifndef BCR_JSONW_H
#define BCR_JSONW_H

#include <stdbool.h>
#include <stddef.h>

struct jsonw {
    char *out;     /* borrowed from the caller */
    size_t cap;    /* bytes available in out, terminating NUL included */
    size_t len;    /* bytes written so far */
    bool overflow; /* set once anything did not fit */
};

void jsonw_init(struct jsonw *w, char *out, size_t cap);
/* Appends text as-is. */
void jsonw_raw(struct jsonw *w, const char *text);
void jsonw_rawn(struct jsonw *w, const char *text, size_t n);
/* Appends a quoted JSON string. Control characters and invalid UTF-8 bytes are
 * escaped (invalid bytes as \u00XX of the byte value) so the result is always
 * valid JSON whatever the input. */
void jsonw_string(struct jsonw *w, const char *s);
void jsonw_stringn(struct jsonw *w, const char *s, size_t n);
/* Appends a decimal integer. */
void jsonw_int(struct jsonw *w, long long v);
/* NUL-terminates; returns the length, or -1 if anything overflowed. */
int jsonw_finish(struct jsonw *w);

#endif
