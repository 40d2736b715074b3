/* textw: the one bounded text builder. Appends into a caller-owned buffer and
 * keeps measuring past its end, so a caller can both build a text in a fixed
 * buffer and learn how long it needed to be (measure with a NULL buffer, then
 * write). Overflow is never a silent truncation: textw_finish reports it.
 *
 * Ownership: buf is borrowed from the caller for the writer's lifetime. */
#ifndef BCR_TEXTW_H
#define BCR_TEXTW_H

#include <stdarg.h>
#include <stddef.h>

struct textw {
    char *buf;  /* borrowed; NULL to measure only */
    size_t cap; /* bytes available in buf, terminating NUL included */
    size_t len; /* bytes the text needs so far; may exceed cap (saturates at SIZE_MAX) */
};

/* Lowercase and uppercase hexadecimal digits, for every encoder. */
extern const char textw_hex_lower[16];
extern const char textw_hex_upper[16];

void textw_init(struct textw *w, char *buf, size_t cap);
void textw_bytes(struct textw *w, const void *p, size_t n);
void textw_str(struct textw *w, const char *s);
void textw_char(struct textw *w, char c);
/* Appends a printf-formatted text. */
void textw_printf(struct textw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True once the text needs more room than buf has (a NUL included). */
static inline int textw_overflowed(const struct textw *w)
{
    return w->len >= w->cap;
}
/* NUL-terminates. Returns the length, or -1 (buf emptied, if any) when the
 * text and its NUL did not fit or the length does not fit an int. */
int textw_finish(struct textw *w);

#endif
