/* jsonw: builds small JSON texts (replies, error documents, log lines) in a
 * caller-owned fixed buffer, on the bounded text builder (textw.h). Overflow is
 * reported by jsonw_finish, never a silent truncation. */
#ifndef BCR_JSONW_H
#define BCR_JSONW_H

#include <stddef.h>

#include "textw.h"

struct jsonw {
    struct textw text; /* the buffer, borrowed from the caller */
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
